"""End to end against a real ``jupyter server`` process (tests/support/jupyter.py).

The built-in simulator over HTTP and the WebSocket, token and cookie+XSRF
authentication, refusals without auth and across origins, and a server killed with
SIGKILL mid-run whose run is re-attached and completes over a resumed WebSocket.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import websocket

from tests.support import stub_sim_command, wait_until
from tests.support.jupyter import JupyterServer, running_server, ws_frames

Message = dict[str, Any]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """One server with the default (built-in) simulator, behind a non-root base_url."""
    with running_server(tmp_path_factory.mktemp("e2e") / "home", base_url="/lab/x/") as s:
        yield s


def completed(run_id: str) -> Any:
    return lambda m: (
        m["type"] == "status" and m["run_id"] == run_id and m["run"]["status"] == "COMPLETED"
    )


def subscribe(ws: Any, run_id: str, **options: Any) -> None:
    ws.send(json.dumps({"op": "subscribe", "run_id": run_id, **options}))


def contiguous_log(messages: list[Message], run_id: str, start: int) -> tuple[str, int]:
    offset, parts = start, []
    for message in messages:
        if message["type"] == "log" and message["run_id"] == run_id:
            assert message["offset"] == offset, (message["offset"], offset)
            offset = message["next_offset"]
            parts.append(message["data"])
    return "".join(parts), offset


def read_log_to(ws: Any, run_id: str, messages: list[Message], start: int, size: int) -> str:
    """Keep reading until the log messages reach ``size`` bytes; the text from ``start``."""
    text, end = contiguous_log(messages, run_id, start)
    while end < size:
        messages += ws_frames(ws, lambda m: m["type"] == "log" and m["run_id"] == run_id)
        text, end = contiguous_log(messages, run_id, start)
    return text


def test_builtin_run_over_http_and_websocket(server: JupyterServer) -> None:
    http = server.session()
    ws = websocket.create_connection(server.ws_url(), header=server.headers, timeout=30)
    run = http.post(server.url("runs"), json={"template": "minimal", "name": "e2e"}).json()
    subscribe(ws, run["id"])
    got = ws_frames(ws, completed(run["id"]), timeout=120)
    progress = [m for m in got if m["type"] == "progress" and m["run_id"] == run["id"]]
    assert [m["seq"] for m in progress] == list(range(len(progress)))
    assert progress[0]["event"]["type"] == "start"
    assert progress[-1]["event"]["type"] == "complete"
    log_path = Path(run["run_dir"], "logs", "sim.log")
    assert read_log_to(ws, run["id"], got, 0, log_path.stat().st_size) == log_path.read_text()
    ws.close()

    listing = http.get(server.url(f"runs/{run['id']}/artifacts")).json()["artifacts"]
    outputs = [a["path"] for a in listing if a["path"].startswith("output/")]
    name = next(p for p in outputs if p.endswith(".json"))
    whole = http.get(server.url(f"runs/{run['id']}/artifacts/{name}"))
    assert whole.status_code == 200 and whole.headers["Content-Type"] == "application/json"
    part = http.get(server.url(f"runs/{run['id']}/artifacts/{name}"), headers={"Range": "bytes=1-"})
    assert part.status_code == 206 and part.content == whole.content[1:]

    table = http.get(server.url(f"runs/{run['id']}/results"), params={"format": "csv"})
    assert table.status_code == 200 and table.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert [float(r["erlang"]) for r in rows] == [300.0, 400.0, 500.0]
    assert all(r["blocking_mean"] != "" for r in rows)


@pytest.mark.parametrize(
    "path", ["..%2F..%2F..%2Fetc%2Fpasswd", "%2e%2e/%2e%2e/x", "output%00x", "%2Fetc%2Fpasswd"]
)
def test_artifact_traversal_is_403(server: JupyterServer, path: str) -> None:
    http = server.session()
    run = http.post(server.url("runs"), json={"template": "minimal"}).json()
    answer = http.get(server.url(f"runs/{run['id']}/artifacts/{path}"))
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"]["code"] == "forbidden"


def test_refused_without_auth(server: JupyterServer) -> None:
    assert requests.get(server.url("health/live")).json() == {"status": "ok"}
    for method, path in [("GET", "runs"), ("POST", "runs"), ("GET", "templates")]:
        answer = requests.request(method, server.url(path), json={}, allow_redirects=False)
        assert answer.status_code in (401, 403), (method, path, answer.status_code)
        assert "error" in answer.json()
    with pytest.raises(websocket.WebSocketBadStatusException) as caught:
        websocket.create_connection(server.ws_url(), timeout=10)
    assert caught.value.status_code == 403


def cookie_session(server: JupyterServer) -> requests.Session:
    """Logged in the browser way: the login form with the token, then cookies only."""
    http = requests.Session()
    http.get(server.root + "login")
    xsrf = http.cookies["_xsrf"]
    answer = http.post(
        server.root + "login",
        data={"password": server.token, "_xsrf": xsrf},
        allow_redirects=False,
    )
    assert answer.status_code == 302, answer.text
    return http


def test_cookie_and_xsrf(server: JupyterServer) -> None:
    http = cookie_session(server)
    assert http.get(server.url("runs")).status_code == 200
    body = {"template": "minimal"}
    refused = http.post(server.url("runs"), json=body)
    assert refused.status_code == 403 and "error" in refused.json()
    xsrf = {"X-XSRFToken": http.cookies["_xsrf"]}
    created = http.post(server.url("runs"), json=body, headers=xsrf)
    assert created.status_code == 201
    run_id = created.json()["id"]
    wait_until(lambda: http.get(server.url(f"runs/{run_id}")).json()["status"] == "COMPLETED", 60)
    assert http.delete(server.url(f"runs/{run_id}")).status_code == 403
    assert http.delete(server.url(f"runs/{run_id}"), headers=xsrf).status_code == 204


def test_cross_origin_websocket_refused(server: JupyterServer) -> None:
    http = cookie_session(server)
    cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
    with pytest.raises(websocket.WebSocketBadStatusException) as caught:
        websocket.create_connection(
            server.ws_url(), cookie=cookie, origin="http://evil.example", timeout=10
        )
    assert caught.value.status_code == 403
    same = websocket.create_connection(
        server.ws_url(), cookie=cookie, origin=f"http://127.0.0.1:{server.port}", timeout=10
    )
    same.send(json.dumps({"op": "ping"}))
    assert ws_frames(same, lambda m: m["type"] == "pong")[-1] == {"type": "pong"}
    same.close()


def test_extension_listed_and_help(tmp_path: Path) -> None:
    listing = subprocess.run(
        [sys.executable, "-m", "jupyter_server", "extension", "list"],
        capture_output=True,
        text=True,
        check=True,
    )
    text = listing.stdout + listing.stderr
    assert "fusion_jupyter" in text and "enabled" in text
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent))
    assert jupyter is not None
    for command in ([jupyter, "fusion"], [sys.executable, "-m", "fusion_jupyter.server"]):
        help_all = subprocess.run(
            [*command, "--help-all"], capture_output=True, text=True, check=True
        ).stdout
        for trait in ("max_concurrent_runs", "runs_dir", "on_shutdown", "max_body_bytes"):
            assert f"--FusionJupyter.{trait}=" in help_all, command


def test_sigkill_mid_run_reattach_and_resume(tmp_path: Path) -> None:
    """The server dies mid-run; the next one re-attaches, and the socket resumes exactly."""
    gate = tmp_path / "gate"
    fusion = {"simulator_command": stub_sim_command("--delay", "0.02"), "max_concurrent_runs": 1}
    with running_server(tmp_path / "home", fusion=fusion) as server:
        http = server.session()
        slow = {"stub": {"wait_for": str(gate), "stdout_lines": 5, "wait_timeout": 120}}
        run = http.post(server.url("runs"), json={"template": "minimal", "overrides": slow}).json()
        queued = http.post(server.url("runs"), json={"template": "minimal"}).json()
        ws = websocket.create_connection(server.ws_url(), header=server.headers, timeout=30)
        subscribe(ws, run["id"])
        before = ws_frames(ws, lambda m: m["type"] == "progress" and m["run_id"] == run["id"])
        if not any(m["type"] == "log" for m in before):
            before += ws_frames(ws, lambda m: m["type"] == "log" and m["run_id"] == run["id"])
        seen = [m["seq"] for m in before if m["type"] == "progress"]
        _, offset = contiguous_log(before, run["id"], 0)
        # c.FusionJupyter.max_concurrent_runs = 1 in the config file holds the second run.
        assert http.get(server.url(f"runs/{queued['id']}")).json()["status"] == "PENDING"

        server.kill()
        ws.close()
        server.start()
        assert http.get(server.url(f"runs/{run['id']}")).json()["status"] == "RUNNING"
        ws = websocket.create_connection(server.ws_url(), header=server.headers, timeout=30)
        subscribe(ws, run["id"], after=seen[-1], log_offset=offset)
        gate.touch()
        after = ws_frames(ws, completed(run["id"]), timeout=120)
        seqs = [m["seq"] for m in after if m["type"] == "progress" and m["run_id"] == run["id"]]
        assert seen == list(range(len(seen)))
        assert seqs == list(range(seen[-1] + 1, seen[-1] + 1 + len(seqs)))
        last = [m for m in after if m["type"] == "progress"][-1]
        assert last["event"]["type"] == "complete"
        log_path = Path(run["run_dir"], "logs", "sim.log")
        head, _ = contiguous_log(before, run["id"], 0)
        tail = read_log_to(ws, run["id"], after, offset, log_path.stat().st_size)
        assert head + tail == log_path.read_text()
        ws.close()
        final = http.get(server.url(f"runs/{run['id']}")).json()
        assert final["status"] == "COMPLETED" and final["exit_code"] == 0
        wait_until(
            lambda: http.get(server.url(f"runs/{queued['id']}")).json()["status"] == "COMPLETED",
            60,
        )
