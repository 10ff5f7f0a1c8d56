"""Tests for minigrad.Tensor: every op against finite differences, with hypothesis drawing shapes.

Covers every broadcasting pattern and axis choice, numbers and arrays on either side of each
operator, vector and matrix operands of @, dtypes, the attributes (.item, .numpy, .detach),
no_grad, and the bad inputs: clear errors raised when the op is built, finite saturation.
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from strategies import (
    BROADCAST_PATTERNS,
    axes_for,
    broadcast_pair,
    broadcast_pairs,
    distinct_arrays,
    float64_arrays,
    nonzero_floats,
    positive_floats,
    shapes,
    small_floats,
)

from minigrad import Tensor, gradcheck, no_grad
from minigrad.tensor import linear

# ---- helpers ---------------------------------------------------------------------------------


def leaf(data: np.ndarray) -> Tensor:
    return Tensor(data, requires_grad=True)


def grad_of(f: Callable[[Tensor], Tensor], data: np.ndarray) -> np.ndarray:
    """d sum(f(x)) / dx by backward()."""
    x = leaf(data)
    f(x).sum().backward()
    return x.grad


def as_axis_tuple(axis: int | tuple[int, ...] | None, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    return tuple(a % ndim for a in ((axis,) if isinstance(axis, int) else axis))


@pytest.fixture
def warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# ---- construction and attributes --------------------------------------------------------------


def test_float64_by_default_and_float32_on_request() -> None:
    assert Tensor([1.0, 2.0]).dtype == np.float64
    assert Tensor([1.0, 2.0], dtype=np.float32).dtype == np.float32
    assert Tensor(np.ones(2, np.float32)).dtype == np.float32  # a float32 array stays float32
    assert Tensor(np.ones(2, np.float32), dtype=np.float64).dtype == np.float64
    assert Tensor(3.0).shape == () and Tensor([[1.0, 2.0]]).shape == (1, 2)


@pytest.mark.parametrize("data", [[1, 2, 3], np.arange(3, dtype=np.int32), [True, False, True],
                                  np.array([1, 0, 1], dtype=np.uint8)])
def test_integer_and_boolean_input_becomes_float(data) -> None:
    x = Tensor(data, requires_grad=True)
    assert x.dtype == np.float64
    np.testing.assert_array_equal(x.data, np.asarray(data, dtype=np.float64))
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, 2 * np.asarray(data, dtype=np.float64))
    assert Tensor(data, dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize("bad", ["abc", ["a", "b"], None, {"a": 1}, [1 + 2j]])
def test_non_numbers_are_a_type_error(bad) -> None:
    with pytest.raises(TypeError, match="Tensor"):
        Tensor(bad)


def test_bad_dtype_and_nested_tensor_are_type_errors() -> None:
    with pytest.raises(TypeError, match="float64 or float32"):
        Tensor([1.0], dtype=np.int64)
    with pytest.raises(TypeError, match="already a Tensor"):
        Tensor(Tensor([1.0]))


def test_item_numpy_and_len() -> None:
    assert Tensor(3.5).item() == 3.5 and type(Tensor(3.5).item()) is float
    assert Tensor([[2.0]]).item() == 2.0
    with pytest.raises(ValueError, match=r"item.*\(2,\)"):
        Tensor([1.0, 2.0]).item()
    x = Tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.numpy() is x.data and len(x) == 2 and x.ndim == 2


def test_detach_is_a_constant_leaf_sharing_the_data() -> None:
    x = leaf(np.array([1.0, -2.0, 3.0]))
    d = (x * 2.0).detach()
    assert not d.requires_grad and d.parents == () and d.op == ""
    np.testing.assert_array_equal(d.data, [2.0, -4.0, 6.0])
    c = x.detach()
    assert np.shares_memory(c.data, x.data)
    (c * x).sum().backward()  # only the tracked path counts: d/dx (c * x) = c
    np.testing.assert_array_equal(x.grad, x.data)


def test_no_grad_builds_no_graph() -> None:
    """Tensor ops under no_grad record no parents, and the result cannot be backpropagated."""
    x = leaf(np.array([1.0, 2.0]))
    with no_grad():
        y = (x * 3.0).exp().sum()
    assert not y.requires_grad and y.parents == () and y.op == ""
    assert y.item() == pytest.approx(np.exp(3.0) + np.exp(6.0))
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()
    assert x.grad is None


def test_constants_get_no_gradient() -> None:
    """Inputs with requires_grad=False are not given a gradient; results without one record
    no graph."""
    x = Tensor(np.ones((2, 3)))
    w = leaf(np.full((2, 3), 2.0))
    (x * w + x).sum().backward()
    assert x.grad is None
    np.testing.assert_array_equal(w.grad, np.ones((2, 3)))
    y = x * 2.0 + 1.0
    assert not y.requires_grad and y.parents == ()


# ---- elementwise binary ops: every broadcasting pattern -----------------------------------------

# op -> (function, left elements, right elements): inputs stay away from 0 in divisors and
# from non-positive bases of a power.
BINARY = {
    "+": (operator.add, small_floats(), small_floats()),
    "-": (operator.sub, small_floats(), small_floats()),
    "*": (operator.mul, small_floats(), small_floats()),
    "/": (operator.truediv, small_floats(), nonzero_floats(0.5, 3.0)),
    "**": (operator.pow, positive_floats(0.5, 2.0), small_floats(2.0)),
}


def check_binary(op: str, a: np.ndarray, b: np.ndarray) -> None:
    """Forward as numpy, gradients of the right shapes, and gradients as finite differences."""
    f = BINARY[op][0]
    x, y = leaf(a), leaf(b)
    out = f(x, y)
    np.testing.assert_allclose(out.data, f(a, b), rtol=1e-15)
    assert out.op == op
    out.sum().backward()
    assert x.grad.shape == a.shape and y.grad.shape == b.shape  # summed back over broadcasting
    assert gradcheck(f, Tensor(a), Tensor(b))


@pytest.mark.parametrize("pattern", BROADCAST_PATTERNS)
@pytest.mark.parametrize("op", list(BINARY))
@given(data=st.data())
def test_binary_ops_in_every_broadcasting_pattern(op: str, pattern: str,
                                                  data: st.DataObject) -> None:
    _, left, right = BINARY[op]
    shape_a, shape_b = data.draw(broadcast_pair(pattern), label="shapes")
    a = data.draw(float64_arrays(shape_a, left), label="a")
    b = data.draw(float64_arrays(shape_b, right), label="b")
    check_binary(op, a, b)


@pytest.mark.parametrize("op", list(BINARY))
@given(data=st.data())
def test_binary_ops_on_any_broadcastable_shapes(op: str, data: st.DataObject) -> None:
    _, left, right = BINARY[op]
    shape_a, shape_b = data.draw(broadcast_pairs(), label="shapes")
    check_binary(op, data.draw(float64_arrays(shape_a, left)),
                 data.draw(float64_arrays(shape_b, right)))


# pattern -> (is a broadcast?, is b broadcast?, how many axes a has compared with b)
PATTERN_CLAIMS = {
    "equal": (False, False, 0),
    "scalar_left": (True, False, -1),
    "scalar_right": (False, True, 1),
    "fewer_axes_left": (True, False, -1),
    "fewer_axes_right": (False, True, 1),
    "ones_left": (True, False, 0),
    "ones_right": (False, True, 0),
    "ones_both": (True, True, 0),
    "mixed": (True, True, 1),
}


@pytest.mark.parametrize("pattern", BROADCAST_PATTERNS)
@given(data=st.data())
def test_broadcast_patterns_are_what_they_claim(pattern: str, data: st.DataObject) -> None:
    """A guard on the strategy: each pattern broadcasts exactly the sides it names."""
    a, b = data.draw(broadcast_pair(pattern))
    out = np.broadcast_shapes(a, b)
    broadcast_a, broadcast_b, more_axes = PATTERN_CLAIMS[pattern]
    assert (a != out, b != out) == (broadcast_a, broadcast_b)
    assert np.sign(len(a) - len(b)) == more_axes
    assert out != () and min(out) >= 2  # every stretched axis really grows


def test_broadcast_gradients_are_summed_back() -> None:
    """(3,1) + (1,4): each a_i is used 4 times, each b_j 3 times; (2,3) * (3,): d/db = sum of a."""
    a, b = leaf(np.zeros((3, 1))), leaf(np.zeros((1, 4)))
    (a + b).sum().backward()
    np.testing.assert_array_equal(a.grad, np.full((3, 1), 4.0))
    np.testing.assert_array_equal(b.grad, np.full((1, 4), 3.0))
    m = np.arange(6.0).reshape(2, 3)
    a, v = leaf(m), leaf(np.array([1.0, 2.0, 3.0]))
    (a * v).sum().backward()
    np.testing.assert_array_equal(v.grad, m.sum(axis=0))
    np.testing.assert_array_equal(a.grad, np.tile([1.0, 2.0, 3.0], (2, 1)))
    s = leaf(np.array(2.0))
    (s * m).sum().backward()
    assert s.grad.shape == () and s.grad == m.sum()


@pytest.mark.parametrize("kind", ["number", "array"])
@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("op", list(BINARY))
@given(data=st.data())
def test_numbers_and_arrays_on_either_side(op: str, side: str, kind: str,
                                          data: st.DataObject) -> None:
    """x op c and c op x for a plain number or ndarray c: the result is a Tensor, d/dx right."""
    f, left, right = BINARY[op]
    shape = data.draw(shapes(min_dims=1, max_dims=2), label="shape")
    tensor_elements, constant_elements = (left, right) if side == "left" else (right, left)
    x = data.draw(float64_arrays(shape, tensor_elements), label="x")
    if kind == "number":
        c = data.draw(constant_elements, label="c")
    else:
        c = data.draw(float64_arrays(shape[data.draw(st.integers(0, len(shape))):],
                                     constant_elements), label="c")
    g = (lambda t: f(t, c)) if side == "left" else (lambda t: f(c, t))
    out = g(leaf(x))
    assert isinstance(out, Tensor)
    np.testing.assert_allclose(out.data, f(x, c) if side == "left" else f(c, x), rtol=1e-15)
    assert gradcheck(g, Tensor(x))


@given(float64_arrays(shapes()))
def test_negation(a: np.ndarray) -> None:
    np.testing.assert_array_equal((-leaf(a)).data, -a)
    np.testing.assert_array_equal(grad_of(operator.neg, a), -np.ones_like(a))
    assert gradcheck(operator.neg, Tensor(a))


@given(a=float64_arrays(shapes(), positive_floats()), n=st.integers(-2, 3))
def test_power_closed_form(a: np.ndarray, n: int) -> None:
    np.testing.assert_allclose(grad_of(lambda x: x**n, a), n * a ** (n - 1.0), rtol=1e-14)


def test_powers_at_zero() -> None:
    """0 ** 0 = 1 with slope 0; sqrt at 0 has an infinite slope; 0 ** 2 has slope 0."""
    zero_one = np.array([0.0, 1.0])
    np.testing.assert_array_equal((Tensor(zero_one) ** 0).data, [1.0, 1.0])
    np.testing.assert_array_equal(grad_of(lambda x: x**0, zero_one), [0.0, 0.0])
    np.testing.assert_array_equal(grad_of(lambda x: x**0.5, zero_one), [np.inf, 0.5])
    np.testing.assert_array_equal(grad_of(lambda x: x**2, zero_one), [0.0, 2.0])


# ---- elementwise functions -----------------------------------------------------------------------


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


# name -> (elements, forward, derivative)
UNARY = {
    "exp": (small_floats(), np.exp, np.exp),
    "log": (positive_floats(), np.log, lambda a: 1.0 / a),
    "tanh": (small_floats(5.0), np.tanh, lambda a: 1.0 - np.tanh(a) ** 2),
    "sigmoid": (small_floats(20.0), _sigmoid,
                lambda a: np.exp(-abs(a)) / (1.0 + np.exp(-abs(a))) ** 2),
    "relu": (nonzero_floats(), lambda a: np.maximum(a, 0.0), lambda a: (a > 0).astype(float)),
}


@pytest.mark.parametrize("name", list(UNARY))
@given(data=st.data())
def test_elementwise_functions(name: str, data: st.DataObject) -> None:
    elements, forward, derivative = UNARY[name]
    a = data.draw(float64_arrays(shapes(), elements), label="a")

    def f(x: Tensor) -> Tensor:
        return getattr(x, name)()

    out = f(leaf(a))
    assert out.shape == a.shape and out.op == name
    np.testing.assert_allclose(out.data, forward(a), rtol=1e-13)
    np.testing.assert_allclose(grad_of(f, a), derivative(a), rtol=1e-9, atol=1e-300)
    assert gradcheck(f, Tensor(a))


def test_log_of_non_positive_numbers_is_a_value_error() -> None:
    for bad in (0.0, -1.0):
        x = leaf(np.array([1.0, bad, 2.0]))
        with pytest.raises(ValueError, match=rf"Tensor log.*{bad}.*\(3,\)"):
            x.log()
        np.testing.assert_array_equal(x.data, [1.0, bad, 2.0])


def test_nan_propagates_through_log_and_arithmetic() -> None:
    x = Tensor([np.nan, np.inf, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = (x.log() + x * 2.0).data
    assert np.isnan(out[0]) and out[1] == np.inf and out[2] == 2.0


def test_division_by_zero_and_zero_to_a_negative_power() -> None:
    x = leaf(np.array([1.0, 2.0]))
    with pytest.raises(ZeroDivisionError, match="Tensor /"):
        x / Tensor([1.0, 0.0])
    with pytest.raises(ZeroDivisionError, match="Tensor /"):
        1.0 / Tensor([0.0, 1.0])
    with pytest.raises(ZeroDivisionError, match=r"Tensor \*\*"):
        Tensor([0.0, 1.0]) ** -1.0
    with pytest.raises(ValueError, match=r"Tensor \*\*"):
        Tensor([-1.0, 1.0]) ** 0.5


# ---- matrix product ----------------------------------------------------------------------------

# Every combination numpy allows: vectors on either side, matrices, batched stacks, broadcast
# batch axes. (m, n, p, k) are drawn; n is the contracted axis.
MATMUL_CASES = {
    "vector@vector": lambda m, n, p, k: ((n,), (n,)),
    "vector@matrix": lambda m, n, p, k: ((n,), (n, p)),
    "matrix@vector": lambda m, n, p, k: ((m, n), (n,)),
    "matrix@matrix": lambda m, n, p, k: ((m, n), (n, p)),
    "batch@batch": lambda m, n, p, k: ((k, m, n), (k, n, p)),
    "batch@matrix": lambda m, n, p, k: ((k, m, n), (n, p)),
    "matrix@batch": lambda m, n, p, k: ((m, n), (k, n, p)),
    "batch@vector": lambda m, n, p, k: ((k, m, n), (n,)),
    "vector@batch": lambda m, n, p, k: ((n,), (k, n, p)),
    "broadcast batch axes": lambda m, n, p, k: ((k, 1, m, n), (2, n, p)),
}


@pytest.mark.parametrize("case", list(MATMUL_CASES))
@given(dims=st.tuples(*[st.integers(1, 4)] * 4), data=st.data())
def test_matmul(case: str, dims: tuple[int, int, int, int], data: st.DataObject) -> None:
    shape_a, shape_b = MATMUL_CASES[case](*dims)
    a = data.draw(float64_arrays(shape_a), label="a")
    b = data.draw(float64_arrays(shape_b), label="b")
    out = leaf(a) @ leaf(b)
    assert out.shape == (a @ b).shape
    np.testing.assert_allclose(out.data, a @ b, rtol=1e-12, atol=1e-12)
    assert gradcheck(operator.matmul, Tensor(a), Tensor(b))
    assert gradcheck(lambda x: x @ b, Tensor(a))  # Tensor @ ndarray
    assert gradcheck(lambda y: a @ y, Tensor(b))  # ndarray @ Tensor


def test_matmul_closed_form() -> None:
    """dC/da = g b^T and dC/db = a^T g for C = sum(a @ b)."""
    a, b = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4) - 5
    x, y = leaf(a), leaf(b)
    (x @ y).sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones((2, 4)) @ b.T)
    np.testing.assert_array_equal(y.grad, a.T @ np.ones((2, 4)))


# ---- reductions ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sum", "mean"])
@given(data=st.data(), keepdims=st.booleans())
def test_sum_and_mean(name: str, keepdims: bool, data: st.DataObject) -> None:
    """Every axis choice (None, int, negative int, tuple) with and without keepdims."""
    a = data.draw(float64_arrays(shapes(min_dims=1)), label="a")
    axis = data.draw(axes_for(a.ndim), label="axis")
    out = getattr(leaf(a), name)(axis=axis, keepdims=keepdims)
    expected = getattr(np, name)(a, axis=axis, keepdims=keepdims)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-13, atol=1e-15)
    count = int(np.prod([a.shape[i] for i in as_axis_tuple(axis, a.ndim)]))
    expected_grad = np.full(a.shape, 1.0 if name == "sum" else 1.0 / count)
    np.testing.assert_allclose(grad_of(lambda x: getattr(x, name)(axis, keepdims), a),
                               expected_grad, rtol=1e-15)
    assert gradcheck(lambda x: getattr(x, name)(axis=axis, keepdims=keepdims), Tensor(a))


@given(data=st.data(), keepdims=st.booleans())
def test_max(keepdims: bool, data: st.DataObject) -> None:
    """The gradient goes to the maximum of each reduced group (distinct values: no ties)."""
    shape = data.draw(shapes(min_dims=1), label="shape")
    a = data.draw(distinct_arrays(shape), label="a")
    axis = data.draw(axes_for(a.ndim), label="axis")
    out = leaf(a).max(axis=axis, keepdims=keepdims)
    expected = a.max(axis=axis, keepdims=keepdims)
    assert out.shape == np.shape(expected)
    np.testing.assert_array_equal(out.data, expected)
    at_max = (a == a.max(axis=axis, keepdims=True)).astype(float)
    np.testing.assert_array_equal(grad_of(lambda x: x.max(axis, keepdims), a), at_max)
    assert gradcheck(lambda x: x.max(axis=axis, keepdims=keepdims), Tensor(a))


@given(a=float64_arrays(()))
def test_reductions_of_a_scalar(a: np.ndarray) -> None:
    for name in ("sum", "mean", "max"):
        assert gradcheck(lambda x, name=name: getattr(x, name)(), Tensor(a))


def test_max_shares_the_gradient_between_ties() -> None:
    np.testing.assert_array_equal(grad_of(lambda x: x.max(), np.array([1.0, 3.0, 3.0])),
                                  [0.0, 0.5, 0.5])
    np.testing.assert_array_equal(
        grad_of(lambda x: x.max(axis=1), np.array([[2.0, 2.0, 2.0, 2.0], [0.0, 1.0, 5.0, 1.0]])),
        [[0.25] * 4, [0.0, 0.0, 1.0, 0.0]])


def test_bad_axes_are_value_errors() -> None:
    x = leaf(np.ones((2, 3)))
    for name in ("sum", "mean", "max", "softmax", "log_softmax"):
        with pytest.raises(ValueError, match=f"Tensor {name}: axis 2 is out of range"):
            getattr(x, name)(axis=2)
    with pytest.raises(ValueError, match="empty"):
        Tensor(np.ones((0, 3))).max()


# ---- shape ops -------------------------------------------------------------------------------


@given(data=st.data())
def test_reshape(data: st.DataObject) -> None:
    a = data.draw(float64_arrays(shapes()), label="a")
    target = data.draw(st.sampled_from([(-1,), (1, -1), a.shape[::-1], (a.size,),
                                        (a.size, 1, 1)]), label="target")
    out = leaf(a).reshape(target)
    np.testing.assert_array_equal(out.data, a.reshape(target))
    assert leaf(a).reshape(*target).shape == out.shape  # as one tuple or as arguments
    assert gradcheck(lambda x: x.reshape(target), Tensor(a))


def test_bad_reshape_names_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"reshape.*\(2, 3\).*\(4, 2\)"):
        Tensor(np.ones((2, 3))).reshape(4, 2)


@given(data=st.data())
def test_transpose(data: st.DataObject) -> None:
    """.T reverses the axes; explicit axes (possibly negative) permute them."""
    a = data.draw(float64_arrays(shapes()), label="a")
    order = data.draw(st.permutations(range(a.ndim)), label="order")
    spelled = tuple(data.draw(st.sampled_from([i, i - a.ndim])) for i in order)
    np.testing.assert_array_equal(leaf(a).T.data, a.T)
    np.testing.assert_array_equal(leaf(a).transpose(*spelled).data, a.transpose(order))
    np.testing.assert_array_equal(leaf(a).transpose(spelled).data, a.transpose(order))
    assert gradcheck(lambda x: x.T, Tensor(a))
    assert gradcheck(lambda x: x.transpose(*spelled), Tensor(a))


def test_bad_transpose_axes() -> None:
    with pytest.raises(ValueError, match="transpose.*not a permutation.*\\(2, 3\\)"):
        Tensor(np.ones((2, 3))).transpose(0, 0)


# ---- indexing ----------------------------------------------------------------------------------


@st.composite
def slicing(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple[slice, ...]:
    """A non-empty slice of every axis (any start, stop and step, negative ones included)."""
    return tuple(draw(st.slices(n).filter(lambda s, n=n: len(range(n)[s]) > 0)) for n in shape)


@given(data=st.data())
def test_slices(data: st.DataObject) -> None:
    a = data.draw(float64_arrays(shapes(min_dims=1)), label="a")
    index = data.draw(slicing(a.shape), label="index")
    np.testing.assert_array_equal(leaf(a)[index].data, a[index])
    expected = np.zeros_like(a)
    expected[index] = 1.0
    np.testing.assert_array_equal(grad_of(lambda x: x[index], a), expected)
    assert gradcheck(lambda x: x[index], Tensor(a))


@given(data=st.data())
def test_integer_arrays_with_repeated_indices(data: st.DataObject) -> None:
    """Repeated picks add up: x[[0, 0, 1]] sends two gradients to row 0."""
    a = data.draw(float64_arrays(shapes(min_dims=1, max_dims=2)), label="a")
    n = a.shape[0]
    rows = data.draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=6), label="rows")
    np.testing.assert_array_equal(leaf(a)[rows].data, a[rows])
    counts = np.zeros(n)
    np.add.at(counts, rows, 1.0)
    expected = np.broadcast_to(counts.reshape((n,) + (1,) * (a.ndim - 1)), a.shape)
    np.testing.assert_array_equal(grad_of(lambda x: x[rows], a), expected)
    assert gradcheck(lambda x: x[np.array(rows)], Tensor(a))


@given(data=st.data())
def test_each_rows_target_logit(data: st.DataObject) -> None:
    """x[np.arange(n), labels]: the cross-entropy pick; -mean log_softmax gives (softmax - y)/n."""
    n, k = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 4))
    a = data.draw(float64_arrays((n, k)), label="logits")
    labels = np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    picked = leaf(a)[np.arange(n), labels]
    np.testing.assert_array_equal(picked.data, a[np.arange(n), labels])
    assert gradcheck(lambda x: x[np.arange(n), labels], Tensor(a))
    assert gradcheck(lambda x: x[np.arange(n), Tensor(labels)], Tensor(a))  # labels as a Tensor
    one_hot = np.eye(k)[labels]
    softmax = np.exp(a - a.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    x = leaf(a)
    loss = -x.log_softmax(axis=1)[np.arange(n), labels].mean()
    loss.backward()
    np.testing.assert_allclose(x.grad, (softmax - one_hot) / n, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("index", [1, -1, (0, 2), (Ellipsis, 0), (slice(None), None, 1),
                                   np.array([True, False, True])],
                         ids=["int", "negative", "pair", "ellipsis", "newaxis", "mask"])
def test_other_indices(index) -> None:
    a = np.arange(12.0).reshape(3, 4) / 7
    np.testing.assert_array_equal(leaf(a)[index].data, a[index])
    assert gradcheck(lambda x: x[index], Tensor(a))


def test_index_out_of_range_names_the_shape() -> None:
    with pytest.raises(IndexError, match=r"Tensor \[\].*\(3, 4\)"):
        Tensor(np.ones((3, 4)))[5]


# ---- softmax and log_softmax ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(data=st.data())
def test_softmax_along_each_axis(name: str, data: st.DataObject) -> None:
    a = data.draw(float64_arrays(shapes(min_dims=1), small_floats(5.0)), label="a")
    axis = data.draw(st.integers(-a.ndim, a.ndim - 1), label="axis")
    out = getattr(leaf(a), name)(axis=axis)
    exp = np.exp(a)
    softmax = exp / exp.sum(axis=axis, keepdims=True)
    expected = softmax if name == "softmax" else np.log(softmax)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-15)
    if name == "softmax":
        np.testing.assert_allclose(out.data.sum(axis=axis), 1.0, rtol=1e-14)
    assert gradcheck(lambda x: getattr(x, name)(axis=axis), Tensor(a))


# ---- linear: one node per layer ----------------------------------------------------------------


@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("batch", [None, 1, 3], ids=["1d", "batch1", "batch3"])
@given(n_in=st.integers(1, 4), n_out=st.integers(1, 4), data=st.data())
def test_linear(batch: int | None, with_bias: bool, n_in: int, n_out: int,
                data: st.DataObject) -> None:
    """z = x @ w^T + b for a single input (n_in,) or a batch (N, n_in), with or without b."""
    x = data.draw(float64_arrays((n_in,) if batch is None else (batch, n_in)), label="x")
    w = data.draw(float64_arrays((n_out, n_in)), label="w")
    b = data.draw(float64_arrays((n_out,)), label="b") if with_bias else None
    expected = x @ w.T + (b if with_bias else 0.0)
    z = linear(leaf(x), leaf(w), leaf(b) if with_bias else None)
    assert z.shape == expected.shape and z.op == "linear"
    np.testing.assert_allclose(z.data, expected, rtol=1e-13, atol=1e-14)
    if with_bias:
        assert gradcheck(linear, Tensor(x), Tensor(w), Tensor(b))
        assert gradcheck(lambda w_, b_: linear(x, w_, b_), Tensor(w), Tensor(b))  # x: data
    else:
        assert gradcheck(linear, Tensor(x), Tensor(w))
        assert gradcheck(lambda w_: linear(x, w_), Tensor(w))
    # the one-node layer agrees with the same layer built from @, .T and +
    tensors = [leaf(x), leaf(w)] + ([leaf(b)] if with_bias else [])
    composed = [leaf(x), leaf(w)] + ([leaf(b)] if with_bias else [])
    r = np.random.default_rng(0).standard_normal(expected.shape)
    (linear(*tensors) * r).sum().backward()
    z2 = composed[0] @ composed[1].T
    ((z2 + composed[2] if with_bias else z2) * r).sum().backward()
    for one, other in zip(tensors, composed):
        np.testing.assert_allclose(one.grad, other.grad, rtol=1e-12, atol=1e-14)


def test_linear_shape_errors_name_the_shapes() -> None:
    w = leaf(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"linear.*\(4, 5\).*\(2, 3\)"):
        linear(Tensor(np.ones((4, 5))), w)
    with pytest.raises(ValueError, match=r"linear: bias of shape \(3,\).*\(2, 3\)"):
        linear(Tensor(np.ones((4, 3))), w, leaf(np.ones(3)))


# ---- dtype ---------------------------------------------------------------------------------

FLOAT32_OPS = {
    "x + 2": lambda x, w: x + 2.0,
    "2 - x": lambda x, w: 2 - x,
    "x * x": lambda x, w: x * x,
    "x / 3": lambda x, w: x / 3.0,
    "3 / x": lambda x, w: 3.0 / x,
    "x ** 2": lambda x, w: x**2,
    "2 ** x": lambda x, w: 2.0**x,
    "x ** x": lambda x, w: x**x,
    "-x": lambda x, w: -x,
    "exp": lambda x, w: x.exp(),
    "log": lambda x, w: x.log(),
    "tanh": lambda x, w: x.tanh(),
    "sigmoid": lambda x, w: x.sigmoid(),
    "relu": lambda x, w: x.relu(),
    "sum axis": lambda x, w: x.sum(axis=0),
    "mean": lambda x, w: x.mean(),
    "max": lambda x, w: x.max(axis=-1, keepdims=True),
    "reshape": lambda x, w: x.reshape(-1),
    "T": lambda x, w: x.T,
    "index": lambda x, w: x[[0, 0, 1], [1, 1, 2]],
    "softmax": lambda x, w: x.softmax(axis=0),
    "log_softmax": lambda x, w: x.log_softmax(),
    "x @ w.T": lambda x, w: x @ w.T,
    "linear": lambda x, w: linear(x, w, Tensor(np.ones(4, np.float32), requires_grad=True)),
}


@pytest.mark.parametrize("op", list(FLOAT32_OPS))
def test_float32_is_kept_through_ops_and_gradients(op: str) -> None:
    x = Tensor(np.linspace(0.5, 2.0, 6).reshape(2, 3), dtype=np.float32, requires_grad=True)
    w = Tensor(np.ones((4, 3)), dtype=np.float32, requires_grad=True)
    out = FLOAT32_OPS[op](x, w)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.shape == x.shape
    assert w.grad is None or w.grad.dtype == np.float32


# ---- backward: seeds and errors --------------------------------------------------------------


def test_backward_of_a_non_scalar_needs_a_gradient() -> None:
    y = leaf(np.ones((2, 3))) * 2.0
    with pytest.raises(RuntimeError, match=r"shape \(2, 3\).*gradient="):
        y.backward()
    with pytest.raises(ValueError, match=r"gradient has shape \(3,\).*\(2, 3\)"):
        y.backward(gradient=np.ones(3))


def test_backward_with_an_explicit_gradient_is_a_vector_jacobian_product() -> None:
    x = leaf(np.array([[1.0, 2.0, 3.0]]))
    g = np.array([[1.0, -1.0, 0.5]])
    (x * 3.0).backward(gradient=g)
    np.testing.assert_array_equal(x.grad, 3.0 * g)
    x.zero_grad()
    (x * 3.0).backward(gradient=Tensor(g))
    np.testing.assert_array_equal(x.grad, 3.0 * g)
    one = leaf(np.array([[2.0]]))
    (one * 5.0).backward()  # one element: seeded with 1
    assert one.grad.shape == (1, 1) and one.grad[0, 0] == 5.0


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "**"])
def test_shape_mismatch_names_the_op_and_both_shapes(op: str) -> None:
    """Raised when the op is built, whichever side the Tensor is on."""
    f = BINARY[op][0]
    a, b = leaf(np.ones(3)), np.ones(4)
    name = "".join(f"[{c}]" for c in op)  # the op, as a regular expression
    with pytest.raises(ValueError, match=rf"Tensor {name}: shapes \(3,\) and \(4,\)"):
        f(a, Tensor(b))
    with pytest.raises(ValueError, match=rf"Tensor {name}: shapes \(3,\) and \(4,\)"):
        f(a, b)
    with pytest.raises(ValueError, match=rf"Tensor {name}: shapes \(4,\) and \(3,\)"):
        f(b, a)


def test_matmul_shape_mismatch_names_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"Tensor @: shapes \(3, 4\) and \(5, 6\)"):
        leaf(np.ones((3, 4))) @ Tensor(np.ones((5, 6)))
    with pytest.raises(ValueError, match=r"Tensor @: shapes \(3,\) and \(4,\)"):
        leaf(np.ones(3)) @ np.ones(4)
    with pytest.raises(ValueError, match=r"Tensor @: shapes \(2, 3, 4\) and \(3, 4, 5\)"):
        leaf(np.ones((2, 3, 4))) @ np.ones((3, 4, 5))
    with pytest.raises(ValueError, match=r"Tensor @.*\(\)"):
        leaf(np.ones(3)) @ 2.0


# ---- saturation: finite values and gradients, no warnings -------------------------------------


def test_saturated_sigmoid(warnings_are_errors) -> None:
    x = leaf(np.array([1000.0, -1000.0, 0.0, 40.0, -40.0]))
    s = x.sigmoid()
    s.sum().backward()
    np.testing.assert_array_equal(s.data[:3], [1.0, 0.0, 0.5])
    assert s.data[4] == pytest.approx(np.exp(-40.0), rel=1e-14)  # the tail keeps its digits
    assert np.isfinite(x.grad).all()
    np.testing.assert_allclose(x.grad, [0.0, 0.0, 0.25, np.exp(-40.0), np.exp(-40.0)],
                               rtol=1e-14)


def test_saturated_log_softmax_and_softmax(warnings_are_errors) -> None:
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0], [1000.0, 1000.0, 1000.0]])
    w = np.array([[1.0, 2.0, -1.0], [0.5, 0.0, 3.0], [1.0, -2.0, 0.5]])  # weights dC/d out
    x = leaf(z)
    out = x.log_softmax(axis=1)
    out.backward(gradient=w)
    np.testing.assert_allclose(out.data, [[0.0, -2000.0, -1000.0], [-2000.0, -2000.0, 0.0],
                                          [-np.log(3)] * 3], rtol=1e-15)
    softmax = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [1 / 3] * 3])
    np.testing.assert_allclose(x.grad, w - softmax * w.sum(axis=1, keepdims=True), rtol=1e-14)
    y = leaf(z)
    s = y.softmax(axis=1)
    s.backward(gradient=w)
    np.testing.assert_allclose(s.data, softmax, rtol=1e-15)
    assert np.isfinite(y.grad).all()
    np.testing.assert_allclose(y.grad, softmax * (w - (w * softmax).sum(axis=1, keepdims=True)),
                               rtol=1e-14, atol=1e-300)


def test_saturated_tanh_and_exp(warnings_are_errors) -> None:
    x = leaf(np.array([1000.0, -1000.0]))
    t = x.tanh()
    t.sum().backward()
    np.testing.assert_array_equal(t.data, [1.0, -1.0])
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])
    np.testing.assert_array_equal(Tensor([1000.0, -1000.0]).exp().data, [np.inf, 0.0])


# ---- optional cross-check against PyTorch ------------------------------------------------------


@pytest.mark.torch
def test_gradients_agree_with_pytorch() -> None:
    """A small net of many ops: the same gradients as PyTorch in float64."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x, w1, b1, w2 = (rng.standard_normal(s) for s in [(4, 3), (5, 3), (5,), (2, 5, 1)])
    labels = np.array([0, 4, 4, 2])

    def net(x, w1, b1, w2, lib):
        h = (x @ w1.T + b1).sigmoid() if lib == "torch" else linear(x, w1, b1).sigmoid()
        h = h * h.tanh() + h.relu() / (1.0 + h.exp()) - h**2
        scores = (h.reshape(1, 4, 5) @ w2).sum(axis=0)  # (4, 1), batched product summed
        logits = h * scores + (h.max(dim=1, keepdim=True).values if lib == "torch"
                               else h.max(axis=1, keepdims=True))
        picked = logits.log_softmax(dim=1) if lib == "torch" else logits.log_softmax(axis=1)
        soft = logits.softmax(dim=0) if lib == "torch" else logits.softmax(axis=0)
        return -picked[np.arange(4), labels].mean() + (soft * logits).T.sum()

    ours = [leaf(v) for v in (x, w1, b1, w2)]
    theirs = [torch.tensor(v, requires_grad=True) for v in (x, w1, b1, w2)]
    out = net(*ours, lib="minigrad")
    out.backward()
    reference = net(*theirs, lib="torch")
    reference.backward()
    assert out.item() == pytest.approx(reference.item(), rel=1e-12)
    for mine, theirs_ in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad, theirs_.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_relu_keeps_nan():
    out = Tensor([np.nan, -1.0, 2.0]).relu().data
    assert np.isnan(out[0]) and out[1] == 0.0 and out[2] == 2.0


