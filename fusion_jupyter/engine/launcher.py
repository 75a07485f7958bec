"""The small process that owns one simulation and records how it ended.

The engine starts ``python -I -S .../launcher.py <run_dir>/launch.json`` in a session
of its own; the launcher starts the simulator in the same process group, waits for it,
and writes ``exit.json`` atomically. Because the record lives in the run directory,
any supervisor (the one that started the run, one started after it died, or one on
another host reading a shared directory) can settle the run with the right exit
code. The launcher outlives its supervisor and holds no connection to it.

For simulators that write no progress file it also reads the simulator's output,
turns matching log lines into progress events, and brings result files into the
run's ``output/`` when the simulator ends (FUSION's are moved out of its own tree:
see fusion_outputs). A simulator that saves its state on SIGTERM and then goes on
(FUSION) is ended once its log says it has saved.
"""

# Start-up time is the delay before a run starts, so this module uses only the
# standard library, avoids pathlib, typing, re and socket at import time, and
# imports what only some runs need lazily.
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

if not __package__:
    # Run as a file with ``python -I -S`` (as the executors start it): skipping
    # site-packages saves most of Python's start-up, and the package is found here.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from fusion_jupyter.engine.procinfo import start_time
from fusion_jupyter.engine.runpaths import RunPaths

if TYPE_CHECKING:
    from typing import IO, Any

    from fusion_jupyter.engine.logpatterns import LogProgressTranslator

TAIL_BYTES = 16_384
#: Bytes set aside at start for the exit record, so that a full disk cannot stop it
#: being written (it ended up an empty temporary file, and the run "killed from outside").
RESERVE_BYTES = 8_192
#: Less free space than this in the run directory after a failure: the disk was full.
LOW_SPACE_BYTES = 1 << 20


def utc_stamp() -> str:
    """Now as ISO-8601 UTC, without importing datetime."""
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}Z"


