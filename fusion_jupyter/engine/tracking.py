"""Per-run reading state for the runs a manager is watching."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fusion_jupyter.engine.hub import EventHub
from fusion_jupyter.engine.progress import Event, ProgressReader, ProgressState, file_size
from fusion_jupyter.engine.runpaths import RunPaths


class ChangedRuns:
    """The runs whose progress changed since the last flush.

    The first change after a flush calls ``wake``, so the flusher sleeps while no
    run's progress moves instead of waking on a timer.
    """

    def __init__(self, wake: Callable[[], None]) -> None:
        self._ids: set[str] = set()
        self._lock = threading.Lock()
        self._wake = wake

    def add(self, run_id: str) -> None:
        """Note a change of ``run_id``'s progress (from any thread)."""
        with self._lock:
            first = not self._ids
            self._ids.add(run_id)
        if first:
            self._wake()

    def take(self) -> set[str]:
        """The runs noted since the last call."""
        with self._lock:
            ids, self._ids = self._ids, set()
        return ids

    def __bool__(self) -> bool:
        return bool(self._ids)


@dataclass
class RunTracker:
    """Follows one run's progress file and log and keeps its progress cache."""

    run_id: str
    run_dir: Path
    remote: bool = False  # written on another host: watched by polling
    #: Where the run's id goes when its progress changes (the manager's flush then
    #: looks at these trackers only, not at every active run's).
    changed: ChangedRuns | None = None
    reader: ProgressReader = field(init=False)
    log_path: Path = field(init=False)
    state: ProgressState = field(default_factory=ProgressState)
    log_size: int = 0
    dirty: bool = False
    last_error: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        paths = RunPaths(self.run_dir)
        self.reader = ProgressReader(paths.progress)
        self.log_path = paths.log

    def poll(self, hub: EventHub) -> None:
        """Read what is new in the run's files and publish it."""
        with self.lock:
            events = self.reader.read()
            if events:
                self._fold(events)
                hub.publish_progress(self.run_id, events)
            size = file_size(self.log_path)
            if size > self.log_size:
                self.log_size = size
                hub.publish_log(self.run_id, size)

    def _fold(self, events: list[Event]) -> None:
        for event in events:
            self.state.apply(event)
            if event["type"] == "error":
                self.last_error = str(event.get("message") or "")
        self.dirty = True
        if self.changed is not None:
            self.changed.add(self.run_id)

    def cache(self) -> dict[str, object]:
        """The whole progress cache as run columns."""
        with self.lock:
            self.dirty = False
            return self.state.columns()

    def take_dirty(self) -> tuple[dict[str, object], dict[str, object]] | None:
        """The cache columns and the folded progress, if they changed since the last call."""
        with self.lock:
            if not self.dirty:
                return None
            self.dirty = False
            return self.state.columns(), self.state.summary()


@dataclass
class Throttle:
    """Lets something happen at most once per ``interval`` seconds."""

    interval: float
    last: float = 0.0

    def remaining(self) -> float:
        """Seconds until :meth:`ready` is next true (0 if it is now)."""
        return max(0.0, self.last + self.interval - time.monotonic())

    def defer(self, seconds: float) -> None:
        """Keep :meth:`ready` false for at least ``seconds`` more."""
        self.last = max(self.last, time.monotonic() + seconds - self.interval)

    def ready(self) -> bool:
        """True (and restart the clock) if the interval has passed."""
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            return True
        return False
