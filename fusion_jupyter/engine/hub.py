"""Fan-out of live run updates to any number of subscribers.

Progress events, run status changes and runs' folded progress are pushed into a
bounded queue per subscriber; log data is pulled from the log file at each subscriber's own offset,
so a client that reads slowly costs memory for nothing and delays nobody. A
subscriber whose queue overflows is marked as lagging and, on its next drain, is
caught up from ``progress.jsonl`` (the file is the durable source), so an overflow
never loses an event; it only says the client fell behind.

Consumers are woken through a ``notify`` callable they supply (for example
``loop.call_soon_threadsafe`` for asyncio), called once per batch of new data.
"""

from __future__ import annotations

import codecs
import json
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from fusion_jupyter.engine.progress import Event, file_size, read_events
from fusion_jupyter.engine.runpaths import RunPaths

Message = dict[str, Any]
Notify = Callable[[], None]
LOG_CHUNK_BYTES = 256 * 1024
#: Messages every client gets for every run: status changes and folded progress.
STATUS_TYPES = frozenset({"status", "run_progress"})


#: Compact JSON, as the stream sends it (``json.dumps`` with options makes an encoder a call).
JSON_ENCODER = json.JSONEncoder(separators=(",", ":"))


class SharedMessage(dict[str, Any]):
    """A message the hub hands as it is to every subscriber: encoded once for all of them.

    Nobody changes a published message, so its JSON text, made when first asked for, is
    every subscriber's (two threads asking at once make the same text).
    """

    __slots__ = ("_json",)

    def json(self) -> str:
        """The message as compact JSON."""
        text: str | None = getattr(self, "_json", None)
        if text is None:
            text = self._json = JSON_ENCODER.encode(self)
        return text


def message_json(message: Message) -> str:
    """Compact JSON of any message (a shared one's text is made only once)."""
    if isinstance(message, SharedMessage):
        return message.json()
    return JSON_ENCODER.encode(message)


