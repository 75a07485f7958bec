"""Shared fixtures and CI policy.

Fixtures
    postgres_server  (session)  a real PostgreSQL server (tests/support/postgres.py);
                                skips with a clear reason when the binaries are missing
    pg_url           (session)  SQLAlchemy URL of one database shared by the session
    fresh_pg_url     (function) URL of a new, empty database, dropped after the test
    db_url           (function) parametrized: "sqlite" -> sqlite:///<tmp>/runs.db,
                                "postgresql" -> fresh_pg_url (marked ``postgresql``)
    fusion_install   (session)  the real FUSION (tests/support/fusion.py), installed once
                                per machine; skips when it cannot be installed
    fusion_standin_root (function) FUSION_STANDIN_ROOT set to a temporary directory

Policy
    Tests using the PostgreSQL fixtures are marked ``postgresql`` automatically,
    those using Slurm ``slurm`` and those using the real FUSION ``fusion``.
    FUSION_JUPYTER_REQUIRE="postgresql[,marker...]" (set by .ci/run) turns a skip of
    a test carrying one of those markers into a failure: in CI, "PostgreSQL not
    available" must fail the build, not pass it quietly.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

# Hermetic Jupyter paths for the whole session, set before anything computes a default:
# the engine's default templates directory and the Jupyter config files the embedded
# engine reads would otherwise be the tester's own (and tests would write into them).
_JUPYTER_HOME = Path(tempfile.mkdtemp(prefix="fusion-jupyter-tests-"))
for _name in ("DATA", "CONFIG", "RUNTIME"):
    os.environ[f"JUPYTER_{_name}_DIR"] = str(_JUPYTER_HOME / _name.lower())
os.environ["JUPYTER_PLATFORM_DIRS"] = "1"

_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:  # `tests.support` importable however pytest was started
    sys.path.insert(0, _ROOT)

from tests.support.fusion import FusionInstall, FusionUnavailable, install  # noqa: E402
from tests.support.postgres import PostgresServer, PostgresUnavailable  # noqa: E402
from tests.support.slurm import SlurmCluster, SlurmUnavailable  # noqa: E402

REQUIRE_ENV = "FUSION_JUPYTER_REQUIRE"
_PG_FIXTURES = {"postgres_server", "pg_url", "fresh_pg_url"}
_SLURM_FIXTURES = {"slurm_cluster"}
_FUSION_FIXTURES = {"fusion_install"}
_required_key = pytest.StashKey[frozenset[str]]()


# --- policy: required markers ------------------------------------------------------


def _registered_markers(config: pytest.Config) -> set[str]:
    names = set()
    for line in config.getini("markers"):
        names.add(line.split(":", 1)[0].split("(", 1)[0].strip())
    return names


def pytest_configure(config: pytest.Config) -> None:
    raw = os.environ.get(REQUIRE_ENV, "")
    required = frozenset(name.strip() for name in raw.split(",") if name.strip())
    unknown = required - _registered_markers(config)
    if unknown:
        raise pytest.UsageError(
            f"{REQUIRE_ENV} names unregistered markers: {', '.join(sorted(unknown))}"
        )
    config.stash[_required_key] = required


def pytest_report_header(config: pytest.Config) -> str | None:
    required = config.stash.get(_required_key, frozenset())
    if required:
        return f"{REQUIRE_ENV}: skips of tests marked {', '.join(sorted(required))} fail"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if _PG_FIXTURES & fixtures:
            item.add_marker(pytest.mark.postgresql)
        if _SLURM_FIXTURES & fixtures:
            item.add_marker(pytest.mark.slurm)
        if _FUSION_FIXTURES & fixtures:
            item.add_marker(pytest.mark.fusion)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    required = item.config.stash.get(_required_key, frozenset())
    needed = sorted(name for name in required if item.get_closest_marker(name) is not None)
    if not needed:
        return
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    report.outcome = "failed"
    report.longrepr = (
        f"{REQUIRE_ENV}={','.join(sorted(required))}: this test needs "
        f"{', '.join(needed)} and must not be skipped, but it was:\n  {reason}"
    )


# --- PostgreSQL --------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    try:
        server = PostgresServer.start()
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    try:
        yield server
    finally:
        server.stop()


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


@pytest.fixture(scope="session")
def fusion_install() -> FusionInstall:
    """The real FUSION (a cached install; the first one takes 1-2 minutes)."""
    try:
        return install()
    except FusionUnavailable as exc:
        pytest.skip(f"FUSION unavailable: {exc}")


@pytest.fixture
def fusion_standin_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A FUSION project root for the stand-in (exported as FUSION_STANDIN_ROOT)."""
    root = tmp_path / "fusion-root"
    root.mkdir()
    monkeypatch.setenv("FUSION_STANDIN_ROOT", str(root))
    return root
