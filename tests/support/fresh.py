"""Code run in a fresh interpreter, to see what it imports (start-up tests)."""

from __future__ import annotations

import subprocess
import sys


def run_fresh(code: str, module: str) -> tuple[str, bool]:
    """What ``code`` prints in a fresh interpreter, and whether it imported ``module``."""
    script = f"{code}\nimport sys\nprint({module!r} in sys.modules)\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    *printed, imported = done.stdout.splitlines()
    return "\n".join(printed), imported == "True"
