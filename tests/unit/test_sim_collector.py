"""The simulator's process runs with the garbage collector off (``__main__.tune_collector``).

That is only sound while the event loop makes no reference cycles: refcounting alone
must free whatever a request drops, or memory would grow with ``num_requests``. These
tests hold every FUSION fixture the simulator runs to that, for one iteration and two.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from fusion_jupyter.sim import gsnr, summary, xt_aware
from fusion_jupyter.sim.__main__ import tune_collector
from fusion_jupyter.sim.fixtures import (
    case_overrides,
    config_of,
    discover,
    refusal_for_case,
    with_defaults,
)
from fusion_jupyter.sim.load import params_from_config, read_config
from fusion_jupyter.sim.simulation import build_context, simulate
from tests.support.fusion_source import require_fusion_source


@pytest.fixture
def collector_off() -> Iterator[None]:
    """The collector off, as in the simulator's process; as it was after the test."""
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _cases() -> list[Path]:
    return [case for case in discover(require_fusion_source()) if not refusal_for_case(case)]


def _cyclic_garbage(case: Path, requests: int, iterations: int) -> int:
    """Objects in unreachable cycles once ``requests`` requests of one Erlang point ran,
    the run's context (its memos) still held, as it is while the process simulates."""
    raw = with_defaults(read_config(config_of(case), case_overrides(case)))
    general = raw["general_settings"]
    general.update(num_requests=str(requests), max_iters=str(iterations))
    general["erlang_stop"] = general["erlang_start"]
    params = params_from_config(
        raw, fusion_root=require_fusion_source(), runner="network_simulator"
    )
    ctx = build_context(params)
    gc.collect()
    simulate(params, ctx=ctx)
    found = gc.collect()
    del ctx
    gc.collect()
    return found


@pytest.fixture
def small_memos(monkeypatch: pytest.MonkeyPatch) -> None:
    """Memo limits small enough that every memo is emptied many times a run: emptying
    one must not leave cycles behind either (the C-band model's candidates and their
    memos refer to each other)."""
    monkeypatch.setattr(gsnr, "CACHE_LIMIT", 4096)
    monkeypatch.setattr(gsnr, "LINKS_LIMIT", 256)
    monkeypatch.setattr(gsnr, "FACTORS_LIMIT", 4096)
    monkeypatch.setattr(summary, "ROUNDED_LIMIT", 64)
    monkeypatch.setattr(xt_aware, "COSTS_LIMIT", 16)


@pytest.mark.parametrize("case", _cases(), ids=lambda case: case.name)
def test_the_event_loop_makes_no_reference_cycles(
    case: Path, collector_off: None, small_memos: None
) -> None:
    """A run of two iterations (twice the requests) leaves the same cyclic garbage (its
    set-up's, if any) as a run of one: none comes from a request or an iteration. The
    first run also leaves what is done once a process (an import on first use), so it
    is not compared."""
    _cyclic_garbage(case, 200, 1)
    found = _cyclic_garbage(case, 200, 1)
    assert _cyclic_garbage(case, 200, 2) == found
    assert found < 50


def test_the_process_runs_without_the_collector() -> None:
    enabled = gc.isenabled()
    try:
        tune_collector()
        assert not gc.isenabled()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        if enabled:
            gc.enable()
