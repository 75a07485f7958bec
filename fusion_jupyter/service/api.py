"""The API's operations, once: checked requests in, wire dicts out (DESIGN §4).

:class:`FusionService` wraps a :class:`~fusion_jupyter.engine.manager.RunManager`. It
knows nothing of HTTP servers: the REST handlers, the embedded client backend and the
widgets' kernel relay all reach the engine through it, so they share one set of limits,
one way of checking a body and one shape for every answer. Its methods block (they
touch the database and the run files); an event loop calls them in a thread.

Requests are small frozen dataclasses built by ``from_body`` / ``from_query``, which
refuse bad input with a :class:`ValidationFailed` naming the field.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fusion_jupyter.engine import artifacts, config, curves, simulators
from fusion_jupyter.engine.errors import NotFound, Problem, ValidationFailed
from fusion_jupyter.engine.faults import describe, free_bytes
from fusion_jupyter.engine.manager import MAX_SWEEP_RUNS, RunManager, check_source
from fusion_jupyter.engine.models import (
    COMPACT_COLUMNS,
    TERMINAL,
    Run,
    Status,
    Sweep,
    run_to_dict,
    run_to_row,
    sweep_to_dict,
)
from fusion_jupyter.engine.store import RunFilter, RunOutline
from fusion_jupyter.service import files

if TYPE_CHECKING:  # pandas is imported when a table is first loaded, not at server start
    import pandas as pd
from fusion_jupyter.service.validation import (
    Field,
    RequestLimits,
    check_fields,
    is_bool,
    is_config,
    is_object,
    is_text,
    is_text_list,
    query_bool,
    query_int,
    query_text,
)

JSON = dict[str, Any]
Query = Mapping[str, Sequence[str]]

#: The one set of limits every transport applies.
MAX_PAGE = 500
DEFAULT_PAGE = 100
MAX_LOG_BYTES = 8 << 20
DEFAULT_LOG_BYTES = 1 << 20
MAX_TAIL_LINES = 100_000
DEFAULT_TAIL_LINES = 100
MAX_PROGRESS_EVENTS = 100_000
DEFAULT_PROGRESS_EVENTS = 10_000
MAX_OFFSET = 1 << 62
QUERY_TEXT_MAX = 200
CURSOR_MAX = 1000
RESULT_FORMATS = ("json", "csv", "parquet")
BY_MAX = 2000
#: Finished runs whose curve rows are kept (they never change once a run has ended).
CURVE_CACHE_RUNS = 20_000

RUN_FIELDS = {
    "template": Field(is_text),
    "config": Field(is_config),
    "overrides": Field(is_object),
    "name": Field(is_text),
    "tags": Field(is_text_list),
    "executor": Field(is_text),
    "executor_options": Field(is_object),
    "simulator": Field(is_text),
}
SWEEP_FIELDS = {**RUN_FIELDS, "grid": Field(is_object, required=True)}
VALIDATE_FIELDS = {
    "template": Field(is_text),
    "overrides": Field(is_object),
    "config": Field(is_config),
    "simulator": Field(is_text),
}
SAVE_TEMPLATE_FIELDS = {
    "name": Field(is_text, required=True),
    "run_id": Field(is_text),
    "config": Field(is_config),
    "description": Field(is_text),
    "replace": Field(is_bool),
}
#: A whole config: INI text, or already parsed as ``{section: {key: value}}``.
WholeConfig = str | Mapping[str, Any]


def _last(query: Query, key: str) -> str | None:
    values = query.get(key)
    return values[-1] if values else None


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class RunRequest:
    """``POST runs``: a template (or a whole config) with overrides, and how to run it."""

    template: str | None
    overrides: Mapping[str, Any] = field(default_factory=dict)
    config: WholeConfig | None = None
    name: str = ""
    tags: tuple[str, ...] = ()
    executor: str | None = None
    executor_options: Mapping[str, Any] | None = None
    simulator: str | None = None

    @classmethod
    def from_body(cls, body: Any, fields: Mapping[str, Field] = RUN_FIELDS) -> RunRequest:
        """From a decoded JSON body (unknown or mistyped fields are refused)."""
        body = check_fields(body, fields)
        return cls(
            body.get("template"),
            body.get("overrides") or {},
            body.get("config"),
            body.get("name", ""),
            tuple(body.get("tags", ())),
            body.get("executor"),
            body.get("executor_options"),
            body.get("simulator"),
        )

    def options(self) -> dict[str, Any]:
        """The keyword arguments of the manager's ``create`` and ``create_sweep``."""
        return {
            "ini": self.config,
            "name": self.name,
            "tags": self.tags,
            "executor": self.executor,
            "executor_options": self.executor_options,
            "simulator": self.simulator,
        }


