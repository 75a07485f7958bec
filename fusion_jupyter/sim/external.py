"""FUSION's external resources: pre-calculated paths, formats and SNR per slot.

With ``route_method = external_ksp`` FUSION reads its candidate paths from a file
instead of computing them, and with ``snr_type = snr_e2e_external_resources`` it reads
each lightpath's format and SNR from two more, indexed by (connection, slot, path)
(``fusion/core/routing.py`` ``load_k_shortest``, ``fusion/modules/snr/utils.py``,
``fusion/core/snr_measurements.py`` ``check_snr_ext``). The files are numpy arrays
under ``data/pre_calc/<network>/`` of FUSION's root; this module reads them as FUSION
does and hands out plain Python values (``tolist`` keeps every float exactly).

* ``paths/<file>``: one row per connection (unordered node pair). Column 5 holds its
  paths (node arrays, in the direction of the first path's first node), column 3
  their lengths in km, which FUSION uses as the path weight.
* ``modulations/<file>``, ``snr/<file>``: per connection, slot index and path index,
  the format key (FUSION's ``modulation_format_mapping_dict``: 1 BPSK ... 6 64-QAM,
  0 none) and the SNR in dB. The slot index counts the L band first, then C, then S.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

from fusion_jupyter.sim.topology import fusion_data_root

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from _typeshed import StrPath

#: FUSION's file-name prefix per network with pre-calculated resources.
PREFIXES: dict[str, str] = {"USbackbone60": "USB6014", "Spainbackbone30": "SPNB3014"}

#: The (adjacent cores, cores per link) classes FUSION maps to format and SNR files
#: (``SNRProps.file_mapping_dict``; multi-fibre is left out: it is not modelled).
SNR_CLASSES = ((2, 4), (6, 7), (3, 7), (2, 13), (5, 13), (6, 13), (6, 19), (3, 19), (4, 19))


def path_file(network: str) -> str:
    """FUSION's pre-calculated path file of ``network`` (``load_k_shortest``)."""
    return f"{PREFIXES[network]}-10SP.npy"


def snr_files(network: str, key: tuple[int, int]) -> tuple[str, str] | None:
    """The (format, SNR) files of one core class, or None where FUSION maps none."""
    if key not in SNR_CLASSES:
        return None
    adjacent, cores = key
    name = f"{PREFIXES[network]}-MCF{cores}-C{adjacent}.npy"
    return f"MF-{name}", f"GSNR-{name}"


#: FUSION's format names by file key (``SNRProps.modulation_format_mapping_dict``).
FORMAT_NAMES: dict[int, str] = {
    6: "64-QAM",
    5: "32-QAM",
    4: "16-QAM",
    3: "8-QAM",
    2: "QPSK",
    1: "BPSK",
}

#: FUSION's capacity of a lightpath per format with external resources, Gb/s
#: (``SNRProps.bandwidth_mapping_dict``).
CAPACITY: dict[str, int] = {
    "64-QAM": 600,
    "32-QAM": 500,
    "16-QAM": 400,
    "8-QAM": 300,
    "QPSK": 200,
    "BPSK": 100,
}


class ExternalResourceError(ValueError):
    """A pre-calculated file FUSION would read is missing or not what it expects."""


def adjacent_cores(cores_per_link: int, core: int) -> int:
    """FUSION's ``find_number_of_adjacent_cores``: which SNR file a core reads."""
    if cores_per_link == 4:
        return 2
    if cores_per_link == 7:
        return 6 if core == 6 else 3
    if cores_per_link == 13:
        return 2 if core < 6 else 5 if core < 12 else 6
    if cores_per_link == 19:
        return 6 if core >= 12 else 3 if core % 2 == 0 else 4
    return 0


def pre_calc_dir(network: str, fusion_root: StrPath | None) -> str:
    """``data/pre_calc/<network>`` under FUSION's root (default: the shipped copy)."""
    root = fusion_data_root() if fusion_root is None else os.fspath(fusion_root)
    return os.path.join(root, "data", "pre_calc", network)


