"""The local executor: each run's launcher in its own session on this machine."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from pathlib import Path

from fusion_jupyter.engine.executors.base import ProcessRef, launcher_argv
from fusion_jupyter.engine.procinfo import group_members, is_alive, signal_group, start_time

#: While waiting for stragglers of a cancelled group, how often to look (seconds).
GROUP_POLL_SECONDS = 0.005


class LocalExecutor:
    """Runs launchers as child processes in new sessions (process groups)."""

    name = "local"

    def __init__(self) -> None:
        # Our own children, kept so they can be reaped as soon as they end.
        self._children: dict[int, subprocess.Popen[bytes]] = {}

    def start(self, run_id: str, run_dir: Path) -> ProcessRef:
        """Start the launcher; it keeps running if this process dies."""
        logs = run_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        with (logs / "launcher.log").open("ab") as errors:
            proc = subprocess.Popen(
                launcher_argv(run_dir),
                cwd=run_dir,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errors,
                start_new_session=True,
                close_fds=True,
            )
        self._children[proc.pid] = proc
        return ProcessRef(pid=proc.pid, pgid=proc.pid, start_time=start_time(proc.pid))

    def reap(self, pid: int) -> int | None:
        """Collect an ended child's status (None if it is not ours or still runs)."""
        proc = self._children.get(pid)
        if proc is None:
            return None
        code = proc.poll()
        if code is not None:
            del self._children[pid]
        return code

    def cancel(self, ref: ProcessRef, grace_seconds: float) -> None:
        """SIGTERM the group, SIGKILL what is left after the grace, return when all is gone."""
        self.terminate(ref)
        self.kill_after(ref, grace_seconds)

    def terminate(self, ref: ProcessRef) -> None:
        """SIGTERM the run's group and return at once (see :meth:`kill_after`)."""
        if is_alive(ref.pid, ref.start_time) or group_members(ref.pgid):
            signal_group(ref.pgid, signal.SIGTERM)

    def kill_after(self, ref: ProcessRef, grace_seconds: float) -> None:
        """Wait up to ``grace_seconds`` for the group to end, then SIGKILL what is left
        and wait for it to go."""
        if not self._wait_gone(ref, time.monotonic() + grace_seconds):
            signal_group(ref.pgid, signal.SIGKILL)
            self._wait_gone(ref, time.monotonic() + 10)

    def _wait_gone(self, ref: ProcessRef, deadline: float) -> bool:
        self._wait_launcher(ref, deadline)
        while True:
            self.reap(ref.pid)
            if not group_members(ref.pgid):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(GROUP_POLL_SECONDS)

    def _wait_launcher(self, ref: ProcessRef, deadline: float) -> None:
        # The launcher ends last (it waits for the simulator), so waiting on its pidfd
        # covers the usual case without polling at all.
        try:
            fd = os.pidfd_open(ref.pid)
        except ProcessLookupError:
            return
        try:
            if is_alive(ref.pid, ref.start_time):
                select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        finally:
            os.close(fd)
