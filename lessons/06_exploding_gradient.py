# %% [markdown]
"""
# Lesson 6: the exploding gradient: the book's chain where every factor is 25

Nielsen's construction: a chain of four sigmoid neurons with every weight w_j = 100 and every
bias b_j = -100 a_{j-1}, so that every z_j = w_j a_{j-1} + b_j = 0. Then every sigma'(z_j) is
its largest value 1/4, every factor w_j sigma'(z_j) of eq. 122 is 25, and

    dC/db_1 = (1/4) * 25^3 * dC/da_4 = 3906.25 dC/da_4

This lesson builds that chain, prints and draws the factors, then shows how fragile the
explosion is (shift one bias by 0.1 and the product collapses, because sigma' falls off fast
when |w| = 100) and how it grows with depth: 0.25 * 25^(L-1) for L neurons.

Run it:

    python lessons/06_exploding_gradient.py
    python lessons/06_exploding_gradient.py --quick --out /tmp/out
    minigrad lesson 6
"""

# %%
import math

import matplotlib.pyplot as plt
import numpy as np

from minigrad import reference
from minigrad.factors import chain_factors
from minigrad.trace import exploding_chain, neuron_chain, trace
from minigrad.viz import draw_chain, draw_graph, show

# isort: split
# %%
from minigrad.lessons import settings

QUICK, OUT = settings(6)  # --quick, --out DIR (see minigrad lesson --help)

# %% [markdown]
# ## The construction
#
# `exploding_chain(depth=4, weight=100)` builds the chain of lesson 2 from Values with every
# w_j = 100 and b_j = -w_j a_{j-1}, computed layer by layer as the activations come in. The
# input is a_0 = 1/2, so b_1 = -50, z_1 = 0 and a_1 = sigma(0) = 1/2; the same happens in every
# layer. The cost is C = (a_4 - y)^2 / 2 with y = 0, so dC/da_4 = a_4 = 1/2.

# %%
DEPTH, WEIGHT = 4, 100.0
BOOK_PRODUCT = reference.EXPLODING_PRODUCT.value  # (1/4) * 25^3, from the book's construction
chain = exploding_chain(depth=DEPTH, weight=WEIGHT)
record = trace(chain.cost)  # runs backward, recording every chain-rule step
b1, a_last = chain["b1"], chain[f"a{DEPTH}"]
sigma_primes = [act.local_derivatives()[0] for act in chain.a]  # d a_j / d z_j, as stored
print(" j      w_j      b_j   z_j   a_j  sigma'(z_j)  w_j sigma'(z_j)")
for j in range(DEPTH):
    print(f"{j + 1:2d} {chain.w[j].data:8g} {chain.b[j].data:8g} {chain.z[j].data:5g} "
          f"{chain.a[j].data:5g} {sigma_primes[j]:12g} {chain.w[j].data * sigma_primes[j]:16g}")

# %% [markdown]
# ## The factors of eq. 122
#
# The path from C down to b_1, grouped as the equation: sigma'(z_1) = 1/4, then three pairs
# w_j sigma'(z_j) = 100 x 1/4 = 25, then dC/da_4. The running product grows by 25 with each
# layer backpropagation goes down.

# %%
path = record.path(b1)
factors, ones = chain_factors(path)
print(f"\n{'factor':8} {'value':>8}   running product (this factor x all to its right)")
for f in factors:
    print(f"{f.name:8} {f.value:8g} {f.product:12g} = {f.product_name}")
gain = b1.grad / a_last.grad  # dC/db1 / dC/da4: the product of the factors below the cost
print(f"\ndC/da4 = {a_last.grad:.10g}, dC/db1 = {b1.grad:.10g}")
print(f"dC/db1 / dC/da4 = {gain:g} = (1/4) * 25^3 = {0.25 * 25.0 ** 3:g} "
      f"(reference: {BOOK_PRODUCT:g})")

# %% [markdown]
# ## The pictures
#
# `draw_chain` shows the product: every sigma' box at 100% of its 1/4 ceiling, every framed pair
# w_j sigma'(z_j) = 25, red, growing. `draw_graph` shows the whole graph with the local
# derivative on every edge: 0.25 on each sigmoid edge, 100 on each edge from w_j a_{j-1} down
# to a_{j-1}, and the gradients growing (redder, wider) on the way down.

