"""Tensor: an ndarray node. Each op computes its result and, beside it, its vector-Jacobian product.

For arrays the chain rule is dC/d parent += (upstream) . (d out/d parent): a vector-Jacobian
product (VJP). Elementwise ops have a diagonal Jacobian, so their VJP is ``local * upstream``
exactly as for scalars; broadcasting then sums the product back to the parent's shape. Every op
below is one forward function and its backward rule, with the formula in the docstring. The
graph walk itself is :func:`minigrad.engine.backward`, shared with :class:`minigrad.Value`.

Shapes follow numpy (batch first). float64 unless asked for float32 or given a float32 array.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from numbers import Real
from typing import Any

import numpy as np

from minigrad import engine
from minigrad.engine import Node, backward

__all__ = ["Tensor", "linear", "describe_local"]

Rule = Callable[[tuple, np.ndarray], tuple]
_new = object.__new__
_FLOATS = (np.float64, np.float32)


def _as_array(data: Any, dtype: Any, where: str) -> np.ndarray:
    """``data`` as a float ndarray; integers and booleans become floats, anything else errors."""
    if dtype is None:
        array = np.asarray(data)
        if array.dtype in _FLOATS:
            return array
        dtype = np.float64
    elif np.dtype(dtype) not in _FLOATS:
        raise TypeError(f"{where}: dtype must be float64 or float32, got {np.dtype(dtype)}")
    array = np.asarray(data)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{where}: expected numbers, got an array of dtype {array.dtype} "
                        f"from {type(data).__name__}")
    return array.astype(dtype, copy=False)


def _unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` over the axes that broadcasting added or stretched, back to ``shape``."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1)
    return grad.sum(axis=axes, keepdims=True).reshape(shape)


# Which local-derivative description each backward rule has (read only by observers).
_LOCALS: dict[Rule, Callable[[tuple], tuple]] = {}


def describe_local(rule: Rule) -> Callable:
    """Decorator: ``local(ctx)`` says what ``rule`` multiplies the upstream gradient by.

    Used only when backward is observed (traces, pictures): one entry per parent, e.g. the
    array sigma'(z) for a sigmoid, the weight matrix for the input of a linear layer.
    """
    def register(local: Callable[[tuple], tuple]) -> Callable[[tuple], tuple]:
        _LOCALS[rule] = local
        return local
    return register


class Tensor(Node):
    """An array with a gradient: ``Tensor([[1.0, 2.0]], requires_grad=True)``."""

    __slots__ = ("requires_grad",)
    __array_ufunc__ = None  # ndarray + Tensor defers to Tensor.__radd__

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None,
                 label: str = "") -> None:
        if isinstance(data, Node):
            raise TypeError(f"Tensor(data): data is already a {type(data).__name__}; "
                            "use it directly or .detach() it")
        self.data = _as_array(data, dtype, "Tensor(data)")
        self.grad = None
        self.label = label
        self.requires_grad = bool(requires_grad)
        self._parents = ()
        self._op = ""
        self._rule = None
        self._ctx = None

    @classmethod
    def from_op(cls, data: np.ndarray, parents: tuple[Tensor, ...], op: str, rule: Rule,
                ctx: tuple) -> Tensor:
        """The result of an op: ``rule(ctx, upstream)`` gives one contribution per parent.

        The graph is recorded only when a parent needs a gradient and grad mode is on; a rule
        may return None for a parent whose ``requires_grad`` is False.
        """
        out = _new(cls)
        out.data = data
        out.grad = None
        out.label = ""
        for parent in parents:
            if parent.requires_grad and engine._grad_enabled:
                out.requires_grad = True
                out._parents = parents
                out._op = op
                out._rule = rule
                out._ctx = ctx
                return out
        out.requires_grad = False
        out._parents = ()
        out._op = ""
        out._rule = None
        out._ctx = None
        return out

    @classmethod
    def from_local(cls, data: np.ndarray, parent: Tensor, op: str, local: Any) -> Tensor:
        """The result of a one-parent op whose gradient is local * upstream.

        ``local`` holds d data/d parent, elementwise (an elementwise op's diagonal Jacobian,
        or, for a cost of a whole array, dC/d parent itself): it must broadcast with the
        upstream gradient to the parent's shape.
        """
        return cls.from_op(data, (parent,), op, _unary_rule, (local,))

    # ---- plain attributes ---------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def __len__(self) -> int:
        return len(self.data)

    def item(self) -> float:
        """The single number in a one-element tensor."""
        if self.data.size != 1:
            raise ValueError(f"Tensor.item: needs one element, shape is {self.shape}")
        return float(self.data.reshape(-1)[0])

    def numpy(self) -> np.ndarray:
        """The data array (shared, not copied)."""
        return self.data

    def detach(self) -> Tensor:
        """The same data as a new leaf that needs no gradient."""
        return Tensor(self.data)

    def __repr__(self) -> str:
        name = f", label={self.label!r}" if self.label else ""
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({np.array2string(self.data, precision=4, threshold=8)}{grad}{name})"

    def local_derivatives(self) -> tuple:
        """What the backward rule multiplies upstream by, per parent (see each op)."""
        local = _LOCALS.get(self._rule)
        return local(self._ctx) if local is not None else (None,) * len(self._parents)

    def backward(self, gradient: Any = None, on_step=None, keep_grads: bool = True) -> None:
        """dC/dself = ``gradient`` (1 for a one-element tensor), then the chain rule below."""
        if not self.requires_grad:
            raise RuntimeError("Tensor.backward: this tensor does not require grad (no input "
                               "it was computed from has requires_grad=True)")
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(f"Tensor.backward: the output has shape {self.shape}; pass "
                                   "gradient= (dC/doutput, same shape) or reduce it to one "
                                   "number first (e.g. .sum())")
            seed = np.ones(self.data.shape, self.dtype)
        else:
            seed = _as_array(gradient.data if isinstance(gradient, Tensor) else gradient,
                             self.dtype, "Tensor.backward(gradient)")
            if seed.shape != self.shape:
                raise ValueError(f"Tensor.backward: gradient has shape {seed.shape}, "
                                 f"the output has shape {self.shape}")
        backward(self, seed, on_step, keep_grads)

    def zero_grad(self) -> None:
        """Forget the gradient (leaf gradients accumulate across backward calls)."""
        self.grad = None

    # ---- elementwise binary ops ---------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        r"""a + b;  d/da = 1, d/db = 1 (summed over broadcast axes)"""
        return _binary(self, other, "+")

    def __radd__(self, other: Any) -> Tensor:  # other + self
        return _binary(_lift(other, "+", self), self, "+")

    def __sub__(self, other: Any) -> Tensor:
        r"""a - b;  d/da = 1, d/db = -1"""
        return _binary(self, other, "-")

    def __rsub__(self, other: Any) -> Tensor:  # other - self
        return _binary(_lift(other, "-", self), self, "-")

    def __mul__(self, other: Any) -> Tensor:
        r"""a * b;  d/da = b, d/db = a"""
        return _binary(self, other, "*")

    def __rmul__(self, other: Any) -> Tensor:  # other * self
        return _binary(_lift(other, "*", self), self, "*")

    def __truediv__(self, other: Any) -> Tensor:
        r"""a / b;  d/da = 1/b, d/db = -a/b^2"""
        return _binary(self, other, "/")

    def __rtruediv__(self, other: Any) -> Tensor:  # other / self
        return _binary(_lift(other, "/", self), self, "/")

    def __pow__(self, other: Any) -> Tensor:
        r"""a ** b;  d/da = b a^(b-1), d/db = a^b ln a"""
        return _binary(self, other, "**")

    def __rpow__(self, other: Any) -> Tensor:  # other ** self
        return _binary(_lift(other, "**", self), self, "**")

    def __neg__(self) -> Tensor:
        r"""-a;  d/da = -1"""
        return Tensor.from_local(-self.data, self, "neg", np.asarray(-1.0, self.dtype))

    # ---- elementwise functions ----------------------------------------------------------
    def exp(self) -> Tensor:
        r"""e^a;  d/da = e^a  (inf past 709.78 in float64, without a warning)"""
        with np.errstate(over="ignore"):
            out = np.exp(self.data)
        return Tensor.from_local(out, self, "exp", out)

    def log(self) -> Tensor:
        r"""ln a;  d/da = 1/a  (every a > 0; NaN propagates)"""
        a = self.data
        if (a <= 0).any():
            bad = a[a <= 0].flat[0]
            raise ValueError(f"Tensor log: needs positive numbers, got {bad!r} "
                             f"(shape {self.shape})")
        return Tensor.from_local(np.log(a), self, "log", 1.0 / a)

    def tanh(self) -> Tensor:
        r"""tanh a;  d/da = 1 - tanh^2 a"""
        t = np.tanh(self.data)
        return _deferred(self, t, "tanh", _tanh_derivative, t)

    def sigmoid(self) -> Tensor:
        r"""sigma(z) = 1/(1+e^-z);  sigma'(z) = sigma(z)(1-sigma(z))  (see _sigmoid)"""
        s, e = _sigmoid(self.data)  # sigma' is computed in backward, only if it is needed
        return Tensor.from_op(s, (self,), "sigmoid", _deferred_rule, (_sigmoid_derivative, e, s))

    def relu(self) -> Tensor:
        r"""max(0, a);  d/da = 1 where a > 0, else 0"""
        return _deferred(self, np.maximum(self.data, 0.0), "relu",  # NaN stays NaN
                         _relu_derivative, self.data)

    # ---- reductions ---------------------------------------------------------------------
    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        r"""sum_i a_i;  d/da_i = 1 (upstream copied back over the summed axes)"""
        axes = _axes(axis, self.ndim, "sum")  # first: a bad axis is an error naming sum
        out = np.asarray(self.data.sum(axis=axis, keepdims=keepdims))
        return Tensor.from_op(out, (self,), "sum", _sum_rule, (self.shape, axes, keepdims, 1.0))

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        r"""(1/n) sum_i a_i;  d/da_i = 1/n"""
        axes = _axes(axis, self.ndim, "mean")
        count = int(np.prod([self.shape[i] for i in axes])) if axes else 1
        out = np.asarray(self.data.mean(axis=axis, keepdims=keepdims))
        return Tensor.from_op(out, (self,), "mean", _sum_rule,
                              (self.shape, axes, keepdims, 1.0 / max(count, 1)))

    def max(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        r"""max_i a_i;  d/da_i = 1/k at the k tied maxima, 0 elsewhere"""
        if self.data.size == 0:
            raise ValueError(f"Tensor max: empty tensor of shape {self.shape}")
        axes = _axes(axis, self.ndim, "max")
        top = self.data.max(axis=axes, keepdims=True)
        hit = self.data == top
        share = hit / hit.sum(axis=axes, keepdims=True)
        out = top if keepdims else np.asarray(top.squeeze(axis=axes))
        return Tensor.from_op(out, (self,), "max", _sum_rule_weighted,
                              (self.shape, axes, keepdims, share.astype(self.dtype)))

    # ---- shape ops ----------------------------------------------------------------------
    def reshape(self, *shape: Any) -> Tensor:
        r"""the same numbers in another shape;  the gradient is reshaped back"""
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], Sequence) else shape
        try:
            out = self.data.reshape(shape)
        except ValueError:
            raise ValueError(f"Tensor reshape: cannot reshape {self.shape} "
                             f"({self.data.size} numbers) into {shape}") from None
        return Tensor.from_op(out, (self,), "reshape", _reshape_rule, (self.shape,))

    def transpose(self, *axes: int) -> Tensor:
        r"""axes permuted (reversed by default);  the gradient is permuted back"""
        axes = tuple(axes[0]) if len(axes) == 1 and isinstance(axes[0], Sequence) else axes
        order = tuple(a + self.ndim if a < 0 else a for a in axes) or tuple(
            reversed(range(self.ndim)))  # negative axes count from the end, as in numpy
        if sorted(order) != list(range(self.ndim)):
            raise ValueError(f"Tensor transpose: axes {order} are not a permutation of the "
                             f"{self.ndim} axes of shape {self.shape}")
        return Tensor.from_op(self.data.transpose(order), (self,), "transpose",
                              _transpose_rule, (tuple(np.argsort(order)),))

    @property
    def T(self) -> Tensor:
        return self.transpose()

    def __getitem__(self, index: Any) -> Tensor:
        r"""a[index];  d/da = 1 at the picked places (repeated picks add up), 0 elsewhere"""
        index = _plain_index(index)
        try:
            out = self.data[index]
        except (IndexError, ValueError) as error:
            raise IndexError(f"Tensor []: index {index!r} does not fit shape {self.shape}: "
                             f"{error}") from None
        return Tensor.from_op(np.asarray(out), (self,), "index", _index_rule,
                              (self.shape, self.dtype, index))

    # ---- matrix product and softmax -----------------------------------------------------
    def __matmul__(self, other: Any) -> Tensor:
        r"""a @ b;  dC/da = g @ b^T,  dC/db = a^T @ g  (vectors as in numpy)"""
        return _matmul(self, _lift(other, "@", self))

    def __rmatmul__(self, other: Any) -> Tensor:  # other @ self
        return _matmul(_lift(other, "@", self), self)

    def softmax(self, axis: int = -1) -> Tensor:
        r"""s_i = e^{a_i} / sum_j e^{a_j};  dC/da = s * (g - sum(g * s))"""
        _axes(axis, self.ndim, "softmax")  # a bad axis is an error naming softmax
        s = np.exp(self.log_softmax_data(axis))
        return Tensor.from_op(s, (self,), "softmax", _softmax_rule, (s, axis))

    def log_softmax(self, axis: int = -1) -> Tensor:
        r"""a_i - log sum_j e^{a_j};  dC/da = g - softmax(a) * sum(g)"""
        out = self.log_softmax_data(axis)
        return Tensor.from_op(out, (self,), "log_softmax", _log_softmax_rule, (out, axis))

    def log_softmax_data(self, axis: int = -1) -> np.ndarray:
        """log softmax of the data without a graph, shifted by the max so nothing overflows."""
        _axes(axis, self.ndim, "log_softmax")
        shifted = self.data - self.data.max(axis=axis, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


# ---- helpers that build nodes ---------------------------------------------------------------
def _lift(x: Any, op: str, like: Tensor) -> Tensor:
    """A number or array as a constant Tensor (of ``like``'s float dtype for plain numbers)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, Node):
        raise TypeError(f"Tensor {op}: cannot combine a Tensor with a {type(x).__name__}")
    if isinstance(x, Real) and not isinstance(x, bool):
        return Tensor(np.asarray(x, like.dtype))
    try:
        return Tensor(x)
    except TypeError:
        raise TypeError(f"Tensor {op}: expected a Tensor, array or number, got "
                        f"{type(x).__name__} {x!r}") from None


def _unary_rule(ctx: tuple, g: np.ndarray) -> tuple:
    """Diagonal Jacobian: dC/da = local * g."""
    return (ctx[0] * g,)


@describe_local(_unary_rule)
def _unary_local(ctx: tuple) -> tuple:
    return (ctx[0],)


# The largest x with e^x finite, per dtype (709 for float64, 88 for float32).
_EXP_LIMIT = {dtype: float(np.floor(np.log(np.finfo(dtype).max))) for dtype in _FLOATS}


def _sigmoid(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sigma(z) = 1/(1+e^-z), and e^-z for its derivative (see _sigmoid_derivative).

    Where e^-z would overflow (z below -709 in float64, -88 in float32) sigma is 0 to within
    the smallest normal number, and is set to 0: no overflow warning, no inf * 0.
    """
    limit = _EXP_LIMIT[z.dtype.type]
    e = np.exp(np.minimum(-z, limit))
    s = np.asarray(1.0 / (1.0 + e))  # an array even for a 0-d z
    s[z < -limit] = 0.0
    return s, e


def _sigmoid_derivative(e: np.ndarray, s: np.ndarray) -> np.ndarray:
    """sigma'(z) = sigma (1 - sigma), with 1 - sigma = e^-z sigma: exact where sigma rounds to
    1 (z > 37), and at most 1/4 (near z = 0 rounding could land one ulp above it)."""
    local = np.multiply(e, s, out=np.empty_like(s))  # 1 - sigma; one array, then in place
    local *= s
    return np.minimum(local, 0.25, out=local)


def _tanh_derivative(t: np.ndarray) -> np.ndarray:
    """tanh'(a) = 1 - tanh^2(a), from the saved output t."""
    return 1.0 - t * t


def _relu_derivative(a: np.ndarray) -> np.ndarray:
    """relu'(a) = 1 where a > 0, else 0, from the saved input."""
    return (a > 0).astype(a.dtype)


def _deferred(a: Tensor, out: np.ndarray, op: str, derivative: Callable, *saved: Any) -> Tensor:
    """An elementwise op whose local derivative ``derivative(*saved)`` is computed in backward,
    only for the nodes backward reaches (not under no_grad, not for an output read through)."""
    return Tensor.from_op(out, (a,), op, _deferred_rule, (derivative, *saved))


def _deferred_rule(ctx: tuple, g: np.ndarray) -> tuple:
    """Diagonal Jacobian: dC/da = local * g, with the local derivative computed now."""
    local = ctx[0](*ctx[1:])  # a fresh array: multiplied by g in place
    local *= g
    return (local,)


@describe_local(_deferred_rule)
def _deferred_local(ctx: tuple) -> tuple:
    return (ctx[0](*ctx[1:]),)


def _binary(a: Tensor, b: Any, op: str) -> Tensor:
    """a (op) b with numpy broadcasting; the shape error names the op and both shapes."""
    b = _lift(b, op, a)
    x, y = a.data, b.data
    try:
        if op == "+":
            out, local = x + y, None
        elif op == "-":
            out, local = x - y, None
        elif op == "*":
            out, local = x * y, (y, x)
        elif op == "/":
            if not y.all():
                raise ZeroDivisionError(f"Tensor /: division by zero in the divisor of shape "
                                        f"{b.shape}")
            out = x / y
            local = (1.0 / y, -out / y)
        else:
            out, local = _power(x, y, b.requires_grad)
    except ValueError as error:
        if "broadcast" not in str(error):
            raise
        raise ValueError(f"Tensor {op}: shapes {a.shape} and {b.shape} do not broadcast "
                         "(numpy rules: trailing axes must match or be 1)") from None
    needs = (a.requires_grad, b.requires_grad)
    if local is None:  # + and -: the local derivatives are the constants 1 and +-1
        rule, ctx = _add_rule, (a.shape, b.shape, needs, -1.0 if op == "-" else 1.0)
    else:
        rule, ctx = _product_rule, (a.shape, b.shape, needs, local)
    return Tensor.from_op(out, (a, b), op, rule, ctx)


def _power(x: np.ndarray, y: np.ndarray, needs_exponent_grad: bool) -> tuple:
    """x ** y and its local derivatives; errors where the real power is undefined."""
    if (x < 0).any() and not (y == np.round(y)).all():
        raise ValueError("Tensor **: negative base to a non-integer power")
    with np.errstate(divide="raise", invalid="ignore"):
        try:
            out = x**y
        except FloatingPointError:
            raise ZeroDivisionError("Tensor **: 0 raised to a negative power") from None
        try:
            dx = y * x ** (y - 1.0)
        except FloatingPointError:  # a = 0 with 0 <= b < 1: d/da a^b is 0 (b = 0) or inf
            with np.errstate(divide="ignore"):
                dx = np.where(y == 0, 0.0, y * x ** (y - 1.0))
    if needs_exponent_grad:
        if not (x > 0).all():
            raise ValueError("Tensor **: the gradient with respect to the exponent needs a "
                             "positive base (d/db a^b = a^b ln a)")
        return out, (dx, out * np.log(x))
    return out, (dx, None)


def _add_rule(ctx: tuple, g: np.ndarray) -> tuple:
    """dC/da = g, dC/db = +-g, each summed back to its own shape."""
    shape_a, shape_b, (need_a, need_b), sign = ctx
    return (_unbroadcast(g, shape_a) if need_a else None,
            (_unbroadcast(g, shape_b) if sign > 0 else -_unbroadcast(g, shape_b))
            if need_b else None)


@describe_local(_add_rule)
def _add_local(ctx: tuple) -> tuple:
    return (1.0, ctx[3])


def _product_rule(ctx: tuple, g: np.ndarray) -> tuple:
    """dC/da = local_a * g, dC/db = local_b * g, each summed back to its own shape."""
    shape_a, shape_b, (need_a, need_b), (local_a, local_b) = ctx
    return (_unbroadcast(local_a * g, shape_a) if need_a else None,
            _unbroadcast(local_b * g, shape_b) if need_b else None)


@describe_local(_product_rule)
def _product_local(ctx: tuple) -> tuple:
    return ctx[3]


def _axes(axis: Any, ndim: int, op: str) -> tuple[int, ...]:
    """``axis`` (None, int or tuple) as a tuple of non-negative axes, checked against ndim."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"Tensor {op}: axis {a} is out of range for {ndim} dimensions")
    return tuple(sorted(a % max(ndim, 1) for a in axes))


def _sum_rule(ctx: tuple, g: np.ndarray) -> tuple:
    """Copy g back over the reduced axes, times the constant d out/d a_i (1, or 1/n)."""
    shape, axes, keepdims, scale = ctx
    if not keepdims:
        g = np.expand_dims(g, axes)
    return (np.broadcast_to(g * scale if scale != 1.0 else g, shape).copy(),)


@describe_local(_sum_rule)
def _sum_local(ctx: tuple) -> tuple:
    return (ctx[3],)


def _sum_rule_weighted(ctx: tuple, g: np.ndarray) -> tuple:
    """As the sum, but each element gets its own share of g (max: the tied maxima)."""
    shape, axes, keepdims, share = ctx
    if not keepdims:
        g = np.expand_dims(g, axes)
    return (share * g,)


@describe_local(_sum_rule_weighted)
def _share_local(ctx: tuple) -> tuple:
    return (ctx[3],)


def _reshape_rule(ctx: tuple, g: np.ndarray) -> tuple:
    return (g.reshape(ctx[0]),)


def _transpose_rule(ctx: tuple, g: np.ndarray) -> tuple:
    return (g.transpose(ctx[0]),)


def _plain_index(index: Any) -> Any:
    """Tensors inside an index become their (integer) data."""
    if isinstance(index, tuple):
        return tuple(_plain_index(i) for i in index)
    if isinstance(index, Tensor):
        return index.data.astype(np.intp)
    return index


def _index_rule(ctx: tuple, g: np.ndarray) -> tuple:
    """Scatter g into zeros of a's shape; repeated indices add (np.add.at)."""
    shape, dtype, index = ctx
    grad = np.zeros(shape, dtype)
    np.add.at(grad, index, g)
    return (grad,)


def _matmul(a: Tensor, b: Tensor) -> Tensor:
    """a @ b with numpy's rules for vectors; a shape mismatch names both shapes."""
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"Tensor @: needs vectors or matrices, got shapes {a.shape} and "
                         f"{b.shape}")
    inner_a = a.shape[-1]
    inner_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if inner_a != inner_b:
        raise ValueError(f"Tensor @: shapes {a.shape} and {b.shape} do not align "
                         f"({inner_a} != {inner_b})")
    try:
        out = a.data @ b.data
    except ValueError:
        raise ValueError(f"Tensor @: shapes {a.shape} and {b.shape} do not "
                         "broadcast over their batch axes") from None
    return Tensor.from_op(out, (a, b), "@", _matmul_rule,
                          (a.data, b.data, a.requires_grad, b.requires_grad))


