"""The real FUSION for tests: installed once per machine by scripts/install-fusion.sh.

The script keeps a writable copy of ../shared/fusion with its own virtualenv in a
cache directory and prints the path of its ``fusion-sim``; later calls return at
once. ``FusionInstall`` names what tests need of it.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support import REPO_ROOT

INSTALL_SCRIPT = REPO_ROOT / "scripts" / "install-fusion.sh"
#: The first install takes 1-2 minutes (pip); give a slow machine room.
INSTALL_TIMEOUT = 900


#: The statistics of a FUSION ``<erlang>_erlang.json`` (null when ``is_training = True``).
SUMMARY_KEYS = (
    "blocking_mean",
    "blocking_variance",
    "ci_rate_block",
    "ci_percent_block",
    "bit_rate_blocking_mean",
    "bit_rate_blocking_variance",
    "ci_rate_bit_rate_block",
    "ci_percent_bit_rate_block",
)
#: Every top-level key of a FUSION ``<erlang>_erlang.json``.
RESULT_KEYS = (*SUMMARY_KEYS, "lightpath_utilization", "link_usage", "iter_stats", "sim_end_time")


class FusionUnavailable(RuntimeError):
    """FUSION could not be installed here (no source, no network for its dependencies)."""


@dataclass(frozen=True)
class FusionInstall:
    """An installed FUSION: its console script and its project root."""

    command: Path
    root: Path

    @property
    def templates(self) -> Path:
        """FUSION's own INI templates (minimal.ini, default.ini, ...)."""
        return self.root / "fusion" / "configs" / "templates"

    @property
    def fixtures(self) -> Path:
        """FUSION's regression scenarios (``<scenario>/*_config.ini``)."""
        return self.root / "tests" / "fixtures" / "expected_results"


def install() -> FusionInstall:
    """Install FUSION (or find the cached install); FusionUnavailable if that fails."""
    try:
        done = subprocess.run(
            ["bash", str(INSTALL_SCRIPT)],
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FusionUnavailable(f"{INSTALL_SCRIPT} did not finish: {exc}") from exc
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise FusionUnavailable(f"{INSTALL_SCRIPT} failed:\n{done.stderr[-3000:]}")
    command = Path(lines[-1])
    # The script's copy: <home>/venv/bin/fusion-sim and the source at <home>/src; <home>
    # is a symlink to the current build, and FUSION names its files by the real path.
    root = (command.parent.parent.parent / "src").resolve()
    if not command.is_file() or not (root / ".git").is_dir():
        raise FusionUnavailable(f"{INSTALL_SCRIPT} printed {command}, which is not an install")
    return FusionInstall(command=command, root=root)
