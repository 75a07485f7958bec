#!/usr/bin/env python3
"""A stand-in for FUSION's simulator, as seen from outside (stdlib only).

    python tests/support/fusion_standin.py run_sim --config_path ABS.ini --run_id ID \\
        [--output_dir X] [--progress_file Y]      (accepted and ignored, like FUSION)
        [--max_iters 3 --erlang_start 600 ...]    (flags named like config keys override the INI)

Reproduces what spec/fusion-contract.md records of the real ``fusion-sim run_sim``:
every log record on **stderr** (stdout stays empty) as
``2026-11-22 01:58:30,445 - fusion.core.simulation - INFO - ...``, with the progress
lines of §2 in FUSION's order (``Starting simulation for 300.0 Erlang (load 1/3)``,
``CHILD=s1 iteration=0, done_units=1``, ``Saving to: <dir>``, ...), the
``BATCH SIMULATION SUMMARY`` block whose Blocking/Requests are always 0, and per
Erlang point a FUSION-format ``<erlang>_erlang.json`` under
``<root>/data/output/<network>/<MMDD>/<HH_MM_SS_ffffff>/<thread_num>/`` (rewritten after
iteration 0, every save_step-th iteration and the last). ``is_training = True`` gives
``null`` blocking_mean / variances / CI fields. A relative ``--config_path`` is
resolved against the root, as FUSION does. Exit 0, or 1 with a traceback on stderr.

Stand-in controls (command line > config section ``[standin]`` > environment):

    --fusion-root DIR       [standin] root        FUSION_STANDIN_ROOT
        FUSION's project root (default: $TMPDIR/fusion-standin-root)
    --standin-fail WHEN     [standin] fail        FUSION_STANDIN_FAIL
        "start" (or true): fail before simulating; "iteration": after the first one
    --standin-delay S       [standin] delay       FUSION_STANDIN_DELAY
        seconds per iteration (default 0)
    --standin-early-stop N  [standin] early_stop  FUSION_STANDIN_EARLY_STOP
        "Confidence interval ... reached" after N iterations (not when training)

Per-iteration blocking is deterministic: ``blocking(erlang, i)`` below (i from 0).
"""

from __future__ import annotations

import argparse
import configparser
import json
import logging
import math
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

LOG_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"

log_cfg = logging.getLogger("fusion.utils.logging_config")
log_sim = logging.getLogger("fusion.core.simulation")
log_req = logging.getLogger("fusion.core.request")
log_persist = logging.getLogger("fusion.core.persistence")
log_metrics = logging.getLogger("fusion.core.metrics")

CONTROLS = {  # name: (flag, env)
    "root": ("fusion_root", "FUSION_STANDIN_ROOT"),
    "fail": ("standin_fail", "FUSION_STANDIN_FAIL"),
    "delay": ("standin_delay", "FUSION_STANDIN_DELAY"),
    "early_stop": ("standin_early_stop", "FUSION_STANDIN_EARLY_STOP"),
}


class StandinFailure(RuntimeError):
    pass


def blocking(erlang: float, iteration: int) -> float:
    return round(min(0.5, erlang / 25000.0) * (1.0 + 0.1 * ((iteration % 3) - 1)), 6)


def parse_command_line(argv: list[str]) -> tuple[argparse.Namespace, dict[str, str]]:
    parser = argparse.ArgumentParser(prog="fusion-sim")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run_sim")
    run.add_argument("--config_path", required=True)
    run.add_argument("--run_id", required=True)
    run.add_argument("--output_dir")  # accepted and ignored
    run.add_argument("--progress_file")  # accepted and ignored
    run.add_argument("--fusion-root", dest="fusion_root")
    run.add_argument("--standin-fail", dest="standin_fail")
    run.add_argument("--standin-delay", dest="standin_delay")
    run.add_argument("--standin-early-stop", dest="standin_early_stop")
    args, rest = parser.parse_known_args(argv)
    overrides: dict[str, str] = {}
    i = 0
    while i < len(rest):
        token = rest[i]
        if not token.startswith("--") or len(token) < 3:
            parser.error(f"unexpected argument: {token}")
        if "=" in token:
            key, value = token[2:].split("=", 1)
            i += 1
        else:
            if i + 1 >= len(rest):
                parser.error(f"{token} needs a value")
            key, value = token[2:], rest[i + 1]
            i += 2
        overrides[key] = value
    return args, overrides


