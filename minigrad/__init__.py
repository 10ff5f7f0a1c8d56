"""minigrad: a small reverse-mode autodiff engine on numpy that shows where gradients vanish.

    from minigrad import Value
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = (a * b).sigmoid()
    c.backward()          # a.grad == b * sigma'(a*b), b.grad == a * sigma'(a*b)
"""

import importlib
from typing import Any

from minigrad import data, nn, optim, reference
from minigrad.engine import ChainStep, is_grad_enabled, no_grad
from minigrad.gradcheck import GradcheckError, gradcheck
from minigrad.tensor import Tensor
from minigrad.value import Value

__version__ = "0.1.0"

__all__ = [
    "Value",
    "Tensor",
    "ChainStep",
    "no_grad",
    "is_grad_enabled",
    "gradcheck",
    "GradcheckError",
    "__version__",
    "nn",
    "optim",
    "data",
    "reference",
    "names",
    "trace",
    "factors",
    "flow",
    "viz",
    "train",
]

# The floors above the node types, imported on first use: they pull in graphviz, tqdm.
_LAZY = {"names", "trace", "factors", "flow", "viz", "train"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return importlib.import_module(f"minigrad.{name}")
    raise AttributeError(f"module 'minigrad' has no attribute {name!r}")
