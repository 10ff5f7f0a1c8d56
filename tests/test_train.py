"""Tests for minigrad.train: fit (history, callbacks, progress bar, seeds), evaluate, predict,
and the accuracy bar of the issue: [784, 30, 10] reaches 90% on the shipped MNIST test split."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from minigrad import Tensor, data, is_grad_enabled, nn, optim
from minigrad.nn import LOSSES
from minigrad.train import History, evaluate, fit, predict


def _blobs(n_train: int = 40, n_test: int = 20, seed: int = 0) -> SimpleNamespace:
    """Two Gaussian blobs in 4-D (class 0 around -1, class 1 around +1): easy to separate."""
    rng = np.random.default_rng(seed)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, 2, n)
        x = rng.standard_normal((n, 4)) * 0.5 + np.where(y == 1, 1.0, -1.0)[:, None]
        return x, y

    (x_train, y_train), (x_test, y_test) = draw(n_train), draw(n_test)
    return SimpleNamespace(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


def _weights(model: nn.Module) -> list[np.ndarray]:
    return [p.data.copy() for p in model.parameters()]


# --- fit: history ----------------------------------------------------------------------------


def test_fit_history_shapes_and_learning() -> None:
    """One entry per epoch in every list; the loss falls and the blobs are learned."""
    model = nn.mlp([4, 3, 2])
    history = fit(model, _blobs(), epochs=5, batch_size=8, lr=1.0, progress=False)
    assert isinstance(history, History)
    assert history.epoch == [0, 1, 2, 3, 4]
    assert len(history.train_loss) == len(history.test_accuracy) == len(history.elapsed) == 5
    assert all(np.isfinite(history.train_loss))
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.test_accuracy[-1] >= 0.9
    assert all(0 <= a <= 1 for a in history.test_accuracy)
    assert all(e > 0 for e in history.elapsed) and history.elapsed == sorted(history.elapsed)


def test_fit_history_accuracy_is_evaluate() -> None:
    """The last recorded test accuracy is the trained model's accuracy on the test split (the
    fraction of argmax outputs equal to the label), which is also what evaluate() returns."""
    blobs = _blobs()
    model = nn.mlp([4, 3, 2])
    history = fit(model, blobs, epochs=2, batch_size=8, lr=0.1, progress=False)
    outputs = model(Tensor(blobs.x_test)).data  # an oracle that does not go through evaluate
    assert history.test_accuracy[-1] == np.mean(outputs.argmax(axis=1) == blobs.y_test)
    assert history.test_accuracy[-1] == evaluate(model, blobs.x_test, blobs.y_test)


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_fit_train_loss_is_the_named_loss(loss: str) -> None:
    """With one batch holding the whole training set, epoch 0's loss is the named loss of the
    untrained model on that set (the update comes after the loss is measured)."""
    blobs = _blobs()
    model = nn.mlp([4, 3, 2], seed=1)
    expected = LOSSES[loss](nn.mlp([4, 3, 2], seed=1)(blobs.x_train), blobs.y_train).item()
    history = fit(model, blobs, epochs=1, batch_size=len(blobs.y_train), lr=0.1, loss=loss,
                  progress=False)
    assert history.train_loss[0] == pytest.approx(expected, rel=1e-12)


def test_fit_train_loss_is_mean_per_example() -> None:
    """The epoch's loss weighs each batch by its size (the last batch here is smaller)."""
    blobs = _blobs(n_train=10)

    class Losses:
        def __init__(self) -> None:
            self.values: list[float] = []

        def after_backward(self, step: int, model: nn.Module, loss: Tensor, opt: Any) -> None:
            self.values.append(loss.item())

    record = Losses()
    history = fit(nn.mlp([4, 3, 2]), blobs, epochs=1, batch_size=4, lr=0.5, callbacks=[record],
                  progress=False)
    assert len(record.values) == 3  # batches of 4, 4 and 2
    expected = (4 * record.values[0] + 4 * record.values[1] + 2 * record.values[2]) / 10
    assert history.train_loss[0] == pytest.approx(expected, rel=1e-12)


