r"""Per-layer gradient flow: how fast each layer learns, and where the gradient shrinks or grows.

    from minigrad.flow import gradient_flow
    report = gradient_flow(model, x, y)        # one forward + one backward on the batch
    print(report.table())                      # one line per layer, with its speed of learning
    report.speeds                              # [s_1, ..., s_L], the output layer last

What is measured, for each Linear layer l of a Sequential (Nielsen's notation, batch of N):

- speed of learning  s_l = || (1/N) sum_x dC_x/db^l ||_2, exactly Nielsen's measure: with the
  batch-mean loss C it is || dC/db^l ||, the sum over the batch of delta^l = dC/dz^l;
- ||dC/dW^l|| (Frobenius) and the gain s_{l+1}/s_l (above 1: the gradient shrinks on its way
  down into layer l; below 1: it grows);
- the activation a^l = sigma(z^l): its mean, std and saturation fraction, and the mean of
  sigma'(z^l) (the local derivative the engine multiplies by). Saturation thresholds:
  sigmoid a < 0.01 or a > 0.99 (|z| > 4.6, sigma'(z) < 0.0099); tanh |a| > 0.99
  (|z| > 2.65); ReLU: the fraction of activations that are exactly 0 (dead for that input);
  any other activation: not measured (None);
- grad:data = std(dW)/std(W), and update:data = log10(||lr dW|| / ||W||) when an ``lr`` is
  given (healthy near -3; the L2 term of the update is not included);
- a verdict in plain words, built from the rules in :func:`_verdict`.

The layers run one by one and keep their intermediate Tensors (inputs, z, a); after the one
backward pass each z holds delta^l in ``z.grad``. The user's parameter gradients are put back
afterwards. :class:`FlowRecorder` takes the same measurement during training (a ``fit``
callback), and :func:`speed_of_learning_curves` runs the book's 500-epoch experiment.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from minigrad.nn.layers import Linear, Residual
from minigrad.nn.losses import loss_function
from minigrad.nn.module import Module, Sequential
from minigrad.optim import SGD, weight_decay_groups
from minigrad.tensor import Tensor

__all__ = [
    "LayerFlow",
    "FlowReport",
    "FlowRecorder",
    "gradient_flow",
    "speed_of_learning_curves",
    "linear_layers",
    "speed_of_learning",
    "gain_label",
]

SIGMOID_SATURATED = (0.01, 0.99)  # a below / above these counts as saturated
TANH_SATURATED = 0.99  # |a| above this counts as saturated
SATURATED_FRACTION = 0.5  # a verdict says "saturated" from this fraction of activations on
RELU_OFF_FRACTION = 0.9  # ... and "mostly off" for ReLU (half off is normal) from this one
SLOWER = 2.0  # a verdict compares layers when their speeds differ by this factor or more
UPDATE_DATA_RANGE = (-4.0, -2.0)  # update:data (log10) outside this range gets a word

# The table's columns: title and format spec (the cells are preformatted strings).
_COLUMNS = [("layer", "<8"), ("size", ">8"), ("act.", "<7"), ("speed s_l", ">9"),
            ("||dW||", ">8"), ("gain", ">6"), ("a mean", ">6"), ("a std", ">5"),
            ("sat.", ">4"), ("mean sigma'", ">11"), ("grad:data", ">9"), ("upd:data", ">8")]


@dataclass(frozen=True)
class LayerFlow:
    """The figures of one Linear layer (one row of the report)."""

    index: int  # 1 for the first Linear layer, L for the output layer
    role: str  # "hidden 1", "hidden 2", ..., "output"
    name: str  # the module's path, as in named_parameters: "layers.0"
    n_in: int
    n_out: int
    activation: str  # "sigmoid", "tanh", "relu", "identity" or the module's class name
    residual: bool  # inside a Residual block
    speed: float  # s_l = ||dC/db^l||, Nielsen's speed of learning
    weight_grad_norm: float  # ||dC/dW^l||
    weight_norm: float  # ||W^l||
    gain: float | None  # s_{l+1} / s_l (None for the output layer or when s_l = 0)
    act_mean: float  # mean of a^l over the batch and the units
    act_std: float
    saturation: float | None  # fraction of saturated (ReLU: zero) activations
    mean_dsigma: float | None  # mean of sigma'(z^l)
    grad_data: float | None  # std(dW) / std(W)
    update_data: float | None  # log10(||lr dW|| / ||W||), when an lr was given
    verdict: str


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
        """s_l for every Linear layer in order, the output layer last."""
        return [layer.speed for layer in self.layers]

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
        return _summary(self.layers)

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

    # ---- export -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain Python data (JSON-ready): the report's settings and one dict per layer."""
        return {"loss": self.loss, "loss_value": self.loss_value, "batch_size": self.batch_size,
                "lr": self.lr, "speeds": self.speeds,
                "layers": [asdict(row) for row in self.layers]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FlowReport:
        """The report that ``to_dict`` described."""
        return cls(layers=[LayerFlow(**row) for row in data["layers"]], loss=data["loss"],
                   loss_value=data["loss_value"], batch_size=data["batch_size"], lr=data["lr"])

    def to_json(self, path: str | Path | None = None) -> str:
        """The report as JSON text; written to ``path`` too when one is given."""
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False)
        if path is not None:
            _write_text(Path(path), text + "\n")
        return text

    @classmethod
    def from_json(cls, path: str | Path) -> FlowReport:
        """Read a report written by ``to_json``."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def to_csv(self, path: str | Path) -> Path:
        """One CSV row per layer, one column per field of :class:`LayerFlow`; returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(_FIELDS)
            for row in self.layers:
                writer.writerow(_csv_cell(getattr(row, name)) for name in _FIELDS)
        return path

    @classmethod
    def from_csv(cls, path: str | Path) -> FlowReport:
        """Read the layer rows written by ``to_csv`` (the loss and batch size are not in it)."""
        with Path(path).open(newline="", encoding="utf-8") as file:
            rows = list(csv.DictReader(file))
        return cls(layers=[_row_from_csv(row) for row in rows], loss="", loss_value=None)

    # ---- pictures -----------------------------------------------------------------------
    def plot(self, ax: Any = None) -> Any:
        """Bars of s_l per layer on a log scale (matplotlib); returns the Axes."""
        from minigrad.viz.plots import plot_speeds

        return plot_speeds(self, ax=ax)

    def draw(self) -> Any:
        """One graphviz node per layer with its speed of learning (see ``viz.layers``)."""
        from minigrad.viz.layers import draw_layers

        return draw_layers(self)


