"""minigrad's report, trace, recorder and pictures on PyTorch models (minigrad.adapters.torch).

The cross-checks of issue 11: the book's nets built in PyTorch with minigrad's weights give the
same report as minigrad's to 1e-10 in float64 (nn.Sequential, and a custom module with
functional activations and a Linear used twice); a torch chain of scalar neurons traces to the
same factors, and its path product is torch's own b1.grad; in-place activations; the model's
hooks, gradients and buffers left as they were. And: a minigrad-only run never imports torch
(in a subprocess, so that this file's own torch import does not count).
"""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from minigrad import Tensor, nn, reference
from minigrad.flow import FlowRecorder, gradient_flow
from minigrad.flow.report import FlowReport
from minigrad.trace import neuron_chain, trace

REPO = Path(__file__).resolve().parents[1]
torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install "
                                             "'minigrad[torch]'): the cross-checks need it")
pytestmark = pytest.mark.torch

NUMBERS = ["speed", "weight_grad_norm", "weight_norm", "gain", "act_mean", "act_std",
           "saturation", "mean_dsigma", "grad_data", "update_data"]


def assert_same_report(ours: FlowReport, theirs: FlowReport, rel: float = 1e-10,
                       names: bool = True) -> None:
    """Every row's numbers to ``rel``, and the words, sizes (and names) exactly. A Sequential's
    layers are named as each engine names them ('layers.0' in minigrad, '0' in torch)."""
    assert len(ours.layers) == len(theirs.layers)
    for a, b in zip(ours.layers, theirs.layers):
        for name in NUMBERS:
            x, y = getattr(a, name), getattr(b, name)
            if x is None or y is None:
                assert x is None and y is None, (a.role, name, x, y)
            else:
                assert y == pytest.approx(x, rel=rel, abs=1e-300), (a.role, name, x, y)
        for name in ("index", "role", "n_in", "n_out", "activation", "verdict", "frozen",
                     *(["name"] if names else [])):
            assert getattr(a, name) == getattr(b, name), (name, getattr(a, name),
                                                          getattr(b, name))
    assert theirs.loss_value == pytest.approx(ours.loss_value, rel=rel)
    assert theirs.batch_size == ours.batch_size and theirs.loss == ours.loss


def torch_linear(linear: nn.Linear) -> torch.nn.Linear:
    """A torch.nn.Linear in float64 with the weights of a minigrad Linear."""
    n_out, n_in = linear.weight.shape
    copy = torch.nn.Linear(n_in, n_out, dtype=torch.float64)
    with torch.no_grad():
        copy.weight.copy_(torch.from_numpy(linear.weight.data))
        copy.bias.copy_(torch.from_numpy(linear.bias.data))
    return copy


def torch_mlp(model: nn.Module) -> torch.nn.Sequential:
    """minigrad's mlp as torch.nn.Sequential, the same weights, nn.Sigmoid after each Linear."""
    layers = []
    for _, module in model.named_modules():
        if isinstance(module, nn.Linear):
            layers += [torch_linear(module), torch.nn.Sigmoid()]
    return torch.nn.Sequential(*layers)


@pytest.fixture(scope="module")
def book_batch() -> tuple[np.ndarray, np.ndarray]:
    from minigrad import data

    mnist = data.load_mnist()
    return mnist.x_train[:1000], mnist.y_train[:1000]


# ---- gradient_flow ----------------------------------------------------------------------------
@pytest.mark.parametrize("sizes", [[784, 30, 30, 10], [784, 30, 30, 30, 30, 10]],
                         ids=["2 hidden", "4 hidden"])
def test_the_books_net_in_sequential_gives_minigrads_report(book_batch, sizes) -> None:
    x, y = book_batch
    ours = nn.mlp(sizes, seed=0)
    theirs = torch_mlp(ours)
    expected = gradient_flow(ours, x, y, lr=0.1)
    report = gradient_flow(theirs, x, y, lr=0.1)
    assert_same_report(expected, report, names=False)
    assert [row.name for row in report.layers] == [str(2 * i) for i in range(len(sizes) - 1)]
    if len(sizes) == 6:
        low, high = reference.SEED_RATIO_RANGE.value[4]  # the book's ~100x is one draw in it
        assert low < report.last_over_first < high


