"""Tests for minigrad.optim: SGD with L2 weight decay, parameter groups, weight_decay_groups."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from minigrad import Tensor, nn, optim

finite = st.floats(-10, 10, allow_nan=False, width=64)


def _param(values: np.ndarray, grad: np.ndarray | None) -> Tensor:
    p = Tensor(np.array(values, dtype=np.float64), requires_grad=True)
    p.grad = None if grad is None else np.array(grad, dtype=np.float64)
    return p


@given(w=arrays(np.float64, (3, 2), elements=finite), g=arrays(np.float64, (3, 2), elements=finite),
       lr=st.floats(1e-3, 2.0), weight_decay=st.floats(0.0, 1.0))
@settings(max_examples=50, deadline=None)
def test_sgd_update_formula(w: np.ndarray, g: np.ndarray, lr: float, weight_decay: float) -> None:
    """One step: w <- w - lr * (g + weight_decay * w), in place, the gradient untouched."""
    p = _param(w, g)
    data_before = p.data
    optim.SGD([p], lr=lr, weight_decay=weight_decay).step()
    np.testing.assert_allclose(p.data, w - lr * (g + weight_decay * w), rtol=1e-12, atol=1e-12)
    assert p.data is data_before  # updated in place: layers keep pointing at the same array
    np.testing.assert_array_equal(p.grad, g)


def test_sgd_step_builds_no_graph(monkeypatch: pytest.MonkeyPatch) -> None:
    """The update works on the arrays: no Tensor op (hence no graph) runs inside step(). Given
    a plain parameter list, weight_decay applies to every parameter, biases too (as PyTorch)."""
    model = nn.mlp([3, 2])
    nn.quadratic_loss(model(np.ones((2, 3))), np.array([0, 1])).backward()
    lr, weight_decay = 0.1, 0.01
    named = list(model.named_parameters())
    assert [name for name, _ in named] == ["layers.0.weight", "layers.0.bias"]
    before = {name: (p.data.copy(), p.grad.copy()) for name, p in named}
    sgd = optim.SGD(model.parameters(), lr=lr, weight_decay=weight_decay)

    def no_tensor_ops(*args: object, **kwargs: object) -> Tensor:
        raise AssertionError("SGD.step built a graph node (Tensor.from_op was called)")

    monkeypatch.setattr(Tensor, "from_op", no_tensor_ops)
    sgd.step()
    monkeypatch.undo()
    for name, p in named:
        w, g = before[name]
        np.testing.assert_allclose(p.data, w - lr * (g + weight_decay * w), rtol=1e-13,
                                   atol=1e-15, err_msg=name)
    assert all(p.is_leaf and p.requires_grad for p in model.parameters())


def test_weight_decay_groups_split_weights_and_biases() -> None:
    """Group 0: every weight, decayed; group 1: every bias, not decayed."""
    model = nn.mlp([4, 3, 2])
    weights_group, biases_group = optim.weight_decay_groups(model, 0.25)
    assert [id(p) for p in weights_group["params"]] == [id(m.weight) for m in model.layers[0::2]]
    assert [id(p) for p in biases_group["params"]] == [id(m.bias) for m in model.layers[0::2]]
    assert weights_group["weight_decay"] == 0.25 and biases_group["weight_decay"] == 0.0


@pytest.mark.parametrize("zero_gradient", [False, True], ids=["gradient", "zero_gradient"])
def test_weight_decay_groups_follow_the_book(zero_gradient: bool) -> None:
    """eta = 0.1, lambda = 5, n = 1000: weights shrink by (1 - eta lambda/n) = 0.9995 before
    the gradient step; biases only take the gradient step (with zero gradients, weights are
    multiplied by 0.9995 and biases stay exactly equal)."""
    eta, lam, n = 0.1, 5.0, 1000
    model = nn.mlp([5, 4, 3], seed=2)
    rng = np.random.default_rng(0)
    before = {name: p.data.copy() for name, p in model.named_parameters()}
    grads = {name: np.zeros(p.shape) if zero_gradient else rng.standard_normal(p.shape)
             for name, p in model.named_parameters()}
    for name, p in model.named_parameters():
        p.grad = grads[name]
    optim.SGD(optim.weight_decay_groups(model, lam / n), lr=eta).step()
    tolerance = {"rtol": 1e-15, "atol": 0.0} if zero_gradient else {"rtol": 1e-13, "atol": 1e-15}
    for name, p in model.named_parameters():
        factor = 0.9995 if name.endswith("weight") else 1.0
        np.testing.assert_allclose(p.data, factor * before[name] - eta * grads[name],
                                   err_msg=name, **tolerance)
        if zero_gradient and name.endswith("bias"):
            np.testing.assert_array_equal(p.data, before[name], err_msg=name)


def test_param_groups_override_the_defaults() -> None:
    """A group's own lr / weight_decay win over the SGD arguments; missing keys use them."""
    a = _param(np.ones(2), np.ones(2))
    b = _param(np.ones(2), np.ones(2))
    sgd = optim.SGD([{"params": [a], "lr": 0.1, "weight_decay": 0.5}, {"params": [b]}],
                    lr=1.0, weight_decay=0.25)
    assert [(g["lr"], g["weight_decay"]) for g in sgd.param_groups] == [(0.1, 0.5), (1.0, 0.25)]
    sgd.step()
    np.testing.assert_allclose(a.data, 1 - 0.1 * (1 + 0.5), rtol=1e-15)
    np.testing.assert_allclose(b.data, 1 - 1.0 * (1 + 0.25), rtol=1e-15)


