"""Tests for minigrad.engine: topological order, backward, observable steps, no reference cycles.

The engine is exercised through both kinds of node (Value and Tensor): one graph walk serves both.
"""

from __future__ import annotations

import gc
import math
import sys
import weakref
from collections import defaultdict
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import float64_arrays, small_floats

from minigrad import ChainStep, Tensor, Value, gradcheck, is_grad_enabled, no_grad
from minigrad.engine import Node, topological_order

# ---- random expression graphs ---------------------------------------------------------------

# A program is a list of steps (op, i, j): node k = op(node i, node j) over earlier nodes, so
# nodes are reused freely (diamonds, a + a, long and short paths to the same input).
_BINARY = ("+", "-", "*")
_UNARY = ("tanh", "sigmoid", "neg")


@st.composite
def programs(draw: st.DrawFn) -> tuple[list[float], list[tuple[str, int, int]]]:
    """Input values and 1..10 steps of a random expression graph over them."""
    inputs = draw(st.lists(small_floats(1.5), min_size=1, max_size=3))
    steps = []
    for k in range(draw(st.integers(1, 10))):
        n = len(inputs) + k  # nodes available so far
        op = draw(st.sampled_from(_BINARY + _UNARY))
        steps.append((op, draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))))
    return inputs, steps


def run(program_steps: list[tuple[str, int, int]], *inputs: Node) -> Node:
    """Evaluate a program on Values or Tensors; the last node is the output."""
    nodes = list(inputs)
    for op, i, j in program_steps:
        a, b = nodes[i], nodes[j]
        if op == "+":
            nodes.append(a + b)
        elif op == "-":
            nodes.append(a - b)
        elif op == "*":
            nodes.append(a * b)
        elif op == "neg":
            nodes.append(-a)
        else:
            nodes.append(getattr(a, op)())
    return nodes[-1]


def record(output: Node, **backward_kwargs: object) -> list[ChainStep]:
    """Run backward with an observer and return the steps in the order they were seen."""
    steps: list[ChainStep] = []
    output.backward(on_step=steps.append, **backward_kwargs)
    return steps


# ---- topological order ----------------------------------------------------------------------


@given(programs())
def test_topological_order_puts_every_node_after_its_parents(program) -> None:
    """Each node appears once, after all of its parents, and the root comes last."""
    inputs, steps = program
    output = run(steps, *[Value(x) for x in inputs])
    order = topological_order(output)
    position = {id(node): k for k, node in enumerate(order)}
    assert len(position) == len(order)  # no node twice
    assert order[-1] is output
    for node in order:
        for parent in node.parents:
            assert position[id(parent)] < position[id(node)]


def test_topological_order_of_a_leaf_is_the_leaf() -> None:
    a = Value(1.0)
    assert topological_order(a) == [a]


def test_without_leaves_the_order_holds_only_the_nodes_made_by_ops() -> None:
    a, b = Value(1.0), Value(2.0)
    y = a * b + a
    assert topological_order(a, leaves=False) == []
    assert [node.op for node in topological_order(y, leaves=False)] == ["*", "+"]


def test_a_user_op_named_with_the_empty_string_is_still_walked() -> None:
    """The walk takes a node whose op is '' for a leaf, so from_op never records '' as a name."""
    a = Value(3.0)
    v = Value.from_op(a.data * 2.0, (a,), "", (2.0,))
    (v * v).backward()
    assert v.op == "op" and a.grad == 2.0 * 2.0 * 6.0
    x = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    t = Tensor.from_op(x.data * 3.0, (x,), "", lambda ctx, g: (g * 3.0,), None)
    (t * t).sum().backward()
    assert t.op == "op" and x.grad.tolist() == [18.0, -36.0]


def test_parents_are_an_ordered_tuple_that_keeps_repeats() -> None:
    """a + a has two edges to a; a - b keeps the argument order."""
    a, b = Value(2.0), Value(5.0)
    assert (a + a).parents == (a, a)
    assert (a - b).parents == (a, b)
    assert (b - a).parents == (b, a)
    assert a.is_leaf and not (a + a).is_leaf
    assert (a * b).op == "*" and a.op == ""


# ---- random graphs: gradients right, every step observed -------------------------------------


@given(programs())
def test_random_graphs_match_finite_differences(program) -> None:
    """Any graph of shared subexpressions gets the gradient of finite differences."""
    inputs, steps = program
    assert gradcheck(lambda *xs: run(steps, *xs), *[Value(x) for x in inputs])


