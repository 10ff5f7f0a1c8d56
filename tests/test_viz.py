"""Tests for minigrad.viz: draw_graph and draw_chain show the engine's numbers, and render."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import graphviz
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad.engine
import minigrad.tensor
import minigrad.value
from minigrad import Tensor, Value
from minigrad.engine import topological_order
from minigrad.names import ratio_text
from minigrad.nn import cross_entropy_loss, mlp
from minigrad.trace import exploding_chain, neuron_chain, summarize, trace
from minigrad.viz import chain_factors, draw_chain, draw_graph, render_svg, save, which_renderer
from minigrad.viz.style import fmt

EDGE = re.compile(r"^\s*(\w+) -> (\w+) \[(.*)\]$")
ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s\]]+)')


def attrs(text: str) -> dict[str, str]:
    """DOT attributes of one statement, quotes removed."""
    return {k: v[1:-1] if v.startswith('"') else v for k, v in ATTR.findall(text)}


def edges(graph: graphviz.Digraph) -> list[tuple[str, str, dict[str, str]]]:
    out = []
    for line in graph.source.splitlines():
        m = EDGE.match(line)
        if m:
            out.append((m.group(1), m.group(2), attrs(m.group(3))))
    return out


def edge_text(label: str) -> str:
    """What an edge label reads: its lines (set beside the edge with no-break spaces and line
    ends, ``labels.edge_label``) without the spacing, joined by newlines."""
    lines = re.split(r"\\[lnr]", label.replace("\u00a0", " "))
    return "\n".join(line.strip() for line in lines if line.strip())


def node_count(graph: graphviz.Digraph) -> int:
    """Nodes declared in the DOT source (lines 'id [label=...'), legend excluded."""
    names = [m.group(1) for m in map(re.compile(r"^\s*(\w+) \[").match, graph.source.splitlines())
             if m]
    return sum(1 for n in names if n not in ("graph", "node", "edge") and
               not n.startswith("legend"))


def chain_rows(graph: graphviz.Digraph) -> list[list[str]]:
    """The boxes of draw_chain's rows, in reading order (left to right, top to bottom), from
    the edges of its DOT source.

    Each row is a path of visible edges from its first node ("start", then "cont1", "cont2",
    ...: an invisible chain on one rank that stacks them) to its last: the marker "next1",
    "next2", ... that says the row continues below, or the result. The markers are left out;
    the result is the last row's last box. Every edge points forward (no ``dir=back``), each
    node has one way on, and each marker that ends a row is matched by one that opens the next.
    """
    visible: dict[str, str] = {}
    for tail, head, a in edges(graph):
        if a.get("style") != "invis":
            assert a.get("dir", "forward") == "forward", (tail, head, a)
            assert tail not in visible, f"{tail} has two ways on"
            visible[tail] = head
    order = {tail: head for tail, head, a in edges(graph) if a.get("style") == "invis"}
    starts = ["start"]
    while starts[-1] in order:
        starts.append(order[starts[-1]])
    rows = []
    for k, start in enumerate(starts):
        row, node = [], start
        while node in visible:
            node = visible[node]
            row.append(node)
        last = f"next{k + 1}" if k + 1 < len(starts) else "result"
        assert row[-1] == last, (row, last)
        assert starts[k] == ("start" if k == 0 else f"cont{k}")
        rows.append(row[:-1] if k + 1 < len(starts) else row)
    return rows


def chain_text(graph: graphviz.Digraph) -> str:
    """draw_chain's DOT source with the line breaks inside its labels read as spaces: a box's
    "∂C/∂z2\\n= 0.00242629" reads "∂C/∂z2 = 0.00242629"."""
    return graph.source.replace("\\n", " ")


def expression(x: float = 1.5, y: float = -0.7, z: float = 0.3) -> Value:
    a, b, c = Value(x, label="a"), Value(y, label="b"), Value(z, label="c")
    d = a * b + (a + a)
    d.label = "d"
    e = (d * c).tanh() + d.sigmoid() * b - c.exp() / (a * a + 1.0)
    e.label = "e"
    return e


# ---- draw_graph: the numbers are the engine's ---------------------------------------------------
@given(st.floats(-2, 2), st.floats(-2, 2), st.floats(-2, 2))
def test_dot_numbers_are_the_engine_numbers(x: float, y: float, z: float) -> None:
    e = expression(x, y, z)
    e.backward()
    graph = draw_graph(e)
    order = topological_order(e)
    ids = {node: f"n{i}" for i, node in enumerate(order)}
    drawn = Counter()
    for tail, head, a in edges(graph):
        if head.endswith("_op") and tail.startswith("n"):
            drawn[(tail, head, edge_text(a["label"]),
                   a["tooltip"].split("; ")[0].split(" = ")[1])] += 1
    expected = Counter()
    for node in order:
        for parent, local in zip(node.parents, node.local_derivatives()):
            expected[(ids[parent], ids[node] + "_op", fmt(local), repr(local))] += 1
    assert drawn == expected
    # Node tooltips carry the exact data and grad; the record shows them in 6 digits.
    for node in order:
        line = next(ln for ln in graph.source.splitlines()
                    if ln.strip().startswith(ids[node] + " ["))
        a = attrs(line)
        assert a["tooltip"] == f"data = {node.data!r}; grad = {node.grad!r}"
        assert f"data {fmt(node.data)}" in a["label"] and f"grad {fmt(node.grad)}" in a["label"]


def test_edge_contribution_numbers_with_and_without_a_trace_agree() -> None:
    e = expression()
    record = trace(e)
    with_trace = [a["tooltip"] for _, _, a in edges(draw_graph(e, trace=record)) if "tooltip" in a]
    without = [a["tooltip"] for _, _, a in edges(draw_graph(e)) if "tooltip" in a]
    assert with_trace == without
    for step in record.steps:  # every step's contribution appears exactly
        assert any(f"contribution = {step.contribution!r}" in t for t in with_trace)


def test_a_plus_a_has_two_edges() -> None:
    a = Value(3.0, label="a")
    y = a + a
    y.backward()
    graph = draw_graph(y)
    into_op = [(t, h) for t, h, _ in edges(graph) if h == "n1_op"]
    assert into_op == [("n0", "n1_op"), ("n0", "n1_op")]
    assert a.grad == 2.0


def test_show_options_and_errors() -> None:
    e = expression()
    e.backward()
    quiet = draw_graph(e, show=())
    labels = [attrs(line).get("label", "") for line in quiet.source.splitlines()
              if re.match(r"^\s*n\d+ \[", line)]
    assert labels and not any("data" in t or "grad" in t for t in labels)
    assert all(a["label"] == "" for t, h, a in edges(quiet)
               if h.endswith("_op") and t.startswith("n"))
    full = draw_graph(e, show=("data", "grad", "local", "contribution"), rankdir="LR",
                      title="my graph")
    assert "→ " in full.source and "rankdir=LR" in full.source and "my graph" in full.source
    with pytest.raises(ValueError, match="unknown show option.*'size'"):
        draw_graph(e, show=("size",))
    with pytest.raises(ValueError, match="rankdir must be one of"):
        draw_graph(e, rankdir="UP")
    with pytest.raises(ValueError, match="another output"):
        draw_graph(e, trace=trace(Value(1.0) * 2.0))
    with pytest.raises(TypeError, match="expected a Value or Tensor"):
        draw_graph(1.0)  # type: ignore[arg-type]


def test_colour_families_follow_shrink_and_grow() -> None:
    a = Value(0.5, label="a")
    w_big, w_small = Value(10.0, label="big"), Value(0.01, label="small")
    y = a * w_big + a * w_small
    y.backward()
    by_label = {}
    for _, head, attr in edges(draw_graph(y)):
        if "tooltip" in attr and head.endswith("_op"):
            by_label[edge_text(attr["label"])] = attr["color"]
    blues = {"#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b"}
    reds = {"#fb6a4a", "#ef3b2c", "#cb181d", "#a50f15", "#67000d"}
    assert by_label["10"] in reds  # d(a*big)/da = 10: the gradient grows
    assert by_label["0.01"] in blues  # shrinks
    assert by_label["0.5"] in blues


# ---- draw_graph: tensors ------------------------------------------------------------------------
def small_mlp() -> tuple[Tensor, object]:
    model = mlp([4, 3, 3, 2], seed=1)
    x = np.random.default_rng(0).standard_normal((5, 4))
    return cross_entropy_loss(model(x), np.array([0, 1, 1, 0, 1])), model


def test_tensor_graph_of_a_small_mlp_draws_with_shapes() -> None:
    cost, model = small_mlp()
    record = trace(cost)
    graph = draw_graph(cost, trace=record)
    source = graph.source
    for shape in ["(5, 4)", "(3, 4)", "(3,)", "(5, 3)", "(2, 3)", "(5, 2)"]:
        assert f"shape {shape}" in source
    assert source.count("label=linear") == 3 and source.count("label=sigmoid") == 2
    # A sigmoid edge is labelled with the norm of its sigma' description.
    sig = next(s for s in record.steps if s.node.op == "sigmoid")
    assert f"‖J‖={fmt(sig.local_summary.norm, 2)}" in source
    assert f"‖grad‖ {fmt(summarize(model[0].weight.grad).norm, 4)}" in source
    assert "(no grad)" in source  # the input x needs no gradient
    assert "<<" not in source  # no HTML labels: the in-process renderer cannot draw them


def test_draw_graph_never_runs_backward(monkeypatch: pytest.MonkeyPatch) -> None:
    e = expression()
    e.backward()
    cost, model = small_mlp()
    record = trace(cost)
    tensor_path = record.path(model[0].bias)
    chain = book_chain()
    value_path = trace(chain.cost).path(chain["b1"])

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("draw_graph ran a backward pass")

    for module in (minigrad.engine, minigrad.value, minigrad.tensor):
        monkeypatch.setattr(module, "backward", forbidden)
    monkeypatch.setattr(Value, "backward", forbidden)
    monkeypatch.setattr(Tensor, "backward", forbidden)
    grads = [n.grad for n in topological_order(e)]
    tensor_grads = [None if n.grad is None else n.grad.copy() for n in topological_order(cost)]
    # No backward rule may run either (not even a single vector-Jacobian product): the public
    # vjp and the engine's per-node step, for Value and Tensor nodes alike.
    for cls in (minigrad.engine.Node, Value, Tensor):
        for name in ("vjp", "_vjp", "_pass_down"):
            if name in vars(cls):
                monkeypatch.setattr(cls, name, forbidden)
    for node in topological_order(cost):
        if node.parents:
            node._rule = forbidden
    with pytest.raises(AssertionError, match="ran a backward pass"):  # the guard is armed
        e.vjp(1.0)
    draw_graph(e)
    draw_graph(cost)
    draw_graph(cost, trace=record)
    draw_graph(cost, max_nodes=5)
    draw_chain(tensor_path)  # draw_chain reads the trace's path, and nothing else runs either
    draw_chain(value_path)
    assert [n.grad for n in topological_order(e)] == grads
    for node, before in zip(topological_order(cost), tensor_grads):
        if before is None:
            assert node.grad is None
        else:
            np.testing.assert_array_equal(node.grad, before)


# ---- the node cap -------------------------------------------------------------------------------
def test_a_big_network_collapses_to_one_box_per_layer() -> None:
    model = mlp([8] + [8] * 40 + [3], seed=0)
    x = np.random.default_rng(1).standard_normal((10, 8))
    cost = cross_entropy_loss(model(x), np.zeros(10, dtype=int))
    cost.backward()
    n_nodes = len(topological_order(cost))
    assert n_nodes > 150
    graph = draw_graph(cost)
    source = graph.source
    assert node_count(graph) <= 41 + 4  # 41 layer boxes, input, output, note
    assert f"collapsed: {n_nodes} nodes > max_nodes=150" in source.replace("\\n", " ")
    assert source.count("[label=\"layer ") == 41
    # Gain badges: ‖dC/db‖ of each layer over the layer above, from the stored gradients.
    speeds = [float(np.linalg.norm(m.bias.grad)) for m in model.layers[::2]]
    for i in (0, 20, 39):
        assert f"x{fmt(speeds[i] / speeds[i + 1], 2)}" in source
    assert "output layer" in source


def test_the_cap_applies_to_small_networks_too() -> None:
    cost, model = small_mlp()
    cost.backward()
    graph = draw_graph(cost, max_nodes=5)
    assert graph.source.count("[label=\"layer ") == 3
    assert "collapsed" in graph.source and node_count(graph) <= 6


def test_a_big_value_graph_collapses_to_a_summary() -> None:
    x = Value(0.2, label="x")
    y = x
    for _ in range(300):
        y = (y * 1.01).tanh()
    y.backward()
    graph = draw_graph(y)
    assert node_count(graph) == 2  # the summary and the note
    flat = graph.source.replace("\\n", " ")
    assert "collapsed: 901 nodes is more than max_nodes=150" in flat
    assert "depth 600" in flat and "tanh ×300" in flat
    assert "<svg" in render_svg(graph)


# ---- draw_chain ---------------------------------------------------------------------------------
def book_chain():
    return neuron_chain([0.5, -0.8, 0.3, 0.9], [0.1, 0.2, -0.3, 0.4], 0.5, y=0.2)


def test_chain_factors_are_named_from_the_graph_and_multiply_to_the_gradient() -> None:
    chain = book_chain()
    path = trace(chain.cost).path(chain["b1"])
    factors, skipped = chain_factors(path)
    assert [f.name for f in factors] == ["σ′(z1)", "w2", "σ′(z2)", "w3", "σ′(z3)", "w4",
                                         "σ′(z4)", "∂C/∂a4"]
    assert skipped == 4  # the four '+' steps z_j = w_j a_{j-1} + b_j multiply by 1
    values = [f.value for f in factors]
    assert values[1::2][:3] == [-0.8, 0.3, 0.9]
    assert values[-1] == chain["a4"].grad == chain["a4"].data - 0.2
    assert factors[0].product == chain["b1"].grad  # the leftmost running product: dC/db1
    assert [f.product for f in factors[:-1:2]] == [z.grad for z in chain.z]  # dC/dz_j = delta_j
    product = 1.0
    for f in reversed(factors):  # backprop's order: from dC/da4 leftwards
        product *= f.value
        assert f.product == pytest.approx(product, rel=1e-12)


def test_draw_chain_of_the_book_chain() -> None:
    chain = book_chain()
    path = trace(chain.cost).path(chain["b1"])
    graph = draw_chain(path)
    source = chain_text(graph)
    for p in path:
        if p.node.op == "sigmoid" or p.parent.label in ("a1", "a2", "a3"):
            assert f"{fmt(p.factor)} ↓" in source  # every factor here is below 1 in size
    assert "≤ ¼" in source
    pct = f"{chain.z[0].sigmoid().local_derivatives()[0] / 0.25:.0%} of the ¼ ceiling"
    assert pct in source
    assert f"∂C/∂b1\\n= {fmt(chain['b1'].grad, 10)}" in graph.source  # the result box
    assert f"∂C/∂z2 = {fmt(chain['z2'].grad)}" in source
    assert source.count("subgraph cluster_pair") == 3  # w_j with sigma'(z_j)
    assert "w2·σ′(z2) = " in source


def test_draw_chain_of_the_exploding_construction() -> None:
    chain = exploding_chain(depth=4, weight=100.0)
    source = chain_text(draw_chain(trace(chain.cost).path(chain["b1"])))
    assert source.count("100 ↑") == 3 and source.count("0.25 ↓") == 4
    assert source.count("100% of the ¼ ceiling") == 4
    assert source.count("= 25 ↑") == 3  # every w_j sigma'(z_j) = 25, framed
    assert "= 3906.25 × ∂C/∂a4" in source
    assert f"= {fmt(3906.25 * 0.5, 10)}" in source


@pytest.mark.parametrize("depth", [1, 2, 8])
def test_draw_chain_any_depth(depth: int) -> None:
    chain = neuron_chain([0.7] * depth, [0.1] * depth)
    factors, _ = chain_factors(trace(chain.cost).path(chain["b1"]))
    assert len(factors) == 2 * depth
    assert [f.kind for f in factors].count("sigma") == depth
    source = draw_chain(trace(chain.cost).path(chain["b1"])).source  # a second trace: its own
    boxes = re.findall(r"^\s*f(\d+) \[", source, flags=re.M)
    assert sorted(map(int, boxes)) == list(range(2 * depth))  # every factor drawn, once


def test_long_chains_fold_the_middle() -> None:
    chain = neuron_chain([0.9] * 100, [0.0] * 100)
    path = trace(chain.cost).path(chain["b1"])
    graph = draw_chain(path, max_factors=20)
    source = graph.source
    assert "… 182 more factors …" in source  # 200 factors: 9 kept at each end
    rows = chain_rows(graph)
    # 19 boxes and the result read in backprop's order, from ∂C/∂a100 (f199) to ∂C/∂b1, in
    # rows of at most 5 boxes (balanced: 5, 4, 3, 4, 4), no pair σ′(z_j) w_j split between
    # two rows.
    assert sum(rows, []) == [f"f{i}" for i in range(199, 190, -1)] + ["folded"] + \
        [f"f{i}" for i in range(8, -1, -1)] + ["result"]
    assert [len(r) for r in rows] == [5, 4, 3, 4, 4]
    # The kept factors, the folded box, the result, "start", and the two markers of each wrap.
    assert node_count(graph) == 18 + 1 + 1 + 1 + 2 * (len(rows) - 1)
    assert "σ′(z1)" in source and "∂C/∂a100" in source


def test_draw_chain_of_plain_factors() -> None:
    graph = draw_chain([("σ′(z1)", 0.2), ("w2", 3.0), ("σ′(z2)", 0.1), ("∂C/∂a2", 0.5)],
                       title="by hand")
    source = chain_text(graph)
    assert "0.2 ↓" in source and "3 ↑" in source and "product = 0.03" in source
    assert "80% of the ¼ ceiling" in source and "w2·σ′(z2) = 0.3 ↓" in source
    factors, _ = chain_factors([("a", 2.0), ("b", -0.5)])
    assert [f.product for f in factors] == [-1.0, -0.5]
    with pytest.raises(TypeError, match="\\(name, value\\) pairs"):
        draw_chain([1.0, 2.0])
    with pytest.raises(ValueError, match="empty"):
        draw_chain([])


def test_draw_chain_of_a_tensor_path() -> None:
    cost, model = small_mlp()
    path = trace(cost).path(model[0].bias)
    source = draw_chain(path).source
    assert "σ′(" in source and "‖J‖" in source
    assert f"‖·‖ {fmt(float(np.linalg.norm(model[0].bias.grad)), 4)}" in source


def sigmoid_prime(z: np.ndarray) -> np.ndarray:
    """sigma'(z) = sigma(z)(1 - sigma(z)), from numpy, independently of the engine."""
    s = 1.0 / (1.0 + np.exp(-z))
    return s * (1.0 - s)


