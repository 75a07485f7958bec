"""Reading ``progress.jsonl`` incrementally, and what the events say about progress.

Each complete line is one event; its ``seq`` is its position among the file's
non-blank lines, so numbering is the same for every reader and after any restart,
and a client can resume with "everything after seq N". A last line without its
newline is still being written and is left for the next read; a line that is not a
JSON object becomes a ``warning`` event rather than stopping the stream.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

Event = dict[str, Any]


def parse_line(line: bytes, seq: int) -> Event:
    """One complete progress line as an event carrying ``seq``."""
    try:
        event = json.loads(line)
    except ValueError as exc:
        event = None
        reason = f"not JSON ({getattr(exc, 'msg', exc)})"
    else:
        reason = "not a JSON object with a 'type'"
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        text = line.decode("utf-8", "replace")
        event = {
            "type": "warning",
            "message": f"malformed progress line {seq}: {reason}: {text[:200]!r}",
        }
    event["seq"] = seq
    return event


@dataclass
class ProgressReader:
    """Reads new events from one progress file, remembering where it stopped."""

    path: Path
    offset: int = 0
    next_seq: int = 0

    def read(self) -> list[Event]:
        """Events completed since the last call (possibly none)."""
        try:
            with self.path.open("rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n")
        if end < 0:
            return []
        events = []
        for line in data[: end + 1].splitlines():
            if line.strip():
                events.append(parse_line(line, self.next_seq))
                self.next_seq += 1
        self.offset += end + 1
        return events


def read_events(path: Path, after: int = -1, limit: int | None = None) -> list[Event]:
    """Events with ``seq > after`` from a whole file (for history and finished runs)."""
    events = [e for e in ProgressReader(path).read() if e["seq"] > after]
    return events if limit is None else events[:limit]


@dataclass
class ProgressState:
    """The progress cache a run record keeps, folded from its events."""

    erlang: float | None = None
    erlang_index: int | None = None
    erlang_count: int | None = None
    iteration: int | None = None
    iteration_count: int | None = None
    percent: float = 0.0
    seq: int = -1
    extra: dict[str, Any] = field(default_factory=dict)
    first_ts: datetime | None = None
    last_ts: datetime | None = None

    def apply(self, event: Event) -> None:
        """Fold one event into the state."""
        kind = event.get("type")
        self.seq = max(self.seq, int(event.get("seq", -1)))
        stamp = _timestamp(event.get("ts"))
        if stamp is not None:
            self.first_ts = self.first_ts or stamp
            self.last_ts = stamp
        if kind == "start":
            cfg = event.get("config") or {}
            self.erlang_count = _int(cfg.get("total_erlangs"), self.erlang_count)
            self.iteration_count = _int(cfg.get("total_iterations"), self.iteration_count)
        elif kind == "erlang_start":
            self.erlang = _float(event.get("erlang"), self.erlang)
            self.erlang_index = _int(event.get("erlang_index"), self.erlang_index)
            self.erlang_count = _int(event.get("total_erlangs"), self.erlang_count)
            self.iteration = 0
        elif kind == "iteration":
            self.erlang = _float(event.get("erlang"), self.erlang)
            self.iteration = _int(event.get("iteration"), self.iteration)
            self.iteration_count = _int(event.get("total_iterations"), self.iteration_count)
        elif kind == "erlang_complete" and self.iteration_count:
            self.iteration = self.iteration_count
        elif kind == "complete":
            self.percent = 100.0
            return
        self.percent = max(self.percent, self._percent())

    def _percent(self) -> float:
        if not self.erlang_count or not self.iteration_count or self.erlang_index is None:
            return self.percent
        done = self.erlang_index * self.iteration_count + (self.iteration or 0)
        return round(min(99.9, 100.0 * done / (self.erlang_count * self.iteration_count)), 2)

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left at the pace of the events so far (None before any pace is known)."""
        if self.first_ts is None or self.last_ts is None:
            return None
        return eta_seconds(self.percent, (self.last_ts - self.first_ts).total_seconds())

    def summary(self) -> dict[str, Any]:
        """The folded progress clients show, as the status channel sends it."""
        columns = self.columns()
        columns["seq"] = columns.pop("progress_seq")
        return {**columns, "eta_seconds": self.eta_seconds}

    def columns(self) -> dict[str, Any]:
        """The run columns this state fills."""
        return {
            "erlang": self.erlang,
            "erlang_index": self.erlang_index,
            "erlang_count": self.erlang_count,
            "iteration": self.iteration,
            "iteration_count": self.iteration_count,
            "percent": self.percent,
            "progress_seq": self.seq,
        }


def eta_seconds(percent: float, elapsed: float) -> float | None:
    """Seconds left for a run ``percent`` done after ``elapsed`` seconds (None if unknown)."""
    if not 0 < percent < 100 or elapsed <= 0:
        return None
    return round(elapsed * (100 - percent) / percent, 1)


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _int(value: Any, default: int | None) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _float(value: Any, default: float | None) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def file_size(path: Path) -> int:
    """A file's size, 0 if it does not exist yet."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
