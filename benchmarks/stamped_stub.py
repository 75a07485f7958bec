"""The stub simulator, stamping the wall-clock time at which its first line of code runs.

    python stamped_stub.py STAMP_FILE STUB_SIM [stub arguments...]

Both servers of ``vs_fusion_gui.py`` launch this, so "create -> the simulator's first
line" is measured the same way for both: the stamp is taken before any import other
than ``time``, then the stub runs as its own ``__main__``.
"""

import time

STARTED = time.time()

import os  # noqa: E402
import runpy  # noqa: E402
import sys  # noqa: E402

stamp, stub = sys.argv[1], sys.argv[2]
tmp = f"{stamp}.{os.getpid()}.tmp"
with open(tmp, "w") as fh:
    fh.write(repr(STARTED))
os.replace(tmp, stamp)
sys.argv = sys.argv[2:]
runpy.run_path(stub, run_name="__main__")
