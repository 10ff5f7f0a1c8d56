# %% [markdown]
"""
# Lesson 1: values and the graph: what the number on each backward edge means

One sigmoid neuron and its cost, z = w a0 + b, a = sigma(z), C = (a - y)^2 / 2, built from
`Value`s. Every operation makes a node that remembers its parents and the local derivative
d node/d parent of each edge to them. `C.backward()` walks the graph from C down and fills every
node's `.grad` = dC/d node. This lesson prints every node's value and gradient next to the
formula derived by hand, prints every chain-rule step (local derivative x upstream gradient =
contribution), shows that a node's gradient is the sum of the contributions over its edges
(`a + a` has two edges and gives grad 2), and draws the graph with each edge's number on it.

Run it:

    python lessons/01_values_and_the_graph.py
    python lessons/01_values_and_the_graph.py --quick --out /tmp/out
    minigrad lesson 1
"""

# %%
import math

import numpy as np

from minigrad import Value
from minigrad.trace import trace
from minigrad.viz import draw_graph, show

# isort: split
# %%
from minigrad.lessons import settings

QUICK, OUT = settings(1)  # --quick, --out DIR (see minigrad lesson --help)

# %% [markdown]
# ## One neuron, one cost
#
# A sigmoid neuron takes the activation a0 of the neuron before it, a weight w and a bias b:
#
#     z = w a0 + b,    a = sigma(z) = 1 / (1 + e^-z),    C = (a - y)^2 / 2
#
# Each line below makes one node of the graph. The node stores its value (`.data`), its
# parents in order (repeats kept), and the local derivative of each edge: for `w * a0` that is
# d(w a0)/dw = a0 and d(w a0)/d a0 = w; for the sigmoid, sigma'(z) = sigma(z)(1 - sigma(z)).
# The labels only name the nodes for the printout and the picture.

# %%
a0 = Value(0.8, label="a0")  # the input: the activation of the neuron before
w = Value(1.5, label="w")
b = Value(-0.5, label="b")
y = Value(1.0, label="y")  # the target
wa = w * a0
wa.label = "w·a0"
z = wa + b
z.label = "z"
a = z.sigmoid()
a.label = "a"
error = a - y
error.label = "a-y"
square = error * error  # (a - y)^2 as a product: the node a - y is used twice
square.label = "(a-y)²"
half = Value(0.5, label="½")
C = square * half
C.label = "C"
print(f"z = w a0 + b = {w.data} * {a0.data} + ({b.data}) = {z.data:.6g}")
print(f"a = sigma(z) = {a.data:.6g},  C = (a - y)^2 / 2 = {C.data:.6g}")

# %% [markdown]
# ## Backward: every gradient at once
#
# `C.backward()` seeds dC/dC = 1 and visits the nodes from C down, each after every node that
# uses it. At each node it multiplies the node's gradient (the *upstream* gradient) by the
# local derivative of each edge and adds the result to that parent's gradient. By hand, with
# sigma'(z) = a(1 - a):
#
#     dC/da = a - y                  dC/dz = (a - y) sigma'(z)  = dC/db
#     dC/dw = (a - y) sigma'(z) a0   dC/da0 = (a - y) sigma'(z) w
#
# The table puts what backward computed next to these formulas. (sigma'(z) is computed as
# e^-|z| / (1 + e^-|z|)^2, equal to a(1 - a) but without losing digits in 1 - a when a is
# near 1: the form the engine's sigmoid stores.)

# %%
def sigma_prime_of(z: float) -> float:
    r"""sigma'(z) = sigma(z)(1 - sigma(z)) = e^-|z| / (1 + e^-|z|)^2"""
    e = math.exp(-abs(z))
    return e / (1.0 + e) ** 2


record = trace(C)  # runs C.backward(), recording every chain-rule step
sigma_prime = sigma_prime_of(z.data)
delta = (a.data - y.data) * sigma_prime  # dC/dz, Nielsen's delta
by_hand = {  # node -> (formula, value)
    C: ("1", 1.0),
    square: ("½", 0.5),
    half: ("(a - y)^2", error.data**2),
    error: ("2 (a - y) ½", a.data - y.data),
    a: ("a - y", a.data - y.data),
    y: ("-(a - y)", -(a.data - y.data)),
    z: ("(a - y) sigma'(z)", delta),
    wa: ("(a - y) sigma'(z)", delta),
    b: ("(a - y) sigma'(z)", delta),
    w: ("(a - y) sigma'(z) a0", delta * a0.data),
    a0: ("(a - y) sigma'(z) w", delta * w.data),
}
print(f"\n{'node':7} {'op':8} {'value':>10}  {'grad dC/d node':>15}  by hand")
for node in reversed(record.nodes):  # C first, the leaves last
    formula, value = by_hand[node]
    print(f"{record.name(node):7} {node.op or 'leaf':8} {node.data:10.6g}  {node.grad:15.10g}"
          f"  {formula} = {value:.10g}")

