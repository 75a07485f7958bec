"""Recognising the faults the engine must ride out, and logging them without a flood.

A database outage or a full disk makes every sync, flush and settle fail the same
way, several times a second, until it is over. Each such condition is logged once
(with its traceback) when it starts and once when it ends, never once a cycle.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
from pathlib import Path

from sqlalchemy import exc as sa_exc

from fusion_jupyter.engine.errors import EngineError, InsufficientStorage, NotFound, Unavailable

#: errno values meaning "no room left to write" (ENOSPC; EDQUOT: a quota is used up).
NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_no_space(exc: BaseException) -> bool:
    """Whether ``exc`` says a file system (or the database on one) is full."""
    if isinstance(exc, OSError):
        return exc.errno in NO_SPACE_ERRNOS
    if isinstance(exc, sa_exc.OperationalError):
        text = str(exc.orig).lower()  # SQLite: "database or disk is full"
        return "disk is full" in text or "no space left" in text
    return False


def is_database_down(exc: BaseException) -> bool:
    """Whether ``exc`` is the database being unreachable (or busy), not a bad query."""
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        return not is_no_space(exc)
    return isinstance(exc, (sa_exc.DisconnectionError, sa_exc.TimeoutError))


def describe(exc: BaseException) -> str:
    """One line naming the fault, short enough for a status or a log line."""
    if is_no_space(exc):
        return f"no space left on the device (ENOSPC): {_first_line(exc)}"
    if is_database_down(exc):
        return f"the run database is unreachable: {_first_line(exc)}"
    return f"{type(exc).__name__}: {_first_line(exc)}"


def as_engine_error(exc: BaseException) -> EngineError | None:
    """The engine error a fault amounts to for a client, or None if it is a real bug.

    A full disk is "insufficient storage", a database that does not answer is
    "unavailable" (retry later), and a name longer than the file system allows
    (ENAMETOOLONG) names nothing that can exist.
    """
    if isinstance(exc, EngineError):
        return exc
    if is_no_space(exc):
        return InsufficientStorage(
            f"{describe(exc)}; free some space (or ask the administrator) and retry"
        )
    if is_database_down(exc):
        return Unavailable(f"{describe(exc)}; retry once it is back")
    if isinstance(exc, OSError) and exc.errno == errno.ENAMETOOLONG:
        return NotFound("a name in the path is longer than the file system allows")
    return None


def _kind(condition: str) -> str:
    return condition.split(":", 1)[0]


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)  # SQLAlchemy wraps the driver's error
    text = str(orig if orig is not None else exc).strip()
    return (text.splitlines() or [type(exc).__name__])[0][:300]


def free_bytes(path: Path) -> int | None:
    """Bytes an unprivileged writer may still use on ``path``'s file system."""
    try:
        stat = os.statvfs(path)
    except OSError:
        return None
    return stat.f_bavail * stat.f_frsize


class FaultLog:
    """Logs a recurring failure once when it starts (or changes) and once when it ends."""

    def __init__(self, logger: logging.Logger, what: str) -> None:
        self._log = logger
        self._what = what
        self._lock = threading.Lock()
        self._current: str | None = None

    @property
    def current(self) -> str | None:
        """The fault going on now (its one-line description), or None."""
        return self._current

    def failed(self, exc: BaseException) -> None:
        """Record a failure; logged (with its traceback) only if it is a new condition."""
        condition = describe(exc)
        with self._lock:
            # The same fault words itself several ways as it goes on (an outage is
            # "terminating connection", then "refused", then "starting up"): one kind.
            new = self._current is None or _kind(condition) != _kind(self._current)
            self._current = condition
        if new:
            self._log.warning("%s failed: %s", self._what, condition, exc_info=exc)
        else:
            self._log.debug("%s failed again: %s", self._what, condition)

    def succeeded(self) -> None:
        """Record a success; logs the end of a fault that was going on."""
        with self._lock:
            ended, self._current = self._current, None
        if ended is not None:
            self._log.warning("%s works again (after: %s)", self._what, ended)