def _matmul_rule(ctx: tuple, g: np.ndarray) -> tuple:
    """dC/da = g @ b^T, dC/db = a^T @ g; vectors are made matrices and back, batch axes summed."""
    a, b, need_a, need_b = ctx
    a2 = a[np.newaxis, :] if a.ndim == 1 else a
    b2 = b[:, np.newaxis] if b.ndim == 1 else b
    g2 = g
    if b.ndim == 1:  # first: for vector @ vector, g is a 0-d array and gains (1,) then (1, 1)
        g2 = np.expand_dims(g2, -1)
    if a.ndim == 1:
        g2 = np.expand_dims(g2, -2)
    grad_a = grad_b = None
    if need_a:
        grad_a = _unbroadcast(g2 @ np.swapaxes(b2, -1, -2), a2.shape)
        grad_a = grad_a.reshape(a.shape)
    if need_b:
        grad_b = _unbroadcast(np.swapaxes(a2, -1, -2) @ g2, b2.shape)
        grad_b = grad_b.reshape(b.shape)
    return grad_a, grad_b


@describe_local(_matmul_rule)
def _matmul_local(ctx: tuple) -> tuple:
    # d(a @ b)/da is b (the upstream is multiplied by b^T), d(a @ b)/db is a.
    return (ctx[1], ctx[0])


