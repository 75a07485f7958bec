"""Dashboard: every run, live; filters; cancel, delete, rerun; compare blocking curves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import traitlets

from fusion_jupyter.client.run import Run
from fusion_jupyter.widgets.base import FusionWidget, Transport

if TYPE_CHECKING:
    from fusion_jupyter.client.client import Client

STATUSES = ("PENDING", "RUNNING", "CANCELLING", "COMPLETED", "FAILED", "CANCELLED")


class Dashboard(FusionWidget):
    """Every run with its live status and progress.

    Filter by status, tag and name; cancel, delete or rerun a run; tick several runs to
    compare their blocking probability curves in one chart. Shows each run's executor,
    Slurm job id, node and pending reason where it has them. Only the rows on screen
    are drawn, so hundreds of runs stay smooth.

    Parameters
    ----------
    client : Client
        Whose runs to show.
    status : str or list of str, optional
        Show only runs in these statuses at first.
    tag, name : str, optional
        Show only runs with this tag / whose name contains this text at first.
    transport : {"auto", "direct", "relay"}
        See :class:`~fusion_jupyter.widgets.base.FusionWidget`.

    Attributes
    ----------
    filters : dict
        ``{status: [...], tag, name}`` as set in the page (or from Python).
    selected : list of str
        Ids of the runs ticked for comparison (settable from Python).
    """

    bundle = "dashboard"
    filters = traitlets.Dict().tag(sync=True)
    selected = traitlets.List(traitlets.Unicode()).tag(sync=True)

    def __init__(
        self,
        client: Client,
        *,
        status: str | Sequence[str] | None = None,
        tag: str | None = None,
        name: str = "",
        transport: Transport = "auto",
        **kwargs: Any,
    ) -> None:
        statuses = [status] if isinstance(status, str) else list(status or [])
        unknown = [s for s in statuses if s.upper() not in STATUSES]
        if unknown:
            raise ValueError(f"unknown status {unknown}; known: {', '.join(STATUSES)}")
        filters = {"status": [s.upper() for s in statuses], "tag": tag, "name": name}
        super().__init__(client, transport=transport, filters=filters, **kwargs)
        # Through the kernel, a dashboard hears every run's status changes.
        self._relay.follow_statuses(self)

    @property
    def selected_runs(self) -> list[Run]:
        """The runs ticked in the page."""
        return [self._client.get(run_id) for run_id in self.selected]
