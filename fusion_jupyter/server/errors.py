"""One mapping from every failure to the API's error body and HTTP status.

Handlers raise (engine errors, :class:`ApiError`, tornado's ``HTTPError``) and never
format an error themselves; :func:`error_response` is the only place that decides
what a client sees, so a traceback can never leak and bad input can never be a 500.
"""

from __future__ import annotations

from dataclasses import dataclass
from http.client import responses
from typing import Any

from tornado.web import HTTPError

from fusion_jupyter.engine.errors import (
    Conflict,
    EngineError,
    Forbidden,
    InsufficientStorage,
    NotFound,
    Problem,
    Unavailable,
    ValidationFailed,
)
from fusion_jupyter.engine.faults import as_engine_error

_ENGINE_STATUS: tuple[tuple[type[EngineError], int], ...] = (
    (ValidationFailed, 400),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (Unavailable, 503),
    (InsufficientStorage, 507),
)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    416: "range_not_satisfiable",
    503: "unavailable",
    507: "insufficient_storage",
}


class ApiError(Exception):
    """An error the server itself raises about a request (not one from the engine)."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def bad_input(problems: list[Problem], message: str | None = None) -> ValidationFailed:
    """A 400 naming each offending field, in the engine's ``{section,key,message}`` shape."""
    return ValidationFailed(problems, message)


@dataclass(frozen=True)
class ErrorResponse:
    """What to send: the status and the ``{"error": {...}}`` body."""

    status: int
    body: dict[str, Any]


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The one error shape of the API: ``{"error": {code, message, details}}``."""
    return {"error": {"code": code, "message": message, "details": details}}


def error_response(exc: BaseException | None, status: int = 500) -> ErrorResponse:
    """The status and body for ``exc`` (or for a bare ``status`` when there is none)."""
    if isinstance(exc, ApiError):
        return ErrorResponse(exc.status, error_body(exc.code, exc.message, exc.details))
    if exc is not None and not isinstance(exc, HTTPError):
        # A database outage or a full disk is the client's to know about (503/507).
        exc = as_engine_error(exc) or exc
    if isinstance(exc, EngineError):
        code = next((s for cls, s in _ENGINE_STATUS if isinstance(exc, cls)), 400)
        return ErrorResponse(code, error_body(exc.code, exc.message, exc.details))
    if isinstance(exc, HTTPError):
        status = exc.status_code
        message = exc.log_message % exc.args if exc.log_message and exc.args else exc.log_message
        return ErrorResponse(status, _http_body(status, message or exc.reason))
    return ErrorResponse(status, _http_body(status, None))


def _http_body(status: int, message: str | None) -> dict[str, Any]:
    code = _HTTP_CODES.get(status, "internal_error" if status >= 500 else "http_error")
    if status >= 500 and status != 503:
        # Never show an internal failure's text: it is logged, not sent.
        message = "internal server error (see the server log)"
    return error_body(code, message or responses.get(status, "error"), None)
