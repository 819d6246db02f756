# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown] slideshow={"slide_type": "slide"}
# # 03 Padding, stride, pooling and output sizes
#
# Most errors in a first CNN are shape errors: a `Linear` layer that expects 400 inputs gets 576,
# a decoder produces 27x27 images instead of 28x28. They all come from one small formula for the
# output size of a sliding window, and from knowing what padding, stride, dilation and pooling do
# to it. This notebook states that formula, checks it against PyTorch over hundreds of settings,
# answers every size puzzle from the lectures with code, and then looks at what the window
# arithmetic means for a network: pooling and its (small) shift invariance, flattening, the
# receptive field of a stack of layers, and the way back up: transposed convolutions, their
# checkerboard artefacts, max-unpooling and a small convolutional autoencoder.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Learning goals
# - Compute the output size of a convolution or pooling layer for any kernel, stride, padding and
#   dilation, and choose the padding for a "same" convolution.
# - Know where the floor and the ceiling versions of the formula differ, and which one PyTorch uses.
# - Explain what pooling does (and loses), measure its shift invariance, and flatten feature maps.
# - Compute the receptive field of a stack of layers by formula and verify it with a gradient.
# - Upsample with transposed convolutions and max-unpooling, and avoid checkerboard artefacts.
# - Write the shape of every layer of a small convolutional autoencoder.
#
# ## You should already know
# - What `nn.Conv2d` computes (notebook 01) and the `(N, C, H, W)` layout.
# - Training a model with `helpers.fit` (or any training loop).

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
import itertools
import math
import warnings

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

helpers.seed_everything()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1. The output-size formula
#
# A window of size $k$ slides over an input of size $i$ that has $p$ zeros added on each side, in
# steps of $s$ pixels. It fits at positions $0, s, 2s, \dots$ as long as it does not run past the
# end of the padded input, which gives
#
# $$o = \left\lfloor \frac{i + 2p - k}{s} \right\rfloor + 1 .$$
#
# With **dilation** $d$ the window's taps are $d$ pixels apart, so it covers
# $k_\text{eff} = d(k - 1) + 1$ pixels and $k$ is replaced by $k_\text{eff}$. The same formula
# holds for height and width separately. We write it ourselves and compare it with PyTorch on
# every combination of a grid of settings.


# %% slideshow={"slide_type": "subslide"}
def out_size(i: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> int:
    """o = floor((i + 2p - k_eff) / s) + 1 with k_eff = d (k - 1) + 1."""
    k_eff = d * (k - 1) + 1
    return (i + 2 * p - k_eff) // s + 1


checked = 0
for i, k, s, p, d in itertools.product(
    range(1, 13), range(1, 6), range(1, 4), range(3), range(1, 3)
):
    if d * (k - 1) + 1 > i + 2 * p:
        continue  # the window does not fit: PyTorch raises an error
    conv = nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d, bias=False)
    o = conv(torch.zeros(1, 1, i, i)).shape[-1]
    assert o == out_size(i, k, s, p, d) == helpers.conv_output_size(i, k, s, p, d), (i, k, s, p, d)
    checked += 1

# %%
# NBVAL_CHECK_OUTPUT
print(f"formula == nn.Conv2d for all {checked} settings of (i, k, s, p, d) on the grid")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Valid and same convolutions
#
# A **valid** convolution uses no padding: the output shrinks by $k - 1$. A **same** convolution
# (stride 1) keeps the size: $o = i$ needs $i + 2p - k + 1 = i$, so $p = (k - 1)/2$. That is an
# integer only for odd $k$, one reason why 3x3, 5x5 and 7x7 kernels are so common. PyTorch's
# `padding="same"` handles even kernels by padding one side more than the other. With dilation
# the same argument gives $p = d(k - 1)/2$.

# %%
# NBVAL_CHECK_OUTPUT
x = torch.zeros(1, 1, 10, 10)
for k in [3, 5, 7]:
    p = (k - 1) // 2
    valid = nn.Conv2d(1, 1, k)(x).shape[-1]
    same = nn.Conv2d(1, 1, k, padding=p)(x).shape[-1]
    print(f"k={k}: valid 10 -> {valid}, same with p={p}: 10 -> {same}")
    helpers.check_equal(same, 10, f"same padding for k={k}")
with warnings.catch_warnings(record=True) as caught:  # an even kernel cannot pad evenly
    warnings.simplefilter("always")
    helpers.check_equal(nn.Conv2d(1, 1, 4, padding="same")(x).shape[-1], 10, "padding='same', k=4")
print("PyTorch warns for k=4:", str(caught[0].message).split(" (Triggered")[0])
helpers.check_equal(nn.Conv2d(1, 1, 3, padding=2, dilation=2)(x).shape[-1], 10, "same, k=3, d=2")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Floor or ceiling?
#
# One of the lecture slides writes the formula with a ceiling,
# $o = \lceil (i + 2p - k)/s \rceil + 1$. The two agree whenever $s$ divides $i + 2p - k$, i.e.
# when the last window ends exactly at the border. Otherwise the ceiling version counts one more
# window that hangs over the edge. Convolutions in PyTorch always use the floor. Pooling layers
# use the floor by default and the ceiling with `ceil_mode=True`, with one extra rule shown
# below: a window has to start inside the input (or its left padding). Here are the settings
# with touching or overlapping windows ($s \le k$) on a small grid where the two formulas
# disagree, and the slides' $i=5, k=2, s=2, p=0$ worked out:


# %%
def out_size_ceil(i: int, k: int, s: int = 1, p: int = 0) -> int:
    return math.ceil((i + 2 * p - k) / s) + 1


disagree = [
    (i, k, s)
    for i, k, s in itertools.product(range(2, 8), range(1, 4), range(1, 4))
    if s <= k <= i and out_size(i, k, s) != out_size_ceil(i, k, s)
]
print(len(disagree), "disagreements with p=0 and s <= k: (i, k, s) =", disagree)

