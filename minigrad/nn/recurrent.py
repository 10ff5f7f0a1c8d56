r"""Recurrent cells, PyTorch's layout: RNNCell and LSTMCell, one time step per call.

Unroll them in a plain Python loop; backward then runs through every step (the engine's walk
is iterative, so a thousand steps are no problem)::

    cell = nn.RNNCell(1, 8)
    h = None
    for x_t in xs:           # xs: (T, N, n_in)
        h = cell(x_t, h)     # h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)

dC/dh_{t-1} = (dC/dh_t * f'(z_t)) W_hh: the chapter's product, with time steps in place of
layers (Hochreiter 1991; Bengio, Simard, Frasconi 1994).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.nn.layers import make_rng
from minigrad.nn.module import Module
from minigrad.tensor import Tensor, linear

__all__ = ["RNNCell", "LSTMCell", "RNN_ACTIVATIONS"]

RNN_ACTIVATIONS = ("tanh", "sigmoid", "relu")  # RNNCell's activations (PyTorch: tanh, relu)


def _size(cell: str, name: str, n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{cell}: {name} must be a positive integer, got {n!r}")
    return int(n)


def _uniform(rng: np.random.Generator, shape: tuple[int, ...], n_hidden: int) -> np.ndarray:
    """PyTorch's initialisation of every recurrent parameter: U(-1/sqrt(H), 1/sqrt(H))."""
    bound = 1.0 / np.sqrt(n_hidden)
    return rng.uniform(-bound, bound, size=shape)


class _Cell(Module):
    """weight_ih (G H, n_in), weight_hh (G H, H), bias_ih, bias_hh (G H,): G gate blocks."""

    gates = 1

    def __init__(self, n_in: int, n_hidden: int, rng: np.random.Generator | int | None,
                 dtype: type) -> None:
        kind = type(self).__name__
        self.n_in, self.n_hidden = _size(kind, "n_in", n_in), _size(kind, "n_hidden", n_hidden)
        rng = make_rng(rng)
        rows = self.gates * self.n_hidden
        shapes = {"weight_ih": (rows, self.n_in), "weight_hh": (rows, self.n_hidden),
                  "bias_ih": (rows,), "bias_hh": (rows,)}
        for name, shape in shapes.items():  # PyTorch's order, so named_parameters() agrees
            setattr(self, name, Tensor(_uniform(rng, shape, self.n_hidden),
                                       requires_grad=True, dtype=dtype, label=name))

    def _zeros(self, x: Tensor) -> Tensor:
        return Tensor(np.zeros(x.shape[:-1] + (self.n_hidden,), dtype=self.weight_hh.dtype))

    def _input(self, x: Any) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x, dtype=self.weight_ih.dtype)
        if x.ndim not in (1, 2) or x.shape[-1] != self.n_in:
            raise ValueError(f"{type(self).__name__}: x_t must have shape (N, {self.n_in}) or "
                             f"({self.n_in},), got {x.shape}")
        return x

    def _check_state(self, state: Tensor, x: Tensor, name: str) -> Tensor:
        state = state if isinstance(state, Tensor) else Tensor(state, dtype=x.dtype)
        expected = x.shape[:-1] + (self.n_hidden,)
        if state.shape != expected:
            raise ValueError(f"{type(self).__name__}: {name} must have shape {expected} for "
                             f"x_t of shape {x.shape}, got {state.shape}")
        return state

    def _preactivation(self, x: Tensor, h: Tensor) -> Tensor:
        """x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh: (N, G H)."""
        return linear(x, self.weight_ih, self.bias_ih) + linear(h, self.weight_hh, self.bias_hh)


class RNNCell(_Cell):
    r"""h_t = f(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), f = tanh (or sigmoid, relu).

    ``cell(x_t, h)`` with x_t (N, n_in) or (n_in,), h (N, n_hidden) or None (zeros); returns
    h_t. Parameters as PyTorch's ``torch.nn.RNNCell``: ``weight_ih`` (n_hidden, n_in),
    ``weight_hh`` (n_hidden, n_hidden), ``bias_ih``, ``bias_hh`` (n_hidden,), each drawn from
    U(-1/sqrt(n_hidden), 1/sqrt(n_hidden)).
    """

    def __init__(self, n_in: int, n_hidden: int, activation: str = "tanh",
                 rng: np.random.Generator | int | None = None, dtype: type = np.float64) -> None:
        if activation not in RNN_ACTIVATIONS:
            raise ValueError(f"RNNCell: unknown activation {activation!r}; choose one of "
                             f"{', '.join(RNN_ACTIVATIONS)}")
        super().__init__(n_in, n_hidden, rng, dtype)
        self.activation = activation

    def forward(self, x: Any, h: Any = None) -> Tensor:  # type: ignore[override]
        x = self._input(x)
        h = self._zeros(x) if h is None else self._check_state(h, x, "h")
        return getattr(self._preactivation(x, h), self.activation)()

    def __call__(self, x: Any, h: Any = None) -> Tensor:  # type: ignore[override]
        return self.forward(x, h)

    def __repr__(self) -> str:
        return f"RNNCell({self.n_in}, {self.n_hidden}, activation={self.activation!r})"


class LSTMCell(_Cell):
    r"""The LSTM (Hochreiter and Schmidhuber 1997) with a forget gate (Gers et al. 2000).

    i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of the four blocks of
    x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh (PyTorch's order: input, forget, cell, output);
    c_t = f * c_{t-1} + i * g,  h_t = o * tanh(c_t). Along the cell path dc_t/dc_{t-1} = f:
    with forget gates near 1 the error is carried back almost unchanged.

    ``cell(x_t, (h, c))`` (or ``cell(x_t)``: zeros) returns ``(h_t, c_t)``. Parameters as
    PyTorch's ``torch.nn.LSTMCell``: ``weight_ih`` (4 n_hidden, n_in), ``weight_hh``
    (4 n_hidden, n_hidden), ``bias_ih``, ``bias_hh`` (4 n_hidden,), rows in the order i, f, g, o.
    """

    gates = 4

    def __init__(self, n_in: int, n_hidden: int, rng: np.random.Generator | int | None = None,
                 dtype: type = np.float64) -> None:
        super().__init__(n_in, n_hidden, rng, dtype)

    def forward(self, x: Any, state: tuple[Any, Any] | None = None  # type: ignore[override]
                ) -> tuple[Tensor, Tensor]:
        x = self._input(x)
        if state is None:
            h = c = self._zeros(x)
        else:
            if not isinstance(state, tuple) or len(state) != 2:
                raise TypeError("LSTMCell: the state must be a tuple (h, c), got "
                                f"{type(state).__name__}")
            h, c = self._check_state(state[0], x, "h"), self._check_state(state[1], x, "c")
        n = self.n_hidden
        gates = self._preactivation(x, h)  # (N, 4 H): i, f, g, o
        i = gates[..., :n].sigmoid()
        f = gates[..., n:2 * n].sigmoid()
        g = gates[..., 2 * n:3 * n].tanh()
        o = gates[..., 3 * n:].sigmoid()
        c = f * c + i * g
        return o * c.tanh(), c

    def __call__(self, x: Any, state: tuple[Any, Any] | None = None  # type: ignore[override]
                 ) -> tuple[Tensor, Tensor]:
        return self.forward(x, state)

    def __repr__(self) -> str:
        return f"LSTMCell({self.n_in}, {self.n_hidden})"
