"""notebooks/*.ipynb execute top to bottom, in embedded mode and under a real server.

Embedded: nbclient starts a kernel whose environment moves the engine's default data
directory (``JUPYTER_DATA_DIR``) into the test's temporary directory; the notebooks
just call ``fj.connect()``. Server: the kernel is started by a real jupyter server
(``POST api/kernels``) and nbclient drives it through its connection file, so
``fj.connect()`` inside it finds that server by the kernel's id.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

from tests.support import REPO_ROOT
from tests.support.jupyter import running_server

NOTEBOOKS = REPO_ROOT / "notebooks"
TIMEOUT = 180


class ServerKernel(AsyncKernelManager):
    """A kernel a Jupyter server started: driven through its connection file, not owned
    (``owns_kernel=False``: never signalled, restarted or shut down from here)."""

    def __init__(self, connection_file: Path) -> None:
        super().__init__(owns_kernel=False)
        self.load_connection_file(str(connection_file))

    @property
    def has_kernel(self) -> bool:
        return True


def outputs(nb: Any, kind: str) -> list[Any]:
    return [o for cell in nb.cells for o in cell.get("outputs", []) if kind in o.get("data", {})]


def check_executed(nb: Any, name: str) -> None:
    errors = [
        o for cell in nb.cells for o in cell.get("outputs", []) if o["output_type"] == "error"
    ]
    assert not errors, errors
    assert len(outputs(nb, "image/png")) == 1, f"{name}: one plot expected"
    tables = [o["data"]["text/html"] for o in outputs(nb, "text/html")]
    assert any("blocking_mean" in html and "ci_lower" in html for html in tables)
    status = [o for o in outputs(nb, "text/html") if "COMPLETED" in o["data"]["text/html"]]
    assert status, f"{name}: the run's progress view never showed COMPLETED"
    if name == "sweep.ipynb":  # the sweep and its plot are its live view
        views = [
            o for o in outputs(nb, "text/plain") if "<SweepView of sweep" in o["data"]["text/plain"]
        ]
        assert len(views) == 2, f"{name}: the sweep and sweep.plot() show as SweepViews"


def execute(name: str, tmp_path: Path, **client_options: Any) -> Any:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(
        nb, timeout=TIMEOUT, resources={"metadata": {"path": str(tmp_path)}}, **client_options
    ).execute()
    (tmp_path / name).write_text(json.dumps(nb))  # for a look when a test fails
    return nb


@pytest.mark.parametrize("name", ["quickstart.ipynb", "sweep.ipynb"])
def test_notebook_embedded(name, tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    for var in ("JUPYTERHUB_API_TOKEN", "JUPYTERHUB_SERVICE_URL", "JUPYTER_RUNTIME_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))  # no server there
    nb = execute(name, tmp_path, kernel_name="python3")
    check_executed(nb, name)
    first = nb.cells[1]["outputs"][0]["data"]["text/plain"]
    assert "embedded" in first and str(tmp_path / "data") in first
    assert (tmp_path / "data" / "fusion_jupyter" / "runs.db").exists()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("nbserver")) as srv:  # the built-in simulator
        yield srv


@pytest.mark.parametrize("name", ["quickstart.ipynb", "sweep.ipynb"])
def test_notebook_under_a_server(name, server, tmp_path):
    answer = server.session().post(server.root + "api/kernels", json={"name": "python3"})
    assert answer.status_code == 201, answer.text
    kernel_id = answer.json()["id"]
    try:
        km = ServerKernel(server.home / "runtime" / f"kernel-{kernel_id}.json")
        nb = execute(name, tmp_path, km=km)
    finally:
        server.session().delete(server.root + f"api/kernels/{kernel_id}")
    check_executed(nb, name)
    first = nb.cells[1]["outputs"][0]["data"]["text/plain"]
    assert f"remote: {server.root}" in first
    runs = server.session().get(server.url("runs")).json()["runs"]
    assert runs and all(r["status"] == "COMPLETED" for r in runs)


def test_display_then_wait_draws_the_run_once(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))  # no server there
    for var in ("JUPYTERHUB_API_TOKEN", "JUPYTERHUB_SERVICE_URL"):
        monkeypatch.delenv(var, raising=False)
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            'import fusion_jupyter as fj\nclient = fj.connect()\nrun = client.submit("minimal")'
        ),
        nbformat.v4.new_code_cell("display(run)\nrun.wait()"),
        nbformat.v4.new_code_cell("run"),
    ]
    NotebookClient(nb, timeout=TIMEOUT, kernel_name="python3").execute()
    errors = [o for c in nb.cells for o in c.outputs if o["output_type"] == "error"]
    assert not errors, errors
    shown = [
        o for o in nb.cells[1].outputs if o["output_type"] in ("display_data", "execute_result")
    ]
    assert len(shown) == 1, shown
    # In a later cell the run is drawn again, as asked.
    assert len(nb.cells[2].outputs) == 1
