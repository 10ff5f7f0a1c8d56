# %% [markdown]
"""
# Lesson 8: mechanisms that balance the product, and ones that do not

The error of hidden layer l is delta^l = Sigma'(z^l) (w^{l+1})^T delta^{l+1} (eq. 124): each
layer down multiplies the gradient by its weights and by sigma'(z) <= 1/4. In the book's net
every layer down shrinks it about 5 times (lesson 5). This lesson changes one thing at a time
on the same net, [784, 30, 30, 30, 30, 10] on the same 1,000 MNIST images, and measures each
layer's speed of learning s_l = ||dC/db^l|| with the same table and picture: the book's
initialisation, N(0, 1) weights, Glorot/Xavier, Xavier scaled by 4, orthogonal weights,
tanh, ReLU with He initialisation, and a residual connection. Some balance the layers; some
(Xavier and orthogonal weights on sigmoid neurons) do not, and the lesson says why. Then it
trains every net for a few epochs: balance at initialisation is not the whole story.

Run it:

    python lessons/08_balancing_the_product.py
    python lessons/08_balancing_the_product.py --quick --out /tmp/out
    minigrad lesson 8
"""

# %%
import dataclasses

import matplotlib.pyplot as plt
import numpy as np

from minigrad import data, nn
from minigrad.flow import gradient_flow
from minigrad.train import fit
from minigrad.viz import draw_layers, show

# isort: split
# %%
from minigrad.lessons import settings

QUICK, OUT = settings(8)  # --quick, --out DIR (see minigrad lesson --help)

# %% [markdown]
# ## What has to balance
#
# Going down one layer multiplies the error by (w^{l+1})^T and then by sigma'(z^l),
# elementwise. For a 30 x 30 matrix with entries of variance v, ||w^T delta|| is about
# sqrt(30 v) ||delta||; sigma'(z) is at most 1/4 (at z = 0) and about 0.21 in the book's net.
# So one layer down scales the gradient by about sqrt(30 v) times the typical sigma'(z). The
# layers learn at the same speed only when that product is close to 1. Glorot and Bengio
# (2010) choose v = 2/(n_in + n_out) so that sqrt(n v) = 1: balance, *if* the activation has
# slope 1 near 0, as tanh does. The sigmoid's slope there is 1/4.
#
# Every net below has the same shape and the same output layer (sigmoid neurons and the
# cross-entropy cost, so delta^L = a^L - y); only the hidden layers change.

# %%
mnist = data.load_mnist()
x, y = mnist.x_train[:1000], mnist.y_train[:1000]  # the book's 1,000 images
SIZES = [784, 30, 30, 30, 30, 10]


@dataclasses.dataclass(frozen=True)
class Mechanism:
    """How the hidden layers of [784, 30, 30, 30, 30, 10] are built."""

    activation: str  # of the hidden layers; the output layer is always sigmoid
    init: str  # a name from nn.SCHEMES
    scale: float = 1.0  # multiplies the hidden layers' initial weights (PyTorch: init 'gain')
    residual: bool = False  # hidden layers 2-4 as a + f(a)


MECHANISMS = {
    "sigmoid, book's init": Mechanism("sigmoid", "nielsen"),
    "sigmoid, N(0, 1)": Mechanism("sigmoid", "large"),
    "sigmoid, Xavier": Mechanism("sigmoid", "xavier"),
    "sigmoid, Xavier x4": Mechanism("sigmoid", "xavier", scale=4.0),
    "sigmoid, orthogonal": Mechanism("sigmoid", "orthogonal"),
    "tanh, Xavier": Mechanism("tanh", "xavier"),
    "tanh, orthogonal": Mechanism("tanh", "orthogonal"),
    "ReLU, He": Mechanism("relu", "he"),
    "sigmoid + residual": Mechanism("sigmoid", "nielsen", residual=True),
}
BOOK = "sigmoid, book's init"


def build(mechanism: Mechanism, seed: int) -> nn.Sequential:
    """[784, 30, 30, 30, 30, 10]: hidden Linear + activation blocks, a sigmoid output layer."""
    rng = np.random.default_rng(seed)  # the same draws as nn.mlp(SIZES, seed=seed)
    act = nn.ACTIVATIONS[mechanism.activation]
    hidden = [nn.Linear(n_in, n_out, init=mechanism.init, rng=rng)
              for n_in, n_out in zip(SIZES[:-2], SIZES[1:-1])]
    output = nn.Linear(SIZES[-2], SIZES[-1], init=mechanism.init, rng=rng)
    for linear in hidden:
        linear.weight.data *= mechanism.scale
    layers: list[nn.Module] = [hidden[0], act()]  # 784 -> 30: widths differ, no identity path
    for linear in hidden[1:]:  # 30 -> 30
        block = nn.Sequential(linear, act())
        layers.append(nn.Residual(block) if mechanism.residual else block)
    return nn.Sequential(*layers, output, nn.Sigmoid())

