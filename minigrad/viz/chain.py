r"""draw_chain: Nielsen's eq. 122 (and 124) as a picture, one box per factor, products beneath.

    dC/db_1 = sigma'(z_1) * w_2 sigma'(z_2) * w_3 sigma'(z_3) * w_4 sigma'(z_4) * dC/da_4
    delta^l = sigma'(z^l) (w^{l+1})^T sigma'(z^{l+1}) ... (w^L)^T delta^L        (eq. 124)

    from minigrad.trace import trace, neuron_chain
    from minigrad.viz import draw_chain, save
    chain = neuron_chain([0.5, -0.8, 0.3, 0.9], [0.1, 0.2, -0.3, 0.4])
    save(draw_chain(trace(chain.cost).path(chain["b1"])), "chain.svg")
    save(draw_chain([("σ′(z1)", 0.2), ("w2", 0.5), ("σ′(z2)", 0.1), ("∂C/∂a2", 0.3)]), "c.svg")

The boxes read left to right as the equation does (first layer first, dC/da_L last). Beneath each
factor is the running product of it and everything to its right: what backpropagation, which
starts at dC/da_L and walks left, holds after multiplying by that factor (dC/dz_j after
sigma'(z_j), dC/da_{j-1} after w_j). Factors that shrink the gradient are blue with ↓, those that
grow it red with ↑; each sigma' box says how close it is to its ceiling of 1/4, and each pair
that carries the gradient across one layer is framed with its product, the number that decides
whether the gradient vanishes (< 1) or explodes (> 1). A long chain wraps into rows (``per_row``
factor boxes at most); each new row starts with "…", continuing the one above.

Input: a path from :meth:`minigrad.trace.Trace.path`, or a list of (name, value) pairs in the
order of the equation. Values: factors are named from the graph's labels (sigmoid -> "σ′(z1)",
a product by a weight -> "w2"); the steps above the last activation merge into one "∂C/∂a4"
factor; "+" steps, which multiply by exactly 1, are left out and counted. Tensors (a network of
``linear`` layers): factors are named by layer as in eq. 124, layers counted from the input
(σ′(z¹), (w²)ᵀ, ..., δᴸ = (aᴸ − y)/N for the cross-entropy's output error, "Σ over the batch" for
dz/db), each with its size (σ′: mean and max against the ¼ ceiling; a matrix: ‖J‖ and mean|J| of
its local Jacobian) and, beneath, the norm of the gradient after it (‖δˡ‖) and the factor's gain
‖after‖/‖before‖. Reads the trace; runs no backward pass.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import graphviz
import numpy as np

from minigrad.engine import Node, topological_order
from minigrad.trace import Path, PathStep, summarize
from minigrad.value import Value
from minigrad.viz.style import (
    GREYS,
    Picture,
    describe_missing_local,
    escape_record,
    family,
    fill_color,
    fmt,
    glyph,
    layer_names,
    plain_label,
    wrap,
)

__all__ = ["draw_chain", "chain_factors", "Factor", "SIGMA_CEILING", "PER_ROW"]

SIGMA_CEILING = 0.25  # max of sigma'(z) = sigma(z)(1 - sigma(z)), at z = 0
_DERIVATIVE_NAMES = {"sigmoid": "σ′", "tanh": "tanh′", "relu": "relu′"}
# dC/dz^L of a loss computed from the output layer's z^L (one node whose parent is z^L).
_OUTPUT_ERRORS = {"cross_entropy": "(a{L} − y)/N", "softmax_cross_entropy": "(softmax(z{L}) − y)/N"}
# Factor boxes per row by default (a tensor's boxes are wider): the picture stays about twice as
# wide as it is tall, so it reads on a page without zooming.
PER_ROW = {"number": 6, "tensor": 4}
_CAPTION_WIDTH = 96  # characters per caption line


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


def chain_factors(path_or_factors: Sequence[Any]) -> tuple[list[Factor], int]:
    """The factors in the order of the equation, and how many factors of exactly 1 were left out."""
    items = list(path_or_factors)
    if not items:
        raise ValueError("draw_chain: the path is empty (the node is the output itself)")
    if all(isinstance(p, PathStep) for p in items):
        record = path_or_factors.record if isinstance(path_or_factors, Path) else None
        if isinstance(items[0].node, Value):
            return _value_factors(items, record)
        return _tensor_factors(items, record), 0
    return _plain_factors(items), 0


def _ceiling_share(value: float) -> str:
    """'85% of the ¼ ceiling' for a sigma' value."""
    return f"{value / SIGMA_CEILING:.0%} of the ¼ ceiling"


