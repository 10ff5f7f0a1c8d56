r"""Normalisation layers: BatchNorm1d (Ioffe and Szegedy 2015) and LayerNorm (Ba et al. 2016).

Each backward is one op block (forward, ``local()``, ``vjp(g)``), as in
:mod:`minigrad.tensor_ops`: y = gamma * xhat + beta with xhat = (x - mean) / sqrt(var + eps),
the mean and the (biased) variance taken over the batch (batch norm, per feature) or over the
features (layer norm, per example). The backward of the normalisation removes the mean of the
gradient over the group and its component along xhat:

    dC/dx = gamma / sqrt(var + eps) * (g - mean(g) - xhat * mean(g * xhat))

(means over the group), so a Linear bias just before a batch norm gets a gradient of exactly 0:
beta takes its role.
"""

from __future__ import annotations

import numpy as np

from minigrad.nn.module import Module
from minigrad.tensor import Tensor
from minigrad.tensor_ops import Op

__all__ = ["BatchNorm1d", "LayerNorm", "Normalise", "normalise"]


class Normalise(Op):
    r"""y = gamma * xhat + beta, xhat = (x - mean) / sqrt(var + eps) over ``axis`` (0: the
    batch, batch norm; -1: the features, layer norm); var is the biased variance.

    dC/dx = gamma / sqrt(var + eps) * (g - mean(g) - xhat * mean(g * xhat)), means over the
    axis;  dC/dgamma = sum of g * xhat,  dC/dbeta = sum of g  (over every axis but the features).
    local: (J, xhat, 1.0). J is the Jacobian of each normalised group, with the group's axis
    last: J[..., a, b] = d y_a / d x_b = gamma_j / sqrt(var + eps) * (delta_ab - 1/m - xhat_a
    xhat_b / m) (m numbers in a group; batch norm: J of shape (n, N, N), one per feature j;
    layer norm: (..., n, n), one per example, gamma_a in row a). dy/dgamma is xhat and
    dy/dbeta 1, elementwise, summed over the batch. Applied: dC/dx_b = sum_a g_a J_ab.
    """

    __slots__ = ("xhat", "inv_std", "gamma", "axis")
    name = "normalise"

    def forward(self, x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, axis: int,
                eps: float) -> np.ndarray:
        mean = x.mean(axis=axis, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=axis, keepdims=True)  # biased, as in training
        self.inv_std = 1.0 / np.sqrt(var + eps)
        self.xhat = (x - mean) * self.inv_std
        self.gamma, self.axis = gamma, axis
        return self.xhat * gamma + beta

    def local(self) -> tuple:
        xhat = np.moveaxis(self.xhat, self.axis, -1)  # (..., m): each group on the last axis
        m = xhat.shape[-1]
        scale = np.moveaxis(np.broadcast_to(self.gamma * self.inv_std, self.xhat.shape),
                            self.axis, -1)
        inner = np.eye(m) - 1.0 / m - xhat[..., :, None] * xhat[..., None, :] / m
        return (scale[..., :, None] * inner, self.xhat, 1.0)

    def vjp(self, g: np.ndarray) -> tuple:
        xhat, axis = self.xhat, self.axis
        dxhat = g * self.gamma
        dx = self.inv_std * (dxhat - dxhat.mean(axis=axis, keepdims=True)
                             - xhat * (dxhat * xhat).mean(axis=axis, keepdims=True))
        batch_axes = tuple(range(g.ndim - 1))  # every axis but the features
        needs = self.needs
        return (dx if needs[0] else None,
                (g * xhat).sum(axis=batch_axes) if needs[1] else None,
                g.sum(axis=batch_axes) if needs[2] else None)


def normalise(x: Tensor, weight: Tensor, bias: Tensor, axis: int, eps: float) -> Tensor:
    """One node: y = weight * (x - mean) / sqrt(var + eps) + bias over ``axis``, named
    ``"batch_norm"`` for axis 0 (over the batch) and ``"layer_norm"`` otherwise."""
    op = Normalise()
    op.needs = (x.requires_grad, weight.requires_grad, bias.requires_grad)
    data = op.forward(x.data, weight.data, bias.data, axis, eps)
    name = "batch_norm" if axis == 0 else "layer_norm"
    return Tensor.from_op(data, (x, weight, bias), name, Normalise.vjp, op)


def _check_size(layer: str, n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{layer}: the number of features must be a positive integer, "
                         f"got {n!r}")
    return int(n)


class BatchNorm1d(Module):
    r"""y = weight * (z - mean_B) / sqrt(var_B + eps) + bias, per feature over the batch.

    In training (``train()``, the default) the batch's mean and biased variance normalise, and
    ``running_mean`` and the *unbiased* ``running_var`` move toward them by ``momentum``
    (PyTorch's rule: r <- (1 - momentum) r + momentum * batch value); in evaluation
    (``eval()``) the running statistics normalise. Input (N, n).
    """

    def __init__(self, n: int, eps: float = 1e-5, momentum: float = 0.1,
                 dtype: type = np.float64) -> None:
        self.n = _check_size("BatchNorm1d", n)
        self.eps, self.momentum = float(eps), float(momentum)
        self.weight = Tensor(np.ones(self.n), requires_grad=True, dtype=dtype, label="gamma")
        self.bias = Tensor(np.zeros(self.n), requires_grad=True, dtype=dtype, label="beta")
        self.running_mean = Tensor(np.zeros(self.n), dtype=dtype, label="running_mean")
        self.running_var = Tensor(np.ones(self.n), dtype=dtype, label="running_var")

    def forward(self, z: Tensor) -> Tensor:
        if z.ndim != 2 or z.shape[1] != self.n:
            raise ValueError(f"BatchNorm1d({self.n}): expected input of shape (N, {self.n}), "
                             f"got {z.shape}")
        if not self.training:
            scale = self.weight / np.sqrt(self.running_var.data + self.eps)
            return (z - self.running_mean.data) * scale + self.bias
        n_batch = z.shape[0]
        if n_batch < 2:
            raise ValueError(f"BatchNorm1d({self.n}): training needs more than one example per "
                             f"batch to compute a variance, got shape {z.shape} (call eval() "
                             "to use the running statistics)")
        m = self.momentum
        mean, var = z.data.mean(axis=0), z.data.var(axis=0, ddof=1)
        self.running_mean.data = (1 - m) * self.running_mean.data + m * mean
        self.running_var.data = (1 - m) * self.running_var.data + m * var
        return normalise(z, self.weight, self.bias, 0, self.eps)

    def __repr__(self) -> str:
        return f"BatchNorm1d({self.n}, eps={self.eps:g}, momentum={self.momentum:g})"


class LayerNorm(Module):
    r"""y = weight * (x - mean) / sqrt(var + eps) + bias, over the features of each example.

    The same in training and evaluation. Input (..., n).
    """

    def __init__(self, n: int, eps: float = 1e-5, dtype: type = np.float64) -> None:
        self.n = _check_size("LayerNorm", n)
        self.eps = float(eps)
        self.weight = Tensor(np.ones(self.n), requires_grad=True, dtype=dtype, label="gamma")
        self.bias = Tensor(np.zeros(self.n), requires_grad=True, dtype=dtype, label="beta")

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 1 or x.shape[-1] != self.n:
            raise ValueError(f"LayerNorm({self.n}): expected input of shape (..., {self.n}), "
                             f"got {x.shape}")
        return normalise(x, self.weight, self.bias, -1, self.eps)

    def __repr__(self) -> str:
        return f"LayerNorm({self.n}, eps={self.eps:g})"
