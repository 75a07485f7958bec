"""numpy's float64 math functions, bit for bit, without importing numpy where certified.

FUSION takes its event times from ``np.log`` and its GSNR terms from ``np.exp``,
``np.sinh``, ``np.arcsinh``, ``np.arctan`` and ``np.log10``. On CPUs with AVX-512
numpy runs Intel's SVML routines for these, which round some inputs differently from
the C library (and so from :mod:`math`), so the built-in simulator must call what
numpy calls. Importing numpy for that costs 70-130 ms of start-up on the machines we
measured, most of a small run.

The compiled extension ``_svml`` (built into the wheel by ``hatch_build.py``) calls
numpy's SVML routines straight from numpy's own extension, without importing numpy.
Which routine numpy runs depends on numpy's build, the CPU and numpy's
``NPY_DISABLE_CPU_FEATURES``/``NPY_ENABLE_CPU_FEATURES``; so the first run on a
machine imports numpy and compares the two on samples where numpy and the C library
differ (:data:`SAMPLES`). Only if every value is the same bits is the verdict kept, in
a certificate file keyed by all three (:func:`certificate_key`), and later runs with
the same key skip numpy. Otherwise, or with no extension (an editable install, or a
CPU without AVX-512), numpy's functions are used, as they always were.

Every function below returns Python floats: the same values numpy's float64 would
hold, and the arithmetic they enter stays plain float arithmetic.
"""

from __future__ import annotations

import _random
import importlib.machinery
import json
import os
import sys
from collections.abc import Iterable
from types import ModuleType

from fusion_jupyter.sim.outputs import write_json_atomically

TYPE_CHECKING = False
if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec
    from typing import Any, Final

    from fusion_jupyter.sim.routines import Routines

__all__ = [
    "arcsinh",
    "arcsinh_of",
    "arctan_of",
    "backend_name",
    "certificate_key",
    "exp",
    "log10",
    "log_of",
    "sinh",
    "uniforms",
]

#: numpy's function names, in the extension's slot order, with their SVML symbols.
FUNCTIONS: Final = ("log", "log10", "exp", "sinh", "arcsinh", "arctan")
SYMBOLS: Final = tuple(f"__svml_{name.replace('arc', 'a')}8_ha" for name in FUNCTIONS)
_LOG, _LOG10, _EXP, _SINH, _ARCSINH, _ARCTAN = range(len(FUNCTIONS))
#: numpy's environment variables that change which routines it dispatches to.
NUMPY_CPU_VARIABLES: Final = ("NPY_DISABLE_CPU_FEATURES", "NPY_ENABLE_CPU_FEATURES")
#: Bumped when the samples or the key change, so that older verdicts are not reused.
CERTIFICATE_VERSION: Final = 1
#: Verdicts a certificate file keeps (one per numpy build, CPU and environment).
CERTIFICATE_ENTRIES: Final = 16
#: Values compared per function: enough that a routine rounding differently from
#: numpy's shows (on the machine measured, numpy and the C library differ on 0.3-26 %
#: of each function's sample).
SAMPLE_SIZE: Final = 8192


#: The functions FUSION calls on arrays (whose lanes are its scalar calls) and on
#: scalars: each is compared the way it is used.
_ARRAY_SLOTS: Final = (_LOG, _ARCSINH, _ARCTAN)
_SCALAR_SLOTS: Final = (_ARCSINH, _EXP, _SINH, _LOG10)


def _samples() -> dict[int, list[float]]:
    """Each function's inputs by slot, over the range FUSION feeds it (fixed, seeded)."""
    import random  # certifying only: a certified run does without the module

    rng = random.Random(2612)  # noqa: S311 - test inputs, not a secret
    draw = rng.uniform

    def spread(low: float, high: float) -> list[float]:
        return [10 ** draw(low, high) for _ in range(SAMPLE_SIZE)]

    return {
        _LOG: [rng.random() or 0.5 for _ in range(SAMPLE_SIZE)],
        _LOG10: spread(-12, 12),
        _EXP: [draw(-60, 2) for _ in range(SAMPLE_SIZE)],
        _SINH: [draw(-4, 4) for _ in range(SAMPLE_SIZE)],
        _ARCSINH: _alternating(spread(-7, 7)),
        _ARCTAN: _alternating(spread(-7, 7)),
    }


