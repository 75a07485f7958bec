"""FUSION's generalised SNR (ASE + nonlinear interference) of a candidate lightpath.

FUSION's ``snr_type = gsnr`` in the C band (``SnrMeasurements.check_gsnr``,
``fusion/core/snr_measurements.py``) decides, for a lightpath it is about to set up,
whether the modulation format's SNR threshold is met. The figure depends on every
lightpath already on the same core of each link (their spectral distance and format),
so it is computed from the current occupancy at the moment of the decision.

FUSION's fibre (``fusion/io/generate.py: create_pt``) is the same on every link, with
100 km spans; only the link length differs. The arithmetic below follows FUSION's
expression for expression, with numpy's scalar functions where FUSION uses them
(``np.arcsinh``, ``np.exp``, ``np.log10`` round differently from :mod:`math` in the
last bit on some inputs): a threshold is a comparison of floats, and the SNR values
are reported, so the same operations in the same order give FUSION's decisions and
figures.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

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


@dataclass(frozen=True)
class Fiber:
    """FUSION's fibre constants (``create_pt``), the same for every link."""

    attenuation: float = 0.2 / 4.343 * 1e-3
    non_linearity: float = 1.3e-3
    dispersion: float = -21.3e-27
    frequency_start_c: float = 3e8 / 1565e-9
    frequency_end_c: float = (3e8 / 1565e-9) + 6.0e12
    frequency_start_l: float = 3e8 / 1620e-9
    #: Multi-band (C+L) parameters: Raman gain slope, beta2 and beta3.
    raman_gain_slope: float = 0.028 / 1e3 / 1e12
    gvd: float = -22.6 * (1e-12 * 1e-12) / 1e3
    gvd_slope: float = 0.14 * (1e-12 * 1e-12 * 1e-12) / 1e3

    def frequency_start(self, band: str) -> float:
        """First frequency (Hz) of ``band`` (C or L)."""
        return self.frequency_start_c if band == "c" else self.frequency_start_l


class Channel(NamedTuple):
    """A lightpath on one core of one link, as the GSNR sees it."""

    start: int
    slots: int
    fmt: str


class _Candidate(NamedTuple):
    """What FUSION computes once per candidate lightpath and reuses on every link."""

    start: int
    slots: int
    center_freq: float
    bandwidth: float
    #: Its own term of the NLI sum (FUSION's phi of the channel under test).
    own_phi: float
    p_ase_span: float
    #: ``(P / B) ** 3 * 8 / (27 pi D) * gamma ** 2 * L_eff``, the NLI factor before phi.
    nli_factor: float


