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
# # 05 BatchNorm, dropout and other regularisers
#
# A CNN that fits its training set perfectly can still be useless on new images, and a deep
# CNN can refuse to train at all when its activations explode or vanish layer after layer.
# This notebook builds the standard remedies from their definitions: batch normalisation,
# (inverted) dropout and its spatial variant, careful weight initialisation, L2 weight decay
# and data augmentation. Each one is first written by hand and proven equal to PyTorch's
# version, then measured on real CIFAR-10 images: how much faster it trains, which learning
# rates it survives, and how it changes the gap between training and validation accuracy.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Learning goals
#
# - Write BatchNorm2d from its formulas (per-channel statistics over N, H, W, the running
#   averages used at test time) and match `nn.BatchNorm2d` in train and eval mode.
# - Write inverted dropout and spatial dropout by hand and match `nn.Dropout` / `nn.Dropout2d`.
# - Explain why element-wise dropout helps less after a convolution than after a dense layer.
# - Measure what BatchNorm changes in training: speed, the largest stable learning rate,
#   position before/after the nonlinearity, and its failure with tiny batches (GroupNorm and
#   LayerNorm do not have that problem).
# - Avoid the forgotten `model.eval()` bug and measure what it costs.
# - Choose a weight initialisation (Xavier, He) that keeps activations at a healthy scale.
# - Tell L2 regularisation in the loss, SGD's `weight_decay` and AdamW's decoupled decay apart.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## You should already know
#
# - How a `Conv2d` layer maps `(N, C_in, H, W)` to `(N, C_out, H', W')` (notebooks 01 and 03).
# - A training loop: forward pass, cross-entropy loss, `loss.backward()`, `optimizer.step()`.
# - Mean, variance and standard deviation of a set of numbers.

# %% [markdown]
# **How to read the experiments.** In fast mode (a laptop CPU) every experiment trains a tiny
# network for a few epochs on a few thousand CIFAR-10 images, so that the whole notebook
# runs in well under a minute. Only effects that are robust at that size are asserted; the
# others are marked *illustrative*. Full mode (`COURSE_FAST=0`, on a GPU) uses more images and
# epochs.

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
import copy
import math

import matplotlib.pyplot as plt
import torch
import torch.nn as nn
import torch.nn.functional as F
from IPython.display import Markdown, display

helpers.seed_everything()
device = helpers.best_device()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1. Batch normalisation from scratch
#
# Normalising the *inputs* of a network to zero mean and unit variance is standard practice.
# Batch normalisation (Ioffe and Szegedy, 2015) does the same to the activations *inside* the
# network, using the statistics of the current mini-batch. For one channel of a conv layer,
# the $m = N \cdot H \cdot W$ values $x^{(1)}, \dots, x^{(m)}$ of that channel in the batch
# are normalised together:
#
# $$\mu = \frac{1}{m}\sum_{i=1}^m x^{(i)}, \qquad
#   \sigma^2 = \frac{1}{m}\sum_{i=1}^m \left(x^{(i)} - \mu\right)^2, \qquad
#   \hat{x}^{(i)} = \frac{x^{(i)} - \mu}{\sqrt{\sigma^2 + \epsilon}}, \qquad
#   y^{(i)} = \gamma\,\hat{x}^{(i)} + \beta .$$
#
# $\gamma$ (`bn.weight`) and $\beta$ (`bn.bias`) are learned, one pair per channel, so the
# network can undo the normalisation where that helps. At test time there may be a single
# image, so the layer keeps *running* estimates of the mean and variance, updated at every
# training step with PyTorch's `momentum` $= 0.1$:
#
# $$\hat\mu_{\text{run}} \leftarrow (1 - 0.1)\,\hat\mu_{\text{run}} + 0.1\,\mu, \qquad
#   \hat\sigma^2_{\text{run}} \leftarrow (1 - 0.1)\,\hat\sigma^2_{\text{run}}
#   + 0.1\,\frac{m}{m-1}\,\sigma^2 .$$
#
# Two details trip people up: the batch is normalised with the *biased* variance (divide by
# $m$) but the running estimate stores the *unbiased* one (divide by $m - 1$), and PyTorch's
# `momentum` is the weight of the *new* value (the opposite of an optimiser's momentum).


# %% slideshow={"slide_type": "subslide"}
class BatchNorm2dScratch(nn.Module):
    """BatchNorm over (N, H, W) for each channel, written from the formulas above."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(num_features))  # gamma, (C,)
        self.bias = nn.Parameter(torch.zeros(num_features))  # beta, (C,)
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (N, C, H, W)
        if self.training:
            mean = x.mean(dim=(0, 2, 3))  # (C,)
            var = x.var(dim=(0, 2, 3), correction=0)  # (C,) biased: divides by m
            m = x.numel() // x.shape[1]  # N * H * W values per channel
            with torch.no_grad():
                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)
                self.running_var.mul_(1 - self.momentum).add_(self.momentum * var * m / (m - 1))
        else:
            mean, var = self.running_mean, self.running_var
        shape = (1, -1, 1, 1)  # broadcast a (C,) vector over (N, C, H, W)
        x_hat = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + self.eps)
        return self.weight.view(shape) * x_hat + self.bias.view(shape)


# %% [markdown]
# The self-check runs both layers side by side for several training steps on batches with
# different means and spreads (with the same random $\gamma$, $\beta$), compares outputs,
# input gradients and running statistics after every step, then compares them in eval mode.

# %% slideshow={"slide_type": "subslide"}
torch.manual_seed(0)
ours, ref = BatchNorm2dScratch(4), nn.BatchNorm2d(4)
with torch.no_grad():
    for layer in (ours, ref):
        layer.weight.copy_(torch.linspace(0.5, 2.0, 4))
        layer.bias.copy_(torch.linspace(-1.0, 1.0, 4))

for step in range(5):
    x = 3.0 * torch.randn(8, 4, 5, 5) + step  # (N=8, C=4, H=5, W=5)
    x_ours, x_ref = x.clone().requires_grad_(), x.clone().requires_grad_()
    y_ours, y_ref = ours(x_ours), ref(x_ref)
    helpers.check_close(y_ours, y_ref, f"train-mode output, step {step}", atol=1e-5)
    (y_ours**2).sum().backward()
    (y_ref**2).sum().backward()
    helpers.check_close(x_ours.grad, x_ref.grad, f"input gradient, step {step}", atol=1e-4)
    helpers.check_close(ours.running_mean, ref.running_mean, f"running mean, step {step}")
    helpers.check_close(ours.running_var, ref.running_var, f"running var, step {step}")

ours.eval(), ref.eval()
x_test = torch.randn(3, 4, 5, 5)
helpers.check_close(ours(x_test), ref(x_test), "eval-mode output", atol=1e-5)
helpers.check_close(ours.weight.grad, ref.weight.grad, "gradient of gamma", rtol=1e-4, atol=1e-4)
print("BatchNorm2dScratch == nn.BatchNorm2d over 5 training steps and in eval mode")

# %% [markdown]
# **Self-check: the formulas, one at a time.** After the layer (with $\gamma = 1$,
# $\beta = 0$) every channel of a training batch has mean 0 and (biased) variance 1, and the
# running variance moved towards the *unbiased* batch variance, not the biased one.

# %% slideshow={"slide_type": "subslide"}
bn = nn.BatchNorm2d(3)  # gamma = 1, beta = 0, running_var = 1
x = 5.0 + 2.0 * torch.randn(16, 3, 8, 8)  # (16, 3, 8, 8)
y = bn(x)
helpers.check_close(y.mean(dim=(0, 2, 3)), torch.zeros(3), "per-channel mean after BN", atol=1e-5)
helpers.check_close(
    y.var(dim=(0, 2, 3), correction=0), torch.ones(3), "per-channel variance after BN", atol=1e-3
)
m = 16 * 8 * 8
unbiased = x.var(dim=(0, 2, 3), correction=1)
helpers.check_close(
    unbiased, x.var(dim=(0, 2, 3), correction=0) * m / (m - 1), "m/(m-1) correction"
)
helpers.check_close(
    bn.running_var, 0.9 * 1.0 + 0.1 * unbiased, "running var uses the unbiased variance"
)
helpers.check_close(bn.running_mean, 0.1 * x.mean(dim=(0, 2, 3)), "running mean, momentum 0.1")

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Predict.** How many learned parameters does `nn.BatchNorm2d(192)` have, and what else does it
# store?

# %% [markdown] slideshow={"slide_type": "fragment"}
# **Answer.** 384: one $\gamma$ and one $\beta$ per channel. It also keeps buffers that are saved
# but never trained: the running mean and variance (192 each) and a counter of batches.

# %% slideshow={"slide_type": "fragment"}
bn_demo = nn.BatchNorm2d(192)
helpers.check_equal(sum(p.numel() for p in bn_demo.parameters()), 384, "learned parameters")
bn_buffers = sorted(name for name, _ in bn_demo.named_buffers())
helpers.check_equal(bn_buffers, ["num_batches_tracked", "running_mean", "running_var"], "buffers")

# %% [markdown] slideshow={"slide_type": "subslide"}
# The slides' example: a `Conv2d(3, 192, 5)` followed by `BatchNorm2d(192)`. The layer has one
# $\gamma$ and one $\beta$ per channel, so 2 x 192 = 384 learned numbers, plus three buffers
# that are saved in the `state_dict` but never trained: the running mean and variance (192
# numbers each) and a counter of the batches seen.

# %% slideshow={"slide_type": "subslide"}
# NBVAL_CHECK_OUTPUT
bn192 = nn.BatchNorm2d(192)
print("bn.weight:", bn192.weight.shape, "| bn.bias:", bn192.bias.shape)
print("learned parameters:", sum(p.numel() for p in bn192.parameters()))
print("buffers:", {name: tuple(b.shape) for name, b in bn192.named_buffers()})
helpers.check_equal(bn192.weight.numel(), 192, "entries of bn.weight")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2. Dropout from scratch
#
# Dropout (Srivastava et al., 2014) sets each activation to zero with probability $p$ at
# every training step, so that no unit can rely on a particular other unit being present.
# *Inverted* dropout, the version every framework uses, also scales the surviving values by
# $1/(1-p)$ during training, so that the expected value is unchanged,
#
# $$y_i = \frac{k_i}{1-p}\,x_i,\quad k_i \sim \text{Bernoulli}(1-p), \qquad
#   \mathbb{E}[y_i] = (1-p)\cdot\frac{x_i}{1-p} = x_i ,$$
#
# and at test time the layer is simply the identity: nothing to rescale, nothing random.


# %% [markdown] slideshow={"slide_type": "subslide"}
# **Predict.** What does `nn.Dropout(p=0.5)` do to its input after `.eval()`?

# %% [markdown] slideshow={"slide_type": "fragment"}
# **Answer.** Nothing: in eval mode dropout is the identity. Inverted dropout already scaled the
# survivors by $1/(1-p)$ during training, so no rescaling is needed at test time.

# %% slideshow={"slide_type": "fragment"}
kept_values = torch.arange(1.0, 7.0)
helpers.check_equal(nn.Dropout(p=0.5).eval()(kept_values), kept_values, "nn.Dropout in eval mode")


# %% slideshow={"slide_type": "subslide"}
def inverted_dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Zero each entry with probability p and scale the rest by 1/(1-p); identity at eval."""
    if not training or p == 0.0:
        return x
    keep = torch.empty_like(x).bernoulli_(1 - p)  # 1 with probability 1-p, else 0
    return x * (keep / (1 - p))


