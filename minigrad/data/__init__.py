"""Datasets for the lessons: MNIST (a shipped sample or the full set) and mini-batches."""

from minigrad.data.batches import batches
from minigrad.data.mnist import MNIST, MNISTFormatError, load_mnist, one_hot

__all__ = ["MNIST", "MNISTFormatError", "batches", "load_mnist", "one_hot"]
