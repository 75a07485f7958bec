"""Config values as FUSION reads them, and Python values as the INI strings it expects.

FUSION converts each value with ``int``, ``float``, its ``str_to_bool`` or, for its
dictionary options, ``ast.literal_eval``. Reading values the same way keeps this
project's validation, the built-in simulator and FUSION in agreement on what a file
means; where FUSION silently reads a typo as something else, the caller warns.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Mapping

from fusion_jupyter.engine.config.literal import literal_eval

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Literal

    ValueType = Literal["int", "float", "bool", "dict", "str"]


#: What FUSION's ``str_to_bool`` reads as True (case-insensitive); anything else is False.
TRUE_WORDS = frozenset({"true", "yes", "1"})
#: The spellings of False this project accepts without a warning.
FALSE_WORDS = frozenset({"false", "no", "0"})
#: Bounds on a dictionary value before it is evaluated: a literal nested thousands deep
#: or megabytes long would exhaust the parser (RecursionError, MemoryError) instead of
#: being refused.
MAX_DICT_TEXT = 65_536
MAX_DICT_DEPTH = 16


def parse_bool(raw: str) -> bool:
    """Exactly what FUSION's ``str_to_bool`` returns: True for true, yes or 1 (any case).

    FUSION reads every other word as False without a word, so validation warns about
    any spelling that is not one of :data:`TRUE_WORDS` or :data:`FALSE_WORDS`.
    """
    return raw.lower() in TRUE_WORDS


def is_plain_bool(raw: str) -> bool:
    """Whether ``raw`` spells a truth value, rather than something FUSION reads as False."""
    return raw.lower() in TRUE_WORDS | FALSE_WORDS


def parse_int(raw: str) -> int:
    """A whole number, as Python's ``int`` (and so FUSION) reads it."""
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"must be a whole number, got {raw!r}") from None


def parse_float(raw: str) -> float:
    """A finite number; FUSION would take ``inf`` and ``nan`` and then misbehave."""
    try:
        number = float(raw)
    except ValueError:
        raise ValueError(f"must be a number, got {raw!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"must be a finite number, got {raw!r}")
    return number


def _nesting_depth(text: str) -> int:
    depth = deepest = 0
    for char in text:
        if char in "{[(":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "}])":
            depth -= 1
    return deepest


def _has_special_float(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_special_float(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_special_float(v) for v in value)
    return False


def parse_dict(raw: str) -> dict[Any, Any]:
    """A dictionary literal, read as FUSION reads it (``ast.literal_eval``).

    JSON objects are literals too, so both ``{"100": 1.0}`` and ``{'100': 1.0}`` work.
    """
    if len(raw) > MAX_DICT_TEXT:
        raise ValueError(f"is {len(raw)} characters long; at most {MAX_DICT_TEXT}")
    if _nesting_depth(raw) > MAX_DICT_DEPTH:
        raise ValueError(f"is nested more than {MAX_DICT_DEPTH} levels deep")
    try:
        value = literal_eval(raw)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        value = None
    if not isinstance(value, dict):
        raise ValueError(f'must be a dictionary like {{"100": 1.0}}, got {raw!r}')
    if _has_special_float(value):
        raise ValueError("must not contain infinite or NaN numbers")
    return value


PARSERS: dict[ValueType, Callable[[str], Any]] = {
    "int": parse_int,
    "float": parse_float,
    "bool": parse_bool,
    "dict": parse_dict,
    "str": str,
}


def guess_type(raw: str) -> str:
    """Type a widget should offer for a key the schema does not know."""
    if raw == "None":
        return "none"
    if raw in ("True", "False"):
        return "bool"
    for kind, parse in (("int", int), ("float", float)):
        try:
            parse(raw)
        except ValueError:
            continue
        return kind
    if raw.startswith(("{", "[")):
        try:
            json.loads(raw)
        except ValueError:
            return "str"
        return "json"
    return "str"


def to_ini(value: Any) -> str:
    """A Python override value as the INI string FUSION expects."""
    # Here, not at the top: the simulator's start imports this module to read values,
    # and never writes one (numbers: 1.7 M instructions).
    from numbers import Integral, Real

    numpy = sys.modules.get("numpy")  # a numpy value implies numpy is imported already
    if numpy is not None and isinstance(value, numpy.generic):
        # Sweep grids are often numpy arrays; np.bool_ is neither bool nor Integral.
        value = value.item()
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, str):
        return value
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real):
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"must be a finite number, got {number!r}")
        return repr(number)
    if isinstance(value, Mapping | list | tuple):
        try:
            return json.dumps(value, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError, RecursionError) as exc:
            raise ValueError(f"cannot be written as JSON: {exc}") from None
    raise ValueError(
        f"must be a string, number, boolean, None, list or object, got {type(value).__name__}"
    )
