"""Value: a scalar node. Each op computes its result and, right beside it, its local derivatives.

For a scalar the chain rule is one multiplication: dC/d parent += (d out/d parent) * dC/d out.
So every op stores its local derivatives d out/d parent (plain floats) when it runs, and
backward multiplies them by the upstream gradient. What the pictures show on each edge is
exactly the number the engine multiplies by.

An op has one or two inputs, a and b, so a Value keeps them and d out/da, d out/db in four
slots of its own (``_a``, ``_b``, ``_da``, ``_db``), not in tuples: each op allocates one object
that Python's cyclic garbage collector tracks, not three. The collector runs after every 700
such allocations and rescans what survives, even where there is nothing to free; in the
training step of ``benchmarks/bench_scalar.py`` it ran 85 young-generation passes instead of
209, and 0.7 full collections instead of 1.7 (each ~0.1 s in a process with torch loaded).
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

from minigrad import engine
from minigrad.engine import Node, backward

__all__ = ["Value"]

def _ieee_pow(a: float, n: float) -> float:
    """a ** n as IEEE floats give it: +-inf on overflow, inf for 0 to a negative power."""
    try:
        return a**n
    except OverflowError:
        return -math.inf if a < 0.0 and n % 2.0 == 1.0 else math.inf
    except ZeroDivisionError:
        return math.inf


def _unary(data: float, op: str, a: Value, da: float) -> Value:
    """A new node ``data = op(a)`` with local derivative d data/da = ``da``."""
    out = object.__new__(Value)  # bench_scalar: not Value(data), whose checks cost 0.4 us
    out.data = data
    out.grad = 0.0
    out.label = ""
    out._b = None
    if engine._grad_enabled:
        out._op = op
        out._a = a
        out._da = da
    else:
        out._op = ""
        out._a = None
    return out


def _binary(data: float, op: str, a: Value, da: float, b: Value, db: float) -> Value:
    """A new node ``data = op(a, b)`` with local derivatives d data/da = ``da``, d/db = ``db``."""
    out = object.__new__(Value)  # bench_scalar: not Value(data), whose checks cost 0.4 us
    out.data = data
    out.grad = 0.0
    out.label = ""
    if engine._grad_enabled:
        out._op = op
        out._a = a
        out._da = da
        out._b = b
        out._db = db
    else:
        out._op = ""
        out._a = out._b = None
    return out


def _result(data: float, parents: tuple[Value, ...], op: str, local: tuple[float, ...]) -> Value:
    """A new node made by ``op`` from one or two ``parents``, d data/d parent_i = local[i]."""
    if len(parents) == 1:
        return _unary(data, op, parents[0], local[0])
    return _binary(data, op, parents[0], local[0], parents[1], local[1])


def _float(x: Real, where: str) -> float:
    """``x`` as a float, or an error naming ``where`` for an integer beyond float64's range."""
    try:
        return float(x)
    except OverflowError:
        digits = len(str(abs(int(x))))
        sign = "a negative" if x < 0 else "a"
        raise OverflowError(f"{where}: {sign} {digits}-digit integer is beyond the range of a "
                            "float (about 1.8e308)") from None


def _as_value(x: Any, op: str) -> Value:
    """Wrap a plain number as a constant leaf; anything else is an error naming ``op``."""
    if isinstance(x, Value):
        return x
    if isinstance(x, Real) and not isinstance(x, bool):
        return Value(_float(x, f"Value {op}"))
    raise TypeError(f"Value {op}: expected a Value or a real number, got {type(x).__name__} {x!r}")


