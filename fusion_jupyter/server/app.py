"""The jupyter-server extension: settings as traitlets, the engine's life cycle, routes.

Every engine setting is a traitlet of ``FusionJupyter`` (``c.FusionJupyter.<name>`` in
any Jupyter config file, listed by ``jupyter fusion --help-all``) whose default is the
engine's own, read from :class:`EngineSettings` so the two can never disagree.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any, cast

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Dict, Enum, Float, Integer, List, Unicode, default

from fusion_jupyter._version import __version__
from fusion_jupyter.engine.manager import RunManager
from fusion_jupyter.engine.settings import EngineSettings
from fusion_jupyter.paths import default_locations
from fusion_jupyter.server.context import SETTINGS_KEY, FusionContext, StreamLimits
from fusion_jupyter.server.events import StatusEmitter
from fusion_jupyter.server.handlers import route_table
from fusion_jupyter.server.stream import stream_route
from fusion_jupyter.service.validation import RequestLimits

_ENGINE_FIELDS = {f.name: f for f in fields(EngineSettings)}


def engine_default(name: str) -> Any:
    """The engine's default for setting ``name`` (what the embedded engine would use)."""
    spec = _ENGINE_FIELDS[name]
    factory = cast(Callable[[], Any], spec.default_factory)
    value = factory() if spec.default is MISSING else spec.default
    return str(value) if isinstance(value, Path) else value


def _limit_default(cls: type[Any], name: str) -> Any:
    return {f.name: f.default for f in fields(cls)}[name]


def freeze_heap() -> None:
    """Collect garbage once, then freeze every object alive (they live as long as the server).

    A full collection otherwise scans the whole start-up heap (a quarter million
    objects with jupyter_server), a pause of the event loop that every stream frame waits
    out; frozen objects are never scanned again.
    """
    gc.collect()
    gc.freeze()


