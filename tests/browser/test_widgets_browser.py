"""The widgets in a real JupyterLab, driven through Debian's chromium (Playwright).

One JupyterLab on 127.0.0.1 with a token (tests/support/browser.py), one notebook: a
copy of notebooks/quickstart.ipynb with a busy cell after the run is shown and widget
cells at the end. The notebook's kernel talks to that server, so the widgets get their
updates straight from it (the direct path); a second part uses the embedded engine in
the kernel, whose widgets can only be fed by the kernel (the relay path).

Checks: the progress bar reaches 100 % while another cell keeps the kernel busy (both
paths); the log viewer shows and searches lines; "load into pandas" gives a DataFrame in
the kernel; the launcher shows a field error for a bad value and its Submit shows the
run; the dashboard lists, filters and compares; a reloaded page restores every widget;
one WebSocket serves every widget of the page. Screenshots of each widget go to
test-artifacts/ and docs/images/.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests.support import REPO_ROOT
from tests.support.browser import (
    JupyterLabServer,
    busy_until,
    launch_chromium,
    new_page,
    open_lab,
    running_lab,
    screenshot,
)
from tests.support.notebook import KERNELSPEC, Notebook, wait_for

DOCS_IMAGES = REPO_ROOT / "docs" / "images"
NOTEBOOK = "widgets-quickstart.ipynb"
#: Files whose creation lets the notebook's busy cells end (see busy_until).
BUSY_RELEASE = "busy-release"
RELAY_RELEASE = "relay-release"
#: How long a test watches a bar move while the kernel is busy, at the most.
WATCH_SECONDS = 60


# --------------------------------------------------------------------------- helpers


def widget_cells(embedded_runs: Path) -> list[str]:
    """What the test adds after the quickstart's own cells."""
    bad_runs = embedded_runs / "failing"
    return [
        "from fusion_jupyter.widgets import ArtifactTable, Dashboard, Launcher, LogViewer, "
        "RunProgress\nLogViewer(run)",
        "files = ArtifactTable(run)\nfiles",
        "dash = Dashboard(client)\ndash",
        "launcher = Launcher(client, 'minimal')\nlauncher",
        "again = RunProgress(run)\ndisplay(again)\ndisplay(again)",
        # The relay path: the engine inside the kernel, which no page can reach.
        f"ec = fj.connect(embedded=True, runs_dir={str(embedded_runs)!r})\n"
        "r2 = ec.submit('minimal', {'general_settings': {'erlang_start': 400, "
        "'erlang_stop': 1200, 'erlang_step': 200, 'num_requests': 20000, 'max_iters': 4}}, "
        "name='relayed')\nrelayed = RunProgress(r2)\nrelayed",
        busy_until(RELAY_RELEASE, "relay-busy: the kernel relays from a thread"),
        "relayed_log = LogViewer(r2)\nrelayed_log",
        # A run that fails: its error shows in the widget.
        f"import sys\nbad_client = fj.connect(embedded=True, runs_dir={str(bad_runs)!r}, "
        "simulator_command=[sys.executable, '-c', "
        "\"import sys; print('ERROR: the simulator gave up'); sys.exit(3)\"])\n"
        "bad = bad_client.submit('minimal', name='failing')\nRunProgress(bad)",
        "print('WIDGET-CELLS-DONE')",
    ]


def build_notebook(dest: Path, embedded_runs: Path) -> Path:
    """notebooks/quickstart.ipynb, with a busy cell after ``run`` and widget cells after."""
    nb = nbformat.read(REPO_ROOT / "notebooks" / "quickstart.ipynb", as_version=4)
    cells = list(nb.cells)
    shown = next(
        i
        for i, c in enumerate(cells)
        if c.cell_type == "code" and c.source.rstrip().endswith("\nrun") and "submit(" in c.source
    )
    # The quickstart's run is over in about a second with the built-in simulator: ten
    # times the requests keep it going long enough to watch its bar move.
    source = cells[shown].source
    assert '"num_requests": 2000,' in source, source
    cells[shown].source = source.replace('"num_requests": 2000,', '"num_requests": 20000,')
    busy = nbformat.v4.new_code_cell(busy_until(BUSY_RELEASE, "the widget above is not busy"))
    cells.insert(shown + 1, busy)
    cells += [nbformat.v4.new_code_cell(src) for src in widget_cells(embedded_runs)]
    nb.cells = cells
    nb.metadata["kernelspec"] = KERNELSPEC
    path = dest / NOTEBOOK
    nbformat.write(nb, path)
    return path


