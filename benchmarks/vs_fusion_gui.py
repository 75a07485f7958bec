"""fusion_jupyter side by side with FUSION's own GUI backend, both launching the same stub.

    python benchmarks/vs_fusion_gui.py [--rounds 3] [--only latency logs create ...]

FUSION's GUI (``fusion/api``, FastAPI + uvicorn) runs from the FUSION install
(``scripts/install-fusion.sh --gui``: the cached copy and its venv, with the GUI's
packages), patched only so that its run manager launches the stub simulator
(``fusion_gui_stubbed.py``); this server is ``jupyter server`` with the extension.
Both listen on 127.0.0.1 and launch ``stamped_stub.py`` -> tests/support/stub_sim.py
with the same flags and the same interpreter. The measurements alternate between the
two, round by round, and print both figures and how many times better fusion_jupyter
is (``x`` > 1: better, < 1: worse):

  latency   progress line written -> client has it; log line written -> client has it
  logs      log throughput to one client (lines/s) and the server's RSS (start, peak)
  create    POST answered; POST -> the simulator's first line of code
  cancel    cancel request answered (the run's processes gone)
  idle      server CPU with active runs and no client, then with every run streamed
  burst     20 concurrent creates with a limit of 1 running run
  list      one page of 100 runs with 10,000 and 100,000 runs in the database

FUSION's GUI has no notion of a run ending (its runs stay RUNNING), so its main
instance gets a limit it never reaches; its cancel is DELETE (which also removes the
run). Everything it leaves running is killed at the end by the process groups its own
database recorded.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import secrets
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from server_bench import connect, percentile, rss_mb  # noqa: E402

from fusion_jupyter.engine.models import Status  # noqa: E402
from fusion_jupyter.engine.settings import SIM_OPTIONS  # noqa: E402
from tests.support import STUB_SIM, wait_until  # noqa: E402
from tests.support.jupyter import JupyterServer, free_port, running_server  # noqa: E402
from tests.support.seed import seed_runs  # noqa: E402

REPO = HERE.parent
STAMPED = [sys.executable, str(HERE / "stamped_stub.py")]
ITERATION = re.compile(r"iteration=(\d+)/")
Flags = dict[str, Any]
OnMessage = Callable[[str, Any, float], None]  # kind ("progress" | "log"), payload, time


# ---- the two systems --------------------------------------------------------------


class FusionGui:
    """FUSION's GUI backend in its own venv, launching the stub (see module docstring)."""

    name = "FUSION GUI"

    def __init__(self, home: Path, fusion_root: Path, *, limit: int) -> None:
        self.home = home
        self.root = fusion_root
        self.limit = limit
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.rss_at_start = 0.0  # MB, once it answers
        self.flags_file = home / "next_flags.json"
        self.db = home / "runs.db"
        self.runs_dir = home / "runs"

    def start(self) -> FusionGui:
        self.home.mkdir(parents=True, exist_ok=True)
        self.flags_file.write_text("[]")
        spec = self.home / "stub.json"
        spec.write_text(
            json.dumps({"argv": STAMPED, "stub": str(STUB_SIM), "flags_file": str(self.flags_file)})
        )
        env = {
            **os.environ,
            "FUSION_GUI_DATABASE_URL": f"sqlite:///{self.db}",
            "FUSION_GUI_RUNS_DIR": str(self.runs_dir),
            "FUSION_GUI_TEMPLATES_DIR": str(self.root / "fusion/configs/templates"),
            "FUSION_GUI_MAX_CONCURRENT_RUNS": str(self.limit),
        }
        python = self.root.parent / "venv/bin/python"
        with (self.home / "server.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [str(python), str(HERE / "fusion_gui_stubbed.py"), str(self.port), str(spec)],
                cwd=self.home,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        url = self.url("health")
        wait_until(lambda: _answers(url), timeout=60, what="FUSION's GUI to answer")
        self.rss_at_start = rss_mb(self.pid)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/api/{path}"

    def create(self, http: requests.Session, flags: Flags) -> requests.Response:
        self.flags_file.write_text(json.dumps(cli_flags(flags)))
        return http.post(self.url("runs"), json={"template": "default", "name": "bench"})

    def run_dir(self, run_id: str) -> Path:
        return self.runs_dir / run_id

    def cancel(self, http: requests.Session, run_id: str) -> requests.Response:
        return http.delete(self.url(f"runs/{run_id}"))

    def list_page(self, http: requests.Session) -> requests.Response:
        return http.get(self.url("runs"), params={"limit": 100})

    def follow(self, run_id: str, channels: tuple[str, ...], on: OnMessage) -> Follower:
        paths = {"progress": f"/api/runs/{run_id}/progress", "logs": f"/api/runs/{run_id}/logs"}
        streams = [SseStream(self.port, paths[c], c, on) for c in channels]
        return Follower(streams)

    def stop(self) -> None:
        """Kill what its runs left (it never notices them end), then stop the server."""
        with contextlib.suppress(sqlite3.Error), contextlib.closing(sqlite3.connect(self.db)) as db:
            for (pgid,) in db.execute("SELECT pgid FROM runs WHERE pgid IS NOT NULL"):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pgid, signal.SIGKILL)
        _stop(self.proc)

    def seed(self, count: int, first: int) -> None:
        """``count`` finished runs straight into its database (its own table layout)."""
        start = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(seconds=count)
        rows = [
            (
                f"{first + i:012x}",
                f"bulk {first + i}",
                ("COMPLETED", "FAILED", "CANCELLED")[i % 3],
                "{}",
                "default",
                start + timedelta(seconds=i),
            )
            for i in range(count)
        ]
        with contextlib.closing(sqlite3.connect(self.db)) as db:
            db.executemany(
                "INSERT INTO runs (id, name, status, config_json, template, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(*r[:5], r[5].isoformat(sep=" ")) for r in rows],
            )
            db.commit()


