r"""The words of the gradient-flow report: each layer's verdict and the report's summary sentence.

Rules, from the figures of the report (the words as in docs/glossary.md):

- a zero speed says so and nothing else;
- a hidden layer is compared with the last hidden layer when their speeds differ by ``SLOWER``
  (2x) or more;
- every layer below another names its gain, in one wording: "gradient shrinks 4.0x from layer
  2 (gain x0.25)", "gradient grows x25 from layer 2", or "about the same" within 5% of 1;
- saturation is named from ``SATURATED_FRACTION`` (50%) of activations on (ReLU: "mostly off"
  from ``RELU_OFF_FRACTION``, since half the units off is normal);
- update:data outside ``UPDATE_DATA_RANGE`` (log10) gets a word.
"""

from __future__ import annotations

from typing import Any

from minigrad.names import ratio_text

__all__ = ["layer_verdict", "summary_sentence", "SLOWER", "SAME", "SATURATED_FRACTION",
           "RELU_OFF_FRACTION", "UPDATE_DATA_RANGE"]

SATURATED_FRACTION = 0.5  # a verdict says "saturated" from this fraction of activations on
RELU_OFF_FRACTION = 0.9  # ... and "mostly off" for ReLU (half off is normal) from this one
SLOWER = 2.0  # a verdict compares layers when their speeds differ by this ratio or more
SAME = 0.05  # a gain within 5% of 1: "about the same"
UPDATE_DATA_RANGE = (-4.0, -2.0)  # update:data (log10) outside this range gets a word


def layer_verdict(i: int, speeds: list[float], figures: dict[str, Any]) -> str:
    """The plain-words verdict of layer i (0-based) from the speeds of all layers and its own
    figures (``gain``, ``activation``, ``saturation``, ``update_data``, ``frozen``)."""
    n_hidden = len(speeds) - 1
    speed = speeds[i]
    frozen = ["frozen: its weights need no gradient, it does not learn"] \
        if figures.get("frozen") else []
    if speed == 0:
        return "; ".join(frozen + ["no gradient reaches this layer"])
    words: list[str] = frozen
    if i == n_hidden:
        words.append("output layer")
    elif n_hidden == 1:
        words.append("the only hidden layer")
    elif i == n_hidden - 1:
        words.append("last hidden layer")
    elif speeds[n_hidden - 1] == 0:
        words.append("no gradient reaches the last hidden layer, but some reaches this one")
    else:
        ratio = speeds[n_hidden - 1] / speed
        if ratio >= SLOWER:
            words.append(f"learns {ratio_text(ratio)}x slower than the last hidden layer")
        elif ratio <= 1 / SLOWER:
            words.append(f"learns {ratio_text(1 / ratio)}x faster than the last hidden layer")
        else:
            words.append("learns about as fast as the last hidden layer")
    gain = figures.get("gain")  # s_l / s_(l+1): what the way down into this layer multiplied by
    if gain is not None:  # every layer below another says its gain, in the same words
        above = "the output layer" if i + 1 == n_hidden else f"layer {i + 2}"
        if gain > 1 + SAME:
            words.append(f"gradient grows x{ratio_text(gain)} from {above}")
        elif gain < 1 - SAME:
            words.append(f"gradient shrinks {ratio_text(1 / gain)}x from {above} "
                         f"(gain x{ratio_text(gain)})")
        else:
            words.append(f"gradient about the same from {above} (gain x{ratio_text(gain)})")
    saturation = figures["saturation"]
    if figures["activation"] == "relu":
        if saturation is not None and saturation >= RELU_OFF_FRACTION:
            words.append(f"mostly off: {saturation:.0%} of activations are 0")
    elif saturation is not None and saturation >= SATURATED_FRACTION:
        words.append(f"saturated: {saturation:.0%} of activations")
    update = figures["update_data"]
    if update is not None and update < UPDATE_DATA_RANGE[0]:
        words.append(f"updates tiny (update:data 10^{update:.1f})")
    elif update is not None and update > UPDATE_DATA_RANGE[1]:
        words.append(f"updates large (update:data 10^{update:.1f})")
    return "; ".join(words)


def summary_sentence(hidden: list[float]) -> str:
    """The report in one sentence, from the hidden layers' speeds (first layer first)."""
    if len(hidden) < 2:
        return ("one hidden layer" if hidden else "no hidden layer") + ": nothing to compare"
    if hidden[0] == 0:
        return "no gradient reaches the first hidden layer"
    if hidden[-1] == 0:
        return "no gradient reaches the last hidden layer"
    ratio = hidden[-1] / hidden[0]
    # per layer from the last hidden down to the first: the geometric mean of those gains
    gain = (1 / ratio) ** (1.0 / (len(hidden) - 1))
    if ratio >= 1:
        first = f"the first hidden layer learns {ratio_text(ratio)}x slower than the last"
    else:
        first = f"the first hidden layer learns {ratio_text(1 / ratio)}x faster than the last"
    if gain <= 1:
        return (f"{first}; the gradient shrinks {ratio_text(1 / gain)}x per layer on its way "
                f"down (gain x{ratio_text(gain)})")
    return f"{first}; the gradient grows x{ratio_text(gain)} per layer on its way down"