# %% [markdown]
# ## One initialisation of each
#
# The same measurement as lesson 5: one forward and one backward pass over the 1,000 images,
# then s_l = ||dC/db^l|| for every layer. "spread" is the fastest hidden layer's speed over the
# slowest's: 1 means every hidden layer learns at the same speed.

# %%
SEED = 0
reports = {name: gradient_flow(build(m, SEED), x, y) for name, m in MECHANISMS.items()}


def spread(hidden_speeds: list[float]) -> float:
    """max / min of the hidden layers' speeds: 1 when they all learn equally fast."""
    return max(hidden_speeds) / min(hidden_speeds)


print(f"seed {SEED}: speed of learning s_l per layer")
print(f"{'mechanism':22s}" + "".join(f"{r.role:>10s}" for r in reports[BOOK].layers)
      + "  last/first  spread  layer 1 saturated")
for name, report in reports.items():
    print(f"{name:22s}" + "".join(f"{s:10.3g}" for s in report.speeds)
          + f"  {report.last_over_first:10.3g}  {spread(report.hidden_speeds):6.3g}"
          + f"  {report.layers[0].saturation:17.0%}")
print("(saturated: sigmoid a < 0.01 or > 0.99, tanh |a| > 0.99; for ReLU the fraction that is 0)")

# %% [markdown]
# The full report of two of them: the book's net, and the net with tanh neurons and Xavier
# weights. Note the mean of sigma'(z): about 0.21 for the sigmoid, 0.8-0.9 for tanh.

# %%
for name in (BOOK, "tanh, Xavier"):
    print(f"\n{name}")
    print(reports[name].table())

# %%
SLUGS = {  # file names of the pictures
    "sigmoid, book's init": "sigmoid_book", "sigmoid, N(0, 1)": "sigmoid_large",
    "sigmoid, Xavier": "sigmoid_xavier", "sigmoid, Xavier x4": "sigmoid_xavier_x4",
    "sigmoid, orthogonal": "sigmoid_orthogonal", "tanh, Xavier": "tanh_xavier",
    "tanh, orthogonal": "tanh_orthogonal", "ReLU, He": "relu_he",
    "sigmoid + residual": "sigmoid_residual",
}
for name, report in reports.items():
    title = (f"{name}: last hidden / first hidden = {report.last_over_first:.3g}x\n"
             f"{report.summary()}")
    show(draw_layers(report, title=title), OUT / f"layers_{SLUGS[name]}.svg")

# %% [markdown]
# ## Over many initialisations
#
# One draw can mislead; the ranking below uses the median over several seeds. A mechanism
# balances the layers when its spread is close to 1 in every draw.

# %%
SEEDS = range(5 if QUICK else 100)
ratios = {name: np.array([]) for name in MECHANISMS}
spreads = {name: np.array([]) for name in MECHANISMS}
first_saturation = {name: np.array([]) for name in MECHANISMS}
for name, m in MECHANISMS.items():
    seed_reports = [gradient_flow(build(m, seed), x, y) for seed in SEEDS]
    ratios[name] = np.array([r.last_over_first for r in seed_reports])
    spreads[name] = np.array([spread(r.hidden_speeds) for r in seed_reports])
    first_saturation[name] = np.array([r.layers[0].saturation for r in seed_reports])


def verdict(median_spread: float) -> str:
    """Plain words for a median spread of the hidden layers' speeds."""
    if median_spread <= 2:
        return "yes: within 2x"
    if median_spread <= 10:
        return f"roughly: {median_spread:.0f}x apart"
    return f"no: {median_spread:.0f}x apart"


ranking = sorted(MECHANISMS, key=lambda name: np.median(spreads[name]))
print(f"over {len(SEEDS)} seeds, ranked by how close the hidden layers' speeds are:")
print(f"{'':3s}{'mechanism':22s}  last/first: median [min, max]   spread  same speed?")
for rank, name in enumerate(ranking, 1):
    r = ratios[name]
    print(f"{rank:2d} {name:22s}  {np.median(r):8.3g} [{r.min():6.3g}, {r.max():6.3g}]"
          f"  {np.median(spreads[name]):7.3g}  {verdict(np.median(spreads[name]))}")

