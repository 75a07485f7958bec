"""The widgets' Python side, without a browser: traits, the kernel relay, the REST API
answered by the kernel, load into pandas, validation errors, Run's display.

Widgets are created outside a kernel (ipywidgets then uses a comm that sends nothing);
``FusionWidget.send`` is replaced by a recorder, and the front-end's messages are fed
to the widget as the comm would deliver them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import fusion_jupyter as fj
from fusion_jupyter.client.remote import RemoteBackend
from fusion_jupyter.client.run import Run
from fusion_jupyter.widgets import (
    ArtifactTable,
    Dashboard,
    FrontEndMissing,
    FusionWidget,
    Launcher,
    LogViewer,
    RunProgress,
    base,
)
from fusion_jupyter.widgets.relay import KernelRelay
from tests.support import stub_sim_command, wait_until
from tests.support.widgets import Recorder

STATIC = Path(base.STATIC)
ENTRIES = ["run_progress", "log_viewer", "artifact_table", "dashboard", "launcher", "sweep_view"]


def fast_run(client: fj.Client, **stub: Any) -> Run:
    overrides = {"stub": {"delay": 0.02, **stub}}
    return client.submit("minimal", overrides, name="t", tags=["widgets"])


def ws(widget: FusionWidget, **op: Any) -> None:
    """The front-end sends one stream operation."""
    content = {"kind": "fusion", "op": "ws", "data": json.dumps(op)}
    widget._on_custom_message(widget, content, [])


_ids = iter(range(1, 1 << 30))


def http(
    widget: FusionWidget, recorder: Recorder, method: str, path: str, **kw: Any
) -> tuple[int, Any, dict[str, str], list[bytes]]:
    """The front-end's fetch through the kernel: (status, json, headers, buffers)."""
    request_id = next(_ids)
    body = kw.pop("body", None)
    content = {
        "kind": "fusion",
        "op": "http",
        "id": request_id,
        "method": method,
        "path": path,
        "query": {k: str(v) for k, v in kw.pop("query", {}).items()},
        "headers": kw.pop("headers", {}),
        "body": json.dumps(body) if body is not None else None,
    }
    widget._on_custom_message(widget, content, [])
    reply, buffers = recorder.reply(widget, request_id)
    return reply["status"], reply.get("json"), reply["headers"], buffers


def call(widget: FusionWidget, recorder: Recorder, command: str, **args: Any) -> tuple[int, Any]:
    """A widget command the front-end asks the kernel for: (status, json)."""
    request_id = next(_ids)
    content = {"kind": "fusion", "op": "call", "id": request_id, "name": command, "args": args}
    widget._on_custom_message(widget, content, [])
    reply, _ = recorder.reply(widget, request_id)
    return reply["status"], reply.get("json")


def progress_seqs(messages: list[dict[str, Any]], run_id: str) -> list[int]:
    return [m["seq"] for m in messages if m["type"] == "progress" and m["run_id"] == run_id]


def log_text(messages: list[dict[str, Any]], run_id: str) -> str:
    """The log bytes of the messages, checking they join up without gap or overlap."""
    text, end = [], None
    for m in messages:
        if m["type"] == "log" and m["run_id"] == run_id:
            assert end is None or m["offset"] == end, (m["offset"], end)
            end = m["next_offset"]
            text.append(m["data"])
    return "".join(text)


# --------------------------------------------------------------------------- bundles


@pytest.mark.parametrize("name", ENTRIES)
def test_bundles_are_built_self_contained_esm(name: str) -> None:
    js = (STATIC / f"{name}.js").read_text()
    assert (STATIC / f"{name}.css").stat().st_size > 1000
    assert re.search(r"export\s*\{[^}]*as default", js), "an ES module with a default export"
    # The front-ends run outside JupyterLab (VS Code, Colab): no JupyterLab code inside.
    for forbidden in ("@jupyterlab/", "@lumino/", "require("):
        assert forbidden not in js
    assert len(js) < 200_000


