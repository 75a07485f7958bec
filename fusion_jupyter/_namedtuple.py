"""``typing.NamedTuple``'s class syntax without importing :mod:`typing`.

The simulator's command line is timed start-up included (FUSION's fixtures, side by
side with FUSION), and ``typing`` was the largest import left on its path: 3-5 ms of a
70-80 ms run. Its records (the run's parameters and arguments, the config's problems
and schema) are NamedTuples, and the modules that define them import this instead.
It builds the class ``typing.NamedTuple`` builds, a ``collections.namedtuple`` with
the class body's defaults, methods and docstring, and the same refusals; unlike
typing's, it leaves the field annotations as written (typing's evaluates each, and
under ``from __future__ import annotations`` compiles each string).

Type checkers see ``typing.NamedTuple`` itself. Modules compiled with mypyc cannot use
either: mypyc builds a NamedTuple class with typing's own metaclass, so theirs are
plain classes with ``__slots__``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
    from typing import NamedTuple as NamedTuple
else:
    import collections

    # What a class body may not define, as typing.NamedTuple refuses it (the
    # namedtuple's own machinery), and what it defines but the namedtuple keeps.
    _PROHIBITED = frozenset(
        {
            "__new__",
            "__init__",
            "__slots__",
            "__getnewargs__",
            "_fields",
            "_field_defaults",
            "_make",
            "_replace",
            "_asdict",
            "_source",
        }
    )
    _KEPT = frozenset({"__module__", "__name__", "__annotations__"})

    class _NamedTupleMeta(type):
        """Makes each subclass of :class:`NamedTuple` a ``collections.namedtuple``."""

        def __new__(mcs, typename: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> type:
            if not bases:  # NamedTuple itself
                return super().__new__(mcs, typename, bases, namespace)
            if bases != (NamedTuple,):
                raise TypeError("can only inherit from a NamedTuple type")
            annotations = namespace.get("__annotations__", {})
            defaults = _defaults(annotations, namespace)
            record = collections.namedtuple(
                typename, list(annotations), defaults=defaults, module=namespace["__module__"]
            )
            record.__annotations__ = dict(annotations)
            for key, value in namespace.items():
                if key in _PROHIBITED:
                    raise AttributeError("Cannot overwrite NamedTuple attribute " + key)
                if key not in _KEPT and key not in annotations:
                    setattr(record, key, value)
            return record

    def _defaults(annotations: dict[str, Any], namespace: dict[str, Any]) -> list[Any]:
        """The fields' defaults, in order; a field without one may not follow one."""
        with_default: list[str] = []
        for field in annotations:
            if field in namespace:
                with_default.append(field)
            elif with_default:
                plural = "s" if len(with_default) > 1 else ""
                raise TypeError(
                    f"Non-default namedtuple field {field} cannot follow default "
                    f"field{plural} {', '.join(with_default)}"
                )
        return [namespace[field] for field in with_default]

    class NamedTuple(metaclass=_NamedTupleMeta):
        """Base of a record class: ``class Point(NamedTuple): x: int; y: int = 0``."""
