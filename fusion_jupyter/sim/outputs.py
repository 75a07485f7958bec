"""Result files: FUSION's per-Erlang JSON, and one results table for the whole run.

``<erlang>_erlang.json`` (e.g. ``2000.0_erlang.json``) has FUSION's top-level keys with
FUSION's meanings (fusion-contract.md §3), with the state FUSION saves: after a load's
first and last iteration and every ``save_step``-th one (``SimParams.saves_after``), each
time the state so far, and ``iter_stats`` holds those iterations only. A load the
confidence interval stops early keeps what its last such save held, as in FUSION, with
this simulator's own ``fusion_jupyter`` entry brought up to date. While a load runs, its
file is rewritten at most once every :data:`CHECKPOINT_SECONDS` (FUSION rewrites it
after every saved iteration); it is up to date when the load ends or the run fails.
Keys FUSION does not have:

* ``bit_rate_blocking_corrected_mean`` (top level) and ``sim_br_block_corrected_list``
  (per iteration): bit-rate blocking counting only the bandwidth of blocked requests.
  FUSION's ``bit_rate_blocking_mean`` / ``sim_br_block_list`` keep its quirk of also
  counting the full bandwidth of a request served by slicing after a slicing segment
  failed. Like its FUSION sibling, the corrected mean is null when ``is_training``.
* ``sliced_requests`` (per iteration): requests served by slicing.
* ``fusion_jupyter`` (top level): what this simulator adds: iterations run, whether the
  CI stopped the point early, share of sliced requests, wall time.

``lightpath_utilization`` and ``lp_bw_utilization_dict`` are FUSION's: without grooming
every lightpath is 100 % used; with it, FUSION's time-weighted figure per lightpath.
``link_usage`` is the last iteration's, FUSION's figures
(:mod:`~fusion_jupyter.sim.link_usage`): per directed link, lightpaths set up over it
(``usage_count``), Gb/s x s of the requests that left (``throughput``) and ``link_num``.

``results.csv`` has one row per finished Erlang point, see
:data:`RESULT_COLUMNS`. The table always gives the statistics of the iterations run,
also with ``is_training`` (where FUSION's JSON, and ours, hold null): mean, sample
variance (0.0 for one iteration) and FUSION's confidence interval formula, so that a
table built from FUSION's own JSON files (``engine.artifacts.results``) and this one
agree.
"""

from __future__ import annotations

import csv
import json
import os
import time
from collections.abc import Callable, Sequence

from fusion_jupyter._version import __version__
from fusion_jupyter.engine import blocking
from fusion_jupyter.sim.clock import stamp
from fusion_jupyter.sim.observer import ErlangPoint, Observer
from fusion_jupyter.sim.params import SimParams
from fusion_jupyter.sim.stats import (
    ErlangStats,
    Interval,
    mean_or_none,
    update_interval,
    variance_or_zero,
)
from fusion_jupyter.sim.tally import IterationResult

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from _typeshed import StrPath

#: Least seconds between two rewrites of a load's JSON while the load runs. FUSION
#: rewrites it after every saved iteration, serialising the whole document each time; a
#: small load saves many iterations a second, and those rewrites took 15-20 % of a
#: small fixture's run (1.3 ms each for NSFNet's document, 16 in baseline_kspf_ff).
CHECKPOINT_SECONDS = 1.0

#: Columns of results.csv, in order: every results table's, then ours.
RESULT_COLUMNS = (
    *blocking.RESULT_COLUMNS,
    "bit_rate_blocking_corrected_mean",
    "mean_hops",
    "mean_path_km",
    "sliced_share",
    "wall_seconds",
)
RESULTS_CSV = "results.csv"


def erlang_file_name(erlang: float) -> str:
    """FUSION's file name for one load: the Erlang as a float, e.g. ``300.0_erlang.json``."""
    return f"{float(erlang)}_erlang.json"