def _softmax_rule(ctx: tuple, g: np.ndarray) -> tuple:
    s, axis = ctx
    return (s * (g - (g * s).sum(axis=axis, keepdims=True)),)


@describe_local(_softmax_rule)
def _softmax_local(ctx: tuple) -> tuple:
    s = ctx[0]
    return (s * (1.0 - s),)  # the diagonal of the Jacobian


def _log_softmax_rule(ctx: tuple, g: np.ndarray) -> tuple:
    log_s, axis = ctx
    return (g - np.exp(log_s) * g.sum(axis=axis, keepdims=True),)


@describe_local(_log_softmax_rule)
def _log_softmax_local(ctx: tuple) -> tuple:
    return (1.0 - np.exp(ctx[0]),)  # the diagonal of the Jacobian


# ---- the layer op ---------------------------------------------------------------------------
def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    r"""z = x @ w^T + b, one node per layer (Nielsen's z^l = w^l a^{l-1} + b^l, batch first).

    dC/dx = g @ w,  dC/dw = g^T @ x,  dC/db = sum over the batch of g.
    x: (n_in,) or (N, n_in); w: (n_out, n_in); b: (n_out,); z: (n_out,) or (N, n_out).
    """
    if type(x) is not Tensor:
        x = _lift(x, "linear", weight)
    a, w = x.data, weight.data  # a: (N, n_in) or (n_in,); w: (n_out, n_in)
    if w.ndim != 2 or a.ndim not in (1, 2) or a.shape[-1] != w.shape[1]:
        raise ValueError(f"linear: input of shape {a.shape} does not fit a weight of shape "
                         f"{w.shape} (expected (N, {w.shape[-1]}) or ({w.shape[-1]},))")
    z = a @ w.T
    if bias is None:
        return Tensor.from_op(z, (x, weight), "linear", _linear_rule,
                              (a, w, x.requires_grad, weight.requires_grad, False))
    if bias.data.shape != (w.shape[0],):
        raise ValueError(f"linear: bias of shape {bias.data.shape} does not fit a weight of "
                         f"shape {w.shape} (expected ({w.shape[0]},))")
    z += bias.data
    return Tensor.from_op(z, (x, weight, bias), "linear", _linear_rule,
                          (a, w, x.requires_grad, weight.requires_grad, bias.requires_grad))


def _linear_rule(ctx: tuple, g: np.ndarray) -> tuple:
    """dC/dx = g @ w, dC/dw = g^T @ x, dC/db = sum_n g_n."""
    x, w, need_x, need_w, need_b = ctx
    if x.ndim == 1:
        return (w.T @ g if need_x else None, np.outer(g, x) if need_w else None,
                g if need_b else None)
    return (g @ w if need_x else None, g.T @ x if need_w else None,
            g.sum(axis=0) if need_b else None)


@describe_local(_linear_rule)
def _linear_local(ctx: tuple) -> tuple:
    # dz/dx is w, dz/dw is x (the input activations), dz/db is 1.
    return (ctx[1], ctx[0], 1.0)