def text(locator: Any) -> str:
    """An element's text (DOM text: a notebook may skip painting cells out of view)."""
    return str(locator.text_content() or "")


def bars(page: Any, selector: str = ".fj-run") -> list[float]:
    values = page.eval_on_selector_all(
        f"{selector} .fj-bar-overall", "els => els.map(e => e.getAttribute('aria-valuenow'))"
    )
    return [float(v) for v in values]


def shoot(page: Any, locator: Any, name: str) -> None:
    """test-artifacts/widget-<name>.png, copied to docs/images/ for the README."""
    locator.scroll_into_view_if_needed()
    time.sleep(0.3)
    screenshot(page, f"widget-{name}", target=locator, copy_to=DOCS_IMAGES / f"widget-{name}.png")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLabServer]:
    with running_lab(tmp_path_factory.mktemp("widgets-lab")) as server:
        yield server


@pytest.fixture(scope="module")
def session(lab: JupyterLabServer) -> Iterator[dict[str, Any]]:
    """The browser with the notebook open and running; records the page's WebSockets."""
    from playwright.sync_api import sync_playwright

    build_notebook(lab.root_dir, lab.base / "embedded-runs")
    sockets: list[str] = []
    samples: list[tuple[float, list[float], str]] = []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = new_page(browser, 1400, 1000)
        page.on("websocket", lambda ws: sockets.append(ws.url))
        open_lab(page, lab, f"lab/tree/{NOTEBOOK}")
        notebook = Notebook(page, NOTEBOOK)
        ready = "return !!panel && panel.sessionContext.isReady;"
        wait_for(lambda: notebook.js(ready), 60, "the kernel")
        notebook.run_all()
        yield {
            "root": lab.root_dir,
            "page": page,
            "notebook": notebook,
            "sockets": sockets,
            "samples": samples,
            "browser": browser,
        }
        browser.close()


# --------------------------------------------------------------------------- tests


def test_progress_reaches_100_while_the_kernel_is_busy(session: dict[str, Any]) -> None:
    page, notebook = session["page"], session["notebook"]
    page.wait_for_selector(".fj-run .fj-bar-overall", timeout=60_000)
    seen: list[tuple[float, str]] = []
    deadline = time.monotonic() + WATCH_SECONDS
    try:
        while time.monotonic() < deadline:
            values = bars(page)
            busy = notebook.cell_running("time.sleep(")
            if values:
                seen.append((values[0], busy))
                if values[0] >= 100:
                    break
            time.sleep(0.1)
    finally:
        (session["root"] / BUSY_RELEASE).touch()  # the busy cell may end
    assert seen and seen[-1][0] == 100, seen[-10:]
    # It got there while the kernel was busy (the busy cell after the run), moving on
    # the way (not only at the end).
    assert seen[-1][1], seen[-5:]
    assert any(0 < v < 100 and busy for v, busy in seen), seen
    view = page.locator(".fj-run").first
    wait_for(lambda: view.get_attribute("data-status") == "COMPLETED", 10, "COMPLETED")
    assert view.locator("[data-transport='direct']").count() == 1
    # The chart has one point per traffic load (400..1200 by 200).
    assert view.locator(".fj-chart-point").count() == 5
    shoot(page, view, "run-progress")


