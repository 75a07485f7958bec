"""One API request and its reply, as plain data any transport can carry.

The server builds a :class:`Request` from a tornado request, the kernel relay from a
widget's message, the embedded client from a method call; each sends the
:class:`Reply` back its own way. Nothing here imports the engine, so a client that
only forwards requests stays light.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Request:
    """A request to ``{base_url}fusion/api/{path}``.

    ``path`` keeps its segments percent-encoded (a run's file may contain ``/`` and
    ``..``); ``query`` holds every value of a repeated key; header names are lower-case.
    """

    method: str
    path: str
    query: Mapping[str, Sequence[str]] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def arg(self, key: str) -> str | None:
        """One query value (the last one when repeated)."""
        values = self.query.get(key)
        return values[-1] if values else None

    @classmethod
    def make(
        cls,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Request:
        """A request from call arguments: scalar params, a JSON-able body."""
        query = {k: [_param(v)] for k, v in (params or {}).items() if v is not None}
        raw = b"" if body is None else json.dumps(body).encode()
        lowered = {k.lower(): v for k, v in (headers or {}).items()}
        return cls(method.upper(), path.strip("/"), query, lowered, raw)


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class FileSlice:
    """``length`` bytes of a file from ``start``: a body sent without holding it in memory."""

    path: Path
    start: int
    length: int

    def read(self) -> bytes:
        """The bytes (for transports that send a body whole)."""
        with self.path.open("rb") as fh:
            fh.seek(self.start)
            return fh.read(self.length)


@dataclass
class Reply:
    """A status with a JSON body, raw bytes, or a file slice, and headers.

    ``location`` is the API path of a created resource (``runs/<id>``); the server
    turns it into an absolute ``Location`` header.
    """

    status: int = 200
    json: Any = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    file: FileSlice | None = None
    location: str | None = None

    def content(self) -> bytes | None:
        """The raw body, reading a file slice; None for a JSON reply."""
        if self.file is not None:
            return self.file.read()
        return self.body


__all__ = ["FileSlice", "Reply", "Request"]
