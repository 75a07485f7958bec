"""Starting launchers without an interpreter start-up each: a small process that forks.

The local executor starts ``python -I -S forkserver.py`` once; for each run it writes
the run directory (a JSON string, one a line) and reads back the pid of a forked copy
of this process that has become the run's launcher: in a session of its own, with
``logs/launcher.log`` as its stderr, running :class:`Launcher` as ``launcher.py`` would.
So a run costs a fork of a small process, not a Python start-up, before its simulator
is spawned, and keeps everything the launcher guarantees (its own process group, the
exit code recorded in ``exit.json``, a life independent of the server).

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
    """Fork one launcher per request line until ``requests`` ends."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    for line in iter(requests.readline, b""):
        try:
            run_dir = json.loads(line)
            pid = fork_launcher(str(run_dir), requests, replies)
            reply = str(pid)
        except Exception as exc:  # a bad request or a failed fork: said, not fatal
            reply = "error " + json.dumps(f"{type(exc).__name__}: {exc}")
        replies.write(reply.encode() + b"\n")
        replies.flush()


def fork_launcher(run_dir: str, *inherited: IO[bytes]) -> int:
    """Fork a launcher for ``run_dir``; returns once it leads its own session."""
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(ready_r)
        _become_launcher(run_dir, ready_w, inherited)  # never returns
    os.close(ready_w)
    try:
        # Its session must exist before anyone is told its pid: a cancel signals the
        # group named by that pid.
        os.read(ready_r, 1)
    finally:
        os.close(ready_r)
    return pid


def _become_launcher(run_dir: str, ready_w: int, inherited: tuple[IO[bytes], ...]) -> None:
    code = 1
    try:
        os.setsid()
        os.write(ready_w, b"x")
        os.close(ready_w)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for stream in inherited:
            stream.close()
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


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
