"""Tests for minigrad.Value: every scalar op against finite differences and closed forms.

Also: plain numbers on either side, the bad inputs (clear errors that change nothing), NaN and inf
propagating like IEEE floats, and saturation without overflow warnings.
"""

from __future__ import annotations

import gc
import math
import operator
import warnings
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import nonzero_floats, positive_floats, small_floats

from minigrad import Value, gradcheck

NAN, INF = math.nan, math.inf


def grads(f: Callable[..., Value], *xs: float) -> tuple[float, list[float]]:
    """f's value and its gradient with respect to each argument, by backward()."""
    leaves = [Value(x) for x in xs]
    out = f(*leaves)
    out.backward()
    return out.data, [leaf.grad for leaf in leaves]


def same_float(a: float, b: float) -> bool:
    """Equal as IEEE floats, where NaN equals NaN."""
    return (math.isnan(a) and math.isnan(b)) or a == b


# ---- construction ----------------------------------------------------------------------------


def test_a_leaf_holds_a_float_its_label_and_no_parents() -> None:
    v = Value(3, label="w")
    assert type(v.data) is float and v.data == 3.0
    assert (v.grad, v.label, v.parents, v.op, v.is_leaf) == (0.0, "w", (), "", True)
    assert v.local_derivatives() == ()
    assert repr(v) == "Value(w=3, grad=0)"
    assert float(v) == 3.0


def test_parents_and_local_derivatives_pair_up_for_one_and_two_inputs() -> None:
    a, b = Value(2.0), Value(-3.0)
    assert ((a * b).parents, (a * b).local_derivatives()) == ((a, b), (-3.0, 2.0))
    assert ((-a).parents, (-a).local_derivatives()) == ((a,), (-1.0,))
    assert ((a * a).parents, (a * a).local_derivatives()) == ((a, a), (2.0, 2.0))


# Each op of this list makes one node from a = 0.5 and b = 2.0 (Values).
_OPS: dict[str, Callable[[Value, Value], Value]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "** b": operator.pow, "+ 1.0": lambda a, b: a + 1.0, "neg": lambda a, b: -a,
    "**2": lambda a, b: a**2, "exp": lambda a, b: a.exp(), "log": lambda a, b: a.log(),
    "tanh": lambda a, b: a.tanh(), "sigmoid": lambda a, b: a.sigmoid(),
    "relu": lambda a, b: a.relu(),
}


@pytest.mark.parametrize("name", sorted(_OPS))
def test_an_op_allocates_one_object_the_cyclic_collector_tracks(name: str) -> None:
    """The node itself, and no tuples of parents or local derivatives beside it: Python's
    cyclic collector runs after every 700 such allocations and rescans what survives, so this
    is what sets its cost in a scalar training step (benchmarks/bench_scalar.py). ``+ 1.0``
    makes two: the constant 1.0 becomes a leaf Value."""
    op, a, b, n = _OPS[name], Value(0.5), Value(2.0), 1000
    kept: list[Value | None] = [None] * n
    gc.disable()
    try:
        before = gc.get_count()[0]
        for i in range(n):
            kept[i] = op(a, b)
        tracked = gc.get_count()[0] - before
    finally:
        gc.enable()
    expected = 2 * n if name == "+ 1.0" else n
    assert expected <= tracked <= expected + 5, f"{name}: {tracked / n:.2f} tracked objects per op"


def test_comparisons_read_the_data() -> None:
    assert Value(1.0) < Value(2.0) and Value(2.0) > 1.0 and not Value(2.0) < 1.0


# ---- every op against finite differences -----------------------------------------------------

BINARY = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
}


@pytest.mark.parametrize("op", list(BINARY))
@given(a=small_floats(), b=nonzero_floats())
def test_binary_ops_match_finite_differences(op: str, a: float, b: float) -> None:
    """Value op Value, Value op number and number op Value, against finite differences."""
    f = BINARY[op]
    assert gradcheck(f, Value(a), Value(b))
    assert gradcheck(lambda x: f(x, b), Value(a))  # Value op number
    assert gradcheck(lambda y: f(a, y), Value(b))  # number op Value (reflected)