# %% slideshow={"slide_type": "subslide"}
# NBVAL_CHECK_OUTPUT
x5 = torch.arange(25.0).reshape(1, 1, 5, 5)
floor_pool = nn.MaxPool2d(2, stride=2)(x5)  # (1, 1, 2, 2)
ceil_pool = nn.MaxPool2d(2, stride=2, ceil_mode=True)(x5)  # (1, 1, 3, 3)
print(
    "floor:",
    out_size(5, 2, 2),
    tuple(floor_pool.shape),
    " ceil:",
    out_size_ceil(5, 2, 2),
    tuple(ceil_pool.shape),
)
print(ceil_pool[0, 0].int())  # the third row/column comes from windows that hang over the edge

# %% [markdown]
# **Self-check:** wherever the windows overlap or touch ($k \ge s$) and there is no padding, the
# ceiling formula is exactly what `MaxPool2d(ceil_mode=True)` computes. With gaps between the
# windows ($k < s$) the extra rule can bite: for $i=2, k=1, s=2$ the ceiling formula counts a
# second window starting at position 2, past the end of the input, and PyTorch drops it.

# %%
for i, k, s in itertools.product(range(2, 12), range(1, 5), range(1, 5)):
    if s <= k <= i:
        got = nn.MaxPool2d(k, stride=s, ceil_mode=True)(torch.zeros(1, 1, i, i)).shape[-1]
        helpers.check_equal(
            got, out_size_ceil(i, k, s), f"ceil_mode output for i={i}, k={k}, s={s}"
        )

gappy = nn.MaxPool2d(1, stride=2, ceil_mode=True)(torch.zeros(1, 1, 2, 2)).shape[-1]
print("i=2, k=1, s=2: ceiling formula", out_size_ceil(2, 1, 2), "| ceil_mode gives", gappy)
helpers.check_equal((out_size_ceil(2, 1, 2), gappy), (2, 1), "the window past the end is dropped")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2. The size puzzles from the lectures
#
# Each puzzle: predict the output shape with the formula, then let PyTorch confirm it. For the
# slides' drawings we take a 7x7 input where the slide shows no size. Remember that a filter
# always spans **all** input channels: on an RGB input a "3x3 filter" is really 3x3x3, and the
# number of filters is the number of output channels.

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Predict.** A 7x7 RGB image, 5 filters of 3x3, stride 2, padding 1: what output shape, and how
# many parameters?

# %% [markdown] slideshow={"slide_type": "fragment"}
# **Answer.** `(1, 5, 4, 4)`: $\lfloor (7 + 2 - 3) / 2 \rfloor + 1 = 4$ and one map per filter. Each
# filter is $3 \times 3 \times 3$, so $5 \cdot 27 + 5 = 140$ parameters.

# %% slideshow={"slide_type": "fragment"}
conv_demo = nn.Conv2d(3, 5, 3, stride=2, padding=1, device="meta")  # shapes only
out_demo = conv_demo(torch.zeros(1, 3, 7, 7, device="meta"))
helpers.check_equal(tuple(out_demo.shape), (1, 5, 4, 4), "output shape")
helpers.check_equal(sum(p.numel() for p in conv_demo.parameters()), 140, "parameters")

# %% slideshow={"slide_type": "subslide"}
# NBVAL_CHECK_OUTPUT
puzzles = [  # (description, in_channels, size, out_channels, k, s, p)
    ("7x7, 5 filters 3x3, stride 1, pad 1", 1, 7, 5, 3, 1, 1),
    ("7x7, 3x3 filter, stride 2, pad 1", 1, 7, 1, 3, 2, 1),
    ("7x7 RGB, 5 filters 3x3, stride 2, pad 1", 3, 7, 5, 3, 2, 1),
    ("4x4, 2x2 filter, stride 1", 1, 4, 1, 2, 1, 0),
    ("4x4, 2x2 filter, stride 2", 1, 4, 1, 2, 2, 0),
    ("4x4 + pad 1, 2x2 filter, stride 2", 1, 4, 1, 2, 2, 1),
]
for text, c_in, size, c_out, k, s, p in puzzles:
    o = out_size(size, k, s, p)
    conv = nn.Conv2d(c_in, c_out, k, stride=s, padding=p)
    y = conv(torch.zeros(1, c_in, size, size))
    helpers.check_shape(y, (1, c_out, o, o), text)
    n_params = sum(t.numel() for t in conv.parameters())
    print(
        f"{text:42s} -> output {c_out}x{o}x{o}, weight {tuple(conv.weight.shape)}, {n_params} parameters"
    )
helpers.check_equal((out_size(4, 2, 2), out_size(4, 2, 2, 1)), (2, 3), "the slides' quiz")

# %% [markdown]
# The RGB puzzle has 5 filters of 3x3x3 = 27 weights plus 5 biases = 140 parameters, and the last
# two rows are the slides' quiz: 4x4 with a 2x2 filter and stride 2 gives 2x2, one pixel of padding
# turns it into 3x3.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3. Pooling
#
# A pooling layer slides a window over each channel **separately** and keeps the maximum (max
# pooling) or the mean (average pooling). It has **no parameters** and does not mix channels. The
# slides give the output size of a $h \times w$ window with stride $s$ as
#
# $$h_\text{out} = \frac{h_\text{in} - h}{s} + 1, \qquad w_\text{out} = \frac{w_\text{in} - w}{s} + 1,$$
#
# which is our formula with $p = 0$ (when $s$ divides $h_\text{in} - h$). The slides' example: a
# 3x3 patch pooled with a 3x3 window and stride 3 gives one number, the maximum 12.