def test_fit_accepts_one_hot_targets() -> None:
    """y as one-hot rows trains exactly as integer labels do."""
    blobs = _blobs()
    hot = SimpleNamespace(x_train=blobs.x_train, y_train=np.eye(2)[blobs.y_train],
                          x_test=blobs.x_test, y_test=np.eye(2)[blobs.y_test])
    a, b = nn.mlp([4, 3, 2]), nn.mlp([4, 3, 2])
    history_a = fit(a, blobs, epochs=2, batch_size=8, lr=0.5, progress=False)
    history_b = fit(b, hot, epochs=2, batch_size=8, lr=0.5, progress=False)
    assert history_a.train_loss == pytest.approx(history_b.train_loss, rel=1e-12)
    assert history_a.test_accuracy == history_b.test_accuracy


def test_fit_float32_model() -> None:
    """A float32 model trains in float32 (inputs are converted once, parameters stay float32)."""
    model = nn.mlp([4, 3, 2], dtype=np.float32)
    history = fit(model, _blobs(), epochs=2, batch_size=8, lr=0.5, progress=False)
    assert {p.dtype for p in model.parameters()} == {np.dtype(np.float32)}
    assert np.isfinite(history.train_loss).all()


# --- fit: the optimizer and weight decay -----------------------------------------------------


class _Grab:
    """Keeps the optimizer fit made."""

    optimizer: Any = None

    def on_train_begin(self, model: nn.Module, optimizer: Any) -> None:
        self.optimizer = optimizer


def test_fit_decays_weights_not_biases_by_default() -> None:
    """The default SGD has the book's two groups: weights decayed by weight_decay, biases not."""
    grab = _Grab()
    model = nn.mlp([4, 3, 2])
    fit(model, _blobs(), epochs=1, batch_size=8, lr=0.3, weight_decay=0.01, callbacks=[grab],
        progress=False)
    weights, biases = grab.optimizer.param_groups
    assert [id(p) for p in weights["params"]] == [id(m.weight) for m in model.layers[0::2]]
    assert [id(p) for p in biases["params"]] == [id(m.bias) for m in model.layers[0::2]]
    assert (weights["lr"], weights["weight_decay"]) == (0.3, 0.01)
    assert (biases["lr"], biases["weight_decay"]) == (0.3, 0.0)


def test_fit_decay_biases() -> None:
    """decay_biases=True: one group, every parameter decayed."""
    grab = _Grab()
    model = nn.mlp([4, 3, 2])
    fit(model, _blobs(), epochs=1, batch_size=8, lr=0.3, weight_decay=0.01, decay_biases=True,
        callbacks=[grab], progress=False)
    (group,) = grab.optimizer.param_groups
    assert [id(p) for p in group["params"]] == [id(p) for p in model.parameters()]
    assert group["weight_decay"] == 0.01


def test_fit_update_is_sgd_with_weight_decay() -> None:
    """Between after_backward and after_step each weight moves by -lr (g + wd w), each bias by
    -lr g: the update the book writes as w -> (1 - eta lambda/n) w - eta dC/dw."""
    lr, wd = 0.4, 0.05

    class Check:
        def __init__(self) -> None:
            self.steps = 0

        def after_backward(self, step: int, model: nn.Module, loss: Tensor, opt: Any) -> None:
            self.before = [(name, p.data.copy(), p.grad.copy())
                           for name, p in model.named_parameters()]

        def after_step(self, step: int, model: nn.Module, opt: Any) -> None:
            for (name, w, g), p in zip(self.before, model.parameters()):
                decay = wd if name.endswith("weight") else 0.0
                np.testing.assert_allclose(p.data, w - lr * (g + decay * w), rtol=1e-13,
                                           atol=1e-15, err_msg=name)
            self.steps += 1

    check = Check()
    fit(nn.mlp([4, 3, 2]), _blobs(), epochs=2, batch_size=8, lr=lr, weight_decay=wd,
        callbacks=[check], progress=False)
    assert check.steps == 10


def test_fit_with_a_given_optimizer() -> None:
    """optimizer= is used as given (and is what the callbacks receive)."""
    model = nn.mlp([4, 3, 2])
    sgd = optim.SGD(model.parameters(), lr=0.2)
    grab = _Grab()
    before = _weights(model)
    fit(model, _blobs(), epochs=1, batch_size=8, optimizer=sgd, callbacks=[grab], progress=False)
    assert grab.optimizer is sgd
    assert any(not np.array_equal(w, p.data) for w, p in zip(before, model.parameters()))


