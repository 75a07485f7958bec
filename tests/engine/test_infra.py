"""The test infrastructure itself: PostgreSQL fixture, CI skip policy, simulators."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support import (
    STUB_SIM,
    fusion_standin_command,
    group_members,
    pid_alive,
    read_progress,
    wait_until,
    write_ini,
)
from tests.support.fusion import RESULT_KEYS
from tests.support.postgres import PostgresServer

pytest_plugins = ["pytester"]

MINIMAL: dict[str, dict[str, Any]] = {
    "general_settings": {
        "erlang_start": 300,
        "erlang_stop": 500,
        "erlang_step": 100,
        "max_iters": 2,
        "num_requests": 100,
        "holding_time": 0.2,
        "thread_num": "s1",
        "print_step": 15,
        "save_step": 10,
        "request_distribution": '{"25": 0.10, "50": 0.10, "100": 0.50, "200": 0.20, "400": 0.10}',
    },
    "topology_settings": {"network": "NSFNet", "cores_per_link": 3},
    "routing_settings": {"k_paths": 3},
    "rl_settings": {"is_training": False},
}


def config(tmp_path: Path, **sections: dict[str, Any]) -> Path:
    merged = {name: dict(values) for name, values in MINIMAL.items()}
    for name, values in sections.items():
        merged.setdefault(name, {}).update(values)
    return write_ini(tmp_path / "config.ini", merged)


def stub_argv(tmp_path: Path, *flags: str, cfg: Path | None = None) -> list[str]:
    return [
        sys.executable,
        str(STUB_SIM),
        "run_sim",
        "--config_path",
        str(cfg or config(tmp_path)),
        "--run_id",
        "0123456789ab",
        "--output_dir",
        str(tmp_path / "output"),
        "--progress_file",
        str(tmp_path / "progress.jsonl"),
        *flags,
    ]


def run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False, **kwargs)


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    wait_until(lambda: not group_members(pgid), what=f"group {pgid} to go")


# --- PostgreSQL --------------------------------------------------------------------


def test_postgres_serves(postgres_server: PostgresServer, pg_url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as conn:
            version = conn.execute(sa.text("SELECT version()")).scalar_one()
            listen = conn.execute(sa.text("SHOW listen_addresses")).scalar_one()
            fsync = conn.execute(sa.text("SHOW fsync")).scalar_one()
    finally:
        engine.dispose()
    assert version.startswith("PostgreSQL ")
    assert listen == "127.0.0.1"
    assert fsync == "off"
    assert pg_url.startswith(f"postgresql+psycopg://postgres@127.0.0.1:{postgres_server.port}/")
    assert postgres_server.startup_seconds < 30


def test_fresh_pg_url_is_a_new_empty_database(
    postgres_server: PostgresServer, fresh_pg_url: str
) -> None:
    name = fresh_pg_url.rsplit("/", 1)[1]
    assert re.fullmatch(r"test_[0-9a-f]{16}", name)
    assert postgres_server.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)) == [
        (1,)
    ]
    tables = postgres_server.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'", dbname=name
    )
    assert tables == [(0,)]


def test_drop_database_disconnects_clients(postgres_server: PostgresServer) -> None:
    import psycopg

    url = postgres_server.create_database()
    name = url.rsplit("/", 1)[1]
    conn = psycopg.connect(postgres_server.conninfo(name), autocommit=True)
    try:
        conn.execute("SELECT 1")
        postgres_server.drop_database(name)  # WITH (FORCE): an open connection is no obstacle
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
    finally:
        conn.close()
    assert postgres_server.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)) == []


def test_db_url_works_with_sqlalchemy(db_url: str, request: pytest.FixtureRequest) -> None:
    import sqlalchemy as sa

    backend = request.node.callspec.params["db_url"]
    assert db_url.startswith(
        {"sqlite": "sqlite:///", "postgresql": "postgresql+psycopg://"}[backend]
    )
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)"))
            conn.execute(sa.text("INSERT INTO t VALUES (1, 'a')"))
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT name FROM t")).scalar_one() == "a"
    finally:
        engine.dispose()


def test_db_url_postgresql_variant_is_marked(request: pytest.FixtureRequest) -> None:
    items = [
        i for i in request.session.items if i.name.startswith("test_db_url_works_with_sqlalchemy[")
    ]
    marked = {i.name for i in items if i.get_closest_marker("postgresql")}
    assert marked == {"test_db_url_works_with_sqlalchemy[postgresql]"}
    pg_tests = [i for i in request.session.items if i.name == "test_postgres_serves"]
    assert all(i.get_closest_marker("postgresql") for i in pg_tests)  # auto-marked


# --- CI policy: FUSION_JUPYTER_REQUIRE --------------------------------------------

POLICY_TESTS = """
import pytest

