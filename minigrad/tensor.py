"""Tensor: an ndarray node. Its ops are one block each, in :mod:`minigrad.tensor_ops`.

For arrays the chain rule is dC/d parent += (upstream) . (d out/d parent): a vector-Jacobian
product (VJP). Elementwise ops have a diagonal Jacobian, so their VJP is ``local * upstream``
exactly as for scalars; broadcasting then sums the product back to the parent's shape. This
module makes the nodes: construction, attributes, lifting numbers to constants, the checks that
name the op and the shapes, seeding backward, and one thin method per op that runs the op's
block (``tensor_ops.Sigmoid``, ``tensor_ops.Linear``, ...) and records the result. The graph
walk itself is :func:`minigrad.engine.backward`, shared with :class:`minigrad.Value`.

Shapes follow numpy (batch first). float64 unless asked for float32 or given a float32 array.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from numbers import Real
from typing import Any

import numpy as np

from minigrad import engine
from minigrad import tensor_ops as ops
from minigrad.engine import Node, backward
from minigrad.tensor_ops import Op
from minigrad.tensor_ops import unbroadcast as _unbroadcast  # noqa: F401  (the old name)

__all__ = ["Tensor", "linear", "describe_local"]

Rule = Callable[[Any, np.ndarray], tuple]
_new = object.__new__  # bench_mlp: nodes and ops made without __init__ (see from_op, _apply)
_FLOATS = (np.float64, np.float32)
_PLAIN = (list, tuple, int, float, bool)  # Python data: np.asarray makes a new array of it


def _asarray(data: Any, where: str) -> np.ndarray:
    """np.asarray(data), with an error naming ``where`` for ragged nested lists."""
    try:
        return np.asarray(data)
    except ValueError as error:
        if "inhomogeneous" not in str(error) and "sequence" not in str(error):
            raise
        shown = repr(data)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise ValueError(f"{where}: the rows of {shown} have different lengths (a ragged "
                         "list); every row of an array needs the same number of elements"
                         ) from None


def _as_array(data: Any, dtype: Any, where: str) -> np.ndarray:
    """``data`` as a float ndarray; integers and booleans become floats, anything else errors."""
    if dtype is None:
        array = _asarray(data, where)
        if array.dtype in _FLOATS:
            return array
        dtype = np.float64
    elif np.dtype(dtype) not in _FLOATS:
        raise TypeError(f"{where}: dtype must be float64 or float32, got {np.dtype(dtype)}")
    array = _asarray(data, where)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{where}: expected numbers, got an array of dtype {array.dtype} "
                        f"from {type(data).__name__}")
    return array.astype(dtype, copy=False)


# What the local derivative of a user's backward rule is (``describe_local``; read only by
# observers). The built-in ops need no entry: each is an Op whose ``local()`` says it.
_LOCALS: dict[Rule, Callable[[Any], tuple]] = {}


def describe_local(rule: Rule) -> Callable:
    """Decorator: ``local(ctx)`` says what ``rule`` (your own op's) multiplies upstream by.

    Used only when backward is observed (traces, pictures): one entry per parent, e.g. the
    array 3 x^2 for a cube. (An op written as a ``tensor_ops.Op`` says it in its ``local()``.)
    """
    def register(local: Callable[[Any], tuple]) -> Callable[[Any], tuple]:
        _LOCALS[rule] = local
        return local
    return register


# The edit clock: how many in-place updates minigrad has made (SGD.step, add_, copy_, ...).
# Each op result records it at the forward (``_at``), each updated Tensor the clock of its last
# update (``_edited``); backward at a node compares the two numbers, one int compare while
# nothing was changed since the forward (the usual case: the optimiser steps after backward).
_edits = 0


def _mark_edited(tensor: Tensor) -> None:
    """Record an in-place update of ``tensor``'s array: its version and the edit clock grow."""
    global _edits
    _edits += 1
    tensor._count = getattr(tensor, "_count", 0) + 1
    tensor._edited = _edits


class Tensor(Node):
    """An array with a gradient: ``Tensor([[1.0, 2.0]], requires_grad=True)``.

    ``Tensor(array, requires_grad=True)`` copies the array, as ``torch.tensor`` does: the
    optimiser and the in-place methods update the Tensor's own array, never yours. A Tensor
    that needs no gradient wraps your array without a copy (a batch of inputs is not copied,
    the no-copy path ``fit`` and ``Module.__call__`` rely on); minigrad never writes into it
    (an in-place method copies it first), but do not change it yourself before backward.

    In-place updates made through minigrad (``SGD.step``, ``add_``, ``mul_``, ``copy_``,
    ``zero_``) raise ``_version``, and backward refuses a gradient that an op computed from an
    array changed after its forward. Editing ``t.data[...]`` directly with numpy is not seen
    (as PyTorch's ``.data`` is not tracked); rebinding ``t.data = other`` is harmless (each op
    kept the array it was given).
    """

    __slots__ = ("requires_grad", "_count", "_edited", "_at", "_owns", "_kind")
    __array_ufunc__ = None  # ndarray + Tensor defers to Tensor.__radd__

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None,
                 label: str = "") -> None:
        if isinstance(data, Node):
            raise TypeError(f"Tensor(data): data is already a {type(data).__name__}; "
                            "use it directly or .detach() it")
        if type(data) is np.ndarray and dtype is None and data.dtype in _FLOATS:
            array = data  # bench_mlp: a batch of inputs, wrapped as it is
            self._kind, self._owns = "f", False
        else:
            source = _asarray(data, "Tensor(data)")  # the caller's array itself, if one
            self._kind = source.dtype.kind  # "b" and "i"/"u" Tensors can be indices
            array = _as_array(source, dtype, "Tensor(data)")
            # True when the array is minigrad's own (made here), False when it may be the
            # caller's memory (their ndarray, a view of it, or another library's buffer)
            if isinstance(data, np.ndarray):
                self._owns = array is not data and not np.may_share_memory(array, data)
            else:
                self._owns = array is not source or type(data) in _PLAIN
        if requires_grad and not self._owns:  # SGD and in-place methods will update it
            array = array.copy()
            self._owns = True
        self.data = array
        self.grad = None
        self.label = label
        self.requires_grad = bool(requires_grad)
        self._parents = ()
        self._op = ""
        self._rule = None
        self._ctx = None
        self._count = 0
        self._edited = 0

    @classmethod
    def from_op(cls, data: np.ndarray, parents: tuple[Tensor, ...], op: str, rule: Rule,
                ctx: Any) -> Tensor:
        """The result of an op: ``rule(ctx, upstream)`` gives one contribution per parent.

        The graph is recorded only when a parent needs a gradient and grad mode is on; a rule
        may return None for a parent whose ``requires_grad`` is False. Every built-in op is
        recorded here, with a ``tensor_ops.Op`` as ``ctx`` and its class's ``vjp`` as ``rule``.
        """
        out = _new(cls)  # bench_mlp: no __init__ (no checks of data an op has just made)
        out.data = data
        out.grad = None
        out.label = ""
        for parent in parents if engine._grad_enabled else ():  # bench_mlp: grad mode read once
            if parent.requires_grad:
                out.requires_grad = True
                out._parents = parents
                out._op = op or "op"  # never '': the engine takes a node without an op for a leaf
                out._rule = rule
                out._ctx = ctx
                out._at = _edits  # the edit clock at the forward (the version check)
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
        upstream gradient to the parent's shape (``tensor_ops.Given``).
        """
        given = _new(ops.Given)  # as _apply makes an op
        given.needs = (True,)
        return cls.from_op(given.forward(data, local), (parent,), op, ops.Given.vjp, given)

    # ---- the chain rule at this node (the engine calls these) ---------------------------
    def _pass_down(self, upstream: Any) -> None:
        """Add each contribution to its parent's gradient; a leaf gets an array of its own, of
        its own dtype (never the upstream array, a view of it, or another leaf's)."""
        if self._at != _edits:  # something was changed in place since the forward
            self._check_versions()
        for parent, contribution in zip(self._parents, self._rule(self._ctx, upstream)):
            if contribution is None:  # this parent needs no gradient
                continue
            grad = parent.grad
            if parent._parents:
                parent.grad = contribution if grad is None else grad + contribution
            elif grad is not None:
                parent.grad = _own(parent, grad + contribution, None)
            # bench_mlp: a fresh array of the leaf's dtype (the usual case) is kept as it is
            elif type(contribution) is np.ndarray and contribution.base is None \
                    and contribution is not upstream and contribution.dtype is parent.data.dtype:
                parent.grad = contribution
            else:
                parent.grad = _own(parent, contribution, upstream)

    def _vjp(self, upstream: Any) -> tuple:
        """The rule's contributions (as ``_pass_down`` gives them: a leaf's its own array)."""
        if self._at != _edits:
            self._check_versions()
        token = ops.quiet()
        try:
            contributions = self._rule(self._ctx, upstream)
        finally:
            ops.loud(token)
        return tuple(c if c is None or p._parents else _own(p, c, upstream)
                     for p, c in zip(self._parents, contributions))

    def _check_versions(self) -> None:
        """Refuse the gradient if an input whose array this op kept was changed in place."""
        ctx = self._ctx
        saved = ctx.saves if isinstance(ctx, Op) else range(len(self._parents))
        for i in saved:
            parent = self._parents[i]
            if getattr(parent, "_edited", 0) > self._at:
                name = f"{parent.label!r}" if parent.label else "a tensor"
                raise RuntimeError(
                    f"Tensor.backward: one of the variables needed for gradient computation "
                    f"has been modified by an inplace operation: {name} of shape "
                    f"{parent.shape} (version {parent._version}), input {i} of op "
                    f"'{self._op}', was changed in place after that op used it in the forward "
                    "pass, so its gradient would use the new values. Run the forward again "
                    "after the change (an optimiser's step() goes after backward()).")

    @property
    def _version(self) -> int:
        """How many times minigrad has changed this tensor's array in place."""
        return getattr(self, "_count", 0)

    # ---- in-place updates (each raises _version; backward then refuses older graphs) ----
    def _writable(self, method: str) -> np.ndarray:
        if self._parents:
            raise RuntimeError(f"Tensor.{method}: {self._name()} was computed by op "
                               f"'{self._op}'; only leaves (inputs, parameters) are changed in "
                               "place (the graph above it would no longer match its data)")
        if not getattr(self, "_owns", False):  # perhaps the caller's array: never write it
            self.data = self.data.copy()
            self._owns = True
        return self.data

    def _name(self) -> str:
        return f"the tensor {self.label!r}" if self.label else f"a tensor of shape {self.shape}"

    def _other(self, other: Any, method: str) -> np.ndarray:
        value = other.data if isinstance(other, Tensor) else _as_array(
            other, self.dtype if isinstance(other, Real) else None, f"Tensor.{method}")
        try:
            fits = np.broadcast_shapes(value.shape, self.shape) == self.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"Tensor.{method}: a value of shape {value.shape} does not fit "
                             f"{self._name()}")
        return value

    def add_(self, other: Any, alpha: float = 1.0) -> Tensor:
        """self += alpha * other, in place (no graph); returns self."""
        value = self._other(other, "add_")
        data = self._writable("add_")
        data += alpha * value if alpha != 1.0 else value
        _mark_edited(self)
        return self

    def mul_(self, other: Any) -> Tensor:
        """self *= other, in place (no graph); returns self."""
        value = self._other(other, "mul_")
        self._writable("mul_")[...] *= value
        _mark_edited(self)
        return self

    def copy_(self, other: Any) -> Tensor:
        """self[...] = other, in place (no graph); returns self."""
        value = self._other(other, "copy_")
        self._writable("copy_")[...] = value
        _mark_edited(self)
        return self

    def zero_(self) -> Tensor:
        """Every element set to 0, in place; returns self."""
        self._writable("zero_")[...] = 0.0
        _mark_edited(self)
        return self

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
        """d self/d parent per parent, as the op describes it (see its class in tensor_ops)."""
        ctx = self._ctx
        if isinstance(ctx, Op):
            return ctx.local()
        local = _LOCALS.get(self._rule)
        return local(ctx) if local is not None else (None,) * len(self._parents)

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
            seed = np.array(1.0, self.data.dtype).reshape(self.data.shape)
        else:
            seed = _as_array(gradient.data if isinstance(gradient, Tensor) else gradient,
                             self.dtype, "Tensor.backward(gradient)")
            if seed.shape != self.shape:
                raise ValueError(f"Tensor.backward: gradient has shape {seed.shape}, "
                                 f"the output has shape {self.shape}")
            seed = seed.copy()  # the gradients become minigrad's arrays, never the caller's
        token = ops.quiet()  # overflow and inf - inf in the rules: IEEE results, no warning
        try:
            backward(self, seed, on_step, keep_grads)
        finally:
            ops.loud(token)

    def zero_grad(self) -> None:
        """Forget the gradient (leaf gradients accumulate across backward calls)."""
        self.grad = None

    # ---- elementwise binary ops (tensor_ops.Add, Sub, Mul, Div, Pow) ---------------------
    def __add__(self, other: Any) -> Tensor:
        r"""a + b;  d/da = 1, d/db = 1 (summed over broadcast axes)"""
        return _binary(ops.Add, self, other)

    def __radd__(self, other: Any) -> Tensor:  # other + self
        return _binary(ops.Add, _lift(other, "+", self), self)

    def __sub__(self, other: Any) -> Tensor:
        r"""a - b;  d/da = 1, d/db = -1"""
        return _binary(ops.Sub, self, other)

    def __rsub__(self, other: Any) -> Tensor:  # other - self
        return _binary(ops.Sub, _lift(other, "-", self), self)

    def __mul__(self, other: Any) -> Tensor:
        r"""a * b;  d/da = b, d/db = a"""
        return _binary(ops.Mul, self, other)

    def __rmul__(self, other: Any) -> Tensor:  # other * self
        return _binary(ops.Mul, _lift(other, "*", self), self)

    def __truediv__(self, other: Any) -> Tensor:
        r"""a / b;  d/da = 1/b, d/db = -a/b^2"""
        return _binary(ops.Div, self, other)

    def __rtruediv__(self, other: Any) -> Tensor:  # other / self
        return _binary(ops.Div, _lift(other, "/", self), self)

    def __pow__(self, other: Any) -> Tensor:
        r"""a ** b;  d/da = b a^(b-1), d/db = a^b ln a"""
        return _binary(ops.Pow, self, other)

    def __rpow__(self, other: Any) -> Tensor:  # other ** self
        return _binary(ops.Pow, _lift(other, "**", self), self)

    def __neg__(self) -> Tensor:
        r"""-a;  d/da = -1"""
        return _unary(ops.Neg, self)

    # ---- elementwise functions (tensor_ops.Exp, Log, Tanh, Sigmoid, Relu) -----------------
    def exp(self) -> Tensor:
        r"""e^a;  d/da = e^a  (inf past 709.78 in float64, without a warning)"""
        return _unary(ops.Exp, self)

    def log(self) -> Tensor:
        r"""ln a;  d/da = 1/a  (every a > 0; NaN propagates)"""
        return _unary(ops.Log, self)

    def tanh(self) -> Tensor:
        r"""tanh a;  d/da = 1 - tanh^2 a"""
        return _unary(ops.Tanh, self)

    def sigmoid(self) -> Tensor:
        r"""sigma(z) = 1/(1+e^-z);  sigma'(z) = sigma(z)(1-sigma(z)), exact in both tails"""
        op = _new(ops.Sigmoid)  # bench_mlp: _unary written out, one call less per layer
        op.needs = (True,)
        return Tensor.from_op(op.forward(self.data), (self,), "sigmoid", ops.Sigmoid.vjp, op)

    def relu(self) -> Tensor:
        r"""max(0, a);  d/da = 1 where a > 0, else 0"""
        return _unary(ops.Relu, self)

    # ---- reductions (tensor_ops.Sum, Mean, Max) -------------------------------------------
    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        r"""sum_i a_i;  d/da_i = 1 (upstream copied back over the summed axes)"""
        return _apply(ops.Sum, (self,), _axes(axis, self.ndim, "sum"), keepdims)

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        r"""(1/n) sum_i a_i;  d/da_i = 1/n"""
        return _apply(ops.Mean, (self,), _axes(axis, self.ndim, "mean"), keepdims)

    def max(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        r"""max_i a_i;  d/da_i = 1/k at the k tied maxima, 0 elsewhere"""
        if self.data.size == 0:
            raise ValueError(f"Tensor max: empty tensor of shape {self.shape}")
        return _apply(ops.Max, (self,), _axes(axis, self.ndim, "max"), keepdims)

    # ---- shape ops (tensor_ops.Reshape, Transpose, Index) ---------------------------------
    def reshape(self, *shape: Any) -> Tensor:
        r"""the same numbers in another shape;  the gradient is reshaped back"""
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], Sequence) else shape
        try:
            return _apply(ops.Reshape, (self,), shape)
        except ValueError:
            raise ValueError(f"Tensor reshape: cannot reshape {self.shape} "
                             f"({self.data.size} numbers) into {shape}") from None

    def transpose(self, *axes: int) -> Tensor:
        r"""axes permuted (reversed by default);  the gradient is permuted back"""
        axes = tuple(axes[0]) if len(axes) == 1 and isinstance(axes[0], Sequence) else axes
        order = tuple(a + self.ndim if a < 0 else a for a in axes) or tuple(
            reversed(range(self.ndim)))  # negative axes count from the end, as in numpy
        if sorted(order) != list(range(self.ndim)):
            raise ValueError(f"Tensor transpose: axes {order} are not a permutation of the "
                             f"{self.ndim} axes of shape {self.shape}")
        return _apply(ops.Transpose, (self,), order)

    @property
    def T(self) -> Tensor:
        return self.transpose()

    def __getitem__(self, index: Any) -> Tensor:
        r"""a[index];  d/da = 1 at the picked places (repeated picks add up), 0 elsewhere"""
        index = _plain_index(index)
        try:
            return _apply(ops.Index, (self,), index)
        except (IndexError, ValueError) as error:
            raise IndexError(f"Tensor []: index {index!r} does not fit shape {self.shape}: "
                             f"{error}") from None

    # ---- matrix product and softmax (tensor_ops.Matmul, Softmax, LogSoftmax) --------------
    def __matmul__(self, other: Any) -> Tensor:
        r"""a @ b;  dC/da = g @ b^T,  dC/db = a^T @ g  (vectors as in numpy)"""
        return _matmul(self, _lift(other, "@", self))

    def __rmatmul__(self, other: Any) -> Tensor:  # other @ self
        return _matmul(_lift(other, "@", self), self)

    def softmax(self, axis: int = -1) -> Tensor:
        r"""s_i = e^{a_i} / sum_j e^{a_j};  dC/da = s * (g - sum(g * s))"""
        _axes(axis, self.ndim, "softmax")  # a bad axis is an error naming softmax
        return _apply(ops.Softmax, (self,), axis)

    def log_softmax(self, axis: int = -1) -> Tensor:
        r"""a_i - log sum_j e^{a_j};  dC/da = g - softmax(a) * sum(g)"""
        _axes(axis, self.ndim, "log_softmax")
        return _apply(ops.LogSoftmax, (self,), axis)

    def log_softmax_data(self, axis: int = -1) -> np.ndarray:
        """log softmax of the data without a graph, shifted by the max so nothing overflows."""
        _axes(axis, self.ndim, "log_softmax")
        return ops.log_softmax(self.data, axis)


