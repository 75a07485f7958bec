"""Checking what clients send: the one JSON parser with limits, body fields, query numbers.

Every check names the field it refused (``{section: "body"|"query"|"message", key,
message}``, the engine's Problem shape) so a client can show the user what to fix,
and every limit is a setting of the extension (:class:`RequestLimits`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fusion_jupyter.engine.errors import Problem, ValidationFailed
from fusion_jupyter.engine.settings import setting
from fusion_jupyter.service.errors import ApiError


@dataclass(frozen=True)
class RequestLimits:
    """Bounds on one request body (or one WebSocket message)."""

    max_body_bytes: int = setting(
        "Largest request body accepted; larger ones are answered 413.",
        default=1 << 20,
    )
    max_json_depth: int = setting(
        "Deepest nesting of a JSON body or WebSocket message.",
        default=32,
    )
    max_json_keys: int = setting(
        "Most object keys, in total, in one JSON body or WebSocket message.",
        default=10_000,
    )
    max_string_length: int = setting(
        "Longest string (in characters) in a JSON body or WebSocket message.",
        default=65_536,
    )


def too_large(size: int, limit: int) -> ApiError:
    """The 413 for a body over the limit."""
    return ApiError(
        413,
        "payload_too_large",
        f"the request body is {size} bytes or more; the limit is {limit} bytes",
        {"limit": limit},
    )


def _fail(section: str, key: str, message: str) -> ValidationFailed:
    return ValidationFailed([Problem(section, key, message)])


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def parse_json(raw: bytes, limits: RequestLimits, section: str = "body") -> Any:
    """Decode ``raw`` as strict JSON within ``limits`` (size, depth, keys, string length).

    NaN, Infinity, numbers that overflow and duplicate object keys are refused too:
    they would silently change meaning on the way to the simulator's INI file.
    """
    if len(raw) > limits.max_body_bytes:
        raise too_large(len(raw), limits.max_body_bytes)
    try:
        text = raw.decode("utf-8")
        value = json.loads(
            text,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            object_pairs_hook=_no_duplicates,
        )
    except RecursionError:
        raise _fail(section, "", f"nested deeper than {limits.max_json_depth} levels") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise _fail(section, "", f"not valid JSON: {exc}") from None
    _check_shape(value, limits, section)
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"key {key[:100]!r} appears twice")
        result[key] = value
    return result


def _check_shape(value: Any, limits: RequestLimits, section: str) -> None:
    """Walk the decoded value once, iteratively, checking depth, key count and strings.

    A refusal names the top-level field it is in (``""`` for the value itself).
    """
    keys = 0
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        item, depth, field = stack.pop()
        if isinstance(item, str):
            problem = _string_problem(item, limits)
            if problem:
                raise _fail(section, field, problem)
            continue
        if not isinstance(item, (dict, list)):
            continue
        if depth > limits.max_json_depth:
            raise _fail(section, field, f"nested deeper than {limits.max_json_depth} levels")
        if isinstance(item, dict):
            keys += len(item)
            if keys > limits.max_json_keys:
                raise _fail(section, field, f"more than {limits.max_json_keys} keys in total")
            for key, child in item.items():
                name = field or (key if isinstance(key, str) and key.isprintable() else "")
                stack.append((key, depth, name))
                stack.append((child, depth + 1, name))
        else:
            stack.extend((v, depth + 1, field) for v in item)


def _string_problem(text: str, limits: RequestLimits) -> str | None:
    if len(text) > limits.max_string_length:
        return f"a string is longer than {limits.max_string_length} characters"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            # JSON's \ud800 escapes decode to lone surrogates, which no file, database
            # or socket can store.
            return "a string holds a lone UTF-16 surrogate (not a Unicode character)"
    return None


# --------------------------------------------------------------------------- body fields

Check = Callable[[Any], str | None]


@dataclass(frozen=True)
class Field:
    """One allowed field of a JSON object: whether it is required and how to check it."""

    check: Check
    required: bool = False


def is_text(value: Any) -> str | None:
    """A check: a string."""
    return None if isinstance(value, str) else "must be a string"


def is_object(value: Any) -> str | None:
    """A check: a JSON object."""
    return None if isinstance(value, dict) else "must be an object"


def is_config(value: Any) -> str | None:
    """A check: a whole config, as INI text or as ``{section: {key: value}}``."""
    if isinstance(value, str | dict):
        return None
    return "must be INI text or an object of sections"


def is_bool(value: Any) -> str | None:
    """A check: true or false."""
    return None if isinstance(value, bool) else "must be true or false"


def is_text_list(value: Any) -> str | None:
    """A check: a list of strings."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return None
    return "must be a list of strings"


def is_int_in(low: int, high: int) -> Check:
    """A check: an integer (not a boolean) within ``[low, high]``."""

    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return "must be an integer"
        if not low <= value <= high:
            return f"must be between {low} and {high}"
        return None

    return check


def is_text_in(choices: Sequence[str]) -> Check:
    """A check: one of ``choices``."""

    def check(value: Any) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}"

    return check


def check_fields(value: Any, fields: Mapping[str, Field], section: str = "body") -> dict[str, Any]:
    """``value`` as a dict with only known fields, each checked; all problems at once."""
    if not isinstance(value, dict):
        raise _fail(section, "", "must be a JSON object")
    problems = [
        Problem(section, key, f"unknown field (allowed: {', '.join(sorted(fields))})")
        for key in value
        if key not in fields
    ]
    for key, field in fields.items():
        if key not in value:
            if field.required:
                problems.append(Problem(section, key, "is required"))
            continue
        message = field.check(value[key])
        if message:
            problems.append(Problem(section, key, message))
    if problems:
        raise ValidationFailed(problems)
    return value


# --------------------------------------------------------------------------- query args


def query_int(raw: str | None, key: str, default: int, low: int, high: int) -> int:
    """A bounded integer query argument; 400 naming ``key`` when it is not one."""
    if raw is None or raw == "":
        return default
    text = raw.strip()
    if not (text.lstrip("-").isdigit() and len(text) <= 20):
        raise _fail("query", key, "must be an integer")
    value = int(text)
    if not low <= value <= high:
        raise _fail("query", key, f"must be between {low} and {high}")
    return value


def query_bool(raw: str | None, key: str) -> bool:
    """A boolean query argument: true/false/1/0/yes/no (absent is false)."""
    if raw is None or raw == "":
        return False
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes"):
        return True
    if lowered in ("0", "false", "no"):
        return False
    raise _fail("query", key, "must be true or false")


def query_text(raw: str | None, key: str, max_length: int) -> str | None:
    """A free-text query argument within ``max_length`` characters (absent is None)."""
    if raw is None or raw == "":
        return None
    if len(raw) > max_length or any(ord(c) < 32 for c in raw):
        raise _fail(
            "query", key, f"must be at most {max_length} characters without control characters"
        )
    return raw
