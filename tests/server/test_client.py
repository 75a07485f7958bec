"""The Python API, the whole surface, against real runs, in both modes.

Every test taking ``client`` runs twice: on the embedded engine (in this process) and
against a real ``jupyter server`` subprocess with the extension (tests/support/jupyter.py),
through REST and the stream WebSocket. The server is shared by a module's tests, so
tests filter listings by names and tags of their own.

Most runs use the stub simulator (stdlib only, starts fast, controllable through a
``[stub]`` config section); a few use the built-in simulator, and the FUSION-format
results test uses the FUSION stand-in driven by the FUSION profile.
"""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

import fusion_jupyter as fj
from fusion_jupyter.client import Client, Snapshot, connect
from fusion_jupyter.client.connect import current_kernel_id
from fusion_jupyter.client.progress import NullReporter, TqdmReporter, make_reporter
from fusion_jupyter.engine import RunManager
from fusion_jupyter.engine.artifacts import RESULT_COLUMNS
from fusion_jupyter.paths import default_locations
from tests.support import stub_sim_command, wait_until
from tests.support.fusion import FusionInstall
from tests.support.jupyter import JupyterServer, running_server

FAST = {"sync_interval_seconds": 0.2, "progress_flush_seconds": 0.1, "cancel_grace_seconds": 2.0}


class Recorder:
    """A progress reporter that keeps every snapshot."""

    def __init__(self) -> None:
        self.snapshots: list[Snapshot] = []
        self.closed = False

    def update(self, snapshot: Snapshot) -> None:
        self.snapshots.append(snapshot)

    def close(self) -> None:
        self.closed = True


def make_client(tmp_path: Path, **settings) -> Client:
    """An embedded client on its own runs dir and database (stub simulator by default)."""
    options = {
        "runs_dir": tmp_path / "runs",
        "db_url": f"sqlite:///{tmp_path}/runs.db",
        "simulator_command": stub_sim_command(),
        "max_concurrent_runs": 4,
        **FAST,
        **settings,
    }
    return connect(embedded=True, **{k: v for k, v in options.items() if v is not None})


@contextmanager
def server_client(home: Path, **settings) -> Iterator[tuple[Client, JupyterServer]]:
    """A real jupyter server with these engine settings, and a client connected to it."""
    fusion = {"simulator_command": stub_sim_command(), **settings}
    with (
        running_server(home, fusion={k: v for k, v in fusion.items() if v is not None}) as srv,
        connect(srv.root, srv.token) as c,
    ):
        yield c, srv


@contextmanager
def either_client(mode: str, home: Path, **settings) -> Iterator[Client]:
    """An embedded client, or one on a fresh server, with these engine settings."""
    if mode == "embedded":
        with make_client(home, **settings) as c:
            yield c
    else:
        with server_client(home, **settings) as (c, _):
            yield c


@pytest.fixture(params=["embedded", "remote"])
def mode(request) -> str:
    return str(request.param)


@pytest.fixture
def client(mode, request, tmp_path) -> Iterator[Client]:
    if mode == "embedded":
        with make_client(tmp_path) as c:
            yield c
    else:
        srv = request.getfixturevalue("stub_server")
        with connect(srv.root, srv.token) as c:
            yield c


@pytest.fixture
def sim_client(mode, tmp_path) -> Iterator[Client]:
    """The built-in simulator."""
    with either_client(mode, tmp_path, simulator_command=None) as c:
        yield c


@pytest.fixture
def uniq() -> str:
    """A prefix for names and tags no other test uses."""
    return uuid.uuid4().hex[:8]


def slow(delay: float = 0.2, **extra) -> dict:
    return {"stub": {"delay": delay, **extra}}


# --------------------------------------------------------------------------- connect


def test_connect_says_where(client, mode, tmp_path):
    assert client.mode == mode
    text = repr(client)
    if mode == "embedded":
        assert "embedded" in text and str(tmp_path / "runs") in text and "runs.db" in text
    else:
        assert "remote" in text and client.location.startswith("http://127.0.0.1:")


def test_connect_uses_the_server_defaults(tmp_path, monkeypatch):
    # Same runs dir and database as the server extension (fusion_jupyter.paths), so a run
    # started by another engine on the defaults shows up here.
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN", raising=False)
    with RunManager(simulator_command=stub_sim_command(), **default_locations()) as other:
        created = other.create("minimal", name="from elsewhere")
    with fj.connect() as c:
        assert c.mode == "embedded"
        assert str(tmp_path / "data" / "fusion_jupyter" / "runs") in repr(c)
        assert c.run(created.id).name == "from elsewhere"