@given(programs())
def test_random_tensor_graphs_match_finite_differences(program) -> None:
    """The same graphs over arrays walk the same engine: gradients match finite differences."""
    inputs, steps = program
    rng = np.random.default_rng(len(steps))
    tensors = [Tensor(x + 0.1 * rng.standard_normal(3), requires_grad=True) for x in inputs]
    assert gradcheck(lambda *xs: run(steps, *xs), *tensors)


@given(programs())
def test_on_step_sees_every_edge_once_with_its_product(program) -> None:
    """One ChainStep per edge, local * upstream == contribution, and the sums are the grads."""
    inputs, steps = program
    leaves = [Value(x) for x in inputs]
    output = run(steps, *leaves)
    seen = record(output)
    order = topological_order(output)
    edges = [(node, index) for node in order for index in range(len(node.parents))]
    assert sorted((id(s.node), s.index) for s in seen) == sorted((id(n), i) for n, i in edges)
    totals: dict[int, float] = defaultdict(float)
    for step in seen:
        assert step.parent is step.node.parents[step.index]
        assert step.local == step.node.local_derivatives()[step.index]
        assert step.contribution == step.local * step.upstream
        totals[id(step.parent)] += step.contribution
    for node in order[:-1]:  # every node but the output gets its grad from its steps alone
        assert node.grad == totals[id(node)]  # the same sums, in the same order


def _vjp_walk(output: Node) -> None:
    """The chain rule written out with the public API only: vjp, added to each parent."""
    order = topological_order(output)
    for node in order:
        node.grad = 0.0
    output.grad = 1.0
    for node in reversed(order):
        for parent, contribution in zip(node.parents, node.vjp(node.grad) if node.parents else ()):
            parent.grad = parent.grad + contribution


@given(programs())
def test_plain_observed_and_vjp_passes_give_the_same_gradients_to_the_bit(program) -> None:
    """backward() (each Value multiplies in place), backward(on_step=...) (through vjp) and a
    walk written with the public vjp agree on every gradient, bit for bit."""
    inputs, steps = program
    results = []
    for how in ("plain", "observed", "vjp"):
        leaves = [Value(x) for x in inputs]
        output = run(steps, *leaves)
        if how == "plain":
            output.backward()
        elif how == "observed":
            output.backward(on_step=lambda step: None)
        else:
            _vjp_walk(output)
        results.append([node.grad.hex() for node in topological_order(output)])
    assert results[0] == results[1] == results[2]


def test_vjp_is_local_derivative_times_upstream_for_every_parent() -> None:
    a, b = Value(2.0), Value(-3.0)
    assert (a * b).vjp(0.5) == (-1.5, 1.0)
    assert (a + a).vjp(2.0) == (2.0, 2.0)
    assert a.tanh().vjp(1.0) == a.tanh().local_derivatives()
    with pytest.raises(ValueError, match="a leaf has no backward rule"):
        a.vjp(1.0)


@given(programs())
def test_on_step_runs_each_node_after_its_gradient_is_complete(program) -> None:
    """A node's steps come after every step into it: its upstream gradient is final."""
    inputs, steps = program
    output = run(steps, *[Value(x) for x in inputs])
    seen = record(output)
    first_use = {}
    for k, step in enumerate(seen):
        first_use.setdefault(id(step.node), k)
    for k, step in enumerate(seen):
        if id(step.parent) in first_use:
            assert k < first_use[id(step.parent)]
    for step in seen:
        assert step.upstream == step.node.grad


def test_on_step_for_tensors_sums_to_the_grads() -> None:
    """For tensors the contributions (vector-Jacobian products) also sum to each parent's grad."""
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    w = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    b = Tensor(rng.standard_normal(2), requires_grad=True)
    z = x @ w.T + b
    a = z.sigmoid()
    loss = (a * a + a).sum()
    seen = record(loss)
    totals: dict[int, np.ndarray] = {}
    for step in seen:
        assert step.contribution.shape == step.parent.shape
        assert step.upstream.shape == step.node.shape
        totals[id(step.parent)] = totals.get(id(step.parent), 0) + step.contribution
    for node in (x, w, b, z, a):
        np.testing.assert_allclose(node.grad, totals[id(node)], rtol=1e-12)
    # one step per edge into a node that needs a gradient: a * a and + a give a three steps
    assert sum(step.parent is a for step in seen) == 3


