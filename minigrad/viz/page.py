"""One page per run: ``report.html``, a self-contained page a learner opens in a browser.

    write_report("out/report.html", title="my net", settings={"sizes": "784,30,30,10"},
                 reports=[("At initialisation", report)],
                 pictures=[("The layers", draw_layers(report)), ("Curves", Path("c.png"))])

The page reads top to bottom: the settings of the run, notes, each per-layer table with its
verdicts, the pictures, and what each number means in the glossary's words
(docs/glossary.md). It is one HTML file with nothing to fetch: graphs are inline SVG (their
text selectable), plots inline PNG data URIs, the style sheet in the page; no script, font or
framework. A template and the pictures, nothing more.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import graphviz

from minigrad.files import write_text
from minigrad.names import gain_label
from minigrad.viz.render import fit_width, render_svg
from minigrad.viz.style import BLUES, REDS, glyph

if TYPE_CHECKING:  # only for the annotations
    from minigrad.flow import FlowReport

__all__ = ["write_report", "report_html", "MEANINGS"]

# What each number means, in the words of docs/glossary.md (one meaning per word).
MEANINGS = (
    ("layer", "Layer l is one Linear map and the activation applied to it, "
     "z^l = w^l a^(l-1) + b^l and a^l = σ(z^l), counted from the input: hidden 1 is the first "
     "hidden layer, output the last layer L."),
    ("speed of learning s_l", "Nielsen's measure, the size of the bias gradient: "
     "s_l = ‖∂C/∂b^l‖, with C the batch-mean cost. It is how fast the biases of layer l would "
     "move under gradient descent. \"The first hidden layer learns 100 times slower than the "
     "last\" is s_last / s_1."),
    ("‖∂C/∂W‖", "The size of the weight gradient of the layer."),
    ("gain", "How much something scales the gradient on its way down, from the output toward "
     "the input: gain = size of the gradient after / size before. A layer's gain is "
     "s_l / s_(l+1), its speed of learning over that of the layer above. Below 1 (blue, ↓) the "
     "gradient shrinks: it vanishes if the gains multiply to far below 1; above 1 (red, ↑) it "
     "grows: it explodes. Gains along a path multiply; the book's net has gains of about x0.2."),
    ("factor", "The local derivative ∂ node / ∂ parent that the chain rule multiplies the "
     "upstream gradient by at one step: σ′(z^l) unit by unit, (w^(l+1))ᵀ as a matrix product. "
     "The chain picture shows each factor by its size; their product is the gradient of the "
     "first hidden layer (Nielsen's eq. 124)."),
    ("a mean, a std", "The mean and the standard deviation of the activations a^l, over the "
     "batch and the units."),
    ("saturated", "A unit is saturated for one input when its activation sits on a flat part "
     "of its curve, where the factor σ′(z) is tiny: sigmoid a < 0.01 or a > 0.99, tanh "
     "|a| > 0.99; for ReLU, units that are exactly 0. The column is the fraction of the "
     "layer's activations, over the batch and the units, that are saturated."),
    ("mean σ′(z)", "The mean of the activation's local derivative σ′(z^l): the factor each "
     "unit of the layer multiplies the gradient by. A sigmoid's is at most 1/4."),
    ("grad:data", "std(∂C/∂W) / std(W) of a layer (without the L2 term)."),
    ("update:data", "log10(‖lr ∂C/∂W‖ / ‖W‖): how much one optimiser step changes the weights "
     "relative to their size; healthy near −3 (without the L2 term)."),
    ("verdict", "Each layer's figures in words: how much slower it learns than the last hidden "
     "layer, how much its way down shrinks or grows the gradient, and whether it is saturated."),
)

STYLE = """
body { font-family: Verdana, sans-serif; color: #222; margin: 0; background: #fff; }
main { max-width: 980px; margin: 0 auto; padding: 1.5em 1.2em 3em; line-height: 1.45; }
h1 { font-size: 1.5em; margin-bottom: 0.3em; } h2 { font-size: 1.15em; margin-top: 1.8em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.6em 0; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; } td.text, th.text { text-align: left; }
table.settings td, table.settings th { text-align: left; }
.shrinks, .grows { font-weight: bold; }
ul.verdicts { font-size: 0.9em; } p.summary { font-weight: bold; }
figure { margin: 0.6em 0 1.2em; } figure svg, figure img { max-width: 100%; height: auto; }
dl dt { font-weight: bold; margin-top: 0.6em; } dl dd { margin-left: 1.2em; }
footer { color: #777; font-size: 0.8em; margin-top: 3em; }
"""
# The table's gains in the pictures' colours (docs/glossary.md: blue shrinks, red grows).
STYLE += f".shrinks {{ color: {BLUES[5]}; }} .grows {{ color: {REDS[5]}; }}\n"

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
<main>
<h1>{title}</h1>
{body}
<footer>Written by minigrad. The words are those of minigrad's glossary (docs/glossary.md):
one meaning for each.</footer>
</main>
</body>
</html>
"""


def report_html(*, title: str, settings: Mapping[str, Any],
                reports: Sequence[tuple[str, FlowReport]] = (),
                pictures: Sequence[tuple[str, Any]] = (), notes: Sequence[str] = (),
                meanings: bool = True) -> str:
    """The page as HTML text: the settings, the notes, each (heading, report) as a table with
    its verdicts, each (heading, picture) and, if ``meanings``, what each number means.

    A picture is a graph (``graphviz.Digraph`` or DOT source: inline SVG), a matplotlib Axes
    or Figure (an inline PNG), or the ``Path`` of an ``.svg`` (inline) or ``.png`` file.
    """
    parts = ["<h2>Settings</h2>", _settings_table(settings)]
    parts += [f"<p>{html.escape(note)}</p>" for note in notes]
    for heading, report in reports:
        parts += [f"<h2>{html.escape(heading)}</h2>", _report_table(report)]
    for heading, picture in pictures:
        parts += [f"<h2>{html.escape(heading)}</h2>",
                  f"<figure>{_picture(picture, heading)}</figure>"]
    if meanings:
        parts += ["<h2>What each number means</h2>", "<dl>"]
        parts += [f"<dt>{html.escape(word)}</dt><dd>{html.escape(text)}</dd>"
                  for word, text in MEANINGS]
        parts.append("</dl>")
    return TEMPLATE.format(title=html.escape(title), style=STYLE, body="\n".join(parts))


def write_report(path: str | Path, *, title: str, settings: Mapping[str, Any],
                 reports: Sequence[tuple[str, FlowReport]] = (),
                 pictures: Sequence[tuple[str, Any]] = (), notes: Sequence[str] = (),
                 meanings: bool = True) -> Path:
    """Write :func:`report_html`'s page to ``path`` (whole or not at all); return the path."""
    page = report_html(title=title, settings=settings, reports=reports, pictures=pictures,
                       notes=notes, meanings=meanings)
    return write_text(path, page)


def _settings_table(settings: Mapping[str, Any]) -> str:
    rows = "".join(f"<tr><th>{html.escape(str(key))}</th><td>{html.escape(str(value))}</td></tr>"
                   for key, value in settings.items())
    return f'<table class="settings">{rows}</table>'


# The per-layer table: heading, and the cell of a row (None: the column is dropped when it is
# empty in every row, as update:data is without a learning rate).
_COLUMNS = (
    ("layer", lambda r: r.role),
    ("size", lambda r: f"{r.n_in}→{r.n_out}"),
    ("activation", lambda r: r.activation),
    ("speed of learning s_l", lambda r: f"{r.speed:.4g}"),
    ("‖∂C/∂W‖", lambda r: f"{r.weight_grad_norm:.3g}"),
    ("gain", lambda r: gain_label(r.gain) or None),
    ("a mean", lambda r: f"{r.act_mean:.3f}"),
    ("a std", lambda r: f"{r.act_std:.3f}"),
    ("saturated", lambda r: None if r.saturation is None else f"{r.saturation:.0%}"),
    ("mean σ′(z)", lambda r: None if r.mean_dsigma is None else f"{r.mean_dsigma:.3f}"),
    ("grad:data", lambda r: None if r.grad_data is None else f"{r.grad_data:.3g}"),
    ("update:data", lambda r: None if r.update_data is None else f"{r.update_data:.2f}"),
)
_TEXT_COLUMNS = {"layer", "activation"}


def _report_table(report: FlowReport) -> str:
    columns = [(name, cell) for name, cell in _COLUMNS
               if name == "gain" or any(cell(row) is not None for row in report.layers)]
    head = "".join(f'<th class="{"text" if name in _TEXT_COLUMNS else "num"}">'
                   f"{html.escape(name)}</th>" for name, _ in columns)
    rows = []
    for row in report.layers:
        cells = []
        for name, cell in columns:
            text = html.escape(cell(row) or "")
            kind = "text" if name in _TEXT_COLUMNS else "num"
            if name == "gain" and row.gain is not None and not math.isnan(row.gain):
                kind += {"↓": " shrinks", "↑": " grows"}.get(glyph(row.gain), "")
            cells.append(f'<td class="{kind}">{text}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
    verdicts = "".join(f"<li><b>{html.escape(row.role)}</b>: {html.escape(row.verdict)}</li>"
                       for row in report.layers)
    return (f"<table><tr>{head}</tr>{''.join(rows)}</table>"
            f'<ul class="verdicts">{verdicts}</ul>'
            f'<p class="summary">{html.escape(report.summary())}</p>')


def _picture(picture: Any, heading: str) -> str:
    """A picture as HTML: graphs and .svg files inline, plots and .png files as data URIs."""
    if isinstance(picture, Path):
        if picture.suffix.lower() == ".svg":
            return _inline_svg(picture.read_text(encoding="utf-8"))
        if picture.suffix.lower() == ".png":
            return _png(picture.read_bytes(), heading)
        raise ValueError(f"write_report: cannot show {picture} in a page; give an .svg or .png")
    if isinstance(picture, (graphviz.Graph, graphviz.Digraph, str)):
        return _inline_svg(render_svg(picture))
    figure = getattr(picture, "figure", picture)
    if not hasattr(figure, "savefig"):
        raise TypeError(f"write_report: {heading!r} is a {type(picture).__name__}; give a "
                        "graph, a matplotlib Axes or Figure, or the Path of an .svg or .png")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120)
    return _png(buffer.getvalue(), heading)


def _inline_svg(svg: str) -> str:
    """SVG text without its XML prolog and doctype (a page needs neither), scaled to fit."""
    start = svg.find("<svg")
    if start < 0:
        raise ValueError("write_report: the picture's SVG has no <svg> element")
    return fit_width(svg[start:])


def _png(data: bytes, heading: str) -> str:
    encoded = base64.b64encode(data).decode("ascii")
    return f'<img alt="{html.escape(heading)}" src="data:image/png;base64,{encoded}">'

