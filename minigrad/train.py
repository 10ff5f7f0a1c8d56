r"""fit(): epochs of mini-batch SGD with a progress bar, test accuracy per epoch, and callbacks.

    from minigrad import data, nn
    from minigrad.train import fit
    mnist = data.load_mnist()
    model = nn.mlp([784, 30, 10])
    history = fit(model, mnist, epochs=30, batch_size=10, lr=0.5,
                  weight_decay=5.0 / len(mnist.y_train))
    history.test_accuracy[-1]          # 0.921 on the shipped 1,000 test digits (seeds 0)

Each epoch shuffles the training set (a Generator seeded by ``seed``, so a run repeats exactly),
and for every mini-batch runs one step: forward, loss, zero_grad, backward, ``optimizer.step()``.
The default optimizer is ``optim.SGD`` with L2 weight decay on the weights only, as the book:
``w <- (1 - eta lambda/n) w - eta dC/dw`` and ``b <- b - eta dC/db`` (``weight_decay`` is the
book's lambda/n; pass ``decay_biases=True`` to decay every parameter).

Inputs are converted once to the model's dtype; integer labels become one-hot rows once (for
the named losses), so a step does no more than the step itself.

Epochs and steps are counted from 0 in the History and the callbacks (the book's "Epoch 0"):
epoch 0's first step sees the gradients of the freshly initialised network. The progress bar,
written for a reader, counts from 1: "epoch 1/30" is epoch 0.

Callbacks: any objects, each with some of these methods (missing ones are skipped):

- ``on_train_begin(model, optimizer)``: once, before the first epoch;
- ``on_epoch_begin(epoch, model)``;
- ``after_backward(step, model, loss, optimizer)``: every parameter's ``.grad`` holds dC/dp of
  this mini-batch and the update has not happened yet (a gradient-flow recorder reads it here);
  intermediate nodes keep no gradient (``backward(keep_grads=False)``, as in PyTorch);
  ``loss`` is the loss Tensor of the batch, ``step`` counts batches across epochs;
- ``after_step(step, model, optimizer)``: right after the update;
- ``on_epoch_end(epoch, model, metrics)``: ``metrics`` is a dict with ``epoch``,
  ``train_loss`` (the mean of the per-example cost over the epoch), ``test_accuracy``
  (a fraction) and ``elapsed`` (seconds since fit began).

The progress bar (tqdm, on stderr; a widget in Jupyter) shows one line per epoch with the
running loss, then the epoch's loss and test accuracy. ``progress=False`` writes nothing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from numbers import Real
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from minigrad.data import batches
from minigrad.engine import no_grad
from minigrad.flow import FlowRecorder
from minigrad.nn import Module, loss_function
from minigrad.optim import SGD, weight_decay_groups
from minigrad.tensor import Tensor

__all__ = ["fit", "evaluate", "predict", "evaluation_mode", "History", "CALLBACK_METHODS",
           "speed_of_learning_curves"]

CALLBACK_METHODS = ("on_train_begin", "on_epoch_begin", "after_backward", "after_step",
                    "on_epoch_end")

_EVAL_BATCH = 1000  # rows per forward pass when evaluating (bounds the memory of one pass)


@dataclass
class History:
    """Per-epoch record of a fit: one entry per epoch in every list."""

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)  # mean cost per training example
    test_accuracy: list[float] = field(default_factory=list)  # fraction of test digits right
    elapsed: list[float] = field(default_factory=list)  # seconds since fit began, at epoch end


def predict(model: Module, x: Any, batch_size: int = _EVAL_BATCH) -> np.ndarray:
    """The predicted class of every row of x: argmax of the outputs, (N, n_in) -> (N,) ints."""
    return _predict(model, x, batch_size, "predict")[0]


def _predict(model: Module, x: Any, batch_size: int, where: str) -> tuple[np.ndarray, int]:
    """(the predicted class of every row of x, the model's number of outputs)."""
    x = np.asarray(x.data if isinstance(x, Tensor) else x)
    if x.ndim != 2:
        raise ValueError(f"{where}: x must have shape (N, n_in), got {x.shape}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"{where}: batch_size must be a positive integer, got {batch_size!r}")
    dtype = _model_dtype(model, where)
    labels = np.empty(len(x), dtype=np.int64)
    n_out = 0
    with evaluation_mode(model), no_grad():
        for start in range(0, len(x), batch_size):
            chunk = Tensor(x[start:start + batch_size], dtype=dtype)
            outputs = model(chunk).data  # (B, n_out)
            n_out = outputs.shape[-1]
            labels[start:start + batch_size] = outputs.argmax(axis=1)
    return labels, n_out


@contextmanager
def evaluation_mode(model: Module) -> Iterator[Module]:
    """The model in evaluation mode (``model.eval()``: batch norm uses its running statistics
    and leaves them alone) for the block; every module's own mode is put back after."""
    modes = [(module, module.training) for _, module in model.named_modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in modes:
            module.training = training


def evaluate(model: Module, x: Any, y: Any, batch_size: int = _EVAL_BATCH) -> float:
    """Accuracy: the fraction of rows of x whose predicted class is y (labels or one-hot rows)."""
    y = np.asarray(y.data if isinstance(y, Tensor) else y)
    if y.ndim == 2:
        y = y.argmax(axis=1)  # one-hot rows -> labels
    if y.ndim != 1 or len(y) != len(x):
        raise ValueError(f"evaluate: y must be {len(x)} labels (or one-hot rows) for the "
                         f"{len(x)} inputs, got shape {y.shape}")
    if len(y) == 0:
        raise ValueError("evaluate: no examples to evaluate")
    y = _integer_labels(y, "evaluate", "y")
    predicted, n_out = _predict(model, x, batch_size, "evaluate")
    _check_classes(y, n_out, "evaluate", "y")
    return float(np.mean(predicted == y))


def _integer_labels(y: np.ndarray, where: str, name: str) -> np.ndarray:
    """``y`` as integer class labels (whole floats accepted), or an error naming the dtype."""
    if y.dtype.kind in "iu":
        return y
    if y.dtype.kind == "f" and y.size and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        return y.astype(np.int64)
    example = f" (e.g. {y.flat[0]!r})" if y.size else ""
    raise ValueError(f"{where}: {name} must be integer class labels, got dtype {y.dtype}"
                     f"{example}")


def _check_classes(y: np.ndarray, n_out: int, where: str, name: str) -> None:
    """Every label in 0..n_out-1, or an error naming the first one outside (it would silently
    count as wrong, or index past the outputs)."""
    bad = y[(y < 0) | (y >= n_out)]
    if bad.size:
        raise ValueError(f"{where}: label {bad[0]} in {name} is outside 0..{n_out - 1} (the "
                         f"model has {n_out} outputs)")


def _n_outputs(model: Module, x: np.ndarray, where: str) -> int:
    """The model's number of outputs, from one row of x (no graph), in evaluation mode (batch
    norm cannot take the statistics of one row); every module's mode is put back after."""
    with evaluation_mode(model), no_grad():
        return model(Tensor(x[:1], dtype=_model_dtype(model, where))).shape[-1]


def fit(model: Module, data: Any, *, epochs: int, batch_size: int, lr: float | None = None,
        weight_decay: float = 0.0, decay_biases: bool = False,
        loss: str | Callable[[Tensor, Any], Tensor] = "cross_entropy", seed: int = 0,
        callbacks: Iterable[Any] = (), progress: bool = True,
        optimizer: Any = None) -> History:
    """Train ``model`` on ``data.x_train``/``y_train`` by mini-batch SGD; test on ``x_test``.

    ``lr`` and ``weight_decay`` (the book's lambda/n, weights only unless ``decay_biases``)
    configure the default ``optim.SGD``; or pass a ready ``optimizer`` (anything with
    ``step()``) and leave them out. ``loss`` is a name from ``nn.LOSSES`` or a function
    ``loss(outputs, targets) -> Tensor``. Returns the per-epoch :class:`History`.

    Bad settings (a learning rate that is not a positive finite number, labels outside the
    model's classes) are errors before anything is trained. A batch whose loss is not finite,
    or an epoch that ends with weights that are not, stops the fit with a FloatingPointError
    saying where, instead of training on NaN.
    """
    loss_fn = loss_function(loss, "fit")[1]
    for name, n in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"fit: {name} must be a positive integer, got {n!r}")
    for name, value, positive in (("lr", lr, True), ("weight_decay", weight_decay, False)):
        if value is None and name == "lr":
            continue
        if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) \
                or value < 0 or (positive and value == 0):
            needed = "a positive" if positive else "a non-negative"
            raise ValueError(f"fit: {name} must be {needed} finite number, got {value!r}")
    dtype = _model_dtype(model, "fit")
    x_train, y_train = _split(data, "train", dtype)
    x_test, y_test = _split(data, "test", dtype)
    n_out = _n_outputs(model, x_train, "fit")
    _check_classes(_integer_labels(y_test.argmax(axis=1) if y_test.ndim == 2 else y_test, "fit",
                                   "y_test"), n_out, "fit", "y_test")
    if not callable(loss):  # the named losses take one-hot rows: make them once, not per step
        y_train = _one_hot_once(n_out, x_train, y_train)
    if optimizer is None:
        if lr is None:
            raise ValueError("fit: give lr= (the learning rate eta), or a ready optimizer=")
        groups = model.parameters() if decay_biases else weight_decay_groups(model, weight_decay)
        optimizer = SGD(groups, lr=lr, weight_decay=weight_decay)
    elif lr is not None or weight_decay or decay_biases:
        raise ValueError("fit: lr, weight_decay and decay_biases configure the default SGD; "
                         "with optimizer= set them on the optimizer instead")

    # The hooks, looked up once: a list per event of the callbacks' bound methods.
    callbacks = list(callbacks)
    hooks = {event: [getattr(c, event) for c in callbacks if callable(getattr(c, event, None))]
             for event in CALLBACK_METHODS}
    on_epoch_begin, after_backward = hooks["on_epoch_begin"], hooks["after_backward"]
    after_step, on_epoch_end = hooks["after_step"], hooks["on_epoch_end"]
    update = optimizer.step
    params = model.parameters()  # walked once, not every step (as the optimizer holds them)

    rng = np.random.default_rng(seed)  # advances every epoch: a new order each time
    history = History()
    n_batches = -(-len(x_train) // batch_size)
    start = time.perf_counter()
    for hook in hooks["on_train_begin"]:
        hook(model, optimizer)
    step = 0
    for epoch in range(epochs):
        for hook in on_epoch_begin:
            hook(epoch, model)
        # The bar is advanced by hand (not wrapped around the batches): iterating a tqdm closes
        # it at the end, before the epoch's loss and accuracy could be shown on it.
        # counted from 1 for a reader ("epoch 1/3"); History.epoch counts from 0, as the book
        bar = tqdm(total=n_batches, desc=f"epoch {epoch + 1}/{epochs}", unit="batch", leave=True,
                   dynamic_ncols=True) if progress else None
        loss_sum = 0.0  # sum over examples of the per-example cost, this epoch
        seen = 0
        try:
            for x_batch, y_batch in batches(x_train, y_train, batch_size, rng=rng):
                outputs = model(Tensor(x_batch))  # (B, n_out)
                batch_loss = loss_fn(outputs, y_batch)  # mean over the batch
                loss_value = float(batch_loss.data)  # checked before any gradient
                if not math.isfinite(loss_value):
                    raise FloatingPointError(
                        f"fit: the loss is {loss_value} at epoch {epoch}, step {step}: "
                        + ("the first batch already gives it (the loss, the data or the "
                           "initial weights)" if step == 0 else
                           "the step before made the weights non-finite (a learning rate "
                           "too large?)"))
                for p in params:  # model.zero_grad(), without walking the modules each step
                    p.grad = None
                batch_loss.backward(keep_grads=False)  # only the parameters' gradients are kept
                for hook in after_backward:
                    hook(step, model, batch_loss, optimizer)
                update()
                for hook in after_step:
                    hook(step, model, optimizer)
                loss_sum += loss_value * len(x_batch)
                seen += len(x_batch)
                step += 1
                if bar is not None:  # about 1 us: stores the text; tqdm redraws at most 10 times/s
                    bar.set_postfix_str(f"loss={loss_sum / seen:.4f}", refresh=False)
                    bar.update()
        except BaseException:  # an error or Ctrl-C: end the bar's line before it is reported
            if bar is not None:
                bar.close()
            raise
        broken = [name for name, p in model.named_parameters() if not np.isfinite(p.data).all()]
        if broken:
            raise FloatingPointError(f"fit: after epoch {epoch} the weights {', '.join(broken)} "
                                     "are not finite (a learning rate too large?)")
        metrics = {"epoch": epoch, "train_loss": loss_sum / seen,
                   "test_accuracy": evaluate(model, x_test, y_test),
                   "elapsed": time.perf_counter() - start}
        for key in ("epoch", "train_loss", "test_accuracy", "elapsed"):
            getattr(history, key).append(metrics[key])
        if bar is not None:
            bar.set_postfix_str(f"loss={metrics['train_loss']:.4f}, "
                                f"test accuracy={100 * metrics['test_accuracy']:.2f}%")
            bar.close()
        for hook in on_epoch_end:
            hook(epoch, model, metrics)
    return history


def _model_dtype(model: Module, where: str) -> np.dtype:
    """The float dtype of the model's parameters (inputs are converted to it once)."""
    params = model.parameters()
    if not params:
        raise ValueError(f"{where}: the model has no parameters")
    return params[0].dtype


def _one_hot_once(n_out: int, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Integer labels as one-hot rows in the model's dtype, as wide as the model's output."""
    if y.ndim != 1 or y.dtype.kind not in "iu":  # already targets (the loss checks the shape)
        return y.astype(x.dtype, copy=False) if y.dtype.kind in "biuf" else y
    _check_classes(y, n_out, "fit", "y_train")
    return np.eye(n_out, dtype=x.dtype)[y]  # (N, n_out)


def _split(data: Any, split: str, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of ``data.x_<split>``/``data.y_<split>``: x in the model's dtype, once."""
    try:
        x, y = getattr(data, "x_" + split), getattr(data, "y_" + split)
    except AttributeError:
        raise TypeError(f"fit: data needs attributes x_train, y_train, x_test, y_test (like "
                        f"minigrad.data.MNIST), got a {type(data).__name__}") from None
    x = np.asarray(x, dtype=dtype)  # (N, n_in)
    y = np.asarray(y)  # (N,) integer labels, or (N, n_out) targets
    if x.ndim != 2 or len(x) != len(y) or len(x) == 0:
        raise ValueError(f"fit: {split} set needs x of shape (N, n_in) with N > 0 and N "
                         f"targets, got x {x.shape} and y {y.shape}")
    return x, y


def speed_of_learning_curves(model: Module, x: Any, y: Any, *, epochs: int = 500,
                             lr: float = 0.1, weight_decay: float = 5.0,
                             loss: str | Callable = "cross_entropy",
                             progress: bool = False) -> FlowRecorder:
    r"""The book's experiment: each epoch measure s_l, then ONE full-batch step on (x, y).

    The step is w <- (1 - lr lambda/n) w - lr dC/dw and b <- b - lr dC/db (biases not
    decayed), n = len(x), with the gradient of the measurement itself: one backward pass per
    epoch. The measured gradient leaves out the L2 term, as the book's does. Returns the
    recorder holding one record per epoch (epoch j measured before step j). Trains ``model``
    in place and clears its gradients at the end.
    """
    if epochs < 1:
        raise ValueError(f"speed_of_learning_curves: epochs must be at least 1, got {epochs}")
    recorder = FlowRecorder(x, y, every="epoch", lr=lr, loss=loss)
    recorder.attach(model, None)
    n = len(x.data if isinstance(x, Tensor) else x)
    optimizer = SGD(weight_decay_groups(model, weight_decay / n), lr=lr)
    bar = tqdm(total=epochs, desc="speed of learning", unit="epoch") if progress else None
    for epoch in range(epochs):
        # leaves the full-batch gradient in the parameters, for the step
        recorder.measure(model, epoch=epoch, step=epoch, keep_gradients=True)
        optimizer.step()
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    model.zero_grad()
    return recorder
