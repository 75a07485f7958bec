"""The WebSocket ``stream``: one socket per client, multiplexing every run it follows.

Each client is a :class:`~fusion_jupyter.service.session.StreamSession` (the protocol,
shared with the widgets' kernel relay): one hub subscription per followed run plus one
for every run's status. The hub wakes the client (from engine threads, through
``loop.call_soon_threadsafe``); the client then collects from its session in the
thread pool (collecting reads log bytes and, after an overflow, the progress file) and
sends whatever was ready as ONE frame, a JSON array of messages. Wake-ups go through
the server's :class:`~fusion_jupyter.server.fanout.Fanout`, so the clients woken by one
publish are flushed in one pass and share their frames' bytes.

Back-pressure is the socket's: while more than ``send_buffer_bytes`` are waiting to
be written to this client, it drains nothing, so the hub's bounded queue absorbs the
burst (and, past it, marks the client lagged and later replays from the file). A
client whose buffer stays full for ``stall_seconds`` is closed with a reason. Writes
never wait, so one slow client costs the others nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from tornado import web
from tornado.ioloop import IOLoop
from tornado.iostream import IOStream, StreamClosedError
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from fusion_jupyter.engine.hub import Subscription
from fusion_jupyter.server.context import SETTINGS_KEY, FusionContext
from fusion_jupyter.server.fanout import Frame, FrameCache, encode_frame
from fusion_jupyter.server.handlers import API_PREFIX, AUTH_RESOURCE
from fusion_jupyter.service.session import StreamSession

log = logging.getLogger(__name__)

#: WebSocket close code for "policy violation": the client did not read its data.
CLOSE_STALLED = 1008

#: A server's ping frame with no payload: FIN + opcode 9, unmasked, length 0.
EMPTY_PING = b"\x89\x00"

Send = Callable[[Frame], "asyncio.Future[None] | None"]
Close = Callable[[int, str], None]

__all__ = ["CLOSE_STALLED", "ClientStream", "StreamHandler", "encode_frame", "stream_route"]


class ClientStream:
    """One socket's write path over a :class:`StreamSession`; independent of tornado."""

    def __init__(self, ctx: FusionContext, send: Send, close: Close) -> None:
        self.ctx = ctx
        self._send = send
        self._close = close
        self._loop = asyncio.get_running_loop()
        self._fanout = ctx.fanout
        self._inflight = 0
        self._flushing = False
        self._dirty = False
        self._stall: asyncio.TimerHandle | None = None
        self.closed = False
        self.session = StreamSession(ctx.manager, self._notify, ctx.session_limits)

    @property
    def subs(self) -> dict[str, Subscription]:
        """The runs this client follows."""
        return self.session.subs

    # ---- waking -----------------------------------------------------------------

    def _notify(self) -> None:
        """Called by engine threads (or the loop's file watcher); flushed in the next pass."""
        self._fanout.wake(self)

    @property
    def blocked(self) -> bool:
        """Whether the socket holds more unsent bytes than this client may have."""
        return self._inflight >= self.ctx.stream.send_buffer_bytes

    def kick(self, frames: FrameCache | None = None) -> None:
        """Something is ready: send it, unless a flush runs or the socket is full.

        ``frames`` holds the frames other clients woken together already made.
        """
        if self.closed:
            return
        self._dirty = True
        if self._flushing or self.blocked:
            return
        if not self.session.needs_io:
            # A live stream's usual wake-up: queued messages only, sent at once (no
            # task, no thread hop); a flush task only for what needs a file.
            try:
                self._send_queued(frames)
            except Exception:
                self._failed()
                return
            if not self._dirty or self.blocked or self.closed:
                return
        self._flushing = True
        self._loop.create_task(self._flush())

    async def _flush(self) -> None:
        try:
            while self._dirty and not self.blocked and not self.closed:
                if self.session.needs_io:
                    self._dirty = False
                    frame = await self.ctx.call(self._collect, True)
                    if frame is not None:
                        self._write(frame)
                else:
                    self._send_queued()
        except Exception:
            self._failed()
        finally:
            self._flushing = False

    def _send_queued(self, frames: FrameCache | None = None) -> None:
        """One frame of the queued messages (no file is read), written now."""
        self._dirty = False
        messages = self.session.collect(io=False)
        # A subscription that lagged meanwhile was left whole: drain it next.
        self._dirty = self._dirty or self.session.needs_io
        if messages:
            self._write((frames or FrameCache()).frame(messages))

    def _failed(self) -> None:
        log.exception("fusion stream: sending to a client failed")
        self.close_socket(1011, "internal error while sending")

    def _collect(self, io: bool) -> Frame | None:
        """One frame: everything ready, as a JSON array (in the pool when ``io``)."""
        messages = self.session.collect(io=io)
        return Frame(encode_frame(messages)) if messages else None

    # ---- writing --------------------------------------------------------------------

    def _write(self, frame: Frame) -> None:
        size = len(frame)
        try:
            future = self._send(frame)
        except WebSocketClosedError:
            self.shutdown()
            return
        if future is None or future.done():
            return  # written through to the socket (a done future's callback costs a turn)
        self._inflight += size
        future.add_done_callback(lambda _f: self._written(size))
        if self.blocked and self._stall is None:
            self._stall = self._loop.call_later(self.ctx.stream.stall_seconds, self._stalled)

    def _written(self, size: int) -> None:
        self._inflight -= size
        if not self.blocked:
            if self._stall is not None:
                self._stall.cancel()
                self._stall = None
            if self._dirty:
                self.kick()

    def _stalled(self) -> None:
        self._stall = None
        if self.blocked and not self.closed:
            limit = self.ctx.stream.send_buffer_bytes
            self.close_socket(
                CLOSE_STALLED,
                f"client too slow: over {limit} bytes unsent for "
                f"{self.ctx.stream.stall_seconds:g}s",
            )

    def close_socket(self, code: int, reason: str) -> None:
        """Close the WebSocket (and so this stream)."""
        self.shutdown()
        self._close(code, reason[:120])

    def shutdown(self) -> None:
        """Forget every subscription; nothing more is sent."""
        if self.closed:
            return
        self.closed = True
        if self._stall is not None:
            self._stall.cancel()
        self.session.close()

    # ---- client messages ------------------------------------------------------------

    async def handle(self, raw: str | bytes) -> None:
        """One client message, handled in the pool (subscribing reads the history)."""
        await self.ctx.call(self.session.handle, raw)


