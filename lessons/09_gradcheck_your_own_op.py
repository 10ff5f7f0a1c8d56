# %% [markdown]
"""
# Lesson 9: gradient-check your own op: add softplus to minigrad, break it, catch it, fix it

softplus(x) = ln(1 + e^x) is a smooth ReLU; its derivative is the sigmoid, sigma(x). This lesson
adds it to minigrad from outside the package, once for Value and once for Tensor (a forward
function and its backward rule), gets the derivative wrong on purpose, watches gradcheck catch
the mistake and name the input, the element and both numbers, fixes it and watches gradcheck
pass, on random inputs of random shapes. The forward pass is written so that it stays finite
and warning-free at x = +-1000, where ln(1 + e^x) computed naively overflows.

Run it:

    python lessons/09_gradcheck_your_own_op.py
    python lessons/09_gradcheck_your_own_op.py --quick --out /tmp/out
    minigrad lesson 9
"""

# %%
import math
import warnings

import matplotlib.pyplot as plt
import numpy as np

from minigrad import GradcheckError, Tensor, Value, gradcheck
from minigrad.viz import draw_graph, show

# isort: split
# %%
from minigrad.lessons import settings

QUICK, OUT = settings(9)  # --quick, --out DIR (see minigrad lesson --help)

# %% [markdown]
# ## The math, written so that it never overflows
#
#     softplus(x) = ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|)
#     softplus'(x) = e^x / (1 + e^x) = sigma(x)
#
# The second form of softplus only ever takes e to a non-positive power, so it cannot
# overflow; `log1p` keeps the digits of ln(1 + tiny). sigma is computed the same way, from
# e^-|x|. These two functions are the whole op; everything else is plumbing.

# %%
def softplus_number(x: float) -> float:
    r"""ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|), finite for every finite x."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def sigmoid_number(x: float) -> float:
    r"""sigma(x) = 1 / (1 + e^-x), from e^-|x| so that it never overflows."""
    e = math.exp(-abs(x))
    return 1.0 / (1.0 + e) if x >= 0.0 else e / (1.0 + e)


# %% [markdown]
# ## A new Value op
#
# A Value op makes one new node from its parents and stores its local derivatives
# d out / d parent, the numbers the engine multiplies the upstream gradient by. minigrad's
# built-in ops do exactly this, and so can yours: `Value.from_op(value, (x,), "softplus",
# (d,))` is a node equal to `value` whose local derivative with respect to x is d. So an op is
# "a value and a local derivative", and the local derivative is where a mistake can hide.

# %%
def softplus(x: Value) -> Value:
    r"""softplus(x) = ln(1 + e^x);  d/dx = sigma(x)"""
    return Value.from_op(softplus_number(x.data), (x,), "softplus", (sigmoid_number(x.data),))


def softplus_wrong(x: Value) -> Value:
    r"""Wrong on purpose: d/dx ln(1 + e^x) written as 1/(1 + e^x): the inner e^x forgotten."""
    return Value.from_op(softplus_number(x.data), (x,), "softplus_wrong",
                         (1.0 / (1.0 + math.exp(x.data)),))


x = Value(1.5, label="x")
y = softplus(x)
y.label = "softplus(x)"
y.backward()
print(f"softplus({x.data}) = {y.data:.6f}, d/dx = {x.grad:.6f}, sigma({x.data}) = "
      f"{sigmoid_number(x.data):.6f}")

x_wrong = Value(1.5, label="x")
y_wrong = softplus_wrong(x_wrong)
y_wrong.label = "softplus_wrong(x)"
y_wrong.backward()
print(f"the wrong op: d/dx = {x_wrong.grad:.6f}")

# %% [markdown]
# In the pictures, the edge into x carries the local derivative: sigma(1.5) = 0.8176 for the
# right op, 1/(1 + e^1.5) = 0.1824 for the wrong one. Nothing else in the graph differs, and
# the forward values are the same: only a check of the gradient can tell them apart.

# %%
show(draw_graph(y), OUT / "softplus_graph.svg")
show(draw_graph(y_wrong), OUT / "softplus_wrong_graph.svg")
print(f"wrote {OUT / 'softplus_graph.svg'} and {OUT / 'softplus_wrong_graph.svg'}")

# %% [markdown]
# ## gradcheck catches the wrong derivative...
#
# `gradcheck(f, x)` runs backward once and compares every gradient with the central difference
# (f(x + eps) - f(x - eps)) / (2 eps) in float64. The wrong op at x = 1.5:

# %%
caught_value = None
try:
    gradcheck(softplus_wrong, Value(1.5, label="x"))
except GradcheckError as error:
    caught_value = error
print("gradcheck on the wrong Value op at x = 1.5:")
print("   ", caught_value)

# %% [markdown]
# ## ...but only at the points you give it
#
# At x = 0 the wrong derivative 1/(1 + e^0) = 1/2 happens to equal sigma(0) = 1/2: the check
# passes there. A gradient check at one point is a sample, not a proof; check many points.

# %%
passes_at_zero = gradcheck(softplus_wrong, Value(0.0, label="x"))
print(f"\ngradcheck on the wrong Value op at x = 0: {passes_at_zero} (an unlucky point)")

rng = np.random.default_rng(9)
n_points = 20 if QUICK else 200
points = rng.standard_normal(n_points) * rng.choice([0.3, 3.0, 30.0], n_points)
wrong_caught = right_passed = 0
for point in points:
    try:
        gradcheck(softplus_wrong, Value(float(point)))
    except GradcheckError:
        wrong_caught += 1
    right_passed += gradcheck(softplus, Value(float(point)))
print(f"{n_points} random points x ~ N(0, s^2), s in (0.3, 3, 30): the wrong op is caught at "
      f"{wrong_caught}, the right op passes at {right_passed}")

# %% [markdown]
# ## A new Tensor op
#
# For arrays, an op is a forward function and a backward rule. `Tensor.from_op(data, parents,
# op, rule, ctx)` makes the node; the engine later calls `rule(ctx, upstream)`, which returns
# one contribution dC/d parent per parent. Keep in `ctx` only what backward needs (here
# sigma(x)), never the output node itself: that would put the graph in a reference cycle.
# softplus is elementwise, so its Jacobian is diagonal and the rule is local * upstream.

# %%
def softplus_array(x: np.ndarray) -> np.ndarray:
    r"""ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|), elementwise, never overflowing."""
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def sigmoid_array(x: np.ndarray) -> np.ndarray:
    r"""sigma(x) elementwise, from e^-|x|."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, e) / (1.0 + e)


