"""Python literals read exactly as ``ast.literal_eval`` reads them, most without ``ast``.

FUSION reads its dictionary options (``request_distribution``, ``phi``,
``requested_xt``) with ``ast.literal_eval``, and so do we, to mean what FUSION means.
But importing ``ast`` builds the hundred-odd node classes of ``_ast`` (18 M
instructions, a twentieth of a small simulation's whole process), and each
dictionary goes through the full Python parser. Every config we have seen holds flat
dictionaries of quoted strings and plain numbers; :func:`literal_eval` reads those
here and hands anything else, however slightly different, to ``ast.literal_eval``. So
its result, or its exception, is always ``ast.literal_eval``'s own.
"""

from __future__ import annotations

import re
from typing import Any

# One token of a flat dictionary, after spaces and tabs: a string without escapes,
# a decimal number (signed, with no underscores, not followed by anything that would
# make it another token: 1j, 1_0, 0x1, 1.5.2), a constant name, or punctuation.
# Anything the pattern does not match sends the whole text to ``ast``.
_TOKEN = re.compile(
    r"""[ \t]*(?:
        "(?P<dq>[ !\#-\[\]-~]*)"
      | '(?P<sq>[ -&(-\[\]-~]*)'
      | (?P<sign>-?)[ \t]*(?P<number>
            (?P<integer>[0-9]+)(?![0-9.eE])
          | (?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?
        )(?![\w.])
      | (?P<name>True|False|None)(?!\w)
      | (?P<punct>[{}:,])
    )""",
    re.VERBOSE,
)
_NAMES: dict[str, Any] = {"True": True, "False": False, "None": None}
# Longer numbers meet int's digit limit or other corner cases: ``ast`` decides.
_MAX_NUMBER = 40


class _Unread(Exception):
    """The fast reader's doubt: the text is left to ``ast.literal_eval``."""


def literal_eval(text: str) -> Any:
    """``ast.literal_eval(text)``: the same value, or the same exception."""
    try:
        return _flat_dict(text)
    except _Unread:
        import ast  # only for what the fast reader does not read

        return ast.literal_eval(text)


def _flat_dict(text: str) -> dict[Any, Any]:
    """A ``{key: value, ...}`` of strings, numbers, True, False and None, or _Unread."""
    if not text.isascii():
        raise _Unread
    tokens = _Tokens(text)
    if tokens.punct() != "{":
        raise _Unread
    out: dict[Any, Any] = {}
    while True:
        if tokens.peek_punct() == "}":
            tokens.punct()
            break
        key = tokens.constant()
        if tokens.punct() != ":":
            raise _Unread
        # A dict display keeps the first equal key and the last value, as here.
        out[key] = tokens.constant()
        after = tokens.punct()
        if after == "}":
            break
        if after != ",":
            raise _Unread
    if text[tokens.end :].strip(" \t"):
        raise _Unread
    return out


class _Tokens:
    """The tokens of ``text`` from the start, one at a time."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.end = 0

    def _next(self) -> re.Match[str]:
        match = _TOKEN.match(self.text, self.end)
        if match is None:
            raise _Unread
        self.end = match.end()
        return match

    def peek_punct(self) -> str | None:
        match = _TOKEN.match(self.text, self.end)
        return None if match is None else match["punct"]

    def punct(self) -> str:
        found = self._next()["punct"]
        if found is None:
            raise _Unread
        return found

    def constant(self) -> Any:
        match = self._next()
        if match["punct"] is not None:
            raise _Unread
        if match["name"] is not None:
            return _NAMES[match["name"]]
        if match["dq"] is not None:
            return match["dq"]
        if match["sq"] is not None:
            return match["sq"]
        return _number(match)


def _number(match: re.Match[str]) -> int | float:
    digits = match["number"]
    if len(digits) > _MAX_NUMBER:
        raise _Unread
    integer = match["integer"]
    if integer is not None:
        # Python refuses 007 (but not 0 or 00): leading zeros go to ast.
        if len(integer) > 1 and integer[0] == "0":
            raise _Unread
        value: int | float = int(integer)
    else:
        value = float(digits)
    return -value if match["sign"] else value
