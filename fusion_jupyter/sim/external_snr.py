"""Serving one request with FUSION's external resources on the fixed grid.

The model of FUSION's legacy controller with ``route_method = external_ksp``,
``snr_type = snr_e2e_external_resources``, ``fixed_grid = True`` and ``dynamic_lps``
without grooming (``fusion/core/routing.py`` ``load_k_shortest``,
``fusion/core/spectrum_assignment.py``, ``fusion/core/snr_measurements.py``
``check_snr_ext`` / ``check_snr_ext_slicing``, ``fusion/modules/spectrum/light_path_slicing.py``).
Paths, their weights, and every slot's format and SNR are FUSION's pre-calculated
files (:mod:`~fusion_jupyter.sim.external`); nothing is computed from the occupancy.
Every lightpath is one slot, found by the allocation method (first, last or best fit)
over cores, then bands (C, L, S), then slots.

1. Unsliced, path by path: the first free slot; the request is carried there if the
   file's format for that slot is one of the request's table (FUSION tries each and
   accepts only the file's) and its capacity (FUSION's ``bandwidth_mapping_dict``:
   64-QAM 600 Gb/s ... BPSK 100 Gb/s) covers the request.
2. Otherwise, if ``max_segments > 1``, dynamic slicing path by path: one-slot
   lightpaths at the first free slot with the file's format, each carrying what is
   left up to its capacity, until the request is placed; a path that runs out of
   slots is rolled back. Partial service as with the GSNR.
3. Otherwise the request is blocked.

Lightpaths belong to one request and are torn down when it leaves, with FUSION's
time-weighted utilization (a sliced lightpath may carry less than its capacity).
The grooming controller's fixed-grid machinery does the rest; grooming itself is off.
"""

from __future__ import annotations

from collections.abc import Mapping

from fusion_jupyter.sim.controller import UNSLICEABLE_BANDWIDTH, PathOption
from fusion_jupyter.sim.external import (
    CAPACITY,
    FORMAT_NAMES,
    ExternalPath,
    adjacent_cores,
    external_paths,
    external_snr,
)
from fusion_jupyter.sim.grooming import GroomedLightpath, GroomedRequest, GroomingController
from fusion_jupyter.sim.modulation import ModFormat, ModTable
from fusion_jupyter.sim.physical import Fit
from fusion_jupyter.sim.routing import Route, RouteTable, make_route
from fusion_jupyter.sim.spectrum import Spectrum

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final


class ExternalRoute(Route):
    """A pre-calculated path with its file columns: format key and SNR per slot index."""

    __slots__ = ("formats", "snr_db")

    def __init__(
        self,
        nodes: tuple[str, ...],
        links: tuple[int, ...],
        length_km: float,
        link_lengths_km: tuple[float, ...],
        formats: tuple[int, ...],
        snr_db: tuple[float, ...],
    ) -> None:
        super().__init__(nodes, links, length_km, link_lengths_km)
        self.formats: Final = formats
        self.snr_db: Final = snr_db

    def _fields(self) -> tuple[object, ...]:
        return *super()._fields(), self.formats, self.snr_db


