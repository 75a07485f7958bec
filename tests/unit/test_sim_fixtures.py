"""FUSION's 21 regression fixtures as the built-in simulator's acceptance suite.

Each fixture under FUSION's ``tests/fixtures/expected_results`` is run the way FUSION's
own ``tests/run_comparison.py`` runs it (its legacy runner, the case's own
``mod_formats.json``) and compared with the expected ``*_erlang.json`` files with
FUSION's comparison, every compared value exactly equal. A fixture must come out
identical, or be refused before anything runs with the settings it needs named.
"""

from __future__ import annotations

import gzip
import json
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest

from fusion_jupyter.sim import cli
from fusion_jupyter.sim.fixtures import (
    FIXTURES_DIR,
    METHOD_CHOICES,
    compare_documents,
    config_of,
    discover,
    link_usage_differences,
    random_variant,
    run_case,
)
from tests.support import REPO_ROOT
from tests.support.fusion_source import require_fusion_source

#: The settings that keep each refused fixture from running: every one must be named.
EXPECTED: dict[str, tuple[str, ...]] = {
    "baseline_kspf_ff": (),
    "baseline_spf_ff": (),
    "epsilon_greedy_bandit": ("reinforcement-learning", "path_algorithm = epsilon_greedy_bandit"),
    "ext_snr_4core_cls_dy-slice": (),
    "spain_C_fixed_grooming": (),
    "spain_C_fixed_grooming_snr_recheck": (),
    "spain_C_flexi": (),
    "spain_C_flexi_snr_recheck": (),
    # Named "fixed_grooming", but its config has neither (flexible grid, no grooming).
    "spain_mb_CL_fixed_grooming": (),
    "spain_mb_CL_fixed_grooming_snr_recheck": (),
    "spain_mb_CL_flexi": (),
    "spain_mb_CL_flexi_snr_recheck": (),
    "usbackbone_C_fixed_grooming": (),
    "usbackbone_C_fixed_grooming_snr_recheck": (),
    "usbackbone_C_flexi": (),
    "usbackbone_C_flexi_snr_recheck": (),
    "usbackbone_mb_CL_fixed_grooming": (),
    "usbackbone_mb_CL_fixed_grooming_snr_recheck": (),
    "usbackbone_mb_CL_flexi": (),
    "usbackbone_mb_CL_flexi_snr_recheck": (),
    "xtar_slicing_pff": (),
}

#: Where FUSION (973983bc) itself does not reproduce its fixture, the built-in simulator
#: gives FUSION's own value (its whole output equals FUSION's on this case, checked by
#: running both): these differences, and no other, are expected.
FUSION_DIFFERS = {
    "usbackbone_mb_CL_fixed_grooming": [
        "100.0_erlang.json:iter_stats.0.lp_bw_utilization_dict.500.l.0.mean"
        " expected 52.92 got 52.91"
    ],
}


@pytest.fixture(scope="module")
def fusion_root() -> Path:
    return require_fusion_source()


def test_the_suite_is_fusions_21_fixtures(fusion_root):
    assert [case.name for case in discover(fusion_root)] == sorted(EXPECTED)
    assert len(EXPECTED) == 21


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_is_identical_or_refused_naming_its_settings(name, fusion_root, tmp_path):
    case = next(c for c in discover(fusion_root) if c.name == name)
    result = run_case(case, fusion_root, tmp_path / "out")
    needed = EXPECTED[name]
    if name in FUSION_DIFFERS:
        assert result.status == "different"
        assert result.problems == FUSION_DIFFERS[name]
        return
    if not needed:
        assert result.status == "identical", "\n".join(result.problems[:20])
        assert result.problems == []
        assert result.compared_files == len(list(case.glob("*_erlang.json"))) >= 1
        return
    assert result.status == "refused"
    assert not (tmp_path / "out").exists(), "a refused fixture must not start"
    text = "\n".join(result.problems)
    missing = [setting for setting in needed if setting not in text]
    assert missing == [], text


