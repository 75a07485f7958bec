"""A run's files: list them, resolve a requested path safely, load them into pandas.

Paths come from HTTP requests and notebook users, so nothing here ever hands back a
path outside the run directory, whatever ``..``, symlink or odd byte it is given.
Results are read from FUSION's own per-Erlang JSON format as well as from the table
the built-in simulator writes, so both simulators give the same summary.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import re
import stat
import statistics
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fusion_jupyter.engine.blocking import RESULT_COLUMNS, fusion_ci_rate, fusion_variance
from fusion_jupyter.engine.errors import Forbidden, NotFound, Problem, ValidationFailed

if TYPE_CHECKING:  # pandas is imported by what loads a table, not by the server's start
    import pandas as pd

logger = logging.getLogger(__name__)

RESULT_TABLES: tuple[str, ...] = ("results.parquet", "results.csv")
"""Summary tables a simulator may write into its output directory, in order of preference."""

_ERLANG_FILE_RE = re.compile(r"(?P<erlang>.+)_erlang\.json")
_STAT_SUFFIXES = ("_mean", "_min", "_max")
_KINDS: dict[str, str] = {
    **dict.fromkeys((".csv", ".tsv", ".parquet", ".jsonl"), "table"),
    ".json": "json",
    **dict.fromkeys((".log", ".txt", ".out", ".err"), "log"),
    **dict.fromkeys((".ini", ".cfg", ".toml", ".yaml", ".yml"), "config"),
    **dict.fromkeys((".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"), "image"),
    ".pdf": "document",
}


@dataclass(frozen=True)
class Artifact:
    """One file of a run, as the artifact table and the download route see it."""

    path: str
    size: int
    modified: datetime
    kind: str

    def to_dict(self) -> dict[str, Any]:
        """JSON shape: ``modified`` as ISO-8601 UTC with a ``Z``."""
        stamp = self.modified.astimezone(timezone.utc).isoformat(timespec="milliseconds")
        return {
            "path": self.path,
            "size": self.size,
            "modified": stamp.replace("+00:00", "Z"),
            "kind": self.kind,
        }


def artifact_kind(name: str) -> str:
    """What a file is for display: table, json, log, config, image, document or other."""
    return _KINDS.get(Path(name).suffix.lower(), "other")


# --------------------------------------------------------------------------- walking


def _is_within(path: str, root: str) -> bool:
    return os.path.commonpath([path, root]) == root


def _existing_root(run_dir: Path) -> str:
    root = os.path.realpath(run_dir)
    if not Path(root).is_dir():
        raise NotFound(f"run directory {str(run_dir)!r} does not exist")
    return root


def _file_stat(entry: os.DirEntry[str], root: str) -> os.stat_result | None:
    """The stat of a regular file to list, or None for anything that must not be listed."""
    if not entry.is_symlink():
        return entry.stat(follow_symlinks=False) if entry.is_file(follow_symlinks=False) else None
    # A symlink is listed only when it names a regular file inside the run directory;
    # directory symlinks are never followed, which also rules out cycles.
    if not _is_within(os.path.realpath(entry.path), root):
        return None
    try:
        target = entry.stat()
    except OSError:
        return None
    return target if stat.S_ISREG(target.st_mode) else None


def _walk_files(root: str) -> Iterator[tuple[str, os.stat_result]]:
    """(POSIX relative path, stat) of every listable file under ``root``, unordered."""
    pending = [(root, "")]
    while pending:
        directory, prefix = pending.pop()
        try:
            entries = os.scandir(directory)
        except OSError:
            continue  # removed or unreadable while we walk: list what is still there
        with entries:
            for entry in entries:
                relative = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):
                    pending.append((entry.path, relative + "/"))
                    continue
                file_stat = _file_stat(entry, root)
                if file_stat is not None:
                    yield relative, file_stat


_NUMBER_RE = re.compile(r"(\d+(?:\.\d+)?)")


def natural_key(path: str) -> tuple[tuple[int, float | str], ...]:
    """Sort key reading numbers as numbers: ``400.0_erlang.json`` before ``1000.0_...``.

    So that ``glob("output/*_erlang.json")[-1]`` is the highest load, as a user expects.
    """
    return tuple(
        (0, float(part)) if index % 2 else (1, part)
        for index, part in enumerate(_NUMBER_RE.split(path))
    )


def list_artifacts(run_dir: Path) -> list[Artifact]:
    """Every file of a run, recursively, in natural path order; nothing reached through an
    escape."""
    return sorted(
        (
            Artifact(
                path=relative,
                size=file_stat.st_size,
                modified=datetime.fromtimestamp(file_stat.st_mtime, tz=timezone.utc),
                kind=artifact_kind(relative),
            )
            for relative, file_stat in _walk_files(_existing_root(run_dir))
        ),
        key=lambda artifact: natural_key(artifact.path),
    )


# --------------------------------------------------------------------------- resolving


def _unsafe_reason(relpath: str) -> str | None:
    if not relpath:
        return "the path is empty"
    if "\x00" in relpath:
        return "it contains a NUL byte"
    if "\\" in relpath:
        return "it contains a backslash"
    if relpath.startswith("/"):
        return "it is absolute"
    if ".." in relpath.split("/"):
        return "it contains a '..' component"
    if not _parts(relpath):
        return "it names the run directory itself, not a file in it"
    return None


def _parts(relpath: str) -> list[str]:
    return [part for part in relpath.split("/") if part not in ("", ".")]


def _forbidden(relpath: str, reason: str) -> Forbidden:
    return Forbidden(
        f"refusing artifact path {relpath!r}: {reason}", details={"path": relpath, "reason": reason}
    )


def resolve(run_dir: Path, relpath: str) -> Path:
    """The real path of ``relpath`` inside ``run_dir``; never a path outside it.

    Forbidden for empty, absolute, ``..``, NUL or backslash paths and for symlinks that
    lead out of the run directory; NotFound when the file does not exist.
    """
    reason = _unsafe_reason(relpath)
    if reason:
        raise _forbidden(relpath, reason)
    root = _existing_root(run_dir)
    real = os.path.realpath(Path(root).joinpath(*_parts(relpath)))
    if not _is_within(real, root):
        # Without '..' the only way out is a symlink on the way.
        raise _forbidden(relpath, "it goes through a symlink that leads outside the run directory")
    if not Path(real).exists():
        raise NotFound(f"artifact {relpath!r} does not exist", details={"path": relpath})
    return Path(real)


# --------------------------------------------------------------------------- FUSION JSON


def _number(value: Any) -> float:
    """A JSON number as float; null (and anything else) as NaN."""
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if is_number else math.nan


def _iter_stats(data: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """FUSION's ``iter_stats`` keyed by 0-based iteration number, in order."""
    stats: dict[int, dict[str, Any]] = {}
    for key, entry in data.get("iter_stats", {}).items():
        if isinstance(entry, dict) and str(key).isdigit():
            stats[int(key)] = entry
    return dict(sorted(stats.items()))


