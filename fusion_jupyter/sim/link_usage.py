"""FUSION's ``link_usage``: per directed link, lightpaths set up and traffic carried.

FUSION (``sdn_controller.py``) adds one to a link's ``usage_count`` in both directions
for every lightpath it allocates on it, also one it rolls back a moment later (a slice
of a tier that does not fit, a lightpath that fails the SNR recheck), and adds a
request's ``bandwidth x (depart - arrive)`` to its path's ``throughput`` in both
directions when the request leaves. Its statistics copy the two counters after every
counted arrival (``metrics.iter_update``: routed, and with a new lightpath), so the
figures written are those of the iteration's last counted arrival: what happens after
it is not in them, and an iteration without one writes ``{}``.

The counters here follow that: every allocation and release is logged in event order,
each counted arrival marks how far the log goes, and the log is folded into the
per-link counters up to the last mark (in event order, so each link's throughput is
FUSION's float sum), from time to time so that memory stays flat.
"""

from __future__ import annotations

from collections.abc import Sequence

from fusion_jupyter.sim.topology import Topology

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Log entries kept before the marked part is folded into the counters.
FOLD_AT = 4096


class LinkUsage:
    """One iteration's ``link_usage`` counters, as FUSION's statistics see them."""

    def __init__(self, allocations: list[tuple[Sequence[int], int]]) -> None:
        """``allocations`` is the spectrum's log of (links, lightpaths) set up, in order
        (:attr:`~fusion_jupyter.sim.spectrum.Spectrum.allocations`); it is drained here."""
        self._allocations = allocations
        self._releases: list[tuple[Sequence[int], float]] = []
        self._marks = (0, 0)
        self._counted = False
        self._usage: dict[int, int] = {}
        #: Absent until a request leaves over the link: FUSION's figure is then int 0.
        #: Not ``float``: the compiled build (hatch_build.py) would write that 0 as 0.0.
        self._throughput: dict[int, int | float] = {}

    def released(self, links: Sequence[int], carried: float) -> None:
        """A routed request left its path: ``carried`` is bandwidth x holding time."""
        self._releases.append((links, carried))

    def counted(self) -> None:
        """A counted arrival: FUSION's statistics copy the counters as they are now."""
        self._counted = True
        self._marks = (len(self._allocations), len(self._releases))
        if self._marks[0] + self._marks[1] > FOLD_AT:
            self._fold()

    def _fold(self) -> None:
        """Add the log up to the marks to the counters, in event order, and drop it."""
        allocated, released = self._marks
        usage, throughput = self._usage, self._throughput
        for links, count in self._allocations[:allocated]:
            for link in links:
                usage[link] = usage.get(link, 0) + count
        for links, carried in self._releases[:released]:
            for link in links:
                throughput[link] = throughput.get(link, 0) + carried
        del self._allocations[:allocated]
        del self._releases[:released]
        self._marks = (0, 0)

    def result(self, topology: Topology) -> dict[str, dict[str, Any]]:
        """FUSION's ``link_usage_dict`` of the last counted arrival (``{}`` if none)."""
        if not self._counted:
            return {}
        self._fold()
        out: dict[str, dict[str, Any]] = {}
        for link in topology.links:
            entry = {
                "usage_count": self._usage.get(link.index, 0),
                "throughput": self._throughput.get(link.index, 0),
                "link_num": link.link_num,
            }
            out[f"{link.u}-{link.v}"] = entry
            out[f"{link.v}-{link.u}"] = dict(entry)
        return out