class PhysicalLayer:
    """One run's ``[snr_settings]`` inputs, the slot width and FUSION's fibre."""

    def __init__(
        self,
        bw_per_slot: float,
        input_power: float,
        phi: Mapping[str, float],
        fiber: Fiber | None = None,
    ) -> None:
        self.bw_per_slot = bw_per_slot
        self.input_power = input_power
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
        self._l_eff = (1 - np.exp(-2 * fiber.attenuation * self._length_m)) / (
            2 * fiber.attenuation
        )
        self._l_eff_a = 1 / (2 * fiber.attenuation)
        self._ase_growth = math.exp(fiber.attenuation * self._length_m) - 1
        self._neighbour_phi: dict[tuple[int, int, str, int, int], float] = {}
        self._links: dict[Hashable, float] = {}

    def path_db(
        self,
        link_lengths_km: Sequence[float],
        channels: Sequence[Sequence[Channel]],
        start: int,
        slots: int,
        band: str = "c",
        link_states: Sequence[Hashable] | None = None,
    ) -> float:
        """GSNR in dB of ``slots`` slots from ``start`` on a path.

        ``channels[i]`` are the lightpaths on the chosen core of the i-th link, sorted
        by start slot (FUSION scans the slots upwards and meets each lightpath at its
        lowest slot); the candidate itself is not among them. ``link_states[i]``, if
        given, names the i-th link's current occupancy (it must change whenever its
        channels do): a link's term is then memoised for that state.
        """
        candidate = self._candidate(start, slots, band)
        path_inverse: float = 0
        for i, (length_km, on_link) in enumerate(zip(link_lengths_km, channels, strict=True)):
            key = None if link_states is None else (link_states[i], start, slots)
            term = None if key is None else self._links.get(key)
            if term is None:
                term = self._link_inverse(length_km, on_link, candidate)
                if key is not None:
                    self._links[key] = term
            path_inverse += term
        if len(self._links) > CACHE_LIMIT or len(self._neighbour_phi) > CACHE_LIMIT:
            self._links.clear()
            self._neighbour_phi.clear()
        return float(10 * np.log10(1 / path_inverse))

    def placed_path_db(
        self,
        link_lengths_km: Sequence[float],
        channels: Sequence[Sequence[Channel]],
        start: int,
        slots: int,
        link_states: Sequence[Hashable],
    ) -> float:
        """GSNR in dB of a lightpath already set up, as FUSION's SNR recheck evaluates it.

        ``channels`` are as for :meth:`path_db` but include the lightpath itself (at
        ``start``): FUSION's slot scan meets it at its first slot and counts it once, as
        the channel under test, so it is the candidate and not a neighbour.
        """
        candidate = self._candidate(start, slots, "c")
        path_inverse: float = 0
        for i, (length_km, on_link) in enumerate(zip(link_lengths_km, channels, strict=True)):
            key = ("placed", link_states[i], start, slots)
            term = self._links.get(key)
            if term is None:
                others = [channel for channel in on_link if channel.start != start]
                term = self._links[key] = self._link_inverse(length_km, others, candidate)
            path_inverse += term
        return float(10 * np.log10(1 / path_inverse))

    def _candidate(self, start: int, slots: int, band: str) -> _Candidate:
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
        own_phi = np.arcsinh(np.pi**2 * dispersion * bandwidth**2 / (4 * fiber.attenuation))
        p_ase_span = bandwidth * PLANCK * center_freq * 2 * NSP[band]
        p_ase_span *= self._ase_growth
        nli_factor = (
            (self.input_power / bandwidth) ** 3
            * (8 / (27 * np.pi * dispersion))
            * fiber.non_linearity**2
            * self._l_eff
        )
        return _Candidate(
            start, slots, center_freq, bandwidth, own_phi, p_ase_span, float(nli_factor)
        )

    def _channel_freq(self, start: int, slots: int) -> tuple[float, float]:
        """Centre frequency and bandwidth (Hz) of a channel, as FUSION's scan computes them."""
        channel_bw = slots * self.bw_per_slot
        channel_freq = (
            self.fiber.frequency_start_c + ((start * self.bw_per_slot) + (channel_bw / 2)) * GIGA
        )
        return channel_freq, channel_bw * GIGA

    def _link_inverse(
        self, length_km: float, on_link: Sequence[Channel], candidate: _Candidate
    ) -> float:
        """Sum over the link's spans of 1 / span GSNR (linear), as FUSION adds them."""
        cache = self._neighbour_phi
        start, slots = candidate.start, candidate.slots
        sum_phi: float = 0
        own_added = False
        for channel in on_link:
            if not own_added and channel.start > start:
                sum_phi += candidate.own_phi
                own_added = True
            key = (channel.start, channel.slots, channel.fmt, start, slots)
            phi = cache.get(key)
            if phi is None:
                phi = cache[key] = self._neighbour(channel, candidate)
            sum_phi += phi
        if not own_added:
            sum_phi += candidate.own_phi
        p_nli_span = candidate.nli_factor * sum_phi * candidate.bandwidth
        span_inverse = np.float64(self.input_power / (candidate.p_ase_span + p_nli_span)) ** -1
        link_inverse: float = 0
        for _ in range(math.ceil(length_km / SPAN_KM)):
            # FUSION recomputes every span of a link and adds them one by one.
            link_inverse += span_inverse
        return link_inverse

    def _neighbour(self, channel: Channel, candidate: _Candidate) -> float:
        """FUSION's phi of a neighbouring channel for this candidate."""
        channel_freq, channel_bw = self._channel_freq(channel.start, channel.slots)
        dispersion = abs(self.fiber.dispersion)
        bandwidth = candidate.bandwidth
        if candidate.center_freq == channel_freq:
            phi = np.arcsinh(np.pi**2 * dispersion * bandwidth**2 / (4 * self.fiber.attenuation))
        else:
            freq_diff = channel_freq - candidate.center_freq
            reach = np.pi**2 * dispersion * self._l_eff_a * bandwidth
            term1 = np.arcsinh(reach * (freq_diff + channel_bw * 0.5))
            term2 = np.arcsinh(reach * (freq_diff - channel_bw * 0.5))
            term3 = (
                self.phi[channel.fmt]
                * (channel_bw / abs(freq_diff))
                * (5 / 3)
                * (self._l_eff / self._length_m)
            )
            phi = term1 - term2 - term3
        return float(phi)


