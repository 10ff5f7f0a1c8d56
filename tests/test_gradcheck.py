"""Tests for minigrad.gradcheck: it passes right gradients and catches wrong ones, saying where."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import float64_arrays, nonzero_floats, positive_floats, shapes, small_floats

from minigrad import GradcheckError, Tensor, Value, gradcheck
from minigrad.value import _result

# ---- ops with a deliberately wrong backward rule ---------------------------------------------


def square_wrong_value(a: Value) -> Value:
    """a^2 whose local derivative is off by a factor 2: 4a instead of 2a."""
    return _result(a.data * a.data, (a,), "square", (4.0 * a.data,))


def _double_rule(ctx: tuple, g: np.ndarray) -> tuple:
    return (4.0 * ctx[0] * g,)  # should be 2 x g


def square_wrong_tensor(x: Tensor) -> Tensor:
    """x^2 elementwise, built with Tensor.from_op, whose rule is off by a factor 2."""
    return Tensor.from_op(x.data * x.data, (x,), "square", _double_rule, (x.data,))


def _right_rule(ctx: tuple, g: np.ndarray) -> tuple:
    return (2.0 * ctx[0] * g,)


def square_tensor(x: Tensor) -> Tensor:
    """The same custom op with the right rule: gradcheck must accept it."""
    return Tensor.from_op(x.data * x.data, (x,), "square", _right_rule, (x.data,))


def numbers_in(message: str) -> list[float]:
    return [float(m) for m in re.findall(r"-?\d+\.\d+(?:e[-+]?\d+)?", message)]


# ---- passes --------------------------------------------------------------------------------------


@given(a=small_floats(), b=positive_floats())
def test_passes_on_correct_value_functions(a: float, b: float) -> None:
    assert gradcheck(lambda x, y: (x * y + y.log()).tanh() / y, Value(a), Value(b)) is True


@given(float64_arrays(shapes(min_dims=1)))
def test_passes_on_correct_tensor_functions_and_custom_ops(a: np.ndarray) -> None:
    assert gradcheck(lambda x: (x.sigmoid() * x).sum(axis=-1), Tensor(a)) is True
    assert gradcheck(square_tensor, Tensor(a)) is True


def test_non_node_arguments_are_passed_through() -> None:
    """Only Values and Tensors are checked; an axis or a flag goes to f unchanged."""
    seen = []

    def f(x: Tensor, axis: int, scale: float) -> Tensor:
        seen.append((axis, scale))
        return x.sum(axis=axis) * scale

    assert gradcheck(f, Tensor(np.ones((2, 3))), 1, 2.0)
    assert set(seen) == {(1, 2.0)}


# ---- catches -------------------------------------------------------------------------------------


@given(a=small_floats().filter(lambda a: abs(a) > 0.05))
def test_catches_a_value_op_off_by_a_factor_2(a: float) -> None:
    """The message names the input and gives both numbers: 4a from backward, 2a numerically."""
    with pytest.raises(GradcheckError, match="input 0") as info:
        gradcheck(square_wrong_value, Value(a))
    backward_number, numeric_number = numbers_in(str(info.value).split(":", 1)[1])[-2:]
    assert backward_number == pytest.approx(4 * a, rel=1e-12)
    assert numeric_number == pytest.approx(2 * a, rel=1e-6)


def test_catches_a_tensor_op_off_by_a_factor_2_and_names_the_element() -> None:
    x = Tensor(np.array([[0.5, -1.0, 2.0], [1.5, 0.0, -0.5]]), label="w")
    with pytest.raises(GradcheckError) as info:
        gradcheck(square_wrong_tensor, x)
    message = str(info.value)
    assert "input 0 ('w')" in message
    element = re.search(r"element \((\d+), (\d+)\)", message)
    assert element is not None
    i, j = int(element[1]), int(element[2])
    r = np.random.default_rng(0).standard_normal((2, 3))  # gradcheck's fixed weights, seed 0
    analytic, numeric = numbers_in(message.split("element", 1)[1].split(":", 1)[1])[:2]
    assert analytic == pytest.approx(4 * x.data[i, j] * r[i, j], rel=1e-12)
    assert numeric == pytest.approx(2 * x.data[i, j] * r[i, j], rel=1e-6)
    assert "5 of 6 elements differ" in message  # all but the 0.0, whose gradient is 0 either way


@given(float64_arrays(shapes(min_dims=1), small_floats().filter(lambda a: abs(a) > 0.05)))
def test_catches_an_input_treated_as_a_constant(a: np.ndarray) -> None:
    """Tensor(x.data) * x: backward sees x once, finite differences see x^2."""
    with pytest.raises(GradcheckError, match=r"gradcheck: input 0.*backward gives.*finite "
                                             r"differences give"):
        gradcheck(lambda x: Tensor(x.data) * x, Tensor(a))


def test_catches_a_value_treated_as_a_constant() -> None:
    with pytest.raises(GradcheckError, match=r"input 0: backward gives 3\.0, finite differences "
                                             r"give 6\.0"):
        gradcheck(lambda x: Value(x.data) * x, Value(3.0))


def test_names_the_input_that_differs_and_one_never_reached() -> None:
    """The second input enters only through its data: backward never reaches it."""
    with pytest.raises(GradcheckError, match=r"input 1 .*never reached this input"):
        gradcheck(lambda x, y: x * float(y.data.sum()), Tensor([1.0, 2.0]), Tensor([3.0]))
    with pytest.raises(GradcheckError, match=r"input 1 \('b'\)"):
        gradcheck(lambda a, b: a + square_wrong_value(b), Value(1.0), Value(2.0, label="b"))


@given(k=st.one_of(st.floats(1.01, 3.0), st.floats(-3.0, 0.99)), a=float64_arrays(
    shapes(min_dims=1), positive_floats()))
def test_catches_any_wrong_scale(k: float, a: np.ndarray) -> None:
    """A rule off by any factor k != 1 is caught (inputs away from where the gradient is 0)."""
    def rule(ctx: tuple, g: np.ndarray) -> tuple:
        return (k * ctx[0] * g,)

    def f(x: Tensor) -> Tensor:
        return Tensor.from_op(np.exp(x.data), (x,), "exp", rule, (np.exp(x.data),))

    with pytest.raises(GradcheckError):
        gradcheck(lambda x: f(x).sum(), Tensor(a))


# ---- leaves the inputs alone ---------------------------------------------------------------------


@given(float64_arrays(shapes(min_dims=1), nonzero_floats()))
def test_does_not_modify_its_inputs(a: np.ndarray) -> None:
    """Data, dtype, grad and requires_grad are as before, whether the check passes or fails."""
    x = Tensor(a.copy(), requires_grad=True)
    x32 = Tensor(a.copy(), dtype=np.float32)
    v = Value(1.5)
    x.grad = np.full(a.shape, 7.0)
    gradcheck(lambda p, q, s: (p * q).sum() * 1.0, x, x32, Tensor(1.0))
    with pytest.raises(GradcheckError):
        gradcheck(lambda p: Tensor(p.data) * p + 1.0, x)
    with pytest.raises(GradcheckError):
        gradcheck(square_wrong_value, v)
    np.testing.assert_array_equal(x.data, a)
    np.testing.assert_array_equal(x.grad, np.full(a.shape, 7.0))
    assert x.requires_grad and x.dtype == np.float64
    np.testing.assert_array_equal(x32.data, a.astype(np.float32))
    assert x32.dtype == np.float32 and x32.grad is None and not x32.requires_grad
    assert (v.data, v.grad) == (1.5, 0.0)


def test_float32_inputs_are_checked_in_float64() -> None:
    """A float32 input is copied to float64: the check is as exact as for float64."""
    x = Tensor(np.linspace(0.5, 1.5, 4), dtype=np.float32)
    assert gradcheck(lambda p: (p * p).exp().sum(), x, atol=1e-9, rtol=1e-7)


# ---- misuse --------------------------------------------------------------------------------------


def test_misuse_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="nothing to check"):
        gradcheck(lambda a: a * 2, 3.0)
    with pytest.raises(TypeError, match="must return a Value or Tensor"):
        gradcheck(lambda x: 1.0, Tensor([1.0]))
    with pytest.raises(TypeError, match="does not depend"):
        gradcheck(lambda x: Tensor([2.0]), Tensor([1.0]))


def test_gradcheck_error_is_an_assertion_error() -> None:
    """So a bare ``gradcheck(...)`` in a test fails like an assert does."""
    assert issubclass(GradcheckError, AssertionError)


def test_a_gradient_of_the_wrong_shape_is_caught_even_when_it_broadcasts():
    """A rule that forgets to sum over the broadcast axis gives (1, 3) for a (3,) input."""
    from minigrad.tensor import Tensor as T

    def add_forgetting_the_sum(x: T, b: T) -> T:
        def rule(ctx, g):
            return g, g.sum(axis=0, keepdims=True)  # (1, 3): not summed back to b's (3,)

        return T.from_op(x.data + b.data, (x, b), "add_no_sum", rule, ()).sum()

    x = T(np.ones((4, 3)), requires_grad=True)
    b = T(np.zeros(3), requires_grad=True, label="b")
    with pytest.raises(GradcheckError, match=r"input 1 \('b'\).*shape \(1, 3\).*shape \(3,\)"):
        gradcheck(add_forgetting_the_sum, x, b)
