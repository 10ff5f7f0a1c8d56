"""Pictures of the backward pass: graphs, the chain-rule product, per-layer gradient flow.

    from minigrad.viz import draw_graph, draw_chain, save
    save(draw_graph(loss), "graph.svg")                    # every node, every local derivative
    save(draw_chain(trace(C).path(b1)), "chain.svg")       # Nielsen's eq. 122, factor by factor
    save(draw_layers(gradient_flow(model, x, y)), "layers.svg")   # one box per layer

Everything returns a ``graphviz.Digraph`` (shown inline in Jupyter). ``save`` writes SVG with or
without a system Graphviz. Importing this package never imports matplotlib: the plots live in
``minigrad.viz.plots``, and ``draw_layers`` is imported on first use.
"""

from __future__ import annotations

from typing import Any

from minigrad.viz.chain import chain_factors, draw_chain
from minigrad.viz.graph import draw_graph
from minigrad.viz.render import GraphvizNotFound, RenderError, render_svg, save, which_renderer

__all__ = [
    "draw_graph",
    "draw_chain",
    "chain_factors",
    "save",
    "render_svg",
    "which_renderer",
    "GraphvizNotFound",
    "RenderError",
]

_LAZY = {"draw_layers": "minigrad.viz.layers"}  # name -> module, imported on first use


def __getattr__(name: str) -> Any:
    """``minigrad.viz.draw_layers``: imported on first use (it needs minigrad.flow)."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'minigrad.viz' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
