"""Request generation that draws exactly the random numbers FUSION draws.

FUSION seeds numpy's legacy global generator with ``i + 1`` for iteration ``i`` and
then, per request, draws uniforms in this order (``fusion/core/request.py``):
inter-arrival time, holding time, source, destination (redrawn until it differs),
bandwidth (redrawn until its quota has room). A ``RandomState(seed)`` produces the
same stream without touching the global generator, and drawing it in blocks yields
the same numbers in the same order as drawing them one at a time.

Times are built with FUSION's exact float expressions, so arrival and departure
times (and therefore the event order) are bit-identical. A request whose arrival or
departure time equals an earlier event's is discarded and its bandwidth quota
returned, as FUSION's dict-keyed-by-time generator does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fusion_jupyter.sim.params import QuotaError, bandwidth_quotas

__all__ = [
    "QuotaError",
    "Requests",
    "bandwidth_quotas",
    "generate_requests",
    "generate_requests_exact",
]

#: Extra uniforms drawn beyond the expected need, and per refill.
_BLOCK = 1 << 12
#: Uniforms every request takes before its redraw loops (arrival, holding, src, dst).
_PER_REQUEST = 4
#: Uniforms drawn up front per request: FUSION needs about 6.5 with its redraws.
_DRAWS_PER_REQUEST = 7


@dataclass(frozen=True)
class Requests:
    """One iteration's requests in arrival order (index = request number - 1)."""

    source: list[int]
    destination: list[int]
    #: Index into the bandwidth list the quotas were given for.
    bandwidth: list[int]
    arrive: list[float]
    depart: list[float]
    #: All 2N events in time order: ``i`` is request i's arrival, ``N + i`` its release.
    order: list[int]

    def __len__(self) -> int:
        return len(self.arrive)


def _requests(
    walk: tuple[list[int], list[int], list[int]], arrive: np.ndarray, depart: np.ndarray
) -> tuple[Requests, bool]:
    """Bundle drawn requests with their event order; also say if two times are equal."""
    times = np.concatenate([arrive, depart])
    order = np.argsort(times, kind="stable")
    ordered = times[order]
    has_ties = bool(np.any(ordered[1:] == ordered[:-1]))
    requests = Requests(*walk, arrive.tolist(), depart.tolist(), order.tolist())
    return requests, has_ties


def generate_requests(
    seed: int,
    num_nodes: int,
    quotas: Sequence[int],
    arrival_rate: float,
    holding_time: float,
) -> Requests:
    """Draw ``sum(quotas)`` requests as FUSION does for one iteration.

    The fast path walks a pre-drawn block of uniforms and computes all times at
    once; it equals FUSION's sequence whenever no two event times coincide, which is
    checked. If they do (FUSION would have dropped a request there), the request-by-
    request port :func:`generate_requests_exact` is used instead.
    """
    rng = np.random.RandomState(seed)
    target = sum(quotas)
    values = rng.random_sample(_DRAWS_PER_REQUEST * target + _BLOCK)
    while True:
        try:
            walk = _walk(values, num_nodes, quotas, target)
            break
        except IndexError:  # the redraws needed more uniforms than drawn: draw half more
            values = np.concatenate([values, rng.random_sample(len(values) // 2)])
    positions = np.asarray(walk[0], dtype=np.intp)
    with np.errstate(divide="ignore"):
        arrive = np.cumsum((-1.0 / arrival_rate) * np.log(values[positions]))
        depart = arrive + (-1.0 / (1 / holding_time)) * np.log(values[positions + 1])
    requests, has_ties = _requests(walk[1:], arrive, depart)
    if has_ties:
        return generate_requests_exact(seed, num_nodes, quotas, arrival_rate, holding_time)
    return requests


def _walk(
    values: np.ndarray, num_nodes: int, quotas: Sequence[int], target: int
) -> tuple[list[int], list[int], list[int], list[int]]:
    """Follow FUSION's draw order through ``values``, assuming no time collisions.

    Returns, per request, the position of its inter-arrival uniform (the holding
    uniform follows it), its source, destination and bandwidth index. Raises
    IndexError if ``values`` runs out.
    """
    node_draws = (values * num_nodes).astype(np.int64).tolist()
    bw_draws = (values * len(quotas)).astype(np.int64).tolist()
    remaining = list(quotas)
    positions: list[int] = []
    sources: list[int] = []
    destinations: list[int] = []
    bandwidths: list[int] = []
    pos = 0
    for _ in range(target):
        src = node_draws[pos + 2]
        dst = node_draws[pos + 3]
        positions.append(pos)
        pos += _PER_REQUEST
        while dst == src:
            dst = node_draws[pos]
            pos += 1
        bw = bw_draws[pos]
        pos += 1
        while not remaining[bw]:
            bw = bw_draws[pos]
            pos += 1
        remaining[bw] -= 1
        sources.append(src)
        destinations.append(dst)
        bandwidths.append(bw)
    return positions, sources, destinations, bandwidths


class _Uniforms:
    """FUSION's uniform stream one value at a time, for :func:`generate_requests_exact`."""

    __slots__ = ("pos", "rng", "values")

    def __init__(self, seed: int) -> None:
        self.rng = np.random.RandomState(seed)
        self.values: list[float] = []
        self.pos = 0

    def next(self) -> float:
        """The next uniform of the stream."""
        if self.pos == len(self.values):
            self.values = self.rng.random_sample(_BLOCK).tolist()
            self.pos = 0
        value = self.values[self.pos]
        self.pos += 1
        return value


def _log(value: float) -> float:
    """ln(U) through numpy, as FUSION takes it."""
    with np.errstate(divide="ignore"):
        return float(np.log(value))


def generate_requests_exact(
    seed: int,
    num_nodes: int,
    quotas: Sequence[int],
    arrival_rate: float,
    holding_time: float,
    draws: _Uniforms | None = None,
) -> Requests:
    """A request-by-request port of FUSION's generator, time collisions included.

    The reference for :func:`generate_requests`, and its fallback when two event
    times coincide: such a request is dropped and its bandwidth quota returned, while
    the clock keeps the dropped arrival time.
    """
    draws = draws or _Uniforms(seed)
    remaining = list(quotas)
    num_bw = len(remaining)
    walk: tuple[list[int], list[int], list[int]] = ([], [], [])
    arrivals: list[float] = []
    departures: list[float] = []
    seen: set[float] = set()
    now = 0.0
    while len(arrivals) < sum(quotas):
        arrive = now + (-1.0 / arrival_rate) * _log(draws.next())
        depart = arrive + (-1.0 / (1 / holding_time)) * _log(draws.next())
        now = arrive
        src = int(draws.next() * num_nodes)
        dst = int(draws.next() * num_nodes)
        while dst == src:
            dst = int(draws.next() * num_nodes)
        bw = int(draws.next() * num_bw)
        while not remaining[bw]:
            bw = int(draws.next() * num_bw)
        if arrive in seen or depart in seen:
            continue  # FUSION drops a time collision; its quota was never taken
        remaining[bw] -= 1
        seen.add(arrive)
        seen.add(depart)
        for column, value in zip(walk, (src, dst, bw), strict=True):
            column.append(value)
        arrivals.append(arrive)
        departures.append(depart)
    return _requests(walk, np.array(arrivals), np.array(departures))[0]
