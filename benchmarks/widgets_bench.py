"""Widget figures for issue 6, measured in Debian's chromium (Playwright) against a real
JupyterLab on 127.0.0.1; prints them, asserts nothing.

    python benchmarks/widgets_bench.py [--events 200] [--log-lines 100000]
                                       [--big-log-lines 1000000] [--runs 500] [--running 20]

1. A simulator writes a progress line -> the RunProgress bar in the page has moved
   (p50 / p95 / max ms; the line carries its write time, a MutationObserver in the page
   notes when the bar's value changes; one clock, one machine).
2. LogViewer appending 100,000 lines as the simulator writes them: main-thread time of
   the page (Chrome's TaskDuration, DevTools protocol) from the first byte to the last
   line shown, and the longest task.
3. A 1,000,000-line log loaded in a LogViewer, then scrolled (wheel steps and jumps
   across the whole log): long tasks (> 50 ms) during the scrolling.
4. Dashboard with 500 runs in the database, 20 of them running and streaming progress:
   long tasks while the updates stream.

The benchmark is its own simulator (``widgets_bench.py run_sim ...``): it reads its
behaviour from the run's config (``[bench]`` section: count, interval, lines, gate).
"""

from __future__ import annotations

import argparse
import configparser
import json
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support

HERE = Path(__file__).resolve()


# --------------------------------------------------------------------------- simulator


