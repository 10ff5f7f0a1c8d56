"""Tests for minigrad.nn.recurrent: RNNCell and LSTMCell, gradcheck of short unrolls, and
100-step unrolls against PyTorch's cells with the same weights (float64, to 1e-10)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad import Tensor, gradcheck, nn


def _torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed (pip install torch)")


def _unroll_rnn(cell: nn.RNNCell, xs: Tensor, h0: Tensor | None = None) -> Tensor:
    h = h0
    for t in range(xs.shape[0]):
        h = cell(xs[t], h)
    return h


def _unroll_lstm(cell: nn.LSTMCell, xs: Tensor, state=None) -> tuple[Tensor, Tensor]:
    for t in range(xs.shape[0]):
        state = cell(xs[t], state)
    return state


def test_parameter_names_and_shapes_are_pytorchs() -> None:
    rnn, lstm = nn.RNNCell(3, 5), nn.LSTMCell(3, 5)
    assert [(n, p.shape) for n, p in rnn.named_parameters()] == [
        ("weight_ih", (5, 3)), ("weight_hh", (5, 5)), ("bias_ih", (5,)), ("bias_hh", (5,))]
    assert [(n, p.shape) for n, p in lstm.named_parameters()] == [
        ("weight_ih", (20, 3)), ("weight_hh", (20, 5)), ("bias_ih", (20,)), ("bias_hh", (20,))]
    bound = 1 / np.sqrt(5)
    assert all(np.abs(p.data).max() <= bound for p in lstm.parameters())


@given(activation=st.sampled_from(["tanh", "sigmoid", "relu"]), steps=st.integers(1, 4),
       batch=st.sampled_from([None, 1, 3]), seed=st.integers(0, 2**16))
def test_rnn_unroll_passes_gradcheck(activation: str, steps: int, batch: int | None,
                                     seed: int) -> None:
    rng = np.random.default_rng(seed)
    cell = nn.RNNCell(2, 3, activation=activation, rng=rng)
    shape = (steps, 2) if batch is None else (steps, batch, 2)
    xs = Tensor(rng.standard_normal(shape), requires_grad=True)
    h0 = Tensor(rng.standard_normal(shape[1:-1] + (3,)), requires_grad=True)
    assert gradcheck(lambda xs, h0, *params: _unroll_rnn(cell, xs, h0), xs, h0,
                     *cell.parameters(), atol=1e-5)


@given(steps=st.integers(1, 4), batch=st.sampled_from([None, 2]), seed=st.integers(0, 2**16))
def test_lstm_unroll_passes_gradcheck(steps: int, batch: int | None, seed: int) -> None:
    rng = np.random.default_rng(seed)
    cell = nn.LSTMCell(2, 3, rng=rng)
    shape = (steps, 2) if batch is None else (steps, batch, 2)
    xs = Tensor(rng.standard_normal(shape), requires_grad=True)
    h0 = Tensor(rng.standard_normal(shape[1:-1] + (3,)), requires_grad=True)
    c0 = Tensor(rng.standard_normal(shape[1:-1] + (3,)), requires_grad=True)

    def f(xs, h0, c0, *params):
        h, c = _unroll_lstm(cell, xs, (h0, c0))
        return h * c + h

    assert gradcheck(f, xs, h0, c0, *cell.parameters(), atol=1e-5)


def _copy_into(torch_cell, cell) -> None:
    torch = _torch()
    with torch.no_grad():
        for name, p in cell.named_parameters():
            getattr(torch_cell, name).copy_(torch.tensor(p.data))


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_rnn_100_steps_equal_pytorchs(activation: str) -> None:
    torch = _torch()
    rng = np.random.default_rng(0)
    cell = nn.RNNCell(3, 6, activation=activation, rng=rng)
    theirs = torch.nn.RNNCell(3, 6, nonlinearity=activation).double()
    _copy_into(theirs, cell)
    xs = rng.standard_normal((100, 4, 3))
    target = rng.standard_normal((4, 6))
    xs_m = Tensor(xs, requires_grad=True)
    h = _unroll_rnn(cell, xs_m)
    ((h - Tensor(target)) ** 2).sum().backward()
    xs_t = torch.tensor(xs, requires_grad=True)
    h_t = None
    for t in range(100):
        h_t = theirs(xs_t[t], h_t)
    ((h_t - torch.tensor(target)) ** 2).sum().backward()
    np.testing.assert_allclose(h.data, h_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(xs_m.grad, xs_t.grad.numpy(), rtol=1e-10, atol=1e-12)
    for name, p in cell.named_parameters():
        np.testing.assert_allclose(p.grad, getattr(theirs, name).grad.numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=name)


def test_rnn_sigmoid_is_sigmoid_of_the_preactivation() -> None:
    rng = np.random.default_rng(4)
    cell = nn.RNNCell(2, 3, activation="sigmoid", rng=rng)
    x, h = rng.standard_normal((5, 2)), rng.standard_normal((5, 3))
    z = x @ cell.weight_ih.data.T + cell.bias_ih.data + h @ cell.weight_hh.data.T \
        + cell.bias_hh.data
    np.testing.assert_allclose(cell(x, h).data, 1 / (1 + np.exp(-z)), rtol=1e-14)


def test_lstm_100_steps_equal_pytorchs() -> None:
    torch = _torch()
    rng = np.random.default_rng(1)
    cell = nn.LSTMCell(3, 5, rng=rng)
    cell.bias_hh.data[5:10] += 1.0  # a forget-gate bias of 1: long memory, a hard test
    theirs = torch.nn.LSTMCell(3, 5).double()
    _copy_into(theirs, cell)
    xs = rng.standard_normal((100, 2, 3))
    h0, c0 = rng.standard_normal((2, 5)), rng.standard_normal((2, 5))
    xs_m, h0_m, c0_m = (Tensor(a, requires_grad=True) for a in (xs, h0, c0))
    h, c = _unroll_lstm(cell, xs_m, (h0_m, c0_m))
    (h.sum() + (c * c).sum()).backward()
    xs_t, h0_t, c0_t = (torch.tensor(a, requires_grad=True) for a in (xs, h0, c0))
    state = (h0_t, c0_t)
    for t in range(100):
        state = theirs(xs_t[t], state)
    (state[0].sum() + (state[1] * state[1]).sum()).backward()
    np.testing.assert_allclose(h.data, state[0].detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(c.data, state[1].detach().numpy(), rtol=1e-10, atol=1e-12)
    for mine, t in [(xs_m, xs_t), (h0_m, h0_t), (c0_m, c0_t)]:
        np.testing.assert_allclose(mine.grad, t.grad.numpy(), rtol=1e-10, atol=1e-13)
    for name, p in cell.named_parameters():
        np.testing.assert_allclose(p.grad, getattr(theirs, name).grad.numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=name)


def test_gates_are_in_pytorchs_order_i_f_g_o() -> None:
    cell = nn.LSTMCell(1, 1)
    for p in cell.parameters():
        p.data[:] = 0.0
    cell.bias_ih.data[:] = [0.0, 50.0, 0.0, 50.0]  # i = 1/2, f = 1, g = tanh(0) = 0, o = 1
    h, c = cell(np.zeros((1, 1)), (np.zeros((1, 1)), np.full((1, 1), 0.7)))
    assert c.data.item() == pytest.approx(0.7)  # f = 1 keeps c; i * g adds 0
    assert h.data.item() == pytest.approx(np.tanh(0.7))  # o = 1


def test_a_thousand_steps_backward_without_recursion() -> None:
    cell = nn.RNNCell(1, 2)
    xs = Tensor(np.zeros((1000, 1, 1)), requires_grad=True)
    _unroll_rnn(cell, xs).sum().backward()
    assert xs.grad.shape == (1000, 1, 1) and np.all(np.isfinite(xs.grad))


def test_errors_name_the_cell_and_the_shapes() -> None:
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        nn.RNNCell(2, 3, activation="gelu")
    with pytest.raises(ValueError, match=r"RNNCell: x_t must have shape \(N, 2\)"):
        nn.RNNCell(2, 3)(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"RNNCell: h must have shape \(4, 3\)"):
        nn.RNNCell(2, 3)(np.ones((4, 2)), np.ones((4, 2)))
    with pytest.raises(TypeError, match=r"state must be a tuple \(h, c\)"):
        nn.LSTMCell(2, 3)(np.ones((4, 2)), np.ones((4, 3)))
    with pytest.raises(ValueError, match="n_hidden must be a positive integer"):
        nn.LSTMCell(2, 0)


# ---- the flow report through time ---------------------------------------------------------------
def _step_contributions(cell, xs: np.ndarray, y: np.ndarray, readout) -> list[np.ndarray]:
    """sum over the batch of dC/dz_t, by an extra zero input e_t added to each step's
    pre-activation: dC/de_t is step t's contribution to dC/db_hh, computed independently."""
    from minigrad.nn import cross_entropy_loss
    from minigrad.tensor import linear

    lstm = isinstance(cell, nn.LSTMCell)
    n = cell.n_hidden
    es = [Tensor(np.zeros(cell.weight_hh.shape[0]), requires_grad=True) for _ in xs]
    h = c = Tensor(np.zeros((xs.shape[1], n)))
    for x_t, e in zip(xs, es):
        z = linear(Tensor(x_t), cell.weight_ih, cell.bias_ih) + linear(
            h, cell.weight_hh, cell.bias_hh) + e
        if lstm:
            i, f = z[:, :n].sigmoid(), z[:, n:2 * n].sigmoid()
            g, o = z[:, 2 * n:3 * n].tanh(), z[:, 3 * n:].sigmoid()
            c = f * c + i * g
            h = o * c.tanh()
        else:
            h = getattr(z, cell.activation)()
    cross_entropy_loss(readout(h), y).backward()
    for p in cell.parameters() + readout.parameters():
        p.grad = None
    return [e.grad for e in es]


