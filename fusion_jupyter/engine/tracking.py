"""Per-run reading state for the runs a manager is watching."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from fusion_jupyter.engine.hub import EventHub
from fusion_jupyter.engine.progress import Event, ProgressReader, ProgressState, file_size
from fusion_jupyter.engine.runpaths import RunPaths


@dataclass
class RunTracker:
    """Follows one run's progress file and log and keeps its progress cache."""

    run_id: str
    run_dir: Path
    remote: bool = False  # written on another host: watched by polling
    #: Where the run's id goes when its progress changes (the manager's flush then
    #: looks at these trackers only, not at every active run's).
    changed: set[str] | None = None
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

    def ready(self) -> bool:
        """True (and restart the clock) if the interval has passed."""
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            return True
        return False
