"""Slurm figures for issue 8, against a real one-node Slurm started here; prints them.

    python benchmarks/slurm_bench.py [--runs 1000] [--seconds 20]

1. a sweep of N runs created and submitted as one job array (wall time of
   create_sweep, and of its sbatch call alone)
2. N active Slurm runs tracked: Slurm commands per poll, manager CPU (% of one core)

The jobs are held (``--hold``) so that they stay queued while being tracked, then
cancelled.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fusion_jupyter.engine import RunManager
from tests.support import stub_sim_command
from tests.support.slurm import SlurmCluster


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--poll", type=float, default=2.0)
    args = parser.parse_args()
    cluster = SlurmCluster.start()
    os.environ["SLURM_CONF"] = cluster.env["SLURM_CONF"]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            m = RunManager(
                runs_dir=Path(tmp) / "runs",
                db_url=f"sqlite:///{tmp}/runs.db",
                simulator_command=stub_sim_command(),
                slurm_poll_interval=args.poll,
                slurm_options={"extra": ["--hold"]},
            )
            m.start()
            calls: Counter[str] = Counter()
            run_command = m.slurm._run

            def counted(argv: list[str]) -> str:
                calls[argv[0]] += 1
                return run_command(argv)

            m.slurm._run = counted  # type: ignore[method-assign]
            began = time.perf_counter()
            sbatch_time = []
            submit_array = m.slurm.submit_array

            def timed_array(*a, **k):  # type: ignore[no-untyped-def]
                t = time.perf_counter()
                try:
                    return submit_array(*a, **k)
                finally:
                    sbatch_time.append(time.perf_counter() - t)

            m.slurm.submit_array = timed_array  # type: ignore[method-assign]
            sweep, runs = m.create_sweep(
                "minimal",
                grid={"general_settings.num_requests": [100] * args.runs},
                executor="slurm",
            )
            total = time.perf_counter() - began
            print(
                f"{len(runs)}-run sweep created and submitted as one array: {total:.2f} s "
                f"(sbatch of the array alone: {sbatch_time[0]:.3f} s)"
            )
            time.sleep(args.poll * 2)  # first polls record the pending reasons
            calls.clear()
            c0, t0 = cpu(), time.monotonic()
            time.sleep(args.seconds)
            used = (cpu() - c0) / (time.monotonic() - t0) * 100
            polls = args.seconds / args.poll
            print(
                f"{len(runs)} active Slurm runs tracked for {args.seconds:.0f} s "
                f"(poll every {args.poll} s): {dict(calls)} commands "
                f"(~{sum(calls.values()) / polls:.1f} per poll); manager CPU {used:.2f}% of a core"
            )
            reasons = Counter(m.get(r.id).pending_reason for r in runs[:50])
            print(f"pending reasons seen (first 50 runs): {dict(reasons)}")
            m.cancel_sweep(sweep.id)
            m.close()
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