# %% slideshow={"slide_type": "subslide"}
# NBVAL_CHECK_OUTPUT
patch = torch.tensor([[5.0, 2, 1], [5, 7, 1], [9, 5, 12]])[None, None]  # (1, 1, 3, 3)
print(
    "max:",
    nn.MaxPool2d(3, stride=3)(patch).item(),
    " average:",
    round(nn.AvgPool2d(3, stride=3)(patch).item(), 4),
)
print(
    "parameters:",
    sum(p.numel() for p in nn.MaxPool2d(2).parameters()),
    sum(p.numel() for p in nn.AvgPool2d(2).parameters()),
)
for h_in, h, s in [(28, 2, 2), (32, 2, 2), (55, 3, 2), (13, 3, 2)]:
    h_out = nn.MaxPool2d(h, stride=s)(torch.zeros(1, 1, h_in, h_in)).shape[-1]
    helpers.check_equal(
        h_out, (h_in - h) // s + 1, f"pooled size of {h_in} with window {h}, stride {s}"
    )
    print(
        f"{h_in}x{h_in}, window {h}, stride {s} -> {h_out}x{h_out}"
        + ("  (overlapping)" if s < h else "")
    )

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Overlapping pooling** ($s < h$, e.g. AlexNet's 3x3 windows with stride 2 that shrink 55x55 to
# 27x27) lets neighbouring windows share pixels; non-overlapping pooling ($s = h$) sees each
# pixel once.
#
# ### Invariance to small shifts, measured
#
# Pooling keeps only the strongest response in each window, not its exact position, so moving
# the input by a pixel often leaves the pooled output unchanged. We measure it on a realistic
# feature map, the rectified Sobel response (a "vertical edge" channel) of a photo: the relative
# change $\lVert f(x) - f(\text{shift}(x)) \rVert / \lVert f(x) \rVert$ after a 1-pixel shift,
# for max pooling with growing windows (window 1 = no pooling).

# %% slideshow={"slide_type": "subslide"}
photo = helpers.load_photo("camera", gray=True)[None]  # (1, 1, 512, 512)
photo = F.interpolate(photo, size=helpers.pick(256, 512), mode="area")  # (1, 1, S, S)
sobel_x = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])[None, None]
features = F.relu(F.conv2d(photo, sobel_x))  # (1, 1, S-2, S-2): a sparse edge map
shifted = torch.roll(features, shifts=1, dims=-1)  # everything one pixel to the right


def relative_change(window: int) -> float:
    pool = nn.MaxPool2d(window) if window > 1 else nn.Identity()
    a, b = pool(features[..., 8:-8, 8:-8]), pool(shifted[..., 8:-8, 8:-8])  # ignore the wrap-around
    return ((a - b).norm() / a.norm()).item()


windows = [1, 2, 4, 8]
changes = [relative_change(w) for w in windows]
plt.figure(figsize=(5, 3.4))
plt.bar([str(w) for w in windows], changes)
plt.title("Change of the pooled map after a 1-pixel shift")
plt.xlabel("max-pooling window (1 = no pooling)")
plt.ylabel("relative change")
plt.show()
print({w: round(c, 3) for w, c in zip(windows, changes)})

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Self-check:** each larger pooling window makes the output less sensitive to the shift, and
# 2x2 pooling already removes a good part of the change.

# %%
helpers.check_true(
    all(a > b for a, b in zip(changes, changes[1:])), "larger windows change less", str(changes)
)
helpers.check_true(
    changes[1] < 0.8 * changes[0],
    "2x2 max pooling reduces the change by 20 % or more",
    str(changes),
)

# %% [markdown]
# **What is lost:** the position inside each window, and everything but the maximum. Two different
# inputs can pool to the same output, so nothing after the pooling layer can tell them apart. For
# classification that is often fine; for tasks where relative positions matter (face recognition,
# segmentation) it is a real loss.

# %%
top_left = torch.tensor([[1.0, 0], [0, 0]])[None, None]
bottom_right = torch.tensor([[0.0, 0], [0, 1]])[None, None]
helpers.check_equal(nn.MaxPool2d(2)(top_left), nn.MaxPool2d(2)(bottom_right), "pooled outputs")
helpers.check_equal(
    nn.AvgPool2d(2)(top_left), nn.AvgPool2d(2)(bottom_right), "average-pooled outputs"
)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4. Flattening
#
# Convolutions produce `(N, C, H, W)`; a `Linear` layer wants `(N, features)`. `torch.flatten(x,
# start_dim)` merges every dimension from `start_dim` on. The slides' example: 8 images with 5
# feature maps of 28x28.

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Predict.** `out` has shape `(8, 5, 28, 28)`. What shapes do `torch.flatten(out, 1)` and
# `torch.flatten(out, 2)` give?

# %% [markdown] slideshow={"slide_type": "fragment"}
# **Answer.** `(8, 3920)`: everything from dimension 1 on is merged, $5 \cdot 28 \cdot 28$ features
# per image; and `(8, 5, 784)`: one vector per feature map.

# %% slideshow={"slide_type": "fragment"}
maps_demo = torch.zeros(8, 5, 28, 28)
helpers.check_shape(torch.flatten(maps_demo, 1), (8, 3920), "flatten(1)")
helpers.check_shape(torch.flatten(maps_demo, 2), (8, 5, 784), "flatten(2)")

