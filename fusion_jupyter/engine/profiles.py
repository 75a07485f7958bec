"""Ready-made engine settings for simulators other than the built-in one.

FUSION's ``fusion-sim run_sim`` writes no progress file and saves its results under
its own project directory; the FUSION profile makes the engine read progress from its
log lines and copy the per-Erlang JSON files it names in its ``Saving to:`` line into
the run's ``output/``, so artifacts and ``results()`` work as for the built-in
simulator. Use it in ``jupyter_server_config.py``::

    from fusion_jupyter.engine.profiles import fusion_profile
    for name, value in fusion_profile().items():
        setattr(c.FusionJupyter, name, value)

or as keyword arguments: ``RunManager(**fusion_profile())``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fusion_jupyter.engine.logpatterns import FUSION_LOG_PATTERNS


def fusion_profile(executable: Sequence[str] = ("fusion-sim",)) -> dict[str, Any]:
    """Settings that run the real FUSION simulator.

    ``executable`` is how to start FUSION's command line (for example
    ``["/opt/fusion/venv/bin/fusion-sim"]``). FUSION resolves a relative config path
    against its own project root, so the config path passed is always absolute
    (run directories are absolute).
    """
    return {
        "simulator_command": [
            *executable,
            "run_sim",
            "--config_path",
            "{config_path}",
            "--run_id",
            "{run_id}",
        ],
        "progress_log_patterns": dict(FUSION_LOG_PATTERNS),
        "output_collect": ["*_erlang.json"],
    }
