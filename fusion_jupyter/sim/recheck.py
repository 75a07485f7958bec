"""FUSION's SNR recheck: a new lightpath must not push the lightpaths it overlaps below threshold.

With ``snr_recheck = True`` FUSION's legacy controller re-evaluates, right after it sets
up a lightpath, every established lightpath the new one overlaps
(``SdnController._check_snr_after_allocation``,
``SnrMeasurements.snr_recheck_after_allocation``, ``fusion/utils/spectrum.py:
get_overlapping_lightpaths``), and rolls the new lightpath back if any of them no longer
meets its format's GSNR threshold:

* overlapping means sharing a link (in either direction) and the core, or, with
  ``recheck_adjacent_cores`` (FUSION's default), a core adjacent to the new one's in
  FUSION's layout (:mod:`~fusion_jupyter.sim.cores`); the band, the slots and
  ``recheck_crossband`` play no part (FUSION's filter has no band test);
* each is evaluated as FUSION's ``check_gsnr``/``check_gsnr_mb`` evaluates a lightpath
  already in the network (:meth:`Gsnr.placed_path_inverse
  <fusion_jupyter.sim.gsnr.Gsnr.placed_path_inverse>`), against its own format's threshold;
* while a request is being sliced and already holds another lightpath, the new
  lightpath is evaluated too (FUSION adds the request's own lightpaths to the list it
  filters); in C+L that is not a formality, as the lightpath then counts in its own
  link power.

Most rechecked lightpaths are far from their threshold, and in the C band a lightpath's
inverse GSNR is linear in its neighbours' phi (:meth:`Gsnr.growth_per_span
<fusion_jupyter.sim.gsnr.Gsnr.growth_per_span>`). So each lightpath evaluated keeps an
upper bound of its inverse GSNR, raised by every lightpath set up beside it; while the
bound is below its threshold by far more than the floats' rounding, the lightpath passes
without being evaluated again, and FUSION's verdict is the same. Near the threshold it is
evaluated as FUSION evaluates it, and the bound starts again from that figure.

What a failed recheck undoes is the controllers' business (:mod:`~fusion_jupyter.sim.physical`):
the unsliced attempt on that path fails; in dynamic slicing the request's lightpaths on
the path are all rolled back and the tier starts again without the failed format.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from fusion_jupyter.sim.cores import adjacent
from fusion_jupyter.sim.gsnr import REQUIRED_SNR_DB, SPAN_KM, Channel, Gsnr, decibels
from fusion_jupyter.sim.routing import Route

TYPE_CHECKING = False
if TYPE_CHECKING:
    from fusion_jupyter.sim.physical import PhysicalController


#: Lightpaths remembered as having failed a recheck lately.
SUSPECTS = 16
#: Relative slack on the bounds: FUSION's floats differ from the real numbers by parts
#: in 1e14 (sums of some tens of positive terms), so 1e-9 is safe by five orders, and a
#: lightpath that close to its threshold is simply evaluated.
SLACK = 1e-9


class Placed:
    """An established lightpath as the recheck sees it (a ``lightpath_status_dict`` entry).

    A plain class, as the records of :mod:`~fusion_jupyter.sim.controller` are.
    """

    __slots__ = ("fmt", "route", "segment", "slots", "start")

    def __init__(self, route: Route, segment: int, start: int, slots: int, fmt: str) -> None:
        self.route = route
        #: Spectrum segment (core and band), first slot and width.
        self.segment = segment
        self.start = start
        self.slots = slots
        self.fmt = fmt


class Recheck:
    """The established lightpaths per link, and FUSION's re-evaluation of them."""

    def __init__(self, controller: PhysicalController, adjacent_cores: bool = True) -> None:
        self.controller = controller
        cores = controller.spectrum.cores
        #: Per core of a new lightpath: the cores whose lightpaths its recheck evaluates.
        self._rechecked_cores = [
            frozenset((core, *(adjacent(core, cores) if adjacent_cores else ())))
            for core in range(cores)
        ]
        #: Per link: spectrum block -> the lightpath holding it (unique on a link).
        self._on_link: list[dict[int, Placed]] = [{} for _ in controller.spectrum.masks]
        #: Lightpaths that recently failed a recheck (by id, oldest first): tried first.
        self._suspects: dict[int, Placed] = {}
        #: C band: per lightpath (by id), an upper bound of FUSION's inverse GSNR for it.
        self._bounds: dict[int, float] = {}
        #: Threshold (dB) -> the inverse GSNR a bound must stay under to pass.
        self._ceilings: dict[float, float] = {}

    def clear(self) -> None:
        """Forget every lightpath, as at the start of an iteration."""
        for on_link in self._on_link:
            on_link.clear()
        self._suspects.clear()
        self._bounds.clear()

    def add(self, block: int, placed: Placed) -> None:
        """A lightpath was set up."""
        for link in placed.route.links:
            self._on_link[link][block] = placed
        if self._bounds:
            self._raise_bounds(placed)

    def remove(self, links: tuple[int, ...], block: int) -> None:
        """A lightpath was released (departure or rollback).

        A bound stays a bound: without the lightpath its neighbours' sums only shrink
        (no phi is negative while bounds are kept).
        """
        placed = None
        for link in links:
            placed = self._on_link[link].pop(block)
        self._suspects.pop(id(placed), None)
        self._bounds.pop(id(placed), None)

    def _raise_bounds(self, new: Placed) -> None:
        """Add the new lightpath's share to the bound of each bounded lightpath beside it."""
        gsnr = self.controller.gsnr
        assert isinstance(gsnr, Gsnr)
        bounds = self._bounds
        shared: dict[int, tuple[Placed, int]] = {}
        for link, length_km in zip(new.route.links, new.route.link_lengths_km, strict=True):
            spans = math.ceil(length_km / SPAN_KM)
            for placed in self._on_link[link].values():
                key = id(placed)
                if placed.segment == new.segment and key in bounds and placed is not new:
                    before = shared.get(key)
                    shared[key] = placed, spans + (0 if before is None else before[1])
        channel = Channel(new.start, new.slots, new.fmt)
        growths = {
            key: gsnr.growth_per_span(placed.start, placed.slots, channel) * spans
            for key, (placed, spans) in shared.items()
        }
        if gsnr.signed_phis:  # perhaps just now: the bounds' argument no longer holds
            bounds.clear()
            return
        for key, growth in growths.items():
            bounds[key] += growth * (1 + SLACK)

    def passes(
        self,
        route: Route,
        block: int,
        *,
        with_itself: bool,
        threshold: Callable[[str], float | None] = REQUIRED_SNR_DB.__getitem__,
    ) -> bool:
        """Whether the lightpaths the new one (``block`` on ``route``) overlaps still pass.

        FUSION's verdict on one of them is its GSNR reaching ``threshold(format)`` dB
        (None: it fails whatever its GSNR): its own format's threshold on the flexible
        grid; the fixed grid's differs (see :mod:`~fusion_jupyter.sim.grooming`).
        """
        new = self._on_link[route.links[0]][block]
        bands = self.controller.spectrum.bands
        cores = self._rechecked_cores[new.segment // bands]
        overlapping: dict[int, tuple[Placed, float]] = {}
        for link in route.links:
            for placed in self._on_link[link].values():
                if placed.segment // bands in cores and id(placed) not in overlapping:
                    needed = threshold(placed.fmt)
                    if needed is None:
                        return False
                    overlapping[id(placed)] = placed, needed
        if not with_itself:
            del overlapping[id(new)]
        # FUSION evaluates them all and fails if any fails, so the order cannot change the
        # verdict; the lightpaths that failed lately are the likeliest to fail again.
        suspects = self._suspects
        for key in [key for key in suspects if key in overlapping]:
            placed, needed = overlapping.pop(key)
            if not self._meets(placed, needed):
                return False
        for key, (placed, needed) in overlapping.items():
            if not self._meets(placed, needed):
                suspects[key] = placed
                if len(suspects) > SUSPECTS:
                    del suspects[next(iter(suspects))]
                return False
        return True

    def _meets(self, placed: Placed, needed: float) -> bool:
        """FUSION's verdict: the lightpath's GSNR reaches ``needed`` dB."""
        bound = self._bounds.get(id(placed))
        if bound is not None:
            ceiling = self._ceilings.get(needed)
            if ceiling is None:
                ceiling = self._ceilings[needed] = 10 ** (-needed / 10) * (1 - SLACK)
            if bound <= ceiling:
                return True
        return self._gsnr(placed) >= needed

    def _gsnr(self, placed: Placed) -> float:
        """The lightpath's GSNR in the network as it is now (FUSION's ``evaluate_lp``).

        In the C band the figure also sets the lightpath's bound (unless a phi was
        negative).
        """
        controller = self.controller
        gsnr = controller.gsnr
        if isinstance(gsnr, Gsnr):
            inverse = self.c_band_inverse(placed)
            if not gsnr.signed_phis:
                self._bounds[id(placed)] = inverse * (1 + SLACK)
            return decibels(inverse)
        route = placed.route
        bands = controller.bands
        core, band_index = divmod(placed.segment, len(bands))
        versions = controller._versions
        return gsnr.placed_path_db(
            route.link_lengths_km,
            [controller._core_bands[link][core] for link in route.links],
            placed.start,
            placed.slots,
            bands[band_index],
            [versions[link][core] for link in route.links],
        )

    def c_band_inverse(self, placed: Placed) -> float:
        """FUSION's inverse GSNR (linear) of a lightpath in the C band, as it is now."""
        controller = self.controller
        gsnr = controller.gsnr
        assert isinstance(gsnr, Gsnr)
        links = placed.route.links
        core = placed.segment // len(controller.bands)
        return gsnr.placed_path_inverse(
            placed.route.link_lengths_km,
            [controller._channels[link][placed.segment] for link in links],
            placed.start,
            placed.slots,
            [controller._versions[link][core] for link in links],
        )

    def bound(self, placed: Placed) -> float | None:
        """The upper bound kept for the lightpath's inverse GSNR, if any."""
        return self._bounds.get(id(placed))
