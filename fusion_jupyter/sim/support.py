"""What the built-in simulator models, and a check that refuses everything else.

The config is read as FUSION's loader reads it (:mod:`fusion_jupyter.sim.fusion_ini`):
``route_method`` and ``allocation_method`` come from ``[general_settings]``, ``k_paths``
from ``[routing_settings]``. The model is FUSION's legacy engine (its routing and
allocation methods, physical layer and slicing as the README beside this file lists),
on any of FUSION's named networks or a topology file. A config that asks for anything
else would silently get different decisions, so :func:`check_supported` names each such
key, its value and what is supported; the engine calls it when it validates a config for
the built-in simulator, and the command line before running.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from fusion_jupyter.engine.errors import Problem
from fusion_jupyter.sim import fusion_ini
from fusion_jupyter.sim.modulation import (
    ModulationError,
    available_assumptions,
    load_mod_table,
    resolve_mod_path,
)
from fusion_jupyter.sim.spectrum import PRIORITY_CORES
from fusion_jupyter.sim.topology import (
    CORE_NODE_FILES,
    SHIPPED_NETWORKS,
    TopologyError,
    parse_topology,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from _typeshed import StrPath

    from fusion_jupyter.engine.config.validation import ValidationResult

RawConfig = Mapping[str, Mapping[str, str]]

#: Routing methods modelled; FUSION runs ``shortest_path`` as k_shortest_path with k = 1,
#: and ``external_ksp`` reads its paths from FUSION's pre-calculated files.
ROUTE_METHODS = ("k_shortest_path", "shortest_path", "cong_aware", "external_ksp", "xt_aware")
#: FUSION's per-slot formats and SNR from its pre-calculated files.
EXTERNAL_SNR = "snr_e2e_external_resources"
#: FUSION's XT check is modelled with these routing and allocation settings (each key's
#: values). First fit and k shortest paths were found identical to FUSION too, by the
#: differential check with --methods: FUSION places a lightpath by the configured search
#: on each candidate path in turn, then checks it.
XT_COMBINATION: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("route_method", ("xt_aware", "k_shortest_path", "shortest_path")),
    ("allocation_method", ("priority_first", "first_fit")),
    ("snr_type", ("xt_calculation",)),
)
#: The settings that ask for that combination: FUSION's XT-aware routing, or its XT check.
XT_TRIGGERS = (("route_method", "xt_aware"), ("snr_type", "xt_calculation"))
#: Settings FUSION accepts and then always crashes on at this commit, and how it fails:
#: the built-in simulator refuses those it does not model rather than imitate them, and
#: the real FUSION's profile refuses them all before launch (:func:`fusion_crashes`).
FUSION_CRASHES: dict[tuple[str, Any], str] = {
    ("route_method", "least_congested"): (
        "FUSION's least_congested routing raises KeyError: 0 on its first request at this "
        "commit (its router hands the controller path records where paths are expected)"
    ),
    # Measured on FUSION's eight snr_recheck fixtures; modelled with the one-line fix.
    ("snr_recheck", True): (
        "FUSION crashes on it at this version (TypeError: get_overlapping_lightpaths() got "
        "an unexpected keyword argument 'include_all_bands')"
    ),
    **{
        ("failure_type", failure): (
            "FUSION's failure injection raises 'TypeError: unsupported format string passed "
            "to tuple.__format__' when it schedules the failure, before the first request "
            "(simulation.py, _schedule_failure, at this commit)"
        )
        for failure in ("link", "node", "srlg", "geo")
    },
}
#: Spectrum bands FUSION knows besides C (``fusion/core/simulation.py``).
OTHER_BANDS = ("l_band", "s_band", "o_band", "e_band")


class Supported:
    """One flat key whose value must be one of ``allowed`` (as FUSION's loader typed it).

    A plain class (see :class:`~fusion_jupyter.sim.modulation.ModFormat`)."""

    __slots__ = ("allowed", "default", "key", "meaning")

    def __init__(
        self, key: str, allowed: tuple[Any, ...], meaning: str, default: Any = None
    ) -> None:
        self.key = key
        self.allowed = allowed
        #: What the allowed values mean, for the message.
        self.meaning = meaning
        #: The value an absent key has in FUSION's engine (``engine_props.get``).
        self.default = default


#: Keys that change FUSION's decisions, and the values this model implements.
SUPPORTED: tuple[Supported, ...] = (
    Supported(
        "route_method",
        ROUTE_METHODS,
        "k shortest paths by length, ranked by congestion with snr_type = None, FUSION's "
        f"pre-calculated ones with snr_type = {EXTERNAL_SNR}, or XT-aware routing with "
        "priority_first and xt_calculation",
    ),
    Supported(
        "allocation_method",
        ("first_fit", "last_fit", "best_fit", "priority_first"),
        "first fit; last fit on the fixed grid; best fit without guard slots; first fit in "
        "FUSION's priority core order on 7 or more cores",
    ),
    Supported(
        "snr_type",
        ("None", "gsnr", EXTERNAL_SNR, "xt_calculation"),
        "the reach table only, FUSION's GSNR with dynamic_lps = True, its pre-calculated "
        "formats and SNR with external_ksp, the fixed grid and dynamic_lps, or its XT check "
        "with xt_aware routing",
    ),
    Supported(
        "dynamic_lps",
        (False, True),
        "FUSION's static slicing, or dynamic lightpath slicing with snr_type = gsnr",
    ),
    Supported(
        "is_grooming_enabled",
        (False, True),
        "grooming on the fixed grid with snr_type = gsnr, dynamic_lps and can_partially_serve",
    ),
    Supported(
        "fixed_grid",
        (False, True),
        "the flexible grid, or the fixed grid with grooming (is_grooming_enabled = True) "
        f"or with snr_type = {EXTERNAL_SNR}",
    ),
    Supported(
        "spectrum_priority",
        ("None", "CSB", "BSC"),
        "cores, then bands, then slots: FUSION's default order, which CSB also selects; BSC: "
        "bands, then cores",
    ),
    Supported(
        "can_partially_serve",
        (False, True),
        "partial service of a dynamically sliced request (with dynamic_lps = True)",
    ),
    Supported(
        "snr_recheck",
        (False, True),
        "FUSION's re-evaluation of the lightpaths a new one overlaps, as FUSION computes it "
        "once its call to get_overlapping_lightpaths is fixed (see the simulator's README)",
    ),
    Supported("failure_type", ("none",), "no failure injection", default="none"),
    Supported(
        "save_start_end_slots",
        (False,),
        "result files without FUSION's per-lightpath start and end slot lists",
        default=False,
    ),
    Supported("multi_fiber", (False,), "one fibre per link"),
    Supported("const_link_weight", (False,), "routing by length in km"),
    Supported("deploy_model", (False,), "no trained model"),
)


def check_config(
    config: dict[str, dict[str, str]], fusion_root: StrPath | None = None
) -> ValidationResult:
    """Everything that keeps the simulator from running ``config``, as the command line
    sees it (the errors), and what FUSION would quietly read otherwise than written (the
    warnings: a key it does not read, a truth value it reads as False).

    FUSION's loader's refusals (missing required keys) come first and alone, as FUSION
    stops there. Then the checks a run submitted to the engine gets, through the same
    function (``engine.config.validate_for``): the config schema's (each value's type
    and range, the Erlang range, whether ``num_requests`` splits by the distribution)
    and :func:`check_supported`. Without the schema's, FUSION's loader would have let
    ``k_paths = -1`` through to a run of nonsense, and dropped ``k_paths = abc`` for
    the default without a word.
    """
    # Imported here: only the command line's check needs the engine's schema.
    from fusion_jupyter.engine.config.paths import DataPaths
    from fusion_jupyter.engine.config.validation import (
        ValidationResult,
        config_warnings,
        validate_for,
    )

    flat = fusion_ini.flatten(config)
    if flat.problems:
        # FUSION's loader stops here, but the warnings still count: a misspelt key is
        # often why a required one is missing.
        return ValidationResult(errors=flat.problems, warnings=config_warnings(config))

    # The command line reads its user's own files: no directory is off limits there
    # (the engine confines paths for a server's users).
    paths = DataPaths(fusion_root=fusion_root, allowed=("/",))
    return validate_for(config, paths, lambda checked: check_supported(checked, fusion_root))


def check_supported(config: RawConfig, fusion_root: StrPath | None = None) -> list[Problem]:
    """Every well-formed setting of ``config`` this model does not implement, with why.

    ``config`` is the raw INI mapping (section -> key -> string), read as FUSION's loader
    reads it; ``fusion_root`` is FUSION's root, against which FUSION resolves relative
    data paths (None: the shipped copy of FUSION's data files). Missing keys and
    malformed values are left to the config validation (the engine's, or
    :func:`check_config` on the command line), so the two never report one problem twice.
    """
    values = fusion_ini.flatten(config).values
    problems = [p for rule in SUPPORTED if (p := _check_rule(values, rule))]
    checks = (_check_bands, _check_network, _check_physical, _check_fits)
    for check in (*checks, _check_guard_slots, _check_steps):
        problems.extend(check(values))
    problems.extend(check_external(values, fusion_root))
    problems.extend(check_xt_aware(values))
    problems.extend(_check_modulation(values, fusion_root))
    return problems


def _problem(key: str, message: str) -> Problem:
    return Problem(fusion_ini.where(key), key, message)


def _shown(value: Any) -> str:
    return str(value)


def _required(
    values: Mapping[str, Any], required: tuple[tuple[str, Any, str], ...], context: str
) -> list[Problem]:
    """A problem for each (key, wanted value, why) that ``values`` departs from; an
    absent key counts as False."""
    problems = []
    for key, wanted, why in required:
        value = values.get(key)
        if value != wanted and not (wanted is False and value is None):
            message = (
                f"{key} = {_shown(value)} with {context}: modelled only "
                f"with {key} = {_shown(wanted)} ({why})"
            )
            problems.append(_problem(key, message))
    return problems


def _check_rule(values: Mapping[str, Any], rule: Supported) -> Problem | None:
    value = values.get(rule.key, rule.default)
    if value is None or value in rule.allowed:
        return None
    allowed = " or ".join(_shown(v) for v in rule.allowed)
    crash = FUSION_CRASHES.get((rule.key, value))
    why = f"; {crash}" if crash else ". Run the real FUSION simulator for other settings."
    return _problem(
        rule.key,
        f"{rule.key} = {_shown(value)} is not modelled by the built-in simulator; it supports "
        f"{allowed} ({rule.meaning}){why}",
    )


def fusion_crashes(config: RawConfig) -> list[Problem]:
    """The settings of ``config`` FUSION crashes on whatever else it says (FUSION_CRASHES).

    The real FUSION's profile refuses them before launch, as the built-in simulator does.
    """
    values = fusion_ini.flatten(config).values
    return [
        _problem(key, f"{key} = {value}: {crash}")
        for (key, value), crash in FUSION_CRASHES.items()
        if values.get(key) == value
    ]


def _check_fits(values: Mapping[str, Any]) -> list[Problem]:
    """Last, best and priority-first fit where FUSION runs them (``spectrum_assignment.py``).

    FUSION's last fit scans a run downwards and, for a lightpath of more than one slot
    over more than one link, slices its spectrum array backwards: "Spectrum set cannot
    be empty." On the fixed grid every lightpath is one slot, and it works. Its best fit
    with guard slots sets the end slot one short, so a one-slot lightpath occupies no
    slot and FUSION raises "Attempted to allocate a taken spectrum." Its priority-first
    core order is a fixed list of seven cores, read whatever the fibre has.
    """
    if values.get("route_method") == "cong_aware" and values.get("snr_type") not in (None, "None"):
        return [
            _problem(
                "route_method",
                f"route_method = cong_aware is modelled only with snr_type = None (the reach "
                f"table), not with snr_type = {values.get('snr_type')}",
            )
        ]
    method = values.get("allocation_method")
    if method == "last_fit" and not values.get("fixed_grid"):
        return [
            _problem(
                "allocation_method",
                "allocation_method = last_fit is modelled only with fixed_grid = True: on the "
                "flexible grid FUSION's last fit raises 'Spectrum set cannot be empty.' at the "
                "first lightpath of more than one slot over more than one link",
            )
        ]
    cores = values.get("cores_per_link")  # a malformed value is the validation's to report
    if method == "priority_first" and isinstance(cores, int) and cores < len(PRIORITY_CORES):
        return [
            _problem(
                "cores_per_link",
                f"cores_per_link = {values.get('cores_per_link')} with allocation_method = "
                f"priority_first is not modelled: FUSION's priority order names cores "
                f"{', '.join(map(str, PRIORITY_CORES))} whatever the fibre has, and raises "
                "IndexError on fewer than 7 cores",
            )
        ]
    if method == "best_fit" and values.get("guard_slots") not in (0, None):
        return [
            _problem(
                "guard_slots",
                f"guard_slots = {values.get('guard_slots')} with allocation_method = best_fit "
                "is not modelled: FUSION's best fit then sets each lightpath one slot short "
                "and raises 'Attempted to allocate a taken spectrum.' at the first one-slot "
                "lightpath; use guard_slots = 0",
            )
        ]
    return []


def _check_guard_slots(values: Mapping[str, Any]) -> list[Problem]:
    """Guard slots as FUSION runs them: none or one (``sdn_controller._allocate_on_path``).

    FUSION's search keeps ``guard_slots`` slots free above a lightpath, but its
    allocation marks one, whatever the setting; with two or more it soon meets a slot
    it took itself and raises. In a differential run of baseline_kspf_ff and
    baseline_spf_ff with 2 or 3 guard slots (10 to 2,500 Erlang), FUSION finished only
    40 and 60 requests at 10 Erlang, where nothing blocks and the setting changes no
    figure; 100 requests at 10 Erlang already failed.
    """
    guard_slots = values.get("guard_slots")
    if not isinstance(guard_slots, int) or guard_slots < 2:
        return []  # a malformed value is the validation's to report
    return [
        _problem(
            "guard_slots",
            f"guard_slots = {guard_slots} is not modelled: FUSION marks one guard slot above "
            "a lightpath whatever guard_slots is, and raises 'Attempted to allocate a taken "
            "spectrum.' (or IndexError at the band's end) once lightpaths meet, within 100 "
            "requests even at 10 Erlang; use 0 or 1",
        )
    ]


def _check_steps(values: Mapping[str, Any]) -> list[Problem]:
    """The steps FUSION divides by or steps a range by: 0 makes it raise."""
    problems = []
    if values.get("save_step") == 0:
        problems.append(
            _problem(
                "save_step",
                "save_step = 0: FUSION takes the iteration number modulo it to decide when to "
                "save, and raises ZeroDivisionError after the first iteration; use 1 or more",
            )
        )
    if values.get("save_snapshots") and values.get("snapshot_step") == 0:
        problems.append(
            _problem(
                "snapshot_step",
                "snapshot_step = 0 with save_snapshots = True: FUSION steps its snapshot "
                "table by it and raises ValueError at the start of the run; use 1 or more",
            )
        )
    return problems


def _check_bands(values: Mapping[str, Any]) -> list[Problem]:
    """FUSION adds every band with a non-zero slot count; C, and C+L with the GSNR."""
    multi_band_gsnr = values.get("snr_type") == "gsnr" and bool(values.get("dynamic_lps"))
    external = values.get("snr_type") == EXTERNAL_SNR
    problems = []
    for band in OTHER_BANDS:
        if not values.get(band) or (band == "l_band" and multi_band_gsnr):
            continue
        if external and band in ("l_band", "s_band"):
            continue  # the files index L, C and S slots; check_external checks the count
        modelled = (
            "the C band, and C+L (l_band) with snr_type = gsnr and dynamic_lps = True"
            if band == "l_band"
            else f"the C band, C+L with the GSNR, and C+L+S with snr_type = {EXTERNAL_SNR}"
        )
        problems.append(
            _problem(
                band,
                f"{band} = {values[band]} adds a band (multi-band); the built-in simulator "
                f"models {modelled}.",
            )
        )
    return problems


def _check_physical(values: Mapping[str, Any]) -> list[Problem]:
    """The physical layer is modelled as one combination: GSNR with dynamic slicing.

    FUSION's static slicing with a GSNR check, dynamic slicing on the reach table,
    guard slots with the GSNR (FUSION then measures the guard slot as signal too) and
    pre-calculated formats with it are other code paths, not modelled.
    """
    gsnr = values.get("snr_type") == "gsnr"
    dynamic = bool(values.get("dynamic_lps"))
    problems = []
    if gsnr and not dynamic:
        problems.append(
            _problem(
                "snr_type",
                "snr_type = gsnr is modelled only with dynamic_lps = True (FUSION's static "
                "slicing with a GSNR check is not)",
            )
        )
    if dynamic and not gsnr and values.get("snr_type") in ("None", None):
        problems.append(
            _problem(
                "dynamic_lps",
                "dynamic_lps = True is modelled only with snr_type = gsnr (FUSION's dynamic "
                "slicing on the reach table is not)",
            )
        )
    if values.get("can_partially_serve") and not (gsnr and dynamic):
        problems.append(
            _problem(
                "can_partially_serve",
                "can_partially_serve = True is modelled only with snr_type = gsnr and "
                "dynamic_lps = True",
            )
        )
    if gsnr and values.get("guard_slots") not in (0, None):
        problems.append(
            _problem(
                "guard_slots",
                f"guard_slots = {values.get('guard_slots')} with snr_type = gsnr is not "
                "modelled (FUSION counts the guard slot in the GSNR's bandwidth); use 0",
            )
        )
    grooming = bool(values.get("is_grooming_enabled"))
    fixed = bool(values.get("fixed_grid"))
    if grooming and not (gsnr and dynamic and fixed and values.get("can_partially_serve")):
        problems.append(
            _problem(
                "is_grooming_enabled",
                "is_grooming_enabled = True is modelled only with fixed_grid = True, "
                "snr_type = gsnr, dynamic_lps = True and can_partially_serve = True",
            )
        )
    if fixed and not grooming and values.get("snr_type") != EXTERNAL_SNR:
        problems.append(
            _problem(
                "fixed_grid",
                "fixed_grid = True is modelled only with is_grooming_enabled = True "
                f"(and the GSNR with dynamic slicing) or with snr_type = {EXTERNAL_SNR}",
            )
        )
    if gsnr and values.get("pre_calc_mod_selection"):
        problems.append(
            _problem(
                "pre_calc_mod_selection",
                "pre_calc_mod_selection = True with snr_type = gsnr is not modelled",
            )
        )
    return problems


def _check_network(values: Mapping[str, Any]) -> list[Problem]:
    network = str(values.get("network"))
    only_core = bool(values.get("is_only_core_node", True))
    if network in SHIPPED_NETWORKS:
        if only_core or network in CORE_NODE_FILES:
            return []
        return [
            _problem(
                "is_only_core_node",
                f"is_only_core_node = False draws requests between core nodes, and FUSION has "
                f"no core-node file for {network} (it raises 'No core nodes found'); core-node "
                f"files exist for {', '.join(CORE_NODE_FILES)}.",
            )
        ]
    if os.path.isabs(network) and os.path.isfile(network) and only_core:
        return _check_topology_file(network)
    names = ", ".join(SHIPPED_NETWORKS)
    return [
        _problem(
            "network",
            f"network = {network} is not one of FUSION's networks ({names}) nor the absolute "
            "path of a topology file in FUSION's format (one 'src dst km' link per line; "
            "with is_only_core_node = True).",
        )
    ]


def _check_topology_file(path: str) -> list[Problem]:
    """A topology file given by path must read as FUSION's format (checked before the
    run, so the engine refuses it at submission rather than the run failing)."""
    try:
        with open(path, encoding="utf-8") as handle:
            parse_topology(handle.read(), name=path)
    except (OSError, UnicodeDecodeError, TopologyError) as exc:
        return [_problem("network", f"topology file {path}: {exc}")]
    return []


def _check_modulation(values: Mapping[str, Any], fusion_root: StrPath | None) -> list[Problem]:
    assumption = str(values.get("mod_assumption"))
    try:
        path = resolve_mod_path(values.get("mod_assumption_path"), fusion_root)
        names = available_assumptions(path)
    except (ModulationError, OSError, ValueError) as exc:
        return [_problem("mod_assumption_path", str(exc))]
    if assumption not in names:
        return [
            _problem(
                "mod_assumption",
                f"mod_assumption = {assumption} is not in {path}; it has {', '.join(names)} "
                "(FUSION raises 'Unknown modulation assumption')",
            )
        ]
    try:
        table = load_mod_table(assumption, path)
    except (KeyError, TypeError, ValueError) as exc:
        return [_problem("mod_assumption", f"the {assumption} table in {path} is malformed: {exc}")]
    problems = _check_bandwidths(values, sorted(table))
    # FUSION's get_path_modulation looks these three up by name: with pre-calculated
    # formats, and in congestion-aware routing without them.
    by_name = "pre_calc_mod_selection" if values.get("pre_calc_mod_selection") else None
    if by_name is None and values.get("route_method") == "cong_aware":
        by_name = "route_method"
    if by_name is None:
        return problems
    missing = [
        f"{bw} Gb/s"
        for bw, formats in table.items()
        if not {"QPSK", "16-QAM", "64-QAM"} <= {fmt.name for fmt in formats}
    ]
    if missing:
        problems.append(
            _problem(
                by_name,
                f"{by_name} = {values.get(by_name)} picks among QPSK, 16-QAM and 64-QAM by "
                f"name, and the table lacks one of them for {', '.join(missing)}",
            )
        )
    return problems


def _check_bandwidths(values: Mapping[str, Any], bandwidths: list[int]) -> list[Problem]:
    """FUSION indexes the distribution by the table's bandwidths and vice versa."""
    distribution = values.get("request_distribution")
    if not isinstance(distribution, dict):
        return [
            _problem(
                "request_distribution",
                "request_distribution must be a dict of bandwidth (Gb/s) to share; FUSION's "
                "request generator indexes it by the modulation table's bandwidths",
            )
        ]
    if set(distribution) == {str(bw) for bw in bandwidths}:
        return []
    known = ", ".join(str(bw) for bw in bandwidths)
    given = ", ".join(str(bw) for bw in distribution)
    return [
        _problem(
            "request_distribution",
            f"names bandwidths {given} but the modulation table has {known} Gb/s; "
            "FUSION needs the same bandwidths in both",
        )
    ]