# %%
show(draw_chain(path), OUT / "exploding_chain.svg")
graph = draw_graph(chain.cost, trace=record,
                   title="the exploding chain: w_j = 100, b_j = -100 a_{j-1}, every z_j = 0")
show(graph, OUT / "exploding_graph.svg")
print(f"wrote {OUT / 'exploding_chain.svg'} and {OUT / 'exploding_graph.svg'}")

# %% [markdown]
# ## How fragile it is
#
# The explosion needs every z_j = 0 exactly. With |w| = 100 a small change in a_{j-1} moves
# z_j a hundred times as far, and sigma'(z) falls off like e^-|z|. Shift b_1 by 0.1: z_1 = 0.1
# barely changes sigma'(z_1), but a_1 = sigma(0.1) = 0.525, so z_2 = 100 x 0.525 - 50 = 2.5
# and sigma'(z_2) = 0.07; then z_3 = 42.4 and z_4 = 50, where sigma' is 4e-19 and 2e-22. Two of
# the factors that were 25 become about 1e-17 and 1e-20, and the product collapses.

# %%
biases = [b.data for b in chain.b]  # the construction's biases, all -50
weights = [w.data for w in chain.w]


def shifted_gain(layer: int, shift: float, depth: int = DEPTH) -> tuple[float, list[float]]:
    """dC/db1 / dC/da_L with b_layer shifted by ``shift``, and every z_j of that chain."""
    shifted = list(biases[:depth])
    shifted[layer - 1] += shift
    c = neuron_chain(weights[:depth], shifted)
    c.cost.backward()
    return c["b1"].grad / c[f"a{depth}"].grad, [z.data for z in c.z]


SHIFT = 0.1
print(f"\nb1 shifted by {SHIFT}:")
gain_shifted, z_shifted = shifted_gain(1, SHIFT)
print("   z_j = " + ", ".join(f"{z:.4g}" for z in z_shifted))
print(f"   dC/db1 / dC/da4 = {gain_shifted:.3g}  (was {gain:g}: {gain / gain_shifted:.2g} times "
      "smaller)")
print(f"\nshift one bias by {SHIFT}: the gain dC/db1 / dC/da4")
print("   bias    gain       / unperturbed")
per_layer = {}
for layer in range(1, DEPTH + 1):
    per_layer[layer], _ = shifted_gain(layer, SHIFT)
    print(f"   b{layer}  {per_layer[layer]:10.4g}   {per_layer[layer] / gain:10.3g}")
print("(the earlier the shift, the more layers it knocks off z = 0; b4 only moves z4)")

perturbed = neuron_chain(weights, [b + (SHIFT if j == 0 else 0.0) for j, b in enumerate(biases)])
perturbed_path = trace(perturbed.cost).path(perturbed["b1"])
show(draw_chain(perturbed_path), OUT / "perturbed_chain.svg")
print(f"wrote {OUT / 'perturbed_chain.svg'}")

# %%
shifts = np.linspace(-0.5, 0.5, 101 if QUICK else 1001)
sweep = {layer: np.array([abs(shifted_gain(layer, float(s))[0]) for s in shifts])
         for layer in (1, 2, 3, 4)}
fig, ax = plt.subplots(figsize=(8.0, 4.0))
ax.axhline(gain, color="0.3", ls=":", lw=1, label=f"unperturbed: {gain:g}")
for layer, gains in sweep.items():
    ax.plot(shifts, gains, label=f"b{layer} shifted")
ax.set_yscale("log")
ax.set_xlabel("shift of one bias")
ax.set_ylabel("|dC/db1 / dC/da4|")
ax.set_title("The explosion needs every z_j = 0 exactly")
ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
fig.tight_layout()
print(f"wrote {show(fig, OUT / 'fragility.png')}")