def test_embedded_clients_share_one_engine(tmp_path):
    first = make_client(tmp_path)
    second = make_client(tmp_path)
    assert first.backend.manager is second.backend.manager
    first.close()
    first.close()  # closing twice is harmless
    assert second.submit("minimal").wait(progress=False).status == "COMPLETED"
    manager = second.backend.manager
    second.close()
    assert not manager.started
    with make_client(tmp_path) as third:
        assert third.backend.manager is not manager and third.runs()


def test_engine_settings_need_the_embedded_engine(tmp_path):
    with pytest.raises(fj.ValidationError, match="unknown engine setting"):
        connect(embedded=True, runs_dir=tmp_path, no_such_setting=1)


def test_not_in_a_kernel():
    assert current_kernel_id() is None


def test_lazy_top_level_import():
    import fusion_jupyter

    assert fusion_jupyter.connect is connect
    assert "connect" in dir(fusion_jupyter) and "widgets" in dir(fusion_jupyter)
    assert fusion_jupyter.client.Client is Client
    with pytest.raises(AttributeError):
        fusion_jupyter.nothing_here  # noqa: B018
    assert "Embedded" in (fj.connect.__doc__ or "") or "embedded" in (fj.connect.__doc__ or "")


# --------------------------------------------------------------------------- templates


def test_templates_and_text(client):
    names = [t.name for t in client.templates()]
    assert "minimal" in names and "<code>minimal</code>" in client.templates()._repr_html_()
    template = client.template("minimal")
    assert "[general_settings]" in (template.text or "")
    assert template.sections["general_settings"]["max_iters"]["type"] == "int"
    assert "minimal" in template._repr_markdown_()
    with pytest.raises(fj.NotFoundError, match="available"):
        client.template("nope")


def test_validate_reports_every_field(client):
    assert client.validate("minimal")
    report = client.validate(
        "minimal", {"general_settings.max_iters": 0, "routing_settings": {"k_paths": "x"}}
    )
    assert not report.valid
    assert {(p.section, p.key) for p in report.errors} == {
        ("general_settings", "max_iters"),
        ("routing_settings", "k_paths"),
    }
    assert "max_iters" in str(report)
    with pytest.raises(fj.ValidationError) as info:
        report.raise_if_invalid()
    assert len(info.value.problems) == 2


def test_validate_file(client, tmp_path):
    good = tmp_path / "good.ini"
    good.write_text(client.template("minimal").text or "")
    assert client.validate_file(good).valid
    missing = tmp_path / "missing.ini"
    missing.write_text("[general_settings]\nmax_iters = 2\n")
    report = client.validate_file(missing)
    assert not report.valid
    assert any(p.key == "erlang_start" for p in report.errors)
    broken = tmp_path / "broken.ini"
    broken.write_text("max_iters = 2\n")
    report = client.validate_file(broken)
    assert not report.valid and "line 1" in report.errors[0].message
    with pytest.raises(fj.ValidationError, match="cannot read"):
        client.validate_file(tmp_path / "absent.ini")


def test_submit_a_whole_ini_file_or_text_and_save_it_as_a_template(client, tmp_path):
    text = client.template("minimal").text or ""
    mine = tmp_path / "mine.ini"
    mine.write_text(text.replace("num_requests = 100", "num_requests = 200"))
    run = client.submit(config=mine, overrides={"general_settings.max_iters": 1})
    assert run.template == ""
    assert run.wait(progress=False).status == "COMPLETED"
    assert len(run.results()) == 3
    from_text = client.submit(config=mine.read_text(), name="text")
    assert from_text.wait(progress=False).status == "COMPLETED"
    with pytest.raises(fj.ValidationError) as refused:
        client.submit(config=text.replace("route_method = k_shortest_path\n", ""))
    assert [(p.section, p.key) for p in refused.value.problems] == [
        ("general_settings", "route_method")
    ]
    with pytest.raises(fj.ValidationError, match="either a template name or config"):
        client.submit("minimal", config=mine)
    assert client.save_template("mine_saved", run=run, description="from a run") == "mine_saved"
    saved = client.template("mine_saved")
    assert "num_requests = 200" in (saved.text or "")
    assert "max_iters = 1" in (saved.text or "")
    assert client.submit("mine_saved").wait(progress=False).status == "COMPLETED"
    with pytest.raises(fj.FusionError, match="exists"):
        client.save_template("mine_saved", config=mine)
    assert client.save_template("mine_saved", config=mine, replace=True) == "mine_saved"