def test_sigmoid_derivative_never_exceeds_its_quarter_ceiling_by_rounding():
    z = np.array([0.0, 1e-12, -1e-12, 1e-9, 3e-8, 1e-15, -2e-8, 1.5621e-16, -4.8832e-4])
    for dtype in (np.float64, np.float32):
        local = Tensor(z, requires_grad=True, dtype=dtype).sigmoid().local_derivatives()[0]
        assert (local <= 0.25).all()


# --- issue 9: IEEE results without warnings (warnings are errors in the suite) -------------------


def test_overflow_and_inf_give_ieee_results_without_warnings() -> None:
    big = Tensor([1e308, -1e308], requires_grad=True)
    product = big * Tensor([10.0, 10.0])
    assert product.data.tolist() == [np.inf, -np.inf]
    product.sum().backward()  # a sum of +inf and -inf: NaN
    assert np.isnan((big * 10.0).sum().data)
    assert (big + big).data.tolist() == [np.inf, -np.inf]
    assert (big.sum() * 0).item() == 0.0
    w = Tensor(np.ones((2, 2)), requires_grad=True)
    b = Tensor([np.inf, -np.inf], requires_grad=True)
    x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    z = linear(x, w, b)
    assert z.data.tolist() == [[np.inf, -np.inf], [np.inf, -np.inf]]
    z.sum().backward()
    assert b.grad.tolist() == [2.0, 2.0]
    h = linear(Tensor([[1e308, 1e308]]), w)
    assert h.data.tolist() == [[np.inf, np.inf]]
    batch = Tensor([[np.inf], [-np.inf]], requires_grad=True)
    assert np.isnan(batch.sum().item()) and np.isnan(batch.mean().item())
    assert (Tensor([1e308]) ** 2).data.tolist() == [np.inf]
    assert (Tensor([1e308]) @ Tensor([10.0])).item() == np.inf


