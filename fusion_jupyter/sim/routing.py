"""k shortest paths, computed once per node pair, as FUSION's k_shortest_path finds them.

FUSION asks networkx for ``shortest_simple_paths(G, s, d, weight="length")`` on every
request; the paths never change, so computing them once per ordered pair gives the
same lists. Lengths are multiples of 100 km on NSFNet, so ties are common and the s->d
list is not always the mirror of d->s: both directions are computed, never derived.

The generator yields paths in the same order whatever k is, so the first k paths of
a longer list are the k-path list. For FUSION's named networks the package ships the
first :data:`SHIPPED_K` paths of every ordered pair (``data/paths/<network>.tsv``,
computed with networkx 3.6.1, FUSION's version), used when the topology text is the
shipped one (same sha256) and k is not larger; otherwise networkx computes them, and
is only then imported (it costs more start-up than a small run simulates).

A table file has header lines ``# key value`` (``network``, ``sha256``, ``k``), then a
line per ordered pair: ``src dst``, a tab, and the pair's paths as JSON. A pair's JSON
is parsed when its routes are first asked for: a small run meets a few hundred pairs,
and parsing all 3,540 of USbackbone60 at once (its JSON table before) cost about 9 ms of
every run's start (prepare 22-24 ms -> 13-14 ms).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from functools import cache
from itertools import islice, pairwise

from fusion_jupyter.sim import DATA_DIR
from fusion_jupyter.sim.topology import SHIPPED_NETWORKS, Topology, shipped_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

#: Paths per ordered pair in the shipped tables.
SHIPPED_K = 5


class Route:
    """One candidate path, with what first fit and the statistics need precomputed.

    A value: equal to a route of the same class and fields, and hashed once (grooming
    keys its options by route). Written out rather than a frozen dataclass, whose
    methods were compiled from generated source at every start and whose hash was
    computed from every field at each lookup.
    """

    __slots__ = ("_hash", "length_km", "link_lengths_km", "links", "nodes", "weight")

    def __init__(
        self,
        nodes: tuple[str, ...],
        links: tuple[int, ...],
        length_km: float,
        link_lengths_km: tuple[float, ...] = (),
        weight: float | None = None,
    ) -> None:
        self.nodes: Final = nodes
        #: Undirected link indices along the path.
        self.links: Final = links
        self.length_km: Final = length_km
        #: Length of each link along the path, km (the GSNR adds them up link by link).
        self.link_lengths_km: Final = link_lengths_km
        #: FUSION's path weight when it is not the length (XT-aware routing's cost sum).
        self.weight: Final = weight
        # Two bits short of a full hash: compiled, it stays a machine integer.
        self._hash: Final = hash((nodes, links, length_km, link_lengths_km, weight)) >> 2

    def _fields(self) -> tuple[object, ...]:
        return self.nodes, self.links, self.length_km, self.link_lengths_km, self.weight

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Route) or type(other) is not type(self):
            return NotImplemented
        return self._hash == other._hash and self._fields() == other._fields()

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        fields = ", ".join(map(repr, self._fields()))
        return f"{type(self).__name__}({fields})"

    @property
    def path_weight(self) -> float:
        """FUSION's ``path_weight``: the routing weight, by default the length in km."""
        return self.length_km if self.weight is None else self.weight

    @property
    def hops(self) -> int:
        """Number of links traversed."""
        return len(self.links)


def computed_paths(topology: Topology, src: str, dst: str, k: int) -> list[list[str]]:
    """The first ``k`` loopless paths from ``src`` to ``dst`` by total length (networkx)."""
    import networkx as nx

    paths = nx.shortest_simple_paths(topology.graph, src, dst, weight="length")
    try:
        return [list(path) for path in islice(paths, k)]
    except nx.NetworkXNoPath:
        # A disconnected pair has no candidate path, so its requests are blocked.
        return []


def make_route(topology: Topology, path: list[str] | tuple[str, ...]) -> Route:
    """Attach link indices and length (summed hop by hop, as FUSION does) to a path."""
    links = tuple(topology.link_index[(u, v)] for u, v in pairwise(path))
    lengths = tuple(topology.links[index].length_km for index in links)
    length = 0.0
    for link_km in lengths:
        length += link_km
    return Route(tuple(path), links, length, lengths)


def path_table_text(topology: Topology, k: int = SHIPPED_K) -> str:
    """The shipped-table file for ``topology``: first ``k`` paths of every ordered pair."""
    lines = [f"# network {topology.name}", f"# sha256 {topology.digest}", f"# k {k}"]
    lines += [
        f"{src} {dst}\t{json.dumps(computed_paths(topology, src, dst, k), separators=(',', ':'))}"
        for src in topology.nodes
        for dst in topology.nodes
        if src != dst
    ]
    return "\n".join(lines) + "\n"


class ShippedPaths(Mapping[str, list[list[str]]]):
    """A shipped table's paths by ``"src dst"``, each pair's parsed on first use."""

    def __init__(self, raw: dict[str, str]) -> None:
        self._raw = raw
        self._parsed: dict[str, list[list[str]]] = {}

    def __getitem__(self, pair: str) -> list[list[str]]:
        found = self._parsed.get(pair)
        if found is None:
            found = self._parsed[pair] = json.loads(self._raw[pair])
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)


@cache
def _shipped_table(network: str) -> tuple[dict[str, str], ShippedPaths] | None:
    """The header and the paths of a network's shipped table, if it has one."""
    file = os.path.join(DATA_DIR, "paths", f"{network}.tsv")
    if not os.path.isfile(file):
        return None
    with open(file, encoding="utf-8") as handle:
        text = handle.read()
    header: dict[str, str] = {}
    raw: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("# "):
            key, _, value = line[2:].partition(" ")
            header[key] = value
        elif line:
            pair, _, paths = line.partition("\t")
            raw[pair] = paths
    return header, ShippedPaths(raw)


def shipped_paths(topology: Topology, k: int) -> ShippedPaths | None:
    """The shipped path table of ``topology``, if there is one that covers ``k``."""
    if topology.name not in SHIPPED_NETWORKS:
        return None
    table = _shipped_table(topology.name)
    if table is None:
        return None
    header, paths = table
    # The tables are computed from the shipped topology files (a test holds each header's
    # sha256 to its file): a network read from elsewhere uses them only if it is the same.
    if topology.text != shipped_text(topology.name) or int(header["k"]) < k:
        return None
    return paths


class RouteTable:
    """Per ordered node pair, its k shortest routes, looked up or computed on first use."""

    def __init__(self, topology: Topology, k: int, *, use_shipped: bool = True) -> None:
        self.topology = topology
        self.k = k
        self._shipped = shipped_paths(topology, k) if use_shipped else None
        self._cache: dict[tuple[str, str], tuple[Route, ...]] = {}

    def routes(self, src: str, dst: str) -> tuple[Route, ...]:
        """The cached k shortest routes of one ordered pair."""
        key = (src, dst)
        found = self._cache.get(key)
        if found is None:
            if self._shipped is not None:
                paths = self._shipped.get(f"{src} {dst}", [])[: self.k]
            else:
                paths = computed_paths(self.topology, src, dst, self.k)
            found = tuple(make_route(self.topology, path) for path in paths)
            self._cache[key] = found
        return found
