"""Serving one request: unsliced on each path, then FUSION's static slicing.

Decision order (``fusion/core/sdn_controller.py``, sim-model.md §3-§5):

1. For each of the k paths in order, the most efficient format whose reach covers the
   path is tried with the allocation method, first fit unless another is set
   (``slots + guard_slots`` free slots on one core of every link; see
   :class:`~fusion_jupyter.sim.spectrum.Spectrum`). Paths no format reaches are skipped.
2. If every path failed, ``max_segments > 1`` and the request is not 25G, each path
   is tried again in order with slicing: bandwidth tiers below the request's, largest
   first, each with its most efficient reaching format; the request becomes
   ``bw / tier`` independent lightpaths on that path. A tier needing more than
   ``max_segments`` lightpaths ends slicing on that path. If a segment finds no
   spectrum, the tier's placed segments are rolled back and the next tier is tried.
3. Otherwise the request is blocked.

FUSION's bit-rate quirk: once any slicing segment has failed for a request, a later
successful slicing still counts the request's full bandwidth as blocked (its
``remaining_bw`` is never reset). :attr:`Allocation.segment_failed` carries that fact
so statistics can report both FUSION's figure and the corrected one.
"""

from __future__ import annotations

from collections.abc import Callable

from fusion_jupyter.sim.modulation import ModFormat, ModTable, best_format, precalc_format
from fusion_jupyter.sim.routing import Route, RouteTable
from fusion_jupyter.sim.spectrum import Spectrum

#: A path's unsliced format from its bandwidth's formats and its length (None: none).
UnslicedRule = Callable[[tuple[ModFormat, ...], float], ModFormat | None]
#: FUSION never slices its smallest bandwidth (``sdn_controller.py``: bandwidth != "25").
UNSLICEABLE_BANDWIDTH = 25


# The records below are plain classes: compiled, making one is a C call, while a
# NamedTuple's or a dataclass's constructor stays Python code even then, and they are
# made on every request.


class SliceTier:
    """One way to slice a request on a path: ``segments`` lightpaths of ``bandwidth``."""

    __slots__ = ("bandwidth", "fmt", "segments")

    def __init__(self, bandwidth: int, segments: int, fmt: ModFormat) -> None:
        self.bandwidth = bandwidth
        self.segments = segments
        self.fmt = fmt


class PathOption:
    """A candidate path for one (source, destination, bandwidth), with its plans.

    Compared by identity: statistics key counters by it, and hashing the fields on
    every request would cost more than the lookup it serves.
    """

    __slots__ = ("index", "route", "slicing", "unsliced")

    def __init__(
        self,
        index: int,
        route: Route,
        unsliced: ModFormat | None,
        slicing: tuple[SliceTier, ...],
    ) -> None:
        self.index = index
        self.route = route
        #: Format for the whole request on this path; None if none reaches.
        self.unsliced = unsliced
        self.slicing = slicing


class Lightpath:
    """One placed lightpath: where it sits, so it can be released, and what it uses."""

    __slots__ = ("band", "bandwidth", "block", "core", "fmt", "snr_db")

    def __init__(
        self,
        core: int,
        block: int,
        bandwidth: int,
        fmt: ModFormat,
        snr_db: float | None = None,
        band: str = "c",
    ) -> None:
        self.core = core
        #: Bitset of the slots it occupies, its guard slot included.
        self.block = block
        self.bandwidth = bandwidth
        self.fmt = fmt
        #: Its GSNR in dB when the physical layer is modelled (``snr_type = gsnr``).
        self.snr_db = snr_db
        #: FUSION's band name.
        self.band = band


class Allocation:
    """A routed request: its path and lightpaths."""

    __slots__ = ("lightpaths", "option", "segment_failed", "sliced", "unserved")

    def __init__(
        self,
        option: PathOption,
        lightpaths: tuple[Lightpath, ...],
        sliced: bool,
        segment_failed: bool,
        unserved: int = 0,
    ) -> None:
        self.option = option
        self.lightpaths = lightpaths
        self.sliced = sliced
        #: A slicing segment failed before this success (FUSION's bit-rate quirk).
        self.segment_failed = segment_failed
        #: Bandwidth left unserved when FUSION's ``can_partially_serve`` accepted part of it.
        self.unserved = unserved


