# %% [markdown]
"""
# Lesson 12: normalisation, batch norm and layer norm

Batch normalisation (Ioffe and Szegedy 2015) came after the book: each unit's z is normalised
over the mini-batch, y = gamma (z - mean_B) / sqrt(var_B + eps) + beta, before (or after) the
activation. Layer normalisation (Ba, Kiros and Hinton 2016) does the same over the units of
each example instead. This lesson puts both into the book's net, [784, 30, 30, 30, 30, 10]
with sigmoid neurons, the book's initialisation, the same 1,000 MNIST images and the
cross-entropy cost, and measures every layer's speed of learning with the same report and
picture as lessons 5 and 8. Then it trains them.

A Linear layer followed by `nn.BatchNorm1d` has a bias gradient of exactly 0 (in floating
point, about 1e-16): the normalisation subtracts the batch mean, so a shift of z changes
nothing. `gradient_flow`
measures such a layer by its batch norm's beta instead, s_l = ||dC/dbeta^l||, and says so in
the row's name.

Run it:

    python lessons/12_normalisation.py
    python lessons/12_normalisation.py --quick --out /tmp/out
    minigrad lesson 12
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from minigrad import Tensor, data, nn, optim, reference
from minigrad.flow import gradient_flow
from minigrad.train import evaluate
from minigrad.viz import draw_layers, show

# isort: split
# %%
from minigrad.lessons import settings

QUICK, OUT = settings(12)  # --quick, --out DIR (see minigrad lesson --help)

# %% [markdown]
# ## Four nets
#
# The same Linear layers (the same draws for a given seed), with the hidden layers built four
# ways: plain (the book's net), `BatchNorm1d` between each hidden Linear and its sigmoid
# ("batch norm before"), after the sigmoid ("batch norm after"), and `LayerNorm` before the
# sigmoid. The output layer is always a plain sigmoid layer.

# %%
mnist = data.load_mnist()
x, y = mnist.x_train[:1000], mnist.y_train[:1000]  # the book's 1,000 images
SIZES = [784, 30, 30, 30, 30, 10]
KINDS = ["plain", "batch norm before", "batch norm after", "layer norm before"]


def build(kind: str, seed: int) -> nn.Sequential:
    """The book's net with its hidden layers built as ``kind`` says."""
    rng = np.random.default_rng(seed)  # the same Linear draws as nn.mlp(SIZES, seed=seed)
    linears = [nn.Linear(n_in, n_out, rng=rng) for n_in, n_out in zip(SIZES[:-1], SIZES[1:])]
    layers: list[nn.Module] = []
    for linear in linears[:-1]:
        n = linear.n_out
        layers += {"plain": [linear, nn.Sigmoid()],
                   "batch norm before": [linear, nn.BatchNorm1d(n), nn.Sigmoid()],
                   "batch norm after": [linear, nn.Sigmoid(), nn.BatchNorm1d(n)],
                   "layer norm before": [linear, nn.LayerNorm(n), nn.Sigmoid()]}[kind]
    return nn.Sequential(*layers, linears[-1], nn.Sigmoid())


print(build("batch norm before", 0))

# %% [markdown]
# ## At initialisation
#
# One forward and one backward pass over the 1,000 images in training mode (batch
# statistics), for several seeds.

# %%
SEEDS = range(3 if QUICK else 10)
speeds = {kind: np.array([gradient_flow(build(kind, s), x, y).speeds for s in SEEDS])
          for kind in KINDS}  # (seeds, layers)
roles = [row.role for row in gradient_flow(build("plain", 0), x, y).layers]
print(f"median over {len(SEEDS)} seeds of the speed of learning s_l")
print(f"{'':20s}" + "".join(f"{r:>10s}" for r in roles) + "  last/first  spread 1-3")
for kind in KINDS:
    s = speeds[kind]
    last_first = s[:, 3] / s[:, 0]
    spread_13 = s[:, :3].max(axis=1) / s[:, :3].min(axis=1)
    print(f"{kind:20s}" + "".join(f"{v:10.3g}" for v in np.median(s, axis=0))
          + f"  {np.median(last_first):10.3g}  {np.median(spread_13):9.3g}")
    print(f"{'':20s}  last/first over the seeds: {last_first.min():.3g} to "
          f"{last_first.max():.3g}; spread of hidden 1-3: {spread_13.min():.3g} to "
          f"{spread_13.max():.3g}")