def test_a_tensor_chain_is_named_by_layer_and_shows_the_engine_numbers() -> None:
    cost, model = small_mlp()  # [4, 3, 3, 2], sigmoid after every layer, cross-entropy
    record = trace(cost)
    path = record.path(model[0].bias)
    factors, skipped = chain_factors(path)
    assert skipped == 0
    # Nielsen's eq. 124 for delta^1, summed over the batch for dC/db^1, layers from the input.
    assert [f.name for f in factors] == ["Σ over the batch", "σ′(z¹)", "(w²)ᵀ", "σ′(z²)", "(w³)ᵀ",
                                         "δ³ = (a³ − y)/N"]
    assert [f.product_name for f in factors] == ["∂C/∂b¹", "δ¹", "∂C/∂a¹", "δ²", "∂C/∂a²", "δ³"]
    assert [f.kind for f in factors] == ["other", "sigma", "weight", "sigma", "weight", "cost"]
    # Beneath each factor: the norm of the gradient backward stored at the node it leads to
    # (each node of an mlp has one user, so the path carries all of it).
    parents = [step.parent for step in reversed(path)]
    for factor, parent in zip(factors, parents):
        assert factor.product_text == fmt(float(np.linalg.norm(parent.grad)), 4)
    assert parents[0] is model[0].bias and parents[-1].op == "linear"
    # The gains multiply to ‖dC/db¹‖ / ‖dC/dC‖ = ‖dC/db¹‖.
    gains = np.prod([f.gain for f in factors])
    assert gains == pytest.approx(np.linalg.norm(model[0].bias.grad), rel=1e-12)
    # Each factor's size, from numpy: sigma' from z, the weights' norm.
    z1 = parents[1]
    s1 = sigmoid_prime(z1.data)
    assert factors[1].text == f"mean {fmt(s1.mean(), 3)},  max {fmt(s1.max(), 3)}"
    assert factors[1].detail == f"mean: {s1.mean() / 0.25:.0%} of the ¼ ceiling"
    w2 = model[2].weight.data
    assert factors[2].text.startswith(f"‖J‖ {fmt(np.linalg.norm(w2), 3)},")
    assert factors[2].detail == "3×3 weights"
    source = draw_chain(path).source
    for factor in factors:
        assert f"‖{factor.product_name}‖ {factor.product_text}" in source
    assert "∂C/∂b¹ = Σ over the batch of δ¹,  δ¹ = σ′(z¹) (w²)ᵀ σ′(z²) (w³)ᵀ δ³" in source
    gain_2_to_1 = np.linalg.norm(z1.grad) / np.linalg.norm(parents[3].grad)  # ‖δ¹‖ / ‖δ²‖
    assert f"‖δ¹‖ / ‖δ²‖ = x{ratio_text(gain_2_to_1)} ↓" in source  # names.gain_label
    assert source.count("subgraph cluster_pair") == 2  # σ′(zˡ) (wˡ⁺¹)ᵀ: δˡ⁺¹ -> δˡ
    local = path[0].factor  # the cross-entropy's local derivative, when it describes one
    if local is not None:
        a = 1.0 / (1.0 + np.exp(-parents[-1].data))
        y = np.eye(2)[[0, 1, 1, 0, 1]]
        np.testing.assert_allclose(local, (a - y) / 5, rtol=1e-12, atol=1e-15)
        # the δᴸ box shows its norm; the size of its local Jacobian on request
        assert f"mean|·| {fmt(np.abs((a - y) / 5).mean(), 3)}" in \
            draw_chain(path, detail=True).source


