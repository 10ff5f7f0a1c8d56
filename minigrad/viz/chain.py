r"""draw_chain: Nielsen's eq. 122 as a picture, one box per factor, the running product beneath.

    dC/db_1 = sigma'(z_1) * w_2 sigma'(z_2) * w_3 sigma'(z_3) * w_4 sigma'(z_4) * dC/da_4

    from minigrad.trace import trace, neuron_chain
    from minigrad.viz import draw_chain, save
    chain = neuron_chain([0.5, -0.8, 0.3, 0.9], [0.1, 0.2, -0.3, 0.4])
    save(draw_chain(trace(chain.cost).path(chain["b1"])), "chain.svg")
    save(draw_chain([("σ′(z1)", 0.2), ("w2", 0.5), ("σ′(z2)", 0.1), ("∂C/∂a2", 0.3)]), "c.svg")

The boxes read left to right as the equation does (first layer first, dC/da_L last). Beneath each
factor is the running product of it and everything to its right: what backpropagation, which
starts at dC/da_L and walks left, holds after multiplying by that factor (dC/dz_j after
sigma'(z_j), dC/da_{j-1} after w_j). Factors with |f| < 1 are blue with ↓ (they shrink the
gradient), |f| > 1 red with ↑; each sigma' box says how close it is to its ceiling of 1/4, and
each pair w_j sigma'(z_j) is framed with its product, the number that decides whether the
gradient vanishes (< 1) or explodes (> 1).

Input: a path from :meth:`minigrad.trace.Trace.path` (factors named from the graph: sigmoid ->
"σ′(z1)", a product by a weight -> "w2"; the steps above the last activation merge into one
"∂C/∂a4" factor; "+" steps, which multiply by exactly 1, are left out and counted), or a list of
(name, value) pairs in the order of the equation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import graphviz

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
    plain_label,
)

__all__ = ["draw_chain", "chain_factors", "Factor", "SIGMA_CEILING"]

SIGMA_CEILING = 0.25  # max of sigma'(z) = sigma(z)(1 - sigma(z)), at z = 0
_DERIVATIVE_NAMES = {"sigmoid": "σ′", "tanh": "tanh′", "relu": "relu′"}


@dataclass(frozen=True)
class Factor:
    """One factor of the product, with the running product beneath it."""

    name: str  # "σ′(z1)", "w2", "∂C/∂a4"
    value: float | None  # the number (None for a tensor factor: see text)
    text: str  # how the value is written in its box
    gain: float  # how much it scales the gradient: |value| (norm ratio for tensors)
    product: float | None  # the running product of this factor and all to its right
    product_text: str
    product_name: str  # "∂C/∂z1" (what the product is), or "" when unknown
    kind: str  # "sigma" (an activation's derivative), "weight", "cost" or "other"


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
        if node.op in _DERIVATIVE_NAMES:
            label, kind = f"{_DERIVATIVE_NAMES[node.op]}({name(parent)})", "sigma"
        elif node.op == "*" and len(node._parents) == 2:
            other = node._parents[1 - p.index]
            label = other.label or fmt(other.data, 4)
            kind = "weight" if other.is_leaf else "other"
        else:
            label, kind = f"∂{name(node)}/∂{name(parent)}", "other"
        factors.append(Factor(label, f, fmt(f), abs(f), p.product, fmt(p.product),
                              f"∂{root}/∂{name(parent)}", kind))
    return factors[::-1], skipped


# ---- factors from a traced path of Tensors ------------------------------------------------------
def _tensor_factors(path: list[PathStep], record: Any) -> list[Factor]:
    name = record.name if record is not None else (lambda n: n.label or n.op or "leaf")
    root = name(record.output) if record is not None else "C"
    factors = []
    for p in path:
        node, parent = p.node, p.parent
        if node.op in _DERIVATIVE_NAMES:
            label, kind = f"{_DERIVATIVE_NAMES[node.op]}({name(parent)})", "sigma"
        elif node.op == "linear":
            label = (f"{name(node._parents[1])}ᵀ", f"{name(node._parents[0])}", "Σ batch")[p.index]
            kind = "weight" if p.index == 0 else "other"
        else:
            label, kind = f"∂{name(node)}/∂{name(parent)}", "other"
        local = summarize(p.factor)
        if local is None:
            text = describe_missing_local(node.op)
        elif not local.shape:
            text = f"×{fmt(p.factor, 4)}"
        else:
            text = f"‖J‖ {fmt(local.norm, 3)}, mean {fmt(local.mean_abs, 3)}"
        product = p.product_summary
        factors.append(Factor(label, None, text, p.gain, None,
                              f"‖·‖ {fmt(product.norm, 4)}, shape {product.shape}",
                              f"∂{root}/∂{name(parent)}", kind))
    return factors[::-1]


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
        factors.append(Factor(label, value, fmt(value), abs(value), product, fmt(product), "",
                              _kind_of(label)))
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
               max_factors: int = 30) -> graphviz.Digraph:
    """The product of a path's factors as a row of boxes with running products beneath.

    ``path_or_factors``: ``trace(C).path(node)``, or (name, value) pairs in the order of the
    equation (the first layer's factor first). Past ``max_factors`` the middle is folded into
    one box that gives the count and the product of the factors it hides.
    """
    if max_factors < 4:
        raise ValueError(f"draw_chain: max_factors must be at least 4, got {max_factors}")
    factors, skipped = chain_factors(path_or_factors)
    target = _target_name(path_or_factors)
    is_scalar = factors[0].value is not None

    graph = Picture("chain", graph_attr={"rankdir": "LR", "nodesep": "0.25", "ranksep": "0.3",
                                         "labelloc": "t", "fontsize": "13"},
                    node_attr={"fontsize": "11"}, edge_attr={"fontsize": "11"})
    graph.attr(label=plain_label(title if title is not None else
                                 _caption(factors, target, skipped, is_scalar)))

    keep = list(range(len(factors)))
    folded: tuple[int, int] | None = None
    if len(factors) > max_factors:
        half = (max_factors - 1) // 2
        folded = (half, len(factors) - half)  # factors[half:end] go into one box
        keep = list(range(half)) + list(range(folded[1], len(factors)))

    total = factors[0]
    graph.node("result", _record([target or total.product_name or "product",
                                  f"= {_total_text(total)}"]),
               shape="record", penwidth="2", style="rounded")
    previous = "result"
    for unit in _units(factors, keep):
        if folded is not None and unit[0] == folded[1]:
            graph.node("folded", _record(_folded_fields(factors, *folded, is_scalar)),
                       shape="record", style="dashed", color=GREYS[3])
            graph.edge(previous, "folded", dir="back", label="×")
            previous = "folded"
        if len(unit) == 2 and is_scalar:
            _pair_cluster(graph, unit, factors)
        else:
            for i in unit:
                _factor_node(graph, f"f{i}", factors[i])
        for i in unit:
            graph.edge(previous, f"f{i}", dir="back", label="=" if previous == "result" else "×",
                       color=family(factors[i].gain)[4])
            previous = f"f{i}"
    return graph


def _units(factors: list[Factor], keep: list[int]) -> list[list[int]]:
    """The kept factors grouped: [w_j, sigma'(z_j)] pairs (eq. 122's repeated factor), singles."""
    units: list[list[int]] = []
    position = 0
    while position < len(keep):
        i = keep[position]
        nxt = keep[position + 1] if position + 1 < len(keep) else None
        if factors[i].kind == "weight" and nxt == i + 1 and factors[nxt].kind == "sigma":
            units.append([i, nxt])
            position += 2
        else:
            units.append([i])
            position += 1
    return units


def _record(fields: list[str]) -> str:
    """A record whose fields stack top to bottom in a left-to-right graph."""
    return " | ".join(escape_record(f) for f in fields)


def _factor_node(graph: graphviz.Digraph, node_id: str, factor: Factor) -> None:
    fields = [factor.name, f"{factor.text} {glyph(factor.gain)}".rstrip()]
    if factor.kind == "sigma" and factor.value is not None and factor.name.startswith("σ′"):
        fields.append(f"{factor.value / SIGMA_CEILING:.0%} of the ¼ ceiling")
    product = f"{factor.product_name} = " if factor.product_name else "product "
    fields.append(product + factor.product_text)
    strength = min(1.0, abs(math.log10(factor.gain)) / 2.0) \
        if factor.gain and math.isfinite(factor.gain) and factor.gain > 0 else 0.0
    graph.node(node_id, _record(fields), shape="record", style="filled",
               fillcolor=fill_color(factor.gain, 0.2 + 0.8 * strength),
               color=family(factor.gain)[5], tooltip=f"{factor.name} = {factor.text}")


def _pair_cluster(graph: graphviz.Digraph, unit: list[int], factors: list[Factor]) -> None:
    """w_j and sigma'(z_j) framed together, the frame labelled with their product."""
    weight, sigma = factors[unit[0]], factors[unit[1]]
    both = weight.value * sigma.value
    with graph.subgraph(name=f"cluster_pair{unit[0]}") as pair:
        pair.attr(label=plain_label(f"{weight.name}·{sigma.name} = {fmt(both, 4)} "
                                    f"{glyph(abs(both))}"),
                  style="rounded", color=family(abs(both))[4], fontcolor=family(abs(both))[5],
                  fontsize="11")
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
        fields.append(f"{sum(abs(v) < 1 for v in values)} shrink ↓, "
                      f"{sum(abs(v) > 1 for v in values)} grow ↑")
    return fields


def _total_text(total: Factor) -> str:
    """The whole product, in 10 significant digits for a scalar."""
    return fmt(total.product, 10) if total.product is not None else total.product_text


def _target_name(path_or_factors: Any) -> str:
    """'∂C/∂b1' for a traced path, '' for plain factors."""
    if isinstance(path_or_factors, Path):
        record = path_or_factors.record
        return f"∂{record.name(record.output)}/∂{record.name(path_or_factors.target)}"
    return ""


def _caption(factors: list[Factor], target: str, skipped: int, is_scalar: bool) -> str:
    """The equation, its value, the sigma' ceiling and how to read the colours."""
    names = [f.name for f in factors]
    if len(names) > 12:
        names = names[:5] + ["…"] + names[-5:]
    lhs = target or "product"
    lines = [f"{lhs} = " + " × ".join(names)]
    total = factors[0]
    if is_scalar:
        lines.append(f"= {_total_text(total)}")
        if factors[-1].kind == "cost" and len(factors) > 1:
            rest = math.prod(f.value for f in factors[:-1])
            lines[-1] += f" = {fmt(rest, 10)} × {factors[-1].name}"
    else:
        lines.append(f"‖{lhs}‖ along the path = {total.product_text}")
    if any(f.kind == "sigma" for f in factors):
        lines.append("σ′(z) = σ(z)(1 − σ(z)) ≤ ¼ (its largest value, at z = 0)")
    lines.append("blue ↓ |factor| < 1 shrinks the gradient,  red ↑ |factor| > 1 grows it;  "
                 "beneath each box: the running product from the right, as backprop computes it")
    if skipped:
        lines.append(f"({skipped} factor{'s' if skipped > 1 else ''} of exactly 1 from '+' "
                     "left out)")
    return "\n".join(lines)
