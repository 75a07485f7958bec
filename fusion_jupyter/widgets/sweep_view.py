"""SweepView: a sweep's curves by grid parameter, live (what a ``Sweep`` displays as)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

import traitlets

from fusion_jupyter.client.backend import Message
from fusion_jupyter.client.run import Sweep
from fusion_jupyter.engine.curves import resolve_by
from fusion_jupyter.engine.models import TERMINAL
from fusion_jupyter.service.exchange import Request
from fusion_jupyter.widgets import rpc
from fusion_jupyter.widgets.base import _POOL, FusionWidget, Transport

log = logging.getLogger(__name__)
_ENDED = {status.value for status in TERMINAL}


class SweepView(FusionWidget):
    """Blocking probability against load, one curve per value of the grid parameters.

    The curves are the server's (``GET sweeps/{id}/curves``, the grouping of
    :meth:`Sweep.plot`), drawn in the browser as SVG: confidence bands, a log-y
    toggle, a "by" selector, export to PNG, SVG and CSV. Each run of the sweep that
    ends redraws them, also while the kernel is busy (``sweep.wait()``): the page asks
    the Jupyter server itself, or, through the kernel (embedded engine), the kernel
    pushes the new curves from a background thread.

    Parameters
    ----------
    sweep : Sweep
        The sweep to show (``client.sweep(...)``, ``client.get_sweep(id)``).
    by : str or list of str, optional
        Grid keys to group by; default every grid key that varies.
    log_y : bool
        Start with a logarithmic y axis.
    transport : {"auto", "direct", "relay"}
        See :class:`~fusion_jupyter.widgets.base.FusionWidget`.

    Attributes
    ----------
    by : list of str or None
        The grouping shown (None: every key that varies); set in the page or here.
    log_y : bool
        Whether the y axis is logarithmic.
    """

    bundle = "sweep_view"
    sweep_id = traitlets.Unicode("").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    by = traitlets.List(traitlets.Unicode(), allow_none=True, default_value=None).tag(sync=True)
    log_y = traitlets.Bool(False).tag(sync=True)
    #: The curves as last computed by the kernel (sent only through the relay).
    _curves = traitlets.Dict().tag(sync=True)

    def __init__(
        self,
        sweep: Sweep,
        *,
        by: str | Sequence[str] | None = None,
        log_y: bool = False,
        transport: Transport = "auto",
        **kwargs: Any,
    ) -> None:
        if not isinstance(sweep, Sweep):
            raise TypeError(f"expected a fusion_jupyter Sweep, got {type(sweep).__name__}")
        keys = None if by is None else resolve_by(sweep.grid, by)
        self._sweep = sweep
        self._refresh_lock = threading.Lock()
        self._refreshing = False
        self._again = False
        super().__init__(
            sweep._client,
            transport=transport,
            sweep_id=sweep.id,
            title=sweep.name or f"sweep {sweep.id}",
            by=keys,
            log_y=log_y,
            **kwargs,
        )
        if self.relayed:
            # The page cannot ask a busy kernel for the curves: the kernel hears every
            # run's end and pushes them itself.
            self._relay.follow_statuses(self)
            self.observe(lambda _change: self.refresh(), names="by")
            self.refresh()

    @property
    def sweep(self) -> Sweep:
        """The sweep shown."""
        return self._sweep

    def __repr__(self) -> str:
        return f"<SweepView of sweep {self.sweep_id}>"

    def curves(self) -> dict[str, Any]:
        """The curves as the server computes them for ``by`` (``GET sweeps/{id}/curves``)."""
        query = {} if self.by is None else {"by": [",".join(self.by)]}
        request = Request("GET", f"sweeps/{self.sweep_id}/curves", query, {}, b"")
        reply = rpc.answer(self._client.backend, request)
        if reply.status != 200:
            raise ValueError(f"the curves of sweep {self.sweep_id}: {reply.json}")
        body: dict[str, Any] = reply.json
        return body

    def refresh(self) -> None:
        """Compute the curves again in a worker thread and push them (coalesced)."""
        with self._refresh_lock:
            if self._refreshing:
                self._again = True
                return
            self._refreshing = True
        _POOL.submit(self._push)

    def _push(self) -> None:
        while True:
            try:
                self._curves = self.curves()
            except Exception:
                log.warning("sweep view: the curves of %s failed", self.sweep_id, exc_info=True)
            with self._refresh_lock:
                if not self._again:
                    self._refreshing = False
                    return
                self._again = False

    def deliver(self, messages: list[Message]) -> None:
        """Relay a frame; a run of this sweep that ended redraws the curves."""
        super().deliver(messages)
        if any(_ends_a_run_of(message, self.sweep_id) for message in messages):
            self.refresh()


def _ends_a_run_of(message: Message, sweep_id: str) -> bool:
    if message.get("type") != "status":
        return False
    run = message.get("run") or {}
    return run.get("sweep_id") == sweep_id and run.get("status") in _ENDED
