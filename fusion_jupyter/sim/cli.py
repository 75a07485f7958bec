"""The command line, shaped like FUSION's ``fusion-sim run_sim``.

::

    python -m fusion_jupyter.sim run_sim --config_path CONFIG --run_id ID
        [--output_dir DIR] [--progress_file FILE] [--<key> VALUE ...]

Every config key FUSION's schema knows has a ``--<key>`` flag that overrides the INI
value (given as the INI would spell it: ``--k_paths 4``), as FUSION applies it: only to
a key the INI has (a flag for any other is refused, where FUSION would drop it). A
boolean is a bare flag, as in FUSION (``--dynamic_lps``), or takes a value
(``--dynamic_lps False``, which FUSION's command line cannot say). Exit codes: 0 when
the run completed; 2 when the config is refused (one ``section.key: reason`` line per
problem on stderr, nothing simulated) or an output path cannot be written; 3 when the
run met a failure of FUSION's own and stopped where FUSION stops (one line naming it on
stderr, and an ``error`` progress event); 1 when the run crashed (an ``error`` progress
event with the message and traceback, and the traceback on stderr). A ``config warning``
log line, which does not stop the run, says what FUSION would read otherwise than
written (a key it does not read, a truth value it reads as False), or an L band that
reaches into the C band (see ``bands.py``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import ClassVar

from fusion_jupyter.engine.errors import Problem, ValidationFailed
from fusion_jupyter.sim.failures import FusionFailure
from fusion_jupyter.sim.fusion_ini import boolean_keys
from fusion_jupyter.sim.load import load_params, overridable_keys
from fusion_jupyter.sim.logs import FusionLog, FusionLogger, log_to
from fusion_jupyter.sim.modulation import ModulationError
from fusion_jupyter.sim.observer import Observers
from fusion_jupyter.sim.outputs import OutputWriter
from fusion_jupyter.sim.params import RUNNERS, SimParams
from fusion_jupyter.sim.progress import ProgressEvents, ProgressFile
from fusion_jupyter.sim.simulation import SimContext, build_context, simulate
from fusion_jupyter.sim.topology import TopologyError
from fusion_jupyter.sim.traffic import QuotaError

PROG = "fusion-jupyter-sim"
#: Not the docstring's first line: a compiled module has no ``__doc__``.
DESCRIPTION = "The command line, shaped like FUSION's ``fusion-sim run_sim``."
EXIT_OK, EXIT_CRASH, EXIT_BAD_CONFIG = 0, 1, 2
#: The run met a failure of FUSION's own (:mod:`~fusion_jupyter.sim.failures`).
EXIT_FUSION_FAILS = 3
#: Flags that are not config keys.
_OWN_FLAGS = ("config_path", "run_id", "output_dir", "progress_file", "fusion_root", "runner")

log = FusionLogger("fusion.sim.cli")


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter, with the terminal's width asked for once.

    argparse makes a formatter for every flag it is given, and each asked
    ``shutil.get_terminal_size``: shutil's import (with bz2, lzma and zlib) and the
    calls were about 3 ms of every run's start-up, for help that is seldom printed.
    """

    width: ClassVar[int | None] = None

    def __init__(self, prog: str) -> None:
        if _Formatter.width is None:
            _Formatter.width = _terminal_width()
        super().__init__(prog, width=_Formatter.width)


