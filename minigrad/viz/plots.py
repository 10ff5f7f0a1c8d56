"""matplotlib pictures of the gradient flow: speeds per layer, speed-of-learning curves.

    ax = plot_speeds(gradient_flow(model, x, y))       # bars of s_l, log scale
    ax = plot_curves(train.speed_of_learning_curves(...))   # Nielsen's curves, a line per layer
    save_figure(ax, "speeds.png")

Every function takes an ``ax`` to draw into (a new figure when None) and returns it.
matplotlib is imported inside the functions, so importing minigrad never loads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from minigrad.files import replacing
from minigrad.names import gain_label

if TYPE_CHECKING:  # only for the annotations: no import cycle, no cost at run time
    from minigrad.flow import FlowRecorder, FlowReport

__all__ = ["plot_speeds", "plot_curves", "save_figure"]

HIDDEN_COLOR = "#41ab5d"
OUTPUT_COLOR = "#969696"


def _new_axes(ax: Any, figsize: tuple[float, float]) -> Any:
    """``ax`` itself, or the Axes of a new pyplot figure (so it shows inline in Jupyter)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def plot_speeds(report: FlowReport, ax: Any = None) -> Any:
    """Bars of the speed of learning s_l per layer on a log axis, each gain between its bars."""
    ax = _new_axes(ax, (1.6 + 1.1 * len(report.layers), 4.0))
    speeds = np.array(report.speeds, dtype=float)
    positions = np.arange(len(speeds))
    colors = [OUTPUT_COLOR if row.role == "output" else HIDDEN_COLOR for row in report.layers]
    shown = np.where(speeds > 0, speeds, np.nan)  # a zero cannot sit on a log axis
    ax.bar(positions, shown, color=colors, width=0.6)
    ax.set_yscale("log")
    ax.set_xticks(positions, [row.role for row in report.layers])
    for x, speed in zip(positions, speeds):
        ax.annotate(f"{speed:.3g}", (x, speed if speed > 0 else 1.0), ha="center",
                    va="bottom", fontsize=9, xytext=(0, 2), textcoords="offset points")
    for row, x in zip(report.layers[:-1], positions[:-1]):
        if row.gain is not None and speeds[x + 1] > 0:
            middle = float(np.sqrt(speeds[x] * speeds[x + 1]))  # halfway on the log axis
            ax.annotate(gain_label(row.gain), (x + 0.5, middle), ha="center", va="center",
                        fontsize=9, color="#08519c")
    ax.set_ylabel("speed of learning  ||dC/db||")
    ratio = report.last_over_first
    title = "speed of learning per layer"
    if ratio is not None:
        title += f"\nlast hidden / first hidden = {ratio:.3g}x"
    ax.set_title(title, fontsize=10)
    if np.any(speeds > 0):
        low, high = speeds[speeds > 0].min(), speeds.max()
        ax.set_ylim(low / 3.0, high * 3.0)
    return ax


def plot_curves(history: FlowRecorder, ax: Any = None, *, hidden_only: bool = True) -> Any:
    """Nielsen's speed-of-learning figure: s_l over training, one line per layer, log y axis."""
    if not history.reports:
        raise ValueError("plot_curves: the history has no records yet")
    ax = _new_axes(ax, (6.4, 4.2))
    speeds = history.hidden_speeds if hidden_only else history.speeds
    roles = history.roles[: speeds.shape[1]]
    x, unit = history.x_values
    for j, role in enumerate(roles):
        values = np.where(speeds[:, j] > 0, speeds[:, j], np.nan)
        ax.plot(x, values, label=role, linewidth=1.4)
    ax.set_yscale("log")
    ax.set_xlabel(f"{unit}s of training" if unit == "step" else "epoch")
    ax.set_ylabel("speed of learning  ||dC/db||")
    ax.set_title("speed of learning per layer", fontsize=10)
    ax.legend(fontsize=9)
    ax.grid(True, which="major", alpha=0.3)
    return ax


def save_figure(ax_or_figure: Any, path: str | Path, *, dpi: int = 120,
                close: bool = True) -> Path:
    """Write the figure of ``ax_or_figure`` (PNG, SVG, PDF from the suffix); close it."""
    figure = getattr(ax_or_figure, "figure", ax_or_figure)
    path = Path(path)
    with replacing(path) as temporary:  # whole or not at all
        figure.savefig(temporary, dpi=dpi, format=path.suffix.lstrip(".") or None)
    if close:
        import matplotlib.pyplot as plt

        plt.close(figure)
    return path
