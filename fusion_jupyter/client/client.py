"""The Client: one API over the embedded engine or a Jupyter server."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from fusion_jupyter.client import errors
from fusion_jupyter.client.backend import JSON, Backend, RunQuery, RunSpec, nest_overrides
from fusion_jupyter.client.errors import Problem
from fusion_jupyter.client.run import Run, RunList, Sweep, parse_time

DEFAULT_PAGE = 50


@dataclass(frozen=True)
class Template:
    """A named INI template runs start from.

    Attributes
    ----------
    name : str
    description : str
        Its one-line description.
    text : str or None
        The INI text, comments included (only from :meth:`Client.template`).
    sections : dict
        ``{section: {key: {value, type, description, required}}}`` (only from
        :meth:`Client.template`).
    """

    name: str
    description: str
    text: str | None = None
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"<Template {self.name!r}: {self.description}>"

    def _repr_markdown_(self) -> str:
        body = f"\n\n```ini\n{self.text}\n```" if self.text else ""
        return f"**{self.name}**: {self.description}{body}"


class TemplateList(list[Template]):
    """Templates, shown as a table in a notebook."""

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td><code>{html.escape(t.name)}</code></td>"
            f"<td style='text-align: left'>{html.escape(t.description)}</td></tr>"
            for t in self
        )
        return f"<table><tr><th>name</th><th>description</th></tr>{rows}</table>"


@dataclass(frozen=True)
class ValidationReport:
    """Every error and warning of a config; true when it is valid.

    Attributes
    ----------
    valid : bool
    errors, warnings : list of Problem
        Each with ``section``, ``key`` and ``message``.
    """

    valid: bool
    errors: list[Problem]
    warnings: list[Problem]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ValidationReport:
        """From ``{valid, errors, warnings}``."""
        return cls(
            bool(data.get("valid")),
            errors._problems(data.get("errors")),
            errors._problems(data.get("warnings")),
        )

    def __bool__(self) -> bool:
        return self.valid

    def __str__(self) -> str:
        lines = ["valid" if self.valid else f"invalid: {len(self.errors)} error(s)"]
        lines += [f"  error: {p}" for p in self.errors]
        lines += [f"  warning: {p}" for p in self.warnings]
        return "\n".join(lines)

    def raise_if_invalid(self) -> None:
        """Raise :class:`ValidationError` with every error when the config is invalid."""
        if not self.valid:
            raise errors.ValidationError(
                "; ".join(str(p) for p in self.errors) or "invalid config", self.errors
            )


class Client:
    """Runs, sweeps and templates, from the embedded engine or a Jupyter server.

    Create one with :func:`fusion_jupyter.connect`; the methods are the same in both
    modes. ``repr(client)`` tells which mode it is in and where. A client may be used
    as a context manager, which closes it.
    """

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    # ---- identity ---------------------------------------------------------------------

    @property
    def mode(self) -> str:
        """``"embedded"`` (the engine in this process) or ``"remote"`` (a Jupyter server)."""
        return self.backend.mode

    @property
    def location(self) -> str:
        """The server URL, or where the embedded engine keeps runs and its database."""
        return self.backend.describe()

    def __repr__(self) -> str:
        return f"<fusion_jupyter.Client {self.mode}: {self.location}>"

    def close(self) -> None:
        """Release connections; runs go on (they are separate processes)."""
        self.backend.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ---- templates and validation -----------------------------------------------------

    def templates(self) -> TemplateList:
        """Every template runs can start from, sorted by name."""
        return TemplateList(
            Template(t["name"], t.get("description", "")) for t in self.backend.templates()
        )

    def template(self, name: str) -> Template:
        """One template with its INI text and its parsed sections."""
        data = self.backend.template(name)
        return Template(
            data["name"], data.get("description", ""), data.get("text"), data.get("sections", {})
        )

    def validate(
        self,
        template: str | None = None,
        overrides: Mapping[str, Any] | None = None,
        *,
        config: str | Path | None = None,
    ) -> ValidationReport:
        """Check a template (or a whole config) with overrides without creating a run.

        Parameters
        ----------
        template : str, optional
            A template name (see :meth:`templates`).
        overrides : dict, optional
            ``{section: {key: value}}`` or ``{"section.key": value}``.
        config : pathlib.Path or str, optional
            Instead of a template: a FUSION INI file's path, or its text.

        Returns
        -------
        ValidationReport
            True when valid; every error and warning with its section and key.
        """
        text = config_text(config)
        return _report(lambda: self.backend.validate(template, nest_overrides(overrides), text))

    def validate_file(self, path: str | Path) -> ValidationReport:
        """Check a whole FUSION INI file (every key it needs must be in it)."""
        return self.validate(config=Path(path))

    def save_template(
        self,
        name: str,
        *,
        run: str | Run | None = None,
        config: str | Path | None = None,
        description: str = "",
        replace: bool = False,
    ) -> str:
        """Save a run's frozen config, or a whole INI file, as template ``name``.

        It goes to the first ``templates_path`` directory; an existing name is refused
        unless ``replace``. Returns the name, ready for :meth:`submit`.
        """
        run_id = run.id if isinstance(run, Run) else run
        text = config_text(config)
        saved = self.backend.save_template(name, run_id, text, description, replace)
        return str(saved["name"])

    # ---- runs ---------------------------------------------------------------------

    def submit(
        self,
        template: str | None = None,
        overrides: Mapping[str, Any] | None = None,
        *,
        config: str | Path | None = None,
        name: str = "",
        tags: Sequence[str] = (),
        executor: str | None = None,
        executor_options: Mapping[str, Any] | None = None,
        simulator: str | None = None,
    ) -> Run:
        """Create a run from a template or a whole config; it starts when a slot is free.

        Parameters
        ----------
        template : str, optional
            A template name, e.g. ``"minimal"``.
        config : pathlib.Path or str, optional
            Instead of a template: a FUSION INI file (``Path("my.ini")``) or its text.
        overrides : dict, optional
            Changes to the template, nested ``{"general_settings": {"max_iters": 4}}``
            or flat ``{"general_settings.max_iters": 4}``; Python values are written
            the way FUSION reads them (``True``, JSON objects, ...).
        name : str
            A label for listings.
        tags : sequence of str
            Free-form labels to filter by.
        executor : str, optional
            Where to run it: ``"local"`` or ``"slurm"`` (default: the engine's
            ``default_executor``).
        executor_options : dict, optional
            For Slurm: ``partition``, ``account``, ``time``, ``mem``, ``cpus``,
            ``qos`` and ``extra`` (a list of further sbatch options such as
            ``"--constraint=ib"``); they override the server's ``slurm_options``.
        simulator : str, optional
            ``"builtin"`` or ``"fusion"`` (the real FUSION); default: the
            ``c.FusionJupyter.simulator`` setting.

        Returns
        -------
        Run

        Raises
        ------
        ValidationError
            The config is invalid; ``exc.problems`` names every field.
        NotFoundError
            No template of that name.
        UnavailableError
            The simulator asked for is not installed (the message names the setting).
        """
        spec = run_spec(
            template, overrides, config, name, tags, executor, executor_options, simulator
        )
        return Run(self, self.backend.create_run(spec))

    def runs(
        self,
        *,
        status: str | Sequence[str] | None = None,
        tag: str | None = None,
        name: str | None = None,
        template: str | None = None,
        sweep: str | None = None,
        limit: int = DEFAULT_PAGE,
        cursor: str | None = None,
    ) -> RunList:
        """A page of runs, newest first.

        Parameters
        ----------
        status : str or list of str, optional
            Only runs in these statuses (``"RUNNING"``, ``["FAILED", "CANCELLED"]``).
        tag, template, sweep : str, optional
            Only runs with this tag, from this template, of this sweep id.
        name : str, optional
            Only runs whose name contains this text.
        limit : int
            Page size.
        cursor : str, optional
            ``next_cursor`` of the previous page.

        Returns
        -------
        RunList
            A list of :class:`Run` with ``next_cursor`` (None on the last page) and
            ``to_frame()``.
        """
        query = _query(status, tag, name, template, sweep)
        page = self.backend.list_runs(query, limit, cursor)
        return RunList([Run(self, r) for r in page["runs"]], page.get("next_cursor"))

    def iter_runs(self, *, page_size: int = 200, **filters: Any) -> Iterator[Run]:
        """Every run matching the filters of :meth:`runs`, newest first, page by page."""
        cursor = None
        while True:
            page = self.runs(limit=page_size, cursor=cursor, **filters)
            yield from page
            cursor = page.next_cursor
            if not cursor:
                return

    def get(self, run_id: str) -> Run:
        """One run by id; ``"latest"`` is the newest run (``client.get("<id>")``).

        Raises
        ------
        NotFoundError
            No such run.
        """
        if run_id == "latest":
            return self.latest()
        return Run(self, self.backend.get_run(run_id))

    #: The same as :meth:`get`.
    run = get

    def latest(self, **filters: Any) -> Run:
        """The newest run (matching the filters of :meth:`runs`)."""
        page = self.runs(limit=1, **filters)
        if not page:
            raise errors.NotFoundError("there are no runs yet: submit one first")
        return page[0]

    # ---- sweeps -------------------------------------------------------------------

    def sweep(
        self,
        template: str | None = None,
        grid: Mapping[str, Sequence[Any]] | None = None,
        overrides: Mapping[str, Any] | None = None,
        *,
        config: str | Path | None = None,
        name: str = "",
        tags: Sequence[str] = (),
        executor: str | None = None,
        executor_options: Mapping[str, Any] | None = None,
        simulator: str | None = None,
    ) -> Sweep:
        """Run every combination of a parameter grid.

        Parameters
        ----------
        template : str, optional
            The template every run starts from.
        grid : dict
            ``{"section.key": [values]}``; the cartesian product of the lists
            becomes one run each, e.g. ``{"routing_settings.k_paths": [1, 2, 3]}``.
        overrides : dict, optional
            Changes shared by every run (as in :meth:`submit`).
        name, tags, executor, executor_options, simulator
            As in :meth:`submit`; each run is named after the sweep and its grid
            point, and tagged ``sweep:<id>``. On Slurm the sweep is one job array.

        Returns
        -------
        Sweep
        """
        spec = run_spec(
            template, overrides, config, name, tags, executor, executor_options, simulator
        )
        if not grid:
            raise errors.ValidationError(
                "grid: must name at least one key",
                [Problem("grid", "", "must name at least one key")],
            )
        grid = {key: [_plain(v) for v in values] for key, values in grid.items()}
        return Sweep(self, self.backend.create_sweep(spec, grid))

    def get_sweep(self, sweep_id: str) -> Sweep:
        """One sweep and its runs by id."""
        return Sweep(self, self.backend.get_sweep(sweep_id))

    def sweeps(self, *, limit: int = 100) -> list[SweepSummary]:
        """The newest sweeps (up to ``limit``), each with its runs counted by status.

        ``summary.open()`` reads the whole sweep (:meth:`get_sweep`).
        """
        page = self.backend.list_sweeps(limit, None)
        return [SweepSummary.from_dict(self, data) for data in page["sweeps"]]


@dataclass(frozen=True)
class SweepSummary:
    """A sweep as a listing shows it: what it varies and how far its runs got."""

    client: Client = field(repr=False)
    id: str
    name: str
    template: str
    grid: dict[str, list[Any]]
    status_counts: dict[str, int]
    created_at: datetime | None

    @classmethod
    def from_dict(cls, client: Client, data: JSON) -> SweepSummary:
        """From one entry of ``GET sweeps``."""
        return cls(
            client,
            str(data["id"]),
            str(data.get("name") or ""),
            str(data.get("template") or ""),
            dict(data.get("grid") or {}),
            {str(k): int(v) for k, v in (data.get("status_counts") or {}).items()},
            parse_time(data.get("created_at")),
        )

    @property
    def total(self) -> int:
        """How many runs the sweep has."""
        return sum(self.status_counts.values())

    def open(self) -> Sweep:
        """The whole sweep, with its runs."""
        return self.client.get_sweep(self.id)


def run_spec(
    template: str | None,
    overrides: Mapping[str, Any] | None,
    config: str | Path | None,
    name: str,
    tags: Sequence[str],
    executor: str | None,
    executor_options: Mapping[str, Any] | None,
    simulator: str | None,
) -> RunSpec:
    """What :meth:`Client.submit` and :meth:`Client.sweep` send for each run."""
    return RunSpec(
        template,
        nest_overrides(overrides),
        name,
        tuple(tags),
        executor,
        executor_options,
        config=config_text(config),
        simulator=simulator,
    )


def config_text(config: str | Path | None) -> str | None:
    """A whole config as INI text: a Path is read, a str is the text itself."""
    if config is None or isinstance(config, str):
        return config
    try:
        return Path(config).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problem = Problem("config", "", f"cannot read {config}: {exc}")
        raise errors.ValidationError(str(problem), [problem]) from exc


def _report(validate: Callable[[], JSON]) -> ValidationReport:
    """A report even when a check refuses the config outright instead of listing problems."""
    try:
        return ValidationReport.from_dict(validate())
    except errors.ValidationError as exc:
        if not exc.problems:
            raise
        return ValidationReport(False, exc.problems, [])


def _plain(value: Any) -> Any:
    """A numpy scalar (sweep grids are often ``np.arange``) as the Python value."""
    return value.item() if isinstance(value, np.generic) else value


def _query(
    status: str | Sequence[str] | None,
    tag: str | None,
    name: str | None,
    template: str | None,
    sweep: str | None,
) -> RunQuery:
    statuses = [status] if isinstance(status, str) else status
    return RunQuery([s.upper() for s in statuses] if statuses else None, tag, name, template, sweep)


__all__ = ["JSON", "Client", "Template", "TemplateList", "ValidationReport"]
