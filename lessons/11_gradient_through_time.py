# %% [markdown]
"""
# Lesson 11: the gradient through time, and the LSTM

The chapter's footnote points past the book: Hochreiter (1991) and Bengio, Simard and Frasconi
(1994) found the same unstable product in recurrent nets, where it runs through *time steps*
instead of layers. A recurrent cell computes h_t = f(W_ih x_t + W_hh h_(t-1) + b) at every step
with the same weights, so the error of an early step is

    dC/dh_k = (prod over t = k+1 ... T of  W_hh^T diag(f'(z_t)))  dC/dh_T,

eq. 124 with time in place of depth. This lesson unrolls `nn.RNNCell` (tanh and sigmoid) in a
plain Python loop, measures the speed of learning of every time step with
`flow_through_time` (the same rows, table and picture as a layer report), checks Pascanu,
Mikolov and Bengio's (2013) bound, makes it explode, and then trains a plain RNN and an
`nn.LSTMCell` on a task whose answer lies many steps back.

Run it:

    python lessons/11_gradient_through_time.py
    python lessons/11_gradient_through_time.py --quick --out /tmp/out
    minigrad lesson 11
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from minigrad import Tensor, Value, nn, optim, reference
from minigrad.flow.through_time import flow_through_time
from minigrad.trace import trace
from minigrad.viz import draw_chain, draw_layers, show

# isort: split
# %%
from minigrad.lessons import settings

QUICK, OUT = settings(11)  # --quick, --out DIR (see minigrad lesson --help)

# %% [markdown]
# ## The task: recall the first input
#
# Each sequence is T numbers, each +1 or -1 at random; the target, read from the last hidden
# state h_T by a sigmoid output neuron, is whether the *first* number was +1. Everything after
# it is a distraction, so the gradient that tells the net what to keep has to travel back
# T - 1 steps. The cells have 16 hidden units and PyTorch's initialisation.

# %%
H = 16


def sequences(rng: np.random.Generator, n: int, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """xs (lag, n, 1) of +-1; y (n, 1): 1 where the first number is +1."""
    xs = rng.choice([-1.0, 1.0], size=(lag, n, 1))
    return xs, (xs[0] > 0).astype(float)


def readout(rng: np.random.Generator) -> nn.Sequential:
    return nn.Sequential(nn.Linear(H, 1, init="xavier", rng=rng), nn.Sigmoid())


# %% [markdown]
# ## Speed of learning per time step
#
# One sequence of 30 steps, one backward pass. Step t's speed of learning is Nielsen's
# measure with time in place of depth: the size of step t's contribution to dC/db,
# s_t = ||dC/dz_t|| (z_t the step's pre-activation).

# %%
T = 30
SEEDS = range(3 if QUICK else 10)
GAMMA = reference.PASCANU_GAMMA.value  # the largest f': tanh'(0) = 1, sigma'(0) = 1/4
vanishing = {}  # activation -> list of (speeds, per-step ratio of ||dC/dh||, ||W_hh||)
for activation in GAMMA:
    vanishing[activation] = []
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        cell = nn.RNNCell(1, H, activation=activation, rng=rng)
        xs, y = sequences(rng, 1, T)
        report = flow_through_time(cell, xs, y, readout=readout(rng))
        g = np.array(report.state_gradients)  # ||dC/dh_t||, t = 1 ... T
        vanishing[activation].append((np.array(report.speeds), g[:-1] / g[1:],
                                      np.linalg.norm(cell.weight_hh.data, 2)))
        if seed == 0:
            print(f"{activation} RNN, seed 0")
            print(report.table())
            show(draw_layers(report, title=f"{activation} RNN, 30 steps: {report.summary()}"),
                 OUT / f"steps_{activation}.svg")

# %% [markdown]
# The speed falls by about the same factor at every step back: geometrically. How fast it
# falls is bounded. One step back multiplies dC/dh by W_hh^T diag(f'(z_t)), so its size
# changes by at most ||W_hh|| (the largest singular value) times gamma, the largest |f'|: 1
# for tanh, 1/4 for the sigmoid. When ||W_hh|| gamma < 1 the gradient *must* vanish
# (Pascanu et al.'s sufficient condition); above 1 it may explode (their necessary one).

# %%
print(f"{'':8s} {'||W_hh||':>9s} {'bound':>7s} {'largest step ratio':>19s} "
      f"{'median gain':>12s} {'s_1 / s_T':>10s}")
for activation, runs in vanishing.items():
    for seed, (speeds, ratios, w_norm) in zip(SEEDS, runs):
        if seed < 3:
            print(f"{activation:8s} {w_norm:9.3f} {w_norm * GAMMA[activation]:7.3f} "
                  f"{ratios.max():19.3f} {np.median(speeds[:-1] / speeds[1:]):12.3f} "
                  f"{speeds[0] / speeds[-1]:10.2e}")

# %% [markdown]
# PyTorch's initialisation gives ||W_hh|| close to 1: for tanh the bound is about 1 and allows
# anything, yet each step back still shrinks the gradient about 2x, because tanh'(z) < 1
# wherever z is not 0. For the sigmoid the bound is about 1/4 and the first step learns
# about 10^-24 times as fast as the last.
#
# ## Exploding: large recurrent weights
#
# Now W_hh = 3 Q with Q orthogonal (||W_hh|| = 3) and small inputs (0.1 x the sequence), so
# the units stay away from saturation: each step back can multiply the gradient by up to 3.

# %%
exploding = []
for seed in SEEDS:
    rng = np.random.default_rng(seed)
    cell = nn.RNNCell(1, H, rng=rng)
    cell.weight_hh.data[:] = 3.0 * np.linalg.qr(rng.standard_normal((H, H)))[0]
    xs, y = sequences(rng, 8, T)
    report = flow_through_time(cell, 0.1 * xs, y, readout=readout(rng))
    exploding.append(np.array(report.speeds))
    if seed == 0:
        print(report.summary())
        show(draw_layers(report, title=f"tanh RNN, ||W_hh|| = 3: {report.summary()}"),
             OUT / "steps_exploding.svg")
explode_ratio = np.array([s[0] / s[-1] for s in exploding])
print(f"s_1 / s_T over {len(SEEDS)} seeds: {explode_ratio.min():.3g} to "
      f"{explode_ratio.max():.3g}")

# %% [markdown]
# ## Eq. 122 through time: one unit
#
# With one hidden unit every factor is a number, and the path from the cost back to h_0 is
# the book's eq. 122 with time in place of depth: at every step a weight w and a derivative
# tanh'(z_t), the Nielsen term w tanh'(z_t) framed as one step's gain.

# %%
h0 = Value(0.2, label="h0")
h = h0
for t, x_t in enumerate([1.0, -1.0, 1.0, 1.0, -1.0, 1.0], 1):
    h = (h * 0.9 + x_t * 0.5 + 0.1).tanh()  # w = 0.9, u = 0.5, b = 0.1
    h.label = f"h{t}"
cost = (h - 1.0) ** 2 * 0.5
cost.label = "C"
path = trace(cost).path(h0)
print(f"dC/dh0 = {path.gradient:.6g}, the product of {len(path)} factors along the path")
show(draw_chain(path, title="a one-unit tanh RNN, 6 steps: dC/dh0"), OUT / "chain_one_unit.svg")

# %% [markdown]
# ## Exploding gradients, and clipping
#
# Train the exploding net (||W_hh|| = 3, inputs 0.1 x the sequence) on the recall task at lag
# 10 with plain SGD (eta = 1), once as it is and once with the gradient's norm clipped to 1
# (Pascanu et al.'s remedy, `optim.clip_grad_norm`, which returns the norm before clipping).

# %%
CLIP_STEPS = 150


def train_exploding(clip: bool, seed: int, lag: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """(loss per step, gradient norm per step) of the ||W_hh|| = 3 tanh RNN."""
    rng = np.random.default_rng(seed)
    cell = nn.RNNCell(1, H, rng=rng)
    cell.weight_hh.data[:] = 3.0 * np.linalg.qr(rng.standard_normal((H, H)))[0]
    head = readout(rng)
    params = cell.parameters() + head.parameters()
    sgd = optim.SGD(params, lr=1.0)
    losses, norms = [], []
    for _ in range(CLIP_STEPS):
        xs, y = sequences(rng, 32, lag)
        state = None
        for x_t in xs:
            state = cell(Tensor(0.1 * x_t), state)
        loss = nn.cross_entropy_loss(head(state), y)
        sgd.zero_grad()
        loss.backward(keep_grads=False)
        losses.append(float(loss.data))
        if clip:
            norms.append(optim.clip_grad_norm(params, 1.0))
        else:
            norms.append(float(np.sqrt(sum(float((p.grad ** 2).sum()) for p in params))))
        sgd.step()
    return np.array(losses), np.array(norms)


CLIP_SEEDS = range(3)
clipping = {clip: [train_exploding(clip, s) for s in CLIP_SEEDS] for clip in (False, True)}
for clip, runs in clipping.items():
    print(f"{'clipped to 1' if clip else 'not clipped':12s}: largest loss "
          + ", ".join(f"{losses.max():.2f}" for losses, _ in runs)
          + "; mean of the last 10 losses "
          + ", ".join(f"{losses[-10:].mean():.2f}" for losses, _ in runs)
          + "; largest gradient norm " + ", ".join(f"{norms.max():.3g}" for _, norms in runs))
print(f"(guessing costs ln 2 = {np.log(2):.3f})")

# %%
fig, ax = plt.subplots(figsize=(8, 4.2), layout="constrained")
for clip, color in ((False, "C3"), (True, "C0")):
    for i, (losses, _) in enumerate(clipping[clip]):
        ax.plot(losses, color=color, alpha=0.8, lw=1,
                label=("clipped to norm 1" if clip else "not clipped") if i == 0 else None)
ax.axhline(np.log(2), color="0.4", ls="--", lw=1, label="guessing (ln 2)")
ax.set_xlabel("SGD step")
ax.set_ylabel("cost")
ax.set_title(f"tanh RNN with ||W_hh|| = 3, lag 10, eta 1 ({len(CLIP_SEEDS)} seeds)")
ax.legend(fontsize=8)
show(fig, OUT / "clipping.png")

# %% [markdown]
# Without clipping the cost jumps far above guessing whenever a large gradient throws the
# weights across the loss surface (above 4 in these seeds); clipped, the steps keep their
# direction but not their length, and the cost stays below about 1.6, ending between ln 2 and
# about 1. Clipping stops the explosion from wrecking the weights; it does not make the
# long-range signal learnable.
#
# ## The plain RNN cannot learn the recall task past a short lag
#
# Both cells are trained the same way: the same number of SGD steps on fresh mini-batches of
# 32 sequences, eta = 1, gradients clipped to norm 1 with `optim.clip_grad_norm` (so no run
# blows up), and tested on 500 new sequences. 50% is guessing. The LSTM gets PyTorch's
# initialisation plus a forget-gate bias of 3 (Gers et al. 2000; Jozefowicz et al. 2015 use 1;
# 3 starts it with f = sigma(3) = 0.95). It has four times as many recurrent weights (four
# gates): the budget that is the same is the steps, the data and the hidden size.

# %%
STEPS = 200 if QUICK else 300
FORGET_BIAS = 3.0


def make_cell(kind: str, rng: np.random.Generator) -> nn.Module:
    if kind == "RNN":
        return nn.RNNCell(1, H, rng=rng)
    cell = nn.LSTMCell(1, H, rng=rng)
    cell.bias_hh.data[H:2 * H] += FORGET_BIAS  # the forget gate's rows (i, f, g, o)
    return cell


def last_state(cell: nn.Module, xs: np.ndarray) -> Tensor:
    """h_T: the cell unrolled over xs (T, N, 1) in a plain loop."""
    state = None
    for x_t in xs:
        state = cell(Tensor(x_t), state)
    return state[0] if isinstance(state, tuple) else state


def train(kind: str, lag: int, seed: int) -> float:
    """Test accuracy after STEPS clipped SGD steps on the recall task with this lag."""
    rng = np.random.default_rng(seed)
    cell, head = make_cell(kind, rng), readout(rng)
    params = cell.parameters() + head.parameters()
    sgd = optim.SGD(params, lr=1.0)
    for _ in range(STEPS):
        xs, y = sequences(rng, 32, lag)
        sgd.zero_grad()
        nn.cross_entropy_loss(head(last_state(cell, xs)), y).backward(keep_grads=False)
        optim.clip_grad_norm(params, 1.0)
        sgd.step()
    xs, y = sequences(np.random.default_rng(10_000 + lag), 500, lag)
    return float(((head(last_state(cell, xs)).data > 0.5) == (y > 0.5)).mean())


RNN_LAGS = [5, 20] if QUICK else [5, 10, 15, 20, 30]
LSTM_LAG = 20
TRAIN_SEEDS = range(1 if QUICK else 3)
rnn_accuracy = {lag: [train("RNN", lag, s) for s in TRAIN_SEEDS] for lag in RNN_LAGS}
lstm_accuracy = [train("LSTM", LSTM_LAG, s) for s in TRAIN_SEEDS]
for lag, accs in rnn_accuracy.items():
    print(f"RNN,  lag {lag:2d}: test accuracy " + ", ".join(f"{100 * a:.1f}%" for a in accs))
print(f"LSTM, lag {LSTM_LAG:2d}: test accuracy "
      + ", ".join(f"{100 * a:.1f}%" for a in lstm_accuracy))
learned = [lag for lag, accs in rnn_accuracy.items() if min(accs) > 0.9]
print(f"the plain RNN learns the task up to lag {max(learned)} in every seed, and not at "
      f"lag {min(lag for lag in RNN_LAGS if lag > max(learned))}")

# %% [markdown]
# Around lag 15 is the edge: whether a plain RNN learns it there depends on the seed (try
# others); from lag 20 on it stays at guessing, while the LSTM, with the same hidden size,
# steps and data, learns lag 20.

# %% [markdown]
# ## Why the LSTM can: the cell path
#
# The LSTM keeps a second state, the cell c_t = f_t * c_(t-1) + i_t * g_t, and along it one
# step back multiplies the gradient by the forget gate f_t, elementwise: no W_hh, no squashing
# derivative. With f_t near 1 the error reaches early steps almost unchanged (Hochreiter and
# Schmidhuber's "constant error carousel"). Measure both cells at initialisation on the same
# 30-step sequences, and the forget gate the LSTM runs with.

# %%
def forget_gates(cell: nn.LSTMCell, xs: np.ndarray) -> np.ndarray:
    """f_t at every step, (T, N, H), from the cell's own weights (rows H:2H)."""
    rows = slice(H, 2 * H)
    h = c = np.zeros((xs.shape[1], H))
    gates = []
    for x_t in xs:
        h_t, c_t = cell(Tensor(x_t), (Tensor(h), Tensor(c)))
        z = (x_t @ cell.weight_ih.data[rows].T + cell.bias_ih.data[rows]
             + h @ cell.weight_hh.data[rows].T + cell.bias_hh.data[rows])
        gates.append(1 / (1 + np.exp(-z)))
        h, c = h_t.data, c_t.data
    return np.array(gates)


