"""Progress events from a simulator's log lines, for simulators that write no progress file.

FUSION's own simulator logs its progress but writes no ``progress.jsonl``. The
launcher feeds each log line through a :class:`LogProgressTranslator`, which turns
the lines matched by ``progress_log_patterns`` into the same events the built-in
simulator writes, so everything downstream sees one format.

This module uses only the standard library: the launcher imports it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

#: The pattern names a translator understands, and the named groups each uses.
PATTERN_GROUPS: dict[str, tuple[str, ...]] = {
    "erlang_start": ("erlang",),  # optional groups: index (1-based), total
    "iteration": ("iteration",),  # 0-based iteration index; optional: erlang
    "blocking": ("value",),  # a running mean of blocking, attached to the next iteration
    "erlang_complete": ("erlang",),  # optional: seconds
    "output_dir": ("path",),  # where the simulator saved its results
}

#: FUSION's log lines (spec: fusion-contract.md §2). The ``CHILD=... done_units=``
#: line comes after every iteration, unlike "Iteration i out of n", so it is counted.
FUSION_LOG_PATTERNS: dict[str, str] = {
    "erlang_start": r"Starting simulation for (?P<erlang>[0-9.]+) Erlang"
    r" \(load (?P<index>\d+)/(?P<total>\d+)\)",
    "iteration": r"CHILD=\S+ iteration=(?P<iteration>\d+), done_units=\d+",
    "blocking": r"Mean of blocking: (?P<value>[0-9.eE+-]+)",
    "erlang_complete": r"Completed (?P<erlang>[0-9.]+) Erlang in (?P<seconds>[0-9.]+) seconds",
    "output_dir": r"Saving to: (?P<path>.+?)\s*$",
}


def now_iso() -> str:
    """An ISO-8601 UTC timestamp as the progress contract writes it."""
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def compile_patterns(patterns: Mapping[str, str]) -> dict[str, re.Pattern[str]]:
    """Compile and check patterns; a bad one raises ValueError naming it."""
    compiled = {}
    for name, source in patterns.items():
        if name not in PATTERN_GROUPS:
            known = ", ".join(PATTERN_GROUPS)
            raise ValueError(f"progress_log_patterns: unknown pattern {name!r} (known: {known})")
        try:
            regex = re.compile(source)
        except re.error as exc:
            raise ValueError(f"progress_log_patterns[{name!r}]: {exc}") from exc
        missing = [g for g in PATTERN_GROUPS[name] if g not in regex.groupindex]
        if missing:
            raise ValueError(
                f"progress_log_patterns[{name!r}] lacks the named group(s) {', '.join(missing)}"
            )
        compiled[name] = regex
    return compiled


class LogProgressTranslator:
    """Turns log lines into progress events, keeping the little state that needs."""

    def __init__(
        self,
        patterns: Mapping[str, str],
        start: Mapping[str, Any],
        root_cause: Sequence[str] = (),
    ) -> None:
        self.patterns = compile_patterns(patterns)
        # A failure's first telling line (FUSION: its first ERROR, or a missing option,
        # which it logs long before the KeyError it then dies of).
        self.root_cause_patterns = [re.compile(p) for p in root_cause]
        self.root_cause: str | None = None
        self.start = dict(start)
        self.total_erlangs = int(start.get("total_erlangs") or 0)
        self.total_iterations = int(start.get("total_iterations") or 0)
        self.erlang: float | None = None
        self.erlang_index = -1
        self.blocking: float | None = None
        self.output_dirs: list[str] = []

    def begin(self) -> dict[str, Any]:
        """The ``start`` event, written before the simulator prints anything."""
        return {"type": "start", "ts": now_iso(), "config": self.start}

    def feed(self, line: str) -> list[dict[str, Any]]:
        """Events that one log line gives (usually none)."""
        events: list[dict[str, Any]] = []
        if self.root_cause is None and any(r.search(line) for r in self.root_cause_patterns):
            self.root_cause = _message_of(line)
        for name, regex in self.patterns.items():
            match = regex.search(line)
            if match:
                event = getattr(self, f"_on_{name}")(match.groupdict())
                if event is not None:
                    events.append(event)
        return events

    def _on_erlang_start(self, g: dict[str, str | None]) -> dict[str, Any]:
        self.erlang = float(g["erlang"] or 0)
        index = g.get("index")
        self.erlang_index = int(index) - 1 if index else self.erlang_index + 1
        if g.get("total"):
            self.total_erlangs = int(g["total"] or 0)
        return {
            "type": "erlang_start",
            "ts": now_iso(),
            "erlang": self.erlang,
            "erlang_index": self.erlang_index,
            "total_erlangs": self.total_erlangs,
        }

    def _on_iteration(self, g: dict[str, str | None]) -> dict[str, Any]:
        if g.get("erlang"):
            self.erlang = float(g["erlang"] or 0)
        metrics: dict[str, float] = {}
        if self.blocking is not None:
            metrics["mean_blocking"] = self.blocking
            self.blocking = None
        return {
            "type": "iteration",
            "ts": now_iso(),
            "erlang": self.erlang,
            "iteration": int(g["iteration"] or 0) + 1,
            "total_iterations": self.total_iterations,
            "metrics": metrics,
        }

    def _on_blocking(self, g: dict[str, str | None]) -> None:
        self.blocking = float(g["value"] or 0)

    def _on_erlang_complete(self, g: dict[str, str | None]) -> dict[str, Any]:
        event: dict[str, Any] = {
            "type": "erlang_complete",
            "ts": now_iso(),
            "erlang": float(g["erlang"] or 0),
            "metrics": {},
        }
        if g.get("seconds"):
            event["metrics"]["seconds"] = float(g["seconds"] or 0)
        return event

    def _on_output_dir(self, g: dict[str, str | None]) -> None:
        path = g["path"] or ""
        if path and path not in self.output_dirs:
            self.output_dirs.append(path)

    def finish(self, exit_code: int, elapsed: float, log_tail: str) -> dict[str, Any]:
        """The closing event: ``complete`` on success, ``error`` with the traceback if not."""
        if exit_code == 0:
            return {
                "type": "complete",
                "ts": now_iso(),
                "exit_code": 0,
                "summary": {"total_time_seconds": round(elapsed, 3)},
            }
        lines = [ln for ln in log_tail.splitlines() if ln.strip()]
        start = next(
            (i for i in range(len(lines) - 1, -1, -1) if lines[i].startswith("Traceback")), None
        )
        last = lines[-1] if lines else f"exited with code {exit_code}"
        message = last
        if self.root_cause and self.root_cause not in last:
            message = f"{self.root_cause} (it then ended with: {last})"
        return {
            "type": "error",
            "ts": now_iso(),
            "message": message,
            "traceback": "\n".join(lines[start:]) if start is not None else "",
        }


#: ``2026-11-22 01:58:30,445 - fusion.cli - ERROR - `` before a logged message.
_LOG_PREFIX = re.compile(r"^\d{4}-\d\d-\d\d [\d:,.]+ - \S+ - [A-Z]+ - ")


def _message_of(line: str) -> str:
    """A log line without its time, logger and level prefix."""
    return _LOG_PREFIX.sub("", line.strip(), count=1)
