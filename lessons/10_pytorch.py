# %% [markdown]
"""
# Lesson 10: the same report, trace and pictures on PyTorch models

Everything lessons 2 to 8 measured with minigrad works on a PyTorch model with the same calls:
`gradient_flow(model, x, y)` gives the same report (each layer's speed of learning
s_l = ||dC/db^l||, its gain s_l/s_{l+1}, saturation, mean sigma'), `trace(C)` the same record
of every chain-rule step, `FlowRecorder(...).watch(model, optimizer)` the same history of a
plain PyTorch training loop, and `draw_layers`, `draw_chain` the same pictures. This lesson
builds the book's 4-hidden-layer sigmoid net in `torch.nn.Sequential` with minigrad's
weights and checks that the report is minigrad's to 1e-10 (the first hidden layer learns about
100 times slower than the last, as in lesson 5); measures the same net with batch
normalisation and with residual blocks; records a PyTorch training loop; and traces a torch
chain of single neurons down to b1 (eq. 122), ending at torch's own `b1.grad`.

It needs PyTorch (`pip install "minigrad[torch]"`). Run it:

    python lessons/10_pytorch.py
    python lessons/10_pytorch.py --quick --out /tmp/out
    minigrad lesson 10
"""

# %%
import torch

from minigrad import data, nn, reference
from minigrad.flow import FlowRecorder, gradient_flow
from minigrad.trace import exploding_chain, neuron_chain, trace
from minigrad.viz import draw_chain, draw_layers, plot_curves, show

# isort: split
# %%
from minigrad.lessons import settings

QUICK, OUT = settings(10)  # --quick, --out DIR (see minigrad lesson --help)
torch.set_num_threads(1)  # the nets are small: one thread, like minigrad's BLAS

# %% [markdown]
# ## The book's net, twice: in minigrad and in PyTorch, with the same weights
#
# The net of lesson 5: [784, 30, 30, 30, 30, 10], sigmoid neurons on every layer, the book's
# initialisation, the cross-entropy cost, the first 1,000 MNIST training images. minigrad
# draws the weights; PyTorch gets a copy of them, in float64, as an ordinary
# `torch.nn.Sequential` of `Linear` and `Sigmoid` modules. The same call measures both.
# For the PyTorch model, `gradient_flow` puts a forward hook on every `Linear` that hangs a
# tensor hook on its output z^l: in the one backward pass that hook receives
# delta^l = dC/dz^l, and s_l = ||sum over the batch of delta^l|| is the speed of learning.

# %%
mnist = data.load_mnist()
x, y = mnist.x_train[:1000], mnist.y_train[:1000]  # (1000, 784), (1000,)
SIZES = [784, 30, 30, 30, 30, 10]

ours = nn.mlp(SIZES, init="nielsen", seed=0)


def torch_copy(model: nn.Module) -> torch.nn.Sequential:
    """A torch.nn.Sequential with the weights of minigrad's mlp: Linear, Sigmoid, ..."""
    layers = []
    for _, module in model.named_modules():
        if isinstance(module, nn.Linear):
            n_out, n_in = module.weight.shape
            linear = torch.nn.Linear(n_in, n_out, dtype=torch.float64)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(module.weight.data))
                linear.bias.copy_(torch.from_numpy(module.bias.data))
            layers += [linear, torch.nn.Sigmoid()]
    return torch.nn.Sequential(*layers)


theirs = torch_copy(ours)
report_mg = gradient_flow(ours, x, y)
report_pt = gradient_flow(theirs, x, y)
print(theirs)
print("\nthe PyTorch model's report:")
print(report_pt.table())

FIELDS = ["speed", "weight_grad_norm", "gain", "act_mean", "act_std", "saturation",
          "mean_dsigma", "grad_data"]
differences = [abs(getattr(a, f) - getattr(b, f)) / abs(getattr(a, f))
               for a, b in zip(report_mg.layers, report_pt.layers) for f in FIELDS
               if getattr(a, f)]
print(f"\nlargest relative difference from minigrad's report, over {len(differences)} "
      f"figures: {max(differences):.1e}")
