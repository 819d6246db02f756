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
# # 08 Assignment: design your own CNN for CIFAR-10
#
# Everything in the course so far comes together here. You design two convolutional networks,
# a simple **baseline** and a **proposed** model that you give a name (`<Your name here>Net`),
# train both on CIFAR-10 with exactly the same optimisation recipe, and explain which one is
# better and why. Because the recipe is shared, a difference in accuracy comes from the
# architecture, though not from any one part of it: the two models differ in many ways. To pin
# an effect on one component, the notebook also trains an **ablation**, your proposed model
# with one component (BatchNorm) removed and everything else kept. On the way you apply the sanity checks
# that catch most training bugs before they cost hours: the loss at initialisation, overfitting
# one small batch, learning curves, a confusion matrix and a look at the mistakes.
#
# This notebook comes in two versions built from one source. In the **student** version the
# code of every task is a `# your answer here` stub that raises "not done yet" until you
# replace it; the checks below each task report what is still missing without stopping the
# notebook, and the checklist at the end shows which of the slides' requirements your run
# meets. The **solution** version passes every check. Rebuild the student version with
# `python scripts/assignment.py build 08`; grade a submission with
# `python scripts/assignment.py grade submission.ipynb`. The cells that load and split the
# data, train and score are locked: the grader puts back their released version, so every
# submission is trained and scored the same way.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Learning goals
#
# - Design a LeNet-5 style baseline and a stronger named CNN (3x3 convolutions, BatchNorm,
#   residual connections, global pooling) and count their parameters.
# - Check a model before training it: its initial loss is close to $\ln 10$ and it can drive
#   the loss on one small batch to nearly zero.
# - Train two models with one shared optimisation configuration (SGD with Nesterov momentum,
#   weight decay, a warm-up-then-decay learning rate, augmentation) and prove it is shared.
# - Report training/validation loss per epoch and validation/test accuracy, keep the epoch
#   with the best validation accuracy, and read learning curves, a confusion matrix and the
#   misclassified images.
# - Attribute a difference in accuracy to a difference in architecture, and say so in words.
# - Say what data-parallel training on several GPUs averages, how it changes the batch size
#   and the learning rate, and how to launch it with `torchrun`.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## You should already know
#
# - Convolution, padding, stride and pooling, and how they change tensor shapes (notebooks 01
#   and 03).
# - LeNet-5, VGG and ResNet building blocks (notebook 04); BatchNorm and augmentation
#   (notebook 05).
# - Cross-entropy loss, SGD with momentum, and `helpers.fit` / `helpers.DeviceLoader`.

# %% [markdown] slideshow={"slide_type": "subslide"}
# ## How this assignment is graded
#
# | part | graded cell | points | graded |
# |---|---|---:|---|
# | Task 1: `BaselineNet` | `check_baseline` | 1 | automatically |
# | Task 2: `ProposedNet` and its name | `check_proposed` | 1 | automatically |
# | Sanity check 1: loss at initialisation | `check_initial_loss` | 1 | automatically |
# | Sanity check 2: overfit one batch | `check_overfit` | 1 | automatically |
# | Task 3: `make_optimizer` | `check_optimisation` | 1 | automatically |
# | The results table | `check_results` | 1 | automatically |
# | Accuracy goals, 1 per model | `accuracy` | 2 | automatically, from your stored outputs |
# | Task 4: discussion | `discussion` | 3 | by hand, with the rubric in section 9 |
# | The checklist, 1 per item | `checklist` | 7 | automatically |
# | Exercises 1 to 3, 1 each | `ex1_check`, `ex2_check`, `ex3_check` | 3 | automatically |
# | **total** | | **21** | 18 automatically, 3 by hand |
#
# **What to hand in:** this notebook run top to bottom, with its outputs. Run it in full mode
# (real CIFAR-10 on a GPU, e.g. on Colab) if you can: the accuracy goals are scored from the
# outputs you hand in, against the goals of the mode they show (section 7). The grader
# re-runs your notebook in fast mode for every other check.

# %% slideshow={"slide_type": "skip"}
# Set-up: on Google Colab this first installs the course; everywhere it prints the settings.
import sys

if "google.colab" in sys.modules:
    import subprocess

    COURSE = "cnn-rnn-course[colab] @ git+https://github.com/cnn-rnn-course/cnn-rnn-course"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", COURSE], check=True)

import helpers

helpers.print_banner()

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false}
import hashlib
import math
import operator
import time
from dataclasses import dataclass
from fractions import Fraction

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from IPython.display import Markdown, display
from torch import nn

from helpers import pick
from helpers.assignment import Checklist, attempt, ready

SEED = helpers.seed_everything()
device = helpers.best_device()
PLACEHOLDER_NAME = "<Your name here>Net"
print(f"seed {SEED}, device {device.type}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1. The data: CIFAR-10 with a fixed validation split
#
# CIFAR-10 has 50,000 training and 10,000 test images of 32x32 pixels in 10 classes. We hold
# out 5,000 training images (500 per class) as a **validation set**: it picks the best epoch
# and compares the models, so the **test set** is touched only once at the very end. The split
# is fixed by the seed, so both models see exactly the same images. In fast mode the course
# uses a class-balanced subset (5,000 / 1,000 images), holds out 500 of it (50 per class)
# and trains on 1,500 of the rest. The checks below make sure that every class has its share
# of the validation set and that no image is in both the training and the validation part.

# %% nbgrader={"grade": false, "grade_id": "data", "locked": true, "schema_version": 3, "solution": false}
full_train = helpers.load_cifar10("train")  # uint8 (N, 3, 32, 32)
test_set = helpers.load_cifar10("test")
train_set, val_set = full_train.split(pick(500, 5000), seed=SEED)
n_train = pick(1500, len(train_set))  # fast mode: fewer images, so the notebook runs on a CPU
keep = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(SEED))[:n_train]
train_set = train_set.subset(keep.sort().values)
REAL_DATA = full_train.real  # False for the generated stand-in
classes = full_train.classes


def fingerprint(data) -> str:
    """A short hash of a set's images and labels: it changes when the set does."""
    digest = hashlib.sha1(data.images.numpy().tobytes())
    digest.update(data.labels.numpy().tobytes())
    return digest.hexdigest()[:12]


SPLIT = {
    "train": fingerprint(train_set),
    "validation": fingerprint(val_set),
    "test": fingerprint(test_set),
}
print(f"train {len(train_set):,} | validation {len(val_set):,} | test {len(test_set):,}")

# %%
# NBVAL_CHECK_OUTPUT
print(classes)
print(tuple(train_set.images.shape[1:]), train_set.images.dtype)

# %% slideshow={"slide_type": "subslide"}
helpers.check_equal(len(classes), 10, "number of classes")
per_class = pick(50, 500)
helpers.check_equal(
    val_set.class_counts(),
    {name: per_class for name in classes},
    "validation images per class",
    hint="the split is class-balanced",
)


def image_hashes(data) -> set[str]:
    return {hashlib.sha1(image.numpy().tobytes()).hexdigest() for image in data.images}


shared = image_hashes(train_set) & image_hashes(val_set)
helpers.check_equal(len(shared), 0, "images in both the training and the validation part")
if not helpers.get_settings().fast:
    helpers.check_equal(
        (len(train_set), len(val_set), len(test_set)), (45000, 5000, 10000), "full-mode split sizes"
    )

# %% slideshow={"slide_type": "subslide"}
fig = helpers.show_images(
    train_set.images[:16], train_set.labels[:16], classes, title="CIFAR-10 training images", ncols=8
)

# %% [markdown]
# The loaders keep each set as one uint8 tensor on the device. Each batch becomes float,
# normalised per channel with the training set's mean and standard deviation, and the
# training batches are augmented there too: a random crop of the image padded by 4 pixels and
# a random horizontal flip. Validation and test batches are never augmented.

# %% nbgrader={"grade": false, "grade_id": "loaders", "locked": true, "schema_version": 3, "solution": false} slideshow={"slide_type": "subslide"}
BATCH_SIZE = pick(32, 256)
MEAN, STD = full_train.mean, full_train.std