class Ours:
    """``jupyter server`` with the extension (tests.support.jupyter), launching the stub."""

    name = "fusion_jupyter"

    def __init__(self, server: JupyterServer) -> None:
        self.server = server
        self.rss_at_start = rss_mb(self.pid)  # MB: running_server returns once it answers

    @staticmethod
    def settings(limit: int) -> dict[str, Any]:
        """The extension's settings: the stub as simulator, engine timings as shipped."""
        return {
            "simulator_command": [
                *STAMPED,
                "{run_dir}/started",
                str(STUB_SIM),
                "run_sim",
                *SIM_OPTIONS,
            ],
            "max_concurrent_runs": limit,
            "progress_flush_seconds": 0.5,
            "sync_interval_seconds": 1.0,
            "cancel_grace_seconds": 5.0,
            "on_shutdown": "cancel",
        }

    @property
    def pid(self) -> int:
        assert self.server.proc is not None
        return self.server.proc.pid

    def create(self, http: requests.Session, flags: Flags) -> requests.Response:
        stub = {k: str(v) for k, v in flags.items()}
        return http.post(
            self.server.url("runs"),
            json={"template": "minimal", "name": "bench", "overrides": {"stub": stub}},
        )

    def run_dir(self, run_id: str) -> Path:
        return self.server.runs_dir / run_id

    def cancel(self, http: requests.Session, run_id: str) -> requests.Response:
        return http.post(self.server.url(f"runs/{run_id}/cancel"))

    def list_page(self, http: requests.Session) -> requests.Response:
        return http.get(self.server.url("runs"), params={"limit": 100})

    def follow(self, run_id: str, channels: tuple[str, ...], on: OnMessage) -> Follower:
        return Follower([WsStream(self.server, run_id, channels, on)])

    def session(self) -> requests.Session:
        return self.server.session()


System = FusionGui | Ours


def cli_flags(flags: Flags) -> list[str]:
    """Stub flags as its command line (``True`` is a switch)."""
    argv: list[str] = []
    for key, value in flags.items():
        argv += [f"--{key.replace('_', '-')}"] + ([] if value is True else [str(value)])
    return argv


def _answers(url: str) -> bool:
    with contextlib.suppress(requests.RequestException):
        return requests.get(url, timeout=1).status_code == 200
    return False


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


