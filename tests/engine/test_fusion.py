"""Runs of the real FUSION (scripts/install-fusion.sh) through the engine.

Kept few and small (max_iters 1-3, FUSION's minimal template): each run costs FUSION's
2-4 s start-up. FUSION's own templates are used as they ship, with overrides.
"""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import datetime
from pathlib import Path

import pytest

import fusion_jupyter as fj
from fusion_jupyter.engine import RunManager, Status
from fusion_jupyter.engine.config import erlang_points, parse_ini
from fusion_jupyter.engine.errors import Unavailable
from fusion_jupyter.engine.fusion_outputs import input_dir_between
from fusion_jupyter.engine.procinfo import group_members
from fusion_jupyter.engine.settings import default_simulator_command
from tests.support.engine import make_manager, wait_terminal, wait_until
from tests.support.fusion import FusionInstall


def overrides(**general: object) -> dict[str, dict[str, object]]:
    """Overrides of FUSION's minimal template: ``general_settings`` values."""
    return {"general_settings": dict(general)}


@pytest.fixture
def fusion(tmp_path, fusion_install: FusionInstall):
    with make_manager(
        tmp_path,
        simulator="fusion",
        fusion_command=str(fusion_install.command),
        templates_path=[fusion_install.templates],
        cancel_grace_seconds=5.0,
    ) as manager:
        yield manager


def _fusion_dirs(run_dir: str) -> list[Path]:
    record = json.loads((Path(run_dir) / "external.json").read_text())
    return [Path(d) for d in record["dirs"]]


def test_two_fusion_runs_at_once_keep_their_own_outputs_and_leave_fusions_tree(
    fusion, fusion_install
):
    first = fusion.create("minimal", overrides(max_iters=1, erlang_start=300, erlang_stop=400))
    second = fusion.create("minimal", overrides(max_iters=2, erlang_start=500, erlang_stop=500))
    assert first.simulator == "fusion" and second.simulator == "fusion"
    done = [wait_terminal(fusion, run.id, timeout=120) for run in (first, second)]
    for run in done:
        assert run.status == Status.COMPLETED, run.error
        assert run.percent == 100.0
    expected = {first.id: ([300.0, 400.0], 1), second.id: ([500.0], 2)}
    for run in done:
        erlangs, iterations = expected[run.id]
        events = fusion.events(run.id)
        # At least one progress event per FUSION iteration, and the run's end.
        assert [e["type"] for e in events].count("iteration") == len(erlangs) * iterations
        assert events[-1]["type"] == "complete"
        # Its files, and only its own, are in its output/ (moved from FUSION's tree).
        outputs = sorted(a.path for a in fusion.artifacts(run.id) if a.path.startswith("output/"))
        assert outputs == sorted(
            [f"output/{e}_erlang.json" for e in erlangs] + ["output/fusion_input/bw_info_s1.json"]
        )
        table = fusion.results(run.id)
        assert table["erlang"].tolist() == erlangs
        assert table["iterations_saved"].tolist() == [iterations] * len(erlangs)
        assert table["iterations_run"].tolist() == [iterations] * len(erlangs)
        # FUSION's output and input directories of this run are gone from its tree.
        dirs = _fusion_dirs(run.run_dir)
        assert len(dirs) == 2 and all(fusion_install.root in d.parents for d in dirs)
        assert not any(d.exists() for d in dirs)
    # Purge removes everything the run wrote.
    # The run's data/ is a link to FUSION's (read relative to the working directory).
    assert Path(first.run_dir, "data").resolve() == (fusion_install.root / "data").resolve()
    fusion.delete(first.id, purge=True)
    assert not Path(first.run_dir).exists()
    assert (fusion_install.root / "data" / "raw").is_dir()  # the link went, not FUSION's data


