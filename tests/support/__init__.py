"""Test support: simulators, a real PostgreSQL server, and small helpers.

- ``postgres``        PostgresServer: throw-away PostgreSQL (fixtures in tests/conftest.py)
- ``stub_sim.py``     a controllable test simulator writing DESIGN §3 progress events
- ``fusion_standin.py`` reproduces FUSION's command line, stderr log lines and output files;
  used only where the real FUSION (``fusion.py``) cannot serve: the generic log-driven
  progress mechanism, and faults FUSION cannot be made to produce quickly

Both simulator scripts are stdlib-only and are run as files (``python <script> run_sim ...``).
"""

from __future__ import annotations

import asyncio
import configparser
import inspect
import json
import os
import random
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from fusion_jupyter.engine.settings import SIM_OPTIONS

SUPPORT_DIR = Path(__file__).resolve().parent
REPO_ROOT = SUPPORT_DIR.parent.parent
STUB_SIM = SUPPORT_DIR / "stub_sim.py"
FUSION_STANDIN = SUPPORT_DIR / "fusion_standin.py"
#: A RunManager in a process of its own, for tests that kill it (run as a file).
MANAGER_PROC = SUPPORT_DIR / "manager_proc.py"

T = TypeVar("T")


def free_port() -> int:
    """A TCP port nobody listens on right now, below the kernel's ephemeral range.

    A port the kernel hands out for port 0 comes from the range it also gives outgoing
    connections, and with tests on two workers one of those took a server's port between
    this check and the server's bind (jupyter_server then moved to the next port and the
    test waited on the old one).
    """
    low = _ephemeral_low()
    for _attempt in range(200):
        port = random.randrange(max(1024, low - 16384), low)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free TCP port below {low}")


def _ephemeral_low() -> int:
    """The first port of the kernel's ephemeral range (Linux's default: 32768)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def stub_sim_command(*extra: str) -> list[str]:
    """A ``simulator_command`` (DESIGN §6 placeholders) running the stub simulator.

    ``extra`` are stub flags, e.g. ``stub_sim_command("--delay", "0.01", "--exit-code", "3")``.
    """
    return [sys.executable, str(STUB_SIM), "run_sim", *SIM_OPTIONS, *extra]


def fusion_standin_command(*extra: str) -> list[str]:
    """A ``simulator_command`` shaped like the real ``fusion-sim run_sim ...``.

    The stand-in writes no progress file and its results go under its own root
    (``--fusion-root`` / env ``FUSION_STANDIN_ROOT``), as FUSION does.
    """
    return [
        sys.executable,
        str(FUSION_STANDIN),
        "run_sim",
        "--config_path",
        "{config_path}",
        "--run_id",
        "{run_id}",
        *extra,
    ]


def write_ini(path: str | os.PathLike[str], sections: Mapping[str, Mapping[str, Any]]) -> Path:
    """Write an INI file from ``{section: {key: value}}`` (values str()-ed)."""
    parser = configparser.ConfigParser(interpolation=None)
    for section, values in sections.items():
        parser[section] = {key: str(value) for key, value in values.items()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        parser.write(fh)
    return path


def read_progress(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Complete lines of a progress.jsonl, parsed (a half-written last line is left out)."""
    try:
        data = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    lines = data.split("\n")[:-1]  # whatever follows the last newline is incomplete
    return [json.loads(line) for line in lines if line.strip()]


def wait_until(
    predicate: Callable[[], T | None],
    timeout: float = 10.0,
    what: str = "",
    *,
    interval: float = 0.005,
) -> T:
    """Poll ``predicate`` until it returns something truthy; return that (or fail)."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        _fail_after(deadline, f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)
    return value


async def async_wait_until(
    predicate: Callable[[], Awaitable[T | None] | T | None],
    timeout: float = 10.0,
    what: str = "",
    *,
    interval: float = 0.02,
) -> T:
    """:func:`wait_until` for a test on the event loop (``predicate`` may be async)."""
    deadline = time.monotonic() + timeout
    while not (value := await _resolved(predicate())):
        _fail_after(deadline, f"timed out after {timeout}s waiting for {what or predicate}")
        await asyncio.sleep(interval)
    return value


async def _resolved(value: Awaitable[T | None] | T | None) -> T | None:
    return await value if inspect.isawaitable(value) else value


def _fail_after(deadline: float, message: str) -> None:
    if time.monotonic() > deadline:
        raise AssertionError(message)


def pid_alive(pid: int) -> bool:
    """Is ``pid`` a live process (zombies count as dead)?"""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in ("Z", "X")


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes whose process group is ``pgid``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        # fields after the command: state ppid pgrp ...
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members
