"""What minigrad's gradient-flow measurement and recorder cost on a PyTorch model (issue 11).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_torch_flow.py
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_torch_flow.py --quick

(BLAS and torch run on one thread; see benchmarks/common.py.) The net is the book's
[784, 30, 30, 30, 30, 10] sigmoid net as a ``torch.nn.Sequential`` in float32 (PyTorch's
default), on the shipped MNIST sample.

1. ``gradient_flow(model, x, y)`` on the book's 1,000 images (as tensors, as a watching
   recorder holds them; numpy arrays shown too) against one plain PyTorch forward and
   backward of the same batch (forward, cross-entropy, zero_grad, backward). The measurement
   is one forward and one backward pass (tests/test_adapters_torch.py counts them) plus its
   hooks and the figures of the report. Issue 11's target: measuring costs at most one extra
   forward and backward of the batch, i.e. measure / (forward + backward) <= 2x.
2. A plain PyTorch training step at mini-batch 10 (forward, cross-entropy, zero_grad, backward,
   SGD step) against the same step on a model whose optimiser a ``FlowRecorder`` watches
   (``watch``, its defaults: update:data from every 10th step's gradients, a measurement on the
   1,000 images every 400
   steps, one epoch of the 4,000 training images). Timed as whole epochs of 400 steps, so that
   the epoch's measurement is in the recorded time; target: recorded / plain <= 1.10x. The
   per-step hooks alone (a recorder that never measures) are shown too.

Medians of interleaved repeats, printed as ratios.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import common

from minigrad import data
from minigrad.flow import FlowRecorder, gradient_flow

SIZES = [784, 30, 30, 30, 30, 10]
BATCH_SIZE = 10
N_TRAIN = 4000  # the shipped training split: 400 steps per epoch
N_BOOK = 1000  # the book's speed-of-learning images
LEARNING_RATE = 0.1
# issue 11: measuring costs at most one extra forward and backward of the measured batch, so
# the measurement (itself one forward and backward) is at most twice a plain one
MEASURE_TARGET = 2.0  # measure / (forward + backward) <= this
STEP_TARGET = 1.10  # recorded epoch / plain epoch <= this


def book_net(torch: Any) -> Any:
    """The book's sigmoid net in torch (float32), W ~ N(0, 1)/sqrt(n_in), b ~ N(0, 1)."""
    generator = torch.Generator().manual_seed(0)
    layers = []
    for n_in, n_out in zip(SIZES[:-1], SIZES[1:]):
        linear = torch.nn.Linear(n_in, n_out)
        with torch.no_grad():
            linear.weight.copy_(torch.randn(n_out, n_in, generator=generator) / n_in ** 0.5)
            linear.bias.copy_(torch.randn(n_out, generator=generator))
        layers += [linear, torch.nn.Sigmoid()]
    return torch.nn.Sequential(*layers)


def cost(torch: Any, output: Any, target: Any) -> Any:
    """The book's cross-entropy, batch mean (minigrad's cross_entropy)."""
    return torch.nn.functional.binary_cross_entropy(output, target, reduction="sum") / len(target)


def bench_measurement(torch: Any, mnist: Any, repeats: int) -> dict[str, float]:
    x, y = mnist.x_train[:N_BOOK], mnist.y_train[:N_BOOK]
    model = book_net(torch)
    inputs = torch.from_numpy(x).float()
    targets = torch.nn.functional.one_hot(torch.from_numpy(y), 10).float()

    def plain() -> None:
        loss = cost(torch, model(inputs), targets)
        model.zero_grad()
        loss.backward()

    labels = torch.from_numpy(y)

    def measure() -> None:  # the batch as tensors, as a watching recorder holds it
        gradient_flow(model, inputs, labels)

    def measure_numpy() -> None:  # numpy arrays: converted to float32 tensors first
        gradient_flow(model, x, y)

    contenders = [common.Contender("forward + backward", plain, number=3),
                  common.Contender("gradient_flow", measure, number=3),
                  common.Contender("gradient_flow, numpy", measure_numpy, number=3)]
    for _ in range(3):
        plain(), measure(), measure_numpy()
    times = common.interleaved(contenders, repeats, collect=False)
    return {name: common.median(t) for name, t in times.items()}


