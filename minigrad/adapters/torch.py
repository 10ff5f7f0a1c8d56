r"""PyTorch models and tensors in minigrad's flow report, trace and pictures.

    from minigrad.flow import gradient_flow, FlowRecorder
    from minigrad.trace import trace
    report = gradient_flow(torch_model, x, y)        # the same FlowReport as for a minigrad model
    record = trace(C)                                # C: a torch scalar with a grad_fn
    record.path(b1)[-1].product == b1.grad           # a chain of scalar neurons
    recorder = FlowRecorder(x, y, every=400).watch(torch_model, optimizer)   # a plain loop

Imported only when one of those functions is handed a torch object (``minigrad.adapters.is_torch``
decides without importing torch). Needs torch >= 2.1 (``pip install minigrad[torch]``).

**The flow measurement** (:func:`gradient_flow`): one forward and one backward pass of the
batch, as for a minigrad model. A forward hook on every ``torch.nn.Linear`` records each call
(a module used twice gives two rows) and registers a tensor hook on its output z^l, which
receives delta^l = dC/dz^l in the backward pass; the parameters' ``.grad`` give dC/dW. The
activation applied to z^l is seen whether it is a module (``nn.Sigmoid``) or a function called
in ``forward`` (``torch.sigmoid(fc(x))``, ``z.relu()``, ``F.relu(z, inplace=True)``): a
``torch.overrides.TorchFunctionMode`` watches the forward pass for activation calls whose input
is a recorded z. No ``register_full_backward_hook`` (it fails with in-place ops and when the
first input needs no gradient: pytorch#61519, #56380, #57944). The backward pass is
``torch.autograd.grad`` of the cost with respect to the parameters, so no ``.grad`` is
written. The model is left as it was: the hooks are removed, every parameter's ``.grad`` is
untouched, and the buffers (BatchNorm's running statistics) are restored after the forward
pass that updated them. The figures are
computed from the tensors moved to the CPU, with the same numpy code as for minigrad (on a GPU
too: untested here, no GPU on the machine).

**The trace** (:func:`traced_backward`, behind ``minigrad.trace.trace``): the autograd graph
below the output is walked through ``grad_fn.next_functions`` with an explicit stack (no
recursion), each autograd node becomes a :class:`TorchNode` with the public members the trace
and the pictures read (``parents``, ``op`` in plain words, ``data``, ``grad``,
``local_derivatives()``, ``vjp()``); node hooks record the gradient each node passes to each
input; the backward pass runs once (``retain_graph=True``: the graph stays usable).

**PyTorch internals relied on** (guarded: :func:`check_torch` refuses an older torch, and a
missing internal raises :class:`TorchInternalsError` naming it): the saved tensors of autograd
nodes (``_saved_result`` of SigmoidBackward0 / TanhBackward0 / ReluBackward0 / ExpBackward0,
``_saved_self`` / ``_saved_other`` of MulBackward0 / DivBackward0, ``_saved_self`` of
LogBackward0, ``_saved_self`` / ``_saved_exponent`` of PowBackward0, ``_saved_mat1`` of
AddmmBackward0 and ``_saved_self`` of MmBackward0, ``_saved_alpha`` of AddBackward0 /
SubBackward0) for the values and local derivatives; ``AccumulateGrad.variable``; the node
hook ``Node.register_hook`` (public). Elsewhere: ``torch.overrides.TorchFunctionMode`` and the
optimiser's step hooks (public).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from minigrad.engine import ChainStep, Node
from minigrad.flow.figures import layer_figures
from minigrad.flow.report import FlowReport, LayerFlow, rows_of
from minigrad.tensor_ops import unbroadcast

__all__ = [
    "MIN_TORCH",
    "TorchInternalsError",
    "check_torch",
    "linear_layers",
    "gradient_flow",
    "as_batch",
    "squared_norms",
    "TorchNode",
    "traced_backward",
    "graph_of",
    "op_name",
]

MIN_TORCH = (2, 1)


class TorchInternalsError(RuntimeError):
    """A PyTorch internal the adapter relies on is missing (a torch older or newer than the
    versions it was written for)."""


def check_torch() -> None:
    """Refuse a torch older than :data:`MIN_TORCH` with a clear error."""
    version = tuple(int(part) for part in torch.__version__.split("+")[0].split(".")[:2])
    if version < MIN_TORCH:
        raise TorchInternalsError(
            f"minigrad's PyTorch adapter needs torch >= {'.'.join(map(str, MIN_TORCH))} "
            f"(node hooks, saved tensors, TorchFunctionMode, optimiser step hooks); this is torch "
            f"{torch.__version__}: "
            "pip install 'minigrad[torch]'")


check_torch()


def _numpy(t: Any) -> np.ndarray:
    """A tensor's values as a numpy array on the CPU (half precision widened to float32)."""
    t = t.detach()
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    return t.cpu().numpy()


