"""Faults the engine must ride out: database outages, full disks, oversized work.

Nothing may be left stuck (a run RUNNING whose process has ended), and nothing a
client sends may cost unbounded time or memory.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from fusion_jupyter.engine import RunManager, Status, config
from fusion_jupyter.engine.errors import ValidationFailed
from fusion_jupyter.engine.launcher import write_json_atomic
from fusion_jupyter.engine.logs import TAIL_BLOCK, TAIL_MAX_BYTES, tail_lines
from fusion_jupyter.engine.manager import MAX_ERROR_CHARS, MAX_SWEEP_RUNS, MAX_TAGS
from fusion_jupyter.engine.procinfo import is_alive
from fusion_jupyter.engine.store import SWEEP_BATCH_ROWS
from tests.support.engine import make_manager, stub_command, wait_terminal, wait_until
from tests.support.jupyter import running_server
from tests.support.postgres import PostgresServer, start_or_skip

#: Runs that ended during an outage must be settled this soon after it is over.
SETTLE_AFTER_OUTAGE_SECONDS = 5.0


@pytest.fixture(scope="module")
def outage_pg() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this module's own: its tests stop and restart it."""
    with start_or_skip() as server:
        yield server


@pytest.fixture
def outage_url(outage_pg: PostgresServer) -> str:
    return outage_pg.create_database()


def _failed_settling(caplog: pytest.LogCaptureFixture, run_id: str) -> bool:
    return any(
        run_id in record.getMessage() and record.levelno >= logging.WARNING
        for record in caplog.records
    )


