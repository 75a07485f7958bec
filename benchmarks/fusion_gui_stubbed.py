"""FUSION's own GUI backend, launching the stub simulator instead of FUSION's.

    FUSION_GUI_*=... <fusion venv>/bin/python fusion_gui_stubbed.py PORT STUB_JSON

Run by ``vs_fusion_gui.py`` with FUSION's interpreter. Nothing of FUSION is edited:
the one ``subprocess.Popen`` call of its run manager (fusion/api/services/
run_manager.py, ``_start_process``) is replaced at run time by one that starts the
stub with the same config, run id, progress file, log file and new session. STUB_JSON
is a file holding ``{"argv": [python, stamped_stub.py], "stub": stub_sim.py,
"flags_file": path}``; the flags file holds the stub flags for the next runs (FUSION's
GUI copies its template as is, so flags cannot travel in the config).
"""

import json
import subprocess
import sys
from types import SimpleNamespace
from typing import Any

import uvicorn
from fusion.api.services import run_manager


def main() -> None:
    port, spec_path = int(sys.argv[1]), sys.argv[2]
    with open(spec_path) as fh:
        spec = json.load(fh)
    real_popen = subprocess.Popen

    def stub_popen(cmd: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        def value(flag: str) -> str:
            return cmd[cmd.index(flag) + 1]

        config_path = value("--config_path")
        with open(spec["flags_file"]) as fh:
            flags = json.load(fh)
        argv = [
            *spec["argv"],
            config_path.rsplit("/", 1)[0] + "/started",
            spec["stub"],
            "run_sim",
            "--config_path",
            config_path,
            "--run_id",
            value("--run_id"),
            "--progress_file",
            value("--progress_file"),
            *flags,
        ]
        return real_popen(argv, **kwargs)

    run_manager.subprocess = SimpleNamespace(  # type: ignore[assignment]
        **{**vars(subprocess), "Popen": stub_popen}
    )
    uvicorn.run("fusion.api.main:app", host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
