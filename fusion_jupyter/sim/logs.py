"""Log lines in FUSION's format and under FUSION's logger names, on stderr.

The same lines FUSION prints (fusion-contract.md §2), so the log-pattern progress
tracking written for the real FUSION works on this simulator's log too, and a user
reading ``logs/sim.log`` sees what they know. stdout stays empty, as with FUSION.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from fusion_jupyter.sim.observer import ErlangPoint, Observer
from fusion_jupyter.sim.params import SimParams
from fusion_jupyter.sim.stats import mean_or_none
from fusion_jupyter.sim.tally import IterationResult

LOG_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
#: The parent of every logger below; the command line attaches its handler here.
ROOT = "fusion"

runner_log = logging.getLogger("fusion.utils.logging_config")
simulation_log = logging.getLogger("fusion.core.simulation")
request_log = logging.getLogger("fusion.core.request")
metrics_log = logging.getLogger("fusion.core.metrics")
persistence_log = logging.getLogger("fusion.core.persistence")


def configure_logging(stream: TextIO | None = None, level: int = logging.INFO) -> logging.Handler:
    """Send the ``fusion.*`` loggers to ``stream`` (stderr) in FUSION's format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger(ROOT)
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
    return handler


class FusionLog(Observer):
    """Logs the simulation's progress as FUSION does (an :class:`Observer`)."""

    def __init__(self, output_dir: Path) -> None:
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
            persistence_log.info("Saving to: %s", self.output_dir.resolve())
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
