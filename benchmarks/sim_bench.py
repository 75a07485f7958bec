"""The built-in simulator side by side with the real FUSION.

Run from the repository root (FUSION is installed by scripts/install-fusion.sh)::

    python benchmarks/sim_bench.py                 # everything (FUSION takes minutes)
    python benchmarks/sim_bench.py --cases baseline_kspf_ff baseline_spf_ff
    python benchmarks/sim_bench.py --no-fusion     # the built-in simulator only
    python benchmarks/sim_bench.py --only fixtures --no-fusion --repeat 5   # median of 5
    python benchmarks/sim_bench.py --only fixtures --no-sim --fusion-recheck-fix
    python benchmarks/sim_bench.py --only fixtures --repeat 3 --fusion-repeat 3  # interleaved
    python benchmarks/sim_bench.py --compiled ...  # the wheel's compiled core (see below)

Prints:

1. FUSION's 21 regression fixtures: the built-in simulator's verdict (identical to the
   expected files under FUSION's own comparison with exact equality; "FUSION's own
   output" where FUSION also differs from them and the built-in simulator's files equal
   FUSION's run's; or refused with its first reason), and wall and CPU seconds of a
   fresh process for the built-in simulator (its ``fusion-jupyter-sim`` script, ``...
   --runner network_simulator``) and for FUSION (its legacy runner, as its regression test runs
   the case: benchmarks/fusion_fixture_driver.py), start-up included; whether FUSION
   itself reproduces the expected files is shown too (FUSION crashes on the SNR-recheck
   cases; ``--fusion-recheck-fix`` runs a copy of it with the one-line fix of that call,
   the FUSION the built-in simulator models). With both, the floor: a fresh
   ``python -c pass``, which every run pays before it reads its config; and
   the ceiling, FUSION's wall over the floor, the most any run could gain on the case.
   The built-in simulator's runs (and the floor's) are taken before FUSION's first run
   and after each of its runs, and FUSION's quick cases run ``--fusion-repeat`` times,
   so that both sides sample the VM over the same stretch of time; every run's wall
   seconds are listed after the table.
   CPU seconds (user + system of the process and its children) hardly depend on what
   else the machine runs; wall seconds do. Both packages' sources are byte-compiled
   first, as an installed package is (``pip install`` compiles it; with
   PYTHONDONTWRITEBYTECODE set, as on the shared development machine, every start
   would otherwise compile them again).
2. Seconds per request on three heavy configs (FUSION's minimal.ini at 2000 Erlang,
   3,000 to 9,000 requests; the spain_C_flexi and spain_mb_CL_flexi fixtures, with the
   C-band and the C+L GSNR, at 1500 Erlang, 1,000 to 3,000), one iteration: the
   difference of two fresh runs for both (FUSION's ``fusion-sim run_sim``, so its
   start-up cancels out; the built-in simulator in-process, from a fresh context each
   run).
3. Peak memory (ru_maxrss) of the built-in simulator's command line against
   num_requests, on five configs: no physical layer, the C-band and the C+L GSNR,
   grooming, and congestion-aware routing (a path weight per request).

It measures the fusion_jupyter its Python imports: in a development environment (an
editable install) that is the pure-Python simulator. ``--compiled`` builds the wheel
that ``pip install .`` installs, whose core is compiled with mypyc (hatch_build.py),
and measures that; the first line printed says which one ran.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import fusion_jupyter
from fusion_jupyter.sim import compiled
from fusion_jupyter.sim.fixtures import (
    FIXTURES_DIR,
    compare_documents,
    config_of,
    discover,
    refusal_for_case,
)

PROJECT = Path(__file__).resolve().parents[1]
#: The keyword FUSION's SNR-recheck call passes under a name its function does not have.
RECHECK_CALL = re.compile(r"(?<![\w])include_all_bands=(?=self\.engine_props_dict)")
HEAVY = {"erlang_start": "2000", "erlang_stop": "2000", "max_iters": "1"}
#: Runs of each request count per simulator in the per-request section; the fastest
#: counts (on this shared 2-core VM one run's wall time varied by 20-30 %).
OUR_RUNS = 5
FUSION_RUNS = 2
#: Set in the bench's second run, on the wheel it built (--compiled).
RERUN = "FUSION_JUPYTER_BENCH_ON_WHEEL"


@dataclass
class Fusion:
    """The installed real FUSION: its interpreter, console script and (writable) root."""

    python: Path
    script: Path
    root: Path
    #: Environment of its processes (None: this process's).
    env: dict[str, str] | None = field(default=None)

    def with_recheck_fix(self, into: Path) -> Fusion:
        """A copy of FUSION's root with the one-line fix of its SNR-recheck call.

        FUSION passes ``include_all_bands=`` to a function whose parameter is
        ``_include_all_bands`` (fusion_jupyter/sim/README.md); the copy passes it under
        that name and is imported in place of the installed package (PYTHONPATH).
        """
        copy = into / "src"
        shutil.copytree(self.root, copy, ignore=shutil.ignore_patterns("output", "__pycache__"))
        module = copy / "fusion" / "core" / "snr_measurements.py"
        text, count = RECHECK_CALL.subn("_include_all_bands=", module.read_text())
        assert count == 1, f"FUSION's recheck call not found once in {module}"
        module.write_text(text)
        return replace(self, root=copy, env={**os.environ, "PYTHONPATH": str(copy)})

    @classmethod
    def install(cls) -> Fusion:
        found = subprocess.run(
            ["bash", str(PROJECT / "scripts" / "install-fusion.sh")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        script = Path(found.splitlines()[-1])
        return cls(script.parent / "python", script, script.parents[2] / "src")


@dataclass
class Timed:
    """A finished process: wall and CPU seconds, exit code, peak RSS (KiB), its output."""

    wall: float
    cpu: float
    code: int
    rss_kib: int
    out: str
    err: str


def timed(
    command: list[str], cwd: Path, timeout: float = 900, env: dict[str, str] | None = None
) -> Timed:
    """Run a fresh process and measure it.

    The process gets its own session and is killed with its children after
    ``timeout`` seconds (FUSION ignores SIGTERM, so SIGKILL). ``os.wait4`` reports the
    CPU time of the process and of the children it waited for.
    """
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=out, stderr=err, start_new_session=True
        )
        killer = threading.Timer(timeout, _kill_group, (child.pid,))
        killer.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)
        finally:
            killer.cancel()
            _kill_group(child.pid)  # FUSION's worker processes, if any are left
        elapsed = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        return Timed(
            wall=elapsed,
            cpu=usage.ru_utime + usage.ru_stime,
            code=os.waitstatus_to_exitcode(status),
            rss_kib=usage.ru_maxrss,
            out=out.read().decode(errors="replace"),
            err=err.read().decode(errors="replace"),
        )


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def sim_command(config: Path, *flags: str) -> list[str]:
    """The built-in simulator's command line through its console script, as a user's
    shell runs it and as FUSION's cases run through a script file; ``python -m`` where
    the script is not installed beside the interpreter (runpy then imports
    importlib.util, about 1.5 ms more)."""
    script = Path(sys.executable).parent / "fusion-jupyter-sim"
    if script.is_file():
        command = [sys.executable, str(script)]
    else:
        command = [sys.executable, "-m", "fusion_jupyter.sim"]
    return [*command, "run_sim", "--config_path", str(config), "--run_id", "bench", *flags]


def _compare(case: Path, produced_dir: Path, reference_dir: Path | None = None) -> bool:
    """Whether ``produced_dir`` holds each of the case's ``*_erlang.json``, equal under
    FUSION's comparison rules to the fixture's or, given ``reference_dir``, to FUSION's own
    run's (for a case where FUSION itself differs from its fixture)."""
    for fixture in sorted(case.glob("*_erlang.json")):
        name = fixture.name.removeprefix(case.name + "_")
        expected = fixture if reference_dir is None else reference_dir / name
        produced = produced_dir / name
        if not (expected.is_file() and produced.is_file()):
            return False
        old, new = (json.loads(p.read_text()) for p in (expected, produced))
        if compare_documents(old, new):
            return False
    return True


