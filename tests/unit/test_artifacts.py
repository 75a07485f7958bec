"""Listing, safe resolution and loading of run files (fusion_jupyter.engine.artifacts)."""

from __future__ import annotations

import json
import math
import os
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from fusion_jupyter.engine import artifacts
from fusion_jupyter.engine.errors import Forbidden, NotFound, ValidationFailed
from tests.support.fusion import SUMMARY_KEYS

NSF_LINKS = [
    (0, 1), (0, 2), (0, 7), (1, 2), (1, 3), (2, 5), (3, 4), (3, 10), (4, 5), (4, 6), (5, 9),
    (5, 13), (6, 7), (6, 9), (7, 8), (8, 9), (8, 11), (8, 12), (10, 11), (10, 12), (11, 13),
    (12, 13),
]  # fmt: skip


def iteration_snapshot(index: int, blocking: list[float], bit_rate: list[float]) -> dict[str, Any]:
    """What FUSION stores in iter_stats[str(index)]: a copy of its stats after that iteration."""
    return {
        "sim_block_list": blocking[: index + 1],
        "sim_br_block_list": bit_rate[: index + 1],
        "block_reasons_dict": {"distance": 1.0, "congestion": 0, "xt_threshold": 0},
        "block_bw_dict": {"25": 0, "50": 1, "100": 3, "200": 4, "400": 6},
        "mods_used_dict": {"100": {"QPSK": 10, "16-QAM": 30, "64-QAM": 2}},
        "path_index_list": [60, 25, 10],
        "cores_dict": {"0": 50, "1": 30, "2": 15},
        "hops_mean": 2.4 + index / 10,
        "hops_min": 1.0,
        "hops_max": 5.0,
        "lengths_mean": 1830.5,
        "lengths_min": 300.0,
        "lengths_max": 3800.0,
        "trans_mean": 1.2,
        "trans_min": 1.0,
        "trans_max": 4.0,
        "route_times_mean": None,
        "route_times_min": None,
        "route_times_max": None,
        "start_slot_list": [],
        "end_slot_list": [],
    }


def fusion_result(
    blocking: list[float],
    bit_rate: list[float] | None = None,
    *,
    summary: dict[str, float | None] | None = None,
    saved: list[int] | None = None,
) -> dict[str, Any]:
    """A FUSION ``<erlang>_erlang.json``; ``summary=None`` writes nulls like is_training=True."""
    bit_rate = bit_rate if bit_rate is not None else [2 * b for b in blocking]
    saved = saved if saved is not None else list(range(len(blocking)))
    return {
        **{key: (summary or {}).get(key) for key in SUMMARY_KEYS},
        "lightpath_utilization": 0.73,
        "link_usage": {
            f"{u}-{v}": {"usage_count": 12 + u, "throughput": 1200.0, "link_num": n}
            for n, (a, b) in enumerate(NSF_LINKS)
            for u, v in ((a, b), (b, a))
        },
        "iter_stats": {str(i): iteration_snapshot(i, blocking, bit_rate) for i in saved},
        "sim_end_time": "1122_01_58_30_445123",
    }


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=4))
    return path


def fusion_dir(output: Path, stamp: str = "01_58_18_129942") -> Path:
    return output / "NSFNet" / "1122" / stamp / "s1"


def fusion_ci(values: list[float]) -> tuple[float, float, float, float]:
    """mean, variance, CI half-width, CI percent as FUSION's metrics compute them."""
    mean = statistics.mean(values)
    variance = statistics.variance(values) if len(values) > 1 else 0.0
    ci = 1.645 * math.sqrt(variance) / math.sqrt(len(values))
    return mean, variance, ci, 200 * ci / mean


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    root = tmp_path / "run"
    (root / "logs").mkdir(parents=True)
    (root / "config.ini").write_text("[general_settings]\nx = 1\n")
    (root / "logs" / "sim.log").write_text("line 1\nline 2\n")
    (root / "progress.jsonl").write_text('{"type": "start"}\n')
    write_json(fusion_dir(root / "output") / "300.0_erlang.json", fusion_result([0.01, 0.02]))
    (root / "output" / "plot.PNG").write_bytes(b"\x89PNG")
    (root / "output" / "notes.md").write_text("hi")
    return root


