"""The unit tests: the config, artifacts, the import graph, the built-in simulator and
the front-ends' own suites. They need no database server, Slurm, installed FUSION or
browser: a test here that asks for one is a collection error (it belongs in
tests/engine, tests/server or tests/browser)."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
#: Fixtures that bring up a component a unit test must not need.
HEAVY_FIXTURES = frozenset(
    {"postgres_server", "pg_url", "fresh_pg_url", "db_url", "slurm_cluster", "fusion_install"}
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        heavy = HEAVY_FIXTURES & set(getattr(item, "fixturenames", ()))
        if heavy and item.path.is_relative_to(HERE):
            raise pytest.UsageError(f"{item.nodeid} is a unit test but needs {sorted(heavy)}")
