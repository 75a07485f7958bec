"""Following live updates until something is over: written once, driven sync or async.

A *watch* folds stream messages into local state and says when it is ``done``; the
two drivers below run the same watch over a blocking :class:`Stream` or an
:class:`AsyncStream`. There is no polling loop: the drivers block on the stream (the
engine's hub or the server's WebSocket) and only re-read the state over HTTP/the
database when the stream says it lagged, or as a safety net after
``RESYNC_SECONDS`` without any message.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from fusion_jupyter.client import errors
from fusion_jupyter.client.backend import AsyncStream, Message, Stream

RESYNC_SECONDS = 5.0


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


def drive(watch: Watch, stream: Stream, deadline: Deadline) -> None:
    """Block until ``watch.done`` (or the deadline), then close the stream."""
    try:
        watch.refresh()
        while not watch.done:
            watch.feed(stream.receive(deadline.next_timeout()))
            if not watch.done and watch.stale():
                watch.refresh()
    finally:
        stream.close()


async def adrive(watch: Watch, stream: AsyncStream, deadline: Deadline) -> None:
    """The asyncio twin of :func:`drive`: the event loop stays free while waiting."""
    try:
        await asyncio.to_thread(watch.refresh)
        while not watch.done:
            watch.feed(await stream.receive(deadline.next_timeout()))
            if not watch.done and watch.stale():
                await asyncio.to_thread(watch.refresh)
    finally:
        await stream.close()