# ---- streaming clients ------------------------------------------------------------


class SseStream(threading.Thread):
    """One Server-Sent Events GET, each event handed to ``on`` with its arrival time."""

    def __init__(self, port: int, path: str, kind: str, on: OnMessage) -> None:
        super().__init__(daemon=True)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.conn.request("GET", path, headers={"Accept": "text/event-stream"})
        self.response = self.conn.getresponse()
        self.kind, self.on = kind, on
        self.start()

    def run(self) -> None:
        event, data = "", []
        with contextlib.suppress(OSError, ValueError, AttributeError, http.client.HTTPException):
            while raw := self.response.readline():
                now = time.time()
                line = raw.decode().rstrip("\r\n")
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].removeprefix(" "))
                elif not line and data:
                    text = "\n".join(data)
                    if event == "progress":
                        self.on("progress", json.loads(text), now)
                    elif event == "log":
                        self.on("log", text + "\n", now)
                    event, data = "", []

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self.conn.sock is not None:
                self.conn.sock.shutdown(2)
        self.conn.close()


class WsStream(threading.Thread):
    """Our one WebSocket, subscribed to one run's channels."""

    def __init__(
        self, server: JupyterServer, run_id: str, channels: tuple[str, ...], on: OnMessage
    ) -> None:
        super().__init__(daemon=True)
        self.ws = connect(server)
        # A followed run may be silent for longer than any read timeout (the server's
        # keep-alive pings come every 30 s): close() is what ends the reading.
        self.ws.settimeout(None)
        self.ws.send(json.dumps({"op": "subscribe", "run_id": run_id, "channels": channels}))
        self.on = on
        self.start()

    def run(self) -> None:
        with contextlib.suppress(Exception):  # closed by close(): the end of the stream
            while True:
                frame = self.ws.recv()
                now = time.time()
                for message in json.loads(frame):
                    if message.get("type") == "progress":
                        self.on("progress", message["event"], now)
                    elif message.get("type") == "log":
                        self.on("log", message["data"], now)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.sock.shutdown(2)
        self.ws.close()


class Follower:
    """The streams of one client following one run."""

    def __init__(self, streams: list[SseStream] | list[WsStream]) -> None:
        self.streams = streams

    def close(self) -> None:
        for stream in self.streams:
            stream.close()
        for stream in self.streams:
            stream.join(5)


class Collector:
    """What a follower received: iteration events and iteration log lines, with times."""

    def __init__(self) -> None:
        self.progress: dict[int, float] = {}  # iteration -> latency source (ts, received)
        self.progress_ts: dict[int, float] = {}
        self.log_seen: dict[int, float] = {}
        self._lock = threading.Lock()

    def has_all(self, iteration: int) -> Callable[[], bool]:
        """A predicate: both the event and the log line of ``iteration`` arrived."""
        return lambda: iteration in self.progress and iteration in self.log_seen

    def has_log(self, iteration: int) -> Callable[[], bool]:
        """A predicate: the log line of ``iteration`` arrived."""
        return lambda: iteration in self.log_seen

    def __call__(self, kind: str, payload: Any, now: float) -> None:
        with self._lock:
            if kind == "progress" and payload.get("type") == "iteration":
                i = int(payload["iteration"])
                self.progress[i] = now
                self.progress_ts[i] = iso_seconds(payload["ts"])
            elif kind == "log":
                for match in ITERATION.finditer(payload):
                    self.log_seen.setdefault(int(match.group(1)), now)


