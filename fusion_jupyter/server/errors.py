"""The server's side of the error model: tornado's own errors in the API's shape.

Handlers raise (engine errors, :class:`ApiError`, tornado's ``HTTPError``) and never
format an error themselves; refusals are mapped by :mod:`fusion_jupyter.service.errors`,
and anything else becomes a bare status here, so a traceback can never leak.
"""

from __future__ import annotations

from http.client import responses
from typing import Any

from tornado.web import HTTPError

from fusion_jupyter.engine.errors import EngineError
from fusion_jupyter.engine.faults import as_engine_error
from fusion_jupyter.service.errors import ApiError, ErrorResponse, error_body
from fusion_jupyter.service.errors import error_response as refusal_response

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


def error_response(exc: BaseException | None, status: int = 500) -> ErrorResponse:
    """The status and body for ``exc`` (or for a bare ``status`` when there is none)."""
    if exc is not None and not isinstance(exc, (EngineError, HTTPError)):
        # A database outage or a full disk is the client's to know about (503/507).
        exc = as_engine_error(exc) or exc
    if isinstance(exc, EngineError):
        return refusal_response(exc)
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


__all__ = ["ApiError", "ErrorResponse", "error_response"]
