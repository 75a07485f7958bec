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

import os
import sys
from collections.abc import Sequence

from fusion_jupyter.engine.errors import Problem, ValidationFailed
from fusion_jupyter.sim.arguments import PROG, RunArgs, read_plain
from fusion_jupyter.sim.failures import FusionFailure
from fusion_jupyter.sim.load import load_params
from fusion_jupyter.sim.logs import FusionLog, FusionLogger, log_to
from fusion_jupyter.sim.modulation import ModulationError
from fusion_jupyter.sim.observer import Observers
from fusion_jupyter.sim.outputs import OutputWriter
from fusion_jupyter.sim.params import SimParams
from fusion_jupyter.sim.progress import ProgressEvents, ProgressFile, parent_dir
from fusion_jupyter.sim.simulation import SimContext, build_context, simulate
from fusion_jupyter.sim.topology import TopologyError
from fusion_jupyter.sim.traffic import QuotaError

EXIT_OK, EXIT_CRASH, EXIT_BAD_CONFIG = 0, 1, 2
#: The run met a failure of FUSION's own (:mod:`~fusion_jupyter.sim.failures`).
EXIT_FUSION_FAILS = 3

log = FusionLogger("fusion.sim.cli")


def _make_output_dirs(args: RunArgs) -> str | None:
    """Create the directories the run writes to, or say why one cannot be.

    Done once the config is accepted and before anything runs, so a path that cannot be
    a directory is refused as a bad flag rather than met as a crash once the run started;
    every path is checked before either directory is made.
    """
    if os.path.isdir(args.progress_file):
        return f"--progress_file: {args.progress_file} is a directory"
    wanted = (
        ("--output_dir", args.output_dir),
        ("--progress_file", parent_dir(args.progress_file)),
    )
    for flag, directory in wanted:
        if os.path.exists(directory) and not os.path.isdir(directory):
            return f"{flag}: {directory} exists and is not a directory"
    for flag, directory in wanted:
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as exc:
            return f"{flag}: cannot create the directory {directory}: {exc.strerror or exc}"
    return None


def parse_args(argv: Sequence[str]) -> RunArgs:
    """``run_sim``'s arguments, as argparse reads them (its exit on help or an error);
    argparse is imported only for a command line :func:`read_plain` does not read."""
    plain = read_plain(argv)
    if plain is not None:
        return plain
    from fusion_jupyter.sim import argparser

    return argparser.parse_args(argv)


def _warn(problem: Problem) -> None:
    # A log record (FUSION's format, on stderr with the run's other lines), as FUSION
    # logs its own warnings: unlike a refusal, it is part of the run.
    log.warning("config warning: %s", problem)


def _refuse(problems: Sequence[Problem | str]) -> int:
    for problem in problems:
        print(f"{PROG}: config error: {problem}", file=sys.stderr)
    return EXIT_BAD_CONFIG


def prepare(args: RunArgs) -> tuple[SimParams, SimContext]:
    """Read and check everything a run needs before anything is written.

    Raises ValidationFailed, or the topology/modulation/quota errors, for a bad config.
    """
    params = load_params(
        args.config_path,
        args.overrides,
        fusion_root=args.fusion_root,
        runner=args.runner,
        warn=_warn,
    )
    return params, build_context(params)


def run(args: RunArgs, params: SimParams, ctx: SimContext) -> None:
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
    args = parse_args(argv)
    previous = log_to(sys.stderr)
    try:
        return _main(args)
    finally:
        # Called in-process (tests, notebooks) main() must not leave its stream behind.
        log_to(previous)


def _main(args: RunArgs) -> int:
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
