"""Tests for minigrad.nn.norms: BatchNorm1d and LayerNorm against finite differences, their
described Jacobian against their VJP, and PyTorch's layers with the same weights (float64)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad import Tensor, gradcheck, nn
from minigrad.nn.norms import Normalise


def _torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed (pip install torch)")


def _batch(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.standard_normal(shape) * rng.uniform(0.5, 3.0) + rng.uniform(-2, 2)


def _with_affine(layer: nn.Module, rng: np.random.Generator) -> nn.Module:
    layer.weight.data = rng.uniform(0.5, 2.0, layer.n)
    layer.bias.data = rng.standard_normal(layer.n)
    return layer


# ---- gradcheck ---------------------------------------------------------------------------------
@given(n_batch=st.integers(2, 6), n=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_batch_norm_in_training_passes_gradcheck(n_batch: int, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    layer = _with_affine(nn.BatchNorm1d(n), rng)
    x = Tensor(_batch(rng, (n_batch, n)), requires_grad=True)
    assert layer.training
    assert gradcheck(lambda x, w, b: nn.norms.normalise(x, w, b, 0, layer.eps), x,
                     layer.weight, layer.bias, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("n_batch", [2, 3, 10])
def test_batch_norm_module_gradcheck_including_batch_of_two(n_batch: int) -> None:
    rng = np.random.default_rng(n_batch)
    layer = _with_affine(nn.BatchNorm1d(3), rng)
    x = Tensor(_batch(rng, (n_batch, 3)), requires_grad=True)
    assert gradcheck(lambda x: (layer(x) * layer(x)).sum(), x, atol=1e-5)


@given(shape=st.sampled_from([(1, 3), (4, 3), (2, 5, 3), (3,)]), seed=st.integers(0, 2**16))
def test_layer_norm_passes_gradcheck(shape: tuple[int, ...], seed: int) -> None:
    rng = np.random.default_rng(seed)
    layer = _with_affine(nn.LayerNorm(shape[-1]), rng)
    x = Tensor(_batch(rng, shape), requires_grad=True)
    assert gradcheck(lambda x, w, b: nn.norms.normalise(x, w, b, -1, layer.eps), x,
                     layer.weight, layer.bias, atol=1e-5)


def test_batch_norm_in_evaluation_passes_gradcheck() -> None:
    rng = np.random.default_rng(1)
    layer = _with_affine(nn.BatchNorm1d(3), rng)
    layer(Tensor(_batch(rng, (8, 3))))
    layer.eval()
    x = Tensor(_batch(rng, (4, 3)), requires_grad=True)
    assert gradcheck(lambda x, w, b: layer(x), x, layer.weight, layer.bias)


# ---- the described Jacobian is the VJP --------------------------------------------------------
def _dense_jacobians(node: Tensor) -> list[np.ndarray]:
    """(J_x, J_gamma, J_beta) as dense (out.size, input.size) matrices, from local() alone."""
    x, gamma, _ = node.parents
    group, xhat, one = node.local_derivatives()
    axis = node._ctx.axis % x.ndim
    index = np.moveaxis(np.arange(x.data.size).reshape(x.shape), axis, -1)  # groups last
    dense_x = np.zeros((x.data.size, x.data.size))
    for row in np.ndindex(index.shape[:-1]):
        for a in range(index.shape[-1]):
            for b in range(index.shape[-1]):
                dense_x[index[row][a], index[row][b]] += group[row][a, b]
    feature = np.broadcast_to(np.arange(gamma.data.size), x.shape).ravel()
    dense_gamma = np.zeros((x.data.size, gamma.data.size))
    dense_beta = np.zeros((x.data.size, gamma.data.size))
    dense_gamma[np.arange(x.data.size), feature] = np.ravel(xhat)
    dense_beta[np.arange(x.data.size), feature] = one
    return [dense_x, dense_gamma, dense_beta]


@pytest.mark.parametrize("axis, shape", [(0, (2, 3)), (0, (5, 2)), (-1, (4, 3)),
                                         (-1, (2, 3, 4)), (-1, (3,))])
def test_local_description_applied_to_g_is_the_vjp(axis: int, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(0)
    x = Tensor(_batch(rng, shape), requires_grad=True)
    gamma = Tensor(rng.uniform(0.5, 2, shape[-1]), requires_grad=True)
    beta = Tensor(rng.standard_normal(shape[-1]), requires_grad=True)
    node = nn.norms.normalise(x, gamma, beta, axis, 1e-5)
    assert node.op == ("batch_norm" if axis == 0 else "layer_norm")
    assert isinstance(node._ctx, Normalise)
    g = rng.standard_normal(node.shape)
    for i, (jacobian, contribution) in enumerate(zip(_dense_jacobians(node), node.vjp(g))):
        described = g.reshape(-1) @ jacobian
        np.testing.assert_allclose(contribution.reshape(-1), described, rtol=1e-12,
                                   atol=1e-12, err_msg=f"input {i}")


def test_a_linear_bias_before_batch_norm_gets_exactly_zero_gradient() -> None:
    rng = np.random.default_rng(3)
    model = nn.Sequential(nn.Linear(4, 3, rng=rng), nn.BatchNorm1d(3), nn.Sigmoid())
    out = model(rng.standard_normal((6, 4)))
    (out * Tensor(rng.standard_normal(out.shape))).sum().backward()
    assert np.abs(model[0].bias.grad).max() < 1e-15
    assert np.abs(model[1].bias.grad).max() > 1e-3


# ---- training and evaluation ---------------------------------------------------------------------
def test_train_and_eval_switch_every_submodule() -> None:
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3),
                          nn.Residual(nn.Sequential(nn.LayerNorm(3), nn.BatchNorm1d(3))))
    assert all(m.training for _, m in model.named_modules())
    assert model.eval() is model
    assert not any(m.training for _, m in model.named_modules())
    assert model.train() is model
    assert all(m.training for _, m in model.named_modules())
    model.train(False)
    assert not any(m.training for _, m in model.named_modules())


def test_running_statistics_are_pytorchs_rule() -> None:
    rng = np.random.default_rng(0)
    layer = nn.BatchNorm1d(2, momentum=0.25)
    batches = [_batch(rng, (5, 2)) for _ in range(3)]
    mean, var = np.zeros(2), np.ones(2)
    for b in batches:
        layer(Tensor(b))
        mean = 0.75 * mean + 0.25 * b.mean(axis=0)
        var = 0.75 * var + 0.25 * b.var(axis=0, ddof=1)  # unbiased
    np.testing.assert_allclose(layer.running_mean.data, mean, rtol=1e-14)
    np.testing.assert_allclose(layer.running_var.data, var, rtol=1e-14)
    layer.eval()
    before = layer.running_mean.data.copy()
    out = layer(Tensor(batches[0]))
    np.testing.assert_allclose(out.data, (batches[0] - mean) / np.sqrt(var + 1e-5))
    np.testing.assert_array_equal(layer.running_mean.data, before)  # eval leaves them


def test_running_statistics_are_not_parameters() -> None:
    names = [name for name, _ in nn.BatchNorm1d(3).named_parameters()]
    assert names == ["weight", "bias"]
    assert [name for name, _ in nn.LayerNorm(3).named_parameters()] == ["weight", "bias"]


def test_errors_name_the_layer_and_the_shapes() -> None:
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\): training needs more than one"):
        nn.BatchNorm1d(3)(np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 3\), got \(2, 4\)"):
        nn.BatchNorm1d(3)(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"LayerNorm\(3\).*got \(2, 4\)"):
        nn.LayerNorm(3)(np.ones((2, 4)))
    with pytest.raises(ValueError, match="positive integer"):
        nn.LayerNorm(0)
    nn.BatchNorm1d(3).eval()(np.ones((1, 3)))  # one example is fine with running statistics


# ---- PyTorch, the same weights, float64 -------------------------------------------------------
@pytest.mark.parametrize("n_batch", [2, 7])
def test_batch_norm_equals_pytorchs_in_training_and_evaluation(n_batch: int) -> None:
    torch = _torch()
    rng = np.random.default_rng(n_batch)
    mine = _with_affine(nn.BatchNorm1d(4, eps=1e-5, momentum=0.1), rng)
    theirs = torch.nn.BatchNorm1d(4, eps=1e-5, momentum=0.1).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(mine.weight.data))
        theirs.bias.copy_(torch.tensor(mine.bias.data))
    for _ in range(3):
        x = _batch(rng, (n_batch, 4))
        g = rng.standard_normal((n_batch, 4))
        xm, xt = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        mine.weight.grad = mine.bias.grad = None
        theirs.zero_grad()
        (mine(xm) * Tensor(g)).sum().backward()
        out = theirs(xt)
        (out * torch.tensor(g)).sum().backward()
        np.testing.assert_allclose(xm.grad,
                                   xt.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(mine.weight.grad, theirs.weight.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(mine.bias.grad, theirs.bias.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(mine.running_mean.data, theirs.running_mean.numpy(),
                                   rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(mine.running_var.data, theirs.running_var.numpy(),
                                   rtol=1e-12)
    mine.eval()
    theirs.eval()
    x = _batch(rng, (3, 4))
    np.testing.assert_allclose(mine(Tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-12, atol=1e-12)


def test_batch_norm_forward_equals_pytorchs() -> None:
    torch = _torch()
    rng = np.random.default_rng(5)
    mine = _with_affine(nn.BatchNorm1d(3), rng)
    theirs = torch.nn.BatchNorm1d(3).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(mine.weight.data))
        theirs.bias.copy_(torch.tensor(mine.bias.data))
    x = _batch(rng, (6, 3))
    np.testing.assert_allclose(mine(Tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (4,)])
def test_layer_norm_equals_pytorchs(shape: tuple[int, ...]) -> None:
    torch = _torch()
    rng = np.random.default_rng(len(shape))
    mine = _with_affine(nn.LayerNorm(4, eps=1e-5), rng)
    theirs = torch.nn.LayerNorm(4, eps=1e-5).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(mine.weight.data))
        theirs.bias.copy_(torch.tensor(mine.bias.data))
    x, g = _batch(rng, shape), rng.standard_normal(shape)
    xm, xt = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_m = mine(xm)
    (out_m * Tensor(g)).sum().backward()
    out_t = theirs(xt)
    (out_t * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(out_m.data, out_t.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(xm.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(mine.weight.grad, theirs.weight.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(mine.bias.grad, theirs.bias.grad.numpy(), rtol=1e-10)


# ---- the flow report measures a Linear followed by batch norm by its beta ----------------------
def test_gradient_flow_measures_a_layer_with_batch_norm_by_its_beta() -> None:
    from minigrad.flow import gradient_flow

    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(6, 5, rng=rng), nn.BatchNorm1d(5), nn.Sigmoid(),
                          nn.Linear(5, 4, rng=rng), nn.Sigmoid(), nn.BatchNorm1d(4),
                          nn.Linear(4, 3, rng=rng), nn.Sigmoid())
    x, y = rng.standard_normal((8, 6)), rng.integers(0, 3, 8)
    report = gradient_flow(model, x, y, keep_gradients=True)
    first, second, out = report.layers
    assert first.name == "layers.0 (s_l: dC/dbeta of layers.1)"
    assert first.activation == "sigmoid" and first.mean_dsigma is not None
    assert np.abs(model[0].bias.grad).max() < 1e-15  # what the Linear's own bias would say
    assert first.speed == pytest.approx(float(np.linalg.norm(model[1].bias.grad)), rel=1e-12)
    assert first.speed > 1e-4
    assert first.weight_grad_norm == pytest.approx(float(np.linalg.norm(model[0].weight.grad)))
    # batch norm after the activation: the Linear's own bias is measured, as without it
    assert second.name == "layers.3"
    assert second.speed == pytest.approx(float(np.linalg.norm(model[3].bias.grad)), rel=1e-12)
    assert out.name == "layers.6" and out.role == "output"
