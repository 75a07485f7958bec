"""FUSION's modulation table: which formats reach how far, and how many slots they take.

Within one bandwidth FUSION tries formats in ascending order of reach (the most
spectrally efficient first) and drops those whose reach is shorter than the path.
Slot counts never decrease along that order, so the first feasible format is the
one first fit will use whenever any format fits (sim-model.md §4).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from fusion_jupyter.sim import DATA_DIR

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final

    from _typeshed import StrPath

#: FUSION's default table, relative to its root (its templates name it).
SHIPPED_MOD_FILE = "data/json_input/example_mods/default_mod_formats.json"
#: What FUSION reads when ``mod_assumption_path`` is empty or None (``fusion/io/generate.py``).
FUSION_DEFAULT_MOD_PATH = "data/json_input/run_mods/mod_formats.json"


class ModulationError(ValueError):
    """The modulation table is missing or malformed."""


class ModFormat:
    """One modulation format for one bandwidth: a value, equal to another with the same
    fields.

    A plain class rather than a NamedTuple (or a frozen dataclass, whose methods are
    compiled as the module loads): this module is compiled, and mypyc builds a
    NamedTuple with ``typing``, which the simulator's start-up does without
    (``fusion_jupyter/_namedtuple.py``).
    """

    __slots__ = ("max_length_km", "name", "slots")

    def __init__(self, name: str, max_length_km: float, slots: int) -> None:
        self.name: Final = name
        self.max_length_km: Final = max_length_km
        self.slots: Final = slots

    def _fields(self) -> tuple[str, float, int]:
        return self.name, self.max_length_km, self.slots

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ModFormat):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        name, reach, slots = self._fields()
        return f"ModFormat(name={name!r}, max_length_km={reach!r}, slots={slots!r})"


#: Bandwidth in Gb/s -> its formats in ascending order of reach.
ModTable = Mapping[int, tuple[ModFormat, ...]]


def _shipped(relative: str) -> str:
    return os.path.join(DATA_DIR, "fusion", *relative.split("/"))


def resolve_mod_path(value: str | None, fusion_root: StrPath | None = None) -> str:
    """The modulation file ``mod_assumption_path = value`` names, as FUSION resolves it.

    Empty or None means FUSION's ``data/json_input/run_mods/mod_formats.json``; a
    relative path is relative to FUSION's root. Without a root, the shipped copy of
    FUSION's data files stands in for it. Raises ModulationError if the file is not there.
    """
    relative = FUSION_DEFAULT_MOD_PATH if value in (None, "", "None") else str(value)
    absolute = os.path.isabs(relative)
    if absolute:
        found = relative
    elif fusion_root is not None:
        found = os.path.join(fusion_root, relative)
    else:
        found = _shipped(relative)
    if not os.path.isfile(found):
        where = (
            ""
            if absolute or fusion_root is not None
            else (
                " (no FUSION root was given, and the shipped copy of FUSION's data has no such "
                "file: give --fusion_root or an absolute path)"
            )
        )
        raise ModulationError(f"modulation file {found!r} does not exist{where}")
    return found


def load_mod_table(assumption: str = "DEFAULT", path: StrPath | None = None) -> ModTable:
    """The table under ``assumption`` in FUSION's JSON format, bandwidths in file order.

    ``path`` None means FUSION's default table (shipped).
    """
    file = _shipped(SHIPPED_MOD_FILE) if path is None else path
    try:
        text = _read(file)
    except OSError as exc:
        raise ModulationError(f"cannot read modulation file {str(file)!r}: {exc}") from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ModulationError(f"modulation file {str(file)!r} is not JSON: {exc}") from None
    if assumption not in document:
        raise ModulationError(f"modulation assumption {assumption!r} is not in the table")
    return parse_mod_table(document[assumption])


def _read(file: StrPath) -> str:
    with open(file, encoding="utf-8") as handle:
        return handle.read()


def parse_mod_table(section: Any) -> ModTable:
    """Convert one assumption's JSON object into a :data:`ModTable`.

    The JSON is a user's file: every shape it could have that is not FUSION's is a
    ModulationError naming where, never a TypeError from deep inside.
    """
    if not isinstance(section, Mapping):
        raise ModulationError("a modulation assumption must map bandwidths to formats")
    table: dict[int, tuple[ModFormat, ...]] = {}
    for bandwidth, formats in section.items():
        entries = [
            _mod_format(bandwidth, name, spec) for name, spec in _formats(bandwidth, formats)
        ]
        if not str(bandwidth).isdigit():
            raise ModulationError(f"bandwidth {str(bandwidth)[:40]!r} is not a whole number")
        # sorted() is stable, so formats of equal reach keep the file's order.
        table[int(bandwidth)] = tuple(sorted(entries, key=lambda fmt: fmt.max_length_km))
    return table


def _formats(bandwidth: Any, formats: Any) -> list[tuple[str, Any]]:
    if not isinstance(formats, Mapping):
        raise ModulationError(f"bandwidth {str(bandwidth)[:40]!r} must map format names to objects")
    return [(str(name), spec) for name, spec in formats.items()]


def _mod_format(bandwidth: Any, name: str, spec: Any) -> ModFormat:
    where = f"format {name[:40]!r} of bandwidth {str(bandwidth)[:40]!r}"
    if not isinstance(spec, Mapping):
        raise ModulationError(f"{where} must be an object with max_length and slots_needed")
    try:
        return ModFormat(name, float(spec["max_length"]), int(spec["slots_needed"]))
    except (KeyError, TypeError, ValueError):
        raise ModulationError(
            f"{where} needs a number max_length and a whole number slots_needed"
        ) from None


def available_assumptions(path: StrPath | None = None) -> list[str]:
    """The assumption names a modulation file (by default FUSION's default file) defines."""
    file = _shipped(SHIPPED_MOD_FILE) if path is None else path
    document = json.loads(_read(file))
    if not isinstance(document, dict):
        raise ModulationError(f"modulation file {str(file)!r} is not a JSON object")
    return list(document)


def precalc_format(formats: tuple[ModFormat, ...], length_km: float) -> ModFormat | None:
    """FUSION's ``get_path_modulation`` (``pre_calc_mod_selection = True``).

    It looks up QPSK, 16-QAM and 64-QAM by name and picks by their reaches: QPSK if
    the path is longer than 16-QAM's reach, 16-QAM if longer than 64-QAM's, else 64-QAM.
    """
    by_name = {fmt.name: fmt for fmt in formats}
    qpsk, qam16, qam64 = by_name["QPSK"], by_name["16-QAM"], by_name["64-QAM"]
    if qpsk.max_length_km >= length_km > qam16.max_length_km:
        return qpsk
    if qam16.max_length_km >= length_km > qam64.max_length_km:
        return qam16
    if qam64.max_length_km >= length_km:
        return qam64
    return None


def best_format(formats: tuple[ModFormat, ...], length_km: float) -> ModFormat | None:
    """The most efficient format whose reach covers the path (reach is inclusive)."""
    for fmt in formats:
        if fmt.max_length_km >= length_km:
            return fmt
    return None
