"""Server benchmark: a real ``jupyter server`` with the extension, measured from outside.

    python benchmarks/server_bench.py [--log-mb 200] [--clients 100] [--events 1000]
        [--runs-in-db 100000] [--posts 200] [--only 3 5]

Prints:
  1. progress line written -> WebSocket client has it: p50 / p99 latency
  2. log streaming to one client: lines/s, and the server's RSS while the log streams
  3. --clients WebSocket clients on one busy run (minimal RFC 6455 clients in 2 worker
     processes): all get every event? p99 latency
  4. POST runs: p50 / p99
  5. GET runs (one page of 100) with --runs-in-db runs in the database: p50 / p99

The simulator is a small script written by this benchmark: it stamps each progress
line with the wall-clock time it was written, so the client measures the whole path
(file -> inotify -> engine -> hub -> WebSocket frame -> client).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests
import websocket

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fusion_jupyter.engine.models import Status
from tests.support.jupyter import JupyterServer, running_server
from tests.support.seed import seed_runs

HERE = Path(__file__).resolve()

BENCH_SIM = r"""
import configparser, json, os, sys, time
progress_file, config_path = sys.argv[1], sys.argv[2]
cfg = configparser.ConfigParser(interpolation=None)
cfg.read(config_path)
bench = cfg["bench"] if cfg.has_section("bench") else {}
mode = bench.get("mode", "quick")
fd = os.open(progress_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
def event(kind, **fields):
    fields.update(type=kind, ts="2024-01-01T00:00:00Z", t=time.time())
    os.write(fd, (json.dumps(fields) + "\n").encode())
event("start", config={})
if os.path.exists(bench.get("gate", "/nonexistent")) is False and bench.get("gate"):
    while not os.path.exists(bench["gate"]):
        time.sleep(0.001)
if mode in ("progress", "busy"):
    count, interval = int(bench["count"]), float(bench["interval"])
    for i in range(count):
        event("iteration", iteration=i, erlang=300.0, total_iterations=count)
        time.sleep(interval)
elif mode == "log":
    line = ("x" * 60 + " log line %09d\n")
    total = int(float(bench["mb"]) * 1_000_000)
    written, n = 0, 0
    out = sys.stdout
    while written < total:
        chunk = "".join(line % (n + k) for k in range(1000))
        out.write(chunk)
        written += len(chunk)
        n += 1000
    out.flush()
event("complete", exit_code=0)
"""


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def ms(values: list[float]) -> str:
    return f"p50 {percentile(values, 50) * 1000:.2f} ms, p99 {percentile(values, 99) * 1000:.2f} ms"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int, tid: int | None = None) -> float:
    """CPU time (user + system) of process ``pid``, or of its thread ``tid``."""
    path = f"/proc/{pid}/task/{tid}/stat" if tid is not None else f"/proc/{pid}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def create(server: JupyterServer, http: requests.Session, bench: dict[str, Any]) -> str:
    body = {"template": "minimal", "overrides": {"bench": bench}}
    answer = http.post(server.url("runs"), json=body)
    answer.raise_for_status()
    return str(answer.json()["id"])


def connect(server: JupyterServer) -> websocket.WebSocket:
    # websocket-client checks UTF-8 in pure Python (4 MB/s): the client, not the server,
    # would be measured. Python's json.loads checks the text anyway.
    return websocket.create_connection(
        server.ws_url(), header=server.headers, timeout=30, skip_utf8_validation=True
    )


def wait_done(server: JupyterServer, http: requests.Session, run_id: str) -> None:
    while http.get(server.url(f"runs/{run_id}")).json()["status"] in ("PENDING", "RUNNING"):
        time.sleep(0.05)


def follow(ws: websocket.WebSocket, run_id: str, count: int, out: list[float]) -> None:
    """Receive ``count`` iteration events of ``run_id``; append each one's latency."""
    seqs: list[int] = []
    while len(seqs) < count:
        try:
            frame = ws.recv()
            messages = json.loads(frame)
        except (websocket.WebSocketException, OSError, ValueError) as exc:
            missing = sorted(set(range(seqs[0], seqs[0] + count)) - set(seqs)) if seqs else []
            print(
                f"   a client stopped after {len(seqs)}/{count} events ({exc!r}); "
                f"first seq {seqs[:1]}, missing {missing[:5]}..., close {ws.close_frame!r}"
            )
            return
        for message in messages:
            if message.get("type") == "progress" and message["event"]["type"] == "iteration":
                out.append(time.time() - message["event"]["t"])
                seqs.append(message["seq"])
            elif message.get("type") not in ("progress", "run_progress", "status", "subscribed"):
                print(f"   note: {str(message)[:200]}")


def gated(home: Path, bench: dict[str, Any]) -> tuple[dict[str, Any], Path]:
    gate = home / f"gate-{secrets.token_hex(4)}"
    return {**bench, "gate": str(gate)}, gate


def bench_latency(server: JupyterServer, events: int) -> None:
    http = server.session()
    bench, gate = gated(server.home, {"mode": "progress", "count": events, "interval": 0.005})
    run_id = create(server, http, bench)
    ws = connect(server)
    ws.send(json.dumps({"op": "subscribe", "run_id": run_id, "channels": ["progress"]}))
    gate.touch()
    latencies: list[float] = []
    follow(ws, run_id, events, latencies)
    ws.close()
    print(f"1. progress line -> WebSocket client ({events} events, 1 client): {ms(latencies)}")


def bench_logs(server: JupyterServer, log_mb: float) -> None:
    http = server.session()
    bench, gate = gated(server.home, {"mode": "log", "mb": log_mb})
    run_id = create(server, http, bench)
    ws = connect(server)
    ws.send(json.dumps({"op": "subscribe", "run_id": run_id, "channels": ["logs"]}))
    assert server.proc is not None
    base = rss_mb(server.proc.pid)
    peak, stop = [base], threading.Event()

    def sample() -> None:
        while not stop.wait(0.05):
            peak.append(rss_mb(server.proc.pid))  # type: ignore[union-attr]

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    gate.touch()
    total = int(log_mb * 1_000_000)
    received, lines, start = 0, 0, None
    while received < total:
        for message in json.loads(ws.recv()):
            if message.get("type") == "log":
                start = start or time.monotonic()
                received += message["next_offset"] - message["offset"]
                lines += message["data"].count("\n")
    elapsed = time.monotonic() - (start or time.monotonic())
    stop.set()
    sampler.join()
    ws.close()
    wait_done(server, http, run_id)
    print(
        f"2. log streaming to one client: {log_mb:g} MB, {lines} lines in {elapsed:.2f} s = "
        f"{lines / elapsed:,.0f} lines/s ({received / elapsed / 1e6:.0f} MB/s); "
        f"server RSS {base:.0f} MB before, peak {max(peak):.0f} MB while streaming"
    )


FANOUT_WORKERS = 2


class RawClient:
    """A minimal RFC 6455 client on a plain socket: it records each text frame's bytes
    and arrival time, and parses them only at the end.

    A full client library costs a Python task and a queue per frame; with 50 clients a
    process that queueing, not the server, set the latency tail.
    """

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        import base64
        import socket
        import urllib.parse

        parts = urllib.parse.urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {parts.path}{'?' + parts.query if parts.query else ''} HTTP/1.1",
            f"Host: {parts.netloc}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            *(f"{name}: {value}" for name, value in headers.items()),
        ]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += self.sock.recv(4096)
        head, _, self.buffer = answer.partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"no WebSocket: {head[:200]!r}")
        self.sock.setblocking(False)
        self.frames: list[tuple[float, bytes]] = []
        self.iterations = 0
        self.subscribed = False
        self._frames(time.time())  # a frame may have come with the answer

    def send_text(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        assert len(payload) < 126
        self.sock.setblocking(True)
        self.sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + masked)
        self.sock.setblocking(False)

    def read(self) -> None:
        """Take what the socket has; note each whole frame with this moment."""
        try:
            data = self.sock.recv(1 << 20)
        except BlockingIOError:
            return
        self.buffer += data
        self._frames(time.time())

    def _frames(self, now: float) -> None:
        while len(self.buffer) >= 2:
            size, at = self.buffer[1] & 0x7F, 2
            if size == 126:
                size, at = int.from_bytes(self.buffer[2:4], "big"), 4
            elif size == 127:
                size, at = int.from_bytes(self.buffer[2:10], "big"), 10
            if len(self.buffer) < at + size:
                return
            opcode, payload = self.buffer[0] & 0x0F, self.buffer[at : at + size]
            self.buffer = self.buffer[at + size :]
            if opcode == 1:
                self.frames.append((now, payload))
                self.iterations += payload.count(b'"type":"iteration"')
                self.subscribed = self.subscribed or b'"type":"subscribed"' in payload


