"""The browser tests: a real JupyterLab (a subprocess) driven through Debian's chromium
with Playwright's sync API (tests/support/browser.py). Without chromium they fail, never
skip: CI installs it (scripts/install-test-deps.sh). They also fail when the labextension
JupyterLab would load is not the one built from this checkout."""

from __future__ import annotations

import pytest

from tests.support.browser import chromium_missing_reason, installed_build_mismatch


@pytest.fixture(scope="session", autouse=True)
def chromium_and_build() -> None:
    """Fail every browser test at once when chromium or playwright is missing, or the
    labextension is stale."""
    reason = chromium_missing_reason()
    if reason:
        pytest.fail(f"browser tests need Debian's chromium and playwright: {reason}")
    stale = installed_build_mismatch()
    if stale:
        pytest.fail(stale)