@dataclass
class Outcome:
    """A verdict and, if the case ran, its wall and CPU seconds."""

    verdict: str
    wall: float | None = None
    cpu: float | None = None
    #: Where the run wrote its result files, when they are kept.
    output: Path | None = None


def sim_runs(case: Path, root: Path, count: int, keep: Path | None = None) -> list[Outcome]:
    """``count`` fresh runs of the built-in simulator on ``case``.

    ``keep``: a directory the first run's result files are copied to (``output``).
    """
    return [_run_sim_once(case, root, keep if i == 0 else None) for i in range(count)]


def summarise(runs: list[Outcome]) -> Outcome:
    """The runs' verdict (UNSTABLE where they differ) and their median wall and CPU."""
    verdicts = {run.verdict for run in runs}
    verdict = runs[0].verdict if len(verdicts) == 1 else f"UNSTABLE {sorted(verdicts)}"
    wall, cpu = _median([run.wall for run in runs]), _median([run.cpu for run in runs])
    return Outcome(verdict, wall, cpu, runs[0].output)


def _median(values: list[float | None]) -> float | None:
    known = sorted(value for value in values if value is not None)
    return known[len(known) // 2] if known else None


def _run_sim_once(case: Path, root: Path, keep: Path | None = None) -> Outcome:
    refused = refusal_for_case(case)
    if refused:
        return Outcome(f"refused: {refused[0].key} (RL workflow)")
    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "out"
        command = sim_command(
            config_of(case),
            *("--fusion_root", str(root), "--runner", "network_simulator"),
            *("--mod_assumption_path", str(case / "mod_formats.json")),
            *("--output_dir", str(out), "--progress_file", str(Path(work) / "p.jsonl")),
        )
        done = timed(command, Path(work))
        if done.code == 2:
            lines = done.err.splitlines()
            first = lines[0].split("config error: ", 1)[-1]
            verdict = f"refused: {first.split(':')[0]} (+{len(lines) - 1})"
        elif done.code != 0:
            verdict = f"crashed: {done.err.splitlines()[-1:]}"
        else:
            verdict = "identical" if _compare(case, out) else "DIFFERENT"
        if keep is not None and out.is_dir():
            shutil.copytree(out, keep, dirs_exist_ok=True)
        return Outcome(verdict, done.wall, done.cpu, keep)


def run_fusion_case(case: Path, fusion: Fusion) -> Outcome:
    """FUSION's seconds on one fixture, and whether it reproduced the expected files."""
    driver = PROJECT / "benchmarks" / "fusion_fixture_driver.py"
    copy = fusion.root.joinpath(*FIXTURES_DIR, case.name)  # FUSION writes under its own root
    done = timed([str(fusion.python), str(driver), str(copy)], fusion.root, env=fusion.env)
    if done.code != 0:
        errors = [line for line in done.err.splitlines() if "Error: " in line][-1:]
        return Outcome(f"crashed: {' '.join(errors)[:100]}", done.wall, done.cpu)
    produced = Path(done.out.strip().splitlines()[-1])
    verdict = "reproduces" if _compare(case, produced) else "differs"
    return Outcome(verdict, done.wall, done.cpu, produced)


#: What every run of the built-in simulator pays before it reads its config: a fresh
#: interpreter. (The compiled build calls numpy's float64 routines without importing
#: numpy once they are certified on the machine: fusion_jupyter/sim/numpy_math.py.)
FLOOR_COMMAND = [sys.executable, "-c", "pass"]


def fixture_table(
    cases: list[str],
    fusion: Fusion | None,
    root: Path,
    run_sim: bool = True,
    repeat: int = 1,
    fusion_repeat: int = 1,
) -> None:
    """The fixture table; with both simulators, each case's floor and ceiling too.

    The floor is the median wall of the runs of :data:`FLOOR_COMMAND` taken beside the
    case's own (the VM's speed drifts over minutes); the ceiling, FUSION's wall over it,
    is the largest speed-up any run of the simulator could show on that case then.

    With FUSION, the built-in simulator's runs and the floor's are taken around FUSION's
    runs: ``repeat`` of each before FUSION's first run and after each of its runs, so
    that both sides are sampled across the same stretch of time. FUSION runs a case up
    to ``fusion_repeat`` times while its first run took under
    :data:`QUICK_FUSION_SECONDS`. One FUSION run averages the VM over its seconds,
    where a run of ours (a twentieth of a second on the small cases) samples one
    moment; a slow stretch of a few seconds could then decide ours' median alone and
    not FUSION's. Every run's seconds are printed after the table.
    """
    print("\n## FUSION's regression fixtures (fresh processes, start-up included)")
    print(
        "| fixture | built-in simulator | sim wall s | sim CPU s | FUSION wall s | FUSION CPU s "
        "| FUSION vs expected | speed-up wall | speed-up CPU | floor s | ceiling |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |")
    spreads: list[str] = []
    for case in discover(root):
        if cases and case.name not in cases:
            continue
        with tempfile.TemporaryDirectory() as kept:
            if fusion is None:
                runs = sim_runs(case, root, repeat, Path(kept)) if run_sim else []
                fusions: list[Outcome] = []
                floors: list[float | None] = []
            else:
                runs, fusions, floors = _side_by_side(
                    case, root, fusion, repeat if run_sim else 0, fusion_repeat, Path(kept)
                )
            theirs = summarise(fusions) if fusions else Outcome("not run")
            ours = _as_fusions_own(case, summarise(runs) if runs else Outcome("not run"), theirs)
            floor = _median(floors)
        identical = ours.verdict in ("identical", FUSIONS_OWN)
        print(
            f"| {case.name} | {ours.verdict} | {_fmt(ours.wall)} | {_fmt(ours.cpu)} "
            f"| {_fmt(theirs.wall)} | {_fmt(theirs.cpu)} | {theirs.verdict} "
            f"| {_ratio(theirs.wall, ours.wall, identical)} "
            f"| {_ratio(theirs.cpu, ours.cpu, identical)} "
            f"| {_fmt(floor)} | {_ratio(theirs.wall, floor, identical)} |",
            flush=True,
        )
        spreads.append(f"- {case.name}: ours {_walls(runs)}; FUSION {_walls(fusions)}")
    if fusion is not None:
        print("\nEvery run's wall seconds, in the order they ran:")
        print("\n".join(spreads))


#: FUSION's runs of a case are repeated (``--fusion-repeat``) only while its first run
#: took less than this: the longer cases' ratios are far above 100x, and repeating
#: them would take the bench from half an hour to hours.
QUICK_FUSION_SECONDS = 30.0


def _side_by_side(
    case: Path, root: Path, fusion: Fusion, repeat: int, fusion_repeat: int, keep: Path
) -> tuple[list[Outcome], list[Outcome], list[float | None]]:
    """Ours, FUSION's and the floor's runs of ``case``, ours and the floor's taken
    ``repeat`` at a time before FUSION's first run and after each of its runs."""
    ours = sim_runs(case, root, repeat, keep)
    floors = _floor_walls(repeat)
    theirs: list[Outcome] = []
    while True:
        theirs.append(run_fusion_case(case, fusion))
        ours += sim_runs(case, root, repeat)
        floors += _floor_walls(repeat)
        first = theirs[0]
        quick = first.wall is not None and first.wall < QUICK_FUSION_SECONDS
        if len(theirs) >= fusion_repeat or not quick or first.verdict.startswith("crashed"):
            return ours, theirs, floors


def _walls(runs: list[Outcome]) -> str:
    walls = [run.wall for run in runs if run.wall is not None]
    return " ".join(f"{wall:.3f}" for wall in walls) or "-"


def _floor_walls(count: int) -> list[float | None]:
    """Wall seconds of ``count`` fresh runs of :data:`FLOOR_COMMAND`."""
    return [timed(FLOOR_COMMAND, PROJECT).wall for _ in range(count)]


#: The verdict for a case where both simulators differ from the fixture, identically.
FUSIONS_OWN = "FUSION's own output"


def _as_fusions_own(case: Path, ours: Outcome, theirs: Outcome) -> Outcome:
    """``ours`` as FUSION's own output where FUSION differs from its fixture and the
    built-in simulator's files equal FUSION's run's (usbackbone_mb_CL_fixed_grooming)."""
    if ours.verdict != "DIFFERENT" or theirs.verdict != "differs":
        return ours
    if ours.output is None or theirs.output is None:
        return ours
    if not _compare(case, ours.output, reference_dir=theirs.output):
        return ours
    return replace(ours, verdict=FUSIONS_OWN)


def _fmt(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.2f}"


def _ratio(theirs: float | None, ours: float | None, identical: bool) -> str:
    return f"{theirs / ours:.0f}x" if theirs and ours and identical else ""


def per_request(fusion: Fusion | None, templates: Path, root: Path) -> None:
    """Seconds per request on three heavy configs, both simulators measured the same way.

    Each runs a smaller and a larger number of requests of one Erlang point and one
    iteration, every run from scratch: FUSION in a fresh ``fusion-sim run_sim``
    process, the built-in simulator in-process from a fresh context (its paths and
    memos built in the run, as in FUSION's process), the fastest of a few runs of
    each (:data:`OUR_RUNS`, :data:`FUSION_RUNS`). The difference over the extra
    requests is the cost of a request with start-up taken out. The built-in simulator
    plans each (source, destination, bandwidth) once, on first use; on minimal.ini
    that goes on until about 3,000 requests (805 of the 909 seen in 9,000), so that
    config is measured from 3,000 to 9,000, where a request costs what it does in a
    long run. The GSNR configs cost a hundred times more a request (FUSION takes half a
    minute a thousand requests in the C band, and over a minute in C+L), so they are
    measured from 1,000 to 3,000; at 1500 Erlang the network is still filling up there
    (a request costs more the more lightpaths share its links), on both sides alike.
    """
    print("\n## Per request (difference of two request counts, one iteration, fresh runs)")
    at_1500 = {"erlang_start": "1500", "erlang_stop": "1500", "max_iters": "1"}
    spain = root.joinpath(*FIXTURES_DIR, "spain_C_flexi")
    spain_cl = root.joinpath(*FIXTURES_DIR, "spain_mb_CL_flexi")
    configs = [
        ("minimal.ini at 2000 Erlang", templates / "minimal.ini", HEAVY, None, (3000, 9000)),
        (
            "spain_C_flexi (GSNR, C band, flexible grid) at 1500 Erlang",
            config_of(spain),
            at_1500,
            spain,
            (1000, 3000),
        ),
        (
            "spain_mb_CL_flexi (GSNR, C+L, flexible grid) at 1500 Erlang",
            config_of(spain_cl),
            at_1500,
            spain_cl,
            (1000, 3000),
        ),
    ]
    for title, config, overrides, case, counts in configs:
        ours = _our_seconds_per_request(config, overrides, None if case is None else root, counts)
        line = f"{title}, {counts[0]:,} to {counts[1]:,} requests: "
        line += f"built-in {ours * 1e6:.1f} us/request"
        if fusion is not None:
            # FUSION reads a fixture from its own (writable) copy of its root.
            mirrored = config if case is None else config_of(fusion.root / case.relative_to(root))
            theirs = _fusion_seconds_per_request(fusion, mirrored, overrides, counts)
            line += f", FUSION {theirs * 1e6:,.0f} us/request: {theirs / ours:.0f}x"
        print(line, flush=True)


def _seconds_per_request(counts: tuple[int, int], runs: int, run: Callable[[int], float]) -> float:
    """The fastest of ``runs`` timings of ``run(n)`` for each count, and their difference
    over the extra requests.

    The two counts take turns, run by run: timed one count after the other, a slower
    minute of the VM fell on one count only, and the difference of the fastest runs
    moved by a factor of three between two runs of the bench (minimal.ini 3.7 and
    11.2 us a request on the same build).
    """
    timings: list[list[float]] = [[], []]
    for _ in range(runs):
        for times, n in zip(timings, counts, strict=True):
            times.append(run(n))
    return (min(timings[1]) - min(timings[0])) / (counts[1] - counts[0])


def _our_seconds_per_request(
    config: Path, overrides: dict[str, str], root: Path | None, counts: tuple[int, int]
) -> float:
    from fusion_jupyter.sim.__main__ import tune_collector
    from fusion_jupyter.sim.load import load_params
    from fusion_jupyter.sim.simulation import build_context, simulate

    # The collector as the simulator's process tunes it: with CPython's default, young
    # collections took 7 % of a C+L request's instructions (in-process, 1,000 -> 3,000
    # requests), a cost the process does not have.
    tune_collector()

    def run(n: int) -> float:
        params = load_params(
            config, {**overrides, "num_requests": str(n)}, fusion_root=root, runner="run_sim"
        )
        ctx = build_context(params)
        started = time.perf_counter()
        simulate(params, ctx=ctx)
        return time.perf_counter() - started

    return _seconds_per_request(counts, OUR_RUNS, run)


def _fusion_seconds_per_request(
    fusion: Fusion, config: Path, overrides: dict[str, str], counts: tuple[int, int]
) -> float:
    command = [str(fusion.script), "run_sim", "--config_path", str(config), "--run_id", "b"]

    def run(n: int) -> float:
        flags = [f"--{k}={v}" for k, v in {**overrides, "num_requests": str(n)}.items()]
        done = timed([*command, *flags], fusion.root, env=fusion.env)
        assert done.code == 0, f"FUSION exited {done.code}: {done.err[-300:]}"
        return done.wall

    return _seconds_per_request(counts, FUSION_RUNS, run)


def memory(templates: Path, root: Path) -> None:
    """Peak memory against num_requests, on configs that each keep different state."""
    print("\n## Peak memory of the built-in simulator's command line (ru_maxrss)")
    fixtures = root.joinpath(*FIXTURES_DIR)
    at = {"max_iters": "1"}
    configs = [
        ("minimal.ini at 2000 Erlang", templates / "minimal.ini", HEAVY, []),
        (
            "spain_C_flexi at 1500 Erlang (GSNR memos)",
            config_of(fixtures / "spain_C_flexi"),
            {**at, "erlang_start": "1500", "erlang_stop": "1500"},
            ["--fusion_root", str(root)],
        ),
        (
            "spain_mb_CL_flexi at 1500 Erlang (C+L GSNR memos)",
            config_of(fixtures / "spain_mb_CL_flexi"),
            {**at, "erlang_start": "1500", "erlang_stop": "1500"},
            ["--fusion_root", str(root)],
        ),
        (
            "spain_C_fixed_grooming at 1500 Erlang (grooming)",
            config_of(fixtures / "spain_C_fixed_grooming"),
            {**at, "erlang_start": "1500", "erlang_stop": "1500"},
            ["--fusion_root", str(root)],
        ),
        (
            "baseline_kspf_ff, cong_aware routing, at 600 Erlang (a path weight per request)",
            config_of(fixtures / "baseline_kspf_ff"),
            {**at, "erlang_start": "600", "erlang_stop": "600", "route_method": "cong_aware"},
            ["--fusion_root", str(root)],
        ),
    ]
    for title, config, overrides, extra in configs:
        print(title, flush=True)
        for n in (10_000, 100_000, 300_000):
            flags = [f"--{k}={v}" for k, v in {**overrides, "num_requests": str(n)}.items()]
            with tempfile.TemporaryDirectory() as work:
                done = timed(sim_command(config, *flags, *extra), Path(work))
            assert done.code == 0, f"{n} requests exited {done.code}: {done.err[-300:]}"
            print(f"  {n:>7} requests: {done.rss_kib / 1024:.0f} MiB peak, {done.wall:.1f} s wall")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="*", default=[], help="fixture names (default all)")
    parser.add_argument("--no-fusion", action="store_true", help="skip the real FUSION")
    parser.add_argument("--no-sim", action="store_true", help="skip the built-in simulator")
    parser.add_argument("--only", choices=("fixtures", "per-request", "memory"), default=None)
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="built-in simulator runs per fixture (median); with FUSION, this many before "
        "its first run and after each of its runs",
    )
    parser.add_argument(
        "--fusion-repeat",
        type=int,
        default=1,
        help=f"FUSION runs per fixture (median) where its first took under "
        f"{QUICK_FUSION_SECONDS:.0f} s",
    )
    parser.add_argument(
        "--compiled",
        action="store_true",
        help="build the project's wheel (its compiled core, about 90 s) and measure that",
    )
    parser.add_argument(
        "--fusion-recheck-fix",
        action="store_true",
        help="run FUSION from a copy with the one-line fix of its SNR-recheck call",
    )
    args = parser.parse_args()
    if args.compiled and not compiled():
        if os.environ.get(RERUN):
            sys.exit("the wheel is pure Python: its core did not compile (see pip wheel -v .)")
        sys.exit(_rerun_with_wheel())
    # The patched copy of FUSION (if asked for) lives as long as the bench, errors included.
    with tempfile.TemporaryDirectory() as scratch:
        fusion = None if args.no_fusion else Fusion.install()
        if fusion is not None and args.fusion_recheck_fix:
            fusion = fusion.with_recheck_fix(Path(scratch))
        run(args, fusion)


