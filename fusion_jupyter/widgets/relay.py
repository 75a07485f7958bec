"""The kernel relay: live run updates pushed through widget models.

Where a widget's front-end cannot reach the Jupyter server itself (the embedded
engine, VS Code, a kernel whose client talks to another server), it speaks the
server's stream protocol to the kernel instead (``{"op": "subscribe", "run_id",
"channels", "after", "log_offset"}``, ``unsubscribe``) and the kernel answers with the
same messages the server would send (``progress``, ``log``, ``status``, ``lagged``).

One relay per client backend (so per kernel): every widget following a run shares one
backend stream of that run per channel (the engine hub's subscription, or the remote
server's WebSocket), read by a background thread, so updates keep flowing while the
kernel runs a cell. Each widget (a *sink*) has its own resume point; one that joins a
run already followed catches up from the backend first, while live messages for it
wait, so it misses nothing and gets nothing twice. Messages are batched: each sink
gets at most one frame per ``FRAME_INTERVAL``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import weakref
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from fusion_jupyter.client import errors
from fusion_jupyter.client.backend import Backend, Message, Stream

log = logging.getLogger(__name__)

CHANNELS = ("progress", "logs")
#: Seconds between two frames to one sink (batching).
FRAME_INTERVAL = 0.03
#: How long a feed thread blocks on its stream before checking whether to stop.
RECEIVE_TIMEOUT = 0.25
#: Bytes of log history read per backend call when a sink catches up.
LOG_PAGE = 1 << 20
RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)


class Sink(Protocol):
    """Where a relay delivers frames: a widget (``deliver`` sends one custom message)."""

    def deliver(self, messages: list[Message]) -> None:
        """Send one frame."""


def _trim_log(message: Message, offset: int) -> Message | None:
    """A log message cut to start at byte ``offset`` (None if it ends before it)."""
    end = int(message["next_offset"])
    if end <= offset:
        return None
    start = int(message["offset"])
    if start >= offset:
        return message
    data = str(message.get("data", "")).encode("utf-8")[offset - start :]
    return {**message, "offset": offset, "data": data.decode("utf-8", "replace")}


@dataclass
class _Position:
    """What one sink has of one run's channel, and what waits while it catches up."""

    channel: str
    after: int
    held: list[Message] | None = None

    def accept(self, messages: Iterable[Message]) -> list[Message]:
        """The messages this sink has not had, advancing its position (held if catching up)."""
        if self.held is not None:
            self.held.extend(messages)
            return []
        out: list[Message] = []
        for message in messages:
            kind = message.get("type")
            if kind == "progress":
                seq = int(message.get("seq", -1))
                if seq <= self.after:
                    continue
                self.after = seq
            elif kind == "log":
                trimmed = _trim_log(message, self.after)
                if trimmed is None:
                    continue
                self.after = int(message["next_offset"])
                message = trimmed
            out.append(message)
        return out


class _Outbox:
    """Pending messages per sink, sent by one thread at most every FRAME_INTERVAL."""

    def __init__(self) -> None:
        self._pending: dict[Sink, list[Message]] = {}
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._last = 0.0

    def put(self, sink: Sink, messages: list[Message]) -> None:
        if not messages:
            return
        with self._cond:
            self._pending.setdefault(sink, []).extend(messages)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="fusion-widgets-relay-send", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def drop(self, sink: Sink) -> None:
        with self._cond:
            self._pending.pop(sink, None)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending:
                    self._cond.wait()
            wait = self._last + FRAME_INTERVAL - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            with self._cond:
                pending, self._pending = self._pending, {}
            self._last = time.monotonic()
            for sink, messages in pending.items():
                try:
                    sink.deliver(messages)
                except Exception:
                    log.warning("fusion relay: sending a frame failed", exc_info=True)


