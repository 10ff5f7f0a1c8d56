"""Regenerate every figure in docs/figures/ from the lessons and the demo (none is hand-drawn).

    python docs/make_figures.py            # all lessons at their full setting, then the demo
    python docs/make_figures.py 2 6        # only lessons 2 and 6
    python docs/make_figures.py demo       # only the demo
    python docs/make_figures.py readme     # only the README's first picture

Each lesson writes its pictures into docs/figures/lesson_NN/, the demo into docs/figures/demo/
(its pictures, and report.html, the page that holds them all), the README's first picture into
docs/figures/readme/ by running the README's own code (the block that saves chain.svg).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
FIGURES = DOCS / "figures"


README = REPO / "README.md"


def run(args: list[str], out: Path, cwd: Path = REPO) -> None:
    """Run one lesson or command with its output folder set to ``out``; stop on failure."""
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MPLBACKEND": "Agg", "MINIGRAD_OUT": str(out),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    print("+", " ".join(args)[:100], flush=True)
    subprocess.run([sys.executable, *args], cwd=cwd, env=env, check=True,
                   stdout=subprocess.DEVNULL)


def readme_code() -> str:
    """The README's code block that draws its first picture: the one that saves chain.svg."""
    blocks = re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), re.S | re.M)
    return next(block for block in blocks if '"chain.svg"' in block)


def main(argv: list[str]) -> int:
    demo = "demo" in argv or not argv
    readme = "readme" in argv or not argv
    wanted = {int(n) for n in argv if n not in ("demo", "readme")}
    for lesson in sorted((REPO / "lessons").glob("[0-9][0-9]_*.py")):
        number = int(lesson.name[:2])
        if (wanted or argv) and number not in wanted:
            continue
        run([str(lesson), "--out", str(FIGURES / f"lesson_{number:02d}")],
            FIGURES / f"lesson_{number:02d}")
    if readme:  # the README's code, run where its files should land
        out = FIGURES / "readme"
        run(["-c", readme_code()], out, cwd=out)
    if demo:
        run(["-m", "minigrad", "demo", "--out", str(FIGURES / "demo")], FIGURES / "demo")
    print(f"figures written under {FIGURES}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
