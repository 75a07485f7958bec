"""The widget front-ends' unit tests (vitest, js/src/widgets/parts/test/), run from pytest
so that CI runs them: log buffer and search, the kernel relay socket and fetch, the
transport choice, the blocking curve and the table helpers."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support import REPO_ROOT

JS = REPO_ROOT / "js"
CONFIG = "src/widgets/parts/test/vitest.config.mjs"


def test_vitest_widget_front_ends() -> None:
    vitest = JS / "node_modules" / ".bin" / "vitest"
    if not vitest.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is not installed (Debian's nodejs package carries it)")
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=JS,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    result = subprocess.run(
        [str(vitest), "run", "--config", CONFIG, "--reporter=dot"],
        cwd=JS,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert " passed" in output and " failed" not in output, output