class Config:
    """The INI, plus command-line overrides for keys in whatever section holds them."""

    def __init__(self, path: Path, overrides: dict[str, str]) -> None:
        self.parser = configparser.ConfigParser(interpolation=None)
        with path.open(encoding="utf-8") as fh:
            self.parser.read_file(fh)
        for key, value in overrides.items():
            section = next(
                (s for s in self.parser.sections() if self.parser.has_option(s, key)),
                "general_settings",
            )
            if not self.parser.has_section(section):
                self.parser.add_section(section)
            self.parser.set(section, key, value)

    def raw(self, key: str, default: str | None = None) -> str | None:
        for section in self.parser.sections():
            if section != "standin" and self.parser.has_option(section, key):
                return self.parser.get(section, key)
        return default

    def num(self, key: str, default: float) -> float:
        value = self.raw(key)
        return default if value is None or value in ("", "None") else float(value)

    def flag(self, key: str) -> bool:
        return (self.raw(key) or "").strip().lower() in ("true", "1", "yes")


def control(name: str, args: argparse.Namespace, config: Config | None, default: str) -> str:
    flag, env = CONTROLS[name]
    value = getattr(args, flag)
    if value is None and config is not None and config.parser.has_option("standin", name):
        value = config.parser.get("standin", name)
    if value is None:
        value = os.environ.get(env)
    return default if value is None else value


def erlang_points(config: Config) -> list[float]:
    start = config.num("erlang_start", 300)
    stop = config.num("erlang_stop", start)
    step = config.num("erlang_step", 100)
    if step <= 0:
        raise ValueError(f"erlang_step must be positive, got {step}")
    points, value = [], start
    while value <= stop + 1e-9:
        points.append(float(value))
        value += step
    return points


def check_request_distribution(config: Config, num_requests: int) -> None:
    raw = config.raw("request_distribution")
    if not raw or raw == "None":
        return
    dist = json.loads(raw)
    total = sum(int(p * num_requests) for p in dist.values())
    if total != num_requests:
        raise ValueError(
            "The number of requests could not be distributed in the percentage distributed "
            f"input. Please either change the number of requests, or change the percentages "
            f"for the bandwidth values selected. ({total} != {num_requests})"
        )


def fusion_result(erlang: float, values: list[float], is_training: bool) -> dict[str, Any]:
    n = len(values)
    mean = sum(values) / n
    variance = sum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
    ci = 1.645 * math.sqrt(variance / n)
    ci_percent = ci / mean * 100 if mean else 0.0
    iter_stats = {
        str(i): {
            "trans_mean": 1.0,
            "trans_min": 1.0,
            "trans_max": 1.0,
            "hops_mean": 2.4,
            "hops_min": 1.0,
            "hops_max": 4.0,
            "lengths_mean": 1650.25,
            "lengths_min": 350.0,
            "lengths_max": 3300.0,
            "route_times_mean": 0.0003,
            "route_times_min": 0.0001,
            "route_times_max": 0.0012,
            "sim_block_list": values[: i + 1],
            "sim_br_block_list": [round(v * 0.9, 6) for v in values[: i + 1]],
            "block_reasons_dict": {"distance": 0, "congestion": i + 1, "xt_threshold": 0},
            "block_bw_dict": {"25": 0, "50": 0, "100": i + 1, "200": 0, "400": 0},
            "mods_used_dict": {"100": {"QPSK": 10, "16-QAM": 4, "64-QAM": 1}},
            "path_index_list": [12, 3, 1],
            "cores_dict": {"0": 14, "1": 1, "2": 0},
            "start_slot_list": [],
            "end_slot_list": [],
        }
        for i in range(n)
    }
    stats: dict[str, Any] = {
        "blocking_mean": round(mean, 6),
        "blocking_variance": round(variance, 10),
        "ci_rate_block": round(ci, 6),
        "ci_percent_block": round(ci_percent, 4),
        "bit_rate_blocking_mean": round(mean * 0.9, 6),
        "bit_rate_blocking_variance": round(variance * 0.81, 10),
        "ci_rate_bit_rate_block": round(ci * 0.9, 6),
        "ci_percent_bit_rate_block": round(ci_percent, 4),
    }
    if is_training:
        stats = dict.fromkeys(stats)
    return {
        "iter_stats": iter_stats,
        "link_usage": {
            "0-1": {"usage_count": 31, "throughput": 3100.0, "link_num": 1},
            "1-0": {"usage_count": 12, "throughput": 1200.0, "link_num": 1},
            "1-2": {"usage_count": 7, "throughput": 700.0, "link_num": 2},
        },
        **stats,
        "lightpath_utilization": 0.61,
        "sim_end_time": datetime.now().strftime("%m%d_%H_%M_%S_%f"),
    }


