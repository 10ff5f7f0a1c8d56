"""Tests for minigrad.tensor_ops: every op's described local derivative applied to g is its VJP.

Each op says in ``local()`` what d out/d input is (an elementwise op its diagonal, softmax its
per-row Jacobian, linear (w, x, 1), a reduction its factor, a reshape 1 ...). Here each
description is turned, in the test's own code and from the op's documented meaning only, into
the dense Jacobian J_i (out.size x input_i.size), and g . J_i must equal what the engine uses,
``node.vjp(g)``, for random upstream gradients g on small shapes (hypothesis draws them).
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import (
    axes_for,
    broadcast_pairs,
    distinct_arrays,
    float64_arrays,
    nonzero_floats,
    positive_floats,
    shapes,
    small_floats,
)

from minigrad import Tensor, nn, tensor_ops
from minigrad.tensor import linear

# ---- the described Jacobian, built densely from local() ----------------------------------------


def _flat_index(shape: tuple[int, ...]) -> np.ndarray:
    """Each element's position in C order, as an array of ``shape``."""
    return np.arange(int(np.prod(shape, dtype=int))).reshape(shape)


def _gather(out_shape: tuple[int, ...], in_shape: tuple[int, ...], source: np.ndarray,
            factor: np.ndarray | float) -> np.ndarray:
    """J[k, source[k]] += factor[k]: out number k is ``factor`` times the input number source[k]."""
    out_size, in_size = int(np.prod(out_shape, dtype=int)), int(np.prod(in_shape, dtype=int))
    jacobian = np.zeros((out_size, in_size))
    factors = np.broadcast_to(np.asarray(factor, dtype=float), out_shape).ravel()
    np.add.at(jacobian, (np.arange(out_size), np.asarray(source).ravel()), factors)
    return jacobian


def _spread(in_shape: tuple[int, ...], target: np.ndarray, factor: np.ndarray | float,
            out_size: int) -> np.ndarray:
    """J[target[m], m] += factor[m]: input number m goes into out number target[m]."""
    jacobian = np.zeros((out_size, int(np.prod(in_shape, dtype=int))))
    factors = np.broadcast_to(np.asarray(factor, dtype=float), in_shape).ravel()
    np.add.at(jacobian, (np.asarray(target).ravel(), np.arange(factors.size)), factors)
    return jacobian


def _elementwise(node: Tensor) -> list[np.ndarray]:
    """Diagonal: out_k depends on the input number broadcasting puts at k, times local[k]."""
    return [_gather(node.shape, p.shape, np.broadcast_to(_flat_index(p.shape), node.shape), d)
            for p, d in zip(node.parents, node.local_derivatives())]


def _reduction(node: Tensor) -> list[np.ndarray]:
    """Sum, mean, max: input number m goes into the out number its reduced group makes."""
    (a,), (factor,), op = node.parents, node.local_derivatives(), node._ctx
    out_index = _flat_index(node.shape)
    if not op.keepdims:
        out_index = np.expand_dims(out_index, op.axes)
    return [_spread(a.shape, np.broadcast_to(out_index, a.shape), factor, node.data.size)]


def _moved(node: Tensor) -> list[np.ndarray]:
    """Reshape, transpose, index: out number k is (factor times) one input number."""
    (a,), (factor,), op = node.parents, node.local_derivatives(), node._ctx
    source = _flat_index(a.shape)
    source = {"reshape": lambda s: s.reshape(node.shape),
              "transpose": lambda s: s.transpose(op.order),
              "index": lambda s: s[op.index]}[node.op](source)
    return [_gather(node.shape, a.shape, source, factor)]


def _row_jacobian(node: Tensor) -> list[np.ndarray]:
    """softmax, log_softmax: J[..., i, j] = d out_i/d a_j along the axis (moved last)."""
    (a,), (jacobian,), axis = node.parents, node.local_derivatives(), node._ctx.axis
    moved_in = np.moveaxis(_flat_index(a.shape), axis, -1)  # input numbers, axis last
    moved_out = np.moveaxis(_flat_index(node.shape), axis, -1)
    dense = np.zeros((node.data.size, a.data.size))
    for row in np.ndindex(moved_in.shape[:-1]):
        for i in range(moved_in.shape[-1]):
            for j in range(moved_in.shape[-1]):
                dense[moved_out[row][i], moved_in[row][j]] += jacobian[row][i, j]
    return [dense]


