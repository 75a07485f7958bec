"""Names a package exports but imports on first use (PEP 562)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: each name in ``exports`` (name ->
    submodule) is imported from its submodule the first time it is asked for.

    So importing the package, or one of its submodules, costs only what is used: the
    simulator's command line needs the config schema, not the template library.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        # importlib.import_module: imported here, as nothing else on the simulator's
        # start-up needs importlib.
        from importlib import import_module

        return getattr(import_module(f"{package}.{module}"), name)

    return __getattr__
