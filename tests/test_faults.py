"""Faults the engine must ride out: database outages, full disks, oversized work.

Nothing may be left stuck (a run RUNNING whose process has ended), and nothing a
client sends may cost unbounded time or memory.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fusion_jupyter.engine import Status
from fusion_jupyter.engine.procinfo import is_alive
from tests.support.engine import make_manager, stub_command, wait_terminal, wait_until
from tests.support.jupyter import running_server
from tests.support.postgres import PostgresServer, PostgresUnavailable

#: Runs that ended during an outage must be settled this soon after it is over.
SETTLE_AFTER_OUTAGE_SECONDS = 5.0


@pytest.fixture(scope="module")
def outage_pg() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this module's own: its tests stop and restart it."""
    try:
        server = PostgresServer.start()
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def outage_url(outage_pg: PostgresServer) -> str:
    return outage_pg.create_database()


pytestmark = pytest.mark.postgresql


def _failed_settling(caplog: pytest.LogCaptureFixture, run_id: str) -> bool:
    return any(
        run_id in record.getMessage() and record.levelno >= logging.WARNING
        for record in caplog.records
    )


def test_a_run_that_ends_during_a_database_outage_settles_when_it_is_back(
    tmp_path: Path, outage_pg: PostgresServer, outage_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    gate = tmp_path / "gate"
    command = stub_command("--wait-for", str(gate))
    with (
        make_manager(tmp_path, outage_url, simulator_command=command) as first,
        make_manager(tmp_path, outage_url, simulator_command=command) as second,
    ):
        run = first.create("minimal")
        pid = wait_until(lambda: first.get(run.id).pid, what="the run's process")
        wait_until(lambda: run.id in second._trackers, what="the second manager to follow it")
        outage_pg.pause()
        try:
            gate.touch()
            wait_until(lambda: not is_alive(pid, None), what="the run's process to end")
            wait_until(lambda: _failed_settling(caplog, run.id), what="a failed attempt to settle")
        finally:
            outage_pg.resume()
        back = time.monotonic()
        for manager in (first, second):
            done = wait_terminal(manager, run.id, timeout=SETTLE_AFTER_OUTAGE_SECONDS)
            assert done.status == Status.COMPLETED and done.exit_code == 0
        assert time.monotonic() - back < SETTLE_AFTER_OUTAGE_SECONDS
        # It no longer holds a slot: the next run starts.
        gate2 = tmp_path / "gate2"
        gate2.touch()
        assert wait_terminal(first, first.create("minimal").id).status == Status.COMPLETED


def test_during_an_outage_the_api_answers_503_and_settles_after_it(
    tmp_path: Path, outage_pg: PostgresServer, outage_url: str
) -> None:
    gate = tmp_path / "gate"
    shared = {
        "db_url": outage_url,
        "runs_dir": str(tmp_path / "runs"),
        "simulator_command": stub_command("--wait-for", str(gate)),
    }
    with (
        running_server(tmp_path / "one", fusion=shared) as one,
        running_server(tmp_path / "two", fusion=shared) as two,
    ):
        servers = [(s, s.session()) for s in (one, two)]
        answer = servers[0][1].post(one.url("runs"), json={"template": "minimal"})
        assert answer.status_code == 201, answer.text
        run_id = answer.json()["id"]
        pid = wait_until(lambda: servers[1][1].get(two.url(f"runs/{run_id}")).json()["pid"])
        outage_pg.pause()
        try:
            gate.touch()
            wait_until(lambda: not is_alive(pid, None), what="the run's process to end")
            for server, http in servers:
                for method, path, body in (
                    ("GET", "runs", None),
                    ("GET", f"runs/{run_id}", None),
                    ("POST", "runs", {"template": "minimal"}),
                ):
                    answer = http.request(method, server.url(path), json=body)
                    assert answer.status_code == 503, (method, path, answer.text)
                    error = answer.json()["error"]
                    assert error["code"] == "unavailable"
                    assert "database is unreachable" in error["message"], error
                ready = http.get(server.url("health/ready"))
                assert ready.status_code == 503
                assert ready.json()["database"].startswith("the run database is unreachable")
            wait_until(
                lambda: any("end is recorded once" in s.log_path.read_text() for s in (one, two)),
                what="a server to have tried to record the run's end",
            )
        finally:
            outage_pg.resume()
        for server, http in servers:
            done = wait_until(
                lambda s=server, h=http: _terminal(h.get(s.url(f"runs/{run_id}")).json()),
                SETTLE_AFTER_OUTAGE_SECONDS,
                "the run to be settled",
            )
            assert done["status"] == "COMPLETED" and done["exit_code"] == 0
            assert http.get(server.url("health/ready")).status_code == 200
        # Each fault was logged when it began and when it ended, not once a cycle.
        for server in (one, two):
            text = server.log_path.read_text()
            for what in ("syncing with the run database", "recording the end of a run"):
                # Refused while down, "starting up" while it comes back: two conditions.
                assert text.count(f"{what} failed") <= 2, server.log_tail()


def _terminal(run: dict[str, Any]) -> dict[str, Any] | None:
    return run if run["status"] in ("COMPLETED", "FAILED", "CANCELLED") else None
