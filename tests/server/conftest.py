"""Fixtures of the server tests: the extension's REST API, stream, client and CLI.

pytest-jupyter's fixtures and hooks are imported here, not declared with
``pytest_plugins`` in a test module: that would register them for the whole session,
and their autouse event-loop fixtures would run around the browser tests too. Imported
into this conftest they apply to tests/server only.

    jp_server_config  the extension in an in-process jupyter-server (stub simulator)
    app               that server's FusionJupyter extension
    api               ``await api(method, path, ...)`` -> (status, JSON or response)
    stub_server       (module) a real ``jupyter server`` subprocess, stub simulator
    recorder          every message a widget sends (``FusionWidget.send`` replaced)
    client            an embedded client with the stub simulator, for the widget tests
                      (test_client.py has its own, over both backends)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_jupyter.jupyter_server import *  # noqa: F403 - pytest-jupyter's fixtures and hooks
from tornado.httpclient import HTTPClientError
from traitlets.config import Config

import fusion_jupyter as fj
from fusion_jupyter.server.app import FusionJupyter
from fusion_jupyter.widgets import FusionWidget
from tests.support import stub_sim_command
from tests.support.jupyter import JupyterServer, running_server
from tests.support.server_app import Api, server_config
from tests.support.widgets import Recorder


@pytest.fixture
def jp_server_config(tmp_path: Path) -> Config:
    return server_config(tmp_path)


@pytest.fixture
def app(jp_serverapp: Any) -> FusionJupyter:
    extension = jp_serverapp.extension_manager.extension_points["fusion_jupyter"].app
    assert isinstance(extension, FusionJupyter)
    return extension


@pytest.fixture
def api(jp_fetch: Any) -> Api:
    """``await api(method, path, body=..., params=...)`` -> (status, JSON or bytes)."""

    async def call(
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        if data is None and method in ("POST", "PUT"):
            data = b""
        try:
            response = await jp_fetch(
                "fusion/api",
                path,
                method=method,
                body=data,
                params=params,
                headers=headers,
                allow_nonstandard_methods=True,
            )
        except HTTPClientError as exc:
            response = exc.response
            assert response is not None, exc
        return response.code, _decode(response)

    return call


def _decode(response: Any) -> Any:
    kind = response.headers.get("Content-Type", "")
    if kind.startswith("application/json") and response.body:
        return json.loads(response.body)
    return response


@pytest.fixture(scope="module")
def stub_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """One server for a module's remote tests (stub simulator)."""
    fusion = {"simulator_command": stub_sim_command(), "max_concurrent_runs": 4}
    with running_server(tmp_path_factory.mktemp("server"), fusion=fusion) as srv:
        yield srv


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    rec = Recorder()

    def send(self: FusionWidget, content: dict[str, Any], buffers: Any = None) -> None:
        rec.send(self, content, buffers)

    monkeypatch.setattr(FusionWidget, "send", send)
    return rec


@pytest.fixture
def client(tmp_path: Path) -> Iterator[fj.Client]:
    c = fj.connect(
        embedded=True,
        runs_dir=tmp_path / "runs",
        db_url=f"sqlite:///{tmp_path}/runs.db",
        simulator_command=stub_sim_command(),
        max_concurrent_runs=4,
        sync_interval_seconds=0.2,
        progress_flush_seconds=0.1,
        cancel_grace_seconds=2.0,
    )
    try:
        yield c
    finally:
        c.close()
