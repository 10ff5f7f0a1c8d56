"""gradcheck: compare backward() with central finite differences, in float64, element by element.

    df/dx_i ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)        (error O(eps^2))

The check passes when |analytic - numeric| <= atol + rtol * |numeric| for every element of every
input; otherwise it raises :class:`GradcheckError` naming the input, the element and both numbers.
The inputs themselves are never touched: the check runs on float64 copies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.engine import Node, no_grad
from minigrad.tensor import Tensor
from minigrad.value import Value

__all__ = ["gradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """backward() and the finite differences disagree; the message says where and by how much."""


def gradcheck(f: Callable[..., Node], *inputs: Any, eps: float = 1e-6, atol: float = 1e-6,
              rtol: float = 1e-4, seed: int = 0) -> bool:
    """True if the gradients of ``f(*inputs)`` match central differences; else GradcheckError.

    Inputs that are Values or Tensors are checked (every element); other arguments are passed
    through unchanged. A Tensor output that is not one number is reduced to sum(out * r) with a
    fixed random r, which checks the whole vector-Jacobian product.
    """
    copies = [_float64_copy(x) for x in inputs]
    checked = [i for i, x in enumerate(copies) if isinstance(x, Node)]
    if not checked:
        raise TypeError("gradcheck: no input is a Value or Tensor, so there is nothing to check")

    output = f(*copies)
    weights = _output_weights(output, seed)
    if isinstance(output, Value):
        output.backward()
    else:
        output.backward(gradient=weights)

    def scalar_f() -> float:
        with no_grad():
            out = f(*copies)
        return float(out.data) if weights is None else float((out.data * weights).sum())

    for i in checked:
        x = copies[i]
        analytic = np.zeros(np.shape(x.data)) if x.grad is None else np.asarray(x.grad, float)
        if analytic.shape != np.shape(x.data):
            raise GradcheckError(
                f"gradcheck: input {i}{f' ({x.label!r})' if x.label else ''}: backward gives a "
                f"gradient of shape {analytic.shape}, the input has shape {np.shape(x.data)} "
                "(a backward rule that does not sum over broadcast axes?)")
        numeric = _central_difference(scalar_f, x, eps)
        bad = ~(np.abs(analytic - numeric) <= atol + rtol * np.abs(numeric))
        if bad.any():
            raise GradcheckError(_report(i, x, analytic, numeric, bad))
    return True


def _float64_copy(x: Any) -> Any:
    """A fresh float64 leaf with the same numbers, so the check cannot change the input."""
    if isinstance(x, Value):
        return Value(x.data, label=x.label)
    if isinstance(x, Tensor):
        return Tensor(np.array(x.data, dtype=np.float64), requires_grad=True, label=x.label)
    return x


def _output_weights(output: Any, seed: int) -> np.ndarray | None:
    """None for a scalar output; for a Tensor, the fixed random r of sum(out * r)."""
    if isinstance(output, Value):
        return None
    if not isinstance(output, Tensor):
        raise TypeError(f"gradcheck: f must return a Value or Tensor, got {type(output).__name__}")
    if not output.requires_grad:
        raise TypeError("gradcheck: f's output does not depend on any checked input")
    if output.data.size == 1:
        return np.ones(output.shape)
    return np.random.default_rng(seed).standard_normal(output.shape)


def _central_difference(scalar_f: Callable[[], float], x: Node, eps: float) -> np.ndarray:
    """(f(x + eps e_i) - f(x - eps e_i)) / (2 eps) for every element i of x."""
    if isinstance(x, Value):
        start = x.data
        x.data = start + eps
        plus = scalar_f()
        x.data = start - eps
        minus = scalar_f()
        x.data = start
        return np.asarray((plus - minus) / (2 * eps))
    flat = x.data.reshape(-1)  # a view: writing to it moves x
    numeric = np.zeros(flat.shape)
    for i in range(flat.size):
        start = flat[i]
        flat[i] = start + eps
        plus = scalar_f()
        flat[i] = start - eps
        minus = scalar_f()
        flat[i] = start
        numeric[i] = (plus - minus) / (2 * eps)
    return numeric.reshape(x.data.shape)


def _report(i: int, x: Node, analytic: np.ndarray, numeric: np.ndarray, bad: np.ndarray) -> str:
    """Which input and element differ most, with both numbers, and how many elements differ."""
    name = f"input {i}" + (f" ({x.label!r})" if x.label else "")
    gap = np.where(bad, np.abs(analytic - numeric), -1.0)
    worst = np.unravel_index(int(np.argmax(gap)), np.shape(gap)) if np.ndim(gap) else ()
    where = f" element {tuple(int(k) for k in worst)}" if worst else ""
    message = (f"gradcheck: {name}{where}: backward gives {float(analytic[worst])!r}, "
               f"finite differences give {float(numeric[worst])!r}")
    if x.grad is None:
        message += " (backward never reached this input: the graph treats it as a constant)"
    if bad.size > 1:
        message += f"; {int(bad.sum())} of {bad.size} elements differ"
    return message
