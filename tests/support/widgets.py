"""The widgets' comm, recorded: what a widget sends, without a kernel or a page."""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

from fusion_jupyter.widgets import FusionWidget
from tests.support import wait_until


class Recorder:
    """Every message widgets send, per widget (the comm's place)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent: dict[int, list[tuple[dict[str, Any], list[bytes]]]] = defaultdict(list)

    def send(self, widget: FusionWidget, content: dict[str, Any], buffers: Any = None) -> None:
        with self.lock:
            self.sent[id(widget)].append((content, list(buffers or [])))

    def stream(self, widget: FusionWidget) -> list[dict[str, Any]]:
        """The relayed stream messages, in order."""
        with self.lock:
            items = list(self.sent[id(widget)])
        return [m for c, _ in items if c.get("kind") == "fusion-frame" for m in c["messages"]]

    def frames(self, widget: FusionWidget) -> int:
        with self.lock:
            return sum(1 for c, _ in self.sent[id(widget)] if c.get("kind") == "fusion-frame")

    def reply(self, widget: FusionWidget, request_id: int, timeout: float = 10.0) -> Any:
        def find() -> Any:
            with self.lock:
                for content, buffers in self.sent[id(widget)]:
                    if content.get("kind") == "fusion-reply" and content.get("id") == request_id:
                        return content, buffers
            return None

        return wait_until(find, timeout, f"reply {request_id}")
