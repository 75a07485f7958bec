"""What wakes the manager's sync thread: a nudge from another thread, or a commit.

A thread woken on a timer costs milliseconds of CPU a wake-up on a virtual machine,
so an idle server must not wake on one. The sync thread sleeps on a pipe (nudged by
:meth:`Wakeup.set`) and, for a SQLite database, on inotify events of the database's
files: any connection's commit writes them, this process's or another manager's.
Reading the database (the sync's change marker) writes nothing, so it wakes nothing.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
from pathlib import Path

from fusion_jupyter.engine.inotify import IN_MODIFY, Inotify

#: A commit writes the WAL, a checkpoint the database. (A connection that closes, or
#: opens a database with no WAL yet, makes close and create events, but writes nothing.)
_DATABASE_CHANGES = IN_MODIFY


class Wakeup:
    """A sleep that ends on :meth:`set`, a change of the database files, or a timeout."""

    def __init__(self, database: str | None = None) -> None:
        """``database``: a SQLite file to watch (None: nudges and timeouts only)."""
        self._read, self._write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._lock = threading.Lock()  # no write to a descriptor closed (and reused) meanwhile
        self._closed = False
        self._inotify: Inotify | None = None
        self._names: frozenset[str] = frozenset()
        if database:
            self._watch(Path(database))

    def _watch(self, database: Path) -> None:
        try:
            inotify = Inotify()
        except OSError:
            return  # no inotify here: the caller keeps its periodic syncs
        try:
            inotify.add_watch(str(database.parent), _DATABASE_CHANGES)
        except OSError:
            inotify.close()
            return
        self._inotify = inotify
        # A commit may show first as a write of the shared-memory index, then of the WAL.
        self._names = frozenset({database.name, f"{database.name}-wal", f"{database.name}-shm"})

    @property
    def watches_database(self) -> bool:
        """Whether a commit wakes :meth:`wait` (else only nudges and timeouts do)."""
        return self._inotify is not None

    def set(self) -> None:
        """End the current or next :meth:`wait` (from any thread; nothing once closed)."""
        with self._lock:
            if self._closed:
                return
            with contextlib.suppress(BlockingIOError):  # a wake-up is pending already
                os.write(self._write, b"x")

    def wait(self, timeout: float | None, *, database: bool = True) -> bool:
        """Sleep up to ``timeout`` seconds (None: until woken); whether the database's
        files changed.

        ``database=False``: a commit does not end the sleep (one is known already, and
        waking at each further one would only spin until it is looked at).
        """
        watch = [self._inotify.fileno()] if self._inotify and database else []
        readers = [self._read, *watch]
        ready, _, _ = select.select(readers, [], [], None if timeout is None else max(0.0, timeout))
        if self._read in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(self._read, 4096)
        if self._inotify is None or self._inotify.fileno() not in ready:
            return False
        return any(event.name in self._names for event in self._inotify.read())

    def forget_changes(self) -> None:
        """Drop the database changes noticed so far (about to look at the database)."""
        if self._inotify is not None:
            self._inotify.read()

    def close(self) -> None:
        """Release the pipe and the watch (once the thread that waits has ended)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            os.close(self._read)
            os.close(self._write)
            if self._inotify is not None:
                self._inotify.close()
