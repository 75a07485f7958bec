"""The REST API answered by the kernel, for widget front-ends that cannot reach a server.

A front-end in relay mode sends ``{method, path, query, headers, body}`` (the request
it would send to ``{base_url}fusion/api/``) through its widget model; :func:`answer`
gives the reply with the kernel's own client backend, in the same shapes and with the
same error bodies and statuses as the server (DESIGN §4), so one front-end API client
works over both.
"""

from __future__ import annotations

import json
import mimetypes
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import pandas as pd

from fusion_jupyter.client import errors
from fusion_jupyter.client.backend import JSON, Backend, RunQuery, RunSpec, nest_overrides

MAX_PAGE = 1000
_RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)$")


@dataclass(frozen=True)
class Request:
    """One REST request, as a front-end's fetch made it."""

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str | None = None

    @classmethod
    def from_message(cls, content: Mapping[str, Any]) -> Request:
        """From the ``http`` message of a widget front-end."""
        query = content.get("query") or {}
        headers = content.get("headers") or {}
        return cls(
            str(content.get("method") or "GET").upper(),
            str(content.get("path") or ""),
            {str(k): str(v) for k, v in query.items()},
            {str(k).lower(): str(v) for k, v in headers.items()},
            content.get("body") if isinstance(content.get("body"), str) else None,
        )

    def json(self) -> Any:
        """The JSON body (400 when it is not JSON)."""
        if not self.body:
            return {}
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise errors.ValidationError(f"the body is not JSON: {exc}") from exc

    def int(self, key: str, default: int, low: int, high: int) -> int:
        """An integer query parameter within [low, high]."""
        raw = self.query.get(key)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise errors.ValidationError(
                f"{key} must be a whole number", [errors.Problem("query", key, "not a number")]
            ) from None
        return max(low, min(high, value))


@dataclass
class Reply:
    """The status and a JSON body, or raw bytes with their headers."""

    status: int
    json: Any = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Backend, Request, dict[str, str]], Reply]
_ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    """Register a handler for ``method`` and a path pattern (named groups are its args)."""

    def register(handler: Handler) -> Handler:
        _ROUTES.append((method, re.compile(pattern + "$"), handler))
        return handler

    return register


def _ok(data: Any, status: int = 200) -> Reply:
    return Reply(status, data)


def frame_to_table(frame: pd.DataFrame) -> JSON:
    """``{"columns": [...], "rows": [{column: value}]}``, NaN as null (as the server sends)."""
    columns = [str(c) for c in frame.columns]
    rows = json.loads(frame.to_json(orient="values", date_format="iso", double_precision=15))
    return {"columns": columns, "rows": [dict(zip(columns, row, strict=True)) for row in rows]}


@route("GET", r"health/live")
def _live(_b: Backend, _r: Request, _a: dict[str, str]) -> Reply:
    return _ok({"status": "ok"})


@route("GET", r"templates")
def _templates(b: Backend, _r: Request, _a: dict[str, str]) -> Reply:
    return _ok({"templates": b.templates()})


@route("GET", r"templates/(?P<name>[^/]+)")
def _template(b: Backend, _r: Request, a: dict[str, str]) -> Reply:
    return _ok(b.template(a["name"]))


@route("POST", r"configs/validate")
def _validate(b: Backend, r: Request, _a: dict[str, str]) -> Reply:
    body = r.json()
    template = body.get("template") if isinstance(body, dict) else None
    if not isinstance(template, str) or not template:
        raise errors.ValidationError(
            "template is required", [errors.Problem("body", "template", "is required")]
        )
    return _ok(b.validate(template, nest_overrides(body.get("overrides") or {})))


@route("GET", r"runs")
def _list_runs(b: Backend, r: Request, _a: dict[str, str]) -> Reply:
    status = [s.strip().upper() for s in r.query.get("status", "").split(",") if s.strip()]
    query = RunQuery(
        status or None,
        r.query.get("tag") or None,
        r.query.get("name") or None,
        r.query.get("template") or None,
        r.query.get("sweep") or None,
    )
    limit = r.int("limit", 100, 1, MAX_PAGE)
    return _ok(b.list_runs(query, limit, r.query.get("cursor") or None))


@route("POST", r"runs")
def _create_run(b: Backend, r: Request, _a: dict[str, str]) -> Reply:
    body = r.json()
    if not isinstance(body, dict) or not isinstance(body.get("template"), str):
        raise errors.ValidationError(
            "template is required", [errors.Problem("body", "template", "is required")]
        )
    spec = RunSpec(
        body["template"],
        nest_overrides(body.get("overrides") or {}),
        str(body.get("name") or ""),
        tuple(str(t) for t in body.get("tags") or ()),
        body.get("executor") or None,
    )
    return _ok(b.create_run(spec), 201)


