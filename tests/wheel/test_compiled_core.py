"""The wheel that ``pip install .`` builds: its simulator core is compiled, and decides alike.

hatch_build.py compiles the simulator's per-request modules with mypyc into every
wheel (editable installs stay pure Python). These tests build the wheel as pip does,
unpack it, and run FUSION's regression fixtures and a template through it and through
the pure-Python source: every result file must hold the same bytes, but for the
wall-clock fields, and the fixtures must still equal FUSION's expected files.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from fusion_jupyter.sim.fixtures import RL_CASES, config_of, discover, random_variant
from tests.support import REPO_ROOT
from tests.support.fusion_source import FUSION_TEMPLATES, require_fusion_source

#: Runs every fixture with whichever fusion_jupyter is first on the path; one JSON line
#: a fixture (its name and FUSION's comparison's verdict), then ``compiled()``.
DRIVER = """
import json, sys
from pathlib import Path
from fusion_jupyter.sim import compiled
from fusion_jupyter.sim.fixtures import discover, run_case
root, out = Path(sys.argv[1]), Path(sys.argv[2])
for case in discover(root):
    result = run_case(case, root, out / case.name)
    print(json.dumps([case.name, result.status, result.problems[:3]]), flush=True)
print(json.dumps(compiled()))
"""

#: FUSION's two simulation runners, which the built-in simulator both models.
RUNNERS = ("run_sim", "network_simulator")

#: What differs between two runs of the same config: how long they took, and when.
CLOCK = re.compile(r'"(wall_seconds|sim_end_time)": ("[^"]*"|[-+.eE0-9]+)')


@pytest.fixture(scope="module")
def wheel_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built as ``pip install .`` builds it, unpacked."""
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out)]
    done = subprocess.run(
        [*command, str(REPO_ROOT)], capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (wheel,) = out.glob("*.whl")
    site = out / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return site


def _run(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run Python with ``path`` first on sys.path (the wheel, or the source tree).

    It is also the working directory, which ``-c`` and ``-m`` put before PYTHONPATH.
    """
    env = {**os.environ, "PYTHONPATH": str(path)}
    command = [sys.executable, *args]
    return subprocess.run(
        command, cwd=path, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def _python(path: Path, *args: str) -> str:
    """:func:`_run`'s output; it must succeed."""
    done = _run(path, *args)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _files(directory: Path) -> dict[str, str]:
    """Every result file under ``directory``, its wall-clock fields blanked."""
    files = {}
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        text = CLOCK.sub(r'"\1": null', path.read_text())
        if path.suffix == ".csv":  # wall_seconds is the last column
            text = "\n".join(line.rsplit(",", 1)[0] for line in text.splitlines())
        files[path.relative_to(directory).as_posix()] = text
    return files


def test_the_wheel_holds_every_listed_module_compiled(wheel_site):
    # The hook's list in pyproject.toml (read as text: tomllib is Python 3.11+).
    hook = (REPO_ROOT / "pyproject.toml").read_text().split("hooks.custom]", 1)[1]
    listed = re.findall(r'"(fusion_jupyter/sim/\w+\.py)"', hook.split("\n[", 1)[0])
    assert len(listed) >= 20
    for module in listed:
        stem = Path(module).with_suffix("")
        built = list((wheel_site / stem.parent).glob(f"{stem.name}.cpython-*.so"))
        assert len(built) == 1, f"{module} is not compiled in the wheel"
    probe = "import fusion_jupyter.sim as s, fusion_jupyter.sim.gsnr as g"
    probe += "; print(s.compiled(), g.__file__)"
    compiled, module_file = _python(wheel_site, "-c", probe).split()
    assert compiled == "True"
    assert Path(module_file).is_relative_to(wheel_site) and module_file.endswith(".so")
    pure = _python(REPO_ROOT, "-c", probe).split()
    assert pure == ["False", str(REPO_ROOT / "fusion_jupyter" / "sim" / "gsnr.py")]


def test_the_compiled_summary_divides_ints_as_python_does(wheel_site):
    """Exact means are quotients of ints above 2**53 (but below 2**62, where mypyc's own
    division converts each to a double first and rounds twice)."""
    rng = random.Random(7)
    drawn = [(rng.randrange(2**53, 2**62), rng.randrange(3, 2**20)) for _ in range(2_000)]
    pairs = [(a, b) for a, b in drawn if float(a) / float(b) != a / b][:20]
    assert len(pairs) == 20
    probe = "import json, sys, fusion_jupyter.sim.summary as m; print(m.__file__); "
    probe += "print(json.dumps([m.exact_quotient(a, b) for a, b in json.loads(sys.argv[1])]))"
    module_file, quotients = _python(wheel_site, "-c", probe, json.dumps(pairs)).splitlines()
    assert module_file.endswith(".so")
    assert json.loads(quotients) == [a / b for a, b in pairs]


def test_fusions_fixtures_give_the_same_bytes_compiled_and_pure(wheel_site, tmp_path):
    root = require_fusion_source()
    verdicts = {}
    for name, path in (("compiled", wheel_site), ("pure", REPO_ROOT)):
        lines = _python(path, "-c", DRIVER, str(root), str(tmp_path / name)).splitlines()
        assert json.loads(lines[-1]) is (name == "compiled")
        verdicts[name] = [json.loads(line) for line in lines[:-1]]
    assert verdicts["compiled"] == verdicts["pure"]
    statuses = [status for _, status, _ in verdicts["compiled"]]
    # FUSION's 21 fixtures: one refused (RL), one where FUSION differs from its own file.
    assert statuses.count("identical") == 19 and len(statuses) == 21, verdicts["compiled"]
    compiled, pure = _files(tmp_path / "compiled"), _files(tmp_path / "pure")
    assert len(compiled) >= 40
    assert sorted(compiled) == sorted(pure)
    different = [name for name in compiled if compiled[name] != pure[name]]
    assert different == []


def test_the_command_line_gives_the_same_bytes_compiled_and_pure(wheel_site, tmp_path):
    """A template through ``python -m fusion_jupyter.sim``, its progress events too."""
    config = FUSION_TEMPLATES / "minimal.ini"
    flags = ["--num_requests", "400", "--max_iters", "3"]
    assert _run_both(wheel_site, tmp_path, config, flags) == (0, 0)
    compiled, pure = _files(tmp_path / "compiled"), _files(tmp_path / "pure")
    assert any(name.endswith("_erlang.json") for name in compiled)
    assert sorted(compiled) == sorted(pure)
    assert [n for n in compiled if n != "progress.jsonl" and compiled[n] != pure[n]] == []
    assert _events(compiled["progress.jsonl"]) == _events(pure["progress.jsonl"])


def test_random_variants_of_the_fixtures_give_the_same_bytes_compiled_and_pure(
    wheel_site, tmp_path
):
    """Loads, iterations, requests, k, cores and band slots drawn at random (the
    differential check's variants, both runners): paths the fixtures do not take."""
    root = require_fusion_source()
    cases = [case for case in discover(root) if case.name not in RL_CASES]
    rng = random.Random(2026)
    compared = 0
    for number in range(24):
        case = rng.choice(cases)
        flags = random_variant(case, rng)
        flags += ["--fusion_root", str(root), "--runner", rng.choice(RUNNERS)]
        runs = tmp_path / str(number)
        exits = _run_both(wheel_site, runs, config_of(case), flags)
        assert exits[0] == exits[1], (case.name, flags)
        if exits[0] != 0:
            assert exits[0] == 2, (case.name, flags)  # refused, naming the setting
            continue
        compiled, pure = _files(runs / "compiled" / "results"), _files(runs / "pure" / "results")
        assert compiled and compiled == pure, (case.name, flags)
        compared += 1
    assert compared >= 18


def _run_both(wheel_site: Path, out: Path, config: Path, flags: list[str]) -> tuple[int, int]:
    """``python -m fusion_jupyter.sim run_sim`` from the wheel and from the source, into
    ``out/compiled`` and ``out/pure`` (results/ and progress.jsonl): the exit codes."""
    codes = []
    for name, path in (("compiled", wheel_site), ("pure", REPO_ROOT)):
        args = ["-m", "fusion_jupyter.sim", "run_sim", "--config_path", str(config)]
        args += ["--run_id", "c", *flags, "--output_dir", str(out / name / "results")]
        args += ["--progress_file", str(out / name / "progress.jsonl")]
        codes.append(_run(path, *args).returncode)
    return codes[0], codes[1]


def _events(text: str) -> list[dict[str, object]]:
    """Progress events without their time stamps and durations."""
    events = []
    for line in text.splitlines():
        event = json.loads(line)
        event.pop("ts")
        if isinstance(event.get("summary"), dict):
            event["summary"].pop("total_time_seconds", None)
        events.append(event)
    return events