# ---- the measurement ------------------------------------------------------------------------
@dataclass
class _Probe:
    """The Tensors one Linear layer produced in the forward pass, kept for the report."""

    name: str
    linear: Linear
    a_in: Tensor  # a^{l-1}, (N, n_in)
    z: Tensor  # z^l = a^{l-1} W^T + b, (N, n_out); after backward z.grad is delta^l / N
    residual: bool
    a: Tensor | None = None  # a^l = sigma(z^l), when an activation module follows the Linear
    activation: str = "identity"


def _run_layers(module: Module, a: Tensor, probes: list[_Probe], name: str,
                residual: bool = False) -> Tensor:
    """Forward ``a`` through ``module`` one layer at a time, keeping each layer's Tensors."""
    if isinstance(module, Linear):
        z = module(a)
        probes.append(_Probe(name or "linear", module, a, z, residual))
        return z
    if isinstance(module, Sequential):
        for i, child in enumerate(module.layers):
            a = _run_layers(child, a, probes, _join(name, f"layers.{i}"), residual)
        return a
    if isinstance(module, Residual):
        return a + _run_layers(module.inner, a, probes, _join(name, "inner"), True)
    if module.parameters():
        raise TypeError(f"gradient_flow: cannot look inside {type(module).__name__} at "
                        f"{name or 'the model'!r}: build the model from Sequential, Linear, "
                        "activations (Sigmoid, Tanh, ReLU) and Residual")
    out = module(a)
    last = probes[-1] if probes else None
    if last is not None and last.a is None and last.z is a:  # the activation of that layer
        last.a = out
        last.activation = type(module).__name__.lower()  # "sigmoid", "tanh", "relu"
    return out


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def linear_layers(model: Module) -> list[tuple[str, Linear]]:
    """(name, Linear) for every Linear layer of ``model`` in forward order."""
    found: list[tuple[str, Linear]] = []
    stack: list[tuple[str, Module]] = [("", model)]
    while stack:  # depth first, children pushed in reverse so they pop in order
        name, module = stack.pop()
        if isinstance(module, Linear):
            found.append((name or "linear", module))
        elif isinstance(module, Sequential):
            stack += [(_join(name, f"layers.{i}"), child)
                      for i, child in reversed(list(enumerate(module.layers)))]
        elif isinstance(module, Residual):
            stack.append((_join(name, "inner"), module.inner))
    return found


