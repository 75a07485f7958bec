"""The embedded backend: the engine's RunManager in this process, no server needed.

It uses the same defaults as the server extension (``EngineSettings()``: runs under
``<jupyter data dir>/fusion_jupyter/runs``, the database beside them), so runs started
from a notebook without a server show up in the server's listing and the other way
round. Runs are separate processes and outlive this one (``on_shutdown="detach"``).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from fusion_jupyter.client import errors
from fusion_jupyter.client.backend import CHANNELS, JSON, Message, Mode, RunQuery, RunSpec
from fusion_jupyter.client.errors import engine_errors
from fusion_jupyter.engine.hub import Subscription
from fusion_jupyter.engine.manager import RunManager
from fusion_jupyter.engine.models import Status, run_to_dict, sweep_to_dict
from fusion_jupyter.engine.settings import EngineSettings
from fusion_jupyter.engine.store import RunFilter

T = TypeVar("T")


class _Subscription:
    """A hub subscription woken through a threading.Event."""

    def __init__(self, subscribe: Callable[[Callable[[], None]], Subscription]) -> None:
        self._ready = threading.Event()
        self._sub = subscribe(self._ready.set)

    def receive(self, timeout: float | None) -> list[Message]:
        if not self._sub.pending:
            self._ready.wait(timeout)
        self._ready.clear()
        return self._sub.drain()

    def close(self) -> None:
        self._sub.close()


class _AsyncSubscription:
    """A hub subscription woken on an asyncio loop."""

    def __init__(self, subscribe: Callable[[Callable[[], None]], Subscription]) -> None:
        loop = asyncio.get_running_loop()
        self._ready = asyncio.Event()

        def wake() -> None:
            loop.call_soon_threadsafe(self._ready.set)

        self._sub = subscribe(wake)

    async def receive(self, timeout: float | None) -> list[Message]:
        if not self._sub.pending:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._ready.wait(), timeout)
        self._ready.clear()
        return self._sub.drain()

    async def close(self) -> None:
        self._sub.close()


class _SharedManagers:
    """One started RunManager per distinct settings in a process, counted by its users.

    Re-running ``client = fj.connect()`` in a notebook must not pile up engines (each
    has its watcher threads); the engine stops when its last client is closed.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._managers: dict[str, tuple[RunManager, int]] = {}

    def acquire(self, settings: EngineSettings) -> RunManager:
        key = repr(settings)
        with self._lock:
            manager, users = self._managers.get(key, (None, 0))
            if manager is None:
                manager = RunManager(settings)
                manager.start()
            self._managers[key] = (manager, users + 1)
            return manager

    def release(self, settings: EngineSettings) -> None:
        key = repr(settings)
        with self._lock:
            manager, users = self._managers.pop(key)
            if users > 1:
                self._managers[key] = (manager, users - 1)
                return
        manager.close()


_SHARED = _SharedManagers()


