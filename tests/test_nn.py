"""Tests for minigrad.nn: Module, Linear, the initialisations, mlp(), the losses and Residual."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from minigrad import Tensor, gradcheck, nn

LOSS_NAMES = ("cross_entropy", "quadratic", "softmax_cross_entropy")
LOSSES: dict[str, Callable] = {
    "cross_entropy": nn.cross_entropy_loss,
    "quadratic": nn.quadratic_loss,
    "softmax_cross_entropy": nn.softmax_cross_entropy,
}


def _backward_grads(model: nn.Module, x: np.ndarray, labels: np.ndarray) -> None:
    """One quadratic-loss backward pass through ``model`` (leaves gradients on its params)."""
    nn.quadratic_loss(model(x), labels).backward()


# --- Module: parameters, names, zero_grad ---------------------------------------------------


def test_mlp_parameter_names_are_stable_and_ordered() -> None:
    """mlp names its parameters layers.<index>.weight/bias in layer order, every call alike."""
    model = nn.mlp([5, 4, 3, 2])
    names = [name for name, _ in model.named_parameters()]
    assert names == ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias",
                     "layers.4.weight", "layers.4.bias"]
    assert [name for name, _ in model.named_parameters()] == names
    params = model.parameters()
    assert [id(p) for p in params] == [id(p) for _, p in model.named_parameters()]
    assert params[0] is model.layers[0].weight and params[5] is model.layers[4].bias
    assert all(p.requires_grad for p in params)


class _Block(nn.Module):
    """A module with a nested module, a list of modules and a constant (non-parameter)."""

    def __init__(self) -> None:
        self.encoder = nn.Linear(3, 2, rng=0)
        self.heads = [nn.Linear(2, 2, rng=1), nn.Sigmoid(), nn.Linear(2, 1, rng=2)]
        self.scale = Tensor([2.0])  # no requires_grad: not a parameter

    def forward(self, x: Tensor) -> Tensor:
        a = self.encoder(x)
        for head in self.heads:
            a = head(a)
        return a * self.scale


def test_named_parameters_of_nested_modules_and_lists() -> None:
    """Nested modules prefix their names; lists of modules get their index; constants skipped."""
    names = [name for name, _ in _Block().named_parameters()]
    assert names == ["encoder.weight", "encoder.bias", "heads.0.weight", "heads.0.bias",
                     "heads.2.weight", "heads.2.bias"]


def test_zero_grad_clears_every_parameter_gradient() -> None:
    """After backward every parameter has a gradient; zero_grad sets all of them to None."""
    model = nn.mlp([4, 3, 2])
    _backward_grads(model, np.ones((2, 4)), np.array([0, 1]))
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_module_without_forward_says_so() -> None:
    """A Module subclass that forgot forward() names itself in the error."""

    class Empty(nn.Module):
        pass

    with pytest.raises(TypeError, match="Empty.*forward"):  # already when it is made
        Empty()


def test_sequential_rejects_non_modules() -> None:
    """Sequential names the position and the type of a layer that is not a Module."""
    with pytest.raises(TypeError, match="layer 1 is a function"):
        nn.Sequential(nn.Sigmoid(), lambda z: z)


# --- Linear: PyTorch's conventions ----------------------------------------------------------


@pytest.mark.parametrize("single", [False, True], ids=["batch", "single_example"])
def test_linear_module_layout_formula_and_parameter_gradients(single: bool) -> None:
    """weight (n_out, n_in), bias (n_out,); z = x @ W.T + b for a batch (N, n_in), and a 1-D
    input (n_in,) gives a 1-D output (n_out,) = W x + b (Nielsen's z = w a + b). The forward is
    one linear node of the layer's own parameters (the op's gradients are checked against
    central differences in test_tensor.py::test_linear), so backward fills weight.grad and
    bias.grad."""
    layer = nn.Linear(4, 3, rng=0)
    assert layer.weight.shape == (3, 4) and layer.bias.shape == (3,)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    rng = np.random.default_rng(1)
    x = np.array([0.5, -1.0, 2.0, 0.25]) if single else rng.standard_normal((5, 4))
    z = layer(x)
    assert z.shape == ((3,) if single else (5, 3))
    assert z.op == "linear" and len(z.parents) == 3
    assert z.parents[1] is layer.weight and z.parents[2] is layer.bias
    np.testing.assert_array_equal(z.parents[0].data, x)
    if single:
        np.testing.assert_allclose(z.data, layer.weight.data @ x + layer.bias.data, rtol=1e-14)
    else:
        np.testing.assert_allclose(z.data, x @ layer.weight.data.T + layer.bias.data,
                                   rtol=1e-14)
    # C = sum(z * r): dC/dW = r^T x (an outer product for one example), dC/db = sum of r rows.
    r = rng.standard_normal(z.shape)
    (z * r).sum().backward()
    x2, r2 = np.atleast_2d(x), np.atleast_2d(r)
    np.testing.assert_allclose(layer.weight.grad, r2.T @ x2, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(layer.bias.grad, r2.sum(axis=0), rtol=1e-13, atol=1e-15)


def test_linear_input_width_mismatch_names_shapes() -> None:
    """An input of the wrong width is a ValueError naming both shapes."""
    with pytest.raises(ValueError, match=r"\(2, 5\).*\(3, 4\)"):
        nn.Linear(4, 3)(np.zeros((2, 5)))


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "3", None])
def test_linear_bad_sizes(bad: object) -> None:
    """n_in and n_out must be positive integers; the error names the argument and value."""
    with pytest.raises(ValueError, match=rf"n_in must be a positive integer, got {bad!r}"):
        nn.Linear(bad, 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"n_out must be a positive integer"):
        nn.Linear(3, bad)  # type: ignore[arg-type]


def test_linear_float32() -> None:
    """dtype=float32 makes float32 parameters and float32 outputs."""
    layer = nn.Linear(3, 2, dtype=np.float32)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    assert layer(np.ones((2, 3), np.float32)).dtype == np.float32


# --- initialisations: statistics on a large layer -------------------------------------------

N_IN, N_OUT = 400, 2500  # 1,000,000 weights, 2,500 biases


def _layer(init: str, n_in: int = N_IN, n_out: int = N_OUT) -> tuple[np.ndarray, np.ndarray]:
    layer = nn.Linear(n_in, n_out, init=init, rng=7)
    return layer.weight.data, layer.bias.data


def _assert_std(values: np.ndarray, expected: float, tolerance: float) -> None:
    """Mean near 0 and standard deviation within ``tolerance`` (relative) of ``expected``."""
    assert abs(values.mean()) < 4 * expected / np.sqrt(values.size), values.mean()
    assert values.std() == pytest.approx(expected, rel=tolerance)


def test_init_nielsen() -> None:
    """nielsen: W ~ N(0, 1)/sqrt(n_in), b ~ N(0, 1)."""
    w, b = _layer("nielsen")
    _assert_std(w, 1 / np.sqrt(N_IN), 0.005)
    _assert_std(b, 1.0, 0.06)
    # Gaussian, not uniform: about 4.6% of draws lie beyond 2 standard deviations.
    assert np.mean(np.abs(w) > 2 / np.sqrt(N_IN)) == pytest.approx(0.0455, abs=0.002)


def test_init_large() -> None:
    """large: W ~ N(0, 1), b ~ N(0, 1) (the book's first chapters)."""
    w, b = _layer("large")
    _assert_std(w, 1.0, 0.005)
    _assert_std(b, 1.0, 0.06)


def test_init_xavier() -> None:
    """xavier: W ~ U[-r, r] with r = sqrt(6/(n_in + n_out)), b = 0."""
    w, b = _layer("xavier")
    r = np.sqrt(6 / (N_IN + N_OUT))
    assert np.abs(w).max() <= r and np.abs(w).max() > 0.999 * r
    _assert_std(w, r / np.sqrt(3), 0.005)  # the standard deviation of U[-r, r]
    # Uniform: a quarter of the draws in each quarter of [-r, r].
    assert np.mean(w > r / 2) == pytest.approx(0.25, abs=0.003)
    assert not b.any()


def test_init_he() -> None:
    """he: W ~ N(0, 2/n_in), b = 0."""
    w, b = _layer("he")
    _assert_std(w, np.sqrt(2 / N_IN), 0.005)
    assert not b.any()


@pytest.mark.parametrize(("n_in", "n_out"), [(30, 10), (10, 30), (20, 20)])
def test_init_orthogonal(n_in: int, n_out: int) -> None:
    """orthogonal: orthonormal rows (W W^T = I) when n_out <= n_in, else orthonormal columns."""
    w, b = _layer("orthogonal", n_in, n_out)
    assert w.shape == (n_out, n_in)
    if n_out <= n_in:
        np.testing.assert_allclose(w @ w.T, np.eye(n_out), atol=1e-12)
    if n_out >= n_in:
        np.testing.assert_allclose(w.T @ w, np.eye(n_in), atol=1e-12)
    assert not b.any()


@pytest.mark.parametrize("init", sorted(nn.SCHEMES))
def test_init_is_seeded(init: str) -> None:
    """The same seed gives the same weights; another seed gives others."""
    first, again, other = (nn.mlp([6, 5, 4], init=init, seed=s) for s in (3, 3, 4))
    for p, q in zip(first.parameters(), again.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    assert not np.array_equal(first.layers[0].weight.data, other.layers[0].weight.data)


def test_linear_rng_generator_advances() -> None:
    """A Generator passed as rng is used (and advanced): two layers from it differ."""
    rng = np.random.default_rng(0)
    a, b = nn.Linear(3, 3, rng=rng), nn.Linear(3, 3, rng=rng)
    assert not np.array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.weight.data, nn.Linear(3, 3, rng=0).weight.data)


def test_mlp_default_seed_reproducible() -> None:
    """mlp without a seed is seed 0: two default nets are equal."""
    np.testing.assert_array_equal(nn.mlp([4, 3]).layers[0].weight.data,
                                  nn.mlp([4, 3], seed=0).layers[0].weight.data)


# --- mlp: structure and bad arguments --------------------------------------------------------


@pytest.mark.parametrize(("activation", "kind"),
                         [("sigmoid", nn.Sigmoid), ("tanh", nn.Tanh), ("relu", nn.ReLU)])
def test_mlp_structure(activation: str, kind: type) -> None:
    """[784, 30, 30, 10]: Linear then the activation for every layer, the output included."""
    model = nn.mlp([784, 30, 30, 10], activation=activation)
    assert len(model) == 6
    linears, activations = model.layers[0::2], model.layers[1::2]
    assert all(isinstance(layer, nn.Linear) for layer in linears)
    assert [(layer.n_in, layer.n_out) for layer in linears] == [(784, 30), (30, 30), (30, 10)]
    assert all(type(layer) is kind for layer in activations)
    assert type(model.layers[-1]) is kind
    assert model(np.zeros((2, 784))).shape == (2, 10)


def test_mlp_output_is_the_activation_of_the_last_layer() -> None:
    """mlp's output equals sigma(W2 sigma(W1 x + b1) + b2) computed in numpy."""
    model = nn.mlp([3, 4, 2], seed=5)
    (w1, b1), (w2, b2) = [(m.weight.data, m.bias.data) for m in model.layers[0::2]]
    x = np.random.default_rng(0).standard_normal((6, 3))

    def sigma(z: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-z))

    np.testing.assert_allclose(model(x).data, sigma(sigma(x @ w1.T + b1) @ w2.T + b2),
                               rtol=1e-13)


