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
# # 06 Transfer learning: reuse a trained network on a new task
#
# Training a CNN from scratch needs many labelled images. Often we have only a few dozen per
# class for the task we care about, but a network trained on a *large* related task already
# exists. Its early layers detect edges, textures and simple shapes, which are useful for almost
# any image task. Transfer learning keeps those layers, replaces the last layer (the "head")
# with one for the new classes, and trains on the small new data set. In this notebook we take
# a ResNet-20 trained on CIFAR-10 (natural colour photos) and move it to Fashion-MNIST
# (grey pictures of clothes) with only a handful of labelled images per class. We compare four
# regimes, as in the lecture's table: train only the new head, fine-tune the top stage,
# fine-tune everything with a smaller learning rate for the pretrained part, and train from
# scratch.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Learning goals
#
# - Replace the head of a pretrained network and count which parameters are trainable.
# - Freeze a backbone properly: `requires_grad = False` *and* BatchNorm in eval mode.
# - Compute frozen features once and train only the head on them.
# - Fine-tune the top stage, or all layers with optimizer parameter groups (a lower learning
#   rate for the backbone).
# - Compare the regimes in one table with a from-scratch baseline.
# - Look at frozen features as embeddings with PCA and t-SNE.
# - Save and restore weights, and read the error of a state dict that does not fit.
# - Use torchvision's weights API (`weights=ResNet18_Weights.DEFAULT`, `weights.transforms()`).

# %% [markdown] slideshow={"slide_type": "slide"}
# ## You should already know
#
# - A training loop and `helpers.fit` (notebooks 04 and 05).
# - Residual networks and BatchNorm (notebooks 04 and 05).
# - What a `state_dict` is: a dict from parameter/buffer names to tensors.

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

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from IPython.display import Markdown, display
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from torch import nn

helpers.seed_everything()
DEVICE = helpers.best_device()
CACHE = helpers.get_settings().cache_dir


def count_trainable(model: nn.Module) -> int:
    """Number of parameter entries that the optimizer may change."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1. The source network: a ResNet-20 trained on CIFAR-10
#
# The course's data folder holds real trained weights of the CIFAR-10 ResNet-20 of He et al.
# (2016), whose paper reports 91.25 % test accuracy for it; these weights score 91.7 % on the
# 10,000 CIFAR-10 test images (a slow test of the course measures it). It expects
# 3x32x32 inputs scaled to [0, 1] and normalised with `input_mean`/`input_std`. If those
# weights are missing, we *make* a pretrained backbone ourselves: train a ResNet-20 on
# CIFAR-10 (the larger source task), save it with `helpers.save_checkpoint`, and load it back
# with `helpers.load_checkpoint`. Either way the rest of the notebook starts from a checkpoint.


# %% slideshow={"slide_type": "subslide"}
def pretrain_on_cifar10() -> nn.Module:
    """Train a ResNet-20 on CIFAR-10 once, keep it as a checkpoint, and return it reloaded."""
    path = CACHE / f"06_resnet20_cifar10_{helpers.pick('fast', 'full')}.pt"
    if not path.exists():
        cifar = helpers.load_cifar10("train")
        cifar = cifar.subset(range(helpers.pick(1000, len(cifar))))
        net = helpers.cifar_resnet(20)
        loader = helpers.DeviceLoader(
            cifar.images, cifar.labels, batch_size=128, augment=True,
            mean=net.input_mean, std=net.input_std,
        )  # fmt: skip
        helpers.fit(net, loader, epochs=helpers.pick(2, 40), lr=2e-3)
        helpers.save_checkpoint(path, model=net.state_dict())
    net = helpers.cifar_resnet(20)
    helpers.load_state_dict_checked(net, helpers.load_checkpoint(path)["model"])
    return net.eval()


try:
    source_net = helpers.load_pretrained_cifar_resnet(depth=20)
    REAL_BACKBONE = True  # the real weights, not a stand-in trained here
    print("Backbone: the real pretrained CIFAR-10 ResNet-20 from the data folder.")
except helpers.DataError:
    source_net = pretrain_on_cifar10()
    REAL_BACKBONE = False
    print(
        "Backbone: no pretrained weights found; a ResNet-20 trained in this notebook on CIFAR-10."
    )

# %% [markdown] slideshow={"slide_type": "subslide"}
# The network is a stem (one 3x3 conv), three *stages* of three residual blocks each
# (`layer1`: 16 channels at 32x32, `layer2`: 32 at 16x16, `layer3`: 64 at 8x8), global average
# pooling, and a linear head `linear` from 64 features to the 10 CIFAR classes.

# %%
# NBVAL_CHECK_OUTPUT
for name, part in source_net.named_children():
    print(f"{name:8s} {sum(p.numel() for p in part.parameters()):>8,} parameters")
print(f"{'total':8s} {count_trainable(source_net):>8,} parameters")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2. The target task: a few labelled Fashion-MNIST images
#
# Fashion-MNIST images are 1x28x28 grey. The backbone wants 3x32x32, so we pad 2 zero pixels
# on every side, $28 + 2 \cdot 2 = 32$, and repeat the grey channel three times. The training
# set is deliberately tiny: a few images per class (fast mode) or 100 (full mode).

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Predict.** A batch of five Fashion-MNIST images, `(5, 1, 28, 28)`, padded by 2 pixels on every
# side and with the grey channel repeated 3 times: what shape does the backbone get?

# %% [markdown] slideshow={"slide_type": "fragment"}
# **Answer.** `(5, 3, 32, 32)`: $28 + 2 \cdot 2 = 32$, and 3 channels like the CIFAR-10 images it
# was trained on.

# %% slideshow={"slide_type": "fragment"}
padded_demo = F.pad(torch.zeros(5, 1, 28, 28), (2, 2, 2, 2)).repeat(1, 3, 1, 1)
helpers.check_shape(padded_demo, (5, 3, 32, 32), "padded Fashion-MNIST batch")

# %% slideshow={"slide_type": "subslide"}
PER_CLASS = helpers.pick(10, 100)
fashion = helpers.load_fashion_mnist("train")
fashion_test = helpers.load_fashion_mnist("test")
rest, small_train = fashion.split(val_size=10 * PER_CLASS, seed=1)  # class-balanced pick
_, val_set = rest.split(val_size=helpers.pick(100, 1000), seed=2)
_, test_set = fashion_test.split(val_size=helpers.pick(300, len(fashion_test)), seed=3)
CLASSES = fashion.classes


def to_3x32(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 1, 28, 28) -> uint8 (N, 3, 32, 32): zero padding, grey repeated 3 times."""
    padded = F.pad(images, (2, 2, 2, 2))  # (N, 1, 32, 32)
    return padded.repeat(1, 3, 1, 1)  # (N, 3, 32, 32)


