"""Counting one iteration's outcomes, and summarising them the way FUSION reports them.

The hot loop only bumps counters keyed by the chosen :class:`PathOption` (every
lightpath on one option has the same hops and length), so per-request work stays a
few dict increments; hop, length and modulation summaries are derived from the
counts once the iteration ends.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from fusion_jupyter.sim.controller import Allocation, PathOption
from fusion_jupyter.sim.routing import Route
from fusion_jupyter.sim.topology import Topology

if TYPE_CHECKING:
    from fusion_jupyter.sim.grooming import Released

#: FUSION's block reasons; with snr_type None every block ends up as "distance".
BLOCK_REASONS = ("distance", "congestion", "xt_threshold")


class Placed(NamedTuple):
    """Lightpaths of one format placed with one bandwidth, band and route."""

    bandwidth: int
    band: str
    route: Route
    lightpaths: int


def _length(placed: Placed) -> float:
    return placed.route.path_weight


def _hops(placed: Placed) -> float:
    return placed.route.hops


@dataclass(frozen=True)
class Summary:
    """mean / std / min / max of a sample (None when empty), as FUSION computes them.

    FUSION keeps one list entry per lightpath or request and uses ``statistics.mean``
    and ``statistics.stdev`` (0.0 for a single value); those are exactly rounded and do
    not depend on the order, so expanding (value, count) pairs gives FUSION's floats.
    """

    count: int
    mean: float | None
    std: float | None
    min: float | None
    max: float | None

    @classmethod
    def of(cls, weighted: Iterable[tuple[float, int]], digits: int | None = None) -> Summary:
        """Summarise values given as (value, how many times it occurs).

        ``digits`` rounds each value first, as FUSION rounds path lengths to 2 decimals.
        """
        # Equal values merged first: many paths share a length or a hop count, and the
        # exact sums below cost per distinct value.
        counts: dict[float, int] = {}
        for value, weight in weighted:
            if weight > 0:
                key = value if digits is None else round(float(value), digits)
                counts[key] = counts.get(key, 0) + weight
        if not counts:
            return cls(0, None, None, None, None)
        if len(counts) == 1:
            # One distinct value: statistics.mean gives it back exactly, stdev 0.0.
            ((value, count),) = counts.items()
            return cls(count, value, 0.0, value, value)
        count, mean, std = _exact_mean_stdev(list(counts.items()))
        return cls(count, mean, std, min(counts), max(counts))

    def rounded(self, with_std: bool = True) -> dict[str, float | None]:
        """FUSION's ``{mean, std, min, max}`` rounded to 2 decimals."""
        out = {"mean": _round2(self.mean), "std": _round2(self.std)}
        if not with_std:
            del out["std"]
        return {**out, "min": _round2(self.min), "max": _round2(self.max)}

    def exact(self) -> dict[str, float | None]:
        """``{mean, std, min, max}`` unrounded (FUSION's ``weights_dict`` entries)."""
        return {"mean": self.mean, "std": self.std, "min": self.min, "max": self.max}


#: statistics' correctly rounded square root of a fraction (Python >= 3.11); without it
#: the values are expanded and handed to statistics.stdev itself.
_SQRT_OF_FRACTION = getattr(statistics, "_float_sqrt_of_frac", None)


