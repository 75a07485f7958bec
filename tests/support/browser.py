"""Browser-test helpers: a real JupyterLab on 127.0.0.1 and Debian's chromium via Playwright.

- ``start_jupyterlab(tmp)`` starts ``jupyter lab`` in a subprocess on a free loopback
  port with a random token, the fusion_jupyter server extension enabled, and every
  Jupyter directory (config, data, runtime, settings, workspaces, runs, database)
  under ``tmp``; ``JupyterLabServer.stop()`` then ``start()`` brings it back on the
  same port, token and directories (for reconnection tests).
- ``launch_chromium(playwright)`` launches ``/usr/bin/chromium`` (Debian's package;
  Playwright never downloads a browser here) headless with the flags this machine
  needs (no background networking, no sandbox as root).
- ``screenshot(page, name)`` saves ``test-artifacts/<name>.png``.

Playwright's sync API is used from plain (non-async) tests; its module-scoped session
owns this thread's event loop (pytest-jupyter's loop fixtures apply to tests/server only).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support import REPO_ROOT, free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts"


def chromium_missing_reason() -> str | None:
    """Why browser tests cannot run here, or None when they can."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} not installed (Debian package chromium; scripts/install-test-deps.sh)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (test extra)"
    return None


def installed_build_mismatch() -> str | None:
    """Why the labextension JupyterLab loads is not the one built from this checkout, or
    None when it is."""
    from jupyter_core.paths import jupyter_path

    built = REPO_ROOT / "fusion_jupyter" / "labextension" / "package.json"
    if not built.exists():
        return "no built labextension: run `pip install -e .` (or `npm run build` in js/)"
    want = json.loads(built.read_text())["jupyterlab"]["_build"]["load"]
    for base in jupyter_path("labextensions"):
        installed = Path(base) / "fusion-jupyter" / "package.json"
        if installed.exists():
            have = json.loads(installed.read_text())["jupyterlab"]["_build"]["load"]
            if have != want:
                return (
                    f"{installed.parent} is not the build in {built.parent} ({have} != {want}): "
                    "reinstall with `pip install -e .`"
                )
            return None
    return "fusion-jupyter is not installed in any labextensions directory: `pip install .`"


@dataclass
class JupyterLabServer:
    """A ``jupyter lab`` process started by a test."""

    base: Path
    port: int
    token: str
    extra_args: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def root_dir(self) -> Path:
        return self.base / "root"

    @property
    def runs_dir(self) -> Path:
        return self.root_dir / "fusion-runs"

    def lab_url(self, path: str = "lab") -> str:
        return f"{self.url}{path}?token={self.token}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            JUPYTER_CONFIG_DIR=str(self.base / "config"),
            JUPYTER_DATA_DIR=str(self.base / "data"),
            JUPYTER_RUNTIME_DIR=str(self.base / "runtime"),
            JUPYTER_PLATFORM_DIRS="1",
            JUPYTER_TOKEN=self.token,
            PYTHONUNBUFFERED="1",
        )
        env.pop("JUPYTERHUB_SERVICE_URL", None)
        env.pop("JUPYTERHUB_API_TOKEN", None)
        return env

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            "--ServerApp.allow_root=True",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            "--ServerApp.jpserver_extensions={'fusion_jupyter': True}",
            f"--LabApp.user_settings_dir={self.base / 'settings'}",
            f"--LabApp.workspaces_dir={self.base / 'workspaces'}",
            "--LabApp.expose_app_in_browser=True",
            f"--FusionJupyter.runs_dir={self.runs_dir}",
            f"--FusionJupyter.db_url=sqlite:///{self.base / 'fusion.db'}",
            *self.extra_args,
        ]

    def start(self, timeout: float = 90.0) -> None:
        for sub in ("root", "config", "data", "runtime", "settings", "workspaces"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        self.starts += 1
        self.log_path = self.base / f"jupyterlab-{self.starts}.log"
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            self.command(),
            cwd=self.root_dir,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"jupyter lab exited ({self.proc.returncode}):\n{self.log_tail()}"
                )
            try:
                if self.request("GET", "fusion/api/health/live", auth=False)[0] == 200 and (
                    self.request("GET", "lab")[0] == 200
                ):
                    return
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"jupyter lab did not answer in {timeout}s:\n{self.log_tail()}")
            time.sleep(0.1)

    def stop(self, timeout: float = 20.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(
            signal.SIGINT
        )  # jupyter's own clean shutdown (asks to confirm on a tty only)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def request(
        self, method: str, path: str, body: Any = None, *, auth: bool = True, timeout: float = 10.0
    ) -> tuple[int, Any]:
        """One HTTP call to the server (token auth); returns (status, parsed JSON or text)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if auth:
            req.add_header("Authorization", f"token {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:  # loopback only
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        text = raw.decode(errors="replace")
        try:
            return status, json.loads(text) if text else None
        except json.JSONDecodeError:
            return status, text

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """A fusion API call that must succeed; returns the JSON answer."""
        status, answer = self.request(method, "fusion/api/" + path, body)
        if status >= 400:
            raise AssertionError(f"{method} {path} -> {status}: {answer}")
        return answer


def start_jupyterlab(base: Path, extra_args: list[str] | None = None) -> JupyterLabServer:
    """Start JupyterLab with the extension under ``base`` (see the module docstring)."""
    server = JupyterLabServer(base=base, port=free_port(), token=secrets.token_hex(16))
    server.extra_args = list(extra_args or [])
    write_lab_settings(base / "settings")
    server.start()
    return server


def write_lab_settings(settings_dir: Path) -> None:
    """User settings that keep JupyterLab quiet in tests (no news or update checks)."""
    target = (
        settings_dir / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))


def launch_chromium(playwright: Any, **kwargs: Any) -> Any:
    """Debian's chromium, headless, through Playwright (never a downloaded browser)."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, **kwargs
    )


