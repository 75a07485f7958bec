"""fusion_jupyter._namedtuple builds the classes typing.NamedTuple builds, without typing."""

from __future__ import annotations

import pickle
import types
import typing

import pytest

from fusion_jupyter import _namedtuple
from tests.support.fresh import run_fresh

BASES = [typing.NamedTuple, _namedtuple.NamedTuple]


def _record(base):
    class Record(base):
        """A record with defaults, a method, a property and a constant."""

        name: str
        count: int = 0
        tags: tuple[str, ...] = ()
        LIMIT = 3

        def doubled(self) -> int:
            return 2 * self.count

        @property
        def label(self) -> str:
            return f"{self.name}:{self.count}"

    return Record


@pytest.mark.parametrize("base", BASES, ids=["typing", "ours"])
def test_a_record_behaves_as_typing_builds_it(base):
    ours, theirs = _record(base), _record(typing.NamedTuple)
    for cls in (ours, theirs):
        assert cls.__mro__[1:] == (tuple, object)
        assert cls._fields == ("name", "count", "tags")
        assert cls._field_defaults == {"count": 0, "tags": ()}
        assert cls.__doc__ == "A record with defaults, a method, a property and a constant."
        assert cls.__module__ == __name__
        assert cls.__qualname__ == "_record.<locals>.Record"
        assert cls.LIMIT == 3
        assert list(cls.__annotations__) == ["name", "count", "tags"]
    record = ours("a", 2)
    assert record == theirs("a", 2) == ("a", 2, ())
    assert hash(record) == hash(("a", 2, ()))
    assert repr(record) == "Record(name='a', count=2, tags=())"
    assert record.doubled() == 4 and record.label == "a:2"
    assert record._replace(count=5) == ours("a", 5)
    assert record._asdict() == {"name": "a", "count": 2, "tags": ()}
    assert ours._make(["b", 1, ("x",)]) == ours("b", 1, ("x",))
    with pytest.raises(TypeError):
        ours()
    with pytest.raises(AttributeError):
        record.count = 3  # type: ignore[misc]


def test_a_record_pickles_by_its_module_name():
    assert pickle.loads(pickle.dumps(Module.Point(1, 2))) == Module.Point(1, 2)


class Module:
    """A module-level record (pickle finds a class by its qualified name)."""

    class Point(_namedtuple.NamedTuple):
        x: int
        y: int


def test_annotations_are_kept_as_written():
    """typing evaluates each (a ForwardRef for a string); ours leaves them be."""

    class Later(_namedtuple.NamedTuple):
        other: NotDefinedAnywhere  # type: ignore[name-defined]  # noqa: F821

    assert Later.__annotations__ == {"other": "NotDefinedAnywhere"}
    assert Later(1).other == 1


@pytest.mark.parametrize("base", BASES, ids=["typing", "ours"])
def test_a_field_without_default_may_not_follow_defaults(base):
    with pytest.raises(TypeError) as raised:

        class Bad(base):
            a: int = 1
            b: str = ""
            c: int

    assert str(raised.value) == "Non-default namedtuple field c cannot follow default fields a, b"


@pytest.mark.parametrize("base", BASES, ids=["typing", "ours"])
@pytest.mark.parametrize("name", ["_replace", "__init__", "_fields"])
def test_the_namedtuple_machinery_may_not_be_overwritten(base, name):
    with pytest.raises(AttributeError, match=f"^Cannot overwrite NamedTuple attribute {name}$"):
        types.new_class("Bad", (base,), exec_body=lambda ns: ns.update(__module__="m", **{name: 1}))


def test_only_a_namedtuple_may_be_its_base():
    with pytest.raises(TypeError, match="can only inherit from a NamedTuple type"):

        class Bad(_namedtuple.NamedTuple, dict):  # type: ignore[misc]
            a: int


def test_importing_it_imports_no_typing():
    _, imported = run_fresh("import fusion_jupyter._namedtuple", "typing")
    assert not imported
