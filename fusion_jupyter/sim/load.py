"""From a FUSION INI file (plus command-line overrides) to :class:`SimParams`.

The file is read as FUSION's loader reads it (:mod:`fusion_jupyter.sim.fusion_ini`),
checked by :func:`check_config`, and converted into the model's parameters. Every
problem found is raised at once, as
:class:`~fusion_jupyter.engine.errors.ValidationFailed`, so the user can fix them all.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Callable, Mapping

from fusion_jupyter.engine.errors import Problem, ValidationFailed
from fusion_jupyter.sim import fusion_ini
from fusion_jupyter.sim.params import RUNNERS, SimParams, erlang_points
from fusion_jupyter.sim.support import check_config
from fusion_jupyter.sim.topology import SHIPPED_NETWORKS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from _typeshed import StrPath

RawConfig = dict[str, dict[str, str]]
#: Told each warning of a config (something FUSION reads otherwise than it is written).
Warn = Callable[[Problem], object]


def sections_of(key: str) -> list[str]:
    """The sections FUSION's loader reads ``key`` from (required first)."""
    found = [
        section
        for table in (fusion_ini.REQUIRED, fusion_ini.OPTIONAL)
        for section, keys in table.items()
        if key in keys
    ]
    return list(dict.fromkeys(found)) or ["general_settings"]


def overridable_keys() -> list[str]:
    """Every key FUSION's loader reads, once: each gets a ``--key`` flag like FUSION's CLI."""
    return fusion_ini.known_keys()


def apply_overrides(config: RawConfig, overrides: Mapping[str, str]) -> RawConfig:
    """Set each overridden key where FUSION reads it.

    FUSION applies a command-line value to the key wherever its loader reads it, so a
    key in two sections (``guard_slots``, ``allocation_method``) is set in the first
    and in every other one the config already has it in.
    """
    out = {section: dict(entries) for section, entries in config.items()}
    for key, value in overrides.items():
        for index, section in enumerate(sections_of(key)):
            if index == 0 or key in out.get(section, {}):
                out.setdefault(section, {})[key] = str(value)
    return out


def unread_overrides(config: RawConfig, overrides: Mapping[str, str]) -> list[Problem]:
    """Command-line values FUSION's loader would drop: their key is not in the INI.

    FUSION applies a ``--key`` value only to a key the INI has, in a section it reads
    the key from (``_process_required_options``, ``_process_optional_options``). Any
    other value is dropped without a word, and FUSION runs another config than the one
    asked for (``--l_band`` on a C-band config runs the C band alone). So this
    simulator refuses such a value, saying where the key belongs, rather than run what
    FUSION would not.
    """
    problems = []
    for key, value in overrides.items():
        sections = sections_of(key)
        if not any(key in config.get(section, {}) for section in sections):
            problems.append(
                Problem(
                    sections[0],
                    key,
                    f"--{key} {value} is given but the config has no {key} in "
                    f"[{sections[0]}]: FUSION applies a command-line value only to a key "
                    f"its INI has, and would run without this one; add {key} = {value} "
                    f"to [{sections[0]}] instead",
                )
            )
    return problems


def read_config(path: StrPath, overrides: Mapping[str, str] | None = None) -> RawConfig:
    """The INI file with overrides applied; ValidationFailed if it cannot be read."""
    try:
        with open(path, encoding="utf-8") as handle:
            raw = fusion_ini.parse_text(handle.read())
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        raise ValidationFailed([Problem("config_path", "", f"cannot read {path}: {exc}")]) from None
    return apply_overrides(raw, overrides or {})


def params_from_config(
    config: RawConfig,
    *,
    fusion_root: StrPath | None = None,
    runner: str = "run_sim",
    warn: Warn | None = None,
) -> SimParams:
    """Check ``config`` for the built-in simulator and convert it.

    Raises ValidationFailed listing FUSION's loader refusals, or the unsupported settings.
    ``warn`` is given each warning first (refused or not: a key FUSION does not read
    often explains why a required one is missing).
    """
    if runner not in RUNNERS:
        raise ValidationFailed([Problem("runner", "", f"runner must be one of {RUNNERS}")])
    result = check_config(config, fusion_root)
    if warn is not None:
        for warning in result.warnings:
            warn(warning)
    if result.errors:
        raise ValidationFailed(result.errors)
    values = fusion_ini.flatten(config).values
    return params_from_values(values, fusion_root=fusion_root, runner=runner)