def _rerun_with_wheel() -> int:
    """Build and unpack the project's wheel, and run this bench again on it."""
    with tempfile.TemporaryDirectory() as scratch:
        wheels = Path(scratch) / "wheels"
        pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels)]
        subprocess.run([*pip, str(PROJECT)], check=True)
        site = Path(scratch) / "site"
        with zipfile.ZipFile(next(wheels.glob("*.whl"))) as archive:
            archive.extractall(site)
        env = {**os.environ, "PYTHONPATH": str(site), RERUN: "1"}
        return subprocess.run([sys.executable, __file__, *sys.argv[1:]], env=env).returncode


def run(args: argparse.Namespace, fusion: Fusion | None) -> None:
    """Everything the arguments ask for."""
    # FUSION's source (read-only) for the built-in simulator; FUSION runs in its own copy.
    root = Path(os.environ.get("FUSION_JUPYTER_FUSION_SRC", PROJECT.parent / "shared" / "fusion"))
    assert root.joinpath(*FIXTURES_DIR).is_dir(), f"no FUSION fixtures under {root}"
    templates = root / "fusion" / "configs" / "templates"
    # Compiled once here, as an installed package is, rather than at every start.
    compileall.compile_dir(Path(fusion_jupyter.__file__).parent, quiet=1)
    if fusion is not None:
        compileall.compile_dir(fusion.root / "fusion", quiet=1)
    core = "compiled (mypyc)" if compiled() else "pure Python"
    print(f"built-in simulator: {core}, from {Path(fusion_jupyter.__file__).parent}")
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if args.only in (None, "fixtures"):
        fixture_table(
            args.cases,
            fusion,
            root,
            run_sim=not args.no_sim,
            repeat=args.repeat,
            fusion_repeat=args.fusion_repeat,
        )
    if args.only in (None, "per-request"):
        per_request(fusion, templates, root)
    if args.only in (None, "memory"):
        memory(templates, root)
    print(f"\nload average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