def test_tensors_as_inputs_and_other_losses_give_the_same_report() -> None:
    rng = np.random.default_rng(2)
    ours = nn.mlp([6, 5, 4, 3], seed=4)
    theirs = torch_mlp(ours)
    x, labels = rng.standard_normal((12, 6)), rng.integers(0, 3, 12)
    for loss in ("cross_entropy", "quadratic", "softmax_cross_entropy"):
        expected = gradient_flow(ours, x, labels, loss)
        assert_same_report(expected, gradient_flow(theirs, torch.from_numpy(x),
                                                   torch.from_numpy(labels), loss), names=False)


class _MinigradNet(nn.Module):
    """tanh, a scale, one Linear called twice (as tests/test_flow.py's Net)."""

    def __init__(self) -> None:
        rng = np.random.default_rng(3)
        self.first, self.tied = nn.Linear(3, 4, rng=rng), nn.Linear(4, 4, rng=rng)
        self.out = nn.Linear(4, 2, rng=rng)

    def forward(self, a: Tensor) -> Tensor:
        a = self.first(a).tanh() * 0.5
        a = self.tied(self.tied(a).sigmoid()).sigmoid()  # one Linear, two calls
        return self.out(a).sigmoid()


class _TorchNet(torch.nn.Module):
    """The same net as a user's torch Module: activations called as functions in forward."""

    def __init__(self, mine: _MinigradNet) -> None:
        super().__init__()
        self.first, self.tied = torch_linear(mine.first), torch_linear(mine.tied)
        self.out = torch_linear(mine.out)

    def forward(self, a):
        a = torch.tanh(self.first(a)) * 0.5
        a = torch.sigmoid(self.tied(self.tied(a).sigmoid()))
        return torch.nn.functional.sigmoid(self.out(a))


def test_a_custom_module_with_functional_activations_and_a_shared_linear() -> None:
    mine = _MinigradNet()
    rng = np.random.default_rng(0)
    x, labels = rng.standard_normal((5, 3)), rng.integers(0, 2, 5)
    expected = gradient_flow(mine, x, labels)
    report = gradient_flow(_TorchNet(mine), x, labels)
    assert [row.name for row in report.layers] == ["first", "tied", "tied (call 2)", "out"]
    assert [row.activation for row in report.layers] == ["tanh", "sigmoid", "sigmoid", "sigmoid"]
    assert_same_report(expected, report)


def test_a_module_list_and_float32_are_measured() -> None:
    class Stack(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(0)
            self.layers = torch.nn.ModuleList(torch.nn.Linear(n, m) for n, m in
                                              [(5, 4), (4, 4), (4, 2)])

        def forward(self, a):
            for layer in self.layers:
                a = layer(a).relu()
            return a

    x, y = np.random.default_rng(1).standard_normal((8, 5)), np.zeros((8, 2))
    report = gradient_flow(Stack(), x, y, "quadratic")
    assert [row.name for row in report.layers] == ["layers.0", "layers.1", "layers.2"]
    assert [row.activation for row in report.layers] == ["relu"] * 3
    model = Stack()
    a = torch.from_numpy(x).float()
    zs = []
    for layer in model.layers:
        z = layer(a)
        z.retain_grad()
        zs.append(z)
        a = z.relu()
    (0.5 * (a ** 2).sum() / 8).backward()
    speeds = [float(z.grad.sum(0).norm()) for z in zs]
    assert report.speeds == pytest.approx(speeds, rel=1e-5)
    assert [row.saturation for row in report.layers] == pytest.approx(
        [float((z.detach() <= 0).float().mean()) for z in zs])


def test_inplace_relu_is_measured_as_the_same_relu() -> None:
    def net(inplace: bool) -> torch.nn.Sequential:
        torch.manual_seed(5)
        return torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(inplace=inplace),
                                   torch.nn.Linear(5, 5), torch.nn.ReLU(inplace=inplace),
                                   torch.nn.Linear(5, 3), torch.nn.Sigmoid()).double()

    rng = np.random.default_rng(0)
    x, labels = rng.standard_normal((16, 6)), rng.integers(0, 3, 16)
    plain, inplace = gradient_flow(net(False), x, labels), gradient_flow(net(True), x, labels)
    assert [row.activation for row in inplace.layers] == ["relu", "relu", "sigmoid"]
    assert_same_report(plain, inplace, rel=1e-14)
    assert all(s > 0 for s in inplace.speeds)


