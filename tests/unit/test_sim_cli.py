"""The built-in simulator's command line: exit codes, result files, progress events, logs."""

from __future__ import annotations

import io
import json
import logging
import math
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

from fusion_jupyter.sim import cli, clock, logs, outputs
from fusion_jupyter.sim.fixtures import config_of, discover
from fusion_jupyter.sim.fusion_ini import parse_text
from fusion_jupyter.sim.load import load_params
from fusion_jupyter.sim.outputs import RESULT_COLUMNS
from fusion_jupyter.sim.simulation import simulate
from fusion_jupyter.sim.support import check_supported, fusion_crashes
from tests.support.fresh import run_fresh
from tests.support.fusion import RESULT_KEYS, SUMMARY_KEYS
from tests.support.fusion_source import FUSION_TEMPLATES, require_fusion_source

#: FUSION's own templates, in FUSION's layout.
MINIMAL = FUSION_TEMPLATES / "minimal.ini"
DEFAULT = FUSION_TEMPLATES / "default.ini"
#: sim-model.md §7 on top of a template.
REFERENCE = [
    *("--erlang_start", "2000", "--erlang_stop", "2000"),
    *("--num_requests", "2000", "--max_iters", "2", "--k_paths", "3"),
]


@pytest.fixture(autouse=True)
def _fusion_source() -> None:
    require_fusion_source()


def _run(template: Path, *flags: str) -> int:
    return cli.main(["run_sim", "--config_path", str(template), "--run_id", "t1", *flags])