BN_REFERENCE = reference.BATCH_NORM_TORCH.value  # PyTorch, the same net, batch norm before
print("reference (PyTorch, batch norm before, its seeds): ||dC/dbeta|| about "
      + ", ".join(f"{v:g}" for v in BN_REFERENCE["speeds"])
      + f"; hidden 1-3 within {BN_REFERENCE['spread_1_3']}x, hidden 4 "
      f"{BN_REFERENCE['hidden_4_over_1_3'][0]}-{BN_REFERENCE['hidden_4_over_1_3'][1]}x faster")

# %%
report = gradient_flow(build("batch norm before", 0), x, y)
print(report.table())
print("\nrow names:", [row.name for row in report.layers])
for kind in KINDS:
    r = gradient_flow(build(kind, 0), x, y)
    title = f"{kind} (seed 0): last hidden / first hidden = {r.last_over_first:.3g}x"
    show(draw_layers(r, title=title), OUT / f"layers_{kind.replace(' ', '_')}.svg")

# %% [markdown]
# With batch norm before each sigmoid, hidden layers 1, 2 and 3 learn at nearly the same
# speed, and hidden layer 4 still learns tens of times faster than they do: about as fast as
# in the plain net. Why the jump between 4 and 3?
#
# The backward of a batch norm removes the batch mean of the gradient (and its component
# along the normalised z): dC/dz = gamma / sigma_B (g - mean_B(g) - zhat mean_B(g zhat)). Hidden
# layer 4's speed is ||dC/dbeta^4|| = ||sum over the batch of g||, measured *before* that
# removal: it keeps the part of the error common to the whole batch. Everything below it only
# receives what is left, and at initialisation the output error a - y is mostly common to the
# batch (every image's outputs start near the same values, whatever its digit). Measure that:
# the fraction of the gradient at hidden layer 4's batch norm that is common to the batch,
# ||sum_x g_x|| / sum_x ||g_x|| (1: the same for every image; about 1/sqrt(N) for unrelated
# ones), before and after the normalisation's backward.

# %%
model = build("batch norm before", 0)
kept = []
h = Tensor(x)
for layer in model:
    h = layer(h)
    kept.append(h)
nn.cross_entropy_loss(h, y).backward()
bn4 = [i for i, layer in enumerate(model) if isinstance(layer, nn.BatchNorm1d)][-1]
g_out, g_in = kept[bn4].grad, kept[bn4 - 1].grad  # dC/dy4 (beta's side), dC/dz4 (below)


def common(g: np.ndarray) -> float:
    """||sum_x g_x|| / sum_x ||g_x||: how much of the gradient the whole batch shares."""
    return float(np.linalg.norm(g.sum(axis=0)) / np.linalg.norm(g, axis=1).sum())


common_out, common_in = common(g_out), common(g_in)
print(f"at hidden 4's batch norm, the part common to the batch: {common_out:.3f} of the "
      f"gradient above it (dC/dy), {common_in:.1e} below it (dC/dz); 1/sqrt(N) = "
      f"{1 / np.sqrt(len(x)):.3f}")
bias_grad_max = max(float(np.abs(layer.bias.grad).max()) for layer in model[:bn4]
                    if isinstance(layer, nn.Linear))
print(f"the hidden Linear biases' gradients: max |dC/db| = {bias_grad_max:.1e} (0 up to "
      "rounding)")

# %% [markdown]
# So the common part, most of the signal at initialisation, is cut off at hidden layer 4's
# normalisation; below it the per-image remainder passes through normalisations that keep
# its size steady, which is why layers 1-3 are level with each other. Batch norm *after* the
# sigmoid normalises what the next Linear sees and leaves the sigmoid's own slope in the
# path: the layers are much closer together than in the plain net. Layer norm normalises each
# image's 30 units, not the batch: it does not remove the batch-common error and does not
# stop the sigmoid's 1/4 per layer, so the book's imbalance stays.
#
# ## After some training
#
# Mini-batches of 10 on the 4,000 training images, eta = 0.1, lambda = 5.0 (the book's
# chapter-5 settings), each net in training mode while it learns and in evaluation mode
# (`model.eval()`: running statistics) for the test accuracy; then the speeds again.

# %%
EPOCHS = 1 if QUICK else 3
TRAIN_SEEDS = range(1 if QUICK else 3)


def train(model: nn.Sequential, epochs: int, seed: int) -> float:
    """SGD with the book's settings; returns the test accuracy (evaluation mode)."""
    sgd = optim.SGD(optim.weight_decay_groups(model, 5.0 / len(mnist.y_train)), lr=0.1)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        model.train()
        for xb, yb in data.batches(mnist.x_train, mnist.y_train, 10, rng=rng):
            sgd.zero_grad()
            nn.cross_entropy_loss(model(xb), yb).backward(keep_grads=False)
            sgd.step()
    model.eval()
    return evaluate(model, mnist.x_test, mnist.y_test)


