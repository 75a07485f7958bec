"""The WebSocket ``stream``: one socket per client, multiplexing every run it follows.

Each client holds one hub subscription per followed run plus one for every run's
status. The hub wakes the client (from engine threads, through
``loop.call_soon_threadsafe``); the client then drains all its subscriptions in the
thread pool (draining reads log bytes and, after an overflow, the progress file) and
sends whatever was ready as ONE frame, a JSON array of messages.

Back-pressure is the socket's: while more than ``send_buffer_bytes`` are waiting to
be written to this client, it drains nothing, so the hub's bounded queue absorbs the
burst (and, past it, marks the client lagged and later replays from the file). A
client whose buffer stays full for ``stall_seconds`` is closed with a reason. Writes
never wait, so one slow client costs the others nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from tornado import web
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from fusion_jupyter.engine.errors import EngineError, Problem, ValidationFailed
from fusion_jupyter.engine.faults import as_engine_error
from fusion_jupyter.engine.hub import Message, Subscription
from fusion_jupyter.server.context import SETTINGS_KEY, FusionContext
from fusion_jupyter.server.errors import ApiError, error_response
from fusion_jupyter.server.handlers import API_PREFIX, AUTH_RESOURCE
from fusion_jupyter.service.validation import (
    Field,
    RequestLimits,
    check_fields,
    is_int_in,
    is_text,
    is_text_in,
    parse_json,
)

log = logging.getLogger(__name__)

CHANNELS = ("progress", "logs")
MAX_SEQ = 1 << 62
#: WebSocket close code for "policy violation": the client did not read its data.
CLOSE_STALLED = 1008


def _is_channels(value: Any) -> str | None:
    if isinstance(value, list) and value and all(v in CHANNELS for v in value):
        return None
    return f"must be a non-empty list of {', '.join(CHANNELS)}"


OPS: dict[str, dict[str, Field]] = {
    "subscribe": {
        "op": Field(is_text),
        "run_id": Field(is_text, required=True),
        "channels": Field(_is_channels),
        "after": Field(is_int_in(-1, MAX_SEQ)),
        "log_offset": Field(is_int_in(0, MAX_SEQ)),
    },
    "unsubscribe": {"op": Field(is_text), "run_id": Field(is_text, required=True)},
    "ping": {"op": Field(is_text)},
}

Send = Callable[[str], "asyncio.Future[None] | None"]
Close = Callable[[int, str], None]


class ClientStream:
    """One client's subscriptions and its write path; independent of tornado for tests."""

    def __init__(self, ctx: FusionContext, send: Send, close: Close) -> None:
        self.ctx = ctx
        self._send = send
        self._close = close
        self._loop = asyncio.get_running_loop()
        self.subs: dict[str, Subscription] = {}
        self._outbox: list[Message] = []
        self._inflight = 0
        self._flushing = False
        self._dirty = False
        self._stall: asyncio.TimerHandle | None = None
        self.closed = False
        self._message_limits = RequestLimits(
            max_body_bytes=ctx.stream.max_message_bytes,
            max_json_depth=ctx.limits.max_json_depth,
            max_json_keys=ctx.limits.max_json_keys,
            max_string_length=ctx.limits.max_string_length,
        )
        self.status = ctx.manager.hub.subscribe_status(notify=self._notify)

    # ---- waking -----------------------------------------------------------------

    def _notify(self) -> None:
        """Called by engine threads; hands over to the event loop."""
        self._loop.call_soon_threadsafe(self.kick)

    @property
    def blocked(self) -> bool:
        """Whether the socket holds more unsent bytes than this client may have."""
        return self._inflight >= self.ctx.stream.send_buffer_bytes

    def kick(self) -> None:
        """Something is ready: start a flush unless one runs or the socket is full."""
        if self.closed:
            return
        self._dirty = True
        if not self._flushing and not self.blocked:
            self._flushing = True
            self._loop.create_task(self._flush())

    async def _flush(self) -> None:
        try:
            while self._dirty and not self.blocked and not self.closed:
                self._dirty = False
                local, self._outbox = self._outbox, []
                subs = dict(self.subs)
                if any(sub.needs_io for sub in subs.values()):
                    drained, frame = await self.ctx.call(self._collect, local, subs, True)
                else:  # only queued messages: no file to read, no thread hop needed
                    drained, frame = self._collect(local, subs, False)
                    # A subscription that lagged meanwhile was left whole: drain it next.
                    self._dirty = self._dirty or any(s.needs_io for s in subs.values())
                if any(self.subs.get(run_id) is not sub for run_id, sub in subs.items()):
                    # Someone unsubscribed meanwhile: drop what their old subscription gave.
                    frame = _encode(self._current(local, drained))
                if frame:
                    self._write(frame)
        except Exception:
            log.exception("fusion stream: sending to a client failed")
            self.close_socket(1011, "internal error while sending")
        finally:
            self._flushing = False

    def _collect(
        self, local: list[Message], subs: dict[str, Subscription], io: bool
    ) -> tuple[list[tuple[Subscription, list[Message]]], str | None]:
        """Drain every subscription and encode the frame (in the pool when ``io``)."""
        chunk = self.ctx.stream.log_chunk_bytes
        drained = [
            (sub, [m for m in sub.drain(chunk, io=io) if m.get("type") != "status"])
            for sub in subs.values()
        ]
        # Status last: a run's final progress events then always precede its end.
        drained.append((self.status, self.status.drain()))
        messages = local + [m for _, batch in drained for m in batch]
        return drained, _encode(messages)

    def _current(
        self, local: list[Message], drained: list[tuple[Subscription, list[Message]]]
    ) -> list[Message]:
        keep = {id(s) for s in self.subs.values()} | {id(self.status)}
        return local + [m for sub, batch in drained if id(sub) in keep for m in batch]

    # ---- writing --------------------------------------------------------------------

    def _write(self, frame: str) -> None:
        size = len(frame)
        try:
            future = self._send(frame)
        except WebSocketClosedError:
            self.shutdown()
            return
        if future is None:
            return
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

    def reply(self, message: Message) -> None:
        """Queue a message of our own (pong, subscribed, error) and send it soon."""
        self._outbox.append(message)
        self.kick()

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
        for sub in self.subs.values():
            sub.close()
        self.subs.clear()
        self.status.close()

    # ---- client messages ------------------------------------------------------------

    async def handle(self, raw: str | bytes) -> None:
        """One client message; a bad one is answered with an error, the socket stays."""
        try:
            data = raw.encode() if isinstance(raw, str) else raw
            message = parse_json(data, self._message_limits, section="message")
            op = _op_of(message)
            check_fields(message, OPS[op], "message")
            await getattr(self, f"_op_{op}")(message)
        except (EngineError, ApiError) as exc:
            self.reply({"type": "error", "error": error_response(exc).body["error"]})
        except Exception as exc:
            fault = as_engine_error(exc)  # a database outage: say so, keep the socket
            if fault is None:
                raise
            self.reply({"type": "error", "error": error_response(fault).body["error"]})

    async def _op_ping(self, _message: dict[str, Any]) -> None:
        self.reply({"type": "pong"})

    async def _op_subscribe(self, message: dict[str, Any]) -> None:
        run_id = message["run_id"]
        if run_id not in self.subs and len(self.subs) >= self.ctx.stream.max_subscriptions:
            limit = self.ctx.stream.max_subscriptions
            raise ValidationFailed(
                [Problem("message", "run_id", f"at most {limit} subscriptions per socket")]
            )
        self._drop(run_id)
        sub = await self.ctx.call(
            self.ctx.manager.subscribe,
            run_id,
            notify=self._notify,
            channels=message.get("channels", list(CHANNELS)),
            after=message.get("after", -1),
            log_offset=message.get("log_offset", 0),
        )
        if self.closed:
            sub.close()
            return
        self._drop(run_id)  # a second subscribe raced with this one
        self.subs[run_id] = sub
        self.reply({"type": "subscribed", "run_id": run_id})

    async def _op_unsubscribe(self, message: dict[str, Any]) -> None:
        self._drop(message["run_id"])

    def _drop(self, run_id: str) -> None:
        sub = self.subs.pop(run_id, None)
        if sub is not None:
            sub.close()