def make_loader(data, train: bool) -> helpers.DeviceLoader:
    """A device-resident loader; training loaders shuffle and augment."""
    return helpers.DeviceLoader(
        data.images,
        data.labels,
        batch_size=BATCH_SIZE,
        shuffle=train,
        augment=train,
        mean=MEAN,
        std=STD,
        device=device,
        seed=SEED,
    )


val_loader, test_loader = make_loader(val_set, False), make_loader(test_set, False)
x, y = next(iter(make_loader(train_set, True)))  # x: (B, 3, 32, 32) float, y: (B,)
helpers.check_shape(x, (BATCH_SIZE, 3, 32, 32), "a training batch")
helpers.check_true(
    abs(x.mean().item()) < 0.5 and 0.5 < x.std().item() < 1.5,
    "training batches are roughly standardised",
    f"mean {x.mean():.2f}, std {x.std():.2f}",
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Predict.** What shape and dtype is one training batch `x` from the loader?

# %% [markdown] slideshow={"slide_type": "fragment"}
# **Answer.** `(BATCH_SIZE, 3, 32, 32)`, `float32`, normalised per channel (mean near 0, spread near
# 1), while the stored images are `uint8`.

# %% slideshow={"slide_type": "fragment"}
helpers.check_shape(x, (BATCH_SIZE, 3, 32, 32), "a training batch")
helpers.check_equal((x.dtype, train_set.images.dtype), (torch.float32, torch.uint8), "dtypes")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2. Task 1: the baseline, a LeNet-5 style CNN
#
# The slides suggest LeNet-5 as a starting point: two blocks of *5x5 convolution, ReLU, 2x2
# max pooling*, then three fully connected layers. On a 32x32 input without padding the shapes
# are $32 \to 28 \to 14 \to 10 \to 5$, so the first dense layer sees $c_2 \cdot 5 \cdot 5$
# numbers. Write `BaselineNet` with channel widths `c1, c2` and hidden sizes `h1, h2` as given
# in its signature (classic LeNet-5: 6, 16, 120, 84; full mode uses a wider version so that the
# baseline is not starved of capacity). A conv layer with $k \times k$ kernels has
# $c_\text{in} c_\text{out} k^2 + c_\text{out}$ parameters, a dense layer $n_\text{in}
# n_\text{out} + n_\text{out}$.

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Predict.** How many parameters does the baseline's first layer, `nn.Conv2d(3, 6, 5)`, have?

# %% [markdown] slideshow={"slide_type": "fragment"}
# **Answer.** 456 $= 6 \cdot (3 \cdot 5 \cdot 5) + 6$: each of the 6 filters spans all 3 colour
# channels, plus one bias per filter.

# %% slideshow={"slide_type": "fragment"}
helpers.check_equal(
    sum(p.numel() for p in nn.Conv2d(3, 6, 5, device="meta").parameters()), 456, "Conv2d(3, 6, 5)"
)

# %% nbgrader={"grade": false, "grade_id": "baseline_model", "locked": false, "schema_version": 3, "solution": true} slideshow={"slide_type": "notes"}
BASELINE_SIZES = pick((6, 16, 120, 84), (64, 128, 384, 192))  # (c1, c2, h1, h2)


class BaselineNet(nn.Module):
    """LeNet-5 style: [conv5x5 -> ReLU -> maxpool2] x 2 -> dense -> dense -> dense."""

    def __init__(self, sizes: tuple[int, int, int, int] = BASELINE_SIZES, num_classes: int = 10):
        super().__init__()
        c1, c2, h1, h2 = sizes
        ### BEGIN SOLUTION
        self.features = nn.Sequential(
            nn.Conv2d(3, c1, 5),
            nn.ReLU(),
            nn.MaxPool2d(2),  # (N, c1, 14, 14)
            nn.Conv2d(c1, c2, 5),
            nn.ReLU(),
            nn.MaxPool2d(2),  # (N, c2, 5, 5)
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),  # (N, c2 * 25)
            nn.Linear(c2 * 5 * 5, h1),
            nn.ReLU(),
            nn.Linear(h1, h2),
            nn.ReLU(),
            nn.Linear(h2, num_classes),  # (N, 10) logits
        )
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        return self.classifier(self.features(x))
        ### END SOLUTION


# %% [markdown]
# The check below builds your model, runs a batch of two images through it, checks the order
# of its layers (conv, pool, conv, pool, dense, ...) and requires exactly the parameter count
# of the formula above: five layers of the given sizes, each with its bias.


# %% nbgrader={"grade": true, "grade_id": "check_baseline", "locked": true, "points": 1, "schema_version": 3, "solution": false} slideshow={"slide_type": "subslide"}
def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def check_cnn(model_cls, name: str) -> nn.Module:
    """Build `model_cls()`, check it is a CNN that maps (N, 3, 32, 32) to (N, 10) logits."""
    model = model_cls()
    convs = sum(isinstance(m, nn.Conv2d) for m in model.modules())
    helpers.check_true(convs >= 2, f"{name} has at least two Conv2d layers", f"{convs}")
    out = model(torch.zeros(2, 3, 32, 32))  # (2, 10)
    helpers.check_shape(out, (2, 10), f"{name} output for 2 images")
    return model


def lenet_params(c1: int, c2: int, h1: int, h2: int, k: int = 5, classes: int = 10) -> int:
    conv = (3 * c1 * k * k + c1) + (c1 * c2 * k * k + c2)
    dense = (c2 * 25 * h1 + h1) + (h1 * h2 + h2) + (h2 * classes + classes)
    return conv + dense


def layer_pattern(model: nn.Module) -> list[str]:
    """The model's convolution, pooling and dense layers in the order they were defined."""
    kinds = {nn.Conv2d: "conv", nn.MaxPool2d: "pool", nn.AvgPool2d: "pool", nn.Linear: "dense"}
    return [kinds[type(m)] for m in model.modules() if type(m) in kinds]


def check_baseline() -> nn.Module:
    model = check_cnn(BaselineNet, "BaselineNet")
    pattern = layer_pattern(model)
    helpers.check_true(
        pattern[:4] == ["conv", "pool", "conv", "pool"]
        and len(pattern) > 4
        and all(kind == "dense" for kind in pattern[4:]),
        "BaselineNet is LeNet-style: conv, pool, conv, pool, then dense layers",
        " -> ".join(pattern),
        hint="use nn.Conv2d, nn.MaxPool2d and nn.Linear modules in that order",
    )
    helpers.check_equal(
        n_params(model),
        lenet_params(*BASELINE_SIZES),
        "BaselineNet's parameters vs the LeNet-5 formula",
        hint="5x5 convolutions without padding, three dense layers, sizes from BASELINE_SIZES",
    )
    print(f"BaselineNet: {' -> '.join(pattern)}, {n_params(model):,} parameters, check passed")
    return model


baseline_ok = attempt("Task 1, BaselineNet", check_baseline) is not None
### BEGIN HIDDEN TESTS
assert baseline_ok, "the solution's BaselineNet must pass its check"
assert lenet_params(6, 16, 120, 84) == 62006, "classic LeNet-5 on RGB input has 62,006 parameters"
### END HIDDEN TESTS

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3. Task 2: your proposed model, with a name
#
# Now design a better network, combining what the course taught: stacks of 3x3 convolutions
# (two 3x3 layers see a 5x5 window with fewer parameters), **BatchNorm** after each
# convolution, **residual** connections $y = x + F(x)$, which make a deeper network easier to
# optimise (the identity path carries the signal and its gradient past every block), and
# a global average pooling before one small dense layer. One design that works very well on
# CIFAR-10 is a nine-layer ResNet: a stem, then three stages that double the channels and halve
# the resolution ($32 \to 16 \to 8 \to 4$), with a residual block after the first and the last
# stage. Scale its channels with `width`: the well-known fast CIFAR-10 trainers use 64; here 32
# (a quarter of the computation) is enough for the goal and trains on a laptop CPU, and fast
# mode uses 12.
#
# Give the final dense layer small initial weights: then every class starts with nearly the
# same score, and the initial loss is what section 4 predicts.
#
# Then give your model a name in `proposed_name()`: anything except the placeholder.

# %% nbgrader={"grade": false, "grade_id": "proposed_model", "locked": false, "schema_version": 3, "solution": true} slideshow={"slide_type": "notes"}
PROPOSED_WIDTH = pick(12, 32)