def iso_seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def written_at(run_dir: Path) -> dict[int, float]:
    """When the stub wrote each iteration (its progress events' ``ts``)."""
    out: dict[int, float] = {}
    for line in (run_dir / "progress.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event.get("type") == "iteration":
            out[int(event["iteration"])] = iso_seconds(event["ts"])
    return out


# ---- measurements -------------------------------------------------------------------


def pair_order(systems: list[System], round_no: int) -> list[System]:
    """Alternate who goes first, round by round."""
    return systems if round_no % 2 == 0 else systems[::-1]


def new_run(system: System, http: requests.Session, flags: Flags) -> str:
    answer = system.create(http, flags)
    answer.raise_for_status()
    return str(answer.json()["id"])


def started_stamp(system: System, run_id: str, timeout: float = 30) -> float:
    path = system.run_dir(run_id) / "started"
    wait_until(path.exists, timeout=timeout, what=f"{system.name} run {run_id} to start")
    return float(path.read_text())


def measure_latency(systems: list[System], rounds: int, events: int) -> dict[str, Any]:
    out: dict[str, dict[str, list[float]]] = {s.name: {"progress": [], "log": []} for s in systems}
    for r in range(rounds):
        for system in pair_order(systems, r):
            http = requests.Session() if isinstance(system, FusionGui) else system.session()
            gate = Path(tempfile.gettempdir()) / f"vsgui-gate-{secrets.token_hex(4)}"
            flags = {"erlangs": 1, "iterations": events, "delay": 0.02, "no_output": True}
            run_id = new_run(system, http, {**flags, "wait_for": gate})
            started_stamp(system, run_id)
            got = Collector()
            follower = system.follow(run_id, ("progress", "logs"), got)
            time.sleep(0.5)  # both subscriptions in place before the first line
            gate.touch()
            wait_until(got.has_all(events), timeout=60, what=f"{system.name}: every event")
            follower.close()
            gate.unlink()
            written = written_at(system.run_dir(run_id))
            out[system.name]["progress"] += [
                got.progress[i] - got.progress_ts[i] for i in got.progress
            ]
            out[system.name]["log"] += [got.log_seen[i] - written[i] for i in got.log_seen]
    return out


def measure_logs(systems: list[System], rounds: int, lines: int) -> dict[str, Any]:
    out: dict[str, dict[str, list[float]]] = {
        s.name: {"rate": [], "rss_start": [], "rss_peak": []} for s in systems
    }
    for system in systems:
        out[system.name]["rss_start"].append(system.rss_at_start)
    for r in range(rounds):
        for system in pair_order(systems, r):
            http = requests.Session() if isinstance(system, FusionGui) else system.session()
            gate = Path(tempfile.gettempdir()) / f"vsgui-gate-{secrets.token_hex(4)}"
            flags = {"erlangs": 1, "iterations": lines, "delay": 0, "no_output": True}
            run_id = new_run(system, http, {**flags, "wait_for": gate})
            started_stamp(system, run_id)
            got = Collector()
            follower = system.follow(run_id, ("logs",), got)
            time.sleep(0.5)
            with rss_peak(system.pid) as peak:
                began = time.time()
                gate.touch()
                wait_until(got.has_log(lines), timeout=120, what=f"{system.name}: the log")
            follower.close()
            gate.unlink()
            out[system.name]["rate"].append(lines / (got.log_seen[lines] - began))
            out[system.name]["rss_peak"].append(max(peak))
    return out


@contextlib.contextmanager
def rss_peak(pid: int) -> Iterator[list[float]]:
    samples = [rss_mb(pid)]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.05):
            samples.append(rss_mb(pid))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        stop.set()
        thread.join()


def measure_create(systems: list[System], rounds: int) -> dict[str, Any]:
    out: dict[str, dict[str, list[float]]] = {s.name: {"post": [], "first": []} for s in systems}
    sessions = {
        s.name: requests.Session() if isinstance(s, FusionGui) else s.session() for s in systems
    }
    flags = {"erlangs": 1, "iterations": 1, "no_output": True}
    for r in range(rounds):
        for system in pair_order(systems, r):
            began = time.time()
            answer = system.create(sessions[system.name], flags)
            answered = time.time()
            answer.raise_for_status()
            first = started_stamp(system, str(answer.json()["id"]))
            out[system.name]["post"].append(answered - began)
            out[system.name]["first"].append(first - began)
    return out