@pytest.mark.postgresql
def test_needs_pg():
    pytest.skip("no server here")

def test_plain_skip():
    pytest.skip("fine")

@pytest.mark.postgresql
@pytest.mark.xfail(reason="expected")
def test_xfail():
    assert False

def test_uses_pg_fixture(postgres_server):
    pass
"""


#: The policy (root conftest) and the PostgreSQL fixtures (the engine tests').
PLUGINS = ("-p", "tests.conftest", "-p", "tests.engine.conftest")


@pytest.fixture
def policy_pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    pytester.makeini("[pytest]\nmarkers =\n    postgresql: needs PostgreSQL\n")
    pytester.makepyfile(test_policy=POLICY_TESTS)
    # No server binaries: the PostgreSQL fixture skips.
    monkeypatch.setenv("FUSION_JUPYTER_PG_BINDIR", str(pytester.path / "no-such-dir"))
    return pytester


def test_require_turns_required_skips_into_failures(
    policy_pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FUSION_JUPYTER_REQUIRE", "postgresql")
    result = policy_pytester.runpytest(*PLUGINS, "-rA")
    # A skip in the call phase becomes a failure, one in fixture set-up an error.
    result.assert_outcomes(failed=1, errors=1, skipped=1, xfailed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "ERROR test_policy.py::test_uses_pg_fixture*",
            "FAILED test_policy.py::test_needs_pg*",
        ],
        consecutive=False,
    )
    result.stdout.fnmatch_lines(
        [
            "*needs postgresql and must not be skipped, but it was:",
            "*Skipped: PostgreSQL unavailable: PostgreSQL server binaries not found*",
        ]
    )


def test_without_require_skips_stay_skips(
    policy_pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FUSION_JUPYTER_REQUIRE", raising=False)
    result = policy_pytester.runpytest(*PLUGINS)
    result.assert_outcomes(skipped=3, xfailed=1)


def test_require_rejects_unknown_markers(
    policy_pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FUSION_JUPYTER_REQUIRE", "postgresql,postgress")
    result = policy_pytester.runpytest(*PLUGINS)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*FUSION_JUPYTER_REQUIRE names unregistered markers: postgress*"])


# --- stub simulator ----------------------------------------------------------------


def test_stub_writes_progress_events_logs_and_output(tmp_path: Path) -> None:
    proc = run(stub_argv(tmp_path, "--stdout-lines", "3", "--stderr-lines", "2"))
    assert proc.returncode == 0, proc.stderr
    events = read_progress(tmp_path / "progress.jsonl")
    kinds = [e["type"] for e in events]
    assert kinds == (
        ["start"] + ["erlang_start", "iteration", "iteration", "erlang_complete"] * 3 + ["complete"]
    )
    assert events[0]["config"] == {
        "total_erlangs": 3,
        "total_iterations": 2,
        "erlang_start": 300.0,
        "erlang_stop": 500.0,
        "erlang_step": 100.0,
    }
    assert events[1] == {**events[1], "erlang": 300.0, "erlang_index": 0, "total_erlangs": 3}
    assert [e["iteration"] for e in events if e["type"] == "iteration"] == [1, 2] * 3
    assert set(events[2]["metrics"]) == {"blocking_prob", "mean_hops"}
    assert set(events[4]["metrics"]) == {"mean_blocking", "ci_lower", "ci_upper"}
    assert events[-1]["exit_code"] == 0 and "total_time_seconds" in events[-1]["summary"]
    for event in events:
        assert event["ts"].endswith("+00:00")  # ISO-8601 UTC
    assert proc.stdout.count("stub_sim stdout line") == 3
    assert proc.stderr.count("stub_sim stderr line") == 2

    out = tmp_path / "output"
    assert sorted(p.name for p in out.iterdir()) == [
        "300.0_erlang.json",
        "400.0_erlang.json",
        "500.0_erlang.json",
        "results.csv",
    ]
    assert (out / "results.csv").read_text().splitlines()[0] == (
        "erlang,blocking_mean,ci_lower,ci_upper,iterations"
    )
    result = json.loads((out / "400.0_erlang.json").read_text())
    assert result["iter_stats"]["1"]["sim_block_list"] == [
        e["metrics"]["blocking_prob"]
        for e in events
        if e.get("erlang") == 400.0 and e["type"] == "iteration"
    ]
    assert result["blocking_mean"] == pytest.approx(events[8]["metrics"]["mean_blocking"])


def test_stub_reads_behaviour_from_config(tmp_path: Path) -> None:
    cfg = config(
        tmp_path,
        general_settings={"erlang_start": 100, "erlang_stop": 100, "max_iters": 4},
        stub={"exit_code": 4, "is_training": True},
    )
    proc = run(stub_argv(tmp_path, cfg=cfg))
    assert proc.returncode == 4
    events = read_progress(tmp_path / "progress.jsonl")
    assert [e["iteration"] for e in events if e["type"] == "iteration"] == [1, 2, 3, 4]
    result = json.loads((tmp_path / "output" / "100.0_erlang.json").read_text())
    assert result["blocking_mean"] is None and result["ci_rate_block"] is None
    assert len(result["iter_stats"]["3"]["sim_block_list"]) == 4


def test_stub_exit_code_writes_error_event_and_traceback(tmp_path: Path) -> None:
    proc = run(stub_argv(tmp_path, "--exit-code", "3", "--erlangs", "1", "--iterations", "1"))
    assert proc.returncode == 3
    assert "Traceback (most recent call last)" in proc.stderr
    last = read_progress(tmp_path / "progress.jsonl")[-1]
    assert last["type"] == "error" and "exit code 3" in last["message"]
    assert "RuntimeError" in last["traceback"]


def test_stub_stop_after_and_kill_self(tmp_path: Path) -> None:
    proc = run(stub_argv(tmp_path, "--stop-after", "3", "--kill-self", "SIGSEGV"))
    assert proc.returncode == -signal.SIGSEGV
    events = read_progress(tmp_path / "progress.jsonl")
    assert [e["type"] for e in events].count("iteration") == 3
    assert events[-1]["type"] == "iteration"  # died: no complete/error event


def test_stub_grandchild_lingers_in_the_same_process_group(tmp_path: Path) -> None:
    gc_file = tmp_path / "gc.pid"
    proc = subprocess.Popen(
        stub_argv(tmp_path, "--grandchild", "--grandchild-pid-file", str(gc_file)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert proc.wait(timeout=30) == 0
        grandchild = int(gc_file.read_text())
        assert pid_alive(grandchild)
        assert os.getpgid(grandchild) == proc.pid  # the stub led its own group
        assert group_members(proc.pid) == [grandchild]
    finally:
        kill_group(proc.pid)
    assert not pid_alive(grandchild)


def test_stub_ignoring_sigterm_needs_sigkill(tmp_path: Path) -> None:
    gc_file, ready, never = tmp_path / "gc.pid", tmp_path / "ready", tmp_path / "never"
    proc = subprocess.Popen(
        stub_argv(
            tmp_path,
            "--ignore-sigterm",
            "--grandchild",
            "--grandchild-pid-file",
            str(gc_file),
            "--ready-file",
            str(ready),
            "--wait-for",
            str(never),
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until(ready.exists, what="stub ready")
        grandchild = int(gc_file.read_text())
        wait_until(lambda: _sigterm_ignored(grandchild), what="grandchild to start")
        os.killpg(proc.pid, signal.SIGTERM)
        time.sleep(0.2)  # the scenario: a while after SIGTERM, nothing has died
        assert proc.poll() is None and pid_alive(grandchild)
        os.killpg(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
        wait_until(lambda: not pid_alive(grandchild), what="grandchild to die")
    finally:
        kill_group(proc.pid)


def _sigterm_ignored(pid: int) -> bool:
    """SIGTERM in the process's ignored-signal mask (and it's python already)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    ignored = int(re.search(r"^SigIgn:\s*([0-9a-f]+)$", status, re.M).group(1), 16)  # type: ignore[union-attr]
    return b"time.sleep" in cmdline and bool(ignored & (1 << (signal.SIGTERM - 1)))


