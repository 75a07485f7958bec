"""Validation: every problem FUSION (or the built-in simulator) would have with a config.

Errors are what would make FUSION refuse the file, fail, or run without end; warnings
are what FUSION accepts but reads differently from what the file seems to say (an
unknown key it ignores, a boolean it reads as False). Messages use FUSION's own words
where FUSION has them, so the reason a user reads here is the reason FUSION would give.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

from fusion_jupyter.engine.config.ini import Config, safety_problems
from fusion_jupyter.engine.config.paths import DataPaths, names_a_file
from fusion_jupyter.engine.config.schema import (
    ENTRIES,
    GENERAL,
    SCHEMA,
    SECTIONS,
    SchemaEntry,
    is_process_section,
)
from fusion_jupyter.engine.config.values import PARSERS, is_plain_bool
from fusion_jupyter.engine.errors import Problem, ValidationFailed
from fusion_jupyter.sim.bands import overlap

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    _Values = dict[tuple[str, str], Any]

MAX_ERLANG_POINTS = 10_000
_ERLANG_EPSILON = 1e-9

#: Keys FUSION's loader lets pass but its simulation cannot run without.
_NEEDED_BY_RUN: dict[tuple[str, str], str] = {
    (GENERAL, "request_distribution"): "FUSION fails with KeyError when it generates requests",
    ("routing_settings", "k_paths"): "FUSION fails with KeyError when it routes",
}
#: Keys FUSION reads from one section and flattens, so a copy elsewhere is ignored.
_SHADOWED: tuple[tuple[str, str], ...] = (
    ("routing_settings", "route_method"),
    ("spectrum_settings", "allocation_method"),
    ("spectrum_settings", "guard_slots"),
)


class ValidationResult:
    """Every error and warning found in a config, so a user can fix them all at once.

    A plain class rather than a dataclass, for the start-up of the simulator's command
    line (:class:`~fusion_jupyter.engine.config.schema.SchemaEntry`); the lists are the
    caller's to extend (a simulator's own checks are added to ``errors``).
    """

    __slots__ = ("errors", "warnings")

    def __init__(
        self, errors: list[Problem] | None = None, warnings: list[Problem] | None = None
    ) -> None:
        self.errors: list[Problem] = [] if errors is None else errors
        self.warnings: list[Problem] = [] if warnings is None else warnings

    def __repr__(self) -> str:
        return f"ValidationResult(errors={self.errors!r}, warnings={self.warnings!r})"

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


def _section_of(config: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    entries = config.get(name)
    return entries if isinstance(entries, Mapping) else {}


def read_entry(entry: SchemaEntry, raw: Any) -> tuple[Any, Problem | None]:
    """Convert one raw value by its schema entry; a Problem instead when it is wrong."""
    if raw is None:
        return None, Problem(
            entry.section,
            entry.key,
            f"Missing required option '{entry.key}' in section [{entry.section}] "
            "(FUSION refuses the file without it)",
        )
    try:
        value = PARSERS[entry.kind](str(raw))
    except ValueError as exc:
        return None, Problem(entry.section, entry.key, str(exc))
    return _check(entry, value)


def _check(entry: SchemaEntry, value: Any) -> tuple[Any, Problem | None]:
    # A value already typed (the flat output of ``typed``) is only range-checked.
    message = entry.check(value) if entry.check else None
    return value, Problem(entry.section, entry.key, message) if message else None


# --------------------------------------------------------------------------- cross checks


def _erlang_count(start: float, stop: float, step: float) -> float:
    # The epsilon keeps a stop that is a whole number of steps away from being lost
    # to float noise, e.g. (0.3 - 0.1) / 0.1 == 1.9999999999999998. A float, because
    # a tiny step overflows to inf, which must be refused rather than converted.
    return math.floor((stop - start) / step + _ERLANG_EPSILON) + 1 if step else math.inf


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
    if step is None:
        return []
    with_overflow = (stop - start) / step
    if not math.isfinite(with_overflow) or _erlang_count(start, stop, step) > MAX_ERLANG_POINTS:
        return [
            Problem(
                GENERAL,
                "erlang_step",
                f"{step:g} gives more than {MAX_ERLANG_POINTS} traffic loads from "
                f"{start:g} to {stop:g}; at most {MAX_ERLANG_POINTS}",
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


_CROSS_CHECKS: tuple[Callable[[_Values], list[Problem]], ...] = (
    _erlang_problems,
    _split_problems,
)


def _band_overlap(values: _Values) -> list[Problem]:
    """Where the L band reaches into the C band (:mod:`fusion_jupyter.sim.bands`): FUSION
    runs the config until two lightpaths of the two bands overlap, which depends on the
    traffic, so it is a warning."""
    l_band = values.get(("spectrum_settings", "l_band"))
    bw_per_slot = values.get(("topology_settings", "bw_per_slot"))
    if not l_band or not bw_per_slot or not values.get(("spectrum_settings", "c_band")):
        return []
    where = overlap(l_band, bw_per_slot)
    if where is None:
        return []
    message = (
        f"{where}: FUSION's multi-band GSNR raises 'math domain error' as soon as a "
        "lightpath of one band overlaps one of the other in frequency, and the built-in "
        "simulator stops there as FUSION does"
    )
    return [Problem("spectrum_settings", "l_band", message)]


#: Checks across keys that warn rather than refuse: what FUSION runs until the traffic
#: makes it fail.
_CROSS_WARNINGS: tuple[Callable[[_Values], list[Problem]], ...] = (_band_overlap,)


# --------------------------------------------------------------------------- warnings


def _unknown_problem(config: Config, section: str, key: str) -> Problem | None:
    if (section, key) in ENTRIES:
        return None
    if is_process_section(section):
        return None
    if section not in SECTIONS:
        return Problem(section, key, f"FUSION does not read section [{section}]; ignored")
    homes = [e.section for e in SCHEMA if e.key == key and e.section in config]
    also = f" (it reads {key} from [{homes[0]}])" if homes else ""
    return Problem(section, key, f"not a key FUSION reads in [{section}]; ignored{also}")


def _shadow_problem(config: Config, section: str, key: str) -> Problem | None:
    if (section, key) not in _SHADOWED:
        return None
    used = _section_of(config, GENERAL).get(key)
    value = _section_of(config, section).get(key)
    if used is None or value is None or str(used) == str(value):
        return None
    return Problem(
        section,
        key,
        f"is {value!r} but FUSION uses general_settings.{key} = {used!r}; set both alike",
    )


def _value_warning(section: str, key: str, value: Any) -> Problem | None:
    entry = ENTRIES.get((section, key))
    if entry is None or not isinstance(value, str):
        return None
    if entry.kind == "bool" and not is_plain_bool(value):
        return Problem(
            section, key, f"FUSION reads {value!r} as False (only true, yes and 1 are True)"
        )
    return None


def _process_sections(config: Config) -> list[Problem]:
    return [
        Problem(
            section,
            "",
            f"FUSION runs [{section}] as a further simulation process with these keys over "
            "the others'",
        )
        for section in config
        if is_process_section(section)
    ]


def config_warnings(config: Config) -> list[Problem]:
    """What FUSION would read otherwise than it is written: sections it runs as further
    processes, keys it does not read or reads elsewhere, truth values it reads as False."""
    warnings = _process_sections(config)
    for section in config:
        for key, value in _section_of(config, section).items():
            for check in (
                _unknown_problem(config, section, key),
                _shadow_problem(config, section, key),
                _value_warning(section, key, value),
            ):
                if check:
                    warnings.append(check)
    return warnings


# --------------------------------------------------------------------------- errors


def _percent_problems(config: Config) -> list[Problem]:
    # FUSION reads its file with ConfigParser's %-interpolation: a lone '%' in a value it
    # reads raises InterpolationSyntaxError, and '%%' reads back as '%'.
    return [
        Problem(
            section,
            key,
            "contains '%', which FUSION's INI reader takes for an interpolation and "
            "refuses or changes",
        )
        for section in config
        for key, value in _section_of(config, section).items()
        if (section, key) in ENTRIES and isinstance(value, str) and "%" in value
    ]


def _path_problems(config: Config, paths: DataPaths) -> list[Problem]:
    problems = []
    network = _section_of(config, "topology_settings").get("network")
    if isinstance(network, str):
        message = paths.network_problem(network)
        if message:
            problems.append(Problem("topology_settings", "network", message))
    mod_path = _section_of(config, GENERAL).get("mod_assumption_path")
    if isinstance(mod_path, str) and mod_path != "None":
        message = paths.locate(mod_path)[1]
        if message:
            problems.append(Problem(GENERAL, "mod_assumption_path", message))
    return problems


def _needed_problems(config: Config) -> list[Problem]:
    return [
        Problem(section, key, f"required: {why}")
        for (section, key), why in _NEEDED_BY_RUN.items()
        if _section_of(config, section).get(key) is None
    ]


def _structure_problems(config: Config) -> list[Problem]:
    if GENERAL in config:
        return []
    return [
        Problem(
            GENERAL,
            "",
            f"Missing required '{GENERAL}' section in config file (FUSION refuses the file)",
        )
    ]


def _evaluate(config: Config, paths: DataPaths) -> tuple[ValidationResult, _Values]:
    errors = safety_problems(config) + _structure_problems(config)
    values: _Values = {}
    for entry in SCHEMA:
        raw = _section_of(config, entry.section).get(entry.key)
        if raw is None and not entry.required:
            continue
        value, problem = read_entry(entry, raw)
        if problem:
            errors.append(problem)
        else:
            values[(entry.section, entry.key)] = value
    errors += _needed_problems(config) + _percent_problems(config)
    errors += _path_problems(config, paths)
    for cross_check in _CROSS_CHECKS:
        errors += cross_check(values)
    warnings = config_warnings(config)
    for cross_warning in _CROSS_WARNINGS:
        warnings += cross_warning(values)
    return ValidationResult(errors=errors, warnings=warnings), values


def validate(config: Config, paths: DataPaths | None = None) -> ValidationResult:
    """Check every key FUSION reads (presence, type, range) and how keys fit together.

    ``paths`` says where the config may point for files (default: nowhere but FUSION's
    named networks; relative paths unchecked).
    """
    return _evaluate(config, paths or DataPaths())[0]


def validate_for(
    config: Config, paths: DataPaths, simulator_checks: Callable[[Config], list[Problem]]
) -> ValidationResult:
    """:func:`validate`, then a simulator's own checks of ``config`` (what it cannot run).

    The simulator's checks read the topology and modulation files, so they are skipped
    when a file the config names was refused: their errors would tell what a file the
    config may not name holds. The engine and the built-in simulator's command line both
    check a config this way, so they refuse the same configs.
    """
    result = validate(config, paths)
    if not any(names_a_file(problem) for problem in result.errors):
        result.errors.extend(simulator_checks(config))
    return result


def typed(config: Config, paths: DataPaths | None = None) -> dict[str, Any]:
    """The known keys as Python values, flat (key -> value) the way FUSION flattens them.

    ``general_settings`` comes first, so its ``route_method`` wins over a copy in
    ``[routing_settings]`` as in FUSION. An absent optional key gets its schema default
    (None when it has none), so the simulator can index every schema key. Raises
    ValidationFailed with every error when the config is invalid.
    """
    result, values = _evaluate(config, paths or DataPaths())
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
    return [round(start + i * step, 9) for i in range(int(_erlang_count(start, stop, step)))]


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
        entry = ENTRIES[(GENERAL, key)]
        raw = general.get(key)
        if raw is None and not entry.required:
            values[key] = entry.default
            continue
        value, problem = (
            read_entry(entry, raw) if isinstance(raw, str | None) else _check(entry, raw)
        )
        problems += [problem] if problem else []
        values[key] = value
    if problems:
        raise ValidationFailed(problems)
    return values
