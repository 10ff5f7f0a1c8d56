r"""The figures of one layer from plain numpy arrays, whatever engine measured them.

The engine-neutral core of the measurement: :mod:`minigrad.flow.measure` (minigrad's graphs)
and :mod:`minigrad.adapters.torch` (PyTorch's) each find a layer's arrays their own way and
hand them here, so both fill the report with the same numbers (docs/glossary.md's words).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad.names import ACTIVATIONS

__all__ = ["layer_figures", "speed_of_learning"]


def speed_of_learning(delta: np.ndarray) -> float:
    """Nielsen's s_l = || sum over the batch of dC/dz^l || (= ||dC/db^l|| for a batch-mean cost).

    ``delta``: dC/dz^l of shape (N, n_out), or (n_out,) for a single example.
    """
    delta = np.asarray(delta)
    return float(np.linalg.norm(delta.sum(axis=0) if delta.ndim == 2 else delta))


def layer_figures(*, delta: np.ndarray, x: np.ndarray, w: np.ndarray, dw: np.ndarray | None,
                  a: np.ndarray, activation: str, mean_derivative: float | None,
                  lr: float | None, frozen: bool) -> dict[str, Any]:
    """The figures of one layer from numpy arrays, whatever engine made them (this module's
    measurement and :mod:`minigrad.adapters.torch` both use it).

    delta: dC/dz^l, (N, n_out) (more leading axes: every position counts); x: its input
    a^{l-1}; w: (n_out, n_in); dw: dC/dW^l, or None for this call's own part delta^T x (a
    Linear called twice); a: its activation's output; ``mean_derivative``: the mean local
    derivative of the activation, as the engine describes it.
    """
    n_out, n_in = w.shape
    delta = delta.reshape(-1, n_out)  # (N, n_out)
    if dw is None:
        dw = delta.T @ x.reshape(-1, n_in)
    dw_norm, w_norm, w_std = float(np.linalg.norm(dw)), float(np.linalg.norm(w)), float(w.std())
    update = None
    if lr is not None and dw_norm > 0 and w_norm > 0 and not frozen:
        update = math.log10(lr * dw_norm / w_norm)
    table = ACTIVATIONS.get(activation)
    if table is not None:
        saturation = table.saturation(a)
    else:
        saturation = 0.0 if activation == "identity" else None
    return dict(n_in=n_in, n_out=n_out, activation=activation, frozen=frozen,
                speed=speed_of_learning(delta), weight_grad_norm=dw_norm, weight_norm=w_norm,
                act_mean=float(a.mean()), act_std=float(a.std()), saturation=saturation,
                mean_dsigma=mean_derivative,
                grad_data=float(dw.std()) / w_std if w_std > 0 else None, update_data=update)
