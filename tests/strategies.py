"""Bounded hypothesis strategies shared by the test suite.

Gradients are checked against central differences (eps = 1e-6), so every strategy keeps its
numbers small and away from the places where an op has no derivative: relu's kink at 0, log's
and division's pole at 0, ties of max. Shapes stay small so that a check of every element is
quick.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

__all__ = [
    "BROADCAST_PATTERNS",
    "small_floats",
    "positive_floats",
    "nonzero_floats",
    "shapes",
    "broadcast_pair",
    "broadcast_pairs",
    "axes_for",
    "float64_arrays",
    "distinct_arrays",
]

MAX_SIDE = 4  # every axis has 1..MAX_SIDE elements: small enough to check element by element


def _floats(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def small_floats(bound: float = 3.0) -> st.SearchStrategy[float]:
    """Finite floats in [-bound, bound]: exp, tanh, sigmoid and products stay well scaled."""
    return _floats(-bound, bound)


def positive_floats(low: float = 0.1, high: float = 3.0) -> st.SearchStrategy[float]:
    """Floats in [low, high], low > 0: away from the poles of log, 1/x and x^y at 0."""
    return _floats(low, high)


def nonzero_floats(low: float = 0.1, high: float = 3.0) -> st.SearchStrategy[float]:
    """Floats with low <= |x| <= high of either sign: away from relu's kink and 1/x's pole."""
    return st.one_of(_floats(low, high), _floats(-high, -low))


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1,
           max_side: int = MAX_SIDE) -> st.SearchStrategy[tuple[int, ...]]:
    """Array shapes with min_dims..max_dims axes of min_side..max_side elements."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


# Every way numpy broadcasting can pair two shapes a and b (a is the left operand):
BROADCAST_PATTERNS = (
    "equal",            # (2, 3) and (2, 3)
    "scalar_left",      # () and (2, 3)
    "scalar_right",     # (2, 3) and ()
    "fewer_axes_left",  # (3,) and (2, 3): leading axes added to a
    "fewer_axes_right",  # (2, 3) and (3,): leading axes added to b
    "ones_left",        # (2, 1) and (2, 3): size-1 axes of a stretched
    "ones_right",       # (2, 3) and (1, 3): size-1 axes of b stretched
    "ones_both",        # (2, 1) and (1, 3): each side stretched along different axes
    "mixed",            # (4, 1, 3) and (2, 1): leading axes added and size-1 axes stretched
)


def _with_ones(shape: tuple[int, ...], axes: list[int]) -> tuple[int, ...]:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


@st.composite
def broadcast_pair(draw: st.DrawFn, pattern: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Two shapes that broadcast together in the way ``pattern`` names (see BROADCAST_PATTERNS).

    Axes have 2..MAX_SIDE elements, so a size-1 axis is always really stretched.
    """
    if pattern not in BROADCAST_PATTERNS:
        raise ValueError(f"unknown broadcasting pattern {pattern!r}")
    two_axes = pattern in ("fewer_axes_left", "fewer_axes_right", "ones_both", "mixed")
    full = draw(shapes(min_dims=2 if two_axes else 1, max_dims=3, min_side=2))
    axes = list(range(len(full)))
    if pattern == "equal":
        return full, full
    if pattern == "scalar_left":
        return (), full
    if pattern == "scalar_right":
        return full, ()
    if pattern in ("fewer_axes_left", "fewer_axes_right"):
        short = full[draw(st.integers(1, len(full) - 1)):]
        return (short, full) if pattern == "fewer_axes_left" else (full, short)
    if pattern in ("ones_left", "ones_right"):
        ones = draw(st.lists(st.sampled_from(axes), min_size=1, unique=True))
        stretched = _with_ones(full, ones)
        return (stretched, full) if pattern == "ones_left" else (full, stretched)
    # ones_both and mixed: a and b have size-1 axes at disjoint, non-empty sets of axes
    ones_a = draw(st.lists(st.sampled_from(axes), min_size=1, max_size=len(full) - 1,
                           unique=True))
    rest = [i for i in axes if i not in ones_a]
    ones_b = draw(st.lists(st.sampled_from(rest), min_size=1, unique=True))
    a, b = _with_ones(full, ones_a), _with_ones(full, ones_b)
    if pattern == "mixed":  # a gains a leading axis; b may lose some, but none facing a's 1s
        a = (draw(st.integers(2, MAX_SIDE)),) + a
        b = b[draw(st.integers(0, min(ones_a))):]
    return a, b


def broadcast_pairs() -> st.SearchStrategy[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Any pair of broadcast-compatible shapes: every pattern, plus hypothesis's own pairs."""
    own = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                            max_side=MAX_SIDE).map(lambda s: s.input_shapes)
    return st.one_of(st.sampled_from(BROADCAST_PATTERNS).flatmap(broadcast_pair), own)


@st.composite
def axes_for(draw: st.DrawFn, ndim: int) -> int | tuple[int, ...] | None:
    """An axis argument for an array of ``ndim`` axes: None, an int, or a tuple of distinct axes.

    Ints and tuple entries may be negative (counting from the end); tuples may be empty.
    """
    if ndim == 0:
        return draw(st.sampled_from([None, ()]))
    one_axis = st.integers(-ndim, ndim - 1)
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return None
    if kind == "int":
        return draw(one_axis)
    chosen = draw(st.lists(st.integers(0, ndim - 1), max_size=ndim, unique=True))
    return tuple(draw(st.sampled_from([i, i - ndim])) for i in chosen)  # either spelling


def float64_arrays(shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]],
                   elements: st.SearchStrategy[float] | None = None,
                   ) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays of ``shape`` (or drawn shapes), elements from ``elements`` (small_floats)."""
    return hnp.arrays(np.float64, shape, elements=small_floats() if elements is None else elements)


@st.composite
def distinct_arrays(draw: st.DrawFn, shape: tuple[int, ...], gap: float = 0.1) -> np.ndarray:
    """float64 arrays whose elements all differ by at least ``gap``: max has no ties."""
    size = int(np.prod(shape, dtype=int))
    order = draw(st.permutations(range(size)))
    scale = draw(_floats(gap, 1.0))
    shift = draw(small_floats(2.0))
    return (np.array(order, dtype=np.float64) * scale + shift - scale * size / 2).reshape(shape)
