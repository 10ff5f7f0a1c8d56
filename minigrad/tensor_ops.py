r"""The array ops of :class:`~minigrad.Tensor`, each one block: forward, local derivative, VJP.

An op is a small class. ``forward`` computes the result from the inputs' arrays and keeps what
backward needs under a name (``self.s``, ``self.w``); ``local()`` describes d out/d input, one
entry per input: the number, array or Jacobian that traces and pictures show; ``vjp(g)`` turns
the upstream gradient g = dC/d out into one contribution dC/d input per input (None for an input
that needs no gradient, as ``needs[i]`` says). The formula is the class's docstring.

The description and the VJP cannot drift apart:

- an elementwise op (:class:`Elementwise`) has a diagonal Jacobian, so it defines ``forward`` and
  ``local`` only, and its VJP is computed from ``local()`` by shared code: dC/da = local_a * g,
  summed back over the axes that broadcasting stretched (:func:`unbroadcast`);
- every other op's ``local()`` says in its docstring how it is applied to g (softmax gives its
  full per-row Jacobian, ``linear`` the (w, x, 1) of Nielsen's three products, ``sum`` its factor
  1), and ``tests/test_tensor_ops.py`` applies each description to random upstream gradients and
  checks that it gives the VJP.

The engine sees an op as a node's ``_ctx`` with its class's ``vjp`` as the node's ``_rule``
(``rule(ctx, g)`` is then ``ctx.vjp(g)``). An op keeps arrays, never the node it belongs to, so a
graph holds no reference cycles. This module is numpy only: :mod:`minigrad.tensor` makes the
nodes. Your own op can be written the same way and recorded with
``Tensor.from_op(data, parents, "name", MyOp.vjp, op)``; ``local_derivatives()`` then returns
``op.local()``.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

import numpy as np

__all__ = [
    "quietly", "unbroadcast", "Op", "Elementwise", "Unary", "Given",
    "Neg", "Exp", "Log", "Tanh", "Sigmoid", "Relu",
    "Add", "Sub", "Mul", "Div", "Pow",
    "Sum", "Mean", "Max", "Reshape", "Transpose", "Index",
    "Matmul", "Linear", "Softmax", "LogSoftmax",
]

_FLOATS = (np.float64, np.float32)

# IEEE results without numpy's RuntimeWarnings: overflow to inf, and inf - inf or 0 * inf giving
# NaN, are the exact float answers, so the ops that can meet them compute with numpy's
# "over" and "invalid" warnings off (division by zero stays loud: no op divides by zero).
# Instead of a warning, numpy calls ``_saw``, which notes that a non-finite number was made:
# SGD.step then checks its updates in full (only then: a full check costs ~10 us a step).
# bench_mlp: np.errstate costs ~0.8 us a call and linear needs it on every forward; setting
# numpy's own context variable directly (what errstate does inside) costs ~0.15 us.
nonfinite_seen = [False]  # set when an op made an inf or NaN from finite numbers


def _saw(kind: str, flag: int) -> None:
    nonfinite_seen[0] = True


try:
    from numpy._core._ufunc_config import _extobj_contextvar, _make_extobj

    # quiet(): turn numpy's overflow and invalid-value warnings off; loud(token) undoes it.
    # bench_mlp: a partial of the context variable's set is a C call, not a Python frame (seven
    # calls a training step)
    quiet = functools.partial(_extobj_contextvar.set,
                              _make_extobj(over="call", invalid="call", call=_saw))
    # silent(): the same without noting a non-finite number, for an op whose inf or NaN is an
    # intermediate it mends itself (the sigmoid's e^-z): SGD.step need not check in full
    silent = functools.partial(_extobj_contextvar.set,
                               _make_extobj(over="ignore", invalid="ignore"))
    loud = _extobj_contextvar.reset
except ImportError:  # another numpy: the public (slower) way
    def quiet() -> Any:
        """Turn numpy's overflow and invalid-value warnings off; ``loud(token)`` undoes it."""
        state = np.errstate(over="call", invalid="call", call=_saw)
        state.__enter__()
        return state

    def silent() -> Any:
        """``quiet()`` without noting a non-finite number (an op that mends its own)."""
        state = np.errstate(over="ignore", invalid="ignore")
        state.__enter__()
        return state

    def loud(token: Any) -> None:
        token.__exit__(None, None, None)