class FusionJupyter(ExtensionApp):
    """Launch and watch FUSION simulation runs from Jupyter (REST API + WebSocket)."""

    name = "fusion_jupyter"
    description = __doc__
    version = __version__
    load_other_extensions = True

    # ---- engine settings (DESIGN §6) ---------------------------------------------

    runs_dir = Unicode(
        help="Directory holding one sub-directory per run (config.ini, logs, progress, "
        "output). Default: <jupyter data dir>/fusion_jupyter/runs."
    ).tag(config=True)
    db_url = Unicode(
        engine_default("db_url"),
        help="SQLAlchemy URL of the run database (SQLite or PostgreSQL). Empty: a SQLite "
        "file runs.db beside runs_dir.",
    ).tag(config=True)
    templates_path = List(
        Unicode(),
        help="Directories searched for INI templates before the shipped ones; a name "
        "found earlier shadows the same name later. A lab shares its templates by listing "
        "a shared directory here; 'save as template' writes into the first one (default: "
        "<jupyter data dir>/fusion_jupyter/templates).",
    ).tag(config=True)
    data_paths = List(
        Unicode(),
        help="Directories a config may read topology and modulation files from, besides "
        "FUSION's own data (its project root). Paths outside them are refused before "
        "anything is said about them, so configs/validate cannot probe the server's files.",
    ).tag(config=True)
    max_concurrent_runs = Integer(
        engine_default("max_concurrent_runs"),
        help="How many runs may be RUNNING at once across every server sharing the "
        "database; the rest wait as PENDING. Default: the number of CPUs.",
    ).tag(config=True)
    default_executor = Unicode(
        engine_default("default_executor"),
        help="Executor of runs that do not name one (available: local).",
    ).tag(config=True)
    simulator = Enum(
        ["builtin", "fusion"],
        engine_default("simulator"),
        help="The simulator of runs that do not name one: 'builtin' (shipped with "
        "fusion_jupyter) or 'fusion' (the real FUSION's fusion-sim, see fusion_command). "
        "A run may ask for either (simulator=...).",
    ).tag(config=True)
    fusion_command = Unicode(
        engine_default("fusion_command"),
        help="FUSION's command line: its fusion-sim console script (a path, or a name "
        "on PATH). FUSION's root is found from the interpreter of that script.",
    ).tag(config=True)
    simulator_command = List(
        Unicode(),
        default_value=engine_default("simulator_command"),
        help="The 'builtin' simulator's argv, with the placeholders {config_path}, "
        "{run_id}, {run_dir}, {output_dir} and {progress_file}. Default: the simulator "
        "shipped with fusion_jupyter (python -m fusion_jupyter.sim run_sim ...); "
        "another program must write progress.jsonl (or set progress_log_patterns).",
    ).tag(config=True)
    progress_log_patterns = Dict(
        default_value=engine_default("progress_log_patterns"),
        key_trait=Unicode(),
        value_trait=Unicode(),
        help="Regular expressions turning log lines into progress events, for a "
        "simulator_command that writes no progress.jsonl (see spec/fusion-contract.md).",
    ).tag(config=True)
    output_collect = List(
        Unicode(),
        help="Globs of files a simulator_command writes elsewhere (in directories its "
        "log names), copied into the run's output/ when it ends.",
    ).tag(config=True)
    cancel_grace_seconds = Float(
        engine_default("cancel_grace_seconds"),
        help="Seconds between SIGTERM and SIGKILL when a run is cancelled.",
    ).tag(config=True)
    on_shutdown = Enum(
        ["detach", "cancel"],
        engine_default("on_shutdown"),
        help="What happens to running runs when the server stops: 'detach' leaves "
        "them running (the next server re-attaches), 'cancel' stops them.",
    ).tag(config=True)
    progress_flush_seconds = Float(
        engine_default("progress_flush_seconds"),
        help="How often the progress cache in the database is written.",
    ).tag(config=True)
    sync_interval_seconds = Float(
        engine_default("sync_interval_seconds"),
        help="How often the database is checked for runs other servers created or settled.",
    ).tag(config=True)
    subscriber_queue_size = Integer(
        engine_default("subscriber_queue_size"),
        help="Messages queued per live subscriber before it is marked as lagging "
        "(and later caught up from the run's files).",
    ).tag(config=True)

    slurm_options = Dict(
        default_value=engine_default("slurm_options"),
        help="Default sbatch options of Slurm runs (partition, account, time, mem, cpus, "
        "qos, extra: ['--flag=value', ...]); a run's executor_options override them.",
    ).tag(config=True)
    slurm_poll_interval = Float(
        engine_default("slurm_poll_interval"),
        help="Seconds between two squeue/sacct polls of the active Slurm runs.",
    ).tag(config=True)
    slurm_array_throttle = Integer(
        engine_default("slurm_array_throttle"),
        help="Most array tasks of one sweep running at once on Slurm (0: no limit).",
    ).tag(config=True)
    slurm_file_poll_interval = Float(
        engine_default("slurm_file_poll_interval"),
        help="Seconds between two looks at the files of runs on other hosts (no inotify "
        "across a shared file system).",
    ).tag(config=True)
    slurm_python = Unicode(
        engine_default("slurm_python"),
        help="The Python interpreter the compute nodes run the run launcher with.",
    ).tag(config=True)
    min_free_disk_bytes = Integer(
        engine_default("min_free_disk_bytes"),
        help="Free space in runs_dir below which new runs are refused (507) and "
        "health/ready reports low disk space (503).",
    ).tag(config=True)

    # ---- request limits -------------------------------------------------------------

    max_body_bytes = Integer(
        _limit_default(RequestLimits, "max_body_bytes"),
        help="Largest request body accepted; larger ones are answered 413.",
    ).tag(config=True)
    max_json_depth = Integer(
        _limit_default(RequestLimits, "max_json_depth"),
        help="Deepest nesting of a JSON body or WebSocket message.",
    ).tag(config=True)
    max_json_keys = Integer(
        _limit_default(RequestLimits, "max_json_keys"),
        help="Most object keys, in total, in one JSON body or WebSocket message.",
    ).tag(config=True)
    max_string_length = Integer(
        _limit_default(RequestLimits, "max_string_length"),
        help="Longest string (in characters) in a JSON body or WebSocket message.",
    ).tag(config=True)
    freeze_startup_heap = Bool(
        True,
        help="Once the server has started, move every object then alive out of reach of "
        "Python's cyclic garbage collector (gc.freeze): a full collection then visits only "
        "what was made since, instead of stalling every stream for the whole start-up heap.",
    ).tag(config=True)
    api_threads = Integer(
        16, help="Threads running engine calls (database and file access) for the API."
    ).tag(config=True)

    # ---- WebSocket limits -------------------------------------------------------------

    ws_max_message_bytes = Integer(
        _limit_default(StreamLimits, "max_message_bytes"),
        help="Largest message a client may send on the stream WebSocket.",
    ).tag(config=True)
    ws_max_subscriptions = Integer(
        _limit_default(StreamLimits, "max_subscriptions"),
        help="Most runs one WebSocket may follow at once.",
    ).tag(config=True)
    ws_send_buffer_bytes = Integer(
        _limit_default(StreamLimits, "send_buffer_bytes"),
        help="Unsent bytes a client may have before nothing more is queued for it.",
    ).tag(config=True)
    ws_stall_seconds = Float(
        _limit_default(StreamLimits, "stall_seconds"),
        help="A client whose send buffer stays full this long is disconnected.",
    ).tag(config=True)
    ws_log_chunk_bytes = Integer(
        _limit_default(StreamLimits, "log_chunk_bytes"),
        help="Most log bytes read per subscription per frame.",
    ).tag(config=True)
    ws_fanout_share = Float(
        _limit_default(StreamLimits, "fanout_share"),
        min=0.01,
        max=1.0,
        help="Most of the event loop's time that sending stream updates to clients may "
        "take (0.01 to 1): after a round of frames that took t seconds of CPU, the next "
        "waits until t / share after it began, and what is published meanwhile goes into "
        "it. A few clients get every update at once; many clients of a busy run get fewer, "
        "fuller frames. 1 sends every update as soon as the event loop gets to it.",
    ).tag(config=True)

    @default("runs_dir")
    def _runs_dir_default(self) -> str:
        # Dynamic: JUPYTER_DATA_DIR may be set after this module is imported.
        return str(default_locations()["runs_dir"])

    @default("templates_path")
    def _templates_path_default(self) -> list[str]:
        return [str(path) for path in default_locations()["templates_path"]]

    manager: RunManager | None = None
    context: FusionContext | None = None
    _emitter: StatusEmitter | None = None

    def engine_settings(self) -> EngineSettings:
        """The traitlets' values as the engine's settings."""
        return EngineSettings.from_kwargs(**{name: getattr(self, name) for name in _ENGINE_FIELDS})

    def initialize_settings(self) -> None:
        """Start the engine (re-attaching to runs left running) and share it with handlers."""
        assert self.serverapp is not None and self.serverapp.event_logger is not None
        # The server's loop exists (not yet running) when extensions are initialised.
        loop = getattr(self.serverapp.io_loop, "asyncio_loop")  # noqa: B009 (untyped attribute)
        manager = RunManager(self.engine_settings())
        manager.start(loop)
        self.manager = manager
        self.context = FusionContext(
            manager=manager,
            limits=RequestLimits(
                self.max_body_bytes,
                self.max_json_depth,
                self.max_json_keys,
                self.max_string_length,
            ),
            stream=StreamLimits(
                self.ws_max_message_bytes,
                self.ws_max_subscriptions,
                self.ws_send_buffer_bytes,
                self.ws_stall_seconds,
                self.ws_log_chunk_bytes,
                self.ws_fanout_share,
            ),
            pool=ThreadPoolExecutor(self.api_threads, thread_name_prefix="fusion-api"),
        )
        self.settings[SETTINGS_KEY] = self.context
        self._emitter = StatusEmitter(manager.hub, self.serverapp.event_logger, loop)
        if self.freeze_startup_heap:
            # Runs first thing once the loop runs: after every extension and the server
            # itself have started, before the first request.
            loop.call_soon(freeze_heap)
        self.log.info(
            "fusion_jupyter: runs in %s, database %s, at most %d at once",
            manager.settings.runs_dir,
            manager.store.engine.url.render_as_string(hide_password=True),
            manager.settings.max_concurrent_runs,
        )

    def initialize_handlers(self) -> None:
        """The REST routes and the WebSocket, under ``{base_url}fusion/api/``."""
        self.handlers.extend([stream_route(), *route_table()])

    async def stop_extension(self) -> None:
        """Stop supervising; runs go on or are cancelled according to ``on_shutdown``."""
        if self._emitter is not None:
            self._emitter.close()
        if self.manager is not None:
            await asyncio.to_thread(self.manager.close)
            self.manager = None
        if self.context is not None:
            self.context.pool.shutdown(wait=False, cancel_futures=True)