def _matmul(node: Tensor) -> list[np.ndarray]:
    """out[t, i, k] = sum_j a[t, i, j] b[t, j, k]: d/da[t,i,j] = b[t,j,k], d/db[t,j,k] = a[t,i,j]
    (vectors promoted to one-row / one-column matrices, batch axes t broadcast)."""
    b_full, a_full = node.local_derivatives()  # the description: (b, a)
    a2 = a_full[np.newaxis, :] if a_full.ndim == 1 else a_full
    b2 = b_full[:, np.newaxis] if b_full.ndim == 1 else b_full
    batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    n, m, p = a2.shape[-2], a2.shape[-1], b2.shape[-1]
    a_big = np.broadcast_to(a2, batch + (n, m))
    b_big = np.broadcast_to(b2, batch + (m, p))
    out_index = _flat_index(batch + (n, p))
    a_source = np.broadcast_to(_flat_index(a2.shape), batch + (n, m))
    b_source = np.broadcast_to(_flat_index(b2.shape), batch + (m, p))
    dense_a = np.zeros((out_index.size, a2.size))
    dense_b = np.zeros((out_index.size, b2.size))
    for t in np.ndindex(batch):
        for i in range(n):
            for k in range(p):
                for j in range(m):
                    dense_a[out_index[t][i, k], a_source[t][i, j]] += b_big[t][j, k]
                    dense_b[out_index[t][i, k], b_source[t][j, k]] += a_big[t][i, j]
    return [dense_a, dense_b]


def _linear(node: Tensor) -> list[np.ndarray]:
    """z[n, j] = sum_i x[n, i] w[j, i] + b[j]: (w, x, 1) for (x, w, b)."""
    described = node.local_derivatives()
    w, x = described[0], described[1]
    x2 = x[np.newaxis, :] if x.ndim == 1 else x
    batch, (n_out, n_in) = x2.shape[0], w.shape
    z_index = _flat_index((batch, n_out))
    dense = [np.zeros((z_index.size, x2.size)), np.zeros((z_index.size, w.size))]
    if len(described) == 3:
        dense.append(np.zeros((z_index.size, n_out)))
    for n in range(batch):
        for j in range(n_out):
            for i in range(n_in):
                dense[0][z_index[n, j], n * n_in + i] += w[j, i]
                dense[1][z_index[n, j], j * n_in + i] += x2[n, i]
            if len(described) == 3:
                dense[2][z_index[n, j], j] += described[2]
    return dense


def _cost(node: Tensor) -> list[np.ndarray]:
    """A loss (or from_local of a whole array): one row, dC/d input itself."""
    ((a,), (row,)) = node.parents, node.local_derivatives()
    return [np.broadcast_to(np.asarray(row, dtype=float), a.shape).reshape(1, -1)]


def _given(node: Tensor) -> list[np.ndarray]:
    """from_local: an elementwise op's diagonal (out has the input's shape), else a cost's row."""
    return (_elementwise if node.shape == node.parents[0].shape else _cost)(node)


DESCRIBED = {
    **dict.fromkeys(["neg", "exp", "log", "tanh", "sigmoid", "relu",
                     "+", "-", "*", "/", "**"], _elementwise),
    **dict.fromkeys(["sum", "mean", "max"], _reduction),
    **dict.fromkeys(["reshape", "transpose", "index"], _moved),
    **dict.fromkeys(["softmax", "log_softmax"], _row_jacobian),
    "@": _matmul,
    "linear": _linear,
    **dict.fromkeys(["cross_entropy", "softmax_cross_entropy"], _cost),
    "given": _given,
}


def check_local_is_vjp(node: Tensor, seed: int = 0) -> None:
    """g . J_i (J from the description) equals node.vjp(g)[i] for every input that needs it."""
    assert node.parents, "the op must have recorded a node"
    g = np.random.default_rng(seed).standard_normal(node.shape)
    contributions = node.vjp(g)
    jacobians = DESCRIBED[node.op](node)
    assert len(jacobians) == len(node.parents) == len(contributions)
    for i, (parent, jacobian, contribution) in enumerate(
            zip(node.parents, jacobians, contributions)):
        if not parent.requires_grad:
            continue
        described = (g.reshape(-1) @ jacobian).reshape(parent.shape)
        np.testing.assert_allclose(contribution, described, rtol=1e-12, atol=1e-12,
                                   err_msg=f"{node.op}: input {i}")