def _fanout_clients(
    url: str, headers: dict[str, str], run_id: str, clients: int, events: int
) -> dict[str, Any]:
    """``clients`` raw WebSocket clients; says READY once all are subscribed."""
    import selectors

    socks = [RawClient(url, headers) for _ in range(clients)]
    selector = selectors.DefaultSelector()
    for client in socks:
        selector.register(client.sock, selectors.EVENT_READ, client)
        op = {"op": "subscribe", "run_id": run_id, "channels": ["progress"]}
        client.send_text(json.dumps(op))

    def pump(until: Any, what: str) -> None:
        deadline = time.monotonic() + 60
        while not until():
            if time.monotonic() > deadline:
                print(f"   clients stopped waiting for {what}", flush=True)
                return
            for key, _mask in selector.select(1):
                key.data.read()

    pump(lambda: all(c.subscribed for c in socks), "their subscriptions")
    print("READY", flush=True)
    pump(lambda: all(c.iterations >= events for c in socks), "every event")
    latencies: list[float] = []
    counts: list[int] = []
    for client in socks:
        seqs: set[int] = set()
        for now, payload in client.frames:
            for message in json.loads(payload):
                if message.get("type") == "progress" and message["event"]["type"] == "iteration":
                    latencies.append(now - message["event"]["t"])
                    seqs.add(message["seq"])
        counts.append(len(seqs))
        client.sock.close()
    return {
        "latencies": latencies,
        "counts": counts,
        "frames": [len(client.frames) for client in socks],
    }


