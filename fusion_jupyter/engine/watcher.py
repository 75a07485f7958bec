"""Noticing changes to the files of the runs being tracked.

``FileWatcher`` (local runs): inotify, one watch on each run directory and one on its
``logs/``. Its descriptor is a reader on the server's event loop (or, for an engine
without one, waited on by a thread with no timeout), so with nothing written nothing
wakes (an idle server costs no CPU), and a write is handled as soon as the kernel
queues it. A run's ``logs/`` is made by its launcher after the run is
tracked: its creation is an event too, and the directory is then watched and reported
as changed, so nothing written in between is missed.

``PollingWatcher`` (runs written on other hosts of a network filesystem, where inotify
sees nothing): stat polling through watchfiles, every ``poll_interval`` seconds while
such runs exist.
"""

from __future__ import annotations

import asyncio
import logging
import os
import selectors
import threading
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

from fusion_jupyter.engine import inotify

log = logging.getLogger(__name__)

#: How long the polling watcher's thread waits between looks at its queue (ms).
POLL_STEP_MS = 50
#: The longest a burst of polled changes may be held back before it is delivered (ms).
DEBOUNCE_MS = 20
#: What a write, a new file or a file renamed into place looks like.
CHANGE_MASK = inotify.IN_MODIFY | inotify.IN_CLOSE_WRITE | inotify.IN_MOVED_TO | inotify.IN_CREATE
#: Sub-directories of a run directory that hold files a tracker reads.
WATCHED_SUBDIRS = ("logs",)

OnChange = Callable[[set[str] | None], None]


class FileWatcher:
    """Calls ``on_change(paths)`` for changed files, or ``on_change(None)`` to catch up."""

    mode = "inotify"

    def __init__(self, on_change: OnChange) -> None:
        self._on_change = on_change
        self._inotify = inotify.Inotify()
        self._lock = threading.Lock()
        self._watches: dict[Path, list[int]] = {}  # run dir -> its watch descriptors
        self._wd_dirs: dict[int, Path] = {}  # watch descriptor -> the directory it watches
        self._wake_r, self._wake_w = os.pipe()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._event_loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Deliver changes on ``loop`` (as a reader), or without one from a daemon thread."""
        if loop is not None:
            self._event_loop = loop
            loop.add_reader(self._inotify.fileno(), self._deliver)
            return
        self._thread = threading.Thread(target=self._loop, name="fusion-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop delivering and release the inotify instance."""
        self._stopping = True
        if self._event_loop is not None:
            _call_on(self._event_loop, self._event_loop.remove_reader, self._inotify.fileno())
        with suppress(OSError):
            os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._inotify.close()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def set_paths(self, paths: set[Path]) -> None:
        """Watch exactly these run directories from now on."""
        with self._lock:
            for gone in set(self._watches) - paths:
                for wd in self._watches.pop(gone):
                    self._wd_dirs.pop(wd, None)
                    self._inotify.rm_watch(wd)
            for new in paths - set(self._watches):
                self._watches[new] = []
                self._add(new, new)
                for sub in WATCHED_SUBDIRS:
                    self._add(new, new / sub)

    def _add(self, run_dir: Path, directory: Path) -> bool:
        """Watch ``directory`` of ``run_dir``; False if it does not exist (yet)."""
        try:
            wd = self._inotify.add_watch(str(directory), CHANGE_MASK | inotify.IN_ONLYDIR)
        except OSError:
            return False
        self._watches[run_dir].append(wd)
        self._wd_dirs[wd] = directory
        return True

    def _loop(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._inotify.fileno(), selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not self._stopping:
                selector.select()
                if self._stopping:
                    return
                self._deliver()

    def _deliver(self) -> None:
        try:
            changed = self._changes()
            if changed is None or changed:
                self._on_change(changed)
        except Exception:
            log.exception("handling file changes failed")

    def _changes(self) -> set[str] | None:
        """The files changed since the last look; None after an overflow (catch up)."""
        changed: set[str] = set()
        overflow = False
        for event in self._inotify.read():
            if event.mask & inotify.IN_Q_OVERFLOW:
                overflow = True
                continue
            with self._lock:
                directory = self._wd_dirs.get(event.wd)
                if event.mask & inotify.IN_IGNORED:
                    self._wd_dirs.pop(event.wd, None)
                    continue
                if directory is None:
                    continue
                path = directory / event.name if event.name else directory
                if (
                    event.mask & inotify.IN_ISDIR
                    and event.name in WATCHED_SUBDIRS
                    and directory in self._watches
                ):
                    self._add(directory, path)
            changed.add(str(path))
        return None if overflow else changed


def _call_on(loop: asyncio.AbstractEventLoop, fn: Callable[[int], object], arg: int) -> None:
    """``fn(arg)`` on ``loop``'s thread, waited for; at once if the loop is not running
    or this is its thread, not at all if it is closed (its readers are gone with it)."""
    if loop.is_closed():
        return
    try:
        here = asyncio.get_running_loop()
    except RuntimeError:
        here = None
    if here is loop or not loop.is_running():
        fn(arg)
        return
    done = threading.Event()

    def call() -> None:
        try:
            fn(arg)
        finally:
            done.set()

    loop.call_soon_threadsafe(call)
    done.wait(5)


class PollingWatcher:
    """Like :class:`FileWatcher`, by stat polling every ``poll_interval`` seconds."""

    mode = "polling"

    def __init__(self, on_change: OnChange, *, poll_interval: float = 1.0) -> None:
        self._on_change = on_change
        self.poll_interval = poll_interval
        self._paths: frozenset[Path] = frozenset()
        self._cond = threading.Condition()
        self._restart = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Begin watching in a daemon thread (idle, without polling, while no path is set)."""
        self._thread = threading.Thread(target=self._loop, name="fusion-poller", daemon=True)
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
        from watchfiles import watch  # only runs on other hosts need it

        try:
            for changes in watch(
                *paths,
                watch_filter=None,
                debounce=DEBOUNCE_MS,
                step=POLL_STEP_MS,
                stop_event=self._restart,
                rust_timeout=60_000,
                force_polling=True,
                poll_delay_ms=int(self.poll_interval * 1000),
                recursive=True,
                ignore_permission_denied=True,
                raise_interrupt=False,
            ):
                self._on_change({path for _change, path in changes})
        except Exception:  # a vanished directory: retry, don't die
            log.exception("file poller failed; restarting")
            self._restart.wait(0.5)
