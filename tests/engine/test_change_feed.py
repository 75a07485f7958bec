"""The sync thread's feed of commits, on SQLite (inotify on its files) and on a real
PostgreSQL (LISTEN/NOTIFY): another store's commit wakes it, a read does not, and a
PostgreSQL feed that breaks is reported, dropped, and opened again."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from fusion_jupyter.engine.models import Run, Status, utcnow
from fusion_jupyter.engine.store import Store
from fusion_jupyter.engine.wakeup import Wakeup
from tests.support.wakeups import drained, wait_woken_by


def _run(run_id: str) -> Run:
    return Run(
        id=run_id,
        name=run_id,
        template="minimal",
        config={},
        overrides={},
        run_dir=f"/tmp/{run_id}",
        status=Status.PENDING,
        executor="local",
        cancel_requested=False,
        created_at=utcnow(),
    )


def test_another_stores_commit_wakes_it_and_its_reads_do_not(db_url: str) -> None:
    listening, other = Store(db_url), Store(db_url)
    wakeup = Wakeup(listening.feed_opener)
    try:
        assert wakeup.watches_database
        other.add_run(_run("warm"))  # the other store's connections are open from here on
        assert wakeup.wait(30) is True  # its news (PostgreSQL's comes after the commit)
        drained(wakeup)
        other.get("warm")
        other.active_statuses()
        assert wakeup.wait(0.3) is False
        assert wait_woken_by(wakeup, lambda: other.add_run(_run("new"))) is True
    finally:
        wakeup.close()
        listening.close()
        other.close()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_broken_postgresql_feed_is_dropped_and_opened_again(db_url: str) -> None:
    store = Store(db_url)
    wakeup = drained(Wakeup(store.feed_opener))
    try:
        with store.write() as session:  # what a database restart does to the listener
            session.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE query LIKE 'LISTEN %' AND pid <> pg_backend_pid()"
                )
            )
        # libpq first reads the server's farewell, then the end of the connection: the
        # end is reported as a possible change (it may have hidden one), and the feed
        # dropped (the caller syncs by time).
        answers = []
        for _ in range(10):
            answers.append(wakeup.wait(30))
            if not wakeup.watches_database:
                break
        assert answers[-1] is True and not wakeup.watches_database, answers
        wakeup.forget_changes()  # the next sync round opens a new feed
        assert wakeup.watches_database
        assert wait_woken_by(drained(wakeup), lambda: store.add_run(_run("after"))) is True
    finally:
        wakeup.close()
        store.close()


def test_an_in_memory_database_has_no_feed() -> None:
    store = Store("sqlite://")
    assert store.feed_opener is None
    assert not Wakeup(store.feed_opener).watches_database
    store.close()
