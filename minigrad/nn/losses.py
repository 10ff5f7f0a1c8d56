r"""Losses, each the mean over the batch of a per-example cost C_x.

- quadratic:      C_x = ||a - y||^2 / 2                          dC_x/da = a - y
- cross-entropy:  C_x = -sum_j [y_j ln a_j + (1 - y_j) ln(1 - a_j)]
                  with a = sigma(z):  dC_x/dz = a - y (the sigma' factor cancels: Nielsen ch. 3)
- softmax cross-entropy: C_x = -ln softmax(z)_label              dC_x/dz = softmax(z) - onehot
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.tensor import Tensor
from minigrad.tensor_ops import Unary, log_softmax

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
        return np.asarray(_total(_softplus(z) - y * z, None) / n, z.dtype)

    def local(self) -> tuple:
        delta = np.subtract(self.a, self.y)
        delta /= self.n
        return (delta,)


class CrossEntropy(Unary):
    r"""C = -(1/N) sum_x sum_j [y ln p + (1-y) ln(1-p)], p = a clipped to [1e-12, 1 - 1e-12].

    dC/da = (p - y) / (p (1 - p)) / N.  local: (that array, of a's shape,)
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
    r"""C = -(1/N) sum_x ln softmax(z_x)[label_x];  dC/dz = (softmax(z) - onehot)/N.

    local: (the array (softmax(z) - onehot)/N, of z's shape,)
    """

    __slots__ = ("log_s", "y", "n")
    name = "softmax_cross_entropy"
    fresh = True

    def forward(self, z: np.ndarray, y: np.ndarray, n: int) -> np.ndarray:
        log_s = log_softmax(z, -1)
        self.log_s, self.y, self.n = log_s, y, n
        return np.asarray(-(y * log_s).sum() / n, z.dtype)

    def local(self) -> tuple:
        return ((np.exp(self.log_s) - self.y) / self.n,)


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
    r"""C = -(1/N) sum_x ln softmax(z_x)[label_x];  dC/dz = (softmax(z) - onehot)/N"""
    if logits.ndim == 0:
        raise ValueError("softmax_cross_entropy: logits need a class axis, got a 0-d tensor")
    y = _targets(labels, logits, "softmax_cross_entropy")
    op = _new(SoftmaxCrossEntropy)
    return _record(op, op.forward(logits.data, y, _batch_size(logits)), logits)


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
