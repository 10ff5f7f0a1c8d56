r"""The gradient-flow measurement on a minigrad model: one forward, one backward, one report.

    report = gradient_flow(model, x, y)

The model runs its own ``forward`` (Sequential, Residual, a user's Module, activations called as
methods or functions: anything). The layers are then found in the recorded graph: every
``linear`` node whose weight belongs to an ``nn.Linear`` of the model is one call of that
layer, z^l; the activation applied to it (an op of :data:`minigrad.names.ACTIVATIONS`) is a^l.
A Linear used twice gives two rows, one per call. After the one backward pass each z^l holds
delta^l = dC/dz^l in ``z.grad``, and for each layer (batch of N, Nielsen's notation):

- speed of learning  s_l = || (1/N) sum_x dC_x/db^l ||_2 = || dC/db^l || for the batch-mean
  cost: the sum over the batch of delta^l;
- ||dC/dW^l|| (Frobenius; for a call of a shared layer, that call's delta^T a^{l-1}) and the
  gain s_l / s_{l+1} (:func:`~minigrad.flow.report.layer_gains`);
- the activation a^l: its mean, std and saturation fraction (the table's rule,
  :data:`minigrad.names.ACTIVATIONS`), and the mean of its local derivative sigma'(z^l), read
  from the activation node itself (``local_derivatives()``: the number the engine multiplies by);
- grad:data = std(dW)/std(W), and update:data = log10(||lr dW|| / ||W||) when an ``lr`` is
  given (healthy near -3; the L2 term of the update is not included);
- a verdict in plain words (:mod:`minigrad.flow.verdict`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from minigrad.adapters import is_torch
from minigrad.engine import Node, topological_order
from minigrad.flow.figures import layer_figures
from minigrad.flow.report import FlowReport, LayerFlow, rows_of
from minigrad.names import ACTIVATIONS, network_layers
from minigrad.nn.layers import Linear, Residual
from minigrad.nn.losses import loss_function
from minigrad.nn.module import Module
from minigrad.nn.norms import BatchNorm1d
from minigrad.tensor import Tensor

__all__ = ["gradient_flow", "linear_layers"]


def linear_layers(model: Module) -> list[tuple[str, Linear]]:
    """(name, Linear) for every Linear layer of ``model``, in definition order."""
    return [(path or "linear", module) for path, module in model.named_modules()
            if isinstance(module, Linear)]


@dataclass
class _Call:
    """One call of a Linear layer in the recorded graph."""

    name: str
    linear: Linear
    z: Node  # z^l = a^{l-1} W^T + b, (N, n_out); after backward z.grad is delta^l
    a: Node  # a^l: the activation applied to z^l, or z^l itself (no activation)
    activation: str  # the activation's op, or "identity"
    residual: bool
    shared: bool  # the layer is called more than once
    frozen: bool  # its weight needs no gradient: it does not learn


def _calls(model: Module, output: Node) -> list[_Call]:
    """The Linear calls of the graph below the model's ``output``, in the graph's order (each
    after every layer it depends on: the forward order of a chain of layers).

    The model's output, not the cost: a cost computed from z^L (the cross-entropy of a sigmoid
    output) reads past the output's own activation node, which still says what a^L is."""
    modules = list(model.named_modules())
    owner = {id(m.weight): (path or "linear", m) for path, m in modules if isinstance(m, Linear)}
    residual_paths = [path for path, m in modules if isinstance(m, Residual)]
    order = topological_order(output)
    found = [(z, a, *owner[id(z.parents[1])]) for z, a in network_layers(order)
             if id(z.parents[1]) in owner]
    uses = Counter(name for _, _, name, _ in found)
    # A BatchNorm1d right after a Linear: the Linear's bias gradient is exactly 0 (the
    # normalisation removes any shift of z), so the layer is measured after it, by the batch
    # norm's beta: s_l = ||dC/dbeta|| = ||sum over the batch of dC/dy||, and its name says so.
    betas = {id(m.bias): path for path, m in modules if isinstance(m, BatchNorm1d)}
    norm_after = {n.parents[0]: n for n in order
                  if n.op == "batch_norm" and id(n.parents[2]) in betas}
    calls: list[_Call] = []
    seen: Counter[str] = Counter()
    for z, a, name, linear in found:
        norm = norm_after.get(z) if uses[name] == 1 else None
        if norm is not None:
            a = next((n for n in order if n.parents == (norm,) and n.op in ACTIVATIONS), None)
            z, name = norm, f"{name} (s_l: dC/dbeta of {betas[id(norm.parents[2])]})"
        seen[name] += 1
        calls.append(_Call(
            name=name if seen[name] == 1 else f"{name} (call {seen[name]})",
            linear=linear, z=z, a=z if a is None else a,
            activation="identity" if a is None else a.op,
            residual=any(_inside(name, path) for path in residual_paths),
            shared=uses[name] > 1, frozen=not linear.weight.requires_grad))
    return calls


