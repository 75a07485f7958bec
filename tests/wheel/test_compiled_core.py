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
from collections.abc import Iterator
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


#: The AVX-512 subsets numpy's SVML routines need (numpy's AVX512_SKX target).
AVX512_SKX = {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"}


@pytest.fixture(scope="module", autouse=True)
def _own_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A cache directory of this module's own, so that the first run certifies numpy's
    routines here (fusion_jupyter/sim/numpy_math.py) whatever the user's cache holds."""
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(cache))
        yield cache


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


#: A notebook's own observer of a run, and its own failure type, from the wheel.
SUBCLASS_PROBE = """
import sys
from pathlib import Path
from fusion_jupyter.sim import FusionFailure, Observer, load_params, simulate
class Loads(Observer):
    def __init__(self):
        self.done = []
    def erlang_done(self, point):
        self.done.append(point.erlang)
class Mine(FusionFailure):
    pass
flags = {"num_requests": "100", "max_iters": "1", "erlang_start": "300", "erlang_stop": "300"}
loads = Loads()
simulate(load_params(Path(sys.argv[1]), flags), loads)
print(loads.done, issubclass(Mine, FusionFailure))
"""


def test_the_classes_a_user_extends_are_subclassable_in_the_wheel(wheel_site):
    """An interpreted class cannot subclass a compiled one, so Observer and
    FusionFailure stay Python in the wheel; the compiled loop calls the subclass."""
    template = str(FUSION_TEMPLATES / "minimal.ini")
    assert _python(wheel_site, "-c", SUBCLASS_PROBE, template).split() == ["[300.0]", "True"]


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


#: Command lines that stop before simulating, each its own way, or run with a warning:
#: the command line's modules are compiled too, so their other paths are compared here.
STOPS = {
    "a value out of range": ["--k_paths", "-1", "--num_requests", "101"],
    "a key the config lacks": ["--l_band", "8"],
    "a misspelt key": ["--k_pathz", "3"],
    "an ambiguous flag": ["--e", "3"],
    "a value FUSION reads as False": ["--dynamic_lps", "maybe", "--max_iters", "1"],
    "an output path that is a file": ["--output_dir", "{file}"],
    "no such config": ["--config_path", "{missing}"],
    "help": ["--help"],
}
#: The log's time stamps, and the durations it reports.
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - |in [0-9.]+ seconds", re.M)


@pytest.mark.parametrize("flags", list(STOPS.values()), ids=list(STOPS))
def test_the_command_lines_refusals_and_warnings_are_the_same_compiled_and_pure(
    wheel_site, tmp_path, flags
):
    blocker = tmp_path / "blocker"
    blocker.write_text("keep me")
    paths = {"file": str(blocker), "missing": str(tmp_path / "missing.ini")}
    flags = [flag.format(**paths) for flag in flags]
    seen = []
    for name, path in (("compiled", wheel_site), ("pure", REPO_ROOT)):
        args = ["-m", "fusion_jupyter.sim", "run_sim", "--run_id", "r"]
        args += ["--config_path", str(FUSION_TEMPLATES / "minimal.ini")]
        args += ["--output_dir", str(tmp_path / name / "out"), *flags]
        args += ["--progress_file", str(tmp_path / name / "progress.jsonl")]
        done = _run(path, *args)
        stderr = STAMP.sub("", done.stderr).replace(str(tmp_path / name), "<out>")
        seen.append((done.returncode, done.stdout, stderr))
    assert seen[0] == seen[1]
    assert blocker.read_text() == "keep me"
    code, stdout, stderr = seen[0]
    assert (code, bool(stdout)) == ((0, True) if flags == ["--help"] else (code, False))
    assert code in (0, 2) and (code == 0 or "error" in stderr)


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


def _cpu_has_avx512_skx() -> bool:
    flags = next(
        line.split(":", 1)[1].split()
        for line in Path("/proc/cpuinfo").read_text().splitlines()
        if line.startswith("flags")
    )
    return AVX512_SKX.issubset(flags)


#: Binds numpy's routines through the wheel's extension and compares them with numpy,
#: on a million values a function, as arrays and one at a time.
SVML_PROBE = """
import json, sys
import numpy as np
from fusion_jupyter.sim import _svml, numpy_math as m
bound = _svml.bind(str(m.numpy_library()), m.SYMBOLS)
rng = np.random.RandomState(12)
inputs = {
    "log": rng.random_sample(1 << 20),
    "log10": 10 ** rng.uniform(-12, 12, 1 << 20),
    "exp": rng.uniform(-60, 2, 1 << 20),
    "sinh": rng.uniform(-4, 4, 1 << 20),
    "arcsinh": 10 ** rng.uniform(-7, 7, 1 << 20) * rng.choice([-1, 1], 1 << 20),
    "arctan": 10 ** rng.uniform(-7, 7, 1 << 20) * rng.choice([-1, 1], 1 << 20),
}
differ = {}
for slot, name in enumerate(m.FUNCTIONS):
    x = inputs[name]
    theirs = getattr(np, name)(x).tolist()
    ours = _svml.apply(slot, x.tolist()) if bound else theirs
    ones = [_svml.apply_one(slot, v) for v in x[:20000].tolist()] if bound else theirs[:20000]
    scalars = [float(getattr(np, name)(v)) for v in x[:20000].tolist()]
    import math
    c = {"arcsinh": math.asinh, "arctan": math.atan}.get(name) or getattr(math, name)
    differ[name] = [
        sum(a != b for a, b in zip(ours, theirs)),
        sum(a != b for a, b in zip(ones, scalars)),
        sum(c(v) != t for v, t in zip(x[:20000].tolist(), theirs)),
    ]
print(json.dumps([bound, differ]))
"""


