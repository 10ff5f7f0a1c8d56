r"""draw_graph: the backward graph, each edge labelled with the number the chain rule multiplies by.

    from minigrad import Value
    from minigrad.viz import draw_graph, save
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = (a * b).sigmoid(); c.label = "c"
    c.backward()
    save(draw_graph(c), "c.svg")

Value nodes are records (label | data | grad; for tensors: name and shape over ‖data‖ | ‖grad‖);
each op is a small ellipse; every backward edge from an op down to one of its parents carries the
local derivative d node/d parent (for tensors a summary such as ‖J‖=0.21). Arrows point the way
the gradient flows: from the output down. An edge's colour family says whether the gradient
shrinks (blue) or grows (red) as it crosses it, its shade and width how big the gradient it
carries is. In a network of ``linear`` layers the tensors are named as Nielsen does, layers
counted from the input: x, z¹ (the first linear node), a¹ (its activation), w¹, b¹, ..., and an
unlabelled one-number output C.

The picture only reads the graph: stored data, stored gradients and each node's
``local_derivatives()``, or a :class:`~minigrad.trace.Trace` for exact per-edge tensor
contributions. It never runs a backward pass of its own. Edge labels sit beside their lines
(``labels.edge_label``), the legend in its box above the output. A graph too wide or too big to
read in a notebook cell at full detail is drawn ``compact``: one small box per value (its name
or op over its grad), the edges' numbers in their tooltips. Past ``max_nodes`` it collapses:
one box per layer for a network built from ``linear`` ops, else a summary box, and says so.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import graphviz
import numpy as np

from minigrad.adapters import is_torch
from minigrad.engine import Node, topological_order
from minigrad.flow import layer_gains, speed_of_learning
from minigrad.names import (
    NodeNames,
    derivative_name,
    describe_missing_local,
    gain_label,
    network_layers,
    superscript,
)
from minigrad.trace import Trace, holds_array, summarize
from minigrad.viz.labels import (
    edge_label,
    escape_plain,
    escape_record,
    plain_label,
    wrap,
)
from minigrad.viz.render import Picture
from minigrad.viz.style import (
    ACTIVATION_OPS,
    GREYS,
    LogScale,
    add_gradient_legend,
    edge_style,
    fill_color,
    fmt,
    fmt_exact,
    glyph,
)

__all__ = ["draw_graph", "SHOW_OPTIONS", "ACTIVATION_OPS"]  # ACTIVATION_OPS: re-exported

SHOW_OPTIONS = ("data", "grad", "local", "contribution")
RANKDIRS = ("BT", "TB", "LR", "RL")
# Drawn compact (see draw_graph) past this many nodes, or this many values side by side: a row
# of five full boxes is too wide for a notebook cell to show at a readable size.
COMPACT_FROM, COMPACT_WIDTH = 60, 4
LAYOUT = {"nodesep": "0.3", "ranksep": "0.4"}
COMPACT_LAYOUT = {"nodesep": "0.06", "ranksep": "0.2"}
COMPACT_NOTE = ("each box: its name, or the op that made it, over its grad dC/d node; "
                "an edge's numbers: its tooltip")


def draw_graph(
    root: Node,
    *,
    trace: Trace | None = None,
    rankdir: str = "BT",
    show: Sequence[str] = ("data", "grad", "local"),
    max_nodes: int = 150,
    legend: bool = True,
    title: str | None = None,
    compact: bool | None = None,
) -> graphviz.Digraph:
    """The backward graph of ``root`` as a graphviz Digraph (output on top with ``"BT"``).

    ``root`` may be a PyTorch scalar: with its ``trace(root)``, the steps and gradients of that
    pass; without, the autograd graph's structure and saved local derivatives (no gradients).
    ``trace``: a Trace of ``root`` (gives tensor edges their exact contributions); without one,
    Value edges use local x upstream from the stored numbers, tensor edges the parent's total
    gradient. ``show``: any of "data", "grad" (on nodes), "local", "contribution" (on edges).
    ``compact`` (default: past ``COMPACT_FROM`` nodes, or ``COMPACT_WIDTH`` values side by side):
    each value and its op one small box (its name or op over its grad, 3 digits), no numbers on
    the edges (they are in the tooltips), so a graph of a few hundred nodes stays readable at
    the width of a notebook cell.
    """
    if is_torch(root):  # a PyTorch tensor (minigrad.adapters.torch)
        if trace is not None:  # its trace: the steps and gradients of that pass
            root = trace.output
        else:  # the structure only: a picture runs no backward pass of its own
            from minigrad.adapters.torch import graph_of

            root = graph_of(root)
    if not isinstance(root, Node):
        raise TypeError(f"draw_graph: expected a Value or Tensor, got {type(root).__name__}")
    if rankdir not in RANKDIRS:
        raise ValueError(f"draw_graph: rankdir must be one of {', '.join(RANKDIRS)}, "
                         f"got {rankdir!r}")
    unknown = [s for s in show if s not in SHOW_OPTIONS]
    if unknown:
        raise ValueError(f"draw_graph: unknown show option(s) {unknown}; choose from "
                         f"{', '.join(SHOW_OPTIONS)}")
    if trace is not None and trace.output is not root:
        raise ValueError("draw_graph: the trace was recorded from another output "
                         f"({trace.name(trace.output)}), not from this root")
    if max_nodes < 1:
        raise ValueError(f"draw_graph: max_nodes must be at least 1, got {max_nodes}")
    order = topological_order(root)  # each node after its parents; iterative
    if len(order) > max_nodes:
        graph = _new_graph(rankdir, title, compact=False)
        is_network = holds_array(root) and any(n.op == "linear" for n in order)
        if is_network:
            _draw_layers(graph, root, order, max_nodes, rankdir, legend)
        else:
            _draw_summary(graph, root, order, max_nodes, rankdir)
        return graph
    if compact is None:
        compact = len(order) > COMPACT_FROM or _widest(root, order) > COMPACT_WIDTH
    graph = _new_graph(rankdir, title, compact)
    _draw_nodes(graph, root, order, trace, rankdir, set(show), legend, compact)
    return graph


def _widest(root: Node, order: list[Node]) -> int:
    """The most values on one level, levels counted from the root by the longest path (as dot
    ranks them: a leaf just below the node that uses it)."""
    level = {root: 0}
    for node in reversed(order):  # every node before its parents
        for parent in node.parents:
            level[parent] = max(level.get(parent, 0), level[node] + 1)
    return max(Counter(level.values()).values())


def _new_graph(rankdir: str, title: str | None, compact: bool) -> graphviz.Digraph:
    graph = Picture("backward", graph_attr={"rankdir": rankdir, "fontsize": "12",
                                            **(COMPACT_LAYOUT if compact else LAYOUT)},
                    node_attr={"fontsize": "11"}, edge_attr={"fontsize": "10"})
    if title:
        graph.attr(label=plain_label(title), labelloc="t")
    return graph


def _record(fields: list[str], rankdir: str) -> str:
    """A record label whose fields run across the node in any rank direction."""
    body = " | ".join(escape_record(f) for f in fields)
    return f"{{ {body} }}" if rankdir in ("LR", "RL") else body


def _stacked(top: str, row: list[str], rankdir: str) -> str:
    """A record with ``top`` above a row of fields side by side, in any rank direction."""
    body = f"{escape_record(top)} | {{ {' | '.join(escape_record(f) for f in row)} }}"
    return body if rankdir in ("LR", "RL") else f"{{ {body} }}"


def _tagged(tag: str, lines: list[str], rankdir: str) -> str:
    """A record with a ``tag`` field first (left, or on top across) and the lines stacked."""
    stack = " | ".join(escape_record(line) for line in lines)
    return f"{escape_record(tag)} | {stack}" if rankdir in ("LR", "RL") else \
        f"{escape_record(tag)} | {{ {stack} }}"


# ---- every node ---------------------------------------------------------------------------------
def _draw_nodes(graph: graphviz.Digraph, root: Node, order: list[Node], trace: Trace | None,
                rankdir: str, show: set[str], legend: bool, compact: bool) -> None:
    is_tensor = holds_array(root)
    ids = {node: f"n{i}" for i, node in enumerate(order)}
    namer = trace.names if trace is not None else NodeNames(root, order)
    names = {node: namer(node) for node in order}
    steps = {(s.node, s.index): s for s in trace.steps} if trace is not None else {}
    # The gradients shown: the trace's own pass when there is one, else what the nodes hold.
    if trace is not None:
        grads = {node: trace.gradient(node) for node in order}
        if not is_tensor:  # a Value backward never reached holds 0
            grads = {node: 0.0 if g is None else g for node, g in grads.items()}
    else:
        grads = {node: node.grad for node in order}
    edges = [_edge(node, index, parent, steps, grads, is_tensor)
             for node in order for index, parent in enumerate(node.parents)]
    scale = LogScale(e["size"] for e in edges)

    for node in order:
        if compact:
            label, tooltip = _compact_label(node, grads[node], names[node], show)
        elif is_tensor:
            label, tooltip = _tensor_label(node, grads[node], names[node], show, rankdir)
        else:
            fields, tooltip = _value_fields(node, grads[node], show)
            label = _record(fields, rankdir)
        shape = {"shape": "box", "margin": "0.02,0.01", "width": "0", "height": "0"} \
            if compact else {"shape": "record"}
        graph.node(ids[node], label, tooltip=escape_plain(tooltip),
                   penwidth="2" if node is root else "1", **shape)
        if node.parents and not compact:
            graph.node(ids[node] + "_op", escape_plain(node.op), shape="ellipse",
                       fontsize="10", height="0.3", width="0.4", margin="0.02",
                       tooltip=escape_plain(f"op {node.op} makes {names[node]}"))
            graph.edge(ids[node] + "_op", ids[node], dir="back", color=GREYS[4],
                       arrowsize="0.6")

    for e in edges:
        node, parent = e["node"], e["parent"]
        attrs = _edge_attrs(e, names, show, scale, rankdir)
        if compact:  # the op is inside the node's box; the numbers in the tooltip only
            del attrs["label"]
            attrs.update(arrowsize="0.5", penwidth=f"{0.6 * float(attrs['penwidth']):.2f}")
        graph.edge(ids[parent], ids[node] + ("" if compact else "_op"), **attrs)
    if legend and edges:
        what = "gradient each edge carries" if (trace or not is_tensor) else \
            "gradient at the parent"
        add_gradient_legend(graph, scale, what=what, beside=ids[root], note=COMPACT_NOTE
                            if compact else "edge number: the local derivative d node / d parent")


def _value_fields(node: Node, gradient: float, show: set[str]) -> tuple[list[str], str]:
    fields = [node.label] if node.label else []
    if "data" in show:
        fields.append(f"data {fmt(node.data)}")
    if "grad" in show:
        fields.append(f"grad {fmt(gradient)}")
    return fields or [" "], f"data = {fmt_exact(node.data)}; grad = {fmt_exact(gradient)}"


def _compact_label(node: Node, gradient: Any, name: str, show: set[str]) -> tuple[str, str]:
    """A small box: the name (or the op that made the node) over its grad in 3 digits."""
    lines = [f"{node.label} = {node.op}" if node.label and node.parents else
             node.label or (node.op if node.parents else name)]
    grad = summarize(gradient)
    if "grad" in show:
        lines.append("—" if grad is None else fmt(np.asarray(gradient).item(), 3)
                     if not grad.shape else f"‖grad‖ {fmt(grad.norm, 3)}")
    data = np.asarray(node.data)
    tooltip = (f"{name} = {node.op}; " if node.parents else f"{name}; ") + (
        f"data = {fmt_exact(data.item())}" if data.size == 1 else f"shape {data.shape}") + (
        "; grad None" if grad is None else f"; grad = {fmt_exact(np.asarray(gradient).item())}"
        if not grad.shape else f"; ‖grad‖ = {grad.norm!r}")
    return plain_label("\n".join(lines)), tooltip


def _tensor_label(node: Node, gradient: Any, name: str, show: set[str],
                  rankdir: str) -> tuple[str, str]:
    """Name and shape on top, ‖data‖ | ‖grad‖ beneath; the tooltip has the full numbers."""
    data = np.asarray(node.data)
    grad = summarize(gradient)
    top = f"{name}   shape {data.shape}" if name else f"shape {data.shape}"
    row = []
    if "data" in show:
        row.append(f"data {fmt(data.item())}" if data.size == 1 else
                   f"‖data‖ {fmt(summarize(data).norm, 4)}")
    if "grad" in show:
        row.append("grad —" if grad is None else
                   f"grad {fmt(np.asarray(gradient).item())}" if data.size == 1 else
                   f"‖grad‖ {fmt(grad.norm, 4)}")
    tooltip = f"shape {data.shape}; ‖data‖ = {summarize(data).norm!r}; " + (
        "grad None" if grad is None else f"‖grad‖ = {grad.norm!r}")
    label = _stacked(top, row, rankdir) if row else _record([top], rankdir)
    return label, tooltip


def _edge(node: Node, index: int, parent: Node, steps: dict, grads: dict,
          is_tensor: bool) -> dict[str, Any]:
    """What one backward edge carries: local, size of its gradient, gain, and the numbers."""
    step = steps.get((node, index))
    if not is_tensor:
        local = step.local if step is not None else node.local_derivatives()[index]
        upstream = grads[node]
        contribution = step.contribution if step is not None else local * upstream
        return {"node": node, "parent": parent, "local": local, "upstream": upstream,
                "contribution": contribution, "size": abs(contribution), "gain": abs(local),
                "exact": True}
    local = step.local if step is not None else node.local_derivatives()[index]
    if step is not None:
        size, gain = step.contribution_summary.norm, step.gain
    elif grads[parent] is None or not getattr(parent, "requires_grad", True):
        size, gain = None, math.nan  # this parent needs no gradient
    else:  # no trace: the parent's total gradient stands in for this edge's contribution
        size = summarize(grads[parent]).norm
        up = summarize(grads[node])
        gain = size / up.norm if up is not None and up.norm > 0 else math.nan
    return {"node": node, "parent": parent, "local": local, "upstream": None,
            "contribution": None, "size": size, "gain": gain, "exact": False}


def _edge_attrs(e: dict[str, Any], names: dict[Node, str], show: set[str],
                scale: LogScale, rankdir: str) -> dict[str, str]:
    """Label, tooltip and style of one edge, drawn parent -> op with the arrow at the parent."""
    node, parent = names[e["node"]], names[e["parent"]]
    lines: list[str] = []
    if e["exact"]:  # Values: the exact engine numbers
        if "local" in show:
            lines.append(fmt(e["local"]))
        if "contribution" in show:
            lines.append(f"→ {fmt(e['contribution'])}")
        tooltip = (f"d{node}/d{parent} = {fmt_exact(e['local'])}; upstream dC/d{node} = "
                   f"{fmt_exact(e['upstream'])}; contribution = {fmt_exact(e['contribution'])}")
    else:
        local = summarize(e["local"])
        if "local" in show:
            if local is None:
                lines.append(describe_missing_local(e["node"].op))
            elif not local.shape:
                lines.append(f"×{fmt(e['local'], 4)}")
            else:
                lines.append(f"‖J‖={fmt(local.norm, 2)}")
                lines.append(f"mean|J|={fmt(local.mean_abs, 2)}")
        if "contribution" in show and e["size"] is not None:
            lines.append(f"→ ‖·‖={fmt(e['size'], 3)}")
        if e["size"] is None:
            lines.append("(no grad)")
        tooltip = (f"d{node}/d{parent}: {local if local is not None else 'not described'}; "
                   f"gradient size {e['size']!r}")
    return {"label": edge_label("\n".join(lines), rankdir),
            "tooltip": escape_plain(tooltip), "dir": "back",
            **edge_style(e["size"], e["gain"], scale)}


# ---- collapsed: one box per layer ---------------------------------------------------------------
def _speed(z: Node) -> float | None:
    """Nielsen's speed of learning ‖dC/db‖ of the layer z = linear(...), from its stored grad."""
    return None if z.grad is None else speed_of_learning(z.grad)