# --------------------------------------------------------------------------- runs


def test_submit_wait_and_read_everything(client, tmp_path):
    run = client.submit(
        "minimal",
        {"general_settings": {"max_iters": 3}, "stub.delay": 0.01},
        name="baseline",
        tags=["demo"],
    )
    assert run.status in ("PENDING", "RUNNING") and len(run.id) == 12
    assert run.overrides["general_settings"]["max_iters"] == 3
    recorder = Recorder()
    assert run.wait(timeout=60, progress=recorder) is run
    assert run.status == "COMPLETED" and run.done and run.exit_code == 0
    assert recorder.closed and recorder.snapshots[-1].done
    percents = [s.percent for s in recorder.snapshots]
    assert percents == sorted(percents) and percents[-1] == 100
    assert any("Erlang" in s.detail for s in recorder.snapshots)
    assert run.progress.erlang_count == 3 and run.progress.iteration_count == 3
    assert run.duration is not None and run.created_at <= run.started_at <= run.completed_at
    assert run.tags == ["demo"] and run.name == "baseline" and run.template == "minimal"

    events = run.events()
    assert events[0]["type"] == "start" and events[-1]["type"] == "complete"
    assert [e["seq"] for e in run.events(after=2)] == list(range(3, len(events)))
    assert len(run.events(after=-1, limit=2)) == 2

    log = run.logs()
    assert log and run.logs(tail=1) == log.splitlines(keepends=True)[-1]
    assert "".join(run.follow_logs()) == log
    assert "".join(run.follow_logs(offset=5)) == log[5:]

    results = run.results()
    assert list(results.columns[: len(RESULT_COLUMNS)]) == list(RESULT_COLUMNS)
    assert results["erlang"].tolist() == [300.0, 400.0, 500.0]

    refreshed = client.run(run.id)
    assert refreshed == run and refreshed.status == "COMPLETED"
    assert client.run("latest") == run
    assert client.get(run.id) == run  # the name DESIGN §5 and the sidebar's inserted code use
    assert "COMPLETED" in repr(run) and "baseline" in repr(run)
    assert "COMPLETED" in run._repr_html_()


def test_artifacts(client, tmp_path):
    run = client.submit("minimal").wait(progress=False)
    files = run.artifacts
    assert "config.ini" in files and "output/results.csv" in files
    assert files["config.ini"].kind == "config" and files[0].path == files.paths[0]
    erlang_files = files.glob("output/*_erlang.json")
    assert [a.name for a in erlang_files] == [
        "300.0_erlang.json",
        "400.0_erlang.json",
        "500.0_erlang.json",
    ]
    table = files["output/results.csv"].load()
    assert isinstance(table, pd.DataFrame) and len(table) == 3
    per_iteration = erlang_files[0].load()
    assert "blocking_prob" in per_iteration.columns or len(per_iteration) >= 1
    target = files["config.ini"].download(tmp_path)
    assert target == tmp_path / "config.ini" and "[general_settings]" in target.read_text()
    renamed = files["config.ini"].download(tmp_path / "copy.ini")
    assert renamed.read_bytes() == files["config.ini"].read_bytes()
    assert "general_settings" in files["config.ini"].read_text()
    assert list(files.to_frame().columns) == ["path", "kind", "size", "modified"]
    assert "config.ini" in repr(files) and "<table" in files._repr_html_()
    with pytest.raises(KeyError, match="no artifact"):
        files["nope.txt"]
    with pytest.raises(fj.ValidationError):
        files["config.ini"].load()  # not a table kind
    with pytest.raises(fj.client.ForbiddenError):
        client.backend.read_artifact(run.id, "../runs.db")