carousel = {"RNN": [], "LSTM": []}  # s_1 / s_T
forget_mean = []
speeds_seed0 = {}
for seed in SEEDS:
    for kind in carousel:
        rng = np.random.default_rng(seed)
        cell = make_cell(kind, rng)
        xs, y = sequences(rng, 32, T)
        report = flow_through_time(cell, xs, y, readout=readout(rng))
        carousel[kind].append(report.speeds[0] / report.speeds[-1])
        if kind == "LSTM":
            forget_mean.append(float(forget_gates(cell, xs).mean()))
        if seed == 0:
            show(draw_layers(report, title=f"{kind}, 30 steps: {report.summary()}"),
                 OUT / f"steps_{kind.lower()}_30.svg")
            speeds_seed0[kind] = report.speeds
carousel = {kind: np.array(v) for kind, v in carousel.items()}
print(f"s_1 / s_T over {len(SEEDS)} seeds: tanh RNN {carousel['RNN'].min():.2g} to "
      f"{carousel['RNN'].max():.2g}; LSTM {carousel['LSTM'].min():.2g} to "
      f"{carousel['LSTM'].max():.2g}; the LSTM's mean forget gate "
      f"{min(forget_mean):.3f} to {max(forget_mean):.3f}")

# %%
fig, (ax_steps, ax_lag) = plt.subplots(1, 2, figsize=(12, 4.6), layout="constrained")
t = np.arange(1, T + 1)
for activation, runs in vanishing.items():
    ax_steps.plot(t, runs[0][0], marker="o", ms=3, label=f"{activation} RNN")
