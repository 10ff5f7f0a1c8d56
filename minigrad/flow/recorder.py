r"""FlowRecorder: the gradient-flow measurement taken again and again during training.

    recorder = FlowRecorder(x_probe, y_probe, every="epoch")
    fit(model, mnist, epochs=30, batch_size=10, lr=0.1, callbacks=[recorder])
    recorder.speeds                  # (records, layers): s_l at each measurement
    recorder.to_csv("flow.csv")      # one row per record and layer

A plain PyTorch loop is recorded with no change to the loop, through the optimiser's step hooks:

    recorder = FlowRecorder(x_probe, y_probe, every=len(loader)).watch(model, optimizer)
    for epoch in range(30): ...  # forward, loss.backward(), optimizer.step(), as ever
    recorder.close()             # the hooks removed

Its pictures are in :mod:`minigrad.viz.plots` (``plot_curves(recorder)``).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from minigrad.adapters import is_torch
from minigrad.files import replacing
from minigrad.flow.measure import gradient_flow, linear_layers
from minigrad.flow.report import FIELDS, FlowReport, csv_cell, csv_cells
from minigrad.nn.losses import loss_function
from minigrad.nn.module import Module
from minigrad.tensor import Tensor

__all__ = ["FlowRecorder"]

_vdot, _log10 = np.vdot, math.log10  # bench_flow: bound once, after_backward runs every step


def _offset(log_lr: float | None, weight: Tensor) -> float | None:
    """log10(lr / ||W||), or None when there is no lr or W is all zeros."""
    squared = float(_vdot(weight.data, weight.data))
    return None if log_lr is None or squared == 0 else log_lr - 0.5 * _log10(squared)


# ---- during training ------------------------------------------------------------------------
class FlowRecorder:
    """A ``fit`` callback that measures the gradient flow on a fixed batch during training.

    It measures at the start and then after every epoch (``every="epoch"``) or every ``every``
    optimiser steps, on the same batch (e.g. the book's 1,000 images), without touching the
    training gradients. In between, ``after_backward`` records update:data from the real
    mini-batch gradients, log10(lr ||dW|| / ||W||) per layer, averaged over the steps since
    the last measurement. To stay cheap (a few vdots per step), ||W|| is refreshed every
    ``weight_norm_every`` steps: it moves by about 10^update:data (0.1%) per step, so the
    stale norm is off by well under 0.01 in log10.
    """

    def __init__(self, x: Any, y: Any, every: str | int = "epoch", lr: float | None = None,
                 loss: str | Callable = "cross_entropy", weight_norm_every: int = 10) -> None:
        if every != "epoch" and (isinstance(every, bool) or not isinstance(every, int)
                                 or every < 1):
            raise ValueError(f"FlowRecorder: every must be 'epoch' or a positive number of "
                             f"steps, got {every!r}")
        loss_function(loss, "FlowRecorder")  # an unknown loss fails now, not mid-training
        self.x, self.y, self.every, self.lr, self.loss = x, y, every, lr, loss
        self.weight_norm_every = int(weight_norm_every)
        self.reports: list[FlowReport] = []
        self.epochs: list[int] = []  # epochs completed when each measurement was taken
        self.steps: list[int] = []  # optimiser steps completed at each measurement
        self.train_update_data: list[list[float | None]] = []  # per record, per layer
        self._epochs_done = self._steps_done = 0
        self._weights: list[Tensor] | None = None  # one per Linear module
        self._names: list[str] = []  # their names, as the report's rows give them
        self._log_lr: list[float | None] = []  # log10 of each weight's learning rate
        self._offsets: list[float | None] = []  # log10(lr / ||W||), refreshed now and then
        self._refresh_in = 0
        self._sums: list[float] = []
        self._counts: list[int] = []
        self._handles: list[Any] = []  # a watched torch optimiser's step hooks
        self._probe: tuple[Any, Any] | None = None  # (x, y) as tensors, for a watched model

    # ---- fit's callback methods ---------------------------------------------------------
    def on_train_begin(self, model: Module, optimizer: Any = None) -> None:
        """Find the layers and learning rates, and take the measurement at epoch 0."""
        self.attach(model, optimizer)
        self.measure(model)

    def after_backward(self, step: int, model: Module, loss: Any = None,
                       optimizer: Any = None) -> None:
        """update:data of every layer from this step's gradients (before the update)."""
        if self._weights is None:
            self.attach(model, optimizer)
        if self._refresh_in <= 0:  # log10(lr / ||W||) per layer, from the current weights
            self._offsets = [_offset(log_lr, w) for w, log_lr in zip(self._weights, self._log_lr)]
            self._refresh_in = self.weight_norm_every
        self._refresh_in -= 1
        sums, counts = self._sums, self._counts
        for i, (w, offset) in enumerate(zip(self._weights, self._offsets)):
            grad = w.grad
            if grad is not None and offset is not None:
                squared = _vdot(grad, grad)  # ||dW||^2 (the gradient is contiguous: no copy)
                if squared > 0:
                    sums[i] += offset + 0.5 * _log10(squared)
                    counts[i] += 1

    # ---- a plain PyTorch loop -----------------------------------------------------------
    def watch(self, model: Any, optimizer: Any, *, update_every: int = 10) -> FlowRecorder:
        """Record a PyTorch training loop through ``optimizer``'s step hooks: measure now and
        then every ``every`` optimiser steps on the recorder's batch; before every
        ``update_every``-th step, update:data of every layer from that step's real gradients
        (1: every step, as ``after_backward`` does in ``fit``; bench_torch_flow: reading every
        step's gradients alone adds about 5% to a step at mini-batch 10). Returns the
        recorder; ``close()`` removes the hooks. ``every`` is a number of steps (a loop's
        epochs are not visible to the optimiser: give the steps per epoch, ``len(loader)``)."""
        if not is_torch(model) or not is_torch(optimizer):
            raise TypeError(f"FlowRecorder.watch: expected a torch.nn.Module and a "
                            f"torch.optim.Optimizer, got {type(model).__name__} and "
                            f"{type(optimizer).__name__} (minigrad's fit takes the recorder "
                            "as a callback: callbacks=[recorder])")
        if self.every == "epoch":
            raise ValueError("FlowRecorder.watch: the optimiser sees steps, not epochs: give "
                             "every=<steps per epoch> (len(loader)) to measure every epoch")
        if isinstance(update_every, bool) or not isinstance(update_every, int) \
                or update_every < 1:
            raise ValueError(f"FlowRecorder.watch: update_every must be a positive number of "
                             f"steps, got {update_every!r}")
        from minigrad.adapters.torch import as_batch, squared_norms

        self.close()
        self.attach(model, optimizer)
        self._probe = as_batch(model, self.x, self.y)  # converted once, measured every time
        weights, norms = self._weights, squared_norms
        countdown = [0]  # steps until the next one whose gradients are read

        def before_step(opt: Any, args: Any, kwargs: Any) -> None:
            # update:data from this step's gradients, as after_backward does for minigrad
            if countdown[0] > 0:
                countdown[0] -= 1
                return
            countdown[0] = update_every - 1
            if self._refresh_in <= 0:
                self._offsets = [None if log_lr is None or not squared else
                                 log_lr - 0.5 * _log10(squared) for log_lr, squared in
                                 zip(self._log_lr, norms(weights))]
                self._refresh_in = self.weight_norm_every
            self._refresh_in -= 1
            sums, counts = self._sums, self._counts
            for i, (offset, squared) in enumerate(zip(self._offsets,
                                                      norms([w.grad for w in weights]))):
                if offset is not None and squared:
                    sums[i] += offset + 0.5 * _log10(squared)
                    counts[i] += 1

        def after_step(opt: Any, args: Any, kwargs: Any) -> None:
            self.after_step(self._steps_done, model, opt)

        self._handles = [optimizer.register_step_pre_hook(before_step),
                         optimizer.register_step_post_hook(after_step)]
        self.measure(model)
        return self

    def close(self) -> None:
        """Remove the step hooks ``watch`` put on the optimiser (the history stays)."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def after_step(self, step: int, model: Module, optimizer: Any = None) -> None:
        """Count the step; measure when ``every`` steps have passed."""
        self._steps_done += 1
        if self.every != "epoch" and self._steps_done % self.every == 0:
            self.measure(model)

    def on_epoch_end(self, epoch: int, model: Module, metrics: Any = None) -> None:
        """Count the epoch; measure when recording per epoch."""
        self._epochs_done += 1
        if self.every == "epoch":
            self.measure(model)

    # ---- the history --------------------------------------------------------------------
    def measure(self, model: Module, *, epoch: int | None = None, step: int | None = None,
                keep_gradients: bool = False) -> FlowReport:
        """Measure now on the recorder's batch and append it to the history (``keep_gradients``:
        as for :func:`gradient_flow`)."""
        if self._weights is None:
            self.attach(model, None)
        x, y = self._probe if self._probe is not None and is_torch(model) else (self.x, self.y)
        report = gradient_flow(model, x, y, self.loss, lr=self.lr,
                               keep_gradients=keep_gradients)
        self._append(report, epoch, step)
        return report

    def _append(self, report: FlowReport, epoch: int | None, step: int | None) -> None:
        self.reports.append(report)
        self.epochs.append(self._epochs_done if epoch is None else epoch)
        self.steps.append(self._steps_done if step is None else step)
        # The training steps' update:data is kept per Linear module; a report has a row per
        # call of one (its name is the module's, with " (call k)" after the first call).
        by_module = {name: total / count if count else None
                     for name, total, count in zip(self._names, self._sums, self._counts)}
        self.train_update_data.append(
            [by_module.get(row.name.split(" (call ")[0]) for row in report.layers])
        self._sums = [0.0] * len(self._sums)
        self._counts = [0] * len(self._counts)

    def attach(self, model: Module, optimizer: Any) -> None:
        """Find the layers' weights and their learning rates (from ``lr`` or the optimiser)."""
        if is_torch(model):
            from minigrad.adapters.torch import linear_layers as torch_linear_layers

            layers = torch_linear_layers(model)
        else:
            layers = linear_layers(model)
        self._names = [name for name, _ in layers]
        self._weights = [linear.weight for _, linear in layers]
        rates: dict[int, float] = {}
        for group in getattr(optimizer, "param_groups", []):
            for p in group["params"]:
                rates[id(p)] = group["lr"]
        lrs = [self.lr if self.lr is not None else rates.get(id(w)) for w in self._weights]
        self._log_lr = [math.log10(lr) if lr else None for lr in lrs]
        self._sums = [0.0] * len(self._weights)
        self._counts = [0] * len(self._weights)
        self._refresh_in = 0
        if self.lr is None and lrs and lrs[0]:
            self.lr = lrs[0]

    def __getattr__(self, name: str) -> Any:  # only for names the recorder does not have
        if name == "plot":
            raise AttributeError("FlowRecorder.plot() is gone: the recorder is plain data, and "
                                 "the pictures draw it: from minigrad.viz import plot_curves; "
                                 "plot_curves(recorder)")
        raise AttributeError(f"'FlowRecorder' object has no attribute {name!r}")

    @property
    def speeds(self) -> np.ndarray:
        """(records, layers): s_l at each measurement, the output layer last."""
        return np.array([report.speeds for report in self.reports], dtype=float)

    @property
    def hidden_speeds(self) -> np.ndarray:
        """(records, hidden layers): what the book's speed-of-learning figures plot."""
        return self.speeds[:, :-1]

    @property
    def roles(self) -> list[str]:
        """The layers' names in the report: 'hidden 1', ..., 'output'."""
        return [row.role for row in self.reports[0].layers] if self.reports else []

    @property
    def x_values(self) -> tuple[np.ndarray, str]:
        """The training time of each record and its unit ('epoch' or 'step')."""
        if self.every == "epoch":
            return np.array(self.epochs), "epoch"
        return np.array(self.steps), "step"

    def to_csv(self, path: str | Path) -> Path:
        """One row per record and layer: epoch, step, the layer's fields, the training ratio."""
        with replacing(path) as temporary, temporary.open("w", newline="",
                                                          encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(["record", "epoch", "step", *FIELDS, "train_update_data"])
            for record, report in enumerate(self.reports):
                training = self.train_update_data[record]
                for i, row in enumerate(report.layers):
                    writer.writerow([record, self.epochs[record], self.steps[record],
                                     *csv_cells(row), csv_cell(training[i])])
        return Path(path)
