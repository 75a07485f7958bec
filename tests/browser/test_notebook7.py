"""The runs panel in Notebook 7, end to end: a real Jupyter server with Notebook 7 and the
extension (the stub simulator), a notebook page in Debian's chromium driven by Playwright.

Notebook 7's shell keeps one main-area widget a page (the notebook): "+ New run", "Open
log" and "Open artifacts" must still show something, and "insert code" must say what it
did (Notebook 7 shows no notifications). Tests run in file order on one page.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import wait_until
from tests.support.browser import (
    JupyterLabServer,
    launch_chromium,
    new_page,
    screenshot,
)
from tests.support.panel import FITS, PANEL, open_panel, row, stub_lab

NOTEBOOK = "nb7-test.ipynb"
CELLS = """() => {
    const nb = Array.from(window.jupyterapp.shell.widgets('main')).find(
        w => w.hasClass('jp-NotebookPanel'));
    return nb ? nb.content.model.sharedModel.cells.map(c => c.getSource()) : null;
}"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLabServer]:
    if importlib.util.find_spec("notebook") is None:
        pytest.fail("Notebook 7 tests need the notebook package (pip install -e '.[test]')")
    extra = ["--JupyterNotebookApp.expose_app_in_browser=True"]
    with stub_lab(tmp_path_factory.mktemp("nb7"), extra, extensions=("notebook",)) as server:
        yield server


@pytest.fixture(scope="module")
def page(lab: JupyterLabServer) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook = {"cells": [], "metadata": {"kernelspec": kernel}, "nbformat": 4, "nbformat_minor": 5}
    status, answer = lab.request(
        "PUT", f"api/contents/{NOTEBOOK}", {"type": "notebook", "content": notebook}
    )
    assert status in (200, 201), answer
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            pg = new_page(browser, 1400, 900)
            errors: list[str] = []
            pg.on("pageerror", lambda exc: errors.append(str(exc)))
            pg.goto(lab.lab_url(f"notebooks/{NOTEBOOK}"))
            pg.wait_for_selector(".jp-NotebookPanel", state="visible", timeout=60_000)
            pg.wait_for_function("() => !!window.jupyterapp", timeout=60_000)
            open_panel(pg)
            yield pg
            assert not [e for e in errors if "fusion" in e.lower()], errors
        finally:
            browser.close()


def test_the_page_is_notebook_7(page: Any) -> None:
    assert page.evaluate("() => window.jupyterapp.name") == "Jupyter Notebook"
    page.locator(PANEL).wait_for(state="visible", timeout=30_000)  # added as the app starts


def test_new_run_opens_the_form_and_starts_a_run(page: Any, lab: Any) -> None:
    page.click(f"{PANEL} .jp-FusionRuns-new")
    form = page.locator(".jp-FusionNewRun")
    form.wait_for(state="visible")
    submit = form.locator(".jp-FusionNewRun-submit")
    wait_until(lambda: submit.is_enabled(), 30, "a valid form")
    screenshot(page, "nb7-new-run")
    before = {r["id"] for r in lab.api("GET", "runs")["runs"]}
    submit.click()
    run_id = wait_until(
        lambda: ({r["id"] for r in lab.api("GET", "runs")["runs"]} - before or {None}).pop(),
        15,
        "the new run",
    )
    page.run_id = run_id
    page.wait_for_selector(f'{row(run_id)}[data-status="COMPLETED"]', timeout=60_000)


def test_open_log_shows_the_log(page: Any) -> None:
    page.click(f"{row(page.run_id)} .jp-FusionRun-log")
    log = page.locator(".jp-FusionLog")
    log.wait_for(state="visible")
    wait_until(lambda: log.inner_text().strip(), 30, "log text")


def test_open_artifacts_lists_the_files(page: Any) -> None:
    page.click(f"{row(page.run_id)} .jp-FusionRun-artifacts")
    view = page.locator(".jp-FusionArtifacts")
    view.wait_for(state="visible")
    wait_until(lambda: "config.ini" in view.inner_text(), 30, "config.ini listed")


def test_insert_code_goes_into_the_notebook_and_says_so(page: Any) -> None:
    run_id = page.run_id
    page.click(f"{row(run_id)} .jp-FusionRun-insert")
    notice = page.locator(f"{PANEL} .jp-FusionRuns-notice")
    notice.wait_for(state="visible")
    assert "Inserted code for run" in notice.inner_text() and NOTEBOOK in notice.inner_text()
    sources = wait_until(lambda: page.evaluate(CELLS), 10, "the notebook's cells")
    assert any(f'fj.connect().get("{run_id}")' in s for s in sources), sources


def test_failed_reason_and_labels(page: Any, lab: Any) -> None:
    failing = {"template": "minimal", "overrides": {"stub": {"exit_code": 3}}}
    run_id = lab.api("POST", "runs", failing)["id"]
    page.wait_for_selector(f'{row(run_id)}[data-status="FAILED"]', timeout=60_000)
    reason = page.locator(f"{row(run_id)} .jp-FusionRun-reason")
    assert reason.is_visible() and "3" in reason.inner_text()
    assert page.locator(PANEL).evaluate(FITS) == []
    screenshot(page, "nb7-panel", target=page.locator(PANEL))