def test_a_chain_to_the_first_weights_ends_with_the_input() -> None:
    cost, model = small_mlp()
    factors, _ = chain_factors(trace(cost).path(model[0].weight))
    assert factors[0].name == "xᵀ" and factors[0].product_name == "∂C/∂w¹"
    assert factors[0].product_text == fmt(float(np.linalg.norm(model[0].weight.grad)), 4)


@pytest.mark.parametrize("per_row", [2, 4, 6])
def test_long_tensor_chains_wrap_into_rows_in_the_order_of_the_equation(per_row: int) -> None:
    model = mlp([6] + [5] * 7 + [3], seed=0)  # 8 linear layers: 16 factors down to b¹
    rng = np.random.default_rng(2)
    cost = cross_entropy_loss(model(rng.standard_normal((4, 6))), rng.integers(0, 3, 4))
    path = trace(cost).path(model[0].bias)
    graph = draw_chain(path, per_row=per_row)
    rows = chain_rows(graph)
    assert sum(rows, []) == [f"f{i}" for i in range(15, -1, -1)] + ["result"]  # backprop's order
    assert max(len(r) for r in rows) <= per_row
    # As few rows as filling each up allows: δ⁸, 7 pairs (wˡ⁺¹)ᵀσ′(zˡ), Σ, the result; pairs
    # kept whole.
    assert len(rows) == {2: 9, 4: 5, 6: 3}[per_row]
    row_of = {node: k for k, row in enumerate(rows) for node in row}
    clusters = re.findall(r"subgraph cluster_pair\d+ \{[^}]*?\b(f\d+) \[.*?\b(f\d+) \[",
                          graph.source, flags=re.S)
    assert len(clusters) == 7
    assert all(row_of[a] == row_of[b] for a, b in clusters)  # no pair split between rows
    assert "<svg" in render_svg(graph)
    with pytest.raises(ValueError, match="per_row must be at least 2"):
        draw_chain(path, per_row=1)