x_train, y_train = to_3x32(small_train.images), small_train.labels
x_val, y_val = to_3x32(val_set.images), val_set.labels
x_test, y_test = to_3x32(test_set.images), test_set.labels
print(f"train {tuple(x_train.shape)}, validation {tuple(x_val.shape)}, test {tuple(x_test.shape)}")

# %% slideshow={"slide_type": "subslide"}
# NBVAL_CHECK_OUTPUT
helpers.check_shape(x_train, (10 * PER_CLASS, 3, 32, 32), "padded training images")
helpers.check_equal(
    torch.bincount(y_train, minlength=10), torch.full((10,), PER_CLASS), "images per class"
)
helpers.check_equal(x_train[:, :, 2:30, 2:30], small_train.images.expand(-1, 3, -1, -1), "centre")
helpers.check_true(bool((x_train[:, :, :2] == 0).all()), "the padded border is zero")
print("target set: 10 classes,", PER_CLASS, "labelled training images per class")

# %% slideshow={"slide_type": "subslide"}
one_per_class = torch.stack([torch.nonzero(y_train == c)[0, 0] for c in range(10)])
helpers.show_images(x_train[one_per_class], y_train[one_per_class], CLASSES, ncols=10,
                    title="One training image per class, padded to 3x32x32")  # fmt: skip

# %% [markdown]
# All four regimes read the same batches. `DeviceLoader` turns the uint8 images into floats
# and normalises them with the *source* network's statistics, since those are the inputs its
# first layer was trained on.

# %% slideshow={"slide_type": "subslide"}
MEAN, STD = source_net.input_mean, source_net.input_std


def image_loader(x: torch.Tensor, y: torch.Tensor, shuffle: bool) -> helpers.DeviceLoader:
    return helpers.DeviceLoader(x, y, batch_size=25 if shuffle else 500, shuffle=shuffle,
                                mean=MEAN, std=STD)  # fmt: skip


train_images = image_loader(x_train, y_train, shuffle=True)
val_images = image_loader(x_val, y_val, shuffle=False)
test_images = image_loader(x_test, y_test, shuffle=False)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Predict.** Next we replace the network's head, a linear layer from 64 features to 10 classes, by
# a fresh one for the 10 Fashion-MNIST classes. How many parameters does the new head have?

# %% [markdown] slideshow={"slide_type": "fragment"}
# **Answer.** 650 $= 64 \cdot 10$ weights $+ 10$ biases, against about 270,000 in the backbone.

# %% slideshow={"slide_type": "fragment"}
helpers.check_equal(
    sum(p.numel() for p in nn.Linear(64, 10, device="meta").parameters()), 650, "head"
)
backbone_size = sum(p.numel() for p in source_net.parameters()) - 650  # without its old head
helpers.check_close(backbone_size, 270_000, "parameters of the backbone", rtol=0.05)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3. Replace the head
#
# The old head maps 64 features to the 10 CIFAR classes (airplane, ..., truck); those classes
# mean nothing for clothes. We chop it off and put a fresh linear layer for the 10
# Fashion-MNIST classes in its place. A linear layer from $d$ features to $C$ classes has
# $d \cdot C + C$ parameters (weights plus biases): here $64 \cdot 10 + 10 = 650$.


# %%
# NBVAL_CHECK_OUTPUT
def with_new_head(backbone: nn.Module, num_classes: int = 10) -> nn.Module:
    """A deep copy of `backbone` with a freshly initialised head for `num_classes` classes."""
    net = copy.deepcopy(backbone)
    net.linear = nn.Linear(net.linear.in_features, num_classes)
    return net


helpers.seed_everything()
net = with_new_head(source_net)
d, C = 64, 10
helpers.check_equal(sum(p.numel() for p in net.linear.parameters()), d * C + C, "head size")
helpers.check_equal(net.layer1[0].conv1.weight, source_net.layer1[0].conv1.weight, "kept conv")
print("new head:", net.linear, "->", d * C + C, "parameters")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4. Regime 1: frozen feature extractor
#
# *Freezing* means the optimizer must not change the backbone. Setting `requires_grad = False`
# stops the gradients, but it is not enough: a BatchNorm layer in training mode still updates
# its running mean and variance from every batch, so the "frozen" backbone drifts towards
# Fashion-MNIST statistics. The next cell shows it.


# %%
def freeze(net: nn.Module) -> nn.Module:
    """Make every parameter of `net` untrainable (returns `net`)."""
    for p in net.parameters():
        p.requires_grad = False
    return net


demo = freeze(with_new_head(source_net)).to(DEVICE)
before = demo.bn1.running_mean.clone()
demo.train()  # what a training loop does at the start of every epoch
with torch.no_grad():
    demo(next(iter(train_images))[0])
moved = (demo.bn1.running_mean - before).abs().max().item()
print(f"BatchNorm running mean moved by up to {moved:.3f} although no parameter is trainable")
helpers.check_true(moved > 0, "train mode changes BatchNorm statistics of a frozen backbone")
helpers.check_equal(count_trainable(demo), 0, "trainable parameters of the frozen copy")

# %% [markdown] slideshow={"slide_type": "subslide"}
# So a frozen backbone must also stay in `eval()` mode. And since it never changes, its output
# for an image never changes either: we can run every image through it **once**, store the 64
# features, and train the head on those features. That is much cheaper than pushing images
# through the backbone every epoch, and gives exactly the same result. We split the network
# into a `bottom` (stem, `layer1`, `layer2`) and a `top` (`layer3`, pooling); section 6
# reuses the split.


