"""Networks: Module, Linear, the activations, Sequential, mlp(), initialisations, losses,
normalisation layers and recurrent cells."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from minigrad.nn.init import SCHEMES, initialise
from minigrad.nn.layers import ACTIVATIONS, Linear, ReLU, Residual, Sigmoid, Tanh, make_rng
from minigrad.nn.losses import (
    LOSSES,
    cross_entropy_loss,
    loss_function,
    quadratic_loss,
    softmax_cross_entropy,
)
from minigrad.nn.module import Module, Sequential
from minigrad.nn.norms import BatchNorm1d, LayerNorm
from minigrad.nn.recurrent import LSTMCell, RNNCell

__all__ = [
    "Module", "Sequential", "Linear", "Sigmoid", "Tanh", "ReLU", "Residual", "mlp",
    "quadratic_loss", "cross_entropy_loss", "softmax_cross_entropy", "initialise", "SCHEMES",
    "ACTIVATIONS", "LOSSES", "loss_function", "BatchNorm1d", "LayerNorm", "RNNCell", "LSTMCell",
]


def mlp(sizes: Sequence[int], activation: str = "sigmoid", init: str = "nielsen",
        seed: int | np.random.Generator | None = 0, dtype: type = np.float64,
        output_activation: str | None = None) -> Sequential:
    """The book's net: Linear then activation for every layer, the output layer included.

    ``mlp([784, 30, 30, 10])`` has layers ``0: Linear(784, 30), 1: Sigmoid, 2: Linear(30, 30),
    ...``; parameters are named ``layers.0.weight``, ``layers.0.bias``, ``layers.2.weight``, ...
    ``output_activation`` (default: ``activation``) sets the last layer's: e.g. a tanh net
    with a sigmoid output, whose outputs the cross-entropy cost needs in [0, 1].
    """
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
        raise TypeError(f"mlp: sizes must be a list of layer sizes, input first, e.g. "
                        f"[784, 30, 10], got {type(sizes).__name__} {sizes!r}")
    sizes = list(sizes)
    for n in sizes:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"mlp: every size must be a positive integer, got {n!r} in "
                             f"{sizes}")
    output_activation = activation if output_activation is None else output_activation
    if len(sizes) < 2:
        raise ValueError(f"mlp: needs at least an input and an output size, got {sizes}")
    for name in (activation, output_activation):
        if name not in ACTIVATIONS:
            raise ValueError(f"mlp: unknown activation {name!r}; choose one of "
                             f"{', '.join(ACTIVATIONS)}")
    if init not in SCHEMES:
        raise ValueError(f"mlp: unknown init {init!r}; choose one of {', '.join(SCHEMES)}")
    rng = make_rng(seed)
    layers: list[Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), 1):
        layers += [Linear(n_in, n_out, init=init, rng=rng, dtype=dtype),
                   ACTIVATIONS[output_activation if i == len(sizes) - 1 else activation]()]
    return Sequential(*layers)