def test_missing_bundle_is_a_clear_error(
    client: fj.Client, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(base, "STATIC", tmp_path)

    class Fresh(FusionWidget):
        bundle = "nowhere"

    with pytest.raises(FrontEndMissing, match="not built"):
        Fresh(client)


# --------------------------------------------------------------------------- traits


def test_traits_of_run_widgets_and_embedded_transport(
    client: fj.Client, recorder: Recorder
) -> None:
    run = fast_run(client)
    progress = RunProgress(run)
    logs = LogViewer(run, tail=50)
    files = ArtifactTable(run)
    try:
        for w in (progress, logs, files):
            assert w.run_id == run.id
            assert w.run is run
            assert w._transport == {"server_url": "", "mode": "auto"}
            assert w.relayed  # the embedded engine: the page cannot reach it
            assert w._run["id"] == run.id and w._run["status"] in ("PENDING", "RUNNING")
            assert w.transport_used == ""  # until a view says how it connected
            state = w.get_state()
            assert state["run_id"] == run.id and "_esm" in state
        assert logs.tail_lines == 50
        assert repr(progress) == f"<RunProgress of run {run.id}>"
        with pytest.raises(TypeError):
            RunProgress(run.id)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="transport"):
            RunProgress(run, transport="carrier-pigeon")  # type: ignore[arg-type]
    finally:
        for w in (progress, logs, files):
            w.close()


def test_remote_client_leaves_the_choice_to_the_page() -> None:
    client = fj.Client(RemoteBackend("http://127.0.0.1:9/base/", "secret"))
    run = Run(client, {"id": "0123456789ab", "status": "RUNNING", "progress": {}})
    widget = RunProgress(run)
    try:
        assert widget._transport == {"server_url": "http://127.0.0.1:9/base/", "mode": "auto"}
        assert not widget.relayed  # the page decides; nothing relayed up front
        assert KernelRelay.of(client.backend).subscriptions(widget) == {}
        # The token is never put in the model (it would be saved in the notebook).
        assert "secret" not in json.dumps(widget.get_state(), default=str)
        forced = RunProgress(run, transport="relay")
        assert forced.relayed
        forced.close()
    finally:
        widget.close()
        client.close()


def test_launcher_takes_a_whole_ini_file_and_a_simulator(client: fj.Client, tmp_path) -> None:
    text = client.template("minimal").text or ""
    mine = tmp_path / "mine.ini"
    mine.write_text(text)
    launcher = Launcher(client, config=mine, simulator="builtin")
    try:
        assert launcher.config == text and launcher.simulator == "builtin"
        assert launcher.validate().valid and launcher.errors == []
        launcher.config = text.replace("is_grooming_enabled = False\n", "")
        assert not launcher.validate().valid
        assert [(e["section"], e["key"]) for e in launcher.errors] == [
            ("general_settings", "is_grooming_enabled")
        ]
    finally:
        launcher.close()


def test_launcher_and_dashboard_traits(client: fj.Client, recorder: Recorder) -> None:
    launcher = Launcher(
        client,
        "minimal",
        {"general_settings.max_iters": 3, "stub": {"delay": 0.1}},
        name="from python",
        tags=["a", "b"],
        grid={"routing_settings.k_paths": (1, 2)},
    )
    dash = Dashboard(client, status=["running", "FAILED"], tag="a", name="base")
    try:
        assert launcher.template == "minimal"
        assert launcher.overrides == {
            "general_settings": {"max_iters": "3"},
            "stub": {"delay": "0.1"},
        }
        assert (launcher.name, launcher.tags, launcher.errors, launcher.run) == (
            "from python",
            ["a", "b"],
            [],
            None,
        )
        # Pre-filled grid axes: the form shows them and submits a sweep.
        assert (launcher.grid, launcher.sweep_id) == ({"routing_settings.k_paths": [1, 2]}, "")
        assert launcher.get_state()["grid"] == {"routing_settings.k_paths": [1, 2]}
        assert dash.filters == {"status": ["RUNNING", "FAILED"], "tag": "a", "name": "base"}
        with pytest.raises(ValueError, match="unknown status"):
            Dashboard(client, status="SLEEPING")
        run = fast_run(client)
        launcher.run_id = run.id  # what the front-end sets after Submit
        assert launcher.run == run
        dash.selected = [run.id]
        assert dash.selected_runs == [run]
    finally:
        launcher.close()
        dash.close()