class StreamHandler(WebSocketMixin, WebSocketHandler, JupyterHandler):
    """``WS {base_url}fusion/api/stream``: authenticated, origin-checked, read access."""

    auth_resource = AUTH_RESOURCE
    stream: Any
    client: ClientStream | None = None
    _prebuilt = False

    @property
    def fusion(self) -> FusionContext:
        """The shared engine context."""
        context: FusionContext = self.settings[SETTINGS_KEY]
        return context

    @property
    def ping_interval(self) -> float:
        """Milliseconds between keep-alive pings (``ws_ping_interval_seconds``), in the
        unit of Jupyter's :class:`WebSocketMixin`, whose ping rule this keeps."""
        return 1000 * self.fusion.stream.ping_interval_seconds

    @property
    def ping_timeout(self) -> float:
        """Milliseconds a client may leave pings unanswered before it is closed."""
        return 1000 * self.fusion.stream.ping_timeout_seconds

    @property
    def max_message_size(self) -> int:
        """Incoming messages are small commands; bigger ones close the socket (1009)."""
        return self.fusion.stream.max_message_bytes

    def set_default_headers(self) -> None:
        """No HTTP-page headers on a WebSocket upgrade (as Jupyter's kernel socket)."""

    def get_compression_options(self) -> dict[str, Any] | None:
        """Per-message deflate as configured for Jupyter's own sockets."""
        options: dict[str, Any] | None = self.settings.get("websocket_compression_options")
        return options

    @ws_authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        """Authorize ``read`` on ``fusion``, then upgrade (tornado checks the Origin)."""
        allowed = await ensure_async(
            self.authorizer.is_authorized(self, self.current_user, "read", AUTH_RESOURCE)
        )
        if not allowed:
            raise web.HTTPError(403)
        await super().get(*args, **kwargs)

    def open(self, *args: Any, **kwargs: Any) -> None:
        """Start pinging and follow every run's status.

        Not ``WebSocketMixin.open``: that starts a timer for this socket alone, where
        the stream's one :class:`~fusion_jupyter.server.keepalive.Pinger` pings every
        client in one pass (by the mixin's :meth:`send_ping`, so with its timeout).
        """
        if self.fusion.stream.ping_interval_seconds > 0:
            self.last_ping = self.last_pong = IOLoop.current().time()
            self.fusion.pinger.add(self)
        # Frames are batched already (one a fan-out pass): Nagle's algorithm would only
        # hold a frame back until the client's delayed ACK, up to 40 ms on Linux.
        self.set_nodelay(True)
        # Compression is negotiated only when there are options (tornado's rule).
        self._prebuilt = self.get_compression_options() is None
        self.client = ClientStream(self.fusion, self._send_frame, self.close)

    def _send_frame(self, frame: Frame) -> asyncio.Future[None] | None:
        """Write one frame; without compression, the very bytes other clients get too.

        ``write_message`` would encode, frame and wrap every write in a task of its
        own, once per client; with no per-message compression to apply (it is
        negotiated only when :meth:`get_compression_options` gives options), the
        frame's prebuilt bytes go to the connection's stream as they are. None: all
        of it went to the socket at once.
        """
        if not self._prebuilt:
            return self.write_message(frame.text)
        return self._write_wire(frame.wire())

    def ping(self, data: str | bytes = b"") -> None:
        """An empty ping goes out as its two bytes, as a prebuilt frame does (a control
        frame is never compressed); anything else as tornado sends it."""
        with contextlib.suppress(WebSocketClosedError):  # a closing socket needs none
            if data:
                super().ping(data)
            else:
                self._write_wire(EMPTY_PING)

    def _write_wire(self, data: bytes) -> asyncio.Future[None] | None:
        """Write a whole WebSocket frame; None: all of it went to the socket at once."""
        connection = self.ws_connection
        if connection is None or connection.is_closing():
            raise WebSocketClosedError()
        stream = connection.stream
        if stream is None:
            raise WebSocketClosedError()
        wire: bytes | memoryview = data
        if type(stream) is IOStream and not stream.writing():
            # Nothing of tornado's is waiting to go out, so the socket may take the
            # frame now; tornado gets only what it did not take. A fan-out pass writes
            # to every client, and this skips tornado's buffer and Future for each.
            sent = _send_now(stream.socket, data)
            if sent == len(data):
                return None
            wire = memoryview(data)[sent:]
        try:
            return stream.write(wire)
        except StreamClosedError as exc:
            raise WebSocketClosedError() from exc

    async def on_message(self, message: str | bytes) -> None:
        """Handled in order: tornado waits for this before delivering the next one."""
        if self.client is None:
            return
        try:
            await self.client.handle(message)
        except Exception:
            # A bug, not bad input (that is answered with an error message): still end
            # the socket with a close frame, never drop it mid-conversation.
            log.exception("fusion stream: handling a client message failed")
            self.client.close_socket(1011, "internal error while handling a message")

    def on_close(self) -> None:
        """Stop pinging; drop every subscription."""
        if self.fusion.stream.ping_interval_seconds > 0:
            self.fusion.pinger.discard(self)
        if self.client is not None:
            self.client.shutdown()


def _send_now(sock: socket.socket, data: bytes) -> int:
    """What a non-blocking socket takes of ``data`` now (0 if full, or on an error:
    tornado then meets the error on its own write, and closes the stream)."""
    try:
        return sock.send(data)
    except OSError:
        return 0


def stream_route() -> tuple[str, type[StreamHandler]]:
    """The WebSocket's pattern, relative to ``{base_url}``."""
    return (f"/{API_PREFIX}/stream", StreamHandler)
