"""Runs, their files and sweeps, as a notebook user handles them.

Every object here wraps the JSON the backend returned and its :class:`Client`; none
of them talks to the engine or the server except through the client's backend, so
they behave the same in embedded and remote mode.
"""

from __future__ import annotations

import fnmatch
import logging
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, overload

import pandas as pd

from fusion_jupyter.client import errors
from fusion_jupyter.client.backend import JSON, Backend, Message
from fusion_jupyter.client.progress import (
    NotebookReporter,
    ProgressReporter,
    Snapshot,
    current_cell,
    in_notebook,
    ipython_display,
    make_reporter,
    progress_html,
)
from fusion_jupyter.client.watch import Deadline, Silence, adrive, drive, follow
from fusion_jupyter.engine.artifacts import stale_rows_message

if TYPE_CHECKING:
    from fusion_jupyter.client.client import Client

log = logging.getLogger(__name__)

TERMINAL = frozenset({"COMPLETED", "FAILED", "CANCELLED"})
_PROGRESS_KEYS = ("erlang", "erlang_index", "erlang_count", "iteration", "iteration_count")
S = TypeVar("S", bound="_Submitted")


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 timestamp from the API (``...Z``) as an aware datetime."""
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


# --------------------------------------------------------------------------- progress


@dataclass(frozen=True)
class Progress:
    """Where a run is: the current traffic load and iteration, and the percentage done.

    Attributes
    ----------
    percent : float
        0 to 100.
    erlang : float or None
        The traffic load being simulated.
    erlang_index, erlang_count : int or None
        Its position (0-based) among the run's loads, and how many there are.
    iteration, iteration_count : int or None
        Iterations done for the current load, and the most there will be.
    """

    percent: float = 0.0
    erlang: float | None = None
    erlang_index: int | None = None
    erlang_count: int | None = None
    iteration: int | None = None
    iteration_count: int | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Progress:
        """From the ``progress`` object of a run's JSON."""
        data = data or {}
        return cls(float(data.get("percent") or 0.0), *(data.get(k) for k in _PROGRESS_KEYS))

    def describe(self) -> str:
        """``"400 Erlang (2/3), iteration 1/2"``; empty before the first load starts."""
        if self.erlang is None:
            return ""
        text = f"{self.erlang:g} Erlang"
        if self.erlang_index is not None and self.erlang_count:
            text += f" ({self.erlang_index + 1}/{self.erlang_count})"
        if self.iteration is not None and self.iteration_count:
            text += f", iteration {self.iteration}/{self.iteration_count}"
        return text


# --------------------------------------------------------------------------- artifacts


class Artifact:
    """One file of a run.

    Attributes
    ----------
    path : str
        Relative to the run directory, with ``/`` separators (``output/300.0_erlang.json``).
    size : int
        Bytes.
    modified : datetime
        Last modification, UTC.
    kind : str
        ``table``, ``json``, ``log``, ``config``, ``image``, ``document`` or ``other``.
    """

    def __init__(self, run: Run, data: Mapping[str, Any]) -> None:
        self.run = run
        self.path = str(data["path"])
        self.size = int(data.get("size") or 0)
        self.modified = parse_time(data.get("modified"))
        self.kind = str(data.get("kind") or "other")

    def __repr__(self) -> str:
        return f"<Artifact {self.path!r} ({self.kind}, {self.size:,} bytes) of run {self.run.id}>"

    @property
    def name(self) -> str:
        """The file name without its directory."""
        return self.path.rsplit("/", 1)[-1]

    def load(self) -> pd.DataFrame:
        """The file as a DataFrame: ``.csv``, ``.parquet``, ``.jsonl``, or ``.json``
        (FUSION's per-Erlang result files become one row per iteration).

        Raises
        ------
        ValidationError
            The file is not a kind of table this can read.
        """
        return self.run._backend.load_artifact(self.run.id, self.path)

    def read_bytes(self) -> bytes:
        """The file's content."""
        return self.run._backend.read_artifact(self.run.id, self.path)

    def read_text(self, encoding: str = "utf-8") -> str:
        """The file's content as text."""
        return self.read_bytes().decode(encoding, errors="replace")

    def download(self, dest: str | Path | None = None) -> Path:
        """Save the file locally.

        Parameters
        ----------
        dest : str or Path, optional
            A file path, or an existing directory to save into under the file's own
            name. Default: the file's name in the current directory.

        Returns
        -------
        Path
            Where the file was written (written whole or not at all).
        """
        target = Path(dest) if dest is not None else Path(self.name)
        if target.is_dir():
            target = target / self.name
        self.run._backend.download_artifact(self.run.id, self.path, target)
        return target


