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
from collections.abc import Mapping, Sequence
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


@dataclass(frozen=True)
class Fiber:
    """FUSION's fibre constants (``create_pt``), the same for every link."""

    attenuation: float = 0.2 / 4.343 * 1e-3
    non_linearity: float = 1.3e-3
    dispersion: float = -21.3e-27
    frequency_start_c: float = 3e8 / 1565e-9


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


class Gsnr:
    """GSNR of candidate lightpaths for one run's ``[snr_settings]`` and slot width.

    Every link has the same fibre and span length, so a neighbour's NLI term (FUSION's
    ``phi``) depends only on the neighbour's and the candidate's slots and the
    neighbour's format: it is computed once per such combination (with FUSION's
    scalar arithmetic) and looked up afterwards, which keeps the value bit for bit.
    """

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
        fiber = self.fiber
        self._length_m = SPAN_KM * 10**3
        self._l_eff = (1 - np.exp(-2 * fiber.attenuation * self._length_m)) / (
            2 * fiber.attenuation
        )
        self._l_eff_a = 1 / (2 * fiber.attenuation)
        self._ase_growth = math.exp(fiber.attenuation * self._length_m) - 1
        self._neighbour_phi: dict[tuple[int, int, str, int, int], float] = {}

    def path_db(
        self,
        link_lengths_km: Sequence[float],
        channels: Sequence[Sequence[Channel]],
        start: int,
        slots: int,
        band: str = "c",
    ) -> float:
        """GSNR in dB of ``slots`` slots from ``start`` on a path.

        ``channels[i]`` are the lightpaths on the chosen core of the i-th link, sorted
        by start slot (FUSION scans the slots upwards and meets each lightpath at its
        lowest slot); the candidate itself is not among them.
        """
        candidate = self._candidate(start, slots, band)
        path_inverse: float = 0
        for length_km, on_link in zip(link_lengths_km, channels, strict=True):
            path_inverse += self._link_inverse(length_km, on_link, candidate)
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


def meets(gsnr_db: float, fmt: str) -> bool:
    """FUSION's threshold test: the GSNR reaches the format's required SNR."""
    return gsnr_db >= REQUIRED_SNR_DB[fmt]