def test_mlp_float32() -> None:
    """mlp(dtype=float32) makes every parameter float32."""
    assert {p.dtype for p in nn.mlp([4, 3, 2], dtype=np.float32).parameters()} == {
        np.dtype(np.float32)}


def test_mlp_unknown_activation_names_it_and_the_choices() -> None:
    with pytest.raises(ValueError, match="'softsign'") as error:
        nn.mlp([3, 2], activation="softsign")
    for choice in ("sigmoid", "tanh", "relu"):
        assert choice in str(error.value)


def test_mlp_unknown_init_names_it_and_the_choices() -> None:
    with pytest.raises(ValueError, match="'lecun'") as error:
        nn.mlp([3, 2], init="lecun")
    for choice in ("nielsen", "large", "xavier", "he", "orthogonal"):
        assert choice in str(error.value)
    with pytest.raises(ValueError, match="'lecun'"):
        nn.Linear(3, 2, init="lecun")


@pytest.mark.parametrize("sizes", [[], [784], [784, 0, 10], [784, -30, 10], [784, 30.5, 10]])
def test_mlp_bad_sizes(sizes: list) -> None:
    """Fewer than two sizes, or a size that is not a positive integer, is a ValueError."""
    with pytest.raises(ValueError, match="mlp|n_in|n_out"):
        nn.mlp(sizes)


