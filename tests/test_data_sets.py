"""ImageSet / TextSet: validation, subsets, fixed class-balanced splits, float conversion."""

from __future__ import annotations

import pytest
import torch

from helpers.data import DataError, ImageSet, TextSet


def make_set(per_class=(30, 30, 30), mean=None, std=None) -> ImageSet:
    labels = torch.cat([torch.full((n,), c) for c, n in enumerate(per_class)])
    images = torch.randint(0, 256, (len(labels), 3, 4, 4), dtype=torch.uint8)
    return ImageSet("toy", images, labels, ["a", "b", "c"], "toy: made here", mean, std)


def test_bad_dtypes_are_rejected():
    with pytest.raises(DataError, match="uint8"):
        ImageSet("x", torch.zeros(2, 1, 4, 4), torch.zeros(2, dtype=torch.int64), ["a"], "")
    with pytest.raises(DataError, match="int64"):
        ImageSet("x", torch.zeros(2, 1, 4, 4, dtype=torch.uint8), torch.zeros(3), ["a"], "")
    with pytest.raises(DataError, match="int64"):
        TextSet(["a", "b"], torch.zeros(2, dtype=torch.int32))


def test_subset_keeps_pairs_and_metadata():
    ds = make_set()
    sub = ds.subset([5, 40, 89])
    assert len(sub) == 3 and torch.equal(sub.images[1], ds.images[40])
    assert sub.labels.tolist() == [0, 1, 2] and sub.classes == ds.classes
    assert sub.source == ds.source


def test_split_is_fixed_disjoint_and_class_balanced():
    ds = make_set()
    train, val = ds.split(12, seed=0)
    assert (len(train), len(val)) == (78, 12)
    assert torch.bincount(val.labels).tolist() == [4, 4, 4]
    again = ds.split(12, seed=0)[1]
    assert torch.equal(val.images, again.images)
    assert not torch.equal(val.images, ds.split(12, seed=1)[1].images)
    seen = {tuple(x.flatten().tolist()) for x in torch.cat([train.images, val.images])}
    assert len(seen) == 90, "every example lands in exactly one part"


def test_split_fills_from_other_classes_when_one_is_short():
    train, val = make_set(per_class=(2, 30, 30)).split(15, seed=0)
    assert len(val) == 15 and torch.bincount(val.labels).tolist()[0] == 2
    with pytest.raises(DataError, match="Cannot pick 100"):
        make_set().split(100)


def test_float_scales_and_normalises():
    ds = make_set(mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    x = ds.float()
    assert x.dtype == torch.float32 and torch.allclose(x * 255, ds.images.float())
    assert torch.allclose(ds.float(normalize=True), (x - 0.5) / 0.25)
    own = make_set().float(normalize=True)  # no known statistics: the set's own
    assert torch.allclose(own.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5)


def test_textset_subset_and_counts():
    ts = TextSet(["good", "bad", "fine"], torch.tensor([1, 0, 1]), source="toy")
    assert ts.class_counts() == {"negative": 1, "positive": 2}
    sub = ts.subset([2, 0])
    assert sub.sentences == ["fine", "good"] and sub.labels.tolist() == [1, 1]
