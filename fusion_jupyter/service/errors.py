"""One mapping from every refusal to the API's error body and HTTP status.

The service raises (engine errors, :class:`ApiError`) and never formats an error
itself; :func:`error_response` decides what a client sees, whichever transport
carries the answer (the server, the kernel relay), so a traceback never leaks and bad
input is never a 500.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fusion_jupyter.engine.errors import (
    Conflict,
    EngineError,
    Forbidden,
    InsufficientStorage,
    NotFound,
    Unavailable,
    ValidationFailed,
)

_ENGINE_STATUS: tuple[tuple[type[EngineError], int], ...] = (
    (ValidationFailed, 400),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (Unavailable, 503),
    (InsufficientStorage, 507),
)


class ApiError(EngineError):
    """A refusal about the request itself (its size, a byte range, a route), with its status."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message, details)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class ErrorResponse:
    """What to send: the status and the ``{"error": {...}}`` body."""

    status: int
    body: dict[str, Any]


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The one error shape of the API: ``{"error": {code, message, details}}``."""
    return {"error": {"code": code, "message": message, "details": details}}


def status_of(exc: EngineError) -> int:
    """The HTTP status of a refusal."""
    if isinstance(exc, ApiError):
        return exc.status
    return next((status for cls, status in _ENGINE_STATUS if isinstance(exc, cls)), 400)


def error_response(exc: EngineError) -> ErrorResponse:
    """The status and body of a refusal."""
    return ErrorResponse(status_of(exc), error_body(exc.code, exc.message, exc.details))
