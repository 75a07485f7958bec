"""Structured progress events in ``progress.jsonl``, the contract of DESIGN.md §3.

One JSON object per line: ``start``, ``erlang_start``, ``iteration``,
``erlang_complete``, ``complete`` (or ``error``), each with ``ts`` in ISO-8601 UTC.
Every line goes out in a single ``write`` on a file opened for appending, so a reader
tailing the file sees whole lines (a partial one only while that write is under way).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from fusion_jupyter.sim.clock import utc_timestamp
from fusion_jupyter.sim.observer import ErlangPoint, Observer
from fusion_jupyter.sim.params import SimParams
from fusion_jupyter.sim.stats import mean_or_none
from fusion_jupyter.sim.tally import IterationResult

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from _typeshed import StrPath


def parent_dir(path: StrPath) -> str:
    """The directory ``path`` is in (``.`` for a bare file name, as pathlib says)."""
    return os.path.dirname(path) or "."


def _number(value: float) -> float | int:
    """Whole numbers as ints (``300``, as the contract shows), others as floats."""
    return int(value) if float(value).is_integer() else float(value)


class ProgressFile:
    """Appends events to a progress file, one whole line per ``write``."""

    def __init__(self, path: StrPath) -> None:
        self.path = path

    def emit(self, event_type: str, **fields: Any) -> None:
        """Append one event; ``ts`` is added here."""
        line = json.dumps({"type": event_type, "ts": utc_timestamp(), **fields}) + "\n"
        data = line.encode("utf-8")
        os.makedirs(parent_dir(self.path), exist_ok=True)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            written = os.write(descriptor, data)
            while written < len(data):  # only on a full disk or a signal; finish the line
                written += os.write(descriptor, data[written:])
        finally:
            os.close(descriptor)

    def has_start(self) -> bool:
        """Whether the file already begins with a ``start`` event.

        fusion_jupyter's launcher writes it before starting this simulator, so a
        run's first event does not wait for the simulator's imports.
        """
        try:
            with open(self.path, "rb") as handle:
                first = handle.readline()
        except FileNotFoundError:
            return False
        try:
            return bool(json.loads(first).get("type") == "start")
        except (ValueError, AttributeError):
            return False

    def error(self, message: str, traceback: str) -> None:
        """The run failed."""
        self.emit("error", message=message, traceback=traceback)


class ProgressEvents(Observer):
    """Turns the simulation's hooks into progress events (an :class:`Observer`)."""

    def __init__(self, progress: ProgressFile) -> None:
        self.progress = progress
        self.total_iterations = 0
        self.total_erlangs = 0

    def run_started(self, params: SimParams) -> None:
        self.total_iterations = params.max_iters
        self.total_erlangs = len(params.erlangs)
        if self.progress.has_start():
            return
        self.progress.emit(
            "start",
            config={
                "total_erlangs": self.total_erlangs,
                "total_iterations": self.total_iterations,
                "erlang_start": _number(params.erlang_start),
                "erlang_stop": _number(params.erlang_stop),
                "erlang_step": _number(params.erlang_step),
            },
        )

    def erlang_started(self, point: ErlangPoint) -> None:
        self.progress.emit(
            "erlang_start",
            erlang=float(point.erlang),
            erlang_index=point.index,
            total_erlangs=self.total_erlangs,
        )

    def iteration_done(self, point: ErlangPoint, result: IterationResult) -> None:
        self.progress.emit(
            "iteration",
            erlang=float(point.erlang),
            iteration=result.iteration + 1,
            total_iterations=self.total_iterations,
            metrics={"blocking_prob": result.blocking, "mean_hops": result.hops.mean},
        )

    def erlang_done(self, point: ErlangPoint) -> None:
        ci = point.stats.block_ci
        self.progress.emit(
            "erlang_complete",
            erlang=float(point.erlang),
            metrics={
                # With is_training there is no CI, but the mean is still worth showing.
                "mean_blocking": mean_or_none(point.stats.blocking),
                "ci_lower": ci.lower,
                "ci_upper": ci.upper,
            },
        )

    def run_done(self, points: Sequence[ErlangPoint], seconds: float) -> None:
        self.progress.emit("complete", exit_code=0, summary={"total_time_seconds": seconds})
