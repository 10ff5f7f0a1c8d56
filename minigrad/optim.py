r"""SGD with L2 weight decay: w <- w - eta (dC/dw + lambda' w), lambda' = the book's lambda/n.

The book decays weights, not biases. Pass parameter groups to do the same:

    SGD(weight_decay_groups(model, 5.0 / n_train), lr=0.1)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Real
from typing import Any

import numpy as np

from minigrad import tensor as _tensor
from minigrad.nn.module import Module
from minigrad.tensor import Tensor
from minigrad.tensor_ops import loud, nonfinite_seen, quiet

__all__ = ["SGD", "weight_decay_groups", "clip_grad_norm"]


def weight_decay_groups(model: Module, weight_decay: float) -> list[dict[str, Any]]:
    """Two groups: every weight decayed by ``weight_decay``, every bias not decayed."""
    named = list(model.named_parameters())
    return [
        {"params": [p for name, p in named if not name.endswith("bias")],
         "weight_decay": weight_decay},
        {"params": [p for name, p in named if name.endswith("bias")], "weight_decay": 0.0},
    ]


def _number(value: Any, name: str, where: str) -> float:
    """``value`` as a float, or an error naming the argument (strings, bools, arrays)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"SGD: {name} must be a number, got {type(value).__name__} {value!r}"
                        f"{where}")
    return float(value)


_add_up = np.add.reduce  # bench_mlp: ndarray.sum goes through a Python wrapper first


class SGD:
    """Plain stochastic gradient descent over Tensors or parameter groups (dicts, as PyTorch).

    ``lr`` must be a finite number > 0, ``weight_decay`` a finite number >= 0, and every
    parameter a leaf Tensor with requires_grad=True, listed once. With ``check_finite=True``
    (the default) a step whose update of some parameter is not finite (inf or NaN: a learning
    rate too large, a gradient that overflowed) raises FloatingPointError naming the parameter
    and changes no parameter. The full check runs on the first step and whenever a non-finite
    number may be about (minigrad's ops note every inf or NaN they make from finite numbers,
    and every non-finite loss), so it costs nothing on an ordinary step; a gradient set to inf
    by hand after the first step, or NaN data fed through, is not seen (``fit`` checks the loss
    of every batch).
    """

    def __init__(self, params: Iterable[Any], lr: float, weight_decay: float = 0.0,
                 check_finite: bool = True) -> None:
        if isinstance(params, Tensor):
            raise TypeError("SGD: params must be an iterable of Tensors (e.g. "
                            "model.parameters()), got a single Tensor: pass [tensor]")
        params = list(params)
        if params and isinstance(params[0], dict):
            for i, group in enumerate(params):
                if not isinstance(group, dict) or "params" not in group:
                    raise TypeError(f"SGD: parameter group {i} must be a dict with a 'params' "
                                    f"list, got {group!r}")
            groups = [{"lr": lr, "weight_decay": weight_decay, **group} for group in params]
        else:
            groups = [{"params": params, "lr": lr, "weight_decay": weight_decay}]
        seen: set[int] = set()
        for i, group in enumerate(groups):
            # Checked per group: a group's own lr or weight_decay overrides the defaults.
            where = f" (parameter group {i})" if len(groups) > 1 else ""
            lr = _number(group["lr"], "lr", where)
            if not (lr > 0 and math.isfinite(lr)):
                raise ValueError(f"SGD: lr must be positive and finite, got {group['lr']!r}"
                                 f"{where}")
            decay = _number(group["weight_decay"], "weight_decay", where)
            if not (decay >= 0 and math.isfinite(decay)):  # also rejects nan
                raise ValueError(f"SGD: weight_decay must be >= 0 and finite, got "
                                 f"{group['weight_decay']!r}{where}")
            group["params"] = list(group["params"])
            for p in group["params"]:
                if not isinstance(p, Tensor) or not p.requires_grad:
                    raise TypeError("SGD: every parameter must be a Tensor with "
                                    f"requires_grad=True, got {p!r}{where}")
                if not p.is_leaf:
                    raise ValueError(f"SGD: a parameter must be a leaf (made by Tensor(...)), "
                                     f"got the result of op '{p.op}'{where}")
                if id(p) in seen:
                    raise ValueError(f"SGD: the parameter {p.label or p.shape!r} is listed "
                                     "twice (it would be stepped twice)")
                seen.add(id(p))
        if not seen:
            raise ValueError("SGD: params is empty; pass the parameters to train "
                             "(e.g. model.parameters())")
        for group in groups:
            group["lr"], group["weight_decay"] = float(group["lr"]), float(group["weight_decay"])
            for p in group["params"]:
                if not getattr(p, "_owns", False):  # perhaps the caller's array: update a copy
                    p.data = p.data.copy()
                    p._owns = True
                if not hasattr(p, "_count"):  # a leaf made by an op, given requires_grad later
                    p._count, p._edited = 0, 0
        self.param_groups = groups
        self.check_finite = bool(check_finite)
        self._checked = False  # the first step is checked in full (gradients set by hand)

    def step(self) -> None:
        """w <- (1 - lr * weight_decay) w - lr * dC/dw, in place; skips params with no grad.

        The update works on the arrays (``p.data``) directly, so it builds no graph; each
        updated parameter's ``_version`` grows, so backward of a graph computed before the step
        is refused (its gradient would mix old and new weights). All updates are computed and
        checked (``check_finite``) before any parameter changes.
        """
        updates = []
        token = quiet()  # an overflow to inf is noted (nonfinite_seen) and checked below
        try:
            for group in self.param_groups:
                lr, decay = group["lr"], group["weight_decay"]
                shrink = 1.0 - lr * decay if decay else 0.0
                for p in group["params"]:
                    grad = p.grad
                    if grad is not None:
                        updates.append((p, shrink, lr * grad, group))
        finally:
            loud(token)
        # bench_mlp: the full check (~10 us a step) runs only when a non-finite number may be
        # about: an op or lr * grad made one from finite numbers, or a loss came out non-finite
        if self.check_finite and (nonfinite_seen[0] or not self._checked):
            for p, _, update, group in updates:
                if not math.isfinite(_add_up(update, None)) and not np.isfinite(update).all():
                    self._not_finite(p, group)
            nonfinite_seen[0] = False
            self._checked = True
        now = _tensor._edits = _tensor._edits + 1  # the edit clock (bench_mlp: no call)
        for p, shrink, update, _ in updates:
            data = p.data  # updated in place: layers keep pointing at the same array
            if shrink:
                data *= shrink
            data -= update
            p._count += 1
            p._edited = now

    @staticmethod
    def _not_finite(p: Tensor, group: dict[str, Any]) -> None:
        name = repr(p.label) if p.label else f"of shape {p.shape}"
        bad = not np.isfinite(p.grad).all()
        raise FloatingPointError(
            f"SGD.step: the update of the parameter {name} is not finite (lr={group['lr']!r}"
            + (", its gradient holds inf or NaN" if bad else ", lr * gradient overflows")
            + "); no parameter was changed. Lower the learning rate, or find where the "
            "gradient became non-finite")

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