# %% slideshow={"slide_type": "subslide"}
def bottom_of(net: nn.Module) -> nn.Sequential:
    """Stem, layer1 and layer2: (N, 3, 32, 32) -> (N, 32, 16, 16)."""
    return nn.Sequential(net.conv1, net.bn1, nn.ReLU(), net.layer1, net.layer2)


def top_of(net: nn.Module) -> nn.Sequential:
    """layer3 and global average pooling: (N, 32, 16, 16) -> (N, 64)."""
    return nn.Sequential(net.layer3, nn.AdaptiveAvgPool2d(1), nn.Flatten())


@torch.no_grad()
def encode(module: nn.Module, batches) -> torch.Tensor:
    """Run every input batch through `module` in eval mode; the outputs joined, on the CPU."""
    module.to(DEVICE).eval()
    return torch.cat([module(x.to(DEVICE)).cpu() for x in batches])


bottom, top = bottom_of(source_net), top_of(source_net)
plain = image_loader(x_train, y_train, shuffle=False)  # same images, fixed order
mid_train = encode(bottom, (x for x, _ in plain))  # (N, 32, 16, 16)
mid_val = encode(bottom, (x for x, _ in val_images))
mid_test = encode(bottom, (x for x, _ in test_images))
feat_train, feat_val, feat_test = (
    encode(top, m.split(500)) for m in (mid_train, mid_val, mid_test)
)
print("cached:", tuple(mid_train.shape), "after layer2,", tuple(feat_train.shape), "features")

# %% slideshow={"slide_type": "subslide"}
# Self-check: head(top(bottom(x))) is exactly what the whole network computes.
x0 = next(iter(val_images))[0][:8]
with torch.no_grad():
    split_logits = source_net.linear(top(bottom(x0)))
    whole_logits = source_net.eval()(x0)
helpers.check_close(split_logits, whole_logits, "bottom -> top -> head vs the whole network")
helpers.check_shape(feat_train, (len(x_train), 64), "frozen features")

# %% [markdown]
# Training the head on the cached features is a tiny logistic-regression problem, so it can
# afford many epochs. `fit` keeps the epoch with the best validation accuracy
# (`restore_best=True`).

# %%
helpers.seed_everything()
head = nn.Linear(64, 10)
feature_loader = helpers.DeviceLoader(feat_train, y_train, batch_size=20)
feature_val = helpers.DeviceLoader(feat_val, y_val, batch_size=500, shuffle=False)
hist_frozen = helpers.fit(head, feature_loader, feature_val, epochs=helpers.pick(15, 100),
                          lr=1e-2, restore_best=True, verbose=False)  # fmt: skip
frozen = freeze(with_new_head(source_net))
frozen.linear = head  # the trained head on the frozen backbone: only the head is trainable
helpers.check_equal(count_trainable(frozen), 650, "trainable parameters (head only)")
print(
    f"best validation accuracy {hist_frozen.best['val_acc']:.1%} in epoch {hist_frozen.best_epoch}"
)

# %% slideshow={"slide_type": "subslide"}
# Self-check: the whole frozen network on test images = the head on the cached test features.
x_some = next(iter(test_images))[0][:100]  # (100, 3, 32, 32), normalised
on_images = encode(frozen, [x_some])  # (100, 10)
on_features = encode(head, [feat_test[:100]])  # (100, 10)
helpers.check_close(on_images, on_features, "frozen network vs head on cached features", atol=1e-4)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5. Frozen features as embeddings
#
# Each image is now a point in a 64-dimensional space. If the features are useful for the new
# task, images of one class should lie close together. We look at two 2-D pictures of the
# test set. **PCA** projects onto the directions of largest variance: centre the data matrix,
# $X_c = X - \bar{x}$, take its singular value decomposition $X_c = U S V^\top$, and the
# coordinates are $X_c V_{:, :2}$. **t-SNE** (van der Maaten & Hinton 2008) instead places the
# points so that near neighbours stay near; distances between far-apart clusters mean little.
# We compare with the same pictures of the raw pixels (1024 numbers per image).

# %%
N_EMBED = helpers.pick(200, 2000)
points = {"raw pixels": x_test[:N_EMBED, 0].flatten(1).float() / 255,  # (N, 1024)
          "frozen ResNet features": feat_test[:N_EMBED]}  # (N, 64)  # fmt: skip
labels = y_test[:N_EMBED].numpy()

# Self-check of the PCA formula against scikit-learn (the sign of each axis is arbitrary).
X = points["frozen ResNet features"].double()
Xc = X - X.mean(0)
_, _, Vh = torch.linalg.svd(Xc, full_matrices=False)
ours = (Xc @ Vh[:2].T).numpy()
theirs = PCA(n_components=2).fit_transform(X.numpy())
helpers.check_close(torch.tensor(np.abs(ours)), torch.tensor(np.abs(theirs)), "PCA by SVD")

# %% slideshow={"slide_type": "subslide"}
fig, axes = plt.subplots(2, 2, figsize=(11, 9), layout="constrained")
for col, (name, data) in enumerate(points.items()):
    pca = PCA(n_components=2).fit_transform(data.numpy())
    tsne = TSNE(n_components=2, perplexity=30, init="pca", max_iter=helpers.pick(300, 1000),
                random_state=0).fit_transform(data.numpy())  # fmt: skip
    for row, (method, xy) in enumerate((("PCA", pca), ("t-SNE", tsne))):
        ax = axes[row, col]
        sc = ax.scatter(xy[:, 0], xy[:, 1], c=labels, cmap="tab10", s=8, vmin=-0.5, vmax=9.5)
        ax.set_title(f"{method} of {name}")
        ax.set_xlabel(f"{method} 1")
        ax.set_ylabel(f"{method} 2")
cbar = fig.colorbar(sc, ax=axes, ticks=range(10))
cbar.ax.set_yticklabels(CLASSES)
fig.suptitle("Fashion-MNIST test images in 2-D, coloured by class")
plt.show()