def test_scalar_chains_wrap_too_and_the_book_chain_reads_in_two_rows() -> None:
    chain = neuron_chain([0.7] * 8, [0.1] * 8)
    rows = chain_rows(draw_chain(trace(chain.cost).path(chain["b1"])))
    assert sum(rows, []) == [f"f{i}" for i in range(15, -1, -1)] + ["result"]
    assert [len(r) for r in rows] == [5, 4, 4, 4]  # ∂C/∂a8, 7 pairs σ′(z_j) w_j, σ′(z1), result
    book = book_chain()  # the README's width (about 900 px) holds five boxes: two rows
    rows = chain_rows(draw_chain(trace(book.cost).path(book["b1"])))
    assert [len(r) for r in rows] == [5, 4]


def test_every_picture_uses_one_font() -> None:
    """Graph, node and edge text share one font, so Graphviz sizes every box for that font."""
    from minigrad.viz.style import FONT

    for graph in every_kind_of_picture():
        for kind in ("graph", "node", "edge"):
            assert re.search(rf"^\s*{kind} \[[^\]]*fontname={FONT}\b", graph.source, flags=re.M)
        svg = render_svg(graph)
        assert set(re.findall(r'font-family="([^"]*)"', svg)) == {FONT}


def test_tensor_graphs_name_nodes_by_layer() -> None:
    from minigrad.names import layer_names

    cost, model = small_mlp()
    order = topological_order(cost)
    names = layer_names(order)
    for layer, module in zip((1, 2, 3), model.layers[::2]):
        mark = "¹²³"[layer - 1]
        assert names[module.weight] == f"w{mark}" and names[module.bias] == f"b{mark}"
    linears = [n for n in order if n.op == "linear"]
    assert [names[z] for z in linears] == ["z¹", "z²", "z³"]
    assert {names[n] for n in order if n.op == "sigmoid"} == {"a¹", "a²"}
    assert names[linears[0].parents[0]] == "x"
    assert layer_names(topological_order(expression())) == {}  # no layers in a Value graph
    cost.backward()
    source = draw_graph(cost).source
    for text in ("C   shape ()", "z¹   shape (5, 3)", "a²   shape (5, 3)", "w³   shape (2, 3)",
                 "x   shape (5, 4)"):
        assert text in source
    collapsed = draw_graph(cost, max_nodes=5).source
    grad_b1 = float(np.linalg.norm(model[0].bias.grad))
    assert f"‖dC/db¹‖ {fmt(grad_b1, 4)}" in collapsed


