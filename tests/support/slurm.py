"""A real single-node Slurm for the test session (spec: slurm-single-node.md).

Starts munged, slurmctld and slurmd with a generated ``slurm.conf`` whose state,
spool, logs and job completion file live in a temporary directory; the controller
and the node listen on 127.0.0.1 only. ``SlurmCluster.start()`` raises
``SlurmUnavailable`` with the reason when the binaries are missing or a daemon
does not come up; ``stop()`` shuts everything down.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "sacct")
READY_TIMEOUT = 30.0
#: More CPUs than the machine has (config_overrides), so an array throttle of 4 is
#: what limits concurrency in the tests, not the core count.
NODE_CPUS = 8


class SlurmUnavailable(RuntimeError):
    """Slurm cannot run here; the message says why."""


def _conf(root: Path, min_job_age: int) -> str:
    return "\n".join(
        [
            "ClusterName=fjtest",
            "SlurmctldHost=localhost(127.0.0.1)",
            "SlurmUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            "CommunicationParameters=NoCtldInAddrAny,NoInAddrAny",
            "SlurmctldPort=6817",
            "SlurmdPort=6818",
            f"StateSaveLocation={root}/state",
            f"SlurmdSpoolDir={root}/spool",
            f"SlurmctldPidFile={root}/slurmctld.pid",
            f"SlurmdPidFile={root}/slurmd.pid",
            f"SlurmctldLogFile={root}/slurmctld.log",
            f"SlurmdLogFile={root}/slurmd.log",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/filetxt",
            f"JobCompLoc={root}/jobcomp.log",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "SchedulerParameters=batch_sched_delay=0,sched_interval=1",
            "SlurmdParameters=config_overrides",
            "MpiDefault=none",
            "MailProg=/bin/true",
            "ReturnToService=2",
            f"MinJobAge={min_job_age}",
            "KillWait=2",
            f"NodeName=localhost NodeHostname=localhost NodeAddr=127.0.0.1 CPUs={NODE_CPUS} "
            "RealMemory=1000 State=UNKNOWN",
            "PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP",
            "",
        ]
    )


@dataclass
class SlurmCluster:
    """The running daemons of a one-node cluster."""

    root: Path
    env: dict[str, str]
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @classmethod
    def start(cls, min_job_age: int = 300) -> SlurmCluster:
        """Start munged, slurmctld and slurmd; wait until the node is idle."""
        missing = [b for b in BINARIES if shutil.which(b, path=_path()) is None]
        if missing:
            raise SlurmUnavailable(f"not installed: {', '.join(missing)}")
        if os.geteuid() != 0:
            raise SlurmUnavailable("the test cluster runs its daemons as root")
        root = Path(tempfile.mkdtemp(prefix="fj-slurm-"))
        for sub in ("state", "spool"):
            (root / sub).mkdir()
        conf = root / "slurm.conf"
        conf.write_text(_conf(root, min_job_age))
        env = {**os.environ, "SLURM_CONF": str(conf), "PATH": _path()}
        cluster = cls(root, env)
        try:
            cluster._start_munge()
            cluster._spawn(["slurmctld", "-D", "-c", "-f", str(conf)], "slurmctld")
            cluster._spawn(["slurmd", "-D", "-N", "localhost", "-f", str(conf)], "slurmd")
            cluster._wait_idle()
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _start_munge(self) -> None:
        run_dir = Path("/run/munge")
        run_dir.mkdir(parents=True, exist_ok=True)
        shutil.chown(run_dir, "munge", "munge")
        key = Path("/etc/munge/munge.key")
        if not key.exists():
            subprocess.run(["mungekey", "--create"], check=True, env=self.env)
            shutil.chown(key, "munge", "munge")
        if subprocess.run(["munge", "-n"], capture_output=True, env=self.env).returncode == 0:
            return  # a munged is already serving this machine
        self._spawn(
            ["setpriv", "--reuid=munge", "--regid=munge", "--init-groups", "munged", "-F"], "munged"
        )
        _wait(
            lambda: (
                subprocess.run(["munge", "-n"], capture_output=True, env=self.env).returncode == 0
            ),
            "munged",
        )

    def _spawn(self, argv: list[str], name: str) -> None:
        log = (self.root / f"{name}.out").open("ab")
        self.procs.append(
            subprocess.Popen(
                argv,
                env=self.env,
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        )

    def _wait_idle(self) -> None:
        def idle() -> bool:
            for proc in self.procs:
                if proc.poll() is not None:
                    raise SlurmUnavailable(f"{proc.args[0]} exited: {self.logs()}")
            out = subprocess.run(
                ["sinfo", "-h", "-N", "-o", "%t"], capture_output=True, text=True, env=self.env
            )
            return out.returncode == 0 and out.stdout.strip() == "idle"

        _wait(idle, "the Slurm node to become idle")

    def logs(self) -> str:
        """The daemons' last log lines, for error messages."""
        parts = []
        for name in ("slurmctld.log", "slurmd.log", "slurmctld.out", "slurmd.out", "munged.out"):
            path = self.root / name
            if path.exists():
                parts.append(f"--- {name}\n" + "\n".join(path.read_text().splitlines()[-15:]))
        return "\n".join(parts)

    def run(self, *argv: str) -> str:
        """Run a Slurm client command against this cluster; its stdout."""
        out = subprocess.run(list(argv), capture_output=True, text=True, env=self.env, check=True)
        return out.stdout

    def stop(self) -> None:
        """Shut the daemons down and remove the directory."""
        subprocess.run(["scontrol", "shutdown"], capture_output=True, env=self.env, timeout=10)
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def _path() -> str:
    return os.environ.get("PATH", "") + ":/usr/sbin:/sbin"


def _wait(predicate, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + READY_TIMEOUT
    while not predicate():
        if time.monotonic() > deadline:
            raise SlurmUnavailable(f"timed out waiting for {what}")
        time.sleep(0.1)
