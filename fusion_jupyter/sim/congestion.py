"""FUSION's congestion-aware routing (``route_method = cong_aware``) on the reach table.

FUSION's ``CongestionAwareRouting`` (``fusion/modules/routing/congestion_aware.py``) as
its legacy controller runs it, per request:

1. The candidates are the k shortest paths by length, as for ``k_shortest_path``.
2. Each one's score is ``alpha * congestion + (1 - alpha) * length / longest``, with the
   longest candidate's length and ``alpha`` = 0.3 (FUSION reads ``ca_alpha`` from its
   engine properties, which its INI loader never sets). A path's congestion is numpy's
   mean over its links of the link's taken C-band slots (guard slots included) over all
   its C-band slots.
3. The paths are tried in ascending score (numpy's ``argsort``); a path's weight in the
   statistics is its score.
4. The unsliced format is not chosen as for ``k_shortest_path``:
   - without ``pre_calc_mod_selection``, FUSION's ``get_path_modulation`` (QPSK, 16-QAM
     or 64-QAM by reach), or QPSK when none reaches, which FUSION then tries beyond its
     reach;
   - with it, none: the router reads its formats from an attribute FUSION's request
     properties do not have, so every request must be sliced (and 25G ones, which are
     never sliced, are blocked).
5. Then FUSION's static slicing over the paths in that order, as for ``k_shortest_path``.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from fusion_jupyter.sim.controller import Controller, PathOption, UnslicedRule
from fusion_jupyter.sim.modulation import ModFormat, precalc_format
from fusion_jupyter.sim.routing import Route

#: FUSION's ``ca_alpha`` default, the weight of congestion against length.
ALPHA = 0.3


def path_modulation_or_qpsk(formats: tuple[ModFormat, ...], length_km: float) -> ModFormat:
    """FUSION's ``get_path_modulation`` for the path, or QPSK when no format reaches."""
    found = precalc_format(formats, length_km)
    if found is not None:
        return found
    return next(fmt for fmt in formats if fmt.name == "QPSK")


def no_format(formats: tuple[ModFormat, ...], length_km: float) -> None:
    """With pre_calc_mod_selection FUSION's router gives no format (see the docstring)."""
    return


class CongestionAwareController(Controller):
    """Static slicing on paths ranked by congestion and length (see the module docstring)."""

    @staticmethod
    def unsliced_rule(pre_calc_mod_selection: bool) -> UnslicedRule:
        """FUSION's congestion-aware formats: none with ``pre_calc_mod_selection``, else
        get_path_modulation or QPSK (see the module docstring)."""
        return no_format if pre_calc_mod_selection else path_modulation_or_qpsk

    @cached_property
    def _c_band(self) -> int:
        """Every core's C-band slots (band 0 of each core; only C is modelled here)."""
        spectrum = self.spectrum
        c_band = (1 << spectrum.slots) - 1
        core_bits = spectrum.bands * spectrum.stride
        return sum(c_band << (core * core_bits) for core in range(spectrum.cores))

    @cached_property
    def _planned(self) -> dict[tuple[str, str, int], tuple[PathOption, ...]]:
        """Each request's candidates before ranking, by (source, destination, bandwidth)."""
        return {}

    def options(self, src: str, dst: str, bandwidth: int) -> tuple[PathOption, ...]:
        """The candidate paths in FUSION's order for this request, each weighted by score.

        The plans are kept, the order is not (it follows the occupancy): the base class's
        cache stays empty, so ``serve`` asks this method on every request.
        """
        key = (src, dst, bandwidth)
        planned = self._planned.get(key)
        if planned is None:
            routes = self.routes.routes(src, dst)
            planned = tuple(self._plan(i, route, bandwidth) for i, route in enumerate(routes))
            self._planned[key] = planned
        return self._ranked(planned)

    def _ranked(self, planned: tuple[PathOption, ...]) -> tuple[PathOption, ...]:
        if not planned:
            return planned
        lengths = [option.route.length_km for option in planned]
        longest = max(lengths)
        scale = longest if longest > 0 else 1.0
        scores = [
            ALPHA * self._congestion(option.route) + (1.0 - ALPHA) * (length / scale)
            for option, length in zip(planned, lengths, strict=True)
        ]
        ranked = []
        for index, chosen in enumerate(np.argsort(scores).tolist()):
            base = planned[chosen]
            route = base.route
            scored = Route(
                route.nodes, route.links, route.length_km, route.link_lengths_km, scores[chosen]
            )
            ranked.append(PathOption(index, scored, base.unsliced, base.slicing))
        return tuple(ranked)

    def _congestion(self, route: Route) -> float:
        """FUSION's ``find_path_congestion``: the mean taken share of the links' C band."""
        spectrum = self.spectrum
        masks, c_band, slots = spectrum.masks, self._c_band, spectrum.cores * spectrum.slots
        shares = [(masks[link] & c_band).bit_count() / slots for link in route.links]
        return float(np.mean(shares))