# --------------------------------------------------------------------------- listing


def test_list_artifacts_is_recursive_sorted_and_typed(run_dir):
    listed = artifacts.list_artifacts(run_dir)
    assert [a.path for a in listed] == [
        "config.ini",
        "logs/sim.log",
        "output/NSFNet/1122/01_58_18_129942/s1/300.0_erlang.json",
        "output/notes.md",
        "output/plot.PNG",
        "progress.jsonl",
    ]
    kinds = {a.path.rsplit("/", 1)[-1]: a.kind for a in listed}
    assert kinds == {
        "config.ini": "config",
        "sim.log": "log",
        "300.0_erlang.json": "json",
        "notes.md": "other",
        "plot.PNG": "image",
        "progress.jsonl": "table",
    }
    log = next(a for a in listed if a.path == "logs/sim.log")
    assert log.size == len("line 1\nline 2\n")
    assert log.modified.tzinfo == timezone.utc
    assert abs(log.modified.timestamp() - (run_dir / "logs" / "sim.log").stat().st_mtime) < 1e-3


def test_artifact_to_dict_uses_utc_z_timestamps():
    artifact = artifacts.Artifact(
        "output/a.csv", 10, datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc), "table"
    )
    assert artifact.to_dict() == {
        "path": "output/a.csv",
        "size": 10,
        "modified": "2026-01-02T03:04:05.678Z",
        "kind": "table",
    }


