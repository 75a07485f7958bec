"""Fault figures for issue 16; prints them, asserts nothing (not run in CI).

    python benchmarks/faults_bench.py [--kill-cycles 50] [--outage-cycles 10] [--sweep-runs 2000]

1. kill -9 cycles: a manager process creates runs and is SIGKILLed at a random moment
   (while creating, starting or watching them), again and again; then one manager
   settles what is left. Lost: a run whose id was printed but that is missing, not
   COMPLETED, or whose exit record disagrees with its status.
2. database outages: two managers on PostgreSQL; runs end while it is stopped
   (pg_ctl stop -m fast), then it is started again. Stuck: a run not settled
   5 s after the database is back. Prints the time from "back" to "all settled".
3. a sweep on SQLite with 32 tags a run, while another thread creates runs one by
   one: the longest write transaction of the sweep and the slowest single create.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support

from sqlalchemy import event

from fusion_jupyter.engine import RunManager, Status
from fusion_jupyter.engine.manager import MAX_TAGS
from tests.support import stub_sim_command
from tests.support.postgres import PostgresServer

MANAGER_PROC = Path(__file__).resolve().parent.parent / "tests" / "support" / "manager_proc.py"
SETTLE_LIMIT = 5.0


def settings(tmp: Path, db_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "runs_dir": str(tmp / "runs"),
        "db_url": db_url,
        "simulator_command": stub_sim_command("--delay", "0.05"),
        "max_concurrent_runs": 4,
        "sync_interval_seconds": 0.2,
        "progress_flush_seconds": 0.1,
        **extra,
    }


def wait_all_terminal(manager: RunManager, ids: list[str], timeout: float) -> float | None:
    """Seconds until every run is terminal, or None if some are not within ``timeout``."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if all(Status(r.status).terminal for r in manager.store.get_many(ids)):
            return time.monotonic() - began
        time.sleep(0.01)
    return None


# --------------------------------------------------------------------------- kill -9


