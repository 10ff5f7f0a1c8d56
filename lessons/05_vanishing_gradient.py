# %% [markdown]
"""
# Lesson 5: the vanishing gradient: earlier hidden layers learn much slower than later ones

Nielsen measures how fast each hidden layer learns by the size of its bias gradient, the speed
of learning s_l = ||dC/db^l||, on the first 1,000 MNIST training images. This lesson takes the
same measurement with minigrad for 2, 3 and 4 hidden layers of 30 sigmoid neurons: first for one
random initialisation, next to the book's numbers; then over many initialisations (the book's
numbers are one draw; the pattern is in every draw); then over 500 epochs of full-batch training
(the book's speed-of-learning curves): the first hidden layer keeps learning about 100 times
slower than the last.

Run it:

    python lessons/05_vanishing_gradient.py
    python lessons/05_vanishing_gradient.py --quick --out /tmp/out
    minigrad lesson 5
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from minigrad import data, nn, reference
from minigrad.flow import gradient_flow
from minigrad.train import speed_of_learning_curves
from minigrad.viz import draw_layers, plot_curves, plot_speeds, show

# isort: split
# %%
from minigrad.lessons import settings

QUICK, OUT = settings(5)  # --quick, --out DIR (see minigrad lesson --help)

# %% [markdown]
# ## The measurement
#
# The book's setting: the first 1,000 training images x with one-hot targets y; a net of
# sigmoid neurons on every layer (the output layer too) with the cross-entropy cost, so the
# output error is delta^L = a^L - y; weights drawn N(0, 1)/sqrt(n_in), biases N(0, 1).
# One backward pass over the batch gives every layer's error delta^l = dC/dz^l, and
#
#     s_l = || (1/N) sum_x dC_x/db^l ||_2
#
# is the speed of learning of hidden layer l. `gradient_flow` does this: one forward and one
# backward pass, then reads dC/db^l for every Linear layer. The net is measured at
# initialisation, before any training.

# %%
mnist = data.load_mnist()
x, y = mnist.x_train[:1000], mnist.y_train[:1000]  # (1000, 784), (1000,)
print(f"{len(x)} images; digits 0-9 appear {np.bincount(y, minlength=10).tolist()} times")

NETS = {2: [784, 30, 30, 10], 3: [784, 30, 30, 30, 10], 4: [784, 30, 30, 30, 30, 10]}
BOOK_TEXT = reference.BOOK_SPEEDS_TEXT.value  # the speeds the book's text quotes
BOOK_RUN = reference.BOOK_SPEEDS_RUN.value  # the book's stored run, epoch 0, to more digits

# %% [markdown]
# ## One initialisation, next to the book's

# %%
SEED = 0
reports = {depth: gradient_flow(nn.mlp(sizes, init="nielsen", seed=SEED), x, y)
           for depth, sizes in NETS.items()}
for depth, report in reports.items():
    print(f"\n{NETS[depth]}, seed {SEED}")
    print("  layer      minigrad   book's text   book's run")
    for i, speed in enumerate(report.hidden_speeds):
        print(f"  hidden {i + 1}  {speed:8.4g}   {BOOK_TEXT[depth][i]:11.3g}   "
              f"{BOOK_RUN[depth][i]:10.4g}")
    book_ratio = reference.BOOK_RUN_RATIO.value[depth]  # from the run's unrounded numbers
    print(f"  last / first: {report.last_over_first:.1f} (book's run: {book_ratio:.1f})")
print(f"\nthe book: with 4 hidden layers the first learns roughly "
      f"{reference.BOOK_SLOWDOWN.value} times slower than the last")

# %% [markdown]
# The pattern is the book's: every hidden layer learns about 5 times slower than the one above
# it, so with 4 hidden layers the first learns about 100 times slower than the last. The full
# report of the deepest net: each layer's speed, its gain s_l/s_{l+1} (about x0.2: the gradient
# is about 5 times smaller after the way down into each layer), the
# activations (none saturated: a^l has mean about 0.5) and the mean of sigma'(z^l), about
# 0.21, close to its ceiling 1/4. The gradient shrinks on its way down because every layer
# multiplies it by sigma'(z) <= 1/4 and by weights w^T that, drawn N(0, 1/30), keep its size
# about the same: about 4-5 per layer.

# %%
print(reports[4].table())
for depth, report in reports.items():
    show(draw_layers(report), OUT / f"layers_{depth}_hidden.svg")

fig, axes = plt.subplots(1, 3, figsize=(13, 4.0), layout="constrained")
for ax, (depth, report) in zip(axes, reports.items()):
    plot_speeds(report, ax=ax)
    ax.set_xlabel(str(NETS[depth]))
show(fig, OUT / "speeds_one_seed.png")

# %% [markdown]
# ## Many initialisations
#
# The book sets no random seed: its table is one draw of the weights. How much does it vary?
# Draw the net again and again and measure each time.

# %%
N_SEEDS = 10 if QUICK else 1000
speeds = {depth: np.array([gradient_flow(nn.mlp(sizes, init="nielsen", seed=seed), x, y)
                           .hidden_speeds for seed in range(N_SEEDS)])  # (seeds, hidden layers)
          for depth, sizes in NETS.items()}

# The same measurement over 1,000 initialisations, taken for minigrad (minigrad.reference)
REF_MEDIANS = reference.SEED_MEDIANS.value  # per-layer median of s_l
REF_RATIO_RANGE = reference.SEED_RATIO_RANGE.value  # last/first, 1st-99th percentile
REF_SPREAD = reference.SEED_LOG10_SPREAD.value  # std of log10 s_l, per layer
REF_ADJACENT = reference.ADJACENT_RATIO_MEDIAN.value  # s_(l+1)/s_l, median
REF_ADJACENT_RANGE = reference.ADJACENT_RATIO_RANGE.value  # s_(l+1)/s_l, 1st-99th percentile
ratios = {depth: s[:, -1] / s[:, 0] for depth, s in speeds.items()}
increasing = {depth: np.all(np.diff(s, axis=1) > 0, axis=1) for depth, s in speeds.items()}
adjacent = np.concatenate([(s[:, 1:] / s[:, :-1]).ravel() for s in speeds.values()])
print(f"over {N_SEEDS} initialisations (the reference: 1,000 of them):")
for depth, s in speeds.items():
    medians = np.median(s, axis=0)
    low, high = np.percentile(ratios[depth], [1, 99])
    print(f"\n{NETS[depth]}")
    print("  per-layer median  " + "  ".join(f"{v:.4f}" for v in medians)
          + "   (reference " + ", ".join(f"{v:g}" for v in REF_MEDIANS[depth]) + ")")
    print("  spread of log10 s " + "  ".join(f"{v:.3f}" for v in np.log10(s).std(axis=0))
          + f"   (reference about {REF_SPREAD[0]}-{REF_SPREAD[1]})")
    print(f"  last/first: median {np.median(ratios[depth]):.1f}, 1st-99th percentile "
          f"{low:.1f}-{high:.1f} (reference {REF_RATIO_RANGE[depth][0]}-"
          f"{REF_RATIO_RANGE[depth][1]})")
    print(f"  speeds increase layer by layer in {increasing[depth].sum()} of {N_SEEDS} draws")
a_low, a_high = np.percentile(adjacent, [1, 99])
print(f"\nneighbouring layers s_(l+1)/s_l: median {np.median(adjacent):.2f}, 1st-99th "
      f"percentile {a_low:.2f}-{a_high:.2f}, smallest {adjacent.min():.2f} "
      f"(reference: median {REF_ADJACENT}, {REF_ADJACENT_RANGE[0]}-{REF_ADJACENT_RANGE[1]})")

# %%
fig, ax = plt.subplots(figsize=(7.5, 4.0), layout="constrained")
bins = np.linspace(0.0, 2.7, 55)  # log10 of last/first
for depth, color in zip(NETS, ("C0", "C1", "C2")):
    low, high = REF_RATIO_RANGE[depth]
    ax.axvspan(np.log10(low), np.log10(high), color=color, alpha=0.12)
    ax.hist(np.log10(ratios[depth]), bins=bins, histtype="step", color=color, linewidth=1.5,
            label=f"{depth} hidden layers")
    ax.axvline(np.log10(reference.BOOK_RUN_RATIO.value[depth]), color=color, ls="--")
ax.set_xlabel("log10 (last hidden / first hidden speed of learning)")
ax.set_ylabel(f"initialisations (of {N_SEEDS})")
ax.set_title("shaded: the reference range; dashed: the book's one draw")
ax.legend()
show(fig, OUT / "ratios_over_seeds.png")

# %% [markdown]
# ## During training: the speed-of-learning curves
#
# Does the gap close once the net learns? The book's experiment: every epoch, measure s_l on
# the 1,000 images, then take ONE full-batch gradient-descent step on them with eta = 0.1 and
# L2 weight decay lambda = 5.0 (weights shrink by 1 - eta lambda / n = 0.9995 each step;
# biases are not decayed). `speed_of_learning_curves` runs it and records every epoch.

# %%
CURVE_EPOCHS = 40 if QUICK else 500
CURVE_MINIMUM = reference.CURVE_MINIMUM_EPOCHS.value  # 2 hidden layers: the speeds' minimum
CURVE_RATIO = reference.CURVE_RATIO_RANGE.value  # 4 hidden layers: last/first in every epoch
curves = {depth: speed_of_learning_curves(nn.mlp(NETS[depth], init="nielsen", seed=SEED), x, y,
                                          epochs=CURVE_EPOCHS, lr=0.1, weight_decay=5.0)
          for depth in (2, 4)}
two = curves[2].hidden_speeds  # (epochs, 2)
minimum_epoch = two.argmin(axis=0)
rebound = [two[k:, j].max() / two[k, j] for j, k in enumerate(minimum_epoch)]
four = curves[4].hidden_speeds  # (epochs, 4)
ratio_four = four[:, -1] / four[:, 0]
print(f"{CURVE_EPOCHS} epochs of full-batch gradient descent on the 1,000 images:")
for j in range(two.shape[1]):
    print(f"  2 hidden layers, layer {j + 1}: {two[0, j]:.3g} at epoch 0, minimum "
          f"{two[minimum_epoch[j], j]:.3g} at epoch {minimum_epoch[j]}, then up "
          f"{rebound[j]:.1f}x (to {two[-1, j]:.3g} at the end)")
print(f"  4 hidden layers: last/first between {ratio_four.min():.1f} and "
      f"{ratio_four.max():.1f} over all {CURVE_EPOCHS} epochs (reference: roughly "
      f"{CURVE_RATIO[0]}-{CURVE_RATIO[1]})")

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), layout="constrained")
for ax, (depth, recorder) in zip(axes, curves.items()):
    plot_curves(recorder, ax=ax)
    ax.set_title(f"{NETS[depth]}: eta 0.1, lambda 5.0, 1,000 images", fontsize=10)
show(fig, OUT / "speed_of_learning_curves.png")
print(f"\nwrote {', '.join(sorted(p.name for p in OUT.iterdir()))} into {OUT}")

# %% [markdown]
# With 2 hidden layers both speeds fall while the net finds its first easy improvements, reach
# a minimum and rise again several-fold as it starts to learn in earnest. With 4 hidden layers
# the first hidden layer stays roughly 50-100 times slower than the last for the whole run:
# training does not close the gap. That is the vanishing gradient problem.
#
# ## What this lesson claims

# %%
for depth, report in reports.items():
    hidden = report.hidden_speeds
    assert all(a < b for a, b in zip(hidden, hidden[1:])), (
        f"{NETS[depth]} seed {SEED}: speeds {hidden} do not increase toward the output")
for depth, s in speeds.items():
    assert increasing[depth].all(), (
        f"{NETS[depth]}: speeds increase layer by layer in only {increasing[depth].sum()} "
        f"of {N_SEEDS} draws")
    median_ratio = float(np.median(ratios[depth]))
    low, high = REF_RATIO_RANGE[depth]
    assert low <= median_ratio <= high, (
        f"{NETS[depth]}: median last/first {median_ratio:.1f} outside the reference {low}-{high}")
    medians = np.median(s, axis=0)
    for i, (ours, ref) in enumerate(zip(medians, REF_MEDIANS[depth])):
        assert 1 / 1.5 < ours / ref < 1.5, (
            f"{NETS[depth]} hidden {i + 1}: median speed {ours:.4g} vs reference {ref}")
assert REF_ADJACENT_RANGE[0] < np.median(adjacent) < REF_ADJACENT_RANGE[1], (
    f"median neighbour ratio {np.median(adjacent):.2f}")
assert (ratio_four > CURVE_RATIO[0]).all() and (ratio_four < CURVE_RATIO[1]).all(), (
    f"4 hidden layers: last/first left {CURVE_RATIO[0]}-{CURVE_RATIO[1]} during training: "
    f"{ratio_four.min():.1f}-{ratio_four.max():.1f}")
if QUICK:  # the first 40 epochs: both speeds of the 2-layer net are falling fast
    assert (two[-1] < two[0] / 10).all(), f"2 hidden layers: {two[0]} -> {two[-1]}"
else:
    for j, (k, up) in enumerate(zip(minimum_epoch, rebound)):
        assert CURVE_MINIMUM[0] <= k <= CURVE_MINIMUM[1], (
            f"2 hidden layers, layer {j + 1}: minimum at epoch {k}")
        assert up >= 3, f"2 hidden layers, layer {j + 1}: rebound only {up:.2f}x"
print("lesson 5: all claims hold")