def test_numpys_routines_called_without_numpy_give_numpys_bits(wheel_site):
    bound, differ = json.loads(_python(wheel_site, "-c", SVML_PROBE))
    assert bound is _cpu_has_avx512_skx()
    for name, (arrays, scalars, math_differs) in differ.items():
        assert (arrays, scalars) == (0, 0), name
        if bound:  # where numpy runs SVML, the C library's results differ from it
            assert math_differs > 0, name


def test_the_extension_refuses_bad_input_clearly(wheel_site):
    probe = """
from fusion_jupyter.sim import _svml
for call in (
    lambda: _svml.apply(99, [1.0]),
    lambda: _svml.apply_one(-1, 1.0),
    lambda: _svml.uniforms(b"1234567"),
    lambda: _svml.bind("/no/such/library.so", 3),
    lambda: _svml.bind("/no/such/library.so", ["s"] * 17),
):
    try:
        call()
    except (TypeError, ValueError) as error:
        print(type(error).__name__, error)
print(_svml.bind("/no/such/library.so", ["__svml_log8_ha"]))
"""
    lines = _python(wheel_site, "-c", probe).splitlines()
    assert lines == [
        "ValueError no routine bound at slot 99 (0 bound)",
        "ValueError no routine bound at slot -1 (0 bound)",
        "ValueError uniforms: 7 bytes is not pairs of 32-bit words",
        "TypeError bind: symbols must be a sequence of str",
        "ValueError bind: at most 16 symbols",
        "False",
    ]


#: What the console script a wheel installs runs (``[project.scripts]``).
SCRIPT = "from fusion_jupyter.sim.__main__ import main; main()"


def test_once_certified_a_run_never_imports_numpy(wheel_site, tmp_path, monkeypatch):
    """The first run on a machine compares numpy's routines with numpy and keeps the
    verdict; later runs of a C+L GSNR fixture (log, exp, sinh, arcsinh, arctan, log10)
    do without numpy (and so without ast), and their files are the pure-Python
    package's, through numpy."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = require_fusion_source()
    (case,) = [c for c in discover(root) if c.name == "spain_mb_CL_flexi"]
    flags = ["--fusion_root", str(root), "--num_requests", "152", "--max_iters", "2"]
    imported = []
    for run in ("first", "second"):
        # As the fusion-jupyter-sim script runs it (-m would import importlib.util: runpy).
        args = ["-X", "importtime", "-c", SCRIPT, "run_sim", "--run_id", "n"]
        args += ["--config_path", str(config_of(case)), *flags]
        args += ["--output_dir", str(tmp_path / run)]
        done = _run(wheel_site, *args)
        assert done.returncode == 0, done.stderr[-2000:]
        imported.append(re.search(r"\| +numpy$", done.stderr, re.MULTILINE) is not None)
        # ast only comes with numpy (numpy imports inspect): the config's dictionaries
        # are read without it (engine/config/literal.py).
        with_ast = re.search(r"\| +ast$", done.stderr, re.MULTILINE) is not None
        assert with_ast == imported[-1], (run, with_ast)
        # A plain command line is read without argparse (sim/arguments.py).
        assert not re.search(r"\| +argparse$", done.stderr, re.MULTILINE), run
        # Nor typing, which comes with numpy (fusion_jupyter/_namedtuple.py), nor
        # importlib.util (numpy_math._spec_of) or pathlib (paths as strings).
        with_typing = re.search(r"\| +typing$", done.stderr, re.MULTILINE) is not None
        assert with_typing == imported[-1], (run, with_typing)
        for module in ("importlib.util", "pathlib"):
            found = re.search(rf"\| +{re.escape(module)}$", done.stderr, re.MULTILINE)
            assert found is None, (run, module)
    certificate = tmp_path / "cache" / "fusion_jupyter" / "numpy-math.json"
    assert list(json.loads(certificate.read_text()).values()) == [_cpu_has_avx512_skx()]
    assert imported == [True, not _cpu_has_avx512_skx()]
    assert _run_both(wheel_site, tmp_path / "both", config_of(case), flags) == (0, 0)
    pure = _files(tmp_path / "both" / "pure" / "results")
    assert pure and _files(tmp_path / "second") == pure
