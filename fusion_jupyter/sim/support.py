"""What the built-in simulator models, and a check that refuses everything else.

The built-in simulator reproduces FUSION for ``route_method = k_shortest_path``,
``allocation_method = first_fit`` and ``snr_type = None`` on a topology it ships
(NSFNet) or one given as a file in FUSION's format. A config that asks for anything
else would silently get different decisions, so :func:`check_supported` names each
such key, what it is set to and what is supported; the engine calls it when it
validates a config for the built-in simulator, and the command line before running.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fusion_jupyter.engine.errors import Problem
from fusion_jupyter.sim.modulation import SHIPPED_MOD_FILE, available_assumptions, load_mod_table
from fusion_jupyter.sim.topology import SHIPPED_NETWORKS

RawConfig = Mapping[str, Mapping[str, str]]


@dataclass(frozen=True)
class Supported:
    """One key whose value must be one of ``allowed`` (raw INI strings)."""

    section: str
    key: str
    allowed: tuple[str, ...]
    #: What the allowed values mean, for the message.
    meaning: str
    #: The value an absent key has in FUSION.
    default: str | None = None


#: Keys that change FUSION's decisions, and the values this model implements.
SUPPORTED: tuple[Supported, ...] = (
    Supported("general_settings", "route_method", ("k_shortest_path",), "k shortest paths"),
    Supported("general_settings", "allocation_method", ("first_fit",), "first fit"),
    Supported("snr_settings", "snr_type", ("None",), "no physical-layer check (reach table only)"),
    Supported("general_settings", "dynamic_lps", ("False",), "no grooming", "False"),
    Supported("general_settings", "fixed_grid", ("False",), "the flexible grid", "False"),
    Supported(
        "general_settings", "spectrum_priority", ("None",), "FUSION's default search order", "None"
    ),
    Supported(
        "general_settings", "pre_calc_mod_selection", ("False",), "modulation by reach", "False"
    ),
    Supported("topology_settings", "multi_fiber", ("False",), "one fibre per link", "False"),
    Supported(
        "topology_settings", "const_link_weight", ("False",), "routing by length in km", "False"
    ),
    Supported(
        "topology_settings", "is_only_core_node", ("True",), "every node an endpoint", "True"
    ),
    Supported("ml_settings", "deploy_model", ("False",), "no trained model", "False"),
)


def check_supported(config: RawConfig) -> list[Problem]:
    """Every setting of ``config`` the built-in simulator does not model, with the reason.

    ``config`` is the raw INI mapping (section -> key -> string). Missing or
    malformed keys are left to the schema validation; this only refuses values that
    are well-formed but outside the model.
    """
    problems = [p for rule in SUPPORTED if (p := _check_rule(config, rule))]
    for check in (_check_network, _check_modulation):
        problems.extend(check(config))
    return problems


def _raw(config: RawConfig, section: str, key: str) -> str | None:
    entries = config.get(section)
    return entries.get(key) if isinstance(entries, Mapping) else None


def _check_rule(config: RawConfig, rule: Supported) -> Problem | None:
    value = _raw(config, rule.section, rule.key)
    if value is None:
        value = rule.default
    if value is None or value in rule.allowed:
        return None
    allowed = " or ".join(rule.allowed)
    return Problem(
        rule.section,
        rule.key,
        f"{rule.key} = {value} is not modelled by the built-in simulator; it supports "
        f"{allowed} ({rule.meaning}). Run the real FUSION simulator for other settings.",
    )


def _check_network(config: RawConfig) -> list[Problem]:
    network = _raw(config, "topology_settings", "network")
    if network is None or network in SHIPPED_NETWORKS:
        return []
    path = Path(network)
    if path.is_absolute() and path.is_file():
        return []
    shipped = ", ".join(SHIPPED_NETWORKS)
    return [
        Problem(
            "topology_settings",
            "network",
            f"network = {network} is not shipped with the built-in simulator; it ships "
            f"{shipped}, or give the absolute path of a topology file in FUSION's format "
            "(one 'src dst km' link per line).",
        )
    ]


def mod_file_of(mod_assumption_path: str | None) -> Path | None:
    """The modulation file to read: None means the shipped copy of FUSION's default.

    FUSION's templates name its default file relative to FUSION's own root, which is
    not here; that name (or no name) means the shipped copy. Any other table must be
    given as an absolute path, since the engine and the simulator run in different
    directories.
    """
    if mod_assumption_path in (None, "", "None"):
        return None
    path = Path(mod_assumption_path)
    if path.is_absolute() and path.is_file():
        return path
    if path.name == SHIPPED_MOD_FILE:
        return None
    return path


def _check_modulation(config: RawConfig) -> list[Problem]:
    section = "general_settings"
    assumption = _raw(config, section, "mod_assumption") or "DEFAULT"
    path = mod_file_of(_raw(config, section, "mod_assumption_path"))
    if path is not None and not (path.is_absolute() and path.is_file()):
        return [
            Problem(
                section,
                "mod_assumption_path",
                f"mod_assumption_path = {path} is not an existing file given by absolute path; "
                f"the built-in simulator ships FUSION's {SHIPPED_MOD_FILE}, or give the "
                "absolute path of a table in that format.",
            )
        ]
    try:
        table = load_mod_table(assumption, path)
    except (ValueError, KeyError, TypeError) as exc:
        names = ", ".join(available_assumptions()) if path is None else "the file's tables"
        return [Problem(section, "mod_assumption", f"{exc}; available: {names}")]
    return _check_bandwidths(config, sorted(table))


def _check_bandwidths(config: RawConfig, bandwidths: list[int]) -> list[Problem]:
    """FUSION indexes the distribution by the table's bandwidths and vice versa."""
    distribution = _json_object(_raw(config, "general_settings", "request_distribution"))
    if not distribution or set(distribution) == {str(bw) for bw in bandwidths}:
        return []
    known = ", ".join(str(bw) for bw in bandwidths)
    given = ", ".join(distribution)
    return [
        Problem(
            "general_settings",
            "request_distribution",
            f"names bandwidths {given} but the modulation table has {known} Gb/s; "
            "FUSION needs the same bandwidths in both",
        )
    ]


def _json_object(raw: str | None) -> dict[str, object]:
    """The parsed JSON object, or {} when absent or malformed (schema validation says so)."""
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