def test_results_of_a_real_fusion_run(mode, tmp_path, fusion_install: FusionInstall):
    # FUSION writes *_erlang.json under its own root; they are moved into output/, and
    # results() is built from them (remote: through the server's parquet answer).
    settings = {
        "fusion_command": str(fusion_install.command),
        "templates_path": [str(fusion_install.templates)],
    }
    overrides = {"general_settings.max_iters": 1}
    with either_client(mode, tmp_path, **settings) as c:
        run = c.submit("minimal", overrides, simulator="fusion").wait(timeout=120, progress=False)
        assert run.status == "COMPLETED", run.error
        assert run.to_dict()["simulator"] == "fusion"
        assert not any(a.path == "output/results.csv" for a in run.artifacts)
        results = run.results()
    assert results["erlang"].tolist() == [300.0, 400.0, 500.0]
    assert results["iterations_saved"].tolist() == results["iterations_run"].tolist() == [1] * 3
    assert (results["iterations"] >= 1).all()
    assert results["blocking_mean"].between(0, 1).all()
    assert (results["ci_lower"] <= results["blocking_mean"]).all()
    assert (results["blocking_mean"] <= results["ci_upper"]).all()


def test_builtin_simulator_results(sim_client):
    run = sim_client.submit(
        "minimal",
        {"general_settings": {"num_requests": 2000, "erlang_start": 800, "erlang_stop": 1200}},
    )
    run.wait(timeout=120, progress=False, raise_on_failure=True)
    results = run.results()
    assert results["erlang"].tolist() == [800.0, 900.0, 1000.0, 1100.0, 1200.0]
    assert results["blocking_mean"].iloc[-1] > 0


def test_wait_timeout_then_cancel(client):
    run = client.submit("minimal", slow(5))
    with pytest.raises(fj.client.TimeoutError, match="not over after"):
        run.wait(timeout=0.5, progress=False)
    assert not run.done
    assert run.cancel().status == "CANCELLED"
    with pytest.raises(fj.ConflictError):
        run.cancel()
    with pytest.raises(fj.RunFailedError, match="CANCELLED"):
        run.wait(raise_on_failure=True, progress=False)


def test_failed_run_reason(client):
    run = client.submit("minimal", {"stub": {"exit_code": 3}}).wait(progress=False)
    assert run.status == "FAILED" and run.exit_code == 3
    assert "exit" in (run.error or "").lower()
    # The status message that ended the wait carried no log; the run's error has it.
    assert "Last lines of logs/sim.log" in (run.error or "")
    assert not run.to_dict().get("error_truncated")
    with pytest.raises(fj.RunFailedError) as info:
        run.wait(raise_on_failure=True, progress=False)
    assert info.value.run is run


def test_delete_and_purge(client):
    active = client.submit("minimal", slow(5))
    with pytest.raises(fj.ConflictError, match="cancel it"):
        active.delete()
    active.cancel()
    run_dir = Path(active.to_dict()["run_dir"])
    active.delete()
    assert run_dir.is_dir()
    with pytest.raises(fj.NotFoundError):
        client.run(active.id)
    done = client.submit("minimal").wait(progress=False)
    done_dir = Path(done.to_dict()["run_dir"])
    done.delete(purge=True)
    assert not done_dir.exists()


def test_rerun_keeps_the_config(client):
    first = client.submit("minimal", {"general_settings.max_iters": 1}, name="again", tags=["t"])
    second = first.rerun()
    assert second.id != first.id and second.name == "again" and second.tags == ["t"]
    assert second.overrides == first.overrides
    assert second.to_dict()["rerun_of"] == first.id
    second.wait(progress=False)


def test_wait_async(client):
    async def main():
        run = client.submit("minimal", slow(0.05))
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        await run.wait_async(timeout=60, progress=False)
        task.cancel()
        return run, ticks

    run, ticks = asyncio.run(main())
    assert run.status == "COMPLETED"
    assert ticks > 5  # the loop kept running while the run was awaited


def test_wait_async_timeout(client):
    run = client.submit("minimal", slow(5))
    with pytest.raises(fj.client.TimeoutError):
        asyncio.run(run.wait_async(timeout=0.3, progress=False))
    run.cancel()