# --- whole-network gradients -----------------------------------------------------------------


def _network_loss(model: nn.Sequential, loss: Callable, targets: np.ndarray) -> Callable:
    """f(x, w0, b0, w1, b1, ...) = loss(model(x), targets) with those parameters swapped in."""
    linears = [layer for layer in model.layers if isinstance(layer, nn.Linear)]

    def f(x: Tensor, *params: Tensor) -> Tensor:
        for layer, w, b in zip(linears, params[0::2], params[1::2]):
            layer.weight, layer.bias = w, b
        return loss(model(x), targets)

    return f


@pytest.mark.parametrize("loss_name", LOSS_NAMES)
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@given(sizes=st.lists(st.integers(1, 4), min_size=2, max_size=4), out=st.integers(2, 4),
       batch=st.integers(1, 4), seed=st.integers(0, 2**16), labels=st.booleans())
@settings(max_examples=25, deadline=None)
def test_mlp_gradients_match_finite_differences(
    activation: str, loss_name: str, sizes: list[int], out: int, batch: int, seed: int,
    labels: bool,
) -> None:
    """dC/dx and dC/dW, dC/db of every layer agree with central differences (float64).

    Cross-entropy needs outputs in (0, 1), so for it the output activation is a sigmoid
    (hidden layers keep ``activation``); targets are integer labels or one-hot rows.
    """
    rng = np.random.default_rng(seed)
    model = nn.mlp([*sizes, out], activation=activation, seed=rng)
    if loss_name == "cross_entropy":
        model.layers[-1] = nn.Sigmoid()
    x = Tensor(rng.standard_normal((batch, sizes[0])))
    y = rng.integers(0, out, batch)
    targets = y if labels else np.eye(out)[y]
    f = _network_loss(model, LOSSES[loss_name], targets)
    assert gradcheck(f, x, *model.parameters())


