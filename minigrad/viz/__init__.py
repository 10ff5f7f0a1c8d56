"""Pictures of the backward pass: graphs, the chain-rule product, per-layer gradient flow.

    from minigrad.viz import draw_graph, draw_chain, draw_layers, save
    save(draw_graph(loss), "graph.svg")                    # every node, every local derivative
    save(draw_chain(trace(C).path(b1)), "chain.svg")       # Nielsen's eq. 122, factor by factor
    save(draw_layers(gradient_flow(model, x, y)), "layers.svg")   # one box per layer

Everything returns a ``graphviz.Digraph`` (shown inline in Jupyter). ``save`` writes SVG with or
without a system Graphviz. Importing this package never imports matplotlib: the plots live in
``minigrad.viz.plots``.
"""

from __future__ import annotations

from minigrad.viz.chain import chain_factors, draw_chain
from minigrad.viz.graph import draw_graph
from minigrad.viz.layers import draw_layers
from minigrad.viz.render import GraphvizNotFound, RenderError, render_svg, save, which_renderer

__all__ = [
    "draw_graph",
    "draw_chain",
    "draw_layers",
    "chain_factors",
    "save",
    "render_svg",
    "which_renderer",
    "GraphvizNotFound",
    "RenderError",
]