def test_runs_filters_and_pages(client, uniq):
    a = client.submit("minimal", name=f"{uniq} alpha one", tags=[f"{uniq}-x"])
    b = client.submit("minimal", name=f"{uniq} beta", tags=[f"{uniq}-y"])
    c = client.submit("minimal", slow(5), name=f"{uniq} alpha two")
    for run in (a, b):
        run.wait(progress=False)
    assert [r.id for r in client.runs(name=uniq)] == [c.id, b.id, a.id]
    assert [r.id for r in client.runs()[:3]] == [c.id, b.id, a.id]
    assert [r.id for r in client.runs(tag=f"{uniq}-x")] == [a.id]
    assert [r.id for r in client.runs(name=f"{uniq} alpha")] == [c.id, a.id]
    assert [r.id for r in client.runs(status="completed", name=uniq)] == [b.id, a.id]
    assert [r.id for r in client.runs(status=["RUNNING", "PENDING"], name=uniq)] == [c.id]
    assert client.runs(template="default", name=uniq) == []
    page = client.runs(limit=2, name=uniq)
    assert len(page) == 2 and page.next_cursor
    rest = client.runs(limit=2, cursor=page.next_cursor, name=uniq)
    assert [r.id for r in rest] == [a.id] and rest.next_cursor is None
    assert [r.id for r in client.iter_runs(page_size=1, name=uniq)] == [c.id, b.id, a.id]
    assert client.latest(tag=f"{uniq}-y") == b
    frame = page.to_frame()
    assert list(frame["id"]) == [c.id, b.id] and "<table" in page._repr_html_()
    with pytest.raises(fj.ValidationError, match="status"):
        client.runs(status="SLEEPING")
    c.cancel()


def test_unknown_things(client, uniq):
    with pytest.raises(fj.NotFoundError):
        client.run("0123456789ab")
    with pytest.raises(fj.NotFoundError, match="no template"):
        client.submit("nope")
    with pytest.raises(fj.NotFoundError):
        client.get_sweep("0123456789ab")
    with pytest.raises(fj.NotFoundError, match="no runs yet"):
        client.latest(tag=uniq)


def test_submit_refuses_bad_input_with_field_errors(client):
    with pytest.raises(fj.ValidationError) as info:
        client.submit(
            "minimal", {"general_settings.max_iters": 0, "general_settings.holding_time": -1}
        )
    assert {p.key for p in info.value.problems} == {"max_iters", "holding_time"}
    assert "max_iters" in str(info.value)
    with pytest.raises(fj.ValidationError, match="name"):
        client.submit("minimal", name="bad\nname")


# --------------------------------------------------------------------------- sweeps


def test_sweep_of_six_runs_two_at_a_time(mode, tmp_path):
    with either_client(mode, tmp_path, max_concurrent_runs=2) as c:
        sweep = c.sweep(
            "minimal",
            grid={"routing_settings.k_paths": [1, 2, 3], "general_settings.max_iters": [1, 2]},
            overrides={"stub.delay": 0.15},
            name="grid",
            tags=["paper"],
        )
        assert len(sweep.runs) == 6 and sweep.grid["routing_settings.k_paths"] == [1, 2, 3]
        assert all(f"sweep:{sweep.id}" in r.tags and "paper" in r.tags for r in sweep.runs)
        recorder = Recorder()
        sweep.wait(timeout=120, progress=recorder)
        assert sweep.done and sweep.status_counts == {"COMPLETED": 6}
        assert recorder.snapshots[-1].percent == 100 and recorder.snapshots[-1].done
        # started_at is stamped just before the slot claim takes the database lock, so
        # it may precede by a few ms the end of the run whose slot it takes.
        slack = timedelta(seconds=0.25)
        spans = [(r.started_at, r.completed_at) for r in sweep.runs]
        for start, _ in spans:
            overlapping = sum(1 for s, e in spans if s <= start < e - slack)
            assert overlapping <= 2, spans
        results = sweep.results()
        assert list(results.columns[:3]) == [
            "routing_settings.k_paths",
            "general_settings.max_iters",
            "run_id",
        ]
        assert sorted(set(results["routing_settings.k_paths"])) == [1, 2, 3]
        assert len(results) == 6 * 3  # three Erlang points each
        again = c.get_sweep(sweep.id)
        assert [r.id for r in again.runs] == [r.id for r in sweep.runs]
        assert [r.id for r in c.runs(sweep=sweep.id)] == sorted(
            (r.id for r in sweep.runs), key=[r.id for r in c.runs(sweep=sweep.id)].index
        )
        frame = again.to_frame()
        assert "routing_settings.k_paths" in frame.columns and len(frame) == 6
        assert "6 COMPLETED" in repr(again) and "<table" in again._repr_html_()