@pytest.mark.parametrize("row, expected, log_expected", [
    ([np.inf, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, -np.inf, -np.inf]),
    ([-np.inf, 0.0, 0.0], [0.0, 0.5, 0.5], [-np.inf, -np.log(2.0), -np.log(2.0)]),
    ([1e308, -1e308, 0.0], [1.0, 0.0, 0.0], [0.0, -np.inf, -1e308]),
    ([-1e308, 1e308, 1e308], [0.0, 0.5, 0.5], [-np.inf, -np.log(2.0), -np.log(2.0)]),
])
def test_softmax_and_log_softmax_exact_at_the_extremes(row, expected, log_expected) -> None:
    t = Tensor([row], requires_grad=True)
    assert t.softmax().data[0].tolist() == expected
    log_s = t.log_softmax()
    np.testing.assert_array_equal(log_s.data[0], log_expected)
    (log_s * Tensor([[0.0, 1.0, 1.0]])).sum().backward()
    assert not np.isnan(t.grad).any()


# --- issue 9: a gradient has its leaf's dtype, and its own array ---------------------------------


def test_float32_leaf_keeps_a_float32_gradient() -> None:
    w = Tensor(np.ones(3, np.float32), requires_grad=True)
    (w * np.arange(3.0)).sum().backward()  # a float64 array
    assert w.grad.dtype == np.float32
    (w * np.arange(3.0)).sum().backward()  # accumulated
    assert w.grad.dtype == np.float32 and w.grad.tolist() == [0.0, 2.0, 4.0]
    v = Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    linear(Tensor(np.ones((4, 3))), v).sum().backward()
    assert v.grad.dtype == np.float32