def test_the_model_is_left_as_it_was() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.BatchNorm1d(6),
                                torch.nn.Sigmoid(), torch.nn.Linear(6, 2), torch.nn.Sigmoid())
    seen = []
    model[0].register_forward_hook(lambda module, args, out: seen.append("user's hook"))
    x, y = torch.randn(10, 4), torch.randint(0, 2, (10,))
    model(x).sum().backward()  # the user's own gradients
    grads = {name: p.grad.clone() for name, p in model.named_parameters()}
    hooks = {name: (dict(m._forward_hooks), dict(m._forward_pre_hooks),
                    dict(m._backward_hooks)) for name, m in model.named_modules()}
    buffers = {name: b.clone() for name, b in model.named_buffers()}
    seen.clear()
    report = gradient_flow(model, x, y)
    assert seen == ["user's hook"]  # the user's hook ran once, in the one forward pass
    assert len(report.layers) == 2 and report.layers[0].activation == "identity"
    for name, p in model.named_parameters():
        assert torch.equal(p.grad, grads[name]), name
    for name, m in model.named_modules():
        assert (dict(m._forward_hooks), dict(m._forward_pre_hooks),
                dict(m._backward_hooks)) == hooks[name], name
    for name, b in model.named_buffers():
        assert torch.equal(b, buffers[name]), name  # BatchNorm's running statistics
    model.zero_grad(set_to_none=True)
    gradient_flow(model, x, y)
    assert all(p.grad is None for p in model.parameters())
    kept = gradient_flow(model, x, y, keep_gradients=True)
    assert float(model[3].bias.grad.norm()) == pytest.approx(kept.speeds[-1], rel=1e-6)


def test_measuring_is_one_forward_and_one_backward_pass() -> None:
    backwards = []

    class Passes(torch.autograd.Function):
        """The identity, counting the backward passes through it."""

        @staticmethod
        def forward(ctx, a):
            return a.view_as(a)

        @staticmethod
        def backward(ctx, grad):
            backwards.append(tuple(grad.shape))
            return grad

    class Count(torch.nn.Module):
        def forward(self, a):
            return Passes.apply(a)

    model = torch.nn.Sequential(torch.nn.Linear(5, 4), Count(), torch.nn.Sigmoid(),
                                torch.nn.Linear(4, 2), torch.nn.Sigmoid()).double()
    forwards = []
    model.register_forward_pre_hook(lambda module, args: forwards.append(len(args[0])))
    x, labels = np.random.default_rng(0).standard_normal((6, 5)), np.arange(6) % 2
    report = gradient_flow(model, x, labels)
    assert forwards == [6] and backwards == [(6, 4)]
    assert all(p.grad is None for p in model.parameters())  # no .grad written
    assert all(speed > 0 for speed in report.speeds)


def test_a_frozen_layer_is_still_measured() -> None:
    mine = nn.mlp([5, 4, 4, 2], seed=1)
    theirs = torch_mlp(mine)
    mine.layers[0].weight.requires_grad = False
    theirs[0].weight.requires_grad_(False)
    x, labels = np.random.default_rng(2).standard_normal((7, 5)), np.arange(7) % 2
    report = gradient_flow(theirs, x, labels)
    assert report.layers[0].frozen and "frozen" in report.layers[0].verdict
    assert_same_report(gradient_flow(mine, x, labels), report, names=False)


def test_errors_speak_the_users_language() -> None:
    with pytest.raises(TypeError, match="no torch.nn.Linear"):
        gradient_flow(torch.nn.Sigmoid(), np.zeros((2, 3)), np.zeros(2, dtype=int))
    model = torch.nn.Sequential(torch.nn.Linear(3, 2))
    with pytest.raises(ValueError, match="x has 2 examples but y has 3"):
        gradient_flow(model, np.zeros((2, 3)), np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match=r"outputs a must lie in \[0, 1\]"):
        gradient_flow(model, np.full((2, 3), 5.0), np.zeros(2, dtype=int))
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        gradient_flow(model, np.zeros((2, 3)), np.zeros(2, dtype=int), "hinge")


