# %% [markdown]
"""
# Lesson 3: tensors and broadcasting: why a broadcast input's gradient is a sum

A layer computes z = x @ W^T + b for a whole batch at once: x is (N, n_in), W is (n_out, n_in)
and the bias b, of shape (n_out,), is broadcast over the N rows. This lesson shows why
dC/db is the sum over the batch of dC/dz (numerically, and with gradcheck), why an elementwise
op's Jacobian is diagonal (so "local derivative times upstream" works exactly as for scalars),
what the matrix product sends back (g @ W), and gradcheck catching a hand-written gradient that
forgets the sum.

Run it:

    python lessons/03_tensors_and_broadcasting.py
    python lessons/03_tensors_and_broadcasting.py --quick --out /tmp/out
    minigrad lesson 3
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from minigrad import GradcheckError, Tensor, Value, gradcheck, nn, no_grad
from minigrad.viz import draw_graph, show

# isort: split
# %%
from minigrad.lessons import settings

QUICK, OUT = settings(3)  # --quick, --out DIR (see minigrad lesson --help)

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## A layer on a batch
#
# N examples, one per row of x. Every row meets the *same* bias vector b: numpy broadcasting
# copies b down the N rows. The cost is the quadratic cost of the sigmoid outputs,
# C = (1/2) sum_{n,j} (sigma(z_nj) - y_nj)^2.

# %%
N, n_in, n_out = (4, 3, 2) if QUICK else (8, 5, 3)
rng = np.random.default_rng(3)
x = Tensor(rng.standard_normal((N, n_in)), requires_grad=True, label="x")  # (N, n_in)
W = Tensor(rng.standard_normal((n_out, n_in)), requires_grad=True, label="W")  # (n_out, n_in)
b = Tensor(rng.standard_normal(n_out), requires_grad=True, label="b")  # (n_out,)
y = rng.uniform(0.0, 1.0, (N, n_out))  # targets, (N, n_out)


def layer(x: Tensor, W: Tensor, b: Tensor) -> Tensor:
    """z = x @ W^T + b: (N, n_in) @ (n_in, n_out) + (n_out,) -> (N, n_out)."""
    return x @ W.T + b


def cost(z: Tensor) -> Tensor:
    """C = (1/2) sum (sigma(z) - y)^2, one number."""
    return ((z.sigmoid() - y) ** 2).sum() * 0.5


z = layer(x, W, b)
C = cost(z)
C.backward()
print(f"z = x @ W.T + b: x {x.shape}, W {W.shape}, b {b.shape} -> z {z.shape}")
print(f"C = {C.item():.6f}")
print("dC/dz (one row per example):")
print(z.grad)
print("sum over the batch of dC/dz:", z.grad.sum(axis=0))
print("dC/db from backward:        ", b.grad)

# %% [markdown]
# The backward graph: every tensor with its shape and the norms of its data and gradient, every
# edge with its local derivative. The edge from "+" down to b says x1: the local derivative of
# + is 1, yet b (shape (n_out,)) receives the (N, n_out) upstream summed over the batch.

# %%
z.label, C.label = "z", "C"
show(draw_graph(C), OUT / "layer_graph.svg")
print(f"wrote {OUT / 'layer_graph.svg'}")

# %% [markdown]
# ## Why a sum
#
# b_j is used N times, once in every row: z_nj = (x W^T)_nj + b_j for n = 1..N. Nudging b_j
# by eps moves all N of those z_nj by eps, and each one moves C by about dC/dz_nj * eps. The
# moves add up:
#
#     dC/db_j = sum_n dC/dz_nj * dz_nj/db_j = sum_n dC/dz_nj
#
# The engine does this by *un-broadcasting*: the upstream gradient, shape (N, n_out), is summed
# over the axis that broadcasting stretched. Check it with the definition of a derivative:
# central differences on each b_j, the whole forward pass recomputed without a graph.

# %%
eps = 1e-6
numeric = np.zeros(n_out)
for j in range(n_out):
    with no_grad():
        b.data[j] += eps
        plus = cost(layer(x, W, b)).item()
        b.data[j] -= 2 * eps
        minus = cost(layer(x, W, b)).item()
        b.data[j] += eps
    numeric[j] = (plus - minus) / (2 * eps)
print("dC/db by finite differences:", numeric)

# %% [markdown]
# The same happens with scalars: a Value used in several places gets one edge per use, and its
# gradient is the sum over the edges. Here one Value b is added to N different numbers.

# %%
b_scalar = Value(0.5, label="b")
terms = [Value(float(v)) + b_scalar for v in x.data[:, 0]]  # z_n = x_n + b, N uses of b
C_scalar = sum(((t.sigmoid() - 0.5) ** 2 for t in terms), Value(0.0)) * 0.5
C_scalar.backward()
per_use = [(t.sigmoid().data - 0.5) * t.sigmoid().data * (1 - t.sigmoid().data) for t in terms]
print(f"\nscalar b used {N} times: b.grad = {b_scalar.grad:.6f}, "
      f"sum of the {N} per-use terms = {sum(per_use):.6f}")

# %% [markdown]
# ## gradcheck, the referee
#
# `gradcheck(f, *inputs)` does the finite-difference check for every element of every input,
# in float64, and says which element differs if any. It passes on the real op:

# %%
print("\ngradcheck(layer and cost) over x, W and b:",
      gradcheck(lambda x, W, b: cost(layer(x, W, b)), x, W, b))

# %% [markdown]
# ## An elementwise op has a diagonal Jacobian
#
# a = sigma(z) for a vector z of n numbers: a_i depends on z_i only, so the Jacobian
# da_i/dz_k is zero off the diagonal and sigma'(z_i) on it. Backward never builds this matrix:
# the vector-Jacobian product g^T J of a diagonal J is just sigma'(z) * g, elementwise:
# local derivative times upstream, exactly as for a scalar. Recover J row by row by seeding
# backward with each unit vector e_i (g^T J with g = e_i is row i of J).

# %%
n = n_out + 2
z_vec = Tensor(rng.standard_normal(n), requires_grad=True, label="z")  # (n,)
a_vec = z_vec.sigmoid()
J = np.zeros((n, n))
for i in range(n):
    z_vec.zero_grad()  # leaf gradients accumulate: clear before each row
    a_vec.backward(gradient=np.eye(n)[i])
    J[i] = z_vec.grad
sigma = 1.0 / (1.0 + np.exp(-z_vec.data))
print("\nJacobian of sigma, recovered by backward:")
print(J)
print("sigma'(z) =", sigma * (1 - sigma))

g = rng.standard_normal(n)
z_vec.zero_grad()
a_vec.backward(gradient=g)
print("backward with upstream g:", z_vec.grad)
print("sigma'(z) * g:           ", sigma * (1 - sigma) * g)

# %% [markdown]
# ## The matrix product sends back g @ W
#
# For one example z = W x, so dz/dx = W (an n_out x n_in Jacobian, not diagonal) and the VJP is
# g^T W. For a batch of rows, dC/dx = g @ W with g = dC/dz of shape (N, n_out), and
# dC/dW = g^T @ x: each row of W meets every example, so that is again a sum over the batch.

# %%
g_z = z.grad  # dC/dz, (N, n_out)
print("\ndC/dx from backward (first row):", x.grad[0])
print("g @ W (first row):               ", (g_z @ W.data)[0])
print("dC/dW from backward:")
print(W.grad)
print("g.T @ x:")
print(g_z.T @ x.data)

# %% [markdown]
# `nn.Linear` computes the same z as one node per layer, with the same rule written out:
# dC/db = the sum over the batch.

# %%
linear = nn.Linear(n_in, n_out, rng=0)
z_lin = linear(x.detach())  # x.detach(): keep x.grad from the layer above
cost(z_lin).backward()
print("\nnn.Linear: bias.grad =", linear.bias.grad, " sum of dC/dz =", z_lin.grad.sum(axis=0))

# %% [markdown]
# ## Forgetting the sum
#
# Write the bias addition as a new op, with its backward rule by hand. `Tensor.from_op(data,
# parents, op, rule, ctx)` makes the node; `rule(ctx, upstream)` returns one contribution per
# parent. The right rule sends g to z and g summed over the batch to b. A rule that forgets the
# sum ("the local derivative of + is 1, so dC/db = g") hands b a gradient of the wrong *shape*:
# (N, n_out) for a bias of (n_out,). Trim it to fit by keeping one row and the shape is right
# but the number is wrong: only gradcheck can tell.

# %%
def add_bias_rule(ctx: tuple, g: np.ndarray) -> tuple:
    """dC/dz = g, dC/db = sum over the batch of g."""
    return g, g.sum(axis=0)


def add_bias_rule_no_sum(ctx: tuple, g: np.ndarray) -> tuple:
    """Wrong: dC/db = g, as if b were used once."""
    return g, g


def add_bias_rule_one_row(ctx: tuple, g: np.ndarray) -> tuple:
    """Wrong: dC/db = the first example's g only; the shape fits, the number does not."""
    return g, g[0]