def test_every_leaf_gets_its_own_gradient_array() -> None:
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    assert a.grad is not b.grad and not np.shares_memory(a.grad, b.grad)
    seed = np.array([1.0, 1.0])
    a.zero_grad()
    a.backward(gradient=seed)
    assert a.grad is not seed and not np.shares_memory(a.grad, seed)
    a.grad *= 10  # scaling one gradient in place changes no other
    assert seed.tolist() == [1.0, 1.0]
    c = Tensor(np.ones((2, 3)), requires_grad=True)
    y = c.reshape(6) + 0.0
    y.backward(gradient=np.ones(6))
    assert not np.shares_memory(c.grad, y.grad)
    bias = Tensor([0.5, 0.5], requires_grad=True)
    z = linear(Tensor([1.0, 2.0]), Tensor(np.ones((2, 2)), requires_grad=True), bias)
    z.backward(gradient=np.ones(2))
    assert not np.shares_memory(bias.grad, z.grad)


@given(st.sampled_from(["add", "reshape", "transpose", "seed", "twice"]))
def test_no_two_gradients_share_memory(case: str) -> None:
    """Whatever the graph, no leaf's gradient shares memory with another gradient or the seed."""
    a = Tensor(np.ones((2, 2)), requires_grad=True)
    b = Tensor(np.ones((2, 2)), requires_grad=True)
    seed = np.ones((2, 2))
    if case == "add":
        out = a + b
    elif case == "reshape":
        out = (a.reshape(4) + b.reshape(4)).reshape(2, 2)
    elif case == "transpose":
        out = a.T + b
    elif case == "seed":
        out = a * 1.0 + b
    else:
        out = a + a + b
    out.backward(gradient=seed)
    grads = [a.grad, b.grad, out.grad, seed]
    for i, g in enumerate(grads):
        for h in grads[i + 1:]:
            assert not np.shares_memory(g, h)