# ---- trace ------------------------------------------------------------------------------------
def torch_chain(weights, biases, x=0.5):
    """Nielsen's chain of single sigmoid neurons in torch, with labels for the trace."""
    a = torch.tensor(x, dtype=torch.float64)
    labels, leaves = {}, {}
    for j, (w, b) in enumerate(zip(weights, biases), 1):
        w_j = torch.tensor(w, dtype=torch.float64, requires_grad=True)
        b_j = torch.tensor(b, dtype=torch.float64, requires_grad=True)
        z = w_j * a + b_j
        a = torch.sigmoid(z)
        labels.update({f"w{j}": w_j, f"b{j}": b_j, f"z{j}": z, f"a{j}": a})
        leaves.update({f"w{j}": w_j, f"b{j}": b_j})
    cost = 0.5 * a ** 2
    return cost, labels, leaves


def test_a_torch_chain_traces_to_the_books_factors_and_to_b1_grad() -> None:
    weights, biases = [0.5, -0.8, 0.3, 0.9], [0.1, 0.2, -0.3, 0.4]
    cost, labels, leaves = torch_chain(weights, biases)
    record = trace(cost, labels=labels)
    path = record.path(leaves["b1"])
    assert path[-1].product == pytest.approx(float(leaves["b1"].grad), rel=1e-13)
    book = neuron_chain(weights, biases)
    reference = trace(book.cost).path(book["b1"])
    ours = [p.factor for p in path if p.node.op in ("sigmoid", "*")]
    theirs = [p.factor for p in reference if p.node.op in ("sigmoid", "*")]
    assert ours[1:] == pytest.approx(theirs[-len(ours) + 1:], rel=1e-13)
    sigmoids = [(record.name(p.node), p.factor) for p in path if p.node.op == "sigmoid"]
    assert [name for name, _ in sigmoids] == ["a4", "a3", "a2", "a1"]
    for name, factor in sigmoids:
        a = float(labels[name].detach())
        assert factor == pytest.approx(a * (1 - a), rel=1e-15)
    weights_on_path = [p.factor for p in path if p.node.op == "*" and p.parent.op == "sigmoid"]
    assert weights_on_path == pytest.approx(weights[:0:-1])  # w4, w3, w2
    for leaf in leaves.values():  # every leaf's gradient in the record is torch's own
        assert record.gradient(leaf) == pytest.approx(float(leaf.grad), rel=1e-13)


def test_a_trace_does_not_add_to_gradients_leaves_hold() -> None:
    cost, labels, leaves = torch_chain([0.5, 0.7], [0.1, -0.2])
    leaves["w1"].grad = torch.tensor(7.0, dtype=torch.float64)
    record = trace(cost, labels=labels)
    assert float(leaves["w1"].grad) == 7.0
    assert record.gradient(leaves["w1"]) != 7.0 and leaves["b1"].grad is not None


def test_a_torch_network_traces_by_layer_and_its_path_ends_at_the_bias_grad() -> None:
    ours = nn.mlp([4, 3, 3, 2], seed=0)
    theirs = torch_mlp(ours)
    x = np.random.default_rng(0).standard_normal((5, 4))
    record = trace(theirs(torch.from_numpy(x)).sum())
    assert [record.name(s.node) for s in record.steps][:2] == ["C", "a³"]
    ops = {s.node.op for s in record.steps}
    assert {"linear", "sigmoid", "sum"} <= ops
    path = record.path(theirs[0].bias)
    np.testing.assert_allclose(path[-1].product, theirs[0].bias.grad.numpy(), rtol=1e-13)
    mine = trace(ours(Tensor(x)).sum()).path(ours.layers[0].bias)
    assert [p.node.op for p in path] == [p.node.op for p in mine]
    for a, b in zip(path, mine):
        np.testing.assert_allclose(a.product, b.product, rtol=1e-12)
        assert a.gain == pytest.approx(b.gain, rel=1e-12)


def test_branches_carry_one_paths_share_through_the_nodes_own_rule() -> None:
    w = torch.tensor([0.3, -0.2], dtype=torch.float64, requires_grad=True)
    h = torch.sigmoid(w * 2.0)
    cost = (h * h.exp()).sum()  # h reaches the cost along two paths
    record = trace(cost, labels={"w": w, "h": h})
    paths = record.paths(w)
    assert len(paths) == 2
    total = sum(p.gradient for p in paths)
    np.testing.assert_allclose(total, w.grad.numpy(), rtol=1e-13)


def test_trace_refuses_what_it_cannot_trace() -> None:
    with pytest.raises(TypeError, match="no grad_fn"):
        trace(torch.tensor(1.0))
    cost, labels, _ = torch_chain([0.5], [0.1])
    with pytest.raises(TypeError, match="labels= names torch tensors"):
        trace(neuron_chain([0.5]).cost, labels=labels)
    z = torch.ones(3, requires_grad=True) * 2
    with pytest.raises(ValueError, match="pass gradient="):
        trace(z)