class _XpmGeometry(NamedTuple):
    """Factors of FUSION's XPM term that do not depend on the link's power."""

    fk_fc: float
    ak: float
    coeff: float
    denom: float
    atan_a: float
    atan_b: float
    term2_denom: float
    term2_log: float


class MultiBandGsnr(PhysicalLayer):
    """FUSION's C+L GSNR (``check_gsnr_mb``: ``_compute_nli_mb``, ``_compute_ase_mb``).

    Unlike the C-band model, every term depends on the link's total launch power
    (one ``input_power`` per lightpath on the core, in both bands, plus one), so a
    neighbour's terms are memoised per (neighbour, candidate, lightpaths on the link,
    spans), each first computed with FUSION's scalar arithmetic.
    """

    def _derive(self) -> None:
        fiber = self.fiber
        self._f_c = (fiber.frequency_end_c + fiber.frequency_start_l) / 2
        self._length_m = SPAN_KM * 1000
        alpha = fiber.attenuation
        self._l_eff = (1 - np.exp(-alpha * SPAN_KM * 10**3)) / alpha
        self._terms: dict[tuple[object, ...], float] = {}
        self._links: dict[Hashable, tuple[float, float]] = {}
        self._geometry: dict[tuple[str, int, int, float, float], _XpmGeometry] = {}

    def path_db(
        self,
        link_lengths_km: Sequence[float],
        channels: Sequence[Sequence[tuple[str, Sequence[Channel]]]],
        start: int,
        slots: int,
        band: str = "c",
        link_states: Sequence[Hashable] | None = None,
    ) -> float:
        """GSNR in dB of ``slots`` slots from ``start`` in ``band`` on a path.

        ``channels[i]`` holds, for the i-th link, each band's lightpaths on the chosen
        core in FUSION's band order (C, then L), each sorted by start slot;
        ``link_states`` as for :meth:`Gsnr.path_db`.
        """
        if max(len(self._terms), len(self._links), len(self._geometry)) > CACHE_LIMIT:
            self._terms.clear()
            self._links.clear()
            self._geometry.clear()
        nli_inverse = 0.0
        ase_inverse = 0.0
        for i, (length_km, on_link) in enumerate(zip(link_lengths_km, channels, strict=True)):
            key = None if link_states is None else (link_states[i], band, start, slots)
            terms = None if key is None else self._links.get(key)
            if terms is None:
                terms = self._link_terms(length_km, on_link, start, slots, band)
                if key is not None:
                    self._links[key] = terms
            nli_inverse += terms[0]
            ase_inverse += terms[1]
        lp_inverse = 0.0
        lp_inverse += nli_inverse + ase_inverse
        return float(10 * np.log10(1 / lp_inverse))

    def placed_path_db(
        self,
        link_lengths_km: Sequence[float],
        channels: Sequence[Sequence[tuple[str, Sequence[Channel]]]],
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
        nli_inverse = 0.0
        ase_inverse = 0.0
        for i, (length_km, on_link) in enumerate(zip(link_lengths_km, channels, strict=True)):
            key = ("placed", link_states[i], band, start, slots)
            terms = self._links.get(key)
            if terms is None:
                spans = math.ceil(length_km / SPAN_KM)
                p_total: float = 1
                p_total += sum(len(on_band) for _, on_band in on_link)
                p_total *= self.input_power
                others = [
                    (
                        channel_band,
                        [c for c in on_band if channel_band != band or c.start != start],
                    )
                    for channel_band, on_band in on_link
                ]
                terms = self._links[key] = (
                    self._nli(others, start, slots, band, p_total, spans),
                    self._ase(on_link, start, slots, band, p_total, spans),
                )
            nli_inverse += terms[0]
            ase_inverse += terms[1]
        lp_inverse = 0.0
        lp_inverse += nli_inverse + ase_inverse
        return float(10 * np.log10(1 / lp_inverse))

    def _link_terms(
        self,
        length_km: float,
        on_link: Sequence[tuple[str, Sequence[Channel]]],
        start: int,
        slots: int,
        band: str,
    ) -> tuple[float, float]:
        """One link's inverse NLI and ASE SNRs (FUSION's ``_gsnr_calc_mb`` loop body)."""
        spans = math.ceil(length_km / SPAN_KM)
        p_total: float = 1
        p_total += sum(len(on_band) for _, on_band in on_link)
        p_total *= self.input_power
        return (
            self._nli(on_link, start, slots, band, p_total, spans),
            self._ase(on_link, start, slots, band, p_total, spans),
        )

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

    def _nli(
        self,
        on_link: Sequence[tuple[str, Sequence[Channel]]],
        start: int,
        slots: int,
        band: str,
        p_total: float,
        spans: int,
    ) -> float:
        """FUSION's ``_compute_nli_mb``: SPM of the candidate plus XPM of every neighbour."""
        # FUSION meets the candidate once in its slot scan; only it adds to the SPM.
        spm = 0.0
        f_i, b_i = self._cut_frequency(start, slots, band)
        spm += self._spm(f_i, b_i, start, slots, band, p_total, spans)
        xpm = 0.0
        for channel_band, on_band in on_link:
            for channel in on_band:
                key = ("x", channel_band, channel, band, start, slots, p_total, spans)
                term = self._terms.get(key)
                if term is None:
                    term = self._terms[key] = self._xpm(
                        channel_band, channel, f_i, b_i, p_total, spans
                    )
                xpm += term
        return spm + xpm

    def _spm(
        self, f_i: float, b_i: float, start: int, slots: int, band: str, p_total: float, spans: int
    ) -> float:
        """The candidate's own term (FUSION's ``f_i == f_k`` branch)."""
        f_k, _ = self._channel_frequency(start, slots, band)
        if f_k != f_i:
            # FUSION then looks up phi[None] and raises KeyError; say why instead.
            raise ArithmeticError(
                "the candidate lightpath's centre frequency differs from its own channel's"
            )
        key = ("s", band, start, slots, p_total, spans)
        term = self._terms.get(key)
        if term is not None:
            return term
        fiber = self.fiber
        pi = np.pi
        gamma = fiber.non_linearity
        alpha_i = alpha_bar_i = fiber.attenuation
        c_ri = fiber.raman_gain_slope
        f_c = self._f_c
        p_i = self.input_power
        ti = (alpha_i + alpha_bar_i - p_total * c_ri * (f_i - f_c)) ** 2
        ai = alpha_i + alpha_bar_i
        phi_i = (1.5 * pi**2) * (fiber.gvd + 2 * fiber.gvd_slope * (f_i - f_c))
        num_spans_eps = spans ** (1 + 0.0001)
        denom = (b_i**2) * phi_i * alpha_bar_i * (2 * alpha_i + alpha_bar_i)
        coeff = (4 / 9) * (pi * (gamma**2) * num_spans_eps * (p_i**2)) / denom
        term1 = ((ti - (alpha_i**2)) / alpha_i) * np.arcsinh((phi_i * (b_i**2)) / (pi * alpha_i))
        term2 = ((ai**2 - ti) / ai) * np.arcsinh((phi_i * (b_i**2)) / (pi * ai))
        term = self._terms[key] = float(coeff * (term1 + term2))
        return term

    def _xpm(
        self,
        channel_band: str,
        channel: Channel,
        f_i: float,
        b_i: float,
        p_total: float,
        spans: int,
    ) -> float:
        """A neighbour's XPM term (it never shares the candidate's slots or frequency).

        Only FUSION's ``tk`` depends on the link's power; the rest (the arctangents and
        the logarithm among it) is geometry, computed once per neighbour and candidate.
        """
        key = (channel_band, channel.start, channel.slots, f_i, b_i)
        geometry = self._geometry.get(key)
        if geometry is None:
            geometry = self._geometry[key] = self._xpm_geometry(channel, channel_band, f_i, b_i)
        alpha_k = alpha_bar_k = self.fiber.attenuation
        pi = np.pi
        tk = (alpha_k + alpha_bar_k - p_total * self.fiber.raman_gain_slope * geometry.fk_fc) ** 2
        ak = geometry.ak
        n_tilde = 0 if spans == 1 else spans
        phi_mod = self.phi[channel.fmt]
        xpm_num = spans + (5 / 6) * (-1 * phi_mod)
        xpm_term1_a = ((tk - (alpha_k**2)) / alpha_k) * geometry.atan_a
        xpm_term1_b = (((ak**2) - tk) / ak) * geometry.atan_b
        xpm_term1 = (xpm_num / geometry.denom) * (xpm_term1_a + xpm_term1_b)
        xpm_term2_num = -1 * phi_mod * pi * n_tilde * tk
        xpm_term2 = (5 / 3) * (xpm_term2_num / geometry.term2_denom) * geometry.term2_log
        return float(geometry.coeff * (xpm_term1 + xpm_term2))

    def _xpm_geometry(
        self, channel: Channel, channel_band: str, f_i: float, b_i: float
    ) -> _XpmGeometry:
        """The power-independent factors of FUSION's XPM term, its arithmetic unchanged."""
        f_k, b_k = self._channel_frequency(channel.start, channel.slots, channel_band)
        fiber = self.fiber
        pi = np.pi
        gamma = fiber.non_linearity
        alpha_k = alpha_bar_k = fiber.attenuation
        beta_2, beta_3 = fiber.gvd, fiber.gvd_slope
        f_c = self._f_c
        p_k = self.input_power
        fk_fi = abs(f_k - f_i)
        ak = alpha_k + alpha_bar_k
        phi_i_k = (-4 * pi**2 * (f_k - f_i)) * (beta_2 + pi * beta_3 * (f_i + f_k - 2 * f_c))
        phi = (-4 * pi**2 * (beta_2 + pi * beta_3 * (f_i + f_k))) * self._length_m
        return _XpmGeometry(
            fk_fc=f_k - f_c,
            ak=ak,
            coeff=(32 / 27) * (((gamma**2) * (p_k**2)) / b_k),
            denom=phi_i_k * alpha_bar_k * (2 * alpha_k + alpha_bar_k),
            atan_a=float(np.arctan((phi_i_k * b_i) / alpha_k)),
            atan_b=float(np.arctan((phi_i_k * b_i) / ak)),
            term2_denom=abs(phi) * (b_k**2) * (alpha_k**2) * (ak**2),
            term2_log=(2 * fk_fi - b_k) * math.log((2 * fk_fi - b_k) / (2 * fk_fi + b_k)) + 2 * b_k,
        )

    def _ase(
        self,
        on_link: Sequence[tuple[str, Sequence[Channel]]],
        start: int,
        slots: int,
        band: str,
        p_total: float,
        spans: int,
    ) -> float:
        """FUSION's ``_compute_ase_mb``: ASE with the link's Raman power profile."""
        fiber = self.fiber
        c_ri = fiber.raman_gain_slope
        alpha = fiber.attenuation
        l_eff = self._l_eff
        f_i, b_i = self._cut_frequency(start, slots, band)
        p_profile = 0.0
        p_profile += self._profile_term(f_i, b_i, p_total)
        for channel_band, on_band in on_link:
            for channel in on_band:
                key = ("a", channel_band, channel.start, channel.slots, p_total)
                term = self._terms.get(key)
                if term is None:
                    f_k, b_k = self._channel_frequency(channel.start, channel.slots, channel_band)
                    term = self._terms[key] = self._profile_term(f_k, b_k, p_total)
                p_profile += term
        length_m = SPAN_KM * 10**3
        p_profile = (
            p_total**2 * c_ri * l_eff * np.exp((-alpha * length_m) - (p_total * c_ri * l_eff * f_i))
        ) / p_profile
        nsp = NSP[band]
        p_ase_span = 2 * nsp * PLANCK * f_i * b_i * ((self.input_power / p_profile) - 1)
        p_ase_link = p_ase_span * spans
        return float(p_ase_link / self.input_power)

    def _profile_term(self, f_k: float, b_k: float, p_total: float) -> float:
        """One channel's share of FUSION's Raman power profile."""
        c_ri = self.fiber.raman_gain_slope
        l_eff = self._l_eff
        return float(
            (2 / b_k)
            * np.exp(-p_total * c_ri * l_eff * f_k)
            * np.sinh(p_total * c_ri * l_eff * (b_k / 2))
        )


def meets(gsnr_db: float, fmt: str) -> bool:
    """FUSION's threshold test: the GSNR reaches the format's required SNR."""
    return gsnr_db >= REQUIRED_SNR_DB[fmt]
