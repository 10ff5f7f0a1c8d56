"""Layers: Linear (z = w a + b), the activations, and a residual connection."""

from __future__ import annotations

import numpy as np

from minigrad import names
from minigrad.nn.init import initialise
from minigrad.nn.module import Module
from minigrad.tensor import Tensor, linear

__all__ = ["Linear", "Sigmoid", "Tanh", "ReLU", "Residual", "ACTIVATIONS", "make_rng"]


def make_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    """A numpy Generator from a seed, a Generator, or None (seed 0: reproducible by default)."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(0 if rng is None else rng)


class Linear(Module):
    """z = a @ weight^T + bias, PyTorch's layout: weight (n_out, n_in), bias (n_out,)."""

    def __init__(self, n_in: int, n_out: int, init: str = "nielsen",
                 rng: np.random.Generator | int | None = None, dtype: type = np.float64) -> None:
        for name, n in (("n_in", n_in), ("n_out", n_out)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"Linear: {name} must be a positive integer, got {n!r}")
        w, b = initialise(init, int(n_in), int(n_out), make_rng(rng))
        self.weight = Tensor(w, requires_grad=True, dtype=dtype, label="w")
        self.bias = Tensor(b, requires_grad=True, dtype=dtype, label="b")
        self.n_in, self.n_out, self.init = int(n_in), int(n_out), init

    def forward(self, a: Tensor) -> Tensor:
        return linear(a, self.weight, self.bias)  # (N, n_in) -> (N, n_out)

    def __repr__(self) -> str:
        return f"Linear({self.n_in}, {self.n_out}, init={self.init!r})"


class Sigmoid(Module):
    """a = sigma(z) elementwise."""

    op = "sigmoid"  # the op its node carries: its row of names.ACTIVATIONS

    def forward(self, z: Tensor) -> Tensor:
        return z.sigmoid()


class Tanh(Module):
    """a = tanh(z) elementwise."""

    op = "tanh"

    def forward(self, z: Tensor) -> Tensor:
        return z.tanh()


class ReLU(Module):
    """a = max(0, z) elementwise."""

    op = "relu"

    def forward(self, z: Tensor) -> Tensor:
        return z.relu()


class Residual(Module):
    """a + f(a): the identity path carries the gradient past f unchanged (He et al. 2016)."""

    def __init__(self, inner: Module) -> None:
        self.inner = inner

    def forward(self, a: Tensor) -> Tensor:
        return a + self.inner(a)

    def __repr__(self) -> str:
        return f"Residual({self.inner!r})"


# The activation modules, by the op of the one activation table (names.ACTIVATIONS): a module
# for every row of it, keyed the same way.
ACTIVATIONS: dict[str, type[Module]] = {
    names.ACTIVATIONS[module.op].op: module for module in (Sigmoid, Tanh, ReLU)}