# %% slideshow={"slide_type": "subslide"}
# NBVAL_CHECK_OUTPUT
out = torch.zeros(8, 5, 28, 28)
print(
    tuple(torch.flatten(out, 1).shape),
    tuple(torch.flatten(out, 2).shape),
    tuple(nn.Flatten()(out).shape),
)
helpers.check_shape(
    torch.flatten(out, 1), (8, 5 * 28 * 28), "flatten(1)"
)  # 3920 features per image
helpers.check_shape(torch.flatten(out, 2), (8, 5, 28 * 28), "flatten(2)")  # 784 per feature map

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5. Receptive field and dilation
#
# The **receptive field** of an output pixel is the patch of the input it depends on. Walking
# through the layers, let $j_l$ be the distance (in input pixels) between neighbouring positions of
# layer $l$'s output ("jump") and $r_l$ the receptive field. Starting from $r_0 = j_0 = 1$,
#
# $$r_l = r_{l-1} + (k_{\text{eff},l} - 1)\, j_{l-1}, \qquad j_l = j_{l-1}\, s_l .$$
#
# Each layer widens the field by $k_\text{eff} - 1$ of its input positions, and strides make the
# later layers' steps larger. We compute it for a small stack, and then check it **by gradient**:
# the gradient of one output pixel with respect to the input is non-zero exactly on its receptive
# field (we make all weights positive so nothing cancels).


# %% slideshow={"slide_type": "subslide"}
def receptive_field_of(layers: list[tuple[int, int, int]]) -> int:
    """r for a stack of (kernel, stride, dilation), by the recursion above."""
    r, jump = 1, 1
    for k, s, d in layers:
        r += (d * (k - 1) + 1 - 1) * jump
        jump *= s
    return r


stack = nn.Sequential(
    nn.Conv2d(1, 1, 3),  # 3x3, stride 1
    nn.Conv2d(1, 1, 3),  # 3x3, stride 1
    nn.AvgPool2d(2),  # 2x2, stride 2 (average: every pixel of a window gets gradient)
    nn.Conv2d(1, 1, 3),  # 3x3, stride 1 (now each step is 2 input pixels)
    nn.Conv2d(1, 1, 3, dilation=2),  # 3 taps spread over 5 positions
)
spec = [(3, 1, 1), (3, 1, 1), (2, 2, 1), (3, 1, 1), (3, 1, 2)]
r = receptive_field_of(spec)
helpers.check_equal(
    r, helpers.receptive_field(stack), "notebook formula vs helpers.receptive_field"
)

# %% slideshow={"slide_type": "subslide"}
for m in stack:
    if isinstance(m, nn.Conv2d):
        nn.init.constant_(m.weight, 0.1)  # positive weights: gradients cannot cancel
        nn.init.zeros_(m.bias)
x = torch.rand(1, 1, 48, 48, requires_grad=True)  # (1, 1, 48, 48)
y = stack(x)  # (1, 1, 16, 16): 48 -> 46 -> 44 -> 22 -> 20 -> 16
centre = y.shape[-1] // 2
y[0, 0, centre, centre].backward()
footprint = x.grad[0, 0] != 0  # (48, 48): where the output pixel "looks"
rows, cols = footprint.nonzero(as_tuple=True)
height, width = int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)

# %%
# NBVAL_CHECK_OUTPUT
print(f"receptive field by formula: {r}x{r}, by gradient: {height}x{width}")
helpers.check_equal((height, width), (r, r), "receptive field measured by gradient")

# %% slideshow={"slide_type": "subslide"}
plt.figure(figsize=(4.2, 4))
plt.imshow(x.grad[0, 0].abs(), cmap="magma")
plt.title(f"|d output[{centre},{centre}] / d input|: {r}x{r} field")
plt.xlabel("input column")
plt.ylabel("input row")
plt.colorbar(label="gradient magnitude")
plt.show()

