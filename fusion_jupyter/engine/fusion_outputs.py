"""Taking a FUSION run's files out of FUSION's tree and into the run's ``output/``.

FUSION writes under its own project root, in directories named after the moment
its batch runner started (``HH_MM_SS_ffffff``), and cannot be pointed elsewhere:

- ``<root>/data/output/<network>/<MMDD>/<time>/<thread>/<erlang>_erlang.json``,
  announced by its ``Saving to: <that thread directory>`` log line;
- ``<root>/data/input/<network>/<MMDD>/<time>/bw_info_<thread>.json`` (written
  before the first Erlang load, never announced; the same ``<time>``).

A run's directories are known from its own ``Saving to:`` line, never by looking
for the newest, so two runs at once never take each other's files. Everything in
them is moved (``os.rename`` on one file system) into the run's ``output/``: the
thread directory's files at its top (as the built-in simulator writes them), the
input files under ``output/fusion_input/``. The emptied ``<time>`` directories go,
and their parents when nothing else is left in them.

Standard library only: the run's launcher imports it.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

#: Where the input files of a FUSION run go inside its output/.
INPUT_SUBDIR = "fusion_input"
_TIME_DIR_RE = re.compile(r"\d\d_\d\d_\d\d_\d{6}")
_DATE_DIR_RE = re.compile(r"\d{4}")


def run_dirs(saving_to: str) -> tuple[Path, Path, Path] | None:
    """(FUSION's data dir, its output ``<time>`` dir, its input ``<time>`` dir) for the
    directory a ``Saving to:`` line names; None if it is not laid out as FUSION's."""
    thread_dir = Path(saving_to)
    if not thread_dir.is_absolute() or len(thread_dir.parts) < 7 or ".." in thread_dir.parts:
        return None
    time_dir = thread_dir.parent
    date_dir, network_dir = time_dir.parent, time_dir.parent.parent
    output_dir = network_dir.parent
    data_dir = output_dir.parent
    laid_out = (
        output_dir.name == "output"
        and data_dir.name == "data"
        and _TIME_DIR_RE.fullmatch(time_dir.name) is not None
        and _DATE_DIR_RE.fullmatch(date_dir.name) is not None
    )
    if not laid_out:
        return None
    return data_dir, time_dir, data_dir / "input" / time_dir.relative_to(output_dir)


def input_dir_between(data_dir: str, network: str, began: float, until: float) -> Path | None:
    """The input directory of a FUSION run that failed before it saved anything.

    FUSION names it by the moment its batch runner started (local time), after the
    run's process started (``began``) and before it logged its first Erlang load
    (``until``), which it does only once the directory is written. So the run's own
    directory is among those stamped in that window; when it is the only one, it is
    the run's. With several (runs started together) None: another run's is never taken.
    """
    from datetime import datetime

    start, end = datetime.fromtimestamp(began), datetime.fromtimestamp(until)
    found = []
    for day in {start.strftime("%m%d"), end.strftime("%m%d")}:
        base = Path(data_dir, "input", network, day)
        for directory in base.glob("*") if base.is_dir() else ():
            try:
                stamp = datetime.strptime(f"{start.year}{day}{directory.name}", "%Y%m%d%H_%M_%S_%f")
            except ValueError:
                continue
            if start <= stamp <= end:
                found.append(directory)
    return found[0] if len(found) == 1 else None


def move_input_dir(input_dir: Path, dest: str) -> None:
    """Move a FUSION input directory found by :func:`input_dir_between` into ``dest``."""
    _move_tree(input_dir, Path(dest, INPUT_SUBDIR))
    _remove_empty_up_to(input_dir, input_dir.parents[3])


def move_run_outputs(saving_to: list[str], dest: str) -> None:
    """Move every file of the FUSION directories named in ``saving_to`` into ``dest``."""
    for announced in saving_to:
        found = run_dirs(announced)
        if found is None:
            continue
        data_dir, time_dir, input_dir = found
        _move_tree(Path(announced), Path(dest))
        _move_tree(time_dir, Path(dest, "fusion_output"))  # other threads' files, if any
        _move_tree(input_dir, Path(dest, INPUT_SUBDIR))
        for directory in (time_dir, input_dir):
            _remove_empty_up_to(directory, data_dir)


def remove_leftovers(time_dirs: list[str]) -> None:
    """Remove what is left of a run in FUSION's tree (purge): only directories laid out
    as FUSION's ``data/{output,input}/<network>/<MMDD>/<time>``, and empty parents."""
    for name in time_dirs:
        directory = Path(name)
        if len(directory.parts) < 6 or ".." in directory.parts:
            continue
        data_dir = directory.parents[3]
        laid_out = (
            directory.parents[2].name in ("output", "input")
            and data_dir.name == "data"
            and _TIME_DIR_RE.fullmatch(directory.name) is not None
        )
        if laid_out:
            shutil.rmtree(directory, ignore_errors=True)
            _remove_empty_up_to(directory.parent, data_dir)


def _move_tree(source: Path, dest: Path) -> None:
    """Move the files under ``source`` to the same relative paths under ``dest``."""
    if not source.is_dir():
        return
    for path in sorted(source.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and not path.is_symlink():
            _rmdir_quietly(path)  # deepest first: emptied by the moves before it
            continue
        target = dest / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
    _rmdir_quietly(source)


def _remove_empty_up_to(directory: Path, data_dir: Path) -> None:
    """rmdir ``directory`` and its parents while they are empty, up to (not including)
    ``data/output`` and ``data/input``, which FUSION expects to exist."""
    keep = {data_dir, data_dir / "output", data_dir / "input"}
    while directory not in keep and directory.is_relative_to(data_dir):
        if not _rmdir_quietly(directory):
            return
        directory = directory.parent


def _rmdir_quietly(directory: Path) -> bool:
    """Whether ``directory`` is gone (an rmdir fails while another run's files are in it)."""
    try:
        directory.rmdir()
    except OSError:
        return not directory.exists()
    return True
