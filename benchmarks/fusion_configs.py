"""Every FUSION template and regression-fixture config, run by FUSION through the engine.

    python benchmarks/fusion_configs.py [--full] [--only NAME]

Prints one row per config: whether the engine's validator accepts it, and how the
run under FUSION (simulator "fusion") ended, with its time or FUSION's reason.
Without ``--full`` each run is made small (``max_iters = 1``, one Erlang load:
``erlang_stop = erlang_start``) so the whole table takes minutes; the row says so.
A config the validator refuses is still run (validation skipped) to show what
FUSION itself does with it; the row gives the validator's reason too.

FUSION comes from scripts/install-fusion.sh (installed on first use).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support

from fusion_jupyter.engine import RunManager, ValidationFailed
from fusion_jupyter.engine.config import ValidationResult
from tests.support.fusion import install

SMALL = {"general_settings": {"max_iters": 1}}


def configs(root: Path) -> list[tuple[str, Path]]:
    """(label, path) of FUSION's templates and of its fixtures' configs."""
    templates = sorted((root / "fusion" / "configs" / "templates").glob("*.ini"))
    fixtures = sorted((root / "tests" / "fixtures" / "expected_results").glob("*/*_config.ini"))
    return [(f"templates/{p.name}", p) for p in templates] + [
        (f"fixtures/{p.parent.name}/{p.name}", p) for p in fixtures
    ]


def small(manager: RunManager, name: str) -> dict[str, dict[str, object]]:
    general = manager.templates.load(name).get("general_settings", {})
    return {
        "general_settings": {
            **SMALL["general_settings"],
            "erlang_stop": general.get("erlang_start", ""),
        }
    }


def run_one(manager: RunManager, name: str, full: bool, timeout: float) -> tuple[str, str]:
    """(validator's verdict, how FUSION's run ended)."""
    overrides = {} if full else small(manager, name)
    try:
        run = manager.create(name, overrides)
        verdict = "valid"
    except ValidationFailed as exc:
        verdict = "refused: " + "; ".join(str(p) for p in exc.problems)[:160]
        real = manager.validate
        manager.validate = lambda cfg, simulator=None: ValidationResult()  # type: ignore[method-assign]
        try:
            run = manager.create(name, overrides)
        finally:
            manager.validate = real  # type: ignore[method-assign]
    began = time.monotonic()
    while not (current := manager.get(run.id)).status.terminal:
        if time.monotonic() - began > timeout:
            manager.cancel(run.id, wait=True)
            return verdict, f"not done after {timeout:.0f} s (cancelled)"
        time.sleep(0.05)
    assert current.started_at is not None and current.completed_at is not None
    seconds = (current.completed_at - current.started_at).total_seconds()
    if current.status.value == "COMPLETED":
        rows = len(manager.results(run.id))
        return verdict, f"COMPLETED in {seconds:.1f} s ({rows} load(s) in results)"
    reason = (current.error or "").splitlines()
    cause = next((line for line in reason if line.startswith("Simulator error:")), reason[-1:])
    return verdict, f"{current.status.value} after {seconds:.1f} s: {str(cause)[:200]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="run the configs as they are")
    parser.add_argument("--only", help="only configs whose label contains this")
    parser.add_argument("--timeout", type=float, default=600, help="seconds a run may take")
    args = parser.parse_args()
    fusion = install()
    with tempfile.TemporaryDirectory() as tmp:
        library = Path(tmp) / "templates"
        library.mkdir()
        names = {}
        for index, (label, path) in enumerate(configs(fusion.root)):
            if args.only and args.only not in label:
                continue
            name = f"c{index:02d}_{path.stem}"
            shutil.copyfile(path, library / f"{name}.ini")
            names[label] = name
        with RunManager(
            runs_dir=Path(tmp) / "runs",
            db_url=f"sqlite:///{tmp}/runs.db",
            simulator="fusion",
            fusion_command=str(fusion.command),
            templates_path=[library],
            max_concurrent_runs=1,
        ) as manager:
            size = "as they are" if args.full else "max_iters 1, one Erlang load"
            print(f"| config | validator | under FUSION through the engine ({size}) |")
            print("| --- | --- | --- |")
            for label, name in names.items():
                verdict, outcome = run_one(manager, name, args.full, args.timeout)
                print(f"| {label} | {verdict} | {outcome} |", flush=True)


if __name__ == "__main__":
    main()
