# %% [markdown]
"""
# Lesson 7: the unstable gradient: why the terms w sigma'(z) do not balance by chance

In a chain of sigmoid neurons dC/db_1 is a product of terms w_j sigma'(z_j) (eq. 122). To
stop it vanishing, each term would need |w sigma'(w a + b)| >= 1. This lesson computes how
narrow the set of inputs a is for which that holds (Nielsen's eq. 123: at most 0.4477 wide, at
|w| = 6.894), checks the formula against the engine's own local derivatives on a fine grid, and
then shows what long products of random terms do: the log of a product is a sum, so its
spread grows like sqrt(L), and the fraction of products anywhere near 1 shrinks with depth.

Run it:

    python lessons/07_unstable_gradient.py
    python lessons/07_unstable_gradient.py --quick --out /tmp/out
    minigrad lesson 7
"""

# %%
import math

import matplotlib.pyplot as plt
import numpy as np

from minigrad import Tensor, Value, reference
from minigrad.viz import show

# isort: split
# %%
from minigrad.lessons import settings

QUICK, OUT = settings(7)  # --quick, --out DIR (see minigrad lesson --help)

# %% [markdown]
# ## One term: w sigma'(w a + b)
#
# A neuron with weight w and bias b, fed the activation a of the neuron before it, computes
# z = w a + b. Its term in the backward product is d sigma(z) / d a = w sigma'(z).
# Since sigma'(z) = sigma(z)(1 - sigma(z)) <= 1/4, the term is at most |w|/4: it can
# reach 1 only if |w| >= 4. And a large w makes z = w a + b large for most a, where sigma'
# is tiny. Solving sigma(1 - sigma) >= 1/|w| for z gives a window of width
# 2 ln(|w|(1 + sqrt(1 - 4/|w|))/2 - 1) in z, so in a it is
#
#     width(|w|) = (2/|w|) ln(|w| (1 + sqrt(1 - 4/|w|)) / 2 - 1)            (eq. 123)

# %%
def window_width(w: float) -> float:
    r"""Eq. 123: the width of {a : |w sigma'(w a + b)| >= 1}; 0 when |w| <= 4."""
    w = abs(w)
    if w <= 4.0:
        return 0.0
    return (2.0 / w) * math.log(w * (1.0 + math.sqrt(1.0 - 4.0 / w)) / 2.0 - 1.0)


SPOTS = reference.WINDOW_WIDTHS.value  # eq. 123 at |w| = 5, 10, 100, to 3 digits
WIDEST = reference.WIDEST_WINDOW.value  # where eq. 123 is widest (the book: ~6.9, ~0.45)
print("eq. 123, the width of the inputs a where |w sigma'(w a + b)| >= 1:")
print("   |w|   width   reference")
for w, ref in SPOTS.items():
    print(f"{w:6.1f}  {window_width(w):.4f}  {ref:.3f}")

# %% [markdown]
# ## Checking eq. 123 with the engine
#
# The formula is algebra; the engine can measure the same thing directly. For each a on a
# fine grid in [0, 1] (the activations of a sigmoid neuron live there) build
# z = w a + b with Values, take sigma(z), run backward, and read d sigma / d a = a.grad.
# The engine multiplies its stored local derivatives: sigma'(z) for the sigmoid, 1 for the
# +, w for the product w a. Count the grid points where |a.grad| >= 1. The bias only slides
# the window along a, so b = -w/2 centres it at a = 1/2.

# %%
STEP = 1e-3 if QUICK else 1e-5  # grid spacing in a
GRID = np.linspace(0.0, 1.0, int(round(1.0 / STEP)) + 1)


def measured_width(w: float) -> tuple[float, float]:
    """Width of {a in [0, 1] : |d sigma(w a + b)/d a| >= 1} on GRID, and the largest term."""
    b = -w / 2.0
    count, largest = 0, 0.0
    for a_value in GRID:
        a = Value(float(a_value), label="a")
        z = w * a + b
        z.sigmoid().backward()  # a.grad = w * sigma'(z), from the engine's local derivatives
        factor = abs(a.grad)
        count += factor >= 1.0
        largest = max(largest, factor)
    return count * STEP, largest


