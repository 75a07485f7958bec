"""FUSION's intra-core crosstalk on 7-core fibres: the XT-aware link cost and the XT check.

Two of FUSION's computations read which slots of which cores carry a signal (FUSION's
spectrum holds a lightpath's id on its slots and minus its id on its guard slots, and
both only count a slot as occupied when it is positive, so guard slots do not count):

* the XT-aware routing cost of a link (``fusion/modules/routing/utils.py``
  ``find_xt_link_cost``): over every free slot of every core, in core then slot order,
  the share of the core's neighbours (the centre core 6 and the two ring neighbours;
  for core 6 the six ring cores) that carry a signal on that slot, summed and divided
  by the number of free slots (1000.0 for a full link);
* the XT check of a candidate lightpath (``fusion/core/snr_measurements.py``
  ``check_xt``): per link, the most neighbours that carry a signal on any of its slots
  (the guard slot position included, as FUSION's ``end_slot`` reaches it), weighted by
  FUSION's coupled-power formula and summed over the path; 0 passes, otherwise
  ``10 log10`` of the sum must be below the format's ``requested_xt``.

Both follow FUSION's floating-point operations in its order (zero terms of the cost's
sum are skipped: adding 0.0 to a non-negative float leaves it unchanged).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: FUSION's cost of a link with no free slot (``FULLY_CONGESTED_LINK_COST``).
FULLY_CONGESTED_LINK_COST = 1000.0
#: FUSION's mean crosstalk coefficient and km -> m factor (``snr_measurements.py``).
MEAN_XT_CONSTANT = 3.78e-9
LENGTH_CONVERSION_FACTOR = 1e3
#: Cores of the fibre these formulas describe (FUSION: "optimized for seven-core fiber").
CORES = 7
CENTRE = 6


def routing_neighbours(core: int) -> tuple[int, ...]:
    """FUSION's ``_find_adjacent_cores``: the centre, then the ring neighbours."""
    if core == CENTRE:
        return tuple(range(6))
    return (CENTRE, 5 if core == 0 else core - 1, 0 if core == 5 else core + 1)


def check_neighbours(core: int) -> tuple[int, ...]:
    """``check_adjacent_cores``' neighbours (the same set, in its order)."""
    if core == CENTRE:
        return tuple(range(6))
    return (5 if core == 0 else core - 1, 0 if core == 5 else core + 1, CENTRE)


def link_cost(free: int, signal: int, stride: int, slots: int) -> float:
    """FUSION's XT-aware routing cost of one link.

    ``free`` and ``signal`` are the link's bitsets (core ``c`` slot ``s`` is bit
    ``c * stride + s``): slots nothing occupies, and slots carrying a lightpath. The
    per-slot shares are summed with ``numpy.cumsum``, which adds in order one by one
    like FUSION's loop (``numpy.sum`` would sum pairwise and round differently).
    """
    import numpy as np

    free_bits = _bit_matrix(free, stride, slots)
    signal_bits = _bit_matrix(signal, stride, slots)
    free_slots = int(free_bits.sum())
    if free_slots == 0:
        return FULLY_CONGESTED_LINK_COST
    neighbours, divisors = _neighbour_matrix()
    counts = neighbours @ signal_bits.astype(np.int64)
    # Row-major boolean indexing keeps FUSION's order: core by core, slots upwards.
    shares = (counts / divisors)[free_bits]
    xt_cost = float(np.cumsum(shares)[-1])
    return xt_cost / free_slots


@cache
def _neighbour_matrix() -> tuple[Any, Any]:
    """Which cores neighbour which (rows), and each row's neighbour count."""
    import numpy as np

    matrix = np.zeros((CORES, CORES), dtype=np.int64)
    for core in range(CORES):
        matrix[core, list(routing_neighbours(core))] = 1
    return matrix, matrix.sum(axis=1, keepdims=True).astype(np.float64)


def link_cost_reference(free: int, signal: int, stride: int, slots: int) -> float:
    """:func:`link_cost` as FUSION's loop, one slot at a time (the tests compare them)."""
    xt_cost = 0.0
    free_slots = 0
    for core in range(CORES):
        neighbours = routing_neighbours(core)
        for slot in range(slots):
            if not (free >> (core * stride + slot)) & 1:
                continue
            free_slots += 1
            overlapped = 0.0
            for neighbour in neighbours:
                if (signal >> (neighbour * stride + slot)) & 1:
                    overlapped += 1
            overlapped /= len(neighbours)
            xt_cost += overlapped
    if free_slots == 0:
        return FULLY_CONGESTED_LINK_COST
    return xt_cost / free_slots


def _bit_matrix(bits: int, stride: int, slots: int) -> Any:
    """A (cores, slots) boolean array of a link bitset."""
    import numpy as np

    size = CORES * stride
    raw = np.frombuffer(bits.to_bytes((size + 7) // 8, "little"), dtype=np.uint8)
    unpacked = np.unpackbits(raw, bitorder="little")[:size]
    return unpacked.reshape(CORES, stride)[:, :slots].astype(bool)


def coupled_xt(neighbours: int, length_km: float) -> float:
    """FUSION's ``calculate_xt``: one link's crosstalk for ``neighbours`` interferers."""
    resp_xt = 1 - math.exp(-2 * MEAN_XT_CONSTANT * length_km * LENGTH_CONVERSION_FACTOR)
    resp_xt /= 1 + math.exp(-2 * MEAN_XT_CONSTANT * length_km * LENGTH_CONVERSION_FACTOR)
    return resp_xt * neighbours


def path_xt(
    signals: Sequence[int],
    lengths_km: Sequence[float],
    core: int,
    start: int,
    end: int,
    stride: int,
) -> float:
    """FUSION's ``check_xt`` sum: per link, the most interferers over slots start..end-1."""
    cross_talk = 0.0
    neighbours = check_neighbours(core)
    window = ((1 << (end - start)) - 1) << start
    for signal, length_km in zip(signals, lengths_km, strict=True):
        most = 0
        masks = [(signal >> (n * stride)) & window for n in neighbours]
        if any(masks):
            for slot in range(start, end):
                bit = 1 << slot
                overlapped = sum(1 for mask in masks if mask & bit)
                most = max(most, overlapped)
        cross_talk += coupled_xt(most, length_km)
    return cross_talk


def xt_db(cross_talk: float) -> float:
    """FUSION's reported crosstalk: 0.0 for none, else ``10 log10``."""
    return 0.0 if cross_talk == 0 else 10 * math.log10(cross_talk)
