"""The SweepView widget's Python side, without a browser: traits, ``by`` checked, the
curves pushed by the kernel as the sweep's runs end (relay), what a Sweep displays as."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

import fusion_jupyter as fj
from fusion_jupyter.client import run as run_module
from fusion_jupyter.widgets import SweepView
from tests.support import wait_until
from tests.support.widgets import Recorder

GRID = {"routing_settings.k_paths": [1, 2], "general_settings.max_iters": [1, 2]}


def stub_sweep(c: fj.Client, delay: float = 0.02) -> Any:
    return c.sweep("minimal", GRID, {"stub": {"delay": delay}}, name="k")


def test_traits_and_a_bad_by(client: fj.Client, recorder: Recorder) -> None:
    sweep = stub_sweep(client)
    view = SweepView(sweep, by="routing_settings.k_paths", log_y=True)
    try:
        state = view.get_state()
        assert state["sweep_id"] == sweep.id and state["title"] == "k"
        assert state["by"] == ["routing_settings.k_paths"] and state["log_y"] is True
        assert view.relayed and repr(view) == f"<SweepView of sweep {sweep.id}>"
        assert SweepView(sweep).by is None  # every key that varies
    finally:
        view.close()
    with pytest.raises(ValueError, match=r"routing_settings\.nope is not a grid parameter"):
        SweepView(sweep, by="routing_settings.nope")
    with pytest.raises(TypeError):
        SweepView(sweep.id)  # type: ignore[arg-type]
    sweep.wait(progress=False)


def test_the_kernel_pushes_the_curves_as_runs_end(
    client: fj.Client,
    recorder: Recorder,
) -> None:
    sweep = stub_sweep(client, delay=0.2)
    view = SweepView(sweep)
    try:
        # No front-end asks: the kernel pushes what it hears (a busy kernel's case).
        seen: list[int] = []

        def filled() -> bool:
            curves = view._curves
            if curves:
                seen.append(curves["with_results"])
            return bool(curves) and curves["with_results"] == 4

        wait_until(filled, 60, "the curves of all four runs")
        assert seen[0] < 4, "the curves came while the runs were still going"
        body = view._curves
        assert body["by"] == list(GRID) and len(body["curves"]) == 4
        assert body["curves"][0]["label"] == "k_paths = 1, max_iters = 1"
        view.by = ["routing_settings.k_paths"]  # the page's selector
        wait_until(lambda: view._curves["by"] == ["routing_settings.k_paths"], 30, "regrouped")
        assert [c["label"] for c in view._curves["curves"]] == ["k_paths = 1", "k_paths = 2"]
        assert view.curves() == view._curves
    finally:
        view.close()


def test_a_sweep_is_its_view_in_a_notebook_and_a_figure_elsewhere(
    client: fj.Client,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shown: list[Any] = []
    display = SimpleNamespace(display=lambda obj, **_: shown.append(obj), HTML=str)
    sweep = stub_sweep(client).wait(progress=False)
    monkeypatch.setattr(run_module, "ipython_display", lambda: display)
    sweep._ipython_display_()
    assert len(shown) == 1 and isinstance(shown[0], SweepView)
    assert shown[0].sweep is sweep
    assert type(sweep.plot()).__name__ == "Figure"  # outside a kernel: matplotlib
    monkeypatch.setattr(run_module, "in_notebook", lambda: True)
    view = sweep.plot(by="routing_settings.k_paths", log_y=True)
    assert isinstance(view, SweepView) and view.log_y and view.by == ["routing_settings.k_paths"]
    for widget in (shown[0], view):
        widget.close()