def _inputs(model: Module, x: Any, y: Any) -> tuple[Tensor, Any]:
    """The batch as a Tensor that needs no gradient (model's dtype) and the targets' data."""
    layers = linear_layers(model)
    if not layers:
        raise TypeError(f"gradient_flow: {type(model).__name__} has no Linear layer to measure")
    x_data = np.asarray(x.data if isinstance(x, Tensor) else x)
    y_data = np.asarray(y.data if isinstance(y, Tensor) else y)
    if x_data.ndim != 2 or len(x_data) == 0:
        raise ValueError(f"gradient_flow: x must be a non-empty batch (N, n_in), got shape "
                         f"{x_data.shape}")
    if len(y_data) != len(x_data):
        raise ValueError(f"gradient_flow: x has {len(x_data)} examples but y has "
                         f"{len(y_data)}")
    return Tensor(x_data, dtype=layers[0][1].weight.dtype), y_data


def _measure(model: Module, x: Any, y: Any, loss: str | Callable, lr: float | None
             ) -> FlowReport:
    """Forward + one backward on the batch; leaves this batch's gradients in the parameters."""
    loss_name, loss_fn = loss_function(loss, "gradient_flow")
    inputs, targets = _inputs(model, x, y)
    probes: list[_Probe] = []
    output = _run_layers(model, inputs, probes, "")
    cost = loss_fn(output, targets)
    for p in model.parameters():
        p.grad = None
    cost.backward()  # the only backward pass: every z^l now holds dC/dz^l in z.grad
    rows = _layer_rows(probes, lr)
    return FlowReport(rows, loss=loss_name, loss_value=float(cost.data),
                      batch_size=len(inputs), lr=lr)


def gradient_flow(model: Module, x: Any, y: Any, loss: str | Callable = "cross_entropy", *,
                  lr: float | None = None) -> FlowReport:
    """Per-layer speeds of learning and the figures around them for one batch.

    ``x``: (N, n_in) array or Tensor; ``y``: integer labels (N,) or targets (N, n_out);
    ``loss``: "cross_entropy" (sigmoid outputs, the book's cost), "quadratic",
    "softmax_cross_entropy" or a function ``loss(a, y) -> Tensor``; ``lr`` adds update:data.
    Runs one forward and one backward pass; the parameters' ``.grad`` are left as they were.
    """
    params = model.parameters()
    saved = [p.grad for p in params]
    try:
        return _measure(model, x, y, loss, lr)
    finally:
        for p, grad in zip(params, saved):
            p.grad = grad


def _layer_rows(probes: list[_Probe], lr: float | None) -> list[LayerFlow]:
    """The report's rows, from the Tensors of the forward pass and the gradients of backward."""
    figures = [_layer_figures(probe, lr) for probe in probes]
    speeds = [f["speed"] for f in figures]
    n_hidden = len(probes) - 1
    rows = []
    for i, (probe, f) in enumerate(zip(probes, figures)):
        gain = speeds[i + 1] / speeds[i] if i < n_hidden and speeds[i] > 0 else None
        role = "output" if i == n_hidden else f"hidden {i + 1}"
        weight = probe.linear.weight
        partial = dict(index=i + 1, role=role, name=probe.name, n_in=weight.shape[1],
                       n_out=weight.shape[0], activation=probe.activation,
                       residual=probe.residual, gain=gain, **f)
        rows.append(LayerFlow(**partial, verdict=_verdict(i, speeds, partial)))
    return rows