def _own(leaf: Tensor, grad: Any, upstream: Any) -> np.ndarray:
    """``grad`` as the leaf's own array of the leaf's dtype: kept when the rule (or a sum)
    has just made it, copied when it is the upstream array or a view of some array."""
    dtype = leaf.data.dtype
    if type(grad) is np.ndarray and grad.dtype is dtype and grad.base is None \
            and grad is not upstream:
        return grad
    return np.array(grad, dtype=dtype)


# ---- helpers that run an op and record its node ---------------------------------------------
def _apply(cls: type[Op], parents: tuple[Tensor, ...], *params: Any) -> Tensor:
    """Run op ``cls`` forward on the parents' arrays (and ``params``), and record the node."""
    op = _new(cls)  # bench_mlp: no __init__; forward sets the saved values
    op.needs = tuple([p.requires_grad for p in parents])
    data = op.forward(*[p.data for p in parents], *params)
    return Tensor.from_op(data, parents, cls.name, cls.vjp, op)


def _unary(cls: type[Op], a: Tensor) -> Tensor:
    """``_apply`` for an elementwise op of one input."""
    op = _new(cls)  # bench_mlp: the activations; no __init__, no argument tuples
    op.needs = (True,)
    return Tensor.from_op(op.forward(a.data), (a,), cls.name, cls.vjp, op)


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


