"""The command line's arguments: plain ones read here, anything else by argparse.

argparse (with the ``gettext`` and ``locale`` it imports) and the parser built from it
cost about 14 M instructions, a twenty-fifth of a small simulation's process, to read
what is nearly always ``run_sim`` and a few ``--flag value`` pairs. :func:`read_plain`
reads such a command line itself when every flag is spelt out in full and every value
is plain; the command line leaves any other to argparse (:mod:`.argparser`), which then
helps, abbreviates, or refuses with its own usage line. Either way the result is the
:class:`RunArgs` argparse's namespace gives.
"""

from __future__ import annotations

from collections.abc import Sequence

from fusion_jupyter._namedtuple import NamedTuple
from fusion_jupyter.sim.fusion_ini import boolean_keys
from fusion_jupyter.sim.load import overridable_keys
from fusion_jupyter.sim.params import RUNNERS

PROG = "fusion-jupyter-sim"
COMMAND = "run_sim"
#: Flags that are not config keys.
OWN_FLAGS = ("config_path", "run_id", "output_dir", "progress_file", "fusion_root", "runner")
_REQUIRED = ("config_path", "run_id")
DEFAULT_OUTPUT_DIR = "output"
DEFAULT_PROGRESS_FILE = "progress.jsonl"
DEFAULT_RUNNER = "run_sim"
#: What a boolean key's flag given without a value means (argparse's ``const``).
BARE_BOOLEAN = "True"


class RunArgs(NamedTuple):
    """What ``run_sim``'s arguments ask for: its own flags, and the config overrides."""

    #: Paths as given (:func:`path_arg`): the run's modules do without pathlib.
    config_path: str
    run_id: str
    output_dir: str
    progress_file: str
    fusion_root: str | None
    runner: str
    #: ``--<key> VALUE`` for config keys, as given (the INI's spelling).
    overrides: dict[str, str]


def path_arg(text: str) -> str:
    """A path flag's value: as given, but the empty path is the current directory, as
    pathlib reads it (``--output_dir ""`` writes here)."""
    return text or "."


def read_plain(argv: Sequence[str]) -> RunArgs | None:
    """The arguments, when each flag is a whole name followed by its plain value; None
    for anything argparse might read otherwise (an abbreviation, ``--key=value``, a
    value beginning with ``-``, ``--``, help, a missing or unknown flag or value).

    As argparse: the last of a repeated flag counts; a boolean key's flag takes the next
    argument as its value unless that is a flag (or there is none), when it means True.
    """
    if not argv or argv[0] != COMMAND:
        return None
    keys, booleans = set(overridable_keys()), boolean_keys()
    own: dict[str, str] = {}
    overrides: dict[str, str] = {}
    index = 1
    while index < len(argv):
        name = _flag_name(argv[index], keys)
        if name is None:
            return None
        following = argv[index + 1] if index + 1 < len(argv) else None
        if name in booleans and (following is None or _flag_name(following, keys)):
            value, index = BARE_BOOLEAN, index + 1
        elif following is None or following.startswith("-"):
            return None
        else:
            value, index = following, index + 2
        (own if name in OWN_FLAGS else overrides)[name] = value
    if any(flag not in own for flag in _REQUIRED):
        return None
    runner = own.get("runner", DEFAULT_RUNNER)
    if runner not in RUNNERS:
        return None
    root = own.get("fusion_root")
    return RunArgs(
        config_path=path_arg(own["config_path"]),
        run_id=own["run_id"],
        output_dir=path_arg(own.get("output_dir", DEFAULT_OUTPUT_DIR)),
        progress_file=path_arg(own.get("progress_file", DEFAULT_PROGRESS_FILE)),
        fusion_root=None if root is None else path_arg(root),
        runner=runner,
        overrides=overrides,
    )


def _flag_name(argument: str, keys: set[str]) -> str | None:
    """The flag ``argument`` spells out in full (``--k_paths``), or None."""
    if not argument.startswith("--"):
        return None
    name = argument[2:]
    return name if name in OWN_FLAGS or name in keys else None