# ---- pictures ---------------------------------------------------------------------------------
def test_the_pictures_draw_what_the_torch_adapters_return(tmp_path, no_dot) -> None:
    from minigrad.viz import draw_chain, draw_graph, draw_layers, save

    cost, labels, leaves = torch_chain([0.5, -0.8, 0.3, 0.9], [0.1, 0.2, -0.3, 0.4])
    record = trace(cost, labels=labels)
    chain = save(draw_chain(record.path(leaves["b1"])), tmp_path / "chain.svg").read_text()
    assert "<svg" in chain and "σ′(z1)" in chain and "w2" in chain
    graph = save(draw_graph(record.output, trace=record), tmp_path / "graph.svg").read_text()
    assert "<svg" in graph and "sigmoid" in graph and "b1" in graph
    # the torch scalar itself, with its trace: the same picture; without one, its structure
    assert draw_graph(cost, trace=record).source == draw_graph(record.output, trace=record).source
    fresh, fresh_labels, fresh_leaves = torch_chain([0.5, -0.8], [0.1, 0.2])
    structure = save(draw_graph(fresh), tmp_path / "structure.svg").read_text()
    assert "<svg" in structure and "sigmoid" in structure
    assert all(leaf.grad is None for leaf in fresh_leaves.values())  # no backward pass ran
    ours = nn.mlp([6, 4, 4, 2], seed=0)
    model = torch_mlp(ours)
    x = np.random.default_rng(0).standard_normal((5, 6))
    layers = save(draw_layers(gradient_flow(model, x, np.arange(5) % 2)),
                  tmp_path / "layers.svg").read_text()
    assert "<svg" in layers and "hidden 1" in layers
    network = trace(model(torch.from_numpy(x)).sum())
    tensor_chain = save(draw_chain(network.path(model[0].bias)),
                        tmp_path / "tensor_chain.svg").read_text()
    assert "<svg" in tensor_chain and "σ′(z¹)" in tensor_chain
    picture = save(draw_graph(network.output, trace=network), tmp_path / "net.svg").read_text()
    assert "<svg" in picture and "linear" in picture


