"""Where FUSION's own source is: its templates and regression fixtures are test inputs.

``../shared/fusion`` beside the project (as scripts/install-fusion.sh finds it), or
``FUSION_JUPYTER_FUSION_SRC``. Tests that read it fail, never skip, when it is missing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import REPO_ROOT

FUSION_SOURCE = Path(
    os.environ.get("FUSION_JUPYTER_FUSION_SRC", REPO_ROOT.parent / "shared" / "fusion")
).resolve()
FUSION_TEMPLATES = FUSION_SOURCE / "fusion" / "configs" / "templates"


def require_fusion_source() -> Path:
    """FUSION's source directory; fails the calling test if it is not there."""
    if not (FUSION_SOURCE / "fusion").is_dir():
        pytest.fail(
            f"FUSION's source is not at {FUSION_SOURCE}; set FUSION_JUPYTER_FUSION_SRC",
            pytrace=False,
        )
    return FUSION_SOURCE
