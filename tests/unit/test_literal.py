"""``literal.literal_eval`` is ``ast.literal_eval``: the same value or the same exception.

The fast reader takes flat dictionaries and passes everything else to ``ast``; these
tests compare the two on the texts it reads, on near misses it must pass on, and on
generated texts of both kinds.
"""

from __future__ import annotations

import ast
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fusion_jupyter.engine.config import literal
from fusion_jupyter.sim.fixtures import config_of, discover
from tests.support.fresh import run_fresh
from tests.support.fusion_source import require_fusion_source


def _outcome(read: Any, text: str) -> tuple[str, str]:
    """The exception's type, or the value's repr (which tells 1 from True, -0.0 from 0.0)."""
    try:
        value = read(text)
    except Exception as exc:  # the exception's type is the outcome compared
        return ("raised", type(exc).__name__)
    return ("value", repr(value))


def _same(text: str) -> None:
    assert _outcome(literal.literal_eval, text) == _outcome(ast.literal_eval, text), text


def _fast(text: str) -> bool:
    """Whether the fast reader read the text itself."""
    try:
        literal._flat_dict(text)
    except literal._Unread:
        return False
    return True


READ_HERE = [
    '{"100": 0.125, "200": 0.125, "300": 0.125}',
    '{"BPSK": 1, "QPSK": 1, "8-QAM": 0.66667, "16-QAM":0.68, "64-QAM": 0.6190476190476191}',
    '{"QPSK": -26.19, "16-QAM": -36.69}',
    "{'25': 0.0, '50': 0.3, '100': 0.5, '200': 0.0, '400': 0.2}",
    "{}",
    "{ }",
    " \t{1: 2}\t ",
    '{"a": 1,}',
    "{1: 'a', True: 'b', 1.0: 'c'}",
    "{0: 0, -0: -0.0, 'x': - 1, 'y': -\t2.5}",
    "{'n': None, 't': True, 'f': False}",
    "{'e': 1e5, 'E': 1E-3, 'p': 1.e2, 'd': .5, 't': 5., 'z': 007.5, 'x': 007e1}",
    "{'big': 1e999, 'small': -1e-999, 'long': 123456789012345678901234567890}",
    "{'q': \"it's\", 'dq': '\"quoted\"', 'sym': '#;[]{}=!'}",
    '{"}": 1, "{": 2}',
]

PASSED_ON = [
    "",
    "{",
    "}",
    "{,}",
    "{1 2}",
    "{1: 2 3}",
    "{1: 2}}",
    "{1: 2} 3",
    "{'a' 'b': 1}",
    "{'a': 'b' 'c'}",
    '{"""a""": 1}',
    "{'a\\n': 1}",
    "{r'a': 1}",
    "{b'a': 1}",
    "{'é': 1}",
    "{'a': 007}",
    "{'a': 00}",
    "{'a': 1_000}",
    "{'a': 0x1f}",
    "{'a': 1j}",
    "{'a': 1.5.2}",
    "{'a': 1e}",
    "{'a': --1}",
    "{'a': +1}",
    "{'a': -True}",
    "{'a': -'x'}",
    "{'a': [1, 2]}",
    "{'a': (1, 2)}",
    "{'a': {'b': 1}}",
    "{'a': {1, 2}}",
    "{**{'a': 1}}",
    "{'a': true}",
    "{'a': nan}",
    "{'a': 1} # note",
    "{'a': 1}\n",
    "\n{'a': 1}",
    "{'a':\n1}",
    "{'a':\x0c1}",
    "[1, 2]",
    "'text'",
    "1",
    "None",
    "{'a': " + "9" * 50 + "}",
    "{'a': 1 if 1 else 2}",
    "{'a': 1 + 2}",
    "{'a,b': 1}",
    "{'a:b': 1}",
    "{'a': 'b,c'}",
    "{'a\": 1, \"b': 2}",
    "{1:2:3}",
    "{1:2,,}",
    "{'a': 1}}",
    "{'a': '\t'}",
    "{'a': 1e+-5}",
    "{'a': .}",
]


@pytest.mark.parametrize("text", READ_HERE)
def test_the_flat_dictionaries_configs_hold_are_read_here_as_ast_reads_them(text):
    assert _fast(text)
    _same(text)


@pytest.mark.parametrize("text", PASSED_ON)
def test_anything_else_is_ast_s_own_value_or_exception(text):
    assert not _fast(text)
    _same(text)


TOKENS = [
    "{", "}", ":", ",", " ", "\t", "'a'", '"b"', '""', "'", '"', '"8-QAM"', "\\",
    "0", "1", "00", "07", "-", "+", "1.5", ".5", "5.", "1e5", "1E-3", "1.e2", "1e",
    "1_0", "0x1", "1j", ".", "..", "True", "False", "None", "true", "x", "[", "]",
    "(", ")", "#", "\n", "é", "r", "b",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=12))
def test_any_string_of_tokens_reads_as_ast_reads_it(tokens):
    _same("".join(tokens))


_KEYS = st.one_of(
    st.text("abc-QAM8 #'", max_size=6).map(repr),
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=False).map(repr),
    st.sampled_from(["True", "False", "None", "-0", "-0.0", "0.0"]),
)
_SPACE = st.sampled_from(["", " ", "\t", "  "])


@st.composite
def _dictionaries(draw: st.DrawFn) -> str:
    items = draw(st.lists(st.tuples(_KEYS, _KEYS), max_size=8))
    parts = [f"{draw(_SPACE)}{k}{draw(_SPACE)}:{draw(_SPACE)}{v}{draw(_SPACE)}" for k, v in items]
    trailing = "," if parts and draw(st.booleans()) else ""
    return f"{draw(_SPACE)}{{{','.join(parts)}{trailing}}}{draw(_SPACE)}"


@settings(max_examples=400, deadline=None)
@given(_dictionaries())
def test_generated_flat_dictionaries_read_as_ast_reads_them(text):
    # repr(float) may give 'inf' (ast: ValueError, a name): then both pass it on alike.
    _same(text)


def test_a_fixture_config_is_read_and_checked_without_importing_ast():
    """The point of the fast reader: reading and checking FUSION's fixture config (as
    the command line does) imports no ``ast``. (The pure package's simulation imports
    numpy, which imports ``ast``; the wheel's run without numpy is tested in
    tests/wheel.)"""
    root = require_fusion_source()
    case = next(c for c in discover(root) if c.name == "spain_C_fixed_grooming")
    mods = {"mod_assumption_path": str(case / "mod_formats.json")}
    config = str(config_of(case))
    shares, imported = run_fresh(
        "from pathlib import Path\n"
        "from fusion_jupyter.sim.load import load_params\n"
        f"params = load_params(Path({config!r}), {mods!r}, fusion_root={str(root)!r})\n"
        "print(dict(params.request_distribution))",
        "ast",
    )
    assert ast.literal_eval(shares) == {str(bw): 0.125 for bw in range(100, 900, 100)}
    assert not imported