print(f"last / first hidden layer: minigrad {report_mg.last_over_first:.1f}, "
      f"PyTorch {report_pt.last_over_first:.1f}")

# %% [markdown]
# The two engines agree to about 1e-16, the rounding of float64: the same numbers, in a
# different order of operations. The picture of lesson 5 draws the PyTorch model's report:

# %%
show(draw_layers(report_pt, title="the book's net in torch.nn.Sequential"),
     OUT / "layers_torch_sequential.svg")

# %% [markdown]
# ## The same net with batch normalisation, and with residual blocks
#
# Two things PyTorch users reach for, measured the same way (PyTorch draws these weights).
#
# **Batch normalisation** (`BatchNorm1d` between each hidden Linear and its sigmoid) subtracts
# the batch mean of z^l, so the Linear's own bias b^l cancels out: its gradient is exactly 0
# (the report shows about 1e-16, rounding). The bias that does the job is BatchNorm's beta,
# and ||dC/dbeta^l|| is the speed of learning of those layers (Ioffe and Szegedy 2015; in
# `minigrad.reference`, `BATCH_NORM_BIAS_GRAD` and the PyTorch measurement `BATCH_NORM_TORCH`):
# read here from PyTorch's own `.grad` after one backward pass.

# %%
def book_net(seed: int, batch_norm: bool = False) -> torch.nn.Sequential:
    """The book's net drawn by PyTorch: W ~ N(0, 1)/sqrt(n_in), b ~ N(0, 1), float64."""
    generator = torch.Generator().manual_seed(seed)
    layers: list[torch.nn.Module] = []
    for n_in, n_out in zip(SIZES[:-1], SIZES[1:]):
        linear = torch.nn.Linear(n_in, n_out, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.randn(n_out, n_in, generator=generator,
                                            dtype=torch.float64) / n_in ** 0.5)
            linear.bias.copy_(torch.randn(n_out, generator=generator, dtype=torch.float64))
        layers.append(linear)
        if batch_norm and n_out != SIZES[-1]:
            layers.append(torch.nn.BatchNorm1d(n_out, dtype=torch.float64))
        layers.append(torch.nn.Sigmoid())
    return torch.nn.Sequential(*layers)


SEED = 1
plain = gradient_flow(book_net(SEED), x, y)
normed_net = book_net(SEED, batch_norm=True)
normed = gradient_flow(normed_net, x, y)

inputs = torch.from_numpy(x)
targets = torch.nn.functional.one_hot(torch.from_numpy(y), 10).double()
cost = torch.nn.functional.binary_cross_entropy(normed_net(inputs), targets,
                                                reduction="sum") / len(x)
normed_net.zero_grad()
cost.backward()
betas = [float(m.bias.grad.norm()) for m in normed_net if isinstance(m, torch.nn.BatchNorm1d)]
print("without batch norm, s_l of each hidden layer:", [f"{s:.3g}" for s in plain.hidden_speeds],
      f" last/first {plain.last_over_first:.0f}x")
print("with batch norm, the Linear biases' s_l:   ", [f"{s:.1e}" for s in normed.hidden_speeds])
print("with batch norm, ||dC/dbeta|| per layer:   ", [f"{s:.3g}" for s in betas],
      f" hidden 1-3 within {max(betas[:3]) / min(betas[:3]):.2f}x")
BN_REFERENCE = reference.BATCH_NORM_TORCH.value  # measured with PyTorch, other seeds
print("reference, ||dC/dbeta|| for its seeds:    ", [f"{s:.2g}" for s in BN_REFERENCE["speeds"]],
      f" hidden 1-3 within {BN_REFERENCE['spread_1_3']}x")

# %% [markdown]
# With batch normalisation hidden layers 1 to 3 learn at about the same speed: BatchNorm
# rescales each layer's z to unit spread, which undoes the shrinking the sigmoid's 1/4 and the
# weights did on the way down. The last hidden layer still learns much faster.
#
# **Residual blocks**: a + sigma(w a + b) for hidden layers 2 to 4, a `torch.nn.Module` of
# the user's own. The identity path carries the gradient past each layer unchanged (lesson 8
# measured this with minigrad's `nn.Residual`).

