"""Facts of the real datasets and weights, checked when the data directory holds them
(e.g. COURSE_DATA_DIR=/work/shared/data); skipped with a one-line reason otherwise."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from helpers import settings
from helpers.data import (
    CIFAR10_CLASSES,
    CIFAR10_MEAN,
    CIFAR10_STD,
    load_cifar10,
    load_fashion_mnist,
    load_mnist,
    load_sentiment,
    load_shakespeare,
)
from helpers.data.images import DEBIAN_FASHION_MNIST

pytestmark = pytest.mark.real_data

DATA_DIR = Path(os.environ.get("COURSE_DATA_DIR") or settings.REPO_ROOT / "data")


def need(*relative: str) -> None:
    if not any((DATA_DIR / r).exists() for r in relative):
        pytest.skip(
            f"real data not found: {relative[0]} is not in {DATA_DIR} (set COURSE_DATA_DIR)"
        )


@pytest.fixture(autouse=True)
def offline_real(course_env, monkeypatch):
    """Use the data directory as it is; never download during these checks."""
    course_env(COURSE_DATA_DIR=str(DATA_DIR), COURSE_OFFLINE="1")
    yield


CIFAR_LAYOUTS = ("cifar-10-binary.tar.gz", "cifar-10-batches-bin")


def test_cifar10_test_set_has_1000_images_per_class():
    need(*CIFAR_LAYOUTS)
    test = load_cifar10("test", fast=False)
    assert test.images.shape == (10_000, 3, 32, 32) and test.classes == CIFAR10_CLASSES
    assert torch.bincount(test.labels).tolist() == [1_000] * 10


def test_cifar10_training_set_statistics():
    need(*CIFAR_LAYOUTS)
    train = load_cifar10("train", fast=False)
    assert len(train) == 50_000
    x = train.images.float().div_(255)
    mean = x.mean(dim=(0, 2, 3))
    std = x.std(dim=(0, 2, 3))
    assert torch.allclose(mean, torch.tensor(CIFAR10_MEAN), atol=5e-4), mean
    assert torch.allclose(std, torch.tensor(CIFAR10_STD), atol=5e-4), std


def test_cifar10_fast_subset_is_the_first_images_of_each_class():
    need(*CIFAR_LAYOUTS)
    full, fast = load_cifar10("test", fast=False), load_cifar10("test", fast=True)
    assert len(fast) == 1_000 and torch.bincount(fast.labels).tolist() == [100] * 10
    first_cats = torch.nonzero(full.labels == 3).flatten()[:100]
    assert torch.equal(fast.images[fast.labels == 3], full.images[first_cats])


def test_mnist_sizes():
    need("MNIST/raw")
    train, test = load_mnist("train", fast=False), load_mnist("test", fast=False)
    assert (len(train), len(test)) == (60_000, 10_000)
    assert abs(train.images.float().mean().item() / 255 - 0.1307) < 5e-4


def test_fashion_mnist_sizes():
    if (
        not (DATA_DIR / "FashionMNIST/raw").exists()
        and not Path(DEBIAN_FASHION_MNIST.folder).exists()
    ):
        pytest.skip("Fashion-MNIST not found (apt-get install dataset-fashion-mnist)")
    test = load_fashion_mnist("test", fast=False)
    assert len(test) == 10_000 and torch.bincount(test.labels).tolist() == [1_000] * 10


def test_text_corpora_sizes():
    need("text/tinyshakespeare/input.txt")
    assert len(load_shakespeare(fast=False)) == 1_115_394
    sst2 = [len(load_sentiment("sst2", s, fast=False)) for s in ("train", "test")]
    assert sst2 == [60_614, 872]


@pytest.mark.slow
@pytest.mark.parametrize("depth,accuracy,n", [(20, 91.73, 10_000), (56, 93.39, 2_000)])
def test_pretrained_resnet_accuracy_on_the_real_test_set(depth, accuracy, n):
    """The published checkpoints, through the data layer: inputs /255, ImageNet-normalised.

    ResNet-20 is scored on the whole test set (the published accuracy to 0.1 points: this pins
    the preprocessing); ResNet-56 on the first `n` images (a quarter of the time; within 1.5
    points, 2.7 standard errors at this size, which a wrongly loaded network is far from)."""
    from helpers.models import load_pretrained_cifar_resnet

    need(*CIFAR_LAYOUTS)
    if not list((DATA_DIR / "pretrained/resnet_cifar10").glob(f"resnet{depth}-*.th")):
        pytest.skip(f"no resnet{depth}-*.th in {DATA_DIR}/pretrained/resnet_cifar10")
    model = load_pretrained_cifar_resnet(depth)
    test = load_cifar10("test", fast=False)
    images, labels = test.images[:n], test.labels[:n]
    correct = 0
    with torch.inference_mode():
        for start in range(0, n, 500):
            x = model.preprocess(images[start : start + 500])  # (500, 3, 32, 32)
            correct += (model(x).argmax(1) == labels[start : start + 500]).sum().item()
    tolerance = 0.1 if n == len(test) else 1.5
    assert abs(100 * correct / n - accuracy) <= tolerance, f"{correct} of {n} right"
