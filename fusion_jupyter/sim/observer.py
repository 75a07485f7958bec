"""Hooks the simulation calls as it goes, so progress, logs and files stay out of the model.

The model core (:mod:`fusion_jupyter.sim.simulation`) does no I/O; the command line
hands it an :class:`Observers` of the progress-event writer, the FUSION-style log and
the output writer. Tests pass nothing, or a recorder.
"""

from __future__ import annotations

from collections.abc import Sequence

from fusion_jupyter.sim.stats import ErlangStats

TYPE_CHECKING = False
if TYPE_CHECKING:
    from fusion_jupyter.sim.params import SimParams
    from fusion_jupyter.sim.tally import IterationResult


class ErlangPoint:
    """One Erlang load as it is being (or has been) simulated.

    A plain class, as :class:`~fusion_jupyter.sim.simulation.SimContext` is.
    """

    def __init__(self, index: int, erlang: float, stats: ErlangStats) -> None:
        self.index = index
        self.erlang = erlang
        self.stats = stats
        self.iterations: list[IterationResult] = []
        self.wall_seconds = 0.0
        self.stopped_early = False

    @property
    def sliced_share(self) -> float:
        """Share of all requests of all iterations that were served by slicing."""
        total = sum(it.num_requests for it in self.iterations)
        return sum(it.sliced for it in self.iterations) / total if total else 0.0


class Observer:
    """Does nothing on every hook; subclasses override the ones they need."""

    def run_started(self, params: SimParams) -> None:
        """Before the first Erlang point."""

    def erlang_started(self, point: ErlangPoint) -> None:
        """Before the first iteration of a point."""

    def iteration_done(self, point: ErlangPoint, result: IterationResult) -> None:
        """After an iteration; ``point.stopped_early`` says if it was the CI's last."""

    def erlang_done(self, point: ErlangPoint) -> None:
        """After the last iteration of a point."""

    def run_done(self, points: Sequence[ErlangPoint], seconds: float) -> None:
        """After the last point."""


class Observers(Observer):
    """Calls several observers in order."""

    def __init__(self, *observers: Observer) -> None:
        self.observers = observers

    def run_started(self, params: SimParams) -> None:
        for observer in self.observers:
            observer.run_started(params)

    def erlang_started(self, point: ErlangPoint) -> None:
        for observer in self.observers:
            observer.erlang_started(point)

    def iteration_done(self, point: ErlangPoint, result: IterationResult) -> None:
        for observer in self.observers:
            observer.iteration_done(point, result)

    def erlang_done(self, point: ErlangPoint) -> None:
        for observer in self.observers:
            observer.erlang_done(point)

    def run_done(self, points: Sequence[ErlangPoint], seconds: float) -> None:
        for observer in self.observers:
            observer.run_done(points, seconds)
