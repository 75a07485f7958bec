"""REST handlers of ``{base_url}fusion/api/``: parse and check input, call the engine, shape.

No business logic lives here (DESIGN §1). Every route is authenticated and authorized
against the ``fusion`` resource with a ``read`` or ``write`` action, so a custom
Authorizer can let a user watch runs without letting them start or delete any;
only ``health/live`` answers without authentication.
"""

from __future__ import annotations

import functools
import io
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from jupyter_server.auth.decorator import allow_unauthenticated, authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from sqlalchemy import text
from tornado import web
from tornado.iostream import StreamClosedError

from fusion_jupyter.engine import config
from fusion_jupyter.engine.errors import EngineError, Problem, ValidationFailed
from fusion_jupyter.engine.faults import as_engine_error, describe, free_bytes
from fusion_jupyter.engine.manager import check_source
from fusion_jupyter.engine.models import Run, Status, Sweep, run_to_dict, sweep_to_dict
from fusion_jupyter.engine.store import Page, RunFilter
from fusion_jupyter.server import files
from fusion_jupyter.server.context import SETTINGS_KEY, FusionContext
from fusion_jupyter.server.errors import ApiError, error_response
from fusion_jupyter.server.validation import (
    Field,
    check_fields,
    is_bool,
    is_config,
    is_object,
    is_text,
    is_text_list,
    parse_json,
    query_bool,
    query_int,
    query_text,
    too_large,
)

if TYPE_CHECKING:
    import pandas as pd

AUTH_RESOURCE = "fusion"
API_PREFIX = "fusion/api"
MAX_PAGE = 500
MAX_LOG_BYTES = 8 << 20
MAX_TAIL_LINES = 100_000
MAX_PROGRESS_EVENTS = 100_000
MAX_OFFSET = 1 << 62
QUERY_TEXT_MAX = 200
OPENAPI_FILE = Path(__file__).with_name("openapi.json")

Method = Callable[..., Any]

RUN_FIELDS = {
    "template": Field(is_text),
    "config": Field(is_config),
    "overrides": Field(is_object),
    "name": Field(is_text),
    "tags": Field(is_text_list),
    "executor": Field(is_text),
    "executor_options": Field(is_object),
}
SWEEP_FIELDS = {**RUN_FIELDS, "grid": Field(is_object, required=True)}
VALIDATE_FIELDS = {
    "template": Field(is_text),
    "overrides": Field(is_object),
    "config": Field(is_config),
}
SAVE_TEMPLATE_FIELDS = {
    "name": Field(is_text, required=True),
    "run_id": Field(is_text),
    "config": Field(is_config),
    "description": Field(is_text),
    "replace": Field(is_bool),
}


def reads(method: Method) -> Method:
    """Authenticated, and authorized for the ``read`` action on ``fusion``."""
    return web.authenticated(_refusal_first(authorized("read")(method)))


def writes(method: Method) -> Method:
    """Authenticated, and authorized for the ``write`` action on ``fusion``."""
    return web.authenticated(_refusal_first(authorized("write")(method)))


def _refusal_first(method: Method) -> Method:
    """Raise the refusal :meth:`FusionHandler.prepare` put off until the body was read."""

    @functools.wraps(method)
    def checked(self: FusionHandler, *args: Any, **kwargs: Any) -> Any:
        if self._refusal is not None:
            raise self._refusal
        return method(self, *args, **kwargs)

    return checked


