r"""SGD with L2 weight decay: w <- w - eta (dC/dw + lambda' w), lambda' = the book's lambda/n.

The book decays weights, not biases. Pass parameter groups to do the same:

    SGD(weight_decay_groups(model, 5.0 / n_train), lr=0.1)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from minigrad.nn.module import Module
from minigrad.tensor import Tensor

__all__ = ["SGD", "weight_decay_groups", "clip_grad_norm"]


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


def clip_grad_norm(params: Iterable[Tensor] | Tensor, max_norm: float) -> float:
    r"""Scale every gradient by min(1, max_norm / (||g|| + 1e-6)), ||g|| the norm of all of them
    together: sqrt(sum over params of ||dC/dp||^2); returns ||g|| before clipping.

    Pascanu, Mikolov and Bengio's (2013) remedy for exploding gradients, as PyTorch's
    ``torch.nn.utils.clip_grad_norm_``: the direction of the step is kept, only its length is
    capped. Parameters without a gradient are skipped. A non-finite norm (an inf or NaN in some
    gradient) is a ValueError: no scale can repair it.
    """
    params = [params] if isinstance(params, Tensor) else list(params)
    if not max_norm > 0:
        raise ValueError(f"clip_grad_norm: max_norm must be positive, got {max_norm!r}")
    with_grad = [p for p in params if isinstance(p, Tensor) and p.grad is not None]
    total = math.sqrt(sum(float(np.sum(np.square(p.grad, dtype=np.float64)))
                          for p in with_grad))
    if not math.isfinite(total):
        bad = [i for i, p in enumerate(params)
               if isinstance(p, Tensor) and p.grad is not None
               and not np.all(np.isfinite(p.grad))]
        raise ValueError(f"clip_grad_norm: the total gradient norm is {total} (not finite): "
                         f"parameter(s) {bad} hold inf or NaN gradients; lower the learning "
                         "rate or the initial weights, or clip before the gradients overflow")
    scale = min(1.0, max_norm / (total + 1e-6))
    if scale < 1.0:
        for p in with_grad:
            p.grad = p.grad * scale  # a new array: a leaf's gradient may share another's
    return total
