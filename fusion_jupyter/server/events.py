"""Run status changes on jupyter-server's event bus (``/api/events/subscribe``).

Any other extension, or a client of Jupyter's own event socket, can react to runs
without knowing this API: the server registers a jupyter_events schema and emits one
event per status change, from the event loop thread (the EventLogger is not meant to
be called from the engine's threads).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from jupyter_events.logger import EventLogger

from fusion_jupyter.engine.hub import EventHub, Message, Subscription

SCHEMA_ID = "https://events.fusion-jupyter.org/run-status/v1"
SCHEMA_FILE = Path(__file__).with_name("event_schemas") / "run_status" / "v1.yaml"

log = logging.getLogger(__name__)


def event_data(run: dict[str, Any]) -> dict[str, Any]:
    """The event's payload from a run as ``run_to_dict`` gives it."""
    return {
        "run_id": run["id"],
        "status": run["status"],
        "deleted": bool(run.get("deleted", False)),
        "name": run.get("name", ""),
        "template": run.get("template", ""),
        "sweep_id": run.get("sweep_id"),
        "exit_code": run.get("exit_code"),
    }


class StatusEmitter:
    """Forwards the hub's status messages to an EventLogger on the event loop."""

    def __init__(self, hub: EventHub, logger: EventLogger, loop: asyncio.AbstractEventLoop) -> None:
        if SCHEMA_ID not in logger.schemas.schema_ids:
            logger.register_event_schema(SCHEMA_FILE)
        self._logger = logger
        self._loop = loop
        self._sub: Subscription = hub.subscribe_status(notify=self._notify)

    def _notify(self) -> None:
        self._loop.call_soon_threadsafe(self._emit)

    def _emit(self) -> None:
        # A status subscription only holds messages in memory: draining it reads no file.
        for message in self._sub.drain():
            self._emit_one(message)

    def _emit_one(self, message: Message) -> None:
        if message.get("type") != "status":
            return  # "lagged": the bus has no replay; listeners re-read the run list
        try:
            self._logger.emit(schema_id=SCHEMA_ID, data=event_data(message["run"]))
        except Exception:
            log.exception("could not emit a run status event")

    def close(self) -> None:
        """Stop forwarding."""
        self._sub.close()
