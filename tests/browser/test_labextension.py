"""The JupyterLab extension end to end: a real JupyterLab with the server extension on
127.0.0.1 (started here, with a token) and Debian's chromium driven by Playwright.

One JupyterLab and one browser page serve the whole module; the tests run in file
order and build on each other's runs (the first starts a run from the form, later
ones open its log, artifacts, code). Every wait is for a selector or a condition,
never a fixed sleep. Screenshots go to test-artifacts/; with
FUSION_JUPYTER_UPDATE_SCREENSHOTS=1 the panel's one is also copied to
docs/images/sidebar.png.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import REPO_ROOT, wait_until
from tests.support.browser import (
    JupyterLabServer,
    lab_page,
    running_lab,
    screenshot,
    wait_for_left_panel_saved,
)
from tests.support.notebook import Notebook
from tests.support.panel import PANEL, lab_command, open_panel, row

SIDEBAR_PNG = REPO_ROOT / "docs" / "images" / "sidebar.png"
DARK_PNG = REPO_ROOT / "docs" / "images" / "dark-theme.png"

# A run of a few seconds (the bar is seen moving) and one that would take minutes.
QUICK = {"general_settings": {"num_requests": 20000, "max_iters": 3}}
SLOW = {"general_settings": {"num_requests": 200000, "max_iters": 20}}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLabServer]:
    extra = ["--FusionJupyter.max_concurrent_runs=4"]
    with running_lab(tmp_path_factory.mktemp("lab"), extra) as server:
        yield server


@pytest.fixture(scope="module")
def page(lab: JupyterLabServer) -> Iterator[Any]:
    with lab_page(lab) as pg:
        yield pg


def watch_rows(page: Any) -> None:
    """Record every (run, status, percent) a row shows, as it changes (window.__fusionSeen)."""
    page.evaluate(
        """() => {
        if (window.__fusionSeen) return;
        window.__fusionSeen = [];
        const list = document.querySelector('#fusion-runs-panel .jp-FusionRuns-list');
        const note = el => el.dataset && el.dataset.runId && window.__fusionSeen.push(
            [el.dataset.runId, el.dataset.status, Number(el.dataset.percent)]);
        new MutationObserver(ms => ms.forEach(m => note(m.target))).observe(list, {
            subtree: true, attributes: true, attributeFilter: ['data-percent', 'data-status']});
    }"""
    )


def seen(page: Any, run_id: str) -> list[tuple[str, float]]:
    return [(s, p) for rid, s, p in page.evaluate("window.__fusionSeen") if rid == run_id]


# --------------------------------------------------------------------------- tests


def test_labextension_is_installed_enabled_and_ok(lab: JupyterLabServer) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "jupyter", "labextension", "list"],
        env=lab.env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", out.stdout + out.stderr)
    line = next((ln for ln in text.splitlines() if "fusion-jupyter" in ln), "")
    assert re.search(r"fusion-jupyter v\S+ enabled\s+OK", line), text
    assert "(python, fusion_jupyter)" in line


def test_panel_opens_with_its_own_icon(page: Any) -> None:
    tab = page.locator('.jp-SideBar .lm-TabBar-tab[data-id="fusion-runs-panel"]')
    assert tab.count() == 1
    assert tab.locator("svg").count() == 1
    tab.click()
    open_panel(page)
    page.wait_for_selector(f"{PANEL} .jp-FusionRuns-empty:has-text('No runs yet')")


def test_new_run_form_validates_inline_and_starts_a_run_seen_to_100(page: Any, lab: Any) -> None:
    open_panel(page)
    watch_rows(page)
    page.click(f"{PANEL} .jp-FusionRuns-new")
    form = page.locator("#fusion-new-run")
    form.wait_for()
    page.wait_for_selector(
        '#fusion-new-run select[name="template"] option[value="minimal"]', state="attached"
    )
    max_iters = form.locator('input[name="general_settings.max_iters"]')
    max_iters.wait_for()
    submit = form.locator(".jp-FusionNewRun-submit")
    page.wait_for_function(
        "() => !document.querySelector('#fusion-new-run .jp-FusionNewRun-submit').disabled"
    )

    # A value of the wrong type: refused at once, in place, Submit disabled.
    max_iters.fill("three")
    key = form.locator('[data-key="general_settings.max_iters"]')
    key.locator(".jp-FusionNewRun-error:has-text('integer')").wait_for()
    assert submit.is_disabled()
    # A well-typed value the server refuses: its message lands next to the field.
    max_iters.fill("0")
    key.locator(".jp-FusionNewRun-error").filter(has_text=re.compile(r"\S")).wait_for()
    assert "jp-mod-invalid" in (key.get_attribute("class") or "")
    assert submit.is_disabled()
    screenshot(page, "labext-new-run-form-error")

    max_iters.fill(str(QUICK["general_settings"]["max_iters"]))
    form.locator('input[name="general_settings.num_requests"]').fill(
        str(QUICK["general_settings"]["num_requests"])
    )
    form.locator('input[name="name"]').fill("from the form")
    form.locator('input[name="tags"]').fill("browser, form")
    page.wait_for_function(
        "() => !document.querySelector('#fusion-new-run .jp-FusionNewRun-submit').disabled"
    )
    assert key.locator(".jp-FusionNewRun-error").inner_text() == ""
    submit.click()
    form.locator(".jp-FusionNewRun-message:has-text('Started run')").wait_for()
    run_id = re.search(r"Started run (\w+)", form.locator(".jp-FusionNewRun-message").inner_text())[
        1
    ]
    page.test_run_id = run_id

    # The server has exactly what the form sent.
    run = lab.api("GET", f"runs/{run_id}")
    assert run["name"] == "from the form"
    assert sorted(run["tags"]) == ["browser", "form"]
    assert run["overrides"]["general_settings"]["num_requests"] in (20000, "20000")

    # The panel shows it, live, up to 100 %.
    open_panel(page)
    page.wait_for_selector(row(run_id))
    page.wait_for_selector(
        f'{row(run_id)}[data-status="COMPLETED"][data-percent="100"]', timeout=90_000
    )
    history = seen(page, run_id)
    statuses = [s for s, _ in history]
    assert "RUNNING" in statuses, history
    moving = sorted({p for s, p in history if s == "RUNNING" and 0 < p < 100})
    assert moving, f"the bar never showed a value between 0 and 100: {history}"
    bar = page.locator(f"{row(run_id)} .jp-FusionRun-bar")
    assert bar.get_attribute("aria-valuenow") == "100"
    assert bar.locator(".jp-FusionRun-fill").evaluate("e => e.style.transform") == "scaleX(1)"
    screenshot(page, "labext-panel-completed")


def test_new_run_form_runs_a_pasted_ini_and_shows_the_simulator(page: Any, lab: Any) -> None:
    open_panel(page)
    page.click(f"{PANEL} .jp-FusionRuns-new")
    form = page.locator("#fusion-new-run")
    form.wait_for()
    # Which simulator will run it: the server's default, FUSION disabled (not installed
    # on the test server), with the setting to change.
    simulator = form.locator(".jp-FusionNewRun-simulator")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#fusion-new-run .jp-FusionNewRun-simulator option')]"
        ".some(o => o.value === 'fusion' && o.disabled)"
    )
    assert simulator.input_value() == "builtin"
    assert "(default)" in simulator.locator('option[value="builtin"]').inner_text()
    note = form.locator(".jp-FusionNewRun-simulator-note").inner_text()
    assert "c.FusionJupyter.fusion_command" in note
    # One error per field, never the local and the server's message repeated.
    max_iters = form.locator('input[name="general_settings.max_iters"]')
    max_iters.wait_for()
    max_iters.fill("abc")
    error = form.locator('[data-key="general_settings.max_iters"] .jp-FusionNewRun-error')
    error.filter(has_text="whole number").wait_for()
    assert ";" not in error.inner_text(), error.inner_text()

    form.locator('select[name="template"]').select_option(label="Your own INI file…")
    ini = form.locator(".jp-FusionNewRun-ini")
    ini.wait_for()
    text = lab.api("GET", "templates/minimal")["text"]
    ini.fill(text.replace("is_grooming_enabled = False\n", ""))
    message = form.locator(".jp-FusionNewRun-message")
    message.filter(has_text="Missing required option 'is_grooming_enabled'").wait_for()
    submit = form.locator(".jp-FusionNewRun-submit")
    assert submit.is_disabled()
    quick = text.replace("max_iters = 2", "max_iters = 1")
    ini.fill(quick)
    message.filter(has_text="the built-in simulator will run it").wait_for()
    page.wait_for_function(
        "() => !document.querySelector('#fusion-new-run .jp-FusionNewRun-submit').disabled"
    )
    screenshot(page, "labext-new-run-own-ini")
    form.locator('input[name="name"]').fill("pasted")
    submit.click()
    message.filter(has_text="Started run").wait_for()
    run_id = re.search(r"Started run (\w+)", message.inner_text())[1]
    run = lab.api("GET", f"runs/{run_id}")
    assert (run["name"], run["template"], run["simulator"]) == ("pasted", "", "builtin")
    # Leave the panel as the later tests expect it: one finished run, one slow one.
    wait_until(lambda: lab.api("GET", f"runs/{run_id}")["status"] == "COMPLETED", 60, "the run")
    page.wait_for_selector(row(run_id))
    lab.api("DELETE", f"runs/{run_id}?purge=true")
    # And settled: the next test clicks a button of the row below this one, which moves up
    # when this row goes. Clicked while it moved, the click fell on empty space and no log
    # tab opened (CI, 2026-12-02).
    page.wait_for_selector(row(run_id), state="detached")


def test_log_tab_is_live_and_searchable(page: Any) -> None:
    run_id = page.test_run_id
    page.click(f"{row(run_id)} .jp-FusionRun-log")
    log = page.locator(f"#fusion-log-{run_id}")
    log.wait_for()
    log.locator(".jp-FusionLog-line").first.wait_for()
    tab = page.locator('.lm-DockPanel-tabBar .lm-TabBar-tab:has-text("Log: from the form")')
    assert tab.count() == 1
    search = log.locator(".jp-FusionLog-search")
    search.fill("erlang")
    log.locator(".jp-FusionLog-count").filter(has_text=re.compile(r"^1 of \d+$")).wait_for()
    # The count and the highlighted lines render in separate frames: wait for both.
    log.locator(".jp-FusionLog-line mark").first.wait_for()
    total = int(log.locator(".jp-FusionLog-count").inner_text().split(" of ")[1])
    if total > 1:
        log.locator(".jp-FusionLog-next").click()
        log.locator(".jp-FusionLog-count").filter(has_text=re.compile(r"^2 of ")).wait_for()
    search.fill("no such text anywhere")
    log.locator(".jp-FusionLog-count:has-text('no match')").wait_for()
    search.fill("erlang")
    screenshot(page, "labext-log-tab")


def test_artifacts_tab_lists_downloads_and_opens_files(page: Any, lab: Any) -> None:
    run_id = page.test_run_id
    page.click(f"{row(run_id)} .jp-FusionRun-artifacts")
    view = page.locator(f"#fusion-artifacts-{run_id}")
    view.locator("tr[data-path]").first.wait_for()
    paths = view.locator("tr[data-path]").evaluate_all("rs => rs.map(r => r.dataset.path)")
    expected = {a["path"] for a in lab.api("GET", f"runs/{run_id}/artifacts")["artifacts"]}
    assert set(paths) == expected
    config_row = view.locator('tr[data-path="config.ini"]')
    with page.expect_download() as dl:
        config_row.locator('[data-action="download"]').click()
    downloaded = Path(dl.value.path()).read_text()
    assert "[general_settings]" in downloaded
    # The run directory is inside the server root: the file opens in JupyterLab's editor.
    config_row.locator('[data-action="open"]').click()
    page.wait_for_selector('.lm-DockPanel-tabBar .lm-TabBar-tab:has-text("config.ini")')
    page.wait_for_selector(".jp-FileEditor .cm-content:has-text('general_settings')")
    screenshot(page, "labext-artifacts-tab")


def test_cancel_a_slow_run_from_the_panel(page: Any, lab: Any) -> None:
    open_panel(page)
    # Started elsewhere (REST): the panel hears of it through the stream, no reload.
    run = lab.api(
        "POST",
        "runs",
        {"template": "minimal", "name": "slow one", "tags": ["slow"], "overrides": SLOW},
    )
    page.wait_for_selector(f'{row(run["id"])}[data-status="RUNNING"]', timeout=30_000)
    page.wait_for_function(
        f"() => Number(document.querySelector('{row(run['id'])}')?.dataset.percent) > 0",
        timeout=60_000,
    )
    screenshot(page, "labext-panel-running")
    # For the README: the panel beside the slow run's live log.
    page.click(f"{row(run['id'])} .jp-FusionRun-log")
    lines = f"#fusion-log-{run['id']} .jp-FusionLog-line"
    page.locator(lines).first.wait_for()
    # Live: the running simulator's next lines arrive without any action.
    last_line = (
        f"() => Math.max(...[...document.querySelectorAll('{lines}')].map(e => +e.dataset.line))"
    )
    before = page.evaluate(last_line)
    page.wait_for_function(f"() => ({last_line})() > {before}", timeout=60_000)
    screenshot(
        page,
        "sidebar",
        copy_to=SIDEBAR_PNG if os.environ.get("FUSION_JUPYTER_UPDATE_SCREENSHOTS") else None,
    )
    page.click(f"{row(run['id'])} .jp-FusionRun-cancel")
    page.wait_for_selector(f'{row(run["id"])}[data-status="CANCELLED"]', timeout=30_000)
    assert lab.api("GET", f"runs/{run['id']}")["status"] == "CANCELLED"
    assert page.locator(f"{row(run['id'])} .jp-FusionRun-cancel").is_hidden()
    page.slow_run_id = run["id"]
    screenshot(page, "labext-panel-cancelled")


def test_filter_by_status_and_tag_and_search_by_name(page: Any) -> None:
    done, slow = page.test_run_id, page.slow_run_id
    shown = lambda: page.locator(f"{PANEL} .jp-FusionRun:not([hidden])").evaluate_all(  # noqa: E731
        "rs => rs.map(r => r.dataset.runId).sort()"
    )
    search = page.locator(f"{PANEL} .jp-FusionRuns-search")
    search.fill("slow")
    wait_until(lambda: shown() == [slow], 10, "search by name")
    search.fill("")
    page.select_option(f"{PANEL} .jp-FusionRuns-statusFilter", "COMPLETED")
    wait_until(lambda: shown() == [done], 10, "status filter")
    page.select_option(f"{PANEL} .jp-FusionRuns-statusFilter", "")
    page.select_option(f"{PANEL} .jp-FusionRuns-tagFilter", "slow")
    wait_until(lambda: shown() == [slow], 10, "tag filter")
    page.select_option(f"{PANEL} .jp-FusionRuns-tagFilter", "")
    wait_until(lambda: shown() == sorted([done, slow]), 10, "no filter")


def test_palette_has_the_commands(page: Any) -> None:
    page.keyboard.press("Control+Shift+C")
    palette = page.locator("#command-palette")
    palette.locator("input").fill("FUSION")
    for label in (
        "New FUSION Run",
        "Open FUSION Runs Panel",
        "Cancel FUSION Run",
        "Reload FUSION Runs",
    ):
        palette.locator(f".lm-CommandPalette-item:has-text('{label}')").first.wait_for(
            state="attached"
        )
    page.keyboard.press("Escape")


def test_rerun_then_delete(page: Any, lab: Any) -> None:
    slow = page.slow_run_id
    before = {r["id"] for r in lab.api("GET", "runs")["runs"]}
    page.click(f"{row(slow)} .jp-FusionRun-rerun")
    new_id = wait_until(
        lambda: ({r["id"] for r in lab.api("GET", "runs")["runs"]} - before or {None}).pop(),
        15,
        "rerun",
    )
    page.wait_for_selector(row(new_id))
    assert lab.api("GET", f"runs/{new_id}")["rerun_of"] == slow
    lab.api("POST", f"runs/{new_id}/cancel")
    page.wait_for_selector(f'{row(new_id)}[data-status="CANCELLED"]')
    page.click(f"{row(new_id)} .jp-FusionRun-delete")
    page.click(".jp-Dialog button.jp-mod-warn")
    page.wait_for_selector(row(new_id), state="detached")
    assert lab.request("GET", f"fusion/api/runs/{new_id}")[0] == 404


def test_reconnects_and_catches_up_after_a_server_restart(page: Any, lab: JupyterLabServer) -> None:
    open_panel(page)
    run = lab.api(
        "POST", "runs", {"template": "minimal", "name": "across restart", "overrides": QUICK}
    )
    page.wait_for_selector(row(run["id"]))
    lab.stop()
    page.wait_for_selector(
        f'{PANEL} .jp-FusionRuns-conn[data-state="reconnecting"]', timeout=20_000
    )
    lab.start()
    page.wait_for_selector(f'{PANEL} .jp-FusionRuns-conn[data-state="open"]', timeout=30_000)
    # JupyterLab itself may have complained about the lost server meanwhile.
    dialog_close = page.locator(".jp-Dialog button:has-text('Close')")
    if dialog_close.count():
        dialog_close.first.click()
    # The run went on while the server was away (on_shutdown=detach): the panel catches up.
    page.wait_for_selector(
        f'{row(run["id"])}[data-status="COMPLETED"][data-percent="100"]', timeout=90_000
    )
    # And live updates flow again on the new connection.
    again = lab.api("POST", "runs", {"template": "minimal", "name": "after restart"})
    page.wait_for_selector(f'{row(again["id"])}[data-status="COMPLETED"]', timeout=90_000)
    screenshot(page, "labext-after-restart")


def test_panel_is_restored_with_the_layout(page: Any, lab: JupyterLabServer) -> None:
    open_panel(page)
    wait_for_left_panel_saved(lab, "fusion-runs-panel")
    page.reload()
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60_000)
    # Not clicked: the restorer brings the panel back as it was.
    page.wait_for_selector(f"{PANEL}:not(.lm-mod-hidden)", timeout=30_000)
    page.wait_for_selector(row(page.test_run_id), timeout=30_000)


def test_setting_limits_the_finished_runs_shown(page: Any, lab: JupyterLabServer) -> None:
    def set_max(raw: str) -> None:
        status, answer = lab.request("PUT", "lab/api/settings/fusion-jupyter:plugin", {"raw": raw})
        assert status == 204, answer
        page.reload()
        page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60_000)
        open_panel(page)

    newest = lab.api("GET", "runs?limit=1")["runs"][0]["id"]
    set_max('{"maxFinishedRuns": 1}')
    page.wait_for_selector(f"{PANEL} .jp-FusionRuns-summary:has-text('1 shown')")
    page.wait_for_selector(row(newest))
    assert page.locator(f"{PANEL} .jp-FusionRun[data-run-id]").count() == 1
    set_max("{}")
    page.wait_for_selector(row(page.test_run_id))


# The sources of the open notebook's cells once it has exactly the two inserted ones.
INSERTED_CELLS = """() => {
    const nb = Array.from(window.jupyterapp.shell.widgets('main')).find(
        w => w.hasClass('jp-NotebookPanel'));
    const cells = nb ? nb.content.model.sharedModel.cells : [];
    return cells.length === 2 ? cells.map(c => c.getSource()) : null;
}"""


def test_insert_code_into_a_notebook_and_run_it(page: Any) -> None:
    run_id = page.test_run_id
    lab_command(page, "notebook:create-new", {"kernelName": "python3"})
    notebook = page.locator(".jp-NotebookPanel")
    notebook.wait_for(state="attached")
    page.click('.lm-DockPanel-tabBar .lm-TabBar-tab:has-text("Untitled.ipynb")')
    notebook.wait_for()
    page.click(f"{row(run_id)} .jp-FusionRun-insert")
    cells = notebook.locator(".jp-CodeCell")
    sources = wait_until(
        lambda: page.evaluate(INSERTED_CELLS),
        10,
        "two inserted cells",
    )
    assert sources == [
        f'import fusion_jupyter as fj\nrun = fj.connect().get("{run_id}")',
        "run.results()",
    ]
    page.click('.lm-DockPanel-tabBar .lm-TabBar-tab:has-text("Untitled.ipynb")')
    notebook.wait_for()
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
    # A new notebook may start two kernels and shut the first down (JupyterLab's own race):
    # "idle" can be the first one's, and cells sent then are lost with it. A kernel that
    # answers is the session's final one.
    Notebook(page, "Untitled.ipynb").kernel_eval("'ready'")
    lab_command(page, "notebook:run-all-cells")
    # Either the results table of the second cell, or an error in one of them.
    table = cells.nth(1).locator(".jp-OutputArea-output table")
    error = notebook.locator(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'],"
        " .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']"
    )
    try:
        table.or_(error).first.wait_for(timeout=90_000)
    except Exception:
        screenshot(page, "labext-notebook-code-timeout")
        raise
    if error.count():
        screenshot(page, "labext-notebook-code-error")
        text = error.first.inner_text()
        pytest.fail(f"the inserted code failed in the kernel:\n{text}")
    header = table.first.locator("th").all_inner_texts()
    assert any("erlang" in h.lower() for h in header), header
    screenshot(page, "labext-notebook-code")


CLOSE_NOTEBOOKS = """() => {
    for (const w of Array.from(window.jupyterapp.shell.widgets('main'))) {
        if (w.hasClass('jp-NotebookPanel')) { w.context.model.dirty = false; w.dispose(); }
    }
    return true;
}"""


CONTRAST = """(el) => {
    const rgb = c => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
    const lum = c => {
        const [r, g, b] = rgb(c).map(v => v / 255).map(
            v => v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4));
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const fg = getComputedStyle(el.querySelector('.jp-FusionRun-name')).color;
    const bg = getComputedStyle(el).backgroundColor;
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    return (a + 0.05) / (b + 0.05);
}"""


def test_a_selected_row_is_readable_in_the_dark_theme(page: Any) -> None:
    run_id = page.test_run_id
    open_panel(page)
    lab_command(page, "apputils:change-theme", {"theme": "JupyterLab Dark"})
    try:
        page.wait_for_selector("body[data-jp-theme-light='false']", state="attached")
        page.click(f"{row(run_id)} .jp-FusionRun-name")
        selected = page.locator(f"{row(run_id)}.jp-mod-selected")
        selected.wait_for()
        ratio = wait_until(lambda: selected.evaluate(CONTRAST), 5, "a computed contrast")
        assert ratio >= 4.5, f"selected row text contrast {ratio:.2f} in the dark theme"
        screenshot(page, "labext-dark-theme", copy_to=DARK_PNG)
    finally:
        lab_command(page, "apputils:change-theme", {"theme": "JupyterLab Light"})
        page.wait_for_selector("body[data-jp-theme-light='true']", state="attached")


def test_insert_code_with_no_notebook_open_makes_one_without_errors(page: Any) -> None:
    run_id = page.test_run_id
    open_panel(page)
    page.evaluate(CLOSE_NOTEBOOKS)
    page.wait_for_function(
        "() => !Array.from(window.jupyterapp.shell.widgets('main'))"
        ".some(w => w.hasClass('jp-NotebookPanel'))"
    )
    before = len(page.errors)
    page.click(f"{row(run_id)} .jp-FusionRun-insert")
    page.locator(".jp-toast-message:has-text('Inserted code for run')").wait_for(timeout=30_000)
    sources = wait_until(
        lambda: page.evaluate(INSERTED_CELLS),
        30,
        "a new notebook with the two cells",
    )
    assert sources[1] == "run.results()"
    assert page.errors[before:] == []
    page.evaluate(CLOSE_NOTEBOOKS)