def leaf(data: np.ndarray) -> Tensor:
    return Tensor(data, requires_grad=True)


# ---- every op --------------------------------------------------------------------------------

UNARY = {
    "neg": (small_floats(), lambda x: -x),
    "exp": (small_floats(), Tensor.exp),
    "log": (positive_floats(), Tensor.log),
    "tanh": (small_floats(5.0), Tensor.tanh),
    "sigmoid": (small_floats(40.0), Tensor.sigmoid),
    "relu": (nonzero_floats(), Tensor.relu),
}


@pytest.mark.parametrize("name", list(UNARY))
@given(data=st.data())
def test_elementwise_functions(name: str, data: st.DataObject) -> None:
    elements, f = UNARY[name]
    a = data.draw(float64_arrays(shapes(), elements), label="a")
    check_local_is_vjp(f(leaf(a)))


BINARY = {
    "+": (small_floats(), small_floats(), lambda a, b: a + b),
    "-": (small_floats(), small_floats(), lambda a, b: a - b),
    "*": (small_floats(), small_floats(), lambda a, b: a * b),
    "/": (small_floats(), nonzero_floats(0.5, 3.0), lambda a, b: a / b),
    "**": (positive_floats(0.5, 2.0), small_floats(2.0), lambda a, b: a**b),
}


@pytest.mark.parametrize("name", list(BINARY))
@given(data=st.data(), constant=st.sampled_from([None, "left", "right"]))
def test_binary_ops_with_broadcasting(name: str, data: st.DataObject, constant: str | None
                                      ) -> None:
    """Every broadcasting pattern; a constant side gets no contribution (None)."""
    left, right, f = BINARY[name]
    shape_a, shape_b = data.draw(broadcast_pairs(), label="shapes")
    a = data.draw(float64_arrays(shape_a, left), label="a")
    b = data.draw(float64_arrays(shape_b, right), label="b")
    x = Tensor(a) if constant == "left" else leaf(a)
    y = Tensor(b) if constant == "right" else leaf(b)
    node = f(x, y)
    check_local_is_vjp(node)
    assert [c is None for c in node.vjp(np.ones(node.shape))] == [constant == "left",
                                                                  constant == "right"]


@pytest.mark.parametrize("name", ["sum", "mean"])
@given(data=st.data(), keepdims=st.booleans())
def test_sum_and_mean(name: str, data: st.DataObject, keepdims: bool) -> None:
    a = data.draw(float64_arrays(shapes()), label="a")
    axis = data.draw(axes_for(a.ndim), label="axis")
    check_local_is_vjp(getattr(leaf(a), name)(axis=axis, keepdims=keepdims))


@given(data=st.data(), keepdims=st.booleans(), ties=st.booleans())
def test_max(data: st.DataObject, keepdims: bool, ties: bool) -> None:
    shape = data.draw(shapes(min_dims=1), label="shape")
    a = (np.round(data.draw(float64_arrays(shape)))  # whole numbers: ties are likely
         if ties else data.draw(distinct_arrays(shape)))
    axis = data.draw(axes_for(a.ndim), label="axis")
    check_local_is_vjp(leaf(a).max(axis=axis, keepdims=keepdims))


@given(data=st.data())
def test_reshape_and_transpose(data: st.DataObject) -> None:
    a = data.draw(float64_arrays(shapes(min_dims=1)), label="a")
    check_local_is_vjp(leaf(a).reshape(-1))
    check_local_is_vjp(leaf(a).reshape(a.shape[::-1]))
    order = data.draw(st.permutations(range(a.ndim)), label="order")
    check_local_is_vjp(leaf(a).transpose(order))


@given(data=st.data())
def test_index(data: st.DataObject) -> None:
    """Slices, and integer arrays with repeated picks (their contributions add up)."""
    a = data.draw(float64_arrays(shapes(min_dims=2, min_side=2)), label="a")
    check_local_is_vjp(leaf(a)[1:, ::-1])
    rows = data.draw(st.lists(st.integers(0, a.shape[0] - 1), min_size=1, max_size=6))
    cols = data.draw(st.lists(st.integers(0, a.shape[1] - 1), min_size=len(rows),
                              max_size=len(rows)))
    check_local_is_vjp(leaf(a)[rows, cols])


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(data=st.data())
def test_softmax_describes_its_full_jacobian(name: str, data: st.DataObject) -> None:
    a = data.draw(float64_arrays(shapes(min_dims=1), small_floats(5.0)), label="a")
    axis = data.draw(st.integers(-a.ndim, a.ndim - 1), label="axis")
    node = getattr(leaf(a), name)(axis=axis)
    (jacobian,) = node.local_derivatives()
    n = a.shape[axis]
    assert jacobian.shape == np.moveaxis(a, axis, -1).shape + (n,)
    check_local_is_vjp(node)


