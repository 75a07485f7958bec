"""The extension's cost on a real FUSION run; prints figures, asserts nothing.

    python benchmarks/fusion_bench.py [--repeats 3] [--max-iters 2]

1. Overhead: the same config run by FUSION alone (``fusion-sim run_sim``, spawn to
   exit) and through the engine (``create()`` to the run's terminal status, which
   includes the launcher, progress from the log, and moving the outputs). The two
   are interleaved and compared by median; the goal is at most 0.3 s.
2. Progress events per FUSION iteration (goal: at least one).

FUSION comes from scripts/install-fusion.sh (installed on first use, 1-2 min).
FUSION alone writes into its own tree: those directories (named by its own
``Saving to:`` lines) are removed after each run.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support

from fusion_jupyter.engine import RunManager, Status
from fusion_jupyter.engine.fusion_outputs import remove_leftovers, run_dirs
from tests.support.fusion import FusionInstall, install

SAVING_TO = re.compile(r"Saving to: (?P<path>.+?)\s*$", re.MULTILINE)


def fusion_alone(fusion: FusionInstall, config: Path) -> float:
    """Seconds from spawning fusion-sim to its exit; its outputs are removed after."""
    began = time.perf_counter()
    done = subprocess.run(
        [str(fusion.command), "run_sim", "--config_path", str(config), "--run_id", "bench"],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"FUSION failed:\n{done.stderr[-2000:]}")
    dirs = {m.group("path") for m in SAVING_TO.finditer(done.stderr)}
    found = [run_dirs(d) for d in dirs]
    remove_leftovers([str(p) for f in found if f is not None for p in f[1:]])
    return elapsed


Overrides = dict[str, dict[str, object]]


def through_engine(manager: RunManager, overrides: Overrides) -> tuple[float, str]:
    """Seconds from create() to the run's terminal status, and the run's id."""
    began = time.perf_counter()
    run = manager.create("minimal", overrides)
    while not (current := manager.get(run.id)).status.terminal:
        time.sleep(0.005)
    elapsed = time.perf_counter() - began
    if current.status != Status.COMPLETED:
        raise SystemExit(f"the run failed: {current.error}")
    return elapsed, run.id


def _listed(values: list[float]) -> str:
    return ", ".join(f"{x:.2f}" for x in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-iters", type=int, default=2)
    args = parser.parse_args()
    fusion = install()
    overrides: Overrides = {"general_settings": {"max_iters": args.max_iters}}
    with (
        tempfile.TemporaryDirectory() as tmp,
        RunManager(
            runs_dir=Path(tmp) / "runs",
            db_url=f"sqlite:///{tmp}/runs.db",
            simulator="fusion",
            fusion_command=str(fusion.command),
            templates_path=[fusion.templates],
            progress_flush_seconds=0.1,
        ) as manager,
    ):
        # Warm-up (file caches, FUSION's .pyc), and the frozen config both sides run.
        _, first = through_engine(manager, overrides)
        config = Path(manager.get(first).run_dir) / "config.ini"
        fusion_alone(fusion, config)
        alone, engine, run_ids = [], [], []
        for _ in range(args.repeats):
            alone.append(fusion_alone(fusion, config))
            seconds, run_id = through_engine(manager, overrides)
            engine.append(seconds)
            run_ids.append(run_id)
        events = manager.events(run_ids[-1])
        iterations = manager.read_log(run_ids[-1]).data.count("CHILD=s1 iteration=")
    iteration_events = sum(e["type"] == "iteration" for e in events)
    a, e = statistics.median(alone), statistics.median(engine)
    print(f"FUSION minimal template, max_iters {args.max_iters}, {args.repeats} runs each side")
    print(f"FUSION alone (fusion-sim):        median {a:.3f} s  ({_listed(alone)})")
    print(f"through the engine (create->end): median {e:.3f} s  ({_listed(engine)})")
    print(f"overhead (median difference):     {e - a:+.3f} s  (goal <= 0.3 s)")
    print(
        f"progress events per FUSION iteration: {iteration_events / max(iterations, 1):.2f} "
        f"({iteration_events} iteration events, {iterations} iterations; goal >= 1)"
    )
    print(f"all progress events of the run: {len(events)}")


if __name__ == "__main__":
    main()
