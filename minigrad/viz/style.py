"""The look of the pictures: colours, the log scale of gradient sizes, the legend.

One convention everywhere: a gain below 1 (the gradient *shrinks* on its way down: a factor with
|f| < 1, |contribution| < |upstream|, a layer that learns slower than the one above) is drawn in
blues, a gain above 1 (it *grows*) in reds, a gain of exactly 1 in greys. The shade and the pen
width grow with the gradient's size on a log scale. The words are defined once, in
docs/glossary.md; legends quote them.

Also here, for code written before the pictures' floor was split into rooms (issue 8): the
names that lived in this module and now live elsewhere, re-exported (``Picture`` from
``render``; the escaping, wrapping and ``FONT`` from ``labels``; the number formats, the node
namer's pieces and the activation ops from :mod:`minigrad.names`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import graphviz

from minigrad.names import (
    ACTIVATIONS,
    describe_missing_local,
    fmt,
    fmt_exact,
    gain_label,
    layer_names,
    superscript,
)
from minigrad.viz.labels import FONT, edge_label, escape_plain, escape_record, plain_label, wrap
from minigrad.viz.render import Picture

__all__ = [
    "FONT",
    "BLUES",
    "REDS",
    "GREYS",
    "ZERO_COLOR",
    "LogScale",
    "fmt",
    "fmt_exact",
    "gain_label",
    "glyph",
    "family",
    "edge_style",
    "fill_color",
    "GAIN_WORDS",
    "add_gradient_legend",
    # re-exported: where they lived before the split (see above)
    "Picture",
    "escape_record",
    "escape_plain",
    "plain_label",
    "wrap",
    "superscript",
    "layer_names",
    "describe_missing_local",
    "ACTIVATION_OPS",
]

# ColorBrewer sequential palettes, light to dark.
BLUES = ("#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b")
REDS = ("#fcbba1", "#fc9272", "#fb6a4a", "#ef3b2c", "#cb181d", "#a50f15", "#67000d")
GREYS = ("#d9d9d9", "#bdbdbd", "#969696", "#737373", "#525252", "#363636", "#252525")
ZERO_COLOR = "#bdbdbd"  # an edge that carries no gradient (exactly 0, or not needed)
_EPS = 1e-12  # gains within this of 1 count as "unchanged"
ACTIVATION_OPS = tuple(ACTIVATIONS)  # the ops that end a layer after a linear node

# The legend's words for the two colour families: the glossary's definition of gain.
GAIN_WORDS = ("blue ↓  gain < 1: the gradient shrinks on its way down",
              "red ↑  gain > 1: the gradient grows on its way down")


def glyph(gain: float) -> str:
    """'↓' for a gain below 1 (shrinks), '↑' above 1 (grows), '=' for 1, '' when unknown."""
    if gain is None or math.isnan(gain):
        return ""
    if gain < 1.0 - _EPS:
        return "↓"
    if gain > 1.0 + _EPS:
        return "↑"
    return "="


def family(gain: float) -> tuple[str, ...]:
    """The palette for a gain: blues shrink, reds grow, greys unchanged or unknown."""
    g = glyph(gain)
    return BLUES if g == "↓" else REDS if g == "↑" else GREYS


class LogScale:
    """Maps a magnitude to a position in [0, 1] between the smallest and largest log10 seen."""

    def __init__(self, magnitudes: Iterable[float]) -> None:
        logs = [math.log10(m) for m in magnitudes if m is not None and 0.0 < m < math.inf]
        lo, hi = (min(logs), max(logs)) if logs else (-1.0, 0.0)
        if hi - lo < 1e-9:  # one size only: centre it in a one-decade window
            lo, hi = lo - 0.5, hi + 0.5
        self.lo, self.hi = lo, hi

    def position(self, magnitude: float) -> float:
        """0 at the smallest magnitude of the scale, 1 at the largest (clipped)."""
        if not magnitude or not 0.0 < magnitude < math.inf:
            return 0.0 if not magnitude else 1.0
        t = (math.log10(magnitude) - self.lo) / (self.hi - self.lo)
        return min(max(t, 0.0), 1.0)

    def magnitude(self, position: float) -> float:
        """The magnitude at a position in [0, 1] (for legend ticks)."""
        return 10.0 ** (self.lo + position * (self.hi - self.lo))

    def __repr__(self) -> str:
        return f"LogScale(1e{self.lo:.2f} .. 1e{self.hi:.2f})"


def edge_style(magnitude: float | None, gain: float | None, scale: LogScale) -> dict[str, str]:
    """Colour, pen width and label colour of an edge carrying a gradient of this size and gain."""
    if magnitude is None or magnitude == 0.0 or math.isnan(magnitude):
        return {"color": ZERO_COLOR, "fontcolor": GREYS[3], "penwidth": "0.8", "style": "dashed"}
    t = scale.position(magnitude)
    palette = family(gain)
    shade = palette[2 + round(t * (len(palette) - 3))]  # skip the two lightest: too faint
    return {"color": shade, "fontcolor": palette[-2], "penwidth": f"{0.8 + 3.2 * t:.2f}"}


def fill_color(gain: float | None, strength: float = 0.5) -> str:
    """A light fill (dark text stays readable) in the family of ``gain``; strength in [0, 1]."""
    palette = family(gain)
    return palette[min(2, max(0, round(strength * 2)))]


def add_gradient_legend(graph: graphviz.Digraph, scale: LogScale, *, what: str = "gradient",
                        note: str = "", beside: str | None = None,
                        gain_is: str = "|contribution| / |upstream| of each edge") -> None:
    """One legend cluster: blue = shrinks, red = grows, shade and width = size (log scale).

    The words are the cluster's label; beneath them one row of sample edges per colour family,
    side by side when the graph's ranks run up or down (the legend then takes a single rank),
    stacked when they run across. ``beside``: the node the legend goes one rank past (the
    output: above it when the ranks run up, where there is room), so it opens no gap between
    the graph's own ranks and never widens the widest of them. ``what``
    names the size being coloured ("gradient each edge carries"); ``gain_is`` says what the gain
    compares in this picture (always after / before on the way down: docs/glossary.md).
    """
    rankdir = graph.graph_attr.get("rankdir", "TB")
    across = rankdir in ("LR", "RL")  # a row of edges runs across by itself
    lines = [
        "legend",
        f"colour and width: the size of the {what}, on a log scale",
        *GAIN_WORDS,
        f"    gain here: {gain_is}",
        "grey  gain 1 (factor ±1);  dashed  zero or not needed",
    ]
    if note:
        lines.append(note)
    with graph.subgraph(name="cluster_legend") as legend:
        # Graphviz flips a cluster's label with the ranks: "b" is drawn on top when they run up.
        legend.attr(label="\\l".join(escape_plain(line) for line in lines) + "\\l",
                    labeljust="l", labelloc="b" if rankdir == "BT" else "t", fontsize="10",
                    style="rounded", color=GREYS[2], fontcolor=GREYS[5], margin="10")
        ticks = (0.0, 0.5, 1.0)
        with legend.subgraph() as rank:
            if not across:
                rank.attr(rank="same")
            previous = None
            for name, gain in (("shrinks", 0.5), ("grows", 2.0)):
                ids = [f"legend_{name}_{i}" for i in range(len(ticks) + 1)]
                rank.node(ids[0], f"{name} {glyph(gain)}", shape="plaintext", fontsize="10")
                for i in range(1, len(ids)):
                    rank.node(ids[i], "", shape="point", width="0.05", color=GREYS[3])
                for i, t in enumerate(ticks):
                    size = scale.magnitude(t)
                    # across, a label would sit on its line (a flat edge's sits beneath it)
                    tick = edge_label(fmt(size, 2), rankdir) if across else fmt(size, 2)
                    rank.edge(ids[i], ids[i + 1], label=tick, fontsize="9",
                              arrowhead="none", **edge_style(size, gain, scale))
                if previous is not None:  # "shrinks" before "grows": left of it, or above
                    with rank.subgraph() as first:  # (a flat edge puts its tail first)
                        first.attr(rank="same")
                        first.edge(previous, ids[0], style="invis")
                previous = ids[0] if across else ids[-1]
    if beside is not None and not across:
        # One rank past ``beside`` (above the output when the ranks run up), by an invisible
        # edge: rank=same with a node outside the cluster pulls the legend's first node out of
        # its box, and a flat edge at a record node is lost by Graphviz before 2.44.
        graph.edge(beside, "legend_shrinks_0", style="invis")