def _refusals(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The command line's refusal lines on stderr (its config warnings are log lines)."""
    return [line for line in capsys.readouterr().err.splitlines() if " - WARNING - " not in line]


def _events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def reference_run(tmp_path, monkeypatch, capsys):
    """minimal.ini at the reference point, with the default output paths."""
    monkeypatch.chdir(tmp_path)
    code = _run(MINIMAL, *REFERENCE)
    captured = capsys.readouterr()
    return code, tmp_path, captured


def test_reference_run_exits_0_with_nothing_on_stdout(reference_run):
    code, _, captured = reference_run
    assert code == 0
    assert captured.out == ""


def test_per_erlang_json_has_fusions_keys_and_values(reference_run):
    _, cwd, _ = reference_run
    document = json.loads((cwd / "output" / "2000.0_erlang.json").read_text())
    assert set(document) >= set(RESULT_KEYS)
    assert document["blocking_mean"] == pytest.approx(0.07925)
    assert document["ci_percent_block"] == pytest.approx(5.18927, abs=1e-5)
    assert list(document["iter_stats"]) == ["0", "1"]
    first, second = document["iter_stats"]["0"], document["iter_stats"]["1"]
    assert first["sim_block_list"] == [0.0805]
    assert second["sim_block_list"] == [0.0805, 0.078]
    assert round(first["sim_br_block_list"][0], 5) == 0.18727
    assert round(first["sim_br_block_corrected_list"][0], 5) == 0.09382
    assert first["block_reasons_dict"] == {"distance": 1.0, "congestion": 0.0, "xt_threshold": 0.0}
    assert sum(first["block_bw_dict"].values()) == 161
    assert sum(first["path_index_list"]) == 2000 - 161
    assert {"hops_mean", "hops_min", "hops_max", "lengths_mean", "trans_mean"} <= set(first)
    assert first["hops_min"] == 1.0
    assert len(document["link_usage"]) == 44  # 22 links, both directions
    datetime.strptime(document["sim_end_time"], "%m%d_%H_%M_%S_%f")


def test_results_table_in_csv(reference_run):
    _, cwd, _ = reference_run
    table = pd.read_csv(cwd / "output" / "results.csv")
    assert tuple(table.columns) == RESULT_COLUMNS
    assert table["iterations"].dtype == "int64" and table["erlang"].dtype == "float64"
    (row,) = table.to_dict("records")
    assert row["erlang"] == 2000.0 and row["iterations"] == 2
    assert row["blocking_mean"] == pytest.approx(0.07925)
    assert row["blocking_variance"] == pytest.approx(3.125e-6)
    assert row["ci_lower"] < row["blocking_mean"] < row["ci_upper"]
    assert row["ci_percent"] == pytest.approx(5.18927, abs=1e-5)
    assert row["bit_rate_blocking_corrected_mean"] < row["bit_rate_blocking_mean"]
    assert row["sliced_share"] == pytest.approx((335 + 311) / 4000)
    assert 1 < row["mean_hops"] < 5 and 500 < row["mean_path_km"] < 3800
    # Floats are written as repr, so they read back exactly.
    document = json.loads((cwd / "output" / "2000.0_erlang.json").read_text())
    assert row["blocking_mean"] == document["blocking_mean"]


def test_progress_events_follow_the_contract(reference_run):
    _, cwd, _ = reference_run
    events = _events(cwd / "progress.jsonl")
    assert [e["type"] for e in events] == [
        "start",
        "erlang_start",
        "iteration",
        "iteration",
        "erlang_complete",
        "complete",
    ]
    start, erlang_start, first, second, erlang_complete, complete = events
    assert start["config"] == {
        "total_erlangs": 1,
        "total_iterations": 2,
        "erlang_start": 2000,
        "erlang_stop": 2000,
        "erlang_step": 100,
    }
    assert erlang_start | {"ts": None} == {
        "type": "erlang_start",
        "ts": None,
        "erlang": 2000.0,
        "erlang_index": 0,
        "total_erlangs": 1,
    }
    assert (first["iteration"], first["total_iterations"]) == (1, 2)
    assert first["metrics"]["blocking_prob"] == 0.0805
    assert second["metrics"]["blocking_prob"] == 0.078
    assert 1 < first["metrics"]["mean_hops"] < 5
    metrics = erlang_complete["metrics"]
    assert metrics["mean_blocking"] == pytest.approx(0.07925)
    assert metrics["ci_lower"] < metrics["mean_blocking"] < metrics["ci_upper"]
    assert complete["exit_code"] == 0
    assert complete["summary"]["total_time_seconds"] > 0
    for event in events:
        assert datetime.fromisoformat(event["ts"]).utcoffset() == timedelta(0)


def test_log_lines_are_fusions(reference_run):
    _, _, captured = reference_run
    lines = captured.err.splitlines()
    expected = [
        "fusion.utils.logging_config - INFO - Starting simulation for 2000.0 Erlang (load 1/1)",
        "fusion.core.simulation - INFO - Simulation started for Erlang: 2000.0 "
        "simulation number: s1",
        "fusion.core.request - INFO - Generated 2000 requests",
        "fusion.core.simulation - INFO - Iteration 1 out of 2 completed for Erlang: 2000.0",
        "fusion.core.simulation - INFO - Mean of blocking: 0.0805",
        "fusion.core.persistence - INFO - Saving stats for iteration 0",
        "fusion.utils.logging_config - INFO - CHILD=s1 iteration=0, done_units=1",
        "fusion.core.simulation - INFO - Iteration 2 out of 2 completed for Erlang: 2000.0",
        "fusion.utils.logging_config - INFO - CHILD=s1 iteration=1, done_units=2",
        "fusion.utils.logging_config - INFO - Simulation finished for Erlang: 2000.0 finished "
        "for simulation number: s1.",
    ]
    found = iter(lines)
    for text in expected:  # in this order, each on a line of its own
        assert any(line.endswith(text) for line in found), text
    assert any("Completed 2000.0 Erlang in" in line for line in lines)
    datetime.strptime(lines[0][:23], "%Y-%m-%d %H:%M:%S,%f")


#: Moments whose fractions of a second are exact in binary and in microseconds, so that
#: truncating (logging, datetime.now) and rounding (datetime.fromtimestamp) agree.
MOMENTS = [1_764_645_541 + k / 64 for k in (0, 1, 13, 63)] + [1_800_000_000.5]


@pytest.mark.parametrize("now", MOMENTS)
def test_log_lines_are_what_loggings_formatter_writes(now, monkeypatch):
    """The simulator writes its lines itself (start-up time); they are logging's lines."""
    monkeypatch.setattr(time, "time", lambda: now)
    monkeypatch.setattr(time, "time_ns", lambda: int(now * 10**9))
    formatter = logging.Formatter(logs.LOG_FORMAT)
    ours = io.StringIO()
    previous = logs.log_to(ours)
    try:
        logs.FusionLogger("fusion.core.request").info("Generated %d requests", 200)
        logs.FusionLogger("fusion.sim.cli").warning("config warning: %s", "a % sign")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logs.FusionLogger("fusion.sim.cli").error("Simulation failed", exc_info=True)
            error = logging.makeLogRecord(
                {"name": "fusion.sim.cli", "levelname": "ERROR", "msg": "Simulation failed"}
                | {"exc_info": sys.exc_info()}
            )
    finally:
        assert logs.log_to(previous) is ours
    expected = [
        logging.makeLogRecord(
            {"name": "fusion.core.request", "levelname": "INFO"}
            | {"msg": "Generated %d requests", "args": (200,)}
        ),
        logging.makeLogRecord(
            {"name": "fusion.sim.cli", "levelname": "WARNING"}
            | {"msg": "config warning: %s", "args": ("a % sign",)}
        ),
        error,
    ]
    assert ours.getvalue() == "".join(formatter.format(record) + "\n" for record in expected)


@pytest.mark.parametrize("now", MOMENTS)
def test_time_stamps_are_datetimes(now):
    assert clock.stamp("%m%d_%H_%M_%S", now, 6, "_") == datetime.fromtimestamp(now).strftime(
        "%m%d_%H_%M_%S_%f"
    )
    utc = datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="milliseconds")
    assert clock.stamp("%Y-%m-%dT%H:%M:%S", now, 3, ".", utc=True) + "+00:00" == utc


def test_without_a_stream_nothing_is_logged(capsys):
    previous = logs.log_to(None)
    try:
        logs.FusionLogger("fusion.sim.cli").error("Simulation failed", exc_info=True)
    finally:
        logs.log_to(previous)
    assert capsys.readouterr() == ("", "")


