"""Tests for minigrad.viz.chain: draw_chain reads at a glance (issue 10, section 3).

One reading direction, backprop's, said once; rows that wrap like text with the continuation
visible; framed pairs kept whole; one headline number per tensor box unless asked for detail;
the book's 4-neuron chain legible at the README's width; the demo's tensor chain and its layer
picture printing the same number for the same batch.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pytest

from minigrad.cli import main
from minigrad.factors import chain_factors
from minigrad.flow import gradient_flow
from minigrad.names import fmt
from minigrad.nn import cross_entropy_loss, mlp
from minigrad.trace import neuron_chain, trace
from minigrad.viz import draw_chain, render_svg

NODE = re.compile(r'^\s*(\w+) \[label=("(?:[^"\\]|\\.)*"|[^\s\]]+)(.*)\]$', re.M)
EDGE = re.compile(r"^\s*(\w+) -> (\w+)(?: \[(.*)\])?$", re.M)
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def book_chain():
    """The book's 4-neuron chain, as in tests/test_viz.py."""
    return neuron_chain([0.5, -0.8, 0.3, 0.9], [0.1, 0.2, -0.3, 0.4], 0.5, y=0.2)


def deep_tensor_path(layers: int = 8):
    """A path down an mlp of ``layers`` linear layers to the first bias: 2 * layers factors."""
    model = mlp([6] + [5] * (layers - 1) + [3], seed=0)
    rng = np.random.default_rng(2)
    cost = cross_entropy_loss(model(rng.standard_normal((4, 6))), rng.integers(0, 3, 4))
    return trace(cost).path(model[0].bias), model


def nodes(source: str) -> dict[str, tuple[str, str]]:
    """Every node declared in the DOT source: id -> (label, its other attributes)."""
    return {m.group(1): (m.group(2).strip('"'), m.group(3)) for m in NODE.finditer(source)
            if m.group(1) not in ("graph", "node", "edge")}


def fields(label: str) -> list[str]:
    """A record label's fields (top to bottom), with their own line breaks as newlines."""
    return [f.replace("\\n", "\n").replace("\\|", "|")
            for f in re.split(r"(?<!\\) \| ", label)]


def rows_of(source: str) -> list[list[str]]:
    """The rows as drawn: from each row's first node ("start", "cont1", ...) along the visible
    edges, markers included."""
    visible = {t: h for t, h, a in EDGE.findall(source) if "invis" not in a}
    order = {t: h for t, h, a in EDGE.findall(source) if "invis" in a}
    starts = ["start"]
    while starts[-1] in order:
        starts.append(order[starts[-1]])
    rows = []
    for start in starts:
        row = [start]
        while row[-1] in visible:
            row.append(visible[row[-1]])
        rows.append(row)
    return rows


# ---- one reading direction ----------------------------------------------------------------------
def test_the_boxes_read_left_to_right_in_backprops_order_from_where_it_starts() -> None:
    chain = book_chain()
    path = trace(chain.cost).path(chain["b1"])
    factors, _ = chain_factors(path)
    source = draw_chain(path).source
    declared = nodes(source)
    boxes = [n for n in sum(rows_of(source), []) if n.startswith("f") or n == "result"]
    # ∂C/∂a4 first (where backprop starts), then σ′(z4), w4, ..., σ′(z1), and the result last.
    assert boxes == [f"f{i}" for i in range(len(factors) - 1, -1, -1)] + ["result"]
    names = [fields(declared[b][0])[0] for b in boxes[:-1]]
    assert names == ["∂C/∂a4", "× σ′(z4)", "× w4", "× σ′(z3)", "× w3", "× σ′(z2)", "× w2",
                     "× σ′(z1)"]
    assert rows_of(source)[0][:2] == ["start", f"f{len(factors) - 1}"]
    assert declared["start"][0] == "start"
    # Beneath each factor, what backprop holds after it: the running product, the engine's.
    for box, factor in zip(boxes, reversed(factors)):
        assert fields(declared[box][0])[-1] == f"{factor.product_name}\n= {factor.product_text}"
    assert declared["result"][0].startswith(f"∂C/∂b1\\n= {fmt(chain['b1'].grad, 10)}\\n")
    # The direction is said once, in the caption, whose first line is Nielsen's eq. 122.
    caption = re.search(r'^\s*label="((?:[^"\\]|\\.)*)"$', source, re.M).group(1)
    assert caption.split("\\n")[0].startswith(
        "∂C/∂b1 = σ′(z1) × w2 × σ′(z2) × w3 × σ′(z3) × w4 × σ′(z4) × ∂C/∂a4")
    assert source.count("left to right") == 1
    assert "read left to right in the order backprop multiplies: from ∂C/∂a4 to ∂C/∂b1" in caption
    assert len(caption.split("\\n")) <= 4  # the equation, the direction, the colours, the +'s
    assert "dir=back" not in source  # every arrow points the way it is read
    # The ¼ ceiling and eq. 122 are the sigmoid's: a chain of tanh′ claims neither.
    tanh = draw_chain([("tanh′(z1)", 0.5), ("w2", 0.9), ("tanh′(z2)", 0.4), ("∂C/∂a2", 0.3)])
    assert "¼" not in tanh.source and "eq. 122" not in tanh.source


