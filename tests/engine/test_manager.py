"""RunManager with the local executor, real subprocesses and real databases."""

from __future__ import annotations

import configparser
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from fusion_jupyter.engine import Conflict, RunManager, Status, ValidationFailed
from fusion_jupyter.engine.hub import Subscription
from fusion_jupyter.engine.models import RANK
from fusion_jupyter.engine.procinfo import group_members, is_alive
from tests.support.engine import make_manager, stub_command, wait_terminal, wait_until


@pytest.fixture
def manager(tmp_path, db_url):
    m = make_manager(tmp_path, db_url)
    yield m
    m.close()


def _frozen(run) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(Path(run.run_dir) / "config.ini")
    return parser


def test_a_run_completes_with_its_overrides_progress_and_exit_code(manager):
    run = manager.create(
        "minimal",
        {"general_settings": {"max_iters": 3, "erlang_stop": 400}},
        name="baseline",
        tags=["a", "b"],
    )
    assert run.status in (Status.PENDING, Status.RUNNING)
    assert len(run.id) == 12 and all(c in "0123456789abcdef" for c in run.id)
    # FUSION's GUI copied the template as is: here the overrides are in the frozen file.
    frozen = _frozen(run)
    assert frozen["general_settings"]["max_iters"] == "3"
    assert frozen["general_settings"]["erlang_stop"] == "400"
    assert frozen["routing_settings"]["k_paths"] == "3"  # from the template
    done = wait_terminal(manager, run.id)
    assert done.status == Status.COMPLETED and done.exit_code == 0 and done.error is None
    assert done.started_at and done.completed_at and done.completed_at >= done.started_at
    assert done.percent == 100.0 and done.tags == ["a", "b"] and done.name == "baseline"
    assert done.erlang_count == 2 and done.iteration_count == 3
    events = manager.events(run.id)
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert events[0]["type"] == "start" and events[-1]["type"] == "complete"
    assert sum(e["type"] == "iteration" for e in events) == 6
    assert manager.events(run.id, after=len(events) - 2) == events[-1:]
    assert os.stat(Path(run.run_dir) / "config.ini").st_mode & 0o222 == 0  # frozen


def test_a_second_run_starts_while_the_first_runs(tmp_path, db_url):
    gate = tmp_path / "gate"
    command = stub_command("--wait-for", str(gate))
    with make_manager(tmp_path, db_url, simulator_command=command) as m:
        first, second = m.create("minimal"), m.create("minimal")
        wait_until(
            lambda: (
                m.get(first.id).status == Status.RUNNING
                and m.get(second.id).status == Status.RUNNING
            ),
            what="both running",
        )
        gate.touch()
        assert wait_terminal(m, first.id).status == Status.COMPLETED
        assert wait_terminal(m, second.id).status == Status.COMPLETED


def test_a_failing_run_says_why_with_the_last_log_lines(manager):
    run = manager.create("minimal", {"stub": {"exit_code": 3}})
    done = wait_terminal(manager, run.id)
    assert done.status == Status.FAILED and done.exit_code == 3
    assert "exited with code 3" in done.error
    assert "Last lines of logs/sim.log" in done.error
    assert "Traceback" in done.error or "Error" in done.error


def test_a_run_killed_by_a_signal_names_the_signal(manager):
    run = manager.create("minimal", {"stub": {"kill_self": "SIGSEGV"}})
    done = wait_terminal(manager, run.id)
    assert done.status == Status.FAILED and done.exit_code is None
    assert "SIGSEGV" in done.error


def test_a_missing_simulator_binary_fails_the_run_clearly(tmp_path, db_url):
    with make_manager(tmp_path, db_url, simulator_command=["/nonexistent/fusion-sim"]) as m:
        done = wait_terminal(m, m.create("minimal").id)
        assert done.status == Status.FAILED and done.exit_code == 127
        assert "/nonexistent/fusion-sim" in done.error


def test_cancel_stops_the_whole_group(tmp_path, db_url):
    with make_manager(
        tmp_path,
        db_url,
        simulator_command=stub_command("--grandchild", "--wait-for", str(tmp_path / "never")),
    ) as m:
        run = m.create("minimal")
        pid_file = Path(run.run_dir) / "grandchild.pid"
        wait_until(pid_file.exists, what="the grandchild")
        grandchild = int(pid_file.read_text())
        pgid = m.get(run.id).pgid
        cancelled = m.cancel(run.id)  # answers at once: CANCELLING until the group ends
        assert cancelled.status in (Status.CANCELLING, Status.CANCELLED)
        assert cancelled.cancel_requested
        assert wait_terminal(m, run.id).status == Status.CANCELLED
        wait_until(lambda: group_members(pgid) == [], what="the run's group to end")
        assert not is_alive(grandchild, None)
        with pytest.raises(Conflict):
            m.cancel(run.id)