def _per_iteration(stats: dict[int, dict[str, Any]], name: str) -> list[float]:
    """One value per completed iteration, from the newest snapshot of list ``name``.

    FUSION appends each iteration's blocking to ``sim_block_list`` and only clears it at
    iteration 0 of an Erlang load, so ``iter_stats[i].sim_block_list`` holds iterations
    0..i and the newest snapshot has them all (older snapshots only exist every
    ``save_step`` iterations).
    """
    for entry in reversed(stats.values()):
        values = entry.get(name)
        if isinstance(values, list):
            return [_number(value) for value in values]
    return []


def _erlang_from_name(name: str) -> float | None:
    """300.0 for FUSION's ``300.0_erlang.json``; None for any other file name."""
    match = _ERLANG_FILE_RE.fullmatch(name)
    try:
        return float(match.group("erlang")) if match else None
    except ValueError:
        return None


def _erlang_of(path: Path, data: dict[str, Any]) -> float:
    erlang = _erlang_from_name(path.name)
    return _number(data.get("erlang")) if erlang is None else erlang


def _is_erlang_result(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("iter_stats"), dict)


def _stat_columns(stats: dict[int, dict[str, Any]]) -> list[str]:
    """Per-iteration scalar statistics FUSION saved (hops_mean, lengths_max, ...)."""
    names = {
        name
        for entry in stats.values()
        for name, value in entry.items()
        if name.endswith(_STAT_SUFFIXES) and (value is None or not math.isnan(_number(value)))
    }
    return sorted(names)


