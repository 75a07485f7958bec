"""FUSION's modulation table: which formats reach how far, and how many slots they take.

Within one bandwidth FUSION tries formats in ascending order of reach (the most
spectrally efficient first) and drops those whose reach is shorter than the path.
Slot counts never decrease along that order, so the first feasible format is the
one first fit will use whenever any format fits (sim-model.md §4).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

#: The modulation file shipped with the package (FUSION's default_mod_formats.json).
SHIPPED_MOD_FILE = "default_mod_formats.json"


class ModulationError(ValueError):
    """The modulation table is missing or malformed."""


@dataclass(frozen=True)
class ModFormat:
    """One modulation format for one bandwidth."""

    name: str
    max_length_km: float
    slots: int


#: Bandwidth in Gb/s -> its formats in ascending order of reach.
ModTable = Mapping[int, tuple[ModFormat, ...]]


def load_mod_table(assumption: str = "DEFAULT", path: str | Path | None = None) -> ModTable:
    """The table under ``assumption`` in FUSION's JSON format, bandwidths in file order."""
    if path is None:
        text = (resources.files("fusion_jupyter.sim") / "data" / SHIPPED_MOD_FILE).read_text(
            encoding="utf-8"
        )
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ModulationError(f"cannot read modulation file {str(path)!r}: {exc}") from None
    document = json.loads(text)
    if assumption not in document:
        raise ModulationError(f"modulation assumption {assumption!r} is not in the table")
    return parse_mod_table(document[assumption])


def parse_mod_table(section: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> ModTable:
    """Convert one assumption's JSON object into a :data:`ModTable`."""
    table: dict[int, tuple[ModFormat, ...]] = {}
    for bandwidth, formats in section.items():
        entries = [
            ModFormat(name, float(spec["max_length"]), int(spec["slots_needed"]))
            for name, spec in formats.items()
        ]
        # sorted() is stable, so formats of equal reach keep the file's order.
        table[int(bandwidth)] = tuple(sorted(entries, key=lambda fmt: fmt.max_length_km))
    return table


def available_assumptions() -> list[str]:
    """The assumption names the shipped file defines."""
    text = (resources.files("fusion_jupyter.sim") / "data" / SHIPPED_MOD_FILE).read_text(
        encoding="utf-8"
    )
    return list(json.loads(text))


def best_format(formats: tuple[ModFormat, ...], length_km: float) -> ModFormat | None:
    """The most efficient format whose reach covers the path (reach is inclusive)."""
    for fmt in formats:
        if fmt.max_length_km >= length_km:
            return fmt
    return None