accuracy = {kind: [] for kind in KINDS}
after = {kind: [] for kind in KINDS}
for kind in KINDS:
    for seed in TRAIN_SEEDS:
        model = build(kind, seed)
        accuracy[kind].append(train(model, EPOCHS, seed))
        model.train()
        after[kind].append(gradient_flow(model, x, y).speeds)
after = {kind: np.array(v) for kind, v in after.items()}
print(f"after {EPOCHS} epoch(s), seeds {list(TRAIN_SEEDS)}:")
print(f"{'':20s}  test accuracy   last/first at init  after")
for kind in KINDS:
    at_init = np.median(speeds[kind][:, 3] / speeds[kind][:, 0])
    trained = np.median(after[kind][:, 3] / after[kind][:, 0])
    accs = ", ".join(f"{100 * a:.1f}%" for a in accuracy[kind])
    print(f"{kind:20s}  {accs:14s}  {at_init:18.3g}  {trained:5.3g}")

# %%
fig, (ax_init, ax_after) = plt.subplots(1, 2, figsize=(12, 4.6), layout="constrained",
                                        sharey=True)
for kind, marker in zip(KINDS, "osD^"):
    ax_init.plot(roles, np.median(speeds[kind], axis=0), marker=marker, label=kind)
    ax_after.plot(roles, np.median(after[kind], axis=0), marker=marker,
                  label=f"{kind} ({100 * np.median(accuracy[kind]):.0f}% test)")
for ax, title in ((ax_init, f"at initialisation (median of {len(SEEDS)} seeds)"),
                  (ax_after, f"after {EPOCHS} epoch(s) of training")):
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend(fontsize=8)
ax_init.set_ylabel("speed of learning  ||dC/db|| (batch norm: ||dC/dbeta||)")
show(fig, OUT / "speeds_normalisation.png")
print(f"\nwrote {', '.join(sorted(p.name for p in OUT.iterdir()))} into {OUT}")

# %% [markdown]
# With the book's settings the plain net and the layer-norm net are still guessing after a
# few epochs (about 10%: the first layers barely move), while both batch-norm nets have
# learned; and during training the layers of a batch-norm net come within a few times of each
# other, the imbalance at hidden layer 4 gone once the output error stops being common to the
# whole batch.
#
# ## What this lesson claims

# %%
s_bn = speeds["batch norm before"]
assert (s_bn[:, :3].max(axis=1) / s_bn[:, :3].min(axis=1) < 2).all(), (
    f"batch norm before: hidden 1-3 should learn within 2x of each other, got {s_bn[:, :3]}")
assert (s_bn[:, 3] > 20 * s_bn[:, :3].max(axis=1)).all(), (
    f"batch norm before: hidden 4 should learn > 20x faster than hidden 1-3: {s_bn}")
assert (s_bn[:, 3] < 5 * speeds["plain"][:, 3]).all() and (
    s_bn[:, 3] > speeds["plain"][:, 3] / 5).all(), "hidden 4 should be about the plain net's"
s_plain = speeds["plain"]
assert (s_plain[:, 3] / s_plain[:, 0] > 30).all(), "the plain net: last/first > 30"
assert (s_plain[:, :3].max(axis=1) / s_plain[:, :3].min(axis=1) > 5).all()
s_after = speeds["batch norm after"]
assert (s_after[:, 3] / s_after[:, 0] < 10).all(), (
    f"batch norm after the sigmoid: last/first < 10, got {s_after[:, 3] / s_after[:, 0]}")
s_ln = speeds["layer norm before"]
assert (s_ln[:, 3] / s_ln[:, 0] > 30).all(), "layer norm keeps the book's imbalance (> 30x)"
assert common_out > 0.5 and common_in < 1e-9, (common_out, common_in)
assert bias_grad_max < 1e-14, f"a Linear bias before batch norm: |dC/db| up to {bias_grad_max}"
for kind in ("batch norm before", "batch norm after"):
    assert min(accuracy[kind]) > 0.6, f"{kind}: test accuracy {accuracy[kind]}"
    assert (after[kind][:, 3] / after[kind][:, 0] < 10).all(), (
        f"{kind}: after training last/first < 10: {after[kind][:, 3] / after[kind][:, 0]}")
for kind in ("plain", "layer norm before"):
    assert max(accuracy[kind]) < 0.2, f"{kind}: still guessing, got {accuracy[kind]}"
print("lesson 12: all claims hold")