class ProposedNet(nn.Module):
    """Your proposed CNN: (N, 3, 32, 32) images -> (N, 10) logits."""

    def __init__(self, width: int = PROPOSED_WIDTH, num_classes: int = 10):
        super().__init__()
        ### BEGIN SOLUTION
        w = width

        def conv_bn(c_in: int, c_out: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
            )

        self.stem = conv_bn(3, w)  # (N, w, 32, 32)
        self.stage1 = nn.Sequential(conv_bn(w, 2 * w), nn.MaxPool2d(2))  # (N, 2w, 16, 16)
        self.res1 = nn.Sequential(conv_bn(2 * w, 2 * w), conv_bn(2 * w, 2 * w))
        self.stage2 = nn.Sequential(conv_bn(2 * w, 4 * w), nn.MaxPool2d(2))  # (N, 4w, 8, 8)
        self.stage3 = nn.Sequential(conv_bn(4 * w, 8 * w), nn.MaxPool2d(2))  # (N, 8w, 4, 4)
        self.res3 = nn.Sequential(conv_bn(8 * w, 8 * w), conv_bn(8 * w, 8 * w))
        self.pool = nn.AdaptiveAvgPool2d(1)  # (N, 8w, 1, 1)
        self.head = nn.Linear(8 * w, num_classes)  # (N, 10)
        nn.init.normal_(self.head.weight, std=0.01)
        nn.init.zeros_(self.head.bias)
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        x = self.stage1(self.stem(x))
        x = x + self.res1(x)  # residual: the block learns a correction to x
        x = self.stage3(self.stage2(x))
        x = x + self.res3(x)
        return self.head(self.pool(x).flatten(1))
        ### END SOLUTION


def proposed_name() -> str:
    """The name of your proposed model, e.g. "<Your name here>Net" with your name in it."""
    ### BEGIN SOLUTION
    return "ShortcutNet"
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_proposed", "locked": true, "points": 1, "schema_version": 3, "solution": false} slideshow={"slide_type": "subslide"}
def check_proposed() -> nn.Module:
    model = check_cnn(ProposedNet, "ProposedNet")
    name = proposed_name()
    helpers.check_true(
        isinstance(name, str) and name.strip() not in ("", PLACEHOLDER_NAME),
        "the proposed model has a name of its own",
        repr(name),
        hint="return a string such as 'AdaNet' from proposed_name()",
    )
    print(f"{name} (ProposedNet): {n_params(model):,} parameters, check passed")
    return model


proposed_ok = attempt("Task 2, ProposedNet and its name", check_proposed) is not None
### BEGIN HIDDEN TESTS
assert proposed_ok, "the solution's ProposedNet must pass its check"
### END HIDDEN TESTS

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Predict.** Before any training, which cross-entropy loss should a 10-class classifier show?

# %% [markdown] slideshow={"slide_type": "fragment"}
# **Answer.** About $\ln 10 \approx 2.303$: with no preference, every class gets probability $1/10$,
# and the loss is $-\ln(1/10)$. Much more means over-confident random predictions.

# %% slideshow={"slide_type": "fragment"}
no_preference = F.cross_entropy(torch.zeros(1, 10), torch.tensor([3]))
helpers.check_close(no_preference, math.log(10), "loss of equal logits")
helpers.check_close(math.log(10), 2.303, "ln 10", atol=5e-4)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4. Sanity check 1: the loss at initialisation
#
# Before training, a well-initialised classifier has no preference: its softmax gives every
# one of the $C = 10$ classes about the same probability $1/C$. The cross-entropy of the
# correct class is then
#
# $$L_0 = -\ln \frac{1}{C} = \ln C = \ln 10 \approx 2.303 .$$
#
# A much larger starting loss means over-confident random predictions (badly scaled weights or
# inputs). First the formula against PyTorch, with logits that are all equal:

# %%
# NBVAL_CHECK_OUTPUT
uniform_logits = torch.zeros(4, 10)  # (N=4, C=10): every class equally likely
labels = torch.tensor([0, 3, 7, 9])
helpers.check_close(F.cross_entropy(uniform_logits, labels), math.log(10), "uniform loss vs ln 10")
print(f"ln 10 = {math.log(10):.3f}")


# %% nbgrader={"grade": true, "grade_id": "check_initial_loss", "locked": true, "points": 1, "schema_version": 3, "solution": false} slideshow={"slide_type": "subslide"}
@torch.no_grad()
def initial_loss(model_cls) -> float:
    """Cross-entropy of a freshly built model on one validation batch."""
    helpers.seed_everything(SEED)
    model = model_cls().to(device).eval()
    x, y = next(iter(val_loader))
    return F.cross_entropy(model(x), y).item()


def check_initial_loss(model_cls, name: str) -> float:
    loss = initial_loss(model_cls)
    helpers.check_close(
        loss,
        math.log(10),
        f"{name} loss at initialisation",
        atol=0.25,
        rtol=0,
        hint="scale down the last layer's initial weights",
    )
    print(f"{name}: initial loss {loss:.3f} (ln 10 = {math.log(10):.3f})")
    return loss


init_losses = {
    name: attempt(f"initial loss of {name}", check_initial_loss, cls, name)
    for name, cls in [("BaselineNet", BaselineNet), ("ProposedNet", ProposedNet)]
}
### BEGIN HIDDEN TESTS
assert None not in init_losses.values(), "both solution models start near ln 10"
### END HIDDEN TESTS

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5. Sanity check 2: overfit one small batch
#
# A model that can learn at all must be able to memorise 32 images: train on one batch of 32
# training images only (no augmentation, no weight decay) and the loss should fall to nearly
# zero. If it does not, the bug is in the model or the loop, not in the amount of data.


# %% nbgrader={"grade": true, "grade_id": "check_overfit", "locked": true, "points": 1, "schema_version": 3, "solution": false} slideshow={"slide_type": "subslide"}
def overfit_one_batch(model_cls, steps: int = pick(40, 150)) -> list[float]:
    """Train a fresh model on one batch of 32 training images; return the loss per step."""
    helpers.seed_everything(SEED)
    model = model_cls().to(device).train()
    batch = train_set.subset(torch.arange(32))  # the first 32 training images
    x = batch.float(normalize=True).to(device)  # (32, 3, 32, 32)
    y = batch.labels.to(device)  # (32,)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(steps):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def check_overfit(model_cls, name: str) -> list[float]:
    losses = overfit_one_batch(model_cls)
    helpers.check_true(
        losses[-1] < 0.1, f"{name} memorises one batch (loss < 0.1)", f"final loss {losses[-1]:.3f}"
    )
    print(f"{name}: loss {losses[0]:.3f} -> {losses[-1]:.4f} on one batch")
    return losses


overfit = {
    name: attempt(f"overfitting one batch with {name}", check_overfit, cls, name)
    for name, cls in [("BaselineNet", BaselineNet), ("ProposedNet", ProposedNet)]
}
### BEGIN HIDDEN TESTS
assert None not in overfit.values(), "both solution models memorise one batch"
### END HIDDEN TESTS

# %% slideshow={"slide_type": "subslide"}
done = {k: v for k, v in overfit.items() if v is not None}
if ready("the overfitting plot", models=done or None):
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, losses in done.items():
        ax.semilogy(losses, label=name)
    ax.set(title="Overfitting one batch of 32 images", xlabel="step", ylabel="training loss (log)")
    ax.legend()
    plt.show()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6. Task 3: one optimisation configuration for both models
