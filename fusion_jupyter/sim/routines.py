"""What computes numpy's functions for :mod:`~fusion_jupyter.sim.numpy_math`: the
``_svml`` extension module itself, or numpy.

Only type checkers import this module: a Protocol is built with ``typing`` at run
time, which the simulator's start-up does without, and numpy_math is compiled, where
mypyc builds no class inside ``if TYPE_CHECKING``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class Routines(Protocol):
    """numpy's functions by slot (``numpy_math.FUNCTIONS``), on arrays and on scalars,
    and its uniform doubles from MT19937 words."""

    def apply(self, slot: int, values: Iterable[float]) -> list[float]: ...
    def apply_one(self, slot: int, x: float) -> float: ...
    def uniforms(self, words: bytes) -> list[float]: ...