def _draw_layers(graph: graphviz.Digraph, root: Node, order: list[Node], max_nodes: int,
                 rankdir: str, legend: bool) -> None:
    layers = network_layers(order)
    speeds = [_speed(z) for z, _ in layers]
    gains = layer_gains([math.nan if s is None else s for s in speeds])  # s_l / s_(l+1)
    scale = LogScale(speeds)
    shown = sum(1 + (act is not None) for _, act in layers)
    for i, ((z, act), speed, gain) in enumerate(zip(layers, speeds, gains)):
        weight = z.parents[1]
        n_out, n_in = weight.data.shape
        mark = superscript(i + 1)
        lines = [f"linear {n_in}→{n_out}" + (f" + {act.op}" if act else ""),
                 f"‖dC/db{mark}‖ " + ("—" if speed is None else fmt(speed, 4))]
        if weight.grad is not None:
            lines.append(f"‖dC/dw{mark}‖ {fmt(summarize(weight.grad).norm, 4)}")
        local = act.local_derivatives()[0] if act is not None else None
        # the mean derivative only where it acts unit by unit (z's shape), as in the report
        slope = summarize(local) if np.shape(local) == np.shape(z.data) else None
        if slope is not None:
            lines.append(f"mean {derivative_name(act.op)}(z{mark}) {fmt(slope.mean_abs, 3)}")
        lines.append("output layer" if i == len(layers) - 1 else
                     f"gain {gain_label(gain)} {glyph(gain)}  from layer {i + 2}".rstrip())
        graph.node(f"layer{i}", _tagged(f"layer {i + 1}", lines, rankdir), shape="record",
                   style="filled", fillcolor=fill_color(gain, scale.position(speed or 0.0)))
        if i:
            previous = speeds[i - 1]
            graph.edge(f"layer{i - 1}", f"layer{i}", dir="back",
                       label=edge_label(gain_label(gains[i - 1]), rankdir),
                       **edge_style(previous, gains[i - 1], scale))
    first_input = layers[0][0].parents[0]
    graph.node("input", _tagged(first_input.label or "input", [f"shape {first_input.data.shape}"],
                                rankdir), shape="record", color=GREYS[3])
    graph.edge("input", "layer0", dir="back", style="dashed", color=GREYS[2])
    cost = "data " + (fmt(np.asarray(root.data).item()) if np.size(root.data) == 1
                      else f"shape {np.shape(root.data)}")
    graph.node("output", _tagged(root.label or "output", [root.op, cost], rankdir),
               shape="record", penwidth="2")
    graph.edge(f"layer{len(layers) - 1}", "output", dir="back", color=GREYS[4])
    note = (f"collapsed: {len(order)} nodes > max_nodes={max_nodes}, so one box per layer "
            f"({len(layers)} layers, {len(order) - shown} other nodes not drawn: weights, "
            f"biases, input, cost). Gain x: ‖dC/db‖ of a layer over that of the layer above "
            f"(below 1: the gradient shrinks on its way down). "
            f"draw_graph(..., max_nodes={len(order)}) draws every node.")
    graph.node("collapsed_note", plain_label(wrap(note)), shape="note", fontsize="10",
               color=GREYS[3])
    if legend:
        add_gradient_legend(graph, scale, what="layer's speed of learning ‖dC/db‖",
                            beside="output", gain_is="‖dC/db‖ of the layer below / of the "
                                                     "layer above")