class Subscription:
    """One subscriber's view of one run (or of every run's status when ``run_id`` is None)."""

    def __init__(
        self,
        hub: EventHub,
        run_id: str | None,
        channels: frozenset[str],
        after: int,
        log_offset: int,
        maxsize: int,
        notify: Notify,
    ) -> None:
        self.hub = hub
        self.run_id = run_id
        self.channels = channels
        self.last_seq = after
        self.delivered_seq = after
        self.log_offset = log_offset
        self.log_end = log_offset
        self.queue: deque[Message] = deque()
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.maxsize = maxsize
        self.lagged = False
        self.closed = False
        self._signalled = False
        self._notify = notify
        self._lock = threading.Lock()
        # Live messages published while ``subscribe`` reads the history (None after).
        self._early: list[Message] | None = [] if run_id is not None else None

    # ---- producer side (called by the hub) -----------------------------------------

    def _push(self, message: Message) -> bool:
        return self._push_all((message,))

    def _push_all(self, messages: Sequence[Message]) -> bool:
        """Queue ``messages`` in order under one lock; whether the consumer must be woken."""
        with self._lock:
            if self._early is not None:
                # Still reading the history: an event published meanwhile waits, so a
                # newer seq never lands first and makes the history look delivered.
                self._early.extend(messages)
                return False
            woken = False
            for message in messages:
                woken = self._push_locked(message) or woken
            return woken

    def _prime(self, history: Iterable[Message]) -> None:
        """Queue the history read at subscribe time, then what was published meanwhile."""
        with self._lock:
            early, self._early = self._early or [], None
            for message in history:
                self._push_locked(message)
            for message in early:  # the seq check drops what the history already had
                self._push_locked(message)

    def _push_locked(self, message: Message) -> bool:
        # Called with the lock held.
        if self.closed:
            return False
        seq = message.get("seq")
        if seq is not None and seq <= self.last_seq:
            return False  # already queued or delivered (history and live overlap)
        if self.lagged:
            return False  # the catch-up on the next drain will read it from the file
        if len(self.queue) >= self.maxsize:
            # Fall back to what was delivered; the rest is re-read from the file.
            self.queue.clear()
            self.lagged = True
            self.last_seq = self.delivered_seq
        else:
            self.queue.append(message)
            if seq is not None:
                self.last_seq = seq
        return self._wake()

    def _log_grew(self, size: int) -> bool:
        with self._lock:
            if self.closed or size <= self.log_end:
                return False
            self.log_end = size
            return self._wake()

    def _wake(self) -> bool:
        if self._signalled:
            return False
        self._signalled = True
        return True

    def _fire(self) -> None:
        try:
            self._notify()
        except Exception:
            self.close()

    # ---- consumer side ----------------------------------------------------------

    @property
    def pending(self) -> bool:
        """Whether a drain would return something."""
        with self._lock:
            return bool(self.queue) or self.lagged or self.log_offset < self.log_end

    @property
    def needs_io(self) -> bool:
        """Whether a drain would read a file (log bytes to send, or a lagged catch-up)."""
        with self._lock:
            return self.lagged or ("logs" in self.channels and self.log_offset < self.log_end)

    def drain(self, max_log_bytes: int = LOG_CHUNK_BYTES, *, io: bool = True) -> list[Message]:
        """Everything ready for this subscriber, oldest first, each event once.

        With ``io=False`` (an event loop that must not touch files) nothing is taken
        when the drain would need a file (see :attr:`needs_io`): it returns ``[]``
        and leaves everything for a full drain, which the caller then schedules.
        """
        with self._lock:
            if not io and (
                self.lagged or ("logs" in self.channels and self.log_offset < self.log_end)
            ):
                return []
            self._signalled = False
            lagged, self.lagged = self.lagged, False
            queued = list(self.queue)
            self.queue.clear()
            delivered = self.delivered_seq
        # Live events that arrive during a catch-up are queued too; the seq filter
        # drops whichever copy comes second.
        candidates = self.hub._catch_up(self, delivered) if lagged else queued
        with self._lock:
            messages = self._filter_delivered(candidates)
        if "logs" in self.channels and self.run_id is not None:
            chunk = self.hub._read_log(self, max_log_bytes)
            if chunk is not None:
                messages.append(chunk)
                if self.log_offset < self.log_end:
                    with self._lock:
                        self._signalled = True
                    self._fire()
        return messages

    def _filter_delivered(self, candidates: list[Message]) -> list[Message]:
        # Called with the lock held: drop events already delivered, note the rest.
        messages = []
        for message in candidates:
            seq = message.get("seq")
            if seq is not None:
                if seq <= self.delivered_seq:
                    continue
                self.delivered_seq = seq
            messages.append(message)
        self.last_seq = max(self.last_seq, self.delivered_seq)
        return messages

    def close(self) -> None:
        """Stop receiving; the hub forgets the subscription."""
        with self._lock:
            self.closed = True
            self.queue.clear()
        self.hub._remove(self)