def simulate(args: argparse.Namespace, overrides: dict[str, str]) -> None:
    root = Path(
        control("root", args, None, os.path.join(tempfile.gettempdir(), "fusion-standin-root"))
    )
    config_path = Path(args.config_path)
    if not config_path.is_absolute():
        config_path = root / config_path  # FUSION resolves it against its project root
    config = Config(config_path, overrides)
    root = Path(control("root", args, config, str(root)))
    fail = control("fail", args, config, "").strip().lower()
    delay = float(control("delay", args, config, "0"))
    early_stop = int(control("early_stop", args, config, "0"))

    erlangs = erlang_points(config)
    max_iters = int(config.num("max_iters", 2))
    num_requests = int(config.num("num_requests", 100))
    print_step = max(1, int(config.num("print_step", 15)))
    save_step = max(1, int(config.num("save_step", 10)))
    thread = config.raw("thread_num", "s1") or "s1"
    network = config.raw("network", "NSFNet") or "NSFNet"
    is_training = config.flag("is_training")
    check_request_distribution(config, num_requests)
    if fail in ("start", "true", "1", "yes"):
        raise StandinFailure("stand-in failure requested at start")

    sim_start = datetime.now()
    save_dir = (
        root
        / "data"
        / "output"
        / network
        / sim_start.strftime("%m%d")
        / sim_start.strftime("%H_%M_%S_%f")
        / thread
    )
    results = []
    for index, erlang in enumerate(erlangs):
        started = time.monotonic()
        log_cfg.info(
            "Starting simulation for %s Erlang (load %d/%d)", erlang, index + 1, len(erlangs)
        )
        log_cfg.info(
            "[Engine] thread=%s, offset=0, my_iteration_units=%d, erlang=%s\n",
            thread,
            max_iters,
            erlang,
        )
        log_sim.info("Simulation started for Erlang: %s simulation number: %s", erlang, thread)
        values: list[float] = []
        for iteration in range(max_iters):
            log_req.info("Generated %d requests", num_requests)
            if delay > 0:
                time.sleep(delay)
            values.append(blocking(erlang, iteration))
            early = bool(early_stop) and not is_training and iteration + 1 >= early_stop
            last = iteration + 1 == max_iters or early
            if iteration == 0 or (iteration + 1) % print_step == 0 or last:
                log_sim.info(
                    "Iteration %d out of %d completed for Erlang: %s",
                    iteration + 1,
                    max_iters,
                    erlang,
                )
                log_sim.info("Mean of blocking: %s", round(sum(values) / len(values), 4))
            if iteration == 0 or (iteration + 1) % save_step == 0 or last:
                log_persist.info("Saving stats for iteration %s", iteration)
                log_persist.info("Saving to: %s", save_dir)
                save_dir.mkdir(parents=True, exist_ok=True)
                path = save_dir / f"{erlang}_erlang.json"
                tmp = path.with_name(path.name + ".tmp")
                tmp.write_text(json.dumps(fusion_result(erlang, values, is_training), indent=4))
                os.replace(tmp, path)
            log_cfg.info("CHILD=%s iteration=%d, done_units=%d\n", thread, iteration, iteration + 1)
            if fail == "iteration":
                raise StandinFailure(f"stand-in failure requested after iteration {iteration}")
            if early:
                ci = fusion_result(erlang, values, False)["ci_percent_block"]
                log_metrics.info(
                    "Confidence interval of %.2f%% reached. %d, ending for Erlang: %s",
                    ci,
                    iteration + 1,
                    erlang,
                )
                break
        log_cfg.info(
            "Simulation finished for Erlang: %s finished for simulation number: %s.\n",
            erlang,
            thread,
        )
        elapsed = time.monotonic() - started
        log_cfg.info("Completed %s Erlang in %.2f seconds", erlang, elapsed)
        results.append((erlang, elapsed))

    log_cfg.info("=" * 60)
    log_cfg.info("BATCH SIMULATION SUMMARY")
    log_cfg.info("=" * 60)
    for erlang, elapsed in results:
        log_cfg.info("\nErlang %s:", erlang)
        log_cfg.info("  Time: %.2fs", elapsed)
        log_cfg.info("  Blocking: %.4f", 0)  # FUSION's summary always shows 0 (its bug)
        log_cfg.info("  Requests: %d", 0)
    log_cfg.info("\nTotal execution time: %.2fs", sum(e for _, e in results))
    log_cfg.info("=" * 60)


def main(argv: list[str] | None = None) -> int:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)
    args, overrides = parse_command_line(sys.argv[1:] if argv is None else argv)
    simulate(args, overrides)  # an exception: traceback on stderr, exit code 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