#
# The comparison is only fair if everything except the architecture is the same: optimiser,
# learning rate and its schedule, momentum, weight decay, batch size, epochs, augmentation and
# the seed. `CONFIG` below holds a recipe that works well here: SGD with Nesterov momentum
# 0.9, weight decay $5 \cdot 10^{-4}$, and a learning rate that rises linearly for the first
# 20 % of the epochs and then falls linearly towards zero (a one-cycle shape). Write
# `make_optimizer(model)`; the check below tests these requirements:
#
# 1. It returns `torch.optim.SGD` over the model's parameters with `CONFIG`'s learning rate,
#    momentum, Nesterov flag and weight decay, and a learning-rate scheduler.
# 2. `helpers.fit` steps the scheduler once per epoch, so the schedule is a factor per epoch
#    $e = 0, 1, \dots, E-1$ times `CONFIG["lr"]`, with $E$ epochs and
#    $w = \max(1, \operatorname{round}(0.2 \cdot E))$ warm-up epochs (`warmup_fraction`):
#
#    $$f(e) = \min\left(\frac{e + 1}{w}, \frac{E - e}{E - w + 1}\right).$$
#
# 3. It reads nothing but `CONFIG`, so that every model gets the same set-up: the check builds
#    it for two different models and compares the two.
#
# Two more entries belong to the recipe, and the training cell below applies them to both
# models: **label smoothing** 0.1 (the target puts 0.9 on the true class and spreads 0.1 over
# all ten, so the model is not pushed towards ever larger logits), and **bfloat16** autocast
# with channels_last memory where it pays: on a GPU that computes bfloat16 natively (Ampere or
# newer; a T4 only emulates it), and on CPUs with AMX matrix units, where it trains these
# networks 2.3 to 2.9 times faster than float32. `helpers.bf16_pays` decides.

# %% nbgrader={"grade": false, "grade_id": "optimisation", "locked": false, "schema_version": 3, "solution": true} slideshow={"slide_type": "notes"}
CONFIG = {
    "epochs": pick(3, 20),
    "lr": pick(0.02, 0.05),
    "momentum": 0.9,
    "nesterov": True,
    "weight_decay": 5e-4,
    "warmup_fraction": 0.2,
    "label_smoothing": 0.1,
    "bf16": helpers.bf16_pays(device),
}


def make_optimizer(model: nn.Module) -> tuple[torch.optim.Optimizer, object]:
    """The optimiser and the per-epoch learning-rate scheduler, from CONFIG only."""
    ### BEGIN SOLUTION
    epochs = CONFIG["epochs"]
    warmup = max(1, round(CONFIG["warmup_fraction"] * epochs))
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=CONFIG["lr"],
        momentum=CONFIG["momentum"],
        nesterov=CONFIG["nesterov"],
        weight_decay=CONFIG["weight_decay"],
    )

    def factor(e: int) -> float:
        return min((e + 1) / warmup, (epochs - e) / (epochs - warmup + 1))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    return optimizer, scheduler
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_optimisation", "locked": true, "points": 1, "schema_version": 3, "solution": false} slideshow={"slide_type": "subslide"}
def describe(optimizer: torch.optim.Optimizer, scheduler: object) -> dict:
    """An optimiser and its scheduler as plain values, read from the objects themselves."""
    hyper = {k: v for k, v in optimizer.defaults.items() if isinstance(v, (bool, int, float, str))}
    return {
        "optimizer": type(optimizer).__name__,
        **hyper,
        "scheduler": type(scheduler).__name__,
        "groups": len(optimizer.param_groups),
    }


def lr_per_epoch(optimizer: torch.optim.Optimizer, scheduler: object) -> list[float]:
    """Step a throw-away optimiser and its scheduler through CONFIG's epochs: the learning rate
    at the start of each epoch, as fit will use it."""
    lrs = []
    for _ in range(CONFIG["epochs"]):
        lrs.append(round(optimizer.param_groups[0]["lr"], 10))
        optimizer.step()  # no gradients: the weights stay as they are
        scheduler.step()
    return lrs


def check_optimisation() -> dict:
    built = []
    for probe in (nn.Linear(2, 2), nn.Linear(3, 3)):  # two different models
        optimizer, scheduler = make_optimizer(probe)
        helpers.check_true(
            hasattr(scheduler, "step"),
            "make_optimizer returns (optimizer, learning-rate scheduler)",
            f"the second value is {scheduler!r}",
            hint="torch.optim.lr_scheduler.LambdaLR(optimizer, f) with f(e) from the formula",
        )
        built.append(
            describe(optimizer, scheduler) | {"lr per epoch": lr_per_epoch(optimizer, scheduler)}
        )
    a, b = built
    helpers.check_equal(a, b, "the configuration built for two different models")
    keys = ("lr", "momentum", "nesterov", "weight_decay")
    helpers.check_equal(
        {k: a.get(k) for k in ("optimizer", *keys)},
        {"optimizer": "SGD", **{k: CONFIG[k] for k in keys}},
        "the optimiser vs CONFIG",
        hint="torch.optim.SGD(model.parameters(), lr=CONFIG['lr'], ...)",
    )
    E = CONFIG["epochs"]
    w = max(1, round(CONFIG["warmup_fraction"] * E))
    wanted = [CONFIG["lr"] * min((e + 1) / w, (E - e) / (E - w + 1)) for e in range(E)]
    helpers.check_close(
        a["lr per epoch"],
        wanted,
        "learning rate per epoch vs CONFIG['lr'] * f(e)",
        hint="a LambdaLR scheduler with f as its factor",
    )
    print("optimisation:", {k: v for k, v in a.items() if k != "lr per epoch"})
    print("learning rate per epoch:", a["lr per epoch"])
    return a


optimisation = attempt("Task 3, make_optimizer", check_optimisation)
### BEGIN HIDDEN TESTS
assert optimisation is not None, "the solution's make_optimizer must pass its check"
### END HIDDEN TESTS

# %% slideshow={"slide_type": "subslide"}
# NBVAL_CHECK_OUTPUT
E, w = 10, 2  # the schedule formula for 10 epochs with 2 warm-up epochs, as exact fractions
f = [min(Fraction(e + 1, w), Fraction(E - e, E - w + 1)) for e in range(E)]
print([str(v) for v in f])
helpers.check_equal(max(f), 1, "the peak factor")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 7. Train and evaluate both models, and one ablation
#
# Each model gets a fresh, identically seeded training loader, the optimiser from
# `make_optimizer`, and `helpers.fit` with `restore_best=True`: after the last epoch the model
# is rolled back to the epoch with the **best validation accuracy** (the optional item on the
# slides). Only then is it evaluated on the test set.
#
# Baseline and proposed model differ in depth, kernel size, BatchNorm, shortcuts, pooling and
# parameter count all at once, so their gap says nothing about any one of these. The
# **ablation** changes exactly one thing: it is your proposed model with every `BatchNorm2d`
# replaced by an identity, trained with the same recipe. This cell is slow in full mode (the
# recorded full runs below took 19 to 46 minutes per model on a 2-core CPU; a GPU is much
# faster); in fast mode, seconds per model.