class ArtifactList(Sequence[Artifact]):
    """A run's files; index by position or by path (``run.artifacts["output/results.csv"]``)."""

    def __init__(self, items: Sequence[Artifact]) -> None:
        self._items = list(items)
        self._by_path = {a.path: a for a in self._items}

    @overload
    def __getitem__(self, key: int | str) -> Artifact: ...

    @overload
    def __getitem__(self, key: slice) -> ArtifactList: ...

    def __getitem__(self, key: int | str | slice) -> Artifact | ArtifactList:
        if isinstance(key, slice):
            return ArtifactList(self._items[key])
        if isinstance(key, str):
            try:
                return self._by_path[key]
            except KeyError:
                raise KeyError(f"no artifact {key!r}; there are: {', '.join(self.paths)}") from None
        return self._items[key]

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, item: object) -> bool:
        return item in self._by_path if isinstance(item, str) else item in self._items

    @property
    def paths(self) -> list[str]:
        """Every path, sorted."""
        return [a.path for a in self._items]

    def glob(self, pattern: str) -> ArtifactList:
        """The files whose path matches a shell pattern, e.g. ``"output/*_erlang.json"``."""
        return ArtifactList([a for a in self._items if fnmatch.fnmatchcase(a.path, pattern)])

    def to_frame(self) -> pd.DataFrame:
        """path, kind, size, modified: one row per file."""
        rows = [(a.path, a.kind, a.size, a.modified) for a in self._items]
        return pd.DataFrame(rows, columns=["path", "kind", "size", "modified"])

    def __repr__(self) -> str:
        lines = [f"  {a.path}  ({a.kind}, {a.size:,} bytes)" for a in self._items]
        return "ArtifactList([\n" + "\n".join(lines) + "\n])" if lines else "ArtifactList([])"

    def _repr_html_(self) -> str:
        return str(self.to_frame().to_html(index=False))


# --------------------------------------------------------------------------- runs