@dataclass(frozen=True)
class SweepRequest:
    """``POST sweeps``: a run request and the grid of values to expand it over."""

    run: RunRequest
    grid: Mapping[str, Any]

    @classmethod
    def from_body(cls, body: Any) -> SweepRequest:
        """From a decoded JSON body."""
        run = RunRequest.from_body(body, SWEEP_FIELDS)
        return cls(run, body["grid"])


@dataclass(frozen=True)
class ValidateRequest:
    """``POST configs/validate``: a template or a whole config, with overrides on top."""

    template: str | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)
    config: WholeConfig | None = None
    simulator: str | None = None

    @classmethod
    def from_body(cls, body: Any) -> ValidateRequest:
        """From a decoded JSON body; exactly one of template and config."""
        body = check_fields(body, VALIDATE_FIELDS)
        check_source(body.get("template"), body.get("config"))
        return cls(
            body.get("template"),
            body.get("overrides") or {},
            body.get("config"),
            body.get("simulator"),
        )


@dataclass(frozen=True)
class SaveTemplateRequest:
    """``POST templates``: a run's frozen config, or a whole config, saved under a name."""

    name: str
    run_id: str | None = None
    config: WholeConfig | None = None
    description: str = ""
    replace: bool = False

    @classmethod
    def from_body(cls, body: Any) -> SaveTemplateRequest:
        """From a decoded JSON body."""
        body = check_fields(body, SAVE_TEMPLATE_FIELDS)
        return cls(
            body["name"],
            body.get("run_id"),
            body.get("config"),
            body.get("description", ""),
            bool(body.get("replace", False)),
        )


@dataclass(frozen=True)
class ListRequest:
    """``GET runs``: filters, page size and cursor; ``view=compact`` for a listing's
    rows only, ``count=true`` for the number of runs that match."""

    filters: RunFilter
    limit: int = DEFAULT_PAGE
    cursor: str | None = None
    compact: bool = False
    count: bool = False

    @classmethod
    def from_query(cls, query: Query) -> ListRequest:
        """From query arguments (``status`` repeated or comma-separated)."""
        texts = {
            field_name: query_text(_last(query, arg), arg, QUERY_TEXT_MAX)
            for field_name, arg in (
                ("tag", "tag"),
                ("name", "name"),
                ("template", "template"),
                ("sweep_id", "sweep"),
            )
        }
        view = query_text(_last(query, "view"), "view", 20) or "full"
        if view not in ("full", "compact"):
            raise ValidationFailed([Problem("query", "view", "must be full or compact")])
        return cls(
            RunFilter(status=_statuses(query.get("status", ())), **texts),
            query_int(_last(query, "limit"), "limit", DEFAULT_PAGE, 1, MAX_PAGE),
            query_text(_last(query, "cursor"), "cursor", CURSOR_MAX),
            compact=view == "compact",
            count=query_bool(_last(query, "count"), "count"),
        )


