"""Tests for minigrad.trace: recorded steps, path products, reading without a second pass."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad import Tensor, Value
from minigrad.engine import ChainStep
from minigrad.nn import cross_entropy_loss, mlp
from minigrad.trace import (
    Path,
    Step,
    Summary,
    exploding_chain,
    neuron_chain,
    summarize,
    trace,
)

weights = st.floats(-3.0, 3.0, allow_nan=False)
small_weights = st.floats(-0.999, 0.999, allow_nan=False)
biases = st.floats(-2.0, 2.0, allow_nan=False)


def sigma_prime(z: float) -> float:
    """sigma'(z) computed independently of minigrad."""
    s = 1.0 / (1.0 + math.exp(-z))
    return s * (1.0 - s)


# ---- the book's chain ---------------------------------------------------------------------------
@given(st.lists(weights, min_size=4, max_size=4), st.lists(biases, min_size=4, max_size=4),
       st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_chain_product_is_the_gradient_backward_computed(w, b, x, y) -> None:
    chain = neuron_chain(w, b, x, y=y)
    record = trace(chain.cost)
    path = record.path(chain["b1"])
    # The running product ends at the gradient the engine accumulated, bit for bit.
    assert path[-1].product == chain["b1"].grad
    assert path.gradient == chain["b1"].grad
    assert math.prod(p.factor for p in path) == pytest.approx(chain["b1"].grad, rel=1e-12,
                                                               abs=1e-300)
    # Every running product is the gradient of that step's parent (a chain has one path).
    for p in path:
        assert p.product == p.parent.grad
    # Nielsen's eq. 122 from an independent computation of z_j.
    a, zs = x, []
    for w_j, b_j in zip(w, b):
        zs.append(w_j * a + b_j)
        a = 1.0 / (1.0 + math.exp(-zs[-1]))
    expected = sigma_prime(zs[0]) * (a - y)
    for j in range(1, 4):
        expected *= w[j] * sigma_prime(zs[j])
    assert chain["b1"].grad == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_chain_path_lists_nielsens_factors_in_backward_order() -> None:
    chain = neuron_chain([0.5, -0.8, 0.3, 0.9], [0.1, 0.2, -0.3, 0.4])
    path = trace(chain.cost).path(chain["b1"])
    ops = [p.node.op for p in path]
    assert ops == ["*", "**2", "-"] + ["sigmoid", "+", "*"] * 3 + ["sigmoid", "+"]
    assert [p.parent.label for p in path][-2:] == ["z1", "b1"]
    sig = [p.factor for p in path if p.node.op == "sigmoid"]
    assert sig == [z.sigmoid().local_derivatives()[0] for z in reversed(chain.z)]
    on_path = [p.factor for p in path if p.node.op == "*" and p.parent.label.startswith("a")]
    assert on_path == [0.9, 0.3, -0.8]


@given(st.lists(small_weights, min_size=4, max_size=4), st.lists(biases, min_size=4, max_size=4),
       st.floats(0.0, 1.0))
def test_sigma_prime_at_most_a_quarter_and_db1_16_times_smaller(w, b, x) -> None:
    chain = neuron_chain(w, b, x, y=0.3)
    record = trace(chain.cost)
    for p in record.path(chain["b1"]):
        if p.node.op == "sigmoid":
            assert 0.0 < p.factor <= 0.25
    assert abs(chain["b1"].grad) <= abs(chain["b3"].grad) / 16


@pytest.mark.parametrize("cost", ["quadratic", "output"])
def test_exploding_construction(cost: str) -> None:
    chain = exploding_chain(depth=4, weight=100.0, cost=cost)
    assert [z.data for z in chain.z] == [0.0] * 4
    path = trace(chain.cost).path(chain["b1"])
    sig = [p.factor for p in path if p.node.op == "sigmoid"]
    assert sig == [0.25] * 4
    ws = [p.factor for p in path if p.node.op == "*" and p.parent.label.startswith("a")]
    assert ws == [100.0] * 3
    assert chain["b1"].grad == 3906.25 * chain["a4"].grad
    assert path.gradient == 3906.25 * chain["a4"].grad
    assert chain["a4"].grad == (0.5 if cost == "quadratic" else 1.0)


@pytest.mark.parametrize("depth", [1, 2, 6])
def test_exploding_construction_any_depth(depth: int) -> None:
    chain = exploding_chain(depth=depth, weight=8.0)
    trace(chain.cost)
    assert chain["b1"].grad == 0.25 * 2.0 ** (depth - 1) * chain[f"a{depth}"].grad


def test_neuron_chain_argument_errors() -> None:
    with pytest.raises(ValueError, match="3 weights but 2 biases"):
        neuron_chain([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="zero_z"):
        neuron_chain([1, 2], [0, 0], zero_z=True)
    with pytest.raises(ValueError, match="unknown cost 'hinge'"):
        neuron_chain([1], cost="hinge")
    with pytest.raises(ValueError, match="at least one weight"):
        neuron_chain([])
    with pytest.raises(KeyError, match="no node labelled 'b9'"):
        neuron_chain([1.0])["b9"]


# ---- steps --------------------------------------------------------------------------------------
def expression() -> tuple[Value, list[Value]]:
    """A small graph with fan-out and a repeated argument (a + a)."""
    a, b, c = Value(1.5, label="a"), Value(-0.7, label="b"), Value(0.3, label="c")
    d = a * b + (a + a)
    e = (d * c).tanh() + d.sigmoid() * b
    e.label = "e"
    return e, [a, b, c]


def test_steps_are_the_engine_steps_in_order() -> None:
    e, _ = expression()
    seen: list[ChainStep] = []
    e.backward(on_step=seen.append)
    expected = [(s.node, s.parent, s.index, s.local, s.upstream, s.contribution) for s in seen]
    e2, leaves = expression()
    record = trace(e2)
    assert len(record.steps) == len(expected)
    for step, (node, parent, index, local, upstream, contribution) in zip(record.steps, expected):
        assert isinstance(step, Step) and isinstance(step, ChainStep)
        assert (step.node.data, step.parent.data, step.index) == (node.data, parent.data, index)
        assert (step.local, step.upstream, step.contribution) == (local, upstream, contribution)
        assert step.contribution == step.local * step.upstream
    assert record.output is e2 and record.seed == 1.0
    assert record.nodes[-1] is e2
    assert len(record.nodes) == len(set(map(id, record.nodes)))


def test_a_trace_is_of_its_own_output_never_of_an_earlier_pass() -> None:
    """trace(y) after z.backward() of a bigger graph holding y used to show z's pass (seed 3,
    path gradient 6): now it is y's own pass (seed 1, path gradient 2), and x keeps z's
    gradient instead of having y's added to it."""
    x = Value(1.0, label="x")
    y = x * 2.0
    y.label = "y"
    z = y * 3.0
    z.backward()
    record = trace(y)
    assert record.seed == 1.0 and record.path(x).gradient == 2.0
    assert record.gradient(x) == 2.0 and record.gradient(y) == 1.0
    assert x.grad == 6.0  # z's, not 6 + 2


def test_a_trace_after_backward_does_not_add_the_leaf_gradients_twice() -> None:
    """After y.backward(keep_grads=False) the output's own gradient is gone, but its leaves
    hold theirs: trace(y) used to add them a second time (8 instead of 4)."""
    x = Value(2.0, label="x")
    y = x * x
    y.backward(keep_grads=False)
    record = trace(y)
    assert x.grad == 4.0 and record.gradient(x) == 4.0 and record.path(x).gradient == 2.0
    t = Tensor(np.arange(3.0), requires_grad=True, label="t")
    out = (t * t).sum()
    out.backward()
    tensor_record = trace(out)
    assert np.array_equal(t.grad, 2 * np.arange(3.0))  # not 4 t
    assert np.array_equal(tensor_record.gradient(t), 2 * np.arange(3.0))
    fresh = Tensor(np.arange(3.0), requires_grad=True)
    trace((fresh * fresh).sum())
    assert np.array_equal(fresh.grad, 2 * np.arange(3.0))  # no gradient before: as backward


def test_a_trace_gives_every_node_the_gradient_backward_gave_it() -> None:
    e, leaves = expression()
    record = trace(e)
    for node in record.nodes:
        assert record.gradient(node) == node.grad  # bit for bit: the same additions


def test_nan_flows_through_paths_and_tables() -> None:
    """A NaN contribution used to leave Trace.path without a step to follow (a crash)."""
    chain = neuron_chain([float("nan"), 0.5, 2.0], [0.1, 0.2, 0.3], cost="output")
    record = trace(chain.cost)
    path = record.path(chain["b1"])
    assert math.isnan(path.gradient) and math.isnan(chain["b1"].grad)
    assert "nan" in path.table()
    a = Value(1.0, label="a")
    both = a * float("nan") + a * 2.0  # two ways down to a, one NaN
    assert len(trace(both).path(a)) == 2


def test_uses_of_a_node_sum_to_its_gradient() -> None:
    e, (a, b, _) = expression()
    record = trace(e)
    for node in record.nodes:
        uses = record.uses_of(node)
        if uses:
            assert math.fsum(s.contribution for s in uses) == pytest.approx(node.grad, rel=1e-12)
    # a is used by a*b and twice by a + a (two edges: indices 0 and 1 of the same node).
    assert len(record.uses_of(a)) == 3
    assert sorted(s.index for s in record.uses_of(a)) == [0, 0, 1]
    add = next(s.node for s in record.uses_of(a) if s.index == 1)
    assert [s.parent for s in record.edges_of(add)] == [a, a]


def test_value_output_takes_no_gradient_argument() -> None:
    with pytest.raises(TypeError, match="gradient= is for Tensor"):
        trace(Value(1.0) * 2.0, gradient=3.0)
    with pytest.raises(TypeError, match="expected a Value or Tensor"):
        trace(3.0)  # type: ignore[arg-type]


# ---- paths in graphs with several paths ---------------------------------------------------------
def test_paths_sum_to_the_gradient_and_path_takes_the_largest() -> None:
    e, (a, b, c) = expression()
    record = trace(e)
    for leaf in (a, b, c):
        paths = record.paths(leaf)
        assert all(isinstance(p, Path) and p.target is leaf for p in paths)
        # The chain rule as a sum over paths: the products add up to the gradient.
        assert math.fsum(p.gradient for p in paths) == pytest.approx(leaf.grad, rel=1e-12)
        # path(): at every step, the largest |contribution| among those that lead to the leaf.
        best = record.path(leaf)
        assert any([s.step for s in best] == [s.step for s in p] for p in paths)
    # d = a*b + (a + a) reaches a three ways; e reaches d two ways (tanh and sigmoid branch).
    assert len(record.paths(a)) == 2 * 3
    # b: directly (sigmoid(d) * b), and through d's one path to b in each branch.
    assert len(record.paths(b)) == 1 + 2
    assert len(record.paths(a, limit=2)) == 2


def test_path_choice_is_deterministic_on_ties() -> None:
    a = Value(2.0, label="a")
    y = a + a
    record = trace(y)
    path = record.path(a)
    assert len(path) == 1 and path[0].index == 0  # a tie: the first argument
    assert [p[0].index for p in record.paths(a)] == [0, 1]


def test_path_to_an_unrelated_node_is_an_error() -> None:
    e, _ = expression()
    record = trace(e)
    with pytest.raises(ValueError, match="stranger.*not below the output"):
        record.path(Value(1.0, label="stranger"))


def test_path_to_the_output_is_empty_with_the_seed() -> None:
    e, _ = expression()
    record = trace(e)
    path = record.path(e)
    assert len(path) == 0 and path.gradient == 1.0


def test_table_shows_factors_and_products() -> None:
    chain = neuron_chain([0.5, -0.8, 0.3, 0.9], [0.1, 0.2, -0.3, 0.4])
    record = trace(chain.cost)
    path = record.path(chain["b1"])
    text = record.table(chain["b1"])
    lines = text.splitlines()
    assert lines[0].startswith("path from C down to b1: 14 steps")
    header = lines[1]
    assert header.split()[:4] == ["#", "node", "op", "parent"]
    assert header.index("factor d node/d parent") < header.index("product dC/d parent")
    rows = lines[2:-1]
    assert len(rows) == len(path) == 14
    # Row k is step k of the path: its op, then the factor, then the running product.
    for k, (row, p) in enumerate(zip(rows, path), 1):
        cells = row.split()
        assert cells[0] == str(k) and cells[2] == p.node.op, row
        assert cells[-2:] == [f"{p.factor:.10g}", f"{p.product:.10g}"], row
    assert f"dC/db1 along this path = {chain['b1'].grad:.10g}" in text


# ---- tensors ------------------------------------------------------------------------------------
def small_mlp() -> tuple[Tensor, object, np.ndarray]:
    model = mlp([4, 3, 3, 2], seed=1)
    x = np.random.default_rng(0).standard_normal((5, 4))
    cost = cross_entropy_loss(model(x), np.array([0, 1, 1, 0, 1]))
    return cost, model, x


def test_tensor_steps_carry_shapes_and_summaries() -> None:
    cost, model, _ = small_mlp()
    record = trace(cost)
    assert record.is_tensor and len(record.steps) == 11
    for step in record.steps:
        assert step.node_shape == step.node.data.shape
        assert step.parent_shape == step.parent.data.shape
        assert step.contribution.shape == step.parent_shape
        for summary, array in ((step.upstream_summary, step.upstream),
                               (step.contribution_summary, step.contribution)):
            assert isinstance(summary, Summary)
            assert summary.shape == np.shape(array)
            assert summary.norm == pytest.approx(np.sqrt((np.asarray(array) ** 2).sum()))
            assert summary.mean_abs == pytest.approx(np.abs(array).mean())
        assert step.gain == pytest.approx(step.contribution_summary.norm
                                          / step.upstream_summary.norm)
    sig = [s for s in record.steps if s.node.op == "sigmoid"]
    assert len(sig) == 2
    for s in sig:  # the description of sigma' is an array of the layer's shape, each <= 1/4
        assert s.local_summary.shape == s.node_shape
        assert s.local_summary.mean_abs <= 0.25
    first_w = model[0].weight
    (w_step,) = [s for s in record.steps if s.parent is first_w]
    assert w_step.local_summary.shape == (5, 4)  # dz/dw is the input batch x


def test_tensor_summaries_are_taken_when_the_step_runs() -> None:
    cost, model, _ = small_mlp()
    record = trace(cost)
    (step,) = [s for s in record.steps if s.parent is model[2].weight]
    norm = step.local_summary.norm
    step.local[...] = 0.0  # an optimiser updating data in place later on
    assert step.local_summary.norm == norm


def test_tensor_path_product_is_the_gradient_on_a_chain() -> None:
    cost, model, _ = small_mlp()
    record = trace(cost)
    b1 = model[0].bias
    path = record.path(b1)
    assert [p.node.op for p in path] == ["cross_entropy", "linear", "sigmoid", "linear",
                                         "sigmoid", "linear"]
    np.testing.assert_array_equal(path.gradient, b1.grad)
    for p in path:
        assert np.shape(p.product) == p.parent.data.shape
    text = path.table()
    assert "parent shape" in text and "(3,)" in text


def test_tensor_paths_with_fan_out_sum_to_the_gradient() -> None:
    rng = np.random.default_rng(3)
    x = Tensor(rng.standard_normal((3, 2)))
    w = Tensor(rng.standard_normal((3, 2)), requires_grad=True, label="w")
    h = x * w
    cost = h.sigmoid().sum() + (h * 3.0).tanh().mean()
    record = trace(cost)
    paths = record.paths(w)
    assert len(paths) == 2
    np.testing.assert_allclose(sum(p.gradient for p in paths), w.grad, rtol=1e-12)
    # Each path's product is that branch alone: sigma'(h) x for the first.
    s = 1.0 / (1.0 + np.exp(-h.data))
    branch = [p for p in paths if p[0].parent.op == "sum"][0]
    np.testing.assert_allclose(branch.gradient, s * (1 - s) * x.data, rtol=1e-12)


def test_tensor_output_needs_a_gradient_unless_one_element() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="pass gradient="):
        trace(x * 2.0)
    record = trace(x * 2.0, gradient=np.array([1.0, -1.0]))
    np.testing.assert_array_equal(record.seed, [1.0, -1.0])
    assert len(record.steps) == 1


def test_summarize_numbers_arrays_and_none() -> None:
    assert summarize(None) is None
    assert summarize(-2.0) == Summary((), 2.0, 2.0)
    s = summarize(np.array([[3.0, -4.0]]))
    assert s == Summary((1, 2), 5.0, 3.5)
    assert summarize(np.zeros((0, 3))) == Summary((0, 3), 0.0, 0.0)
    assert summarize(np.array([1e200, 1e200])).norm == math.inf  # no RuntimeWarning


# ---- no recursion -------------------------------------------------------------------------------
def test_a_20000_deep_chain_traces_with_the_default_recursion_limit() -> None:
    x = Value(0.5, label="x")
    y = x
    for _ in range(20_000):
        y = y * 0.9999 + 0.0001
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)  # Python's default, whatever the test runner set
    try:
        record = trace(y)
        path = record.path(x)
        paths = record.paths(x, limit=3)
        again = trace(y)  # x holds a gradient now: kept, not added to
    finally:
        sys.setrecursionlimit(limit)
    assert len(path) == 40_000
    assert path.gradient == x.grad == again.gradient(x)  # x.grad was 0 before the first pass
    assert len(paths) == 1 and len(again.steps) == len(record.steps)