@pytest.mark.parametrize("op", list(BINARY))
@given(a=small_floats(), b=nonzero_floats())
def test_binary_ops_compute_what_floats_compute(op: str, a: float, b: float) -> None:
    """Forward values equal float arithmetic, whichever side the plain number is on."""
    f = BINARY[op]
    assert f(Value(a), Value(b)).data == f(a, b)
    assert f(Value(a), b).data == f(a, b)
    assert f(a, Value(b)).data == f(a, b)
    assert isinstance(f(a, Value(b)), Value) and isinstance(f(Value(a), b), Value)


@given(a=small_floats(), b=nonzero_floats())
def test_binary_ops_closed_form_gradients(a: float, b: float) -> None:
    """d(a+b) = (1, 1), d(a-b) = (1, -1), d(ab) = (b, a), d(a/b) = (1/b, -a/b^2)."""
    assert grads(operator.add, a, b)[1] == [1.0, 1.0]
    assert grads(operator.sub, a, b)[1] == [1.0, -1.0]
    assert grads(operator.mul, a, b)[1] == [b, a]
    value, (da, db) = grads(operator.truediv, a, b)
    assert da == pytest.approx(1 / b, rel=1e-15)
    assert db == pytest.approx(-a / b**2, rel=1e-12, abs=1e-300)


@given(small_floats())
def test_negation(a: float) -> None:
    assert grads(operator.neg, a) == (-a, [-1.0])
    assert gradcheck(operator.neg, Value(a))


UNARY = {
    "exp": (small_floats(), math.exp, math.exp),
    "log": (positive_floats(), math.log, lambda a: 1 / a),
    "tanh": (small_floats(5.0), math.tanh, lambda a: 1 - math.tanh(a) ** 2),
    "sigmoid": (small_floats(20.0), lambda a: 1 / (1 + math.exp(-a)),
                lambda a: math.exp(-a) / (1 + math.exp(-a)) ** 2),
    "relu": (nonzero_floats(), lambda a: max(a, 0.0), lambda a: float(a > 0)),
}


@pytest.mark.parametrize("name", list(UNARY))
@given(data=st.data())
def test_unary_functions(name: str, data: st.DataObject) -> None:
    """Value and derivative equal the closed forms, and backward matches finite differences."""
    inputs, forward, derivative = UNARY[name]
    a = data.draw(inputs)
    value, (grad,) = grads(lambda x: getattr(x, name)(), a)
    assert value == pytest.approx(forward(a), rel=1e-12, abs=1e-300)
    assert grad == pytest.approx(derivative(a), rel=1e-9, abs=1e-300)
    assert gradcheck(lambda x: getattr(x, name)(), Value(a))


@given(a=small_floats(), n=st.integers(-3, 4))
def test_power_with_an_integer_exponent(a: float, n: int) -> None:
    """a ** n for any base (away from 0 when n < 0): d/da = n a^(n-1)."""
    if n < 0:
        a = a if abs(a) >= 0.1 else 0.5
    value, (grad,) = grads(lambda x: x**n, a)
    assert value == pytest.approx(a**n, rel=1e-12)
    assert grad == pytest.approx(n * a ** (n - 1) if n != 0 else 0.0, rel=1e-12)
    assert gradcheck(lambda x: x**n, Value(a))


@given(a=positive_floats(), n=small_floats(2.5))
def test_power_with_a_real_exponent(a: float, n: float) -> None:
    assert gradcheck(lambda x: x**n, Value(a))


