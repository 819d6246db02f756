"""conv_output_size and receptive_field against what PyTorch actually does."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from helpers.conv_arithmetic import conv_output_size, receptive_field

SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def conv_settings(draw: st.DrawFn) -> tuple[int, int, int, int, int]:
    k = draw(st.integers(1, 7))
    d = draw(st.integers(1, 3))
    p = draw(st.integers(0, 4))
    s = draw(st.integers(1, 4))
    k_eff = d * (k - 1) + 1
    i = draw(st.integers(max(1, k_eff - 2 * p), 40))
    return i, k, s, p, d


@SETTINGS
@given(conv_settings())
def test_conv_output_size_matches_conv2d(cfg: tuple[int, int, int, int, int]) -> None:
    i, k, s, p, d = cfg
    conv = nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d, bias=False)
    out = conv(torch.zeros(1, 1, i, i + 1))
    assert out.shape[-2] == conv_output_size(i, k, s, p, d)
    assert out.shape[-1] == conv_output_size(i + 1, k, s, p, d)


@st.composite
def pool_settings(draw: st.DrawFn) -> tuple[int, int, int, int, int]:
    k = draw(st.integers(1, 6))
    d = draw(st.integers(1, 2))
    p = draw(st.integers(0, k // 2))  # PyTorch allows at most half the kernel as padding
    s = draw(st.integers(1, 4))
    k_eff = d * (k - 1) + 1
    i = draw(st.integers(max(1, k_eff - 2 * p), 30))
    return i, k, s, p, d


@SETTINGS
@given(pool_settings(), st.booleans())
def test_conv_output_size_matches_maxpool_floor_and_ceil(
    cfg: tuple[int, int, int, int, int], ceil_mode: bool
) -> None:
    i, k, s, p, d = cfg
    pool = nn.MaxPool2d(k, stride=s, padding=p, dilation=d, ceil_mode=ceil_mode)
    out = pool(torch.zeros(1, 1, i, i))
    assert out.shape[-1] == conv_output_size(i, k, s, p, d, ceil_mode=ceil_mode)


def test_floor_and_ceiling_disagree_on_the_slides_example() -> None:
    assert conv_output_size(5, 2, 2, 0) == 2
    assert conv_output_size(5, 2, 2, 0, ceil_mode=True) == 3
    assert nn.MaxPool2d(2, 2, ceil_mode=True)(torch.zeros(1, 1, 5, 5)).shape[-1] == 3


@pytest.mark.parametrize(
    "args",
    [(0, 3), (3, 0), (5, 3, 0), (5, 3, 1, -1), (5, 3, 1, 0, 0), (2, 5), (4, 3, 1, 0, 2), (2.5, 1)],
)
def test_conv_output_size_rejects_impossible_settings(args: tuple) -> None:
    with pytest.raises((ValueError, TypeError)):  # TypeError: a float such as 2.5
        conv_output_size(*args)


@pytest.mark.parametrize("size", [None, "abc", (28, 28), 28.0])
def test_conv_output_size_names_an_argument_that_is_not_a_whole_number(size) -> None:
    with pytest.raises(TypeError, match="input size i must be a whole number"):
        conv_output_size(size, 3)


@pytest.mark.parametrize(
    "layers, problem",
    [
        ([nn.Conv2d(1, 1, 3), nn.AdaptiveAvgPool2d(1)], "AdaptiveAvgPool2d changes the geometry"),
        ([nn.ConvTranspose2d(1, 1, 3)], "ConvTranspose2d changes the geometry"),
        ([nn.Conv2d(1, 1, 3), nn.Linear(4, 4)], "Linear is none of them"),
        ([3, 3], "each layer is a \\(kernel, stride\\) tuple or a module"),
        (nn.Module(), "one network"),
        (3, "must be a list of layers"),
    ],
)
def test_receptive_field_refuses_what_it_cannot_follow(layers, problem) -> None:
    with pytest.raises((ValueError, TypeError), match=problem):
        receptive_field(layers)


def test_receptive_field_skips_norms_dropout_and_weightless_layers() -> None:
    class Swish(nn.Module):  # a student's own activation: no weights, pixel-wise
        def forward(self, x):
            return x * torch.sigmoid(x)

    plain = [nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3)]
    dressed = [plain[0], nn.BatchNorm2d(1), Swish(), nn.Dropout2d(0.1), nn.PReLU(), plain[1]]
    assert receptive_field(dressed) == receptive_field(plain) == 5


def _empirical_field(layers: list[nn.Module], size: int = 96) -> int:
    """Width of the input region that one central output pixel depends on (1-D)."""
    for layer in layers:
        if isinstance(layer, nn.Conv1d):
            nn.init.ones_(layer.weight)
    x = torch.ones(1, 1, size, requires_grad=True)  # positive, so ReLU passes gradients
    y = nn.Sequential(*layers)(x)
    y[0, 0, y.shape[-1] // 2].backward()
    touched = torch.nonzero(x.grad[0, 0]).flatten()
    return int(touched.max() - touched.min() + 1)


@st.composite
def layer_stacks(draw: st.DrawFn) -> list[tuple[str, int, int, int]]:
    n = draw(st.integers(1, 4))
    stack = []
    for _ in range(n):
        kind = draw(st.sampled_from(["conv", "avgpool"]))
        k = draw(st.integers(2, 4))
        s = draw(st.integers(1, 2))
        d = draw(st.integers(1, 2)) if kind == "conv" else 1
        stack.append((kind, k, s, d))
    return stack


def _build(stack: list[tuple[str, int, int, int]]) -> list[nn.Module]:
    built: list[nn.Module] = []
    for kind, k, s, d in stack:
        if kind == "conv":
            built.append(nn.Conv1d(1, 1, k, stride=s, dilation=d, bias=False))
        else:
            built.append(nn.AvgPool1d(k, stride=s))
        built.append(nn.ReLU())  # pixel-wise: must not change the field
    return built


@settings(max_examples=40, deadline=None)
@given(layer_stacks())
def test_receptive_field_matches_gradient_footprint(stack: list[tuple[str, int, int, int]]) -> None:
    layers = _build(stack)
    expected = _empirical_field(layers)
    assert receptive_field(layers) == expected
    assert receptive_field([(k, s, d) for _, k, s, d in stack]) == expected


def test_receptive_field_of_known_stacks() -> None:
    assert receptive_field([]) == 1
    assert receptive_field([(3, 1), (3, 1)]) == 5  # two 3x3 see as much as one 5x5
    assert receptive_field([(3, 1)] * 3) == 7
    assert receptive_field([(3, 1, 2)]) == 5  # dilation 2 spreads a 3-tap window over 5
    assert (
        receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3), nn.MaxPool2d(2), nn.Conv2d(1, 1, 3))) == 8
    )


def test_receptive_field_rejects_unknown_layers() -> None:
    with pytest.raises(ValueError):
        receptive_field([(3,)])
    with pytest.raises(ValueError):
        receptive_field([nn.MaxPool2d((2, 3))])