def test_relay_path_keeps_moving_while_the_kernel_is_busy(session: dict[str, Any]) -> None:
    """The embedded engine's run: its widget is fed by the kernel, whose next cell keeps
    it busy (the widget starts relaying when created, before the page could ask)."""
    page, notebook = session["page"], session["notebook"]
    view = page.locator(".fj-run:has([data-transport='relay'])").first
    view.wait_for(timeout=180_000)
    seen: list[tuple[float, bool]] = []
    deadline = time.monotonic() + WATCH_SECONDS
    try:
        while time.monotonic() < deadline:
            value = float(view.locator(".fj-bar-overall").get_attribute("aria-valuenow") or 0)
            seen.append((value, notebook.cell_running("relay-busy")))
            if value >= 100:
                break
            time.sleep(0.1)
    finally:
        (session["root"] / RELAY_RELEASE).touch()  # the relay's busy cell may end
    assert seen[-1] == (100.0, True), seen[-5:]
    assert any(0 < v < 100 and busy for v, busy in seen), seen
    wait_for(lambda: view.get_attribute("data-status") == "COMPLETED", 10, "COMPLETED")
    assert view.locator(".fj-chart-point").count() == 5
    shoot(page, view, "run-progress-relay")


def test_notebook_runs_to_the_end(session: dict[str, Any]) -> None:
    page, notebook = session["page"], session["notebook"]
    page.get_by_text("WIDGET-CELLS-DONE").first.wait_for(timeout=180_000)
    assert notebook.errors() == []
    assert notebook.kernel_eval("run.status") == "'COMPLETED'"
    used = notebook.kernel_eval(
        "[w.transport_used for w in (files, dash, launcher, again, relayed, relayed_log)]"
    )  # (the failing run's widget too is relayed: its client is embedded)
    assert used == "['direct', 'direct', 'direct', 'direct', 'relay', 'relay']"
    # The relayed log viewer (read through the kernel) shows and searches lines too.
    log = page.locator(".fj-log:has([data-transport='relay'])").first
    log.scroll_into_view_if_needed()
    wait_for(lambda: log.locator(".fj-log-line").count() > 5, 60, "relayed log lines")
    expected = notebook.kernel_eval(
        "sum('completed' in line.lower() for line in r2.logs().splitlines())"
    )
    log.locator(".fj-log-search").fill("Completed")
    log.locator(".fj-log-search").press("Enter")
    wait_for(lambda: f"/{expected} " in text(log.locator(".fj-log-count")), 20, "relayed matches")
    failing = page.locator(".fj-run", has_text="failing").first
    wait_for(lambda: failing.get_attribute("data-status") == "FAILED", 60, "FAILED")
    error = failing.locator(".fj-run-error")
    assert error.is_visible() and "exited with code 3" in text(error)
    assert "ERROR: the simulator gave up" in text(error)
    assert failing.locator("[data-action='cancel']").is_hidden()
    shoot(page, failing, "run-progress-failed")


def test_log_viewer_shows_and_searches(session: dict[str, Any]) -> None:
    page, notebook = session["page"], session["notebook"]
    expected = int(notebook.kernel_eval("run.logs().count('Mean of blocking')"))
    assert expected >= 5
    viewer = page.locator(".fj-log").first
    viewer.scroll_into_view_if_needed()
    lines = viewer.locator(".fj-log-line")
    wait_for(lambda: lines.count() > 5, 30, "log lines")
    assert "fusion" in text(viewer.locator(".fj-log-lines"))
    search = viewer.locator(".fj-log-search")
    search.fill("Mean of blocking")
    search.press("Enter")
    count = viewer.locator(".fj-log-count")
    wait_for(lambda: "/" in text(count), 10, "a current match")
    current, total = (int(n) for n in text(count).split()[0].split("/"))
    assert total == expected  # the first match is the next one from the view
    # The count is written at once; the list redraws its rows in the next frame.
    marks = viewer.locator("mark.fj-log-mark")
    wait_for(lambda: marks.count() >= 1, 10, "the matches marked")
    assert "Mean of blocking" in text(viewer.locator(".fj-log-current"))

    def position() -> int:
        return int(text(count).split("/")[0])

    viewer.locator("[data-action='next']").click()
    assert position() == current % total + 1
    for _ in range(current % total + 1):
        viewer.locator("[data-action='previous']").click()
    assert position() == total  # wrapped around to the last match
    assert viewer.get_attribute("data-follow") == "false"  # searching stops following
    with page.expect_download() as download:
        viewer.locator("[data-action='download']").click()
    saved = Path(download.value.path())
    assert saved.read_text() == notebook.kernel_eval("print(run.logs(), end='')")
    shoot(page, viewer, "log-viewer")


