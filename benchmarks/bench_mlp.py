"""One SGD training step of Nielsen's deep sigmoid nets: minigrad vs hand-written numpy vs PyTorch.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_mlp.py
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_mlp.py --quick

(The ``env -u`` drops two OpenBLAS tuning variables that some environments set and that slow
numpy's matrix products on other CPUs; see benchmarks/common.py.)

The step: forward, the book's cross-entropy loss, zero_grad, backward, and an SGD update with
L2 weight decay on the weights (not the biases, as in the book), for [784,30,30,10],
[784,30,30,30,10] and [784,30,30,30,30,10] sigmoid nets at mini-batch 10 and 1000, in float32
and float64, on MNIST images. Contenders, timed side by side in one process:

- minigrad: ``nn.mlp``, ``nn.cross_entropy_loss``, ``optim.SGD`` with ``weight_decay_groups``;
- numpy: the same step as vectorised backprop written out below (the floor for an engine on
  numpy): output error delta = (a - y)/N, delta^l = (delta^{l+1} @ w^{l+1}) * a(1 - a);
- PyTorch CPU, one thread, when torch is installed: binary_cross_entropy_with_logits (summed,
  divided by N), torch.optim.SGD with weight decay on the weights;
- jax.jit, when jax is installed: one jitted function (params, x, y) -> (new params, C) made of
  ``jax.value_and_grad`` of the same cost (softplus(z) - y z) and the same update, XLA held to
  one thread (``XLA_FLAGS`` set before jax is imported), float64 through ``jax_enable_x64``,
  warmed up (compiled) before timing, each step waited for (``block_until_ready``).

All start from minigrad's initial weights; before timing, one float64 step of each is checked
to give the same updated weights (to 1e-10). BLAS, torch and XLA run on one thread. Printed:
the median time per step over interleaved repeats, minigrad/numpy, torch/minigrad and
jax/minigrad with the targets (mini-batch 10: minigrad <= 1.35x numpy, >= 2x faster than
PyTorch and faster than jax.jit; mini-batch 1000: <= 1.10x numpy), and the peak memory of one
step (tracemalloc) of minigrad vs numpy (<= 2x).
"""

from __future__ import annotations

import functools
import gc
import os
import sys
import tracemalloc
from collections.abc import Callable
from typing import Any

import common
import numpy as np

from minigrad import data, nn, optim

SIZES = ([784, 30, 30, 10], [784, 30, 30, 30, 10], [784, 30, 30, 30, 30, 10])
BATCH_SIZES = (10, 1000)
DTYPES = (np.float32, np.float64)
LEARNING_RATE = 0.5
WEIGHT_DECAY = 5.0 / 4000  # the book's lambda / n: lambda 5.0 over the 4,000 training images
N_IMAGES = 4000  # the shipped training split; each contender cycles through it in order

# Targets from the issue: (relation, bound) per mini-batch size.
NUMPY_TARGET = {10: 1.35, 1000: 1.10}  # minigrad / numpy <= bound
TORCH_TARGET = {10: 2.0}  # torch / minigrad >= bound
JAX_TARGET = {10: 1.0}  # jax.jit / minigrad >= bound: minigrad ahead
# XLA on one thread, like BLAS and torch; read by jax when it is imported, so set it first.
XLA_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
MEMORY_TARGET = 2.0  # minigrad peak / numpy peak <= bound

Batch = tuple[np.ndarray, np.ndarray]  # x (N, 784), y one-hot (N, 10)


@functools.cache
def _mnist() -> Any:
    return data.load_mnist()


def make_batches(batch_size: int, dtype: Any) -> list[Batch]:
    """The training images as mini-batches of ``batch_size``: x (N, 784), one-hot y (N, 10)."""
    mnist = _mnist()
    x = mnist.x_train[:N_IMAGES].astype(dtype)
    y = data.one_hot(mnist.y_train[:N_IMAGES]).astype(dtype)
    return [(np.ascontiguousarray(x[i:i + batch_size]), np.ascontiguousarray(y[i:i + batch_size]))
            for i in range(0, N_IMAGES - batch_size + 1, batch_size)]


