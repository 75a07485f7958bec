"""Run one of FUSION's regression fixtures with the real FUSION, as its own test does.

Run by FUSION's interpreter (not this project's), from FUSION's root::

    <fusion venv>/bin/python benchmarks/fusion_fixture_driver.py CASE_DIR

It does what the vanilla branch of FUSION's ``tests/run_comparison.py`` does for one
case (that script imports stable_baselines3 at the top, which FUSION's runtime
dependencies lack): load the config, pick a start time, add the comparison's
defaults, point ``mod_assumption_path`` at the case's ``mod_formats.json``, build the
inputs and run ``fusion.sim.network_simulator.run``. The last stdout line is the
directory FUSION wrote the ``*_erlang.json`` files to.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from datetime import datetime
from pathlib import Path

from fusion.cli.config_setup import load_config
from fusion.sim.input_setup import create_input
from fusion.sim.network_simulator import run

#: run_comparison.py's defaults for keys a fixture config lacks (the vanilla ones).
DEFAULTS = {
    "seeds": None,
    "request_distribution": {"25": 0.10, "50": 0.10, "100": 0.50, "200": 0.20, "400": 0.10},
    "beta": 0.5,
    "theta": 0.0,
    "phi": {"QPSK": 1, "16-QAM": 0.68, "64-QAM": 0.6190476190476191},
    "xt_noise": False,
    "requested_xt": {"QPSK": -26.19, "16-QAM": -36.69, "64-QAM": -41.69},
    "xt_type": "without_length",
    "is_training": False,
    "ml_training": False,
    "output_train_data": False,
    "ml_model": None,
}


def start_time(sim_dict: dict) -> dict:
    """FUSION's get_start_time (fusion.sim.utils imports yaml, not a FUSION runtime dependency)."""
    time.sleep(0.1)  # FUSION sleeps here too
    stamp = datetime.now().strftime("%m%d_%H_%M_%S_%f").split("_")
    sim_dict["s1"]["date"] = stamp[0]
    sim_dict["s1"]["sim_start"] = "_".join(stamp[1:])
    return sim_dict


def main(case: Path) -> None:
    (config,) = case.glob("*_config.ini")
    args = {"run_id": "comparison_test", "config_path": str(config)}
    sim_dict = start_time(load_config(str(config), args))
    sim_start = sim_dict["s1"]["sim_start"]
    for thread, params in sim_dict.items():
        for key, value in DEFAULTS.items():
            params.setdefault(key, value)
        params["optimize"] = False
        params["mod_assumption_path"] = str(case / "mod_formats.json")
        params["sim_start"] = sim_start
        params["thread_num"] = thread
        params.update(create_input(base_fp="data", engine_props=params))
    run(sims_dict=sim_dict, stop_flag=multiprocessing.Event())
    s1 = sim_dict["s1"]
    output = Path("data", "output", s1["network"], s1["date"], sim_start, "s1").resolve()
    if not output.is_dir():
        # FUSION simulates in a child process and does not check how it ended.
        sys.exit("FUSION's simulation process wrote no results (see its traceback above)")
    print(output)


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
