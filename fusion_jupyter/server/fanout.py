"""Flushing every woken stream client in one pass, with shared frames.

The hub wakes each subscriber on its own: one progress event followed by 100 clients
is 100 wake-ups. :class:`Fanout` turns the wake-ups of one moment into one callback
on the event loop that flushes every woken client. In one pass, clients that
collected the very same messages (the hub publishes one shared object per message)
share one :class:`Frame`: its JSON text and its WebSocket bytes are made once and the
same bytes are written to every socket.

Passes take at most ``share`` of the event loop: after a pass that cost ``t`` seconds
of CPU, the next one starts no sooner than ``t / share`` after it began, and what is
published meanwhile waits for it and goes into the same frame. A few clients cost a
pass microseconds, so they get every update at once; a hundred clients of a run
updating hundreds of times a second get a frame every few milliseconds, each carrying
what arrived since, and the loop keeps time for everything else.
"""

from __future__ import annotations

import asyncio
import struct
import threading
import time
from collections.abc import Sequence
from typing import Protocol

from fusion_jupyter.engine.hub import Message, message_json

#: First byte of a final, uncompressed text frame (FIN + opcode 1, RFC 6455 §5.2).
_TEXT_FRAME = 0x81


def encode_frame(messages: Sequence[Message]) -> str:
    """Messages as one frame's text, a compact JSON array.

    A message published to every subscriber is encoded once for all of them
    (:class:`~fusion_jupyter.engine.hub.SharedMessage`), not once a client.
    """
    return "[" + ",".join(map(message_json, messages)) + "]"


def websocket_text_frame(payload: bytes) -> bytes:
    """``payload`` as one unmasked, uncompressed WebSocket text frame (a server's)."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", _TEXT_FRAME, size)
    elif size <= 0xFFFF:
        header = struct.pack("!BBH", _TEXT_FRAME, 126, size)
    else:
        header = struct.pack("!BBQ", _TEXT_FRAME, 127, size)
    return header + payload


class Frame:
    """One frame for a client: its JSON text, and its bytes on the wire once asked for."""

    __slots__ = ("_wire", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._wire: bytes | None = None

    def wire(self) -> bytes:
        """The whole WebSocket frame (header and UTF-8 payload), made once."""
        if self._wire is None:
            self._wire = websocket_text_frame(self.text.encode())
        return self._wire

    def __len__(self) -> int:
        return len(self.text)


class FrameCache:
    """The frames made during one pass, by the identity of the messages they carry.

    Keeping the messages alive keeps their ids unique for as long as the cache lives.
    """

    def __init__(self) -> None:
        self._frames: dict[tuple[int, ...], tuple[Sequence[Message], Frame]] = {}

    def frame(self, messages: Sequence[Message]) -> Frame:
        """The frame of ``messages``: made by the first client that got them."""
        key = tuple(map(id, messages))
        made = self._frames.get(key)
        if made is not None:
            return made[1]
        frame = Frame(encode_frame(messages))
        self._frames[key] = (messages, frame)
        return frame


class Flushable(Protocol):
    """A client the fan-out flushes: it sends whatever it has ready."""

    def kick(self, frames: FrameCache | None = None) -> None:
        """Send what is ready, taking shared frames from ``frames``."""


class Fanout:
    """Flushes the clients woken since the last pass, in one pass on the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, share: float = 1.0) -> None:
        if not 0 < share <= 1:
            raise ValueError(f"share must be in (0, 1], not {share}")
        self._loop = loop
        self._share = share
        self._lock = threading.Lock()
        self._woken: dict[Flushable, None] = {}  # ordered, each client once
        self._armed = False
        self._next = 0.0  # the loop's time before which no pass starts

    def wake(self, client: Flushable) -> None:
        """``client`` has something to send; callable from any thread."""
        with self._lock:
            self._woken[client] = None
            if self._armed:
                return
            self._armed = True
        try:
            self._loop.call_soon_threadsafe(self._arm)
        except RuntimeError:  # the loop is closed: nothing will be sent any more
            with self._lock:
                self._armed = False
            raise

    def _arm(self) -> None:
        delay = self._next - self._loop.time()
        if delay > 0:
            self._loop.call_later(delay, self._pass)
        else:
            self._pass()

    def _pass(self) -> None:
        with self._lock:
            woken, self._woken = self._woken, {}
            self._armed = False
        began, cpu = self._loop.time(), time.thread_time()
        frames = FrameCache()
        for client in woken:
            client.kick(frames)
        # CPU time, not wall time: a pass the OS preempted did not cost the loop more.
        self._next = began + (time.thread_time() - cpu) / self._share