def test_on_step_reports_index_for_repeated_parents() -> None:
    """b = a + a: two steps into a, with index 0 and 1, each contributing 1 * upstream."""
    a = Value(3.0)
    b = a + a
    seen = record(b)
    assert [(s.parent is a, s.index, s.local, s.upstream, s.contribution) for s in seen] == [
        (True, 0, 1.0, 1.0, 1.0), (True, 1, 1.0, 1.0, 1.0)]
    assert a.grad == 2.0


# ---- diamonds, reuse, accumulation ----------------------------------------------------------


def test_reused_node_b_equals_a_plus_a_then_b_times_b() -> None:
    """b = a + a; c = b * b = 4a^2, so dc/da = 8a (both edges of both uses count)."""
    a = Value(3.0)
    b = a + a
    c = b * b
    c.backward()
    assert c.data == 36.0
    assert b.grad == 2 * b.data == 12.0
    assert a.grad == 8 * a.data == 24.0


def test_diamond() -> None:
    """x feeds two branches that meet again: dz/dx = 2 e^x + 2x e^x for z = (2x) e^x."""
    x = Value(0.7)
    z = (x * 2.0) * x.exp()
    z.backward()
    assert x.grad == pytest.approx(2 * math.exp(0.7) + 2 * 0.7 * math.exp(0.7), rel=1e-14)


def test_backward_twice_accumulates_leaves_and_recomputes_the_rest() -> None:
    """Documented semantics: leaf grads accumulate, non-leaf grads are recomputed each pass."""
    a, w = Value(2.0), Value(-3.0)
    z = a * w
    out = z.tanh()
    out.backward()
    first = (a.grad, w.grad, z.grad, out.grad)
    out.backward()
    assert (a.grad, w.grad) == (2 * first[0], 2 * first[1])
    assert (z.grad, out.grad) == (first[2], first[3]) == (1.0 - math.tanh(-6.0) ** 2, 1.0)
    a.zero_grad()
    w.zero_grad()
    assert (a.grad, w.grad) == (0.0, 0.0)
    out.backward()
    assert (a.grad, w.grad) == first[:2]