class EventHub:
    """Where trackers publish and subscribers listen; thread-safe."""

    def __init__(self, paths: Callable[[str], Path | None], maxsize: int = 10_000) -> None:
        """``paths(run_id)`` gives a run's directory (None if the run is unknown)."""
        self._paths = paths
        self._maxsize = maxsize
        self._lock = threading.Lock()
        self._by_run: dict[str, set[Subscription]] = {}
        self._status: set[Subscription] = set()

    def subscribe(
        self,
        run_id: str,
        *,
        notify: Notify,
        channels: Iterable[str] = ("progress", "logs"),
        after: int = -1,
        log_offset: int = 0,
    ) -> Subscription:
        """Follow one run from ``after`` (a seq) and ``log_offset`` (bytes) on.

        History already in the files is queued at once, then live data follows, with
        nothing missing in between and nothing twice.
        """
        run_dir = self._paths(run_id)
        sub = Subscription(
            self, run_id, frozenset(channels), after, max(0, log_offset), self._maxsize, notify
        )
        with self._lock:
            self._by_run.setdefault(run_id, set()).add(sub)
        # Registered first, read second: an event published meanwhile is held back
        # until the history is queued, then the seq check drops its second copy.
        history: list[Message] = []
        if run_dir is not None:
            if "progress" in sub.channels:
                events = read_events(RunPaths(run_dir).progress, after)
                history = [self._progress_message(run_id, event) for event in events]
            if "logs" in sub.channels:
                sub._log_grew(file_size(RunPaths(run_dir).log))
        sub._prime(history)
        if sub.pending:
            sub._fire()
        return sub

    def subscribe_status(self, *, notify: Notify) -> Subscription:
        """Receive every run's status changes."""
        sub = Subscription(self, None, frozenset({"status"}), -1, 0, self._maxsize, notify)
        with self._lock:
            self._status.add(sub)
        return sub

    def publish_progress(self, run_id: str, events: Iterable[Event]) -> None:
        """Hand new progress events of a run to its subscribers."""
        subs = self._subscribers(run_id)
        if not subs:
            return
        # Each subscriber takes the whole batch at once: one lock and one wake-up a
        # subscriber, not one an event.
        messages = [self._progress_message(run_id, event) for event in events]
        for sub in subs:
            if "progress" in sub.channels and sub._push_all(messages):
                sub._fire()

    def publish_log(self, run_id: str, size: int) -> None:
        """Tell a run's log subscribers that its log has grown to ``size`` bytes."""
        for sub in self._subscribers(run_id):
            if "logs" in sub.channels and sub._log_grew(size):
                sub._fire()

    def publish_status(self, run: dict[str, Any]) -> None:
        """Tell every status subscriber (and the run's own subscribers) a run changed."""
        message = SharedMessage(type="status", run_id=run["id"], run=run)
        with self._lock:
            subs = list(self._status) + list(self._by_run.get(run["id"], ()))
        for sub in subs:
            if sub._push(message):
                sub._fire()

    def publish_run_progress(self, run_id: str, progress: dict[str, Any]) -> None:
        """Tell every status subscriber (and the run's own) a run's folded progress.

        Clients draw bars from this (percent, Erlang i of n, iteration, ETA) rather
        than folding the run's events themselves; the events remain for charts.
        """
        message = SharedMessage(type="run_progress", run_id=run_id, progress=progress)
        with self._lock:
            subs = list(self._status) + list(self._by_run.get(run_id, ()))
        for sub in subs:
            if sub._push(message):
                sub._fire()

    @property
    def subscriber_count(self) -> int:
        """How many subscriptions are open."""
        with self._lock:
            return len(self._status) + sum(len(s) for s in self._by_run.values())

    def _subscribers(self, run_id: str) -> list[Subscription]:
        with self._lock:
            return list(self._by_run.get(run_id, ()))

    @staticmethod
    def _progress_message(run_id: str, event: Event) -> Message:
        return SharedMessage(type="progress", run_id=run_id, seq=event["seq"], event=event)

    def _catch_up(self, sub: Subscription, last_seq: int) -> list[Message]:
        notice: Message = {"type": "lagged", "run_id": sub.run_id, "after": last_seq}
        if sub.run_id is None:
            return [notice]  # status: the client re-reads the run list
        run_dir = self._paths(sub.run_id)
        events = read_events(RunPaths(run_dir).progress, last_seq) if run_dir else []
        return [notice] + [self._progress_message(sub.run_id, e) for e in events]

    def _read_log(self, sub: Subscription, max_bytes: int) -> Message | None:
        assert sub.run_id is not None
        run_dir = self._paths(sub.run_id)
        if run_dir is None or sub.log_offset >= sub.log_end:
            return None
        try:
            with RunPaths(run_dir).log.open("rb") as fh:
                fh.seek(sub.log_offset)
                data = fh.read(min(max_bytes, sub.log_end - sub.log_offset))
        except FileNotFoundError:
            return None
        message = {
            "type": "log",
            "run_id": sub.run_id,
            "offset": sub.log_offset,
            # Incremental, so a character split between two reads is decoded whole.
            "data": sub.decoder.decode(data),
        }
        sub.log_offset += len(data)
        message["next_offset"] = sub.log_offset
        return message

    def _remove(self, sub: Subscription) -> None:
        with self._lock:
            if sub.run_id is None:
                self._status.discard(sub)
            else:
                subs = self._by_run.get(sub.run_id)
                if subs is not None:
                    subs.discard(sub)
                    if not subs:
                        del self._by_run[sub.run_id]