# ---- the flow measurement -------------------------------------------------------------------
def linear_layers(model: torch.nn.Module) -> list[tuple[str, torch.nn.Linear]]:
    """(name, Linear) for every ``torch.nn.Linear`` of ``model``, in definition order."""
    return [(path or "linear", module) for path, module in model.named_modules()
            if isinstance(module, torch.nn.Linear)]


# The activations a report names, by the torch functions that compute them (module or function:
# nn.Sigmoid calls torch.sigmoid, nn.ReLU calls F.relu).
def _functions(*names: str) -> list[Any]:
    found = []
    for name in names:
        owner, _, attr = name.rpartition(".")
        base = {"torch": torch, "F": F, "Tensor": torch.Tensor, "special": torch.special}[owner]
        if hasattr(base, attr):
            found.append(getattr(base, attr))
    return found


_ACTIVATION_CALLS: dict[Any, str] = {}
for _name, _calls in {
        "sigmoid": ("torch.sigmoid", "torch.sigmoid_", "F.sigmoid", "Tensor.sigmoid",
                    "Tensor.sigmoid_", "special.expit"),
        "tanh": ("torch.tanh", "torch.tanh_", "F.tanh", "Tensor.tanh", "Tensor.tanh_"),
        "relu": ("torch.relu", "torch.relu_", "F.relu", "F.relu_", "Tensor.relu", "Tensor.relu_"),
        "gelu": ("F.gelu",), "silu": ("F.silu",), "elu": ("F.elu",),
        "leaky_relu": ("F.leaky_relu",), "softplus": ("F.softplus",),
        "exp": ("torch.exp", "Tensor.exp")}.items():
    for _function in _functions(*_calls):
        _ACTIVATION_CALLS[_function] = _name

# sigma'(z) from the activation's output a (the number backward multiplies by).
_DERIVATIVE_OF_OUTPUT: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sigmoid": lambda a: a * (1.0 - a),
    "tanh": lambda a: 1.0 - a * a,
    "relu": lambda a: (a > 0).astype(a.dtype),
    "exp": lambda a: a,
}


@dataclass
class _Call:
    """One call of a Linear in the forward pass: its input, its output z and what follows."""

    name: str
    linear: torch.nn.Linear
    x: Any  # the input a^{l-1}
    z: Any  # z^l; its tensor hook fills delta
    delta: Any = None  # dC/dz^l, from the backward pass
    activation: str = "identity"
    a: Any = None  # a^l (z^l itself when no activation follows)
    shared: bool = False
    frozen: bool = False

    def receive(self, grad: Any) -> None:
        """The tensor hook on z: delta^l = dC/dz^l (returns None: the gradient is unchanged)."""
        self.delta = grad


class _ActivationWatch(TorchFunctionMode):
    """Sees every torch function call of the forward pass; notes the activation applied to each
    recorded z (the first activation call whose input is that very tensor)."""

    def __init__(self, by_z: dict[int, _Call]) -> None:
        super().__init__()
        self.by_z = by_z

    def __torch_function__(self, func: Any, types: Any, args: tuple = (),
                           kwargs: dict | None = None) -> Any:
        out = func(*args, **(kwargs or {}))
        name = _ACTIVATION_CALLS.get(func)
        if name is not None:
            first = args[0] if args else (kwargs or {}).get("input")
            call = self.by_z.get(id(first))
            if call is not None and call.z is first and call.a is None:
                call.activation, call.a = name, out
        return out


_NUMPY_DTYPES = {torch.float64: np.float64, torch.float32: np.float32,
                 torch.float16: np.float16}


def _as_tensor(x: Any, like: torch.Tensor) -> torch.Tensor:
    """x as a tensor on the device of ``like`` (numpy floats also take its dtype)."""
    if isinstance(x, torch.Tensor):
        return x.to(like.device)
    data = getattr(x, "data", x)  # a minigrad Tensor's array
    x = np.asarray(data if isinstance(data, np.ndarray) else x)
    if x.dtype.kind != "f":
        return torch.as_tensor(x, device=like.device)
    if like.dtype in _NUMPY_DTYPES:  # bench_torch_flow: numpy casts 1000x784 ~30x faster
        return torch.from_numpy(np.ascontiguousarray(x, dtype=_NUMPY_DTYPES[like.dtype])
                                ).to(like.device)
    return torch.as_tensor(x, dtype=like.dtype, device=like.device)