# %% [markdown]
# ## What the number on each edge means
#
# `trace(C)` records each multiplication backward did as a step: the node, one of its
# parents, the local derivative d node/d parent (the number on that edge), the upstream
# gradient dC/d node, and the contribution local x upstream that the edge hands to the parent.
# Read it top to bottom: it *is* the chain rule, one edge at a time.
# (`trace(C)` is `C.backward()` with a listener on every step: a trace is always the record
# of its own pass, never read back from gradients an earlier pass left.)

# %%
print(f"\n{len(record.steps)} chain-rule steps, in the order backward ran them:")
print(f"{'node':7} {'parent':7} {'local d node/d parent':>22} {'x upstream dC/d node':>21} "
      f"{'= contribution':>15}")
for s in record.steps:
    print(f"{record.name(s.node):7} {record.name(s.parent):7} {s.local:22.10g} "
          f"{s.upstream:21.10g} {s.contribution:15.10g}")

# %% [markdown]
# A parent's gradient is the sum over its edges of local x upstream: one term per use. The
# square was written as the product (a - y)(a - y), so the node a - y has two edges from it,
# each with local derivative a - y and upstream 1/2: its gradient is 2 (a - y) (1/2) = a - y.
# Every other node here is used once.

# %%
print(f"\n{'node':7} {'edges in':>8} {'sum of contributions':>21} {'grad':>15}")
edge_sums = {}
for node in reversed(record.nodes):
    uses = record.uses_of(node)  # the steps from the nodes that use this one
    if uses:
        edge_sums[node] = sum(s.contribution for s in uses)
        print(f"{record.name(node):7} {len(uses):8d} {edge_sums[node]:21.10g} "
              f"{node.grad:15.10g}")

# %% [markdown]
# ## The picture
#
# `draw_graph(C)` draws the same graph: a box per value (label, data, grad), a small ellipse per
# op, and on every edge from an op down to a parent, the local derivative (top number) and the
# contribution it passes down (after the arrow). Colour and width say how big the gradient on
# the edge is, on a log scale; blue edges shrink the gradient (|local| < 1), red ones grow it.

# %%
picture = draw_graph(C, show=("data", "grad", "local", "contribution"),
                     title="one sigmoid neuron: z = w·a0 + b, a = σ(z), C = (a - y)²/2")
show(picture, OUT / "neuron_graph.svg")
print(f"\nwrote {OUT / 'neuron_graph.svg'}")
source = picture.source  # the DOT text graphviz renders

# %% [markdown]
# ## a + a has two edges
#
# Take a fresh Value x (the name a is taken by the neuron). s = x + x uses x twice: the node s
# has *two* parents, both x, each edge with local derivative 1. Backward adds both
# contributions into x.grad, so ds/dx = 1 + 1 = 2, as it should be. (A graph that stored its
# parents as a set would keep one edge and say 1.) The same rule gives d(x x)/dx = x + x = 2x:
# two edges, each with local derivative x.

# %%
x = Value(3.0, label="x")
s = x + x
s.label = "s"
twice = trace(s)  # runs backward from s
print(f"\ns = x + x: s has {len(s.parents)} parents, both x")
for k, t in enumerate(twice.edges_of(s), 1):
    print(f"   edge {k}: s -> {twice.name(t.parent)}, local {t.local:g}, upstream {t.upstream:g}, "
          f"contribution {t.contribution:g}")
print(f"x.grad = sum of the two contributions = {x.grad:g}")
EDGES = ("data", "grad", "local", "contribution")
show(draw_graph(s, show=EDGES, rankdir="LR", legend=False,
                title="s = x + x: two edges into x, grad 1 + 1 = 2"), OUT / "a_plus_a.svg")

