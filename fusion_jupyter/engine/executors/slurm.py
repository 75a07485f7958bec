"""The Slurm executor: runs become batch jobs, sweeps become job arrays.

A job runs the same launcher as a local run, so exit records, progress files and
logs look the same; the run directory must be on a filesystem the compute nodes
share. Status comes from Slurm in bulk: one ``squeue`` call per poll for every
active job, and one ``sacct`` call for the jobs ``squeue`` no longer knows (with
``sacct -c``, the job completion file, where no accounting database is configured).
"""

from __future__ import annotations

import re
import shlex
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fusion_jupyter.engine import launcher
from fusion_jupyter.engine.errors import Problem, Unavailable, ValidationFailed
from fusion_jupyter.engine.runpaths import RunPaths

#: Slurm job states and the run status each means.
PENDING_STATES = frozenset({"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "RESV_DEL_HOLD"})
RUNNING_STATES = frozenset(
    {"RUNNING", "COMPLETING", "SUSPENDED", "STAGE_OUT", "SIGNALING", "RESIZING", "STOPPED"}
)
CANCELLED_STATES = frozenset({"CANCELLED", "REVOKED"})
COMPLETED_STATES = frozenset({"COMPLETED"})
# Every other state Slurm reports at the end (FAILED, TIMEOUT, NODE_FAIL, OUT_OF_MEMORY,
# BOOT_FAIL, DEADLINE, PREEMPTED, ...) means the run failed.

#: Per-run options and how each becomes an sbatch option.
OPTION_FLAGS = {
    "partition": "--partition",
    "account": "--account",
    "time": "--time",
    "mem": "--mem",
    "cpus": "--cpus-per-task",
    "qos": "--qos",
}
#: Values go into ``#SBATCH`` lines: nothing that could end the line or start a comment.
SAFE_VALUE = re.compile(r"^[A-Za-z0-9_.:,=@%+/\-\[\]]+$")
NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "lustre",
        "gpfs",
        "cephfs",
        "ceph",
        "beegfs",
        "glusterfs",
        "fuse.glusterfs",
        "fuse.sshfs",
        "panfs",
        "wekafs",
        "fuse.juicefs",
        "9p",
        "virtiofs",
    }
)
COMMAND_TIMEOUT = 60.0


class SlurmError(Unavailable):
    """A Slurm command failed; the message carries what it printed."""

    code = "slurm_error"


@dataclass(frozen=True)
class JobState:
    """What Slurm says about one job (or array task)."""

    job_id: str
    state: str
    reason: str | None = None
    node: str | None = None
    exit_code: int | None = None
    signal: int | None = None

    @property
    def pending(self) -> bool:
        """Waiting in the queue."""
        return self.state in PENDING_STATES

    @property
    def running(self) -> bool:
        """Allocated and running (or finishing)."""
        return self.state in RUNNING_STATES

    @property
    def terminal(self) -> bool:
        """Finished one way or another."""
        return not self.pending and not self.running


def check_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Per-run Slurm options, checked: known keys, values safe for ``#SBATCH`` lines."""
    problems = []
    clean: dict[str, Any] = {}
    for key, value in options.items():
        if key == "extra":
            lines = list(value) if isinstance(value, (list, tuple)) else None
            bad = lines is None or any(
                not isinstance(v, str) or not v.startswith("--") or not SAFE_VALUE.match(v)
                for v in lines
            )
            if bad:
                problems.append(
                    Problem(
                        "executor_options",
                        "extra",
                        "must be a list of sbatch options like '--qos=normal'",
                    )
                )
            else:
                clean["extra"] = lines
        elif key not in OPTION_FLAGS:
            known = ", ".join([*OPTION_FLAGS, "extra"])
            problems.append(
                Problem("executor_options", str(key), f"unknown option (known: {known})")
            )
        elif not SAFE_VALUE.match(str(value)) or isinstance(value, bool):
            problems.append(
                Problem("executor_options", key, f"{value!r} is not a value sbatch accepts here")
            )
        else:
            clean[key] = value
    if problems:
        raise ValidationFailed(problems)
    return clean


