# %% [markdown]
"""
# Lesson 2: the chain rule down a chain of single sigmoid neurons (Nielsen's eq. 122)

Four sigmoid neurons in a row, one per layer: z_j = w_j a_{j-1} + b_j, a_j = sigma(z_j), and a
cost C. The chain rule makes the gradient of the first bias a product of factors,

    dC/db_1 = sigma'(z_1) * w_2 sigma'(z_2) * w_3 sigma'(z_3) * w_4 sigma'(z_4) * dC/da_4

This lesson builds the chain from `Value`s, traces the backward pass down to b_1 and prints the
factors with their running product (which ends at exactly the `b1.grad` backward computed),
draws the product, shows that sigma'(z) never exceeds 1/4, and checks the book's consequence
over many random chains: with |w_j| < 1, dC/db_1 is at least 16 times smaller than dC/db_3.

Run it:

    python lessons/02_chain_of_neurons.py
    python lessons/02_chain_of_neurons.py --quick --out /tmp/out
    minigrad lesson 2
"""

# %%
import math

import matplotlib.pyplot as plt
import numpy as np

from minigrad import Tensor
from minigrad.factors import chain_factors
from minigrad.trace import neuron_chain, trace
from minigrad.viz import draw_chain, show

# isort: split
# %%
from minigrad.lessons import settings

QUICK, OUT = settings(2)  # --quick, --out DIR (see minigrad lesson --help)

# %% [markdown]
# ## The chain
#
# `neuron_chain(weights, biases, x)` builds the book's chain from Values: the input a_0 = x,
# then for each layer j the nodes w_j, b_j, w_j a_{j-1}, z_j and a_j, and at the end the
# quadratic cost C = (a_4 - y)^2 / 2 with y = 0, so dC/da_4 = a_4. The weights and biases are
# drawn from N(0, 1), the book's initialisation, with the weights redrawn until |w_j| < 1 (as
# N(0, 1) weights usually are): the case of the book's argument.

# %%
DEPTH = 4
SEED = 1


def draw_weights(rng: np.random.Generator, n: int) -> np.ndarray:
    """n weights from N(0, 1), each redrawn until |w| < 1."""
    w = rng.standard_normal(n)
    while np.any(np.abs(w) >= 1.0):
        big = np.abs(w) >= 1.0
        w[big] = rng.standard_normal(int(big.sum()))
    return w


rng = np.random.default_rng(SEED)
weights, biases = draw_weights(rng, DEPTH), rng.standard_normal(DEPTH)
chain = neuron_chain(weights, biases, x=0.5)
print(" j      w_j      b_j      z_j      a_j")
for j in range(DEPTH):
    print(f"{j + 1:2d} {chain.w[j].data:8.4f} {chain.b[j].data:8.4f} {chain.z[j].data:8.4f} "
          f"{chain.a[j].data:8.4f}")
print(f"C = a_4^2 / 2 = {chain.cost.data:.6g}")

# %% [markdown]
# ## The path from C down to b_1
#
# `trace(C)` runs backward and records every chain-rule step; `.path(b1)` keeps the steps from
# C down to b_1, each with its factor (the local derivative d node/d parent) and the running
# product: the seed dC/dC = 1 times the factors so far, i.e. the gradient that has reached
# that parent. There is only one path in a chain, so the last product must be `b1.grad`.

# %%
record = trace(chain.cost)
b1 = chain["b1"]
path = record.path(b1)
print(path.table())
print(f"b1.grad from backward = {b1.grad:.10g}")

# %% [markdown]
# ## Eq. 122, factor by factor
#
# Group the steps as Nielsen writes them. The steps above a_4 (the cost) make one factor,
# dC/da_4. Each sigmoid multiplies by sigma'(z_j); each product w_j a_{j-1} multiplies by
# w_j on its way to a_{j-1}; each + multiplies by exactly 1 and drops out. Read right to left,
# as backpropagation does: the running product after sigma'(z_j) is dC/dz_j = dC/db_j, after
# w_j it is dC/da_{j-1}.

# %%
factors, ones = chain_factors(path)  # the same grouping the picture uses
print(f"{'factor':8} {'value':>12}   running product (this factor x all to its right)")
for f in factors:
    print(f"{f.name:8} {f.value:12.6g} {f.product:16.6g} = {f.product_name}")
print(f"({ones} factors of exactly 1 from the + nodes left out)")