# %% [markdown]
# On the CPU, PyTorch draws its mask the same way, so with the same seed the two give exactly
# the same result. (On a GPU, PyTorch uses a fused kernel with its own random stream; there
# you would compare statistics instead, as the second check does.)

# %% slideshow={"slide_type": "subslide"}
x = torch.randn(64, 100)  # a CPU tensor on purpose: the exact-mask comparison is CPU-only
drop = nn.Dropout(p=0.3)
torch.manual_seed(7)
y_ref = drop(x)
torch.manual_seed(7)
y_ours = inverted_dropout(x, 0.3, training=True)
helpers.check_equal(torch.equal(y_ours, y_ref), True, "same seed -> same dropout result")

ones = torch.ones(1_000_000)
y = inverted_dropout(ones, 0.3, training=True)
helpers.check_close((y == 0).float().mean(), 0.3, "fraction of zeros", atol=0.01)
helpers.check_close(y.mean(), 1.0, "mean after inverted dropout (expectation kept)", atol=0.01)
helpers.check_close(y[y != 0], torch.full_like(y[y != 0], 1 / 0.7), "survivors scaled by 1/(1-p)")

drop.eval()
helpers.check_equal(torch.equal(drop(x), x), True, "nn.Dropout in eval mode is the identity")
helpers.check_equal(torch.equal(inverted_dropout(x, 0.3, training=False), x), True, "ours at eval")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Spatial dropout: `Dropout2d`
#
# After a convolution, neighbouring pixels of a feature map are strongly correlated. If one
# pixel is dropped, its neighbours still carry almost the same information, so element-wise
# dropout barely regularises. `Dropout2d` (Tompson et al., 2015) therefore drops *whole
# feature maps*: one Bernoulli draw per (image, channel), shared by all $H \times W$ pixels.


