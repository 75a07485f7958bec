"""Runs outlive their supervisor: a manager killed with SIGKILL, and the next one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from fusion_jupyter.engine import Status
from fusion_jupyter.engine.procinfo import is_alive
from tests.support import MANAGER_PROC
from tests.support.engine import (
    make_manager,
    manager_kwargs,
    stub_command,
    wait_terminal,
    wait_until,
)


def _spawn_manager(tmp_path: Path, db_url: str, runs: list, **settings):
    kwargs = manager_kwargs(tmp_path, db_url, **settings)
    kwargs["runs_dir"] = str(kwargs["runs_dir"])
    proc = subprocess.Popen(
        [sys.executable, str(MANAGER_PROC), json.dumps(kwargs), json.dumps(runs)],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    assert line, "the manager process died before creating its runs"
    return proc, json.loads(line)


def _kill9(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def test_sigkilled_manager_leaves_the_run_going_and_the_next_one_finishes_it(tmp_path, db_url):
    gate = tmp_path / "gate"
    proc, (run_id,) = _spawn_manager(
        tmp_path,
        db_url,
        [["minimal", {}]],
        simulator_command=stub_command("--wait-for", str(gate), "--exit-code", "4"),
    )
    with make_manager(tmp_path, db_url) as observer:
        pid = wait_until(lambda: observer.get(run_id).pid, what="the run's process")
    _kill9(proc)
    run_dir = Path(tmp_path / "runs" / run_id)
    started = observer.get(run_id).proc_start
    assert is_alive(pid, started), "the simulation died with its manager"
    with make_manager(tmp_path, db_url) as again:
        assert again.get(run_id).status == Status.RUNNING
        assert run_id in again._trackers  # re-attached, not just re-read
        gate.touch()
        done = wait_terminal(again, run_id)
    assert done.status == Status.FAILED and done.exit_code == 4
    assert "exited with code 4" in done.error
    assert (run_dir / "exit.json").exists()
    assert any(e["type"] == "error" for e in again.events(run_id))


def test_a_run_that_ended_while_no_manager_lived_is_settled_from_its_exit_record(tmp_path, db_url):
    gate = tmp_path / "gate"
    proc, (ok, bad) = _spawn_manager(
        tmp_path,
        db_url,
        [["minimal", {}], ["minimal", {"stub": {"exit_code": 5}}]],
        simulator_command=stub_command("--wait-for", str(gate)),
    )
    with make_manager(tmp_path, db_url, max_concurrent_runs=1) as observer:
        wait_until(lambda: observer.get(ok).pid and observer.get(bad).pid, what="both started")
    _kill9(proc)
    gate.touch()
    for run_id in (ok, bad):
        wait_until((tmp_path / "runs" / run_id / "exit.json").exists, what="the exit record")
    with make_manager(tmp_path, db_url) as again:
        assert again.get(ok).status == Status.COMPLETED and again.get(ok).exit_code == 0
        assert again.get(ok).percent == 100.0
        assert again.get(bad).status == Status.FAILED and again.get(bad).exit_code == 5


def test_a_run_whose_process_vanished_without_a_record_fails_with_a_reason(tmp_path, db_url):
    proc, (run_id,) = _spawn_manager(
        tmp_path,
        db_url,
        [["minimal", {}]],
        simulator_command=stub_command("--wait-for", str(tmp_path / "never")),
    )
    with make_manager(tmp_path, db_url) as observer:
        pgid = wait_until(lambda: observer.get(run_id).pgid, what="the process")
    _kill9(proc)
    os.killpg(pgid, signal.SIGKILL)  # launcher and simulator die: no exit record
    wait_until(lambda: not is_alive(pgid, None), what="the group to die")
    with make_manager(tmp_path, db_url) as again:
        run = again.get(run_id)
        assert run.status == Status.FAILED and run.exit_code is None
        assert "without recording an exit code" in run.error
    assert not list((tmp_path / "runs" / run_id).glob(".exit.json.*"))  # its reserve is gone


def test_a_reused_pid_is_not_mistaken_for_the_run(tmp_path, db_url):
    with make_manager(
        tmp_path, db_url, simulator_command=stub_command("--wait-for", str(tmp_path / "never"))
    ) as m:
        run = m.create("minimal")
        wait_until(lambda: m.get(run.id).pid, what="the process")
        pgid = m.get(run.id).pgid
        m.settings.on_shutdown = "detach"
    os.killpg(pgid, signal.SIGKILL)
    wait_until(lambda: not is_alive(pgid, None), what="the group to die")
    # Pretend the run's pid now belongs to another live process: this test's own.
    m.store.update(run.id, pid=os.getpid(), pgid=os.getpid(), proc_start=12345)
    with make_manager(tmp_path, db_url) as again:
        assert again.get(run.id).status == Status.FAILED
    assert is_alive(os.getpid(), None)


def test_pending_runs_survive_and_start_under_the_next_manager(tmp_path, db_url):
    gate = tmp_path / "gate"
    proc, ids = _spawn_manager(
        tmp_path,
        db_url,
        [["minimal", {}]] * 3,
        max_concurrent_runs=1,
        simulator_command=stub_command("--wait-for", str(gate)),
    )
    _kill9(proc)
    with make_manager(
        tmp_path, db_url, max_concurrent_runs=1, simulator_command=stub_command()
    ) as again:
        gate.touch()
        assert [wait_terminal(again, i).status for i in ids] == [Status.COMPLETED] * 3


def test_a_live_manager_adopts_the_runs_of_one_that_died(tmp_path, db_url):
    gate = tmp_path / "gate"
    with make_manager(tmp_path, db_url) as survivor:
        proc, (run_id,) = _spawn_manager(
            tmp_path,
            db_url,
            [["minimal", {"stub": {"exit_code": 2}}]],
            simulator_command=stub_command("--wait-for", str(gate)),
        )
        wait_until(lambda: run_id in survivor._trackers, what="the survivor to watch the run")
        _kill9(proc)
        gate.touch()
        done = wait_terminal(survivor, run_id)
        assert done.status == Status.FAILED and done.exit_code == 2


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_claim_whose_manager_died_before_starting_is_requeued(tmp_path, db_url):
    from datetime import timedelta

    from fusion_jupyter.engine import RunManager
    from fusion_jupyter.engine.models import utcnow

    idle = RunManager(**manager_kwargs(tmp_path, db_url))  # never started: creates only
    queued = idle.create("minimal")
    # As if a manager had claimed the run and died before it could start a process.
    idle.store.update(queued.id, status=Status.RUNNING, started_at=utcnow() - timedelta(minutes=5))
    idle.close()
    with make_manager(tmp_path, db_url) as again:
        assert wait_terminal(again, queued.id).status == Status.COMPLETED


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_fresh_claim_never_started_is_requeued_once_stale_with_nothing_else_happening(
    tmp_path, db_url, monkeypatch
):
    """The sync thread sleeps until a commit; the one thing that shows only with time,
    a claim going stale, has its own wake-up."""
    from datetime import timedelta

    from fusion_jupyter.engine import RunManager, manager
    from fusion_jupyter.engine.models import utcnow

    monkeypatch.setattr(manager, "START_GRACE", timedelta(seconds=2))
    idle = RunManager(**manager_kwargs(tmp_path, db_url))  # never started: creates only
    queued = idle.create("minimal")
    # Claimed just now by a manager that then died: not stale yet when first seen.
    idle.store.update(queued.id, status=Status.RUNNING, started_at=utcnow())
    idle.close()
    with make_manager(tmp_path, db_url) as again:
        assert wait_terminal(again, queued.id, timeout=60).status == Status.COMPLETED