class Value(Node):
    """A scalar with a gradient: ``Value(2.0, label="w")``."""

    # a, b: the op's inputs (b None for a one-input op, both None for a leaf); da, db: the
    # local derivatives d self/da, d self/db. Node's _rule and _ctx are not used by Value.
    __slots__ = ("_a", "_b", "_da", "_db")
    _NO_GRAD = 0.0

    def __init__(self, data: float, label: str = "") -> None:
        if isinstance(data, Value):
            raise TypeError("Value(data): data is already a Value; use it directly")
        if isinstance(data, bool) or not isinstance(data, Real):
            raise TypeError(f"Value(data): expected a real number, got {type(data).__name__} "
                            f"{data!r}")
        self.data = _float(data, "Value(data)")
        self.grad = 0.0
        self.label = label
        self._op = ""
        self._a = self._b = None

    def __repr__(self) -> str:
        name = f"{self.label}=" if self.label else ""
        return f"Value({name}{self.data:.6g}, grad={self.grad:.6g})"

    @classmethod
    def from_op(cls, data: float, parents: tuple[Value, ...], op: str,
                local: tuple[float, ...]) -> Value:
        """A new op's result: ``data`` made from ``parents`` with d data/d parent_i = local[i].

        This is all an op needs (backward multiplies each local derivative by the upstream
        gradient): ``Value.from_op(math.log1p(math.exp(x.data)), (x,), "softplus", (s,))``.
        """
        parents, local = tuple(parents), tuple(float(d) for d in local)
        if not 1 <= len(parents) <= 2 or not all(isinstance(p, Value) for p in parents):
            raise TypeError(f"Value.from_op {op}: parents must be one or two Values, got "
                            f"{parents!r}")
        if len(local) != len(parents):
            raise ValueError(f"Value.from_op {op}: {len(parents)} parents but {len(local)} "
                             "local derivatives")
        return _result(float(data), parents, op or "op", local)  # '' is a leaf's op

    @property
    def _parents(self) -> tuple[Value, ...]:  # Node.parents reads it
        if self._b is not None:
            return (self._a, self._b)
        return () if self._a is None else (self._a,)

    def local_derivatives(self) -> tuple[float, ...]:
        """d(self)/d(parent) for each parent, as computed by the forward op."""
        if self._b is not None:
            return (self._da, self._db)
        return () if self._a is None else (self._da,)

    def _vjp(self, upstream: float) -> tuple[float, ...]:  # Node.vjp calls it
        if self._b is None:
            return (self._da * upstream,)
        return (self._da * upstream, self._db * upstream)

    def _pass_down(self, upstream: float) -> None:
        """The chain rule at this node: dC/da += d self/da * upstream, and the same for b."""
        a = self._a
        a.grad += self._da * upstream
        b = self._b
        if b is not None:
            b.grad += self._db * upstream

    def backward(self, on_step=None, keep_grads: bool = True) -> None:
        """Seed dself/dself = 1 and apply the chain rule to every node below (see engine)."""
        backward(self, 1.0, on_step, keep_grads)

    def zero_grad(self) -> None:
        """Set this node's gradient to 0 (leaf gradients accumulate across backward calls)."""
        self.grad = 0.0

    # ---- arithmetic ---------------------------------------------------------------------
    def __add__(self, other: Any) -> Value:
        r"""a + b;  d/da = 1,  d/db = 1"""
        # bench_scalar: skips the _as_value call when other is a Value (~10% of an op)
        other = other if type(other) is Value else _as_value(other, "+")
        return _binary(self.data + other.data, "+", self, 1.0, other, 1.0)

    def __radd__(self, other: Any) -> Value:  # other + self
        return _as_value(other, "+") + self

    def __mul__(self, other: Any) -> Value:
        r"""a * b;  d/da = b,  d/db = a"""
        # bench_scalar: skips the _as_value call when other is a Value (~10% of an op)
        other = other if type(other) is Value else _as_value(other, "*")
        return _binary(self.data * other.data, "*", self, other.data, other, self.data)

    def __rmul__(self, other: Any) -> Value:  # other * self
        return _as_value(other, "*") * self

    def __neg__(self) -> Value:
        r"""-a;  d/da = -1"""
        return _unary(-self.data, "neg", self, -1.0)

    def __sub__(self, other: Any) -> Value:
        r"""a - b;  d/da = 1,  d/db = -1"""
        other = _as_value(other, "-")
        return _binary(self.data - other.data, "-", self, 1.0, other, -1.0)

    def __rsub__(self, other: Any) -> Value:  # other - self
        return _as_value(other, "-") - self

    def __truediv__(self, other: Any) -> Value:
        r"""a / b;  d/da = 1/b,  d/db = -a/b^2"""
        other = _as_value(other, "/")
        b = other.data
        if b == 0.0:
            raise ZeroDivisionError(f"Value /: division of {self.data!r} by a zero Value")
        q = self.data / b
        return _binary(q, "/", self, 1.0 / b, other, -q / b)

    def __rtruediv__(self, other: Any) -> Value:  # other / self
        return _as_value(other, "/") / self

    def __pow__(self, exponent: Any) -> Value:
        r"""a ** n;  d/da = n a^(n-1);  for a Value exponent also d/dn = a^n ln a (a > 0)"""
        a = self.data
        if isinstance(exponent, Value):
            n = exponent.data
            if a <= 0.0:
                raise ValueError(f"Value **: a Value exponent needs a positive base, got {a!r}")
            out = _ieee_pow(a, n)
            return _binary(out, "**", self, n * _ieee_pow(a, n - 1.0),
                           exponent, out * math.log(a))
        if isinstance(exponent, bool) or not isinstance(exponent, Real):
            raise TypeError(f"Value **: expected a number or Value exponent, got "
                            f"{type(exponent).__name__} {exponent!r}")
        n = float(exponent)
        if a == 0.0 and n < 0.0:
            raise ZeroDivisionError(f"Value **: 0.0 raised to the negative power {n!r}")
        if a < 0.0 and not n.is_integer():
            raise ValueError(f"Value **: negative base {a!r} to the non-integer power {n!r}")
        # d/da a^0 = 0 even at a = 0; at a = 0 with 0 < n < 1 the slope is inf (sqrt at 0)
        local = n * _ieee_pow(a, n - 1.0) if n != 0.0 else 0.0
        return _unary(_ieee_pow(a, n), f"**{exponent:g}", self, local)

    def __rpow__(self, base: Any) -> Value:  # base ** self
        return _as_value(base, "**") ** self

    # ---- functions ----------------------------------------------------------------------
    def exp(self) -> Value:
        r"""e^a;  d/da = e^a  (inf past a = 709.78, where float64 ends, with no error)"""
        try:
            out = math.exp(self.data)
        except OverflowError:
            out = math.inf
        return _unary(out, "exp", self, out)

    def log(self) -> Value:
        r"""ln a;  d/da = 1/a  (a > 0; NaN propagates)"""
        a = self.data
        if a <= 0.0:
            raise ValueError(f"Value log: needs a positive number, got {a!r}")
        return _unary(math.log(a), "log", self, 1.0 / a)

    def tanh(self) -> Value:
        r"""tanh a;  d/da = 1 - tanh^2 a"""
        t = math.tanh(self.data)
        return _unary(t, "tanh", self, 1.0 - t * t)

    def sigmoid(self) -> Value:
        r"""sigma(a) = 1/(1+e^-a);  sigma'(a) = sigma(a)(1 - sigma(a)) = e^-|a| / (1+e^-|a|)^2"""
        a = self.data
        e = math.exp(-abs(a))  # in (0, 1]: never overflows, keeps precision when saturated
        s = 1.0 / (1.0 + e) if a >= 0.0 else e / (1.0 + e)
        # min: near z = 0 rounding can land one ulp above sigma's true maximum of 1/4
        return _unary(s, "sigmoid", self, min(e / ((1.0 + e) * (1.0 + e)), 0.25))

    def relu(self) -> Value:
        r"""max(0, a);  d/da = 1 if a > 0 else 0"""
        a = self.data
        return _unary(0.0 if a <= 0.0 else a, "relu", self,  # NaN stays NaN
                      1.0 if a > 0.0 else 0.0)

    # ---- comparisons (on data; they build no graph) -------------------------------------
    def __lt__(self, other: Any) -> bool:
        return self.data < (other.data if isinstance(other, Value) else other)

    def __gt__(self, other: Any) -> bool:
        return self.data > (other.data if isinstance(other, Value) else other)

    def __float__(self) -> float:
        return self.data
