"""Where a mini-batch-10 training step goes: Python lines and instructions, minigrad vs numpy.

    python benchmarks/profile_mlp.py                 # [784,30,30,30,10], float32
    python benchmarks/profile_mlp.py --dtype float64 --steps 500
    python benchmarks/profile_mlp.py --lines-only     # without valgrind: a few seconds

Counts, not times, so that they repeat on a shared machine: for bench_mlp's minigrad step and
its hand-written numpy step (the same functions, imported from bench_mlp),

1. the Python lines one step executes (``sys.settrace``), in all and per function;
2. with valgrind installed, the instructions one step executes (callgrind: a run of N steps
   minus a run of none, over N) and how they split between the BLAS kernels, numpy's C code
   and the rest (the interpreter, libc), read from callgrind_annotate's per-file totals.

docs/benchmarks.md quotes these counts.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as bench_mlp (before numpy is imported)

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
SIZES = [784, 30, 30, 30, 10]


def contenders(dtype: type) -> dict[str, object]:
    """bench_mlp's minigrad step and numpy step for SIZES at mini-batch 10, warmed up."""
    sys.path.insert(0, str(HERE))
    import bench_mlp

    batches = bench_mlp.make_batches(10, dtype)
    minigrad_step, model = bench_mlp.minigrad_contender(SIZES, dtype, batches)
    numpy_step, _ = bench_mlp.numpy_contender(model, batches)
    for step in (minigrad_step, numpy_step):
        for _ in range(5):
            step()
    return {"minigrad": minigrad_step, "numpy": numpy_step}


def python_lines(step: object) -> collections.Counter:
    """Lines of Python one call of ``step`` executes, per function (qualified name)."""
    lines: collections.Counter = collections.Counter()

    def tracer(frame, event, arg):  # noqa: ANN001, ANN202 (the sys.settrace protocol)
        if event == "line":
            lines[frame.f_code.co_qualname] += 1
        return tracer

    sys.settrace(tracer)
    try:
        step()
    finally:
        sys.settrace(None)
    return lines


def child(who: str, dtype: str, steps: int) -> None:
    """Run ``steps`` steps of one contender (the process callgrind watches)."""
    step = contenders(np.dtype(dtype).type)[who]
    for _ in range(steps):
        step()


def callgrind(who: str, dtype: str, steps: int, folder: str) -> dict[str, int]:
    """Instructions of a run of ``steps`` steps, in all and per object file (callgrind)."""
    out = os.path.join(folder, f"{who}_{steps}.out")
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable,
                    __file__, "--child", who, "--dtype", dtype, "--steps", str(steps)],
                   check=True, capture_output=True)
    report = subprocess.run(["callgrind_annotate", "--threshold=100", out], check=True,
                            capture_output=True, text=True).stdout
    shares: dict[str, int] = collections.Counter()
    for line in report.splitlines():
        match = re.match(r"^\s*([\d,]+) \([^)]*\)\s+(\S.*)$", line)
        if not match:
            continue
        count, where = int(match.group(1).replace(",", "")), match.group(2)
        if "PROGRAM TOTALS" in where:
            shares["total"] += count
        elif "openblas" in where.lower():
            shares["BLAS"] += count
        elif "_multiarray_umath" in where or "numpy" in where:
            shares["numpy C"] += count
        else:
            shares["interpreter, libc, other"] += count
    return shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--steps", type=int, default=1000, help="steps for callgrind")
    parser.add_argument("--top", type=int, default=8, help="functions listed")
    parser.add_argument("--lines-only", action="store_true", help="skip the callgrind part")
    parser.add_argument("--child", choices=("minigrad", "numpy"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.dtype, args.steps)
        return
    print(f"profile_mlp: one SGD step of {SIZES} at mini-batch 10, {args.dtype}")
    steps = contenders(np.dtype(args.dtype).type)
    print("\n1. Python lines one step executes (sys.settrace)")
    for who, step in steps.items():
        lines = python_lines(step)
        print(f"  {who:<9} {sum(lines.values()):5d} lines")
        for name, count in lines.most_common(args.top):
            print(f"      {count:5d}  {name}")
    if args.lines_only:
        return
    if not shutil.which("valgrind") or not shutil.which("callgrind_annotate"):
        print("\n2. instructions: valgrind is not installed (apt-get install valgrind)")
        return
    print(f"\n2. instructions one step executes (callgrind: {args.steps} steps minus none)")
    per_step = {}
    with tempfile.TemporaryDirectory() as folder:
        for who in steps:
            full, empty = (callgrind(who, args.dtype, n, folder) for n in (args.steps, 0))
            per_step[who] = {part: (full[part] - empty[part]) / args.steps for part in full}
    for who, parts in per_step.items():
        total = parts["total"]
        split = ", ".join(f"{part} {parts[part] / total:.0%}" for part in parts if part != "total")
        print(f"  {who:<9} {total / 1000:7.0f}k instructions ({split})")
    ratio = per_step["minigrad"]["total"] / per_step["numpy"]["total"]
    print(f"  minigrad / numpy: {ratio:.2f}x the instructions")


if __name__ == "__main__":
    main()
