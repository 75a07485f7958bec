"""Reading a run's log by byte range or by its last lines, without loading it whole."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TAIL_BLOCK = 64 * 1024


@dataclass(frozen=True)
class LogChunk:
    """Part of a log: the text, where it starts and ends (bytes), and the file's size."""

    offset: int
    next_offset: int
    size: int
    data: str

    def to_dict(self) -> dict[str, object]:
        """The JSON shape clients see."""
        return {
            "offset": self.offset,
            "next_offset": self.next_offset,
            "size": self.size,
            "data": self.data,
        }


def read_range(path: Path, offset: int, limit: int) -> LogChunk:
    """Up to ``limit`` bytes from ``offset``; an offset past the end gives nothing."""
    try:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            start = min(max(0, offset), size)
            fh.seek(start)
            data = fh.read(max(0, limit))
    except FileNotFoundError:
        return LogChunk(0, 0, 0, "")
    return LogChunk(start, start + len(data), size, data.decode("utf-8", "replace"))


def tail_lines(path: Path, count: int) -> LogChunk:
    """The last ``count`` lines, read backwards in blocks."""
    try:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            start, data = size, b""
            # One more newline than lines wanted: the file usually ends with one.
            while start > 0 and data.count(b"\n") <= count:
                step = min(TAIL_BLOCK, start)
                start -= step
                fh.seek(start)
                data = fh.read(step) + data
    except FileNotFoundError:
        return LogChunk(0, 0, 0, "")
    lines = data.splitlines(keepends=True)
    keep = lines[-count:] if count > 0 else []
    text = b"".join(keep)
    return LogChunk(size - len(text), size, size, text.decode("utf-8", "replace"))