def test_cli_resolves_the_fixtures_relative_mod_path_against_fusions_root(
    fusion_root, tmp_path, capsys
):
    """The config names its table relative to FUSION's root, as FUSION resolves it."""
    case = fusion_root / "tests" / "fixtures" / "expected_results" / "baseline_spf_ff"
    argv = ["run_sim", "--config_path", str(config_of(case)), "--run_id", "fx"]
    argv += ["--output_dir", str(tmp_path / "out"), "--progress_file", str(tmp_path / "p")]
    assert (
        cli.main([*argv, "--fusion_root", str(fusion_root), "--runner", "network_simulator"]) == 0
    )
    for expected in sorted(case.glob("*_erlang.json")):
        produced = json.loads((tmp_path / "out" / expected.name).read_text())
        assert compare_documents(json.loads(expected.read_text()), produced) == []
    capsys.readouterr()
    # Without FUSION's root, that relative path is not in the shipped copy of its data.
    assert cli.main([*argv, "--runner", "network_simulator"]) == 2
    err = capsys.readouterr().err
    assert "general_settings.mod_assumption_path" in err and "--fusion_root" in err


def test_the_runner_decides_the_arrival_rate(fusion_root, tmp_path):
    """fusion-sim run_sim does not multiply by cores_per_link: the fixture does not match."""
    case = fusion_root / "tests" / "fixtures" / "expected_results" / "baseline_kspf_ff"
    argv = ["run_sim", "--config_path", str(config_of(case)), "--run_id", "fx"]
    argv += ["--output_dir", str(tmp_path), "--progress_file", str(tmp_path / "p")]
    assert cli.main([*argv, "--fusion_root", str(fusion_root)]) == 0
    expected = json.loads((case / "900.0_erlang.json").read_text())
    produced = json.loads((tmp_path / "900.0_erlang.json").read_text())
    assert any("cores_dict" in line for line in compare_documents(expected, produced))


def test_the_comparison_reports_every_kind_of_difference(fusion_root):
    case = fusion_root / "tests" / "fixtures" / "expected_results" / "baseline_kspf_ff"
    expected = json.loads((case / "300.0_erlang.json").read_text())
    actual = json.loads((case / "300.0_erlang.json").read_text())
    assert compare_documents(expected, actual) == []
    actual["iter_stats"]["0"]["cores_dict"]["0"] += 1
    del actual["iter_stats"]["1"]["hops_mean"]
    actual["iter_stats"]["2"]["surprise"] = 1
    actual["sim_end_time"] = "ignored, as FUSION ignores it"
    actual["fusion_jupyter"] = {"documented": "extra"}
    # Skipped as FUSION skips them: by name, and anywhere below these path parts.
    expected["iter_stats"]["0"]["total_transponder_usage_"] = {"1": 3}
    del actual["iter_stats"]["0"]["link_usage_dict"]["0-1"]
    actual["iter_stats"]["1"]["route_times_mean"] = 99.0
    assert compare_documents(expected, actual) == [
        "iter_stats.0.cores_dict.0 expected 468 got 469",
        "iter_stats.1.hops_mean missing in actual",
        "iter_stats.2.surprise extra in actual",
    ]


#: The tests that run the real FUSION share one worker when the unit tests run in
#: parallel (.ci/run): FUSION writes under its one cached working copy.
REAL_FUSION = pytest.mark.xdist_group("real-fusion")


def _real_fusion(case_name: str, flags: list[str]) -> tuple[Any, Path, list[str]]:
    """One fixture config (or FUSION template, named ``<name>.ini``) with ``flags``
    through the real ``fusion-sim run_sim``.

    Returns FUSION's ``*_erlang.json`` document of the one Erlang point the flags set,
    the root of the writable copy FUSION ran in, and the config's flags.
    """
    ran, root, config = _run_real_fusion(case_name, flags)
    assert ran.returncode == 0, ran.stderr[-2000:]
    saved = [line for line in ran.stderr.splitlines() if "Saving to: " in line]
    (fusion_file,) = (Path(saved[-1].split("Saving to: ", 1)[1])).glob("*_erlang.json")
    return json.loads(fusion_file.read_text()), root, config


