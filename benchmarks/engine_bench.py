"""Engine figures for issue 2; prints them, asserts nothing.

    python benchmarks/engine_bench.py [--runs-idle 200] [--db-rows 100000]

1. progress line written -> subscriber has the event (p50/p99 ms)
2. create() -> launcher process running (p50 ms)
3. N runs RUNNING and watched, nothing happening: manager CPU (% of one core)
4. 100,000 runs in the database: one page of 100 filtered by status (ms)
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support

from fusion_jupyter.engine import RunFilter, RunManager, Status
from fusion_jupyter.engine.runpaths import RunPaths
from tests.support import stub_sim_command
from tests.support.seed import seed_runs

HERE = Path(__file__).resolve().parent


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def manager(tmp: Path, command: list[str], **kw: object) -> RunManager:
    m = RunManager(
        runs_dir=tmp / "runs", db_url=f"sqlite:///{tmp}/runs.db", simulator_command=command, **kw
    )
    m.start()
    return m


def bench_latency(tmp: Path, count: int = 300) -> None:
    cmd = [sys.executable, str(HERE / "ticker_sim.py"), str(count), "0.01", "{progress_file}"]
    with manager(tmp / "lat", cmd) as m:
        run = m.create("minimal")
        lat: list[float] = []
        done = threading.Event()

        def on_event() -> None:
            now = time.time()
            for msg in sub.drain():
                event = msg.get("event", {})
                if "t" in event:
                    lat.append((now - event["t"]) * 1000)
                if event.get("type") == "complete":
                    done.set()

        sub = m.subscribe(run.id, notify=on_event, channels=["progress"])
        done.wait(120)
        sub.close()
    print(
        f"progress line -> subscriber: p50 {pct(lat, 0.5):.2f} ms, p99 {pct(lat, 0.99):.2f} ms "
        f"({len(lat)} events)"
    )


def bench_start(tmp: Path, count: int = 30) -> None:
    gate = tmp / "gate"
    cmd = stub_sim_command("--wait-for", str(gate))
    create_ms, running_ms = [], []
    with manager(tmp / "start", cmd, max_concurrent_runs=count) as m:
        for _ in range(count):
            began = time.time()
            run = m.create("minimal")
            create_ms.append((time.time() - began) * 1000)
            record = RunPaths(Path(run.run_dir)).launcher_record
            while not record.exists():
                time.sleep(0.0005)
            started = json.loads(record.read_text())["started_at"]
            stamp = datetime.fromisoformat(started.replace("Z", "+00:00")).timestamp()
            running_ms.append((stamp - began) * 1000)
        gate.touch()
        m.settings.on_shutdown = "cancel"
    print(
        f"create() returns with the process spawned: p50 {statistics.median(create_ms):.1f} ms; "
        f"launcher code running: p50 {statistics.median(running_ms):.1f} ms ({count} runs)"
    )


def bench_exit_notice(tmp: Path, count: int = 20) -> None:
    """From the launcher recording the exit to a status subscriber seeing the run end."""
    cmd = stub_sim_command("--erlangs", "1", "--iterations", "1", "--no-output")
    seen: dict[str, float] = {}
    lock = threading.Lock()
    with manager(tmp / "exit", cmd, max_concurrent_runs=2) as m:

        def on_status() -> None:
            now = time.time()
            for msg in status.drain():
                # The status channel also carries run_progress messages (no "run").
                if msg["type"] == "status" and msg["run"]["status"] in ("COMPLETED", "FAILED"):
                    with lock:
                        seen.setdefault(msg["run_id"], now)

        status = m.hub.subscribe_status(notify=on_status)
        ids = [m.create("minimal").id for _ in range(count)]
        deadline = time.time() + 120
        while len(seen) < count and time.time() < deadline:
            time.sleep(0.05)
        lags = []
        for run_id in ids:
            record = json.loads((Path(m.get(run_id).run_dir) / "exit.json").read_text())
            ended = datetime.fromisoformat(record["ended_at"].replace("Z", "+00:00")).timestamp()
            lags.append((seen[run_id] - ended) * 1000)
        status.close()
    print(
        f"process end recorded -> run settled and announced: p50 {statistics.median(lags):.1f} "
        f"ms, max {max(lags):.1f} ms ({count} runs)"
    )


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def bench_idle(tmp: Path, count: int, seconds: float = 10.0) -> None:
    gate = tmp / "idle-gate"
    cmd = stub_sim_command("--wait-for", str(gate))
    with manager(tmp / "idle", cmd, max_concurrent_runs=count, cancel_grace_seconds=1) as m:
        ids = [m.create("minimal").id for _ in range(count)]
        deadline = time.time() + 120
        while m.store.count(Status.RUNNING) < count and time.time() < deadline:
            time.sleep(0.1)
        while any(not (Path(m.get(i).run_dir) / "progress.jsonl").exists() for i in ids[-5:]):
            time.sleep(0.1)
        time.sleep(3)  # let the simulators finish starting up
        c0, t0 = cpu_seconds(), time.monotonic()
        time.sleep(seconds)
        used = (cpu_seconds() - c0) / (time.monotonic() - t0) * 100
        running = m.store.count(Status.RUNNING)
        print(f"{running} runs RUNNING and watched, idle: manager uses {used:.2f}% of one core")
        gate.touch()
        deadline = time.time() + 120
        while m.store.count(Status.RUNNING) and time.time() < deadline:
            time.sleep(0.2)


def bench_listing(tmp: Path, rows: int) -> None:
    db_url = f"sqlite:///{tmp}/big.db"
    seed_runs(
        db_url,
        rows,
        runs_dir=tmp / "big" / "runs",
        statuses=(Status.COMPLETED,) * 8 + (Status.FAILED, Status.RUNNING),
        start=datetime(2026, 1, 1, tzinfo=timezone.utc),
    )
    m = RunManager(runs_dir=tmp / "big" / "runs", db_url=db_url)
    timings = []
    for status in (Status.FAILED, Status.COMPLETED, Status.RUNNING) * 10:
        began = time.perf_counter()
        page = m.list_runs(RunFilter(status=[status]), limit=100)
        timings.append((time.perf_counter() - began) * 1000)
        assert len(page.runs) == 100
    began = time.perf_counter()
    m.list_runs(RunFilter(status=[Status.FAILED]), limit=100, cursor=page.next_cursor)
    second = (time.perf_counter() - began) * 1000
    print(
        f"{rows} runs in the database: a page of 100 filtered by status: "
        f"p50 {statistics.median(timings):.2f} ms, max {max(timings):.2f} ms; "
        f"next page by cursor {second:.2f} ms"
    )
    m.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-idle", type=int, default=200)
    parser.add_argument("--db-rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bench_latency(root)
        bench_start(root)
        bench_exit_notice(root)
        bench_listing(root, args.db_rows)
        bench_idle(root, args.runs_idle)


if __name__ == "__main__":
    main()
