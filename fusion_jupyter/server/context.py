"""What every handler of the extension shares: the engine, the limits, a thread pool.

The engine is synchronous: anything that touches the database or the run files goes
through :meth:`FusionContext.call`, so the event loop only ever parses, checks and
writes, and one slow disk or database call never holds up another client.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from fusion_jupyter.engine.manager import RunManager
from fusion_jupyter.engine.settings import setting
from fusion_jupyter.server.fanout import Fanout
from fusion_jupyter.server.keepalive import Pinger
from fusion_jupyter.service.api import FusionService
from fusion_jupyter.service.session import SessionLimits
from fusion_jupyter.service.validation import RequestLimits

T = TypeVar("T")

#: Key of the context in the tornado application settings.
SETTINGS_KEY = "fusion_jupyter_context"


@dataclass(frozen=True)
class StreamLimits:
    """Bounds of the WebSocket ``stream``: per message in, per client out (the server's
    ``ws_<name>`` traitlets)."""

    max_message_bytes: int = setting(
        "Largest message a client may send on the stream WebSocket.",
        default=64 * 1024,
    )
    max_subscriptions: int = setting(
        "Most runs one WebSocket may follow at once.",
        default=1_000,
    )
    send_buffer_bytes: int = setting(
        "Unsent bytes a client may have before nothing more is queued for it.",
        default=4 << 20,
    )
    stall_seconds: float = setting(
        "A client whose send buffer stays full this long is disconnected.",
        default=30.0,
    )
    log_chunk_bytes: int = setting(
        "Most log bytes read per subscription per frame.",
        default=1 << 20,
    )
    fanout_share: float = setting(
        "Most of the event loop's time that sending stream updates to clients may take "
        "(more than 0, at most 1): after a round of frames that took t seconds of CPU, the "
        "next waits until t / share after it began, and what is published meanwhile goes "
        "into it. A few clients get every update at once; many clients of a busy run get "
        "fewer, fuller frames. 1 sends every update as soon as the event loop gets to it.",
        default=0.2,
    )
    ping_interval_seconds: float = setting(
        "Seconds between keep-alive pings to each stream client (0: none). A client that "
        "has answered none for three intervals is closed. All clients are pinged in one "
        "pass, but each pass still wakes the server for every client (about 1 ms of CPU "
        "each on a small virtual machine), so this is longer than the 30 s Jupyter uses "
        "for kernels. Keep it below any proxy's idle timeout (nginx's proxy_read_timeout "
        "is 60 s unless set); the widgets and the panel reconnect and resume if cut.",
        default=45.0,
    )

    @property
    def ping_timeout_seconds(self) -> float:
        """How long a client may leave pings unanswered: three intervals, as Jupyter's."""
        return 3 * self.ping_interval_seconds


@dataclass
class FusionContext:
    """The manager, its service and the settings the handlers need, built once by the app."""

    manager: RunManager
    limits: RequestLimits = field(default_factory=RequestLimits)
    stream: StreamLimits = field(default_factory=StreamLimits)
    pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(16, thread_name_prefix="fusion-api")
    )

    def __post_init__(self) -> None:
        self.service = FusionService(self.manager, self.limits)

    @functools.cached_property
    def pinger(self) -> Pinger:
        """Pings the stream clients every ``ws_ping_interval_seconds``; made on the event
        loop, by the first client (only when that setting is more than 0)."""
        return Pinger(asyncio.get_running_loop(), self.stream.ping_interval_seconds)

    @functools.cached_property
    def fanout(self) -> Fanout:
        """Flushes the stream clients; made on the event loop, by the first client."""
        return Fanout(asyncio.get_running_loop(), self.stream.fanout_share)

    @property
    def session_limits(self) -> SessionLimits:
        """The bounds of one WebSocket client's stream session."""
        message = replace(self.limits, max_body_bytes=self.stream.max_message_bytes)
        return SessionLimits(message, self.stream.max_subscriptions, self.stream.log_chunk_bytes)

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking engine call in the pool and await its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, functools.partial(fn, *args, **kwargs))
