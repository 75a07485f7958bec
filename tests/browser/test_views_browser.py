"""The sweep, run and compare tabs in JupyterLab and the SweepView in a notebook, driven
through Debian's chromium (Playwright) against a real JupyterLab with the built-in
simulator.

One JupyterLab (two runs at a time, so a sweep's runs end one after another) and one
page. The tabs are opened through their commands (the ids the runs panel calls), the
notebook is run whole; every wait is for a condition. Screenshots of the sweep view and
the compare tab go to test-artifacts/ and docs/images/ (the README's).
"""

from __future__ import annotations

import csv
import io
import re
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
    lab_page,
    running_lab,
    screenshot,
)
from tests.support.notebook import KERNELSPEC, Notebook, wait_for
from tests.support.panel import lab_command

SCREENSHOTS = REPO_ROOT / "docs" / "images"
NOTEBOOK = "sweep-view.ipynb"
GRID = {"routing_settings.k_paths": [1, 2, 3], "spectrum_settings.c_band": [96, 128]}
# Runs of a second or two each: with two at a time the six end over several seconds.
OVERRIDES = {"general_settings": {"num_requests": 6000}}


def shoot(page: Any, locator: Any, name: str) -> None:
    """test-artifacts/<name>.png, copied to docs/images/ for the README."""
    locator.scroll_into_view_if_needed()
    screenshot(page, name, target=locator, copy_to=SCREENSHOTS / f"{name}.png")


def make_sweep(lab: JupyterLabServer, name: str) -> dict[str, Any]:
    body = {"template": "blocking", "grid": GRID, "overrides": OVERRIDES, "name": name}
    made: dict[str, Any] = lab.api("POST", "sweeps", body)
    return made


def counts_seen(page: Any, view: Any, until: int, timeout: float) -> list[str]:
    """The view's "k of N runs with results" texts as they change, until k == ``until``."""
    texts: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = str(view.locator(".fj-sweep-count").text_content() or "")
        if not texts or texts[-1] != now:
            texts.append(now)
        if now.startswith(f"{until} of "):
            return texts
        time.sleep(0.05)
    raise AssertionError(f"the view never showed {until} runs with results: {texts}")


def marked_runs(page: Any, mark: str, sweep_id: str) -> set[str]:
    """The runs of a sweep named by the view's performance marks called ``mark``."""
    ids = page.evaluate(
        """([mark, sweep]) => performance.getEntriesByName(mark)
            .filter(e => e.detail.sweep === sweep)
            .flatMap(e => e.detail.runs.map(r => typeof r === 'string' ? r : r.id))""",
        [mark, sweep_id],
    )
    return set(ids)


def each_end_drawn(page: Any, sweep_id: str) -> None:
    """Every run end the page heard (a run that ended before the view subscribed is in
    its first curves, unheard) redrew the curves, and the page heard some."""

    def drawn() -> bool:
        heard = marked_runs(page, "fusion:curves-runs-ended", sweep_id)
        return bool(heard) and heard <= marked_runs(page, "fusion:curves-drawn", sweep_id)

    wait_for(drawn, 120, "each run end heard drawn")


def download(page: Any, view: Any, action: str) -> tuple[str, bytes]:
    with page.expect_download() as dl:
        view.locator(f'[data-action="{action}"]').click()
    return dl.value.suggested_filename, Path(dl.value.path()).read_bytes()


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLabServer]:
    with running_lab(
        tmp_path_factory.mktemp("views-lab"), ["--FusionJupyter.max_concurrent_runs=2"]
    ) as server:
        yield server


@pytest.fixture(scope="module")
def page(lab: JupyterLabServer) -> Iterator[Any]:
    with lab_page(lab, 1400, 1000) as pg:
        pg.evaluate("() => window.jupyterapp.restored.then(() => true)")
        yield pg


# --------------------------------------------------------------------------- lab tabs


