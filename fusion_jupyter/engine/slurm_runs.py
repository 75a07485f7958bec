"""Supervising Slurm runs: submission, bulk status polling, settlement and cancel.

One thread asks Slurm about every active Slurm run once per ``slurm_poll_interval``
(one ``squeue``, plus one ``sacct`` for jobs ``squeue`` has forgotten), moves each run
to the status Slurm reports, records the pending reason and node, and starts or
stops following its files. Nothing here is kept only in memory: after a restart the
next poll re-attaches every run from the database by its job id.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from fusion_jupyter.engine.executors.base import RunEnd
from fusion_jupyter.engine.executors.slurm import (
    CANCELLED_STATES,
    COMPLETED_STATES,
    JobState,
    SlurmError,
    SlurmExecutor,
)
from fusion_jupyter.engine.faults import FaultLog
from fusion_jupyter.engine.launcher import read_json
from fusion_jupyter.engine.models import Run, Status, Sweep, utcnow
from fusion_jupyter.engine.procinfo import describe_exit
from fusion_jupyter.engine.runpaths import RunPaths, mark_cancel
from fusion_jupyter.engine.settings import EngineSettings
from fusion_jupyter.engine.store import JobRow, Store

log = logging.getLogger(__name__)

#: A Slurm run created this long ago without a job id lost its submitter: resubmit it.
SUBMIT_GRACE_SECONDS = 30.0
#: How long a cancel waits for Slurm to report the job ended, beyond the grace time.
CANCEL_WAIT_SECONDS = 30.0
#: How long a job neither squeue nor accounting knows may stay unknown before its run is
#: settled as forgotten. Slurm has such moments: squeue can drop a finished job before
#: its completion record reaches ``sacct`` (seen once under a loaded CI run, which then
#: settled two runs without Slurm's final state).
UNKNOWN_GRACE_SECONDS = 10.0
CANCEL_POLL_SECONDS = 0.2


class Supervisor(Protocol):
    """What SlurmRuns uses of the RunManager: its parts and its public run plumbing."""

    settings: EngineSettings
    store: Store
    slurm: SlurmExecutor

    def write_launch(self, run: Run) -> None: ...

    def publish(self, run: Run) -> None: ...

    def follow(self, run_id: str) -> None: ...

    def settle(self, run_id: str, end: RunEnd) -> None: ...


class SlurmRuns:
    """The part of a RunManager that deals with Slurm: it notices that a job ended by
    polling, and reports the run's end to the manager's ``settle``."""

    def __init__(self, manager: Supervisor) -> None:
        self.m = manager
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        # What the database looked like at the last poll that found no Slurm run: the
        # store's change marker, or where it has none (PostgreSQL) the count of nudges.
        self._empty_at: tuple[str, int] | None = None
        self._nudges = 0
        self._thread: threading.Thread | None = None
        self._faults = FaultLog(log, "polling the Slurm runs")
        # Run id -> when its job was first found unknown to Slurm (lost on a restart,
        # which only starts the grace again).
        self._unknown_since: dict[str, float] = {}

    def start(self) -> None:
        """Start polling Slurm in a daemon thread."""
        self._thread = threading.Thread(target=self._loop, name="fusion-slurm", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling (jobs keep running on the cluster)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    # ---- submitting -----------------------------------------------------------------

    def submit(self, runs: Sequence[Run], sweep: Sweep | None = None) -> None:
        """Submit new runs: a sweep as one job array, other runs one job each."""
        job_ids: dict[str, str] = {}
        try:
            for run in runs:
                self.m.write_launch(run)
            if sweep is not None and len(runs) > 1:
                job_ids = self._submit_array(runs, sweep)
            else:
                for run in runs:
                    job_ids[run.id] = self.m.slurm.submit(
                        run.id, Path(run.run_dir), run.executor_options
                    )
        except (SlurmError, OSError) as exc:
            for run in runs:
                if run.id not in job_ids:
                    error = f"Slurm refused the job: {exc}"
                    self.m.settle(run.id, RunEnd(Status.FAILED, error=error))
        self.m.store.set_job_ids(job_ids)
        for run in runs:
            if run.id in job_ids:
                run.job_id = job_ids[run.id]
                self.m.publish(run)
        self.nudge()

    def _submit_array(self, runs: Sequence[Run], sweep: Sweep) -> dict[str, str]:
        sweep_dir = self.m.settings.runs_dir / ".sweeps" / sweep.id
        array_id = self.m.slurm.submit_array(
            sweep.id,
            sweep_dir,
            [Path(r.run_dir) for r in runs],
            runs[0].executor_options,
            self.m.settings.slurm_array_throttle,
        )
        self.m.store.set_sweep_job(sweep.id, array_id)
        return {run.id: f"{array_id}_{index}" for index, run in enumerate(runs)}

    # ---- polling ----------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            # With no Slurm run at the last look there is nothing to ask Slurm: sleep
            # until a submit, or a commit the manager's sync sees (:meth:`nudge`).
            idle = self._empty_at is not None
            self._wake.wait(None if idle else self.m.settings.slurm_poll_interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.poll()
            except SlurmError as exc:
                log.warning("could not ask Slurm about runs: %s", exc)
            except Exception as exc:  # a database outage: logged once, retried
                self._faults.failed(exc)
            else:
                self._faults.succeeded()

    def nudge(self) -> None:
        """The database changed: look again (another manager may have submitted)."""
        self._nudges += 1
        self._wake.set()

    def poll(self) -> None:
        """One round: ask Slurm about every active Slurm run and act on the answers."""
        with self._lock:
            # No Slurm run at the last look and no commit since: none now either, and the
            # query is skipped (an idle server costs nothing).
            marker = self.m.store.change_marker()
            seen = ("marker", marker) if marker is not None else ("nudges", self._nudges)
            if seen == self._empty_at:
                return
            rows = self.m.store.active_jobs("slurm")
            self._empty_at = None if rows else seen
            if not rows:
                return
            submitted = [r for r in rows if r.job_id]
            states = self.m.slurm.query(r.job_id for r in submitted if r.job_id)
            for row in submitted:
                self._apply(row, states.get(row.job_id or ""))
            self._resubmit_lost([r for r in rows if not r.job_id])

    def _resubmit_lost(self, rows: list[JobRow]) -> None:
        for row in rows:
            if (utcnow() - row.created_at).total_seconds() > SUBMIT_GRACE_SECONDS:
                log.info("submitting Slurm run %s, which its creator never submitted", row.id)
                self.submit([self.m.store.get(row.id)])

    def _apply(self, row: JobRow, state: JobState | None) -> None:
        if state is None and not self._unknown_long_enough(row.id):
            return
        self._unknown_since.pop(row.id, None)
        if state is None or state.terminal:
            self.settle(self.m.store.get(row.id), state)
        elif state.pending:
            if row.status == Status.PENDING and row.pending_reason != state.reason:
                self.m.store.update(row.id, pending_reason=state.reason)
                self.m.publish(self.m.store.get(row.id))
        else:
            if row.status == Status.PENDING and self.m.store.transition(
                row.id,
                [Status.PENDING],
                status=Status.RUNNING,
                started_at=utcnow(),
                node=state.node,
                pending_reason=None,
            ):
                self.m.publish(self.m.store.get(row.id))
            self.m.follow(row.id)  # every round: after a restart, this re-attaches it

    def _unknown_long_enough(self, run_id: str) -> bool:
        """Whether the run's job has been unknown to Slurm for UNKNOWN_GRACE_SECONDS."""
        first = self._unknown_since.setdefault(run_id, time.monotonic())
        return time.monotonic() - first >= UNKNOWN_GRACE_SECONDS

    # ---- settling ---------------------------------------------------------------------

    def settle(self, run: Run, state: JobState | None) -> None:
        """Give a run whose job ended (or that Slurm forgot) its terminal status."""
        self._unknown_since.pop(run.id, None)
        record = read_json(RunPaths(Path(run.run_dir)).exit_record)
        code = record.get("exit_code") if record else (state.exit_code if state else None)
        cancelled = self.m.store.cancel_requested(run.id) or (
            state is not None and state.state in CANCELLED_STATES
        )
        succeeded = (record is not None and code == 0) and (
            state is None or state.state in COMPLETED_STATES
        )
        extra = _ran_where(run, state)
        if cancelled:
            end = RunEnd(Status.CANCELLED, code, extra=extra)
        elif succeeded:
            end = RunEnd(Status.COMPLETED, code, extra=extra)
        else:
            end = RunEnd(
                Status.FAILED, code, reason=_failure_reason(run, state, record), extra=extra
            )
        self.m.settle(run.id, end)

    # ---- cancelling -------------------------------------------------------------------

    def cancel(self, runs: Sequence[Run], array_id: str | None = None) -> None:
        """scancel the runs' jobs (or their whole array) and wait until Slurm says so."""
        for run in runs:
            self.m.store.update(run.id, cancel_requested=True)
        unsubmitted = [r for r in runs if not r.job_id]
        for run in unsubmitted:
            self.m.settle(run.id, RunEnd(Status.CANCELLED))
        jobs = [r for r in runs if r.job_id]
        if not jobs:
            return
        for run in jobs:  # scancel signals every process of a job, as a local cancel does
            mark_cancel(run.run_dir)
        self.m.slurm.cancel([array_id] if array_id else [r.job_id for r in jobs if r.job_id])
        deadline = time.monotonic() + self.m.settings.cancel_grace_seconds + CANCEL_WAIT_SECONDS
        waiting = {r.id: r for r in jobs}
        while waiting and time.monotonic() < deadline:
            states = self.m.slurm.query(r.job_id for r in waiting.values() if r.job_id)
            for run_id, run in list(waiting.items()):
                state = states.get(run.job_id or "")
                if state is None or state.terminal:
                    with self._lock:
                        self.settle(self.m.store.get(run_id), state)
                    del waiting[run_id]
            if waiting:
                time.sleep(CANCEL_POLL_SECONDS)


def _ran_where(run: Run, state: JobState | None) -> dict[str, Any]:
    """Node and start time of a job that ended between two polls (never seen running)."""
    extra: dict[str, Any] = {}
    if state is not None and state.node and not run.node:
        extra["node"] = state.node
    launched = read_json(RunPaths(Path(run.run_dir)).launcher_record)
    if run.started_at is None and launched and launched.get("started_at"):
        extra["started_at"] = datetime.fromisoformat(launched["started_at"].replace("Z", "+00:00"))
    return extra


def _failure_reason(run: Run, state: JobState | None, record: dict[str, Any] | None) -> str:
    if state is None and record is None:
        return (
            f"Slurm no longer knows job {run.job_id} and the run left no exit record; "
            "it was probably killed before its launcher could start"
        )
    parts = []
    if state is not None:
        parts.append(f"Slurm job {run.job_id} ended {state.state}")
    if record is not None:
        ended = describe_exit(record.get("exit_code"), record.get("signal"))
        parts.append("the simulator " + ended)
    elif state is not None and state.exit_code is not None:
        parts.append(f"exit code {state.exit_code}")
    text = "; ".join(parts) or "failed"
    return text[0].upper() + text[1:]
