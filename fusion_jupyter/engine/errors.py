"""Errors the engine raises, each mapping to one kind of answer a client can act on.

The server turns them into HTTP statuses (400, 403, 404, 409, 503, 507) and the Python API
re-raises them as typed exceptions, so every layer speaks of the same failures.
"""

from __future__ import annotations

from collections.abc import Sequence

from fusion_jupyter._namedtuple import NamedTuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Problem(NamedTuple):
    """One thing wrong (or doubtful) with a config: where it is and why.

    A NamedTuple rather than a frozen dataclass: the simulator's command line imports
    this module, and a dataclass's methods are compiled as it loads (1 ms of each start).
    """

    section: str
    key: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """The JSON shape clients see: ``{section, key, message}``."""
        return self._asdict()

    def __str__(self) -> str:
        where = f"{self.section}.{self.key}" if self.key else self.section
        return f"{where}: {self.message}"


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""

    code = "engine_error"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ValidationFailed(EngineError):
    """Input was refused; ``problems`` names each field and the reason."""

    code = "validation_failed"

    def __init__(self, problems: Sequence[Problem], message: str | None = None) -> None:
        self.problems = list(problems)
        text = message or "; ".join(str(p) for p in self.problems) or "invalid input"
        super().__init__(text, details=[p.to_dict() for p in self.problems])


class NotFound(EngineError):
    """The named run, sweep, template or file does not exist."""

    code = "not_found"


class Conflict(EngineError):
    """The object exists but is in the wrong state for the request."""

    code = "conflict"


class Forbidden(EngineError):
    """The request would reach outside what it may touch (path traversal)."""

    code = "forbidden"


class Unavailable(EngineError):
    """Something the request needs (a batch system, say) cannot be reached right now."""

    code = "unavailable"


class InsufficientStorage(EngineError):
    """The file system (or the database) has no room left for what the request writes."""

    code = "insufficient_storage"