def measure_cancel(systems: list[System], rounds: int) -> dict[str, Any]:
    out: dict[str, dict[str, list[float]]] = {s.name: {"cancel": []} for s in systems}
    flags = {"erlangs": 1, "iterations": 1, "delay": 600, "no_output": True}
    for r in range(rounds):
        for system in pair_order(systems, r):
            http = requests.Session() if isinstance(system, FusionGui) else system.session()
            run_id = new_run(system, http, flags)
            started_stamp(system, run_id)
            progress = system.run_dir(run_id) / "progress.jsonl"
            wait_until(progress.exists, timeout=30, what="the stub's first event")
            began = time.perf_counter()
            system.cancel(http, run_id).raise_for_status()
            out[system.name]["cancel"].append(time.perf_counter() - began)
    return out


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_percent(pid: int, seconds: float) -> float:
    """The process's CPU over ``seconds`` (all threads), in % of one core."""
    before, began = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / (time.monotonic() - began) * 100


def measure_idle(systems: list[System], runs: int, seconds: float) -> dict[str, Any]:
    out: dict[str, dict[str, list[float]]] = {}
    flags = {"erlangs": 1, "iterations": 1, "delay": 600, "no_output": True}
    for system in systems:
        http = requests.Session() if isinstance(system, FusionGui) else system.session()
        ids = [new_run(system, http, flags) for _ in range(runs)]
        for run_id in ids:
            started_stamp(system, run_id)
        time.sleep(2)  # the starts' own work settles
        quiet = cpu_percent(system.pid, seconds)
        followers = [system.follow(run_id, ("progress", "logs"), Collector()) for run_id in ids]
        time.sleep(2)
        streamed = cpu_percent(system.pid, seconds)
        for follower in followers:
            follower.close()
        for run_id in ids:
            with contextlib.suppress(requests.RequestException):
                if isinstance(system, Ours):
                    system.cancel(http, run_id)
        out[system.name] = {"quiet": [quiet], "streamed": [streamed]}
    return out


def burst_once(system: System, count: int, flags: Flags) -> list[tuple[float, int, str]]:
    """``count`` creates released at once; (seconds to answer, status code, run id) each."""
    barrier = threading.Barrier(count)
    answers: list[tuple[float, int, str]] = []
    lock = threading.Lock()

    def one() -> None:
        http = requests.Session() if isinstance(system, FusionGui) else system.session()
        barrier.wait()
        began = time.perf_counter()
        answer = system.create(http, flags)
        with lock:
            run_id = answer.json().get("id", "") if answer.ok else ""
            answers.append((time.perf_counter() - began, answer.status_code, run_id))

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return answers


def all_ended(system: Ours, run_ids: list[str]) -> Callable[[], bool]:
    http = system.session()
    return lambda: all(
        http.get(system.server.url(f"runs/{i}")).json()["status"] in TERMINAL for i in run_ids
    )


def measure_burst(systems: list[System], count: int) -> dict[str, Any]:
    out: dict[str, dict[str, Any]] = {}
    flags = {"erlangs": 1, "iterations": 1, "delay": 0.05, "no_output": True}
    for system in systems:
        began = time.perf_counter()
        answers = burst_once(system, count, flags)
        all_answered = time.perf_counter() - began
        accepted = [run_id for _, code, run_id in answers if code == 201]
        finished = None
        if isinstance(system, Ours):
            wait_until(all_ended(system, accepted), timeout=120, interval=0.05, what="the burst")
            finished = time.perf_counter() - began
        out[system.name] = {
            "answered": [t for t, _, _ in answers],
            "all_answered": [all_answered],
            "accepted": len(accepted),
            "refused": sum(code != 201 for _, code, _ in answers),
            "finished": finished,
        }
    return out


TERMINAL = {Status.COMPLETED.value, Status.FAILED.value, Status.CANCELLED.value}


