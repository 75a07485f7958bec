"""Counting one iteration's outcomes, and summarising them the way FUSION reports them.

The hot loop only bumps counters keyed by the chosen :class:`PathOption` (every
lightpath on one option has the same hops and length), so per-request work stays a
few dict increments; hop, length and modulation summaries are derived from the
counts once the iteration ends. What FUSION lists per lightpath or request (GSNR,
utilization, realization ratios, per-request path weights) is kept as exact running
summaries, so an iteration's memory does not grow with its requests.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from fusion_jupyter.sim.controller import Allocation, Lightpath, PathOption
from fusion_jupyter.sim.link_usage import LinkUsage
from fusion_jupyter.sim.summary import RunningSummary, Summary, rounded_counts, running
from fusion_jupyter.sim.topology import Topology

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from fusion_jupyter.sim.grooming import Released

#: FUSION's block reasons; with snr_type None every block ends up as "distance".
BLOCK_REASONS = ("distance", "congestion", "xt_threshold")


def _realization_summary(
    ratios: RunningSummary, full: int, expected: float | None
) -> dict[str, Any]:
    """One bandwidth's served / requested ratios summarised as FUSION does.

    ``full`` is how many ratios were 1. ``expected`` is how many requests of that
    bandwidth there were (FUSION's share x num_requests, a float); without it FUSION
    writes no ``ratio_full_served``.
    """
    summary = ratios.summary()
    if not summary.count:
        return dict.fromkeys(("mean", "std", "min", "max"))
    out: dict[str, Any] = {
        **summary.rounded(),
        "min": summary.min,
        "max": summary.max,
        "num_full_served": full,
    }
    if expected is not None:
        out["ratio_full_served"] = full / expected if expected > 0 else 0
    return out


class IterationResult:
    """Everything one iteration measured, ready for the JSON and the results table.

    A plain class, not a dataclass, whose methods were compiled from generated source
    at every start (1 ms); one is built an iteration, and only read (its wall time is
    set once the iteration is over).
    """

    def __init__(
        self,
        *,
        iteration: int,
        num_requests: int,
        blocked: int,
        sliced: int,
        bit_rate_requested: int,
        bit_rate_blocked: int,
        bit_rate_blocked_corrected: int,
        hops: Summary,
        lengths: Summary,
        transponders_mean: float,
        mods_used: dict[str, Any],
        weights: dict[str, Any],
        cores: dict[int, int],
        path_index: list[int],
        block_bw: dict[str, int],
        link_usage: dict[str, dict[str, Any]],
        lp_utilization: dict[str, Any],
        snr: dict[str, float | None],
        demand_realization: dict[str, Any] | None,
    ) -> None:
        self.iteration = iteration
        self.num_requests = num_requests
        self.blocked = blocked
        self.sliced = sliced
        self.bit_rate_requested = bit_rate_requested
        self.bit_rate_blocked = bit_rate_blocked
        self.bit_rate_blocked_corrected = bit_rate_blocked_corrected
        self.hops = hops
        self.lengths = lengths
        self.transponders_mean = transponders_mean
        self.mods_used = mods_used
        self.weights = weights
        self.cores = cores
        self.path_index = path_index
        self.block_bw = block_bw
        self.link_usage = link_usage
        #: FUSION's ``lp_bw_utilization_dict``: per lightpath bandwidth, band and core.
        self.lp_utilization = lp_utilization
        #: FUSION's ``snr_mean/min/max`` (all None without the physical layer).
        self.snr = snr
        #: FUSION's ``demand_realization_ratio`` summaries; None unless ``can_partially_serve``.
        self.demand_realization = demand_realization
        self.wall_seconds = 0.0

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


#: Of a set of path options with how many times each was used: how many took each hop
#: count, and each length (km, unrounded).
RouteCounts = tuple[dict[float, int], dict[float, int]]


def route_counts(per_option: Mapping[PathOption, int], every_length: bool = False) -> RouteCounts:
    """Hop counts and lengths of ``per_option``'s routes, with how many took each.

    Lengths are counted only for routes weighed by length unless ``every_length``: a
    per-request weight (``cong_aware``, ``xt_aware``) is the path weight FUSION keeps,
    and that was summarised as it came. One plain loop: compiled, a generator of
    (value, count) pairs per figure cost about 1,200 instructions an option.
    """
    hops: dict[float, int] = {}
    lengths: dict[float, int] = {}
    for option, n in per_option.items():
        route = option.route
        hop = float(route.hops)
        hops[hop] = hops.get(hop, 0) + n
        if every_length or route.weight is None:
            length = route.length_km
            lengths[length] = lengths.get(length, 0) + n
    return hops, lengths


class IterationTally:
    """Counters the event loop bumps; :meth:`result` turns them into a result.

    A plain class rather than a dataclass: its 29 fields made a large dataclass to
    build at import (about 1.2 ms of every run's start), and nothing compares or
    prints a tally.
    """

    def __init__(
        self,
        bandwidths: list[int],
        k_paths: int,
        cores: int,
        *,
        bands: tuple[str, ...] = ("c",),
        physical: bool = False,
        xt: bool = False,
        measured_utilization: bool = False,
        partial_distribution: Mapping[str, float] | None = None,
        usage: LinkUsage | None = None,
    ) -> None:
        self.bandwidths = bandwidths
        self.k_paths = k_paths
        self.cores = cores
        #: FUSION's band list (``c``, then ``l`` with C+L).
        self.bands = bands
        self.blocked = 0
        self.sliced = 0
        self.bit_rate_requested = 0
        self.bit_rate_blocked = 0
        self.bit_rate_blocked_corrected = 0
        self.transponders = 0
        # The counters bumped per request are plain dicts bumped with get: compiled, a
        # plain dict's get and set are direct calls, while a defaultdict's item went
        # through the generic protocol (570 instructions a lookup, 5 % of a small run).
        self.routed_by_option: dict[PathOption, int] = {}
        #: (lightpath bandwidth, format name, band) -> option -> lightpaths placed. Kind
        #: first: the summaries group by kind and take values by option, so a kind is
        #: hashed once per lightpath placed and once per kind when the iteration ends
        #: (keyed by (option, kind) tuples it was hashed per item of every summary,
        #: 13 % of baseline_kspf_ff).
        self.lightpaths: dict[tuple[int, str, str], dict[PathOption, int]] = {}
        #: Per core: lightpaths placed.
        self.by_core = [0] * cores
        #: (lightpath bandwidth, band, core) -> lightpaths placed (all are released by the end).
        self.by_bw_core: dict[tuple[int, str, int], int] = {}
        self.blocked_by_bw: defaultdict[int, int] = defaultdict(int)
        #: FUSION's ``link_usage`` counters, fed by the spectrum's log of set-ups (by
        #: default a log of its own, which nothing feeds: departures alone are counted).
        self.usage = LinkUsage([]) if usage is None else usage
        #: Routing that weighs a path anew on every request (see :meth:`_unweighted`):
        #: its lightpaths' path weights, exact by (bandwidth, format, band) and rounded
        #: to 2 decimals by (bandwidth, format), and one option per (rank, links) to
        #: count under.
        self.path_weights: dict[tuple[int, str, str], RunningSummary] = {}
        self.rounded_weights: dict[tuple[int, str], RunningSummary] = {}
        self._options: dict[tuple[int, tuple[int, ...]], PathOption] = {}
        #: Physical layer only: GSNR (dB) of the lightpaths by (format, band), and of
        #: each routed request the mean over its lightpaths (FUSION's ``snr_list``).
        self.physical = physical
        self.snr_by_format: dict[tuple[str, str], RunningSummary] = {}
        self.snr_requests = RunningSummary()
        #: ``snr_type = xt_calculation``: the recorded values are each lightpath's
        #: crosstalk, which FUSION writes out one by one per format under ``xt_cost``
        #: (its ``snr`` summaries stay empty), so these are lists.
        self.xt = xt
        self.xt_by_format: defaultdict[str, dict[str, list[float]]] = defaultdict(dict)
        #: ``can_partially_serve`` only: the request distribution, and served /
        #: requested bandwidth of each routed request per bandwidth (FUSION's demand
        #: realization), with how many of those were 1.
        self.partial_distribution = partial_distribution
        self.realization: dict[int, RunningSummary] = {}
        self.fully_served: defaultdict[int, int] = defaultdict(int)
        #: Grooming: lightpaths are not all 100 % used, so FUSION's utilization records
        #: of torn-down lightpaths are summarised, per (capacity, band, core).
        self.measured_utilization = measured_utilization
        self.utilization: dict[tuple[int, str, int], RunningSummary] = {}

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
        if option.route.weight is not None:
            option = self._unweighted(option, allocation.lightpaths)
        self.bit_rate_requested += bandwidth
        if allocation.segment_failed:
            self.bit_rate_blocked += bandwidth
        self.sliced += allocation.sliced
        self.transponders += len(allocation.lightpaths)
        routed = self.routed_by_option
        routed[option] = routed.get(option, 0) + 1
        by_bw_core = self.by_bw_core
        for lightpath in allocation.lightpaths:
            kind = (lightpath.bandwidth, lightpath.fmt.name, lightpath.band)
            per_option = self.lightpaths.get(kind)
            if per_option is None:
                per_option = self.lightpaths[kind] = {}
            per_option[option] = per_option.get(option, 0) + 1
            self.by_core[lightpath.core] += 1
            placed = (lightpath.bandwidth, lightpath.band, lightpath.core)
            by_bw_core[placed] = by_bw_core.get(placed, 0) + 1
        if self.physical:
            self._physical_request(bandwidth, allocation)
        self.usage.counted()

    def _unweighted(
        self, option: PathOption, lightpaths: tuple[Lightpath, ...] | list[Lightpath]
    ) -> PathOption:
        """Record a per-request path weight now, and the option to count the path under.

        ``cong_aware`` and ``xt_aware`` routing weigh a path anew on every request (a
        score, a crosstalk cost): counters keyed by each request's option would keep an
        entry per request. Everything else the statistics need of a path depends only
        on its rank and links.
        """
        weight = option.route.path_weight
        rounded = round(float(weight), 2)  # a new value every request: not remembered
        for lightpath in lightpaths:
            bandwidth, name = lightpath.bandwidth, lightpath.fmt.name
            running(self.path_weights, (bandwidth, name, lightpath.band)).add(weight)
            running(self.rounded_weights, (bandwidth, name)).add(rounded)
        return self._canonical(option)

    def _canonical(self, option: PathOption) -> PathOption:
        """The one option counted for every per-request option of a (rank, links)."""
        return self._options.setdefault((option.index, option.route.links), option)

    def _physical_request(self, bandwidth: int, allocation: Allocation) -> None:
        """GSNR figures, and the bandwidth a partly served request left unserved."""
        snrs = [lp.snr_db for lp in allocation.lightpaths if lp.snr_db is not None]
        for lightpath, snr in zip(allocation.lightpaths, snrs, strict=True):
            if self.xt:
                self.xt_by_format[lightpath.fmt.name].setdefault(lightpath.band, []).append(snr)
            else:
                running(self.snr_by_format, (lightpath.fmt.name, lightpath.band)).add(snr)
        if len(snrs) == 1:
            # statistics.mean of one float is that float; it costs microseconds a request.
            self.snr_requests.add(snrs[0])
        elif snrs:
            # statistics.mean: exact, rounded once (without the statistics module).
            self.snr_requests.add(RunningSummary.of(snrs).mean())
        self.bit_rate_blocked += allocation.unserved
        self.bit_rate_blocked_corrected += allocation.unserved
        if self.partial_distribution is not None:
            ratio = (bandwidth - allocation.unserved) / bandwidth
            running(self.realization, bandwidth).add(ratio)
            self.fully_served[bandwidth] += ratio == 1

    def served_by_grooming(self, bandwidth: int, unserved: int) -> None:
        """Served on existing lightpaths only: FUSION counts its bit rate and nothing else."""
        self.bit_rate_requested += bandwidth
        self.bit_rate_blocked += unserved
        self.bit_rate_blocked_corrected += unserved

    def lightpath_released(self, record: Released) -> None:
        """A groomed lightpath was torn down with FUSION's utilization figure."""
        key = (record.capacity, record.band, record.core)
        running(self.utilization, key).add(record.utilization)

    def released(self, option: PathOption, carried: float) -> None:
        """A routed request left; ``carried`` is bandwidth x holding time (Gb/s x s)."""
        self.usage.released(option.route.links, carried)

    def result(
        self, iteration: int, num_requests: int, topology: Topology, mod_names: dict[int, list[str]]
    ) -> IterationResult:
        """Summaries in FUSION's shapes."""
        routed = num_requests - self.blocked
        per_kind = {kind: route_counts(per_option) for kind, per_option in self.lightpaths.items()}
        exact_weights, rounded_weights = self._counted_weights(per_kind)
        hops, lengths = route_counts(self.routed_by_option, every_length=True)
        return IterationResult(
            iteration=iteration,
            num_requests=num_requests,
            blocked=self.blocked,
            sliced=self.sliced,
            bit_rate_requested=self.bit_rate_requested,
            bit_rate_blocked=self.bit_rate_blocked,
            bit_rate_blocked_corrected=self.bit_rate_blocked_corrected,
            hops=RunningSummary.of_counts(hops).summary(),
            lengths=RunningSummary.of_counts(rounded_counts(lengths)).summary(),
            transponders_mean=self.transponders / float(routed) if routed else 0.0,
            mods_used=self._mods_used(mod_names, per_kind, exact_weights),
            weights=self._weights(mod_names, rounded_weights),
            cores=dict(enumerate(self.by_core)),
            path_index=self._routed_by_rank(),
            block_bw={str(bw): self.blocked_by_bw[bw] for bw in self.bandwidths},
            link_usage=self.usage.result(topology),
            lp_utilization=self._lp_utilization(),
            snr=self._snr_summary(),
            demand_realization=self._demand_realization(num_requests),
        )

    def _snr_summary(self) -> dict[str, float | None]:
        """FUSION's ``snr_mean/min/max``: over routed requests' mean lightpath GSNR."""
        return self.snr_requests.summary().rounded(with_std=False)

    def _demand_realization(self, num_requests: int) -> dict[str, Any] | None:
        """FUSION's ``demand_realization_ratio`` summaries (``can_partially_serve`` only)."""
        distribution = self.partial_distribution
        if distribution is None:
            return None
        every = RunningSummary.merged(self.realization.values())
        full = sum(self.fully_served.values())
        out = {"overall": _realization_summary(every, full, float(num_requests))}
        for bw in self.bandwidths:
            share = distribution.get(str(bw))
            out[str(bw)] = _realization_summary(
                self.realization.get(bw, RunningSummary()),
                self.fully_served[bw],
                None if share is None else share * num_requests,
            )
        return out

    def _lp_utilization(self) -> dict[str, Any]:
        """FUSION's ``lp_bw_utilization_dict``.

        Without grooming every lightpath carries exactly its own bandwidth for its
        whole life, so FUSION records 100.0 for each one released normally (rolled-back
        slicing segments are released without a record, as here they are never placed).
        """
        samples = self.utilization
        if not self.measured_utilization:
            samples = {}
            for key, n in self.by_bw_core.items():
                running(samples, key).add(100.0, n)
        empty = RunningSummary()
        out: dict[str, Any] = {
            str(bw): {
                band: {
                    core: samples.get((bw, band, core), empty).summary().rounded()
                    for core in range(self.cores)
                }
                for band in self.bands
            }
            for bw in self.bandwidths
        }
        out["overall"] = RunningSummary.merged(samples.values()).summary().rounded()
        return out

    def _routed_by_rank(self) -> list[int]:
        """Routed requests by the rank of their path among the k candidates."""
        ranks = [0] * self.k_paths
        for option, n in self.routed_by_option.items():
            if 0 <= option.index < self.k_paths:
                ranks[option.index] += n
        return ranks

    def _counted_weights(
        self, per_kind: Mapping[tuple[int, str, str], RouteCounts]
    ) -> tuple[dict[tuple[int, str, str], RunningSummary], dict[tuple[int, str], RunningSummary]]:
        """Path weights of every lightpath: exact, and rounded to 2 decimals (see fields).

        Each kind's sample is summarised on its own and merged into its (bandwidth,
        format) sample: the sums are exact, so merging gives the very same figures.
        Weights of per-request routes were summarised as they came (:meth:`_unweighted`),
        and :func:`route_counts` leaves them out.
        """
        exact: dict[tuple[int, str, str], RunningSummary] = {}
        rounded: dict[tuple[int, str], RunningSummary] = {}
        for kind, (_, lengths) in per_kind.items():
            if lengths:
                exact[kind] = RunningSummary.of_counts(lengths)
                by_round = RunningSummary.of_counts(rounded_counts(lengths))
                running(rounded, kind[:2]).merge(by_round)
        for key, found in self.path_weights.items():
            running(exact, key).merge(found)
        for rounded_key, found in self.rounded_weights.items():
            running(rounded, rounded_key).merge(found)
        return exact, rounded

    def _mods_used(
        self,
        mod_names: dict[int, list[str]],
        per_kind: Mapping[tuple[int, str, str], RouteCounts],
        weights: dict[tuple[int, str, str], RunningSummary],
    ) -> dict[str, Any]:
        """Lightpaths per bandwidth and format, then per format and band: count, length, hops."""
        out: dict[str, Any] = {str(bw): dict.fromkeys(names, 0) for bw, names in mod_names.items()}
        counts: defaultdict[tuple[str, str], int] = defaultdict(int)
        hops: dict[tuple[str, str], RunningSummary] = {}
        for (bw, name, band), (by_hops, _) in per_kind.items():
            placed = sum(by_hops.values())
            out[str(bw)][name] += placed
            counts[name, band] += placed
            running(hops, (name, band)).merge(RunningSummary.of_counts(by_hops))
        lengths: dict[tuple[str, str], RunningSummary] = {}
        for (_, name, band), found in weights.items():
            running(lengths, (name, band)).merge(found)
        for name in dict.fromkeys(n for names in mod_names.values() for n in names):
            per_format: dict[str, Any] = {band: counts[name, band] for band in self.bands}
            per_format["length"] = self._per_band(lengths, name)
            per_format["hop"] = self._per_band(hops, name)
            # FUSION leaves these as empty lists when snr_type is None.
            per_format["snr"] = self._format_snr(name)
            per_format["xt_cost"] = self._format_xt(name)
            out[name] = per_format
        return out

    def _per_band(self, summaries: dict[tuple[str, str], RunningSummary], name: str) -> Any:
        """One format's ``{overall, <band>...}`` summaries, rounded."""
        bands = [summaries.get((name, band), RunningSummary()) for band in self.bands]
        overall = RunningSummary.merged(bands).summary().rounded()
        # With one band its sample is the overall one.
        if len(self.bands) == 1:
            return {"overall": overall, self.bands[0]: dict(overall)}
        return {
            "overall": overall,
            **{band: s.summary().rounded() for band, s in zip(self.bands, bands, strict=True)},
        }

    def _format_xt(self, name: str) -> dict[str, Any]:
        """Crosstalk of every lightpath of one format (``xt_calculation``), else empty lists."""
        if not self.xt:
            return {"overall": [], **{band: [] for band in self.bands}}
        values = self.xt_by_format.get(name, {})
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
        bands = [self.snr_by_format.get((name, band), RunningSummary()) for band in self.bands]
        return {
            "overall": RunningSummary.merged(bands).summary().rounded(),
            **{band: s.summary().rounded() for band, s in zip(self.bands, bands, strict=True)},
        }

    def _weights(
        self, mod_names: dict[int, list[str]], rounded: dict[tuple[int, str], RunningSummary]
    ) -> dict[str, Any]:
        """Path length (km) per lightpath bandwidth and format (FUSION's ``weights_dict``)."""
        empty = RunningSummary()
        return {
            str(bw): {name: rounded.get((bw, name), empty).summary().exact() for name in names}
            for bw, names in mod_names.items()
        }
