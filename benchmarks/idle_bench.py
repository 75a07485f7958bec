"""Idle cost of the server: CPU of ``jupyter server`` with many active runs doing nothing.

    python benchmarks/idle_bench.py [--runs 200] [--clients 100] [--seconds 90]

Prints the server process's CPU (utime + stime of all its threads, from /proc, in %
of one core) over ``--seconds``:
  1. ``--runs`` active runs (a simulator that sleeps), no client connected;
  2. the same with ``--clients`` WebSocket clients connected, each following one run's
     progress and logs, nothing being written;
  3. a plain ``jupyter server`` without the extension, for reference.
The engine runs with its shipped timings (sync every 1 s, progress flush every 0.5 s)
and the stream's shipped keep-alive (every client pinged once ``ws_ping_interval_seconds``,
45 s): the default window, 90 s, holds two ping rounds, so the figure is the rate an
idle server keeps up, not a window that happens to miss (or catch) a round.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from vs_fusion_gui import Collector, Follower, WsStream, cpu_percent  # noqa: E402

from tests.support import wait_until  # noqa: E402
from tests.support.jupyter import JupyterServer, free_port, running_server  # noqa: E402


def start_runs(server: JupyterServer, count: int) -> list[str]:
    http = server.session()
    ids = []
    for _ in range(count):
        answer = http.post(server.url("runs"), json={"template": "minimal", "name": "idle"})
        answer.raise_for_status()
        ids.append(answer.json()["id"])

    def all_running() -> bool:
        page = http.get(server.url("runs"), params={"status": "RUNNING", "limit": count}).json()
        return len(page["runs"]) == count

    wait_until(all_running, timeout=300, interval=0.5, what="every run to be RUNNING")
    return ids


@contextlib.contextmanager
def plain_server(home: Path) -> Iterator[int]:
    """A ``jupyter server`` with no extension, started the same way; yields its pid."""
    home.mkdir(parents=True)
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter_server",
            f"--port={port}",
            "--ip=127.0.0.1",
            "--ServerApp.token=",
            "--no-browser",
            "--allow-root",
            f"--ServerApp.root_dir={home}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={"JUPYTER_NO_CONFIG": "1", "PATH": "/usr/bin:/bin", "HOME": str(home)},
    )
    try:
        wait_until(lambda: _answers(f"http://127.0.0.1:{port}/api/status"), timeout=60)
        yield proc.pid
    finally:
        proc.terminate()
        proc.wait(20)


def plain_server_cpu(home: Path, seconds: float) -> float:
    with plain_server(home) as pid:
        time.sleep(2)
        return cpu_percent(pid, seconds)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=90.0)
    args = parser.parse_args()
    fusion = {
        "simulator_command": ["sleep", "600"],
        "max_concurrent_runs": args.runs,
        "progress_flush_seconds": 0.5,
        "sync_interval_seconds": 1.0,
        "on_shutdown": "cancel",
    }
    with tempfile.TemporaryDirectory(prefix="fusion-idle-bench-") as tmp:
        with running_server(Path(tmp) / "home", fusion=fusion) as server:
            assert server.proc is not None
            ids = start_runs(server, args.runs)
            time.sleep(3)  # the starts' own work settles
            quiet = cpu_percent(server.proc.pid, args.seconds)
            print(
                f"1. {args.runs} active runs, no client: server CPU {quiet:.3f} % of a core "
                f"over {args.seconds:g} s",
                flush=True,
            )
            followers = [
                Follower([WsStream(server, run_id, ("progress", "logs"), Collector())])
                for run_id in ids[: args.clients]
            ]
            time.sleep(3)
            streamed = cpu_percent(server.proc.pid, args.seconds)
            for follower in followers:
                follower.close()
            print(
                f"2. {args.runs} active runs, {len(followers)} idle WebSocket clients "
                f"(each following a run): server CPU {streamed:.3f} % over {args.seconds:g} s",
                flush=True,
            )
        plain = plain_server_cpu(Path(tmp) / "plain", args.seconds)
        print(f"3. plain jupyter server, no extension: {plain:.3f} % over {args.seconds:g} s")


if __name__ == "__main__":
    main()