MATMUL_SHAPES = {
    "matrix @ matrix": ((2, 3), (3, 4)),
    "vector @ matrix": ((3,), (3, 2)),
    "matrix @ vector": ((2, 3), (3,)),
    "vector @ vector": ((3,), (3,)),
    "batch @ matrix": ((2, 2, 3), (3, 4)),
    "matrix @ batch": ((2, 3), (2, 3, 1)),
    "batches broadcast": ((2, 1, 2, 3), (3, 3, 2)),
}


@pytest.mark.parametrize("case", list(MATMUL_SHAPES))
@given(data=st.data())
def test_matmul(case: str, data: st.DataObject) -> None:
    shape_a, shape_b = MATMUL_SHAPES[case]
    a = data.draw(float64_arrays(shape_a), label="a")
    b = data.draw(float64_arrays(shape_b), label="b")
    check_local_is_vjp(leaf(a) @ leaf(b))
    check_local_is_vjp(Tensor(a) @ leaf(b))  # a constant: its contribution is None


@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("batch", [None, 1, 3], ids=["1d", "batch1", "batch3"])
@given(data=st.data(), n_in=st.integers(1, 4), n_out=st.integers(1, 4))
def test_linear(batch: int | None, with_bias: bool, data: st.DataObject, n_in: int,
                n_out: int) -> None:
    x = data.draw(float64_arrays((n_in,) if batch is None else (batch, n_in)), label="x")
    w = data.draw(float64_arrays((n_out, n_in)), label="w")
    bias = [leaf(data.draw(float64_arrays((n_out,)), label="b"))] if with_bias else []
    node = linear(leaf(x), leaf(w), *bias)
    assert node.local_derivatives()[2:] == ((1.0,) if with_bias else ())
    check_local_is_vjp(node)
    check_local_is_vjp(linear(Tensor(x), leaf(w), *bias))  # the first layer: x is data


@given(data=st.data())
def test_losses(data: st.DataObject) -> None:
    """Each loss is one node: its local derivative is dC/d input, one row."""
    n, k = data.draw(st.integers(1, 4)), data.draw(st.integers(2, 4))
    z = data.draw(float64_arrays((n, k), small_floats(5.0)), label="z")
    labels = np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    from_z = nn.cross_entropy_loss(leaf(z).sigmoid(), labels)
    assert from_z.op == "cross_entropy"
    check_local_is_vjp(from_z)
    a = data.draw(float64_arrays((n, k), positive_floats(0.05, 0.95)), label="a")
    check_local_is_vjp(nn.cross_entropy_loss(leaf(a), labels))
    check_local_is_vjp(nn.softmax_cross_entropy(leaf(z), labels))


def test_from_local() -> None:
    """Tensor.from_local: an elementwise op (a cube), and a cost of a whole array."""
    x = leaf(np.array([[1.0, -2.0], [0.5, 3.0]]))
    check_local_is_vjp(Tensor.from_local(x.data**3, x, "given", 3 * x.data**2))
    check_local_is_vjp(Tensor.from_local(np.asarray((x.data**2).sum()), x, "given",
                                         2 * x.data))


def test_every_op_class_is_covered() -> None:
    """Each concrete op of tensor_ops (and of nn.losses) has a described-Jacobian check here."""
    classes = [cls for module in (tensor_ops, nn.losses) for _, cls in inspect.getmembers(module)
               if inspect.isclass(cls) and issubclass(cls, tensor_ops.Op)
               and "local" in {name for c in cls.__mro__[:-1] for name in vars(c)}
               and cls.local is not tensor_ops.Op.local]
    names = {cls.name for cls in classes}
    assert names == set(DESCRIBED), names ^ set(DESCRIBED)


# ---- what the ops keep, and what they do not ----------------------------------------------------


