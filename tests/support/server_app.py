"""Helpers for tests of the extension in an in-process jupyter-server (pytest-jupyter's
``jp_serverapp``, whose fixtures tests/server/conftest.py provides): its config, the
``api`` caller's type, and waiting on runs through the REST API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from jupyter_server.auth import Authorizer
from traitlets.config import Config

from tests.support import async_wait_until, stub_sim_command
from tests.support.engine import FAST_ENGINE
from tests.support.jupyter import has_unauthenticated_access_option

#: ``await api(method, path, body=..., params=...)`` -> (status, JSON or response).
Api = Callable[..., Awaitable[tuple[int, Any]]]
#: Overrides of a run that waits until cancelled.
SLOW = {"stub": {"wait_for": "/nonexistent/never", "wait_timeout": 60}}


def server_config(
    tmp_path: Path, server_app: Mapping[str, Any] | None = None, **fusion: Any
) -> Config:
    """The extension enabled, runs in ``tmp_path``, the stub simulator, no anonymous access;
    ``server_app``: further ServerApp settings (an authorizer, ...)."""
    extensions = {"fusion_jupyter": True, "jupyter_server_terminals": False}
    server: dict[str, Any] = {"jpserver_extensions": extensions, **(server_app or {})}
    if has_unauthenticated_access_option():
        server["allow_unauthenticated_access"] = False
    settings = {
        "runs_dir": str(tmp_path / "runs"),
        "simulator_command": stub_sim_command(),
        **FAST_ENGINE,
        # The server here is the test process: its heap is not a server's to freeze.
        "freeze_startup_heap": False,
        **fusion,
    }
    return Config({"ServerApp": server, "FusionJupyter": settings})


class ReadOnly(Authorizer):
    """Lets anyone read fusion, nobody write it."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return not (resource == "fusion" and action == "write")


def assert_error(answer: tuple[int, Any], status: int, key: str | None = None) -> dict[str, Any]:
    """The answer is an error of ``status`` in the API's shape, naming ``key`` if given."""
    code, body = answer
    assert code == status, body
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    if key is not None:
        keys = [d.get("key") for d in body["error"]["details"]]
        assert key in keys, body
    return body["error"]


async def create(api: Api, **body: Any) -> dict[str, Any]:
    """POST runs (template minimal unless ``body`` says otherwise); the new run."""
    code, run = await api("POST", "runs", {"template": "minimal", **body})
    assert code == 201, run
    return run


async def wait_status(api: Api, run_id: str, *statuses: str, timeout: float = 30) -> dict[str, Any]:
    """The run, once GET says it is in one of ``statuses``."""

    async def reached() -> dict[str, Any] | None:
        code, run = await api("GET", f"runs/{run_id}")
        assert code == 200, run
        return run if run["status"] in statuses else None

    return await async_wait_until(reached, timeout, f"run {run_id} to be {' or '.join(statuses)}")