def test_backward_twice_for_tensors() -> None:
    """Tensors follow the same rule; zero_grad forgets a leaf's gradient."""
    x = Tensor([1.0, -2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    y.backward()
    np.testing.assert_array_equal(x.grad, [4.0, -8.0])
    x.zero_grad()
    assert x.grad is None
    y.backward()
    np.testing.assert_array_equal(x.grad, [2.0, -4.0])


def test_backward_on_a_leaf_accumulates_like_any_leaf() -> None:
    """A leaf that is its own output: d a/d a = 1 each time, accumulated."""
    a = Value(5.0)
    a.backward()
    a.backward()
    assert a.grad == 2.0
    x = Tensor([1.0, 2.0], requires_grad=True)
    x.backward(gradient=np.array([1.0, 3.0]))
    x.backward(gradient=np.array([1.0, 3.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 6.0])


def test_backward_from_an_inner_node_reaches_only_what_is_below_it() -> None:
    a, b = Value(2.0), Value(4.0)
    c = a * 3.0
    d = c + b
    c.backward()
    assert (a.grad, b.grad, d.grad) == (3.0, 0.0, 0.0)


# ---- depth: no recursion ---------------------------------------------------------------------


def test_a_chain_100_000_deep_works_with_the_default_recursion_limit() -> None:
    """The order is found with an explicit stack: depth is limited by memory, not by Python."""
    assert sys.getrecursionlimit() <= 10_000  # nobody raised it for us (default 1000)
    depth = 100_000
    x = Value(0.5)
    y = x
    for _ in range(depth):
        y = y * 1.00001
    y.backward()
    assert x.grad == pytest.approx(1.00001**depth, rel=1e-9)
    assert y.data == pytest.approx(0.5 * 1.00001**depth, rel=1e-9)
    assert len(topological_order(y)) == depth + 1 + depth  # the chain and one constant per step


def test_a_deep_chain_is_freed_without_recursion_errors() -> None:
    """Dropping the head of a 100,000-node chain frees every node, without the collector."""
    problems = []
    old_hook = sys.unraisablehook
    sys.unraisablehook = problems.append  # an error inside a destructor would land here
    gc.disable()
    try:
        x = Value(1.0)
        y = x.tanh()
        first = weakref.ref(y)
        for _ in range(100_000):
            y = (y + x).tanh()
        y.backward()
        del y
        assert first() is None
    finally:
        gc.enable()
        sys.unraisablehook = old_hook
    assert problems == []


# ---- no reference cycles ---------------------------------------------------------------------


@pytest.fixture
def no_collector() -> Iterator[None]:
    """Turn the cyclic collector off, so only reference counting can free anything."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _collect_nodes() -> list[object]:
    """Run the cyclic collector and return the minigrad nodes it had to free (should be none)."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        found = [obj for obj in gc.garbage if isinstance(obj, Node)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    return found


def test_a_value_graph_is_freed_by_reference_counting(no_collector) -> None:
    """After del of the output, an intermediate node is gone at once: no cycle held it."""
    a, b = Value(2.0), Value(-1.5)
    hidden = (a * b + a).sigmoid()
    output = hidden * hidden + hidden.exp()
    output.backward(on_step=lambda step: None)
    watch = weakref.ref(hidden)
    del hidden
    assert watch() is not None  # output still points to it
    del output
    assert watch() is None
    assert _collect_nodes() == []
    assert a.grad != 0.0  # the leaves we hold keep their gradients


def test_a_tensor_graph_is_freed_by_reference_counting(no_collector) -> None:
    x = Tensor(np.ones((3, 2)))
    w = Tensor(np.full((4, 2), 0.5), requires_grad=True)
    z = x @ w.T
    loss = (z.sigmoid().log_softmax(axis=1)[np.arange(3), [0, 1, 1]]).mean()
    loss.backward()
    watch = [weakref.ref(z), weakref.ref(loss)]
    del z, loss
    assert [ref() for ref in watch] == [None, None]
    assert _collect_nodes() == []
    assert w.grad.shape == (4, 2)


@given(programs())
def test_random_graphs_hold_no_cycles(program) -> None:
    """Whatever the shape of the graph, reference counting alone frees it."""
    inputs, steps = program
    gc.disable()
    try:
        leaves = [Value(x) for x in inputs]
        output = run(steps, *leaves)
        output.backward()
        watch = [weakref.ref(node) for node in topological_order(output) if node.parents]
        del output
        assert all(ref() is None for ref in watch)
    finally:
        gc.enable()


# ---- no_grad ---------------------------------------------------------------------------------


def test_no_grad_builds_no_graph_and_restores_the_mode() -> None:
    """Value ops record no parents under no_grad; the mode nests and is restored on exit (the
    Tensor side: test_tensor.py::test_no_grad_builds_no_graph)."""
    a = Value(2.0)
    assert is_grad_enabled()
    with no_grad():
        assert not is_grad_enabled()
        with no_grad():
            pass
        assert not is_grad_enabled()  # the inner block restored the outer mode
        b = (a * 3.0).exp()
    assert is_grad_enabled()
    assert b.parents == () and b.op == "" and b.data == pytest.approx(math.exp(6.0))


def test_no_grad_restores_the_mode_after_an_error() -> None:
    with pytest.raises(ZeroDivisionError), no_grad():
        Value(1.0) / Value(0.0)
    assert is_grad_enabled()


@given(float64_arrays((2, 3)))
def test_gradients_do_not_alias_the_data(data) -> None:
    """Changing a leaf's data after backward leaves its gradient alone."""
    x = Tensor(data.copy(), requires_grad=True)
    (x * 2.0 + x).sum().backward()
    grad = x.grad.copy()
    x.data += 1.0
    np.testing.assert_array_equal(x.grad, grad)
    np.testing.assert_array_equal(grad, np.full((2, 3), 3.0))


def test_keep_grads_false_drops_intermediate_gradients_and_keeps_the_leaves() -> None:
    import numpy as np

    from minigrad import Tensor

    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    hidden = (x * 2.0).sigmoid()
    out = (hidden * hidden).sum()
    out.backward()
    kept_x, kept_hidden = x.grad.copy(), hidden.grad
    assert kept_hidden is not None
    x.zero_grad()
    out.backward(keep_grads=False)
    np.testing.assert_array_equal(x.grad, kept_x)
    assert hidden.grad is None and out.grad is None
    a = Value(2.0)
    b = a * a
    c = b.tanh()
    c.backward(keep_grads=False)
    assert b.grad == 0.0 and a.grad == pytest.approx(4.0 * (1 - math.tanh(4.0) ** 2))
