"""The layer-level picture of a network: one box per layer with its speed of learning.

    from minigrad.flow import gradient_flow
    from minigrad.viz import draw_layers
    draw_layers(gradient_flow(model, x, y))      # a graphviz.Digraph; save(graph, "layers.svg")

The layers stand in a column as in the graph pictures: the input at the bottom, the output layer
on top, the gradient flowing down. Each box shows the layer's speed of learning s_l = ||dC/db^l||,
its saturation and mean sigma'(z), and the verdict of the report in a few words (the whole
verdict, with ||dC/dW||, is in the box's tooltip and in ``report.table()``); its fill shade
grows with s_l on a log scale (pale: slow). The edge between two layers carries the lower
layer's gain s_l / s_{l+1} of the report (``x0.2``: the gradient is 5 times smaller after the
way down into layer l; docs/glossary.md) and the colours of :mod:`minigrad.viz.style`: blue
when the gradient shrinks on its way down (gain < 1), red when it grows.
The title gives the last/first hidden-layer ratio. Plain labels only (the in-process renderer
cannot draw HTML labels). Reads the report; runs no backward pass.
"""

from __future__ import annotations

import graphviz

from minigrad.flow.report import FlowReport, LayerFlow
from minigrad.names import ACTIVATIONS, derivative_name, gain_label
from minigrad.viz.labels import edge_label, escape_plain, plain_label, wrap
from minigrad.viz.render import Picture
from minigrad.viz.style import GAIN_WORDS, GREYS, LogScale, edge_style

__all__ = ["draw_layers", "SPEED_FILLS"]

# ColorBrewer YlGn, pale (slow) to strong (fast); dark enough shades are left out so the black
# text stays readable.
SPEED_FILLS = ("#ffffe5", "#f7fcb9", "#d9f0a3", "#addd8e", "#78c679", "#41ab5d")
_TITLE_WIDTH = 64  # characters per title line


def draw_layers(report: FlowReport, *, rankdir: str = "BT", verdicts: bool = True,
                title: str | None = None) -> graphviz.Digraph:
    """One node per layer: speed of learning, saturation, mean sigma'; the gain on each edge.

    ``rankdir``: "BT" (default) puts the input at the bottom and the output layer on top;
    "LR" lays the layers out in a row. ``verdicts``: add the verdict in a few words.
    """
    if not report.layers:
        raise ValueError("draw_layers: the report has no layers")
    graph = Picture("layers", graph_attr={"rankdir": rankdir, "labelloc": "t", "fontsize": "13",
                                          "nodesep": "0.4", "ranksep": "0.35"},
                    node_attr={"shape": "box", "style": "rounded,filled", "fontsize": "11",
                               "margin": "0.15,0.06"},
                    edge_attr={"fontsize": "11"})
    graph.attr(label=plain_label(title if title is not None else _title(report)))
    scale = LogScale(report.speeds)

    first = report.layers[0]
    graph.node("input", f"input\n{first.n_in} units", style="rounded,dashed", color=GREYS[3])
    graph.edge("input", "layer1", color=GREYS[2], dir="none")
    for row in report.layers:
        position = scale.position(row.speed) if row.speed > 0 else 0.0
        fill = SPEED_FILLS[round(position * (len(SPEED_FILLS) - 1))]
        graph.node(_node_id(row), _label(row, verdicts), fillcolor=fill,
                   penwidth="2" if row.role == "output" else "1", tooltip=_tooltip(row))
    for below, above in zip(report.layers[:-1], report.layers[1:]):
        # The arrow points the way the gradient flows: down, into the lower layer.
        graph.edge(_node_id(below), _node_id(above), dir="back",
                   label=edge_label(gain_label(below.gain), rankdir),
                   **edge_style(below.speed if below.gain else None, below.gain, scale))
    graph.node("legend", _legend(report), shape="plaintext", style="", fontsize="10")
    return graph


def _node_id(row: LayerFlow) -> str:
    return f"layer{row.index}"


def _label(row: LayerFlow, verdicts: bool) -> str:
    """The plain multi-line label of one layer's box: a few lines, the verdict shortened."""
    lines = [f"{row.role}: {row.n_in} → {row.n_out}, {row.activation}"
             + ("  (residual)" if row.residual else ""),
             f"speed s = {row.speed:.3g}"]
    figures = []
    activation = ACTIVATIONS.get(row.activation)
    if row.saturation is not None and row.activation != "identity":
        word = activation.saturated_word if activation is not None else "saturated"
        figures.append(f"{word} {row.saturation:.0%}")
    if row.mean_dsigma is not None and row.activation != "identity":
        figures.append(f"mean {derivative_name(row.activation)}(z) {row.mean_dsigma:.3g}")
    if figures:
        lines.append(",  ".join(figures))
    if row.update_data is not None:
        lines.append(f"update:data 10^{row.update_data:.1f}")
    if verdicts and row.verdict:
        lines.append(_short_verdict(row.verdict))
    return "\n".join(escape_plain(line) for line in lines)


def _short_verdict(verdict: str) -> str:
    """The verdict's first clause in fewer words: '175x slower than last hidden'.

    The other clauses repeat what the box and the edges show (the gain from the layer above,
    the saturation); the table has them all.
    """
    first = verdict.split("; ")[0]
    return first.removeprefix("learns ").replace("the last hidden layer", "last hidden") \
        if first.startswith("learns ") else first


def _tooltip(row: LayerFlow) -> str:
    """The whole verdict, ||dC/dW|| and the saturation rule, shown when the pointer rests on
    the box."""
    activation = ACTIVATIONS.get(row.activation)
    rule = f"; {activation.saturated_word}: {activation.saturation_rule}" if activation else ""
    return escape_plain(f"{row.role}: {row.verdict}; ‖dC/dW‖ = {row.weight_grad_norm:.3g}"
                        + rule)


def _title(report: FlowReport) -> str:
    """'speed of learning per layer' and the last/first hidden-layer ratio."""
    ratio = report.last_over_first
    if ratio is None:
        return "speed of learning per layer"
    return (f"speed of learning per layer: last hidden / first hidden = {ratio:.3g}x\n"
            + wrap(report.summary(), _TITLE_WIDTH))


def _legend(report: FlowReport) -> str:
    """How to read the picture, as left-aligned lines."""
    slow, fast = min(report.speeds), max(report.speeds)
    lines = ["fill: speed of learning s = ‖dC/db‖, log scale,",
             f"    pale {slow:.3g} to strong {fast:.3g}",
             "edge x g: the gain s(below) / s(above),",
             "    the table's gain column",
             *GAIN_WORDS,
             f"batch of {report.batch_size}, loss {report.loss}" if report.batch_size else ""]
    return "".join(escape_plain(line) + "\\l" for line in lines if line)
