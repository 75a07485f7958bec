"""The engine: runs, their processes, their files and their database, without Jupyter.

Names are imported lazily so that the run launcher, which lives in this package and
must start in milliseconds, does not pay for SQLAlchemy and pandas.
"""

from __future__ import annotations

from fusion_jupyter._lazy import lazy_exports

TYPE_CHECKING = False
if TYPE_CHECKING:
    from fusion_jupyter.engine.errors import (
        Conflict,
        EngineError,
        Forbidden,
        NotFound,
        Problem,
        ValidationFailed,
    )
    from fusion_jupyter.engine.manager import RunManager
    from fusion_jupyter.engine.models import Run, Status, run_to_dict
    from fusion_jupyter.engine.settings import EngineSettings
    from fusion_jupyter.engine.store import RunFilter

_EXPORTS = {
    "Conflict": "errors",
    "EngineError": "errors",
    "Forbidden": "errors",
    "NotFound": "errors",
    "Problem": "errors",
    "ValidationFailed": "errors",
    "RunManager": "manager",
    "Run": "models",
    "Status": "models",
    "run_to_dict": "models",
    "EngineSettings": "settings",
    "RunFilter": "store",
}

__all__ = [
    "Conflict",
    "EngineError",
    "EngineSettings",
    "Forbidden",
    "NotFound",
    "Problem",
    "Run",
    "RunFilter",
    "RunManager",
    "Status",
    "ValidationFailed",
    "run_to_dict",
]


__getattr__ = lazy_exports(__name__, _EXPORTS)
