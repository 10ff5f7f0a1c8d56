r"""Traces: the record of every chain-rule step of one backward pass, and path queries.

    from minigrad.trace import trace, neuron_chain
    chain = neuron_chain([0.5, -0.8, 0.3, 0.9], [0.1, 0.2, -0.3, 0.4])
    record = trace(chain.cost)          # runs the backward pass once, recording every step
    path = record.path(chain["b1"])     # the steps from C down to b1
    print(path.table())                 # factor (d node/d parent) and running product per row
    path[-1].product == chain["b1"].grad   # a chain: the product of the factors is the gradient

``trace(output)`` *runs* the backward pass itself, as ``output.backward()`` with a listener on
every step, and so is always a record of its own pass from ``output``: never of gradients an
earlier pass (of this output, or of a bigger graph containing it) left behind. It never adds
to a gradient a leaf already holds; ``record.gradient(node)`` is every node's gradient in this
pass, which the pictures show.

A path is a list of :class:`PathStep`, from the output down to the chosen node. Each carries
``factor`` (the local derivative d node/d parent) and ``product``: the seed times the factors so
far, i.e. the gradient reaching ``parent`` along this path alone. On a chain (one path) the last
product is the gradient backward computed. With several paths, :meth:`Trace.path` follows the
largest |contribution| at every step and :meth:`Trace.paths` lists them all (up to a limit).
For tensors the product is the vector-Jacobian product carried along the path (an array of the
parent's shape), and steps carry shapes and :class:`Summary` figures (norm, mean |.|).

No function here recurses over the graph: a 100,000-node chain traces and queries fine.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from minigrad.adapters import is_torch
from minigrad.engine import ChainStep, Node, topological_order
from minigrad.names import NodeNames
from minigrad.value import Value

__all__ = [
    "trace",
    "holds_array",
    "Trace",
    "Step",
    "Summary",
    "summarize",
    "PathStep",
    "Path",
    "NeuronChain",
    "neuron_chain",
    "exploding_chain",
]


def holds_array(node: Node) -> bool:
    """True for a node that holds an array (a Tensor, whatever the engine), False for one plain
    number (a Value): an array, even a 0-d one, has a shape."""
    return hasattr(node.data, "shape")


# ---- summaries ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Summary:
    """Shape, Euclidean norm and mean |.| of a number or an array (a gradient, a Jacobian)."""

    shape: tuple[int, ...]
    norm: float  # sqrt of the sum of squares of all elements (Frobenius for matrices)
    mean_abs: float  # mean of |element|

    def __str__(self) -> str:
        shape = f" {self.shape}" if self.shape else ""
        return f"‖·‖={self.norm:.4g} mean|·|={self.mean_abs:.4g}{shape}"


def summarize(x: Any) -> Summary | None:
    """Summary of a float, a numpy array, or None (no description) -> None."""
    if x is None:
        return None
    if isinstance(x, (int, float)):
        return Summary((), abs(float(x)), abs(float(x)))
    array = np.asarray(x)
    if array.size == 0:
        return Summary(array.shape, 0.0, 0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        flat = array.reshape(-1)
        return Summary(array.shape, float(np.linalg.norm(flat)), float(np.abs(flat).mean()))


def _size(x: Any) -> float:
    """|x| for a number, the norm for an array, 0 for None."""
    if x is None:
        return 0.0
    if isinstance(x, (int, float)):
        return abs(float(x))
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.linalg.norm(np.asarray(x).reshape(-1)))


def _ratio(top: float, bottom: float) -> float:
    """top / bottom for sizes, nan when the bottom is 0 (no gain defined)."""
    if bottom == 0.0 or math.isnan(bottom):
        return math.nan
    return top / bottom


# ---- steps --------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Step(ChainStep):
    """One recorded chain-rule step (the engine's ChainStep) with shapes and summaries.

    For tensors the summaries are taken when the step runs (the arrays they describe may be
    updated in place later, e.g. by an optimiser); for scalars they are computed on request.
    """

    summaries: tuple[Summary | None, Summary | None, Summary | None] | None = field(
        default=None, repr=False)

    __eq__ = object.__eq__  # steps are events: equal only to themselves (arrays do not compare)
    __hash__ = object.__hash__

    def _summaries(self) -> tuple[Summary | None, Summary | None, Summary | None]:
        if self.summaries is not None:
            return self.summaries
        return summarize(self.local), summarize(self.upstream), summarize(self.contribution)

    @property
    def local_summary(self) -> Summary | None:
        """Norm and mean |.| of the local derivative's description (None: not described)."""
        return self._summaries()[0]

    @property
    def upstream_summary(self) -> Summary:
        """Norm and mean |.| of dC/d node."""
        return self._summaries()[1]

    @property
    def contribution_summary(self) -> Summary:
        """Norm and mean |.| of what this edge adds to dC/d parent."""
        return self._summaries()[2]

    @property
    def node_shape(self) -> tuple[int, ...]:
        """Shape of the child node's data (() for a Value)."""
        return np.shape(self.node.data)

    @property
    def parent_shape(self) -> tuple[int, ...]:
        """Shape of the parent's data (() for a Value)."""
        return np.shape(self.parent.data)

    @property
    def gain(self) -> float:
        """|contribution| / |upstream| (norms for tensors): below 1 the gradient shrinks here."""
        s = self._summaries()
        return _ratio(s[2].norm, s[1].norm)


def _step_of(chain_step: ChainStep, is_tensor: bool) -> Step:
    """A ChainStep from the engine as a Step (tensor steps summarised now)."""
    c = chain_step
    summaries = None
    if is_tensor:
        summaries = (summarize(c.local), summarize(c.upstream), summarize(c.contribution))
    return Step(c.node, c.parent, c.index, c.local, c.upstream, c.contribution, summaries)


# ---- paths --------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class PathStep:
    """One step of a path: ``product`` = seed x the factors down to and including this one."""

    step: Step
    factor: Any  # d node / d parent (the local derivative; for tensors its description)
    product: Any  # dC/d parent along this path alone (for tensors: an array of parent's shape)
    gain: float  # |product| / |previous product|: |factor| for scalars, norms for tensors

    @property
    def node(self) -> Node:
        return self.step.node

    @property
    def parent(self) -> Node:
        return self.step.parent

    @property
    def index(self) -> int:
        return self.step.index

    @property
    def upstream(self) -> Any:
        """dC/d node in total (all paths), as backward saw it."""
        return self.step.upstream

    @property
    def contribution(self) -> Any:
        """What this edge added to dC/d parent (all paths into the node)."""
        return self.step.contribution

    @property
    def factor_summary(self) -> Summary | None:
        return self.step.local_summary

    @property
    def product_summary(self) -> Summary:
        return summarize(self.product)


class Path(list):
    """The steps from the output down to one node: a list of PathStep with a text table."""

    def __init__(self, steps: Sequence[PathStep], *, record: Trace, target: Node) -> None:
        super().__init__(steps)
        self.record = record
        self.target = target

    @property
    def gradient(self) -> Any:
        """The last product: dC/d target along this path (the seed for an empty path)."""
        return self[-1].product if self else self.record.seed

    @property
    def is_tensor(self) -> bool:
        return self.record.is_tensor

    def table(self, max_rows: int | None = None) -> str:
        """A text table: one row per step with its factor and the running product.

        ``max_rows``: a longer path shows its first and last ``max_rows // 2`` steps, and a
        line saying how many were left out between them.
        """
        name = self.record.name
        out_name, target_name = name(self.record.output), name(self.target)
        head = (f"path from {out_name} down to {target_name}: {len(self)} steps; "
                f"seed dC/d{out_name} = {_text(self.record.seed)}")
        if self.is_tensor:
            rows = [("#", "node", "op", "parent", "parent shape", "‖factor‖", "‖product‖",
                     "gain")]
            for k, p in enumerate(self, 1):
                f = p.factor_summary
                rows.append((str(k), name(p.node), p.node.op, name(p.parent),
                             str(p.step.parent_shape), "—" if f is None else f"{f.norm:.4g}",
                             f"{p.product_summary.norm:.4g}", f"{p.gain:.4g}"))
        else:
            rows = [("#", "node", "op", "parent", "factor d node/d parent",
                     "product dC/d parent")]
            for k, p in enumerate(self, 1):
                rows.append((str(k), name(p.node), p.node.op, name(p.parent),
                             f"{p.factor:.10g}", f"{p.product:.10g}"))
        left_out = 0
        if max_rows is not None and len(rows) - 1 > max(max_rows, 2):
            keep = max(max_rows, 2) // 2
            left_out = len(rows) - 1 - 2 * keep
            rows = rows[: 1 + keep] + rows[-keep:]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = [head] + ["  ".join(c.rjust(w) if i in (0,) or i >= 4 else c.ljust(w)
                                    for i, (c, w) in enumerate(zip(r, widths))).rstrip()
                          for r in rows]
        if left_out:
            at = 2 + keep  # after the head, the column titles and the first rows
            lines.insert(at, f"... {left_out:,} steps left out (the whole table: "
                             "path.table()) ...")
        lines.append(f"dC/d{target_name} along this path = {_text(self.gradient)}")
        return "\n".join(lines)


def _text(x: Any) -> str:
    """A number as '%.10g', an array as its summary."""
    if isinstance(x, (int, float)):
        return f"{x:.10g}"
    return str(summarize(x))


# ---- the record ---------------------------------------------------------------------------------
class Trace:
    """Every chain-rule step of one backward pass from ``output``, in the order they ran."""

    def __init__(self, output: Node, seed: Any, steps: list[Step]) -> None:
        self.output = output
        self.seed = seed  # dC/d output: 1.0 for a Value
        self.steps = steps
        self.is_tensor = holds_array(output)
        self._nodes: list[Node] | None = None
        self._names: NodeNames | None = None
        self._down: dict[Node, list[Step]] | None = None
        self._up: dict[Node, list[Step]] | None = None

    def __repr__(self) -> str:
        return f"Trace({len(self.steps)} steps from {self.name(self.output)})"

    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    # ---- graph structure (built on first use) ---------------------------------------------
    @property
    def nodes(self) -> list[Node]:
        """Every node below the output, each after its parents (the output last)."""
        if self._nodes is None:
            self._nodes = topological_order(self.output)
        return self._nodes

    def _edges(self) -> tuple[dict[Node, list[Step]], dict[Node, list[Step]]]:
        if self._down is None:
            down: dict[Node, list[Step]] = {}
            up: dict[Node, list[Step]] = {}
            for s in self.steps:
                down.setdefault(s.node, []).append(s)
                up.setdefault(s.parent, []).append(s)
            self._down, self._up = down, up
        return self._down, self._up

    def gradient(self, node: Node) -> Any:
        """dC/d node in this pass: the seed for the output, else the sum of the contributions
        its users handed it, added in the order backward added them (None: it got none)."""
        if node is self.output:
            return self.seed
        total = None
        for step in self._edges()[1].get(node, ()):
            total = step.contribution if total is None else total + step.contribution
        return total

    def edges_of(self, node: Node) -> list[Step]:
        """The steps from ``node`` to its parents (its backward edges), in argument order."""
        return list(self._edges()[0].get(node, ()))

    def uses_of(self, node: Node) -> list[Step]:
        """The steps into ``node`` from its users: their contributions sum to its grad."""
        return list(self._edges()[1].get(node, ()))

    @property
    def names(self) -> NodeNames:
        """The graph's namer (:class:`minigrad.names.NodeNames`), shared by tables and pictures."""
        if self._names is None:
            self._names = NodeNames(self.output, self.nodes)
        return self._names

    def name(self, node: Node) -> str:
        """The node's name: its layer role (z¹, w¹, ...), else its label, else 'op#i'."""
        return self.names(node)

    # ---- paths ------------------------------------------------------------------------------
    def _above(self, target: Node) -> set[Node]:
        """The nodes from which a chain of recorded steps leads down to ``target`` (itself too)."""
        up = self._edges()[1]
        seen = {target}
        stack = [target]
        while stack:
            for s in up.get(stack.pop(), ()):
                if s.node not in seen:
                    seen.add(s.node)
                    stack.append(s.node)
        if self.output not in seen:
            raise ValueError(f"trace path: {self.name(target)} ({type(target).__name__}) got no "
                             f"gradient from {self.name(self.output)}: it is not below the "
                             "output, or no step reached it")
        return seen

    def path(self, node: Node) -> Path:
        """The steps from the output down to ``node``, following the largest |contribution|.

        On a chain this is the only path. Where several parents lead to ``node``, the step with
        the largest |contribution| (norm, for tensors) is taken, the first in argument order on
        a tie: the path that carries most of the gradient. :meth:`paths` gives all of them.
        """
        above = self._above(node)
        down = self._edges()[0]
        chosen: list[Step] = []
        current = self.output
        while current is not node:
            best, best_size = None, -1.0
            for s in down[current]:
                if s.parent in above:
                    size = s.contribution_summary.norm if self.is_tensor else abs(s.contribution)
                    # strict: the first on a tie; a NaN is never larger, but a path exists
                    if best is None or size > best_size:
                        best, best_size = s, size
            chosen.append(best)
            current = best.parent
        return self._path_of(chosen, node)

    def paths(self, node: Node, limit: int = 64) -> list[Path]:
        """Every path from the output down to ``node`` (at most ``limit``, in argument order)."""
        above = self._above(node)
        down = self._edges()[0]
        found: list[Path] = []
        # Depth-first with an explicit stack of (node, steps so far).
        stack: list[tuple[Node, list[Step]]] = [(self.output, [])]
        while stack and len(found) < limit:
            current, steps = stack.pop()
            if current is node:
                found.append(self._path_of(steps, node))
                continue
            options = [s for s in down.get(current, ()) if s.parent in above]
            for s in reversed(options):  # reversed: the first argument is explored first
                stack.append((s.parent, steps + [s]))
        return found

    def _path_of(self, steps: list[Step], target: Node) -> Path:
        """PathSteps with running products: seed x factors (scalars) or the VJP along the path."""
        out: list[PathStep] = []
        product = self.seed
        previous = _size(product)
        for s in steps:
            if not self.is_tensor:
                product = product * s.local
                gain = abs(s.local)
            else:
                if product is not s.upstream:
                    # Another path also feeds s.node: carry only this path's part through the
                    # node's backward rule (the same VJP the engine applied to the full upstream).
                    product = s.node.vjp(product)[s.index]
                else:  # all of the node's gradient came along this path: reuse the engine's
                    product = s.contribution
                size = _size(product)
                gain, previous = _ratio(size, previous), size
            out.append(PathStep(s, s.local, product, gain))
        return Path(out, record=self, target=target)

    def table(self, node: Node) -> str:
        """``self.path(node).table()``."""
        return self.path(node).table()


class _ForeignTrace(Trace):
    """The Trace of another engine's graph (PyTorch's, :mod:`minigrad.adapters.torch`): its
    nodes stand for that engine's tensors, and every query also takes the tensors themselves
    (``record.path(b1)`` for a torch leaf ``b1``)."""

    def __init__(self, output: Node, seed: Any, steps: list[Step], lookup: Any) -> None:
        super().__init__(output, seed, steps)
        self._lookup = lookup  # a tensor -> its node (anything else unchanged)

    def gradient(self, node: Any) -> Any:
        return super().gradient(self._lookup(node))

    def edges_of(self, node: Any) -> list[Step]:
        return super().edges_of(self._lookup(node))

    def uses_of(self, node: Any) -> list[Step]:
        return super().uses_of(self._lookup(node))

    def name(self, node: Any) -> str:
        return super().name(self._lookup(node))

    def path(self, node: Any) -> Path:
        return super().path(self._lookup(node))

    def paths(self, node: Any, limit: int = 64) -> list[Path]:
        return super().paths(self._lookup(node), limit)


def trace(output: Node, *, gradient: Any = None, labels: dict[str, Any] | None = None) -> Trace:
    """Run the backward pass of ``output`` and record every chain-rule step.

    The trace is always of its own pass, from ``output``: every step, seed, product and
    gradient in it is that pass's (``record.gradient(node)``), never read back from gradients
    an earlier pass left behind. The pass is ``output.backward()``, with one difference: a
    trace never adds to a gradient a leaf already holds (from an earlier pass of this output,
    or of a bigger graph containing it). Such a leaf keeps its gradient as it was; a leaf that
    held none is left with this pass's, as after ``backward()``. ``gradient``: dC/d output for
    a Tensor output with more than one element (as for ``Tensor.backward``).

    A torch tensor with a ``grad_fn`` is traced by :mod:`minigrad.adapters.torch`: its autograd
    graph as nodes of the same interface, the same Trace; ``labels`` ({name: tensor}) names
    torch tensors (minigrad nodes carry their own labels).
    """
    if is_torch(output):
        from minigrad.adapters.torch import traced_backward

        root, seed, chain_steps, lookup = traced_backward(output, gradient=gradient,
                                                          labels=labels)
        return _ForeignTrace(root, seed, [_step_of(c, holds_array(root)) for c in chain_steps],
                             lookup)
    if labels is not None:
        raise TypeError("trace: labels= names torch tensors; minigrad nodes carry their own "
                        "(node.label)")
    if not isinstance(output, Node):
        raise TypeError(f"trace: expected a Value or Tensor output, got {type(output).__name__}")
    is_tensor = holds_array(output)
    if not is_tensor and gradient is not None:
        raise TypeError("trace: a Value output is seeded with dC/dC = 1; gradient= is for "
                        "Tensor outputs")
    held = {node: node.grad for node in topological_order(output)
            if node.is_leaf and _has_gradient(node)}
    for node in held:  # this pass starts from no gradient at every leaf
        node.zero_grad()
    steps: list[Step] = []
    record = steps.append
    try:
        if is_tensor:
            output.backward(gradient, on_step=lambda c: record(_step_of(c, True)))
        else:
            output.backward(on_step=lambda c: record(_step_of(c, False)))
    finally:
        for node, grad in held.items():  # what they held before, not added to
            node.grad = grad
    return Trace(output, output.grad, steps)


def _has_gradient(node: Node) -> bool:
    """True when a node holds a gradient: an array (Tensor), or a non-zero number (Value)."""
    grad = node.grad
    if grad is None:
        return False
    return bool(np.any(grad != 0)) if hasattr(grad, "shape") else grad != 0.0


# ---- the book's chain of single neurons ---------------------------------------------------------
@dataclass
class NeuronChain:
    """Nielsen's chain of single sigmoid neurons: z_j = w_j a_{j-1} + b_j, a_j = sigma(z_j).

    Lists are indexed from 0 (``w[0]`` is w_1); ``chain["b1"]`` finds a node by its label.
    """

    a0: Value  # the input a_0
    w: list[Value]
    b: list[Value]
    z: list[Value]
    a: list[Value]
    cost: Value  # C
    nodes: dict[str, Value] = field(repr=False, default_factory=dict)

    @property
    def depth(self) -> int:
        return len(self.w)

    def __getitem__(self, label: str) -> Value:
        if label not in self.nodes:
            raise KeyError(f"NeuronChain: no node labelled {label!r}; labels are "
                           f"{', '.join(self.nodes)}")
        return self.nodes[label]


def neuron_chain(weights: Sequence[float], biases: Sequence[float] | None = None,
                 x: float = 0.5, *, zero_z: bool = False, cost: str = "quadratic",
                 y: float = 0.0) -> NeuronChain:
    r"""Build the book's chain from Values: z_j = w_j a_{j-1} + b_j, a_j = sigma(z_j), then C.

    ``biases`` default to 0; ``zero_z=True`` sets b_j = -w_j a_{j-1} so that every z_j = 0
    (the exploding construction). ``cost``: "quadratic" C = (a_L - y)^2 / 2 (dC/da_L = a_L - y)
    or "output" C = a_L (dC/da_L = 1). Labels: a0, w1, b1, z1, a1, ..., C.
    """
    weights = [float(w) for w in weights]
    if not weights:
        raise ValueError("neuron_chain: needs at least one weight")
    if zero_z and biases is not None:
        raise ValueError("neuron_chain: zero_z=True computes the biases; do not pass biases")
    if biases is not None and len(biases) != len(weights):
        raise ValueError(f"neuron_chain: {len(weights)} weights but {len(biases)} biases")
    if cost not in ("quadratic", "output"):
        raise ValueError(f"neuron_chain: unknown cost {cost!r}; use 'quadratic' or 'output'")
    a = Value(x, label="a0")
    chain = NeuronChain(a0=a, w=[], b=[], z=[], a=[], cost=a)
    chain.nodes["a0"] = a
    for j, w_j in enumerate(weights, 1):
        # z_j = w_j a_{j-1} + b_j; with zero_z, b_j = -(w_j a_{j-1}) and the sum is exactly 0.
        b_j = -(w_j * a.data) if zero_z else (0.0 if biases is None else float(biases[j - 1]))
        w, b = Value(w_j, label=f"w{j}"), Value(b_j, label=f"b{j}")
        wa = w * a
        wa.label = f"w{j}a{j - 1}"
        z = wa + b
        z.label = f"z{j}"
        a = z.sigmoid()
        a.label = f"a{j}"
        for node in (w, b, wa, z, a):
            chain.nodes[node.label] = node
        chain.w.append(w)
        chain.b.append(b)
        chain.z.append(z)
        chain.a.append(a)
    if cost == "quadratic":
        target = Value(y, label="y")
        error = a - target
        error.label = f"{a.label}-y"
        square = error**2
        square.label = f"({error.label})²"
        c = square * 0.5
        c.label = "C"
        c.parents[1].label = "½"
        chain.nodes.update(y=target, C=c)
        chain.nodes[error.label] = error
        chain.cost = c
    else:
        chain.cost = a
        chain.nodes["C"] = a
    return chain


def exploding_chain(depth: int = 4, weight: float = 100.0, x: float = 0.5, *,
                    cost: str = "quadratic", y: float = 0.0) -> NeuronChain:
    r"""The book's exploding construction: every w_j = weight, b_j = -w_j a_{j-1}, every z_j = 0.

    Then every sigma'(z_j) = 1/4 and w_j sigma'(z_j) = weight/4 (25 for the book's 100), so
    dC/db_1 = (1/4) (weight/4)^(depth-1) dC/da_L: 3906.25 dC/da_4 for depth 4.
    """
    if depth < 1:
        raise ValueError(f"exploding_chain: depth must be at least 1, got {depth}")
    return neuron_chain([weight] * depth, x=x, zero_z=True, cost=cost, y=y)
