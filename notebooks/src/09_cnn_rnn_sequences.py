# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown] slideshow={"slide_type": "slide"}
# # 09 CNN + RNN: reading a sequence from an image
#
# The lecture sorts sequence tasks by what goes in and what comes out: *many-to-one*
# (a sentence in, a label out: notebook 07), *one-to-many* (an image in, a sentence out:
# **image captioning**) and *many-to-many* (a video in, a caption out; a sentence in, its
# translation out). This capstone builds a one-to-many model from the two halves of the
# course: a CNN reads the picture, a recurrent network writes the answer one token at a time
# and says when it is done. Real captions need big photo collections, so we make a task that
# is small enough for a laptop but has the same shape: strips of one to five real handwritten
# MNIST digits side by side, and the "caption" is the digit string, such as `7 2 9 <end>`.
# The decoder first reads the whole strip as one vector; then, with **attention**, it learns to
# look at one place of the strip for each digit it writes, and we can draw where it looks.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Learning goals
#
# - Turn a CNN's feature map into a sequence of column features, and know how far each column
#   sees (its receptive field).
# - Build a GRU decoder with `<start>` and `<end>` tokens, train it with teacher forcing, and
#   explain why padded targets need a mask in the loss.
# - Decode greedily and with beam search (written out), and check beam search against greedy
#   decoding and against an exhaustive search.
# - Write additive (Bahdanau) attention from its equations and show, with a figure and a
#   check, where the decoder looks for each digit it writes.
# - Measure per-digit and whole-sequence accuracy with and without attention.
# - Say why this model is an image captioner with digits for words.
#
# ## You should already know
#
# - Conv-BN-ReLU blocks, pooling and receptive fields (notebooks 03 and 04).
# - The GRU cell, embeddings and the cross-entropy over a sequence of outputs (notebook 07).
# - A training loop: forward pass, loss, `backward()`, gradient clipping, optimizer step.

# %% slideshow={"slide_type": "skip"}
# Set-up: on Google Colab this first installs the course; everywhere it prints the settings.
import sys

if "google.colab" in sys.modules:
    import subprocess

    COURSE = "cnn-rnn-course[colab] @ git+https://github.com/cnn-rnn-course/cnn-rnn-course"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", COURSE], check=True)

import helpers

helpers.print_banner()

# %% slideshow={"slide_type": "subslide"}
from collections import Counter
from typing import NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from IPython.display import Markdown, display
from torch import nn

helpers.seed_everything()
device = helpers.best_device()
SEED, fast = helpers.get_settings().seed, helpers.get_settings().fast

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1. The task: strips of real handwritten digits
#
# Each strip is 28 pixels high and `WIDTH` pixels wide. It holds one to five MNIST digits
# (28x28 each) in a row, with random gaps between them, and is padded with black to the fixed
# width, so that strips of every length fit in one batch tensor. Training strips are made
# only from MNIST's training digits, test strips only from its test digits, so every test
# strip shows handwriting the model has never seen. We keep, for every strip, where each
# digit starts (`lefts`) and which MNIST image it came from (`sources`): the first lets us
# check later where the decoder looks, the second that the test strips use test digits only.

# %%
train_digits = helpers.load_mnist("train")  # uint8 (N, 1, 28, 28); fast mode: 5,000
test_digits = helpers.load_mnist("test")  # fast mode: 1,000
real = train_digits.real and test_digits.real  # False: generated stand-ins (no data folder)

MAX_DIGITS, DIGIT, WIDTH = 5, 28, 160  # a strip: (1, 28, 160), room for 5 digits and gaps
END, START, PAD = 10, 11, 12  # token ids after the digits 0-9
TOKENS = [str(d) for d in range(10)] + ["<end>", "<start>", "<pad>"]


class Strips(NamedTuple):
    images: torch.Tensor  # (n, 1, 28, WIDTH) uint8
    targets: torch.Tensor  # (n, MAX_DIGITS + 1): the digits, <end>, then <pad>
    lengths: torch.Tensor  # (n,) number of digits, 1 to MAX_DIGITS
    lefts: torch.Tensor  # (n, MAX_DIGITS) first pixel column of each digit, -1 if none
    sources: torch.Tensor  # (n, MAX_DIGITS) index of each digit in its MNIST split, -1 if none


# %% slideshow={"slide_type": "subslide"}
def make_strips(digits: helpers.ImageSet, n: int, seed: int) -> Strips:
    """n strips of 1 to MAX_DIGITS digits drawn from `digits`, with random gaps."""
    g = torch.Generator().manual_seed(seed)
    images = torch.zeros(n, 1, DIGIT, WIDTH, dtype=torch.uint8)
    targets = torch.full((n, MAX_DIGITS + 1), PAD)
    lefts = torch.full((n, MAX_DIGITS), -1)
    sources = torch.full((n, MAX_DIGITS), -1)
    lengths = torch.randint(1, MAX_DIGITS + 1, (n,), generator=g)
    for i, k in enumerate(lengths.tolist()):
        picked = torch.randint(0, len(digits), (k,), generator=g)
        share = torch.rand(k + 1, generator=g)  # how the free width splits into k + 1 gaps
        gaps = ((WIDTH - k * DIGIT) * share / share.sum()).long()
        x = int(gaps[0])
        for j in range(k):
            images[i, :, :, x : x + DIGIT] = digits.images[picked[j]]
            lefts[i, j], sources[i, j] = x, picked[j]
            x += DIGIT + int(gaps[j + 1])
        targets[i, :k] = digits.labels[picked]
        targets[i, k] = END
    return Strips(images, targets, lengths, lefts, sources)


n_train, n_test = helpers.pick(3000, 60_000), helpers.pick(1000, 10_000)
train_strips = make_strips(train_digits, n_train, seed=1000 * SEED + 1)
test_strips = make_strips(test_digits, n_test, seed=1000 * SEED + 2)
print(
    f"{n_train} training strips, {n_test} test strips of shape {tuple(test_strips.images.shape[1:])}"
)


def as_text(tokens) -> str:
    """Token ids -> '3 1 4 <end>' (stops after <end>, drops <pad>)."""
    words = []
    for t in list(tokens):
        if int(t) == PAD:
            break
        words.append(TOKENS[int(t)])
        if int(t) == END:
            break
    return " ".join(words)


# %% slideshow={"slide_type": "subslide"}
fig, axes = plt.subplots(4, 1, figsize=(6.5, 5.8))
for ax, i in zip(axes, range(4)):
    ax.imshow(test_strips.images[i, 0], cmap="gray", extent=(0, WIDTH, DIGIT, 0))
    ax.set_title(f"test strip {i}: target {as_text(test_strips.targets[i])}", fontsize=9)
    ax.set_ylabel("row")
axes[-1].set_xlabel("pixel column")
fig.suptitle("Strips of real MNIST test digits, padded to a fixed width")
fig.tight_layout()
plt.show()

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Self-check.** Every digit of a test strip is, pixel for pixel, the MNIST *test* image it
# was drawn from; everything outside the digits is black padding; each target is the digits'
# labels, one `<end>`, then `<pad>`; and all five lengths occur.

# %%
for s, source_set, name in [
    (train_strips, train_digits, "train"),
    (test_strips, test_digits, "test"),
]:
    covered = torch.zeros(len(s.images), WIDTH, dtype=torch.bool)  # columns that hold a digit
    for i, j in zip(*torch.nonzero(s.sources >= 0, as_tuple=True)):
        x = int(s.lefts[i, j])
        crop = s.images[i, :, :, x : x + DIGIT]
        assert torch.equal(crop, source_set.images[s.sources[i, j]]), f"{name} strip {i}, digit {j}"
        assert s.targets[i, j] == source_set.labels[s.sources[i, j]], f"{name} label {i}, {j}"
        covered[i, x : x + DIGIT] = True
    helpers.check_true(
        bool((s.images[:, 0].amax(dim=1)[~covered] == 0).all()),
        f"the {name} strips are black outside their digits",
    )
    ends = s.targets.eq(END).float().argmax(dim=1)  # position of <end>
    helpers.check_equal(ends, s.lengths, f"position of <end> in the {name} targets")
    helpers.check_equal(int(s.targets.eq(END).sum()), len(s.images), f"one <end> per {name} strip")
