"""Python and the contract agree: openapi.json and stream.schema.json (issue 14).

The statuses and their order are the contract's (``Status`` in openapi.json, with
x-active, x-terminal and x-rank); every message a real stream session sends, and
every operation the Python client sends, is valid against the stream messages'
JSON Schema, whose runs are openapi.json's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from fusion_jupyter.client.remote import _subscribe_op
from fusion_jupyter.engine.models import (
    ACTIVE,
    COMPACT_COLUMNS,
    RANK,
    TERMINAL,
    Status,
    run_to_dict,
    run_to_row,
)
from fusion_jupyter.service.session import StreamSession
from tests.support import REPO_ROOT
from tests.support.engine import make_manager, wait_until

SERVER = REPO_ROOT / "fusion_jupyter" / "server"
OPENAPI = json.loads((SERVER / "openapi.json").read_text())
STREAM = json.loads((SERVER / "stream.schema.json").read_text())
REGISTRY = Registry().with_resources(
    [
        ("openapi.json", Resource.from_contents(OPENAPI, default_specification=DRAFT202012)),
        ("stream.schema.json", Resource.from_contents(STREAM, default_specification=DRAFT202012)),
    ]
)


def validator(definition: str) -> Draft202012Validator:
    """A validator of one of the stream schema's definitions."""
    schema = {"$ref": f"stream.schema.json#/$defs/{definition}"}
    return Draft202012Validator(schema, registry=REGISTRY)


def check(definition: str, value: Any) -> None:
    errors = sorted(validator(definition).iter_errors(value), key=lambda e: e.path)
    assert not errors, f"{json.dumps(value)[:300]}: {errors[0].message}"


def test_the_statuses_are_the_contracts() -> None:
    contract = OPENAPI["components"]["schemas"]["Status"]
    assert [s.value for s in Status] == contract["enum"]
    assert {s.value for s in ACTIVE} == set(contract["x-active"])
    assert {s.value for s in TERMINAL} == set(contract["x-terminal"])
    assert {s.value: rank for s, rank in RANK.items()} == contract["x-rank"]


def test_a_compact_listing_row_is_the_contracts(tmp_path: Path) -> None:
    """The TypeScript Run of a compact listing is typed from these columns."""
    page = OPENAPI["components"]["schemas"]["CompactRunPage"]
    assert list(COMPACT_COLUMNS) == page["properties"]["columns"]["items"]["enum"]
    with make_manager(tmp_path) as manager:
        run = manager.create("minimal", {"stub": {"delay": 0.0}})
        wire = run_to_dict(manager.get(run.id))
        row = run_to_row(manager.get(run.id))
    assert len(row) == len(COMPACT_COLUMNS)
    run_schema = {"$ref": "openapi.json#/components/schemas/Run"}
    errors = list(Draft202012Validator(run_schema, registry=REGISTRY).iter_errors(wire))
    assert not errors, errors[0].message


def test_the_schemas_are_valid_json_schemas() -> None:
    Draft202012Validator.check_schema(STREAM)
    check("Operation", {"op": "ping"})
    with pytest.raises(AssertionError):
        check("ServerMessage", {"type": "status", "run_id": "not-an-id", "run": {}})


def test_every_message_of_a_real_session_is_in_the_contract(tmp_path: Path) -> None:
    with make_manager(tmp_path) as manager:
        session = StreamSession(manager, notify=lambda: None)
        got: list[dict[str, Any]] = []
        # Folded progress is flushed every progress_flush_seconds while a run is
        # active (a run over before the first flush has it only in its final status):
        # this run lasts several flushes.
        run = manager.create("minimal", {"stub": {"delay": 0.15, "stdout_lines": 5}})
        operations = [
            json.loads(_subscribe_op(run.id, ["progress", "logs"], -1, 0)),
            {"op": "ping"},
        ]
        for op in operations:
            check("Operation", op)
            session.handle(json.dumps(op))
        session.handle(json.dumps({"op": "subscribe"}))  # refused: no run_id

        def ended() -> bool:
            got.extend(session.collect())
            return any(m["type"] == "status" and m["run"]["status"] == "COMPLETED" for m in got)

        wait_until(ended, 60, "the run's end")
        session.close()
    kinds = {m["type"] for m in got}
    assert {"subscribed", "progress", "log", "status", "run_progress", "pong", "error"} <= kinds
    for message in got:
        check("ServerMessage", message)


def test_sweep_curves_are_in_the_contract(tmp_path: Path) -> None:
    from fusion_jupyter.service.api import CurvesRequest, FusionService

    schema = {"$ref": "openapi.json#/components/schemas/SweepCurves"}
    curves = Draft202012Validator(schema, registry=REGISTRY)
    with make_manager(tmp_path) as manager:
        service = FusionService(manager)
        grid = {"general_settings.max_iters": [1, 2], "routing_settings.k_paths": [1, 2]}
        sweep, runs = manager.create_sweep("minimal", grid)
        early = service.sweep_curves(sweep.id, CurvesRequest())
        for run in runs:
            wait_until(lambda r=run: manager.get(r.id).status == "COMPLETED", 60, "the runs")
        done = service.sweep_curves(sweep.id, CurvesRequest(("routing_settings.k_paths",)))
    for body in (early, done):
        errors = list(curves.iter_errors(body))
        assert not errors, errors[0].message
    assert len(done["curves"]) == 2 and all(c["points"] for c in done["curves"])
