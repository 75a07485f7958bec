"""Keep-alive pings for every stream socket, in one pass per interval.

Jupyter's :class:`~jupyter_server.base.websocket.WebSocketMixin` gives each socket a
timer of its own (``ws_ping_interval``, 30 s by default). With many clients connected
those timers fire one by one, each a separate wake-up of the event loop, and on a
virtual machine a wake-up costs far more CPU than the ping it sends. So the stream's
sockets are pinged together: one timer, armed only while a client is connected, and
each socket keeps Jupyter's own rule (:meth:`WebSocketMixin.send_ping`: closed once no
pong came for ``ws_ping_timeout``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

log = logging.getLogger(__name__)


class Pingable(Protocol):
    """A socket that pings itself, or closes if its peer stopped answering."""

    def send_ping(self) -> None:
        """Ping the peer (or close the socket: see WebSocketMixin.send_ping)."""


class Pinger:
    """Pings every registered socket once an interval, all in one pass."""

    def __init__(self, loop: asyncio.AbstractEventLoop, interval_seconds: float) -> None:
        if interval_seconds <= 0:
            raise ValueError(f"interval_seconds must be more than 0, not {interval_seconds}")
        self._loop = loop
        self._interval = interval_seconds
        self._sockets: dict[Pingable, None] = {}  # ordered: pinged in the order they came
        self._timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self._sockets)

    def add(self, socket: Pingable) -> None:
        """Ping ``socket`` from the next pass on (on the event loop's thread)."""
        self._sockets[socket] = None
        if self._timer is None:
            self._timer = self._loop.call_later(self._interval, self._pass)

    def discard(self, socket: Pingable) -> None:
        """Stop pinging ``socket``; the timer stops with the last one."""
        self._sockets.pop(socket, None)
        if not self._sockets and self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _pass(self) -> None:
        self._timer = self._loop.call_later(self._interval, self._pass)
        for socket in list(self._sockets):
            try:
                socket.send_ping()  # may close it, and so discard it
            except Exception:  # a bug in one socket's ping must not skip the others
                log.exception("fusion stream: pinging a client failed")