def as_batch(model: torch.nn.Module, x: Any, y: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """x and y as tensors on the device of the model's first Linear (numpy floats in its
    dtype): what :func:`gradient_flow` measures; a recorder converts its batch once."""
    layers = linear_layers(model)
    if not layers:
        raise TypeError(f"gradient_flow: {type(model).__name__} has no torch.nn.Linear layer "
                        "to measure")
    first = layers[0][1].weight
    return _as_tensor(x, first), _as_tensor(y, first)


def _targets(y: torch.Tensor, output: torch.Tensor, loss: str) -> torch.Tensor:
    """Targets of the output's shape and dtype: integer labels become one-hot rows."""
    if y.shape == output.shape:
        return y.to(output.dtype)
    if output.ndim == 2 and y.shape == output.shape[:1] and not y.is_floating_point():
        n_classes = output.shape[1]
        bad = y[(y < 0) | (y >= n_classes)]
        if bad.numel():
            raise ValueError(f"{loss}: label {int(bad[0])} is outside 0..{n_classes - 1}")
        return F.one_hot(y.long(), n_classes).to(output.dtype)
    raise ValueError(f"{loss}: targets of shape {tuple(y.shape)} do not fit outputs of shape "
                     f"{tuple(output.shape)} (give the same shape, or integer labels of shape "
                     f"{tuple(output.shape[:1])})")


def _cost(loss: str | Callable, output: Any, y: torch.Tensor, last: _Call | None) -> Any:
    """The batch-mean cost, as minigrad's losses compute it (docs: minigrad.nn.losses)."""
    if callable(loss):
        return loss(output, y)
    if not isinstance(output, torch.Tensor) or output.ndim == 0:
        raise TypeError(f"gradient_flow: the model's output must be a batch of outputs (a "
                        f"tensor), got {type(output).__name__}")
    n = output.shape[0] if output.ndim == 2 else 1
    target = _targets(y, output, loss)
    if loss == "cross_entropy":
        if last is not None and last.activation == "sigmoid" and last.a is output \
                and last.z is not output:
            # a = sigma(z^L): from z itself, finite however saturated (dC/dz = (a - y)/N)
            return F.binary_cross_entropy_with_logits(last.z, target, reduction="sum") / n
        if float(output.detach().min()) < 0.0 or float(output.detach().max()) > 1.0:
            raise ValueError("cross_entropy_loss: outputs a must lie in [0, 1] (sigmoid "
                             "outputs)")
        return F.binary_cross_entropy(output, target, reduction="sum") / n
    if loss == "quadratic":
        return ((output - target) ** 2).sum() * (0.5 / n)
    if loss == "softmax_cross_entropy":
        return -(target * F.log_softmax(output, dim=-1)).sum() / n
    raise ValueError(f"gradient_flow: unknown loss {loss!r}")


def gradient_flow(model: torch.nn.Module, x: Any, y: Any, loss: str | Callable = "cross_entropy",
                  *, lr: float | None = None, keep_gradients: bool = False) -> FlowReport:
    """:func:`minigrad.flow.gradient_flow` for a ``torch.nn.Module`` (the same arguments and
    report). ``x``, ``y``: numpy arrays or tensors; a loss function gets the model's output and
    ``y`` as a tensor. The model runs in the mode it is in (``train()``: batch statistics)."""
    layers = linear_layers(model)
    if not layers:
        raise TypeError(f"gradient_flow: {type(model).__name__} has no torch.nn.Linear layer "
                        "to measure")
    if not callable(loss) and loss not in ("cross_entropy", "quadratic",
                                           "softmax_cross_entropy"):
        raise ValueError(f"gradient_flow: unknown loss {loss!r}; choose one of cross_entropy, "
                         "quadratic, softmax_cross_entropy or pass a function loss(a, y)")
    inputs, targets = as_batch(model, x, y)
    if inputs.ndim < 2 or len(inputs) == 0:
        raise ValueError(f"gradient_flow: x must be a non-empty batch (N, n_in), got shape "
                         f"{tuple(inputs.shape)}")
    if len(targets) != len(inputs):
        raise ValueError(f"gradient_flow: x has {len(inputs)} examples but y has "
                         f"{len(targets)}")
    if any(not linear.weight.requires_grad for _, linear in layers):
        inputs = inputs.detach().requires_grad_(True)  # a frozen layer still gets its delta
    owner = {id(linear): name for name, linear in layers}
    calls: list[_Call] = []
    by_z: dict[int, _Call] = {}

    def on_linear(module: torch.nn.Linear, args: tuple, output: Any) -> None:
        call = _Call(owner[id(module)], module, args[0] if args else None, output,
                     frozen=not module.weight.requires_grad)
        if isinstance(output, torch.Tensor) and output.requires_grad:
            output.register_hook(call.receive)
        calls.append(call)
        by_z[id(output)] = call

    wanted = [p for p in model.parameters() if p.requires_grad]
    buffers = [(b, b.detach().clone()) for b in model.buffers()]
    handles = [linear.register_forward_hook(on_linear) for _, linear in layers]
    try:
        with torch.enable_grad(), _ActivationWatch(by_z):
            output = model(inputs)
        for handle in handles:
            handle.remove()
        handles = []
        if not calls:
            raise TypeError(f"gradient_flow: the forward pass of {type(model).__name__} "
                            "called none of its Linear layers")
        uses: dict[str, int] = {}
        for call in calls:
            uses[call.name] = uses.get(call.name, 0) + 1
        seen: dict[str, int] = {}
        for call in calls:
            seen[call.name] = seen.get(call.name, 0) + 1
            call.shared = uses[call.name] > 1
            if seen[call.name] > 1:
                call.name = f"{call.name} (call {seen[call.name]})"
            if call.a is None:
                call.a = call.z
        cost = _cost(loss, output, targets, calls[-1])
        # The only backward pass: every z^l's hook now holds dC/dz^l. autograd.grad returns
        # the parameters' gradients without writing any .grad: the user's stay as they were.
        grads = torch.autograd.grad(cost, wanted or [inputs], allow_unused=True)
        grad_of = {id(p): g for p, g in zip(wanted, grads)}
        if keep_gradients:  # this batch's gradients in .grad, as after backward()
            for p in wanted:
                p.grad = grad_of[id(p)]
        rows = _rows(calls, lr, grad_of)
    finally:
        for handle in handles:
            handle.remove()
        with torch.no_grad():
            for buffer, value in buffers:
                buffer.copy_(value)
    loss_name = getattr(loss, "__name__", "custom") if callable(loss) else loss
    return FlowReport(rows, loss=loss_name, loss_value=float(cost.detach()),
                      batch_size=len(inputs), lr=lr)


def _rows(calls: list[_Call], lr: float | None, grad_of: dict[int, Any]) -> list[LayerFlow]:
    """The report's rows, as :mod:`minigrad.flow.measure` makes them, from numpy copies on the
    CPU (``grad_of``: each parameter's gradient by id)."""
    layers = []
    for call in calls:
        weight = call.linear.weight
        weight_grad = grad_of.get(id(weight))
        a = _numpy(call.a)
        if call.activation == "identity":
            mean_derivative = 1.0
        elif call.activation in _DERIVATIVE_OF_OUTPUT:
            mean_derivative = float(np.mean(_DERIVATIVE_OF_OUTPUT[call.activation](a)))
        else:
            mean_derivative = None
        figures = layer_figures(
            delta=np.zeros(tuple(call.z.shape), dtype=_numpy(weight).dtype)
            if call.delta is None else _numpy(call.delta),
            x=_numpy(call.x), w=_numpy(weight),
            dw=None if weight_grad is None or call.shared else _numpy(weight_grad), a=a,
            activation=call.activation, mean_derivative=mean_derivative, lr=lr,
            frozen=call.frozen)
        layers.append(dict(figures, name=call.name, residual=False))
    return rows_of(layers)


_vdot = np.vdot  # bench_torch_flow: bound once, the recorder calls squared_norms every step


def squared_norms(tensors: Iterable[Any]) -> list[float | None]:
    """||t||^2 of each tensor (None for None): numpy's vdot on the tensor's own memory on the
    CPU (bench_torch_flow: the recorder calls this every step), else one torch reduction
    each and one transfer to the CPU for all (a GPU, bfloat16)."""
    tensors = list(tensors)
    try:
        arrays = [None if t is None else t.detach().numpy() if t.requires_grad else t.numpy()
                  for t in tensors]
    except (TypeError, RuntimeError):
        present = [t for t in tensors if t is not None]
        values = iter(torch.stack([torch.linalg.vector_norm(t.detach()) for t in present]
                                  ).square().tolist() if present else [])
        return [None if t is None else next(values) for t in tensors]
    return [None if a is None else float(_vdot(a, a)) for a in arrays]


# ---- the trace ------------------------------------------------------------------------------
# Autograd node classes in plain words (the op names of minigrad's pictures).
_OPS = {"SigmoidBackward0": "sigmoid", "TanhBackward0": "tanh", "ReluBackward0": "relu",
        "ExpBackward0": "exp", "LogBackward0": "log", "MulBackward0": "*", "MulBackward1": "*",
        "AddBackward0": "+", "AddBackward1": "+", "SubBackward0": "-", "SubBackward1": "-",
        "RsubBackward1": "-", "DivBackward0": "/", "DivBackward1": "/", "NegBackward0": "neg",
        "PowBackward0": "**", "SumBackward0": "sum", "SumBackward1": "sum",
        "MeanBackward0": "mean", "MeanBackward1": "mean", "TBackward0": "transpose",
        "PermuteBackward0": "transpose", "ViewBackward0": "reshape",
        "UnsafeViewBackward0": "reshape", "ReshapeAliasBackward0": "reshape",
        "SelectBackward0": "index", "SliceBackward0": "index", "IndexBackward0": "index",
        "MmBackward0": "matmul", "MvBackward0": "matmul", "AddmmBackward0": "addmm",
        "BinaryCrossEntropyBackward0": "binary_cross_entropy",
        "BinaryCrossEntropyWithLogitsBackward0": "binary_cross_entropy_with_logits",
        "LogSoftmaxBackward0": "log_softmax", "SoftmaxBackward0": "softmax",
        "NativeBatchNormBackward0": "batch_norm", "SqueezeBackward0": "reshape",
        "SqueezeBackward1": "reshape", "UnsqueezeBackward0": "reshape"}
_ELEMENTWISE = {"sigmoid", "tanh", "relu", "exp", "log", "**", "*", "+", "-", "/", "neg"}


def op_name(fn: Any) -> str:
    """An autograd node's op in plain words: 'sigmoid' for SigmoidBackward0, 'linear' for the
    AddmmBackward0 of an ``nn.Linear``, else the class name without 'Backward0', lower case."""
    name = type(fn).__name__
    if name in _OPS:
        return _OPS[name]
    return name.split("Backward")[0].lower() or name


def _saved(fn: Any, attribute: str) -> Any:
    """One saved value of an autograd node, with a clear error when torch does not have it."""
    try:
        return getattr(fn, attribute)
    except AttributeError:
        raise TorchInternalsError(
            f"trace: {type(fn).__name__} has no {attribute} in torch {torch.__version__}; the "
            "adapter reads autograd's saved tensors (see minigrad.adapters.torch)") from None
    except RuntimeError as error:
        raise RuntimeError(f"trace: the graph's saved values are gone ({error}); trace the "
                           "output before calling backward() on it, or build it again") from None


def _value(x: Any) -> Any:
    """A saved tensor as numpy, a saved number as a float (None: autograd did not save it)."""
    return None if x is None else _numpy(x) if isinstance(x, torch.Tensor) else float(x)


class TorchNode(Node):
    """One node of a PyTorch autograd graph, as minigrad's trace and pictures read a node.

    ``op`` in plain words (:func:`op_name`), ``parents`` the inputs that need a gradient (the
    weight of a Linear's ``linear`` node is the Parameter itself, and its input x is kept, as a
    constant, so that the node reads as minigrad's (x, w, b)), ``data`` the values (numpy, a
    float in a graph of one-number tensors; NaN where autograd keeps no value and no label gave
    the tensor), ``grad`` dC/d node of the traced pass, ``local_derivatives()`` the local
    derivatives of elementwise ops and of ``linear`` (None where the Jacobian is not
    described), ``vjp(upstream)`` the node's backward rule. ``fn``: the autograd node (None for
    a leaf), ``tensor``: the leaf tensor (None for an op).
    """

    __slots__ = ("fn", "tensor", "requires_grad", "locals", "slots", "kind", "like")

    def __init__(self, op: str, parents: tuple[TorchNode, ...], data: Any, *, fn: Any = None,
                 tensor: Any = None, requires_grad: bool = True, label: str = "") -> None:
        self._parents, self.data, self.grad, self.label = parents, data, None, label
        self._op = op or ("op" if parents else "")  # '' marks a leaf (engine.topological_order)
        self._rule = self._ctx = None
        self.fn, self.tensor, self.requires_grad = fn, tensor, requires_grad
        self.locals: tuple[Any, ...] = (None,) * len(parents)
        self.slots: tuple[int, ...] = ()  # each parent's position among fn's inputs
        self.kind = "leaf" if fn is None else "other"
        self.like: Any = None  # the output tensor: dtype and device of an upstream for fn

    def local_derivatives(self) -> tuple[Any, ...]:
        return self.locals

    def _vjp(self, upstream: Any) -> tuple[Any, ...]:
        if self.kind == "linear":
            w, x = self.locals[0], self.locals[1]
            g = np.asarray(upstream)
            if g.ndim == 1:
                grads = [w.T @ g, np.outer(g, x), g]
            else:
                grads = [g @ w, g.T @ x, g.sum(axis=0)]
            grads = [grad if parent.requires_grad else None
                     for grad, parent in zip(grads, self._parents)]
            return tuple(grads)
        if self.kind == "elementwise":
            return tuple(None if local is None else
                         local * upstream if not hasattr(parent.data, "shape") else
                         unbroadcast(np.asarray(local * upstream), np.shape(parent.data))
                         for local, parent in zip(self.locals, self._parents))
        # any other op: autograd's own backward rule (the graph was retained)
        like = self.like
        outputs = self.fn(torch.as_tensor(np.asarray(upstream), dtype=like.dtype,
                                          device=like.device))
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        return tuple(None if outputs[slot] is None else _numpy(outputs[slot])
                     for slot in self.slots)


def _leaf_of(fn: Any) -> Any:
    """The leaf tensor of an AccumulateGrad node."""
    return _saved(fn, "variable")


def _linear_parts(fn: Any) -> tuple[Any, Any, Any] | None:
    """(bias fn or None, x fn or None, weight tensor) when ``fn`` is the matrix product of an
    ``nn.Linear`` (addmm(b, x, w^T) or mm(x, w^T) with w a leaf); else None."""
    name = type(fn).__name__
    inputs = fn.next_functions
    if name == "AddmmBackward0":
        bias, x, wt = inputs[0][0], inputs[1][0], inputs[2][0]
    elif name == "MmBackward0":
        bias, x, wt = None, inputs[0][0], inputs[1][0]
    else:
        return None
    if wt is None or type(wt).__name__ != "TBackward0":
        return None
    leaf = wt.next_functions[0][0]
    if leaf is None or type(leaf).__name__ != "AccumulateGrad":
        return None
    if bias is not None and type(bias).__name__ != "AccumulateGrad":
        return None
    return bias, x, _leaf_of(leaf)


@dataclass
class _Recorder:
    """The steps the node hooks see, in the order backward runs them."""

    steps: list[ChainStep] = field(default_factory=list)
    scalar: bool = False


def _build_nodes(output: Any, by_key: dict[int, tuple[str, Any]]
                 ) -> tuple[dict[int, TorchNode], list[Any], list[Any]]:
    """The TorchNodes of the autograd graph below ``output`` (by id of fn or leaf tensor), the
    autograd nodes in an order where each comes after its inputs, and the objects whose ids
    are keys (to be kept alive while they are used)."""
    nodes: dict[int, TorchNode] = {}  # id(fn) or id(leaf tensor) -> node
    keep: list[Any] = []  # the fns and tensors whose ids are keys: alive while we work

    def leaf_node(tensor: Any, constant: bool = False) -> TorchNode:
        key = id(tensor)
        if key not in nodes:
            label = by_key.get(key, ("",))[0]
            nodes[key] = TorchNode("", (), _numpy(tensor), tensor=tensor, label=label,
                                   requires_grad=not constant and tensor.requires_grad)
            keep.append(tensor)
        return nodes[key]

    def inputs_of(fn: Any) -> list[Any]:
        """The autograd nodes (or leaf tensors) a node's inputs come from."""
        parts = _linear_parts(fn)
        if parts is not None:
            bias, x, weight = parts
            found = [x] if x is not None and type(x).__name__ != "AccumulateGrad" else []
            return found
        return [f for f, _ in fn.next_functions
                if f is not None and type(f).__name__ != "AccumulateGrad"]

    # An iterative post-order walk: every node is built after the nodes it takes inputs from.
    root_fn = output.grad_fn
    order: list[Any] = []
    visited: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root_fn, False)]
    while stack:
        fn, expanded = stack.pop()
        if expanded:
            order.append(fn)
            continue
        if id(fn) in visited:
            continue
        visited.add(id(fn))
        keep.append(fn)
        stack.append((fn, True))
        for child in inputs_of(fn):
            if id(child) not in visited:
                stack.append((child, False))
    for fn in order:
        nodes[id(fn)] = _op_node(fn, nodes, leaf_node, by_key)
    return nodes, order, keep