class Cycle:
    """The batches in order, over and over: every contender sees the same sequence."""

    def __init__(self, batches: list[Any]) -> None:
        self.batches, self.i = batches, -1

    def next(self) -> Any:
        self.i = (self.i + 1) % len(self.batches)
        return self.batches[self.i]


# ---- minigrad -------------------------------------------------------------------------------
def minigrad_contender(sizes: list[int], dtype: Any,
                       batches: list[Batch]) -> tuple[Callable[[], Any], Any]:
    """minigrad's training step as a no-argument call, and its model."""
    model = nn.mlp(sizes, activation="sigmoid", init="nielsen", seed=0, dtype=dtype)
    optimizer = optim.SGD(optim.weight_decay_groups(model, WEIGHT_DECAY), lr=LEARNING_RATE)
    feed = Cycle(batches)

    def step() -> Any:
        x, y = feed.next()
        loss = nn.cross_entropy_loss(model(x), y)  # forward: a^L = sigma(z^L), then C
        optimizer.zero_grad()
        loss.backward(keep_grads=False)  # as fit() does: only the parameters keep gradients
        optimizer.step()
        return loss

    return step, model


# ---- the floor: backprop written out in numpy ------------------------------------------------
class NumpyNet:
    """The same net as plain arrays: weights[l] (n_out, n_in), biases[l] (n_out,)."""

    def __init__(self, weights: list[np.ndarray], biases: list[np.ndarray]) -> None:
        self.weights = [w.copy() for w in weights]
        self.biases = [b.copy() for b in biases]

    def step(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """One SGD step on the batch; returns the cross-entropy before the update."""
        n = len(x)
        activations = [x]  # a^0 = x (N, 784), then a^l (N, n_l)
        a = x
        for w, b in zip(self.weights, self.biases):
            z = a @ w.T  # (N, n_out)
            z += b
            a = 1.0 / (1.0 + np.exp(-z))
            activations.append(a)
        # C = -(1/N) sum [y ln a + (1-y) ln(1-a)] = (1/N) sum [softplus(z) - y z] with
        # softplus(z) = ln(1 + e^z) = max(z, 0) + ln(1 + e^-|z|): finite however saturated.
        cost = (np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z))) - y * z).sum() / n
        delta = (a - y) / n  # dC/dz^L (N, 10): the sigma' factor cancels (Nielsen ch. 3)
        shrink = 1.0 - LEARNING_RATE * WEIGHT_DECAY
        for layer in range(len(self.weights) - 1, -1, -1):
            w, a_prev = self.weights[layer], activations[layer]
            grad_w = delta.T @ a_prev  # dC/dw^l (n_out, n_in)
            grad_b = delta.sum(axis=0)  # dC/db^l (n_out,)
            if layer:  # dC/dz^{l-1} = (delta @ w^l) * sigma'(z^{l-1}), before w^l changes
                delta = delta @ w
                delta *= a_prev * (1.0 - a_prev)
            w *= shrink
            w -= LEARNING_RATE * grad_w
            self.biases[layer] -= LEARNING_RATE * grad_b
        return cost


def numpy_contender(model: Any, batches: list[Batch]) -> tuple[Callable[[], Any], NumpyNet]:
    """The numpy step from minigrad ``model``'s initial weights, as a no-argument call."""
    net = NumpyNet(*_weights_and_biases(model))
    feed = Cycle(batches)

    def step() -> Any:
        x, y = feed.next()
        return net.step(x, y)

    return step, net