# ---- no torch unless handed one ---------------------------------------------------------------
def test_a_minigrad_only_run_does_not_import_torch() -> None:
    script = textwrap.dedent("""
        import sys
        import numpy as np
        import minigrad
        from minigrad import nn
        from minigrad.flow import FlowRecorder, gradient_flow
        from minigrad.trace import neuron_chain, trace
        from minigrad.viz import draw_chain, draw_layers
        x, y = np.random.default_rng(0).standard_normal((4, 3)), np.arange(4) % 2
        model = nn.mlp([3, 4, 2], seed=0)
        draw_layers(gradient_flow(model, x, y))
        chain = neuron_chain([0.5, 0.6])
        draw_chain(trace(chain.cost).path(chain["b1"]))
        FlowRecorder(x, y).measure(model)
        assert "torch" not in sys.modules, "minigrad imported torch"
        print("no torch")
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "no torch"


def test_reports_are_plain_data_whichever_engine_filled_them() -> None:
    report = gradient_flow(torch_mlp(nn.mlp([4, 3, 2], seed=0)),
                           np.ones((3, 4)), np.array([0, 1, 0]))
    again = FlowReport.from_dict(report.to_dict())
    assert [dataclasses.asdict(r) for r in again.layers] == \
        [dataclasses.asdict(r) for r in report.layers]
    assert all(isinstance(v, (int, float, str, bool, type(None)))
               for row in report.to_dict()["layers"] for v in row.values())
    assert math.isfinite(report.loss_value)


# ---- the recorder on a plain PyTorch loop -----------------------------------------------------
def test_the_recorder_watches_a_plain_pytorch_loop(tmp_path) -> None:
    rng = np.random.default_rng(0)
    x, labels = rng.standard_normal((40, 6)), rng.integers(0, 3, 40)
    ours = nn.mlp([6, 5, 5, 3], seed=2)
    model = torch_mlp(ours)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    at_start = gradient_flow(model, x[:20], labels[:20], lr=0.5)
    recorder = FlowRecorder(x[:20], labels[:20], every=4, weight_norm_every=1)
    assert recorder.watch(model, optimizer, update_every=1) is recorder
    sampled = FlowRecorder(x[:20], labels[:20], every=4, weight_norm_every=1)
    sampled.watch(model, optimizer, update_every=2)  # the same steps, every other one read
    assert_same_report(at_start, recorder.reports[0], rel=1e-14)
    expected_update = [[] for _ in range(3)]
    inputs, targets = torch.from_numpy(x), torch.nn.functional.one_hot(
        torch.from_numpy(labels), 3).double()
    for step in range(8):  # a plain loop: nothing in it knows about the recorder
        batch = slice(5 * step, 5 * step + 5)
        loss = torch.nn.functional.binary_cross_entropy(model(inputs[batch]), targets[batch])
        optimizer.zero_grad()
        loss.backward()
        for i, layer in enumerate(model[::2]):
            expected_update[i].append(math.log10(0.5 * float(layer.weight.grad.norm())
                                                 / float(layer.weight.detach().norm())))
        optimizer.step()
    recorder.close()
    sampled.close()
    assert not optimizer._optimizer_step_pre_hooks and not optimizer._optimizer_step_post_hooks
    for record, steps in ((1, slice(0, 4, 2)), (2, slice(4, 8, 2))):
        assert sampled.train_update_data[record] == pytest.approx(
            [float(np.mean(u[steps])) for u in expected_update], rel=1e-12)
    assert recorder.steps == [0, 4, 8] and recorder.speeds.shape == (3, 3)
    assert recorder.x_values[1] == "step"
    for record, steps in ((1, slice(0, 4)), (2, slice(4, 8))):
        assert recorder.train_update_data[record] == pytest.approx(
            [float(np.mean(u[steps])) for u in expected_update], rel=1e-12)
    final = gradient_flow(model, x[:20], labels[:20], lr=0.5)
    assert recorder.speeds[-1] == pytest.approx(final.speeds, rel=1e-14)
    assert recorder.to_csv(tmp_path / "flow.csv").read_text().count("\n") == 1 + 3 * 3
    loss = model(inputs).sum()  # closed: a step records nothing more
    loss.backward()
    optimizer.step()
    assert len(recorder.reports) == 3


def test_the_recorder_says_what_watch_needs() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Sigmoid())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = np.zeros((2, 3)), np.array([0, 1])
    with pytest.raises(ValueError, match="every=<steps per epoch>"):
        FlowRecorder(x, y).watch(model, optimizer)
    with pytest.raises(ValueError, match="update_every must be a positive number"):
        FlowRecorder(x, y, every=2).watch(model, optimizer, update_every=0)
    with pytest.raises(TypeError, match="callbacks=\\[recorder\\]"):
        FlowRecorder(x, y, every=2).watch(nn.mlp([3, 2]), optimizer)


def test_a_float32_graph_carries_a_paths_share_in_float32() -> None:
    w = torch.tensor([0.3, -0.2], requires_grad=True)
    h = torch.sigmoid(w * 2.0)
    cost = (h * h.exp()).mean()  # mean: autograd's own rule carries one path's share
    paths = trace(cost, labels={"w": w}).paths(w)
    assert len(paths) == 2
    np.testing.assert_allclose(sum(p.gradient for p in paths), w.grad.numpy(), rtol=1e-6)


def test_elementwise_torch_ops_carry_their_local_derivatives() -> None:
    a = torch.tensor([0.5, 2.0, 1.5], dtype=torch.float64, requires_grad=True)
    cost = ((a ** 3).log() * torch.tanh(a) / (a + 1.0) - a.exp().relu()).sum()
    record = trace(cost, labels={"a": a})
    described = {s.node.op: s.local for s in record.steps if s.local is not None}
    assert {"**", "log", "tanh", "/", "exp", "relu", "*", "-", "+"} <= set(described)
    x = a.detach().numpy()
    np.testing.assert_allclose(described["**"], 3 * x ** 2)
    np.testing.assert_allclose(described["tanh"], 1 - np.tanh(x) ** 2)
    for step in record.steps:  # every described elementwise step: contribution = local x up
        if step.local is not None and step.node.op in ("**", "log", "tanh", "exp", "relu"):
            np.testing.assert_allclose(step.contribution, step.local * step.upstream,
                                       rtol=1e-13)
    assert sum(p.gradient for p in record.paths(a)) == pytest.approx(a.grad.numpy(), rel=1e-12)