def traced_backward(output: Any, *, gradient: Any = None,
                    labels: dict[str, Any] | None = None
                    ) -> tuple[TorchNode, Any, list[ChainStep], Callable[[Any], Any]]:
    """Run ``output.backward()`` once with hooks on every autograd node below it.

    Returns the output's :class:`TorchNode`, the seed dC/d output, the chain-rule steps in the
    order backward ran them, and a lookup from a torch tensor (a leaf, or an op's result by its
    ``grad_fn``) to its node. ``labels``: names for tensors ({name: tensor}, e.g.
    ``dict(model.named_parameters())``): a labelled tensor's node carries the name and its
    values. A leaf that held a gradient keeps it as it was (as minigrad's ``trace``); one that
    held none is left with this pass's.
    """
    if not isinstance(output, torch.Tensor) or output.grad_fn is None:
        raise TypeError("trace: expected a torch tensor computed from tensors that require "
                        "grad (it has no grad_fn)")
    if gradient is None and output.numel() != 1:
        raise ValueError(f"trace: the output has {output.numel()} elements; pass gradient= "
                         "(dC/d output), as for Tensor.backward")
    by_key: dict[int, tuple[str, Any]] = {}  # id(leaf tensor) or id(grad_fn) -> label, tensor
    for name, tensor in (labels or {}).items():
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"trace: labels[{name!r}] is a {type(tensor).__name__}, not a tensor")
        by_key[id(tensor.grad_fn) if tensor.grad_fn is not None else id(tensor)] = (name, tensor)

    nodes, order, keep = _build_nodes(output, by_key)  # keep: alive until we return
    root_fn = output.grad_fn

    # Leaves start the pass with no gradient; the ones that held one get it back afterwards.
    leaves = [node.tensor for node in nodes.values() if node.tensor is not None
              and node.requires_grad]
    held = {id(t): (t, t.grad) for t in leaves if t.grad is not None}
    for t, _ in held.values():
        t.grad = None
    record = _Recorder()
    handles = []
    for fn in order:
        node = nodes[id(fn)]
        try:
            handles.append(fn.register_hook(_post_hook(node, record)))
        except (AttributeError, RuntimeError) as error:
            raise TorchInternalsError(f"trace: cannot hook {type(fn).__name__} ({error})") \
                from None
    seed = torch.ones_like(output) if gradient is None else torch.as_tensor(
        np.asarray(getattr(gradient, "data", gradient)), dtype=output.dtype,
        device=output.device)
    try:
        output.backward(seed, retain_graph=True)
    finally:
        for handle in handles:
            handle.remove()
        for t, grad in held.values():
            t.grad = grad
    root = nodes[id(root_fn)]
    root.data = _numpy(output)
    for node in nodes.values():
        node.like = output
    seed_value = _numpy(seed)
    totals: dict[TorchNode, Any] = {root: seed_value}
    for step in record.steps:
        parent = step.parent
        totals[parent] = step.contribution if parent not in totals \
            else totals[parent] + step.contribution
    for node in nodes.values():  # values autograd kept nowhere: NaN of the gradient's shape
        if node.data is None:
            node.data = np.full(np.shape(totals.get(node, np.nan)), np.nan)
    scalar = all(np.size(node.data) == 1 for node in nodes.values()) and output.numel() == 1
    if scalar:
        _to_numbers(nodes.values(), record)
        totals = {node: float(np.asarray(g).reshape(())) for node, g in totals.items()}
        seed_value = float(seed_value.reshape(()))
        if not root.label:
            root.label = "C"
    for node, total in totals.items():
        node.grad = total

    def lookup(x: Any) -> Any:
        if isinstance(x, torch.Tensor):
            key = id(x.grad_fn) if x.grad_fn is not None else id(x)
            if key in nodes:
                return nodes[key]
        return x

    return root, seed_value, record.steps, lookup


