"""GET runs for a panel: the compact view (only what a row draws) and the total count."""

from __future__ import annotations

import json
from pathlib import Path

from fusion_jupyter.engine.models import COMPACT_COLUMNS, Status
from fusion_jupyter.service.api import FusionService, ListRequest
from tests.support.engine import make_manager
from tests.support.seed import seed_runs

PAGE = 100
#: issue 15: a page of 100 rows in at most 25 KB (it was 64.7 KB with every field).
MAX_PAGE_BYTES = 25_000


def listing(service: FusionService, **query: str) -> dict:
    return service.list_runs(ListRequest.from_query({k: [v] for k, v in query.items()}))


def test_a_compact_page_of_100_runs_fits_in_25_kb_and_says_the_same(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/runs.db"
    names = "k_paths x load [routing_settings.k_paths=3, general_settings.erlang_start=1000]"
    seed_runs(
        db,
        250,
        runs_dir=tmp_path / "runs",
        name=names,
        statuses=[Status.COMPLETED, Status.FAILED, Status.RUNNING],
        tags=lambda i: ["baseline", f"sweep:{i // 10:012x}"],
    )
    with make_manager(tmp_path, db) as manager:
        service = FusionService(manager)
        compact = listing(service, view="compact", limit=str(PAGE), count="true")
        full = listing(service, limit=str(PAGE))
    assert compact["columns"] == list(COMPACT_COLUMNS)
    size = len(json.dumps(compact, separators=(",", ":")))
    assert size <= MAX_PAGE_BYTES, size
    assert compact["total"] == 250 and "total" not in full
    assert compact["next_cursor"] == full["next_cursor"]
    rows = [dict(zip(compact["columns"], row, strict=True)) for row in compact["rows"]]
    for row, run in zip(rows, full["runs"], strict=True):
        assert {k: row[k] for k in ("id", "name", "status", "tags", "created_at")} == {
            k: run[k] for k in ("id", "name", "status", "tags", "created_at")
        }
        assert row["percent"] == run["progress"]["percent"]


def test_the_count_follows_the_filters(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/runs.db"
    seed_runs(
        db,
        30,
        runs_dir=tmp_path / "runs",
        statuses=[Status.COMPLETED, Status.FAILED],
        tags=lambda i: ["odd"] if i % 2 else [],
    )
    with make_manager(tmp_path, db) as manager:
        service = FusionService(manager)
        assert listing(service, count="true", status="FAILED", limit="5")["total"] == 15
        assert listing(service, count="true", tag="odd")["total"] == 15
        assert listing(service, count="true", name="run 1")["total"] == 11  # 1, 10-19