def test_training_config_has_null_ci_in_fusion_json_but_a_table_with_one(tmp_path, capsys):
    out = tmp_path / "out"
    flags = ("--output_dir", str(out), "--progress_file", str(tmp_path / "p.jsonl"))
    assert _run(DEFAULT, *REFERENCE, *flags) == 0  # default.ini: is_training = True
    document = json.loads((out / "2000.0_erlang.json").read_text())
    assert {document[k] for k in SUMMARY_KEYS} == {None}
    assert document["iter_stats"]["1"]["sim_block_list"] == [0.0805, 0.078]
    (row,) = pd.read_csv(out / "results.csv").to_dict("records")
    assert row["blocking_mean"] == pytest.approx(0.07925)
    ci = 1.645 * math.sqrt(statistics.variance([0.0805, 0.078])) / math.sqrt(2)
    assert row["ci_lower"] == pytest.approx(0.07925 - ci)
    assert row["ci_upper"] == pytest.approx(0.07925 + ci)
    assert row["ci_percent"] == pytest.approx(200 * ci / 0.07925)
    complete = _events(tmp_path / "p.jsonl")[-2]
    assert complete["metrics"] == {
        "mean_blocking": pytest.approx(0.07925),
        "ci_lower": None,
        "ci_upper": None,
    }


