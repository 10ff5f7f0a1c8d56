r"""Nielsen's eq. 122 and 124 as data: a traced path as named factors with running products.

    dC/db_1 = sigma'(z_1) * w_2 sigma'(z_2) * w_3 sigma'(z_3) * w_4 sigma'(z_4) * dC/da_4     (122)
    delta^l = sigma'(z^l) (w^{l+1})^T sigma'(z^{l+1}) ... (w^L)^T delta^L                  (124)

    from minigrad.factors import chain_factors
    factors, ones = chain_factors(trace(chain.cost).path(chain["b1"]))
    for f in factors:                       # the first layer's factor first, dC/da_L last
        print(f.name, f.value, f.product)   # 'σ′(z1)' 0.2350 ... and dC/dz1 beneath it

The factors read left to right as the equation does. Beneath each factor is the running
product of it and everything to its right: what backpropagation, which starts at dC/da_L and
walks left, holds after multiplying by that factor. Each factor's ``gain`` is how much it
scales the gradient on the way down, ‖after‖ / ‖before‖ (|value| for a number): below 1 it
shrinks, above 1 it grows (docs/glossary.md).

Values: factors are named from the graph's labels (sigmoid -> "σ′(z1)", a product by a weight
-> "w2"); the steps above the last activation merge into one "∂C/∂a4" factor; "+" steps, which
multiply by exactly 1, are left out and counted. Tensors (a network of ``linear`` layers):
factors are named by layer as in eq. 124 (σ′(z¹), (w²)ᵀ, ..., δᴸ = (aᴸ − y)/N for the
cross-entropy's output error, "Σ over the batch" for dz/db), each with its size and the norm
of the gradient after it. Or (name, value) pairs in the order of the equation.

Reads a trace; runs no backward pass; draws nothing (``minigrad.viz.draw_chain`` draws these).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from minigrad.engine import topological_order
from minigrad.names import ACTIVATIONS, NodeNames, describe_missing_local, fmt
from minigrad.trace import Path, PathStep, holds_array, summarize

__all__ = ["Factor", "chain_factors", "chain_target", "SIGMA_CEILING"]

SIGMA_CEILING = ACTIVATIONS["sigmoid"].ceiling  # max of sigma'(z) = sigma(z)(1 - sigma(z)), at 0
# dC/dz^L of a loss computed from the output layer's z^L (one node whose parent is z^L).
_OUTPUT_ERRORS = {"cross_entropy": "(a{L} − y)/N", "softmax_cross_entropy": "(softmax(z{L}) − y)/N"}


@dataclass(frozen=True)
class Factor:
    """One factor of the product, with the running product beneath it."""

    name: str  # "σ′(z1)", "w2", "∂C/∂a4"; for tensors "σ′(z¹)", "(w²)ᵀ", "δ⁵ = (a⁵ − y)/N"
    value: float | None  # the number (None for a tensor factor: see text)
    text: str  # how the value is written in its box (for tensors: its size summary)
    gain: float  # how much it scales the gradient: |value| (norm ratio for tensors)
    product: float | None  # the running product of this factor and all to its right
    product_text: str  # the product (for tensors: its norm)
    product_name: str  # "∂C/∂z1", "δ¹" (what the product is), or "" when unknown
    kind: str  # "sigma" (an activation's derivative), "weight", "cost" or "other"
    detail: str = ""  # one more line: the share of the ¼ ceiling, a weight matrix's shape
    product_shape: tuple[int, ...] = ()  # the shape of a tensor product
    size: str = ""  # a tensor factor's one headline number ("‖J‖ 4.87"); "" for a number


def chain_factors(path_or_factors: Sequence[Any]) -> tuple[list[Factor], int]:
    """The factors in the order of the equation, and how many factors of exactly 1 were left out."""
    items = list(path_or_factors)
    if not items:
        raise ValueError("chain_factors: the path is empty (the node is the output itself)")
    if all(isinstance(p, PathStep) for p in items):
        record = path_or_factors.record if isinstance(path_or_factors, Path) else None
        if not holds_array(items[0].node):  # numbers: eq. 122
            return _value_factors(items, record)
        return _tensor_factors(items, record), 0
    return _plain_factors(items), 0


def _ceiling_share(value: float) -> str:
    """'85% of the ¼ ceiling' for a sigma' value."""
    return f"{value / SIGMA_CEILING:.0%} of the ¼ ceiling"


