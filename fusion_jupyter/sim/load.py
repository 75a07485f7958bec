"""From a FUSION INI file (plus command-line overrides) to :class:`SimParams`.

Parsing, the schema and its validation belong to :mod:`fusion_jupyter.engine.config`;
this module only strings them together with :func:`check_supported` and converts the
typed values into the model's parameters. Every problem found is raised at once, as
:class:`~fusion_jupyter.engine.errors.ValidationFailed`, so the user can fix them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fusion_jupyter.engine import config as ini
from fusion_jupyter.engine.errors import Problem, ValidationFailed
from fusion_jupyter.sim.params import SimParams
from fusion_jupyter.sim.support import check_supported, mod_file_of
from fusion_jupyter.sim.topology import SHIPPED_NETWORKS

#: The simulator reads whatever files the person or engine that started it names: the
#: server confines a config's paths before it launches anything (engine.config.paths).
_LOCAL_FILES = ini.DataPaths(allowed=(Path("/"),))


def sections_of(key: str) -> list[str]:
    """The sections FUSION reads ``key`` from, as the schema lists them."""
    return [entry.section for entry in ini.SCHEMA if entry.key == key]


def overridable_keys() -> list[str]:
    """Every schema key, once: each gets a ``--key`` flag like FUSION's command line."""
    return list(dict.fromkeys(entry.key for entry in ini.SCHEMA))


def apply_overrides(config: ini.Config, overrides: Mapping[str, str]) -> ini.Config:
    """Set each overridden key in its schema section.

    A key the schema lists in two sections (``guard_slots``) is set in the first one
    and in every other one the config already has it in, so they stay equal.
    """
    nested: dict[str, dict[str, str]] = {}
    for key, value in overrides.items():
        homes = sections_of(key)
        for index, section in enumerate(homes):
            if index == 0 or key in config.get(section, {}):
                nested.setdefault(section, {})[key] = value
    return ini.merge(config, nested)


def read_config(path: Path, overrides: Mapping[str, str] | None = None) -> ini.Config:
    """The INI file with overrides applied; ValidationFailed if it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationFailed([Problem("config_path", "", f"cannot read {path}: {exc}")]) from None
    return apply_overrides(ini.parse_ini(text), overrides or {})


def params_from_config(config: ini.Config) -> SimParams:
    """Validate ``config`` for the built-in simulator and convert it.

    Raises ValidationFailed listing schema errors and unsupported settings together.
    """
    problems = ini.validate(config, _LOCAL_FILES).errors + check_supported(config)
    if problems:
        raise ValidationFailed(problems)
    return params_from_typed(ini.typed(config, _LOCAL_FILES), ini.erlang_points(config))


def params_from_typed(values: Mapping[str, Any], erlangs: list[float]) -> SimParams:
    """SimParams from ``typed()``'s flat values and the Erlang points."""
    network = str(values["network"])
    return SimParams(
        erlangs=tuple(erlangs),
        erlang_start=float(values["erlang_start"]),
        erlang_stop=float(values["erlang_stop"]),
        erlang_step=float(values["erlang_step"]),
        num_requests=int(values["num_requests"]),
        max_iters=int(values["max_iters"]),
        holding_time=float(values["holding_time"]),
        k_paths=int(values["k_paths"]),
        cores_per_link=int(values["cores_per_link"]),
        c_band=int(values["c_band"]),
        guard_slots=int(values["guard_slots"]),
        max_segments=int(values["max_segments"]),
        request_distribution={
            str(bw): float(p) for bw, p in values["request_distribution"].items()
        },
        is_training=bool(values.get("is_training") or False),
        network=network if network in SHIPPED_NETWORKS else Path(network).stem,
        topology_file=None if network in SHIPPED_NETWORKS else network,
        mod_assumption=str(values["mod_assumption"]),
        mod_assumption_path=_optional_path(mod_file_of(values.get("mod_assumption_path"))),
        thread_num=str(values.get("thread_num") or "s1"),
        print_step=int(values.get("print_step") or 15),
    )


def _optional_path(path: Path | None) -> str | None:
    return None if path is None else str(path)


def load_params(path: Path, overrides: Mapping[str, str] | None = None) -> SimParams:
    """Read, override, validate and convert a config file in one step."""
    return params_from_config(read_config(path, overrides))