def _run_real_fusion(
    case_name: str, flags: list[str]
) -> tuple[subprocess.CompletedProcess[str], Path, list[str]]:
    """The real ``fusion-sim run_sim`` on a fixture config (or template) with ``flags``,
    however it ends: the process, FUSION's writable root and the config's flags."""
    installed = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "install-fusion.sh")],
        capture_output=True,
        text=True,
        check=True,
        timeout=280,
    )
    fusion_sim = Path(installed.stdout.strip().splitlines()[-1])
    root = fusion_sim.parents[2] / "src"  # the writable copy FUSION runs in
    if case_name.endswith(".ini"):
        path = root / "fusion" / "configs" / "templates" / case_name
    else:
        path = config_of(root / "tests" / "fixtures" / "expected_results" / case_name)
    config = ["--config_path", str(path), "--run_id", "cmp"]
    ran = subprocess.run(
        [str(fusion_sim), "run_sim", *config, *flags],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=280,
    )
    return ran, root, config


def _real_fusion_and_ours(case_name: str, flags: list[str], tmp_path: Path) -> tuple[Any, Any]:
    """One fixture config with ``flags`` through the real ``fusion-sim run_sim`` and ours.

    Returns FUSION's and the built-in simulator's ``*_erlang.json`` documents of the one
    Erlang point the flags set, once their ``link_usage`` is found equal (FUSION's
    comparison skips it, so the callers' ``compare_documents`` does not look at it).
    """
    expected, root, config = _real_fusion(case_name, flags)
    ours = _ours(root, config + flags, tmp_path / "ours")
    assert link_usage_differences(expected, ours) == []
    return expected, ours


def _ours(root: Path, args: list[str], out: Path) -> Any:
    """The built-in simulator's document for ``run_sim`` with ``args`` (one Erlang point)."""
    argv = ["run_sim", *args, "--fusion_root", str(root)]
    argv += ["--output_dir", str(out), "--progress_file", str(out / "progress.jsonl")]
    assert cli.main(argv) == 0
    (document,) = out.glob("*_erlang.json")
    return json.loads(document.read_text())


def test_a_variant_with_methods_adds_only_method_flags_to_the_same_draws(fusion_root):
    """The differential check's ``--methods`` draws the routing and allocation methods
    after everything else, so a seed's variants without it stay what they were (the
    compiled-core test replays them); every method comes up."""
    cases = [case for case in discover(fusion_root) if case.name != "epsilon_greedy_bandit"]
    seen: set[str] = set()
    for seed in range(40):
        case = cases[seed % len(cases)]
        plain = random_variant(case, random.Random(seed))
        with_methods = random_variant(case, random.Random(seed), methods=True)
        assert with_methods[: len(plain)] == plain
        added = dict(flag.removeprefix("--").split("=", 1) for flag in with_methods[len(plain) :])
        assert set(added) <= set(METHOD_CHOICES)
        for key, value in added.items():
            assert value in METHOD_CHOICES[key]
            seen.add(value)
    assert seen == {v for values in METHOD_CHOICES.values() for v in values if v is not None}


@REAL_FUSION
def test_a_flag_fusion_drops_is_refused_and_the_run_without_it_is_fusions(
    fusion_root, tmp_path, capsys
):
    """FUSION applies ``--l_band`` only to a config that has ``l_band``: on a C-band
    fixture it runs the C band alone. The built-in simulator refuses the flag, naming
    it, and without it gives FUSION's document."""
    base = ["--max_iters=1", "--erlang_start=300", "--erlang_stop=300", "--num_requests=40"]
    expected, root, config = _real_fusion("usbackbone_C_flexi", [*base, "--l_band=6"])
    refused = tmp_path / "refused"
    argv = ["run_sim", *config, *base, "--l_band=6", "--fusion_root", str(root)]
    argv += ["--output_dir", str(refused), "--progress_file", str(refused / "progress.jsonl")]
    assert cli.main(argv) == 2
    assert "spectrum_settings.l_band: --l_band 6 is given but the config has no l_band" in (
        capsys.readouterr().err
    )
    assert not refused.exists()
    without = _ours(root, config + base, tmp_path / "ours")
    assert compare_documents(expected, without) == []
    assert link_usage_differences(expected, without) == []


#: usbackbone_mb_CL_fixed_grooming with an L band of 100 fixed-grid slots (112.5 GHz),
#: which reaches into the C band: FUSION's C+L GSNR fails at its 64 requests, not at 40.
OVERLAP_CASE = "usbackbone_mb_CL_fixed_grooming"
OVERLAP_FLAGS = ["--erlang_start=1000", "--erlang_stop=1000", "--max_iters=1", "--l_band=100"]