class Controller:
    """Routes and assigns spectrum for requests on one :class:`Spectrum`."""

    #: Whether a tier's slices are placed with one spectrum search (first fit only):
    #: a subclass whose :meth:`_place` also checks each lightpath says False.
    one_search_slices = True

    def __init__(
        self,
        spectrum: Spectrum,
        routes: RouteTable,
        mod_table: ModTable,
        max_segments: int,
        guard_slots: int,
        pre_calc_mod_selection: bool = False,
    ) -> None:
        self.spectrum = spectrum
        self.routes = routes
        self.mod_table = mod_table
        self.max_segments = max_segments
        self.guard_slots = guard_slots
        self._unsliced_format = self.unsliced_rule(pre_calc_mod_selection)
        self._tiers = sorted(mod_table, reverse=True)
        self._options: dict[tuple[str, str, int], tuple[PathOption, ...]] = {}

    @staticmethod
    def unsliced_rule(pre_calc_mod_selection: bool) -> UnslicedRule:
        """How a path's unsliced format is chosen: the most efficient reaching one, or
        FUSION's get_path_modulation with ``pre_calc_mod_selection`` (slicing is not
        affected)."""
        return precalc_format if pre_calc_mod_selection else best_format

    def clear(self) -> None:
        """Empty the network, as at the start of an iteration."""
        self.spectrum.clear()

    def options(self, src: str, dst: str, bandwidth: int) -> tuple[PathOption, ...]:
        """The candidate paths of a request, planned once per (src, dst, bandwidth)."""
        key = (src, dst, bandwidth)
        found = self._options.get(key)
        if found is None:
            found = tuple(
                self._plan(index, route, bandwidth)
                for index, route in enumerate(self.routes.routes(src, dst))
            )
            self._options[key] = found
        return found

    def _plan(self, index: int, route: Route, bandwidth: int) -> PathOption:
        return PathOption(
            index=index,
            route=route,
            unsliced=self._unsliced_format(self.mod_table[bandwidth], route.length_km),
            slicing=self._slice_tiers(route, bandwidth),
        )

    def _slice_tiers(self, route: Route, bandwidth: int) -> tuple[SliceTier, ...]:
        """Slicing attempts on one path, in FUSION's order, up to the segment limit."""
        tiers = []
        for tier in self._tiers:
            if tier >= bandwidth:
                continue
            fmt = best_format(self.mod_table[tier], route.length_km)
            if fmt is None:
                continue
            segments = int(bandwidth / tier)
            if segments > self.max_segments:
                break
            tiers.append(SliceTier(tier, segments, fmt))
        return tuple(tiers)

    def serve(self, src: str, dst: str, bandwidth: int) -> Allocation | None:
        """Place a request as FUSION would, or return None if it is blocked."""
        options = self._options.get((src, dst, bandwidth)) or self.options(src, dst, bandwidth)
        for option in options:
            if option.unsliced is not None:
                lightpath = self._place(option, bandwidth, option.unsliced)
                if lightpath is not None:
                    return Allocation(option, (lightpath,), sliced=False, segment_failed=False)
        if self.max_segments > 1 and bandwidth != UNSLICEABLE_BANDWIDTH:
            return self._serve_sliced(options)
        return None

    def _serve_sliced(self, options: tuple[PathOption, ...]) -> Allocation | None:
        segment_failed = False
        for option in options:
            for tier in option.slicing:
                placed = self._place_segments(option, tier)
                if placed is not None:
                    return Allocation(option, placed, sliced=True, segment_failed=segment_failed)
                segment_failed = True
        return None

    def _place_segments(self, option: PathOption, tier: SliceTier) -> tuple[Lightpath, ...] | None:
        """All segments of one tier, or none of them (placed ones are rolled back)."""
        spectrum = self.spectrum
        if spectrum.plain and self.one_search_slices:
            width = tier.fmt.slots + self.guard_slots
            positions = spectrum.place_run(option.route.links, width, tier.segments)
            if positions is None:
                return None
            unit, stride = (1 << width) - 1, spectrum.stride
            return tuple(
                Lightpath(position // stride, unit << position, tier.bandwidth, tier.fmt)
                for position in positions
            )
        placed: list[Lightpath] = []
        for _ in range(tier.segments):
            lightpath = self._place(option, tier.bandwidth, tier.fmt)
            if lightpath is None:
                self.release(option, placed)
                return None
            placed.append(lightpath)
        return tuple(placed)

    def _place(self, option: PathOption, bandwidth: int, fmt: ModFormat) -> Lightpath | None:
        placed = self.spectrum.place(option.route.links, fmt.slots + self.guard_slots)
        if placed is None:
            return None
        return Lightpath(placed[0] // self.spectrum.stride, placed[1], bandwidth, fmt)

    def release(
        self, option: PathOption, lightpaths: tuple[Lightpath, ...] | list[Lightpath]
    ) -> None:
        """Free the spectrum of a request's lightpaths."""
        links = option.route.links
        for lightpath in lightpaths:
            self.spectrum.release(links, lightpath.block)
