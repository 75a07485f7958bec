"""``python -m fusion_jupyter.sim run_sim ...`` (also the ``fusion-jupyter-sim`` script)."""

from __future__ import annotations

import gc
import os
import sys

# numpy loads OpenBLAS, which starts a thread a core that spins while it waits for
# work. The simulator does no linear algebra, and on a small machine those threads take
# a core from the simulation (baseline_spf_ff: 0.46 s CPU and 0.37 s wall with them,
# 0.29 s and 0.29 s without). So one thread, unless the user chose; before numpy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# The imports below (numpy's most of all) make tens of thousands of objects and no
# garbage, yet the collector ran full passes over them as they grew: 4 M instructions a
# run. ``main`` freezes what they made; were it never called (an import of this
# module), collection is back on all the same.
_COLLECTING = gc.isenabled()
gc.disable()
try:
    from fusion_jupyter.sim.cli import main as _main  # after the setting above
finally:
    if _COLLECTING:
        gc.enable()


def tune_collector() -> None:
    """Tune the garbage collector as the simulator's process does before it simulates:
    what is imported so far is never collected again (``gc.freeze``), and the collector
    is off from then on. The event loop makes no reference cycles (a test runs every
    fixture for one iteration and for two with the collector off, and finds the same
    garbage), so a collection frees nothing while simulating: it only walks the memos,
    which grow by hundreds of objects a request (a C+L request's XPM factors), at about
    7 % of a C+L request's time (perf samples). Memory stays flat as refcounting frees
    everything the run drops. The benchmark calls it too, to time in-process runs as
    the process runs them."""
    gc.freeze()
    gc.disable()


def main() -> None:
    """Run the command line and exit with its code.

    Only the process entry point tunes the collector (:func:`tune_collector`;
    ``cli.main`` also runs in-process, in tests and notebooks).

    It also ends the process without tearing the interpreter down, as mypy's command
    line does: freeing every object one by one took 30-40 ms after a USbackbone60 run
    (its path table), more than a small fixture spends simulating. Nothing is left
    unwritten by then: result files are written whole and renamed, the progress file
    is closed after every event, the log is flushed after every line, and the standard
    streams are flushed here.
    An exception leaves the ordinary way.
    """
    tune_collector()
    code = _main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