def test_load_into_pandas_puts_a_dataframe_in_the_kernel(session: dict[str, Any]) -> None:
    page, notebook = session["page"], session["notebook"]
    table = page.locator(".fj-art").first
    table.scroll_into_view_if_needed()
    row = table.locator("tr[data-path='output/results.csv']")
    row.wait_for(timeout=30_000)
    table.locator("th[data-sort='size']").click()  # sortable
    assert table.locator("th[data-sort='size']").get_attribute("aria-sort") == "descending"
    row.locator("[data-action='preview']").click()
    preview = table.locator(".fj-preview")
    preview.wait_for(timeout=30_000)
    assert preview.locator("tbody tr").count() == 5
    name = table.locator(".fj-art-name")
    assert name.input_value() == "results"
    name.fill("quick_results")
    table.locator("[data-action='load']").click()
    table.locator(".fj-art-loaded[data-loaded='quick_results']").wait_for(timeout=30_000)
    code = text(table.locator(".fj-code"))
    assert "quick_results = fj.connect().get(" in code and "results.csv" in code
    answer = notebook.kernel_eval(
        "import pandas as pd\n"
        "print(type(quick_results).__name__, len(quick_results), "
        "quick_results.equals(run.artifacts['output/results.csv'].load()))"
    )
    assert answer.strip() == "DataFrame 5 True"
    with page.expect_download() as download:
        row.locator("[data-action='download']").click()
    assert download.value.suggested_filename == "results.csv"
    assert Path(download.value.path()).read_text().startswith("erlang")
    shoot(page, table, "artifact-table")


def test_launcher_shows_field_errors_and_submits(session: dict[str, Any]) -> None:
    page, notebook = session["page"], session["notebook"]
    launcher = page.locator(".fj-launch").first
    launcher.scroll_into_view_if_needed()
    field = launcher.locator(".fj-field[data-field='general_settings.erlang_start']")
    field.wait_for(timeout=30_000)
    field.locator("input").fill("-5")
    error = field.locator(".fj-field-error")
    error.wait_for(state="visible", timeout=10_000)
    assert "must be greater than 0" in text(error)
    assert "fj-invalid" in str(field.get_attribute("class"))
    assert launcher.locator("[data-action='submit']").is_disabled()
    errors = json.loads(notebook.kernel_eval("import json; print(json.dumps(launcher.errors))"))
    assert [(e["section"], e["key"]) for e in errors] == [("general_settings", "erlang_start")]
    shoot(page, launcher, "launcher")
    # Fixed, named, submitted: the run's progress shows in place.
    field.locator("input").fill("400")
    wait_for(lambda: not error.is_visible(), 10, "the error to go")
    launcher.locator(".fj-field[data-field='general_settings.num_requests'] input").fill("500")
    launcher.locator("input[aria-label='Run name']").fill("from the launcher")
    launcher.locator("input[aria-label='Tags']").fill("widgets, browser")
    launcher.locator("[data-action='submit']").click()
    progress = launcher.locator(".fj-launch-result .fj-run")
    progress.wait_for(timeout=30_000)
    wait_for(lambda: bars(page, ".fj-launch-result .fj-run") == [100.0], 60, "the new run at 100 %")
    created = notebook.kernel_eval("print(launcher.run.name, sorted(launcher.run.tags))")
    assert created.strip() == "from the launcher ['browser', 'widgets']"