def add_bias(z: Tensor, b: Tensor, rule=add_bias_rule) -> Tensor:
    """z + b with b (n,) broadcast over the rows of z (N, n), backward by ``rule``."""
    return Tensor.from_op(z.data + b.data, (z, b), "add_bias", rule, ())


def layer_by_hand(x: Tensor, W: Tensor, b: Tensor, rule=add_bias_rule) -> Tensor:
    """C of z = add_bias(x @ W^T, b), with the hand-written rule."""
    return cost(add_bias(x @ W.T, b, rule))


b_try = Tensor(b.data.copy(), requires_grad=True, label="b")
layer_by_hand(x.detach(), W.detach(), b_try, add_bias_rule_no_sum).backward()
print(f"\nforgot the sum: b has shape {b_try.shape}, its 'gradient' has shape {b_try.grad.shape}")

caught = None
try:
    gradcheck(lambda x, W, b: layer_by_hand(x, W, b, add_bias_rule_one_row), x, W, b)
except GradcheckError as error:
    caught = error
print("kept one row, gradcheck says:")
print("   ", caught)
right = gradcheck(lambda x, W, b: layer_by_hand(x, W, b, add_bias_rule), x, W, b)
print("with the sum, gradcheck passes:", right)

# %%
fig, ax = plt.subplots(figsize=(6.4, 3.8))
examples = np.arange(1, N + 1)
running = np.cumsum(g_z, axis=0)  # sum over the first n examples of dC/dz, (N, n_out)
for j in range(n_out):
    ax.plot(examples, running[:, j], "o-", color=f"C{j}", label=f"running sum of dC/dz[:, {j}]")
    ax.plot([N + 0.35], [numeric[j]], "x", ms=9, color=f"C{j}")
    ax.plot([N + 0.35], [b.grad[j]], "*", ms=11, mfc="none", color=f"C{j}")
