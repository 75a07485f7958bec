"""FUSION INI configs: templates, overrides, validation and the frozen ``config.ini``.

A run's config is what the simulator, the run record and the user all have to agree on,
so it is kept as raw INI strings (exactly what lands in the frozen file) and checked
against one declarative schema of the keys FUSION reads before anything is written.
"""

from __future__ import annotations

import ast
import builtins
import configparser
import json
import math
import os
import re
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from numbers import Integral, Real
from pathlib import Path
from typing import Any, Literal

from fusion_jupyter.engine.errors import NotFound, Problem, ValidationFailed

Config = dict[str, dict[str, str]]
"""section -> key -> raw INI string, in file order."""

ValueType = Literal["int", "float", "bool", "json", "str"]
Check = Callable[[Any], str | None]

SHIPPED_TEMPLATES_DIR: Path = Path(__file__).resolve().parent / "templates"
KNOWN_NETWORKS: tuple[str, ...] = ("NSFNet",)
MAX_ERLANG_POINTS = 10_000
PROBABILITY_TOLERANCE = 1e-9

GENERAL = "general_settings"
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TEMPLATE_NAME_RE = re.compile(r"[A-Za-z0-9_.-]+")
_BANDWIDTH_RE = re.compile(r"[1-9][0-9]*")
# C0/C1 controls (tab aside), line/paragraph separators and lone surrogates: each either
# ends an INI line for some reader or cannot be written as UTF-8 at all.
_UNSAFE_CHAR_RE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_CHAR_NAMES = {"\n": "a line feed", "\r": "a carriage return", "\x00": "a NUL byte"}
# FUSION's own ConfigParser treats [DEFAULT] as values for every section.
_RESERVED_SECTION = "DEFAULT"
# Not a header any INI text can contain, so a [DEFAULT] section stays an ordinary one
# when we parse and the safety check can refuse it by name.
_NO_DEFAULT_SECTION = "\x00no-default\x00"
_DESCRIPTION_PREFIX = "# description:"
_FROZEN_HEADER = "# Frozen by fusion_jupyter when the run was created; never edited afterwards."
_ERLANG_EPSILON = 1e-9


# --------------------------------------------------------------------------- schema


def _at_least(bound: float) -> Check:
    return lambda v: None if v >= bound else f"must be at least {bound:g}, got {v:g}"


def _above(bound: float) -> Check:
    return lambda v: None if v > bound else f"must be greater than {bound:g}, got {v:g}"


def _between(low: float, high: float) -> Check:
    return lambda v: (
        None if low <= v <= high else f"must be between {low:g} and {high:g}, got {v:g}"
    )


def _one_of(*choices: str) -> Check:
    return lambda v: None if v in choices else f"must be one of {', '.join(choices)}, got {v!r}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_network(value: str) -> str | None:
    if value in KNOWN_NETWORKS:
        return None
    path = Path(value)
    if path.is_absolute() and path.is_file():
        return None
    return (
        f"unknown network {value!r}: use one of {', '.join(KNOWN_NETWORKS)}, "
        "or the absolute path of an existing topology file"
    )


def _check_distribution(value: dict[str, Any]) -> str | None:
    issues = [
        f"bandwidth {bw!r} must be a positive whole number of Gb/s"
        for bw in value
        if not _BANDWIDTH_RE.fullmatch(bw)
    ]
    issues += [
        f"share of {bw} must be a positive number, got {p!r}"
        for bw, p in value.items()
        if not (_is_number(p) and p > 0)
    ]
    if not value:
        issues.append("must name at least one bandwidth")
    elif not issues and abs(math.fsum(value.values()) - 1) > PROBABILITY_TOLERANCE:
        issues.append(f"shares must sum to 1, they sum to {math.fsum(value.values())!r}")
    return "; ".join(issues) or None


def _check_numbers_object(value: dict[str, Any]) -> str | None:
    bad = [name for name, number in value.items() if not _is_number(number)]
    return f"values must be numbers: {', '.join(map(repr, bad))} are not" if bad else None


@dataclass(frozen=True)
class SchemaEntry:
    """One key FUSION reads: the section it must be in, its type, its rule, its meaning.

    ``required`` keys are the ones FUSION refuses to start without (or that the built-in
    simulator needs); ``default`` is what an absent optional key means to the simulator.
    """

    section: str
    key: str
    kind: ValueType
    description: str
    required: bool = True
    check: Check | None = None
    default: Any = None