@web.stream_request_body
class FusionHandler(APIHandler):
    """Base of every REST handler: the error shape, the limited JSON body, engine calls.

    The body is streamed (``stream_request_body``) so an oversized one is refused by
    its Content-Length before it is read, and one without a length is dropped as it
    arrives: a request can never make the server hold more than ``max_body_bytes``.
    """

    auth_resource = AUTH_RESOURCE

    @property
    def fusion(self) -> FusionContext:
        """The shared engine context built by the extension app."""
        context: FusionContext = self.settings[SETTINGS_KEY]
        return context

    _refusal: Exception | None = None

    async def prepare(self, **kwargs: Any) -> None:
        """Jupyter's auth, XSRF and origin checks, then the body size from its header.

        A request with a body that is refused here (403 for XSRF, 413) is answered only
        once its body has arrived (and been dropped): answering earlier closes the
        connection under a client still sending, which then sees a reset, not the error.
        """
        self._body = bytearray()
        self._body_size = 0
        try:
            await super().prepare(**kwargs)
            declared = self.request.headers.get("Content-Length", "0")
            limit = self.fusion.limits.max_body_bytes
            if declared.isdigit() and int(declared) > limit:
                raise too_large(int(declared), limit)
        except (web.HTTPError, ApiError) as exc:
            if not self._expects_body():
                raise
            self._refusal = exc

    def _expects_body(self) -> bool:
        # Only methods that may carry a body (even an empty one: answering before
        # tornado has read it makes it close a keep-alive connection).
        return self.request.method in ("POST", "PUT", "PATCH", "DELETE")

    def data_received(self, chunk: bytes) -> None:
        """Keep the body while it is within the limit; past it, only count."""
        self._body_size += len(chunk)
        if self._refusal is None and self._body_size <= self.fusion.limits.max_body_bytes:
            self._body.extend(chunk)
        else:
            self._body.clear()

    def json_body(self, fields: dict[str, Field]) -> dict[str, Any]:
        """The body as a JSON object with only ``fields``, each checked."""
        limit = self.fusion.limits.max_body_bytes
        if self._body_size > limit:
            raise too_large(self._body_size, limit)
        if not self._body:
            raise ValidationFailed([Problem("body", "", "a JSON object is required")])
        return check_fields(parse_json(bytes(self._body), self.fusion.limits), fields)

    def query(self, key: str) -> str | None:
        """One query argument as given (the last one if repeated)."""
        return self.get_query_argument(key, None)

    def send(self, data: Any, status: int = 200) -> None:
        """Answer with JSON."""
        self.set_status(status)
        self.finish(json.dumps(data, allow_nan=False))

    def location(self, *parts: str) -> str:
        """The absolute path of an API resource, for Location headers."""
        return url_path_join(self.base_url, API_PREFIX, *parts)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Every error as ``{"error": {code, message, details}}``, never a traceback."""
        exc_info = kwargs.get("exc_info")
        answer = error_response(exc_info[1] if exc_info else None, status_code)
        self.set_status(answer.status)
        if answer.status == 416:
            self.set_header("Content-Range", f"bytes */{answer.body['error']['details']['size']}")
        self.clear_header("Content-Disposition")
        self.finish(json.dumps(answer.body))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Expected refusals are logged in one line; only real failures get a traceback."""
        if isinstance(value, (ApiError, EngineError)):
            self.log.info("fusion %s %s: %s", self.request.method, self.request.path, value)
            return
        fault = as_engine_error(value)
        if fault is not None:  # an outage or a full disk: the engine logs it once, in full
            self.log.warning("fusion %s %s: %s", self.request.method, self.request.path, fault)
            return
        super().log_exception(typ, value, tb)


# --------------------------------------------------------------------------- shaping


def page_body(page: Page) -> dict[str, Any]:
    """The one shape of a listing page: ``{"runs": [...], "next_cursor": str|null}``."""
    return {"runs": [run_to_dict(r) for r in page.runs], "next_cursor": page.next_cursor}


def sweep_body(sweep: Sweep, runs: list[Run]) -> dict[str, Any]:
    """A sweep with its runs, as both POST and GET answer it."""
    return {"sweep": sweep_to_dict(sweep, runs), "runs": [run_to_dict(r) for r in runs]}


