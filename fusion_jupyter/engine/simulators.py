"""The simulators a run can use, each described by one small profile.

``c.FusionJupyter.simulator`` (and ``simulator=`` per run) picks one by name:

- ``builtin``: the simulator shipped in :mod:`fusion_jupyter.sim` (or whatever
  ``simulator_command`` names; it writes ``progress.jsonl`` and ``output/`` itself);
- ``fusion``: the real FUSION's ``fusion-sim`` (``fusion_command``), whose progress
  comes from its log lines and whose results are moved out of its own tree into the
  run's ``output/`` when it ends.

A profile knows how to build the simulator's argv, which log lines carry progress,
whether it is installed, and which configs it cannot run. The manager asks the
run's profile and never looks at a command line to guess what it runs.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fusion_jupyter.engine.errors import Problem, Unavailable
from fusion_jupyter.engine.logpatterns import FUSION_LOG_PATTERNS
from fusion_jupyter.engine.settings import default_simulator_command

if TYPE_CHECKING:
    from _typeshed import StrPath

    from fusion_jupyter.engine.settings import EngineSettings

SIMULATORS = ("builtin", "fusion")
#: The setting a missing FUSION is reported against (what a user has to change).
FUSION_SETTING = "c.FusionJupyter.fusion_command"
#: FUSION's SIGTERM handler logs this once it has saved its statistics; it then
#: keeps simulating, so the launcher ends it (fusion-real.md).
FUSION_SAVED_ON_SIGNAL = "Statistics saved due to signal"
#: A failing FUSION run's root cause, looked for before its last lines.
FUSION_ROOT_CAUSE = (r" - ERROR - ", r"Missing required option")
#: How long finding FUSION's root may take (it starts FUSION's interpreter once).
ROOT_LOOKUP_TIMEOUT = 10.0


@dataclass(frozen=True)
class Simulator:
    """One simulator as the launcher and the manager see it."""

    name: str
    #: argv with the placeholders of settings.COMMAND_PLACEHOLDERS.
    command: list[str]
    #: Log-line patterns for a simulator that writes no progress file (else empty).
    log_patterns: Mapping[str, str] = field(default_factory=dict)
    #: Globs of result files copied from the directories the simulator names in its
    #: log (FUSION's are moved whole instead: ``move_outputs``).
    collect: list[str] = field(default_factory=list)
    #: Whether the launcher writes the ``start`` event (the simulator then skips it).
    write_start: bool = False
    #: A log line after which a simulator that was sent SIGTERM is done saving.
    saved_on_signal: str | None = None
    #: Log-line patterns of a failure's root cause, for the run's error.
    root_cause: tuple[str, ...] = ()
    #: Whether result directories named in the log are moved (not copied) into output/.
    move_outputs: bool = False
    #: Symlinks made in the run directory (its working directory): name -> target.
    links: Mapping[str, str] = field(default_factory=dict)

    def launch_spec(self) -> dict[str, Any]:
        """The launcher's part of a run's launch file."""
        return {
            "log_patterns": dict(self.log_patterns) or None,
            "collect": list(self.collect) or None,
            "move_outputs": self.move_outputs,
            "write_start": self.write_start,
            "saved_on_signal": self.saved_on_signal,
            "root_cause": list(self.root_cause) or None,
            "links": dict(self.links) or None,
        }


def profile(name: str, settings: EngineSettings) -> Simulator:
    """The profile called ``name`` under ``settings`` (ValueError for an unknown name)."""
    if name == "builtin":
        shipped = settings.simulator_command == default_simulator_command()
        # With FUSION installed, relative data paths resolve against its root, as FUSION
        # resolves them (a regression fixture's own mod_formats.json, say). Looked up
        # only for the shipped simulator: a run's start waits for the PATH search.
        root = installed_fusion_root(settings) if shipped else None
        extra = ["--fusion_root", str(root)] if root else []
        return Simulator(
            name="builtin",
            command=[*settings.simulator_command, *extra],
            log_patterns=dict(settings.progress_log_patterns),
            collect=list(settings.output_collect),
            # The shipped simulator leaves the start event to its launcher, so that a
            # run's first event does not wait for its imports; another program given
            # as simulator_command writes its own.
            write_start=shipped,
        )
    if name == "fusion":
        root = fusion_root(settings.fusion_command)
        return Simulator(
            name="fusion",
            command=[
                *fusion_argv0(settings.fusion_command),
                "run_sim",
                "--config_path",
                "{config_path}",
                "--run_id",
                "{run_id}",
            ],
            log_patterns=dict(FUSION_LOG_PATTERNS),
            saved_on_signal=FUSION_SAVED_ON_SIGNAL,
            root_cause=FUSION_ROOT_CAUSE,
            move_outputs=True,
            # FUSION reads some files relative to its working directory (data/pre_calc/
            # ...), as if started from its root; the run directory stays the working
            # directory (what FUSION writes there is the run's), with data/ linked.
            links={"data": str(root / "data")} if root else {},
        )
    raise ValueError(f"unknown simulator {name!r} (known: {', '.join(SIMULATORS)})")


def validate(
    name: str, cfg: Mapping[str, Mapping[str, Any]], fusion_root: StrPath | None = None
) -> list[Problem]:
    """What simulator ``name`` cannot run in ``cfg`` (FUSION's own rules are the config's);
    ``fusion_root``: where relative data paths resolve (None: the shipped copy)."""
    if name == "builtin":
        # The one place the engine reaches into the simulator package, lazily: the
        # engine must not pay its imports unless a built-in run is validated.
        from fusion_jupyter.sim.support import check_supported

        return check_supported(cfg, fusion_root)
    return _fusion_crashes(cfg)


#: FUSION's routing methods (``fusion/core/routing.py``: its special cases and the names
#: ``LEGACY_METHOD_MAPPING`` and the routing registry accept at commit 973983bc;
#: ``external_ksp`` is left out: it needs path files the config cannot name, and
#: ``least_congested``: FUSION crashes on its first request, see sim.support.FUSION_CRASHES).
FUSION_ROUTE_METHODS: tuple[str, ...] = (
    "k_shortest_path",
    "shortest_path",
    "cong_aware",
    "frag_aware",
    "nli_aware",
    "xt_aware",
    "1plus1_protection",
)
#: FUSION's spectrum assignment policies (``fusion/core/spectrum_assignment.py``), less
#: ``best_fit``, which crashes at this commit with guard slots (spec/fusion-real.md; it
#: runs without them: fusion_jupyter/sim/README.md, "Last, best and priority-first fit").
FUSION_ALLOCATION_METHODS: tuple[str, ...] = (
    "first_fit",
    "last_fit",
    "priority_first",
    "priority_last",
    "xt_aware",
)


@dataclass(frozen=True)
class Choice:
    """The values a simulator runs for one key (what a form offers as a dropdown)."""

    section: str
    key: str
    values: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """As the API sends it."""
        return {"section": self.section, "key": self.key, "values": list(self.values)}


def choices(name: str) -> list[Choice]:
    """The keys with a known set of values under simulator ``name``, and those values."""
    from fusion_jupyter.engine.config.schema import FUSION_NETWORKS

    routes: tuple[str, ...]
    allocations: tuple[str, ...]
    networks: tuple[str, ...]
    if name == "builtin":
        from fusion_jupyter.sim.support import ROUTE_METHODS, SUPPORTED
        from fusion_jupyter.sim.topology import SHIPPED_NETWORKS

        allocation = next(rule.allowed for rule in SUPPORTED if rule.key == "allocation_method")
        routes, allocations = ROUTE_METHODS, tuple(str(v) for v in allocation)
        networks = tuple(n for n in FUSION_NETWORKS if n in SHIPPED_NETWORKS)
    elif name == "fusion":
        routes, allocations, networks = (
            FUSION_ROUTE_METHODS,
            FUSION_ALLOCATION_METHODS,
            FUSION_NETWORKS,
        )
    else:
        raise ValueError(f"unknown simulator {name!r} (known: {', '.join(SIMULATORS)})")
    return [
        Choice("general_settings", "route_method", routes),
        Choice("general_settings", "allocation_method", allocations),
        Choice("topology_settings", "network", networks),
    ]


def installed_fusion_root(settings: EngineSettings) -> Path | None:
    """FUSION's root when ``fusion_command`` starts an installed FUSION, else None."""
    if fusion_problem(settings.fusion_command) is not None:
        return None
    return fusion_root(settings.fusion_command)


