"""The simulator's inputs as plain typed values, independent of how they were read.

The model core takes a :class:`SimParams` and nothing else, so it can be driven from
a FUSION INI file (through :mod:`fusion_jupyter.engine.config`), from a test, or from
a benchmark without any config parsing in between.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class SimParams:
    """Everything that takes effect in FUSION's k_shortest_path + first_fit model.

    Defaults are minimal.ini's values, so a test can name only what it varies.
    ``erlangs`` is the list of load points actually simulated; ``erlang_start``,
    ``erlang_stop`` and ``erlang_step`` are kept only to report them as configured.
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
    request_distribution: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_REQUEST_DISTRIBUTION)
    )
    is_training: bool = False
    network: str = "NSFNet"
    #: A topology file in FUSION's format; None means the shipped file for ``network``.
    topology_file: str | None = None
    mod_assumption: str = "DEFAULT"
    #: A modulation table in FUSION's JSON format; None means the shipped table.
    mod_assumption_path: str | None = None
    thread_num: str = "s1"
    print_step: int = 15