_general = partial(SchemaEntry, GENERAL)
_topology = partial(SchemaEntry, "topology_settings")
_routing = partial(SchemaEntry, "routing_settings")
_spectrum = partial(SchemaEntry, "spectrum_settings")
_snr = partial(SchemaEntry, "snr_settings")
_file = partial(SchemaEntry, "file_settings")
_ml = partial(SchemaEntry, "ml_settings", required=False)
_rl = partial(SchemaEntry, "rl_settings", required=False)

SCHEMA: tuple[SchemaEntry, ...] = (
    _general("erlang_start", "float", "First traffic load, in Erlang.", check=_above(0)),
    _general("erlang_stop", "float", "Last traffic load (included), in Erlang.", check=_above(0)),
    _general("erlang_step", "float", "Increment between traffic loads.", check=_above(0)),
    _general("holding_time", "float", "Mean holding time of a request.", check=_above(0)),
    _general("num_requests", "int", "Requests per iteration.", check=_at_least(1)),
    _general("max_iters", "int", "Iterations per traffic load.", check=_at_least(1)),
    _general("guard_slots", "int", "Guard slots above every lightpath.", check=_at_least(0)),
    _general("max_segments", "int", "Most slices per request.", check=_at_least(1)),
    _general(
        "request_distribution",
        "json",
        "Share of requests per bandwidth (Gb/s).",
        check=_check_distribution,
    ),
    _general("mod_assumption", "str", "Modulation table name."),
    _general("mod_assumption_path", "str", "Modulation formats file."),
    _general("thread_erlangs", "bool", "Run traffic loads in parallel."),
    _general("dynamic_lps", "bool", "Groom onto existing lightpaths."),
    _general("fixed_grid", "bool", "Fixed instead of flexible grid."),
    _general("pre_calc_mod_selection", "bool", "Pre-calculated modulation selection."),
    _general("spectrum_priority", "str", "Search order over bands and cores."),
    _general("save_snapshots", "bool", "Record spectrum snapshots."),
    _general("snapshot_step", "int", "Requests between snapshots.", check=_at_least(1)),
    _general("print_step", "int", "Iterations between progress lines.", check=_at_least(1)),
    _general("save_step", "int", "Iterations between result saves.", check=_at_least(1)),
    _general("save_start_end_slots", "bool", "Save every lightpath's slots."),
    _general("thread_num", "str", "Simulation thread name.", required=False, default="s1"),
    _general("verbose_logging", "bool", "Log every request.", required=False, default=False),
    _general(
        "log_level",
        "str",
        "Simulator log level.",
        required=False,
        default="WARNING",
        check=_one_of("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
    ),
    _topology("network", "str", "Topology name or file.", check=_check_network),
    _topology("bw_per_slot", "float", "Slot bandwidth, in GHz.", check=_above(0)),
    _topology("cores_per_link", "int", "Cores per fibre link.", check=_at_least(1)),
    _topology("const_link_weight", "bool", "Same weight for every link."),
    _topology("is_only_core_node", "bool", "Every node may be an endpoint."),
    _topology("multi_fiber", "bool", "Several fibres per link."),
    _topology("bi_directional", "bool", "Bidirectional links.", required=False),
    _routing("route_method", "str", "Routing algorithm."),
    _routing("k_paths", "int", "Candidate paths per request.", check=_at_least(1)),
    _spectrum("c_band", "int", "Slots per core in the C band.", check=_at_least(1)),
    _spectrum("allocation_method", "str", "Spectrum assignment policy."),
    _spectrum(
        "guard_slots",
        "int",
        "Guard slots as the spectrum module reads them.",
        required=False,
        check=_at_least(0),
    ),
    _snr("snr_type", "str", "Physical-layer check; None skips it."),
    _snr("input_power", "float", "Launch power per channel, in W.", check=_above(0)),
    _snr("egn_model", "bool", "Enhanced Gaussian noise model."),
    _snr("beta", "float", "Crosstalk parameter beta."),
    _snr("theta", "float", "Crosstalk parameter theta."),
    _snr("xt_type", "str", "Crosstalk calculation variant."),
    _snr("xt_noise", "bool", "Add crosstalk noise to the SNR."),
    _snr("requested_xt", "json", "Crosstalk limit per format.", check=_check_numbers_object),
    _snr("phi", "json", "Nonlinear factor per format.", check=_check_numbers_object),
    _file("file_type", "str", "Result file format.", check=_one_of("json")),
    _ml("deploy_model", "bool", "Use a trained model.", required=True),
    _ml("output_train_data", "bool", "Write training data."),
    _ml("ml_training", "bool", "Train a model during the run."),
    _ml("ml_model", "str", "Model name."),
    _ml("train_file_path", "str", "Training data file."),
    _ml("test_size", "float", "Held-out share.", check=_between(0, 1)),
    _rl(
        "is_training",
        "bool",
        "Training mode: no confidence interval, no early stop.",
        default=False,
    ),
    _rl("obs_space", "str", "Observation space."),
    _rl("n_trials", "int", "Training trials.", check=_at_least(1)),
    _rl("device", "str", "Learning device."),
    _rl("optimize_hyperparameters", "bool", "Search hyperparameters."),
    _rl("optuna_trials", "int", "Optuna trials.", check=_at_least(1)),
    _rl("path_algorithm", "str", "Path agent."),
    _rl("path_model", "str", "Saved path model."),
    _rl("core_algorithm", "str", "Core agent."),
    _rl("core_model", "str", "Saved core model."),
    _rl("spectrum_algorithm", "str", "Spectrum agent."),
    _rl("spectrum_model", "str", "Saved spectrum model."),
    _rl("render_mode", "str", "Render mode."),
    _rl("super_channel_space", "int", "Super-channels to choose from.", check=_at_least(1)),
    _rl("alpha_start", "float", "Initial learning rate.", check=_at_least(0)),
    _rl("alpha_end", "float", "Final learning rate.", check=_at_least(0)),
    _rl("alpha_update", "str", "Learning-rate schedule."),
    _rl("gamma", "float", "Discount factor.", check=_between(0, 1)),
    _rl("epsilon_start", "float", "Initial exploration rate.", check=_between(0, 1)),
    _rl("epsilon_end", "float", "Final exploration rate.", check=_between(0, 1)),
    _rl("epsilon_update", "str", "Exploration schedule."),
    _rl("path_levels", "int", "Path levels.", check=_at_least(1)),
    _rl("decay_rate", "float", "Schedule decay rate.", check=_at_least(0)),
    _rl("feature_extractor", "str", "Feature extractor."),
    _rl("gnn_type", "str", "Graph network type."),
    _rl("layers", "int", "Network layers.", check=_at_least(1)),
    _rl("emb_dim", "int", "Embedding size.", check=_at_least(1)),
    _rl("heads", "int", "Attention heads.", check=_at_least(1)),
    _rl("conf_param", "int", "Bandit confidence parameter."),
    _rl("cong_cutoff", "float", "Congestion threshold.", check=_between(0, 1)),
    _rl("reward", "int", "Reward for a served request."),
    _rl("penalty", "int", "Penalty for a blocked request."),
    _rl("dynamic_reward", "bool", "State-dependent reward."),
    _rl("core_beta", "float", "Core term weight in the reward."),
)

_ENTRIES: dict[tuple[str, str], SchemaEntry] = {(e.section, e.key): e for e in SCHEMA}
_SECTIONS_OF_KEY: dict[str, list[str]] = {}
for _entry in SCHEMA:
    _SECTIONS_OF_KEY.setdefault(_entry.key, []).append(_entry.section)


# --------------------------------------------------------------------------- values


def _parse_bool(raw: str) -> bool:
    if raw in ("True", "False"):
        return raw == "True"
    raise ValueError(f"must be True or False, got {raw!r}")


def _parse_int(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"must be a whole number, got {raw!r}") from None


def _parse_float(raw: str) -> float:
    try:
        number = float(raw)
    except ValueError:
        raise ValueError(f"must be a number, got {raw!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"must be a finite number, got {raw!r}")
    return number


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


def _parse_json_object(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw, parse_constant=_refuse_constant)
    except ValueError as exc:
        raise ValueError(f"must be a JSON object: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError(f'must be a JSON object like {{"name": 1}}, got {raw!r}')
    return value


_PARSERS: dict[ValueType, Callable[[str], Any]] = {
    "int": _parse_int,
    "float": _parse_float,
    "bool": _parse_bool,
    "json": _parse_json_object,
    "str": str,
}


def _read_entry(entry: SchemaEntry, raw: Any) -> tuple[Any, Problem | None]:
    """Convert one raw value by its schema entry; a Problem instead when it is wrong."""
    if raw is None:
        return None, Problem(entry.section, entry.key, "required key is missing")
    try:
        value = _PARSERS[entry.kind](str(raw))
    except ValueError as exc:
        return None, Problem(entry.section, entry.key, str(exc))
    message = entry.check(value) if entry.check else None
    return value, Problem(entry.section, entry.key, message) if message else None


def _guess_type(raw: str) -> str:
    """Type a widget should offer for a key the schema does not know."""
    if raw == "None":
        return "none"
    if raw in ("True", "False"):
        return "bool"
    for kind, parse in (("int", int), ("float", float)):
        try:
            parse(raw)
        except ValueError:
            continue
        return kind
    if raw.startswith(("{", "[")):
        try:
            json.loads(raw)
        except ValueError:
            return "str"
        return "json"
    return "str"


def _to_ini(value: Any) -> str:
    """A Python override value as the INI string FUSION expects."""
    numpy = sys.modules.get("numpy")  # a numpy value implies numpy is imported already
    if numpy is not None and isinstance(value, numpy.generic):
        # Sweep grids are often numpy arrays; np.bool_ is neither bool nor Integral.
        value = value.item()
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, str):
        return value
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real):
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"must be a finite number, got {number!r}")
        return repr(number)
    if isinstance(value, Mapping | list | tuple):
        try:
            return json.dumps(value, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"cannot be written as JSON: {exc}") from None
    raise ValueError(
        f"must be a string, number, boolean, None, list or object, got {type(value).__name__}"
    )


