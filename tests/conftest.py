"""Hypothesis profiles for the whole suite.

- ``default``: few enough examples that the suite stays quick on a small machine, derandomized
  so that every run (and CI) draws the same examples and a failure reproduces exactly.
- ``thorough``: many random examples, for a long hunt: ``HYPOTHESIS_PROFILE=thorough pytest``.

No deadline: the machine is shared and timings are noisy (timing lives in benchmarks/).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,  # derandomized: nothing to replay, and no .hypothesis/ left in the checkout
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(autouse=True, scope="session")
def one_blas_thread() -> Iterator[None]:
    """One BLAS thread for the whole suite: the nets here are small, and on a shared 2-core
    machine a second BLAS thread makes full-batch steps several times slower, not faster."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


@pytest.fixture
def no_dot(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Hide any system Graphviz `dot`: PATH points at an empty folder (a fresh machine)."""
    empty = tmp_path / "empty_bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