def test_a_run_stops_where_fusion_stops_when_the_l_band_reaches_into_the_c_band(
    fusion_root, tmp_path, capsys
):
    """One line naming FUSION's failure, exit code 3, no traceback of its own; a warning
    before the run; the progress file ends with the error."""
    config = ["--config_path", str(config_of(fusion_root.joinpath(*FIXTURES_DIR, OVERLAP_CASE)))]
    out = tmp_path / "out"
    argv = ["run_sim", *config, "--run_id", "x", *OVERLAP_FLAGS, "--num_requests=64"]
    argv += ["--fusion_root", str(fusion_root)]
    argv += ["--output_dir", str(out), "--progress_file", str(out / "progress.jsonl")]
    assert cli.main(argv) == cli.EXIT_FUSION_FAILS
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (warning,) = [
        line for line in err.splitlines() if "config warning: spectrum_settings.l_band" in line
    ]
    assert "spans 185.185-196.435 THz, over the C band, which starts at 191.693 THz" in warning
    (stopped,) = [line for line in err.splitlines() if " - ERROR - " in line]
    assert "Simulation stopped where FUSION stops: 1000 Erlang, iteration 1: a lightpath" in stopped
    assert "FUSION raises 'ValueError: math domain error' here too" in stopped
    last = json.loads((out / "progress.jsonl").read_text().splitlines()[-1])
    assert last["type"] == "error"
    assert last["message"].startswith("FusionFailure: 1000 Erlang, iteration 1: a lightpath")


def test_simulate_raises_fusions_failure_from_python(fusion_root):
    """The Python API: :func:`simulate` raises the exported FusionFailure, placed."""
    from fusion_jupyter.sim import FusionFailure, load_params, simulate

    overrides = {"erlang_start": "1000", "erlang_stop": "1000", "max_iters": "1"}
    overrides |= {"l_band": "100", "num_requests": "64"}
    config = config_of(fusion_root.joinpath(*FIXTURES_DIR, OVERLAP_CASE))
    params = load_params(config, overrides, fusion_root=fusion_root)
    with pytest.raises(FusionFailure, match=r"^1000 Erlang, iteration 1: a lightpath 112\.5 GHz"):
        simulate(params)


@REAL_FUSION
def test_fusion_fails_where_the_bands_overlap_and_equals_the_builtin_before(fusion_root, tmp_path):
    """The fact behind exit code 3: FUSION itself raises at 64 requests, and at 40 (no
    two lightpaths of the two bands overlap yet) both simulators give the same files."""
    ran, _, _ = _run_real_fusion(OVERLAP_CASE, [*OVERLAP_FLAGS, "--num_requests=64"])
    assert ran.returncode != 0
    assert "ValueError: math domain error" in ran.stderr
    assert "_compute_nli_mb" in ran.stderr
    expected, ours = _real_fusion_and_ours(
        OVERLAP_CASE, [*OVERLAP_FLAGS, "--num_requests=40"], tmp_path
    )
    assert compare_documents(expected, ours) == []


@REAL_FUSION
def test_a_load_keeps_what_fusion_last_saved_when_the_interval_stops_it(fusion_root, tmp_path):
    """FUSION writes a load's file after its first and last iteration and every
    save_step-th (minimal.ini: 10); here its confidence interval stops the load after
    the second of four iterations, so the file keeps the first one's state."""
    flags = ["--max_iters=4", "--erlang_start=1000", "--erlang_stop=1000"]
    flags += ["--num_requests=500", "--c_band=64"]
    expected, ours = _real_fusion_and_ours("minimal.ini", flags, tmp_path)
    assert list(expected["iter_stats"]) == ["0"]
    assert compare_documents(expected, ours) == []
    assert ours["fusion_jupyter"]["iterations"] == 2 and ours["fusion_jupyter"]["stopped_early"]