# %%
def spatial_dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Dropout2d by hand: one keep/drop decision per (image, channel) of an (N, C, H, W) tensor."""
    if not training or p == 0.0:
        return x
    keep = torch.empty(x.shape[0], x.shape[1], 1, 1).bernoulli_(1 - p)  # (N, C, 1, 1)
    return x * (keep / (1 - p))  # broadcast over H, W


x = torch.rand(64, 64, 6, 6) + 0.5  # positive, so a zero means "dropped"; (64, 64, 6, 6)
torch.manual_seed(3)
y_ref = nn.Dropout2d(p=0.5)(x)
torch.manual_seed(3)
y_ours = spatial_dropout(x, 0.5, training=True)
helpers.check_equal(torch.equal(y_ours, y_ref), True, "same seed -> same Dropout2d result")

zero_pixels = (y_ref == 0).flatten(2).sum(dim=2)  # (64, 64): zeros per feature map
whole_maps = (zero_pixels == 0) | (zero_pixels == 36)
helpers.check_true(
    bool(whole_maps.all()), "Dropout2d drops every feature map entirely or not at all"
)
helpers.check_close((zero_pixels == 36).float().mean(), 0.5, "fraction of dropped maps", atol=0.05)

# %% [markdown] slideshow={"slide_type": "subslide"}
# A picture of the difference: the same 8 feature maps after element-wise dropout (salt and
# pepper holes) and after spatial dropout (whole maps missing).

# %% slideshow={"slide_type": "subslide"}
maps = torch.rand(1, 8, 12, 12) + 0.5
torch.manual_seed(1)
pixel_drop, map_drop = F.dropout(maps, 0.5, True), F.dropout2d(maps, 0.5, True)
fig, axes = plt.subplots(2, 8, figsize=(10, 3))
for row, (name, t) in enumerate([("nn.Dropout", pixel_drop), ("nn.Dropout2d", map_drop)]):
    for c in range(8):
        axes[row, c].imshow(t[0, c], cmap="gray", vmin=0, vmax=3)
        axes[row, c].set_axis_off()
        axes[row, c].set_title(f"{name}\nmap {c}" if c == 0 else f"map {c}", fontsize=8)
fig.suptitle("Element-wise dropout (top) vs spatial dropout (bottom), p = 0.5")
plt.show()

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Why element-wise dropout helps less after a convolution
#
# The claim above can be measured on real images, which look much like the feature maps of an
# early conv layer. We load CIFAR-10 (used again for the experiments below), measure the
# correlation between horizontally adjacent pixels, then drop half of the pixels and guess
# each dropped pixel as the mean of its kept 4-neighbours. If the guess recovers most of the
# dropped signal, the next layer (a 3x3 conv sees those neighbours too) has lost little.

# %% slideshow={"slide_type": "subslide"}
train_set = helpers.load_cifar10("train")  # uint8 (N, 3, 32, 32)
test_set = helpers.load_cifar10("test")
x = train_set.images[:500].float() / 255  # (500, 3, 32, 32)
x_c = x - x.mean(dim=(2, 3), keepdim=True)  # centre each image channel
left, right = x_c[..., :, :-1].flatten(), x_c[..., :, 1:].flatten()
neighbour_corr = torch.corrcoef(torch.stack([left, right]))[0, 1].item()

torch.manual_seed(0)
keep = torch.empty_like(x).bernoulli_(0.5)  # element-wise dropout mask, p = 0.5
cross = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]).expand(3, 1, 3, 3)
kept_sum = F.conv2d(x * keep, cross, padding=1, groups=3)  # sum of kept 4-neighbours
kept_count = F.conv2d(keep, cross, padding=1, groups=3)  # how many were kept
guess = kept_sum / kept_count.clamp(min=1)
dropped = (keep == 0) & (kept_count > 0)
recovered = 1 - ((guess - x)[dropped] ** 2).mean() / (x_c[dropped] ** 2).mean()
print(f"correlation of adjacent pixels: {neighbour_corr:.3f}")
print(f"share of a dropped pixel's variation recovered from its neighbours: {recovered:.1%}")
if train_set.real:  # a fact of real photos; the generated stand-in is rougher
    helpers.check_true(
        neighbour_corr > 0.8, "adjacent pixels are strongly correlated", f"{neighbour_corr:.3f}"
    )
    helpers.check_true(
        recovered > 0.7,
        "the neighbours recover most of what element-wise dropout removed",
        f"{recovered:.1%}",
    )
else:
    print("(stand-in images, not real photos: these numbers are not checked)")

# %% [markdown] slideshow={"slide_type": "subslide"}
# With `Dropout2d` a dropped map is gone entirely: no neighbour can fill it in, so the next
# layer really has to cope without that feature. That is why spatial dropout (or none at all,
# with BatchNorm) is used between conv layers, and ordinary dropout mostly before the final
# fully connected layer(s).

# %% [markdown] slideshow={"slide_type": "slide"} tags=["lecture-optional"]
# ## 3. Weight initialisation: keeping activations at a healthy scale
#
# Before BatchNorm existed, the only defence against activations that shrink or grow
# layer after layer was the scale of the initial weights. For a linear layer with $n_{in}$
# inputs of variance $v$ and weights of variance $\sigma_w^2$, each output has variance
# $n_{in}\,\sigma_w^2\,v$, so the scale is kept when $\sigma_w^2 \approx 1/n_{in}$. Two
# standard choices:
#
# - **Xavier / Glorot** (Glorot and Bengio, 2010), for tanh-like activations:
#   $\sigma_w = \sqrt{2 / (n_{in} + n_{out})}$.
# - **He / Kaiming** (He et al., 2015), for ReLU, which zeroes half of its inputs and so
#   halves the second moment: $\sigma_w = \sqrt{2 / n_{in}}$.
#
# PyTorch's default for `nn.Linear` and `nn.Conv2d` is uniform on
# $[-1/\sqrt{n_{in}}, 1/\sqrt{n_{in}}]$, i.e. $\sigma_w = 1/\sqrt{3\,n_{in}}$. First, the
# formulas against `torch.nn.init` (statistically: 262,144 samples each):

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Predict.** He (Kaiming) initialisation for a `Conv2d(64, 128, 3)` followed by a ReLU: which
# standard deviation do the weights get?

# %% [markdown] slideshow={"slide_type": "fragment"}
# **Answer.** $\sqrt{2 / \text{fan}_\text{in}} = \sqrt{2 / (64 \cdot 3 \cdot 3)} \approx 0.059$: the
# fan-in counts every input a filter sees, and the 2 makes up for the ReLU zeroing half of them.

# %% slideshow={"slide_type": "fragment"}
with torch.random.fork_rng():  # draw without changing the random numbers used later
    he_weights = nn.init.kaiming_normal_(torch.empty(128, 64, 3, 3), nonlinearity="relu")
helpers.check_close(he_weights.std(), math.sqrt(2 / (64 * 3 * 3)), "std of He init", rtol=0.02)
helpers.check_close(math.sqrt(2 / (64 * 3 * 3)), 0.059, "sqrt(2 / 576)", atol=5e-4)

# %% slideshow={"slide_type": "subslide"}
n_in, n_out = 512, 512
w = torch.empty(n_out, n_in)
nn.init.xavier_normal_(w)
helpers.check_close(w.std(), math.sqrt(2 / (n_in + n_out)), "Xavier std", rtol=0.01)
nn.init.kaiming_normal_(w, nonlinearity="relu")
helpers.check_close(w.std(), math.sqrt(2 / n_in), "He std", rtol=0.01)
w = nn.Linear(n_in, n_out).weight.detach()
helpers.check_close(w.std(), 1 / math.sqrt(3 * n_in), "PyTorch's default std", rtol=0.01)
helpers.check_true(
    bool(w.abs().max() <= 1 / math.sqrt(n_in)),
    "default weights lie in [-1/sqrt(n_in), 1/sqrt(n_in)]",
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# Now push a batch of standard-normal inputs through a stack of 20 linear layers (no
# training, no normalisation) and record the standard deviation of each layer's
# activations, for four initialisations and two nonlinearities.

# %% slideshow={"slide_type": "subslide"}
INITS = {
    "N(0, 0.01^2)": lambda w: nn.init.normal_(w, std=0.01),
    "PyTorch default": lambda w: None,
    "Xavier": lambda w: nn.init.xavier_normal_(w),
    "He": lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"),
}


def activation_stds(init, act, depth: int = 20, width: int = 256) -> list[float]:
    """Std of the activations after each of `depth` Linear+act layers, for one init."""
    torch.manual_seed(0)
    h = torch.randn(256, width)  # (256, 256)
    stds = []
    with torch.no_grad():
        for _ in range(depth):
            layer = nn.Linear(width, width)
            init(layer.weight)
            nn.init.zeros_(layer.bias)
            h = act(layer(h))  # (256, 256)
            stds.append(h.std().item())
    return stds


stats = {
    (a, i): activation_stds(f, act)
    for a, act in [("tanh", torch.tanh), ("ReLU", torch.relu)]
    for i, f in INITS.items()
}
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for ax, a in zip(axes, ["tanh", "ReLU"]):
    for i in INITS:
        ax.semilogy(range(1, 21), stats[(a, i)], marker=".", label=i)
    ax.set(
        title=f"Activation std through 20 layers ({a})",
        xlabel="layer",
        ylabel="std of activations (log)",
    )
    ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Self-check.** With ReLU, He initialisation keeps the scale (the last layer's std is
# within a factor 2 of the first), while a too-small init collapses the signal to almost
# nothing, and even PyTorch's default shrinks it by orders of magnitude over 20 layers. With
# tanh, Xavier keeps the signal alive where the small init kills it.

# %%
he = stats[("ReLU", "He")]
helpers.check_true(
    0.5 < he[-1] / he[0] < 2.0,
    "He init keeps ReLU activations at the same scale",
    f"ratio {he[-1] / he[0]:.3f}",
)
small = stats[("ReLU", "N(0, 0.01^2)")]
helpers.check_true(
    small[-1] < 1e-6 * small[0],
    "N(0, 0.01^2) init collapses ReLU activations",
    f"ratio {small[-1] / small[0]:.2e}",
)
default = stats[("ReLU", "PyTorch default")]
helpers.check_true(
    default[-1] < 1e-3 * default[0],
    "PyTorch's default shrinks a deep plain ReLU stack",
    f"ratio {default[-1] / default[0]:.2e}",
)
xav = stats[("tanh", "Xavier")]
helpers.check_true(
    xav[-1] > 0.1 and xav[-1] > 1e3 * stats[("tanh", "N(0, 0.01^2)")][-1],
    "Xavier keeps tanh activations alive",
    f"last std {xav[-1]:.3f}",
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# PyTorch's default is tuned for networks that contain normalisation layers or are not very
# deep; for a deep plain ReLU network, initialise with `nn.init.kaiming_normal_` through
# `model.apply(...)`. BatchNorm makes the network much less sensitive to all of this, because
# it re-normalises every layer's output whatever the scale of the weights.

# %% [markdown] slideshow={"slide_type": "slide"} tags=["lecture-optional"]
# ## 4. L2 regularisation and weight decay
#
# L2 regularisation adds a penalty on the size of every learnable parameter to the loss. With
# the factor $\tfrac{1}{2}$ that makes the gradient clean,
#
# $$\mathcal{L}_{\text{total}} = \mathcal{L} + \frac{\lambda}{2}\sum_i w_i^2, \qquad
#   \nabla_w \mathcal{L}_{\text{total}} = \nabla_w \mathcal{L} + \lambda w, \qquad
#   w \leftarrow w - \eta\left(\nabla_w\mathcal{L} + \lambda w\right)
#     = (1 - \eta\lambda)\,w - \eta\,\nabla_w\mathcal{L},$$
#
# so plain gradient descent *decays* each weight by the factor $(1-\eta\lambda)$ at every step
# ("weight decay"). `torch.optim.SGD(..., weight_decay=λ)` adds exactly $\lambda w$ to the
# gradient, which is the same thing without computing the penalty. (The slides write the
# penalty as $a\sum_i w_i^2$ without the $\tfrac12$; that equals `weight_decay` $= 2a$.)
#
# The self-check trains two copies of a small network on the same batches for 10 steps of
# SGD with momentum: one with the penalty in the loss, one with `weight_decay`. Every
# parameter must end up the same.


# %% slideshow={"slide_type": "notes"}
def tiny_mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 3))


def l2_penalty(model: nn.Module) -> torch.Tensor:
    return sum((p**2).sum() for p in model.parameters())


def train_steps(model: nn.Module, optimizer, lam_in_loss: float, steps: int = 10) -> nn.Module:
    gen = torch.Generator().manual_seed(1)
    for _ in range(steps):
        x, y = torch.randn(16, 20, generator=gen), torch.randint(0, 3, (16,), generator=gen)
        loss = F.cross_entropy(model(x), y) + lam_in_loss / 2 * l2_penalty(model)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model


lam, lr = 0.05, 0.1
a = tiny_mlp()
train_steps(a, torch.optim.SGD(a.parameters(), lr=lr, momentum=0.9), lam_in_loss=lam)
b = tiny_mlp()
train_steps(
    b, torch.optim.SGD(b.parameters(), lr=lr, momentum=0.9, weight_decay=lam), lam_in_loss=0.0
)
same = all(torch.allclose(p, q, atol=1e-6) for p, q in zip(a.parameters(), b.parameters()))
helpers.check_true(same, "SGD: L2 term in the loss == weight_decay in the optimiser")
moved = (a[0].weight - tiny_mlp()[0].weight).abs().max().item()
helpers.check_true(moved > 1e-2, "the weights actually changed during the 10 steps", f"{moved:.2e}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Adam: L2 in the loss is *not* weight decay; AdamW is
#
# Adam divides each gradient by a running estimate of its own size,
# $w \leftarrow w - \eta\,\hat m / (\sqrt{\hat v} + \epsilon)$. An L2 term in the loss (or
# `Adam(weight_decay=λ)`, which PyTorch implements the same way) goes through that division:
# weights with large gradients are decayed less, and the decay no longer shrinks a weight by a
# fixed fraction. AdamW (Loshchilov and Hutter, 2019) *decouples* the decay from the gradient
# step:
#
# $$w \leftarrow w - \eta\lambda\,w - \eta\,\frac{\hat m}{\sqrt{\hat v} + \epsilon}, \qquad
#   \hat m = \frac{m_t}{1-\beta_1^t},\ \hat v = \frac{v_t}{1-\beta_2^t},\
#   m_t = \beta_1 m_{t-1} + (1-\beta_1) g,\ v_t = \beta_2 v_{t-1} + (1-\beta_2) g^2 ,$$
#
# where $g$ is the gradient of the loss *without* any penalty. The first check: Adam with
# `weight_decay` equals Adam with the L2 term, but AdamW ends somewhere else.

# %% slideshow={"slide_type": "subslide"}
lam, lr = 0.05, 0.01
a = tiny_mlp()
train_steps(a, torch.optim.Adam(a.parameters(), lr=lr), lam_in_loss=lam)
b = tiny_mlp()
train_steps(b, torch.optim.Adam(b.parameters(), lr=lr, weight_decay=lam), lam_in_loss=0.0)
c = tiny_mlp()
train_steps(c, torch.optim.AdamW(c.parameters(), lr=lr, weight_decay=lam), lam_in_loss=0.0)
adam_l2_equal = all(torch.allclose(p, q, atol=1e-6) for p, q in zip(a.parameters(), b.parameters()))
adamw_gap = max((p - q).abs().max().item() for p, q in zip(a.parameters(), c.parameters()))
print(f"largest difference Adam+L2 vs AdamW after 10 steps: {adamw_gap:.2e}")
helpers.check_true(adam_l2_equal, "Adam(weight_decay) == Adam with the L2 term in the loss")
helpers.check_true(
    adamw_gap > 1e-3, "AdamW's decoupled decay gives different weights", f"{adamw_gap:.2e}"
)

# %% [markdown]
# The AdamW formula, written out by hand for the same 10 steps, equals `torch.optim.AdamW`:


# %% slideshow={"slide_type": "subslide"}
def adamw_by_hand(
    model: nn.Module, lr: float, lam: float, steps: int = 10, betas=(0.9, 0.999), eps: float = 1e-8
) -> nn.Module:
    params = list(model.parameters())
    m = [torch.zeros_like(p) for p in params]
    v = [torch.zeros_like(p) for p in params]
    gen = torch.Generator().manual_seed(1)
    for t in range(1, steps + 1):
        x, y = torch.randn(16, 20, generator=gen), torch.randint(0, 3, (16,), generator=gen)
        grads = torch.autograd.grad(F.cross_entropy(model(x), y), params)
        with torch.no_grad():
            for p, g, m_i, v_i in zip(params, grads, m, v):
                m_i.mul_(betas[0]).add_((1 - betas[0]) * g)
                v_i.mul_(betas[1]).add_((1 - betas[1]) * g**2)
                m_hat, v_hat = m_i / (1 - betas[0] ** t), v_i / (1 - betas[1] ** t)
                p.sub_(lr * lam * p + lr * m_hat / (v_hat.sqrt() + eps))
    return model


d = adamw_by_hand(tiny_mlp(), lr=lr, lam=lam)
for (name, p), q in zip(d.named_parameters(), c.parameters()):
    helpers.check_close(p, q, f"AdamW by hand vs torch.optim.AdamW ({name})", atol=1e-6)

# %% [markdown] slideshow={"slide_type": "subslide"}
# Why it matters: take a single weight whose loss gradient is zero, so only the decay acts on
# it. With AdamW it shrinks by the factor $(1-\eta\lambda)$ per step, so after 100 steps it is
# exactly $(1-\eta\lambda)^{100}$ and a 100 times larger $\lambda$ decays it about 100 times
# more. With Adam + L2, the decay gradient $\lambda w$ is
# divided by its own size $\sqrt{\hat v} \approx \lambda |w|$, so every step moves the weight
# by about $\eta$, *whatever* $\lambda$ is: the strength of the regulariser has stopped
# mattering.


# %% slideshow={"slide_type": "subslide"}
def decay_only(opt_class, lam: float, in_loss: bool, steps: int = 100, lr: float = 1e-3) -> float:
    """Final value of one weight (start 1.0) whose only gradient is the decay."""
    w = nn.Parameter(torch.tensor([1.0]))
    opt = opt_class([w], lr=lr, weight_decay=0.0 if in_loss else lam)
    for _ in range(steps):
        opt.zero_grad()
        (lam / 2 * (w**2).sum() if in_loss else 0.0 * w.sum()).backward()
        opt.step()
    return w.item()


rows = [
    (lam_, decay_only(torch.optim.Adam, lam_, True), decay_only(torch.optim.AdamW, lam_, False))
    for lam_ in (1e-3, 1e-1)
]
print("lambda  | Adam + L2: w after 100 steps | AdamW: w after 100 steps")
for lam_, w_adam, w_adamw in rows:
    print(f"{lam_:7.0e} | {w_adam:28.5f} | {w_adamw:.5f}")
(_, adam_small, adamw_small), (_, adam_big, adamw_big) = rows
helpers.check_close(adam_small, adam_big, "Adam + L2: final weight for both lambdas", atol=1e-3)
for lam_, _, w_adamw in rows:
    helpers.check_close(
        w_adamw, (1 - 1e-3 * lam_) ** 100, f"AdamW: w = (1 - lr*lambda)^100 for lambda={lam_:g}"
    )

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5. Experiments on CIFAR-10
#
# All experiments share one small CNN: three blocks of conv 3x3 -> normalisation -> ReLU ->
# 2x2 max-pool, then global average pooling, an optional dropout and one linear layer. The
# normalisation layer, its position and the dropout rate are switches. "LayerNorm" for a
# conv layer is `GroupNorm(1, C)`: statistics over (C, H, W) of each image; `GroupNorm(4, C)`
# uses 4 groups of channels. Neither looks at the other images of the batch.

# %% slideshow={"slide_type": "subslide"}
NORM_LAYERS = {
    "BatchNorm": lambda c: nn.BatchNorm2d(c),
    "GroupNorm": lambda c: nn.GroupNorm(4, c),
    "LayerNorm": lambda c: nn.GroupNorm(1, c),
    "none": lambda c: nn.Identity(),
}
WIDTH = helpers.pick(8, 32)  # channels of the first block


def small_cnn(norm: str = "BatchNorm", bn_first: bool = True, p_drop: float = 0.0) -> nn.Module:
    """3 x [conv3x3 -> norm -> ReLU -> maxpool] (or ReLU before norm), GAP, dropout, linear."""

    def block(c_in: int, c_out: int) -> nn.Sequential:
        conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=norm == "none")  # BN's beta is the bias
        middle = [NORM_LAYERS[norm](c_out), nn.ReLU()]
        return nn.Sequential(conv, *(middle if bn_first else middle[::-1]), nn.MaxPool2d(2))

    w = WIDTH
    return nn.Sequential(
        block(3, w),  # (N, w, 16, 16)
        block(w, 2 * w),  # (N, 2w, 8, 8)
        block(2 * w, 4 * w),  # (N, 4w, 4, 4)
        nn.AdaptiveAvgPool2d(1),  # (N, 4w, 1, 1)
        nn.Flatten(),  # (N, 4w)
        nn.Dropout(p_drop),
        nn.Linear(4 * w, 10),  # (N, 10)
    )


def cifar_loader(images, labels, batch_size: int, shuffle: bool = True, augment: bool = False):
    return helpers.DeviceLoader(
        images,
        labels,
        batch_size=batch_size,
        shuffle=shuffle,
        augment=augment,
        mean=helpers.CIFAR10_MEAN,
        std=helpers.CIFAR10_STD,
        device=device,
    )


def train_run(model: nn.Module, train_loader, epochs: int, lr: float) -> helpers.History | None:
    """SGD with momentum 0.9 through helpers.fit; None if the loss became NaN/inf."""
    helpers.seed_everything()
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    try:
        return helpers.fit(
            model,
            train_loader,
            test_loader,
            epochs=epochs,
            optimizer=opt,
            device=device,
            verbose=False,
            progress=False,
        )
    except helpers.TrainingError:
        return None


N_TRAIN = helpers.pick(600, 20000)  # training images for the BatchNorm experiments
EPOCHS = helpers.pick(3, 10)
N_VAL = helpers.pick(500, 10000)  # test images scored after every epoch
val_x, val_y = test_set.images[:N_VAL], test_set.labels[:N_VAL]
test_loader = cifar_loader(val_x, val_y, batch_size=500, shuffle=False)
print(f"{N_TRAIN} training images, {N_VAL} test images, {EPOCHS} epochs, width {WIDTH}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### 5.1 With and without BatchNorm: speed and the largest stable learning rate
#
# The same network with and without BatchNorm, trained with SGD (momentum 0.9) at three
# learning rates. The slides' claims: BatchNorm allows a larger learning rate and converges
# faster.

# %% slideshow={"slide_type": "subslide"}
LRS = [0.05, 0.2, 0.5]
SWEEP = [(norm, lr) for lr in LRS for norm in ["none", "BatchNorm"]]  # 6 runs
bn_train = cifar_loader(train_set.images[:N_TRAIN], train_set.labels[:N_TRAIN], batch_size=30)
sweep, models = {}, {}  # (norm, lr) -> training history, trained network

# %%
for norm, lr in SWEEP:
    helpers.seed_everything()
    models[(norm, lr)] = small_cnn(norm)
    sweep[(norm, lr)] = train_run(models[(norm, lr)], bn_train, EPOCHS, lr)


# %%
def final_train_loss(h: helpers.History | None) -> float:
    return math.inf if h is None else h.last["train_loss"]


print("lr    | final train loss: no norm | BatchNorm | test acc: no norm | BatchNorm")
for lr in LRS:
    h0, h1 = sweep[("none", lr)], sweep[("BatchNorm", lr)]
    acc = lambda h: "diverged" if h is None else f"{h.last['val_acc']:.1%}"
    print(
        f"{lr:<5} | {final_train_loss(h0):25.3f} | {final_train_loss(h1):9.3f} | {acc(h0):>17} | {acc(h1):>9}"
    )

# %% slideshow={"slide_type": "subslide"}
fig, axes = plt.subplots(1, len(LRS), figsize=(13, 3.6), sharey=True)
for ax, lr in zip(axes, LRS):
    for norm, style in [("none", "--"), ("BatchNorm", "-")]:
        h = sweep[(norm, lr)]
        if h is not None:
            ax.plot(h["epoch"], h["train_loss"], style, marker="o", label=norm)
    ax.axhline(math.log(10), color="gray", lw=0.8, label="chance: ln(10)")
    ax.set(title=f"SGD, lr = {lr}", xlabel="epoch", ylabel="training loss")
    ax.legend(fontsize=8)
fig.suptitle("Training loss with and without BatchNorm")
plt.tight_layout()
plt.show()

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Self-check.** At every learning rate the BatchNorm network reaches a lower training loss
# in the same number of steps. Call a run *stable* when its final training loss is finite and
# below the chance level $\ln 10 \approx 2.303$. At the largest learning rate the plain
# network does not blow up to NaN here; it does something just as useless: it stops learning,
# its loss stays at about $\ln 10$ (or above) and its test accuracy near chance. It also
# predicts one class for far more test images than the 10 % a class would get: the check asks
# for more than 30 %, and prints this run's share. The recorded full-size run below shows
# where this ends: one class for (almost) every image. The BatchNorm network still learns at
# that rate. (Had the loss become NaN, `train_run` would catch `helpers.TrainingError` and
# the table would say "diverged".) The exact numbers vary from machine to machine; these
# comparisons do not.

# %% slideshow={"slide_type": "subslide"}
for lr in LRS:
    bn_loss, plain_loss = (
        final_train_loss(sweep[("BatchNorm", lr)]),
        final_train_loss(sweep[("none", lr)]),
    )
    helpers.check_true(
        bn_loss < plain_loss,
        f"BatchNorm trains faster at lr={lr}",
        f"{bn_loss:.3f} vs {plain_loss:.3f}",
    )
stable = lambda norm, lr: final_train_loss(sweep[(norm, lr)]) < math.log(10)
largest = {
    norm: max([lr for lr in LRS if stable(norm, lr)], default=0.0) for norm in ["none", "BatchNorm"]
}
print("largest stable learning rate:", largest)
helpers.check_true(
    largest["BatchNorm"] > largest["none"],
    "BatchNorm tolerates a larger learning rate",
    str(largest),
)
top = LRS[-1]
plain_top, bn_top = sweep[("none", top)], sweep[("BatchNorm", top)]
plain_preds, _ = helpers.predict(models[("none", top)], test_loader, device=device)  # (N_VAL,)
same_class = plain_preds.bincount(minlength=10).max().item() / len(plain_preds)
print(f"lr={top}, no norm: {same_class:.0%} of the test images get the same predicted class")
if train_set.real:  # measured on real CIFAR-10; the generated stand-in behaves otherwise
    helpers.check_true(
        plain_top is None
        or (plain_top.last["train_loss"] > math.log(10) - 0.05 and plain_top.last["val_acc"] < 0.2),
        f"at lr={top} the plain network stays at chance (loss about ln 10, accuracy under 20%)",
        "diverged"
        if plain_top is None
        else f"loss {final_train_loss(plain_top):.3f}, accuracy {plain_top.last['val_acc']:.1%}",
    )
    helpers.check_true(
        plain_top is None or same_class > 0.3,
        f"at lr={top} the plain network predicts one class for over 30% of the images (fair: 10%)",
        f"{same_class:.0%} share of the most frequent class",
    )
    helpers.check_true(
        bn_top is not None and bn_top.last["train_loss"] < math.log(10) - 0.05,
        f"at lr={top} the BatchNorm network still learns",
        f"loss {final_train_loss(bn_top):.3f}",
    )

# %% [markdown] slideshow={"slide_type": "subslide"}
# **The same sweep at full size, recorded.** Fast mode trains a narrow network (width 8) on
# 600 images for 3 epochs. Full mode trains width 32 on 20,000 images for 10 epochs and scores
# all 10,000 test images: a few minutes per network on one CPU thread, too long for a lecture.
# It was recorded with `OMP_NUM_THREADS=1 python benchmarks/record_full_runs.py 05`, which runs
# this notebook's own cells in full mode and stores each of the six networks in
# `notebooks/results/05_*.json` with its device, torch version, date, commit and wall time.

# %%
RECORDED = {  # record name -> the (norm, lr) key that `sweep` uses
    f"{'batchnorm' if norm == 'BatchNorm' else 'plain'}_lr{lr}": (norm, lr) for norm, lr in SWEEP
}
recorded = helpers.load_recorded_runs("05", RECORDED)  # {(norm, lr): record}


def recorded_loss(key) -> float:
    """A record's final training loss; inf when it diverged (no final loss)."""
    final = recorded[key]["final"]
    return math.inf if final["diverged"] else final["train_loss"]


