"""argparse's reading of the command line: help, abbreviations, and the refusals.

``cli.parse_args`` reads a plain command line with :func:`.arguments.read_plain` and
hands any other one to :func:`parse_args` here: this module, and argparse, are imported
only then.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Collection, Sequence
from typing import ClassVar

from fusion_jupyter.sim.arguments import (
    BARE_BOOLEAN,
    COMMAND,
    DEFAULT_OUTPUT_DIR,
    DEFAULT_PROGRESS_FILE,
    DEFAULT_RUNNER,
    OWN_FLAGS,
    PROG,
    RunArgs,
    path_arg,
)
from fusion_jupyter.sim.fusion_ini import boolean_keys
from fusion_jupyter.sim.load import overridable_keys
from fusion_jupyter.sim.params import RUNNERS

#: What ``--help`` says the command is.
DESCRIPTION = "The command line, shaped like FUSION's ``fusion-sim run_sim``."


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
        COMMAND, help="run a simulation from a FUSION INI config", formatter_class=_Formatter
    )
    run.add_argument("--config_path", required=True, type=path_arg, help="FUSION INI config file")
    run.add_argument("--run_id", required=True, help="identifier of this run (for the logs)")
    run.add_argument("--output_dir", type=path_arg, default=DEFAULT_OUTPUT_DIR, help="result files")
    run.add_argument(
        "--progress_file",
        type=path_arg,
        default=DEFAULT_PROGRESS_FILE,
        help="progress events",
    )
    run.add_argument(
        "--fusion_root",
        type=path_arg,
        default=None,
        help="FUSION's root: relative mod_assumption_path and network files resolve against "
        "it as in FUSION (default: the shipped copy of FUSION's data files)",
    )
    run.add_argument(
        "--runner",
        choices=RUNNERS,
        default=DEFAULT_RUNNER,
        help="which FUSION runner to reproduce: run_sim (fusion-sim run_sim, the default) or "
        "network_simulator (FUSION's legacy runner, used by its regression fixtures: "
        "arrival rate x cores_per_link)",
    )
    overrides = run.add_argument_group("config overrides", "set a config key, as the INI spells it")
    booleans = boolean_keys()
    for key in overridable_keys():
        # An own flag's key (file_settings.run_id: FUSION's --run_id sets it too).
        if key in OWN_FLAGS or (keys is not None and key not in keys):
            continue
        if key in booleans:  # FUSION's store_true flag, or a value
            overrides.add_argument(f"--{key}", metavar="VALUE", nargs="?", const=BARE_BOOLEAN)
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
        if key not in OWN_FLAGS and any(key.startswith(word) for word in words)
    }


def parse_args(argv: Sequence[str]) -> RunArgs:
    """What argparse reads of ``argv`` (it exits with help, or a usage error)."""
    return run_args(build_parser(named_keys(argv)).parse_args(argv))


def run_args(namespace: argparse.Namespace) -> RunArgs:
    """The arguments argparse read (unset overrides are None there)."""
    values = dict(vars(namespace))
    del values["command"]
    own = {flag: values.pop(flag) for flag in OWN_FLAGS}
    overrides = {key: value for key, value in values.items() if value is not None}
    return RunArgs(**own, overrides=overrides)