def test_gradcheck_catches_a_wrong_network_gradient() -> None:
    """The whole-network check can fail: a loss whose backward is off by 1% is caught."""
    model = nn.mlp([3, 2, 2], seed=1)
    y = np.array([0, 1])

    def scaled_wrong(a: Tensor, targets: np.ndarray) -> Tensor:
        good = nn.quadratic_loss(a, targets)
        return Tensor.from_op(good.data, (good,), "wrong", lambda ctx, g: (1.01 * g,), ())

    f = _network_loss(model, scaled_wrong, y)
    with pytest.raises(AssertionError, match="backward gives"):
        gradcheck(f, Tensor(np.ones((2, 3))), *model.parameters())


# --- losses against numpy --------------------------------------------------------------------


def _sigmoid_np(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


@given(batch=st.integers(1, 5), width=st.integers(1, 5), seed=st.integers(0, 2**16))
@settings(max_examples=30, deadline=None)
def test_cross_entropy_value(batch: int, width: int, seed: int) -> None:
    """C = -(1/N) sum_x sum_j [y ln a + (1-y) ln(1-a)] with targets anywhere in [0, 1]."""
    rng = np.random.default_rng(seed)
    z = rng.uniform(-5, 5, (batch, width))
    y = rng.uniform(0, 1, (batch, width))
    a = _sigmoid_np(z)
    expected = -np.sum(y * np.log(a) + (1 - y) * np.log(1 - a)) / batch
    from_z = nn.cross_entropy_loss(Tensor(z).sigmoid(), y)  # the fused path from z
    from_a = nn.cross_entropy_loss(Tensor(a), y)  # outputs given directly
    assert from_z.shape == () and from_a.shape == ()
    assert from_z.item() == pytest.approx(expected, rel=1e-12)
    assert from_a.item() == pytest.approx(expected, rel=1e-12)


def test_cross_entropy_gradient_is_nielsens_output_error() -> None:
    """With a = sigma(z), dC/dz = (a - y)/N (the sigma' factor cancels), and the loss node's
    parent is z itself."""
    z = Tensor([[0.3, -1.2, 2.0], [1.5, 0.0, -0.7]], requires_grad=True)
    a = z.sigmoid()
    y = np.array([2, 0])
    loss = nn.cross_entropy_loss(a, y)
    assert loss.parents == (z,)
    loss.backward()
    np.testing.assert_allclose(z.grad, (a.data - np.eye(3)[y]) / 2, rtol=1e-13)


def test_cross_entropy_not_from_sigmoid_gradient() -> None:
    """Outputs made another way (here 1/(1 + e^-z) by hand) take the clipped path; its
    gradient still matches finite differences."""
    z = Tensor(np.random.default_rng(0).uniform(-3, 3, (3, 4)))
    y = np.array([0, 3, 1])
    assert gradcheck(lambda z: nn.cross_entropy_loss(1 / (1 + (-z).exp()), y), z)


@pytest.mark.parametrize("z_value", [1000.0, -1000.0])
def test_cross_entropy_saturated_outputs_finite(z_value: float) -> None:
    """z = +-1000: sigma(z) is exactly 0 or 1, yet the loss and its gradients are finite and
    exact (-ln sigma(z) = softplus(-z)); no numpy warning (they are errors in this suite)."""
    z = Tensor(np.full((2, 3), z_value), requires_grad=True)
    y = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    loss = nn.cross_entropy_loss(z.sigmoid(), y)
    loss.backward()
    wrong = (y == 0) if z_value > 0 else (y == 1)  # targets the saturated output misses
    assert loss.item() == pytest.approx(1000.0 * wrong.sum() / 2, rel=1e-12)
    np.testing.assert_array_equal(z.grad, ((z_value > 0) - y) / 2)


def test_cross_entropy_saturated_network_gradients_finite() -> None:
    """Through a Linear layer with huge weights (z ~ +-1000) every gradient stays finite."""
    layer = nn.Linear(2, 3, init="large", rng=0)
    layer.weight.data[:] = [[1000.0, 0.0], [-1000.0, 0.0], [0.0, 1000.0]]
    loss = nn.cross_entropy_loss(layer(np.array([[1.0, -1.0]])).sigmoid(), np.array([1]))
    loss.backward()
    assert np.isfinite(loss.item()) and loss.item() > 999
    assert np.isfinite(layer.weight.grad).all() and np.isfinite(layer.bias.grad).all()


def test_cross_entropy_clipped_path_saturated_finite() -> None:
    """Outputs of exactly 0 and 1 given directly are clipped: finite loss and gradient."""
    a = Tensor([[0.0, 1.0], [1.0, 0.0]], requires_grad=True)
    loss = nn.cross_entropy_loss(a, np.array([[1.0, 0.0], [1.0, 0.0]]))
    loss.backward()
    assert np.isfinite(loss.item()) and loss.item() > 10
    assert np.isfinite(a.grad).all()


def test_cross_entropy_rejects_outputs_outside_unit_interval() -> None:
    with pytest.raises(ValueError, match=r"cross_entropy_loss.*\[0, 1\]"):
        nn.cross_entropy_loss(Tensor([[1.5, 0.2]]), np.array([0]))


@given(batch=st.integers(1, 5), width=st.integers(1, 5), seed=st.integers(0, 2**16))
@settings(max_examples=30, deadline=None)
def test_quadratic_value(batch: int, width: int, seed: int) -> None:
    """C = (1/2N) sum_x ||a_x - y_x||^2."""
    rng = np.random.default_rng(seed)
    a, y = rng.standard_normal((2, batch, width))
    expected = np.sum((a - y) ** 2) / (2 * batch)
    assert nn.quadratic_loss(Tensor(a), y).item() == pytest.approx(expected, rel=1e-12)


def test_quadratic_with_labels_and_single_example() -> None:
    """Integer labels mean one-hot targets; a 1-D output is one example (N = 1)."""
    a = np.array([[0.1, 0.7, 0.2], [0.5, 0.5, 0.9]])
    labels = np.array([1, 2])
    expected = np.sum((a - np.eye(3)[labels]) ** 2) / 4
    assert nn.quadratic_loss(Tensor(a), labels).item() == pytest.approx(expected, rel=1e-14)
    single = nn.quadratic_loss(Tensor(a[0]), np.eye(3)[1])
    assert single.item() == pytest.approx(np.sum((a[0] - np.eye(3)[1]) ** 2) / 2, rel=1e-14)


@given(batch=st.integers(1, 5), width=st.integers(2, 6), seed=st.integers(0, 2**16),
       scale=st.sampled_from([1.0, 30.0]))
@settings(max_examples=30, deadline=None)
def test_softmax_cross_entropy_value_and_gradient(batch: int, width: int, seed: int,
                                                  scale: float) -> None:
    """C = -(1/N) sum_x ln softmax(z_x)[label_x] and dC/dz = (softmax(z) - onehot)/N."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((batch, width)) * scale
    labels = rng.integers(0, width, batch)
    shifted = z - z.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    expected = -log_softmax[np.arange(batch), labels].mean()
    logits = Tensor(z, requires_grad=True)
    loss = nn.softmax_cross_entropy(logits, labels)
    assert loss.item() == pytest.approx(expected, rel=1e-12, abs=1e-15)
    loss.backward()
    np.testing.assert_allclose(logits.grad, (np.exp(log_softmax) - np.eye(width)[labels])
                               / batch, rtol=1e-12, atol=1e-15)


def test_softmax_cross_entropy_saturated_logits_finite() -> None:
    """Logits of +-1000: the loss is exact (1000 + ln 1 for a wrong confident answer)."""
    logits = Tensor([[1000.0, -1000.0], [-1000.0, 1000.0]], requires_grad=True)
    loss = nn.softmax_cross_entropy(logits, np.array([1, 1]))
    loss.backward()
    assert loss.item() == pytest.approx(1000.0, rel=1e-12)  # (2000 + 0) / 2
    np.testing.assert_allclose(logits.grad, [[0.5, -0.5], [0.0, 0.0]], atol=1e-300)


@pytest.mark.parametrize("loss_name", LOSS_NAMES)
def test_losses_reject_bad_targets(loss_name: str) -> None:
    """A label outside the classes, or targets of the wrong shape, name the loss and values."""
    a = Tensor(np.full((2, 3), 0.5))
    with pytest.raises(ValueError, match=rf"{LOSSES[loss_name].__name__}: label 3 is outside"):
        LOSSES[loss_name](a, np.array([0, 3]))
    with pytest.raises(ValueError, match=r"targets of shape \(2, 4\).*\(2, 3\)"):
        LOSSES[loss_name](a, np.zeros((2, 4)))


# --- Residual --------------------------------------------------------------------------------


def test_residual_adds_the_identity() -> None:
    """Residual(f)(a) = a + f(a); its parameters are f's, named inner.*."""
    inner = nn.Sequential(nn.Linear(3, 3, rng=0), nn.Tanh())
    block = nn.Residual(inner)
    a = np.random.default_rng(1).standard_normal((4, 3))
    np.testing.assert_allclose(block(a).data, a + inner(a).data, rtol=1e-14)
    assert [name for name, _ in block.named_parameters()] == ["inner.layers.0.weight",
                                                              "inner.layers.0.bias"]


def test_residual_gradient_is_identity_plus_inner() -> None:
    """d(a + f(a))/da = I + f'(a): gradient-checked, and with f = 0 exactly the identity."""
    inner = nn.Sequential(nn.Linear(3, 3, rng=0), nn.Sigmoid())
    block = nn.Residual(inner)
    linear = inner.layers[0]

    def f(a: Tensor, w: Tensor, b: Tensor) -> Tensor:
        linear.weight, linear.bias = w, b
        return block(a)

    a = Tensor(np.random.default_rng(2).standard_normal((2, 3)))
    assert gradcheck(f, a, linear.weight, linear.bias)

    zero = nn.Residual(nn.Linear(3, 3, rng=0))
    zero.inner.weight.data[:] = 0.0
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    upstream = np.arange(6.0).reshape(2, 3)
    zero(x).backward(gradient=upstream)
    np.testing.assert_array_equal(x.grad, upstream)


def test_residual_shape_mismatch_names_shapes() -> None:
    """An inner module that changes the width cannot be added to its input."""
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(2, 4\)"):
        nn.Residual(nn.Linear(3, 4))(np.zeros((2, 3)))


def test_mlp_output_activation_sets_only_the_last_layer() -> None:
    model = nn.mlp([5, 4, 4, 3], activation="tanh", output_activation="sigmoid")
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Linear", "Tanh", "Linear", "Tanh", "Linear", "Sigmoid"]
    with pytest.raises(ValueError, match="unknown activation 'softmax'"):
        nn.mlp([5, 3], output_activation="softmax")


# ---- hardening (issue 9) --------------------------------------------------------------------
def test_tied_weights_are_listed_once_and_stepped_once() -> None:
    """A Linear used twice, and one Tensor held by two modules: one parameter each."""
    from minigrad.optim import SGD

    lin = nn.Linear(3, 3, rng=0)
    model = nn.Sequential(lin, nn.Sigmoid(), lin)
    assert [name for name, _ in model.named_parameters()] == ["layers.0.weight", "layers.0.bias"]
    other = nn.Linear(3, 3, rng=1)
    other.weight = lin.weight  # tied by hand
    both = nn.Sequential(lin, nn.Sigmoid(), other)
    names = [name for name, _ in both.named_parameters()]
    assert names == ["layers.0.weight", "layers.0.bias", "layers.2.bias"]
    before = lin.weight.data.copy()
    lin.weight.grad = np.ones((3, 3))
    SGD(both.parameters(), lr=0.1).step()
    np.testing.assert_array_equal(lin.weight.data, before - 0.1)  # once, not twice


@pytest.mark.parametrize("sizes, message", [
    (784, "sizes must be a list of layer sizes"),
    ("784,10", "sizes must be a list of layer sizes"),
    ([784, 0, 10], "positive integer, got 0"),
    ([784, 2.5, 10], "positive integer, got 2.5"),
    ([784], "at least an input and an output size"),
])
def test_mlp_names_a_bad_size(sizes, message) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        nn.mlp(sizes)


def test_parameters_come_in_definition_order_across_modules() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            self.w1 = Tensor(np.ones(2), requires_grad=True)
            self.sub = nn.Linear(2, 2, rng=0)
            self.w2 = Tensor(np.ones(2), requires_grad=True)

        def forward(self, a: Tensor) -> Tensor:
            return self.sub(a * self.w1) * self.w2

    assert [name for name, _ in Net().named_parameters()] == [
        "w1", "sub.weight", "sub.bias", "w2"]
    assert [path for path, _ in Net().named_modules()] == ["", "sub"]


def test_the_activation_modules_are_the_rows_of_the_one_table() -> None:
    """nn.ACTIVATIONS has a module for every op of names.ACTIVATIONS, and each module's node
    carries that op (so the flow report and the pictures find it in the table)."""
    from minigrad.names import ACTIVATIONS as TABLE

    assert list(nn.ACTIVATIONS) == list(TABLE)
    for op, module in nn.ACTIVATIONS.items():
        z = Tensor(np.array([[-1.0, 0.5]]), requires_grad=True)
        assert module().forward(z).op == op == module.op


# --- issue 9: soft targets and losses at infinity ---------------------------------------------

def _torch():
    return pytest.importorskip("torch")


_logits = st.integers(1, 4).flatmap(lambda n: st.integers(2, 5).flatmap(
    lambda c: st.tuples(
        arrays(np.float64, (n, c), elements=st.floats(-4, 4, allow_subnormal=False)),
        arrays(np.float64, (n, c), elements=st.floats(-1.5, 2.5, allow_subnormal=False)))))


@given(_logits)
def test_softmax_cross_entropy_soft_targets_gradcheck_and_torch(case) -> None:
    """Rows that do not sum to 1 (multi-hot, all-zero, negative): dC/dz = (s sum(y) - y)/N,
    the derivative of the formula, against finite differences; value and gradient as torch's
    cross_entropy with probability targets (which takes the same formula for any rows)."""
    z_data, y = case
    y[0] = 0.0  # an all-zero row, the case whose gradient was furthest off
    assert gradcheck(lambda t: nn.softmax_cross_entropy(t, y), Tensor(z_data))
    F = _torch().nn.functional
    z = Tensor(z_data, requires_grad=True)
    C = nn.softmax_cross_entropy(z, y)
    C.backward()
    zt = _torch().tensor(z_data, requires_grad=True)
    Ct = F.cross_entropy(zt, _torch().tensor(y))
    Ct.backward()
    assert np.isclose(C.item(), Ct.item(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(z.grad, zt.grad.numpy(), rtol=1e-10, atol=1e-12)


@given(_logits)
def test_cross_entropy_any_targets_gradcheck_and_torch(case) -> None:
    """From z (a = sigmoid(z)) and from a, with targets outside [0, 1] too: the gradient is the
    formula's (gradcheck) and matches torch's binary_cross_entropy(_with_logits)."""
    z_data, y = case
    F = _torch().nn.functional
    assert gradcheck(lambda t: nn.cross_entropy_loss(t.sigmoid(), y), Tensor(z_data))
    a_data = 0.05 + 0.9 / (1 + np.exp(-z_data))  # inside (0, 1), away from the clipping
    assert gradcheck(lambda t: nn.cross_entropy_loss(t, y), Tensor(a_data))
    n = z_data.shape[0]
    for make, reference, data, target in (
            (lambda t: t.sigmoid(), F.binary_cross_entropy_with_logits, z_data, y),
            # torch's binary_cross_entropy refuses targets outside [0, 1]
            (lambda t: t, F.binary_cross_entropy, a_data, np.clip(y, 0.0, 1.0))):
        t = Tensor(data, requires_grad=True)
        C = nn.cross_entropy_loss(make(t), target)
        C.backward()
        tt = _torch().tensor(data, requires_grad=True)
        Ct = reference(tt, _torch().tensor(target), reduction="sum") / n
        Ct.backward()
        assert np.isclose(C.item(), Ct.item(), rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=1e-8, atol=1e-10)


@given(_logits)
def test_quadratic_loss_any_targets_gradcheck(case) -> None:
    z_data, y = case
    assert gradcheck(lambda t: nn.quadratic_loss(t, y), Tensor(z_data))


def test_softmax_cross_entropy_rows_not_summing_to_one_exact_gradient() -> None:
    """The issue's example: multi-hot, all-zero and smoothed rows (sum 2, 0, 0.7)."""
    z = Tensor([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0], [2.0, 2.0, 1.0]], requires_grad=True)
    y = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.5, 0.1, 0.1]])
    nn.softmax_cross_entropy(z, y).backward()
    s = np.exp(z.data) / np.exp(z.data).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(z.grad, (s * y.sum(axis=1, keepdims=True) - y) / 3, rtol=1e-13)


