"""The lessons: numbered jupytext percent-format scripts, shipped inside the package.

``minigrad/lessons`` is a link to this folder, so ``minigrad lesson N`` finds them after a plain
``pip install .`` as well as in a clone. Run one as ``python lessons/05_vanishing_gradient.py``
(add ``--quick`` for the few-second setting, ``--out DIR`` for where figures go).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["settings"]


def settings(number: int) -> tuple[bool, Path]:
    """(QUICK, OUT) for lesson ``number``: the setting and the folder its figures go to.

    QUICK is ``--quick`` on the command line or MINIGRAD_QUICK=1 (what ``minigrad lesson N
    --quick`` and the tests set); OUT is ``--out DIR``, else MINIGRAD_OUT, else
    ``minigrad-out/lesson_NN``, and is created. BLAS is held to one thread (threadpoolctl):
    on the lessons' small matrices a second thread costs more than it saves.

    The default folder is the same for ``python lessons/NN_x.py``, ``minigrad lesson N`` (both
    run from the project's folder) and the lesson opened as a notebook: a notebook runs in the
    lessons' own folder, and there the default is ``../minigrad-out/lesson_NN``, beside it.
    """
    quick = "--quick" in sys.argv or os.environ.get("MINIGRAD_QUICK") == "1"
    if "--out" in sys.argv[:-1]:
        out = Path(sys.argv[sys.argv.index("--out") + 1])
    elif os.environ.get("MINIGRAD_OUT"):
        out = Path(os.environ["MINIGRAD_OUT"])
    else:
        inside_lessons = any(Path.cwd().glob(f"{number:02d}_*.py"))  # a notebook's folder
        out = Path(".." if inside_lessons else ".") / f"minigrad-out/lesson_{number:02d}"
    out.mkdir(parents=True, exist_ok=True)
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    return quick, out
