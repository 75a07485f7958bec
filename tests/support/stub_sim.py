#!/usr/bin/env python3
"""A small, controllable simulator for the tests (stdlib only).

    python tests/support/stub_sim.py run_sim --config_path C --run_id ID \\
        [--output_dir D] [--progress_file P] [behaviour flags]

It writes progress events in the DESIGN §3 format to ``--progress_file`` (one JSON
object a line, each line written with a single append and flushed), human log lines
to stdout, and FUSION-format ``<erlang>_erlang.json`` files plus a ``results.csv``
to ``--output_dir``.

Every behaviour flag can also come from the config file: a ``[stub]`` section whose
keys are the flag names with underscores (``exit_code = 3``, ``kill_self = SIGSEGV``,
``grandchild = True``); the command line wins. The Erlang points and iteration count
default to the config's ``general_settings`` (``erlang_start/stop/step``,
``max_iters``).

Order of what it does:
  pid file -> SIGTERM disposition -> grandchild -> stdout/stderr lines -> "start" event
  -> ready file -> --wait-for -> per Erlang: "erlang_start", per iteration: sleep
  --delay, "iteration" (+ output JSON), then "erlang_complete" (+ results.csv)
  -> --wait-before-exit -> end: --kill-self signal, or --exit-code != 0 ("error"
  event, traceback on stderr), or "complete" and exit 0.

Event numbers for --partial-line-at / --malformed-line-at count the events written,
from 0 (the "start" event).
"""

from __future__ import annotations

import argparse
import configparser
import contextlib
import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

WAIT_TIMEOUT_EXIT = 3

# (flag, type, default, help); type bool means a switch.
OPTIONS: list[tuple[str, Any, Any, str]] = [
    ("--erlangs", int, None, "number of Erlang points (default: from the config, else 2)"),
    ("--iterations", int, None, "iterations per Erlang point (default: max_iters, else 2)"),
    ("--delay", float, 0.0, "seconds to sleep in each iteration (may be 0)"),
    ("--exit-code", int, 0, "exit code at the end; non-zero writes an error event"),
    ("--kill-self", str, None, "at the end, die by this signal (SIGSEGV, KILL, 9, ...)"),
    ("--stop-after", int, None, "end (as above) after this many iterations in total"),
    ("--grandchild", bool, False, "spawn a lingering process in the same process group"),
    ("--grandchild-pid-file", str, "grandchild.pid", "where to write the grandchild's pid"),
    ("--grandchild-seconds", float, 600.0, "how long the grandchild lingers"),
    ("--ignore-sigterm", bool, False, "ignore SIGTERM (the grandchild inherits this)"),
    ("--pid-file", str, None, "write this process's pid to this file"),
    ("--ready-file", str, None, "create this file once set up and the start event is out"),
    ("--wait-for", str, None, "after the start event, block until this file exists"),
    ("--wait-before-exit", str, None, "after the last iteration, block until this file exists"),
    ("--wait-timeout", float, 300.0, f"give up waiting after this long (exit {WAIT_TIMEOUT_EXIT})"),
    ("--partial-line-at", int, None, "write event N in two halves, pausing in between"),
    ("--partial-line-release", str, None, "the pause lasts until this file exists"),
    ("--partial-line-delay", float, 0.3, "else the pause lasts this many seconds"),
    ("--malformed-line-at", int, None, "write a line that is not JSON before event N"),
    ("--stdout-lines", int, 0, "write this many extra log lines to stdout at start"),
    ("--stderr-lines", int, 0, "write this many extra log lines to stderr at start"),
    ("--no-progress", bool, False, "write no progress file even if --progress_file is given"),
    ("--no-output", bool, False, "write no output files"),
    ("--is-training", bool, False, "FUSION JSON with null blocking_mean/variance/CI"),
]

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", "none", ""}


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def parse_bool(value: str) -> bool:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stub_sim", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run_sim", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    run.add_argument("--config_path", required=True)
    run.add_argument("--run_id", required=True)
    run.add_argument("--output_dir")
    run.add_argument("--progress_file")
    for flag, typ, _default, help_text in OPTIONS:
        if typ is bool:
            run.add_argument(flag, action="store_const", const=True, default=None, help=help_text)
        else:
            run.add_argument(flag, type=typ, default=None, help=help_text)
    return parser