class ExternalController(GroomingController):
    """FUSION's external paths, formats and SNR on the fixed grid (see the module docstring)."""

    capacity: Mapping[str, int] = CAPACITY

    def __init__(
        self,
        spectrum: Spectrum,
        routes: RouteTable,
        mod_table: ModTable,
        *,
        network: str,
        fusion_root: str | None,
        band_slots: Mapping[str, int],
        k_paths: int,
        max_segments: int,
        can_partially_serve: bool,
    ) -> None:
        self.network = network
        self.fusion_root = fusion_root
        # FUSION's get_slot_index: the files count the L band's slots first, then C, then S.
        lower = band_slots.get("l", 0)
        self._band_offsets = {"l": 0, "c": lower, "s": lower + band_slots.get("c", 0)}
        super().__init__(
            spectrum,
            routes,
            mod_table,
            None,  # type: ignore[arg-type]  # no GSNR: the files give the SNR
            bands=tuple(band_slots),
            k_paths=k_paths,
            max_segments=max_segments,
            can_partially_serve=can_partially_serve,
        )
        self._formats_by_name = {
            bandwidth: {fmt.name: fmt for fmt in formats}
            for bandwidth, formats in mod_table.items()
        }

    def options(self, src: str, dst: str) -> tuple[PathOption, ...]:
        """The pre-calculated paths of a pair, with the file's weights and columns."""
        key = (src, dst)
        found = self._options.get(key)
        if found is None:
            found = tuple(
                PathOption(index, self._route(index, path), None, ())
                for index, path in enumerate(
                    external_paths(self.network, self.fusion_root, self.k_paths).paths(src, dst)
                )
            )
            self._options[key] = found
        return found

    def _route(self, index: int, path: ExternalPath) -> ExternalRoute:
        base = make_route(self.routes.topology, path.nodes)
        # With 4 cores every core reads the same file (FUSION's two adjacent cores).
        cores = self.spectrum.cores
        snr = external_snr(self.network, self.fusion_root, (adjacent_cores(cores, 0), cores))
        formats, snrs = snr.column(path.connection, index)
        return ExternalRoute(
            base.nodes,
            base.links,
            path.length_km,
            base.link_lengths_km,
            formats=formats,
            snr_db=snrs,
        )

    def arrive(
        self, request: int, src: str, dst: str, bandwidth: int, now: float
    ) -> GroomedRequest | None:
        """Serve an arrival as FUSION would without grooming; None if it is blocked."""
        pair = (src, dst) if src <= dst else (dst, src)
        options = self.options(src, dst)
        formats = self.mod_table[bandwidth]
        for option in options:
            lightpath = self._unsliced_fixed(
                option, pair, request, bandwidth, formats, bandwidth, now
            )
            if lightpath is not None:
                return GroomedRequest(pair, option, [], [lightpath], None)
        if self.max_segments > 1 and bandwidth != UNSLICEABLE_BANDWIDTH:
            for option in options:
                new, unserved = self._sliced_fixed(
                    option, pair, request, bandwidth, bandwidth, now, False
                )
                if new is not None:
                    return GroomedRequest(pair, option, [], new, unserved)
        return None

    def _unsliced_fixed(
        self,
        option: PathOption,
        pair: tuple[str, str],
        request: int,
        bandwidth: int,
        formats: tuple[ModFormat, ...],
        dedicated: float,
        now: float,
    ) -> GroomedLightpath | None:
        """FUSION's ``check_snr_ext``: the file's format, if listed, and its capacity."""
        found = self._lookup(option.route, bandwidth)
        if found is None:
            return None
        fit, fmt, snr = found
        if fmt.name not in self._formats_by_name[bandwidth] or self.capacity[fmt.name] < bandwidth:
            return None
        return self._establish(
            option.route, fit, fmt, snr, pair, request, float(bandwidth), dedicated, now
        )

    def _slice_format(self, route: Route, bandwidth: int) -> tuple[Fit, ModFormat, float] | None:
        """FUSION's ``check_snr_ext_slicing``: the first free slot and the file's format."""
        return self._lookup(route, bandwidth)

    def _lookup(self, route: Route, bandwidth: int) -> tuple[Fit, ModFormat, float] | None:
        """The first free slot, and the format and SNR the files give it (None: none)."""
        assert isinstance(route, ExternalRoute)
        fit = self._fit(route, 1)
        if fit is None:
            return None
        band = self.bands[fit.segment % len(self.bands)]
        slot = self._band_offsets[band] + fit.start
        name = FORMAT_NAMES.get(route.formats[slot])
        if name is None:  # key 0: no format reaches (FUSION's bandwidth 0)
            return None
        fmt = self._formats_by_name[bandwidth].get(name) or ModFormat(name, 0.0, 1)
        return fit, fmt, route.snr_db[slot]
