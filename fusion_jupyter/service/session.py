"""One client's live stream over the engine hub: the stream protocol, once (DESIGN §4).

A client sends ``{"op": "subscribe", "run_id", "channels", "after", "log_offset"}``,
``{"op": "unsubscribe", "run_id"}`` and ``{"op": "ping"}``; it gets ``subscribed``,
``progress``, ``log``, ``status``, ``lagged``, ``pong`` and ``error`` messages, and every
run's status changes. :class:`StreamSession` keeps one client's hub subscriptions and
answers its operations; the hub resumes, holds and de-duplicates. The server's
WebSocket and the widgets' kernel relay each drive sessions their own way (an asyncio
socket with back-pressure, a thread sending batched frames through widget models).

Its methods block (subscribing reads the history, collecting may read log bytes):
an event loop calls them in a thread. One lock orders a client's operations and its
collections, so nothing of a run is collected after its ``unsubscribe`` was handled.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fusion_jupyter.engine.errors import EngineError, Problem, ValidationFailed
from fusion_jupyter.engine.faults import as_engine_error
from fusion_jupyter.engine.hub import STATUS_TYPES, Message, Subscription
from fusion_jupyter.engine.manager import RunManager
from fusion_jupyter.service.errors import error_response
from fusion_jupyter.service.validation import (
    Field,
    RequestLimits,
    check_fields,
    is_int_in,
    is_text,
    is_text_in,
    parse_json,
)

CHANNELS = ("progress", "logs")
MAX_SEQ = 1 << 62


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


@dataclass(frozen=True)
class SessionLimits:
    """Bounds of one client's stream: its messages in, its subscriptions, its log reads."""

    message: RequestLimits = field(default_factory=lambda: RequestLimits(max_body_bytes=64 << 10))
    max_subscriptions: int = 1_000
    log_chunk_bytes: int = 1 << 20


def _op_of(message: Any) -> str:
    """The message's ``op``, checked before its other fields (which depend on it)."""
    op = message.get("op") if isinstance(message, dict) else None
    problem = "is required" if op is None else is_text_in(tuple(OPS))(op)
    if problem:
        raise ValidationFailed([Problem("message", "op", problem)])
    return str(op)


def error_message(exc: EngineError) -> Message:
    """A refusal as a stream message."""
    return {"type": "error", "error": error_response(exc).body["error"]}


class StreamSession:
    """One client's subscriptions: one per followed run, plus every run's status.

    ``notify`` is called (from engine threads) whenever :meth:`collect` has something.
    """

    def __init__(
        self,
        manager: RunManager,
        notify: Callable[[], None],
        limits: SessionLimits | None = None,
    ) -> None:
        self.manager = manager
        self.limits = limits or SessionLimits()
        self._notify = notify
        self._lock = threading.RLock()
        self._replies: list[Message] = []
        self._ended: list[Message] = []
        self.subs: dict[str, Subscription] = {}
        self.closed = False
        self.status = manager.hub.subscribe_status(notify=notify)

    # ---- operations -------------------------------------------------------------------

    def handle(self, raw: str | bytes) -> None:
        """One client message; a bad one is answered with an error (the session stays)."""
        try:
            data = raw.encode() if isinstance(raw, str) else raw
            message = parse_json(data, self.limits.message, section="message")
            op = _op_of(message)
            check_fields(message, OPS[op], "message")
            if op == "subscribe":
                self.subscribe(
                    message["run_id"],
                    message.get("channels", list(CHANNELS)),
                    message.get("after", -1),
                    message.get("log_offset", 0),
                )
            elif op == "unsubscribe":
                self.unsubscribe(message["run_id"])
            else:
                self.reply({"type": "pong"})
        except EngineError as exc:
            self.reply(error_message(exc))
        except Exception as exc:
            fault = as_engine_error(exc)  # a database outage: say so, keep the session
            if fault is None:
                raise
            self.reply(error_message(fault))

    def subscribe(self, run_id: str, channels: list[str], after: int, log_offset: int) -> None:
        """Follow a run from ``after`` (a seq) and ``log_offset`` (bytes); acknowledged.

        The history is read without the lock (it may be long), so collecting goes on
        meanwhile; the subscription is installed afterwards, replacing any other of
        the same run (a second subscribe that raced with this one).
        """
        limit = self.limits.max_subscriptions
        with self._lock:
            if run_id not in self.subs and len(self.subs) >= limit:
                raise ValidationFailed(
                    [Problem("message", "run_id", f"at most {limit} subscriptions per socket")]
                )
        sub = self.manager.subscribe(
            run_id, notify=self._notify, channels=channels, after=after, log_offset=log_offset
        )
        # A run that ended before this session followed every run's status would
        # otherwise never be heard to end (statuses are live only, with no history).
        ended = self.manager.ended_status(run_id)
        with self._lock:
            if self.closed:
                sub.close()
                return
            self._drop(run_id)
            self.subs[run_id] = sub
            notice = {"type": "subscribed", "run_id": run_id}
            if ended is not None:  # sent with the statuses, after the run's history
                self._ended.append(ended)
            self.reply({**notice, "after": after, "log_offset": log_offset})

    def unsubscribe(self, run_id: str) -> None:
        """Stop following a run; nothing of it is collected after this returns."""
        with self._lock:
            self._drop(run_id)

    def reply(self, message: Message) -> None:
        """Queue a message of the session's own (pong, subscribed, error)."""
        with self._lock:
            self._replies.append(message)
        self._notify()

    def _drop(self, run_id: str) -> None:
        sub = self.subs.pop(run_id, None)
        if sub is not None:
            sub.close()

    # ---- collecting -----------------------------------------------------------------

    @property
    def needs_io(self) -> bool:
        """Whether collecting would read a file (log bytes, or a lagged catch-up)."""
        with self._lock:
            return any(sub.needs_io for sub in self.subs.values())

    def subscriptions(self) -> dict[str, list[str]]:
        """``{run_id: [channels]}`` followed (for diagnostics and tests)."""
        with self._lock:
            return {run_id: sorted(sub.channels) for run_id, sub in self.subs.items()}

    def collect(self, *, io: bool = True) -> list[Message]:
        """Everything ready, oldest first: replies, each run's data, then statuses.

        Statuses (and runs' folded progress) come last, so that a run's final
        progress events precede its end.
        With ``io=False`` a subscription that would need a file is left for a later
        full collection (see :meth:`~fusion_jupyter.engine.hub.Subscription.drain`).
        """
        with self._lock:
            if self.closed:
                return []
            messages, self._replies = self._replies, []
            chunk = self.limits.log_chunk_bytes
            for sub in self.subs.values():
                messages += [m for m in sub.drain(chunk, io=io) if m["type"] not in STATUS_TYPES]
            messages += self.status.drain()
            messages, self._ended = messages + self._ended, []
            return messages

    def close(self) -> None:
        """Forget every subscription; nothing more is collected."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            for sub in self.subs.values():
                sub.close()
            self.subs.clear()
            self.status.close()


__all__ = ["CHANNELS", "OPS", "SessionLimits", "StreamSession", "error_message"]