def test_softmax_cross_entropy_at_infinity_is_exact() -> None:
    """A -inf logit costs 0 where its target is 0 (0 ln 0 = 0), logits of +-1e308 give 0 or
    +inf, as the limits are; no NaN, no warning (warnings are errors)."""
    soft = nn.softmax_cross_entropy(Tensor([[-np.inf, 0.0, 0.0]]), np.array([[0.0, 0.5, 0.5]]))
    assert soft.item() == pytest.approx(np.log(2.0))
    huge = Tensor([[1e308, -1e308, 0.0]], requires_grad=True)
    right = nn.softmax_cross_entropy(huge, np.array([0]))
    assert right.item() == 0.0
    right.backward()
    assert huge.grad.tolist() == [[0.0, 0.0, 0.0]]
    assert nn.softmax_cross_entropy(huge, np.array([1])).item() == np.inf
    assert nn.softmax_cross_entropy(Tensor([[-np.inf, 1.0]]), np.array([0])).item() == np.inf
    z = Tensor([[np.inf, 0.0, -np.inf]], requires_grad=True)
    C = nn.softmax_cross_entropy(z, np.array([0]))
    C.backward()
    assert C.item() == 0.0 and z.grad.tolist() == [[0.0, 0.0, 0.0]]


def test_cross_entropy_of_sigmoid_at_infinity_is_exact() -> None:
    """cross_entropy_loss(sigmoid(z), y) at z = +-inf: 0 where the output is right, +inf where
    it is wrong, and soft targets give +inf; the gradient is delta = a - y exactly."""
    z = Tensor([[np.inf, -np.inf, np.inf, -np.inf]], requires_grad=True)
    right = nn.cross_entropy_loss(z.sigmoid(), np.array([[1.0, 0.0, 1.0, 0.0]]))
    assert right.item() == 0.0
    right.backward()
    assert z.grad.tolist() == [[0.0, 0.0, 0.0, 0.0]]
    for y in ([[0.0, 0.0, 1.0, 0.0]], [[0.5, 0.0, 1.0, 0.0]], [[1.0, 1.0, 1.0, 0.0]]):
        assert nn.cross_entropy_loss(z.sigmoid(), np.array(y)).item() == np.inf
    huge = Tensor([[1e308, -1e308]], requires_grad=True)
    assert nn.cross_entropy_loss(huge.sigmoid(), np.array([[1.0, 0.0]])).item() == 0.0