def _exact_mean_stdev(pairs: list[tuple[float, int]]) -> tuple[int, float, float]:
    """statistics.mean and statistics.stdev of the expanded sample, without expanding it.

    Both are exact in rational arithmetic and correctly rounded once, so summing
    (value x count) exactly gives the very same floats. Every float is an integer over
    a power of two, so the sums are kept as integers over the largest such denominator:
    plain int arithmetic instead of Fraction objects (which dominated a small run).
    """
    count = sum(weight for _, weight in pairs)
    if _SQRT_OF_FRACTION is None:
        values = [value for value, weight in pairs for _ in range(weight)]
        std = statistics.stdev(values) if count > 1 else 0.0
        return count, statistics.mean(values), std
    ratios = [(float(value).as_integer_ratio(), weight) for value, weight in pairs]
    scale = max(denominator for (_, denominator), _ in ratios)
    scaled = [
        (numerator * (scale // denominator), weight) for (numerator, denominator), weight in ratios
    ]
    total = sum(value * weight for value, weight in scaled)
    mean = total / (scale * count)
    if count < 2:
        return count, mean, 0.0
    squares = sum(value * value * weight for value, weight in scaled)
    numerator = count * squares - total * total
    denominator = scale * scale * count * (count - 1)
    common = math.gcd(numerator, denominator)
    return count, mean, float(_SQRT_OF_FRACTION(numerator // common, denominator // common))


def _realization_summary(ratios: list[float], expected: float | None) -> dict[str, Any]:
    """One bandwidth's served / requested ratios summarised as FUSION does.

    ``expected`` is how many requests of that bandwidth there were (FUSION's share x
    num_requests, a float); without it FUSION writes no ``ratio_full_served``.
    """
    if not ratios:
        return dict.fromkeys(("mean", "std", "min", "max"))
    std = 0.0 if len(ratios) == 1 else statistics.stdev(ratios)
    full = sum(1 for ratio in ratios if ratio == 1)
    out: dict[str, Any] = {
        "mean": round(statistics.mean(ratios), 2),
        "std": round(std, 2),
        "min": min(ratios),
        "max": max(ratios),
        "num_full_served": full,
    }
    if expected is not None:
        out["ratio_full_served"] = full / expected if expected > 0 else 0
    return out


def _round2(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)


@dataclass
class IterationResult:
    """Everything one iteration measured, ready for the JSON and the results table."""

    iteration: int
    num_requests: int
    blocked: int
    sliced: int
    bit_rate_requested: int
    bit_rate_blocked: int
    bit_rate_blocked_corrected: int
    hops: Summary
    lengths: Summary
    transponders_mean: float
    mods_used: dict[str, Any]
    weights: dict[str, Any]
    cores: dict[int, int]
    path_index: list[int]
    block_bw: dict[str, int]
    link_usage: dict[str, dict[str, Any]]
    #: FUSION's ``lp_bw_utilization_dict``: per lightpath bandwidth, band and core.
    lp_utilization: dict[str, Any] = field(default_factory=dict)
    #: FUSION's ``snr_mean/min/max`` (all None without the physical layer).
    snr: dict[str, float | None] = field(default_factory=dict)
    #: FUSION's ``demand_realization_ratio`` summaries; None unless ``can_partially_serve``.
    demand_realization: dict[str, Any] | None = None
    wall_seconds: float = 0.0

    @property
    def lp_utilization_mean(self) -> float | None:
        """This iteration's ``sim_lp_utilization_list`` entry (None: no lightpath)."""
        overall = self.lp_utilization.get("overall") or {}
        mean = overall.get("mean")
        return None if mean is None else float(mean)

    @property
    def blocking(self) -> float:
        """Request blocking probability (FUSION's ``sim_block_list`` entry)."""
        return float(self.blocked) / float(self.num_requests) if self.num_requests else 0.0

    @property
    def bit_rate_blocking(self) -> float:
        """Bit-rate blocking as FUSION computes it, quirk included."""
        return _ratio(self.bit_rate_blocked, self.bit_rate_requested)

    @property
    def bit_rate_blocking_corrected(self) -> float:
        """Bit-rate blocking counting only the bandwidth of blocked requests."""
        return _ratio(self.bit_rate_blocked_corrected, self.bit_rate_requested)

    @property
    def block_reasons(self) -> dict[str, float | int]:
        """FUSION's normalised reasons: all blocks are reported as ``distance``."""
        if not self.blocked:
            return dict.fromkeys(BLOCK_REASONS, 0)
        return {"distance": 1.0, "congestion": 0.0, "xt_threshold": 0.0}


def _ratio(part: int, whole: int) -> float:
    return float(part) / float(whole) if whole > 0 else 0.0


@dataclass
class IterationTally:
    """Counters the event loop bumps; :meth:`result` turns them into a result."""

    bandwidths: list[int]
    k_paths: int
    cores: int
    #: FUSION's band list (``c``, then ``l`` with C+L).
    bands: tuple[str, ...] = ("c",)
    blocked: int = 0
    sliced: int = 0
    bit_rate_requested: int = 0
    bit_rate_blocked: int = 0
    bit_rate_blocked_corrected: int = 0
    transponders: int = 0
    # defaultdicts rather than Counters: their missing-key path is in C, not Python.
    routed_by_option: defaultdict[PathOption, int] = field(default_factory=lambda: defaultdict(int))
    #: (option, lightpath bandwidth, format name, band) -> lightpaths placed.
    lightpaths: defaultdict[tuple[PathOption, int, str, str], int] = field(
        default_factory=lambda: defaultdict(int)
    )
    by_core: defaultdict[int, int] = field(default_factory=lambda: defaultdict(int))
    #: (lightpath bandwidth, core) -> lightpaths placed (all are released by the end).
    by_bw_core: defaultdict[tuple[int, str, int], int] = field(
        default_factory=lambda: defaultdict(int)
    )
    blocked_by_bw: defaultdict[int, int] = field(default_factory=lambda: defaultdict(int))
    throughput_by_option: defaultdict[PathOption, float] = field(
        default_factory=lambda: defaultdict(float)
    )
    #: Physical layer only: GSNR (dB) of every lightpath by format, and each routed
    #: request's mean over its lightpaths (FUSION's ``snr_list``).
    physical: bool = False
    snr_by_format: defaultdict[str, dict[str, list[float]]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    snr_request_means: list[float] = field(default_factory=list)
    #: ``snr_type = xt_calculation``: the recorded values are each lightpath's crosstalk,
    #: which FUSION lists per format under ``xt_cost`` (its ``snr`` summaries stay empty).
    xt: bool = False
    #: ``can_partially_serve`` only: the request distribution, and served / requested
    #: bandwidth of each routed request per bandwidth (FUSION's demand realization).
    partial_distribution: Mapping[str, float] | None = None
    #: Grooming: lightpaths are not all 100 % used, so FUSION's utilization records of
    #: torn-down lightpaths are kept, per (capacity, band, core).
    measured_utilization: bool = False
    utilization: defaultdict[tuple[int, str, int], list[float]] = field(
        default_factory=lambda: defaultdict(list)
    )
    realization: defaultdict[int, list[float]] = field(default_factory=lambda: defaultdict(list))

    def blocked_request(self, bandwidth: int) -> None:
        """A request found no path: all its bandwidth is blocked."""
        self.blocked += 1
        self.bit_rate_requested += bandwidth
        self.bit_rate_blocked += bandwidth
        self.bit_rate_blocked_corrected += bandwidth
        self.blocked_by_bw[bandwidth] += 1

    def routed_request(self, bandwidth: int, allocation: Allocation) -> None:
        """A request was placed; count its path, lightpaths and FUSION's quirk."""
        option = allocation.option
        self.bit_rate_requested += bandwidth
        if allocation.segment_failed:
            self.bit_rate_blocked += bandwidth
        self.sliced += allocation.sliced
        self.transponders += len(allocation.lightpaths)
        self.routed_by_option[option] += 1
        for lightpath in allocation.lightpaths:
            self.lightpaths[option, lightpath.bandwidth, lightpath.fmt.name, lightpath.band] += 1
            self.by_core[lightpath.core] += 1
            self.by_bw_core[lightpath.bandwidth, lightpath.band, lightpath.core] += 1
        if self.physical:
            self._physical_request(bandwidth, allocation)

    def _physical_request(self, bandwidth: int, allocation: Allocation) -> None:
        """GSNR figures, and the bandwidth a partly served request left unserved."""
        snrs = [lp.snr_db for lp in allocation.lightpaths if lp.snr_db is not None]
        for lightpath, snr in zip(allocation.lightpaths, snrs, strict=True):
            self.snr_by_format[lightpath.fmt.name].setdefault(lightpath.band, []).append(snr)
        if snrs:
            self.snr_request_means.append(statistics.mean(snrs))
        self.bit_rate_blocked += allocation.unserved
        self.bit_rate_blocked_corrected += allocation.unserved
        if self.partial_distribution is not None:
            self.realization[bandwidth].append((bandwidth - allocation.unserved) / bandwidth)

    def served_by_grooming(self, bandwidth: int, unserved: int) -> None:
        """Served on existing lightpaths only: FUSION counts its bit rate and nothing else."""
        self.bit_rate_requested += bandwidth
        self.bit_rate_blocked += unserved
        self.bit_rate_blocked_corrected += unserved

    def lightpath_released(self, record: Released) -> None:
        """A groomed lightpath was torn down with FUSION's utilization figure."""
        self.utilization[record.capacity, record.band, record.core].append(record.utilization)

    def released(self, option: PathOption, carried: float) -> None:
        """A routed request left; ``carried`` is bandwidth x holding time (Gb/s x s)."""
        self.throughput_by_option[option] += carried

    def result(
        self, iteration: int, num_requests: int, topology: Topology, mod_names: dict[int, list[str]]
    ) -> IterationResult:
        """Summaries in FUSION's shapes."""
        routed = num_requests - self.blocked
        groups = self._by_format()
        return IterationResult(
            iteration=iteration,
            num_requests=num_requests,
            blocked=self.blocked,
            sliced=self.sliced,
            bit_rate_requested=self.bit_rate_requested,
            bit_rate_blocked=self.bit_rate_blocked,
            bit_rate_blocked_corrected=self.bit_rate_blocked_corrected,
            hops=Summary.of((float(o.route.hops), n) for o, n in self.routed_by_option.items()),
            lengths=Summary.of(
                ((o.route.length_km, n) for o, n in self.routed_by_option.items()), digits=2
            ),
            transponders_mean=self.transponders / float(routed) if routed else 0.0,
            mods_used=self._mods_used(mod_names, groups),
            weights=self._weights(mod_names, groups),
            cores={core: self.by_core[core] for core in range(self.cores)},
            path_index=[self._routed_on_index(i) for i in range(self.k_paths)],
            block_bw={str(bw): self.blocked_by_bw[bw] for bw in self.bandwidths},
            link_usage=self._link_usage(topology),
            lp_utilization=self._lp_utilization(),
            snr=self._snr_summary(),
            demand_realization=self._demand_realization(num_requests),
        )

    def _snr_summary(self) -> dict[str, float | None]:
        """FUSION's ``snr_mean/min/max``: over routed requests' mean lightpath GSNR."""
        means = self.snr_request_means
        if not means:
            return dict.fromkeys(("mean", "min", "max"))
        return {
            "mean": round(float(statistics.mean(means)), 2),
            "min": round(float(min(means)), 2),
            "max": round(float(max(means)), 2),
        }

    def _demand_realization(self, num_requests: int) -> dict[str, Any] | None:
        """FUSION's ``demand_realization_ratio`` summaries (``can_partially_serve`` only)."""
        distribution = self.partial_distribution
        if distribution is None:
            return None
        out = {
            "overall": _realization_summary(
                [r for bw in self.bandwidths for r in self.realization[bw]], float(num_requests)
            )
        }
        for bw in self.bandwidths:
            share = distribution.get(str(bw))
            out[str(bw)] = _realization_summary(
                self.realization[bw], None if share is None else share * num_requests
            )
        return out

    def _lp_utilization(self) -> dict[str, Any]:
        """FUSION's ``lp_bw_utilization_dict``.

        Without grooming every lightpath carries exactly its own bandwidth for its
        whole life, so FUSION records 100.0 for each one released normally (rolled-back
        slicing segments are released without a record, as here they are never placed).
        """
        if self.measured_utilization:
            samples = {key: [(u, 1) for u in values] for key, values in self.utilization.items()}
        else:
            samples = {key: [(100.0, n)] for key, n in self.by_bw_core.items()}
        out: dict[str, Any] = {
            str(bw): {
                band: {
                    core: Summary.of(samples.get((bw, band, core), [])).rounded()
                    for core in range(self.cores)
                }
                for band in self.bands
            }
            for bw in self.bandwidths
        }
        out["overall"] = Summary.of(pair for pairs in samples.values() for pair in pairs).rounded()
        return out

    def _routed_on_index(self, index: int) -> int:
        return sum(n for option, n in self.routed_by_option.items() if option.index == index)

    def _by_format(self) -> dict[str, list[Placed]]:
        """Lightpaths grouped by format name: (bandwidth, band, route, count)."""
        groups: dict[str, list[Placed]] = {}
        for (option, bw, name, band), n in self.lightpaths.items():
            groups.setdefault(name, []).append(Placed(bw, band, option.route, n))
        return groups

    def _mods_used(
        self, mod_names: dict[int, list[str]], groups: dict[str, list[Placed]]
    ) -> dict[str, Any]:
        """Lightpaths per bandwidth and format, then per format and band: count, length, hops."""
        out: dict[str, Any] = {str(bw): dict.fromkeys(names, 0) for bw, names in mod_names.items()}
        for name, placed in groups.items():
            for entry in placed:
                out[str(entry.bandwidth)][name] += entry.lightpaths
        for name in dict.fromkeys(n for names in mod_names.values() for n in names):
            placed = groups.get(name, [])
            per_format: dict[str, Any] = {
                band: sum(p.lightpaths for p in placed if p.band == band) for band in self.bands
            }
            for key, value in (("length", _length), ("hop", _hops)):
                overall = Summary.of((value(p), p.lightpaths) for p in placed).rounded()
                per_format[key] = {"overall": overall}
                for band in self.bands:
                    # With one band its sample is the overall one.
                    per_format[key][band] = (
                        dict(overall)
                        if len(self.bands) == 1
                        else Summary.of(
                            (value(p), p.lightpaths) for p in placed if p.band == band
                        ).rounded()
                    )
            # FUSION leaves these as empty lists when snr_type is None.
            per_format["snr"] = self._format_snr(name)
            per_format["xt_cost"] = self._format_xt(name)
            out[name] = per_format
        return out

    def _format_xt(self, name: str) -> dict[str, Any]:
        """Crosstalk of every lightpath of one format (``xt_calculation``), else empty lists."""
        if not self.xt:
            return {"overall": [], **{band: [] for band in self.bands}}
        values = self.snr_by_format.get(name, {})
        # One band only (support.py): the overall list is that band's, in arrival order.
        return {
            "overall": [xt for band in self.bands for xt in values.get(band, [])],
            **{band: list(values.get(band, [])) for band in self.bands},
        }

    def _format_snr(self, name: str) -> dict[str, Any]:
        """GSNR of one format's lightpaths (physical layer), else FUSION's empty lists."""
        if self.xt:
            empty = Summary.of([]).rounded()
            return {"overall": empty, **{band: dict(empty) for band in self.bands}}
        if not self.physical:
            return {"overall": [], **{band: [] for band in self.bands}}
        values = self.snr_by_format.get(name, {})
        every = [snr for band in self.bands for snr in values.get(band, [])]
        return {
            "overall": Summary.of((snr, 1) for snr in every).rounded(),
            **{
                band: Summary.of((snr, 1) for snr in values.get(band, [])).rounded()
                for band in self.bands
            },
        }

    @staticmethod
    def _weights(
        mod_names: dict[int, list[str]], groups: dict[str, list[Placed]]
    ) -> dict[str, Any]:
        """Path length (km) per lightpath bandwidth and format (FUSION's ``weights_dict``)."""
        return {
            str(bw): {
                name: Summary.of(
                    (
                        (p.route.path_weight, p.lightpaths)
                        for p in groups.get(name, [])
                        if p.bandwidth == bw
                    ),
                    digits=2,
                ).exact()
                for name in names
            }
            for bw, names in mod_names.items()
        }

    def _link_usage(self, topology: Topology) -> dict[str, dict[str, Any]]:
        """Per directed link: lightpaths set up over it and Gb/s x s carried."""
        usage = [0] * len(topology.links)
        carried = [0.0] * len(topology.links)
        for (option, _, _, _), n in self.lightpaths.items():
            for index in option.route.links:
                usage[index] += n
        for option, amount in self.throughput_by_option.items():
            for index in option.route.links:
                carried[index] += amount
        out: dict[str, dict[str, Any]] = {}
        for link in topology.links:
            entry = {
                "usage_count": usage[link.index],
                "throughput": carried[link.index],
                "link_num": link.link_num,
            }
            out[f"{link.u}-{link.v}"] = entry
            out[f"{link.v}-{link.u}"] = dict(entry)
        return out