def measure_list(systems: list[System], sizes: list[int], requests_each: int) -> dict[str, Any]:
    out: dict[str, dict[str, list[float]]] = {s.name: {} for s in systems}
    seeded = 0
    for size in sizes:
        for system in systems:
            if isinstance(system, FusionGui):
                system.seed(size - seeded, seeded)
            else:
                seed_runs(
                    f"sqlite:///{system.server.home / 'runs.db'}",
                    size - seeded,
                    first=seeded,
                    runs_dir=Path("/nonexistent"),
                    name="bulk",
                    statuses=(Status.COMPLETED, Status.FAILED, Status.CANCELLED),
                )
        seeded = size
        for system in systems:
            out[system.name][f"time{size}"] = []
            out[system.name][f"bytes{size}"] = []
        sessions = {
            s.name: requests.Session() if isinstance(s, FusionGui) else s.session() for s in systems
        }
        for r in range(requests_each):
            for system in pair_order(systems, r):
                began = time.perf_counter()
                answer = system.list_page(sessions[system.name])
                elapsed = time.perf_counter() - began
                answer.raise_for_status()
                assert len(answer.json()["runs"]) == 100, answer.text[:200]
                out[system.name][f"time{size}"].append(elapsed)
                out[system.name][f"bytes{size}"].append(len(answer.content))
    return out


# ---- printing --------------------------------------------------------------------------


def ms(value: float) -> str:
    return f"{value * 1000:.1f} ms"


def row(
    label: str, theirs: float, ours: float, fmt: Callable[[float], str], *, higher: bool = False
) -> None:
    """One line: both figures and how many times better ours is."""
    num, den = (ours, theirs) if higher else (theirs, ours)
    # A zero (no CPU at all while idle) has no ratio: say whose figure it is.
    zero = "both 0" if not num else ("theirs 0" if higher else "ours 0")
    times = f"{num / den:7.2f}x" if den else f"{zero:>8}"
    print(f"  {label:<44} {fmt(theirs):>16} {fmt(ours):>16}   {times}", flush=True)


def header(title: str) -> None:
    print(f"\n{title}\n  {'':<44} {'FUSION GUI':>16} {'fusion_jupyter':>16}   {'ours better':>8}")


def p(values: list[float], q: float) -> float:
    return percentile(values, q)


def mb(value: float) -> str:
    return f"{value:.0f} MB"


def percent(value: float) -> str:
    return f"{value:.3f} %"


def kb(value: float) -> str:
    return f"{value / 1000:.1f} KB"


def rate(value: float) -> str:
    return f"{value:,.0f}/s"


def print_results(name: str, result: dict[str, Any], gui: str, ours: str) -> None:
    theirs_r, ours_r = result[gui], result[ours]

    def both(key: str, pick: Callable[[list[float]], float]) -> tuple[float, float]:
        return pick(theirs_r[key]), pick(ours_r[key])

    def p50(values: list[float]) -> float:
        return p(values, 50)

    def p99(values: list[float]) -> float:
        return p(values, 99)

    def first(values: list[float]) -> float:
        return values[0]

    if name == "latency":
        header("Latency: line written by the simulator -> client has it")
        for key, label in (("progress", "progress event"), ("log", "log line")):
            count = len(ours_r[key])
            row(f"{label} p50 (n={count})", *both(key, p50), ms)
            row(f"{label} p99", *both(key, p99), ms)
    elif name == "logs":
        header("Log throughput to one client, and the server's RSS")
        row("log lines/s (best round)", *both("rate", max), rate, higher=True)
        row("RSS at start", *both("rss_start", first), mb)
        row("RSS peak while streaming", *both("rss_peak", max), mb)
    elif name == "create":
        header("Create")
        row(f"POST answered p50 (n={len(ours_r['post'])})", *both("post", p50), ms)
        row("POST answered p99", *both("post", p99), ms)
        row("POST -> simulator's first line p50", *both("first", p50), ms)
        row("POST -> simulator's first line p99", *both("first", p99), ms)
    elif name == "cancel":
        header("Cancel a running run (answered once its processes are gone)")
        row(f"cancel p50 (n={len(ours_r['cancel'])})", *both("cancel", p50), ms)
        row("cancel max", *both("cancel", max), ms)
    elif name == "idle":
        header("Idle CPU of the server process (% of one core)")
        row("active runs, no client", *both("quiet", first), percent)
        row("active runs, each streamed (progress + logs)", *both("streamed", first), percent)
    elif name == "burst":
        header("Concurrent creates with a limit of 1 running run")
        text_row(
            f"accepted (201) of {len(ours_r['answered'])}", theirs_r["accepted"], ours_r["accepted"]
        )
        text_row("refused", theirs_r["refused"], ours_r["refused"])
        row("every POST answered", *both("all_answered", first), ms)
        row("POST answered p99", *both("answered", p99), ms)
        text_row("all accepted runs ended (ours: queued)", "never", ms(ours_r["finished"]))
    elif name == "list":
        header("GET one page of 100 runs")
        for size in sorted(int(k[4:]) for k in ours_r if k.startswith("time")):
            row(f"{size:,} runs in the database, p50", *both(f"time{size}", p50), ms)
            row(f"{size:,} runs in the database, p99", *both(f"time{size}", p99), ms)
            row(f"{size:,} runs: page size", *both(f"bytes{size}", first), kb)