helpers.check_equal(
    sorted(set(test_strips.lengths.tolist())), [1, 2, 3, 4, 5], "lengths of the test strips"
)
print("digits per test strip:", torch.bincount(test_strips.lengths, minlength=6)[1:].tolist())

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2. Tokens, teacher forcing and the masked loss
#
# The decoder writes one token per step: a digit, or `<end>` when the strip is read. It needs
# something to read at the first step, so every sequence starts with a `<start>` token that is
# only ever an *input*. During training we use **teacher forcing**: the input at step $t$ is the
# *true* token of step $t - 1$, not the model's own guess, so every step learns from a correct
# prefix and all steps of a batch can be computed in one pass of the loop. The targets are the
# inputs shifted by one.
#
# Sequences have different lengths, so a batch of targets is padded with `<pad>` up to
# `MAX_DIGITS + 1` tokens. The loss must ignore those positions, or the model would also be
# trained to predict padding after `<end>`, which it never has to do, and the loss would
# depend on how much padding a batch happened to need. With a mask $m_{n,t} = 1$ for a real
# token and $0$ for padding,
# and $\ell_{n,t} = -\log p_\theta(y_{n,t} \mid y_{n,<t}, \text{image}_n)$,
#
# $$L = \frac{\sum_{n,t} m_{n,t}\,\ell_{n,t}}{\sum_{n,t} m_{n,t}},$$
#
# the mean over the real tokens of the batch. (PyTorch's `cross_entropy(..., ignore_index=PAD)`
# computes the same; notebook 07 used `pack_padded_sequence` to stop an RNN at each sentence's
# end, which does the same job for a recurrent *encoder*.)


# %% slideshow={"slide_type": "subslide"}
def decoder_inputs(targets: torch.Tensor) -> torch.Tensor:
    """Teacher forcing: <start>, then the targets shifted right by one step. (B, T) -> (B, T)

    Inputs after <end> are never used by the loss; we feed <end> there instead of <pad>."""
    shifted = targets[:, :-1].masked_fill(targets[:, :-1] == PAD, END)
    return torch.cat([torch.full_like(targets[:, :1], START), shifted], dim=1)


# %%
# NBVAL_CHECK_OUTPUT
example = torch.tensor([[3, 1, 4, END, PAD, PAD], [7, END, PAD, PAD, PAD, PAD]])  # (2, 6)
for name, rows in [("targets", example), ("decoder inputs", decoder_inputs(example))]:
    print(f"{name:15}", " | ".join(" ".join(f"{TOKENS[t]:>7}" for t in r) for r in rows.tolist()))
print(
    f"{'mask':15}",
    " | ".join(" ".join(f"{int(m):>7}" for m in r) for r in (example != PAD).tolist()),
)


