"""The small interface both backends implement, so that Client, Run and Sweep are written once.

A backend speaks in the JSON shapes of the REST API (DESIGN §4): a run is the dict of
:func:`fusion_jupyter.engine.models.run_to_dict`, a sweep ``{"sweep": ..., "runs": [...]}``,
a log chunk ``{offset, next_offset, size, data}``, and live updates are the WebSocket's
messages (``progress``, ``log``, ``status``, ``lagged``). The embedded backend builds
those shapes from the engine in-process; the remote backend reads them off the wire.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import quote

if TYPE_CHECKING:
    import pandas as pd

    from fusion_jupyter.service.exchange import Reply, Request

JSON = dict[str, Any]
Message = dict[str, Any]
Mode = Literal["embedded", "remote"]
CHANNELS: tuple[str, ...] = ("progress", "logs")


@dataclass(frozen=True)
class RunQuery:
    """Filters of a run listing; ``None`` means any."""

    status: Sequence[str] | None = None
    tag: str | None = None
    name: str | None = None
    template: str | None = None
    sweep: str | None = None

    def params(self) -> dict[str, str]:
        """The query string of ``GET runs`` (several statuses comma-separated)."""
        values = {
            "status": ",".join(self.status) if self.status else None,
            "tag": self.tag,
            "name": self.name,
            "template": self.template,
            "sweep": self.sweep,
        }
        return {key: value for key, value in values.items() if value}


@dataclass(frozen=True)
class RunSpec:
    """What creating a run (or each run of a sweep) takes."""

    template: str | None
    overrides: Mapping[str, Any]
    name: str = ""
    tags: Sequence[str] = ()
    executor: str | None = None
    executor_options: Mapping[str, Any] | None = None
    config: str | None = None
    """A whole INI text instead of a template (a researcher's own file)."""
    simulator: str | None = None

    def body(self) -> JSON:
        """The JSON body of ``POST runs``."""
        body: JSON = {"overrides": dict(self.overrides)}
        if self.template is not None:
            body["template"] = self.template
        if self.config is not None:
            body["config"] = self.config
        if self.name:
            body["name"] = self.name
        if self.tags:
            body["tags"] = list(self.tags)
        if self.executor:
            body["executor"] = self.executor
        if self.executor_options:
            body["executor_options"] = dict(self.executor_options)
        if self.simulator:
            body["simulator"] = self.simulator
        return body


class Stream(Protocol):
    """Live messages of one run (or, with no run, every run's status changes)."""

    def receive(self, timeout: float | None) -> list[Message]:
        """The messages ready now, waiting up to ``timeout`` seconds; [] on time-out."""

    def close(self) -> None:
        """Stop receiving."""


class AsyncStream(Protocol):
    """The asyncio twin of :class:`Stream`."""

    async def receive(self, timeout: float | None) -> list[Message]:
        """The messages ready now, waiting up to ``timeout`` seconds; [] on time-out."""

    async def close(self) -> None:
        """Stop receiving."""


class Session(Protocol):
    """One client's side of the stream protocol (DESIGN §4), for the widgets' relay.

    The page's operations go in (:meth:`handle`), the stream's messages come out
    (:meth:`collect`), with ``notify`` (given when it was opened) called from another
    thread whenever something is ready.
    """

    @property
    def subs(self) -> Mapping[str, Any]:
        """The runs followed (keys are run ids)."""

    def handle(self, raw: str | bytes) -> None:
        """One operation as the page sent it (a bad one is answered with an error)."""

    def subscribe(self, run_id: str, channels: list[str], after: int, log_offset: int) -> None:
        """Follow a run from ``after`` (seq) and ``log_offset`` (bytes)."""

    def unsubscribe(self, run_id: str) -> None:
        """Stop following a run."""

    def subscriptions(self) -> dict[str, list[str]]:
        """``{run_id: [channels]}`` followed."""

    def collect(self) -> list[Message]:
        """Everything ready, oldest first."""

    def close(self) -> None:
        """Stop; nothing more is collected."""


class Backend(ABC):
    """What :class:`~fusion_jupyter.client.Client` needs from the engine or the server.

    The methods that are one REST call each are written here once, over :meth:`call`:
    the remote backend sends the request over HTTP, the embedded one hands it to the
    service in this process, so both make the very same request and the service applies
    the very same checks and limits. Errors are raised as
    :mod:`fusion_jupyter.client.errors` exceptions.
    """

    mode: Mode

    @abstractmethod
    def describe(self) -> str:
        """Where this backend works: the server URL, or the engine's runs dir and database."""

    @abstractmethod
    def close(self) -> None:
        """Release connections (the runs themselves are left alone)."""

    @abstractmethod
    def call(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> Any:
        """One API call's JSON answer (None for 204); refusals raise client errors."""

    @abstractmethod
    def answer(self, request: Request) -> Reply:
        """The reply to a raw API request, refusals included (for the widgets' relay)."""

    @abstractmethod
    def open_session(self, notify: Callable[[], None]) -> Session:
        """A stream session as the server's WebSocket gives one (for the widgets' relay)."""

    # ---- files --------------------------------------------------------------------

    @abstractmethod
    def read_artifact(self, run_id: str, path: str) -> bytes:
        """A file's bytes."""

    @abstractmethod
    def download_artifact(self, run_id: str, path: str, dest: Path) -> None:
        """Copy a file to ``dest`` (a file path; written whole or not at all)."""

    @abstractmethod
    def load_artifact(self, run_id: str, path: str) -> pd.DataFrame:
        """A table file as a DataFrame."""

    @abstractmethod
    def results(self, run_id: str) -> pd.DataFrame:
        """The per-Erlang summary table."""

    # ---- live ---------------------------------------------------------------------

    @abstractmethod
    def stream(
        self,
        run_id: str | None,
        channels: Sequence[str] = CHANNELS,
        after: int = -1,
        log_offset: int = 0,
    ) -> Stream:
        """Follow a run live (or every run's status when ``run_id`` is None)."""

    @abstractmethod
    async def astream(
        self,
        run_id: str | None,
        channels: Sequence[str] = CHANNELS,
        after: int = -1,
        log_offset: int = 0,
    ) -> AsyncStream:
        """The asyncio twin of :meth:`stream`."""

    # ---- one REST call each ---------------------------------------------------------

    def templates(self) -> list[JSON]:
        """``[{name, description}]``."""
        return list(self.call("GET", "templates")["templates"])

    def template(self, name: str) -> JSON:
        """``{name, description, text, sections}``."""
        return dict(self.call("GET", f"templates/{quote(name, safe='')}"))

    def validate(
        self, template: str | None, overrides: Mapping[str, Any], config: str | None = None
    ) -> JSON:
        """``{valid, errors, warnings}`` of a template (or a whole INI text) with overrides."""
        body = RunSpec(template, overrides, config=config).body()
        return dict(self.call("POST", "configs/validate", body=body))

    def save_template(
        self, name: str, run_id: str | None, config: str | None, description: str, replace: bool
    ) -> JSON:
        """Save a run's frozen config, or a whole INI text, as a template."""
        body: JSON = {"name": name, "description": description, "replace": replace}
        body.update({"run_id": run_id} if run_id is not None else {"config": config})
        return dict(self.call("POST", "templates", body=body))

    def create_run(self, spec: RunSpec) -> JSON:
        """A new run."""
        return dict(self.call("POST", "runs", body=spec.body()))

    def list_runs(self, query: RunQuery, limit: int, cursor: str | None) -> JSON:
        """``{runs, next_cursor}``, newest first."""
        params: dict[str, Any] = {**query.params(), "limit": limit, "cursor": cursor}
        return dict(self.call("GET", "runs", params=params))

    def get_run(self, run_id: str) -> JSON:
        """One run."""
        return dict(self.call("GET", run_path(run_id)))

    def cancel_run(self, run_id: str) -> JSON:
        """Cancel; the run as it is afterwards."""
        return dict(self.call("POST", run_path(run_id, "cancel")))

    def delete_run(self, run_id: str, purge: bool) -> None:
        """Forget a finished run (and remove its files with ``purge``)."""
        self.call("DELETE", run_path(run_id), params={"purge": "true"} if purge else None)

    def rerun(self, run_id: str) -> JSON:
        """A new run with the same frozen config."""
        return dict(self.call("POST", run_path(run_id, "rerun")))

    def events(self, run_id: str, after: int, limit: int | None) -> list[JSON]:
        """Progress events with ``seq > after``."""
        params = {"after": after, "limit": limit}
        return list(self.call("GET", run_path(run_id, "progress"), params=params)["events"])

    def logs(
        self, run_id: str, *, offset: int = 0, limit: int | None = None, tail: int | None = None
    ) -> JSON:
        """A log chunk ``{offset, next_offset, size, data}``: a byte range or the last lines."""
        params = {"tail": tail} if tail is not None else {"offset": offset, "limit": limit}
        return dict(self.call("GET", run_path(run_id, "logs"), params=params))

    def artifacts(self, run_id: str) -> list[JSON]:
        """``[{path, size, modified, kind}]``."""
        return list(self.call("GET", run_path(run_id, "artifacts"))["artifacts"])

    def create_sweep(self, spec: RunSpec, grid: Mapping[str, Sequence[Any]]) -> JSON:
        """``{sweep, runs}``."""
        body = {**spec.body(), "grid": {key: list(values) for key, values in grid.items()}}
        return dict(self.call("POST", "sweeps", body=body))

    def get_sweep(self, sweep_id: str) -> JSON:
        """``{sweep, runs}``."""
        return dict(self.call("GET", sweep_path(sweep_id)))

    def list_sweeps(self, limit: int, cursor: str | None) -> JSON:
        """``{sweeps, next_cursor}``, newest first, each with its status counts."""
        return dict(self.call("GET", "sweeps", params={"limit": limit, "cursor": cursor}))

    def cancel_sweep(self, sweep_id: str) -> JSON:
        """Cancel every active run of a sweep (a Slurm array at once); ``{sweep, runs}``."""
        return dict(self.call("POST", sweep_path(sweep_id, "cancel")))

    def rerun_failed_sweep(self, sweep_id: str) -> JSON:
        """Rerun the sweep's failed runs, in the sweep; ``{sweep, runs, created}``."""
        return dict(self.call("POST", sweep_path(sweep_id, "rerun-failed")))

    def delete_sweep(self, sweep_id: str, purge: bool) -> None:
        """Forget a sweep and its runs (refused while one is active)."""
        params = {"purge": "true"} if purge else None
        self.call("DELETE", sweep_path(sweep_id), params=params)


_DOTS = {".": "%2E", "..": "%2E%2E"}


def run_path(run_id: str, *rest: str) -> str:
    """The API path of a run (or of one of its resources), the id percent-encoded."""
    return "/".join(["runs", quote(run_id, safe=""), *rest])


def sweep_path(sweep_id: str, *rest: str) -> str:
    """The API path of a sweep (or of one of its actions), the id percent-encoded."""
    return "/".join(["sweeps", quote(sweep_id, safe=""), *rest])


def artifact_path(run_id: str, path: str) -> str:
    """The API path of a run's file.

    Dot segments are encoded so that no HTTP layer resolves them on the way: the
    server, not the client, decides what a path may reach.
    """
    parts = [_DOTS.get(part, quote(part, safe="")) for part in path.split("/")]
    return run_path(run_id, "artifacts", "/".join(parts))


def nest_overrides(overrides: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Overrides as ``{section: {key: value}}`` whether given nested or as ``"section.key"``.

    Values are left as they are (the engine turns them into INI strings); a key given
    twice keeps the last value given.
    """
    nested: dict[str, dict[str, Any]] = {}
    for name, value in (overrides or {}).items():
        if isinstance(name, str) and "." in name:
            section, _, key = name.partition(".")
            nested.setdefault(section, {})[key] = value
        elif isinstance(value, Mapping):
            nested.setdefault(name, {}).update(value)
        else:
            nested.setdefault(name, value)  # malformed: the engine reports it
    return nested
