"""FUSION's SNR recheck: a new lightpath must not push the lightpaths it overlaps below threshold.

With ``snr_recheck = True`` FUSION's legacy controller re-evaluates, right after it sets
up a lightpath, every established lightpath the new one overlaps
(``SdnController._check_snr_after_allocation``,
``SnrMeasurements.snr_recheck_after_allocation``, ``fusion/utils/spectrum.py:
get_overlapping_lightpaths``), and rolls the new lightpath back if any of them no longer
meets its format's GSNR threshold:

* overlapping means sharing a link (in either direction) and the core; the band, the
  slots and ``recheck_crossband`` play no part (FUSION's filter has no band test), and
  adjacent cores count only with ``recheck_adjacent_cores`` on several cores (not
  modelled);
* each is evaluated as FUSION's ``check_gsnr``/``check_gsnr_mb`` evaluates a lightpath
  already in the network (:meth:`Gsnr.placed_path_db
  <fusion_jupyter.sim.gsnr.Gsnr.placed_path_db>`), against its own format's threshold;
* while a request is being sliced and already holds another lightpath, the new
  lightpath is evaluated too (FUSION adds the request's own lightpaths to the list it
  filters); in C+L that is not a formality, as the lightpath then counts in its own
  link power.

What a failed recheck undoes is the controllers' business (:mod:`~fusion_jupyter.sim.physical`):
the unsliced attempt on that path fails; in dynamic slicing the request's lightpaths on
the path are all rolled back and the tier starts again without the failed format.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from fusion_jupyter.sim.gsnr import Gsnr, meets
from fusion_jupyter.sim.routing import Route

if TYPE_CHECKING:
    from fusion_jupyter.sim.physical import PhysicalController


class Placed(NamedTuple):
    """An established lightpath as the recheck sees it (a ``lightpath_status_dict`` entry)."""

    route: Route
    #: Spectrum segment (core and band), first slot and width.
    segment: int
    start: int
    slots: int
    fmt: str


class Recheck:
    """The established lightpaths per link, and FUSION's re-evaluation of them."""

    def __init__(self, controller: PhysicalController) -> None:
        self.controller = controller
        #: Per link: spectrum block -> the lightpath holding it (unique on a link).
        self._on_link: list[dict[int, Placed]] = [{} for _ in controller.spectrum.masks]

    def clear(self) -> None:
        """Forget every lightpath, as at the start of an iteration."""
        for on_link in self._on_link:
            on_link.clear()

    def add(self, block: int, placed: Placed) -> None:
        """A lightpath was set up."""
        for link in placed.route.links:
            self._on_link[link][block] = placed

    def remove(self, links: tuple[int, ...], block: int) -> None:
        """A lightpath was released (departure or rollback)."""
        for link in links:
            del self._on_link[link][block]

    def passes(
        self,
        route: Route,
        block: int,
        *,
        with_itself: bool,
        accept: Callable[[float, str], bool] = meets,
    ) -> bool:
        """Whether the lightpaths the new one (``block`` on ``route``) overlaps still pass.

        ``accept(gsnr_db, format)`` is FUSION's verdict on one of them: its format's
        threshold on the flexible grid; the fixed grid's differs (see
        :mod:`~fusion_jupyter.sim.grooming`).
        """
        new = self._on_link[route.links[0]][block]
        bands = self.controller.spectrum.bands
        core = new.segment // bands
        seen: set[int] = set()
        for link in route.links:
            for placed in self._on_link[link].values():
                if id(placed) in seen or placed.segment // bands != core:
                    continue
                seen.add(id(placed))
                if placed is new and not with_itself:
                    continue
                if not accept(self._gsnr(placed), placed.fmt):
                    return False
        return True

    def _gsnr(self, placed: Placed) -> float:
        """The lightpath's GSNR in the network as it is now (FUSION's ``evaluate_lp``)."""
        controller = self.controller
        route = placed.route
        bands = controller.bands
        core, band_index = divmod(placed.segment, len(bands))
        channels = controller._channels
        versions = controller._versions
        states = [versions[link][core] for link in route.links]
        gsnr = controller.gsnr
        if isinstance(gsnr, Gsnr):
            on_path = [channels[link][placed.segment] for link in route.links]
            return gsnr.placed_path_db(
                route.link_lengths_km, on_path, placed.start, placed.slots, states
            )
        per_link = [controller._core_bands[link][core] for link in route.links]
        return gsnr.placed_path_db(
            route.link_lengths_km,
            per_link,
            placed.start,
            placed.slots,
            bands[band_index],
            states,
        )
