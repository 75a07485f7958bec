"""Noticing that processes end, for every run at once, without polling.

Each supervised process gets a pidfd (Linux 5.3+), which becomes readable when the
process exits, whether or not it is our child. One thread waits on all of them with
a selector, so the end of a run is noticed within a millisecond or two and a
thousand idle runs cost nothing.
"""

from __future__ import annotations

import logging
import os
import selectors
import threading
from collections.abc import Callable
from contextlib import suppress

from fusion_jupyter.engine.procinfo import is_alive

log = logging.getLogger(__name__)


class ExitWatcher:
    """Calls ``on_exit(key)`` once when the process registered under ``key`` ends."""

    def __init__(self, on_exit: Callable[[str], None]) -> None:
        self._on_exit = on_exit
        self._selector = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._fds: dict[str, int] = {}
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Begin waiting in a daemon thread."""
        self._thread = threading.Thread(target=self._loop, name="fusion-exits", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop waiting, close every pidfd and wait for the thread."""
        self._stopping = True
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            for fd in self._fds.values():
                self._close(fd)
            self._fds.clear()
        self._selector.close()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def watch(self, key: str, pid: int, started: int | None) -> bool:
        """Watch ``pid``; False if it is already gone (or is not the process meant)."""
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            return False
        # Checked after opening: if the pid was reused before pidfd_open, the start
        # time tells, and the fd (which names the new process) is dropped.
        if not is_alive(pid, started):
            os.close(fd)
            return False
        with self._lock:
            old = self._fds.pop(key, None)
            if old is not None:
                self._close(old)
            self._fds[key] = fd
            self._selector.register(fd, selectors.EVENT_READ, key)
        self._wake()
        return True

    def unwatch(self, key: str) -> None:
        """Stop watching ``key`` (no callback)."""
        with self._lock:
            fd = self._fds.pop(key, None)
            if fd is not None:
                self._close(fd)

    def _close(self, fd: int) -> None:
        with suppress(KeyError, ValueError):
            self._selector.unregister(fd)
        os.close(fd)

    def _wake(self) -> None:
        with suppress(BlockingIOError):  # the pipe is full: it is awake already
            os.write(self._wake_w, b"x")

    def _loop(self) -> None:
        while not self._stopping:
            for selected, _mask in self._selector.select():
                key = selected.data
                if key is None:
                    os.read(self._wake_r, 4096)
                    continue
                with self._lock:
                    if self._fds.get(key) != selected.fd:
                        continue
                    del self._fds[key]
                    self._close(selected.fd)
                try:
                    self._on_exit(key)
                except Exception:
                    log.exception("handling the end of %s failed", key)
