"""Remote mode only: finding and authenticating to a server, and the HTTP layer.

The shared API tests of tests/server/test_client.py already run against a real server; here:
which server ``connect()`` picks (two servers running, a kernel of one of them), what
a wrong or missing token and an unreachable address give, JupyterHub's environment,
and the mapping of every error answer of the REST contract to a typed exception
(with ``httpx.MockTransport``, so odd answers no real server gives are covered too).
"""

from __future__ import annotations

import json
import textwrap
import threading
import time
from pathlib import Path

import httpx
import pytest
from jupyter_client import BlockingKernelClient

import fusion_jupyter as fj
from fusion_jupyter.client import Client, connect, errors
from fusion_jupyter.client import watch as watch_module
from fusion_jupyter.client.backend import RunQuery
from fusion_jupyter.client.connect import server_of_kernel
from fusion_jupyter.client.remote import RemoteBackend, normalize_url, websocket_url
from tests.support import stub_sim_command, wait_until
from tests.support.jupyter import free_port, running_server

STUB = {"simulator_command": stub_sim_command()}


# --------------------------------------------------------------------------- real servers


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("one"), fusion=STUB) as srv:
        yield srv


def test_wrong_token_is_a_clear_error(server):
    with pytest.raises(fj.AuthError) as info:
        connect(server.root, "not-the-token")
    message = str(info.value)
    assert server.root in message and "token" in message and info.value.status == 403


def test_missing_token_is_a_clear_error(server, monkeypatch):
    monkeypatch.delenv("JUPYTER_TOKEN", raising=False)
    with pytest.raises(fj.AuthError, match="token"):
        connect(server.root, "")


def test_token_taken_from_a_running_server(server, monkeypatch):
    # Given only the URL, the token comes from the server's runtime file.
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(server.home / "runtime"))
    with connect(server.root) as client:
        assert client.mode == "remote" and client.templates()


def test_unreachable_server():
    with pytest.raises(fj.client.ConnectionError, match="cannot reach"):
        connect(f"http://127.0.0.1:{free_port()}/", "token", timeout=2)


