"""The sync thread's sleep: woken by a nudge or by a commit to the SQLite database,
never by a read of it (a reading sync must not wake itself)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from fusion_jupyter.engine.wakeup import SqliteFiles, Wakeup
from tests.support.wakeups import drained, wait_woken_by


def _database(tmp_path: Path) -> Path:
    path = tmp_path / "runs.db"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE t (x INTEGER)")
    return path


def test_a_commit_of_another_connection_wakes_it_and_says_so(tmp_path: Path) -> None:
    path = _database(tmp_path)
    wakeup = Wakeup(lambda: SqliteFiles.open(path))
    try:
        assert wakeup.watches_database
        assert wait_woken_by(drained(wakeup), lambda: _commit(path)) is True
    finally:
        wakeup.close()


def test_reads_do_not_wake_it_and_a_nudge_does(tmp_path: Path) -> None:
    path = _database(tmp_path)
    # Held open, as the store's pool holds its connections: the last connection to
    # close would checkpoint the WAL and so write the files.
    keeper = sqlite3.connect(path)
    keeper.execute("SELECT 1 FROM t").fetchall()
    wakeup = Wakeup(lambda: SqliteFiles.open(path))
    try:
        drained(wakeup)
        reader = sqlite3.connect(path)
        reader.execute("SELECT count(*) FROM t").fetchone()
        reader.execute("PRAGMA data_version").fetchone()
        reader.close()
        assert wakeup.wait(0.3) is False
        assert wait_woken_by(wakeup, wakeup.set) is False  # a nudge, not a commit
    finally:
        wakeup.close()
        keeper.close()


def test_without_a_database_only_nudges_and_timeouts_wake_it() -> None:
    wakeup = Wakeup()
    assert not wakeup.watches_database
    wakeup.set()
    wakeup.set()  # a second nudge while one is pending is no error
    assert wakeup.wait(30) is False
    wakeup.close()
    wakeup.set()  # closed: nothing, and no write to a reused descriptor


def _commit(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO t VALUES (1)")
