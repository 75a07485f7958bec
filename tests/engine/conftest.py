"""Fixtures of the engine tests: real databases, a real Slurm, simulator roots.

    postgres_server     (session)  a real PostgreSQL server (tests/support/postgres.py);
                                   skips with a clear reason when the binaries are missing
    pg_url              (session)  SQLAlchemy URL of one database shared by the session
    fresh_pg_url        (function) URL of a new, empty database, dropped after the test
    db_url              (function) parametrized: "sqlite" -> sqlite:///<tmp>/runs.db,
                                   "postgresql" -> fresh_pg_url (marked ``postgresql``)
    slurm_cluster       (session)  a real one-node Slurm (tests/support/slurm.py)
    fusion_standin_root (function) FUSION_STANDIN_ROOT set to a temporary directory

A skip of these in CI is a failure (FUSION_JUPYTER_REQUIRE, see tests/conftest.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres import PostgresServer, start_or_skip
from tests.support.slurm import SlurmCluster, SlurmUnavailable

# --- PostgreSQL --------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with start_or_skip() as server:
        yield server


@pytest.fixture(scope="session")
def pg_url(postgres_server: PostgresServer) -> str:
    """One database for the whole session (tests sharing it must not assume it is empty)."""
    return postgres_server.create_database("fusion_jupyter_session")


@pytest.fixture
def fresh_pg_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A new empty database for this test, dropped (connections and all) afterwards."""
    url = postgres_server.create_database()
    try:
        yield url
    finally:
        postgres_server.drop_database(url.rsplit("/", 1)[1])


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)],
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Run the test once against SQLite and once against a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/runs.db"
    return str(request.getfixturevalue("fresh_pg_url"))


# --- Slurm ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[SlurmCluster]:
    """A real one-node Slurm (munged, slurmctld, slurmd) for the session.

    ``MinJobAge`` is short so that tests see Slurm forget finished jobs.
    """
    try:
        cluster = SlurmCluster.start(min_job_age=4)
    except SlurmUnavailable as exc:
        pytest.skip(f"Slurm unavailable: {exc}")
    previous = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = cluster.env["SLURM_CONF"]
    try:
        yield cluster
    finally:
        cluster.stop()
        if previous is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = previous


# --- simulators --------------------------------------------------------------------


@pytest.fixture
def fusion_standin_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A FUSION project root for the stand-in (exported as FUSION_STANDIN_ROOT)."""
    root = tmp_path / "fusion-root"
    root.mkdir()
    monkeypatch.setenv("FUSION_STANDIN_ROOT", str(root))
    return root