def test_cancel_escalates_to_sigkill_after_the_grace(tmp_path, db_url):
    with make_manager(
        tmp_path,
        db_url,
        cancel_grace_seconds=0.3,
        simulator_command=stub_command(
            "--ignore-sigterm", "--grandchild", "--wait-for", str(tmp_path / "never")
        ),
    ) as m:
        run = m.create("minimal")
        wait_until((Path(run.run_dir) / "grandchild.pid").exists, what="the grandchild")
        pgid = m.get(run.id).pgid
        began = time.monotonic()
        # The simulator ignores SIGTERM: the request still answers at once, and the
        # group is killed in the background after the grace.
        assert m.cancel(run.id).status == Status.CANCELLING
        assert m.cancel(run.id).status == Status.CANCELLING  # asking again changes nothing
        assert wait_terminal(m, run.id).status == Status.CANCELLED
        assert time.monotonic() - began >= 0.3
        wait_until(lambda: group_members(pgid) == [], what="the run's group to end")


def test_cancelling_a_pending_run_only_marks_it(tmp_path, db_url):
    with make_manager(
        tmp_path,
        db_url,
        max_concurrent_runs=1,
        simulator_command=stub_command("--wait-for", str(tmp_path / "go")),
    ) as m:
        first, second = m.create("minimal"), m.create("minimal")
        assert m.get(second.id).status == Status.PENDING
        assert m.cancel(second.id).status == Status.CANCELLED
        assert not (Path(second.run_dir) / "launcher.json").exists()
        (tmp_path / "go").touch()
        assert wait_terminal(m, first.id).status == Status.COMPLETED
        assert m.get(second.id).status == Status.CANCELLED and m.get(second.id).pid is None


def test_delete_refuses_active_runs_and_purges_only_when_asked(tmp_path, db_url):
    with make_manager(
        tmp_path, db_url, simulator_command=stub_command("--wait-for", str(tmp_path / "go"))
    ) as m:
        run = m.create("minimal")
        with pytest.raises(Conflict, match="cancel it"):
            m.delete(run.id)
        (tmp_path / "go").touch()
        wait_terminal(m, run.id)
        m.delete(run.id)
        assert Path(run.run_dir).exists()
        other = m.create("minimal")
        wait_terminal(m, other.id)
        m.delete(other.id, purge=True)
        assert not Path(other.run_dir).exists()
        with pytest.raises(Exception, match="does not exist"):
            m.get(other.id)


def test_rerun_uses_the_same_frozen_config(manager):
    run = manager.create("minimal", {"general_settings.max_iters": 1}, name="n", tags=["t"])
    wait_terminal(manager, run.id)
    again = manager.rerun(run.id)
    assert again.id != run.id and again.rerun_of == run.id
    assert again.config == run.config and again.tags == ["t"] and again.name == "n"
    assert (Path(again.run_dir) / "config.ini").read_text() == (
        Path(run.run_dir) / "config.ini"
    ).read_text()
    assert wait_terminal(manager, again.id).status == Status.COMPLETED


def test_bad_input_is_refused_whole_and_leaves_nothing(manager, tmp_path):
    with pytest.raises(ValidationFailed) as err:
        manager.create("minimal", {"general_settings": {"erlang_step": 0, "max_iters": 0}})
    keys = {p.key for p in err.value.problems}
    assert {"erlang_step", "max_iters"} <= keys
    with pytest.raises(ValidationFailed):
        manager.create("minimal", {"general_settings": {"thread_num": "s1\n[evil]\nx = 1"}})
    with pytest.raises(ValidationFailed, match="executor"):
        manager.create("minimal", executor="mainframe")
    with pytest.raises(ValidationFailed, match="name"):
        manager.create("minimal", name="x" * 1000)
    assert manager.list_runs().runs == []
    assert list((tmp_path / "runs").iterdir()) == []