@pytest.mark.postgresql
def test_a_run_that_ends_during_a_database_outage_settles_when_it_is_back(
    tmp_path: Path, outage_pg: PostgresServer, outage_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    gate = tmp_path / "gate"
    command = stub_command("--wait-for", str(gate))
    with (
        make_manager(tmp_path, outage_url, simulator_command=command) as first,
        make_manager(tmp_path, outage_url, simulator_command=command) as second,
    ):
        run = first.create("minimal")
        pid = wait_until(lambda: first.get(run.id).pid, what="the run's process")
        wait_until(lambda: run.id in second._trackers, what="the second manager to follow it")
        outage_pg.pause()
        try:
            gate.touch()
            wait_until(lambda: not is_alive(pid, None), what="the run's process to end")
            wait_until(lambda: _failed_settling(caplog, run.id), what="a failed attempt to settle")
        finally:
            outage_pg.resume()
        back = time.monotonic()
        for manager in (first, second):
            done = wait_terminal(manager, run.id, timeout=SETTLE_AFTER_OUTAGE_SECONDS)
            assert done.status == Status.COMPLETED and done.exit_code == 0
        assert time.monotonic() - back < SETTLE_AFTER_OUTAGE_SECONDS
        # It no longer holds a slot: the next run starts.
        gate2 = tmp_path / "gate2"
        gate2.touch()
        assert wait_terminal(first, first.create("minimal").id).status == Status.COMPLETED


@pytest.mark.postgresql
def test_during_an_outage_the_api_answers_503_and_settles_after_it(
    tmp_path: Path, outage_pg: PostgresServer, outage_url: str
) -> None:
    gate = tmp_path / "gate"
    shared = {
        "db_url": outage_url,
        "runs_dir": str(tmp_path / "runs"),
        "simulator_command": stub_command("--wait-for", str(gate)),
    }
    with (
        running_server(tmp_path / "one", fusion=shared) as one,
        running_server(tmp_path / "two", fusion=shared) as two,
    ):
        servers = [(s, s.session()) for s in (one, two)]
        answer = servers[0][1].post(one.url("runs"), json={"template": "minimal"})
        assert answer.status_code == 201, answer.text
        run_id = answer.json()["id"]
        pid = wait_until(lambda: servers[1][1].get(two.url(f"runs/{run_id}")).json()["pid"])
        outage_pg.pause()
        try:
            gate.touch()
            wait_until(lambda: not is_alive(pid, None), what="the run's process to end")
            for server, http in servers:
                for method, path, body in (
                    ("GET", "runs", None),
                    ("GET", f"runs/{run_id}", None),
                    ("POST", "runs", {"template": "minimal"}),
                ):
                    answer = http.request(method, server.url(path), json=body)
                    assert answer.status_code == 503, (method, path, answer.text)
                    error = answer.json()["error"]
                    assert error["code"] == "unavailable"
                    assert "database is unreachable" in error["message"], error
                ready = http.get(server.url("health/ready"))
                assert ready.status_code == 503
                assert ready.json()["database"].startswith("the run database is unreachable")
            wait_until(
                lambda: any("end is recorded once" in s.log_path.read_text() for s in (one, two)),
                what="a server to have tried to record the run's end",
            )
        finally:
            outage_pg.resume()
        for server, http in servers:
            done = wait_until(
                lambda s=server, h=http: _terminal(h.get(s.url(f"runs/{run_id}")).json()),
                SETTLE_AFTER_OUTAGE_SECONDS,
                "the run to be settled",
            )
            assert done["status"] == "COMPLETED" and done["exit_code"] == 0
            assert http.get(server.url("health/ready")).status_code == 200
        # Each fault was logged when it began and when it ended, not once a cycle.
        for server in (one, two):
            text = server.log_path.read_text()
            for what in ("syncing with the run database", "recording the end of a run"):
                assert text.count(f"{what} failed") <= 1, server.log_tail()


def _terminal(run: dict[str, Any]) -> dict[str, Any] | None:
    return run if run["status"] in ("COMPLETED", "FAILED", "CANCELLED") else None


# --------------------------------------------------------------------------- bounded work


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[RunManager]:
    with make_manager(tmp_path) as m:
        yield m


def test_a_grid_over_the_limit_is_refused_before_it_is_expanded(manager: RunManager) -> None:
    # 100 ** 4 points: expanding them first would need about 20 GB.
    grid = {f"general_settings.k{i}": list(range(100)) for i in range(4)}
    tracemalloc.start()
    try:
        with pytest.raises(ValidationFailed) as refused:
            manager.create_sweep("minimal", grid)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [(p.section, p.key) for p in refused.value.problems] == [("grid", "")]
    assert "100000000 runs" in str(refused.value) and str(MAX_SWEEP_RUNS) in str(refused.value)
    assert peak < 1 << 20, f"{peak} bytes allocated to refuse it"


def test_tags_per_run_are_bounded(manager: RunManager) -> None:
    tags = [f"t{i}" for i in range(MAX_TAGS + 1)]
    with pytest.raises(ValidationFailed) as refused:
        manager.create("minimal", tags=tags)
    assert [(p.section, p.key) for p in refused.value.problems] == [("run", "tags")]
    assert f"at most {MAX_TAGS} tags" in str(refused.value)
    with pytest.raises(ValidationFailed):
        manager.create_sweep("minimal", {"general_settings.max_iters": [1, 2]}, tags=tags)
    assert manager.list_runs().runs == []
    assert manager.create("minimal", tags=tags[:MAX_TAGS]).tags == sorted(tags[:MAX_TAGS])


def test_a_big_sweep_is_written_in_short_transactions(
    manager: RunManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(manager, "_fill_slots", lambda: None)  # only the writing matters
    rows_per_transaction: list[int] = []
    engine = manager.store.engine

    def on_begin(_conn: Any) -> None:
        rows_per_transaction.append(0)

    def on_execute(_conn: Any, cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT"):
            rows_per_transaction[-1] += cursor.rowcount

    event.listen(engine, "begin", on_begin)
    event.listen(engine, "after_cursor_execute", on_execute)
    try:
        tags = [f"t{i}" for i in range(MAX_TAGS)]
        grid = {"general_settings.max_iters": list(range(1, 301))}
        sweep, runs = manager.create_sweep("minimal", grid, tags=tags)
    finally:
        event.remove(engine, "begin", on_begin)
        event.remove(engine, "after_cursor_execute", on_execute)
    assert len(runs) == 300 and all(len(r.tags) == MAX_TAGS + 1 for r in runs)  # + sweep:<id>
    assert [r.id for r in manager.get_sweep(sweep.id)[1]] == [r.id for r in runs]
    assert sum(rows_per_transaction) == 1 + 300 * (MAX_TAGS + 2)  # the sweep, runs, tags
    assert max(rows_per_transaction) <= SWEEP_BATCH_ROWS, rows_per_transaction


def test_a_sweep_that_fails_half_way_keeps_no_half_state(
    manager: RunManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = manager.store.write
    writes = 0

    @contextmanager
    def failing_third_write(**kwargs: Any) -> Iterator[Any]:
        nonlocal writes
        writes += 1
        if writes == 3:  # the sweep row, one batch of runs, then the database is gone
            raise OperationalError("INSERT", {}, Exception("database is unreachable"))
        with real_write(**kwargs) as session:
            yield session

    monkeypatch.setattr(manager.store, "write", failing_third_write)
    monkeypatch.setattr(manager, "_fill_slots", lambda: None)
    tags = [f"t{i}" for i in range(MAX_TAGS)]
    grid = {"general_settings.max_iters": list(range(1, 201))}
    with pytest.raises(OperationalError):
        manager.create_sweep("minimal", grid, tags=tags)
    monkeypatch.undo()
    runs = manager.list_runs(limit=500).runs
    assert runs, "the first batch was committed"
    for run in runs:  # written whole, then cancelled with the reason; directories kept
        assert run.status == Status.CANCELLED
        assert "could not be created whole" in run.error
        assert (Path(run.run_dir) / "config.ini").exists()
    on_disk = {p.name for p in manager.settings.runs_dir.iterdir()}
    assert on_disk == {run.id for run in runs}


# --------------------------------------------------------------------------- logs


def test_the_tail_of_a_log_without_newlines_reads_a_bounded_end(tmp_path: Path) -> None:
    log = tmp_path / "sim.log"
    log.write_bytes(b"x" * (TAIL_MAX_BYTES * 8) + b"the end")
    chunk = tail_lines(log, 1)
    assert chunk.size == TAIL_MAX_BYTES * 8 + 7 and chunk.next_offset == chunk.size
    assert len(chunk.data) <= TAIL_MAX_BYTES and chunk.data.endswith("xthe end")
    assert chunk.offset == chunk.size - len(chunk.data.encode())


@pytest.mark.parametrize("end", [b"\r", b"\n", b"\r\n"])
def test_carriage_returns_end_lines_as_newlines_do(tmp_path: Path, end: bytes) -> None:
    log = tmp_path / "sim.log"
    bars = [f"{p:3d}% |{'#' * (p // 10):10s}|".encode() for p in range(0, 101, 5)]
    log.write_bytes(end.join(bars) + end)
    chunk = tail_lines(log, 2)
    assert chunk.data.encode() == bars[-2] + end + bars[-1] + end
    assert chunk.offset == log.stat().st_size - len(chunk.data)


def test_a_crlf_split_across_blocks_is_one_line_end(tmp_path: Path) -> None:
    log = tmp_path / "sim.log"
    first = b"a" * (TAIL_BLOCK - 1) + b"\r"  # "\r" ends a block, "\n" starts the next
    log.write_bytes(b"zero\n" + first + b"\n" + b"last\n")
    assert tail_lines(log, 2).data.encode() == b"a" * 4 + first[4:] + b"\n" + b"last\n"


def test_the_tail_does_not_start_inside_a_character(tmp_path: Path) -> None:
    log = tmp_path / "sim.log"
    log.write_bytes("é".encode() * TAIL_MAX_BYTES)  # two bytes each, no newline
    data = tail_lines(log, 1).data
    assert data and set(data) == {"é"}


def test_a_failure_message_is_capped_and_so_is_the_status_frame(tmp_path: Path) -> None:
    one_line = "y" * (5 << 20)  # a 5 MB log line with no newline
    with make_manager(tmp_path) as m:
        run = m.create("minimal", {"stub": {"exit_code": 3, "wait_for": str(tmp_path / "go")}})
        wait_until(lambda: m.get(run.id).pid, what="the run to start")
        status = m.hub.subscribe_status(notify=lambda: None)
        log = Path(run.run_dir) / "logs" / "sim.log"
        with log.open("a") as fh:
            fh.write(one_line)
        (tmp_path / "go").touch()
        done = wait_terminal(m, run.id)
        frames: list[dict[str, Any]] = []

        def failed_frame() -> bool:
            # The row turns FAILED before its status frame is published: wait for it.
            drained = status.drain()
            frames.extend(msg for msg in drained if msg.get("run", {}).get("id") == run.id)
            return any(f["run"]["status"] == "FAILED" for f in frames)

        wait_until(failed_frame, what="the FAILED status frame")
    assert done.status == Status.FAILED and "exited with code 3" in done.error
    assert len(done.error) <= MAX_ERROR_CHARS and "y" * 100 in done.error
    final = [f for f in frames if f["run"]["status"] == "FAILED"]
    assert final and all(len(json.dumps(f)) < MAX_ERROR_CHARS for f in frames)
    # Status frames carry the reason, never the log; the run itself has the whole error.
    (last,) = final
    assert "exited with code 3" in last["run"]["error"] and "yyy" not in last["run"]["error"]
    assert last["run"]["error_truncated"] is True


# --------------------------------------------------------------------------- full disk

#: A simulator that writes 30 MB to its log (stdout), more than the 20 MB runs_dir holds.
FILL_DISK = [
    sys.executable,
    "-c",
    "import sys\nfor _ in range(30): sys.stdout.write('z' * (1 << 20))\n",
]


@pytest.fixture
def small_runs_dir(tmp_path: Path) -> Iterator[Path]:
    """A 20 MB tmpfs as the runs directory (the database stays outside it)."""
    mount = tmp_path / "runs"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "--lazy", str(mount)], check=False)


def test_a_full_disk_is_named_and_refused_and_leaves_nothing_stuck(
    tmp_path: Path, small_runs_dir: Path
) -> None:
    settings = {
        "runs_dir": str(small_runs_dir),
        "db_url": f"sqlite:///{tmp_path}/runs.db",
        "simulator_command": FILL_DISK,
        "min_free_disk_bytes": 1 << 20,
    }
    with running_server(tmp_path / "home", fusion=settings) as server:
        http = server.session()
        answer = http.post(server.url("runs"), json={"template": "minimal"})
        assert answer.status_code == 201, answer.text
        run_id = answer.json()["id"]
        done = wait_until(
            lambda: _terminal(http.get(server.url(f"runs/{run_id}")).json()),
            30,
            "the run that fills the disk to end",
        )
        assert done["status"] == "FAILED"
        assert "ENOSPC" in done["error"], done["error"]
        run_dir = small_runs_dir / run_id
        assert json.loads((run_dir / "exit.json").read_text())["exit_code"] == 1
        assert not [p.name for p in run_dir.iterdir() if p.name.endswith(".tmp")]

        # Still full: new work is refused with 507 and a clear message, nothing is left.
        before = set(small_runs_dir.iterdir())
        for path, body in (
            ("runs", {"template": "minimal"}),
            ("sweeps", {"template": "minimal", "grid": {"general_settings.max_iters": [1, 2]}}),
        ):
            answer = http.post(server.url(path), json=body)
            assert answer.status_code == 507, (path, answer.text)
            error = answer.json()["error"]
            assert error["code"] == "insufficient_storage" and "ENOSPC" in error["message"]
        assert set(small_runs_dir.iterdir()) == before
        ready = http.get(server.url("health/ready"))
        assert ready.status_code == 503 and ready.json()["disk"].startswith("low:"), ready.text
        assert all(
            r["status"] not in ("RUNNING", "PENDING")
            for r in http.get(server.url("runs")).json()["runs"]
        )

        # Room again: everything works.
        (run_dir / "logs" / "sim.log").unlink()
        assert http.get(server.url("health/ready")).status_code == 200
        answer = http.post(server.url("runs"), json={"template": "minimal"})
        assert answer.status_code == 201, answer.text
    assert "Traceback" not in server.log_path.read_text(), server.log_tail()


def test_an_exit_record_that_cannot_be_written_leaves_no_empty_file(
    small_runs_dir: Path,
) -> None:
    filler = small_runs_dir / "filler"
    with filler.open("wb") as fh, contextlib.suppress(OSError):
        while True:
            fh.write(b"f" * (1 << 20))
    with contextlib.suppress(OSError), filler.open("ab") as fh:  # the last few pages too
        while True:
            fh.write(b"f" * 4096)
            fh.flush()
    with pytest.raises(OSError) as failed:
        write_json_atomic(str(small_runs_dir / "exit.json"), {"exit_code": 0, "pad": "x" * 8192})
    assert failed.value.errno == errno.ENOSPC
    assert sorted(p.name for p in small_runs_dir.iterdir()) == ["filler"]


# --------------------------------------------------------------------------- probing files


@pytest.mark.parametrize(
    "table",
    [
        '{"DEFAULT": {"100": "x"}}',
        '{"DEFAULT": {"100": {"QPSK": 7}}}',
        '{"DEFAULT": {"100": {"QPSK": {"max_length": "far"}}}}',
        '{"DEFAULT": ["not", "an", "object"]}',
    ],
)
def test_a_malformed_modulation_table_is_a_refusal_not_a_crash(tmp_path: Path, table: str) -> None:
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "mods.json").write_text(table)
    with make_manager(
        tmp_path, f"sqlite:///{tmp_path}/runs.db", data_paths=[tmp_path / "lab"]
    ) as m:
        path = str(tmp_path / "lab" / "mods.json")
        cfg = config.merge(
            m.templates.load("minimal"), {"general_settings.mod_assumption_path": path}
        )
        errors = m.validate(cfg, "builtin").errors
    assert [(p.section, p.key) for p in errors] == [("general_settings", "mod_assumption")]
    assert "malformed" in errors[0].message


def test_a_refused_path_is_never_read_by_the_simulators_checks(tmp_path: Path) -> None:
    with make_manager(tmp_path) as m:
        base = m.templates.load("minimal")
        for key in ("general_settings.mod_assumption_path", "topology_settings.network"):
            for path in ("/etc/passwd", "/etc/shadow", "/nonexistent/file"):
                errors = m.validate(config.merge(base, {key: path}), "builtin").errors
                # One answer for every path outside: nothing about the file itself.
                assert [p.message for p in errors] == [
                    f"{path!r} is outside the directories configs may read files from "
                    "(FUSION's root and c.FusionJupyter.data_paths)"
                ], errors