# --------------------------------------------------------------------------- relay


def is_complete_event(message: dict[str, Any]) -> bool:
    return message["type"] == "progress" and message["event"]["type"] == "complete"


def is_completed_status(message: dict[str, Any]) -> bool:
    return message["type"] == "status" and message["run"]["status"] == "COMPLETED"


def wait_relayed(
    recorder: Recorder,
    widget: Any,
    match: Callable[[dict[str, Any]], bool],
    timeout: float,
    what: str,
) -> None:
    """Wait until a message the kernel relayed to ``widget`` matches."""
    wait_until(lambda: any(match(m) for m in recorder.stream(widget)), timeout, what)


def test_run_progress_relays_from_creation_in_order(client: fj.Client, recorder: Recorder) -> None:
    run = fast_run(client)
    widget = RunProgress(run)  # embedded: relaying starts now, before the page asks
    try:
        wait_relayed(recorder, widget, is_complete_event, 30, "the complete event relayed")
        messages = recorder.stream(widget)
        assert messages[0] == {"type": "subscribed", "run_id": run.id, "after": -1, "log_offset": 0}
        seqs = progress_seqs(messages, run.id)
        assert seqs == list(range(len(seqs))), "every event once, in order"
        kinds = [m["event"]["type"] for m in messages if m["type"] == "progress"]
        assert kinds[0] == "start" and kinds.count("erlang_complete") == 3
        wait_relayed(recorder, widget, is_completed_status, 10, "the final status relayed")
        # Batched: far fewer frames than messages.
        assert recorder.frames(widget) < len(recorder.stream(widget))
        assert not any(m["type"] == "log" for m in recorder.stream(widget))
        # Until the front-end subscribes, the model's state keeps what was relayed (a
        # page still loading the widget's code loses custom messages, not state).
        assert widget._early == recorder.stream(widget)
        ws(widget, op="subscribe", run_id=run.id, channels=["progress"], after=-1, log_offset=0)
        assert widget._early == []
    finally:
        widget.close()


def test_front_end_subscribe_resumes_after_its_seq(client: fj.Client, recorder: Recorder) -> None:
    run = fast_run(client)
    run.wait(30, progress=False)
    widget = RunProgress(run, transport="direct")  # nothing relayed until asked
    try:
        ws(widget, op="subscribe", run_id=run.id, channels=["progress"], after=4, log_offset=0)
        wait_until(lambda: len(progress_seqs(recorder.stream(widget), run.id)) > 3, 10)
        # The acknowledgement of the page's own subscribe comes first: nothing was
        # relayed before the page asked (however slowly the relay would have sent it).
        first = recorder.stream(widget)[0]
        assert first == {"type": "subscribed", "run_id": run.id, "after": 4, "log_offset": 0}
        seqs = progress_seqs(recorder.stream(widget), run.id)
        assert seqs[0] == 5 and seqs == list(range(5, 5 + len(seqs)))
        relay = KernelRelay.of(client.backend)
        assert relay.subscriptions(widget) == {run.id: ["progress"]}
        ws(widget, op="unsubscribe", run_id=run.id)
        assert relay.subscriptions(widget) == {}
        ws(widget, op="bogus")
        ws(widget, op="subscribe", run_id=run.id, channels=["nope"])
        errors = wait_until(
            lambda: (
                [m for m in recorder.stream(widget) if m["type"] == "error"][1:]
                and [m for m in recorder.stream(widget) if m["type"] == "error"]
            ),
            5,
        )
        # The server's own refusals, naming the field.
        assert [e["error"]["details"][0]["key"] for e in errors] == ["op", "channels"]
    finally:
        widget.close()


