"""The API's routes, once: which method and path reach which service operation.

Each :class:`Route` turns a :class:`~fusion_jupyter.service.exchange.Request` into a
call of :class:`~fusion_jupyter.service.api.FusionService` and its answer into a
:class:`~fusion_jupyter.service.exchange.Reply`. The server builds its tornado
handlers from this table and the kernel relay answers widgets with :func:`answer`, so
a route added here exists everywhere, with the same checks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote

from fusion_jupyter.engine.errors import EngineError, Problem, ValidationFailed
from fusion_jupyter.engine.faults import as_engine_error
from fusion_jupyter.service import files
from fusion_jupyter.service.api import (
    RUN_FIELDS,
    CurvesRequest,
    FusionService,
    ListRequest,
    LogRequest,
    ProgressRequest,
    ResultsRequest,
    RunRequest,
    SaveTemplateRequest,
    SweepListRequest,
    SweepRequest,
    ValidateRequest,
    encode_table,
    table_body,
)
from fusion_jupyter.service.errors import ApiError, error_body, error_response
from fusion_jupyter.service.exchange import FileSlice, Reply, Request
from fusion_jupyter.service.validation import parse_json, query_bool

Access = Literal["none", "read", "write"]
Answer = Callable[[FusionService, Request, Mapping[str, str]], Reply]


@dataclass(frozen=True)
class Route:
    """One method on one path pattern (named groups are the path parameters)."""

    method: str
    pattern: str
    access: Access
    answer: Answer

    @property
    def regex(self) -> re.Pattern[str]:
        """The compiled pattern, matched against the whole path."""
        return re.compile(self.pattern + "$")


def json_body(service: FusionService, request: Request) -> Any:
    """The decoded JSON body within the service's limits (400 when there is none)."""
    if not request.body:
        raise ValidationFailed([Problem("body", "", "a JSON object is required")])
    return parse_json(request.body, service.limits)


_RUN = r"runs/(?P<run_id>[^/]+)"
_SWEEP = r"sweeps/(?P<sweep_id>[^/]+)"


def _ready(s: FusionService, _r: Request, _a: Mapping[str, str]) -> Reply:
    ok, body = s.ready()
    return Reply(200 if ok else 503, body)


def _create_run(s: FusionService, r: Request, _a: Mapping[str, str]) -> Reply:
    run = s.create_run(RunRequest.from_body(json_body(s, r), RUN_FIELDS))
    return Reply(201, run, location=f"runs/{run['id']}")


def _save_template(s: FusionService, r: Request, _a: Mapping[str, str]) -> Reply:
    saved = s.save_template(SaveTemplateRequest.from_body(json_body(s, r)))
    return Reply(201, saved, location=f"templates/{saved['name']}")


def _rerun(s: FusionService, _r: Request, a: Mapping[str, str]) -> Reply:
    run = s.rerun(a["run_id"])
    return Reply(201, run, location=f"runs/{run['id']}")


def _delete_run(s: FusionService, r: Request, a: Mapping[str, str]) -> Reply:
    s.delete_run(a["run_id"], query_bool(r.arg("purge"), "purge"))
    return Reply(204)


def _artifact(s: FusionService, r: Request, a: Mapping[str, str]) -> Reply:
    download = query_bool(r.arg("download"), "download")
    real, span = s.artifact(a["run_id"], a["path"], r.headers.get("range"))
    headers = {
        "Content-Type": files.content_type(real.name),
        "Accept-Ranges": "bytes",
        "Content-Length": str(span.length),
        "X-Content-Type-Options": "nosniff",
    }
    if span.partial:
        headers["Content-Range"] = span.content_range
    if download:
        headers["Content-Disposition"] = files.attachment(real.name)
    status = 206 if span.partial else 200
    return Reply(status, headers=headers, file=FileSlice(real, span.start, span.length))


def _results(s: FusionService, r: Request, a: Mapping[str, str]) -> Reply:
    fmt = ResultsRequest.from_query(r.query).format
    frame = s.results(a["run_id"])
    if fmt == "json":
        return Reply(200, table_body(frame))
    name = f"{a['run_id']}-results.{fmt}"
    headers = {
        "Content-Disposition": files.attachment(name),
        "Content-Type": files.content_type(name),
    }
    return Reply(200, body=encode_table(frame, fmt), headers=headers)


def _create_sweep(s: FusionService, r: Request, _a: Mapping[str, str]) -> Reply:
    body = s.create_sweep(SweepRequest.from_body(json_body(s, r)))
    return Reply(201, body, location=f"sweeps/{body['sweep']['id']}")


def _rerun_failed_sweep(s: FusionService, _r: Request, a: Mapping[str, str]) -> Reply:
    return Reply(201, s.rerun_failed_sweep(a["sweep_id"]), location=f"sweeps/{a['sweep_id']}")


def _delete_sweep(s: FusionService, r: Request, a: Mapping[str, str]) -> Reply:
    s.delete_sweep(a["sweep_id"], query_bool(r.arg("purge"), "purge"))
    return Reply(204)


