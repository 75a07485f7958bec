"""Blocking-against-load curves of a sweep, one per combination of the parameters that vary.

The grouping is the engine's (:mod:`fusion_jupyter.engine.curves`, the one the service's
``GET sweeps/{id}/curves`` uses); here the curves become DataFrames for
:meth:`Sweep.plot`, drawn with matplotlib only when a figure is asked for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fusion_jupyter.engine import curves as grouping

if TYPE_CHECKING:
    import pandas as pd

#: Grid keys that move the load itself: they make the x axis, not separate curves.
LOAD_KEYS = grouping.LOAD_KEYS
varying_keys = grouping.varying_keys


@dataclass(frozen=True)
class Curve:
    """One curve: its legend text, the parameter values it stands for, its points."""

    label: str
    values: dict[str, Any]
    points: pd.DataFrame
    """``erlang``, ``blocking_mean``, ``ci_lower``, ``ci_upper``, sorted by load."""


def curves(
    table: pd.DataFrame, grid: Mapping[str, Sequence[Any]], by: str | Sequence[str] | None = None
) -> list[Curve]:
    """The sweep's results table (:meth:`Sweep.results`) as curves grouped by ``by``.

    ``by`` defaults to every grid key that varies (load keys aside); legends name only
    those keys, short (``k_paths = 2``), so twelve curves do not carry twelve long names.
    The grouping is :func:`fusion_jupyter.engine.curves.group`, the service's too.
    """
    import pandas as pd

    try:
        keys = grouping.resolve_by(grid, by)
    except ValueError as exc:
        raise ValueError(f"by: {exc}") from None
    if table.empty:
        return []
    rows = [{str(k): v for k, v in row.items()} for row in table.to_dict("records")]
    found = []
    for curve in grouping.group(rows, keys):
        points = pd.DataFrame(curve.points, columns=list(grouping.POINT_COLUMNS))
        found.append(Curve(curve.label, curve.values, points))
    return found


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