if len(recorded) == len(SWEEP):
    print("lr    | final train loss: no norm | BatchNorm | test acc: no norm | BatchNorm")
    for lr in LRS:
        acc = [recorded[(norm, lr)]["final"]["test_acc"] for norm in ("none", "BatchNorm")]
        acc = ["diverged" if a is None else f"{a:.1%}" for a in acc]
        print(f"{lr:<5} | {recorded_loss(('none', lr)):25.3f} | "
              f"{recorded_loss(('BatchNorm', lr)):9.3f} | {acc[0]:>17} | {acc[1]:>9}")  # fmt: skip

# %%
if len(recorded) == len(SWEEP):
    fig, axes = plt.subplots(1, len(LRS), figsize=(13, 3.6), sharey=True)
    for ax, lr in zip(axes, LRS):
        for norm, style in [("none", "--"), ("BatchNorm", "-")]:
            history = helpers.History(recorded[(norm, lr)]["history"])
            ax.plot(history["epoch"], history["train_loss"], style, marker="o", label=norm)
        ax.axhline(math.log(10), color="gray", lw=0.8, label="chance: ln(10)")
        ax.set(title=f"SGD, lr = {lr}", xlabel="epoch", ylabel="training loss")
        ax.legend(fontsize=8)
    any_record = next(iter(recorded.values()))
    fig.suptitle(f"Training loss with and without BatchNorm, {helpers.recorded_label(any_record)}")
    plt.tight_layout()
    plt.show()


