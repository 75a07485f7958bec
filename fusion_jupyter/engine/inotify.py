"""A minimal binding of Linux inotify (through libc), for the file watcher.

Only what the watcher needs: a non-blocking descriptor to wait on (with a selector or
an event loop's ``add_reader``), adding and removing watches, and reading the queued
events. Nothing here waits or polls.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import struct
from typing import NamedTuple

IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE_SELF = 0x00000400
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_ISDIR = 0x40000000
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC

_HEADER = struct.Struct("iIII")  # wd, mask, cookie, len (struct inotify_event)
_READ_SIZE = 64 * 1024


class InotifyEvent(NamedTuple):
    """One event: the watch it came from, what happened, and the entry's name (if any)."""

    wd: int
    mask: int
    name: str


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


class Inotify:
    """One inotify instance; close it when done."""

    def __init__(self) -> None:
        self._libc = _libc()
        fd = self._libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            raise _os_error("inotify_init1")
        self.fd: int = fd

    def fileno(self) -> int:
        """The descriptor, readable when events are queued."""
        return self.fd

    def add_watch(self, path: str, mask: int) -> int:
        """Watch ``path`` for ``mask``; the watch descriptor (the same for the same path)."""
        wd = self._libc.inotify_add_watch(self.fd, os.fsencode(path), ctypes.c_uint32(mask))
        if wd < 0:
            raise _os_error("inotify_add_watch", path)
        return int(wd)

    def rm_watch(self, wd: int) -> None:
        """Stop a watch (a watch already gone with its directory is no error)."""
        self._libc.inotify_rm_watch(self.fd, wd)

    def read(self) -> list[InotifyEvent]:
        """Every event queued now (an empty list if there is none)."""
        events: list[InotifyEvent] = []
        while True:
            try:
                data = os.read(self.fd, _READ_SIZE)
            except BlockingIOError:
                return events
            offset = 0
            while offset < len(data):
                wd, mask, _cookie, size = _HEADER.unpack_from(data, offset)
                offset += _HEADER.size
                name = data[offset : offset + size].split(b"\0", 1)[0]
                offset += size
                events.append(InotifyEvent(wd, mask, os.fsdecode(name)))
            if len(data) < _READ_SIZE // 2:
                return events

    def close(self) -> None:
        """Release the descriptor (and with it every watch)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _os_error(call: str, path: str | None = None) -> OSError:
    errno = ctypes.get_errno()
    return OSError(errno, f"{call}: {os.strerror(errno)}", path)