def test_sweep_tab_fills_in_live_and_exports(page: Any, lab: JupyterLabServer) -> None:
    made = make_sweep(lab, "k sweep")
    sweep_id = made["sweep"]["id"]
    lab_command(page, "fusion:open-sweep", {"id": sweep_id})
    view = page.locator(f"#fusion-sweep-{sweep_id} .fj-sweep")
    view.wait_for()
    # Live: the curves are redrawn as the runs end (two at a time), not only at the end.
    texts = counts_seen(page, view, 6, 120)
    partial = [t for t in texts if re.match(r"^[1-5] of 6 runs", t)]
    assert partial, texts
    # Every run's end redrew the curves.
    each_end_drawn(page, sweep_id)
    api = lab.api("GET", f"sweeps/{sweep_id}/curves")
    labels = [c["label"] for c in api["curves"]]
    assert labels == [f"k_paths = {k}, c_band = {b}" for k in (1, 2, 3) for b in (96, 128)]
    wait_for(lambda: view.locator(".fj-chart-series").count() == 6, 10, "six curves")
    assert view.locator(".fj-chart-key").all_text_contents() == labels
    # A confidence band for each curve with intervals at two loads or more.
    banded = [c for c in api["curves"] if sum(p["ci_lower"] is not None for p in c["points"]) > 1]
    assert banded and view.locator(".fj-chart-band").count() == len(banded)
    assert page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab:has-text('Sweep: k sweep')").count()
    # Group by k_paths only: three curves, the runs at each load averaged.
    view.locator('input[value="spectrum_settings.c_band"]').uncheck()
    wait_for(lambda: view.locator(".fj-chart-series").count() == 3, 10, "three curves")
    assert view.locator(".fj-chart-key").all_text_contents() == [
        "k_paths = 1",
        "k_paths = 2",
        "k_paths = 3",
    ]
    # Log y.
    assert view.locator("text.fj-chart-label:has-text('(log)')").count() == 0
    view.locator('input[data-action="log-y"]').check()
    view.locator("text.fj-chart-label:has-text('(log)')").wait_for()
    assert any(t.startswith("1e-") for t in view.locator(".fj-chart-axes text").all_text_contents())
    # Exports: the CSV is the server's curves, point for point.
    name, data = download(page, view, "export-csv")
    assert name == f"sweep-{sweep_id}-curves.csv"
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    grouped = lab.api("GET", f"sweeps/{sweep_id}/curves?by=routing_settings.k_paths")
    expected = [
        (c["label"], p["erlang"], p["blocking_mean"])
        for c in grouped["curves"]
        for p in c["points"]
    ]
    got = [(r["curve"], float(r["erlang"]), float(r["blocking_mean"])) for r in rows]
    assert got == expected and len(got) == 9
    assert list(rows[0]) == [
        "curve",
        "routing_settings.k_paths",
        "erlang",
        "blocking_mean",
        "ci_lower",
        "ci_upper",
    ]
    name, data = download(page, view, "export-svg")
    assert name.endswith(".svg") and data.startswith(b"<svg") and b"k_paths = 3" in data
    name, data = download(page, view, "export-png")
    assert name.endswith(".png") and data.startswith(b"\x89PNG") and len(data) > 5000
    view.locator('input[data-action="log-y"]').uncheck()
    view.locator('input[value="spectrum_settings.c_band"]').check()
    wait_for(lambda: view.locator(".fj-chart-series").count() == 6, 10, "six curves again")
    shoot(page, page.locator(f"#fusion-sweep-{sweep_id}"), "sweep-tab")
    page.sweep = made  # for the next tests


