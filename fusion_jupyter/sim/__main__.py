"""``python -m fusion_jupyter.sim run_sim ...`` (also the ``fusion-jupyter-sim`` script)."""

from __future__ import annotations

import sys

from fusion_jupyter.sim.cli import main as _main


def main() -> None:
    """Run the command line and exit with its code."""
    sys.exit(_main())


if __name__ == "__main__":
    main()