def _terminal_width() -> int:
    """What ``shutil.get_terminal_size().columns`` answers: ``COLUMNS``, else the
    terminal's width, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns > 0:
        return columns
    stdout = sys.__stdout__
    if stdout is None:
        return 80
    try:
        return os.get_terminal_size(stdout.fileno()).columns or 80
    except (ValueError, OSError):  # not a terminal
        return 80


def build_parser(keys: Collection[str] | None = None) -> argparse.ArgumentParser:
    """``run_sim`` and its flags: an override flag per schema key, or per key of ``keys``
    (what :func:`named_keys` found a command line can name)."""
    parser = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION, formatter_class=_Formatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "run_sim", help="run a simulation from a FUSION INI config", formatter_class=_Formatter
    )
    run.add_argument("--config_path", required=True, type=Path, help="FUSION INI config file")
    run.add_argument("--run_id", required=True, help="identifier of this run (for the logs)")
    run.add_argument("--output_dir", type=Path, default=Path("output"), help="result files")
    run.add_argument(
        "--progress_file", type=Path, default=Path("progress.jsonl"), help="progress events"
    )
    run.add_argument(
        "--fusion_root",
        type=Path,
        default=None,
        help="FUSION's root: relative mod_assumption_path and network files resolve against "
        "it as in FUSION (default: the shipped copy of FUSION's data files)",
    )
    run.add_argument(
        "--runner",
        choices=RUNNERS,
        default="run_sim",
        help="which FUSION runner to reproduce: run_sim (fusion-sim run_sim, the default) or "
        "network_simulator (FUSION's legacy runner, used by its regression fixtures: "
        "arrival rate x cores_per_link)",
    )
    overrides = run.add_argument_group("config overrides", "set a config key, as the INI spells it")
    booleans = boolean_keys()
    for key in overridable_keys():
        # An own flag's key (file_settings.run_id: FUSION's --run_id sets it too).
        if key in _OWN_FLAGS or (keys is not None and key not in keys):
            continue
        if key in booleans:  # FUSION's store_true flag, or a value
            overrides.add_argument(f"--{key}", metavar="VALUE", nargs="?", const="True")
        else:
            overrides.add_argument(f"--{key}", metavar="VALUE", default=None)
    return parser


def named_keys(argv: Sequence[str]) -> set[str] | None:
    """The override keys a command line can name, or None for all (help is asked for).

    argparse makes a help formatter for every flag it is given: the 67 keys' flags took
    about 3 ms of every run, which names a handful. A key is kept where a
    ``--word`` of ``argv`` begins it, so that argparse's abbreviations, and its refusal
    of an ambiguous one, behave as with every flag; an unknown flag is refused as before.
    """
    words = [argument[2:].split("=", 1)[0] for argument in argv if argument.startswith("--")]
    if "-h" in argv or any(word and "help".startswith(word) for word in words):
        return None
    return {
        key
        for key in overridable_keys()
        if key not in _OWN_FLAGS and any(key.startswith(word) for word in words)
    }


def _overrides(args: argparse.Namespace) -> dict[str, str]:
    values = vars(args)
    return {
        key: value
        for key, value in values.items()
        if key not in _OWN_FLAGS and key != "command" and value is not None
    }


def _make_output_dirs(args: argparse.Namespace) -> str | None:
    """Create the directories the run writes to, or say why one cannot be.

    Done once the config is accepted and before anything runs, so a path that cannot be
    a directory is refused as a bad flag rather than met as a crash once the run started;
    every path is checked before either directory is made.
    """
    if args.progress_file.is_dir():
        return f"--progress_file: {args.progress_file} is a directory"
    wanted = (("--output_dir", args.output_dir), ("--progress_file", args.progress_file.parent))
    for flag, directory in wanted:
        if directory.exists() and not directory.is_dir():
            return f"{flag}: {directory} exists and is not a directory"
    for flag, directory in wanted:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return f"{flag}: cannot create the directory {directory}: {exc.strerror or exc}"
    return None


def _warn(problem: Problem) -> None:
    # A log record (FUSION's format, on stderr with the run's other lines), as FUSION
    # logs its own warnings: unlike a refusal, it is part of the run.
    log.warning("config warning: %s", problem)


def _refuse(problems: Sequence[Problem | str]) -> int:
    for problem in problems:
        print(f"{PROG}: config error: {problem}", file=sys.stderr)
    return EXIT_BAD_CONFIG


def prepare(args: argparse.Namespace) -> tuple[SimParams, SimContext]:
    """Read and check everything a run needs before anything is written.

    Raises ValidationFailed, or the topology/modulation/quota errors, for a bad config.
    """
    params = load_params(
        args.config_path,
        _overrides(args),
        fusion_root=args.fusion_root,
        runner=args.runner,
        warn=_warn,
    )
    return params, build_context(params)


def run(args: argparse.Namespace, params: SimParams, ctx: SimContext) -> None:
    """Simulate, reporting through the progress file, the log and the output files."""
    progress = ProgressFile(args.progress_file)
    writer = OutputWriter(args.output_dir)
    observers = Observers(writer, ProgressEvents(progress), FusionLog(args.output_dir))
    try:
        simulate(params, observers, ctx)
    except Exception as exc:
        # What FUSION would have saved before the failure is on disk, as in FUSION.
        writer.flush()
        import traceback  # only a crash pays for it

        progress.error(f"{type(exc).__name__}: {exc}", traceback.format_exc())
        raise


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m fusion_jupyter.sim`` and ``fusion-jupyter-sim``."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(named_keys(argv)).parse_args(argv)
    previous = log_to(sys.stderr)
    try:
        return _main(args)
    finally:
        # Called in-process (tests, notebooks) main() must not leave its stream behind.
        log_to(previous)


def _main(args: argparse.Namespace) -> int:
    try:
        params, ctx = prepare(args)
    except ValidationFailed as exc:
        return _refuse(exc.problems)
    except (TopologyError, ModulationError, QuotaError) as exc:
        return _refuse([str(exc)])
    problem = _make_output_dirs(args)
    if problem:
        print(f"{PROG}: error: {problem}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    log.info("Run %s: %s", args.run_id, args.config_path)
    try:
        run(args, params, ctx)
    except FusionFailure as failure:
        # FUSION's failure, not this simulator's: its words say all a traceback would.
        log.error("Simulation stopped where FUSION stops: %s", failure)
        return EXIT_FUSION_FAILS
    except Exception:
        log.error("Simulation failed", exc_info=True)
        return EXIT_CRASH
    return EXIT_OK
