"""FUSION's traffic grooming on the fixed grid, with its GSNR and dynamic slicing.

The model of FUSION's legacy controller with ``is_grooming_enabled``, ``fixed_grid``,
``snr_type = gsnr`` and ``dynamic_lps`` (``fusion/core/grooming.py``,
``fusion/core/sdn_controller.py``, ``fusion/modules/spectrum/light_path_slicing.py``).
On the fixed grid every lightpath is one slot, and its capacity comes from the format
its GSNR allows (FUSION's ``bw_mapping``: 64-QAM 800 Gb/s ... BPSK 200 Gb/s).

An arriving request first takes spare capacity on lightpaths already set up between
its two end nodes: among the paths those lightpaths use, the one with the most spare
capacity, its lightpaths in the order they were set up. Whatever is left:

1. Not groomed at all: unsliced, path by path, one lightpath of the request's
   bandwidth with the first format (most efficient first, reach permitting) whose
   GSNR threshold is met and whose capacity covers the request; then dynamic slicing
   path by path: one-slot lightpaths with the most efficient format the GSNR allows,
   each carrying what is left up to its capacity (the rest of its capacity is free
   for later grooming). Partial service on FUSION's last path index, as without
   grooming. A request nothing serves is blocked.
2. Partly groomed: the same on the groomed lightpaths' path only, every format
   considered; the request is then served, partly if need be.

A lightpath is torn down when its last request leaves; FUSION then records its
time-weighted utilization (``average_bandwidth_usage``, rounded to 2 decimals).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fusion_jupyter.sim.controller import Allocation, Lightpath, PathOption
from fusion_jupyter.sim.gsnr import REQUIRED_SNR_DB, meets
from fusion_jupyter.sim.modulation import ModFormat
from fusion_jupyter.sim.physical import Fit, PhysicalController
from fusion_jupyter.sim.routing import Route

#: FUSION's capacity of a fixed-grid lightpath per format, Gb/s (``check_gsnr``).
CAPACITY = {"64-QAM": 800, "32-QAM": 700, "16-QAM": 600, "8-QAM": 500, "QPSK": 400, "BPSK": 200}


class GroomedLightpath:
    """A lightpath and the requests it carries (FUSION's ``lightpath_status_dict`` entry).

    A plain class, as the records of :mod:`~fusion_jupyter.sim.controller` are: one is
    made for every lightpath a grooming run sets up, and a dataclass's ``__init__`` stays
    interpreted Python in the compiled build (and costs its ``exec`` at import).
    Compared by identity.
    """

    __slots__ = (
        "band",
        "block",
        "capacity",
        "core",
        "fit",
        "fmt",
        "remaining",
        "requests",
        "route",
        "snr_db",
        "usage",
    )

    def __init__(
        self,
        route: Route,
        fit: Fit,
        fmt: ModFormat,
        snr_db: float,
        capacity: float,
        remaining: float,
        requests: dict[int, float],
        usage: dict[float, float],
        core: int,
        band: str,
        block: int,
    ) -> None:
        self.route = route
        self.fit = fit
        self.fmt = fmt
        self.snr_db = snr_db
        #: FUSION's ``lightpath_bandwidth`` (float) and ``remaining_bandwidth``.
        self.capacity = capacity
        self.remaining = remaining
        #: Request -> bandwidth it has on this lightpath.
        self.requests = requests
        #: Time -> percent of the capacity in use from then on (FUSION's ``time_bw_usage``).
        self.usage = usage
        #: The core and band, and the spectrum bits it holds.
        self.core = core
        self.band = band
        self.block = block


class Released:
    """A torn-down lightpath's utilization record (FUSION's ``lp_bw_utilization_dict``).

    A plain class, as the records of :mod:`~fusion_jupyter.sim.controller` are.
    """

    __slots__ = ("band", "capacity", "core", "utilization")

    def __init__(self, capacity: int, band: str, core: int, utilization: float) -> None:
        self.capacity = capacity
        self.band = band
        self.core = core
        self.utilization = utilization


class GroomedRequest:
    """What an arrival got, and what FUSION's statistics read from it (one a request;
    a plain class, as :class:`GroomedLightpath` is)."""

    __slots__ = ("groomed", "new", "option", "pair", "unserved")

    def __init__(
        self,
        pair: tuple[str, str],
        option: PathOption,
        groomed: list[GroomedLightpath],
        new: list[GroomedLightpath],
        unserved: float | None,
    ) -> None:
        #: The request's end nodes, sorted (FUSION's key of its lightpaths).
        self.pair = pair
        self.option = option
        self.groomed = groomed
        self.new = new
        #: FUSION's final ``remaining_bw``: None when untouched (served unsliced, not groomed).
        self.unserved = unserved

    @property
    def fully_groomed(self) -> bool:
        """Carried by existing lightpaths alone."""
        return not self.new and self.unserved == 0

    @property
    def counted(self) -> bool:
        """Whether FUSION's per-request statistics (hops, formats, ...) count it."""
        return bool(self.new)

    def allocation(self) -> Allocation:
        """The new lightpaths as the statistics take them."""
        lightpaths = tuple(
            Lightpath(lp.core, lp.block, int(lp.capacity), lp.fmt, lp.snr_db, lp.band)
            for lp in self.new
        )
        unserved = int(self.unserved or 0)
        return Allocation(self.option, lightpaths, len(self.new) > 1, False, unserved)


