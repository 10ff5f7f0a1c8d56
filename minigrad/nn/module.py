"""Module: a piece of a network that owns parameters; Sequential: modules applied in order."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

from minigrad.tensor import Tensor

__all__ = ["Module", "Sequential"]


class Module(ABC):
    """Holds parameters (Tensors with requires_grad) and sub-modules as attributes."""

    training: bool = True  # train() / eval() set it on every sub-module (batch norm reads it)

    @abstractmethod
    def forward(self, x: Tensor) -> Tensor:
        """The module's output for input ``x`` (batch first)."""

    def __call__(self, x: Any) -> Tensor:
        return self.forward(x if isinstance(x, Tensor) else Tensor(x))

    def _walk(self) -> Iterator[tuple[str, Module | Tensor]]:
        """(path, item) for this module ('') and everything it holds, Modules and Tensors, in
        definition order, depth first: the one walk of the module tree (an explicit stack).
        A module or Tensor reached twice (shared, tied) is given once, under its first path."""
        seen: set[int] = set()
        stack: list[tuple[str, Module | Tensor]] = [("", self)]
        while stack:
            path, item = stack.pop()
            if id(item) in seen:
                continue
            seen.add(id(item))
            yield path, item
            if isinstance(item, Module):
                inside: list[tuple[str, Module | Tensor]] = []
                for name, value in vars(item).items():
                    if isinstance(value, (Module, Tensor)):
                        inside.append((_join(path, name), value))
                    elif isinstance(value, (list, tuple)):
                        inside += [(_join(path, f"{name}.{i}"), child)
                                   for i, child in enumerate(value)
                                   if isinstance(child, (Module, Tensor))]
                stack += reversed(inside)  # popped in definition order

    def named_modules(self) -> Iterator[tuple[str, Module]]:
        """(path, module) for this module ('') and every sub-module, depth first in definition
        order: ``("layers.0", Linear(...))``; a shared module once, under its first path."""
        return ((path, item) for path, item in self._walk() if isinstance(item, Module))

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """(name, parameter) pairs in definition order, e.g. ``("layers.2.weight", w)``.

        Each parameter once, under its first name, whatever the module tree (a Linear used
        twice, or one Tensor held by two modules: tied weights), as PyTorch lists them; so an
        optimiser steps a tied weight once."""
        return ((prefix + path, item) for path, item in self._walk()
                if isinstance(item, Tensor) and item.requires_grad)

    def parameters(self) -> list[Tensor]:
        """Every parameter, in the order of ``named_parameters``."""
        return [p for _, p in self.named_parameters()]

    def train(self, mode: bool = True) -> Module:
        """Training mode for this module and every sub-module (``eval()``: mode False).

        Only layers that behave differently read it: ``BatchNorm1d`` uses the batch's
        statistics in training and its running ones in evaluation. Returns the module."""
        for _, module in self.named_modules():
            module.training = bool(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode for this module and every sub-module: ``train(False)``."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Forget all parameter gradients (they accumulate across backward calls)."""
        for p in self.parameters():
            p.grad = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class Sequential(Module):
    """layers[0], then layers[1], ...: the output of each is the input of the next."""

    def __init__(self, *layers: Module) -> None:
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: layer {i} is a {type(layer).__name__}, "
                                "not a Module")
        self.layers = list(layers)

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x = layer.forward(x)  # x is already a Tensor: skip __call__'s conversion
        return x

    def __getitem__(self, i: int) -> Module:
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def __repr__(self) -> str:
        inner = "\n".join(f"  ({i}): " + repr(layer).replace("\n", "\n  ")
                          for i, layer in enumerate(self.layers))
        return f"Sequential(\n{inner}\n)"