def erlang_iterations(data: dict[str, Any], erlang: float) -> pd.DataFrame:
    """A FUSION ``<erlang>_erlang.json`` as one row per iteration (numbered from 1).

    blocking_prob and bit_rate_blocking come from the newest ``sim_block_list`` /
    ``sim_br_block_list``, so every completed iteration has a row even when FUSION
    saved its other statistics only every ``save_step`` iterations; those other
    columns are NaN for iterations without a snapshot.
    """
    import pandas as pd

    stats = _iter_stats(data)
    blocking = _per_iteration(stats, "sim_block_list")
    bit_rate = _per_iteration(stats, "sim_br_block_list")
    count = max(len(blocking), len(bit_rate), max(stats, default=-1) + 1)
    columns = _stat_columns(stats)
    rows = [
        {
            "erlang": erlang,
            "iteration": index + 1,
            "blocking_prob": blocking[index] if index < len(blocking) else math.nan,
            "bit_rate_blocking": bit_rate[index] if index < len(bit_rate) else math.nan,
            **{name: _number(stats.get(index, {}).get(name)) for name in columns},
        }
        for index in range(count)
    ]
    return pd.DataFrame(
        rows, columns=["erlang", "iteration", "blocking_prob", "bit_rate_blocking", *columns]
    )


def _given_or(data: dict[str, Any], name: str, compute: Callable[[], float]) -> float:
    """FUSION's own figure when it wrote one, else ours (it writes null in training mode)."""
    value = _number(data.get(name))
    return compute() if math.isnan(value) else value


def erlang_summary(data: dict[str, Any], erlang: float) -> dict[str, float]:
    """One results row from a FUSION per-Erlang JSON: mean, variance and 90 % CI of blocking.

    FUSION's own ``blocking_mean``, ``blocking_variance``, ``ci_rate_block`` and
    ``ci_percent_block`` are used when present; when they are null (``is_training =
    True``) they are computed from the per-iteration values the way FUSION would:
    ci = 1.645 * sqrt(var) / sqrt(n), ci_percent = 200 * ci / mean. ci_lower is not clipped at 0.
    """

    stats = _iter_stats(data)
    blocking = _per_iteration(stats, "sim_block_list")
    bit_rate = _per_iteration(stats, "sim_br_block_list")
    count = len(blocking) or len(stats)
    mean = _given_or(
        data, "blocking_mean", lambda: statistics.fmean(blocking) if blocking else math.nan
    )
    variance = _given_or(data, "blocking_variance", lambda: fusion_variance(blocking))
    ci = _given_or(
        data, "ci_rate_block", lambda: fusion_ci_rate(variance, count) if count else math.nan
    )
    ci_percent = _given_or(
        data, "ci_percent_block", lambda: 200 * ci / mean if mean > 0 else math.nan
    )
    return {
        "erlang": erlang,
        "iterations": count,
        "blocking_mean": mean,
        "blocking_variance": variance,
        "ci_lower": mean - ci,
        "ci_upper": mean + ci,
        "ci_percent": ci_percent,
        "bit_rate_blocking_mean": _given_or(
            data,
            "bit_rate_blocking_mean",
            lambda: statistics.fmean(bit_rate) if bit_rate else math.nan,
        ),
    }


# --------------------------------------------------------------------------- loading


def _unreadable(path: Path, exc: Exception) -> ValidationFailed:
    return ValidationFailed([Problem("path", "", f"cannot read {str(path)!r}: {exc}")])


def _load_json(path: Path) -> pd.DataFrame:
    import pandas as pd

    data = json.loads(path.read_bytes())
    if _is_erlang_result(data):
        return erlang_iterations(data, _erlang_of(path, data))
    if isinstance(data, dict) or (
        isinstance(data, list) and all(isinstance(row, dict) for row in data)
    ):
        return pd.json_normalize(data)
    return pd.DataFrame({"value": data if isinstance(data, list) else [data]})


