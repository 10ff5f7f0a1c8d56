r"""Other engines' models and tensors in minigrad's report, trace and pictures.

- :mod:`minigrad.adapters.torch`: PyTorch modules, tensors and optimisers (``pip install
  minigrad[torch]``).

minigrad never imports torch on its own: :func:`is_torch` looks only at modules already
imported (an object cannot be a torch object unless torch is loaded), and the adapter itself is
imported only when a torch object is handed to ``gradient_flow``, ``trace`` or
``FlowRecorder.watch``.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["is_torch"]


def is_torch(obj: Any) -> bool:
    """True for a ``torch.nn.Module``, ``torch.Tensor`` or ``torch.optim.Optimizer``; never
    imports torch (without it loaded, nothing can be a torch object)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return False
    return isinstance(obj, (torch.nn.Module, torch.Tensor, torch.optim.Optimizer))
