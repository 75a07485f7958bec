"""Serving one request with FUSION's physical layer and dynamic lightpath slicing.

The model of FUSION's legacy controller with ``snr_type = gsnr``, ``dynamic_lps = True``
on the flexible grid (``fusion/core/sdn_controller.py``,
``fusion/core/spectrum_assignment.py``, ``fusion/modules/spectrum/light_path_slicing.py``):

1. Unsliced, path by path: the formats whose reach covers the path, most efficient
   first; the first that finds spectrum (by the allocation method: first, last or best
   fit, :class:`~fusion_jupyter.sim.spectrum.Spectrum`) *and* meets its GSNR threshold
   (:mod:`~fusion_jupyter.sim.gsnr`) carries the whole request.
2. Otherwise, if ``max_segments > 1`` and the request is not 25G, dynamic slicing path
   by path: for each bandwidth tier of the table below the request's, largest first,
   lightpaths of that tier are added while the unserved bandwidth is at least the tier,
   each with the first format (most efficient first, reach not considered) that finds
   spectrum and meets its threshold. A request whose bandwidth is all placed is served
   (sliced). With ``can_partially_serve``, a request partly placed on the k-th path
   (FUSION's last path index, ``k_paths - 1``) is accepted with the rest unserved.
   Otherwise its lightpaths on this path are rolled back and the next path is tried.
3. Otherwise the request is blocked.

One of FUSION's behaviours is kept on purpose: within one slicing search, when a
format finds spectrum but fails its threshold and the next format's search evaluates
no candidate at all (no free run long enough on the path's first link; with best fit,
on any of its links: :meth:`~fusion_jupyter.sim.spectrum.Spectrum.searches`), FUSION's
spectrum state still says "free" at the previous position. It then tests, and may set
up, the next format on the previous format's slots. :meth:`PhysicalController._slice_search`
keeps that state the same way, because FUSION's decisions follow from it.
"""

from __future__ import annotations

from collections.abc import Sequence

from fusion_jupyter.sim.controller import UNSLICEABLE_BANDWIDTH, Allocation, Lightpath, PathOption
from fusion_jupyter.sim.gsnr import (
    REQUIRED_SNR_DB,
    Channel,
    Gsnr,
    MultiBandGsnr,
    meets,
    start_index,
)
from fusion_jupyter.sim.modulation import ModFormat, ModTable
from fusion_jupyter.sim.recheck import Placed, Recheck
from fusion_jupyter.sim.routing import Route, RouteTable
from fusion_jupyter.sim.spectrum import Spectrum


class Fit:
    """Where a lightpath would go: spectrum segment (core and band), first slot, slots.

    A plain class, as the records of :mod:`~fusion_jupyter.sim.controller` are.
    """

    __slots__ = ("segment", "slots", "start")

    def __init__(self, segment: int, start: int, slots: int) -> None:
        self.segment = segment
        self.start = start
        self.slots = slots