# ---- factors from a traced path of Values -------------------------------------------------------
def _value_factors(path: list[PathStep], record: Any) -> tuple[list[Factor], int]:
    name = record.name if record is not None else (lambda n: n.label or n.op or "leaf")
    root = name(record.output) if record is not None else (path[0].node.label or "C")
    if record is not None:
        seed = record.seed
    else:  # a bare list of steps: recover the seed from the first product
        seed = path[0].product / path[0].factor if path[0].factor else 1.0
    first_act = next((k for k, p in enumerate(path) if p.node.op in _DERIVATIVE_NAMES), None)
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
        if node.op in _DERIVATIVE_NAMES:
            label, kind = f"{_DERIVATIVE_NAMES[node.op]}({name(parent)})", "sigma"
            detail = _ceiling_share(f) if node.op == "sigmoid" else ""
        elif node.op == "*" and len(node._parents) == 2:
            other = node._parents[1 - p.index]
            label = other.label or fmt(other.data, 4)
            kind = "weight" if other.is_leaf else "other"
        else:
            label, kind = f"∂{name(node)}/∂{name(parent)}", "other"
        factors.append(Factor(label, f, fmt(f), abs(f), p.product, fmt(p.product),
                              f"∂{root}/∂{name(parent)}", kind, detail))
    return factors[::-1], skipped


# ---- factors from a traced path of Tensors ------------------------------------------------------
class _Namer:
    """Names of a tensor graph's nodes: by layer (z¹, a¹, w¹, b¹, x), else label, else op#i."""

    def __init__(self, path: list[PathStep], record: Any) -> None:
        output = record.output if record is not None else path[0].node
        self.by_layer = layer_names(record.nodes if record is not None
                                    else topological_order(output))
        self.record = record
        self.root = output.label or ("C" if np.size(output.data) == 1 else self.fallback(output))

    def fallback(self, node: Node) -> str:
        if self.record is not None:
            return self.record.name(node)
        return node.label or node.op or "leaf"

    def __call__(self, node: Node) -> str:
        return self.by_layer.get(node) or self.fallback(node)

    def gradient(self, node: Node) -> str:
        """What the gradient with respect to ``node`` is called: δˡ for z^l, else ∂C/∂node."""
        name = self(node)
        return f"δ{name[1:]}" if node.op == "linear" and name.startswith("z") else \
            f"∂{self.root}/∂{name}"


def _gain_text(gain: float) -> str:
    """'×0.21 ↓', '×1.02 ↑' (a third digit when two would round to 1), '' when undefined."""
    if gain is None or not math.isfinite(gain):
        return ""
    text = fmt(gain, 2)
    if text == "1" and glyph(gain) != "=":
        text = fmt(gain, 3)
    return f"×{text} {glyph(gain)}"


def _transposed(name: str) -> str:
    """'(w²)ᵀ', 'xᵀ'."""
    return f"{name}ᵀ" if len(name) == 1 else f"({name})ᵀ"


def _jacobian_text(local: Any, op: str) -> str:
    """The size of a local Jacobian: ×1 for a number, ‖J‖ and mean|J| for an array."""
    summary = summarize(local)
    if summary is None:
        return describe_missing_local(op)
    if not summary.shape:
        return f"×{fmt(local, 4)}"
    return f"‖J‖ {fmt(summary.norm, 3)},  mean|J| {fmt(summary.mean_abs, 3)}"