@given(a=positive_floats(0.2, 3.0), n=small_floats(2.5))
def test_power_with_a_value_exponent(a: float, n: float) -> None:
    """a ** n with both Values: d/da = n a^(n-1), d/dn = a^n ln a; also number ** Value."""
    value, (da, dn) = grads(operator.pow, a, n)
    assert value == pytest.approx(a**n, rel=1e-12)
    assert da == pytest.approx(n * a ** (n - 1), rel=1e-12, abs=1e-300)
    assert dn == pytest.approx(a**n * math.log(a), rel=1e-12, abs=1e-300)
    assert gradcheck(operator.pow, Value(a), Value(n))
    assert gradcheck(lambda y: a**y, Value(n))  # number ** Value (reflected)
    assert (a ** Value(n)).data == pytest.approx(a**n, rel=1e-12)


def test_closed_form_values() -> None:
    """Known numbers: the derivatives at the textbook points."""
    assert grads(lambda x: x.sigmoid(), 0.0) == (0.5, [0.25])
    assert grads(lambda x: x.tanh(), 0.0) == (0.0, [1.0])
    assert grads(lambda x: x.exp(), 0.0) == (1.0, [1.0])
    assert grads(lambda x: x.log(), 1.0) == (0.0, [1.0])
    assert grads(lambda x: x.log(), math.e) == (1.0, [1 / math.e])
    assert grads(lambda x: x.relu(), -1.0) == (0.0, [0.0])
    assert grads(lambda x: x.relu(), 2.0) == (2.0, [1.0])
    assert grads(lambda x: x**3, 2.0) == (8.0, [12.0])
    assert grads(lambda x: x**0.5, 4.0) == (2.0, [0.25])
    value, (db, dn) = grads(operator.pow, 2.0, 3.0)
    assert (value, db) == (8.0, 12.0) and dn == pytest.approx(8 * math.log(2.0), rel=1e-15)
    assert grads(lambda x, y: (x * y).sigmoid(), 2.0, -3.0)[1] == pytest.approx(
        [-3 * math.exp(6) / (1 + math.exp(6)) ** 2, 2 * math.exp(6) / (1 + math.exp(6)) ** 2])


def test_micrograd_readme_example() -> None:
    """The example on micrograd's first screen: g = 24.7041, dg/da = 138.8338, dg/db = 645.5773."""
    a, b = Value(-4.0), Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    assert f"{g.data:.4f} {a.grad:.4f} {b.grad:.4f}" == "24.7041 138.8338 645.5773"


def test_edge_powers_at_zero() -> None:
    """0 ** 0 = 1 with slope 0; sqrt(0) = 0 with an infinite slope; 0 ** 2 has slope 0."""
    assert grads(lambda x: x**0, 0.0) == (1.0, [0.0])
    assert grads(lambda x: x**0.5, 0.0) == (0.0, [INF])
    assert grads(lambda x: x**2, 0.0) == (0.0, [0.0])


def test_op_names_and_local_derivatives() -> None:
    """What the pictures show on each edge: the op and d(out)/d(parent) at this point."""
    a, b = Value(2.0), Value(-3.0)
    cases = [
        (a + b, "+", (1.0, 1.0)),
        (a - b, "-", (1.0, -1.0)),
        (a * b, "*", (-3.0, 2.0)),
        (a / b, "/", (-1 / 3, -(2 / -3) / -3)),
        (-a, "neg", (-1.0,)),
        (a**3, "**3", (12.0,)),
        (a.exp(), "exp", (math.exp(2.0),)),
        (a.log(), "log", (0.5,)),
        (a.tanh(), "tanh", (1 - math.tanh(2.0) ** 2,)),
        (b.relu(), "relu", (0.0,)),
    ]
    for out, op, local in cases:
        assert out.op == op
        assert out.local_derivatives() == pytest.approx(local, rel=1e-15)


# ---- bad input: a clear error that changes nothing -------------------------------------------


@pytest.mark.parametrize("bad", ["abc", None, True, [1.0], 1 + 2j])
def test_value_of_a_non_number_is_a_type_error(bad: object) -> None:
    with pytest.raises(TypeError, match="Value"):
        Value(bad)