x2 = Value(3.0, label="x")
p = x2 * x2
p.label = "p"
p.backward()
print(f"p = x * x at x = 3: two edges, each with local derivative x = 3: x.grad = {x2.grad} = 2x")
show(draw_graph(p, show=EDGES, rankdir="LR", legend=False,
                title="p = x * x: two edges into x, each x = 3: grad 3 + 3 = 6"),
     OUT / "a_times_a.svg")
print(f"wrote {OUT / 'a_plus_a.svg'} and {OUT / 'a_times_a.svg'}")

# %% [markdown]
# ## Watching backward step by step
#
# A trace is nothing more than a listener on backward: `C.backward(on_step=f)` calls f with
# each step as it happens. Running backward again adds to the leaves' gradients (that is how a
# leaf used in two places collects both contributions), so clear them first with
# `zero_grad()`; the inner nodes are reset by backward itself.

# %%
leaves = [node for node in record.nodes if node.is_leaf]
before = {node: node.grad for node in leaves}
for node in leaves:
    node.zero_grad()
seen = []
C.backward(on_step=seen.append)
print(f"\nbackward(on_step=...) saw {len(seen)} steps; the first three:")
for step in seen[:3]:
    print(f"   {record.name(step.node)} -> {record.name(step.parent)}: local {step.local:.6g}, "
          f"upstream {step.upstream:.6g}, contribution {step.contribution:.6g}")

# %% [markdown]
# ## The same formulas for any neuron
#
# The hand-derived formulas are not special to these numbers: on many random neurons (a0, w,
# b, y drawn at random), backward and the formulas agree to rounding.

# %%
rng = np.random.default_rng(1)
DRAWS = 50 if QUICK else 5_000
worst = 0.0
for _ in range(DRAWS):
    a0_r, w_r, b_r, y_r = (Value(float(v)) for v in rng.normal(0.0, 2.0, 4))
    a_r = (w_r * a0_r + b_r).sigmoid()
    C_r = (a_r - y_r) ** 2 * 0.5
    C_r.backward()
    delta_r = (a_r.data - y_r.data) * sigma_prime_of(w_r.data * a0_r.data + b_r.data)
    for node, value in ((b_r, delta_r), (w_r, delta_r * a0_r.data), (a0_r, delta_r * w_r.data),
                        (y_r, -(a_r.data - y_r.data))):
        worst = max(worst, abs(node.grad - value) / max(abs(value), 1e-300))
print(f"\n{DRAWS} random neurons: largest relative difference between backward and the "
      f"formulas {worst:.2g}")

# %% [markdown]
# ## What this lesson claims

# %%
for node, (formula, value) in by_hand.items():
    assert math.isclose(node.grad, value, rel_tol=1e-12, abs_tol=1e-15), (
        f"d C/d {node.label} = {node.grad!r} from backward, by hand {formula} = {value!r}")
for node, total in edge_sums.items():
    assert math.isclose(total, node.grad, rel_tol=1e-12, abs_tol=1e-15), (
        f"{node.label}: sum over its edges of local x upstream = {total!r}, grad {node.grad!r}")
    assert all(math.isclose(t.contribution, t.local * t.upstream, rel_tol=1e-15, abs_tol=0.0)
               for t in record.uses_of(node)), f"{node.label}: a contribution != local x upstream"
for step in record.steps:
    for text in (f"{step.local:.6g}", repr(step.local)):  # as labelled, and exactly (tooltip)
        assert text in source, (f"the DOT source lacks the local derivative "
                                f"d{step.node.label}/d{step.parent.label} = {text}")
assert f"{sigma_prime:.6g}" in source, f"sigma'(z) = {sigma_prime:.6g} is not on the picture"
assert len(s.parents) == 2 and x.grad == 2.0, f"a + a: {len(s.parents)} edges, grad {x.grad}"
assert x2.grad == 6.0, f"d(x x)/dx at x = 3 should be 6, got {x2.grad}"
assert [(t.local, t.upstream, t.contribution) for t in seen] == [
    (t.local, t.upstream, t.contribution) for t in record.steps], (
    "backward(on_step=...) and trace disagree on the steps")
assert all(node.grad == before[node] for node in leaves), "zero_grad + backward changed a grad"
assert worst < 1e-12, f"backward and the formulas differ by {worst:.3g} (relative) somewhere"
print("lesson 1: all claims hold")