def _fusion_crashes(cfg: Mapping[str, Mapping[str, Any]]) -> list[Problem]:
    """Settings FUSION accepts and then always crashes on, each with FUSION's own error.

    Refused before launch rather than a run that fails a minute later; the list is the
    built-in simulator's too (``fusion_jupyter.sim.support.FUSION_CRASHES``).
    """
    from fusion_jupyter.sim.support import fusion_crashes

    return fusion_crashes(cfg)


def fusion_argv0(command: str) -> list[str]:
    """``fusion_command`` as the first words of an argv (it may be ``python script.py``)."""
    import shlex

    return shlex.split(command) or [command]


def require(name: str, settings: EngineSettings) -> None:
    """Unavailable (HTTP 503) naming the setting when simulator ``name`` is not installed."""
    if name == "fusion":
        problem = fusion_problem(settings.fusion_command)
        if problem:
            raise Unavailable(
                f"simulator 'fusion' is not available: {problem}. Install FUSION or set "
                f"{FUSION_SETTING} to its fusion-sim (now {settings.fusion_command!r})",
                details={"simulator": "fusion", "setting": FUSION_SETTING},
            )


def fusion_problem(command: str) -> str | None:
    """Why ``command`` does not start FUSION's command line, or None if it looks right."""
    argv0 = fusion_argv0(command)[0]
    found = shutil.which(argv0)
    if found is None:
        return f"{argv0!r} is not an executable file nor a command on PATH"
    return None


