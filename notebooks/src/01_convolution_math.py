# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown] slideshow={"slide_type": "slide"}
# # 01 Convolution math
#
# A convolutional layer is a dense layer with two rules imposed on its weights: each output
# looks only at a small window of the input, and every window is scored with the same small set
# of weights. Those two rules cut the parameter count by orders of magnitude and make the layer
# respond to a pattern wherever it appears. This notebook builds the operation from its
# definition, first in 1-D and then in 2-D with several channels, filters, a bias, a stride and
# padding, and proves at every step that the hand-written version computes exactly what
# PyTorch computes. Along the way we meet the fact that PyTorch's "convolution" is really a
# cross-correlation, use one to find a pattern hidden in noise, count parameters and
# multiply-adds, and derive the gradients that backpropagation needs when weights are shared.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Learning goals
#
# - Explain with parameter counts, sparse connectivity, weight sharing and translation
#   equivariance why images are processed with convolutions rather than dense layers.
# - Compute 1-D convolution and cross-correlation from their definitions and relate them by
#   flipping the kernel; know that `torch.nn.functional.conv1d/conv2d` compute cross-correlation.
# - Use cross-correlation as a matched filter that finds a known pattern in a noisy signal.
# - Write a 2-D convolution layer (channels, filters, bias, stride, padding) with loops and as one
#   matrix multiply (im2col / `unfold`), both equal to `F.conv2d`, and predict its output shape.
# - Count a conv layer's parameters and multiply-adds by formula and check them against PyTorch.
# - Derive the weight, bias and input gradients of a convolution and verify them with autograd
#   and `torch.autograd.gradcheck`.
# - Show that a 1x1 convolution is a linear layer applied to the channels of every pixel.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## You should already know
#
# - Tensors in PyTorch: shapes, indexing, `reshape`, `permute`, matrix multiplication.
# - A dense (fully connected) layer `y = W x + b` and how many parameters it has.
# - What a gradient is and how `loss.backward()` fills `.grad` (the chain rule).

# %% slideshow={"slide_type": "skip"}
# Set-up: on Google Colab this first installs the course; everywhere it prints the settings.
import sys

if "google.colab" in sys.modules:
    import subprocess

    COURSE = "cnn-rnn-course[colab] @ git+https://github.com/cnn-rnn-course/cnn-rnn-course"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", COURSE], check=True)

import helpers

helpers.print_banner()

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from helpers import check_close, check_equal, check_shape, check_true

seed = helpers.seed_everything()
rng = np.random.default_rng(seed)  # NumPy draws for the 1-D examples

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1. Why not a multilayer perceptron?
#
# A dense layer connects every input value to every neuron. For an input of $H \times W \times C$
# values and $n$ neurons it has
#
# $$P_\text{dense} = (H \cdot W \cdot C)\, n + n$$
#
# parameters. The slides' small example is a $5 \times 5 \times 3$ input and 5 neurons. A
# convolutional layer with $n$ filters of size $k \times k \times C$ has
#
# $$P_\text{conv} = (k \cdot k \cdot C)\, n + n,$$
#
# whatever the size of the image, because each filter is reused at every position. The cell
# below compares both formulas with the parameters PyTorch actually creates. Modules on the
# `meta` device have shapes but no memory, so even the 15-million-parameter layer costs nothing.


# %% slideshow={"slide_type": "subslide"}
# NBVAL_CHECK_OUTPUT
def dense_params(height: int, width: int, channels: int, neurons: int) -> int:
    """Weights plus biases of a dense layer on a flattened H x W x C input."""
    return height * width * channels * neurons + neurons


def conv_params(kernel: int, channels: int, filters: int) -> int:
    """Weights plus biases of a conv layer with `filters` filters of size k x k x C."""
    return kernel * kernel * channels * filters + filters


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


rows = [
    ("dense: 5x5x3 input -> 5 neurons", dense_params(5, 5, 3, 5), nn.Linear(75, 5, device="meta")),
    (
        "dense: 32x32x3 input -> 5 neurons",
        dense_params(32, 32, 3, 5),
        nn.Linear(3072, 5, device="meta"),
    ),
    (
        "dense: 32x32x3 input -> 32x32x5 output",
        dense_params(32, 32, 3, 32 * 32 * 5),
        nn.Linear(3072, 5120, device="meta"),
    ),
    (
        "conv: 5 filters 3x3x3, any image size",
        conv_params(3, 3, 5),
        nn.Conv2d(3, 5, 3, device="meta"),
    ),
]
print(f"{'layer':42s} {'formula':>12s} {'PyTorch':>12s}")
for name, by_formula, module in rows:
    print(f"{name:42s} {by_formula:12,d} {count(module):12,d}")
    check_equal(count(module), by_formula, f"parameter count of '{name}'")

# %% [markdown] slideshow={"slide_type": "subslide"}
# A conv layer (3x3, padding 1) producing a $32 \times 32 \times 5$ feature map from a
# CIFAR-sized image has 140 parameters; a dense layer producing the same output has more than
# 15 million. Two properties explain the gap:
#
# - **Sparse connectivity**: one output value depends only on the $k \times k \times C$ input
#   values under its window (its *receptive field*), not on the whole image.
# - **Weight sharing**: the same $k \times k \times C$ weights are used at every position.
#
# Sparse connectivity can be *measured*: the gradient of one output value with respect to the
# input is non-zero exactly at the inputs that value depends on.

# %%
# NBVAL_CHECK_OUTPUT
image = torch.randn(1, 3, 32, 32, requires_grad=True)  # (N, C, H, W)
conv = nn.Conv2d(3, 5, kernel_size=3, padding=1)
conv(image)[0, 0, 10, 10].backward()  # one output value of the conv
conv_inputs_used = int((image.grad != 0).sum())

image.grad = None
dense = nn.Linear(3 * 32 * 32, 5)
dense(image.flatten(1))[0, 0].backward()  # one output neuron of the dense layer
dense_inputs_used = int((image.grad != 0).sum())

print(f"one conv output depends on {conv_inputs_used} of {image.numel()} input values")
print(f"one dense output depends on {dense_inputs_used} of {image.numel()} input values")
check_equal(conv_inputs_used, 3 * 3 * 3, "inputs seen by one conv output (k*k*C)")
check_equal(dense_inputs_used, 3 * 32 * 32, "inputs seen by one dense output (all of them)")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Translation equivariance
#
# Weight sharing has a consequence beyond saving parameters: if the input is shifted, a
# convolution's output shifts by the same amount, $\text{conv}(\text{shift}(x)) =
# \text{shift}(\text{conv}(x))$. The layer finds a pattern wherever it is. A dense layer has no
# such property: it would have to learn the pattern separately at every position. We check
# this with a small image holding an "L" shape, shifted by 4 rows and 6 columns. With
# `padding_mode="circular"` the image wraps around at its borders, so the identity holds
# exactly everywhere (with zero padding it holds away from the borders).

# %% slideshow={"slide_type": "subslide"}
picture = torch.zeros(1, 1, 16, 16)  # (N, C, H, W)
picture[0, 0, 3:8, 3] = 1.0  # vertical stroke of the "L"
picture[0, 0, 7, 3:7] = 1.0  # horizontal stroke


