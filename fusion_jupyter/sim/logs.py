"""Log lines in FUSION's format and under FUSION's logger names, on stderr.

The same lines FUSION prints (fusion-contract.md §2), so the log-pattern progress
tracking written for the real FUSION works on this simulator's log too, and a user
reading ``logs/sim.log`` sees what they know. stdout stays empty, as with FUSION.

The lines are written here, not through the standard library's ``logging``: the
simulator's process starts for every run, and ``logging`` with what it imports
(``traceback``, ``threading``, ``weakref``, ``string``) took 9 ms of a small fixture's
start-up under ``-X importtime`` (sim README, "Speed and memory"). The command line
only ever wrote these few lines, in one format, to one stream, flushed after each,
which is what this does; a test compares them with ``logging``'s own.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from fusion_jupyter.sim.clock import stamp
from fusion_jupyter.sim.observer import ErlangPoint, Observer
from fusion_jupyter.sim.params import SimParams
from fusion_jupyter.sim.stats import mean_or_none
from fusion_jupyter.sim.tally import IterationResult

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import ClassVar, TextIO

    from _typeshed import StrPath

#: FUSION's format, as ``logging`` spells it: ``asctime - name - levelname - message``.
LOG_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"


class _Sink:
    """Where the lines go: nowhere until the command line names a stream (in-process
    runs, from notebooks or tests, log nothing unless asked, as with ``logging``)."""

    stream: ClassVar[TextIO | None] = None


def log_to(stream: TextIO | None) -> TextIO | None:
    """Send the log lines to ``stream`` (None: drop them); returns the stream before."""
    previous, _Sink.stream = _Sink.stream, stream
    return previous


class FusionLogger:
    """One of FUSION's loggers: its name and level on each line, in FUSION's format."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def info(self, message: str, *args: object) -> None:
        """Log ``message % args`` at INFO."""
        self._write("INFO", message, args)

    def warning(self, message: str, *args: object) -> None:
        """Log ``message % args`` at WARNING."""
        self._write("WARNING", message, args)

    def error(self, message: str, *args: object, exc_info: bool = False) -> None:
        """Log ``message % args`` at ERROR; with ``exc_info``, the exception being
        handled follows, as ``logging``'s ``exception`` writes it."""
        stream = _Sink.stream
        if stream is None:
            return
        tail = ""
        if exc_info:
            import traceback  # only a crash pays for it

            tail = "\n" + traceback.format_exc().rstrip("\n")
        self._write("ERROR", message, args, tail)

    def _write(self, level: str, message: str, args: tuple[object, ...], tail: str = "") -> None:
        stream = _Sink.stream
        if stream is None:
            return
        text = message % args if args else message
        # One write a line, flushed, as logging's StreamHandler: the engine tails it.
        now = stamp("%Y-%m-%d %H:%M:%S", time.time(), 3, ",")  # logging's asctime
        stream.write(f"{now} - {self.name} - {level} - {text}{tail}\n")
        stream.flush()


runner_log = FusionLogger("fusion.utils.logging_config")
simulation_log = FusionLogger("fusion.core.simulation")
request_log = FusionLogger("fusion.core.request")
metrics_log = FusionLogger("fusion.core.metrics")
persistence_log = FusionLogger("fusion.core.persistence")


class FusionLog(Observer):
    """Logs the simulation's progress as FUSION does (an :class:`Observer`)."""

    def __init__(self, output_dir: StrPath) -> None:
        self.output_dir = output_dir
        self.params = SimParams()
        self.done_units = 0

    def run_started(self, params: SimParams) -> None:
        self.params = params

    def erlang_started(self, point: ErlangPoint) -> None:
        total = len(self.params.erlangs)
        runner_log.info(
            "Starting simulation for %s Erlang (load %d/%d)", point.erlang, point.index + 1, total
        )
        simulation_log.info(
            "Simulation started for Erlang: %s simulation number: %s",
            point.erlang,
            self.params.thread_num,
        )

    def iteration_done(self, point: ErlangPoint, result: IterationResult) -> None:
        params = self.params
        iteration = result.iteration
        request_log.info("Generated %d requests", result.num_requests)
        last = iteration == params.max_iters - 1 or point.stopped_early
        if iteration % params.print_step == 0 or last:
            simulation_log.info(
                "Iteration %d out of %d completed for Erlang: %s",
                iteration + 1,
                params.max_iters,
                point.erlang,
            )
            simulation_log.info(
                "Mean of blocking: %s", round(mean_or_none(point.stats.blocking) or 0.0, 4)
            )
        if point.stopped_early and point.stats.block_ci.ci_percent is not None:
            metrics_log.info(
                "Confidence interval of %.2f%% reached. %d, ending for Erlang: %s",
                point.stats.block_ci.ci_percent,
                iteration + 1,
                point.erlang,
            )
        if params.saves_after(iteration):  # FUSION logs its saves
            persistence_log.info("Saving stats for iteration %d", iteration)
            persistence_log.info("Saving to: %s", os.path.realpath(self.output_dir))
        self.done_units += 1
        runner_log.info(
            "CHILD=%s iteration=%d, done_units=%d", params.thread_num, iteration, self.done_units
        )

    def erlang_done(self, point: ErlangPoint) -> None:
        runner_log.info(
            "Simulation finished for Erlang: %s finished for simulation number: %s.",
            point.erlang,
            self.params.thread_num,
        )
        runner_log.info("Completed %s Erlang in %.2f seconds", point.erlang, point.wall_seconds)

    def run_done(self, points: Sequence[ErlangPoint], seconds: float) -> None:
        runner_log.info(
            "Simulation complete: %d traffic loads in %.2f seconds", len(points), seconds
        )
