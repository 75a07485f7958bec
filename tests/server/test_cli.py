"""The ``fusion-jupyter`` command line: every command, its output, and bad input.

Commands run in-process through ``main(argv)`` on the embedded engine (its defaults
moved to a temporary ``JUPYTER_DATA_DIR``, the built-in simulator), and once against
a real jupyter server; the README's main job runs as the installed console script.
Bad input must give one line on stderr, a non-zero status, and never a traceback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from fusion_jupyter.cli import main, parse_sets
from fusion_jupyter.client import connect
from tests.support import stub_sim_command
from tests.support.jupyter import free_port

QUICK = ["--set", "general_settings.max_iters=1"]


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """The embedded engine's default location, moved into the test's directory."""
    path = tmp_path / "data"
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(path))
    for name in ("JUPYTERHUB_API_TOKEN", "FUSION_JUPYTER_URL", "FUSION_JUPYTER_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return path


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, expected: int, text: str) -> None:
    assert code == expected
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("fusion-jupyter: error:") and text in lines[0], err
    assert "Traceback" not in err


@pytest.fixture
def finished(data_dir, capsys) -> str:
    code, out, _ = run_cli(capsys, "submit", "minimal", *QUICK, "--name", "first", "--wait", "-q")
    assert code == 0
    return out.strip()


@pytest.fixture
def slow_run(data_dir):
    """A long stub run in the same database, created through the Python API."""
    with connect(embedded=True, simulator_command=stub_sim_command()) as client:
        run = client.submit("minimal", {"stub.delay": 5}, name="slow")
    return run.id


# --------------------------------------------------------------------------- happy paths


def test_help(capsys):
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0
    for command in ("submit", "runs", "show", "logs", "cancel", "delete", "results", "templates"):
        assert command in out
    code, out, _ = run_cli(capsys, "submit", "--help")
    assert code == 0 and "--set" in out and "--wait" in out


def test_submit_wait_and_results(data_dir, capsys):
    code, out, err = run_cli(
        capsys,
        "submit",
        "minimal",
        "--set",
        "general_settings.max_iters=3",
        "--name",
        "n",
        "--tag",
        "t",
        "--wait",
    )
    assert code == 0, err
    run_id = out.split()[2]
    assert f"Submitted run {run_id} from template 'minimal' (embedded engine)." in out
    assert f"Run {run_id} COMPLETED" in out and f"fusion-jupyter results {run_id}" in out
    assert "100%" in err  # the progress bar, on stderr

    code, out, _ = run_cli(capsys, "results", "latest")
    assert code == 0
    assert f"Run {run_id} 'n' (minimal), COMPLETED: blocking probability per traffic load" in out
    assert "erlang" in out and "blocking_mean" in out and "ci_lower" in out
    for erlang in ("300", "400", "500"):
        assert f"\n{erlang}" in out.replace(" ", "").replace("\n\n", "\n") or erlang in out
    assert "share of requests refused" in out


def test_submit_without_wait(data_dir, capsys):
    code, out, _ = run_cli(capsys, "submit", "minimal", *QUICK)
    assert code == 0 and "Follow it with: fusion-jupyter logs" in out
    run_id = out.split()[2]
    code, out, _ = run_cli(capsys, "logs", run_id, "--follow")
    assert code == 0 and "Simulation complete" in out


def test_results_formats(finished, capsys, tmp_path):
    code, out, _ = run_cli(capsys, "results", finished, "--format", "csv")
    assert code == 0 and out.startswith("erlang,iterations,blocking_mean")
    code, out, _ = run_cli(capsys, "results", finished, "--format", "json")
    data = json.loads(out)
    assert data["columns"][0] == "erlang" and len(data["rows"]) == 3
    target = tmp_path / "r.parquet"
    code, _, err = run_cli(capsys, "results", finished, "-o", str(target))
    assert code == 0 and "Wrote 3 rows" in err
    assert pd.read_parquet(target)["erlang"].tolist() == [300.0, 400.0, 500.0]
    code, _, _ = run_cli(capsys, "results", finished, "-o", str(tmp_path / "r.csv"))
    assert pd.read_csv(tmp_path / "r.csv").shape[0] == 3


def test_runs_show_logs_templates(finished, capsys):
    code, out, _ = run_cli(capsys, "runs")
    assert code == 0 and out.splitlines()[0].split() == [
        "ID",
        "STATUS",
        "DONE",
        "NAME",
        "TEMPLATE",
        "EXECUTOR",
        "CREATED",
    ]
    assert finished in out and "COMPLETED" in out and "first" in out
    code, out, _ = run_cli(capsys, "runs", "--status", "running")
    assert code == 0 and finished not in out
    code, out, _ = run_cli(capsys, "runs", "--name", "fir", "--template", "minimal")
    assert code == 0 and finished in out
    code, out, _ = run_cli(capsys, "runs", "--tag", "nope")
    assert code == 0 and out.strip() == "No runs match."
    code, out, _ = run_cli(capsys, "show", finished)
    assert code == 0 and f"id:         {finished}" in out and "status:     COMPLETED" in out
    assert "overrides:  general_settings.max_iters=1" in out
    assert "executor:   local" in out
    code, out, _ = run_cli(capsys, "logs", finished, "--tail", "1")
    assert code == 0 and len(out.strip().splitlines()) == 1
    code, full, _ = run_cli(capsys, "logs", "latest")
    assert full.endswith(out)
    code, out, _ = run_cli(capsys, "templates")
    assert code == 0 and "minimal" in out and "DESCRIPTION" in out
    code, out, _ = run_cli(capsys, "templates", "minimal")
    assert code == 0 and "[general_settings]" in out


def test_empty_listing(data_dir, capsys):
    code, out, _ = run_cli(capsys, "runs")
    assert code == 0 and "No runs yet" in out


def test_cancel_and_delete(slow_run, capsys):
    code, _, err = run_cli(capsys, "delete", slow_run)
    assert_one_line_error(code, err, 1, "cancel it before deleting it")
    code, out, _ = run_cli(capsys, "cancel", slow_run)
    assert code == 0 and f"Run {slow_run} CANCELLED." in out
    code, _, err = run_cli(capsys, "cancel", slow_run)
    assert_one_line_error(code, err, 1, "already CANCELLED")
    code, out, _ = run_cli(capsys, "show", slow_run)
    run_dir = Path(out.split("run dir:", 1)[1].split()[0])
    code, out, _ = run_cli(capsys, "delete", slow_run, "--purge")
    assert code == 0 and "its files were removed" in out and not run_dir.exists()
    code, _, err = run_cli(capsys, "show", slow_run)
    assert_one_line_error(code, err, 1, "does not exist")


def test_failed_wait_exits_non_zero(data_dir, capsys):
    code, _, err = run_cli(
        capsys,
        "submit",
        "minimal",
        "--set",
        "topology_settings.network=/nonexistent.json",
        "--wait",
    )
    assert code == 1
    assert "network" in err and "Traceback" not in err


def test_validate(data_dir, capsys, tmp_path):
    good = tmp_path / "good.ini"
    _, text, _ = run_cli(capsys, "templates", "minimal")
    good.write_text(text)
    code, out, _ = run_cli(capsys, "validate", str(good))
    assert code == 0 and "valid" in out
    bad = tmp_path / "bad.ini"
    bad.write_text(text.replace("max_iters = 2", "max_iters = zero"))
    code, out, _ = run_cli(capsys, "validate", str(bad))
    assert code == 1 and "general_settings.max_iters: must be a whole number" in out
    code, out, _ = run_cli(capsys, "validate", "minimal", "--set", "routing_settings.k_paths=0")
    assert code == 1 and "routing_settings.k_paths" in out
    code, out, _ = run_cli(capsys, "validate", "minimal", "--set", "routing_settings.k_paths=2")
    assert code == 0 and "valid" in out


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("argv", "status", "text"),
    [
        ([], 2, "required"),
        (["bogus"], 2, "invalid choice"),
        (["submit"], 2, "required"),
        (["submit", "minimal", "--set", "no-equals"], 2, "expected section.key=value"),
        (["submit", "minimal", "--set", "nodot=1"], 2, "expected section.key=value"),
        (["submit", "nope"], 1, "no template named 'nope'"),
        (["submit", "minimal", "--set", "general_settings.max_iters=0"], 1, "max_iters"),
        (["submit", "minimal", "--name", "x\ny"], 1, "name"),
        (["runs", "--status", "SLEEPING"], 2, "invalid choice"),
        (["runs", "--limit", "many"], 2, "invalid int value"),
        (["show"], 2, "required"),
        (["show", "0123456789ab"], 1, "does not exist"),
        (["show", "latest"], 1, "no runs yet"),
        (["logs", "0123456789ab"], 1, "does not exist"),
        (["logs", "x", "--tail", "-"], 2, "invalid int value"),
        (["cancel", "0123456789ab"], 1, "does not exist"),
        (["delete", "0123456789ab"], 1, "does not exist"),
        (["results", "0123456789ab"], 1, "does not exist"),
        (["results", "latest", "--format", "xml"], 2, "invalid choice"),
        (["results", "latest", "-o", "out.xlsx"], 2, "cannot tell the format"),
        (["templates", "nope"], 1, "no template named"),
        (["validate", "missing.ini"], 2, "no such file"),
        (["validate", "nope"], 1, "no template named"),
        (["--embedded", "--url", "http://x/", "runs"], 2, "exclude each other"),
    ],
)
def test_bad_input_is_one_line(data_dir, capsys, argv, status, text):
    code, _, err = run_cli(capsys, *argv)
    assert_one_line_error(code, err, status, text)


def test_bad_input_on_a_run(finished, capsys, tmp_path):
    code, _, err = run_cli(capsys, "results", finished, "--format", "parquet")
    assert_one_line_error(code, err, 2, "parquet is binary")
    ini = tmp_path / "x.ini"
    ini.write_text("[a]\nb = 1\n")
    code, _, err = run_cli(capsys, "validate", str(tmp_path / "absent.ini"))
    assert_one_line_error(code, err, 2, "absent.ini: no such file")
    code, out, _ = run_cli(capsys, "validate", str(ini), "--set", "a.b=2")
    assert code == 1 and "Missing required 'general_settings' section" in out
    broken = tmp_path / "broken.ini"
    broken.write_text("key before section = 1\n")
    code, out, _ = run_cli(capsys, "validate", str(broken))
    assert code == 1 and "line 1: a key before any [section] header" in out


def test_submit_validate_and_save_an_ini_file(data_dir, capsys, tmp_path):
    code, text, _ = run_cli(capsys, "templates", "blocking")
    mine = tmp_path / "my.ini"
    mine.write_text(text.replace("num_requests = 400", "num_requests = 200"))
    code, out, _ = run_cli(capsys, "validate", str(mine), "--set", "general_settings.max_iters=1")
    assert code == 0 and "valid" in out
    code, out, _ = run_cli(
        capsys, "submit", str(mine), "--set", "general_settings.max_iters=1", "--wait", "--quiet"
    )
    assert code == 0
    run_id = out.strip().splitlines()[0]
    code, out, _ = run_cli(capsys, "results", run_id)
    assert code == 0 and "100" in out
    code, out, _ = run_cli(capsys, "save-template", "mine", "--run", run_id)
    assert code == 0 and "Saved template 'mine'" in out
    code, out, _ = run_cli(capsys, "templates")
    assert "mine" in out.split()
    code, _, err = run_cli(capsys, "save-template", "mine", "--file", str(mine))
    assert_one_line_error(code, err, 1, "exists")
    code, _, err = run_cli(capsys, "submit", "nowhere/x.ini")
    assert_one_line_error(code, err, 2, "nowhere/x.ini: no such file")


def test_unreachable_url(data_dir, capsys):
    code, _, err = run_cli(capsys, "--url", f"http://127.0.0.1:{free_port()}/", "runs")
    assert_one_line_error(code, err, 1, "cannot reach")


def test_number_format():
    from fusion_jupyter.cli import _number

    assert [_number(v) for v in (300.0, 0.0, 0.01234567, -0.00001, float("nan"), "x")] == [
        "300",
        "0",
        "0.0123",
        "-1.0e-05",
        "nan",
        "x",
    ]


def test_parse_sets():
    assert parse_sets(["a.b=1", " c.d = x=y "]) == {"a.b": "1", "c.d": "x=y"}


# --------------------------------------------------------------------------- remote


def test_against_a_real_server(stub_server, capsys, monkeypatch):
    conn = ["--url", stub_server.root, "--token", stub_server.token]
    code, out, err = run_cli(capsys, *conn, "submit", "minimal", "--name", "cli", "--wait")
    assert code == 0, err
    assert f"(server {stub_server.root})" in out
    run_id = out.split()[2]
    code, out, _ = run_cli(capsys, "runs", *conn)
    assert run_id in out
    code, out, _ = run_cli(capsys, "results", run_id, *conn)
    assert code == 0 and "blocking probability per traffic load" in out
    code, out, _ = run_cli(capsys, "logs", run_id, "--follow", *conn)
    assert code == 0 and out
    code, _, err = run_cli(capsys, "--url", stub_server.root, "--token", "wrong", "runs")
    assert_one_line_error(code, err, 1, "token")
    monkeypatch.setenv("FUSION_JUPYTER_URL", stub_server.root)
    monkeypatch.setenv("FUSION_JUPYTER_TOKEN", stub_server.token)
    code, out, _ = run_cli(capsys, "show", run_id)
    assert code == 0 and "COMPLETED" in out


# --------------------------------------------------------------------------- console script


def test_readme_main_job_as_console_script(data_dir):
    exe = shutil.which("fusion-jupyter")
    command = (
        [exe]
        if exe
        else [sys.executable, "-c", "from fusion_jupyter.cli import main; raise SystemExit(main())"]
    )
    env = {**os.environ, "JUPYTER_DATA_DIR": str(data_dir)}
    submit = subprocess.run(
        [*command, "submit", "minimal", "--wait"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert submit.returncode == 0, submit.stderr
    results = subprocess.run(
        [*command, "results", "latest"], capture_output=True, text=True, env=env, timeout=60
    )
    assert results.returncode == 0, results.stderr
    assert "blocking probability per traffic load" in results.stdout
    assert "Traceback" not in submit.stderr + results.stderr


def test_sweep_from_a_template_or_a_file_and_the_sweeps_listing(data_dir, capsys, tmp_path):
    code, out, _ = run_cli(capsys, "sweeps")
    assert code == 0 and "No sweeps yet" in out
    code, out, _ = run_cli(
        capsys,
        "sweep",
        "blocking",
        "--grid",
        "routing_settings.k_paths=1,2",
        "--grid",
        "general_settings.max_iters=1",
        "--set",
        "general_settings.num_requests=200",
        "--name",
        "k",
        "--wait",
        "--quiet",
    )
    assert code == 0
    sweep_id = out.strip().splitlines()[0]
    code, out, _ = run_cli(capsys, "sweeps")
    assert code == 0
    (row,) = [line for line in out.splitlines() if line.startswith(sweep_id)]
    assert "k_paths(2) x max_iters(1)" in row and "2 completed" in row
    code, out, _ = run_cli(capsys, "runs", "--sweep", sweep_id)
    assert out.count("COMPLETED") == 2
    code, _, err = run_cli(capsys, "sweep", "blocking", "--grid", "routing_settings.k_paths=1,,3")
    assert_one_line_error(code, err, 2, "no empty value")
    code, _, err = run_cli(capsys, "sweep", "blocking")
    assert_one_line_error(code, err, 2, "at least one --grid")
    code, _, err = run_cli(capsys, "sweep", "blocking", "--grid", "routing_settings.k_paths=0,1")
    assert_one_line_error(code, err, 1, "k_paths")


# --------------------------------------------------------------------------- the simulator switch


@pytest.fixture
def jupyter_config(tmp_path, monkeypatch, data_dir):
    """A Jupyter config dir of the user's own, as the server would read it."""
    path = tmp_path / "jupyter-config"
    path.mkdir()
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(path))
    return path