# %%
class ResidualBlock(torch.nn.Module):
    """a + inner(a)."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return a + self.inner(a)


layers = list(book_net(SEED))  # Linear, Sigmoid, Linear, Sigmoid, ...
residual_net = torch.nn.Sequential(
    layers[0], layers[1],
    *(ResidualBlock(torch.nn.Sequential(layers[k], layers[k + 1])) for k in (2, 4, 6)),
    layers[8], layers[9])
residual = gradient_flow(residual_net, x, y)
print(residual.table())
show(draw_layers(residual, title="the book's net with residual blocks (PyTorch)"),
     OUT / "layers_torch_residual.svg")

# %% [markdown]
# ## The recorder on a plain PyTorch training loop
#
# `FlowRecorder(x, y, every=N).watch(model, optimizer)` hooks the optimiser's `step`
# (`register_step_pre_hook`, `register_step_post_hook`): nothing in the loop changes. It
# measures at once and then every N optimiser steps on its own batch (here the book's 1,000
# images, every epoch of 4,000 images at mini-batch 10), and before every 10th step
# (`update_every=10`; 1 reads every step) records update:data, log10(||lr dW|| / ||W||), from
# that step's real mini-batch gradients.

# %%
EPOCHS = 2 if QUICK else 20
N_TRAIN, BATCH = 4000, 10
model = book_net(SEED)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
recorder = FlowRecorder(x, y, every=N_TRAIN // BATCH).watch(model, optimizer)

train_x = torch.from_numpy(mnist.x_train[:N_TRAIN])
train_y = torch.nn.functional.one_hot(torch.from_numpy(mnist.y_train[:N_TRAIN]), 10).double()
shuffle = torch.Generator().manual_seed(0)
for _ in range(EPOCHS):  # a plain PyTorch loop, one epoch each time round
    order = torch.randperm(N_TRAIN, generator=shuffle)
    for start in range(0, N_TRAIN, BATCH):
        batch = order[start:start + BATCH]
        loss = torch.nn.functional.binary_cross_entropy(model(train_x[batch]), train_y[batch],
                                                        reduction="sum") / BATCH
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
recorder.close()

ratios = [report.last_over_first for report in recorder.reports]
print(f"{len(recorder.reports)} measurements; last/first hidden layer at each:",
      [f"{r:.0f}" for r in ratios])
with torch.no_grad():
    guesses = model(torch.from_numpy(mnist.x_test)).argmax(dim=1).numpy()
accuracy = float((guesses == mnist.y_test).mean())
print(f"test accuracy after {EPOCHS} epochs: {accuracy:.1%}")
print("update:data of each layer over the last epoch:",
      [f"{u:.2f}" for u in recorder.train_update_data[-1]],
      f"(healthy: near {reference.UPDATE_DATA_HEALTHY.value})")
show(plot_curves(recorder), OUT / "speeds_torch_training.png")

# %% [markdown]
# For the first epochs the first hidden layer keeps learning about 100 times slower than the
# last, and its updates are tiny (update:data near 10^-4, against the healthy 10^-3). This is
# mini-batch SGD without L2, not the book's full-batch curves of lesson 5: in the full
# setting (20 epochs) the gap closes after about 11 epochs, when the net starts to learn
# (its test accuracy climbs from the 10% of chance to 45% by epoch 20), and the layers end up
# learning at about the same speed.
#
# ## A trace of a torch chain of single neurons
#
# Lesson 2's chain, z_j = w_j a_{j-1} + b_j, a_j = sigma(z_j), C = a_4^2 / 2, now of torch
# scalars. `trace(C)` walks PyTorch's autograd graph (`grad_fn.next_functions`), hooks every
# autograd node, runs the backward pass once and records each step: the local derivative of
# `SigmoidBackward0` is sigma' = s(1 - s) from the value it saved, that of `MulBackward0` the
# other factor. `labels` names the tensors. The path down to b1 is eq. 122, and its running
# product ends at torch's own `b1.grad`.

# %%
WEIGHTS, BIASES = [0.5, -0.8, 0.3, 0.9], [0.1, 0.2, -0.3, 0.4]
a = torch.tensor(0.5, dtype=torch.float64)
labels = {}
for j, (w_j, b_j) in enumerate(zip(WEIGHTS, BIASES), 1):
    w = torch.tensor(w_j, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(b_j, dtype=torch.float64, requires_grad=True)
    z = w * a + b
    a = torch.sigmoid(z)
    labels.update({f"w{j}": w, f"b{j}": b, f"z{j}": z, f"a{j}": a})
C = 0.5 * a ** 2

record = trace(C, labels=labels)
path = record.path(labels["b1"])
print(path.table())
print(f"\nthe path's product {path[-1].product:.12g}, torch's b1.grad "
      f"{float(labels['b1'].grad):.12g}")
book = neuron_chain(WEIGHTS, BIASES)
mg_product = trace(book.cost).path(book["b1"])[-1].product
print(f"minigrad's chain of Values: {mg_product:.12g}")
show(draw_chain(path, title="a chain of torch scalars: dC/db1, factor by factor"),
     OUT / "chain_torch.svg")

# %% [markdown]
# The same trace of the book's exploding construction (w_j = 100, b_j = -100 a_{j-1}, every
# z_j = 0): every factor w_j sigma'(z_j) is 25 and dC/db_1 = (1/4) 25^3 dC/da_4.

# %%
a = torch.tensor(0.5, dtype=torch.float64)
exploding = {}
for j in range(1, 5):
    w = torch.tensor(100.0, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(-100.0 * float(a.detach()), dtype=torch.float64, requires_grad=True)
    a = torch.sigmoid(w * a + b)
    exploding.update({f"w{j}": w, f"b{j}": b, f"a{j}": a})
C_exploding = 0.5 * a ** 2
exploding_path = trace(C_exploding, labels=exploding).path(exploding["b1"])
dC_da4 = float(exploding["a4"].detach())  # C = a4^2 / 2
print(f"dC/db1 = {exploding_path[-1].product:.6g} = "
      f"{exploding_path[-1].product / dC_da4:.6g} x dC/da4")
book_chain = exploding_chain(4, cost="output")
print(f"minigrad's exploding chain, dC/db1 / dC/da4: "
      f"{trace(book_chain.cost).path(book_chain['b1'])[-1].product:.6g}")

# %% [markdown]
# ## What this lesson claims

# %%
SEED_RANGE = reference.SEED_RATIO_RANGE.value[4]  # last/first of 4 hidden layers, 1st-99th pct
assert max(differences) < 1e-10, f"torch and minigrad differ by {max(differences):.2e}"
assert SEED_RANGE[0] < report_pt.last_over_first < SEED_RANGE[1], report_pt.last_over_first
assert all(s < 1e-12 for s in normed.hidden_speeds), normed.hidden_speeds  # 0 up to rounding
assert max(betas[:3]) / min(betas[:3]) < 2, betas
assert betas[3] > 10 * max(betas[:3]), betas
assert SEED_RANGE[0] < plain.last_over_first < SEED_RANGE[1], plain.last_over_first
assert residual.last_over_first < 3 and min(residual.hidden_speeds) > 0.1, residual.speeds
assert len(recorder.reports) == EPOCHS + 1 and recorder.steps[-1] == EPOCHS * 400
assert all(r > 30 for r in ratios[:3]), ratios  # the first epochs keep the book's gap
if not QUICK:
    assert ratios[-1] < ratios[0] / 10 and accuracy > 0.3, (ratios, accuracy)
assert abs(path[-1].product - float(labels["b1"].grad)) <= 1e-12 * abs(path[-1].product)
assert abs(path[-1].product - mg_product) <= 1e-12 * abs(mg_product)
assert abs(exploding_path[-1].product / dC_da4 - reference.EXPLODING_PRODUCT.value) < 1e-9
print("lesson 10: all claims hold")
