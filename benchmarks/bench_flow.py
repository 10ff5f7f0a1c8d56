"""What the gradient-flow recorder costs, and how long the book's 500-epoch experiment takes.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_flow.py
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_flow.py --quick

(The ``env -u`` drops two OpenBLAS tuning variables that slow numpy on other CPUs; see
benchmarks/common.py. BLAS runs on one thread.)

1. Per-step cost of recording (target: at most +10%). One SGD step of the [784,30,30,30,10]
   sigmoid net at mini-batch 10 (forward, cross-entropy, zero_grad, backward, SGD with L2 on
   the weights, as ``fit`` does), plain against the same step with a ``FlowRecorder``'s
   per-step work interleaved (``after_backward``: update:data of every layer from the real
   gradients; ``after_step``: counting). Two models with the same weights, fed the same
   batches; medians of interleaved repeats; printed as the ratio recorded/plain.
2. The recorder's measurement on the book's 1,000 images (one forward + backward), as a
   fraction of an epoch of the shipped 4,000 training images at mini-batch 10 (400 steps):
   what ``every="epoch"`` adds per epoch on top of the per-step work.
3. ``speed_of_learning_curves`` on [784,30,30,30,30,10] and the book's 1,000 images: the time
   of 500 epochs, and one of its epochs (measure + step, one backward) against a plain
   full-batch SGD step (forward, backward, update).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import common
import numpy as np

from minigrad import data, nn, optim
from minigrad.flow import FlowRecorder, gradient_flow
from minigrad.train import speed_of_learning_curves

STEP_SIZES = [784, 30, 30, 30, 10]
CURVE_SIZES = [784, 30, 30, 30, 30, 10]
BATCH_SIZE = 10
N_TRAIN = 4000  # the shipped training split
N_BOOK = 1000  # the book's speed-of-learning images
LEARNING_RATE = 0.1
LAMBDA = 5.0  # the book's L2 strength (divided by n in the step)
STEP_TARGET = 1.10  # recorded / plain <= this


def _batches(x: np.ndarray, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(x[i:i + BATCH_SIZE], y[i:i + BATCH_SIZE]) for i in range(0, len(x), BATCH_SIZE)]


def training_step(model: nn.Module, batches: list[Any],
                  recorder: FlowRecorder | None) -> Callable[[], Any]:
    """One mini-batch SGD step as a no-argument call; with the recorder's per-step hooks."""
    optimizer = optim.SGD(optim.weight_decay_groups(model, LAMBDA / N_TRAIN), lr=LEARNING_RATE)
    if recorder is not None:
        recorder.attach(model, optimizer)  # what on_train_begin does, minus its measurement
    position = [-1, 0]  # batch index, step count

    def step() -> Any:
        position[0] = (position[0] + 1) % len(batches)
        x, y = batches[position[0]]
        loss = nn.cross_entropy_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        if recorder is not None:
            recorder.after_backward(position[1], model, loss, optimizer)
        optimizer.step()
        if recorder is not None:
            recorder.after_step(position[1], model, optimizer)
        position[1] += 1
        return loss

    return step


def bench_step(mnist: Any, repeats: int, block_seconds: float) -> dict[str, float]:
    """Median seconds per step, plain and recorded, and the after_backward call alone."""
    x, y = mnist.x_train[:N_TRAIN], mnist.y_train[:N_TRAIN]
    batches = _batches(x, y)
    recorder = FlowRecorder(x[:N_BOOK], y[:N_BOOK], every="epoch")
    plain = training_step(nn.mlp(STEP_SIZES, seed=0), batches, None)
    recorded = training_step(nn.mlp(STEP_SIZES, seed=0), batches, recorder)

    # The hook by itself, on a model whose gradients are present (as in after_backward).
    alone_model = nn.mlp(STEP_SIZES, seed=0)
    nn.cross_entropy_loss(alone_model(batches[0][0]), batches[0][1]).backward()
    alone_recorder = FlowRecorder(x[:N_BOOK], y[:N_BOOK], lr=LEARNING_RATE)
    alone_recorder.attach(alone_model, None)

    def hook_alone() -> None:
        alone_recorder.after_backward(0, alone_model, None, None)

    number = common.calibrate(plain, block_seconds)
    for _ in range(20):  # warm-up
        plain(), recorded(), hook_alone()
    contenders = [common.Contender("plain", plain, number=number),
                  common.Contender("recorded", recorded, number=number),
                  common.Contender("after_backward", hook_alone, number=number)]
    times = common.interleaved(contenders, repeats)
    ratios = [r / p for r, p in zip(times["recorded"], times["plain"])]
    return {"plain": common.median(times["plain"]),
            "recorded": common.median(times["recorded"]),
            "hook": common.median(times["after_backward"]),
            "ratio": common.median(times["recorded"]) / common.median(times["plain"]),
            "ratio_of_pairs": common.median(ratios)}


