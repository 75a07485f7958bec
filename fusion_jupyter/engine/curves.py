"""A sweep's blocking-against-load curves, one per combination of the grid keys that vary.

The grouping is the researcher's usual comparison (one curve per routing, spectrum or
k choice). It is computed here once, on plain rows (no pandas), for the service's
``GET sweeps/{id}/curves`` and for the Python client's :meth:`Sweep.plot`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fusion_jupyter.engine.config import normalize_overrides
from fusion_jupyter.engine.errors import EngineError

#: Grid keys that move the load itself: they make the x axis, not separate curves.
LOAD_KEYS = frozenset(
    f"general_settings.{key}" for key in ("erlang_start", "erlang_stop", "erlang_step")
)
#: What a curve's point holds, ``erlang`` first (the x axis).
POINT_COLUMNS = ("erlang", "blocking_mean", "ci_lower", "ci_upper")


@dataclass(frozen=True)
class CurveData:
    """One curve: its legend text, the grid values it stands for, its points by load."""

    label: str
    values: dict[str, Any]
    points: list[dict[str, float | None]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The curve as the API sends it."""
        return {"label": self.label, "values": self.values, "points": self.points}


def varying_keys(grid: Mapping[str, Sequence[Any]]) -> list[str]:
    """The grid keys with more than one value, load keys aside, in grid order."""
    return [
        key
        for key, values in grid.items()
        if len(set(map(str, values))) > 1 and key not in LOAD_KEYS
    ]


def resolve_by(grid: Mapping[str, Sequence[Any]], by: str | Sequence[str] | None) -> list[str]:
    """The keys to group by: ``by`` checked against the grid, else every varying key.

    Raises ValueError naming the unknown keys.
    """
    keys = [by] if isinstance(by, str) else list(by) if by is not None else varying_keys(grid)
    unknown = [key for key in keys if key not in grid]
    if unknown:
        known = ", ".join(grid) or "none"
        raise ValueError(
            f"{', '.join(map(str, unknown))} is not a grid parameter of this sweep "
            f"(its grid parameters: {known})"
        )
    return list(dict.fromkeys(keys))


def ini_text(key: str, value: Any) -> str | None:
    """How the engine writes ``value`` for the grid key ``key`` into a config file."""
    if value is None:
        return None
    section, _, name = key.partition(".")
    try:
        return normalize_overrides({key: value})[section][name]
    except EngineError:
        return str(value)


def grid_index(grid: Mapping[str, Sequence[Any]]) -> dict[str, dict[str | None, Any]]:
    """For each grid key, its values by how a config file writes them (see grid_point)."""
    index: dict[str, dict[str | None, Any]] = {}
    for key, options in grid.items():
        index[key] = {}
        for value in options:
            index[key].setdefault(ini_text(key, value), value)
    return index


def grid_point(
    grid: Mapping[str, Sequence[Any]],
    overrides: Mapping[str, Any],
    index: Mapping[str, Mapping[str | None, Any]] | None = None,
) -> dict[str, Any]:
    """The grid's values for one run of the sweep (from its overrides), as given in the grid.

    ``index`` (:func:`grid_index` of ``grid``) saves recomputing it for each run.
    """
    index = grid_index(grid) if index is None else index
    values: dict[str, Any] = {}
    for key in grid:
        section, _, name = key.partition(".")
        raw = (overrides.get(section) or {}).get(name)
        # A run's overrides are kept as the config file's text already.
        actual = raw if raw is None or isinstance(raw, str) else ini_text(key, raw)
        values[key] = index[key].get(actual, actual)
    return values


def group(rows: Iterable[Mapping[str, Any]], keys: Sequence[str]) -> list[CurveData]:
    """Rows (grid values and a results row's columns) as one curve per value of ``keys``.

    Several rows at one load in one curve (a grid key not in ``keys``) make one point:
    their mean, column by column, missing values aside. Curves are sorted by their
    values (numbers numerically), points by load.
    """
    groups: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for row in rows:
        if _number(row.get("erlang")) is None:
            continue
        groups.setdefault(tuple(row.get(k) for k in keys), []).append(row)
    found = []
    for values in sorted(groups, key=lambda vs: tuple(_order(v) for v in vs)):
        named = dict(zip(keys, values, strict=True))
        label = ", ".join(f"{_short(k)} = {v}" for k, v in named.items()) or "all runs"
        found.append(CurveData(label, named, _mean_points(groups[values])))
    return found


def _mean_points(rows: list[Mapping[str, Any]]) -> list[dict[str, float | None]]:
    by_load: dict[float, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_load.setdefault(float(row["erlang"]), []).append(row)
    points = []
    for load in sorted(by_load):
        point: dict[str, float | None] = {"erlang": load}
        for column in POINT_COLUMNS[1:]:
            present = [v for r in by_load[load] if (v := _number(r.get(column))) is not None]
            point[column] = sum(present) / len(present) if present else None
        points.append(point)
    return points


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(value)
        except (TypeError, ValueError):
            return None
    number = float(value)
    return None if math.isnan(number) else number


def _order(value: Any) -> tuple[int, float, str]:
    number = _number(value)
    return (0, number, "") if number is not None else (1, 0.0, str(value))


def _short(key: str) -> str:
    return key.rsplit(".", 1)[-1]


__all__ = [
    "LOAD_KEYS",
    "POINT_COLUMNS",
    "CurveData",
    "grid_index",
    "grid_point",
    "group",
    "ini_text",
    "resolve_by",
    "varying_keys",
]