def test_a_tensor_chain_reads_from_the_output_error_to_the_bias() -> None:
    path, _ = deep_tensor_path(3)
    factors, _ = chain_factors(path)
    source = draw_chain(path).source
    declared = nodes(source)
    boxes = [n for n in sum(rows_of(source), []) if n.startswith("f")]
    names = [fields(declared[b][0])[0] for b in boxes]
    assert names == ["δ³ = (a³ − y)/N", "× (w³)ᵀ", "× σ′(z²)", "× (w²)ᵀ", "× σ′(z¹)",
                     "× Σ over the batch"]
    assert "read left to right in the order backprop multiplies: from δ³ to ∂C/∂b¹" in source
    assert len(factors) == len(boxes)


# ---- wrapping like text -------------------------------------------------------------------
@pytest.mark.parametrize("per_row", [2, 3, 5])
def test_wrapped_rows_end_and_open_with_matching_markers_and_no_arrow_points_at_nothing(
        per_row: int) -> None:
    chain = neuron_chain([0.7] * 6, [0.1] * 6)
    source = draw_chain(trace(chain.cost).path(chain["b1"]), per_row=per_row).source
    declared = nodes(source)
    rows = rows_of(source)
    assert len(rows) > 1
    for k, row in enumerate(rows):
        assert row[0] == ("start" if k == 0 else f"cont{k}")
        if k + 1 < len(rows):  # the row's last arrow ends at "continued below" ...
            assert row[-1] == f"next{k + 1}"
            assert declared[row[-1]][0] == "continued\\nbelow"
            # ... and the next row opens with its match, on the left, below it.
            assert declared[f"cont{k + 1}"][0] == "continued\\nfrom above"
        else:
            assert row[-1] == "result"
        assert sum(n.startswith("f") or n in ("folded", "result") for n in row) <= per_row
    # Every arrow ends at a declared node with something written in it; every node but
    # "start" and the rows' openers is the head of exactly one arrow; nothing says only "…".
    heads = [h for _, h, a in EDGE.findall(source) if "invis" not in a]
    for head in heads:
        assert head in declared and declared[head][0].strip(), head
    openers = {"start"} | {f"cont{k}" for k in range(1, len(rows))}
    assert sorted(heads) == sorted(set(declared) - openers)
    assert all(label.strip() not in ("…", "… ") for label, _ in declared.values())


@pytest.mark.parametrize("per_row", [2, 3, 4, 5, 6])
@pytest.mark.parametrize("kind", ["number", "tensor"])
def test_a_framed_pair_is_never_split_between_rows(kind: str, per_row: int) -> None:
    if kind == "number":
        chain = neuron_chain([0.7] * 7, [0.1] * 7)
        path = trace(chain.cost).path(chain["b1"])
    else:
        path, _ = deep_tensor_path(7)
    source = draw_chain(path, per_row=per_row).source
    row_of = {n: k for k, row in enumerate(rows_of(source)) for n in row}
    position = {n: i for row in rows_of(source) for i, n in enumerate(row)}
    pairs = re.findall(r"subgraph cluster_pair\d+ \{.*?\n\s*(f\d+) \[.*?\n\s*(f\d+) \[",
                       source, flags=re.S)
    assert len(pairs) == 6
    for a, b in pairs:
        assert row_of[a] == row_of[b] and position[b] == position[a] + 1, (a, b)
        # in backprop's order: σ′(z_j) before w_j (numbers), (wˡ⁺¹)ᵀ before σ′(zˡ) (tensors)
        assert int(a[1:]) == int(b[1:]) + 1


def test_per_row_counts_the_result_and_rows_are_balanced() -> None:
    chain = book_chain()
    path = trace(chain.cost).path(chain["b1"])
    rows = [[n for n in row if n.startswith("f") or n == "result"]
            for row in rows_of(draw_chain(path).source)]
    # ∂C/∂a4, σ′(z4) w4, σ′(z3) w3 | σ′(z2) w2, σ′(z1), the result: two rows at the default
    assert rows == [["f7", "f6", "f5", "f4", "f3"], ["f2", "f1", "f0", "result"]]
    one_row = [n for n in rows_of(draw_chain(path, per_row=9).source)]
    assert len(one_row) == 1


