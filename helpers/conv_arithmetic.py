"""Output sizes and receptive fields of convolution and pooling layers (plumbing).

Notebook 03 states and checks these formulas itself; the conv explorer widget and other
notebooks reuse them from here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from torch import nn


def _positive(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or int(value) != value or value < minimum:
        raise ValueError(f"{name}={value!r} must be an integer >= {minimum}.")
    return int(value)


def conv_output_size(
    i: int, k: int, s: int = 1, p: int = 0, d: int = 1, ceil_mode: bool = False
) -> int:
    """Output length of a convolution or pooling window along one axis.

    `o = floor((i + 2p - k_eff) / s) + 1` with `k_eff = d (k - 1) + 1`. With `ceil_mode=True`
    the floor becomes a ceiling, as in PyTorch's pooling layers, which also drop a last
    window that would start entirely inside the right-hand padding.
    Raises `ValueError` when the window does not fit into the padded input.

    Used by notebook 03.
    """
    i = _positive("input size i", i, 1)
    k = _positive("kernel size k", k, 1)
    s = _positive("stride s", s, 1)
    p = _positive("padding p", p, 0)
    d = _positive("dilation d", d, 1)
    k_eff = d * (k - 1) + 1
    span = i + 2 * p - k_eff
    if span < 0:
        raise ValueError(
            f"a window of effective size {k_eff} (k={k}, d={d}) does not fit into the padded "
            f"input of size {i + 2 * p} (i={i}, p={p})."
        )
    if not ceil_mode:
        return span // s + 1
    o = math.ceil(span / s) + 1
    if (o - 1) * s >= i + p:  # the last window would start in the right padding
        o -= 1
    return o


Layer = tuple[int, ...] | nn.Module


def _as_int(value: int | tuple[int, ...]) -> int:
    if isinstance(value, tuple):
        if len(set(value)) != 1:
            raise ValueError(f"receptive_field needs square windows; got {value}.")
        return int(value[0])
    return int(value)


def _window(layer: Layer) -> tuple[int, int, int] | None:
    """(kernel, stride, dilation) of a layer, or None for layers that keep the geometry."""
    if isinstance(layer, tuple):
        if not 2 <= len(layer) <= 3:
            raise ValueError(
                f"a layer tuple is (kernel, stride) or (kernel, stride, dilation); got {layer}."
            )
        k, s, d = (*layer, 1) if len(layer) == 2 else layer
        return (_positive("kernel", k, 1), _positive("stride", s, 1), _positive("dilation", d, 1))
    if isinstance(layer, (nn.modules.conv._ConvNd, nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)):
        return (_as_int(layer.kernel_size), _as_int(layer.stride), _as_int(layer.dilation))
    if isinstance(layer, (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)):
        return (_as_int(layer.kernel_size), _as_int(layer.stride), 1)
    if len(list(layer.children())) == 0:
        return None  # activations, norms, dropout: pixel-wise, no change
    raise ValueError(f"pass the layers of {type(layer).__name__} one by one (or an nn.Sequential).")


def _flatten(layers: Iterable[Layer]) -> list[Layer]:
    flat: list[Layer] = []
    for layer in layers:
        if isinstance(layer, nn.Sequential):
            flat.extend(_flatten(layer))
        else:
            flat.append(layer)
    return flat


def receptive_field(layers: Sequence[Layer] | nn.Sequential) -> int:
    """Receptive field (in input pixels, along one axis) of one output pixel of a layer stack.

    `layers` holds `(kernel, stride)` or `(kernel, stride, dilation)` tuples, or modules
    (Conv, MaxPool, AvgPool; pixel-wise layers such as ReLU are skipped). The recursion is
    `r += (k_eff - 1) * j; j *= s` starting from `r = j = 1`, where `j` is the distance in
    input pixels between neighbouring positions of the current layer.

    Used by notebooks 02, 03, 08, 09.
    """
    r, j = 1, 1
    for layer in _flatten(layers):
        window = _window(layer)
        if window is None:
            continue
        k, s, d = window
        r += d * (k - 1) * j
        j *= s
    return r