def _binary(cls: type[ops.Binary], a: Tensor, b: Any) -> Tensor:
    """a (op) b with numpy broadcasting; the shape error names the op and both shapes."""
    b = _lift(b, cls.name, a)
    try:
        return _apply(cls, (a, b))
    except ValueError as error:
        if "broadcast" not in str(error):
            raise
        raise ValueError(f"Tensor {cls.name}: shapes {a.shape} and {b.shape} do not broadcast "
                         "(numpy rules: trailing axes must match or be 1)") from None


def _axes(axis: Any, ndim: int, op: str) -> tuple[int, ...]:
    """``axis`` (None, int or tuple) as a tuple of non-negative axes, checked against ndim."""
    if axis is None:
        return tuple(range(ndim))
    if ndim == 0 and isinstance(axis, (int, np.integer)) and axis in (0, -1):
        return ()  # a 0-d tensor: axis 0 or -1 is the whole tensor (numpy's sum/max, torch)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    for a in axes:
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)) or not -ndim <= a < ndim:
            raise ValueError(f"Tensor {op}: axis {a!r} is out of range for {ndim} dimensions"
                             + (" (a 0-d tensor takes axis=None, 0 or -1)" if ndim == 0
                                else ""))
    if len(set(a % ndim for a in axes)) != len(axes):
        raise ValueError(f"Tensor {op}: axis {axis!r} names an axis twice")
    return tuple(sorted(a % ndim for a in axes))