def _tensor_factors(path: list[PathStep], record: Any) -> list[Factor]:
    name = _Namer(path, record)
    seed_size = summarize(record.seed).norm if record is not None else 1.0
    factors: list[Factor] = []  # in backward order (the cost first)
    # The steps of the cost, above the network's last layer, make one factor (dC/dz^L = δᴸ).
    first = next((k for k, p in enumerate(path)
                  if p.node.op == "linear" or p.node.op in _DERIVATIVE_NAMES), 0)
    if first:
        factors.append(_cost_factor(path[:first], name, seed_size))
    for p in path[first:]:
        factors.append(_tensor_factor(p, name))
    return factors[::-1]


def _cost_factor(steps: list[PathStep], name: _Namer, seed_size: float) -> Factor:
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
    return Factor(label, None, text, gain, None, fmt(product.norm, 4), name.gradient(parent),
                  "cost", detail, product.shape)


def _tensor_factor(p: PathStep, name: _Namer) -> Factor:
    """One step of a network's path, named by layer."""
    node, parent = p.node, p.parent
    detail = ""
    if node.op in _DERIVATIVE_NAMES:
        label, kind = f"{_DERIVATIVE_NAMES[node.op]}({name(parent)})", "sigma"
        local = np.asarray(p.factor, dtype=float) if p.factor is not None else None
        if local is None:
            text = describe_missing_local(node.op)
        else:
            mean, top = float(np.abs(local).mean()), float(np.abs(local).max())
            text = f"mean {fmt(mean, 3)},  max {fmt(top, 3)}"
            if node.op == "sigmoid":
                detail = "mean: " + _ceiling_share(mean)
    elif node.op == "linear":
        x, weight = node._parents[0], node._parents[1]
        layer = name(node)[1:] if name(node).startswith("z") else ""
        if p.index == 0:  # dz/dx = w: the gradient goes down through the weights
            label, kind = _transposed(name(weight)), "weight"
            text = _jacobian_text(p.factor, node.op)
            n_out, n_in = np.shape(weight.data)
            detail = f"{n_out}×{n_in} weights"
        elif p.index == 1:  # dz/dw = x: dC/dw^l = δˡ (a^{l-1})ᵀ
            label, kind = _transposed(name(x)), "other"
            text = _jacobian_text(p.factor, node.op)
        else:  # dz/db = 1 for every example: dC/db^l is δˡ summed over the batch
            batched = np.ndim(node.data) == 2
            label = "Σ over the batch" if batched else f"∂z{layer}/∂b{layer} = 1"
            kind = "other"
            text = f"∂z{layer}/∂b{layer} = 1,  N = {np.shape(node.data)[0]}" if batched else "×1"
    else:
        label, kind = f"∂{name(node)}/∂{name(parent)}", "other"
        text = _jacobian_text(p.factor, node.op)
    product = p.product_summary
    return Factor(label, None, text, p.gain, None, fmt(product.norm, 4), name.gradient(parent),
                  kind, detail, product.shape)


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


def _kind_of(name: str) -> str:
    """Guess a plain factor's kind from its name: σ′..., w..., ∂C/∂... / dC/d..."""
    lowered = name.lower()
    if lowered.startswith(("σ′", "σ'", "sigma'", "sigma′", "tanh′", "tanh'", "relu′", "relu'")):
        return "sigma"
    if lowered.startswith("w"):
        return "weight"
    if lowered.startswith(("∂c", "dc")):
        return "cost"
    return "other"


