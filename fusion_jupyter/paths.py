"""Where runs and templates live by default: under Jupyter's data directory.

Kept out of the engine (which imports nothing from Jupyter, DESIGN §1): the server
extension and the embedded client pass these to it, so both use the same places and
a run started from either shows up in the other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_data_dir


def default_data_dir() -> Path:
    """``<jupyter data dir>/fusion_jupyter`` (read when called: JUPYTER_DATA_DIR may change)."""
    return Path(jupyter_data_dir()) / "fusion_jupyter"


def default_locations() -> dict[str, Any]:
    """The engine settings ``runs_dir`` and ``templates_path`` by default."""
    data = default_data_dir()
    return {"runs_dir": data / "runs", "templates_path": [data / "templates"]}