def test_jupyterhub_environment(server, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", server.token)
    monkeypatch.setenv("JUPYTERHUB_SERVICE_URL", server.root)
    with connect() as client:
        assert client.mode == "remote" and client.location == server.root
    with connect(embedded=True, runs_dir=server.home / "other") as client:
        assert client.mode == "embedded"
    with pytest.raises(TypeError, match="embedded engine only"):
        connect(runs_dir=server.home / "other")


def test_runs_show_up_in_both_modes(server):
    # The embedded engine on the server's runs dir and database sees the server's runs.
    with connect(server.root, server.token) as remote:
        run = remote.submit("minimal", name="seen by both").wait(progress=False)
    db_url = f"sqlite:///{server.runs_dir.parent / 'runs.db'}"
    with connect(embedded=True, runs_dir=server.runs_dir, db_url=db_url, **STUB) as local:
        assert local.run(run.id).name == "seen by both"
        created = local.submit("minimal", name="made locally")
    with connect(server.root, server.token) as remote:
        assert remote.run(created.id).name == "made locally"


def _run_in_kernel(runtime: Path, kernel_id: str, code: str) -> str:
    """Execute ``code`` in a server-started kernel; its stdout."""
    client = BlockingKernelClient()
    client.load_connection_file(str(runtime / f"kernel-{kernel_id}.json"))
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        out: list[str] = []

        def keep(msg):
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                out.append("\n".join(msg["content"]["traceback"]))

        reply = client.execute_interactive(code, timeout=120, output_hook=keep)
        assert reply["content"]["status"] == "ok", "".join(out)
        return "".join(out)
    finally:
        client.stop_channels()


def test_discovery_picks_the_server_that_owns_the_kernel(tmp_path):
    # Two servers of one user share the runtime dir (both are listed by
    # list_running_servers()); a kernel of the second must connect to the second.
    home = tmp_path / "home"
    with running_server(home, fusion=STUB) as first, running_server(home, fusion=STUB) as second:
        servers = [{"url": s.root, "token": s.token} for s in (first, second)]
        for owner in (second, first):
            answer = owner.session().post(owner.root + "api/kernels", json={"name": "python3"})
            assert answer.status_code == 201, answer.text
            kernel_id = answer.json()["id"]
            assert server_of_kernel(kernel_id, servers) == {"url": owner.root, "token": owner.token}
            code = textwrap.dedent(
                """
                import fusion_jupyter as fj
                client = fj.connect()
                print(client.mode, client.location)
                print(client.submit("minimal", name="from a kernel").wait(progress=False).status)
                """
            )
            printed = _run_in_kernel(home / "runtime", kernel_id, code)
            assert f"remote {owner.root}" in printed and "COMPLETED" in printed
            owner.session().delete(owner.root + f"api/kernels/{kernel_id}")
        assert server_of_kernel("0" * 8, servers) is None


def test_waits_survive_a_server_restart(tmp_path):
    # Runs outlive their server (on_shutdown="detach"), and so do waits on them: the
    # stream is re-opened and the state re-read once the server is back.
    with (
        running_server(tmp_path / "restart", fusion=STUB) as srv,
        connect(srv.root, srv.token) as client,
    ):
        slow = {"stub": {"delay": 0.5}, "general_settings.max_iters": 2}
        run = client.submit("minimal", slow)
        done: dict[str, object] = {}

        def wait() -> None:
            done["run"] = run.wait(timeout=90, progress=False)
            done["log"] = "".join(client.run(run.id).follow_logs(timeout=90))

        waiter = threading.Thread(target=wait)
        waiter.start()
        wait_until(lambda: client.run(run.id).status == "RUNNING", 60, "the run to start")
        srv.stop()
        # The scenario: the server stays away a moment while the waits keep retrying.
        time.sleep(0.5)
        srv.start()
        waiter.join(120)
        assert not waiter.is_alive()
        assert run.status == "COMPLETED" and done["run"] is run
        assert done["log"] == run.logs()


class NeverConnects:
    done = False

    def feed(self, messages):
        pass

    def refresh(self):
        pass

    def stale(self):
        return False


def test_a_stream_that_never_comes_back(monkeypatch):
    monkeypatch.setattr(watch_module, "RECONNECT_FIRST_PAUSE", 0.001)
    attempts = []

    def open_stream():
        attempts.append(1)
        raise errors.ConnectionError("refused")

    with pytest.raises(errors.ConnectionError, match="refused"):
        watch_module.drive(NeverConnects(), open_stream, watch_module.Deadline(30, "x"))
    assert len(attempts) == watch_module.RECONNECT_TRIES + 1


# --------------------------------------------------------------------------- HTTP layer


def backend_answering(status: int, body: object, seen: list[httpx.Request] | None = None):
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        if isinstance(body, (dict, list)):
            return httpx.Response(status, json=body)
        return httpx.Response(status, text=str(body))

    return RemoteBackend("http://example.test/base", "tok", transport=httpx.MockTransport(handler))


def error(code: str, message: str, details: object = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details}}


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            400,
            error("validation_failed", "bad", [{"section": "s", "key": "k", "message": "m"}]),
            errors.ValidationError,
        ),
        (400, error("bad_request", "not JSON"), errors.ValidationError),
        (401, error("unauthorized", "Unauthorized"), errors.AuthError),
        (403, error("forbidden", "Forbidden"), errors.AuthError),
        (
            403,
            error("forbidden", "refusing artifact path", {"path": "../x"}),
            errors.ForbiddenError,
        ),
        (403, "<html>Forbidden</html>", errors.AuthError),
        (404, error("not_found", "run 'x' does not exist"), errors.NotFoundError),
        (404, "<html>404</html>", errors.NotFoundError),
        (409, error("conflict", "already COMPLETED"), errors.ConflictError),
        (413, error("payload_too_large", "too big"), errors.RequestTooLargeError),
        (500, error("internal_error", "internal server error"), errors.ServerError),
        (502, "Bad Gateway", errors.ServerError),
    ],
)
def test_error_answers_become_typed_exceptions(status, body, expected):
    backend = backend_answering(status, body)
    with pytest.raises(expected) as info:
        backend.get_run("abc")
    assert info.value.status == status
    if status == 400 and "details" in json.dumps(body) and "validation" in json.dumps(body):
        assert [(p.section, p.key) for p in info.value.problems] == [("s", "k")]
    if isinstance(body, str) and status == 404:
        assert "extension" in str(info.value)


def test_requests_follow_the_contract():
    seen: list[httpx.Request] = []
    backend = backend_answering(200, {"runs": [], "next_cursor": None}, seen)
    backend.list_runs(RunQuery(status=["RUNNING", "PENDING"], tag="t"), 10, "CUR")
    request = seen[-1]
    assert request.url.path == "/base/fusion/api/runs"
    assert dict(request.url.params) == {
        "status": "RUNNING,PENDING",
        "tag": "t",
        "limit": "10",
        "cursor": "CUR",
    }
    assert request.headers["Authorization"] == "token tok"
    backend.read_artifact("abc", "../secret")
    assert seen[-1].url.raw_path.endswith(b"/artifacts/%2E%2E/secret")


def test_answer_that_is_not_json():
    backend = backend_answering(200, "<html>login</html>")
    with pytest.raises(errors.ServerError, match="did not answer JSON"):
        backend.get_run("abc")


def test_transport_failure():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    backend = RemoteBackend("localhost:1", transport=httpx.MockTransport(handler))
    with pytest.raises(errors.ConnectionError, match="cannot reach"):
        Client(backend).templates()


def test_same_server():
    from fusion_jupyter.client.connect import same_server

    assert same_server("http://localhost:8888/", "http://127.0.0.1:8888")
    assert same_server("127.0.0.1:8888/lab/", "http://localhost:8888/lab")
    assert not same_server("http://localhost:8888/", "http://localhost:8889/")
    assert not same_server("http://localhost:8888/a/", "http://localhost:8888/b/")
    assert not same_server("http://example.org:8888/", "http://localhost:8888/")


def test_urls():
    assert normalize_url("localhost:8888") == "http://localhost:8888/"
    assert normalize_url("https://hub.example/user/a") == "https://hub.example/user/a/"
    assert websocket_url("https://hub.example/user/a/fusion/api/") == (
        "wss://hub.example/user/a/fusion/api/stream"
    )
    assert websocket_url("http://h:1/fusion/api/") == "ws://h:1/fusion/api/stream"
