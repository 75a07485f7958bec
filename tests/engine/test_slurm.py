"""The Slurm executor against a real one-node Slurm (started by the tests)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fusion_jupyter.engine import Status, ValidationFailed
from fusion_jupyter.engine.executors.slurm import SlurmExecutor, check_options, filesystem_type
from fusion_jupyter.engine.settings import default_simulator_command
from tests.support.engine import (
    make_manager,
    manager_kwargs,
    stub_command,
    wait_terminal,
    wait_until,
)


@pytest.fixture
def slurm_manager(tmp_path, slurm_cluster):
    m = make_manager(
        tmp_path,
        default_executor="slurm",
        slurm_poll_interval=0.3,
        slurm_file_poll_interval=0.2,
    )
    yield m
    m.close()


def _squeue(cluster, *args: str) -> list[str]:
    return cluster.run("squeue", "--me", "--array", "--noheader", *args).split()


def test_a_run_becomes_a_job_and_completes_with_results(slurm_manager):
    run = slurm_manager.create("minimal", executor_options={"time": "00:10:00"})
    assert run.executor == "slurm" and run.job_id and run.job_id.isdigit()
    assert "#SBATCH --time=00:10:00" in (Path(run.run_dir) / "job.sh").read_text()
    done = wait_terminal(slurm_manager, run.id)
    assert done.status == Status.COMPLETED and done.exit_code == 0, done.error
    assert done.node == "localhost" and done.started_at is not None
    assert done.percent == 100.0
    assert [e["type"] for e in slurm_manager.events(run.id)][-1] == "complete"
    assert slurm_manager.results(run.id)["erlang"].tolist() == [300.0, 400.0, 500.0]


def test_the_builtin_simulator_runs_on_slurm(tmp_path, slurm_cluster):
    builtin = default_simulator_command()
    with make_manager(
        tmp_path,
        slurm_poll_interval=0.3,
        simulator_command=builtin,
    ) as m:
        done = wait_terminal(m, m.create("minimal", executor="slurm").id)
        assert done.status == Status.COMPLETED, done.error
        assert m.results(done.id)["erlang"].tolist() == [300.0, 400.0, 500.0]


def test_a_failing_job_keeps_its_exit_code(slurm_manager):
    done = wait_terminal(
        slurm_manager, slurm_manager.create("minimal", {"stub": {"exit_code": 3}}).id
    )
    assert done.status == Status.FAILED and done.exit_code == 3
    assert f"Slurm job {done.job_id} ended FAILED" in done.error
    assert "exited with code 3" in done.error


def test_a_job_unknown_to_slurm_for_a_moment_is_not_settled_as_forgotten(
    slurm_manager, monkeypatch
):
    """squeue can drop a finished job before its completion record reaches sacct, and
    for a moment Slurm knows nothing of it (seen once under a loaded CI run). The gap
    cannot be made on demand, so it is injected into the real cluster's answers: the
    first two polls after the job ended hear nothing of it. The run waits for Slurm's
    final word instead of settling as a job Slurm forgot."""
    real_query = slurm_manager.slurm.query
    gaps = {"left": 2}

    def query(job_ids):
        states = real_query(job_ids)
        if gaps["left"] and any(state.terminal for state in states.values()):
            gaps["left"] -= 1
            return {}
        return states

    monkeypatch.setattr(slurm_manager.slurm, "query", query)
    done = wait_terminal(
        slurm_manager, slurm_manager.create("minimal", {"stub": {"exit_code": 3}}).id
    )
    assert gaps["left"] == 0
    assert done.status == Status.FAILED and done.exit_code == 3
    assert f"Slurm job {done.job_id} ended FAILED" in done.error


def test_cancel_scancels_a_running_job(slurm_manager, slurm_cluster, tmp_path):
    run = slurm_manager.create("minimal", {"stub": {"wait_for": str(tmp_path / "never")}})
    wait_until(lambda: slurm_manager.get(run.id).status == Status.RUNNING, 30, "the job to run")
    cancelled = slurm_manager.cancel(run.id)
    assert cancelled.status == Status.CANCELLED
    assert run.job_id not in _squeue(slurm_cluster, "--states=RUNNING", "--format=%i")


def test_a_held_job_shows_its_pending_reason_and_can_be_cancelled(slurm_manager):
    run = slurm_manager.create("minimal", executor_options={"extra": ["--hold"]})
    held = wait_until(lambda: slurm_manager.get(run.id).pending_reason, 30, "a pending reason")
    assert slurm_manager.get(run.id).status == Status.PENDING
    assert "Held" in held
    assert slurm_manager.cancel(run.id).status == Status.CANCELLED


def test_bad_executor_options_are_refused_by_name(slurm_manager):
    with pytest.raises(ValidationFailed) as err:
        slurm_manager.create(
            "minimal",
            executor_options={"partition": "debug\n#SBATCH --x", "gpus": 4, "extra": ["rm -rf"]},
        )
    keys = {p.key for p in err.value.problems}
    assert keys == {"partition", "gpus", "extra"}


def test_a_sweep_is_one_throttled_array(tmp_path, slurm_cluster):
    with make_manager(
        tmp_path,
        slurm_poll_interval=0.3,
        slurm_array_throttle=4,
        simulator_command=stub_command("--delay", "0.3", "--erlangs", "1", "--iterations", "2"),
    ) as m:
        sweep, runs = m.create_sweep(
            "minimal",
            grid={
                "general_settings.max_iters": [1, 2],
                "routing_settings.k_paths": list(range(1, 11)),
            },
            executor="slurm",
        )
        assert len(runs) == 20 and sweep.executor == "slurm"
        array_id = m.get_sweep(sweep.id)[0].job_id
        assert array_id and {r.job_id for r in runs} == {f"{array_id}_{i}" for i in range(20)}
        script = (tmp_path / "runs" / ".sweeps" / sweep.id / "job.sh").read_text()
        assert "#SBATCH --array=0-19%4" in script
        peak = 0
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            running = _squeue(slurm_cluster, "--states=RUNNING", "--format=%i")
            peak = max(peak, len([j for j in running if j.startswith(f"{array_id}_")]))
            if all(m.get(r.id).status.terminal for r in runs):
                break
            time.sleep(0.1)
        statuses = [m.get(r.id).status for r in runs]
        assert statuses == [Status.COMPLETED] * 20
        assert 2 <= peak <= 4


def test_cancelling_a_sweep_cancels_the_array(tmp_path, slurm_cluster):
    with make_manager(
        tmp_path,
        slurm_poll_interval=0.3,
        slurm_array_throttle=2,
        simulator_command=stub_command("--wait-for", str(tmp_path / "never")),
    ) as m:
        sweep, runs = m.create_sweep(
            "minimal", grid={"routing_settings.k_paths": [1, 2, 3, 4, 5]}, executor="slurm"
        )
        wait_until(
            lambda: sum(m.get(r.id).status == Status.RUNNING for r in runs) == 2,
            30,
            "two tasks running",
        )
        after = m.cancel_sweep(sweep.id)
        assert [r.status for r in after] == [Status.CANCELLED] * 5
        array_id = m.get_sweep(sweep.id)[0].job_id
        assert not [j for j in _squeue(slurm_cluster, "--format=%i") if j.startswith(array_id)]


def test_a_sweeps_rerun_is_its_own_job_and_cancelled_with_the_sweep(tmp_path, slurm_cluster):
    never = str(tmp_path / "never")
    with make_manager(
        tmp_path,
        slurm_poll_interval=0.3,
        simulator_command=stub_command(),
    ) as m:
        # The second point waits for a file that never comes, and fails after 3 s.
        grid = {"stub.wait_for": ["", never], "stub.wait_timeout": [3]}
        sweep, runs = m.create_sweep("minimal", grid=grid, executor="slurm")
        wait_until(
            lambda: {m.get(r.id).status for r in runs} == {Status.COMPLETED, Status.FAILED},
            60,
            "one completed, one failed",
        )
        (rerun,) = m.rerun_failed_sweep(sweep.id)
        assert rerun.sweep_id == sweep.id and rerun.rerun_of in {r.id for r in runs}
        wait_until(lambda: m.get(rerun.id).status == Status.RUNNING, 30, "the rerun running")
        job = m.get(rerun.id).job_id
        assert job and not job.startswith(f"{m.get_sweep(sweep.id)[0].job_id}_")
        after = {r.id: r.status for r in m.cancel_sweep(sweep.id)}
        assert after[rerun.id] == Status.CANCELLED
        assert job not in _squeue(slurm_cluster, "--format=%i")


def test_a_killed_supervisor_mid_sweep_loses_nothing(tmp_path, slurm_cluster):
    kwargs = manager_kwargs(
        tmp_path,
        slurm_poll_interval=0.3,
        slurm_array_throttle=3,
        simulator_command=stub_command("--delay", "0.2", "--erlangs", "1"),
    )
    kwargs["runs_dir"] = str(kwargs["runs_dir"])
    code = (
        "import json,sys; from fusion_jupyter.engine import RunManager\n"
        "m = RunManager(**json.loads(sys.argv[1])); m.start()\n"
        "s, runs = m.create_sweep('minimal', {'routing_settings.k_paths': list(range(1, 10))},"
        " executor='slurm')\n"
        "print(json.dumps([r.id for r in runs]), flush=True)\n"
        "import time; time.sleep(3600)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, json.dumps(kwargs)], stdout=subprocess.PIPE, text=True
    )
    ids = json.loads(proc.stdout.readline())
    # The manager dies while some tasks run and others wait.
    wait_until(
        lambda: _squeue(slurm_cluster, "--states=RUNNING") or not _squeue(slurm_cluster),
        60,
        "a task to run",
    )
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with make_manager(tmp_path, slurm_poll_interval=0.3) as again:
        done = [wait_terminal(again, i, 120) for i in ids]
        assert [r.status for r in done] == [Status.COMPLETED] * 9
        assert all(
            len(again.events(r.id)) > 0 and again.events(r.id)[-1]["type"] == "complete"
            for r in done
        )


def test_a_job_slurm_forgot_is_settled_from_accounting(tmp_path, slurm_cluster):
    db = f"sqlite:///{tmp_path}/runs.db"
    with make_manager(tmp_path, db, slurm_poll_interval=0.3) as m:
        run = m.create("minimal", executor="slurm", executor_options={"extra": ["--hold"]})
        wait_until(lambda: m.get(run.id).pending_reason, 30, "the job to be queued")
    # No supervisor now: the job is cancelled behind our back and Slurm forgets it
    # (MinJobAge); it never ran, so the run directory holds no exit record.
    slurm_cluster.run("scancel", run.job_id)
    wait_until(
        lambda: run.job_id not in _squeue(slurm_cluster, "--format=%i"),
        30,
        "Slurm to forget the job",
    )
    assert not (Path(run.run_dir) / "exit.json").exists()
    with make_manager(tmp_path, db, slurm_poll_interval=0.3) as again:
        settled = wait_terminal(again, run.id, 30)
        assert settled.status == Status.CANCELLED


def test_option_checks_and_filesystem_probe(tmp_path):
    assert check_options({"partition": "debug", "cpus": 2, "extra": ["--qos=low"]}) == {
        "partition": "debug",
        "cpus": 2,
        "extra": ["--qos=low"],
    }
    assert filesystem_type(tmp_path) != "unknown"


def test_runs_dir_that_nodes_cannot_see_is_refused(tmp_path, monkeypatch):
    # A mock, because one machine cannot host compute nodes on other hosts: sinfo is
    # made to name two remote nodes; the runs dir is on this machine's local disk.
    executor = SlurmExecutor()
    monkeypatch.setattr(executor, "_run", lambda argv: "node01\nnode02\n")
    problem = executor.shared_filesystem_problem(tmp_path)
    assert problem and "node01" in problem and "cannot see" in problem


# --------------------------------------------------------------------------- through the API


@pytest.fixture(params=["embedded", "remote"])
def slurm_client(request, tmp_path, slurm_cluster):
    """A client in either mode, and the CLI arguments that reach the same engine."""
    from fusion_jupyter.client import connect
    from tests.support.jupyter import running_server

    settings = {
        "simulator_command": stub_command(),
        "slurm_poll_interval": 0.3,
        "slurm_file_poll_interval": 0.2,
    }
    if request.param == "embedded":
        client = connect(
            embedded=True,
            runs_dir=tmp_path / "runs",
            db_url=f"sqlite:///{tmp_path}/runs.db",
            **settings,
        )
        yield client, None
        client.close()
    else:
        with running_server(tmp_path / "server", fusion=settings) as server:
            client = connect(server.root, server.token)
            yield client, ["--url", server.root, "--token", server.token]
            client.close()


def test_the_api_and_cli_choose_slurm_and_show_the_job(slurm_client, capsys):
    from fusion_jupyter import cli

    client, cli_args = slurm_client
    run = client.submit("minimal", executor="slurm", executor_options={"time": "00:05:00"})
    assert run.executor == "slurm" and run.job_id and run.job_id.isdigit()
    run.wait(timeout=60, progress=False)
    assert run.status == "COMPLETED" and run.node == "localhost"
    assert len(run.results()) == 3
    held = client.submit("minimal", executor="slurm", executor_options={"extra": ["--hold"]})
    wait_until(lambda: held.refresh().pending_reason, 30, "a pending reason")
    if cli_args is not None:  # the CLI against the same server
        capsys.readouterr()
        assert cli.main([*cli_args, "show", held.id]) == 0
        shown = capsys.readouterr().out
        assert f"slurm job {held.job_id}" in shown and "pending: JobHeldUser" in shown
        assert cli.main([*cli_args, "runs"]) == 0
        assert f"slurm {held.job_id}" in capsys.readouterr().out
    held.cancel()
    assert held.status == "CANCELLED"


def test_cancelling_a_slurm_sweep_from_the_api(slurm_client):
    client, _ = slurm_client
    sweep = client.sweep(
        "minimal",
        grid={"routing_settings.k_paths": [1, 2, 3]},
        executor="slurm",
        executor_options={"extra": ["--hold"]},
    )
    assert {r.executor for r in sweep.runs} == {"slurm"}
    assert len({r.job_id.split("_")[0] for r in sweep.runs}) == 1  # one array
    sweep.cancel()
    assert [r.status for r in sweep.runs] == ["CANCELLED"] * 3


def test_a_fusion_run_on_slurm(tmp_path, slurm_cluster, fusion_install):
    # The job runs FUSION's own fusion-sim from its cached install (same machine,
    # same file system), and its outputs are moved into the run's output/ there.
    with make_manager(
        tmp_path,
        slurm_poll_interval=0.3,
        slurm_file_poll_interval=0.2,
        simulator="fusion",
        fusion_command=str(fusion_install.command),
        templates_path=[fusion_install.templates],
    ) as m:
        run = m.create("minimal", {"general_settings": {"max_iters": 1}}, executor="slurm")
        assert run.executor == "slurm" and run.simulator == "fusion"
        done = wait_terminal(m, run.id, timeout=180)
        assert done.status == Status.COMPLETED, done.error
        assert [e["type"] for e in m.events(run.id)].count("iteration") == 3
        table = m.results(run.id)
        assert table["erlang"].tolist() == [300.0, 400.0, 500.0]
        assert table["iterations_saved"].tolist() == [1, 1, 1]
        dirs = json.loads((Path(run.run_dir) / "external.json").read_text())["dirs"]
        assert dirs and not any(Path(d).exists() for d in dirs)
