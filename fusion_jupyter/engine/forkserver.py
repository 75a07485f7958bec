"""Starting launchers without an interpreter start-up each: a small process that forks.

The local executor starts ``python -I -S forkserver.py`` once; for each run it writes
the run directory (a JSON string, one a line) and reads back the pid of a forked copy
of this process that has become the run's launcher: in a session of its own, with
``logs/launcher.log`` as its stderr, running :class:`Launcher` as ``launcher.py`` would.
So a run costs a fork of a small process, not a Python start-up, before its simulator
is spawned, and keeps everything the launcher guarantees (its own process group, the
exit code recorded in ``exit.json``, a life independent of the server).

Even the fork is off a run's path: the fork server keeps one spare, forked ahead and
already leading its own session, blocked on a pipe. A request hands the run directory
to the spare, which goes on as the run's launcher at once, and a new spare is forked
after the reply. (Should the spare be gone, the request forks as before.)

The fork server reads only from the pipe of the executor that started it, runs in a
session of its own (a terminal's Ctrl-C does not reach it), lets the kernel reap the
launchers (``SIGCHLD`` ignored; each launcher restores it), and exits when that pipe
closes; launchers already forked go on.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
from typing import IO

if not __package__:  # run as a file with ``python -I -S`` (see executors.local.ForkServer)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from fusion_jupyter.engine.launcher import main as launcher_main
from fusion_jupyter.engine.runpaths import RunPaths


def serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    """Start one launcher per request line until ``requests`` ends."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    inherited = (requests, replies)
    spare = _new_spare(inherited)
    for line in iter(requests.readline, b""):
        try:
            reply = str(_launch(spare, str(json.loads(line)), inherited))
        except Exception as exc:  # a bad request or a failed fork: said, not fatal
            reply = "error " + json.dumps(f"{type(exc).__name__}: {exc}")
        replies.write(reply.encode() + b"\n")
        replies.flush()
        spare = _new_spare(inherited)  # after the reply: off the next run's path


def _launch(spare: Spare | None, run_dir: str, inherited: tuple[IO[bytes], ...]) -> int:
    """The pid of ``run_dir``'s launcher: the spare, or a fork made now if it is gone."""
    pid = spare.hand(run_dir) if spare else None
    if pid is None:
        pid = Spare.fork(*inherited).hand(run_dir)
    if pid is None:
        raise OSError("the forked launcher ended before it was given its run")
    return pid


def _new_spare(inherited: tuple[IO[bytes], ...]) -> Spare | None:
    """A new spare, or None: the next request then forks and says why that failed."""
    try:
        return Spare.fork(*inherited)
    except OSError:
        return None


class Spare:
    """A forked launcher-to-be, leading its own session, waiting for its run directory."""

    def __init__(self, pid: int, handoff: int) -> None:
        self.pid = pid
        self._handoff = handoff

    @classmethod
    def fork(cls, *inherited: IO[bytes]) -> Spare:
        """Fork a spare; returns once its session exists (a cancel signals the group
        named by its pid, so no one may hear of the pid before)."""
        ready_r, ready_w = os.pipe()
        handoff_r, handoff_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(ready_r)
            os.close(handoff_w)
            _wait_then_launch(handoff_r, ready_w, inherited)  # never returns
        os.close(ready_w)
        os.close(handoff_r)
        try:
            if not os.read(ready_r, 1):
                os.close(handoff_w)
                raise OSError("the forked launcher ended before leading its session")
        finally:
            os.close(ready_r)
        return cls(pid, handoff_w)

    def hand(self, run_dir: str) -> int | None:
        """Make this spare the launcher of ``run_dir``: its pid, or None if it is gone."""
        try:
            os.write(self._handoff, run_dir.encode() + b"\n")
        except OSError:  # it died meanwhile (EPIPE)
            return None
        finally:
            os.close(self._handoff)
        return self.pid


def _wait_then_launch(handoff: int, ready_w: int, inherited: tuple[IO[bytes], ...]) -> None:
    code = 1
    try:
        os.setsid()
        os.write(ready_w, b"x")
        os.close(ready_w)
        for stream in inherited:
            stream.close()
        run_dir = _read_line(handoff)
        if not run_dir:  # the fork server ended: no run for this spare
            code = 0
            return
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.chdir(run_dir)
        os.makedirs(os.path.join(run_dir, RunPaths.LOGS), exist_ok=True)
        null = os.open(os.devnull, os.O_RDWR)
        launcher_log = os.path.join(run_dir, RunPaths.LAUNCHER_LOG)
        err = os.open(launcher_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.dup2(err, 2)
        os.close(null)
        os.close(err)
        code = launcher_main([os.path.join(run_dir, RunPaths.LAUNCH)])
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stderr.flush()
        os._exit(code)


def _read_line(fd: int) -> str:
    """One line from a pipe, without its newline ("" at end of file); closes ``fd``."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    os.close(fd)
    return data.decode().rstrip("\n")


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
