"""A real ``jupyter server`` subprocess with the extension, for end-to-end tests.

It runs on 127.0.0.1 on a free port with a token, with only this extension enabled
(``JUPYTER_NO_CONFIG``: no user or system config, so other installed extensions do
not slow it down), configured through a ``jupyter_server_config.py`` written with
``c.FusionJupyter.<trait> = ...`` lines, the way a user would configure it.
Unauthenticated access is refused when the installed jupyter_server has the option.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from jupyter_server.serverapp import ServerApp

from tests.support import free_port
from tests.support.engine import FAST_ENGINE


def has_unauthenticated_access_option() -> bool:
    """Whether this jupyter_server has ``ServerApp.allow_unauthenticated_access`` (2.13+)."""
    return "allow_unauthenticated_access" in ServerApp.class_trait_names()


def write_config(path: Path, sections: Mapping[str, Mapping[str, Any]]) -> Path:
    """A ``jupyter_server_config.py`` setting ``c.<Class>.<trait> = <value>``."""
    lines = ["c = get_config()  # noqa"]
    for cls, values in sections.items():
        lines += [f"c.{cls}.{name} = {value!r}" for name, value in values.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass
class JupyterServer:
    """One running server; ``url("runs")`` is ``http://127.0.0.1:PORT{base}fusion/api/runs``."""

    home: Path
    port: int
    token: str
    base_url: str
    fusion: dict[str, Any]
    server: dict[str, Any] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def runs_dir(self) -> Path:
        """Where the runs live."""
        return Path(self.fusion["runs_dir"])

    @property
    def log_path(self) -> Path:
        """The server's stdout and stderr."""
        return self.home / "server.log"

    @property
    def root(self) -> str:
        """``http://127.0.0.1:PORT{base_url}``."""
        return f"http://127.0.0.1:{self.port}{self.base_url}"

    def url(self, path: str = "") -> str:
        """An API URL."""
        return f"{self.root}fusion/api/{path}"

    def ws_url(self, **params: str) -> str:
        """The stream WebSocket URL (with query parameters, e.g. ``token``)."""
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return f"ws://127.0.0.1:{self.port}{self.base_url}fusion/api/stream" + (
            f"?{query}" if query else ""
        )

    @property
    def headers(self) -> dict[str, str]:
        """Token authentication."""
        return {"Authorization": f"token {self.token}"}

    def session(self) -> requests.Session:
        """A requests session authenticating with the token."""
        session = requests.Session()
        session.headers.update(self.headers)
        return session

    def start(self, timeout: float = 60.0) -> JupyterServer:
        """Start (or restart) the process and wait until ``health/live`` answers."""
        config = {
            "ServerApp": {
                "jpserver_extensions": {"fusion_jupyter": True},
                "port": self.port,
                "port_retries": 0,  # a taken port fails the start, not a wait elsewhere
                "ip": "127.0.0.1",
                "base_url": self.base_url,
                "open_browser": False,
                "root_dir": str(self.home),
                "allow_root": True,
                **self.server,
            },
            "IdentityProvider": {"token": self.token},
            "FusionJupyter": self.fusion,
        }
        if has_unauthenticated_access_option():
            config["ServerApp"].setdefault("allow_unauthenticated_access", False)
        path = write_config(self.home / "jupyter_server_config.py", config)
        env = {
            **os.environ,
            "JUPYTER_NO_CONFIG": "1",
            "JUPYTER_DATA_DIR": str(self.home / "data"),
            "JUPYTER_RUNTIME_DIR": str(self.home / "runtime"),
            "PYTHONUNBUFFERED": "1",
        }
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "jupyter_server", f"--config={path}"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.home,
                start_new_session=True,
            )
        self._wait_live(timeout)
        return self

    def _wait_live(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter server exited:\n{self.log_tail()}")
            with contextlib.suppress(requests.RequestException):
                answer = requests.get(self.url("health/live"), timeout=1, allow_redirects=False)
                if answer.status_code == 200 and answer.json() == {"status": "ok"}:
                    return
            time.sleep(0.05)
        raise TimeoutError(f"jupyter server did not answer in {timeout}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 60) -> str:
        """The end of the server log, for failure messages."""
        with contextlib.suppress(FileNotFoundError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def kill(self) -> None:
        """SIGKILL the server alone (not the runs it started: they have their own sessions)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the server as Ctrl-C would (SIGTERM), killing it if it hangs."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()


@contextlib.contextmanager
def running_server(
    home: Path,
    *,
    base_url: str = "/",
    fusion: Mapping[str, Any] | None = None,
    server: Mapping[str, Any] | None = None,
) -> Iterator[JupyterServer]:
    """A started server in ``home`` (runs in ``home/runs``), stopped on exit."""
    home.mkdir(parents=True, exist_ok=True)
    settings = {"runs_dir": str(home / "runs"), **FAST_ENGINE, **(fusion or {})}
    instance = JupyterServer(
        home=home,
        port=free_port(),
        token=secrets.token_hex(16),
        base_url=base_url,
        fusion=settings,
        server=dict(server or {}),
    )
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


def ws_frames(ws: Any, until: Any, timeout: float = 60.0) -> list[dict[str, Any]]:
    """Messages of whole frames from a websocket-client socket, up to the frame in which
    ``until(message)`` is true for some message (the rest of that frame included)."""
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ws.settimeout(max(0.1, deadline - time.monotonic()))
        frame = json.loads(ws.recv())
        assert isinstance(frame, list), frame
        messages += frame
        if any(until(message) for message in frame):
            return messages
    raise TimeoutError(f"condition not met; got {len(messages)} messages: {messages[-5:]}")
