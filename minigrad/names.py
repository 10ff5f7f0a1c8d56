r"""How things are named and written: nodes, activations, numbers. One place for each word.

- :class:`NodeNames`: the one namer of a graph's nodes, used by traces, factors, tables and
  pictures. A network of ``linear`` layers is named as Nielsen does, layers counted from the
  input: the l-th ``linear`` node is z^l, the activation applied to it a^l, its parameters w^l
  and b^l, an unlabelled input of layer 1 x, an unlabelled one-number output C. Any other node
  is its label, else its op and place in topological order ('sigmoid#7', 'leaf#0').
- :data:`ACTIVATIONS`: the one table of activation ops: the op's name, its derivative's
  display name (σ′), the derivative's ceiling, and its saturation rule.
- :func:`fmt`, :func:`fmt_exact`, :func:`gain_label`: how numbers are written.

Reads only the nodes' public properties (``op``, ``parents``, ``is_leaf``, ``label``, ``data``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "Activation",
    "ACTIVATIONS",
    "derivative_name",
    "NodeNames",
    "layer_names",
    "network_layers",
    "superscript",
    "describe_missing_local",
    "fmt",
    "fmt_exact",
    "ratio_text",
    "gain_label",
]


# ---- the activation table -------------------------------------------------------------------
@dataclass(frozen=True)
class Activation:
    """One activation op: how its derivative is written, its ceiling, when it is saturated."""

    op: str  # the op name a node carries: "sigmoid"
    derivative: str  # its derivative's display name: "σ′"
    ceiling: float  # the largest |derivative|: 1/4 for sigmoid, 1 for tanh and ReLU
    saturation_rule: str  # the rule in words, for docs and legends
    saturated_word: str  # what a saturated unit is called in a picture: "saturated"
    is_saturated: Callable[[np.ndarray], np.ndarray]  # a -> bool array, from the output a

    def saturation(self, a: np.ndarray) -> float:
        """The fraction of the activations ``a`` that are saturated (for ReLU: exactly 0)."""
        a = np.asarray(a)
        return float(self.is_saturated(a).mean()) if a.size else 0.0


SIGMOID_SATURATED = (0.01, 0.99)  # a below / above these: |z| > 4.6, sigma'(z) < 0.0099
TANH_SATURATED = 0.99  # |a| above this: |z| > 2.65

ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation("sigmoid", "σ′", 0.25, "a < 0.01 or a > 0.99", "saturated",
                          lambda a: (a < SIGMOID_SATURATED[0]) | (a > SIGMOID_SATURATED[1])),
    "tanh": Activation("tanh", "tanh′", 1.0, "|a| > 0.99", "saturated",
                       lambda a: np.abs(a) > TANH_SATURATED),
    "relu": Activation("relu", "relu′", 1.0, "a = 0 (the unit is off for that input)",
                       "zero (dead)", lambda a: a == 0),
}


# ---- node names -----------------------------------------------------------------------------
_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def superscript(n: int) -> str:
    """A layer index as superscript digits: 12 -> '¹²'."""
    return str(n).translate(_SUPERSCRIPTS)


def layer_names(order: Iterable[Any]) -> dict[Any, str]:
    r"""Names from the layers of a network: z^l, a^l, w^l, b^l (l counted from the input), x.

    ``order``: the graph's nodes, each after its parents (``topological_order``). The l-th
    ``linear`` node on the longest way up from the inputs is z^l; the activation applied to it
    a^l; its weight and bias w^l and b^l; an unlabelled leaf input of layer 1 is x. Nodes with
    no such role are left out. A graph without ``linear`` nodes gives an empty dict.
    """
    order = list(order)
    layer: dict[Any, int] = {}  # how many linear nodes lie on the longest way up to a node
    names: dict[Any, str] = {}
    for node in order:
        parents = node.parents
        depth = max((layer[p] for p in parents), default=0)  # parents come first in ``order``
        if node.op == "linear":
            depth += 1
            mark = superscript(depth)
            names[node] = f"z{mark}"
            x, weight, *bias = parents
            names.setdefault(weight, f"w{mark}")  # a shared weight keeps its first name
            if bias:
                names.setdefault(bias[0], f"b{mark}")
            if depth == 1 and x.is_leaf and not x.label:
                names.setdefault(x, "x")
        layer[node] = depth
    for z, a in network_layers(order):
        if a is not None:
            names[a] = f"a{names[z][1:]}"
    return names


def derivative_name(op: str) -> str:
    """How the derivative of an activation op is written: 'σ′' (the table's), else "exp′"."""
    return ACTIVATIONS[op].derivative if op in ACTIVATIONS else f"{op}′"


# One-parent ops that rearrange or reduce rather than act unit by unit: never an activation.
_NOT_ACTIVATIONS = {"reshape", "transpose", "index", "sum", "mean", "max", "neg"}


def network_layers(order: Iterable[Any]) -> list[tuple[Any, Any | None]]:
    """(z^l, a^l) for every ``linear`` node of a graph, in the order given (each layer after
    every layer it depends on); a^l is the activation applied to z^l, or None.

    The activation is the one-parent user of z^l whose op is in :data:`ACTIVATIONS`, else a
    one-parent user of z's shape that acts unit by unit (any other elementwise op: exp, a
    user's own), else None. The one place that says what a layer of a graph is: the flow
    measurement, the collapsed graph picture and the layer names use it.
    """
    order = list(order)
    users: dict[Any, list[Any]] = {}
    for node in order:
        for parent in node.parents:
            users.setdefault(parent, []).append(node)
    layers = []
    for node in order:
        if node.op != "linear":
            continue
        single = [u for u in users.get(node, ()) if len(u.parents) == 1]
        activation = next((u for u in single if u.op in ACTIVATIONS), None)
        if activation is None:
            activation = next((u for u in single if u.op not in _NOT_ACTIVATIONS
                               and np.shape(u.data) == np.shape(node.data)), None)
        layers.append((node, activation))
    return layers


class NodeNames:
    """The names of one graph's nodes: by layer (z¹, a¹, w¹, b¹, x, C), else label, else op#i.

    ``order``: the graph below ``output``, each node after its parents (the engine's
    ``topological_order(output)``).
    """

    def __init__(self, output: Any, order: list[Any]) -> None:
        self.output = output
        self._index = {node: i for i, node in enumerate(order)}
        self._by_layer = layer_names(order)
        if not output.label and hasattr(output.data, "shape") and np.size(output.data) == 1:
            self._by_layer[output] = "C"  # an unlabelled one-number Tensor output: the cost

    def __call__(self, node: Any) -> str:
        """The node's name: its layer role, else its label, else 'op#i' (i: topological)."""
        name = self._by_layer.get(node) or node.label
        if name:
            return name
        i = self._index.get(node)
        return f"{node.op or 'leaf'}#{'?' if i is None else i}"

    @property
    def root(self) -> str:
        """The output's name ('C' for a network's unlabelled cost)."""
        return self(self.output)

    def gradient(self, node: Any) -> str:
        """What the gradient with respect to ``node`` is called: δˡ for z^l, else ∂C/∂node."""
        name = self(node)
        if node.op == "linear" and name.startswith("z"):
            return f"δ{name[1:]}"
        return f"∂{self.root}/∂{name}"


def describe_missing_local(op: str) -> str:
    """What to write for an op whose local derivative is not described."""
    return "rearranges" if op in ("reshape", "transpose", "index") else "J not described"


# ---- numbers --------------------------------------------------------------------------------
def fmt(x: float | None, digits: int = 6) -> str:
    """A number in ``digits`` significant digits ('0.196612', '-3.9e-05', 'inf', 'nan')."""
    if x is None:
        return "—"
    return f"{float(x):.{digits}g}"


def fmt_exact(x: float) -> str:
    """The shortest text that reads back as exactly the same float (Python's repr)."""
    return repr(float(x))


def ratio_text(r: float) -> str:
    """A ratio for a sentence: 95.8 -> '96', 4.93 -> '4.9', 4.0 -> '4.0', 0.213 -> '0.21'."""
    if not math.isfinite(r):
        return str(r)
    return f"{r:.0f}" if r >= 9.95 else f"{r:.1f}" if r >= 0.995 else f"{r:.2g}"


def gain_label(gain: float | None) -> str:
    """A gain as an edge label or a table cell: 'x0.2', 'x25', 'x1.0'; '' when there is none.

    A gain is always ‖gradient after‖ / ‖gradient before‖ on the way down (docs/glossary.md):
    below 1 the gradient shrinks, above 1 it grows.
    """
    if gain is None or (isinstance(gain, float) and math.isnan(gain)):
        return ""
    return f"x{ratio_text(gain)}"
