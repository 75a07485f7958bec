"""FUSION's multi-core fibre layouts: which cores are adjacent to which.

FUSION's ``adjacent_core_indices`` (``fusion/utils/spectrum.py``) knows four layouts (4,
7, 13 and 19 cores); a core of any other count has no adjacent core. The lists are
FUSION's as they stand, including where they are not symmetric (in the 19-core layout
core 18 lists core 12, which does not list 18): the SNR recheck asks them of the new
lightpath's core (:mod:`~fusion_jupyter.sim.recheck`).
"""

from __future__ import annotations

from collections.abc import Mapping

#: The 7-core layout: a ring of six (0-5) around a centre core (6).
_SEVEN = {core: ((core - 1) % 6, (core + 1) % 6, 6) for core in range(6)} | {6: tuple(range(6))}
#: Two hexagonal rings: the 13-core layout, and the first 13 cores of the 19-core one.
_INNER = {
    0: (1, 5, 6),
    1: (0, 2, 6),
    2: (1, 3, 6),
    3: (2, 4, 6),
    4: (3, 5, 6),
    5: (0, 4, 6),
    6: (0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12),
}

LAYOUTS: Mapping[int, Mapping[int, tuple[int, ...]]] = {
    4: {0: (1, 2), 1: (0, 3), 2: (0, 3), 3: (1, 2)},
    7: _SEVEN,
    13: _INNER
    | {
        7: (6, 8, 12),
        8: (6, 7, 9),
        9: (6, 8, 10),
        10: (6, 9, 11),
        11: (6, 10, 12),
        12: (6, 7, 11),
    },
    19: _INNER
    | {
        7: (6, 8, 12, 13),
        8: (6, 7, 9, 13),
        9: (6, 8, 10, 14),
        10: (6, 9, 11, 15),
        11: (6, 10, 12, 16),
        12: (6, 7, 11, 17),
        13: (7, 8, 14, 18),
        14: (8, 9, 13, 15),
        15: (9, 10, 14, 16),
        16: (10, 11, 15, 17),
        17: (11, 12, 16, 18),
        18: (12, 13, 17),
    },
}


def adjacent(core: int, cores_per_link: int) -> tuple[int, ...]:
    """The cores FUSION counts as adjacent to ``core`` (none for an unknown layout)."""
    return LAYOUTS.get(cores_per_link, {}).get(core, ())