def test_module_entry_point_in_a_subprocess(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "fusion_jupyter.sim",
            "run_sim",
            "--config_path",
            str(MINIMAL),
            "--run_id",
            "abc123",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    names = sorted(p.name for p in (tmp_path / "output").iterdir())
    assert names == [
        "300.0_erlang.json",
        "400.0_erlang.json",
        "500.0_erlang.json",
        "results.csv",
    ]
    assert _events(tmp_path / "progress.jsonl")[-1]["type"] == "complete"


def test_bad_config_exits_2_with_one_line_per_problem(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = _run(MINIMAL, "--num_requests", "101", "--route_method", "least_congested")
    err = _refusals(capsys)
    assert code == 2
    assert len(err) == 2
    assert all(line.startswith("fusion-jupyter-sim: config error: ") for line in err)
    # In the engine's order: the schema's problems, then what the model does not run.
    assert "general_settings.num_requests: 101 requests do not split exactly" in err[0]
    assert err[0].endswith("110 would")
    # FUSION reads route_method from [general_settings]: that is where it is refused.
    assert "general_settings.route_method: route_method = least_congested" in err[1]
    assert "k_shortest_path" in err[1]
    assert not (tmp_path / "progress.jsonl").exists() and not (tmp_path / "output").exists()


def test_a_flag_for_a_key_the_config_lacks_is_refused_with_the_other_problems(
    tmp_path, monkeypatch, capsys
):
    """FUSION drops such a value without a word (minimal.ini has no l_band: it would run
    the C band alone); the flag is refused, saying where the key belongs."""
    monkeypatch.chdir(tmp_path)
    code = _run(MINIMAL, "--l_band", "8", "--num_requests", "101")
    err = _refusals(capsys)
    assert code == 2
    assert len(err) == 2
    assert err[0].endswith(
        "config error: spectrum_settings.l_band: --l_band 8 is given but the config has no "
        "l_band in [spectrum_settings]: FUSION applies a command-line value only to a key its "
        "INI has, and would run without this one; add l_band = 8 to [spectrum_settings] instead"
    )
    assert "general_settings.num_requests: 101 requests do not split exactly" in err[1]
    assert not (tmp_path / "progress.jsonl").exists() and not (tmp_path / "output").exists()


@pytest.mark.parametrize(
    ("flags", "problem"),
    [
        (("--k_paths", "-1"), "routing_settings.k_paths: must be between 1 and 1000"),
        # FUSION's loader drops an optional value it cannot convert, for the default.
        (("--k_paths", "abc"), "routing_settings.k_paths: must be a whole number, got 'abc'"),
        (("--num_requests", "0"), "general_settings.num_requests: must be between 1 and"),
        (("--max_iters", "0"), "general_settings.max_iters: must be between 1 and"),
        (("--holding_time", "-1"), "general_settings.holding_time: must be between 1e-06"),
        (
            ("--erlang_start", "300", "--erlang_stop", "200"),
            "general_settings.erlang_stop: must be at least erlang_start (300), got 200",
        ),
        (("--erlang_step", "0"), "general_settings.erlang_step: must be greater than 0"),
    ],
)
def test_values_fusions_loader_lets_through_are_refused_as_the_engine_refuses_them(
    tmp_path, monkeypatch, capsys, flags, problem
):
    """The command line checks a config as a run submitted to the engine is checked: each
    value FUSION's loader passes but that names no sensible run gets one line, and
    nothing is written."""
    monkeypatch.chdir(tmp_path)
    assert _run(MINIMAL, *flags) == 2
    (line,) = _refusals(capsys)
    assert line.startswith(f"fusion-jupyter-sim: config error: {problem}")
    assert not (tmp_path / "progress.jsonl").exists() and not (tmp_path / "output").exists()


def test_what_fusion_would_read_otherwise_than_written_is_a_warning_not_a_refusal(
    tmp_path, monkeypatch, capsys
):
    """A truth value FUSION reads as False and a key it does not read: one warning line
    each, and the run goes on."""
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "typo.ini"
    config.write_text(
        MINIMAL.read_text().replace("[routing_settings]", "[routing_settings]\nk_path = 9")
    )
    flags = ["--max_iters", "1", "--dynamic_lps", "maybe"]
    code = cli.main(["run_sim", "--config_path", str(config), "--run_id", "w", *flags])
    assert code == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "WARNING" in line]
    # FUSION's own minimal.ini has three keys FUSION's loader does not read.
    assert sorted(line.split(" - ", 1)[1] for line in warnings) == sorted(
        [
            "fusion.sim.cli - WARNING - config warning: general_settings.dynamic_lps: FUSION reads "
            "'maybe' as False (only true, yes and 1 are True)",
            *(
                f"fusion.sim.cli - WARNING - config warning: general_settings.{key}: not a key "
                "FUSION reads in [general_settings]; ignored"
                for key in ("thread_num", "verbose_logging", "log_level")
            ),
            "fusion.sim.cli - WARNING - config warning: routing_settings.k_path: not a key FUSION "
            "reads in [routing_settings]; ignored",
        ]
    )
    assert (tmp_path / "output" / "results.csv").is_file()


def test_warnings_come_with_the_refusal_they_explain(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "typo.ini"
    config.write_text(MINIMAL.read_text().replace("route_method =", "route_methd ="))
    assert cli.main(["run_sim", "--config_path", str(config), "--run_id", "w"]) == 2
    err = capsys.readouterr().err
    assert "WARNING - config warning: general_settings.route_methd: not a key FUSION" in err
    assert "config error: general_settings.route_method: Missing required option" in err


@pytest.mark.parametrize(
    ("flag", "make", "reason"),
    [
        ("--output_dir", "file", "exists and is not a directory"),
        ("--progress_file", "dir", "is a directory"),
        ("--progress_file", "file_parent", "exists and is not a directory"),
    ],
)
def test_an_output_path_that_cannot_be_written_is_refused_before_the_run(
    tmp_path, monkeypatch, capsys, flag, make, reason
):
    """Refused with the flag and the reason (exit code 2), not met as a crash mid-run;
    the file in the way is left as it was."""
    monkeypatch.chdir(tmp_path)
    blocker = tmp_path / "blocker"
    if make == "dir":
        blocker.mkdir()
        target = blocker
    else:
        blocker.write_text("keep me")
        target = blocker / "p.jsonl" if make == "file_parent" else blocker
    assert _run(MINIMAL, "--max_iters", "1", flag, str(target)) == 2
    errors = _refusals(capsys)
    assert len(errors) == 1
    assert errors[0].startswith(f"fusion-jupyter-sim: error: {flag}: ") and reason in errors[0]
    if make != "dir":
        assert blocker.read_text() == "keep me"
    assert not (tmp_path / "progress.jsonl").exists() and not (tmp_path / "output").exists()


def test_a_boolean_is_a_bare_flag_as_in_fusion_or_takes_a_value(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert _run(MINIMAL, "--dynamic_lps", "--max_iters", "1") == 2
    assert "dynamic_lps = True is modelled only with snr_type = gsnr" in capsys.readouterr().err
    assert _run(MINIMAL, "--dynamic_lps", "False", "--max_iters", "1") == 0
    assert _run(MINIMAL, "--max_iters", "1", "--dynamic_lps") == 2


def test_result_files_are_written_when_fusion_writes_them(tmp_path, monkeypatch, capsys):
    """After the first and last iteration and every save_step-th: iter_stats holds
    those, and the log says so; results.csv counts every iteration; FUSION's empty
    snapshot table."""
    monkeypatch.chdir(tmp_path)
    flags = ["--max_iters", "3", "--erlang_start", "300", "--erlang_stop", "300"]
    assert (
        _run(MINIMAL, *flags, "--save_step", "10", "--save_snapshots", "--snapshot_step", "50") == 0
    )
    document = json.loads((tmp_path / "output" / "300.0_erlang.json").read_text())
    assert list(document["iter_stats"]) == ["0", "2"]
    saves = [line for line in capsys.readouterr().err.splitlines() if "Saving stats" in line]
    assert [line.rsplit(" ", 1)[-1] for line in saves] == ["0", "2"]
    assert len(document["iter_stats"]["2"]["sim_block_list"]) == 3
    snapshots = document["iter_stats"]["0"]["snapshots_dict"]
    assert list(snapshots) == ["0", "50", "100"]
    assert snapshots["50"] == dict.fromkeys(
        ("occupied_slots", "guard_slots", "active_requests", "blocking_prob", "num_segments")
    )
    table = pd.read_csv(tmp_path / "output" / "results.csv")
    assert table["iterations"].tolist() == [3]


def _saved_iterations(path: Path) -> list[str]:
    return list(json.loads(path.read_text())["iter_stats"])


def test_a_loads_file_is_rewritten_at_most_once_a_checkpoint(tmp_path, monkeypatch):
    """Every iteration FUSION saves is written when the checkpoint allows it; otherwise
    a load's file is written when the load ends, with the same content."""
    writes: list[tuple[str, list[str]]] = []
    real_write = outputs.write_json_atomically

    def write(path: str, document: dict) -> None:
        writes.append((Path(path).name, list(document["iter_stats"])))
        real_write(path, document)

    monkeypatch.setattr(outputs, "write_json_atomically", write)
    params = load_params(
        MINIMAL,
        {
            **{"max_iters": "3", "save_step": "1"},
            **{"erlang_start": "300", "erlang_stop": "600", "erlang_step": "300"},
        },
    )
    simulate(params, outputs.OutputWriter(tmp_path / "every", checkpoint_seconds=0.0))
    for name in ("300.0_erlang.json", "600.0_erlang.json"):
        assert [saved for file, saved in writes if file == name] == [
            ["0"],
            ["0", "1"],
            ["0", "1", "2"],
        ]
    writes.clear()
    simulate(params, outputs.OutputWriter(tmp_path / "once", checkpoint_seconds=3600.0))
    assert writes == [
        ("300.0_erlang.json", ["0", "1", "2"]),
        ("600.0_erlang.json", ["0", "1", "2"]),
    ]
    for name in ("300.0_erlang.json", "600.0_erlang.json"):
        every = json.loads((tmp_path / "every" / name).read_text())
        once = json.loads((tmp_path / "once" / name).read_text())
        for document in (every, once):
            document["fusion_jupyter"].pop("wall_seconds")
            document.pop("sim_end_time")
        assert every == once


def test_a_failed_run_leaves_what_fusion_saved_before_it_on_disk(tmp_path, monkeypatch):
    """A run that fails in its second iteration, inside the checkpoint interval: the
    load's file holds the iterations FUSION saved (save_step 1: both)."""
    monkeypatch.chdir(tmp_path)
    real_hook = cli.FusionLog.iteration_done

    def fail_second(self, point, result) -> None:
        real_hook(self, point, result)
        if result.iteration == 1:
            raise RuntimeError("boom")

    monkeypatch.setattr(cli.FusionLog, "iteration_done", fail_second)
    flags = ["--max_iters", "3", "--erlang_start", "300", "--erlang_stop", "300"]
    assert _run(MINIMAL, *flags, "--save_step", "1") == 1
    assert _saved_iterations(tmp_path / "output" / "300.0_erlang.json") == ["0", "1"]
    assert _events(tmp_path / "progress.jsonl")[-1]["type"] == "error"


def test_missing_config_file_exits_2(tmp_path, capsys):
    code = _run(tmp_path / "nope.ini")
    assert code == 2
    assert "nope.ini" in capsys.readouterr().err


def test_crash_writes_an_error_event_and_exits_1(tmp_path, monkeypatch, capsys):
    def explode(params, observer, ctx):
        observer.run_started(params)
        raise RuntimeError("boom")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "simulate", explode)
    assert _run(MINIMAL) == 1
    start, error = _events(tmp_path / "progress.jsonl")
    assert start["type"] == "start"
    assert error["type"] == "error"
    assert error["message"] == "RuntimeError: boom"
    assert "Traceback" in error["traceback"] and "explode" in error["traceback"]
    assert "RuntimeError: boom" in capsys.readouterr().err


# --- what is supported --------------------------------------------------------------


def _template(path: Path, **changes: tuple[str, str]) -> dict[str, dict[str, str]]:
    config = parse_text(path.read_text())
    for key, (section, value) in changes.items():
        config[section][key] = value
    return config


@pytest.mark.parametrize("template", [MINIMAL, DEFAULT])
def test_fusions_templates_are_supported(template):
    assert check_supported(parse_text(template.read_text())) == []


@pytest.mark.parametrize("name", ["minimal.ini", "default.ini", "blocking.ini"])
def test_the_engines_templates_are_supported(name):
    from fusion_jupyter.engine.config import SHIPPED_TEMPLATES_DIR

    assert check_supported(parse_text((SHIPPED_TEMPLATES_DIR / name).read_text())) == []


@pytest.mark.parametrize(
    ("section", "key", "value", "supported"),
    [
        ("general_settings", "route_method", "least_congested", "k_shortest_path"),
        ("general_settings", "allocation_method", "priority_last", "first_fit"),
        ("general_settings", "allocation_method", "last_fit", "fixed_grid = True"),
        ("general_settings", "guard_slots", "1", "guard_slots = 0"),
        ("snr_settings", "snr_type", "snr_e2e", "None"),
        ("general_settings", "dynamic_lps", "True", "snr_type = gsnr"),
        ("general_settings", "can_partially_serve", "True", "dynamic_lps = True"),
        ("general_settings", "is_grooming_enabled", "True", "fixed_grid = True"),
        ("general_settings", "spectrum_priority", "SCB", "BSC"),
        ("general_settings", "fixed_grid", "True", "is_grooming_enabled = True"),
        ("spectrum_settings", "l_band", "320", "C+L (l_band) with snr_type = gsnr"),
        ("spectrum_settings", "s_band", "320", "the C band"),
        ("topology_settings", "network", "Atlantis", "NSFNet"),
        ("general_settings", "mod_assumption", "MISSING", "DEFAULT"),
        ("general_settings", "mod_assumption_path", "tables/mine.json", "--fusion_root"),
        ("general_settings", "save_start_end_slots", "True", "False"),
        ("general_settings", "save_step", "0", "use 1 or more"),
    ],
)
def test_unsupported_settings_name_the_key_and_what_is_supported(section, key, value, supported):
    # guard_slots = 1 is minimal.ini's own: refused only with best fit.
    best_fit = (
        {"allocation_method": ("general_settings", "best_fit")} if key == "guard_slots" else {}
    )
    problems = check_supported(_template(MINIMAL, **{key: (section, value)}, **best_fit))
    assert len(problems) == 1
    (problem,) = problems
    assert (problem.section, problem.key) == (section, key)
    assert value in problem.message and supported in problem.message


def test_settings_fusion_cannot_run_are_refused_with_fusions_own_failure():
    """least_congested always, last fit on the flexible grid, best fit with guard slots,
    priority first on fewer than 7 cores: each refusal says how FUSION fails; where
    FUSION runs them they are accepted."""
    (problem,) = check_supported(
        _template(MINIMAL, route_method=("general_settings", "least_congested"))
    )
    assert "raises KeyError: 0 on its first request" in problem.message
    (problem,) = check_supported(
        _template(MINIMAL, allocation_method=("general_settings", "last_fit"))
    )
    assert "'Spectrum set cannot be empty.'" in problem.message
    best_fit = {"allocation_method": ("general_settings", "best_fit")}
    (problem,) = check_supported(_template(MINIMAL, **best_fit))
    assert "'Attempted to allocate a taken spectrum.'" in problem.message
    no_guard = {"guard_slots": ("general_settings", "0")}
    assert check_supported(_template(MINIMAL, **best_fit, **no_guard)) == []
    priority = {"allocation_method": ("general_settings", "priority_first")}
    (problem,) = check_supported(_template(MINIMAL, **priority))  # 3 cores
    assert problem.key == "cores_per_link" and "raises IndexError" in problem.message
    seven = {"cores_per_link": ("topology_settings", "7")}
    assert check_supported(_template(MINIMAL, **priority, **seven)) == []


def test_a_snapshot_step_of_0_is_refused_only_with_snapshots():
    config = _template(MINIMAL, snapshot_step=("general_settings", "0"))
    assert check_supported(config) == []
    config["general_settings"]["save_snapshots"] = "True"
    (problem,) = check_supported(config)
    assert problem.key == "snapshot_step" and "raises ValueError" in problem.message


@pytest.mark.parametrize("failure", ["link", "geo"])
def test_failure_injection_is_refused_with_fusions_own_failure(failure):
    """FUSION raises before its first request whatever the failure type; none runs."""
    config = parse_text(MINIMAL.read_text())
    config["failure_settings"] = {"failure_type": failure, "failed_link_src": "0"}
    (problem,) = check_supported(config)
    assert (problem.section, problem.key) == ("failure_settings", "failure_type")
    assert f"failure_type = {failure} is not modelled" in problem.message
    assert "unsupported format string passed to tuple.__format__" in problem.message
    assert [p.key for p in fusion_crashes(config)] == ["failure_type"]
    config["failure_settings"]["failure_type"] = "none"
    assert check_supported(config) == [] and fusion_crashes(config) == []


@pytest.mark.parametrize("guard_slots", ["2", "3"])
def test_two_or_more_guard_slots_are_refused_with_fusions_own_failure(guard_slots):
    """FUSION marks one guard slot whatever the setting and soon raises; 0 and 1 run."""
    (problem,) = check_supported(_template(MINIMAL, guard_slots=("general_settings", guard_slots)))
    assert (problem.section, problem.key) == ("general_settings", "guard_slots")
    assert f"guard_slots = {guard_slots} is not modelled" in problem.message
    assert "Attempted to allocate a taken spectrum." in problem.message
    assert "use 0 or 1" in problem.message
    for runs in ("0", "1"):
        assert check_supported(_template(MINIMAL, guard_slots=("general_settings", runs))) == []


def test_congestion_aware_routing_is_modelled_on_the_reach_table_only():
    congestion = {"route_method": ("general_settings", "cong_aware")}
    assert check_supported(_template(MINIMAL, **congestion)) == []
    gsnr = {
        "snr_type": ("snr_settings", "gsnr"),
        "dynamic_lps": ("general_settings", "True"),
        "guard_slots": ("general_settings", "0"),
    }
    (problem,) = check_supported(_template(MINIMAL, **congestion, **gsnr))
    assert problem.key == "route_method" and "snr_type = None" in problem.message


def test_gsnr_is_modelled_with_dynamic_slicing_and_no_guard_slots_only():
    gsnr = {"snr_type": ("snr_settings", "gsnr")}
    dynamic = {"dynamic_lps": ("general_settings", "True")}
    no_guard = {"guard_slots": ("general_settings", "0")}
    problems = check_supported(_template(MINIMAL, **gsnr))
    assert {p.key for p in problems} == {"snr_type", "guard_slots"}
    assert all("gsnr" in p.message for p in problems)
    assert check_supported(_template(MINIMAL, **gsnr, **dynamic, **no_guard)) == []
    partial = {"can_partially_serve": ("general_settings", "True")}
    csb = {"spectrum_priority": ("general_settings", "CSB")}
    assert (
        check_supported(_template(MINIMAL, **gsnr, **dynamic, **no_guard, **partial, **csb)) == []
    )


def test_the_core_layouts_are_fusions():
    """Every core's adjacent cores, for 1 to 20 cores a link, as FUSION's own
    ``adjacent_core_indices`` (its module, read from FUSION's source) gives them."""
    from fusion_jupyter.sim.cores import adjacent

    script = (
        "import json, sys; from fusion.utils.spectrum import adjacent_core_indices as a; "
        "json.dump({n: [a(c, n) for c in range(n)] for n in range(1, 21)}, sys.stdout)"
    )
    ran = subprocess.run(
        [sys.executable, "-c", script],
        cwd=require_fusion_source(),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    theirs = json.loads(ran.stdout)
    for count, cores in theirs.items():
        assert [list(adjacent(core, int(count))) for core in range(int(count))] == cores, count


def test_snr_recheck_of_adjacent_cores_is_accepted_on_every_layout():
    """FUSION's recheck filter adds adjacent cores (its default) on its 4-, 7-, 13- and
    19-core layouts; the model does the same (tests/unit/test_sim_model.py)."""
    physical = {
        "snr_type": ("snr_settings", "gsnr"),
        "dynamic_lps": ("general_settings", "True"),
        "guard_slots": ("general_settings", "0"),
        "snr_recheck": ("snr_settings", "True"),
        "recheck_adjacent_cores": ("snr_settings", "True"),
    }
    for cores in ("3", "4", "7", "13", "19"):
        layout = {"cores_per_link": ("topology_settings", cores)}
        assert check_supported(_template(MINIMAL, **physical, **layout)) == []


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("general_settings", "route_method", "k_shortest_path"),
        ("general_settings", "fixed_grid", "False"),
        ("general_settings", "dynamic_lps", "False"),
        ("general_settings", "can_partially_serve", "True"),
        ("general_settings", "is_grooming_enabled", "True"),
        ("general_settings", "guard_slots", "1"),
        ("topology_settings", "cores_per_link", "7"),
        ("topology_settings", "network", "Spainbackbone30"),
        ("spectrum_settings", "s_band", "200"),
        ("snr_settings", "snr_recheck", "True"),
    ],
)
def test_external_resources_are_modelled_as_fusions_fixture_combination(section, key, value):
    """ext_snr_4core_cls_dy-slice's settings are modelled; each departure is refused by name."""
    root = require_fusion_source()
    case = root / "tests" / "fixtures" / "expected_results" / "ext_snr_4core_cls_dy-slice"
    config_file = case / "ext_snr_4core_cls_dy-slice_config.ini"
    assert check_supported(parse_text(config_file.read_text()), root) == []
    config = parse_text(config_file.read_text())
    config[section][key] = value
    problems = check_supported(config, root)
    assert {p.key for p in problems} == {key if key != "s_band" else "c_band"}
    assert all(f"{key} = {value}" in p.message for p in problems)


def test_external_ksp_is_modelled_only_with_external_resources():
    problems = check_supported(
        _template(MINIMAL, route_method=("general_settings", "external_ksp"))
    )
    assert [p.key for p in problems] == ["route_method"]
    assert "snr_e2e_external_resources" in problems[0].message


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("general_settings", "allocation_method", "last_fit"),
        ("general_settings", "allocation_method", "best_fit"),
        ("snr_settings", "snr_type", "None"),
        ("topology_settings", "cores_per_link", "4"),
        ("general_settings", "guard_slots", "2"),
        ("general_settings", "dynamic_lps", "True"),
        ("general_settings", "pre_calc_mod_selection", "True"),
        ("snr_settings", "snr_recheck", "True"),
    ],
)
def test_xt_aware_routing_is_modelled_as_fusions_fixture_combination(section, key, value):
    """xtar_slicing_pff's settings are modelled (first fit for priority first too:
    test_sim_fixtures runs it against FUSION); each departure is refused by name."""
    root = require_fusion_source()
    case = root / "tests" / "fixtures" / "expected_results" / "xtar_slicing_pff"
    text = (case / "xtar_slicing_pff_config.ini").read_text()
    assert check_supported(parse_text(text), root) == []
    config = parse_text(text)
    config[section][key] = value
    problems = check_supported(config, root)
    assert key in {p.key for p in problems}
    assert any(f"{key} = {value}" in p.message for p in problems if p.key == key)


