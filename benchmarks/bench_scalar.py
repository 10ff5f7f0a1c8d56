"""The training step of micrograd's own demo, on minigrad's Value and on micrograd's.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_scalar.py   # ~3 min
    python benchmarks/bench_scalar.py --quick    # one short repeat: a smoke test

One step: an MLP 2-16-16-1 (ReLU, linear output) of scalar Values scores 100 two-moons points,
the loss is the SVM hinge loss mean(relu(1 - y * score)) plus L2 1e-4 * sum(p * p), then
zero_grad, backward and an SGD update: micrograd's demo.ipynb, written once below and run with
each engine's Value class.

Each engine runs in a process of its own (this script started again with ``--child``), with
Python's default garbage-collector settings, in two kinds of process: *bare* (the script and
the engine: Python and numpy) and *loaded* (also matplotlib.pyplot and torch imported, as a
learner's notebook has them; torch only when installed). The cyclic collector's full
collections traverse every object the process tracks, so its cost grows with what is loaded.
Printed: minigrad's build + backward cost per node with the collector off (target: at most
1 us); per process kind and engine the median time per step, the same with the collector off,
the collector's share, its collections and milliseconds per step by generation (timed with
gc.callbacks), the objects the process tracks and the tracked allocations per graph node; and
micrograd / minigrad (target: at least 6x in the loaded process). Times are process CPU time
(``--clock wall`` for wall time); see benchmarks/common.py.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import math
import os
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import common
import numpy as np

import minigrad
from minigrad.engine import topological_order

ALPHA = 1e-4  # L2 strength of the demo
LEARNING_RATE = 0.1  # the demo decays 1.0 -> 0.1; a constant keeps every timed step alike
N_POINTS = 100


# ---- the data: sklearn.datasets.make_moons, written out (sklearn is not a dependency) -------
def make_moons(n_samples: int = N_POINTS, noise: float = 0.1,
               seed: int = 1337) -> tuple[list[list[float]], list[float]]:
    """Two interleaving half circles as sklearn draws them; labels -1 (outer) and +1 (inner)."""
    rng = np.random.default_rng(seed)
    n_outer = n_samples // 2
    n_inner = n_samples - n_outer
    t_outer = np.linspace(0.0, np.pi, n_outer)
    t_inner = np.linspace(0.0, np.pi, n_inner)
    x = np.concatenate([np.cos(t_outer), 1.0 - np.cos(t_inner)])
    y = np.concatenate([np.sin(t_outer), 1.0 - np.sin(t_inner) - 0.5])
    points = np.stack([x, y], axis=1) + rng.normal(0.0, noise, (n_samples, 2))  # (n, 2)
    labels = np.concatenate([-np.ones(n_outer), np.ones(n_inner)])  # (n,) in {-1, +1}
    order = rng.permutation(n_samples)
    # Plain Python floats: both engines then see exactly the same numbers and types.
    return points[order].tolist(), labels[order].tolist()


# ---- micrograd's nn.MLP, for any Value class -------------------------------------------------
class Neuron:
    """act = sum_i w_i x_i + b, then ReLU unless it is an output neuron (micrograd.nn.Neuron)."""

    def __init__(self, value: type, n_in: int, nonlinear: bool, rng: random.Random) -> None:
        self.w = [value(rng.uniform(-1.0, 1.0)) for _ in range(n_in)]
        self.b = value(0.0)
        self.nonlinear = nonlinear

    def __call__(self, x: list[Any]) -> Any:
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.relu() if self.nonlinear else act

    def parameters(self) -> list[Any]:
        return self.w + [self.b]


class MLP:
    """Layers of Neurons, ReLU everywhere but the output (micrograd.nn.MLP)."""

    def __init__(self, value: type, sizes: list[int], seed: int = 1337) -> None:
        rng = random.Random(seed)  # the same weights for every engine
        self.layers = [
            [Neuron(value, n_in, nonlinear=i < len(sizes) - 2, rng=rng) for _ in range(n_out)]
            for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]))]
        self._parameters = [p for layer in self.layers for n in layer for p in n.parameters()]

    def __call__(self, x: list[Any]) -> Any:
        for layer in self.layers:
            x = [neuron(x) for neuron in layer]
        return x[0] if len(x) == 1 else x

    def parameters(self) -> list[Any]:
        return self._parameters

    def zero_grad(self) -> None:
        for p in self._parameters:
            p.grad = 0.0


# ---- the step, written once -----------------------------------------------------------------
def build_loss(value: type, model: MLP, points: list[list[float]],
               labels: list[float]) -> tuple[Any, float]:
    """The demo's loss(): hinge loss + L2 as one graph of Values, and the accuracy."""
    inputs = [[value(x0), value(x1)] for x0, x1 in points]
    scores = [model(x) for x in inputs]
    losses = [(1 + -yi * score).relu() for yi, score in zip(labels, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = ALPHA * sum(p * p for p in model.parameters())
    accuracy = sum((yi > 0) == (score.data > 0) for yi, score in zip(labels, scores))
    return data_loss + reg_loss, accuracy / len(labels)


def training_step(value: type, model: MLP, points: list[list[float]], labels: list[float],
                  backward: Callable[[Any], None]) -> float:
    """Forward, loss, zero_grad, backward, SGD update; returns the loss before the update."""
    total_loss, _ = build_loss(value, model, points, labels)
    model.zero_grad()
    backward(total_loss)
    for p in model.parameters():
        p.data -= LEARNING_RATE * p.grad
    return total_loss.data


def graph_depth(root: Any, parents: Callable[[Any], Any]) -> int:
    """The longest path (in edges) from ``root`` down to a leaf, found without recursion."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            stack.extend((p, False) for p in parents(node) if p not in seen)
    depth: dict[int, int] = {}
    for node in order:  # parents before children
        depth[id(node)] = max((depth[id(p)] + 1 for p in parents(node)), default=0)
    return depth[id(root)]


def plain_backward(loss: Any) -> None:
    """The engine's own backward()."""
    loss.backward()


class RecursionLimit:
    """Raise sys.setrecursionlimit for one call only (micrograd's topological sort recurses)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def __call__(self, loss: Any) -> None:
        previous = sys.getrecursionlimit()
        sys.setrecursionlimit(max(previous, self.limit))
        try:
            loss.backward()
        finally:
            sys.setrecursionlimit(previous)


# ---- the measurements -----------------------------------------------------------------------
PROCESSES = ("bare", "loaded")
NOTEBOOK_MODULES = ("numpy", "matplotlib.pyplot", "torch")  # what the loaded child imports
STEPS = {"minigrad": 10, "micrograd": 3}  # timed steps per child and collector setting


def cost_per_node(model: MLP, points: list[list[float]], labels: list[float],
                  repeats: int) -> tuple[int, float, float]:
    """minigrad with the collector off: (nodes, build s/node, backward s/node), medians."""
    Value = minigrad.Value
    nodes = len(topological_order(build_loss(Value, model, points, labels)[0]))
    builds, backwards = [], []
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeats):
            start = common.clock()
            loss, _ = build_loss(Value, model, points, labels)
            built = common.clock()
            model.zero_grad()
            loss.backward()
            done = common.clock()
            builds.append(built - start)
            backwards.append(done - built)
            del loss
    finally:
        gc.enable()
    return nodes, common.median(builds) / nodes, common.median(backwards) / nodes


def check_same_step(micro_value: type, micro_backward: Callable[[Any], None],
                    points: list[list[float]], labels: list[float]) -> float:
    """Both engines, from the same weights, give the same loss and updated weights."""
    ours, theirs = MLP(minigrad.Value, [2, 16, 16, 1]), MLP(micro_value, [2, 16, 16, 1])
    with collector_off():  # a check, not a timing: micrograd's garbage is collected at once
        loss_ours = training_step(minigrad.Value, ours, points, labels, plain_backward)
        loss_theirs = training_step(micro_value, theirs, points, labels, micro_backward)
    assert math.isclose(loss_ours, loss_theirs, rel_tol=1e-12), (loss_ours, loss_theirs)
    difference = max(abs(p.data - q.data) for p, q in zip(ours.parameters(),
                                                          theirs.parameters()))
    assert difference < 1e-12, f"updated weights differ by {difference:.3g}"
    return difference


@contextmanager
def collector_off() -> Iterator[None]:
    """The cyclic collector off inside, and one full collection at the end (untimed work)."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


def import_micrograd() -> type | None:
    """micrograd.engine.Value if the micrograd package is installed, else None."""
    try:
        from micrograd.engine import Value
    except ImportError:
        return None
    return Value


def engine_step(engine: str, recursion_limit: int | None) -> tuple[type, Callable[[Any], None]]:
    """The engine's Value class and its backward call (micrograd's with a recursion limit of
    at least ``recursion_limit`` when that is given)."""
    if engine == "minigrad":
        return minigrad.Value, plain_backward
    micro_value = import_micrograd()
    if micro_value is None:
        raise SystemExit("micrograd is not installed (pip install micrograd==0.1.0)")
    return micro_value, RecursionLimit(recursion_limit) if recursion_limit else plain_backward


class GenerationTimer:
    """gc.callbacks that count the collections of each generation and time them."""

    def __init__(self) -> None:
        self.collections = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = common.clock()
        else:
            generation = info["generation"]
            self.collections[generation] += 1
            self.seconds[generation] += common.clock() - self._start


def time_steps(step: Callable[[], float], steps: int, collector: bool,
               timer: GenerationTimer | None = None) -> float:
    """Seconds per step over ``steps`` steps, the collector on (default settings) or off."""
    if not collector:
        gc.collect()  # untimed: the off block starts from a collected heap
        gc.disable()
    if timer is not None:
        gc.callbacks.append(timer)
    try:
        start = common.clock()
        for _ in range(steps):
            step()
        elapsed = common.clock() - start
    finally:
        if timer is not None:
            gc.callbacks.remove(timer)
        gc.enable()
    return elapsed / steps


def tracked_allocations(value: type, parents: Callable[[Any], Any]) -> tuple[int, float]:
    """(nodes, tracked allocations per node) of building one step's graph, collector off."""
    model = MLP(value, [2, 16, 16, 1])
    points, labels = make_moons()
    gc.collect()
    gc.disable()
    try:
        before = gc.get_count()[0]  # generation 0 counts the allocations of tracked objects
        loss, _ = build_loss(value, model, points, labels)
        allocated = gc.get_count()[0] - before
    finally:
        gc.enable()
    nodes = graph_size(loss, parents)
    return nodes, allocated / nodes


def child(argv: list[str]) -> None:
    """One engine in this process: time its steps, collector on then off; print one JSON line."""
    parser = argparse.ArgumentParser(description="bench_scalar child process")
    parser.add_argument("--child", choices=("minigrad", "micrograd"), required=True)
    parser.add_argument("--process", choices=PROCESSES, required=True)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--clock", choices=sorted(common.CLOCKS), default="cpu")
    parser.add_argument("--recursion-limit", type=int, default=None)
    args = parser.parse_args(argv)
    common.set_clock(args.clock)
    loaded, missing = [], []
    if args.process == "loaded":
        for name in NOTEBOOK_MODULES:
            if importlib.util.find_spec(name.split(".")[0]) is None:
                missing.append(name)
            else:
                module = __import__(name, fromlist=["_"])
                loaded.append(f"{name} {getattr(module, '__version__', '')}".strip())
    value, backward = engine_step(args.child, args.recursion_limit)
    step = _stepper(value, backward)
    gc.collect()  # start from a clean heap, whatever the imports left behind
    for _ in range(args.warmup):  # the timed steps find a predecessor's garbage, as in training
        step()
    tracked = len(gc.get_objects())
    timer = GenerationTimer()
    seconds = time_steps(step, args.steps, collector=True, timer=timer)
    seconds_off = time_steps(step, args.steps, collector=False)
    parents = _parents if args.child == "minigrad" else _micro_parents
    nodes, per_node = tracked_allocations(value, parents)
    print("RESULT " + json.dumps({
        "step": seconds, "step_gc_off": seconds_off, "tracked": tracked, "nodes": nodes,
        "allocations_per_node": per_node, "loaded": loaded, "missing": missing,
        "collections": [n / args.steps for n in timer.collections],
        "gc_seconds": [t / args.steps for t in timer.seconds]}))


def run_child(engine: str, process: str, steps: int, warmup: int, clock: str,
              recursion_limit: int | None) -> dict[str, Any]:
    """Start this script as a child for one engine and process kind; its parsed result."""
    env = dict(os.environ)
    env.setdefault("MPLBACKEND", "Agg")  # pyplot without a display
    command = [sys.executable, __file__, "--child", engine, "--process", process,
               "--steps", str(steps), "--warmup", str(warmup), "--clock", clock]
    if recursion_limit:
        command += ["--recursion-limit", str(recursion_limit)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"bench_scalar child {engine}/{process} exited {done.returncode}:\n"
                           + done.stderr[-3000:])
    line = next(line for line in reversed(done.stdout.splitlines())
                if line.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if "--child" in argv:
        child(argv)
        return
    args = common.parse_args(__doc__.splitlines()[0], argv)
    repeats = args.repeats or (1 if args.quick else 5)
    steps = {engine: 1 if args.quick else n for engine, n in STEPS.items()}
    warmup = 0 if args.quick else 1

    common.print_header("bench_scalar: micrograd's demo training step (MLP 2-16-16-1, "
                        f"{N_POINTS} two-moons points)", args.clock)
    print(f"gc thresholds (default): {gc.get_threshold()}; minigrad from "
          f"{minigrad.__file__}")
    points, labels = make_moons()

    # minigrad: how big the step's graph is, and its cost per node with the collector off.
    model = MLP(minigrad.Value, [2, 16, 16, 1])
    nodes, build, back = cost_per_node(model, points, labels, repeats=3 if args.quick else 15)
    per_node = build + back
    print(f"graph of one step: {nodes} nodes, depth "
          f"{graph_depth(build_loss(minigrad.Value, model, points, labels)[0], _parents)}")
    print(f"minigrad build + backward per node, gc off: {per_node * 1e6:.3f} us "
          f"(build {build * 1e6:.3f} + backward {back * 1e6:.3f}) "
          f"[target <= 1 us: {common.verdict(per_node, '<=', 1e-6)}]")

    engines, limit = ["minigrad"], None
    micro_value = import_micrograd()
    if micro_value is None:
        print("\nmicrograd is not installed (pip install micrograd==0.1.0): "
              "timing minigrad alone.")
    else:
        limit, note = _micrograd_recursion_limit(micro_value, points, labels)
        print(note)
        _, micro_backward = engine_step("micrograd", limit)
        difference = check_same_step(micro_value, micro_backward, points, labels)
        print(f"same step checked: loss and updated weights of the two engines agree "
              f"(max |difference| {difference:.1e})")
        engines.append("micrograd")

    configs = [(process, engine) for process in PROCESSES for engine in engines]
    print(f"\nEach engine in a process of its own, default gc settings; {repeats} interleaved "
          f"repeat(s) of every process; a process times "
          f"{' or '.join(f'{steps[engine]} ({engine})' for engine in engines)} step(s) after "
          f"{warmup} untimed one(s), with the collector on, then as many with it off. Medians "
          "over the repeats, per step:")
    results: dict[tuple[str, str], list[dict[str, Any]]] = {config: [] for config in configs}
    for repeat in range(repeats):
        shift = repeat % len(configs)
        for process, engine in configs[shift:] + configs[:shift]:
            results[process, engine].append(
                run_child(engine, process, steps[engine], warmup, args.clock, limit))
    first_loaded = results["loaded", "minigrad"][0]
    print("  bare  : the script and the engine (Python, numpy)")
    print(f"  loaded: the same, with {', '.join(first_loaded['loaded'])} imported"
          + (f"; not installed, so not loaded: {', '.join(first_loaded['missing'])}"
             if first_loaded["missing"] else ""))
    print(f"\n{'process':<8}{'engine':<11}{'step':>10}{'gc off':>10}{'collector':>10}"
          f"{'collections gen0/1/2':>23}{'gc ms gen0/1/2':>20}{'tracked':>9}{'allocs/node':>12}")
    summary: dict[tuple[str, str], dict[str, float]] = {}
    for (process, engine), runs in results.items():
        row = {key: common.median([r[key] for r in runs])
               for key in ("step", "step_gc_off", "tracked", "allocations_per_node")}
        collections = [common.median([r["collections"][g] for r in runs]) for g in range(3)]
        gc_ms = [common.median([r["gc_seconds"][g] for r in runs]) * 1e3 for g in range(3)]
        row["share"] = 1.0 - row["step_gc_off"] / row["step"]
        summary[process, engine] = row
        print(f"{process:<8}{engine:<11}{common.fmt_time(row['step']):>10}"
              f"{common.fmt_time(row['step_gc_off']):>10}{row['share']:>10.0%}"
              f"{'/'.join(f'{n:.1f}' for n in collections):>23}"
              f"{'/'.join(f'{t:.1f}' for t in gc_ms):>20}"
              f"{row['tracked'] / 1e3:>8.0f}k{row['allocations_per_node']:>12.2f}")
    print("(collector: 1 - gc off / step; tracked: objects the process's collector tracks, all "
          "traversed by each full (gen2) collection; allocs/node: tracked objects allocated "
          "per node of a step's graph)\n")
    for process in PROCESSES:
        shares = [f"{summary[process, engine]['share']:.0%} of {engine}'s step"
                  for engine in engines]
        print(f"{process} process: the collector is {', '.join(shares)}")
    if micro_value is not None:
        for process in PROCESSES:
            speedup = summary[process, "micrograd"]["step"] / summary[process, "minigrad"]["step"]
            target = (f" [target >= 6x: {common.verdict(speedup, '>=', 6.0)}]"
                      if process == "loaded" else "")
            print(f"micrograd / minigrad = {speedup:.1f}x in the {process} process{target}")
        engines_alone = (summary["bare", "micrograd"]["step_gc_off"]
                         / summary["bare", "minigrad"]["step_gc_off"])
        print(f"micrograd (gc off) / minigrad (gc off) = {engines_alone:.1f}x "
              "(the engines alone, without the collector; bare process)")


def _parents(node: Any) -> Any:
    return node.parents


def _micro_parents(node: Any) -> Any:
    return node._prev


def graph_size(root: Any, parents: Callable[[Any], Any]) -> int:
    """How many nodes ``root`` depends on (itself included), found without recursion."""
    seen, stack = {id(root)}, [root]
    while stack:
        for parent in parents(stack.pop()):
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append(parent)
    return len(seen)


def _micrograd_recursion_limit(micro_value: type, points: list[list[float]],
                               labels: list[float]) -> tuple[int | None, str]:
    """(None if micrograd's recursive backward fits the current limit, else the limit it
    needs; a sentence saying which)."""
    with collector_off():
        loss, _ = build_loss(micro_value, MLP(micro_value, [2, 16, 16, 1]), points, labels)
        depth = graph_depth(loss, _micro_parents)
        del loss
    # build_topo uses one frame per level, and this script already sits a few frames deep.
    needed = depth + 100
    current = sys.getrecursionlimit()
    note = (f"micrograd: graph depth {depth}; its recursive topological sort needs a recursion "
            f"limit of about {needed} (current {current}): "
            + ("fits" if needed <= current
               else f"raised to {needed} for micrograd's backward only"))
    return (None if needed <= current else needed), note


def _stepper(value: type, backward: Callable[[Any], None]) -> Callable[[], float]:
    """One engine's training step, on its own model and the shared data, as a no-argument call."""
    model = MLP(value, [2, 16, 16, 1])
    points, labels = make_moons()

    def step() -> float:
        return training_step(value, model, points, labels, backward)

    return step


if __name__ == "__main__":
    main()