# ---- legible at the README's width ------------------------------------------------------------
def test_the_book_chain_is_legible_at_the_readmes_width() -> None:
    """At 900 px the boxes' 11 pt text must come out at 11 px or more: the picture at most
    900 pt wide (text px = 11 * 900 / width in pt), in at most two rows."""
    chain = book_chain()
    graph = draw_chain(trace(chain.cost).path(chain["b1"]))
    svg = render_svg(graph)
    width = float(re.search(r'<svg width="([\d.]+)pt"', svg).group(1))
    assert 11 * 900 / width >= 11.0, f"{width} pt wide: text would be below 11 px at 900 px"
    assert len(rows_of(graph.source)) <= 2
    texts = [html.unescape(t) for t in re.findall(r">([^<]*)</text>", svg)]
    # the boxes' lines are short (the caption's four aside), a frame's "w2·σ′(z2) = -0.1964 ↓"
    assert max(len(t) for t in texts[4:]) <= 21


# ---- the tensor chain: one headline number per box ---------------------------------------
SIZE = re.compile(r"^(mean \S+ \(\d+% of ¼\)|‖J‖ \S+|N = \d+|‖δ\S+‖ \S+)$")


def test_a_tensor_box_shows_one_headline_number_by_default_and_every_number_on_request() -> None:
    path, model = deep_tensor_path(3)
    factors, _ = chain_factors(path)
    declared = nodes(draw_chain(path).source)
    for i, factor in enumerate(factors):
        name, *rest = fields(declared[f"f{i}"][0])
        assert name.endswith(factor.name)
        size = rest[0]
        assert SIZE.match(size), size  # one number: the factor's size
        assert len(NUMBER.findall(size.replace("¼", ""))) == 1 + size.startswith("mean"), size
        if factor.kind == "cost":  # where backprop starts: its size is the gradient it hands on
            assert rest == [f"‖{factor.product_name}‖ {factor.product_text}"]
        else:  # then the gradient's norm after it, and the gain beneath
            norm, gain = rest[1].split("\n")
            assert norm == f"‖{factor.product_name}‖ {factor.product_text}"
            assert re.fullmatch(r"x\S+ [↓↑=]", gain), gain
            assert len(rest) == 2
    # The headline numbers are the engine's: σ′(z¹)'s mean, ‖(w²)ᵀ‖ as the Jacobian's norm.
    sigma = next(i for i, f in enumerate(factors) if f.name == "σ′(z¹)")
    z1 = [step.parent for step in reversed(path)][sigma]
    s = 1.0 / (1.0 + np.exp(-z1.data))
    share = f"{(s * (1 - s)).mean() / 0.25:.0%}"
    assert fields(declared[f"f{sigma}"][0])[1] == \
        f"mean {fmt((s * (1 - s)).mean(), 3)} ({share} of ¼)"
    weight = next(i for i, f in enumerate(factors) if f.name == "(w²)ᵀ")
    assert fields(declared[f"f{weight}"][0])[1] == \
        f"‖J‖ {fmt(np.linalg.norm(model[2].weight.data), 3)}"
    # detail=True: every number back (σ′'s max, mean|J|, the weights' shape, the ceiling).
    detailed = nodes(draw_chain(path, detail=True).source)
    assert fields(detailed[f"f{sigma}"][0])[1:3] == [factors[sigma].text, factors[sigma].detail]
    assert "max" in factors[sigma].text
    assert fields(detailed[f"f{weight}"][0])[1:3] == [factors[weight].text, "5×5 weights"]
    assert "mean|J|" in factors[weight].text


def test_the_demo_chain_and_the_layer_picture_print_the_same_speed(tmp_path: Path) -> None:
    """chain_first_layer.svg is drawn from the batch layers.svg measured: its result,
    ‖∂C/∂b¹‖, is the first hidden layer's speed s in the layer picture, digit for digit."""
    assert main(["flow", "--sizes", "784,12,12,10", "--examples", "60", "--out",
                 str(tmp_path)]) == 0
    chain = html.unescape((tmp_path / "chain_first_layer.svg").read_text(encoding="utf-8"))
    layers = html.unescape((tmp_path / "layers.svg").read_text(encoding="utf-8"))
    norm = re.search(r">‖·‖ (\S+)</text>", chain).group(1)
    texts = re.findall(r">([^<]*)</text>", layers)
    first = next(i for i, t in enumerate(texts) if t.startswith("hidden 1"))
    speed = next(t for t in texts[first:] if t.startswith("speed s = ")).split(" = ")[1]
    # the layer picture gives 3 digits, the chain 4: the same number, rounded
    assert fmt(float(norm), 3) == speed, (norm, speed)
    assert ">the layer's speed s</text>" in chain
    rng = np.random.default_rng(0)
    model = mlp([4, 3, 2], seed=0)
    x, y = rng.random((5, 4)), rng.integers(0, 2, 5)
    report = gradient_flow(model, x, y)
    record = trace(cross_entropy_loss(model(x), y))
    source = draw_chain(record.path(model[0].bias)).source
    assert f"‖·‖ {fmt(report.speeds[0], 4)}" in source