# %% [markdown]
# ## Deeper chains
#
# With L neurons built the same way, dC/db_1 / dC/da_L = (1/4) * 25^(L-1): one sigma'(z_1)
# and L - 1 pairs. The same construction with w = 4 makes every pair exactly 4 x 1/4 = 1 (the
# product stays at 1/4 at every depth), and with w = 1 every pair is 1/4 (the product
# vanishes like 4^-L). Only w = 4 with every z_j = 0 balances it.

# %%
DEPTHS = list(range(2, 11))
depth_gain = {}
for weight in (100.0, 4.0, 1.0):
    for L in DEPTHS:
        c = exploding_chain(depth=L, weight=weight)
        c.cost.backward()
        depth_gain[weight, L] = c["b1"].grad / c[f"a{L}"].grad
print("\n  L   dC/db1 / dC/da_L (w = 100)        0.25 * 25^(L-1)   w = 4    w = 1")
for L in DEPTHS:
    print(f"{L:3d} {depth_gain[100.0, L]:28,.2f} {0.25 * 25.0 ** (L - 1):22,.2f} "
          f"{depth_gain[4.0, L]:7g} {depth_gain[1.0, L]:8.3g}")

fig, ax = plt.subplots(figsize=(6.4, 4.0))
for weight, style in ((100.0, "o-"), (4.0, "s-"), (1.0, "^-")):
    ax.plot(DEPTHS, [depth_gain[weight, L] for L in DEPTHS], style,
            label=f"w = {weight:g}: factor w σ′(0) = {weight / 4:g}")
ax.plot(DEPTHS, [0.25 * 25.0 ** (L - 1) for L in DEPTHS], "k:", lw=1, label="0.25 · 25^(L−1)")
ax.set_yscale("log")
ax.set_xlabel("depth L (neurons in the chain)")
ax.set_ylabel("dC/db1 / dC/da_L")
ax.set_title("Every z_j = 0: the gradient explodes, balances or vanishes")
ax.legend(fontsize=8)
fig.tight_layout()
print(f"wrote {show(fig, OUT / 'depth_sweep.png')}")

# %% [markdown]
# ## What this lesson claims

# %%
for j, z in enumerate(chain.z, 1):
    assert abs(z.data) <= 1e-12, f"z{j} = {z.data!r}, the construction should make it 0"
for j in range(DEPTH):
    factor = chain.w[j].data * sigma_primes[j]
    assert math.isclose(factor, 25.0, rel_tol=1e-12), f"w{j + 1} sigma'(z{j + 1}) = {factor}"
pairs = [f for f in factors if f.kind == "weight"]
assert len(pairs) == DEPTH - 1 and all(f.value == WEIGHT for f in pairs), "the weight factors"
assert all(f.value == 0.25 for f in factors if f.kind == "sigma"), "every sigma' factor is 1/4"
assert math.isclose(gain, BOOK_PRODUCT, rel_tol=1e-12), (
    f"dC/db1 = {gain!r} dC/da4, book {BOOK_PRODUCT}")
assert math.isclose(b1.grad, BOOK_PRODUCT * a_last.grad, rel_tol=1e-12), (
    f"dC/db1 != {BOOK_PRODUCT} dC/da4")
assert math.isclose(path[-1].product, b1.grad, rel_tol=1e-12), "the path's product != b1.grad"
assert abs(gain_shifted) < gain / 100, (
    f"shifting b1 by {SHIFT} left the gain at {gain_shifted:.4g}, not < 1/100 of {gain}")
assert all(abs(g) < gain for g in per_layer.values()), f"a shifted bias grew the gain: {per_layer}"
assert np.all(np.concatenate(list(sweep.values())) <= gain * (1 + 1e-12)), (
    "some shifted chain had a larger gain than the z = 0 construction")
for L in DEPTHS:
    assert math.isclose(depth_gain[100.0, L], 0.25 * 25.0 ** (L - 1), rel_tol=1e-12), (
        f"depth {L}: {depth_gain[100.0, L]!r} != 0.25 * 25^{L - 1}")
    assert math.isclose(depth_gain[4.0, L], 0.25, rel_tol=1e-12), f"w = 4, depth {L}"
    assert math.isclose(depth_gain[1.0, L], 0.25**L, rel_tol=1e-12), f"w = 1, depth {L}"
print("lesson 6: all claims hold")