def run_sim(argv: list[str]) -> int:
    """The benchmark's simulator: progress events with their write time, log lines."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--config_path", required=True)
    parser.add_argument("--progress_file", required=True)
    args, _ = parser.parse_known_args(argv)
    config = configparser.ConfigParser(interpolation=None)
    config.read(args.config_path)
    bench = config["bench"] if config.has_section("bench") else {}
    count = int(bench.get("count", 10))
    interval = float(bench.get("interval", 0.05))
    lines = int(bench.get("lines", 0))
    gate = bench.get("gate")
    progress = Path(args.progress_file).open("a")  # noqa: SIM115

    def emit(event: dict[str, Any]) -> None:
        event["ts"] = datetime.now(timezone.utc).isoformat()
        progress.write(json.dumps(event) + "\n")
        progress.flush()

    emit({"type": "start", "config": {"total_erlangs": 1, "total_iterations": count}})
    while gate and not Path(gate).exists():
        time.sleep(0.005)
    emit({"type": "erlang_start", "erlang": 100.0, "erlang_index": 0, "total_erlangs": 1})
    out = sys.stdout
    for start in range(0, lines, 10_000):
        out.write(
            "".join(
                f"2026-11-22 12:00:00,000 - bench - {'WARNING' if i % 997 == 0 else 'INFO'}"
                f" - log line {i} of the benchmark simulator\n"
                for i in range(start, min(lines, start + 10_000))
            )
        )
    out.flush()
    for i in range(1, count + 1):
        time.sleep(interval)
        emit(
            {
                "type": "iteration",
                "erlang": 100.0,
                "iteration": i,
                "total_iterations": count,
                "t": time.time(),
                "metrics": {"blocking_prob": 0.01 + 0.001 * (i % 7)},
            }
        )
    emit({"type": "erlang_complete", "erlang": 100.0, "metrics": {"mean_blocking": 0.013}})
    emit({"type": "complete", "exit_code": 0, "summary": {}})
    return 0


SIM_COMMAND = [
    sys.executable,
    str(HERE),
    "run_sim",
    "--config_path",
    "{config_path}",
    "--progress_file",
    "{progress_file}",
]


# --------------------------------------------------------------------------- helpers


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def long_tasks_text(durations: list[float]) -> str:
    """ "no long task" or "N long tasks > 50 ms, longest X ms"."""
    if not durations:
        return "no long task (> 50 ms)"
    return f"{len(durations)} long tasks > 50 ms, longest {max(durations):.0f} ms"


OBSERVE_BAR = """(selector) => {
  const bar = document.querySelector(selector);
  window.__fjBar = [];
  new MutationObserver(() => {
    window.__fjBar.push([performance.timeOrigin + performance.now(),
                         Number(bar.getAttribute('aria-valuenow'))]);
  }).observe(bar, { attributes: true, attributeFilter: ['aria-valuenow'] });
}"""

OBSERVE_LONG_TASKS = """() => {
  window.__fjLong = [];
  new PerformanceObserver(list => {
    for (const e of list.getEntries()) { window.__fjLong.push(e.duration); }
  }).observe({ type: 'longtask' });
}"""


class Bench:
    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args = args
        self.tmp = tmp

    def start(self) -> None:
        from tests.support.browser import start_jupyterlab

        base = self.tmp / "lab"
        (base / "config").mkdir(parents=True)
        (base / "config" / "jupyter_server_config.py").write_text(
            f"c.FusionJupyter.simulator_command = {SIM_COMMAND!r}\n"
            f"c.FusionJupyter.max_concurrent_runs = {self.args.running + 5}\n"
            "c.FusionJupyter.on_shutdown = 'cancel'\n"
            "c.FusionJupyter.progress_flush_seconds = 0.2\n"
        )
        from tests.support.seed import seed_runs

        finished = self.args.runs - self.args.running - 3
        seed_runs(
            f"sqlite:///{base / 'fusion.db'}",
            finished,
            runs_dir=base / "root" / "fusion-runs",
            name="sweep point",
            start=datetime(2026, 1, 1, tzinfo=timezone.utc),
            step=timedelta(minutes=1),
            tags=lambda i: [f"batch-{i % 5}"],
        )
        self.lab = start_jupyterlab(base)

    def open(self, playwright: Any) -> None:
        import nbformat

        from tests.support.browser import launch_chromium, new_page, open_lab
        from tests.test_widgets_browser import KERNELSPEC, Notebook

        nb = nbformat.v4.new_notebook(metadata={"kernelspec": KERNELSPEC})
        nb.cells = [
            nbformat.v4.new_code_cell(
                "import fusion_jupyter as fj\n"
                "from fusion_jupyter.widgets import Dashboard, LogViewer, RunProgress\n"
                "client = fj.connect()\nclient"
            )
        ]
        nbformat.write(nb, self.lab.root_dir / "bench.ipynb")
        self.browser = launch_chromium(playwright)
        self.page = new_page(self.browser, 1400, 1000)
        open_lab(self.page, self.lab, "lab/tree/bench.ipynb")
        self.nb = Notebook(self.page, "bench.ipynb")
        deadline = time.monotonic() + 60
        while not self.nb.js("return !!panel && panel.sessionContext.isReady;"):
            assert time.monotonic() < deadline, "the kernel did not start"
            time.sleep(0.1)
        self.nb.js(
            """panel.content.activeCellIndex = 0;
            await window.jupyterapp.commands.execute('notebook:run-cell');
            return null;"""
        )
        self.nb.kernel_eval("client")
        self.cdp = self.page.context.new_cdp_session(self.page)
        self.cdp.send("Performance.enable")
        self.cell = 0

    def show(self, code: str, selector: str, timeout: float = 60) -> Any:
        """Append a cell with ``code``, run it, return the locator of its widget."""
        self.cell += 1
        self.nb.js(
            """
            const model = panel.content.model;
            model.sharedModel.insertCell(model.cells.length, { cell_type: 'code', source: arg });
            panel.content.activeCellIndex = model.cells.length - 1;
            await window.jupyterapp.commands.execute('notebook:run-cell');
            return null;""",
            code,
        )
        locator = self.page.locator(selector).nth(0)
        try:
            locator.wait_for(timeout=timeout * 1000)
        except Exception:
            from tests.support.browser import screenshot

            print("no widget; screenshot:", screenshot(self.page, "widgets-bench-failure"))
            raise
        locator.scroll_into_view_if_needed()
        return locator

    def task_seconds(self) -> float:
        metrics = self.cdp.send("Performance.getMetrics")["metrics"]
        return float(next(m["value"] for m in metrics if m["name"] == "TaskDuration"))

    def wait(self, predicate: Any, timeout: float, what: str) -> Any:
        from tests.support import wait_until

        return wait_until(predicate, timeout, what, interval=0.05)

    def total_runs(self) -> int:
        total, cursor = 0, ""
        while True:
            page = self.lab.api("GET", f"runs?limit=500{'&cursor=' + cursor if cursor else ''}")
            total += len(page["runs"])
            cursor = page["next_cursor"]
            if not cursor:
                return total

    def run_dir(self, run_id: str) -> Path:
        return Path(self.lab.api("GET", f"runs/{run_id}")["run_dir"])

    def run_id_of(self, locator: Any) -> str:
        return str(locator.get_attribute("data-run-id"))

    # ---- 1. progress line -> bar moved --------------------------------------------------

    def progress_latency(self) -> None:
        gate = self.tmp / "gate-latency"
        n, interval = self.args.events, 0.05
        view = self.show(
            f"run = client.submit('minimal', {{'bench': {{'count': {n}, 'interval': {interval}, "
            f"'gate': {str(gate)!r}}}}}, name='latency')\nrun",
            ".fj-run[data-status]",
        )
        run_id = self.run_id_of(view)
        self.page.evaluate(OBSERVE_BAR, f".fj-run[data-run-id='{run_id}'] .fj-bar-overall")
        gate.touch()
        self.wait(lambda: view.get_attribute("data-status") == "COMPLETED", 120, "latency run")
        seen = self.page.evaluate("() => window.__fjBar")
        written = {}
        for line in (self.run_dir(run_id) / "progress.jsonl").read_text().splitlines():
            event = json.loads(line)
            if event.get("type") == "iteration":
                written[round(100 * event["iteration"] / n, 1)] = event["t"] * 1000
        lat = [at - written[value] for at, value in seen if value in written]
        print(
            f"1. progress line written -> bar moved in the page: p50 {pct(lat, 0.5):.1f} ms, "
            f"p95 {pct(lat, 0.95):.1f} ms, max {max(lat):.1f} ms "
            f"({len(lat)} moves observed of {n} lines, one every {interval * 1000:.0f} ms)"
        )

    # ---- 2. appending 100,000 lines -----------------------------------------------------

    def log_append(self) -> None:
        gate = self.tmp / "gate-log"
        lines = self.args.log_lines
        view = self.show(
            f"run2 = client.submit('minimal', {{'bench': {{'count': 1, 'interval': 0, "
            f"'lines': {lines}, 'gate': {str(gate)!r}}}}}, name='log append')\n"
            "LogViewer(run2, tail=0)",
            ".fj-log",
        )
        info = view.locator(".fj-log-info")
        self.page.evaluate(OBSERVE_LONG_TASKS)
        time.sleep(1)
        before = self.task_seconds()
        began = time.monotonic()
        gate.touch()
        self.wait(
            lambda: int((info.text_content() or "0").split()[0].replace(",", "")) >= lines,
            120,
            "all lines shown",
        )
        wall = time.monotonic() - began
        used = self.task_seconds() - before
        long_tasks = self.page.evaluate("() => window.__fjLong") or []
        shown = (info.text_content() or "").split()[0]
        print(
            f"2. LogViewer appending {lines:,} lines live: {used * 1000:.0f} ms of main-thread "
            f"time (TaskDuration) in {wall:.1f} s wall, {long_tasks_text(long_tasks)} "
            f"({shown} lines shown, following the end)"
        )

    # ---- 3. scrolling 1,000,000 lines ---------------------------------------------------

    def big_log_scroll(self) -> None:
        lines = self.args.big_log_lines
        run = self.lab.api(
            "POST",
            "runs",
            {
                "template": "minimal",
                "name": "big log",
                "overrides": {"bench": {"count": 1, "interval": 0, "lines": lines}},
            },
        )
        self.wait(
            lambda: self.lab.api("GET", f"runs/{run['id']}")["status"] == "COMPLETED",
            300,
            "the big log written",
        )
        self.page.evaluate(OBSERVE_LONG_TASKS)
        began = time.monotonic()
        view = self.show(
            f"LogViewer(client.get({run['id']!r}), tail=0)", f".fj-log[data-run-id='{run['id']}']"
        )
        info = view.locator(".fj-log-info")
        self.wait(
            lambda: int((info.text_content() or "0").split()[0].replace(",", "")) >= lines,
            600,
            "a million lines loaded",
        )
        loaded = time.monotonic() - began
        loading = self.page.evaluate("() => window.__fjLong") or []
        scroller = view.locator(".fj-log-lines")
        box = scroller.bounding_box()
        self.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        self.page.evaluate(OBSERVE_LONG_TASKS)
        before = self.task_seconds()
        for _ in range(150):  # wheel scrolling up from the end
            self.page.mouse.wheel(0, -1200)
            time.sleep(0.016)
        jumps = [0.0, 0.5, 0.1, 0.9, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6, 1.0] * 4
        for fraction in jumps:  # dragging the scrollbar: jumps anywhere in the log
            scroller.evaluate(
                "(e, f) => { e.scrollTop = f * (e.scrollHeight - e.clientHeight); }", fraction
            )
            time.sleep(0.05)
        for _ in range(150):  # and down again
            self.page.mouse.wheel(0, 1200)
            time.sleep(0.016)
        time.sleep(0.5)
        used = self.task_seconds() - before
        long_tasks = self.page.evaluate("() => window.__fjLong") or []
        first = int(scroller.locator(".fj-vlist-row").first.get_attribute("data-line") or 0)
        print(
            f"3. {lines:,}-line log: read from the server in {loaded:.1f} s "
            f"({long_tasks_text(loading)} while reading); scrolling it (300 wheel steps and "
            f"{len(jumps)} jumps): {long_tasks_text(long_tasks)}, "
            f"{used * 1000:.0f} ms main-thread time in all (ended at line {first:,})"
        )

    # ---- 4. dashboard with 500 runs, 20 running ----------------------------------------

    def dashboard(self) -> None:
        running = self.args.running
        for i in range(running):
            self.lab.api(
                "POST",
                "runs",
                {
                    "template": "minimal",
                    "name": f"live {i}",
                    "tags": ["live"],
                    "overrides": {"bench": {"count": 600, "interval": 0.1}},
                },
            )
        self.wait(
            lambda: len(self.lab.api("GET", "runs?status=RUNNING&limit=100")["runs"]) >= running,
            60,
            "runs running",
        )
        self.page.evaluate(OBSERVE_LONG_TASKS)
        began = time.monotonic()
        view = self.show("Dashboard(client)", ".fj-dash")
        count = view.locator(".fj-toolbar .fj-muted")
        total = self.total_runs()
        self.wait(
            lambda: f"of {total} runs" in (count.text_content() or ""), 60, "every run listed"
        )
        listed = time.monotonic() - began
        opening = list(self.page.evaluate("() => window.__fjLong") or [])
        self.page.evaluate(OBSERVE_LONG_TASKS)
        before = self.task_seconds()
        seconds = 15.0
        labels = set()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            labels.add(view.locator(".fj-dash-plabel").first.text_content())
            time.sleep(0.25)
        used = self.task_seconds() - before
        long_tasks = self.page.evaluate("() => window.__fjLong") or []
        print(
            f"4. Dashboard, {total} runs ({running} running, each a progress line every "
            f"100 ms): listed in {listed:.1f} s ({long_tasks_text(opening)} while opening); "
            f"{seconds:.0f} s of streaming: {long_tasks_text(long_tasks)}, main thread busy "
            f"{100 * used / seconds:.1f} % ({len(labels)} distinct progress labels seen on the "
            "top row)"
        )

    def close(self) -> None:
        try:
            self.browser.close()
        finally:
            self.lab.stop()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "run_sim":
        sys.exit(run_sim(sys.argv[2:]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--log-lines", type=int, default=100_000)
    parser.add_argument("--big-log-lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--running", type=int, default=20)
    parser.add_argument("--only", nargs="*", default=["1", "2", "3", "4"])
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="widgets-bench-") as tmp, sync_playwright() as p:
        bench = Bench(args, Path(tmp))
        bench.start()
        try:
            bench.open(p)
            steps = {
                "1": bench.progress_latency,
                "2": bench.log_append,
                "3": bench.big_log_scroll,
                "4": bench.dashboard,
            }
            for key in args.only:
                steps[key]()
        finally:
            bench.close()


if __name__ == "__main__":
    main()