@dataclass(eq=False)
class _Feed:
    """One backend stream (one run and channel, or every run's status) and its sinks."""

    relay: KernelRelay
    run_id: str | None
    channel: str
    position: int
    sinks: dict[Sink, _Position] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        name = f"fusion-widgets-relay-{self.run_id or 'status'}-{self.channel}"
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def _open(self) -> Stream:
        backend = self.relay.backend
        if self.run_id is None:
            return backend.stream(None)
        if self.channel == "progress":
            return backend.stream(self.run_id, ["progress"], after=self.position)
        return backend.stream(self.run_id, ["logs"], log_offset=self.position)

    def _run(self) -> None:
        failures = 0
        while not self.stop.is_set():
            try:
                stream = self._open()
            except errors.FusionError as exc:
                delay = RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
                failures += 1
                log.info("fusion relay: cannot follow %s (%s)", self.run_id, exc)
                self.stop.wait(delay)
                continue
            try:
                failures = 0
                while not self.stop.is_set():
                    messages = stream.receive(RECEIVE_TIMEOUT)
                    if messages:
                        self.dispatch(messages)
            except errors.FusionError as exc:
                log.info("fusion relay: stream of %s ended (%s); resuming", self.run_id, exc)
                self.stop.wait(RETRY_SECONDS[0])
            finally:
                stream.close()

    def dispatch(self, messages: list[Message]) -> None:
        """Hand a batch to every sink, each filtered by its own position."""
        mine = [m for m in messages if self._wanted(m)]
        with self.relay.lock:
            for message in mine:
                if message.get("type") == "progress":
                    self.position = max(self.position, int(message.get("seq", -1)))
                elif message.get("type") == "log":
                    self.position = max(self.position, int(message["next_offset"]))
            for sink, position in list(self.sinks.items()):
                batch = position.accept(self._for(sink, mine))
                self.relay.outbox.put(sink, batch)

    def _wanted(self, message: Message) -> bool:
        kind = message.get("type")
        if self.run_id is None:
            return kind == "status"
        if kind == "status":
            return self.channel == "progress"  # one copy of a run's statuses, not two
        return kind != "log" or self.channel == "logs"

    def _for(self, sink: Sink, messages: list[Message]) -> list[Message]:
        if self.run_id is not None and sink in self.relay.status_sinks:
            # That sink hears every status from the status feed already.
            return [m for m in messages if m.get("type") != "status"]
        return messages


