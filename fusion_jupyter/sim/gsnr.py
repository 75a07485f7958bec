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


@dataclass(frozen=True)
class Gsnr:
    """The physical-layer inputs of a run: the config's ``[snr_settings]`` and slot width."""

    bw_per_slot: float
    input_power: float
    #: FUSION's ``phi`` per format (modulation-dependent NLI correction).
    phi: Mapping[str, float]
    fiber: Fiber = Fiber()

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
        path_inverse: float = 0
        for length_km, on_link in zip(link_lengths_km, channels, strict=True):
            path_inverse += self._link_inverse(length_km, on_link, start, slots, band)
        return float(10 * np.log10(1 / path_inverse))

    def _link_inverse(
        self, length_km: float, on_link: Sequence[Channel], start: int, slots: int, band: str
    ) -> float:
        """Sum over the link's spans of 1 / span GSNR (linear), as FUSION adds them."""
        fiber = self.fiber
        bw_per_slot = self.bw_per_slot
        freq_start = fiber.frequency_start_c
        center_freq = freq_start + start * bw_per_slot * GIGA
        center_freq += ((slots * bw_per_slot) / 2) * GIGA
        bandwidth = slots * bw_per_slot * GIGA
        attenuation = fiber.attenuation
        dispersion = abs(fiber.dispersion)
        length_m = SPAN_KM * 10**3
        spans = math.ceil(length_km / SPAN_KM)
        p_ase_span = bandwidth * PLANCK * center_freq * 2 * NSP[band]
        p_ase_span *= math.exp(attenuation * length_m) - 1
        l_eff = (1 - np.exp(-2 * attenuation * length_m)) / (2 * attenuation)
        l_eff_a = 1 / (2 * attenuation)
        sum_phi: float = 0
        for slot, channel_slots, fmt in self._in_slot_order(on_link, start, slots):
            channel_bw = channel_slots * bw_per_slot
            channel_freq = freq_start + ((slot * bw_per_slot) + (channel_bw / 2)) * GIGA
            channel_bw *= GIGA
            if center_freq == channel_freq:
                phi = np.arcsinh(np.pi**2 * dispersion * bandwidth**2 / (4 * attenuation))
            elif fmt is None:
                # FUSION then looks up phi[None] and raises KeyError; say why instead.
                raise ArithmeticError(
                    "the candidate lightpath's centre frequency differs from its own channel's"
                )
            else:
                freq_diff = channel_freq - center_freq
                reach = np.pi**2 * dispersion * l_eff_a * bandwidth
                term1 = np.arcsinh(reach * (freq_diff + channel_bw * 0.5))
                term2 = np.arcsinh(reach * (freq_diff - channel_bw * 0.5))
                term3 = self.phi[fmt] * (channel_bw / abs(freq_diff)) * (5 / 3) * (l_eff / length_m)
                phi = term1 - term2 - term3
            sum_phi += phi
        p_nli_span = (
            (self.input_power / bandwidth) ** 3
            * (8 / (27 * np.pi * dispersion))
            * fiber.non_linearity**2
            * l_eff
            * sum_phi
            * bandwidth
        )
        span_inverse = (self.input_power / (p_ase_span + p_nli_span)) ** -1
        link_inverse: float = 0
        for _ in range(spans):  # FUSION recomputes each span and adds them one by one
            link_inverse += span_inverse
        return link_inverse

    @staticmethod
    def _in_slot_order(
        on_link: Sequence[Channel], start: int, slots: int
    ) -> list[tuple[int, int, str | None]]:
        """The link's channels and the candidate (format None), by lowest slot."""
        out: list[tuple[int, int, str | None]] = [(c.start, c.slots, c.fmt) for c in on_link]
        out.append((start, slots, None))
        out.sort(key=lambda channel: channel[0])
        return out


def meets(gsnr_db: float, fmt: str) -> bool:
    """FUSION's threshold test: the GSNR reaches the format's required SNR."""
    return gsnr_db >= REQUIRED_SNR_DB[fmt]
