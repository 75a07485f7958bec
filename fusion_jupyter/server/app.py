"""The jupyter-server extension: settings as traitlets, the engine's life cycle, routes.

Every engine setting is a traitlet of ``FusionJupyter`` (``c.FusionJupyter.<name>`` in
any Jupyter config file, listed by ``jupyter fusion --help-all``) whose type, default and
help are read from :class:`EngineSettings` so the two can never disagree; so are the
request and WebSocket limits'.
"""

from __future__ import annotations

import asyncio
import gc
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import MISSING, fields
from typing import Any, Literal, TypeVar, cast, get_args, get_origin, get_type_hints

from jupyter_server.extension.application import ExtensionApp
from traitlets import (
    Bool,
    Dict,
    Enum,
    Float,
    Integer,
    List,
    TraitError,
    TraitType,
    Unicode,
    default,
    validate,
)

from fusion_jupyter._version import __version__
from fusion_jupyter.engine.manager import RunManager
from fusion_jupyter.engine.settings import EngineSettings
from fusion_jupyter.paths import default_locations
from fusion_jupyter.server.context import SETTINGS_KEY, FusionContext, StreamLimits
from fusion_jupyter.server.events import StatusEmitter
from fusion_jupyter.server.handlers import route_table
from fusion_jupyter.server.stream import stream_route
from fusion_jupyter.service.validation import RequestLimits

T = TypeVar("T")


def mirror(source: type[Any], name: str) -> TraitType[Any, Any]:
    """A config traitlet mirroring field ``name`` of the settings dataclass ``source``:
    its type, default and help (``setting``'s), so that the two can never disagree."""
    spec = next(f for f in fields(source) if f.name == name)
    hint = get_type_hints(source)[name]
    kwargs: dict[str, Any] = {"help": spec.metadata["help"]}
    if spec.default is MISSING and spec.default_factory is MISSING:  # runs_dir: see below
        return Unicode(**kwargs).tag(config=True)
    factory = cast(Callable[[], Any], spec.default_factory)
    value = factory() if spec.default is MISSING else spec.default
    origin, args = get_origin(hint), get_args(hint)
    trait: TraitType[Any, Any]
    if origin is Literal:
        trait = Enum(list(args), value, **kwargs)
    elif origin is list:
        trait = List(Unicode(), default_value=[str(v) for v in value], **kwargs)
    elif origin is dict and args[1] is str:
        trait = Dict(default_value=value, key_trait=Unicode(), value_trait=Unicode(), **kwargs)
    elif origin is dict:
        trait = Dict(default_value=value, **kwargs)
    else:
        trait = {int: Integer, float: Float, str: Unicode}[hint](value, **kwargs)
    return trait.tag(config=True)


def mirrored(app: Any, source: type[T], prefix: str = "") -> T:
    """``source`` built from ``app``'s traitlets named ``prefix`` + each field's name."""
    names = [f.name for f in fields(cast(Any, source))]
    return source(**{name: getattr(app, prefix + name) for name in names})


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

    # ---- engine settings (DESIGN §6): EngineSettings' fields ----------------------

    runs_dir = mirror(EngineSettings, "runs_dir")
    db_url = mirror(EngineSettings, "db_url")
    templates_path = mirror(EngineSettings, "templates_path")
    data_paths = mirror(EngineSettings, "data_paths")
    max_concurrent_runs = mirror(EngineSettings, "max_concurrent_runs")
    default_executor = mirror(EngineSettings, "default_executor")
    simulator = mirror(EngineSettings, "simulator")
    fusion_command = mirror(EngineSettings, "fusion_command")
    simulator_command = mirror(EngineSettings, "simulator_command")
    progress_log_patterns = mirror(EngineSettings, "progress_log_patterns")
    output_collect = mirror(EngineSettings, "output_collect")
    cancel_grace_seconds = mirror(EngineSettings, "cancel_grace_seconds")
    on_shutdown = mirror(EngineSettings, "on_shutdown")
    progress_flush_seconds = mirror(EngineSettings, "progress_flush_seconds")
    sync_interval_seconds = mirror(EngineSettings, "sync_interval_seconds")
    subscriber_queue_size = mirror(EngineSettings, "subscriber_queue_size")
    slurm_options = mirror(EngineSettings, "slurm_options")
    slurm_poll_interval = mirror(EngineSettings, "slurm_poll_interval")
    slurm_array_throttle = mirror(EngineSettings, "slurm_array_throttle")
    slurm_file_poll_interval = mirror(EngineSettings, "slurm_file_poll_interval")
    slurm_python = mirror(EngineSettings, "slurm_python")
    min_free_disk_bytes = mirror(EngineSettings, "min_free_disk_bytes")

    # ---- request limits -------------------------------------------------------------

    max_body_bytes = mirror(RequestLimits, "max_body_bytes")
    max_json_depth = mirror(RequestLimits, "max_json_depth")
    max_json_keys = mirror(RequestLimits, "max_json_keys")
    max_string_length = mirror(RequestLimits, "max_string_length")
    freeze_startup_heap = Bool(
        True,
        help="Once the server has started, move every object then alive out of reach of "
        "Python's cyclic garbage collector (gc.freeze): a full collection then visits only "
        "what was made since, instead of stalling every stream for the whole start-up heap.",
    ).tag(config=True)
    api_threads = Integer(
        16, help="Threads running engine calls (database and file access) for the API."
    ).tag(config=True)

    # ---- WebSocket limits: StreamLimits' fields, prefixed ws_ -------------------------

    ws_max_message_bytes = mirror(StreamLimits, "max_message_bytes")
    ws_max_subscriptions = mirror(StreamLimits, "max_subscriptions")
    ws_send_buffer_bytes = mirror(StreamLimits, "send_buffer_bytes")
    ws_stall_seconds = mirror(StreamLimits, "stall_seconds")
    ws_log_chunk_bytes = mirror(StreamLimits, "log_chunk_bytes")
    ws_fanout_share = mirror(StreamLimits, "fanout_share")
    ws_ping_interval_seconds = mirror(StreamLimits, "ping_interval_seconds")

    @validate("ws_fanout_share")
    def _check_fanout_share(self, proposal: Any) -> float:
        share = float(proposal["value"])
        if not 0 < share <= 1:
            raise TraitError(f"ws_fanout_share must be more than 0 and at most 1, not {share}")
        return share

    @validate("ws_ping_interval_seconds")
    def _check_ping_interval(self, proposal: Any) -> float:
        seconds = float(proposal["value"])
        if not 0 <= seconds < math.inf:
            raise TraitError(f"ws_ping_interval_seconds must be 0 or more, not {seconds}")
        return seconds

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
        return mirrored(self, EngineSettings)

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
            limits=mirrored(self, RequestLimits),
            stream=mirrored(self, StreamLimits, "ws_"),
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
