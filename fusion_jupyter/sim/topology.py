"""Network topologies in FUSION's file format, and the networks shipped with the package.

FUSION's topology file is whitespace-separated ``src dst km``, usually listing each
link in both directions. Two orders read from it decide FUSION's random draws and its
k-shortest-path ties, so both are kept exactly:

* node order: the order in which nodes first appear in the file (sources and
  destinations read line by line) — request endpoints are drawn by index into it;
* edge order: the graph is built by adding every line's edge in file order, which
  fixes networkx's adjacency order and therefore its tie-breaking.
"""

from __future__ import annotations

import os
from functools import cache, cached_property

from fusion_jupyter.sim import DATA_DIR

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

    import networkx as nx
    from _typeshed import StrPath

#: FUSION's named networks and their files under ``<root>/data/raw``
#: (``fusion/io/structure.py``); all of them ship with the package.
SHIPPED_NETWORKS: dict[str, str] = {
    "USNet": "us_network.txt",
    "NSFNet": "nsf_network.txt",
    "Pan-European": "europe_network.txt",
    "USbackbone60": "USB6014.txt",
    "Spainbackbone30": "SPNB3014.txt",
    "geant": "geant.txt",
    "toy_network": "toy_network.txt",
    "metro_net": "metro_net.txt",
    "dt_network": "dt_network.txt",
}
#: Networks with a core-node file, read when ``is_only_core_node`` is False.
CORE_NODE_FILES: dict[str, str] = {
    "USbackbone60": "USB6014_core_nodes.txt",
    "Spainbackbone30": "SPNB3014_core_nodes.txt",
}
#: Where FUSION keeps topology files, relative to its root.
RAW_DIR = ("data", "raw")


class TopologyError(ValueError):
    """The topology file cannot be read as FUSION's format."""


class Link:
    """One undirected link; FUSION shares one spectrum grid between both directions.

    A plain class, not a frozen dataclass, whose methods were compiled from generated
    source at every start (1 ms); links are only ever read, and are one object each.
    """

    __slots__ = ("index", "length_km", "link_num", "u", "v")

    def __init__(self, index: int, u: str, v: str, length_km: float, link_num: int) -> None:
        self.index: Final = index
        self.u: Final = u
        self.v: Final = v
        self.length_km: Final = length_km
        #: 1-based number of the file line that defined it last (FUSION keeps the later one).
        self.link_num: Final = link_num


class Topology:
    """Nodes, undirected links, and (built on first use) the networkx graph FUSION routes on.

    A plain class, not a frozen dataclass, whose methods were compiled from generated
    source at every start (1 ms); one is built a run, and only read.
    """

    def __init__(
        self,
        name: str,
        nodes: tuple[str, ...],
        links: tuple[Link, ...],
        edges: tuple[tuple[str, str, float], ...],
        link_index: dict[tuple[str, str], int],
        endpoints: tuple[str, ...] = (),
        text: str = "",
    ) -> None:
        self.name: Final = name
        self.nodes: Final = nodes
        self.links: Final = links
        #: Every (src, dst, km) the graph is built from, in file order (FUSION's add order).
        self.edges: Final = edges
        #: (u, v) and (v, u) -> link index.
        self.link_index: Final = link_index
        #: Nodes requests are drawn from, by index; FUSION's core nodes when it uses them.
        self.endpoints: Final = endpoints
        #: The file's text, to tell whether a shipped path table belongs to it.
        self.text: Final = text

    def __repr__(self) -> str:
        return f"Topology({self.name!r}, {len(self.nodes)} nodes, {len(self.links)} links)"

    def with_endpoints(self, endpoints: tuple[str, ...]) -> Topology:
        """The same network, drawing requests between ``endpoints``."""
        return Topology(
            self.name, self.nodes, self.links, self.edges, self.link_index, endpoints, self.text
        )

    @cached_property
    def digest(self) -> str:
        """sha256 of the file's text, as a shipped path table's header records it."""
        # Imported here: hashlib loads OpenSSL (4 ms of every start), and only writing
        # the tables and their tests need the digest.
        import hashlib

        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @cached_property
    def graph(self) -> nx.Graph:
        """FUSION's graph: nodes in first-appearance order, then every edge in file order.

        networkx is imported here, not at start-up: shipped path tables make it
        unnecessary for FUSION's networks at the usual k.
        """
        import networkx as nx

        graph = nx.Graph()
        graph.add_nodes_from(self.nodes)
        for u, v, km in self.edges:
            graph.add_edge(u, v, length=km)
        return graph

    @property
    def request_nodes(self) -> tuple[str, ...]:
        """The node list request endpoints are drawn from."""
        return self.endpoints or self.nodes

    def link_between(self, u: str, v: str) -> Link:
        """The undirected link joining two adjacent nodes."""
        return self.links[self.link_index[(u, v)]]


