"""Request generation that draws exactly the random numbers FUSION draws.

FUSION seeds numpy's legacy global generator with ``i + 1`` for iteration ``i`` and
then, per request, draws uniforms in this order (``fusion/core/request.py``):
inter-arrival time, holding time, source, destination (redrawn until it differs),
bandwidth (redrawn until its quota has room). numpy's legacy generator is MT19937 with
Knuth's seeding of the integer seed, and its ``random_sample`` is the same 53-bit
draw as :meth:`random.Random.random`; so an MT19937 given that state yields FUSION's
stream without importing ``numpy.random`` (a few ms of start-up that a small run
notices). The generator is ``_random.Random``, the C class :class:`random.Random`
extends: the Python module's seeding and distributions are not needed, and its import
cost 3.2 M instructions (about 1 % of a small fixture's process). Drawing in blocks
yields the same numbers in the same order as drawing them one at a time; ``np.log`` of
a block gives, element for element, what FUSION's ``np.log`` of each scalar gives
(numpy's log is its own SIMD code on some CPUs, not :func:`math.log`, and differs from
it in the last bit on some inputs; it is called without importing numpy where
:mod:`fusion_jupyter.sim.numpy_math` can).

Times are built with FUSION's exact float expressions, so arrival and departure
times (and therefore the event order) are bit-identical. FUSION keys every event by
``(request_id, time)`` and sorts all 2N events by time with a stable sort, so equal
times keep insertion order: request by request, arrival before departure.

:func:`stream_events` yields that order lazily: arrivals are generated one ahead and
pending departures wait in a heap, so memory grows with the requests in the network,
not with ``num_requests``. The tests hold it to a request-by-request port of FUSION's
generator (``tests/support/traffic_reference.py``).
"""

from __future__ import annotations

import _random
from collections.abc import Iterator, Sequence

from fusion_jupyter.sim import numpy_math
from fusion_jupyter.sim.params import QuotaError, bandwidth_quotas

__all__ = [
    "QuotaError",
    "bandwidth_quotas",
    "stream_events",
]

#: Uniforms drawn (and their logs taken) per block, at most.
_BLOCK = 1 << 12
#: Uniforms a request draws, with room for redraws: five, and a destination or bandwidth
#: drawn again now and then; and a few more a block (the last requests' redraws). A block
#: is sized for the requests left, so that a small iteration does not draw and log a
#: whole block it mostly throws away.
_DRAWS_PER_REQUEST = 6
_DRAWS_SPARE = 64
#: MT19937's state size in 32-bit words.
_MT_WORDS = 624
#: ``init_genrand``'s multiplier.
_MT_MULTIPLIER = 1812433253


def legacy_generator(seed: int) -> _random.Random:
    """A generator whose ``random()`` stream is ``np.random.RandomState(seed).random_sample``.

    numpy seeds an integer with MT19937's ``init_genrand``; Python's ``seed`` hashes
    it differently, so the state is built here and set directly.

    The 32-bit products are taken in 16-bit halves: compiled, a multiplication stays
    on machine integers only when both factors are below 2**30, and a Python integer
    one cost a million instructions a seed.
    """
    low, high = _MT_MULTIPLIER & 0xFFFF, _MT_MULTIPLIER >> 16
    state = [seed & 0xFFFFFFFF]
    for index in range(1, _MT_WORDS):
        previous = state[-1]
        mixed = previous ^ (previous >> 30)
        mixed_low, mixed_high = mixed & 0xFFFF, mixed >> 16
        carried = ((low * mixed_high + high * mixed_low) & 0xFFFF) << 16
        state.append((low * mixed_low + carried + index) & 0xFFFFFFFF)
    generator = _random.Random()
    generator.setstate((*state, _MT_WORDS))
    return generator


def uniform_block(rng: _random.Random, count: int) -> list[float]:
    """The next ``count`` values of ``rng.random()``, drawn at once.

    ``random()`` builds a double from two 32-bit outputs ``a`` and ``b`` of MT19937 as
    ``((a >> 5) * 2**26 + (b >> 6)) / 2**53``. ``getrandbits`` returns the same outputs
    in the same order (the first in the least significant bits, on every platform), so
    that arithmetic done on the block (:func:`numpy_math.uniforms`) gives the very same
    doubles (every step is exact: ints below 2**53 and a power-of-two scale) and leaves
    the generator where ``count`` calls of ``random()`` would. One call instead of
    ``count``: the 4096 calls and the conversion of their list for ``np.log`` were 44 %
    of a small fixture's request generation.
    """
    return numpy_math.uniforms(rng.getrandbits(64 * count).to_bytes(8 * count, "little"))


class Uniforms:
    """FUSION's uniform stream for one seed, with the natural log of every value."""

    __slots__ = ("logs", "pos", "rng", "values")

    def __init__(self, seed: int) -> None:
        self.rng = legacy_generator(seed)
        self.values: list[float] = []
        self.logs: list[float] = []
        self.pos = 0

    def refill(self, count: int = _BLOCK) -> None:
        """Draw the next block, of ``count`` uniforms."""
        self.values = uniform_block(self.rng, count)
        self.logs = numpy_math.log_of(self.values)
        self.pos = 0

    def next(self) -> float:
        """The next uniform of the stream."""
        if self.pos == len(self.values):
            self.refill()
        value = self.values[self.pos]
        self.pos += 1
        return value

    def next_log(self) -> float:
        """ln of the next uniform (``np.log`` of it, as FUSION takes it)."""
        if self.pos == len(self.values):
            self.refill()
        value = self.logs[self.pos]
        self.pos += 1
        return value