# %% nbgrader={"grade": false, "grade_id": "ablation_model", "locked": true, "schema_version": 3, "solution": false}
def without_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every BatchNorm2d in `module` (in place) by an identity; return it."""
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d):
            setattr(module, name, nn.Identity())
        else:
            without_batchnorm(child)
    return module


def AblationNet() -> nn.Module:  # noqa: N802 - built like a model class
    """The proposed model without BatchNorm: the one component this ablation removes."""
    return without_batchnorm(ProposedNet())


# %% nbgrader={"grade": false, "grade_id": "train_function", "locked": true, "schema_version": 3, "solution": false} slideshow={"slide_type": "notes"}
@dataclass
class Run:
    """One trained model and everything reported about it."""

    name: str
    model: nn.Module
    history: helpers.History
    val_acc: float
    test_acc: float
    config: dict
    seconds: float
    split: dict  # fingerprints of the training, validation and test sets it used


def train_and_evaluate(model_cls, name: str) -> Run:
    helpers.seed_everything(SEED)
    model = model_cls()
    optimizer, scheduler = make_optimizer(model)
    smoothing, bf16 = CONFIG["label_smoothing"], CONFIG["bf16"]
    start = time.perf_counter()
    train_loader = make_loader(train_set, True)
    val_loader, test_loader = make_loader(val_set, False), make_loader(test_set, False)
    history = helpers.fit(
        model,
        train_loader,
        val_loader,
        epochs=CONFIG["epochs"],
        optimizer=optimizer,
        scheduler=scheduler,
        loss_fn=lambda out, y: F.cross_entropy(out, y, label_smoothing=smoothing),
        amp=bf16,
        channels_last=bf16,
        device=device,
        restore_best=True,
        verbose=False,
    )
    seconds = time.perf_counter() - start
    config = {  # what this run used, read from its optimiser, loader and history
        **describe(optimizer, scheduler),
        "lr per epoch": [round(lr, 10) for lr in history["lr"]],
        "batch size": train_loader.batch_size,
        "augment": train_loader.augment,
        "seed": train_loader.seed,
        "epochs": len(history),
        "label smoothing": smoothing,
        "bfloat16": bf16,
    }
    val_acc = helpers.evaluate(model, val_loader, device=device, amp=bf16)["acc"]
    test_acc = helpers.evaluate(model, test_loader, device=device, amp=bf16)["acc"]
    print(
        f"{name}: best epoch {history.best_epoch}, validation {val_acc:.1%}, "
        f"test {test_acc:.1%}, {seconds:.1f} s"
    )
    split = {
        "train": fingerprint(train_set),
        "validation": fingerprint(val_set),
        "test": fingerprint(test_set),
    }
    return Run(name, model, history, val_acc, test_acc, config, seconds, split)


# %% nbgrader={"grade": false, "grade_id": "train_models", "locked": true, "schema_version": 3, "solution": false} slideshow={"slide_type": "subslide"}
runs: dict[str, Run] = {}
for key, cls, ok in [
    ("baseline", BaselineNet, baseline_ok),
    ("proposed", ProposedNet, proposed_ok),
    ("ablation", AblationNet, proposed_ok),
]:
    if ready(f"training the {key} model", model=cls if ok else None, make_optimizer=optimisation):
        name = {"baseline": "BaselineNet", "proposed": proposed_name()}.get(key)
        runs[key] = train_and_evaluate(cls, name or f"{proposed_name()} without BatchNorm")

# %% [markdown]
# Per-epoch training and validation loss and validation accuracy; `*` marks the epoch that
# was kept.

# %% slideshow={"slide_type": "subslide"}
for run in runs.values():
    print(f"--- {run.name} ---\n{run.history.table()}\n")

# %% slideshow={"slide_type": "subslide"}
if ready("the learning curves", baseline=runs.get("baseline"), proposed=runs.get("proposed")):
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for run in runs.values():
        epochs = run.history["epoch"]
        axes[0].plot(epochs, run.history["train_loss"], "--", label=f"{run.name} train")
        axes[0].plot(epochs, run.history["val_loss"], "-", label=f"{run.name} validation")
        axes[1].plot(epochs, [100 * a for a in run.history["val_acc"]], "o-", label=run.name)
    axes[0].set(title="Loss per epoch", xlabel="epoch", ylabel="cross-entropy")
    axes[1].set(title="Validation accuracy per epoch", xlabel="epoch", ylabel="accuracy (%)")
    for ax in axes:
        ax.legend()
    fig.suptitle("Learning curves of both models")
    plt.show()

# %% [markdown] slideshow={"slide_type": "subslide"}
# The results table. The validation accuracy of the kept model must equal the best value in
# its history (that is what `restore_best` promises), and all runs must have used the same
# optimisation configuration (optimiser, learning rate in every epoch, batch size, epochs,
# augmentation, seed, as each run recorded them): both are checked by code. Which model is
# better is not checked here; that is for you to find out and discuss.


# %% nbgrader={"grade": true, "grade_id": "check_results", "locked": true, "points": 1, "schema_version": 3, "solution": false} slideshow={"slide_type": "subslide"}
def check_results() -> bool:
    for key in runs:
        helpers.check_equal(
            runs[key].config,
            runs["baseline"].config,
            f"optimisation configuration, {key} vs baseline",
        )
    print(f"{'model':<30} {'parameters':>10} {'best epoch':>10} {'val acc':>8} {'test acc':>8}")
    for run in runs.values():
        helpers.check_close(
            run.val_acc,
            max(run.history["val_acc"]),
            f"{run.name} kept epoch",
            atol=1e-6,
            hint="train with restore_best=True",
        )
        print(
            f"{run.name:<30} {n_params(run.model):>10,} {run.history.best_epoch:>10} "
            f"{run.val_acc:>8.1%} {run.test_acc:>8.1%}"
        )
    return True


results_ok = ready(
    "the results table", baseline=runs.get("baseline"), proposed=runs.get("proposed")
) and bool(attempt("the results", check_results))
### BEGIN HIDDEN TESTS
assert results_ok, "the solution trains and evaluates both models"
### END HIDDEN TESTS

# %% [markdown]
# ### The accuracy goals
#
# At full size (on a GPU, real data) the goals are 75 % test accuracy for the baseline and
# 85 % for the proposed model; fast mode trains on 1,500 images for 3 epochs, so its goals are
# 15 % and 25 % (chance is 10 %). Hand in the notebook as you ran it: the grader scores this
# cell from the outputs stored in your notebook, your own run, and re-runs the notebook in fast
# mode for the other checks.


# %% nbgrader={"grade": true, "grade_id": "accuracy", "locked": true, "points": 2, "schema_version": 3, "solution": false} tags=["graded_from_outputs"]
FULL_SIZE = REAL_DATA and not helpers.get_settings().fast
FULL_GOALS = {"baseline": 0.75, "proposed": 0.85}  # test accuracy
GOALS = FULL_GOALS if FULL_SIZE else {"baseline": 0.15, "proposed": 0.25}


def reaches_goal(key: str):
    run, goal = runs[key], GOALS[key]
    mode = "full size" if FULL_SIZE else "fast mode" if REAL_DATA else "stand-in data, not graded"
    return REAL_DATA and run.test_acc >= goal, f"{run.test_acc:.1%} test ({mode}, goal {goal:.0%})"


accuracy = Checklist()
for key in GOALS:
    accuracy.check(f"{key} model reaches its test accuracy goal", lambda key=key: reaches_goal(key))
accuracy.show()
accuracy.score  # nbgrader's partial credit: the points earned

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### The full-size runs, recorded
#
# Fast mode trains on 1,500 images for 3 epochs, far from what these networks can do. The same
# code was run in full mode (45,000 training images, 20 epochs) with
# `python benchmarks/record_full_runs.py 08`, which stores each run in
# `notebooks/results/08_*.json` with the device, torch version, date, commit and wall time.
# Here they are beside the live runs above, and this notebook's claims are checked on them.

# %%
RECORDED_KEYS = ("baseline", "proposed", "ablation")
recorded = {key: helpers.load_recorded_run("08", key) for key in RECORDED_KEYS}
recorded = {key: record for key, record in recorded.items() if record is not None}
print(f"{'recorded run':<30} {'best epoch':>10} {'val acc':>8} {'test acc':>8} {'minutes':>8}")
for record in recorded.values():
    final = record["final"]
    print(
        f"{record['model']:<30} {final['best_epoch']:>10} {final['val_acc']:>8.1%} "
        f"{final['test_acc']:>8.1%} {record['wall_s'] / 60:>8.1f}"
    )
for record in recorded.values():
    print(f"{record['name']}: {record['device']}, torch {record['torch']}, {record['date']}")
if not recorded:
    print("no recorded full runs here (they live in the course repository's notebooks/results/)")

# %% slideshow={"slide_type": "subslide"}
if recorded:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for run in runs.values():
        axes[0].plot(
            run.history["epoch"], [100 * a for a in run.history["val_acc"]], "o-", label=run.name
        )
    for record in recorded.values():
        history = helpers.History(record["history"])
        axes[1].plot(
            history["epoch"], [100 * a for a in history["val_acc"]], "o-", label=record["model"]
        )
    axes[0].set(
        title="Live run (this notebook, fast mode)",
        xlabel="epoch",
        ylabel="validation accuracy (%)",
    )
    axes[1].set(title=helpers.recorded_label(next(iter(recorded.values()))), xlabel="epoch")
    for ax in axes:
        if ax.get_legend_handles_labels()[0]:  # the live panel is empty until you train
            ax.legend()
        ax.xaxis.get_major_locator().set_params(integer=True)
    fig.suptitle("Validation accuracy per epoch: live fast run and recorded full run")
    plt.show()

# %% [markdown] slideshow={"slide_type": "subslide"}
# What the recorded runs say, written from their numbers: does each model reach its goal at
# full size (75 % test accuracy for the baseline, 85 % for the proposed model), how do they
# rank, and what does BatchNorm contribute there? The goals, the ranking and the claims about
# the ablation are checked on the recorded numbers.


# %% slideshow={"slide_type": "subslide"}
def recorded_summary(recorded: dict) -> str:
    """The recorded results in words, from their numbers; the claims in it are checked."""
    rp = recorded["proposed"]
    fp, to85 = rp["final"], rp["final"]["train_s_to_85_val"]
    helpers.check_true(
        fp["test_acc"] >= FULL_GOALS["proposed"],
        "the recorded proposed model reaches its goal",
        f"{fp['test_acc']:.2%} test",
    )
    text = f"""At full size **{rp["model"]}** reaches **{fp["test_acc"]:.1%}** test accuracy
