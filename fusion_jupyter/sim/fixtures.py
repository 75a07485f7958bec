"""FUSION's regression fixtures, run with the built-in simulator the way FUSION runs them.

FUSION's own check (``tests/run_comparison.py``) takes each directory under
``tests/fixtures/expected_results``, loads its ``*_config.ini``, points
``mod_assumption_path`` at the directory's ``mod_formats.json``, fills a few defaults,
and runs it with its legacy runner (``fusion/sim/network_simulator.py``; the RL cases
through its RL workflow instead). It then compares every expected ``*_erlang.json``
with the produced one, key by key, skipping a fixed set of keys.

:func:`run_case` does the same with this simulator (``runner = network_simulator``)
and :func:`compare_documents` is that comparison with exact equality: a fixture is
identical only if every compared value is equal. This simulator's documented extra
keys (:data:`~fusion_jupyter.sim.outputs.ADDED_TOP_KEYS`,
:data:`~fusion_jupyter.sim.outputs.ADDED_ITERATION_KEYS`) are the only extras allowed.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fusion_jupyter.engine.errors import Problem, ValidationFailed
from fusion_jupyter.sim.fusion_ini import parse_text

#: Where FUSION keeps its fixtures, relative to its root.
FIXTURES_DIR = ("tests", "fixtures", "expected_results")
#: Cases FUSION's comparison runs through its RL workflow (``run_rl_simulation``).
RL_CASES = ("epsilon_greedy_bandit", "ucb_bandit", "ppo")
#: FUSION's comparison's IGNORE_KEYS: skipped by key or by dotted path.
IGNORE_KEYS = frozenset(
    {
        "route_times_max",
        "route_times_mean",
        "route_times_min",
        "sim_end_time",
        "switchover_times",
        "protection_switchovers",
        "protection_failures",
        "failure_induced_blocks",
        "ci_rate_block",
        "ci_percent_block",
    }
)
#: Parts of a dotted path that make FUSION's comparison skip it (substring matches).
SKIPPED_IN_PATH = ("link_usage_dict", "total_transponder_usage", "frag_dict")


def _skipped(key: str, path: str, *, expected_side: bool) -> bool:
    """FUSION's skip rule; its walk over the expected keys also skips ``link_usage``."""
    if key in IGNORE_KEYS or path in IGNORE_KEYS or key == "ci_percent_bit_rate_block":
        return True
    if key == ("link_usage" if expected_side else "link_usage_dict"):
        return True
    return any(part in path for part in SKIPPED_IN_PATH)


#: Defaults FUSION's comparison gives keys a fixture config lacks (section, key, value).
REGRESSION_DEFAULTS = (
    (
        "general_settings",
        "request_distribution",
        '{"25": 0.10, "50": 0.10, "100": 0.50, "200": 0.20, "400": 0.10}',
    ),
    ("rl_settings", "is_training", "False"),
)


@dataclass
class CaseResult:
    """One fixture: ``identical``, ``refused`` (with the problems) or ``different``."""

    name: str
    status: str
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    compared_files: int = 0


def fixtures_root(fusion_root: str | Path) -> Path:
    """FUSION's fixture directory under its root."""
    return Path(fusion_root).joinpath(*FIXTURES_DIR)


def discover(fusion_root: str | Path) -> list[Path]:
    """Every fixture directory, sorted by name as FUSION's comparison does."""
    return sorted(p for p in fixtures_root(fusion_root).iterdir() if p.is_dir())


def config_of(case: Path) -> Path:
    """The case's single ``*_config.ini``."""
    (found,) = case.glob("*_config.ini")
    return found


def case_overrides(case: Path) -> dict[str, str]:
    """What FUSION's comparison changes in a case's config: its own modulation file."""
    return {"mod_assumption_path": str(case / "mod_formats.json")}


def refusal_for_case(case: Path) -> list[Problem]:
    """Problems that come from how FUSION's comparison runs the case, not its config."""
    if case.name not in RL_CASES:
        return []
    return [
        Problem(
            "rl_settings",
            "path_algorithm",
            f"FUSION's comparison runs the case {case.name} through its reinforcement-learning "
            "workflow (run_rl_simulation, path_algorithm = epsilon_greedy_bandit); RL agents "
            "are not modelled by the built-in simulator",
        )
    ]