@dataclass(frozen=True)
class CurvesRequest:
    """``GET sweeps/{id}/curves``: the grid keys to group by (comma-separated; absent:
    every key that varies)."""

    by: tuple[str, ...] | None = None

    @classmethod
    def from_query(cls, query: Query) -> CurvesRequest:
        """From query arguments; each key must be one of the sweep's (checked there)."""
        raw = _last(query, "by")
        if raw is None:
            return cls(None)
        text = query_text(raw, "by", BY_MAX) or ""
        keys = tuple(part.strip() for part in text.split(","))
        if text and any(not key for key in keys):
            raise ValidationFailed([Problem("query", "by", "has an empty grid key")])
        return cls(keys if text else ())


@dataclass(frozen=True)
class SweepListRequest:
    """``GET sweeps``: page size and cursor."""

    limit: int = DEFAULT_PAGE
    cursor: str | None = None

    @classmethod
    def from_query(cls, query: Query) -> SweepListRequest:
        """From query arguments, with the limits of ``GET runs``."""
        return cls(
            query_int(_last(query, "limit"), "limit", DEFAULT_PAGE, 1, MAX_PAGE),
            query_text(_last(query, "cursor"), "cursor", CURSOR_MAX),
        )


def _statuses(values: Sequence[str]) -> list[Status] | None:
    names = [part.strip().upper() for value in values for part in value.split(",") if part.strip()]
    unknown = [n for n in names if n not in Status.__members__]
    if unknown:
        allowed = ", ".join(Status.__members__)
        raise ValidationFailed(
            [Problem("query", "status", f"unknown status {unknown[0][:40]!r} (allowed: {allowed})")]
        )
    return [Status(n) for n in dict.fromkeys(names)] or None


@dataclass(frozen=True)
class ProgressRequest:
    """``GET runs/{id}/progress``: events after a seq."""

    after: int = -1
    limit: int = DEFAULT_PROGRESS_EVENTS

    @classmethod
    def from_query(cls, query: Query) -> ProgressRequest:
        """From query arguments."""
        return cls(
            query_int(_last(query, "after"), "after", -1, -1, MAX_OFFSET),
            query_int(
                _last(query, "limit"), "limit", DEFAULT_PROGRESS_EVENTS, 1, MAX_PROGRESS_EVENTS
            ),
        )


@dataclass(frozen=True)
class LogRequest:
    """``GET runs/{id}/logs``: a byte range, or (``tail``) the last lines."""

    offset: int = 0
    limit: int = DEFAULT_LOG_BYTES
    tail: int | None = None

    @classmethod
    def from_query(cls, query: Query) -> LogRequest:
        """From query arguments; ``tail`` excludes ``offset`` and ``limit``."""
        if _last(query, "tail") is not None:
            if _last(query, "offset") is not None or _last(query, "limit") is not None:
                raise ValidationFailed(
                    [Problem("query", "tail", "cannot be combined with offset or limit")]
                )
            tail = query_int(_last(query, "tail"), "tail", DEFAULT_TAIL_LINES, 0, MAX_TAIL_LINES)
            return cls(tail=tail)
        return cls(
            query_int(_last(query, "offset"), "offset", 0, 0, MAX_OFFSET),
            query_int(_last(query, "limit"), "limit", DEFAULT_LOG_BYTES, 0, MAX_LOG_BYTES),
        )


@dataclass(frozen=True)
class ResultsRequest:
    """``GET runs/{id}/results``: the table as JSON, CSV or Parquet."""

    format: str = "json"

    @classmethod
    def from_query(cls, query: Query) -> ResultsRequest:
        """From query arguments."""
        fmt = _last(query, "format") or "json"
        if fmt not in RESULT_FORMATS:
            raise ValidationFailed(
                [Problem("query", "format", f"must be one of {', '.join(RESULT_FORMATS)}")]
            )
        return cls(fmt)


# --------------------------------------------------------------------------- shaping


def page_body(runs: Sequence[Run], next_cursor: str | None) -> JSON:
    """The one shape of a listing page: ``{"runs": [...], "next_cursor": str|null}``."""
    return {"runs": [run_to_dict(r) for r in runs], "next_cursor": next_cursor}