@pytest.mark.parametrize(
    ("key", "value", "modelled"),
    [
        ("allocation_method", "first_fit", True),
        ("route_method", "k_shortest_path", True),
        ("route_method", "shortest_path", True),
        ("route_method", "cong_aware", False),
    ],
)
def test_the_xt_check_is_modelled_with_first_fit_and_k_shortest_paths_too(key, value, modelled):
    root = require_fusion_source()
    case = root / "tests" / "fixtures" / "expected_results" / "xtar_slicing_pff"
    config = parse_text((case / "xtar_slicing_pff_config.ini").read_text())
    config["general_settings"][key] = value
    problems = check_supported(config, root)
    assert (problems == []) is modelled
    if not modelled:
        assert any(
            p.key == key and "snr_type set as FUSION's XT-aware combination" in p.message
            for p in problems
        )


def test_distribution_must_match_the_modulation_table():
    changed = _template(
        MINIMAL, request_distribution=("general_settings", '{"25": 0.5, "1000": 0.5}')
    )
    (problem,) = check_supported(changed)
    assert problem.key == "request_distribution" and "1000" in problem.message


def test_custom_topology_file_in_fusions_format(tmp_path):
    topology = tmp_path / "ring.txt"
    topology.write_text("a\tb\t300\nb\tc\t400\nc\ta\t500\nb\ta\t300\n")
    config = tmp_path / "ring.ini"
    text = MINIMAL.read_text().replace("network = NSFNet", f"network = {topology}")
    config.write_text(text)
    assert check_supported(parse_text(text)) == []
    params = load_params(config, {"erlang_start": "50", "erlang_stop": "50"})
    assert (params.network, params.topology_file) == ("ring", str(topology))
    (point,) = simulate(params)
    assert point.iterations[0].link_usage.keys() == {"a-b", "b-a", "b-c", "c-b", "c-a", "a-c"}
    assert point.iterations[0].hops.max == 1.0


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("a b\n", "line 1: expected 'src dst km', got 'a b'"),
        ("a\tb\t300\nb\tc\tfar\n", "line 2: length 'far' is not a number"),
        ("", "lists no links"),
    ],
)
def test_a_topology_file_fusion_cannot_read_is_refused_before_the_run(
    tmp_path, monkeypatch, capsys, text, reason
):
    """The engine's check (check_supported) reads the file, so a run is refused at
    submission, and the command line names the field, the file and the line."""
    topology = tmp_path / "bad.txt"
    topology.write_text(text)
    (problem,) = check_supported(_template(MINIMAL, network=("topology_settings", str(topology))))
    assert (problem.section, problem.key) == ("topology_settings", "network")
    assert problem.message.startswith(f"topology file {topology}: ") and reason in problem.message
    monkeypatch.chdir(tmp_path)
    assert _run(MINIMAL, "--network", str(topology)) == 2
    (line,) = _refusals(capsys)
    assert line == f"fusion-jupyter-sim: config error: {problem}"
    assert not (tmp_path / "progress.jsonl").exists() and not (tmp_path / "output").exists()