def test_fit_optimizer_and_lr_conflict() -> None:
    model = nn.mlp([4, 3, 2])
    sgd = optim.SGD(model.parameters(), lr=0.2)
    with pytest.raises(ValueError, match="optimizer="):
        fit(model, _blobs(), epochs=1, batch_size=8, lr=0.1, optimizer=sgd, progress=False)
    with pytest.raises(ValueError, match="lr="):
        fit(model, _blobs(), epochs=1, batch_size=8, progress=False)


# --- callbacks -------------------------------------------------------------------------------


class _Recorder:
    """Logs every callback event; checks gradients are present in after_backward."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def on_train_begin(self, model: nn.Module, optimizer: Any) -> None:
        self.events.append(("on_train_begin",))

    def on_epoch_begin(self, epoch: int, model: nn.Module) -> None:
        self.events.append(("on_epoch_begin", epoch))

    def after_backward(self, step: int, model: nn.Module, loss: Tensor, optimizer: Any) -> None:
        grads = [p.grad for p in model.parameters()]
        assert all(g is not None and np.isfinite(g).all() and g.any() for g in grads)
        assert loss.shape == () and np.isfinite(loss.item())
        self.events.append(("after_backward", step))

    def after_step(self, step: int, model: nn.Module, optimizer: Any) -> None:
        self.events.append(("after_step", step))

    def on_epoch_end(self, epoch: int, model: nn.Module, metrics: dict) -> None:
        self.events.append(("on_epoch_end", epoch, dict(metrics)))


def test_callbacks_called_in_order() -> None:
    """on_train_begin; then per epoch: on_epoch_begin, (after_backward, after_step) per batch
    with steps counted across epochs, on_epoch_end with that epoch's metrics."""
    recorder = _Recorder()
    history = fit(nn.mlp([4, 3, 2]), _blobs(n_train=10), epochs=2, batch_size=4, lr=0.5,
                  callbacks=[recorder], progress=False)
    names = [event[:2] for event in recorder.events]
    assert names == [
        ("on_train_begin",),
        ("on_epoch_begin", 0),
        ("after_backward", 0), ("after_step", 0), ("after_backward", 1), ("after_step", 1),
        ("after_backward", 2), ("after_step", 2),
        ("on_epoch_end", 0),
        ("on_epoch_begin", 1),
        ("after_backward", 3), ("after_step", 3), ("after_backward", 4), ("after_step", 4),
        ("after_backward", 5), ("after_step", 5),
        ("on_epoch_end", 1),
    ]
    ends = [event[2] for event in recorder.events if event[0] == "on_epoch_end"]
    for epoch, metrics in enumerate(ends):
        assert set(metrics) == {"epoch", "train_loss", "test_accuracy", "elapsed"}
        assert metrics["epoch"] == epoch
        assert metrics["train_loss"] == history.train_loss[epoch]
        assert metrics["test_accuracy"] == history.test_accuracy[epoch]


def test_callbacks_with_some_methods_and_several_callbacks() -> None:
    """Missing methods are skipped; several callbacks are called in the order given."""
    calls: list[str] = []

    class OnlyEnd:
        def __init__(self, name: str) -> None:
            self.name = name

        def on_epoch_end(self, epoch: int, model: nn.Module, metrics: dict) -> None:
            calls.append(f"{self.name}{epoch}")

    fit(nn.mlp([4, 3, 2]), _blobs(), epochs=2, batch_size=8, lr=0.1,
        callbacks=[OnlyEnd("a"), object(), OnlyEnd("b")], progress=False)
    assert calls == ["a0", "b0", "a1", "b1"]
    calls.clear()
    fit(nn.mlp([4, 3, 2]), _blobs(), epochs=2, batch_size=8, lr=0.1,
        callbacks=(OnlyEnd(name) for name in "ab"), progress=False)  # any iterable, read once
    assert calls == ["a0", "b0", "a1", "b1"]


def test_after_backward_sees_the_gradient_of_the_batch() -> None:
    """The gradients present in after_backward are those of this batch's loss alone (zeroed
    before backward, not accumulated over steps)."""

    class Compare:
        def __init__(self) -> None:
            self.checked = 0

        def after_backward(self, step: int, model: nn.Module, loss: Tensor, opt: Any) -> None:
            grads = [p.grad.copy() for p in model.parameters()]
            model.zero_grad()
            loss.backward()  # the same batch's loss again, from zeroed gradients
            for g, p in zip(grads, model.parameters()):
                np.testing.assert_allclose(g, p.grad, rtol=1e-14)
            self.checked += 1

    compare = Compare()
    fit(nn.mlp([4, 3, 2]), _blobs(), epochs=2, batch_size=8, lr=0.5, callbacks=[compare],
        progress=False)
    assert compare.checked == 10