def test_draw_layers_reads_at_a_glance() -> None:
    from minigrad.flow import gradient_flow
    from minigrad.viz.layers import draw_layers

    rng = np.random.default_rng(0)
    model = mlp([8, 6, 6, 6, 6, 6, 6, 3], seed=0)  # six hidden layers
    report = gradient_flow(model, rng.random((20, 8)), rng.integers(0, 3, 20))
    graph = draw_layers(report)
    assert "rankdir=BT" in graph.source  # input at the bottom, output on top
    for row in report.layers:
        statement = re.search(rf"^\s*layer{row.index} \[(.*?)\]$", graph.source,
                              flags=re.M | re.S)
        a = attrs(statement.group(1))
        assert len(a["label"].split("\n")) <= 5  # a few short lines per box
        assert row.verdict in html.unescape(a["tooltip"])  # the whole verdict on hover
    first = report.layers[0]
    if first.verdict.startswith("learns "):
        short = first.verdict.split("; ")[0].removeprefix("learns ").replace(
            "the last hidden layer", "last hidden")
        assert short in graph.source
    assert isinstance(graph, graphviz.Digraph) and "<svg" in render_svg(graph)


# ---- rendering ----------------------------------------------------------------------------------
def test_svg_without_system_dot_has_the_factor_values(no_dot: None, tmp_path: Path) -> None:
    assert which_renderer() == "in-process"
    chain = exploding_chain()
    out = save(draw_chain(trace(chain.cost).path(chain["b1"])), tmp_path / "chain.svg")
    svg = html.unescape(out.read_text(encoding="utf-8"))
    assert "<svg" in svg
    texts = [t.strip() for t in re.findall(r">([^<]*)</text>", svg)]
    for text in ("× σ′(z1)", "0.25 ↓", "100 ↑", "= 3906.25", "× ∂C/∂a4", "w4·σ′(z4) = 25 ↑"):
        assert text in texts  # each a line of its own (the result box: 3906.25 × ∂C/∂a4)
    e = expression()
    e.backward()
    svg = html.unescape(render_svg(draw_graph(e)))
    assert f"grad {fmt(e.parents[0].grad)}" in svg and "legend" in svg