def _alternating(values: list[float]) -> list[float]:
    return [-x if i % 2 else x for i, x in enumerate(values)]


class _Numpy:
    """numpy's own functions (imported on first use), with the extension's interface."""

    def __init__(self) -> None:
        import numpy

        self._np: Any = numpy
        self._functions: list[Any] = [getattr(numpy, name) for name in FUNCTIONS]

    def apply(self, slot: int, values: Iterable[float]) -> list[float]:
        np = self._np
        with np.errstate(divide="ignore"):  # a uniform of 0 has log -inf
            result: list[float] = self._functions[slot](np.fromiter(values, np.float64)).tolist()
        return result

    def apply_one(self, slot: int, x: float) -> float:
        return float(self._functions[slot](x))

    def uniforms(self, words: bytes) -> list[float]:
        np = self._np
        pairs = np.frombuffer(words, "<u4")
        high = (pairs[0::2] >> 5).astype(np.float64)
        low = (pairs[1::2] >> 6).astype(np.float64)
        result: list[float] = ((high * 67108864.0 + low) * (1.0 / 9007199254740992.0)).tolist()
        return result


_backend: Routines | None = None


def _chosen() -> Routines:
    global _backend
    if _backend is None:
        _backend = _choose()
    return _backend


def log_of(values: Iterable[float]) -> list[float]:
    """``np.log`` of each value (of an array of them, which is the same lane by lane)."""
    return _chosen().apply(_LOG, values)


def arcsinh_of(values: Iterable[float]) -> list[float]:
    """``np.arcsinh`` of each value."""
    return _chosen().apply(_ARCSINH, values)


def arctan_of(values: Iterable[float]) -> list[float]:
    """``np.arctan`` of each value."""
    return _chosen().apply(_ARCTAN, values)


def arcsinh(x: float) -> float:
    """``np.arcsinh(x)`` as a float."""
    return _chosen().apply_one(_ARCSINH, x)


def exp(x: float) -> float:
    """``np.exp(x)`` as a float."""
    return _chosen().apply_one(_EXP, x)


def sinh(x: float) -> float:
    """``np.sinh(x)`` as a float."""
    return _chosen().apply_one(_SINH, x)


def log10(x: float) -> float:
    """``np.log10(x)`` as a float."""
    return _chosen().apply_one(_LOG10, x)


def uniforms(words: bytes) -> list[float]:
    """numpy's ``random_sample`` doubles from pairs of MT19937 outputs ``a, b``
    (little-endian 32-bit words, ``a`` first): ``((a >> 5) * 2**26 + (b >> 6)) / 2**53``."""
    return _chosen().uniforms(words)


def backend_name() -> str:
    """``"svml"`` where numpy's routines are called without numpy, else ``"numpy"``."""
    return "numpy" if isinstance(_chosen(), _Numpy) else "svml"


# ---- choosing, and the certificate ----------------------------------------------------


def _choose() -> Routines:
    extension = _extension()
    library = numpy_library()
    if extension is None or library is None:
        return _Numpy()
    key = certificate_key(library)
    path = certificate_path()
    verdict = _read_verdicts(path).get(key) if key is not None else None
    if verdict is False:  # compared before, and numpy runs other routines here
        return _Numpy()
    bound = extension.bind(str(library), SYMBOLS)
    if verdict is True:
        return extension if bound else _Numpy()
    numpy = _Numpy()
    verdict = bound and certify(extension, numpy)
    if key is not None:
        _write_verdict(path, key, verdict)
    return extension if verdict else numpy


