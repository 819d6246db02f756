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
# # 04 CNN architectures: from LeNet-5 to MobileNetV2
#
# Between 1998 and 2018 image classifiers went from 60 thousand parameters (LeNet-5) to 138
# million (VGG-16) and back down to 3.5 million (MobileNetV2) while getting far more accurate.
# The progress did not come from new kinds of layers: every network in this notebook is made
# of convolutions, pooling, nonlinearities and a classifier. It came from a handful of ideas
# about how to *arrange* them: small filters stacked deep, 1x1 convolutions that shrink the
# channel count before an expensive layer, shortcuts that let a block learn a correction to
# its input, concatenation instead of addition, and factorising a convolution into a spatial
# and a channel-mixing part. We build each network from its blocks, count its parameters and
# multiply-adds by formula, and check every count against PyTorch's reference models. Then we
# train a plain and a residual network on real CIFAR-10 to see *why* shortcuts matter, and
# measure how settings such as `channels_last` and mixed precision change the speed of a
# convolution on the machine at hand.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Learning goals
#
# - Build LeNet-5, AlexNet, VGG-16, GoogLeNet, ResNet-18/50, DenseNet-121 and MobileNetV2 from
#   their blocks and match torchvision's parameter counts exactly.
# - Count the parameters and multiply-adds of a convolution by formula and read a model
#   summary table (layer, output shape, parameters, multiply-adds).
# - Explain the 1x1 "bottleneck": reproduce the Inception example's 854M multiply-adds and
#   find out where the slides' 358M comes from (271M as drawn).
# - Explain global average pooling, residual (basic, bottleneck, projection) blocks, dense
#   blocks, depthwise-separable convolutions, inverted residuals and squeeze-and-excitation.
# - Explain the degradation problem, and see on CIFAR-10 that in the first epochs a deeper
#   plain network trains more slowly than a shallower one while its residual twin does not;
#   then read in a recorded full-length run that the gap lasts: after 30 epochs the 44-layer
#   plain network still has a higher training loss than the 8-layer one, and its residual
#   twin the lowest of the three.
# - Know what `cudnn.benchmark`, `cudnn.deterministic`, `channels_last` and autocast do, and
#   measure them with `torch.utils.benchmark`.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## You should already know
#
# - How `Conv2d`, `MaxPool2d` and `Linear` change a tensor's shape (notebooks 01 and 03).
# - A training loop: forward pass, loss, `backward()`, optimizer step.

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
import shutil

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
import torchinfo
import torchvision
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

helpers.seed_everything()
META = torch.device("meta")  # builds modules and runs shapes without allocating memory

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1. Counting parameters and multiply-adds
#
# A convolution with $C_\text{in}$ input channels, $C_\text{out}$ filters of size $k \times k$
# and a bias has
#
# $$P = C_\text{out}\,(C_\text{in}\,k^2 + 1)$$
#
# parameters. Each of its $H_\text{out} W_\text{out}$ output positions and $C_\text{out}$
# channels is a dot product of length $C_\text{in} k^2$, so one image costs
#
# $$\text{MACs} = H_\text{out}\, W_\text{out}\, C_\text{out}\, C_\text{in}\, k^2$$
#
# multiply-adds (one multiply-add = 2 FLOPs). A `Linear(n, m)` layer is the special case
# $k = 1$, $H_\text{out} = W_\text{out} = 1$. We write both formulas as functions and check them
# against the module's own parameters and against PyTorch's FLOP counter.


# %% slideshow={"slide_type": "subslide"}
def count_params(model: nn.Module) -> int:
    """Number of learnable parameters (works on the meta device too)."""
    return sum(p.numel() for p in model.parameters())


def conv_params(c_in: int, c_out: int, k: int, bias: bool = True, groups: int = 1) -> int:
    """P = C_out (C_in k^2 / groups + 1)."""
    return c_out * (c_in // groups * k * k + int(bias))


def conv_macs(c_in: int, c_out: int, k: int, h_out: int, w_out: int, groups: int = 1) -> int:
    """Multiply-adds of one image: H_out W_out C_out (C_in / groups) k^2 (bias not counted)."""
    return h_out * w_out * c_out * (c_in // groups) * k * k


def count_macs(model: nn.Module, x: torch.Tensor) -> int:
    """Multiply-adds of one forward pass, measured by PyTorch's FLOP counter (FLOPs / 2)."""
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    return counter.get_total_flops() // 2


# %%
# NBVAL_CHECK_OUTPUT
conv = nn.Conv2d(3, 64, kernel_size=3, padding=1)
x = torch.zeros(1, 3, 32, 32)  # (N, C, H, W)
print("parameters:", count_params(conv), "=", conv_params(3, 64, 3))
print("multiply-adds:", count_macs(conv, x), "=", conv_macs(3, 64, 3, 32, 32))

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Self-check.** The formulas agree with the module and with the FLOP counter.

# %%
helpers.check_equal(count_params(conv), conv_params(3, 64, 3), "parameters of Conv2d(3, 64, 3)")
helpers.check_equal(count_macs(conv, x), conv_macs(3, 64, 3, 32, 32), "multiply-adds of a conv")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2. LeNet-5 (LeCun et al., 1998)
#
# The slides' variant takes a 32x32 grey image through CONV-POOL-CONV-POOL-FC-FC-FC: six 5x5
# filters, 2x2 max pooling with stride 2, sixteen 5x5 filters, pooling again, then dense layers
# with 120, 84 and 10 units. (One slide uses 100 units in the second dense layer; we keep the
# original 84.) It set the template every later network follows: convolutions and pooling
# that shrink the image while adding channels, then a classifier.


# %%
def lenet5(num_classes: int = 10) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5),  # (N, 1, 32, 32) -> (N, 6, 28, 28)
        nn.ReLU(),
        nn.MaxPool2d(2),  # -> (N, 6, 14, 14)
        nn.Conv2d(6, 16, 5),  # -> (N, 16, 10, 10)
        nn.ReLU(),
        nn.MaxPool2d(2),  # -> (N, 16, 5, 5)
        nn.Flatten(),  # -> (N, 400)
        nn.Linear(400, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, num_classes),
    )


lenet = lenet5()
lenet_formula = (
    conv_params(1, 6, 5) + conv_params(6, 16, 5) + 400 * 120 + 120 + 120 * 84 + 84 + 84 * 10 + 10
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# A model summary lists every layer with its output shape, parameters and multiply-adds.
# `torchinfo.summary` runs one forward pass to find the shapes.

# %%
lenet_summary = torchinfo.summary(
    lenet,
    input_size=(1, 1, 32, 32),
    col_names=("output_size", "num_params", "mult_adds"),
    verbose=0,
)
print(lenet_summary)

# %% [markdown]
# torchinfo counts a bias as one more multiply-add per output value, PyTorch's FLOP counter
# (and our formula) leave biases out. Both views are checked below: about 60 thousand
# parameters and about 0.42 million multiply-adds per image. The line "Total mult-adds
# (Units.MEGABYTES): 0.42" means 0.42 million multiply-adds: torchinfo names its unit
# "megabytes", but it counts operations, not bytes.

# %% slideshow={"slide_type": "subslide"}
# NBVAL_CHECK_OUTPUT
lenet_macs = (
    conv_macs(1, 6, 5, 28, 28) + conv_macs(6, 16, 5, 10, 10) + 400 * 120 + 120 * 84 + 84 * 10
)
bias_adds = 6 * 28 * 28 + 16 * 10 * 10 + 120 + 84 + 10
print(f"parameters: {lenet_formula:,}; multiply-adds: {lenet_macs:,} (+{bias_adds:,} bias adds)")

# %%
helpers.check_equal(count_params(lenet), lenet_formula, "LeNet-5 parameters")
helpers.check_equal(lenet_summary.total_params, lenet_formula, "torchinfo's parameter total")
helpers.check_equal(count_macs(lenet, torch.zeros(1, 1, 32, 32)), lenet_macs, "LeNet-5 MACs")
helpers.check_equal(lenet_summary.total_mult_adds, lenet_macs + bias_adds, "torchinfo's MACs")
helpers.check_true(55_000 < lenet_formula < 65_000, "LeNet-5 has about 60k parameters")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3. AlexNet (Krizhevsky et al., 2012)
#
# AlexNet is LeNet scaled up for 227x227 colour images and 1000 classes: five convolutions
# (the first 11x11 with stride 4), three max-pooling layers, local response normalisation
# ("NORM", rarely used today), two dense layers of 4096 units with dropout 0.5 (in training,
# each unit is set to zero with probability 0.5, so that no unit can rely on another;
# notebook 05 builds it), and ReLU everywhere. We write one function for both versions: the
# slides' original (96, 256, 384, 384, 256 filters, no padding in CONV1, with NORM) and
# torchvision's single-GPU variant (64, 192, 384, 256, 256 filters, padding 2 in CONV1, no
# NORM), and trace the slides' shape table by running a meta tensor through the layers.


# %% slideshow={"slide_type": "notes"}
def alexnet(
    widths: tuple[int, ...] = (64, 192, 384, 256, 256),
    pad1: int = 2,
    lrn: bool = False,
    num_classes: int = 1000,
) -> nn.Sequential:
    c1, c2, c3, c4, c5 = widths
    norm = (lambda: nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)) if lrn else nn.Identity
    features = [
        nn.Conv2d(3, c1, 11, stride=4, padding=pad1), nn.ReLU(), nn.MaxPool2d(3, 2), norm(),
        nn.Conv2d(c1, c2, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2), norm(),
        nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(),
        nn.Conv2d(c3, c4, 3, padding=1), nn.ReLU(),
        nn.Conv2d(c4, c5, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),
    ]  # fmt: skip
    classifier = [
        nn.AdaptiveAvgPool2d(6), nn.Flatten(),
        nn.Dropout(0.5), nn.Linear(c5 * 6 * 6, 4096), nn.ReLU(),
        nn.Dropout(0.5), nn.Linear(4096, 4096), nn.ReLU(),
        nn.Linear(4096, num_classes),
    ]  # fmt: skip
    return nn.Sequential(*features, *classifier)