class _Submitted:
    """What a run and a sweep share: their client, the JSON last read, and the fields
    both carry."""

    _data: JSON

    def __init__(self, client: Client) -> None:
        self._client = client

    @property
    def id(self) -> str:
        """12 lowercase hex characters (a sweep's runs carry the tag ``sweep:<id>``)."""
        return str(self._data["id"])

    @property
    def name(self) -> str:
        """The name given at submission (may be empty)."""
        return str(self._data.get("name") or "")

    @property
    def template(self) -> str:
        """The template it was created from (every run of a sweep starts from it)."""
        return str(self._data.get("template") or "")

    @property
    def created_at(self) -> datetime | None:
        """When it was submitted (UTC)."""
        return parse_time(self._data.get("created_at"))

    @property
    def _backend(self) -> Backend:
        return self._client.backend

    @property
    def _followed(self) -> str | None:
        """The run whose stream :meth:`wait` follows (None: every run's status, as a
        sweep's wait does; a run follows itself)."""
        return None

    def wait(
        self: S,
        timeout: float | None = None,
        progress: bool | ProgressReporter = True,
        *,
        raise_on_failure: bool = False,
    ) -> S:
        """Block until the run (or every run of a sweep) has ended, following it live.

        Parameters
        ----------
        timeout : float, optional
            Seconds to wait at most; default no limit.
        progress : bool or ProgressReporter
            ``True`` shows a progress bar (tqdm on a terminal, HTML in a notebook);
            ``False`` nothing; or any object with ``update(snapshot)`` and ``close()``.
        raise_on_failure : bool
            Raise :class:`RunFailedError` when the run ends FAILED or CANCELLED (for
            a sweep: for its first run that did not complete).

        Returns
        -------
        Run or Sweep
            Itself, in its final state.

        Raises
        ------
        TimeoutError
            ``timeout`` passed first (the runs go on).
        """
        with self._watch(progress) as watch:
            opener = partial(self._backend.stream, self._followed, [])
            drive(watch, opener, Deadline(timeout, self._what))
        return self._finished(raise_on_failure)

    async def wait_async(
        self: S,
        timeout: float | None = None,
        progress: bool | ProgressReporter = True,
        *,
        raise_on_failure: bool = False,
    ) -> S:
        """:meth:`wait` for asyncio code (``await run.wait_async()``): the kernel stays
        responsive while the run goes on. Same parameters and result."""
        with self._watch(progress) as watch:
            opener = partial(self._backend.astream, self._followed, [])
            await adrive(watch, opener, Deadline(timeout, self._what))
        return self._finished(raise_on_failure)

    @property
    def _what(self) -> str:
        raise NotImplementedError

    def _watch(self, progress: bool | ProgressReporter) -> RunWatch | SweepWatch:
        raise NotImplementedError

    def _finished(self: S, raise_on_failure: bool) -> S:
        raise NotImplementedError


