"""How long a learner waits: ``minigrad demo`` and every lesson, as the docs quote them.

    python benchmarks/bench_runs.py            # the demo and the lessons, full setting, once each
    python benchmarks/bench_runs.py --repeats 3
    python benchmarks/bench_runs.py --quick    # a smoke test: the demo and lesson 1, quick

Each run is a fresh process, as a learner starts it (``python -m minigrad demo --out D``,
``python lessons/NN_name.py --out D``), into a temporary folder; printed: the median wall time
of each over the repeats, the machine and its load, so that a time in the docs can say on what
machine it was measured. Wall time, not CPU time: it is what the learner waits for, the
interpreter's start, the imports and the first picture's renderer included. BLAS is left as a
learner has it (not pinned): these are the runs of the product, not a comparison of engines.
The docs' timings (README, docs/index.md, docs/lessons/*.md) are copied from this script's table.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common

REPO = Path(__file__).resolve().parents[1]
LESSONS = sorted((REPO / "lessons").glob("[0-9][0-9]_*.py"))


def runs(quick: bool) -> list[tuple[str, list[str]]]:
    """(name, command) for the demo and each lesson (``quick``: lesson 1 only); ``{out}`` is
    the output folder."""
    commands = [("minigrad demo", [sys.executable, "-m", "minigrad", "demo", "--out", "{out}"])]
    commands += [(f"lesson {path.name[:2]}", [sys.executable, str(path), "--out", "{out}"])
                 for path in (LESSONS[:1] if quick else LESSONS)]
    return commands


def time_run(command: list[str], quick: bool) -> float:
    """Wall seconds of one run of ``command`` into a fresh folder; fails loudly if it fails."""
    environment = dict(os.environ, MPLBACKEND="Agg")
    environment.pop("MINIGRAD_QUICK", None)
    if quick:
        environment["MINIGRAD_QUICK"] = "1"
    with tempfile.TemporaryDirectory() as out:
        argv = [part.replace("{out}", out) for part in command]
        start = time.perf_counter()
        result = subprocess.run(argv, cwd=REPO, env=environment, capture_output=True, text=True)
        seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"bench_runs: {' '.join(argv)} exited {result.returncode}:\n"
                         f"{result.stderr[-3000:]}")
    return seconds


def main(argv: list[str] | None = None) -> None:
    args = common.parse_args(__doc__.splitlines()[0], argv)
    repeats = args.repeats or 1
    setting = "quick (MINIGRAD_QUICK=1), the demo and lesson 1" if args.quick else "full"
    print(f"bench_runs: the demo and the lessons, {setting} setting, wall time, "
          f"{repeats} run(s) each")
    print(f"machine : {common.machine_report()}")
    print(f"load    : {common.load_report()}")
    print(f"BLAS    : {common.blas_report()}")
    print()
    print(f"{'run':<16} {'median s':>9} {'runs':>24}")
    print("-" * 51)
    for name, command in runs(args.quick):
        seconds = [time_run(command, args.quick) for _ in range(repeats)]
        each = ", ".join(f"{s:.1f}" for s in seconds)
        print(f"{name:<16} {statistics.median(seconds):>9.1f} {each:>24}", flush=True)
    print(f"\nload after: {common.load_report()}")


if __name__ == "__main__":
    main()
