"""Shared fixtures and CI policy.

The tests are grouped, each group with its own conftest.py:
    tests/unit     no server, database or browser: config, artifacts, the built-in
                   simulator, the import graph, the front-ends' own suites
    tests/engine   the RunManager with real processes, PostgreSQL, Slurm and FUSION
    tests/server   the extension's REST API and stream, the Python client, the CLI,
                   the widgets' Python side and the notebooks
    tests/browser  JupyterLab and the widgets in chromium
    tests/wheel    the wheel `pip install .` builds: its compiled simulator core
Shared helpers are in tests/support.

Fixtures
    fusion_install   (session)  the real FUSION (tests/support/fusion.py), installed once
                                per machine; skips when it cannot be installed

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
from collections.abc import Generator
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


# --- simulators --------------------------------------------------------------------


@pytest.fixture(scope="session")
def fusion_install() -> FusionInstall:
    """The real FUSION (a cached install; the first one takes 1-2 minutes)."""
    try:
        return install()
    except FusionUnavailable as exc:
        pytest.skip(f"FUSION unavailable: {exc}")