def shape_trace(model: nn.Sequential, x: torch.Tensor) -> list[tuple[str, tuple[int, ...]]]:
    """(layer name, output shape without the batch) for each conv, pool, norm and dense layer."""
    shown = (nn.Conv2d, nn.MaxPool2d, nn.LocalResponseNorm, nn.Flatten, nn.Linear)
    rows = []
    for layer in model:
        x = layer(x)
        if isinstance(layer, shown):
            rows.append((type(layer).__name__, tuple(x.shape[1:])))
    return rows


# %%
# NBVAL_CHECK_OUTPUT
with META:
    alexnet_slides = alexnet(widths=(96, 256, 384, 384, 256), pad1=0, lrn=True)
for name, shape in shape_trace(alexnet_slides, torch.zeros(1, 3, 227, 227, device=META)):
    print(f"{name:18s} {shape}")
print(f"parameters of the slides' AlexNet: {count_params(alexnet_slides):,}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# CONV1 gives $\lfloor (227 - 11)/4 \rfloor + 1 = 55$ and holds $96\,(3 \cdot 11^2 + 1) =
# 34{,}944$ parameters; the three dense layers hold 94% of the 62 million (checked below),
# while the convolutions do almost all of the computing. Now the torchvision variant, built on the meta device (no memory, no time) and compared with
# `torchvision.models.alexnet(weights=None)`:

# %%
# NBVAL_CHECK_OUTPUT
with META:
    alexnet_ours = alexnet()
    alexnet_ref = torchvision.models.alexnet(weights=None)
print(f"ours: {count_params(alexnet_ours):,}  torchvision: {count_params(alexnet_ref):,}")

# %%
trace = dict(shape_trace(alexnet_slides, torch.zeros(1, 3, 227, 227, device=META))[:1])
helpers.check_equal(trace["Conv2d"], (96, 55, 55), "AlexNet CONV1 output (slides: 55x55x96)")
helpers.check_equal(conv_params(3, 96, 11), 34_944, "CONV1 parameters by formula")
dense_share = sum(
    count_params(m) for m in alexnet_slides if isinstance(m, nn.Linear)
) / count_params(alexnet_slides)
helpers.check_equal(round(100 * dense_share), 94, "share (%) of AlexNet's weights in FC6-FC8")
helpers.check_equal(count_params(alexnet_ours), 61_100_840, "AlexNet parameters (torchvision)")
helpers.check_equal(count_params(alexnet_ours), count_params(alexnet_ref), "ours vs torchvision")
del alexnet_slides, alexnet_ours, alexnet_ref

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4. VGG (Simonyan & Zisserman, 2014): one rule, six configurations
#
# VGG uses only 3x3 convolutions with stride 1 and padding 1, and 2x2 max pooling with stride
# 2. Two stacked 3x3 layers see a 5x5 window with $2 \cdot 9 C^2 = 18 C^2$ weights instead of
# $25 C^2$, and add one more nonlinearity. The paper's configurations A-E differ only in how
# many layers each of the five stages has, so a dictionary describes them all and the paper's
# table is *generated* from it. `conv3-64` is a 3x3 convolution with 64 filters; `conv1-256`
# (configuration C) is a 1x1 one; `LRN` is local response normalisation.

# %% slideshow={"slide_type": "notes"}
VGG_CONFIGS: dict[str, list[list[str]]] = {
    "A": [["conv3-64"], ["conv3-128"], ["conv3-256"] * 2, ["conv3-512"] * 2, ["conv3-512"] * 2],
    "A-LRN": [["conv3-64", "LRN"], ["conv3-128"], ["conv3-256"] * 2, ["conv3-512"] * 2,
              ["conv3-512"] * 2],
    "B": [["conv3-64"] * 2, ["conv3-128"] * 2, ["conv3-256"] * 2, ["conv3-512"] * 2,
          ["conv3-512"] * 2],
    "C": [["conv3-64"] * 2, ["conv3-128"] * 2, ["conv3-256"] * 2 + ["conv1-256"],
          ["conv3-512"] * 2 + ["conv1-512"], ["conv3-512"] * 2 + ["conv1-512"]],
    "D": [["conv3-64"] * 2, ["conv3-128"] * 2, ["conv3-256"] * 3, ["conv3-512"] * 3,
          ["conv3-512"] * 3],
    "E": [["conv3-64"] * 2, ["conv3-128"] * 2, ["conv3-256"] * 4, ["conv3-512"] * 4,
          ["conv3-512"] * 4],
}  # fmt: skip


def vgg(config: list[list[str]], num_classes: int = 1000) -> nn.Sequential:
    layers, c_in = [], 3
    for stage in config:
        for item in stage:
            if item == "LRN":
                layers.append(nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0))
                continue
            k, c_out = (int(v) for v in item.removeprefix("conv").split("-"))
            layers += [nn.Conv2d(c_in, c_out, k, padding=k // 2), nn.ReLU()]
            c_in = c_out
        layers.append(nn.MaxPool2d(2))  # halves H and W: 224 -> 112 -> 56 -> 28 -> 14 -> 7
    head = [
        nn.AdaptiveAvgPool2d(7), nn.Flatten(),  # (N, 512, 7, 7) -> (N, 25088)
        nn.Linear(512 * 7 * 7, 4096), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(4096, num_classes),
    ]  # fmt: skip
    return nn.Sequential(*layers, *head)


def weight_layers(config: list[list[str]]) -> int:
    return sum(item != "LRN" for stage in config for item in stage) + 3


# %% slideshow={"slide_type": "subslide"}
# NBVAL_CHECK_OUTPUT
vgg_params = {}
for name, cfg in VGG_CONFIGS.items():
    with META:
        vgg_params[name] = count_params(vgg(cfg))
width = 24
print("".join(f"{name:<{width}}" for name in VGG_CONFIGS))
print("".join(f"{weight_layers(c)} weight layers".ljust(width) for c in VGG_CONFIGS.values()))
print("input (224 x 224 RGB image)")
for stage in range(5):
    depth = max(len(cfg[stage]) for cfg in VGG_CONFIGS.values())
    for row in range(depth):
        cells = [cfg[stage][row] if row < len(cfg[stage]) else "" for cfg in VGG_CONFIGS.values()]
        print("".join(f"{c:<{width}}" for c in cells))
    print("maxpool")
print("FC-4096\nFC-4096\nFC-1000\nsoft-max")
print("".join(f"{p / 1e6:.0f}M params".ljust(width) for p in vgg_params.values()))

# %% [markdown] slideshow={"slide_type": "subslide"}
# The paper's Table 2 gives 133, 133, 134, 138 and 144 million parameters for A to E. VGG-16
# is configuration D and VGG-19 is E; torchvision's `vgg11/13/16/19` are A, B, D and E.

# %%
helpers.check_equal(
    [round(vgg_params[n] / 1e6) for n in ("A", "B", "C", "D", "E")],
    [133, 133, 134, 138, 144],
    "VGG parameter counts in millions (paper, Table 2)",
)
helpers.check_equal(vgg_params["A-LRN"], vgg_params["A"], "LRN adds no parameters")
for name, ref in [("A", "vgg11"), ("B", "vgg13"), ("D", "vgg16"), ("E", "vgg19")]:
    with META:
        ref_count = count_params(getattr(torchvision.models, ref)(weights=None))
    helpers.check_equal(vgg_params[name], ref_count, f"VGG {name} vs torchvision {ref}")
helpers.check_equal(vgg_params["D"], 138_357_544, "VGG-16 parameters")
two_3x3 = nn.Sequential(nn.Conv2d(64, 64, 3, bias=False), nn.Conv2d(64, 64, 3, bias=False))
helpers.check_equal(count_params(two_3x3), 18 * 64**2, "two 3x3 layers: 18 C^2 weights")
helpers.check_equal(count_params(nn.Conv2d(64, 64, 5, bias=False)), 25 * 64**2, "one 5x5: 25 C^2")
helpers.check_equal(tuple(two_3x3(torch.zeros(1, 64, 5, 5)).shape), (1, 64, 1, 1), "5x5 window")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5. Network in Network and global average pooling
#
# Lin et al. (2013) replaced the linear filter of a convolution by a small MLP that slides
# over the image. Such an "MLPconv" layer is a convolution followed by 1x1 convolutions: a
# 1x1 convolution is exactly a `Linear` layer applied to the channel vector of every pixel.
# They also dropped the dense classifier: the last layer has one channel per class, and
# **global average pooling** (GAP) takes the mean of each channel,
# $\text{GAP}(x)_{c} = \frac{1}{HW}\sum_{i,j} x_{c,i,j}$. We check both statements, then see
# what GAP saves on VGG-16, whose three dense layers hold most of its weights.

# %%
x = torch.randn(2, 64, 7, 7)  # (N, C, H, W)
one_by_one = nn.Conv2d(64, 10, kernel_size=1)
linear = nn.Linear(64, 10)
with torch.no_grad():
    linear.weight.copy_(one_by_one.weight.view(10, 64))
    linear.bias.copy_(one_by_one.bias)
per_pixel = linear(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)  # Linear over C at each (i, j)
helpers.check_close(one_by_one(x), per_pixel, "1x1 conv vs per-pixel Linear", atol=1e-5)
helpers.check_close(nn.AdaptiveAvgPool2d(1)(x).flatten(1), x.mean(dim=(2, 3)), "GAP vs mean")


# %% slideshow={"slide_type": "subslide"}
def mlpconv(c_in: int, c_out: int, k: int, **conv_kwargs) -> nn.Sequential:
    """NiN block: a k x k convolution, then two 1x1 convolutions (a per-pixel MLP)."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, k, **conv_kwargs), nn.ReLU(),
        nn.Conv2d(c_out, c_out, 1), nn.ReLU(),
        nn.Conv2d(c_out, c_out, 1), nn.ReLU(),
    )  # fmt: skip


nin_head = nn.Sequential(mlpconv(512, 1000, 3, padding=1), nn.AdaptiveAvgPool2d(1), nn.Flatten())
y = nin_head(torch.randn(1, 512, 7, 7))  # (1, 512, 7, 7) -> (1, 1000)
helpers.check_shape(y, (1, 1000), "NiN head output")

# %%
# NBVAL_CHECK_OUTPUT
with META:
    vgg16 = vgg(VGG_CONFIGS["D"])
dense_head = sum(count_params(m) for m in vgg16 if isinstance(m, nn.Linear))
gap_head = 512 * 1000 + 1000  # a 1x1 conv 512 -> 1000, then GAP: no dense layer
print(f"VGG-16 dense head: {dense_head:,} of {count_params(vgg16):,} parameters "
      f"({dense_head / count_params(vgg16):.0%}); a GAP head: {gap_head:,}")  # fmt: skip

# %%
helpers.check_true(dense_head / count_params(vgg16) > 0.85, "VGG-16's dense layers hold >85%")
helpers.check_equal(count_params(nn.Conv2d(512, 1000, 1)), gap_head, "1x1 conv + GAP head")
del vgg16

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6. Inception (GoogLeNet, Szegedy et al., 2014)
#
# An Inception module runs 1x1, 3x3 and 5x5 convolutions and a 3x3 max pooling side by side
# on the same input and concatenates their outputs along the channels. The slides' example
# takes a 28x28x256 input with 128 1x1, 192 3x3 and 96 5x5 filters. Every branch keeps the
# 28x28 size (padding), so the output has $128 + 192 + 96 + 256 = 672$ channels, and
# the *naive* module costs 854M multiply-adds. The fix is a 1x1 **bottleneck**: shrink the
# channels to 64 before the 3x3 and 5x5 convolutions, and after the pooling.


# %% slideshow={"slide_type": "notes"}
def conv_relu(c_in: int, c_out: int, k: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, padding=k // 2), nn.ReLU())


class Inception(nn.Module):
    """Four parallel branches, concatenated along the channels.

    `reduce3`, `reduce5`, `pool_proj` = None gives the naive module (no 1x1 bottlenecks).
    """

    def __init__(self, c_in, c1, c3, c5, reduce3=None, reduce5=None, pool_proj=None, block=None):
        super().__init__()
        block = block or conv_relu
        bottleneck = lambda c_out: block(c_in, c_out, 1)
        self.branch1 = block(c_in, c1, 1)
        self.branch3 = nn.Sequential(
            *([bottleneck(reduce3)] if reduce3 else []), block(reduce3 or c_in, c3, 3)
        )
        self.branch5 = nn.Sequential(
            *([bottleneck(reduce5)] if reduce5 else []), block(reduce5 or c_in, c5, 5)
        )
        pool = nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True)
        self.branch_pool = nn.Sequential(pool, *([bottleneck(pool_proj)] if pool_proj else []))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = (self.branch1, self.branch3, self.branch5, self.branch_pool)
        return torch.cat([b(x) for b in branches], dim=1)


x = torch.zeros(1, 256, 28, 28, device=META)
with META:
    naive = Inception(256, 128, 192, 96)
    bottlenecked = Inception(256, 128, 192, 96, reduce3=64, reduce5=64, pool_proj=64)
helpers.check_equal(tuple(naive(x).shape), (1, 672, 28, 28), "naive module output shape")
helpers.check_equal(tuple(bottlenecked(x).shape), (1, 480, 28, 28), "bottlenecked module shape")

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Predict.** The naive Inception module on a `(1, 256, 28, 28)` input has branches of 128 (1x1),
# 192 (3x3) and 96 (5x5) filters, plus the max-pooled input. How many channels come out? And with a
# 1x1 projection of the pooled branch to 64?

# %% [markdown] slideshow={"slide_type": "fragment"}
# **Answer.** 672 $= 128 + 192 + 96 + 256$: the pooled branch keeps all 256 input channels, so the
# naive module can only grow. With the projection: $128 + 192 + 96 + 64 = 480$.

# %% slideshow={"slide_type": "fragment"}
helpers.check_equal(tuple(naive(x).shape), (1, 672, 28, 28), "naive module output")
helpers.check_equal(tuple(bottlenecked(x).shape), (1, 480, 28, 28), "with 1x1 bottlenecks")

# %% [markdown] slideshow={"slide_type": "subslide"}
# The naive module's cost by the formula of section 1, one term per convolution:
#
# $$28 \cdot 28 \cdot 256 \,(128 \cdot 1 + 192 \cdot 9 + 96 \cdot 25) = 854{,}196{,}224.$$

# %%
# NBVAL_CHECK_OUTPUT
hw = 28 * 28
naive_terms = {"1x1 conv, 128": hw * 128 * 1 * 256, "3x3 conv, 192": hw * 192 * 9 * 256,
               "5x5 conv, 96": hw * 96 * 25 * 256}  # fmt: skip
naive_macs = sum(naive_terms.values())
print(f"naive module: {naive_macs:,} multiply-adds = {naive_macs / 1e6:.0f}M")

# %%
helpers.check_equal(count_macs(naive, x), naive_macs, "naive Inception module, FLOP counter")
helpers.check_equal(round(naive_macs / 1e6), 854, "the slides' 854M")

# %% [markdown] slideshow={"slide_type": "subslide"}
# The module with bottlenecks has six convolutions. As drawn (every 1x1 reduction has 64
# filters) they cost **271M** multiply-adds, by the formula and by the FLOP counter alike.
# The slides quote **358M** for the same picture. The gap, 358M - 271M = 87M, is the cost of
# one layer: the 3x3 convolution (86.7M). So the slides' sum counts that layer twice (or,
# the same number, charges it 128 input channels instead of 64). To test this rather than
# assume it, we measure each convolution of the module on its own and look for the one whose
# cost closes the gap. Either way the bottleneck cuts the cost to well under half of 854M,
# while the output keeps 480 channels.

# %%
# NBVAL_CHECK_OUTPUT
bottleneck_terms = {  # the formula, one term per convolution
    "1x1 conv, 64 (before 3x3)": hw * 64 * 1 * 256,
    "1x1 conv, 64 (before 5x5)": hw * 64 * 1 * 256,
    "1x1 conv, 128": hw * 128 * 1 * 256,
    "3x3 conv, 192 on 64 channels": hw * 192 * 9 * 64,
    "5x5 conv, 96 on 64 channels": hw * 96 * 25 * 64,
    "1x1 conv, 64 (after pool)": hw * 64 * 1 * 256,
}
bottleneck_macs = sum(bottleneck_terms.values())
for term, macs in bottleneck_terms.items():
    print(f"{term:30s} {macs:>13,}")
print(f"total by formula: {bottleneck_macs:,} = {bottleneck_macs / 1e6:.0f}M")

# %% slideshow={"slide_type": "subslide"}
# NBVAL_CHECK_OUTPUT
convs = {name: m for name, m in bottlenecked.named_modules() if isinstance(m, nn.Conv2d)}
measured = {
    name: count_macs(c, torch.zeros(1, c.in_channels, 28, 28, device=META))
    for name, c in convs.items()
}  # each conv on its own, FLOP counter
total = count_macs(bottlenecked, x)  # the whole module, FLOP counter
gap = 358_000_000 - total  # what the slides' 358M adds to the measured total
culprit = min(measured, key=lambda name: abs(measured[name] - gap))
print(f"measured total {total:,}; the slides' 358M is {gap / 1e6:.1f}M more")
print(f"the layer closest to that gap: {culprit} = {convs[culprit]}, {measured[culprit]:,}")

# %%
helpers.check_equal(total, bottleneck_macs, "bottleneck module MACs, FLOP counter vs formula")
helpers.check_equal(sorted(measured.values()), sorted(bottleneck_terms.values()), "each conv")
helpers.check_equal(
    round((total + measured[culprit]) / 1e6),
    358,
    "measured total plus one layer counted twice, in millions (the slides' 358M)",
)
helpers.check_equal(convs[culprit].kernel_size, (3, 3), "kernel of the layer counted twice")
helpers.check_true(
    max(total, 358e6) < naive_macs / 2,
    "the bottleneck more than halves the cost",
    found=f"{total / 1e6:.0f}M (358M on the slides) vs {naive_macs / 1e6:.0f}M",
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **GoogLeNet** stacks nine such modules (names 3a ... 5b, channel numbers from the paper's
# Table 1) after a small convolutional stem, and ends with global average pooling and a single
# dense layer: no big dense head. torchvision's version adds BatchNorm after every
# convolution. *BatchNorm* (met briefly here and in the networks below, taught in notebook 05)
# normalises each channel of a layer's output to mean 0 and variance 1 over the current batch,
# then scales and shifts it by two learned numbers per channel, $\gamma$ and $\beta$; at test
# time it uses running averages of the batch statistics instead. Its shift $\beta$ makes the
# convolution's own bias redundant (`bias=False`), and notebook 05 measures how much easier it
# makes training. For compatibility with the weights it was trained with, torchvision's
# GoogLeNet also uses a 3x3 kernel in the "5x5" branch; we build both kernel sizes. (The two
# auxiliary classifiers used during training are left out, `aux_logits=False`.)
#
# The slides say GoogLeNet has 12x fewer parameters than AlexNet, from the rounded 5M and 60M.
# Counting the modules we build gives 7.0M for the paper's version against AlexNet's 61.1M:
# about 9x fewer (torchvision's version, 6.6M, is also about 9x smaller).


# %% slideshow={"slide_type": "notes"}
def conv_bn_relu(c_in: int, c_out: int, k: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, bias=False),
        nn.BatchNorm2d(c_out, eps=0.001),
        nn.ReLU(),
    )


GOOGLENET_MODULES = {  # name: (c_in, 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj)
    "3a": (192, 64, 96, 128, 16, 32, 32), "3b": (256, 128, 128, 192, 32, 96, 64),
    "4a": (480, 192, 96, 208, 16, 48, 64), "4b": (512, 160, 112, 224, 24, 64, 64),
    "4c": (512, 128, 128, 256, 24, 64, 64), "4d": (512, 112, 144, 288, 32, 64, 64),
    "4e": (528, 256, 160, 320, 32, 128, 128), "5a": (832, 256, 160, 320, 32, 128, 128),
    "5b": (832, 384, 192, 384, 48, 128, 128),
}  # fmt: skip


def googlenet(k5: int = 5, num_classes: int = 1000) -> nn.Sequential:
    def block(c_in, c_out, k):
        return conv_bn_relu(c_in, c_out, k5 if k == 5 else k)

    pool = lambda: nn.MaxPool2d(3, stride=2, ceil_mode=True)
    layers = [conv_bn_relu(3, 64, 7, stride=2), pool(), conv_bn_relu(64, 64, 1),
              conv_bn_relu(64, 192, 3), pool()]  # fmt: skip
    for name, (c_in, c1, r3, c3, r5, c5, pp) in GOOGLENET_MODULES.items():
        layers.append(Inception(c_in, c1, c3, c5, r3, r5, pp, block=block))
        if name == "3b":
            layers.append(pool())
        if name == "4e":
            layers.append(nn.MaxPool2d(2, stride=2, ceil_mode=True))
    head = [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(1024, num_classes)]
    return nn.Sequential(*layers, *head)


# %%
# NBVAL_CHECK_OUTPUT
with META:
    googlenet_paper, googlenet_tv = googlenet(k5=5), googlenet(k5=3)
    googlenet_ref = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=False)
print(f"GoogLeNet with 5x5 branches: {count_params(googlenet_paper):,}")
print(f"GoogLeNet with 3x3 branches: {count_params(googlenet_tv):,}")
print(f"torchvision googlenet:       {count_params(googlenet_ref):,}")
fewer = 61_100_840 / count_params(googlenet_paper)  # AlexNet's count, checked in section 3
print(f"AlexNet / GoogLeNet (5x5 branches): {fewer:.1f}x fewer parameters")

# %% slideshow={"slide_type": "subslide"}
helpers.check_equal(count_params(googlenet_tv), count_params(googlenet_ref), "GoogLeNet params")
out = googlenet_paper(torch.zeros(1, 3, 224, 224, device=META))
helpers.check_equal(tuple(out.shape), (1, 1000), "GoogLeNet output shape")
helpers.check_true(
    8.5 < fewer < 9.0,
    "GoogLeNet has about 9x fewer parameters than AlexNet",
    found=f"{fewer:.2f}x",
)

# %% [markdown]
# The slides call GoogLeNet 22 layers deep. Counting layers with weights along the longest
# path: 3 stem convolutions, 2 per Inception module (a 1x1 reduction, then the 3x3 or 5x5
# convolution) and the final dense layer: $3 + 9 \cdot 2 + 1 = 22$.


# %%
def n_convs(module: nn.Module) -> int:
    return sum(isinstance(m, nn.Conv2d) for m in module.modules())


modules = [m for m in googlenet_paper if isinstance(m, Inception)]
deepest_branch = [max(n_convs(b) for b in m.children()) for m in modules]
depth = n_convs(googlenet_paper[:5]) + sum(deepest_branch) + 1  # stem + modules + dense layer
helpers.check_equal(depth, 22, "GoogLeNet's depth in layers with weights (the slides: 22)")
del googlenet_paper, googlenet_tv, googlenet_ref

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 7. ResNet (He et al., 2015): basic, bottleneck and projection blocks
#
# A residual block computes a correction $\mathcal{F}(x)$ and adds its input back:
#
# $$y = \operatorname{ReLU}\big(\mathcal{F}(x) + x\big).$$
#
# If the best thing a block can do is nothing, it only has to drive $\mathcal{F}$ to zero,
# which is easy; a plain stack of layers has to learn the identity map instead, which is hard.
# The **basic block** (ResNet-18/34) is two 3x3 conv-BN layers. The **bottleneck block**
# (ResNet-50 and deeper) is 1x1 (reduce to $d$ channels) - 3x3 - 1x1 (expand to $4d$), which
# keeps the 3x3 layer cheap. When a block halves the image (stride 2 in its first conv, no
# pooling) or changes the channel count, the shortcut cannot be the identity: a **projection**
# (1x1 conv with the same stride + BN) makes the shapes match.


# %% slideshow={"slide_type": "notes"}
def conv_bn(c_in: int, c_out: int, k: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, bias=False),
        nn.BatchNorm2d(c_out),
    )


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, c_in: int, width: int, stride: int = 1):
        super().__init__()
        c_out = width * self.expansion
        self.residual = nn.Sequential(
            conv_bn(c_in, width, 3, stride), nn.ReLU(), conv_bn(width, c_out, 3)
        )
        needs_projection = stride != 1 or c_in != c_out
        self.shortcut = conv_bn(c_in, c_out, 1, stride) if needs_projection else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.residual(x) + self.shortcut(x))


class Bottleneck(BasicBlock):
    expansion = 4

    def __init__(self, c_in: int, width: int, stride: int = 1):
        super().__init__(c_in, width, stride)
        self.residual = nn.Sequential(
            conv_bn(c_in, width, 1), nn.ReLU(),
            conv_bn(width, width, 3, stride), nn.ReLU(),  # stride here, as torchvision does
            conv_bn(width, width * self.expansion, 1),
        )  # fmt: skip


def resnet(block: type[BasicBlock], blocks_per_stage: list[int], num_classes=1000) -> nn.Sequential:
    layers = [conv_bn(3, 64, 7, stride=2), nn.ReLU(), nn.MaxPool2d(3, 2, padding=1)]
    c_in = 64
    for stage, n_blocks in enumerate(blocks_per_stage):
        width = 64 * 2**stage  # 64, 128, 256, 512
        for i in range(n_blocks):
            stride = 2 if stage > 0 and i == 0 else 1
            layers.append(block(c_in, width, stride))
            c_in = width * block.expansion
    return nn.Sequential(
        *layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, num_classes)
    )


# %% [markdown] slideshow={"slide_type": "subslide"}
# **Predict.** `Bottleneck(64, 64)` on a `(2, 64, 56, 56)` input: what output shape?

# %% [markdown] slideshow={"slide_type": "fragment"}
# **Answer.** `(2, 256, 56, 56)`: the last 1x1 convolution expands the channels 4x, and stride 1
# keeps the 56x56 map.

# %% slideshow={"slide_type": "fragment"}
with META:  # shapes only
    bottleneck_out = Bottleneck(64, 64)(torch.zeros(2, 64, 56, 56))
helpers.check_equal(tuple(bottleneck_out.shape), (2, 256, 56, 56), "bottleneck output shape")

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Self-check: a block can switch itself off.** With the last BatchNorm's scale $\gamma$ set to
# zero, $\mathcal{F}(x) = 0$ and the block returns $\operatorname{ReLU}(x)$, i.e. its input
# whenever that input is non-negative (as after an earlier ReLU). The projection block changes
# the shape: (N, 64, 56, 56) -> (N, 128, 28, 28).

# %%
block = BasicBlock(64, 64).eval()
x = torch.relu(torch.randn(2, 64, 56, 56))  # (N, 64, 56, 56), non-negative like a ReLU output
with torch.no_grad():
    block.residual[-1][1].weight.zero_()  # gamma of the last BN
    helpers.check_close(block(x), x, "residual block with F(x) = 0")
helpers.check_shape(BasicBlock(64, 128, stride=2)(x), (2, 128, 28, 28), "projection block")
helpers.check_shape(Bottleneck(64, 64)(x), (2, 256, 56, 56), "bottleneck block: 4x channels")

# %% slideshow={"slide_type": "subslide"}
# NBVAL_CHECK_OUTPUT
with META:
    resnets = {
        "resnet18": (resnet(BasicBlock, [2, 2, 2, 2]), torchvision.models.resnet18(weights=None)),
        "resnet50": (resnet(Bottleneck, [3, 4, 6, 3]), torchvision.models.resnet50(weights=None)),
    }
for name, (ours, ref) in resnets.items():
    print(f"{name}: ours {count_params(ours):,}, torchvision {count_params(ref):,}")

# %%
helpers.check_equal(count_params(resnets["resnet18"][0]), 11_689_512, "ResNet-18 parameters")
helpers.check_equal(count_params(resnets["resnet50"][0]), 25_557_032, "ResNet-50 parameters")
for name, (ours, ref) in resnets.items():
    helpers.check_equal(count_params(ours), count_params(ref), f"{name} vs torchvision")
del resnets

# %% [markdown]
# A summary table of ResNet-18 on a 224x224 image, two levels deep (blocks, not every
# layer). The total of about 1.8 billion multiply-adds is the "1.8 GFLOPs" usually quoted for
# ResNet-18 (which, confusingly, counts multiply-adds as FLOPs). torchinfo prints it as
# "Total mult-adds (Units.GIGABYTES)": billions of multiply-adds, not bytes.

# %% slideshow={"slide_type": "subslide"}
resnet18 = resnet(BasicBlock, [2, 2, 2, 2])
summary18 = torchinfo.summary(
    resnet18,
    input_size=(1, 3, 224, 224),
    col_names=("output_size", "num_params", "mult_adds"),
    depth=1,
    verbose=0,
)
print(summary18)

# %%
helpers.check_equal(summary18.total_params, 11_689_512, "torchinfo: ResNet-18 parameters")
helpers.check_true(
    1.7e9 < summary18.total_mult_adds < 1.9e9,
    "ResNet-18 costs about 1.8 G multiply-adds per 224x224 image",
    found=f"{summary18.total_mult_adds:,}",
)
del resnet18

# %% [markdown] slideshow={"slide_type": "subslide"}
# **The computation graph of a residual block.** `torchviz.make_dot` draws the autograd graph
# behind one output: blue boxes are the input and the parameters, grey boxes the operations.
# The shortcut is the edge from the input `x` that skips the convolutions and joins at the
# `AddBackward0` node. Rendering needs Graphviz's `dot` program (`apt-get install graphviz`,
# `brew install graphviz` or `conda install graphviz`); without it the cell says so and moves
# on.

# %% slideshow={"slide_type": "subslide"}
import torchviz
from IPython.display import Image, display

block = BasicBlock(8, 8)
x = torch.randn(1, 8, 6, 6, requires_grad=True)  # requires_grad: so the graph shows the input
graph = torchviz.make_dot(block(x), params={"x": x, **dict(block.named_parameters())})
graph.attr(size="7,7")
if shutil.which("dot"):
    display(Image(graph.pipe(format="png")))
else:
    print(
        "Graphviz's `dot` is not installed: skipping the picture (the graph source is in `graph`)."
    )

# %% slideshow={"slide_type": "subslide"}
helpers.check_true(
    "AddBackward0" in graph.source, "the block's graph contains the shortcut's addition"
)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 8. DenseNet (Huang et al., 2017): concatenate instead of add
#
# In a dense block every layer receives the concatenation of *all* earlier feature maps of the
# block and contributes $k$ new channels (the growth rate). After $L$ layers a block that
# started with $c_0$ channels has $c_0 + L k$. Each layer is BN-ReLU-1x1 conv ($4k$ channels,
# a bottleneck) - BN-ReLU-3x3 conv ($k$ channels); a transition layer (BN-ReLU-1x1 conv
# halving the channels, 2x2 average pooling) sits between blocks.


# %% slideshow={"slide_type": "notes"}
def bn_relu_conv(c_in: int, c_out: int, k: int) -> nn.Sequential:
    return nn.Sequential(
        nn.BatchNorm2d(c_in), nn.ReLU(), nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False)
    )


class DenseBlock(nn.Module):
    def __init__(self, c_in: int, n_layers: int, growth: int = 32):
        super().__init__()
        self.layers = nn.ModuleList(
            nn.Sequential(bn_relu_conv(c_in + i * growth, 4 * growth, 1),
                          bn_relu_conv(4 * growth, growth, 3))
            for i in range(n_layers)
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.layers:
            features.append(layer(torch.cat(features, dim=1)))  # sees every earlier map
        return torch.cat(features, dim=1)  # (N, c_in + n_layers * growth, H, W)


def densenet(blocks=(6, 12, 24, 16), growth: int = 32, num_classes: int = 1000) -> nn.Sequential:
    layers = [nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(64),
              nn.ReLU(), nn.MaxPool2d(3, 2, padding=1)]  # fmt: skip
    c = 64
    for i, n_layers in enumerate(blocks):
        layers.append(DenseBlock(c, n_layers, growth))
        c += n_layers * growth
        if i < len(blocks) - 1:  # transition: halve channels and image
            layers += [bn_relu_conv(c, c // 2, 1), nn.AvgPool2d(2)]
            c //= 2
    layers += [nn.BatchNorm2d(c), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers, nn.Linear(c, num_classes))


# %% [markdown] slideshow={"slide_type": "subslide"}
# **Predict.** A dense block with 24 input channels, 4 layers and growth rate 12, on 8x8 maps: what
# output shape for a batch of 2?

# %% [markdown] slideshow={"slide_type": "fragment"}
# **Answer.** `(2, 72, 8, 8)`: each layer concatenates 12 new channels to everything before it, $24
# + 4 \cdot 12 = 72$; the maps keep their size.

# %% slideshow={"slide_type": "fragment"}
with META:  # shapes only
    dense_out = DenseBlock(24, n_layers=4, growth=12)(torch.zeros(2, 24, 8, 8))
helpers.check_equal(tuple(dense_out.shape), (2, 72, 8, 8), "dense block output shape")

# %% slideshow={"slide_type": "subslide"}
x = torch.randn(2, 24, 8, 8)
helpers.check_shape(DenseBlock(24, n_layers=4, growth=12)(x), (2, 24 + 4 * 12, 8, 8), "dense")

# %%
# NBVAL_CHECK_OUTPUT
with META:
    densenet121, densenet_ref = densenet(), torchvision.models.densenet121(weights=None)
print(
    f"DenseNet-121: ours {count_params(densenet121):,}, torchvision {count_params(densenet_ref):,}"
)

# %%
helpers.check_equal(count_params(densenet121), count_params(densenet_ref), "DenseNet-121 params")
helpers.check_equal(count_params(densenet121), 7_978_856, "DenseNet-121 parameters")
del densenet121, densenet_ref

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 9. Depthwise-separable convolution (Xception, MobileNet)
#
# A standard $k \times k$ convolution mixes space and channels at once: $k^2 C_\text{in}
# C_\text{out}$ weights. A depthwise-separable convolution splits the job in two steps:
#
# 1. a **depthwise** convolution: one $k \times k$ filter per input channel (`groups=C_in`),
#    $k^2 C_\text{in}$ weights, spatial information only;
# 2. a **pointwise** 1x1 convolution that mixes the channels: $C_\text{in} C_\text{out}$.
#
# The slides' example: a 3-channel input and 10 output channels with 3x3 filters gives
# $3 \cdot 3 \cdot 3 + 3 \cdot 10 = 57$ parameters instead of $3 \cdot 3 \cdot 3 \cdot 10 =
# 270$ (biases left out). The cost ratio is $\frac{1}{C_\text{out}} + \frac{1}{k^2}$.


# %%
def separable_conv(c_in: int, c_out: int, k: int = 3, bias: bool = False) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_in, k, padding=k // 2, groups=c_in, bias=bias),  # depthwise
        nn.Conv2d(c_in, c_out, 1, bias=bias),  # pointwise
    )


# %%
# NBVAL_CHECK_OUTPUT
separable, standard = separable_conv(3, 10), nn.Conv2d(3, 10, 3, padding=1, bias=False)
print("depthwise-separable:", count_params(separable), "  standard:", count_params(standard))

# %% slideshow={"slide_type": "subslide"}
helpers.check_equal(count_params(separable), 3 * 3 * 3 + 3 * 10, "the slides' 57 parameters")
helpers.check_equal(count_params(standard), 3 * 3 * 3 * 10, "a standard 3x3 conv: 270")
# The depthwise step equals one single-channel convolution per channel:
x = torch.randn(1, 3, 8, 8)
depthwise = separable[0]
per_channel = torch.cat(
    [F.conv2d(x[:, c : c + 1], depthwise.weight[c : c + 1], padding=1) for c in range(3)], dim=1
)
helpers.check_close(depthwise(x), per_channel, "depthwise conv vs per-channel convs", atol=1e-6)
# The cost ratio 1/C_out + 1/k^2, for C_in = C_out = 256 at 14x14:
ratio = count_macs(separable_conv(256, 256), torch.zeros(1, 256, 14, 14)) / conv_macs(
    256, 256, 3, 14, 14
)
helpers.check_close(ratio, 1 / 256 + 1 / 9, "separable/standard cost ratio", rtol=1e-9)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 10. MobileNetV2's inverted residual block
#
# A ResNet bottleneck goes wide -> narrow -> wide. MobileNetV2 (Sandler et al., 2018) inverts
# it: a 1x1 convolution **expands** the few input channels $t$ times (here $t = 6$), a cheap
# depthwise 3x3 convolution works on the many channels, and a 1x1 convolution **projects**
# back to few channels *without* a ReLU afterwards (a "linear bottleneck": a ReLU on a narrow
# representation would destroy information). The shortcut joins the narrow ends, when stride
# is 1 and the channel count is unchanged. ReLU6 ($\min(\max(x, 0), 6)$) is the activation.


# %% slideshow={"slide_type": "notes"}
def conv_bn_relu6(c_in: int, c_out: int, k: int, stride: int = 1, groups: int = 1):
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, k, stride, padding=k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU6(),
    )


class InvertedResidual(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int = 1, expand: int = 6):
        super().__init__()
        hidden = c_in * expand
        layers = [conv_bn_relu6(c_in, hidden, 1)] if expand != 1 else []
        layers += [
            conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden),  # depthwise
            nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out),  # linear projection
        ]  # fmt: skip
        self.block = nn.Sequential(*layers)
        self.use_shortcut = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x) if self.use_shortcut else self.block(x)


MOBILENET_V2 = [  # (expansion t, output channels c, repeats n, first stride s), paper Table 2
    (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
    (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
]  # fmt: skip


def mobilenet_v2(num_classes: int = 1000) -> nn.Sequential:
    layers, c_in = [conv_bn_relu6(3, 32, 3, stride=2)], 32
    for t, c, n, s in MOBILENET_V2:
        for i in range(n):
            layers.append(InvertedResidual(c_in, c, stride=s if i == 0 else 1, expand=t))
            c_in = c
    layers += [conv_bn_relu6(c_in, 1280, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers, nn.Dropout(0.2), nn.Linear(1280, num_classes))


# %%
x = torch.randn(2, 24, 28, 28)  # (N, 24, 28, 28)
block = InvertedResidual(24, 24)
helpers.check_shape(block(x), (2, 24, 28, 28), "inverted residual (with shortcut)")
helpers.check_true(block.use_shortcut, "a stride-1, same-width block has a shortcut")
helpers.check_shape(InvertedResidual(24, 32, stride=2)(x), (2, 32, 14, 14), "downsampling block")

# %%
# NBVAL_CHECK_OUTPUT
with META:
    mnv2, mnv2_ref = mobilenet_v2(), torchvision.models.mobilenet_v2(weights=None)
print(f"MobileNetV2: ours {count_params(mnv2):,}, torchvision {count_params(mnv2_ref):,}")

# %%
helpers.check_equal(count_params(mnv2), count_params(mnv2_ref), "MobileNetV2 parameters")
helpers.check_equal(count_params(mnv2), 3_504_872, "MobileNetV2 parameters")
del mnv2, mnv2_ref

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 11. Squeeze-and-excitation (Hu et al., 2018)
#
# Should every channel count equally for every image? An SE block lets the network re-weight
# its channels per image, a form of attention over channels:
#
# 1. **squeeze**: global average pooling, $z_c = \frac{1}{HW}\sum_{i,j} x_{c,i,j}$;
# 2. **excite**: $s = \sigma\big(W_2 \operatorname{ReLU}(W_1 z + b_1) + b_2\big)$, with $W_1$
#    of size $\frac{C}{r} \times C$ (reduction ratio $r$, typically 16);
# 3. **scale**: $y_{c,i,j} = s_c\, x_{c,i,j}$.
#
# It adds $2 C^2 / r + C / r + C$ parameters. torchvision ships one
# (`torchvision.ops.SqueezeExcitation`, with 1x1 convolutions instead of `Linear`); after
# copying the weights the two must agree.


# %% slideshow={"slide_type": "subslide"}
class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        self.fc1 = nn.Linear(channels, channels // reduction)
        self.fc2 = nn.Linear(channels // reduction, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = x.mean(dim=(2, 3))  # squeeze: (N, C, H, W) -> (N, C)
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(z))))  # excite: (N, C), each in (0, 1)
        return x * s[:, :, None, None]  # scale every channel


se = SqueezeExcite(64, reduction=16)
se_ref = torchvision.ops.SqueezeExcitation(64, 64 // 16)
with torch.no_grad():
    se_ref.fc1.weight.copy_(se.fc1.weight[:, :, None, None])
    se_ref.fc1.bias.copy_(se.fc1.bias)
    se_ref.fc2.weight.copy_(se.fc2.weight[:, :, None, None])
    se_ref.fc2.bias.copy_(se.fc2.bias)
x = torch.randn(2, 64, 7, 7)
helpers.check_close(
    se(x), se_ref(x), "our SE block vs torchvision.ops.SqueezeExcitation", atol=1e-6
)
helpers.check_equal(count_params(se), 2 * 64 * 64 // 16 + 64 // 16 + 64, "SE parameters")

# %% [markdown] slideshow={"slide_type": "slide"} tags=["lecture-optional"]
# ## 12. The family at a glance
#
# Parameters measure memory; multiply-adds measure compute. The two do not go together: VGG-16
# has 2.3x the parameters of AlexNet but costs over 20x more per image, because its weights sit in
# dense layers while its compute is in convolutions over large images. We rebuild every
# ImageNet network of this notebook on the meta device and let the FLOP counter add up the
# multiply-adds of one 224x224 image.

# %% slideshow={"slide_type": "subslide"}
with META:
    family = {
        "AlexNet (2012)": alexnet(),
        "VGG-16 (2014)": vgg(VGG_CONFIGS["D"]),
        "GoogLeNet (2014)": googlenet(k5=3),
        "ResNet-18 (2015)": resnet(BasicBlock, [2, 2, 2, 2]),
        "ResNet-50 (2015)": resnet(Bottleneck, [3, 4, 6, 3]),
        "DenseNet-121 (2017)": densenet(),
        "MobileNetV2 (2018)": mobilenet_v2(),
    }
image = torch.zeros(1, 3, 224, 224, device=META)
costs = {name: (count_params(m), count_macs(m.eval(), image)) for name, m in family.items()}
del family
print(f"{'network':20s} {'parameters':>12s} {'multiply-adds':>15s}")
for name, (params, macs) in costs.items():
    print(f"{name:20s} {params / 1e6:>11.1f}M {macs / 1e9:>14.2f}G")

# %% slideshow={"slide_type": "subslide"}
fig, ax = plt.subplots(figsize=(7, 4.5))
for name, (params, macs) in costs.items():
    ax.scatter(macs / 1e9, params / 1e6)
    ax.annotate(name, (macs / 1e9, params / 1e6), textcoords="offset points", xytext=(5, 4))
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("multiply-adds per 224x224 image (billions, log scale)")
ax.set_ylabel("parameters (millions, log scale)")
ax.set_title("Parameters vs compute of classic ImageNet CNNs")
ax.set_xlim(0.2, 80)  # room for the labels
ax.grid(alpha=0.3, which="both")
plt.show()

# %% slideshow={"slide_type": "subslide"}
helpers.check_true(
    costs["VGG-16 (2014)"][1] > 20 * costs["AlexNet (2012)"][1],
    "VGG-16 costs more than 20x AlexNet's multiply-adds",
)
helpers.check_true(
    min(costs, key=lambda n: costs[n][1]) == "MobileNetV2 (2018)",
    "MobileNetV2 is the cheapest network per image",
)
helpers.check_true(
    1.7e9 < costs["ResNet-18 (2015)"][1] < 1.9e9, "ResNet-18 costs about 1.8G multiply-adds"
)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 13. The degradation problem: plain vs residual on CIFAR-10
#
# He et al. observed that a deeper *plain* network (a stack of conv-BN-ReLU layers) ends its
# training with a **higher training error** than a shallower one (56 vs 20 layers on
# CIFAR-10, trained for tens of thousands of steps). That is not overfitting, since the training
# error itself is worse; the deeper net could copy the shallower one and set its extra layers
# to the identity, but SGD does not find that solution. With shortcuts, the extra blocks only
# have to learn $\mathcal{F}(x) = 0$, and the deep network trains at least as well.
#
# Showing that takes full-size training. What a short run can show is the start of training.
# We train three small networks on real CIFAR-10 with the same optimiser, budget and seed:
# a shallow plain network, a deep plain network, and the deep network's residual twin (the
# same layers, grouped in pairs with a shortcut around each pair). Each starts with a stride-2
# convolution and a max pooling (32x32 -> 8x8) to keep the CPU run short.

# %% slideshow={"slide_type": "subslide"}
train_set = helpers.load_cifar10("train")
n_train = helpers.pick(2048, len(train_set.labels))  # fast mode: about 200 per class


def make_loader() -> helpers.DeviceLoader:
    """A fresh loader per run, so every network sees the batches in the same order."""
    return helpers.DeviceLoader(
        train_set.images[:n_train],  # (n_train, 3, 32, 32) uint8
        train_set.labels[:n_train],
        batch_size=128,
        mean=helpers.CIFAR10_MEAN,
        std=helpers.CIFAR10_STD,
    )  # the batch order follows the course seed


per_class = torch.bincount(train_set.labels[:n_train], minlength=10).tolist()
print(f"training on the first {n_train} images; images per class: {per_class}")


# %% slideshow={"slide_type": "subslide"}
def conv_bn_relu_3x3(c: int) -> list[nn.Module]:
    return [*conv_bn(c, c, 3), nn.ReLU()]


class PairWithShortcut(nn.Module):
    """Two conv-BN layers with a shortcut: ReLU(F(x) + x), a basic block without projection."""

    def __init__(self, c: int):
        super().__init__()
        self.residual = nn.Sequential(*conv_bn_relu_3x3(c), *conv_bn(c, c, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.residual(x) + x)


def cifar_net(n_layers: int, residual: bool, width: int = 16) -> nn.Sequential:
    """Stem (32x32 -> 8x8), `n_layers` 3x3 conv layers (plain or in shortcut pairs), GAP, FC."""
    stem = [*conv_bn(3, width, 3, stride=2), nn.ReLU(), nn.MaxPool2d(2)]  # (N, width, 8, 8)
    if residual:
        body = [PairWithShortcut(width) for _ in range(n_layers // 2)]
    else:
        body = [m for _ in range(n_layers) for m in conv_bn_relu_3x3(width)]
    head = [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 10)]  # (N, 10)
    return nn.Sequential(*stem, *body, *head)


shallow, deep = helpers.pick(4, 8), helpers.pick(20, 44)
configs = {  # name: (number of 3x3 conv layers after the stem, with shortcuts?)
    f"plain, {shallow} layers": (shallow, False),
    f"plain, {deep} layers": (deep, False),
    f"residual, {deep} layers": (deep, True),
}
for name, (n_layers, residual) in configs.items():
    print(f"{name:22s} {count_params(cifar_net(n_layers, residual)):>7,} parameters")

# %% [markdown] slideshow={"slide_type": "subslide"}
# Same data order, same optimiser (SGD with momentum, as in the paper), same number of epochs
# for all three. We record the **training** loss: the question is how well each network is
# optimised, not how well it generalises.

# %%
epochs = helpers.pick(3, 30)
histories = {}
for name, (n_layers, residual) in configs.items():
    helpers.seed_everything()  # the course seed: the same initial randomness for every run
    model = cifar_net(n_layers, residual)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    histories[name] = helpers.fit(
        model, make_loader(), epochs=epochs, optimizer=optimizer, verbose=False
    )
    print(f"{name:22s} final training loss {histories[name]['train_loss'][-1]:.3f}")

# %% slideshow={"slide_type": "subslide"}
fig = helpers.plot_histories(
    histories, metric="train_loss", title=f"Plain vs residual on CIFAR-10, {n_train} images"
)
plt.show()

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Self-check.** In fast mode (3 epochs on 2,048 images) the losses are still far from zero,
# so this is the *start* of training: the deep plain network learns more slowly than the
# shallow one, and its residual twin, with the same layers, does not have that handicap. That
# is the first sign of the problem, not yet the degradation He et al. report, which is a
# higher training error *after* full-length training. The check asks for both gaps to exceed
# 0.05 (the losses are printed above). How the residual network compares with the *shallow*
# plain one depends on the seed, so it is not asserted. Whether the gap lasts is the recorded
# full-length run's question, next.

# %%
final = {name: h["train_loss"][-1] for name, h in histories.items()}
shallow_loss, deep_loss, residual_loss = final.values()
helpers.check_true(
    deep_loss > shallow_loss + 0.05,
    "in the first epochs the deeper plain network trains more slowly than the shallower one",
    found=f"final training losses {final}",
)
helpers.check_true(
    residual_loss < deep_loss - 0.05,
    "the residual network trains faster than its plain twin",
    found=f"final training losses {final}",
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### The full-length run, recorded
#
# Whether the gap lasts takes the full run: 30 epochs on all 50,000 training images, with 8
# and 44 layers. On one CPU thread that is about three quarters of an hour per deep network,
# too long for a lecture, so it was recorded with
# `OMP_NUM_THREADS=1 python benchmarks/record_full_runs.py 04`. The script runs this notebook's
# own cells in full mode and stores each network in `notebooks/results/04_*.json`, with the
# device, torch version, date, commit and wall time. Here it is beside the live run.

# %%
RECORDED = ["plain_shallow", "plain_deep", "residual_deep"]  # in the order of `configs`
recorded = helpers.load_recorded_runs("04", RECORDED)  # {record name: record}
for record in recorded.values():
    print(f"{record['model']:22s} final training loss {record['final']['train_loss']:.3f} "
          f"({record['config']['epochs']} epochs, {record['wall_s'] / 60:.0f} min)")  # fmt: skip
if recorded:
    any_record = next(iter(recorded.values()))
    print(f"{any_record['config']['train_images']:,} training images")

# %% slideshow={"slide_type": "subslide"}
if recorded:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for name, history in histories.items():
        axes[0].plot(history["epoch"], history["train_loss"], marker="o", label=name)
    for record in recorded.values():
        history = helpers.History(record["history"])
        axes[1].plot(history["epoch"], history["train_loss"], label=record["model"])
    axes[0].set(title=f"Live run, {n_train:,} images", xlabel="epoch", ylabel="training loss")
    axes[1].set(title=helpers.recorded_label(any_record), xlabel="epoch", ylabel="training loss")
    axes[0].legend()
    axes[1].legend()
    fig.suptitle("Training loss per epoch, plain vs residual: live and recorded full run")
    plt.show()

# %% [markdown]
# What the recorded run says, written from its numbers:

# %%
from IPython.display import Markdown


def recorded_summary(recorded: dict) -> str:
    """The recorded outcome in words, from the per-epoch training losses in the records."""
    loss = {key: helpers.History(r["history"])["train_loss"] for key, r in recorded.items()}
    name = {key: r["model"] for key, r in recorded.items()}
    text = f"Final training losses after {len(next(iter(loss.values())))} epochs: "
    text += ", ".join(f"{losses[-1]:.3f} ({name[key]})" for key, losses in loss.items()) + ". "
    if {"plain_shallow", "plain_deep"} <= set(loss):
        deep, shallow = loss["plain_deep"], loss["plain_shallow"]
        if deep[-1] > shallow[-1]:
            text += (
                f"The deep plain network still trains worse than the shallow one: its loss is "
                f"{deep[-1] - shallow[-1]:.3f} higher at the end ({deep[0] - shallow[0]:.3f} "
                "after the first epoch). The slow start has become the degradation He et al. "
                "describe, at least for this budget of epochs. "
            )
        else:
            text += "The deep plain network has caught up with the shallow one: a slow start only. "
    if {"plain_deep", "residual_deep"} <= set(loss):
        ahead = loss["plain_deep"][-1] - loss["residual_deep"][-1]
        text += f"The residual twin ends {abs(ahead):.3f} {'below' if ahead > 0 else 'above'} "
        text += "its plain twin"
        if "plain_shallow" in loss:
            below = loss["residual_deep"][-1] < loss["plain_shallow"][-1]
            text += " and below the shallow network too" if below else ", above the shallow one"
        text += ". "
    return text


if recorded:
    display(Markdown(recorded_summary(recorded)))
    final_loss = {key: r["final"]["train_loss"] for key, r in recorded.items()}
    helpers.check_true(
        final_loss["plain_deep"] > final_loss["plain_shallow"] + 0.1,
        "after full-length training the deep plain network still has a higher training loss",
        found=str(final_loss),
    )
    helpers.check_true(
        final_loss["residual_deep"] < min(final_loss["plain_deep"], final_loss["plain_shallow"]),
        "after full-length training the deep residual network has the lowest training loss",
        found=str(final_loss),
    )

# %% [markdown]
# Both claims are checked above on the recorded numbers: after 30 epochs the 44 plain layers
# train worse than 8, and the same 44 layers with shortcuts train best of the three. Extra depth
# pays off once the shortcuts make it trainable.

# %% [markdown] slideshow={"slide_type": "slide"} tags=["lecture-optional"]
# ## 14. Convolutions on GPUs: algorithms, determinism, memory format, precision
#
# On an NVIDIA GPU PyTorch hands convolutions to cuDNN, which has several algorithms for the
# same convolution (implicit GEMM, FFT, Winograd, ...), each fastest for different shapes:
#
# - `torch.backends.cudnn.benchmark = True`: the first time a convolution meets a new input
#   shape, cuDNN times its candidate algorithms and remembers the fastest. Good when shapes
#   stay fixed (most CNN training); costly when they change every batch. The choice may differ
#   run to run, so results are not bit-identical.
# - `torch.backends.cudnn.deterministic = True` (with `torch.use_deterministic_algorithms`):
#   only deterministic algorithms, bit-identical runs, sometimes slower.
#   `helpers.set_deterministic(True)` sets both and turns the autotuner off.
# - `channels_last`: store a batch as N, H, W, C in memory instead of N, C, H, W. The tensor
#   keeps its shape; only its strides change. Tensor Cores want this layout, so convolutions
#   on recent GPUs are often faster with it.
# - Mixed precision: `torch.autocast` runs convolutions in float16 or bfloat16 (Tensor
#   Cores, half the memory traffic) and keeps precision-sensitive operations in float32.
#   Note that on Ampere and newer GPUs even "float32" convolutions use TF32 Tensor Cores by
#   default (`torch.backends.cudnn.allow_tf32 = True`).
#
# The memory layout first. For a contiguous (N, C, H, W) tensor the strides are
# $(CHW, HW, W, 1)$; in channels-last they are $(HWC, 1, WC, C)$.

# %%
# NBVAL_CHECK_OUTPUT
N, C, H, W = 2, 3, 4, 5
x = torch.arange(N * C * H * W, dtype=torch.float32).view(N, C, H, W)
x_cl = x.to(memory_format=torch.channels_last)
print("shape:", tuple(x_cl.shape), " strides NCHW:", x.stride(), " channels_last:", x_cl.stride())

# %% slideshow={"slide_type": "subslide"}
helpers.check_equal(x.stride(), (C * H * W, H * W, W, 1), "NCHW strides")
helpers.check_equal(x_cl.stride(), (H * W * C, 1, W * C, C), "channels_last strides")
helpers.check_true(torch.equal(x, x_cl), "same values, only the memory order differs")
conv = nn.Conv2d(3, 8, 3, padding=1)
helpers.check_close(conv(x_cl), conv(x), "a conv on channels_last input", atol=1e-4)
dtype = torch.bfloat16
with torch.autocast(device_type="cpu", dtype=dtype):
    y_low = conv(x / x.numel())
helpers.check_equal(y_low.dtype, dtype, "autocast output dtype")
helpers.check_close(y_low.float(), conv(x / x.numel()), "bf16 conv vs fp32", rtol=0.05, atol=0.02)

# %% [markdown]
# Now timings on *this* machine with `torch.utils.benchmark.Timer`, which warms up, syncs the
# GPU and repeats until the estimate is stable. On a CPU there is no cuDNN: the benchmark and
# deterministic rows are skipped and the table says so. The full comparison for a GPU (with
# float16 and the whole ResNet-50) is the script `benchmarks/conv_gpu_settings.py`.

# %% slideshow={"slide_type": "notes"}
import logging

logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)  # quiet "no CUDA" note
from torch.utils import benchmark

device = helpers.best_device()
on_cuda = device.type == "cuda"
batch = helpers.pick(8, 64)
layer = nn.Sequential(conv_bn(64, 64, 3), nn.ReLU(), conv_bn(64, 64, 3)).to(device)
images = torch.randn(batch, 64, 56, 56, device=device)  # (N, 64, 56, 56)
bf16_ok = device.type == "cpu" or torch.cuda.is_bf16_supported(including_emulation=False)
low = torch.bfloat16 if bf16_ok else torch.float16


def time_forward(channels_last=False, autocast=False, cudnn_benchmark=False, deterministic=False):
    torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = (
        cudnn_benchmark, deterministic)  # fmt: skip
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model, inp = layer.to(memory_format=fmt), images.to(memory_format=fmt)

    def step():
        with torch.no_grad(), torch.autocast(device.type, dtype=low, enabled=autocast):
            model(inp)

    timer = benchmark.Timer(stmt="step()", globals={"step": step})
    return timer.blocked_autorange(min_run_time=helpers.pick(0.3, 2.0)).median * 1e3  # ms


settings_to_time = {
    "fp32, NCHW (default)": {},
    "fp32, channels_last": {"channels_last": True},
    f"autocast {str(low)[6:]}, NCHW": {"autocast": True},
    f"autocast {str(low)[6:]}, channels_last": {"autocast": True, "channels_last": True},
}
if on_cuda:
    settings_to_time["fp32, cudnn.benchmark"] = {"cudnn_benchmark": True}
    settings_to_time["fp32, cudnn.deterministic"] = {"deterministic": True}
timings = {name: time_forward(**kw) for name, kw in settings_to_time.items()}
torch.backends.cudnn.benchmark = torch.backends.cudnn.deterministic = False

# %% slideshow={"slide_type": "subslide"}
print(f"device: {helpers.device_name(device)}; two 3x3 conv-BN layers, 64 channels, "
      f"batch {batch}, 56x56, forward only")  # fmt: skip
base = timings["fp32, NCHW (default)"]
print(f"{'setting':32s} {'ms':>8s} {'speed-up':>9s}")
for name, ms in timings.items():
    print(f"{name:32s} {ms:8.2f} {base / ms:8.2f}x")
if not on_cuda:
    print("no CUDA GPU here: cudnn.benchmark / cudnn.deterministic do not apply on a CPU")

# %% [markdown]
# The table is a measurement, not a self-check: timings depend on the machine and on what else
# runs on it. What does not depend on the machine is that these settings change *how* the
# layers are computed, not *what* they compute. channels_last only stores the same numbers in
# another order, so its result must equal the default one up to rounding (a relative
# difference below 0.1 %; a GPU may pick another algorithm for each layout). Autocast computes
# in 16-bit floats, so its result must be close (within 5 %) but not identical.


# %% slideshow={"slide_type": "subslide"}
def forward_with(channels_last=False, autocast=False) -> torch.Tensor:
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    with torch.no_grad(), torch.autocast(device.type, dtype=low, enabled=autocast):
        return layer.to(memory_format=fmt)(images.to(memory_format=fmt)).float()


reference = forward_with()  # fp32, NCHW
rel_err = {(cl, ac): ((forward_with(cl, ac) - reference).norm() / reference.norm()).item()
           for cl, ac in [(True, False), (False, True), (True, True)]}  # fmt: skip
for (cl, ac), e in rel_err.items():
    print(f"channels_last={cl!s:5s} autocast={ac!s:5s} relative difference to fp32 NCHW {e:.1e}")

# %%
helpers.check_true(rel_err[True, False] < 1e-3, "channels_last gives the fp32 result",
                   found=f"relative difference {rel_err[True, False]:.1e}")  # fmt: skip
for cl in (False, True):
    helpers.check_true(1e-4 < rel_err[cl, True] < 0.05,
                       f"autocast (channels_last={cl}) is close to fp32, but not identical",
                       found=f"relative difference {rel_err[cl, True]:.1e}")  # fmt: skip

# %% [markdown]
# Read the numbers with care: on a CPU, bfloat16 is only fast where the processor has
# native bf16 instructions (AMX, AVX512-BF16), channels_last helps only some kernels, and a
# busy machine adds noise. On recent NVIDIA GPUs the Tensor Core paths (channels_last with
# fp16/bf16 autocast) are usually much faster than fp32 NCHW; `benchmarks/conv_gpu_settings.py`
# measures all of these settings for a whole ResNet-50 training step.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
#
# Each exercise has a task, a cell for your answer (replace `None`) and a check cell that prints
# "Right!", "Not right yet" with a hint, or "Not attempted yet"; the check never stops the
# notebook. In the lecture version of this notebook the answer cells hold a worked solution,
# marked as such; in the exercise version they are yours.
#
# **Exercise 1 (ResNet-34; code).** ResNet-34 stacks basic blocks 3, 4, 6, 3 per stage (the
# stage sizes of ResNet-50, with basic blocks instead of bottlenecks). Build it with this
# notebook's functions, on the meta device (`with META:`), and store it in `resnet34`. The check
# compares its parameter count with `torchvision.models.resnet34` and runs a 224x224 image
# through it.

# %% nbgrader={"grade": false, "grade_id": "ex1_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 1: your answer (an nn.Module)
resnet34 = None
### BEGIN SOLUTION
with META:
    resnet34 = resnet(BasicBlock, [3, 4, 6, 3])
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex1_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
with META:
    resnet34_ref = torchvision.models.resnet34(weights=None)


def is_resnet34(model: nn.Module) -> bool:
    out = model(torch.zeros(1, 3, 224, 224, device=next(model.parameters()).device))
    return count_params(model) == count_params(resnet34_ref) and tuple(out.shape) == (1, 1000)


ok_1 = helpers.verdict(
    resnet34,
    is_resnet34,
    "section 7's resnet() takes the block type and the number of blocks in each stage.",
)
### BEGIN HIDDEN TESTS
assert ok_1, "exercise 1 is not right"
### END HIDDEN TESTS

# %% [markdown]
# **Exercise 2 (how much does depthwise-separable save?; a number).** For
# $C_\text{in} = C_\text{out} = 512$ and 3x3 filters, without biases, what fraction of a
# standard convolution's parameters does a depthwise-separable one need? Give the ratio
# separable / standard as a float (three significant digits are enough).

# %% nbgrader={"grade": false, "grade_id": "ex2_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 2: your answer (a float below 1)
separable_ratio = None
### BEGIN SOLUTION
standard_512 = conv_params(512, 512, 3, bias=False)  # 512 * 512 * 9
separable_512 = conv_params(512, 512, 3, bias=False, groups=512) + conv_params(512, 512, 1, False)
separable_ratio = separable_512 / standard_512  # = 1/512 + 1/9, about 0.113: 9 times fewer
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex2_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
with META:
    measured_ratio = count_params(separable_conv(512, 512)) / count_params(
        nn.Conv2d(512, 512, 3, padding=1, bias=False)
    )
ok_2 = helpers.verdict(
    separable_ratio,
    measured_ratio,
    "the depthwise part has one k x k filter per input channel; the pointwise part is a 1x1 "
    "convolution from C_in to C_out channels.",
    rtol=0.005,
)
### BEGIN HIDDEN TESTS
assert ok_2, "exercise 2 is not right"
### END HIDDEN TESTS

# %% [markdown]
# **Exercise 3 (SE-ResNet-50; a number).** Adding an SE block with $r = 16$ to every bottleneck
# block of ResNet-50, on the block's output channels ($4 \times$ its width), adds how many
# parameters? Use the formula of section 11 and the stage sizes `[3, 4, 6, 3]`; the paper
# reports 28.1M parameters for SE-ResNet-50, against 25.6M for ResNet-50.

# %% nbgrader={"grade": false, "grade_id": "ex3_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 3: your answer (a whole number)
se_extra = None
### BEGIN SOLUTION
# Each SE block on C channels: two Linear layers, C -> C/16 -> C, with biases.
se_extra = sum(
    n * (2 * c * c // 16 + c // 16 + c) for n, c in zip([3, 4, 6, 3], [256, 512, 1024, 2048])
)  # 2,514,944: 25.6M + 2.5M = 28.1M, as in the paper
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex3_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
with META:
    bottlenecks = [m for m in resnet(Bottleneck, [3, 4, 6, 3]) if isinstance(m, Bottleneck)]
    se_measured = sum(
        count_params(SqueezeExcite(b.residual[-1][0].out_channels)) for b in bottlenecks
    )
ok_3 = helpers.verdict(
    se_extra,
    se_measured,
    "an SE block on C channels holds two Linear layers with biases, C -> C/16 -> C; stage s "
    "has blocks with 256 * 2**s output channels.",
)
### BEGIN HIDDEN TESTS
assert ok_3, "exercise 3 is not right"
### END HIDDEN TESTS

# %% [markdown]
# **Exercise 4 (where are the parameters?; a prediction).** ResNet-34 has four stages; the
# spatial size halves and the width doubles from one stage to the next. Predict, before
# counting, what share of ResNet-34's parameters sits in its **last** stage (`layer4` in
# torchvision), as a float between 0 and 1. A prediction within 0.1 of the true share counts
# as right.

# %% nbgrader={"grade": false, "grade_id": "ex4_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 4: your prediction (a float between 0 and 1)
last_stage_share = None
### BEGIN SOLUTION
# A 3x3 conv's weights grow with C_in * C_out, so doubling the width quadruples a block, and
# the spatial size does not matter at all. Stage 4 has six 3x3 convs at width 512 (the first
# one 256 -> 512), about 2.4M weights each: about 13M of ResNet-34's 21.8M.
last_stage_share = 0.6
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex4_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
measured_share = count_params(resnet34_ref.layer4) / count_params(resnet34_ref)
ok_4 = helpers.verdict(
    last_stage_share,
    lambda a: abs(float(a) - measured_share) <= 0.1,
    "a conv layer's parameter count depends on its channels, not on the size of its feature maps.",
)
### BEGIN HIDDEN TESTS
assert ok_4, "exercise 4 is not right"
### END HIDDEN TESTS

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
#
# - Parameters of a conv: $C_\text{out}(C_\text{in}k^2 + 1)$; multiply-adds:
#   $H_\text{out}W_\text{out}C_\text{out}C_\text{in}k^2$. Dense layers dominate the parameters
#   of AlexNet and VGG (94% of the slides' AlexNet, 89% of VGG-16); convolutions dominate the
#   compute.
# - LeNet-5 (62k) -> AlexNet (61.1M) -> VGG-16 (138.4M): deeper, with smaller filters.
#   GoogLeNet (6.6M), ResNet-50 (25.6M), DenseNet-121 (8.0M) and MobileNetV2 (3.5M) are more
#   accurate with far fewer parameters, thanks to 1x1 bottlenecks, global average pooling,
#   shortcuts and factorised convolutions.
# - A 1x1 bottleneck cut the Inception example from 854M to 271M multiply-adds as drawn; the
#   slides' 358M counts the 3x3 layer twice.
# - Residual blocks make "do nothing" easy. He et al. found that deep plain networks degrade
#   and deep residual networks do not; our short run shows the first sign: the deep plain
#   network starts more slowly, its residual twin does not. The recorded full-length run
#   (30 epochs on all 50,000 images) shows the degradation itself: the 44-layer plain network
#   ends with a higher training loss than the 8-layer one, and its residual twin ends lowest
#   of the three (section 13, checked on the record).
# - On a GPU: `cudnn.benchmark` for speed with fixed shapes, `cudnn.deterministic` for
#   reproducibility, `channels_last` + autocast (bf16/fp16) for Tensor Cores. Measure.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Further reading
#
# - Y. LeCun, L. Bottou, Y. Bengio, P. Haffner, *Gradient-based learning applied to document
#   recognition*, Proc. IEEE 1998.
# - A. Krizhevsky, I. Sutskever, G. Hinton, *ImageNet classification with deep convolutional
#   neural networks*, NeurIPS 2012.
# - K. Simonyan, A. Zisserman, *Very deep convolutional networks for large-scale image
#   recognition*, arXiv:1409.1556, 2014.
# - M. Lin, Q. Chen, S. Yan, *Network in network*, arXiv:1312.4400, 2013.
# - C. Szegedy et al., *Going deeper with convolutions*, CVPR 2015.
# - K. He, X. Zhang, S. Ren, J. Sun, *Deep residual learning for image recognition*, CVPR 2016.
# - G. Huang, Z. Liu, L. van der Maaten, K. Weinberger, *Densely connected convolutional
#   networks*, CVPR 2017.
# - F. Chollet, *Xception: deep learning with depthwise separable convolutions*, CVPR 2017;
#   A. Howard et al., *MobileNets*, arXiv:1704.04861, 2017.
# - M. Sandler et al., *MobileNetV2: inverted residuals and linear bottlenecks*, CVPR 2018.
# - J. Hu, L. Shen, G. Sun, *Squeeze-and-excitation networks*, CVPR 2018.
# - PyTorch docs: [torchvision.models](https://pytorch.org/vision/stable/models.html),
#   [channels_last tutorial](https://pytorch.org/tutorials/intermediate/memory_format_tutorial.html),
#   [automatic mixed precision](https://pytorch.org/docs/stable/amp.html),
#   [reproducibility](https://pytorch.org/docs/stable/notes/randomness.html),
#   [torch.utils.benchmark](https://pytorch.org/docs/stable/benchmark_utils.html).