def test_views_of_one_run_each_get_it_whole_and_late_ones_catch_up(
    client: fj.Client, recorder: Recorder
) -> None:
    run = fast_run(client, stdout_lines=3000, delay=0.2)
    first = LogViewer(run, transport="relay")
    second = LogViewer(run, transport="relay")
    relay = KernelRelay.of(client.backend)
    from_the_start = {"after": -1, "log_offset": 0}
    try:
        ws(first, op="subscribe", run_id=run.id, channels=["logs", "progress"], **from_the_start)
        wait_until(lambda: "stdout line 2999" in log_text(recorder.stream(first), run.id), 20)
        # The second view joins later, from the start: one feed, and it catches up.
        ws(second, op="subscribe", run_id=run.id, channels=["logs", "progress"], **from_the_start)
        for w in (first, second):
            assert relay.subscriptions(w) == {run.id: ["logs", "progress"]}
        run.wait(30, progress=False)
        full = (Path(run.to_dict()["run_dir"]) / "logs" / "sim.log").read_text()

        def both_complete() -> bool:
            return all(log_text(recorder.stream(w), run.id) == full for w in (first, second))

        wait_until(both_complete, 20, "both views have the whole log, once")
        for w in (first, second):
            seqs = progress_seqs(recorder.stream(w), run.id)
            assert seqs == list(range(len(seqs))) and seqs
        first.close()
        assert first not in relay.sessions and relay.subscriptions(second)
        ws(second, op="close")  # the page's socket went away
        assert relay.subscriptions(second) == {}
    finally:
        first.close()
        second.close()


def test_dashboard_hears_every_status(client: fj.Client, recorder: Recorder) -> None:
    dash = Dashboard(client)
    try:
        runs = [fast_run(client) for _ in range(3)]
        for run in runs:
            run.wait(30, progress=False)

        def completed() -> set[str]:
            return {
                m["run_id"]
                for m in recorder.stream(dash)
                if m["type"] == "status" and m["run"]["status"] == "COMPLETED"
            }

        wait_until(lambda: completed() >= {r.id for r in runs}, 10, "statuses of every run")
    finally:
        dash.close()
    relay = KernelRelay.of(client.backend)
    assert dash not in relay.sessions and dash not in relay.status_sinks


# --------------------------------------------------------------------------- REST via kernel