@pytest.mark.parametrize("kind", ["tanh", "sigmoid", "lstm"])
def test_flow_through_time_speeds_are_each_steps_bias_gradient(kind: str) -> None:
    from minigrad.flow.through_time import flow_through_time

    rng = np.random.default_rng(7)
    cell = nn.LSTMCell(2, 4, rng=rng) if kind == "lstm" else nn.RNNCell(2, 4, kind, rng=rng)
    readout = nn.Sequential(nn.Linear(4, 1, rng=rng), nn.Sigmoid())
    xs, y = rng.standard_normal((9, 5, 2)), rng.integers(0, 2, (5, 1)).astype(float)
    marker = np.ones(cell.weight_hh.shape)
    cell.weight_hh.grad = marker
    report = flow_through_time(cell, xs, y, readout=readout)
    assert cell.weight_hh.grad is marker  # the gradients are put back as they were
    expected = _step_contributions(cell, xs, y, readout)
    assert [row.role for row in report.layers] == [f"t={t}" for t in range(1, 10)]
    np.testing.assert_allclose(report.speeds, [np.linalg.norm(e) for e in expected],
                               rtol=1e-12)
    assert report.hidden_speeds == report.speeds
    assert len(report.state_gradients) == 9 and report.layers[-1].gain is None
    assert report.layers[0].gain == pytest.approx(report.speeds[0] / report.speeds[1])
    assert report.layers[-1].verdict == "the last step, nearest the cost"
    assert "step 1 learns" in report.summary() and "per step" in report.summary()
    if kind != "lstm":
        assert report.layers[3].mean_dsigma is not None
        assert report.layers[3].activation == kind


def test_flow_through_time_is_drawn_by_draw_layers() -> None:
    from minigrad import viz
    from minigrad.flow.through_time import flow_through_time

    rng = np.random.default_rng(0)
    cell = nn.RNNCell(1, 3, activation="sigmoid", rng=rng)
    report = flow_through_time(cell, rng.standard_normal((4, 2, 1)), np.ones((2, 3)) * 0.5)
    picture = viz.draw_layers(report)
    assert "t=1" in picture.source and "t=4" in picture.source


def test_flow_through_time_errors_say_what_to_pass() -> None:
    from minigrad.flow.through_time import flow_through_time

    with pytest.raises(TypeError, match="expected an nn.RNNCell or nn.LSTMCell"):
        flow_through_time(nn.Linear(2, 2), np.ones((3, 1, 2)), np.ones((1, 2)))
    with pytest.raises(ValueError, match=r"xs must have shape \(T, N, 2\)"):
        flow_through_time(nn.RNNCell(2, 2), np.ones((3, 2)), np.ones((1, 2)))
