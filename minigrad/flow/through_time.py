r"""The gradient-flow report through time: one row per time step of an unrolled recurrent cell.

    report = flow_through_time(cell, xs, y, readout=nn.Sequential(nn.Linear(8, 1), nn.Sigmoid()))

The cell (an ``nn.RNNCell`` or ``nn.LSTMCell``) is unrolled over ``xs`` (T, N, n_in) from zero
states, ``readout`` maps the last hidden state h_T to the output, and the cost compares it with
``y``; one backward pass follows. Time steps take the place of layers (Hochreiter 1991): the
recurrent product dC/dh_(t-1) = (dC/dh_t * f'(z_t)) W_hh is the chapter's product, with
diag(f'(z_t)) W_hh^T one factor per step. Each row is a :class:`~minigrad.flow.report.LayerFlow`,
so the table, the CSV and ``viz.draw_layers`` read it as they read layers:

- speed of learning at step t: s_t = ||sum over the batch of dC/dz_t|| = the size of step t's
  contribution to dC/db_hh (z_t the step's pre-activation; an LSTM's four gates together),
  Nielsen's measure with time in place of depth; ``role`` "t=1" ... "t=T", T the last step,
  nearest the cost;
- ||dC/dW_hh|| of step t alone (delta_t^T h_(t-1)), ||W_hh||, and the gain s_t / s_(t+1);
- the hidden state h_t: its mean, std and saturation, and (an RNNCell) the mean of f'(z_t).

``||dC/dh_t||`` of every step is in :attr:`TimeFlow.state_gradients`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from minigrad.engine import topological_order
from minigrad.flow.figures import speed_of_learning
from minigrad.flow.report import FlowReport, LayerFlow, layer_gains
from minigrad.names import ACTIVATIONS, gain_label, ratio_text
from minigrad.nn.losses import loss_function
from minigrad.nn.module import Module
from minigrad.nn.recurrent import LSTMCell, RNNCell
from minigrad.tensor import Tensor

__all__ = ["flow_through_time", "TimeFlow"]


@dataclass
class TimeFlow(FlowReport):
    """A FlowReport with one row per time step (``layers[t - 1]`` is step t), and
    ``state_gradients[t - 1]`` = ||dC/dh_t|| (the hidden state's gradient, summed over the
    batch's examples before the norm is taken, as the speed is)."""

    state_gradients: list[float] | None = None

    @property
    def hidden_speeds(self) -> list[float]:
        """s_t of every step: in time no step is the output layer."""
        return self.speeds

    def summary(self) -> str:
        """One sentence: how much slower step 1 learns than step T, and the typical gain."""
        speeds = self.speeds
        if len(speeds) < 2 or speeds[0] == 0 or speeds[-1] == 0:
            return f"{len(speeds)} time step(s); no ratio to give"
        ratio = speeds[-1] / speeds[0]
        gain = (speeds[0] / speeds[-1]) ** (1 / (len(speeds) - 1))
        way = "shrinks" if gain < 1 else "grows"
        pace = "slower" if ratio >= 1 else "faster"
        return (f"step 1 learns {_times(max(ratio, 1 / ratio))} {pace} than step {len(speeds)}, "
                f"the last; the gradient {way} {ratio_text(max(gain, 1 / gain))}x per step on "
                f"its way back in time ({gain_label(gain)})")


def flow_through_time(cell: RNNCell | LSTMCell, xs: Any, y: Any,
                      readout: Module | Callable[[Tensor], Tensor] | None = None,
                      loss: str | Callable = "cross_entropy") -> TimeFlow:
    """Per-time-step speeds of learning of ``cell`` unrolled over ``xs`` (T, N, n_in).

    ``readout`` (default: none, h_T itself) turns h_T into the output the ``loss`` compares
    with ``y`` (as in :func:`~minigrad.flow.gradient_flow`). The parameters' ``.grad`` are put
    back as they were.
    """
    if not isinstance(cell, (RNNCell, LSTMCell)):
        raise TypeError(f"flow_through_time: expected an nn.RNNCell or nn.LSTMCell, got "
                        f"{type(cell).__name__}")
    data = np.asarray(xs.data if isinstance(xs, Tensor) else xs, dtype=cell.weight_hh.dtype)
    if data.ndim != 3 or data.shape[2] != cell.n_in or data.shape[0] < 1:
        raise ValueError(f"flow_through_time: xs must have shape (T, N, {cell.n_in}), got "
                         f"{data.shape}")
    loss_name, loss_fn = loss_function(loss, "flow_through_time")
    params = cell.parameters() + (readout.parameters() if isinstance(readout, Module) else [])
    saved = [p.grad for p in params]
    try:
        hs, state = [], None
        for x_t in data:  # (N, n_in) per step
            state = cell(Tensor(x_t), state)
            hs.append(state[0] if isinstance(state, tuple) else state)
        output = hs[-1] if readout is None else readout(hs[-1])
        cost = loss_fn(output, np.asarray(y.data if isinstance(y, Tensor) else y))
        for p in params:
            p.grad = None
        # the recurrent products, one per step in forward order: z_hh,t = h_(t-1) W_hh^T + b_hh
        steps = [n for n in topological_order(output)
                 if n.op == "linear" and len(n.parents) > 1 and n.parents[1] is cell.weight_hh]
        cost.backward()
        rows, state_gradients = _rows(cell, steps, hs), []
        for h in hs:
            grad = np.zeros_like(h.data) if h.grad is None else h.grad
            state_gradients.append(float(np.linalg.norm(grad.sum(axis=0))))
    finally:
        for p, grad in zip(params, saved):
            p.grad = grad
    return TimeFlow(rows, loss=loss_name, loss_value=float(cost.data), batch_size=data.shape[1],
                    state_gradients=state_gradients)


def _rows(cell: RNNCell | LSTMCell, steps: list[Any], hs: list[Tensor]) -> list[LayerFlow]:
    lstm = isinstance(cell, LSTMCell)
    activation = "lstm" if lstm else cell.activation
    rule = None if lstm else ACTIVATIONS.get(cell.activation)
    w_hh = cell.weight_hh.data
    figures = []
    for z_hh, h in zip(steps, hs):
        delta = np.zeros_like(z_hh.data) if z_hh.grad is None else z_hh.grad  # dC/dz_t
        dw = delta.T @ z_hh.parents[0].data  # step t's part of dC/dW_hh
        a = h.data
        mean_derivative = None
        if not lstm:
            local = h.local_derivatives()[0]  # f'(z_t), what the engine multiplies by
            mean_derivative = float(np.mean(local)) if np.shape(local) == a.shape else None
        figures.append(dict(
            speed=speed_of_learning(delta), weight_grad_norm=float(np.linalg.norm(dw)),
            weight_norm=float(np.linalg.norm(w_hh)), act_mean=float(a.mean()),
            act_std=float(a.std()), saturation=None if rule is None else rule.saturation(a),
            mean_dsigma=mean_derivative,
            grad_data=float(dw.std()) / float(w_hh.std()) if w_hh.std() > 0 else None,
            update_data=None, frozen=False))
    speeds = [f["speed"] for f in figures]
    rows = []
    for t, (f, gain) in enumerate(zip(figures, layer_gains(speeds)), 1):
        f.update(index=t, role=f"t={t}", name=f"step {t}", n_in=w_hh.shape[1],
                 n_out=w_hh.shape[0], activation=activation, residual=False, gain=gain)
        rows.append(LayerFlow(**f, verdict=_verdict(t, speeds)))
    return rows


def _times(ratio: float) -> str:
    """'96x', '1.2e+08x': a ratio for a sentence (exponent form past 10,000)."""
    return f"{ratio:.2g}x" if ratio >= 1e4 else f"{ratio_text(ratio)}x"


def _verdict(t: int, speeds: list[float]) -> str:
    """Step t against the last step T (nearest the cost)."""
    last = speeds[-1]
    if t == len(speeds):
        return "the last step, nearest the cost"
    if speeds[t - 1] == 0 or last == 0:
        return "no gradient reaches this step"
    ratio = last / speeds[t - 1]
    if 1 / 1.5 <= ratio <= 1.5:
        return f"learns about as fast as step {len(speeds)}"
    if ratio > 1:
        return f"learns {_times(ratio)} slower than step {len(speeds)}"
    return f"learns {_times(1 / ratio)} faster than step {len(speeds)}"
