"""Memory of the server: what the extension adds, and with 100,000 runs in the database.

    python benchmarks/memory_bench.py [--runs-in-db 100000]

Prints the RSS (from /proc) of:
  1. a plain ``jupyter server`` without the extension, at start;
  2. ``jupyter server`` with the extension, at start, empty database (and at the first
     start, which creates the database and so loads Alembic);
  3. the same with ``--runs-in-db`` runs in the database: at start, and after paging
     through the first 20 pages of 100 and reading the count;
and which heavy modules the extension's import pulls in.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from idle_bench import plain_server  # noqa: E402
from server_bench import rss_mb  # noqa: E402

from fusion_jupyter.engine.models import Status  # noqa: E402
from tests.support.jupyter import running_server  # noqa: E402
from tests.support.seed import seed_runs  # noqa: E402

HEAVY = ("pandas", "numpy", "pyarrow", "alembic", "sqlalchemy", "networkx", "matplotlib", "scipy")


def heavy_imports() -> list[str]:
    code = (
        "import sys, fusion_jupyter.server.app; "
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.split()


def settled_rss(pid: int) -> float:
    time.sleep(2)  # start-up work done
    return rss_mb(pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs-in-db", type=int, default=100_000)
    args = parser.parse_args()
    print(f"heavy modules the extension imports: {', '.join(heavy_imports()) or 'none'}")
    with tempfile.TemporaryDirectory(prefix="fusion-memory-bench-") as tmp:
        with plain_server(Path(tmp) / "plain") as pid:
            plain = settled_rss(pid)
        print(f"1. plain jupyter server at start: {plain:.0f} MB", flush=True)
        home = Path(tmp) / "home"
        starts = []
        for _ in range(2):  # the first start creates the database (migrations)
            with running_server(home) as server:
                assert server.proc is not None
                starts.append(settled_rss(server.proc.pid))
        first, later = starts
        print(
            f"2. with the extension at start: {later:.0f} MB (+{later - plain:.0f} MB); "
            f"{first:.0f} MB (+{first - plain:.0f} MB) at the first start, which creates "
            "the database",
            flush=True,
        )
        seed_runs(
            f"sqlite:///{home / 'runs.db'}",
            args.runs_in_db,
            runs_dir=Path("/nonexistent"),
            statuses=(Status.COMPLETED, Status.FAILED, Status.CANCELLED),
        )
        with running_server(home) as server:
            assert server.proc is not None
            full = settled_rss(server.proc.pid)
            http = server.session()
            cursor = None
            for _ in range(20):
                params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
                page = http.get(server.url("runs"), params=params)
                page.raise_for_status()
                cursor = page.json().get("next_cursor")
            after = settled_rss(server.proc.pid)
        print(
            f"3. with {args.runs_in_db:,} runs in the database: {full:.0f} MB at start, "
            f"{after:.0f} MB after 20 pages of 100"
        )


if __name__ == "__main__":
    main()