@REAL_FUSION
def test_run_sim_runner_equals_the_real_fusion_sim_with_blocking(fusion_root, tmp_path):
    """``--runner run_sim`` against the real ``fusion-sim run_sim`` (its BatchRunner).

    A fixture config (FUSION's layout, pre_calc_mod_selection, its own table) pushed
    to a load that blocks a quarter of the requests: every statistic FUSION's
    comparison looks at must be equal.
    """
    flags = ["--erlang_start=6000", "--erlang_stop=6000", "--num_requests=1500", "--max_iters=1"]
    expected, ours = _real_fusion_and_ours("baseline_kspf_ff", flags, tmp_path)
    assert 0.1 < expected["iter_stats"]["0"]["sim_block_list"][0] < 0.5  # it blocks
    assert compare_documents(expected, ours) == []


@REAL_FUSION
@pytest.mark.parametrize(
    "method",
    [
        [],
        ["--allocation_method=first_fit"],
        ["--route_method=k_shortest_path", "--k_paths=3"],
    ],
    ids=["xt_aware-priority_first", "xt_aware-first_fit", "ksp-priority_first"],
)
def test_xt_aware_routing_equals_the_real_fusion_where_crosstalk_counts(
    method, fusion_root, tmp_path
):
    """xtar_slicing_pff on 6 slots a core at a load that blocks 3 requests in 4.

    The fixture itself only ever uses cores 0, 2 and 4, which do not neighbour each
    other, so its crosstalk is always 0; here cores 1 and 3 fill too, lightpaths meet
    neighbours (crosstalk -26.44 dB) and the XT check decides. First fit fills the
    cores in order instead, and k shortest paths replace the XT-aware route (both found
    running in FUSION by the differential check with --methods --check-refusals).
    """
    flags = ["--erlang_start=35000", "--erlang_stop=35000", "--num_requests=400"]
    flags += ["--max_iters=1", "--c_band=6", *method]
    expected, ours = _real_fusion_and_ours("xtar_slicing_pff", flags, tmp_path)
    stats = expected["iter_stats"]["0"]
    assert stats["cores_dict"]["1"] > 0 and stats["sim_block_list"][0] > 0.5
    xt = [x for v in stats["mods_used_dict"].values() if "xt_cost" in v for x in v["xt_cost"]["c"]]
    assert any(value != 0.0 for value in xt)
    assert compare_documents(expected, ours) == []


@REAL_FUSION
def test_external_resources_equal_the_real_fusion_with_blocking(fusion_root, tmp_path):
    """ext_snr_4core_cls_dy-slice (which blocks nothing) on 10 slots a band at 3,000 Erlang.

    A fifth of the requests are blocked and most are sliced, over every core and the
    C, L and S bands, so the slot index of each band and the rollback of a slicing that
    runs out of slots decide.
    """
    flags = ["--erlang_start=3000", "--erlang_stop=3000", "--num_requests=300", "--max_iters=1"]
    flags += ["--c_band=10", "--l_band=10", "--s_band=10"]
    expected, ours = _real_fusion_and_ours("ext_snr_4core_cls_dy-slice", flags, tmp_path)
    stats = expected["iter_stats"]["0"]
    assert 0.1 < stats["sim_block_list"][0] < 0.5 and stats["trans_mean"] > 1.5
    assert all(count > 0 for count in stats["cores_dict"].values())
    assert compare_documents(expected, ours) == []


