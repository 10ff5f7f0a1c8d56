r"""Per-layer gradient flow: how fast each layer learns, and where the gradient shrinks or grows.

    from minigrad.flow import gradient_flow
    report = gradient_flow(model, x, y)        # one forward + one backward on the batch
    print(report.table())                      # one line per layer, with its speed of learning
    report.speeds                              # [s_1, ..., s_L], the output layer last

The floor has four rooms, measurement apart from the report:

- :mod:`~minigrad.flow.report`: :class:`FlowReport` and :class:`LayerFlow`, plain data (a
  table, CSV, JSON) that any engine's measurement fills and that pictures and files read;
- :mod:`~minigrad.flow.measure`: :func:`gradient_flow`, the measurement on a minigrad model;
- :mod:`~minigrad.flow.figures`: a layer's figures from numpy arrays, the measurement's
  engine-neutral core (PyTorch's adapter hands its arrays to it too);
- :mod:`~minigrad.flow.verdict`: the words of each row's verdict and of the summary;
- :mod:`~minigrad.flow.recorder`: :class:`FlowRecorder`, the same measurement during training.

The words (speed of learning, gain, layer) are defined once in docs/glossary.md. The pictures of
a report are in :mod:`minigrad.viz` (``draw_layers``, ``plot_speeds``, ``plot_curves``); the
book's 500-epoch experiment is :func:`minigrad.train.speed_of_learning_curves`.
"""

from minigrad.flow.figures import speed_of_learning
from minigrad.flow.measure import gradient_flow, linear_layers
from minigrad.flow.recorder import FlowRecorder
from minigrad.flow.report import FlowReport, LayerFlow, layer_gains, rows_of
from minigrad.names import gain_label

__all__ = [
    "LayerFlow",
    "FlowReport",
    "FlowRecorder",
    "gradient_flow",
    "linear_layers",
    "speed_of_learning",
    "layer_gains",
    "rows_of",
    "gain_label",
]

# Names that lived here before the floors were split (issue 8) and cannot be re-exported
# without an import circle: asking for one says where it went.
_MOVED = {"speed_of_learning_curves": "minigrad.train (it trains: flow only measures)"}


def __getattr__(name: str) -> object:
    if name in _MOVED:
        raise AttributeError(f"minigrad.flow.{name} moved to {_MOVED[name]}: "
                             f"from minigrad.train import {name}")
    raise AttributeError(f"module 'minigrad.flow' has no attribute {name!r}")