# ---- the picture --------------------------------------------------------------------------------
def draw_chain(path_or_factors: Sequence[Any], *, title: str | None = None,
               max_factors: int = 30, per_row: int | None = None) -> graphviz.Digraph:
    """The product of a path's factors as rows of boxes with running products beneath.

    ``path_or_factors``: ``trace(C).path(node)``, or (name, value) pairs in the order of the
    equation (the first layer's factor first). ``title``: a first caption line, above the
    equation. Past ``max_factors`` the middle is folded into one box that gives the count and
    the product of the factors it hides. ``per_row``: factor boxes per row before the chain
    wraps (default ``PER_ROW``: 6 numbers, 4 tensors); a framed pair is never split.
    """
    if max_factors < 4:
        raise ValueError(f"draw_chain: max_factors must be at least 4, got {max_factors}")
    if per_row is not None and per_row < 2:
        raise ValueError(f"draw_chain: per_row must be at least 2, got {per_row}")
    factors, skipped = chain_factors(path_or_factors)
    is_scalar = factors[0].value is not None
    target = _target_name(path_or_factors, is_scalar)
    per_row = per_row or PER_ROW["number" if is_scalar else "tensor"]

    graph = Picture("chain", graph_attr={"rankdir": "LR", "nodesep": "0.3", "ranksep": "0.3",
                                         "labelloc": "t", "fontsize": "13"},
                    node_attr={"fontsize": "11"}, edge_attr={"fontsize": "11"})
    caption = _caption(factors, target, skipped, is_scalar)
    graph.attr(label=plain_label(caption if title is None else f"{title}\n{caption}"))

    keep = list(range(len(factors)))
    folded: tuple[int, int] | None = None
    if len(factors) > max_factors:
        half = (max_factors - 1) // 2
        folded = (half, len(factors) - half)  # factors[half:end] go into one box
        keep = list(range(half)) + list(range(folded[1], len(factors)))
    units: list[list[int]] = _units(factors, keep, is_scalar)
    if folded is not None:  # the folded box is a unit of its own, in its place
        at = next(k for k, unit in enumerate(units) if unit[0] >= folded[1])
        units.insert(at, [-1])

    total = factors[0]
    # A plain box, not a record: it takes part in the flat edge that stacks the rows, and
    # Graphviz before 2.44 drops flat edges at record nodes ("lost ... edge").
    graph.node("result", plain_label(f"{target or total.product_name or 'product'}\n"
                                     f"= {_total_text(total)}"),
               shape="box", penwidth="2", style="rounded")
    starts = ["result"]
    for k, row in enumerate(_rows(units, per_row)):
        if k:  # a new row starts with "…": it continues the row above
            starts.append(f"row{k}")
            graph.node(starts[-1], "… ", shape="plaintext", fontsize="14")
        previous = starts[-1]
        for unit in row:
            if unit == [-1]:
                graph.node("folded", _record(_folded_fields(factors, *folded, is_scalar)),
                           shape="record", style="dashed", color=GREYS[3])
                graph.edge(previous, "folded", dir="back", label="×", color=GREYS[4])
                previous = "folded"
                continue
            if len(unit) == 2:
                _pair_cluster(graph, unit, factors, is_scalar)
            else:
                _factor_node(graph, f"f{unit[0]}", factors[unit[0]])
            for i in unit:
                graph.edge(previous, f"f{i}", dir="back",
                           label="=" if previous == "result" else "×",
                           color=family(factors[i].gain)[4])
                previous = f"f{i}"
    if len(starts) > 1:
        # The rows' first nodes share the first rank, top to bottom in reading order (a flat
        # edge puts its tail before its head); the rest of each row follows its first node.
        with graph.subgraph() as first:
            first.attr(rank="same")
            for a, b in zip(starts, starts[1:]):
                first.edge(a, b, style="invis")
    return graph


def _units(factors: list[Factor], keep: list[int], is_scalar: bool) -> list[list[int]]:
    """The kept factors grouped into what carries the gradient across one layer, and singles.

    Numbers: [w_j, sigma'(z_j)] (eq. 122's repeated factor, dC/da_j -> dC/da_{j-1}). Tensors:
    [σ′(zˡ), (wˡ⁺¹)ᵀ] (eq. 124's, δˡ⁺¹ -> δˡ).
    """
    first, second = ("weight", "sigma") if is_scalar else ("sigma", "weight")
    units: list[list[int]] = []
    position = 0
    while position < len(keep):
        i = keep[position]
        nxt = keep[position + 1] if position + 1 < len(keep) else None
        if factors[i].kind == first and nxt == i + 1 and factors[nxt].kind == second:
            units.append([i, nxt])
            position += 2
        else:
            units.append([i])
            position += 1
    return units