def speed_of_learning(delta: np.ndarray) -> float:
    """Nielsen's s_l = || sum over the batch of dC/dz^l || (= ||dC/db^l|| for a batch-mean cost).

    ``delta``: dC/dz^l of shape (N, n_out), or (n_out,) for a single example.
    """
    delta = np.asarray(delta)
    return float(np.linalg.norm(delta.sum(axis=0) if delta.ndim == 2 else delta))


def _layer_figures(probe: _Probe, lr: float | None) -> dict[str, Any]:
    """The numbers of one layer: speed, norms, activation statistics, ratios."""
    z = probe.z
    delta = z.grad  # dC/dz^l, (N, n_out): the per-example deltas divided by N
    if delta is None:  # nothing below needed a gradient (a frozen layer): none flows here
        delta = np.zeros_like(z.data)
    speed = speed_of_learning(delta)
    w = probe.linear.weight
    dw = w.grad if w.grad is not None else delta.T @ probe.a_in.data  # (n_out, n_in)
    dw_norm, w_norm = float(np.linalg.norm(dw)), float(np.linalg.norm(w.data))
    w_std = float(w.data.std())
    a = probe.a if probe.a is not None else z
    update = None
    if lr is not None and dw_norm > 0 and w_norm > 0:
        update = math.log10(lr * dw_norm / w_norm)
    return dict(speed=speed, weight_grad_norm=dw_norm, weight_norm=w_norm,
                act_mean=float(a.data.mean()), act_std=float(a.data.std()),
                saturation=_saturation(probe.activation, a.data),
                mean_dsigma=_mean_derivative(probe),
                grad_data=float(dw.std()) / w_std if w_std > 0 else None,
                update_data=update)


def _saturation(activation: str, a: np.ndarray) -> float | None:
    """The fraction of saturated activations (ReLU: of zeros); None when not defined."""
    if activation == "sigmoid":
        low, high = SIGMOID_SATURATED
        return float(((a < low) | (a > high)).mean())
    if activation == "tanh":
        return float((np.abs(a) > TANH_SATURATED).mean())
    if activation == "relu":
        return float((a == 0).mean())
    if activation == "identity":
        return 0.0
    return None


def _mean_derivative(probe: _Probe) -> float | None:
    """Mean of sigma'(z^l): the local derivative the activation's node multiplies by."""
    a = probe.a
    if a is None:
        return 1.0  # no activation: a = z
    if a.parents == (probe.z,):
        local = a.local_derivatives()[0]
        if local is not None and np.shape(local) == probe.z.shape:
            return float(np.mean(local))
    values = a.data  # the graph was not recorded (frozen layer): from the activation's formula
    formulas = {"sigmoid": lambda: values * (1.0 - values), "tanh": lambda: 1.0 - values**2,
                "relu": lambda: (values > 0).astype(values.dtype)}
    return float(np.mean(formulas[probe.activation]())) if probe.activation in formulas else None


# ---- the words ------------------------------------------------------------------------------
def _verdict(i: int, speeds: list[float], f: dict[str, Any]) -> str:
    """The plain-words verdict of layer i (0-based) from the speeds of all layers.

    Rules: a zero speed says so and nothing else; a hidden layer is compared with the last
    hidden layer when their speeds differ by ``SLOWER`` (2x) or more; the change of speed from
    the layer above is named when it is 2x or more; saturation is named from
    ``SATURATED_FRACTION`` (50%) of activations on; update:data outside ``UPDATE_DATA_RANGE``.
    """
    n_hidden = len(speeds) - 1
    speed = speeds[i]
    if speed == 0:
        return "no gradient reaches this layer"
    words: list[str] = []
    if i == n_hidden:
        words.append("output layer")
    elif n_hidden == 1:
        words.append("the only hidden layer")
    elif i == n_hidden - 1:
        words.append("last hidden layer")
    else:
        ratio = speeds[n_hidden - 1] / speed
        if ratio >= SLOWER:
            words.append(f"learns {_ratio(ratio)}x slower than the last hidden layer")
        elif ratio <= 1 / SLOWER:
            words.append(f"learns {_ratio(1 / ratio)}x faster than the last hidden layer")
        else:
            words.append("learns about as fast as the last hidden layer")
    if i < n_hidden and i + 1 != n_hidden - 1 and speeds[i + 1] > 0:  # (vs the last: said)
        above = "the output layer" if i + 1 == n_hidden else f"layer {i + 2}"
        down = speed / speeds[i + 1]  # what the way down from the layer above multiplied by
        if down >= SLOWER:
            words.append(f"gradient grows x{_ratio(down)} from {above}")
        elif down <= 1 / SLOWER:
            words.append(f"gradient shrinks {_ratio(1 / down)}x from {above}")
    saturation = f["saturation"]
    if f["activation"] == "relu":  # about half the units are off in a healthy ReLU layer
        if saturation is not None and saturation >= RELU_OFF_FRACTION:
            words.append(f"mostly off: {saturation:.0%} of activations are 0")
    elif saturation is not None and saturation >= SATURATED_FRACTION:
        words.append(f"saturated: {saturation:.0%} of activations")
    update = f["update_data"]
    if update is not None and update < UPDATE_DATA_RANGE[0]:
        words.append(f"updates tiny (update:data 10^{update:.1f})")
    elif update is not None and update > UPDATE_DATA_RANGE[1]:
        words.append(f"updates large (update:data 10^{update:.1f})")
    return "; ".join(words)