# --- seeds -----------------------------------------------------------------------------------


def test_fit_reproducible_with_seed() -> None:
    """Same model seed and fit seed: identical histories and weights; another fit seed (a
    different batch order) gives other weights."""
    runs = []
    for seed in (3, 3, 4):
        model = nn.mlp([4, 3, 2], seed=1)
        history = fit(model, _blobs(), epochs=3, batch_size=8, lr=0.5, seed=seed,
                      progress=False)
        runs.append((history, _weights(model)))
    (h1, w1), (h2, w2), (_, w3) = runs
    assert h1.train_loss == h2.train_loss and h1.test_accuracy == h2.test_accuracy
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, c) for a, c in zip(w1, w3))


# --- progress bar ----------------------------------------------------------------------------


def test_progress_false_writes_nothing(capsys: pytest.CaptureFixture) -> None:
    fit(nn.mlp([4, 3, 2]), _blobs(), epochs=2, batch_size=8, lr=0.1, progress=False)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_progress_bar_shows_epochs_loss_and_accuracy(capsys: pytest.CaptureFixture) -> None:
    """The bar goes to stderr, one per epoch, ending with the epoch's loss and accuracy."""
    history = fit(nn.mlp([4, 3, 2]), _blobs(), epochs=2, batch_size=8, lr=0.1)
    captured = capsys.readouterr()
    assert captured.out == ""
    # counted from 1 on the bar (issue 10: "epochs counted from 1"), from 0 in History
    assert "epoch 1/2" in captured.err and "epoch 2/2" in captured.err
    assert "epoch 0/" not in captured.err
    assert f"loss={history.train_loss[1]:.4f}" in captured.err
    assert f"test accuracy={100 * history.test_accuracy[1]:.2f}%" in captured.err


# --- bad arguments ---------------------------------------------------------------------------


def test_unknown_loss_names_it_and_the_choices() -> None:
    with pytest.raises(ValueError, match="'hinge'") as error:
        fit(nn.mlp([4, 3, 2]), _blobs(), epochs=1, batch_size=8, lr=0.1, loss="hinge",
            progress=False)
    for name in ("cross_entropy", "quadratic", "softmax_cross_entropy"):
        assert name in str(error.value)


def test_fit_accepts_a_loss_function() -> None:
    """loss may be a function loss(outputs, targets) -> Tensor."""
    calls = []

    def my_loss(a: Tensor, y: np.ndarray) -> Tensor:
        calls.append(a.shape)
        return nn.quadratic_loss(a, y)

    fit(nn.mlp([4, 3, 2]), _blobs(), epochs=1, batch_size=8, lr=0.1, loss=my_loss,
        progress=False)
    assert calls == [(8, 2)] * 5


@pytest.mark.parametrize(("name", "value"), [("epochs", 0), ("batch_size", 0),
                                             ("epochs", 1.5), ("batch_size", -2)])
def test_fit_bad_counts(name: str, value: Any) -> None:
    arguments = {"epochs": 1, "batch_size": 8, name: value}
    with pytest.raises(ValueError, match=rf"{name} must be a positive integer"):
        fit(nn.mlp([4, 3, 2]), _blobs(), lr=0.1, progress=False, **arguments)


def test_fit_data_without_the_splits() -> None:
    with pytest.raises(TypeError, match="x_train, y_train, x_test, y_test"):
        fit(nn.mlp([4, 3, 2]), (np.zeros((2, 4)), np.zeros(2)), epochs=1, batch_size=1,
            lr=0.1, progress=False)


def test_fit_mismatched_split() -> None:
    blobs = _blobs()
    blobs.y_train = blobs.y_train[:-1]
    with pytest.raises(ValueError, match=r"train set.*\(40, 4\).*\(39,\)"):
        fit(nn.mlp([4, 3, 2]), blobs, epochs=1, batch_size=8, lr=0.1, progress=False)


# --- evaluate and predict --------------------------------------------------------------------