def _rows(units: list[list[int]], per_row: int) -> list[list[list[int]]]:
    """Units in rows of at most ``per_row`` boxes (a pair is never split), balanced.

    As few rows as the width allows; among the ways to fill that many rows, the most even one
    (least sum of squared row lengths: 10 boxes at 6 a row make 5 and 5, not 6 and 4), the
    earlier rows the fuller on a tie.
    """
    sizes = [len(u) for u in units]
    width = max(per_row, max(sizes))
    n_rows, filled = 1, 0
    for size in sizes:  # filling each row up is the fewest rows
        if filled and filled + size > width:
            n_rows, filled = n_rows + 1, 0
        filled += size
    n = len(units)
    # cost[k][i]: least sum of squared lengths of k rows holding units[:i]; cut[k][i]: where
    # the last of those rows starts.
    cost = [[math.inf] * (n + 1) for _ in range(n_rows + 1)]
    cut = [[0] * (n + 1) for _ in range(n_rows + 1)]
    cost[0][0] = 0.0
    for k in range(1, n_rows + 1):
        for i in range(1, n + 1):
            length = 0
            for j in range(i - 1, -1, -1):  # the last row is units[j:i], shortest first
                length += sizes[j]
                if length > width:
                    break
                if cost[k - 1][j] + length * length < cost[k][i]:
                    cost[k][i], cut[k][i] = cost[k - 1][j] + length * length, j
    rows: list[list[list[int]]] = []
    end = n
    for k in range(n_rows, 0, -1):
        rows.append(units[cut[k][end]:end])
        end = cut[k][end]
    return rows[::-1]


def _record(fields: list[str]) -> str:
    """A record whose fields stack top to bottom in a left-to-right graph."""
    return " | ".join(escape_record(f) for f in fields)


def _factor_node(graph: graphviz.Digraph, node_id: str, factor: Factor) -> None:
    if factor.value is not None:  # a number: its value, then dC/d(...) = the running product
        fields = [factor.name, f"{factor.text} {glyph(factor.gain)}".rstrip()]
        if factor.detail:
            fields.append(factor.detail)
        product = f"{factor.product_name} = " if factor.product_name else "product "
        fields.append(product + factor.product_text)
    else:  # a tensor: its size, then the norm of the gradient after it and the gain
        fields = [factor.name, factor.text] + ([factor.detail] if factor.detail else [])
        fields.append(f"‖{factor.product_name}‖ {factor.product_text}   "
                      f"{_gain_text(factor.gain)}".rstrip())
    strength = min(1.0, abs(math.log10(factor.gain)) / 2.0) \
        if factor.gain and math.isfinite(factor.gain) and factor.gain > 0 else 0.0
    graph.node(node_id, _record(fields), shape="record", style="filled",
               fillcolor=fill_color(factor.gain, 0.2 + 0.8 * strength),
               color=family(factor.gain)[5], tooltip=f"{factor.name}: {factor.text}")


def _pair_cluster(graph: graphviz.Digraph, unit: list[int], factors: list[Factor],
                  is_scalar: bool) -> None:
    """The two factors that carry the gradient across one layer, framed with their product."""
    left, right = factors[unit[0]], factors[unit[1]]
    if is_scalar:  # w_j · sigma'(z_j)
        both = left.value * right.value
        gain, label = abs(both), f"{left.name}·{right.name} = {fmt(both, 4)}"
    else:  # σ′(zˡ) (wˡ⁺¹)ᵀ takes δˡ⁺¹ to δˡ
        gain = left.gain * right.gain
        above = factors[unit[1] + 1].product_name if unit[1] + 1 < len(factors) else "·"
        label = f"‖{left.product_name}‖ / ‖{above}‖ = {_gain_text(gain)}"
    if is_scalar:
        label += f" {glyph(gain)}"
    with graph.subgraph(name=f"cluster_pair{unit[0]}") as pair:
        pair.attr(label=plain_label(label), style="rounded",
                  color=family(gain)[4], fontcolor=family(gain)[5], fontsize="11")
        for i in unit:
            _factor_node(pair, f"f{i}", factors[i])