class Run(_Submitted):
    """One simulation run. Obtained from :meth:`Client.submit`, :meth:`Client.run`,
    :meth:`Client.runs` or a :class:`Sweep`; never built directly.

    Its attributes are the state when it was last read; :meth:`refresh` re-reads it
    and :meth:`wait` follows it live. In a notebook a run displays as a live progress
    view.
    """

    def __init__(self, client: Client, data: JSON) -> None:
        super().__init__(client)
        self._data = data
        self._shown_in: int | None = None  # the notebook cell that displayed this run

    @property
    def _followed(self) -> str | None:
        return self.id

    # ---- state ------------------------------------------------------------------------

    def _set(self, data: JSON) -> None:
        if data.get("id") == self.id:
            self._data = data

    def to_dict(self) -> JSON:
        """The run's JSON, as the REST API returns it."""
        return dict(self._data)

    @property
    def label(self) -> str:
        """The name and id, for display."""
        return f"{self.name} ({self.id})" if self.name else f"run {self.id}"

    @property
    def status(self) -> str:
        """``PENDING``, ``RUNNING``, ``CANCELLING``, ``COMPLETED``, ``FAILED`` or ``CANCELLED``."""
        return str(self._data["status"])

    @property
    def done(self) -> bool:
        """Whether the run has ended (completed, failed or cancelled)."""
        return self.status in TERMINAL

    @property
    def tags(self) -> list[str]:
        """Free-form labels (a sweep's runs carry ``sweep:<id>``)."""
        return list(self._data.get("tags") or [])

    @property
    def sweep_id(self) -> str | None:
        """The sweep this run belongs to, if any."""
        return self._data.get("sweep_id")

    @property
    def executor(self) -> str:
        """Where the run runs: ``local`` or ``slurm``."""
        return str(self._data.get("executor") or "local")

    @property
    def job_id(self) -> str | None:
        """The Slurm job id (``<array>_<task>`` in a sweep), for Slurm runs."""
        return self._data.get("job_id")

    @property
    def pending_reason(self) -> str | None:
        """Why Slurm has not started the job yet (Priority, Resources, ...), if it waits."""
        return self._data.get("pending_reason")

    @property
    def node(self) -> str | None:
        """The node a Slurm job ran on."""
        return self._data.get("node")

    @property
    def overrides(self) -> dict[str, dict[str, Any]]:
        """What was changed from the template, as ``{section: {key: value}}``."""
        return dict(self._data.get("overrides") or {})

    @property
    def progress(self) -> Progress:
        """The last known progress (live while :meth:`wait` runs)."""
        return Progress.from_dict(self._data.get("progress"))

    @property
    def error(self) -> str | None:
        """Why a failed run failed, with the last lines of its log."""
        return self._data.get("error")

    @property
    def exit_code(self) -> int | None:
        """The simulator's exit code once it has ended."""
        return self._data.get("exit_code")

    @property
    def started_at(self) -> datetime | None:
        """When its process started (UTC)."""
        return parse_time(self._data.get("started_at"))

    @property
    def completed_at(self) -> datetime | None:
        """When it ended (UTC)."""
        return parse_time(self._data.get("completed_at"))

    @property
    def duration(self) -> timedelta | None:
        """Run time so far (or in all, once it has ended); None before it starts."""
        start = self.started_at
        if start is None:
            return None
        end = self.completed_at or datetime.now(start.tzinfo)
        return end - start

    def __repr__(self) -> str:
        name = f" {self.name!r}" if self.name else ""
        return f"<Run {self.id}{name} {self.status} {self.snapshot().percent:.0f}%>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def snapshot(self) -> Snapshot:
        """What a progress display shows now."""
        progress = self.progress
        percent = 100.0 if self.status == "COMPLETED" else progress.percent
        return Snapshot(self.label, percent, progress.describe(), self.status, self.done)

    # ---- actions ----------------------------------------------------------------------

    def refresh(self) -> Run:
        """Re-read the run's state; returns the run itself."""
        self._data = self._backend.get_run(self.id)
        return self

    def cancel(self, *, wait: bool = True, timeout: float | None = None) -> Run:
        """Stop the run (a PENDING one never starts).

        The engine answers at once; the run is ``CANCELLING`` while its simulator
        saves what it has (FUSION saves its statistics), then ``CANCELLED``.

        Parameters
        ----------
        wait : bool
            Return once the run has ended (default), not as soon as it is told to.
        timeout : float, optional
            With ``wait``: seconds to wait at most (TimeoutError after).

        Raises
        ------
        ConflictError
            The run has already ended.
        """
        self._data = self._backend.cancel_run(self.id)
        if wait and not self.done:
            self.wait(timeout=timeout, progress=False)
        return self

    def delete(self, purge: bool = False) -> None:
        """Forget the run; with ``purge=True`` also remove its directory and files.

        Raises
        ------
        ConflictError
            The run is still PENDING or RUNNING: :meth:`cancel` it first.
        """
        self.refresh()
        if not self.done:
            raise errors.ConflictError(
                f"run {self.id} is {self.status}: cancel it before deleting it"
            )
        self._backend.delete_run(self.id, purge)

    def rerun(self) -> Run:
        """A new run with the same frozen config, template, name and tags."""
        return Run(self._client, self._backend.rerun(self.id))

    # ---- waiting ----------------------------------------------------------------------

    @property
    def _what(self) -> str:
        return self.label

    def _watch(self, progress: bool | ProgressReporter) -> RunWatch:
        return RunWatch(self, make_reporter(self._unless_shown(progress), self.label))

    def _finished(self, raise_on_failure: bool) -> Run:
        if self._data.get("error_truncated"):
            self.refresh()  # status messages carry no log: the whole error is the run's
        if raise_on_failure and self.status != "COMPLETED":
            raise errors.RunFailedError(self)
        return self

    # ---- progress and logs ------------------------------------------------------------

    def events(self, after: int = -1, limit: int | None = None) -> list[dict[str, Any]]:
        """Progress events (DESIGN §3) with ``seq > after``, oldest first."""
        return self._backend.events(self.id, after, limit)

    def logs(self, tail: int | None = None, *, offset: int = 0, limit: int | None = None) -> str:
        """The simulator's log (stdout and stderr).

        Parameters
        ----------
        tail : int, optional
            Only the last ``tail`` lines.
        offset, limit : int
            Otherwise a byte range (default: from the start, up to 1 MiB).
        """
        return str(self._backend.logs(self.id, offset=offset, limit=limit, tail=tail)["data"])

    def follow_logs(self, offset: int = 0, timeout: float | None = None) -> Iterator[str]:
        """Yield the log as it is written, until the run has ended and all is read.

        ``for text in run.follow_logs(): print(text, end="")``. ``offset`` starts at a
        byte position (0: from the beginning).
        """
        watch = LogWatch(self, offset)
        deadline = Deadline(timeout, f"the log of {self.label}")
        for _ in follow(
            watch,
            lambda: self._backend.stream(self.id, ["logs"], log_offset=watch.offset),
            deadline,
        ):
            yield from watch.take()
        yield from watch.take()
        yield from watch.rest()

    # ---- files and results ------------------------------------------------------------

    @property
    def artifacts(self) -> ArtifactList:
        """The run's files, read now: ``run.artifacts["output/results.csv"].load()``."""
        return ArtifactList([Artifact(self, a) for a in self._backend.artifacts(self.id)])

    def results(self) -> pd.DataFrame:
        """The per-Erlang summary: one row per traffic load.

        Columns include ``erlang``, ``iterations``, ``blocking_mean``,
        ``blocking_variance``, ``ci_lower``, ``ci_upper`` (the confidence interval of
        the blocking probability), ``ci_percent`` and ``bit_rate_blocking_mean``.
        Built from FUSION's ``*_erlang.json`` files or the simulator's results table;
        empty (with those columns) before the first load is done.

        ``iterations_saved`` is how many iterations a row's file holds and
        ``iterations_run`` how many ran: FUSION saves only every ``save_step``
        iterations, so a run that stopped early can hold fewer than ran, and a
        warning says so.
        """
        frame = self._backend.results(self.id)
        message = stale_rows_message(frame)
        if message:
            warnings.warn(f"run {self.id}: {message}", stacklevel=2)
        return frame

    # ---- notebook display -------------------------------------------------------------

    def _repr_html_(self) -> str:
        return progress_html(self.snapshot())

    def _unless_shown(self, progress: bool | ProgressReporter) -> bool | ProgressReporter:
        # ``display(run); run.wait()``: the live view above already shows the progress.
        shown = self._shown_in is not None and self._shown_in == current_cell()
        return False if progress is True and shown else progress

    def _ipython_display_(self) -> None:
        # A run shows once per cell: ``display(run); run.wait()`` ends with the run as
        # the cell's value, which must not draw a second view of the same run.
        cell = current_cell()
        if cell is not None and cell == self._shown_in:
            return
        self._shown_in = cell
        widget = _progress_widget(self)
        if widget is not None:
            ipython_display().display(widget)
            return
        reporter = NotebookReporter()
        reporter.update(self.snapshot())
        if not self.done:
            follower = Run(self._client, dict(self._data))
            threading.Thread(target=_follow_quietly, args=(follower, reporter), daemon=True).start()