def _load_jsonl(path: Path) -> pd.DataFrame:
    import pandas as pd

    lines = path.read_text(encoding="utf-8").split("\n")
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except ValueError as exc:
            if number == len(lines):
                break  # a last line still being written by a live simulator
            raise ValueError(f"line {number}: {exc}") from None
    return pd.json_normalize(rows)


def _load_csv(path: Path) -> pd.DataFrame:
    import pandas as pd

    return pd.read_csv(path)


def _load_parquet(path: Path) -> pd.DataFrame:
    import pandas as pd

    return pd.read_parquet(path)


_LOADERS: dict[str, Callable[[Path], pd.DataFrame]] = {
    ".csv": _load_csv,
    ".parquet": _load_parquet,
    ".json": _load_json,
    ".jsonl": _load_jsonl,
}


def load(path: Path) -> pd.DataFrame:
    """An artifact as a DataFrame: .csv, .parquet, .json (FUSION per-Erlang files tidy, one
    row per iteration; other JSON flattened) or .jsonl (one row per line)."""
    loader = _LOADERS.get(path.suffix.lower())
    if loader is None:
        kinds = ", ".join(sorted(_LOADERS))
        raise ValidationFailed(
            [Problem("path", "", f"cannot load {str(path)!r}: supported kinds are {kinds}")]
        )
    if not path.is_file():
        raise NotFound(f"{str(path)!r} does not exist")
    try:
        return loader(path)
    except ValueError as exc:  # JSON, CSV, Parquet and Unicode errors all derive from it
        raise _unreadable(path, exc) from exc


def _empty_results() -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame({column: pd.Series(dtype="float64") for column in RESULT_COLUMNS})
    return frame.astype({"iterations": "int64"})


def _with_result_columns(frame: pd.DataFrame) -> pd.DataFrame:
    for column in RESULT_COLUMNS:
        if column not in frame.columns:
            frame[column] = math.nan
    extra = [column for column in frame.columns if column not in RESULT_COLUMNS]
    ordered = frame[[*RESULT_COLUMNS, *extra]]
    return ordered.sort_values("erlang", kind="stable").reset_index(drop=True)


def _latest_erlang_files(root: str) -> dict[float, Path]:
    """The newest ``*_erlang.json`` per Erlang load (a rerun into the same tree wins)."""
    newest: dict[float, tuple[float, str]] = {}
    for relative, file_stat in _walk_files(root):
        erlang = _erlang_from_name(relative.rsplit("/", 1)[-1])
        if erlang is None:
            continue
        candidate = (file_stat.st_mtime, relative)
        if erlang not in newest or candidate > newest[erlang]:
            newest[erlang] = candidate
    return {erlang: Path(root, relative) for erlang, (_, relative) in newest.items()}


def _summary_from_json(root: str) -> list[dict[str, float]]:
    rows = []
    for erlang, path in _latest_erlang_files(root).items():
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError) as exc:
            # FUSION rewrites these files in place, so a live run can show a torn one.
            logger.warning("skipping unreadable result file %s: %s", path, exc)
            continue
        if _is_erlang_result(data):
            rows.append(erlang_summary(data, erlang))
    return rows


def iterations_run(events: Iterable[Mapping[str, Any]]) -> dict[float, int]:
    """Per Erlang load, how many iterations the progress stream counted."""
    counted: dict[float, int] = {}
    for event in events:
        if event.get("type") == "iteration" and event.get("erlang") is not None:
            erlang = float(event["erlang"])
            counted[erlang] = max(counted.get(erlang, 0), int(event.get("iteration") or 0))
    return counted


def compare_iterations(frame: pd.DataFrame, counted: Mapping[float, int]) -> pd.DataFrame:
    """``frame`` with ``iterations_saved`` (what its files hold) and ``iterations_run``
    (what the progress stream counted) after the RESULT_COLUMNS.

    FUSION rewrites a per-Erlang file only every ``save_step`` iterations and at the
    last one, so a run that stops early (a cancel, a confidence interval reached) may
    have run iterations its file does not hold; a row where ``iterations_run`` is the
    larger describes fewer iterations than ran, and a warning says so. The built-in
    simulator's own table (``results.csv``) counts every iteration that ran, so its two
    columns agree (its JSON files are saved as FUSION saves them).
    """
    frame = frame.copy()
    saved = frame["iterations"]
    run = [counted.get(float(e), math.nan) for e in frame["erlang"]]
    at = len(RESULT_COLUMNS)  # after the columns every table has, in their order
    frame.insert(at, "iterations_saved", saved)
    frame.insert(at + 1, "iterations_run", [float(value) for value in run])
    stale = frame[frame["iterations_run"] > frame["iterations_saved"]]
    for _, row in stale.iterrows():
        logger.warning(
            "results at %s Erlang hold %d iteration(s) of the %d that ran (the simulator "
            "saved its file before the last ones)",
            row["erlang"],
            row["iterations_saved"],
            row["iterations_run"],
        )
    return frame