def test_run_tab_shows_summary_results_log_files_and_config_diff(
    page: Any, lab: JupyterLabServer
) -> None:
    runs = page.sweep["runs"]
    run = runs[0]  # k_paths = 1, c_band = 96
    lab_command(page, "fusion:open-run", {"id": run["id"]})
    tab = page.locator(f"#fusion-run-{run['id']}")
    tab.wait_for()
    summary = tab.locator(".jp-FusionDetail-summary")
    summary.locator('dd[data-fact="status"]:has-text("COMPLETED")').wait_for()
    assert summary.locator('dd[data-fact="id"]').text_content() == run["id"]
    table = lab.api("GET", f"runs/{run['id']}/results")
    rows = summary.locator(".jp-FusionDetail-results tbody tr")
    wait_for(lambda: rows.count() == len(table["rows"]), 20, "a row per load")
    assert summary.locator(".fj-chart-point").count() == len(table["rows"])
    # The log and the files are the log and artifacts tabs' own views.
    tab.locator(".lm-TabBar-tab:has-text('Log')").click()
    tab.locator(".jp-FusionLog-line").first.wait_for()
    tab.locator(".lm-TabBar-tab:has-text('Artifacts')").click()
    tab.locator('tr[data-path="config.ini"]').wait_for()
    # Its config against its template (k_paths 3, c_band 128): the overrides and the
    # grid point differ.
    tab.locator(".lm-TabBar-tab:has-text('Config')").click()
    diff = tab.locator(".jp-FusionDetail-config")
    diff.locator('tr[data-key="general_settings.num_requests"]').wait_for()
    for key, mine, template in (
        ("routing_settings.k_paths", "1", "3"),
        ("spectrum_settings.c_band", "96", "128"),
    ):
        cells = diff.locator(f'tr[data-key="{key}"] td').all_text_contents()
        assert cells[2:] == [mine, template], cells
    # Against another run of the sweep: only the grid point differs.
    other = runs[-1]  # k_paths = 3, c_band = 128
    diff.locator("select").select_option(f"run:{other['id']}")
    wait_for(
        lambda: (
            sorted(diff.locator("tbody tr").evaluate_all("rs => rs.map(r => r.dataset.key)"))
            == ["routing_settings.k_paths", "spectrum_settings.c_band"]
        ),
        20,
        "the two grid keys only",
    )
    # The sweep link opens the sweep tab.
    tab.locator(".lm-TabBar-tab:has-text('Summary')").click()
    summary.locator('[data-action="open-sweep"]').click()
    page.locator(f"#fusion-sweep-{page.sweep['sweep']['id']}").wait_for(state="visible")


def test_compare_tab_overlays_curves_and_diffs_configs(page: Any, lab: JupyterLabServer) -> None:
    runs = page.sweep["runs"]
    ids = [runs[0]["id"], runs[2]["id"], runs[4]["id"]]  # k_paths 1, 2, 3 at c_band 96
    lab_command(page, "fusion:compare-runs", {"ids": ids})
    view = page.locator(f"#fusion-compare-{'-'.join(sorted(ids))}")
    view.wait_for()
    wait_for(lambda: view.locator(".fj-chart-series").count() == 3, 30, "three curves")
    # The legend names what differs (as a sweep's does), not three long run names.
    wait_for(
        lambda: (
            view.locator(".fj-chart-key").all_text_contents()
            == ["k_paths=1", "k_paths=2", "k_paths=3"]
        ),
        30,
        "legends naming k_paths",
    )
    view.locator('tr[data-key="routing_settings.k_paths"]').wait_for()
    assert view.locator("tbody tr").count() == 1  # k_paths is all that differs
    cells = view.locator('tr[data-key="routing_settings.k_paths"] td').all_text_contents()
    assert cells[2:] == ["1", "2", "3"]
    # The same runs in another order are the same tab; one run is no comparison.
    lab_command(page, "fusion:compare-runs", {"ids": ids[::-1]})
    assert page.locator(".jp-FusionCompare").count() == 1
    enabled = page.evaluate(
        "(a) => window.jupyterapp.commands.isEnabled('fusion:compare-runs', a)", {"ids": ids[:1]}
    )
    assert enabled is False
    shoot(page, page.locator(f"#fusion-compare-{'-'.join(sorted(ids))}"), "compare-tab")