def _progress_widget(run: Run) -> Any:
    """The rich widget when the widgets package provides one, else None."""
    return _widget("RunProgress", run)


def _widget(name: str, shown: Any, **options: Any) -> Any:
    """The widget ``name`` of ``fusion_jupyter.widgets`` showing ``shown``, or None where
    the widgets cannot be made (anywidget missing, front-ends not built)."""
    try:
        widget_class = getattr(import_module("fusion_jupyter.widgets"), name, None)
    except ImportError:
        return None
    if widget_class is None:
        return None
    try:
        return widget_class(shown, **options)
    except ValueError:
        raise  # a bad option (``by``): the caller's mistake, said as such
    except Exception:
        log.debug("%s widget failed; showing the HTML view", name, exc_info=True)
        return None


def _follow_quietly(run: Run, reporter: ProgressReporter) -> None:
    try:
        run.wait(progress=reporter)
    except Exception:
        log.debug("live view of run %s stopped", run.id, exc_info=True)


W = TypeVar("W", bound="_ShownWatch")


class _ShownWatch:
    """What following a Run and following a Sweep share: re-reading the whole state when
    the stream lagged or fell silent, and showing its snapshot after each change; the
    display is closed at the end of a ``with`` block."""

    def __init__(self, shown: Run | Sweep, reporter: ProgressReporter) -> None:
        self.shown = shown
        self.reporter = reporter
        self.silence = Silence()
        self.lagged = False

    @property
    def done(self) -> bool:
        return self.shown.done

    def refresh(self) -> None:
        self.shown.refresh()
        self.lagged = False
        self._show()

    def stale(self) -> bool:
        return self.lagged or self.silence.too_long()

    def _show(self) -> None:
        self.reporter.update(self.shown.snapshot())

    def __enter__(self: W) -> W:
        return self

    def __exit__(self, *exc: object) -> None:
        self.reporter.close()