def test_custom_modulation_table_by_absolute_path(tmp_path):
    shipped = resources.files("fusion_jupyter.sim").joinpath(
        "data", "fusion", "data", "json_input", "example_mods", "default_mod_formats.json"
    )
    table = json.loads(shipped.read_text())
    table["DEFAULT"]["400"]["QPSK"]["max_length"] = 99999  # 400G reaches everywhere
    path = tmp_path / "mods.json"
    path.write_text(json.dumps(table))
    config = _template(MINIMAL, mod_assumption_path=("general_settings", str(path)))
    assert check_supported(config) == []
    ini = tmp_path / "mods.ini"
    ini.write_text(
        MINIMAL.read_text().replace(
            "mod_assumption_path = data/json_input/example_mods/default_mod_formats.json",
            f"mod_assumption_path = {path}",
        )
    )
    params = load_params(ini)
    assert params.mod_assumption_path == str(path)
    point = simulate(params)[0]
    # FUSION's table lets 400G QPSK reach 1385 km only.
    assert point.iterations[0].weights["400"]["QPSK"]["max"] > 1385


@pytest.mark.parametrize("template", [MINIMAL, DEFAULT], ids=["evaluating", "training"])
def test_results_from_fusion_json_agree_with_the_simulators_table(tmp_path, template):
    from fusion_jupyter.engine.artifacts import results

    out = tmp_path / "out"
    flags = ("--output_dir", str(out), "--progress_file", str(tmp_path / "p.jsonl"))
    assert (
        _run(
            template,
            *REFERENCE[:2],
            "--erlang_stop",
            "2400",
            "--erlang_step",
            "400",
            *REFERENCE[4:],
            *flags,
        )
        == 0
    )
    table = results(out)  # the simulator's results.csv
    (out / "results.csv").unlink()
    rebuilt = results(out)  # only FUSION-format JSON left, as after a real FUSION run
    columns = [
        "erlang",
        "iterations",
        "blocking_mean",
        "blocking_variance",
        "ci_lower",
        "ci_upper",
        "ci_percent",
    ]
    assert len(table) == 2
    pd.testing.assert_frame_equal(table[columns], rebuilt[columns], check_dtype=False)


