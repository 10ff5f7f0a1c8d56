"""How long a learner waits: ``minigrad demo`` and every lesson, as the docs quote them.

    python benchmarks/bench_runs.py            # the demo and the lessons, full setting, once each
    python benchmarks/bench_runs.py --repeats 3
    python benchmarks/bench_runs.py --quick    # a smoke test: the demo, and lesson 1 quick

Each run is a fresh process, as a learner starts it (``python -m minigrad demo --out D``,
``python lessons/NN_name.py --out D``), into a temporary folder; printed: the median wall time
of each over the repeats, the machine and its load, so that a time in the docs can say on what
machine it was measured (the demo has one setting; ``--quick`` sets MINIGRAD_QUICK=1 for the
lessons). Always wall time (``--clock`` is not used here), not CPU time: it is what the
learner waits for, the interpreter's start, the imports and the first picture's renderer
included. BLAS is left as a
learner has it (not pinned): these are the runs of the product, not a comparison of engines.
The docs' timings (README, docs/index.md, docs/lessons/*.md) are copied from this script's table.

Then the first picture of a Python process (issue 10: at most 0.5 s after the first run on a
machine): a fresh process draws and saves the README's chain with the in-process renderer, with
a new, empty renderer cache (the first run on a machine: it compiles the renderer and writes
the cache), then three more times with that cache, then with the cache off.
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


FIRST_PICTURE_TARGET = 0.5  # seconds, once the renderer cache exists
FIRST_PICTURE = """
import time
from minigrad.trace import neuron_chain, trace
from minigrad.viz import draw_chain, render, save
chain = neuron_chain([0.82, 0.33, 0.91, 0.5], [0.1, -0.4, 0.3, 0.2])
picture = draw_chain(trace(chain.cost).path(chain["b1"]))
start = time.perf_counter()
save(picture, OUT)
print(time.perf_counter() - start, render._loaded_from[0])
"""


def first_picture(cache: str, out: str) -> tuple[float, str]:
    """Seconds the first save() of a fresh process takes (renderer loading included), and how
    the renderer was loaded ('cache', 'compiled', 'plain')."""
    # A PATH without the system Graphviz, so that save() uses the in-process renderer
    path = [folder for folder in os.environ.get("PATH", "").split(os.pathsep)
            if not os.path.exists(os.path.join(folder, "dot"))]
    environment = dict(os.environ, MINIGRAD_CACHE_DIR=cache, MPLBACKEND="Agg",
                       PATH=os.pathsep.join(path))
    code = FIRST_PICTURE.replace("OUT", repr(out))
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=environment,
                            capture_output=True, text=True, check=True)
    seconds, how = result.stdout.split()
    return float(seconds), how


def print_first_picture() -> None:
    with tempfile.TemporaryDirectory() as folder:
        cache, out = os.path.join(folder, "cache"), os.path.join(folder, "chain.svg")
        runs = [("first run on a machine (empty cache)", *first_picture(cache, out))]
        runs += [(f"after it, run {i}", *first_picture(cache, out)) for i in (1, 2, 3)]
        runs.append(("with the cache off", *first_picture("off", out)))
    print("\nthe first picture of a process (save() of the README's chain, in-process renderer):")
    for name, seconds, how in runs:
        print(f"  {name:<38} {seconds:6.3f} s  (renderer: {how})")
    worst = max(seconds for _, seconds, _ in runs[1:4])
    verdict = "met" if worst <= FIRST_PICTURE_TARGET else "MISSED"
    print(f"  after the first run: at most {worst:.3f} s [target <= {FIRST_PICTURE_TARGET} s: "
          f"{verdict}]")


def main(argv: list[str] | None = None) -> None:
    args = common.parse_args(__doc__.splitlines()[0], argv)
    repeats = args.repeats or 1
    what = ("the demo and lesson 1 (quick setting, MINIGRAD_QUICK=1)" if args.quick
            else "the demo and the lessons (full setting)")
    print(f"bench_runs: {what}, wall time, {repeats} run(s) each")
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
    print_first_picture()
    print(f"\nload after: {common.load_report()}")


if __name__ == "__main__":
    main()
