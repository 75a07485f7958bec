"""The keys FUSION reads: in which section, of which type, required or not, and in what range.

Which keys are required where is FUSION's loader's business
(``fusion/configs/schema.py``: ``SIM_REQUIRED_OPTIONS_DICT`` and
``OPTIONAL_OPTIONS_DICT`` at commit 973983bc), so this table follows it key for key:
a config FUSION's loader refuses is refused here with FUSION's own words, and a key
it does not read is reported as such. On top, every number gets a range that keeps a
run finite and meaningful, with the reason in the message.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

from fusion_jupyter._namedtuple import NamedTuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from fusion_jupyter.engine.config.values import ValueType

    Check = Callable[[Any], str | None]

GENERAL = "general_settings"
PROBABILITY_TOLERANCE = 1e-9
#: FUSION's named networks (``fusion/io/structure.py: create_network``); FUSION itself
#: accepts no other value for ``network``.
FUSION_NETWORKS: tuple[str, ...] = (
    "USNet",
    "NSFNet",
    "Pan-European",
    "USbackbone60",
    "Spainbackbone30",
    "geant",
    "toy_network",
    "metro_net",
    "dt_network",
)


def is_process_section(section: str) -> bool:
    """Whether FUSION copies this section's keys (``s2``, ``s3``...) over ``s1`` and runs
    it as another process: its ``THREAD_SECTION_PATTERN``, ``re.match(r"s\\d", ...)``.

    String tests rather than regular expressions, here and below, each as the pattern
    matches (``\\d`` is any Unicode decimal digit, as ``isdecimal``): compiling a
    pattern costs more than the simulator's whole use of it.
    """
    return section[:1] == "s" and section[1:2].isdecimal()


def _is_bandwidth(text: str) -> bool:
    """``[1-9][0-9]*``: a positive whole number without leading zeros, in ASCII digits."""
    return text.isascii() and text.isdigit() and text[0] != "0"


def _between(low: float, high: float, why: str) -> Check:
    def check(value: float) -> str | None:
        if low <= value <= high:
            return None
        return f"must be between {low:g} and {high:g} ({why}), got {value:g}"

    return check


def _above(bound: float, high: float, why: str) -> Check:
    def check(value: float) -> str | None:
        if bound < value <= high:
            return None
        return f"must be greater than {bound:g} and at most {high:g} ({why}), got {value:g}"

    return check


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_distribution(value: dict[Any, Any]) -> str | None:
    issues = [
        f"bandwidth {bw!r} must be a positive whole number of Gb/s written as a string"
        for bw in value
        if not (isinstance(bw, str) and _is_bandwidth(bw))
    ]
    issues += [
        f"share of {bw} must be a number from 0 to 1, got {p!r}"
        for bw, p in value.items()
        if not (_is_number(p) and 0 <= p <= 1)
    ]
    if not value:
        issues.append("must name at least one bandwidth")
    elif not issues and abs(math.fsum(value.values()) - 1) > PROBABILITY_TOLERANCE:
        issues.append(f"shares must sum to 1, they sum to {math.fsum(value.values())!r}")
    return "; ".join(issues) or None


def _check_numbers_object(value: dict[Any, Any]) -> str | None:
    bad = [name for name, number in value.items() if not _is_number(number)]
    return f"values must be numbers: {', '.join(map(repr, bad))} are not" if bad else None


class SchemaEntry(NamedTuple):
    """One key FUSION reads: its section, type, meaning and range.

    ``required`` is FUSION's loader's rule (it refuses the file without the key);
    ``default`` is what the built-in simulator uses when an optional key is absent.

    A NamedTuple, immutable as a frozen dataclass is, but without the methods a
    dataclass compiles from generated source as its module loads: the simulator's
    command line loads this table to check every config (as ``SimParams`` in
    ``fusion_jupyter/sim/params.py``).
    """

    section: str
    key: str
    kind: ValueType
    description: str
    required: bool = False
    check: Check | None = None
    default: Any = None


_general = partial(SchemaEntry, GENERAL)
_topology = partial(SchemaEntry, "topology_settings")
_routing = partial(SchemaEntry, "routing_settings")
_spectrum = partial(SchemaEntry, "spectrum_settings")
_snr = partial(SchemaEntry, "snr_settings")
_file = partial(SchemaEntry, "file_settings")
_ml = partial(SchemaEntry, "ml_settings")
_rl = partial(SchemaEntry, "rl_settings")

_LOAD = _above(0, 1e7, "a load in Erlang")
_STEP = _between(1, 1e9, "a count of iterations or requests")
_SLOTS = _between(0, 100_000, "slots per band")
_SHARE = _between(0, 1, "a fraction")
_RATE = _between(0, 1e6, "a learning or decay rate")

SCHEMA: tuple[SchemaEntry, ...] = (
    # ---- [general_settings]: required by FUSION's loader
    _general("erlang_start", "float", "First traffic load, in Erlang.", True, _LOAD),
    _general("erlang_stop", "float", "Last traffic load (included), in Erlang.", True, _LOAD),
    _general("erlang_step", "float", "Increment between traffic loads.", True, _LOAD),
    _general("mod_assumption", "str", "Modulation table name.", True),
    _general("mod_assumption_path", "str", "Modulation formats file.", True),
    _general(
        "holding_time",
        "float",
        "Mean holding time of a request.",
        True,
        _between(1e-6, 1e9, "a smaller mean holding time makes no progress in floating point"),
    ),
    _general("thread_erlangs", "bool", "Run traffic loads in parallel.", True),
    _general(
        "guard_slots",
        "int",
        "Guard slots above every lightpath.",
        True,
        _between(0, 1000, "guard slots"),
    ),
    _general(
        "num_requests",
        "int",
        "Requests per iteration.",
        True,
        _between(1, 1e9, "bounded so that an iteration ends"),
    ),
    _general(
        "max_iters",
        "int",
        "Iterations per traffic load.",
        True,
        _between(1, 1e6, "bounded so that a load ends"),
    ),
    _general("dynamic_lps", "bool", "Groom onto existing lightpaths.", True),
    _general("fixed_grid", "bool", "Fixed instead of flexible grid.", True),
    _general("pre_calc_mod_selection", "bool", "Pre-calculated modulation selection.", True),
    _general("max_segments", "int", "Most slices per request.", True, _between(1, 1000, "slices")),
    _general("save_snapshots", "bool", "Record spectrum snapshots.", True),
    _general("snapshot_step", "int", "Requests between snapshots.", True, _STEP),
    _general("print_step", "int", "Iterations between progress lines.", True, _STEP),
    _general("spectrum_priority", "str", "Search order over bands and cores.", True),
    _general("save_step", "int", "Iterations between result saves.", True, _STEP),
    _general("save_start_end_slots", "bool", "Save every lightpath's slots.", True),
    _general("is_grooming_enabled", "bool", "Traffic grooming.", True),
    _general("can_partially_serve", "bool", "Serve part of a request's bandwidth.", True),
    _general("transponder_usage_per_node", "bool", "Count transponders per node.", True),
    _general("blocking_type_ci", "bool", "Confidence interval on bit-rate blocking.", True),
    _general("route_method", "str", "Routing algorithm.", True),
    _general("allocation_method", "str", "Spectrum assignment policy.", True),
    # ---- [general_settings]: optional
    _general("filter_mods", "bool", "Filter modulation formats by reach."),
    _general(
        "request_distribution",
        "dict",
        "Share of requests per bandwidth (Gb/s).",
        check=_check_distribution,
    ),
    _general("fragmentation_metrics", "str", "Fragmentation metrics to record."),
    _general("frag_calc_step", "int", "Requests between fragmentation samples.", check=_STEP),
    # ---- [topology_settings]
    _topology("network", "str", "Topology name.", True),
    _topology(
        "bw_per_slot", "float", "Slot bandwidth, in GHz.", True, _above(0, 1e6, "GHz per slot")
    ),
    _topology(
        "cores_per_link", "int", "Cores per fibre link.", True, _between(1, 64, "cores per fibre")
    ),
    _topology("const_link_weight", "bool", "Same weight for every link.", True),
    _topology("is_only_core_node", "bool", "Every node may be an endpoint.", True),
    _topology("multi_fiber", "bool", "Several fibres per link.", True),
    _topology("bi_directional", "bool", "Bidirectional links."),
    # ---- [spectrum_settings]
    _spectrum(
        "c_band",
        "int",
        "Slots per core in the C band.",
        True,
        _between(1, 100_000, "slots per band"),
    ),
    _spectrum("o_band", "int", "Slots per core in the O band.", check=_SLOTS),
    _spectrum("e_band", "int", "Slots per core in the E band.", check=_SLOTS),
    _spectrum("s_band", "int", "Slots per core in the S band.", check=_SLOTS),
    _spectrum("l_band", "int", "Slots per core in the L band.", check=_SLOTS),
    _spectrum(
        "guard_slots",
        "int",
        "Guard slots, as the spectrum module reads them.",
        check=_between(0, 1000, "guard slots"),
    ),
    _spectrum(
        "allocation_method",
        "str",
        "Spectrum assignment policy (FUSION uses general_settings.allocation_method).",
    ),
    # ---- [snr_settings]: all required by FUSION's loader
    _snr("snr_type", "str", "Physical-layer check; None skips it.", True),
    _snr(
        "input_power",
        "float",
        "Launch power per channel, in W.",
        True,
        _above(0, 10, "watts per channel"),
    ),
    _snr("egn_model", "bool", "Enhanced Gaussian noise model.", True),
    _snr("beta", "float", "Crosstalk parameter beta.", True),
    _snr("theta", "float", "Crosstalk parameter theta.", True),
    _snr("xt_type", "str", "Crosstalk calculation variant.", True),
    _snr("xt_noise", "bool", "Add crosstalk noise to the SNR.", True),
    _snr("requested_xt", "dict", "Crosstalk limit per format.", True, _check_numbers_object),
    _snr("phi", "dict", "Nonlinear factor per format.", True, _check_numbers_object),
    _snr("snr_recheck", "bool", "Recheck SNR of existing lightpaths.", True),
    _snr("recheck_adjacent_cores", "bool", "Recheck adjacent cores.", True),
    _snr("recheck_crossband", "bool", "Recheck across bands.", True),
    # ---- [routing_settings]
    _routing(
        "route_method", "str", "Routing algorithm (FUSION uses general_settings.route_method)."
    ),
    _routing("k_paths", "int", "Candidate paths per request.", check=_between(1, 1000, "paths")),
    _routing("path_ordering", "str", "Order of candidate paths."),
    _routing("precompute_paths", "bool", "Precompute candidate paths."),
    # ---- [file_settings]
    _file("file_type", "str", "Result file format.", True),
    _file("run_id", "str", "Run identifier."),
    # ---- [ml_settings]
    _ml("deploy_model", "bool", "Use a trained model.", True),
    _ml("output_train_data", "bool", "Write training data."),
    _ml("ml_training", "bool", "Train a model during the run."),
    _ml("ml_model", "str", "Model name."),
    _ml("train_file_path", "str", "Training data file."),
    _ml("test_size", "float", "Held-out share.", check=_SHARE),
    # ---- [rl_settings]
    _rl("obs_space", "str", "Observation space."),
    _rl("n_trials", "int", "Training trials.", check=_STEP),
    _rl("device", "str", "Learning device."),
    _rl("optimize_hyperparameters", "bool", "Search hyperparameters."),
    _rl("optuna_trials", "int", "Optuna trials.", check=_STEP),
    _rl(
        "is_training",
        "bool",
        "Training mode: no confidence interval, no early stop.",
        default=False,
    ),
    _rl("path_algorithm", "str", "Path agent."),
    _rl("path_model", "str", "Saved path model."),
    _rl("core_algorithm", "str", "Core agent."),
    _rl("core_model", "str", "Saved core model."),
    _rl("spectrum_algorithm", "str", "Spectrum agent."),
    _rl("spectrum_model", "str", "Saved spectrum model."),
    _rl("render_mode", "str", "Render mode."),
    _rl("super_channel_space", "int", "Super-channels to choose from.", check=_STEP),
    _rl("alpha_start", "float", "Initial learning rate.", check=_RATE),
    _rl("alpha_end", "float", "Final learning rate.", check=_RATE),
    _rl("alpha_update", "str", "Learning-rate schedule."),
    _rl("gamma", "float", "Discount factor.", check=_SHARE),
    _rl("epsilon_start", "float", "Initial exploration rate.", check=_SHARE),
    _rl("epsilon_end", "float", "Final exploration rate.", check=_SHARE),
    _rl("epsilon_update", "str", "Exploration schedule."),
    _rl("path_levels", "int", "Path levels.", check=_STEP),
    _rl("decay_rate", "float", "Schedule decay rate.", check=_RATE),
    _rl("feature_extractor", "str", "Feature extractor."),
    _rl("gnn_type", "str", "Graph network type."),
    _rl("layers", "int", "Network layers.", check=_between(1, 1000, "layers")),
    _rl("emb_dim", "int", "Embedding size.", check=_between(1, 1e6, "embedding size")),
    _rl("heads", "int", "Attention heads.", check=_between(1, 1000, "heads")),
    _rl("conf_param", "int", "Bandit confidence parameter."),
    _rl("cong_cutoff", "float", "Congestion threshold.", check=_SHARE),
    _rl("reward", "int", "Reward for a served request."),
    _rl("penalty", "int", "Penalty for a blocked request."),
    _rl("dynamic_reward", "bool", "State-dependent reward."),
    _rl("core_beta", "float", "Core term weight in the reward."),
)


def _orchestrator(section: str, kinds: dict[str, ValueType]) -> tuple[SchemaEntry, ...]:
    # FUSION's v6 orchestrator settings: known to its loader, read by its new engine
    # only; listed so that they are typed and not reported as unknown.
    return tuple(
        SchemaEntry(section, key, kind, f"FUSION orchestrator setting ({section}).")
        for key, kind in kinds.items()
    )


SCHEMA += (
    *_orchestrator(
        "dataset_logging_settings",
        {"log_offline_dataset": "bool", "dataset_output_path": "str", "epsilon_mix": "float"},
    ),
    *_orchestrator(
        "offline_rl_settings", {"policy_type": "str", "fallback_policy": "str", "device": "str"}
    ),
    *_orchestrator(
        "recovery_timing_settings",
        {
            "protection_switchover_ms": "float",
            "restoration_latency_ms": "float",
            "failure_window_size": "int",
        },
    ),
    *_orchestrator(
        "protection_settings",
        {
            "revert_to_primary": "bool",
            "protection_enabled": "bool",
            "disjointness_type": "str",
            "protection_switchover_ms": "float",
            "restoration_latency_ms": "float",
        },
    ),
    *_orchestrator(
        "policy_settings",
        {
            "policy_type": "str",
            "policy_name": "str",
            "model_path": "str",
            "fallback_policy": "str",
            "k_paths": "int",
            "seed": "int",
            "algorithm": "str",
            "device": "str",
        },
    ),
    *_orchestrator("heuristic_settings", {"alpha": "float", "seed": "int"}),
    *_orchestrator(
        "failure_settings",
        {
            "failure_type": "str",
            "geo_center_node": "int",
            "geo_hop_radius": "int",
            "t_fail_arrival_index": "int",
            "t_repair_after_arrivals": "int",
            "failed_link_src": "int",
            "failed_link_dst": "int",
        },
    ),
    *_orchestrator("reporting_settings", {"export_csv": "bool", "csv_output_path": "str"}),
)

ENTRIES: dict[tuple[str, str], SchemaEntry] = {(e.section, e.key): e for e in SCHEMA}
SECTIONS: frozenset[str] = frozenset(e.section for e in SCHEMA)