(goal {FULL_GOALS["proposed"]:.0%}; {fp["val_acc"]:.1%} validation) in
{rp["wall_s"] / 60:.0f} minutes on {rp["device"]}; its validation accuracy first passed 85 %
after {"no" if to85 is None else f"{to85 / 60:.0f}"} minutes of training."""
    if "baseline" in recorded:
        fb = recorded["baseline"]["final"]
        helpers.check_true(
            fb["test_acc"] >= FULL_GOALS["baseline"],
            "the recorded baseline reaches its goal",
            f"{fb['test_acc']:.2%} test",
        )
        helpers.check_true(
            fp["val_acc"] > fb["val_acc"] and fp["test_acc"] > fb["test_acc"],
            "recorded: proposed beats baseline on validation and test",
            f"validation {fp['val_acc']:.2%} vs {fb['val_acc']:.2%}, "
            f"test {fp['test_acc']:.2%} vs {fb['test_acc']:.2%}",
        )
        gap = 100 * (fp["test_acc"] - fb["test_acc"])
        text += f""" The baseline reaches {fb["test_acc"]:.1%} (goal {FULL_GOALS["baseline"]:.0%}),
{gap:.1f} points less on the test set."""
    if {"baseline", "ablation"} <= set(recorded):
        text += " " + recorded_batchnorm(recorded)
    missing = [key for key in RECORDED_KEYS if key not in recorded]
    if missing:
        text += f" Not recorded yet: {', '.join(missing)}."
    return text


def recorded_batchnorm(recorded: dict) -> str:
    """What the recorded ablation says about BatchNorm, in words; its claims are checked."""
    val = {key: helpers.History(recorded[key]["history"])["val_acc"] for key in RECORDED_KEYS}
    final = {key: recorded[key]["final"]["val_acc"] for key in RECORDED_KEYS}
    helpers.check_true(
        final["baseline"] < final["ablation"] < final["proposed"],
        "recorded, best validation accuracy: baseline < ablation < proposed",
        ", ".join(f"{key} {acc:.2%}" for key, acc in final.items()),
    )
    helpers.check_true(
        all(a < p for a, p in zip(val["ablation"], val["proposed"])),
        "recorded: without BatchNorm the validation accuracy is lower in every epoch",
    )
    pairs = list(enumerate(zip(val["ablation"], val["baseline"]), start=1))  # (epoch, (a, b))
    below = [epoch for epoch, (a, b) in pairs if a < b]  # epochs the ablation trails
    helpers.check_true(below[:1] == [1], "recorded: without BatchNorm it starts below the baseline")
    helpers.check_true(
        all(a > b for epoch, (a, b) in pairs if epoch > below[-1]),
        f"recorded: without BatchNorm it stays above the baseline after epoch {below[-1]}",
    )
    drop = 100 * (final["proposed"] - final["ablation"])
    lead = 100 * (final["proposed"] - final["baseline"])
    name = recorded["proposed"]["model"]
    return f"""Without BatchNorm (the ablation) {name}'s validation accuracy is lower than
with it in every epoch: {val["ablation"][0]:.1%} after the first (with BatchNorm
{val["proposed"][0]:.1%}, the baseline {val["baseline"][0]:.1%}), below the baseline's in
{len(below)} of the first {below[-1]} epochs and above it from epoch {below[-1] + 1} on, and
{final["ablation"]:.1%} at its best, {drop:.1f} points below the model with BatchNorm and
{lead - drop:.1f} points above the baseline. So at full size the deeper network learns without
BatchNorm too, only more slowly, and removing BatchNorm takes away {drop / lead:.0%} of its
{lead:.1f}-point lead over the baseline in validation accuracy."""


if "proposed" in recorded:
    display(Markdown(recorded_summary(recorded)))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 8. Where does the better model go wrong?
#
# A confusion matrix $C$ counts test images by true class (row) and predicted class (column).
# Its diagonal holds the correct predictions, so the accuracy is
#
# $$\text{accuracy} = \frac{\operatorname{tr} C}{\sum_{ij} C_{ij}} .$$

# %% slideshow={"slide_type": "subslide"}
best = max(runs.values(), key=lambda r: r.val_acc) if runs else None
if ready("the confusion matrix", trained_model=best):
    preds, truth = helpers.predict(best.model, test_loader, device=device, amp=CONFIG["bf16"])
    fig = helpers.plot_confusion_matrix(
        preds, truth, classes, normalize=False, title=f"{best.name}: test confusion matrix"
    )
    plt.show()
    cm = torch.as_tensor(fig.confusion_matrix)  # (10, 10) counts
    helpers.check_close(cm.trace() / cm.sum(), best.test_acc, "trace(C) / sum(C) vs test accuracy")
    helpers.check_equal(int(cm.sum()), len(test_set), "images counted in the matrix")

# %% slideshow={"slide_type": "subslide"}
if ready("the misclassified images", trained_model=best):
    wrong = torch.nonzero(preds != truth).flatten()[:24]  # indices of the first mistakes
    helpers.check_true(bool((preds[wrong] != truth[wrong]).all()), "every image shown is a mistake")
    fig = helpers.show_images(
        test_set.images[wrong],
        truth[wrong],
        classes,
        preds=preds[wrong],
        title=f"{best.name}: misclassified test images",
        ncols=8,
    )

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 9. Task 4: discussion
#
# Which model performs better, and why? Point at the architectural differences (BatchNorm,
# depth with 3x3 convolutions, residual connections, global pooling instead of big dense
# layers, parameter count) and say which of them you think matters most. Return your answer
# as Markdown text from `discussion()`; you may use the numbers in `runs` (your runs) and in
# `recorded` (the recorded full-size runs of section 7).
#
# The discussion is graded by hand, 3 points: 1 for naming the better model with its
# validation and test accuracy, 1 for tying the gap to concrete architectural differences
# (several at once, unless an ablation isolates one), 1 for using the ablation to say what
# BatchNorm contributes, saying which run (a short one or a full-size one) each statement
# rests on.


# %% nbgrader={"grade": true, "grade_id": "discussion", "locked": false, "points": 3, "schema_version": 3, "solution": true} slideshow={"slide_type": "notes"}
def discussion() -> str:
    """Your discussion of the results, as Markdown (at least 60 words)."""
    ### BEGIN SOLUTION
    b, p, a = runs["baseline"], runs["proposed"], runs.get("ablation")
    winner, loser = (p, b) if p.val_acc > b.val_acc else (b, p)
    convs = {r.name: sum(isinstance(m, nn.Conv2d) for m in r.model.modules()) for r in (b, p)}
    text = f"""
**{winner.name} is the better model**: {winner.val_acc:.1%} validation accuracy against
{loser.val_acc:.1%} for {loser.name} (test: {p.name} {p.test_acc:.1%}, baseline
{b.test_acc:.1%}). Both saw the same data, augmentation, optimiser, schedule, epochs and seed,
so the gap of {100 * abs(p.val_acc - b.val_acc):.1f} points comes from the architecture. It
cannot be pinned on one part of it: {p.name} has {convs[p.name]} convolutions of 3x3 where the
baseline has {convs[b.name]} of 5x5, plus BatchNorm, residual shortcuts and global average
pooling instead of large dense layers, and {n_params(p.model):,} parameters against
{n_params(b.model):,}.
"""
    if a is not None:
        drop = 100 * (p.val_acc - a.val_acc)
        text += f"""