def _ok(call: Callable[[FusionService, Request, Mapping[str, str]], Any]) -> Answer:
    """A route whose answer is a 200 with the call's JSON."""
    return lambda s, r, a: Reply(200, call(s, r, a))


ROUTES: tuple[Route, ...] = (
    Route("GET", "health/live", "none", _ok(lambda s, r, a: {"status": "ok"})),
    Route("GET", "health/ready", "read", _ready),
    Route("GET", "templates", "read", _ok(lambda s, r, a: s.templates())),
    # Saving takes a run's frozen config (run_id) or a whole config.
    Route("POST", "templates", "write", _save_template),
    Route("GET", "templates/(?P<name>[^/]+)", "read", _ok(lambda s, r, a: s.template(a["name"]))),
    # Validating changes nothing: a read-only user may check a config.
    Route(
        "POST",
        "configs/validate",
        "read",
        _ok(lambda s, r, a: s.validate(ValidateRequest.from_body(json_body(s, r)))),
    ),
    Route("GET", "runs", "read", _ok(lambda s, r, a: s.list_runs(ListRequest.from_query(r.query)))),
    Route("POST", "runs", "write", _create_run),
    Route("GET", _RUN, "read", _ok(lambda s, r, a: s.get_run(a["run_id"]))),
    Route("DELETE", _RUN, "write", _delete_run),
    Route("POST", _RUN + "/cancel", "write", _ok(lambda s, r, a: s.cancel_run(a["run_id"]))),
    Route("POST", _RUN + "/rerun", "write", _rerun),
    Route(
        "GET",
        _RUN + "/progress",
        "read",
        _ok(lambda s, r, a: s.progress(a["run_id"], ProgressRequest.from_query(r.query))),
    ),
    Route(
        "GET",
        _RUN + "/logs",
        "read",
        _ok(lambda s, r, a: s.logs(a["run_id"], LogRequest.from_query(r.query))),
    ),
    Route("GET", _RUN + "/artifacts", "read", _ok(lambda s, r, a: s.artifacts(a["run_id"]))),
    Route("GET", _RUN + "/artifacts/(?P<path>.+)", "read", _artifact),
    Route("GET", _RUN + "/results", "read", _results),
    Route("POST", "sweeps", "write", _create_sweep),
    Route(
        "GET",
        "sweeps",
        "read",
        _ok(lambda s, r, a: s.list_sweeps(SweepListRequest.from_query(r.query))),
    ),
    Route("GET", _SWEEP, "read", _ok(lambda s, r, a: s.get_sweep(a["sweep_id"]))),
    Route("POST", _SWEEP + "/cancel", "write", _ok(lambda s, r, a: s.cancel_sweep(a["sweep_id"]))),
    Route("POST", _SWEEP + "/rerun-failed", "write", _rerun_failed_sweep),
    Route("DELETE", _SWEEP, "write", _delete_sweep),
    Route("GET", "simulators", "read", _ok(lambda s, r, a: s.simulators())),
    Route(
        "GET",
        _SWEEP + "/curves",
        "read",
        _ok(lambda s, r, a: s.sweep_curves(a["sweep_id"], CurvesRequest.from_query(r.query))),
    ),
)


_COMPILED = [(route, route.regex) for route in ROUTES]


def _decode(value: str) -> str:
    # Segment by segment: the front-end encodes each one (a "/" inside one stays).
    return "/".join(unquote(part) for part in value.split("/"))


def resolve(request: Request) -> tuple[Route, dict[str, str]]:
    """The route of a request and its decoded path parameters (404 or 405 otherwise)."""
    path = request.path.strip("/")
    known = False
    for route, regex in _COMPILED:
        match = regex.match(path)
        if match is None:
            continue
        known = True
        if route.method == request.method:
            return route, {k: _decode(v) for k, v in match.groupdict().items()}
    if known:
        message = f"method {request.method} is not allowed on {path[:200]!r}"
        raise ApiError(405, "method_not_allowed", message)
    raise ApiError(404, "not_found", f"no API route {path[:200]!r}")


def dispatch(service: FusionService, request: Request) -> Reply:
    """The reply to a request; refusals are raised (typed engine errors)."""
    route, args = resolve(request)
    return route.answer(service, request, args)


def error_reply(exc: EngineError) -> Reply:
    """A refusal as a reply, with the headers the status needs."""
    answer = error_response(exc)
    headers = {}
    if answer.status == 416:
        headers["Content-Range"] = f"bytes */{answer.body['error']['details']['size']}"
    return Reply(answer.status, answer.body, headers=headers)


def answer(service: FusionService, request: Request) -> Reply:
    """The reply to a request, refusals included (for transports that cannot raise)."""
    try:
        return dispatch(service, request)
    except EngineError as exc:
        return error_reply(exc)
    except Exception as exc:
        fault = as_engine_error(exc)  # a database outage or a full disk: 503/507
        if fault is None:
            raise
        return error_reply(fault)


__all__ = ["ROUTES", "Route", "answer", "dispatch", "error_body", "error_reply", "resolve"]
