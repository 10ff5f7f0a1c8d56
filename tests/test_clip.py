"""Tests for minigrad.optim.clip_grad_norm: the total norm, the common scale, PyTorch's values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from minigrad import Tensor, optim


def _params(rng: np.random.Generator, scale: float) -> list[Tensor]:
    params = [Tensor(rng.standard_normal(s), requires_grad=True) for s in [(3, 2), (3,), (4,)]]
    for p in params:
        p.grad = rng.standard_normal(p.shape) * scale
    return params


@pytest.mark.parametrize("scale", [0.01, 1.0, 100.0])
def test_total_norm_is_returned_and_every_gradient_scaled_together(scale: float) -> None:
    rng = np.random.default_rng(0)
    params = _params(rng, scale)
    before = [p.grad.copy() for p in params]
    total = math.sqrt(sum(float((g ** 2).sum()) for g in before))
    assert optim.clip_grad_norm(params, 1.0) == pytest.approx(total, rel=1e-15)
    after = math.sqrt(sum(float((p.grad ** 2).sum()) for p in params))
    if total > 1.0:
        assert after == pytest.approx(1.0, rel=1e-5) and after <= 1.0
        ratios = [p.grad / g for p, g in zip(params, before)]
        assert np.allclose(np.concatenate([r.ravel() for r in ratios]), ratios[0].ravel()[0])
    else:
        for p, g in zip(params, before):
            np.testing.assert_array_equal(p.grad, g)


def test_parameters_without_a_gradient_are_skipped_and_a_single_tensor_works() -> None:
    rng = np.random.default_rng(1)
    params = _params(rng, 10.0)
    params.append(Tensor(np.ones(2), requires_grad=True))  # no grad
    optim.clip_grad_norm(params, 0.5)
    assert params[-1].grad is None
    one = params[0]
    norm = float(np.linalg.norm(one.grad))
    assert optim.clip_grad_norm(one, norm / 2) == pytest.approx(norm, rel=1e-15)
    assert float(np.linalg.norm(one.grad)) == pytest.approx(norm / 2, rel=1e-5)


def test_clipping_does_not_touch_an_array_another_node_shares() -> None:
    shared = np.ones(3) * 10
    p = Tensor(np.zeros(3), requires_grad=True)
    p.grad = shared
    optim.clip_grad_norm([p], 1.0)
    np.testing.assert_array_equal(shared, np.ones(3) * 10)


def test_non_finite_norms_are_a_clear_error() -> None:
    rng = np.random.default_rng(2)
    params = _params(rng, 1.0)
    params[1].grad[0] = np.inf
    with pytest.raises(ValueError, match=r"not finite.*parameter\(s\) \[1\]"):
        optim.clip_grad_norm(params, 1.0)
    params[1].grad[0] = np.nan
    with pytest.raises(ValueError, match="not finite"):
        optim.clip_grad_norm(params, 1.0)
    with pytest.raises(ValueError, match="max_norm must be positive"):
        optim.clip_grad_norm(params, 0.0)


@pytest.mark.parametrize("max_norm", [0.3, 5.0, 1e3])
def test_equals_pytorchs_clip_grad_norm(max_norm: float) -> None:
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    rng = np.random.default_rng(3)
    params = _params(rng, 3.0)
    theirs = [torch.tensor(p.data, requires_grad=True) for p in params]
    for t, p in zip(theirs, params):
        t.grad = torch.tensor(p.grad.copy())
    total = optim.clip_grad_norm(params, max_norm)
    total_t = torch.nn.utils.clip_grad_norm_(theirs, max_norm)
    assert total == pytest.approx(float(total_t), rel=1e-14)
    for t, p in zip(theirs, params):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-14)