@route("GET", r"runs/(?P<id>[^/]+)")
def _get_run(b: Backend, _r: Request, a: dict[str, str]) -> Reply:
    return _ok(b.get_run(a["id"]))


@route("DELETE", r"runs/(?P<id>[^/]+)")
def _delete_run(b: Backend, r: Request, a: dict[str, str]) -> Reply:
    b.delete_run(a["id"], r.query.get("purge", "").lower() in ("1", "true", "yes"))
    return Reply(204)


@route("POST", r"runs/(?P<id>[^/]+)/cancel")
def _cancel(b: Backend, _r: Request, a: dict[str, str]) -> Reply:
    return _ok(b.cancel_run(a["id"]))


@route("POST", r"runs/(?P<id>[^/]+)/rerun")
def _rerun(b: Backend, _r: Request, a: dict[str, str]) -> Reply:
    return _ok(b.rerun(a["id"]), 201)


@route("GET", r"runs/(?P<id>[^/]+)/progress")
def _progress(b: Backend, r: Request, a: dict[str, str]) -> Reply:
    after = r.int("after", -1, -1, 1 << 62)
    limit = r.int("limit", 10_000, 1, 100_000)
    events = b.events(a["id"], after, limit)
    return _ok({"events": events, "last_seq": events[-1]["seq"] if events else after})


@route("GET", r"runs/(?P<id>[^/]+)/logs")
def _logs(b: Backend, r: Request, a: dict[str, str]) -> Reply:
    if "tail" in r.query:
        return _ok(b.logs(a["id"], tail=r.int("tail", 100, 0, 100_000)))
    offset = r.int("offset", 0, 0, 1 << 62)
    return _ok(b.logs(a["id"], offset=offset, limit=r.int("limit", 1 << 20, 0, 16 << 20)))


@route("GET", r"runs/(?P<id>[^/]+)/artifacts")
def _artifacts(b: Backend, _r: Request, a: dict[str, str]) -> Reply:
    return _ok({"artifacts": b.artifacts(a["id"])})


@route("GET", r"runs/(?P<id>[^/]+)/artifacts/(?P<path>.+)")
def _artifact(b: Backend, r: Request, a: dict[str, str]) -> Reply:
    data = b.read_artifact(a["id"], a["path"])
    name = a["path"].rsplit("/", 1)[-1]
    headers = {"Content-Type": mimetypes.guess_type(name)[0] or "application/octet-stream"}
    if r.query.get("download"):
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    match = _RANGE_RE.match(r.headers.get("range", ""))
    if match and data:
        first, last = match.groups()
        start = int(first) if first else max(0, len(data) - int(last or 0))
        end = min(len(data) - 1, int(last)) if first and last else len(data) - 1
        headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
        return Reply(206, body=data[start : end + 1], headers=headers)
    return Reply(200, body=data, headers=headers)


@route("GET", r"runs/(?P<id>[^/]+)/results")
def _results(b: Backend, _r: Request, a: dict[str, str]) -> Reply:
    return _ok(frame_to_table(b.results(a["id"])))


_STATUS_OF: tuple[tuple[type[errors.FusionError], int], ...] = (
    (errors.ValidationError, 400),
    (errors.ForbiddenError, 403),
    (errors.AuthError, 401),
    (errors.NotFoundError, 404),
    (errors.ConflictError, 409),
    (errors.RequestTooLargeError, 413),
    (errors.ConnectionError, 502),
)


def error_reply(exc: errors.FusionError) -> Reply:
    """The status and ``{"error": {code, message, details}}`` of a client error."""
    status = exc.status or next((s for cls, s in _STATUS_OF if isinstance(exc, cls)), 500)
    details = exc.details
    if isinstance(exc, errors.ValidationError) and exc.problems:
        details = [{"section": p.section, "key": p.key, "message": p.message} for p in exc.problems]
    return Reply(status, {"error": {"code": exc.code, "message": exc.message, "details": details}})


def _split(path: str) -> str:
    """The path with each segment decoded (the front-end encodes them one by one)."""
    return "/".join(unquote(part) for part in path.strip("/").split("/"))


def answer(backend: Backend, request: Request) -> Reply:
    """The reply to one request (never raises for a bad request or a failed call)."""
    raw = request.path.strip("/")
    for method, pattern, handler in _ROUTES:
        match = pattern.match(raw)
        if match and method == request.method:
            args = {key: _split(value) for key, value in match.groupdict().items()}
            try:
                return handler(backend, request, args)
            except errors.FusionError as exc:
                return error_reply(exc)
    known = any(pattern.match(raw) for _m, pattern, _h in _ROUTES)
    status, code = (405, "method_not_allowed") if known else (404, "not_found")
    message = f"no API route {request.method} {raw!r}"
    return Reply(status, {"error": {"code": code, "message": message, "details": None}})


__all__ = ["Reply", "Request", "answer", "error_reply", "frame_to_table"]
