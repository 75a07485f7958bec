"""The embedded backend: the engine's RunManager in this process, no server needed.

It uses the same defaults as the server extension (:mod:`fusion_jupyter.paths`: runs under
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
from fusion_jupyter.client.backend import CHANNELS, Backend, Message, Mode
from fusion_jupyter.client.config_files import configured_engine_settings
from fusion_jupyter.client.errors import engine_errors
from fusion_jupyter.engine.hub import Subscription
from fusion_jupyter.engine.manager import RunManager
from fusion_jupyter.engine.settings import EngineSettings
from fusion_jupyter.paths import default_locations
from fusion_jupyter.service import routes
from fusion_jupyter.service.api import FusionService
from fusion_jupyter.service.exchange import Reply, Request
from fusion_jupyter.service.session import StreamSession

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


class EmbeddedBackend(Backend):
    """Calls a :class:`RunManager` started in this process (shared by the clients with the
    same settings), through the same service, checks and limits as the server.

    Parameters
    ----------
    settings : EngineSettings, optional
        Ready settings; otherwise built from ``kwargs`` (any :class:`EngineSettings`
        field, e.g. ``runs_dir``, ``db_url``, ``max_concurrent_runs``).
    """

    mode: Mode = "embedded"

    def __init__(self, settings: EngineSettings | None = None, **kwargs: Any) -> None:
        try:
            # Jupyter's default places, the server's config files (c.FusionJupyter.*),
            # then what was passed.
            self.settings = settings or EngineSettings.from_kwargs(
                **{**default_locations(), **configured_engine_settings(), **kwargs}
            )
        except (TypeError, ValueError) as exc:
            raise errors.ValidationError(f"embedded engine: {exc}") from exc
        self.manager = _SHARED.acquire(self.settings)
        self.service = FusionService(self.manager)
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

    def call(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> Any:
        """One API call answered by the service in this process."""
        with engine_errors():
            return routes.dispatch(self.service, Request.make(method, path, params, body)).json

    def answer(self, request: Request) -> Reply:
        """The service's reply to a raw request (the widgets' relay)."""
        return routes.answer(self.service, request)

    def open_session(self, notify: Callable[[], None]) -> StreamSession:
        """A stream session over the engine's hub, as the server's WebSocket has."""
        with engine_errors():
            return StreamSession(self.manager, notify)

    # ---- files ------------------------------------------------------------------------

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