def test_an_op_keeps_arrays_by_name_and_never_its_node() -> None:
    x = leaf(np.array([[0.5, -1.0]]))
    w = leaf(np.ones((3, 2)))
    z = linear(x, w)
    a = z.sigmoid()
    assert a._ctx.s is a.data and isinstance(a._ctx.e, np.ndarray)
    assert z._ctx.w is w.data and z._ctx.x is x.data
    for node in (z, a):
        saved = [getattr(node._ctx, name) for cls in type(node._ctx).__mro__
                 for name in getattr(cls, "__slots__", ()) if hasattr(node._ctx, name)]
        assert not any(isinstance(value, Tensor) for value in saved)


def test_sigmoid_derivative_is_computed_only_when_asked() -> None:
    """sigma' is not stored by the forward pass: backward (or an observer) computes it."""
    z = leaf(np.array([0.0, 2.0, -3.0]))
    a = z.sigmoid()
    assert set(type(a._ctx).__slots__) == {"e", "s"}
    first, second = a.local_derivatives()[0], a.local_derivatives()[0]
    assert first is not second  # fresh each time: backward may multiply it in place
    np.testing.assert_array_equal(first, second)
    a.backward(gradient=np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(a.local_derivatives()[0], first)  # untouched by backward


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_of_a_big_array_gives_the_numbers_of_small_ones(dtype: type) -> None:
    """Above tensor_ops._BIG numbers the sigmoid takes other numpy calls (for speed): the same
    values and derivatives, the ceiling kept, the saturated tails exact."""
    rng = np.random.default_rng(0)
    z = np.concatenate([rng.standard_normal(3000) * 1e-8, rng.standard_normal(3000) * 40.0,
                        [-1000.0, 1000.0, 0.0]]).astype(dtype)
    assert z.size > tensor_ops._BIG
    big = leaf(z).sigmoid()
    pieces = [leaf(part).sigmoid() for part in np.array_split(z, 8)]
    assert all(part.size <= tensor_ops._BIG for part in np.array_split(z, 8))
    np.testing.assert_array_equal(big.data, np.concatenate([p.data for p in pieces]))
    local = big.local_derivatives()[0]
    np.testing.assert_array_equal(local, np.concatenate([p.local_derivatives()[0]
                                                         for p in pieces]))
    assert (local <= 0.25).all() and local[-3] == 0.0 and big.data[-3] == 0.0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_saturates_exactly_beside_a_nan(dtype: type) -> None:
    """The backward's one check for a value to mend finds a NaN first: it must not hide a
    saturated z beside it (whose inf x 0 is mended to sigma' = 0)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning
        a = leaf(np.array([np.nan, -1000.0, 0.0, 1000.0], dtype)).sigmoid()
        local = a.local_derivatives()[0]
    np.testing.assert_array_equal(a.data[1:], [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(local[1:], [0.0, 0.25, 0.0])
    assert np.isnan(a.data[0]) and np.isnan(local[0])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("z", [-1000.0, -np.inf, -100.0, np.inf, 1000.0, 0.0])
def test_sigmoid_of_one_number_saturates_exactly(dtype: type, z: float) -> None:
    """A 0-d z (one number), far into either tail or at infinity: sigma and sigma' exact, no
    warning, and the gradient of backward equal to the local derivative."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = leaf(np.array(z, dtype))
        a = x.sigmoid()
        local = a.local_derivatives()[0]
        a.backward()
    # sigma and sigma' of that number: e^100 is finite in float64 (sigma(-100) = 3.7e-44 there)
    # and overflows in float32 (sigma = 0); every other z is past both dtypes' range or 0
    tiny = float(np.exp(-100.0)) if (z == -100.0 and dtype is np.float64) else 0.0
    sigma = {0.0: 0.5, np.inf: 1.0, 1000.0: 1.0}.get(z, tiny)
    derivative = 0.25 if z == 0.0 else tiny
    assert a.data.shape == () and float(a.data) == pytest.approx(sigma, rel=1e-12, abs=0.0)
    assert float(local) == pytest.approx(derivative, rel=1e-12, abs=0.0)
    assert float(x.grad) == float(local)


def test_a_saturated_sigmoid_does_not_flag_a_non_finite_number() -> None:
    """e^-z overflowing to inf is the sigmoid's own intermediate (sigma = 0 is finite): it must
    not make SGD.step run its full finiteness check (tensor_ops.nonfinite_seen)."""
    tensor_ops.nonfinite_seen[0] = False
    a = leaf(np.array([-1000.0, -np.inf, 0.0])).sigmoid()
    a.sum().backward()
    assert tensor_ops.nonfinite_seen[0] is False