def test_fifty_runs_from_several_threads_never_exceed_the_limit(tmp_path, db_url):
    gate = tmp_path / "go"
    with make_manager(
        tmp_path,
        db_url,
        max_concurrent_runs=4,
        # The first runs hold at a gate until four run at once, so that "side by side" is
        # seen however slowly the machine creates them.
        simulator_command=stub_command(
            "--wait-for", str(gate), "--iterations", "1", "--erlangs", "1", "--no-output"
        ),
    ) as m:
        peak = [0]
        latest: dict[str, Status] = {}
        lock = threading.Lock()

        def on_status() -> None:
            # Statuses are published from several threads, so one can arrive after a
            # later one: like the clients, keep the furthest status a run reached.
            for msg in status.drain():
                with lock:
                    seen = Status(msg["run"]["status"])
                    known = latest.get(msg["run_id"], seen)
                    latest[msg["run_id"]] = max(known, seen, key=RANK.__getitem__)
                    running = sum(s == Status.RUNNING for s in latest.values())
                    peak[0] = max(peak[0], running)

        status = m.hub.subscribe_status(notify=on_status)
        ids: list[str] = []

        def create() -> None:
            for _ in range(10):
                run = m.create("minimal", {"general_settings": {"max_iters": 1}})
                with lock:
                    ids.append(run.id)

        threads = [threading.Thread(target=create) for _ in range(5)]
        for t in threads:
            t.start()
        samples = []
        deadline = time.monotonic() + 120
        while any(t.is_alive() for t in threads) or m.store.count(Status.PENDING):
            samples.append(m.store.count(Status.RUNNING))
            if samples[-1] == 4:
                gate.touch()
            assert time.monotonic() < deadline, f"runs stuck: {samples[-5:]}"
            time.sleep(0.005)
        for t in threads:
            t.join()
        finished = [wait_terminal(m, run_id) for run_id in ids]
        assert len(ids) == 50
        assert all(r.status == Status.COMPLETED for r in finished)
        # Four ran side by side (the gate opened only then), and never more than four,
        # as the store and the status channel saw it.
        assert max(samples) == 4 and 1 <= peak[0] <= 4


def test_runs_start_in_creation_order(tmp_path, db_url):
    with make_manager(
        tmp_path,
        db_url,
        max_concurrent_runs=1,
        simulator_command=stub_command("--iterations", "1", "--erlangs", "1"),
    ) as m:
        ids = [m.create("minimal").id for _ in range(5)]
        runs = [wait_terminal(m, i) for i in ids]
        starts = [r.started_at for r in runs]
        assert starts == sorted(starts)


def test_a_sync_while_a_run_starts_leaves_it_to_its_starter(manager, monkeypatch):
    # The sync thread may run between the claim's commit and the launch: it then finds
    # the run RUNNING in the database and neither announced nor tracked yet. It must
    # not announce RUNNING first (the starter's PENDING would then be dropped as going
    # backwards) nor take the run for an orphan. A loaded machine hit this in CI; here
    # the sync is run in that window on purpose.
    launch = manager.local.start
    adopted: list[str] = []
    adopt = manager._adopt

    def start_after_a_sync(run_id, run_dir):
        manager._sync(adopt=False)
        return launch(run_id, run_dir)

    def record_adoption(run, *, at_start):
        adopted.append(run.id)
        adopt(run, at_start=at_start)

    monkeypatch.setattr(manager.local, "start", start_after_a_sync)
    monkeypatch.setattr(manager, "_adopt", record_adoption)
    status = manager.hub.subscribe_status(notify=lambda: None)
    run = manager.create("minimal", {"general_settings": {"max_iters": 1}})
    seen: list[str] = []

    def completed() -> bool:
        drained = status.drain()
        statuses = [m for m in drained if m["type"] == "status" and m["run_id"] == run.id]
        seen.extend(m["run"]["status"] for m in statuses)
        return "COMPLETED" in seen

    wait_until(completed, what="the COMPLETED status")
    assert seen[0] == "PENDING", seen
    assert adopted == []


def test_on_shutdown_cancel_stops_runs_at_close(tmp_path, db_url):
    m = make_manager(
        tmp_path,
        db_url,
        on_shutdown="cancel",
        simulator_command=stub_command("--wait-for", str(tmp_path / "never")),
    )
    run = m.create("minimal")
    wait_until(lambda: m.get(run.id).pid, what="the process")
    pgid = m.get(run.id).pgid
    m.close()
    assert group_members(pgid) == []
    again = RunManager(runs_dir=tmp_path / "runs", db_url=db_url)
    assert again.get(run.id).status == Status.CANCELLED
    again.close()


