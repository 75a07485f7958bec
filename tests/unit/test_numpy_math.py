"""numpy's float64 functions with or without numpy: the choice and its certificate.

The ``_svml`` extension itself exists only in a built wheel; tests/wheel/
test_compiled_core.py runs it against numpy. Here (an editable install) the choice is
driven with stand-in extensions: one that computes with numpy (so it is certified) and
one a last bit off on every value (so it is not), whatever this machine's CPU.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from fusion_jupyter.sim import numpy_math

FUNCTIONS = [np.log, np.log10, np.exp, np.sinh, np.arcsinh, np.arctan]


def _stand_in(off: Iterable[int] = ()) -> SimpleNamespace:
    """An extension with ``_svml``'s interface, computing with numpy: exact, but for the
    functions at the slots ``off``, a last bit off on every value."""
    wrong = set(off)
    calls = {"bind": 0}

    def bind(library: str, symbols: Iterable[str]) -> bool:
        calls["bind"] += 1
        assert list(symbols) == list(numpy_math.SYMBOLS)
        return True

    def apply(slot: int, values: Iterable[float]) -> list[float]:
        with np.errstate(divide="ignore"):
            result = FUNCTIONS[slot](np.fromiter(values, np.float64))
        return (np.nextafter(result, np.inf) if slot in wrong else result).tolist()

    def apply_one(slot: int, x: float) -> float:
        return apply(slot, [x])[0]

    def uniforms(words: bytes) -> list[float]:
        return numpy_math._Numpy().uniforms(words)

    return SimpleNamespace(
        bind=bind, apply=apply, apply_one=apply_one, uniforms=uniforms, calls=calls
    )


ALL = range(len(FUNCTIONS))


@pytest.fixture
def certificate(tmp_path, monkeypatch) -> Path:
    """The certificate file in a fresh directory; the chosen backend forgotten after."""
    path = tmp_path / "cache" / "fusion_jupyter" / "numpy-math.json"
    monkeypatch.setattr(numpy_math, "certificate_path", lambda: path)
    monkeypatch.setattr(numpy_math, "_backend", None)
    return path


def _choose_with(monkeypatch, extension) -> str:
    monkeypatch.setattr(numpy_math, "_extension", lambda: extension)
    monkeypatch.setattr(numpy_math, "_backend", None)
    return numpy_math.backend_name()


def test_without_the_extension_numpys_own_functions_serve(certificate):
    # An editable install has no compiled extension: numpy, and nothing written.
    assert numpy_math.backend_name() == "numpy"
    assert not certificate.exists()
    values = [random.Random(1).random() for _ in range(1000)]
    assert numpy_math.log_of(values) == np.log(values).tolist()
    assert numpy_math.arcsinh_of(values) == np.arcsinh(values).tolist()
    assert numpy_math.arctan_of(values) == np.arctan(values).tolist()
    for x in values[:50]:
        assert numpy_math.exp(-x) == float(np.exp(-x))
        assert numpy_math.sinh(x) == float(np.sinh(x))
        assert numpy_math.arcsinh(x) == float(np.arcsinh(x))
        assert numpy_math.log10(x) == float(np.log10(x))
        assert type(numpy_math.exp(x)) is float
    assert numpy_math.log_of([0.0]) == [-np.inf]  # no warning, as FUSION's draws allow


def test_an_exact_extension_is_certified_once_and_then_trusted(certificate, monkeypatch):
    exact = _stand_in()
    assert _choose_with(monkeypatch, exact) == "svml"
    (verdict,) = json.loads(certificate.read_text()).values()
    assert verdict is True
    # The next process reads the verdict: it binds, and compares nothing.
    monkeypatch.setattr(numpy_math, "certify", lambda *a: pytest.fail("compared again"))
    assert _choose_with(monkeypatch, exact) == "svml"
    assert exact.calls["bind"] == 2


def test_an_extension_off_by_one_bit_is_refused_and_remembered(certificate, monkeypatch):
    inexact = _stand_in(ALL)
    assert _choose_with(monkeypatch, inexact) == "numpy"
    (verdict,) = json.loads(certificate.read_text()).values()
    assert verdict is False
    # Refused for good on this key: not even bound again.
    assert _choose_with(monkeypatch, inexact) == "numpy"
    assert inexact.calls["bind"] == 1
    assert numpy_math.exp(-1.0) == float(np.exp(-1.0))


@pytest.mark.parametrize("slot", ALL, ids=numpy_math.FUNCTIONS)
def test_every_function_is_compared(certificate, monkeypatch, slot):
    """A routine off on one function alone is refused, whichever function it is."""
    assert _choose_with(monkeypatch, _stand_in([slot])) == "numpy"


def test_an_extension_that_cannot_bind_is_not_used(certificate, monkeypatch):
    # A CPU without AVX-512, or a numpy without the symbols.
    unbound = _stand_in()
    unbound.bind = lambda library, symbols: False
    assert _choose_with(monkeypatch, unbound) == "numpy"
    assert list(json.loads(certificate.read_text()).values()) == [False]


def test_a_damaged_certificate_is_compared_afresh(certificate, monkeypatch):
    certificate.parent.mkdir(parents=True)
    for damage in ("{not json", "[1, 2]", '{"key": "yes"}', ""):
        certificate.write_text(damage)
        assert _choose_with(monkeypatch, _stand_in()) == "svml"
        assert list(json.loads(certificate.read_text()).values()) == [True]


def test_an_unwritable_cache_only_means_comparing_each_time(certificate, monkeypatch):
    # Its directory cannot be made (a file is in the way: root may write anywhere).
    certificate.parent.parent.mkdir(parents=True)
    certificate.parent.write_text("not a directory")
    assert _choose_with(monkeypatch, _stand_in()) == "svml"
    assert certificate.parent.read_text() == "not a directory"


def test_the_certificate_keeps_a_bounded_number_of_verdicts(tmp_path):
    path = tmp_path / "numpy-math.json"
    for i in range(numpy_math.CERTIFICATE_ENTRIES + 5):
        numpy_math._write_verdict(path, f"key {i}", i % 2 == 0)
    verdicts = json.loads(path.read_text())
    assert len(verdicts) == numpy_math.CERTIFICATE_ENTRIES
    assert f"key {numpy_math.CERTIFICATE_ENTRIES + 4}" in verdicts and "key 0" not in verdicts
    assert [p.name for p in tmp_path.iterdir()] == ["numpy-math.json"]  # no temporaries


def test_the_key_names_numpys_build_the_cpu_and_numpys_variables(tmp_path, monkeypatch):
    library = numpy_math.numpy_library()
    assert library is not None and Path(library).is_file()
    assert Path(library).name.startswith("_multiarray_umath")
    assert library == os.path.realpath(library)
    for variable in numpy_math.NUMPY_CPU_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    key = numpy_math.certificate_key(library)
    assert key is not None and str(library) in key
    monkeypatch.setenv("NPY_DISABLE_CPU_FEATURES", "AVX512_SKX")
    assert numpy_math.certificate_key(library) != key
    monkeypatch.delenv("NPY_DISABLE_CPU_FEATURES")
    # Another build of numpy (a copy with another mtime) is another key.
    copy = tmp_path / Path(library).name
    copy.write_bytes(Path(library).read_bytes())
    assert numpy_math.certificate_key(str(copy)) not in (None, key)
    # No CPU features to read: nothing can be kept.
    monkeypatch.setattr(numpy_math, "_cpu_flags", lambda: None)
    assert numpy_math.certificate_key(library) is None


def test_without_a_key_the_verdict_is_not_kept(certificate, monkeypatch):
    monkeypatch.setattr(numpy_math, "certificate_key", lambda library: None)
    assert _choose_with(monkeypatch, _stand_in()) == "svml"
    assert not certificate.exists()