def _op_node(fn: Any, nodes: dict[int, TorchNode], leaf_node: Callable[..., TorchNode],
             by_key: dict[int, tuple[str, Any]]) -> TorchNode:
    """The TorchNode of one autograd node, its inputs' nodes already built."""
    label, labelled = by_key.get(id(fn), ("", None))
    parts = _linear_parts(fn)
    if parts is not None:
        bias_fn, x_fn, weight = parts
        is_addmm = type(fn).__name__ == "AddmmBackward0"
        x_data = _value(_saved(fn, "_saved_mat1" if is_addmm else "_saved_self"))
        if x_fn is None:  # an input that needs no gradient: a constant, from the saved x
            x = leaf_node(_saved(fn, "_saved_mat1" if is_addmm else "_saved_self"),
                          constant=True)
        elif type(x_fn).__name__ == "AccumulateGrad":
            x = leaf_node(_leaf_of(x_fn))
        else:
            x = nodes[id(x_fn)]
        w = leaf_node(weight)
        parents = [x, w]
        if bias_fn is not None:
            parents.append(leaf_node(_leaf_of(bias_fn)))
        node = TorchNode("linear", tuple(parents), None, fn=fn, label=label)
        node.kind = "linear"
        node.locals = (w.data, x_data, 1.0)[:len(parents)]
        if len(parents) == 3 or not is_addmm:  # (a bias that needs no gradient: not known)
            z = x_data @ w.data.T
            node.data = z + parents[2].data if len(parents) == 3 else z
        if is_addmm:
            node.slots = (1, 2, 0)[:len(parents)]
        else:
            node.slots = (0, 1)
        return node
    parents, slots = [], []
    for slot, (child, _) in enumerate(fn.next_functions):
        if child is None:
            continue
        parents.append(leaf_node(_leaf_of(child)) if type(child).__name__ == "AccumulateGrad"
                       else nodes[id(child)])
        slots.append(slot)
    op = op_name(fn)
    node = TorchNode(op, tuple(parents), None, fn=fn, label=label)
    node.slots = tuple(slots)
    node.data = _numpy(labelled) if labelled is not None else None
    local_at = _locals(fn, op, node)
    if local_at is not None:
        node.kind = "elementwise"
        node.locals = tuple(local_at[slot] for slot in slots)
    return node


