"""FUSION's mean / std / min / max of a sample, exact, in memory that does not grow with it.

FUSION keeps one list entry per lightpath or request and summarises the list with
``statistics.mean`` and ``statistics.stdev`` when the iteration ends. Both are exact in
rational arithmetic and rounded once, so the sample's count, exact sum and exact sum of
squares give the very same floats: a :class:`RunningSummary` keeps those (integers over a
power of two, as every float is) instead of the values, and its memory stays flat however
many requests an iteration has.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Hashable, Iterable, Mapping

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final, TypeVar

    _Key = TypeVar("_Key", bound=Hashable)

#: Scaled values below this (in magnitude) go to the machine-word sums; their 28-bit
#: halves' products stay below 2**56, and :data:`_PENDING` of them below 2**61.
_WORD_BOUND: Final = 2.0**56
_LOW_BITS: Final = (1 << 28) - 1
_PENDING: Final = 32
_SCALE_LIMIT: Final = 1000


class Summary:
    """mean / std / min / max of a sample (None when empty), as FUSION computes them.

    A value (equal to a summary of the same figures), written out rather than a frozen
    dataclass, whose methods were compiled from generated source at every start (1 ms).
    """

    __slots__ = ("count", "max", "mean", "min", "std")

    def __init__(
        self,
        count: int,
        mean: float | None,
        std: float | None,
        low: float | None,
        high: float | None,
    ) -> None:
        self.count: Final = count
        self.mean: Final = mean
        self.std: Final = std
        self.min: Final = low
        self.max: Final = high

    def _figures(self) -> tuple[int, float | None, float | None, float | None, float | None]:
        return self.count, self.mean, self.std, self.min, self.max

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Summary):
            return NotImplemented
        return self._figures() == other._figures()

    def __hash__(self) -> int:
        return hash(self._figures())

    def __repr__(self) -> str:
        return "Summary(count={}, mean={}, std={}, min={}, max={})".format(*self._figures())

    @classmethod
    def of(cls, weighted: Iterable[tuple[float, int]]) -> Summary:
        """Summarise values given as (value, how many times it occurs)."""
        return RunningSummary.of_counts(value_counts(weighted)).summary()

    def rounded(self, with_std: bool = True) -> dict[str, float | None]:
        """FUSION's ``{mean, std, min, max}`` rounded to 2 decimals."""
        out = {"mean": _round2(self.mean), "std": _round2(self.std)}
        if not with_std:
            del out["std"]
        return {**out, "min": _round2(self.min), "max": _round2(self.max)}

    def exact(self) -> dict[str, float | None]:
        """``{mean, std, min, max}`` unrounded (FUSION's ``weights_dict`` entries)."""
        return {"mean": self.mean, "std": self.std, "min": self.min, "max": self.max}


class RunningSummary:
    """Count, exact sum and sum of squares, min and max of the values added so far.

    The sums are integers over ``2 ** shift`` (the squares over ``2 ** (2 * shift)``),
    ``shift`` being the largest power of two any value's denominator needs: plain int
    arithmetic, where ``Fraction`` objects cost many times more.

    A value on the current scale (``value * 2 ** shift`` a whole number below 2**56, as
    nearly every GSNR or length is once the first one set the scale) is added in
    machine-word sums instead: its square as three partial products of its 28-bit
    halves, which stay below 2**62 for :data:`_PENDING` values and are then folded
    into the exact sums. Compiled, that is about a sixth of what ``as_integer_ratio``
    and big-int squares cost (0.67 us an add; a grooming fixture adds five times a
    request).
    """

    __slots__ = (
        "_high",
        "_low",
        "_middle",
        "_pending",
        "_scale",
        "_shift",
        "_squares",
        "_sum",
        "_total",
        "count",
        "max",
        "min",
    )

    def __init__(self) -> None:
        self.count = 0
        self.min: float | None = None
        self.max: float | None = None
        self._shift = 0
        self._scale = 1.0
        self._total = 0
        self._squares = 0
        # Values not folded yet: their scaled sum, and their squares' partial sums.
        self._pending = 0
        self._sum = 0
        self._high = 0
        self._middle = 0
        self._low = 0

    def add(self, value: float, count: int = 1) -> None:
        """Add ``value`` ``count`` times (nothing when ``count`` is not positive)."""
        if count == 1:
            scaled = value * self._scale  # exact: a power of two (NaN, inf: not below)
            if -_WORD_BOUND < scaled < _WORD_BOUND:
                whole = int(scaled)
                if float(whole) == scaled:
                    self._add_word(whole)
                    self._count_extremes(value, value, 1)
                    return
        if count <= 0:
            return
        numerator, denominator = value.as_integer_ratio()
        shift = denominator.bit_length() - 1
        if shift > self._shift:
            self._rescale(shift)
        scaled_exactly = numerator << (self._shift - shift)
        self._total += scaled_exactly * count
        self._squares += scaled_exactly * scaled_exactly * count
        self._count_extremes(value, value, count)

    def _add_word(self, whole: int) -> None:
        """Add a scaled value below 2**56 to the pending machine-word sums."""
        high = whole >> 28
        low = whole & _LOW_BITS
        self._sum += whole
        self._high += high * high
        self._middle += high * low
        self._low += low * low
        self._pending += 1
        if self._pending == _PENDING:
            self._fold()

    def _fold(self) -> None:
        """Move the pending sums into the exact ones (``(h*2**28 + l)**2`` by parts)."""
        if self._pending:
            self._total += self._sum
            self._squares += (self._high << 56) + (self._middle << 29) + self._low
            self._pending = self._sum = self._high = self._middle = self._low = 0

    def merge(self, other: RunningSummary) -> None:
        """Add every value ``other`` has seen (one sample made of both)."""
        if not other.count:
            return
        assert other.min is not None and other.max is not None
        self._fold()
        other._fold()
        if other._shift > self._shift:
            self._rescale(other._shift)
        grow = self._shift - other._shift
        self._total += other._total << grow
        self._squares += other._squares << (2 * grow)
        self._count_extremes(other.min, other.max, other.count)

    @classmethod
    def of(cls, values: Iterable[float]) -> RunningSummary:
        """The summary of ``values``, each counted once."""
        out = cls()
        for value in values:
            out.add(value)
        return out

    @classmethod
    def of_counts(cls, counts: Mapping[float, int]) -> RunningSummary:
        """The summary of each value of ``counts`` counted its number of times."""
        out = cls()
        for value, count in counts.items():
            out.add(value, count)
        return out

    @classmethod
    def merged(cls, parts: Iterable[RunningSummary]) -> RunningSummary:
        """One summary of every part's values."""
        out = cls()
        for part in parts:
            out.merge(part)
        return out

    def summary(self) -> Summary:
        """FUSION's figures: ``statistics.mean`` and ``statistics.stdev`` (0.0 for one value)."""
        count, low, high = self.count, self.min, self.max
        if not count:
            return Summary(0, None, None, None, None)
        if low == high:
            # One distinct value: statistics.mean gives it back exactly, stdev 0.0.
            return Summary(count, low, 0.0, low, high)
        numerator, denominator = self._variance_fraction()
        return Summary(count, self.mean(), sqrt_of_fraction(numerator, denominator), low, high)

    def mean(self) -> float:
        """``statistics.mean`` of the values: their exact mean, rounded once."""
        self._fold()
        return exact_quotient(self._total, (1 << self._shift) * self.count)

    def variance(self) -> float:
        """``statistics.variance`` of the values (n - 1): exact, rounded once."""
        numerator, denominator = self._variance_fraction()
        return exact_quotient(numerator, denominator)

    def _variance_fraction(self) -> tuple[int, int]:
        """The sample variance as an exact fraction (at least two values)."""
        self._fold()
        count, scale = self.count, 1 << self._shift
        numerator = count * self._squares - self._total * self._total
        return numerator, scale * scale * count * (count - 1)

    def _rescale(self, shift: int) -> None:
        self._fold()
        grow = shift - self._shift
        self._total <<= grow
        self._squares <<= 2 * grow
        self._shift = shift
        # Beyond 2**1000 no value stays below 2**56 scaled: the exact path takes all.
        self._scale = math.ldexp(1.0, shift) if shift < _SCALE_LIMIT else math.inf

    def _count_extremes(self, low: float, high: float, count: int) -> None:
        self.count += count
        if self.min is None or low < self.min:
            self.min = low
        if self.max is None or high > self.max:
            self.max = high