def fanout_worker(argv: list[str]) -> None:
    """``server_bench.py fanout-worker URL HEADERS_JSON RUN_ID CLIENTS EVENTS``."""
    url, headers, run_id, clients, events = argv
    result = _fanout_clients(url, json.loads(headers), run_id, int(clients), int(events))
    print(json.dumps(result), flush=True)


def bench_fanout(server: JupyterServer, clients: int, events: int) -> None:
    # The clients run in their own processes (minimal clients, see RawClient): 100
    # Python threads in this process would measure their own GIL queue, not the server.
    import subprocess

    http = server.session()
    bench, gate = gated(server.home, {"mode": "busy", "count": events, "interval": 0.002})
    run_id = create(server, http, bench)
    shares = [
        clients // FANOUT_WORKERS + (i < clients % FANOUT_WORKERS) for i in range(FANOUT_WORKERS)
    ]
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                str(HERE),
                "fanout-worker",
                server.ws_url(),
                json.dumps(server.headers),
                run_id,
                str(n),
                str(events),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in shares
        if n
    ]
    for worker in workers:  # every client subscribed before the first event
        assert worker.stdout is not None
        while (line := worker.stdout.readline()) and line.strip() != "READY":
            print(line, end="")
    assert server.proc is not None
    pid = server.proc.pid  # its main thread (tid = pid) runs the event loop
    loop_cpu, all_cpu, begin = cpu_seconds(pid, pid), cpu_seconds(pid), time.monotonic()
    gate.touch()
    latencies: list[float] = []
    counts: list[int] = []
    frames: list[int] = []
    outputs = [worker.communicate(timeout=180)[0] for worker in workers]
    elapsed = time.monotonic() - begin
    loop_cpu, all_cpu = cpu_seconds(pid, pid) - loop_cpu, cpu_seconds(pid) - all_cpu
    for out in outputs:
        lines = out.strip().splitlines()
        print("".join(f"{line}\n" for line in lines[:-1]), end="")
        result = json.loads(lines[-1])
        latencies += result["latencies"]
        counts += result["counts"]
        frames += result["frames"]
    complete = sum(n == events for n in counts)
    print(
        f"3. {clients} WebSocket clients ({len(workers)} client processes), one busy run "
        f"({events} events at 500/s): {complete}/{clients} got every event; latency {ms(latencies)}"
    )
    print(
        f"   server CPU over those {elapsed:.2f} s: event loop {loop_cpu / elapsed:.0%} of a "
        f"core ({loop_cpu:.2f} s), whole process {all_cpu / elapsed:.0%} ({all_cpu:.2f} s); "
        f"{sum(frames) / max(1, len(frames)):.0f} frames a client"
    )