#: FUSION's other spectrum searches and congestion-aware routing through the real FUSION,
#: each where FUSION runs it (best fit without guard slots, last fit on the fixed grid,
#: priority first on 7 cores or more), BSC's band-first order and cong_aware, at loads that
#: block: (case, flags, blocking at least, the default the flags replace). Recheck
#: combinations, and cong_aware without pre_calc_mod_selection (FUSION's command line
#: cannot unset it), are in tests/data/fusion_recorded.
POLICIES = {
    "best_fit-static-slicing": (
        "baseline_kspf_ff",
        "--allocation_method=best_fit --guard_slots=0 --erlang_start=6000 --erlang_stop=6000 "
        "--num_requests=600 --c_band=64",
        0.3,
        "--allocation_method=first_fit",
    ),
    "best_fit-gsnr-c+l": (
        "spain_mb_CL_flexi",
        "--allocation_method=best_fit --erlang_start=1500 --erlang_stop=1500 --c_band=40 "
        "--l_band=40",
        0.4,
        "--allocation_method=first_fit",
    ),
    "best_fit-grooming-c+l": (
        "usbackbone_mb_CL_fixed_grooming",
        "--allocation_method=best_fit --erlang_start=1500 --erlang_stop=1500",
        0.4,
        "--allocation_method=first_fit",
    ),
    "last_fit-grooming-c+l": (
        "usbackbone_mb_CL_fixed_grooming",
        "--allocation_method=last_fit --erlang_start=1500 --erlang_stop=1500",
        0.4,
        "--allocation_method=first_fit",
    ),
    "priority_first-static-slicing-9-cores": (
        "baseline_kspf_ff",
        "--allocation_method=priority_first --cores_per_link=9 --erlang_start=6000 "
        "--erlang_stop=6000 --num_requests=600 --c_band=16",
        0.4,
        "--allocation_method=first_fit",
    ),
    "priority_first-grooming-c+l": (
        "usbackbone_mb_CL_fixed_grooming",
        "--allocation_method=priority_first --cores_per_link=7 --erlang_start=1500 "
        "--erlang_stop=1500 --c_band=4 --l_band=4",
        0.2,
        "--allocation_method=first_fit",
    ),
    "last_fit-external": (
        "ext_snr_4core_cls_dy-slice",
        "--allocation_method=last_fit --erlang_start=3000 --erlang_stop=3000 "
        "--num_requests=300 --c_band=10 --l_band=10 --s_band=10",
        0.2,
        "--allocation_method=first_fit",
    ),
    "cong_aware-nsfnet": (
        "baseline_kspf_ff",
        "--route_method=cong_aware --erlang_start=6000 --erlang_stop=6000 --num_requests=300",
        0.1,
        "--route_method=k_shortest_path",
    ),
    "cong_aware-usbackbone60": (
        "baseline_kspf_ff",
        "--route_method=cong_aware --network=USbackbone60 --erlang_start=3000 "
        "--erlang_stop=3000 --num_requests=600 --c_band=64",
        0.4,
        "--route_method=k_shortest_path",
    ),
    "bsc-gsnr-c+l-2-cores": (
        "spain_mb_CL_flexi",
        "--spectrum_priority=BSC --cores_per_link=2 --erlang_start=1500 --erlang_stop=1500 "
        "--c_band=16 --l_band=16",
        0.4,
        "--spectrum_priority=CSB",
    ),
}


@REAL_FUSION
@pytest.mark.parametrize("name", sorted(POLICIES))
def test_fusions_routing_and_spectrum_policies_equal_the_real_fusion(name, fusion_root, tmp_path):
    """Equal files, and the default policy's differ: FUSION's policy is the one modelled."""
    case_name, flags, blocking, default = POLICIES[name]
    args = ["--max_iters=1", *flags.split()]
    expected, ours = _real_fusion_and_ours(case_name, args, tmp_path)
    assert expected["iter_stats"]["0"]["sim_block_list"][0] >= blocking
    assert compare_documents(expected, ours) == []
    case = fusion_root / "tests" / "fixtures" / "expected_results" / case_name
    config = ["--config_path", str(config_of(case)), "--run_id", "default"]
    by_default = _ours(fusion_root, [*config, *args, default], tmp_path / "default")
    assert compare_documents(expected, by_default) != []


@pytest.mark.parametrize(
    "name",
    [
        "spain_C_flexi",
        "spain_mb_CL_fixed_grooming",
        # The recheck's terms of lightpaths already placed share the memos.
        "spain_C_flexi_snr_recheck",
        "usbackbone_mb_CL_fixed_grooming_snr_recheck",
    ],
)
def test_the_gsnr_memos_never_change_a_result(name, fusion_root, tmp_path, monkeypatch):
    """The GSNR memos are emptied when full; emptied all the time, the run is the same."""
    from fusion_jupyter.sim import gsnr

    monkeypatch.setattr(gsnr, "CACHE_LIMIT", 4)
    case = next(c for c in discover(fusion_root) if c.name == name)
    result = run_case(case, fusion_root, tmp_path / "out")
    assert result.status == "identical", "\n".join(result.problems[:20])


RECORDED = REPO_ROOT / "tests" / "data" / "fusion_recorded"