def softplus_rule(ctx: tuple, g: np.ndarray) -> tuple:
    r"""dC/dx = sigma(x) * g  (diagonal Jacobian: local derivative times upstream)"""
    (local,) = ctx
    return (local * g,)


def softplus_tensor(x: Tensor) -> Tensor:
    r"""softplus(x) = ln(1 + e^x) elementwise;  d/dx = sigma(x)"""
    return Tensor.from_op(softplus_array(x.data), (x,), "softplus", softplus_rule,
                          (sigmoid_array(x.data),))


def softplus_tensor_wrong(x: Tensor) -> Tensor:
    r"""Wrong on purpose: d/dx = sigma(x)(1 - sigma(x)), sigma's derivative, not softplus's."""
    s = sigmoid_array(x.data)
    return Tensor.from_op(softplus_array(x.data), (x,), "softplus", softplus_rule,
                          (s * (1.0 - s),))


X = Tensor(rng.standard_normal((3, 4)), requires_grad=True, label="X")  # (3, 4)
caught_tensor = None
try:
    gradcheck(softplus_tensor_wrong, X)
except GradcheckError as error:
    caught_tensor = error
print("\ngradcheck on the wrong Tensor op, X of shape (3, 4):")
print("   ", caught_tensor)
fixed_passes = gradcheck(softplus_tensor, X)
print("gradcheck on the fixed Tensor op:", fixed_passes)

# %% [markdown]
# ## Random inputs, random shapes
#
# No test framework needed: draw shapes and scales with numpy, check each. The new op also
# composes with minigrad's own ops, so check it inside a layer, z = softplus(x W^T + b).

# %%
n_cases = 10 if QUICK else 100
shapes_seen = set()
wrong_tensor_caught = right_tensor_passed = 0
slipped = []  # inputs where the wrong op passed
for _ in range(n_cases):
    shape = tuple(int(k) for k in rng.integers(1, 5, size=rng.integers(1, 4)))
    scale = float(rng.choice([0.3, 3.0, 30.0]))
    data = Tensor(scale * rng.standard_normal(shape), label="x")
    shapes_seen.add(shape)
    right_tensor_passed += gradcheck(softplus_tensor, data)
    try:
        gradcheck(softplus_tensor_wrong, data)
        slipped.append(data.data)
    except GradcheckError:
        wrong_tensor_caught += 1
print(f"\n{n_cases} random shapes (e.g. {sorted(shapes_seen)[:4]}) and scales: the fixed op "
      f"passes {right_tensor_passed}, the wrong op is caught {wrong_tensor_caught}")
for data in slipped:
    print(f"   the wrong op slipped through at x = {np.round(data, 1).tolist()}")

# %% [markdown]
# Where the wrong op slips through, every x is far below 0: there sigma(x) and
# sigma(x)(1 - sigma(x)) both vanish (about e^x), and their difference is below gradcheck's
# tolerance. Inputs near 0, where the op bends, are the ones that test it.

# %%

inputs = Tensor(rng.standard_normal((5, 3)), label="a")  # (N, n_in)
weight = Tensor(rng.standard_normal((2, 3)), label="w")  # (n_out, n_in)
bias = Tensor(rng.standard_normal(2), label="b")  # (n_out,)
in_a_layer = gradcheck(lambda a, w, b: softplus_tensor(a @ w.T + b).sum(), inputs, weight, bias)
print("gradcheck of softplus(a @ w.T + b).sum() over a, w and b:", in_a_layer)

