"""Blocking statistics as FUSION computes them, and the columns of a results table.

FUSION's arithmetic is in fusion/core/metrics.py. Standard library only: the
built-in simulator imports this at start-up, and the engine's results tables use it
to fill what FUSION leaves null.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

RESULT_COLUMNS: tuple[str, ...] = (
    "erlang",
    "iterations",
    "blocking_mean",
    "blocking_variance",
    "ci_lower",
    "ci_upper",
    "ci_percent",
    "bit_rate_blocking_mean",
)
"""Columns every results table has, one row per Erlang load."""

#: z of the two-sided 90 % interval FUSION hard-codes.
FUSION_Z = 1.645


def fusion_variance(values: Sequence[float]) -> float:
    """FUSION's variance: the sample variance (n - 1), 0.0 after one value, NaN for none."""
    if not values:
        return math.nan
    # Imported here: the built-in simulator imports this module at start-up and
    # computes the same figure without ``statistics`` (``sim.stats``).
    import statistics

    return statistics.variance(values) if len(values) > 1 else 0.0


def fusion_ci_rate(variance: float, count: int) -> float:
    """Half-width of FUSION's 90 % confidence interval."""
    return FUSION_Z * (math.sqrt(variance) / math.sqrt(count))