BRUTE_W = [3.9, 4.5, 5.0, WIDEST["w"], -10.0, 20.0, 100.0]
brute = {}
print(f"\nbrute force on a grid of {GRID.size} inputs a (spacing {STEP:g}), with Values:")
print("     w    max|term|  measured  eq. 123")
for w in BRUTE_W:
    brute[w], largest = measured_width(w)
    print(f"{w:7.3f}  {largest:10.4f}  {brute[w]:8.5f}  {window_width(w):.5f}")
print("(max |term| is |w|/4: below 1 for |w| < 4, and the window is empty)")

# %% [markdown]
# ## The widest window
#
# The width rises from 0 at |w| = 4 and falls again like 2 ln|w| / |w| for large |w|: it has one
# maximum. A golden-section search finds it.

# %%
def golden_section_max(f, lo: float, hi: float, tol: float = 1e-10) -> float:
    """The x in [lo, hi] that maximises a unimodal f (golden-section search)."""
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    x1, x2 = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    f1, f2 = f(x1), f(x2)
    while hi - lo > tol:
        if f1 < f2:
            lo, x1, f1 = x1, x2, f2
            x2 = lo + ratio * (hi - lo)
            f2 = f(x2)
        else:
            hi, x2, f2 = x2, x1, f1
            x1 = hi - ratio * (hi - lo)
            f1 = f(x1)
    return (lo + hi) / 2.0


w_best = golden_section_max(window_width, 4.0, 100.0)
width_best = window_width(w_best)
print(f"\nthe widest window: |w| = {w_best:.4f}, width {width_best:.5f} "
      f"(reference: {WIDEST['w']}, {WIDEST['width']})")

# %%
w_axis = np.geomspace(4.0, 200.0, 600)
fig, ax = plt.subplots(figsize=(6.4, 4.0))
ax.plot(w_axis, [window_width(w) for w in w_axis], label="eq. 123")
ax.plot([abs(w) for w in BRUTE_W], list(brute.values()), "o", mfc="none",
        label=f"measured with Values (grid {STEP:g})")
ax.plot([w_best], [width_best], "*", ms=12, color="C3",
        label=f"max {width_best:.4f} at |w| = {w_best:.3f}")
ax.set_xscale("log")
ax.set_xlabel("|w|")
ax.set_ylabel("width of {a : |w sigma'(wa + b)| >= 1}")
ax.set_title("Balance needs |w| >= 4 and a narrow window of inputs")
ax.legend()
fig.tight_layout()
show(fig, OUT / "width_vs_w.png")

# %% [markdown]
# ## Long products of random terms
#
# Now a chain of L single sigmoid neurons with the book's initialisation, w_j and b_j drawn
# from N(0, 1), fed an input a_0 drawn uniformly from [0, 1]. With dC/da_L = 1, the engine
# gives dC/da_0 = w_1 sigma'(z_1) w_2 sigma'(z_2) ... w_L sigma'(z_L): the whole product of L
# terms. A Tensor of M independent chains runs them all in one backward pass, one chain per
# element. The log of the product is a *sum* of L random terms log|w_j sigma'(z_j)|: its mean
# drifts like L times the mean of one term, and its spread grows like sqrt(L).

# %%
M = 4_000 if QUICK else 200_000  # independent chains
DEPTHS = [1, 2, 4, 8, 16, 32]
rng = np.random.default_rng(7)


