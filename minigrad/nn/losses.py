r"""Losses, each the mean over the batch of a per-example cost C_x.

- quadratic:      C_x = ||a - y||^2 / 2                          dC_x/da = a - y
- cross-entropy:  C_x = -sum_j [y_j ln a_j + (1 - y_j) ln(1 - a_j)]
                  with a = sigma(z):  dC_x/dz = a - y (the sigma' factor cancels: Nielsen ch. 3)
- softmax cross-entropy: C_x = -sum_j y_j ln softmax(z)_j         dC_x/dz = softmax(z) sum_j y_j - y
                  (= softmax(z) - onehot for a label)

Targets are integer labels (one-hot rows) or float arrays of the outputs' shape, any real
numbers: each formula, and its gradient, holds for every target (soft, multi-hot, all-zero,
smoothed rows, values outside [0, 1]). 0 ln 0 is taken as 0, so the losses from z are exact at
the extremes: 0 or +inf where the outputs saturate, as the limits are, never NaN from 0 x inf
(the cross-entropy of outputs a given directly clips them to [1e-12, 1 - 1e-12] first).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.tensor import Tensor
from minigrad.tensor_ops import Unary, log_softmax, loud, nonfinite_seen, quiet

_new = object.__new__  # bench_mlp: an op without __init__, as minigrad.tensor makes them

__all__ = ["quadratic_loss", "cross_entropy_loss", "softmax_cross_entropy", "LOSSES",
           "loss_function"]


def _targets(y: Any, like: Tensor, loss: str) -> np.ndarray:
    """Targets as an array of a's shape: integer labels become one-hot rows."""
    y = np.asarray(y.data if isinstance(y, Tensor) else y)
    if y.shape == like.shape:
        return y.astype(like.dtype, copy=False)
    if like.ndim == 2 and y.shape == like.shape[:1] and y.dtype.kind in "iu":
        n_classes = like.shape[1]
        if y.size and (y.min() < 0 or y.max() >= n_classes):
            bad = y[(y < 0) | (y >= n_classes)][0]
            raise ValueError(f"{loss}: label {bad} is outside 0..{n_classes - 1}")
        one_hot = np.zeros(like.shape, like.dtype)
        one_hot[np.arange(len(y)), y] = 1.0
        return one_hot
    raise ValueError(f"{loss}: targets of shape {y.shape} do not fit outputs of shape "
                     f"{like.shape} (give the same shape, or integer labels of shape "
                     f"{like.shape[:1]})")


def _batch_size(a: Tensor) -> int:
    return a.shape[0] if a.ndim == 2 else 1


def _softplus(t: np.ndarray) -> np.ndarray:
    """ln(1 + e^t), without overflow for large t."""
    return np.maximum(t, 0.0) + np.log1p(np.exp(-np.abs(t)))


_total = np.add.reduce  # bench_mlp: ndarray.sum goes through a Python wrapper first


# Each loss is one op block (see minigrad.tensor_ops): C is one number made from a whole array,
# so its Jacobian is one row, dC/d input itself. That row is the local derivative, and the VJP
# is the row times the upstream number g (Unary's shared VJP), computed in backward.
class CrossEntropyOfZ(Unary):
    r"""C = (1/N) sum_x sum_j [softplus(z_j) - y_j z_j]: the cross-entropy of a = sigma(z), from z.

    -ln a = softplus(-z) and -ln(1 - a) = softplus(z), so y softplus(-z) + (1-y) softplus(z) =
    softplus(z) - y z: finite however saturated the outputs. dC/dz = (a - y)/N, Nielsen's output
    error delta^L (the sigma' factor cancels). local: (the array (a - y)/N, of z's shape,)
    """

    __slots__ = ("a", "y", "n")
    name = "cross_entropy"
    fresh = True

    def forward(self, z: np.ndarray, a: np.ndarray, y: np.ndarray, n: int) -> np.ndarray:
        self.a, self.y, self.n = a, y, n
        token = quiet()  # (infinite or huge z: the exact path below, without a warning)
        try:
            total = _total(_softplus(z) - y * z, None)
            if not math.isfinite(total):  # z = +-inf gives inf - inf: y softplus(-z) + ...
                nonfinite_seen[0] = True
                total = _total(_times_log(y, _softplus(-z)) + _times_log(1.0 - y, _softplus(z)),
                               None)
        finally:
            loud(token)
        return np.asarray(total / n, z.dtype)

    def local(self) -> tuple:
        delta = np.subtract(self.a, self.y)
        delta /= self.n
        return (delta,)


def _times_log(y: np.ndarray, minus_log: np.ndarray) -> np.ndarray:
    """y * minus_log, with 0 * inf taken as 0 (0 ln 0 = 0: the limit of y ln y)."""
    return np.where(y == 0, 0.0, y * minus_log).astype(minus_log.dtype, copy=False)


class CrossEntropy(Unary):
    r"""C = -(1/N) sum_x sum_j [y ln p + (1-y) ln(1-p)], p = a clipped to [1e-12, 1 - 1e-12].

    dC/da = (p - y) / (p (1 - p)) / N = (-y/p + (1-y)/(1-p)) / N, right for any target y.
    local: (that array, of a's shape,)
    """

    __slots__ = ("p", "y", "n")
    name = "cross_entropy"
    fresh = True

    def forward(self, a: np.ndarray, y: np.ndarray, n: int) -> np.ndarray:
        p = np.clip(a, 1e-12, 1.0 - 1e-12)
        self.p, self.y, self.n = p, y, n
        return np.asarray(-(y * np.log(p) + (1.0 - y) * np.log(1.0 - p)).sum() / n, a.dtype)

    def local(self) -> tuple:
        p = self.p
        return ((p - self.y) / (p * (1.0 - p)) / self.n,)