def test_value_of_a_value_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="already a Value"):
        Value(Value(1.0))


@pytest.mark.parametrize("op", list(BINARY) + ["**"])
def test_ops_with_a_non_number_name_the_op(op: str) -> None:
    f = BINARY.get(op, operator.pow)
    a = Value(2.0)
    for left, right in ((a, "abc"), ("abc", a)):
        with pytest.raises(TypeError, match=f"Value {'[*][*]' if op == '**' else '[' + op + ']'}"):
            f(left, right)
    assert (a.data, a.grad) == (2.0, 0.0)


@pytest.mark.parametrize("bad", [0.0, -1.0, -0.0, -INF])
def test_log_of_a_non_positive_number_is_a_value_error(bad: float) -> None:
    a = Value(bad)
    with pytest.raises(ValueError, match=r"Value log.*" + repr(bad).replace("-", "[-]")):
        a.log()
    assert same_float(a.data, bad) and a.grad == 0.0


@pytest.mark.parametrize("numerator", [Value(1.0), 1.0, Value(0.0)])
def test_division_by_a_zero_value(numerator: object) -> None:
    zero = Value(0.0)
    with pytest.raises(ZeroDivisionError, match="Value /"):
        numerator / zero
    assert (zero.data, zero.grad) == (0.0, 0.0)


def test_division_by_a_zero_number() -> None:
    a = Value(3.0)
    with pytest.raises(ZeroDivisionError, match="Value /"):
        a / 0.0
    assert (a.data, a.grad) == (3.0, 0.0)


def test_undefined_powers_are_errors() -> None:
    with pytest.raises(ZeroDivisionError, match=r"Value \*\*"):
        Value(0.0) ** -1
    with pytest.raises(ValueError, match=r"Value \*\*.*-2.0.*0.5"):
        Value(-2.0) ** 0.5
    with pytest.raises(ValueError, match=r"Value \*\*.*positive base.*-2.0"):
        Value(-2.0) ** Value(2.0)
    with pytest.raises(ValueError, match=r"Value \*\*.*positive base"):
        Value(0.0) ** Value(2.0)


# ---- NaN and inf propagate like IEEE floats -----------------------------------------------------

SPECIALS = [NAN, INF, -INF]


@pytest.mark.parametrize("op", list(BINARY))
@pytest.mark.parametrize("special", SPECIALS)
@pytest.mark.parametrize("other", [2.5, -0.5, INF, NAN])
def test_nan_and_inf_propagate_through_arithmetic(op: str, special: float, other: float) -> None:
    f = BINARY[op]
    assert same_float(f(Value(special), Value(other)).data, f(special, other))
    assert same_float(f(Value(other), Value(special)).data, f(other, special))


@pytest.mark.parametrize("special", SPECIALS)
def test_nan_and_inf_propagate_through_functions(special: float) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        v = Value(special)
        assert same_float(v.exp().data, math.exp(special) if special != INF else INF)
        assert same_float(v.tanh().data, math.tanh(special))
        assert same_float((-v).data, -special)
        assert same_float((v**2).data, special**2)
        if special != -INF:
            assert same_float(v.log().data, math.log(special))
        expected_sigmoid = {INF: 1.0, -INF: 0.0}.get(special, NAN)
        assert same_float(v.sigmoid().data, expected_sigmoid)


def test_nan_gradients_propagate() -> None:
    """A NaN anywhere on a path makes the gradient along it NaN, as float arithmetic would."""
    a, b = Value(NAN), Value(2.0)
    (a * b).backward()
    assert math.isnan(b.grad) and a.grad == 2.0


# ---- saturation: finite, correct, no warnings -------------------------------------------------