def chain_products(depth: int, n: int, weight_scale: float = 1.0) -> np.ndarray:
    """dC/da_0 of n chains of ``depth`` sigmoid neurons; w ~ N(0, weight_scale^2), b ~ N(0, 1)."""
    a0 = Tensor(rng.uniform(0.0, 1.0, n), requires_grad=True, label="a0")  # (n,)
    a, factors = a0, []
    for _ in range(depth):
        w = weight_scale * rng.standard_normal(n)
        z = a * w + rng.standard_normal(n)  # z_j = w_j a_{j-1} + b_j, (n,)
        a = z.sigmoid()
        e = np.exp(-np.abs(z.data))
        factors.append(w * e / (1.0 + e) ** 2)  # w_j sigma'(z_j), for the cross-check below
    a.sum().backward()  # dC/da_L = 1 for every chain
    product = np.prod(factors, axis=0)
    assert np.allclose(a0.grad, product, rtol=1e-9, atol=0.0), "backward != product of terms"
    return a0.grad


products = {L: chain_products(L, M) for L in DEPTHS}


def in_balance(log10_product: np.ndarray) -> float:
    """The fraction of products with 0.1 <= |product| <= 10."""
    return float(np.mean(np.abs(log10_product) <= 1.0))


log_products = {L: np.log10(np.abs(p)) for L, p in products.items()}
spread_1 = log_products[1].std()
print(f"\n{M} chains per depth, w, b ~ N(0, 1): the product of L terms w_j sigma'(z_j)")
print("   L   median |product|  per-layer  std log10  std/sqrt(L)  in [0.1, 10]")
fraction_book, spread_ratio = {}, {}
for L, logs in log_products.items():
    median = 10.0 ** np.median(logs)
    fraction_book[L] = in_balance(logs)
    spread_ratio[L] = logs.std() / (math.sqrt(L) * spread_1)
    print(f"{L:4d}  {median:16.3g}  {median ** (1.0 / L):9.3f}  {logs.std():9.3f}  "
          f"{logs.std() / math.sqrt(L):11.3f}  {fraction_book[L]:12.4f}")

# %% [markdown]
# The median falls like 0.1^L: each layer's gain |w sigma'(z)| is at most |w|/4, and with
# |w| ~ |N(0, 1)| the typical one is about 0.1. That is the vanishing gradient. But the spread
# is the deeper problem. Remove the drift by hand (divide every layer's gain by the typical
# one, so the median product is 1 at every depth): the products are now *centred* on 1, and
# still the fraction within ten times of 1 shrinks, because the spread of the sum of logs grows like
# sqrt(L). A product of many random terms is almost never near 1.

# %%
typical = 10.0 ** np.mean(log_products[1])  # geometric mean of one term
centred = {L: logs - L * np.log10(typical) for L, logs in log_products.items()}
fraction_centred = {L: in_balance(logs) for L, logs in centred.items()}
print(f"\ndrift removed (every layer's gain divided by the typical one {typical:.3f}):")
print("   L   in [0.1, 10]  (book's init)")
for L in DEPTHS:
    print(f"{L:4d}  {fraction_centred[L]:12.4f}  ({fraction_book[L]:.4f})")

# %% [markdown]
# Could a different weight scale make the typical layer gain 1? Scale the weights, w ~ N(0, s^2):
# small s makes every term small, large s pushes z out of the window of eq. 123. The best
# scale only reaches a typical layer gain of about 0.2: "1/4-ish". Balance does not happen by
# chance; it has to be built in (lesson 8).

# %%
SCALES = [0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 10.0]
SCAN_DEPTH, SCAN_M = 16, (2_000 if QUICK else 50_000)
per_layer = {}
print(f"\nthe typical layer gain (geometric mean, chains of {SCAN_DEPTH}) for w ~ N(0, s^2):")
print("     s   typical layer gain")
for scale in SCALES:
    logs = np.log10(np.abs(chain_products(SCAN_DEPTH, SCAN_M, scale)))
    per_layer[scale] = 10.0 ** (logs.mean() / SCAN_DEPTH)
    print(f"{scale:6.1f}  {per_layer[scale]:.3f}")
