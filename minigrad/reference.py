"""The published numbers minigrad's lessons and tests compare with, each with its source.

    from minigrad import reference
    reference.BOOK_ACCURACY.value      # {1: 96.48, 2: 96.9, 3: 96.57, 4: 96.53}
    reference.BOOK_ACCURACY.source     # 'Nielsen, Neural Networks and Deep Learning, ch. 5, ...'

Plain data, one :class:`Reference` per quantity: its value (a number, a pair (low, high), or a
table keyed by the number of hidden layers), where it comes from, and a note on the setting.
Most are Nielsen's (*Neural Networks and Deep Learning*, chapter 5) or the book's own figure
runs; a few are the literature's; the ones that are not published but were measured for this
project say "measured" in their source. docs/reference.md shows them all as one table (a test
keeps it in step with this file). This module imports nothing of minigrad.

The book's measurement (section "The vanishing gradient problem"): the speed of learning of
hidden layer l is s_l = ||(1/N) sum_x dC_x/db^l||, on the first 1,000 MNIST training images,
for sigmoid neurons on every layer with the cross-entropy cost, weights N(0, 1)/sqrt(n_in) and
biases N(0, 1), at initialisation (epoch 0), without the L2 term.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "Reference",
    "entries",
    "BOOK_ACCURACY",
    "BOOK_SPEEDS_TEXT",
    "BOOK_SPEEDS_RUN",
    "BOOK_RUN_RATIO",
    "BOOK_SLOWDOWN",
    "SEED_MEDIANS",
    "SEED_LOG10_SPREAD",
    "SEED_RATIO_RANGE",
    "ADJACENT_RATIO_MEDIAN",
    "ADJACENT_RATIO_RANGE",
    "CURVE_MINIMUM_EPOCHS",
    "CURVE_RATIO_RANGE",
    "EXPLODING_PRODUCT",
    "WIDEST_WINDOW",
    "WINDOW_WIDTHS",
    "PASCANU_GAMMA",
    "BATCH_NORM_BIAS_GRAD",
    "BATCH_NORM_TORCH",
    "UPDATE_DATA_HEALTHY",
]


@dataclass(frozen=True)
class Reference:
    """One number (or table) to compare with: its value, its source, a note on the setting."""

    value: Any
    source: str
    note: str = ""


_BOOK = "Nielsen, Neural Networks and Deep Learning, ch. 5"
_STORED_RUN = ("the book's stored run of its figure script (fig/norms_during_training_"
               "{2,3,4}_layers.json, written by fig/generate_gradient.py, in "
               "github.com/mnielsen/neural-networks-and-deep-learning)")
_SEEDS = ("measured for minigrad, not published: the book's setting over 1,000 initialisations "
          "on a class-balanced 1,000-image MNIST sample")

# ---- the speed of learning per hidden layer (ch. 5, "The vanishing gradient problem") ------
BOOK_ACCURACY = Reference(
    {1: 96.48, 2: 96.90, 3: 96.57, 4: 96.53},
    f"{_BOOK}, 'The vanishing gradient problem'",
    "% validation accuracy for 1-4 hidden layers of 30 sigmoid neurons: 50,000 training "
    "images, 30 epochs, mini-batch 10, eta 0.1, lambda 5.0 (more depth did not help)")

BOOK_SPEEDS_TEXT = Reference(
    {2: (0.07, 0.31), 3: (0.012, 0.060, 0.283), 4: (0.003, 0.017, 0.070, 0.285)},
    f"{_BOOK}, 'The vanishing gradient problem' (the speeds its text quotes)",
    "s_l of each hidden layer at initialisation, for 2, 3 and 4 hidden layers of 30")

BOOK_SPEEDS_RUN = Reference(
    {2: (0.0657, 0.3092), 3: (0.0118, 0.0600, 0.2831), 4: (0.00298, 0.0171, 0.0695, 0.2851)},
    f"{_STORED_RUN}, epoch 0",
    "the same measurement to more digits: one draw (the book sets no seed); "
    "4 hidden layers: last/first 95.8")

BOOK_RUN_RATIO = Reference(
    {2: 4.70, 3: 23.9, 4: 95.8},
    f"{_STORED_RUN}, epoch 0",
    "last/first of the stored run's unrounded speeds (0.309218/0.0657413, 0.283142/0.0118382, "
    "0.285139/0.0029753): the rounded numbers above give 4.71, 24.0 and 95.7")

BOOK_SLOWDOWN = Reference(
    100,
    f"{_BOOK}, 'The vanishing gradient problem'",
    "'the first hidden layer learns roughly 100 times slower than the final hidden layer' "
    "(4 hidden layers)")

SEED_MEDIANS = Reference(
    {2: (0.060, 0.291), 3: (0.012, 0.059, 0.293), 4: (0.0024, 0.0116, 0.0588, 0.294)},
    _SEEDS,
    "the median of s_l per hidden layer; the speeds increase layer by layer in every draw")

SEED_LOG10_SPREAD = Reference(
    (0.09, 0.14),
    _SEEDS,
    "the standard deviation of log10(s_l) over the draws, per layer: about 0.09-0.14")

SEED_RATIO_RANGE = Reference(
    {2: (3.6, 7.1), 3: (16, 40), 4: (70, 220)},
    _SEEDS,
    "last/first hidden speed s_L/s_1, 1st-99th percentile, for 2, 3 and 4 hidden layers "
    "(the book's ~100x of 4 hidden layers is one draw in 70-220)")

ADJACENT_RATIO_MEDIAN = Reference(
    4.9,
    _SEEDS,
    "s_(l+1)/s_l of neighbouring hidden layers, over the 2-, 3- and 4-hidden-layer nets: "
    "each layer learns about 5 times slower than the one above it")

ADJACENT_RATIO_RANGE = Reference(
    (3.6, 7.2),
    _SEEDS,
    "s_(l+1)/s_l of neighbouring hidden layers, 1st-99th percentile")

# ---- during training: the book's speed-of-learning curves -----------------------------------
CURVE_MINIMUM_EPOCHS = Reference(
    (25, 100),
    f"{_STORED_RUN}, 500 epochs (the book's speed-of-learning figures); the band widened by "
    "minigrad to cover other initialisations",
    "2 hidden layers: each epoch one full-batch step on the 1,000 images (eta 0.1, L2 lambda "
    "5.0, biases not decayed), 500 epochs; both speeds fall to a minimum in these epochs, "
    "then rebound several-fold (the stored run: minima at epochs 39 and 53, rebounds 3.6x "
    "and 7.2x)")

CURVE_RATIO_RANGE = Reference(
    (40, 210),
    f"{_STORED_RUN}, 500 epochs (the book's speed-of-learning figures); the band widened by "
    "minigrad to cover other initialisations",
    "4 hidden layers, the same training: last/first stays in this range for all 500 epochs "
    "(the stored run: 49-138)")

# ---- the chain of single neurons (ch. 5, "What's causing the vanishing gradient problem?") -
EXPLODING_PRODUCT = Reference(
    3906.25,
    f"{_BOOK}, 'The exploding gradient problem': every w_j = 100 and b_j = -100 a_(j-1), so "
    "each term w_j sigma'(z_j) = 100 x 1/4 = 25",
    "dC/db_1 / dC/da_4 = sigma'(z_1) x 25^3 = (1/4) 25^3 for 4 neurons (eq. 122): the "
    "product of the book's terms")

WIDEST_WINDOW = Reference(
    {"w": 6.894, "width": 0.4477},
    f"eq. 123 of {_BOOK}, 'The prevalence of the vanishing gradient problem', evaluated "
    "(the book: greatest at a weight of about 6.9, width about 0.45)",
    "the largest width of the inputs a with |w sigma'(w a + b)| >= 1, "
    "(2/|w|) ln(|w| (1 + sqrt(1 - 4/|w|)) / 2 - 1), and the |w| where it is reached")

WINDOW_WIDTHS = Reference(
    {5.0: 0.385, 10.0: 0.413, 100.0: 0.092},
    f"eq. 123 of {_BOOK}, evaluated to 3 digits",
    "the width of that window at |w| = 5, 10 and 100")

# ---- past the book ---------------------------------------------------------------------------
PASCANU_GAMMA = Reference(
    {"tanh": 1.0, "sigmoid": 0.25},
    "Pascanu, Mikolov, Bengio 2013, 'On the difficulty of training recurrent neural networks'",
    "gamma bounds |f'|; ||W_hh|| < 1/gamma is sufficient for the gradient to vanish over "
    "time, ||W_hh|| > 1/gamma necessary for it to explode")

BATCH_NORM_BIAS_GRAD = Reference(
    0.0,
    "Ioffe & Szegedy 2015, 'Batch normalization', section 3.2: the mean subtraction cancels "
    "the bias of W u + b, whose role beta takes",
    "dC/db of a Linear layer just before a batch norm is exactly 0 (in floating point, "
    "rounding: the lessons allow up to 1e-12)")

BATCH_NORM_TORCH = Reference(
    {"speeds": (0.0037, 0.0041, 0.0035, 0.33), "spread_1_3": 1.2, "hidden_4_over_1_3": (60, 90),
     "plain_last_over_first": (81, 173)},
    "measured for minigrad with PyTorch, not published: the book's [784, 30, 30, 30, 30, 10] "
    "sigmoid net with BatchNorm1d before each hidden sigmoid (the book's init, 1,000 images, "
    "cross-entropy, 3 seeds)",
    "||dC/dbeta|| per hidden layer (about); hidden 1-3 within 1.2x of each other, hidden 4 "
    "60-90x faster; without batch norm last/first was 81-173x for the same seeds")

UPDATE_DATA_HEALTHY = Reference(
    -3,
    "Karpathy, 'Building makemore part 3' (2022); CS231n notes, 'Neural networks part 3'",
    "update:data, log10(||eta dW|| / ||W||) of a layer: healthy near -3 (a step changes the "
    "weights by about 0.1%)")


def entries() -> dict[str, Reference]:
    """Every reference of this module by name, in the order of the file."""
    return {name: value for name, value in globals().items() if isinstance(value, Reference)}
