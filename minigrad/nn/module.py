"""Module: a piece of a network that owns parameters; Sequential: modules applied in order."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

from minigrad.tensor import Tensor

__all__ = ["Module", "Sequential"]


class Module(ABC):
    """Holds parameters (Tensors with requires_grad) and sub-modules as attributes."""

    @abstractmethod
    def forward(self, x: Tensor) -> Tensor:
        """The module's output for input ``x`` (batch first)."""

    def __call__(self, x: Any) -> Tensor:
        return self.forward(x if isinstance(x, Tensor) else Tensor(x))

    def named_modules(self) -> Iterator[tuple[str, Module]]:
        """(path, module) for this module ('') and every sub-module, depth first in definition
        order: ``("layers.0", Linear(...))``. The one walk of the module tree (an explicit
        stack); a module reached twice (shared) is listed once, under its first path."""
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [("", self)]
        while stack:
            path, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield path, module
            children = []
            for name, item in vars(module).items():
                if isinstance(item, Module):
                    children.append((_join(path, name), item))
                elif isinstance(item, (list, tuple)):
                    children += [(_join(path, f"{name}.{i}"), child)
                                 for i, child in enumerate(item) if isinstance(child, Module)]
            stack += reversed(children)  # popped in definition order

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """(name, parameter) pairs in definition order, e.g. ``("layers.2.weight", w)``."""
        for path, module in self.named_modules():
            for name, item in vars(module).items():
                if isinstance(item, Tensor) and item.requires_grad:
                    yield prefix + _join(path, name), item

    def parameters(self) -> list[Tensor]:
        """Every parameter, in the order of ``named_parameters``."""
        return [p for _, p in self.named_parameters()]

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
