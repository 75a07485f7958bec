"""Differential check: the built-in simulator against the real FUSION on random variants.

Run from the repository root (FUSION is installed by scripts/install-fusion.sh)::

    python benchmarks/fusion_differential.py --variants 20 --seed 1
    python benchmarks/fusion_differential.py --cases spain_mb_CL_flexi --variants 5
    python benchmarks/fusion_differential.py --fusion-recheck-fix   # the recheck cases too
    python benchmarks/fusion_differential.py --methods   # other routing and allocation

Each variant is one of FUSION's regression fixtures with random command-line overrides
of keys its INI has (FUSION drops a flag for any other key; the built-in simulator
refuses it): the loads, iterations, requests, k, cores and band slots, and with
``--methods`` the routing and allocation methods (the fixtures all allocate first fit,
and most route k shortest paths). Both simulators run it, FUSION through ``fusion-sim
run_sim``, and every ``<erlang>_erlang.json`` is compared under FUSION's comparison with
exact equality, and on ``link_usage``, which that comparison skips. A variant is
``identical``, ``DIFFERENT``, ``refused`` (the built-in simulator names a setting it
does not model), ``fusion-failed`` or ``CRASHED`` (the built-in simulator), or
``both-stop`` (the built-in simulator stopped where FUSION stops, exit code 3, and
FUSION failed too); with ``--check-refusals`` FUSION runs the refused variants too, and
one FUSION runs is ``refused-fusion-ran``. ``fusion-failed`` means the built-in
simulator ran a config FUSION fails on (or times out on, ``--timeout``): FUSION's last
lines are printed, to tell a crash the built-in simulator should refuse from a timeout.
The exit status is 1 if any is DIFFERENT or CRASHED. Without ``--fusion-recheck-fix``
the SNR-recheck cases are left out: FUSION crashes on them at this commit.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

from sim_bench import Fusion, sim_command, timed

from fusion_jupyter.sim.cli import EXIT_FUSION_FAILS
from fusion_jupyter.sim.fixtures import (
    FIXTURES_DIR,
    RL_CASES,
    compare_documents,
    config_of,
    link_usage_differences,
    random_variant,
)

#: A FUSION run that takes longer is given up (fusion-failed), unless --timeout says.
TIMEOUT = 300


def run_fusion(
    fusion: Fusion, config: Path, flags: list[str], timeout: float = TIMEOUT
) -> Path | list[str]:
    """FUSION's output directory for the variant, or the last lines it wrote if it failed
    (where FUSION fails and the built-in simulator ran, the two differ: see
    ``fusion-failed``)."""
    command = [str(fusion.script), "run_sim", "--config_path", str(config), "--run_id", "diff"]
    done = timed([*command, *flags], fusion.root, timeout=timeout, env=fusion.env)
    saved = [line for line in done.err.splitlines() if "Saving to: " in line]
    if done.code != 0 or not saved:
        return [f"FUSION exit {done.code}", *done.err.splitlines()[-2:]]
    return Path(saved[-1].split("Saving to: ", 1)[1].strip())


def compare(theirs: Path, ours: Path) -> list[str]:
    """Every difference between the two runs' per-Erlang files."""
    their_names, our_names = ({p.name for p in d.glob("*_erlang.json")} for d in (theirs, ours))
    problems = []
    if their_names != our_names:
        problems.append(f"files only one side wrote: {sorted(their_names ^ our_names)}")
    for name in sorted(their_names & our_names):
        expected, actual = (json.loads((d / name).read_text()) for d in (theirs, ours))
        found = compare_documents(expected, actual) + link_usage_differences(expected, actual)
        problems += [f"{name}: {line}" for line in found]
    return problems


def check(
    fusion: Fusion,
    case: Path,
    flags: list[str],
    work: Path,
    refusals: bool = False,
    timeout: float = TIMEOUT,
) -> tuple[str, list[str]]:
    """Run one variant through both simulators: its class and what it found.

    With ``refusals``, FUSION runs a variant the built-in simulator refuses as well:
    ``refused`` then means FUSION failed too (its last lines follow the refusal), and
    ``refused-fusion-ran`` that FUSION ran it, a config the built-in simulator does not
    cover yet."""
    config = config_of(case)
    out = work / "ours"
    ours = sim_command(config, *flags, "--fusion_root", str(fusion.root))
    ours += ["--output_dir", str(out), "--progress_file", str(out / "progress.jsonl")]
    done = timed(ours, work, timeout=timeout)
    if done.code == 2:
        refusal = [line for line in done.err.splitlines() if "config error" in line][:1]
        if not refusals:
            return "refused", refusal
        theirs = run_fusion(fusion, config, flags, timeout)
        if isinstance(theirs, Path):
            return "refused-fusion-ran", refusal
        return "refused", refusal + theirs
    if done.code == EXIT_FUSION_FAILS:
        stopped = [line for line in done.err.splitlines() if "where FUSION stops" in line]
        theirs = run_fusion(fusion, config, flags, timeout)
        if isinstance(theirs, Path):
            return "DIFFERENT", [*stopped, "but FUSION ran the variant"]
        return "both-stop", stopped + theirs
    if done.code != 0:
        return "CRASHED", done.err.splitlines()[-3:]
    theirs = run_fusion(fusion, config, flags, timeout)
    if not isinstance(theirs, Path):
        return "fusion-failed", theirs
    problems = compare(theirs, out)
    return ("DIFFERENT" if problems else "identical"), problems[:5]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", type=int, default=10, help="how many (default 10)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the variants")
    parser.add_argument("--cases", nargs="*", default=[], help="fixture names (default all)")
    parser.add_argument(
        "--fusion-recheck-fix",
        action="store_true",
        help="run FUSION from a copy with the one-line fix of its SNR-recheck call",
    )
    parser.add_argument(
        "--check-refusals",
        action="store_true",
        help="run FUSION on the variants the built-in simulator refuses too",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=TIMEOUT,
        help=f"seconds a run may take before it is given up (default {TIMEOUT})",
    )
    parser.add_argument(
        "--methods",
        action="store_true",
        help="draw the routing and allocation methods too (fixtures.METHOD_CHOICES)",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as scratch:
        fusion = Fusion.install()
        if args.fusion_recheck_fix:
            fusion = fusion.with_recheck_fix(Path(scratch))
        fixtures = fusion.root.joinpath(*FIXTURES_DIR)
        cases = [
            case
            for case in sorted(p for p in fixtures.iterdir() if p.is_dir())
            if case.name not in RL_CASES
            and (args.fusion_recheck_fix or "recheck" not in case.name)
            and (not args.cases or case.name in args.cases)
        ]
        for number in range(args.variants):
            case = rng.choice(cases)
            flags = random_variant(case, rng, methods=args.methods)
            with tempfile.TemporaryDirectory() as work:
                verdict, found = check(
                    fusion, case, flags, Path(work), args.check_refusals, args.timeout
                )
            counts[verdict] = counts.get(verdict, 0) + 1
            print(f"{number:3d} {verdict:13s} {case.name} {' '.join(flags)}", flush=True)
            for line in found:
                print(f"      {line}", flush=True)
    print("\n" + ", ".join(f"{verdict}: {n}" for verdict, n in sorted(counts.items())))
    return 1 if counts.get("DIFFERENT") or counts.get("CRASHED") else 0


if __name__ == "__main__":
    sys.exit(main())