def _op_of(message: Any) -> str:
    """The message's ``op``, checked before its other fields (which depend on it)."""
    op = message.get("op") if isinstance(message, dict) else None
    problem = "is required" if op is None else is_text_in(tuple(OPS))(op)
    if problem:
        raise ValidationFailed([Problem("message", "op", problem)])
    return str(op)


def _encode(messages: list[Message]) -> str | None:
    return json.dumps(messages, separators=(",", ":")) if messages else None


class StreamHandler(WebSocketMixin, WebSocketHandler, JupyterHandler):
    """``WS {base_url}fusion/api/stream``: authenticated, origin-checked, read access."""

    auth_resource = AUTH_RESOURCE
    stream: Any
    client: ClientStream | None = None

    @property
    def fusion(self) -> FusionContext:
        """The shared engine context."""
        context: FusionContext = self.settings[SETTINGS_KEY]
        return context

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
        """Start pinging and follow every run's status."""
        super().open(*args, **kwargs)
        self.client = ClientStream(self.fusion, self.write_message, self.close)

    async def on_message(self, message: str | bytes) -> None:
        """Handled in order: tornado waits for this before delivering the next one."""
        if self.client is not None:
            await self.client.handle(message)

    def on_close(self) -> None:
        """Drop every subscription."""
        if self.client is not None:
            self.client.shutdown()


def stream_route() -> tuple[str, type[StreamHandler]]:
    """The WebSocket's pattern, relative to ``{base_url}``."""
    return (f"/{API_PREFIX}/stream", StreamHandler)