# %%
def masked_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the real (not <pad>) tokens. logits (B, T, V), targets (B, T)."""
    mask = targets != PAD  # (B, T)
    per_token = F.cross_entropy(
        logits.transpose(1, 2), targets.masked_fill(~mask, 0), reduction="none"
    )  # (B, T); cross_entropy wants the classes in dim 1
    return (per_token * mask).sum() / mask.sum()


# %% [markdown] slideshow={"slide_type": "subslide"}
# **Self-check.** On random logits the masked loss equals PyTorch's `ignore_index`, and equals
# the mean over all real tokens computed sequence by sequence with no padding at all. Changing
# the logits at padded positions changes nothing.

# %%
logits = torch.randn(2, MAX_DIGITS + 1, 11)  # (B, T, V): 10 digits + <end>
reference = F.cross_entropy(logits.transpose(1, 2), example, ignore_index=PAD)
unpadded = torch.cat(
    [F.cross_entropy(lg[: k + 1], tg[: k + 1], reduction="none")  # k digits + <end>
     for lg, tg, k in zip(logits, example, [3, 1])]
).mean()  # fmt: skip
noisy = logits.clone()
noisy[example == PAD] += 100 * torch.randn(int((example == PAD).sum()), 11)
helpers.check_close(masked_loss(logits, example), reference, "masked loss vs ignore_index")
helpers.check_close(masked_loss(logits, example), unpadded, "masked loss vs unpadded mean")
helpers.check_close(masked_loss(noisy, example), reference, "loss after changing padded logits")
helpers.check_true(
    abs(F.cross_entropy(logits.transpose(1, 2), example.clamp(max=END)) - reference) > 1e-3,
    "counting the padded positions (as <end>) would give another loss",
)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3. The encoder: a CNN that turns the strip into a sequence of columns
#
# The encoder is built from notebook 04's blocks: conv-BN-ReLU, then max pooling. A stride-2
# first convolution and two poolings shrink the strip eight-fold, from $28 \times 160$ to
# $3 \times 20$. Each of the 20 positions along the width is a **column**: its features
# (channels times the 3 rows, flattened) go through a linear layer to one vector of size $D$.
# The encoder's output is a sequence of 20 vectors, one per 8 pixels of the strip, read left
# to right: the "many" the decoder can look at.


# %% slideshow={"slide_type": "subslide"}
def conv_bn_relu(c_in: int, c_out: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]


class Encoder(nn.Module):
    """(B, 1, 28, W) image -> (B, W / 8, D) column features, with a learned position vector."""

    def __init__(self, features: int, channels: tuple[int, int, int], columns: int = WIDTH // 8):
        super().__init__()
        c1, c2, c3 = channels
        self.cnn = nn.Sequential(
            *conv_bn_relu(1, c1, stride=2), nn.MaxPool2d(2),  # (B, c1, 7, W / 4)
            *conv_bn_relu(c1, c2), nn.MaxPool2d(2),  # (B, c2, 3, W / 8)
            *conv_bn_relu(c2, c3),  # (B, c3, 3, W / 8)
        )  # fmt: skip
        self.project = nn.Linear(c3 * 3, features)
        self.position = nn.Parameter(torch.zeros(columns, features))  # learned, one per column

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        maps = self.cnn(images)  # (B, C, 3, J) with J = W / 8 columns
        columns = maps.permute(0, 3, 1, 2).flatten(2)  # (B, J, C * 3): one vector per column
        return F.relu(self.project(columns)) + self.position  # (B, J, D)


FEATURES, CHANNELS = helpers.pick(64, 128), helpers.pick((8, 16, 32), (32, 64, 128))
COLUMNS = WIDTH // 8

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Predict.** The encoder turns a `(B, 1, 28, 160)` strip into a sequence of columns 8 pixels
# apart, each a vector of `FEATURES` numbers. What shape is that sequence?

# %% [markdown] slideshow={"slide_type": "fragment"}
# **Answer.** `(B, 20, FEATURES)`: $160 / 8 = 20$ columns, read left to right like the words of a
# sentence.

# %% slideshow={"slide_type": "fragment"}
with torch.random.fork_rng():  # build without changing the random numbers used later
    column_seq = Encoder(FEATURES, CHANNELS).eval()(torch.zeros(2, 1, DIGIT, WIDTH))
helpers.check_shape(column_seq, (2, 20, FEATURES), "columns of two strips")

# %% slideshow={"slide_type": "subslide"}
# NBVAL_CHECK_OUTPUT
encoder = Encoder(FEATURES, CHANNELS).eval()
x = torch.zeros(2, 1, DIGIT, WIDTH)  # (B, 1, 28, 160)
print(f"{'input':26} {tuple(x.shape)}")
for layer in encoder.cnn:
    x = layer(x)
    if not isinstance(layer, (nn.BatchNorm2d, nn.ReLU)):
        print(f"{type(layer).__name__:26} {tuple(x.shape)}")
print(f"{'columns (B, J, D)':26} {tuple(encoder(torch.zeros(2, 1, DIGIT, WIDTH)).shape)}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Predict.** The encoder is a stride-2 3x3 convolution, a 2x2 max-pool, a 3x3 convolution,
# another 2x2 max-pool and a last 3x3 convolution. How many pixels wide is the part of the strip
# one column sees?

# %% [markdown] slideshow={"slide_type": "fragment"}
# **Answer.** 33 pixels (from the recursion $r \leftarrow r + (k - 1)\,j,\ j \leftarrow j\,s$), a
# little more than one 28-pixel digit.

# %% slideshow={"slide_type": "fragment"}
helpers.check_equal(helpers.receptive_field(encoder.cnn), 33, "receptive field of a column")

# %% [markdown] slideshow={"slide_type": "subslide"}
# **How much of the strip does one column see?** Notebook 03's recursion
# $r \leftarrow r + (k - 1)\,j,\ j \leftarrow j\,s$ gives the receptive field of the stack:
# 33 pixels, a little more than one 28-pixel digit, with neighbouring columns 8 pixels
# apart. Because of the padding, column $j$ is centred on pixel $8j + 3$. We confirm both
# empirically: the gradient of one column's features with respect to the input is non-zero
# exactly on the 33 pixels that column sees.

# %% slideshow={"slide_type": "subslide"}
field = helpers.receptive_field(encoder.cnn)
j = 10
image = torch.rand(1, 1, DIGIT, WIDTH, requires_grad=True)
encoder(image)[0, j].sum().backward()  # eval mode: BatchNorm does not mix the columns
seen = torch.nonzero(image.grad[0, 0].abs().sum(dim=0)).flatten()  # pixel columns with a gradient
helpers.check_equal(field, 33, "receptive field of a column, by formula")
helpers.check_equal(
    (int(seen.min()), int(seen.max())),
    (8 * j + 3 - 16, 8 * j + 3 + 16),
    f"pixels seen by column {j}",
)
print(f"column {j} sees pixels {int(seen.min())} to {int(seen.max())}: {len(seen)} pixels wide")

# %% [markdown]
# **Why the position vector?** A convolution is translation-equivariant (notebook 01): shift
# the strip 8 pixels to the right and every column's features move one column to the right,
# unchanged. The CNN's columns say *what* is there, not *where*. That is a problem for
# attention, which compares the decoder's state with each column's *content*: without a
# hint of position it could not tell the first "7" of a strip from the second. So the
# encoder adds a learned vector per column position (a *positional embedding*, as in
# transformers), zero at the start of training. Below: with zero position vectors the
# columns (away from the strip's ends, where the zero padding of the deeper layers differs)
# shift exactly with the image; with non-zero ones they do not.

# %% slideshow={"slide_type": "subslide"}
blank_edges = torch.zeros(1, 1, DIGIT, WIDTH)
blank_edges[..., 40:112] = torch.rand(1, 1, DIGIT, 72)  # content in the middle only
moved = torch.roll(blank_edges, shifts=8, dims=3)  # 8 pixels = one column to the right
with torch.no_grad():
    before, after = encoder(blank_edges), encoder(moved)  # (1, J, D) each
    helpers.check_close(
        after[:, 3:18], before[:, 2:17], "columns of the moved strip, shifted by one"
    )
    encoder.position.normal_()  # as if training had learned position vectors
    before, after = encoder(blank_edges), encoder(moved)
    helpers.check_true(
        (after[:, 3:18] - before[:, 2:17]).abs().max() > 0.1,
        "with position vectors the moved strip gives different columns",
    )
    encoder.position.zero_()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4. The decoder: a GRU that writes one token per step
#
# The decoder is a `GRUCell` (notebook 07) run one step at a time. At step $t$ it reads the
# embedding of the previous token and a **context vector** $\mathbf{c}_t$ that tells it about
# the image, updates its state $\mathbf{h}_t$, and a linear layer turns $[\mathbf{h}_t;
# \mathbf{c}_t]$ into 11 logits (10 digits and `<end>`). The initial state comes from a
# summary of the whole strip, $\mathbf{s} = \tanh(W_s\,[\mathbf{f}_1; \dots; \mathbf{f}_J])$:
# all column features concatenated, so it still knows which feature sat where.
#
# Without attention the context is that same summary at every step, $\mathbf{c}_t =
# \mathbf{s}$. The whole strip, up to five digits and where they are, must pass through one
# vector of size $D$, and the decoder has to work out from its state which digit comes next.
#
# **Additive attention** (Bahdanau et al., 2015) lets the decoder choose a different context
# at every step. It scores each column $\mathbf{f}_j$ against the previous state, turns the
# scores into weights with a softmax over the columns, and takes the weighted mean:
#
# $$e_{t,j} = \mathbf{v}^\top \tanh\left(W_h \mathbf{h}_{t-1} + W_f \mathbf{f}_j + \mathbf{b}\right),
# \qquad \alpha_{t,j} = \frac{\exp e_{t,j}}{\sum_{j'} \exp e_{t,j'}},
# \qquad \mathbf{c}_t = \sum_j \alpha_{t,j}\, \mathbf{f}_j .$$
#
# The weights $\alpha_{t,\cdot}$ are non-negative and sum to 1: they say where the decoder
# looks while writing token $t$. $W_f \mathbf{f}_j$ does not depend on $t$, so it is computed
# once per image (the *keys*).


# %% slideshow={"slide_type": "subslide"}
class AdditiveAttention(nn.Module):
    """Bahdanau attention: weights over J columns from the previous decoder state."""

    def __init__(self, hidden: int, features: int, size: int):
        super().__init__()
        self.W_h = nn.Linear(hidden, size, bias=False)
        self.W_f = nn.Linear(features, size)  # its bias is the b of the formula
        self.v = nn.Linear(size, 1, bias=False)

    def forward(self, h, features, keys):
        """h (B, H), features (B, J, D), keys = W_f(features) (B, J, A) -> (B, D), (B, J)."""
        scores = self.v(torch.tanh(keys + self.W_h(h)[:, None, :])).squeeze(2)  # (B, J)
        weights = torch.softmax(scores, dim=1)  # (B, J), each row sums to 1
        context = torch.bmm(weights[:, None, :], features).squeeze(1)  # (B, D)
        return context, weights


# %% [markdown]
# **Self-check.** The module against the three equations written out as loops over the batch
# and the columns.

# %%
attend = AdditiveAttention(hidden=5, features=4, size=3)
h, f = torch.randn(2, 5), torch.randn(2, 7, 4)  # (B, H), (B, J, D)
context, weights = attend(h, f, attend.W_f(f))
W_h, W_f, b, v = attend.W_h.weight, attend.W_f.weight, attend.W_f.bias, attend.v.weight[0]
for n in range(2):
    e = torch.stack([v @ torch.tanh(W_h @ h[n] + W_f @ f[n, j] + b) for j in range(7)])
    alpha = torch.exp(e) / torch.exp(e).sum()
    helpers.check_close(weights[n], alpha, f"attention weights of example {n}")
    helpers.check_close(context[n], sum(alpha[j] * f[n, j] for j in range(7)), f"context {n}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# The whole model. `encode` runs the CNN once per image and keeps what every decoder step
# needs (a `Memory`); `step` advances the decoder by one token; `forward` is the teacher-forced
# pass used for training, which returns the logits of every step at once.


# %% slideshow={"slide_type": "notes"}
class Memory(NamedTuple):
    features: torch.Tensor  # (B, J, D) the encoder's columns
    keys: torch.Tensor  # (B, J, A) W_f f_j for attention (empty without attention)
    summary: torch.Tensor  # (B, D) the whole strip as one vector

    def take(self, index: torch.Tensor) -> "Memory":
        """The memory of the images `index` (B',): for beam search, one copy per beam."""
        return Memory(*(t[index] for t in self))


class Reader(nn.Module):
    """CNN encoder + GRU decoder, with or without additive attention over the columns."""

    def __init__(self, attention: bool, vocab=11, embed=16, hidden=64, features=64,
                 channels=(8, 16, 32), attention_size=32):  # fmt: skip
        super().__init__()
        self.encoder = Encoder(features, channels)
        self.summarise = nn.Linear(COLUMNS * features, features)
        self.init_state = nn.Linear(features, hidden)
        self.embed = nn.Embedding(vocab + 1, embed)  # the output tokens and <start>
        self.attention = AdditiveAttention(hidden, features, attention_size) if attention else None
        self.cell = nn.GRUCell(embed + features, hidden)
        self.head = nn.Linear(hidden + features, vocab)

    def encode(self, images: torch.Tensor) -> tuple[Memory, torch.Tensor]:
        """images (B, 1, 28, W) -> memory, initial decoder state h_0 (B, H)."""
        features = self.encoder(images)  # (B, J, D)
        summary = torch.tanh(self.summarise(features.flatten(1)))  # (B, D)
        keys = self.attention.W_f(features) if self.attention else features[:, :, :0]
        return Memory(features, keys, summary), torch.tanh(self.init_state(summary))

    def step(self, tokens, h, memory: Memory):
        """Previous tokens (B,), state (B, H) -> logits (B, V), new state, weights (B, J) or None."""
        if self.attention is None:
            context, weights = memory.summary, None  # the same context at every step
        else:
            context, weights = self.attention(h, memory.features, memory.keys)
        h = self.cell(torch.cat([self.embed(tokens), context], dim=1), h)  # (B, H)
        return self.head(torch.cat([h, context], dim=1)), h, weights

    def forward(self, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: logits (B, T, V) for targets (B, T)."""
        memory, h = self.encode(images)
        inputs = decoder_inputs(targets)  # (B, T)
        logits = []
        for t in range(targets.shape[1]):
            step_logits, h, _ = self.step(inputs[:, t], h, memory)
            logits.append(step_logits)
        return torch.stack(logits, dim=1)  # (B, T, V)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# %% [markdown] slideshow={"slide_type": "subslide"}
# **Predict.** With teacher forcing, the reader gets 4 strips and their targets (up to 5 digits and
# `<end>`). What shape are its logits?

# %% [markdown] slideshow={"slide_type": "fragment"}
# **Answer.** `(4, 6, 11)`: one row per target position ($5 + 1$), one score per token it can write:
# the digits 0-9 and `<end>`.

# %% slideshow={"slide_type": "fragment"}
with torch.random.fork_rng():  # build without changing the random numbers used later
    reader_demo = Reader(attention=False).eval()
    logits_demo = reader_demo(test_strips.images[:4].float() / 255, test_strips.targets[:4])
helpers.check_shape(logits_demo, (4, MAX_DIGITS + 1, 11), "logits of 4 strips")

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Self-check.** Three properties a teacher-forced decoder must have. The logits have one row
# per target position. The prediction at step $t$ never sees the true token of step $t$ or
# later (it reads only the tokens before it): change the targets from step $t$ on and the
# logits up to step $t$ stay the same. And extra padding changes nothing: padding the targets
# with more `<pad>` leaves the loss as it was. The two models differ only in the attention
# module.

# %% slideshow={"slide_type": "subslide"}
helpers.seed_everything()
models = {"no attention": Reader(attention=False), "attention": Reader(attention=True)}
images = test_strips.images[:4].float() / 255  # (4, 1, 28, 160) in [0, 1]
targets = test_strips.targets[:4]  # (4, 6)
for name, model in models.items():
    model.eval()
    logits = model(images, targets)
    helpers.check_shape(logits, (4, MAX_DIGITS + 1, 11), f"{name}: logits")
    for t in range(MAX_DIGITS + 1):
        changed = targets.clone()
        changed[:, t:] = torch.randint(0, 10, changed[:, t:].shape)
        helpers.check_close(model(images, changed)[:, : t + 1], logits[:, : t + 1],
                            f"{name}: logits up to step {t} when the targets from step {t} change")  # fmt: skip
    longer = torch.cat([targets, torch.full((4, 3), PAD)], dim=1)  # (4, 9)
    helpers.check_close(masked_loss(model(images, longer), longer), masked_loss(logits, targets),
                        f"{name}: loss with 3 more <pad> tokens")  # fmt: skip
helpers.check_equal(
    count_params(models["attention"]) - count_params(models["no attention"]),
    count_params(models["attention"].attention),
    "extra parameters of the attention model",
)
print({name: f"{count_params(m):,} parameters" for name, m in models.items()})

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5. Training with teacher forcing
#
# `helpers.fit` calls `model(x)` with the images only, but a teacher-forced decoder also needs
# the targets in its forward pass, so we write the loop out (it is the loop inside `fit`):
# batches from a `helpers.DeviceLoader` (uint8 strips become floats in $[0, 1]$ on the fly),
# the masked loss, gradient clipping (notebook 07) and Adam. Both models start from the same
# seed and see the same batches in the same order.


# %%
def train(model: Reader, epochs: int, lr: float, batch_size: int = 64) -> list[float]:
    """Teacher-forced training; returns the mean training loss of every epoch."""
    helpers.seed_everything()  # the same batch order for every model
    loader = helpers.DeviceLoader(
        train_strips.images, train_strips.targets, batch_size, device=device
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.to(device)
    losses = []
    for _ in range(epochs):
        model.train()
        total = torch.zeros((), device=device)
        for images, targets in loader:  # (B, 1, 28, W) float, (B, T) int64
            loss = masked_loss(model(images, targets), targets)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            optimizer.step()
            total += loss.detach()
        losses.append(total.item() / len(loader))
    return losses


# %% slideshow={"slide_type": "subslide"}
epochs = helpers.pick(5, 20)
size = {"features": FEATURES, "channels": CHANNELS, "hidden": helpers.pick(64, 256)}
curves = {}
for name in ["no attention", "attention"]:
    helpers.seed_everything()  # the same start for the layers built before the attention
    models[name] = Reader(attention=name == "attention", **size)
    curves[name] = train(
        models[name], epochs, lr=helpers.pick(3e-3, 1e-3), batch_size=helpers.pick(32, 128)
    )
    print(f"{name:12} training loss per epoch:", " ".join(f"{v:.3f}" for v in curves[name]))

# %% slideshow={"slide_type": "subslide"}
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, losses in curves.items():
    ax.plot(range(1, epochs + 1), losses, marker="o", label=name)
ax.set_title(f"Teacher-forced training on {n_train} strips")
ax.set_xticks(range(1, epochs + 1))
ax.set_xlabel("epoch")
ax.set_ylabel("masked cross-entropy per token")
ax.legend()
plt.show()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6. Decoding: greedy and beam search
#
# At test time there is no teacher: the decoder feeds its own previous output back in. During
# training it only ever saw correct prefixes, so after its first mistake it is on ground it
# was never trained on (*exposure bias*; scheduled sampling, in the further reading, mixes the
# model's own guesses into training to soften this).
# **Greedy decoding** takes the most probable token at every step and stops at `<end>`. It
# is fast, but a confident early mistake can never be undone, and the most probable *first*
# token need not start the most probable *sequence*. **Beam search** keeps the $k$ most
# probable partial sequences (the beam), extends each by every token, and keeps the $k$ best of
# the extensions by their total log-probability $\sum_t \log p(y_t \mid y_{<t}, \text{image})$.
# An extension by `<end>` is a finished candidate; the search stops when the beam is empty or
# when no live sequence can beat the best finished one anymore (adding tokens only lowers a
# log-probability). With $k = 1$ beam search *is* greedy decoding.


# %% slideshow={"slide_type": "subslide"}
@torch.no_grad()
def greedy_decode(model: Reader, images: torch.Tensor):
    """images (B, 1, 28, W) float -> tokens (B, T), total log-prob (B,), weights (B, T, J) or None.

    Every strip runs all T = MAX_DIGITS + 1 steps; what follows its first <end> is ignored."""
    model.eval()
    memory, h = model.encode(images)
    tokens = torch.full((len(images),), START, device=images.device)
    done = torch.zeros(len(images), dtype=torch.bool, device=images.device)
    out, logp, weights = [], torch.zeros(len(images), device=images.device), []
    for _ in range(MAX_DIGITS + 1):
        logits, h, w = model.step(tokens, h, memory)
        step_logp, tokens = F.log_softmax(logits, dim=1).max(dim=1)  # (B,), (B,)
        logp += step_logp.masked_fill(done, 0.0)  # nothing is added after <end>
        done |= tokens == END
        out.append(tokens)
        weights.append(w)
    alphas = torch.stack(weights, dim=1) if model.attention else None
    return torch.stack(out, dim=1), logp, alphas


def strip_text(tokens) -> list[int]:
    """The digits before the first <end> (all tokens if there is none)."""
    tokens = [int(t) for t in tokens]
    return tokens[: tokens.index(END)] if END in tokens else tokens


# %% slideshow={"slide_type": "notes"}
@torch.no_grad()
def beam_search(model: Reader, image: torch.Tensor, width: int, steps: int = MAX_DIGITS + 1):
    """One image (1, 1, 28, W) -> (best digit list, its log-prob). Finished = ended by <end>."""
    model.eval()
    memory, h = model.encode(image)
    beams = [([], 0.0)]  # (tokens so far, total log-prob), at most `width` of them
    finished = []  # (digits, total log-prob)
    for _ in range(steps):
        last = torch.tensor([b[0][-1] if b[0] else START for b in beams], device=image.device)
        same_image = torch.zeros(len(beams), dtype=torch.long, device=image.device)
        logits, h_all, _ = model.step(last, h, memory.take(same_image))  # h: (beams, H)
        scores = torch.tensor([s for _, s in beams], device=image.device)[:, None]
        totals = scores + F.log_softmax(logits, dim=1)  # (beams, V): every one-token extension
        best = totals.flatten().topk(min(width, totals.numel()))
        new_beams, new_h = [], []
        for score, flat in zip(best.values.tolist(), best.indices.tolist()):
            parent, token = divmod(flat, totals.shape[1])
            if token == END:
                finished.append((beams[parent][0], score))
            else:
                new_beams.append((beams[parent][0] + [token], score))
                new_h.append(h_all[parent])
        if not new_beams:
            break
        beams, h = new_beams, torch.stack(new_h)
        if finished and max(s for _, s in finished) >= beams[0][1]:
            break  # every live beam is already less probable than the best finished one
    if not finished:  # nothing ended within `steps`: give back the best unfinished sequence
        return beams[0]
    return max(finished, key=lambda f: f[1])


@torch.no_grad()
def sequence_logprob(model: Reader, image: torch.Tensor, digits: list[int]) -> float:
    """log p(digits, <end> | image), by teacher forcing the sequence through the decoder."""
    model.eval()
    target = torch.tensor([digits + [END]], device=image.device)  # (1, L + 1)
    logp = F.log_softmax(model(image, target), dim=2)  # (1, L + 1, V)
    return logp[0].gather(1, target[0][:, None]).sum().item()


# %% [markdown] slideshow={"slide_type": "subslide"}
# **Self-check of the search.** Four properties, on test strips and both trained models:
#
# 1. With width 1, beam search gives exactly greedy decoding's sequence and log-probability.
# 2. The score beam search reports is the log-probability of the sequence it returns,
#    recomputed by teacher forcing that sequence through the decoder.
# 3. With a beam wide enough to keep every extension, beam search is an exhaustive search:
#    limited to 3 steps (at most two digits and `<end>`: $1 + 10 + 100 = 111$ sequences) it
#    returns the most probable of all of them.
# 4. Width 3 almost never returns a *less* probable sequence than greedy decoding. It can
#    happen (a prefix that looks better early can push greedy's prefix out of the beam, and
#    then end worse), so this is a measurement, not a theorem.


# %% slideshow={"slide_type": "notes"}
@torch.no_grad()
def logprobs_of(model: Reader, image: torch.Tensor, sequences: list[list[int]]) -> torch.Tensor:
    """log p(digits, <end> | image) of every digit list in `sequences`, in one batch."""
    model.eval()
    T = max(len(s) for s in sequences) + 1
    targets = torch.full((len(sequences), T), PAD, device=image.device)
    for i, s in enumerate(sequences):
        targets[i, : len(s) + 1] = torch.tensor(s + [END])
    logp = F.log_softmax(model(image.expand(len(sequences), -1, -1, -1), targets), dim=2)
    picked = logp.gather(2, targets.clamp(max=END)[:, :, None]).squeeze(2)  # (n, T)
    return (picked * (targets != PAD)).sum(dim=1)  # (n,)


test_images = test_strips.images.to(device).float() / 255  # (n_test, 1, 28, W)
tol = 1e-4 if device.type == "cpu" else 1e-2  # a GPU may pick other kernels for one strip
n_beam = helpers.pick(100, 1000)  # strips decoded one at a time by beam search
greedy = {name: greedy_decode(model, test_images) for name, model in models.items()}
beams = {}
for name, model in models.items():
    tokens, logp, _ = greedy[name]
    beams[name] = [beam_search(model, test_images[i : i + 1], width=3) for i in range(n_beam)]
    for i in range(helpers.pick(20, 100)):
        digits, score = beam_search(model, test_images[i : i + 1], width=1)
        helpers.check_equal(
            digits, strip_text(tokens[i]), f"{name}: beam width 1 vs greedy, strip {i}"
        )
        helpers.check_close(score, logp[i], f"{name}: their log-probabilities, strip {i}", atol=tol)
    for i in range(5):
        digits, score = beams[name][i]
        recomputed = logprobs_of(model, test_images[i : i + 1], [digits])[0]
        helpers.check_close(
            score, recomputed, f"{name}: beam score vs recomputed log-prob", atol=tol
        )

# %%
every_sequence = [[]] + [[a] for a in range(10)] + [[a, b] for a in range(10) for b in range(10)]
model = models["attention"]
for i in range(3):
    image = test_images[i : i + 1]
    all_logp = logprobs_of(model, image, every_sequence)  # (111,)
    best = every_sequence[int(all_logp.argmax())]
    digits, score = beam_search(model, image, width=11**3, steps=3)
    helpers.check_equal(
        digits, best, f"wide beam vs exhaustive search over 111 sequences, strip {i}"
    )
    helpers.check_close(score, all_logp.max(), "their log-probabilities", atol=tol)

# %% slideshow={"slide_type": "subslide"}
better = {}
for name in models:
    beam_logp = torch.tensor([score for _, score in beams[name]])
    gain = beam_logp - greedy[name][1][:n_beam].cpu()  # (n_beam,)
    better[name], worse = int((gain > tol).sum()), int((gain < -tol).sum())
    print(f"{name:12}: beam (width 3) more probable than greedy on {better[name]:3d} "
          f"of {n_beam} strips, less probable on {worse}")  # fmt: skip
    helpers.check_true(
        worse <= 0.05 * n_beam,
        f"{name}: beam search is at least as probable as greedy on 95% of the strips",
        f"less probable on {worse} of {n_beam}",
    )

# %% [markdown]
# Beam search changes little for the attention model: its distributions are sharp, so the
# greedy path is almost always the most probable one. The decoder without attention is less
# sure of itself, and there a wider search often finds a more probable reading (on at least
# 10 of the 100 strips for seeds 0, 1 and 2). A more probable reading is not always the right one:
# compare the whole-sequence accuracies of greedy and beam decoding in the next section.

# %%
if real and fast:
    helpers.check_true(
        better["no attention"] >= 0.1 * n_beam and better["no attention"] > better["attention"],
        "beam search improves on greedy more often for the plain decoder than with attention",
        str(better),
    )

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 7. Results: per-digit and whole-sequence accuracy
#
# Two measures. **Whole-sequence accuracy**: the fraction of strips read exactly right,
# every digit and the length. **Per-digit accuracy**: the fraction of the true digits that
# the prediction has at the same position (a prediction that is too short misses the digits
# it lacks; a skipped digit shifts all that follow, and they count as wrong). A model with
# per-digit accuracy $p$ and independent errors would read a strip of $k$ digits right with
# probability about $p^k$, so whole-sequence accuracy falls with the length of the strip.


# %% slideshow={"slide_type": "subslide"}
def accuracy(predicted: list[list[int]], strips: Strips) -> tuple[float, float]:
    """(per-digit accuracy, whole-sequence accuracy) of digit lists against the strips."""
    truths = [t[:k] for t, k in zip(strips.targets.tolist(), strips.lengths.tolist())]
    right = sum(
        sum(p[j] == d for j, d in enumerate(t) if j < len(p)) for p, t in zip(predicted, truths)
    )
    whole = sum(p == t for p, t in zip(predicted, truths))
    return right / sum(map(len, truths)), whole / len(truths)


def select(strips: Strips, keep: torch.Tensor) -> Strips:
    """The strips where `keep` (n,) is True."""
    return Strips(*(field[keep] for field in strips))


readings = {name: [strip_text(t) for t in greedy[name][0]] for name in models}
table = {}
for name in models:
    per_digit, whole = accuracy(readings[name], test_strips)
    by_length = []
    for k in range(1, MAX_DIGITS + 1):
        keep = test_strips.lengths == k
        subset = [r for r, kept in zip(readings[name], keep.tolist()) if kept]
        by_length.append(accuracy(subset, select(test_strips, keep))[1])
    table[name] = {"per digit": per_digit, "whole sequence": whole, "by length": by_length}

# %% slideshow={"slide_type": "subslide"}
print(f"{n_test} test strips, greedy decoding; on the right: whole-sequence accuracy by length")
print(f"{'decoder':13} {'parameters':>10} {'per digit':>9} {'whole seq.':>10} |"
      + "".join(f"{k:>6}" for k in range(1, MAX_DIGITS + 1)))  # fmt: skip
for name, row in table.items():
    print(f"{name:13} {count_params(models[name]):10,d} {row['per digit']:9.3f} "
          f"{row['whole sequence']:10.3f} |" + "".join(f"{a:6.2f}" for a in row["by length"]))  # fmt: skip
first = select(test_strips, torch.arange(n_test) < n_beam)  # the strips beam search decoded
for name in models:
    by_beam = accuracy([digits for digits, _ in beams[name]], first)[1]
    by_greedy = accuracy(readings[name][:n_beam], first)[1]
    print(
        f"{name:13} first {n_beam} strips, whole sequence: greedy {by_greedy:.2f}, beam {by_beam:.2f}"
    )

# %% slideshow={"slide_type": "subslide"}
fig, ax = plt.subplots(figsize=(6, 3.5))
lengths = np.arange(1, MAX_DIGITS + 1)
for shift, (name, row) in zip([-0.2, 0.2], table.items()):
    ax.bar(lengths + shift, row["by length"], width=0.4, label=name)
ax.set_title("Strips read exactly right, by number of digits")
ax.set_xlabel("digits in the strip")
ax.set_ylabel("whole-sequence accuracy")
ax.set_ylim(0, 1)
ax.legend()
plt.show()

# %% [markdown] slideshow={"slide_type": "subslide"}
# **What attention changes.** Both readers have the same encoder (from the same initial
# weights), a GRU and an output layer of the same kind, and were trained on the same batches.
# In fast mode on the real strips (seeds 0, 1 and 2) the attention decoder read about two
# thirds of the test strips exactly right or more, the plain decoder well under half; per
# digit, about nine in ten against under seven in ten. The gap grows with the length of the
# strip: on one-digit strips the two are not far apart, but the plain decoder almost never
# reads a five-digit strip right, while the attention decoder still reads about half of them or
# more. Without attention one vector of 64 numbers must carry every digit and its place, and
# the decoder must work out from its own state which digit comes next. With attention every
# step reads a context that holds mostly one digit (section 8 shows where), so the decoder only
# has to move its gaze on by one digit. The checks below ask for each of these effects (they
# are facts of the real digits at fast-mode size; the recorded full-size run after them tells
# another story).

# %% slideshow={"slide_type": "notes"}
plain, attentive = table["no attention"], table["attention"]
if real and fast:
    helpers.check_true(
        attentive["whole sequence"] > 0.6,
        "the attention decoder reads most test strips exactly right",
        f"{attentive['whole sequence']:.3f}",
    )
    helpers.check_true(
        plain["whole sequence"] < 0.5,
        "without attention, well under half are read right",
        f"{plain['whole sequence']:.3f}",
    )
    helpers.check_true(
        attentive["per digit"] > 0.85 and plain["per digit"] < 0.7,
        "per digit: about nine in ten with attention, under seven in ten without",
        f"{attentive['per digit']:.3f} vs {plain['per digit']:.3f}",
    )
    helpers.check_true(
        attentive["whole sequence"] > plain["whole sequence"] + 0.25,
        "attention beats no attention on whole-sequence accuracy by over 25 points",
        f"{attentive['whole sequence']:.3f} vs {plain['whole sequence']:.3f}",
    )
    helpers.check_true(
        attentive["per digit"] > plain["per digit"] + 0.2,
        "attention beats no attention on per-digit accuracy by over 20 points",
        f"{attentive['per digit']:.3f} vs {plain['per digit']:.3f}",
    )
    helpers.check_true(
        plain["by length"][-1] < 0.15 and attentive["by length"][-1] > 0.45,
        "five-digit strips: under 15% read right without attention, over 45% with it",
        f"{plain['by length'][-1]:.3f} vs {attentive['by length'][-1]:.3f}",
    )
    gaps = [a - p for a, p in zip(attentive["by length"], plain["by length"])]
    helpers.check_true(
        gaps[-1] > gaps[0] + 0.2,
        "the gap between the decoders is over 20 points larger for 5 digits than for 1",
        f"gaps by length {np.round(gaps, 3).tolist()}",
    )

# %% [markdown] slideshow={"slide_type": "subslide"}
# **The same comparison at full size, recorded.** Full mode trains both decoders on 60,000
# strips for 20 epochs, with 256 hidden units instead of 64 and a wider encoder, and scores
# them on 10,000 test strips. On one CPU thread that took 48 minutes, so it was recorded with
# `OMP_NUM_THREADS=1 python benchmarks/record_full_runs.py 09`: this notebook's own cells in
# full mode, up to the table above, stored in `notebooks/results/09_*.json` with the device,
# torch version, date, commit and wall time.

# %%
recorded = helpers.load_recorded_runs(
    "09", {"no_attention": "no attention", "attention": "attention"}
)
for name, record in recorded.items():
    final = record["final"]
    print(f"{name:13} {final['per_digit']:9.3f} {final['whole_sequence']:10.3f} |"
          + "".join(f"{a:6.2f}" for a in final["by_length"]))  # fmt: skip
if recorded:
    config = next(iter(recorded.values()))["config"]
    print(f"(per digit, whole sequence | by length; {config['train_strips']:,} training strips, "
          f"{config['epochs']} epochs, {config['hidden']} hidden units)")  # fmt: skip

# %%
if len(recorded) == 2:
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.6))
    for shift, (name, record) in zip([-0.2, 0.2], recorded.items()):
        losses = [r["train_loss"] for r in record["history"]]
        axes[0].plot(range(1, len(losses) + 1), losses, marker="o", label=name)
        axes[1].bar(lengths + shift, record["final"]["by_length"], width=0.4, label=name)
    axes[0].set(title="Training loss", xlabel="epoch", ylabel="masked cross-entropy per token")
    axes[0].set_yscale("log")
    axes[1].set(title="Strips read exactly right", xlabel="digits in the strip")
    axes[1].set(ylabel="whole-sequence accuracy", ylim=(0, 1))
    for ax in axes:
        ax.legend()
    fig.suptitle(helpers.recorded_label(next(iter(recorded.values()))))
    plt.tight_layout()
    plt.show()


# %%
def recorded_summary(full: dict, config: dict) -> str:
    """What the recorded full-size run says about attention, from its final numbers and its
    configuration."""
    plain_f, attentive_f = full["no attention"], full["attention"]
    whole_gap = attentive_f["whole_sequence"] - plain_f["whole_sequence"]
    long_gap = attentive_f["by_length"][-1] - plain_f["by_length"][-1]
    text = (
        f"At full size both decoders read almost every strip: "
        f"{plain_f['whole_sequence']:.1%} without attention, {attentive_f['whole_sequence']:.1%} "
        f"with it ({abs(whole_gap) * 100:.1f} points {'more' if whole_gap >= 0 else 'fewer'} "
        f"with attention), and on five-digit strips {plain_f['by_length'][-1]:.1%} against "
        f"{attentive_f['by_length'][-1]:.1%}. "
    )
    if abs(whole_gap) < 0.01 and abs(long_gap) < 0.03:
        text += (
            "The large lead of attention in fast mode is gone: with a strip summary of "
            f"{config['features']} numbers, a decoder state of {config['hidden']}, "
            f"{config['train_strips']:,} training strips and "
            f"{config['epochs']} epochs, the plain decoder learns to carry five digits and their "
            "order in its state. Attention pays off when the state is small for what it must "
            "carry, or the data are few, as in fast mode; five digits are a short sequence. In "
            "Bahdanau et al.'s translation experiments it was long sentences where the plain "
            "encoder-decoder fell behind. What attention still gives here is the alignment that "
            "section 8 shows."
        )
    return text


if len(recorded) == 2:
    full = {name: record["final"] for name, record in recorded.items()}
    display(Markdown(recorded_summary(full, recorded["attention"]["config"])))
    whole = {name: f["whole_sequence"] for name, f in full.items()}
    five = {name: f["by_length"][-1] for name, f in full.items()}
    full_lead = whole["attention"] - whole["no attention"]
    helpers.check_true(
        min(whole.values()) > 0.95,
        "full size: both decoders read over 95% of the test strips exactly right",
        str(whole),
    )
    helpers.check_true(
        abs(full_lead) < 0.01 and abs(five["attention"] - five["no attention"]) < 0.03,
        "full size: the decoders tie (within 1 point overall, 3 points on five-digit strips)",
        f"whole sequence {whole}, five digits {five}",
    )
    if real and fast:
        live_lead = attentive["whole sequence"] - plain["whole sequence"]
        helpers.check_true(
            live_lead > 10 * abs(full_lead),
            "attention's lead in fast mode is over ten times its lead at full size",
            f"{live_lead:.3f} live vs {full_lead:.4f} recorded",
        )


# %% [markdown] slideshow={"slide_type": "slide"}
# ## 8. Where does the decoder look?
#
# For every output token the attention model computed weights $\alpha_{t,j}$ over the 20
# columns. Drawn under the strip, one row per output step, they show where the decoder looked
# while writing each digit. Column $j$ is centred on pixel $8j + 3$, so we draw each weight
# over the 8 pixels around that centre.

# %% slideshow={"slide_type": "subslide"}
_, _, alphas = greedy["attention"]  # (n_test, T, J)
alphas = alphas.cpu()
shown = [i for i in range(n_test) if test_strips.lengths[i] >= 3][:3]
fig, axes = plt.subplots(2 * len(shown), 1, figsize=(7, 8.5), sharex=True,
                         gridspec_kw={"height_ratios": [1, 1.3] * len(shown)})  # fmt: skip
for row, i in enumerate(shown):
    written = greedy["attention"][0][i].tolist()
    steps = min(len(strip_text(written)) + 1, MAX_DIGITS + 1)  # the digits and <end>
    top, bottom = axes[2 * row], axes[2 * row + 1]
    top.imshow(test_strips.images[i, 0], cmap="gray", aspect="auto", extent=(0, WIDTH, DIGIT, 0))
    truth = as_text(test_strips.targets[i])
    top.set_title(f"test strip {i}: {truth}, read as {as_text(written)}", fontsize=10)
    top.set_ylabel("row")
    bottom.imshow(
        alphas[i, :steps],
        cmap="viridis",
        aspect="auto",
        extent=(-1, 8 * COLUMNS - 1, steps - 0.5, -0.5),
    )  # column j: pixels 8j-1 to 8j+7
    bottom.set_yticks(range(steps), [f"{t + 1}: {TOKENS[written[t]]}" for t in range(steps)])
    bottom.set_ylabel("output step")
axes[-1].set_xlim(0, WIDTH)
axes[-1].set_xlabel("pixel column of the strip")
fig.suptitle("Where the decoder looks: attention weights per output step (bright = high)")
fig.tight_layout()
plt.show()

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Self-check.** The figure shows three strips; the check covers every test strip the model
# read with the right number of digits. For each digit it wrote we take the column with the
# largest weight and its centre pixel $8j + 3$. Two things must hold for almost all of
# them: the peak lies inside the digit being written (its 28 pixels), and the peaks move
# from left to right, one digit per step. Nobody told the model where the digits are: it
# learned to align its output with the image from the digit strings alone. The figure also
# shows misread digits, and there the decoder still looked at the right place: on the real
# strips in fast mode, its mistakes are mistakes of recognising a digit, not of finding it
# (checked on all misread digits of the strips read with the right length).

# %% slideshow={"slide_type": "subslide"}
peaks = 8 * alphas.argmax(dim=2) + 3  # (n_test, T): centre pixel of the most-weighted column
on_digit, in_order, counted, strips_counted = 0, 0, 0, 0
misread_on_digit, misread = 0, 0  # the same, for the digits it got wrong
for i, reading in enumerate(readings["attention"]):
    k = int(test_strips.lengths[i])
    if len(reading) != k:
        continue
    left = test_strips.lefts[i, :k]  # (k,)
    hit = (peaks[i, :k] >= left) & (peaks[i, :k] < left + DIGIT)  # (k,)
    wrong = torch.tensor(reading) != test_strips.targets[i, :k]  # (k,)
    on_digit, counted = on_digit + int(hit.sum()), counted + k
    misread_on_digit, misread = misread_on_digit + int(hit[wrong].sum()), misread + int(wrong.sum())
    if k >= 2:  # the order of the peaks: strips of two digits or more
        in_order += bool((peaks[i, 1:k] > peaks[i, : k - 1]).all())
        strips_counted += 1
print(f"peak on the digit being written: {on_digit / counted:.1%} of {counted} digits; "
      f"peaks strictly left to right: {in_order / strips_counted:.1%} of {strips_counted} strips "
      "of two or more digits")  # fmt: skip
helpers.check_true(
    on_digit / counted > 0.9,
    "the attention peak lies on the digit being written",
    f"{on_digit / counted:.3f}",
)
helpers.check_true(
    in_order / strips_counted > 0.9,
    "the attention peaks move left to right",
    f"{in_order / strips_counted:.3f}",
)
print(
    f"peak on the digit for the {misread} misread digits: {misread_on_digit / max(misread, 1):.1%}"
)
if real and fast:
    helpers.check_true(
        misread >= 20 and misread_on_digit / misread > 0.9,
        "the decoder looked at the right digit even where it misread it",
        f"{misread_on_digit} of {misread}",
    )

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 9. This is an image captioner
#
# Replace the digits by words and the strips by photos, and this notebook is the image
# captioning model of the lecture. *Show and Tell* (Vinyals et al., 2015) feeds one CNN
# vector of the whole image to an LSTM (as its first input) that writes the caption word by
# word from a `<start>` token to an `<end>` token: in spirit our decoder without attention,
# which gets its one vector as the first state and at every step. *Show, Attend and Tell*
# (Xu et al., 2015) keeps the CNN's last feature map, a 14x14 grid of 196 positions instead
# of our 20 columns, and attends over it with the same additive attention before every word:
# our attention decoder, and its attention figures show the word "frisbee" looking at the
# frisbee.
# The training is the same (teacher forcing, cross-entropy over the words, padded captions
# with a mask), and so is decoding (greedy or beam search). What changes: the encoder is a
# large CNN pretrained on ImageNet (notebook 06), the vocabulary has thousands of words, and a
# photo has many right captions, so captioners are scored by overlap with several human
# captions (BLEU, CIDEr) rather than by exact match.
#
# In code, only the size of the vocabulary changes. Going from our 11 output tokens to $V$
# words adds $(V - 11)$ rows to the embedding table (one per input word, $E$ numbers each)
# and to the output layer (one per output word: $H + D$ weights and a bias):
#
# $$P(V) - P(11) = (V - 11)\,(E + H + D + 1).$$

# %% slideshow={"slide_type": "subslide"}
# NBVAL_CHECK_OUTPUT
vocab_words = 10_000
E, H, D = 16, 64, 64
captioner = Reader(attention=True, vocab=vocab_words)
digit_reader = Reader(attention=True)
helpers.check_equal(
    count_params(captioner) - count_params(digit_reader),
    (vocab_words - 11) * (E + H + D + 1),
    "extra parameters for a 10,000-word vocabulary",
)
print(f"digit reader {count_params(digit_reader):,} parameters; "
      f"the same model with {vocab_words:,} words: {count_params(captioner):,}")  # fmt: skip

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
#
# Each exercise has a cell for your answer and a check cell below it that says whether it is
# right, with a hint when it is not (it never stops the notebook). The exercise version of this
# notebook (`notebooks/student/`) has empty answer cells; the lecture version (`notebooks/`)
# holds worked solutions in them.
#
# 1. **Attention's parameters.** How many parameters does `AdditiveAttention(hidden=64,
#    features=64, size=32)` have? Count them from the formula of section 4 ($W_h$, $W_f$ with
#    its bias $\mathbf{b}$, and $\mathbf{v}$).
# 2. **A deeper encoder.** Append one more `conv_bn_relu(c3, c3)` block (3x3, stride 1) to the
#    encoder's CNN. How many pixels wide is a column's receptive field now?
# 3. **Which digits get confused?** Take the test strips the attention model read with the
#    right number of digits, line up true and predicted digits position by position, and find
#    the pair (true digit, predicted digit) that occurs most often among the mistakes.


# %% nbgrader={"grade": false, "grade_id": "ex1_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 1: your answer (a number)
attention_params = None
### BEGIN SOLUTION
attention_params = 64 * 32 + (64 * 32 + 32) + 32  # W_h + (W_f and its bias b) + v
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex1_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
ok_1 = helpers.verdict(
    attention_params,
    count_params(AdditiveAttention(hidden=64, features=64, size=32)),
    "W_h is (32, 64) without bias, W_f is (32, 64) with a bias of 32, v is (1, 32)",
)
### BEGIN HIDDEN TESTS
assert ok_1, "exercise 1 is not right"
### END HIDDEN TESTS

# %% nbgrader={"grade": false, "grade_id": "ex2_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 2: your answer (pixels)
deeper_field = None
### BEGIN SOLUTION
deeper_field = 33 + (3 - 1) * 8  # r grows by (k - 1) j with j = 8 pixels between columns
deeper = nn.Sequential(*encoder.cnn, *conv_bn_relu(CHANNELS[2], CHANNELS[2])).eval()
image = torch.rand(1, 1, DIGIT, WIDTH, requires_grad=True)
deeper(image)[0, :, :, 10].sum().backward()  # column 10 of the deeper CNN
seen = torch.nonzero(image.grad[0, 0].abs().sum(dim=0)).flatten()
helpers.check_equal(len(seen), deeper_field, "pixels seen by a column of the deeper encoder")
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex2_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
ok_2 = helpers.verdict(
    deeper_field,
    helpers.receptive_field([*encoder.cnn, *conv_bn_relu(CHANNELS[2], CHANNELS[2])]),
    "r grows by (k - 1) j, and j, the distance between columns, is 8 pixels there",
)
### BEGIN HIDDEN TESTS
assert ok_2, "exercise 2 is not right"
### END HIDDEN TESTS

# %% nbgrader={"grade": false, "grade_id": "ex3_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 3: your answer, e.g. (4, 9) for "a true 4 read as 9"
most_confused = None
### BEGIN SOLUTION
confusion = torch.zeros(10, 10, dtype=torch.long)  # rows: true digit, columns: predicted
for reading, truth, k in zip(readings["attention"], test_strips.targets, test_strips.lengths):
    if len(reading) == int(k):
        for d_true, d_read in zip(truth[:k].tolist(), reading):
            confusion[d_true, d_read] += 1
mistakes = confusion - torch.diag(torch.diag(confusion))
flat = int(mistakes.argmax())
most_confused = (flat // 10, flat % 10)
print(f"most frequent mistake: a true {most_confused[0]} read as {most_confused[1]} "
      f"({int(mistakes.max())} times among {int(mistakes.sum())} mistakes)")  # fmt: skip
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex3_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
mistake_pairs = Counter(
    (d_true, d_read)
    for reading, truth, k in zip(readings["attention"], test_strips.targets, test_strips.lengths)
    if len(reading) == int(k)
    for d_true, d_read in zip(truth[:k].tolist(), reading)
    if d_true != d_read
)
ok_3 = helpers.verdict(
    most_confused,
    lambda pair: mistake_pairs[tuple(pair)] == max(mistake_pairs.values(), default=0),
    "count (true, predicted) pairs with true != predicted, over strips read with the right length",
)
### BEGIN HIDDEN TESTS
assert ok_3, "exercise 3 is not right"
### END HIDDEN TESTS

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
#
# - A CNN turns an image into a sequence: pool the height away and read the feature map
#   column by column. Each column of our encoder sees 33 pixels, a bit more than a digit.
# - A GRU decoder writes one token per step from `<start>` until it emits `<end>`; teacher
#   forcing feeds it the true previous token during training. Padded targets need a mask, so
#   the loss is the mean over real tokens only.
# - Greedy decoding takes the best token at each step; beam search keeps the $k$ best partial
#   sequences. Width 1 is greedy; an unlimited width is exhaustive search.
# - Additive attention scores every column against the decoder state and reads a weighted
#   mean of them. It learned, from the digit strings alone, to look at each digit in turn.
# - On real MNIST strips in fast mode, the attention decoder reads about two thirds of the
#   test strips exactly right and the plain decoder well under half; the plain decoder almost
#   never gets a five-digit strip right. Beam search helps the unsure plain decoder find more
#   probable readings, and changes little for the confident attention decoder. In the
#   recorded full-size run (20 times the strips, a 4 times larger state) the two decoders tie,
#   both reading over 95 % of the strips right: attention's lead is a small-model, small-data
#   effect on sequences this short.
# - With words for digits and a photo for the strip, this is Show and Tell (no attention) and
#   Show, Attend and Tell (attention): an image captioner.
#
# ## Further reading
#
# - D. Bahdanau, K. Cho, Y. Bengio, "Neural machine translation by jointly learning to align
#   and translate", ICLR 2015 (additive attention).
# - O. Vinyals, A. Toshev, S. Bengio, D. Erhan, "Show and tell: a neural image caption
#   generator", CVPR 2015.
# - K. Xu et al., "Show, attend and tell: neural image caption generation with visual
#   attention", ICML 2015.
# - I. Sutskever, O. Vinyals, Q. Le, "Sequence to sequence learning with neural networks",
#   NeurIPS 2014 (encoder-decoder, beam search).
# - B. Shi, X. Bai, C. Yao, "An end-to-end trainable neural network for image-based sequence
#   recognition and its application to scene text recognition", TPAMI 2017 (CRNN: CNN columns
#   read by an RNN).
# - I. Goodfellow et al., "Multi-digit number recognition from Street View imagery using deep
#   convolutional neural networks", ICLR 2014.
# - S. Bengio, O. Vinyals, N. Jaitly, N. Shazeer, "Scheduled sampling for sequence prediction
#   with recurrent neural networks", NeurIPS 2015 (teacher forcing and its pitfall).
# - A. Karpathy, L. Fei-Fei, "Deep visual-semantic alignments for generating image
#   descriptions", CVPR 2015.