def params_from_values(
    values: Mapping[str, Any], *, fusion_root: StrPath | None = None, runner: str = "run_sim"
) -> SimParams:
    """SimParams from FUSION's flat ``engine_props`` values."""
    network = str(values["network"])
    start, stop, step = (float(values[k]) for k in ("erlang_start", "erlang_stop", "erlang_step"))
    route_method = str(values["route_method"])
    return SimParams(
        erlangs=tuple(erlang_points(start, stop, step, runner)),
        erlang_start=start,
        erlang_stop=stop,
        erlang_step=step,
        num_requests=int(values["num_requests"]),
        max_iters=int(values["max_iters"]),
        holding_time=float(values["holding_time"]),
        k_paths=int(values.get("k_paths", 3)),
        route_method=route_method,
        allocation_method=str(values.get("allocation_method") or "first_fit"),
        spectrum_priority=str(values.get("spectrum_priority")),
        cores_per_link=int(values["cores_per_link"]),
        c_band=int(values["c_band"]),
        l_band=int(values.get("l_band") or 0),
        s_band=int(values.get("s_band") or 0),
        guard_slots=int(values["guard_slots"]),
        max_segments=int(values["max_segments"]),
        request_distribution={
            str(bw): float(p) for bw, p in values["request_distribution"].items()
        },
        is_training=bool(values.get("is_training", False)),
        network=network if network in SHIPPED_NETWORKS else _stem(network),
        topology_file=None if network in SHIPPED_NETWORKS else network,
        mod_assumption=str(values["mod_assumption"]),
        mod_assumption_path=_optional_str(values.get("mod_assumption_path")),
        thread_num=str(values.get("thread_num") or "s1"),
        print_step=int(values.get("print_step") or 15),
        fusion_root=None if fusion_root is None else str(fusion_root),
        pre_calc_mod_selection=bool(values.get("pre_calc_mod_selection", False)),
        only_core_node=bool(values.get("is_only_core_node", True)),
        runner=runner,
        save_start_end_slots=bool(values.get("save_start_end_slots", False)),
        save_step=int(values.get("save_step", 1)),
        save_snapshots=bool(values.get("save_snapshots", False)),
        snapshot_step=int(values.get("snapshot_step", 1)),
        snr_type=str(values.get("snr_type")),
        can_partially_serve=bool(values.get("can_partially_serve", False)),
        grooming=bool(values.get("is_grooming_enabled", False)),
        bw_per_slot=float(values.get("bw_per_slot", 12.5)),
        input_power=float(values.get("input_power", 0.001)),
        phi={str(k): v for k, v in (values.get("phi") or {}).items()},
        xt_type=_optional_str(values.get("xt_type")),
        beta=float(values.get("beta", 0.5)),
        requested_xt={str(k): float(v) for k, v in (values.get("requested_xt") or {}).items()},
        snr_recheck=bool(values.get("snr_recheck", False)),
        recheck_adjacent_cores=bool(values.get("recheck_adjacent_cores", True)),
    )


def _stem(path: str) -> str:
    """A topology file's name without its suffix (FUSION's network name for it)."""
    return os.path.splitext(os.path.basename(path))[0]


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def load_params(
    path: StrPath,
    overrides: Mapping[str, str] | None = None,
    *,
    fusion_root: StrPath | None = None,
    runner: str = "run_sim",
    warn: Warn | None = None,
) -> SimParams:
    """Read, override, check and convert a config file in one step.

    ``overrides`` are command-line values, applied as FUSION's command line applies
    them: one for a key the file does not have is refused (:func:`unread_overrides`),
    with every other problem of the config. ``warn`` is told the config's warnings.
    """
    config = read_config(path)
    problems = unread_overrides(config, overrides or {})
    unread = {problem.key for problem in problems}
    read = {key: value for key, value in (overrides or {}).items() if key not in unread}
    try:
        params = params_from_config(
            apply_overrides(config, read), fusion_root=fusion_root, runner=runner, warn=warn
        )
    except ValidationFailed as exc:
        raise ValidationFailed([*problems, *exc.problems]) from None
    if problems:
        raise ValidationFailed(problems)
    return params
