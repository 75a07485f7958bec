"""A FUSION INI file read the way FUSION's loader reads it (``fusion/cli/config_setup.py``).

FUSION's ``load_config``:

* requires every key of ``SIM_REQUIRED_OPTIONS_DICT`` in the section that table puts
  it in (``config.has_option(section, key)``) and stores it *flat*, whatever its
  section; a missing one makes the whole config empty (the run then dies later);
* reads the keys of ``OPTIONAL_OPTIONS_DICT`` that are present: ``general_settings``
  flat, every other section nested under its name; a value its converter rejects is
  skipped;
* mirrors the nested routing, spectrum, ML and RL sections to the top level without
  overwriting a key already there, so ``route_method``, ``allocation_method`` and
  ``guard_slots`` come from ``[general_settings]`` (required there) and ``k_paths``
  from ``[routing_settings]``.

The tables below are those two dicts' keys and converters for the sections the
simulator reads (the orchestrator-only sections do not change its decisions). The
result is the flat mapping FUSION's engine reads its ``engine_props`` from.
"""

from __future__ import annotations

import configparser
from collections.abc import Callable, Mapping

from fusion_jupyter.engine.config.literal import literal_eval
from fusion_jupyter.engine.errors import Problem

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    Converter = Callable[[str], Any]

RawConfig = Mapping[str, Mapping[str, str]]


def str_to_bool(text: str) -> bool:
    """FUSION's boolean: true, yes or 1 in any case; anything else is False."""
    return text.lower() in ("true", "yes", "1")


#: FUSION's ``SIM_REQUIRED_OPTIONS_DICT`` (fusion/configs/schema.py).
REQUIRED: dict[str, dict[str, Converter]] = {
    "general_settings": {
        "erlang_start": float,
        "erlang_stop": float,
        "erlang_step": float,
        "mod_assumption": str,
        "mod_assumption_path": str,
        "holding_time": float,
        "thread_erlangs": str_to_bool,
        "guard_slots": int,
        "num_requests": int,
        "max_iters": int,
        "dynamic_lps": str_to_bool,
        "fixed_grid": str_to_bool,
        "pre_calc_mod_selection": str_to_bool,
        "max_segments": int,
        "save_snapshots": str_to_bool,
        "snapshot_step": int,
        "print_step": int,
        "spectrum_priority": str,
        "save_step": int,
        "save_start_end_slots": str_to_bool,
        "is_grooming_enabled": str_to_bool,
        "can_partially_serve": str_to_bool,
        "transponder_usage_per_node": str_to_bool,
        "blocking_type_ci": str_to_bool,
        "route_method": str,
        "allocation_method": str,
    },
    "topology_settings": {
        "network": str,
        "bw_per_slot": float,
        "cores_per_link": int,
        "const_link_weight": str_to_bool,
        "is_only_core_node": str_to_bool,
        "multi_fiber": str_to_bool,
    },
    "spectrum_settings": {"c_band": int},
    "snr_settings": {
        "snr_type": str,
        "input_power": float,
        "egn_model": str_to_bool,
        "beta": float,
        "theta": float,
        "xt_type": str,
        "xt_noise": str_to_bool,
        "requested_xt": str,
        "phi": str,
        "snr_recheck": str_to_bool,
        "recheck_adjacent_cores": str_to_bool,
        "recheck_crossband": str_to_bool,
    },
    "file_settings": {"file_type": str},
    "ml_settings": {"deploy_model": str_to_bool},
}

#: The part of FUSION's ``OPTIONAL_OPTIONS_DICT`` the simulator reads.
OPTIONAL: dict[str, dict[str, Converter]] = {
    "general_settings": {
        "filter_mods": bool,
        "request_distribution": str,
        "fragmentation_metrics": str,
        "frag_calc_step": int,
    },
    "topology_settings": {"bi_directional": str_to_bool, "is_only_core_node": str_to_bool},
    "spectrum_settings": {
        "o_band": int,
        "e_band": int,
        "s_band": int,
        "l_band": int,
        "guard_slots": int,
        "allocation_method": str,
    },
    "file_settings": {"run_id": str},
    "rl_settings": {"is_training": str_to_bool, "path_algorithm": str},
    "ml_settings": {
        "deploy_model": str_to_bool,
        "output_train_data": str_to_bool,
        "ml_training": str_to_bool,
        "ml_model": str,
    },
    "routing_settings": {
        "route_method": str,
        "k_paths": int,
        "path_ordering": str,
        "precompute_paths": str_to_bool,
    },
    "failure_settings": {"failure_type": str},
}

