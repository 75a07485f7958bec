"""Blocking-against-load curves of a sweep, one per combination of the parameters that vary.

The grouping is the researcher's usual comparison (one curve per routing, spectrum or
k choice); it is computed here once, for :meth:`Sweep.plot` and for anything else that
draws a sweep, and drawn with matplotlib only when a figure is asked for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

#: Grid keys that move the load itself: they make the x axis, not separate curves.
LOAD_KEYS = frozenset(
    f"general_settings.{key}" for key in ("erlang_start", "erlang_stop", "erlang_step")
)


@dataclass(frozen=True)
class Curve:
    """One curve: its legend text, the parameter values it stands for, its points."""

    label: str
    values: dict[str, Any]
    points: pd.DataFrame
    """``erlang``, ``blocking_mean``, ``ci_lower``, ``ci_upper``, sorted by load."""


def varying_keys(grid: Mapping[str, Sequence[Any]]) -> list[str]:
    """The grid keys with more than one value, load keys aside, in grid order."""
    return [
        key
        for key, values in grid.items()
        if len(set(map(str, values))) > 1 and key not in LOAD_KEYS
    ]


def _short(key: str) -> str:
    return key.rsplit(".", 1)[-1]


def curves(
    table: pd.DataFrame, grid: Mapping[str, Sequence[Any]], by: str | Sequence[str] | None = None
) -> list[Curve]:
    """The sweep's results table (:meth:`Sweep.results`) as curves grouped by ``by``.

    ``by`` defaults to every grid key that varies (load keys aside); legends name only
    those keys, short (``k_paths = 2``), so twelve curves do not carry twelve long names.
    """
    keys = [by] if isinstance(by, str) else list(by) if by is not None else varying_keys(grid)
    unknown = [key for key in keys if key not in table.columns]
    if unknown:
        raise ValueError(f"by: {', '.join(unknown)} is not a grid parameter of this sweep")
    columns = ["erlang", "blocking_mean", "ci_lower", "ci_upper"]
    if table.empty:
        return []
    if not keys:
        points = _mean_points(table, columns)
        return [Curve("all runs", {}, points)]
    found = []
    for values, group in table.groupby(keys, sort=True):
        values = values if isinstance(values, tuple) else (values,)
        named = dict(zip(keys, values, strict=True))
        label = ", ".join(f"{_short(k)} = {v}" for k, v in named.items())
        found.append(Curve(label, named, _mean_points(group, columns)))
    return found


def _mean_points(group: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    # Several runs at one load (a grid key not in ``by``): their mean, per load.
    present = [c for c in columns if c in group.columns]
    return group[present].groupby("erlang", as_index=False).mean().sort_values("erlang")


def plot(
    found: Sequence[Curve], *, title: str = "", log_y: bool = False, bands: bool = True
) -> Any:
    """A matplotlib figure of ``found``: blocking against load, confidence bands shaded."""
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - matplotlib is a dependency
        raise ImportError("Sweep.plot() draws with matplotlib: pip install matplotlib") from exc
    figure = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = figure.add_subplot()
    colours = _colours(len(found))
    for curve, colour in zip(found, colours, strict=True):
        points = curve.points
        ax.plot(
            points["erlang"], points["blocking_mean"], marker="o", color=colour, label=curve.label
        )
        if bands and {"ci_lower", "ci_upper"} <= set(points.columns):
            ax.fill_between(
                points["erlang"], points["ci_lower"], points["ci_upper"], color=colour, alpha=0.2
            )
    ax.set_xlabel("Traffic load (Erlang)")
    ax.set_ylabel("Blocking probability")
    if log_y:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    if len(found) > 1 or (found and found[0].values):
        ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    _show_inline()
    return figure


def _show_inline() -> None:
    # A Figure made without pyplot has no notebook display of its own until IPython is
    # told how to draw figures (what `%matplotlib inline` does); do that once.
    from fusion_jupyter.client.progress import in_notebook

    if not in_notebook():
        return
    from IPython import get_ipython
    from IPython.core import pylabtools

    select: Any = pylabtools.select_figure_formats  # untyped
    select(get_ipython(), {"png"})


def _colours(count: int) -> list[Any]:
    # Distinct colours for up to 20 curves (tab10, then tab20); beyond, a continuous map.
    from matplotlib import colormaps

    name = "tab10" if count <= 10 else "tab20" if count <= 20 else "viridis"
    cmap = colormaps[name]
    if name == "viridis":
        return [cmap(i / max(count - 1, 1)) for i in range(count)]
    return [cmap(i) for i in range(count)]