# %%
def never_learns(key) -> bool:
    """True when a recorded run diverged or its training loss stayed at chance every epoch."""
    history = recorded[key]["history"]
    return not history or min(r["train_loss"] for r in history) >= math.log(10) - 0.05


def recorded_summary() -> str:
    """What the recorded sweep shows, in words, from its numbers."""
    config = next(iter(recorded.values()))["config"]
    faster = [lr for lr in LRS if recorded_loss(("BatchNorm", lr)) < recorded_loss(("none", lr))]
    where = "every learning rate" if faster == LRS else f"lr = {faster}"
    text = (
        f"After {config['epochs']} epochs on {config['train_images']:,} images, BatchNorm has "
        f"the lower training loss at {where}. "
    )
    full_largest = {
        norm: max([lr for lr in LRS if not never_learns((norm, lr))], default=0)
        for norm in ("none", "BatchNorm")
    }
    text += (
        f"The largest learning rate that still learns is {full_largest['none']} without "
        f"normalisation and {full_largest['BatchNorm']} with BatchNorm. "
    )
    stuck = [lr for lr in LRS if never_learns(("none", lr))]
    for lr in stuck:
        plain, bn = recorded[("none", lr)]["final"], recorded[("BatchNorm", lr)]["final"]
        text += (
            f"At lr = {lr} the plain network never leaves chance (final loss "
            f"{recorded_loss(('none', lr)):.3f}, test accuracy {plain['test_acc']:.1%}, "
            f"{plain['top_class_share']:.0%} of the test images in one class); with BatchNorm "
            f"the same rate reaches {bn['test_acc']:.1%}. "
        )
    bn_acc = {lr: recorded[("BatchNorm", lr)]["final"]["test_acc"] or 0.0 for lr in LRS}
    best = max(bn_acc, key=bn_acc.get)
    text += f"BatchNorm's best test accuracy, {bn_acc[best]:.1%}, comes at lr = {best}"
    text += ": tolerating a larger rate is not the same as needing one." if best < top else "."
    return text


if len(recorded) == len(SWEEP):
    display(Markdown(recorded_summary()))
    for lr in LRS:
        bn_loss, plain_loss = recorded_loss(("BatchNorm", lr)), recorded_loss(("none", lr))
        helpers.check_true(
            bn_loss < plain_loss,
            f"full size: BatchNorm ends with the lower training loss at lr={lr}",
            f"{bn_loss:.3f} vs {plain_loss:.3f}",
        )
    top_plain, top_bn = recorded[("none", top)]["final"], recorded[("BatchNorm", top)]["final"]
    helpers.check_true(
        never_learns(("none", top))
        and (top_plain["diverged"] or top_plain["top_class_share"] > 0.9),
        f"full size: at lr={top} the plain network stays at chance in every epoch and ends "
        "predicting one class for (almost) every test image",
        str(top_plain),
    )
    helpers.check_true(
        top_bn["test_acc"] is not None and top_bn["test_acc"] > 0.25,
        f"full size: at lr={top} the BatchNorm network learns (test accuracy above 25%)",
        str(top_bn),
    )