def resolve_options(args: argparse.Namespace, config: configparser.ConfigParser) -> dict[str, Any]:
    """Command line, else the config's [stub] section, else the default."""
    opts: dict[str, Any] = {}
    stub = config["stub"] if config.has_section("stub") else {}
    for flag, typ, default, _help in OPTIONS:
        dest = flag[2:].replace("-", "_")
        value = getattr(args, dest)
        if value is None and dest in stub:
            raw = stub[dest]
            value = parse_bool(raw) if typ is bool else (None if raw in ("", "None") else typ(raw))
        opts[dest] = default if value is None else value
    return opts


def parse_signal(name: str) -> signal.Signals:
    name = name.strip().upper()
    if name.isdigit():
        return signal.Signals(int(name))
    if not name.startswith("SIG"):
        name = "SIG" + name
    return signal.Signals[name]


def config_float(config: configparser.ConfigParser, key: str, default: float) -> float:
    if config.has_option("general_settings", key):
        raw = config.get("general_settings", key)
        if raw not in ("", "None"):
            return float(raw)
    return default


def erlang_points(config: configparser.ConfigParser, count: int | None) -> list[float]:
    start = config_float(config, "erlang_start", 300.0)
    step = config_float(config, "erlang_step", 100.0)
    if count is None:
        stop = config_float(config, "erlang_stop", start + step)
        points: list[float] = []
        value = start
        while value <= stop + 1e-9 and len(points) < 100_000:
            points.append(float(value))
            value += step
        return points
    return [float(start + i * step) for i in range(count)]


def blocking(erlang: float, iteration: int) -> float:
    """Deterministic per-iteration blocking probability (tests can recompute it)."""
    return round(min(0.5, erlang / 25000.0) * (1.0 + 0.1 * ((iteration % 3) - 1)), 6)


def mean_hops(erlang: float) -> float:
    return round(2.0 + erlang / 1000.0, 3)


def summarize(values: list[float]) -> dict[str, float]:
    mean = sum(values) / len(values)
    if len(values) > 1:
        variance = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
        half = 1.96 * math.sqrt(variance / len(values))
    else:
        variance, half = 0.0, 0.0
    return {
        "mean_blocking": round(mean, 6),
        "variance": round(variance, 10),
        "ci_lower": round(mean - half, 6),
        "ci_upper": round(mean + half, 6),
        "ci_half_width": round(half, 6),
    }


