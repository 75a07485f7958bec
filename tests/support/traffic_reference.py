"""A request-by-request port of FUSION's request generator, the reference of the tests.

:func:`fusion_jupyter.sim.traffic.stream_events` generates FUSION's events lazily; this
keeps every request and sorts all 2N events by time as FUSION does, so the tests can hold
the stream to it. It lives with the tests because nothing else runs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fusion_jupyter.sim.traffic import Uniforms


@dataclass(frozen=True)
class Requests:
    """One iteration's requests in arrival order (index = request number - 1)."""

    source: list[int]
    destination: list[int]
    #: Index into the bandwidth list the quotas were given for.
    bandwidth: list[int]
    arrive: list[float]
    depart: list[float]
    #: All 2N events in FUSION's order: ``i`` is request i's arrival, ``N + i`` its release.
    order: list[int]

    def __len__(self) -> int:
        return len(self.arrive)


def generate_requests_exact(
    seed: int,
    num_nodes: int,
    quotas: Sequence[int],
    arrival_rate: float,
    holding_time: float,
    draws: Uniforms | None = None,
) -> Requests:
    """A request-by-request port of FUSION's generator and its stable sort by time.

    The reference for :func:`stream_events`: every request is kept (FUSION's keys
    include the request id), and events of equal time stay in insertion order.
    """
    draws = draws or Uniforms(seed)
    remaining = list(quotas)
    num_bw = len(remaining)
    columns: tuple[list[int], list[int], list[int]] = ([], [], [])
    arrivals: list[float] = []
    departures: list[float] = []
    now = 0.0
    while len(arrivals) < sum(quotas):
        arrive = now + (-1.0 / arrival_rate) * draws.next_log()
        depart = arrive + (-1.0 / (1 / holding_time)) * draws.next_log()
        now = arrive
        src = int(draws.next() * num_nodes)
        dst = int(draws.next() * num_nodes)
        while dst == src:
            dst = int(draws.next() * num_nodes)
        bw = int(draws.next() * num_bw)
        while not remaining[bw]:
            bw = int(draws.next() * num_bw)
        remaining[bw] -= 1
        for column, value in zip(columns, (src, dst, bw), strict=True):
            column.append(value)
        arrivals.append(arrive)
        departures.append(depart)
    count = len(arrivals)
    inserted = [event for i in range(count) for event in (i, count + i)]
    times = {i: arrivals[i] for i in range(count)} | {
        count + i: departures[i] for i in range(count)
    }
    order = sorted(inserted, key=times.__getitem__)  # stable, as FUSION's sorted()
    return Requests(*columns, arrivals, departures, order)