def test_cancel_answers_at_once_and_keeps_what_fusion_saved(fusion):
    run = fusion.create(
        "minimal",
        overrides(max_iters=50, num_requests=2000, erlang_start=600, erlang_stop=600),
    )
    wait_until(
        lambda: any(e["type"] == "iteration" for e in fusion.events(run.id)),
        120,
        "FUSION's first iteration",
    )
    cancelled = fusion.cancel(run.id)
    # The request does not wait for FUSION (it saves its statistics first).
    assert cancelled.status in (Status.CANCELLING, Status.CANCELLED)
    done = wait_terminal(fusion, run.id, timeout=30)
    assert done.status == Status.CANCELLED and done.error is None
    # Once: the cancel signals the run's whole group, so the launcher passes no second
    # SIGTERM on (FUSION saves on each, and the kill after the first cut the second short,
    # leaving an empty result file).
    assert fusion.read_log(run.id).data.count("Received signal 15, saving statistics") == 1
    table = fusion.results(run.id)
    ran = sum(e["type"] == "iteration" for e in fusion.events(run.id))
    assert 1 <= ran < 50
    # FUSION's SIGTERM save holds every iteration that ran.
    assert table["iterations_saved"].tolist() == [ran]
    assert table["iterations_run"].tolist() == [ran]
    assert not any(d.exists() for d in _fusion_dirs(run.run_dir))
    wait_until(lambda: not group_members(done.pgid), 10, "the run's processes to end")


def test_a_failing_fusion_run_names_fusions_reason(fusion):
    done = wait_terminal(
        fusion,
        fusion.create("minimal", overrides(max_iters=1, mod_assumption="NOPE")).id,
        timeout=120,
    )
    assert done.status == Status.FAILED and done.exit_code == 1
    first_line = done.error.splitlines()[1]
    assert first_line.startswith("Simulator error: Simulation error: Unknown modulation")
    assert fusion.events(done.id)[-1]["type"] == "error"


def test_a_missing_fusion_is_refused_before_anything_is_created(tmp_path):
    with make_manager(
        tmp_path,
        fusion_command=str(tmp_path / "no" / "fusion-sim"),
    ) as manager:
        with pytest.raises(Unavailable, match=r"c\.FusionJupyter\.fusion_command"):
            manager.create("minimal", simulator="fusion")
        assert manager.list_runs().runs == []
        assert list((tmp_path / "runs").iterdir()) == []
        # The built-in simulator is still there.
        assert manager.simulators()["fusion"]["available"] is False
        assert manager.create("minimal").simulator == "builtin"


def test_results_say_when_fusions_file_holds_fewer_iterations_than_ran(
    tmp_path, fusion_install: FusionInstall
):
    # FUSION saves after iteration 0, every save_step iterations and the last: killed
    # after its third iteration, its file holds one iteration of those that ran.
    settings = {
        "runs_dir": tmp_path / "runs",
        "db_url": f"sqlite:///{tmp_path}/runs.db",
        "simulator": "fusion",
        "fusion_command": str(fusion_install.command),
        "templates_path": [fusion_install.templates],
    }
    with fj.connect(embedded=True, **settings) as client:
        run = client.submit(
            "minimal",
            overrides(
                max_iters=50, save_step=1000, num_requests=500, erlang_start=600, erlang_stop=600
            ),
        )
        wait_until(
            lambda: sum(e["type"] == "iteration" for e in run.events()) >= 3,
            180,
            "three FUSION iterations",
        )
        # The launcher is killed alone: the engine stops the rest of its group (FUSION
        # dies without saving) and brings FUSION's files home itself.
        record = client.backend.manager.get(run.id)
        assert record.pid is not None and record.pgid is not None
        os.kill(record.pid, signal.SIGKILL)
        run.wait(timeout=60, progress=False)
        assert run.status == "FAILED"
        ran = sum(e["type"] == "iteration" for e in run.events())
        with pytest.warns(UserWarning, match=rf"600 Erlang: 1 of {ran}"):
            table = run.results()
    assert table["iterations_saved"].tolist() == [1]
    assert table["iterations_run"].tolist() == [ran] and ran >= 3
    assert (Path(record.run_dir) / "output" / "600.0_erlang.json").is_file()
    assert not any(d.exists() for d in _fusion_dirs(record.run_dir))
    wait_until(lambda: not group_members(record.pgid), 10, "FUSION to be gone")


