"""A manager in a process of its own, for tests that kill it (``kill -9``) mid-run.

    python manager_proc.py SETTINGS_JSON COMMAND_JSON

Settings are RunManager keyword arguments; the command is a list of
``[template, overrides]`` runs to create. It prints one JSON line with the created
run ids, then waits to be killed.
"""

from __future__ import annotations

import json
import sys
import time

from fusion_jupyter.engine import RunManager


def main() -> None:
    settings = json.loads(sys.argv[1])
    runs = json.loads(sys.argv[2])
    manager = RunManager(**settings)
    manager.start()
    ids = [manager.create(template, overrides).id for template, overrides in runs]
    print(json.dumps(ids), flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