# %% [markdown] slideshow={"slide_type": "subslide"}
# Read the pictures with care. Fashion-MNIST objects are centred on a black background, so
# even raw pixels separate trousers, bags and footwear well. The CIFAR-10 network has never
# seen a shoe or a shirt, and its frozen top-stage features, tuned to tell a cat from a truck,
# group these classes *less* cleanly than the pixels do. A 2-D picture can mislead, so the
# next cell measures it in the full spaces (64 features, 1024 pixels): for each image in the
# pictures, does its nearest other image belong to the same class? (Exercise 3 measures it
# with a nearest-neighbour classifier trained on the training images.) The further the target
# task is from the source task, the less the last layers transfer, which motivates
# fine-tuning them.


# %%
def same_class_neighbour(data: torch.Tensor) -> float:
    """Share of the rows of `data` (N, D) whose nearest other row has the same class."""
    dist = torch.cdist(data, data)  # (N, N) Euclidean distances
    dist.fill_diagonal_(float("inf"))  # an image is not its own neighbour
    nearest = dist.argmin(dim=1)  # (N,)
    return (y_test[:N_EMBED][nearest] == y_test[:N_EMBED]).float().mean().item()


neighbour_share = {name: same_class_neighbour(data) for name, data in points.items()}
for name, share in neighbour_share.items():
    print(f"{name:24s}: nearest other image of the same class for {share:.1%} of the images")
if fashion.real and REAL_BACKBONE:  # a fact of the real data and the real CIFAR-10 weights
    helpers.check_true(
        neighbour_share["frozen ResNet features"] < neighbour_share["raw pixels"] - 0.05,
        "the frozen CIFAR-10 features group the Fashion-MNIST classes less cleanly than pixels",
        found=f"{neighbour_share['frozen ResNet features']:.1%} vs "
        f"{neighbour_share['raw pixels']:.1%} for the pixels",
    )

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6. Regime 2: fine-tune the top stage
#
# Early layers compute generic features (edges, blobs); later layers are more specific to the
# source classes (Yosinski et al. 2014). So we can let the last stage, `layer3`, adapt to the
# new task together with the head, while the bottom stays frozen. The bottom's outputs for our
# images were cached in section 4 (`mid_train`, shape (N, 32, 16, 16)), so training runs
# only `layer3` and the head.
#
# Both fine-tuning regimes start from the head trained in regime 1 rather than a random one: a
# random head sends large, meaningless gradients into the pretrained layers during the first
# steps and can damage them. "First train the head, then fine-tune" is the usual recipe.

# %% slideshow={"slide_type": "subslide"}
helpers.seed_everything()
top_net = freeze(with_new_head(source_net))
top_net.linear.load_state_dict(head.state_dict())  # start from regime 1's head
trainable_top = nn.Sequential(top_of(top_net), top_net.linear)  # (N, 32, 16, 16) -> (N, 10)
for p in trainable_top.parameters():
    p.requires_grad = True
layer3_params = sum(p.numel() for p in top_net.layer3.parameters())
helpers.check_equal(count_trainable(top_net), layer3_params + 650, "trainable: layer3 + head")

mid_loader = helpers.DeviceLoader(mid_train, y_train, batch_size=25)  # (25, 32, 16, 16) batches
mid_val_loader = helpers.DeviceLoader(mid_val, y_val, batch_size=500, shuffle=False)
hist_top = helpers.fit(trainable_top, mid_loader, mid_val_loader, epochs=helpers.pick(5, 30),
                       lr=1e-3, restore_best=True, verbose=False)  # fmt: skip