#: Sections FUSION copies to the top level (``_mirror_nested_to_flat``), in its order.
MIRRORED = (
    "routing_settings",
    "spectrum_settings",
    "ml_settings",
    "rl_settings",
    "failure_settings",
)
#: Keys whose value FUSION parses as a Python dict literal (``DICT_PARAM_OPTIONS``).
DICT_KEYS = ("request_distribution", "requested_xt", "phi")


class FusionConfig:
    """FUSION's flat view of a config, and why FUSION's loader would reject it.

    A plain class, as :class:`~fusion_jupyter.sim.simulation.SimContext` is.
    """

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.problems: list[Problem] = []

    def get(self, key: str, default: Any = None) -> Any:
        """A flat value, as ``engine_props.get(key, default)`` reads it."""
        return self.values.get(key, default)


def parse_text(text: str) -> dict[str, dict[str, str]]:
    """The INI text as FUSION's ``ConfigParser`` reads it (keys lower-cased, values stripped)."""
    parser = configparser.ConfigParser()
    parser.read_string(text)
    return {section: dict(parser.items(section, raw=True)) for section in parser.sections()}


def _convert(converter: Converter, key: str, raw: str) -> Any:
    value = converter(raw)
    if key in DICT_KEYS and isinstance(value, str):
        try:
            parsed = literal_eval(value)
        except (ValueError, SyntaxError):
            return value
        return parsed if isinstance(parsed, dict) else value
    return value


def flatten(raw: RawConfig) -> FusionConfig:
    """FUSION's flat ``engine_props`` values of a raw config, and the loader's refusals."""
    out = FusionConfig()
    if "general_settings" not in raw:
        out.problems.append(
            Problem("general_settings", "", "FUSION requires a [general_settings] section")
        )
        return out
    _required(raw, out)
    nested = _optional(raw, out)
    for section in MIRRORED:
        for key, value in nested.get(section, {}).items():
            out.values.setdefault(key, value)
    return out


def _required(raw: RawConfig, out: FusionConfig) -> None:
    for section, keys in REQUIRED.items():
        entries = raw.get(section, {})
        for key, converter in keys.items():
            if key not in entries:
                out.problems.append(
                    Problem(
                        section,
                        key,
                        f"Missing required option '{key}' in section [{section}] "
                        "(FUSION's loader requires it there)",
                    )
                )
                continue
            try:
                out.values[key] = _convert(converter, key, str(entries[key]))
            except (ValueError, TypeError) as exc:
                fallback = OPTIONAL.get(section, {}).get(key)
                try:
                    if fallback is None:
                        raise
                    out.values[key] = _convert(fallback, key, str(entries[key]))
                except (ValueError, TypeError):
                    out.problems.append(
                        Problem(
                            section, key, f"FUSION cannot convert {key} = {entries[key]!r}: {exc}"
                        )
                    )


def _optional(raw: RawConfig, out: FusionConfig) -> dict[str, dict[str, Any]]:
    nested: dict[str, dict[str, Any]] = {}
    for section, keys in OPTIONAL.items():
        entries = raw.get(section)
        if entries is None:
            continue
        target = out.values if section == "general_settings" else nested.setdefault(section, {})
        for key, converter in keys.items():
            if key not in entries:
                continue
            try:
                target[key] = _convert(converter, key, str(entries[key]))
            except (ValueError, TypeError):
                continue  # FUSION skips optional values it cannot convert
    return nested


def where(key: str) -> str:
    """The section FUSION's loader reads ``key`` from (for messages)."""
    for table in (REQUIRED, OPTIONAL):
        for section, keys in table.items():
            if key in keys:
                return section
    return "general_settings"


def boolean_keys() -> set[str]:
    """The keys FUSION reads as booleans: its command line spells each as a bare flag."""
    return {
        key
        for table in (REQUIRED, OPTIONAL)
        for entries in table.values()
        for key, converter in entries.items()
        if converter in (str_to_bool, bool)
    }


def known_keys() -> list[str]:
    """Every key the loader tables name, once (each gets a command-line override flag)."""
    keys: dict[str, None] = {}
    for table in (REQUIRED, OPTIONAL):
        for entries in table.values():
            keys.update(dict.fromkeys(entries))
    keys.update(dict.fromkeys(("thread_num", "k_paths", "is_training")))
    return list(keys)