def quietly(function: Any, *args: Any, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)`` with numpy's overflow and invalid-value warnings off (the
    IEEE results: inf, NaN), as :func:`quiet` and :func:`loud` around it."""
    token = quiet()
    try:
        return function(*args, **kwargs)
    finally:
        loud(token)


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` over the axes that broadcasting added or stretched, back to ``shape``."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1)
    return grad.sum(axis=axes, keepdims=True).reshape(shape)


def _times(local: Any, g: np.ndarray) -> np.ndarray:
    """local * g, without a copy when the local derivative is the number 1."""
    # type() first: an array's == would be elementwise; only the Python number 1.0 is skipped
    return g if type(local) is float and local == 1.0 else local * g


class Op:
    """One op: ``forward(*arrays)``, ``local()`` (d out/d input per input) and ``vjp(g)``.

    ``needs[i]``: whether input i needs a gradient (its ``requires_grad``), set before forward.
    """

    __slots__ = ("needs",)
    name: ClassVar[str] = "op"
    # Which inputs' arrays the op keeps for backward: changing one of them in place between
    # the forward and backward would change the gradient (checked by Tensor's version counter).
    saves: ClassVar[tuple[int, ...]] = ()

    def local(self) -> tuple:
        """d out/d input, one entry per input, as the subclass's docstring describes it."""
        raise NotImplementedError

    def vjp(self, g: np.ndarray) -> tuple:
        """dC/d input for each input (None where not needed), from g = dC/d out."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} op>"


# ---- elementwise ops: the VJP is the local derivative times g -------------------------------
class Elementwise(Op):
    r"""out_k = f(a_k, b_k, ...): each output number depends on the inputs' numbers at the same
    place, so the Jacobian is diagonal and ``local()`` is that diagonal, one array (or number)
    per input that broadcasts with the output. The VJP, shared by every elementwise op:

        dC/da = unbroadcast(local_a * g, a.shape)

    (an input that broadcasting stretched collects one contribution per use: the sum).
    """

    __slots__ = ("shapes",)  # each input's shape, which its contribution is summed back to

    def vjp(self, g: np.ndarray) -> tuple:
        return tuple(unbroadcast(_times(local, g), shape) if need else None
                     for local, shape, need in zip(self.local(), self.shapes, self.needs))


class Unary(Elementwise):
    """An elementwise op of one input: dC/da = local * g (the output has a's shape).

    ``fresh = True`` says that ``local()`` makes its arrays anew on each call, so the VJP may
    multiply them by g in place.
    """

    __slots__ = ()
    fresh: ClassVar[bool] = False

    def vjp(self, g: np.ndarray) -> tuple:
        # bench_mlp: one input, so no zip and no unbroadcast; in place when local() is fresh
        (local,) = self.local()
        if self.fresh:
            local *= g
            return (local,)
        return (_times(local, g),)


class Given(Unary):
    r"""A one-input op whose local derivative is given (``Tensor.from_local``); dC/da = local * g.

    local: (the given array or number,), which broadcasts with g to a's shape: an elementwise
    op's diagonal, or, for an op that makes one number from a whole array, dC/da itself.
    """

    __slots__ = ("derivative",)
    name = "given"

    def forward(self, data: np.ndarray, derivative: Any) -> np.ndarray:
        self.derivative = derivative
        return data

    def local(self) -> tuple:
        return (self.derivative,)


class Neg(Unary):
    r"""-a;  d/da = -1.  local: (-1.0,)"""

    __slots__ = ()
    name = "neg"

    def forward(self, a: np.ndarray) -> np.ndarray:
        return -a

    def local(self) -> tuple:
        return (-1.0,)


class Exp(Unary):
    r"""e^a;  d/da = e^a.  local: (the output e^a,), inf past a = 709.78 in float64, no warning"""

    __slots__ = ("out",)
    name = "exp"

    def forward(self, a: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            self.out = np.exp(a)
        return self.out

    def local(self) -> tuple:
        return (self.out,)

    def vjp(self, g: np.ndarray) -> tuple:
        return quietly(Unary.vjp, self, g)  # e^a * g may overflow to inf: the IEEE answer


class Log(Unary):
    r"""ln a (every a > 0; NaN propagates);  d/da = 1/a.  local: (the array 1/a,)"""

    __slots__ = ("a",)
    name = "log"
    fresh = True
    saves = (0,)

    def forward(self, a: np.ndarray) -> np.ndarray:
        if (a <= 0).any():
            raise ValueError(f"Tensor log: needs positive numbers, got {a[a <= 0].flat[0]!r} "
                             f"(shape {a.shape})")
        self.a = a
        return np.log(a)

    def local(self) -> tuple:
        return (np.divide(1.0, self.a),)

    def vjp(self, g: np.ndarray) -> tuple:
        return quietly(Unary.vjp, self, g)  # g / a may overflow to inf for a tiny a


class Tanh(Unary):
    r"""tanh a;  d/da = 1 - tanh^2 a.  local: (the array 1 - t^2,) from the saved output t"""

    __slots__ = ("t",)
    name = "tanh"
    fresh = True  # the derivative is computed in backward, only for the nodes it reaches

    def forward(self, a: np.ndarray) -> np.ndarray:
        self.t = np.tanh(a)
        return self.t

    def local(self) -> tuple:
        t = self.t
        return (1.0 - t * t,)


_QUARTER = {dtype: dtype(0.25) for dtype in _FLOATS}
# bench_mlp: above this many numbers reciprocal's loop costs more than divide's (batch 1000)
_BIG = 4096


class Sigmoid(Unary):
    r"""sigma(z) = 1/(1 + e^-z);  sigma'(z) = sigma(z)(1 - sigma(z)) = e^-z sigma(z)^2.

    local: (the array sigma'(z), of z's shape,), computed in backward from the saved e^-z and
    sigma, only for the sigmoid nodes backward reaches. 1 - sigma is taken as e^-z sigma, so
    sigma' keeps its digits where sigma rounds to 1 (z > 37: the textbook sigma(1 - sigma) is
    0 there), and it is clamped at its ceiling 1/4 (rounding near z = 0 could land one ulp
    above). Far below zero (z under -709 in float64, -88 in float32, and z = -inf) e^-z is inf
    and sigma = 1/(1 + inf) is 0, the IEEE answer, computed with numpy's overflow warning off;
    there sigma' = inf * 0 * 0 comes out NaN and is mended to its value, 0.
    """

    __slots__ = ("e", "s")  # e^-z (inf where it overflows) and sigma(z)
    name = "sigmoid"
    fresh = True

    def forward(self, z: np.ndarray) -> np.ndarray:
        e = np.asarray(np.negative(z))  # (a 0-d z gives a numpy scalar: made an array)
        token = silent()  # bench_mlp: no search for saturated z; e^-z overflows to inf, silently
        try:
            np.exp(e, out=e)  # e^-z built in place, one array
            s = np.asarray(e + 1.0)
            if s.size > _BIG:  # bench_mlp (batch 1000): divide has a SIMD loop, reciprocal not
                np.divide(1.0, s, out=s)
            else:  # bench_mlp (batch 10): reciprocal is the cheaper call (the same numbers)
                np.reciprocal(s, out=s)  # 1/inf = 0: sigma of a very negative z
        finally:
            loud(token)
        self.e, self.s = e, s
        return s

    def local(self) -> tuple:
        s, e = self.s, self.e
        token = silent()  # inf * 0 where e^-z overflowed: NaN, mended below
        try:
            local = np.asarray(e * s)  # 1 - sigma, then in place
            local *= s
        finally:
            loud(token)
        quarter = _QUARTER[s.dtype.type]
        # bench_mlp: mend only when needed, found with argmax (np.minimum with a number has no
        # SIMD loop, slow at batch 1000): argmax picks a NaN, and a number above 1/4
        if not local.flat[local.argmax()] <= quarter:
            local[np.isinf(e)] = 0.0  # e^-z overflowed where sigma is 0: sigma' is 0 there
            np.minimum(local, quarter, out=local)  # a NaN z keeps its NaN
        return (local,)


class Relu(Unary):
    r"""max(0, a) (NaN stays NaN);  d/da = 1 where a > 0, else 0.  local: (that 0/1 array,)"""

    __slots__ = ("a",)
    name = "relu"
    fresh = True
    saves = (0,)

    def forward(self, a: np.ndarray) -> np.ndarray:
        self.a = a
        return np.maximum(a, 0.0)

    def local(self) -> tuple:
        a = self.a
        return ((a > 0).astype(a.dtype),)


class Binary(Elementwise):
    """An elementwise op of two inputs with numpy broadcasting: forward saves both shapes."""

    __slots__ = ()

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.shapes = (a.shape, b.shape)
        return quietly(self.compute, a, b)  # overflow to inf, inf - inf = NaN: IEEE results

    def vjp(self, g: np.ndarray) -> tuple:
        return quietly(Elementwise.vjp, self, g)  # local * g may overflow, inf * 0 is NaN

    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class Add(Binary):
    r"""a + b;  d/da = 1, d/db = 1.  local: (1.0, 1.0)"""

    __slots__ = ()
    name = "+"

    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a + b

    def local(self) -> tuple:
        return (1.0, 1.0)


class Sub(Binary):
    r"""a - b;  d/da = 1, d/db = -1.  local: (1.0, -1.0)"""

    __slots__ = ()
    name = "-"

    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a - b

    def local(self) -> tuple:
        return (1.0, -1.0)


class Mul(Binary):
    r"""a * b;  d/da = b, d/db = a.  local: (b, a), the other input's array"""

    __slots__ = ("a", "b")
    name = "*"
    saves = (0, 1)

    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        return a * b

    def local(self) -> tuple:
        return (self.b, self.a)


