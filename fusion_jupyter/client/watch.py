"""Following live updates until something is over: written once, driven sync or async.

A *watch* folds stream messages into local state and says when it is ``done``; the
two drivers below run the same watch over a blocking :class:`Stream` or an
:class:`AsyncStream`. There is no polling loop: the drivers block on the stream (the
engine's hub or the server's WebSocket) and only re-read the state over HTTP/the
database when the stream says it lagged, as a safety net after ``RESYNC_SECONDS``
without any message, and after re-opening a stream that broke (a server restart:
runs outlive their server, and so does a wait on them).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Protocol

from fusion_jupyter.client import errors
from fusion_jupyter.client.backend import AsyncStream, Message, Stream

RESYNC_SECONDS = 5.0
RECONNECT_TRIES = 8
RECONNECT_FIRST_PAUSE = 0.25
RECONNECT_MAX_PAUSE = 5.0


class Watch(Protocol):
    """State that live messages update."""

    @property
    def done(self) -> bool:
        """Whether the wait is over."""

    def feed(self, messages: list[Message]) -> None:
        """Fold a batch of messages in (may be empty)."""

    def refresh(self) -> None:
        """Re-read the whole state (blocking I/O; run in a thread by the async driver)."""

    def stale(self) -> bool:
        """Whether a refresh is due (a lagged stream, or a long silence)."""


class Deadline:
    """The time a wait may take; ``None`` waits for ever."""

    def __init__(self, timeout: float | None, what: str) -> None:
        self.end = None if timeout is None else time.monotonic() + timeout
        self.timeout = timeout
        self.what = what

    def next_timeout(self) -> float:
        """How long the next receive may block (raises TimeoutError once it is past)."""
        if self.end is None:
            return RESYNC_SECONDS
        remaining = self.end - time.monotonic()
        if remaining <= 0:
            raise errors.TimeoutError(
                f"{self.what} was not over after {self.timeout:g} s (it goes on; wait again "
                "or cancel it)"
            )
        return min(remaining, RESYNC_SECONDS)


class Silence:
    """Tells when no message has arrived for RESYNC_SECONDS."""

    def __init__(self) -> None:
        self.last = time.monotonic()

    def heard(self, messages: list[Message]) -> None:
        """Note a batch (an empty one does not count)."""
        if messages:
            self.last = time.monotonic()

    def too_long(self) -> bool:
        """Whether it has been quiet long enough to re-read the state; restarts the clock."""
        if time.monotonic() - self.last < RESYNC_SECONDS:
            return False
        self.last = time.monotonic()
        return True


class Reconnect:
    """Backoff between attempts to re-open a stream that broke (a restarted server).

    After ``RECONNECT_TRIES`` failures in a row the last error is raised; a message
    received resets the count. The waits never run past the deadline.
    """

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        self.failures = 0

    def succeeded(self) -> None:
        """A message arrived: the connection works."""
        self.failures = 0

    def failed(self, exc: errors.ConnectionError) -> float:
        """How long to wait before the next attempt (raises ``exc`` once out of tries)."""
        self.failures += 1
        if self.failures > RECONNECT_TRIES:
            raise exc
        pause = min(RECONNECT_MAX_PAUSE, RECONNECT_FIRST_PAUSE * 2.0 ** (self.failures - 1))
        return min(pause, self.deadline.next_timeout())


def follow(watch: Watch, open_stream: Callable[[], Stream], deadline: Deadline) -> Iterator[None]:
    """Feed ``watch`` from a stream until it is done, yielding after every batch.

    A broken stream (or an unreachable server) is re-opened with backoff; the watch's
    ``refresh`` after each (re)connection catches up on what was missed.
    """
    reconnect = Reconnect(deadline)
    while True:
        try:
            stream = open_stream()
        except errors.ConnectionError as exc:
            time.sleep(reconnect.failed(exc))
            continue
        try:
            watch.refresh()
            yield
            while not watch.done:
                messages = stream.receive(deadline.next_timeout())
                if messages:
                    reconnect.succeeded()
                watch.feed(messages)
                yield
                if not watch.done and watch.stale():
                    watch.refresh()
            return
        except errors.ConnectionError as exc:
            pause = reconnect.failed(exc)
        finally:
            with contextlib.suppress(Exception):
                stream.close()
        time.sleep(pause)


def drive(watch: Watch, open_stream: Callable[[], Stream], deadline: Deadline) -> None:
    """Block until ``watch.done`` (or the deadline passes)."""
    for _ in follow(watch, open_stream, deadline):
        pass


async def adrive(
    watch: Watch, open_stream: Callable[[], Awaitable[AsyncStream]], deadline: Deadline
) -> None:
    """The asyncio twin of :func:`drive`: the event loop stays free while waiting."""
    reconnect = Reconnect(deadline)
    while True:
        try:
            stream = await open_stream()
        except errors.ConnectionError as exc:
            await asyncio.sleep(reconnect.failed(exc))
            continue
        try:
            await asyncio.to_thread(watch.refresh)
            while not watch.done:
                messages = await stream.receive(deadline.next_timeout())
                if messages:
                    reconnect.succeeded()
                watch.feed(messages)
                if not watch.done and watch.stale():
                    await asyncio.to_thread(watch.refresh)
            return
        except errors.ConnectionError as exc:
            pause = reconnect.failed(exc)
        finally:
            with contextlib.suppress(Exception):
                await stream.close()
        await asyncio.sleep(pause)
