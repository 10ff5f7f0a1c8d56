"""The graph core shared by Value and Tensor: topological order, backward, observable steps.

Every number minigrad computes is a node. A node knows its parents (an ordered tuple: ``a + a``
has two edges to ``a``), the name of the op that made it, and its *vector-Jacobian product*:
``node.vjp(upstream)`` is one contribution per parent, what the chain rule adds to that
parent's gradient. A Tensor node gets it from a plain module-level function
``rule(ctx, upstream)`` and the values ``ctx`` its op saved; a Value stores its (at most two)
parents and their local derivatives in slots of its own (one object per op for the cyclic
garbage collector to count, not three) and multiplies. Neither points back at the node it
belongs to, so a finished graph holds no reference cycles and is freed by reference counting
the moment nothing points at it.

``backward(root)`` is the chain rule, once, for every kind of node:

1. order the graph so that each node comes after all of its parents (an explicit stack, no
   recursion, so a chain a million nodes deep works);
2. seed ``root.grad`` and walk the order backwards; at each node apply its rule to its gradient
   (the *upstream* gradient) and add each contribution to that parent's gradient
   (``node._pass_down(upstream)``).

Each of those additions is a *chain-rule step*: (node, parent, local derivative d node/d parent,
upstream gradient, contribution = local derivative x upstream). Pass ``on_step`` to see every
step as it happens; :mod:`minigrad.trace` records them and the pictures draw them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Node",
    "ChainStep",
    "topological_order",
    "backward",
    "no_grad",
    "is_grad_enabled",
]

_grad_enabled = True


def is_grad_enabled() -> bool:
    """True unless inside ``no_grad()``: ops then record no parents and build no graph."""
    return _grad_enabled


@contextmanager
def no_grad() -> Iterator[None]:
    """Compute without building a graph (evaluation, optimiser updates)."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


class Node:
    """A value in the graph: ``data``, ``grad``, parents, the op name and its backward rule.

    The engine reads a node's ``_parents`` and calls its ``_pass_down`` (and, when observed,
    ``_vjp`` and ``local_derivatives``). Here they come from ``_rule(_ctx, upstream)``, as Tensor
    ops make them; Value keeps its parents and local derivatives in slots and overrides them.
    ``_op`` is '' exactly when the node is a leaf (no parents): the graph walk reads it.
    """

    __slots__ = ("data", "grad", "label", "_parents", "_op", "_rule", "_ctx", "__weakref__")

    # What a non-leaf gradient is reset to at the start of each backward pass.
    _NO_GRAD: Any = None

    @property
    def parents(self) -> tuple[Node, ...]:
        """The nodes this one was computed from, in argument order (repeats kept)."""
        return self._parents

    @property
    def op(self) -> str:
        """The name of the op that made this node ('' for a leaf)."""
        return self._op

    @property
    def is_leaf(self) -> bool:
        """True for inputs and parameters: nodes with no parents in the graph."""
        return not self._parents

    def local_derivatives(self) -> tuple[Any, ...]:
        """d(self)/d(parent) for each parent (None where a node type does not describe it)."""
        return (None,) * len(self._parents)

    def vjp(self, upstream: Any) -> tuple[Any, ...]:
        """This node's backward rule applied to ``upstream`` (dC/d self): one contribution per
        parent (None where a parent needs no gradient). What ``backward`` does at this node,
        without touching any gradient: a trace uses it to carry one path's share."""
        if not self._parents:
            raise ValueError("vjp: a leaf has no backward rule (it has no parents)")
        return self._vjp(upstream)

    def _vjp(self, upstream: Any) -> tuple[Any, ...]:
        return self._rule(self._ctx, upstream)

    def _pass_down(self, upstream: Any) -> None:
        """The chain rule at this node: add each contribution to its parent's gradient."""
        for parent, contribution in zip(self._parents, self._rule(self._ctx, upstream)):
            if contribution is not None:  # None: this parent needs no gradient
                grad = parent.grad
                parent.grad = contribution if grad is None else grad + contribution


@dataclass(frozen=True)
class ChainStep:
    """One use of the chain rule: ``parent.grad += contribution``.

    ``contribution = local * upstream`` for scalars; for tensors it is the vector-Jacobian
    product of ``upstream`` with the local Jacobian d node / d parent.
    """

    node: Node
    parent: Node
    index: int  # which argument of node's op the parent is (a + a has index 0 and 1)
    local: Any  # d node / d parent
    upstream: Any  # dC/d node, complete when the step runs
    contribution: Any  # what this edge adds to dC/d parent


def topological_order(root: Node, leaves: bool = True) -> list[Node]:
    """Every node that ``root`` depends on, each after all of its parents (iterative DFS).

    ``leaves=False`` leaves out the nodes without parents (inputs, parameters): backward has
    nothing to do at them.
    """
    order: list[Node] = []
    visited: set[Node] = set()  # nodes hash by identity
    # A stack entry is a node to expand, or, wrapped in a 1-tuple, a node whose parents are
    # all done and which can be emitted: no recursion, no per-node bookkeeping object.
    stack: list[Any] = [root]
    while stack:
        item = stack.pop()
        if type(item) is tuple:  # bench_scalar: not isinstance(), which makes the walk ~10% slower
            order.append(item[0])
        elif item not in visited:
            visited.add(item)
            parents = item._parents
            if parents or leaves:
                stack.append((item,))
                for parent in parents:
                    # a leaf's op is '': bench_mlp: without leaves, they are not even pushed
                    if parent not in visited and (leaves or parent._op):
                        stack.append(parent)
    return order


def backward(
    root: Node,
    gradient: Any,
    on_step: Callable[[ChainStep], None] | None = None,
    keep_grads: bool = True,
) -> None:
    """Apply the chain rule from ``root`` (seeded with ``gradient``) to every node below it.

    Non-leaf gradients are recomputed from scratch on every call; leaf gradients accumulate
    across calls (as in PyTorch), so clear them with ``zero_grad`` between training steps.
    ``keep_grads=False`` drops each non-leaf gradient as soon as its node has passed it on
    (as PyTorch does by default): less memory for a training step, but then only the leaves
    (inputs, parameters) show a gradient afterwards. Gradient arrays may be shared between
    nodes: treat ``.grad`` as read-only.
    """
    order = topological_order(root, leaves=False)
    if root._parents:
        for node in order:
            node.grad = node._NO_GRAD
        root.grad = gradient
    else:  # a leaf output is a leaf like any other: its gradient accumulates across calls
        root.grad = gradient if root.grad is None else root.grad + gradient
    for node in reversed(order):
        upstream = node.grad
        if upstream is None:  # no gradient reached this node
            continue
        if on_step is None:
            node._pass_down(upstream)
        else:
            _observed_pass_down(node, upstream, on_step)
        if not keep_grads:
            node.grad = node._NO_GRAD


def _observed_pass_down(node: Node, upstream: Any, on_step: Callable[[ChainStep], None]) -> None:
    """``node._pass_down(upstream)``, with each chain-rule step reported to ``on_step`` first."""
    parents, contributions = node._parents, node._vjp(upstream)
    local = node.local_derivatives()
    for index, (parent, contribution) in enumerate(zip(parents, contributions)):
        if contribution is not None:
            on_step(ChainStep(node, parent, index, local[index], upstream, contribution))
    for parent, contribution in zip(parents, contributions):
        if contribution is not None:  # None: this parent needs no gradient
            grad = parent.grad
            parent.grad = contribution if grad is None else grad + contribution
