"""Speed and memory of the built-in simulator (issue 3's numbers).

Run from the repository root::

    python benchmarks/sim_bench.py

Prints:

1. requests/s for minimal.ini's settings at 2000 Erlang, 3000 requests, 3 iterations
   (in-process; with and without the one-off k-shortest-path computation);
2. wall time of minimal.ini and default.ini end to end through the command line
   (a fresh interpreter each, imports included), as FUSION was timed (6.7 s, 31 s);
3. peak memory (ru_maxrss of the child) for 100,000 requests in one iteration.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fusion_jupyter.engine.config import SHIPPED_TEMPLATES_DIR
from fusion_jupyter.sim.load import load_params
from fusion_jupyter.sim.simulation import build_context, simulate

MINIMAL = SHIPPED_TEMPLATES_DIR / "minimal.ini"
DEFAULT = SHIPPED_TEMPLATES_DIR / "default.ini"
REPEATS = 5


def requests_per_second() -> None:
    overrides = {
        "erlang_start": "2000",
        "erlang_stop": "2000",
        "num_requests": "3000",
        "max_iters": "3",
    }
    params = load_params(MINIMAL, overrides)
    cold, warm = [], []
    for _ in range(REPEATS):
        ctx = build_context(params)
        started = time.perf_counter()
        (point,) = simulate(params, ctx=ctx)
        cold.append(time.perf_counter() - started)
        started = time.perf_counter()
        simulate(params, ctx=ctx)  # paths already computed
        warm.append(time.perf_counter() - started)
    served = params.num_requests * point.stats.iterations
    print(
        f"minimal.ini @ 2000 E, 3000 requests x {point.stats.iterations} iterations "
        f"(blocking {point.stats.blocking}):"
    )
    print(f"  {served / statistics.median(cold):,.0f} requests/s including path computation")
    print(f"  {served / statistics.median(warm):,.0f} requests/s with paths cached")


def _cli(config: Path, cwd: Path, *flags: str) -> tuple[float, int, int]:
    """Wall seconds, exit code and peak RSS (KiB) of one command-line run."""
    command = [sys.executable, "-m", "fusion_jupyter.sim", "run_sim"]
    command += ["--config_path", str(config), "--run_id", "bench", *flags]
    started = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        child = subprocess.Popen(command, cwd=cwd, stdout=sink, stderr=sink)
        _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, child.returncode, usage.ru_maxrss


def end_to_end() -> None:
    for config in (MINIMAL, DEFAULT):
        times = []
        for _ in range(REPEATS):
            with tempfile.TemporaryDirectory() as cwd:
                elapsed, code, _ = _cli(config, Path(cwd))
                assert code == 0, f"{config.name} exited {code}"
                times.append(elapsed)
        print(
            f"{config.name} end to end (CLI, fresh interpreter): "
            f"median {statistics.median(times):.2f} s, min {min(times):.2f} s"
        )


def peak_memory() -> None:
    flags = ("--erlang_start", "2000", "--erlang_stop", "2000")
    flags += ("--num_requests", "100000", "--max_iters", "1")
    with tempfile.TemporaryDirectory() as cwd:
        elapsed, code, rss_kib = _cli(MINIMAL, Path(cwd), *flags)
    assert code == 0, f"100k-request run exited {code}"
    print(
        f"100,000 requests, 1 iteration @ 2000 E: peak RSS {rss_kib / 1024:.0f} MiB "
        f"(ru_maxrss), {elapsed:.2f} s wall, {100_000 / elapsed:,.0f} requests/s end to end"
    )


def main() -> None:
    requests_per_second()
    end_to_end()
    peak_memory()


if __name__ == "__main__":
    main()