field = x.grad[0, 0].abs()[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]  # (r, r)
border = torch.cat([field[0], field[-1], field[1:-1, 0], field[1:-1, -1]])  # the outer ring
middle = field[r // 2 - 1 : r // 2 + 2, r // 2 - 1 : r // 2 + 2]  # the central 3x3
print(f"mean gradient: central 3x3 {middle.mean():.2g}, border {border.mean():.2g}")
helpers.check_true(middle.mean() > 5 * border.mean(), "the centre of the field counts more")

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Predict.** Two stacked 3x3 convolutions, stride 1, 64 channels in and out, no bias. How large is
# their receptive field, and how many weights do they hold next to one 5x5 layer?

# %% [markdown] slideshow={"slide_type": "fragment"}
# **Answer.** A 5x5 field, like the 5x5 layer, with $18 \cdot 64^2 = 73{,}728$ weights against $25
# \cdot 64^2 = 102{,}400$.

# %% slideshow={"slide_type": "fragment"}
with torch.device("meta"):  # shapes only
    pair = nn.Sequential(nn.Conv2d(64, 64, 3, bias=False), nn.Conv2d(64, 64, 3, bias=False))
    single = nn.Conv2d(64, 64, 5, bias=False)
helpers.check_equal(helpers.receptive_field(pair), 5, "receptive field of two 3x3 layers")
helpers.check_equal(sum(p.numel() for p in pair.parameters()), 73_728, "two 3x3 layers")
helpers.check_equal(single.weight.numel(), 102_400, "one 5x5 layer")

# %% [markdown] slideshow={"slide_type": "subslide"}
# The field is not uniform: centre pixels reach the output along many more paths than border
# pixels, so they matter more (the *effective* receptive field is smaller than the nominal one):
# above, the central 3x3 pixels got over 5 times the border's gradient on average.
# With max pooling instead of average pooling the gradient would flow through one pixel per
# window only, and the measured footprint would depend on the input; the nominal field stays.
#
# ### Two 3x3 layers see as much as one 5x5, with fewer parameters
#
# Two stacked 3x3 convolutions (stride 1) have a 5x5 receptive field, like one 5x5 layer, but with
# $C$ channels in and out they need $2 \cdot 9 C^2 = 18 C^2$ weights instead of $25 C^2$, and
# they put a nonlinearity in between. Three 3x3 layers match a 7x7 ($27 C^2$ vs $49 C^2$). This is
# the design idea behind VGG.

# %%
# NBVAL_CHECK_OUTPUT
C = 64
two_3x3 = nn.Sequential(nn.Conv2d(C, C, 3, bias=False), nn.ReLU(), nn.Conv2d(C, C, 3, bias=False))
one_5x5 = nn.Conv2d(C, C, 5, bias=False)
n_two, n_one = (sum(p.numel() for p in m.parameters()) for m in (two_3x3, one_5x5))
print(f"two 3x3: field {helpers.receptive_field(two_3x3)}, {n_two:,} weights")
print(f"one 5x5: field {helpers.receptive_field([one_5x5])}, {n_one:,} weights")
helpers.check_equal((n_two, n_one), (18 * C**2, 25 * C**2), "weight counts 18 C^2 and 25 C^2")
three_3x3 = [nn.Conv2d(C, C, 3, bias=False, device="meta") for _ in range(3)]
one_7x7 = nn.Conv2d(C, C, 7, bias=False, device="meta")
helpers.check_equal(
    (helpers.receptive_field(three_3x3), sum(m.weight.numel() for m in three_3x3)),
    (helpers.receptive_field([one_7x7]), 27 * C**2),
    "three 3x3 layers: a 7x7 field with 27 C^2 weights",
)
helpers.check_equal(one_7x7.weight.numel(), 49 * C**2, "one 7x7 layer: 49 C^2 weights")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Dilation
#
# A dilated ("atrous") 3x3 kernel with $d = 2$ reads 9 pixels spread over a 5x5 area: a larger
# field for the same 9 weights and no loss of resolution. The gradient footprint shows the holes.

# %% slideshow={"slide_type": "subslide"}
fig, axes = plt.subplots(1, 3, figsize=(10, 3.4), layout="constrained")
for ax, d in zip(axes, [1, 2, 3]):
    conv = nn.Conv2d(1, 1, 3, dilation=d, bias=False)
    nn.init.ones_(conv.weight)
    x = torch.zeros(1, 1, 9, 9, requires_grad=True)
    out = conv(x)  # (1, 1, 9 - 2d, 9 - 2d)
    out[0, 0, out.shape[-1] // 2, out.shape[-1] // 2].backward()
    ax.imshow(x.grad[0, 0], cmap="Blues", vmin=0, vmax=1)
    k_eff = d * 2 + 1
    helpers.check_equal(int(x.grad.sum()), 9, f"taps of the d={d} kernel")
    ax.set_title(f"3x3, dilation {d}: covers {k_eff}x{k_eff}")
    ax.set_xlabel("input column")
    ax.set_ylabel("input row")
fig.suptitle("Input pixels read by one output pixel")
plt.show()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6. Going back up: transposed convolution, checkerboards, unpooling
#
# Segmentation and autoencoders need to make feature maps *larger*. A **transposed convolution**
# (also called up-convolution or, misleadingly, "deconvolution") runs the sliding window
# backwards: every input pixel *stamps* a copy of the kernel, scaled by its value, onto the
# output, at positions $s$ pixels apart; overlapping stamps add up:
#
# $$y[s\,m + a,\; s\,n + b] \mathrel{+}= x[m, n]\, w[a, b] .$$
#
# The slides' example: input `[[0, 1], [2, 3]]`, kernel `[[0, 1], [2, 3]]`, stride 1.


# %%
def transposed_conv_loops(x: torch.Tensor, w: torch.Tensor, s: int = 1) -> torch.Tensor:
    """Scatter form of a transposed convolution (no padding), 2-D single channel."""
    (h, wid), (kh, kw) = x.shape, w.shape
    y = torch.zeros((h - 1) * s + kh, (wid - 1) * s + kw)
    for m in range(h):
        for n in range(wid):
            y[s * m : s * m + kh, s * n : s * n + kw] += x[m, n] * w  # stamp the kernel
    return y


# %% slideshow={"slide_type": "subslide"}
# NBVAL_CHECK_OUTPUT
x = torch.tensor([[0.0, 1], [2, 3]])
w = torch.tensor([[0.0, 1], [2, 3]])
y = F.conv_transpose2d(x[None, None], w[None, None])[0, 0]  # (3, 3)
print(y.int())
helpers.check_equal(
    y, torch.tensor([[0.0, 0, 1], [0, 4, 6], [4, 12, 9]]), "the slides' transposed conv"
)
helpers.check_equal(transposed_conv_loops(x, w), y, "scatter loops vs F.conv_transpose2d")
helpers.check_equal(
    transposed_conv_loops(x, w, s=2),
    F.conv_transpose2d(x[None, None], w[None, None], stride=2)[0, 0],
    "stride 2",
)

# %% [markdown]
# Its output size inverts the convolution formula: $o = (i - 1)s - 2p + k + \text{output\_padding}$.
# The slides' "3x3 de-convolution filter, stride 2, pad 1" maps $i$ to $2i - 1$; `output_padding=1`
# adds the missing row and column so that it exactly doubles the size. **Self-check** over a grid:

# %% slideshow={"slide_type": "subslide"}
for i, k, s, p, op in itertools.product(range(1, 8), range(1, 5), range(1, 4), range(2), range(2)):
    if op >= s or (i - 1) * s - 2 * p + k + op < 1:
        continue  # output_padding must be smaller than the stride; the output must not be empty
    up = nn.ConvTranspose2d(1, 1, k, stride=s, padding=p, output_padding=op)
    helpers.check_equal(
        up(torch.zeros(1, 1, i, i)).shape[-1], (i - 1) * s - 2 * p + k + op, f"{(i, k, s, p, op)}"
    )
helpers.check_equal(
    nn.ConvTranspose2d(1, 1, 3, 2, 1, output_padding=1)(torch.zeros(1, 1, 7, 7)).shape[-1],
    14,
    "7 -> 14",
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Checkerboard artefacts
#
# When the kernel size is not a multiple of the stride, the stamps overlap unevenly: some output
# pixels receive two stamps, their neighbours one. Even a perfectly flat input then produces a
# grid pattern. With $k$ a multiple of $s$ (e.g. $k = 4, s = 2$) every interior pixel receives the
# same number of stamps. (The slides' advice: choose the kernel size as a multiple of the stride,
# or upsample by interpolation/unpooling and then convolve.)

# %% slideshow={"slide_type": "subslide"}
flat = torch.ones(1, 1, 8, 8)
fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
spread = {}
for ax, k in zip(axes, [3, 4]):
    up = F.conv_transpose2d(flat, torch.ones(1, 1, k, k), stride=2)[0, 0]
    interior = up[k:-k, k:-k]
    spread[k] = (interior.max() - interior.min()).item()
    im = ax.imshow(up, cmap="viridis")
    ax.set_title(f"kernel {k}, stride 2: interior {interior.min():.0f}..{interior.max():.0f}")
    ax.set_xlabel("output column")
    ax.set_ylabel("output row")
    fig.colorbar(im, ax=ax, shrink=0.8, label="number of stamps")
fig.suptitle("Transposed convolution of a flat image with an all-ones kernel")
plt.show()

# %% slideshow={"slide_type": "subslide"}
# NBVAL_CHECK_OUTPUT
print(spread)
helpers.check_true(spread[3] > 0, "k=3, s=2 gives a checkerboard (uneven overlap)")
helpers.check_equal(spread[4], 0.0, "k=4, s=2: an even interior")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Max-unpooling
#
# `MaxPool2d(..., return_indices=True)` remembers **where** each maximum came from;
# `MaxUnpool2d` puts each value back at that place and fills the rest with zeros (a following
# convolution then smooths the result). It undoes the position loss of max pooling, but not the
# loss of the non-maximal values.

# %%
# NBVAL_CHECK_OUTPUT
x = torch.tensor([[1.0, 5, 2, 0], [3, 4, 8, 1], [0, 2, 1, 1], [7, 1, 3, 6]])[
    None, None
]  # (1, 1, 4, 4)
pooled, where = nn.MaxPool2d(2, return_indices=True)(x)  # (1, 1, 2, 2) each
restored = nn.MaxUnpool2d(2)(pooled, where)  # (1, 1, 4, 4)
print(pooled[0, 0].int())
print(restored[0, 0].int())
window_max = F.interpolate(
    pooled, scale_factor=2, mode="nearest"
)  # each window's maximum, (1, 1, 4, 4)
helpers.check_equal(
    restored,
    torch.where(x == window_max, x, torch.zeros_like(x)),
    "unpooled = maxima in place, zeros elsewhere",
)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 7. A small convolutional autoencoder
#
# Everything together: an **encoder** of stride-2 convolutions squeezes a 28x28 digit into a
# 4x7x7 code (196 numbers instead of 784), and a **decoder** of stride-2 transposed convolutions
# with kernel 4 (a multiple of the stride: no checkerboard) brings it back to 28x28. It is trained
# to reproduce its input: the targets are the inputs. Every layer has its output shape in a
# comment; check each one with the formulas above. The last layer is linear, the simplest
# choice: the MSE loss fits the pixel values directly, and the output is clamped to [0, 1] only
# for display. A final sigmoid is a common alternative; its slope fades near 0 and 1, where
# most MNIST pixels are.


# %% slideshow={"slide_type": "subslide"}
def autoencoder() -> nn.Sequential:
    return nn.Sequential(  # input (N, 1, 28, 28)
        nn.Conv2d(1, 16, 3, stride=2, padding=1),  # (N, 16, 14, 14): floor((28 + 2 - 3) / 2) + 1
        nn.ReLU(),  # (N, 16, 14, 14)
        nn.Conv2d(16, 4, 3, stride=2, padding=1),  # (N, 4, 7, 7): the code (no ReLU: none dies)
        nn.ConvTranspose2d(4, 16, 4, stride=2, padding=1),  # (N, 16, 14, 14): (7 - 1) * 2 - 2 + 4
        nn.ReLU(),  # (N, 16, 14, 14)
        nn.ConvTranspose2d(16, 1, 4, stride=2, padding=1),  # (N, 1, 28, 28): pixel values
    )


model = autoencoder()
x = torch.zeros(2, 1, 28, 28)
for layer in model:
    x = layer(x)
    print(f"{type(layer).__name__:16s} -> {tuple(x.shape)}")
helpers.check_shape(model[:3](torch.zeros(2, 1, 28, 28)), (2, 4, 7, 7), "code")
helpers.check_shape(x, (2, 1, 28, 28), "reconstruction")

# %% slideshow={"slide_type": "subslide"}
train_set, test_set = helpers.load_mnist("train"), helpers.load_mnist("test")
n_train = helpers.pick(3000, len(train_set.images))  # fast mode: a few seconds of training
train_x = train_set.images[:n_train].float() / 255  # (n_train, 1, 28, 28) in [0, 1]
test_x = test_set.images.float() / 255  # (N_test, 1, 28, 28)
# targets = inputs: the model learns to reproduce what it sees
train_loader = helpers.DeviceLoader(train_x, train_x, batch_size=64, shuffle=True)
test_loader = helpers.DeviceLoader(test_x, test_x, batch_size=500, shuffle=False)
epochs = helpers.pick(2, 10)
history = helpers.fit(
    model,
    train_loader,
    test_loader,
    epochs=epochs,
    lr=5e-3,
    loss_fn=F.mse_loss,
    seed=helpers.get_settings().seed,  # COURSE_SEED, 0 unless set
)
model = model.cpu().eval()

# %% slideshow={"slide_type": "subslide"}
with torch.no_grad():
    recon = model(test_x[:8]).clamp(0, 1)  # (8, 1, 28, 28)
helpers.show_images(
    torch.cat([test_x[:8], recon]),
    ncols=8,
    title="Test digits (top) and their reconstructions (bottom)",
)
plt.show()

# %% [markdown]
# **Self-check:** the autoencoder reconstructs test digits much better than the best constant
# guess, the mean training image.

# %% slideshow={"slide_type": "subslide"}
with torch.no_grad():
    mse = F.mse_loss(model(test_x), test_x).item()
baseline = F.mse_loss(train_x.mean(0, keepdim=True).expand_as(test_x), test_x).item()
print(f"test MSE {mse:.4f} vs mean-image baseline {baseline:.4f}")
helpers.check_true(
    mse < 0.5 * baseline,
    "reconstruction error below half the mean-image baseline",
    f"{mse:.4f} vs {baseline:.4f}",
)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 8. Explore the window arithmetic
#
# Move the sliders: input size, kernel, stride, padding and dilation. The widget computes the
# output size with the formula (through `helpers.conv_output_size`) and draws, for one axis, which
# input cells every output position reads. Try: stride 2 with kernel 3 and 4 (which one leaves
# cells unread?), dilation 2 with padding 2 (a "same" dilated convolution), and a window larger
# than the padded input. (In a static view you see four example settings.)

# %%
explorer = helpers.conv_explorer(i=7, k=3, s=2, p=1)
explorer

# %% [markdown]
# **Self-check:** the explorer agrees with PyTorch for its current setting.

# %% slideshow={"slide_type": "subslide"}
i, k, s, p, d = explorer.settings
torch_size = nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d)(torch.zeros(1, 1, i, i)).shape[-1]
helpers.check_equal(explorer.output_size, torch_size, "explorer output size")
helpers.check_equal(explorer.output_size, out_size(i, k, s, p, d), "explorer vs our formula")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
#
# Each exercise has a task, a cell for your answer (replace `None`) and a check cell that prints
# "Right!", "Not right yet" with a hint, or "Not attempted yet"; the check never stops the
# notebook. In the lecture version of this notebook the answer cells hold a worked solution,
# marked as such; in the exercise version they are yours.
#
# Exercises 1 and 2 are the lecture's "fill in the missing dimensions". A small network in the
# slides' notation, on 32x32 RGB images: $\ast_5^{(1)}$ with 6 filters, ReLU,
# $\boxplus_2^{(2)}$, $\ast_5^{(1)}$ with 16 filters, ReLU, $\boxplus_2^{(2)}$, flatten,
# $FC^{?}_{120}$, ReLU, $FC^{120}_{10}$.
#
# **Exercise 1 (feature-map shapes; a number for every layer).** Without padding, give the shape
# `(C, H, W)` after the first convolution, the first pooling, the second convolution and the
# second pooling, and `(features,)` after flattening: a list of five tuples. The check builds
# the network and runs a batch through it.

# %% nbgrader={"grade": false, "grade_id": "ex1_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 1: your answer, a list of five tuples, e.g. [(6, 30, 30), ...]
shapes_no_padding = None
### BEGIN SOLUTION
s1 = out_size(32, 5)  # 28 after the first conv
s2 = out_size(s1, 2, 2)  # 14 after the first pool
s3 = out_size(s2, 5)  # 10
s4 = out_size(s3, 2, 2)  # 5: a 16x5x5 map, flattened to 400 as in LeNet-5
shapes_no_padding = [(6, s1, s1), (6, s2, s2), (16, s3, s3), (16, s4, s4), (16 * s4 * s4,)]
### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex1_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
def lecture_net_shapes(p: int) -> list[tuple[int, ...]]:
    """Run the exercise's network (padding p in both convs) and list the shapes it produces."""
    layers = [nn.Conv2d(3, 6, 5, padding=p), nn.ReLU(), nn.MaxPool2d(2)]
    layers += [nn.Conv2d(6, 16, 5, padding=p), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten()]
    x, seen = torch.zeros(2, 3, 32, 32), []
    for layer in layers:
        x = layer(x)
        if not isinstance(layer, nn.ReLU):
            seen.append(tuple(x.shape[1:]))
    return seen


ok_1 = helpers.verdict(
    shapes_no_padding,
    lambda a: [tuple(t) for t in a] == lecture_net_shapes(0),
    "apply o = floor((i + 2p - k) / s) + 1 layer by layer; pooling keeps the channels.",
)
### BEGIN HIDDEN TESTS
assert ok_1, "exercise 1 is not right"
### END HIDDEN TESTS

# %% [markdown]
# **Exercise 2 (padding and the first dense layer; a number).** Now give both convolutions
# "same" padding ($p = 2$). How many input features does $FC_{120}$ get? Compare with the
# unpadded network: padding at the start makes the first dense layer, usually the largest
# layer of such a network, bigger.

# %% nbgrader={"grade": false, "grade_id": "ex2_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 2: your answer (a whole number)
fc_inputs_same = None
### BEGIN SOLUTION
# Same padding keeps 32 through the first conv: 32 -> pool 16 -> conv 16 -> pool 8.
fc_inputs_same = 16 * 8 * 8  # 1024 instead of 400: FC1 gets 2.6 times as many weights
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex2_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
ok_2 = helpers.verdict(
    fc_inputs_same,
    lecture_net_shapes(2)[-1][0],
    "with same padding only the pooling layers change the height and width.",
)
### BEGIN HIDDEN TESTS
assert ok_2, "exercise 2 is not right"
### END HIDDEN TESTS

# %% [markdown]
# **Exercise 3 (floor or ceiling; a prediction).** `nn.MaxPool2d(3, stride=2)` pools a 6x6 map.
# Predict the output height with the default `ceil_mode=False` and with `ceil_mode=True`, as a
# tuple `(floor_size, ceil_size)`. The check runs both.

# %% nbgrader={"grade": false, "grade_id": "ex3_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 3: your prediction, a tuple (floor_size, ceil_size)
pool_sizes_6 = None
### BEGIN SOLUTION
# (6 - 3) / 2 = 1.5: floor gives 1 + 1 = 2 windows; the ceiling adds a third window that
# starts at column 4 and hangs one column over the edge.
pool_sizes_6 = (2, 3)
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex3_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
six = torch.zeros(1, 1, 6, 6)
measured_sizes = tuple(
    nn.MaxPool2d(3, stride=2, ceil_mode=mode)(six).shape[-1] for mode in (False, True)
)
ok_3 = helpers.verdict(
    pool_sizes_6,
    lambda a: tuple(a) == measured_sizes,
    "the two formulas differ only in rounding (i - k) / s down or up.",
)
### BEGIN HIDDEN TESTS
assert ok_3, "exercise 3 is not right"
### END HIDDEN TESTS

# %% [markdown]
# **Exercise 4 (receptive field of VGG's first two blocks; a number).** conv3, conv3, pool2,
# conv3, conv3, pool2 (convolutions stride 1, pooling stride 2, no dilation). How many input
# pixels wide is the receptive field of one output pixel? Use the recursion of section 5 by
# hand or with `receptive_field_of`.

# %% nbgrader={"grade": false, "grade_id": "ex4_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 4: your answer (a whole number of pixels)
vgg_field = None
### BEGIN SOLUTION
vgg_field = receptive_field_of([(3, 1, 1), (3, 1, 1), (2, 2, 1), (3, 1, 1), (3, 1, 1), (2, 2, 1)])
# r grows 1 -> 3 -> 5 -> 6, then by 2 * 2 per conv (the jump is 2 after the pool) -> 10 -> 14,
# and the last pool adds 1 * 2 -> 16.
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex4_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
vgg_blocks = nn.Sequential(
    nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3), nn.MaxPool2d(2),
    nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3), nn.MaxPool2d(2),
)  # fmt: skip
ok_4 = helpers.verdict(
    vgg_field,
    helpers.receptive_field(list(vgg_blocks)),
    "each layer adds (k - 1) times the current jump, and a stride-s layer multiplies the jump "
    "by s for the layers after it.",
)
### BEGIN HIDDEN TESTS
assert ok_4, "exercise 4 is not right"
### END HIDDEN TESTS

