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

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import networkx as nx

#: Networks whose topology file ships with the package (FUSION's ``network`` key).
SHIPPED_NETWORKS: dict[str, str] = {"NSFNet": "nsf_network.txt"}


class TopologyError(ValueError):
    """The topology file cannot be read as FUSION's format."""


@dataclass(frozen=True)
class Link:
    """One undirected link; FUSION shares one spectrum grid between both directions."""

    index: int
    u: str
    v: str
    length_km: float
    #: 1-based number of the file line that defined it last (FUSION keeps the later one).
    link_num: int


@dataclass(frozen=True)
class Topology:
    """Nodes, undirected links and the networkx graph routing runs on."""

    name: str
    nodes: tuple[str, ...]
    links: tuple[Link, ...]
    graph: nx.Graph
    #: (u, v) and (v, u) -> link index.
    link_index: dict[tuple[str, str], int]

    def link_between(self, u: str, v: str) -> Link:
        """The undirected link joining two adjacent nodes."""
        return self.links[self.link_index[(u, v)]]


def parse_topology(text: str, name: str = "custom") -> Topology:
    """Build a topology from the text of a FUSION topology file."""
    rows = _parse_rows(text)
    if not rows:
        raise TopologyError(f"topology {name!r} lists no links")
    nodes: dict[str, None] = {}
    graph = nx.Graph()
    lengths: dict[frozenset[str], tuple[str, str, float, int]] = {}
    for line_no, u, v, km in rows:
        nodes.setdefault(u)
        nodes.setdefault(v)
        # Adding every line, both directions included, reproduces FUSION's graph.
        graph.add_edge(u, v, length=km)
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
    return Topology(name, tuple(nodes), links, graph, link_index)


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


def load_topology(network: str, topology_file: str | Path | None = None) -> Topology:
    """The named shipped network, or the given file in FUSION's format."""
    if topology_file is not None:
        path = Path(topology_file)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise TopologyError(f"cannot read topology file {str(path)!r}: {exc}") from None
        return parse_topology(text, name=network)
    if network not in SHIPPED_NETWORKS:
        raise TopologyError(f"network {network!r} is not shipped; give a topology file")
    data = resources.files("fusion_jupyter.sim") / "data" / SHIPPED_NETWORKS[network]
    return parse_topology(data.read_text(encoding="utf-8"), name=network)