def fusion_result(erlang: float, values: list[float], is_training: bool) -> dict[str, Any]:
    """A FUSION-format per-Erlang result (see spec/fusion-contract.md §3)."""
    stats = summarize(values)
    iter_stats = {}
    for i in range(len(values)):
        iter_stats[str(i)] = {
            "sim_block_list": values[: i + 1],
            "sim_br_block_list": [round(v * 0.8, 6) for v in values[: i + 1]],
            "block_reasons_dict": {"distance": 0, "congestion": 1, "xt_threshold": 0},
            "block_bw_dict": {"25": 0, "50": 0, "100": 1, "200": 0, "400": 0},
            "mods_used_dict": {"100": {"QPSK": 3, "16-QAM": 1}},
            "path_index_list": [3, 1, 0],
            "cores_dict": {"0": 4, "1": 0, "2": 0},
            "hops_mean": mean_hops(erlang),
            "hops_min": 1.0,
            "hops_max": 4.0,
            "lengths_mean": 1200.5,
            "lengths_min": 300.0,
            "lengths_max": 2800.0,
            "trans_mean": 1.0,
            "trans_min": 1.0,
            "trans_max": 1.0,
        }
    null_stats = is_training
    percent = (
        stats["ci_half_width"] / stats["mean_blocking"] * 100 if stats["mean_blocking"] else 0.0
    )
    return {
        "iter_stats": iter_stats,
        "link_usage": {
            "0-1": {"usage_count": 4, "throughput": 400.0, "link_num": 1},
            "1-0": {"usage_count": 2, "throughput": 200.0, "link_num": 1},
        },
        "blocking_mean": None if null_stats else stats["mean_blocking"],
        "blocking_variance": None if null_stats else stats["variance"],
        "ci_rate_block": None if null_stats else stats["ci_half_width"],
        "ci_percent_block": None if null_stats else round(percent, 4),
        "bit_rate_blocking_mean": None if null_stats else round(stats["mean_blocking"] * 0.8, 6),
        "bit_rate_blocking_variance": None if null_stats else stats["variance"],
        "ci_rate_bit_rate_block": None if null_stats else stats["ci_half_width"],
        "ci_percent_bit_rate_block": None if null_stats else round(percent, 4),
        "lightpath_utilization": 0.42,
        "sim_end_time": datetime.now().strftime("%m%d_%H_%M_%S_%f"),
    }


