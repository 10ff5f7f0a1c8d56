"""Pictures of the backward pass: graphs, the chain-rule product, per-layer gradient flow.

    from minigrad.viz import draw_graph, draw_chain, draw_layers, plot_speeds, save
    save(draw_graph(loss), "graph.svg")                    # every node, every local derivative
    save(draw_chain(trace(C).path(b1)), "chain.svg")       # Nielsen's eq. 122, factor by factor
    save(draw_layers(gradient_flow(model, x, y)), "layers.svg")   # one box per layer
    save_figure(plot_speeds(report), "speeds.png")         # matplotlib: bars of s_l
    show(draw_chain(path), "chain.svg")    # save, and in a notebook also show it in the cell
    write_report("report.html", title=..., settings=..., reports=..., pictures=...)  # one page

The pictures only read what the floors below made (a graph after backward, a Trace, a
FlowReport, a FlowRecorder); none runs a backward pass. Graphs are ``graphviz.Digraph``
objects (:class:`~minigrad.viz.render.Picture`: shown inline in Jupyter); ``save`` writes SVG
with or without a system Graphviz. The rooms: ``render`` (Picture, save, render_svg),
``style`` (colours, scales, number formats), ``labels`` (escaping, wrapping, the legend),
``graph``, ``chain``, ``layers``, ``plots`` (matplotlib, imported only when a plot is drawn) and
``page`` (report.html).
"""

from __future__ import annotations

from minigrad.factors import chain_factors
from minigrad.viz.chain import draw_chain
from minigrad.viz.graph import draw_graph
from minigrad.viz.layers import draw_layers
from minigrad.viz.page import write_report
from minigrad.viz.plots import plot_curves, plot_speeds, save_figure
from minigrad.viz.render import (
    GraphvizNotFound,
    Picture,
    RenderError,
    render_svg,
    save,
    show,
    which_renderer,
)

__all__ = [
    "draw_graph",
    "draw_chain",
    "draw_layers",
    "chain_factors",
    "plot_speeds",
    "plot_curves",
    "save_figure",
    "write_report",
    "save",
    "show",
    "render_svg",
    "which_renderer",
    "Picture",
    "GraphvizNotFound",
    "RenderError",
]
