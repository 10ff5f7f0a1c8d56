"""Mini-batches for stochastic gradient descent."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


def batches(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    *,
    shuffle: bool = True,
    rng: np.random.Generator | int | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (x_batch, y_batch) pairs covering every example once; the last may be smaller.

    With `shuffle`, the order is a fresh permutation drawn from `rng` (a Generator, which
    advances so every epoch differs, or an int seed for a reproducible order).
    """
    # Checked here, not inside the generator, so mistakes fail at the call, not at first use.
    if len(x) != len(y):
        raise ValueError(
            f"x and y must hold the same number of examples, got {len(x)} and {len(y)}"
        )
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    order = np.random.default_rng(rng).permutation(len(x)) if shuffle else np.arange(len(x))
    starts = range(0, len(x), batch_size)
    return ((x[order[i : i + batch_size]], y[order[i : i + batch_size]]) for i in starts)
