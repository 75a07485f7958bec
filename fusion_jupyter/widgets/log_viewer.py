"""LogViewer: a run's log, live, searchable, virtualized."""

from __future__ import annotations

from typing import Any

import traitlets

from fusion_jupyter.client.run import Run
from fusion_jupyter.widgets.base import Transport
from fusion_jupyter.widgets.run_progress import RunWidget


class LogViewer(RunWidget):
    """A run's ``logs/sim.log``, following it live.

    The last ``tail`` lines first, earlier pages as you scroll up (never the whole file
    at once), then new lines as the simulator writes them. Pause / resume following,
    search with highlighted matches and next / previous, ERROR and WARNING lines in
    colour, download of the whole file. Only the lines on screen are drawn, so a
    million-line log scrolls as smoothly as a short one.

    Parameters
    ----------
    run : Run
        The run whose log to show.
    tail : int
        Lines from the end to show first; 0 reads the log from its start.
    transport : {"auto", "direct", "relay"}
        See :class:`~fusion_jupyter.widgets.base.FusionWidget`.
    """

    bundle = "log_viewer"
    tail_lines = traitlets.Int(1000, min=0).tag(sync=True)

    def __init__(
        self, run: Run, tail: int = 1000, *, transport: Transport = "auto", **kwargs: Any
    ) -> None:
        super().__init__(run, transport=transport, tail_lines=tail, **kwargs)