ax_steps.plot(t, exploding[0], marker="^", ms=3, label="tanh RNN, ||W_hh|| = 3")
ax_steps.plot(t, speeds_seed0["LSTM"], marker="s", ms=3,
              label=f"LSTM, forget bias {FORGET_BIAS:g}")
ax_steps.set_yscale("log")
ax_steps.set_xlabel("time step t (T = 30 is next to the cost)")
ax_steps.set_ylabel("speed of learning  s_t = ||dC/dz_t||")
ax_steps.set_title("speed of learning per time step at initialisation (seed 0)")
ax_steps.legend(fontsize=8)
ax_lag.plot(RNN_LAGS, [100 * np.median(rnn_accuracy[lag]) for lag in RNN_LAGS], marker="o",
            label="RNN (tanh)")
ax_lag.plot([LSTM_LAG], [100 * np.median(lstm_accuracy)], marker="s", ls="",
            label="LSTM")
ax_lag.axhline(50, color="0.4", ls="--", lw=1)
ax_lag.set_xlabel("lag (steps between the input and the answer)")
ax_lag.set_ylabel("test accuracy (%)")
ax_lag.set_title(f"recall the first input, {STEPS} SGD steps")
ax_lag.legend(fontsize=8)
show(fig, OUT / "speed_per_step_and_lag.png")
print(f"\nwrote {', '.join(sorted(p.name for p in OUT.iterdir()))} into {OUT}")