class RunWatch(_ShownWatch):
    """Follows a run's status and folded progress (the engine folds its events) into the
    Run and its display."""

    def __init__(self, run: Run, reporter: ProgressReporter) -> None:
        super().__init__(run, reporter)
        self.run = run

    def feed(self, messages: list[Message]) -> None:
        self.silence.heard(messages)
        for message in messages:
            kind = message.get("type")
            if kind == "run_progress":
                self._merge_progress(message["progress"])
            elif kind == "status":
                progress = (self.run._data.get("progress") or {}).copy()
                self.run._set(message["run"])
                self._merge_progress(progress)  # a status may carry an older cache
            elif kind == "lagged":
                self.lagged = True
        if messages:
            self._show()

    def _merge_progress(self, progress: Mapping[str, Any]) -> None:
        cached = self.run._data.get("progress") or {}
        if int(progress.get("seq", -1)) > int(cached.get("seq", -1)):
            self.run._data = {**self.run._data, "progress": {**cached, **progress}}


class LogWatch:
    """Collects a run's log text from its stream, and knows when it is all read."""

    def __init__(self, run: Run, offset: int) -> None:
        self.run = run
        self.offset = offset
        self.pending: list[str] = []
        self.silence = Silence()

    @property
    def done(self) -> bool:
        return self.run.done

    def refresh(self) -> None:
        self.run.refresh()

    def stale(self) -> bool:
        return self.silence.too_long()

    def feed(self, messages: list[Message]) -> None:
        self.silence.heard(messages)
        for message in messages:
            if message.get("type") == "log" and int(message["offset"]) == self.offset:
                self.pending.append(str(message["data"]))
                self.offset = int(message["next_offset"])
            elif message.get("type") == "status":
                self.run._set(message["run"])

    def take(self) -> Iterator[str]:
        """The text received since the last call."""
        pending, self.pending = self.pending, []
        yield from (text for text in pending if text)

    def rest(self) -> Iterator[str]:
        """What the stream had not delivered when the run ended, read directly."""
        while True:
            chunk = self.run._backend.logs(self.run.id, offset=self.offset)
            if chunk["next_offset"] <= self.offset:
                return
            self.offset = int(chunk["next_offset"])
            if chunk["data"]:
                yield str(chunk["data"])


class RunList(list[Run]):
    """A page of runs, newest first; ``next_cursor`` fetches the next page
    (``client.runs(cursor=page.next_cursor)``)."""

    def __init__(self, runs: Sequence[Run], next_cursor: str | None = None) -> None:
        super().__init__(runs)
        self.next_cursor = next_cursor

    def to_frame(self) -> pd.DataFrame:
        """One row per run: id, name, status, percent, template, created_at, ..."""
        return runs_frame(self)

    def _repr_html_(self) -> str:
        return str(self.to_frame().to_html(index=False))