# --------------------------------------------------------------------------- safety


def _describe_char(char: str) -> str:
    return _CHAR_NAMES.get(char, "a control or line-separator character") + f" (U+{ord(char):04X})"


def _name_problem(section: Any, key: Any, name: Any, what: str) -> Problem | None:
    if isinstance(name, str) and _NAME_RE.fullmatch(name):
        return None
    return Problem(
        str(section),
        str(key),
        f"{what} name {name!r} must be letters, digits and underscores, not starting with a digit",
    )


def _value_problem(section: str, key: str, value: Any) -> Problem | None:
    """Why ``value`` would not come back unchanged from an INI file, or None."""
    if not isinstance(value, str):
        return Problem(section, key, f"value must be a string, got {type(value).__name__}")
    bad = _UNSAFE_CHAR_RE.search(value)
    if bad:
        return Problem(
            section,
            key,
            f"value contains {_describe_char(bad.group())}; a value must stay on one line",
        )
    if value != value.strip():
        return Problem(
            section, key, "value has leading or trailing whitespace, which INI readers drop"
        )
    return None


def _case_problem(seen: dict[str, str], section: str, key: Any) -> Problem | None:
    # FUSION's stock ConfigParser lowercases keys, so "K" and "k" would collide there.
    if not isinstance(key, str) or seen.setdefault(key.lower(), key) == key:
        return None
    return Problem(
        section, key, f"differs from {seen[key.lower()]!r} only in case; FUSION lowercases keys"
    )