def describe(settings: EngineSettings) -> dict[str, Any]:
    """The default simulator and whether FUSION is available (for health reports)."""
    problem = fusion_problem(settings.fusion_command)
    root = None if problem else fusion_root(settings.fusion_command)
    return {
        "default": settings.simulator,
        "available": ["builtin", *([] if problem else ["fusion"])],
        "fusion": {
            "available": problem is None,
            "command": settings.fusion_command,
            "root": str(root) if root else None,
            "problem": problem,
            "setting": FUSION_SETTING,
        },
    }


@functools.lru_cache(maxsize=8)
def fusion_root(command: str) -> Path | None:
    """FUSION's project root as FUSION finds it: from the ``fusion`` package its command's
    interpreter imports, up to the first directory holding ``.git`` or ``run_sim.py``."""
    argv = fusion_argv0(command)
    found = shutil.which(argv[0])
    if found is None:
        return None
    interpreter = _interpreter_of(Path(found)) if len(argv) == 1 else found
    if interpreter is None:
        return None
    # find_spec locates the package without running it (FUSION's imports take seconds).
    probe = "import importlib.util as u; s = u.find_spec('fusion'); print(s.origin if s else '')"
    try:
        out = subprocess.run(
            [interpreter, "-I", "-c", probe],
            capture_output=True,
            text=True,
            timeout=ROOT_LOOKUP_TIMEOUT,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    return _project_root(Path(out).parent) if out else None


def _interpreter_of(script: Path) -> str | None:
    """The interpreter of a console script (its ``#!`` line), or None."""
    try:
        with script.open("rb") as fh:
            first = fh.readline(4096).decode("utf-8", "replace")
    except OSError:
        return None
    if not first.startswith("#!"):
        return None
    words = first[2:].split()
    if not words:
        return None
    if Path(words[0]).name == "env" and len(words) > 1:
        return shutil.which(words[1])
    return words[0]


def _project_root(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        if (directory / ".git").is_dir() or (directory / "run_sim.py").is_file():
            return directory
    return None