def test_sgd_accepts_a_generator_of_parameters() -> None:
    """parameters may be any iterable (read once)."""
    model = nn.mlp([3, 2])
    sgd = optim.SGD((p for p in model.parameters()), lr=0.1)
    assert len(sgd.param_groups[0]["params"]) == 2


def test_sgd_skips_parameters_without_gradient() -> None:
    """A parameter with grad None is left alone, weight decay included."""
    used, unused = _param(np.ones(3), np.ones(3)), _param(np.ones(3), None)
    optim.SGD([used, unused], lr=0.1, weight_decay=0.5).step()
    np.testing.assert_array_equal(unused.data, np.ones(3))
    np.testing.assert_allclose(used.data, 1 - 0.1 * 1.5, rtol=1e-15)


def test_sgd_zero_grad() -> None:
    """zero_grad forgets the gradient of every parameter in every group."""
    model = nn.mlp([3, 2, 2])
    for p in model.parameters():
        p.grad = np.ones(p.shape)
    sgd = optim.SGD(optim.weight_decay_groups(model, 0.1), lr=0.1)
    sgd.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_sgd_float32_parameters_stay_float32() -> None:
    """The update keeps a float32 parameter float32 (in place)."""
    p = Tensor(np.ones(3, np.float32), requires_grad=True)
    p.grad = np.full(3, 0.5, np.float32)
    optim.SGD([p], lr=0.1, weight_decay=0.1).step()
    assert p.dtype == np.float32
    np.testing.assert_allclose(p.data, 1 - 0.1 * (0.5 + 0.1), rtol=1e-6)


@pytest.mark.parametrize("lr", [0.0, -0.1, float("nan")])
def test_sgd_bad_lr(lr: float) -> None:
    """lr must be positive; the error gives the value."""
    with pytest.raises(ValueError, match="lr must be positive"):
        optim.SGD([_param(np.ones(2), None)], lr=lr)


@pytest.mark.parametrize("lr", [0.0, -0.1])
def test_sgd_bad_lr_in_a_group(lr: float) -> None:
    """A group's own lr is checked like the default one."""
    with pytest.raises(ValueError, match="lr must be positive"):
        optim.SGD([{"params": [_param(np.ones(2), None)], "lr": lr}], lr=0.1)


@pytest.mark.parametrize("weight_decay", [-0.1, float("nan")])
def test_sgd_bad_weight_decay(weight_decay: float) -> None:
    with pytest.raises(ValueError, match="weight_decay must be"):
        optim.SGD([_param(np.ones(2), None)], lr=0.1, weight_decay=weight_decay)
    with pytest.raises(ValueError, match="weight_decay must be"):
        optim.SGD([{"params": [_param(np.ones(2), None)], "weight_decay": weight_decay}], lr=0.1)


