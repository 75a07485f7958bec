"""What wakes the manager's sync thread: a nudge from another thread, or a commit.

A thread woken on a timer costs milliseconds of CPU a wake-up on a virtual machine,
so an idle server must not wake on one. The sync thread sleeps on a pipe (nudged by
:meth:`Wakeup.set`) and on the database's own news of commits, a :class:`Feed`:

- SQLite: inotify events of the database's files (:class:`SqliteFiles`). Any
  connection's commit writes them, this process's or another manager's; reading the
  database (the sync's change marker) writes nothing, so it wakes nothing.
- PostgreSQL: ``LISTEN`` on the channel every write of the store notifies on commit
  (:class:`PostgresNotifications`), on a connection of its own.

A feed that breaks (PostgreSQL restarted) is dropped, the caller syncs by time again,
and a new feed is asked for at each sync until one opens.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from fusion_jupyter.engine.inotify import IN_MODIFY, Inotify

log = logging.getLogger(__name__)

#: A commit writes the WAL, a checkpoint the database. (A connection that closes, or
#: opens a database with no WAL yet, makes close and create events, but writes nothing.)
_DATABASE_CHANGES = IN_MODIFY
#: libpq's CONNECTION_OK (psycopg.pq.ConnStatus.OK), without importing psycopg here.
_CONNECTION_OK = 0


class Feed(Protocol):
    """A descriptor that turns readable when someone commits to the database."""

    def fileno(self) -> int:
        """The descriptor to wait on."""

    def changed(self) -> bool:
        """Take what is pending; whether a commit is among it (OSError: broken)."""

    def close(self) -> None:
        """Release the descriptor."""


class SqliteFiles:
    """Commits to a SQLite database, seen as writes of its files (inotify)."""

    def __init__(self, inotify: Inotify, database: Path) -> None:
        self._inotify = inotify
        # A commit may show first as a write of the shared-memory index, then of the WAL.
        self._names = frozenset({database.name, f"{database.name}-wal", f"{database.name}-shm"})

    @classmethod
    def open(cls, database: Path) -> SqliteFiles | None:
        """A watch on ``database``'s directory (None: no inotify here)."""
        try:
            inotify = Inotify()
        except OSError:
            return None
        try:
            inotify.add_watch(str(database.parent), _DATABASE_CHANGES)
        except OSError:
            inotify.close()
            return None
        return cls(inotify, database)

    def fileno(self) -> int:
        """The inotify descriptor."""
        return self._inotify.fileno()

    def changed(self) -> bool:
        """Whether one of the database's own files was written."""
        return any(event.name in self._names for event in self._inotify.read())

    def close(self) -> None:
        """Drop the watch."""
        self._inotify.close()


class PostgresNotifications:
    """Commits to a PostgreSQL database, heard as ``NOTIFY`` on a channel."""

    def __init__(self, connection: Any) -> None:
        """``connection``: a psycopg connection in autocommit that has run ``LISTEN``."""
        self._connection = connection

    @classmethod
    def open(cls, connect: Callable[[], Any], channel: str) -> PostgresNotifications:
        """Connect with ``connect`` (a new psycopg connection) and listen on ``channel``."""
        connection = connect()
        try:
            connection.autocommit = True
            connection.execute(f"LISTEN {channel}")
        except Exception:
            connection.close()
            raise
        return cls(connection)

    def fileno(self) -> int:
        """The connection's socket."""
        return int(self._connection.fileno())

    def changed(self) -> bool:
        """Whether a notification came (read without blocking)."""
        pgconn = self._connection.pgconn
        try:
            pgconn.consume_input()
        except Exception as exc:  # the server went away: psycopg's OperationalError
            raise OSError(f"the PostgreSQL notification connection broke: {exc}") from exc
        if pgconn.status != _CONNECTION_OK:  # ended by the server (a restart, a kill)
            message = pgconn.error_message.decode(errors="replace").strip()
            raise OSError(f"the PostgreSQL notification connection ended: {message}")
        heard = False
        while pgconn.notifies() is not None:
            heard = True
        return heard

    def close(self) -> None:
        """Close the connection."""
        with contextlib.suppress(Exception):
            self._connection.close()


class Wakeup:
    """A sleep that ends on :meth:`set`, a commit (through a :class:`Feed`), or a timeout."""

    def __init__(self, open_feed: Callable[[], Feed | None] | None = None) -> None:
        """``open_feed``: makes the database's feed (None, or it gives None: no feed,
        nudges and timeouts only)."""
        self._read, self._write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._lock = threading.Lock()  # no write to a descriptor closed (and reused) meanwhile
        self._closed = False
        self._open_feed = open_feed
        self._feed: Feed | None = None
        self._reopen()

    def _reopen(self) -> None:
        if self._open_feed is None:
            return
        try:
            self._feed = self._open_feed()
        except Exception as exc:  # the database is down: synced by time until it is back
            log.debug("no database feed for the sync thread yet: %s", exc)
            self._feed = None

    @property
    def watches_database(self) -> bool:
        """Whether a commit wakes :meth:`wait` (else only nudges and timeouts do)."""
        return self._feed is not None

    def set(self) -> None:
        """End the current or next :meth:`wait` (from any thread; nothing once closed)."""
        with self._lock:
            if self._closed:
                return
            with contextlib.suppress(BlockingIOError):  # a wake-up is pending already
                os.write(self._write, b"x")

    def wait(self, timeout: float | None, *, database: bool = True) -> bool:
        """Sleep up to ``timeout`` seconds (None: until woken); whether the database
        changed (also True when its feed broke, which may have hidden a change).

        ``database=False``: a commit does not end the sleep (one is known already, and
        waking at each further one would only spin until it is looked at).
        """
        feed = self._feed if database else None
        readers = [self._read] if feed is None else [self._read, feed.fileno()]
        ready, _, _ = select.select(readers, [], [], None if timeout is None else max(0.0, timeout))
        if self._read in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(self._read, 4096)
        if feed is None or feed.fileno() not in ready:
            return False
        return self._take(feed)

    def _take(self, feed: Feed) -> bool:
        try:
            return feed.changed()
        except OSError as exc:
            log.warning("syncing with the run database by time until it is back: %s", exc)
            feed.close()
            self._feed = None
            return True

    def forget_changes(self) -> None:
        """Drop the database changes noticed so far (about to look at the database);
        open the feed again if it broke."""
        if self._feed is None:
            self._reopen()
        elif select.select([self._feed.fileno()], [], [], 0)[0]:
            self._take(self._feed)

    def close(self) -> None:
        """Release the pipe and the feed (once the thread that waits has ended)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            os.close(self._read)
            os.close(self._write)
            if self._feed is not None:
                self._feed.close()
