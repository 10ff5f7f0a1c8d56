"""Text inside pictures: escaping for DOT labels and records, wrapping, and the one legend.

Labels are plain text and records only: the in-process renderer cannot draw HTML labels.
"""

from __future__ import annotations

import textwrap

import graphviz

from minigrad.names import fmt
from minigrad.viz.style import GREYS, LogScale, edge_style, glyph

__all__ = ["visible", "escape_record", "escape_plain", "plain_label", "wrap",
           "add_gradient_legend", "GAIN_WORDS"]

# The legend's words for the two colour families: the glossary's definition of gain.
GAIN_WORDS = ("blue ↓  gain < 1: the gradient shrinks on its way down",
              "red ↑  gain > 1: the gradient grows on its way down")


def _shown(ch: str) -> str:
    """One character as it should read: a control character (C0 but line breaks, DEL, C1) as
    its escape, a tab as a space, anything else itself."""
    code = ord(ch)
    if ch == "\t":
        return " "
    if (code < 32 and ch != "\n") or 127 <= code < 160:
        return f"\\x{code:02x}"
    return ch


def visible(text: str) -> str:
    r"""Text as the same visible characters in any label: ``&`` written so that Graphviz shows
    it as typed (it reads ``&amp;``, ``&lt;`` as entities), line breaks as ``\n``, a tab as a
    space, any other control character as its escape (``\x01``): labels are text, never
    markup."""
    text = text.replace("&", "&amp;").replace("\r\n", "\n").replace("\r", "\n")
    return "".join(map(_shown, text))


def escape_record(text: str) -> str:
    r"""Text safe inside one field of a record label: \ { } | < > and quotes escaped, a line
    break as a space, everything else shown as typed (:func:`visible`)."""
    out = visible(text).replace("\n", " ").replace("\\", "\\\\")
    for ch in "{}|<>\"":
        out = out.replace(ch, "\\" + ch)
    return out


def escape_plain(text: str) -> str:
    """Text safe inside a plain label: shown as typed (:func:`visible`), backslashes doubled
    (a label may use \\n of its own)."""
    return visible(text).replace("\\", "\\\\")


def plain_label(text: str) -> str:
    """Text (with real newlines) as a plain DOT label: backslashes escaped, lines centred."""
    return escape_plain(text).replace("\n", "\\n")


def wrap(text: str, width: int = 60) -> str:
    """Text broken at spaces into lines of at most ``width`` characters (plain-label newlines)."""
    return "\n".join(textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False))


def add_gradient_legend(graph: graphviz.Digraph, scale: LogScale, *, what: str = "gradient",
                        note: str = "", beside: str | None = None,
                        gain_is: str = "|contribution| / |upstream| of each edge") -> None:
    """One legend cluster: blue = shrinks, red = grows, shade and width = size (log scale).

    The words are the cluster's label; beneath them one row of sample edges per colour family,
    side by side when the graph's ranks run up or down (the legend then takes a single rank),
    stacked when they run across. ``beside``: a node whose rank the legend shares (the output,
    on top, where there is room), so it opens no gap between the graph's own ranks. ``what``
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