def directives(options: Mapping[str, Any]) -> list[str]:
    """``#SBATCH`` lines for checked options."""
    lines = [f"#SBATCH {OPTION_FLAGS[k]}={v}" for k, v in options.items() if k in OPTION_FLAGS]
    return lines + [f"#SBATCH {extra}" for extra in options.get("extra", [])]


class SlurmExecutor:
    """Submits, queries and cancels Slurm jobs with the Slurm command-line tools."""

    name = "slurm"

    def __init__(
        self,
        defaults: Mapping[str, Any] | None = None,
        *,
        python: str = sys.executable,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.defaults = check_options(defaults or {})
        self.python = python
        self.env = dict(env) if env is not None else None
        self._sacct_args: list[str] | None = None
        self._shared_checked: dict[Path, str | None] = {}

    @property
    def available(self) -> bool:
        """Whether the Slurm tools are on PATH."""
        return shutil.which("sbatch") is not None and shutil.which("squeue") is not None

    # ---- submitting -----------------------------------------------------------------

    def submit(self, run_id: str, run_dir: Path, options: Mapping[str, Any]) -> str:
        """Submit one run as a batch job; its job id."""
        paths = RunPaths(run_dir)
        script = paths.job_script
        paths.logs.mkdir(exist_ok=True)  # Slurm does not make --output's directory
        body = [
            f"#SBATCH --job-name=fj-{run_id}",
            f"#SBATCH --output={paths.slurm_log}",
            f"#SBATCH --chdir={run_dir}",
            *directives({**self.defaults, **options}),
            self._exec_line(shlex.quote(str(paths.launch))),
        ]
        script.write_text("#!/bin/bash\n" + "\n".join(body) + "\n")
        return self._sbatch(script)

    def submit_array(
        self,
        sweep_id: str,
        sweep_dir: Path,
        run_dirs: Sequence[Path],
        options: Mapping[str, Any],
        throttle: int,
    ) -> str:
        """Submit runs as one job array (task i runs ``run_dirs[i]``); the array's job id."""
        sweep_dir.mkdir(parents=True, exist_ok=True)
        (sweep_dir / "tasks.txt").write_text("".join(f"{d}\n" for d in run_dirs))
        limit = f"%{throttle}" if throttle > 0 else ""
        body = [
            f"#SBATCH --job-name=fj-sweep-{sweep_id}",
            f"#SBATCH --array=0-{len(run_dirs) - 1}{limit}",
            f"#SBATCH --output={sweep_dir}/slurm-%A_%a.out",
            f"#SBATCH --chdir={sweep_dir}",
            *directives({**self.defaults, **options}),
            f'RUN_DIR="$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" {shlex.quote(str(sweep_dir))}'
            '/tasks.txt)"',
            'cd "$RUN_DIR" || exit 97',
            self._exec_line(f'"$RUN_DIR/{RunPaths.LAUNCH}"'),
        ]
        script = sweep_dir / RunPaths.JOB_SCRIPT
        script.write_text("#!/bin/bash\n" + "\n".join(body) + "\n")
        return self._sbatch(script)

    def _exec_line(self, launch_file: str) -> str:
        return (
            f"exec {shlex.quote(self.python)} -I -S {shlex.quote(launcher.__file__)} {launch_file}"
        )

    def _sbatch(self, script: Path) -> str:
        out = self._run(["sbatch", "--parsable", str(script)])
        job_id = out.strip().split(";")[0]
        if not job_id.isdigit():
            raise SlurmError(f"sbatch gave no job id: {out.strip()!r}")
        return job_id

    # ---- querying -------------------------------------------------------------------

    def query(self, job_ids: Iterable[str]) -> dict[str, JobState]:
        """What Slurm knows of these jobs: one squeue call, one sacct call at most.

        Ids it knows nothing of (not even in accounting) are missing from the answer.
        """
        wanted = set(job_ids)
        if not wanted:
            return {}
        states = {j.job_id: j for j in self._squeue() if j.job_id in wanted}
        missing = wanted - set(states)
        if missing:
            states.update(self._sacct(sorted(missing)))
        return states

    def _squeue(self) -> list[JobState]:
        out = self._run(["squeue", "--me", "--array", "--noheader", "--format=%i|%T|%r|%N"])
        jobs = []
        for line in out.splitlines():
            parts = line.strip().split("|")
            if len(parts) == 4:
                job_id, state, reason, node = parts
                jobs.append(JobState(job_id, state, _none(reason), _none(node)))
        return jobs

    def _sacct(self, job_ids: list[str]) -> dict[str, JobState]:
        base = sorted({j.split("_")[0] for j in job_ids})
        out = self._accounting(
            [
                "--noheader",
                "--parsable2",
                "--allocations",
                "--format=jobid,state,exitcode,nodelist",
                "--jobs",
                ",".join(base),
            ]
        )
        found: dict[str, JobState] = {}
        for line in out.splitlines():
            parts = line.split("|")
            if len(parts) < 3:
                continue
            job_id, state, exit_code = parts[0], parts[1].split()[0], parts[2]
            code, _, sig = exit_code.partition(":")
            node = _none(parts[3]) if len(parts) > 3 else None
            found[job_id] = JobState(
                job_id,
                state,
                None,
                node,
                int(code) if code.isdigit() else None,
                int(sig) if sig.isdigit() and int(sig) else None,
            )
        return {j: found[j] for j in job_ids if j in found}

    def _accounting(self, args: list[str]) -> str:
        # Without slurmdbd plain sacct refuses; ``sacct -c`` reads the job completion
        # file instead (spec: slurm-single-node.md). Which one works is learnt once.
        if self._sacct_args is None:
            try:
                out = self._run(["sacct", *args])
            except SlurmError as exc:
                if "accounting storage is disabled" not in str(exc):
                    raise
                self._sacct_args = ["-c"]
            else:
                self._sacct_args = []
                return out
        return self._run(["sacct", *self._sacct_args, *args])

    # ---- cancelling -----------------------------------------------------------------

    def cancel(self, job_ids: Iterable[str]) -> None:
        """scancel the jobs (an array id cancels every task of the array)."""
        ids = sorted(set(job_ids))
        if ids:
            self._run(["scancel", *ids])

    # ---- the shared filesystem ------------------------------------------------------

    def shared_filesystem_problem(self, runs_dir: Path) -> str | None:
        """Why compute nodes could not see ``runs_dir``, or None if they can (or may).

        Checks what can be checked from here: where the nodes are, and what kind of
        filesystem holds the directory. Remembered per directory.
        """
        if runs_dir not in self._shared_checked:
            self._shared_checked[runs_dir] = self._check_shared(runs_dir)
        return self._shared_checked[runs_dir]

    def _check_shared(self, runs_dir: Path) -> str | None:
        nodes = set(self._run(["sinfo", "--noheader", "--Node", "--format=%N"]).split())
        here = {socket.gethostname(), socket.gethostname().split(".")[0], "localhost"}
        if nodes <= here:
            return None  # the nodes are this machine: any filesystem will do
        fstype = filesystem_type(runs_dir)
        if fstype in NETWORK_FILESYSTEMS:
            return None
        return (
            f"runs_dir {runs_dir} is on a local {fstype} filesystem, which the compute "
            f"nodes ({', '.join(sorted(nodes)[:5])}) cannot see; put runs_dir on a "
            "filesystem they share (NFS, Lustre, GPFS, ...)"
        )

    # ---- running commands -----------------------------------------------------------

    def _run(self, argv: list[str]) -> str:
        try:
            done = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                env=self.env,
                timeout=COMMAND_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SlurmError(f"{argv[0]} could not run: {exc}") from exc
        if done.returncode != 0:
            message = (done.stderr or done.stdout).strip()
            raise SlurmError(f"{' '.join(argv[:2])} failed ({done.returncode}): {message}")
        return done.stdout


def filesystem_type(path: Path) -> str:
    """The type of the filesystem holding ``path`` (from /proc/mounts)."""
    target = path.resolve()
    best, kind = "", "unknown"
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return kind
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        mount = fields[1].replace("\\040", " ")
        if (target == Path(mount) or Path(mount) in target.parents) and len(mount) > len(best):
            best, kind = mount, fields[2]
    return kind


def _none(value: str) -> str | None:
    value = value.strip()
    return None if value in ("", "None", "(null)", "n/a") else value