# ---- collapsed: a summary box -------------------------------------------------------------------
def _draw_summary(graph: graphviz.Digraph, root: Node, order: list[Node], max_nodes: int,
                  rankdir: str) -> None:
    is_tensor = holds_array(root)
    depth: dict[Node, int] = {}
    ops: Counter[str] = Counter()
    edges = 0
    for node in order:  # parents come first: the longest path, without recursion
        parents = node.parents
        depth[node] = 1 + max(depth[p] for p in parents) if parents else 0
        edges += len(parents)
        if parents:
            ops[node.op] += 1
    leaves = [n for n in order if not n.parents]
    sized = [(summarize(n.grad).norm if is_tensor else abs(n.grad), n) for n in leaves
             if n.grad is not None]
    size_word = "‖grad‖" if is_tensor else "|grad|"
    fields = [f"graph of {len(order)} nodes: {len(leaves)} leaves, {len(order) - len(leaves)} ops,"
              f" {edges} edges",
              f"collapsed: more than max_nodes={max_nodes} nodes to draw",
              f"depth {depth[root]} (longest path from a leaf to the output)",
              "ops: " + ", ".join(f"{op} ×{k}" for op, k in ops.most_common(6))]
    if not is_tensor:
        name = f"output {root.label}" if root.label else "output"
        fields.append(f"{name}: data {fmt(root.data)}, grad {fmt(root.grad)}")
    if sized:
        small = min(sized, key=lambda t: t[0])
        large = max(sized, key=lambda t: t[0])
        fields.append(f"leaf {size_word}: smallest {fmt(small[0], 4)} ({_name(small[1])}),"
                      f" largest {fmt(large[0], 4)} ({_name(large[1])})")
    graph.node("summary", _record(fields, "LR" if rankdir in ("TB", "BT") else "TB"),
               shape="record", penwidth="2")
    note = (f"collapsed: {len(order)} nodes is more than max_nodes={max_nodes}. "
            f"draw_graph(..., max_nodes={len(order)}) draws every node; trace(output).path(node)"
            " and draw_chain show one path.")
    graph.node("collapsed_note", plain_label(wrap(note)), shape="note", fontsize="10",
               color=GREYS[3])
    graph.edge("collapsed_note", "summary", style="invis")


def _name(node: Node) -> str:
    return node.label or "unlabelled leaf"