def test_detached_runs_survive_close_and_are_reattached(tmp_path, db_url):
    gate = tmp_path / "gate"
    m = make_manager(tmp_path, db_url, simulator_command=stub_command("--wait-for", str(gate)))
    run = m.create("minimal")
    wait_until(lambda: m.get(run.id).pid, what="the process")
    m.close()
    assert is_alive(m.get(run.id).pid, m.get(run.id).proc_start)
    with make_manager(tmp_path, db_url) as again:
        gate.touch()
        done = wait_terminal(again, run.id)
        assert done.status == Status.COMPLETED and done.exit_code == 0


def test_slow_subscriber_never_holds_up_another(manager, tmp_path):
    # The run waits at its start event until both subscribe: a run that ended before the
    # slow one subscribed would hand it everything as history, and it would never lag.
    gate = tmp_path / "gate"
    run = manager.create(
        "minimal", {"general_settings": {"max_iters": 5}, "stub": {"wait_for": str(gate)}}
    )
    fast_seen: list[int] = []
    fast_done = threading.Event()
    fast_box: list[Subscription] = []
    lock = threading.Lock()

    def on_fast() -> None:
        # The hub may call this while subscribe() is still returning (the history, or
        # a run's folded progress, is ready at once): then the drain below after it.
        with lock:
            for msg in fast_box[0].drain() if fast_box else []:
                if msg["type"] == "progress":
                    fast_seen.append(msg["seq"])
                    if msg["event"]["type"] == "complete":
                        fast_done.set()

    slow = manager.subscribe(run.id, notify=lambda: time.sleep(0), channels=["progress"])
    slow.maxsize = 2  # overflows at once: it must be told, and caught up, not block
    fast_box.append(manager.subscribe(run.id, notify=on_fast, channels=["progress"]))
    fast = fast_box[0]
    on_fast()
    gate.touch()
    assert fast_done.wait(30)
    assert fast_seen == list(range(len(fast_seen)))
    # The hub may tell the fast one before it pushes the same batch to the slow one.
    wait_until(lambda: slow.lagged, what="the slow subscriber to overflow")
    caught = slow.drain()
    assert caught[0]["type"] == "lagged"
    assert [m["seq"] for m in caught[1:]] == fast_seen
    slow.close()
    fast.close()


def test_sigterm_of_the_launcher_alone_is_passed_on(manager, tmp_path):
    run = manager.create("minimal", {"stub": {"wait_for": str(tmp_path / "never")}})
    pid = wait_until(lambda: manager.get(run.id).pid, what="the process")
    wait_until((Path(run.run_dir) / "progress.jsonl").exists, what="progress")
    os.kill(pid, signal.SIGTERM)
    done = wait_terminal(manager, run.id)
    assert done.status == Status.FAILED and "SIGTERM" in done.error


def test_the_builtin_simulator_end_to_end_with_one_start_event(tmp_path):
    from fusion_jupyter.engine.settings import default_simulator_command

    with make_manager(
        tmp_path, f"sqlite:///{tmp_path}/runs.db", simulator_command=default_simulator_command()
    ) as m:
        done = wait_terminal(m, m.create("minimal").id)
        assert done.status == Status.COMPLETED, done.error
        kinds = [e["type"] for e in m.events(done.id)]
        # The launcher writes the start event (so it comes before the simulator's
        # imports); the simulator sees it and does not write a second one.
        assert kinds[0] == "start" and kinds.count("start") == 1
        assert kinds[-1] == "complete" and kinds.count("erlang_complete") == 3
        assert m.results(done.id)["erlang"].tolist() == [300.0, 400.0, 500.0]


def _fork_servers() -> list[int]:
    """This process's children running the launcher fork server."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and b"forkserver.py" in cmdline:
            found.append(int(entry.name))
    return found


def test_the_fork_server_is_started_with_the_manager_not_by_the_first_run(tmp_path, db_url):
    """The first run does not wait for the fork server's interpreter to start."""
    others = set(_fork_servers())  # any other test's, still running
    with make_manager(tmp_path, db_url) as manager:
        ours = set(_fork_servers()) - others
        assert len(ours) == 1
        run = manager.create("minimal", {"general_settings": {"max_iters": 1}})
        assert wait_terminal(manager, run.id).status == Status.COMPLETED
        assert set(_fork_servers()) - others == ours  # that one forked the run's launcher
        # ... and a spare for the next run, already leading its own session.
        (server,) = ours
        wait_until(lambda: len(_children(server)) == 1, what="the fork server's spare")
        (spare,) = _children(server)
        assert os.getsid(spare) == spare
        assert not (Path(run.run_dir) / "logs" / "launcher.log").read_text()


def _children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
