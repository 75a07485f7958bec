"""Helpers for tests of the sync thread's sleep (fusion_jupyter.engine.wakeup)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from fusion_jupyter.engine.wakeup import Wakeup


def drained(wakeup: Wakeup) -> Wakeup:
    """``wakeup`` with what setting the database up left queued taken."""
    while wakeup.wait(0):
        pass
    return wakeup


def wait_woken_by(wakeup: Wakeup, action: Callable[[], object]) -> bool:
    """Run ``action`` from another thread shortly after ``wakeup`` starts waiting; what
    the wait returned. Asserts it was woken, not timed out (30 s)."""
    doer = threading.Timer(0.2, action)
    doer.start()
    began = time.monotonic()
    try:
        answer = wakeup.wait(30)
        assert time.monotonic() - began < 10, "woken by the timeout, not the action"
        return answer
    finally:
        doer.join()