#: Keys of the per-Erlang JSON that FUSION does not write (see the module docstring).
ADDED_TOP_KEYS = ("bit_rate_blocking_corrected_mean", "fusion_jupyter")
ADDED_ITERATION_KEYS = ("sim_br_block_corrected_list", "sliced_requests")


def _last_utilization(point: ErlangPoint) -> float | None:
    """FUSION's ``lightpath_utilization``: the mean of the last iteration's list."""
    return point.iterations[-1].lp_utilization_mean if point.iterations else None


#: FUSION's snapshot fields (``SNAP_KEYS_LIST``); its legacy engine never fills them.
SNAPSHOT_KEYS = (
    "occupied_slots",
    "guard_slots",
    "active_requests",
    "blocking_prob",
    "num_segments",
)


def erlang_document(point: ErlangPoint, params: SimParams | None = None) -> dict[str, Any]:
    """The per-Erlang JSON object, in FUSION's shape, as FUSION writes it now.

    ``params`` gives FUSION's saving rules (None: every iteration is written).
    """
    stats = point.stats
    saved = [
        result
        for result in point.iterations
        if params is None or params.saves_after(result.iteration)
    ]
    request = stats.block_ci
    bit_rate = stats.bit_rate_ci
    return {
        "blocking_mean": request.mean,
        "blocking_variance": request.variance,
        "ci_rate_block": request.ci_rate,
        "ci_percent_block": request.ci_percent,
        "bit_rate_blocking_mean": bit_rate.mean,
        "bit_rate_blocking_variance": bit_rate.variance,
        "ci_rate_bit_rate_block": bit_rate.ci_rate,
        "ci_percent_bit_rate_block": bit_rate.ci_percent,
        "bit_rate_blocking_corrected_mean": stats.bit_rate_corrected_ci.mean,
        "lightpath_utilization": _last_utilization(point),
        "link_usage": point.iterations[-1].link_usage if point.iterations else {},
        "iter_stats": {
            str(result.iteration): _iteration_document(point, result, params) for result in saved
        },
        "fusion_jupyter": _about(point),
        "sim_end_time": stamp("%m%d_%H_%M_%S", time.time(), 6, "_"),  # FUSION's %f
    }


def _about(point: ErlangPoint) -> dict[str, Any]:
    """This simulator's own entry: iterations run, the early stop, slicing, wall time."""
    return {
        "simulator": "fusion_jupyter.sim",
        "version": __version__,
        "iterations": point.stats.iterations,
        "stopped_early": point.stopped_early,
        "sliced_share": point.sliced_share,
        "wall_seconds": point.wall_seconds,
    }


def _snapshots(params: SimParams | None) -> dict[str, dict[str, None]]:
    """FUSION's ``snapshots_dict``: every ``snapshot_step`` requests, fields left empty."""
    if params is None or not params.save_snapshots:
        return {}
    steps = range(0, params.num_requests + 1, params.snapshot_step)
    return {str(request): dict.fromkeys(SNAPSHOT_KEYS) for request in steps}


def _iteration_document(
    point: ErlangPoint, result: IterationResult, params: SimParams | None
) -> dict[str, Any]:
    """``iter_stats[i]`` with FUSION's keys; the ``sim_*_list`` values run up to iteration i.

    Per-request lists FUSION only fills on request (snapshots, fragmentation, slot
    lists) and the crosstalk figures are FUSION's empty values for the settings this
    simulator accepts; the SNR figures and demand realization are filled when the
    physical layer and partial service are modelled.
    """
    upto = result.iteration + 1
    stats = point.stats
    utilization = result.lp_utilization_mean
    return {
        "snapshots_dict": _snapshots(params),
        "cores_dict": result.cores,
        "weights_dict": result.weights,
        "mods_used_dict": result.mods_used,
        "demand_realization_ratio": result.demand_realization
        or {"overall": [], **{bw: [] for bw in result.block_bw}},
        "block_bw_dict": result.block_bw,
        "frag_dict": {},
        "lp_bw_utilization_dict": result.lp_utilization,
        "block_reasons_dict": result.block_reasons,
        "link_usage_dict": result.link_usage,
        "sim_block_list": stats.blocking[:upto],
        "sim_br_block_list": stats.bit_rate[:upto],
        **_prefixed("trans_", _flat_summary(result.transponders_mean)),
        **_prefixed("hops_", result.hops.rounded(with_std=False)),
        **_prefixed("lengths_", result.lengths.rounded(with_std=False)),
        **_prefixed("route_times_", {"mean": 0.0, "min": 0.0, "max": 0.0}),
        **_prefixed("xt_", dict.fromkeys(("mean", "min", "max"))),
        **_prefixed("snr_", result.snr or dict.fromkeys(("mean", "min", "max"))),
        "bands_list": [],
        "start_slot_list": [],
        "end_slot_list": [],
        "modulation_list": [],
        "bandwidth_list": [],
        "path_index_list": result.path_index,
        "sim_lp_utilization_list": [] if utilization is None else [utilization],
        # Added by this simulator (ADDED_ITERATION_KEYS):
        "sim_br_block_corrected_list": stats.bit_rate_corrected[:upto],
        "sliced_requests": result.sliced,
    }