def test_an_input_directory_is_taken_only_when_it_is_the_only_one_of_the_window(tmp_path):
    # FUSION names it by the time its batch runner started; a run that failed before
    # its first save is matched by that time alone, and never when two could be its.
    began = time.time()
    inside = datetime.fromtimestamp(began + 0.5)
    outside = datetime.fromtimestamp(began - 5)
    base = tmp_path / "data" / "input" / "NSFNet"
    for stamp in (inside, outside):
        (base / stamp.strftime("%m%d") / stamp.strftime("%H_%M_%S_%f")).mkdir(parents=True)
    found = input_dir_between(str(tmp_path / "data"), "NSFNet", began, began + 1)
    assert found is not None and found.name == inside.strftime("%H_%M_%S_%f")
    other = datetime.fromtimestamp(began + 0.7)
    (base / other.strftime("%m%d") / other.strftime("%H_%M_%S_%f")).mkdir(parents=True)
    assert input_dir_between(str(tmp_path / "data"), "NSFNet", began, began + 1) is None


def _fixture_config(fusion_install: FusionInstall, case: str) -> Path:
    (config_path,) = (fusion_install.root / "tests/fixtures/expected_results" / case).glob(
        "*_config.ini"
    )
    return config_path


def builtin_manager(tmp_path: Path, fusion_install: FusionInstall) -> RunManager:
    """A started manager that runs the built-in simulator, with FUSION installed beside it
    (the caller closes it, or uses it as a context manager)."""
    return make_manager(
        tmp_path,
        simulator="builtin",
        simulator_command=default_simulator_command(),
        fusion_command=str(fusion_install.command),
    )


def test_the_builtin_simulator_reads_a_fixture_config_from_fusions_root(
    tmp_path, fusion_install: FusionInstall
):
    # A regression fixture names its own modulation file relative to FUSION's root: with
    # FUSION installed, the built-in simulator resolves it there too, as FUSION does.
    config_path = _fixture_config(fusion_install, "baseline_spf_ff")
    with builtin_manager(tmp_path, fusion_install) as manager:
        run = manager.create(ini=config_path.read_text(), overrides=overrides(max_iters=1))
        done = wait_terminal(manager, run.id, timeout=120)
        assert done.status == Status.COMPLETED, done.error
        assert done.simulator == "builtin"
        loads = erlang_points(parse_ini(config_path.read_text()))
        saved = sorted(p.name for p in (Path(done.run_dir) / "output").glob("*_erlang.json"))
        assert saved == sorted(f"{load}_erlang.json" for load in loads)


def test_a_builtin_run_that_meets_fusions_own_failure_fails_saying_so(
    tmp_path, fusion_install: FusionInstall
):
    # An L band reaching into the C band: FUSION's C+L GSNR takes the log of a negative
    # number at the 64th request or so, and the built-in simulator stops there too.
    config_path = _fixture_config(fusion_install, "usbackbone_mb_CL_fixed_grooming")
    with builtin_manager(tmp_path, fusion_install) as manager:
        changes = overrides(max_iters=1, erlang_start=1000, erlang_stop=1000, num_requests=64)
        changes["spectrum_settings"] = {"l_band": 100}
        run = manager.create(ini=config_path.read_text(), overrides=changes)
        done = wait_terminal(manager, run.id, timeout=120)
        assert done.status == Status.FAILED
        assert done.exit_code == 3
        assert done.error is not None
        assert "FusionFailure: 1000 Erlang, iteration 1: a lightpath" in done.error
        assert "FUSION raises 'ValueError: math domain error' here too" in done.error