# %%
fig, (ax_speeds, ax_ratio) = plt.subplots(1, 2, figsize=(13, 5.0), layout="constrained")
roles = [row.role for row in reports[BOOK].layers]
markers = "os^vD<>px"
for (name, report), marker in zip(reports.items(), markers):
    ax_speeds.plot(range(len(roles)), report.speeds, marker=marker, label=name)
ax_speeds.set_xticks(range(len(roles)), roles)
ax_speeds.set_yscale("log")
ax_speeds.set_ylabel("speed of learning  ||dC/db||")
ax_speeds.set_title(f"speed of learning per layer at initialisation (seed {SEED})")
ax_speeds.legend(fontsize=8)
positions = np.arange(len(ranking))
medians = np.array([np.median(ratios[name]) for name in ranking])
low = medians - np.array([ratios[name].min() for name in ranking])
high = np.array([ratios[name].max() for name in ranking]) - medians
ax_ratio.errorbar(medians, positions, xerr=[low, high], fmt="o", color="#238b45", capsize=3)
ax_ratio.axvline(1.0, color="0.3", ls="--")
ax_ratio.set_xscale("log")
ax_ratio.set_yticks(positions, ranking)
ax_ratio.invert_yaxis()
ax_ratio.set_xlabel("last hidden / first hidden speed (1 = balanced)")
ax_ratio.set_title(f"median over {len(SEEDS)} seeds, whiskers min-max")
show(fig, OUT / "speeds_by_mechanism.png")

# %% [markdown]
# What the numbers say:
#
# - **The book's init** leaves the first hidden layer about 100 times slower than the last.
# - **Xavier and orthogonal weights on sigmoid neurons do not balance it.** They make
#   sqrt(n v) = 1 (orthogonal weights keep ||w^T delta|| = ||delta|| exactly), so the only
#   factor left per layer is sigma'(z) <= 1/4: the gradient still shrinks at least 4 times a
#   layer, and the ratio stays around 50-130. Glorot and Bengio's analysis assumes an
#   activation with slope 1 near 0; PyTorch's init "gain" of 1 for sigmoid (its
#   `calculate_gain`, a weight scale, not minigrad's gain) is a convention, not balance.
# - **Xavier x4** puts the missing 4 back (the scale that cancels sigma'(0) = 1/4): the ratio
#   drops to about 4.
# - **N(0, 1) weights** are a large scale too (sqrt(30) per layer): the ratio falls to about 10,
#   but more than half of the first hidden layer is saturated (the 784 inputs add up to large
#   |z|), the problem the book's init was made to avoid.
# - **tanh** has slope 1 at 0: with Xavier or orthogonal weights each layer's factor is close
#   to 1 and the layers learn within about 2x of each other. **ReLU** has slope 1 where it is
#   on, for about half of the units; He's sqrt(2/n_in) makes up for the half that is off.
#   (The report calls those zeros "dead": each is 0 *for that input*. About half is what He's
#   init should give; a unit that is 0 for every input would be dead for good.)
# - **A residual connection** a^l = a^{l-1} + f(a^{l-1}) adds an identity path: delta flows
#   down it unchanged, whatever the sigmoid does, so the layers learn at nearly the same speed
#   even with the book's sigmoid neurons and init.
#
# ## Balance at initialisation is not the whole story
#
# Train every net for a few epochs (mini-batches of 10 on the 4,000 training images,
# eta = 0.1, lambda = 5.0, the book's chapter 5 settings) and measure again. (Full setting
# only.)

