"""Typed exceptions of the Python API, the same in embedded and remote mode.

Every error the engine or the server reports arrives as one of these, carrying the
message a person can act on, the machine-readable ``code`` and, for refused input,
the field errors (``problems``: section, key, message) so that code can react to a
particular field::

    try:
        client.submit("minimal", {"general_settings.max_iters": 0})
    except fj.ValidationError as exc:
        for problem in exc.problems:
            print(problem.section, problem.key, problem.message)
"""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from fusion_jupyter.engine.errors import EngineError, Problem, ValidationFailed

if TYPE_CHECKING:
    from fusion_jupyter.client.run import Run

__all__ = [
    "AuthError",
    "ConflictError",
    "ConnectionError",
    "EngineError",
    "ForbiddenError",
    "FusionError",
    "NotFoundError",
    "Problem",
    "RequestTooLargeError",
    "RunFailedError",
    "ServerError",
    "TimeoutError",
    "UnavailableError",
    "ValidationError",
    "engine_errors",
    "error_from_payload",
]


class FusionError(Exception):
    """Base of every error raised by :mod:`fusion_jupyter.client`.

    Attributes
    ----------
    message : str
        What went wrong, as the engine or server said it.
    code : str
        A short machine-readable name (``validation_failed``, ``not_found``, ...).
    status : int or None
        The HTTP status in remote mode; None in embedded mode.
    details : Any
        Extra data the server attached (for validation errors, the raw problems).
    """

    code = "error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or type(self).code
        self.status = status
        self.details = details


class ValidationError(FusionError, ValueError):
    """Input was refused (HTTP 400); ``problems`` names each field and the reason."""

    code = "validation_failed"

    def __init__(self, message: str, problems: Sequence[Problem] = (), **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.problems: list[Problem] = list(problems)

    def __str__(self) -> str:
        if len(self.problems) < 2:
            return self.message
        return "invalid input:\n" + "\n".join(f"  {p}" for p in self.problems)


class NotFoundError(FusionError, LookupError):
    """The run, sweep, template or file does not exist (HTTP 404)."""

    code = "not_found"


class ConflictError(FusionError):
    """The object is in the wrong state for the request (HTTP 409), e.g. cancelling a
    finished run or deleting a running one."""

    code = "conflict"


class ForbiddenError(FusionError, PermissionError):
    """The request would reach outside what it may touch, such as an artifact path
    leading out of the run directory (HTTP 403)."""

    code = "forbidden"


class AuthError(FusionError, PermissionError):
    """The server refused the credentials (HTTP 401/403): a missing or wrong token."""

    code = "unauthorized"


class RequestTooLargeError(FusionError):
    """The request body was larger than the server accepts (HTTP 413)."""

    code = "too_large"


class UnavailableError(FusionError):
    """Something the request needs is not there (HTTP 503): the simulator asked for is
    not installed, or the batch system cannot be reached. The message names the
    setting to change."""

    code = "unavailable"


class ServerError(FusionError):
    """The server failed or answered something this client does not understand."""

    code = "server_error"


class ConnectionError(FusionError, builtins.ConnectionError):
    """The server could not be reached (refused, timed out, wrong address)."""

    code = "connection_failed"


class TimeoutError(FusionError, builtins.TimeoutError):
    """A wait ran out of time; the run itself goes on."""

    code = "timeout"


class RunFailedError(FusionError):
    """A run ended FAILED or CANCELLED where completion was required.

    ``run`` is the finished :class:`~fusion_jupyter.client.Run`; its ``error``
    attribute holds the reason and the last lines of the log.
    """

    code = "run_failed"

    def __init__(self, run: Run) -> None:
        reason = f": {run.error}" if run.error else ""
        super().__init__(f"run {run.id} ended {run.status}{reason}")
        self.run = run


def _problems(details: Any) -> list[Problem]:
    if not isinstance(details, list):
        return []
    return [
        Problem(str(d.get("section", "")), str(d.get("key", "")), str(d.get("message", "")))
        for d in details
        if isinstance(d, Mapping)
    ]


_BY_STATUS: dict[int, type[FusionError]] = {
    400: ValidationError,
    401: AuthError,
    403: AuthError,
    404: NotFoundError,
    409: ConflictError,
    413: RequestTooLargeError,
    503: UnavailableError,
}

_BY_CODE: dict[str, type[FusionError]] = {
    "validation_failed": ValidationError,
    "bad_request": ValidationError,
    "payload_too_large": RequestTooLargeError,
    "unauthorized": AuthError,
    "not_found": NotFoundError,
    "conflict": ConflictError,
    "forbidden": ForbiddenError,
    "unavailable": UnavailableError,
}


def error_from_payload(status: int | None, payload: Any, fallback: str = "") -> FusionError:
    """The typed exception for an error answer ``{"error": {code, message, details}}``.

    The ``code`` decides when it is known (a 403 for a path traversal is a
    :class:`ForbiddenError`, a 403 from Jupyter's authentication an
    :class:`AuthError`); otherwise the HTTP ``status`` does.
    """
    body = payload.get("error") if isinstance(payload, Mapping) else None
    body = body if isinstance(body, Mapping) else {}
    message = str(body.get("message") or fallback or f"HTTP {status}")
    code = str(body.get("code") or "")
    details = body.get("details")
    cls = _BY_CODE.get(code) or _BY_STATUS.get(status or 0, ServerError)
    if cls is ValidationError:
        return ValidationError(
            message, _problems(details), code=code or None, status=status, details=details
        )
    return cls(message, code=code or None, status=status, details=details)


def from_engine(exc: EngineError) -> FusionError:
    """The client exception for an engine error (the same classes as over HTTP)."""
    if isinstance(exc, ValidationFailed):
        return ValidationError(exc.message, exc.problems, details=exc.details)
    payload = {"error": {"code": exc.code, "message": exc.message, "details": exc.details}}
    return error_from_payload(None, payload)


@contextlib.contextmanager
def engine_errors() -> Iterator[None]:
    """Re-raise engine errors inside the block as client errors."""
    try:
        yield
    except EngineError as exc:
        raise from_engine(exc) from exc
