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
# # 00 Training a network in PyTorch, by hand
#
# The later notebooks train their models with one call, `helpers.fit(model, loader, ...)`. This
# one opens that box. You will hold the pieces that every PyTorch training script is made of,
# in the order the lecture lists them: a `Dataset` that hands out one labelled image at a time,
# torchvision transforms that turn it into a normalised (and, for training, randomly altered)
# tensor, a `DataLoader` that stacks those into shuffled batches, an `nn.Module`, a loss, an
# optimizer, and the twenty-line loop that ties them together. Then we prove that this loop
# computes *exactly* the numbers `helpers.fit` reports, so that from here on `fit` is no
# mystery. On the way we look closely at the parts that are easy to get subtly wrong: which
# loss wants logits and which wants log-probabilities, what a saturating or dying activation
# does to learning, and what SGD, momentum and Adam really do to a weight, each update rule
# written out and checked against `torch.optim` step by step. We finish with the two tools
# every real run needs: a TensorBoard log and a saved `state_dict`.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Learning goals
#
# - Create tensors, let autograd compute a gradient and check it against the formula; define a
#   network as an `nn.Module` and count its parameters.
# - Write a `torch.utils.data.Dataset`, compose torchvision transforms (`ToTensor`,
#   `Normalize`, a random augmentation) and batch it with a `DataLoader`; know the shape and
#   type of every batch.
# - Write the training loop (`model.train()`, `zero_grad`, forward, loss, `backward`, `step`)
#   and the evaluation loop (`model.eval()`, `torch.no_grad()`), and show that they give the
#   same numbers as `helpers.fit`.
# - Tell `CrossEntropyLoss` (logits) from `NLLLoss` (log-probabilities), and recognise the
#   double-softmax mistake by its symptoms.
# - Compare sigmoid, tanh, ReLU, leaky ReLU and ELU; measure vanishing gradients and dead ReLUs.
# - Write SGD, SGD with momentum and Adam by hand and match `torch.optim` exactly.
# - Log a run to TensorBoard and save and restore weights with `state_dict`.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## You should already know
#
# - Python and NumPy arrays (indexing, shapes, broadcasting).
# - What a neural network layer computes ($y = Wx + b$ followed by a nonlinearity), what a
#   loss function is, and the idea of gradient descent: $w \leftarrow w - \lambda\, \partial
#   L / \partial w$.
# - The chain rule of calculus.

# %% slideshow={"slide_type": "skip"}
# Set-up: on Google Colab this first installs the course; everywhere it prints the settings.
import sys

if "google.colab" in sys.modules:
    import subprocess

    COURSE = "cnn-rnn-course[colab] @ git+https://github.com/cnn-rnn-course/cnn-rnn-course"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", COURSE], check=True)

import helpers

helpers.print_banner()

# %% slideshow={"slide_type": "notes"}
import copy
import math
import shutil

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset, TensorDataset
from torchvision import transforms

from helpers import check_close, check_equal, check_shape, check_true

seed = helpers.seed_everything()
device = helpers.best_device()
CACHE = helpers.get_settings().cache_dir  # a folder the course may write to (not committed)


# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1. Tensors, autograd and `nn.Module` in brief
#
# A **tensor** is an n-dimensional array with a `dtype` (`float32` for weights and images,
# `int64` for class labels, `uint8` for raw pixels) that lives on a `device` (the CPU or a GPU).
# PyTorch expects a batch of images as `[batch_size, n_channels, height, width]`, written
# `(N, C, H, W)` in this course. Arithmetic between tensors of different shapes *broadcasts*:
# a dimension of size 1 is stretched to match, which is how one mean per channel is subtracted
# from every pixel of every image at once.

# %%
# NBVAL_CHECK_OUTPUT
pixels = torch.arange(2 * 3 * 4 * 4, dtype=torch.uint8).view(2, 3, 4, 4)  # (N, C, H, W) raw
images = pixels.float() / 255  # (2, 3, 4, 4) float32 in [0, 1]
channel_mean = images.mean(dim=(0, 2, 3), keepdim=True)  # (1, 3, 1, 1): one value per channel
centred = images - channel_mean  # (2, 3, 4, 4) - (1, 3, 1, 1) broadcasts to (2, 3, 4, 4)
print(pixels.dtype, tuple(pixels.shape), "->", images.dtype, tuple(centred.shape))
check_shape(channel_mean, (1, 3, 1, 1), "per-channel mean")
check_close(centred.mean(dim=(0, 2, 3)), torch.zeros(3), "channel means after centring", atol=1e-6)
check_equal(images.device.type, "cpu", "tensors are created on the CPU")

# %% [markdown]
# **Autograd** records every operation on tensors created with `requires_grad=True` and, when
# `backward()` is called on a scalar, fills each such tensor's `.grad` with the derivative of
# that scalar by the chain rule. One neuron with weights $w$, bias $b$ and squared error on a
# target $t$:
#
# $$L = (w \cdot x + b - t)^2, \qquad \frac{\partial L}{\partial w} = 2\,(w \cdot x + b - t)\,x,
# \qquad \frac{\partial L}{\partial b} = 2\,(w \cdot x + b - t).$$

# %% slideshow={"slide_type": "subslide"}
x_one = torch.tensor([1.0, -2.0, 0.5])
target = torch.tensor(3.0)
w = torch.tensor([0.2, 0.4, -0.1], requires_grad=True)
b = torch.tensor(0.5, requires_grad=True)

loss = (w @ x_one + b - target) ** 2  # a scalar that remembers how it was computed
loss.backward()  # fills w.grad and b.grad

error = (w @ x_one + b - target).detach()
check_close(w.grad, 2 * error * x_one, "dL/dw: autograd vs the formula")
check_close(b.grad, 2 * error, "dL/db: autograd vs the formula")
print(f"L = {loss.item():.4f}, dL/dw = {w.grad.tolist()}, dL/db = {b.grad.item():.4f}")

# %% [markdown]
# **`nn.Module`** is how a network is defined: subclass it, create the layers in `__init__`
# (their weights are registered as parameters automatically) and say in `forward` how an input
# flows through them. The lecture's example network, written out as on the slide:


# %% slideshow={"slide_type": "subslide"}
# NBVAL_CHECK_OUTPUT
class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3)  # 16 filters of 3x3x3
        self.relu = nn.ReLU()
        self.pool = nn.AvgPool2d(2, 2)
        self.fc = nn.Linear(16 * 5 * 5, 60)

    def forward(self, x):  # x (N, 3, 12, 12)
        x = self.pool(self.relu(self.conv(x)))  # (N, 16, 10, 10) -> (N, 16, 5, 5)
        x = x.view(-1, 16 * 5 * 5)  # (N, 400)
        return self.fc(x)  # (N, 60)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


slide_net = ConvNet()
for name, p in slide_net.named_parameters():
    print(f"{name:12s} {tuple(p.shape)}")
check_equal(n_params(slide_net), (3 * 3 * 3 * 16 + 16) + (400 * 60 + 60), "ConvNet parameters")

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Predict.** `slide_net` flattens with `view(-1, 16 * 5 * 5)`, written for 12x12 inputs. What
# happens with a batch of eight 32x32 images: an error, or an output of which shape?

# %% [markdown] slideshow={"slide_type": "fragment"}
# **Answer.** No error: an output of shape `(72, 60)`. The $8 \cdot 16 \cdot 15 \cdot 15 = 28800$
# feature values are cut into 72 rows of 400, silently mixing pieces of different images.