def new_page(browser: Any, width: int = 1400, height: int = 900) -> Any:
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(30_000)
    return context.new_page()


def open_lab(page: Any, server: JupyterLabServer, path: str = "lab") -> None:
    """Load JupyterLab and wait until its shell is up and the splash gone."""
    page.goto(server.lab_url(path))
    page.wait_for_selector("#jp-main-dock-panel", state="visible", timeout=60_000)
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60_000)


def screenshot(page: Any, name: str, *, target: Any = None, copy_to: Path | None = None) -> Path:
    """Save ``test-artifacts/<name>.png`` (of ``target`` if given); optionally copy it."""
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS_DIR / f"{name}.png"
    (target or page).screenshot(path=str(path))
    if copy_to is not None:
        copy_to.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy_to)
    return path


def wait_for_left_panel_saved(
    server: JupyterLabServer, panel_id: str, timeout: float = 20.0
) -> None:
    """Wait until JupyterLab has saved a layout whose open left panel is ``panel_id``
    (it saves the workspace a moment after the layout changes; a reload before that
    restores the older layout)."""
    deadline = time.monotonic() + timeout
    while True:
        status, ws = server.request("GET", "lab/api/workspaces/default")
        left = (ws or {}).get("data", {}).get("layout-restorer:data", {}).get("left", {})
        if status == 200 and left.get("current") == panel_id and not left.get("collapsed"):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"layout with {panel_id} open not saved in {timeout}s: {left}")
        time.sleep(0.1)


@contextmanager
def running_lab(base: Path, extra_args: list[str] | None = None) -> Iterator[JupyterLabServer]:
    """A JupyterLab for a browser test module, stopped at the end."""
    server = start_jupyterlab(base, extra_args)
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def lab_page(server: JupyterLabServer, width: int = 1400, height: int = 900) -> Iterator[Any]:
    """A chromium page with JupyterLab loaded; fails at the end if the page raised an error
    of this extension."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            page = new_page(browser, width, height)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.errors = errors  # for tests that look at them on the way
            open_lab(page, server)
            yield page
            assert not [e for e in errors if "fusion" in e.lower()], errors
        finally:
            browser.close()


def busy_until(name: str, why: str, bound: float = 120.0) -> str:
    """A notebook cell that keeps the kernel busy until the test creates the file ``name``
    in the notebook's directory (at most ``bound`` seconds): busy exactly as long as the
    test looks at what must move while the kernel is busy, and no longer."""
    return (
        "import os, time\n"
        f"deadline = time.monotonic() + {bound}\n"
        f"while not os.path.exists({name!r}) and time.monotonic() < deadline:\n"
        f"    time.sleep(0.05)  # {name}: {why}"
    )
