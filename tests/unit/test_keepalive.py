"""The stream's pinger: every socket in one pass per interval, a timer only while a
socket is registered, and one failing socket does not keep the others from a ping."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from fusion_jupyter.server.keepalive import Pinger


async def _until(done: Callable[[], bool], timeout: float = 30.0) -> None:
    """Poll ``done`` on the running loop, at most ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not done():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


class Socket:
    def __init__(self, passes: list[list[str]], name: str, pinger: Pinger | None = None) -> None:
        self.passes, self.name, self.pinger = passes, name, pinger

    def send_ping(self) -> None:
        self.passes[-1].append(self.name)
        if self.pinger is not None:  # closes on its ping, as on a pong timeout
            self.pinger.discard(self)


class Broken(Socket):
    def send_ping(self) -> None:
        raise RuntimeError("a bug")


def test_every_socket_is_pinged_in_one_pass_and_the_timer_stops_with_the_last() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        pinger = Pinger(loop, 0.05)
        passes: list[list[str]] = []
        original = pinger._pass

        def counted() -> None:
            passes.append([])
            original()

        pinger._pass = counted  # type: ignore[method-assign]
        timers_before = len(loop._scheduled)  # type: ignore[attr-defined]
        sockets = [Socket(passes, "a"), Broken(passes, "x"), Socket(passes, "b")]
        for socket in sockets:
            pinger.add(socket)
        # One timer for all of them, not one a socket.
        assert len(loop._scheduled) == timers_before + 1  # type: ignore[attr-defined]
        pinger.discard(sockets[0])
        pinger.add(sockets[0])
        assert len(loop._scheduled) == timers_before + 1  # type: ignore[attr-defined]
        await _until(lambda: len(passes) >= 3)
        # The broken one is skipped (and logged); a, added again, comes last.
        assert passes[:2] == [["b", "a"], ["b", "a"]]
        for socket in sockets:
            pinger.discard(socket)
        assert len(pinger) == 0 and pinger._timer is None

    asyncio.run(scenario())


def test_a_socket_closing_on_its_ping_leaves_the_pass_whole() -> None:
    async def scenario() -> None:
        pinger = Pinger(asyncio.get_running_loop(), 0.02)
        passes: list[list[str]] = [[]]
        closing = Socket(passes, "closing")
        closing.pinger = pinger
        pinger.add(closing)
        pinger.add(Socket(passes, "open"))
        await _until(lambda: "open" in passes[0])
        assert passes[0][:2] == ["closing", "open"] and len(pinger) == 1

    asyncio.run(scenario())


def test_an_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="interval_seconds"):
        Pinger(asyncio.new_event_loop(), 0)
