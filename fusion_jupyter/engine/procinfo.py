"""What Linux says about a process: its start time, its group, whether it lives.

A pid alone does not name a process for long: the kernel reuses pids. A pid together
with the process's start time (in clock ticks since boot, from ``/proc/<pid>/stat``)
does, which is how a supervisor that restarts recognises the runs it left behind.
"""

from __future__ import annotations

import os
import signal

# Plain os calls, not pathlib: the launcher imports this module and must start fast.
PROC = "/proc"


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"{PROC}/{pid}/stat") as fh:
            raw = fh.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name may hold spaces and parentheses: split after the last ')'.
    return raw[raw.rindex(")") + 2 :].split()


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot, or None if it is gone."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def is_alive(pid: int, started: int | None) -> bool:
    """Whether ``pid`` still names the process that started at ``started`` and runs.

    A zombie has finished its work, so it counts as gone.
    """
    fields = _stat_fields(pid)
    if fields is None or fields[0] == "Z":
        return False
    return started is None or int(fields[19]) == started


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes whose process group is ``pgid``."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return []
    except PermissionError:
        pass
    members = []
    for entry in os.scandir(PROC):
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields and fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def signal_group(pgid: int, sig: signal.Signals) -> bool:
    """Send ``sig`` to a process group; False if the group no longer exists."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True


def describe_exit(exit_code: int | None, sig: int | None) -> str:
    """A person's words for how a process ended."""
    if sig:
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return f"killed by {name} (signal {sig})"
    if exit_code is None:
        return "ended without an exit code"
    return f"exited with code {exit_code}"