def _json_cell(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value.item() if hasattr(value, "item") else value


def table_body(frame: pd.DataFrame) -> dict[str, Any]:
    """A results table as ``{"columns": [...], "rows": [{col: value}]}`` with NaN as null."""
    columns = [str(c) for c in frame.columns]
    rows = [
        {c: _json_cell(v) for c, v in zip(columns, row, strict=True)}
        for row in frame.itertuples(index=False, name=None)
    ]
    return {"columns": columns, "rows": rows}


def _statuses(values: list[str]) -> list[Status] | None:
    names = [part.strip().upper() for value in values for part in value.split(",") if part.strip()]
    unknown = [n for n in names if n not in Status.__members__]
    if unknown:
        allowed = ", ".join(Status.__members__)
        raise ValidationFailed(
            [Problem("query", "status", f"unknown status {unknown[0][:40]!r} (allowed: {allowed})")]
        )
    return [Status(n) for n in dict.fromkeys(names)] or None


# --------------------------------------------------------------------------- health


class LiveHandler(FusionHandler):
    """``GET health/live``: the process answers; no checks, no auth (for probes)."""

    @allow_unauthenticated
    def get(self) -> None:
        """Always 200."""
        self.send({"status": "ok"})


class ReadyHandler(FusionHandler):
    """``GET health/ready``: the database answers, the disk has room, the watchers run."""

    @reads
    async def get(self) -> None:
        """200 when everything is ok, 503 with the reason otherwise."""
        manager = self.fusion.manager
        try:
            await self.fusion.call(_ping_database, manager.store)
            database = "ok"
        except Exception as exc:
            database = describe(exc)
        disk = _disk_state(
            await self.fusion.call(free_bytes, manager.settings.runs_dir),
            manager.settings.min_free_disk_bytes,
        )
        ok = database == "ok" and disk == "ok" and manager.started
        executors = {"local": "ok" if manager.started else "stopped"}
        executors["slurm"] = "ok" if manager.slurm.available else "unavailable"
        body = {
            "status": "ok" if ok else "error",
            "database": database,
            "disk": disk,
            "executors": executors,
            "watcher": manager.watch_modes["local"],
        }
        self.send(body, 200 if ok else 503)


def _disk_state(free: int | None, minimum: int) -> str:
    if free is None:
        return "unknown: the runs directory cannot be examined"
    if free < minimum:
        return f"low: {free} bytes free in the runs directory (minimum {minimum})"
    return "ok"


def _ping_database(store: Any) -> None:
    with store.read() as session:
        session.execute(text("SELECT 1"))


class OpenApiHandler(FusionHandler):
    """``GET openapi.json``: the document shipped in the package."""

    @reads
    async def get(self) -> None:
        """The OpenAPI 3.1 document, as shipped."""
        self.finish(await self.fusion.call(OPENAPI_FILE.read_bytes))


# --------------------------------------------------------------------------- templates


class TemplatesHandler(FusionHandler):
    """``GET templates``: every template's name and description; ``POST templates`` saves one.

    Saving takes a run's frozen config (``run_id``) or a whole config, so "save as
    template" works from a run as from a file.
    """

    @reads
    async def get(self) -> None:
        """The list, sorted by name."""
        infos = await self.fusion.call(self.fusion.manager.templates.list)
        self.send({"templates": [{"name": i.name, "description": i.description} for i in infos]})

    @writes
    async def post(self) -> None:
        """201 with ``{name, description}``; 409 when the name exists and not ``replace``."""
        body = self.json_body(SAVE_TEMPLATE_FIELDS)
        info = await self.fusion.call(
            self.fusion.manager.save_template,
            body["name"],
            run_id=body.get("run_id"),
            ini=body.get("config"),
            description=body.get("description", ""),
            replace=bool(body.get("replace", False)),
        )
        self.set_header("Location", self.location("templates", info.name))
        self.send({"name": info.name, "description": info.description}, 201)


class TemplateHandler(FusionHandler):
    """``GET templates/{name}``: one template's text and described sections."""

    @reads
    async def get(self, name: str) -> None:
        """``{name, description, text, sections}``."""
        library = self.fusion.manager.templates
        described = await self.fusion.call(library.describe, name)
        described["text"] = await self.fusion.call(library.text, name)
        self.send(described)


class ValidateHandler(FusionHandler):
    """``POST configs/validate``: problems are the answer (200), not an error."""

    @reads  # changes nothing: a read-only user may check a config
    async def post(self) -> None:
        """``{valid, errors, warnings}``; 404 for an unknown template."""
        body = self.json_body(VALIDATE_FIELDS)
        result = await self.fusion.call(_validate, self.fusion, body)
        self.send(result)


def _validate(ctx: FusionContext, body: dict[str, Any]) -> dict[str, Any]:
    # A template or a whole config (a file a user wrote), with overrides on top.
    check_source(body.get("template"), body.get("config"))
    try:
        _, base = ctx.manager.base_config(body.get("template"), body.get("config"))
        merged = config.merge(base, body.get("overrides") or {})
    except ValidationFailed as exc:
        return {"valid": False, "errors": [p.to_dict() for p in exc.problems], "warnings": []}
    return ctx.manager.validate(merged).to_dict()


# --------------------------------------------------------------------------- runs


class RunsHandler(FusionHandler):
    """``GET runs`` (filtered, paged, newest first) and ``POST runs``."""

    @reads
    async def get(self) -> None:
        """A page of runs and the cursor of the next one."""
        limit = query_int(self.query("limit"), "limit", 100, 1, MAX_PAGE)
        cursor = query_text(self.query("cursor"), "cursor", 1000)
        filters = RunFilter(
            status=_statuses(self.get_query_arguments("status")),
            **{
                field: query_text(self.query(arg), arg, QUERY_TEXT_MAX)
                for field, arg in (
                    ("tag", "tag"),
                    ("name", "name"),
                    ("template", "template"),
                    ("sweep_id", "sweep"),
                )
            },
        )
        page = await self.fusion.call(
            self.fusion.manager.list_runs, filters, limit=limit, cursor=cursor
        )
        self.send(page_body(page))

    @writes
    async def post(self) -> None:
        """Create a run; 201 with the run and its Location."""
        body = self.json_body(RUN_FIELDS)
        run = await self.fusion.call(
            self.fusion.manager.create,
            body.get("template"),
            body.get("overrides") or {},
            ini=body.get("config"),
            name=body.get("name", ""),
            tags=body.get("tags", ()),
            executor=body.get("executor"),
            executor_options=body.get("executor_options"),
        )
        self.set_header("Location", self.location("runs", run.id))
        self.send(run_to_dict(run), 201)


class RunHandler(FusionHandler):
    """``GET runs/{id}`` and ``DELETE runs/{id}[?purge=true]``."""

    @reads
    async def get(self, run_id: str) -> None:
        """One run."""
        self.send(run_to_dict(await self.fusion.call(self.fusion.manager.get, run_id)))

    @writes
    async def delete(self, run_id: str) -> None:
        """Forget a finished run (409 while it is active); ``purge`` removes its files."""
        purge = query_bool(self.query("purge"), "purge")
        await self.fusion.call(self.fusion.manager.delete, run_id, purge=purge)
        self.set_status(204)
        self.finish()


class CancelHandler(FusionHandler):
    """``POST runs/{id}/cancel``."""

    @writes
    async def post(self, run_id: str) -> None:
        """The run after its process group is gone (409 if it already ended)."""
        self.send(run_to_dict(await self.fusion.call(self.fusion.manager.cancel, run_id)))


class RerunHandler(FusionHandler):
    """``POST runs/{id}/rerun``: a new run with the same frozen config."""

    @writes
    async def post(self, run_id: str) -> None:
        """201 with the new run."""
        run = await self.fusion.call(self.fusion.manager.rerun, run_id)
        self.set_header("Location", self.location("runs", run.id))
        self.send(run_to_dict(run), 201)


class ProgressHandler(FusionHandler):
    """``GET runs/{id}/progress?after=N&limit=M``."""

    @reads
    async def get(self, run_id: str) -> None:
        """Events with ``seq > after`` and the seq to resume after."""
        after = query_int(self.query("after"), "after", -1, -1, MAX_OFFSET)
        limit = query_int(self.query("limit"), "limit", 10_000, 1, MAX_PROGRESS_EVENTS)
        events = await self.fusion.call(self.fusion.manager.events, run_id, after, limit)
        last = events[-1]["seq"] if events else after
        self.send({"events": events, "last_seq": last})


class LogsHandler(FusionHandler):
    """``GET runs/{id}/logs?offset=&limit=`` (bytes) or ``?tail=N`` (lines)."""

    @reads
    async def get(self, run_id: str) -> None:
        """``{offset, next_offset, size, data}``."""
        manager = self.fusion.manager
        if self.query("tail") is not None:
            if self.query("offset") is not None or self.query("limit") is not None:
                raise ValidationFailed(
                    [Problem("query", "tail", "cannot be combined with offset or limit")]
                )
            lines = query_int(self.query("tail"), "tail", 100, 0, MAX_TAIL_LINES)
            chunk = await self.fusion.call(manager.tail_log, run_id, lines)
        else:
            offset = query_int(self.query("offset"), "offset", 0, 0, MAX_OFFSET)
            limit = query_int(self.query("limit"), "limit", 1 << 20, 0, MAX_LOG_BYTES)
            chunk = await self.fusion.call(manager.read_log, run_id, offset, limit)
        self.send(chunk.to_dict())


class ArtifactsHandler(FusionHandler):
    """``GET runs/{id}/artifacts``: every file of the run."""

    @reads
    async def get(self, run_id: str) -> None:
        """``{"artifacts": [{path, size, modified, kind}]}`` sorted by path."""
        found = await self.fusion.call(self.fusion.manager.artifacts, run_id)
        self.send({"artifacts": [a.to_dict() for a in found]})


class ArtifactHandler(FusionHandler):
    """``GET runs/{id}/artifacts/{path}``: one file, streamed, with Range support."""

    @reads
    async def get(self, run_id: str, path: str) -> None:
        """The file's bytes (206 for a range); 403 for a path outside the run."""
        download = query_bool(self.query("download"), "download")
        real = await self.fusion.call(self.fusion.manager.artifact_path, run_id, path)
        if not await self.fusion.call(real.is_file):
            raise ApiError(404, "not_found", f"artifact {path!r} is not a file", {"path": path})
        handle: BinaryIO = await self.fusion.call(real.open, "rb")
        try:
            size = (await self.fusion.call(Path(real).stat)).st_size
            span = files.byte_range(self.request.headers.get("Range"), size)
            self._headers_for(span, real.name, download)
            await self._stream(handle, span)
        finally:
            await self.fusion.call(handle.close)

    def _headers_for(self, span: files.ByteRange, name: str, download: bool) -> None:
        self.set_header("Content-Type", files.content_type(name))
        self.set_header("Accept-Ranges", "bytes")
        self.set_header("Content-Length", str(span.length))
        self.set_header("X-Content-Type-Options", "nosniff")
        if span.partial:
            self.set_status(206)
            self.set_header("Content-Range", span.content_range)
        if download:
            self.set_header("Content-Disposition", files.attachment(name))

    async def _stream(self, handle: BinaryIO, span: files.ByteRange) -> None:
        """Chunk by chunk, each read in the pool and flushed before the next is read."""
        await self.fusion.call(handle.seek, span.start)
        remaining = span.length
        while remaining > 0:
            chunk = await self.fusion.call(handle.read, min(files.CHUNK_BYTES, remaining))
            if not chunk:  # the file shrank while we sent it: cut the connection
                self.request.connection.close()  # type: ignore[union-attr]
                return
            remaining -= len(chunk)
            self.write(chunk)
            try:
                await self.flush()
            except StreamClosedError:
                return  # the client went away
        self.finish(set_content_type=self._headers["Content-Type"])


class ResultsHandler(FusionHandler):
    """``GET runs/{id}/results[?format=json|csv|parquet]``: the per-Erlang table."""

    FORMATS = ("json", "csv", "parquet")

    @reads
    async def get(self, run_id: str) -> None:
        """JSON ``{columns, rows}``, or the table as a CSV or Parquet file."""
        fmt = self.query("format") or "json"
        if fmt not in self.FORMATS:
            raise ValidationFailed(
                [Problem("query", "format", f"must be one of {', '.join(self.FORMATS)}")]
            )
        frame = await self.fusion.call(self.fusion.manager.results, run_id)
        if fmt == "json":
            self.send(table_body(frame))
            return
        data = await self.fusion.call(_encode_table, frame, fmt)
        name = f"{run_id}-results.{fmt}"
        self.set_header("Content-Disposition", files.attachment(name))
        self.finish(data, set_content_type=files.content_type(name))


def _encode_table(frame: pd.DataFrame, fmt: str) -> bytes:
    if fmt == "csv":
        return frame.to_csv(index=False).encode()
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


# --------------------------------------------------------------------------- sweeps


class SweepsHandler(FusionHandler):
    """``POST sweeps``: a parameter grid as many runs."""

    @writes
    async def post(self) -> None:
        """201 with ``{"sweep": ..., "runs": [...]}``."""
        body = self.json_body(SWEEP_FIELDS)
        sweep, runs = await self.fusion.call(
            self.fusion.manager.create_sweep,
            body.get("template"),
            body["grid"],
            body.get("overrides") or {},
            ini=body.get("config"),
            name=body.get("name", ""),
            tags=body.get("tags", ()),
            executor=body.get("executor"),
            executor_options=body.get("executor_options"),
        )
        self.set_header("Location", self.location("sweeps", sweep.id))
        self.send(sweep_body(sweep, runs), 201)


class SweepHandler(FusionHandler):
    """``GET sweeps/{id}``."""

    @reads
    async def get(self, sweep_id: str) -> None:
        """The sweep with its runs."""
        sweep, runs = await self.fusion.call(self.fusion.manager.get_sweep, sweep_id)
        self.send(sweep_body(sweep, runs))


class SweepCancelHandler(FusionHandler):
    """``POST sweeps/{id}/cancel``: every active run of the sweep (a Slurm array at once)."""

    @writes
    async def post(self, sweep_id: str) -> None:
        """The sweep with its runs once they have stopped."""
        await self.fusion.call(self.fusion.manager.cancel_sweep, sweep_id)
        sweep, runs = await self.fusion.call(self.fusion.manager.get_sweep, sweep_id)
        self.send(sweep_body(sweep, runs))


class NotFoundHandler(FusionHandler):
    """Any other path under the API: a JSON 404 rather than Jupyter's HTML page."""

    @reads
    async def get(self, path: str) -> None:
        """404 naming the path."""
        raise ApiError(404, "not_found", f"no API route {path[:200]!r}")

    post = delete = get


_ID = r"(?P<{}>[^/]+)"


def route_table() -> list[tuple[str, type[FusionHandler]]]:
    """``(pattern, handler)`` for every route, relative to ``{base_url}``."""
    run = "runs/" + _ID.format("run_id")
    routes: list[tuple[str, type[FusionHandler]]] = [
        ("health/live", LiveHandler),
        ("health/ready", ReadyHandler),
        ("openapi.json", OpenApiHandler),
        ("templates", TemplatesHandler),
        ("templates/" + _ID.format("name"), TemplateHandler),
        ("configs/validate", ValidateHandler),
        ("runs", RunsHandler),
        (run, RunHandler),
        (run + "/cancel", CancelHandler),
        (run + "/rerun", RerunHandler),
        (run + "/progress", ProgressHandler),
        (run + "/logs", LogsHandler),
        (run + "/artifacts", ArtifactsHandler),
        (run + "/artifacts/(?P<path>.+)", ArtifactHandler),
        (run + "/results", ResultsHandler),
        ("sweeps", SweepsHandler),
        ("sweeps/" + _ID.format("sweep_id"), SweepHandler),
        ("sweeps/" + _ID.format("sweep_id") + "/cancel", SweepCancelHandler),
        ("(?P<path>.*)", NotFoundHandler),
    ]
    return [(f"/{API_PREFIX}/{pattern}", handler) for pattern, handler in routes]


__all__ = ["AUTH_RESOURCE", "FusionHandler", "route_table"]
