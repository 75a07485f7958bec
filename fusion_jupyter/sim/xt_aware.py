"""Serving one request with FUSION's XT-aware routing, priority-first fit and XT check.

The model of FUSION's legacy controller with ``route_method = xt_aware`` (or
``k_shortest_path`` / ``shortest_path``: its k shortest paths in turn, each as below),
``allocation_method = priority_first`` (or ``first_fit``: the search is the spectrum's)
and ``snr_type = xt_calculation`` on 7-core fibres with static slicing
(``fusion/modules/routing/xt_aware.py``, ``fusion/core/spectrum_assignment.py``,
``fusion/core/snr_measurements.py`` ``check_xt``,
``fusion/modules/spectrum/light_path_slicing.py``):

1. Route: every link's XT-aware cost (:func:`~fusion_jupyter.sim.xt.link_cost`) from
   the current occupancy, weighted as ``xt_type`` says (``with_length``: ``beta`` x
   length / longest link + (1 - ``beta``) x cost; ``without_length``: spans x cost),
   then the first of networkx's ``shortest_simple_paths`` by that weight: one path,
   whose weight (the sum of its links' costs) FUSION reports as the path weight.
2. Unsliced: each format whose reach covers the path, most efficient first, by
   priority-first fit (cores 0, 2, 4, 1, 3, 5, 6, then slots; or first fit, cores in
   order) and FUSION's XT check.
3. Otherwise FUSION's static slicing on that path, every segment placed the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise

from fusion_jupyter.sim.controller import (
    UNSLICEABLE_BANDWIDTH,
    Allocation,
    Controller,
    Lightpath,
    PathOption,
)
from fusion_jupyter.sim.modulation import ModFormat, ModTable
from fusion_jupyter.sim.routing import Route, RouteTable, make_route
from fusion_jupyter.sim.spectrum import Spectrum
from fusion_jupyter.sim.xt import link_cost, path_xt, xt_db

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: FUSION's span length, km (``DEFAULT_SPAN_LENGTH``), for ``xt_type = without_length``.
SPAN_LENGTH_KM = 100.0
#: Link costs memoised by the link's (taken, signal) bitsets. An entry dies as soon as
#: the link changes, and its key holds two bitsets over every core's slots: a limit of
#: 100,000 held 40 MiB more at 40,000 requests of xtar_slicing_pff, and this one is as
#: fast (15.3 s and 15.1 s for that run).
COSTS_LIMIT = 4096


class XtAwareController(Controller):
    """XT-aware routing and allocation (see the module docstring)."""

    #: Each slice is checked for crosstalk where it is placed (:meth:`_place`).
    one_search_slices = False

    def __init__(
        self,
        spectrum: Spectrum,
        routes: RouteTable,
        mod_table: ModTable,
        *,
        max_segments: int,
        guard_slots: int,
        xt_type: str | None,
        beta: float,
        requested_xt: Mapping[str, float],
        xt_routing: bool = True,
    ) -> None:
        super().__init__(spectrum, routes, mod_table, max_segments, guard_slots)
        #: FUSION's XT-aware routing; otherwise its k shortest paths, with the XT check.
        self.xt_routing = xt_routing
        self.topology = routes.topology
        self.xt_type = xt_type
        self.beta = beta
        self.requested_xt = requested_xt
        # FUSION's own graph, not a copy: Graph.copy() re-adds edges node by node, which
        # changes the adjacency order and so networkx's choice among equal-cost paths.
        # The xt_cost attribute it gains is read by nothing else.
        self._graph: Any = self.topology.graph
        self._longest_km = max(link.length_km for link in self.topology.links)
        self.clear()

    def clear(self) -> None:
        """Empty the network, as at the start of an iteration."""
        super().clear()
        #: Per link: slots carrying a lightpath (not its guard slots).
        self.signal = [0] * len(self.spectrum.masks)
        self._costs: dict[tuple[int, int], float] = {}

    def serve(self, src: str, dst: str, bandwidth: int) -> Allocation | None:
        """Place a request as FUSION would, or return None if it is blocked.

        Unsliced on each candidate path in turn, every format its reach allows (the XT
        check may refuse one and pass a less efficient one), then sliced.
        """
        if self.xt_routing:
            option = self._route(src, dst, bandwidth)
            if option is None:
                return None
            options: tuple[PathOption, ...] = (option,)
        else:
            options = self.options(src, dst, bandwidth)
        for option in options:
            for fmt in self.mod_table[bandwidth]:
                if fmt.max_length_km < option.route.length_km:
                    continue
                lightpath = self._place(option, bandwidth, fmt)
                if lightpath is not None:
                    return Allocation(option, (lightpath,), sliced=False, segment_failed=False)
        if self.max_segments > 1 and bandwidth != UNSLICEABLE_BANDWIDTH:
            return self._serve_sliced(options)
        return None

    def release(
        self, option: PathOption, lightpaths: tuple[Lightpath, ...] | list[Lightpath]
    ) -> None:
        """Free the spectrum of a request's lightpaths, and their signal."""
        super().release(option, lightpaths)
        for lightpath in lightpaths:
            # The block is the signal slots with the guard slots above them.
            signal = lightpath.block & (lightpath.block >> self.guard_slots)
            for link in option.route.links:
                self.signal[link] &= ~signal

    def _route(self, src: str, dst: str, bandwidth: int) -> PathOption | None:
        """FUSION's XTAwareRouting: the least-cost path by the current link costs."""
        import networkx as nx

        graph = self._graph
        for link in self.topology.links:
            graph[link.u][link.v]["xt_cost"] = self._weight(link.index, link.length_km)
        try:
            nodes = next(iter(nx.shortest_simple_paths(graph, src, dst, weight="xt_cost")))
        except (nx.NetworkXNoPath, nx.NodeNotFound):
            return None
        weight = sum(graph[u][v]["xt_cost"] for u, v in pairwise(nodes))
        base = make_route(self.topology, nodes)
        route = Route(base.nodes, base.links, base.length_km, base.link_lengths_km, weight=weight)
        return PathOption(0, route, None, self._slice_tiers(route, bandwidth))

    def _weight(self, link: int, length_km: float) -> float:
        taken = self.spectrum.masks[link]
        key = (taken, self.signal[link])
        cost = self._costs.get(key)
        if cost is None:
            free = self.spectrum.all_free & ~taken
            cost = link_cost(free, self.signal[link], self.spectrum.stride, self.spectrum.slots)
            if len(self._costs) > COSTS_LIMIT:
                self._costs.clear()
            self._costs[key] = cost
        if self.xt_type == "with_length":
            normalized = length_km / self._longest_km
            return normalized * self.beta + (1 - self.beta) * cost
        if self.xt_type == "without_length":
            return (length_km / SPAN_LENGTH_KM) * cost
        return cost

    def _place(self, option: PathOption, bandwidth: int, fmt: ModFormat) -> Lightpath | None:
        """The configured fit (priority-first, or first fit) of ``fmt`` on the path, kept
        only if it passes the XT check."""
        route = option.route
        width = fmt.slots + self.guard_slots
        position = self.spectrum.fit(route.links, width)
        if position is None:
            return None
        core, start = divmod(position, self.spectrum.stride)
        # FUSION's end_slot (_update_spec_props) is start + slots + 2 guard slots - 1, and
        # check_adjacent_cores reads the slots before it.
        end = start + fmt.slots + 2 * self.guard_slots - 1
        cross_talk = path_xt(
            [self.signal[link] for link in route.links],
            route.link_lengths_km,
            core,
            start,
            end,
            self.spectrum.stride,
        )
        xt = xt_db(cross_talk)
        if cross_talk != 0 and not xt < self.requested_xt[fmt.name]:
            return None
        block = ((1 << width) - 1) << position
        signal = ((1 << fmt.slots) - 1) << position
        self.spectrum.occupy(route.links, block)
        for link in route.links:
            self.signal[link] |= signal
        return Lightpath(core, block, bandwidth, fmt, xt)