def test_the_engine_check_leaves_missing_keys_and_quotas_to_the_config_validation():
    """The engine validates layout and quotas itself: check_supported never repeats them."""
    from fusion_jupyter.sim.support import check_config

    config = _template(MINIMAL, num_requests=("general_settings", "101"))
    del config["general_settings"]["route_method"]
    assert check_supported(config) == []
    (missing,) = check_config(config).errors
    assert missing.message.startswith("Missing required option 'route_method'")
    config["general_settings"]["route_method"] = "k_shortest_path"
    (split,) = check_config(config).errors
    assert split.key == "num_requests" and "do not split exactly" in split.message


def test_reading_a_config_and_building_its_context_imports_no_typing_nor_pathlib():
    """The command line's start-up does without typing, importlib.util and pathlib, the
    largest imports it could spare (fusion_jupyter/_namedtuple.py, numpy_math._spec_of,
    paths as strings). A run on the compiled wheel imports none of them (tests/wheel);
    here, interpreted, up to the simulation of a config without the GSNR (the pure
    package computes numpy's functions with numpy, which imports typing)."""
    root = require_fusion_source()
    case = next(c for c in discover(root) if c.name == "baseline_spf_ff")
    argv = ["run_sim", "--config_path", str(config_of(case)), "--run_id", "t"]
    argv += ["--fusion_root", str(root), "--mod_assumption_path", str(case / "mod_formats.json")]
    code = (
        "from fusion_jupyter.sim import cli\n"
        f"params, ctx = cli.prepare(cli.parse_args({argv!r}))\n"
        "print(params.network, len(ctx.topology.links))"
    )
    for module in ("typing", "importlib.util", "pathlib"):
        printed, imported = run_fresh(code, module)
        assert printed.split()[0] == "NSFNet" and int(printed.split()[1]) > 0
        assert not imported, module