def bench_measurement(mnist: Any, repeats: int) -> float:
    """Median seconds of one recorder measurement on the book's 1,000 images."""
    model = nn.mlp(STEP_SIZES, seed=0)
    x, y = mnist.x_train[:N_BOOK], mnist.y_train[:N_BOOK]
    contender = common.Contender("measure", lambda: gradient_flow(model, x, y, lr=0.1))
    contender.run()
    return common.median(common.interleaved([contender], repeats)["measure"])


def bench_curves(mnist: Any, epochs: int, repeats: int) -> dict[str, float]:
    """Median seconds of an ``epochs``-epoch run, and of a plain full-batch step."""
    x, y = mnist.x_train[:N_BOOK], mnist.y_train[:N_BOOK]
    step_model = nn.mlp(CURVE_SIZES, seed=0)
    optimizer = optim.SGD(optim.weight_decay_groups(step_model, LAMBDA / N_BOOK),
                          lr=LEARNING_RATE)

    def full_batch_step() -> None:
        loss = nn.cross_entropy_loss(step_model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    def run() -> None:
        speed_of_learning_curves(nn.mlp(CURVE_SIZES, seed=0), x, y, epochs=epochs,
                                 lr=LEARNING_RATE, weight_decay=LAMBDA)

    contenders = [common.Contender("curves", run),
                  common.Contender("step", full_batch_step, number=max(1, epochs // 5))]
    full_batch_step()
    times = common.interleaved(contenders, repeats)
    return {"run": common.median(times["curves"]), "step": common.median(times["step"])}


def main(argv: list[str] | None = None) -> None:
    args = common.parse_args(__doc__.splitlines()[0], argv)
    repeats = args.repeats or (3 if args.quick else 21)
    block_seconds = 0.005 if args.quick else 0.05
    epochs = 50 if args.quick else 500

    common.print_header("bench_flow: the cost of recording the gradient flow", args.clock)
    mnist = data.load_mnist()

    step = bench_step(mnist, repeats, block_seconds)
    verdict = common.verdict(step["ratio"], "<=", STEP_TARGET)
    print(f"1. one training step of {STEP_SIZES} at mini-batch {BATCH_SIZE} "
          f"({repeats} interleaved repeats, median)")
    print(f"   plain step          {common.fmt_time(step['plain']):>10}")
    print(f"   with the recorder   {common.fmt_time(step['recorded']):>10}")
    print(f"   after_backward only {common.fmt_time(step['hook']):>10}  "
          f"({step['hook'] / step['plain']:.1%} of a plain step)")
    print(f"   recorded / plain    {step['ratio']:>9.3f}x  (median of paired ratios "
          f"{step['ratio_of_pairs']:.3f}x; target <= {STEP_TARGET:.2f}x: {verdict})")

    measure = bench_measurement(mnist, max(3, repeats // 3))
    epoch_steps = N_TRAIN // BATCH_SIZE
    print(f"\n2. one measurement on the book's {N_BOOK} images: {common.fmt_time(measure)}; "
          f"per epoch of {epoch_steps} steps that adds "
          f"{measure / (epoch_steps * step['plain']):.1%} (every='epoch')")

    curves = bench_curves(mnist, epochs, max(1, repeats // 7))
    per_epoch = curves["run"] / epochs
    print(f"\n3. speed_of_learning_curves, {CURVE_SIZES}, {N_BOOK} images, {epochs} epochs: "
          f"{common.fmt_time(curves['run'])}")
    print(f"   per epoch {common.fmt_time(per_epoch)} (measure + step, one backward) against a "
          f"plain full-batch step {common.fmt_time(curves['step'])}: "
          f"{per_epoch / curves['step']:.2f}x")
    if verdict != "met":
        print(f"\nMISSED: recording adds {step['ratio'] - 1:.1%} to a step "
              f"(target {STEP_TARGET - 1:.0%})")


if __name__ == "__main__":
    main()
