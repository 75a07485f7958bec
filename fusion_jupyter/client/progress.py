"""Showing a run's (or a sweep's) progress: a tqdm bar on a terminal, HTML in a notebook.

``Run.wait`` and ``Sweep.wait`` hand a :class:`Snapshot` to a reporter after every batch
of live updates. ``progress=True`` picks the reporter for where the code runs; any
object with ``update(snapshot)`` and ``close()`` may be passed instead (a test, a
logger, a custom widget).
"""

from __future__ import annotations

import html
import sys
import time
from dataclasses import dataclass
from importlib import import_module
from typing import Any, Protocol, runtime_checkable

STATUS_COLOURS = {
    "PENDING": "#6c757d",
    "RUNNING": "#0d6efd",
    "CANCELLING": "#fd7e14",
    "COMPLETED": "#198754",
    "FAILED": "#dc3545",
    "CANCELLED": "#fd7e14",
}
NOTEBOOK_INTERVAL = 0.2  # seconds between two redraws of a notebook display


@dataclass(frozen=True)
class Snapshot:
    """What a progress display shows at one moment.

    Attributes
    ----------
    label : str
        The run's name and id (or the sweep's).
    percent : float
        0 to 100.
    detail : str
        Where it is, e.g. ``"400 Erlang (2/3), iteration 1/2"``.
    status : str
        The run's status, or a summary of a sweep's statuses.
    done : bool
        Whether nothing will change any more.
    """

    label: str
    percent: float
    detail: str
    status: str
    done: bool


@runtime_checkable
class ProgressReporter(Protocol):
    """Anything that can show progress snapshots."""

    def update(self, snapshot: Snapshot) -> None:
        """Show a new state."""

    def close(self) -> None:
        """The wait is over (finished, timed out or interrupted)."""


class NullReporter:
    """Shows nothing (``progress=False``)."""

    def update(self, snapshot: Snapshot) -> None:
        """Ignore the snapshot."""

    def close(self) -> None:
        """Nothing to close."""


class TqdmReporter:
    """A text bar on stderr, 0-100 %, with the current Erlang load and iteration."""

    def __init__(self, label: str, file: Any = None) -> None:
        from tqdm import tqdm

        self._bar = tqdm(
            total=100,
            desc=label,
            file=file if file is not None else sys.stderr,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]{postfix}",
            leave=True,
            dynamic_ncols=True,
        )

    def update(self, snapshot: Snapshot) -> None:
        """Move the bar to ``snapshot.percent``."""
        self._bar.n = round(snapshot.percent, 1)
        self._bar.set_postfix_str(_postfix(snapshot), refresh=False)
        self._bar.refresh()

    def close(self) -> None:
        """Leave the bar on screen."""
        self._bar.close()


class NotebookReporter:
    """An HTML progress bar in the notebook output, redrawn in place."""

    def __init__(self) -> None:
        ipd = ipython_display()
        self._html = ipd.HTML
        self._handle: Any = ipd.display(ipd.HTML(""), display_id=True)
        self._last = 0.0

    def update(self, snapshot: Snapshot) -> None:
        """Redraw, at most every NOTEBOOK_INTERVAL seconds unless the run is over."""
        now = time.monotonic()
        if snapshot.done or now - self._last >= NOTEBOOK_INTERVAL:
            self._last = now
            if self._handle is not None:
                self._handle.update(self._html(progress_html(snapshot)))

    def close(self) -> None:
        """Nothing to release; the last drawing stays."""


def in_notebook() -> bool:
    """Whether this code runs in a Jupyter kernel (as opposed to a terminal or script)."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    ip = getattr(shell, "get_ipython", lambda: None)()
    return ip is not None and hasattr(ip, "kernel")


def current_cell() -> int | None:
    """The execution count of the notebook cell running now (None outside a kernel)."""
    if not in_notebook():
        return None
    shell = sys.modules["IPython"].get_ipython()
    count = getattr(shell, "execution_count", None)
    return count if isinstance(count, int) else None


def ipython_display() -> Any:
    """``IPython.display`` (untyped, hence Any)."""
    return import_module("IPython.display")


def make_reporter(progress: bool | ProgressReporter, label: str) -> ProgressReporter:
    """The reporter for ``progress``: a given reporter, nothing, a notebook bar or tqdm."""
    if isinstance(progress, ProgressReporter):
        return progress
    if not progress:
        return NullReporter()
    if in_notebook():
        return NotebookReporter()
    return TqdmReporter(label)


def _postfix(snapshot: Snapshot) -> str:
    parts = [snapshot.detail] if snapshot.detail else []
    if snapshot.done or snapshot.status not in ("RUNNING",):
        parts.append(snapshot.status)
    return ", ".join(parts)


def progress_html(snapshot: Snapshot) -> str:
    """A small self-contained HTML progress view (no JavaScript, safe to re-render)."""
    colour = STATUS_COLOURS.get(snapshot.status.split()[0], "#6c757d")
    width = max(0.0, min(100.0, snapshot.percent))
    return (
        '<div style="font-family: var(--jp-ui-font-family, sans-serif); max-width: 40em">'
        f"<div><b>{html.escape(snapshot.label)}</b> "
        f'<span style="color: {colour}; font-weight: bold">{html.escape(snapshot.status)}</span>'
        f" {width:.0f}%</div>"
        '<div style="background: #e9ecef; height: 0.8em; border-radius: 0.3em; overflow: hidden">'
        f'<div style="background: {colour}; width: {width:.1f}%; height: 100%"></div></div>'
        f'<div style="color: #6c757d; font-size: 90%">{html.escape(snapshot.detail)}</div>'
        "</div>"
    )