def test_sweep_numpy_grid_cancel_and_async(client):
    import numpy as np

    sweep = client.sweep("minimal", {"routing_settings.k_paths": np.arange(1, 3)}, slow(5))
    assert sweep.grid == {"routing_settings.k_paths": [1, 2]}
    with pytest.raises(fj.client.TimeoutError):
        asyncio.run(sweep.wait_async(timeout=0.3, progress=False))
    sweep.cancel()
    asyncio.run(sweep.wait_async(timeout=30, progress=False))
    assert sweep.status_counts == {"CANCELLED": 2}
    with pytest.raises(fj.RunFailedError):
        sweep.wait(progress=False, raise_on_failure=True)
    assert sweep.results().empty


def test_sweep_rerun_failed_and_delete(client):
    sweep = client.sweep("minimal", {"stub.exit_code": [0, 3]})
    sweep.wait(progress=False)
    failed = next(r for r in sweep.runs if r.status == "FAILED")
    (again,) = sweep.rerun_failed()
    assert again.to_dict()["rerun_of"] == failed.id and again.sweep_id == sweep.id
    assert len(sweep.runs) == 3
    sweep.wait(progress=False)
    assert sweep.status_counts == {"COMPLETED": 1, "FAILED": 1}  # one per grid point
    busy = client.sweep("minimal", {"general_settings.max_iters": [1]}, slow(30))
    with pytest.raises(fj.ConflictError, match="cancel the sweep"):
        busy.delete()
    busy.cancel()
    run_dirs = [Path(r.to_dict()["run_dir"]) for r in sweep.runs]
    sweep.delete(purge=True)
    assert not any(d.exists() for d in run_dirs)
    with pytest.raises(fj.NotFoundError):
        client.get_sweep(sweep.id)


def test_sweeps_listing(client):
    first = client.sweep("minimal", {"general_settings.max_iters": [1, 2]}, name="first")
    first.wait(progress=False)
    second = client.sweep("minimal", {"routing_settings.k_paths": [1]}, name="second")
    listed = client.sweeps()
    assert [s.id for s in listed[:2]] == [second.id, first.id]
    assert listed[1].status_counts == {"COMPLETED": 2} and listed[1].total == 2
    assert listed[1].grid == {"general_settings.max_iters": [1, 2]}
    assert listed[1].open().id == first.id
    assert [s.id for s in client.sweeps(limit=1)] == [second.id]


def test_sweep_refuses_a_bad_grid(client):
    with pytest.raises(fj.ValidationError, match="grid"):
        client.sweep("minimal", {"routing_settings.k_paths": []})


# --------------------------------------------------------------------------- display


def test_progress_reporters():
    assert isinstance(make_reporter(False, "x"), NullReporter)
    recorder = Recorder()
    assert make_reporter(recorder, "x") is recorder
    stream = io.StringIO()
    bar = TqdmReporter("run abc", file=stream)
    bar.update(Snapshot("run abc", 50.0, "400 Erlang (2/3)", "RUNNING", False))
    bar.update(Snapshot("run abc", 100.0, "500 Erlang (3/3)", "COMPLETED", True))
    bar.close()
    text = stream.getvalue()
    assert "run abc" in text and "100%" in text and "COMPLETED" in text


def test_display_outside_a_kernel_does_not_break(client, capsys):
    run = client.submit("minimal", slow(0.02))
    run._ipython_display_()  # IPython prints the HTML object's repr outside a kernel
    run.wait(progress=False)
    wait_until(lambda: "<div" in run._repr_html_(), 10, "the run's HTML")


def test_sweep_plot_draws_one_curve_per_varying_parameter(sim_client):
    sweep = sim_client.sweep(
        "blocking",
        {"routing_settings.k_paths": [1, 2], "general_settings.max_iters": [1]},
        {"general_settings.num_requests": 200},
        name="k",
    )
    sweep.wait(progress=False)
    figure = sweep.plot()
    (ax,) = figure.axes
    assert [line.get_label() for line in ax.get_lines()] == ["k_paths = 1", "k_paths = 2"]
    assert all(len(line.get_xdata()) == 3 for line in ax.get_lines())  # 100, 200, 300 Erlang
    assert len(ax.collections) == 2  # a confidence band per curve
    assert ax.get_xlabel() == "Traffic load (Erlang)" and ax.get_yscale() == "linear"
    log = sweep.plot(by="routing_settings.k_paths", log_y=True, bands=False)
    assert log.axes[0].get_yscale() == "log" and not log.axes[0].collections
    with pytest.raises(ValueError, match=r"by: routing_settings\.nope is not a grid parameter"):
        sweep.plot(by="routing_settings.nope")
