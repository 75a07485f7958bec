"""Blocking statistics across iterations: FUSION's confidence interval and early stop.

FUSION (``fusion/core/metrics.py``, ``calculate_confidence_interval``), after each
iteration of an Erlang point and only when ``is_training`` is False:

* mean = mean of the per-iteration blocking values so far, variance = their sample
  variance (n-1); with a single value variance and CI are 0.0;
* ci_rate = 1.645 * sqrt(var) / sqrt(n), ci_percent = 200 * ci_rate / mean;
* if the request-blocking mean is 0 its CI is left as it was;
* the point ends early once n >= 2, mean > 0 and ci_percent <= 5.

The same arithmetic, in the same order, is used here so the values are FUSION's bit
for bit. FUSION's ``statistics.mean`` and ``statistics.variance`` are exact and rounded
once, as :class:`~fusion_jupyter.sim.summary.RunningSummary` computes them: the
``statistics`` module (with ``fractions`` and ``decimal``) was 1 % of a small run's
instructions at import. Bit-rate blocking gets the same treatment; its corrected variant
(no quirk, see :mod:`fusion_jupyter.sim.controller`) too.
"""

from __future__ import annotations

from fusion_jupyter.engine.blocking import fusion_ci_rate
from fusion_jupyter.sim.params import CI_STOP_PERCENT
from fusion_jupyter.sim.summary import RunningSummary


class Interval:
    """Mean, variance and confidence interval of one blocking measure (None = not computed).

    Plain classes here and in :class:`ErlangStats`: nothing compares or prints them, and
    a dataclass costs its exec'd methods at every run's start.
    """

    def __init__(self) -> None:
        self.mean: float | None = None
        self.variance: float | None = None
        self.ci_rate: float | None = None
        self.ci_percent: float | None = None

    @property
    def lower(self) -> float | None:
        """Lower end of the interval (mean - ci_rate)."""
        if self.mean is None or self.ci_rate is None:
            return None
        return self.mean - self.ci_rate

    @property
    def upper(self) -> float | None:
        """Upper end of the interval (mean + ci_rate)."""
        if self.mean is None or self.ci_rate is None:
            return None
        return self.mean + self.ci_rate


def update_interval(interval: Interval, values: list[float]) -> None:
    """Recompute ``interval`` from all values so far, the way FUSION does.

    A zero mean leaves the CI fields as they were (FUSION returns before touching
    them); everything else is overwritten.
    """
    sample = RunningSummary.of(values)
    interval.mean = sample.mean()
    if len(values) <= 1:
        interval.variance = 0.0
        interval.ci_rate = 0.0
        interval.ci_percent = 0.0
        return
    interval.variance = sample.variance()
    if interval.mean == 0.0:
        return
    ci_rate = fusion_ci_rate(interval.variance, len(values))
    interval.ci_rate = ci_rate
    interval.ci_percent = ((2 * ci_rate) / interval.mean) * 100


class ErlangStats:
    """Per-iteration blocking values of one Erlang point and their intervals."""

    def __init__(self, is_training: bool) -> None:
        self.is_training = is_training
        self.blocking: list[float] = []
        self.bit_rate: list[float] = []
        self.bit_rate_corrected: list[float] = []
        self.block_ci = Interval()
        self.bit_rate_ci = Interval()
        self.bit_rate_corrected_ci = Interval()

    def add(self, blocking: float, bit_rate: float, bit_rate_corrected: float) -> bool:
        """Record one iteration; True if FUSION would end this Erlang point now."""
        self.blocking.append(blocking)
        self.bit_rate.append(bit_rate)
        self.bit_rate_corrected.append(bit_rate_corrected)
        if self.is_training:
            return False
        update_interval(self.block_ci, self.blocking)
        update_interval(self.bit_rate_ci, self.bit_rate)
        update_interval(self.bit_rate_corrected_ci, self.bit_rate_corrected)
        return self.should_stop()

    def should_stop(self) -> bool:
        """FUSION's early stop: at least two iterations and a CI within 5 % of a non-zero mean."""
        ci = self.block_ci
        return (
            len(self.blocking) >= 2
            and ci.mean is not None
            and ci.mean > 0
            and ci.ci_percent is not None
            and ci.ci_percent <= CI_STOP_PERCENT
        )

    @property
    def iterations(self) -> int:
        """Iterations recorded so far."""
        return len(self.blocking)


def mean_or_none(values: list[float]) -> float | None:
    """The plain mean of the values, None when there are none."""
    return RunningSummary.of(values).mean() if values else None


def variance_or_zero(values: list[float]) -> float:
    """FUSION's variance, 0.0 (not NaN) when there are no values yet (or one)."""
    return RunningSummary.of(values).variance() if len(values) > 1 else 0.0