def _extension() -> ModuleType | None:
    try:
        from fusion_jupyter.sim import _svml
    except ImportError:  # an editable install or a pure-Python wheel
        return None
    return _svml


def numpy_library() -> str | None:
    """numpy's ``_multiarray_umath`` extension, found without importing numpy."""
    spec = _spec_of("numpy")
    if spec is None or not spec.submodule_search_locations:
        return None
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]  # this interpreter's ABI tag
    for location in spec.submodule_search_locations:
        for package in ("_core", "core"):  # numpy 2, numpy 1
            candidate = os.path.join(location, package, f"_multiarray_umath{suffix}")
            if os.path.isfile(candidate):
                return os.path.realpath(candidate)
    return None


def _spec_of(package: str) -> ModuleSpec | None:
    """``importlib.util.find_spec`` of a top-level package, without importing
    ``importlib.util`` (with what it imports, 1.5 ms of the simulator's start): each
    finder on ``sys.meta_path`` is asked in turn, as the import system asks them."""
    module = sys.modules.get(package)
    if module is not None:
        return module.__spec__
    for finder in sys.meta_path:
        find_spec = getattr(finder, "find_spec", None)
        spec: ModuleSpec | None = None if find_spec is None else find_spec(package, None)
        if spec is not None:
            return spec
    return None


def certify(ours: Routines, numpy: _Numpy) -> bool:
    """Whether ``ours`` gives numpy's bits on every sample, function by function, as
    FUSION uses each: on arrays, and on scalars one value at a time."""
    samples = _samples()
    for slot in _ARRAY_SLOTS:
        if ours.apply(slot, samples[slot]) != numpy.apply(slot, samples[slot]):
            return False
    for slot in _SCALAR_SLOTS:
        if any(ours.apply_one(slot, x) != numpy.apply_one(slot, x) for x in samples[slot]):
            return False
    words = _random.Random(5).getrandbits(64 * SAMPLE_SIZE)
    raw = words.to_bytes(8 * SAMPLE_SIZE, "little")
    return ours.uniforms(raw) == numpy.uniforms(raw)


def certificate_key(library: str) -> str | None:
    """What numpy's choice of routine depends on: its build, the CPU, its variables.

    None where the CPU's features cannot be read (then nothing is kept, and every run
    compares afresh): a shared home directory may be seen from different machines.
    """
    try:
        stat = os.stat(library)
        flags = _cpu_flags()
    except OSError:
        return None
    if flags is None:
        return None
    environment = {name: os.environ.get(name, "") for name in NUMPY_CPU_VARIABLES}
    parts = [CERTIFICATE_VERSION, str(library), stat.st_size, stat.st_mtime_ns, flags]
    return json.dumps([*parts, environment], sort_keys=True)


def _cpu_flags() -> str | None:
    # The first processor's block is enough (every core of a machine has the same
    # features); reading the whole file is slow on machines with many cores.
    with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
        head = handle.read(1 << 14)
    for line in head.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "flags":
            return " ".join(sorted(value.split()))
    return None


def certificate_path() -> str:
    """The certificate file, in the user's cache directory (``$XDG_CACHE_HOME``)."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "fusion_jupyter", "numpy-math.json")


def _read_verdicts(path: str) -> dict[str, bool]:
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.loads(handle.read())
    except (OSError, ValueError):  # none yet, unreadable or damaged: compared afresh
        return {}
    if not isinstance(document, dict):
        return {}
    return {k: v for k, v in document.items() if isinstance(v, bool)}


def _write_verdict(path: str, key: str, verdict: bool) -> None:
    """Keep ``verdict`` under ``key``. A cache that cannot be written only means
    comparing again next run."""
    verdicts = _read_verdicts(path)
    verdicts.pop(key, None)
    verdicts[key] = verdict
    kept = dict(list(verdicts.items())[-CERTIFICATE_ENTRIES:])
    import contextlib  # certifying only

    with contextlib.suppress(OSError):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_json_atomically(path, kept)