def _weights_and_biases(model: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
    linears = [layer for layer in model.layers if isinstance(layer, nn.Linear)]
    return [m.weight.data for m in linears], [m.bias.data for m in linears]


# ---- PyTorch ----------------------------------------------------------------------------------
def import_torch() -> Any | None:
    """torch with one intra-op and one inter-op thread, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set, or torch's pools already started
        pass
    return torch


def torch_contender(torch: Any, model: Any,
                    batches: list[Batch]) -> tuple[Callable[[], Any], Any]:
    """PyTorch's step from minigrad ``model``'s initial weights, as a no-argument call."""
    functional = torch.nn.functional
    weights, biases = _weights_and_biases(model)
    layers: list[Any] = []
    for w, b in zip(weights, biases):
        linear = torch.nn.Linear(w.shape[1], w.shape[0], dtype=torch.from_numpy(w).dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w))
            linear.bias.copy_(torch.from_numpy(b))
        layers += [linear, torch.nn.Sigmoid()]
    net = torch.nn.Sequential(*layers[:-1])  # the last sigmoid lives inside the loss
    linears = layers[::2]
    optimizer = torch.optim.SGD(
        [{"params": [m.weight for m in linears], "weight_decay": WEIGHT_DECAY},
         {"params": [m.bias for m in linears], "weight_decay": 0.0}], lr=LEARNING_RATE)
    feed = Cycle([(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches])

    def step() -> Any:
        x, y = feed.next()
        z = net(x)  # z^L (N, 10)
        loss = functional.binary_cross_entropy_with_logits(z, y, reduction="sum") / len(x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    return step, net


def _torch_weights(net: Any) -> list[np.ndarray]:
    return [p.detach().numpy() for p in net.parameters()]  # w0, b0, w1, b1, ...


# ---- jax.jit ----------------------------------------------------------------------------------
def import_jax() -> Any | None:
    """jax on one XLA thread with float64 enabled, or None when it is not installed."""
    if "jax" not in sys.modules:
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + XLA_FLAGS).strip()
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)  # float64 arrays stay float64 (float32 stay 32)
    return jax


def jax_contender(jax: Any, model: Any, batches: list[Batch]) -> tuple[Callable[[], Any], Any]:
    """The same step as one jitted function of (params, x, y), from minigrad ``model``'s
    initial weights, as a no-argument call that waits for the step to finish."""
    jnp = jax.numpy
    shrink = 1.0 - LEARNING_RATE * WEIGHT_DECAY

    def cost(params: list[Any], x: Any, y: Any) -> Any:
        a = x
        for w, b in params[:-1]:
            a = jax.nn.sigmoid(a @ w.T + b)  # a^l (N, n_l)
        w, b = params[-1]
        z = a @ w.T + b  # z^L (N, 10): C = (1/N) sum [softplus(z) - y z], as minigrad's
        return jnp.sum(jax.nn.softplus(z) - y * z) / x.shape[0]

    @jax.jit
    def train_step(params: list[Any], x: Any, y: Any) -> tuple[list[Any], Any]:
        loss, grads = jax.value_and_grad(cost)(params, x, y)
        return [(shrink * w - LEARNING_RATE * gw, b - LEARNING_RATE * gb)
                for (w, b), (gw, gb) in zip(params, grads)], loss

    state = {"params": [(jnp.asarray(w), jnp.asarray(b))
                        for w, b in zip(*_weights_and_biases(model))]}
    feed = Cycle([(jnp.asarray(x), jnp.asarray(y)) for x, y in batches])

    def step() -> Any:
        x, y = feed.next()
        state["params"], loss = train_step(state["params"], x, y)
        jax.block_until_ready(state["params"])
        return loss

    return step, state


def _jax_weights(state: dict[str, Any]) -> list[np.ndarray]:
    return [np.asarray(p) for w, b in state["params"] for p in (w, b)]


# ---- checks and measurements ------------------------------------------------------------------
def check_same_step(torch: Any | None, jax: Any | None = None) -> dict[str, float]:
    """One float64 step of each contender from the same weights: the updates must agree."""
    differences = {}
    for sizes in SIZES:
        batches = make_batches(10, np.float64)
        mini_step, model = minigrad_contender(sizes, np.float64, batches)
        numpy_step, net = numpy_contender(model, batches)
        torch_step, torch_net = (torch_contender(torch, model, batches) if torch
                                 else (None, None))
        jax_step, state = jax_contender(jax, model, batches) if jax else (None, None)
        cost_numpy = numpy_step()
        cost_mini = mini_step().item()
        assert abs(cost_mini - cost_numpy) < 1e-10, (sizes, cost_mini, cost_numpy)
        ours = [p for w, b in zip(*_weights_and_biases(model)) for p in (w, b)]
        floor = [p for w, b in zip(net.weights, net.biases) for p in (w, b)]
        difference = max(float(np.abs(p - q).max()) for p, q in zip(ours, floor))
        assert difference < 1e-10, f"{sizes}: minigrad and numpy updates differ by {difference}"
        differences["numpy"] = max(differences.get("numpy", 0.0), difference)
        if torch_step is not None:
            cost_torch = torch_step().item()
            assert abs(cost_mini - cost_torch) < 1e-10, (sizes, cost_mini, cost_torch)
            difference = max(float(np.abs(p - q).max())
                             for p, q in zip(ours, _torch_weights(torch_net)))
            assert difference < 1e-10, f"{sizes}: minigrad and torch differ by {difference}"
            differences["torch"] = max(differences.get("torch", 0.0), difference)
        if jax_step is not None:
            cost_jax = float(jax_step())
            assert abs(cost_mini - cost_jax) < 1e-10, (sizes, cost_mini, cost_jax)
            difference = max(float(np.abs(p - q).max())
                             for p, q in zip(ours, _jax_weights(state)))
            assert difference < 1e-10, f"{sizes}: minigrad and jax differ by {difference}"
            differences["jax.jit"] = max(differences.get("jax.jit", 0.0), difference)
    return differences


def peak_memory(step: Callable[[], Any]) -> int:
    """Bytes a step allocates at its peak beyond what was live before it (tracemalloc)."""
    step()  # warm-up: gradients and caches exist, as in training
    gc.collect()
    tracemalloc.start()
    try:
        step()  # a traced step, so that what it leaves behind is traced when it is freed
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - before


def run_config(sizes: list[int], batch_size: int, dtype: Any, torch: Any | None,
               repeats: int, block_seconds: float, jax: Any | None = None) -> dict[str, Any]:
    """Times (median s per step) and peak memory of every contender for one configuration."""
    batches = make_batches(batch_size, dtype)
    mini_step, model = minigrad_contender(sizes, dtype, batches)
    steps = {"numpy": numpy_contender(model, batches)[0], "minigrad": mini_step}
    if torch is not None:
        steps["torch"] = torch_contender(torch, model, batches)[0]
    if jax is not None:
        steps["jax"] = jax_contender(jax, model, batches)[0]  # compiled by the warm-up below
    # The same number of steps per block for all, sized on the floor.
    number = common.calibrate(steps["numpy"], block_seconds)
    for step in steps.values():  # warm-up
        for _ in range(3):
            step()
    contenders = [common.Contender(name, step, number=number) for name, step in steps.items()]
    gc.collect()  # once: no contender makes cyclic garbage, so none is collected between blocks
    times = {name: common.median(t)
             for name, t in common.interleaved(contenders, repeats, collect=False).items()}
    memory = {name: peak_memory(steps[name]) for name in ("numpy", "minigrad")}
    return {"times": times, "memory": memory}


def _net_name(sizes: list[int]) -> str:
    return "[" + ",".join(str(n) for n in sizes) + "]"


def _print_table(results: list[tuple[list[int], int, Any, dict[str, Any]]], torch: bool,
                 jax: bool = False) -> None:
    peers = [name for name, present in (("torch", torch), ("jax", jax)) if present]
    targets = {"torch": TORCH_TARGET, "jax": JAX_TARGET}
    header = (f"{'net':<22} {'batch':>5} {'dtype':<7} {'numpy us':>9} {'minigrad us':>11} "
              + "".join(f"{name + ' us':>9} " for name in peers)
              + f"{'mg/numpy':>9} {'target':>8} "
              + "".join(f"{name + '/mg':>9} {'target':>8} " for name in peers)
              + f"{'peak np':>8} {'peak mg':>8} {'mg/np':>6}")
    print(header)
    print("-" * len(header))
    missed = []
    for sizes, batch_size, dtype, result in results:
        t, m = result["times"], result["memory"]
        name = f"{_net_name(sizes)} {batch_size} {np.dtype(dtype).name}"
        ratio = t["minigrad"] / t["numpy"]
        row = (f"{_net_name(sizes):<22} {batch_size:>5} {np.dtype(dtype).name:<7} "
               f"{t['numpy'] * 1e6:>9.1f} {t['minigrad'] * 1e6:>11.1f} "
               + "".join(f"{t[peer] * 1e6:>9.1f} " for peer in peers))
        verdict = common.verdict(ratio, "<=", NUMPY_TARGET[batch_size])
        row += f"{ratio:>8.2f}x {'<=' + str(NUMPY_TARGET[batch_size]) + ' ' + _mark(verdict):>8} "
        if verdict != "met":
            missed.append(f"{name}: minigrad/numpy {ratio:.3f}x > {NUMPY_TARGET[batch_size]}x")
        for peer in peers:  # how many times longer the peer's step takes than minigrad's
            speedup = t[peer] / t["minigrad"]
            bound = targets[peer].get(batch_size)
            if bound is not None:
                verdict = common.verdict(speedup, ">=", bound)
                target = f">={bound:g} {_mark(verdict)}"
                if verdict != "met":
                    missed.append(f"{name}: {peer}/minigrad {speedup:.3f}x < {bound}x")
            else:
                target = "-"
            row += f"{speedup:>8.2f}x {target:>8} "
        memory_ratio = m["minigrad"] / m["numpy"]
        verdict = common.verdict(memory_ratio, "<=", MEMORY_TARGET)
        if verdict != "met":
            missed.append(f"{name}: peak memory minigrad/numpy {memory_ratio:.3f}x > "
                          f"{MEMORY_TARGET}x")
        row += (f"{_kib(m['numpy']):>8} {_kib(m['minigrad']):>8} "
                f"{memory_ratio:>5.2f}x{'' if verdict == 'met' else ' !'}")
        print(row)
    print(f"\ntargets: mg/numpy <= {NUMPY_TARGET[10]}x at batch 10 and <= {NUMPY_TARGET[1000]}x "
          f"at batch 1000; torch/mg >= {TORCH_TARGET[10]:g}x and jax/mg >= {JAX_TARGET[10]:g}x "
          "(minigrad ahead of jax.jit) at batch 10; peak memory mg/np <= 2x. 'ok' = met, "
          "'!' = missed.")
    if missed:
        print("MISSED:\n  " + "\n  ".join(missed))
    else:
        print("every target met.")


def _mark(verdict: str) -> str:
    return "ok" if verdict == "met" else "!"


def _kib(n_bytes: int) -> str:
    return f"{n_bytes / 1024:.0f}K"


def main(argv: list[str] | None = None) -> None:
    args = common.parse_args(__doc__.splitlines()[0], argv)
    repeats = args.repeats or (3 if args.quick else 21)
    block_seconds = 0.002 if args.quick else 0.03

    common.print_header("bench_mlp: one SGD step of Nielsen's sigmoid nets "
                        "(minigrad vs numpy backprop vs PyTorch vs jax.jit)", args.clock)
    torch = import_torch()
    if torch is None:
        print("PyTorch is not installed: no torch column.")
    else:
        print(f"PyTorch {torch.__version__}: {torch.get_num_threads()} thread(s), "
              f"{torch.get_num_interop_threads()} inter-op thread(s)")
    jax = import_jax()
    if jax is None:
        print("jax is not installed: no jax.jit column.\n")
    else:
        print(f"jax {jax.__version__} on {jax.default_backend()}: XLA_FLAGS="
              f"{os.environ.get('XLA_FLAGS', '')!r}, float64 enabled\n")
    differences = check_same_step(torch, jax)
    print("same step checked (float64, one step from the same weights): max |difference| of "
          "the updated weights "
          + ", ".join(f"minigrad vs {k} {v:.1e}" for k, v in differences.items()) + "\n")

    print(f"{repeats} interleaved repeats per configuration, blocks of ~{block_seconds * 1e3:g} "
          "ms; median us per step; peak = tracemalloc peak of one step beyond what was live\n")
    results = []
    for batch_size in BATCH_SIZES:
        for sizes in SIZES[:1] if args.quick else SIZES:  # --quick: the smallest net only
            for dtype in DTYPES:
                results.append((sizes, batch_size, dtype,
                                run_config(sizes, batch_size, dtype, torch, repeats,
                                           block_seconds, jax)))
    _print_table(results, torch is not None, jax is not None)


if __name__ == "__main__":
    main()
