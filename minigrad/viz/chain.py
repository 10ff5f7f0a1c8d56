r"""draw_chain: Nielsen's eq. 122 (and 124) as a picture, one box per factor, products beneath.

    dC/db_1 = sigma'(z_1) * w_2 sigma'(z_2) * w_3 sigma'(z_3) * w_4 sigma'(z_4) * dC/da_4
    delta^l = sigma'(z^l) (w^{l+1})^T sigma'(z^{l+1}) ... (w^L)^T delta^L        (eq. 124)

    from minigrad.trace import trace, neuron_chain
    from minigrad.viz import draw_chain, save
    chain = neuron_chain([0.5, -0.8, 0.3, 0.9], [0.1, 0.2, -0.3, 0.4])
    save(draw_chain(trace(chain.cost).path(chain["b1"])), "chain.svg")
    save(draw_chain([("σ′(z1)", 0.2), ("w2", 0.5), ("σ′(z2)", 0.1), ("∂C/∂a2", 0.3)]), "c.svg")

The picture reads left to right in the order backpropagation multiplies, which is the equation
read from its right end: "start" points at dC/da_L (δᴸ for tensors), each box after it
multiplies by one more factor ("× σ′(z4)", "× w4", ...), and the last box is the result,
dC/db_1. Beneath each factor is the running product: what backprop holds after multiplying by it
(dC/dz_j after sigma'(z_j), dC/da_{j-1} after w_j). The caption gives the equation in Nielsen's
order and says the reading direction once. A long chain wraps like text: a row ends in an arrow
to "continued below", and the next row opens with "continued from above"; rows hold ``per_row``
boxes at most, and the pair that carries the gradient across one layer (framed, with its
product: the number that decides whether the gradient vanishes, < 1, or explodes, > 1) is never
split between rows. Factors that shrink the gradient are blue with ↓, those that grow it red
with ↑; each sigma' box says how close it is to its ceiling of 1/4.

Input: a path from :meth:`minigrad.trace.Trace.path`, or a list of (name, value) pairs in the
order of the equation. Values: factors are named from the graph's labels (sigmoid -> "σ′(z1)",
a product by a weight -> "w2"); the steps above the last activation merge into one "∂C/∂a4"
factor; "+" steps, which multiply by exactly 1, are left out and counted. Tensors (a network of
``linear`` layers): factors are named by layer as in eq. 124, layers counted from the input
(δᴸ = (aᴸ − y)/N for the cross-entropy's output error, (wˡ)ᵀ, σ′(zˡ), ..., "Σ over the batch"
for dz/db). Each tensor box shows one number, the factor's size (σ′: its mean, with its share
of the ¼ ceiling; a matrix: ‖J‖ of its local Jacobian; δᴸ: its norm), and beneath it the norm
of the gradient after it (‖δˡ‖) with the factor's gain ‖after‖/‖before‖; ``detail=True`` shows
every number (σ′'s max, mean|J|, a weight matrix's shape). Reads the trace; runs no backward
pass.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import graphviz

from minigrad.factors import SIGMA_CEILING, Factor, chain_factors, chain_target
from minigrad.names import fmt, gain_label
from minigrad.viz.labels import escape_plain, escape_record, plain_label, wrap
from minigrad.viz.render import Picture
from minigrad.viz.style import GREYS, family, fill_color, glyph

__all__ = ["draw_chain", "chain_factors", "Factor", "SIGMA_CEILING", "PER_ROW"]

# Boxes per row by default, the result box included (a tensor's boxes are wider): the book's
# 4-neuron chain reads in two rows at the README's width, about 900 px.
PER_ROW = {"number": 5, "tensor": 4}
_CAPTION_WIDTH = 104  # characters per caption line
_FOLDED, _RESULT = -1, -2  # the units that are not factors: the folded middle, the result


def _gain_text(gain: float) -> str:
    """'x0.21 ↓', 'x25 ↑' (``names.gain_label`` and its arrow), '' when undefined."""
    if gain is None or not math.isfinite(gain):
        return ""
    return f"{gain_label(gain)} {glyph(gain)}"


# ---- the picture --------------------------------------------------------------------------------
def draw_chain(path_or_factors: Sequence[Any], *, title: str | None = None,
               max_factors: int = 30, per_row: int | None = None,
               detail: bool = False) -> graphviz.Digraph:
    """The product of a path's factors as rows of boxes, in backprop's order, products beneath.

    ``path_or_factors``: ``trace(C).path(node)``, or (name, value) pairs in the order of the
    equation (the first layer's factor first). The boxes read left to right from where backprop
    starts (dC/da_L, or δᴸ) to the result, and wrap like text. ``title``: a first caption line,
    above the equation. Past ``max_factors`` the middle is folded into one box that gives the
    count and the product of the factors it hides. ``per_row``: boxes per row, the result's
    included, before the chain wraps (default ``PER_ROW``: 5 numbers, 4 tensors); a framed
    pair is never split. ``detail``: every number of a tensor factor (σ′'s max, mean|J|, a
    weight matrix's shape), not only its size; a chain of numbers shows all of them anyway.
    """
    if max_factors < 4:
        raise ValueError(f"draw_chain: max_factors must be at least 4, got {max_factors}")
    if per_row is not None and per_row < 2:
        raise ValueError(f"draw_chain: per_row must be at least 2, got {per_row}")
    factors, skipped = chain_factors(path_or_factors)
    is_scalar = factors[0].value is not None
    target = chain_target(path_or_factors)
    per_row = per_row or PER_ROW["number" if is_scalar else "tensor"]

    graph = Picture("chain", graph_attr={"rankdir": "LR", "nodesep": "0.2", "ranksep": "0.15",
                                         "labelloc": "t", "fontsize": "12"},
                    node_attr={"fontsize": "11"}, edge_attr={"fontsize": "11"})
    caption = _caption(factors, target, skipped, is_scalar, detail)
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
        units.insert(at, [_FOLDED])
    # Backprop's order: the equation read from its right end, then the result.
    order = [unit[::-1] for unit in reversed(units)] + [[_RESULT]]

    rows = _rows(order, per_row)
    # Each row opens with a plain node (the rows' first nodes are stacked by a flat edge, and
    # Graphviz before 2.44 drops flat edges at record nodes: "lost ... edge").
    starts = ["start"]
    graph.node("start", "start", shape="plaintext", fontsize="12", group="row0")
    times = ""  # every factor but the first multiplies what backprop holds: "× σ′(z4)"
    for k, row in enumerate(rows):
        previous, group = starts[-1], f"row{k}"  # a group keeps its row's edges straight
        for unit in row:
            if unit == [_RESULT]:
                graph.node("result", plain_label(_result_text(factors, target)),
                           shape="box", penwidth="2", style="rounded", group=group)
                graph.edge(previous, "result", color=GREYS[5])
                continue
            if unit == [_FOLDED]:
                fields = _folded_fields(factors, *folded, is_scalar)
                graph.node("folded", _record([times + fields[0]] + fields[1:]),
                           shape="record", style="dashed", color=GREYS[3], group=group)
                graph.edge(previous, "folded", color=GREYS[4])
                previous, times = "folded", "× "
                continue
            if len(unit) == 2:
                _pair_cluster(graph, unit, factors, is_scalar, detail, times, group)
            else:
                _factor_node(graph, f"f{unit[0]}", factors[unit[0]], detail, times, group)
            for i in unit:
                graph.edge(previous, f"f{i}", color=family(factors[i].gain)[4])
                previous, times = f"f{i}", "× "
        if k + 1 < len(rows):  # the row ends in a marker; the next one opens with its match
            graph.node(f"next{k + 1}", plain_label("continued\nbelow"), shape="plaintext",
                       fontsize="10", fontcolor=GREYS[4], group=group)
            graph.edge(previous, f"next{k + 1}", color=GREYS[3], style="dashed")
            starts.append(f"cont{k + 1}")
            graph.node(starts[-1], plain_label("continued\nfrom above"), shape="plaintext",
                       fontsize="10", fontcolor=GREYS[4], group=f"row{k + 1}")
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

    In the equation's order. Numbers: [w_j, sigma'(z_j)] (eq. 122's repeated factor,
    dC/da_j -> dC/da_{j-1}). Tensors: [σ′(zˡ), (wˡ⁺¹)ᵀ] (eq. 124's, δˡ⁺¹ -> δˡ).
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
    """A record whose fields stack top to bottom in a left-to-right graph; a field's own line
    breaks stay line breaks (narrow boxes: five of them fit the README's width)."""
    return " | ".join("\\n".join(escape_record(line) for line in f.split("\n")) for f in fields)


def _factor_fields(factor: Factor, detail: bool, times: str = "") -> list[str]:
    """The lines of one box: its name (after ``times``, "× " but for the first), its value or
    size, and the running product beneath."""
    name = times + factor.name
    if factor.value is not None:  # a number: its value, then dC/d(...) = the running product
        fields = [name, f"{factor.text} {glyph(factor.gain)}".rstrip()]
        if factor.detail:  # "85% of the ¼ ceiling" in two lines
            fields.append(factor.detail.replace(" of the ", " of the\n", 1))
        return fields + [f"{factor.product_name or 'product'}\n= {factor.product_text}"]
    running = f"‖{factor.product_name}‖ {factor.product_text}\n{_gain_text(factor.gain)}".rstrip()
    if detail:  # a tensor, every number: its sizes, then the gradient's norm after it, the gain
        return [name, factor.text] + ([factor.detail] if factor.detail else []) + [running]
    if factor.kind == "cost":  # where backprop starts: its size is the gradient it hands down
        return [name, factor.size]
    return [name, factor.size, running]


def _factor_node(graph: graphviz.Digraph, node_id: str, factor: Factor, detail: bool,
                 times: str = "", group: str = "") -> None:
    strength = min(1.0, abs(math.log10(factor.gain)) / 2.0) \
        if factor.gain and math.isfinite(factor.gain) and factor.gain > 0 else 0.0
    graph.node(node_id, _record(_factor_fields(factor, detail, times)), shape="record",
               style="filled", fillcolor=fill_color(factor.gain, 0.2 + 0.8 * strength),
               color=family(factor.gain)[5], tooltip=escape_plain(f"{factor.name}: {factor.text}"),
               **({"group": group} if group else {}))


def _pair_cluster(graph: graphviz.Digraph, unit: list[int], factors: list[Factor],
                  is_scalar: bool, detail: bool, times: str, group: str) -> None:
    """The two factors that carry the gradient across one layer, framed with their product.

    ``unit`` is in backprop's order: [sigma'(z_j), w_j] for numbers, [(wˡ⁺¹)ᵀ, σ′(zˡ)] for
    tensors; the frame names the term as the equation writes it.
    """
    low, high = min(unit), max(unit)  # the equation's order: the first layer's factor first
    left, right = factors[low], factors[high]
    if is_scalar:  # w_j · sigma'(z_j)
        both = left.value * right.value
        gain = abs(both)
        label = f"{left.name}·{right.name} = {fmt(both, 4)} {glyph(gain)}"
    else:  # (wˡ⁺¹)ᵀ then σ′(zˡ) take δˡ⁺¹ to δˡ
        gain = left.gain * right.gain
        above = factors[high + 1].product_name if high + 1 < len(factors) else "·"
        label = f"‖{left.product_name}‖ / ‖{above}‖ = {_gain_text(gain)}"
    with graph.subgraph(name=f"cluster_pair{low}") as pair:
        pair.attr(label=plain_label(label), style="rounded",
                  color=family(gain)[4], fontcolor=family(gain)[5], fontsize="11")
        for k, i in enumerate(unit):
            _factor_node(pair, f"f{i}", factors[i], detail, times if k == 0 else "× ", group)


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


def _result_text(factors: list[Factor], target: str) -> str:
    """The last box: what the product is, its value, and (for numbers) the same as a multiple
    of where backprop started; for a bias's sum over the batch, that its size is the layer's
    speed of learning (docs/glossary.md), the number of the layer picture of the same batch."""
    total = factors[0]
    lines = [target or total.product_name or "product"]
    if total.product is not None:
        lines.append(f"= {_total_text(total)}")
        if factors[-1].kind == "cost" and len(factors) > 1:
            rest = math.prod(f.value for f in factors[:-1])
            lines += [f"= {fmt(rest, 6)}", f"× {factors[-1].name}"]
    else:
        lines = [f"{lines[0]}, shape {total.product_shape}", f"‖·‖ {total.product_text}"]
        if total.name == "Σ over the batch":  # a bias: its gradient's size is its speed
            lines.append("the layer's speed s")
    return "\n".join(lines)


def _caption(factors: list[Factor], target: str, skipped: int, is_scalar: bool,
             detail: bool) -> str:
    """The equation in Nielsen's order, the reading direction (said once here), the colours."""
    names = [f.name.split(" = ")[0] for f in factors]  # "δ⁵ = (a⁵ − y)/N" -> "δ⁵"
    lhs = target or "product"
    summed = not is_scalar and factors[0].name == "Σ over the batch" and len(factors) > 1
    if summed:  # ∂C/∂b¹ = Σ over the batch of δ¹,  δ¹ = σ′(z¹) (w²)ᵀ ... δᴸ
        delta = factors[1].product_name
        lhs, names = f"{lhs} = Σ over the batch of {delta},  {delta}", names[1:]
    if len(names) > 12:
        names = names[:5] + ["…"] + names[-5:]
    has_sigma = any(f.kind == "sigma" and f.name.startswith("σ′") for f in factors)
    equation = f"{lhs} = " + (" × " if is_scalar else " ").join(names)
    source = f"   (Nielsen's eq. {122 if is_scalar else 124})"
    if has_sigma and len(equation + source) <= _CAPTION_WIDTH:
        equation += source
    first = factors[-1].name.split(" = ")[0]
    last = target or factors[0].product_name or "the product"
    lines = [equation,
             f"read left to right in the order backprop multiplies: from {first} to {last}"]
    if is_scalar:
        lines.append("blue ↓ |factor| < 1 shrinks the gradient, red ↑ |factor| > 1 grows it")
    else:
        lines.append("each box: the factor's size, then ‖gradient‖ after it and its gain "
                     "‖after‖ / ‖before‖")
        if detail:
            lines.append("sizes: ‖J‖ and mean|J| of the local Jacobian; σ′ multiplies unit by "
                         "unit, (w)ᵀ is a matrix product")
        lines.append("blue ↓ gain < 1: the gradient shrinks on its way down, red ↑ gain > 1: "
                     "it grows")
    if has_sigma:
        lines[-1] += ";  σ′(z) = σ(z)(1 − σ(z)) ≤ ¼" if is_scalar else ";  σ′ ≤ ¼"
    if skipped:
        lines.append(f"({skipped} factor{'s' if skipped > 1 else ''} of exactly 1, from '+', "
                     "left out)")
    return "\n".join(wrap(line, _CAPTION_WIDTH) for line in lines)
