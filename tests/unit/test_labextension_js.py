"""The front-end's own checks, run from pytest so CI runs them: the TypeScript type
check and the vitest suite of the shared data layer (js/test/), plus the shape of the
built labextension that `pip install .` ships."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.support import REPO_ROOT

JS = REPO_ROOT / "js"
NPM = shutil.which("npm")


def npm(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    if NPM is None:
        pytest.fail("npm is not installed (Debian's nodejs package carries it)")
    return subprocess.run(
        [NPM, *args], cwd=JS, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def node_modules() -> None:
    """The build hook of `pip install` ran `npm ci`; otherwise do it here."""
    if not (JS / "node_modules" / ".package-lock.json").exists():
        result = npm("ci", "--no-audit", "--no-fund", timeout=600)
        assert result.returncode == 0, result.stdout + result.stderr


def test_typescript_type_checks(node_modules: None) -> None:
    result = npm("run", "typecheck")
    assert result.returncode == 0, result.stdout + result.stderr


def test_vitest_data_layer(node_modules: None) -> None:
    result = npm("test", "--", "--reporter=dot")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert " passed" in output and " failed" not in output, output


def test_built_labextension_has_what_jupyterlab_loads() -> None:
    out = REPO_ROOT / "fusion_jupyter" / "labextension"
    meta = json.loads((out / "package.json").read_text())
    assert meta["name"] == "fusion-jupyter"
    build = meta["jupyterlab"]["_build"]
    assert (out / build["load"]).is_file()
    assert build["load"].startswith("static/remoteEntry.")
    assert build["extension"] and build["style"]
    assert (out / "static" / "style.js").is_file()
    schema = json.loads((out / "schemas" / "fusion-jupyter" / "plugin.json").read_text())
    assert schema["properties"]["maxFinishedRuns"]["default"] == 1000
    install = json.loads((REPO_ROOT / "install.json").read_text())
    assert install["packageName"] == "fusion_jupyter"