def sigma_prime_of(z: float) -> float:
    r"""sigma'(z) = sigma(z)(1 - sigma(z)) = e^-|z| / (1 + e^-|z|)^2"""
    e = math.exp(-abs(z))
    return e / (1.0 + e) ** 2


# Eq. 122 from the forward values alone, with no backward pass: the formula, independently.
sigma_primes = [sigma_prime_of(z.data) for z in chain.z]
eq122 = sigma_primes[0]
for j in range(1, DEPTH):
    eq122 *= chain.w[j].data * sigma_primes[j]
eq122 *= chain.a[-1].data  # dC/da_4 = a_4 - y, y = 0
print(f"eq. 122 from the forward values: {eq122:.10g}")

# %% [markdown]
# ## The picture
#
# `draw_chain(path)` draws the same product: one box per factor, read left to right in the
# order backprop multiplies them (from dC/da_4, where it starts, to dC/db_1), the running
# product under each, the pairs sigma'(z_j) w_j framed with their product (the number that
# decides whether the gradient shrinks or grows through layer j), blue for factors that shrink
# the gradient (|f| < 1), red for those that grow it. A row that is full continues below.

# %%
show(draw_chain(path), OUT / "chain.svg")
print(f"wrote {OUT / 'chain.svg'}")

# %% [markdown]
# ## sigma'(z) is at most 1/4
#
# sigma'(z) = sigma(z)(1 - sigma(z)) is a product of two numbers in (0, 1) that add to 1, so
# it is largest when both are 1/2, at z = 0: sigma'(0) = 1/4. Let the engine compute sigma' on
# a grid of z: a Tensor of z values, backward through `sigmoid()`, and z.grad is sigma'(z)
# at every point (the grid includes z = 0).

# %%
grid = np.linspace(-8.0, 8.0, 1601)  # step 0.01, grid[800] = 0
z_grid = Tensor(grid, requires_grad=True)
z_grid.sigmoid().sum().backward()
sigma_prime_grid = z_grid.grad
print(f"\nmax of sigma'(z) on the grid: {sigma_prime_grid.max():.6g} at z = "
      f"{grid[np.argmax(sigma_prime_grid)]:.3g}")
print("the chain's sigma'(z_j): " + ", ".join(f"{s:.4f}" for s in sigma_primes))

fig, ax = plt.subplots(figsize=(6.4, 3.8))
ax.plot(grid, sigma_prime_grid, label="σ′(z) = σ(z)(1 − σ(z)), from backward")
ax.axhline(0.25, color="C3", ls="--", label="1/4, its maximum (z = 0)")
ax.plot([z.data for z in chain.z], sigma_primes, "o", color="C1", label="the chain's z_j")
ax.set_xlabel("z")
ax.set_ylabel("σ′(z)")
ax.set_ylim(0.0, 0.28)
ax.set_title("Every σ′ factor in eq. 122 is at most 1/4")
ax.legend(fontsize=8, loc="center left")
fig.tight_layout()
print(f"wrote {show(fig, OUT / 'sigma_prime.png')}")

# %% [markdown]
# ## Why dC/db_1 is at least 16 times smaller than dC/db_3
#
# dC/db_3 = sigma'(z_3) w_4 sigma'(z_4) dC/da_4 is the right end of eq. 122, so
#
#     dC/db_1 = sigma'(z_1) w_2 sigma'(z_2) w_3 * dC/db_3
#     |dC/db_1| / |dC/db_3| = sigma'(z_1) |w_2| sigma'(z_2) |w_3| <= (1/4)(1/4)|w_2||w_3|
#
# With |w_j| < 1 that is below 1/16. On our chain:

# %%
b3 = chain["b3"]
ratio = abs(b1.grad / b3.grad)
bound = abs(chain.w[1].data * chain.w[2].data) / 16.0
print(f"\n|dC/db1| / |dC/db3| = {abs(b1.grad):.4g} / {abs(b3.grad):.4g} = {ratio:.4g}")
print(f"   (1/4)(1/4)|w2||w3| = {bound:.4g} <= 1/16 = {1 / 16:.4g}")

# %% [markdown]
# The bound is a worst case; how close do random chains come to it? Draw many chains the same
# way (w_j from N(0, 1) with |w_j| < 1, b_j from N(0, 1), a_0 uniform in [0, 1]), run
# backward on each, and measure |dC/db_1| / |dC/db_3|. Then again with the weights left
# unrestricted, to see the bound fail once |w| may exceed 1.

# %%
DRAWS = 1_000 if QUICK else 10_000