def test_sgd_rejects_non_parameters() -> None:
    """Arrays, and Tensors that need no gradient, are not parameters."""
    with pytest.raises(TypeError, match="requires_grad=True"):
        optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(TypeError, match="requires_grad=True"):
        optim.SGD([Tensor(np.ones(2))], lr=0.1)


def test_sgd_group_without_params_key() -> None:
    with pytest.raises(TypeError, match="group 0 must be a dict with a 'params'"):
        optim.SGD([{"lr": 0.1}], lr=0.1)


# --- issue 9: bad arguments and non-finite steps ----------------------------------------------


@pytest.mark.parametrize("lr, error, words", [
    (float("inf"), ValueError, "lr must be positive and finite, got inf"),
    ("0.1", TypeError, "lr must be a number, got str '0.1'"),
    (True, TypeError, "lr must be a number, got bool"),
])
def test_sgd_lr_errors_name_the_value(lr, error, words) -> None:
    with pytest.raises(error, match=words):
        optim.SGD([_param(np.ones(2), None)], lr=lr)


def test_sgd_refuses_empty_repeated_and_non_leaf_parameters() -> None:
    with pytest.raises(ValueError, match="params is empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="params is empty"):
        optim.SGD([{"params": []}], lr=0.1)
    p = _param(np.ones(2), None)
    with pytest.raises(ValueError, match="listed twice"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="must be a leaf"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="weight_decay must be >= 0 and finite, got inf"):
        optim.SGD([p], lr=0.1, weight_decay=float("inf"))


def test_sgd_step_that_makes_weights_non_finite_says_so_and_changes_nothing() -> None:
    w = Tensor(np.ones(3), requires_grad=True, label="w")
    b = Tensor(np.zeros(3), requires_grad=True, label="b")
    sgd = optim.SGD([b, w], lr=1e300)
    ((w * 1e10).sum() + b.sum()).backward()  # lr * 1e10 overflows
    with pytest.raises(FloatingPointError, match="parameter 'w' is not finite.*lr=1e\\+300"):
        sgd.step()
    assert w.data.tolist() == [1.0, 1.0, 1.0] and b.data.tolist() == [0.0, 0.0, 0.0]
    assert w._version == 0 and b._version == 0


def test_sgd_first_step_checks_gradients_set_by_hand() -> None:
    p = _param(np.ones(2), np.array([1.0, np.nan]))
    with pytest.raises(FloatingPointError, match="gradient holds inf or NaN"):
        optim.SGD([p], lr=0.1).step()
    assert p.data.tolist() == [1.0, 1.0]


def test_sgd_step_after_an_overflowing_backward_is_checked() -> None:
    w = Tensor(np.array([1e300, 1.0]), requires_grad=True, label="w")
    sgd = optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    sgd.step()  # the first step: grad [2e300, 2] is finite
    sgd.zero_grad()
    (w * w * w).sum().backward()  # (1e300)^2 overflows: inf gradient, noted by the op
    with pytest.raises(FloatingPointError, match="'w'"):
        sgd.step()


def test_sgd_step_raises_versions_so_an_old_graph_is_refused() -> None:
    w = Tensor(np.ones((2, 2)), requires_grad=True, label="w")
    sgd = optim.SGD([w], lr=0.1)
    first = (w * w).sum()
    first.backward()
    second = (w * w).sum()  # built before the step
    sgd.step()
    assert w._version == 1
    with pytest.raises(RuntimeError, match="'w' of shape \\(2, 2\\)"):
        second.backward()
    check_finite_off = optim.SGD([w], lr=0.1, check_finite=False)
    assert check_finite_off.check_finite is False


def test_sgd_steps_a_leaf_made_by_an_op_and_given_requires_grad_later() -> None:
    values = np.array([1.0, 2.0])
    p = Tensor(values) * 2.0  # a constant leaf made by an op
    p.requires_grad = True
    p.grad = np.array([1.0, 1.0])
    optim.SGD([p], lr=0.5).step()
    assert p.data.tolist() == [1.5, 3.5] and p._version == 1 and values.tolist() == [1.0, 2.0]
