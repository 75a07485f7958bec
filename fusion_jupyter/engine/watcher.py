"""One file watcher for every tracked run directory.

watchfiles (inotify on Linux) takes its set of paths when it starts, so when runs
come and go the watcher restarts with the new set and then asks for a catch-up read
of every tracked run, so that a write made during the restart is not missed.
``force_polling`` switches to stat polling for filesystems where inotify sees nothing
(network filesystems written from another host).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from watchfiles import watch

log = logging.getLogger(__name__)

#: How long watchfiles waits between looks at its queue (ms): the latency floor.
STEP_MS = 1
#: The longest a burst of changes may be held back before it is delivered (ms).
DEBOUNCE_MS = 20

OnChange = Callable[[set[str] | None], None]


class FileWatcher:
    """Calls ``on_change(paths)`` for changed files, or ``on_change(None)`` to catch up."""

    def __init__(
        self, on_change: OnChange, *, force_polling: bool = False, poll_interval: float = 1.0
    ) -> None:
        self._on_change = on_change
        self.force_polling = force_polling
        self.poll_interval = poll_interval
        self._paths: frozenset[Path] = frozenset()
        self._cond = threading.Condition()
        self._restart = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    @property
    def mode(self) -> str:
        """``inotify`` or ``polling``: what notices changes."""
        return "polling" if self.force_polling else "inotify"

    def start(self) -> None:
        """Begin watching in a daemon thread."""
        self._thread = threading.Thread(target=self._loop, name="fusion-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching and wait for the thread."""
        with self._cond:
            self._stopping = True
            self._restart.set()
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def set_paths(self, paths: set[Path]) -> None:
        """Watch exactly these directories from now on."""
        new = frozenset(paths)
        with self._cond:
            if new == self._paths:
                return
            self._paths = new
            self._restart.set()
            self._cond.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._paths and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                paths = [p for p in self._paths if p.exists()]
                self._restart.clear()
            self._on_change(None)
            if paths:
                self._watch(paths)

    def _watch(self, paths: list[Path]) -> None:
        try:
            for changes in watch(
                *paths,
                watch_filter=None,
                debounce=DEBOUNCE_MS,
                step=STEP_MS,
                stop_event=self._restart,
                rust_timeout=60_000,
                force_polling=self.force_polling,
                poll_delay_ms=int(self.poll_interval * 1000),
                recursive=True,
                ignore_permission_denied=True,
                raise_interrupt=False,
            ):
                self._on_change({path for _change, path in changes})
        except Exception:  # a vanished directory, a full inotify table: retry, don't die
            log.exception("file watcher failed; restarting")
            self._restart.wait(0.5)
