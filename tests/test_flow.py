"""Tests for minigrad.flow (per-layer gradient flow) and its pictures (viz.layers, viz.plots).

The reference is an independent numpy computation of Nielsen's deltas for the same weights and
batch: delta^L = a - y (cross-entropy, sigmoid outputs) or (a - y) sigma'(z^L) (quadratic),
delta^l = (W^{l+1})^T delta^{l+1} * sigma'(z^l), averaged over the batch. The book's settings
are checked against the numbers in minigrad.reference (the book's measurement, and the same
measurement over 1,000 initialisations).
"""

from __future__ import annotations

import csv
import html
import json
import math
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad.tensor
from minigrad import Tensor, nn, reference
from minigrad.data import load_mnist
from minigrad.flow import (
    FlowRecorder,
    FlowReport,
    gradient_flow,
    linear_layers,
)
from minigrad.optim import SGD
from minigrad.train import fit, speed_of_learning_curves
from minigrad.viz import plot_curves, plot_speeds

BOOK_NETS = ([784, 30, 30, 10], [784, 30, 30, 30, 10], [784, 30, 30, 30, 30, 10])
# minigrad.reference.SEED_RATIO_RANGE: the last/first ratio over 1,000 initialisations (1st-99th
# percentile); SEED_MEDIANS: the per-layer medians of s_l over those initialisations
SEED_RATIO_RANGES = reference.SEED_RATIO_RANGE.value
SEED_MEDIANS = reference.SEED_MEDIANS.value


@pytest.fixture(scope="module")
def book_batch() -> tuple[np.ndarray, np.ndarray]:
    """The first 1,000 training images of the shipped sample and their labels."""
    mnist = load_mnist()
    return mnist.x_train[:1000], mnist.y_train[:1000]


# ---- the independent numpy reference --------------------------------------------------------
def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # no overflow warning however large |z|


NUMPY_ACTIVATIONS = {  # name -> (sigma, sigma')
    "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * (1.0 - _sigmoid(z))),
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(float)),
}


def numpy_flow(weights: list[np.ndarray], biases: list[np.ndarray], x: np.ndarray,
               y: np.ndarray, activation: str, loss: str) -> dict[str, list[float]]:
    """Nielsen's backpropagation in plain numpy: per-layer speeds, ||dW|| and activation stats."""
    sigma, dsigma = NUMPY_ACTIVATIONS[activation]
    a, zs, activations = x, [], [x]
    for w, b in zip(weights, biases):
        z = a @ w.T + b  # (N, n_out)
        a = sigma(z)
        zs.append(z)
        activations.append(a)
    if loss == "cross_entropy":
        delta = activations[-1] - y  # (N, n_out), per example
    else:
        delta = (activations[-1] - y) * dsigma(zs[-1])
    deltas = [delta]
    for w, z in zip(reversed(weights[1:]), reversed(zs[:-1])):
        delta = (delta @ w) * dsigma(z)
        deltas.insert(0, delta)
    n = len(x)
    return {
        "speed": [float(np.linalg.norm(d.mean(axis=0))) for d in deltas],
        "dw": [float(np.linalg.norm(d.T @ a_in / n)) for d, a_in in zip(deltas, activations)],
        "act_mean": [float(a.mean()) for a in activations[1:]],
        "act_std": [float(a.std()) for a in activations[1:]],
        "mean_dsigma": [float(dsigma(z).mean()) for z in zs],
        "grad_data": [float((d.T @ a_in / n).std() / w.std()) if w.std() > 0 else None
                      for d, a_in, w in zip(deltas, activations, weights)],
    }


def _weights(model: nn.Module) -> tuple[list[np.ndarray], list[np.ndarray]]:
    layers = [linear for _, linear in linear_layers(model)]
    return [m.weight.data.copy() for m in layers], [m.bias.data.copy() for m in layers]