def _folded_fields(factors: list[Factor], start: int, end: int, is_scalar: bool) -> list[str]:
    hidden = factors[start:end]
    fields = [f"… {len(hidden)} more factors …"]
    if is_scalar:
        values = [f.value for f in hidden]
        if any(v == 0.0 for v in values):
            fields.append("their product: 0")
        else:
            log10 = sum(math.log10(abs(v)) for v in values)
            sign = "-" if sum(v < 0 for v in values) % 2 else ""
            fields.append(f"their product: {sign}10^{log10:.2f}")
    gains = [f.gain for f in hidden]
    fields.append(f"{sum(glyph(g) == '↓' for g in gains)} shrink ↓, "
                  f"{sum(glyph(g) == '↑' for g in gains)} grow ↑")
    return fields


def _total_text(total: Factor) -> str:
    """The whole product: 10 significant digits for a scalar, norm and shape for a tensor."""
    if total.product is not None:
        return fmt(total.product, 10)
    return f"‖·‖ {total.product_text}, shape {total.product_shape}"


def _target_name(path_or_factors: Any, is_scalar: bool) -> str:
    """'∂C/∂b1' for a traced path ('∂C/∂b¹' in a network of tensors), '' for plain factors."""
    if not isinstance(path_or_factors, Path):
        return ""
    record = path_or_factors.record
    if is_scalar:
        return f"∂{record.name(record.output)}/∂{record.name(path_or_factors.target)}"
    name = _Namer(list(path_or_factors), record)
    return f"∂{name.root}/∂{name(path_or_factors.target)}"


def _caption(factors: list[Factor], target: str, skipped: int, is_scalar: bool) -> str:
    """The equation, its value, the sigma' ceiling and how to read the colours."""
    names = [f.name.split(" = ")[0] for f in factors]  # "δ⁵ = (a⁵ − y)/N" -> "δ⁵"
    lhs = target or "product"
    summed = not is_scalar and factors[0].name == "Σ over the batch" and len(factors) > 1
    if summed:  # ∂C/∂b¹ = Σ over the batch of δ¹,  δ¹ = σ′(z¹) (w²)ᵀ ... δᴸ
        delta = factors[1].product_name
        lhs, names = f"{lhs} = Σ over the batch of {delta},  {delta}", names[1:]
    if len(names) > 12:
        names = names[:5] + ["…"] + names[-5:]
    lines = [f"{lhs} = " + (" × " if is_scalar else " ").join(names)]
    total = factors[0]
    has_sigma = any(f.kind == "sigma" for f in factors)
    if is_scalar:
        lines.append(f"= {_total_text(total)}")
        if factors[-1].kind == "cost" and len(factors) > 1:
            rest = math.prod(f.value for f in factors[:-1])
            lines[-1] += f" = {fmt(rest, 10)} × {factors[-1].name}"
        if has_sigma:
            lines.append("σ′(z) = σ(z)(1 − σ(z)) ≤ ¼ (its largest value, at z = 0)")
        lines.append("blue ↓ |factor| < 1 shrinks the gradient,  red ↑ |factor| > 1 grows it;  "
                     "beneath each box: the running product from the right, as backprop "
                     "computes it")
    else:
        if has_sigma and any(f.kind == "weight" for f in factors):
            lines.append("Nielsen's eq. 124, one layer at a time: δˡ = σ′(zˡ) (wˡ⁺¹)ᵀ δˡ⁺¹")
            lines.append("σ′ multiplies unit by unit, σ′(z) = σ(z)(1 − σ(z)) ≤ ¼;  (w)ᵀ is a "
                         "matrix product")
        elif has_sigma:
            lines.append("σ′(z) = σ(z)(1 − σ(z)) ≤ ¼ (its largest value, at z = 0)")
        lines.append("each box: the factor, its size (‖J‖, mean|J| of its Jacobian), ‖gradient‖ "
                     "after it, ×gain")
        lines.append("blue ↓ shrinks the gradient, red ↑ grows it; backprop starts at the last "
                     "box and walks left")
    if skipped:
        lines.append(f"({skipped} factor{'s' if skipped > 1 else ''} of exactly 1 from '+' "
                     "left out)")
    return "\n".join(wrap(line, _CAPTION_WIDTH) for line in lines)