def _flat_summary(value: float) -> dict[str, float]:
    """FUSION keeps one transponder figure per iteration, so its mean = min = max."""
    rounded = round(float(value), 2)
    return {"mean": rounded, "min": rounded, "max": rounded}


def _prefixed(prefix: str, values: dict[str, Any]) -> dict[str, Any]:
    return {f"{prefix}{key}": value for key, value in values.items()}


def results_row(point: ErlangPoint) -> dict[str, Any]:
    """One row of the results table (see the module docstring for the null rules)."""
    stats = point.stats
    ci = _table_interval(stats)
    return {
        "erlang": float(point.erlang),
        "iterations": stats.iterations,
        "blocking_mean": mean_or_none(stats.blocking),
        "blocking_variance": variance_or_zero(stats.blocking),
        "ci_lower": ci.lower,
        "ci_upper": ci.upper,
        "ci_percent": ci.ci_percent,
        "bit_rate_blocking_mean": mean_or_none(stats.bit_rate),
        "bit_rate_blocking_corrected_mean": mean_or_none(stats.bit_rate_corrected),
        "mean_hops": mean_or_none(_exact_means(point, lambda r: r.hops.mean)),
        "mean_path_km": mean_or_none(_exact_means(point, lambda r: r.lengths.mean)),
        "sliced_share": point.sliced_share,
        "wall_seconds": point.wall_seconds,
    }


def _table_interval(stats: ErlangStats) -> Interval:
    """FUSION's interval, or, where training switched it off, the same formula applied."""
    if not stats.is_training:
        return stats.block_ci
    interval = Interval()
    if stats.blocking:
        update_interval(interval, stats.blocking)
    return interval


def _exact_means(
    point: ErlangPoint, pick: Callable[[IterationResult], float | None]
) -> list[float]:
    """Per-iteration unrounded means, skipping iterations that routed nothing."""
    return [value for value in map(pick, point.iterations) if value is not None]


def write_json_atomically(path: StrPath, document: Any) -> None:
    """Replace ``path`` in one rename, so a reader never sees half a file."""
    # Compact: json's C encoder is used only without indent. The documents are trees
    # built here, so the encoder's cycle check (a dict of ids per container, 12 % of
    # encoding a load's JSON) has nothing to find.
    text = json.dumps(document, check_circular=False)

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)

    _replace_atomically(path, write)


def write_results(output_dir: StrPath, points: Sequence[ErlangPoint]) -> None:
    """(Re)write results.csv from every finished point.

    Written with the csv module: pandas and pyarrow would cost more start-up than a
    small run simulates. Floats are written as ``repr`` (they read back bit for bit),
    None as an empty field (pandas reads it as NaN); the server serves the table as
    Parquet on request.
    """
    rows = [results_row(point) for point in points]

    def write(tmp: str) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(RESULT_COLUMNS)
            for row in rows:
                writer.writerow(_csv_field(row[column]) for column in RESULT_COLUMNS)

    _replace_atomically(os.path.join(output_dir, RESULTS_CSV), write)