class SoftmaxCrossEntropy(Unary):
    r"""C = -(1/N) sum_x sum_j y_j ln softmax(z_x)_j;  dC/dz = (softmax(z) sum_j y_j - y)/N.

    For integer labels y is one-hot and sum_j y_j = 1: dC/dz = (softmax(z) - onehot)/N. Soft
    targets (rows that need not sum to 1) keep the factor sum_j y_j. 0 ln 0 = 0: a -inf logit
    with target 0 costs nothing, with a target above 0 it costs +inf.
    local: (the array (softmax(z) sum_j y_j - y)/N, of z's shape,)
    """

    __slots__ = ("log_s", "y", "n", "labels")
    name = "softmax_cross_entropy"
    fresh = True

    def forward(self, z: np.ndarray, y: np.ndarray, n: int,
                labels: np.ndarray | None) -> np.ndarray:
        log_s = log_softmax(z, -1)
        self.log_s, self.y, self.n, self.labels = log_s, y, n, labels
        token = quiet()  # sums of -inf and +inf terms: NaN, as IEEE says
        try:
            if labels is not None:  # one-hot rows: pick ln softmax at each label
                total = 0.0 - _total(log_s[np.arange(len(labels)), labels], None)
            else:
                total = _total(_times_log(y, -log_s), None)
        finally:
            loud(token)
        return np.asarray(total / n, z.dtype)

    def local(self) -> tuple:
        s, y = np.exp(self.log_s), self.y
        if self.labels is None:
            s *= y.sum(axis=-1, keepdims=True)  # rows of soft targets need not sum to 1
        s -= y
        s /= self.n
        return (s,)


def _record(op: Unary, data: np.ndarray, parent: Tensor) -> Tensor:
    op.needs = (True,)
    return Tensor.from_op(data, (parent,), op.name, type(op).vjp, op)


def quadratic_loss(a: Tensor, y: Any) -> Tensor:
    r"""C = (1/N) sum_x ||a_x - y_x||^2 / 2"""
    diff = a - _targets(y, a, "quadratic_loss")
    return (diff * diff).sum() * (0.5 / _batch_size(a))


def cross_entropy_loss(a: Tensor, y: Any) -> Tensor:
    r"""C = -(1/N) sum_x sum_j [y ln a + (1-y) ln(1-a)], the book's cost for sigmoid outputs.

    When ``a`` was made by ``z.sigmoid()`` the loss is computed from z itself, using
    -ln a = softplus(-z) and -ln(1-a) = softplus(z), so C_x = sum_j softplus(z_j) - y_j z_j:
    finite however saturated the outputs, and
    its gradient is Nielsen's output error dC/dz = (a - y)/N, one node with z as its parent.
    Otherwise a is clipped to [1e-12, 1 - 1e-12] before taking logs.
    """
    y = _targets(y, a, "cross_entropy_loss")
    n = _batch_size(a)
    if a.op == "sigmoid":
        z = a.parents[0]
        op = _new(CrossEntropyOfZ)
        return _record(op, op.forward(z.data, a.data, y, n), z)
    if a.data.min() < 0.0 or a.data.max() > 1.0:
        raise ValueError("cross_entropy_loss: outputs a must lie in [0, 1] (sigmoid outputs)")
    op = _new(CrossEntropy)
    return _record(op, op.forward(a.data, y, n), a)


def softmax_cross_entropy(logits: Tensor, labels: Any) -> Tensor:
    r"""C = -(1/N) sum_x sum_j y_j ln softmax(z_x)_j;  dC/dz = (softmax(z) sum_j y_j - y)/N

    ``labels``: integer labels (N,) (y one-hot: dC/dz = (softmax(z) - onehot)/N) or targets
    of the logits' shape, any rows (probabilities, multi-hot, all-zero, smoothed).
    """
    if logits.ndim == 0:
        raise ValueError("softmax_cross_entropy: logits need a class axis, got a 0-d tensor")
    y = _targets(labels, logits, "softmax_cross_entropy")
    raw = labels.data if isinstance(labels, Tensor) else labels
    hard = (np.asarray(raw) if logits.ndim == 2 and np.ndim(raw) == 1 else None)
    hard = hard if hard is not None and hard.dtype.kind in "iu" else None
    op = _new(SoftmaxCrossEntropy)
    return _record(op, op.forward(logits.data, y, _batch_size(logits), hard), logits)


LOSSES: dict[str, Callable[[Tensor, Any], Tensor]] = {
    "cross_entropy": cross_entropy_loss,
    "quadratic": quadratic_loss,
    "softmax_cross_entropy": softmax_cross_entropy,
}


def loss_function(loss: str | Callable[[Tensor, Any], Tensor],
                  caller: str) -> tuple[str, Callable[[Tensor, Any], Tensor]]:
    """(name, function) for a loss named in LOSSES or given as a function loss(a, y)."""
    if callable(loss):
        return getattr(loss, "__name__", "custom"), loss
    if loss not in LOSSES:
        raise ValueError(f"{caller}: unknown loss {loss!r}; choose one of "
                         f"{', '.join(LOSSES)} or pass a function loss(a, y)")
    return loss, LOSSES[loss]
