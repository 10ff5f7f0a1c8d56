"""The picture draw_graph makes, measured in its rendered SVG: edge labels beside their edges,
the legend inside its box, a 300-node graph readable at the width of a notebook cell.

Rendered by the in-process renderer (what a plain ``pip install`` draws with). Text boxes are
estimated from Verdana's advance widths (digits 0.636 em), as Graphviz sizes them.
"""

from __future__ import annotations

import random
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import numpy as np
import pytest

from minigrad import Value, nn
from minigrad.engine import topological_order
from minigrad.trace import neuron_chain, trace
from minigrad.viz import draw_graph, render_svg
from minigrad.viz.style import fmt

SVG = "{http://www.w3.org/2000/svg}"
CLEARANCE = 1.0  # pt between a label's text and any line, beyond half the line's pen width
CELL = 1000.0  # px: the width of a notebook cell (JupyterLab, VS Code, Colab: 900-1100)
READABLE = 8.0  # px: the smallest node text a reader reads without zooming


Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in the SVG's own units (pt)


# Verdana's advance widths in em (from its hmtx table): the lower-case letters, the digits, the
# punctuation of the labels; any other character (capitals, symbols) at most 0.75.
_EM = dict(zip("abcdefghijklmnopqrstuvwxyz", (
    .600, .623, .521, .623, .596, .352, .623, .633, .274, .344, .592, .274, .973,
    .633, .607, .623, .623, .427, .521, .394, .633, .592, .818, .592, .592, .525)))
_EM.update({c: .636 for c in "0123456789"})
_EM.update({" ": .352, "\u00a0": .352, ".": .364, ",": .364, ":": .454, ";": .454, "-": .431,
            "(": .454, ")": .454, "/": .454, "|": .454, "'": .269})


def _advance(ch: str) -> float:
    return _EM.get(ch, 0.75)


def text_box(text: ET.Element) -> tuple[Box, str]:
    """The box of the visible characters of one <text> (spaces before and after left out)."""
    size = float(text.get("font-size"))
    x, y = float(text.get("x")), float(text.get("y"))
    s = "".join(text.itertext())
    width = sum(map(_advance, s)) * size
    anchor = text.get("text-anchor", "start")
    x0 = x - width / 2 if anchor == "middle" else x - width if anchor == "end" else x
    lead = sum(map(_advance, s[: len(s) - len(s.lstrip())])) * size
    trail = sum(map(_advance, s[len(s.rstrip()):])) * size
    return (x0 + lead, y - 0.75 * size, x0 + width - trail, y + 0.15 * size), s.strip()


