"""schemathesis against a live server: no 5xx, every answer as the OpenAPI document says.

Bounded: a fixed number of examples per operation and a fixed seed, so the run takes
seconds and is reproducible; only the fuzzing phase (schemathesis' coverage phase
trips over Hypothesis internals on this Python, which is not the server's doing).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.jupyter import JupyterServer, running_server

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)
MAX_EXAMPLES = 30


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    with running_server(tmp_path_factory.mktemp("schema") / "home", base_url="/st/") as s:
        yield s


def test_schemathesis_finds_nothing(server: JupyterServer) -> None:
    cli = shutil.which("st") or shutil.which("schemathesis")
    command = [cli] if cli else [sys.executable, "-m", "schemathesis.cli"]
    run_id = server.session().post(server.url("runs"), json={"template": "minimal"}).json()["id"]
    har = server.home / "schemathesis.har"
    result = subprocess.run(
        [
            *command,
            "run",
            server.url("openapi.json"),
            "--url",
            server.url("").rstrip("/"),
            "--header",
            f"Authorization: token {server.token}",
            "--checks",
            CHECKS,
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            "20240601",
            "--phases",
            "examples,fuzzing",
            "--workers",
            "4",
            "--report",
            "har",
            "--report-har-path",
            str(har),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=server.home,
        check=False,
    )
    summary = result.stdout[-4000:] + result.stderr[-2000:]
    assert result.returncode == 0, summary
    assert "passed" in result.stdout, summary
    # The server is still healthy and the run created before is intact, unless the
    # fuzzer deleted it on purpose (it reuses ids from earlier answers): then the
    # DELETE it sent was answered 204.
    http = server.session()
    answer = http.get(server.url(f"runs/{run_id}"))
    if answer.status_code == 404:
        assert deleted_by_request(har, run_id), "the run vanished without a DELETE"
    else:
        assert answer.status_code == 200 and answer.json()["template"] == "minimal"
    # Every run still listed reads back whole.
    for run in http.get(server.url("runs"), params={"limit": 500}).json()["runs"]:
        assert http.get(server.url(f"runs/{run['id']}")).status_code == 200, run["id"]
    assert Path(server.log_path).exists()


def deleted_by_request(har: Path, run_id: str) -> bool:
    """Whether the fuzzer's HAR log has a DELETE of ``run_id`` answered 204."""
    entries = json.loads(har.read_text())["log"]["entries"]
    return any(
        e["request"]["method"] == "DELETE"
        and e["request"]["url"].split("?")[0].endswith(f"/runs/{run_id}")
        and e["response"]["status"] == 204
        for e in entries
    )
