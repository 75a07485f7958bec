"""Sending a run's file: HTTP Range, content type by extension, download names.

Kept apart from the handlers because these are pure functions of a header and a
size, testable without a server.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from urllib.parse import quote

from fusion_jupyter.service.errors import ApiError

CHUNK_BYTES = 256 * 1024

_RANGE_RE = re.compile(r"bytes=(\d{0,19})-(\d{0,19})")
_TYPES = {
    ".log": "text/plain",
    ".txt": "text/plain",
    ".out": "text/plain",
    ".err": "text/plain",
    ".ini": "text/plain",
    ".cfg": "text/plain",
    ".csv": "text/csv",
    ".json": "application/json",
    ".jsonl": "application/x-ndjson",
    ".parquet": "application/vnd.apache.parquet",
}


@dataclass(frozen=True)
class ByteRange:
    """``[start, end)`` of a file of ``size`` bytes; ``partial`` when a Range asked for it."""

    start: int
    end: int
    size: int
    partial: bool

    @property
    def length(self) -> int:
        """How many bytes the body carries."""
        return self.end - self.start

    @property
    def content_range(self) -> str:
        """The ``Content-Range`` header value of a 206 answer."""
        return f"bytes {self.start}-{self.end - 1}/{self.size}"


def byte_range(header: str | None, size: int) -> ByteRange:
    """The part of a ``size``-byte file a ``Range`` header asks for (RFC 9110 §14).

    A header that is not one ``bytes=`` range (several ranges, other units, bad
    syntax) is ignored and the whole file is sent, as the RFC allows; a range that
    starts past the end is a 416.
    """
    whole = ByteRange(0, size, size, partial=False)
    match = _RANGE_RE.fullmatch(header.strip()) if header else None
    if match is None:
        return whole
    first, last = match.group(1), match.group(2)
    if not first and not last:
        return whole
    if not first:  # suffix: the last N bytes
        count = int(last)
        if count == 0:
            raise unsatisfiable(size)
        return ByteRange(max(0, size - count), size, size, partial=True)
    start = int(first)
    end = min(int(last) + 1, size) if last else size
    if last and int(last) < start:
        return whole
    if start >= size:
        raise unsatisfiable(size)
    return ByteRange(start, end, size, partial=True)


def unsatisfiable(size: int) -> ApiError:
    """The 416 answer (its ``Content-Range: bytes */size`` is set by the handler)."""
    return ApiError(
        416,
        "range_not_satisfiable",
        f"the requested range is outside the file ({size} bytes)",
        {"size": size},
    )


def content_type(name: str) -> str:
    """The MIME type to send a file as, by its extension; text types say UTF-8."""
    suffix = name[name.rfind(".") :].lower() if "." in name else ""
    kind = _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind.startswith("text/") else kind


def attachment(name: str) -> str:
    """A ``Content-Disposition`` that saves the file under ``name`` (RFC 6266, UTF-8 safe)."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