def test_rest_api_answered_by_the_kernel(client: fj.Client, recorder: Recorder) -> None:
    run = fast_run(client, stdout_lines=20)
    run.wait(30, progress=False)
    w = Dashboard(client, transport="relay")
    try:
        status, body, _, _ = http(w, recorder, "GET", "health/live")
        assert (status, body) == (200, {"status": "ok"})
        status, body, _, _ = http(w, recorder, "GET", "templates")
        assert status == 200 and "minimal" in [t["name"] for t in body["templates"]]
        status, body, _, _ = http(w, recorder, "GET", "templates/minimal")
        assert body["sections"]["general_settings"]["erlang_start"]["type"] == "float"
        status, body, _, _ = http(
            w, recorder, "GET", "runs", query={"status": "COMPLETED,FAILED", "limit": 5}
        )
        assert status == 200 and run.id in [r["id"] for r in body["runs"]]
        status, body, _, _ = http(w, recorder, "GET", f"runs/{run.id}")
        assert body["status"] == "COMPLETED"
        status, body, _, _ = http(w, recorder, "GET", f"runs/{run.id}/progress", query={"after": 3})
        assert body["events"][0]["seq"] == 4 and body["last_seq"] == body["events"][-1]["seq"]
        status, body, _, _ = http(w, recorder, "GET", f"runs/{run.id}/logs", query={"tail": 2})
        assert body["data"].count("\n") == 2 and body["next_offset"] == body["size"]
        status, body, _, _ = http(
            w, recorder, "GET", f"runs/{run.id}/logs", query={"offset": 0, "limit": 10}
        )
        assert (body["offset"], body["next_offset"]) == (0, 10)
        status, body, _, _ = http(w, recorder, "GET", f"runs/{run.id}/artifacts")
        paths = [a["path"] for a in body["artifacts"]]
        assert "output/results.csv" in paths and "logs/sim.log" in paths
        status, _, headers, buffers = http(
            w, recorder, "GET", f"runs/{run.id}/artifacts/output/results.csv"
        )
        assert status == 200 and headers["Content-Type"] == "text/csv; charset=utf-8"
        csv = buffers[0]
        status, _, headers, buffers = http(
            w,
            recorder,
            "GET",
            f"runs/{run.id}/artifacts/output/results.csv",
            headers={"Range": "bytes=0-9"},
        )
        assert status == 206 and buffers[0] == csv[:10]
        assert headers["Content-Range"] == f"bytes 0-9/{len(csv)}"
        status, body, _, _ = http(w, recorder, "GET", f"runs/{run.id}/results")
        assert [row["erlang"] for row in body["rows"]] == [300.0, 400.0, 500.0]
        assert "blocking_mean" in body["columns"]
        status, body, _, _ = http(w, recorder, "POST", f"runs/{run.id}/rerun")
        assert status == 201 and body["id"] != run.id
        rerun = client.run(body["id"])
        status, body, _, _ = http(w, recorder, "DELETE", f"runs/{run.id}")
        assert status == 204
        # Errors: the server's bodies and statuses.
        status, body, _, _ = http(w, recorder, "GET", "runs/0000deadbeef")
        assert status == 404 and body["error"]["code"] == "not_found"
        status, body, _, _ = http(w, recorder, "GET", "no/such/route")
        assert status == 404
        status, body, _, _ = http(w, recorder, "PUT", "templates")
        assert status == 405
        # The server's limits: an out-of-range page size is refused, not clamped.
        status, body, _, _ = http(w, recorder, "GET", "runs", query={"limit": 501})
        assert status == 400 and body["error"]["details"][0]["key"] == "limit"
        # Every route of the server, sweeps included, with its body checks.
        status, body, _, _ = http(w, recorder, "POST", "sweeps", body={"template": "minimal"})
        assert status == 400 and body["error"]["details"][0]["key"] == "grid"
        status, body, _, _ = http(
            w, recorder, "GET", f"runs/{rerun.id}/artifacts/..%2F..%2Fetc/passwd"
        )
        assert status in (403, 404)
        rerun.wait(30, progress=False)
    finally:
        w.close()


def test_validation_errors_name_the_field(client: fj.Client, recorder: Recorder) -> None:
    w = Launcher(client, "minimal")
    try:
        bad = {"general_settings": {"erlang_start": "-5", "max_iters": "abc"}}
        status, body, _, _ = http(
            w, recorder, "POST", "configs/validate", body={"template": "minimal", "overrides": bad}
        )
        assert status == 200 and body["valid"] is False
        fields = {(e["section"], e["key"]) for e in body["errors"]}
        assert fields == {("general_settings", "erlang_start"), ("general_settings", "max_iters")}
        # Submitting anyway: 400 with each problem in the details, as the server does.
        status, body, _, _ = http(
            w, recorder, "POST", "runs", body={"template": "minimal", "overrides": bad}
        )
        assert status == 400 and body["error"]["code"] == "validation_failed"
        assert {d["key"] for d in body["error"]["details"]} == {"erlang_start", "max_iters"}
        status, body, _, _ = http(w, recorder, "POST", "configs/validate", body={"overrides": {}})
        assert status == 400 and body["error"]["details"][0]["key"] == "template"
        # The Python side of the same check.
        w.overrides = {"general_settings": {"erlang_start": "-5"}}
        report = w.validate()
        assert not report.valid
        assert w.errors == [
            {
                "section": "general_settings",
                "key": "erlang_start",
                "message": report.errors[0].message,
            }
        ]
        w.overrides = {"general_settings": {"erlang_start": "200"}}
        assert w.validate().valid and w.errors == []
    finally:
        w.close()


# --------------------------------------------------------------------------- load into pandas