def epoch_of(torch: Any, model: Any, batches: list[Any]) -> tuple[Callable[[], None], Any]:
    """One epoch of plain PyTorch SGD at mini-batch 10 as a no-argument call, and its optimiser."""
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)

    def epoch() -> None:
        for x, y in batches:
            loss = cost(torch, model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    return epoch, optimizer


def bench_steps(torch: Any, mnist: Any, repeats: int, steps: int) -> dict[str, float]:
    x = torch.from_numpy(mnist.x_train[:N_TRAIN]).float()
    y = torch.nn.functional.one_hot(torch.from_numpy(mnist.y_train[:N_TRAIN]), 10).float()
    batches = [(x[i:i + BATCH_SIZE], y[i:i + BATCH_SIZE])
               for i in range(0, BATCH_SIZE * steps, BATCH_SIZE)]
    probe_x, probe_y = mnist.x_train[:N_BOOK], mnist.y_train[:N_BOOK]
    models = {name: book_net(torch) for name in ("plain", "recorded", "hooks only")}
    epochs = {name: epoch_of(torch, model, batches) for name, model in models.items()}
    recorder = FlowRecorder(probe_x, probe_y, every=steps)  # measures once per epoch
    recorder.watch(models["recorded"], epochs["recorded"][1])
    silent = FlowRecorder(probe_x, probe_y, every=10 ** 9)  # never measures after the first
    silent.watch(models["hooks only"], epochs["hooks only"][1])
    contenders = [common.Contender(name, epoch) for name, (epoch, _) in epochs.items()]
    for contender in contenders:
        contender.run()
    times = common.interleaved(contenders, repeats, collect=False)
    recorder.close()
    silent.close()
    out = {name: common.median(t) / steps for name, t in times.items()}
    out["records"] = len(recorder.reports)
    return out


def main(argv: list[str] | None = None) -> None:
    args = common.parse_args(__doc__.splitlines()[0], argv)
    repeats = args.repeats or (3 if args.quick else 15)
    steps = 40 if args.quick else N_TRAIN // BATCH_SIZE
    common.print_header("bench_torch_flow: minigrad's flow measurement on a PyTorch model",
                        args.clock)
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed (pip install 'minigrad[torch]'): nothing to measure")
        return
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread; net {SIZES}, float32")
    mnist = data.load_mnist()

    m = bench_measurement(torch, mnist, repeats)
    ratio = m["gradient_flow"] / m["forward + backward"]
    print(f"\n1. on the book's {N_BOOK} images ({repeats} interleaved repeats, median)")
    print(f"   plain forward + backward {common.fmt_time(m['forward + backward']):>10}")
    print(f"   gradient_flow            {common.fmt_time(m['gradient_flow']):>10}  (x, y tensors)")
    print(f"   gradient_flow, numpy     {common.fmt_time(m['gradient_flow, numpy']):>10}  "
          f"(x, y numpy arrays: {m['gradient_flow, numpy'] / m['forward + backward']:.3f}x)")
    print(f"   measure / (forward + backward) {ratio:.3f}x  (target <= {MEASURE_TARGET:.2f}x: "
          f"{common.verdict(ratio, '<=', MEASURE_TARGET)})")

    s = bench_steps(torch, mnist, repeats, steps)
    step_ratio, hook_ratio = s["recorded"] / s["plain"], s["hooks only"] / s["plain"]
    print(f"\n2. a training step at mini-batch {BATCH_SIZE}, timed as epochs of {steps} steps "
          f"({repeats} interleaved repeats, median; the recorder measured {s['records']} "
          f"times)")
    print(f"   plain step               {common.fmt_time(s['plain']):>10}")
    print(f"   watched, every={steps:<4}      {common.fmt_time(s['recorded']):>10}")
    print(f"   watched, hooks only      {common.fmt_time(s['hooks only']):>10}")
    print(f"   recorded / plain         {step_ratio:.3f}x  (target <= {STEP_TARGET:.2f}x: "
          f"{common.verdict(step_ratio, '<=', STEP_TARGET)}); hooks only / plain "
          f"{hook_ratio:.3f}x")


if __name__ == "__main__":
    main()