def _section_name_problem(section: Any) -> Problem | None:
    if section == _RESERVED_SECTION:
        return Problem(section, "", "[DEFAULT] would apply its keys to every section")
    return _name_problem(section, "", section, "section")


def _section_problems(section: Any, entries: Any) -> list[Problem]:
    problems = [p for p in (_section_name_problem(section),) if p]
    if not isinstance(entries, Mapping):
        kind = type(entries).__name__
        return [*problems, Problem(str(section), "", f"must map keys to values, got {kind}")]
    seen: dict[str, str] = {}
    for key, value in entries.items():
        candidates = (
            _name_problem(section, key, key, "key"),
            _value_problem(section, key, value),
            _case_problem(seen, section, key),
        )
        problems += [p for p in candidates if p]
    return problems


def _safety_problems(config: Mapping[str, Any]) -> list[Problem]:
    return [p for section, entries in config.items() for p in _section_problems(section, entries)]


def check_values_safe(config: Config) -> None:
    """Refuse any section, key or value that would not be read back exactly from the file.

    The frozen file is handed to a simulator we do not control, so a value that smuggles
    in a line break (a new key or section), gets trimmed, or clashes with FUSION's own
    reading of the file must be stopped here, naming ``section.key``.
    """
    problems = _safety_problems(config)
    if problems:
        raise ValidationFailed(problems)


# --------------------------------------------------------------------------- overrides


