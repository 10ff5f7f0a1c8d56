"""Value: a scalar node. Each op computes its result and, right beside it, its local derivatives.

For a scalar the chain rule is one multiplication: dC/d parent += (d out/d parent) * dC/d out.
So every op stores its local derivatives d out/d parent (plain floats) when it runs, and one
shared backward rule multiplies them by the upstream gradient. What the pictures show on each
edge is exactly the number the engine multiplies by.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

from minigrad import engine
from minigrad.engine import Node, backward

__all__ = ["Value"]


def _chain_one(local: tuple[float], upstream: float) -> tuple[float]:
    """Chain rule for a one-parent op: contribution = local * upstream."""
    return (local[0] * upstream,)


def _chain_two(local: tuple[float, float], upstream: float) -> tuple[float, float]:
    """Chain rule for a two-parent op: contribution_i = local_i * upstream."""
    return (local[0] * upstream, local[1] * upstream)


_new = object.__new__
_CHAIN_RULES = (None, _chain_one, _chain_two)  # by number of parents


def _ieee_pow(a: float, n: float) -> float:
    """a ** n as IEEE floats give it: +-inf on overflow, inf for 0 to a negative power."""
    try:
        return a**n
    except OverflowError:
        return -math.inf if a < 0.0 and n % 2.0 == 1.0 else math.inf
    except ZeroDivisionError:
        return math.inf


def _result(data: float, parents: tuple[Value, ...], op: str, local: tuple[float, ...]) -> Value:
    """A new node made by ``op`` from ``parents``, with d(result)/d(parent_i) = local[i]."""
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    if engine._grad_enabled:
        out._parents = parents
        out._op = op
        out._rule = _CHAIN_RULES[len(parents)]
        out._ctx = local
    else:
        out._parents = ()
        out._op = ""
        out._rule = None
        out._ctx = None
    return out


def _as_value(x: Any, op: str) -> Value:
    """Wrap a plain number as a constant leaf; anything else is an error naming ``op``."""
    if isinstance(x, Value):
        return x
    if isinstance(x, Real) and not isinstance(x, bool):
        return Value(x)
    raise TypeError(f"Value {op}: expected a Value or a real number, got {type(x).__name__} {x!r}")


class Value(Node):
    """A scalar with a gradient: ``Value(2.0, label="w")``."""

    __slots__ = ()
    _NO_GRAD = 0.0

    def __init__(self, data: float, label: str = "") -> None:
        if isinstance(data, Value):
            raise TypeError("Value(data): data is already a Value; use it directly")
        if isinstance(data, bool) or not isinstance(data, Real):
            raise TypeError(f"Value(data): expected a real number, got {type(data).__name__} "
                            f"{data!r}")
        self.data = float(data)
        self.grad = 0.0
        self.label = label
        self._parents = ()
        self._op = ""
        self._rule = None
        self._ctx = None

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
        return _result(float(data), parents, op, local)

    def local_derivatives(self) -> tuple[float, ...]:
        """d(self)/d(parent) for each parent, as computed by the forward op."""
        return self._ctx if self._ctx is not None else ()

    def backward(self, on_step=None, keep_grads: bool = True) -> None:
        """Seed dself/dself = 1 and apply the chain rule to every node below (see engine)."""
        backward(self, 1.0, on_step, keep_grads)

    def zero_grad(self) -> None:
        """Set this node's gradient to 0 (leaf gradients accumulate across backward calls)."""
        self.grad = 0.0

    # ---- arithmetic ---------------------------------------------------------------------
    def __add__(self, other: Any) -> Value:
        r"""a + b;  d/da = 1,  d/db = 1"""
        other = other if type(other) is Value else _as_value(other, "+")
        return _result(self.data + other.data, (self, other), "+", (1.0, 1.0))

    def __radd__(self, other: Any) -> Value:  # other + self
        return _as_value(other, "+") + self

    def __mul__(self, other: Any) -> Value:
        r"""a * b;  d/da = b,  d/db = a"""
        other = other if type(other) is Value else _as_value(other, "*")
        return _result(self.data * other.data, (self, other), "*", (other.data, self.data))

    def __rmul__(self, other: Any) -> Value:  # other * self
        return _as_value(other, "*") * self

    def __neg__(self) -> Value:
        r"""-a;  d/da = -1"""
        return _result(-self.data, (self,), "neg", (-1.0,))

    def __sub__(self, other: Any) -> Value:
        r"""a - b;  d/da = 1,  d/db = -1"""
        other = other if type(other) is Value else _as_value(other, "-")
        return _result(self.data - other.data, (self, other), "-", (1.0, -1.0))

    def __rsub__(self, other: Any) -> Value:  # other - self
        return _as_value(other, "-") - self

    def __truediv__(self, other: Any) -> Value:
        r"""a / b;  d/da = 1/b,  d/db = -a/b^2"""
        other = other if type(other) is Value else _as_value(other, "/")
        b = other.data
        if b == 0.0:
            raise ZeroDivisionError(f"Value /: division of {self.data!r} by a zero Value")
        q = self.data / b
        return _result(q, (self, other), "/", (1.0 / b, -q / b))

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
            return _result(out, (self, exponent), "**",
                           (n * _ieee_pow(a, n - 1.0), out * math.log(a)))
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
        return _result(_ieee_pow(a, n), (self,), f"**{exponent:g}", (local,))

    def __rpow__(self, base: Any) -> Value:  # base ** self
        return _as_value(base, "**") ** self

    # ---- functions ----------------------------------------------------------------------
    def exp(self) -> Value:
        r"""e^a;  d/da = e^a  (inf past a = 709.78, where float64 ends, with no error)"""
        try:
            out = math.exp(self.data)
        except OverflowError:
            out = math.inf
        return _result(out, (self,), "exp", (out,))

    def log(self) -> Value:
        r"""ln a;  d/da = 1/a  (a > 0; NaN propagates)"""
        a = self.data
        if a <= 0.0:
            raise ValueError(f"Value log: needs a positive number, got {a!r}")
        return _result(math.log(a), (self,), "log", (1.0 / a,))

    def tanh(self) -> Value:
        r"""tanh a;  d/da = 1 - tanh^2 a"""
        t = math.tanh(self.data)
        return _result(t, (self,), "tanh", (1.0 - t * t,))

    def sigmoid(self) -> Value:
        r"""sigma(a) = 1/(1+e^-a);  sigma'(a) = sigma(a)(1 - sigma(a)) = e^-|a| / (1+e^-|a|)^2"""
        a = self.data
        e = math.exp(-abs(a))  # in (0, 1]: never overflows, keeps precision when saturated
        s = 1.0 / (1.0 + e) if a >= 0.0 else e / (1.0 + e)
        # min: near z = 0 rounding can land one ulp above sigma's true maximum of 1/4
        return _result(s, (self,), "sigmoid", (min(e / ((1.0 + e) * (1.0 + e)), 0.25),))

    def relu(self) -> Value:
        r"""max(0, a);  d/da = 1 if a > 0 else 0"""
        a = self.data
        return _result(0.0 if a <= 0.0 else a, (self,), "relu",  # NaN stays NaN
                       (1.0 if a > 0.0 else 0.0,))

    # ---- comparisons (on data; they build no graph) -------------------------------------
    def __lt__(self, other: Any) -> bool:
        return self.data < (other.data if isinstance(other, Value) else other)

    def __gt__(self, other: Any) -> bool:
        return self.data > (other.data if isinstance(other, Value) else other)

    def __float__(self) -> float:
        return self.data