best_scale = max(per_layer, key=per_layer.get)
print(f"best: s = {best_scale:g}, typical layer gain {per_layer[best_scale]:.3f}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4.0), sharey=True)
bins = np.linspace(-14, 10, 97)
for L in (1, 2, 4, 8):
    axes[0].hist(log_products[L], bins=bins, density=True, histtype="step", label=f"L = {L}")
    axes[1].hist(centred[L], bins=bins, density=True, histtype="step", label=f"L = {L}")
for L in (16, 32):
    axes[1].hist(centred[L], bins=bins, density=True, histtype="step", label=f"L = {L}")
for ax, title in zip(axes, ("w, b ~ N(0, 1): drift and spread", "drift removed: spread only")):
    ax.axvspan(-1, 1, color="0.9", zorder=0)
    ax.set_xlabel("log10 |product of L terms w_j sigma'(z_j)|")
    ax.set_title(title)
    ax.legend()
axes[0].set_ylabel("density")
fig.tight_layout()
show(fig, OUT / "products_histogram.png")

fig, axes = plt.subplots(1, 2, figsize=(11, 4.0))
axes[0].plot(DEPTHS, [fraction_centred[L] for L in DEPTHS], "o-", label="drift removed")
axes[0].plot(DEPTHS, [fraction_book[L] for L in DEPTHS], "s-", label="w, b ~ N(0, 1)")
axes[0].set_xscale("log", base=2)
axes[0].set_xlabel("depth L")
axes[0].set_ylabel("fraction with 0.1 <= |product| <= 10")
axes[0].set_title("Balance by chance gets rarer with depth")
axes[0].legend()
axes[1].plot(SCALES, [per_layer[s] for s in SCALES], "o-")
axes[1].axhline(0.25, color="0.5", ls="--", label="1/4")
axes[1].set_xlabel("weight scale s  (w ~ N(0, s^2))")
axes[1].set_ylabel("typical layer gain |w sigma'(z)|")
axes[1].set_title("No weight scale makes the typical layer gain 1")
axes[1].legend()
fig.tight_layout()
show(fig, OUT / "balance_vs_depth.png")
print(f"\nwrote {OUT / 'width_vs_w.png'}, {OUT / 'products_histogram.png'}, "
      f"{OUT / 'balance_vs_depth.png'}")

# %% [markdown]
# ## What this lesson claims

# %%
assert abs(width_best - WIDEST["width"]) < 1e-3, (
    f"max width {width_best:.5f}, reference {WIDEST['width']}")
assert abs(w_best - WIDEST["w"]) < 0.01, f"max at |w| = {w_best:.4f}, reference {WIDEST['w']}"
for w, ref in SPOTS.items():
    assert abs(window_width(w) - ref) < 1e-3, (
        f"width at |w| = {w}: {window_width(w):.4f}, reference {ref}")
for w, measured in brute.items():
    # the window [a1, a2] holds between (a2 - a1)/STEP - 1 and (a2 - a1)/STEP + 1 grid points
    assert abs(measured - window_width(w)) <= STEP * 1.001, (
        f"w = {w}: measured width {measured} vs eq. 123 {window_width(w)} (grid {STEP})")
assert brute[3.9] == 0.0, "for |w| < 4 no input should give |w sigma'(z)| >= 1"
for shallow, deep in zip(DEPTHS, DEPTHS[1:]):
    assert fraction_centred[deep] < fraction_centred[shallow], (
        f"centred in-balance fraction did not shrink from L={shallow} to L={deep}: "
        f"{fraction_centred[shallow]} -> {fraction_centred[deep]}")
    assert fraction_book[deep] <= fraction_book[shallow], (
        f"in-balance fraction grew from L={shallow} to L={deep}")
assert fraction_book[2] < fraction_book[1], "in-balance fraction did not shrink from L=1 to 2"
for L, ratio in spread_ratio.items():
    assert 0.9 < ratio < 1.1, (
        f"spread of log10|product| at L={L} is {ratio:.3f} x sqrt(L) x the spread at L=1")
assert per_layer[best_scale] < 0.25, (
    f"a weight scale s = {best_scale} gave a typical layer gain {per_layer[best_scale]:.3f} >= 1/4")
print("lesson 7: all claims hold")
