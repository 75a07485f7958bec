"""The built-in simulator: FUSION's legacy engine, the same decisions, faster.

It makes the decisions FUSION's legacy engine makes (sim-model.md) for
``route_method = k_shortest_path``, ``shortest_path`` or ``cong_aware``,
``allocation_method = first_fit`` (or last, best or priority-first fit where FUSION runs
them) and ``snr_type = None`` in the C band with static slicing, FUSION's physical layer,
external resources and XT-aware routing (``README.md``), on FUSION's named networks or a
topology file; reads FUSION INI files as FUSION's loader does; and writes FUSION's result
files (identical on FUSION's regression fixtures it models) plus a results table and
progress events. See ``README.md`` beside this file.

Public API:

* command line: ``python -m fusion_jupyter.sim run_sim --config_path ... --run_id ...``
  (:mod:`fusion_jupyter.sim.cli`), also the ``fusion-jupyter-sim`` script;
* :func:`check_supported` - refusals for settings this model does not implement
  (FUSION's loader's refusals first);
* :class:`SimParams`, :func:`simulate` - run the model from Python; it raises
  :class:`FusionFailure` where FUSION itself fails mid-run (``failures.py``);
* :func:`load_params` - a FUSION INI file (plus overrides) as SimParams.

Names are imported lazily, so the engine can call :func:`check_supported` while
validating a config without importing pandas.
"""

from __future__ import annotations

import os

from fusion_jupyter._lazy import lazy_exports

TYPE_CHECKING = False
if TYPE_CHECKING:
    from fusion_jupyter.sim.failures import FusionFailure
    from fusion_jupyter.sim.load import load_params, params_from_config
    from fusion_jupyter.sim.observer import ErlangPoint, Observer
    from fusion_jupyter.sim.outputs import RESULT_COLUMNS, erlang_file_name
    from fusion_jupyter.sim.params import SimParams
    from fusion_jupyter.sim.simulation import simulate
    from fusion_jupyter.sim.support import check_supported

#: The simulator's data files (FUSION's networks and tables, the shipped path tables).
#: A plain path rather than importlib.resources, whose import (tempfile, shutil, ...)
#: a small run's start-up notices; the package is always installed as files. A string:
#: the modules a run goes through do without pathlib (the simulator's README, "Start-up").
DATA_DIR = os.path.join(os.path.dirname(os.path.realpath(__file__)), "data")

_EXPORTS = {
    "FusionFailure": "failures",
    "load_params": "load",
    "params_from_config": "load",
    "ErlangPoint": "observer",
    "Observer": "observer",
    "RESULT_COLUMNS": "outputs",
    "erlang_file_name": "outputs",
    "SimParams": "params",
    "simulate": "simulation",
    "check_supported": "support",
}

__all__ = [
    "RESULT_COLUMNS",
    "ErlangPoint",
    "FusionFailure",
    "Observer",
    "SimParams",
    "check_supported",
    "compiled",
    "erlang_file_name",
    "load_params",
    "params_from_config",
    "simulate",
]


def compiled() -> bool:
    """Whether the simulator's core runs compiled (a wheel built by hatch_build.py).

    An editable install, or a wheel built without a C compiler, runs the same modules
    as plain Python: the same results, more slowly.
    """
    from fusion_jupyter.sim import simulation

    return not simulation.__file__.endswith(".py")


__getattr__ = lazy_exports(__name__, _EXPORTS)