class PhysicalController:
    """Routes and assigns spectrum for requests, checking each lightpath's GSNR."""

    def __init__(
        self,
        spectrum: Spectrum,
        routes: RouteTable,
        mod_table: ModTable,
        gsnr: Gsnr | MultiBandGsnr,
        *,
        bands: tuple[str, ...] = ("c",),
        k_paths: int,
        max_segments: int,
        can_partially_serve: bool,
        snr_recheck: bool = False,
        recheck_adjacent_cores: bool = True,
    ) -> None:
        self.spectrum = spectrum
        self.routes = routes
        self.mod_table = mod_table
        self.gsnr = gsnr
        self.bands = bands
        self.k_paths = k_paths
        self.max_segments = max_segments
        self.can_partially_serve = can_partially_serve
        #: Slicing tiers: every bandwidth of the table, largest first.
        self._tiers = sorted(mod_table, reverse=True)
        self._options: dict[tuple[str, str], tuple[PathOption, ...]] = {}
        #: Per link and spectrum segment (core and band): its lightpaths sorted by
        #: first slot, for the GSNR.
        self._channels: list[list[list[Channel]]] = [
            [[] for _ in range(spectrum.cores * spectrum.bands)] for _ in range(len(spectrum.masks))
        ]
        #: Per link and core: each band's lightpaths in FUSION's band order, the lists
        #: above (the C+L GSNR's view of a core).
        self._core_bands: list[list[tuple[tuple[str, list[Channel]], ...]]] = [
            [
                tuple((band, on_link[core * len(bands) + i]) for i, band in enumerate(bands))
                for core in range(spectrum.cores)
            ]
            for on_link in self._channels
        ]
        #: Per link and core: a stamp, unique over all links and cores, renewed whenever
        #: its channels change, so the GSNR can memoise a link's term for its current
        #: occupancy by the stamp alone.
        self._versions: list[list[int]] = [[0] * spectrum.cores for _ in range(len(spectrum.masks))]
        self._stamp = 0
        #: One channel object for each (start, slots, format) ever placed. The GSNR's
        #: memos are keyed by channels; a lookup with the very object a memo was filled
        #: with is settled by identity, while an equal but distinct one is compared field
        #: by field (283 thousand comparisons, 3 % of usbackbone_mb_CL_fixed_grooming's
        #: instructions). Bounded by the grid: slots x sizes x formats.
        self._interned: dict[Channel, Channel] = {}
        #: FUSION's SNR recheck (``snr_recheck = True``), else None.
        self.recheck = Recheck(self, recheck_adjacent_cores) if snr_recheck else None
        self.clear()

    def clear(self) -> None:
        """Empty the network, as at the start of an iteration."""
        self.spectrum.clear()
        for on_link in self._channels:
            for on_core in on_link:
                on_core.clear()
        for versions in self._versions:
            for core in range(len(versions)):
                versions[core] = self._next_stamp()
        if self.recheck is not None:
            self.recheck.clear()

    def _next_stamp(self) -> int:
        self._stamp += 1
        return self._stamp

    def options(self, src: str, dst: str) -> tuple[PathOption, ...]:
        """The candidate paths of a pair (formats are chosen per request here)."""
        key = (src, dst)
        found = self._options.get(key)
        if found is None:
            found = tuple(
                PathOption(index, route, None, ())
                for index, route in enumerate(self.routes.routes(src, dst))
            )
            self._options[key] = found
        return found

    def serve(self, src: str, dst: str, bandwidth: int) -> Allocation | None:
        """Place a request as FUSION would, or return None if it is blocked."""
        options = self.options(src, dst)
        for option in options:
            lightpath = self._unsliced(option, bandwidth)
            if lightpath is not None:
                return Allocation(option, (lightpath,), sliced=False, segment_failed=False)
        if self.max_segments > 1 and bandwidth != UNSLICEABLE_BANDWIDTH:
            for option in options:
                allocation = self._sliced(option, bandwidth)
                if allocation is not None:
                    return allocation
        return None

    def release(self, option: PathOption, lightpaths: Sequence[Lightpath]) -> None:
        """Free the spectrum of a request's lightpaths and drop them from the links."""
        links = option.route.links
        for lightpath in lightpaths:
            self.spectrum.release(links, lightpath.block)
            position = (lightpath.block & -lightpath.block).bit_length() - 1
            segment, start = self.spectrum.locate(position)
            for link in links:
                on_segment = self._channels[link][segment]
                del on_segment[start_index(on_segment, start)]
                self._versions[link][lightpath.core] = self._next_stamp()
            if self.recheck is not None:
                self.recheck.remove(links, lightpath.block)

    def _unsliced(self, option: PathOption, bandwidth: int) -> Lightpath | None:
        """The whole request on one lightpath: first reaching format with spectrum and SNR."""
        route = option.route
        for fmt in self.mod_table[bandwidth]:
            if fmt.max_length_km < route.length_km:
                continue
            fit = self._fit(route, fmt.slots)
            if fit is None:
                continue
            snr = self._gsnr(route, fit, REQUIRED_SNR_DB[fmt.name])
            if meets(snr, fmt.name):
                lightpath = self._place(route, fit, bandwidth, fmt, snr)
                recheck = self.recheck
                if recheck is not None and not recheck.passes(
                    route, lightpath.block, with_itself=False
                ):
                    # FUSION then gives up this path (not this format): next path.
                    self.release(option, (lightpath,))
                    return None
                return lightpath
        return None

    def _sliced(self, option: PathOption, bandwidth: int) -> Allocation | None:
        """FUSION's flexible-grid dynamic slicing on one path (see the module docstring)."""
        route = option.route
        remaining = bandwidth
        placed: list[Lightpath] = []
        recheck = self.recheck
        for tier in self._tiers:
            if tier >= bandwidth:
                continue
            formats = self.mod_table[tier]
            while remaining > 0 and remaining >= tier:
                found = self._slice_search(route, formats)
                if found is None:
                    break
                fmt, fit, snr = found
                lightpath = self._place(route, fit, tier, fmt, snr)
                placed.append(lightpath)
                remaining -= tier
                if recheck is not None and not recheck.passes(
                    route, lightpath.block, with_itself=len(placed) > 1
                ):
                    # FUSION rolls back all of the request's lightpaths on this path and
                    # starts the tier again without the failed format.
                    self.release(option, placed)
                    placed = []
                    remaining = bandwidth
                    formats = tuple(f for f in formats if f is not fmt)
                    if not formats:
                        break
            if remaining <= 0:
                break
        if remaining <= 0:
            return Allocation(option, tuple(placed), sliced=True, segment_failed=False)
        on_last_path = option.index >= self.k_paths - 1
        if self.can_partially_serve and remaining != bandwidth and on_last_path:
            return Allocation(
                option, tuple(placed), sliced=True, segment_failed=False, unserved=remaining
            )
        self.release(option, placed)
        return None

    def _slice_search(
        self, route: Route, formats: Sequence[ModFormat]
    ) -> tuple[ModFormat, Fit, float] | None:
        """One slicing lightpath: the first format with spectrum and SNR, FUSION's way.

        ``fit`` is FUSION's spectrum state: it keeps the previous position when a
        format's search evaluates no candidate (see the module docstring).
        """
        fit: Fit | None = None
        for fmt in formats:
            found = self._fit(route, fmt.slots)
            if found is not None:
                fit = found
            elif self.spectrum.searches(route.links, fmt.slots):
                fit = None  # candidates were tried and failed: FUSION's is_free = False
            if fit is None:
                continue
            snr = self._gsnr(route, fit, REQUIRED_SNR_DB[fmt.name])
            if meets(snr, fmt.name):
                return fmt, fit, snr
        return None

    def _fit(self, route: Route, slots: int) -> Fit | None:
        """Where FUSION's allocation method puts ``slots`` slots on ``route`` (None: nowhere)."""
        position = self.spectrum.fit(route.links, slots)
        if position is None:
            return None
        segment, start = self.spectrum.locate(position)
        return Fit(segment, start, slots)

    def _gsnr(self, route: Route, fit: Fit, needed_db: float | None = None) -> float:
        """The candidate's GSNR (dB); ``-inf`` once it is sure to be below ``needed_db``
        (:meth:`Gsnr.path_db`, :meth:`MultiBandGsnr.path_db`)."""
        lengths = route.link_lengths_km
        gsnr = self.gsnr
        core, band_index = divmod(fit.segment, len(self.bands))
        versions = self._versions
        states = [versions[link][core] for link in route.links]
        if isinstance(gsnr, Gsnr):
            channels = [self._channels[link][fit.segment] for link in route.links]
            return gsnr.path_db(lengths, channels, fit.start, fit.slots, "c", states, needed_db)
        per_link = [self._core_bands[link][core] for link in route.links]
        band = self.bands[band_index]
        return gsnr.path_db(lengths, per_link, fit.start, fit.slots, band, states, needed_db)

    def _place(
        self, route: Route, fit: Fit, bandwidth: int, fmt: ModFormat, snr: float
    ) -> Lightpath:
        block = ((1 << fit.slots) - 1) << (fit.segment * self.spectrum.stride + fit.start)
        self.spectrum.occupy(route.links, block)
        channel = Channel(fit.start, fit.slots, fmt.name)
        channel = self._interned.setdefault(channel, channel)
        core, band = divmod(fit.segment, len(self.bands))
        for link in route.links:
            on_segment = self._channels[link][fit.segment]
            on_segment.insert(start_index(on_segment, fit.start), channel)
            self._versions[link][core] = self._next_stamp()
        if self.recheck is not None:
            self.recheck.add(block, Placed(route, fit.segment, fit.start, fit.slots, fmt.name))
        return Lightpath(core, block, bandwidth, fmt, snr, self.bands[band])
