"""The simulator's inputs as plain typed values, independent of how they were read.

The model core takes a :class:`SimParams` and nothing else, so it can be driven from
a FUSION INI file (through :mod:`fusion_jupyter.engine.config`), from a test, or from
a benchmark without any config parsing in between.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

from fusion_jupyter._namedtuple import NamedTuple

#: FUSION's hard-coded early-stop threshold: an Erlang point ends once the request
#: blocking CI is at most this many percent of the mean (``fusion/core/metrics.py``).
CI_STOP_PERCENT = 5.0

#: The bandwidth mix of FUSION's two templates, in Gb/s -> share of requests.
DEFAULT_REQUEST_DISTRIBUTION: Mapping[str, float] = {
    "25": 0.10,
    "50": 0.10,
    "100": 0.50,
    "200": 0.20,
    "400": 0.10,
}


#: How FUSION runs a config. ``run_sim`` is ``fusion-sim run_sim`` (its BatchRunner):
#: arrival rate erlang / holding_time, loads start, start + step, ... (a running float
#: sum). ``network_simulator`` is FUSION's legacy runner (``fusion/sim/network_simulator.py``),
#: which its regression test (``tests/run_comparison.py``) and thus its fixtures use:
#: arrival rate cores_per_link * erlang / holding_time, loads
#: ``range(int(start), int(stop) + 1, int(step))``.
RUNNERS = ("run_sim", "network_simulator")

# Shared defaults of the mapping fields: read-only, so no run can change another's.
_DEFAULT_DISTRIBUTION: Mapping[str, float] = MappingProxyType(dict(DEFAULT_REQUEST_DISTRIBUTION))
_NO_VALUES: Mapping[str, float] = MappingProxyType({})


class SimParams(NamedTuple):
    """Everything that takes effect in FUSION's k_shortest_path + first_fit model.

    Defaults are minimal.ini's values, so a test can name only what it varies.
    ``erlangs`` is the list of load points actually simulated; ``erlang_start``,
    ``erlang_stop`` and ``erlang_step`` are kept only to report them as configured.

    A NamedTuple rather than a frozen dataclass, immutable all the same: a dataclass's
    methods are compiled from generated source as its module loads, and these 44
    fields took 3.5 ms of every simulator start (Python 3.11), a NamedTuple's 0.3 ms.
    """

    erlangs: tuple[float, ...] = (300.0, 400.0, 500.0)
    erlang_start: float = 300.0
    erlang_stop: float = 500.0
    erlang_step: float = 100.0
    num_requests: int = 100
    max_iters: int = 2
    holding_time: float = 0.2
    k_paths: int = 3
    cores_per_link: int = 3
    c_band: int = 320
    guard_slots: int = 1
    max_segments: int = 4
    request_distribution: Mapping[str, float] = _DEFAULT_DISTRIBUTION
    is_training: bool = False
    network: str = "NSFNet"
    #: A topology file in FUSION's format; None means the shipped file for ``network``.
    topology_file: str | None = None
    mod_assumption: str = "DEFAULT"
    #: ``mod_assumption_path`` as the INI gives it, resolved as FUSION does (see
    #: :func:`~fusion_jupyter.sim.modulation.resolve_mod_path`); the default is the one
    #: FUSION's templates name.
    mod_assumption_path: str | None = "data/json_input/example_mods/default_mod_formats.json"
    thread_num: str = "s1"
    print_step: int = 15
    #: FUSION's root, against which relative data paths resolve; None: the shipped copy.
    fusion_root: str | None = None
    #: ``pre_calc_mod_selection``: one format per path, by FUSION's get_path_modulation.
    pre_calc_mod_selection: bool = False
    #: ``is_only_core_node``: False draws endpoints from the network's core nodes.
    only_core_node: bool = True
    #: One of :data:`RUNNERS`.
    runner: str = "run_sim"
    #: ``k_shortest_path``, or ``shortest_path`` (FUSION routes it with k_paths = 1 but
    #: keeps k_paths for its statistics).
    route_method: str = "k_shortest_path"
    #: ``allocation_method``: ``first_fit``, ``last_fit``, ``best_fit`` or
    #: ``priority_first``, the grid's search (:class:`~fusion_jupyter.sim.spectrum.Spectrum`).
    allocation_method: str = "first_fit"
    #: ``spectrum_priority``: ``"BSC"`` searches bands, then cores; otherwise cores first.
    spectrum_priority: str = "None"
    #: ``save_start_end_slots`` (only shapes the result files; True is not modelled).
    save_start_end_slots: bool = False
    #: ``save_step``: FUSION writes a load's file after its first and last iteration and
    #: every ``save_step``-th one, and its ``iter_stats`` holds those iterations only.
    save_step: int = 1
    #: ``save_snapshots`` and ``snapshot_step``: FUSION's (empty) snapshot table.
    save_snapshots: bool = False
    snapshot_step: int = 1
    #: ``l_band`` slots (0: none). With the C band it makes FUSION's C+L multi-band grid.
    l_band: int = 0
    #: ``s_band`` slots (0: none); modelled only with FUSION's external resources.
    s_band: int = 0
    #: ``snr_type``: ``"None"`` (reach table only), ``"gsnr"`` (FUSION's physical
    #: layer, with ``dynamic_lps``: see :mod:`~fusion_jupyter.sim.physical`) or
    #: ``"snr_e2e_external_resources"`` (:mod:`~fusion_jupyter.sim.external_snr`).
    snr_type: str = "None"
    #: ``is_grooming_enabled`` (with ``fixed_grid``, the GSNR and dynamic_lps): see
    #: :mod:`~fusion_jupyter.sim.grooming`.
    grooming: bool = False
    #: ``can_partially_serve``: a request partly placed on the last path is accepted.
    can_partially_serve: bool = False
    #: ``bw_per_slot`` in GHz; only the GSNR uses it.
    bw_per_slot: float = 12.5
    #: ``input_power`` in W per channel; only the GSNR uses it.
    input_power: float = 0.001
    #: ``phi`` per format; only the GSNR uses it.
    phi: Mapping[str, float] = _NO_VALUES
    #: ``xt_type``, ``beta`` and ``requested_xt`` (dB per format): only XT-aware routing
    #: and the XT check (``snr_type = xt_calculation``) use them.
    xt_type: str | None = None
    beta: float = 0.5
    requested_xt: Mapping[str, float] = _NO_VALUES
    #: ``snr_recheck``: FUSION's re-evaluation of the lightpaths a new one overlaps
    #: (see :mod:`~fusion_jupyter.sim.recheck`).
    snr_recheck: bool = False
    #: ``recheck_adjacent_cores``: the recheck also evaluates the lightpaths of the cores
    #: adjacent to the new lightpath's (FUSION's default).
    recheck_adjacent_cores: bool = True

    @property
    def bands(self) -> tuple[str, ...]:
        """FUSION's band list: ``c``, then ``l`` and ``s`` when they have slots."""
        return tuple(band for band, _ in self._band_widths())

    @property
    def band_slots(self) -> tuple[int, ...]:
        """Slots of each band of :attr:`bands`."""
        return tuple(slots for _, slots in self._band_widths())

    def _band_widths(self) -> tuple[tuple[str, int], ...]:
        others = (("l", self.l_band), ("s", self.s_band))
        return (("c", self.c_band), *((band, slots) for band, slots in others if slots))

    @property
    def physical(self) -> bool:
        """Whether decisions check FUSION's GSNR (``snr_type = gsnr``)."""
        return self.snr_type == "gsnr"

    @property
    def xt_aware(self) -> bool:
        """Whether FUSION's XT check decides (``snr_type = xt_calculation``), with its
        XT-aware routing or k shortest paths (:mod:`~fusion_jupyter.sim.xt_aware`)."""
        return self.snr_type == "xt_calculation"

    @property
    def external(self) -> bool:
        """Whether formats and SNR come from FUSION's pre-calculated files."""
        return self.snr_type == "snr_e2e_external_resources"

    @property
    def routing_k(self) -> int:
        """Candidate paths per request."""
        return 1 if self.route_method == "shortest_path" else self.k_paths

    def arrival_rate(self, erlang: float) -> float:
        """Requests per unit time at ``erlang``, as the chosen FUSION runner sets it."""
        if self.runner == "network_simulator":
            return (self.cores_per_link * erlang) / self.holding_time
        return erlang / self.holding_time

    def saves_after(self, iteration: int) -> bool:
        """Whether FUSION writes a load's file after ``iteration`` (0-based): the first,
        the last and every ``save_step``-th (``simulation.py``, end of ``run_iteration``)."""
        return (
            iteration == 0
            or iteration + 1 == self.max_iters
            or (iteration + 1) % self.save_step == 0
        )


def erlang_points(start: float, stop: float, step: float, runner: str = "run_sim") -> list[float]:
    """The loads FUSION's ``runner`` simulates for start/stop/step (see :data:`RUNNERS`)."""
    if runner == "network_simulator":
        return [float(x) for x in range(int(start), int(stop) + 1, int(step))]
    points = []
    current = float(start)
    while current <= stop:
        points.append(current)
        current += step
    return points


class QuotaError(ValueError):
    """``num_requests`` does not split exactly by the bandwidth distribution."""


def bandwidth_quotas(
    bandwidths: Sequence[int], distribution: Mapping[str, float], num_requests: int
) -> list[int]:
    """Requests per bandwidth: exactly ``int(p * N)`` each, which must add up to N.

    FUSION refuses a split that does not add up (``validate_request_distribution``).
    """
    quotas = [int(float(distribution.get(str(bw), 0.0)) * num_requests) for bw in bandwidths]
    if sum(quotas) != num_requests:
        counts = ", ".join(f"{bw}G: {n}" for bw, n in zip(bandwidths, quotas, strict=True))
        raise QuotaError(
            f"num_requests = {num_requests} does not split exactly by request_distribution "
            f"(int(p * N) gives {counts}; sum {sum(quotas)})"
        )
    return quotas
