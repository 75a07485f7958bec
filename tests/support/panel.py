"""The runs panel in a real JupyterLab page, as every browser module drives it: its
selectors, opening it, running a command, and a JupyterLab with the stub simulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support import stub_sim_command
from tests.support.browser import JupyterLabServer, running_lab

PANEL = "#fusion-runs-panel"

#: Page script: the texts of ``root`` (the panel) that do not fit their box, [] when all do.
FITS = """(root) => {
    const ctx = document.createElement('canvas').getContext('2d');
    const cut = [];
    for (const s of root.querySelectorAll('select')) {
        const cs = getComputedStyle(s);
        ctx.font = cs.font;
        const room = s.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
        for (const o of s.options) {
            if (ctx.measureText(o.text).width > room + 0.5) cut.push([s.className, o.text, room]);
        }
    }
    const texts = '.jp-FusionRuns-title, .jp-FusionRuns-conn, .jp-FusionRuns-summaryText';
    for (const el of root.querySelectorAll(texts)) {
        if (el.scrollWidth > el.clientWidth) cut.push([el.className, el.textContent]);
    }
    return cut;
}"""


def row(run_id: str) -> str:
    """The selector of a run's row in the panel."""
    return f'{PANEL} .jp-FusionRun[data-run-id="{run_id}"]'


def open_panel(page: Any) -> None:
    """Show the panel (idempotent: activating is not toggling, unlike a tab click)."""
    page.evaluate("() => window.jupyterapp.restored.then(() => true)")
    if not page.locator(PANEL).is_visible():
        page.evaluate("() => window.jupyterapp.shell.activateById('fusion-runs-panel')")
    page.wait_for_selector(f'{PANEL} .jp-FusionRuns-conn[data-state="open"]', timeout=20_000)


def lab_command(page: Any, command: str, args: dict[str, Any] | None = None) -> Any:
    """Execute a JupyterLab command in the page and wait for it to finish."""
    return page.evaluate(
        "([c, a]) => window.jupyterapp.commands.execute(c, a).then(() => true)",
        [command, args or {}],
    )


@contextmanager
def stub_lab(
    base: Path, extra: list[str] | None = None, extensions: tuple[str, ...] = ()
) -> Iterator[JupyterLabServer]:
    """JupyterLab running the stub simulator, with a FUSION command that exists (so the
    form offers FUSION's values too); ``extensions``: other server extensions enabled."""
    config = base / "config"
    config.mkdir(parents=True, exist_ok=True)
    fusion = {
        # (No behaviour flag here: the command line's would win over a run's [stub].)
        "simulator_command": stub_sim_command(),
        "fusion_command": "true",
        "max_concurrent_runs": 4,
    }
    (config / "jupyter_server_config.json").write_text(json.dumps({"FusionJupyter": fusion}))
    enabled = config / "jupyter_server_config.d"
    enabled.mkdir(exist_ok=True)
    for name in extensions:
        on = {"ServerApp": {"jpserver_extensions": {name: True}}}
        (enabled / f"{name}.json").write_text(json.dumps(on))
    with running_lab(base, extra) as server:
        yield server