def text_row(label: str, theirs: object, ours: object) -> None:
    print(f"  {label:<44} {theirs!s:>16} {ours!s:>16}", flush=True)


# ---- main -------------------------------------------------------------------------------

ALL = ("latency", "logs", "create", "cancel", "idle", "burst", "list")


def install_fusion_gui() -> Path:
    """The FUSION install with its GUI's packages; returns FUSION's root."""
    sim = subprocess.run(
        ["bash", str(REPO / "scripts/install-fusion.sh"), "--gui"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return Path(sim).parent.parent.parent / "src"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each interleaved measure")
    parser.add_argument("--events", type=int, default=100, help="events per latency round")
    parser.add_argument("--log-lines", type=int, default=20_000)
    parser.add_argument("--creates", type=int, default=30, help="creates per system")
    parser.add_argument("--cancels", type=int, default=4, help="cancels per system")
    parser.add_argument(
        "--idle-runs",
        type=int,
        default=5,
        help="FUSION holds a DB connection (15 at most) a stream",
    )
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--list-sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--only", nargs="+", choices=ALL, default=list(ALL))
    args = parser.parse_args()
    root = install_fusion_gui()
    print(
        f"fusion_jupyter vs FUSION's GUI backend ({root}), same stub simulator, "
        f"127.0.0.1; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f} at start",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="vs-fusion-gui-") as tmp:
        base = Path(tmp)
        main_phase = [m for m in args.only if m not in ("burst", "list")]
        if main_phase:
            gui = FusionGui(base / "gui", root, limit=1_000_000)
            try:
                gui.start()
                with running_server(base / "ours", fusion=Ours.settings(64)) as server:
                    systems: list[System] = [gui, Ours(server)]
                    for name in main_phase:
                        result = MEASURES[name](systems, args)
                        print_results(name, result, gui.name, Ours.name)
            finally:
                gui.stop()
        if "burst" in args.only or "list" in args.only:
            gui = FusionGui(base / "gui1", root, limit=1)
            try:
                gui.start()
                with running_server(base / "ours1", fusion=Ours.settings(1)) as server:
                    systems = [gui, Ours(server)]
                    for name in ("burst", "list"):
                        if name in args.only:
                            result = MEASURES[name](systems, args)
                            print_results(name, result, gui.name, Ours.name)
            finally:
                gui.stop()
    print(
        f"\nload {os.getloadavg()[0]:.2f} at the end (2 cores shared with other work: "
        "timings are pessimistic)"
    )


MEASURES: dict[str, Callable[[list[System], argparse.Namespace], dict[str, Any]]] = {
    "latency": lambda s, a: measure_latency(s, a.rounds, a.events),
    "logs": lambda s, a: measure_logs(s, a.rounds, a.log_lines),
    "create": lambda s, a: measure_create(s, a.creates),
    "cancel": lambda s, a: measure_cancel(s, a.cancels),
    "idle": lambda s, a: measure_idle(s, a.idle_runs, a.idle_seconds),
    "burst": lambda s, a: measure_burst(s, a.burst),
    "list": lambda s, a: measure_list(s, a.list_sizes, 30),
}


if __name__ == "__main__":
    main()