def write_atomic(path: Path, data: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(data, encoding="utf-8")
    os.replace(tmp, path)


def wait_for_file(path: str, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            print(
                f"stub_sim: timed out after {timeout}s waiting for {what} {path}", file=sys.stderr
            )
            sys.exit(WAIT_TIMEOUT_EXIT)
        time.sleep(0.005)


class Progress:
    """Appends events to the progress file, one write() per line."""

    def __init__(self, path: str | None, opts: dict[str, Any]) -> None:
        self.fd: int | None = None
        if path and not opts["no_progress"]:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.opts = opts
        self.count = 0

    def emit(self, kind: str, **fields: Any) -> None:
        if self.fd is None:
            return
        index, self.count = self.count, self.count + 1
        if self.opts["malformed_line_at"] == index:
            os.write(self.fd, b'{"type": "iteration", "erlang": this is not json\n')
        line = json.dumps({"type": kind, "ts": now_iso(), **fields}, separators=(",", ":")) + "\n"
        data = line.encode()
        if self.opts["partial_line_at"] == index:
            half = len(data) // 2
            os.write(self.fd, data[:half])
            if self.opts["partial_line_release"]:
                wait_for_file(
                    self.opts["partial_line_release"], self.opts["wait_timeout"], "release"
                )
            else:
                time.sleep(self.opts["partial_line_delay"])
            os.write(self.fd, data[half:])
        else:
            os.write(self.fd, data)


def spawn_grandchild(opts: dict[str, Any]) -> int:
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; time.sleep(float(sys.argv[1]))",
            str(opts["grandchild_seconds"]),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        close_fds=True,
    )
    write_atomic(Path(opts["grandchild_pid_file"]), f"{child.pid}\n")
    return child.pid


def die_by_signal(sig: signal.Signals) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    with contextlib.suppress(Exception):
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file for SIGSEGV & co
    signal.signal(sig, signal.SIG_DFL)
    os.kill(os.getpid(), sig)
    time.sleep(5)  # a blocked/ignored signal: should not happen with SIG_DFL
    os._exit(128 + int(sig))


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    config = configparser.ConfigParser(interpolation=None)
    with open(args.config_path, encoding="utf-8") as fh:  # FileNotFoundError -> exit 1
        config.read_file(fh)
    opts = resolve_options(args, config)

    if opts["pid_file"]:
        write_atomic(Path(opts["pid_file"]), f"{os.getpid()}\n")
    if opts["ignore_sigterm"]:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if opts["grandchild"]:
        spawn_grandchild(opts)
    for i in range(opts["stdout_lines"]):
        print(f"stub_sim stdout line {i}", flush=True)
    for i in range(opts["stderr_lines"]):
        print(f"stub_sim stderr line {i}", file=sys.stderr, flush=True)

    erlangs = erlang_points(config, opts["erlangs"])
    if opts["iterations"] is not None:
        iterations = opts["iterations"]
    else:
        iterations = int(config_float(config, "max_iters", 2))
    step = (
        erlangs[1] - erlangs[0] if len(erlangs) > 1 else config_float(config, "erlang_step", 100.0)
    )
    progress = Progress(args.progress_file, opts)
    output_dir = Path(args.output_dir) if args.output_dir and not opts["no_output"] else None
    print(
        f"stub_sim: run {args.run_id}: {len(erlangs)} Erlang points x {iterations} iterations",
        flush=True,
    )
    progress.emit(
        "start",
        config={
            "total_erlangs": len(erlangs),
            "total_iterations": iterations,
            "erlang_start": erlangs[0] if erlangs else None,
            "erlang_stop": erlangs[-1] if erlangs else None,
            "erlang_step": step,
        },
    )
    if opts["ready_file"]:
        write_atomic(Path(opts["ready_file"]), f"{os.getpid()}\n")
    if opts["wait_for"]:
        wait_for_file(opts["wait_for"], opts["wait_timeout"], "--wait-for")

    done = 0
    rows: list[dict[str, Any]] = []
    stopped = False
    for index, erlang in enumerate(erlangs):
        progress.emit("erlang_start", erlang=erlang, erlang_index=index, total_erlangs=len(erlangs))
        values: list[float] = []
        for iteration in range(1, iterations + 1):
            if opts["delay"] > 0:
                time.sleep(opts["delay"])
            value = blocking(erlang, iteration)
            values.append(value)
            progress.emit(
                "iteration",
                erlang=erlang,
                iteration=iteration,
                metrics={"blocking_prob": value, "mean_hops": mean_hops(erlang)},
            )
            print(
                f"stub_sim: erlang={erlang} iteration={iteration}/{iterations} blocking={value}",
                flush=True,
            )
            if output_dir is not None:
                result = fusion_result(erlang, values, opts["is_training"])
                write_atomic(output_dir / f"{erlang}_erlang.json", json.dumps(result, indent=4))
            done += 1
            if opts["stop_after"] is not None and done >= opts["stop_after"]:
                stopped = True
                break
        if stopped:
            break
        stats = summarize(values)
        progress.emit(
            "erlang_complete",
            erlang=erlang,
            metrics={k: stats[k] for k in ("mean_blocking", "ci_lower", "ci_upper")},
        )
        rows.append(
            {
                "erlang": erlang,
                "blocking_mean": stats["mean_blocking"],
                "ci_lower": stats["ci_lower"],
                "ci_upper": stats["ci_upper"],
                "iterations": len(values),
            }
        )
        if output_dir is not None:
            write_results_csv(output_dir / "results.csv", rows)

    if opts["wait_before_exit"]:
        wait_for_file(opts["wait_before_exit"], opts["wait_timeout"], "--wait-before-exit")

    if opts["kill_self"]:
        die_by_signal(parse_signal(opts["kill_self"]))
    code = int(opts["exit_code"])
    if code != 0:
        try:
            raise RuntimeError(f"stub_sim: failing on purpose with exit code {code}")
        except RuntimeError as exc:
            text = traceback.format_exc()
            sys.stderr.write(text)
            progress.emit("error", message=str(exc), traceback=text)
        return code
    progress.emit(
        "complete",
        exit_code=0,
        summary={"total_time_seconds": round(time.monotonic() - started, 3)},
    )
    return 0


def write_results_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(
            fh, fieldnames=["erlang", "blocking_mean", "ci_lower", "ci_upper", "iterations"]
        )
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