@pytest.mark.parametrize("name", sorted(p.name for p in RECORDED.iterdir() if p.is_dir()))
def test_configs_no_fixture_covers_equal_fusions_recorded_output(name, fusion_root, tmp_path):
    """tests/data/fusion_recorded: configs none of FUSION's fixtures covers (its README
    says how the real FUSION ran them); every statistic FUSION's comparison looks at is
    the same."""
    case = RECORDED / name
    argv = ["run_sim", "--config_path", str(case / "config.ini"), "--run_id", "rec"]
    argv += ["--runner", "network_simulator", "--fusion_root", str(fusion_root)]
    argv += ["--mod_assumption_path", str(case / "mod_formats.json")]
    argv += ["--output_dir", str(tmp_path / "out"), "--progress_file", str(tmp_path / "p")]
    assert cli.main(argv) == 0
    recorded = sorted(case.glob("*_erlang.json.gz"))
    assert recorded
    for path in recorded:
        expected = json.loads(gzip.decompress(path.read_bytes()))
        ours = json.loads((tmp_path / "out" / path.name.removesuffix(".gz")).read_text())
        assert compare_documents(expected, ours) == [], path.name
        assert link_usage_differences(expected, ours) == [], path.name


@pytest.mark.parametrize(
    "name", ["spain_C_fixed_grooming_snr_recheck", "usbackbone_C_fixed_grooming_snr_recheck"]
)
def test_a_recheck_bound_passes_only_lightpaths_fusions_figure_passes(
    name, fusion_root, tmp_path, monkeypatch
):
    """Whenever a C-band bound decides a recheck without evaluating the lightpath, the
    lightpath is evaluated here as FUSION evaluates it: its inverse GSNR is under the
    bound and its GSNR reaches the threshold."""
    from fusion_jupyter.sim.gsnr import decibels
    from fusion_jupyter.sim.recheck import Recheck

    evaluations = decided = 0
    evaluate, meets = Recheck._gsnr, Recheck._meets

    def counted(self, placed):
        nonlocal evaluations
        evaluations += 1
        return evaluate(self, placed)

    def checked(self, placed, needed):
        nonlocal decided
        before, bound = evaluations, self.bound(placed)
        verdict = meets(self, placed, needed)
        if evaluations == before:
            decided += 1
            exact = self.c_band_inverse(placed)
            assert verdict and bound is not None and exact <= bound
            assert decibels(exact) >= needed
        return verdict

    monkeypatch.setattr(Recheck, "_gsnr", counted)
    monkeypatch.setattr(Recheck, "_meets", checked)
    case = next(c for c in discover(fusion_root) if c.name == name)
    result = run_case(case, fusion_root, tmp_path / "out")
    assert result.status == "identical", "\n".join(result.problems[:20])
    assert decided > evaluations > 100


def test_the_shipped_pre_calculated_files_are_fusions_and_run_the_external_fixture(
    fusion_root, tmp_path, capsys
):
    """data/pre_calc ships FUSION's files byte for byte; without --fusion_root they are used."""
    from fusion_jupyter.sim.topology import fusion_data_root

    shipped = Path(str(fusion_data_root())) / "data" / "pre_calc"
    files = sorted(p.relative_to(shipped) for p in shipped.rglob("*.npy"))
    theirs = fusion_root / "data" / "pre_calc"
    assert files == sorted(p.relative_to(theirs) for p in theirs.rglob("*.npy")) != []
    for name in files:
        assert (shipped / name).read_bytes() == (theirs / name).read_bytes(), name
    case = fusion_root / "tests" / "fixtures" / "expected_results" / "ext_snr_4core_cls_dy-slice"
    argv = ["run_sim", "--config_path", str(config_of(case)), "--run_id", "fx"]
    argv += ["--output_dir", str(tmp_path / "out"), "--progress_file", str(tmp_path / "p")]
    argv += ["--runner", "network_simulator"]
    argv += ["--mod_assumption_path", str(case / "mod_formats.json")]
    assert cli.main(argv) == 0
    capsys.readouterr()
    for expected in sorted(case.glob("*_erlang.json")):
        produced = json.loads((tmp_path / "out" / expected.name).read_text())
        assert compare_documents(json.loads(expected.read_text()), produced) == []