def stale_rows_message(frame: pd.DataFrame) -> str | None:
    """A warning for the rows whose saved iterations are fewer than those that ran."""
    if "iterations_run" not in frame.columns:
        return None
    stale = frame[frame["iterations_run"] > frame["iterations_saved"]]
    if stale.empty:
        return None
    loads = ", ".join(
        f"{erlang:g} Erlang: {saved:.0f} of {ran:.0f}"
        for erlang, saved, ran in zip(
            stale["erlang"], stale["iterations_saved"], stale["iterations_run"], strict=True
        )
    )
    return (
        f"the saved results hold fewer iterations than ran ({loads}): the simulator "
        "saves only every save_step iterations (see the iterations_saved and "
        "iterations_run columns)"
    )


def results(output_dir: Path) -> pd.DataFrame:
    """The per-Erlang summary of a run, sorted by erlang, with at least RESULT_COLUMNS.

    A ``results.parquet`` / ``results.csv`` the built-in simulator wrote is used as is;
    otherwise the table is built from FUSION's ``*_erlang.json`` files anywhere under
    ``output_dir``. Empty (with the columns) when there is nothing yet.
    """
    if not Path(output_dir).is_dir():
        return _empty_results()
    root = os.path.realpath(output_dir)
    for name in RESULT_TABLES:
        table = os.path.realpath(Path(root, name))
        if _is_within(table, root) and Path(table).is_file():
            return _with_result_columns(load(Path(table)))
    rows = _summary_from_json(root)
    if not rows:
        return _empty_results()
    import pandas as pd

    return _with_result_columns(pd.DataFrame(rows))


def _cell(value: Any) -> float | None:
    """A table cell (a CSV string, a numpy number, JSON) as a float; blank or NaN as None."""
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _csv_rows(path: Path) -> list[dict[str, Any]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _table_rows(root: Path) -> Sequence[Mapping[Any, Any]]:
    """The rows of the run's results table, or of its FUSION files' summaries."""
    real = os.path.realpath(root)
    for name in RESULT_TABLES:
        table = Path(os.path.realpath(Path(real, name)))
        if not (_is_within(str(table), real) and table.is_file()):
            continue
        if table.suffix != ".csv":
            return results(root).to_dict("records")
        try:
            return _csv_rows(table)
        except (OSError, ValueError) as exc:
            raise _unreadable(table, exc) from exc
    return _summary_from_json(real)


def _load_order(point: Mapping[str, float | None]) -> float:
    erlang = point.get("erlang")
    return math.inf if erlang is None else erlang


def result_points(output_dir: Path, columns: Iterable[str]) -> list[dict[str, float | None]]:
    """``columns`` of :func:`results`' rows, sorted by erlang, read without pandas.

    A sweep's curves are redrawn each time one of its runs ends; importing pandas for
    that would make the first redraws wait for the import. Only a ``results.parquet``
    needs pandas (and gets it through :func:`results`).
    """
    wanted = list(columns)
    if not Path(output_dir).is_dir():
        return []
    points = [{c: _cell(row.get(c)) for c in wanted} for row in _table_rows(Path(output_dir))]
    return sorted(points, key=_load_order)


__all__ = [
    "RESULT_COLUMNS",
    "RESULT_TABLES",
    "Artifact",
    "artifact_kind",
    "compare_iterations",
    "erlang_iterations",
    "erlang_summary",
    "iterations_run",
    "list_artifacts",
    "load",
    "resolve",
    "result_points",
    "results",
    "stale_rows_message",
]