@pytest.fixture
def warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.mark.parametrize("z", [1000.0, -1000.0, 800.0, -800.0])
def test_saturated_sigmoid_and_tanh_are_finite(z: float, warnings_are_errors) -> None:
    s = Value(z).sigmoid()
    t = Value(z).tanh()
    s.backward()
    t.backward()
    assert s.data == (1.0 if z > 0 else 0.0)
    assert t.data == math.copysign(1.0, z)
    assert s.local_derivatives() == (0.0,) and t.local_derivatives() == (0.0,)


@pytest.mark.parametrize("z", [30.0, -30.0, 700.0, -700.0])
def test_sigmoid_keeps_precision_in_the_tails(z: float, warnings_are_errors) -> None:
    """sigma(-30) ~ 9.36e-14 and sigma'(+-30) to full relative precision: no 1 - 1 cancellation."""
    x = Value(z)
    s = x.sigmoid()
    s.backward()
    tail = math.exp(-abs(z))
    assert s.data == pytest.approx(1 / (1 + tail) if z > 0 else tail / (1 + tail), rel=1e-15)
    assert x.grad == pytest.approx(tail / (1 + tail) ** 2, rel=1e-15)
    assert x.grad > 0.0


def test_exp_of_large_inputs(warnings_are_errors) -> None:
    """exp(709) is finite with gradient exp(709); past float64's end it is inf, quietly."""
    x = Value(709.0)
    y = x.exp()
    y.backward()
    assert math.isfinite(y.data) and y.data == math.exp(709.0) == x.grad
    x = Value(1000.0)
    y = x.exp()
    y.backward()
    assert y.data == INF and x.grad == INF
    assert Value(-1000.0).exp().data == 0.0


def test_overflowing_power_is_inf_like_float_multiplication(warnings_are_errors) -> None:
    """1e200 ** 2 overflows to inf (as 1e200 * 1e200 does), with the sign of an odd power."""
    assert (Value(1e200) ** 2).data == 1e200 * 1e200 == INF
    assert (Value(-1e200) ** 3).data == -INF
    assert (Value(10.0) ** Value(400.0)).data == INF


def test_from_op_makes_a_new_op_whose_local_derivative_backward_uses():
    x = Value(1.5, label="x")
    s = 1.0 / (1.0 + math.exp(-1.5))
    y = Value.from_op(math.log1p(math.exp(1.5)), (x,), "softplus", (s,))
    assert y.op == "softplus" and y.parents == (x,) and y.local_derivatives() == (s,)
    (y * 2.0).backward()
    assert x.grad == pytest.approx(2.0 * s, rel=1e-15)
    assert gradcheck(lambda v: Value.from_op(math.log1p(math.exp(v.data)), (v,), "softplus",
                                             (1.0 / (1.0 + math.exp(-v.data)),)), x)


def test_from_op_rejects_mismatched_parents_and_local_derivatives():
    x = Value(1.0)
    with pytest.raises(ValueError, match="1 parents but 2 local derivatives"):
        Value.from_op(1.0, (x,), "bad", (1.0, 2.0))
    with pytest.raises(TypeError, match="parents must be one or two Values"):
        Value.from_op(1.0, (1.0,), "bad", (1.0,))


def test_relu_of_nan_is_nan_like_ieee_max():
    assert math.isnan(Value(math.nan).relu().data)


def test_sigmoid_derivative_never_exceeds_its_quarter_ceiling_by_rounding():
    """Near z = 0 the formula e/(1+e)^2 can round one ulp above 1/4; sigma' <= 1/4 exactly."""
    for z in (0.0, 1e-12, -1e-12, 1e-9, 3e-8):
        assert Value(z).sigmoid().local_derivatives()[0] <= 0.25


def test_an_integer_beyond_float_range_is_named() -> None:
    """Value(10**400) used to end in Python's bare 'int too large to convert to float'."""
    with pytest.raises(OverflowError, match=r"Value\(data\): a 401-digit integer is beyond"):
        Value(10**400)
    with pytest.raises(OverflowError, match=r"Value \*: a negative 401-digit integer"):
        Value(2.0) * -(10**400)
    assert Value(10**300).data == 1e300
