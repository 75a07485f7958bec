"""Sweeps in the runs panel and the New-run form's sweep builder and dropdowns, end to end:
a real JupyterLab (the stub simulator, so a grid point can be made to fail or to wait)
and Debian's chromium driven by Playwright.

One JupyterLab and one page serve the module; tests run in file order. Every wait is
for a selector or a condition, never a fixed sleep.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import wait_until
from tests.support.browser import JupyterLabServer, lab_page, screenshot
from tests.support.panel import FITS, PANEL, lab_command, open_panel, row, stub_lab

NEVER = {"stub": {"wait_for": "/nonexistent/never", "wait_timeout": 120}}
TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")


def sweep_row(sweep_id: str) -> str:
    return f'{PANEL} .jp-FusionSweep[data-sweep-id="{sweep_id}"]'


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLabServer]:
    with stub_lab(tmp_path_factory.mktemp("sweeps")) as server:
        yield server


@pytest.fixture(scope="module")
def page(lab: JupyterLabServer) -> Iterator[Any]:
    with lab_page(lab) as pg:
        open_panel(pg)
        yield pg


def settled(lab: JupyterLabServer, sweep_id: str, timeout: float = 60) -> dict[str, Any]:
    """The sweep once none of its runs is active."""

    def done() -> dict[str, Any] | None:
        body: dict[str, Any] = lab.api("GET", f"sweeps/{sweep_id}")
        return body if all(r["status"] in TERMINAL for r in body["runs"]) else None

    return wait_until(done, timeout, f"sweep {sweep_id} settled", interval=0.1)


def test_a_sweep_is_one_row_that_expands_with_its_counts(page: Any, lab: Any) -> None:
    body = {"template": "minimal", "grid": {"stub.exit_code": [0, 0, 3]}, "name": "grid-a"}
    made = lab.api("POST", "sweeps", body)
    sweep_id, runs = made["sweep"]["id"], made["runs"]
    failed = settled(lab, sweep_id)
    failed_id = next(r["id"] for r in failed["runs"] if r["status"] == "FAILED")
    page.sweep_id, page.failed_id = sweep_id, failed_id

    sweep = page.locator(sweep_row(sweep_id))
    page.wait_for_selector(f'{sweep_row(sweep_id)}[data-done="2"][data-failed="1"]')
    assert sweep.locator(".jp-FusionSweep-name").inner_text() == "grid-a"
    assert sweep.locator(".jp-FusionSweep-size").inner_text() == "3 runs"
    assert sweep.locator(".jp-FusionSweep-counts").inner_text() == "2 done · 1 failed"
    assert sweep.locator(".jp-FusionRun-meta").inner_text() == "exit_code \u00d7 3"
    # Collapsed: one row for the sweep, none for its runs.
    assert all(page.locator(row(r["id"])).count() == 0 for r in runs)
    assert sweep.get_attribute("aria-expanded") == "false"

    sweep.locator(".jp-FusionSweep-caret").click()
    for r in runs:
        page.wait_for_selector(f"{row(r['id'])}.jp-mod-child")
    assert sweep.get_attribute("aria-expanded") == "true"
    # The failed run says why on its own line, not only in a tooltip.
    reason = page.locator(f"{row(failed_id)} .jp-FusionRun-reason")
    assert reason.is_visible()
    text = reason.inner_text()
    error = next(r["error"] for r in failed["runs"] if r["id"] == failed_id)
    assert "3" in text and error.startswith(text.rstrip("…")), (text, error)
    box, line = reason.bounding_box(), page.locator(f"{row(failed_id)}").bounding_box()
    assert box["width"] > 0.6 * line["width"], (box, line)  # the row's width, not a sliver
    screenshot(page, "panel-sweep-expanded", target=page.locator(PANEL))

    sweep.locator(".jp-FusionSweep-caret").click()
    for r in runs:
        page.wait_for_selector(row(r["id"]), state="detached")


def test_whole_sweep_rerun_failed_then_delete(page: Any, lab: Any) -> None:
    sweep_id, failed_id = page.sweep_id, page.failed_id
    sweep = page.locator(sweep_row(sweep_id))
    sweep.hover()
    sweep.locator(".jp-FusionSweep-rerunFailed").click()
    rerun = wait_until(
        lambda: next(
            (r for r in lab.api("GET", f"sweeps/{sweep_id}")["runs"] if r["rerun_of"] == failed_id),
            None,
        ),
        15,
        "the failed run's rerun",
    )
    assert rerun["sweep_id"] == sweep_id
    settled(lab, sweep_id)
    # Still three points: the rerun (failing again, exit code 3) replaces the first try.
    page.wait_for_selector(f'{sweep_row(sweep_id)}[data-done="2"][data-failed="1"]')
    assert sweep.locator(".jp-FusionSweep-size").inner_text() == "3 runs"

    sweep.hover()
    sweep.locator(".jp-FusionSweep-delete").click()
    page.click(".jp-Dialog button.jp-mod-warn")
    page.wait_for_selector(sweep_row(sweep_id), state="detached")
    assert lab.request("GET", f"fusion/api/sweeps/{sweep_id}")[0] == 404
    assert lab.request("GET", f"fusion/api/runs/{failed_id}")[0] == 404


def test_whole_sweep_cancel_and_no_delete_while_active(page: Any, lab: Any) -> None:
    body = {"template": "minimal", "grid": {"general_settings.max_iters": [1, 2]}}
    made = lab.api("POST", "sweeps", {**body, "overrides": NEVER})
    sweep_id = made["sweep"]["id"]
    sweep = page.locator(sweep_row(sweep_id))
    page.wait_for_selector(f'{sweep_row(sweep_id)}[data-running="2"]')
    assert sweep.locator(".jp-FusionSweep-delete").is_hidden()
    sweep.hover()
    assert sweep.locator(".jp-FusionSweep-cancel").is_visible()

    # Deleting anyway (the command, not the hidden button) is refused, and says why.
    page.evaluate(
        "([c, a]) => window.jupyterapp.commands.execute(c, a)",
        ["fusion:delete-sweep", {"id": sweep_id, "confirm": False}],
    )
    notice = page.locator(f"{PANEL} .jp-FusionRuns-notice.jp-mod-error")
    notice.wait_for()
    assert "active run" in notice.inner_text() and "cancel the sweep" in notice.inner_text()
    page.locator(".jp-Dialog .jp-Dialog-footer button").last.click()  # the error dialog
    assert lab.request("GET", f"fusion/api/sweeps/{sweep_id}")[0] == 200

    sweep.hover()
    sweep.locator(".jp-FusionSweep-cancel").click()
    page.wait_for_selector(f'{sweep_row(sweep_id)}[data-cancelled="2"]', timeout=30_000)
    assert {r["status"] for r in settled(lab, sweep_id)["runs"]} == {"CANCELLED"}
    assert sweep.locator(".jp-FusionSweep-delete").get_attribute("hidden") is None


def test_a_running_sweep_shows_its_progress_and_an_eta(page: Any, lab: Any) -> None:
    # Six runs of about 6 s, four at a time: two wait, and the ETA counts them in.
    slow = {"stub": {"delay": 0.5}, "general_settings": {"max_iters": 4}}
    grid = {"routing_settings.k_paths": [1, 2, 3, 4, 5, 6]}
    made = lab.api("POST", "sweeps", {"template": "minimal", "grid": grid, "overrides": slow})
    sweep_id = made["sweep"]["id"]
    counts = page.locator(f"{sweep_row(sweep_id)} .jp-FusionSweep-counts")

    def eta_while_waiting() -> str | None:
        text = counts.inner_text()
        return text if "ETA" in text and "pending" in text else None

    text = wait_until(eta_while_waiting, 30, "an ETA while runs wait", interval=0.1)
    # The waiting runs are in it: never "0s" while two runs have not started.
    assert re.search(r"ETA [1-9]", text), text
    numbers = [int(n) for n in re.findall(r"(\d+) (?:done|running|pending)", text)]
    assert sum(numbers) == 6, text
    bar = page.locator(f"{sweep_row(sweep_id)} .jp-FusionRun-bar")
    wait_until(lambda: float(bar.get_attribute("aria-valuenow") or 0) > 0, 30, "progress")
    lab.api("POST", f"sweeps/{sweep_id}/cancel")
    settled(lab, sweep_id)


def open_form(page: Any) -> Any:
    lab_command(page, "fusion:new-run")
    form = page.locator(".jp-FusionNewRun")
    form.wait_for()
    page.wait_for_selector('.jp-FusionNewRun-key[data-key="general_settings.max_iters"]')
    return form


def test_builder_counts_runs_estimates_and_refuses_over_the_limit(page: Any, lab: Any) -> None:
    posts: list[str] = []
    page.on(
        "request",
        lambda r: (
            posts.append(r.url) if r.method == "POST" and "/fusion/api/sweeps" in r.url else None
        ),
    )
    # A finished run of the template gives the estimate its pace.
    done = lab.api("POST", "runs", {"template": "minimal"})["id"]
    wait_until(lambda: lab.api("GET", f"runs/{done}")["status"] == "COMPLETED", 30, "a run")
    form = open_form(page)
    form.locator(".jp-FusionNewRun-addAxis").click()
    first = form.locator(".jp-FusionNewRun-axis").nth(0)
    first.locator(".jp-FusionNewRun-axisKey").select_option("general_settings.max_iters")
    first.locator("input[aria-label='Values']").fill("1, 2, 3")
    form.locator(".jp-FusionNewRun-addAxis").click()
    second = form.locator(".jp-FusionNewRun-axis").nth(1)
    second.locator(".jp-FusionNewRun-axisKey").select_option("general_settings.erlang_start")
    second.locator(".jp-FusionNewRun-axisMode").select_option("range")
    assert second.locator("input[aria-label='Values']").is_hidden()
    second.locator("input[aria-label='Start']").fill("100")
    second.locator("input[aria-label='Stop']").fill("200")
    second.locator("input[aria-label='Step']").fill("100")
    summary = form.locator(".jp-FusionNewRun-gridSummary")
    page.wait_for_selector('.jp-FusionNewRun-gridSummary[data-runs="6"]')
    assert summary.inner_text().startswith("6 runs · about "), summary.inner_text()
    assert "4 at a time" in summary.inner_text()
    screenshot(page, "newrun-sweep-builder", target=form.locator(".jp-FusionNewRun-grid"))
    submit = form.locator(".jp-FusionNewRun-submit")
    wait_until(lambda: submit.inner_text() == "Start sweep (6 runs)", 10, "the sweep button")

    second.locator("input[aria-label='Stop']").fill("1000000")
    page.wait_for_selector(".jp-FusionNewRun-gridSummary.jp-mod-error")
    assert "over the server's limit of 10000" in summary.inner_text()
    assert submit.is_disabled()
    # Even a submit forced past the disabled button sends nothing.
    page.evaluate("document.querySelector('.jp-FusionNewRun-form').requestSubmit()")
    message = form.locator(".jp-FusionNewRun-message.jp-mod-error")
    message.wait_for()
    assert "over the server's limit" in message.inner_text()
    assert posts == []

    second.locator("input[aria-label='Stop']").fill("200")
    wait_until(lambda: submit.is_enabled(), 15, "a valid form")
    before = {s["id"] for s in lab.api("GET", "sweeps")["sweeps"]}
    submit.click()
    sweep_id = wait_until(
        lambda: ({s["id"] for s in lab.api("GET", "sweeps")["sweeps"]} - before or {None}).pop(),
        15,
        "the new sweep",
    )
    made = lab.api("GET", f"sweeps/{sweep_id}")
    assert made["sweep"]["grid"] == {
        "general_settings.max_iters": [1, 2, 3],
        "general_settings.erlang_start": [100, 200],
    }
    assert len(made["runs"]) == 6
    # The panel shows it at once, expanded.
    page.wait_for_selector(f'{sweep_row(sweep_id)}[aria-expanded="true"]')
    assert len(posts) == 1  # (Playwright delivers the page's events while it waits)
    settled(lab, sweep_id)


def option_values(page: Any, key: str) -> list[str]:
    return page.locator(f'.jp-FusionNewRun select[name="{key}"] option').evaluate_all(
        "os => os.map(o => o.value)"
    )


def test_dropdowns_offer_what_each_simulator_runs(page: Any, lab: Any) -> None:
    server = lab.api("GET", "simulators")["choices"]
    form = open_form(page)
    keys = ["general_settings.route_method", "general_settings.allocation_method"]
    keys.append("topology_settings.network")
    template = lab.api("GET", "templates/minimal")["sections"]
    for simulator in ("builtin", "fusion", "builtin"):
        form.locator(".jp-FusionNewRun-simulator").select_option(simulator)
        for key in keys:
            section, name = key.split(".")
            want = next(c["values"] for c in server[simulator] if c["key"] == name)
            current = template[section][name]["value"]
            expected = want if current in want else [current, *want]
            wait_until(lambda k=key, e=expected: option_values(page, k) == e, 10, f"{key} options")
    builtin_routes = option_values(page, "general_settings.route_method")
    assert builtin_routes == [
        "k_shortest_path",
        "shortest_path",
        "cong_aware",
        "external_ksp",
        "xt_aware",
    ]
    form.locator(".jp-FusionNewRun-simulator").select_option("fusion")
    assert "frag_aware" in option_values(page, "general_settings.route_method")
    # A choice is an override like any typed value.
    form.locator('select[name="general_settings.route_method"]').select_option("frag_aware")
    page.wait_for_selector(
        '.jp-FusionNewRun-key[data-key="general_settings.route_method"].jp-mod-changed'
    )
    form.locator(".jp-FusionNewRun-simulator").select_option("builtin")
    page.wait_for_selector(
        '.jp-FusionNewRun-key[data-key="general_settings.route_method"].jp-mod-invalid'
    )
    screenshot(page, "newrun-dropdowns", target=form)


EXECUTED = """() => {
    window.__executed = [];
    window.jupyterapp.commands.commandExecuted.connect(
        (_, e) => window.__executed.push([e.id, e.args]));
}"""


def test_titles_open_the_tabs_and_two_picked_runs_offer_compare(page: Any, lab: Any) -> None:
    body = {"template": "minimal", "grid": {"general_settings.max_iters": [1, 2]}, "name": "pair"}
    made = lab.api("POST", "sweeps", body)
    sweep_id, (first, second) = made["sweep"]["id"], [r["id"] for r in made["runs"]]
    settled(lab, sweep_id)
    page.evaluate(EXECUTED)
    sweep = page.locator(sweep_row(sweep_id))
    sweep.locator(".jp-FusionSweep-caret").click()
    page.wait_for_selector(f'{sweep_row(sweep_id)}[aria-expanded="true"]')
    compare = page.locator(f"{PANEL} .jp-FusionRuns-compare")
    page.locator(row(first)).click(modifiers=["Control"])
    assert compare.is_hidden()
    page.locator(row(second)).click(modifiers=["Control"])
    compare.wait_for()
    assert compare.inner_text() == "Compare 2 runs"
    assert page.locator(f"{row(first)}.jp-mod-picked").count() == 1
    compare.click()
    sweep.locator(".jp-FusionSweep-name").click()
    page.locator(f"{row(first)} .jp-FusionRun-name").click()

    def tabs() -> list[Any] | None:
        wanted = ("fusion:compare-runs", "fusion:open-sweep", "fusion:open-run")
        executed = [e for e in page.evaluate("window.__executed") if e[0] in wanted]
        return executed if len(executed) == 3 else None

    compared, opened_sweep, opened_run = wait_until(tabs, 30, "the three tabs' commands")
    assert sorted(compared[1]["ids"]) == sorted([first, second])
    assert opened_sweep[1] == {"id": sweep_id} and opened_run[1] == {"id": first}
    # The tabs (another plugin's) are there.
    for tab in (f"fusion-sweep-{sweep_id}", f"fusion-run-{first}"):
        page.wait_for_function(
            "id => Array.from(window.jupyterapp.shell.widgets('main')).some(w => w.id === id)",
            arg=tab,
        )


TITLE_LINES = """(el) => {
    const line = parseFloat(getComputedStyle(el).lineHeight) || 16;
    return Math.round(el.getBoundingClientRect().height / line);
}"""


def test_sidebar_labels_fit_and_the_title_stays_on_one_line(page: Any, lab: Any) -> None:
    open_panel(page)
    panel = page.locator(PANEL)
    assert panel.evaluate(FITS) == []
    title = page.locator(f"{PANEL} .jp-FusionRuns-title")
    assert title.evaluate(TITLE_LINES) == 1
    lab.stop()
    try:
        page.wait_for_selector(f'{PANEL} .jp-FusionRuns-conn[data-state="reconnecting"]')
        assert page.locator(f"{PANEL} .jp-FusionRuns-conn").inner_text() == "Reconnecting…"
        assert title.evaluate(TITLE_LINES) == 1, "the title wraps while reconnecting"
        assert panel.evaluate(FITS) == []
        screenshot(page, "panel-reconnecting", target=panel)
    finally:
        lab.start()
    page.wait_for_selector(f'{PANEL} .jp-FusionRuns-conn[data-state="open"]', timeout=60_000)