# ---- factors from a traced path of Values -------------------------------------------------------
def _value_factors(path: list[PathStep], record: Any) -> tuple[list[Factor], int]:
    name = _names(path, record)
    root = name.root
    if record is not None:
        seed = record.seed
    else:  # a bare list of steps: recover the seed from the first product
        seed = path[0].product / path[0].factor if path[0].factor else 1.0
    first_act = next((k for k, p in enumerate(path) if p.node.op in ACTIVATIONS), None)
    factors: list[Factor] = []  # in backward order (the cost first)
    start = 0
    if first_act is not None:
        # Everything between C and the last activation a_L is one factor, dC/da_L.
        a_last = name(path[first_act].node)
        cost_name = f"∂{root if root != a_last else 'C'}/∂{a_last}"
        if first_act == 0:
            value, product = seed, seed
        else:
            value = math.prod(p.factor for p in path[:first_act])
            product = path[first_act - 1].product
        factors.append(Factor(cost_name, value, fmt(value), abs(value), product, fmt(product),
                              cost_name, "cost"))
        start = first_act
    skipped = 0
    for p in path[start:]:
        node, parent, f = p.node, p.parent, p.factor
        if node.op in ("+", "-") and f == 1.0:
            skipped += 1  # multiplies by exactly 1
            continue
        detail = ""
        if node.op in ACTIVATIONS:
            label, kind = f"{ACTIVATIONS[node.op].derivative}({name(parent)})", "sigma"
            detail = _ceiling_share(f) if node.op == "sigmoid" else ""
        elif node.op == "*" and len(node.parents) == 2:
            other = node.parents[1 - p.index]
            label = other.label or fmt(other.data, 4)
            kind = "weight" if other.is_leaf else "other"
        else:
            label, kind = f"∂{name(node)}/∂{name(parent)}", "other"
        factors.append(Factor(label, f, fmt(f), abs(f), p.product, fmt(p.product),
                              f"∂{root}/∂{name(parent)}", kind, detail))
    return factors[::-1], skipped


# ---- factors from a traced path of Tensors ------------------------------------------------------
def _transposed(name: str) -> str:
    """'(w²)ᵀ', 'xᵀ'."""
    return f"{name}ᵀ" if len(name) == 1 else f"({name})ᵀ"


def _jacobian_text(local: Any, op: str) -> tuple[str, str]:
    """The sizes of a local Jacobian, and its headline: ×1 for a number, ‖J‖ (and mean|J|) for
    an array."""
    summary = summarize(local)
    if summary is None:
        return (describe_missing_local(op),) * 2
    if not summary.shape:
        return (f"×{fmt(local, 4)}",) * 2
    norm = f"‖J‖ {fmt(summary.norm, 3)}"
    return f"{norm},  mean|J| {fmt(summary.mean_abs, 3)}", norm


def _tensor_factors(path: list[PathStep], record: Any) -> list[Factor]:
    name = _names(path, record)
    seed_size = summarize(record.seed).norm if record is not None else 1.0
    factors: list[Factor] = []  # in backward order (the cost first)
    # The steps of the cost, above the network's last layer, make one factor (dC/dz^L = δᴸ).
    first = next((k for k, p in enumerate(path)
                  if p.node.op == "linear" or p.node.op in ACTIVATIONS), 0)
    if first:
        factors.append(_cost_factor(path[:first], name, seed_size))
    for p in path[first:]:
        factors.append(_tensor_factor(p, name))
    return factors[::-1]


def _cost_factor(steps: list[PathStep], name: NodeNames, seed_size: float) -> Factor:
    """δᴸ = (aᴸ − y)/N for the cross-entropy of z^L; ∂C/∂(its parent) for any other cost."""
    last = steps[-1]
    parent, product = last.parent, last.product_summary
    layer = name(parent)[1:] if parent.op == "linear" else ""
    formula = _OUTPUT_ERRORS.get(last.node.op) if len(steps) == 1 and layer else None
    if formula is not None:
        label = f"δ{layer} = " + formula.format(L=layer)
    else:
        label = f"δ{layer} = ∂{name.root}/∂z{layer}" if layer else name.gradient(parent)
    if len(steps) == 1:
        local = summarize(last.factor)
        text = (describe_missing_local(last.node.op) if local is None else
                f"mean|·| {fmt(local.mean_abs, 3)},  shape {local.shape}" if local.shape else
                f"×{fmt(last.factor, 4)}")
    else:
        text = f"{len(steps)} steps of the cost"
    detail = f"the output error ∂C/∂z{layer}" if formula is not None else ""
    gain = product.norm / seed_size if seed_size else math.nan
    size = f"‖{name.gradient(parent)}‖ {fmt(product.norm, 4)}"  # where backprop starts: its size
    return Factor(label, None, text, gain, None, fmt(product.norm, 4), name.gradient(parent),
                  "cost", detail, product.shape, size)