def value_counts(weighted: Iterable[tuple[float, int]]) -> dict[float, int]:
    """How many times each value occurs, given as (value, how many times) pairs.

    Equal values are merged before they are summed: many paths share a length or a
    hop count, and the exact sums cost per distinct value. Pairs counted zero times or
    fewer are left out.
    """
    counts: dict[float, int] = {}
    for value, weight in weighted:
        if weight > 0:
            counts[value] = counts.get(value, 0) + weight
    return counts


def rounded_counts(counts: Mapping[float, int]) -> dict[float, int]:
    """``counts`` with each value rounded to 2 decimals (:func:`round_2`), equal ones merged."""
    out: dict[float, int] = {}
    for value, count in counts.items():
        rounded = round_2(value)
        out[rounded] = out.get(rounded, 0) + count
    return out


def running(summaries: dict[_Key, RunningSummary], key: _Key) -> RunningSummary:
    """The summary under ``key``, a new empty one if there is none yet."""
    found = summaries.get(key)
    if found is None:
        found = summaries[key] = RunningSummary()
    return found


#: How many values :func:`round_2` remembers before it starts again.
ROUNDED_LIMIT = 1 << 16
_rounded: dict[float, float] = {}


def round_2(value: float) -> float:
    """``round(value, 2)``, remembered for the values met before.

    FUSION rounds every path's length (or weight) to 2 decimals for its statistics, and
    the same paths come back every iteration; Python's round is correctly rounded
    through a decimal conversion, a few microseconds each time (a fifth of a small
    fixture's per-iteration summaries). Zero is rounded each time: 0.0 and -0.0 are one
    key but round to different floats.
    """
    found = _rounded.get(value)
    if found is None or not value:
        if len(_rounded) >= ROUNDED_LIMIT:
            _rounded.clear()
        found = _rounded[value] = round(float(value), 2)
    return found


def exact_quotient(numerator: int, denominator: int) -> float:
    """``numerator / denominator`` rounded once, as Python divides ints.

    Through ``operator.truediv`` because compiled (mypyc) code divides two ints that fit
    in 62 bits by converting each to a double first, which rounds twice above 2**53 and
    moved some exact means in the last bit.
    """
    quotient: float = operator.truediv(numerator, denominator)
    return quotient


def sqrt_of_fraction(numerator: int, denominator: int) -> float:
    """The float nearest ``sqrt(numerator / denominator)``, as ``statistics.stdev`` rounds it.

    The integer square root is taken with at least 55 bits and rounded to odd (its last
    bit set when it is inexact), so turning it into a 53-bit float rounds only once.
    """
    if numerator == 0:
        return 0.0
    bits = numerator.bit_length() - denominator.bit_length()
    shift = max(0, 56 - bits // 2)
    scaled, remainder = divmod(numerator << (2 * shift), denominator)
    root = math.isqrt(scaled)
    if remainder or root * root != scaled:
        root |= 1
    return math.ldexp(float(root), -shift)


def _round2(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)