def ratios(rng: np.random.Generator, n: int, restrict: bool) -> tuple[np.ndarray, np.ndarray]:
    """|dC/db1| / |dC/db3| of n random chains, and each chain's bound (1/4)^2 |w2 w3|."""
    out, bounds = np.empty(n), np.empty(n)
    for k in range(n):
        w = draw_weights(rng, DEPTH) if restrict else rng.standard_normal(DEPTH)
        c = neuron_chain(w, rng.standard_normal(DEPTH), x=float(rng.uniform()))
        c.cost.backward()
        out[k] = abs(c["b1"].grad / c["b3"].grad)
        bounds[k] = abs(w[1] * w[2]) / 16.0
    return out, bounds


sweep_rng = np.random.default_rng(12)
bounded, own_bounds = ratios(sweep_rng, DRAWS, restrict=True)
free, _ = ratios(sweep_rng, DRAWS, restrict=False)
print(f"\n{DRAWS} random chains, |dC/db1| / |dC/db3|:")
print("                   median     99th pct    largest   above 1/16")
for name, r in (("|w_j| < 1", bounded), ("w_j ~ N(0, 1)", free)):
    print(f"{name:15} {np.median(r):9.4g} {np.percentile(r, 99):11.4g} {r.max():10.4g} "
          f"{np.mean(r > 1 / 16):11.2%}")
print(f"typical (median) ratio with |w_j| < 1: 1/{1 / np.median(bounded):.0f}; "
      f"the largest is {bounded.max() * 16:.2f} of the 1/16 bound")

fig, ax = plt.subplots(figsize=(6.4, 3.8))
bins = np.linspace(-7.0, 1.0, 81)
ax.hist(np.log10(bounded), bins=bins, histtype="step", lw=1.5, label="|w_j| < 1")
ax.hist(np.log10(free), bins=bins, histtype="step", lw=1.2, label="w_j ~ N(0, 1), unrestricted")
ax.axvline(np.log10(1 / 16), color="C3", ls="--", label="1/16")
ax.set_xlabel("log10 |dC/db1| / |dC/db3|")
ax.set_ylabel(f"chains (of {DRAWS})")
ax.set_title("dC/db1 is at least 16 times smaller than dC/db3 when |w| < 1")
ax.legend(fontsize=8)
fig.tight_layout()
print(f"wrote {show(fig, OUT / 'ratio_b1_b3.png')}")

# %% [markdown]
# ## What this lesson claims

# %%
assert math.isclose(path[-1].product, b1.grad, rel_tol=1e-12, abs_tol=0.0), (
    f"the path's product {path[-1].product!r} != b1.grad {b1.grad!r}")
assert math.isclose(eq122, b1.grad, rel_tol=1e-12, abs_tol=0.0), (
    f"eq. 122 from the forward values {eq122!r} != b1.grad {b1.grad!r}")
assert math.isclose(factors[0].product, b1.grad, rel_tol=1e-12, abs_tol=0.0), (
    f"the drawn chain's product {factors[0].product!r} != b1.grad {b1.grad!r}")
assert [f.name for f in factors] == ["σ′(z1)", "w2", "σ′(z2)", "w3", "σ′(z3)", "w4", "σ′(z4)",
                                     "∂C/∂a4"], f"eq. 122's factors: {[f.name for f in factors]}"
for f in factors:
    if f.kind == "sigma":
        assert 0.0 < f.value <= 0.25, f"{f.name} = {f.value} is not in (0, 1/4]"
for j, s in enumerate(sigma_primes):
    assert math.isclose(factors[2 * j].value, s, rel_tol=1e-12), f"σ′(z{j + 1}) from the path"
assert np.all(sigma_prime_grid <= 0.25) and sigma_prime_grid.max() == 0.25, (
    f"max sigma' on the grid is {sigma_prime_grid.max()!r}, should be exactly 1/4 at z = 0")
assert ratio <= bound * (1 + 1e-12) and bound < 1 / 16, f"our chain: {ratio} vs bound {bound}"
assert np.all(bounded <= own_bounds * (1 + 1e-12)), "a chain broke (1/4)^2 |w2 w3|"
assert np.all(bounded < 1 / 16), (
    f"{np.sum(bounded >= 1 / 16)} of {DRAWS} chains with |w| < 1 had |dC/db1| >= |dC/db3|/16")
assert np.any(free > 1 / 16), "with unrestricted weights some chain should exceed 1/16"
print("lesson 2: all claims hold")
