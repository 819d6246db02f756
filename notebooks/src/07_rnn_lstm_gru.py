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
# # 07 Recurrent networks: RNN, LSTM and GRU
#
# A convolution shares its weights across *space*; a recurrent network shares its weights
# across *time*. It reads a sequence one element at a time and carries a hidden state forward,
# so what it says about word 10 can depend on words 1 to 9. That is exactly what a
# bag-of-words model throws away: "good, not bad" and "bad, not good" contain the same words.
# In this notebook you write the RNN, GRU and LSTM cells yourself from their equations and
# prove they compute what `nn.RNN`, `nn.GRU` and `nn.LSTM` compute, watch gradients vanish and
# explode through time, then train a sentence classifier and a character-level Shakespeare
# generator on real text.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Learning goals
#
# - Build a bag-of-words design matrix and show why it cannot see word order.
# - Write the RNN, GRU and LSTM update equations as code and match PyTorch's modules exactly,
#   including where PyTorch's GRU and LSTM differ from the lecture's equations.
# - Count the parameters of each cell (1x, 3x, 4x) from a formula.
# - Explain backpropagation through time, vanishing and exploding gradients, and gradient
#   clipping, with measurements.
# - Train many-to-one models (bag-of-words, GRU, bidirectional LSTM, 1-D CNN) on real
#   sentences, and a many-to-many character language model; sample from it with a temperature.
# - Relate one-hot vectors to learned embeddings, and measure why the fused `nn.LSTM` is faster
#   than a Python loop.
#
# ## You should already know
#
# - PyTorch tensors, `nn.Module`, `nn.Linear`, autograd and an optimiser step (notebooks 01-05).
# - The sigmoid and tanh functions, matrix-vector products, softmax and cross-entropy.
# - What a 1-D convolution does (notebook 01).

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
import re
from collections import Counter

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence
from torch.utils.data import DataLoader, TensorDataset

helpers.seed_everything()
device = helpers.best_device()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1. Bag-of-words: a fixed-size vector that forgets the order
#
# The classic way to classify text is to count words. The lecture (STAT 453, L14) uses three
# sentences, builds a vocabulary of the words that occur (sorted alphabetically, each mapped
# to a column) and writes every sentence as a row of counts: the *design matrix* $\mathbf{X}$.
# Any classifier (logistic regression, an MLP) can then be trained on $\mathbf{X}$ and the
# labels $\mathbf{y} = [0, 1, 0]$.
#
# First by hand: lowercase, split into words, sort the distinct words, count.

# %% slideshow={"slide_type": "subslide"}
# NBVAL_CHECK_OUTPUT
docs = [
    "The sun is shining",
    "The weather is sweet",
    "The sun is shining, the weather is sweet, and one and one is two",
]


def words(text: str) -> list[str]:
    """Lowercase words of two or more letters (the same rule scikit-learn uses by default)."""
    return re.findall(r"\b\w\w+\b", text.lower())


vocabulary = {w: i for i, w in enumerate(sorted({w for d in docs for w in words(d)}))}
X_by_hand = np.zeros((len(docs), len(vocabulary)), dtype=np.int64)
for row, d in enumerate(docs):
    for w in words(d):
        X_by_hand[row, vocabulary[w]] += 1
print(vocabulary)
print(X_by_hand)

# %% [markdown]
# The same with scikit-learn's `CountVectorizer`, and the self-check against the vocabulary and
# the matrix typed in from the slide.

# %% slideshow={"slide_type": "subslide"}
from sklearn.feature_extraction.text import CountVectorizer

slide_vocabulary = {
    "and": 0,
    "is": 1,
    "one": 2,
    "shining": 3,
    "sun": 4,
    "sweet": 5,
    "the": 6,
    "two": 7,
    "weather": 8,
}
slide_X = np.array(
    [[0, 1, 0, 1, 1, 0, 1, 0, 0], [0, 1, 0, 0, 0, 1, 1, 0, 1], [2, 3, 2, 1, 1, 1, 2, 1, 1]]
)

counter = CountVectorizer()
X_sklearn = counter.fit_transform(docs).toarray()  # (3 sentences, 9 words)
sklearn_vocabulary = {w: int(i) for w, i in counter.vocabulary_.items()}

helpers.check_equal(vocabulary, slide_vocabulary, "vocabulary built by hand")
helpers.check_equal(sklearn_vocabulary, slide_vocabulary, "CountVectorizer's vocabulary")
helpers.check_equal(X_by_hand, slide_X, "design matrix built by hand")
helpers.check_equal(X_sklearn, slide_X, "CountVectorizer's design matrix")

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Predict.** Are the bag-of-words vectors of *the dog bites the man* and *the man bites the dog*
# different?

# %% [markdown] slideshow={"slide_type": "fragment"}
# **Answer.** No, they are identical: both contain *the* twice and *dog*, *bites*, *man* once.
# Bag-of-words keeps which words occur and how often, never where.

# %% slideshow={"slide_type": "fragment"}
same_words = counter.fit_transform(["the dog bites the man", "the man bites the dog"]).toarray()
helpers.check_equal(same_words[0], same_words[1], "bag-of-words vectors of the two sentences")

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Blind to order.** A row of counts keeps *which* words occur and how often, never *where*.
# Two sentences made of the same words in a different order get the same row, so no
# classifier trained on these rows can tell them apart, however clever it is.