# %% [markdown]
# ## What this lesson claims

# %%
for activation, runs in vanishing.items():
    for speeds, ratios, w_norm in runs:
        assert (ratios <= w_norm * GAMMA[activation] * (1 + 1e-12)).all(), (
            f"{activation}: a step back grew ||dC/dh|| by {ratios.max():.3g}, more than "
            f"||W_hh|| gamma = {w_norm * GAMMA[activation]:.3g}")
        gains = speeds[:-1] / speeds[1:]
        assert np.median(gains) < 0.9 and (gains < 1).mean() > 0.9, (
            f"{activation}: the speed should fall at (nearly) every step back: {gains}")
    assert max(s[0] / s[-1] for s, _, _ in runs) < (1e-2 if activation == "tanh" else 1e-15)
sigmoid_bounds = [w * GAMMA["sigmoid"] for _, _, w in vanishing["sigmoid"]]
assert max(sigmoid_bounds) < 1, "sigmoid with PyTorch's init: ||W_hh|| / 4 < 1, must vanish"
assert (explode_ratio > 10).all(), f"||W_hh|| = 3: s_1 / s_T should be > 10: {explode_ratio}"
assert min(rnn_accuracy[RNN_LAGS[0]]) > 0.9, f"RNN at lag {RNN_LAGS[0]}: {rnn_accuracy}"
assert all(max(accs) < 0.65 for lag, accs in rnn_accuracy.items() if lag >= 20), (
    f"the plain RNN should fail (near 50%) from lag 20: {rnn_accuracy}")
assert min(lstm_accuracy) > 0.9, f"LSTM at lag {LSTM_LAG}: {lstm_accuracy}"
assert (carousel["LSTM"] > 0.05).all() and (carousel["RNN"] < 1e-2).all(), carousel
assert min(forget_mean) > 0.9, f"the forget gate should start near 1: {forget_mean}"
assert abs(path.gradient - h0.grad) <= 1e-15, "the path's product is backward's dC/dh0"
for losses, _ in clipping[False]:
    assert losses.max() > 2.5, f"without clipping the cost should spike above 2.5: {losses.max()}"
for (losses, _), (plain, _) in zip(clipping[True], clipping[False]):
    assert losses.max() < 2.5, f"clipped, the cost should stay below 2.5: {losses.max()}"
    assert losses[-10:].mean() < plain[-10:].mean(), "clipped should end lower than unclipped"
print("lesson 11: all claims hold")