# %% [markdown]
# ## At saturation
#
# ln(1 + e^x) written naively overflows at x = 1000: e^1000 is past float64's largest number,
# so the result is inf. The stable form gives 1000 exactly, and 0 (with gradient 0) at x = -1000.
# Compare with numpy's own stable version, `np.logaddexp(0, x)` = ln(e^0 + e^x).

# %%
with np.errstate(over="ignore"):
    naive = np.log1p(np.exp(np.array([-1000.0, 1000.0])))
print(f"\nnaive np.log1p(np.exp(x)) at x = -1000, 1000: {naive}")

extreme = np.array([-1000.0, -50.0, -1.0, 0.0, 1.0, 50.0, 1000.0])
with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
    warnings.simplefilter("error")  # any warning in the fixed op would be an error here
    saturated = Tensor(extreme, requires_grad=True, label="x")
    out = softplus_tensor(saturated)
    out.sum().backward()
    value_ends = []
    for end in (-1000.0, 1000.0):
        v = Value(end)
        s = softplus(v)
        s.backward()
        value_ends.append((s.data, v.grad))
reference = np.logaddexp(0.0, extreme)
moderate = np.abs(extreme) < 100
print("x:                 ", extreme)
print("softplus (Tensor): ", out.data)
print("np.logaddexp(0, x):", reference)
print("d/dx = sigma(x):   ", saturated.grad)
print(f"Value softplus at -1000, 1000: {value_ends}")

# %%
grid = np.linspace(-6, 6, 241)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
axes[0].plot(grid, softplus_array(grid), label="softplus(x) = ln(1 + e^x)")
axes[0].plot(grid, np.maximum(grid, 0.0), "--", color="0.5", label="ReLU")
axes[0].set_xlabel("x")
axes[0].legend()
axes[0].set_title("softplus: a smooth ReLU")
s_grid = sigmoid_array(grid)
axes[1].plot(grid, s_grid, label="sigma(x): right")
axes[1].plot(grid, s_grid * (1 - s_grid), label="sigma(1 - sigma): Tensor bug")
axes[1].plot(grid, 1.0 / (1.0 + np.exp(grid)), label="1/(1 + e^x): Value bug")
axes[1].plot([0.0], [0.5], "ko", mfc="none", ms=9)
axes[1].annotate("the Value bug hides here", (0.0, 0.5), (1.0, 0.47), fontsize=8)
axes[1].set_xlabel("x")
axes[1].set_ylabel("d softplus / dx")
axes[1].legend(fontsize=8, loc="center left")
axes[1].set_title("The derivative, right and wrong")
fig.tight_layout()
print(f"\nwrote {show(fig, OUT / 'softplus_right_and_wrong.png')}")

# %% [markdown]
# ## What this lesson claims

# %%
assert abs(x.grad - sigmoid_number(1.5)) < 1e-15, "the Value op's gradient should be sigma(x)"
assert isinstance(caught_value, GradcheckError), "gradcheck missed the wrong Value derivative"
assert "backward gives" in str(caught_value) and "finite differences give" in str(caught_value)
assert passes_at_zero is True, "at x = 0 the wrong derivative equals the right one"
assert right_passed == n_points, f"the right Value op failed at {n_points - right_passed} points"
assert wrong_caught > 0.9 * n_points, f"the wrong Value op was caught at only {wrong_caught}"
assert isinstance(caught_tensor, GradcheckError), "gradcheck missed the wrong Tensor derivative"
assert "'X'" in str(caught_tensor) and "element (" in str(caught_tensor), (
    f"gradcheck's message should name the input and the element: {caught_tensor}")
assert fixed_passes is True and in_a_layer is True
assert right_tensor_passed == n_cases, "the fixed Tensor op failed a random case"
assert wrong_tensor_caught >= 0.9 * n_cases, f"the wrong Tensor op was caught {wrong_tensor_caught}"
assert all((data < -10.0).all() for data in slipped), (
    "the wrong Tensor op slipped through at an input that is not far below 0")
assert np.all(np.isfinite(out.data)) and np.all(np.isfinite(saturated.grad)), "not finite"
assert np.allclose(out.data, reference, rtol=1e-15, atol=0.0), "softplus != np.logaddexp(0, x)"
assert np.allclose(out.data[moderate], np.log1p(np.exp(extreme[moderate])), rtol=1e-14), (
    "softplus != np.log1p(np.exp(x)) where that does not overflow")
assert value_ends == [(0.0, 0.0), (1000.0, 1.0)], f"Value softplus at +-1000: {value_ends}"
assert np.isinf(naive[1]), "the naive form should overflow at x = 1000"
print("lesson 9: all claims hold")