# --- issue 9: aliasing of the caller's array ------------------------------------------------------


def test_tensor_with_requires_grad_copies_the_callers_array() -> None:
    from minigrad import optim

    values = np.array([1.0, 2.0])
    w = Tensor(values, requires_grad=True)
    assert not np.shares_memory(w.data, values)
    w.grad = np.array([1.0, 1.0])
    optim.SGD([w], lr=0.5).step()
    assert values.tolist() == [1.0, 2.0] and w.data.tolist() == [0.5, 1.5]
    late = Tensor(values)  # a constant wraps the array (no copy for batches) ...
    assert late.data is values
    late.requires_grad = True  # ... and the optimiser then updates a copy
    late.grad = np.array([1.0, 1.0])
    optim.SGD([late], lr=0.5).step()
    assert values.tolist() == [1.0, 2.0]
    constant = Tensor(values)
    constant.add_(1.0)  # minigrad never writes into the caller's array
    assert values.tolist() == [1.0, 2.0] and constant.data.tolist() == [2.0, 3.0]


# --- issue 9: in-place changes after the forward --------------------------------------------------


def test_in_place_change_after_the_forward_is_refused_naming_tensor_and_op() -> None:
    w = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, label="w")
    x = Tensor([[1.0, 1.0]])
    C = linear(x, w).sigmoid().sum()
    assert w._version == 0
    w.add_(1.0)
    assert w._version == 1
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation: 'w' of shape "
                                           r"\(2, 2\).*op 'linear'"):
        C.backward()
    C2 = linear(x, w).sigmoid().sum()  # a forward after the change is fine
    C2.backward()
    assert w.grad is not None