def _one_hot(labels: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((len(labels), n))
    out[np.arange(len(labels)), labels] = 1.0
    return out


CASES = [("sigmoid", "cross_entropy"), ("sigmoid", "quadratic"), ("tanh", "quadratic"),
         ("relu", "quadratic")]


@given(sizes=st.lists(st.integers(1, 6), min_size=2, max_size=6),
       batch=st.integers(1, 5), seed=st.integers(0, 2**16), case=st.sampled_from(CASES))
def test_flow_equals_numpy_backprop(sizes: list[int], batch: int, seed: int,
                                    case: tuple[str, str]) -> None:
    """Speeds, ||dW||, gains, activation stats and ratios equal the numpy deltas."""
    activation, loss = case
    rng = np.random.default_rng(seed)
    model = nn.mlp(sizes, activation=activation, init="nielsen", seed=seed)
    x = rng.standard_normal((batch, sizes[0]))
    labels = rng.integers(0, sizes[-1], batch)
    report = gradient_flow(model, x, labels, loss=loss, lr=0.5)
    weights, biases = _weights(model)
    expected = numpy_flow(weights, biases, x, _one_hot(labels, sizes[-1]), activation, loss)

    assert len(report.layers) == len(sizes) - 1
    close = {"rtol": 1e-9, "atol": 1e-15}
    np.testing.assert_allclose(report.speeds, expected["speed"], **close)
    np.testing.assert_allclose([r.weight_grad_norm for r in report.layers], expected["dw"],
                               **close)
    np.testing.assert_allclose([r.act_mean for r in report.layers], expected["act_mean"], **close)
    np.testing.assert_allclose([r.act_std for r in report.layers], expected["act_std"], **close)
    np.testing.assert_allclose([r.mean_dsigma for r in report.layers], expected["mean_dsigma"],
                               **close)
    for row, grad_data in zip(report.layers, expected["grad_data"]):
        if grad_data is None:  # one weight: std(W) = 0, the ratio is undefined
            assert row.grad_data is None
        else:
            assert row.grad_data == pytest.approx(grad_data, rel=1e-9, abs=1e-15)
    for i, row in enumerate(report.layers):
        assert row.index == i + 1 and row.activation == activation
        assert row.role == ("output" if i == len(sizes) - 2 else f"hidden {i + 1}")
        if i + 1 < len(report.layers) and expected["speed"][i + 1] > 0:
            # the gain: s_l / s_(l+1), after / before on the way down (docs/glossary.md)
            assert row.gain == pytest.approx(expected["speed"][i] / expected["speed"][i + 1],
                                             rel=1e-9)
        if expected["dw"][i] > 0:
            ratio = 0.5 * expected["dw"][i] / np.linalg.norm(weights[i])
            assert row.update_data == pytest.approx(math.log10(ratio), abs=1e-12)
    assert report.layers[-1].gain is None


def test_saturation_fractions_follow_the_documented_thresholds() -> None:
    """sigmoid: a < 0.01 or a > 0.99; tanh: |a| > 0.99; relu: a == 0."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((40, 6)) * 3.0
    labels = rng.integers(0, 3, 40)
    for activation in ("sigmoid", "tanh", "relu"):
        model = nn.mlp([6, 8, 3], activation=activation, init="large", seed=1)
        report = gradient_flow(model, x, labels, loss="quadratic")
        weights, biases = _weights(model)
        z = x @ weights[0].T + biases[0]
        a = NUMPY_ACTIVATIONS[activation][0](z)
        expected = {"sigmoid": ((a < 0.01) | (a > 0.99)).mean(),
                    "tanh": (np.abs(a) > 0.99).mean(), "relu": (a == 0).mean()}[activation]
        assert 0 < expected < 1  # the draw exercises the threshold
        assert report.layers[0].saturation == pytest.approx(expected, abs=1e-15)


def test_residual_block_follows_both_paths() -> None:
    """Inside a Residual the delta is the identity path's plus the block's (numpy reference)."""
    rng = np.random.default_rng(7)
    model = nn.Sequential(nn.Linear(4, 5, rng=rng), nn.Sigmoid(),
                          nn.Residual(nn.Sequential(nn.Linear(5, 5, rng=rng), nn.Sigmoid())),
                          nn.Linear(5, 3, rng=rng), nn.Sigmoid())
    x = rng.standard_normal((6, 4))
    y = _one_hot(rng.integers(0, 3, 6), 3)
    report = gradient_flow(model, x, y)
    (w1, w2, w3), (b1, b2, b3) = _weights(model)
    dsigma = NUMPY_ACTIVATIONS["sigmoid"][1]
    z1 = x @ w1.T + b1
    h = _sigmoid(z1)
    z2 = h @ w2.T + b2
    out = h + _sigmoid(z2)
    z3 = out @ w3.T + b3
    delta3 = _sigmoid(z3) - y
    d_out = delta3 @ w3
    delta2 = d_out * dsigma(z2)
    delta1 = (d_out + delta2 @ w2) * dsigma(z1)
    expected = [np.linalg.norm(d.mean(axis=0)) for d in (delta1, delta2, delta3)]
    np.testing.assert_allclose(report.speeds, expected, rtol=1e-12)
    assert [r.residual for r in report.layers] == [False, True, False]
    assert [r.name for r in report.layers] == ["layers.0", "layers.2.inner.layers.0", "layers.3"]


def test_targets_and_inputs_may_be_tensors_or_one_hot(book_batch: tuple) -> None:
    x, labels = book_batch[0][:50], book_batch[1][:50]
    model = nn.mlp([784, 10, 10], seed=2)
    plain = gradient_flow(model, x, labels)
    for xs, ys in ((Tensor(x), Tensor(_one_hot(labels, 10))), (x, _one_hot(labels, 10)),
                   (Tensor(x, requires_grad=True), labels)):
        assert gradient_flow(model, xs, ys).speeds == pytest.approx(plain.speeds, rel=1e-12)


def test_float32_model_gets_float32_inputs(book_batch: tuple) -> None:
    x, labels = book_batch[0][:100], book_batch[1][:100]
    wide = gradient_flow(nn.mlp([784, 10, 10, 10], seed=4), x, labels)
    narrow = gradient_flow(nn.mlp([784, 10, 10, 10], seed=4, dtype=np.float32), x, labels)
    np.testing.assert_allclose(narrow.speeds, wide.speeds, rtol=1e-4)


# ---- the user's model is left as it was -----------------------------------------------------
def test_user_gradients_and_weights_are_not_disturbed() -> None:
    rng = np.random.default_rng(0)
    model = nn.mlp([5, 4, 4, 3], seed=0)
    params = model.parameters()
    sentinels = [rng.standard_normal(p.shape) if i % 3 else None for i, p in enumerate(params)]
    for p, grad in zip(params, sentinels):
        p.grad = grad
    before = [p.data.copy() for p in params]
    copies = [None if g is None else g.copy() for g in sentinels]
    gradient_flow(model, rng.standard_normal((8, 5)), rng.integers(0, 3, 8), lr=0.1)
    for p, grad, copy, data in zip(params, sentinels, copies, before):
        assert p.grad is grad
        if grad is not None:
            np.testing.assert_array_equal(p.grad, copy)
        np.testing.assert_array_equal(p.data, data)


def test_gradients_are_restored_even_when_the_loss_fails() -> None:
    model = nn.mlp([3, 2], seed=0)
    sentinel = np.ones((2, 3))
    model.layers[0].weight.grad = sentinel
    with pytest.raises(ValueError, match="label 7"):
        gradient_flow(model, np.zeros((2, 3)), np.array([0, 7]))
    assert model.layers[0].weight.grad is sentinel


def _count_backward(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the engine's backward passes started through Tensor.backward."""
    calls = [0]
    engine_backward = minigrad.tensor.backward

    def counting(*args: object, **kwargs: object) -> None:
        calls[0] += 1
        engine_backward(*args, **kwargs)

    monkeypatch.setattr(minigrad.tensor, "backward", counting)
    return calls


def test_one_backward_pass_per_measurement(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1)
    x, labels = rng.standard_normal((20, 6)), rng.integers(0, 3, 20)
    calls = _count_backward(monkeypatch)
    gradient_flow(nn.mlp([6, 5, 5, 3], seed=1), x, labels)
    assert calls[0] == 1
    speed_of_learning_curves(nn.mlp([6, 5, 5, 3], seed=1), x, labels, epochs=4)
    assert calls[0] == 1 + 4


def test_any_module_is_measured_by_its_linear_calls() -> None:
    """A user's Module with its own parameters and activations called as methods: the Linear
    calls are found in the graph; a Linear called twice gives a row per call."""

    class Scale(nn.Module):
        def __init__(self) -> None:
            self.factor = Tensor(np.full(4, 0.5), requires_grad=True)

        def forward(self, a: Tensor) -> Tensor:
            return a * self.factor

    class Net(nn.Module):
        def __init__(self) -> None:
            rng = np.random.default_rng(3)
            self.first, self.tied = nn.Linear(3, 4, rng=rng), nn.Linear(4, 4, rng=rng)
            self.scale, self.out = Scale(), nn.Linear(4, 2, rng=rng)

        def forward(self, a: Tensor) -> Tensor:
            a = self.scale(self.first(a).tanh())
            a = self.tied(self.tied(a).sigmoid()).sigmoid()  # one Linear, two calls
            return self.out(a).sigmoid()

    model = Net()
    rng = np.random.default_rng(0)
    x, labels = rng.standard_normal((5, 3)), rng.integers(0, 2, 5)
    report = gradient_flow(model, x, labels)
    assert [row.name for row in report.layers] == ["first", "tied", "tied (call 2)", "out"]
    assert [row.activation for row in report.layers] == ["tanh", "sigmoid", "sigmoid", "sigmoid"]
    # numpy: the same forward and Nielsen's deltas, call by call
    w1, w2, w3 = model.first.weight.data, model.tied.weight.data, model.out.weight.data
    b1, b2, b3 = model.first.bias.data, model.tied.bias.data, model.out.bias.data
    z1 = x @ w1.T + b1
    a1 = np.tanh(z1) * 0.5
    z2 = a1 @ w2.T + b2
    a2 = _sigmoid(z2)
    z3 = a2 @ w2.T + b2
    a3 = _sigmoid(z3)
    z4 = a3 @ w3.T + b3
    d4 = (_sigmoid(z4) - _one_hot(labels, 2)) / 5
    d3 = (d4 @ w3) * a3 * (1 - a3)
    d2 = (d3 @ w2) * a2 * (1 - a2)
    d1 = (d2 @ w2) * 0.5 * (1 - np.tanh(z1) ** 2)
    deltas, inputs = [d1, d2, d3, d4], [x, a1, a2, a3]
    np.testing.assert_allclose(report.speeds, [np.linalg.norm(d.sum(0)) for d in deltas],
                               rtol=1e-12)
    np.testing.assert_allclose([r.weight_grad_norm for r in report.layers],
                               [np.linalg.norm(d.T @ a) for d, a in zip(deltas, inputs)],
                               rtol=1e-12)


def test_bad_arguments_are_named() -> None:
    model = nn.mlp([3, 2], seed=0)
    x, y = np.zeros((4, 3)), np.zeros(4, dtype=int)
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        gradient_flow(model, x, y, loss="hinge")
    with pytest.raises(ValueError, match="x has 4 examples but y has 3"):
        gradient_flow(model, x, y[:3])
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        gradient_flow(model, x[0], y[:1])
    with pytest.raises(TypeError, match="no Linear layer"):
        gradient_flow(nn.Sequential(nn.Sigmoid()), x, y)

    class Scale(nn.Module):
        def __init__(self) -> None:
            self.factor = Tensor(np.ones(2), requires_grad=True)

        def forward(self, a: Tensor) -> Tensor:
            return a * self.factor

    class Unused(nn.Module):  # has a Linear, but its forward never calls it
        def __init__(self) -> None:
            self.linear = nn.Linear(3, 2)

        def forward(self, a: Tensor) -> Tensor:
            return a[:, :2].sigmoid()

    with pytest.raises(TypeError, match="output of Unused does not depend on any of its Linear"):
        gradient_flow(Unused(), x, y)
    with pytest.raises(ValueError, match="every must be"):
        FlowRecorder(x, y, every=0)


# ---- the book's settings (minigrad.reference) -----------------------------------------------
@pytest.mark.parametrize("sizes", BOOK_NETS, ids=lambda s: f"{len(s) - 2}hidden")
def test_book_nets_learn_faster_toward_the_output(sizes: list[int], book_batch: tuple) -> None:
    """Seed 0: speeds increase layer by layer; last/first within the reference range."""
    report = gradient_flow(nn.mlp(sizes, init="nielsen", seed=0), *book_batch)
    hidden = report.hidden_speeds
    assert all(upper > lower for lower, upper in zip(hidden, hidden[1:]))
    assert report.speeds[-1] > hidden[-1]
    low, high = SEED_RATIO_RANGES[len(hidden)]
    assert low <= report.last_over_first <= high
    assert report.batch_size == 1000 and report.loss == "cross_entropy"


def test_book_nets_over_seeds_match_the_reference_medians(book_batch: tuple) -> None:
    """20 seeds: every draw increases toward the output; per-layer medians near the book's."""
    adjacent: list[float] = []
    for sizes in BOOK_NETS:
        n_hidden = len(sizes) - 2
        runs = []
        for seed in range(20):
            hidden = gradient_flow(nn.mlp(sizes, seed=seed), *book_batch).hidden_speeds
            assert all(upper > lower for lower, upper in zip(hidden, hidden[1:])), seed
            adjacent += [upper / lower for lower, upper in zip(hidden, hidden[1:])]
            runs.append(hidden)
        medians = np.median(np.array(runs), axis=0)
        expected = np.array(SEED_MEDIANS[n_hidden])
        assert np.all(np.abs(np.log10(medians / expected)) < 0.3), (medians, expected)
    # 20 seeds, not 1,000: a band around reference.ADJACENT_RATIO_MEDIAN, 4.9
    assert 3.5 <= float(np.median(adjacent)) <= 6.5


def test_verdict_of_the_first_hidden_layer_names_its_ratio(book_batch: tuple) -> None:
    report = gradient_flow(nn.mlp(BOOK_NETS[2], seed=0), *book_batch)
    ratio = report.last_over_first
    assert f"learns {ratio:.0f}x slower than the last hidden layer" in report.layers[0].verdict
    assert report.layers[3].verdict.startswith("last hidden layer")
    assert report.layers[-1].verdict.startswith("output layer")
    assert f"learns {ratio:.0f}x slower than the last" in report.summary()


def test_exploding_chain_verdict_says_the_gradient_grows() -> None:
    """The book's construction: w = 100, b_j = -100 a_{j-1}, every z = 0, every factor 25."""
    x = np.array([[0.3]])
    layers, a = [], 0.3
    for _ in range(4):
        linear = nn.Linear(1, 1)
        linear.weight.data[:] = 100.0
        linear.bias.data[:] = -100.0 * a
        layers += [linear, nn.Sigmoid()]
        a = 0.5  # sigma(0)
    report = gradient_flow(nn.Sequential(*layers), x, np.array([[1.0]]))
    for row in report.layers[:-2]:  # hidden 1, 2: w sigma'(z) = 25 on the way down
        assert row.gain == pytest.approx(25, rel=1e-12)
    assert report.layers[0].speed / report.layers[2].speed == pytest.approx(625, rel=1e-12)
    assert "learns 625x faster than the last hidden layer" in report.layers[0].verdict
    assert "gradient grows x25 from layer 2" in report.layers[0].verdict
    assert "the gradient grows x25 per layer" in report.summary()


def test_saturated_and_dead_layers_are_named(book_batch: tuple) -> None:
    report = gradient_flow(nn.mlp([784, 30, 30, 10], init="large", seed=0), *book_batch)
    first = report.layers[0]
    assert first.saturation >= 0.5
    assert f"saturated: {first.saturation:.0%} of activations" in first.verdict

    dead = nn.Linear(4, 3, init="he", rng=1)
    dead.bias.data[:] = -100.0  # every z < 0: relu outputs 0, no gradient passes
    model = nn.Sequential(nn.Linear(5, 4, init="he", rng=0), nn.ReLU(), dead, nn.ReLU(),
                          nn.Linear(3, 2, rng=2), nn.Sigmoid())
    rng = np.random.default_rng(0)
    report = gradient_flow(model, rng.standard_normal((6, 5)), rng.integers(0, 2, 6))
    assert report.layers[1].saturation == 1.0
    assert report.layers[1].verdict == "no gradient reaches this layer"
    assert report.layers[0].speed == 0.0 and report.layers[0].gain is None
    assert report.last_over_first is None
    assert "no gradient reaches the first hidden layer" in report.summary()

    from minigrad.viz.layers import draw_layers  # the pictures cope with zero speeds

    source = draw_layers(report).source
    assert "speed s = 0\n" in source and "zero (dead) 100%" in source
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = plot_speeds(report)
    assert np.isnan(ax.patches[0].get_height())  # no bar for a zero on the log axis
    plt.close("all")


def test_nets_with_one_hidden_layer_or_none() -> None:
    rng = np.random.default_rng(0)
    x, labels = rng.random((5, 4)), rng.integers(0, 2, 5)
    one = gradient_flow(nn.mlp([4, 3, 2], seed=0), x, labels)
    assert one.last_over_first is None and one.layers[0].verdict.startswith("the only hidden")
    assert one.summary() == "one hidden layer: nothing to compare"
    none = gradient_flow(nn.mlp([4, 2], seed=0), x, labels)
    assert none.hidden_speeds == [] and none.layers[0].role == "output"
    assert none.summary() == "no hidden layer: nothing to compare"


# ---- the table, CSV and JSON ----------------------------------------------------------------
@pytest.fixture(scope="module")
def book_report(book_batch: tuple) -> FlowReport:
    return gradient_flow(nn.mlp(BOOK_NETS[2], seed=0), *book_batch, lr=0.1)


def test_table_has_one_line_per_layer_with_its_speed(book_report: FlowReport) -> None:
    lines = book_report.table().splitlines()
    for row in book_report.layers:
        matching = [line for line in lines if line.startswith(row.role + " ")]
        assert len(matching) == 1, row.role
        numbers = [float(n) for n in re.findall(r"(?<![\w.^-])-?\d+\.?\d*(?:e-?\d+)?",
                                                matching[0])]
        assert any(n == pytest.approx(row.speed, rel=5e-4) for n in numbers), matching[0]
        verdicts = [line for line in lines if line.strip().startswith(row.role + " ")
                    and line.endswith(row.verdict)]
        assert len(verdicts) == 1, (row.role, row.verdict)  # the verdict: on a line of its own
    assert lines[-1] == book_report.summary()


def test_csv_round_trip(book_report: FlowReport, tmp_path: Path) -> None:
    path = book_report.to_csv(tmp_path / "out" / "flow.csv")
    assert FlowReport.from_csv(path).layers == book_report.layers
    with path.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert [float(r["speed"]) for r in rows] == book_report.speeds


def test_json_round_trip(book_report: FlowReport, tmp_path: Path) -> None:
    text = book_report.to_json(tmp_path / "flow.json")
    assert json.loads(text)["speeds"] == book_report.speeds
    assert FlowReport.from_json(tmp_path / "flow.json") == book_report
    assert FlowReport.from_dict(book_report.to_dict()) == book_report


# ---- pictures -------------------------------------------------------------------------------
def test_draw_layers_shows_every_speed_and_gain(book_report: FlowReport) -> None:
    from minigrad.flow import gain_label
    from minigrad.viz.labels import edge_label
    from minigrad.viz.layers import draw_layers

    source = draw_layers(book_report).source
    for row in book_report.layers:
        assert f"speed s = {row.speed:.3g}" in source
        assert f"saturated {row.saturation:.0%}" in source
    for row in book_report.layers[:-1]:  # each gain beside its edge (labels.edge_label)
        assert f'label="{edge_label(gain_label(row.gain), "BT")}"' in source, gain_label(row.gain)
    assert f"last hidden / first hidden = {book_report.last_over_first:.3g}x" in source
    assert "label=<" not in source  # no HTML-like labels: the in-process renderer can't
    assert source.count("->") == len(book_report.layers)  # input -> 1 -> ... -> L


def test_draw_layers_renders_svg_without_system_graphviz(
        book_report: FlowReport, no_dot: None, tmp_path: Path) -> None:
    from minigrad.viz.layers import draw_layers
    from minigrad.viz.render import save, which_renderer

    assert which_renderer() == "in-process"
    svg = html.unescape(save(draw_layers(book_report), tmp_path / "layers.svg").read_text())
    for row in book_report.layers:
        assert f"speed s = {row.speed:.3g}" in svg
    assert "hidden 1: 784 → 30, sigmoid" in svg


def test_plots_draw_with_agg(book_report: FlowReport, tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from minigrad.viz.plots import save_figure

    ax = plot_speeds(book_report)
    assert ax.get_yscale() == "log"
    assert len(ax.patches) == len(book_report.layers)
    assert [p.get_height() for p in ax.patches] == pytest.approx(book_report.speeds)
    path = save_figure(ax, tmp_path / "speeds.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    figure, own = plt.subplots()
    assert plot_speeds(book_report, ax=own) is own
    plt.close(figure)
    assert not plt.get_fignums()


# ---- the recorder ---------------------------------------------------------------------------
def _small_training(seed: int = 0) -> tuple[nn.Module, SGD, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    model = nn.mlp([12, 6, 6, 4], seed=seed)
    x, labels = rng.random((40, 12)), rng.integers(0, 4, 40)
    return model, SGD(model.parameters(), lr=0.3), x, labels


def test_recorder_callbacks_record_flow_and_update_data() -> None:
    """Calling the callback methods by hand: measurements, update:data of the real steps."""
    model, optimizer, x, labels = _small_training()
    recorder = FlowRecorder(x[:20], labels[:20], every="epoch", weight_norm_every=1)
    recorder.on_train_begin(model, optimizer)
    assert recorder.lr == 0.3  # taken from the optimiser
    expected = []
    for step in range(5):
        batch = slice(4 * step, 4 * step + 4)
        loss = nn.cross_entropy_loss(model(x[batch]), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        grads = [p.grad for p in model.parameters()]
        expected.append([math.log10(0.3 * np.linalg.norm(m.weight.grad)
                                    / np.linalg.norm(m.weight.data))
                         for _, m in linear_layers(model)])
        recorder.after_backward(step, model, loss, optimizer)
        optimizer.step()
        recorder.after_step(step, model, optimizer)
        assert [p.grad for p in model.parameters()] == grads  # untouched (same objects)
    reference = gradient_flow(model, x[:20], labels[:20], lr=0.3)
    recorder.on_epoch_end(0, model, {})
    assert recorder.epochs == [0, 1] and recorder.steps == [0, 5]
    assert recorder.train_update_data[0] == [None, None, None]
    np.testing.assert_allclose(recorder.train_update_data[1], np.mean(expected, axis=0),
                               rtol=1e-12)
    assert recorder.reports[1] == reference
    assert recorder.speeds.shape == (2, 3)
    np.testing.assert_array_equal(recorder.hidden_speeds, recorder.speeds[:, :2])


def test_recorder_stale_weight_norm_is_documented_small() -> None:
    """Refreshing ||W|| every 10 steps changes update:data by far less than 0.01 (log10)."""
    logs = []
    for every in (1, 10):
        model, optimizer, x, labels = _small_training(seed=5)
        recorder = FlowRecorder(x, labels, weight_norm_every=every)
        recorder.on_train_begin(model, optimizer)
        for step in range(40):
            loss = nn.cross_entropy_loss(model(x[step:step + 1]), labels[step:step + 1])
            optimizer.zero_grad()
            loss.backward()
            recorder.after_backward(step, model, loss, optimizer)
            optimizer.step()
            recorder.after_step(step, model, optimizer)
        recorder.on_epoch_end(0, model, {})
        logs.append(np.array(recorder.train_update_data[-1]))
    assert np.all(np.abs(logs[0] - logs[1]) < 0.01)
    assert np.all(logs[0] != logs[1])  # the refresh interval really was in effect


def test_recorder_every_k_steps_with_fit(book_batch: tuple) -> None:
    x, labels = book_batch
    data = SimpleNamespace(x_train=x[:200], y_train=labels[:200], x_test=x[200:300],
                           y_test=labels[200:300])
    per_epoch = FlowRecorder(x[:100], labels[:100])
    per_steps = FlowRecorder(x[:100], labels[:100], every=7)
    model = nn.mlp([784, 10, 10, 10], seed=3)
    fit(model, data, epochs=2, batch_size=10, lr=0.1, callbacks=[per_epoch, per_steps],
              progress=False)
    assert per_epoch.epochs == [0, 1, 2] and per_epoch.steps == [0, 20, 40]
    assert per_steps.steps == [0, 7, 14, 21, 28, 35]
    assert per_epoch.speeds.shape == (3, 3)
    assert all(v is not None and -8 < v < 0 for record in per_epoch.train_update_data[1:]
               for v in record)
    assert per_epoch.reports[-1] == gradient_flow(model, x[:100], labels[:100], lr=0.1)

    # The recorder must not change the training: the same run without it ends identically.
    plain = nn.mlp([784, 10, 10, 10], seed=3)
    fit(plain, data, epochs=2, batch_size=10, lr=0.1, progress=False)
    for p, q in zip(model.parameters(), plain.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_recorder_csv_and_plot(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    x, labels = rng.random((30, 8)), rng.integers(0, 3, 30)
    history = speed_of_learning_curves(nn.mlp([8, 5, 5, 5, 3], seed=0), x, labels, epochs=6)
    path = history.to_csv(tmp_path / "curves.csv")
    with path.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 6 * 4
    assert [float(r["speed"]) for r in rows] == history.speeds.ravel().tolist()
    assert [int(r["epoch"]) for r in rows[::4]] == list(range(6))
    ax = plot_curves(history)
    assert ax.get_yscale() == "log" and len(ax.lines) == 3
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), history.hidden_speeds[:, 0])
    plt.close("all")


# ---- the book's speed-of-learning curves ----------------------------------------------------
def test_curves_are_full_batch_sgd_with_l2_on_weights() -> None:
    """Each epoch: s_l of the current weights, then w <- (1 - eta lambda/n) w - eta dw."""
    rng = np.random.default_rng(2)
    x, labels = rng.random((25, 7)), rng.integers(0, 3, 25)
    model, twin = nn.mlp([7, 5, 4, 3], seed=9), nn.mlp([7, 5, 4, 3], seed=9)
    history = speed_of_learning_curves(model, x, labels, epochs=5, lr=0.4, weight_decay=2.0)
    speeds = []
    for _ in range(5):
        twin.zero_grad()
        nn.cross_entropy_loss(twin(x), labels).backward()
        speeds.append([np.linalg.norm(m.bias.grad) for _, m in linear_layers(twin)])
        for _, m in linear_layers(twin):
            m.weight.data = (1 - 0.4 * 2.0 / 25) * m.weight.data - 0.4 * m.weight.grad
            m.bias.data = m.bias.data - 0.4 * m.bias.grad
    np.testing.assert_allclose(history.speeds, speeds, rtol=1e-12)
    for p, q in zip(model.parameters(), twin.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-12, atol=1e-15)
        assert p.grad is None
    assert history.epochs == list(range(5))


@pytest.mark.slow
def test_two_hidden_layers_dip_then_rebound(book_batch: tuple) -> None:
    """reference.CURVE_MINIMUM_EPOCHS: both curves reach a minimum around epochs 25-100, then
    rebound several-fold."""
    history = speed_of_learning_curves(nn.mlp(BOOK_NETS[0], seed=0), *book_batch, epochs=500)
    hidden = history.hidden_speeds
    assert hidden.shape == (500, 2)
    for j in range(2):
        lowest = int(hidden[:, j].argmin())
        first, last = reference.CURVE_MINIMUM_EPOCHS.value
        assert first <= lowest <= last, lowest
        assert hidden[lowest:, j].max() >= 3.0 * hidden[lowest, j]
        assert hidden[0, j] > 10 * hidden[lowest, j]


@pytest.mark.slow
def test_four_hidden_layers_keep_their_spread(book_batch: tuple) -> None:
    """reference.CURVE_RATIO_RANGE: with 4 hidden layers last/first stays within roughly
    40x-210x."""
    history = speed_of_learning_curves(nn.mlp(BOOK_NETS[2], seed=0), *book_batch, epochs=500)
    ratio = history.hidden_speeds[:, -1] / history.hidden_speeds[:, 0]
    low, high = reference.CURVE_RATIO_RANGE.value
    assert low <= ratio.min() and ratio.max() <= high


# ---- the review's edge cases ----------------------------------------------------------------
def test_an_activation_outside_the_table_is_named_not_taken_for_identity() -> None:
    class Exp(nn.Module):
        def forward(self, z: Tensor) -> Tensor:
            return z.exp()

    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(3, 4, rng=rng), Exp(), nn.Linear(4, 2, rng=rng),
                          nn.Sigmoid())
    x = rng.standard_normal((5, 3)) * 0.1
    report = gradient_flow(model, x, rng.integers(0, 2, 5))
    first = report.layers[0]
    z = x @ model[0].weight.data.T + model[0].bias.data
    assert first.activation == "exp" and first.saturation is None
    assert first.mean_dsigma == pytest.approx(np.exp(z).mean(), rel=1e-12)  # d e^z/dz = e^z
    assert "mean exp′(z)" in __import__("minigrad.viz", fromlist=["x"]).draw_layers(report).source


def test_a_model_that_is_a_residual_block_marks_its_layers_residual() -> None:
    model = nn.Residual(nn.Sequential(nn.Linear(3, 3, rng=0), nn.Sigmoid()))
    report = gradient_flow(model, np.ones((2, 3)), np.ones((2, 3)) * 0.5, loss="quadratic")
    assert [row.residual for row in report.layers] == [True]


def test_a_frozen_layer_is_measured_and_said_to_be_frozen() -> None:
    model = nn.mlp([5, 4, 4, 2], seed=0)
    for p in (model[0].weight, model[0].bias):
        p.requires_grad = False
    rng = np.random.default_rng(1)
    x, labels = rng.random((6, 5)), rng.integers(0, 2, 6)
    report = gradient_flow(model, x, labels, lr=0.1)
    first = report.layers[0]
    assert first.frozen and not report.layers[1].frozen
    assert first.verdict.startswith("frozen: its weights need no gradient, it does not learn")
    assert first.update_data is None and report.layers[1].update_data is not None
    # its speed is the bias gradient it would get (numpy: delta^1 summed over the batch)
    twin = nn.mlp([5, 4, 4, 2], seed=0)
    nn.cross_entropy_loss(twin(x), labels).backward()
    assert first.speed == pytest.approx(np.linalg.norm(twin[0].bias.grad), rel=1e-12)
    assert model[0].weight.grad is None  # the frozen weight got no gradient


def test_keep_gradients_leaves_the_batch_gradients_in_the_parameters() -> None:
    model = nn.mlp([4, 3, 2], seed=0)
    x, labels = np.ones((3, 4)), np.array([0, 1, 1])
    gradient_flow(model, x, labels)
    assert all(p.grad is None for p in model.parameters())
    report = gradient_flow(model, x, labels, keep_gradients=True)
    assert np.linalg.norm(model[0].bias.grad) == pytest.approx(report.speeds[0], rel=1e-12)


def test_no_gradient_at_the_last_hidden_layer_is_said_not_divided_by() -> None:
    """A dead ReLU block on the identity path: the last hidden layer gets nothing, a lower one
    does (it used to be a ZeroDivisionError)."""
    dead = nn.Linear(3, 3, rng=1)
    dead.bias.data[:] = -100.0
    model = nn.Sequential(nn.Linear(3, 3, rng=0), nn.ReLU(),
                          nn.Residual(nn.Sequential(dead, nn.ReLU())),
                          nn.Linear(3, 2, rng=2), nn.Sigmoid())
    rng = np.random.default_rng(0)
    report = gradient_flow(model, rng.standard_normal((4, 3)), rng.integers(0, 2, 4))
    assert report.layers[1].speed == 0 and report.layers[0].speed > 0
    assert "no gradient reaches the last hidden layer" in report.layers[0].verdict
    assert report.summary() == "no gradient reaches the last hidden layer"


def test_the_recorder_keeps_update_data_with_its_own_layer() -> None:
    """Linears defined in another order than they are called, one called twice."""

    class Net(nn.Module):
        def __init__(self) -> None:
            rng = np.random.default_rng(0)
            self.out, self.mid, self.inp = (nn.Linear(6, 3, rng=rng), nn.Linear(6, 6, rng=rng),
                                            nn.Linear(8, 6, rng=rng))

        def forward(self, a: Tensor) -> Tensor:
            a = self.mid(self.mid(self.inp(a).sigmoid()).sigmoid()).sigmoid()
            return self.out(a).sigmoid()

    model = Net()
    rng = np.random.default_rng(1)
    x, labels = rng.random((20, 8)), rng.integers(0, 3, 20)
    recorder = FlowRecorder(x, labels, every=2, weight_norm_every=1)
    fit(model, SimpleNamespace(x_train=x, y_train=labels, x_test=x, y_test=labels), epochs=1,
        batch_size=5, lr=0.3, callbacks=[recorder], progress=False)
    rows = recorder.reports[1].layers
    assert [row.name for row in rows] == ["inp", "mid", "mid (call 2)", "out"]
    measured = recorder.train_update_data[1]
    assert measured[1] == measured[2]  # one module, one figure for both of its calls
    # each row's training figure is of its own weight: close to its own update:data
    for row, train in zip(rows, measured):
        assert abs(train - row.update_data) < 1.0, (row.name, train, row.update_data)


def test_a_report_written_with_the_old_gain_reads_back_in_its_one_meaning(tmp_path) -> None:
    report = gradient_flow(nn.mlp([4, 3, 3, 2], seed=0), np.ones((2, 4)), np.array([0, 1]))
    data = report.to_dict()
    for row in data["layers"][:-1]:  # as the old code wrote it: s_(l+1)/s_l
        row["gain"] = 1 / row["gain"]
    assert FlowReport.from_dict(data).gains == report.gains


def test_a_row_of_another_engine_draws_without_the_table(book_report: FlowReport) -> None:
    """A row whose activation is not in the table and whose saturation is unknown."""
    from dataclasses import replace

    from minigrad.viz import draw_layers

    rows = [replace(row, activation="gelu", saturation=None) for row in book_report.layers]
    source = draw_layers(FlowReport(rows)).source
    assert "mean gelu′(z)" in source and "saturated" not in source.split("legend")[0]


def test_names_that_moved_say_where_they_went(book_report: FlowReport) -> None:
    import minigrad.flow

    with pytest.raises(AttributeError, match="from minigrad.train import speed_of_learning"):
        minigrad.flow.speed_of_learning_curves  # noqa: B018
    with pytest.raises(AttributeError, match="plot_speeds\\(report\\)"):
        book_report.plot()
    with pytest.raises(AttributeError, match="draw_layers\\(report\\)"):
        book_report.draw()
    with pytest.raises(AttributeError, match="plot_curves\\(recorder\\)"):
        FlowRecorder(np.ones((2, 3)), np.zeros(2, dtype=int)).plot()
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        book_report.nothing  # noqa: B018
    import copy
    import pickle

    assert copy.deepcopy(book_report) == book_report  # no __getattr__ surprises
    assert pickle.loads(pickle.dumps(book_report)) == book_report