def check_external(values: Mapping[str, Any], fusion_root: StrPath | None) -> list[Problem]:
    """FUSION's external resources are modelled as one combination (``external_snr.py``).

    ``external_ksp`` with ``snr_e2e_external_resources`` on the fixed grid with dynamic
    slicing, no guard slots, 4 cores per link (whose cores all read one SNR file; FUSION
    ships no other) and the pre-calculated files present. Grooming and partial service
    are refused by :func:`_check_physical` (they need the GSNR).
    """
    external = values.get("snr_type") == EXTERNAL_SNR
    external_ksp = values.get("route_method") == "external_ksp"
    if not external and not external_ksp:
        return []
    problems = []
    if external_ksp and not external:
        problems.append(
            _problem(
                "route_method",
                f"route_method = external_ksp is modelled only with snr_type = {EXTERNAL_SNR}",
            )
        )
    if not external:
        return problems
    required = (
        ("route_method", "external_ksp", "FUSION's SNR lookup needs its pre-calculated paths"),
        ("fixed_grid", True, "the flexible grid with external resources is not modelled"),
        ("dynamic_lps", True, "FUSION's static slicing with external resources is not modelled"),
        ("pre_calc_mod_selection", False, "pre-calculated formats by reach are not modelled"),
        ("guard_slots", 0, "guard slots on the fixed grid are not modelled"),
        ("cores_per_link", 4, "FUSION ships the SNR file of 4-core fibres only"),
        ("snr_recheck", False, "the recheck with external resources is not modelled"),
    )
    problems += _required(values, required, f"snr_type = {EXTERNAL_SNR}")
    if problems:
        return problems
    # Imported here: only configs that name external resources pay for it.
    from fusion_jupyter.sim.external import missing_files, slot_count

    network = str(values.get("network"))
    missing = missing_files(network, 4, fusion_root)
    if missing:
        return [
            _problem(
                "network",
                f"network = {network} with snr_type = {EXTERNAL_SNR}: FUSION's pre-calculated "
                f"files are missing ({', '.join(missing)}), and FUSION fails without them",
            )
        ]
    widths = {band: int(values.get(band) or 0) for band in ("c_band", "l_band", "s_band")}
    available = slot_count(network, 4, fusion_root)
    if sum(widths.values()) > available:
        shown = ", ".join(f"{band} = {slots}" for band, slots in widths.items())
        problems.append(
            _problem(
                "c_band",
                f"{shown} make {sum(widths.values())} slots, but FUSION's pre-calculated files "
                f"for {network} have {available}: FUSION would index past them",
            )
        )
    return problems


