"""The kernel relay: live run updates pushed through widget models.

Where a widget's front-end cannot reach the Jupyter server itself (the embedded
engine, VS Code, a kernel whose client talks to another server), it speaks the
server's stream protocol to the kernel instead (``{"op": "subscribe", "run_id",
"channels", "after", "log_offset"}``, ``unsubscribe``, ``ping``) and gets the same
messages the server would send. Each widget (a *sink*) has a stream session of the
kernel's client backend (:meth:`~fusion_jupyter.client.backend.Backend.open_session`):
with the embedded engine, the very session class behind the server's WebSocket; with
a remote server, that server's own session through a WebSocket. Resuming, holding
back and de-duplicating are the engine hub's, not the relay's.

Operations are handled in order by one thread (subscribing reads a run's history),
and frames are batched: each sink gets at most one frame per ``FRAME_INTERVAL``.
A widget that does not follow every run's status (only the dashboard does) gets the
statuses and folded progress of the runs it follows.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from fusion_jupyter.client import errors
from fusion_jupyter.client.backend import Backend, Message, Session
from fusion_jupyter.engine.hub import STATUS_TYPES

log = logging.getLogger(__name__)

CHANNELS = ("progress", "logs")
#: Seconds between two frames to one sink (batching).
FRAME_INTERVAL = 0.03
#: An operation of the relay itself: the page's socket went away (keep the statuses).
CLOSE_OP = "close"


class Sink(Protocol):
    """Where a relay delivers frames: a widget (``deliver`` sends one custom message)."""

    def deliver(self, messages: list[Message]) -> None:
        """Send one frame."""


class _Outbox:
    """Sinks with something ready, sent by one thread at most every FRAME_INTERVAL."""

    def __init__(self, relay: KernelRelay) -> None:
        self._relay = relay
        self._ready: set[Sink] = set()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._last = 0.0

    def wake(self, sink: Sink) -> None:
        with self._cond:
            self._ready.add(sink)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="fusion-widgets-relay-send", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._ready:
                    self._cond.wait()
            wait = self._last + FRAME_INTERVAL - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            with self._cond:
                ready, self._ready = self._ready, set()
            self._last = time.monotonic()
            for sink in ready:
                self._relay._send(sink)


class KernelRelay:
    """Relays one backend's stream sessions to any number of widget sinks."""

    _instances: weakref.WeakKeyDictionary[Any, KernelRelay] = weakref.WeakKeyDictionary()
    _instances_lock = threading.Lock()

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.lock = threading.RLock()
        self.sessions: dict[Sink, Session] = {}
        self.status_sinks: set[Sink] = set()
        self.outbox = _Outbox(self)
        # One thread: a sink's operations are handled in the order it sent them.
        self._ops = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fusion-relay-ops")

    @classmethod
    def of(cls, backend: Backend) -> KernelRelay:
        """The relay of a backend (one per kernel and client)."""
        with cls._instances_lock:
            relay = cls._instances.get(backend)
            if relay is None:
                relay = cls._instances[backend] = cls(backend)
            return relay

    # ---- what widgets call ----------------------------------------------------------

    def handle(self, sink: Sink, raw: str) -> None:
        """One operation of a sink's front-end, handled in order in the relay's thread."""
        self._ops.submit(self._handle, sink, raw)

    def subscribe(
        self, sink: Sink, run_id: str, channels: list[str], after: int, log_offset: int
    ) -> None:
        """Follow ``run_id`` for ``sink`` from ``after`` (seq) and ``log_offset`` (bytes) on."""
        op = {"op": "subscribe", "run_id": run_id, "channels": channels, "after": after}
        self.handle(sink, json.dumps({**op, "log_offset": log_offset}))

    def unsubscribe(self, sink: Sink, run_id: str) -> None:
        """Stop following a run for a sink."""
        self.handle(sink, json.dumps({"op": "unsubscribe", "run_id": run_id}))

    def follow_statuses(self, sink: Sink) -> None:
        """Send ``sink`` every run's status changes (what a dashboard needs)."""
        with self.lock:
            self.status_sinks.add(sink)
        self._ops.submit(self._session, sink)

    def drop(self, sink: Sink, *, keep_status: bool = False) -> None:
        """Forget a sink (a closed widget), or only its run subscriptions."""
        with self.lock:
            keep = keep_status and sink in self.status_sinks
            if keep:
                session = self.sessions.get(sink)
            else:
                self.status_sinks.discard(sink)
                session = self.sessions.pop(sink, None)
        if session is None:
            return
        if keep:
            for run_id in list(session.subs):
                session.unsubscribe(run_id)
        else:
            session.close()

    def subscriptions(self, sink: Sink) -> dict[str, list[str]]:
        """``{run_id: [channels]}`` a sink follows (for tests and diagnostics)."""
        self._ops.submit(lambda: None).result()  # the operations sent so far are done
        with self.lock:
            session = self.sessions.get(sink)
        return session.subscriptions() if session is not None else {}

    # ---- internals --------------------------------------------------------------------

    def _session(self, sink: Sink) -> Session | None:
        with self.lock:
            session = self.sessions.get(sink)
        if session is not None:
            return session
        try:
            session = self.backend.open_session(lambda: self.outbox.wake(sink))
        except errors.FusionError as exc:
            log.info("fusion relay: cannot open a stream: %s", exc)
            error = {"code": exc.code, "message": exc.message, "details": exc.details}
            self._put(sink, [{"type": "error", "error": error}])
            return None
        with self.lock:
            self.sessions[sink] = session
        return session

    def _handle(self, sink: Sink, raw: str) -> None:
        try:
            if _op_of(raw) == CLOSE_OP:
                self.drop(sink, keep_status=True)
                return
            session = self._session(sink)
            if session is not None:
                session.handle(raw)
        except Exception:  # a bug must not stop the relay's thread
            log.exception("fusion relay: handling an operation failed")

    def _put(self, sink: Sink, messages: list[Message]) -> None:
        try:
            sink.deliver(messages)
        except Exception:
            log.warning("fusion relay: sending a frame failed", exc_info=True)

    def _send(self, sink: Sink) -> None:
        """Collect what a sink's session has and deliver it as one frame."""
        with self.lock:
            session = self.sessions.get(sink)
            every_status = sink in self.status_sinks
        if session is None:
            return
        messages = session.collect()
        if not every_status:
            mine = set(session.subs)
            messages = [m for m in messages if m["type"] not in STATUS_TYPES or m["run_id"] in mine]
        if messages:
            self._put(sink, messages)


def _op_of(raw: str) -> Any:
    try:
        op = json.loads(raw)
    except ValueError:
        return None
    return op.get("op") if isinstance(op, dict) else None


__all__ = ["CHANNELS", "FRAME_INTERVAL", "KernelRelay", "Sink"]