def test_importing_viz_and_flow_does_not_import_matplotlib() -> None:
    code = ("import sys, minigrad.viz as v, minigrad.flow; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'; "
            "assert 'draw_layers' in v.__all__; "
            "print(v.draw_graph.__name__, v.draw_chain.__name__, v.draw_layers.__name__, "
            "v.save.__name__)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[1], check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["draw_graph", "draw_chain", "draw_layers", "save"]


def test_fmt_gives_the_promised_digits() -> None:
    """The pictures' numbers: the other tests build expected labels with fmt, so pin it here."""
    assert fmt(0.19661193324148185) == "0.196612"
    assert fmt(-3.9e-05) == "-3.9e-05"
    assert fmt(3906.25) == "3906.25"
    assert fmt(1 / 3, 4) == "0.3333"
    assert fmt(float("inf")) == "inf"
    assert fmt(None) == "—"


def test_unknown_viz_attribute_is_an_attribute_error() -> None:
    import minigrad.viz

    with pytest.raises(AttributeError, match="no attribute 'draw_everything'"):
        minigrad.viz.draw_everything  # noqa: B018


def test_pictures_display_and_render_without_system_dot(no_dot: None, tmp_path: Path) -> None:
    e = expression()
    e.backward()
    graph = draw_graph(e)
    assert isinstance(graph, graphviz.Digraph)
    bundle = graph._repr_mimebundle_()  # what Jupyter calls to show it inline
    assert "<svg" in bundle["image/svg+xml"]
    chain = book_chain()
    out = Path(draw_chain(trace(chain.cost).path(chain["b1"])).render(tmp_path / "chain"))
    assert out == tmp_path / "chain.svg" and "σ′(z1)" in out.read_text(encoding="utf-8")
    assert (tmp_path / "chain").read_text(encoding="utf-8").startswith("digraph chain")
    with pytest.raises(Exception, match="apt-get install graphviz"):
        graph.render(tmp_path / "g", format="png")


def every_kind_of_picture() -> list[graphviz.Digraph]:
    """One of each picture minigrad draws, wrapped and collapsed ones included."""
    from minigrad.flow import gradient_flow
    from minigrad.viz.layers import draw_layers

    e = expression()
    e.backward()
    cost, model = small_mlp()
    record = trace(cost)
    chain = book_chain()
    rng = np.random.default_rng(0)
    report = gradient_flow(mlp([4, 3, 3, 2], seed=0), rng.random((5, 4)), rng.integers(0, 2, 5))
    deep = neuron_chain(list(rng.uniform(-1, 1, 12)), list(rng.uniform(-1, 1, 12)))
    return [draw_graph(e), draw_graph(cost, trace=record), draw_graph(cost, max_nodes=5),
            draw_graph(e, rankdir="LR"), draw_chain(record.path(model[0].bias)),
            draw_chain(trace(chain.cost).path(chain["b1"])),
            draw_chain(trace(deep.cost).path(deep["b1"])), draw_layers(report)]


def test_no_flat_edge_touches_a_record_node() -> None:
    """Graphviz before 2.44 (Debian 12, Ubuntu 22.04) drops a flat edge (same rank) at a record
    node and fails with 'lost ... edge'; the in-process renderer does not, so check the source."""
    for graph in every_kind_of_picture():
        source = graph.source
        records = set(re.findall(r"^\s*(\w+) \[[^\n]*shape=record", source, flags=re.M))
        flat_blocks = [block for block in re.findall(r"\{([^{}]*)\}", source)
                       if "rank=same" in block]
        for block in flat_blocks:
            for tail, head in re.findall(r"^\s*(\w+) -> (\w+)", block, flags=re.M):
                assert not {tail, head} & records, (tail, head, block)
        for tail, head in re.findall(r"^\s*(\w+) -> (\w+) \[[^\n]*minlen=0", source, flags=re.M):
            assert not {tail, head} & records, (tail, head)


@pytest.mark.skipif(__import__("shutil").which("dot") is None,
                    reason="system Graphviz 'dot' not installed")
def test_every_picture_renders_with_the_system_dot(tmp_path: Path) -> None:
    from minigrad.viz.render import which_renderer

    assert which_renderer() == "dot"
    for i, graph in enumerate(every_kind_of_picture()):
        svg = save(graph, tmp_path / f"picture{i}.svg").read_text(encoding="utf-8")
        assert "<svg" in svg


def test_the_two_pictures_of_one_model_print_the_same_gains() -> None:
    """The collapsed draw_graph and draw_layers of one model and batch: one gain, s_l/s_(l+1)."""
    from minigrad import nn
    from minigrad.flow import gradient_flow
    from minigrad.viz import draw_layers

    model = nn.mlp([8, 6, 6, 6, 3], seed=0)
    rng = np.random.default_rng(0)
    x, labels = rng.random((5, 8)), rng.integers(0, 3, 5)
    report = gradient_flow(model, x, labels)
    cost = nn.cross_entropy_loss(model(x), labels)
    cost.backward()
    def gains(graph: graphviz.Digraph) -> list[str]:
        return [edge_text(a["label"]) for tail, head, a in edges(graph)
                if tail.startswith("layer") and head.startswith("layer")]

    collapsed = gains(draw_graph(cost, max_nodes=5))
    layers = gains(draw_layers(report))
    speeds = [np.linalg.norm(m.bias.grad) for m in model.layers[::2]]
    expected = [f"x{ratio_text(lower / upper)}" for lower, upper in zip(speeds, speeds[1:])]
    assert collapsed == layers == expected
    assert all(float(label[1:]) < 1 for label in expected)  # the book's net: every gain shrinks
