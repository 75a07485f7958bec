"""Speed of the Python API (issue 5's numbers), embedded and against a real server.

Run from the repository root::

    python benchmarks/client_bench.py [--skip-server] [--repeats N]

Prints, for the embedded engine and for a client of a real ``jupyter server``
subprocess (tests/support/jupyter.py) on the same runs directory and database:

1. ``Run.results()`` of a run with 100 Erlang result files: from the results table the
   built-in simulator writes, and from the 100 FUSION-format ``*_erlang.json`` files
   alone (the table removed, as with the real FUSION);
2. ``client.runs()`` first page (50 runs) with 100,000 runs in the database;
3. submit -> the run's first progress event as seen by ``Run.wait()``, with the
   built-in simulator (p50, p90 over the repeats), and how long ``submit`` itself took;
   for comparison, the same with a simulator whose ``start`` event the run's launcher
   writes (the FUSION profile, with the FUSION stand-in of tests/support).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


import fusion_jupyter as fj
from fusion_jupyter.client import Client, Snapshot
from fusion_jupyter.client import run as run_module
from fusion_jupyter.engine.models import Status, utcnow
from tests.support.seed import seed_runs

ERLANG_POINTS = 100
BULK_RUNS = 100_000


def timed(fn: Callable[[], Any], repeats: int) -> list[float]:
    """Wall times (ms) of ``repeats`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times


def summary(times: list[float]) -> str:
    times = sorted(times)
    p90 = times[min(len(times) - 1, int(len(times) * 0.9))]
    return f"p50 {statistics.median(times):7.1f} ms   p90 {p90:7.1f} ms   (n={len(times)})"


# --------------------------------------------------------------------------- setups


def hundred_point_run(client: Client) -> Any:
    """A built-in simulator run over 100 Erlang loads (one small iteration each)."""
    overrides = {
        "general_settings": {
            "erlang_start": 10,
            "erlang_stop": 10 * ERLANG_POINTS,
            "erlang_step": 10,
            "num_requests": 100,
            "max_iters": 1,
        }
    }
    return client.submit("minimal", overrides, name="bench-100").wait(
        timeout=600, progress=False, raise_on_failure=True
    )


def without_tables(run: Any) -> None:
    """Leave only the FUSION-format JSON files (as the real FUSION writes them)."""
    output = Path(run.to_dict()["run_dir"]) / "output"
    for name in ("results.parquet", "results.csv"):
        (output / name).unlink(missing_ok=True)
    assert len(list(output.glob("*_erlang.json"))) == ERLANG_POINTS


class FirstEvent:
    """Notes when ``Run.wait()`` receives its first progress event."""

    def __init__(self) -> None:
        self.at: float | None = None
        self._feed = run_module.RunWatch.feed

    @contextmanager
    def watching(self) -> Iterator[FirstEvent]:
        first = self

        def feed(watch: Any, messages: list[dict[str, Any]]) -> None:
            if first.at is None and any(m.get("type") == "progress" for m in messages):
                first.at = time.perf_counter()
            first._feed(watch, messages)

        run_module.RunWatch.feed = feed  # type: ignore[method-assign]
        try:
            yield self
        finally:
            run_module.RunWatch.feed = self._feed  # type: ignore[method-assign]


class Quiet:
    """A progress reporter that shows nothing."""

    def update(self, snapshot: Snapshot) -> None:
        pass

    def close(self) -> None:
        pass


def first_event_latency(client: Client, repeats: int) -> tuple[list[float], list[float]]:
    """(submit -> first progress event seen by wait, submit call alone), in ms."""
    latencies, submits = [], []
    for _ in range(repeats + 1):
        probe = FirstEvent()
        with probe.watching():
            started = time.perf_counter()
            run = client.submit("minimal", {"general_settings.max_iters": 1}, name="bench-latency")
            submitted = time.perf_counter()
            run.wait(timeout=120, progress=Quiet())
        assert probe.at is not None, "no progress event seen"
        latencies.append((probe.at - started) * 1000)
        submits.append((submitted - started) * 1000)
    return latencies[1:], submits[1:]  # the first one warms up imports


def launcher_written_start(home: Path, repeats: int) -> None:
    """The latency when the launcher, not the simulator, writes the first event."""
    import os

    from fusion_jupyter.engine.logpatterns import FUSION_LOG_PATTERNS
    from tests.support import fusion_standin_command

    # The stand-in (not FUSION) because this measures our launcher, not FUSION's
    # 2-4 s of imports: a simulator that writes no progress file, as FUSION.
    os.environ.setdefault("FUSION_STANDIN_ROOT", str(home / "fusion-root"))
    profile = {
        "simulator_command": fusion_standin_command(),
        "progress_log_patterns": FUSION_LOG_PATTERNS,
        "output_collect": ["*_erlang.json"],
    }
    options = {"runs_dir": home / "runs-fusion", "db_url": f"sqlite:///{home / 'fusion.db'}"}
    with fj.connect(embedded=True, **options, **profile) as client:
        latencies, _ = first_event_latency(client, repeats)
    print(f"  (launcher-written start event, FUSION profile: {summary(latencies)})")


# --------------------------------------------------------------------------- main


def bench(label: str, client: Client, repeats: int, fat_db: bool) -> None:
    print(f"\n== {label}: {client!r}")
    run = hundred_point_run(client)
    print(f"Run.results(), {ERLANG_POINTS} loads, results table:  ", end="")
    print(summary(timed(run.results, repeats)))
    without_tables(run)
    frame = run.results()
    assert len(frame) == ERLANG_POINTS, len(frame)
    print(f"Run.results(), {ERLANG_POINTS} FUSION *_erlang.json:  ", end="")
    print(summary(timed(run.results, repeats)))
    if fat_db:
        print(f"client.runs() first page, {BULK_RUNS:,} runs in the DB: ", end="")
        page = client.runs()
        assert len(page) == 50 and page.next_cursor
        print(summary(timed(client.runs, repeats)))
    latencies, submits = first_event_latency(client, repeats)
    print(f"submit -> first progress event in Run.wait():  {summary(latencies)}")
    print(f"  of which client.submit() itself:             {summary(submits)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--skip-server", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fusion-client-bench-") as tmp:
        home = Path(tmp)
        runs_dir = home / "runs"
        db_url = f"sqlite:///{home / 'runs.db'}"
        with fj.connect(embedded=True, runs_dir=runs_dir, db_url=db_url) as client:
            client.templates()  # the engine creates the database
            started = time.perf_counter()
            seed_runs(
                db_url,
                BULK_RUNS,
                runs_dir=runs_dir,
                name="bulk",
                statuses=(Status.COMPLETED,),
                start=utcnow() - timedelta(days=2),
            )
            print(f"inserted {BULK_RUNS:,} runs in {time.perf_counter() - started:.1f} s")
            bench("embedded", client, args.repeats, fat_db=True)
        launcher_written_start(home, args.repeats)
        if not args.skip_server:
            from tests.support.jupyter import running_server

            fusion = {"runs_dir": str(runs_dir), "db_url": db_url}
            with (
                running_server(home / "server", fusion=fusion) as srv,
                fj.connect(srv.root, srv.token) as client,
            ):
                bench("remote (jupyter server on 127.0.0.1)", client, args.repeats, fat_db=True)


if __name__ == "__main__":
    main()