def test_stub_half_written_line_is_completed_later(tmp_path: Path) -> None:
    release = tmp_path / "release"
    progress = tmp_path / "progress.jsonl"
    proc = subprocess.Popen(
        stub_argv(tmp_path, "--partial-line-at", "2", "--partial-line-release", str(release)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def half_written() -> str | None:
            text = progress.read_text() if progress.exists() else ""
            return text if text.count("\n") == 2 and not text.endswith("\n") else None

        text = wait_until(half_written, what="half a line")
        assert text.rsplit("\n", 1)[1].startswith('{"type":"iteration"')
        assert len(read_progress(progress)) == 2  # the half line is not an event yet
        release.touch()
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        proc.wait()
    events = read_progress(progress)
    assert events[2]["type"] == "iteration" and events[-1]["type"] == "complete"


def test_stub_malformed_line(tmp_path: Path) -> None:
    assert run(stub_argv(tmp_path, "--malformed-line-at", "1", "--erlangs", "1")).returncode == 0
    lines = (tmp_path / "progress.jsonl").read_text().splitlines()
    bad = []
    for number, line in enumerate(lines):
        try:
            json.loads(line)
        except json.JSONDecodeError:
            bad.append(number)
    assert bad == [1]
    assert json.loads(lines[2])["type"] == "erlang_start"


def test_stub_wait_for_and_delay(tmp_path: Path) -> None:
    go, ready = tmp_path / "go", tmp_path / "ready"
    proc = subprocess.Popen(
        stub_argv(
            tmp_path,
            "--wait-for",
            str(go),
            "--ready-file",
            str(ready),
            "--erlangs",
            "1",
            "--iterations",
            "2",
            "--delay",
            "0.05",
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(ready.exists, what="stub ready")
        time.sleep(0.05)  # the scenario: until it is told to go, it writes nothing more
        assert [e["type"] for e in read_progress(tmp_path / "progress.jsonl")] == ["start"]
        started = time.monotonic()
        go.touch()
        assert proc.wait(timeout=30) == 0
        assert time.monotonic() - started >= 0.1  # two iterations of 50 ms
    finally:
        proc.kill()
        proc.wait()


def test_stub_without_progress_file(tmp_path: Path) -> None:
    proc = run(stub_argv(tmp_path, "--no-progress", "--no-output", "--erlangs", "1"))
    assert proc.returncode == 0
    assert not (tmp_path / "progress.jsonl").exists()
    assert not (tmp_path / "output").exists()


# --- FUSION stand-in ---------------------------------------------------------------

LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - (fusion\.[a-z_.]+) - (INFO|WARNING|ERROR) - (.*)$"
)


def standin_argv(cfg: Path | str, *flags: str) -> list[str]:
    """The stand-in's command line as the engine runs it, for ``cfg`` and a fixed run id."""
    placeholders = {"{config_path}": str(cfg), "{run_id}": "0123456789ab"}
    return [placeholders.get(arg, arg) for arg in fusion_standin_command(*flags)]


def test_standin_prints_fusion_lines_and_writes_its_files(
    tmp_path: Path, fusion_standin_root: Path
) -> None:
    cfg = config(tmp_path)
    proc = run(
        standin_argv(
            cfg,
            "--output_dir",
            str(tmp_path / "ignored"),
            "--progress_file",
            str(tmp_path / "ignored.jsonl"),
        )
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert not (tmp_path / "ignored").exists() and not (tmp_path / "ignored.jsonl").exists()

    records = [m.groups() for m in map(LOG_LINE.match, proc.stderr.splitlines()) if m]
    messages = [msg for _, _, msg in records]
    assert (
        "fusion.utils.logging_config",
        "INFO",
        "Starting simulation for 300.0 Erlang (load 1/3)",
    ) in records
    assert "Starting simulation for 500.0 Erlang (load 3/3)" in messages
    assert (
        "fusion.core.simulation",
        "INFO",
        "Simulation started for Erlang: 300.0 simulation number: s1",
    ) in records
    assert ("fusion.core.request", "INFO", "Generated 100 requests") in records
    assert (
        "fusion.core.simulation",
        "INFO",
        "Iteration 2 out of 2 completed for Erlang: 400.0",
    ) in records
    assert any(m.startswith("Mean of blocking: 0.") for m in messages)
    assert messages.count("CHILD=s1 iteration=0, done_units=1") == 3
    assert messages.count("CHILD=s1 iteration=1, done_units=2") == 3
    assert "Simulation finished for Erlang: 300.0 finished for simulation number: s1." in messages
    assert any(re.fullmatch(r"Completed 500\.0 Erlang in \d+\.\d\d seconds", m) for m in messages)
    assert "BATCH SIMULATION SUMMARY" in messages
    assert proc.stderr.count("  Blocking: 0.0000") == 3 and proc.stderr.count("  Requests: 0") == 3

    saving = {m.split(": ", 1)[1] for m in messages if m.startswith("Saving to: ")}
    assert len(saving) == 1
    save_dir = Path(saving.pop())
    rel = save_dir.relative_to(fusion_standin_root).as_posix()
    assert re.fullmatch(r"data/output/NSFNet/\d{4}/\d\d_\d\d_\d\d_\d{6}/s1", rel)
    assert sorted(p.name for p in save_dir.iterdir()) == [
        "300.0_erlang.json",
        "400.0_erlang.json",
        "500.0_erlang.json",
    ]
    result = json.loads((save_dir / "300.0_erlang.json").read_text())
    assert set(result) >= set(RESULT_KEYS)
    assert set(result["iter_stats"]) == {"0", "1"}
    values = result["iter_stats"]["1"]["sim_block_list"]
    assert len(values) == 2 and result["blocking_mean"] == pytest.approx(sum(values) / 2)
    assert re.fullmatch(r"\d{4}_\d\d_\d\d_\d\d_\d{6}", result["sim_end_time"])


def test_standin_training_config_gives_null_statistics(
    tmp_path: Path, fusion_standin_root: Path
) -> None:
    cfg = config(
        tmp_path,
        rl_settings={"is_training": True},
        general_settings={"erlang_start": 300, "erlang_stop": 300},
    )
    proc = run(standin_argv(cfg, "--max_iters", "3"))  # flags named like keys override the INI
    assert proc.returncode == 0, proc.stderr
    assert "Iteration 3 out of 3 completed for Erlang: 300.0" in proc.stderr
    (path,) = fusion_standin_root.glob("data/output/NSFNet/*/*/s1/300.0_erlang.json")
    result = json.loads(path.read_text())
    assert result["blocking_mean"] is None and result["blocking_variance"] is None
    assert result["ci_rate_block"] is None and result["ci_percent_block"] is None
    assert len(result["iter_stats"]["2"]["sim_block_list"]) == 3


@pytest.mark.parametrize("how", ["flag", "config"])
def test_standin_failure_exits_1_with_traceback(
    tmp_path: Path, fusion_standin_root: Path, how: str
) -> None:
    if how == "flag":
        proc = run(standin_argv(config(tmp_path), "--standin-fail", "iteration"))
        assert proc.stderr.count("CHILD=s1 iteration=0, done_units=1") == 1
    else:
        proc = run(standin_argv(config(tmp_path, standin={"fail": "start"})))
        assert "CHILD=" not in proc.stderr
    assert proc.returncode == 1
    assert "Traceback (most recent call last)" in proc.stderr
    assert proc.stderr.rstrip().splitlines()[-1].startswith("StandinFailure: stand-in failure")


def test_standin_relative_config_path_and_early_stop(
    tmp_path: Path, fusion_standin_root: Path
) -> None:
    config(
        fusion_standin_root,
        general_settings={"erlang_start": 3000, "erlang_stop": 3000, "max_iters": 10},
    )
    proc = run(standin_argv("config.ini", "--standin-early-stop", "2"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert re.search(
        r"fusion\.core\.metrics - INFO - Confidence interval of \d+\.\d\d% reached\. 2, "
        r"ending for Erlang: 3000\.0",
        proc.stderr,
    )
    assert "CHILD=s1 iteration=2" not in proc.stderr


def test_standin_refuses_requests_that_do_not_split(
    tmp_path: Path, fusion_standin_root: Path
) -> None:
    proc = run(standin_argv(config(tmp_path, general_settings={"num_requests": 7})))
    assert proc.returncode == 1
    assert "ValueError: The number of requests could not be distributed" in proc.stderr
