"""Mini-batches for stochastic gradient descent."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

_RNG_TYPES = (np.random.Generator, np.random.BitGenerator, np.random.SeedSequence)  # default_rng's


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
    if np.ndim(x) == 0 or np.ndim(y) == 0:
        raise ValueError(
            f"batches: x and y must be arrays of examples (at least 1-D), "
            f"got shapes {np.shape(x)} and {np.shape(y)}"
        )
    if len(x) != len(y):
        raise ValueError(
            f"batches: x and y must hold the same number of examples, "
            f"got {len(x)} and {len(y)}"
        )
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(f"batches: batch_size must be an integer >= 1, got {batch_size!r}")
    if batch_size < 1:
        raise ValueError(f"batches: batch_size must be at least 1, got {batch_size}")
    seed = isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0
    if not (rng is None or seed or isinstance(rng, _RNG_TYPES)):
        raise ValueError(
            f"batches: rng must be a numpy Generator, an int seed >= 0 or None, got {rng!r}"
        )
    order = np.random.default_rng(rng).permutation(len(x)) if shuffle else np.arange(len(x))
    starts = range(0, len(x), batch_size)
    return ((x[order[i : i + batch_size]], y[order[i : i + batch_size]]) for i in starts)