def test_the_command_line_reads_the_servers_config_files(jupyter_config, tmp_path, capsys):
    missing = tmp_path / "no-fusion" / "fusion-sim"
    (jupyter_config / "jupyter_server_config.py").write_text(
        f'c.FusionJupyter.simulator = "fusion"\nc.FusionJupyter.fusion_command = "{missing}"\n'
    )
    # The .json of the same directory wins over the .py, as in jupyter-server.
    (jupyter_config / "jupyter_server_config.json").write_text(
        json.dumps({"FusionJupyter": {"max_concurrent_runs": 3}})
    )
    with connect(embedded=True) as client:
        settings = client.backend.settings
        assert (settings.simulator, settings.fusion_command) == ("fusion", str(missing))
        assert settings.max_concurrent_runs == 3
    # FUSION is the configured default and is missing: refused, naming the setting.
    code, _, err = run_cli(capsys, "submit", "minimal", *QUICK)
    assert_one_line_error(code, err, 1, "c.FusionJupyter.fusion_command")
    code, out, _ = run_cli(capsys, "runs")
    assert code == 0 and "No runs yet" in out
    # A run may still choose the built-in simulator, and says which one ran it.
    code, out, _ = run_cli(
        capsys, "submit", "minimal", *QUICK, "--simulator", "builtin", "--wait", "-q"
    )
    assert code == 0, out
    code, shown, _ = run_cli(capsys, "show", out.strip())
    assert code == 0 and "simulator:  builtin" in shown