def check_xt_aware(values: Mapping[str, Any]) -> list[Problem]:
    """FUSION's XT-aware routing and XT check are modelled as one combination
    (``xt_aware.py``).

    ``xt_aware`` routing (or k shortest paths), ``priority_first`` (or ``first_fit``)
    allocation and the ``xt_calculation`` check together, on 7-core fibres (FUSION's
    formulas are written for them) in the C band, with FUSION's static slicing and one
    guard slot (the setting FUSION was checked with).
    """
    # priority_first alone is a search of its own (_check_fits); XT-aware routing or the
    # XT check asks for the whole combination.
    named = [key for key, value in XT_TRIGGERS if values.get(key) == value]
    if not named:
        return []
    problems = [
        _problem(
            key,
            f"{key} = {_shown(values.get(key))} with {', '.join(named)} set as FUSION's "
            f"XT-aware combination: modelled only with {key} = {' or '.join(allowed)}",
        )
        for key, allowed in XT_COMBINATION
        if values.get(key) not in allowed
    ]
    required = (
        ("cores_per_link", 7, "FUSION's crosstalk formulas are for 7-core fibres"),
        ("guard_slots", 1, "FUSION was checked with one guard slot"),
        ("dynamic_lps", False, "dynamic slicing with the XT check is not modelled"),
        ("fixed_grid", False, "the fixed grid with the XT check is not modelled"),
        ("pre_calc_mod_selection", False, "XT-aware routing picks its own formats"),
        ("snr_recheck", False, "the recheck with the XT check is not modelled"),
    )
    context = " and ".join(f"{key} = {values.get(key)}" for key in named)
    problems += _required(values, required, context)
    return problems