class KernelRelay:
    """Relays one backend's live updates to any number of widget sinks (see module doc)."""

    _instances: weakref.WeakKeyDictionary[Any, KernelRelay] = weakref.WeakKeyDictionary()
    _instances_lock = threading.Lock()

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.lock = threading.RLock()
        self.outbox = _Outbox()
        self.feeds: dict[tuple[str | None, str], _Feed] = {}
        self.status_sinks: set[Sink] = set()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="fusion-relay-catch-up")

    @classmethod
    def of(cls, backend: Backend) -> KernelRelay:
        """The relay of a backend (one per kernel and client)."""
        with cls._instances_lock:
            relay = cls._instances.get(backend)
            if relay is None:
                relay = cls._instances[backend] = cls(backend)
            return relay

    # ---- the stream protocol, as the front-end speaks it ---------------------------------

    def handle(self, sink: Sink, raw: str) -> None:
        """One operation of a sink's front-end (JSON); a bad one is answered with an error."""
        try:
            op = json.loads(raw)
            if not isinstance(op, dict):
                raise TypeError("an operation is a JSON object")
            kind = op.get("op")
            if kind == "subscribe":
                channels = op.get("channels") or list(CHANNELS)
                self.subscribe(
                    sink,
                    str(op["run_id"]),
                    [str(c) for c in channels],
                    int(op.get("after", -1)),
                    int(op.get("log_offset", 0)),
                )
            elif kind == "unsubscribe":
                self.unsubscribe(sink, str(op["run_id"]))
            elif kind == "close":
                self.drop(sink, keep_status=True)
            elif kind == "ping":
                self.outbox.put(sink, [{"type": "pong"}])
            else:
                raise ValueError(f"unknown op {kind!r}")
        except (ValueError, TypeError, KeyError) as exc:
            message = f"bad stream operation: {exc}"
            error = {"code": "bad_request", "message": message, "details": None}
            self.outbox.put(sink, [{"type": "error", "error": error}])

    def subscribe(
        self, sink: Sink, run_id: str, channels: Sequence[str], after: int, log_offset: int
    ) -> None:
        """Follow ``run_id`` for ``sink`` from ``after`` (seq) and ``log_offset`` (bytes) on."""
        unknown = set(channels) - set(CHANNELS)
        if unknown:
            raise ValueError(f"unknown channels {sorted(unknown)}")
        with self.lock:
            self._unsubscribe(sink, run_id)
            # The acknowledgement first: everything after it continues from these points.
            notice = {"type": "subscribed", "run_id": run_id, "after": after}
            self.outbox.put(sink, [{**notice, "log_offset": max(0, log_offset)}])
            for channel in channels:
                start = after if channel == "progress" else max(0, log_offset)
                feed = self.feeds.get((run_id, channel))
                position = _Position(channel, start)
                if feed is None:
                    feed = _Feed(self, run_id, channel, start)
                    self.feeds[(run_id, channel)] = feed
                    feed.sinks[sink] = position
                    feed.start()
                else:
                    feed.sinks[sink] = position
                    if start < feed.position:
                        position.held = []
                        self._pool.submit(self._catch_up, feed, sink, position, feed.position)

    def unsubscribe(self, sink: Sink, run_id: str) -> None:
        """Stop following a run for a sink (the feed stops when no sink is left)."""
        with self.lock:
            self._unsubscribe(sink, run_id)

    def follow_statuses(self, sink: Sink) -> None:
        """Send ``sink`` every run's status changes (what a dashboard needs)."""
        with self.lock:
            self.status_sinks.add(sink)
            feed = self.feeds.get((None, "status"))
            if feed is None:
                feed = self.feeds[(None, "status")] = _Feed(self, None, "status", -1)
                feed.sinks[sink] = _Position("status", -1)
                feed.start()
            else:
                feed.sinks[sink] = _Position("status", -1)

    def drop(self, sink: Sink, *, keep_status: bool = False) -> None:
        """Forget a sink (a closed widget), or only its run subscriptions."""
        with self.lock:
            for run_id, _channel in list(self.feeds):
                if run_id is not None:
                    self._unsubscribe(sink, run_id)
            if not keep_status:
                self.status_sinks.discard(sink)
                self._remove(sink, (None, "status"))
                self.outbox.drop(sink)

    def subscriptions(self, sink: Sink) -> dict[str, list[str]]:
        """``{run_id: [channels]}`` a sink follows (for tests and diagnostics)."""
        with self.lock:
            out: dict[str, list[str]] = {}
            for (run_id, channel), feed in self.feeds.items():
                if run_id is not None and sink in feed.sinks:
                    out.setdefault(run_id, []).append(channel)
            return out

    # ---- internals ----------------------------------------------------------------------

    def _unsubscribe(self, sink: Sink, run_id: str) -> None:
        for channel in CHANNELS:
            self._remove(sink, (run_id, channel))

    def _remove(self, sink: Sink, key: tuple[str | None, str]) -> None:
        feed = self.feeds.get(key)
        if feed is None or feed.sinks.pop(sink, None) is None:
            return
        if not feed.sinks:
            feed.stop.set()
            del self.feeds[key]

    def _catch_up(self, feed: _Feed, sink: Sink, position: _Position, upto: int) -> None:
        """Read what a late sink lacks from the backend, then release what was held."""
        assert feed.run_id is not None
        history: list[Message] = []
        try:
            if feed.channel == "progress":
                events = self.backend.events(feed.run_id, position.after, None)
                history = [
                    {"type": "progress", "run_id": feed.run_id, "seq": e["seq"], "event": e}
                    for e in events
                ]
            else:
                history = self._log_history(feed.run_id, position.after, upto)
        except errors.FusionError as exc:
            log.info("fusion relay: catch-up of %s failed: %s", feed.run_id, exc)
        with self.lock:
            if feed.sinks.get(sink) is not position:
                return  # unsubscribed meanwhile
            held, position.held = position.held or [], None
            self.outbox.put(sink, position.accept(history) + position.accept(held))

    def _log_history(self, run_id: str, offset: int, upto: int) -> list[Message]:
        out: list[Message] = []
        while offset < upto:
            chunk = self.backend.logs(run_id, offset=offset, limit=min(LOG_PAGE, upto - offset))
            end = int(chunk["next_offset"])
            if end <= offset:
                break
            out.append(
                {
                    "type": "log",
                    "run_id": run_id,
                    "offset": int(chunk["offset"]),
                    "next_offset": end,
                    "data": chunk["data"],
                }
            )
            offset = end
        return out


__all__ = ["CHANNELS", "FRAME_INTERVAL", "KernelRelay", "Sink"]
