"""The training step of micrograd's own demo, on minigrad's Value and on micrograd's.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_scalar.py   # ~1 min
    python benchmarks/bench_scalar.py --quick    # a few repeats: a smoke test

One step: an MLP 2-16-16-1 (ReLU, linear output) of scalar Values scores 100 two-moons points,
the loss is the SVM hinge loss mean(relu(1 - y * score)) plus L2 1e-4 * sum(p * p), then
zero_grad, backward and an SGD update: micrograd's demo.ipynb, written once below and run with
each engine's Value class. Both run with Python's default garbage-collector settings. Printed:
the median time per step of each (interleaved repeats), the ratio (target: minigrad at least 5x
faster), minigrad's build + backward cost per node with the collector off (target: at most 1 us),
and both engines timed with the collector off too: the share of each step that is the
collector. Times are process CPU time (``--clock wall`` for wall time); see benchmarks/common.py.
"""

from __future__ import annotations

import gc
import math
import random
import sys
from collections.abc import Callable
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
    loss_ours = training_step(minigrad.Value, ours, points, labels, plain_backward)
    loss_theirs = training_step(micro_value, theirs, points, labels, micro_backward)
    assert math.isclose(loss_ours, loss_theirs, rel_tol=1e-12), (loss_ours, loss_theirs)
    difference = max(abs(p.data - q.data) for p, q in zip(ours.parameters(),
                                                          theirs.parameters()))
    assert difference < 1e-12, f"updated weights differ by {difference:.3g}"
    return difference


def import_micrograd() -> type | None:
    """micrograd.engine.Value if the micrograd package is installed, else None."""
    try:
        from micrograd.engine import Value
    except ImportError:
        return None
    return Value


def main(argv: list[str] | None = None) -> None:
    args = common.parse_args(__doc__.splitlines()[0], argv)
    repeats = args.repeats or (1 if args.quick else 9)
    steps_per_block = 1 if args.quick else 3

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

    # With the collector on, one untimed step after each block's full collection: the timed
    # steps then find their predecessor's garbage pending, as in a training loop.
    contenders = [
        common.Contender("minigrad", _stepper(minigrad.Value, plain_backward),
                         number=steps_per_block, warmup=1),
        common.Contender("minigrad (gc off)", _stepper(minigrad.Value, plain_backward),
                         gc_enabled=False, number=steps_per_block),
    ]
    micro_value = import_micrograd()
    if micro_value is None:
        print("\nmicrograd is not installed (pip install micrograd==0.1.0): "
              "timing minigrad alone.")
    else:
        limit = _micrograd_recursion_limit(micro_value, points, labels)
        micro_backward = RecursionLimit(limit) if limit else plain_backward
        difference = check_same_step(micro_value, micro_backward, points, labels)
        print(f"same step checked: loss and updated weights of the two engines agree "
              f"(max |difference| {difference:.1e})")
        contenders += [
            common.Contender("micrograd", _stepper(micro_value, micro_backward),
                             number=steps_per_block, warmup=1),
            common.Contender("micrograd (gc off)", _stepper(micro_value, micro_backward),
                             gc_enabled=False, number=steps_per_block),
        ]

    print(f"\n{repeats} interleaved repeats of {steps_per_block} step(s) each (gc on: after one "
          "untimed step); median time per step:")
    times = {name: common.median(t) for name, t in common.interleaved(contenders, repeats).items()}
    for name, seconds in times.items():
        print(f"  {name:<20} {common.fmt_time(seconds):>10}   "
              f"({seconds / nodes * 1e6:.2f} us per node)")
    print(f"\nminigrad with the collector off: {common.fmt_time(times['minigrad (gc off)'])} "
          f"per step; the collector is {1.0 - times['minigrad (gc off)'] / times['minigrad']:.0%}"
          " of minigrad's step (no cycles to free, but it rescans the live graph as it grows)")
    if micro_value is not None:
        speedup = times["micrograd"] / times["minigrad"]
        gc_share = 1.0 - times["micrograd (gc off)"] / times["micrograd"]
        print(f"micrograd / minigrad = {speedup:.1f}x "
              f"[target >= 5x: {common.verdict(speedup, '>=', 5.0)}]")
        print(f"micrograd with the collector off: {common.fmt_time(times['micrograd (gc off)'])}"
              f" per step; the cyclic collector is {gc_share:.0%} of micrograd's step")
        print(f"micrograd (gc off) / minigrad (gc off) = "
              f"{times['micrograd (gc off)'] / times['minigrad (gc off)']:.1f}x "
              "(the engines alone, without the collector)")


def _parents(node: Any) -> Any:
    return node.parents


def _micrograd_recursion_limit(micro_value: type, points: list[list[float]],
                               labels: list[float]) -> int | None:
    """None if micrograd's recursive backward fits the current limit, else the limit it needs."""
    loss, _ = build_loss(micro_value, MLP(micro_value, [2, 16, 16, 1]), points, labels)
    depth = graph_depth(loss, lambda node: node._prev)
    # build_topo uses one frame per level, and this script already sits a few frames deep.
    needed = depth + 100
    current = sys.getrecursionlimit()
    print(f"micrograd: graph depth {depth}; its recursive topological sort needs a recursion "
          f"limit of about {needed} (current {current}): "
          + ("fits" if needed <= current else f"raised to {needed} for micrograd's backward only"))
    return None if needed <= current else needed


def _stepper(value: type, backward: Callable[[Any], None]) -> Callable[[], float]:
    """One engine's training step, on its own model and the shared data, as a no-argument call."""
    model = MLP(value, [2, 16, 16, 1])
    points, labels = make_moons()

    def step() -> float:
        return training_step(value, model, points, labels, backward)

    return step


if __name__ == "__main__":
    main()