def sweep_body(sweep: Sweep, runs: list[Run]) -> JSON:
    """A sweep with its runs, as both POST and GET answer it."""
    return {"sweep": sweep_to_dict(sweep, runs), "runs": [run_to_dict(r) for r in runs]}


def _json_cell(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value.item() if hasattr(value, "item") else value


def table_body(frame: pd.DataFrame) -> JSON:
    """A results table as ``{"columns": [...], "rows": [{col: value}]}`` with NaN as null."""
    columns = [str(c) for c in frame.columns]
    rows = [
        {c: _json_cell(v) for c, v in zip(columns, row, strict=True)}
        for row in frame.itertuples(index=False, name=None)
    ]
    return {"columns": columns, "rows": rows}


def encode_table(frame: pd.DataFrame, fmt: str) -> bytes:
    """A results table as a CSV or Parquet file."""
    if fmt == "csv":
        return frame.to_csv(index=False).encode()
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _disk_state(free: int | None, minimum: int) -> str:
    if free is None:
        return "unknown: the runs directory cannot be examined"
    if free < minimum:
        return f"low: {free} bytes free in the runs directory (minimum {minimum})"
    return "ok"


# --------------------------------------------------------------------------- the service


class FusionService:
    """Every API operation over one run manager (see the module docstring)."""

    def __init__(self, manager: RunManager, limits: RequestLimits | None = None) -> None:
        self.manager = manager
        self.limits = limits or RequestLimits()
        self._curve_cache: dict[str, tuple[Any, list[dict[str, Any]]]] = {}
        self._curve_lock = threading.Lock()

    # ---- health -------------------------------------------------------------------

    def ready(self) -> tuple[bool, JSON]:
        """Whether the database answers, the disk has room and the watchers run."""
        manager = self.manager
        try:
            manager.store.ping()
            database = "ok"
        except Exception as exc:  # any failure to reach it is the answer, not an error
            database = describe(exc)
        settings = manager.settings
        disk = _disk_state(free_bytes(settings.runs_dir), settings.min_free_disk_bytes)
        ok = database == "ok" and disk == "ok" and manager.started
        executors = {"local": "ok" if manager.started else "stopped"}
        executors["slurm"] = "ok" if manager.slurm.available else "unavailable"
        body = {
            "status": "ok" if ok else "error",
            "database": database,
            "disk": disk,
            "executors": executors,
            "watcher": manager.watch_modes["local"],
            # Which simulator runs by default, and whether FUSION is there (the UI
            # shows it); not a readiness condition: built-in runs need no FUSION.
            "simulators": manager.simulators(),
        }
        return ok, body

    # ---- templates and configs --------------------------------------------------

    def templates(self) -> JSON:
        """``{"templates": [{name, description}]}`` sorted by name."""
        infos = self.manager.templates.list()
        return {"templates": [{"name": i.name, "description": i.description} for i in infos]}

    def template(self, name: str) -> JSON:
        """``{name, description, text, sections}``."""
        library = self.manager.templates
        return {**library.describe(name), "text": library.text(name)}

    def validate(self, request: ValidateRequest) -> JSON:
        """``{valid, errors, warnings}``: problems are the answer, not an error."""
        try:
            _, base = self.manager.base_config(request.template, request.config)
            merged = config.merge(base, request.overrides)
        except ValidationFailed as exc:
            return {"valid": False, "errors": [p.to_dict() for p in exc.problems], "warnings": []}
        result: JSON = self.manager.validate(merged, request.simulator).to_dict()
        return result

    def save_template(self, request: SaveTemplateRequest) -> JSON:
        """``{name, description}`` of the saved template (409 if it exists, unless replace)."""
        info = self.manager.save_template(
            request.name,
            run_id=request.run_id,
            ini=request.config,
            description=request.description,
            replace=request.replace,
        )
        return {"name": info.name, "description": info.description}

    # ---- runs ---------------------------------------------------------------------

    def create_run(self, request: RunRequest) -> JSON:
        """A new run."""
        run = self.manager.create(request.template, request.overrides, **request.options())
        return run_to_dict(run)

    def list_runs(self, request: ListRequest) -> JSON:
        """A page of runs, newest first, and the cursor of the next one."""
        manager = self.manager
        page = manager.list_runs(request.filters, limit=request.limit, cursor=request.cursor)
        if request.compact:
            rows = [run_to_row(run) for run in page.runs]
            body: JSON = {"columns": list(COMPACT_COLUMNS), "rows": rows}
            body["next_cursor"] = page.next_cursor
        else:
            body = page_body(page.runs, page.next_cursor)
        if request.count:
            body["total"] = manager.store.count_runs(request.filters)
        return body

    def get_run(self, run_id: str) -> JSON:
        """One run."""
        return run_to_dict(self.manager.get(run_id))

    def delete_run(self, run_id: str, purge: bool) -> None:
        """Forget a finished run (409 while active); ``purge`` removes its files."""
        self.manager.delete(run_id, purge=purge)

    def cancel_run(self, run_id: str) -> JSON:
        """The run, told to stop: CANCELLING until its process has ended (409 if it had)."""
        return run_to_dict(self.manager.cancel(run_id))

    def rerun(self, run_id: str) -> JSON:
        """A new run with the same frozen config."""
        return run_to_dict(self.manager.rerun(run_id))

    def progress(self, run_id: str, request: ProgressRequest) -> JSON:
        """``{events, last_seq}``: events with ``seq > after``."""
        events = self.manager.events(run_id, request.after, request.limit)
        return {"events": events, "last_seq": events[-1]["seq"] if events else request.after}

    def logs(self, run_id: str, request: LogRequest) -> JSON:
        """``{offset, next_offset, size, data}``."""
        if request.tail is not None:
            return dict(self.manager.tail_log(run_id, request.tail).to_dict())
        return dict(self.manager.read_log(run_id, request.offset, request.limit).to_dict())

    # ---- files ------------------------------------------------------------------------

    def artifacts(self, run_id: str) -> JSON:
        """``{"artifacts": [{path, size, modified, kind}]}`` sorted by path."""
        return {"artifacts": [a.to_dict() for a in self.manager.artifacts(run_id)]}

    def artifact(
        self, run_id: str, path: str, range_header: str | None
    ) -> tuple[Path, files.ByteRange]:
        """A run's file and the part of it a ``Range`` header asks for (403 outside the run)."""
        real = self.manager.artifact_path(run_id, path)
        if not real.is_file():
            raise NotFound(f"artifact {path!r} is not a file", {"path": path})
        return real, files.byte_range(range_header, real.stat().st_size)

    def results(self, run_id: str) -> pd.DataFrame:
        """The per-Erlang summary table."""
        frame: pd.DataFrame = self.manager.results(run_id)
        return frame

    # ---- sweeps -------------------------------------------------------------------

    def create_sweep(self, request: SweepRequest) -> JSON:
        """``{sweep, runs}``."""
        run = request.run
        sweep, runs = self.manager.create_sweep(
            run.template, request.grid, run.overrides, **run.options()
        )
        return sweep_body(sweep, runs)

    def list_sweeps(self, request: SweepListRequest) -> JSON:
        """``{sweeps: [...], next_cursor}``: newest first, runs counted by status."""
        page = self.manager.list_sweeps(limit=request.limit, cursor=request.cursor)
        sweeps = [sweep_to_dict(sweep, counts=counts) for sweep, counts in page.sweeps]
        # What a sweep builder checks a grid against before it submits one.
        limits = {
            "max_runs": MAX_SWEEP_RUNS,
            "max_concurrent_runs": self.manager.settings.max_concurrent_runs,
        }
        return {"sweeps": sweeps, "next_cursor": page.next_cursor, "limits": limits}

    def get_sweep(self, sweep_id: str) -> JSON:
        """``{sweep, runs}``."""
        return sweep_body(*self.manager.get_sweep(sweep_id))

    def cancel_sweep(self, sweep_id: str) -> JSON:
        """Cancel every active run of a sweep; the sweep once they have stopped."""
        self.manager.cancel_sweep(sweep_id)
        return self.get_sweep(sweep_id)

    def rerun_failed_sweep(self, sweep_id: str) -> JSON:
        """``{sweep, runs, created}``: every failed run rerun, in the sweep (409 if none)."""
        created = self.manager.rerun_failed_sweep(sweep_id)
        return {**self.get_sweep(sweep_id), "created": [run.id for run in created]}

    def delete_sweep(self, sweep_id: str, purge: bool) -> None:
        """Forget a sweep and its runs (409 while one is active); ``purge`` removes files."""
        self.manager.delete_sweep(sweep_id, purge=purge)

    # ---- simulators ---------------------------------------------------------------

    def simulators(self) -> JSON:
        """The default simulator, which are installed, and per simulator the values it
        runs for the keys that have a known set (route and allocation method, network)."""
        report = self.manager.simulators()
        report["choices"] = {
            name: [choice.to_dict() for choice in simulators.choices(name)]
            for name in simulators.SIMULATORS
        }
        return report

    def sweep_curves(self, sweep_id: str, request: CurvesRequest) -> JSON:
        """``{sweep_id, by, varying, curves: [{label, values, points}], runs, with_results}``.

        Blocking against load, one curve per value of ``by`` (see
        :mod:`fusion_jupyter.engine.curves`), from the runs that have ended (with
        results: a failed run's finished loads count, until it is rerun); ``runs`` counts
        the grid points (a rerun replaces the run it reran).
        """
        grid, runs = self.manager.store.sweep_outline(sweep_id)
        try:
            keys = curves.resolve_by(grid, request.by)
        except ValueError as exc:
            raise ValidationFailed([Problem("query", "by", str(exc))]) from None
        index = curves.grid_index(grid)
        rows: list[dict[str, Any]] = []
        with_results = 0
        # A run that was rerun gives way to its rerun (one attempt a grid point).
        superseded = {run.rerun_of for run in runs if run.rerun_of}
        runs = [run for run in runs if run.id not in superseded]
        for run in runs:
            points = self._curve_rows(run)
            if points:
                with_results += 1
                point = curves.grid_point(grid, run.overrides or {}, index)
                rows.extend({**point, **p} for p in points)
        return {
            "sweep_id": sweep_id,
            "by": keys,
            "varying": curves.varying_keys(grid),
            "grid": grid,
            "curves": [c.to_dict() for c in curves.group(rows, keys)],
            "runs": len(runs),
            "with_results": with_results,
        }

    def _curve_rows(self, run: RunOutline) -> list[dict[str, Any]]:
        """An ended run's results as curve points, read once (they never change then).

        Runs still going add nothing: the curves are redrawn as runs end, and reading
        every running run's files on each redraw would cost more than the redraw.
        """
        if run.status not in TERMINAL:
            return []
        key = (run.status, run.completed_at)
        with self._curve_lock:
            cached = self._curve_cache.get(run.id)
        if cached is not None and cached[0] == key:
            return cached[1]
        rows = artifacts.result_points(Path(run.run_dir) / "output", curves.POINT_COLUMNS)
        with self._curve_lock:
            self._curve_cache[run.id] = (key, rows)
            while len(self._curve_cache) > CURVE_CACHE_RUNS:
                self._curve_cache.pop(next(iter(self._curve_cache)))
        return rows


__all__ = [
    "MAX_PAGE",
    "CurvesRequest",
    "FusionService",
    "ListRequest",
    "LogRequest",
    "ProgressRequest",
    "ResultsRequest",
    "RunRequest",
    "SaveTemplateRequest",
    "SweepListRequest",
    "SweepRequest",
    "ValidateRequest",
]
