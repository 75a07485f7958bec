"""The local executor: each run's launcher in its own session on this machine.

Launchers are forked by a fork server (:mod:`fusion_jupyter.engine.forkserver`)
started once, so a run pays no interpreter start-up before its simulator starts.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from contextlib import suppress
from pathlib import Path

from fusion_jupyter.engine import forkserver
from fusion_jupyter.engine.executors.base import ProcessRef
from fusion_jupyter.engine.procinfo import group_members, is_alive, signal_group, start_time

#: While waiting for stragglers of a cancelled group, how often to look (seconds).
GROUP_POLL_SECONDS = 0.005


class ForkServer:
    """The executor's side of the fork server: started on first use, restarted if gone."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def launch(self, run_dir: Path) -> int:
        """Fork the launcher of ``run_dir``; its pid (OSError if it could not be)."""
        request = json.dumps(str(run_dir)).encode() + b"\n"
        with self._lock:
            for _attempt in range(2):  # a fork server that died is replaced once
                proc = self._running()
                assert proc.stdin is not None and proc.stdout is not None
                try:
                    proc.stdin.write(request)
                    proc.stdin.flush()
                    reply = proc.stdout.readline().decode()
                except OSError:
                    reply = ""
                if reply:
                    break
                self._discard()
            else:
                raise OSError("the launcher fork server is not answering")
        if reply.startswith("error "):
            raise OSError(f"could not fork the launcher: {json.loads(reply[6:])}")
        return int(reply)

    def prepare(self) -> None:
        """Start the fork server now (it boots meanwhile), not on the first launch."""
        with self._lock:
            self._running()

    def close(self) -> None:
        """Let the fork server end (launchers it forked go on)."""
        with self._lock:
            self._discard()

    def _running(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            # -I: free of the user's PYTHON* variables and current directory; -S: no
            # site-packages (the launcher needs only the standard library).
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-S", forkserver.__file__],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                start_new_session=True,
                close_fds=True,
            )
        return self._proc

    def _discard(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                with suppress(OSError):
                    stream.close()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class LocalExecutor:
    """Runs launchers in new sessions (process groups), forked by a fork server."""

    name = "local"

    def __init__(self) -> None:
        self._forks = ForkServer()

    def prepare(self) -> None:
        """Get ready to start runs: the first would otherwise wait for an interpreter."""
        self._forks.prepare()

    def start(self, run_id: str, run_dir: Path) -> ProcessRef:
        """Start the launcher; it keeps running if this process dies."""
        pid = self._forks.launch(run_dir)
        return ProcessRef(pid=pid, pgid=pid, start_time=start_time(pid))

    def reap(self, pid: int) -> int | None:
        """A launcher's exit status, when known: never here, since launchers are the fork
        server's children (reaped by the kernel); their end is seen through pidfds."""
        return None

    def close(self) -> None:
        """Stop the fork server (runs go on)."""
        self._forks.close()

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
