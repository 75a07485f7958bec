"""schemathesis and an abuse suite against a live server: no 5xx, every answer as the
OpenAPI document says.

Bounded: a fixed number of examples per operation and a fixed seed, so the run takes
seconds and is reproducible; only the fuzzing phase (schemathesis' coverage phase
trips over Hypothesis internals on this Python, which is not the server's doing).
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
import websocket
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import FUSION_STANDIN
from tests.support.jupyter import JupyterServer, running_server, ws_frames

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)
MAX_EXAMPLES = 30
ABUSE_EXAMPLES = 150


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    # "simulator": "fusion" must be creatable here: with no FUSION the API rightly answers
    # 503 (tested in test_fusion), which the fuzzer counts as a server error. The stand-in
    # (not the real FUSION: the fuzzer creates runs by the hundred) plays FUSION's part.
    fusion = {"fusion_command": shlex.join([sys.executable, str(FUSION_STANDIN)])}
    home = tmp_path_factory.mktemp("schema") / "home"
    with running_server(home, base_url="/st/", fusion=fusion) as s:
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
            # One worker: hypothesis parses lambdas' source with ast.parse, and CPython
            # 3.11 before 3.11.8 can raise a spurious "AST constructor recursion depth
            # mismatch" SystemError when threads parse at once (python/cpython#106905).
            "--workers",
            "1",
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


# --------------------------------------------------------------------------- abuse
#
# What schemathesis does not try: strings no file system or database can hold (lone
# surrogates, names over 255 bytes), numbers that overflow, nesting, odd path
# segments and query values, and WebSocket messages. Hypothesis, bounded and
# derandomized; every answer must be a 4xx or a success, never a 5xx.

FIELDS = ["template", "overrides", "name", "tags", "executor", "executor_options", "grid"]
ABUSE = settings(
    max_examples=ABUSE_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)

# Every character, lone surrogates included (st.characters leaves them out by default).
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40) | st.sampled_from(
    ["\ud800", "a\udfffb", "n" * 300, "é" * 200, "../../etc/passwd", "%s", "{run_id}", ""]
)
numbers = (
    st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([10**400, -(10**400), 1e308, 1e-320, 5e-324, 2**63, -(2**63) - 1])
)
scalars = st.none() | st.booleans() | numbers | any_text
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)


@st.composite
def run_bodies(draw: st.DrawFn) -> dict[str, Any]:
    body: dict[str, Any] = {"template": draw(st.sampled_from(["minimal", "default"]) | any_text)}
    for key in draw(st.lists(st.sampled_from(FIELDS), max_size=4, unique=True)):
        body[key] = draw(json_values)
    if draw(st.booleans()):
        section = draw(st.sampled_from(["general_settings", "topology_settings", "s"]) | any_text)
        body["overrides"] = {section: draw(st.dictionaries(any_text, json_values, max_size=3))}
    return body


def _no_server_error(answer: requests.Response, what: str) -> None:
    assert answer.status_code < 500, f"{what}: {answer.status_code} {answer.text[:500]}"
    if answer.status_code >= 400:
        assert set(answer.json()) == {"error"}, answer.text[:500]


def test_abusive_bodies_never_get_a_server_error(server: JupyterServer) -> None:
    http = server.session()

    @ABUSE
    @given(body=run_bodies(), path=st.sampled_from(["runs", "sweeps", "configs/validate"]))
    def check(body: dict[str, Any], path: str) -> None:
        raw = json.dumps(body, ensure_ascii=True, allow_nan=False)  # \ud800 as an escape
        headers = {"Content-Type": "application/json"}
        _no_server_error(http.post(server.url(path), data=raw, headers=headers), f"POST {path}")

    check()
    assert http.get(server.url("health/ready")).status_code == 200


def test_abusive_paths_and_queries_never_get_a_server_error(server: JupyterServer) -> None:
    http = server.session()
    run_id = http.post(server.url("runs"), json={"template": "minimal"}).json()["id"]
    routes = [
        "runs/{x}",
        "runs/{x}/progress",
        "runs/{x}/logs",
        "runs/{x}/artifacts",
        "runs/{x}/results",
        "templates/{x}",
        "sweeps/{x}",
        f"runs/{run_id}/artifacts/{{x}}",
        f"runs/{run_id}/artifacts/output/{{x}}",
    ]
    params = ["limit", "offset", "tail", "after", "status", "cursor", "format", "tag", "purge"]

    @ABUSE
    @given(
        route=st.sampled_from(routes),
        segment=any_text.filter(lambda t: t.strip("./") != ""),
        query=st.dictionaries(st.sampled_from(params), any_text | numbers.map(str), max_size=3),
    )
    def check(route: str, segment: str, query: dict[str, str]) -> None:
        quoted = quote(segment.encode("utf-8", "surrogatepass"), safe="")
        url = server.url(route.replace("{x}", quoted))
        clean = {k: v.encode("utf-8", "surrogatepass") for k, v in query.items()}
        _no_server_error(http.get(url, params=clean), f"GET {url}")

    check()
    assert http.get(server.url(f"runs/{run_id}")).status_code == 200


def test_abusive_websocket_messages_get_an_error_and_a_live_socket(server: JupyterServer) -> None:
    ws = websocket.create_connection(
        server.ws_url(token=server.token), timeout=10, origin=server.root.rstrip("/")
    )
    try:

        @ABUSE
        @given(
            message=st.fixed_dictionaries(
                {"op": st.sampled_from(["subscribe", "unsubscribe", "ping"]) | any_text},
                optional={
                    "run_id": json_values,
                    "after": numbers,
                    "log_offset": numbers,
                    "channels": json_values,
                },
            )
        )
        def check(message: dict[str, Any]) -> None:
            ws.send(json.dumps(message, ensure_ascii=True, allow_nan=False))
            ws.send(json.dumps({"op": "ping"}))
            got = ws_frames(ws, lambda m: m.get("type") == "pong", timeout=10)
            for reply in got:
                if reply.get("type") == "error":
                    assert not reply["error"]["code"].startswith("internal"), reply

        check()
    finally:
        ws.close()