class Div(Binary):
    r"""a / b (no b = 0);  d/da = 1/b, d/db = -a/b^2.  local: (1/b, -out/b)"""

    __slots__ = ("b", "out")
    name = "/"
    saves = (1,)

    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if not b.all():
            raise ZeroDivisionError(f"Tensor /: division by zero in the divisor of shape "
                                    f"{b.shape}")
        self.b, self.out = b, a / b
        return self.out

    def local(self) -> tuple:
        return (1.0 / self.b, -self.out / self.b)


class Pow(Binary):
    r"""a ** b;  d/da = b a^(b-1), d/db = a^b ln a.

    local: (b a^(b-1), a^b ln a), the second None when b needs no gradient (then a may be
    negative, with b whole numbers). d/da at a = 0 is 0 for b = 0 and inf for 0 < b < 1.
    """

    __slots__ = ("a", "b", "out")
    name = "**"
    saves = (0, 1)

    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if (a < 0).any() and not (b == np.round(b)).all():
            raise ValueError("Tensor **: negative base to a non-integer power")
        with np.errstate(divide="raise", invalid="ignore", over="ignore"):
            try:
                out = a**b
            except FloatingPointError:
                raise ZeroDivisionError("Tensor **: 0 raised to a negative power") from None
        if self.needs[1] and not (a > 0).all():
            raise ValueError("Tensor **: the gradient with respect to the exponent needs a "
                             "positive base (d/db a^b = a^b ln a)")
        self.a, self.b, self.out = a, b, out
        return out

    def local(self) -> tuple:
        a, b = self.a, self.b
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # a = 0, 0 <= b < 1
            da = np.where(b == 0, 0.0, b * a ** (b - 1.0)) if not a.all() else b * a ** (b - 1.0)
        return (da, self.out * np.log(a) if self.needs[1] else None)