def _inside(name: str, path: str) -> bool:
    """True when the module at ``name`` sits inside the one at ``path`` ('' is the model)."""
    return path == "" or name.startswith(path + ".")


def _inputs(model: Module, x: Any, y: Any) -> tuple[Tensor, Any]:
    """The batch as a Tensor of the model's dtype and the targets' data.

    The input asks for a gradient only when some Linear is frozen (its weight needs none):
    then its layer is still recorded, and measured.
    """
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
    frozen = any(not linear.weight.requires_grad for _, linear in layers)
    return Tensor(x_data, requires_grad=frozen, dtype=layers[0][1].weight.dtype), y_data


def gradient_flow(model: Module, x: Any, y: Any, loss: str | Callable = "cross_entropy", *,
                  lr: float | None = None, keep_gradients: bool = False) -> FlowReport:
    """Per-layer speeds of learning and the figures around them for one batch.

    ``x``: (N, n_in) array or Tensor; ``y``: integer labels (N,) or targets (N, n_out);
    ``loss``: "cross_entropy" (sigmoid outputs, the book's cost), "quadratic",
    "softmax_cross_entropy" or a function ``loss(a, y) -> Tensor``; ``lr`` adds update:data.
    Runs one forward and one backward pass; the parameters' ``.grad`` are put back as they
    were, unless ``keep_gradients=True``, which leaves this batch's gradients in them (the
    book's experiment then takes its step with them: ``train.speed_of_learning_curves``).
    A ``torch.nn.Module`` is measured by :mod:`minigrad.adapters.torch` (the same report).
    """
    if is_torch(model):  # a torch.nn.Module: the same report, measured by the adapter
        from minigrad.adapters.torch import gradient_flow as torch_gradient_flow

        return torch_gradient_flow(model, x, y, loss, lr=lr, keep_gradients=keep_gradients)
    loss_name, loss_fn = loss_function(loss, "gradient_flow")
    inputs, targets = _inputs(model, x, y)
    params = model.parameters()
    saved = [p.grad for p in params]
    try:
        output = model(inputs)
        calls = _calls(model, output)
        if not calls:
            raise TypeError(f"gradient_flow: the output of {type(model).__name__} does not "
                            "depend on any of its Linear layers")
        cost = loss_fn(output, targets)
        for p in params:
            p.grad = None
        cost.backward()  # the only backward pass: every z^l now holds dC/dz^l in z.grad
        rows = _rows(calls, lr)
    except BaseException:
        keep_gradients = False
        raise
    finally:
        if not keep_gradients:
            for p, grad in zip(params, saved):
                p.grad = grad
    return FlowReport(rows, loss=loss_name, loss_value=float(cost.data),
                      batch_size=len(inputs.data), lr=lr)


def _rows(calls: list[_Call], lr: float | None) -> list[LayerFlow]:
    """The report's rows, from the graph's nodes and the gradients of the backward pass."""
    layers = []
    for call in calls:
        delta = call.z.grad  # dC/dz^l, (N, n_out): the per-example deltas divided by N
        w = call.linear.weight
        figures = layer_figures(
            delta=np.zeros_like(call.z.data) if delta is None else delta,  # none flowed here
            x=call.z.parents[0].data, w=w.data,
            dw=None if w.grad is None or call.shared else w.grad, a=call.a.data,
            activation=call.activation, mean_derivative=_mean_derivative(call), lr=lr,
            frozen=call.frozen)
        layers.append(dict(figures, name=call.name, residual=call.residual))
    return rows_of(layers)


def _mean_derivative(call: _Call) -> float | None:
    """Mean of sigma'(z^l): the local derivative the activation's node multiplies by."""
    if call.a is call.z:
        return 1.0  # no activation: a = z
    local = call.a.local_derivatives()[0]
    if local is None or np.shape(local) != call.z.data.shape:
        return None  # not an elementwise derivative
    return float(np.mean(local))
