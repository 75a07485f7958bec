"""The run database: connection settings, migrations, queries, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import bindparam, text

from fusion_jupyter.engine.errors import NotFound, ValidationFailed
from fusion_jupyter.engine.models import Base, Run, Status, Sweep, UTCDateTime, utcnow
from fusion_jupyter.engine.store import (
    SCHEMA_HEAD,
    RunFilter,
    Store,
    alembic_config,
    make_engine,
    migrate,
)


def _run(run_id: str, **values) -> Run:
    fields = {
        "name": f"run {run_id}",
        "template": "minimal",
        "config": {},
        "overrides": {},
        "run_dir": f"/tmp/{run_id}",
        "status": Status.PENDING,
        "executor": "local",
        "cancel_requested": False,
        "created_at": utcnow(),
    }
    fields.update(values)
    return Run(id=run_id, **fields)


def test_sqlite_connections_get_wal_busy_timeout_and_foreign_keys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/sub/runs.db")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_schema_comes_from_migrations_and_matches_the_models(db_url):
    store = Store(db_url)
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0005"
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diffs == []
    store.close()


def test_schema_head_is_the_newest_migration():
    from alembic.script import ScriptDirectory

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == SCHEMA_HEAD


def test_a_database_at_head_is_opened_without_loading_alembic(tmp_path):
    url = f"sqlite:///{tmp_path}/runs.db"
    Store(url).close()  # creates and migrates it
    code = (
        "import sys; from fusion_jupyter.engine.store import Store; "
        f"Store({url!r}).close(); print(sorted(m for m in sys.modules if m.startswith('alembic')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_upgrade_from_first_migration_keeps_every_row(db_url):
    engine = make_engine(db_url)
    migrate(engine, "0001")
    now = utcnow()
    # Stored as the models store it (the driver's own datetime format differs, and
    # plugins may re-register it), so keyset comparisons see one format.
    stamp = bindparam("now", type_=UTCDateTime())
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO sweeps (id, name, template, grid, executor, created_at) "
                "VALUES ('5eeb00000001', 's', 'minimal', '{}', 'local', :now)"
            ).bindparams(stamp),
            {"now": now},
        )
        for i, status in enumerate(["COMPLETED", "RUNNING", "PENDING", "FAILED"]):
            conn.execute(
                text(
                    "INSERT INTO runs (id, name, template, config, overrides, status, executor, "
                    "run_dir, cancel_requested, created_at, sweep_id, exit_code) VALUES "
                    "(:id, :name, 'minimal', '{\"a\": {\"b\": \"1\"}}', '{}', :status, 'local', "
                    "'/tmp/x', false, :now, '5eeb00000001', :code)"
                ).bindparams(stamp),
                {
                    "id": f"00000000000{i}",
                    "name": f"old {i}",
                    "status": status,
                    "now": now,
                    "code": 0 if status == "COMPLETED" else None,
                },
            )
            conn.execute(
                text("INSERT INTO run_tags (run_id, tag) VALUES (:id, 'legacy')"),
                {"id": f"00000000000{i}"},
            )
    engine.dispose()

    store = Store(db_url)  # migrates to head on start
    page = store.list_runs(limit=10)
    assert sorted(r.id for r in page.runs) == [f"00000000000{i}" for i in range(4)]
    by_id = {r.id: r for r in page.runs}
    assert by_id["000000000000"].percent == 100.0  # completed before the cache existed
    assert by_id["000000000001"].percent == 0.0
    assert by_id["000000000000"].config == {"a": {"b": "1"}}
    assert all(r.tags == ["legacy"] and r.sweep_id == "5eeb00000001" for r in page.runs)
    assert all(r.progress_seq == -1 for r in page.runs)
    # Tag rows got their run's creation time (0004): the tag listing finds them all.
    tagged = store.list_runs(RunFilter(tag="legacy"), limit=3)
    rest = store.list_runs(RunFilter(tag="legacy"), limit=3, cursor=tagged.next_cursor)
    assert sorted(r.id for r in tagged.runs + rest.runs) == [f"00000000000{i}" for i in range(4)]
    store.close()


def test_listing_filters_and_pages_newest_first(db_url):
    store = Store(db_url)
    base = utcnow()
    store.add_sweep(
        Sweep(id="sw0000000001", name="", template="default", grid={}, executor="local"), []
    )
    for i in range(25):
        store.add_run(
            _run(
                f"r{i:011d}",
                created_at=base + timedelta(seconds=i),
                status=Status.COMPLETED if i % 2 else Status.PENDING,
                name=f"baseline {i}" if i < 5 else f"study {i}",
                template="default" if i % 5 == 0 else "minimal",
                sweep_id="sw0000000001" if i >= 20 else None,
            ),
            tags=["even"] if i % 2 == 0 else ["odd", "x"],
        )
    seen, cursor = [], None
    while True:
        page = store.list_runs(limit=7, cursor=cursor)
        seen += [r.id for r in page.runs]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [f"r{i:011d}" for i in reversed(range(25))]
    completed = store.list_runs(RunFilter(status=[Status.COMPLETED]), limit=100).runs
    assert len(completed) == 12 and all(r.status == Status.COMPLETED for r in completed)
    assert len(store.list_runs(RunFilter(tag="odd")).runs) == 12
    odd, cursor = [], None  # pages of a tag, newest first, with another filter on top
    while True:
        page = store.list_runs(RunFilter(tag="odd", name="study"), limit=4, cursor=cursor)
        odd += [r.id for r in page.runs]
        if (cursor := page.next_cursor) is None:
            break
    assert odd == [f"r{i:011d}" for i in reversed(range(5, 25)) if i % 2]
    assert [r.id for r in store.list_runs(RunFilter(name="baseline")).runs][-1] == "r00000000000"
    assert len(store.list_runs(RunFilter(name="baseline")).runs) == 5
    assert len(store.list_runs(RunFilter(template="default")).runs) == 5
    assert len(store.list_runs(RunFilter(sweep_id="sw0000000001")).runs) == 5
    assert store.list_runs(RunFilter(name="%")).runs == []  # LIKE wildcards are literal
    with pytest.raises(ValidationFailed) as err:
        store.list_runs(cursor="not-a-cursor")
    assert err.value.problems[0].key == "cursor"
    store.close()


def test_transition_is_compare_and_set(db_url):
    store = Store(db_url)
    store.add_run(_run("aaaaaaaaaaaa", status=Status.RUNNING))
    assert store.transition("aaaaaaaaaaaa", [Status.RUNNING], status=Status.COMPLETED)
    assert not store.transition("aaaaaaaaaaaa", [Status.RUNNING], status=Status.FAILED)
    assert store.get("aaaaaaaaaaaa").status == Status.COMPLETED
    with pytest.raises(NotFound):
        store.get("bbbbbbbbbbbb")
    store.close()


def test_deleting_a_run_deletes_its_tags(db_url):
    store = Store(db_url)
    store.add_run(_run("aaaaaaaaaaaa"), tags=["t"])
    store.delete_run("aaaaaaaaaaaa")
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM run_tags")).scalar() == 0
    store.close()


def test_a_run_is_claimed_at_insert_only_with_a_free_slot_and_nobody_waiting(db_url):
    stores = [Store(db_url) for _ in range(3)]
    results: list[tuple[str, bool]] = []
    lock = threading.Lock()

    def insert(store: Store, first: int) -> None:
        for i in range(first, first + 10):
            run = _run(f"n{i:011d}")
            claimed = store.add_run_claimed(run, ["t"], 4, {"started_at": utcnow()})
            with lock:
                results.append((run.id, claimed))

    threads = [
        threading.Thread(target=insert, args=(s, 10 * (2 * k + j)))
        for k, s in enumerate(stores)
        for j in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [run_id for run_id, was in results if was]
    assert len(results) == 60 and len(claimed) == 4
    assert stores[0].count(Status.RUNNING) == 4
    assert all(stores[0].get(run_id).status == Status.RUNNING for run_id in claimed)
    assert all(stores[0].get(run_id).started_at is not None for run_id in claimed)
    assert stores[0].count(Status.PENDING) == 56
    # A slot is free again, but older runs wait: a new run is not claimed before them.
    assert stores[0].transition(claimed[0], [Status.RUNNING], status=Status.COMPLETED)
    late = _run("zzzzzzzzzzzz")
    assert not stores[1].add_run_claimed(late, [], 4, {"started_at": utcnow()})
    (next_run,) = stores[2].claim_pending(4, {"started_at": utcnow()})
    assert next_run.id != late.id and stores[0].get(late.id).status == Status.PENDING
    for s in stores:
        s.close()


def test_claims_never_exceed_the_limit_across_stores(db_url):
    stores = [Store(db_url) for _ in range(3)]
    for i in range(30):
        stores[0].add_run(_run(f"c{i:011d}"))
    claimed: list[str] = []
    lock = threading.Lock()

    def claim(store: Store) -> None:
        for _ in range(10):
            runs = store.claim_pending(4, {"started_at": utcnow()})
            with lock:
                claimed.extend(r.id for r in runs)

    threads = [threading.Thread(target=claim, args=(s,)) for s in stores for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(claimed) == len(set(claimed)) == 4
    assert stores[0].count(Status.RUNNING) == 4
    # Claims go oldest first.
    assert sorted(claimed) == [f"c{i:011d}" for i in range(4)]
    for s in stores:
        s.close()
