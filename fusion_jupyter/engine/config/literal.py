"""Python literals read exactly as ``ast.literal_eval`` reads them, most without ``ast``.

FUSION reads its dictionary options (``request_distribution``, ``phi``,
``requested_xt``) with ``ast.literal_eval``, and so do we, to mean what FUSION means.
But importing ``ast`` builds the hundred-odd node classes of ``_ast`` (17 M
instructions, 4 % of a small simulation's whole process), and each
dictionary goes through the full Python parser. Every config we have seen holds flat
dictionaries of quoted strings and plain numbers; :func:`literal_eval` reads those
here and hands anything else, however slightly different, to ``ast.literal_eval``. So
its result, or its exception, is always ``ast.literal_eval``'s own.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


_NAMES: dict[str, Any] = {"True": True, "False": False, "None": None}
_QUOTES = "'\""
_DIGITS = frozenset("0123456789")
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
    """A ``{key: value, ...}`` of strings, numbers, True, False and None, or _Unread.

    Split at every comma and colon: one inside a string leaves a piece with a lone
    quote, which is no constant, so such a text goes to ``ast`` as well. (No regular
    expression: compiling one took longer than reading a config's dictionaries.)
    """
    body = text.strip(" \t")
    if not (text.isascii() and body.startswith("{") and body.endswith("}")):
        raise _Unread
    inner = body[1:-1]
    out: dict[Any, Any] = {}
    if not inner.strip(" \t"):
        return out
    items = inner.split(",")
    if len(items) > 1 and not items[-1].strip(" \t"):
        items.pop()  # one trailing comma
    for item in items:
        key, colon, value = item.partition(":")
        if not colon:
            raise _Unread
        # A dict display keeps the first equal key and the last value, as here.
        out[_constant(key)] = _constant(value)
    return out


def _constant(piece: str) -> Any:
    """A string without escapes, a decimal number (signed), True, False or None."""
    token = piece.strip(" \t")
    if token in _NAMES:
        return _NAMES[token]
    if len(token) >= 2 and token[0] in _QUOTES and token[-1] == token[0]:
        inner = token[1:-1]
        # Printable ASCII without the quote or a backslash is the string itself.
        if token[0] in inner or "\\" in inner or not inner.isprintable():
            raise _Unread
        return inner
    if token.startswith("-"):
        return -_number(token[1:].lstrip(" \t"))
    return _number(token)


def _number(token: str) -> int | float:
    """A decimal literal: digits, an optional point and fraction, an optional exponent;
    no sign, underscore, base prefix or ``j``."""
    if len(token) > _MAX_NUMBER:
        raise _Unread
    mantissa, e, exponent = token.replace("E", "e").partition("e")
    if e and not _digits(exponent[1:] if exponent.startswith(("+", "-")) else exponent):
        raise _Unread
    whole, point, fraction = mantissa.partition(".")
    if not _digits(whole + fraction):
        raise _Unread
    if point or e:
        return float(token)
    # Python refuses 007 (but not 0 or 00): leading zeros go to ast.
    if len(whole) > 1 and whole[0] == "0":
        raise _Unread
    return int(whole)


def _digits(text: str) -> bool:
    return bool(text) and _DIGITS.issuperset(text)
