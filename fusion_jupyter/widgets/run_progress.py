"""RunProgress: one run, live (what a ``Run`` displays as in a notebook)."""

from __future__ import annotations

import threading
from typing import Any

import traitlets

from fusion_jupyter.client.backend import Message
from fusion_jupyter.client.run import Run
from fusion_jupyter.widgets.base import FusionWidget, Transport

#: At most this many messages are kept in ``RunProgress._early``.
EARLY_LIMIT = 5000


class RunWidget(FusionWidget):
    """Base of the widgets that show one run (``run_id`` is in the model, so a reopened
    notebook's view reconnects to the same run)."""

    run_id = traitlets.Unicode("").tag(sync=True)
    #: The run as last read by the kernel: shown at once, before the front-end has asked.
    _run = traitlets.Dict().tag(sync=True)

    def __init__(self, run: Run, *, transport: Transport = "auto", **kwargs: Any) -> None:
        if not isinstance(run, Run):
            raise TypeError(f"expected a fusion_jupyter Run, got {type(run).__name__}")
        self._run_obj = run
        super().__init__(
            run._client, transport=transport, run_id=run.id, _run=run.to_dict(), **kwargs
        )

    @property
    def run(self) -> Run:
        """The run shown."""
        return self._run_obj

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of run {self.run_id}>"


class RunProgress(RunWidget):
    """A run's progress, live.

    The overall bar and the current Erlang load's iteration bar, the status in colour,
    elapsed time and ETA, a chart of blocking probability against Erlang that grows as
    loads finish, a cancel button, and the error message when the run fails; where
    the run has them, its executor, Slurm job id, node and why it is pending.

    Parameters
    ----------
    run : Run
        The run to show (``client.submit(...)``, ``client.run(id)``).
    transport : {"auto", "direct", "relay"}
        See :class:`~fusion_jupyter.widgets.base.FusionWidget`.

    Examples
    --------
    >>> RunProgress(client.submit("minimal"))           # doctest: +SKIP
    """

    bundle = "run_progress"
    #: What was relayed before the front-end subscribed (see ``deliver``).
    _early: traitlets.List[Any] = traitlets.List().tag(sync=True)

    def __init__(self, run: Run, *, transport: Transport = "auto", **kwargs: Any) -> None:
        self._early_lock = threading.Lock()
        self._early_open = False
        super().__init__(run, transport=transport, **kwargs)
        if self.relayed:
            # Start relaying now rather than when the front-end asks: a kernel busy with
            # the next cell (``run.wait()``) reads that request only when it is done.
            self._early_open = True
            self._relay.subscribe(self, run.id, ["progress"], -1, 0)

    def deliver(self, messages: list[Message]) -> None:
        """Send a frame; until the front-end has subscribed, also keep it in ``_early``.

        Custom messages that arrive while the page is still loading the widget's code
        are lost; the model's state is not. So what is relayed before the front-end's
        own subscription (which a busy kernel reads late) also goes into ``_early``,
        from which the front-end takes what it missed.
        """
        with self._early_lock:
            if self._early_open:
                early = self._early + messages
                if len(early) <= EARLY_LIMIT:
                    self._early = early
                else:
                    self._early_open = False  # too much: the page waits for its answer
        super().deliver(messages)

    def _on_custom_message(self, widget: Any, content: Any, buffers: list[bytes]) -> None:
        if isinstance(content, dict) and content.get("op") == "ws" and self._early_open:
            with self._early_lock:
                self._early_open = False  # the front-end asks itself from now on
                self._early = []
        super()._on_custom_message(widget, content, buffers)
