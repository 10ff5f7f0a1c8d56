r"""Weight initialisations by name: each returns (weight (n_out, n_in), bias (n_out,)).

- ``nielsen``: W ~ N(0, 1)/sqrt(n_in), b ~ N(0, 1)      (the book's default, chapter 3 on)
- ``large``: W ~ N(0, 1), b ~ N(0, 1)                   (the book's first chapters)
- ``xavier``: W ~ U[-r, r], r = sqrt(6/(n_in + n_out)), b = 0   (Glorot & Bengio 2010)
- ``he``: W ~ N(0, 2/n_in), b = 0                        (He et al. 2015, for ReLU)
- ``orthogonal``: W with orthonormal rows or columns (QR of a Gaussian), b = 0
"""

from __future__ import annotations

import numpy as np

__all__ = ["SCHEMES", "initialise"]


def _nielsen(n_in: int, n_out: int, rng: np.random.Generator) -> tuple:
    return rng.standard_normal((n_out, n_in)) / np.sqrt(n_in), rng.standard_normal(n_out)


def _large(n_in: int, n_out: int, rng: np.random.Generator) -> tuple:
    return rng.standard_normal((n_out, n_in)), rng.standard_normal(n_out)


def _xavier(n_in: int, n_out: int, rng: np.random.Generator) -> tuple:
    r = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-r, r, (n_out, n_in)), np.zeros(n_out)


def _he(n_in: int, n_out: int, rng: np.random.Generator) -> tuple:
    return rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / n_in), np.zeros(n_out)


def _orthogonal(n_in: int, n_out: int, rng: np.random.Generator) -> tuple:
    gaussian = rng.standard_normal((max(n_out, n_in), min(n_out, n_in)))
    q, r = np.linalg.qr(gaussian)  # q: orthonormal columns
    q *= np.sign(np.diag(r))  # makes the draw uniform over orthogonal matrices
    return (q if n_out >= n_in else q.T), np.zeros(n_out)


SCHEMES = {"nielsen": _nielsen, "large": _large, "xavier": _xavier, "he": _he,
           "orthogonal": _orthogonal}


def initialise(scheme: str, n_in: int, n_out: int,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(weight, bias) for a layer n_in -> n_out drawn by the named scheme."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown init {scheme!r}; choose one of {', '.join(SCHEMES)}")
    return SCHEMES[scheme](n_in, n_out, rng)