def _plain_index(index: Any) -> Any:
    """Tensors inside an index become numpy indices: a boolean Tensor a mask, an integer
    Tensor integer indices; a float Tensor (or float array) is an error, as in numpy."""
    if isinstance(index, tuple):
        return tuple(_plain_index(i) for i in index)
    if isinstance(index, Tensor):
        kind = getattr(index, "_kind", "f")
        if kind == "b":
            return index.data != 0
        if kind in "iu" and np.array_equal(index.data, np.round(index.data)):
            return index.data.astype(np.intp)
        raise IndexError(f"Tensor []: index tensors must hold integers or booleans (made "
                         f"from an int or bool array), got {kind!r} data "
                         f"{np.array2string(index.data, threshold=6)}")
    if isinstance(index, np.ndarray) and index.dtype.kind == "f":
        raise IndexError(f"Tensor []: index arrays must hold integers or booleans, got "
                         f"{index.dtype} {np.array2string(index, threshold=6)}")
    return index


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
        return _apply(ops.Matmul, (a, b))
    except ValueError:
        raise ValueError(f"Tensor @: shapes {a.shape} and {b.shape} do not "
                         "broadcast over their batch axes") from None


# ---- the layer op ---------------------------------------------------------------------------
def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    r"""z = x @ w^T + b, one node per layer (Nielsen's z^l = w^l a^{l-1} + b^l, batch first).

    dC/dx = g @ w,  dC/dw = g^T @ x,  dC/db = sum over the batch of g (``tensor_ops.Linear``).
    x: (n_in,) or (N, n_in); w: (n_out, n_in); b: (n_out,); z: (n_out,) or (N, n_out).
    """
    if type(x) is not Tensor:  # bench_mlp: the common case, a Tensor, without isinstance
        x = _lift(x, "linear", weight)
    a, w = x.data, weight.data  # a: (N, n_in) or (n_in,); w: (n_out, n_in)
    if w.ndim != 2 or a.ndim not in (1, 2) or a.shape[-1] != w.shape[1]:
        raise ValueError(f"linear: input of shape {a.shape} does not fit a weight of shape "
                         f"{w.shape} (expected (N, {w.shape[-1]}) or ({w.shape[-1]},))")
    if bias is None:
        return _apply(ops.Linear, (x, weight))
    b = bias.data
    if b.shape != (w.shape[0],):
        raise ValueError(f"linear: bias of shape {b.shape} does not fit a weight of "
                         f"shape {w.shape} (expected ({w.shape[0]},))")
    op = _new(ops.Linear)  # bench_mlp: _apply written out, without its argument lists
    op.needs = (x.requires_grad, weight.requires_grad, bias.requires_grad)
    return Tensor.from_op(op.forward(a, w, b), (x, weight, bias), "linear", ops.Linear.vjp, op)
