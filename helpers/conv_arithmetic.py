"""Output sizes and receptive fields of convolution and pooling layers (plumbing).

Notebook 03 states and checks these formulas itself; the conv explorer widget and other
notebooks reuse them from here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from torch import nn

from .arguments import check_int

# Layers that change no geometry: applied to every pixel (or channel) on its own.
PIXELWISE = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm, nn.LocalResponseNorm,
             nn.modules.dropout._DropoutNd, nn.Identity, nn.PReLU)  # fmt: skip
# Parameter-free layers that do change it, in a way the recursion below does not cover.
OTHER_GEOMETRY = (nn.modules.conv._ConvTransposeNd, nn.modules.pooling._AdaptiveAvgPoolNd,
                  nn.modules.pooling._AdaptiveMaxPoolNd, nn.modules.pooling._MaxUnpoolNd,
                  nn.modules.pooling._LPPoolNd, nn.Upsample, nn.Flatten, nn.Unflatten,
                  nn.PixelShuffle, nn.PixelUnshuffle)  # fmt: skip


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
    i = check_int(i, "input size i", minimum=1)
    k = check_int(k, "kernel size k", minimum=1)
    s = check_int(s, "stride s", minimum=1)
    p = check_int(p, "padding p", minimum=0)
    d = check_int(d, "dilation d", minimum=1)
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
    if not isinstance(layer, (tuple, nn.Module)):
        raise TypeError(
            f"each layer is a (kernel, stride) tuple or a module such as nn.Conv2d(1, 1, 3); "
            f"got {layer!r} ({type(layer).__name__})."
        )
    if isinstance(layer, tuple):
        if not 2 <= len(layer) <= 3:
            raise ValueError(
                f"a layer tuple is (kernel, stride) or (kernel, stride, dilation); got {layer}."
            )
        k, s, d = (*layer, 1) if len(layer) == 2 else layer
        return (
            check_int(k, "kernel", minimum=1),
            check_int(s, "stride", minimum=1),
            check_int(d, "dilation", minimum=1),
        )
    name = type(layer).__name__
    if isinstance(layer, OTHER_GEOMETRY):
        raise ValueError(
            f"receptive_field follows convolutions and max/avg pooling; {name} changes the "
            "geometry in another way: pass the layers before it."
        )
    if isinstance(layer, (nn.modules.conv._ConvNd, nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)):
        return (_as_int(layer.kernel_size), _as_int(layer.stride), _as_int(layer.dilation))
    if isinstance(layer, (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)):
        return (_as_int(layer.kernel_size), _as_int(layer.stride), 1)
    if any(True for _ in layer.children()):
        raise ValueError(f"pass the layers of {name} one by one (or an nn.Sequential).")
    if isinstance(layer, PIXELWISE) or not any(True for _ in layer.parameters()):
        return None  # norms, dropout, activations (also your own): pixel-wise, no change
    raise ValueError(
        f"receptive_field follows convolutions, pooling and pixel-wise layers; {name} is none "
        "of them: pass the layers before it."
    )


def _flatten(layers: Iterable[Layer]) -> list[Layer]:
    flat: list[Layer] = []
    for layer in layers:
        if isinstance(layer, (nn.Sequential, nn.ModuleList)):
            flat.extend(_flatten(layer))
        else:
            flat.append(layer)
    return flat


def receptive_field(layers: Sequence[Layer] | nn.Sequential) -> int:
    """Receptive field (in input pixels, along one axis) of one output pixel of a layer stack.

    `layers` holds `(kernel, stride)` or `(kernel, stride, dilation)` tuples, or modules
    (Conv, MaxPool, AvgPool; pixel-wise layers are skipped: norms, dropout and modules without
    weights such as ReLU; other layers, e.g. Linear or AdaptiveAvgPool2d, are refused). The
    recursion is
    `r += (k_eff - 1) * j; j *= s` starting from `r = j = 1`, where `j` is the distance in
    input pixels between neighbouring positions of the current layer.

    Used by notebooks 02, 03, 08, 09.
    """
    if isinstance(layers, nn.Module) and not isinstance(layers, (nn.Sequential, nn.ModuleList)):
        raise TypeError(
            f"layers must be a list of layers or an nn.Sequential; {type(layers).__name__} is "
            "one network: pass the part to measure, e.g. model.features or model[:4]."
        )
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Iterable):
        raise TypeError(f"layers must be a list of layers, got {type(layers).__name__}.")
    r, j = 1, 1
    for layer in _flatten(layers):
        window = _window(layer)
        if window is None:
            continue
        k, s, d = window
        r += d * (k - 1) * j
        j *= s
    return r