def _override_items(
    overrides: Mapping[str, Any], problems: list[Problem]
) -> list[tuple[Any, Any, Any]]:
    items: list[tuple[Any, Any, Any]] = []
    for name, value in overrides.items():
        if isinstance(name, str) and "." in name:
            section, _, key = name.partition(".")
            items.append((section, key, value))
        elif isinstance(value, Mapping):
            items.extend((name, key, inner) for key, inner in value.items())
        else:
            problems.append(
                Problem(
                    str(name),
                    "",
                    "expected {section: {key: value}} or {'section.key': value}",
                )
            )
    return items


def _override_problem(section: Any, key: Any, value: Any) -> tuple[str, Problem | None]:
    for problem in (_section_name_problem(section), _name_problem(section, key, key, "key")):
        if problem:
            return "", problem
    try:
        text = _to_ini(value)
    except ValueError as exc:
        return "", Problem(section, key, f"value {exc}")
    return text, _value_problem(section, key, text)


def normalize_overrides(overrides: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Overrides in any accepted shape as ``{section: {key: ini_string}}``.

    Clients send nested ``{section: {key: value}}`` (the REST API) or flat
    ``{"section.key": value}`` (sweep grids), with Python values; everything downstream
    only has to deal with the INI strings FUSION will read. Every problem is reported.
    """
    problems: list[Problem] = []
    result: dict[str, dict[str, str]] = {}
    for section, key, value in _override_items(overrides, problems):
        text, problem = _override_problem(section, key, value)
        if problem:
            problems.append(problem)
        elif result.setdefault(section, {}).setdefault(key, text) != text:
            problems.append(Problem(section, key, "given twice with different values"))
    if problems:
        raise ValidationFailed(problems)
    return result


def merge(base: Config, overrides: Mapping[str, Any]) -> Config:
    """A new config: ``base`` with ``overrides`` applied (new sections and keys appended)."""
    merged = {section: dict(entries) for section, entries in base.items()}
    for section, entries in normalize_overrides(overrides).items():
        merged.setdefault(section, {}).update(entries)
    return merged


# --------------------------------------------------------------------------- validation


@dataclass
class ValidationResult:
    """Every error and warning found in a config, so a user can fix them all at once."""

    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """Warnings never make a config invalid; errors always do."""
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``POST configs/validate``."""
        return {
            "valid": self.valid,
            "errors": [p.to_dict() for p in self.errors],
            "warnings": [p.to_dict() for p in self.warnings],
        }


_Values = dict[tuple[str, str], Any]


def _erlang_count(start: float, stop: float, step: float) -> int:
    # The epsilon keeps a stop that is a whole number of steps away from being lost
    # to float noise, e.g. (0.3 - 0.1) / 0.1 == 1.9999999999999998.
    return math.floor((stop - start) / step + _ERLANG_EPSILON) + 1


def _erlang_problems(values: _Values) -> list[Problem]:
    start, stop, step = (
        values.get((GENERAL, k)) for k in ("erlang_start", "erlang_stop", "erlang_step")
    )
    if start is None or stop is None:
        return []
    if stop < start:
        return [
            Problem(
                GENERAL, "erlang_stop", f"must be at least erlang_start ({start:g}), got {stop:g}"
            )
        ]
    count = 0 if step is None else _erlang_count(start, stop, step)
    if count > MAX_ERLANG_POINTS:
        return [
            Problem(
                GENERAL, "erlang_step", f"gives {count} traffic loads; at most {MAX_ERLANG_POINTS}"
            )
        ]
    return []


def _splits(distribution: dict[str, float], requests: int) -> bool:
    # FUSION gives each bandwidth exactly int(p * N) requests and raises unless they add to N.
    return sum(int(p * requests) for p in distribution.values()) == requests


def _split_problems(values: _Values) -> list[Problem]:
    distribution = values.get((GENERAL, "request_distribution"))
    requests = values.get((GENERAL, "num_requests"))
    if distribution is None or requests is None or _splits(distribution, requests):
        return []
    counts = {bw: int(p * requests) for bw, p in distribution.items()}
    # Suggest the next count that splits; the search is bounded to stay cheap per keystroke.
    candidates = range(requests + 1, requests + 10_001)
    nearest = next((n for n in candidates if _splits(distribution, n)), None)
    hint = f"; {nearest} would" if nearest else ""
    return [
        Problem(
            GENERAL,
            "num_requests",
            f"{requests} requests do not split exactly by request_distribution: int(share * N) "
            f"gives {counts}, {sum(counts.values())} in all, and FUSION refuses that{hint}",
        )
    ]


def _guard_slot_problems(values: _Values) -> list[Problem]:
    general = values.get((GENERAL, "guard_slots"))
    spectrum = values.get(("spectrum_settings", "guard_slots"))
    if general is None or spectrum is None or general == spectrum:
        return []
    return [
        Problem(
            "spectrum_settings",
            "guard_slots",
            f"is {spectrum} but general_settings.guard_slots is {general}; FUSION reads this one "
            "last, so set both to the same value",
        )
    ]


_CROSS_CHECKS: tuple[Callable[[_Values], list[Problem]], ...] = (
    _erlang_problems,
    _split_problems,
    _guard_slot_problems,
)


def _unknown_key_warning(section: str, key: str) -> Problem:
    homes = _SECTIONS_OF_KEY.get(key)
    if homes:
        where = ", ".join(f"[{home}]" for home in homes)
        return Problem(section, key, f"FUSION reads {key} from {where}, not from here")
    return Problem(
        section, key, "not a key fusion_jupyter knows; passed to the simulator unchecked"
    )


def _warnings(config: Config) -> list[Problem]:
    warnings = []
    for section in config:
        for key, value in _section_of(config, section).items():
            if (section, key) not in _ENTRIES:
                warnings.append(_unknown_key_warning(section, key))
            if isinstance(value, str) and "%" in value:
                warnings.append(
                    Problem(
                        section,
                        key,
                        "contains '%': FUSION reads INI files with %-interpolation and may "
                        "fail on or change this value",
                    )
                )
    return warnings


def _section_of(config: Config, name: str) -> Mapping[str, Any]:
    entries = config.get(name)
    return entries if isinstance(entries, Mapping) else {}


def _evaluate(config: Config) -> tuple[ValidationResult, _Values]:
    errors = _safety_problems(config)
    values: _Values = {}
    for entry in SCHEMA:
        raw = _section_of(config, entry.section).get(entry.key)
        if raw is None and not entry.required:
            continue
        value, problem = _read_entry(entry, raw)
        if problem:
            errors.append(problem)
        else:
            values[(entry.section, entry.key)] = value
    for cross_check in _CROSS_CHECKS:
        errors += cross_check(values)
    return ValidationResult(errors=errors, warnings=_warnings(config)), values


def validate(config: Config) -> ValidationResult:
    """Check every key the schema knows (type, range, presence) and how keys fit together.

    Errors are what would make FUSION or the built-in simulator fail or misbehave;
    unknown keys are warnings, since FUSION has more keys than this schema.
    """
    return _evaluate(config)[0]


def typed(config: Config) -> dict[str, Any]:
    """The known keys as Python values, flat (key -> value) the way FUSION flattens them.

    An absent optional key gets its schema default (None when it has none), so the
    simulator can index every schema key. JSON values are dicts with string keys.
    Raises ValidationFailed with every error when the config is invalid.
    """
    result, values = _evaluate(config)
    if not result.valid:
        raise ValidationFailed(result.errors)
    flat: dict[str, Any] = {}
    for (_, key), value in values.items():
        flat.setdefault(key, value)
    for entry in SCHEMA:
        flat.setdefault(entry.key, entry.default)
    return flat


def erlang_points(source: Mapping[str, Any]) -> list[float]:
    """The traffic loads a run simulates: start, start + step, ... up to and including stop.

    Accepts a Config or the flat output of ``typed``. Each point is computed as
    ``start + i * step`` (no running sum) and rounded to 9 decimals, so 0.1 steps give
    0.3 and not 0.30000000000000004.
    """
    found = general_values(source, ("erlang_start", "erlang_stop", "erlang_step"))
    values: _Values = {(GENERAL, key): value for key, value in found.items()}
    problems = _erlang_problems(values)
    if problems:
        raise ValidationFailed(problems)
    start, stop, step = found.values()
    return [round(start + i * step, 9) for i in range(_erlang_count(start, stop, step))]


def general_values(source: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    """A few ``general_settings`` keys as Python values, without typing the whole config.

    Accepts a Config or the flat output of ``typed``; an absent optional key gives its
    schema default. Raises ValidationFailed naming each key that is wrong.
    """
    nested = source.get(GENERAL)
    general = nested if isinstance(nested, Mapping) else source
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for key in keys:
        entry = _ENTRIES[(GENERAL, key)]
        raw = general.get(key)
        if raw is None and not entry.required:
            values[key] = entry.default
            continue
        value, problem = _read_entry(entry, raw)
        problems += [problem] if problem else []
        values[key] = value
    if problems:
        raise ValidationFailed(problems)
    return values


# --------------------------------------------------------------------------- INI text


class _CaseSensitiveParser(configparser.ConfigParser):
    """FUSION keys are case-sensitive to us: keep them as written."""

    def optionxform(self, optionstr: str) -> str:
        return optionstr


def _unrepr(text: str) -> str:
    # ParsingError keeps repr(line); show the line itself.
    try:
        return str(ast.literal_eval(text)).strip()
    except (ValueError, SyntaxError):
        return text


def _parse_problem(exc: configparser.Error) -> Problem:
    if isinstance(exc, configparser.DuplicateOptionError):
        return Problem(exc.section, exc.option, f"key given twice (line {exc.lineno})")
    if isinstance(exc, configparser.DuplicateSectionError):
        return Problem(exc.section, "", f"section given twice (line {exc.lineno})")
    if isinstance(exc, configparser.MissingSectionHeaderError):
        return Problem("", "", f"line {exc.lineno}: a key before any [section] header")
    if isinstance(exc, configparser.ParsingError):
        lines = "; ".join(
            f"line {number}: cannot read {_unrepr(text)!r}" for number, text in exc.errors
        )
        return Problem("", "", lines)
    return Problem("", "", str(exc))


def parse_ini(text: str) -> Config:
    """INI text as a Config, raw strings kept exactly (no interpolation, keys as written)."""
    parser = _CaseSensitiveParser(interpolation=None, default_section=_NO_DEFAULT_SECTION)
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        raise ValidationFailed([_parse_problem(exc)]) from exc
    return {section: dict(parser[section]) for section in parser.sections()}


def render_ini(config: Config) -> str:
    """The config as INI text that parses back to exactly ``config``.

    By construction: ``check_values_safe`` admits only names and one-line, untrimmed
    values that ConfigParser reads back unchanged, and every ``key = value`` line is
    written as is. (Parsing the text again here cost 0.55 ms a run, a third of a
    1,000-run sweep's creation; the tests parse odd and random values back instead.)
    """
    check_values_safe(config)
    blocks = [_FROZEN_HEADER]
    for section, entries in config.items():
        lines = [f"[{section}]"]
        lines += [f"{key} = {value}" if value else f"{key} =" for key, value in entries.items()]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable, not only the file's bytes.
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write_atomically(text: str, path: Path, *, durable: bool) -> None:
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    temp_path = Path(temporary)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        temp_path.chmod(0o444)
        temp_path.replace(path)
    except BaseException:
        temp_path.unlink(missing_ok=True)
        raise
    if durable:
        _fsync_directory(path.parent)


def write_frozen(config: Config, path: Path, *, durable: bool = True) -> None:
    """Write a run's ``config.ini``: atomic, read-only, and proven to read back exactly.

    Readers never see a half-written file (temp file + rename). The text is checked
    to parse back to ``config`` before it is written, and the bytes on disk are
    compared with it afterwards; on any difference the file is removed and
    ValidationFailed raised. ``durable=False`` skips the fsyncs, for callers that
    write many files and flush them together (see :func:`flush_to_disk`).
    """
    text = render_ini(config)
    _write_atomically(text, path, durable=durable)
    if path.read_text(encoding="utf-8") != text:
        path.unlink(missing_ok=True)
        raise ValidationFailed([Problem("", "", f"{path} did not read back as written")])


def flush_to_disk() -> None:
    """Make every file written so far durable at once (cheaper than one fsync each)."""
    os.sync()


# --------------------------------------------------------------------------- templates


@dataclass(frozen=True)
class TemplateInfo:
    """A template as listed: its name, its one-line description and where it lives."""

    name: str
    description: str
    path: Path

    def to_dict(self) -> dict[str, str]:
        """JSON shape for ``GET templates``."""
        return {**asdict(self), "path": str(self.path)}


def _read_description(path: Path) -> str:
    try:
        with path.open(encoding="utf-8") as handle:
            first = handle.readline().strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return (
        first[len(_DESCRIPTION_PREFIX) :].strip() if first.startswith(_DESCRIPTION_PREFIX) else ""
    )


def _key_comments(text: str) -> dict[tuple[str, str], str]:
    """The comment lines directly above each key: the key's help text in the widgets."""
    comments: dict[tuple[str, str], str] = {}
    section, pending = "", []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(("#", ";")):
            pending.append(stripped.lstrip("#;").strip())
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1]
        elif stripped and line[:1] not in (" ", "\t"):
            key = re.split(r"[=:]", stripped, maxsplit=1)[0].strip()
            if pending:
                comments[(section, key)] = " ".join(pending)
        pending = []
    return comments


def _describe_key(section: str, key: str, raw: str, comment: str | None) -> dict[str, Any]:
    entry = _ENTRIES.get((section, key))
    return {
        "value": raw,
        "type": entry.kind if entry else _guess_type(raw),
        "description": comment or (entry.description if entry else ""),
        "required": bool(entry and entry.required),
    }


class TemplateLibrary:
    """Named INI templates: the user's directories first, then the shipped ones.

    A name found in an earlier directory shadows the same name later, so a user can
    replace ``minimal`` without touching the package.
    """

    def __init__(self, search_path: Sequence[Path | str] = ()) -> None:
        self.search_path: tuple[Path, ...] = (
            *(Path(directory).expanduser() for directory in search_path),
            SHIPPED_TEMPLATES_DIR,
        )
        self._parsed: dict[Path, tuple[int, Config]] = {}

    def _paths(self) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for directory in self.search_path:
            if not directory.is_dir():
                continue
            for path in sorted(directory.glob("*.ini")):
                if _is_template_name(path.stem) and path.is_file():
                    found.setdefault(path.stem, path)
        return found

    def list(self) -> builtins.list[TemplateInfo]:
        """Every visible template, sorted by name."""
        return [
            TemplateInfo(name, _read_description(path), path)
            for name, path in sorted(self._paths().items())
        ]

    def get(self, name: str) -> TemplateInfo:
        """One template; NotFound lists the names that do exist."""
        if not _is_template_name(name):
            rule = "letters, digits, '_', '-' and '.', not starting with '.'"
            raise ValidationFailed(
                [Problem("template", "", f"{name!r} is not a template name: {rule}")]
            )
        for directory in self.search_path:
            path = directory / f"{name}.ini"
            if path.is_file():
                return TemplateInfo(name, _read_description(path), path)
        available = sorted(self._paths())
        raise NotFound(
            f"no template named {name!r}; available: {', '.join(available) or 'none'}",
            details={"template": name, "available": available},
        )

    def text(self, name: str) -> str:
        """The template file as written, comments included."""
        return self.get(name).path.read_text(encoding="utf-8")

    def load(self, name: str) -> Config:
        """The template parsed into a Config (a fresh copy; parsed once per file version)."""
        path = self.get(name).path
        stamp = path.stat().st_mtime_ns
        cached = self._parsed.get(path)
        if cached is None or cached[0] != stamp:
            try:
                cached = (stamp, parse_ini(path.read_text(encoding="utf-8")))
            except ValidationFailed as exc:
                raise ValidationFailed(
                    exc.problems, f"template {name!r} is not valid INI: {exc}"
                ) from exc
            self._parsed[path] = cached
        return {section: dict(entries) for section, entries in cached[1].items()}

    def describe(self, name: str) -> dict[str, Any]:
        """What a generated form needs: per section and key its value, type and help text."""
        info = self.get(name)
        text = info.path.read_text(encoding="utf-8")
        comments = _key_comments(text)
        return {
            "name": info.name,
            "description": info.description,
            "sections": {
                section: {
                    key: _describe_key(section, key, raw, comments.get((section, key)))
                    for key, raw in entries.items()
                }
                for section, entries in parse_ini(text).items()
            },
        }


def _is_template_name(name: str) -> bool:
    return bool(_TEMPLATE_NAME_RE.fullmatch(name)) and not name.startswith(".")


__all__ = [
    "KNOWN_NETWORKS",
    "MAX_ERLANG_POINTS",
    "SCHEMA",
    "SHIPPED_TEMPLATES_DIR",
    "Config",
    "SchemaEntry",
    "TemplateInfo",
    "TemplateLibrary",
    "ValidationResult",
    "check_values_safe",
    "erlang_points",
    "merge",
    "normalize_overrides",
    "parse_ini",
    "render_ini",
    "typed",
    "validate",
    "write_frozen",
]
