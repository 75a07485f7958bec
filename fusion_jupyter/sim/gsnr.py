"""FUSION's generalised SNR (ASE + nonlinear interference) of a candidate lightpath.

FUSION's ``snr_type = gsnr`` in the C band (``SnrMeasurements.check_gsnr``,
``fusion/core/snr_measurements.py``) decides, for a lightpath it is about to set up,
whether the modulation format's SNR threshold is met. The figure depends on every
lightpath already on the same core of each link (their spectral distance and format),
so it is computed from the current occupancy at the moment of the decision.

FUSION's fibre (``fusion/io/generate.py: create_pt``) is the same on every link, with
100 km spans; only the link length differs. The arithmetic below follows FUSION's
expression for expression, with numpy's functions where FUSION uses them
(``np.arcsinh``, ``np.exp``, ``np.log10`` round differently from :mod:`math` in the
last bit on some inputs; :mod:`fusion_jupyter.sim.numpy_math` calls numpy's own
routines, without importing numpy where it can): a threshold is a comparison of
floats, and the SNR values are reported, so the same operations in the same order give
FUSION's decisions and figures.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Iterable, Mapping, Sequence

from fusion_jupyter.sim import numpy_math
from fusion_jupyter.sim.bands import C_START_HZ, L_START_HZ, overlap
from fusion_jupyter.sim.failures import FusionFailure

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

#: Planck's constant as FUSION has it (``fusion/core/properties.py``), J s.
PLANCK = 6.62607004e-34
#: Amplifier spontaneous-emission factor per band (FUSION's ``SNRProps.nsp``).
NSP = {"c": 1.77, "l": 1.99, "s": 2.0, "o": 2.0, "e": 2.0}
#: Minimum GSNR (dB) per format (FUSION's ``SNRProps.req_snr``).
REQUIRED_SNR_DB: Mapping[str, float] = {
    "BPSK": 3.71,
    "QPSK": 6.72,
    "8-QAM": 10.84,
    "16-QAM": 13.24,
    "32-QAM": 16.16,
    "64-QAM": 19.01,
}
#: Span length in km of every link (``create_pt``).
SPAN_KM = 100
GIGA = 10**9
#: Memoised terms a model keeps before emptying its memos: memory stays flat however
#: long the run (about 30 MiB per memo at most).
CACHE_LIMIT = 1 << 17
#: Link terms the C-band model keeps. Each is for one occupancy of one link, dead once
#: the link changes, so most of a full memo is dead: a small one holds what is met again
#: (a C-band grooming run peaked at 63 MiB over 300,000 requests with the larger limit).
LINKS_LIMIT = 1 << 14
#: XPM factors the C+L model keeps (:meth:`MultiBandGsnr._forget_when_full`). Unlike the
#: power-dependent terms, a candidate's factors of a neighbour are met again and again,
#: and a C+L request computes 174 new ones (spain_mb_CL_flexi at 1500 Erlang): with
#: CACHE_LIMIT they were emptied three times in 3,000 requests. About 155 bytes each
#: (the process peaks at 130 MiB on that config, against 78 MiB with CACHE_LIMIT and
#: FUSION's 203 MiB).
FACTORS_LIMIT = 1 << 19


class Fiber:
    """FUSION's fibre constants (``create_pt``), the same for every link.

    A plain class: compiled, the GSNR's loops read its fields as C doubles (as a
    NamedTuple's, through Python objects: +2.2 % instructions a C+L request), and it
    costs nothing at import (a frozen dataclass's methods are compiled as it loads).
    """

    __slots__ = (
        "attenuation",
        "dispersion",
        "frequency_end_c",
        "frequency_start_c",
        "frequency_start_l",
        "gvd",
        "gvd_slope",
        "non_linearity",
        "raman_gain_slope",
    )

    def __init__(
        self,
        attenuation: float = 0.2 / 4.343 * 1e-3,
        non_linearity: float = 1.3e-3,
        dispersion: float = -21.3e-27,
        frequency_start_c: float = C_START_HZ,
        frequency_end_c: float = C_START_HZ + 6.0e12,
        frequency_start_l: float = L_START_HZ,
        raman_gain_slope: float = 0.028 / 1e3 / 1e12,
        gvd: float = -22.6 * (1e-12 * 1e-12) / 1e3,
        gvd_slope: float = 0.14 * (1e-12 * 1e-12 * 1e-12) / 1e3,
    ) -> None:
        self.attenuation: Final = attenuation
        self.non_linearity: Final = non_linearity
        self.dispersion: Final = dispersion
        self.frequency_start_c: Final = frequency_start_c
        self.frequency_end_c: Final = frequency_end_c
        self.frequency_start_l: Final = frequency_start_l
        #: Multi-band (C+L) parameters: Raman gain slope, beta2 and beta3.
        self.raman_gain_slope: Final = raman_gain_slope
        self.gvd: Final = gvd
        self.gvd_slope: Final = gvd_slope

    def frequency_start(self, band: str) -> float:
        """First frequency (Hz) of ``band`` (C or L)."""
        return self.frequency_start_c if band == "c" else self.frequency_start_l


class Channel:
    """A lightpath on one core of one link, as the GSNR sees it: equal channels are equal
    in value, whichever lightpath they were made for.

    A class whose hash is computed once, not a NamedTuple: the memos are keyed by
    channels, and a tuple's hash is computed again from its three fields at every
    lookup (about a thousand a request on a saturated C-band grid). A lookup with the
    channel the memo was filled from (the link lists' own) then never compares fields.
    """

    __slots__ = ("_hash", "fmt", "slots", "start")

    def __init__(self, start: int, slots: int, fmt: str) -> None:
        # Final: a channel is a dict key, so its fields (and hash) never change.
        self.start: Final = start
        self.slots: Final = slots
        self.fmt: Final = fmt
        # Two bits fewer than a hash has: compiled, an int of 62 bits or less is a machine
        # integer, and a larger one would be boxed and unboxed at every lookup.
        self._hash: Final = hash((start, slots, fmt)) >> 2

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Channel):
            return NotImplemented
        return self.start == other.start and self.slots == other.slots and self.fmt == other.fmt

    def __repr__(self) -> str:
        return f"Channel(start={self.start}, slots={self.slots}, fmt={self.fmt!r})"


def start_index(channels: Sequence[Channel], start: int) -> int:
    """Where a channel starting at ``start`` is, or goes, in ``channels`` (one link's
    lightpaths on one core and band, sorted by first slot: no two start at one slot).

    ``bisect_left`` with a key, written out: compiled, bisect's key was a call from C
    into the key function at every probe (1,170 instructions a search).
    """
    low, high = 0, len(channels)
    while low < high:
        middle = (low + high) >> 1
        if channels[middle].start < start:
            low = middle + 1
        else:
            high = middle
    return low


class _Phis(dict[Channel, float]):
    """A candidate's memo of its neighbours' phi, filled on a miss.

    A miss is computed in ``__missing__``, so a link's lookups are plain subscripts in
    one loop (:meth:`Gsnr._link_inverse`, the hot loop of a recheck run). ``link``
    names the lightpaths being looked up: the first miss computes every one of them
    that is missing at once (:meth:`Gsnr._neighbours`, one numpy call for all).
    """

    __slots__ = ("candidate", "link", "model")

    def __init__(self, model: Gsnr) -> None:
        super().__init__()
        self.model = model
        self.candidate: _Candidate | None = None
        self.link: Sequence[Channel] = ()

    def __missing__(self, channel: Channel) -> float:
        assert self.candidate is not None
        link, self.link = self.link, ()
        missing = [other for other in link if other not in self] or [channel]
        self.model._fill(self, self.candidate, missing)
        return self[channel]


class _Candidate:
    """What FUSION computes once per candidate lightpath and reuses on every link.

    A class, as :class:`Fiber` is: compiled, its floats are C doubles read in place.
    """

    __slots__ = (
        "alone_span_inverse",
        "bandwidth",
        "center_freq",
        "nli_factor",
        "own_phi",
        "p_ase_span",
        "phis",
        "slots",
        "start",
    )

    def __init__(
        self,
        start: int,
        slots: int,
        center_freq: float,
        bandwidth: float,
        own_phi: float,
        p_ase_span: float,
        nli_factor: float,
        alone_span_inverse: float,
        phis: _Phis,
    ) -> None:
        self.start = start
        self.slots = slots
        self.center_freq = center_freq
        self.bandwidth = bandwidth
        #: Its own term of the NLI sum (FUSION's phi of the channel under test).
        self.own_phi = own_phi
        self.p_ase_span = p_ase_span
        #: ``(P / B) ** 3 * 8 / (27 pi D) * gamma ** 2 * L_eff``, the NLI factor before phi.
        self.nli_factor = nli_factor
        #: A span's inverse GSNR with no neighbour at all (FUSION's sum of phi its own
        #: alone): every link's term is at least its spans times this
        #: (:meth:`Gsnr._alone_exceeds`).
        self.alone_span_inverse = alone_span_inverse
        #: Memo: each neighbouring channel's phi for this candidate.
        self.phis = phis


class _Geometry:
    """A channel's centre frequency, bandwidth and half of it (Hz), and its format's phi.

    A class, not a tuple: compiled, its fields are C doubles read in place, where a
    tuple's floats were unboxed into a copy (and boxed again) at every use.
    """

    __slots__ = ("bw", "freq", "half_bw", "phi")

    def __init__(self, freq: float, bw: float, phi: float) -> None:
        self.freq = freq
        self.bw = bw
        self.half_bw = bw * 0.5
        self.phi = phi


class PhysicalLayer:
    """One run's ``[snr_settings]`` inputs, the slot width and FUSION's fibre."""

    def __init__(
        self,
        bw_per_slot: float,
        input_power: float,
        phi: Mapping[str, float],
        fiber: Fiber | None = None,
        band_slots: Mapping[str, int] | None = None,
    ) -> None:
        self.bw_per_slot = bw_per_slot
        self.input_power = input_power
        #: Slots per band, where known: where the spectrum lies (the C+L model's
        #: :func:`xpm_is_nonnegative` needs it).
        self.band_slots = dict(band_slots or {})
        #: FUSION's ``phi`` per format (modulation-dependent NLI correction).
        self.phi = dict(phi)
        self.fiber = fiber or Fiber()
        self._derive()

    def _derive(self) -> None:
        """Precompute what every candidate shares (subclasses)."""


class Gsnr(PhysicalLayer):
    """GSNR of candidate lightpaths in the C band.

    Every link has the same fibre and span length, so a neighbour's NLI term (FUSION's
    ``phi``) depends only on the neighbour's and the candidate's slots and the
    neighbour's format: it is computed once per such combination (with FUSION's
    scalar arithmetic) and looked up afterwards, which keeps the value bit for bit.
    """

    def _derive(self) -> None:
        fiber = self.fiber
        self._length_m = SPAN_KM * 10**3
        self._l_eff = (1 - numpy_math.exp(-2 * fiber.attenuation * self._length_m)) / (
            2 * fiber.attenuation
        )
        self._l_eff_a = 1 / (2 * fiber.attenuation)
        self._span_ratio = self._l_eff / self._length_m
        #: Each channel's :meth:`_geometry_of`.
        self._geometry: dict[Channel, _Geometry] = {}
        self._ase_growth = math.exp(fiber.attenuation * self._length_m) - 1
        #: Candidates by (start, slots, band), each with its neighbours' phi memo.
        self._candidates: dict[tuple[int, int, str], _Candidate] = {}
        self._links: dict[Hashable, float] = {}
        self._entries = 0
        #: Whether any neighbour's phi came out negative (see :meth:`growth_per_span`).
        self.signed_phis = False
        #: Whether every phi is provably positive here (:func:`phis_are_positive`), so
        #: that a path's inverse GSNR can only grow with each link added.
        self.positive_terms = self.input_power > 0 and phis_are_positive(
            fiber.dispersion,
            fiber.attenuation,
            self._span_ratio,
            self.bw_per_slot * GIGA,
            self.phi.values(),
        )

    def path_db(
        self,
        link_lengths_km: Sequence[float],
        channels: Sequence[Sequence[Channel]],
        start: int,
        slots: int,
        band: str = "c",
        link_states: Sequence[Hashable] | None = None,
        needed_db: float | None = None,
    ) -> float:
        """GSNR in dB of ``slots`` slots from ``start`` on a path.

        ``channels[i]`` are the lightpaths on the chosen core of the i-th link, sorted
        by start slot (FUSION scans the slots upwards and meets each lightpath at its
        lowest slot); the candidate itself is not among them. ``link_states[i]``, if
        given, names the i-th link's current occupancy (no other link or occupancy may
        have the same name): a link's term is then memoised for that state.

        ``needed_db``, if given, is the threshold the caller compares the figure with.
        Where every link's term is provably positive (:attr:`positive_terms`), the
        links already summed can prove the path fails it: the rest are not computed and
        the figure is ``-inf``. FUSION's verdict is the same, and a failing candidate's
        figure is never used. Most candidates a GSNR run evaluates fail, and 29 % of the
        link terms computed for them came after the sum had crossed the threshold
        (spain_C_flexi at 1500 E). Most of the rest fail on the candidate's own terms
        alone, which are tried first (:meth:`_alone_exceeds`).
        """
        candidate = self._candidate(start, slots, band)
        keys = None if link_states is None else memo_keys(link_states, band, start, slots, False)
        limit = math.inf
        if needed_db is not None and self.positive_terms and not self.signed_phis:
            limit = limit_of(needed_db)
        if limit != math.inf and self._alone_exceeds(link_lengths_km, candidate, limit):
            path_inverse = math.inf
        else:
            path_inverse = self._path_inverse(
                tuple(link_lengths_km), list(channels), candidate, keys, False, limit
            )
        if self._entries > CACHE_LIMIT:
            self._forget()
        elif len(self._links) > LINKS_LIMIT:
            self._links.clear()
        if path_inverse == math.inf:
            return -math.inf
        return decibels(path_inverse)

    def _forget(self) -> None:
        """Empty the memos, so memory stays flat.

        A candidate's memo refers back to the candidate (a miss computes from it): a
        cycle that only a full garbage collection would free, which a long run makes
        seldom, and memory grew by some 0.9 KB a request. The link is cut here, so the
        memos are freed at once.
        """
        for candidate in self._candidates.values():
            candidate.phis.candidate = None
        self._links.clear()
        self._candidates.clear()
        self._geometry.clear()
        self._entries = 0

    def placed_path_inverse(
        self,
        link_lengths_km: Sequence[float],
        channels: Sequence[Sequence[Channel]],
        start: int,
        slots: int,
        link_states: Sequence[Hashable],
    ) -> float:
        """Linear inverse GSNR of a lightpath already set up, as FUSION's SNR recheck sums it.

        ``channels`` are as for :meth:`path_db` but include the lightpath itself (at
        ``start``): FUSION's slot scan meets it at its first slot and counts it once, as
        the channel under test, so it is the candidate and not a neighbour. Its GSNR in
        dB is :func:`decibels` of this figure.
        """
        candidate = self._candidate(start, slots, "c")
        keys = memo_keys(link_states, "c", start, slots, True)
        return self._path_inverse(tuple(link_lengths_km), list(channels), candidate, keys, True)

    def _path_inverse(
        self,
        link_lengths_km: tuple[float, ...],
        channels: list[Sequence[Channel]],
        candidate: _Candidate,
        keys: list[Hashable] | None,
        placed: bool,
        limit: float = math.inf,
    ) -> float:
        """Sum the links' inverse GSNRs (memoised under ``keys``) as FUSION adds them.

        ``math.inf`` as soon as the sum so far exceeds ``limit`` (see :meth:`path_db`).
        """
        path_inverse = 0.0
        assert len(link_lengths_km) == len(channels)
        for i in range(len(channels)):  # not zip(strict=True): see MultiBandGsnr._link_sums
            length_km, on_link = link_lengths_km[i], channels[i]
            key = None if keys is None else keys[i]
            term = None if key is None else self._links.get(key)
            if term is None:
                term = self._link_inverse(length_km, on_link, candidate, placed)
                if key is not None:
                    self._links[key] = term
            path_inverse += term
            if path_inverse > limit:
                return math.inf
        return path_inverse

    @staticmethod
    def _alone_exceeds(
        link_lengths_km: Sequence[float], candidate: _Candidate, limit: float
    ) -> bool:
        """Whether the candidate's own terms alone prove the path's inverse GSNR above
        ``limit``, before any neighbour's phi is looked up or computed.

        Every neighbour's phi is positive where a limit is given, and FUSION's sums,
        products and quotients of positive floats only grow with their operands: a
        link's term is at least its spans times the span's term with the candidate's own
        phi alone (:func:`limit_of`'s margin covers the last bit ``pow`` may round either way).
        On spain_C_flexi at 1500 Erlang this settles 1.16 of the 1.22 candidates a
        request that fail their threshold, which computed 41 of the 73 phis a request.
        """
        bound = 0.0
        for length_km in link_lengths_km:
            bound += _over_spans(length_km, candidate.alone_span_inverse)
        return bound > limit

    def growth_per_span(self, start: int, slots: int, neighbour: Channel) -> float:
        """How much a new ``neighbour`` adds to a lightpath's inverse GSNR, per span it shares.

        A link's inverse GSNR is, in real numbers, ``spans * (p_ase + nli_factor * bw *
        sum_phi) / input_power``: linear in the sum of the neighbours' phi. So a
        neighbour joining a link adds exactly this (times the link's spans), and one
        leaving takes it away. The recheck bounds a lightpath's inverse GSNR with it
        (:class:`~fusion_jupyter.sim.recheck.Recheck`); the floats FUSION computes differ
        from the real numbers by parts in 1e14, as long as no phi is negative
        (:attr:`signed_phis`, when the sums could cancel).
        """
        candidate = self._candidate(start, slots, "c")
        phi = candidate.phis[neighbour]
        return phi * candidate.nli_factor * candidate.bandwidth / self.input_power

    def _candidate(self, start: int, slots: int, band: str) -> _Candidate:
        found = self._candidates.get((start, slots, band))
        if found is None:
            found = self._candidates[start, slots, band] = self._new_candidate(start, slots, band)
            self._entries += 1
        return found

    def _new_candidate(self, start: int, slots: int, band: str) -> _Candidate:
        bw_per_slot = self.bw_per_slot
        fiber = self.fiber
        center_freq = fiber.frequency_start_c + start * bw_per_slot * GIGA
        center_freq += ((slots * bw_per_slot) / 2) * GIGA
        bandwidth = slots * bw_per_slot * GIGA
        own_freq, _ = self._channel_freq(start, slots)
        dispersion = abs(fiber.dispersion)
        if center_freq != own_freq:
            # FUSION then looks up phi[None] and raises KeyError; say why instead.
            raise ArithmeticError(
                "the candidate lightpath's centre frequency differs from its own channel's"
            )
        own_phi = numpy_math.arcsinh(
            math.pi**2 * dispersion * bandwidth**2 / (4 * fiber.attenuation)
        )
        p_ase_span = bandwidth * PLANCK * center_freq * 2 * NSP[band]
        p_ase_span *= self._ase_growth
        nli_factor = (
            (self.input_power / bandwidth) ** 3
            * (8 / (27 * math.pi * dispersion))
            * fiber.non_linearity**2
            * self._l_eff
        )
        phis = _Phis(self)
        phis.candidate = _Candidate(
            start,
            slots,
            center_freq,
            bandwidth,
            float(own_phi),
            p_ase_span,
            float(nli_factor),
            # FUSION's sum of phi from 0.0 with its own alone is its own.
            self._span_inverse(p_ase_span, float(nli_factor), bandwidth, float(own_phi)),
            phis,
        )
        return phis.candidate

    def _channel_freq(self, start: int, slots: int) -> tuple[float, float]:
        """Centre frequency and bandwidth (Hz) of a channel, as FUSION's scan computes them."""
        channel_bw = slots * self.bw_per_slot
        channel_freq = (
            self.fiber.frequency_start_c + ((start * self.bw_per_slot) + (channel_bw / 2)) * GIGA
        )
        return channel_freq, channel_bw * GIGA

    def _link_inverse(
        self,
        length_km: float,
        on_link: Sequence[Channel],
        candidate: _Candidate,
        placed: bool = False,
    ) -> float:
        """Sum over the link's spans of 1 / span GSNR (linear), as FUSION adds them.

        FUSION scans the slots upwards and adds each lightpath's phi as it meets it, the
        candidate's own among them; the sums are plain loops, one addition at a time
        from 0.0 (not ``sum``, which compensates from Python 3.12), so the float is
        FUSION's. ``placed``: the candidate is among ``on_link`` and its phi, computed as
        a neighbour at its own frequency, is its own (:meth:`_neighbours`).
        """
        memo = candidate.phis
        own_phi = candidate.own_phi
        # Where the candidate's own phi falls in the scan (-1: it is among ``on_link``).
        own = -1 if placed else start_index(on_link, candidate.start)
        memo.link = on_link
        sum_phi = 0.0
        index = 0
        # One pass, no list of the phis: compiled, building the list (a map over the
        # memo's __getitem__, then an insert) cost 10.9 M of spain_C_fixed_grooming's
        # 647 M instructions.
        for channel in on_link:
            if index == own:
                sum_phi += own_phi
            sum_phi += memo[channel]
            index += 1
        if index == own:
            sum_phi += own_phi
        memo.link = ()
        span_inverse = self._span_inverse(
            candidate.p_ase_span, candidate.nli_factor, candidate.bandwidth, sum_phi
        )
        return _over_spans(length_km, span_inverse)

    def _span_inverse(
        self, p_ase_span: float, nli_factor: float, bandwidth: float, sum_phi: float
    ) -> float:
        """A span's inverse GSNR (linear) from the candidate's figures and the sum of phi."""
        p_nli_span = nli_factor * sum_phi * bandwidth
        # FUSION raises a numpy float to the power -1: numpy's scalar power is the C
        # library's pow, as Python's and math.pow's (not a division, which rounds
        # differently). math.pow: compiled, it is the C call; ** went through objects.
        return math.pow(self.input_power / (p_ase_span + p_nli_span), -1.0)

    def _fill(self, memo: _Phis, candidate: _Candidate, channels: Sequence[Channel]) -> None:
        """Compute the phi of ``channels`` (not in ``memo``) for ``candidate`` into ``memo``."""
        self._entries += len(channels)
        memo.update(zip(channels, self._neighbours(channels, candidate), strict=True))

    def _neighbours(self, channels: Sequence[Channel], candidate: _Candidate) -> list[float]:
        """FUSION's phi of each neighbouring channel for this candidate.

        FUSION's scalar arithmetic in Python floats (the same IEEE operations as its
        numpy scalars), with every arcsinh of the batch in one call: numpy's
        ``arcsinh`` of an array runs the routine its scalar calls run, lane by lane (a
        test compares the two), and one call costs about what one scalar call did. What
        depends on the channel alone is looked up (:meth:`_geometry_of`).
        """
        center_freq, own_phi = candidate.center_freq, candidate.own_phi
        reach = math.pi**2 * abs(self.fiber.dispersion) * self._l_eff_a * candidate.bandwidth
        span_ratio = self._span_ratio
        geometry = self._geometry
        rows = [geometry.get(channel) or self._geometry_of(channel) for channel in channels]
        count = len(rows)
        # Typed floats and index loops: the compiled build then does this arithmetic on
        # C doubles (with numpy's list, or a zip, it went through Python objects: 14
        # boxed floats a neighbour).
        arguments = [0.0] * (2 * count)  # every upper arcsinh, then every lower one
        for i in range(count):
            row = rows[i]
            freq_diff = row.freq - center_freq
            arguments[i] = reach * (freq_diff + row.half_bw)
            arguments[count + i] = reach * (freq_diff - row.half_bw)
        asinh = numpy_math.arcsinh_of(arguments)
        phis: list[float] = []
        for i in range(count):
            row = rows[i]
            freq_diff = row.freq - center_freq
            if freq_diff == 0:
                # The candidate's own channel (FUSION's branch for an equal frequency).
                phis.append(own_phi)
                continue
            value = asinh[i] - asinh[count + i]
            value -= row.phi * (row.bw / abs(freq_diff)) * (5 / 3) * span_ratio
            if not value >= 0:
                self.signed_phis = True
            phis.append(value)
        return phis

    def _geometry_of(self, channel: Channel) -> _Geometry:
        """A channel's :class:`_Geometry`: the same for every candidate, so kept until
        the memos are emptied."""
        channel_freq, channel_bw = self._channel_freq(channel.start, channel.slots)
        row = self._geometry[channel] = _Geometry(channel_freq, channel_bw, self.phi[channel.fmt])
        return row


class _Xpm:
    """A neighbour's XPM factors for one candidate: all but the link's power and spans.

    Each is a subexpression of FUSION's XPM term, computed as FUSION computes it, so the
    term assembled from them (:meth:`MultiBandGsnr._link_terms`) is FUSION's float (see
    :meth:`MultiBandGsnr._fill_factors`). A class, as :class:`_Geometry` is: compiled, the
    hot loop reads its fields as C doubles in place, where a tuple's nine floats were
    unboxed at every use (a C+L run reads a million of them).
    """

    __slots__ = (
        "atan_a",
        "atan_b",
        "coeff",
        "denom",
        "fk_fc",
        "num_phi",
        "term2_denom",
        "term2_log",
        "term2_phi",
    )

    def __init__(
        self,
        fk_fc: float,
        coeff: float,
        denom: float,
        atan_a: float,
        atan_b: float,
        term2_denom: float,
        term2_log: float,
        num_phi: float,
        term2_phi: float,
    ) -> None:
        self.fk_fc = fk_fc
        self.coeff = coeff
        self.denom = denom
        self.atan_a = atan_a
        self.atan_b = atan_b
        self.term2_denom = term2_denom
        self.term2_log = term2_log
        self.num_phi = num_phi
        self.term2_phi = term2_phi


class _Neighbour:
    """What FUSION's XPM and Raman terms compute of a neighbouring channel alone.

    The same for every candidate, so computed once per channel (and band), as FUSION
    computes each subexpression. A class, as :class:`_Xpm` is.
    """

    __slots__ = ("b_k", "coeff", "f_k", "fk_fc", "num_phi", "term2_phi")

    def __init__(
        self, f_k: float, b_k: float, fk_fc: float, coeff: float, num_phi: float, term2_phi: float
    ) -> None:
        #: Centre frequency and bandwidth (Hz), FUSION's f_k and b_k.
        self.f_k = f_k
        self.b_k = b_k
        self.fk_fc = fk_fc
        self.coeff = coeff
        #: ``(5 / 6) * (-1 * phi)`` and ``(-1 * phi) * pi`` for the channel's format.
        self.num_phi = num_phi
        self.term2_phi = term2_phi


class _CutMb:
    """The candidate's own figures, the same on every link (FUSION's f_i and b_i), and
    its memos of what depends on it and a neighbour or a link's power. A class, as
    :class:`_Xpm` is."""

    __slots__ = (
        "ase_factor",
        "asinh_a",
        "asinh_b",
        "b_i",
        "f_i",
        "owns",
        "phi_i",
        "spm_denom",
        "spms",
        "xpm",
    )

    def __init__(
        self,
        f_i: float,
        b_i: float,
        ase_factor: float,
        phi_i: float,
        spm_denom: float,
        asinh_a: float,
        asinh_b: float,
    ) -> None:
        self.f_i = f_i
        self.b_i = b_i
        #: FUSION's ``2 * nsp * h * f_i * b_i``, the ASE factor before the power ratio.
        self.ase_factor = ase_factor
        #: The SPM term's power-independent factors: ``phi_i``, the denominator and the
        #: two arcsinh values.
        self.phi_i = phi_i
        self.spm_denom = spm_denom
        self.asinh_a = asinh_a
        self.asinh_b = asinh_b
        #: Per neighbour band: ``{channel: _Xpm}``.
        self.xpm: dict[str, dict[Channel, _Xpm]] = {}
        #: The SPM term per link power and spans, under ``spans << 32 | lightpaths + 1``.
        self.spms: dict[int, float] = {}
        #: The own profile term and FUSION's ASE numerator
        #: (:meth:`MultiBandGsnr._own_profile`) per link power, under ``lightpaths + 1``.
        self.owns: dict[int, tuple[float, float]] = {}


#: One link's lightpaths on a core, per band in FUSION's band order (C, then L): the
#: band and its lightpaths sorted by first slot. Concrete types, so that the compiled
#: loops over them index the tuple and list directly rather than through iterators.
LinkBands = tuple[tuple[str, list[Channel]], ...]

#: What :meth:`MultiBandGsnr._link_sums` adds of a link whose whole terms are not
#: memoised: a bound of its floor that needs no scan of its lightpaths, its floor, or its
#: whole terms.
_BOUND: Final = 0
_FLOOR: Final = 1
_WHOLE: Final = 2

#: A link's terms but its XPM (:meth:`MultiBandGsnr._link_floor`): the candidate's SPM
#: term, the link's inverse ASE SNR, its total launch power and its spans.
_Floor = tuple[float, float, float, int]

#: :class:`_Screen`: the tries its rate is over, and one candidate in how many it is
#: tried on while it does not pay.
_SCREEN_WINDOW: Final = 256
_SCREEN_SAMPLE: Final = 16


class _Screen:
    """Whether a cheap test that settles some candidates early is still worth its cost.

    The bound stage (:meth:`MultiBandGsnr._link_bound`) costs about a third of what it
    saves when it settles a candidate. On some configs it settles most candidates it is
    tried on (1,228 of 2,036 on spain_mb_CL_fixed_grooming, 12,609 of 14,358 on
    usbackbone_mb_CL_flexi), on others none (0 of 2,492 on
    usbackbone_mb_CL_fixed_grooming, where it was 4 % of the run's instructions). So it
    is tried on the first ``_SCREEN_SAMPLE`` candidates and then while it settles at least
    a quarter of those it is tried on; otherwise on one candidate in ``_SCREEN_SAMPLE``,
    so that a change (a higher load, fuller links) is seen. The counts are halved every
    ``_SCREEN_WINDOW`` tries: the rate is a recent one. The test only ever settles
    candidates the full figure would fail, so whether it is tried changes the cost,
    never a result.
    """

    __slots__ = ("settled", "skipped", "tried")

    def __init__(self) -> None:
        self.tried = 0
        self.settled = 0
        self.skipped = 0

    def worth_trying(self) -> bool:
        """Whether to try the test on the next candidate."""
        if self.tried < _SCREEN_SAMPLE or self.settled * 4 >= self.tried:
            return True
        self.skipped += 1
        return self.skipped % _SCREEN_SAMPLE == 0

    def record(self, settled: bool) -> None:
        """The test was tried; ``settled``: it settled the candidate."""
        self.tried += 1
        self.settled += settled
        if self.tried >= _SCREEN_WINDOW:
            self.tried >>= 1
            self.settled >>= 1


class MultiBandGsnr(PhysicalLayer):
    """FUSION's C+L GSNR (``check_gsnr_mb``: ``_compute_nli_mb``, ``_compute_ase_mb``).

    Unlike the C-band model, every term depends on the link's total launch power
    (one ``input_power`` per lightpath on the core, in both bands, plus one). What does
    not depend on it (the arctangents, arcsinhs and logarithm among it) is memoised per
    candidate and neighbour, and assembled into the neighbour's XPM term for the power
    on every evaluation: a memo of the terms per (candidate, power, spans) and
    neighbour missed 92 % of its lookups (1.67 of 1.81 million, 3,000 requests of
    spain_mb_CL_flexi) and cost more than it saved. Each figure is first computed with
    FUSION's scalar arithmetic, in its order. The memos are nested, candidate and link
    first, so the loop over a link's lightpaths hashes only the neighbour.
    """

    def _derive(self) -> None:
        fiber = self.fiber
        #: Whether every XPM term is provably non-negative (:func:`xpm_is_nonnegative`), so
        #: that a path's inverse SNR is at least the sum of its links' SPM and ASE terms.
        self.nonnegative_xpm = (
            self.input_power > 0
            and bool(self.band_slots)
            and xpm_is_nonnegative(
                fiber, self.bw_per_slot * GIGA, self.band_slots, self.phi.values()
            )
        )
        self._f_c = (fiber.frequency_end_c + fiber.frequency_start_l) / 2
        self._length_m = SPAN_KM * 1000
        alpha = fiber.attenuation
        self._l_eff = (1 - numpy_math.exp(-alpha * SPAN_KM * 10**3)) / alpha  # see Gsnr._derive
        #: Whether a link's Raman profile terms fall with frequency, so that
        #: :meth:`_link_bound` bounds them below without their scan.
        self._profile_falls = fiber.raman_gain_slope > 0 and self._l_eff > 0
        self._bound_screen = _Screen()
        # The XPM term's constant subexpressions, each as FUSION's expression computes it.
        self._ak = alpha + alpha
        self._ak_squared = self._ak**2
        self._xpm_denom_factor = 2 * alpha + alpha
        self._alpha_squared = alpha**2
        self._four_pi_squared = -4 * math.pi**2
        self._pi_beta_3 = math.pi * fiber.gvd_slope
        self._two_f_c = 2 * self._f_c
        self._links: dict[Hashable, tuple[float, float]] = {}
        #: Link terms without the XPM (:meth:`_link_floor`), under the same keys.
        self._floors: dict[Hashable, _Floor] = {}
        self._cuts: dict[tuple[str, int, int], _CutMb] = {}
        #: Per band: {channel: _Neighbour}.
        self._neighbours: dict[str, dict[Channel, _Neighbour]] = {}
        #: Link power -> per band {channel: Raman profile term}.
        self._profiles: dict[float, list[dict[Channel, float]]] = {}
        #: Entries in the power-dependent memos, and in the candidates' memos (their XPM
        #: factors, SPM and own profile terms).
        self._entries = 0
        self._factors = 0

    def _forget_when_full(self) -> None:
        """Empty a group of memos once it is full, so memory stays flat.

        The terms that depend on a link's power are many and seldom met again (a C+L
        recheck run computes a million): CACHE_LIMIT of them. The candidates' power-
        independent factors are met again and again: FACTORS_LIMIT of them. Each group
        has its own budget, so filling the first does not throw the second away (it
        did, nine times a run, and every factor was computed again).
        """
        if self._entries > CACHE_LIMIT or len(self._links) + len(self._floors) > CACHE_LIMIT:
            for memo in (self._links, self._floors, self._profiles):
                memo.clear()
            self._entries = 0
        if self._factors > FACTORS_LIMIT:
            self._cuts.clear()
            self._neighbours.clear()
            self._factors = 0

    def path_db(
        self,
        link_lengths_km: Sequence[float],
        channels: Sequence[LinkBands],
        start: int,
        slots: int,
        band: str = "c",
        link_states: Sequence[Hashable] | None = None,
        needed_db: float | None = None,
    ) -> float:
        """GSNR in dB of ``slots`` slots from ``start`` in ``band`` on a path.

        ``channels[i]`` holds, for the i-th link, each band's lightpaths on the chosen
        core in FUSION's band order (C, then L), each sorted by start slot;
        ``link_states`` and ``needed_db`` as for :meth:`Gsnr.path_db`: where every XPM
        term is provably non-negative (:attr:`nonnegative_xpm`), a path whose links' SPM
        and ASE terms alone exceed the threshold's inverse fails it, and its figure is
        ``-inf`` (:meth:`_link_sums` of the floors).
        """
        keys = None if link_states is None else memo_keys(link_states, band, start, slots, False)
        limit = math.inf
        if needed_db is not None and self.nonnegative_xpm:
            limit = limit_of(needed_db)
        lengths, per_link = tuple(link_lengths_km), list(channels)
        return self._path_db(lengths, per_link, band, start, slots, keys, placed=False, limit=limit)

    def placed_path_db(
        self,
        link_lengths_km: Sequence[float],
        channels: Sequence[LinkBands],
        start: int,
        slots: int,
        band: str,
        link_states: Sequence[Hashable],
    ) -> float:
        """GSNR in dB of a lightpath already set up, as FUSION's SNR recheck evaluates it.

        ``channels`` are as for :meth:`path_db` but include the lightpath itself. FUSION
        then counts it in the link's power (``p_total``) and twice in the Raman power
        profile of the ASE (as the channel under test and as a channel met in the scan),
        but once in the NLI (its SPM, not an XPM neighbour).
        """
        keys = memo_keys(link_states, band, start, slots, True)
        lengths, per_link = tuple(link_lengths_km), list(channels)
        return self._path_db(lengths, per_link, band, start, slots, keys, placed=True)

    def _path_db(
        self,
        link_lengths_km: tuple[float, ...],
        channels: list[LinkBands],
        band: str,
        start: int,
        slots: int,
        keys: list[Hashable] | None,
        placed: bool,
        limit: float = math.inf,
    ) -> float:
        """Sum the links' inverse SNRs (memoised under ``keys``) as FUSION does.

        ``-inf`` if the links' terms without their XPM already exceed ``limit``.
        """
        self._forget_when_full()
        cut = self._cut(band, start, slots)
        candidate = (band, start, slots)
        if limit != math.inf:
            # Every XPM term is non-negative where a limit is given, so each link's NLI
            # term (its SPM plus a sum of them) is at least its SPM, and FUSION's sums of
            # the links' terms at least the sums of their floors (:func:`limit_of`). The
            # XPM is about 1 % of a link's inverse SNR but most of its cost, and on
            # spain_mb_CL_flexi at 1500 Erlang the floors settle 1.71 of the 1.74
            # candidates a request that fail their threshold. Their ASE terms are first
            # bounded without scanning the links' lightpaths (:meth:`_link_bound`),
            # which settles 99.6 % of those, where it pays (:class:`_Screen`).
            screen = self._bound_screen
            bound = self._profile_falls and screen.worth_trying()
            for stage in (_BOUND, _FLOOR) if bound else (_FLOOR,):
                nli_floor, ase_floor = self._link_sums(
                    link_lengths_km, channels, cut, candidate, keys, placed, limit, stage
                )
                settled = nli_floor + ase_floor > limit
                if stage == _BOUND:
                    screen.record(settled)
                if settled:
                    return -math.inf
        nli_inverse, ase_inverse = self._link_sums(
            link_lengths_km, channels, cut, candidate, keys, placed, limit, _WHOLE
        )
        lp_inverse = 0.0
        lp_inverse += nli_inverse + ase_inverse
        return decibels(lp_inverse)

    def _link_sums(
        self,
        link_lengths_km: tuple[float, ...],
        channels: list[LinkBands],
        cut: _CutMb,
        candidate: tuple[str, int, int],
        keys: list[Hashable] | None,
        placed: bool,
        limit: float,
        stage: int,
    ) -> tuple[float, float]:
        """The sums over the path's links of their inverse NLI and ASE SNRs, added as
        FUSION adds them, each link's terms memoised under ``keys``.

        At ``_FLOOR``, of the links' terms without their XPM (:meth:`_floor`), and at
        ``_BOUND`` of a lower bound of those (:meth:`_link_bound`), or of the whole
        terms where memoised: a lower bound where a limit is given.
        """
        nli_inverse = 0.0
        ase_inverse = 0.0
        # Indexed: compiled, zip(strict=True) is a generic call with a keyword and an
        # iterator step and a tuple per link (2 % of a small C+L fixture's instructions).
        assert len(link_lengths_km) == len(channels)
        for i in range(len(channels)):
            length_km, on_link = link_lengths_km[i], channels[i]
            key = None if keys is None else keys[i]
            terms = None if key is None else self._links.get(key)
            if terms is None and stage != _WHOLE:
                if stage == _BOUND:
                    nli_lower, ase_lower = self._link_bound(length_km, on_link, cut)
                else:
                    lower = self._floor(length_km, on_link, cut, key)
                    nli_lower, ase_lower = lower[0], lower[1]
                nli_inverse += nli_lower
                ase_inverse += ase_lower
                continue
            if terms is None:
                # A limit's check has just computed the link's floor (and kept it); a
                # placed lightpath's figure, FUSION's recheck, has no limit.
                floor = None if limit == math.inf or key is None else self._floors.get(key)
                if floor is None:
                    floor = self._link_floor(length_km, on_link, cut)
                terms = self._link_terms(on_link, cut, candidate, placed, floor)
                if key is not None:
                    self._links[key] = terms
            nli_inverse += terms[0]
            ase_inverse += terms[1]
        return nli_inverse, ase_inverse

    def _floor(
        self,
        length_km: float,
        on_link: LinkBands,
        cut: _CutMb,
        key: Hashable | None,
    ) -> _Floor:
        """:meth:`_link_floor`, memoised under ``key``."""
        floor = None if key is None else self._floors.get(key)
        if floor is None:
            floor = self._link_floor(length_km, on_link, cut)
            if key is not None:
                self._floors[key] = floor
        return floor

    def _link_floor(
        self,
        length_km: float,
        on_link: LinkBands,
        cut: _CutMb,
    ) -> _Floor:
        """One link's terms but its XPM: the candidate's SPM term, the link's inverse ASE
        SNR (FUSION's ``_compute_ase_mb``), and the link's power and spans for the XPM.

        The ASE's Raman power profile adds every lightpath met in the scan, a placed
        candidate's own among them (:meth:`placed_path_db`), in FUSION's order.
        """
        spans, p_total, spm_term, own = self._link_power(length_km, on_link, cut)
        profiles = self._profiles.get(p_total)
        if profiles is None:
            profiles = self._profiles[p_total] = [{} for _ in on_link]
        p_profile = 0.0
        p_profile += own[0]
        for band_index, (channel_band, on_band) in enumerate(on_link):
            band_profiles = profiles[band_index]
            neighbours = self._neighbours_of(channel_band)
            for channel in on_band:
                profile = band_profiles.get(channel)
                if profile is None:
                    neighbour = neighbours.get(channel)
                    if neighbour is None:
                        neighbour = self._neighbour(channel_band, channel, neighbours)
                    profile = self._profile_term(neighbour.f_k, neighbour.b_k, p_total)
                    band_profiles[channel] = profile
                    self._entries += 1
                p_profile += profile
        return spm_term, self._ase_inverse(cut, own[1], p_profile, spans), p_total, spans

    def _link_power(
        self, length_km: float, on_link: LinkBands, cut: _CutMb
    ) -> tuple[int, float, float, tuple[float, float]]:
        """A link's spans and total launch power, and at that power the candidate's SPM
        term and its own profile term and ASE numerator (:meth:`_own_profile`), memoised
        in the candidate's figures (:class:`_CutMb`) under integers: a memo keyed by
        (candidate, power, spans) tuples spent more on hashing and comparing them than
        on the terms (spain_mb_CL_flexi)."""
        spans = math.ceil(length_km / SPAN_KM)
        count = 1
        for _, on_band in on_link:
            count += len(on_band)
        # FUSION's (1.0 + len + len) * input_power: small integers are exact floats.
        p_total = float(count) * self.input_power
        spm_term = cut.spms.get(spans << 32 | count)
        if spm_term is None:
            spm_term = cut.spms[spans << 32 | count] = self._spm(cut, p_total, spans)
            self._factors += 1
        own = cut.owns.get(count)
        if own is None:
            own = cut.owns[count] = self._own_profile(cut, p_total)
            self._factors += 1
        return spans, p_total, spm_term, own

    def _ase_inverse(self, cut: _CutMb, numerator: float, p_profile: float, spans: int) -> float:
        """A link's inverse ASE SNR from its Raman power profile's sum (FUSION's
        ``_compute_ase_mb``), which it increases with."""
        p_profile = numerator / p_profile
        p_ase_span = cut.ase_factor * ((self.input_power / p_profile) - 1)
        p_ase_link = p_ase_span * spans
        return float(p_ase_link / self.input_power)

    def _link_bound(self, length_km: float, on_link: LinkBands, cut: _CutMb) -> tuple[float, float]:
        """A lower bound of the link's floor (:meth:`_link_floor`) without its scan of the
        link's lightpaths: the SPM term, and an ASE term from a lower bound of the Raman
        profile's sum.

        A lightpath's profile term, ``(2 / b) exp(-a f) sinh(a b / 2)`` with ``a`` the
        link power times the Raman gain slope and effective length, is the mean of
        ``a exp(-a x)`` over its band ``[f - b / 2, f + b / 2]``; where ``a > 0`` that is
        at least its value at the top edge ``h``, and by the convexity of ``exp`` the
        sum over a band's ``n`` lightpaths is at least ``n a exp(-a h_mean)``. FUSION's
        floats (numpy's ``exp`` and ``sinh``, summed in order) are within a part in
        10**13 of the exact sum, far inside the part in a billion given up here; the
        ASE term only grows with the sum. On spain_mb_CL_flexi at 1500 Erlang a path's
        bound is 99.5 % of its floors on average, and settles 3,546 of the 3,559
        candidates the floors settle (2,000 requests).
        """
        spans, p_total, spm_term, own = self._link_power(length_km, on_link, cut)
        fiber = self.fiber
        a = p_total * fiber.raman_gain_slope * self._l_eff
        p_profile = own[0]
        for channel_band, on_band in on_link:
            count = len(on_band)
            if count:
                ends = 0
                for channel in on_band:
                    ends += channel.start + channel.slots
                mean_top = fiber.frequency_start(channel_band) + (
                    (ends / count) * self.bw_per_slot * GIGA
                )
                p_profile += count * a * math.exp(-a * mean_top)
        return spm_term, self._ase_inverse(cut, own[1], p_profile * (1 - 1e-9), spans)

    def _link_terms(
        self,
        on_link: LinkBands,
        cut: _CutMb,
        candidate: tuple[str, int, int],
        placed: bool,
        floor: _Floor,
    ) -> tuple[float, float]:
        """One link's inverse NLI and ASE SNRs (FUSION's ``_gsnr_calc_mb`` loop body).

        ``floor`` is the link's :meth:`_link_floor`; this adds each lightpath's XPM
        term (FUSION's ``_compute_nli_mb``) in FUSION's order. FUSION adds them in the
        same pass as the ASE's profile terms, into another sum, so the floats are the
        same. This is the hot loop of a C+L run: each XPM term is assembled inline from
        its :class:`_Xpm` factors, in FUSION's operation order. ``placed``: the
        candidate is among the lightpaths (:meth:`placed_path_db`), and adds no XPM term
        of its own.
        """
        spm_term, ase_inverse, p_total, spans = floor
        alpha = self.fiber.attenuation
        alpha_squared, ak, ak_squared = self._alpha_squared, self._ak, self._ak_squared
        pc = p_total * self.fiber.raman_gain_slope
        # Small integers as floats: the same IEEE operations, without mixed-type ones.
        spans_f = float(spans)
        n_tilde = 0.0 if spans == 1 else spans_f
        spm = 0.0
        spm += spm_term
        xpm = 0.0
        for channel_band, on_band in on_link:
            # The candidate's XPM factors of this band's neighbours (no call a miss:
            # a C+L recheck run misses here a million times).
            band_factors = cut.xpm.get(channel_band)
            if band_factors is None:
                band_factors = cut.xpm[channel_band] = {}
            # A placed candidate is met in the scan: it adds to the profile, not the XPM.
            itself = None
            if placed and channel_band == candidate[0]:
                itself = on_band[start_index(on_band, candidate[1])]
            for channel in on_band:
                if channel is itself:
                    continue
                factors = band_factors.get(channel)
                if factors is None:
                    self._fill_factors(cut, channel_band, on_band, itself, band_factors)
                    factors = band_factors[channel]
                # FUSION's ** 2: the C library's pow.
                tk = math.pow(ak - pc * factors.fk_fc, 2.0)
                term1_a = ((tk - alpha_squared) / alpha) * factors.atan_a
                term1_b = ((ak_squared - tk) / ak) * factors.atan_b
                term1 = ((spans_f + factors.num_phi) / factors.denom) * (term1_a + term1_b)
                term2 = (
                    (5 / 3)
                    * ((factors.term2_phi * n_tilde * tk) / factors.term2_denom)
                    * factors.term2_log
                )
                xpm += factors.coeff * (term1 + term2)
        return spm + xpm, ase_inverse

    def _neighbours_of(self, band: str) -> dict[Channel, _Neighbour]:
        """The memo of ``band``'s channels' own figures (:meth:`_neighbour`)."""
        neighbours = self._neighbours.get(band)
        if neighbours is None:
            neighbours = self._neighbours[band] = {}
        return neighbours

    def _cut(self, band: str, start: int, slots: int) -> _CutMb:
        """The candidate's power-independent figures, computed once."""
        key = (band, start, slots)
        cut = self._cuts.get(key)
        if cut is not None:
            return cut
        f_i, b_i = self._cut_frequency(start, slots, band)
        f_k, _ = self._channel_frequency(start, slots, band)
        if f_k != f_i:
            # FUSION then looks up phi[None] and raises KeyError; say why instead.
            raise ArithmeticError(
                "the candidate lightpath's centre frequency differs from its own channel's"
            )
        fiber = self.fiber
        pi = math.pi
        alpha_i = alpha_bar_i = fiber.attenuation
        ai = alpha_i + alpha_bar_i
        phi_i = (1.5 * pi**2) * (fiber.gvd + 2 * fiber.gvd_slope * (f_i - self._f_c))
        asinh_a = numpy_math.arcsinh((phi_i * (b_i**2)) / (pi * alpha_i))
        asinh_b = numpy_math.arcsinh((phi_i * (b_i**2)) / (pi * ai))
        cut = self._cuts[key] = _CutMb(
            f_i=f_i,
            b_i=b_i,
            ase_factor=2 * NSP[band] * PLANCK * f_i * b_i,
            phi_i=phi_i,
            spm_denom=(b_i**2) * phi_i * alpha_bar_i * (2 * alpha_i + alpha_bar_i),
            asinh_a=asinh_a,
            asinh_b=asinh_b,
        )
        self._factors += 1
        return cut

    def _own_profile(self, cut: _CutMb, p_total: float) -> tuple[float, float]:
        """The candidate's Raman profile term and FUSION's ASE numerator, for this power."""
        fiber = self.fiber
        c_ri = fiber.raman_gain_slope
        l_eff = self._l_eff
        length_m = SPAN_KM * 10**3
        own = self._profile_term(cut.f_i, cut.b_i, p_total)
        numerator = (
            p_total**2
            * c_ri
            * l_eff
            * numpy_math.exp((-fiber.attenuation * length_m) - (p_total * c_ri * l_eff * cut.f_i))
        )
        return own, float(numerator)

    def _cut_frequency(self, start: int, slots: int, band: str) -> tuple[float, float]:
        """Centre frequency and bandwidth (Hz) of the candidate, FUSION's f_i and b_i."""
        bw_per_slot = self.bw_per_slot
        b_i = (slots * bw_per_slot) * 10**9
        f_i = self.fiber.frequency_start(band) + start * bw_per_slot * 10**9
        f_i += b_i / 2
        return f_i, b_i

    def _channel_frequency(self, start: int, slots: int, band: str) -> tuple[float, float]:
        """Centre frequency and bandwidth (Hz) of a channel met in FUSION's slot scan."""
        b_k = slots * self.bw_per_slot
        f_k = self.fiber.frequency_start(band) + ((start * self.bw_per_slot) + (b_k / 2)) * 10**9
        return f_k, b_k * 10**9

    def _spm(self, cut: _CutMb, p_total: float, spans: int) -> float:
        """The candidate's own term (FUSION's ``f_i == f_k`` branch)."""
        fiber = self.fiber
        pi = math.pi
        gamma = fiber.non_linearity
        alpha_i = alpha_bar_i = fiber.attenuation
        p_i = self.input_power
        ti = (alpha_i + alpha_bar_i - p_total * fiber.raman_gain_slope * (cut.f_i - self._f_c)) ** 2
        ai = alpha_i + alpha_bar_i
        num_spans_eps = spans ** (1 + 0.0001)
        coeff = (4 / 9) * (pi * (gamma**2) * num_spans_eps * (p_i**2)) / cut.spm_denom
        term1 = ((ti - (alpha_i**2)) / alpha_i) * cut.asinh_a
        term2 = ((ai**2 - ti) / ai) * cut.asinh_b
        return float(coeff * (term1 + term2))

    def _neighbour(
        self, band: str, channel: Channel, neighbours: dict[Channel, _Neighbour]
    ) -> _Neighbour:
        """A channel's own figures (:class:`_Neighbour`), computed into ``neighbours``."""
        f_k, b_k = self._channel_frequency(channel.start, channel.slots, band)
        gamma = self.fiber.non_linearity
        p_k = self.input_power
        phi_mod = self.phi[channel.fmt]
        found = neighbours[channel] = _Neighbour(
            f_k=f_k,
            b_k=b_k,
            fk_fc=f_k - self._f_c,
            coeff=(32 / 27) * (((gamma**2) * (p_k**2)) / b_k),
            num_phi=(5 / 6) * (-1 * phi_mod),
            term2_phi=-1 * phi_mod * math.pi,
        )
        return found

    def _fill_factors(
        self,
        cut: _CutMb,
        band: str,
        on_band: list[Channel],
        itself: Channel | None,
        band_factors: dict[Channel, _Xpm],
    ) -> None:
        """The candidate's XPM factors of every lightpath of ``on_band`` (but ``itself``)
        not yet in ``band_factors``, into it.

        FUSION's expressions, with their constant subexpressions (:meth:`_derive`) and
        the neighbour's own (:meth:`_neighbour`) computed once: the same operations on
        the same operands, in the same order. The arctangents of all of them are one
        call, as the C band's arcsinhs are (:meth:`Gsnr._neighbours`): a new
        candidate's link misses 43 factors at once on average (spain_mb_CL_flexi at 1500
        Erlang), and numpy's scalar calls were a fifth of a C+L request.
        """
        neighbours = self._neighbours_of(band)
        channels: list[Channel] = []
        rows: list[_Neighbour] = []
        for channel in on_band:
            if channel is not itself and channel not in band_factors:
                neighbour = neighbours.get(channel)
                if neighbour is None:
                    neighbour = self._neighbour(band, channel, neighbours)
                channels.append(channel)
                rows.append(neighbour)
        count = len(rows)
        f_i, b_i = cut.f_i, cut.b_i
        alpha_k = self.fiber.attenuation
        ak = self._ak
        beta_2 = self.fiber.gvd
        phis_i_k = [0.0] * count
        arguments = [0.0] * (2 * count)  # every atan_a, then every atan_b
        for i in range(count):
            f_k = rows[i].f_k
            # FUSION: (-4 * pi**2 * (f_k - f_i)) * (beta_2 + pi * beta_3 * (f_i + f_k - 2 * f_c))
            phi_i_k = (self._four_pi_squared * (f_k - f_i)) * (
                beta_2 + self._pi_beta_3 * (f_i + f_k - self._two_f_c)
            )
            phis_i_k[i] = phi_i_k
            arguments[i] = (phi_i_k * b_i) / alpha_k
            arguments[count + i] = (phi_i_k * b_i) / ak
        atans = numpy_math.arctan_of(arguments)
        for i in range(count):
            band_factors[channels[i]] = self._xpm(
                cut, rows[i], phis_i_k[i], atans[i], atans[count + i]
            )
        self._factors += count

    def _xpm(
        self, cut: _CutMb, neighbour: _Neighbour, phi_i_k: float, atan_a: float, atan_b: float
    ) -> _Xpm:
        """A neighbour's XPM factors, from its ``phi_i_k`` and the two arctangents of it."""
        f_k, b_k = neighbour.f_k, neighbour.b_k
        fk_fi = abs(f_k - cut.f_i)
        # FUSION: (-4 * pi**2 * (beta_2 + pi * beta_3 * (f_i + f_k))) * length
        phi = (
            self._four_pi_squared * (self.fiber.gvd + self._pi_beta_3 * (cut.f_i + f_k))
        ) * self._length_m
        ratio = (2 * fk_fi - b_k) / (2 * fk_fi + b_k)
        if ratio <= 0:
            raise self._overlapping(cut, neighbour, ratio)
        return _Xpm(
            neighbour.fk_fc,
            neighbour.coeff,
            phi_i_k * self.fiber.attenuation * self._xpm_denom_factor,  # denom
            atan_a,
            atan_b,
            abs(phi) * math.pow(b_k, 2.0) * self._alpha_squared * self._ak_squared,  # term2_denom
            (2 * fk_fi - b_k) * math.log(ratio) + 2 * b_k,
            neighbour.num_phi,
            neighbour.term2_phi,
        )

    def _overlapping(self, cut: _CutMb, neighbour: _Neighbour, ratio: float) -> FusionFailure:
        """The failure FUSION meets where a lightpath overlaps the candidate in frequency.

        On one core, lightpaths of one band never overlap; the bands do where ``l_band``
        reaches into the C band (:mod:`~fusion_jupyter.sim.bands`). The XPM term's log
        is then of a negative ratio (or of 0), and FUSION's ``math.log`` raises.
        """
        bands = overlap(self.band_slots.get("l", 0), self.bw_per_slot)
        return FusionFailure(
            f"a lightpath {neighbour.b_k / GIGA:g} GHz wide centred at "
            f"{neighbour.f_k / 1e12:.4f} THz overlaps the candidate "
            f"({cut.b_i / GIGA:g} GHz at {cut.f_i / 1e12:.4f} THz) in frequency"
            + (f" ({bands})" if bands else "")
            + f", and FUSION's multi-band XPM term takes math.log({ratio!r}) for it: "
            "FUSION raises 'ValueError: math domain error' here too (_compute_nli_mb)"
        )

    def _profile_term(self, f_k: float, b_k: float, p_total: float) -> float:
        """One channel's share of FUSION's Raman power profile."""
        c_ri = self.fiber.raman_gain_slope
        l_eff = self._l_eff
        return (
            (2 / b_k)
            * numpy_math.exp(-p_total * c_ri * l_eff * f_k)
            * numpy_math.sinh(p_total * c_ri * l_eff * (b_k / 2))
        )


def _over_spans(length_km: float, span_inverse: float) -> float:
    """A link's inverse GSNR: FUSION recomputes every span and adds them one by one."""
    link_inverse = 0.0
    for _ in range(math.ceil(length_km / SPAN_KM)):
        link_inverse += span_inverse
    return link_inverse


def phis_are_positive(
    dispersion: float,
    attenuation: float,
    span_ratio: float,
    slot_hz: float,
    phis: Iterable[float],
) -> bool:
    """Whether every neighbour's phi in the C-band GSNR is positive, whatever the spectrum.

    A neighbour of half-width ``h`` whose centre is ``D`` from the candidate's has, in
    real numbers, ``phi = asinh(R (D + h)) - asinh(R (D - h)) - c 2h / D`` with
    ``R = pi^2 |beta_2| B / (2 alpha)`` (``B`` the candidate's bandwidth) and ``c =
    phi_format * 5/3 * span_ratio``. Their spectra do not overlap, so ``D > h`` and ``D``
    is at least the slot width, as are ``B`` and ``2h``. The arcsinh difference is at
    least ``2 R h / sqrt(1 + R^2 (D + h)^2) > 2 R h / sqrt(1 + 4 R^2 D^2)``, which is at
    least ``c 2h / D`` once ``(R D)^2 (1 - 4 c^2) >= c^2``; ``R D`` is smallest at one
    slot each. A tenth of margin on ``c`` covers the rounding of FUSION's floats (parts
    in 1e15). With FUSION's fibre, 12.5 GHz slots and its phi values (at most 1): ``R D``
    >= 0.36 and ``c <= 0.18``, so every phi is positive and so is each link's term.
    """
    c = 1.1 * max(max(phis, default=0.0), 0.0) * (5 / 3) * span_ratio
    if attenuation <= 0 or c >= 0.5:
        return False
    r_d = math.pi**2 * abs(dispersion) * slot_hz**2 / (2 * attenuation)
    return r_d * r_d * (1 - 4 * c * c) >= c * c


def xpm_is_nonnegative(
    fiber: Fiber, slot_hz: float, band_slots: Mapping[str, int], phis: Iterable[float]
) -> bool:
    """Whether every XPM term of FUSION's C+L GSNR is non-negative, whatever the spectrum.

    A neighbour k's term for the candidate i is ``coeff (term1 + term2)``, ``coeff > 0``.
    In real numbers, with ``d = f_k - f_i``, ``p = phi_i_k = 4 pi^2 d beta`` (``beta =
    -(beta_2 + pi beta_3 (f_i + f_k - 2 f_c))``), ``A = atan(|p| b_i / alpha)``, ``B =
    atan(|p| b_i / 2 alpha)``, ``t_k >= 0`` and ``n`` spans:

    * ``term1 = (n + num_phi) / (3 alpha^2 |p|) (t_k (A - B/2) / alpha + alpha (2B - A))``
      (the arctangents carry p's sign, as the denominator does). ``2B >= A``, as atan is
      concave, so ``term1 >= (n + num_phi) t_k (A - B/2) / (3 alpha^3 |p|) >= 0``.
    * ``term2 = -(5/3) phi pi n t_k T / (|Phi| b_k^2 4 alpha^4)`` for ``n >= 2`` (zero for
      one span), with ``T = u ln(u / (u + 2 b_k)) + 2 b_k``, ``u = 2|d| - b_k > 0``, and
      ``Phi = 4 pi^2 (beta_2 + pi beta_3 (f_i + f_k)) L``. It is never positive, and
      ``T |d| <= b_k^2``, as ``ln((1 + w) / (1 - w)) >= 2w``.

    So ``term1 >= |term2|`` once ``(A - B/2) 4 alpha |Phi| >= 20 c phi pi^3 |beta|`` with
    ``c = 2 / (2 - 5 phi / 6) >= n / (n + num_phi)``. ``A - B/2`` grows with ``|p| b_i``,
    which is smallest for one slot each side: the spectra do not overlap (within a band,
    or across bands whose ranges do not), so ``|d| >= (b_i + b_k) / 2``. ``beta`` and
    ``Phi`` are linear in ``f_i + f_k``, so their extremes are at the ends of the bands'
    range (if neither changes sign there). A tenth of margin covers the rounding of
    FUSION's floats (parts in 1e15). With FUSION's fibre and formats, at 12.5 GHz: 2.5 to
    1; the least ratio over every pair of channels of a 480 + 480 slot grid is 2.7.
    """
    phi = max(max(phis, default=0.0), 0.0)
    alpha = fiber.attenuation
    ranges = sorted(
        (fiber.frequency_start(band), fiber.frequency_start(band) + slots * slot_hz)
        for band, slots in band_slots.items()
    )
    if alpha <= 0 or phi * 5 / 6 >= 1 or not ranges:
        return False
    if any(low < previous_high for (_, previous_high), (low, _) in itertools.pairwise(ranges)):
        return False  # bands whose spectra overlap
    low, high = 2 * ranges[0][0], 2 * max(high for _, high in ranges)
    f_c = (fiber.frequency_end_c + fiber.frequency_start_l) / 2
    betas = [fiber.gvd + math.pi * fiber.gvd_slope * (s - 2 * f_c) for s in (low, high)]
    phis_l = [fiber.gvd + math.pi * fiber.gvd_slope * s for s in (low, high)]
    if min(betas) * max(betas) <= 0 or min(phis_l) * max(phis_l) <= 0:
        return False
    x = 4 * math.pi**2 * slot_hz * min(map(abs, betas)) * slot_hz / alpha
    growth = math.atan(x) - math.atan(x / 2) / 2
    big_phi = 4 * math.pi**2 * min(map(abs, phis_l)) * SPAN_KM * 10**3
    c = 2 / (2 - 5 * phi / 6)
    return growth * 4 * alpha * big_phi >= 1.1 * 20 * c * phi * math.pi**3 * max(map(abs, betas))


#: FUSION's bands (those :data:`NSP` knows), each with the code a memo key packs.
_BAND_CODES: Final = {band: code for code, band in enumerate(NSP)}


def memo_keys(
    link_states: Sequence[Hashable], band: str, start: int, slots: int, placed: bool
) -> list[Hashable]:
    """The key each link's memoised terms are kept under: the link's state (see
    :meth:`Gsnr.path_db`), the candidate's band and slots, and whether it is placed.

    Packed into one integer where the state is a non-negative int (the controllers'
    stamps), the band's code fits in 3 bits and the slots in 16; a tuple otherwise. An
    integer hashes to itself and compares in one step: hashing and comparing the tuples
    was about 390 instructions a lookup, 2 % of a small C+L fixture's run.
    """
    code = _BAND_CODES.get(band)
    if code is None or code >= 8 or not (0 <= start < 1 << 16 and 0 <= slots < 1 << 16):
        return [(state, band, start, slots, placed) for state in link_states]
    tail = ((code << 16 | start) << 16 | slots) << 1 | int(placed)
    keys: list[Hashable] = []
    for state in link_states:
        if type(state) is int and state >= 0:
            keys.append(state << 36 | tail)
        else:
            keys.append((state, band, start, slots, placed))
    return keys


def limit_of(needed_db: float) -> float:
    """The inverse GSNR above which a path's GSNR is surely below ``needed_db``.

    A part in a billion above the threshold's inverse: a sum of non-negative floats
    added in order is at least any part of it summed, or any of its addends replaced by
    smaller ones, and the dB figure FUSION would compute from it is then below the
    threshold by some 4e-9 dB, far beyond the rounding of ``1 / x`` and numpy's
    ``log10``.
    """
    return 10 ** (-needed_db / 10) * (1 + 1e-9)


def decibels(inverse: float) -> float:
    """FUSION's GSNR in dB from its linear inverse (numpy's ``log10``, as FUSION's)."""
    return 10 * numpy_math.log10(1 / inverse)


def meets(gsnr_db: float, fmt: str) -> bool:
    """FUSION's threshold test: the GSNR reaches the format's required SNR."""
    return gsnr_db >= REQUIRED_SNR_DB[fmt]
