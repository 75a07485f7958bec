"""Notebook widgets (anywidget) for FUSION runs.

>>> import fusion_jupyter as fj
>>> from fusion_jupyter.widgets import Dashboard, Launcher, LogViewer
>>> client = fj.connect()                                       # doctest: +SKIP
>>> Launcher(client)                                            # doctest: +SKIP
>>> run = client.submit("minimal"); run                         # doctest: +SKIP
>>> LogViewer(run); ArtifactTable(run); Dashboard(client)       # doctest: +SKIP

Displaying a :class:`~fusion_jupyter.client.Run` shows its :class:`RunProgress`, a
:class:`~fusion_jupyter.client.Sweep` its :class:`SweepView`.
In JupyterLab and Notebook 7 the widgets get live updates straight from the Jupyter
server (so they keep moving while the kernel is busy); elsewhere (VS Code, the
embedded engine) the kernel relays them.
"""

from __future__ import annotations

from fusion_jupyter.widgets.artifact_table import ArtifactTable
from fusion_jupyter.widgets.base import FrontEndMissing, FusionWidget
from fusion_jupyter.widgets.dashboard import Dashboard
from fusion_jupyter.widgets.launcher import Launcher
from fusion_jupyter.widgets.log_viewer import LogViewer
from fusion_jupyter.widgets.run_progress import RunProgress
from fusion_jupyter.widgets.sweep_view import SweepView

__all__ = [
    "ArtifactTable",
    "Dashboard",
    "FrontEndMissing",
    "FusionWidget",
    "Launcher",
    "LogViewer",
    "RunProgress",
    "SweepView",
]