def average_usage(usage: dict[float, float], departure: float) -> float:
    """FUSION's ``average_bandwidth_usage``: time-weighted mean percent, 2 decimals."""
    if not usage:
        return 0.0
    times = sorted(usage)
    total_bw_time = 0.0
    total_time = 0.0
    for i, start in enumerate(times):
        end = times[i + 1] if i < len(times) - 1 else departure
        duration = end - start
        total_bw_time += usage[start] * duration
        total_time += duration
    if total_time == 0:
        return 0.0
    return round(total_bw_time / total_time, 2)


def lowest_threshold(formats: Sequence[ModFormat]) -> float | None:
    """The lowest GSNR threshold (dB) of ``formats``, which a lightpath meeting any meets.

    A loop, not ``min`` of a generator with a default: compiled, that was a generic call
    and a generator, 9 k instructions a candidate path (2 % of a C+L grooming run)."""
    lowest: float | None = None
    for fmt in formats:
        needed = REQUIRED_SNR_DB[fmt.name]
        if lowest is None or needed < lowest:
            lowest = needed
    return lowest


class GroomingController(PhysicalController):
    """Grooming, fixed-grid lightpaths and their GSNR (see the module docstring)."""

    #: A fixed-grid lightpath's capacity per format, Gb/s.
    capacity: Mapping[str, int] = CAPACITY

    def clear(self) -> None:
        """Empty the network, as at the start of an iteration."""
        super().clear()
        #: Per end-node pair (sorted), its lightpaths in the order they were set up.
        self._by_pair: dict[tuple[str, str], dict[int, GroomedLightpath]] = {}
        self._next_id = 0
        self._groomed: dict[Route, PathOption] = {}

    def _groomed_option(self, route: Route) -> PathOption:
        """The option a request groomed onto ``route`` is counted under (path index 0).

        One per route, kept: the statistics count by option, and a new option per
        request would keep an entry per request for the rest of the iteration. Routes
        weighed anew per request are counted by rank and links in the statistics.
        """
        if route.weight is not None:
            return PathOption(0, route, None, ())
        found = self._groomed.get(route)
        if found is None:
            found = self._groomed[route] = PathOption(0, route, None, ())
        return found

    def arrive(
        self, request: int, src: str, dst: str, bandwidth: int, now: float
    ) -> GroomedRequest | None:
        """Serve an arrival as FUSION would; None if it is blocked."""
        pair = (src, dst) if src <= dst else (dst, src)
        groomed, left = self._groom(pair, request, bandwidth, now)
        if groomed and left == 0:
            return GroomedRequest(pair, self._groomed_option(groomed[-1].route), groomed, [], 0)
        if groomed:
            option = self._groomed_option(groomed[-1].route)
            formats = self.mod_table[bandwidth]
            lightpath = self._unsliced_fixed(option, pair, request, bandwidth, formats, left, now)
            if lightpath is not None:
                return GroomedRequest(pair, option, groomed, [lightpath], 0)
            if self.max_segments <= 1:
                return GroomedRequest(pair, option, groomed, [], left)
            new, unserved = self._sliced_fixed(option, pair, request, bandwidth, left, now, True)
            return GroomedRequest(pair, option, groomed, new or [], unserved)
        for option in self.options(src, dst):
            formats = tuple(
                fmt
                for fmt in self.mod_table[bandwidth]
                if fmt.max_length_km >= option.route.length_km
            )
            lightpath = self._unsliced_fixed(
                option, pair, request, bandwidth, formats, bandwidth, now
            )
            if lightpath is not None:
                return GroomedRequest(pair, option, [], [lightpath], None)
        if self.max_segments > 1:
            for option in self.options(src, dst):
                new, unserved = self._sliced_fixed(
                    option, pair, request, bandwidth, bandwidth, now, False
                )
                if new is not None:
                    return GroomedRequest(pair, option, [], new, unserved)
        return None

    def depart(self, request: int, served: GroomedRequest, now: float) -> list[Released]:
        """A request leaves: free its share, tear down lightpaths left empty."""
        empty = []
        for lightpath in [*served.groomed, *served.new]:
            lightpath.remaining += lightpath.requests.pop(request)
            if lightpath.remaining == float(lightpath.capacity):
                empty.append(lightpath)
            else:
                in_use = 1 - (lightpath.remaining / float(lightpath.capacity))
                lightpath.usage[now] = in_use * 100
        released = []
        for lightpath in empty:
            self._tear_down(served.pair, lightpath)
            utilization = average_usage(lightpath.usage, now)
            released.append(
                Released(int(lightpath.capacity), lightpath.band, lightpath.core, utilization)
            )
        return released

    def _groom(
        self, pair: tuple[str, str], request: int, bandwidth: int, now: float
    ) -> tuple[list[GroomedLightpath], float]:
        """FUSION's end-to-end grooming: the lightpaths used and the bandwidth left."""
        on_pair = self._by_pair.get(pair)
        if not on_pair:
            return [], bandwidth
        groups: dict[tuple[str, ...], list[GroomedLightpath]] = {}
        spare: dict[tuple[str, ...], float] = {}
        for lightpath in on_pair.values():
            if lightpath.remaining > 0:
                nodes = lightpath.route.nodes
                key = min(nodes, nodes[::-1])
                groups.setdefault(key, []).append(lightpath)
                spare[key] = spare.get(key, 0) + lightpath.remaining
        if not groups:
            return [], bandwidth
        best = max(groups, key=spare.__getitem__)
        if spare[best] == 0:
            return [], bandwidth
        # An int until a lightpath takes some, as in FUSION. Not `float`: the compiled
        # build (hatch_build.py) would make that a C double, and 0 would become 0.0.
        left: int | float = bandwidth
        used = []
        for lightpath in groups[best]:
            if lightpath.remaining > left:
                taken, left = left, 0
            else:
                taken = lightpath.remaining
                left -= lightpath.remaining
            lightpath.requests[request] = taken
            lightpath.remaining -= taken
            in_use = 1 - (lightpath.remaining / lightpath.capacity)
            lightpath.usage[now] = in_use * 100
            used.append(lightpath)
            if left == 0:
                break
        return used, left

    def _unsliced_fixed(
        self,
        option: PathOption,
        pair: tuple[str, str],
        request: int,
        bandwidth: int,
        formats: tuple[ModFormat, ...],
        dedicated: float,
        now: float,
    ) -> GroomedLightpath | None:
        """One slot carrying the request: the first format meeting its SNR and capacity."""
        fit = self._fit(option.route, 1)
        if fit is None:
            return None
        snr = None
        for fmt in formats:
            if snr is None:
                snr = self._gsnr(option.route, fit, lowest_threshold(formats))
            if meets(snr, fmt.name) and self.capacity[fmt.name] >= bandwidth:
                lightpath = self._establish(
                    option.route, fit, fmt, snr, pair, request, float(bandwidth), dedicated, now
                )
                # A partly groomed request already holds lightpaths: FUSION then
                # rechecks the new one too.
                if self.recheck is not None and not self._rechecked(
                    lightpath, bandwidth, sliced=False, with_itself=dedicated != bandwidth
                ):
                    self._tear_down(pair, lightpath)
                    return None
                return lightpath
        return None

    def _sliced_fixed(
        self,
        option: PathOption,
        pair: tuple[str, str],
        request: int,
        bandwidth: int,
        left: float,
        now: float,
        partly_groomed: bool,
    ) -> tuple[list[GroomedLightpath] | None, float]:
        """FUSION's fixed-grid dynamic slicing on one path: new lightpaths and what is left.

        None for the lightpaths means the path failed (its lightpaths were rolled back).
        """
        route = option.route
        new: list[GroomedLightpath] = []
        to_serve = left
        while left > 0:
            found = self._slice_format(route, bandwidth)
            if found is None:
                on_last_path = option.index >= self.k_paths - 1
                if (
                    self.can_partially_serve
                    and left != bandwidth
                    and (partly_groomed or on_last_path)
                ):
                    return new, max(0, left)
                for lightpath in new:
                    self._tear_down(pair, lightpath)
                return None, left
            fit, fmt, snr = found
            capacity = self.capacity[fmt.name]
            dedicated = min(capacity, left)
            left -= capacity
            lightpath = self._establish(
                route, fit, fmt, snr, pair, request, float(capacity), float(dedicated), now
            )
            new.append(lightpath)
            if self.recheck is not None and not self._rechecked(
                lightpath, bandwidth, sliced=True, with_itself=partly_groomed or len(new) > 1
            ):
                # FUSION rolls back every new lightpath of the request and gives up the path.
                for placed in new:
                    self._tear_down(pair, placed)
                return None, to_serve
        return new, 0

    def _rechecked(
        self, lightpath: GroomedLightpath, bandwidth: int, *, sliced: bool, with_itself: bool
    ) -> bool:
        """FUSION's SNR recheck after setting up ``lightpath`` for a ``bandwidth`` request.

        On the fixed grid FUSION's ``check_gsnr`` answers for each lightpath it rechecks
        with the request's figures, not the lightpath's: unsliced, its format's
        threshold *and* a capacity covering the request's whole bandwidth; while
        slicing, the threshold of any format of the request's bandwidth.
        """
        assert self.recheck is not None
        # Reaching any format's threshold is reaching the lowest.
        lowest = lowest_threshold(self.mod_table[bandwidth])

        def threshold(fmt: str) -> float | None:
            if sliced:
                return lowest
            return REQUIRED_SNR_DB[fmt] if self.capacity[fmt] >= bandwidth else None

        return self.recheck.passes(
            lightpath.route, lightpath.block, with_itself=with_itself, threshold=threshold
        )

    def _slice_format(self, route: Route, bandwidth: int) -> tuple[Fit, ModFormat, float] | None:
        """The first free slot and the most efficient format its GSNR allows."""
        fit = self._fit(route, 1)
        if fit is None:
            return None
        formats = self.mod_table[bandwidth]
        snr = self._gsnr(route, fit, lowest_threshold(formats))
        for fmt in formats:
            if meets(snr, fmt.name):
                return fit, fmt, snr
        return None

    def _establish(
        self,
        route: Route,
        fit: Fit,
        fmt: ModFormat,
        snr: float,
        pair: tuple[str, str],
        request: int,
        capacity: float,
        dedicated: float,
        now: float,
    ) -> GroomedLightpath:
        placed = self._place(route, fit, int(capacity), fmt, snr)
        lightpath = GroomedLightpath(
            route,
            fit,
            fmt,
            snr,
            capacity,
            capacity - dedicated,
            {request: int(dedicated)},
            {now: (dedicated / capacity) * 100.0},
            placed.core,
            placed.band,
            placed.block,
        )
        self._next_id += 1
        self._by_pair.setdefault(pair, {})[self._next_id] = lightpath
        return lightpath

    def _tear_down(self, pair: tuple[str, str], lightpath: GroomedLightpath) -> None:
        placed = Lightpath(lightpath.core, lightpath.block, 0, lightpath.fmt)
        self.release(PathOption(0, lightpath.route, None, ()), [placed])
        on_pair = self._by_pair[pair]
        for key, value in on_pair.items():
            if value is lightpath:
                del on_pair[key]
                break