def curve_points(d: str, steps: int = 24) -> list[tuple[float, float]]:
    """Points along a Graphviz edge path ("M x,y C x1,y1 x2,y2 x3,y3 ...")."""
    numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", d)]
    points = list(zip(numbers[0::2], numbers[1::2]))
    out = [points[0]]
    for i in range(1, len(points) - 2, 3):
        p0, p1, p2, p3 = points[i - 1: i + 3]
        for k in range(1, steps + 1):
            t = k / steps
            w = ((1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t * t * (1 - t), t ** 3)
            out.append((sum(wi * p[0] for wi, p in zip(w, (p0, p1, p2, p3))),
                        sum(wi * p[1] for wi, p in zip(w, (p0, p1, p2, p3)))))
    return out


def groups(svg: str, kind: str) -> Iterator[tuple[str, ET.Element]]:
    """(title, group) of every node, edge or cluster group of a rendered graph."""
    for g in ET.fromstring(svg).iter(SVG + "g"):
        if g.get("class") == kind:
            yield g.find(SVG + "title").text, g


def edge_lines(svg: str) -> dict[str, list[tuple[list[tuple[float, float]], float]]]:
    """Each edge's lines: points along its path and the pen width."""
    return {title: [(curve_points(p.get("d")), float(p.get("stroke-width", "1")))
                     for p in g.iter(SVG + "path")] for title, g in groups(svg, "edge")}


def near(point: tuple[float, float], box: Box, reach: float) -> bool:
    return box[0] - reach < point[0] < box[2] + reach and box[1] - reach < point[1] < box[3] + reach


def label_clashes(svg: str, *, own_only: bool) -> list[tuple[str, str, str]]:
    """(edge, label text, edge whose line it touches) for each edge label too near a line."""
    lines = edge_lines(svg)
    clashes = []
    for title, g in groups(svg, "edge"):
        for text in g.iter(SVG + "text"):
            box, s = text_box(text)
            if not s:
                continue
            for other, paths in lines.items():
                if own_only and other != title:
                    continue
                if any(near(p, box, width / 2 + CLEARANCE) for points, width in paths
                       for p in points):
                    clashes.append((title, s, other))
    return clashes


def expression() -> Value:
    a, b, c = Value(1.5, label="a"), Value(-0.7, label="b"), Value(0.3, label="c")
    d = a * b + (a + a)
    d.label = "d"
    e = (d * c).tanh() + d.sigmoid() * b - c.exp() / (a * a + 1.0)
    e.label = "e"
    e.backward()
    return e


def scalar_mlp(sizes: tuple[int, ...] = (4, 8, 6, 1), seed: int = 0) -> Value:
    """micrograd's MLP of Values on one input (tanh units, a linear output) and its squared
    error, after backward: 4-8-6-1 has 294 nodes."""
    rng = random.Random(seed)
    acts = [Value(rng.uniform(-1, 1), label=f"x{i}") for i in range(sizes[0])]
    for layer, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        outs = []
        for j in range(n_out):
            s = Value(rng.uniform(-1, 1), label=f"b{layer}{j}")
            for i in range(n_in):
                s = s + Value(rng.uniform(-1, 1), label=f"w{layer}{j}{i}") * acts[i]
            outs.append(s.tanh() if layer < len(sizes) - 2 else s)
        acts = outs
    cost = (acts[0] - 1.0) ** 2
    cost.label = "C"
    cost.backward()
    return cost


def book_chain_graph(rankdir: str):
    chain = neuron_chain([0.82, 0.33, 0.91, 0.5], [0.1, -0.4, 0.3, 0.2])
    return draw_graph(chain.cost, trace=trace(chain.cost), rankdir=rankdir)


EVERY_NUMBER = ("data", "grad", "local", "contribution")


# ---- edge labels beside their arrows ------------------------------------------------------------
@pytest.mark.parametrize("rankdir", ["BT", "TB", "LR", "RL"])
def test_edge_labels_sit_beside_their_edges_never_on_them(rankdir: str, no_dot) -> None:
    """Every number on an edge keeps clear of that edge's line (its pen width included), in
    every rank direction; up or down (the usual picture) clear of every line."""
    x = Value(3.0, label="x")
    p = x * x
    p.backward()
    pictures = [book_chain_graph(rankdir), draw_graph(expression(), rankdir=rankdir),
                draw_graph(expression(), rankdir=rankdir, show=EVERY_NUMBER),
                draw_graph(p, rankdir=rankdir, show=EVERY_NUMBER, legend=False)]
    for picture in pictures:
        svg = render_svg(picture)
        labelled = [t for _, g in groups(svg, "edge") for t in g.iter(SVG + "text")
                    if "".join(t.itertext()).strip()]
        assert len(labelled) >= 3
        assert label_clashes(svg, own_only=True) == []
        if rankdir in ("BT", "TB"):
            assert label_clashes(svg, own_only=False) == []


def test_edge_labels_still_carry_the_engine_numbers(no_dot) -> None:
    """Set beside the line, a label reads what it read on it: the local derivative and the
    contribution, in 6 digits."""
    e = expression()
    record = trace(e)
    svg = render_svg(draw_graph(e, trace=record, show=EVERY_NUMBER))
    shown = {"".join(t.itertext()).strip() for _, g in groups(svg, "edge")
             for t in g.iter(SVG + "text")}
    for step in record.steps:
        assert fmt(step.local) in shown and f"→ {fmt(step.contribution)}" in shown


# ---- the legend inside its box ------------------------------------------------------------------
def legend_parts(svg: str) -> tuple[Box, list[tuple[str, Box]]]:
    """The legend's border and every text and mark of the legend (its own label included)."""
    border = None
    parts: list[tuple[str, Box]] = []
    for title, g in groups(svg, "cluster"):
        if title == "cluster_legend":
            xs, ys = zip(*curve_points(g.find(SVG + "path").get("d")))
            border = (min(xs), min(ys), max(xs), max(ys))
            parts += [(s, box) for box, s in map(text_box, g.iter(SVG + "text"))]
    assert border is not None, "no legend"
    for kind in ("node", "edge"):
        for title, g in groups(svg, kind):
            if not title.startswith("legend_"):
                continue
            parts += [(s, box) for box, s in map(text_box, g.iter(SVG + "text")) if s]
            for shape in g.iter():
                if shape.tag == SVG + "ellipse":
                    cx, cy = float(shape.get("cx")), float(shape.get("cy"))
                    rx, ry = float(shape.get("rx")), float(shape.get("ry"))
                    parts.append((title, (cx - rx, cy - ry, cx + rx, cy + ry)))
                elif shape.tag == SVG + "path":
                    xs, ys = zip(*curve_points(shape.get("d")))
                    parts.append((title, (min(xs), min(ys), max(xs), max(ys))))
    return border, parts


@pytest.mark.parametrize("rankdir", ["BT", "TB", "LR", "RL"])
def test_the_legend_is_inside_its_box(rankdir: str, no_dot) -> None:
    model = nn.mlp([8, 6, 6, 3], seed=0)
    x = np.random.default_rng(0).random((5, 8))
    cost = nn.cross_entropy_loss(model(x), np.array([0, 1, 2, 0, 1]))
    cost.backward()
    for picture in (book_chain_graph(rankdir), draw_graph(expression(), rankdir=rankdir),
                    draw_graph(cost, rankdir=rankdir, max_nodes=5),  # collapsed: layers
                    draw_graph(scalar_mlp((3, 4, 1)), rankdir=rankdir)):  # compact
        border, parts = legend_parts(render_svg(picture))
        assert len(parts) > 10
        outside = [name for name, (x0, y0, x1, y1) in parts
                   if x0 < border[0] or y0 < border[1] or x1 > border[2] or y1 > border[3]]
        assert outside == [], (border, outside)


def test_the_legend_sits_above_the_output_when_the_ranks_run_up(no_dot) -> None:
    """On top, next to the output, where there is room: not beside the widest row."""
    svg = render_svg(book_chain_graph("BT"))
    border, _ = legend_parts(svg)
    tops = {title: min(text_box(t)[0][1] for t in g.iter(SVG + "text"))
            for title, g in groups(svg, "node") if not title.startswith("legend")}
    root = max((t for t in tops if t[1:].isdigit()), key=lambda t: int(t[1:]))  # the output
    assert border[3] < min(tops.values()) == tops[root]


# ---- a 300-node graph in a notebook cell --------------------------------------------------------
def as_shown(svg: str, cell: float = CELL) -> tuple[float, float, float]:
    """(width px, height px, px per SVG unit) of a picture shown in a cell ``cell`` px wide:
    scaled down to the cell's width (``fit_width``), never up; 1 pt = 4/3 px."""
    tag = re.search(r"<svg\b[^>]*>", svg).group(0)
    width = float(re.search(r'width="([\d.]+)pt"', tag).group(1)) * 4 / 3
    height = float(re.search(r'height="([\d.]+)pt"', tag).group(1)) * 4 / 3
    view_width = float(re.search(r'viewBox="([^"]+)"', tag).group(1).split()[2])
    scale = re.search(r'<g id="graph0" class="graph" transform="scale\(([\d.]+)', svg)
    shown = min(width, cell)
    return shown, height * shown / width, shown / view_width * float(scale.group(1) if scale
                                                                      else 1.0)


def node_text_px(svg: str, cell: float = CELL) -> list[float]:
    """The height in px of every node's text (the legend's left out) as shown in the cell."""
    _, _, px = as_shown(svg, cell)
    return [float(t.get("font-size")) * px for title, g in groups(svg, "node")
            if not title.startswith("legend") for t in g.iter(SVG + "text")]


def test_a_300_node_graph_reads_at_the_width_of_a_notebook_cell(no_dot) -> None:
    """Readable: shown 1000 px wide (scaled to the cell, as Jupyter shows it), every node's text
    is at least 8 px high, and the picture is at most three cells tall and no flatter than
    one cell wide by a third of a cell tall (no strip to scroll along forever)."""
    cost = scalar_mlp()
    nodes = topological_order(cost)
    assert 280 <= len(nodes) <= 320
    picture = draw_graph(cost, max_nodes=400)
    svg = picture._repr_image_svg_xml()  # what a notebook shows
    assert "max-width:100%" in svg
    width, height, _ = as_shown(svg)
    text = node_text_px(svg)
    assert len(text) >= len(nodes)
    assert min(text) >= READABLE, (min(text), width, height)
    assert 1 / 3 <= height / width <= 3, (width, height)


def test_a_big_graph_is_drawn_compact_with_the_same_numbers(no_dot) -> None:
    """Compact (by default past 60 nodes, or past 4 values side by side): the op inside its
    value's box, the grad in 3 digits, the exact numbers in the tooltips, no edge labels."""
    cost = scalar_mlp()
    nodes = topological_order(cost)
    compact = draw_graph(cost, max_nodes=400)
    assert compact.source == draw_graph(cost, max_nodes=400, compact=True).source
    assert "_op" not in compact.source and "xlabel" not in compact.source
    svg = render_svg(compact)
    shown = {title: ["".join(t.itertext()) for t in g.iter(SVG + "text")]
             for title, g in groups(svg, "node") if not title.startswith("legend")}
    ids = {node: f"n{i}" for i, node in enumerate(nodes)}
    for node in nodes:
        lines = shown[ids[node]]
        assert lines[-1] == fmt(node.grad, 3), (lines, node.grad)
        if node.parents and not node.label:
            assert lines[0] == node.op
    assert f"grad = {nodes[0].grad!r}" in compact.source  # exact, in the tooltip
    labels = [t for _, g in groups(svg, "edge") if "legend" not in _
              for t in g.iter(SVG + "text") if "".join(t.itertext()).strip()]
    assert labels == []
    # the full picture on request: every op its own ellipse, the numbers on the edges
    full = draw_graph(cost, max_nodes=400, compact=False).source
    ellipses = re.findall(r"^\s*n\d+_op \[label=", full, flags=re.M)
    assert len(ellipses) == sum(1 for n in nodes if n.parents)


def test_small_graphs_keep_every_number() -> None:
    """The lessons' pictures (a chain, a neuron, an expression) are drawn in full."""
    for picture in (book_chain_graph("BT"), draw_graph(expression())):
        assert "_op [label=" in picture.source and "data " in picture.source
    wide = scalar_mlp((2, 3, 1))  # 39 nodes, but 6 values side by side
    assert "_op [label=" not in draw_graph(wide).source