def _argmax_model() -> nn.Sequential:
    """A net whose outputs are its inputs (identity weights, no bias): argmax of x."""
    layer = nn.Linear(3, 3)
    layer.weight.data[:] = np.eye(3)
    layer.bias.data[:] = 0.0
    return nn.Sequential(layer)


def test_predict_is_the_argmax() -> None:
    x = np.array([[0.1, 0.9, 0.0], [2.0, -1.0, 1.0], [0.0, 0.0, 3.0], [0.2, 0.3, 0.1]])
    np.testing.assert_array_equal(predict(_argmax_model(), x), [1, 0, 2, 1])
    np.testing.assert_array_equal(predict(_argmax_model(), x, batch_size=3), [1, 0, 2, 1])


class _Probe(nn.Module):
    """Passes its input through, noting whether gradients were on and the input's parents."""

    def __init__(self) -> None:
        self.seen: list[tuple[bool, bool]] = []  # (is_grad_enabled(), input has parents)

    def forward(self, x: Tensor) -> Tensor:
        self.seen.append((is_grad_enabled(), bool(x.parents)))
        return x


def test_evaluate_labels_and_one_hot() -> None:
    """Accuracy is the fraction right; targets may be labels or one-hot rows; no graph built:
    every forward pass runs with gradients off, so the layer's output has no parents."""
    probe = _Probe()
    model = nn.Sequential(*_argmax_model().layers, probe)
    x = np.array([[0.1, 0.9, 0.0], [2.0, -1.0, 1.0], [0.0, 0.0, 3.0], [0.2, 0.3, 0.1]])
    y = np.array([1, 0, 0, 1])
    assert evaluate(model, x, y) == 0.75
    assert probe.seen == [(False, False)]
    assert evaluate(model, Tensor(x), np.eye(3)[y], batch_size=1) == 0.75
    assert probe.seen == [(False, False)] * 5  # one more pass per row
    assert all(p.grad is None for p in model.parameters())


def test_evaluate_bad_targets() -> None:
    with pytest.raises(ValueError, match=r"3 labels.*\(2,\)"):
        evaluate(_argmax_model(), np.zeros((3, 3)), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"predict: x must have shape \(N, n_in\)"):
        predict(_argmax_model(), np.zeros(3))


# --- the accuracy bar of the issue -----------------------------------------------------------


@pytest.mark.slow
def test_accuracy_bar_mnist_784_30_10() -> None:
    """nn.mlp([784, 30, 10]), cross-entropy, SGD lr 0.5, L2 lambda 5.0 on the weights
    (weight_decay 5.0/n_train), mini-batch 10, 30 epochs on the shipped 4,000 training digits:
    at least 90% on the shipped 1,000 test digits (a numpy backprop reaches about 91.5%)."""
    mnist = data.load_mnist()
    n_train = len(mnist.y_train)
    start = time.perf_counter()
    history = fit(nn.mlp([784, 30, 10]), mnist, epochs=30, batch_size=10, lr=0.5,
                  weight_decay=5.0 / n_train, loss="cross_entropy", progress=False)
    seconds = time.perf_counter() - start
    accuracy = history.test_accuracy[-1]
    message = (f"[784, 30, 10] after 30 epochs: test accuracy {100 * accuracy:.1f}% "
               f"(best epoch {100 * max(history.test_accuracy):.1f}%), {seconds:.1f} s")
    print(message)
    assert accuracy >= 0.90, message


def test_fit_label_outside_the_outputs() -> None:
    """A training label the model has no output for is named, with the number of outputs."""
    blobs = _blobs()
    blobs.y_train = blobs.y_train.copy()
    blobs.y_train[5] = 7
    with pytest.raises(ValueError, match=r"label 7 in y_train is outside 0\.\.1"):
        fit(nn.mlp([4, 3, 2]), blobs, epochs=1, batch_size=8, lr=0.1, progress=False)


# ---- hardening (issue 9) --------------------------------------------------------------------
@pytest.mark.parametrize("settings, message", [
    ({"lr": float("inf")}, "lr must be a positive finite number, got inf"),
    ({"lr": "0.1"}, "lr must be a positive finite number, got '0.1'"),
    ({"lr": 0.0}, "lr must be a positive finite number"),
    ({"lr": 0.1, "weight_decay": -1.0}, "weight_decay must be a non-negative finite number"),
    ({"lr": 0.1, "weight_decay": float("nan")}, "weight_decay must be a non-negative"),
])
def test_fit_names_a_bad_learning_setting(settings, message) -> None:
    model = nn.mlp([4, 3, 2], seed=0)
    before = [p.data.copy() for p in model.parameters()]
    with pytest.raises(ValueError, match=message):
        fit(model, _blobs(), epochs=1, batch_size=5, progress=False, **settings)
    assert all(np.array_equal(p.data, q) for p, q in zip(model.parameters(), before))