print(f"best validation accuracy {hist_top.best['val_acc']:.1%} in epoch {hist_top.best_epoch}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 7. Regime 3: fine-tune all layers, the backbone more gently
#
# Now every weight may change. The pretrained weights are already good, so large steps would
# destroy what they learned; the new head starts at random and needs large steps. An optimizer
# takes *parameter groups*, each with its own learning rate: here the backbone gets a tenth of
# the head's rate, $\eta_{\text{backbone}} = \eta_{\text{head}} / 10$. The self-check takes one
# Adam step on a copy: Adam's first step moves each weight by $\eta\,|g| / (|g| + \epsilon)
# \approx \eta$, whatever the size of its gradient $g$, so the largest change in the backbone
# must be a tenth of the largest change in the head. One more thing changes: every BatchNorm
# layer now runs in training mode, so it normalises with the statistics of the current batch
# of 25 grey clothes instead of the CIFAR-10 statistics it was trained with, and its running
# statistics drift towards the new data.

# %%
helpers.seed_everything()
all_net = with_new_head(source_net)
all_net.linear.load_state_dict(head.state_dict())  # start from regime 1's head
head_params = list(all_net.linear.parameters())
backbone_params = [p for name, p in all_net.named_parameters() if not name.startswith("linear.")]
LR_HEAD = 1e-3
optimizer = torch.optim.Adam([
    {"params": backbone_params, "lr": LR_HEAD / 10},
    {"params": head_params, "lr": LR_HEAD},
])  # fmt: skip
with torch.random.fork_rng():  # a probe on copies: later random numbers do not change
    probe_net, probe_opt = copy.deepcopy((all_net, optimizer))  # the copy keeps the groups
    probe_net.to(DEVICE).train()  # .to() keeps the parameters the optimizer holds
    probe_before = {name: p.detach().clone() for name, p in probe_net.named_parameters()}
    x_probe, y_probe = next(iter(plain))  # the training images in one batch, fixed order
    F.cross_entropy(probe_net(x_probe.to(DEVICE)), y_probe.to(DEVICE)).backward()
    probe_opt.step()
step_size = {name: (p.detach() - probe_before[name]).abs().max().item()
             for name, p in probe_net.named_parameters()}  # fmt: skip
head_step = max(v for name, v in step_size.items() if name.startswith("linear."))
backbone_step = max(v for name, v in step_size.items() if not name.startswith("linear."))
print(f"one Adam step, largest change: backbone {backbone_step:.2e}, head {head_step:.2e}")
helpers.check_close(backbone_step / head_step, 0.1, "backbone step / head step", rtol=0.02)
n_groups = sum(p.numel() for g in optimizer.param_groups for p in g["params"])
helpers.check_equal(n_groups, count_trainable(all_net), "the groups hold every parameter once")

hist_all = helpers.fit(all_net, train_images, val_images, epochs=helpers.pick(3, 30),
                       optimizer=optimizer, restore_best=True, verbose=False)  # fmt: skip
print(f"best validation accuracy {hist_all.best['val_acc']:.1%} in epoch {hist_all.best_epoch}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 8. Regime 4: train from scratch
#
# The baseline: the same architecture with random weights, every parameter trained at the
# head's learning rate on the same few images.

# %%
helpers.seed_everything()
scratch_net = helpers.cifar_resnet(20, num_classes=10)
hist_scratch = helpers.fit(scratch_net, train_images, val_images, epochs=helpers.pick(3, 30),
                           lr=LR_HEAD, restore_best=True, verbose=False)  # fmt: skip
print(
    f"best validation accuracy {hist_scratch.best['val_acc']:.1%} in epoch {hist_scratch.best_epoch}"
)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 9. Results
#
# One table, as on the lecture slide (Karpathy et al. 2014: from scratch 41.3 %, fine-tune top
# layer 64.1 %, top 3 layers 65.4 %, all layers 62.2 %). Test accuracy is measured once, with
# the weights of the best validation epoch. The two partly frozen regimes are evaluated on their
# cached test inputs, which section 4 showed to give the same outputs as the whole network.

# %%
regimes = {  # name: (whole network, the part that was trained, its test loader, history)
    "frozen backbone, new head": (frozen, head, feat_test, hist_frozen),
    "fine-tune layer3 + head": (top_net, trainable_top, mid_test, hist_top),
    "fine-tune all (backbone lr / 10)": (all_net, all_net, None, hist_all),
    "from scratch": (scratch_net, scratch_net, None, hist_scratch),
}
results = {}
print(f"{'regime':34s} {'trainable':>10s} {'best val acc':>13s} {'test acc':>9s}")
for name, (net, trained, cached, hist) in regimes.items():
    loader = test_images if cached is None else helpers.DeviceLoader(cached, y_test, 500, False)
    results[name] = helpers.evaluate(trained, loader)["acc"]
    print(
        f"{name:34s} {count_trainable(net):>10,} {hist.best['val_acc']:>13.1%} {results[name]:>9.1%}"
    )

# %% slideshow={"slide_type": "subslide"}
helpers.plot_histories({name: run[-1] for name, run in regimes.items()}, metric="val_acc",
                       title=f"Transfer to Fashion-MNIST with {PER_CLASS} images per class")  # fmt: skip

# %% slideshow={"slide_type": "subslide"}
# Self-check: the pretrained start beats random weights clearly on this tiny target set.
pretrained = {name: acc for name, acc in results.items() if name != "from scratch"}
helpers.check_true(
    max(pretrained.values()) > results["from scratch"] + 0.03,
    "the best pretrained regime beats training from scratch by more than 3 points",
    found=f"{max(pretrained.values()):.1%} vs {results['from scratch']:.1%}",
)
if PER_CLASS <= 20:  # with only a few images per class, even the frozen features win
    helpers.check_true(
        results["frozen backbone, new head"] > results["from scratch"],
        "a frozen pretrained backbone beats training from scratch",
        found=f"{results['frozen backbone, new head']:.1%} vs {results['from scratch']:.1%}",
    )

# %% [markdown] slideshow={"slide_type": "subslide"}
# What to take from the table: with very few labels, the pretrained features win by a wide
# margin (checked above). Fine-tuning everything on so few images has to re-learn BatchNorm
# statistics from tiny batches of 25 grey clothes. In fast mode the from-scratch network has
# taken only a dozen optimizer steps and is close to chance; even its BatchNorm running
# statistics, used at test time, have not settled yet.
#
# ### The full-size run, recorded
#
# With 100 images per class and 30 epochs per fine-tuning regime the picture can change. The
# cells above were run in full mode with `python benchmarks/record_full_runs.py 06`, which
# stores each regime in `notebooks/results/06_*.json` with the device, torch version, date,
# commit and wall time. Here they are beside the live run.

# %%
RECORDED = {  # record name -> regime
    "frozen": "frozen backbone, new head",
    "top": "fine-tune layer3 + head",
    "all": "fine-tune all (backbone lr / 10)",
    "scratch": "from scratch",
}
recorded = helpers.load_recorded_runs("06", RECORDED)  # {regime: record}
print(f"{'recorded regime':34s} {'trainable':>10s} {'best val acc':>13s} {'test acc':>9s}")
for regime, record in recorded.items():
    final = record["final"]
    print(
        f"{regime:34s} {final['trainable']:>10,} {final['val_acc']:>13.1%} {final['test_acc']:>9.1%}"
    )
if recorded:
    any_record = next(iter(recorded.values()))
    print(f"{any_record['config']['per_class']} images per class")

# %%
if recorded:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
    for name, run in regimes.items():
        axes[0].plot(run[-1]["epoch"], [100 * a for a in run[-1]["val_acc"]], label=name)
    for name, record in recorded.items():
        history = helpers.History(record["history"])
        axes[1].plot(history["epoch"], [100 * a for a in history["val_acc"]], label=name)
    axes[0].set(title=f"Live run, {PER_CLASS} images per class", xlabel="epoch",
                ylabel="validation accuracy (%)")  # fmt: skip
    axes[1].set(title=helpers.recorded_label(any_record), xlabel="epoch")
    axes[0].legend(fontsize=8)
    axes[1].legend(fontsize=8)
    fig.suptitle("Validation accuracy per epoch of the four regimes: live and recorded full run")
    plt.show()

# %% [markdown]
# What the recorded run says, written from its numbers and compared with the slide's table
# (where "fine-tune top layer" is our frozen backbone with a new head, "top 3 layers" our
# fine-tuned layer3 + head, i.e. the top stage and the head, and "all layers" ours):

# %%
SLIDE = {  # Karpathy et al. 2014, UCF-101 accuracy (%) of the same four regimes
    "fine-tune layer3 + head": 65.4,
    "frozen backbone, new head": 64.1,
    "fine-tune all (backbone lr / 10)": 62.2,
    "from scratch": 41.3,
}


def recorded_summary(recorded: dict) -> str:
    """The recorded ranking in words, from its numbers, beside the slide's ranking."""
    test = {regime: record["final"]["test_acc"] for regime, record in recorded.items()}
    ours = sorted(test, key=test.get, reverse=True)
    slide = sorted(SLIDE, key=SLIDE.get, reverse=True)
    ranked = ", ".join(f"{regime} ({test[regime]:.1%})" for regime in ours)
    text = f"Ranked by test accuracy: {ranked}. "
    same = "the same as" if ours[0] == slide[0] else "not the same as"
    text += f"The winner, {ours[0]}, is {same} on the slide. "
    if ours[-1] == "from scratch":
        text += "Training from scratch comes last, as on the slide. "
    else:
        text += (
            f"Unlike on the slide, training from scratch is not last: it beats the last "
            f"regime ({ours[-1]}) by {100 * (test['from scratch'] - test[ours[-1]]):.1f} points. "
        )
    if test["from scratch"] > test["frozen backbone, new head"]:
        text += (
            "Frozen CIFAR-10 features lose to a network that learns its own from 1,000 "
            "images: the slide's network was pretrained on a million sports videos and moved "
            "to other videos of human actions, so its features fit the new task as they were; "
            "ours were learned to tell ten kinds of 32x32 colour photos apart and fit grey "
            "pictures of clothes poorly."
        )
    return text


if recorded:
    summary = recorded_summary(recorded)
    display(Markdown(summary))
    best_pretrained = max(
        v["final"]["test_acc"] for k, v in recorded.items() if k != "from scratch"
    )
    helpers.check_true(
        best_pretrained > recorded["from scratch"]["final"]["test_acc"],
        "with 100 images per class the best pretrained regime still beats training from scratch",
        found=f"{best_pretrained:.1%} vs {recorded['from scratch']['final']['test_acc']:.1%}",
    )
    top = recorded["fine-tune layer3 + head"]["final"]["test_acc"]
    frozen_acc = recorded["frozen backbone, new head"]["final"]["test_acc"]
    helpers.check_true(
        top > frozen_acc,
        "with 100 images per class, fine-tuning layer3 beats the frozen features",
        found=f"{top:.1%} vs {frozen_acc:.1%}",
    )
    scratch_acc = recorded["from scratch"]["final"]["test_acc"]
    helpers.check_true(
        scratch_acc > frozen_acc,
        "with 100 images per class, training from scratch beats the frozen features",
        found=f"{scratch_acc:.1%} vs {frozen_acc:.1%}",
    )

# %% [markdown]
# Which layers to train, and whether frozen features are enough, depends on how much target
# data there is and how close the two tasks are. With a few images per class (the live run in
# fast mode), the pretrained start wins by far, even with a frozen backbone: checked on the
# live run, below its table. With 100 images per class and more epochs (the recorded run),
# letting the top stage adapt pays off over the frozen features, and the frozen CIFAR-10
# features fall behind even a network trained from scratch: both checked above on the
# recorded run.
#
# ## 10. Saving and restoring weights
#
# A trained network is saved as its `state_dict`, a dict from names such as
# `layer1.0.conv1.weight` to tensors. `helpers.save_checkpoint` writes it atomically (a crash
# never leaves half a file); `helpers.load_checkpoint` reads it back with
# `torch.load(..., weights_only=True)`, which refuses files that contain code.

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Predict.** Which entries does the `state_dict` of an `nn.BatchNorm2d(4)` hold?

# %% [markdown] slideshow={"slide_type": "fragment"}
# **Answer.** Five: `weight` and `bias` (learned), and the buffers `running_mean`, `running_var` and
# `num_batches_tracked`. A checkpoint keeps the buffers too, or a restored network would normalise
# with the wrong statistics.

# %% slideshow={"slide_type": "fragment"}
bn_keys = list(nn.BatchNorm2d(4).state_dict())
helpers.check_equal(
    bn_keys, ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"], "BN state"
)

# %% slideshow={"slide_type": "subslide"}
path = CACHE / "06_fashion_resnet20.pt"
helpers.save_checkpoint(path, model=all_net.state_dict(), classes=CLASSES)
restored = helpers.cifar_resnet(20, num_classes=10)
helpers.load_state_dict_checked(restored, helpers.load_checkpoint(path)["model"])

saved = all_net.state_dict()
for key, value in restored.state_dict().items():
    helpers.check_equal(value.cpu(), saved[key].cpu(), key)
helpers.check_equal(
    encode(restored, [x_some]), encode(all_net, [x_some]), "outputs after the round trip"
)
print(f"round trip OK: {len(saved)} tensors equal, checkpoint {path.stat().st_size / 1e6:.1f} MB")

# %% [markdown]
# A state dict only fits a model with the same names and shapes. Loading the ResNet-20
# weights into a ResNet-32 (5 blocks per stage instead of 3) fails; the checked loader says
# which keys are missing and which are unexpected instead of PyTorch's long message.

# %%
try:
    helpers.load_state_dict_checked(helpers.cifar_resnet(32), saved)
except helpers.CheckpointError as e:
    message = str(e)
    print(message)
helpers.check_true("missing keys" in message and "layer1.3.conv1.weight" in message,
                   "the error lists the keys the checkpoint lacks")  # fmt: skip

# %% slideshow={"slide_type": "subslide"}
# A common case: weights saved from nn.DataParallel carry a "module." prefix on every key.
prefixed = {f"module.{k}": v for k, v in saved.items()}
try:
    helpers.load_state_dict_checked(helpers.cifar_resnet(20), prefixed)
except helpers.CheckpointError as e:
    message = str(e)
    print(message)
helpers.check_true("unexpected keys" in message and "strip_prefix='module.'" in message,
                   "the error lists the unexpected keys and the fix")  # fmt: skip
helpers.load_state_dict_checked(helpers.cifar_resnet(20), prefixed, strip_prefix="module.")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 11. Online: torchvision's pretrained ImageNet models
#
# With a network connection, torchvision offers models trained on ImageNet (1.28 million
# images, 1000 classes). Each set of weights is an enum value that knows its download address,
# its accuracy and the preprocessing it was trained with: `weights.transforms()` resizes,
# crops and normalises an image exactly as during training. The recipe is the same as above:
# load, replace the head (`model.fc` for a torchvision ResNet), freeze or fine-tune.

# %% slideshow={"slide_type": "subslide"}
from torchvision.models import ResNet18_Weights

weights = ResNet18_Weights.DEFAULT  # the best weights torchvision has for ResNet-18
print(weights, "| ImageNet top-1:", weights.meta["_metrics"]["ImageNet-1K"]["acc@1"], "%")
print(weights.transforms())  # known without downloading anything

try:
    resnet18, preprocess = helpers.load_torchvision_model("resnet18")  # weights=...DEFAULT
    resnet18.fc = nn.Linear(resnet18.fc.in_features, 10)  # a new head for 10 classes
    photo = (helpers.load_photo("cat") * 255).to(torch.uint8)  # (3, H, W)
    batch = preprocess(photo).unsqueeze(0)  # (1, 3, 224, 224)
    print(
        "online path: ResNet-18 loaded, input",
        tuple(batch.shape),
        "->",
        tuple(resnet18(batch).shape),
    )
    helpers.check_shape(resnet18(batch), (1, 10), "ResNet-18 with the new head")
except helpers.DataError as e:
    print("online path skipped (no network or no cached weights):", str(e).splitlines()[0])

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
#
# Each exercise has a task, a cell for your answer (replace `None`) and a check cell that prints
# "Right!", "Not right yet" with a hint, or "Not attempted yet"; the check never stops the
# notebook. In the lecture version of this notebook the answer cells hold a worked solution,
# marked as such; in the exercise version they are yours.
#
# **Exercise 1 (discriminative learning rates; code).** The slide's best row fine-tunes the
# "top 3 layers", which our table matches with the fine-tuned layer3 + head (the top stage
# and the head, trained at one learning rate). Go one stage deeper, with a learning rate per
# part: write `layerwise_optimizer(net)`: given a network from `with_new_head(source_net)`, it
# freezes everything except `layer2`, `layer3` and the head `linear`, and returns an Adam
# optimizer with *three* parameter groups, in this order: `layer2` at `LR_HEAD / 100`,
# `layer3` at `LR_HEAD / 10`, the head at `LR_HEAD`.

# %% nbgrader={"grade": false, "grade_id": "ex1_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 1: your answer (a function: network -> torch.optim.Adam)
layerwise_optimizer = None
### BEGIN SOLUTION


def layerwise_optimizer(net: nn.Module) -> torch.optim.Optimizer:
    for p in net.parameters():
        p.requires_grad = False
    parts = [(net.layer2, LR_HEAD / 100), (net.layer3, LR_HEAD / 10), (net.linear, LR_HEAD)]
    for part, _ in parts:
        for p in part.parameters():
            p.requires_grad = True
    return torch.optim.Adam([{"params": list(part.parameters()), "lr": lr} for part, lr in parts])


### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex1_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
def sets_discriminative_rates(fn) -> bool:
    net = with_new_head(source_net)
    opt = fn(net)
    parts = [net.layer2, net.layer3, net.linear]
    rates = [LR_HEAD / 100, LR_HEAD / 10, LR_HEAD]
    trainable = {id(p) for p in net.parameters() if p.requires_grad}
    wanted = {id(p) for part in parts for p in part.parameters()}
    groups_right = len(opt.param_groups) == 3 and all(
        {id(p) for p in g["params"]} == {id(p) for p in part.parameters()}
        and abs(g["lr"] - rate) <= 1e-9 * rate
        for g, part, rate in zip(opt.param_groups, parts, rates)
    )
    return isinstance(opt, torch.optim.Adam) and trainable == wanted and groups_right


ok_1 = helpers.verdict(
    layerwise_optimizer,
    sets_discriminative_rates,
    "set requires_grad on every parameter first, then turn it back on for the three parts; "
    "Adam takes a list of dicts with 'params' and 'lr'.",
)
### BEGIN HIDDEN TESTS
assert ok_1, "exercise 1 is not right"
### END HIDDEN TESTS

# %% [markdown]
# **Exercise 2 (what is trained; a number).** How many parameters does the optimizer of
# Exercise 1 train? Count them from the network's parts (for example with `count_trainable`).

# %% nbgrader={"grade": false, "grade_id": "ex2_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 2: your answer (a whole number)
layerwise_trainable = None
### BEGIN SOLUTION
layerwise_net = with_new_head(source_net)
layerwise_optimizer(layerwise_net)
layerwise_trainable = count_trainable(layerwise_net)  # layer2 + layer3 + head: most of it
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex2_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
layerwise_parts = [source_net.layer2, source_net.layer3, with_new_head(source_net).linear]
ok_2 = helpers.verdict(
    layerwise_trainable,
    sum(p.numel() for part in layerwise_parts for p in part.parameters()),
    "add up p.numel() over the parameters of layer2, layer3 and the new head (BatchNorm's "
    "gamma and beta are parameters too).",
)
### BEGIN HIDDEN TESTS
assert ok_2, "exercise 2 is not right"
### END HIDDEN TESTS

# %% [markdown]
# **Exercise 3 (frozen features without a network; code).** Frozen features also suit
# classifiers that are not neural networks. Fit a 3-nearest-neighbour classifier
# (`sklearn.neighbors.KNeighborsClassifier(n_neighbors=3)`) once on `feat_train` and once on
# the raw training pixels (`x_train[:, 0]` flattened, as floats), and score both on the
# matching test data. Store `(accuracy_on_features, accuracy_on_pixels)`. Which one wins, and
# what does that say about how close CIFAR-10 and Fashion-MNIST are?

# %% nbgrader={"grade": false, "grade_id": "ex3_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 3: your answer, a tuple of two accuracies between 0 and 1
knn_accuracies = None
### BEGIN SOLUTION
from sklearn.neighbors import KNeighborsClassifier


def knn_accuracy(train: torch.Tensor, test: torch.Tensor) -> float:
    knn = KNeighborsClassifier(n_neighbors=3).fit(train.numpy(), y_train.numpy())
    return float(knn.score(test.numpy(), y_test.numpy()))


knn_accuracies = (
    knn_accuracy(feat_train, feat_test),
    knn_accuracy(x_train[:, 0].flatten(1).float(), x_test[:, 0].flatten(1).float()),
)
print(f"3-NN on frozen features {knn_accuracies[0]:.1%}, on pixels {knn_accuracies[1]:.1%}")
# Where the pixels win, the top-stage features of a CIFAR-10 network are tuned to photos of
# animals and vehicles more than to centred grey clothes: the two tasks are far apart.
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex3_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
from sklearn.neighbors import KNeighborsClassifier


def knn_score(train: torch.Tensor, test: torch.Tensor) -> float:
    knn = KNeighborsClassifier(n_neighbors=3).fit(train.numpy(), y_train.numpy())
    return float(knn.score(test.numpy(), y_test.numpy()))


pixels_train, pixels_test = x_train[:, 0].flatten(1).float(), x_test[:, 0].flatten(1).float()
knn_reference = (knn_score(feat_train, feat_test), knn_score(pixels_train, pixels_test))
ok_3 = helpers.verdict(
    knn_accuracies,
    lambda a: len(a) == 2 and all(abs(float(v) - r) < 1e-9 for v, r in zip(a, knn_reference)),
    "fit on the training features or pixels with y_train, score on the test ones with y_test; "
    "keep the order (features, pixels).",
)
### BEGIN HIDDEN TESTS
assert ok_3, "exercise 3 is not right"
### END HIDDEN TESTS

# %% [markdown]
# **Exercise 4 (frozen weights in the optimizer; a prediction).** Take `with_new_head(source_net)`
# and `freeze` everything but the head, then hand **all** its parameters, frozen ones included,
# to `torch.optim.SGD(..., lr=0.1, weight_decay=0.1)` and take one step on a batch. Weight
# decay shrinks every weight it updates. Predict: do the frozen convolution weights change?
# Answer `True` or `False`; the check takes the step.

# %% nbgrader={"grade": false, "grade_id": "ex4_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 4: your prediction (True or False)
frozen_weights_change = None
### BEGIN SOLUTION
# A frozen parameter never gets a gradient (its .grad stays None), and PyTorch's optimizers
# skip such parameters entirely, weight decay included.
frozen_weights_change = False
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex4_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
decay_net = freeze(with_new_head(source_net)).to(DEVICE).eval()
for p in decay_net.linear.parameters():
    p.requires_grad = True
conv_before = decay_net.layer1[0].conv1.weight.detach().clone()
decay_opt = torch.optim.SGD(decay_net.parameters(), lr=0.1, weight_decay=0.1)
x_batch, y_batch = next(iter(train_images))
F.cross_entropy(decay_net(x_batch.to(DEVICE)), y_batch.to(DEVICE)).backward()
decay_opt.step()
measured_change = not torch.equal(decay_net.layer1[0].conv1.weight, conv_before)
ok_4 = helpers.verdict(
    frozen_weights_change,
    lambda a: isinstance(a, bool) and a == measured_change,
    "what is the .grad of a parameter with requires_grad=False after backward(), and what does "
    "an optimizer do with such a parameter?",
)
### BEGIN HIDDEN TESTS
assert ok_4, "exercise 4 is not right"
### END HIDDEN TESTS

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
#
# - Transfer learning = keep a network trained on a large source task, replace its head, and
#   train on the small target task.
# - Freezing needs `requires_grad = False` **and** `eval()` (BatchNorm statistics); the frozen
#   part's outputs can then be computed once and cached.
# - Regimes from cheapest to most flexible: train the head only, fine-tune the top stage(s),
#   fine-tune all with a smaller backbone learning rate (parameter groups). With few labels
#   the pretrained start beats training from scratch by far; how many layers to fine-tune
#   depends on the amount of target data and on how far the target task is from the source.
# - Frozen features are embeddings: PCA and t-SNE show how well they separate the new classes.
# - Save `state_dict`s; a mismatch in names or shapes means a different architecture, and the
#   error message lists the missing and unexpected keys.
# - Online, torchvision's `weights=...DEFAULT` gives ImageNet weights and `weights.transforms()`
#   the matching preprocessing.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Further reading
#
# - J. Yosinski, J. Clune, Y. Bengio, H. Lipson, *How transferable are features in deep neural
#   networks?*, NeurIPS 2014.
# - A. Karpathy et al., *Large-scale video classification with convolutional neural networks*,
#   CVPR 2014 (the slide's table of transfer regimes).
# - A. S. Razavian et al., *CNN features off-the-shelf: an astounding baseline for
#   recognition*, CVPR Workshops 2014.
# - K. He, X. Zhang, S. Ren, J. Sun, *Deep residual learning for image recognition*, CVPR 2016
#   (the CIFAR ResNets).
# - S. Kornblith, J. Shlens, Q. V. Le, *Do better ImageNet models transfer better?*, CVPR 2019.
# - L. van der Maaten, G. Hinton, *Visualizing data using t-SNE*, JMLR 2008.
# - J. Howard, S. Ruder, *Universal language model fine-tuning for text classification*, ACL
#   2018 (discriminative learning rates, gradual unfreezing).
# - A. Kumar et al., *Fine-tuning can distort pretrained features and underperform
#   out-of-distribution*, ICLR 2022 (train the head first, then fine-tune).
# - PyTorch: [Saving and loading models](https://pytorch.org/tutorials/beginner/saving_loading_models.html);
#   torchvision: [Models and pre-trained weights](https://pytorch.org/vision/stable/models.html).
