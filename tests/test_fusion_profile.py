"""The FUSION profile: the real fusion-sim's command line, progress from its log lines,
results collected from its own output directory (a stand-in reproduces FUSION)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from fusion_jupyter.engine import Status
from fusion_jupyter.engine.profiles import fusion_profile
from tests.support import FUSION_STANDIN
from tests.support.engine import make_manager, wait_terminal


@pytest.fixture
def fusion(tmp_path, fusion_standin_root):
    profile = fusion_profile([sys.executable, str(FUSION_STANDIN)])
    with make_manager(tmp_path, f"sqlite:///{tmp_path}/runs.db", **profile) as m:
        yield m


def test_the_profile_runs_fusions_command_line():
    argv = fusion_profile()["simulator_command"]
    assert argv == [
        "fusion-sim",
        "run_sim",
        "--config_path",
        "{config_path}",
        "--run_id",
        "{run_id}",
    ]


@pytest.mark.parametrize("template", ["minimal", "default"])
def test_a_fusion_run_has_progress_artifacts_and_results(fusion, template, fusion_standin_root):
    run = fusion.create(template, {"general_settings": {"max_iters": 2}})
    done = wait_terminal(fusion, run.id)
    assert done.status == Status.COMPLETED, done.error
    assert done.percent == 100.0
    events = fusion.events(run.id)
    points = 3 if template == "minimal" else 4
    assert [e["type"] for e in events].count("iteration") == 2 * points
    assert events[-1]["type"] == "complete"
    # FUSION's own files are where it put them, and copies are in the run's output/.
    saved = list((fusion_standin_root / "data" / "output").rglob("*_erlang.json"))
    assert len(saved) == points
    outputs = [a.path for a in fusion.artifacts(run.id) if a.path.startswith("output/")]
    assert sorted(outputs) == sorted(f"output/{p.name}" for p in saved)
    table = fusion.results(run.id)
    assert len(table) == points and table["iterations"].tolist() == [2] * points
    # default.ini trains (null blocking_mean in FUSION's JSON): the table still has values.
    assert table["blocking_mean"].notna().all()
    assert (Path(run.run_dir) / "logs" / "sim.log").read_text().count("CHILD=s1") == 2 * points


def test_a_failing_fusion_run_shows_its_traceback(fusion, monkeypatch):
    monkeypatch.setenv("FUSION_STANDIN_FAIL", "iteration")  # simulators inherit the env
    done = wait_terminal(fusion, fusion.create("minimal").id)
    assert done.status == Status.FAILED and done.exit_code == 1
    assert "Traceback" in done.error
    assert fusion.events(done.id)[-1]["type"] == "error"
    assert done.percent < 100.0