def test_labels_outside_the_models_classes_are_named() -> None:
    model = nn.mlp([4, 3, 2], seed=0)
    blobs = _blobs()
    with pytest.raises(ValueError, match="label 7 in y is outside 0..1"):
        evaluate(model, blobs.x_test, np.full(len(blobs.x_test), 7))
    with pytest.raises(ValueError, match="integer class labels, got dtype float64"):
        evaluate(model, blobs.x_test, np.full(len(blobs.x_test), 0.5))
    bad_test = SimpleNamespace(**{**vars(blobs), "y_test": np.full(len(blobs.y_test), -1)})
    before = [p.data.copy() for p in model.parameters()]
    with pytest.raises(ValueError, match="label -1 in y_test is outside 0..1"):
        fit(model, bad_test, epochs=1, batch_size=5, lr=0.1, progress=False)
    assert all(np.array_equal(p.data, q) for p, q in zip(model.parameters(), before))
    assert evaluate(model, blobs.x_test, blobs.y_test.astype(float)) == \
        evaluate(model, blobs.x_test, blobs.y_test)  # whole floats are labels


def test_a_step_that_makes_the_weights_non_finite_says_so() -> None:
    class InfiniteStep:  # a step whose parameter comes out infinite
        def __init__(self, name: str) -> None:
            self.name = name

        def after_step(self, step: int, model: nn.Module, optimizer: Any) -> None:
            getattr(model[0], self.name).data.flat[0] = np.inf

    linear = nn.Sequential(nn.Linear(4, 2, rng=0))  # z itself: an inf bias, an inf loss
    with pytest.raises(FloatingPointError, match=r"the loss is inf at epoch 0, step 1: the step "
                                                 r"before made the weights non-finite"):
        fit(linear, _blobs(), epochs=2, batch_size=5, lr=0.1, loss="quadratic",
            progress=False, callbacks=[InfiniteStep("bias")])
    # sigmoid outputs hide an inf weight from the loss: the epoch's end finds it
    with pytest.raises(FloatingPointError, match="after epoch 0 the weights layers.0.weight"):
        fit(nn.mlp([4, 3, 2], seed=0), _blobs(), epochs=2, batch_size=40, lr=0.1,
            progress=False, callbacks=[InfiniteStep("weight")])
    with pytest.raises(FloatingPointError, match="step 0: the first batch already gives it"):
        fit(nn.mlp([4, 3, 2], seed=0), _blobs(), epochs=1, batch_size=5, lr=0.1,
            progress=False, loss=lambda a, y: (a * np.nan).sum())


def test_fit_trains_a_model_with_batch_norm() -> None:
    """fit probes the model's outputs in evaluation mode (batch norm cannot normalise one row)
    and trains it in training mode; every module's mode is as it was."""
    model = nn.Sequential(nn.Linear(4, 3, rng=0), nn.BatchNorm1d(3), nn.Sigmoid(),
                          nn.Linear(3, 2, rng=1), nn.Sigmoid())
    history = fit(model, _blobs(), epochs=2, batch_size=8, lr=0.5, progress=False)
    assert history.train_loss[-1] < history.train_loss[0]
    assert all(module.training for _, module in model.named_modules())


def test_evaluate_leaves_batch_norm_statistics_alone() -> None:
    model = nn.Sequential(nn.Linear(4, 3, rng=0), nn.BatchNorm1d(3), nn.Sigmoid(),
                          nn.Linear(3, 2, rng=1), nn.Sigmoid())
    norm = model[1]
    before = norm.running_mean.data.copy(), norm.running_var.data.copy()
    blobs = _blobs()
    evaluate(model, blobs.x_test, blobs.y_test)  # in training mode it would move them
    np.testing.assert_array_equal(norm.running_mean.data, before[0])
    np.testing.assert_array_equal(norm.running_var.data, before[1])
    assert model.training and norm.training