def with_defaults(raw: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """The raw config with FUSION's comparison defaults for absent keys."""
    out = {section: dict(entries) for section, entries in raw.items()}
    for section, key, value in REGRESSION_DEFAULTS:
        if not any(key in entries for entries in out.values()):
            out.setdefault(section, {})[key] = value
    return out


def run_case(case: Path, fusion_root: str | Path, output_dir: Path) -> CaseResult:
    """Run one fixture with the built-in simulator and compare its files with FUSION's."""
    # Imported here: the simulation modules pull numpy and networkx in.
    from fusion_jupyter.sim.load import params_from_config, read_config
    from fusion_jupyter.sim.outputs import OutputWriter
    from fusion_jupyter.sim.simulation import simulate

    started = time.perf_counter()
    refused = refusal_for_case(case)
    if refused:
        return CaseResult(case.name, "refused", [str(p) for p in refused])
    try:
        raw = with_defaults(read_config(config_of(case), case_overrides(case)))
        params = params_from_config(raw, fusion_root=fusion_root, runner="network_simulator")
    except ValidationFailed as exc:
        return CaseResult(case.name, "refused", [str(p) for p in exc.problems])
    simulate(params, OutputWriter(output_dir))
    seconds = time.perf_counter() - started
    failures: list[str] = []
    expected_files = sorted(case.glob("*_erlang.json"))
    for expected in expected_files:
        produced = output_dir / expected.name.removeprefix(case.name + "_")
        if not produced.is_file():
            failures.append(f"{expected.name}: expected file not produced")
            continue
        failures.extend(
            f"{expected.name}:{line}"
            for line in compare_documents(_load(expected), _load(produced))
        )
    status = "different" if failures else "identical"
    return CaseResult(case.name, status, failures, seconds, len(expected_files))


#: Values a random variant draws for each key a case's INI has (None: keep the INI's).
VARIANT_CHOICES: dict[str, tuple[Any, ...]] = {
    "k_paths": (None, 1, 2, 3, 4),
    "cores_per_link": (None, 1, 2, 3, 7),
    "c_band": (None, 16, 40, 100),
    "l_band": (None, 16, 40, 100),
    "spectrum_priority": (None, "CSB", "BSC"),
}
#: Routing and spectrum methods a variant may switch to, with ``methods``: every fixture
#: allocates first fit, and all but two route k shortest paths, so the fixtures alone
#: never cross the other methods with the physical layer, grooming or C+L.
METHOD_CHOICES: dict[str, tuple[Any, ...]] = {
    "route_method": (None, "shortest_path", "k_shortest_path"),
    "allocation_method": (None, "first_fit", "last_fit", "best_fit", "priority_first"),
}
VARIANT_LOADS = (300, 600, 1000, 1500, 2000, 3000)
VARIANT_REQUESTS = (80, 160, 240, 400)


def random_variant(case: Path, rng: random.Random, *, methods: bool = False) -> list[str]:
    """Random command-line overrides of keys ``case``'s INI has: loads, iterations,
    requests, k, cores, band slots, spectrum priority, and with ``methods`` the routing
    and allocation methods too (drawn after the others, so that the variants drawn
    without them stay the same for a seed).

    Only keys the INI has: FUSION drops a flag for any other key, and the built-in
    simulator refuses it. Used to compare the built-in simulator with FUSION
    (benchmarks/fusion_differential.py) and its compiled core with the pure one.
    """
    present = {
        key for entries in parse_text(config_of(case).read_text()).values() for key in entries
    }
    start = rng.choice(VARIANT_LOADS)
    stop = start + rng.choice((0, 0, start))
    flags: dict[str, Any] = {
        "erlang_start": start,
        "erlang_stop": stop,
        "erlang_step": max(stop - start, 1),
        "max_iters": rng.choice((1, 2, 3)),
        "num_requests": rng.choice(VARIANT_REQUESTS),
    }
    choices = {**VARIANT_CHOICES, **METHOD_CHOICES} if methods else VARIANT_CHOICES
    for key, values in choices.items():
        value = rng.choice(values)
        if key in present and value is not None:
            flags[key] = value
    return [f"--{key}={value}" for key, value in flags.items() if key in present]


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def compare_documents(expected: Any, actual: Any) -> list[str]:
    """FUSION's fixture comparison with exact equality; one line per difference."""
    from fusion_jupyter.sim.outputs import ADDED_ITERATION_KEYS, ADDED_TOP_KEYS

    allowed_extra = {*ADDED_TOP_KEYS, *ADDED_ITERATION_KEYS}
    failures: list[str] = []

    def walk(old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> None:
        for key in old:
            where = f"{path}.{key}" if path else key
            if _skipped(key, where, expected_side=True):
                continue
            if key not in new:
                failures.append(f"{where} missing in actual")
            elif isinstance(old[key], dict) and isinstance(new[key], dict):
                walk(old[key], new[key], where)
            elif not _equal(old[key], new[key]):
                failures.append(f"{where} expected {old[key]!r} got {new[key]!r}")
        for key in new:
            where = f"{path}.{key}" if path else key
            if _skipped(key, where, expected_side=False) or key in old:
                continue
            if key not in allowed_extra:
                failures.append(f"{where} extra in actual")

    walk(expected, actual, "")
    return failures


def link_usage_differences(expected: Any, actual: Any) -> list[str]:
    """Where two documents' ``link_usage`` (and each iteration's ``link_usage_dict``)
    differ, one line per link; FUSION's comparison skips them.

    The fixture files hold an earlier FUSION's figures for some cases, which the
    FUSION at this commit does not reproduce, so only documents of the same FUSION
    (a live run beside the built-in simulator) are compared on them.
    """
    pairs = [("link_usage", expected.get("link_usage"), actual.get("link_usage"))]
    for iteration, stats in expected.get("iter_stats", {}).items():
        theirs = actual.get("iter_stats", {}).get(iteration, {}).get("link_usage_dict")
        pairs.append(
            (f"iter_stats.{iteration}.link_usage_dict", stats.get("link_usage_dict"), theirs)
        )
    failures: list[str] = []
    for where, old, new in pairs:
        old, new = old or {}, new or {}
        failures.extend(
            f"{where}.{link} expected {old.get(link)!r} got {new.get(link)!r}"
            for link in {**old, **new}
            # As JSON: FUSION's throughput of a link no request left is the int 0.
            if json.dumps(old.get(link)) != json.dumps(new.get(link))
        )
    return failures


def _equal(old: Any, new: Any) -> bool:
    """Equal values; bool is not a number here (True must not equal 1.0)."""
    if isinstance(old, bool) or isinstance(new, bool):
        return type(old) is type(new) and old == new
    if isinstance(old, list) and isinstance(new, list):
        return len(old) == len(new) and all(_equal(o, n) for o, n in zip(old, new, strict=True))
    return bool(old == new)