def _summary(layers: list[LayerFlow]) -> str:
    """The report in one sentence."""
    hidden = [row.speed for row in layers[:-1]]
    if len(hidden) < 2:
        return ("one hidden layer" if hidden else "no hidden layer") + ": nothing to compare"
    if hidden[0] == 0:
        return "no gradient reaches the first hidden layer"
    ratio = hidden[-1] / hidden[0]
    per_layer = ratio ** (1.0 / (len(hidden) - 1))  # geometric mean of the hidden gains
    if ratio >= 1:
        first = f"the first hidden layer learns {_ratio(ratio)}x slower than the last"
    else:
        first = f"the first hidden layer learns {_ratio(1 / ratio)}x faster than the last"
    if per_layer >= 1:
        return f"{first}; the gradient shrinks {_ratio(per_layer)}x per layer on its way down"
    return f"{first}; the gradient grows x{_ratio(1 / per_layer)} per layer on its way down"


def _ratio(r: float) -> str:
    """A ratio for a sentence: 95.8 -> '96', 4.93 -> '4.9', 4.0 -> '4.0', 0.213 -> '0.21'."""
    return f"{r:.0f}" if r >= 9.95 else f"{r:.1f}" if r >= 0.995 else f"{r:.2g}"


def gain_label(gain: float | None) -> str:
    """A gain as an edge label or a table cell: 'x4.9', 'x25', 'x0.21', '' for none."""
    return "" if gain is None else f"x{_ratio(gain)}" if gain >= 1 else f"x{gain:.2g}"


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"


def _number(value: float | None, spec: str) -> str:
    return "" if value is None else format(value, spec)


# ---- CSV ------------------------------------------------------------------------------------
_FIELDS = [f.name for f in fields(LayerFlow)]
_INT_FIELDS = {"index", "n_in", "n_out"}
_STR_FIELDS = {"role", "name", "activation", "verdict"}


def _csv_cell(value: Any) -> Any:
    """None as an empty cell; floats by repr (exact round trip)."""
    return "" if value is None else repr(value) if isinstance(value, float) else value


def _row_from_csv(row: dict[str, str]) -> LayerFlow:
    """A LayerFlow from the text cells of one CSV row."""
    values: dict[str, Any] = {}
    for name in _FIELDS:
        cell = row[name]
        if name in _STR_FIELDS:
            values[name] = cell
        elif name in _INT_FIELDS:
            values[name] = int(cell)
        elif name == "residual":
            values[name] = cell == "True"
        else:
            values[name] = None if cell == "" else float(cell)
    return LayerFlow(**values)


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


_vdot, _log10 = np.vdot, math.log10  # bound once: after_backward runs every step


def _offset(log_lr: float | None, weight: Tensor) -> float | None:
    """log10(lr / ||W||), or None when there is no lr or W is all zeros."""
    squared = float(_vdot(weight.data, weight.data))
    return None if log_lr is None or squared == 0 else log_lr - 0.5 * _log10(squared)


