"""Shared benchmark helpers: one BLAS thread, interleaved repeats, medians, ratios, the machine.

Import this module before numpy (``import common`` is the first third-party import of every
benchmark): it sets ``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS`` to 1
while they can still take effect, and :func:`pin_blas` then holds every BLAS to one thread with
threadpoolctl as well (when it is installed).

OpenBLAS note: an environment that sets ``OPENBLAS_CORETYPE`` (e.g. ``Haswell``) or
``OPENBLAS_L2_SIZE`` forces OpenBLAS onto kernels and cache blocking chosen for another CPU. On
the machine in docs/benchmarks.md that makes numpy's matrix products 1.2-3x slower (a
(1000, 784) @ (784, 30) product: 0.99 ms instead of 0.84 ms; at mini-batch 10: 17.7 us instead
of 6.6 us). Ratios measured in one process stay fair (every contender uses the same BLAS), but
the absolute figures do not describe the machine, so run the benchmarks as

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_mlp.py

:func:`openblas_env_note` says when those variables are set; :func:`blas_report` names the
kernel OpenBLAS picked.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

# ---- one BLAS thread: must happen before numpy (and OpenBLAS) is loaded --------------------
_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
_NUMPY_WAS_LOADED = "numpy" in sys.modules
for _variable in _THREAD_VARIABLES:
    os.environ[_variable] = "1"

# The benchmarks measure the checkout they live in, not some other installed minigrad.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

_OPENBLAS_TUNING = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
_limiter = None  # the threadpoolctl limit, kept alive for the whole run

__all__ = [
    "CLOCKS", "Contender", "blas_report", "calibrate", "clock", "fmt_time", "interleaved",
    "load_report", "machine_report", "median", "openblas_env_note", "parse_args", "pin_blas",
    "print_header", "set_clock", "verdict",
]


def pin_blas() -> str:
    """Hold every BLAS/OpenMP pool to one thread; says how (threadpoolctl or env vars only)."""
    global _limiter
    note = "env " + ", ".join(f"{v}=1" for v in _THREAD_VARIABLES)
    if _NUMPY_WAS_LOADED:
        note += " (set after numpy was imported: too late to count)"
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return note + "; threadpoolctl not installed (pip install threadpoolctl)"
    _limiter = threadpool_limits(limits=1)
    return note + "; threadpoolctl.threadpool_limits(1)"


def blas_report() -> str:
    """What threadpoolctl sees: library, version, kernel (OpenBLAS core type) and threads."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    import numpy  # noqa: F401  (load numpy's BLAS so that threadpoolctl can see it)

    pools = threadpool_info()
    if not pools:
        return "no BLAS or OpenMP pool found"
    return "; ".join(
        f"{p.get('internal_api')} {p.get('version')} kernel {p.get('architecture', '?')}, "
        f"{p.get('num_threads')} thread(s)"
        for p in pools)


def openblas_env_note() -> str | None:
    """A warning when OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are set (slower numpy), else None."""
    found = [f"{v}={os.environ[v]}" for v in _OPENBLAS_TUNING if v in os.environ]
    if not found:
        return None
    return (f"NOTE: {' and '.join(found)} set in the environment: OpenBLAS is forced onto "
            "kernels tuned for another CPU and numpy runs slower than this machine can (ratios "
            "stay fair, absolute times do not). Run as: env -u OPENBLAS_CORETYPE "
            "-u OPENBLAS_L2_SIZE python " + " ".join(sys.argv))