@pytest.mark.parametrize("edit", ["add_", "mul_", "copy_", "zero_", "sgd"])
def test_every_in_place_update_raises_the_version(edit: str) -> None:
    from minigrad import optim

    a = Tensor([2.0, 3.0], requires_grad=True)
    out = a * a
    if edit == "zero_":
        a.zero_()
    elif edit == "sgd":
        a.grad = np.ones(2)
        optim.SGD([a], lr=0.1).step()
    else:
        getattr(a, edit)(Tensor([5.0, 5.0]))
    assert a._version == 1
    with pytest.raises(RuntimeError, match="'\\*'"):
        out.sum().backward()


def test_in_place_change_of_an_input_the_op_did_not_keep_is_harmless() -> None:
    a = Tensor([2.0, 3.0], requires_grad=True)
    out = (a + 1.0).sum()  # + keeps no input array
    a.mul_(10.0)
    out.backward()
    assert a.grad.tolist() == [1.0, 1.0]


def test_in_place_methods_refuse_non_leaves_and_bad_shapes() -> None:
    a = Tensor([2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="Tensor.add_: .* op '\\*'"):
        (a * 2).add_(1.0)
    with pytest.raises(ValueError, match="Tensor.copy_: a value of shape \\(3,\\)"):
        a.copy_(np.ones(3))
    assert a.data.tolist() == [2.0, 3.0] and a._version == 0


def test_rebinding_data_after_the_forward_keeps_the_forwards_gradient() -> None:
    a = Tensor([2.0, 3.0], requires_grad=True)
    out = (a * a).sum()
    a.data = np.array([100.0, 100.0])  # each op kept the array it was given
    out.backward()
    assert a.grad.tolist() == [4.0, 6.0]


# --- issue 9: indexing by a Tensor ----------------------------------------------------------------


@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 4)),
                  elements=st.floats(-3, 3)), st.data())