def parse_topology(text: str, name: str = "custom") -> Topology:
    """Build a topology from the text of a FUSION topology file."""
    rows = _parse_rows(text)
    if not rows:
        raise TopologyError(f"topology {name!r} lists no links")
    nodes: dict[str, None] = {}
    edges: list[tuple[str, str, float]] = []
    lengths: dict[frozenset[str], tuple[str, str, float, int]] = {}
    seen: set[tuple[str, str]] = set()
    for line_no, u, v, km in rows:
        if (u, v) in seen:
            continue  # FUSION keeps the first length of a directed pair listed twice
        seen.add((u, v))
        nodes.setdefault(u)
        nodes.setdefault(v)
        # Adding every line, both directions included, reproduces FUSION's graph.
        edges.append((u, v, km))
        key = frozenset((u, v))
        first = lengths.get(key)
        lengths[key] = (first[0], first[1], km, line_no) if first else (u, v, km, line_no)
    links = tuple(
        Link(index=i, u=u, v=v, length_km=km, link_num=line_no)
        for i, (u, v, km, line_no) in enumerate(lengths.values())
    )
    link_index: dict[tuple[str, str], int] = {}
    for link in links:
        link_index[(link.u, link.v)] = link.index
        link_index[(link.v, link.u)] = link.index
    return Topology(name, tuple(nodes), links, tuple(edges), link_index, text=text)


def _parse_rows(text: str) -> list[tuple[int, str, str, float]]:
    """(line number, src, dst, km) for every non-blank line."""
    rows = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 3:
            raise TopologyError(f"line {line_no}: expected 'src dst km', got {line.strip()!r}")
        src, dst, km_text = fields
        try:
            km = float(km_text)
        except ValueError:
            raise TopologyError(f"line {line_no}: length {km_text!r} is not a number") from None
        if src == dst or km <= 0:
            raise TopologyError(f"line {line_no}: a link needs two nodes and a positive length")
        rows.append((line_no, src, dst, km))
    return rows


def fusion_data_root() -> str:
    """The shipped copy of FUSION's data files, laid out as under FUSION's root."""
    return os.path.join(DATA_DIR, "fusion")


@cache
def shipped_text(network: str) -> str:
    """The text of the shipped copy of one of FUSION's named networks."""
    return _read(_raw_file(SHIPPED_NETWORKS[network], None))


def _raw_file(name: str, fusion_root: StrPath | None) -> str:
    root = fusion_data_root() if fusion_root is None else os.fspath(fusion_root)
    return os.path.join(root, *RAW_DIR, name)


def _read(file: StrPath) -> str:
    try:
        with open(file, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise TopologyError(f"cannot read topology file {str(file)!r}: {exc}") from None


def read_core_nodes(text: str) -> tuple[str, ...]:
    """FUSION's core-node file: the first tab-separated field of every line."""
    return tuple(line.strip().split("\t")[0] for line in text.splitlines() if line.strip())


def load_topology(
    network: str,
    topology_file: StrPath | None = None,
    *,
    only_core_node: bool = True,
    fusion_root: StrPath | None = None,
) -> Topology:
    """A FUSION network by name (or the given file in FUSION's format).

    Named networks are read from ``<fusion_root>/data/raw`` as FUSION reads them, or
    from the shipped copy when no root is given. ``only_core_node = False`` draws
    request endpoints from the network's core-node file, as FUSION does.
    """
    if topology_file is not None:
        return parse_topology(_read(topology_file), name=network)
    if network not in SHIPPED_NETWORKS:
        raise TopologyError(f"network {network!r} is not one of FUSION's; give a topology file")
    topology = parse_topology(_read(_raw_file(SHIPPED_NETWORKS[network], fusion_root)), network)
    if only_core_node:
        return topology
    if network not in CORE_NODE_FILES:
        raise TopologyError(
            f"is_only_core_node = False draws requests between core nodes, and FUSION has no "
            f"core-node file for {network} (it raises 'No core nodes found')"
        )
    core = read_core_nodes(_read(_raw_file(CORE_NODE_FILES[network], fusion_root)))
    return topology.with_endpoints(core)