def machine_report() -> str:
    """CPU model, core count, Python and numpy versions: what the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import numpy

    return (f"{cpu}, {os.cpu_count()} logical CPU(s), {platform.system()} "
            f"{platform.release()}; Python {platform.python_version()}, numpy "
            f"{numpy.__version__}")


def print_header(title: str, clock_name: str = "cpu") -> None:
    """Title, machine, clock, BLAS pinning and kernel, and the OpenBLAS warning if it applies."""
    pinning = pin_blas()
    clock_description = set_clock(clock_name)
    print(title)
    print("=" * len(title))
    print(f"machine : {machine_report()}")
    print(f"load    : {load_report()}")
    print(f"clock   : {clock_description}")
    print(f"threads : {pinning}")
    print(f"BLAS    : {blas_report()}")
    note = openblas_env_note()
    if note:
        print(note)
    print()


def load_report() -> str:
    """The 1-minute load average against the core count: how shared the machine is right now."""
    try:
        load = os.getloadavg()[0]
    except OSError:
        return "unknown"
    return f"{load:.2f} (1-minute average) on {os.cpu_count()} logical CPU(s)"


# ---- timing ---------------------------------------------------------------------------------
# The clock: this process's CPU time by default. On a shared machine wall time also counts the
# moments the scheduler gives our core to someone else; CPU time does not (one thread here: BLAS
# and torch are pinned to one). ``--clock wall`` in the scripts switches to time.perf_counter.
CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}
clock = time.process_time


def set_clock(name: str) -> str:
    """Use the named clock ('cpu' or 'wall') for every measurement; returns a description."""
    global clock
    if name not in CLOCKS:
        raise ValueError(f"set_clock: unknown clock {name!r}; choose one of {', '.join(CLOCKS)}")
    clock = CLOCKS[name]
    return ("process CPU time (time.process_time)" if name == "cpu"
            else "wall time (time.perf_counter)")


def parse_args(description: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The options every benchmark takes: ``--quick``, ``--repeats N``, ``--clock {cpu,wall}``.

    ``repeats`` is None unless given: each script picks its own default (fewer with --quick).
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="few repeats (a smoke test)")
    parser.add_argument("--repeats", type=int, default=None, help="interleaved repeats")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu",
                        help="process CPU time (default) or wall time")
    return parser.parse_args(argv)


@dataclass
class Contender:
    """One thing to time: ``run()`` is a single call (say, one training step).

    ``gc_enabled=False`` times it with the cyclic collector off; the garbage it leaves is
    collected before the next block, outside the timed region. ``warmup`` calls run untimed
    after that collection and before the timed ones, so that a contender whose garbage the
    collector frees (micrograd) is timed in its steady state, with its previous call's garbage
    pending, and not just after a clean sweep.
    """

    name: str
    run: Callable[[], object]
    gc_enabled: bool = True
    number: int = 1  # calls per timed block
    warmup: int = 0  # untimed calls before each timed block


def _time_block(contender: Contender, collect: bool) -> float:
    """Seconds per call, over one block of ``contender.number`` calls."""
    if collect:  # start from a collected heap: no one pays for another's cyclic garbage
        gc.collect()
    run, number = contender.run, contender.number
    for _ in range(contender.warmup):
        run()
    if not contender.gc_enabled:
        gc.disable()
    try:
        start = clock()
        for _ in range(number):
            run()
        elapsed = clock() - start
    finally:
        gc.enable()
    return elapsed / number


def interleaved(contenders: Sequence[Contender], repeats: int,
                collect: bool = True) -> dict[str, list[float]]:
    """Seconds per call of each contender, one block each per repeat, in a rotating order.

    Interleaving spreads the machine's slow moments over all contenders alike; rotating the
    order keeps any one from always running first (on a cold cache) or last. ``collect`` runs
    a full, untimed ``gc.collect()`` before every block (needed when a contender leaves cyclic
    garbage behind; it costs ~0.1 s with torch loaded, so skip it when nobody does).
    """
    times: dict[str, list[float]] = {c.name: [] for c in contenders}
    for repeat in range(repeats):
        shift = repeat % len(contenders)
        for contender in list(contenders[shift:]) + list(contenders[:shift]):
            times[contender.name].append(_time_block(contender, collect))
    return times


def median(samples: Sequence[float]) -> float:
    """The median: robust to the odd slow repeat on a shared machine."""
    return statistics.median(samples)


def calibrate(run: Callable[[], object], seconds: float) -> int:
    """How many calls of ``run`` take about ``seconds`` (at least 1)."""
    run()  # warm up
    start = time.perf_counter()
    run()
    once = max(time.perf_counter() - start, 1e-7)  # wall time: never longer than intended
    return max(1, int(seconds / once))


def fmt_time(seconds: float) -> str:
    """A duration in us, ms or s, four significant figures or so."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.3f} s"


def verdict(value: float, relation: str, bound: float) -> str:
    """'met' or 'MISSED' for ``value <= bound`` or ``value >= bound``."""
    if relation not in ("<=", ">="):
        raise ValueError(f"verdict: relation must be '<=' or '>=', got {relation!r}")
    ok = value <= bound if relation == "<=" else value >= bound
    return "met" if ok else "MISSED"