# %% [markdown]
# **Exercise 5 (same padding with dilation; code).** Write `same_padding(k, d)`: the padding
# that keeps the height and width of a stride-1 convolution with an odd $k \times k$ kernel and
# dilation $d$. The check tries it with `nn.Conv2d` for several kernels and dilations.

# %% nbgrader={"grade": false, "grade_id": "ex5_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 5: your answer (a function of k and d that returns an int)
same_padding = None
### BEGIN SOLUTION


def same_padding(k: int, d: int) -> int:
    return d * (k - 1) // 2  # half of k_eff - 1, with k_eff = d (k - 1) + 1


### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex5_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
def keeps_size(fn) -> bool:
    for k, d in itertools.product([1, 3, 5, 7], [1, 2, 3]):
        conv = nn.Conv2d(1, 1, k, padding=int(fn(k, d)), dilation=d)
        if conv(torch.zeros(1, 1, 25, 25)).shape[-2:] != (25, 25):
            return False
    return True


ok_5 = helpers.verdict(
    same_padding,
    keeps_size,
    "a dilated kernel spans k_eff = d (k - 1) + 1 pixels; put the extra width half on each side.",
)
### BEGIN HIDDEN TESTS
assert ok_5, "exercise 5 is not right"
### END HIDDEN TESTS

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
# - Output size: $o = \lfloor (i + 2p - k_\text{eff})/s \rfloor + 1$ with
#   $k_\text{eff} = d(k-1) + 1$; "same" padding $p = d(k-1)/2$ for stride 1 and odd $k$.
#   Convolutions floor; pooling floors unless `ceil_mode=True`.
# - Pooling has no parameters, works per channel, shrinks the map, and makes the output less
#   sensitive to small shifts, at the price of losing exact positions.
# - `flatten(1)` turns `(N, C, H, W)` into `(N, C*H*W)` for the fully-connected head.
# - Receptive field: $r_l = r_{l-1} + (k_{\text{eff},l} - 1) j_{l-1}$, $j_l = j_{l-1} s_l$;
#   stacks of small kernels reach a large field with fewer parameters; dilation widens it for free.
# - Transposed convolutions upsample ($o = (i-1)s - 2p + k$); keep $k$ a multiple of $s$ to avoid
#   checkerboards. Max-unpooling puts maxima back in place.
#
# ## Further reading
# - V. Dumoulin and F. Visin, "A guide to convolution arithmetic for deep learning" (2016),
#   <https://arxiv.org/abs/1603.07285>: every case of the output-size formula, with pictures.
# - A. Odena, V. Dumoulin and C. Olah, "Deconvolution and checkerboard artifacts", Distill 2016,
#   <https://distill.pub/2016/deconv-checkerboard/>.
# - F. Yu and V. Koltun, "Multi-scale context aggregation by dilated convolutions" (2015),
#   <https://arxiv.org/abs/1511.07122>.
# - W. Luo et al., "Understanding the effective receptive field in deep convolutional neural
#   networks", NeurIPS 2016, <https://arxiv.org/abs/1701.04128>.
# - K. Simonyan and A. Zisserman, "Very deep convolutional networks for large-scale image
#   recognition" (VGG, 2014), <https://arxiv.org/abs/1409.1556>: stacks of 3x3 convolutions.
# - PyTorch docs: [`nn.Conv2d`](https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html),
#   [`nn.MaxPool2d`](https://pytorch.org/docs/stable/generated/torch.nn.MaxPool2d.html),
#   [`nn.ConvTranspose2d`](https://pytorch.org/docs/stable/generated/torch.nn.ConvTranspose2d.html),
#   [`nn.MaxUnpool2d`](https://pytorch.org/docs/stable/generated/torch.nn.MaxUnpool2d.html).