ax.plot([], [], "*", color="0.3", mfc="none", label="dC/db_j from backward")
ax.plot([], [], "x", color="0.3", label="dC/db_j by finite differences")
ax.axhline(0.0, color="0.6", lw=0.8)
ax.set_xticks(examples)
ax.set_xlabel("examples summed, n")
ax.set_ylabel("gradient")
ax.set_title("dC/db is the sum over the batch of dC/dz")
ax.legend(fontsize=7)
fig.tight_layout()
print(f"\nwrote {show(fig, OUT / 'bias_gradient_is_a_sum.png')}")

# %% [markdown]
# ## What this lesson claims

# %%
assert np.allclose(b.grad, z.grad.sum(axis=0), rtol=1e-12, atol=1e-15), (
    f"dC/db {b.grad} is not the batch sum of dC/dz {z.grad.sum(axis=0)}")
assert np.allclose(b.grad, numeric, rtol=1e-6, atol=1e-9), (
    f"dC/db {b.grad} disagrees with finite differences {numeric}")
assert abs(b_scalar.grad - sum(per_use)) < 1e-12, "a reused Value's gradient is not the sum"
assert np.allclose(J, np.diag(sigma * (1 - sigma)), rtol=1e-12, atol=0.0), "sigma's J not diagonal"
assert np.allclose(x.grad, g_z @ W.data, rtol=1e-12, atol=1e-15), "dC/dx != g @ W"
assert np.allclose(W.grad, g_z.T @ x.data, rtol=1e-12, atol=1e-15), "dC/dW != g^T @ x"
assert np.allclose(linear.bias.grad, z_lin.grad.sum(axis=0), rtol=1e-12, atol=1e-15), (
    "nn.Linear's bias gradient is not the batch sum")
assert b_try.grad.shape != b_try.shape, "forgetting the sum should give the wrong shape"
assert isinstance(caught, GradcheckError), "gradcheck did not catch the one-row bias gradient"
assert "'b'" in str(caught) and "finite differences give" in str(caught), (
    f"gradcheck's message should name b and both numbers: {caught}")
assert right is True, "gradcheck should pass on the right add_bias rule"
print("lesson 3: all claims hold")
