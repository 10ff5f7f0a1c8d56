r"""The gradient-flow report: plain data, one row per layer, as a table, CSV or JSON.

A :class:`FlowReport` does not know which engine filled it: :func:`minigrad.flow.gradient_flow`
fills it for a minigrad model, and anything that can measure a layer's bias gradient can fill
the same rows. Pictures, tables and files only read it.

The words, as in docs/glossary.md:

- layer l: one Linear map z^l = w^l a^{l-1} + b^l and the activation a^l applied to it,
  counted from the input (l = 1 ... L; L is the output layer, the others are hidden);
- speed of learning s_l = ||dC/db^l||, Nielsen's measure (C the batch-mean cost);
- gain of layer l = s_l / s_{l+1}: how much the way down from layer l+1 into layer l scales
  the gradient (after / before, as every gain in minigrad). Below 1 the gradient shrinks on its
  way down (layer l learns slower than the layer above it), above 1 it grows. The output layer
  has none.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from minigrad.files import replacing, write_text
from minigrad.flow.verdict import layer_verdict, summary_sentence
from minigrad.names import gain_label

__all__ = ["LayerFlow", "FlowReport", "layer_gains", "rows_of", "FIELDS"]

# The table's columns: title and format spec (the cells are preformatted strings).
_COLUMNS = [("layer", "<8"), ("size", ">8"), ("act.", "<7"), ("speed s_l", ">9"),
            ("||dW||", ">8"), ("gain", ">6"), ("a mean", ">6"), ("a std", ">5"),
            ("sat.", ">4"), ("mean sigma'", ">11"), ("grad:data", ">9"), ("upd:data", ">8")]


@dataclass(frozen=True)
class LayerFlow:
    """The figures of one layer (one row of the report)."""

    index: int  # 1 for the first layer, L for the output layer
    role: str  # "hidden 1", "hidden 2", ..., "output"
    name: str  # where the layer is in the model: "layers.0" (a second call: "layers.0 (call 2)")
    n_in: int
    n_out: int
    activation: str  # "sigmoid", "tanh", "relu", "identity" or another op's name
    residual: bool  # inside a Residual block
    speed: float  # s_l = ||dC/db^l||, Nielsen's speed of learning
    weight_grad_norm: float  # ||dC/dW^l||
    weight_norm: float  # ||W^l||
    gain: float | None  # s_l / s_{l+1} (None for the output layer or when s_{l+1} = 0)
    act_mean: float  # mean of a^l over the batch and the units
    act_std: float
    saturation: float | None  # fraction of saturated (ReLU: zero) activations
    mean_dsigma: float | None  # mean of sigma'(z^l), the activation's local derivative
    grad_data: float | None  # std(dW) / std(W)
    update_data: float | None  # log10(||lr dW|| / ||W||), when an lr was given (not frozen)
    verdict: str
    frozen: bool = False  # its weight needs no gradient: the layer does not learn


FIELDS = [f.name for f in fields(LayerFlow)]
_INT_FIELDS = {"index", "n_in", "n_out"}
_STR_FIELDS = {"role", "name", "activation", "verdict"}
_BOOL_FIELDS = {"residual", "frozen"}


def layer_gains(speeds: list[float]) -> list[float | None]:
    """The gain of every layer, s_l / s_{l+1}; None for the output layer and where s_{l+1} = 0.

    The one definition, used by the report, the collapsed graph picture and the layer picture.
    """
    return [lower / upper if upper > 0 else None
            for lower, upper in zip(speeds, speeds[1:])] + [None]


def rows_of(layers: list[dict[str, Any]]) -> list[LayerFlow]:
    """The report's rows from each layer's figures, in order, whatever engine measured them:
    a dict per layer with every :class:`LayerFlow` field but ``index``, ``role``, ``gain`` and
    ``verdict``, which are added here (the gains by :func:`layer_gains`, the words by
    :func:`minigrad.flow.verdict.layer_verdict`), the same way for every engine."""
    speeds = [figures["speed"] for figures in layers]
    rows = []
    for i, (figures, gain) in enumerate(zip(layers, layer_gains(speeds))):
        figures = dict(figures, index=i + 1, gain=gain,
                       role="output" if i == len(layers) - 1 else f"hidden {i + 1}")
        rows.append(LayerFlow(**figures, verdict=layer_verdict(i, speeds, figures)))
    return rows


@dataclass
class FlowReport:
    """Per-layer gradient-flow figures for one batch; ``layers[-1]`` is the output layer."""

    layers: list[LayerFlow]
    loss: str = "cross_entropy"
    loss_value: float | None = None
    batch_size: int | None = None
    lr: float | None = None

    @property
    def speeds(self) -> list[float]:
        """s_l for every layer in order, the output layer last."""
        return [layer.speed for layer in self.layers]

    @property
    def gains(self) -> list[float | None]:
        """The gain of every layer, s_l / s_{l+1} (None for the output layer)."""
        return [layer.gain for layer in self.layers]

    @property
    def hidden_speeds(self) -> list[float]:
        """s_l of the hidden layers only (the book's figures leave out the output layer)."""
        return self.speeds[:-1]

    @property
    def last_over_first(self) -> float | None:
        """s of the last hidden layer / s of the first (None with fewer than 2 hidden layers)."""
        hidden = self.hidden_speeds
        if len(hidden) < 2 or hidden[0] == 0:
            return None
        return hidden[-1] / hidden[0]

    def summary(self) -> str:
        """One sentence: how much slower the first hidden layer learns, and the typical gain."""
        return summary_sentence(self.hidden_speeds)

    def table(self) -> str:
        """A text table for the terminal: one line per layer, its speed of learning included,
        then each layer's verdict in words and the summary."""
        header = "  ".join(format(title, spec) for title, spec in _COLUMNS)
        lines = [header, "-" * len(header)]
        for row in self.layers:
            cells = (row.role, f"{row.n_in}->{row.n_out}", row.activation[:8],
                     f"{row.speed:.4g}", f"{row.weight_grad_norm:.3g}", gain_label(row.gain),
                     f"{row.act_mean:.3f}", f"{row.act_std:.3f}", _percent(row.saturation),
                     _number(row.mean_dsigma, ".3f"), _number(row.grad_data, ".3g"),
                     _number(row.update_data, ".2f"))
            lines.append("  ".join(format(cell, spec) for cell, (_, spec) in zip(cells, _COLUMNS)))
        lines.append("")
        width = max(len(row.role) for row in self.layers)
        lines += [f"  {row.role:<{width}}  {row.verdict}" for row in self.layers]
        lines.append(self.summary())
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def __getattr__(self, name: str) -> Any:  # only for names the report does not have
        if name in ("plot", "draw"):
            function = {"plot": "plot_speeds", "draw": "draw_layers"}[name]
            raise AttributeError(f"FlowReport.{name}() is gone: the report is plain data, and "
                                 f"the pictures draw it: from minigrad.viz import {function}; "
                                 f"{function}(report)")
        raise AttributeError(f"'FlowReport' object has no attribute {name!r}")

    # ---- export -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain Python data (JSON-ready): the report's settings and one dict per layer."""
        return {"loss": self.loss, "loss_value": self.loss_value, "batch_size": self.batch_size,
                "lr": self.lr, "speeds": self.speeds,
                "layers": [asdict(row) for row in self.layers]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FlowReport:
        """The report that ``to_dict`` described."""
        layers = _with_gains([LayerFlow(**row) for row in data["layers"]])
        return cls(layers=layers, loss=data["loss"], loss_value=data["loss_value"],
                   batch_size=data["batch_size"], lr=data["lr"])

    def to_json(self, path: str | Path | None = None) -> str:
        """The report as JSON text; written to ``path`` too when one is given."""
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False)
        if path is not None:
            write_text(path, text + "\n")
        return text

    @classmethod
    def from_json(cls, path: str | Path) -> FlowReport:
        """Read a report written by ``to_json``."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def to_csv(self, path: str | Path) -> Path:
        """One CSV row per layer, one column per field of :class:`LayerFlow`; returns the path."""
        with replacing(path) as temporary, temporary.open("w", newline="",
                                                          encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(FIELDS)
            for row in self.layers:
                writer.writerow(csv_cells(row))
        return Path(path)

    @classmethod
    def from_csv(cls, path: str | Path) -> FlowReport:
        """Read the layer rows written by ``to_csv`` (the loss and batch size are not in it)."""
        with Path(path).open(newline="", encoding="utf-8") as file:
            rows = list(csv.DictReader(file))
        return cls(layers=_with_gains([_row_from_csv(row) for row in rows]), loss="",
                   loss_value=None)


def _with_gains(layers: list[LayerFlow]) -> list[LayerFlow]:
    """The rows with each gain recomputed from the speeds (:func:`layer_gains`): a file written
    before gain had its one meaning (it held s_(l+1)/s_l) reads back in today's meaning."""
    gains = layer_gains([row.speed for row in layers])
    return [replace(row, gain=gain) for row, gain in zip(layers, gains)]


def csv_cells(row: LayerFlow) -> list[Any]:
    """The row's fields as CSV cells: None as an empty cell, floats by repr (exact round trip)."""
    return [csv_cell(getattr(row, name)) for name in FIELDS]


def csv_cell(value: Any) -> Any:
    """None as an empty cell; floats by repr (exact round trip)."""
    return "" if value is None else repr(value) if isinstance(value, float) else value


def _row_from_csv(row: dict[str, str]) -> LayerFlow:
    """A LayerFlow from the text cells of one CSV row."""
    values: dict[str, Any] = {}
    for name in FIELDS:
        if name not in row:  # a file written before the field existed: its default
            continue
        cell = row[name]
        if name in _STR_FIELDS:
            values[name] = cell
        elif name in _INT_FIELDS:
            values[name] = int(cell)
        elif name in _BOOL_FIELDS:
            values[name] = cell == "True"
        else:
            values[name] = None if cell == "" else float(cell)
    return LayerFlow(**values)


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"


def _number(value: float | None, spec: str) -> str:
    return "" if value is None else format(value, spec)
