"""RunManager: creates, queues, starts, supervises, cancels, deletes and recovers runs.

A manager is a library object: a Jupyter server holds one, and so does a notebook
kernel using the embedded engine. Several managers may share one database and one
runs directory; the database decides who starts what (slot claims are serialised),
and any of them may settle a run, because the exit code lives in the run directory
(``exit.json``, written by the run's launcher) and the status change is a
compare-and-set. Runs never depend on the manager that started them staying alive.

Daemon threads do the watching: one waits on pidfds for process ends, one on inotify
for file changes (unless the server's event loop does that), and one syncs with the
database about once a second (to see runs other managers created or settled, and to
write the throttled progress cache).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import math
import secrets
import shutil
import signal
import socket
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fusion_jupyter.engine import artifacts, config, simulators
from fusion_jupyter.engine.errors import (
    Conflict,
    Forbidden,
    InsufficientStorage,
    NotFound,
    Problem,
    ValidationFailed,
)
from fusion_jupyter.engine.executors import slurm
from fusion_jupyter.engine.executors.base import ProcessRef, RunEnd
from fusion_jupyter.engine.executors.local import LocalExecutor
from fusion_jupyter.engine.faults import FaultLog, describe, free_bytes, is_no_space
from fusion_jupyter.engine.fusion_outputs import move_run_outputs, remove_leftovers
from fusion_jupyter.engine.hub import EventHub, Message, Notify, Subscription
from fusion_jupyter.engine.launcher import read_json
from fusion_jupyter.engine.logpatterns import compile_patterns
from fusion_jupyter.engine.logs import LogChunk, read_range, tail_lines
from fusion_jupyter.engine.models import (
    ACTIVE,
    LOG_TAIL_HEADER,
    RANK,
    Run,
    Status,
    Sweep,
    latest_attempts,
    run_to_dict,
    status_view,
    utcnow,
)
from fusion_jupyter.engine.procinfo import describe_exit, group_members, signal_group
from fusion_jupyter.engine.progress import Event, read_events
from fusion_jupyter.engine.runpaths import RunPaths, mark_cancel
from fusion_jupyter.engine.settings import COMMAND_PLACEHOLDERS, EngineSettings
from fusion_jupyter.engine.slurm_runs import SlurmRuns
from fusion_jupyter.engine.store import Page, RunFilter, Store, SweepPage, set_claimed
from fusion_jupyter.engine.supervisor import ExitWatcher
from fusion_jupyter.engine.tracking import ChangedRuns, RunTracker, Throttle
from fusion_jupyter.engine.wakeup import Wakeup
from fusion_jupyter.engine.watcher import FileWatcher, PollingWatcher

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

#: A run claimed (RUNNING) but with no recorded process for this long was never started.
START_GRACE = timedelta(seconds=30)
#: After a commit wakes the sync thread, the round waits this share of a sync interval.
COMMIT_SETTLE = 0.25
LOG_TAIL_LINES = 20
#: Longest failure message: the error column travels in every listing and status frame,
#: so a huge log line must not become a huge error.
MAX_ERROR_CHARS = 4096
NAME_MAX = 200
TAG_MAX = 100
#: Tags a client may put on one run (a sweep adds its own ``sweep:<id>`` to these).
MAX_TAGS = 32
MAX_SWEEP_RUNS = 10_000


def new_id() -> str:
    """A run or sweep id: 12 lowercase hex characters."""
    return secrets.token_hex(6)


class RunManager:
    """The engine's one entry point; see the module docstring for the design.

    Takes the settings of :class:`EngineSettings` as keyword arguments (or a
    ready ``settings`` object). Call :meth:`start` before use and :meth:`close`
    after, or use it as a context manager.
    """

    def __init__(self, settings: EngineSettings | None = None, **kwargs: Any) -> None:
        self.settings = settings or EngineSettings.from_kwargs(**kwargs)
        compile_patterns(self.settings.progress_log_patterns)  # fail early on bad patterns
        self._check_command()
        self.host = socket.gethostname()
        self.store = Store(self.settings.db_url)
        self.templates = config.TemplateLibrary(self.settings.templates_path)
        self.hub = EventHub(self._known_run_dir, self.settings.subscriber_queue_size)
        self.local = LocalExecutor()
        self._lock = threading.RLock()
        self._slot_lock = threading.RLock()
        self._trackers: dict[str, RunTracker] = {}
        self._refs: dict[str, ProcessRef] = {}
        self._seen: dict[str, Status] = {}
        # Runs this manager has claimed and is starting, entered before the claim is
        # committed: the sync thread leaves them alone until they are launched and
        # tracked, so it neither announces a new run RUNNING before its PENDING nor
        # takes it for an orphan.
        self._starting: set[str] = set()
        # Runs whose process ended but whose end could not be recorded yet (the
        # database was down): launcher exit status by run id, retried every sync.
        self._unsettled: dict[str, int | None] = {}
        # Wakes the sync thread: stop, a run's progress changed (see ChangedRuns), or a
        # commit to the database (see Wakeup).
        self._sync_wake = Wakeup(self.store.feed_opener)
        self._changed = ChangedRuns(self._sync_wake.set)
        self._sync_faults = FaultLog(log, "syncing with the run database")
        self._settle_faults = FaultLog(log, "recording the end of a run")
        self._exits = ExitWatcher(self._on_exit)
        self._watcher = FileWatcher(self._on_files)
        # Writes made on other hosts of a network filesystem never reach inotify here.
        self._remote_watcher = PollingWatcher(
            self._on_files, poll_interval=self.settings.slurm_file_poll_interval
        )
        self.slurm = slurm.SlurmExecutor(
            self.settings.slurm_options, python=self.settings.slurm_python
        )
        self.slurm_runs = SlurmRuns(self)
        self._stop = threading.Event()
        self._sync_thread: threading.Thread | None = None
        self._flush = Throttle(self.settings.progress_flush_seconds)
        # When a run claimed but not started (by a manager that may have died) goes
        # stale: the sync thread's one timed wake-up (time.monotonic()).
        self._requeue_due: float | None = None
        self.started = False

    # ---- life cycle ---------------------------------------------------------------

    def __enter__(self) -> RunManager:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Re-attach to the runs left running, start the watchers and queued runs.

        With ``loop`` (a server's event loop) file changes are handled on that loop;
        without it, on a thread of the engine's own.
        """
        if self.started:
            return
        self.settings.runs_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.local.prepare()
        except OSError:  # tried again, and reported, by the first run that needs it
            log.exception("could not start the launcher fork server")
        self._exits.start()
        self._watcher.start(loop)
        self._remote_watcher.start()
        self.started = True
        self._sync(adopt=True)
        self._sync_thread = threading.Thread(
            target=self._sync_loop, name="fusion-sync", daemon=True
        )
        self._sync_thread.start()
        if self.slurm.available:
            self.slurm_runs.start()

    def close(self) -> None:
        """Stop supervising; runs keep going unless ``on_shutdown`` is ``cancel``."""
        if not self.started:
            self._sync_wake.close()
            self.store.close()
            return
        self.started = False
        self._stop.set()
        self._sync_wake.set()
        if self._sync_thread is not None:
            self._sync_thread.join(timeout=5)
        self._sync_wake.close()
        self.slurm_runs.stop()
        if self.settings.on_shutdown == "cancel":
            # Batch jobs belong to the cluster, not to this process: only local runs stop.
            local = [r for r, t in self._trackers.items() if not t.remote]
            for run_id in local:
                with suppress(Conflict, NotFound):  # it ended meanwhile
                    self.cancel(run_id, wait=True)
        self._flush_progress()
        self._watcher.stop()
        self._remote_watcher.stop()
        self._exits.stop()
        self.local.close()
        self.store.close()

    # ---- creating runs --------------------------------------------------------------

    def data_paths(self, simulator: str | None = None) -> config.DataPaths:
        """Where configs for ``simulator`` may read files from (see config.paths)."""
        sim = self._simulator(simulator)
        return config.DataPaths(
            fusion_root=simulators.installed_fusion_root(self.settings),
            allowed=tuple(self.settings.data_paths),
            topology_files=sim == "builtin",
        )

    def base_config(
        self, template: str | None, ini: str | Mapping[str, Any] | None
    ) -> tuple[str, config.Config]:
        """The config a run starts from, and the template it names ("" for a whole INI text).

        Exactly one of a template name or a whole config (a researcher's own file): INI
        text, or already parsed as ``{section: {key: value}}``.
        """
        if (template is None) == (ini is None):
            raise ValidationFailed(
                [
                    Problem(
                        "template", "", "give either a template name or config (a whole INI text)"
                    )
                ]
            )
        if template is not None:
            return template, self.templates.load(template)
        if isinstance(ini, Mapping):
            return "", config.merge({}, ini)
        try:
            return "", config.parse_ini(str(ini))
        except ValidationFailed as exc:
            problems = [Problem(p.section or "config", p.key, p.message) for p in exc.problems]
            raise ValidationFailed(problems, f"config is not valid INI: {exc}") from None

    def save_template(
        self,
        name: str,
        *,
        run_id: str | None = None,
        ini: str | Mapping[str, Any] | None = None,
        description: str = "",
        replace: bool = False,
    ) -> config.TemplateInfo:
        """Save a run's frozen config, or a whole config, as template ``name``.

        The config must be valid, so a template always launches.
        """
        if (run_id is None) == (ini is None):
            raise ValidationFailed(
                [Problem("template", "", "give either run_id or config to save as a template")]
            )
        cfg = (
            self.store.get(run_id).config if run_id is not None else self.base_config(None, ini)[1]
        )
        result = self.validate(cfg)
        if not result.valid:
            raise ValidationFailed(result.errors)
        return self.templates.save(name, cfg, description=description, replace=replace)

    def validate(self, cfg: config.Config, simulator: str | None = None) -> config.ValidationResult:
        """All problems of a config at once: the generic checks and the simulator's own
        (``simulator``: the one the run would use; default: the configured one)."""
        sim = self._simulator(simulator)
        paths = self.data_paths(sim)
        return config.validate_for(
            cfg, paths, lambda checked: simulators.validate(sim, checked, paths.fusion_root)
        )

    def _simulator(self, name: str | None) -> str:
        """The simulator a run asking for ``name`` uses (ValidationFailed if unknown)."""
        chosen = name or self.settings.simulator
        if chosen not in simulators.SIMULATORS:
            known = ", ".join(simulators.SIMULATORS)
            raise ValidationFailed(
                [Problem("run", "simulator", f"unknown simulator {chosen!r} (known: {known})")]
            )
        return chosen

    def _installed_simulator(self, name: str | None) -> str:
        """As :meth:`_simulator`, and Unavailable (503) if it is not installed here."""
        chosen = self._simulator(name)
        simulators.require(chosen, self.settings)
        return chosen

    def simulators(self) -> dict[str, Any]:
        """The default simulator and whether FUSION is available (slow the first time)."""
        return simulators.describe(self.settings)

    def create(
        self,
        template: str | None = None,
        overrides: Mapping[str, Any] | None = None,
        *,
        ini: str | Mapping[str, Any] | None = None,
        name: str = "",
        tags: Sequence[str] = (),
        executor: str | None = None,
        executor_options: Mapping[str, Any] | None = None,
        simulator: str | None = None,
    ) -> Run:
        """Create a run from a template, or a whole INI text, plus overrides.

        A local run starts when a slot is free; a Slurm run is submitted at once
        (``executor_options``: partition, account, time, mem, cpus, qos, extra).
        ``simulator``: ``builtin`` or ``fusion`` (default: the ``simulator`` setting);
        Unavailable if it is not installed, before anything is created.
        """
        _check_tags(tags)
        sim = self._installed_simulator(simulator)
        template, base = self.base_config(template, ini)
        cfg = self._build_config(base, overrides or {}, sim)
        self._check_space()
        target = self._executor_for(executor, executor_options)
        run = self._new_run(cfg, template, overrides or {}, name, tags, target, sim)
        return self._add_one(run, tags)

    def rerun(self, run_id: str) -> Run:
        """A new run with the same frozen config, template, name and tags."""
        old = self.store.get(run_id)
        self._check_space()
        sim = self._installed_simulator(old.simulator)
        target = self._executor_for(old.executor, old.executor_options)
        run = self._new_run(
            old.config, old.template, old.overrides, old.name, old.tags, target, sim
        )
        run.rerun_of = old.id
        # A rerun of a sweep's run is the sweep's next attempt at that grid point.
        run.sweep_id = old.sweep_id
        return self._add_one(run, old.tags)

    def create_sweep(
        self,
        template: str | None,
        grid: Mapping[str, Sequence[Any]],
        overrides: Mapping[str, Any] | None = None,
        *,
        ini: str | Mapping[str, Any] | None = None,
        name: str = "",
        tags: Sequence[str] = (),
        executor: str | None = None,
        executor_options: Mapping[str, Any] | None = None,
        simulator: str | None = None,
    ) -> tuple[Sweep, list[Run]]:
        """Expand the cartesian product of ``grid`` (``"section.key": values``) into runs.

        On Slurm the sweep is one job array, throttled by ``slurm_array_throttle``.
        Every run of the sweep uses ``simulator`` (see :meth:`create`).
        """
        _check_tags(tags)
        sim = self._installed_simulator(simulator)
        template, base_cfg = self.base_config(template, ini)
        points = self._grid_points(grid)
        self._check_space()
        base = config.normalize_overrides(overrides or {})
        target = self._executor_for(executor, executor_options)
        sweep = Sweep(
            id=new_id(),
            name=_check_name(name),
            template=template,
            grid={k: list(v) for k, v in grid.items()},
            executor=target[0],
        )
        all_tags = [*tags, f"sweep:{sweep.id}"]
        configs = [
            (point, config.merge(base, config.normalize_overrides(point))) for point in points
        ]
        built = [(point, ov, self._build_config(base_cfg, ov, sim)) for point, ov in configs]
        runs: list[tuple[Run, Sequence[str]]] = []
        committed: list[Run] = []
        with _removing_dirs_on_error(_uncommitted(runs, committed)):
            for point, merged_overrides, cfg in built:
                label = ", ".join(f"{k}={v}" for k, v in point.items())
                run = self._new_run(
                    cfg,
                    template,
                    merged_overrides,
                    f"{name or template or 'sweep'} [{label}]",
                    all_tags,
                    target,
                    sim,
                )
                run.sweep_id = sweep.id
                runs.append((run, all_tags))
            config.flush_to_disk()  # one flush for all the sweep's frozen configs
            try:
                self.store.add_sweep(sweep, runs, committed)
            except Exception as exc:
                if committed:
                    self._abandon_sweep(sweep, exc)
                raise
        return sweep, self._after_create([r for r, _ in runs], sweep)

    def _abandon_sweep(self, sweep: Sweep, exc: Exception) -> None:
        """Cancel (with the reason) the runs of a sweep that could not be written whole.

        The batches already written are whole runs, kept with their directories; if
        even this fails (the database went away), they stay PENDING and run later.
        """
        reason = f"the sweep could not be created whole: {describe(exc)}"
        try:
            self.store.abandon_sweep(sweep.id, reason)
        except Exception:
            log.warning("sweep %s: %s; its written runs stay queued", sweep.id, reason)

    def _check_space(self) -> None:
        """Refuse new runs while the runs directory has less room than the minimum.

        A run started there would fail at once, or worse take the last bytes that the
        runs already going need to record how they ended.
        """
        free = free_bytes(self.settings.runs_dir)
        minimum = self.settings.min_free_disk_bytes
        if free is not None and free < minimum:
            raise InsufficientStorage(
                f"no space left for new runs (ENOSPC): {free} bytes free in "
                f"{self.settings.runs_dir}, below the minimum of {minimum}; free some "
                "space (delete runs with purge) and retry"
            )

    def _grid_points(self, grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
        problems = []
        for key, values in grid.items():
            if not isinstance(values, (list, tuple)) or not values:
                problems.append(Problem("grid", str(key), "must be a non-empty list of values"))
        if not grid:
            problems.append(Problem("grid", "", "must name at least one key"))
        if problems:
            raise ValidationFailed(problems)
        # Counted before anything is expanded: a few hundred values on a few keys make
        # billions of points, which must cost a multiplication, not the memory.
        size = math.prod(len(values) for values in grid.values())
        if size > MAX_SWEEP_RUNS:
            raise ValidationFailed(
                [Problem("grid", "", f"expands to {size} runs; the limit is {MAX_SWEEP_RUNS}")]
            )
        keys = list(grid)
        return [
            dict(zip(keys, combo, strict=True))
            for combo in itertools.product(*(grid[k] for k in keys))
        ]

    def _build_config(
        self, base: config.Config, overrides: Mapping[str, Any], simulator: str
    ) -> config.Config:
        cfg = config.merge(base, config.normalize_overrides(overrides))
        result = self.validate(cfg, simulator)
        if not result.valid:
            raise ValidationFailed(result.errors)
        return cfg

    def _new_run(
        self,
        cfg: config.Config,
        template: str,
        overrides: Mapping[str, Any],
        name: str,
        tags: Sequence[str],
        target: tuple[str, dict[str, Any]],
        simulator: str,
    ) -> Run:
        """A new run's record and directory, with its frozen config written but not yet
        durable: the caller makes it so (see :meth:`_add_one`)."""
        executor, executor_options = target
        name = _check_name(name)
        run_id = new_id()
        run_dir = self.settings.runs_dir / run_id
        # Only the directory: its launcher makes logs/ and output/ when the run starts,
        # off the creating request's path (see docs/scaling.md, "Creating runs").
        try:
            run_dir.mkdir(parents=True)
            config.write_frozen(cfg, RunPaths(run_dir).config, durable=False)
        except BaseException as exc:
            shutil.rmtree(run_dir, ignore_errors=True)
            if is_no_space(exc):
                message = f"could not write the run's files: {describe(exc)}"
                raise InsufficientStorage(message) from exc
            raise
        return Run(
            id=run_id,
            name=name,
            template=template,
            config=cfg,
            overrides=json.loads(json.dumps(overrides)),
            status=Status.PENDING,
            executor=executor,
            simulator=simulator,
            executor_options=executor_options,
            run_dir=str(run_dir),
            cancel_requested=False,
            created_at=utcnow(),
        )

    def _executor_for(
        self, executor: str | None, options: Mapping[str, Any] | None
    ) -> tuple[str, dict[str, Any]]:
        """The executor's name and checked options, or ValidationFailed naming the field."""
        name = executor or self.settings.default_executor
        available = ["local"] + (["slurm"] if self.slurm.available else [])
        if name not in available:
            raise ValidationFailed(
                [
                    Problem(
                        "run",
                        "executor",
                        f"unknown or unavailable "
                        f"executor {name!r} (available: {', '.join(available)})",
                    )
                ]
            )
        if name == "local":
            if options:
                raise ValidationFailed(
                    [Problem("run", "executor_options", "the local executor takes no options")]
                )
            return name, {}
        problem = self.slurm.shared_filesystem_problem(self.settings.runs_dir)
        if problem:
            raise ValidationFailed([Problem("run", "executor", problem)])
        return name, slurm.check_options(options or {})

    def _add_one(self, run: Run, tags: Sequence[str]) -> Run:
        """Insert one new run (made by :meth:`_new_run`) and start it if a slot is free."""
        if run.executor == "local" and self.started:
            # Claimed by the transaction that inserts it, under the slot lock as in
            # _fill_slots: one transaction before the launch, not two.
            with self._slot_lock, self._starting_runs([run.id]):
                values = self._claim_values()
                with _removing_dirs_on_error([run]):
                    claimed = self.store.add_run_claimed(
                        run, tags, self.settings.max_concurrent_runs, values
                    )
                if claimed:
                    # Announced as inserted (PENDING: every run's life starts so).
                    announcement = status_view(run_to_dict(run))
                    set_claimed(run, values)
                    self._start(run, announcement)
            created = self.store.get(run.id) if claimed else self._after_create([run])[0]
        else:
            with _removing_dirs_on_error([run]):
                self.store.add_run(run, tags)
            created = self._after_create([run])[0]
        # The frozen config is made durable after the run is started, not before: the
        # simulator reads it from the page cache, and the fsyncs would delay the start.
        # It is durable before the caller hears of the run, as the run's database row is.
        config.make_durable(RunPaths(Path(run.run_dir)).config)
        return created

    def _after_create(self, runs: list[Run], sweep: Sweep | None = None) -> list[Run]:
        for run in runs:
            self.publish(run)  # the inserted object is the row as it is now
        if runs and runs[0].executor == "slurm":
            self.slurm_runs.submit(runs, sweep)
        else:
            self._fill_slots()
        return self.store.get_many([run.id for run in runs])

    # ---- starting runs ----------------------------------------------------------------

    def _fill_slots(self) -> None:
        if not self.started:
            return
        with self._slot_lock:
            claimed = self.store.claim_pending(
                self.settings.max_concurrent_runs, self._claim_values()
            )
            # Entered just after the claim commits. A sync in between is harmless:
            # these runs were announced PENDING when created, and one not started yet
            # is looked at again later (_requeue_if_never_started).
            with self._starting_runs(run.id for run in claimed):
                for run in claimed:
                    self._start(run)

    @contextmanager
    def _starting_runs(self, run_ids: Iterable[str]) -> Iterator[None]:
        """Keep the sync thread off runs while this thread claims and starts them."""
        ids = set(run_ids)
        with self._lock:
            self._starting |= ids
        try:
            yield
        finally:
            with self._lock:
                self._starting -= ids

    def _claim_values(self) -> dict[str, Any]:
        """What a claim sets on a run besides RUNNING: when and where it starts."""
        return {"started_at": utcnow(), "host": self.host}

    def _start(self, run: Run, created: dict[str, Any] | None = None) -> None:
        """Launch a claimed run; ``created``: its announcement as inserted, made once the
        launch is under way (an announcement wakes the event loop, whose thread would
        take the GIL from this one on the way to the launch)."""
        run_dir = Path(run.run_dir)
        try:
            self.write_launch(run)
            ref = self.local.start(run.id, run_dir)
        except OSError as exc:
            if created is not None:
                self._announce(run.id, Status.PENDING, created)
            error = f"could not start the run: {describe(exc)}"
            self.settle(run.id, RunEnd(Status.FAILED, error=error))
            return
        if created is not None:
            self._announce(run.id, Status.PENDING, created)
        process = {"pid": ref.pid, "pgid": ref.pgid, "proc_start": ref.start_time}
        self.store.update(run.id, **process)
        for key, value in process.items():
            setattr(run, key, value)
        self.publish(run)  # before tracking, so it always precedes the run's end
        self._track(run.id, run_dir, ref)
        if self.store.cancel_requested(run.id):  # cancelled while it was starting
            self._cancel_running(self.store.get(run.id))

    def write_launch(self, run: Run) -> None:
        """Write the file that tells a run's launcher what to run (for any executor)."""
        run_dir = Path(run.run_dir)
        paths = RunPaths(run_dir)
        values = {
            "config_path": str(paths.config),
            "run_id": run.id,
            "run_dir": str(run_dir),
            "output_dir": str(paths.output),
            "progress_file": str(paths.progress),
        }
        sim = simulators.profile(run.simulator, self.settings)
        argv = [part.format(**values) for part in sim.command]
        # Only the keys the start event needs: the whole config was typed and validated
        # when the run was created.
        typed = config.general_values(
            run.config, ("max_iters", "erlang_start", "erlang_stop", "erlang_step")
        )
        points = config.erlang_points(typed)
        spec = {
            "run_id": run.id,
            "run_dir": str(run_dir),
            "argv": argv,
            "progress_file": values["progress_file"],
            # FUSION names its input directory after its network (see fusion_outputs).
            "network": run.config.get("topology_settings", {}).get("network"),
            **sim.launch_spec(),
            "start": {
                "total_erlangs": len(points),
                "total_iterations": typed.get("max_iters"),
                "erlang_start": typed.get("erlang_start"),
                "erlang_stop": typed.get("erlang_stop"),
                "erlang_step": typed.get("erlang_step"),
            },
        }
        paths.launch.write_text(json.dumps(spec, indent=1))

    def _check_command(self) -> None:
        for part in self.settings.simulator_command:
            try:
                part.format(**dict.fromkeys(COMMAND_PLACEHOLDERS, ""))
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(
                    f"simulator_command: {part!r} uses an unknown placeholder ({exc}); "
                    f"known: {', '.join('{' + p + '}' for p in COMMAND_PLACEHOLDERS)}"
                ) from exc

    # ---- supervising --------------------------------------------------------------

    def _track(self, run_id: str, run_dir: Path, ref: ProcessRef | None) -> None:
        """Follow a run's files; with ``ref`` (a local process) also its end."""
        with self._lock:
            tracker = self._trackers.setdefault(
                run_id, RunTracker(run_id, run_dir, remote=ref is None, changed=self._changed)
            )
            if ref is not None:
                self._refs[run_id] = ref
            self._update_watch_paths()
        tracker.poll(self.hub)
        if ref is not None and not self._exits.watch(run_id, ref.pid, ref.start_time):
            self._on_exit(run_id)  # ended before we looked: settle it now

    def _untrack(self, run_id: str, *, save: bool = True) -> RunTracker | None:
        """Stop following a run after reading its files one last time.

        With ``save`` its progress cache is written if it changed; a caller that
        settles the run writes the whole cache with the terminal status instead.
        """
        with self._lock:
            tracker = self._trackers.pop(run_id, None)
            self._refs.pop(run_id, None)
            self._update_watch_paths()
        self._exits.unwatch(run_id)
        if tracker is not None:
            tracker.poll(self.hub)
            changed = tracker.take_dirty()
            if changed and save:
                self.store.update(run_id, **changed[0])
        return tracker

    def _update_watch_paths(self) -> None:
        trackers = self._trackers.values()
        self._watcher.set_paths({t.run_dir for t in trackers if not t.remote})
        self._remote_watcher.set_paths({t.run_dir for t in trackers if t.remote})

    @property
    def watch_modes(self) -> dict[str, str]:
        """How file changes are noticed, per kind of run (for health reports)."""
        return {
            "local": self._watcher.mode,
            "slurm": f"{self._remote_watcher.mode}, every "
            f"{self.settings.slurm_file_poll_interval} s",
        }

    def _on_files(self, paths: set[str] | None) -> None:
        with self._lock:
            trackers = dict(self._trackers)
        if paths is None:
            touched = set(trackers)
        else:
            touched = {
                Path(p).relative_to(self.settings.runs_dir).parts[0]
                for p in paths
                if Path(p).is_relative_to(self.settings.runs_dir)
            }
        for run_id in touched:
            tracker = trackers.get(run_id)
            if tracker is not None:
                tracker.poll(self.hub)

    def _on_exit(self, run_id: str) -> None:
        ref = self._refs.get(run_id)
        launcher_code = self.local.reap(ref.pid) if ref else None
        if not self._try_settle(run_id, launcher_code):
            # The end lives in the run's exit record, so nothing is lost by waiting:
            # every sync retries, and the run is settled once the database answers.
            self._unsettled[run_id] = launcher_code
            log.warning("run %s ended; its end is recorded once the database answers", run_id)
        try:
            self._fill_slots()
        except Exception as exc:  # the next sync fills them
            self._sync_faults.failed(exc)

    def _try_settle(self, run_id: str, launcher_code: int | None) -> bool:
        """Settle a run whose process has ended; False if the database refused."""
        try:
            self._settle(run_id, launcher_code)
        except NotFound:
            pass  # deleted meanwhile: nothing to record
        except Exception as exc:
            self._settle_faults.failed(exc)
            return False
        self._settle_faults.succeeded()
        return True

    def _settle_unsettled(self) -> None:
        for run_id, launcher_code in list(self._unsettled.items()):
            if self._try_settle(run_id, launcher_code):
                self._unsettled.pop(run_id, None)

    def _settle(self, run_id: str, launcher_code: int | None = None) -> None:
        """Settle a local run whose launcher has ended (the exit watcher saw it)."""
        run = self.store.get(run_id)
        if run.status not in (Status.RUNNING, Status.CANCELLING):
            self._untrack(run_id)
            return
        paths = RunPaths(Path(run.run_dir))
        record = read_json(paths.exit_record)
        if record is None and run.pgid and group_members(run.pgid):
            # The launcher died alone (killed): nothing can record the end of what it
            # started, so stop the rest of the group rather than leave orphans.
            signal_group(run.pgid, signal.SIGKILL)
        if record is None:
            # Nor did it bring the simulator's files home (FUSION's, in FUSION's tree),
            # nor use the space it set aside for the record.
            external = read_json(paths.external_record) or {}
            move_run_outputs(external.get("saving_to") or [], str(paths.output))
            for reserved in paths.root.glob(f".{RunPaths.EXIT_RECORD}.*.tmp"):
                reserved.unlink(missing_ok=True)
        code = record.get("exit_code") if record else None
        if run.cancel_requested:
            end = RunEnd(Status.CANCELLED, code)
        elif record is not None and code == 0:
            end = RunEnd(Status.COMPLETED, code)
        else:
            end = RunEnd(Status.FAILED, code, reason=_local_exit_reason(record, launcher_code))
        self.settle(run_id, end)

    def settle(self, run_id: str, end: RunEnd) -> None:
        """Record how a run ended, as its executor saw it: every executor reports here
        (local runs when the exit watcher sees their launcher end, Slurm runs when a
        poll finds their job ended). The run's files are read one last time; the first
        report wins and later ones change nothing.
        """
        tracker = self._trackers.get(run_id)
        if tracker is not None:
            tracker.poll(self.hub)
        error = end.error
        if end.reason is not None:
            error = self._failure_message(self.store.get(run_id), end.reason, tracker)
        self._finish(run_id, end.status, end.exit_code, error, **end.extra)

    def follow(self, run_id: str) -> None:
        """Follow the files of a run that runs elsewhere (a Slurm job), if not already."""
        if run_id not in self._trackers:
            self._track(run_id, self.run_dir(run_id), None)

    def _failure_message(self, run: Run, reason: str, tracker: RunTracker | None) -> str:
        """Why a run failed, with its simulator error and the last lines of its log.

        At most MAX_ERROR_CHARS: the log's end gets the room the rest leaves.
        """
        parts = [_clip(reason + ".", MAX_ERROR_CHARS // 4)]
        if tracker is not None and tracker.last_error:
            parts.append(_clip(f"Simulator error: {tracker.last_error}", MAX_ERROR_CHARS // 4))
        tail = tail_lines(
            RunPaths(Path(run.run_dir)).log, LOG_TAIL_LINES, MAX_ERROR_CHARS
        ).data.rstrip()
        header = LOG_TAIL_HEADER + "\n"
        room = MAX_ERROR_CHARS - sum(len(p) + 1 for p in parts) - len(header)
        parts.append(header + tail[-room:] if tail else f"{RunPaths.LOG} is empty.")
        return "\n".join(parts)

    def _finish(
        self, run_id: str, status: Status, code: int | None, error: str | None, **extra: Any
    ) -> None:
        """Move a run to a terminal status (once: the first caller wins) and announce it.

        The final progress cache goes in the same compare-and-set as the status: a
        periodic flush that took the cache just before cannot then be the write
        that makes it visible after the run is already seen as ended.
        """
        tracker = self._untrack(run_id, save=False)
        values: dict[str, Any] = {
            **(tracker.cache() if tracker is not None else {}),
            "status": status,
            "exit_code": code,
            "completed_at": utcnow(),
            "error": error,
            "pending_reason": None,
            **extra,
        }
        if status == Status.COMPLETED:
            values["percent"] = 100.0
        # Under the slot lock, so that the run taking the freed slot cannot be announced
        # RUNNING before this one is announced ended.
        with self._slot_lock:
            if self.store.transition(
                run_id, [Status.RUNNING, Status.CANCELLING, Status.PENDING], **values
            ):
                self.publish(self.store.get(run_id))

    def publish(self, run: Run) -> None:
        """Announce a run's record to the status subscribers (never a status that goes back)."""
        self._announce(run.id, Status(run.status), status_view(run_to_dict(run)))

    def _announce(self, run_id: str, status: Status, view: dict[str, Any]) -> None:
        # Threads publish the same run (starter, exit watcher, sync); a status is
        # never allowed to go backwards, so a late RUNNING cannot follow COMPLETED.
        with self._lock:
            previous = self._seen.get(run_id)
            if previous is not None and RANK[previous] > RANK[status]:
                return
            self._seen[run_id] = status
            self.hub.publish_status(view)

    # ---- syncing with the database and other managers ----------------------------

    def _sync_loop(self) -> None:
        sync = Throttle(self.settings.sync_interval_seconds)
        sync.ready()
        marker: int | None = None
        # A sync round can find something new only after a commit (which wakes the
        # thread through the database's feed: inotify on SQLite's files, PostgreSQL's
        # NOTIFY), while an end is still to be recorded, or once a run claimed by a
        # manager that died before starting it goes stale. So an idle server sleeps
        # until one of those: a timer's wake-up costs milliseconds of CPU on a virtual
        # machine. The first round always syncs.
        committed = True
        while True:
            pending = committed or self._sync_by_time()
            woken = self._sync_wake.wait(self._sync_timeout(sync, pending), database=not pending)
            if woken and not committed:
                # A commit comes with more (a create claims, starts, records the pid):
                # the round waits for them, and keeps off the path of a run starting.
                sync.defer(sync.interval * COMMIT_SETTLE)
            committed = committed or woken
            if self._stop.is_set():
                return
            try:
                if self._flush.ready():
                    self._flush_progress()
                requeue = self._requeue_due is not None and time.monotonic() >= self._requeue_due
                if (committed or requeue or self._sync_by_time()) and sync.ready():
                    committed = False
                    self._sync_wake.forget_changes()  # this round's marker covers them
                    seen, marker = marker, self.store.change_marker()
                    changed = marker is None or marker != seen
                    if changed:  # another manager may have submitted a Slurm run
                        self.slurm_runs.nudge()
                    if changed or requeue or self._unsettled:
                        self._sync(adopt=False)
                    self._sync_faults.succeeded()  # the change marker asked the database
            except Exception as exc:  # an outage or a full disk: logged once, retried
                committed = True
                self._sync_faults.failed(exc)

    def _sync_by_time(self) -> bool:
        """Whether sync rounds are due once a sync interval, commit or not: with no
        feed of the database's commits, or while an end is still to be recorded."""
        return not self._sync_wake.watches_database or bool(self._unsettled)

    def _sync_timeout(self, sync: Throttle, pending: bool) -> float | None:
        """Seconds the sync thread may sleep (None: until woken)."""
        due: float | None = None
        if pending:
            due = sync.remaining()
        elif self._requeue_due is not None:  # and no sooner than the next sync may run
            due = max(sync.remaining(), self._requeue_due - time.monotonic())
        if self._changed:  # a flush may run once a run's progress has changed
            flush = self._flush.remaining()
            due = flush if due is None else min(due, flush)
        return due

    def _flush_progress(self) -> None:
        for run_id in self._changed.take():
            with self._lock:
                tracker = self._trackers.get(run_id)
            changed = tracker.take_dirty() if tracker is not None else None
            if changed is None:
                continue
            columns, progress = changed
            # Only while the run is active: once it has ended, its cache was
            # written with its terminal status, and this one may be older.
            if self.store.transition(run_id, list(ACTIVE), **columns):
                self.hub.publish_run_progress(run_id, progress)

    def _sync(self, *, adopt: bool) -> None:
        """See runs other managers created, started or settled; adopt orphans."""
        self._settle_unsettled()
        self._requeue_due = None  # set again below for each claimed run not started yet
        active = self.store.active_statuses()
        stale = [r for r, st in self._seen.items() if st.active and r not in active]
        for run_id in stale:
            self._untrack(run_id)
            try:
                self.publish(self.store.get(run_id))
            except NotFound:
                self._seen.pop(run_id, None)
        with self._lock:  # read after the statuses: entered before any claim commits
            starting = set(self._starting)
        for run_id, status in active.items():
            if run_id in starting:  # its own thread announces and tracks it
                continue
            changed = self._seen.get(run_id) != status
            orphan = status in (Status.RUNNING, Status.CANCELLING) and run_id not in self._trackers
            if changed or orphan:
                run = self.store.get(run_id)
                if changed:
                    self.publish(run)
                if orphan:
                    self._adopt(run, at_start=adopt)
        if Status.PENDING in active.values():
            self._fill_slots()

    def _adopt(self, run: Run, *, at_start: bool) -> None:
        if run.executor != "local" or (run.host and run.host != self.host):
            return
        run_dir = Path(run.run_dir)
        ref = self._ref_of(run, run_dir)
        if ref is None:
            self._requeue_if_never_started(run)
            return
        log.info("re-attaching run %s (pid %s)%s", run.id, ref.pid, " at start" if at_start else "")
        self._track(run.id, run_dir, ref)
        if run.status == Status.CANCELLING:  # whoever cancelled it is gone: finish the job
            self._cancel_running(run)

    def _requeue_if_never_started(self, run: Run) -> None:
        # A run claimed long ago with no process: its manager died before starting it.
        if run.started_at is None:
            return
        left = (START_GRACE - (utcnow() - run.started_at)).total_seconds()
        if left >= 0:  # perhaps still starting: look again once it would be stale
            due = time.monotonic() + max(left, 1.0)
            self._requeue_due = min(due, self._requeue_due or due)
        elif self.store.transition(
            run.id, [Status.RUNNING], status=Status.PENDING, started_at=None, host=None
        ):
            self.publish(self.store.get(run.id))

    def _ref_of(self, run: Run, run_dir: Path) -> ProcessRef | None:
        if run.pid is not None:
            return ProcessRef(run.pid, run.pgid or run.pid, run.proc_start)
        record = read_json(RunPaths(run_dir).launcher_record)
        if record is None:
            return None
        ref = ProcessRef(int(record["pid"]), int(record["pid"]), record.get("start_time"))
        self.store.update(run.id, pid=ref.pid, pgid=ref.pgid, proc_start=ref.start_time)
        return ref

    # ---- cancel, delete ---------------------------------------------------------------

    def cancel(self, run_id: str, *, wait: bool = False) -> Run:
        """Stop a run: a PENDING local one is just marked, a RUNNING one's group is sent
        SIGTERM and the run is CANCELLING until it ends, a Slurm job is scancel-ed.

        Returns at once (for Slurm: as soon as Slurm reports the job ended): a
        simulator may take a moment to save what it has (FUSION saves its statistics
        on SIGTERM); what is left of the run's group after ``cancel_grace_seconds``
        is killed in the background. With ``wait``, returns once the run has ended.
        """
        run = self.store.get(run_id)
        if Status(run.status).terminal:
            raise Conflict(f"run {run_id} is already {Status(run.status).value}")
        if run.status == Status.CANCELLING and not wait:
            return run
        if run.executor == "slurm":
            self.slurm_runs.cancel([run])
            return self.store.get(run_id)
        if run.status == Status.PENDING and self.store.transition(
            run_id,
            [Status.PENDING],
            status=Status.CANCELLED,
            cancel_requested=True,
            completed_at=utcnow(),
        ):
            self.publish(self.store.get(run_id))
            return self.store.get(run_id)
        if self.store.transition(
            run_id, [Status.RUNNING], status=Status.CANCELLING, cancel_requested=True
        ):
            self.publish(self.store.get(run_id))
        else:
            self.store.update(run_id, cancel_requested=True)
        self._cancel_running(self.store.get(run_id), wait=wait)
        return self.store.get(run_id)

    def cancel_sweep(self, sweep_id: str) -> list[Run]:
        """Cancel every active run of a sweep (on Slurm: the whole job array at once)."""
        sweep, runs = self.store.get_sweep(sweep_id)
        active = [r for r in runs if not Status(r.status).terminal]
        if sweep.executor == "slurm":
            self.slurm_runs.cancel(active, array_id=sweep.job_id)
        else:
            for run in active:
                with suppress(Conflict):  # it ended meanwhile
                    self.cancel(run.id)
        return self.store.get_sweep(sweep_id)[1]

    def rerun_failed_sweep(self, sweep_id: str) -> list[Run]:
        """Rerun every failed run of a sweep that has not been rerun yet (its latest
        attempt at a grid point); the new runs join the sweep. Conflict if none failed."""
        _sweep, runs = self.store.get_sweep(sweep_id)
        failed = [r for r in latest_attempts(runs) if r.status == Status.FAILED]
        if not failed:
            raise Conflict(f"sweep {sweep_id} has no failed run to rerun")
        return [self.rerun(run.id) for run in failed]

    def delete_sweep(self, sweep_id: str, *, purge: bool = False) -> None:
        """Forget a sweep and all its runs; ``purge`` also removes their directories.

        Conflict while any of its runs is active: a running run's directory is never
        removed under it (cancel the sweep first).
        """
        runs = self.store.delete_sweep(sweep_id)
        for run in runs:
            if purge:
                try:
                    self._purge(run)
                except Forbidden as exc:  # the record is gone; say why its files stay
                    log.warning("sweep %s: %s", sweep_id, exc.message)
            self.hub.publish_status({**run_to_dict(run), "deleted": True})

    def _cancel_running(self, run: Run, *, wait: bool = False) -> None:
        if run.pid is None or run.host not in (None, self.host):
            return  # not started yet (the starter sees the flag) or another host's run
        ref = ProcessRef(run.pid, run.pgid or run.pid, run.proc_start)
        mark_cancel(run.run_dir)
        self.local.terminate(ref)
        if wait:
            self.local.kill_after(ref, self.settings.cancel_grace_seconds)
            self._settle(run.id, self.local.reap(ref.pid))
            return
        # The exit watcher settles the run when its launcher ends; this thread only
        # makes sure nothing of it outlives the grace.
        threading.Thread(
            target=self.local.kill_after,
            args=(ref, self.settings.cancel_grace_seconds),
            name=f"fusion-cancel-{run.id}",
            daemon=True,
        ).start()

    def delete(self, run_id: str, *, purge: bool = False) -> None:
        """Forget a finished run; with ``purge`` also remove its directory."""
        run = self.store.get(run_id)
        if not Status(run.status).terminal:
            raise Conflict(
                f"run {run_id} is {Status(run.status).value}: cancel it before deleting it"
            )
        self.store.delete_run(run_id)
        if purge:
            self._purge(run)
        self.hub.publish_status({**run_to_dict(run), "deleted": True})

    def _purge(self, run: Run) -> None:
        paths = RunPaths(Path(run.run_dir))
        run_dir = paths.root
        # Only ever remove what is recognisably this run's own directory.
        if run_dir.name != run.id or not paths.config.exists():
            raise Forbidden(f"refusing to remove {run_dir}: not the directory of run {run.id}")
        # What a FUSION run wrote in FUSION's tree is moved into output/ when it ends;
        # what is still there (its launcher was killed first) goes too.
        external = read_json(paths.external_record) or {}
        remove_leftovers([str(d) for d in external.get("dirs") or []])
        shutil.rmtree(run_dir, ignore_errors=True)

    # ---- reading ------------------------------------------------------------------

    def get(self, run_id: str) -> Run:
        """One run (NotFound if unknown)."""
        return self.store.get(run_id)

    def list_runs(
        self, filters: RunFilter | None = None, *, limit: int = 100, cursor: str | None = None
    ) -> Page:
        """A page of runs, newest first."""
        return self.store.list_runs(filters or RunFilter(), limit=limit, cursor=cursor)

    def get_sweep(self, sweep_id: str) -> tuple[Sweep, list[Run]]:
        """A sweep and its runs."""
        return self.store.get_sweep(sweep_id)

    def list_sweeps(self, *, limit: int = 100, cursor: str | None = None) -> SweepPage:
        """A page of sweeps, newest first, each with its runs counted by status."""
        return self.store.list_sweeps(limit=limit, cursor=cursor)

    def run_dir(self, run_id: str) -> Path:
        """The directory of a known run."""
        return Path(self.store.get(run_id).run_dir)

    def paths(self, run_id: str) -> RunPaths:
        """The files of a known run."""
        return RunPaths(self.run_dir(run_id))

    def events(self, run_id: str, after: int = -1, limit: int | None = None) -> list[Event]:
        """Progress events with ``seq > after``."""
        return read_events(self.paths(run_id).progress, after, limit)

    def read_log(self, run_id: str, offset: int = 0, limit: int = 1 << 20) -> LogChunk:
        """A byte range of the run's log."""
        return read_range(self.paths(run_id).log, offset, limit)

    def tail_log(self, run_id: str, lines: int = 100) -> LogChunk:
        """The last ``lines`` lines of the run's log."""
        return tail_lines(self.paths(run_id).log, lines)

    def artifacts(self, run_id: str) -> list[artifacts.Artifact]:
        """The run's files."""
        return artifacts.list_artifacts(self.run_dir(run_id))

    def artifact_path(self, run_id: str, relpath: str) -> Path:
        """A file of the run, resolved safely (Forbidden for anything outside it)."""
        return artifacts.resolve(self.run_dir(run_id), relpath)

    def load_artifact(self, run_id: str, relpath: str) -> pd.DataFrame:
        """A table file of the run as a DataFrame."""
        return artifacts.load(self.artifact_path(run_id, relpath))

    def results(self, run_id: str) -> pd.DataFrame:
        """One row per Erlang load with the blocking statistics, and how many iterations
        its file holds (``iterations_saved``) against how many ran (``iterations_run``)."""
        paths = self.paths(run_id)
        frame = artifacts.results(paths.output)
        counted = artifacts.iterations_run(read_events(paths.progress))
        return artifacts.compare_iterations(frame, counted)

    def subscribe(
        self,
        run_id: str,
        *,
        notify: Notify,
        channels: Sequence[str] = ("progress", "logs"),
        after: int = -1,
        log_offset: int = 0,
    ) -> Subscription:
        """Follow a run live from ``after``/``log_offset`` (see :class:`EventHub`)."""
        self.store.get(run_id)
        return self.hub.subscribe(
            run_id, notify=notify, channels=channels, after=after, log_offset=log_offset
        )

    def ended_status(self, run_id: str) -> Message | None:
        """A finished run's status message, as the status channel sent it (None while
        the run is active: its changes are still to come on that channel)."""
        run = self.store.get(run_id)
        if not Status(run.status).terminal:
            return None
        return {"type": "status", "run_id": run.id, "run": status_view(run_to_dict(run))}

    def _known_run_dir(self, run_id: str) -> Path | None:
        tracker = self._trackers.get(run_id)
        if tracker is not None:
            return tracker.run_dir
        try:
            return Path(self.store.get(run_id).run_dir)
        except NotFound:
            return None


def check_source(template: str | None, ini: object) -> None:
    """Refuse a request that names neither or both of a template and a whole config."""
    if (template is None) == (ini is None):
        raise ValidationFailed(
            [
                Problem(
                    "body", "template", "give either a template name or config (a whole INI text)"
                )
            ]
        )


@contextmanager
def _removing_dirs_on_error(runs: Iterable[Run]) -> Iterator[None]:
    """Remove the directories of runs whose creation failed half-way."""
    try:
        yield
    except BaseException:
        for run in list(runs):
            shutil.rmtree(run.run_dir, ignore_errors=True)
        raise


def _uncommitted(runs: Sequence[tuple[Run, Sequence[str]]], committed: list[Run]) -> Iterator[Run]:
    """The runs not in ``committed`` (computed when first iterated: after a failure)."""
    done = {run.id for run in committed}
    yield from (run for run, _tags in runs if run.id not in done)


def _local_exit_reason(record: dict[str, Any] | None, launcher_code: int | None) -> str:
    """How a local run's process ended, from its exit record (or its absence)."""
    if record is not None:
        reason = "The simulator " + describe_exit(record.get("exit_code"), record.get("signal"))
        return reason + (f": {record['error']}" if record.get("error") else "")
    how = ""
    if launcher_code is not None and launcher_code < 0:
        how = f" ({describe_exit(None, -launcher_code)})"
    return (
        f"The run's process ended without recording an exit code{how}; "
        "it was probably killed from outside"
    )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_name(name: str) -> str:
    if (
        not isinstance(name, str)
        or len(name) > NAME_MAX
        or any(ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF for c in name)
    ):
        raise ValidationFailed(
            [
                Problem(
                    "run",
                    "name",
                    f"must be text of at most {NAME_MAX} characters without control "
                    "characters or lone surrogates",
                )
            ]
        )
    return name


def _check_tags(tags: Sequence[str]) -> None:
    if not isinstance(tags, str) and len(tags) > MAX_TAGS:
        raise ValidationFailed(
            [Problem("run", "tags", f"{len(tags)} tags; a run may have at most {MAX_TAGS} tags")]
        )
    problems = [
        Problem("run", "tags", f"tag {tag!r} must be 1 to {TAG_MAX} printable characters")
        for tag in tags
        if not isinstance(tag, str) or not 0 < len(tag) <= TAG_MAX or not tag.isprintable()
    ]
    if isinstance(tags, str):
        problems = [Problem("run", "tags", "must be a list of strings")]
    if problems:
        raise ValidationFailed(problems)