def _locals(fn: Any, op: str, node: TorchNode) -> list[Any] | None:
    """The local derivative for each input of an elementwise op (and its value where saved);
    None for an op whose Jacobian is not described."""
    if op not in _ELEMENTWISE:
        return None
    name = type(fn).__name__
    if op in ("sigmoid", "tanh", "relu", "exp"):
        result = _value(_saved(fn, "_saved_result"))
        if node.data is None:
            node.data = result
        return [_DERIVATIVE_OF_OUTPUT[op](np.asarray(result))]
    if op == "*":
        other = _value(_saved(fn, "_saved_other"))
        if name == "MulBackward1":  # times a number
            return [other]
        this = _value(_saved(fn, "_saved_self"))  # None when `other` needs no gradient
        if node.data is None and this is not None and other is not None:
            node.data = np.asarray(this * other)
        return [other, this]
    if op in ("+", "-"):
        alpha = float(_saved(fn, "_saved_alpha")) if hasattr(fn, "_saved_alpha") else 1.0
        sign = -1.0 if op == "-" else 1.0
        if name in ("AddBackward1", "SubBackward1"):  # a tensor and a number
            return [1.0]
        if name == "RsubBackward1":  # number - tensor
            return [-alpha]
        return [1.0, sign * alpha]
    if op == "neg":
        return [-1.0]
    if op == "log":  # d ln(a)/da = 1/a
        this = _value(_saved(fn, "_saved_self"))
        if node.data is None and this is not None:
            node.data = np.log(this)
        return None if this is None else [1.0 / np.asarray(this)]
    if op == "**" and name == "PowBackward0":  # a^p, p a number: p a^(p - 1)
        this, power = _value(_saved(fn, "_saved_self")), float(_saved(fn, "_saved_exponent"))
        if this is None:
            return None
        if node.data is None:
            node.data = np.asarray(this) ** power
        return [power * np.asarray(this) ** (power - 1.0)]
    if op == "/" and name == "DivBackward0":
        this, other = _value(_saved(fn, "_saved_self")), _value(_saved(fn, "_saved_other"))
        if other is None:
            return None
        return [1.0 / other, None if this is None else -this / (other * other)]
    return None


