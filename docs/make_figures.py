"""Regenerate every figure in docs/figures/ from the lessons and the demo (none is hand-drawn).

    python docs/make_figures.py            # all lessons at their full setting, then the demo
    python docs/make_figures.py 2 6        # only lessons 2 and 6
    python docs/make_figures.py demo       # only the demo

Each lesson writes its pictures into docs/figures/lesson_NN/, the demo into docs/figures/demo/
(its pictures, and report.html, the page that holds them all).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
FIGURES = DOCS / "figures"


def run(args: list[str], out: Path) -> None:
    """Run one lesson or command with its output folder set to ``out``; stop on failure."""
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MPLBACKEND": "Agg", "MINIGRAD_OUT": str(out)}
    print("+", " ".join(args), flush=True)
    subprocess.run([sys.executable, *args], cwd=REPO, env=env, check=True,
                   stdout=subprocess.DEVNULL)


def main(argv: list[str]) -> int:
    demo = "demo" in argv or not argv
    wanted = {int(n) for n in argv if n != "demo"}
    for lesson in sorted((REPO / "lessons").glob("[0-9][0-9]_*.py")):
        number = int(lesson.name[:2])
        if (wanted or argv) and number not in wanted:
            continue
        run([str(lesson), "--out", str(FIGURES / f"lesson_{number:02d}")],
            FIGURES / f"lesson_{number:02d}")
    if demo:
        run(["-m", "minigrad", "demo", "--out", str(FIGURES / "demo")], FIGURES / "demo")
    print(f"figures written under {FIGURES}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