def bench_kill_cycles(tmp: Path, cycles: int) -> None:
    db_url = f"sqlite:///{tmp}/runs.db"
    kwargs = settings(tmp, db_url)
    rng = random.Random(16)
    created: list[str] = []
    began = time.monotonic()
    for _ in range(cycles):
        to_create = [["minimal", {"general_settings": {"max_iters": 2}}]] * 2
        proc = subprocess.Popen(
            [sys.executable, str(MANAGER_PROC), json.dumps(kwargs), json.dumps(to_create)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        if rng.random() < 0.3:
            time.sleep(rng.uniform(0.5, 2.0))  # importing, migrating or creating
        else:
            line = proc.stdout.readline()  # the ids, once the runs are in the database
            if line:
                created += json.loads(line)
            time.sleep(rng.uniform(0, 0.3))  # starting, running or settling them
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    with RunManager(**kwargs) as survivor:
        # Every run in the database counts, acknowledged (ids printed) or not.
        everything = [r.id for r in survivor.list_runs(limit=100_000).runs]
        missing = set(created) - set(everything)
        settled = wait_all_terminal(survivor, everything, 120)
        runs = survivor.store.get_many(everything)
        lost = [r.id for r in runs if r.status != Status.COMPLETED] + sorted(missing)
        wrong = [
            r.id
            for r in runs
            if r.status == Status.COMPLETED
            and json.loads((Path(r.run_dir) / "exit.json").read_text())["exit_code"] != 0
        ]
    print(
        f"kill -9: {cycles} cycles, {len(everything)} runs in the database "
        f"({len(created)} acknowledged, {len(missing)} of those missing), {len(lost)} lost "
        f"(not COMPLETED), {len(wrong)} settled against their exit record; "
        f"all settled {settled if settled is None else round(settled, 2)} s after the "
        f"last kill; {time.monotonic() - began:.0f} s in all"
    )


# --------------------------------------------------------------------------- outages


def bench_outages(tmp: Path, cycles: int) -> None:
    pg = PostgresServer.start()
    try:
        url = pg.create_database()
        gate_dir = tmp / "gates"
        gate_dir.mkdir(parents=True)
        command = stub_sim_command("--wait-for", str(gate_dir / "{run_id}"))
        kwargs = settings(tmp, url, simulator_command=command)
        kwargs.pop("runs_dir")
        first = RunManager(runs_dir=tmp / "runs", **kwargs)
        second = RunManager(runs_dir=tmp / "runs", **kwargs)
        first.start()
        second.start()
        stuck = 0
        times: list[float] = []
        try:
            for _ in range(cycles):
                ids = [first.create("minimal").id, second.create("minimal").id]
                deadline = time.monotonic() + 30
                while not all(r.pid for r in first.store.get_many(ids)):
                    assert time.monotonic() < deadline, "runs did not start"
                    time.sleep(0.01)
                pg.pause()
                for run_id in ids:  # they end while the database is down
                    (gate_dir / run_id).touch()
                time.sleep(1.0)
                pg.resume()
                settled = wait_all_terminal(first, ids, SETTLE_LIMIT)
                if settled is None:
                    stuck += sum(not Status(r.status).terminal for r in first.store.get_many(ids))
                else:
                    times.append(settled)
        finally:
            first.close()
            second.close()
        print(
            f"database outages: {cycles} cycles, {2 * cycles} runs ended while PostgreSQL "
            f"was down, {stuck} stuck; settled after it was back in "
            f"median {statistics.median(times):.2f} s, max {max(times):.2f} s"
            if times
            else f"database outages: {cycles} cycles, {stuck} stuck"
        )
    finally:
        pg.stop()


# --------------------------------------------------------------------------- sweep lock


def bench_sweep_lock(tmp: Path, sweep_runs: int) -> None:
    kwargs = settings(tmp, f"sqlite:///{tmp}/runs.db", max_concurrent_runs=1)
    with RunManager(**kwargs) as sweeper, RunManager(**kwargs) as other:
        sweeper._fill_slots = lambda: None  # type: ignore[method-assign]  # writing only
        other._fill_slots = lambda: None  # type: ignore[method-assign]
        holds: list[float] = []
        opened: dict[int, float] = {}

        def on_begin(conn: Any) -> None:
            opened[id(conn)] = time.monotonic()

        def on_end(conn: Any) -> None:
            if id(conn) in opened:
                holds.append(time.monotonic() - opened.pop(id(conn)))

        engine = sweeper.store.engine
        event.listen(engine, "begin", on_begin)
        event.listen(engine, "commit", on_end)
        creates: list[float] = []
        stop = threading.Event()

        def create_loop() -> None:
            while not stop.is_set():
                began = time.monotonic()
                other.create("minimal")
                creates.append(time.monotonic() - began)

        thread = threading.Thread(target=create_loop)
        thread.start()
        began = time.monotonic()
        tags = [f"tag{i}" for i in range(MAX_TAGS)]
        grid = {"general_settings.max_iters": list(range(1, sweep_runs + 1))}
        sweeper.create_sweep("minimal", grid, tags=tags)
        took = time.monotonic() - began
        stop.set()
        thread.join()
    print(
        f"sweep of {sweep_runs} runs x {MAX_TAGS + 1} tags on SQLite: {took:.1f} s, "
        f"longest write transaction {max(holds) * 1000:.0f} ms; meanwhile {len(creates)} "
        f"single creates, slowest {max(creates) * 1000:.0f} ms, "
        f"median {statistics.median(creates) * 1000:.0f} ms, none failed"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kill-cycles", type=int, default=50)
    parser.add_argument("--outage-cycles", type=int, default=10)
    parser.add_argument("--sweep-runs", type=int, default=2000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the outages' one-line warnings, not here
    print(f"(2 cores shared with other work: timings are pessimistic; load {os.getloadavg()})")
    with tempfile.TemporaryDirectory() as tmp:
        if args.kill_cycles:
            bench_kill_cycles(Path(tmp) / "kill", args.kill_cycles)
        if args.outage_cycles:
            bench_outages(Path(tmp) / "outage", args.outage_cycles)
        if args.sweep_runs:
            bench_sweep_lock(Path(tmp) / "sweep", args.sweep_runs)


if __name__ == "__main__":
    main()