# ---- during training ------------------------------------------------------------------------
class FlowRecorder:
    """A ``fit`` callback that measures the gradient flow on a fixed batch during training.

    It measures at the start and then after every epoch (``every="epoch"``) or every ``every``
    optimiser steps, on the same batch (e.g. the book's 1,000 images), without touching the
    training gradients. In between, ``after_backward`` records update:data from the real
    mini-batch gradients, log10(lr ||dW|| / ||W||) per layer, averaged over the steps since
    the last measurement. To stay cheap (a few vdots per step), ||W|| is refreshed every
    ``weight_norm_every`` steps: it moves by about 10^update:data (0.1%) per step, so the
    stale norm is off by well under 0.01 in log10.
    """

    def __init__(self, x: Any, y: Any, every: str | int = "epoch", lr: float | None = None,
                 loss: str | Callable = "cross_entropy", weight_norm_every: int = 10) -> None:
        if every != "epoch" and (isinstance(every, bool) or not isinstance(every, int)
                                 or every < 1):
            raise ValueError(f"FlowRecorder: every must be 'epoch' or a positive number of "
                             f"steps, got {every!r}")
        loss_function(loss, "FlowRecorder")  # an unknown loss fails now, not mid-training
        self.x, self.y, self.every, self.lr, self.loss = x, y, every, lr, loss
        self.weight_norm_every = int(weight_norm_every)
        self.reports: list[FlowReport] = []
        self.epochs: list[int] = []  # epochs completed when each measurement was taken
        self.steps: list[int] = []  # optimiser steps completed at each measurement
        self.train_update_data: list[list[float | None]] = []  # per record, per layer
        self._epochs_done = self._steps_done = 0
        self._weights: list[Tensor] | None = None
        self._log_lr: list[float | None] = []  # log10 of each weight's learning rate
        self._offsets: list[float | None] = []  # log10(lr / ||W||), refreshed now and then
        self._refresh_in = 0
        self._sums: list[float] = []
        self._counts: list[int] = []

    # ---- fit's callback methods ---------------------------------------------------------
    def on_train_begin(self, model: Module, optimizer: Any = None) -> None:
        """Find the layers and learning rates, and take the measurement at epoch 0."""
        self.attach(model, optimizer)
        self.measure(model)

    def after_backward(self, step: int, model: Module, loss: Any = None,
                       optimizer: Any = None) -> None:
        """update:data of every layer from this step's gradients (before the update)."""
        if self._weights is None:
            self.attach(model, optimizer)
        if self._refresh_in <= 0:  # log10(lr / ||W||) per layer, from the current weights
            self._offsets = [_offset(log_lr, w) for w, log_lr in zip(self._weights, self._log_lr)]
            self._refresh_in = self.weight_norm_every
        self._refresh_in -= 1
        sums, counts = self._sums, self._counts
        for i, (w, offset) in enumerate(zip(self._weights, self._offsets)):
            grad = w.grad
            if grad is not None and offset is not None:
                squared = _vdot(grad, grad)  # ||dW||^2 (the gradient is contiguous: no copy)
                if squared > 0:
                    sums[i] += offset + 0.5 * _log10(squared)
                    counts[i] += 1

    def after_step(self, step: int, model: Module, optimizer: Any = None) -> None:
        """Count the step; measure when ``every`` steps have passed."""
        self._steps_done += 1
        if self.every != "epoch" and self._steps_done % self.every == 0:
            self.measure(model)

    def on_epoch_end(self, epoch: int, model: Module, metrics: Any = None) -> None:
        """Count the epoch; measure when recording per epoch."""
        self._epochs_done += 1
        if self.every == "epoch":
            self.measure(model)

    # ---- the history --------------------------------------------------------------------
    def measure(self, model: Module, *, epoch: int | None = None,
                step: int | None = None) -> FlowReport:
        """Measure now on the recorder's batch and append it to the history."""
        if self._weights is None:
            self.attach(model, None)
        report = gradient_flow(model, self.x, self.y, self.loss, lr=self.lr)
        self._append(report, epoch, step)
        return report

    def _append(self, report: FlowReport, epoch: int | None, step: int | None) -> None:
        self.reports.append(report)
        self.epochs.append(self._epochs_done if epoch is None else epoch)
        self.steps.append(self._steps_done if step is None else step)
        self.train_update_data.append(
            [total / count if count else None for total, count in zip(self._sums, self._counts)])
        self._sums = [0.0] * len(self._sums)
        self._counts = [0] * len(self._counts)

    def attach(self, model: Module, optimizer: Any) -> None:
        """Find the layers' weights and their learning rates (from ``lr`` or the optimiser)."""
        self._weights = [linear.weight for _, linear in linear_layers(model)]
        rates: dict[int, float] = {}
        for group in getattr(optimizer, "param_groups", []):
            for p in group["params"]:
                rates[id(p)] = group["lr"]
        lrs = [self.lr if self.lr is not None else rates.get(id(w)) for w in self._weights]
        self._log_lr = [math.log10(lr) if lr else None for lr in lrs]
        self._sums = [0.0] * len(self._weights)
        self._counts = [0] * len(self._weights)
        self._refresh_in = 0
        if self.lr is None and lrs and lrs[0]:
            self.lr = lrs[0]

    @property
    def speeds(self) -> np.ndarray:
        """(records, layers): s_l at each measurement, the output layer last."""
        return np.array([report.speeds for report in self.reports], dtype=float)

    @property
    def hidden_speeds(self) -> np.ndarray:
        """(records, hidden layers): what the book's speed-of-learning figures plot."""
        return self.speeds[:, :-1]

    @property
    def roles(self) -> list[str]:
        """The layers' names in the report: 'hidden 1', ..., 'output'."""
        return [row.role for row in self.reports[0].layers] if self.reports else []

    @property
    def x_values(self) -> tuple[np.ndarray, str]:
        """The training time of each record and its unit ('epoch' or 'step')."""
        if self.every == "epoch":
            return np.array(self.epochs), "epoch"
        return np.array(self.steps), "step"

    def plot(self, ax: Any = None, *, hidden_only: bool = True) -> Any:
        """Nielsen's speed-of-learning curves: one line per hidden layer, log y axis."""
        from minigrad.viz.plots import plot_curves

        return plot_curves(self, ax=ax, hidden_only=hidden_only)

    def to_csv(self, path: str | Path) -> Path:
        """One row per record and layer: epoch, step, the layer's fields, the training ratio."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(["record", "epoch", "step", *_FIELDS, "train_update_data"])
            for record, report in enumerate(self.reports):
                training = self.train_update_data[record]
                for i, row in enumerate(report.layers):
                    writer.writerow([record, self.epochs[record], self.steps[record],
                                     *(_csv_cell(getattr(row, name)) for name in _FIELDS),
                                     _csv_cell(training[i] if i < len(training) else None)])
        return path


def speed_of_learning_curves(model: Module, x: Any, y: Any, *, epochs: int = 500,
                             lr: float = 0.1, weight_decay: float = 5.0,
                             loss: str | Callable = "cross_entropy",
                             progress: bool = False) -> FlowRecorder:
    r"""The book's experiment: each epoch measure s_l, then ONE full-batch step on (x, y).

    The step is w <- (1 - lr lambda/n) w - lr dC/dw and b <- b - lr dC/db (biases not
    decayed), n = len(x), with the gradient of the measurement itself: one backward pass per
    epoch. The measured gradient leaves out the L2 term, as the book's does. Returns the
    recorder holding one record per epoch (epoch j measured before step j). Trains ``model``
    in place and clears its gradients at the end.
    """
    if epochs < 1:
        raise ValueError(f"speed_of_learning_curves: epochs must be at least 1, got {epochs}")
    recorder = FlowRecorder(x, y, every="epoch", lr=lr, loss=loss)
    recorder.attach(model, None)
    n = len(x.data if isinstance(x, Tensor) else x)
    optimizer = SGD(weight_decay_groups(model, weight_decay / n), lr=lr)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs, desc="speed of learning", unit="epoch")
    for epoch in range(epochs):
        report = _measure(model, x, y, loss, lr)  # leaves the full-batch gradient in place
        recorder._append(report, epoch, epoch)
        optimizer.step()
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    model.zero_grad()
    return recorder