def runs_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """A table of runs for display."""
    rows = [
        {
            "id": r.id,
            "name": r.name,
            "status": r.status,
            "percent": r.snapshot().percent,
            "template": r.template,
            "created_at": r.created_at,
            "duration": r.duration,
            "tags": ", ".join(r.tags),
        }
        for r in runs
    ]
    columns = ["id", "name", "status", "percent", "template", "created_at", "duration", "tags"]
    return pd.DataFrame(rows, columns=columns)


# --------------------------------------------------------------------------- sweeps


class Sweep(_Submitted):
    """A parameter grid run as many runs (the cartesian product of its values).

    Obtained from :meth:`Client.sweep` or :meth:`Client.get_sweep`. ``runs`` are the
    runs as last read; :meth:`wait` follows them live and :meth:`results` combines
    their results with the grid parameters as columns.
    """

    def __init__(self, client: Client, data: JSON) -> None:
        super().__init__(client)
        self._set(data)

    def _set(self, data: JSON) -> None:
        self._data = dict(data["sweep"])
        self.runs: list[Run] = [Run(self._client, r) for r in data.get("runs", [])]

    @property
    def grid(self) -> dict[str, list[Any]]:
        """``{"section.key": [values]}`` as given."""
        return {k: list(v) for k, v in (self._data.get("grid") or {}).items()}

    @property
    def status_counts(self) -> dict[str, int]:
        """How many runs are in each status, one per grid point: a run that was rerun
        gives way to its rerun (as the server counts a sweep)."""
        superseded = {run.to_dict().get("rerun_of") for run in self.runs}
        counts: dict[str, int] = {}
        for run in self.runs:
            if run.id not in superseded:
                counts[run.status] = counts.get(run.status, 0) + 1
        return counts

    @property
    def done(self) -> bool:
        """Whether every run has ended."""
        return all(run.done for run in self.runs)

    def __repr__(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(self.status_counts.items()))
        return f"<Sweep {self.id} {self.name!r}: {len(self.runs)} runs ({counts})>"

    def snapshot(self) -> Snapshot:
        """What a progress display shows now: finished runs out of all."""
        finished = sum(run.done for run in self.runs)
        total = len(self.runs) or 1
        counts = ", ".join(f"{n} {s}" for s, n in sorted(self.status_counts.items()))
        status = "COMPLETED" if self.done else "RUNNING"
        if self.done and any(r.status != "COMPLETED" for r in self.runs):
            status = "FAILED"
        label = f"sweep {self.name or self.template} ({self.id})"
        detail = f"{finished}/{len(self.runs)} runs finished: {counts}"
        return Snapshot(label, 100.0 * finished / total, detail, status, self.done)

    def refresh(self) -> Sweep:
        """Re-read the sweep and its runs."""
        self._set(self._backend.get_sweep(self.id))
        return self

    @property
    def _what(self) -> str:
        return f"sweep {self.id}"

    def _watch(self, progress: bool | ProgressReporter) -> SweepWatch:
        return SweepWatch(self, make_reporter(progress, self._what))

    def _finished(self, raise_on_failure: bool) -> Sweep:
        failed = [run for run in self.runs if run.status != "COMPLETED"]
        if raise_on_failure and failed:
            raise errors.RunFailedError(failed[0])
        return self

    def cancel(self) -> Sweep:
        """Cancel every run that has not ended yet (on Slurm: the whole job array)."""
        self._set(self._backend.cancel_sweep(self.id))
        return self

    def rerun_failed(self) -> list[Run]:
        """Rerun every failed run (the latest attempt at each grid point); the new runs
        join the sweep, and are returned. Conflict if none failed."""
        data = self._backend.rerun_failed_sweep(self.id)
        self._set(data)
        created = set(data["created"])
        return [run for run in self.runs if run.id in created]

    def delete(self, *, purge: bool = False) -> None:
        """Forget the sweep and its runs; ``purge`` also removes their directories.
        Refused (Conflict) while one of its runs is active: cancel first."""
        self._backend.delete_sweep(self.id, purge)

    def grid_values(self, run: Run) -> dict[str, Any]:
        """The grid's values for one of the sweep's runs, as given in the grid."""
        from fusion_jupyter.engine.curves import grid_point

        return grid_point(self.grid, run.overrides)

    def results(self) -> pd.DataFrame:
        """One table for the whole sweep: the grid parameters (one column per grid key,
        named as in the grid), ``run_id``, then each run's :meth:`Run.results` columns.

        Runs without results yet (or deleted) contribute no rows.
        """
        frames = []
        for run in self.runs:
            try:
                frame = run.results()
            except errors.NotFoundError:  # deleted since the sweep was read
                continue
            prefix = {**self.grid_values(run), "run_id": run.id}
            for position, (column, value) in enumerate(prefix.items()):
                frame.insert(position, column, [value] * len(frame))
            frames.append(frame)
        if not frames:
            return pd.DataFrame(columns=[*self.grid, "run_id"])
        return pd.concat(frames, ignore_index=True)

    def plot(
        self,
        by: str | Sequence[str] | None = None,
        *,
        log_y: bool = False,
        bands: bool = True,
    ) -> Any:
        """Blocking probability against load, one curve per value of ``by``.

        ``by`` (a grid key or several) defaults to every grid key that varies; legends
        name only those keys. In a notebook: the live :class:`SweepView` widget (drawn
        in the browser, it fills in as runs end). Elsewhere, or without the widgets:
        :meth:`figure`.
        """
        if in_notebook():
            widget = _widget("SweepView", self, by=by, log_y=log_y)
            if widget is not None:
                return widget
        return self.figure(by, log_y=log_y, bands=bands)

    def figure(
        self,
        by: str | Sequence[str] | None = None,
        *,
        log_y: bool = False,
        bands: bool = True,
    ) -> Any:
        """:meth:`plot` as a matplotlib Figure (confidence intervals shaded unless
        ``bands=False``); runs without results yet are left out, so calling it again
        shows the curves filled in."""
        from fusion_jupyter.client import curves

        found = curves.curves(self.results(), self.grid, by)
        return curves.plot(found, title=self.name, log_y=log_y, bands=bands)

    def to_frame(self) -> pd.DataFrame:
        """The runs as a table, with the grid values as columns."""
        frame = runs_frame(self.runs)
        for position, key in enumerate(self.grid):
            frame.insert(position + 1, key, [self.grid_values(r)[key] for r in self.runs])
        return frame

    def _repr_html_(self) -> str:
        table = self.to_frame().to_html(index=False)
        return progress_html(self.snapshot()) + str(table)

    def _ipython_display_(self) -> None:
        # In a notebook a sweep is its live curves; the HTML table where the widgets
        # cannot be shown.
        widget = _widget("SweepView", self)
        display = ipython_display()
        display.display(widget if widget is not None else display.HTML(self._repr_html_()))


class SweepWatch(_ShownWatch):
    """Folds every run's status changes into a Sweep and its display."""

    def __init__(self, sweep: Sweep, reporter: ProgressReporter) -> None:
        super().__init__(sweep, reporter)
        self.sweep = sweep

    def feed(self, messages: list[Message]) -> None:
        self.silence.heard(messages)
        by_id = {run.id: run for run in self.sweep.runs}
        changed = False
        for message in messages:
            if message.get("type") == "lagged":
                self.lagged = True
            run = by_id.get(str(message.get("run_id")))
            if run is not None and message.get("type") == "status":
                run._set(message["run"])
                changed = True
        if changed:
            self._show()