def test_launcher_builds_a_sweep_with_dropdowns_and_refuses_over_the_limit(
    session: dict[str, Any], lab: JupyterLabServer
) -> None:
    page, notebook = session["page"], session["notebook"]
    launcher = page.locator(".fj-launch").first
    launcher.scroll_into_view_if_needed()
    # Route and allocation method as dropdowns of what the built-in simulator runs.
    route = launcher.locator(".fj-field[data-field='general_settings.route_method'] select")
    route.wait_for(timeout=30_000)
    choices = {c["key"]: c["values"] for c in lab.api("GET", "simulators")["choices"]["builtin"]}
    options = "os => os.map(o => o.value)"
    assert route.locator("option").evaluate_all(options) == choices["route_method"]
    allocation = launcher.locator(
        ".fj-field[data-field='general_settings.allocation_method'] select option"
    )
    assert allocation.evaluate_all(options) == choices["allocation_method"]

    posts: list[str] = []

    def record(request: Any) -> None:
        if request.method == "POST" and "/fusion/api/sweeps" in request.url:
            posts.append(request.url)

    page.on("request", record)
    launcher.locator(".fj-launch-addAxis").click()
    axis = launcher.locator(".fj-launch-axis").first
    axis.locator(".fj-launch-axisKey").select_option("general_settings.max_iters")
    axis.locator(".fj-launch-axisMode").select_option("range")
    axis.locator("input[aria-label='Start']").fill("1")
    axis.locator("input[aria-label='Stop']").fill("50000")
    axis.locator("input[aria-label='Step']").fill("1")
    summary = launcher.locator(".fj-launch-gridSummary")
    wait_for(lambda: "over the server's limit" in text(summary), 10, "the limit refusal")
    submit = launcher.locator("[data-action='submit']")
    assert submit.is_disabled()
    screenshot(page, "widget-launcher-sweep", target=launcher)

    axis.locator("input[aria-label='Stop']").fill("2")
    wait_for(lambda: summary.get_attribute("data-runs") == "2", 10, "two runs")
    wait_for(lambda: text(submit) == "Submit sweep (2 runs)" and submit.is_enabled(), 30, "submit")
    assert posts == []
    # (Named apart from the run the test above submitted, which the dashboard's test finds.)
    launcher.locator("input[aria-label='Run name']").fill("iterations grid")
    submit.click()
    sweep_id = wait_for(
        lambda: notebook.kernel_eval("print(launcher.sweep_id)").strip(), 30, "the sweep id"
    )
    made = lab.api("GET", f"sweeps/{sweep_id}")
    assert made["sweep"]["grid"] == {"general_settings.max_iters": [1, 2]}
    assert made["sweep"]["name"] == "iterations grid"
    assert len(made["runs"]) == 2 and len(posts) == 1


