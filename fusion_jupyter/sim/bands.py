"""FUSION's C and L bands in frequency, and where a config makes them overlap.

FUSION's fibre (``fusion/io/generate.py``, ``create_pt``) starts the C band at the
frequency of 1565 nm and the L band at that of 1620 nm, 6.508 THz lower, and lays
``c_band`` and ``l_band`` slots of ``bw_per_slot`` GHz upwards from each. Nothing stops
the L band from reaching into the C band: 58 slots of FUSION's fixed grid (112.5 GHz)
or 521 of 12.5 GHz do. Its multi-band GSNR (``_compute_nli_mb``) then meets a lightpath
of one band centred less than half its width from a lightpath of the other, and takes
``math.log`` of a negative number: FUSION raises "math domain error" there. Whether
that happens depends on the traffic, so such a config is warned about, not refused,
and a run that meets it stops where FUSION stops (:class:`~.failures.FusionFailure`).
"""

from __future__ import annotations

#: FUSION's band starts (Hz): c / 1565 nm and c / 1620 nm, as ``create_pt`` writes them.
C_START_HZ = 3e8 / 1565e-9
L_START_HZ = 3e8 / 1620e-9


def overlap(l_slots: int, bw_per_slot_ghz: float) -> str | None:
    """Where ``l_slots`` L-band slots of ``bw_per_slot_ghz`` reach into the C band, in
    words, or None if they do not."""
    l_end_hz = L_START_HZ + l_slots * bw_per_slot_ghz * 1e9
    if l_end_hz <= C_START_HZ:
        return None
    return (
        f"the L band ({l_slots} slots of {bw_per_slot_ghz:g} GHz) spans "
        f"{L_START_HZ / 1e12:.3f}-{l_end_hz / 1e12:.3f} THz, over the C band, which starts "
        f"at {C_START_HZ / 1e12:.3f} THz in FUSION's fibre"
    )