# %% slideshow={"slide_type": "subslide"}
# NBVAL_CHECK_OUTPUT
pairs = [("the dog bites the man", "the man bites the dog"), ("good, not bad", "bad, not good")]
for a, b in pairs:
    va, vb = counter.fit_transform([a, b]).toarray()
    print(f"{a!r:24} -> {va}\n{b!r:24} -> {vb}")
    helpers.check_equal(va, vb, f"bag-of-words vectors of {a!r} and {b!r}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2. The recurrent cell: one set of weights, applied at every time step
#
# A recurrent layer reads $\mathbf{x}_1, \dots, \mathbf{x}_T$ and keeps a hidden state
# $\mathbf{h}_t$. The lecture describes the input of step $t$ as "the original input
# feature, concatenated with the layer's output at the previous time step". With PyTorch's
# names (Elman's RNN):
#
# $$\mathbf{h}_t = \tanh\left(W_{ih}\mathbf{x}_t + \mathbf{b}_{ih} + W_{hh}\mathbf{h}_{t-1} + \mathbf{b}_{hh}\right)
#   = \tanh\left([W_{ih}\; W_{hh}] \begin{bmatrix}\mathbf{x}_t \\ \mathbf{h}_{t-1}\end{bmatrix} + \mathbf{b}\right)$$
#
# The same $W_{ih}, W_{hh}$ are used at every step: parameter sharing across time. Below we
# draw our own weights, run the loop ourselves on a batch of sequences, copy the weights into
# `nn.RNN` and compare every output. Shapes: $B$ sequences, $T$ steps, $I$ input features,
# $H$ hidden units; `batch_first=True` means tensors are $(B, T, \cdot)$.

# %% slideshow={"slide_type": "subslide"}
B, T, I, H = 3, 6, 4, 5
x = torch.randn(B, T, I)  # (B, T, I)
h0 = torch.randn(B, H)  # (B, H)


def random_weights(gates: int) -> dict[str, torch.Tensor]:
    """Weights for a cell with `gates` stacked blocks (RNN 1, GRU 3, LSTM 4)."""
    return {
        "w_ih": 0.5 * torch.randn(gates * H, I),
        "w_hh": 0.5 * torch.randn(gates * H, H),
        "b_ih": 0.5 * torch.randn(gates * H),
        "b_hh": 0.5 * torch.randn(gates * H),
    }


PYTORCH_NAMES = {
    "w_ih": "weight_ih_l0",
    "w_hh": "weight_hh_l0",
    "b_ih": "bias_ih_l0",
    "b_hh": "bias_hh_l0",
}


def copy_into(module: nn.RNNBase, weights: dict[str, torch.Tensor]) -> nn.RNNBase:
    """Copy our weights into a one-layer PyTorch recurrent module."""
    with torch.no_grad():
        for ours, theirs in PYTORCH_NAMES.items():
            getattr(module, theirs).copy_(weights[ours])
    return module


def rnn_layer(x, h, w_ih, w_hh, b_ih, b_hh):
    """Elman RNN over a batch: x (B, T, I), h (B, H) -> outputs (B, T, H), last state (B, H)."""
    outputs = []
    for t in range(x.shape[1]):
        h = torch.tanh(x[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh)  # (B, H)
        outputs.append(h)
    return torch.stack(outputs, dim=1), h


rnn_w = random_weights(gates=1)
ours, ours_last = rnn_layer(x, h0, **rnn_w)
rnn = copy_into(nn.RNN(I, H, batch_first=True), rnn_w)
theirs, theirs_last = rnn(x, h0.unsqueeze(0))  # h0 as (layers=1, B, H)
helpers.check_close(ours, theirs, "our RNN outputs vs nn.RNN", atol=1e-6)
helpers.check_close(ours_last, theirs_last[0], "our last RNN state vs nn.RNN's h_n", atol=1e-6)

# the concatenated form from the slide: one matrix [W_ih W_hh] applied to [x_t; h_{t-1}]
W_cat = torch.cat([rnn_w["w_ih"], rnn_w["w_hh"]], dim=1)  # (H, I + H)
h1_cat = torch.tanh(torch.cat([x[:, 0], h0], dim=1) @ W_cat.T + rnn_w["b_ih"] + rnn_w["b_hh"])
helpers.check_close(h1_cat, ours[:, 0], "concatenated form of the first step")
print("output shape", tuple(ours.shape), "| last state shape", tuple(ours_last.shape))

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### The GRU: gates that choose to reset or to update
#
# The lecture writes the gated recurrent unit (Cho et al., 2014) without biases as
#
# $$\mathbf{r}_t = \sigma(W_r\mathbf{x}_t + U_r\mathbf{h}_{t-1}),\quad
#   \mathbf{z}_t = \sigma(W_z\mathbf{x}_t + U_z\mathbf{h}_{t-1}),\quad
#   \hat{\mathbf{h}}_t = \tanh\big(W\mathbf{x}_t + U(\mathbf{r}_t \odot \mathbf{h}_{t-1})\big),\quad
#   \mathbf{h}_t = (1 - \mathbf{z}_t)\odot\mathbf{h}_{t-1} + \mathbf{z}_t \odot \hat{\mathbf{h}}_t .$$
#
# PyTorch's `nn.GRU` (the cuDNN form) computes
#
# $$\mathbf{n}_t = \tanh\big(W_{in}\mathbf{x}_t + \mathbf{b}_{in} + \mathbf{r}_t \odot (W_{hn}\mathbf{h}_{t-1} + \mathbf{b}_{hn})\big),\qquad
#   \mathbf{h}_t = (1 - \mathbf{z}_t)\odot\mathbf{n}_t + \mathbf{z}_t \odot \mathbf{h}_{t-1}$$
#
# (with biases in $\mathbf{r}_t$ and $\mathbf{z}_t$ too). Two differences to notice:
#
# 1. **The reset gate is applied after the recurrent matrix multiply**:
#    $\mathbf{r}\odot(W_{hn}\mathbf{h})$ instead of $U(\mathbf{r}\odot\mathbf{h})$. This is a
#    genuinely different function (checked below); it lets all three recurrent products be
#    done as one big matrix multiply, which is faster.
# 2. **The update gate's role is swapped**: PyTorch's $\mathbf{z}$ keeps the *old* state. This is
#    only a relabelling, because $\sigma(-a) = 1 - \sigma(a)$: negate the $z$ weights and you
#    get the lecture's gate.
#
# `weight_ih_l0` stacks the three blocks in the order $r, z, n$: shape $(3H, I)$.


# %% slideshow={"slide_type": "subslide"}
def gru_layer(x, h, w_ih, w_hh, b_ih, b_hh, reset_after=True):
    """GRU over a batch: x (B, T, I), h (B, H) -> (B, T, H), (B, H).

    reset_after=True is PyTorch's form r * (W_hn h + b_hn); False is the lecture's W (r * h)."""
    W_ir, W_iz, W_in = w_ih.chunk(3)  # each (H, I)
    W_hr, W_hz, W_hn = w_hh.chunk(3)  # each (H, H)
    b_ir, b_iz, b_in = b_ih.chunk(3)
    b_hr, b_hz, b_hn = b_hh.chunk(3)
    outputs = []
    for t in range(x.shape[1]):
        xt = x[:, t]  # (B, I)
        r = torch.sigmoid(xt @ W_ir.T + b_ir + h @ W_hr.T + b_hr)  # (B, H)
        z = torch.sigmoid(xt @ W_iz.T + b_iz + h @ W_hz.T + b_hz)  # (B, H)
        if reset_after:
            n = torch.tanh(xt @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))
        else:
            n = torch.tanh(xt @ W_in.T + b_in + (r * h) @ W_hn.T + b_hn)
        h = (1 - z) * n + z * h  # (B, H)
        outputs.append(h)
    return torch.stack(outputs, dim=1), h


gru_w = random_weights(gates=3)
gru = copy_into(nn.GRU(I, H, batch_first=True), gru_w)
theirs, theirs_last = gru(x, h0.unsqueeze(0))
ours, ours_last = gru_layer(x, h0, **gru_w)
helpers.check_close(ours, theirs, "our GRU (reset after the matrix multiply) vs nn.GRU", atol=1e-6)
helpers.check_close(ours_last, theirs_last[0], "our last GRU state vs nn.GRU's h_n", atol=1e-6)

slides_form, _ = gru_layer(x, h0, **gru_w, reset_after=False)
gap = (slides_form - theirs).abs().max().item()
helpers.check_true(
    gap > 1e-3,
    "the lecture's GRU (reset before the multiply) is a different function",
    f"largest difference only {gap:.2g}",
)
a = torch.randn(1000)
helpers.check_close(torch.sigmoid(-a), 1 - torch.sigmoid(a), "sigma(-a) = 1 - sigma(a)", atol=1e-6)
print(f"largest difference between the two GRU forms: {gap:.3f}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### The LSTM: an explicit memory cell behind three gates
#
# The LSTM (Hochreiter and Schmidhuber, 1997, with the forget gate of Gers et al., 2000) keeps a
# cell $\mathbf{c}_t$ beside the output $\mathbf{h}_t$. PyTorch's `nn.LSTM` computes
#
# $$\mathbf{i}_t = \sigma(W_{ii}\mathbf{x}_t + \mathbf{b}_{ii} + W_{hi}\mathbf{h}_{t-1} + \mathbf{b}_{hi}),\quad
#   \mathbf{f}_t = \sigma(\dots),\quad \mathbf{g}_t = \tanh(\dots),\quad \mathbf{o}_t = \sigma(\dots)$$
# $$\mathbf{c}_t = \mathbf{f}_t \odot \mathbf{c}_{t-1} + \mathbf{i}_t \odot \mathbf{g}_t, \qquad
#   \mathbf{h}_t = \mathbf{o}_t \odot \tanh(\mathbf{c}_t)$$
#
# with the four blocks stacked in the order $i, f, g, o$ ($\mathbf{g}$ is the lecture's
# candidate $\hat{\mathbf{c}}_t$). The lecture's gates also look at the memory itself,
# "peephole connections" with diagonal matrices $V$:
# $\mathbf{i}_t = \sigma(\dots + V_i\mathbf{c}_{t-1})$, $\mathbf{f}_t = \sigma(\dots + V_f\mathbf{c}_{t-1})$,
# $\mathbf{o}_t = \sigma(\dots + V_o\mathbf{c}_t)$. **PyTorch's LSTM has no peepholes.** Our
# function takes optional peephole vectors (the diagonals of $V$) so you can see both.


# %% slideshow={"slide_type": "notes"}
def lstm_layer(x, h, c, w_ih, w_hh, b_ih, b_hh, peep=None):
    """LSTM over a batch: x (B, T, I), h and c (B, H) -> (B, T, H), (B, H), (B, H).

    peep: optional (v_i, v_f, v_o), each (H,), the diagonals of the lecture's peephole matrices."""
    outputs = []
    for t in range(x.shape[1]):
        gates = x[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh  # (B, 4H)
        a_i, a_f, a_g, a_o = gates.chunk(4, dim=1)  # each (B, H)
        if peep is not None:
            a_i, a_f = a_i + peep[0] * c, a_f + peep[1] * c
        i, f, g = torch.sigmoid(a_i), torch.sigmoid(a_f), torch.tanh(a_g)
        c = f * c + i * g  # (B, H)
        o = torch.sigmoid(a_o + peep[2] * c if peep is not None else a_o)
        h = o * torch.tanh(c)  # (B, H)
        outputs.append(h)
    return torch.stack(outputs, dim=1), h, c


c0 = torch.randn(B, H)
lstm_w = random_weights(gates=4)
lstm = copy_into(nn.LSTM(I, H, batch_first=True), lstm_w)
theirs, (theirs_h, theirs_c) = lstm(x, (h0.unsqueeze(0), c0.unsqueeze(0)))
ours, ours_h, ours_c = lstm_layer(x, h0, c0, **lstm_w)
helpers.check_close(ours, theirs, "our LSTM outputs vs nn.LSTM", atol=1e-6)
helpers.check_close(ours_h, theirs_h[0], "our last LSTM h vs nn.LSTM's h_n", atol=1e-6)
helpers.check_close(ours_c, theirs_c[0], "our last LSTM c vs nn.LSTM's c_n", atol=1e-6)

peepholes = tuple(torch.randn(H) for _ in range(3))
with_peep, _, _ = lstm_layer(x, h0, c0, **lstm_w, peep=peepholes)
helpers.check_true(
    (with_peep - theirs).abs().max() > 1e-3,
    "an LSTM with peepholes computes something nn.LSTM does not",
)
zero_peep, _, _ = lstm_layer(x, h0, c0, **lstm_w, peep=tuple(torch.zeros(H) for _ in range(3)))
helpers.check_close(zero_peep, theirs, "peepholes set to zero give back nn.LSTM", atol=1e-6)
helpers.check_equal(
    sorted(n for n, _ in lstm.named_parameters()),
    ["bias_hh_l0", "bias_ih_l0", "weight_hh_l0", "weight_ih_l0"],
    "nn.LSTM's parameters (no peephole vectors among them)",
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Predict.** `nn.RNN(32, 64)` has $64 \cdot (32 + 64) + 2 \cdot 64 = 6272$ parameters. How many do
# `nn.GRU(32, 64)` and `nn.LSTM(32, 64)` have?

# %% [markdown] slideshow={"slide_type": "fragment"}
# **Answer.** 18,816 and 25,088: a GRU has three such blocks of weights (reset, update, new) and an
# LSTM four (input, forget, cell, output).

# %% slideshow={"slide_type": "fragment"}
with torch.random.fork_rng():  # build without changing the random numbers used later
    sizes = [sum(p.numel() for p in cls(32, 64).parameters()) for cls in (nn.RNN, nn.GRU, nn.LSTM)]
helpers.check_equal(sizes, [6272, 3 * 6272, 4 * 6272], "parameters of RNN, GRU and LSTM")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Parameter counts: 1x, 3x, 4x
#
# An RNN layer has one block of $W_{ih}$ $(H \times I)$, $W_{hh}$ $(H \times H)$ and two bias
# vectors (PyTorch keeps $\mathbf{b}_{ih}$ and $\mathbf{b}_{hh}$ separately, although only
# their sum matters). A GRU has three such blocks ($r, z, n$) and an LSTM four ($i, f, g, o$):
#
# $$P_\text{RNN} = H(I + H) + 2H,\qquad P_\text{GRU} = 3P_\text{RNN},\qquad P_\text{LSTM} = 4P_\text{RNN}.$$
#
# The lecture's "GRU faster, fewer parameters" is this factor 3/4.


# %%
# NBVAL_CHECK_OUTPUT
def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


I_demo, H_demo = 32, 64
p_rnn = H_demo * (I_demo + H_demo) + 2 * H_demo
print(f"{'layer':6} {'formula':>8} {'module':>8}")
for name, cls, blocks in [("RNN", nn.RNN, 1), ("GRU", nn.GRU, 3), ("LSTM", nn.LSTM, 4)]:
    counted = n_params(cls(I_demo, H_demo))
    print(f"{name:6} {blocks * p_rnn:8d} {counted:8d}")
    helpers.check_equal(counted, blocks * p_rnn, f"parameters of nn.{name}({I_demo}, {H_demo})")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3. Backpropagation through time: vanishing and exploding gradients
#
# Unrolled over $T$ steps, a recurrent layer is a $T$-layer deep network whose layers share
# weights, and backpropagation runs back through every step (BPTT); the gradient for a shared
# weight is the sum of its contributions from every step. For the Elman RNN the chain rule
# gives, for a loss $L$ that depends on the last state,
#
# $$\frac{\partial L}{\partial \mathbf{x}_1} = \frac{\partial L}{\partial \mathbf{h}_T}
#   \prod_{t=T}^{2} \underbrace{\operatorname{diag}(1 - \mathbf{h}_t^2)\, W_{hh}}_{\partial \mathbf{h}_t / \partial \mathbf{h}_{t-1}}
#   \cdot \operatorname{diag}(1 - \mathbf{h}_1^2)\, W_{ih}.$$
#
# A product of $T-1$ matrices: if their norms are below 1 the gradient shrinks geometrically
# (vanishes), above 1 it grows geometrically (explodes). First the formula against autograd:

# %%
x_one = torch.randn(1, 8, I, requires_grad=True)  # (1, T=8, I)
states, last = rnn_layer(x_one, torch.zeros(1, H), **rnn_w)
last.sum().backward()  # L = sum of the last state

hs = states[0].detach()  # (T, H)
grad = torch.ones(H)  # dL/dh_T
for t in range(hs.shape[0] - 1, 0, -1):
    grad = (grad * (1 - hs[t] ** 2)) @ rnn_w["w_hh"]  # through dh_t/dh_{t-1}
grad = (grad * (1 - hs[0] ** 2)) @ rnn_w["w_ih"]  # through dh_1/dx_1
helpers.check_close(grad, x_one.grad[0, 0], "chain-rule product vs autograd for dL/dx_1", atol=1e-6)

# %% [markdown] slideshow={"slide_type": "subslide"}
# Now the size of $\partial L / \partial \mathbf{x}_1$ as the sequence gets longer, for freshly
# initialised layers (PyTorch's default initialisation, 32 hidden units, averaged over a batch
# of random sequences). The LSTM's memory path $\mathbf{c}_t = \mathbf{f}_t \odot \mathbf{c}_{t-1} + \dots$
# multiplies the gradient by the forget gate only, with no weight matrix and no $\tanh'$ in
# between. At the default initialisation $\mathbf{f} \approx \sigma(0) = 0.5$, so it still
# shrinks; but the gate is learned, and a network that needs to remember opens it. We show
# that by setting the forget-gate bias to 3 ($\sigma(3) \approx 0.95$). A positive
# forget-gate bias is a common initialisation (Jozefowicz et al., 2015, recommend 1); 3 makes
# the effect plain.

# %% slideshow={"slide_type": "subslide"}
lengths = [5, 10, 20, 40, 80]
I_g, H_g = 8, 32


def grad_norm_first_input(layer: nn.RNNBase, T: int, n_seq: int = 16) -> float:
    """Mean norm of d(sum of the last output)/d(first input) over `n_seq` random sequences."""
    x = torch.randn(n_seq, T, I_g, requires_grad=True)  # (n_seq, T, I)
    out, _ = layer(x)  # (n_seq, T, H)
    out[:, -1].sum().backward()
    return x.grad[:, 0].norm(dim=1).mean().item()


torch.manual_seed(0)
layers = {
    "RNN": nn.RNN(I_g, H_g, batch_first=True),
    "GRU": nn.GRU(I_g, H_g, batch_first=True),
    "LSTM": nn.LSTM(I_g, H_g, batch_first=True),
}
layers["LSTM, forget bias 3"] = nn.LSTM(I_g, H_g, batch_first=True)
with torch.no_grad():
    biased = layers["LSTM, forget bias 3"]
    biased.bias_ih_l0[H_g : 2 * H_g] = 3.0  # the f block of (i, f, g, o)
    biased.bias_hh_l0[H_g : 2 * H_g] = 0.0
norms = {name: [grad_norm_first_input(layer, T) for T in lengths] for name, layer in layers.items()}

fig, ax = plt.subplots(figsize=(6, 4))
for name, values in norms.items():
    ax.semilogy(lengths, np.maximum(values, 1e-30), marker="o", label=name)
ax.set_title("Gradient reaching the first input (vanishing)")
ax.set_xlabel("sequence length T")
ax.set_ylabel("mean ||dL/dx_1|| (log scale)")
ax.legend()
plt.show()

# %% slideshow={"slide_type": "subslide"}
rnn_drop = norms["RNN"][0] / max(norms["RNN"][-1], 1e-38)
lstm_drop = norms["LSTM"][0] / max(norms["LSTM"][-1], 1e-38)
lstm_keep = norms["LSTM, forget bias 3"][-1] / norms["LSTM, forget bias 3"][0]
helpers.check_true(
    rnn_drop > 1e6,
    "the RNN's gradient to x_1 shrinks over a million-fold from T=5 to T=80",
    f"it shrank {rnn_drop:.3g}-fold",
)
helpers.check_true(
    lstm_drop > 1e6,
    "the default LSTM's gradient (forget gate about half open) shrinks over a million-fold too",
    f"it shrank {lstm_drop:.3g}-fold",
)
helpers.check_true(
    lstm_keep > 0.1,
    "the LSTM with an open forget gate keeps over 10% of it",
    f"it kept {lstm_keep:.3g} of it",
)
print(
    f"from T=5 to T=80 the gradient shrinks {rnn_drop:.1e}-fold in the RNN and "
    f"{lstm_drop:.1e}-fold in the default LSTM; with forget bias 3 it is {lstm_keep:.2f} "
    "times as large at T=80 as at T=5"
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Exploding.** With $\tanh$ a large recurrent matrix mostly saturates the units (and
# $\tanh' \approx 0$ then stops the gradient), so the clean way to see explosion is a ReLU RNN
# whose recurrent matrix is $s I$ (the identity-initialised "IRNN" of Le et al., 2015) with
# positive inputs and weights, so every unit stays active. Then
# $\mathbf{h}_T = \sum_t s^{T-t} W_{ih}\mathbf{x}_t$ and
#
# $$\left\| \frac{\partial \sum_j h_{T,j}}{\partial \mathbf{x}_1} \right\| = s^{T-1} \left\| W_{ih}^\top \mathbf{1} \right\|,$$
#
# which explodes for $s > 1$.


# %% slideshow={"slide_type": "subslide"}
def relu_rnn(scale: float, T: int) -> tuple[nn.RNN, torch.Tensor]:
    """A ReLU RNN with W_hh = scale * I, positive W_ih, zero biases, and a positive input."""
    layer = nn.RNN(I_g, H_g, nonlinearity="relu", batch_first=True)
    with torch.no_grad():
        layer.weight_hh_l0.copy_(scale * torch.eye(H_g))
        layer.weight_ih_l0.uniform_(0.01, 0.1)
        layer.bias_ih_l0.zero_()
        layer.bias_hh_l0.zero_()
    return layer, torch.rand(1, T, I_g) + 0.1  # input (1, T, I)


scale, T_long = 1.5, 40
layer, x_pos = relu_rnn(scale, T_long)
x_pos.requires_grad_(True)
out, _ = layer(x_pos)
out[:, -1].sum().backward()
formula = scale ** (T_long - 1) * layer.weight_ih_l0.sum(dim=0).norm()
helpers.check_close(
    x_pos.grad[0, 0].norm(), formula.detach(), "||dL/dx_1|| vs s^(T-1) ||W_ih^T 1||", rtol=1e-4
)
print(f"s = {scale}, T = {T_long}: ||dL/dx_1|| = {x_pos.grad[0, 0].norm():.3e}")

# %% [markdown]
# One knob, both failure modes: the same ReLU RNN with $s = 0.9$, $1$ and $1.5$. Dots are
# autograd, dashed lines the formula $s^{T-1}\|W_{ih}^\top \mathbf{1}\|$.


# %% slideshow={"slide_type": "subslide"}
def relu_rnn_grad(scale: float, T: int) -> tuple[float, float]:
    """(autograd, formula) for ||d sum(h_T) / d x_1|| of `relu_rnn(scale, T)`."""
    torch.manual_seed(0)
    layer, x = relu_rnn(scale, T)
    x.requires_grad_(True)
    layer(x)[0][:, -1].sum().backward()
    return x.grad[0, 0].norm().item(), scale ** (T - 1) * layer.weight_ih_l0.sum(
        dim=0
    ).norm().item()


fig, ax = plt.subplots(figsize=(6, 4))
for s_value, colour in [(0.9, "tab:blue"), (1.0, "tab:gray"), (1.5, "tab:red")]:
    measured, predicted = zip(*(relu_rnn_grad(s_value, T) for T in lengths))
    helpers.check_close(
        measured, predicted, f"autograd vs s^(T-1) ||W_ih^T 1|| for s = {s_value}", rtol=1e-4
    )
    ax.semilogy(lengths, measured, "o", color=colour, label=f"s = {s_value}")
    ax.semilogy(lengths, predicted, "--", color=colour)
ax.set_title("ReLU RNN with W_hh = s I: vanishing (s < 1) or exploding (s > 1)")
ax.set_xlabel("sequence length T")
ax.set_ylabel("||dL/dx_1|| (log scale)")
ax.legend()
plt.show()

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Gradient clipping** (Pascanu et al., 2013) is the standard remedy the lecture mentions: if
# the norm of all gradients together exceeds a threshold $c$, rescale them,
#
# $$\mathbf{g} \leftarrow \mathbf{g} \cdot \min\left(1, \frac{c}{\|\mathbf{g}\|}\right),$$
#
# so the step keeps its direction but not its absurd length.
# `torch.nn.utils.clip_grad_norm_` does this in place and returns the norm before clipping.

# %% slideshow={"slide_type": "subslide"}
layer.zero_grad()
out, _ = layer(x_pos.detach())
loss = out[:, -1].sum()
loss.backward()
before = [p.grad.clone() for p in layer.parameters()]
total = torch.sqrt(sum((g**2).sum() for g in before))

max_norm = 1.0
returned = torch.nn.utils.clip_grad_norm_(layer.parameters(), max_norm=max_norm)
after = [p.grad for p in layer.parameters()]
helpers.check_close(
    returned, total, "clip_grad_norm_'s return value is the norm before clipping", rtol=1e-4
)
helpers.check_close(
    torch.sqrt(sum((g**2).sum() for g in after)),
    torch.tensor(max_norm),
    "norm after clipping",
    rtol=1e-4,
)
for g0, g1 in zip(before, after):
    helpers.check_close(
        g1,
        g0 * min(1.0, max_norm / total.item()),
        "clipped gradient = g * c/||g||",
        rtol=1e-4,
        atol=1e-12,
    )
print(f"gradient norm before clipping {total:.3e}, after {max_norm}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4. Many-to-one: classifying real sentences, where word order matters
#
# A many-to-one model reads a whole sentence and outputs one label (sentiment analysis in the
# lecture). We use real movie-review sentences from `helpers.load_sentiment()` and compare four
# models: a **bag-of-words** logistic regression (the baseline from section 1), a **GRU**, a
# **bidirectional LSTM** (one LSTM reads left to right, another right to left; their final
# states are concatenated) and a **1-D CNN** (Kim, 2014: convolve over word embeddings, take
# the maximum over time). Negations ("not good", "not bad") are where order matters most.
#
# First the data: the real sentences, a simple tokeniser, a vocabulary built from the
# training split only, and fixed-length index tensors padded with 0 at the end.

# %% slideshow={"slide_type": "subslide"}
corpus = "sst2"  # SST-2: movie-review sentences and phrases, rich in negations
train_all = helpers.load_sentiment(corpus, "train", fast=False)
test_set = helpers.load_sentiment(corpus, "test")  # fast mode: a class-balanced 500
n_val = helpers.pick(500, 2000)
n_train = helpers.pick(5000, len(train_all) - n_val)
shuffled = torch.randperm(len(train_all), generator=torch.Generator().manual_seed(0))
train_set = train_all.subset(shuffled[:n_train])
val_set = train_all.subset(
    shuffled[n_train : n_train + n_val]
)  # for choosing, not for the final score
print(
    f"train {len(train_set)}, validation {len(val_set)}, test {len(test_set)} {test_set.class_counts()}"
)
print("example:", repr(train_set.sentences[0]), "->", train_set.classes[int(train_set.labels[0])])


# %% slideshow={"slide_type": "subslide"}
def tokenize(text: str) -> list[str]:
    """Lowercase words; keeps contractions ("don't") and SST's split "n't" as one token."""
    return re.findall(r"[a-z0-9]+(?:'[a-z]+)?|n't", text.lower())


word_counts = Counter(w for s in train_set.sentences for w in tokenize(s))
itos = ["<pad>", "<unk>"] + [w for w, n in word_counts.most_common() if n >= 2]
stoi = {w: i for i, w in enumerate(itos)}
max_len = helpers.pick(40, 60)


def encode(sentences: list[str]) -> torch.Tensor:
    """Word indices (N, max_len): unknown words -> 1, padding -> 0 at the end."""
    out = torch.zeros(len(sentences), max_len, dtype=torch.int64)
    for row, s in enumerate(sentences):
        ids = [stoi.get(w, 1) for w in tokenize(s)][:max_len] or [1]  # never empty
        out[row, : len(ids)] = torch.tensor(ids)
    return out


X_train, X_val, X_test = (
    encode(d.sentences) for d in (train_set, val_set, test_set)
)  # (N, max_len)
y_train, y_val, y_test = train_set.labels, val_set.labels, test_set.labels  # (N,)
print(f"vocabulary: {len(itos)} words | tokens of the example: {tokenize(train_set.sentences[0])}")
helpers.check_equal(
    tokenize("It isn't good, it's NOT bad."),
    ["it", "isn't", "good", "it's", "not", "bad"],
    "tokens of a test sentence",
)
helpers.check_true(
    bool((X_train[:, 0] != 0).all()), "every encoded sentence has at least one token"
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **The baseline**: logistic regression on the bag-of-words vectors (scikit-learn, with the
# same tokeniser). It keeps every training word, while the sequence models' vocabulary above
# keeps only the words seen at least twice and reads the others as `<unk>`.

# %%
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

bag_of_words = make_pipeline(
    CountVectorizer(tokenizer=tokenize, token_pattern=None, lowercase=False, binary=True),
    LogisticRegression(max_iter=2000),
)
bag_of_words.fit(train_set.sentences, y_train.numpy())
bow_acc = float((bag_of_words.predict(test_set.sentences) == y_test.numpy()).mean())
print(f"bag-of-words test accuracy: {bow_acc:.3f}")
helpers.check_true(
    bow_acc > 0.6, "the bag-of-words baseline beats guessing (50%)", f"{bow_acc:.3f}"
)

# %% [markdown]
# **The sequence models.** All three take a padded batch of word indices $(B, T)$ and return
# two logits. An `nn.Embedding` turns each index into a learned vector (section 6). The
# recurrent models use `pack_padded_sequence`, so the recurrence stops at each sentence's real
# last word instead of running on through the padding; the final hidden state is the sentence
# summary. The CNN masks the padding before its max over time.


# %% slideshow={"slide_type": "notes"}
class RecurrentClassifier(nn.Module):
    """Embedding -> GRU or LSTM (optionally bidirectional) -> last hidden state -> 2 logits."""

    def __init__(
        self, vocab_size: int, embed_dim: int, hidden: int, cell: str, bidirectional: bool
    ):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        rnn_class = {"gru": nn.GRU, "lstm": nn.LSTM}[cell]
        self.rnn = rnn_class(embed_dim, hidden, batch_first=True, bidirectional=bidirectional)
        self.directions = 2 if bidirectional else 1
        self.head = nn.Linear(hidden * self.directions, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lengths = (x != 0).sum(dim=1).clamp(min=1).cpu()  # (B,)
        packed = pack_padded_sequence(
            self.embed(x), lengths, batch_first=True, enforce_sorted=False
        )
        _, h = self.rnn(packed)  # h: (directions, B, hidden); the LSTM returns (h, c)
        h = h[0] if isinstance(h, tuple) else h
        summary = torch.cat(list(h[-self.directions :]), dim=1)  # (B, directions * hidden)
        return self.head(summary)  # (B, 2)


class ConvClassifier(nn.Module):
    """Embedding -> 1-D convolution over time -> ReLU -> max over the real words -> 2 logits."""

    def __init__(self, vocab_size: int, embed_dim: int, channels: int, width: int = 3):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.conv = nn.Conv1d(embed_dim, channels, width, padding=width // 2)
        self.head = nn.Linear(channels, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = self.embed(x).transpose(1, 2)  # (B, embed_dim, T): channels first for Conv1d
        a = F.relu(self.conv(e))  # (B, channels, T)
        a = a.masked_fill((x == 0).unsqueeze(1), float("-inf"))  # padding never wins the max
        return self.head(a.max(dim=2).values)  # (B, channels) -> (B, 2)


embed_dim, hidden = helpers.pick(32, 128), helpers.pick(32, 128)
V_words = len(itos)
models = {
    "GRU": RecurrentClassifier(V_words, embed_dim, hidden, "gru", bidirectional=False),
    "bidirectional LSTM": RecurrentClassifier(
        V_words, embed_dim, hidden, "lstm", bidirectional=True
    ),
    "1-D CNN": ConvClassifier(V_words, embed_dim, channels=2 * hidden),
}
batch = X_train[:4]
for name, model in models.items():
    helpers.check_shape(model(batch), (4, 2), f"{name} logits")

# %% [markdown]
# Padding must not change the answer: the same sentence padded to a longer length gives the
# same logits, thanks to packing (RNNs) and masking (CNN).

# %% slideshow={"slide_type": "subslide"}
longer = torch.cat([batch, torch.zeros(4, 7, dtype=torch.int64)], dim=1)  # (4, max_len + 7)
for name, model in models.items():
    model.eval()
    helpers.check_close(
        model(longer), model(batch), f"{name}: logits with extra padding", atol=1e-5
    )

# %% slideshow={"slide_type": "subslide"}
train_loader = DataLoader(TensorDataset(X_train, y_train), batch_size=64, shuffle=True)
val_loader = DataLoader(TensorDataset(X_val, y_val), batch_size=256)
test_loader = DataLoader(TensorDataset(X_test, y_test), batch_size=256)
epochs = helpers.pick(3, 8)
histories, accuracies = {}, {"bag-of-words + logistic regression": bow_acc}
for name, model in models.items():
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    histories[name] = helpers.fit(
        model,
        train_loader,
        val_loader,
        epochs=epochs,
        optimizer=optimizer,
        seed=helpers.get_settings().seed,
        restore_best=True,
        amp=False,  # small recurrent models: full precision everywhere
    )
    accuracies[name] = helpers.evaluate(model, test_loader)["acc"]
helpers.plot_histories(histories, title="Sentence classifiers: validation accuracy")
plt.show()

# %% slideshow={"slide_type": "subslide"}
print(f"{'model':36} {'parameters':>10} {'test accuracy':>14}")
for name, acc in accuracies.items():
    params = n_params(models[name]) if name in models else len(bag_of_words[0].vocabulary_) + 1
    print(f"{name:36} {params:10d} {acc:14.3f}")
for name, acc in accuracies.items():
    helpers.check_true(
        acc > 0.6, f"{name} beats guessing (50%) on the test sentences", f"{acc:.3f}"
    )

# %% [markdown]
# **Why bag-of-words wins here.** In fast mode, on the real SST-2 phrases, the simple baseline
# beats all three sequence models (checked below). The reasons are in the numbers printed
# next: the sequence models have many more parameters than the baseline, almost all of them in
# the embedding table, one learned vector per word; and the typical vocabulary word occurs only
# a handful of times in the training phrases, so its vector hardly moves from its random
# start in three epochs. Logistic regression needs only one weight per word, and it has one
# for every training word, even those seen once, which the sequence models read as `<unk>`.
# The training phrases are also about half as long as the test sentences, so there is little
# order to learn from. Whether the sequence models overtake bag-of-words with all the training
# phrases, more epochs and bigger models is the question of the recorded full run further down.

# %% slideshow={"slide_type": "subslide"}
embedding_share = {n: m.embed.weight.numel() / n_params(m) for n, m in models.items()}
seen = np.array([word_counts[w] for w in itos[2:]])  # training count of each vocabulary word
length = {
    d: float((X != 0).sum(dim=1).float().mean()) for d, X in [("train", X_train), ("test", X_test)]
}
print("share of parameters in the embedding:", {n: f"{v:.0%}" for n, v in embedding_share.items()})
print(f"median training count of a vocabulary word: {np.median(seen):.0f}")
print(f"mean words per sentence: train {length['train']:.1f}, test {length['test']:.1f}")
best_sequence_model = max(acc for name, acc in accuracies.items() if name in models)
if test_set.real and helpers.get_settings().fast:  # facts of the real data at this size
    helpers.check_true(
        min(embedding_share.values()) > 0.8,
        "most parameters are in the embedding",
        str(embedding_share),
    )
    helpers.check_true(
        np.median(seen) <= 5, "the median word occurs at most 5 times", f"{np.median(seen)}"
    )
    helpers.check_true(
        length["train"] < 0.6 * length["test"],
        "training phrases are about half as long",
        str(length),
    )
    helpers.check_true(
        bow_acc > best_sequence_model,
        "in fast mode bag-of-words beats every sequence model on the real SST-2 test sentences",
        f"bag-of-words {bow_acc:.3f}, best sequence model {best_sequence_model:.3f}",
    )

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### The full-size run, recorded
#
# Full mode trains the three sequence models on every SST-2 training phrase but the 2,000
# held out for validation (58,614 phrases), for 8 epochs, with 128-dimensional embeddings and
# states. On one CPU thread that took about half an hour for the three (the minutes are
# printed below), so it was recorded with
# `OMP_NUM_THREADS=1 python benchmarks/record_full_runs.py 07`: the script runs this notebook's
# own cells in full mode and stores each model in `notebooks/results/07_*.json`, with the
# device, torch version, date, commit and wall time, and the bag-of-words accuracy of the same
# run.

# %%
RECORDED = {"gru": "GRU", "bilstm": "bidirectional LSTM", "cnn": "1-D CNN"}
recorded = helpers.load_recorded_runs("07", RECORDED)  # {model name: record}
print(
    f"{'recorded model':22} {'parameters':>10} {'best val acc':>13} {'test acc':>9} {'minutes':>8}"
)
for name, record in recorded.items():
    final = record["final"]
    print(f"{name:22} {record['config']['params']:>10,} {final['val_acc']:>13.3f} "
          f"{final['test_acc']:>9.3f} {record['wall_s'] / 60:>8.1f}")  # fmt: skip
if recorded:
    any_record = next(iter(recorded.values()))
    recorded_bow = any_record["final"]["bow_test_acc"]
    print(f"{'bag-of-words (same run)':22} {'':>10} {'':>13} {recorded_bow:>9.3f}")
    print(f"{any_record['config']['train_sentences']:,} training phrases")

# %% slideshow={"slide_type": "subslide"}
if recorded:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
    for name, history in histories.items():
        axes[0].plot(
            history["epoch"], [100 * a for a in history["val_acc"]], marker="o", label=name
        )
    for name, record in recorded.items():
        history = helpers.History(record["history"])
        axes[1].plot(
            history["epoch"], [100 * a for a in history["val_acc"]], marker="o", label=name
        )
    axes[0].set(title=f"Live run, {len(train_set):,} phrases", xlabel="epoch",
                ylabel="validation accuracy (%)")  # fmt: skip
    axes[1].set(title=helpers.recorded_label(any_record), xlabel="epoch")
    axes[1].legend()
    fig.suptitle("Sentence classifiers: validation accuracy per epoch, live and recorded full run")
    plt.show()

# %% [markdown]
# What the recorded run says, written from its numbers:

# %%
from IPython.display import Markdown, display


def recorded_summary(recorded: dict, bow: float) -> str:
    """The recorded comparison in words, from the numbers in the records."""
    test = {name: record["final"]["test_acc"] for name, record in recorded.items()}
    val = {name: record["final"]["val_acc"] for name, record in recorded.items()}
    n_test = next(iter(recorded.values()))["config"]["test_sentences"]
    ranked = sorted(test, key=test.get, reverse=True)
    text = "Test accuracy: " + ", ".join(f"{name} {test[name]:.1%}" for name in ranked)
    text += f"; bag-of-words {bow:.1%}. "
    best = ranked[0]
    margin = round((test[best] - bow) * n_test)  # in test sentences
    if margin > 0:
        text += f"The best sequence model, the {best}, beats bag-of-words by {margin} of {n_test} "
    else:
        text += f"Bag-of-words beats the best sequence model, the {best}, by {-margin} of {n_test} "
    text += (
        "test sentences. "
        if abs(margin) > 0.01 * n_test
        else f"test sentences: a tie at this test size, where one point is {n_test / 100:.0f} "
        "sentences. "
    )
    gap = min(val[name] - test[name] for name in test)
    text += (
        f"Every model scores at least {100 * gap:.1f} points higher on the held-out phrases than "
        "on the test sentences: the held-out phrases are pieces of the same reviews as the "
        "training phrases."
    )
    return text


if recorded:
    display(Markdown(recorded_summary(recorded, recorded_bow)))
    best_recorded = max(record["final"]["test_acc"] for record in recorded.values())
    helpers.check_true(
        abs(best_recorded - recorded_bow) < 0.01,
        "with all the training phrases the best sequence model and bag-of-words are within one "
        "point of each other on the test sentences",
        found=f"best sequence model {best_recorded:.3f}, bag-of-words {recorded_bow:.3f}",
    )
    helpers.check_true(
        all(r["final"]["val_acc"] > r["final"]["test_acc"] + 0.05 for r in recorded.values()),
        "each model scores higher on the held-out phrases than on the test sentences",
        found=str(
            {n: (r["final"]["val_acc"], r["final"]["test_acc"]) for n, r in recorded.items()}
        ),
    )
    last_train_acc = {name: r["history"][-1]["train_acc"] for name, r in recorded.items()}
    helpers.check_true(
        min(last_train_acc.values()) > 0.95 and best_recorded < 0.85,
        "the sequence models fit the training phrases almost perfectly, the test sentences not",
        found=f"last-epoch training accuracy {last_train_acc}, best test {best_recorded:.3f}",
    )

# %% [markdown]
# So the full run lifts the sequence models from their fast-mode scores to about bag-of-words'
# level, and no further. Why? The training accuracy ends above 95 % (checked above on the
# records' histories) while the test accuracy stays near 80 %: with 128-dimensional embeddings
# learned from scratch, the sequence models memorise the training phrases. The phrases are
# short pieces of the training reviews, so the held-out phrases are easy and say little about
# whole test sentences. Ways to attack this, not tried here: pretrained word vectors, training on whole sentences, more regularisation (dropout,
# weight decay), a validation set of whole sentences.

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Negation probes.** Short sentences whose label flips with one word. The bag-of-words
# model sees "not" as one more word with one fixed weight, whatever it negates; a sequence
# model can learn that "not" changes the meaning of the *next* word. The small fast-mode
# models are far from perfect here: how many they get right is a measurement, printed below,
# not a promise. Run in full mode to see what more data and epochs change.
#
# For the first four probes we can even *prove* that logistic regression on word counts must
# get at least one wrong. Its score is a sum of word weights; let $c$ be the weight of
# "this movie is" plus the bias. Getting all four right would need
# $c + w_\text{good} > 0$, $c + w_\text{not} + w_\text{good} < 0$, $c + w_\text{bad} < 0$ and
# $c + w_\text{not} + w_\text{bad} > 0$. The first and third give $w_\text{good} > w_\text{bad}$,
# the second and fourth $w_\text{good} < w_\text{bad}$: a contradiction (the XOR problem again).

# %% slideshow={"slide_type": "subslide"}
probes = [
    ("this movie is good", 1),
    ("this movie is not good", 0),
    ("this movie is bad", 0),
    ("this movie is not bad", 1),
    ("i liked it", 1),
    ("i did not like it", 0),
    ("not bad at all , i enjoyed it", 1),
    ("it is not funny and not interesting", 0),
]
probe_text = [s for s, _ in probes]
probe_truth = np.array([label for _, label in probes])
predictions = {"bag-of-words": bag_of_words.predict(probe_text)}
with torch.no_grad():
    for name, model in models.items():
        model.eval()
        predictions[name] = model(encode(probe_text).to(device)).argmax(dim=1).cpu().numpy()

short = {"bag-of-words": "BoW", "GRU": "GRU", "bidirectional LSTM": "BiLSTM", "1-D CNN": "CNN"}
print(f"{'sentence':38} {'label':>5} " + " ".join(f"{short[n]:>7}" for n in predictions))
for i, (s, label) in enumerate(probes):
    marks = " ".join(f"{'right' if p[i] == label else 'WRONG':>7}" for p in predictions.values())
    print(f"{s:38} {label:5d} {marks}")
print(
    "correct:".ljust(44)
    + " ".join(f"{int((p == probe_truth).sum()):>5d}/{len(probes)}" for p in predictions.values())
)
bow_first_four = int((predictions["bag-of-words"][:4] == probe_truth[:4]).sum())
helpers.check_true(
    bow_first_four <= 3,
    "bag-of-words gets at most 3 of the good/not good/bad/not bad probes right",
    f"{bow_first_four} of 4",
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Does a sequence model really use the order?** On the real phrases it is hard to tell: the
# fast-mode models above learned mostly which words occur. So we build a small language where
# *only* the order carries the label. Every sentence has eight words: random filler words, one
# "good" or "bad", and one "not". The sentiment word is negated when "not" stands directly
# before it, and only then: "the plot is not good and it was" is negative, "not the plot is
# good and it was" is positive.
# Every sentence contains "not" exactly once, and "good" or "bad" appears equally often with
# either label, so the word counts carry no information about the label: bag-of-words can do
# no better than guessing. A small GRU can learn the rule, and the check below says it must.

# %% slideshow={"slide_type": "subslide"}
toy_fillers = ["the", "film", "is", "was", "plot", "story", "it", "and", "quite", "really"]


def toy_sentences(n: int, rng: np.random.Generator) -> tuple[list[str], torch.Tensor]:
    """n eight-word sentences; label 1 (positive) = "good" not negated or "bad" negated."""
    sentences, labels = [], []
    for _ in range(n):
        words = list(rng.choice(toy_fillers, size=8))
        at = int(rng.integers(1, 8))  # where the sentiment word goes
        words[at] = str(rng.choice(["good", "bad"]))
        negated = bool(rng.random() < 0.5)
        elsewhere = [i for i in range(8) if i not in (at - 1, at)]
        words[at - 1 if negated else int(rng.choice(elsewhere))] = "not"
        sentences.append(" ".join(words))
        labels.append(int((words[at] == "good") != negated))
    return sentences, torch.tensor(labels)


rng = np.random.default_rng(helpers.get_settings().seed)
toy_train, toy_y_train = toy_sentences(3000, rng)
toy_test, toy_y_test = toy_sentences(1000, rng)
for s, label in zip(toy_test[:3], toy_y_test[:3]):
    print(f"{s:40} -> {['negative', 'positive'][int(label)]}")

# %% slideshow={"slide_type": "subslide"}
toy_bow = make_pipeline(
    CountVectorizer(tokenizer=tokenize, token_pattern=None, lowercase=False),
    LogisticRegression(max_iter=2000),
).fit(toy_train, toy_y_train.numpy())
toy_bow_acc = float((toy_bow.predict(toy_test) == toy_y_test.numpy()).mean())

toy_stoi = {w: i + 1 for i, w in enumerate(["not", "good", "bad"] + toy_fillers)}  # 0 = padding


def toy_ids(sentences: list[str]) -> torch.Tensor:
    return torch.tensor([[toy_stoi[w] for w in s.split()] for s in sentences])  # (N, 8)


toy_gru = RecurrentClassifier(len(toy_stoi) + 1, 8, 16, "gru", bidirectional=False)
helpers.fit(
    toy_gru,
    DataLoader(TensorDataset(toy_ids(toy_train), toy_y_train), batch_size=64, shuffle=True),
    epochs=5,
    optimizer=torch.optim.Adam(toy_gru.parameters(), lr=1e-2),
    seed=helpers.get_settings().seed,
    amp=False,
    verbose=False,
)
toy_gru_acc = helpers.evaluate(toy_gru, [(toy_ids(toy_test), toy_y_test)])["acc"]
print(
    f"test accuracy on the order-only task: bag-of-words {toy_bow_acc:.3f}, GRU {toy_gru_acc:.3f}"
)
helpers.check_true(
    toy_bow_acc < 0.6,
    "bag-of-words cannot beat guessing when only the order tells",
    f"{toy_bow_acc:.3f}",
)
helpers.check_true(
    toy_gru_acc > 0.9, "the trained GRU reads the order: over 90% right", f"{toy_gru_acc:.3f}"
)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5. Many-to-many: a character-level language model
#
# Now every step has an output: the model reads Shakespeare one character at a time and, at
# each position, predicts the next character (Karpathy, 2015). Inputs are a window of text,
# targets the same window shifted by one; the loss is the average cross-entropy over all
# positions. Before training, a model that knows nothing predicts every one of the $V$
# characters with probability $1/V$, so its loss is
#
# $$L_0 = -\log \tfrac{1}{V} = \log V .$$
#
# We write this training loop out (rather than calling `helpers.fit`) because its details are
# the lesson: the shift by one, the reshape for the cross-entropy, and gradient clipping
# from section 3 before every step.

# %% slideshow={"slide_type": "subslide"}
text = helpers.load_shakespeare()
chars = sorted(set(text))
V_chars = len(chars)
char_to_id = {c: i for i, c in enumerate(chars)}
encoded = torch.tensor([char_to_id[c] for c in text])  # (N,)
split_at = int(0.9 * len(encoded))
train_ids, val_ids = encoded[:split_at], encoded[split_at:]
print(f"{len(text):,} characters, {V_chars} distinct: {''.join(chars)!r}")
print(text[:120])

seq_len, lm_batch = helpers.pick(48, 128), helpers.pick(32, 64)


def random_windows(
    ids: torch.Tensor, n: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """n random windows: inputs (n, seq_len) and targets shifted by one character (n, seq_len)."""
    starts = torch.randint(0, len(ids) - seq_len - 1, (n,), generator=generator)
    positions = starts[:, None] + torch.arange(seq_len)  # (n, seq_len)
    return ids[positions], ids[positions + 1]


xb, yb = random_windows(train_ids, 2, torch.Generator().manual_seed(0))
helpers.check_equal(xb[:, 1:], yb[:, :-1], "targets are the inputs shifted by one")


# %% [markdown] slideshow={"slide_type": "subslide"}
# **Predict.** A training window of the character model holds `seq_len` characters as input. What is
# its target?

# %% [markdown] slideshow={"slide_type": "fragment"}
# **Answer.** The same stretch of text, one character further on: the target at step $t$ is the
# character at step $t + 1$, so the model always predicts the next character.

# %% slideshow={"slide_type": "fragment"}
window_in, window_out = random_windows(train_ids, 1, torch.Generator().manual_seed(1))
helpers.check_equal(window_out[0, :-1], window_in[0, 1:], "the target is the input shifted by one")
helpers.check_shape(window_out, (1, seq_len), "one target window")


# %% slideshow={"slide_type": "subslide"}
class CharLM(nn.Module):
    """Embedding -> LSTM -> linear layer giving next-character logits at every position."""

    def __init__(self, vocab_size: int, embed_dim: int, hidden: int, layers: int):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.lstm = nn.LSTM(embed_dim, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, x: torch.Tensor, state=None):
        out, state = self.lstm(self.embed(x), state)  # (B, T, hidden)
        return self.head(out), state  # logits (B, T, V)


helpers.seed_everything()
char_model = CharLM(
    V_chars, embed_dim=16, hidden=helpers.pick(64, 512), layers=helpers.pick(1, 2)
).to(device)
lm_optimizer = torch.optim.Adam(char_model.parameters(), lr=helpers.pick(1e-2, 2e-3))
steps = helpers.pick(200, 4000)
batches = torch.Generator().manual_seed(helpers.get_settings().seed)


def lm_loss(model: CharLM, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    logits, _ = model(x.to(device))  # (B, T, V)
    return F.cross_entropy(
        logits.reshape(-1, V_chars), y.to(device).reshape(-1)
    )  # over B*T positions


step_losses = []
for _ in range(steps):
    char_model.train()
    loss = lm_loss(char_model, *random_windows(train_ids, lm_batch, batches))
    lm_optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(char_model.parameters(), max_norm=1.0)
    lm_optimizer.step()
    step_losses.append(loss.item())

char_model.eval()
with torch.no_grad():
    val_loss = lm_loss(
        char_model, *random_windows(val_ids, 64, torch.Generator().manual_seed(1))
    ).item()
print(
    f"first step loss {step_losses[0]:.3f} (log V = {np.log(V_chars):.3f}), "
    f"last {np.mean(step_losses[-20:]):.3f}, validation {val_loss:.3f}"
)

# %% slideshow={"slide_type": "subslide"}
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(step_losses, label="training batch")
ax.axhline(val_loss, color="k", linestyle="--", label="validation (end)")
ax.set_title("Character LSTM on Shakespeare: loss")
ax.set_xlabel("training step")
ax.set_ylabel("cross-entropy (nats per character)")
ax.legend()
plt.show()

# %% [markdown] slideshow={"slide_type": "subslide"}
# Self-check: the untrained loss is $\log V$, and after training the model beats a model that
# knows only how often each character occurs (the *unigram* cross-entropy
# $-\frac{1}{N}\sum_n \log p(c_n)$ with $p$ the training frequencies), so it must be using the
# context.

# %%
frequencies = torch.bincount(train_ids, minlength=V_chars).double() / len(train_ids)  # (V,)
unigram = -torch.log(frequencies[val_ids].clamp_min(1e-12)).mean().item()
helpers.check_close(step_losses[0], np.log(V_chars), "loss before training vs log V", atol=0.15)
helpers.check_true(
    val_loss < unigram,
    "the LSTM beats letter frequencies on unseen text",
    f"validation {val_loss:.3f} vs unigram {unigram:.3f}",
)
print(f"unigram cross-entropy {unigram:.3f} vs LSTM {val_loss:.3f} nats per character")

# %% [markdown]
# **Sampling with a temperature.** To generate text we feed the model a prompt, turn the last
# logits $\mathbf{z}$ into probabilities, draw a character, feed it back in, and repeat (the
# LSTM state carries the context). Dividing the logits by a temperature $\tau$,
#
# $$p_i(\tau) = \frac{e^{z_i/\tau}}{\sum_j e^{z_j/\tau}},$$
#
# sharpens the distribution for $\tau < 1$ (safer, more repetitive text) and flattens it for
# $\tau > 1$ (more surprising, more misspelled). The formula against `torch.softmax`, and the
# entropy growing with $\tau$:

# %% slideshow={"slide_type": "subslide"}
prompt = text[: text.index("\n") + 1]  # the first line, e.g. a speaker's name
with torch.no_grad():
    z = char_model(torch.tensor([[char_to_id[c] for c in prompt]], device=device))[0][0, -1].cpu()


def entropy(p: torch.Tensor) -> float:
    return float(-(p * torch.log(p.clamp_min(1e-30))).sum())


entropies = []
for tau in (0.5, 1.0, 1.5):
    p_formula = torch.exp(z / tau) / torch.exp(z / tau).sum()
    helpers.check_close(p_formula, torch.softmax(z / tau, dim=0), f"softmax with temperature {tau}")
    entropies.append(entropy(p_formula))
helpers.check_true(
    entropies[0] < entropies[1] < entropies[2],
    "the entropy grows with the temperature",
    str(entropies),
)
print("entropy at tau = 0.5, 1.0, 1.5:", np.round(entropies, 3))


# %% slideshow={"slide_type": "subslide"}
@torch.no_grad()
def sample(model: CharLM, prompt: str, n_chars: int, temperature: float, seed: int = 0) -> str:
    """Continue `prompt` by `n_chars` characters drawn at `temperature`."""
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    logits, state = model(torch.tensor([[char_to_id[c] for c in prompt]], device=device))
    out = []
    for _ in range(n_chars):
        probs = torch.softmax(logits[0, -1].cpu() / temperature, dim=0)  # (V,)
        nxt = int(torch.multinomial(probs, 1, generator=generator))
        out.append(chars[nxt])
        logits, state = model(torch.tensor([[nxt]], device=device), state)  # one step, state kept
    return prompt + "".join(out)


for tau in (0.5, 1.0, 1.5):
    print(f"----- temperature {tau} -----")
    print(sample(char_model, prompt, helpers.pick(160, 400), tau))

# %% [markdown] slideshow={"slide_type": "slide"} tags=["lecture-optional"]
# ## 6. Embeddings: one-hot vectors versus learned dense vectors
#
# A character (or word) index $k$ can be fed to a network as a one-hot vector
# $\mathbf{e}_k \in \{0, 1\}^V$. Multiplying it by a weight matrix $W \in \mathbb{R}^{V \times E}$
# just selects row $k$:
#
# $$\mathbf{e}_k^\top W = W_{k,:}$$
#
# `nn.Embedding` is exactly that lookup, without building the one-hot vector. The rows are
# learned like any other weight, so characters or words used alike end up close together.

# %%
ids = encoded[:5].unsqueeze(0)  # the first five characters, (1, 5)
table = char_model.embed.weight.detach().cpu()  # (V, 16)
one_hot = F.one_hot(ids, V_chars).float()  # (1, 5, V)
looked_up = char_model.embed(ids.to(device)).detach().cpu()  # (1, 5, 16)
helpers.check_close(one_hot @ table, looked_up, "one-hot @ W vs nn.Embedding")
print(
    "one-hot", tuple(one_hot.shape), "@ W", tuple(table.shape), "->", tuple((one_hot @ table).shape)
)

# %% [markdown]
# What the one-hot input costs, compared with an embedding, for the character model and for
# the word vocabulary of section 4: the input tensor of one batch (float32 one-hot vs int64
# indices), and the first layer's input weights of an LSTM with 128 hidden units
# ($4 \cdot 128 \cdot V$ for one-hot input; $V E + 4 \cdot 128 \cdot E$ with an embedding of
# size $E = 32$).

# %% slideshow={"slide_type": "subslide"}
print(
    f"{'vocabulary':24} {'V':>6} {'one-hot batch':>14} {'index batch':>12} "
    f"{'one-hot weights':>16} {'embedding weights':>18}"
)
for label, V in [("characters", V_chars), ("words (section 4)", V_words), ("words, 50k", 50_000)]:
    one_hot_bytes, index_bytes = 64 * 100 * V * 4, 64 * 100 * 8  # a (64, 100) batch
    one_hot_w, embed_w = 4 * 128 * V, V * 32 + 4 * 128 * 32
    print(
        f"{label:24} {V:6d} {one_hot_bytes / 2**20:11.1f} MB {index_bytes / 2**10:9.1f} kB "
        f"{one_hot_w:16,d} {embed_w:18,d}"
    )
lstm_one_hot = nn.LSTM(V_words, 128)
helpers.check_equal(
    lstm_one_hot.weight_ih_l0.numel(), 4 * 128 * V_words, "input weights for one-hot words"
)

# %% [markdown]
# **A 2-D view of the learned character embeddings.** PCA projects the 16-dimensional rows
# onto the two directions of largest variance: centre the rows, take the singular value
# decomposition $\tilde{W} = U S V^\top$, and the coordinates are $\tilde{W} V_{:, :2}$. The
# model was never told what a vowel is; look for whether vowels end up near each other, and
# whether upper- and lower-case letters or punctuation separate. (Two dimensions show only
# part of the 16, and a short fast-mode training gives a rough picture.)

# %% slideshow={"slide_type": "subslide"}
from sklearn.decomposition import PCA

coords = PCA(n_components=2).fit_transform(table.numpy())  # (V, 2)
centred = table - table.mean(dim=0)
_, _, Vt = torch.linalg.svd(centred, full_matrices=False)
by_svd = (centred @ Vt[:2].T).numpy()  # (V, 2)
signs = np.sign((coords * by_svd).sum(axis=0))  # each component is defined up to its sign
helpers.check_close(coords, by_svd * signs, "PCA coordinates vs centred SVD projection", atol=1e-4)


def kind(c: str) -> str:
    if c.lower() in "aeiou":
        return "vowel"
    if c.isalpha():
        return "consonant"
    return "digit" if c.isdigit() else "punctuation / space"


colours = {
    "vowel": "tab:red",
    "consonant": "tab:blue",
    "digit": "tab:green",
    "punctuation / space": "tab:gray",
}
fig, ax = plt.subplots(figsize=(7, 6))
for group, colour in colours.items():
    members = [i for i, c in enumerate(chars) if kind(c) == group]
    if not members:  # e.g. no digit in the fast-mode text
        continue
    ax.scatter(coords[members, 0], coords[members, 1], c=colour, label=group, s=20)
for i, c in enumerate(chars):
    label = {" ": "space", "\n": "\\n"}.get(c, c)
    ax.annotate(label, coords[i], fontsize=8, xytext=(2, 2), textcoords="offset points")
ax.set_title("Learned character embeddings, first two principal components")
ax.set_xlabel("principal component 1")
ax.set_ylabel("principal component 2")
ax.legend()
plt.show()

# %% [markdown] slideshow={"slide_type": "slide"} tags=["lecture-optional"]
# ## 7. Speed: the fused `nn.LSTM` versus a Python loop over the cell
#
# Our `lstm_layer` and a loop over `nn.LSTMCell` launch several small operations per time
# step from Python. `nn.LSTM` runs the whole sequence in one call (cuDNN on an NVIDIA GPU, an
# optimised C++ loop on the CPU) and computes the input projections of all steps in one big
# matrix multiply. The three compute the same numbers; we time one forward pass with
# `torch.utils.benchmark`, which warms up, synchronises the GPU and repeats.

# %% slideshow={"slide_type": "notes"}
import logging

logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)  # quiet on CPU-only machines
from torch.utils import benchmark

B_s, H_s = 32, helpers.pick(64, 256)
fused = nn.LSTM(H_s, H_s, batch_first=True).to(device)
cell = nn.LSTMCell(H_s, H_s).to(device)
with torch.no_grad():
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(cell, name).copy_(getattr(fused, f"{name}_l0"))
fused_w = {ours: getattr(fused, theirs).detach() for ours, theirs in PYTORCH_NAMES.items()}


def cell_loop(x: torch.Tensor) -> torch.Tensor:
    h = c = torch.zeros(x.shape[0], H_s, device=x.device)
    outputs = []
    for t in range(x.shape[1]):
        h, c = cell(x[:, t], (h, c))  # (B, H)
        outputs.append(h)
    return torch.stack(outputs, dim=1)  # (B, T, H)


def ours_loop(x: torch.Tensor) -> torch.Tensor:
    zeros = torch.zeros(x.shape[0], H_s, device=x.device)
    return lstm_layer(x, zeros, zeros, **fused_w)[0]


x_s = torch.randn(B_s, 50, H_s, device=device)  # (B, T, H)
tol = 1e-5 if device.type == "cpu" else 5e-3  # cuDNN may use TF32 (10-bit mantissa) on a GPU
with torch.no_grad():
    reference = fused(x_s)[0]
    helpers.check_close(cell_loop(x_s), reference, "LSTMCell loop vs nn.LSTM", atol=tol)
    helpers.check_close(ours_loop(x_s), reference, "our lstm_layer vs nn.LSTM", atol=tol)

# %% slideshow={"slide_type": "subslide"}
rows = []
for T_s in helpers.pick([50], [50, 200]):
    x_s = torch.randn(B_s, T_s, H_s, device=device)
    for label, fn in [
        ("nn.LSTM (fused)", lambda x: fused(x)[0]),
        ("loop over nn.LSTMCell", cell_loop),
        ("loop over our lstm_layer", ours_loop),
    ]:
        timer = benchmark.Timer(
            stmt="with torch.no_grad(): fn(x)", globals={"fn": fn, "x": x_s, "torch": torch}
        )
        rows.append(
            (T_s, label, timer.blocked_autorange(min_run_time=helpers.pick(0.2, 1.0)).median)
        )
print(f"forward pass, batch {B_s}, {H_s} hidden units, on {device}")
print(f"{'T':>4} {'implementation':26} {'time':>10} {'vs fused':>9}")
for T_s, label, seconds in rows:
    fused_time = next(s for t, name, s in rows if t == T_s and name.startswith("nn.LSTM"))
    print(f"{T_s:4d} {label:26} {seconds * 1e3:7.2f} ms {seconds / fused_time:8.1f}x")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
#
# Each exercise has a task, a cell for your answer (replace `None`) and a check cell that prints
# "Right!", "Not right yet" with a hint, or "Not attempted yet"; the check never stops the
# notebook. In the lecture version of this notebook the answer cells hold a worked solution,
# marked as such; in the exercise version they are yours.
#
# **Exercise 1 (parameter counts; a number).** With the formula of section 2, compute the number
# of parameters of `nn.GRU(10, 20, num_layers=2, bidirectional=True)` without building it.
# (Each direction has its own weights, and the second layer's input is the concatenation of
# both directions of the first.)

# %% nbgrader={"grade": false, "grade_id": "ex1_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 1: your answer (a whole number)
gru_params = None
### BEGIN SOLUTION


def gru_block(inputs: int, hidden: int) -> int:
    return 3 * (hidden * (inputs + hidden) + 2 * hidden)  # 3 gates, each W_i, W_h, b_i, b_h


gru_params = 2 * gru_block(10, 20) + 2 * gru_block(2 * 20, 20)  # 2 directions x 2 layers
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex1_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
ok_1 = helpers.verdict(
    gru_params,
    n_params(nn.GRU(10, 20, num_layers=2, bidirectional=True)),
    "a GRU layer has 3 blocks of H (I + H) + 2 H; the second layer's input size is 2 * 20.",
)
### BEGIN HIDDEN TESTS
assert ok_1, "exercise 1 is not right"
### END HIDDEN TESTS

# %% [markdown]
# **Exercise 2 (a little order for bag-of-words; a prediction).** Count word pairs as well as
# single words: `CountVectorizer(ngram_range=(1, 2))`, fitted on the two sentences
# "good, not bad" and "bad, not good". Before running it, predict in how many entries their two
# count vectors differ (0 would mean that bigrams do not help either).

# %% nbgrader={"grade": false, "grade_id": "ex2_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 2: your prediction (a whole number)
bigram_differences = None
### BEGIN SOLUTION
# The single words agree; the pairs "good not", "not bad" occur only in the first sentence and
# "bad not", "not good" only in the second (the comma is not a token).
bigram_differences = 4
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex2_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
bigram_rows = CountVectorizer(ngram_range=(1, 2)).fit_transform(["good, not bad", "bad, not good"])
v_first, v_second = bigram_rows.toarray()
ok_2 = helpers.verdict(
    bigram_differences,
    int((v_first != v_second).sum()),
    "write each sentence as its list of tokens (punctuation dropped), then list the pairs of "
    "neighbours in each.",
)
### BEGIN HIDDEN TESTS
assert ok_2, "exercise 2 is not right"
### END HIDDEN TESTS

# %% [markdown]
# **Exercise 3 (temperature to zero; code).** As $\tau \to 0$ the softmax puts all its mass on
# the largest logit, so sampling becomes *greedy decoding*. Write `greedy(model, prompt,
# n_chars)`, which continues `prompt` like `sample` but always takes the `argmax`, and returns
# the prompt followed by the `n_chars` new characters. The check compares it with `sample` at
# $\tau = 10^{-6}$.

# %% nbgrader={"grade": false, "grade_id": "ex3_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 3: your answer (a function like sample, without the temperature)
greedy = None
### BEGIN SOLUTION


@torch.no_grad()
def greedy(model: CharLM, prompt: str, n_chars: int) -> str:
    model.eval()
    logits, state = model(torch.tensor([[char_to_id[c] for c in prompt]], device=device))
    out = []
    for _ in range(n_chars):
        nxt = int(logits[0, -1].argmax())
        out.append(chars[nxt])
        logits, state = model(torch.tensor([[nxt]], device=device), state)
    return prompt + "".join(out)


### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex3_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
ok_3 = helpers.verdict(
    greedy,
    lambda fn: fn(char_model, prompt, 100) == sample(char_model, prompt, 100, 1e-6),
    "start from sample(): replace the softmax and the draw by an argmax over the last logits, "
    "and keep feeding the state back.",
)
### BEGIN HIDDEN TESTS
assert ok_3, "exercise 3 is not right"
### END HIDDEN TESTS

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
#
# - Bag-of-words turns a sentence into word counts: simple, strong, and blind to order.
# - An RNN applies the same weights at every step and carries a hidden state; the GRU adds a
#   reset and an update gate (3 weight blocks), the LSTM a memory cell behind input, forget and
#   output gates (4 blocks). PyTorch's GRU resets *after* the recurrent multiply and keeps
#   the old state with $\mathbf{z}$; its LSTM has no peepholes.
# - BPTT multiplies one Jacobian per step: gradients vanish or explode geometrically with
#   the length. A forget gate near 1 keeps them alive; clipping bounds the exploding ones.
# - Many-to-one (sentence classification) and many-to-many (a character language model) use
#   the same layers with different read-outs; temperature trades safety for variety.
# - An embedding is a one-hot vector times a weight matrix, done as a lookup; and the fused
#   `nn.LSTM` is much faster than looping over the cell in Python.
#
# ## Further reading
#
# - J. L. Elman, "Finding structure in time", *Cognitive Science* 14 (1990).
# - Y. Bengio, P. Simard, P. Frasconi, "Learning long-term dependencies with gradient descent
#   is difficult", *IEEE Trans. Neural Networks* 5 (1994).
# - S. Hochreiter, J. Schmidhuber, "Long short-term memory", *Neural Computation* 9 (1997);
#   F. Gers, J. Schmidhuber, F. Cummins, "Learning to forget" (2000); F. Gers, J. Schmidhuber,
#   "Recurrent nets that time and count" (2000, peepholes).
# - K. Cho et al., "Learning phrase representations using RNN encoder-decoder for statistical
#   machine translation", EMNLP 2014 (the GRU).
# - M. Schuster, K. Paliwal, "Bidirectional recurrent neural networks", *IEEE Trans. Signal
#   Processing* 45 (1997).
# - R. Pascanu, T. Mikolov, Y. Bengio, "On the difficulty of training recurrent neural
#   networks", ICML 2013 (gradient clipping).
# - R. Jozefowicz, W. Zaremba, I. Sutskever, "An empirical exploration of recurrent network
#   architectures", ICML 2015 (forget-gate bias); Q. Le, N. Jaitly, G. Hinton, "A simple way
#   to initialize recurrent networks of rectified linear units" (2015, IRNN).
# - Y. Kim, "Convolutional neural networks for sentence classification", EMNLP 2014.
# - R. Socher et al., "Recursive deep models for semantic compositionality over a sentiment
#   treebank", EMNLP 2013 (SST).
# - A. Karpathy, "The unreasonable effectiveness of recurrent neural networks" (blog, 2015).
# - PyTorch documentation: `torch.nn.RNN`, `torch.nn.GRU`, `torch.nn.LSTM`,
#   `torch.nn.utils.rnn.pack_padded_sequence`, `torch.nn.utils.clip_grad_norm_`,
#   `torch.utils.benchmark`.