def test_dashboard_lists_filters_and_compares(session: dict[str, Any]) -> None:
    page, notebook = session["page"], session["notebook"]
    dash = page.locator(".fj-dash").first
    dash.scroll_into_view_if_needed()
    rows = dash.locator(".fj-dash-row:not([hidden])")
    wait_for(lambda: rows.count() >= 2, 30, "runs in the dashboard")
    names = dash.locator(".fj-dash-name").all_text_contents()
    assert "quickstart" in names and "from the launcher" in names
    dash.locator(".fj-chip[data-status='RUNNING']").click()
    wait_for(lambda: "0 of" in text(dash.locator(".fj-toolbar .fj-muted")), 10, "filter")
    dash.locator(".fj-chip[data-status='RUNNING']").click()
    dash.locator("input[aria-label='Filter by name']").fill("launcher")
    wait_for(lambda: rows.count() == 1, 10, "name filter")
    dash.locator("input[aria-label='Filter by name']").fill("")
    wait_for(lambda: rows.count() >= 2, 10, "unfiltered")
    for name in ("quickstart", "from the launcher"):
        dash.locator(".fj-dash-row", has_text=name).locator("input[type=checkbox]").check()
    wait_for(lambda: dash.locator(".fj-compare [data-series]").count() == 2, 30, "two curves")
    assert dash.locator(".fj-chart-key").count() == 2
    assert json.loads(
        notebook.kernel_eval("import json; print(json.dumps([r.name for r in dash.selected_runs]))")
    ) in (
        ["quickstart", "from the launcher"],
        ["from the launcher", "quickstart"],
    )
    shoot(page, dash, "dashboard")
    # Cancel a long run, rerun one, delete one (a second click confirms).
    notebook.kernel_eval(
        "slow = client.submit('minimal', {'general_settings': {'num_requests': 200000, "
        "'max_iters': 8}}, name='slow one')",
        resend=False,
    )
    slow = dash.locator(".fj-dash-row", has_text="slow one")
    wait_for(lambda: slow.get_attribute("data-status") == "RUNNING", 30, "the slow run running")
    slow.locator("[data-action='cancel']").click()
    wait_for(lambda: slow.get_attribute("data-status") == "CANCELLED", 30, "CANCELLED")
    assert notebook.kernel_eval("slow.refresh().status") == "'CANCELLED'"
    launched = dash.locator(".fj-dash-row", has_text="from the launcher")
    launched.locator("[data-action='rerun']").click()
    wait_for(
        lambda: dash.locator(".fj-dash-row", has_text="from the launcher").count() == 2, 30, "rerun"
    )
    slow.locator("[data-action='delete']").click()
    # The row is redrawn on the next frame: wait for the button to ask.
    wait_for(lambda: text(slow.locator("[data-action='delete']")) == "Confirm", 10, "Confirm")
    slow.locator("[data-action='delete']").click()
    wait_for(lambda: dash.locator(".fj-dash-row", has_text="slow one").count() == 0, 30, "deleted")
    assert "NotFoundError" in notebook.kernel_eval(
        "try:\n    client.get(slow.id)\nexcept Exception as exc:\n    print(type(exc).__name__)"
    )


def test_one_socket_per_page_and_state_restored_on_reload(session: dict[str, Any]) -> None:
    page, notebook = session["page"], session["notebook"]
    # Every direct widget of the page shares one connection (one WebSocket; the
    # sidebar panel has its own); the run shown by several views is subscribed once.
    shared = page.evaluate(
        """() => [...globalThis.__fusionJupyterDirect_v1.values()].map(e => ({
             refs: e.refs, runs: e.connection.stream.subscribedRuns }))"""
    )
    run_id = notebook.kernel_eval("print(run.id)").strip()
    assert len(shared) == 1 and shared[0]["refs"] >= 5, shared
    assert shared[0]["runs"].count(run_id) <= 1
    widget_sockets = [u for u in session["sockets"] if "fusion/api/stream?token=" in u]
    assert len(widget_sockets) == 1, session["sockets"]
    views_before = page.locator(".fj-run").count()
    assert views_before >= 6  # run, again x2, relayed, failing, the launcher's
    # Reopen the notebook (saved, with its kernel still running): every view comes back
    # from the model's state (run_id) and catches up from the server or the kernel.
    notebook.js("await panel.context.save(); return null;")
    page.reload()
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60_000)
    wait_for(lambda: page.locator(".fj-run").count() == views_before, 60, "views back")

    def all_done() -> bool:
        views = page.eval_on_selector_all(
            ".fj-run",
            "els => els.map(e => [e.dataset.status,"
            " e.querySelector('.fj-bar-overall').getAttribute('aria-valuenow')])",
        )
        return all(s == "FAILED" or (s == "COMPLETED" and v == "100") for s, v in views)

    wait_for(all_done, 60, "every restored view finished, the completed ones at 100 %")
    first = page.locator(".fj-run").first
    assert first.locator(".fj-chart-point").count() == 5  # caught up from the history
    assert page.locator(".fj-log").first.locator(".fj-log-line").count() > 5
    assert notebook.kernel_eval("run.status") == "'COMPLETED'"
    widget_sockets = [u for u in session["sockets"] if "fusion/api/stream?token=" in u]
    assert len(widget_sockets) == 2  # one more for the reloaded page