#: An arrival: (request index, source index, destination index, bandwidth index,
#: arrival time, departure time). A departure: the same with ``~index`` first.
Event = tuple[int, int, int, int, float, float]


def stream_events(
    seed: int,
    num_nodes: int,
    quotas: Sequence[int],
    arrival_rate: float,
    holding_time: float,
    draws: Uniforms | None = None,
) -> Iterator[Event]:
    """FUSION's 2N events of one iteration in its order, generated as they are needed.

    The draws are read straight from the current block (this is the hot loop):
    ``draws.values[pos]`` and ``draws.logs[pos]``, refilling when a block is used up.
    """
    draws = draws or Uniforms(seed)
    remaining = list(quotas)
    num_bw = len(remaining)
    arrival_scale = -1.0 / arrival_rate
    holding_scale = -1.0 / (1 / holding_time)
    pending = Departures()
    values, logs, pos = draws.values, draws.logs, draws.pos
    now = 0.0
    total = sum(quotas)
    for index in range(total):
        if pos + 5 > len(values):  # 5 draws follow unless a redraw is needed
            values, logs, pos = _carry(draws, pos, total - index)
        arrive = now + arrival_scale * logs[pos]
        depart = arrive + holding_scale * logs[pos + 1]
        now = arrive
        src = int(values[pos + 2] * num_nodes)
        dst = int(values[pos + 3] * num_nodes)
        pos += 4
        while dst == src:
            if pos == len(values):
                values, logs, pos = _carry(draws, pos, total - index)
            dst = int(values[pos] * num_nodes)
            pos += 1
        if pos == len(values):
            values, logs, pos = _carry(draws, pos, total - index)
        bw = int(values[pos] * num_bw)
        pos += 1
        while not remaining[bw]:
            if pos == len(values):
                values, logs, pos = _carry(draws, pos, total - index)
            bw = int(values[pos] * num_bw)
            pos += 1
        remaining[bw] -= 1
        # Earlier departures at or before this arrival come first (on a tie too: they
        # were inserted first).
        while pending.heap and pending.first_time() <= arrive:
            yield pending.pop()
        yield (index, src, dst, bw, arrive, depart)
        pending.push(depart, index, (~index, src, dst, bw, arrive, depart))
    draws.pos = pos
    while pending.heap:
        yield pending.pop()


class _Departure:
    """One pending departure: its time, its request's index (the tie-break) and event."""

    __slots__ = ("event", "index", "time")

    def __init__(self, time: float, index: int, event: object) -> None:
        self.time = time
        self.index = index
        #: The event as an object: typed as a tuple, compiled code would unpack it on
        #: the way in and build it again on the way out.
        self.event = event

    def before(self, other: _Departure) -> bool:
        """Whether this departure comes first (FUSION's stable sort by time)."""
        return self.time < other.time or (self.time == other.time and self.index < other.index)


class Departures:
    """Pending departures, the earliest first; on a tie, the earlier request's first.

    A binary heap of :class:`_Departure` objects: compiled, its comparisons read machine
    floats and ints, where :mod:`heapq` compared ``(time, index, event)`` tuples through
    the generic rich comparison (about 1,900 instructions a push or pop on a small
    fixture). A request's index is unique, so the order is the one such tuples sort in.
    """

    __slots__ = ("heap",)

    def __init__(self) -> None:
        self.heap: list[_Departure] = []

    def __len__(self) -> int:
        return len(self.heap)

    def first_time(self) -> float:
        """The time of the first departure (the heap must not be empty)."""
        return self.heap[0].time

    def push(self, time: float, index: int, event: Event) -> None:
        """Add a departure; ``index`` orders it among departures at the same time."""
        item = _Departure(time, index, event)
        self.heap.append(item)
        _rise(self.heap, len(self.heap) - 1, item)

    def pop(self) -> Event:
        """Remove and return the first departure (the heap must not be empty).

        As :mod:`heapq` does: the hole at the top sinks to a leaf along the earlier
        child, and the last item rises from there (it belongs near the bottom).
        """
        heap = self.heap
        first = heap[0]
        item = heap.pop()
        size = len(heap)
        if size:
            pos = 0
            child = 1
            while child < size:
                right = child + 1
                if right < size and heap[right].before(heap[child]):
                    child = right
                heap[pos] = heap[child]
                pos = child
                child = 2 * pos + 1
            _rise(heap, pos, item)
        event = first.event
        assert isinstance(event, tuple)  # an Event, held as an object (see _Departure)
        return event


def _rise(heap: list[_Departure], pos: int, item: _Departure) -> None:
    """Put ``item`` at ``pos`` or above it, moving the later departures down."""
    while pos > 0:
        parent = (pos - 1) >> 1
        above = heap[parent]
        if above.before(item):
            break
        heap[pos] = above
        pos = parent
    heap[pos] = item


def _carry(draws: Uniforms, pos: int, requests: int) -> tuple[list[float], list[float], int]:
    """Keep the unread part of the block and append the next one, sized for ``requests``
    more requests (a whole block at most)."""
    rest_values, rest_logs = draws.values[pos:], draws.logs[pos:]
    draws.refill(min(_BLOCK, _DRAWS_PER_REQUEST * requests + _DRAWS_SPARE))
    draws.values = rest_values + draws.values
    draws.logs = rest_logs + draws.logs
    return draws.values, draws.logs, 0
