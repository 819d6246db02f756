"""The stand-ins: same shapes, dtypes and classes as the real sets, deterministic from the seed,
class-balanced, learnable, and announced as NOT the real data."""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch

from helpers.data import (
    CIFAR10_CLASSES,
    load_cifar10,
    load_fashion_mnist,
    load_mnist,
    load_sentiment,
    load_shakespeare,
)
from helpers.data import images as image_module

LOADERS = {
    "cifar10": (load_cifar10, (3, 32, 32)),
    "mnist": (load_mnist, (1, 28, 28)),
    "fashion_mnist": (load_fashion_mnist, (1, 28, 28)),
}


@pytest.fixture
def offline_empty(course_env, tmp_path, monkeypatch):
    """No data anywhere and no network: every loader must fall back to its stand-in."""
    (tmp_path / "data").mkdir()
    course_env(
        COURSE_DATA_DIR=str(tmp_path / "data"),
        COURSE_CACHE_DIR=str(tmp_path / "cache"),
        COURSE_OFFLINE="1",
        COURSE_SEED="0",
    )
    monkeypatch.setattr(image_module.DEBIAN_FASHION_MNIST, "folder", tmp_path / "absent")
    return monkeypatch


@pytest.mark.parametrize("name", LOADERS)
def test_image_standins_look_like_the_real_sets(offline_empty, name):
    loader, shape = LOADERS[name]
    train, test = loader("train", fast=True), loader("test", fast=True)
    assert train.images.shape[1:] == shape and train.images.dtype == torch.uint8
    assert train.labels.dtype == torch.int64 and len(train.classes) == 10
    assert (len(train), len(test)) == (5_000, 1_000)
    assert torch.bincount(train.labels).tolist() == [500] * 10
    assert train.images.float().std() > 10, "images should not be flat"
    assert "NOT the real" in train.source and "COURSE_DATA_DIR" in train.source
    assert not train.real and not train.subset([0, 1]).real and not train.split(100)[1].real
    if name == "cifar10":
        assert train.classes == CIFAR10_CLASSES


@pytest.mark.parametrize("name", LOADERS)
def test_image_standins_are_deterministic_from_the_seed(course_env, offline_empty, name):
    loader, _ = LOADERS[name]
    a, b = loader("test", fast=True), loader("test", fast=True)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.images, loader("train", fast=True).images[: len(a)])
    course_env(COURSE_SEED="1")
    assert not torch.equal(a.images, loader("test", fast=True).images)


def _ridge_accuracy(train, test, lam: float = 100.0) -> float:
    """A linear classifier on raw pixels (ridge regression onto one-hot labels, solved in
    closed form): far above chance (0.10) means the classes are learnable."""
    x, xt = train.float().flatten(1), test.float().flatten(1)
    mean = x.mean(0)
    x, xt = x - mean, xt - mean
    targets = torch.nn.functional.one_hot(train.labels, 10).float()
    dual = torch.linalg.solve(x @ x.T + lam * torch.eye(len(x)), targets)  # (N, 10)
    return ((xt @ x.T @ dual).argmax(1) == test.labels).float().mean().item()


@pytest.mark.parametrize(
    "name,at_least", [("cifar10", 0.35), ("mnist", 0.5), ("fashion_mnist", 0.5)]
)
def test_image_standins_are_learnable(offline_empty, name, at_least):
    loader, _ = LOADERS[name]
    train, test = loader("train", fast=True).split(1000, seed=0)[1], loader("test", fast=True)
    accuracy = _ridge_accuracy(train, test)
    assert accuracy > at_least, f"{name} stand-in: linear accuracy {accuracy:.2f} (chance 0.10)"


def test_shakespeare_standin_is_a_play(offline_empty):
    text = load_shakespeare(fast=True)
    assert len(text) == 200_000 and text == load_shakespeare(fast=True)
    speakers = [line for line in text.split("\n") if line.endswith(":")]
    assert len(speakers) > 1000 and len(set(speakers)) >= 5
    assert len(set(text)) < 80, "a small character vocabulary, like the real text"


def _naive_bayes_accuracy(train, test, bigrams: bool) -> float:
    def features(sentence: str) -> list[str]:
        words = sentence.split()
        return words + ([f"{a}_{b}" for a, b in zip(words, words[1:])] if bigrams else [])

    counts = [Counter(), Counter()]
    for sentence, label in zip(train.sentences, train.labels.tolist()):
        counts[label].update(features(sentence))
    vocab = set(counts[0]) | set(counts[1])
    totals = [sum(c.values()) + len(vocab) for c in counts]

    def score(sentence: str, c: int) -> float:
        return sum(math.log((counts[c][f] + 1) / totals[c]) for f in features(sentence))

    hits = sum(
        int(score(s, 1) > score(s, 0)) == y for s, y in zip(test.sentences, test.labels.tolist())
    )
    return hits / len(test)


def test_sentiment_standin_needs_word_order(offline_empty):
    train, test = (
        load_sentiment("sst2", "train", fast=True),
        load_sentiment("sst2", "test", fast=True),
    )
    assert (len(train), len(test)) == (2_000, 500)
    assert train.class_counts() == {"negative": 1_000, "positive": 1_000}
    assert "NOT the real" in train.source and not train.real and not train.subset([0]).real
    negated = [(s, y) for s, y in zip(train.sentences, train.labels.tolist()) if " not " in s]
    assert {y for _, y in negated} == {0, 1}, "negations occur in both classes"
    assert all(y == 0 for s, y in negated if "not good" in s or "not great" in s)
    assert all(y == 1 for s, y in negated if "not bad" in s or "not awful" in s)
    words_only = _naive_bayes_accuracy(train, test, bigrams=False)
    with_order = _naive_bayes_accuracy(train, test, bigrams=True)
    assert words_only < 0.85 and with_order > words_only + 0.05, (words_only, with_order)