def bench_post(server: JupyterServer, posts: int) -> None:
    http = server.session()
    times = []
    for _ in range(posts):
        begin = time.perf_counter()
        answer = http.post(server.url("runs"), json={"template": "minimal", "name": "bench"})
        times.append(time.perf_counter() - begin)
        answer.raise_for_status()
    print(f"4. POST runs ({posts} sequential): {ms(times)}")


def bench_list(server: JupyterServer, count: int) -> None:
    http = server.session()
    cases = {
        "first page": {"limit": 100},
        "status=FAILED": {"limit": 100, "status": "FAILED"},
        "tag=group3": {"limit": 100, "tag": "group3"},
    }
    cursor = http.get(server.url("runs"), params={"limit": 500}).json()["next_cursor"]
    cases["a later page (cursor)"] = {"limit": 100, "cursor": cursor}
    for label, params in cases.items():
        times = []
        for _ in range(50):
            begin = time.perf_counter()
            answer = http.get(server.url("runs"), params=params)
            times.append(time.perf_counter() - begin)
            assert len(answer.json()["runs"]) == 100
        print(f"5. GET runs, {label}, {count:,} runs in the database: {ms(times)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--log-mb", type=float, default=200.0, help="size of the streamed log")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--runs-in-db", type=int, default=100_000)
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument(
        "--fanout-share",
        type=float,
        help="the server's ws_fanout_share (default: the server's default)",
    )
    parser.add_argument(
        "--only", type=int, nargs="+", choices=range(1, 6), help="run only these (1-5)"
    )
    args = parser.parse_args()
    only = set(args.only or range(1, 6))
    with tempfile.TemporaryDirectory(prefix="fusion-server-bench-") as tmp:
        home = Path(tmp) / "home"
        sim = Path(tmp) / "bench_sim.py"
        sim.write_text(BENCH_SIM)
        fusion = {
            "simulator_command": [sys.executable, str(sim), "{progress_file}", "{config_path}"],
            "max_concurrent_runs": 8,
            "progress_flush_seconds": 0.5,
            "sync_interval_seconds": 1.0,
        }
        if args.fanout_share is not None:
            fusion["ws_fanout_share"] = args.fanout_share
        with running_server(home, fusion=fusion) as server:
            if 1 in only:
                bench_latency(server, args.events)
            if 2 in only:
                bench_logs(server, args.log_mb)
            if 3 in only:
                bench_fanout(server, args.clients, args.events)
            if 4 in only:
                bench_post(server, args.posts)
        if 5 not in only:
            return
        db_url = f"sqlite:///{home / 'runs.db'}"
        seed_runs(
            db_url,
            args.runs_in_db,
            runs_dir=Path("/nonexistent"),
            name="bulk",
            statuses=(Status.COMPLETED, Status.FAILED, Status.CANCELLED),
            tags=lambda i: [f"group{i % 10}"],
        )
        with running_server(home, fusion={**fusion, "max_concurrent_runs": 1}) as server:
            bench_list(server, args.runs_in_db)


if __name__ == "__main__":
    if sys.argv[1:2] == ["fanout-worker"]:
        fanout_worker(sys.argv[2:])
    else:
        main()