def _tensor_factor(p: PathStep, name: NodeNames) -> Factor:
    """One step of a network's path, named by layer."""
    node, parent = p.node, p.parent
    detail = ""
    if node.op in ACTIVATIONS:
        label, kind = f"{ACTIVATIONS[node.op].derivative}({name(parent)})", "sigma"
        local = np.asarray(p.factor, dtype=float) if p.factor is not None else None
        if local is None:
            text = size = describe_missing_local(node.op)
        else:
            mean, top = float(np.abs(local).mean()), float(np.abs(local).max())
            text, size = f"mean {fmt(mean, 3)},  max {fmt(top, 3)}", f"mean {fmt(mean, 3)}"
            if node.op == "sigmoid":
                detail = "mean: " + _ceiling_share(mean)
                size += f" ({mean / SIGMA_CEILING:.0%} of ¼)"
    elif node.op == "linear":
        x, weight = node.parents[0], node.parents[1]
        layer = name(node)[1:] if name(node).startswith("z") else ""
        if p.index == 0:  # dz/dx = w: the gradient goes down through the weights
            label, kind = _transposed(name(weight)), "weight"
            text, size = _jacobian_text(p.factor, node.op)
            n_out, n_in = np.shape(weight.data)
            detail = f"{n_out}×{n_in} weights"
        elif p.index == 1:  # dz/dw = x: dC/dw^l = δˡ (a^{l-1})ᵀ
            label, kind = _transposed(name(x)), "other"
            text, size = _jacobian_text(p.factor, node.op)
        else:  # dz/db = 1 for every example: dC/db^l is δˡ summed over the batch
            batched = np.ndim(node.data) == 2
            label = "Σ over the batch" if batched else f"∂z{layer}/∂b{layer} = 1"
            kind = "other"
            text = f"∂z{layer}/∂b{layer} = 1,  N = {np.shape(node.data)[0]}" if batched else "×1"
            size = f"N = {np.shape(node.data)[0]}" if batched else "×1"
    else:
        label, kind = f"∂{name(node)}/∂{name(parent)}", "other"
        text, size = _jacobian_text(p.factor, node.op)
    product = p.product_summary
    return Factor(label, None, text, p.gain, None, fmt(product.norm, 4), name.gradient(parent),
                  kind, detail, product.shape, size)


# ---- factors from (name, value) pairs -----------------------------------------------------------
def _plain_factors(items: list[Any]) -> list[Factor]:
    pairs = []
    for item in items:
        try:
            label, value = item
            pairs.append((str(label), float(value)))
        except (TypeError, ValueError):
            raise TypeError(f"draw_chain: expected PathSteps from Trace.path(node) or "
                            f"(name, value) pairs, got {item!r}") from None
    factors: list[Factor] = []
    product = 1.0
    for label, value in reversed(pairs):  # backpropagation starts at the right end
        product *= value
        kind = _kind_of(label)
        detail = _ceiling_share(value) if kind == "sigma" and label.startswith("σ′") else ""
        factors.append(Factor(label, value, fmt(value), abs(value), product, fmt(product), "",
                              kind, detail))
    return factors[::-1]


# How a plain factor's name may start when it is an activation's derivative: the table's
# display names (σ′, tanh′, relu′), the op names, each with ′ or '.
_DERIVATIVE_PREFIXES = tuple(
    f"{stem}{mark}" for a in ACTIVATIONS.values()
    for stem in dict.fromkeys((a.derivative[:-1], a.op)) for mark in "′'") + ("sigma′", "sigma'")


def _kind_of(name: str) -> str:
    """Guess a plain factor's kind from its name: σ′..., w..., ∂C/∂... / dC/d..."""
    lowered = name.lower()
    if lowered.startswith(_DERIVATIVE_PREFIXES):
        return "sigma"
    if lowered.startswith("w"):
        return "weight"
    if lowered.startswith(("∂c", "dc")):
        return "cost"
    return "other"


def _names(path: list[PathStep], record: Any) -> NodeNames:
    """The trace's namer, or, for a bare list of steps, one for the graph below its first node."""
    if record is not None:
        return record.names
    output = path[0].node
    return NodeNames(output, topological_order(output))


def chain_target(path_or_factors: Any) -> str:
    """'∂C/∂b1' for a traced path ('∂C/∂b¹' in a network of tensors), '' for plain factors."""
    if not isinstance(path_or_factors, Path):
        return ""
    name = path_or_factors.record.names
    return f"∂{name.root}/∂{name(path_or_factors.target)}"