def test_listing_never_leaves_the_run_directory(run_dir, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (run_dir / "link_out.txt").symlink_to(outside / "secret.txt")
    (run_dir / "dir_out").symlink_to(outside, target_is_directory=True)
    (run_dir / "link_in.log").symlink_to(run_dir / "logs" / "sim.log")
    (run_dir / "loop").symlink_to(run_dir, target_is_directory=True)
    (run_dir / "dangling").symlink_to(run_dir / "nothing")
    paths = [a.path for a in artifacts.list_artifacts(run_dir)]
    assert "link_in.log" in paths
    assert not any(p.startswith(("link_out", "dir_out", "loop", "dangling")) for p in paths)
    assert not any("secret" in p for p in paths)


def test_listing_through_a_symlinked_run_directory_works(run_dir, tmp_path):
    alias = tmp_path / "alias"
    alias.symlink_to(run_dir, target_is_directory=True)
    assert [a.path for a in artifacts.list_artifacts(alias)] == [
        a.path for a in artifacts.list_artifacts(run_dir)
    ]


def test_listing_a_missing_run_directory_is_not_found(tmp_path):
    with pytest.raises(NotFound):
        artifacts.list_artifacts(tmp_path / "missing")


def test_listing_thousands_of_files_is_fast(tmp_path):
    root = tmp_path / "many"
    for d in range(40):
        directory = root / "output" / f"d{d:02}"
        directory.mkdir(parents=True)
        for f in range(100):
            (directory / f"f{f:03}.json").write_text("{}")
    started = time.perf_counter()
    listed = artifacts.list_artifacts(root)
    elapsed = time.perf_counter() - started
    assert len(listed) == 4000
    assert listed[0].path == "output/d00/f000.json"
    assert elapsed < 1.0, f"{elapsed:.3f}s for 4000 files"


# --------------------------------------------------------------------------- resolving


def test_resolve_gives_the_real_path_inside(run_dir):
    real_root = run_dir.resolve()
    assert artifacts.resolve(run_dir, "logs/sim.log") == real_root / "logs" / "sim.log"
    assert artifacts.resolve(run_dir, "./logs//sim.log") == real_root / "logs" / "sim.log"
    assert artifacts.resolve(run_dir, "logs") == real_root / "logs"
    (run_dir / "alias.log").symlink_to(run_dir / "logs" / "sim.log")
    assert artifacts.resolve(run_dir, "alias.log") == real_root / "logs" / "sim.log"


@pytest.mark.parametrize(
    ("relpath", "reason"),
    [
        ("", "empty"),
        (".", "the run directory itself"),
        ("./", "the run directory itself"),
        ("..", "'..' component"),
        ("../run/config.ini", "'..' component"),
        ("logs/../../outside/secret.txt", "'..' component"),
        ("logs/..", "'..' component"),
        ("/etc/passwd", "absolute"),
        ("//etc/passwd", "absolute"),
        ("logs/sim.log\x00.png", "NUL"),
        ("logs\\sim.log", "backslash"),
        ("..\\..\\etc\\passwd", "backslash"),
    ],
)
def test_resolve_refuses_traversal(run_dir, relpath, reason):
    with pytest.raises(Forbidden) as caught:
        artifacts.resolve(run_dir, relpath)
    assert reason in caught.value.message
    assert repr(relpath) in caught.value.message
    assert caught.value.details["path"] == relpath


def test_resolve_refuses_symlinks_that_lead_out(run_dir, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (run_dir / "output" / "secret.txt").symlink_to(outside / "secret.txt")
    (run_dir / "output" / "escape").symlink_to(outside, target_is_directory=True)
    (run_dir / "output" / "ghost").symlink_to(outside / "not-yet")
    (run_dir / "up").symlink_to("..", target_is_directory=True)
    for relpath in ("output/secret.txt", "output/escape/secret.txt", "output/escape",
                    "output/ghost", "up/outside/secret.txt", "up"):  # fmt: skip
        with pytest.raises(Forbidden) as caught:
            artifacts.resolve(run_dir, relpath)
        assert "symlink that leads outside the run directory" in caught.value.message


def test_resolve_reports_missing_files(run_dir):
    (run_dir / "dangling").symlink_to(run_dir / "not-there")
    for relpath in ("output/nope.csv", "nope/deeper/file", "dangling"):
        with pytest.raises(NotFound) as caught:
            artifacts.resolve(run_dir, relpath)
        assert repr(relpath) in caught.value.message
    with pytest.raises(NotFound):
        artifacts.resolve(run_dir.parent / "missing-run", "config.ini")


# --------------------------------------------------------------------------- loading


def test_load_csv_parquet_and_jsonl(tmp_path):
    frame = pd.DataFrame({"erlang": [300.0, 400.0], "blocking": [0.0, 0.01]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.to_parquet(tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(artifacts.load(tmp_path / "t.csv"), frame)
    pd.testing.assert_frame_equal(artifacts.load(tmp_path / "t.parquet"), frame)

    (tmp_path / "p.jsonl").write_text(
        '{"type": "start", "seq": 0}\n'
        "\n"
        '{"type": "iteration", "erlang": 300.0, "metrics": {"blocking_prob": 0.01}}\n'
        '{"type": "iterat'  # a line the simulator is still writing
    )
    events = artifacts.load(tmp_path / "p.jsonl")
    assert list(events["type"]) == ["start", "iteration"]
    assert events["metrics.blocking_prob"].iloc[1] == 0.01


def test_load_refuses_a_broken_line_in_the_middle_of_jsonl(tmp_path):
    (tmp_path / "p.jsonl").write_text('{"a": 1}\nnot json\n{"a": 2}\n')
    with pytest.raises(ValidationFailed) as caught:
        artifacts.load(tmp_path / "p.jsonl")
    assert "line 2" in caught.value.message
    assert str(tmp_path / "p.jsonl") in caught.value.message


def test_load_other_json_is_flattened(tmp_path):
    write_json(tmp_path / "one.json", {"a": 1, "b": {"c": 2}})
    write_json(tmp_path / "rows.json", [{"a": 1}, {"a": 2, "b": 3}])
    write_json(tmp_path / "scalars.json", [1, 2, 3])
    assert artifacts.load(tmp_path / "one.json").to_dict("records") == [{"a": 1, "b.c": 2}]
    rows = artifacts.load(tmp_path / "rows.json")
    assert list(rows["a"]) == [1, 2]
    assert math.isnan(rows["b"].iloc[0])
    assert list(artifacts.load(tmp_path / "scalars.json")["value"]) == [1, 2, 3]


def test_load_fusion_erlang_file_gives_one_row_per_iteration(tmp_path):
    blocking = [0.0805, 0.0780, 0.0790, 0.0801]
    bit_rate = [0.18727, 0.1801, 0.1822, 0.1833]
    # FUSION saves iteration 0, every save_step-th and the last; the last snapshot's
    # sim_block_list still holds every iteration.
    data = fusion_result(blocking, bit_rate, saved=[0, 3])
    path = write_json(fusion_dir(tmp_path) / "2000.0_erlang.json", data)
    frame = artifacts.load(path)
    assert list(frame.columns[:4]) == ["erlang", "iteration", "blocking_prob", "bit_rate_blocking"]
    assert list(frame["iteration"]) == [1, 2, 3, 4]
    assert list(frame["erlang"]) == [2000.0] * 4
    assert list(frame["blocking_prob"]) == blocking
    assert list(frame["bit_rate_blocking"]) == bit_rate
    assert {"hops_mean", "lengths_mean", "trans_max", "route_times_mean"} <= set(frame.columns)
    assert frame["hops_mean"].iloc[0] == pytest.approx(2.4)
    assert frame["hops_mean"].iloc[3] == pytest.approx(2.7)
    assert math.isnan(frame["hops_mean"].iloc[1])  # no snapshot for iteration 2
    assert frame["route_times_mean"].isna().all()
    assert "block_reasons_dict" not in frame.columns


@pytest.mark.parametrize("name", ["data.xlsx", "README", "archive.tar.gz"])
def test_load_refuses_unknown_kinds(tmp_path, name):
    path = tmp_path / name
    path.write_text("x")
    with pytest.raises(ValidationFailed) as caught:
        artifacts.load(path)
    assert str(path) in caught.value.message
    assert ".csv, .json, .jsonl, .parquet" in caught.value.message


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(NotFound):
        artifacts.load(tmp_path / "missing.csv")
    (tmp_path / "bad.json").write_text("{nope")
    (tmp_path / "bad.parquet").write_text("not parquet")
    (tmp_path / "empty.csv").write_text("")
    for name in ("bad.json", "bad.parquet", "empty.csv"):
        with pytest.raises(ValidationFailed) as caught:
            artifacts.load(tmp_path / name)
        assert "cannot read" in caught.value.message
        assert name in caught.value.message


# --------------------------------------------------------------------------- results


def test_results_use_fusion_figures_when_it_wrote_them(tmp_path):
    summary = {
        "blocking_mean": 0.01175,
        "blocking_variance": 1.25e-07,
        "ci_rate_block": 0.00041,
        "ci_percent_block": 7.0,
        "bit_rate_blocking_mean": 0.0301,
    }
    write_json(
        fusion_dir(tmp_path) / "1000.0_erlang.json",
        fusion_result([0.0115, 0.0120], summary=summary),
    )
    table = artifacts.results(tmp_path)
    assert list(table.columns) == list(artifacts.RESULT_COLUMNS)
    row = table.iloc[0].to_dict()
    assert row == pytest.approx(
        {
            "erlang": 1000.0,
            "iterations": 2,
            "blocking_mean": 0.01175,
            "blocking_variance": 1.25e-07,
            "ci_lower": 0.01175 - 0.00041,
            "ci_upper": 0.01175 + 0.00041,
            "ci_percent": 7.0,
            "bit_rate_blocking_mean": 0.0301,
        }
    )


def test_results_compute_the_ci_when_fusion_wrote_nulls(tmp_path):
    """is_training = True: FUSION writes null means and CIs; compute them as it would."""
    blocking = [0.0805, 0.0780, 0.0900, 0.0850]
    bit_rate = [0.18727, 0.1801, 0.2002, 0.1950]
    data = fusion_result(blocking, bit_rate, saved=[0, 3])
    assert data["blocking_mean"] is None
    write_json(fusion_dir(tmp_path) / "1200.0_erlang.json", data)
    row = artifacts.results(tmp_path).iloc[0]
    mean, variance, ci, percent = fusion_ci(blocking)
    assert row["iterations"] == 4
    assert row["blocking_mean"] == pytest.approx(mean)
    assert row["blocking_variance"] == pytest.approx(variance)
    assert row["ci_lower"] == pytest.approx(mean - ci)
    assert row["ci_upper"] == pytest.approx(mean + ci)
    assert row["ci_percent"] == pytest.approx(percent)
    assert row["bit_rate_blocking_mean"] == pytest.approx(statistics.mean(bit_rate))


def test_results_single_iteration_and_zero_blocking(tmp_path):
    write_json(fusion_dir(tmp_path) / "300.0_erlang.json", fusion_result([0.0, 0.0]))
    write_json(fusion_dir(tmp_path) / "900.0_erlang.json", fusion_result([0.02]))
    table = artifacts.results(tmp_path).set_index("erlang")
    zero = table.loc[300.0]
    assert zero["blocking_mean"] == 0.0
    assert zero["ci_lower"] == 0.0
    assert zero["ci_upper"] == 0.0
    assert math.isnan(zero["ci_percent"])  # FUSION never divides by a zero mean
    single = table.loc[900.0]
    assert single["iterations"] == 1
    assert single["blocking_variance"] == 0.0  # FUSION: 0.0 after one iteration
    assert single["ci_upper"] == single["blocking_mean"] == 0.02
    assert single["ci_percent"] == 0.0


def test_results_are_sorted_numerically_and_found_recursively(tmp_path):
    for erlang in (1000.0, 300.0, 50.5, 500.0):
        write_json(fusion_dir(tmp_path) / f"{erlang}_erlang.json", fusion_result([erlang / 1e5]))
    write_json(tmp_path / "other.json", {"not": "a result"})
    write_json(tmp_path / "x_erlang.json", {"iter_stats": {}})  # unparsable load: ignored
    table = artifacts.results(tmp_path)
    assert list(table["erlang"]) == [50.5, 300.0, 500.0, 1000.0]
    assert list(table.index) == [0, 1, 2, 3]
    assert table["iterations"].dtype == "int64"


def test_the_newest_file_wins_for_a_repeated_erlang(tmp_path):
    old = write_json(
        fusion_dir(tmp_path, "01_00_00_000000") / "300.0_erlang.json", fusion_result([0.5])
    )
    new = write_json(
        fusion_dir(tmp_path, "02_00_00_000000") / "300.0_erlang.json", fusion_result([0.1])
    )
    os.utime(old, (1_000_000, 1_000_000))
    os.utime(new, (2_000_000, 2_000_000))
    table = artifacts.results(tmp_path)
    assert len(table) == 1
    assert table["blocking_mean"].iloc[0] == 0.1


def test_a_torn_result_file_is_skipped(tmp_path):
    write_json(fusion_dir(tmp_path) / "300.0_erlang.json", fusion_result([0.01]))
    (fusion_dir(tmp_path) / "400.0_erlang.json").write_text('{"blocking_mean": nu')
    table = artifacts.results(tmp_path)
    assert list(table["erlang"]) == [300.0]


def test_results_prefer_the_simulators_own_table(tmp_path):
    write_json(fusion_dir(tmp_path) / "300.0_erlang.json", fusion_result([0.9]))
    csv_table = pd.DataFrame(
        {
            "erlang": [500.0, 300.0],
            "iterations": [2, 2],
            "blocking_mean": [0.02, 0.01],
            "extra": [1, 2],
        }
    )
    csv_table.to_csv(tmp_path / "results.csv", index=False)
    table = artifacts.results(tmp_path)
    assert list(table.columns) == [*artifacts.RESULT_COLUMNS, "extra"]
    assert list(table["erlang"]) == [300.0, 500.0]
    assert list(table["blocking_mean"]) == [0.01, 0.02]
    assert list(table["extra"]) == [2, 1]
    assert table["ci_percent"].isna().all()

    parquet_table = csv_table.assign(blocking_mean=[0.5, 0.4])
    parquet_table.to_parquet(tmp_path / "results.parquet")
    assert list(artifacts.results(tmp_path)["blocking_mean"]) == [0.4, 0.5]


def test_results_never_read_a_table_outside_the_output_directory(tmp_path):
    outside = tmp_path / "outside.csv"
    pd.DataFrame({"erlang": [1.0], "blocking_mean": [0.5]}).to_csv(outside, index=False)
    output = tmp_path / "output"
    write_json(fusion_dir(output) / "300.0_erlang.json", fusion_result([0.01]))
    (output / "results.csv").symlink_to(outside)
    (fusion_dir(output) / "900.0_erlang.json").symlink_to(outside)
    table = artifacts.results(output)
    assert list(table["erlang"]) == [300.0]
    assert list(table["blocking_mean"]) == [0.01]


def test_results_of_nothing_is_an_empty_table_with_the_columns(tmp_path):
    for output in (tmp_path / "missing", tmp_path):
        table = artifacts.results(output)
        assert table.empty
        assert list(table.columns) == list(artifacts.RESULT_COLUMNS)
        assert table["iterations"].dtype == "int64"
        assert table["blocking_mean"].dtype == "float64"


def test_results_of_a_hundred_erlang_files_is_fast(tmp_path):
    for index in range(100):
        erlang = 100.0 + 50 * index
        data = fusion_result([0.01 + index / 1e4, 0.012, 0.011, 0.013], saved=[0, 3])
        write_json(fusion_dir(tmp_path) / f"{erlang}_erlang.json", data)
    artifacts.results(tmp_path)  # warm the file cache and imports
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        table = artifacts.results(tmp_path)
        timings.append(time.perf_counter() - started)
    assert len(table) == 100
    assert table["erlang"].is_monotonic_increasing
    assert min(timings) < 0.2, f"best of 3: {min(timings):.3f}s"


def test_artifacts_list_numbers_in_natural_order(tmp_path):
    for load in ("1000.0", "1200.0", "400.0", "600.0", "800.0", "50.5"):
        (tmp_path / "output").mkdir(exist_ok=True)
        (tmp_path / "output" / f"{load}_erlang.json").write_text("{}")
    paths = [a.path for a in artifacts.list_artifacts(tmp_path)]
    assert paths == [
        f"output/{load}_erlang.json"
        for load in ("50.5", "400.0", "600.0", "800.0", "1000.0", "1200.0")
    ]


def _frame_points(output: Path, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    frame = artifacts.results(output)[list(columns)]
    return [
        {c: None if pd.isna(v) else float(v) for c, v in row.items()}
        for row in frame.to_dict("records")
    ]


def test_result_points_equal_the_results_table_without_pandas(tmp_path):
    """The curves' reader (no pandas import on a sweep's redraw) agrees with results()
    on every table kind: FUSION's files, a simulator's CSV (blanks as None), Parquet."""
    columns = ("erlang", "blocking_mean", "ci_lower", "ci_upper")
    fusion = tmp_path / "fusion"
    for erlang, blocking in ((500.0, [0.02, 0.04]), (300.0, [0.01, 0.03])):
        write_json(fusion_dir(fusion) / f"{erlang}_erlang.json", fusion_result(blocking))
    assert artifacts.result_points(fusion, columns) == _frame_points(fusion, columns)
    assert [p["erlang"] for p in artifacts.result_points(fusion, columns)] == [300.0, 500.0]

    table = tmp_path / "table"
    table.mkdir()
    (table / "results.csv").write_text(
        "erlang,iterations,blocking_mean,ci_lower,ci_upper\n500,2,0.02,,\n300,2,0.01,0.005,nan\n"
    )
    points = artifacts.result_points(table, columns)
    assert points == _frame_points(table, columns)
    assert points[0] == {
        "erlang": 300.0,
        "blocking_mean": 0.01,
        "ci_lower": 0.005,
        "ci_upper": None,
    }

    pd.DataFrame({"erlang": [2.0, 1.0], "blocking_mean": [0.2, 0.1]}).to_parquet(
        table / "results.parquet"
    )
    assert artifacts.result_points(table, ("erlang", "blocking_mean")) == [
        {"erlang": 1.0, "blocking_mean": 0.1},
        {"erlang": 2.0, "blocking_mean": 0.2},
    ]
    assert artifacts.result_points(tmp_path / "missing", columns) == []