def write_json_atomic(
    path: str, data: dict[str, Any], *, durable: bool = True, reserved: str | None = None
) -> None:
    """Write JSON so that a reader sees the old file, or the whole new one, never half;
    ``durable`` also makes it survive a machine crash (two fsyncs).

    With ``reserved`` (a file made by :func:`reserve_space`) the JSON is written over
    that file's bytes, which needs no new space: the record is written even on a full
    disk. Whatever fails, no temporary file is left behind.
    """
    use_reserve = reserved is not None and os.path.exists(reserved)
    tmp = reserved if use_reserve else _temp_name(path)
    assert tmp is not None
    try:
        with open(tmp, "r+" if use_reserve else "w") as fh:
            json.dump(data, fh)
            fh.truncate()
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if not durable:
        return
    dir_fd = os.open(os.path.dirname(path), os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _temp_name(path: str) -> str:
    return os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{os.getpid()}.tmp")


def reserve_space(path: str, size: int = RESERVE_BYTES) -> str | None:
    """Set ``size`` bytes aside in a file beside ``path`` for a later record of it.

    Returns the file's name, or None if even that does not fit (the disk is full).
    """
    reserved = _temp_name(path)
    try:
        with open(reserved, "w") as fh:
            fh.write(" " * size)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(reserved)
        return None
    return reserved


def no_space_note(path: str) -> str | None:
    """Why a run on a full file system failed (ENOSPC), or None if there is room."""
    try:
        stat = os.statvfs(path)
    except OSError:
        return None
    free = stat.f_bavail * stat.f_frsize
    if free >= LOW_SPACE_BYTES:
        return None
    return (
        f"no space left on the device holding {path} (ENOSPC: {free} bytes free); "
        "the simulator could probably not write its files"
    )


def read_json(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """A JSON object from a record file; None if it is missing or not (yet) whole."""
    try:
        with open(path) as fh:
            data = json.load(fh)
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_tail(path: str, limit: int = TAIL_BYTES) -> str:
    """The last ``limit`` bytes of a file as text (empty if there is none)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - limit))
            return fh.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


class Launcher:
    """Runs one simulator as described by a launch file."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.run_dir: str = spec["run_dir"]
        self.log_path = self._path(RunPaths.LOG)
        self.progress_path: str = spec["progress_file"]
        self.child: subprocess.Popen[bytes] | None = None
        self.terminating = False
        self.began = 0.0  # when the simulator was started (wall clock)
        self.first_load_at: float | None = None  # when it logged its first Erlang load
        self.translator: LogProgressTranslator | None = None
        if spec.get("log_patterns"):
            from fusion_jupyter.engine.logpatterns import LogProgressTranslator

            self.translator = LogProgressTranslator(
                spec["log_patterns"], spec.get("start", {}), spec.get("root_cause") or ()
            )

    def _path(self, name: str) -> str:
        """A file of the run directory (a name of RunPaths)."""
        return os.path.join(self.run_dir, name)

    def run(self) -> int:
        """Start, wait, collect, record; returns the launcher's own exit status."""
        self._install_signal_handlers()
        exit_path = self._path(RunPaths.EXIT_RECORD)
        reserved = reserve_space(exit_path)
        began = time.monotonic()
        if self.spec.get("write_start") and self.translator is None:
            # The run's first event, before the simulator spends time importing.
            self._emit({"type": "start", "ts": utc_stamp(), "config": self.spec["start"]})
        # The run's logs/ and output/ are made here, where the run starts, not when it
        # is created (see RunManager._new_run).
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        os.makedirs(self._path(RunPaths.OUTPUT), exist_ok=True)
        for name, target in (self.spec.get("links") or {}).items():
            link = os.path.join(self.run_dir, name)
            if not os.path.lexists(link):  # made already by an earlier start
                os.symlink(target, link)
        with open(self.log_path, "ab", buffering=0) as log:
            code, sig, error = self._run_child(log)
        elapsed = time.monotonic() - began
        if self.translator is not None:
            self._collect()  # partial results of a failed run are worth keeping too
            status = code if code is not None else 128 + (sig or 0)
            if not (self.terminating and status != 0):  # a cancel is not an error
                self._emit(self.translator.finish(status, elapsed, read_tail(self.log_path)))
        record: dict[str, Any] = {
            "exit_code": code,
            "signal": sig,
            "ended_at": utc_stamp(),
            "elapsed_seconds": round(elapsed, 3),
        }
        if code != 0 and not error:
            error = no_space_note(self.run_dir)
        if error:
            record["error"] = error[:2000]  # within the reserved bytes
        write_json_atomic(exit_path, record, reserved=reserved)
        return code if code is not None else 128 + (sig or 0)

    def _install_signal_handlers(self) -> None:
        # A cancel signals the whole group; the launcher must survive it long enough
        # to record the simulator's end. A signal sent to the launcher alone (as a batch
        # system or a user may) is passed on. One that a cancel sent to the whole group
        # (it leaves a marker first) is not: the simulator has it already, and FUSION
        # saves its statistics on each SIGTERM, so a second save, cut short by the kill
        # that follows the first, would leave an empty result file.
        marker = self._path(RunPaths.CANCEL_MARKER)

        def forward(signum: int, _frame: object) -> None:
            self.terminating = True
            if self.child is None or self.child.poll() is not None:
                return
            if not os.path.exists(marker):
                self.child.send_signal(signum)

        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, forward)

    def _write_record(self) -> None:
        # After the simulator is spawned, so that it starts without waiting for this;
        # not fsync-ed: it describes live processes, which a machine crash ends anyway.
        write_json_atomic(
            self._path(RunPaths.LAUNCHER_RECORD),
            {
                "pid": os.getpid(),
                "start_time": start_time(os.getpid()),
                "host": os.uname().nodename,
                "started_at": utc_stamp(),
            },
            durable=False,
        )

    def _run_child(self, log: IO[bytes]) -> tuple[int | None, int | None, str | None]:
        piped = self.translator is not None
        self.began = time.time()
        try:
            self.child = subprocess.Popen(
                self.spec["argv"],
                cwd=self.run_dir,
                env={**os.environ, **self.spec.get("env", {})},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if piped else log,
                stderr=subprocess.STDOUT,
            )
        except OSError as exc:
            message = f"could not start the simulator {self.spec['argv'][0]!r}: {exc}"
            log.write((message + "\n").encode())
            return 127, None, message
        self._write_record()
        if piped:
            self._pump(self.child, log)
        rc = self.child.wait()
        return (rc, None, None) if rc >= 0 else (None, -rc, None)

    def _pump(self, child: subprocess.Popen[bytes], log: IO[bytes]) -> None:
        assert child.stdout is not None and self.translator is not None
        with open(self.progress_path, "a") as progress:
            progress.write(json.dumps(self.translator.begin()) + "\n")
            progress.flush()
            known_dirs = 0
            saved_marker = self.spec.get("saved_on_signal")
            for raw in iter(child.stdout.readline, b""):
                log.write(raw)
                line = raw.decode("utf-8", "replace")
                for event in self.translator.feed(line):
                    if event["type"] == "erlang_start" and self.first_load_at is None:
                        self.first_load_at = time.time()
                    progress.write(json.dumps(event) + "\n")
                    progress.flush()
                if len(self.translator.output_dirs) != known_dirs:
                    known_dirs = len(self.translator.output_dirs)
                    self._record_external()
                if saved_marker and self.terminating and saved_marker in line:
                    # Saved on SIGTERM, and it would go on simulating: end it now.
                    child.kill()

    def _emit(self, event: dict[str, Any]) -> None:
        with open(self.progress_path, "a") as progress:
            progress.write(json.dumps(event) + "\n")

    def _record_external(self) -> None:
        """Note the directories outside the run the simulator writes (for purge), as soon
        as they are known, so that they are found even if this launcher is killed."""
        if not self.spec.get("move_outputs"):
            return
        from fusion_jupyter.engine.fusion_outputs import run_dirs

        assert self.translator is not None
        found = [run_dirs(d) for d in self.translator.output_dirs]
        dirs = [str(d) for f in found if f is not None for d in f[1:]]
        record = {"saving_to": self.translator.output_dirs, "dirs": dirs}
        write_json_atomic(self._path(RunPaths.EXTERNAL_RECORD), record)

    def _collect(self) -> None:
        """Bring the files an external simulator saved elsewhere into ``output/``."""
        import glob
        import shutil

        assert self.translator is not None
        dest = self._path(RunPaths.OUTPUT)
        if self.spec.get("move_outputs"):
            from fusion_jupyter.engine import fusion_outputs

            fusion_outputs.move_run_outputs(self.translator.output_dirs, dest)
            data_dir = (self.spec.get("links") or {}).get("data")
            network = self.spec.get("network")
            if not self.translator.output_dirs and self.first_load_at and data_dir and network:
                # Failed before its first save: its input directory is found by time.
                orphan = fusion_outputs.input_dir_between(
                    data_dir, network, self.began, self.first_load_at
                )
                if orphan is not None:
                    fusion_outputs.move_input_dir(orphan, dest)
            return
        for source in self.translator.output_dirs:
            root = os.path.join(self.run_dir, source)  # an absolute source stays as it is
            for pattern in self.spec.get("collect") or ["**/*"]:
                for found in glob.glob(os.path.join(root, pattern), recursive=True):
                    if os.path.isfile(found):
                        target = os.path.join(dest, os.path.relpath(found, root))
                        os.makedirs(os.path.dirname(target), exist_ok=True)
                        shutil.copy2(found, target)


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -I -S launcher.py LAUNCH_JSON``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: launcher.py LAUNCH_JSON", file=sys.stderr)
        return 2
    with open(args[0]) as fh:
        spec = json.load(fh)
    return Launcher(spec).run()


if __name__ == "__main__":
    sys.exit(main())