def shift(x: torch.Tensor) -> torch.Tensor:
    """Move the content of (N, C, H, W) maps 4 rows down and 6 columns right (wrapping)."""
    return torch.roll(x, shifts=(4, 6), dims=(2, 3))


conv_layer = nn.Conv2d(1, 1, kernel_size=3, padding=1, padding_mode="circular")
dense_layer = nn.Linear(16 * 16, 16 * 16)  # a dense map from the image to an image


def dense_as_image(x: torch.Tensor) -> torch.Tensor:
    return dense_layer(x.flatten(1)).view(-1, 1, 16, 16)  # (N, 256) -> (N, 1, 16, 16)


with torch.no_grad():
    conv_then_shift, shift_then_conv = shift(conv_layer(picture)), conv_layer(shift(picture))
    dense_then_shift, shift_then_dense = (
        shift(dense_as_image(picture)),
        dense_as_image(shift(picture)),
    )


def relative_gap(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


conv_gap = relative_gap(shift_then_conv, conv_then_shift)
dense_gap = relative_gap(shift_then_dense, dense_then_shift)
print(f"conv : |conv(shift x) - shift(conv x)| / |shift(conv x)| = {conv_gap:.1e}")
print(f"dense: |dense(shift x) - shift(dense x)| / |shift(dense x)| = {dense_gap:.2f}")
check_close(shift_then_conv, conv_then_shift, "conv of the shifted image vs shifted conv output")
check_true(
    dense_gap > 0.5,
    "the dense layer's output does not simply shift with its input",
    f"gap {dense_gap:.2f}",
)

# %% slideshow={"slide_type": "subslide"}
fig, axes = plt.subplots(2, 3, figsize=(10, 6.5))
panels = [
    (picture, "input x"),
    (conv_layer(picture).detach(), "conv(x)"),
    (dense_as_image(picture).detach(), "dense(x)"),
    (shift(picture), "shift(x): 4 down, 6 right"),
    (shift_then_conv, "conv(shift(x)) = shift(conv(x))"),
    (shift_then_dense, "dense(shift(x)): a different map"),
]
for ax, (img, title) in zip(axes.flat, panels):
    ax.imshow(img[0, 0], cmap="viridis")
    ax.set_xticks(range(0, 16, 3))
    ax.set_yticks(range(0, 16, 3))
    ax.set_title(title)
    ax.set_xlabel("column")
    ax.set_ylabel("row")
fig.suptitle(
    "Translation equivariance: the conv output moves with the input, the dense output does not"
)
fig.tight_layout()
plt.show()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2. Convolution and cross-correlation in 1-D
#
# For two sequences $f$ and $g$ the discrete **convolution** is
#
# $$(f * g)[n] = \sum_{m} f[m]\, g[n - m] = \sum_{m} f[n - m]\, g[m].$$
#
# Read $g[n - m]$ as "flip $g$, then shift it by $n$". For finite sequences of lengths $N$ and
# $K$ the sum has terms for $n = 0, \dots, N + K - 2$ (the "full" output). We write it with plain
# loops, exactly as the formula reads, and compare with `numpy.convolve`.


# %% [markdown] slideshow={"slide_type": "subslide"}
# **Predict.** A signal of length 10 and a kernel of length 3, no padding, stride 1: how long is the
# output of `F.conv1d`?

# %% [markdown] slideshow={"slide_type": "fragment"}
# **Answer.** 8 $= 10 - 3 + 1$: the kernel fits in 8 positions.

# %% slideshow={"slide_type": "fragment"}
check_shape(F.conv1d(torch.zeros(1, 1, 10), torch.zeros(1, 1, 3)), (1, 1, 8), "conv1d 10 with 3")


# %% slideshow={"slide_type": "subslide"}
def convolve_full(f: np.ndarray, g: np.ndarray) -> np.ndarray:
    """(f * g)[n] = sum_m f[m] g[n - m] for n = 0 .. len(f) + len(g) - 2."""
    out = np.zeros(len(f) + len(g) - 1)
    for n in range(len(out)):
        for m in range(len(f)):
            if 0 <= n - m < len(g):
                out[n] += f[m] * g[n - m]
    return out


# %% slideshow={"slide_type": "subslide"}
# NBVAL_CHECK_OUTPUT
f_small = np.array([1.0, 2.0, 3.0, 4.0])
g_small = np.array([1.0, 0.0, -1.0])
print("by the definition:", convolve_full(f_small, g_small))
print("numpy.convolve:   ", np.convolve(f_small, g_small))
check_equal(
    convolve_full(f_small, g_small), np.convolve(f_small, g_small), "f * g on the small example"
)

# %%
signal_a, kernel_a = rng.normal(size=50), rng.normal(size=7)
check_close(
    convolve_full(signal_a, kernel_a),
    np.convolve(signal_a, kernel_a),
    "convolve_full vs numpy.convolve",
)
check_close(
    convolve_full(signal_a, kernel_a),
    convolve_full(kernel_a, signal_a),
    "f * g vs g * f (commutative)",
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Cross-correlation** slides the kernel along without flipping it:
#
# $$(w \star x)[n] = \sum_{m=0}^{K-1} w[m]\, x[n + m].$$
#
# (For complex sequences $w[m]$ is conjugated; our sequences are real.) Keeping only positions
# where the whole kernel lies inside the signal gives $N - K + 1$ outputs, the "valid" mode.
# `numpy.correlate(x, w, "valid")` computes the same sum.


# %%
def correlate_valid(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(w star x)[n] = sum_m w[m] x[n + m] for n = 0 .. len(x) - len(w)."""
    out = np.zeros(len(x) - len(w) + 1)
    for n in range(len(out)):
        for m in range(len(w)):
            out[n] += w[m] * x[n + m]
    return out


# %% slideshow={"slide_type": "subslide"}
# NBVAL_CHECK_OUTPUT
print("cross-correlation by the definition:", correlate_valid(f_small, g_small))
print("numpy.correlate:                    ", np.correlate(f_small, g_small, "valid"))
check_equal(
    correlate_valid(f_small, g_small),
    np.correlate(f_small, g_small, "valid"),
    "w star x on the small example",
)
check_close(
    correlate_valid(signal_a, kernel_a),
    np.correlate(signal_a, kernel_a, "valid"),
    "correlate_valid vs numpy.correlate",
)

# %% [markdown]
# The two operations differ only by a flip of the kernel. Substituting $m' = K - 1 - m$ in the
# convolution (valid part, re-indexed from 0) gives
#
# $$(x * w)[n + K - 1] = \sum_{m'=0}^{K-1} w[K - 1 - m']\, x[n + m'] = (\overleftarrow{w} \star x)[n],$$
#
# where $\overleftarrow{w}$ is $w$ reversed. So **convolution = cross-correlation with a flipped
# kernel**, and the two agree whenever the kernel is symmetric. With the antisymmetric
# "difference" kernel `[1, 0, -1]` the flip changes the sign of the result.

# %% slideshow={"slide_type": "subslide"}
# NBVAL_CHECK_OUTPUT
print("convolution (valid):            ", np.convolve(f_small, g_small, "valid"))
print("cross-correlation, flipped kernel:", correlate_valid(f_small, g_small[::-1]))
check_equal(
    np.convolve(f_small, g_small, "valid"),
    correlate_valid(f_small, g_small[::-1]),
    "convolution vs flipped correlation",
)
symmetric = np.array([1.0, 2.0, 1.0])
check_equal(
    np.convolve(f_small, symmetric, "valid"),
    correlate_valid(f_small, symmetric),
    "symmetric kernel: both agree",
)

# %%
check_close(
    np.convolve(signal_a, kernel_a, "valid"),
    correlate_valid(signal_a, kernel_a[::-1]),
    "convolution vs flipped correlation (random)",
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### What PyTorch computes
#
# `torch.nn.functional.conv1d` and `conv2d` are named after convolution but compute
# **cross-correlation**: no flip. For a *learned* kernel this makes no difference (the network
# would simply learn the flipped kernel), and cross-correlation is simpler to write, so deep
# learning libraries kept the name and dropped the flip. Inputs are shaped `(N, C, L)` for
# `conv1d` and weights `(C_out, C_in, K)`.

# %%
# NBVAL_CHECK_OUTPUT
x_t = torch.tensor(f_small).view(1, 1, -1)  # (N=1, C=1, L=4)
w_t = torch.tensor(g_small).view(1, 1, -1)  # (C_out=1, C_in=1, K=3)
torch_out = F.conv1d(x_t, w_t).flatten()  # (2,)
print("F.conv1d:", torch_out.tolist())
check_equal(torch_out, correlate_valid(f_small, g_small), "F.conv1d vs cross-correlation")
check_true(
    not np.allclose(torch_out.numpy(), np.convolve(f_small, g_small, "valid")),
    "F.conv1d is NOT a true convolution for this antisymmetric kernel",
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# The same in 2-D, with the slides' toy example: a $2 \times 2$ kernel on a $2 \times 2$ window,
#
# $$\begin{bmatrix}1 & -1\\ -1 & 1\end{bmatrix} \star \begin{bmatrix}1 & 0\\ 0 & 1\end{bmatrix}
#   = 1 \cdot 1 + (-1) \cdot 0 + (-1) \cdot 0 + 1 \cdot 1 = 2.$$
#
# That kernel is unchanged by a flip in both directions, so convolution and cross-correlation
# agree on it; for a kernel that is not, `F.conv2d` matches cross-correlation only (checked in
# section 4).

# %%
# NBVAL_CHECK_OUTPUT
window = torch.tensor([[1.0, 0.0], [0.0, 1.0]]).view(1, 1, 2, 2)
toy_kernel = torch.tensor([[1.0, -1.0], [-1.0, 1.0]]).view(1, 1, 2, 2)
print("F.conv2d:", F.conv2d(window, toy_kernel).item())
check_equal(F.conv2d(window, toy_kernel).item(), 2.0, "the slides' toy example")
check_equal(toy_kernel.flip(-2, -1), toy_kernel, "the toy kernel flipped in both directions")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3. A matched filter: finding a pattern in noise
#
# Cross-correlation scores how well the kernel matches the signal at every shift: the sum
# $\sum_m w[m]\,x[n+m]$ is large when the signal under the window looks like $w$. Used this
# way the kernel is called a **matched filter**. Below, a known pattern (a short rising-pitch
# "chirp") is added at position 1234 of a long signal and then buried in noise whose standard
# deviation (0.7) is comparable to the pattern's own amplitude. Looking at the signal, the
# pattern is hard to see; the correlation has a clear peak where it is.

# %% slideshow={"slide_type": "subslide"}
pattern_len, signal_len, true_start = 128, 2000, 1234
t = np.arange(pattern_len)
# The frequency rises from 0.03 to 0.25 cycles per sample; a Hann window fades it in and out.
chirp_phase = 2 * np.pi * (0.03 * t + 0.5 * (0.25 - 0.03) / pattern_len * t**2)
pattern = np.sin(chirp_phase) * np.hanning(pattern_len)  # (128,)

noisy = rng.normal(0.0, 0.7, size=signal_len)
noisy[true_start : true_start + pattern_len] += pattern

score = np.correlate(noisy, pattern, "valid")  # (signal_len - pattern_len + 1,)
found_start = int(np.argmax(score))
away = np.abs(np.arange(len(score)) - found_start) > pattern_len // 2
print(f"pattern placed at {true_start}, correlation peak at {found_start}")
print(f"peak score {score[found_start]:.1f}, best score elsewhere {score[away].max():.1f}")
check_true(
    abs(found_start - true_start) <= 1,
    "the correlation peak is where the pattern was placed",
    f"peak at {found_start}",
)
check_true(
    score[found_start] > 1.3 * score[away].max(),
    "the peak stands clearly above the rest of the correlation",
)

# %% [markdown]
# A `conv1d` layer with the pattern as its weight is the same matched filter. This is the sense
# in which a CNN's first-layer filters are pattern detectors: each responds most strongly where
# the input looks like it.

# %% slideshow={"slide_type": "subslide"}
score_torch = F.conv1d(
    torch.tensor(noisy).view(1, 1, -1), torch.tensor(pattern).view(1, 1, -1)
).flatten()
check_close(score_torch, score, "F.conv1d with the pattern as weight vs numpy.correlate")

# %% slideshow={"slide_type": "subslide"}
fig, (ax_sig, ax_score) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
ax_sig.plot(noisy, lw=0.6, label="noisy signal")
ax_sig.plot(
    np.arange(true_start, true_start + pattern_len),
    pattern,
    color="red",
    lw=1.5,
    label="hidden pattern",
)
ax_sig.set_title("A chirp hidden in noise (std 0.7) at position 1234")
ax_sig.set_ylabel("amplitude")
ax_sig.legend(loc="upper left")
ax_score.plot(score, lw=0.8, color="black")
ax_score.axvline(found_start, color="red", ls="--", label=f"peak at {found_start}")
ax_score.set_title("Cross-correlation with the pattern (matched filter output)")
ax_score.set_xlabel("position n (start of the window)")
ax_score.set_ylabel("score")
ax_score.legend(loc="upper left")
fig.tight_layout()
plt.show()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4. 2-D convolution from scratch
#
# A conv layer takes a batch of $C_\text{in}$-channel images $x$ of shape
# `(N, C_in, H, W)` and $C_\text{out}$ filters $w$ of shape `(C_out, C_in, k_h, k_w)`. Each filter
# spans **all** input channels and produces one output channel. With stride $s$, zero padding
# $p$ (giving the padded input $\tilde{x}$) and bias $b$:
#
# $$\text{out}[n, j, r, c] = b_j + \sum_{i=0}^{C_\text{in}-1} \sum_{u=0}^{k_h-1} \sum_{v=0}^{k_w-1}
#   w[j, i, u, v]\; \tilde{x}[n, i, s r + u, s c + v],$$
#
# $$H_\text{out} = \left\lfloor \frac{H + 2p - k_h}{s} \right\rfloor + 1, \qquad
#   W_\text{out} = \left\lfloor \frac{W + 2p - k_w}{s} \right\rfloor + 1.$$
#
# (Notebook 03 studies the output-size formula in detail.) First, loops that follow the formula.


# %% slideshow={"slide_type": "subslide"}
def output_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """floor((size + 2 * padding - kernel) / stride) + 1."""
    return (size + 2 * padding - kernel) // stride + 1


def conv2d_loops(
    x: torch.Tensor,
    w: torch.Tensor,
    b: torch.Tensor | None = None,
    stride: int = 1,
    padding: int = 0,
) -> torch.Tensor:
    """Cross-correlate (N, C_in, H, W) with (C_out, C_in, kh, kw), one output value at a time."""
    n_batch, c_in, height, width = x.shape
    c_out, c_in_w, kh, kw = w.shape
    assert c_in == c_in_w, f"input has {c_in} channels but the filters expect {c_in_w}"
    padded = F.pad(x, (padding, padding, padding, padding))  # (N, C_in, H + 2p, W + 2p)
    h_out, w_out = output_size(height, kh, stride, padding), output_size(width, kw, stride, padding)
    out = torch.zeros(n_batch, c_out, h_out, w_out, dtype=x.dtype)
    for n in range(n_batch):
        for j in range(c_out):
            for r in range(h_out):
                for c in range(w_out):
                    row_span = slice(r * stride, r * stride + kh)
                    col_span = slice(c * stride, c * stride + kw)
                    patch = padded[n, :, row_span, col_span]  # (C_in, kh, kw)
                    out[n, j, r, c] = (w[j] * patch).sum() + (b[j] if b is not None else 0.0)
    return out


# %% slideshow={"slide_type": "subslide"}
x_img = torch.randn(2, 3, 7, 8, dtype=torch.float64)  # (N=2, C_in=3, H=7, W=8)
filters = torch.randn(4, 3, 3, 3, dtype=torch.float64)  # (C_out=4, C_in=3, 3, 3)
bias = torch.randn(4, dtype=torch.float64)

by_loops = conv2d_loops(x_img, filters, bias, stride=2, padding=1)  # (2, 4, 4, 4)
by_torch = F.conv2d(x_img, filters, bias, stride=2, padding=1)
check_shape(by_loops, (2, 4, output_size(7, 3, 2, 1), output_size(8, 3, 2, 1)), "loop output")
check_close(
    by_loops,
    by_torch,
    "conv2d_loops vs F.conv2d (3 channels, 4 filters, bias, stride 2, padding 1)",
)

# %% [markdown]
# A true 2-D convolution flips the kernel in both directions before sliding it. With a kernel
# that is not symmetric, `F.conv2d` matches the cross-correlation above and not the convolution.

# %%
true_convolution = conv2d_loops(x_img, filters.flip(-2, -1), bias, stride=2, padding=1)
check_true(
    not torch.allclose(true_convolution, by_torch),
    "F.conv2d differs from a true (flipped-kernel) convolution for these random filters",
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Predict.** `nn.Conv2d(1, 8, 5)` on one 28x28 grayscale image: what shape is its weight, and what
# shape is its output?

# %% [markdown] slideshow={"slide_type": "fragment"}
# **Answer.** Weight `(8, 1, 5, 5)`: 8 filters, each $1 \times 5 \times 5$. Output `(1, 8, 24, 24)`:
# one map per filter, $28 - 5 + 1 = 24$.

# %% slideshow={"slide_type": "fragment"}
conv_demo = nn.Conv2d(1, 8, 5, device="meta")  # shapes only: no memory, no random numbers
check_equal(tuple(conv_demo.weight.shape), (8, 1, 5, 5), "Conv2d(1, 8, 5).weight")
feature_maps_demo = conv_demo(torch.zeros(1, 1, 28, 28, device="meta"))
check_equal(tuple(feature_maps_demo.shape), (1, 8, 24, 24), "its output")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### The shapes from the slides
#
# - `nn.Conv2d(1, 8, 5)`: 8 filters of $1 \times 5 \times 5$, so weight `[8, 1, 5, 5]` and bias
#   `[8]`; a $28 \times 28$ image gives $28 - 5 + 1 = 24$, a $24 \times 24$ map per filter.
# - A $3 \times 4 \times 4$ input (3 channels) and one $3 \times 2 \times 2$ filter give one
#   $3 \times 3$ map: $4 - 2 + 1 = 3$.
# - A $10 \times 10 \times 3$ input and one $3 \times 3 \times 3$ filter give one $8 \times 8$ map:
#   the filter slides only spatially, but takes a dot product over all three channels.

# %%
# NBVAL_CHECK_OUTPUT
conv = nn.Conv2d(in_channels=1, out_channels=8, kernel_size=5)
digit = torch.randn(1, 1, 28, 28)  # (N, C, H, W): stands in for one grayscale 28x28 digit
feature_maps = conv(digit)  # (1, 8, 24, 24)
print(f"weight {tuple(conv.weight.shape)}, bias {tuple(conv.bias.shape)}")
print(f"input {tuple(digit.shape)} -> output {tuple(feature_maps.shape)}")
check_shape(conv.weight, (8, 1, 5, 5), "Conv2d(1, 8, 5).weight")
check_shape(conv.bias, (8,), "Conv2d(1, 8, 5).bias")
check_shape(feature_maps, (1, 8, 24, 24), "Conv2d(1, 8, 5) on a 28x28 image")

small = conv2d_loops(torch.randn(1, 3, 4, 4), torch.randn(1, 3, 2, 2))  # (1, 1, 3, 3)
rgb = conv2d_loops(torch.randn(1, 3, 10, 10), torch.randn(1, 3, 3, 3))  # (1, 1, 8, 8)
print("3x4x4 input, 3x2x2 filter ->", tuple(small.shape[-2:]))
print("10x10x3 input, 3x3x3 filter ->", tuple(rgb.shape[-2:]))
check_shape(small, (1, 1, 3, 3), "3x4x4 input with a 3x2x2 filter")
check_shape(rgb, (1, 1, 8, 8), "10x10x3 input with a 3x3x3 filter")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Vectorised: im2col and one matrix multiply
#
# The loops compute the same dot product, "filter times window", $N \cdot C_\text{out} \cdot
# H_\text{out} \cdot W_\text{out}$ times. **im2col** copies every window of the (padded) input
# into one column of a matrix with $C_\text{in} k_h k_w$ rows and $L = H_\text{out}
# W_\text{out}$ columns; reshaping the filters to a $C_\text{out} \times C_\text{in} k_h k_w$
# matrix then turns the whole layer into a single matrix product:
#
# $$\text{out} = W_\text{mat}\; \text{cols} + b, \qquad (C_\text{out} \times C_\text{in} k_h k_w)
#   \cdot (C_\text{in} k_h k_w \times L).$$
#
# PyTorch's `F.unfold` builds the column matrix. Fast convolution libraries use this idea (or
# cleverer ones) so that the work runs in a tuned matrix-multiply routine.


# %% slideshow={"slide_type": "subslide"}
def conv2d_im2col(
    x: torch.Tensor,
    w: torch.Tensor,
    b: torch.Tensor | None = None,
    stride: int = 1,
    padding: int = 0,
) -> torch.Tensor:
    """The same layer as one matrix multiply of the filters with the unfolded input."""
    n_batch, _, height, width = x.shape
    c_out, _, kh, kw = w.shape
    h_out, w_out = output_size(height, kh, stride, padding), output_size(width, kw, stride, padding)
    cols = F.unfold(x, (kh, kw), padding=padding, stride=stride)  # (N, C_in*kh*kw, L)
    out = w.reshape(c_out, -1) @ cols  # (C_out, C_in*kh*kw) @ (N, C_in*kh*kw, L) -> (N, C_out, L)
    if b is not None:
        out = out + b.view(1, c_out, 1)
    return out.view(n_batch, c_out, h_out, w_out)  # (N, C_out, H_out, W_out)


# %% slideshow={"slide_type": "subslide"}
check_close(
    conv2d_im2col(x_img, filters, bias, stride=2, padding=1), by_torch, "conv2d_im2col vs F.conv2d"
)

# Column number r * W_out + c of the unfolded matrix is the flattened window at (r, c).
cols = F.unfold(x_img, 3, padding=1, stride=2)  # (2, 27, 16)
padded = F.pad(x_img, (1, 1, 1, 1))  # (2, 3, 9, 10)
r, c, w_out_img = 2, 3, output_size(8, 3, 2, 1)
check_equal(
    cols[1, :, r * w_out_img + c],
    padded[1, :, 2 * r : 2 * r + 3, 2 * c : 2 * c + 3].flatten(),
    "one im2col column",
)

# %% [markdown]
# One example is not proof. The cell below draws random layer configurations (batch, channels,
# filters, kernel size, stride, padding, image size) and checks that both hand-written versions
# equal `F.conv2d` for every one.

# %% slideshow={"slide_type": "subslide"}
config_rng = np.random.default_rng(seed)
n_trials = helpers.pick(12, 200)
for trial in range(n_trials):
    kh, kw, s, p = (int(v) for v in config_rng.integers([1, 1, 1, 0], [5, 5, 4, 3]))
    n_batch, c_in, c_out = (int(v) for v in config_rng.integers(1, [3, 5, 5]))
    height = int(config_rng.integers(max(kh - 2 * p, 1), 10))  # at least one window fits
    width = int(config_rng.integers(max(kw - 2 * p, 1), 10))
    x_r = torch.randn(n_batch, c_in, height, width, dtype=torch.float64)
    w_r = torch.randn(c_out, c_in, kh, kw, dtype=torch.float64)
    b_r = torch.randn(c_out, dtype=torch.float64)
    expected = F.conv2d(x_r, w_r, b_r, stride=s, padding=p)
    setting = f"trial {trial}: x {tuple(x_r.shape)}, w {tuple(w_r.shape)}, stride {s}, padding {p}"
    check_close(conv2d_loops(x_r, w_r, b_r, s, p), expected, f"loops, {setting}")
    check_close(conv2d_im2col(x_r, w_r, b_r, s, p), expected, f"im2col, {setting}")
print(f"{n_trials} random configurations: loops == im2col == F.conv2d")

# %% [markdown]
# Why bother with im2col? The loops run one small dot product per output value in Python; the
# matrix multiply does all of them in one call to optimised code. A rough timing on this machine
# (not a benchmark: it varies with the hardware and the load):


# %% slideshow={"slide_type": "subslide"}
def seconds(fn, repeats: int = 3) -> float:
    """Best wall-clock time of `repeats` calls of fn()."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


x_time = torch.randn(2, 3, 16, 16)  # (N, C_in, H, W)
w_time, b_time = torch.randn(8, 3, 3, 3), torch.randn(8)
for label, fn, repeats in [
    ("conv2d_loops", lambda: conv2d_loops(x_time, w_time, b_time, padding=1), 1),
    ("conv2d_im2col", lambda: conv2d_im2col(x_time, w_time, b_time, padding=1), 5),
    ("F.conv2d", lambda: F.conv2d(x_time, w_time, b_time, padding=1), 5),
]:
    print(f"{label:14s} {seconds(fn, repeats) * 1e3:9.3f} ms")

# %% [markdown]
# The picture shows im2col on a $4 \times 4$ single-channel input whose entries are their own
# positions 0..15, with a $2 \times 2$ kernel and stride 1: nine windows, so nine columns of four
# values. Neighbouring windows overlap, so most inputs are copied several times (the price of
# turning the layer into one matrix multiply).

# %% slideshow={"slide_type": "subslide"}
# NBVAL_CHECK_OUTPUT
grid = torch.arange(16.0).view(1, 1, 4, 4)  # (N=1, C=1, 4, 4)
grid_cols = F.unfold(grid, kernel_size=2)[0]  # (C*k*k = 4, L = 9)
print(grid_cols.int())
check_shape(grid_cols, (4, 9), "im2col matrix of a 4x4 input, 2x2 kernel")
check_equal(grid_cols[:, 0].int().tolist(), [0, 1, 4, 5], "first column = the top-left window")

# %% slideshow={"slide_type": "subslide"}
fig, (ax_in, ax_cols) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [1, 2]})
for ax, mat in ((ax_in, grid[0, 0]), (ax_cols, grid_cols)):
    ax.imshow(mat, cmap=plt.get_cmap("tab20", 16), vmin=-0.5, vmax=15.5)  # one colour per input
    for (i, j), value in np.ndenumerate(mat.int().numpy()):
        ax.text(j, i, str(value), ha="center", va="center")
    ax.set_xticks(range(mat.shape[1]))
    ax.set_yticks(range(mat.shape[0]))
ax_in.add_patch(plt.Rectangle((-0.5, -0.5), 2, 2, fill=False, color="red", lw=2))
ax_cols.add_patch(plt.Rectangle((-0.5, -0.5), 1, 4, fill=False, color="red", lw=2))
ax_in.set_title("input 4x4 (red: first 2x2 window)")
ax_in.set_xlabel("column")
ax_in.set_ylabel("row")
ax_cols.set_title("im2col: one column per window (4 x 9)")
ax_cols.set_xlabel("window number r * W_out + c")
ax_cols.set_ylabel("position in the window")
fig.tight_layout()
plt.show()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5. Counting parameters and multiply-adds
#
# A `Conv2d(C_in, C_out, k)` layer has
#
# $$P = C_\text{out}\,(C_\text{in} k_h k_w + 1)$$
#
# parameters. Each output value needs one multiply-add (MAC) per weight of its filter, so a
# batch of $N$ inputs costs
#
# $$\text{MACs} = N \cdot C_\text{out} \cdot H_\text{out} \cdot W_\text{out} \cdot C_\text{in} k_h
#   k_w.$$
#
# FLOP counters count the multiply and the add separately, so $\text{FLOPs} = 2 \times
# \text{MACs}$ (PyTorch's counter leaves out the bias additions). We check both formulas against
# the module and `torch.utils.flop_counter.FlopCounterMode`, running the layers on the `meta`
# device, where shapes are computed but no arithmetic is done.


# %% slideshow={"slide_type": "subslide"}
# NBVAL_CHECK_OUTPUT
def conv_macs(n: int, c_in: int, c_out: int, kernel: int, h_out: int, w_out: int) -> int:
    return n * c_out * h_out * w_out * c_in * kernel * kernel


layers = [  # (description, c_in, c_out, kernel, stride, padding, batch, image size)
    ("Conv2d(1, 8, 5) on 28x28", 1, 8, 5, 1, 0, 1, 28),
    ("Conv2d(3, 5, 3, s=2, p=1) on 32x32", 3, 5, 3, 2, 1, 1, 32),
    ("Conv2d(64, 128, 3, p=1) on 56x56", 64, 128, 3, 1, 1, 1, 56),
    ("same, batch of 8", 64, 128, 3, 1, 1, 8, 56),
    ("Conv2d(256, 64, 1) on 28x28", 256, 64, 1, 1, 0, 1, 28),
]
print(f"{'layer':36s} {'params':>9s} {'MACs':>14s} {'FLOPs counted':>14s}")
for name, c_in, c_out, k, s, p, n, size in layers:
    layer = nn.Conv2d(c_in, c_out, k, stride=s, padding=p, device="meta")
    h_out = output_size(size, k, s, p)
    params, macs = c_out * (c_in * k * k + 1), conv_macs(n, c_in, c_out, k, h_out, h_out)
    with FlopCounterMode(display=False) as counter:
        layer(torch.empty(n, c_in, size, size, device="meta"))
    flops = counter.get_total_flops()
    print(f"{name:36s} {params:9,d} {macs:14,d} {flops:14,d}")
    check_equal(count(layer), params, f"parameters of {name}")
    check_equal(flops, 2 * macs, f"FLOPs of {name} (= 2 x MACs)")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6. Backpropagation with weight sharing
#
# Take one channel, stride 1 and no padding: $y[r, c] = b + \sum_{u,v} w[u, v]\, x[r + u, c + v]$.
# Let $g[r, c] = \partial L / \partial y[r, c]$ be the gradient arriving from the layers above
# (the *upstream* gradient). Each weight $w[u, v]$ is used at every output position, so by the
# multivariable chain rule its gradient **sums over all positions**:
#
# $$\frac{\partial L}{\partial w[u, v]} = \sum_{r, c} g[r, c]\; x[r + u, c + v] = (g \star x)[u, v],
#   \qquad \frac{\partial L}{\partial b} = \sum_{r, c} g[r, c].$$
#
# The kernel gradient is the **cross-correlation of the input with the upstream gradient**, a
# "convolution" in PyTorch's sense whose kernel is $g$. The input gradient collects, for each
# input pixel, every weight that touched it:
#
# $$\frac{\partial L}{\partial x[p, q]} = \sum_{u, v} g[p - u, q - v]\; w[u, v] = (g * w)[p, q],$$
#
# a true, "full" convolution of $g$ with $w$: cross-correlation of the zero-padded $g$ (by $k-1$
# on every side) with the flipped kernel. We compare all three with autograd, using the loss
# $L = \sum y \cdot g$, whose upstream gradient is exactly $g$.

# %% slideshow={"slide_type": "subslide"}
x_1 = torch.randn(1, 1, 6, 7, dtype=torch.float64, requires_grad=True)  # (1, 1, 6, 7)
w_1 = torch.randn(1, 1, 3, 3, dtype=torch.float64, requires_grad=True)  # (1, 1, 3, 3)
b_1 = torch.randn(1, dtype=torch.float64, requires_grad=True)
y_1 = F.conv2d(x_1, w_1, b_1)  # (1, 1, 4, 5)
g_1 = torch.randn_like(y_1)  # the upstream gradient dL/dy
(y_1 * g_1).sum().backward()

grad_w_loops = torch.zeros(3, 3, dtype=torch.float64)
for u in range(3):
    for v in range(3):
        for r in range(4):
            for c in range(5):
                grad_w_loops[u, v] += g_1[0, 0, r, c] * x_1[0, 0, r + u, c + v]

check_close(grad_w_loops, w_1.grad[0, 0], "dL/dw by the sum over positions vs autograd")
check_close(F.conv2d(x_1, g_1), w_1.grad, "dL/dw as F.conv2d(input, upstream gradient) vs autograd")
check_close(g_1.sum(), b_1.grad[0], "dL/db = sum of the upstream gradient vs autograd")
# Full convolution of g with w: pad g by k - 1 = 2 on every side, correlate with the flipped w.
grad_x_formula = F.conv2d(F.pad(g_1, (2, 2, 2, 2)), w_1.flip(-2, -1))  # (1, 1, 6, 7)
check_close(grad_x_formula, x_1.grad, "dL/dx as a full convolution of g with w vs autograd")

# %% [markdown] slideshow={"slide_type": "subslide"}
# With a batch, several input channels and several filters the same formulas hold, with extra
# sums: the weight gradient also sums over the batch, and the input gradient sums over the
# filters $j$,
#
# $$\frac{\partial L}{\partial w[j, i, u, v]} = \sum_{n} \sum_{r, c} g[n, j, r, c]\;
#   x[n, i, r + u, c + v], \qquad
#   \frac{\partial L}{\partial x[n, i, p, q]} = \sum_{j} \sum_{u, v} g[n, j, p - u, q - v]\;
#   w[j, i, u, v].$$
#
# Both are again convolutions once the right axes are swapped: for the weight gradient the
# channels $i$ play the role of the batch and the batch $n$ the role of the channels. To be sure
# the derivation is right (not just consistent with itself) we package it as a custom
# `torch.autograd.Function` and let `torch.autograd.gradcheck` compare its backward pass with
# finite differences, in double precision. (In fast mode gradcheck compares the two Jacobians
# along random directions, `fast_mode=True`; in full mode it compares them entry by entry.)


# %% slideshow={"slide_type": "notes"}
def conv2d_grads(
    x: torch.Tensor, w: torch.Tensor, g: torch.Tensor, flip: bool = True
) -> tuple[torch.Tensor, ...]:
    """Gradients of a stride-1, unpadded conv layer given the upstream gradient g."""
    kh, kw = w.shape[-2:]
    kernel = w.flip(-2, -1) if flip else w
    padded_g = F.pad(g, (kw - 1, kw - 1, kh - 1, kh - 1))  # (N, C_out, H + kh - 1, W + kw - 1)
    grad_x = F.conv2d(padded_g, kernel.transpose(0, 1))  # (N, C_in, H, W)
    grad_w = F.conv2d(x.transpose(0, 1), g.transpose(0, 1)).transpose(0, 1)  # (C_out, C_in, kh, kw)
    grad_b = g.sum(dim=(0, 2, 3))  # (C_out,)
    return grad_x, grad_w, grad_b


class HandConv2d(torch.autograd.Function):
    """im2col forward pass with the hand-derived backward pass."""

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        return conv2d_im2col(x, w, b)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        return conv2d_grads(x, w, g)


class ForgotTheFlip(HandConv2d):
    """The same, with a typical bug: the kernel is not flipped in the input gradient."""

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        return conv2d_grads(x, w, g, flip=False)


# %% slideshow={"slide_type": "subslide"}
x_2 = torch.randn(2, 2, 5, 4, dtype=torch.float64, requires_grad=True)  # (N=2, C_in=2, 5, 4)
w_2 = torch.randn(3, 2, 3, 2, dtype=torch.float64, requires_grad=True)  # (C_out=3, C_in=2, 3, 2)
b_2 = torch.randn(3, dtype=torch.float64, requires_grad=True)

fast_gradcheck = helpers.pick(True, False)  # True: random directions; False: every entry
check_true(
    torch.autograd.gradcheck(HandConv2d.apply, (x_2, w_2, b_2), fast_mode=fast_gradcheck),
    "gradcheck passes for the hand-derived gradients",
)
check_true(
    not torch.autograd.gradcheck(
        ForgotTheFlip.apply, (x_2, w_2, b_2), fast_mode=fast_gradcheck, raise_exception=False
    ),
    "gradcheck catches the missing flip (the check can fail)",
)

g_2 = torch.randn(2, 3, 3, 3, dtype=torch.float64)  # upstream gradient, shaped like the output
(F.conv2d(x_2, w_2, b_2) * g_2).sum().backward()
for name, mine, autograd in zip(
    ("dL/dx", "dL/dw", "dL/db"), conv2d_grads(x_2, w_2, g_2), (x_2.grad, w_2.grad, b_2.grad)
):
    check_close(mine, autograd, f"{name} by formula vs autograd of F.conv2d")
print("hand-derived gradients == autograd == finite differences")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 7. A 1x1 convolution is a linear layer on the channels
#
# With $k = 1$ the window is a single pixel, and the formula of section 4 becomes
#
# $$\text{out}[n, j, r, c] = b_j + \sum_{i} W[j, i]\; x[n, i, r, c],$$
#
# a dense layer from $C_\text{in}$ to $C_\text{out}$ features applied to the channel vector of
# every pixel, with the same weights everywhere. It mixes channels without looking at neighbours,
# and is the standard way to change the number of channels cheaply (GoogLeNet and ResNet's
# bottlenecks, notebook 04). We copy the weights of a `Conv2d(16, 4, 1)` into a `Linear(16, 4)`,
# move the channels last so that `Linear` acts on them, and compare.

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Predict.** How many parameters does `nn.Conv2d(16, 4, 1)` have, and how many does `nn.Linear(16,
# 4)`?

# %% [markdown] slideshow={"slide_type": "fragment"}
# **Answer.** 68 each: $16 \cdot 4$ weights plus 4 biases. A 1x1 convolution is that linear layer,
# applied to the channels of every pixel.

# %% slideshow={"slide_type": "fragment"}
check_equal(count(nn.Conv2d(16, 4, 1, device="meta")), 68, "parameters of Conv2d(16, 4, 1)")
check_equal(count(nn.Linear(16, 4, device="meta")), 68, "parameters of Linear(16, 4)")

# %% slideshow={"slide_type": "subslide"}
# NBVAL_CHECK_OUTPUT
conv1x1 = nn.Conv2d(16, 4, kernel_size=1)
linear = nn.Linear(16, 4)
with torch.no_grad():
    linear.weight.copy_(conv1x1.weight.view(4, 16))  # (4, 16, 1, 1) -> (4, 16)
    linear.bias.copy_(conv1x1.bias)

features = torch.randn(2, 16, 5, 6)  # (N, C_in, H, W)
by_conv = conv1x1(features)  # (2, 4, 5, 6)
channels_last = features.permute(0, 2, 3, 1)  # (N, H, W, 16): Linear acts on the last dim
by_linear = linear(channels_last).permute(0, 3, 1, 2)  # (N, H, W, 4) -> (N, 4, H, W)
by_einsum = torch.einsum("ji,nirc->njrc", linear.weight, features) + linear.bias.view(1, 4, 1, 1)
print("parameters:", count(conv1x1), "(conv 1x1) and", count(linear), "(linear)")
check_close(by_conv, by_linear, "1x1 conv vs Linear on the channels of every pixel", atol=1e-6)
check_close(by_conv, by_einsum, "1x1 conv vs the formula", atol=1e-6)
check_equal(count(conv1x1), 16 * 4 + 4, "parameters of Conv2d(16, 4, 1)")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
#
# Each exercise has a task, a cell for your answer (replace `None`) and a check cell that prints
# "Right!", "Not right yet" with a hint, or "Not attempted yet"; the check never stops the
# notebook. In the lecture version of this notebook the answer cells hold a worked solution,
# marked as such; in the exercise version they are yours.
#
# **Exercise 1 (counting; a number).** A dense layer maps a $28 \times 28$ grayscale image to
# the same output as `Conv2d(1, 8, 5)`: eight $24 \times 24$ maps. How many parameters
# (weights and biases) does it have? The conv layer has 208.

# %% nbgrader={"grade": false, "grade_id": "ex1_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 1: your answer (a whole number)
dense_equivalent_params = None
### BEGIN SOLUTION
dense_equivalent_params = (28 * 28) * (8 * 24 * 24) + 8 * 24 * 24  # weights + biases
# 3,617,280: about 17,000 times the conv's 208 (sparse connectivity and weight sharing)
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex1_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
ok_1 = helpers.verdict(
    dense_equivalent_params,
    count(nn.Linear(28 * 28, 8 * 24 * 24, device="meta")),
    "count the input values and the output values; every pair gets a weight, every output a bias.",
)
### BEGIN HIDDEN TESTS
assert ok_1, "exercise 1 is not right"
### END HIDDEN TESTS

# %% [markdown]
# **Exercise 2 (a convolution is a constrained dense layer; code).** For a 1-D signal of length
# 10 and the kernel `w_ex = [1, -2, 3]`, build the $8 \times 10$ matrix `T` with
# $T x =$ `F.conv1d(x, w_ex)` for every $x$ (as a float tensor). Look at it: how many entries
# are non-zero (sparse connectivity), and how many *different* non-zero values are there
# (weight sharing)?

# %% nbgrader={"grade": false, "grade_id": "ex2_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 2: your answer (a float tensor of shape (8, 10))
w_ex = torch.tensor([1.0, -2.0, 3.0])
T = None
### BEGIN SOLUTION
T = torch.zeros(8, 10)
for row in range(8):
    T[row, row : row + 3] = w_ex  # each output sees 3 neighbours, always with the same weights
# A band: 24 of the 80 entries are non-zero, and they hold only the 3 values of w_ex.
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex2_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# Column j of T is what the convolution makes of the unit signal e_j:
T_reference = F.conv1d(torch.eye(10).view(10, 1, 10), w_ex.view(1, 1, 3)).view(10, 8).T
ok_2 = helpers.verdict(
    T,
    lambda a: a.shape == (8, 10) and torch.allclose(a.float(), T_reference),
    "output r of a valid cross-correlation reads inputs r, r + 1, r + 2 with weights w_ex[0..2].",
)
### BEGIN HIDDEN TESTS
assert ok_2, "exercise 2 is not right"
### END HIDDEN TESTS

# %% [markdown]
# **Exercise 3 (dilation; code).** A dilation $d$ spreads the kernel's taps $d$ pixels apart:
# the window at $(r, c)$ reads $\tilde{x}[n, i, s r + d u, s c + d v]$ and
# $H_\text{out} = \lfloor (H + 2p - d(k_h - 1) - 1)/s \rfloor + 1$. Write
# `conv2d_dilated(x, w, b, stride, padding, dilation)` by extending `conv2d_loops`; the check
# compares it with `F.conv2d(..., dilation=d)` for several settings.

# %% nbgrader={"grade": false, "grade_id": "ex3_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 3: your answer (a function like conv2d_loops, with a dilation argument)
conv2d_dilated = None
### BEGIN SOLUTION


def conv2d_dilated(x, w, b=None, stride=1, padding=0, dilation=1):
    n_batch, _, height, width = x.shape
    c_out, _, kh, kw = w.shape
    padded = F.pad(x, (padding, padding, padding, padding))
    h_out = (height + 2 * padding - dilation * (kh - 1) - 1) // stride + 1
    w_out = (width + 2 * padding - dilation * (kw - 1) - 1) // stride + 1
    out = torch.zeros(n_batch, c_out, h_out, w_out, dtype=x.dtype)
    for r in range(h_out):
        for c in range(w_out):
            row_taps = slice(r * stride, r * stride + dilation * (kh - 1) + 1, dilation)
            col_taps = slice(c * stride, c * stride + dilation * (kw - 1) + 1, dilation)
            patch = padded[:, :, row_taps, col_taps]  # (N, C_in, kh, kw)
            out[:, :, r, c] = torch.einsum("jiuv,niuv->nj", w, patch) + (
                b if b is not None else 0.0
            )
    return out


### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex3_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
x_d = torch.randn(2, 3, 11, 9, dtype=torch.float64)  # (N, C_in, H, W)
w_d = torch.randn(4, 3, 3, 3, dtype=torch.float64)  # (C_out, C_in, 3, 3)
b_d = torch.randn(4, dtype=torch.float64)
settings_d = [(1, 0, 2), (2, 1, 2), (1, 2, 3), (2, 1, 1)]  # (stride, padding, dilation)
ok_3 = helpers.verdict(
    conv2d_dilated,
    lambda fn: all(
        torch.allclose(fn(x_d, w_d, b_d, s, p, d), F.conv2d(x_d, w_d, b_d, s, p, d))
        for s, p, d in settings_d
    ),
    "start from conv2d_loops; only the output size and the rows and columns a window reads change.",
)
### BEGIN HIDDEN TESTS
assert ok_3, "exercise 3 is not right"
### END HIDDEN TESTS

# %% [markdown]
# **Exercise 4 (gradient with a stride; code).** With stride $s$,
# $y[r, c] = \sum_{u,v} w[u, v]\, x[s r + u, s c + v]$, so
# $\partial L / \partial w[u, v] = \sum_{r,c} g[r, c]\, x[u + s r, v + s c]$: a
# cross-correlation of the input with the upstream gradient spread $s$ pixels apart. For the
# input `x_s` and the upstream gradient `g_s` of a 3x3 convolution with stride 2 (below),
# compute `grad_w_strided`, of shape `(1, 1, 3, 3)`, with one `F.conv2d` call and without
# autograd; the check compares it with autograd.

# %% nbgrader={"grade": false, "grade_id": "ex4_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 4: your answer (a tensor of shape (1, 1, 3, 3))
x_s = torch.randn(1, 1, 9, 10, dtype=torch.float64)  # the input of F.conv2d(x_s, w, stride=2)
g_s = torch.randn(1, 1, 4, 4, dtype=torch.float64)  # dL/dy for its (1, 1, 4, 4) output
grad_w_strided = None
### BEGIN SOLUTION
grad_w_strided = F.conv2d(x_s, g_s, dilation=2)[..., :3, :3]  # taps of g spaced 2 apart
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex4_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
w_probe = torch.zeros(1, 1, 3, 3, dtype=torch.float64, requires_grad=True)
(F.conv2d(x_s, w_probe, stride=2) * g_s).sum().backward()  # L = sum(y * g), so dL/dy = g
ok_4 = helpers.verdict(
    grad_w_strided,
    lambda a: torch.allclose(
        torch.as_tensor(a, dtype=torch.float64).view(1, 1, 3, 3), w_probe.grad
    ),
    "F.conv2d has a dilation argument; the correlation may give more than 3x3 values.",
)
### BEGIN HIDDEN TESTS
assert ok_4, "exercise 4 is not right"
### END HIDDEN TESTS

# %% [markdown]
# **Exercise 5 (padding and weight sharing; a prediction).** Take an $8 \times 8$ input of ones,
# a 3x3 kernel with `padding=1`, and the loss $L = \sum_{r,c} y[r, c]$, so the upstream
# gradient is 1 everywhere. Before computing anything, predict $\partial L / \partial w$ for the
# **centre** weight $w[1, 1]$ and for the **corner** weight $w[0, 0]$, as a tuple
# `(centre, corner)`. The check measures both with autograd.

# %% nbgrader={"grade": false, "grade_id": "ex5_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 5: your prediction, a tuple (centre, corner)
padded_grads = None
### BEGIN SOLUTION
# dL/dw[u, v] sums the pixels that tap touched over the 64 output positions. The centre tap
# touches every pixel once; the corner tap meets padded zeros along one row and one column of
# outputs, so it touches only 7 x 7 ones. Border taps learn from fewer pixels.
padded_grads = (64, 49)
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex5_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
w_probe = torch.zeros(1, 1, 3, 3, requires_grad=True)
F.conv2d(torch.ones(1, 1, 8, 8), w_probe, padding=1).sum().backward()
measured_grads = (w_probe.grad[0, 0, 1, 1].item(), w_probe.grad[0, 0, 0, 0].item())
ok_5 = helpers.verdict(
    padded_grads,
    lambda a: len(a) == 2 and all(float(p) == m for p, m in zip(a, measured_grads)),
    "dL/dw[u, v] sums x over the output positions; count the positions where w[u, v] reads a "
    "real pixel rather than a padded zero.",
)
### BEGIN HIDDEN TESTS
assert ok_5, "exercise 5 is not right"
### END HIDDEN TESTS

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
#
# - A conv layer is a dense layer restricted to local windows (sparse connectivity) that reuses
#   one set of weights at every position (weight sharing): $C_\text{out}(C_\text{in}k^2 + 1)$
#   parameters instead of millions, and outputs that shift when the input shifts.
# - Convolution flips the kernel, cross-correlation does not; they are equal for symmetric
#   kernels. `F.conv1d` / `F.conv2d` compute cross-correlation, which is fine for learned kernels.
# - Cross-correlating with a known pattern (a matched filter) finds it in noise by the peak.
# - A 2-D conv layer sums over input channels and kernel positions for every filter and output
#   pixel; output size $\lfloor (H + 2p - k)/s \rfloor + 1$. im2col turns it into one matrix
#   multiply. It costs $N C_\text{out} H_\text{out} W_\text{out} C_\text{in} k^2$ MACs, i.e.
#   twice that in FLOPs.
# - Because the weights are shared, their gradient sums over all positions: it is the
#   cross-correlation of the input with the upstream gradient. The input gradient is a full
#   convolution of the upstream gradient with the (flipped) kernel.
# - A 1x1 convolution is a `Linear` layer applied to every pixel's channel vector.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Further reading
#
# - Y. LeCun, L. Bottou, Y. Bengio, P. Haffner, "Gradient-based learning applied to document
#   recognition", *Proceedings of the IEEE* 86(11), 1998 (LeNet-5, weight sharing).
# - V. Dumoulin, F. Visin, "A guide to convolution arithmetic for deep learning", arXiv:1603.07285,
#   2016.
# - K. Chellapilla, S. Puri, P. Simard, "High performance convolutional neural networks for
#   document processing", 2006 (convolution as unfolding + matrix multiply).
# - G. L. Turin, "An introduction to matched filters", *IRE Transactions on Information Theory*
#   6(3), 1960.
# - I. Goodfellow, Y. Bengio, A. Courville, *Deep Learning*, MIT Press, 2016, chapter 9
#   "Convolutional Networks" (sparse interactions, parameter sharing, equivariance).
# - PyTorch documentation: [`torch.nn.Conv2d`](https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html),
#   [`torch.nn.functional.unfold`](https://pytorch.org/docs/stable/generated/torch.nn.functional.unfold.html),
#   [`torch.autograd.gradcheck`](https://pytorch.org/docs/stable/generated/torch.autograd.gradcheck.gradcheck.html),
#   [`torch.autograd.Function`](https://pytorch.org/docs/stable/autograd.html#function).