The ablation changes one thing, BatchNorm. In this notebook's short run ({len(p.history)}
epochs on {len(train_set):,} images), {p.name} without BatchNorm reaches {a.val_acc:.1%}
validation accuracy, {abs(drop):.1f} points {"below" if drop > 0 else "above"} {p.name} and
{"below" if a.val_acc < b.val_acc else "above"} the baseline. A run this short shows how fast
each model starts, not where it ends.
"""
    if {"baseline", "proposed", "ablation"} <= set(recorded):
        text += f"""
The recorded full-size runs (section 7) show the whole training. {recorded_batchnorm(recorded)}
The rest of the lead comes from the other differences, which further ablations (shortcuts,
depth) would separate.
"""
    return text
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "discussion_shown", "locked": true, "schema_version": 3, "solution": false}
text = None
if ready("the discussion", baseline=runs.get("baseline"), proposed=runs.get("proposed")):
    text = attempt("Task 4, discussion", discussion)
if text is not None:
    display(Markdown(text))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 10. The assignment checklist
#
# The checklist from the slides, checked by code. It is one graded part, 7 points of the 21
# (the table at the top lists them all): its `score` line counts only these seven, not your
# grade. An instructor grades the whole notebook from the command line with
# `python scripts/assignment.py grade submission.ipynb`, which prints one row per automatic
# check (these seven included), their total out of 18, and the discussion for grading by hand.


# %% nbgrader={"grade": true, "grade_id": "checklist", "locked": true, "points": 7, "schema_version": 3, "solution": false} slideshow={"slide_type": "subslide"}
def two_cnn_classes():
    models = [check_cnn(cls, cls.__name__) for cls in (BaselineNet, ProposedNet)]
    return True, " + ".join(f"{type(m).__name__} ({n_params(m):,} parameters)" for m in models)


def has_a_name():
    name = proposed_name()
    return isinstance(name, str) and name.strip() not in ("", PLACEHOLDER_NAME), repr(name)


def trained_and_evaluated():
    done = [k for k in ("baseline", "proposed") if k in runs]
    return len(done) == 2, f"trained: {', '.join(done) or 'none'}"


def losses_and_accuracies_reported():
    cols = ("train_loss", "val_loss", "val_acc")
    ok = {"baseline", "proposed"} <= set(runs) and all(
        len(r.history) >= 1 and all(None not in r.history[c] for c in cols) and 0 <= r.test_acc <= 1
        for r in runs.values()
    )
    found = "; ".join(
        f"{r.name}: val {r.val_acc:.1%}, test {r.test_acc:.1%}" for r in runs.values()
    )
    return ok, found or "no trained model yet"


def same_configuration():
    configs = [run.config for run in runs.values()]
    same = len(runs) >= 2 and all(c == configs[0] for c in configs)
    return (
        same,
        f"identical for {len(runs)} runs" if same else "the runs differ (or one is missing)",
    )


def released_split():
    changed = [r.name for r in runs.values() if r.split != SPLIT]
    ok = len(runs) >= 2 and not changed
    return ok, (
        f"changed for {', '.join(changed)}: train on the training part only, never on "
        "validation or test images"
        if changed
        else f"{len(runs)} runs on the released split"
    )


def discussion_present():
    words = discussion().split()
    text = " ".join(words)
    ok = len(words) >= 60 and proposed_name() in text and "baseline" in text.lower()
    return (
        ok,
        f"{len(words)} words, names both models: {proposed_name() in text and 'baseline' in text.lower()}",
    )


checklist = Checklist()
checklist.check("two CNN model classes", two_cnn_classes)
checklist.check("the proposed model has a name", has_a_name)
checklist.check("both models trained and evaluated", trained_and_evaluated)
checklist.check("train/val loss and val/test accuracy reported", losses_and_accuracies_reported)
checklist.check("same optimisation configuration", same_configuration)
checklist.check("trained on the released training split only", released_split)
checklist.check("discussion of which model is better and why", discussion_present)
checklist.show()
checklist.score  # nbgrader's partial credit: the points earned

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 11. Beyond one GPU: data-parallel training
#
# In full mode every model here trains for 20 epochs, one batch after another. A machine with
# several GPUs can share that work by **data parallelism**: every GPU holds a full copy of the
# model, and each takes a different part of every batch. The model is small enough for one
# GPU; it is the images per second that grow with the number of GPUs. (Splitting a model that
# does not fit on one GPU is *model* parallelism, a different tool.)
#
# **What DDP all-reduces.** PyTorch's `DistributedDataParallel` (DDP) runs one process per
# GPU. Each process computes the forward and backward pass on its own $B$ images. While the
# backward pass is still running, DDP groups the gradients into buckets (about 25 MB each),
# and as soon as a bucket is complete it starts an **all-reduce**: the bucket is summed over
# all $N$ processes and divided by $N$, while the backward pass goes on with earlier layers.
# After the backward pass every process holds the same averaged gradient, takes the same
# optimiser step, and so keeps an identical copy of the model: only gradients travel, never
# the weights (DDP copies rank 0's weights once at the start, and BatchNorm's running
# statistics at every forward pass). The average of the $N$ per-process mean gradients is the
# mean gradient over all $N B$ images, as the cell below checks. BatchNorm is the exception:
# each process normalises with the statistics of its own $B$ images, so a model with
# BatchNorm computes slightly differently on 2 GPUs with $B$ each than on one with $2B$
# (`nn.SyncBatchNorm.convert_sync_batchnorm(model)` computes them over all processes, at the
# cost of more communication).
#
# **Effective batch size and learning rate.** One optimiser step now sees $N \cdot B$ images:
# the *effective* (global) batch, and an epoch has $N$ times fewer steps. If you keep $B$ per
# GPU, the **linear scaling rule** (Goyal et al., 2017) multiplies the learning rate by the
# same factor as the batch: a gradient averaged over $k$ times more images is less noisy and
# can take a $k$ times longer step, so an epoch makes about the same progress. The rule fails
# in the first epochs, when the weights change fast; hence a **warm-up** that raises the
# learning rate linearly to the scaled value over the first epochs (the schedule of section 6
# already warms up). Past a few thousand images per batch the gains fade. The alternative is
# to keep the global batch fixed ($B / N$ images per GPU): then training is exactly what it
# was, only faster.
#
# **How to launch.** A notebook is one Python process, and DDP needs one process per GPU,
# started together, so it runs from a terminal:
#
# ```
# torchrun --standalone --nproc_per_node 4 train.py
# ```
#
# `train.py` holds the code of this notebook (loaders, model, optimiser, `helpers.fit`).
# `fit` sees the environment torchrun sets up (`WORLD_SIZE` > 1), joins the other processes,
# wraps the model in DDP and gives each process its own part of the training set; only rank 0
# prints and writes checkpoints, and `resume=True` continues a run on all processes.
# `benchmarks/ddp_cifar.py` in the course repository is such a script for this
# notebook's proposed model; on a 2-core CPU, `python benchmarks/ddp_cifar.py` compares one
# process with 2 threads against 2 processes with 1 thread each (the README lists the
# measured images per second).

# %% slideshow={"slide_type": "subslide"}
# What DDP computes, in one process: two "processes" each take every second image of a batch
# (rank r: images r, r + 2, ...), compute the gradient of their mean loss, and the all-reduce
# averages the two gradients. That is the gradient of one process on the whole batch.
torch.manual_seed(SEED)
linear = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))  # no BatchNorm
xb, yb = (t[:32].cpu() for t in next(iter(val_loader)))  # (32, 3, 32, 32), (32,)


def gradients(images, labels) -> list[torch.Tensor]:
    linear.zero_grad()
    F.cross_entropy(linear(images), labels).backward()
    return [p.grad.clone() for p in linear.parameters()]


whole = gradients(xb, yb)  # one process, 32 images
parts = [gradients(xb[r::2], yb[r::2]) for r in (0, 1)]  # two processes, 16 images each
averaged = [(g0 + g1) / 2 for g0, g1 in zip(*parts)]  # the all-reduce: sum, divide by N = 2
for name, a, w in zip(("weight", "bias"), averaged, whole):
    helpers.check_close(a, w, f"averaged {name} gradient vs the whole batch's", rtol=1e-4)
print("2 processes x 16 images, gradients averaged == 1 process x 32 images")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
#
# Each exercise has a cell for your answer and a check cell below it that says whether it is
# right, with a hint when it is not (it never stops the notebook). The answer cells are empty
# in the student version and hold worked answers in the solution version.
#
# **Exercise 1 (ablation: shortcuts).** Section 7 removed BatchNorm. Write
# `PlainProposedNet`, a subclass of your `ProposedNet` with the same layers but without its
# residual shortcuts (`x = block(x)` where it has `x = x + block(x)`). The check makes sure it
# has exactly as many parameters (a shortcut has none), runs every layer `ProposedNet` runs,
# and adds no tensors in its forward pass where `ProposedNet` does (it reads both forward
# passes with `torch.fx`). Then train it with `train_and_evaluate` and compare its
# validation accuracy with the proposed model's.


# %% nbgrader={"grade": false, "grade_id": "ex1_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 1: your answer, the class PlainProposedNet
PlainProposedNet = None


### BEGIN SOLUTION
class PlainProposedNet(ProposedNet):
    """The proposed model's layers without its two residual additions."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.res1(self.stage1(self.stem(x)))  # was x + res1(x)
        x = self.res3(self.stage3(self.stage2(x)))  # was x + res3(x)
        return self.head(self.pool(x).flatten(1))