def test_boolean_tensor_masks_select_as_numpy(values: np.ndarray, data) -> None:
    mask = data.draw(hnp.arrays(np.bool_, values.shape))
    rows = data.draw(hnp.arrays(np.bool_, values.shape[:1]))
    for index, plain in ((Tensor(mask), mask), (Tensor(rows), rows),
                         ((Tensor(rows), slice(None)), (rows, slice(None)))):
        x = Tensor(values, requires_grad=True)
        picked = x[index]
        np.testing.assert_array_equal(picked.data, values[plain])
        upstream = np.arange(1.0, picked.data.size + 1).reshape(picked.shape)
        picked.backward(gradient=upstream)
        expected = np.zeros_like(values)
        expected[plain] = upstream
        np.testing.assert_array_equal(x.grad, expected)


def test_integer_tensor_indices_and_float_indices_refused() -> None:
    x = Tensor([10.0, 20.0, 30.0], requires_grad=True)
    assert x[Tensor([2, 0, 2])].data.tolist() == [30.0, 10.0, 30.0]
    for bad in (Tensor([0.7]), Tensor([0.0, 1.0]), np.array([0.0])):
        with pytest.raises(IndexError, match="integers or booleans"):
            x[bad]


# --- issue 9: 0-d tensors with an axis ------------------------------------------------------


@pytest.mark.parametrize("name", ["sum", "mean", "max"])
@pytest.mark.parametrize("axis", [0, -1, None, ()])
def test_reductions_of_a_0d_tensor_take_axis_0_and_minus_1(name: str, axis) -> None:
    t = Tensor(3.0, requires_grad=True)
    out = getattr(t, name)(axis=axis)
    assert out.shape == () and out.item() == 3.0
    out.backward()
    assert t.grad.shape == () and t.grad.item() == 1.0
    keep = getattr(Tensor(3.0), name)(axis=axis, keepdims=True)
    assert keep.shape == ()


@pytest.mark.parametrize("name", ["sum", "mean", "max"])
@pytest.mark.parametrize("axis", [1, -2, (0,)])
def test_reductions_of_a_0d_tensor_refuse_other_axes(name: str, axis) -> None:
    with pytest.raises(ValueError, match=f"Tensor {name}: axis .* out of range for 0 dim"):
        getattr(Tensor(3.0), name)(axis=axis)


# --- issue 9: errors that name the value -----------------------------------------------------


def test_ragged_data_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match=r"Tensor\(data\): the rows of \[\[1, 2\], \[3\]\] "
                                         "have different lengths"):
        Tensor([[1, 2], [3]])