# %% [markdown] slideshow={"slide_type": "subslide"}
# ### 5.2 BatchNorm before or after the nonlinearity?
#
# The original paper puts BatchNorm between the convolution and the ReLU; some popular code
# (the slides quote a VGG-16 implementation) puts it after the ReLU. There is no consensus,
# so measure: the same network both ways, same data, same learning rate.
# *Illustrative:* in short runs like this one the two are usually close, and which one wins
# changes with the seed.

# %% slideshow={"slide_type": "subslide"}
ORDER_LR = LRS[0]
after_model = small_cnn("BatchNorm", bn_first=False)
order_runs = {
    "conv -> BN -> ReLU": sweep[("BatchNorm", ORDER_LR)],  # already trained in 5.1
    "conv -> ReLU -> BN": train_run(after_model, bn_train, EPOCHS, ORDER_LR),
}
fig = helpers.plot_histories(
    order_runs, metric="train_loss", title="BatchNorm before vs after the ReLU"
)
for name, h in order_runs.items():
    print(
        f"{name}: final train loss {h.last['train_loss']:.3f}, test accuracy {h.last['val_acc']:.1%}"
    )

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Self-check** (robust part only): both orders train, i.e. both end clearly below the chance
# loss $\ln 10 \approx 2.303$.

# %%
for name, h in order_runs.items():
    helpers.check_true(
        h is not None and h.last["train_loss"] < math.log(10) - 0.15,
        f"{name} trains",
        "diverged" if h is None else f"final loss {h.last['train_loss']:.3f}",
    )

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### 5.3 The forgotten `model.eval()`
#
# In training mode BatchNorm normalises with the statistics of the *current batch*; in eval
# mode with the running averages. Forgetting `model.eval()` before testing therefore makes
# every prediction depend on which other images happen to share its batch, and it silently
# moves the stored running statistics towards the test set's (every test batch updates them,
# with momentum 0.1). (`helpers.evaluate` and `helpers.fit` switch to eval mode for you; a
# hand-written loop must do it itself, which is why this loop is written out.)


# %% slideshow={"slide_type": "subslide"}
@torch.no_grad()
def test_predictions(model: nn.Module, batch_size: int, train_mode: bool) -> torch.Tensor:
    """Predicted classes (N_VAL,) for the N_VAL test images, with the model in train or eval mode."""
    model.train(train_mode)
    loader = cifar_loader(val_x, val_y, batch_size, shuffle=False)
    preds = torch.cat([model(x).argmax(dim=1).cpu() for x, _ in loader])
    model.eval()
    return preds


def test_accuracy(model: nn.Module, batch_size: int, train_mode: bool) -> float:
    return (test_predictions(model, batch_size, train_mode) == val_y).float().mean().item()


trained = models[("BatchNorm", ORDER_LR)]  # the BatchNorm net from 5.1
pred_eval = test_predictions(trained, 500, train_mode=False)  # (N_VAL,)
acc_eval = (pred_eval == val_y).float().mean().item()
BATCH_SIZES = [1, 2, 8, 32, 500]
acc_train_mode, changed = {}, {}
for bs in BATCH_SIZES:
    forgetful = copy.deepcopy(trained)  # a copy: train mode changes the running statistics
    pred = test_predictions(forgetful, bs, train_mode=True)
    acc_train_mode[bs] = (pred == val_y).float().mean().item()
    changed[bs] = (pred != pred_eval).float().mean().item()
    print(
        f"batch size {bs:>3}: eval mode {acc_eval:.1%} | train mode (forgot eval) "
        f"{acc_train_mode[bs]:.1%} | predictions changed {changed[bs]:.1%}"
    )
stats_moved = (forgetful[0][1].running_mean - trained[0][1].running_mean).abs().max().item()
print(f"largest change of a running mean caused by 'testing' in train mode: {stats_moved:.3f}")

# %% slideshow={"slide_type": "subslide"}
fig, ax = plt.subplots(figsize=(6, 3.8))
ax.semilogx(
    BATCH_SIZES,
    [acc_train_mode[b] for b in BATCH_SIZES],
    marker="o",
    label="train mode (forgot eval)",
)
ax.axhline(acc_eval, color="C1", ls="--", label="eval mode (any batch size)")
ax.axhline(0.1, color="gray", lw=0.8, label="chance")
ax.set(
    title="Test accuracy of the same BatchNorm network",
    xlabel="test batch size",
    ylabel="test accuracy",
)
ax.legend(fontsize=8)
plt.show()

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Self-check.** With tiny test batches, forgetting `model.eval()` changes many predictions
# and costs accuracy (with batches of 1, each image is normalised by its own statistics), and
# in any case it changes the stored running statistics. In eval mode the prediction for an
# image does not depend on its batch; in train mode it does. *Illustrative:* the exact
# accuracies, and whether large train-mode batches are a little better or worse.

# %% slideshow={"slide_type": "notes"}
helpers.check_true(
    changed[1] > 0.1 and changed[2] > 0.1,
    "train mode with batches of 1-2 changes more than 10% of the predictions",
    f"{changed[1]:.1%} and {changed[2]:.1%}",
)
helpers.check_true(
    min(acc_train_mode[1], acc_train_mode[2]) < acc_eval,
    "train mode with tiny batches loses accuracy",
    f"{acc_train_mode[1]:.1%} / {acc_train_mode[2]:.1%} vs {acc_eval:.1%} in eval mode",
)
helpers.check_true(
    stats_moved > 1e-3,
    "testing in train mode changed the running statistics",
    f"{stats_moved:.2e}",
)
x_batch = next(iter(test_loader))[0][:16]  # (16, 3, 32, 32)
trained.eval()
with torch.no_grad():
    # (loose tolerance: on a GPU, batch sizes 1 and 16 may use different TF32 conv algorithms)
    helpers.check_close(
        trained(x_batch[:1]),
        trained(x_batch)[:1],
        "eval mode: one image alone == inside a batch",
        rtol=1e-3,
        atol=2e-3,
    )
    forgetful = copy.deepcopy(trained).train()
    alone, in_batch = forgetful(x_batch[:1]), forgetful(x_batch)[:1]