def _post_hook(node: TorchNode, record: _Recorder) -> Callable[[tuple, tuple], None]:
    """A node hook: each gradient the node hands to one of its inputs is one chain-rule step."""

    def hook(grad_inputs: tuple, grad_outputs: tuple) -> None:
        upstream = next((g for g in grad_outputs if g is not None), None)
        if upstream is None:
            return
        up = _numpy(upstream).copy()
        for index, (parent, slot) in enumerate(zip(node.parents, node.slots)):
            grad = grad_inputs[slot]
            if grad is None or not parent.requires_grad:
                continue
            contribution = _numpy(grad).copy()
            if node.kind == "linear" and index == 1:
                contribution = contribution.T  # the product hands down dC/d(w^T)
            record.steps.append(ChainStep(node, parent, index, node.locals[index], up,
                                          contribution))

    return hook


def _to_numbers(nodes: Iterable[TorchNode], record: _Recorder) -> None:
    """A graph of one-number tensors as numbers (a chain of scalar neurons reads as eq. 122):
    data, local derivatives and steps as floats; a step whose local derivative is not
    described gets contribution / upstream, the 1x1 Jacobian itself."""

    def number(x: Any) -> Any:
        return None if x is None else float(np.asarray(x).reshape(()))

    for node in nodes:
        node.data = number(node.data)
        node.locals = tuple(number(local) for local in node.locals)
    for k, s in enumerate(record.steps):
        up, contribution = number(s.upstream), number(s.contribution)
        local = s.node.locals[s.index]
        if local is None and up:
            local = contribution / up
        record.steps[k] = ChainStep(s.node, s.parent, s.index, local, up, contribution)


def graph_of(output: Any) -> TorchNode:
    """The autograd graph below ``output`` as TorchNodes, without a backward pass: what
    ``draw_graph(torch_scalar)`` draws (the structure, the ops in plain words, the local
    derivatives autograd saved; no gradients, since none has flowed). The nodes hold the
    autograd nodes they stand for, so the graph stays alive while they do."""
    if not isinstance(output, torch.Tensor) or output.grad_fn is None:
        raise TypeError("draw_graph: expected a torch tensor computed from tensors that "
                        "require grad (it has no grad_fn)")
    nodes, _, _ = _build_nodes(output, {})
    root = nodes[id(output.grad_fn)]
    root.data = _numpy(output)
    for node in nodes.values():
        node.like = output
        if node.data is None:  # a value autograd kept nowhere: shown as NaN
            node.data = np.asarray(np.nan)
    return root