# %%
TRAIN_EPOCHS = 3
trained = {}  # name -> (report after training, test accuracy)
if not QUICK:
    for name, m in MECHANISMS.items():
        model = build(m, SEED)
        history = fit(model, mnist, epochs=TRAIN_EPOCHS, batch_size=10, lr=0.1,
                      weight_decay=5.0 / len(mnist.y_train), seed=SEED, progress=False)
        trained[name] = (gradient_flow(model, x, y), history.test_accuracy[-1])
    print(f"after {TRAIN_EPOCHS} epochs of training (seed {SEED}):")
    print(f"{'mechanism':22s}  last/first at init  after  test accuracy")
    for name, (report, accuracy) in trained.items():
        print(f"{name:22s}  {reports[name].last_over_first:18.3g}  "
              f"{report.last_over_first:5.3g}  {100 * accuracy:12.1f}%")

    fig, ax = plt.subplots(figsize=(8, 4.6), layout="constrained")
    names = list(trained)
    positions = np.arange(len(names))
    ax.scatter([reports[n].last_over_first for n in names], positions, marker="o",
               label="at initialisation", color="0.5")
    ax.scatter([trained[n][0].last_over_first for n in names], positions, marker="s",
               label=f"after {TRAIN_EPOCHS} epochs", color="C3")
    for i, n in enumerate(names):
        ax.annotate(f"{100 * trained[n][1]:.0f}%", (trained[n][0].last_over_first, i),
                    xytext=(6, -3), textcoords="offset points", fontsize=8)
    ax.axvline(1.0, color="0.3", ls="--")
    ax.set_xscale("log")
    ax.set_yticks(positions, names)
    ax.invert_yaxis()
    ax.set_xlabel("last hidden / first hidden speed (labels: test accuracy after training)")
    ax.set_title(f"balance moves during training (seed {SEED}, eta 0.1, lambda 5.0)")
    ax.legend(fontsize=8)
    show(fig, OUT / "before_after_training.png")
print(f"\nwrote {', '.join(sorted(p.name for p in OUT.iterdir()))} into {OUT}")

# %% [markdown]
# The ratios move. The sigmoid nets that did not balance get *worse*: as the output layer
# starts to fit, the gradient reaching the first layer shrinks even faster, and after 3
# epochs they are still guessing (about 10% on the test digits). The nets that were balanced,
# or nearly (N(0, 1), Xavier x4), have all started to learn; those within 2x at
# initialisation reach over 85%. And their balance drifts too, the other way: now the first
# hidden layer learns faster than the last. Balance at initialisation gets training started;
# keeping it during training is the job of later inventions, batch normalisation among them.
#
# ## What this lesson claims

# %%
for name in (BOOK, "sigmoid, Xavier", "sigmoid, orthogonal"):
    assert (ratios[name] > 30).all(), (
        f"{name}: last/first should stay > 30 (sigma' <= 1/4 per layer), got "
        f"{ratios[name].min():.1f} in one seed")
assert (ratios["sigmoid, Xavier x4"] < ratios["sigmoid, Xavier"] / 4).all(), (
    "a scale of 4 should make Xavier-on-sigmoid at least 4x more balanced in every seed")
assert (ratios["sigmoid, N(0, 1)"] < ratios[BOOK] / 2).all(), (
    "N(0, 1) weights should leave a smaller last/first ratio than the book's init")
assert (first_saturation["sigmoid, N(0, 1)"] > 0.4).all(), (
    f"N(0, 1) weights: first-layer saturation {first_saturation['sigmoid, N(0, 1)']}")
assert (ratios["tanh, Xavier"] < ratios["sigmoid, Xavier"] / 10).all(), (
    "tanh with Xavier should be at least 10x more balanced than sigmoid with Xavier")
book_log = np.log10(np.median(spreads[BOOK]))
for name in ("tanh, Xavier", "tanh, orthogonal", "ReLU, He", "sigmoid + residual"):
    log_spread = np.log10(np.median(spreads[name]))
    assert log_spread <= book_log - 1, (
        f"{name}: median spread {10 ** log_spread:.3g} is not 10x closer to 1 than the "
        f"book's {10 ** book_log:.3g}")
    assert (spreads[name] < 10).all(), f"{name}: spread up to {spreads[name].max():.3g}"
assert (spreads["sigmoid + residual"] < 3).all(), (
    f"residual: spread up to {spreads['sigmoid + residual'].max():.3g}, want < 3")
if trained:
    after = {name: report.last_over_first for name, (report, _) in trained.items()}
    accuracy = {name: acc for name, (_, acc) in trained.items()}
    assert after[BOOK] > reports[BOOK].last_over_first, (
        f"book's net: last/first {reports[BOOK].last_over_first:.3g} -> {after[BOOK]:.3g}")
    assert accuracy[BOOK] < 0.2, f"book's net learned after {TRAIN_EPOCHS} epochs: {accuracy}"
    for name in ("tanh, Xavier", "ReLU, He", "sigmoid + residual"):
        assert accuracy[name] > 0.8, f"{name}: test accuracy {accuracy[name]:.3f}"
        assert after[name] < reports[name].last_over_first, (
            f"{name}: last/first {reports[name].last_over_first:.3g} -> {after[name]:.3g}")
print("lesson 8: all claims hold")
