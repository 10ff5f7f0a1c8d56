r"""SGD with L2 weight decay: w <- w - eta (dC/dw + lambda' w), lambda' = the book's lambda/n.

The book decays weights, not biases. Pass parameter groups to do the same:

    SGD(weight_decay_groups(model, 5.0 / n_train), lr=0.1)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from minigrad.nn.module import Module
from minigrad.tensor import Tensor

__all__ = ["SGD", "weight_decay_groups"]


def weight_decay_groups(model: Module, weight_decay: float) -> list[dict[str, Any]]:
    """Two groups: every weight decayed by ``weight_decay``, every bias not decayed."""
    named = list(model.named_parameters())
    return [
        {"params": [p for name, p in named if not name.endswith("bias")],
         "weight_decay": weight_decay},
        {"params": [p for name, p in named if name.endswith("bias")], "weight_decay": 0.0},
    ]


class SGD:
    """Plain stochastic gradient descent over Tensors or parameter groups (dicts, as PyTorch)."""

    def __init__(self, params: Iterable[Any], lr: float, weight_decay: float = 0.0) -> None:
        params = list(params)
        if params and isinstance(params[0], dict):
            for i, group in enumerate(params):
                if not isinstance(group, dict) or "params" not in group:
                    raise TypeError(f"SGD: parameter group {i} must be a dict with a 'params' "
                                    f"list, got {group!r}")
            groups = [{"lr": lr, "weight_decay": weight_decay, **group} for group in params]
        else:
            groups = [{"params": params, "lr": lr, "weight_decay": weight_decay}]
        for group in groups:
            # Checked per group: a group's own lr or weight_decay overrides the defaults.
            if not group["lr"] > 0:
                raise ValueError(f"SGD: lr must be positive, got {group['lr']!r}")
            if not group["weight_decay"] >= 0:  # also rejects nan
                raise ValueError(f"SGD: weight_decay must be >= 0, got "
                                 f"{group['weight_decay']!r}")
            group["params"] = list(group["params"])
            for p in group["params"]:
                if not isinstance(p, Tensor) or not p.requires_grad:
                    raise TypeError("SGD: every parameter must be a Tensor with "
                                    f"requires_grad=True, got {p!r}")
        self.param_groups = groups

    def step(self) -> None:
        """w <- (1 - lr * weight_decay) w - lr * dC/dw, in place; skips params with no grad.

        The update works on the arrays (``p.data``) directly, so it builds no graph.
        """
        for group in self.param_groups:
            lr, decay = group["lr"], group["weight_decay"]
            shrink = 1.0 - lr * decay
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                data = p.data  # updated in place: layers keep pointing at the same array
                if decay:
                    data *= shrink
                data -= lr * grad

    def zero_grad(self) -> None:
        """Forget every parameter's gradient."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None
