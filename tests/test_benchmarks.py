"""The benchmark scripts run: each one, with ``--quick``, exits 0 and prints its ratio lines.

A smoke test only: nothing here looks at the values of the timings (timing is never asserted
in tests; the benchmarks print their figures and targets themselves). micrograd and PyTorch are
optional for the scripts and not test dependencies: with them installed the lines that compare
against them must appear, without them the scripts must say that they are absent and still run.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HAS_MICROGRAD = importlib.util.find_spec("micrograd") is not None
HAS_TORCH = importlib.util.find_spec("torch") is not None

# A row of bench_mlp's table: net, batch, dtype, then the figures, each ratio ending in 'x'.
MLP_ROW = re.compile(r"^\[784(?:,\d+)+\]\s+(10|1000)\s+(float32|float64)\s+.*\d\.\d\dx", re.M)


def run_benchmark(name: str) -> str:
    """``python benchmarks/NAME --quick`` from the repository root; its stdout, once it exits 0."""
    result = subprocess.run([sys.executable, f"benchmarks/{name}", "--quick"], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{name} exited {result.returncode}:\n{result.stderr[-3000:]}"
    assert "machine :" in result.stdout and "BLAS    :" in result.stdout, result.stdout
    return result.stdout


@pytest.mark.slow
def test_bench_scalar_runs_and_prints_its_ratios() -> None:
    out = run_benchmark("bench_scalar.py")
    assert re.search(r"graph of one step: \d+ nodes, depth \d+", out), out
    assert "minigrad build + backward per node, gc off:" in out, out
    engines = ("minigrad", "micrograd") if HAS_MICROGRAD else ("minigrad",)
    for process in ("bare", "loaded"):  # each engine timed in a child process of each kind
        for engine in engines:
            assert re.search(rf"^{process}\s+{engine}\s+\d", out, re.M), out
        assert re.search(rf"{process} process: the collector is -?\d+% of minigrad's step",
                         out), out
    if HAS_TORCH:
        assert re.search(r"loaded: the same, with numpy .*, torch \d", out), out
    else:
        assert "not installed, so not loaded: torch" in out, out
    if HAS_MICROGRAD:
        assert "same step checked:" in out, out
        assert re.search(r"micrograd / minigrad = \d+\.\dx in the bare process", out), out
        assert re.search(r"micrograd / minigrad = \d+\.\dx in the loaded process "
                         r"\[target >= 6x: (met|MISSED)\]", out), out
        assert "micrograd (gc off) / minigrad (gc off) =" in out, out
    else:
        assert "micrograd is not installed" in out, out
        assert "micrograd / minigrad" not in out, out


@pytest.mark.slow
def test_bench_mlp_runs_and_prints_its_table() -> None:
    out = run_benchmark("bench_mlp.py")
    assert "same step checked" in out and "minigrad vs numpy" in out, out
    header = next((line for line in out.splitlines() if line.startswith("net ")), None)
    assert header is not None, out
    assert "numpy us" in header and "minigrad us" in header and "mg/numpy" in header, header
    assert "peak np" in header and "peak mg" in header and "mg/np" in header, header
    rows = {match.groups() for match in MLP_ROW.finditer(out)}
    assert rows == {(batch, dtype) for batch in ("10", "1000")
                    for dtype in ("float32", "float64")}, out
    if HAS_TORCH:
        assert "torch us" in header and "torch/mg" in header, header
        assert "minigrad vs torch" in out, out
    else:
        assert "PyTorch is not installed" in out, out
        assert "torch" not in header, header


@pytest.mark.slow
def test_bench_torch_flow_runs_and_prints_its_ratios() -> None:
    out = run_benchmark("bench_torch_flow.py")
    if not HAS_TORCH:
        assert "PyTorch is not installed" in out, out
        return
    assert re.search(r"measure / \(forward \+ backward\) \d+\.\d{3}x", out), out
    assert re.search(r"recorded / plain\s+\d+\.\d{3}x", out), out
    assert re.search(r"hooks only / plain \d+\.\d{3}x", out), out


@pytest.mark.slow
def test_bench_flow_runs_and_prints_its_ratios() -> None:
    out = run_benchmark("bench_flow.py")
    assert re.search(r"recorded / plain\s+\d+\.\d{3}x", out), out
    assert "after_backward only" in out, out
    assert re.search(r"one measurement on the book's 1000 images: .*adds \d+\.\d%", out), out
    assert re.search(r"speed_of_learning_curves, .* epochs: ", out), out


@pytest.mark.slow
def test_bench_runs_times_the_demo_and_a_lesson() -> None:
    out = run_benchmark("bench_runs.py")  # --quick: the demo and lesson 1, quick setting
    assert re.search(r"^minigrad demo\s+\d+\.\d", out, re.M), out
    assert re.search(r"^lesson 01\s+\d+\.\d", out, re.M), out
    assert re.search(r"first run on a machine \(empty cache\)\s+\d+\.\d+ s  \(renderer: "
                     r"(compiled|plain)\)", out), out
    assert re.search(r"after it, run 1\s+\d+\.\d+ s  \(renderer: cache\)", out), out
    assert re.search(r"after the first run: at most \d+\.\d+ s \[target <= 0\.5 s: "
                     r"(met|MISSED)\]", out), out


def test_profile_mlp_counts_the_python_lines_of_both_steps() -> None:
    result = subprocess.run([sys.executable, "benchmarks/profile_mlp.py", "--lines-only"],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    counts = dict(re.findall(r"^  (minigrad|numpy)\s+(\d+) lines$", result.stdout, re.M))
    assert set(counts) == {"minigrad", "numpy"}, result.stdout
    assert int(counts["minigrad"]) > int(counts["numpy"]) > 0, result.stdout
    assert re.search(r"^\s+\d+  topological_order$", result.stdout, re.M), result.stdout