def missing_files(network: str, cores_per_link: int, fusion_root: StrPath | None) -> list[str]:
    """The pre-calculated files a run would read that are not there (FUSION crashes)."""
    base = pre_calc_dir(network, fusion_root)
    if network not in PREFIXES:
        return [f"data/pre_calc/{network} (FUSION has no pre-calculated paths for it)"]
    wanted = [("paths", path_file(network))]
    cores = range(cores_per_link)
    for key in sorted({(adjacent_cores(cores_per_link, core), cores_per_link) for core in cores}):
        files = snr_files(network, key)
        if files is None:
            return [f"an SNR file for {cores_per_link} cores per link (FUSION has none)"]
        wanted += [("modulations", files[0]), ("snr", files[1])]
    return [
        f"data/pre_calc/{network}/{folder}/{name}"
        for folder, name in wanted
        if not os.path.isfile(os.path.join(base, folder, name))
    ]


def slot_count(network: str, cores_per_link: int, fusion_root: StrPath | None) -> int:
    """Slot indices the format file of ``cores_per_link`` (core 0's class) covers."""
    key = (adjacent_cores(cores_per_link, 0), cores_per_link)
    root = None if fusion_root is None else str(fusion_root)
    return external_snr(network, root, key).slots


@dataclass(frozen=True)
class ExternalPath:
    """One pre-calculated candidate path of a connection, in the request's direction."""

    nodes: tuple[str, ...]
    #: FUSION's path weight: the file's length, km.
    length_km: float
    #: Which connection row of the files the pair is.
    connection: int


def _load(file: str) -> Any:
    import numpy as np

    try:
        with open(file, "rb") as handle:
            return np.load(handle, allow_pickle=True)
    except (OSError, ValueError) as exc:
        raise ExternalResourceError(f"cannot read {file!r}: {exc}") from None


class ExternalPaths:
    """FUSION's pre-calculated k shortest paths of a network (``load_k_shortest``)."""

    def __init__(self, network: str, fusion_root: StrPath | None, k: int) -> None:
        rows = _load(os.path.join(pre_calc_dir(network, fusion_root), "paths", path_file(network)))
        self.k = k
        #: Per connection: its paths' node lists (first path's direction) and lengths.
        self._rows: list[tuple[list[list[int]], list[float]]] = []
        for row in rows:
            paths = [list(path[0].tolist()) for path in row[5][0]]
            self._rows.append((paths, row[3][0].astype("float64").tolist()))

    def paths(self, src: str, dst: str) -> list[ExternalPath]:
        """The first ``k`` paths of the first connection joining src and dst, src first."""
        ends = (int(src), int(dst))
        for connection, (paths, lengths) in enumerate(self._rows):
            first = paths[0]
            if first[0] in ends and first[-1] in ends:
                forward = first[0] == ends[0]
                return [
                    ExternalPath(
                        tuple(str(node) for node in (path if forward else path[::-1])),
                        lengths[index],
                        connection,
                    )
                    for index, path in enumerate(paths[: self.k])
                ]
        return []


class ExternalSnr:
    """Format keys and SNR per (connection, slot index, path index) for one core class."""

    def __init__(self, network: str, fusion_root: StrPath | None, key: tuple[int, int]) -> None:
        files = snr_files(network, key)
        if files is None:
            raise ExternalResourceError(f"FUSION maps no SNR file to {key} for {network}")
        mf_name, snr_name = files
        base = pre_calc_dir(network, fusion_root)
        # Kept as arrays: only the columns of the paths requests use become Python values.
        self._formats = _load(os.path.join(base, "modulations", mf_name))
        self._snr_db = _load(os.path.join(base, "snr", snr_name))

    @property
    def slots(self) -> int:
        """Slot indices the files cover."""
        return int(self._formats.shape[1])

    def column(self, connection: int, path_index: int) -> tuple[tuple[int, ...], tuple[float, ...]]:
        """Every slot's format key and SNR for one path of one connection."""
        formats = tuple(self._formats[connection, :, path_index].tolist())
        snrs = tuple(self._snr_db[connection, :, path_index].tolist())
        return formats, snrs


@cache
def external_paths(network: str, fusion_root: str | None, k: int) -> ExternalPaths:
    """The pre-calculated paths, read once per process."""
    return ExternalPaths(network, fusion_root, k)


@cache
def external_snr(network: str, fusion_root: str | None, key: tuple[int, int]) -> ExternalSnr:
    """The pre-calculated formats and SNR of one core class, read once per process."""
    return ExternalSnr(network, fusion_root, key)