helpers.check_true(
    not torch.allclose(alone, in_batch, atol=1e-2), "train mode: the output depends on the batch"
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### 5.4 Dropout and data augmentation on a small training set
#
# With few training images a network fits them better than it fits new images: its training
# accuracy runs ahead of its test accuracy, and the difference is the *generalisation gap*.
# Dropout (here before the final layer, `p = 0.5`) and data augmentation (random crops of the
# 4-pixel padded image plus horizontal flips, done on the device by
# `helpers.DeviceLoader(augment=True)`, only for training!) both make the training images
# harder to fit. The gap is measured properly: both accuracies in eval mode, the training
# accuracy on the *un-augmented* training images.

# %% slideshow={"slide_type": "subslide"}
N_SMALL, EPOCHS_SMALL = helpers.pick(250, 2000), helpers.pick(10, 40)
small_x, small_y = train_set.images[:N_SMALL], train_set.labels[:N_SMALL]
clean_train = cifar_loader(small_x, small_y, batch_size=500, shuffle=False)
REG_RUNS = {
    "no regulariser": (0.0, False),
    "dropout 0.5": (0.5, False),
    "augmentation": (0.0, True),
}
reg_hist, gaps = {}, {}
for name, (p_drop, augment) in REG_RUNS.items():
    helpers.seed_everything()
    model = small_cnn("BatchNorm", p_drop=p_drop)
    loader = cifar_loader(small_x, small_y, batch_size=50, augment=augment)
    reg_hist[name] = train_run(model, loader, EPOCHS_SMALL, lr=0.05)
    train_acc = helpers.evaluate(model, clean_train, device=device)["acc"]
    gaps[name] = (train_acc, reg_hist[name].last["val_acc"])
    print(
        f"{name:15}: train acc {train_acc:.1%} | test acc {gaps[name][1]:.1%} | gap {train_acc - gaps[name][1]:+.1%}"
    )

# %% slideshow={"slide_type": "subslide"}
fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
for name, h in reg_hist.items():
    axes[0].plot(h["epoch"], h["train_loss"], marker="o", label=name)
    axes[1].plot(h["epoch"], h["val_acc"], marker="o", label=name)
axes[0].set(
    title=f"Training loss, {N_SMALL} training images", xlabel="epoch", ylabel="training loss"
)
axes[1].set(title="Test accuracy", xlabel="epoch", ylabel="test accuracy")
for ax in axes:
    ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Self-check.** Without a regulariser the network fits its training images clearly better
# than unseen test images (a positive gap). Both regularisers make the training images harder
# to fit: a higher training loss and, on real CIFAR-10, a lower training accuracy. On real
# CIFAR-10 the gap also shrinks with dropout (checked for dropout alone). *Not checked:*
# whether augmentation shrinks the gap (for some seeds it does not, in runs this short), and
# whether either regulariser raises the *test* accuracy. The text under the check says what
# this run shows.

# %%
REGULARISERS = ["dropout 0.5", "augmentation"]
plain_train, plain_test = gaps["no regulariser"]
plain_gap = plain_train - plain_test
helpers.check_true(
    plain_gap > 0.03,
    "without a regulariser the training images are fitted better",
    f"gap {plain_gap:+.1%}",
)
for name in REGULARISERS:
    loss, plain_loss = (
        reg_hist[name].last["train_loss"],
        reg_hist["no regulariser"].last["train_loss"],
    )
    helpers.check_true(
        loss > plain_loss,
        f"{name} makes the training data harder to fit",
        f"{loss:.3f} vs {plain_loss:.3f}",
    )
if train_set.real:  # measured on real CIFAR-10; the generated stand-in behaves otherwise
    for name in REGULARISERS:
        helpers.check_true(
            gaps[name][0] < plain_train - 0.02,
            f"{name} lowers the training accuracy",
            f"{gaps[name][0]:.1%} vs {plain_train:.1%} without",
        )
    dropout_gap = gaps["dropout 0.5"][0] - gaps["dropout 0.5"][1]
    helpers.check_true(
        dropout_gap < plain_gap - 0.02,
        "dropout shrinks the train/test gap",
        f"{dropout_gap:+.1%} vs {plain_gap:+.1%} without",
    )


def regulariser_summary() -> str:
    """What this run of section 5.4 shows, in words, from its numbers."""
    text = (
        f"This run ({N_SMALL} training images, {EPOCHS_SMALL} epochs), without a regulariser: "
        f"training accuracy {plain_train:.1%}, test accuracy {plain_test:.1%}, gap "
        f"{plain_gap:+.1%}"
    )
    text += " (far from memorising the training images). " if plain_train < 0.9 else ". "
    for name in REGULARISERS:
        train_acc, test_acc = gaps[name]
        text += (
            f"With {name}: training accuracy {train_acc:.1%} "
            f"({100 * (train_acc - plain_train):+.1f} points), test accuracy {test_acc:.1%} "
            f"({100 * (test_acc - plain_test):+.1f} points), gap {train_acc - test_acc:+.1%}. "
        )
    lower = [name for name in REGULARISERS if gaps[name][1] < plain_test]
    higher = [name for name in REGULARISERS if gaps[name][1] > plain_test]
    if lower:
        verb = "lowers" if len(lower) == 1 else "both lower"
        text += (
            f"{' and '.join(lower).capitalize()} {verb} the test accuracy here: where the gap "
            "shrinks, that only means the training accuracy fell more than the test accuracy. "
        )
    if higher:
        verb = "raises" if len(higher) == 1 else "both raise"
        text += f"{' and '.join(higher).capitalize()} {verb} the test accuracy here. "
    return text + (
        "A gain on new images, the reason to use a regulariser, is not shown reliably at this "
        "size, so it is not checked."
    )


display(Markdown(regulariser_summary()))


# %% [markdown] slideshow={"slide_type": "subslide"}
# ### 5.5 Tiny batches: BatchNorm vs GroupNorm and LayerNorm
#
# BatchNorm's statistics are estimated from the batch, so their noise grows as the batch
# shrinks (detection and segmentation models on a GPU often fit only 1-2 images per batch).
# GroupNorm (Wu and He, 2018) and LayerNorm (Ba et al., 2016) normalise each image on its own,
# so they behave the same for any batch size, in training and at test time. First the noise,
# measured: the mean of channel 0 of the input images, estimated from batches of 2 and of 64.

# %% slideshow={"slide_type": "subslide"}
x_all = next(
    iter(cifar_loader(train_set.images[:2048], train_set.labels[:2048], 2048, shuffle=False))
)[0]
channel0 = x_all[:, 0]  # (2048, 32, 32)
batch_means = {
    bs: channel0.reshape(-1, bs, 32, 32).mean(dim=(1, 2, 3)) for bs in (2, 64)
}  # (2048 / bs,)
noise = {bs: m.std().item() for bs, m in batch_means.items()}
print(f"spread (std) of the batch mean: batch 2 -> {noise[2]:.3f}, batch 64 -> {noise[64]:.3f}")
helpers.check_true(
    noise[2] > 3 * noise[64], "batch statistics from 2 images are much noisier than from 64"
)

gn = nn.GroupNorm(4, 8)
h = torch.randn(6, 8, 5, 5)  # (6, 8, 5, 5)
helpers.check_close(
    gn(h[:1]), gn(h)[:1], "GroupNorm: an image's output does not depend on its batch", atol=1e-6
)
ln_by_hand = (h - h.mean(dim=(1, 2, 3), keepdim=True)) / torch.sqrt(
    h.var(dim=(1, 2, 3), correction=0, keepdim=True) + 1e-5
)
helpers.check_close(
    nn.GroupNorm(1, 8)(h), ln_by_hand, "GroupNorm(1, C) == LayerNorm over (C, H, W)", atol=1e-5
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# Now train the same network with the three normalisations on batches of a single image, the
# extreme case (Adam, learning rate 0.001, one weight update per image and epoch; the numbers
# of images and epochs are printed under the results). With one image, BatchNorm's "batch
# statistics" are that image's own per-channel statistics in training (very noisy estimates
# of the data's statistics), but the running averages at test time, so training and testing
# also normalise differently. For BatchNorm the test accuracy is shown twice: in eval mode
# (running averages) and in train mode on test batches of 500 (fresh statistics of a large
# batch). GroupNorm and LayerNorm compute the same thing in training and at test time.

# %% slideshow={"slide_type": "subslide"}
N_TINY, EPOCHS_TINY = helpers.pick(600, 10000), helpers.pick(1, 3)
tiny_train = cifar_loader(train_set.images[:N_TINY], train_set.labels[:N_TINY], batch_size=1)
tiny_acc = {}
for norm in ["BatchNorm", "GroupNorm", "LayerNorm"]:
    helpers.seed_everything()
    model = small_cnn(norm)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    helpers.fit(
        model,
        tiny_train,
        epochs=EPOCHS_TINY,
        optimizer=opt,
        device=device,
        verbose=False,
        progress=False,
    )
    tiny_acc[norm] = test_accuracy(model, 500, train_mode=False)
    if norm == "BatchNorm":
        tiny_acc["BatchNorm (batch stats)"] = test_accuracy(
            copy.deepcopy(model), 500, train_mode=True
        )

fig, ax = plt.subplots(figsize=(7, 3.5))
ax.bar(list(tiny_acc), list(tiny_acc.values()), color=["C0", "C0", "C1", "C2"][: len(tiny_acc)])
ax.axhline(0.1, color="gray", lw=0.8, label="chance")
ax.set(
    title=f"Test accuracy after training with batches of 1 ({N_TINY} images)",
    xlabel="normalisation",
    ylabel="test accuracy",
)
ax.legend(fontsize=8)
plt.show()
print({k: f"{v:.1%}" for k, v in tiny_acc.items()})
print(f"{N_TINY} training images, {EPOCHS_TINY} epoch(s) with batches of 1: "
      f"{N_TINY * EPOCHS_TINY:,} weight updates per network")  # fmt: skip

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Self-check.** With batches of one image, GroupNorm ends clearly ahead of BatchNorm,
# whichever statistics BatchNorm uses at test time. *Illustrative:* the exact accuracies, and
# LayerNorm: it is usually ahead of BatchNorm too, but in a run this short not for every seed.

# %%
bn_best = max(tiny_acc["BatchNorm"], tiny_acc["BatchNorm (batch stats)"])
if train_set.real:  # measured on real CIFAR-10
    helpers.check_true(
        tiny_acc["GroupNorm"] > bn_best + 0.03,
        "GroupNorm beats BatchNorm when training with batches of 1",
        f"{tiny_acc['GroupNorm']:.1%} vs BatchNorm's best {bn_best:.1%}",
    )

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
#
# Each exercise has a task, a cell for your answer (replace `None`) and a check cell that prints
# "Right!", "Not right yet" with a hint, or "Not attempted yet"; the check never stops the
# notebook. In the lecture version of this notebook the answer cells hold a worked solution,
# marked as such; in the exercise version they are yours.
#
# **Exercise 1 (BatchNorm1d; code).** After a `Linear` layer the activations are `(N, F)`.
# Write a class `BatchNorm1dScratch(num_features)` like `BatchNorm2dScratch`, with statistics
# over the batch dimension only. The check runs it beside `nn.BatchNorm1d` for three training
# steps (outputs and running statistics) and then in eval mode. (Why does `nn.BatchNorm1d`
# refuse a training batch of a single sample? Think about $m - 1$.)

# %% nbgrader={"grade": false, "grade_id": "ex1_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 1: your answer (a class)
BatchNorm1dScratch = None
### BEGIN SOLUTION


class BatchNorm1dScratch(nn.Module):
    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (N, F)
        if self.training:
            mean, var, m = x.mean(dim=0), x.var(dim=0, correction=0), x.shape[0]
            with torch.no_grad():
                self.running_mean.lerp_(mean, self.momentum)  # (1 - 0.1) * old + 0.1 * new
                self.running_var.lerp_(var * m / (m - 1), self.momentum)  # m = 1: divide by 0
        else:
            mean, var = self.running_mean, self.running_var
        return self.weight * (x - mean) / torch.sqrt(var + self.eps) + self.bias


### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex1_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
def behaves_like_batchnorm1d(cls) -> bool:
    ours, ref = cls(5), nn.BatchNorm1d(5)
    gen = torch.Generator().manual_seed(0)
    for step in range(3):
        x = 2 * torch.randn(10, 5, generator=gen) + step  # (10, 5)
        if not torch.allclose(ours(x), ref(x), atol=1e-5):
            return False
    same_stats = torch.allclose(ours.running_mean, ref.running_mean, atol=1e-6)
    same_stats &= torch.allclose(ours.running_var, ref.running_var, atol=1e-6)
    ours.eval(), ref.eval()
    return bool(same_stats) and torch.allclose(ours(x), ref(x), atol=1e-5)


ok_1 = helpers.verdict(
    BatchNorm1dScratch,
    behaves_like_batchnorm1d,
    "reduce over dim 0 only; normalise with the biased variance, store the unbiased one, and "
    "use the running statistics in eval mode.",
)
### BEGIN HIDDEN TESTS
assert ok_1, "exercise 1 is not right"
### END HIDDEN TESTS

# %% [markdown]
# **Exercise 2 (He-uniform initialisation; a number).** A uniform distribution on $[-b, b]$ has
# standard deviation $b/\sqrt{3}$. Which bound $b$ gives He's $\sigma_w = \sqrt{2/n_{in}}$ for a
# layer with $n_{in} = 512$ inputs? The check draws a `(256, 512)` weight from $U(-b, b)$ and
# from `nn.init.kaiming_uniform_(w, nonlinearity="relu")` with the same seed and compares them.

# %% nbgrader={"grade": false, "grade_id": "ex2_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 2: your answer (a float)
he_bound = None
### BEGIN SOLUTION
he_bound = math.sqrt(3) * math.sqrt(2 / 512)  # = sqrt(6 / n_in), about 0.108
### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex2_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
def same_as_kaiming_uniform(b: float) -> bool:
    torch.manual_seed(0)
    w_yours = torch.empty(256, 512).uniform_(-float(b), float(b))
    torch.manual_seed(0)
    w_torch = nn.init.kaiming_uniform_(torch.empty(256, 512), nonlinearity="relu")
    return torch.allclose(w_yours, w_torch, atol=1e-5)


ok_2 = helpers.verdict(
    he_bound,
    same_as_kaiming_uniform,
    "set b / sqrt(3) equal to sqrt(2 / n_in) and solve for b.",
)
### BEGIN HIDDEN TESTS
assert ok_2, "exercise 2 is not right"
### END HIDDEN TESTS

# %% [markdown]
# **Exercise 3 (no decay for biases and BatchNorm; code).** It is common to decay only the
# weights of conv and linear layers, not biases or BatchNorm's $\gamma$ and $\beta$. Write
# `decay_groups(model, lam)`, which returns the parameter groups for an optimiser:
# `weight_decay=lam` for parameters with more than one dimension, `0` for the rest. The check
# trains `tiny_mlp()` for 10 steps of `train_steps` with
# `torch.optim.SGD(decay_groups(model, 0.05), lr=0.1, momentum=0.9)` and compares it with an L2
# term in the loss over the weights only.

# %% nbgrader={"grade": false, "grade_id": "ex3_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 3: your answer (a function returning a list of parameter-group dicts)
decay_groups = None
### BEGIN SOLUTION


def decay_groups(model: nn.Module, lam: float) -> list[dict]:
    return [
        {"params": [p for p in model.parameters() if p.dim() > 1], "weight_decay": lam},
        {"params": [p for p in model.parameters() if p.dim() <= 1], "weight_decay": 0.0},
    ]


### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex3_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
def decays_weights_only(fn) -> bool:
    ex_lam = 0.05
    reference = tiny_mlp()  # L2 on the weights only, written into the loss
    ref_opt = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    gen = torch.Generator().manual_seed(1)  # the batches train_steps draws
    for _ in range(10):
        x, y = torch.randn(16, 20, generator=gen), torch.randint(0, 3, (16,), generator=gen)
        weights = [p for p in reference.parameters() if p.dim() > 1]
        loss = F.cross_entropy(reference(x), y) + ex_lam / 2 * sum((p**2).sum() for p in weights)
        ref_opt.zero_grad()
        loss.backward()
        ref_opt.step()
    yours = tiny_mlp()
    train_steps(yours, torch.optim.SGD(fn(yours, ex_lam), lr=0.1, momentum=0.9), lam_in_loss=0.0)
    pairs = zip(reference.parameters(), yours.parameters(), strict=True)
    return all(torch.allclose(p, q, atol=1e-6) for p, q in pairs)


ok_3 = helpers.verdict(
    decay_groups,
    decays_weights_only,
    "an optimiser accepts a list of dicts, each with its own 'params' and 'weight_decay'; "
    "p.dim() tells a weight matrix from a bias vector.",
)
### BEGIN HIDDEN TESTS
assert ok_3, "exercise 3 is not right"
### END HIDDEN TESTS

# %% [markdown]
# **Exercise 4 (running statistics lag behind; a prediction).** A fresh `nn.BatchNorm2d(3)`
# (running mean 0, momentum 0.1) sees 10 training batches in which every channel has mean 5.
# Predict the average of its `running_mean` afterwards, to within 0.15. A model put in eval
# mode after only a few steps normalises with this estimate.

# %% nbgrader={"grade": false, "grade_id": "ex4_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 4: your prediction (a float)
running_mean_after_10 = None
### BEGIN SOLUTION
# Each step keeps 0.9 of the old estimate: after t steps the mean is 5 (1 - 0.9**t), far from 5.
running_mean_after_10 = 5 * (1 - 0.9**10)  # about 3.26
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex4_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
lagging_bn = nn.BatchNorm2d(3)
bn_gen = torch.Generator().manual_seed(0)
for _ in range(10):
    lagging_bn(5.0 + 2.0 * torch.randn(16, 3, 8, 8, generator=bn_gen))  # channel means near 5
measured_running_mean = lagging_bn.running_mean.mean().item()
ok_4 = helpers.verdict(
    running_mean_after_10,
    lambda a: abs(float(a) - measured_running_mean) <= 0.15,
    "new estimate = 0.9 * old estimate + 0.1 * batch mean, starting from 0; apply it 10 times.",
)
### BEGIN HIDDEN TESTS
assert ok_4, "exercise 4 is not right"
### END HIDDEN TESTS

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
#
# - **BatchNorm2d** normalises each channel with the mean and biased variance over
#   $(N, H, W)$ of the batch, then scales and shifts with learned $\gamma$, $\beta$ (one per
#   channel: 192 each for `BatchNorm2d(192)`). It keeps running averages (momentum 0.1,
#   unbiased variance) for eval mode. It let our small network train faster and at a
#   learning rate where the plain network failed.
# - **Train vs eval mode matters**: in train mode BatchNorm uses batch statistics (and updates
#   its running averages), dropout drops. Forgetting `model.eval()` made test predictions
#   depend on the test batch and cost accuracy with small batches.
# - With **tiny batches**, batch statistics are noisy; GroupNorm / LayerNorm normalise each
#   image alone and do not care about the batch size. Trained with batches of one image, our
#   network learned with GroupNorm but not with BatchNorm.
# - **Inverted dropout** scales by $1/(1-p)$ in training and is the identity at test time.
#   After convolutions, neighbouring pixels carry the same information, so `Dropout2d`
#   drops whole feature maps instead.
# - **Initialisation**: keep $\text{Var}(w) \approx 1/n_{in}$ (Xavier, tanh) or $2/n_{in}$
#   (He, ReLU); too small a scale makes a deep plain network's activations vanish.
# - **Weight decay**: for SGD, `weight_decay=λ` equals the loss term $\frac{\lambda}{2}\sum w^2$.
#   For Adam it does not behave like decay; use **AdamW**, which shrinks the weights by
#   $(1-\eta\lambda)$ separately from the gradient step.
# - Dropout and data augmentation both made a small training set harder to fit (a lower
#   training accuracy), and dropout shrank the gap between training and test accuracy. A gain
#   in test accuracy is not something our short runs show.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Further reading
#
# - S. Ioffe, C. Szegedy. *Batch Normalization: Accelerating Deep Network Training by Reducing
#   Internal Covariate Shift.* ICML 2015. arXiv:1502.03167.
# - N. Srivastava et al. *Dropout: A Simple Way to Prevent Neural Networks from Overfitting.*
#   JMLR 15, 2014.
# - J. Tompson, R. Goroshin, A. Jain, Y. LeCun, C. Bregler. *Efficient Object Localization
#   Using Convolutional Networks.* CVPR 2015 (spatial dropout).
# - X. Glorot, Y. Bengio. *Understanding the difficulty of training deep feedforward neural
#   networks.* AISTATS 2010.
# - K. He, X. Zhang, S. Ren, J. Sun. *Delving Deep into Rectifiers.* ICCV 2015 (He init).
# - Y. Wu, K. He. *Group Normalization.* ECCV 2018. J. L. Ba, J. R. Kiros, G. E. Hinton.
#   *Layer Normalization.* arXiv:1607.06450, 2016.
# - I. Loshchilov, F. Hutter. *Decoupled Weight Decay Regularization.* ICLR 2019 (AdamW).
# - S. Santurkar et al. *How Does Batch Normalization Help Optimization?* NeurIPS 2018.
# - PyTorch docs: `torch.nn.BatchNorm2d`, `torch.nn.Dropout2d`, `torch.nn.GroupNorm`,
#   `torch.nn.init`, `torch.optim.AdamW`.
