"""A benchmark simulator: writes progress lines carrying their write time.

    python ticker_sim.py COUNT INTERVAL_S PROGRESS_FILE

Each line is ``{"type": "iteration", "t": <time.time() at write>, "i": n}``; the
benchmark compares ``t`` with the time its subscriber receives the event.
"""

import json
import sys
import time

count, interval, path = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
with open(path, "a") as fh:
    for i in range(count):
        time.sleep(interval)
        fh.write(json.dumps({"type": "iteration", "t": time.time(), "i": i}) + "\n")
        fh.flush()
    fh.write(json.dumps({"type": "complete", "t": time.time()}) + "\n")