def test_tabs_are_restored_with_the_layout(page: Any, lab: JupyterLabServer) -> None:
    sweep_id = page.sweep["sweep"]["id"]
    run_id = page.sweep["runs"][0]["id"]

    def saved() -> bool:
        status, ws = lab.request("GET", "lab/api/workspaces/default")
        data = (ws or {}).get("data", {}) if status == 200 else {}
        # The compare tab (opened by the test before) is saved too: waiting for the
        # first two alone let a reload race the layout's save of the third.
        tabs = {f"fusion-sweep:{sweep_id}", f"fusion-run:{run_id}"}
        return tabs <= set(data) and any(k.startswith("fusion-compare:") for k in data)

    wait_for(saved, 30, "the layout with the tabs saved")
    page.reload()
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60_000)
    page.locator(f"#fusion-sweep-{sweep_id} .fj-chart-series").first.wait_for(state="attached")
    page.locator(f"#fusion-run-{run_id}").wait_for(state="attached")
    assert page.locator(".jp-FusionCompare").count() == 1


# --------------------------------------------------------------------------- notebook


def sweep_cells(embedded_runs: Path) -> list[str]:
    return [
        "import os, time\nimport fusion_jupyter as fj\nclient = fj.connect()\n"
        f"sweep = client.sweep('blocking', {GRID!r}, {OVERRIDES!r}, name='notebook sweep')\n"
        "sweep",
        busy_until("sweep-busy", "the view fills in meanwhile"),
        # The relay: the engine inside the kernel, which the page cannot reach.
        f"ec = fj.connect(embedded=True, runs_dir={str(embedded_runs)!r}, "
        "max_concurrent_runs=1)\n"
        f"relayed = ec.sweep('blocking', {GRID!r}, {OVERRIDES!r}, name='relayed sweep')\n"
        "relayed.plot(by='routing_settings.k_paths')",
        busy_until("relay-sweep-busy", "the kernel pushes the curves meanwhile"),
        "print('SWEEP-CELLS-DONE')",
    ]


def test_sweep_view_in_a_notebook_fills_in_while_the_kernel_is_busy(
    page: Any, lab: JupyterLabServer
) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sweep_cells(lab.base / "embedded-runs")]
    nb.metadata["kernelspec"] = KERNELSPEC
    nbformat.write(nb, lab.root_dir / NOTEBOOK)
    lab_command(page, "docmanager:open", {"path": NOTEBOOK})
    notebook = Notebook(page, NOTEBOOK)
    wait_for(lambda: notebook.js("return !!panel && panel.sessionContext.isReady;"), 60, "kernel")
    notebook.run_all()
    # Direct: the page asks the server itself while the kernel sleeps.
    view = page.locator(".jp-Notebook .fj-sweep:has([data-transport='direct'])").first
    view.wait_for(timeout=60_000)
    texts = counts_seen(page, view, 6, 120)
    assert notebook.cell_running("sweep-busy"), "filled in while the kernel was busy"
    assert [t for t in texts if re.match(r"^[1-5] of 6 runs", t)], texts
    (lab.root_dir / "sweep-busy").touch()  # the kernel may go on
    sweep_id = view.get_attribute("data-sweep-id")
    each_end_drawn(page, sweep_id)
    wait_for(lambda: view.locator(".fj-chart-series").count() == 6, 10, "six curves")
    view.locator('input[data-action="log-y"]').check()
    view.locator("text.fj-chart-label:has-text('(log)')").wait_for()
    _, data = download(page, view, "export-csv")
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    assert len(rows) == 18 and {r["curve"] for r in rows} == {
        f"k_paths = {k}, c_band = {b}" for k in (1, 2, 3) for b in (96, 128)
    }
    shoot(page, view, "sweep-view")
    # Relay: the kernel pushes the curves while it sleeps in the next cell.
    relayed = page.locator(".jp-Notebook .fj-sweep:has([data-transport='relay'])").first
    relayed.wait_for(timeout=120_000)
    texts = counts_seen(page, relayed, 6, 120)
    assert notebook.cell_running("relay-sweep-busy"), texts
    assert [t for t in texts if re.match(r"^[1-5] of 6 runs", t)], texts
    (lab.root_dir / "relay-sweep-busy").touch()
    assert relayed.locator(".fj-chart-key").all_text_contents() == [
        "k_paths = 1",
        "k_paths = 2",
        "k_paths = 3",
    ]
    page.get_by_text("SWEEP-CELLS-DONE").first.wait_for(timeout=120_000)
    assert not notebook.errors()
