"""Reading a run's log by byte range or by its last lines, without loading it whole."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

TAIL_BLOCK = 64 * 1024
#: Most bytes a tail reads (and answers), however long a log's lines are.
TAIL_MAX_BYTES = 1 << 20


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


def tail_lines(path: Path, count: int, max_bytes: int = TAIL_MAX_BYTES) -> LogChunk:
    """The last ``count`` lines, read backwards in blocks, from at most ``max_bytes``.

    A line ends at ``\n``, ``\r\n`` or a lone ``\r`` (progress bars redraw a line
    with ``\r``). A log whose last lines are longer than ``max_bytes`` in all gives
    its last ``max_bytes`` only: the answer is bounded whatever the file holds.
    """
    try:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            blocks = _tail_blocks(fh, size, count, max_bytes)
    except FileNotFoundError:
        return LogChunk(0, 0, 0, "")
    data = b"".join(reversed(blocks))
    lines = data.splitlines(keepends=True)  # bytes: splits on \n, \r\n and \r only
    keep = lines[-count:] if count > 0 else []
    text = _from_char_start(b"".join(keep))
    return LogChunk(size - len(text), size, size, text.decode("utf-8", "replace"))


def _tail_blocks(fh: BinaryIO, size: int, count: int, max_bytes: int) -> list[bytes]:
    """Blocks from the end backwards, until they hold ``count`` whole lines or the cap.

    Each block is counted once as it is read (the old loop re-joined and re-counted
    everything read so far at every block: quadratic in a long line).
    """
    blocks: list[bytes] = []
    ends = 0
    start = size
    later_first = b""  # the first byte of the block read before (it follows this one)
    # One more line end than lines wanted: the file usually ends with one.
    while start > 0 and size - start < max_bytes and ends <= count:
        step = min(TAIL_BLOCK, start, max_bytes - (size - start))
        start -= step
        fh.seek(start)
        block = fh.read(step)
        ends += block.count(b"\n") + block.count(b"\r") - block.count(b"\r\n")
        if block.endswith(b"\r") and later_first == b"\n":
            ends -= 1  # a \r\n split between two blocks is one line end
        later_first = block[:1]
        blocks.append(block)
    return blocks


def _from_char_start(data: bytes) -> bytes:
    """``data`` without the UTF-8 continuation bytes a cut may have left at its start."""
    skip = 0
    while skip < min(len(data), 3) and data[skip] & 0xC0 == 0x80:
        skip += 1
    return data[skip:]
