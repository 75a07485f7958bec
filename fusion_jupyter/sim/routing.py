"""k shortest paths, computed once per node pair, as FUSION's k_shortest_path finds them.

FUSION asks networkx for ``shortest_simple_paths(G, s, d, weight="length")`` on every
request; the paths never change, so computing them once per ordered pair gives the
same lists. Lengths are multiples of 100 km, so ties are common and the s->d list is
not always the mirror of d->s: both directions are computed, never derived.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice, pairwise

import networkx as nx

from fusion_jupyter.sim.topology import Topology


@dataclass(frozen=True)
class Route:
    """One candidate path, with what first fit and the statistics need precomputed."""

    nodes: tuple[str, ...]
    #: Undirected link indices along the path.
    links: tuple[int, ...]
    length_km: float

    @property
    def hops(self) -> int:
        """Number of links traversed."""
        return len(self.links)


def k_shortest_routes(topology: Topology, src: str, dst: str, k: int) -> tuple[Route, ...]:
    """The first ``k`` loopless paths from ``src`` to ``dst`` by total length."""
    paths = nx.shortest_simple_paths(topology.graph, src, dst, weight="length")
    try:
        return tuple(_route(topology, path) for path in islice(paths, k))
    except nx.NetworkXNoPath:
        # A disconnected pair has no candidate path, so its requests are blocked.
        return ()


def _route(topology: Topology, path: list[str]) -> Route:
    """Attach link indices and length (summed hop by hop, as FUSION does) to a path."""
    links = tuple(topology.link_index[(u, v)] for u, v in pairwise(path))
    length = 0.0
    for u, v in pairwise(path):
        length += float(topology.graph[u][v]["length"])
    return Route(tuple(path), links, length)


class RouteTable:
    """Per ordered node pair, its k shortest routes, computed on first use."""

    def __init__(self, topology: Topology, k: int) -> None:
        self.topology = topology
        self.k = k
        self._cache: dict[tuple[str, str], tuple[Route, ...]] = {}

    def routes(self, src: str, dst: str) -> tuple[Route, ...]:
        """The cached k shortest routes of one ordered pair."""
        key = (src, dst)
        found = self._cache.get(key)
        if found is None:
            found = k_shortest_routes(self.topology, src, dst, self.k)
            self._cache[key] = found
        return found
