"""fusion_jupyter: launch, watch and analyse FUSION simulation runs from Jupyter.

``fusion_jupyter.connect()`` is the entry point of the Python API (see
:mod:`fusion_jupyter.client`); it and the client's classes and exceptions are imported
on first use, so that ``import fusion_jupyter`` stays cheap for the server extension
and the run launcher.
"""

from __future__ import annotations

from fusion_jupyter._version import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from fusion_jupyter.client import (
        AuthError,
        Client,
        ConflictError,
        FusionError,
        NotFoundError,
        Run,
        RunFailedError,
        Sweep,
        UnavailableError,
        ValidationError,
        connect,
    )

__all__ = [
    "AuthError",
    "Client",
    "ConflictError",
    "FusionError",
    "NotFoundError",
    "Run",
    "RunFailedError",
    "Sweep",
    "UnavailableError",
    "ValidationError",
    "__version__",
    "connect",
]
#: What ``fj.<name>`` imports from :mod:`fusion_jupyter.client` when first used.
_CLIENT_EXPORTS = frozenset(__all__) - {"__version__"}


#: Subpackages reachable as attributes without importing them first (``fj.widgets``).
_SUBPACKAGES = ("client", "engine", "widgets")


def __getattr__(name: str) -> Any:
    from importlib import import_module  # not at the top: see _lazy.py

    if name in _CLIENT_EXPORTS:
        return getattr(import_module("fusion_jupyter.client"), name)
    if name in _SUBPACKAGES:
        return import_module(f"fusion_jupyter.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_CLIENT_EXPORTS, *_SUBPACKAGES})


def _jupyter_server_extension_points() -> list[dict[str, object]]:
    """Where jupyter-server finds the extension app (imported only when it loads it)."""
    from fusion_jupyter.server.app import FusionJupyter

    return [{"module": "fusion_jupyter.server.app", "app": FusionJupyter}]