# %% slideshow={"slide_type": "fragment"}
check_equal(tuple(slide_net(torch.zeros(8, 3, 32, 32)).shape), (72, 60), "8 images of 32x32")
check_equal(8 * 16 * 15 * 15 // 400, 72, "rows of 400 in 28800 values")

# %% [markdown] slideshow={"slide_type": "subslide"}
# The slide does not say the input size, but the `view(-1, 16 * 5 * 5)` does: a 3x3 conv
# without padding removes 2 pixels and the pooling halves the size, so the feature map is
# 5x5 only for a **12x12** input ($(12 - 2) / 2 = 5$). Other sizes are worse than an error:
# a batch of eight 32x32 images gives $8 \cdot 16 \cdot 15 \cdot 15 = 28800$ values, which
# `view(-1, 400)` silently cuts into 72 "images" made of pieces of the real ones. Checking
# shapes with a dummy input catches it; writing `x.flatten(1)` (keep dim 0, the batch) instead
# of `view(-1, ...)` turns it into a loud error.

# %%
# NBVAL_CHECK_OUTPUT
check_shape(slide_net(torch.zeros(8, 3, 12, 12)), (8, 60), "ConvNet output for 12x12 inputs")
wrong_size = slide_net(torch.zeros(8, 3, 32, 32))  # no error...
print("8 images of 32x32 ->", tuple(wrong_size.shape))
check_equal(tuple(wrong_size.shape), (72, 60), "output rows for 8 wrong-sized images")

features_32 = slide_net.pool(slide_net.relu(slide_net.conv(torch.zeros(8, 3, 32, 32))))
try:
    slide_net.fc(features_32.flatten(1))  # (8, 3600) into a layer that expects 400 inputs
    loud = False
except RuntimeError as err:
    loud = True
    print("with flatten(1):", str(err).splitlines()[0])
check_true(loud, "flatten(1) makes the size mistake an error")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2. Data: a `Dataset`, transforms and a `DataLoader`
#
# PyTorch splits feeding data into two jobs. A **`Dataset`** knows how many examples there are
# (`__len__`) and returns example number `i` as a pair `(input, label)` (`__getitem__`). A
# **`DataLoader`** draws indices (shuffled for training), asks the dataset for each, and stacks
# the results into batch tensors.
#
# We use real MNIST: 28x28 grayscale digits. Online, one line would do,
# `torchvision.datasets.MNIST(root, train=True, download=True, transform=...)`. The course must
# also work offline, so we read the images with the course's loader (uint8 `(N, 1, 28, 28)`)
# and write the `Dataset` ourselves; it behaves like torchvision's: each example is a PIL image
# that goes through `transform`.

# %% slideshow={"slide_type": "subslide"}
mnist_train = helpers.load_mnist("train")  # fast mode: a class-balanced 5,000
mnist_test = helpers.load_mnist("test")  # fast mode: 1,000
print(mnist_train, mnist_test, sep="\n")


class DigitImages(Dataset):
    """MNIST-style images (N, 1, 28, 28) uint8 and labels (N,), one (transformed image, label)
    per index, the way torchvision's datasets hand them out."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform=None):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        image = Image.fromarray(self.images[i, 0].numpy())  # a 28x28 grayscale PIL image
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.labels[i])


# %% [markdown] slideshow={"slide_type": "subslide"}
# **Predict.** An MNIST digit is stored as a 28x28 array of bytes (0 to 255). What shape, dtype and
# value range does `transforms.ToTensor()` return for it?

# %% [markdown] slideshow={"slide_type": "fragment"}
# **Answer.** `(1, 28, 28)`, `float32`, values in $[0, 1]$: it adds the channel dimension in front
# and divides by 255.

# %% slideshow={"slide_type": "fragment"}
digit_tensor = transforms.ToTensor()(
    mnist_train.images[0, 0].numpy()
)  # (28, 28) uint8 -> (1, 28, 28)
check_shape(digit_tensor, (1, 28, 28), "ToTensor of a 28x28 uint8 array")
check_equal(digit_tensor.dtype, torch.float32, "ToTensor dtype")
check_equal(digit_tensor, mnist_train.images[0].float() / 255, "ToTensor = bytes / 255")

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Transforms.** `transforms.ToTensor()` turns a PIL image (or an `H x W x C` uint8 array) into
# a float tensor `(C, H, W)` with values in $[0, 1]$ (it divides by 255).
# `transforms.Normalize(mean, std)` then computes $(x - \mu) / \sigma$ per channel, so the
# network's inputs are centred with unit spread ("mean subtraction, unit standard deviation"
# in the slides). The statistics come from the **training** set only.

# %%
plain = DigitImages(mnist_train.images, mnist_train.labels, transforms.ToTensor())
first_image, first_label = plain[0]  # (1, 28, 28) float32
check_shape(first_image, (1, 28, 28), "ToTensor output")
check_equal(first_image, mnist_train.images[0].float() / 255, "ToTensor = uint8 / 255")

all_pixels = mnist_train.images.float() / 255  # (N, 1, 28, 28) in [0, 1]
mean, std = all_pixels.mean().item(), all_pixels.std().item()
print(f"training pixels: mean {mean:.4f}, std {std:.4f} (usual MNIST values: 0.1307, 0.3081)")
if mnist_train.real:  # a fact of the real digits, not of the stand-in
    check_close(mean, 0.1307, "mean pixel of real MNIST", atol=0.005)
    check_close(std, 0.3081, "pixel std of real MNIST", atol=0.005)

normalise = transforms.Normalize((mean,), (std,))
check_close(normalise(first_image), (first_image - mean) / std, "Normalize = (x - mean) / std")

# %% [markdown]
# **Augmentation.** For training we also alter each image at random every time it is read:
# a rotation of up to 10 degrees and a shift of up to 10 % (2.8 pixels) in each direction,
# the "rotations" and "translations" of the slides. The network then never sees exactly the
# same picture twice, which fights overfitting. It is *just for training*: the test transform
# is deterministic, so that a test score means the same thing every time.

# %% slideshow={"slide_type": "subslide"}
augment = transforms.RandomAffine(degrees=10, translate=(0.1, 0.1))
train_transform = transforms.Compose([augment, transforms.ToTensor(), normalise])
test_transform = transforms.Compose([transforms.ToTensor(), normalise])

train_set = DigitImages(mnist_train.images, mnist_train.labels, train_transform)
test_set = DigitImages(mnist_test.images, mnist_test.labels, test_transform)

two_reads = torch.stack([train_set[0][0], train_set[0][0]])  # (2, 1, 28, 28): same index twice
check_true(
    not torch.equal(two_reads[0], two_reads[1]),
    "two reads of the same training image differ (random augmentation)",
)
check_equal(test_set[0][0], test_set[0][0], "two reads of the same test image")
check_equal(train_set[0][1], int(mnist_train.labels[0]), "the label is not altered")

# %% slideshow={"slide_type": "subslide"}
fig, axes = plt.subplots(1, 8, figsize=(12, 2))
axes[0].imshow(first_image[0], cmap="gray")
axes[0].set_title(f"original ({first_label})")
for k, ax in enumerate(axes[1:], start=1):
    ax.imshow(train_set[0][0][0], cmap="gray")
    ax.set_title(f"read {k}")
for ax in axes:
    ax.set_axis_off()
fig.suptitle("One training image, read 7 times through RandomAffine(10 degrees, 10 % shift)")
fig.tight_layout()
plt.show()

# %% [markdown] slideshow={"slide_type": "subslide"}
# **The `DataLoader`.** With `batch_size=64` and `shuffle=True` each pass (one **epoch**)
# visits every example once in a new random order; the last batch holds what is left over.
# A `torch.Generator` with a fixed seed makes the order repeatable, which we need below to
# compare two training runs number for number.

# %%
BATCH = 64


def make_loader(dataset: Dataset, shuffle: bool, seed: int = seed) -> DataLoader:
    """Batches of 64; the shuffling order is fixed by `seed`."""
    return DataLoader(
        dataset, batch_size=BATCH, shuffle=shuffle, generator=torch.Generator().manual_seed(seed)
    )


train_loader = make_loader(train_set, shuffle=True)
x_batch, y_batch = next(iter(train_loader))  # x (64, 1, 28, 28) float32, y (64,) int64
print(f"x {tuple(x_batch.shape)} {x_batch.dtype}, y {tuple(y_batch.shape)} {y_batch.dtype}")
print(f"{len(train_set)} images -> {len(train_loader)} batches per epoch")
check_shape(x_batch, (BATCH, 1, 28, 28), "one batch of images")
check_shape(y_batch, (BATCH,), "one batch of labels")
check_equal(y_batch.dtype, torch.int64, "label dtype (what cross_entropy expects)")
check_equal(len(train_loader), math.ceil(len(train_set) / BATCH), "batches per epoch")

# %% [markdown] slideshow={"slide_type": "subslide"}
# The order comes from the loader's *sampler*, not from the data, so a dataset of the numbers
# $0, \dots, N-1$ shows it cheaply: two epochs of one loader visit the examples in different
# orders, while a new loader with the same seed repeats the first order exactly; the last
# batch holds the $5000 - 78 \cdot 64 = 8$ examples left over (in fast mode).

# %%
positions = TensorDataset(torch.arange(len(train_set)))  # example i is just the number i


def visit_order(loader: DataLoader) -> torch.Tensor:
    return torch.cat([batch[0] for batch in loader])  # (N,) the indices, in visiting order


shuffled = make_loader(positions, shuffle=True)
first_epoch, second_epoch = visit_order(shuffled), visit_order(shuffled)
print("first epoch starts", first_epoch[:6].tolist(), "| second", second_epoch[:6].tolist())
check_equal(
    first_epoch.sort().values, torch.arange(len(train_set)), "one epoch = every example once"
)
check_true(not torch.equal(first_epoch, second_epoch), "each epoch has a new order")
check_equal(visit_order(make_loader(positions, True)), first_epoch, "same seed, same order")
batch_sizes = [len(batch[0]) for batch in shuffled]
check_equal(batch_sizes[-1], len(train_set) - (len(train_loader) - 1) * BATCH, "last batch size")

# %% [markdown]
# The test transform has nothing random in it, so there is no need to redo it every epoch:
# we apply it once and keep the result in a `TensorDataset` (a dataset made of tensors that
# are already stacked), a common shortcut when a set fits in memory. After `Normalize` the
# test pixels have a mean near 0 and a standard deviation near 1.

# %% slideshow={"slide_type": "subslide"}
test_x = torch.stack([test_set[i][0] for i in range(len(test_set))])  # (1000, 1, 28, 28)
test_loader = DataLoader(TensorDataset(test_x, mnist_test.labels), batch_size=250)
print(f"normalised test pixels: mean {test_x.mean():.3f}, std {test_x.std():.3f}")
check_close(test_x.mean().item(), 0.0, "mean of normalised test pixels", atol=0.1)
check_close(test_x.std().item(), 1.0, "std of normalised test pixels", atol=0.1)

# %% slideshow={"slide_type": "subslide"}
fig, axes = plt.subplots(2, 8, figsize=(12, 3.4))
for ax, image, label in zip(axes.flat, x_batch, y_batch):
    ax.imshow(image[0], cmap="gray")
    ax.set_title(f"label {int(label)}")
    ax.set_axis_off()
fig.suptitle("The first 16 images of a shuffled, augmented, normalised training batch")
fig.tight_layout()
plt.show()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3. A model, and the first sanity check
#
# A small CNN for 28x28 digits, built with `nn.Sequential` (the slide's alternative to naming
# every layer). Dropout makes `model.train()` and `model.eval()` behave differently, which
# the loops below must respect.


# %%
def make_model() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),  # (N, 8, 28, 28)
        nn.ReLU(),
        nn.MaxPool2d(2),  # (N, 8, 14, 14)
        nn.Conv2d(8, 16, 3, padding=1),  # (N, 16, 14, 14)
        nn.ReLU(),
        nn.MaxPool2d(2),  # (N, 16, 7, 7)
        nn.Flatten(),  # (N, 784)
        nn.Dropout(0.25),
        nn.Linear(16 * 7 * 7, 10),  # (N, 10): one score (logit) per class
    )


model = make_model().to(device)
check_equal(n_params(model), (9 * 8 + 8) + (8 * 9 * 16 + 16) + (784 * 10 + 10), "CNN parameters")
check_shape(model(x_batch.to(device)), (BATCH, 10), "CNN output")

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Predict first.** Before any training, what loss should this network have on a batch of
# ten-class digits? Think about it, then run the next cell.
#
# An untrained network with small random weights gives all ten classes about the same
# probability, $1/10$, so the cross-entropy is about $-\ln(1/10) = \ln 10 \approx 2.303$. The
# slides list this as a sanity check: an initial loss far from $\ln 10$ means a bug (wrong
# labels, unnormalised inputs, a bad initialisation) before training even starts.

# %%
with torch.no_grad():
    model.eval()
    initial_loss = F.cross_entropy(model(test_x.to(device)), mnist_test.labels.to(device))
print(f"initial loss {initial_loss:.3f}, ln(10) = {math.log(10):.3f}")
check_close(
    initial_loss.item(), math.log(10), "initial loss of an untrained 10-class net", atol=0.15
)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4. The training loop, written out
#
# One training epoch is a loop over batches, each doing five things in this order:
#
# 1. **forward**: `logits = model(x)`;
# 2. **loss**: `loss = F.cross_entropy(logits, y)`, the mean over the batch;
# 3. `optimizer.zero_grad()`: PyTorch *adds* new gradients to `.grad`, so the previous batch's
#    must be cleared first (forgetting it is a classic bug);
# 4. **backward**: `loss.backward()` fills `.grad` of every parameter;
# 5. **step**: `optimizer.step()` changes every parameter using its `.grad`.
#
# `model.train()` switches dropout on (and makes BatchNorm use batch statistics). To evaluate,
# `model.eval()` switches them to inference behaviour, and `torch.no_grad()` stops autograd
# from recording, which saves time and memory. The losses are averaged over *examples*, not
# batches, because the last batch is smaller.


# %% slideshow={"slide_type": "notes"}
def train_one_epoch(model, loader, optimizer, loss_fn=F.cross_entropy):
    """One pass over `loader` that updates `model`; returns (mean loss, accuracy)."""
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)  # x (B, 1, 28, 28), y (B,)
        logits = model(x)  # (B, 10)
        loss = loss_fn(logits, y)  # a scalar: the mean over the batch
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(x)
        correct += int((logits.argmax(dim=1) == y).sum())
        seen += len(x)
    return total_loss / seen, correct / seen


@torch.no_grad()
def evaluate(model, loader, loss_fn=F.cross_entropy):
    """Mean loss and accuracy over `loader`, in eval mode, without recording gradients."""
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        logits = model(x)
        total_loss += loss_fn(logits, y).item() * len(x)
        correct += int((logits.argmax(dim=1) == y).sum())
        seen += len(x)
    return total_loss / seen, correct / seen


# %% [markdown]
# Now train for a few epochs with Adam (the optimizer `helpers.fit` uses by default; section 8
# writes it out). Everything random, the initial weights, the shuffling, the augmentation and
# dropout, is drawn from generators seeded here, so the run can be repeated exactly. In fast
# mode we train on the first 2,500 training images only (`Subset` picks examples of a dataset
# by index), to keep the two runs of this section and the next quick on a laptop CPU.

# %% slideshow={"slide_type": "subslide"}
EPOCHS, LR = helpers.pick(2, 5), 2e-3
fit_set = Subset(train_set, range(helpers.pick(2500, len(train_set))))  # what we train on


def train_by_hand(seed: int):
    helpers.seed_everything(seed)  # the weights, augmentation and dropout draws
    model = make_model().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    train_loader = make_loader(fit_set, shuffle=True, seed=seed)  # the shuffling
    history = []
    for epoch in range(1, EPOCHS + 1):
        train_loss, train_acc = train_one_epoch(model, train_loader, optimizer)
        val_loss, val_acc = evaluate(model, test_loader)
        history.append((train_loss, train_acc, val_loss, val_acc))
        print(f"epoch {epoch}: train loss {train_loss:.4f} acc {train_acc:.3f} | "
              f"test loss {val_loss:.4f} acc {val_acc:.3f}")  # fmt: skip
    return model, history


model, hand_history = train_by_hand(seed)

# %% slideshow={"slide_type": "subslide"}
final_val_acc = hand_history[-1][3]
check_true(
    hand_history[-1][2] < initial_loss.item() / 3,
    "training lowered the test loss to under a third of ln(10)",
    f"{hand_history[-1][2]:.3f}",
)
if mnist_test.real:
    check_true(final_val_acc > 0.8, "over 80 % of real test digits right", f"{final_val_acc:.3f}")

epochs_axis = range(1, EPOCHS + 1)
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.5))
ax_loss.plot(epochs_axis, [h[0] for h in hand_history], "o-", label="train")
ax_loss.plot(epochs_axis, [h[2] for h in hand_history], "s-", label="test")
ax_loss.set(title="Loss per epoch (hand-written loop)", xlabel="epoch", ylabel="cross-entropy")
ax_acc.plot(epochs_axis, [h[1] for h in hand_history], "o-", label="train")
ax_acc.plot(epochs_axis, [h[3] for h in hand_history], "s-", label="test")
ax_acc.set(title="Accuracy per epoch (hand-written loop)", xlabel="epoch", ylabel="accuracy")
for ax in (ax_loss, ax_acc):
    ax.set_xticks(list(epochs_axis))
    ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown] slideshow={"slide_type": "subslide"}
# The training numbers are measured *while* the weights change, with augmentation and
# dropout on; the test numbers with the weights at the end of the epoch and both off. That is
# why, on the real digits, the first epoch's training accuracy sits well below its test
# accuracy.

# %%
if mnist_test.real:
    (_, first_train_acc, _, first_test_acc) = hand_history[0]
    check_true(
        first_train_acc < first_test_acc - 0.1,
        "epoch 1: training accuracy (measured while learning) is far below test accuracy",
        f"{first_train_acc:.3f} vs {first_test_acc:.3f}",
    )

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5. The same run through `helpers.fit`
#
# `helpers.fit` (in `helpers/training.py`) is this loop plus plumbing. Per epoch it calls
# `model.train()`, and per batch: forward, loss, `loss.item()`, `optimizer.zero_grad()`,
# `loss.backward()`, `optimizer.step()`; then it evaluates under `model.eval()` and
# `torch.no_grad()`. Its optimizer defaults to `Adam(lr=...)`, and it averages loss and
# accuracy over examples exactly as we did. What it adds: a `History` table, checkpoints you can
# resume from, a stop with advice when the loss becomes NaN, gradient clipping, a progress bar,
# and on a GPU mixed precision (`amp`) and `channels_last`, which we switch off here so that
# both runs do the same arithmetic.
#
# Same seed, same model, same loaders: the two runs must agree to the last digit.

# %%
helpers.seed_everything(seed)
fit_model = make_model()
fit_history = helpers.fit(
    fit_model,
    make_loader(fit_set, shuffle=True, seed=seed),
    test_loader,
    epochs=EPOCHS,
    lr=LR,
    device=device,
    amp=False,
    channels_last=False,
)

# %% slideshow={"slide_type": "subslide"}
# On the CPU the two runs are bit-identical; a GPU may add float rounding of the order of 1e-6.
tolerance = 1e-6 if device.type == "cpu" else 1e-4
columns = ("train_loss", "train_acc", "val_loss", "val_acc")
for k, column in enumerate(columns):
    check_close(
        fit_history[column], [h[k] for h in hand_history], f"{column}: fit vs hand", rtol=tolerance
    )
for (name, w_fit), w_hand in zip(fit_model.state_dict().items(), model.state_dict().values()):
    check_close(w_fit, w_hand, f"weight {name}: fit vs hand", rtol=tolerance, atol=tolerance)
print(f"{EPOCHS} epochs: every loss, accuracy and weight of fit equals the hand-written loop")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6. Cross-entropy: logits, log-softmax and the double-softmax mistake
#
# The last layer outputs **logits** $y_1, \dots, y_C$, unbounded scores. Softmax turns them into
# probabilities and cross-entropy scores the probability given to the true class $c$:
#
# $$\hat{y}_i = \frac{e^{y_i}}{\sum_{k=1}^{C} e^{y_k}}, \qquad
# \mathcal{L} = -\sum_{i=1}^{C} y^*_i \log \hat{y}_i = -\log \hat{y}_c
# = -y_c + \log \sum_k e^{y_k},$$
#
# with $y^*$ the one-hot label. PyTorch splits this in two ways that give the same number:
#
# - `nn.CrossEntropyLoss` / `F.cross_entropy` takes the **logits** (it applies log-softmax
#   itself);
# - `nn.NLLLoss` / `F.nll_loss` takes **log-probabilities**, so it needs an explicit
#   `log_softmax` first; it just picks $-\log \hat{y}_c$ and averages.

# %%
# NBVAL_CHECK_OUTPUT
logits = torch.tensor([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]])  # (N=2, C=3)
labels = torch.tensor([0, 2])
by_formula = (-logits[range(2), labels] + logits.exp().sum(dim=1).log()).mean()
print(f"formula {by_formula:.4f}")
check_close(F.cross_entropy(logits, labels), by_formula, "F.cross_entropy(logits)")
check_close(nn.CrossEntropyLoss()(logits, labels), by_formula, "nn.CrossEntropyLoss()(logits)")
check_close(F.nll_loss(F.log_softmax(logits, dim=1), labels), by_formula, "nll_loss(log_softmax)")
check_close(-torch.log(F.softmax(logits, dim=1))[range(2), labels].mean(), by_formula, "-log(p_c)")

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Predict.** Computed literally, `torch.log(torch.exp(y) / torch.exp(y).sum())`, what is
# log(softmax) of the float32 logits $y = (1000, 0, -1000)$?

# %% [markdown] slideshow={"slide_type": "fragment"}
# **Answer.** `[nan, -inf, -inf]`: $e^{1000}$ overflows to `inf`, `inf / inf` is `nan`, and the
# other ratios are 0, whose log is `-inf`. The right answer is $(0, -1000, -2000)$.

# %% slideshow={"slide_type": "fragment"}
big_logits = torch.tensor([[1000.0, 0.0, -1000.0]])
by_hand = torch.log(torch.exp(big_logits) / torch.exp(big_logits).sum())
check_true(bool(torch.isnan(by_hand[0, 0])), "log(softmax) by hand is nan for the 1000")
check_equal(by_hand[0, 1:], torch.tensor([-math.inf, -math.inf]), "log(softmax) by hand, others")

# %% [markdown] slideshow={"slide_type": "subslide"}
# Why a separate `log_softmax` instead of `log(softmax(...))`? Large logits overflow
# $e^{y}$ in float32 (anything above about 88). `log_softmax` uses $\log \sum_k e^{y_k} = m +
# \log \sum_k e^{y_k - m}$ with $m = \max_k y_k$, which never overflows.

# %%
# NBVAL_CHECK_OUTPUT
big = torch.tensor([[1000.0, 0.0, -1000.0]])
naive = torch.log(torch.exp(big) / torch.exp(big).sum())
print("log(softmax) by hand:", naive.tolist(), "| log_softmax:", F.log_softmax(big, dim=1).tolist())
check_true(torch.isnan(naive).any(), "the naive formula breaks down (inf / inf = nan)")
check_equal(F.log_softmax(big, dim=1), torch.tensor([[0.0, -1000.0, -2000.0]]), "log_softmax")

# %% [markdown]
# **The double-softmax mistake.** A model that ends in `nn.Softmax()` and is trained with
# `nn.CrossEntropyLoss` applies softmax twice. Nothing crashes, and the loss even goes down,
# which makes the bug easy to miss.
#
# **Predict first.** A network that is *perfectly* confident and right outputs the
# probabilities $(1, 0, \dots, 0)$. What does `cross_entropy` report for them with 10 classes?
#
# `cross_entropy` treats them as logits, so the best it can see is $e^1$ against nine $e^0$:
# $\mathcal{L} = -\log \frac{e}{e + 9} = \log(1 + 9/e) \approx 1.46$, never 0. And the
# gradient is crushed: when the inner softmax saturates, its derivative is almost zero, so a
# confidently wrong network learns almost nothing from its mistake.

# %% slideshow={"slide_type": "subslide"}
# NBVAL_CHECK_OUTPUT
perfect = torch.zeros(1, 10)
perfect[0, 3] = 1.0  # probabilities (0, 0, 0, 1, 0, ...): right and sure
floor = F.cross_entropy(perfect, torch.tensor([3])).item()
print(f"loss of a perfect prediction after a second softmax: {floor:.4f}")
check_close(floor, math.log(1 + 9 / math.e), "the double-softmax loss floor log(1 + 9/e)")

confident_wrong = torch.tensor([[0.0, 0.0, 0.0, 12.0, 0, 0, 0, 0, 0, 0]], requires_grad=True)
true_class = torch.tensor([7])  # the network is sure of 3, the answer is 7
F.cross_entropy(confident_wrong, true_class).backward()
right_grad = confident_wrong.grad.norm().item()
confident_wrong.grad = None
F.cross_entropy(F.softmax(confident_wrong, dim=1), true_class).backward()
double_grad = confident_wrong.grad.norm().item()
print(f"gradient norm: logits {right_grad:.3f}, double softmax {double_grad:.2e}")
check_true(right_grad > 1000 * double_grad, "double softmax shrinks the gradient > 1000x here")

# %% [markdown]
# What that does to training: the same small network (an MLP on the flattened digits, fast to
# train) for one epoch of plain SGD, once with the correct loss on logits and once with the
# extra softmax. Both are scored with the correct cross-entropy on the test digits.


# %% slideshow={"slide_type": "subslide"}
def flat_tensors(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 1, 28, 28) -> normalised float (N, 784) in one go (no augmentation)."""
    return ((images.float() / 255 - mean) / std).flatten(1)


x_train_flat, y_train = flat_tensors(mnist_train.images), mnist_train.labels  # (N, 784), (N,)
x_test_flat, y_test = flat_tensors(mnist_test.images), mnist_test.labels
flat_loader = DataLoader(TensorDataset(x_train_flat, y_train), batch_size=BATCH, shuffle=True)


def make_mlp(activation=nn.ReLU, hidden: int = 128) -> nn.Module:
    return nn.Sequential(nn.Linear(784, hidden), activation(), nn.Linear(hidden, 10))


def double_softmax_loss(logits, y):
    return F.cross_entropy(F.softmax(logits, dim=1), y)  # the bug


mlp_scores = {}
for name, loss_fn in [("logits", F.cross_entropy), ("double softmax", double_softmax_loss)]:
    helpers.seed_everything(seed)
    mlp = make_mlp()
    train_one_epoch(mlp.to(device), flat_loader, torch.optim.SGD(mlp.parameters(), lr=0.1), loss_fn)
    mlp_scores[name] = evaluate(mlp, DataLoader(TensorDataset(x_test_flat, y_test), 1000))
    print(f"{name:15s}: test loss {mlp_scores[name][0]:.3f}, accuracy {mlp_scores[name][1]:.3f}")
check_true(
    mlp_scores["double softmax"][0] > mlp_scores["logits"][0] + 0.3,
    "after one epoch the double-softmax model is far behind (test loss higher by > 0.3)",
)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 7. Activation functions, vanishing gradients and dying ReLUs
#
# Each layer is followed by a nonlinearity applied to every value on its own. The slides' list:
#
# | name | $f(x)$ | PyTorch |
# |---|---|---|
# | sigmoid | $\sigma(x) = 1 / (1 + e^{-x})$, range $(0, 1)$ | `nn.Sigmoid()` |
# | tanh | $\tanh(x) = 2\sigma(2x) - 1$, range $(-1, 1)$ | `nn.Tanh()` |
# | ReLU | $\max(0, x)$ | `nn.ReLU()` |
# | leaky ReLU | $x$ if $x > 0$, else $a x$ ($a = 0.01$) | `nn.LeakyReLU(0.01)` |
# | ELU | $x$ if $x \ge 0$, else $a(e^x - 1)$ ($a = 1$) | `nn.ELU(1.0)` |

# %% slideshow={"slide_type": "subslide"}
# NBVAL_CHECK_OUTPUT
z = torch.linspace(-6, 6, 241, requires_grad=True)  # (241,)
formulas = {
    "sigmoid": (nn.Sigmoid(), lambda v: 1 / (1 + torch.exp(-v))),
    "tanh": (nn.Tanh(), lambda v: 2 / (1 + torch.exp(-2 * v)) - 1),  # 2 sigma(2x) - 1
    "ReLU": (nn.ReLU(), lambda v: torch.clamp(v, min=0)),
    "leaky ReLU": (nn.LeakyReLU(0.01), lambda v: torch.where(v > 0, v, 0.01 * v)),
    "ELU": (nn.ELU(1.0), lambda v: torch.where(v >= 0, v, torch.exp(v) - 1)),
}
derivatives = {}
for name, (module, formula) in formulas.items():
    check_close(module(z), formula(z), f"{name}: formula vs PyTorch", atol=1e-6)
    derivatives[name] = torch.autograd.grad(module(z).sum(), z)[0]  # f'(z) at every z
print("all five formulas equal their PyTorch modules")

sig_grad = derivatives["sigmoid"]
check_close(sig_grad.max(), 0.25, "largest slope of the sigmoid (at 0)")
check_true(sig_grad[0] < 0.003, "the sigmoid is flat (saturated) at -6", f"{sig_grad[0]:.4f}")
check_true(bool((derivatives["ReLU"][z.detach() < 0] == 0).all()), "ReLU's slope is 0 left of 0")

# %% slideshow={"slide_type": "subslide"}
fig, (ax_f, ax_d) = plt.subplots(1, 2, figsize=(11, 4))
for name, (module, _) in formulas.items():
    ax_f.plot(z.detach(), module(z).detach(), label=name)
    ax_d.plot(z.detach(), derivatives[name], label=name)
ax_f.set(title="Activation functions", xlabel="input x", ylabel="f(x)", ylim=(-1.5, 3))
ax_d.set(title="Their derivatives (by autograd)", xlabel="input x", ylabel="f'(x)")
for ax in (ax_f, ax_d):
    ax.grid(alpha=0.3)
    ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Saturation and vanishing gradients.** The sigmoid's slope is at most $1/4$ and nearly 0
# for large $|x|$ (tanh's at most 1, also vanishing at the ends). Backpropagation multiplies
# one such slope per layer, so in a deep stack of sigmoids the gradient reaching the first
# layers shrinks geometrically: those layers barely train. ReLU's slope is exactly 1 wherever
# a unit is active. We measure the gradient of each layer's weights in an 8-layer MLP on one
# batch of digits, with default initialisation and each activation in turn.


# %%
def deep_mlp(activation, depth: int = 8, width: int = 128) -> nn.Sequential:
    layers, size = [], 784
    for _ in range(depth - 1):
        layers += [nn.Linear(size, width), activation()]
        size = width
    return nn.Sequential(*layers, nn.Linear(size, 10))


layer_grads = {}
for name, activation in [("sigmoid", nn.Sigmoid), ("tanh", nn.Tanh), ("ReLU", nn.ReLU)]:
    helpers.seed_everything(seed)
    net = deep_mlp(activation)
    F.cross_entropy(net(x_train_flat[:256]), y_train[:256]).backward()
    layer_grads[name] = [m.weight.grad.norm().item() for m in net if isinstance(m, nn.Linear)]

shrink = {name: g[0] / g[-1] for name, g in layer_grads.items()}  # first layer / last layer
print("gradient norm, first layer / last layer:", {k: f"{v:.1e}" for k, v in shrink.items()})
check_true(shrink["sigmoid"] < 1e-3, "sigmoid: the first layer's gradient is > 1000x smaller")
check_true(shrink["ReLU"] > 100 * shrink["sigmoid"], "ReLU keeps the gradient > 100x larger")
check_true(shrink["tanh"] > 100 * shrink["sigmoid"], "tanh keeps the gradient > 100x larger")

# %% slideshow={"slide_type": "subslide"}
fig, ax = plt.subplots(figsize=(7, 4))
for name, grads in layer_grads.items():
    ax.semilogy(range(1, len(grads) + 1), grads, "o-", label=name)
ax.set(title="Gradient reaching each layer of an 8-layer MLP", xlabel="layer (1 = input side)",
       ylabel="norm of dL/dW (log scale)")  # fmt: skip
ax.legend()
plt.show()

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Dying ReLU.** A ReLU unit whose input is negative for *every* example outputs 0 and has
# slope 0 everywhere, so no gradient ever reaches its weights: once it is in that state no
# update can bring it back. A too-large step can push many units there at once. We train the
# one-hidden-layer MLP for one epoch of SGD at a sensible learning rate (0.1) and at a
# reckless one (1.0), and count the hidden units whose input is negative on all training
# digits ("switched off"); a leaky ReLU gets the same reckless step for comparison.


# %%
@torch.no_grad()
def switched_off(mlp: nn.Module) -> tuple[float, torch.Tensor]:
    """Share of hidden units whose input is negative for every training image, and which ones.
    A ReLU unit in this state outputs 0 everywhere: it is dead."""
    pre_activation = mlp[0](x_train_flat.to(device))  # (N, 128) before the activation
    off = (pre_activation > 0).sum(dim=0) == 0  # (128,) never positive
    return off.float().mean().item(), off.cpu()


relu_runs = {}
for activation, lr in [(nn.ReLU, 0.1), (nn.ReLU, 1.0), (nn.LeakyReLU, 1.0)]:
    helpers.seed_everything(seed)
    mlp = make_mlp(activation).to(device)
    train_one_epoch(mlp, flat_loader, torch.optim.SGD(mlp.parameters(), lr=lr))
    relu_runs[(activation.__name__, lr)] = mlp
    print(f"{activation.__name__:9s} lr {lr}: {switched_off(mlp)[0]:.0%} of hidden units off")

calm, reckless = switched_off(relu_runs[("ReLU", 0.1)])[0], switched_off(relu_runs[("ReLU", 1.0)])
check_true(calm < 0.05, "lr 0.1: almost no dead units", f"{calm:.0%}")
check_true(reckless[0] > 0.3, "lr 1.0: a large share of the ReLUs died", f"{reckless[0]:.0%}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# Are they really beyond repair? Their incoming weights get exactly zero gradient from the
# whole training set, so further training, even at the sensible rate, leaves every dead unit
# dead. Leaky ReLU avoids the trap: its slope is $a = 0.01$ instead of 0 for negative inputs,
# so a unit that is off everywhere still receives a (small) gradient.

# %%
dying = relu_runs[("ReLU", 1.0)]
dead_before = reckless[1]
dying.zero_grad()
F.cross_entropy(dying(x_train_flat.to(device)), y_train.to(device)).backward()
check_equal(
    dying[0].weight.grad.cpu()[dead_before].abs().sum().item(), 0.0, "gradient into dead units"
)
train_one_epoch(dying, flat_loader, torch.optim.SGD(dying.parameters(), lr=0.1))
dead_after = switched_off(dying)[1]
check_true(bool(dead_after[dead_before].all()), "every dead unit is still dead after an epoch")
print(f"dead units: {int(dead_before.sum())} before, {int(dead_after.sum())} after one more epoch")

leaky = relu_runs[("LeakyReLU", 1.0)]
leaky_off = switched_off(leaky)[1]  # (128,) True where the input is negative everywhere
leaky.zero_grad()
F.cross_entropy(leaky(x_train_flat.to(device)), y_train.to(device)).backward()
leaky_grads = leaky[0].weight.grad.cpu()[leaky_off].abs().sum(dim=1)  # one per such unit
print(f"leaky ReLU: {int(leaky_off.sum())} units off everywhere, smallest gradient into one "
      f"{leaky_grads.min():.1e}")  # fmt: skip
check_true(bool(leaky_off.any()), "the reckless step also switched off leaky units")
check_true(bool((leaky_grads > 0).all()), "every switched-off leaky unit still gets a gradient")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 8. Optimizers by hand: SGD, momentum and Adam
#
# An optimizer turns the gradient $g_t = \partial L / \partial w$ of a batch into an update
# $w_{t+1} = w_t + \Delta w_t$. The slides' rules, and how `torch.optim` writes them:
#
# - **SGD**: $\Delta w_t = -\lambda g_t$ (learning rate $\lambda$).
# - **SGD with momentum** (slides): $\Delta w_t = \rho\, \Delta w_{t-1} - \lambda g_t$.
#   PyTorch keeps a velocity instead, $v_t = \rho\, v_{t-1} + g_t$, $w_{t+1} = w_t - \lambda
#   v_t$. With a constant $\lambda$ these are the same rule, since $\Delta w_t = -\lambda v_t$.
# - **Adam**: $m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t$ and $v_t = \beta_2 v_{t-1} + (1 -
#   \beta_2) g_t^2$ (element-wise), bias-corrected $\hat{m}_t = m_t / (1 - \beta_1^t)$,
#   $\hat{v}_t = v_t / (1 - \beta_2^t)$, then $\Delta w_t = -\lambda\, \hat{m}_t /
#   (\sqrt{\hat{v}_t} + \epsilon)$, with $\beta_1 = 0.9$, $\beta_2 = 0.999$, $\epsilon =
#   10^{-8}$ and $m_0 = v_0 = 0$. (The slide writes $m_t$ instead of $\hat{m}_t$ and puts
#   $\epsilon$ under the root; PyTorch and the Adam paper use the form above, checked below.)


# %% slideshow={"slide_type": "notes"}
class HandSGD:
    """SGD, with momentum in the slides' form: delta = rho * delta_prev - lr * g."""

    def __init__(self, params, lr: float, momentum: float = 0.0):
        self.params, self.lr, self.rho = list(params), lr, momentum
        self.delta = [torch.zeros_like(p) for p in self.params]

    @torch.no_grad()
    def step(self):
        for p, delta in zip(self.params, self.delta):
            delta.mul_(self.rho).sub_(self.lr * p.grad)  # delta_t = rho delta_{t-1} - lr g_t
            p.add_(delta)  # w_{t+1} = w_t + delta_t


class HandAdam:
    """Adam as in Kingma & Ba (2015) and torch.optim.Adam."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, correct_m=True):
        self.params, self.lr, (self.b1, self.b2), self.eps = list(params), lr, betas, eps
        self.correct_m = correct_m  # False: the slide's variant (m_t, eps under the root)
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = 0

    @torch.no_grad()
    def step(self):
        self.t += 1
        for p, m, v in zip(self.params, self.m, self.v):
            m.mul_(self.b1).add_((1 - self.b1) * p.grad)  # first moment (mean)
            v.mul_(self.b2).add_((1 - self.b2) * p.grad**2)  # second moment
            v_hat = v / (1 - self.b2**self.t)
            if self.correct_m:
                p.sub_(self.lr * (m / (1 - self.b1**self.t)) / (v_hat.sqrt() + self.eps))
            else:
                p.sub_(self.lr * m / (v_hat + self.eps).sqrt())


# %% [markdown]
# The check: two copies of one network, one stepped by `torch.optim`, the other by our class,
# fed the same batches; after every step all weights must agree. We run it in double
# precision: an adaptive optimizer divides by $\sqrt{v} + \epsilon$, which for a weight with
# an almost-zero gradient magnifies float32 rounding differences between two equivalent
# formulas up to a thousandfold.


# %% slideshow={"slide_type": "subslide"}
def same_steps(make_torch_opt, make_hand_opt, steps: int = 5) -> list[float]:
    """Step two identical MLPs side by side; the largest weight difference after each step."""
    helpers.seed_everything(seed)
    net_torch = make_mlp().double()  # float64 weights
    net_hand = copy.deepcopy(net_torch)
    opt_torch, opt_hand = (
        make_torch_opt(net_torch.parameters()),
        make_hand_opt(net_hand.parameters()),
    )
    gaps = []
    for _, (x, y) in zip(range(steps), flat_loader):
        for net, opt in ((net_torch, opt_torch), (net_hand, opt_hand)):
            net.zero_grad()
            F.cross_entropy(net(x.double()), y).backward()
            opt.step()
        gaps.append(max((a - b).abs().max().item() for a, b in
                        zip(net_torch.parameters(), net_hand.parameters())))  # fmt: skip
    return gaps


optimizers = {
    "SGD": (lambda p: torch.optim.SGD(p, lr=0.1), lambda p: HandSGD(p, lr=0.1)),
    "SGD + momentum": (
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
        lambda p: HandSGD(p, lr=0.1, momentum=0.9),
    ),
    "Adam": (lambda p: torch.optim.Adam(p, lr=1e-3), lambda p: HandAdam(p, lr=1e-3)),
}
for name, (torch_opt, hand_opt) in optimizers.items():
    gaps = same_steps(torch_opt, hand_opt)
    print(f"{name:15s} largest weight difference per step: {[f'{g:.0e}' for g in gaps]}")
    check_close(gaps, [0.0] * len(gaps), f"{name}: hand-written vs torch.optim", atol=1e-9)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Predict first.** In Adam's very first step, one weight has gradient $10^{-4}$ and another
# has gradient $10$. Which one moves further?
#
# Neither: with $m_0 = v_0 = 0$ the corrected moments are $\hat{m}_1 = g$ and $\hat{v}_1 = g^2$,
# so $\Delta w_1 = -\lambda\, g / (|g| + \epsilon) \approx -\lambda\, \text{sign}(g)$: every
# weight with a non-negligible gradient moves by almost exactly the learning rate. That is
# why Adam is much less sensitive to the scale of the gradients than SGD. The slide's variant,
# without $\hat{m}_t$, would make that first step 10 times shorter ($1 - \beta_1 = 0.1$).

# %% slideshow={"slide_type": "subslide"}
helpers.seed_everything(seed)
probe = make_mlp()
x_probe, y_probe = next(iter(flat_loader))
F.cross_entropy(probe(x_probe), y_probe).backward()
before = [p.detach().clone() for p in probe.parameters()]
grads = torch.cat([p.grad.flatten() for p in probe.parameters()])
moved = {}
for name, correct_m in [("Adam", True), ("slide variant", False)]:
    with torch.no_grad():
        for p, p0 in zip(probe.parameters(), before):
            p.copy_(p0)
    HandAdam(probe.parameters(), lr=1e-3, correct_m=correct_m).step()
    moved[name] = torch.cat([(p - p0).flatten() for p, p0 in zip(probe.parameters(), before)])

clear = grads.abs() > 1e-4  # weights whose gradient is far above eps = 1e-8
spread = (grads[clear].abs().max() / grads[clear].abs().min()).item()
print(
    f"{int(clear.sum())} gradients spanning a factor {spread:,.0f}; Adam moved each weight "
    f"by {moved['Adam'][clear].abs().min():.3e} to {moved['Adam'][clear].abs().max():.3e}"
)
check_close(
    moved["Adam"][clear].abs(), torch.full_like(grads[clear], 1e-3), "|first Adam step|", rtol=1e-3
)
large = grads.abs() > 1e-2  # the slide's eps under the root matters below about 1e-3
check_close(moved["slide variant"][large] / moved["Adam"][large], torch.full_like(grads[large], 0.1),
            "first step of the slide's variant / Adam's", rtol=1e-3)  # fmt: skip

# %% [markdown] slideshow={"slide_type": "subslide"}
# What momentum buys shows best on a long, narrow valley, $L(w) = \tfrac12 (w_1^2 + 25
# w_2^2)$: steep across, shallow along. A learning rate small enough not to diverge across
# the valley ($\lambda < 2/25$) crawls along it; momentum accumulates the consistent
# along-the-valley component and damps the zig-zag. Adam divides each coordinate's step by
# the size of that coordinate's own gradients, so its steps are about $\lambda$ long in both
# directions, however steep or shallow the slope: it walks along the valley at a steady pace
# but keeps stepping around the minimum instead of settling.


# %% slideshow={"slide_type": "subslide"}
def valley(w: torch.Tensor) -> torch.Tensor:
    return 0.5 * (w[0] ** 2 + 25 * w[1] ** 2)


def trajectory(make_opt, steps: int = 60) -> np.ndarray:
    w = torch.tensor([-4.0, 1.0], requires_grad=True)
    opt, path = make_opt([w]), [w.detach().clone()]
    for _ in range(steps):
        opt.zero_grad()
        valley(w).backward()
        opt.step()
        path.append(w.detach().clone())
    return torch.stack(path).numpy()  # (steps + 1, 2)


paths = {
    "SGD, lr 0.035": trajectory(lambda p: torch.optim.SGD(p, lr=0.035)),
    "momentum 0.8, lr 0.035": trajectory(lambda p: torch.optim.SGD(p, lr=0.035, momentum=0.8)),
    "Adam, lr 0.1": trajectory(lambda p: torch.optim.Adam(p, lr=0.1)),
}
final = {name: valley(torch.tensor(path[-1])).item() for name, path in paths.items()}
print({name: f"{value:.1e}" for name, value in final.items()})
check_true(
    final["momentum 0.8, lr 0.035"] < final["SGD, lr 0.035"] / 100,
    "after 60 steps momentum is > 100x closer (in loss) than plain SGD at the same lr",
)
adam_path = paths["Adam, lr 0.1"]
first_adam_step = np.abs(adam_path[1] - adam_path[0])  # the slopes there are 4 and 25
check_close(first_adam_step, [0.1, 0.1], "Adam's first step in w1 and in w2", rtol=1e-4)

# %% slideshow={"slide_type": "subslide"}
grid_w1, grid_w2 = np.meshgrid(np.linspace(-4.5, 1.5, 200), np.linspace(-1.5, 1.5, 200))
fig, ax = plt.subplots(figsize=(9, 4.5))
ax.contour(grid_w1, grid_w2, 0.5 * (grid_w1**2 + 25 * grid_w2**2), levels=20, cmap="Greys")
for (name, path), marker in zip(paths.items(), "o^s"):
    ax.plot(
        path[:, 0], path[:, 1], marker=marker, ms=3, lw=1, label=f"{name}: L = {final[name]:.0e}"
    )
ax.plot(0, 0, "r*", ms=14, label="minimum")
ax.set(title="60 steps on L(w) = (w1^2 + 25 w2^2) / 2", xlabel="w1", ylabel="w2")
ax.legend(loc="lower right")
plt.show()

# %% [markdown] slideshow={"slide_type": "slide"} tags=["lecture-optional"]
# ## 9. Watching training in TensorBoard
#
# TensorBoard plots what a run writes to an *event file* while it trains. In PyTorch,
# `torch.utils.tensorboard.SummaryWriter(folder)` creates the file and `add_scalar(tag,
# value, step)` appends one point to a curve (`add_image`, `add_histogram` and others store
# pictures and distributions). The training loop needs only a few extra lines. Here the MLP
# trains for two epochs with one point per batch and one per epoch.
#
# To look at the curves: in JupyterLab run `%load_ext tensorboard` and then
# `%tensorboard --logdir <folder>` in a cell, or in a terminal `tensorboard --logdir <folder>`
# and open `http://localhost:6006`. The folder here is `runs/00_pytorch_by_hand` inside the
# course's cache folder: `.cache/` in the course directory unless `COURSE_CACHE_DIR` says
# otherwise: from `notebooks/` that is `%tensorboard --logdir ../.cache/runs`, from
# `notebooks/student/` `../../.cache/runs`. It is not committed.

# %% slideshow={"slide_type": "subslide"}
from torch.utils.tensorboard import SummaryWriter

RUNS = CACHE / "runs" / "00_pytorch_by_hand"
run_dir = RUNS / f"mlp_seed{seed}"
shutil.rmtree(run_dir, ignore_errors=True)  # a fresh log for this run

helpers.seed_everything(seed)
logged_mlp = make_mlp().to(device)
optimizer = torch.optim.SGD(logged_mlp.parameters(), lr=0.1, momentum=0.9)
batch_losses = []
with SummaryWriter(str(run_dir)) as writer:
    writer.add_image("a training digit", x_batch[0] * std + mean)  # (1, 28, 28) in [0, 1]
    step = 0
    for epoch in range(1, 3):
        logged_mlp.train()
        for x, y in flat_loader:
            loss = F.cross_entropy(logged_mlp(x.to(device)), y.to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            writer.add_scalar("loss/train_batch", loss.item(), step)  # one point per batch
            batch_losses.append(loss.item())
            step += 1
        val_loss, val_acc = evaluate(
            logged_mlp, DataLoader(TensorDataset(x_test_flat, y_test), 1000)
        )
        writer.add_scalar("loss/test", val_loss, epoch)  # one point per epoch
        writer.add_scalar("accuracy/test", val_acc, epoch)
        writer.add_histogram("hidden layer weights", logged_mlp[0].weight, epoch)
print(f"logged {step} batch losses and 2 epochs to <cache>/runs/00_pytorch_by_hand")

# %% [markdown] slideshow={"slide_type": "subslide"}
# The event file is a log anyone can read back, not only the TensorBoard app. Reading it with
# TensorBoard's own reader proves the curves hold exactly what the loop measured.

# %%
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

events = EventAccumulator(str(run_dir))
events.Reload()
stored = [e.value for e in events.Scalars("loss/train_batch")]
check_equal(len(stored), len(batch_losses), "batch losses in the event file")
check_close(stored, batch_losses, "logged losses vs the loop's (float32 in the file)")
check_true("a training digit" in events.Tags()["images"], "the image was logged")
print("tags:", {kind: tags for kind, tags in events.Tags().items() if tags and kind != "graph"})

# %% slideshow={"slide_type": "subslide"}
fig, ax = plt.subplots(figsize=(8, 3.5))
ax.plot(stored, lw=0.8, label="per batch (read back from the event file)")
ax.set(title="What TensorBoard shows under loss/train_batch", xlabel="step (batch)",
       ylabel="cross-entropy")  # fmt: skip
ax.legend()
plt.show()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 10. Saving and restoring weights with `state_dict`
#
# `model.state_dict()` is an ordered dictionary from parameter (and buffer) names to tensors:
# `"0.weight"`, `"0.bias"`, ... for our `Sequential`. `torch.save(model.state_dict(), path)`
# writes it; `model.load_state_dict(torch.load(path, weights_only=True))` puts the values back
# into a model of the **same architecture**, because the names and shapes must match.
# (`weights_only=True` refuses to run code hidden in a file from elsewhere.) For long runs
# also save `optimizer.state_dict()` (Adam's moments) to resume exactly; `helpers.fit` does
# that in its checkpoints, and `helpers.save_checkpoint` writes atomically so that an
# interruption never leaves half a file.

# %%
weights_path = CACHE / "00_small_cnn.pt"
weights_path.parent.mkdir(parents=True, exist_ok=True)
torch.save(model.state_dict(), weights_path)
print(list(model.state_dict().keys()))

helpers.seed_everything(seed + 1)
restored = make_model().to(device)  # new random weights
check_true(not torch.equal(restored[0].weight, model[0].weight), "a fresh model has other weights")
restored.load_state_dict(torch.load(weights_path, weights_only=True))
for (name, saved), loaded in zip(model.state_dict().items(), restored.state_dict().values()):
    check_equal(loaded, saved, f"restored {name}")
check_equal(evaluate(restored, test_loader), evaluate(model, test_loader), "test loss and accuracy")

# %% [markdown]
# The slides warn that parameter names in the file must match the model. Loading into a
# network with a different layer fails loudly, naming the mismatch:

# %% slideshow={"slide_type": "subslide"}
wider = make_model()
wider[0] = nn.Conv2d(1, 12, 3, padding=1)  # 12 filters instead of 8
try:
    wider.load_state_dict(torch.load(weights_path, weights_only=True))
    mismatch = ""
except RuntimeError as err:
    mismatch = str(err)
print(mismatch.splitlines()[1].strip() if mismatch else "loaded?!")
check_true("size mismatch for 0.weight" in mismatch, "load_state_dict names the mismatched layer")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
#
# Each exercise has a cell for your answer and a check cell below it that says "right" or
# gives a hint (it never stops the notebook). The exercise version of this notebook
# (`notebooks/student/`) has empty answer cells; the lecture version (`notebooks/`) holds worked
# solutions in them.
#
# **Exercise 1 (RMSprop by hand).** The slides give RMSprop as $E[g^2]_t = \rho\,
# E[g^2]_{t-1} + (1 - \rho)\, g_t^2$ and $\Delta w_t = -\lambda\, g_t / \sqrt{E[g^2]_t +
# \epsilon}$. PyTorch (`torch.optim.RMSprop(params, lr, alpha=0.99, eps=1e-8)`, with $\rho$
# called `alpha`) puts $\epsilon$ *outside* the root: $\Delta w_t = -\lambda\, g_t /
# (\sqrt{E[g^2]_t} + \epsilon)$. Write a class `HandRMSprop(params, lr, alpha=0.99,
# eps=1e-8)` with a `step()` method in PyTorch's form, like `HandSGD` above.


# %% nbgrader={"grade": false, "grade_id": "ex1_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 1: your answer, the class HandRMSprop
HandRMSprop = None


### BEGIN SOLUTION
class HandRMSprop:
    def __init__(self, params, lr: float, alpha: float = 0.99, eps: float = 1e-8):
        self.params, self.lr, self.alpha, self.eps = list(params), lr, alpha, eps
        self.square_avg = [torch.zeros_like(p) for p in self.params]

    @torch.no_grad()
    def step(self):
        for p, avg in zip(self.params, self.square_avg):
            avg.mul_(self.alpha).add_((1 - self.alpha) * p.grad**2)  # E[g^2]_t
            p.sub_(self.lr * p.grad / (avg.sqrt() + self.eps))


### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex1_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
ok_1 = helpers.verdict(
    HandRMSprop,
    lambda cls: max(same_steps(lambda p: torch.optim.RMSprop(p, lr=1e-3), lambda p: cls(p, lr=1e-3))) < 1e-9,
    "keep one running average per parameter tensor, starting at zeros; update it in place.",
)  # fmt: skip
### BEGIN HIDDEN TESTS
assert ok_1, "exercise 1 is not right"
### END HIDDEN TESTS

# %% [markdown]
# **Exercise 2 (the forgotten `model.eval()`).** Compute the mean test loss of the trained
# CNN `model` twice with dropout still on (`model.train()`, still under `torch.no_grad()`),
# and once properly with `evaluate`. Store the three losses in a tuple
# `(loss_train_mode_1, loss_train_mode_2, loss_eval_mode)`. What do you observe?


# %% nbgrader={"grade": false, "grade_id": "ex2_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 2: your answer, a tuple of three test losses
forgotten_eval = None


### BEGIN SOLUTION
@torch.no_grad()
def loss_in_train_mode(net: nn.Module) -> float:
    net.train()  # the mistake: dropout stays on while testing
    total = sum(
        F.cross_entropy(net(x.to(device)), y.to(device)).item() * len(x) for x, y in test_loader
    )
    return total / len(test_set)


forgotten_eval = (
    loss_in_train_mode(model),
    loss_in_train_mode(model),
    evaluate(model, test_loader)[0],
)
print(
    "test loss in train mode, again in train mode, in eval mode:",
    [f"{v:.4f}" for v in forgotten_eval],
)
# The two train-mode losses differ (a new dropout mask each time) and are both higher than the
# eval-mode loss: forgetting model.eval() makes a test score noisy and pessimistic.
check_true(min(forgotten_eval[:2]) > forgotten_eval[2], "train-mode losses above eval mode")
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex2_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
ok_2 = helpers.verdict(
    forgotten_eval,
    lambda t: len(t) == 3 and t[0] != t[1] and t[2] == evaluate(model, test_loader)[0],
    "in train mode dropout draws a new mask on every forward pass; the third value comes "
    "from evaluate(model, test_loader).",
)
### BEGIN HIDDEN TESTS
assert ok_2, "exercise 2 is not right"
### END HIDDEN TESTS

# %% [markdown]
# **Exercise 3 (overfit one batch).** The slides' first sanity check for new code: with
# regularisation off, a working network must learn a single small batch by heart. Train a
# fresh `make_model()` with Adam (lr $10^{-2}$) on the first 64 *test-transformed* training
# images (no augmentation) for at most 200 steps, with `model.eval()` so that dropout is off,
# and store the final training accuracy on those 64 images in `one_batch_accuracy`.

# %% nbgrader={"grade": false, "grade_id": "ex3_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 3: your answer, a float between 0 and 1
one_batch_accuracy = None
### BEGIN SOLUTION
helpers.seed_everything(seed)
memoriser = make_model().to(device).eval()  # eval(): dropout off, nothing to regularise
one_batch = DigitImages(mnist_train.images[:BATCH], mnist_train.labels[:BATCH], test_transform)
x_one_batch, y_one_batch = (t.to(device) for t in next(iter(DataLoader(one_batch, BATCH))))
memoriser_opt = torch.optim.Adam(memoriser.parameters(), lr=1e-2)
for step in range(201):
    logits_one = memoriser(x_one_batch)  # (64, 10)
    loss_one = F.cross_entropy(logits_one, y_one_batch)
    if step == 200 or (logits_one.argmax(1) == y_one_batch).all():
        break  # measured before any further step
    memoriser_opt.zero_grad()
    loss_one.backward()
    memoriser_opt.step()
one_batch_accuracy = (logits_one.argmax(1) == y_one_batch).float().mean().item()
print(f"after {step} steps: loss {loss_one.item():.4f}, accuracy {one_batch_accuracy:.2f}")
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex3_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
ok_3 = helpers.verdict(
    one_batch_accuracy,
    lambda a: a == 1.0,
    "a correct loop reaches 100 % on 64 images; check zero_grad, and that dropout is off.",
)
### BEGIN HIDDEN TESTS
assert ok_3, "exercise 3 is not right"
### END HIDDEN TESTS

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
#
# - A `Dataset` returns one `(input, label)`; transforms (`ToTensor`: uint8 -> float in
#   $[0, 1]$, `Normalize`: $(x - \mu)/\sigma$ with training-set statistics, random
#   augmentation for training only) make the input; a `DataLoader` batches and shuffles, and
#   a seeded generator makes its order repeatable.
# - The loop: `model.train()`; per batch forward, loss, `zero_grad`, `backward`, `step`. To
#   evaluate: `model.eval()` and `torch.no_grad()`. `helpers.fit` is exactly this loop
#   (Adam by default) with history, checkpoints and safety nets; with the same seed it gives
#   the same numbers.
# - `CrossEntropyLoss` wants logits, `NLLLoss` wants `log_softmax` outputs. A softmax before
#   `CrossEntropyLoss` puts a floor under the loss ($\log(1 + 9/e)$ for 10 classes) and
#   starves confident mistakes of gradient.
# - Sigmoid saturates and shrinks the gradient layer after layer (over 1000x across our 8
#   layers); with tanh (slope up to 1) it does not shrink here, with ReLU far less. A ReLU
#   that is off for every input is dead for good, and too large a step kills many; leaky ReLU
#   and ELU keep a slope for negative inputs, so such a unit still gets a gradient.
# - SGD steps by $-\lambda g$; momentum adds $\rho$ times the previous step; Adam divides a
#   bias-corrected running mean of $g$ by the root of a running mean of $g^2$, so its first
#   step is about $\lambda$ for every weight.
# - Start every run by checking that the first loss is near $\ln C$ and that one batch can be
#   learned by heart; watch it in TensorBoard (`SummaryWriter.add_scalar`); keep the
#   `state_dict`, which loads only into the same architecture.
#
# ## Further reading
#
# - PyTorch tutorials: "Learn the Basics" (tensors, datasets and dataloaders, transforms,
#   building models, autograd, optimization, save and load), and "Visualizing models, data,
#   and training with TensorBoard".
# - PyTorch documentation: `torch.utils.data`, `torchvision.transforms`, `torch.nn.CrossEntropyLoss`,
#   `torch.nn.NLLLoss`, `torch.optim` (the algorithm of each optimizer is written out on its
#   page), `torch.utils.tensorboard`, "Saving and loading models".
# - D. P. Kingma, J. Ba, "Adam: a method for stochastic optimization", ICLR 2015.
# - I. Sutskever, J. Martens, G. Dahl, G. Hinton, "On the importance of initialization and
#   momentum in deep learning", ICML 2013.
# - X. Glorot, Y. Bengio, "Understanding the difficulty of training deep feedforward neural
#   networks", AISTATS 2010 (saturating activations).
# - K. He, X. Zhang, S. Ren, J. Sun, "Delving deep into rectifiers", ICCV 2015 (PReLU, He
#   initialisation); D.-A. Clevert, T. Unterthiner, S. Hochreiter, "Fast and accurate deep
#   network learning by exponential linear units (ELUs)", 2015.
# - A. Karpathy, "A recipe for training neural networks" (blog, 2019): the sanity checks.