def _csv_field(value: Any) -> str:
    if value is None:
        return ""
    return repr(float(value)) if isinstance(value, float) else str(value)


def _replace_atomically(path: StrPath, write: Callable[[str], object]) -> None:
    # Named by the process, created exclusively: only this process writes its result
    # files, one at a time (tempfile.mkstemp would add its import to every start-up).
    directory, name = os.path.split(path)
    temporary = os.path.join(directory, f".{name}.{os.getpid()}.tmp")
    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    try:
        write(temporary)
        os.replace(temporary, path)
    except BaseException:
        import contextlib  # only on this failure path

        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


class OutputWriter(Observer):
    """Writes the result files as the run goes (an :class:`Observer`).

    A load's JSON holds the state of the last iteration FUSION saves, and is written
    to disk when :data:`CHECKPOINT_SECONDS` have passed since the last write, when the
    load ends, and on :meth:`flush` (the command line calls it when a run fails).
    """

    def __init__(self, output_dir: StrPath, checkpoint_seconds: float = CHECKPOINT_SECONDS) -> None:
        self.output_dir = output_dir
        self.checkpoint_seconds = checkpoint_seconds
        self.finished: list[ErlangPoint] = []
        self._params: SimParams | None = None
        #: The point being run, and its document as last saved (FUSION's state of its
        #: last saved iteration), whether or not it is on disk yet.
        self._point: ErlangPoint | None = None
        #: (None while unwritten: the saved state is the point's current one, made a
        #: document when written, :meth:`iteration_done`.)
        self._saved: dict[str, Any] | None = None
        self._unwritten = False
        self._last_write = time.monotonic()

    def run_started(self, params: SimParams) -> None:
        """Keep FUSION's saving rules of this run, and make the output directory."""
        self._params = params
        os.makedirs(self.output_dir, exist_ok=True)
        self._last_write = time.monotonic()

    def iteration_done(self, point: ErlangPoint, result: IterationResult) -> None:
        """Save the point's state after an iteration FUSION saves it; write it to disk
        if the last write is old enough."""
        if self._params is not None and not self._params.saves_after(result.iteration):
            return
        self._point = point
        self._unwritten = True
        # The point changes only as its next iteration ends. If that one is saved too
        # (or there is none), the document is made only when it is written: FUSION
        # saves every iteration of most configs, and baseline_kspf_ff made 16
        # documents (0.1 ms each) to write 4.
        deferred = self._next_is_saved(result.iteration)
        self._saved = None if deferred else erlang_document(point, self._params)
        if time.monotonic() - self._last_write >= self.checkpoint_seconds:
            self.flush()

    def _next_is_saved(self, iteration: int) -> bool:
        params = self._params
        return (
            params is None or iteration + 1 >= params.max_iters or params.saves_after(iteration + 1)
        )

    def erlang_done(self, point: ErlangPoint) -> None:
        """Write the point's JSON and add the point to the results table. If its last
        iteration was not saved (an early stop), this simulator's own entry of the JSON
        is brought up to date."""
        last = point.iterations[-1].iteration if point.iterations else 0
        if self._saved is not None and self._params and not self._params.saves_after(last):
            self._saved["fusion_jupyter"] = _about(point)
            self._unwritten = True
        self.flush()
        self._point = self._saved = None
        self.finished.append(point)
        write_results(self.output_dir, self.finished)

    def flush(self) -> None:
        """Write the running point's JSON if its saved state is not on disk yet."""
        if not self._unwritten or self._point is None:
            return
        if self._saved is None:
            self._saved = erlang_document(self._point, self._params)
        write_json_atomically(self.json_path(self._point), self._saved)
        self._unwritten = False
        self._last_write = time.monotonic()

    def json_path(self, point: ErlangPoint) -> str:
        """Where a point's JSON goes."""
        return os.path.join(self.output_dir, erlang_file_name(point.erlang))