def test_load_into_pandas_and_preview(client: fj.Client, recorder: Recorder) -> None:
    run = fast_run(client)
    run.wait(30, progress=False)
    namespace: dict[str, Any] = {}
    w = ArtifactTable(run, namespace=namespace)
    try:
        status, answer = call(w, recorder, "load", path="output/results.csv", name="results")
        assert status == 200, answer
        frame = namespace["results"]
        assert isinstance(frame, pd.DataFrame) and len(frame) == 3
        assert answer == {
            "name": "results",
            "rows": 3,
            "columns": len(frame.columns),
            "code": "import fusion_jupyter as fj\n"
            f"results = fj.connect(embedded=True).get({run.id!r})"
            ".artifacts['output/results.csv'].load()",
        }
        assert w.loaded == {"results": "output/results.csv"}
        pd.testing.assert_frame_equal(frame, run.artifacts["output/results.csv"].load())
        # FUSION's per-Erlang JSON: one row per iteration.
        status, answer = call(w, recorder, "load", path="output/300.0_erlang.json", name="e300")
        assert status == 200 and answer["rows"] == len(namespace["e300"]) > 0
        status, answer = call(w, recorder, "preview", path="output/results.csv", rows=2)
        assert status == 200 and answer["total_rows"] == 3 and len(answer["rows"]) == 2
        assert answer["rows"][0]["erlang"] == 300.0
        # Refusals: a name that is not a variable, a file that is not a table, a missing one.
        status, answer = call(w, recorder, "load", path="output/results.csv", name="1 bad")
        assert status == 400 and "variable name" in answer["error"]["message"]
        status, answer = call(w, recorder, "load", path="config.ini", name="cfg")
        assert status == 400
        status, answer = call(w, recorder, "load", path="output/none.csv", name="none")
        assert status == 404
        status, answer = call(w, recorder, "nonsense")
        assert status == 404
        assert set(namespace) == {"results", "e300"}
    finally:
        w.close()


def test_load_into_the_kernel_namespace_needs_ipython(
    client: fj.Client, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = fast_run(client)
    run.wait(30, progress=False)
    w = ArtifactTable(run)
    try:
        monkeypatch.delitem(__import__("sys").modules, "IPython", raising=False)
        status, answer = call(w, recorder, "load", path="output/results.csv", name="r")
        assert status == 500 and "IPython kernel" in answer["error"]["message"]
    finally:
        w.close()


# --------------------------------------------------------------------------- Run display


def test_a_run_displays_as_run_progress_in_a_kernel(
    client: fj.Client, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fusion_jupyter.client import run as run_module

    shown: list[Any] = []

    class Display:
        @staticmethod
        def display(obj: Any, **_kw: Any) -> None:
            shown.append(obj)

    monkeypatch.setattr(run_module, "ipython_display", lambda: Display)
    run = fast_run(client)
    run._ipython_display_()
    assert len(shown) == 1 and isinstance(shown[0], RunProgress) and shown[0].run_id == run.id
    shown[0].close()


# --------------------------------------------------------------------------- remote client


def test_relay_and_rest_over_a_remote_client(tmp_path: Path, recorder: Recorder) -> None:
    """A kernel whose client talks to a server the page cannot reach (VS Code, another
    host): the kernel relays from the server's WebSocket and answers REST from it."""
    from tests.support.jupyter import running_server

    with running_server(
        tmp_path / "server", fusion={"simulator_command": stub_sim_command()}
    ) as srv:
        client = fj.connect(srv.root, token=srv.token)
        assert client.mode == "remote"
        run = fast_run(client)
        widget = RunProgress(run, transport="relay")
        try:
            assert widget._transport == {"server_url": srv.root, "mode": "relay"}
            wait_relayed(recorder, widget, is_completed_status, 30, "the run relayed to its end")
            seqs = progress_seqs(recorder.stream(widget), run.id)
            assert seqs == list(range(len(seqs))) and len(seqs) >= 10
            status, body, _, _ = http(widget, recorder, "GET", f"runs/{run.id}/results")
            assert status == 200 and len(body["rows"]) == 3
            status, _, _, buffers = http(
                widget, recorder, "GET", f"runs/{run.id}/artifacts/output/results.csv"
            )
            assert status == 200 and buffers[0].startswith(b"erlang")
            status, body, _, _ = http(widget, recorder, "GET", "runs/0000deadbeef")
            assert status == 404
        finally:
            widget.close()
            client.close()
