"""Figures of the JupyterLab runs panel (issues 7 and 13); prints them, asserts nothing.

    python benchmarks/sidebar_bench.py [--runs 1000] [--sweeps 0] [--sweep-size 10]
                                       [--running 20] [--seconds 15]
                                       [--interval 0.1] [--repeat 5]

``--sweeps 100 --runs 0`` (issue 13): the database holds 100 sweeps of 10 runs, each
sweep one row of the panel; section 2 is then also run with the ``--running`` runs as
one sweep whose row is expanded (its aggregate recomputed as they stream).

A real JupyterLab with the extension (tests/support/browser.py) and Debian's chromium:

1. Opening the panel with ``--runs`` finished runs in the database:
   - cold: page reload with the panel open (restored layout): from the extension's
     first REST call (mark fusion:load-start) to the first rows on screen and to the
     whole listing rendered (fusion:rendered-first / fusion:rendered-all);
   - warm: the panel collapsed, then activated: until its rows are painted.
   Long tasks (> 50 ms, PerformanceObserver) during the cold load are counted too.
2. ``--running`` runs at once, each writing a progress line every ``--interval`` s
   for ``--seconds`` (this script is their simulator): every long task in that window,
   and for each line, written (time.time() in the simulator) -> the row's bar showing
   that percentage (Date.now() in a MutationObserver): p50 / p95 / max.
3. The same latency with a single run and nothing else going on.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support


HERE = Path(__file__).resolve()

# ----------------------------------------------------------------------- simulator


def simulate(argv: list[str]) -> int:
    """``sidebar_bench.py sim``: the runs' simulator, logging each line's write time.

    Standard library only (20 of them start at once); the percentage each line should
    show is computed as the engine's ProgressState does.
    """
    parser = argparse.ArgumentParser()
    for name in ("--config_path", "--run_id", "--output_dir", "--progress_file", "--log"):
        parser.add_argument(name, required=True)
    parser.add_argument("--erlangs", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--interval", type=float, default=0.1)
    args = parser.parse_args(argv)
    written: list[tuple[str, float, float]] = []

    def emit(fh, event: dict, percent: float | None = None) -> None:  # type: ignore[no-untyped-def]
        event["ts"] = datetime.now(timezone.utc).isoformat()
        fh.write(json.dumps(event) + "\n")
        fh.flush()
        if percent is not None:
            written.append((args.run_id, percent, time.time()))

    total = args.erlangs * args.iterations
    print(f"bench simulator: {total} progress lines, one every {args.interval}s", flush=True)
    with open(args.progress_file, "a") as fh:
        cfg = {"total_erlangs": args.erlangs, "total_iterations": args.iterations}
        emit(fh, {"type": "start", "config": cfg})
        for e in range(args.erlangs):
            erlang = 300.0 + 100 * e
            start = {"type": "erlang_start", "erlang": erlang, "erlang_index": e}
            emit(fh, {**start, "total_erlangs": args.erlangs})
            for i in range(1, args.iterations + 1):
                time.sleep(args.interval)
                done = e * args.iterations + i
                percent = round(min(99.9, 100.0 * done / total), 2)
                line = {"type": "iteration", "erlang": erlang, "iteration": i}
                emit(fh, {**line, "total_iterations": args.iterations}, percent)
                print(f"Erlang {erlang} iteration {i}/{args.iterations}", flush=True)
            emit(fh, {"type": "erlang_complete", "erlang": erlang, "metrics": {}})
        emit(fh, {"type": "complete", "exit_code": 0, "summary": {}})
    with open(args.log, "a") as log:
        for run_id, percent, t in written:
            log.write(f"{run_id} {percent} {t}\n")
    return 0


# ----------------------------------------------------------------------- helpers


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


LONGTASKS_JS = """() => {
    window.__longtasks = [];
    new PerformanceObserver(list => {
        for (const e of list.getEntries()) window.__longtasks.push([e.startTime, e.duration]);
    }).observe({type: 'longtask', buffered: true});
}"""

WATCH_JS = """() => {
    window.__seen = [];
    const list = document.querySelector('#fusion-runs-panel .jp-FusionRuns-list');
    new MutationObserver(ms => {
        const now = Date.now();
        for (const m of ms) {
            const el = m.target;
            const d = el.dataset;
            if (d && d.runId) window.__seen.push([d.runId, d.percent, now]);
        }
    }).observe(list, {subtree: true, attributes: true, attributeFilter: ['data-percent']});
}"""


ROWS = (
    "#fusion-runs-panel .jp-FusionRun[data-run-id],"
    " #fusion-runs-panel .jp-FusionSweep[data-sweep-id]"
)


def marks(page) -> dict[str, float]:  # type: ignore[no-untyped-def]
    return page.evaluate(
        "() => Object.fromEntries(performance.getEntriesByType('mark')"
        ".filter(m => m.name.startsWith('fusion:')).map(m => [m.name, m.startTime]))"
    )


def long_tasks(page, since: float = 0.0) -> list[float]:  # type: ignore[no-untyped-def]
    return [d for s, d in page.evaluate("window.__longtasks || []") if s >= since]


def latencies(page, log: Path, run_ids: set[str]) -> tuple[list[float], int]:  # type: ignore[no-untyped-def]
    written: dict[tuple[str, float], float] = {}
    for line in log.read_text().splitlines():
        run_id, percent, t = line.split()
        if run_id in run_ids:
            written.setdefault((run_id, round(float(percent), 2)), float(t) * 1000)
    shown: dict[tuple[str, float], float] = {}
    for run_id, percent, now in page.evaluate("window.__seen"):
        key = (run_id, round(float(percent), 2))
        if key in written and key not in shown:
            shown[key] = now - written[key]
    return list(shown.values()), len(written)


def run_streaming(page, server, names, seconds, interval, log, sweep=False):  # type: ignore[no-untyped-def]
    """Start runs together (``sweep``: as one sweep, its row expanded); return
    (latencies ms, lines written, long tasks ms).

    Long tasks count from the moment every run is RUNNING and has moved (their
    processes started: 20 interpreters starting at once on this machine's 2 cores
    are not the panel's doing) until the first one completes.
    """
    page.evaluate(WATCH_JS)
    ids = set()
    if sweep:
        grid = {"general_settings.max_iters": list(range(1, len(names) + 1))}
        made = server.api("POST", "sweeps", {"template": "minimal", "grid": grid, "name": "bench"})
        ids = {r["id"] for r in made["runs"]}
        caret = f'.jp-FusionSweep[data-sweep-id="{made["sweep"]["id"]}"] .jp-FusionSweep-caret'
        page.click(caret)
    for name in [] if sweep else names:
        ids.add(server.api("POST", "runs", {"template": "minimal", "name": name})["id"])
    state_js = """ids => ids.map(id => {
        const r = document.querySelector(`#fusion-runs-panel .jp-FusionRun[data-run-id="${id}"]`);
        return r ? [r.dataset.status, Number(r.dataset.percent)] : [null, 0]; })"""
    window_start = window_end = None
    deadline = time.time() + seconds + 90
    while time.time() < deadline:
        states = page.evaluate(state_js, sorted(ids))
        now = page.evaluate("performance.now()")
        if window_start is None and all(s == "RUNNING" and p > 0 for s, p in states):
            window_start = now
        if (
            window_start is not None
            and window_end is None
            and any(s == "COMPLETED" for s, _ in states)
        ):
            window_end = now
        if all(s == "COMPLETED" for s, _ in states):
            break
        page.wait_for_timeout(100)
    lat, written = latencies(page, log, ids)
    longs = [
        d
        for s, d in page.evaluate("window.__longtasks || []")
        if window_start is not None and window_start <= s <= (window_end or float("inf"))
    ]
    steady = ((window_end or 0) - (window_start or 0)) / 1000
    return lat, written, longs, steady


def print_profile(profile: dict, top: int = 25) -> None:
    """Self time per function of a CDP CPU profile (SIDEBAR_BENCH_PROFILE=1)."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    deltas = profile["timeDeltas"]
    self_ms: dict[str, float] = {}
    for sample, dt in zip(profile["samples"], deltas, strict=False):
        f = nodes[sample]["callFrame"]
        key = f"{f['functionName'] or '(anon)'} {f['url'].rsplit('/', 1)[-1]}:{f['lineNumber']}"
        self_ms[key] = self_ms.get(key, 0.0) + dt / 1000
    total = sum(self_ms.values())
    print(f"   profile: {total:.0f} ms sampled")
    for key, ms in sorted(self_ms.items(), key=lambda kv: -kv[1])[:top]:
        print(f"   {ms:8.1f} ms  {key}")


def print_trace(path: str, top: int = 20) -> None:
    """Main-thread time by trace event (SIDEBAR_BENCH_TRACE=file.json), top-level only."""
    data = json.loads(Path(path).read_text())
    events = data["traceEvents"] if isinstance(data, dict) else data
    threads = {
        (e["pid"], e["tid"]): e["args"]["name"]
        for e in events
        if e.get("ph") == "M" and e.get("name") == "thread_name"
    }
    totals: dict[str, float] = {}
    long_tasks = []
    for e in events:
        if threads.get((e.get("pid"), e.get("tid"))) != "CrRendererMain" or e.get("ph") != "X":
            continue
        totals[e["name"]] = totals.get(e["name"], 0.0) + e.get("dur", 0) / 1000
        if e["name"] == "RunTask" and e.get("dur", 0) > 50_000:
            long_tasks.append(e)
    print(f"   trace: {len(long_tasks)} RunTask > 50 ms on the renderer main thread")
    for name, ms in sorted(totals.items(), key=lambda kv: -kv[1])[:top]:
        print(f"   {ms:8.1f} ms  {name}")
    for t in long_tasks[:5]:
        inner = [
            (
                e["name"],
                round(e.get("dur", 0) / 1000, 1),
                (e.get("args", {}).get("data", {}) or {}).get("functionName", "")
                or (e.get("args", {}).get("data", {}) or {}).get("type", ""),
                (e.get("args", {}).get("data", {}) or {}).get("url", "").rsplit("/", 1)[-1][:40],
            )
            for e in events
            if e.get("ph") == "X"
            and (e.get("pid"), e.get("tid")) == (t["pid"], t["tid"])
            and t["ts"] <= e["ts"] < t["ts"] + t["dur"]
            and e.get("dur", 0) > 5000
            and e is not t
        ]
        cpu = t.get("tdur", 0) / 1000
        print(f"   long task {t['dur'] / 1000:.0f} ms wall, {cpu:.0f} ms on the CPU: {inner[:6]}")


def describe(values: list[float]) -> str:
    if not values:
        return "no samples"
    return (
        f"p50 {statistics.median(values):.1f} ms, p95 {pct(values, 0.95):.1f} ms, "
        f"max {max(values):.1f} ms (n={len(values)})"
    )


# ----------------------------------------------------------------------- main


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "sim":
        return simulate(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--sweeps", type=int, default=0, help="sweeps seeded (finished)")
    parser.add_argument("--sweep-size", type=int, default=10, help="runs a seeded sweep")
    parser.add_argument("--running", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    import tempfile

    from playwright.sync_api import sync_playwright

    # Imported here, not at the top: this file is also the runs' simulator, whose
    # start-up should stay light.
    from fusion_jupyter.engine.settings import SIM_OPTIONS
    from tests.support.browser import (
        JupyterLabServer,
        free_port,
        launch_chromium,
        new_page,
        open_lab,
        wait_for_left_panel_saved,
        write_lab_settings,
    )
    from tests.support.seed import seed_runs, seed_sweeps

    tmp = Path(tempfile.mkdtemp(prefix="sidebar-bench-"))
    log = tmp / "written.log"
    log.touch()
    iterations = max(1, math.ceil(args.seconds / args.interval / 3))
    server = JupyterLabServer(base=tmp, port=free_port(), token=secrets.token_hex(16))
    (tmp / "config").mkdir(parents=True)
    (tmp / "config" / "jupyter_server_config.json").write_text(
        json.dumps(
            {
                "FusionJupyter": {
                    "max_concurrent_runs": max(4, args.running),
                    "simulator_command": [
                        sys.executable,
                        str(HERE),
                        "sim",
                        *SIM_OPTIONS,
                        "--log",
                        str(log),
                        "--erlangs",
                        "3",
                        "--iterations",
                        str(iterations),
                        "--interval",
                        str(args.interval),
                    ],
                }
            }
        )
    )
    write_lab_settings(tmp / "settings")
    seeded = args.sweeps * args.sweep_size
    seed_runs(  # finished runs in the database before the server starts
        f"sqlite:///{server.base / 'fusion.db'}",
        args.runs,
        first=seeded,
        runs_dir=server.runs_dir,
        name="seeded run",
        start=datetime.now(timezone.utc) - timedelta(days=3),
    )
    if args.sweeps:
        seed_sweeps(
            f"sqlite:///{server.base / 'fusion.db'}",
            args.sweeps,
            args.sweep_size,
            runs_dir=server.runs_dir,
            start=datetime.now(timezone.utc) - timedelta(days=2),
        )
    what = f"{args.runs} finished runs"
    if args.sweeps:
        what += f" and {args.sweeps} sweeps of {args.sweep_size} ({seeded} runs)"
    server.start()
    print(f"JupyterLab {server.url} with {what}; chromium {1400}x1600")
    try:
        with sync_playwright() as pw:
            browser = launch_chromium(pw)
            page = new_page(browser, 1400, 1600)
            open_lab(page, server)
            page.click('.jp-SideBar .lm-TabBar-tab[data-id="fusion-runs-panel"]')
            page.wait_for_selector(ROWS)
            wait_for_left_panel_saved(server, "fusion-runs-panel")

            # 1. cold: reload with the panel open (restored), marks from the extension
            cold_first, cold_all, cold_long = [], [], []
            for _ in range(args.repeat):
                page.add_init_script(f"({LONGTASKS_JS})()")
                page.reload()
                page.wait_for_function(
                    "() => performance.getEntriesByName('fusion:rendered-all').length > 0",
                    timeout=60_000,
                )
                m = marks(page)
                cold_first.append(m["fusion:rendered-first"] - m["fusion:load-start"])
                cold_all.append(m["fusion:rendered-all"] - m["fusion:load-start"])
                cold_long += [
                    d
                    for s, d in page.evaluate("window.__longtasks")
                    if m["fusion:load-start"] <= s <= m["fusion:rendered-all"]
                ]
                shown = page.locator("#fusion-runs-panel .jp-FusionRuns-summary").inner_text()
                if os.environ.get("SIDEBAR_BENCH_DEBUG"):
                    print(
                        m,
                        page.evaluate("""() => performance.getEntriesByType('resource')
                        .filter(e => e.name.includes('fusion/api/runs'))
                        .map(e => [e.name.split('?')[1], Math.round(e.startTime),
                            Math.round(e.responseStart - e.requestStart),
                            Math.round(e.responseEnd)])"""),
                    )
            print(f"\n1. panel with {what} in the database ({shown})")
            print(f"   cold, first rows on screen:     {describe(cold_first)}")
            print(f"   cold, all listed and rendered:  {describe(cold_all)}")
            print(
                f"   long tasks during the cold load: {len(cold_long)}"
                + (f", longest {max(cold_long):.0f} ms" if cold_long else "")
                + " (JupyterLab's own start-up included)"
            )
            warm = []
            for _ in range(args.repeat):
                page.evaluate("window.jupyterapp.shell.activateById('filebrowser')")
                page.wait_for_selector("#fusion-runs-panel", state="hidden")
                warm.append(
                    page.evaluate(
                        """() => new Promise(resolve => {
                        const t0 = performance.now();
                        window.jupyterapp.shell.activateById('fusion-runs-panel');
                        const check = () => {
                            const rows = document.querySelectorAll(
                                '#fusion-runs-panel .jp-FusionRun[data-run-id]:not([hidden]),' +
                                '#fusion-runs-panel .jp-FusionSweep[data-sweep-id]:not([hidden])');
                            const panel = document.querySelector('#fusion-runs-panel');
                            if (rows.length && panel.offsetHeight > 0)
                                requestAnimationFrame(() => resolve(performance.now() - t0));
                            else requestAnimationFrame(check);
                        };
                        check();
                    })"""
                    )
                )
            print(f"   warm (collapsed -> shown, painted): {describe(warm)}")
            relist = []
            for _ in range(args.repeat):
                relist.append(
                    page.evaluate(
                        """() => new Promise(resolve => {
                        const t0 = performance.now();
                        window.jupyterapp.commands.execute('fusion:refresh-runs').then(() =>
                            requestAnimationFrame(() => requestAnimationFrame(
                                () => resolve(performance.now() - t0))));
                    })"""
                    )
                )
            print(f"   re-list all from the server and paint (Reload command): {describe(relist)}")

            # 0. control: the same window with nothing happening (this machine's own noise)
            t0 = page.evaluate("performance.now()")
            page.wait_for_timeout(args.seconds * 1000)
            idle_longs = long_tasks(page, t0)
            print(
                f"\n0. control, {args.seconds:.0f} s idle with the panel open: "
                f"{len(idle_longs)} long tasks"
                + (f", longest {max(idle_longs):.0f} ms" if idle_longs else "")
            )

            # 2. N running at once
            names = [f"bench {i}" for i in range(args.running)]
            cdp = None
            if os.environ.get("SIDEBAR_BENCH_PROFILE"):
                cdp = page.context.new_cdp_session(page)
                cdp.send("Profiler.enable")
                cdp.send("Profiler.setSamplingInterval", {"interval": 200})
                cdp.send("Profiler.start")
            trace = os.environ.get("SIDEBAR_BENCH_TRACE")
            if trace:
                browser.start_tracing(
                    page=page,
                    path=trace,
                    categories=["devtools.timeline", "disabled-by-default-devtools.timeline"],
                )
            lat, written, longs, steady = run_streaming(
                page, server, names, args.seconds, args.interval, log
            )
            if trace:
                browser.stop_tracing()
                print_trace(trace)
            if cdp is not None:
                profile = cdp.send("Profiler.stop")["profile"]
                print_profile(profile)
            print(
                f"\n2. {args.running} runs at once, one progress line each per {args.interval}s "
                f"({written} lines in {iterations * 3 * args.interval:.0f} s per run)"
            )
            print(
                f"   line written -> bar shows it: {describe(lat)}; {len(lat)} of {written} "
                "values shown (the rest coalesced into the same frame)"
            )
            print(
                f"   long tasks while all {args.running} stream ({steady:.1f} s): {len(longs)}"
                + (f", longest {max(longs):.0f} ms" if longs else "")
            )

            if args.sweeps:
                # 2b. the same, the runs being one sweep whose row is expanded
                if trace:
                    browser.start_tracing(
                        page=page,
                        path=trace + ".2b.json",
                        categories=["devtools.timeline", "disabled-by-default-devtools.timeline"],
                    )
                lat_s, written_s, longs_s, steady_s = run_streaming(
                    page, server, names, args.seconds, args.interval, log, sweep=True
                )
                if trace:
                    browser.stop_tracing()
                    print_trace(trace + ".2b.json")
                print(
                    f"\n2b. the {args.running} as one sweep, its row expanded: line written -> "
                    f"bar: {describe(lat_s)}; {len(lat_s)} of {written_s} values shown"
                )
                print(
                    f"   long tasks while all {args.running} stream ({steady_s:.1f} s): "
                    f"{len(longs_s)}" + (f", longest {max(longs_s):.0f} ms" if longs_s else "")
                )

            # 3. one run alone
            lat1, written1, longs1, _ = run_streaming(
                page, server, ["bench alone"], args.seconds, args.interval, log
            )
            print(
                f"\n3. one run alone: line written -> bar: {describe(lat1)} ({written1} lines); "
                f"long tasks: {len(longs1)}"
            )
            browser.close()
    finally:
        server.stop()
        if not args.keep:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