if proposed_ok:
    no_shortcuts = train_and_evaluate(PlainProposedNet, f"{proposed_name()} without shortcuts")
    print(
        f"validation: with shortcuts {runs['proposed'].val_acc:.1%}, without {no_shortcuts.val_acc:.1%}"
    )
### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex1_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
def layers_run(model: nn.Module) -> set[str]:
    """The names of the layers (modules without children) that a forward pass runs."""
    ran = set()
    for name, module in model.named_modules():
        if not list(module.children()):
            module.register_forward_hook(lambda *_, name=name: ran.add(name))
    with torch.no_grad():
        model.eval()(torch.zeros(2, 3, 32, 32))
    return ran


def additions(model: nn.Module) -> int:
    """How many tensor additions the forward pass makes, read from its torch.fx graph."""
    adds = {operator.add, operator.iadd, torch.add}
    nodes = torch.fx.symbolic_trace(model).graph.nodes
    return sum(
        (n.op == "call_function" and n.target in adds)
        or (n.op == "call_method" and n.target in ("add", "add_"))
        for n in nodes
    )


def without_shortcuts(plain_cls) -> bool:
    """Same parameters and layers as ProposedNet, and none of its additions."""
    plain, proposed = plain_cls(), ProposedNet()
    return (
        issubclass(plain_cls, ProposedNet)
        and n_params(plain) == n_params(proposed)
        and layers_run(plain) == layers_run(proposed)
        and additions(plain) == 0 < additions(proposed)
    )


ok_1 = helpers.verdict(
    PlainProposedNet,
    without_shortcuts,
    "subclass ProposedNet and override forward only; drop the `x +` of each residual block",
)
### BEGIN HIDDEN TESTS
assert ok_1, "exercise 1 is not right"
### END HIDDEN TESTS

# %% [markdown]
# **Exercise 2 (where do the baseline's parameters live?).** Compute the fraction of
# `BaselineNet`'s parameters that sit in its first dense layer, a number between 0 and 1.

# %% nbgrader={"grade": false, "grade_id": "ex2_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 2: your answer (a number between 0 and 1)
first_dense_share = None
### BEGIN SOLUTION
c1, c2, h1, h2 = BASELINE_SIZES
first_dense_share = (c2 * 25 * h1 + h1) / lenet_params(*BASELINE_SIZES)  # weights + biases
print(f"first dense layer: {first_dense_share:.1%} of BaselineNet's parameters")
### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex2_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
def share_of_first_dense(model: nn.Module) -> float:
    first = next(m for m in model.modules() if isinstance(m, nn.Linear))
    return n_params(first) / n_params(model)


ok_2 = helpers.verdict(
    first_dense_share,
    lambda share: abs(share - share_of_first_dense(BaselineNet())) < 1e-6,
    "count weights and biases of the first nn.Linear, divide by all of BaselineNet's",
)
### BEGIN HIDDEN TESTS
assert ok_2, "exercise 2 is not right"
### END HIDDEN TESTS

# %% [markdown]
# **Exercise 3 (receptive field).** Two stacked 3x3 convolutions see a 5x5 window. Predict the
# width of the window that $n$ stacked 3x3 convolutions (stride 1) see: write it as a function
# `field_of_stack(n)`. The check compares it with the receptive field PyTorch layers have for
# $n = 1, \dots, 6$.

# %% nbgrader={"grade": false, "grade_id": "ex3_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 3: your answer, a function of n
field_of_stack = None


### BEGIN SOLUTION
def field_of_stack(n: int) -> int:
    return 2 * n + 1  # every 3x3 layer adds one pixel on each side


def measured_field(n: int) -> int:
    """Width of the input region that changes the centre output of n stacked 3x3 convs."""
    net = nn.Sequential(*[nn.Conv2d(1, 1, 3, padding=1) for _ in range(n)])
    x = torch.randn(1, 1, 21, 21, requires_grad=True)
    net(x)[0, 0, 10, 10].backward()
    cols = torch.nonzero(x.grad[0, 0].abs().sum(0)).flatten()
    return int(cols.max() - cols.min() + 1)


for n in (1, 2, 3):
    helpers.check_equal(measured_field(n), field_of_stack(n), f"field of {n} stacked 3x3 convs")
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex3_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
ok_3 = helpers.verdict(
    field_of_stack,
    lambda f: all(f(n) == helpers.receptive_field([nn.Conv2d(1, 1, 3)] * n) for n in range(1, 7)),
    "each 3x3 layer with stride 1 widens the window by the same number of pixels",
)
### BEGIN HIDDEN TESTS
assert ok_3, "exercise 3 is not right"
### END HIDDEN TESTS

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
#
# - A fair comparison keeps everything but the architecture fixed: all runs used one
#   `CONFIG`, one seed, one split and one augmentation, and the code compared what each run
#   recorded (optimiser settings, learning rate in every epoch, batch size, epochs,
#   augmentation, seed) and found it identical. Baseline and proposed model still differ in
#   many ways at once; the ablation changes exactly one (BatchNorm) and so measures that one.
# - A short run shows how fast a model starts, not where it ends: in the recorded full-size
#   runs the model without BatchNorm starts below the baseline and ends above it.
# - Check before you train: an initial loss near $\ln 10 = 2.303$ and a loss near zero on one
#   memorised batch rule out most bugs in a minute.
# - Keep the epoch with the best validation accuracy and touch the test set once, at the end.
# - Which part of the proposed design matters is a question for ablations, not for the
#   baseline comparison: removing one component at a time, with the same recipe, measures
#   what that component contributes.
# - Learning curves, a confusion matrix and the misclassified images show *how* a model fails
#   (which classes it confuses), not just how often.
# - Data parallelism (DDP, launched with `torchrun`) averages the gradients of $N$ processes
#   during the backward pass: one step sees $N \cdot B$ images. Scale the learning rate with
#   the batch and warm it up, or keep the global batch fixed.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Further reading
#
# - Y. LeCun, L. Bottou, Y. Bengio, P. Haffner, "Gradient-based learning applied to document
#   recognition", Proc. IEEE 1998 (LeNet-5).
# - K. He, X. Zhang, S. Ren, J. Sun, "Deep Residual Learning for Image Recognition", CVPR 2016.
# - S. Ioffe, C. Szegedy, "Batch Normalization", ICML 2015.
# - L. N. Smith, "Super-Convergence: Very Fast Training of Neural Networks Using Large Learning
#   Rates", 2017 (the one-cycle schedule).
# - A. Krizhevsky, "Learning Multiple Layers of Features from Tiny Images", 2009 (CIFAR-10).
# - A. Karpathy, "A Recipe for Training Neural Networks", 2019 (the sanity checks used here).
# - P. Goyal et al., "Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour", 2017 (the
#   linear scaling rule and warm-up).
# - S. Li et al., "PyTorch Distributed: Experiences on Accelerating Data Parallel Training",
#   VLDB 2020 (how DDP buckets and overlaps its all-reduce); PyTorch's "Getting Started with
#   Distributed Data Parallel" tutorial and the `torchrun` documentation.
# - nbgrader documentation, "Creating and grading assignments" (how the student version and
#   the grader are built).