# ---- reductions -------------------------------------------------------------------------------
class Sum(Op):
    r"""out = sum_i a_i over ``axes``;  d out_j/d a_i = 1 for each a_i summed into out_j.

    local: (1.0,), the factor every input number gets (Mean: 1/n). Applied: g is copied back
    over the summed axes and multiplied by it.
    """

    __slots__ = ("shape", "axes", "keepdims", "scale")
    name = "sum"

    def forward(self, a: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
        self.shape, self.axes, self.keepdims, self.scale = a.shape, axes, keepdims, 1.0
        # a sum may overflow to inf, and inf + (-inf) is NaN: IEEE results
        return np.asarray(quietly(a.sum, axis=axes, keepdims=keepdims))

    def local(self) -> tuple:
        return (self.scale,)

    def vjp(self, g: np.ndarray) -> tuple:
        (scale,) = self.local()
        if not self.keepdims:
            g = np.expand_dims(g, self.axes)
        return (np.broadcast_to(_times(scale, g), self.shape).copy(),)


class Mean(Sum):
    r"""out = (1/n) sum_i a_i over ``axes``;  d out_j/d a_i = 1/n.  local: (1/n,), as Sum"""

    __slots__ = ()
    name = "mean"

    def forward(self, a: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
        count = int(np.prod([a.shape[i] for i in axes])) if axes else 1
        self.shape, self.axes, self.keepdims = a.shape, axes, keepdims
        self.scale = 1.0 / max(count, 1)
        return np.asarray(quietly(a.mean, axis=axes, keepdims=keepdims))  # as Sum


class Max(Op):
    r"""out = max_i a_i over ``axes``;  d out_j/d a_i = 1/k at the k tied maxima, 0 elsewhere.

    local: (share,), an array of a's shape holding d out_j/d a_i for the out_j that a_i belongs
    to. Applied: g copied back over the reduced axes, times share.
    """

    __slots__ = ("axes", "keepdims", "share")
    name = "max"

    def forward(self, a: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
        top = a.max(axis=axes, keepdims=True)
        hit = a == top
        self.axes, self.keepdims = axes, keepdims
        self.share = (hit / hit.sum(axis=axes, keepdims=True)).astype(a.dtype)
        return top if keepdims else np.asarray(top.squeeze(axis=axes))

    def local(self) -> tuple:
        return (self.share,)

    def vjp(self, g: np.ndarray) -> tuple:
        (share,) = self.local()
        return (share * (g if self.keepdims else np.expand_dims(g, self.axes)),)


# ---- ops that move numbers: the Jacobian is a 0/1 matrix ----------------------------------------
class Reshape(Op):
    r"""the same numbers in another shape;  d out_k/d a_k = 1 (C order), 0 elsewhere.

    local: (1.0,): each output number is one input number. Applied: g reshaped back.
    """

    __slots__ = ("shape",)
    name = "reshape"

    def forward(self, a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        self.shape = a.shape
        return a.reshape(shape)

    def local(self) -> tuple:
        return (1.0,)

    def vjp(self, g: np.ndarray) -> tuple:
        return (g.reshape(self.shape),)


class Transpose(Op):
    r"""axes permuted: out[i_order[0], ...] = a[i_0, ...];  d out/d a is a permutation matrix.

    local: (1.0,): each output number is one input number. Applied: g permuted back.
    """

    __slots__ = ("order", "inverse")
    name = "transpose"

    def forward(self, a: np.ndarray, order: tuple[int, ...]) -> np.ndarray:
        self.order, self.inverse = order, tuple(int(i) for i in np.argsort(order))
        return a.transpose(order)

    def local(self) -> tuple:
        return (1.0,)

    def vjp(self, g: np.ndarray) -> tuple:
        return (g.transpose(self.inverse),)


class Index(Op):
    r"""a[index];  d out_k/d a_i = 1 where out_k is a picked a_i, 0 elsewhere.

    local: (1.0,): each output number is one input number. Applied: g scattered into zeros of
    a's shape at ``index`` (repeated picks add up: np.add.at).
    """

    __slots__ = ("shape", "dtype", "index")
    name = "index"

    def forward(self, a: np.ndarray, index: Any) -> np.ndarray:
        self.shape, self.dtype, self.index = a.shape, a.dtype, index
        return np.asarray(a[index])

    def local(self) -> tuple:
        return (1.0,)

    def vjp(self, g: np.ndarray) -> tuple:
        grad = np.zeros(self.shape, self.dtype)
        np.add.at(grad, self.index, g)
        return (grad,)


# ---- products ---------------------------------------------------------------------------------
class Matmul(Op):
    r"""a @ b (numpy's rules: vectors, batch axes);  dC/da = g @ b^T,  dC/db = a^T @ g.

    local: (b, a): d(a @ b)/da is b and d(a @ b)/db is a. Applied: g @ b^T and a^T @ g (a
    vector taken as a one-row or one-column matrix, batch axes summed back as broadcasting does).
    """

    __slots__ = ("a", "b")
    name = "@"
    saves = (0, 1)

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        return quietly(np.matmul, a, b)  # overflow to inf, inf * 0 = NaN: IEEE results

    def local(self) -> tuple:
        return (self.b, self.a)

    def vjp(self, g: np.ndarray) -> tuple:
        b, a = self.local()
        a2 = a[np.newaxis, :] if a.ndim == 1 else a
        b2 = b[:, np.newaxis] if b.ndim == 1 else b
        if b.ndim == 1:  # first: for vector @ vector, g is 0-d and gains (1,) then (1, 1)
            g = np.expand_dims(g, -1)
        if a.ndim == 1:
            g = np.expand_dims(g, -2)
        need_a, need_b = self.needs
        grad_a = (unbroadcast(g @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
                  if need_a else None)
        grad_b = (unbroadcast(np.swapaxes(a2, -1, -2) @ g, b2.shape).reshape(b.shape)
                  if need_b else None)
        return grad_a, grad_b


_sum_rows = np.add.reduce  # bench_mlp: ndarray.sum goes through a Python wrapper first


class Linear(Op):
    r"""z = x @ w^T + b: one layer, Nielsen's z^l = w^l a^{l-1} + b^l, batch first.

    dC/dx = g @ w,  dC/dw = g^T @ x,  dC/db = sum over the batch of g.
    x: (N, n_in) or (n_in,); w: (n_out, n_in); b: (n_out,) or none; z: (N, n_out) or (n_out,).
    local: (w, x, 1.0) (or (w, x) without b): dz/dx is w, dz/dw is x (the input activations),
    dz/db is 1. Applied: the three products above.
    """

    __slots__ = ("x", "w", "biased")
    name = "linear"
    saves = (0, 1)

    def forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
        self.x, self.w, self.biased = x, w, b is not None
        token = quiet()  # overflow to inf, an inf bias meeting -inf: IEEE results, no warning
        try:
            z = x @ w.T  # (N, n_out)
            if b is not None:
                z += b
        finally:
            loud(token)
        return z

    def local(self) -> tuple:
        return (self.w, self.x, 1.0) if self.biased else (self.w, self.x)

    def vjp(self, g: np.ndarray) -> tuple:
        x, w = self.x, self.w
        needs = self.needs
        if x.ndim == 1:
            grads = (w.T @ g if needs[0] else None, np.outer(g, x) if needs[1] else None,
                     g if self.biased and needs[2] else None)
        else:
            grads = (g @ w if needs[0] else None, g.T @ x if needs[1] else None,
                     _sum_rows(g, 0) if self.biased and needs[2] else None)
        return grads if self.biased else grads[:2]


# ---- softmax ----------------------------------------------------------------------------------
def log_softmax(a: np.ndarray, axis: int) -> np.ndarray:
    """log softmax along ``axis``, shifted by the max so that no e^a overflows.

    Exact at the extremes: a -inf entry gets -inf (its e^a is 0); in a row whose max is +inf
    the +inf entries share the row (log 1/k for k of them) and the rest get -inf; a - max
    below the float range (1e308 and -1e308 in one row) is -inf. A row of only -inf, or with a
    NaN, is NaN. No numpy warning.
    """
    token = quiet()
    try:
        top = a.max(axis=axis, keepdims=True)
        shifted = a - top
        if not np.isfinite(top).all():  # rows with a +inf max, or with nothing but -inf
            zero, minus_inf = a.dtype.type(0.0), a.dtype.type(-np.inf)
            shifted = np.where(np.isposinf(top), np.where(a == top, zero, minus_inf), shifted)
        return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    finally:
        loud(token)


class Softmax(Op):
    r"""s_i = e^{a_i} / sum_j e^{a_j} along ``axis``;  dC/da = s * (g - sum_i g_i s_i).

    local: (J,), the full Jacobian of each row, J[..., i, j] = d s_i/d a_j = s_i (delta_ij - s_j),
    with the softmax axis moved last (shape (..., n, n)). Applied: dC/da_j = sum_i g_i J_ij.
    """

    __slots__ = ("s", "axis")
    name = "softmax"

    def forward(self, a: np.ndarray, axis: int) -> np.ndarray:
        self.s, self.axis = np.exp(log_softmax(a, axis)), axis
        return self.s

    def local(self) -> tuple:
        s = np.moveaxis(self.s, self.axis, -1)  # (..., n)
        return (s[..., :, None] * (np.eye(s.shape[-1], dtype=s.dtype) - s[..., None, :]),)

    def vjp(self, g: np.ndarray) -> tuple:
        s = self.s
        return (s * (g - (g * s).sum(axis=self.axis, keepdims=True)),)


class LogSoftmax(Op):
    r"""a_i - log sum_j e^{a_j} along ``axis``;  dC/da = g - softmax(a) * sum_i g_i.

    local: (J,), J[..., i, j] = delta_ij - softmax(a)_j, with the axis moved last (shape
    (..., n, n)). Applied: dC/da_j = sum_i g_i J_ij.
    """

    __slots__ = ("out", "axis")
    name = "log_softmax"

    def forward(self, a: np.ndarray, axis: int) -> np.ndarray:
        self.out, self.axis = log_softmax(a, axis), axis
        return self.out

    def local(self) -> tuple:
        s = np.exp(np.moveaxis(self.out, self.axis, -1))  # (..., n)
        return (np.eye(s.shape[-1], dtype=s.dtype) - s[..., None, :],)

    def vjp(self, g: np.ndarray) -> tuple:
        return (g - np.exp(self.out) * g.sum(axis=self.axis, keepdims=True),)