class EmbeddedBackend:
    """Calls a :class:`RunManager` started in this process (shared by the clients with the
    same settings).

    Parameters
    ----------
    settings : EngineSettings, optional
        Ready settings; otherwise built from ``kwargs`` (any :class:`EngineSettings`
        field, e.g. ``runs_dir``, ``db_url``, ``max_concurrent_runs``).
    """

    mode: Mode = "embedded"

    def __init__(self, settings: EngineSettings | None = None, **kwargs: Any) -> None:
        try:
            self.settings = settings or EngineSettings.from_kwargs(**kwargs)
        except (TypeError, ValueError) as exc:
            raise errors.ValidationError(f"embedded engine: {exc}") from exc
        self.manager = _SHARED.acquire(self.settings)
        self._closed = False

    def describe(self) -> str:
        return f"runs in {self.settings.runs_dir}, database {self.settings.db_url}"

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            _SHARED.release(self.settings)

    def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with engine_errors():
            return fn(*args, **kwargs)

    # ---- templates and configs ------------------------------------------------------

    def templates(self) -> list[JSON]:
        return [
            {"name": t.name, "description": t.description} for t in self.manager.templates.list()
        ]

    def template(self, name: str) -> JSON:
        with engine_errors():
            described = self.manager.templates.describe(name)
            return {**described, "text": self.manager.templates.text(name)}

    def validate(
        self, template: str | None, overrides: Mapping[str, Any], config: str | None = None
    ) -> JSON:
        from fusion_jupyter.engine import config as ini

        with engine_errors():
            _, base = self.manager.base_config(template, config)
            return self.manager.validate(ini.merge(base, overrides)).to_dict()

    def save_template(
        self, name: str, run_id: str | None, config: str | None, description: str, replace: bool
    ) -> JSON:
        info = self._call(
            self.manager.save_template,
            name,
            run_id=run_id,
            ini=config,
            description=description,
            replace=replace,
        )
        return {"name": info.name, "description": info.description}

    # ---- runs -----------------------------------------------------------------------

    def create_run(self, spec: RunSpec) -> JSON:
        run = self._call(
            self.manager.create,
            spec.template,
            spec.overrides,
            ini=spec.config,
            name=spec.name,
            tags=spec.tags,
            executor=spec.executor,
            executor_options=spec.executor_options,
        )
        return run_to_dict(run)

    def list_runs(self, query: RunQuery, limit: int, cursor: str | None) -> JSON:
        try:
            statuses = [Status(s.upper()) for s in query.status] if query.status else None
        except ValueError as exc:
            known = ", ".join(s.value for s in Status)
            raise errors.ValidationError(f"unknown status: {exc}; known: {known}") from exc
        filters = RunFilter(statuses, query.tag, query.name, query.template, query.sweep)
        page = self._call(self.manager.list_runs, filters, limit=limit, cursor=cursor)
        return {"runs": [run_to_dict(r) for r in page.runs], "next_cursor": page.next_cursor}

    def get_run(self, run_id: str) -> JSON:
        return run_to_dict(self._call(self.manager.get, run_id))

    def cancel_run(self, run_id: str) -> JSON:
        return run_to_dict(self._call(self.manager.cancel, run_id))

    def delete_run(self, run_id: str, purge: bool) -> None:
        self._call(self.manager.delete, run_id, purge=purge)

    def rerun(self, run_id: str) -> JSON:
        return run_to_dict(self._call(self.manager.rerun, run_id))

    def events(self, run_id: str, after: int, limit: int | None) -> list[JSON]:
        return self._call(self.manager.events, run_id, after, limit)

    def logs(
        self, run_id: str, *, offset: int = 0, limit: int | None = None, tail: int | None = None
    ) -> JSON:
        if tail is not None:
            return self._call(self.manager.tail_log, run_id, tail).to_dict()
        limit = limit if limit is not None else 1 << 20
        return self._call(self.manager.read_log, run_id, offset, limit).to_dict()

    # ---- files ------------------------------------------------------------------------

    def artifacts(self, run_id: str) -> list[JSON]:
        return [a.to_dict() for a in self._call(self.manager.artifacts, run_id)]

    def read_artifact(self, run_id: str, path: str) -> bytes:
        return self._call(self.manager.artifact_path, run_id, path).read_bytes()

    def download_artifact(self, run_id: str, path: str, dest: Path) -> None:
        source = self._call(self.manager.artifact_path, run_id, path)
        partial = dest.with_name(f".{dest.name}.part")
        shutil.copyfile(source, partial)
        partial.replace(dest)

    def load_artifact(self, run_id: str, path: str) -> pd.DataFrame:
        return self._call(self.manager.load_artifact, run_id, path)

    def results(self, run_id: str) -> pd.DataFrame:
        return self._call(self.manager.results, run_id)

    # ---- sweeps -----------------------------------------------------------------------

    def create_sweep(self, spec: RunSpec, grid: Mapping[str, Sequence[Any]]) -> JSON:
        sweep, runs = self._call(
            self.manager.create_sweep,
            spec.template,
            grid,
            spec.overrides,
            ini=spec.config,
            name=spec.name,
            tags=spec.tags,
            executor=spec.executor,
            executor_options=spec.executor_options,
        )
        return {"sweep": sweep_to_dict(sweep, runs), "runs": [run_to_dict(r) for r in runs]}

    def get_sweep(self, sweep_id: str) -> JSON:
        sweep, runs = self._call(self.manager.get_sweep, sweep_id)
        return {"sweep": sweep_to_dict(sweep, runs), "runs": [run_to_dict(r) for r in runs]}

    def cancel_sweep(self, sweep_id: str) -> JSON:
        self._call(self.manager.cancel_sweep, sweep_id)
        return self.get_sweep(sweep_id)

    # ---- live -------------------------------------------------------------------------

    def _subscriber(
        self, run_id: str | None, channels: Sequence[str], after: int, log_offset: int
    ) -> Callable[[Callable[[], None]], Subscription]:
        def subscribe(notify: Callable[[], None]) -> Subscription:
            if run_id is None:
                return self.manager.hub.subscribe_status(notify=notify)
            return self._call(
                self.manager.subscribe,
                run_id,
                notify=notify,
                channels=channels,
                after=after,
                log_offset=log_offset,
            )

        return subscribe

    def stream(
        self,
        run_id: str | None,
        channels: Sequence[str] = CHANNELS,
        after: int = -1,
        log_offset: int = 0,
    ) -> _Subscription:
        return _Subscription(self._subscriber(run_id, channels, after, log_offset))

    async def astream(
        self,
        run_id: str | None,
        channels: Sequence[str] = CHANNELS,
        after: int = -1,
        log_offset: int = 0,
    ) -> _AsyncSubscription:
        return _AsyncSubscription(self._subscriber(run_id, channels, after, log_offset))
