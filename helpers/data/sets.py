"""The containers every loader returns (`ImageSet`, `TextSet`), the fixed way the course picks
part of a set (`balanced_pick`), and `normalize`, the one per-channel standardisation used by
`ImageSet`, `DeviceLoader`, `CifarResNet` and the plots."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import Tensor

from ..arguments import check_int
from .sources import DataError

Stats = Sequence[float] | Tensor
Indices = Sequence[int] | Tensor | np.ndarray


class _Labelled:
    """What ImageSet and TextSet share: int64 `labels`, class names, counts per class."""

    name: str
    labels: Tensor
    classes: list[str]

    def __len__(self) -> int:
        return len(self.labels)

    def class_counts(self) -> dict[str, int]:
        """How many examples each class has."""
        counts = torch.bincount(self.labels, minlength=len(self.classes)).tolist()
        return dict(zip(self.classes, counts))

    def _check_labels(self, n: int) -> None:
        if self.labels.dtype != torch.int64 or self.labels.shape != (n,):
            raise DataError(
                f"{self.name}: labels must be int64 ({n},), got {self.labels.dtype} "
                f"{tuple(self.labels.shape)}."
            )


@dataclass
class ImageSet(_Labelled):
    """Images with labels: `images` uint8 (N, C, H, W), `labels` int64 (N,).

    `source` is the line announcing where the images came from; `mean`/`std` the per-channel
    statistics (in [0, 1] units) usually used to normalise this dataset; `real` is False for a
    generated stand-in (a notebook asserts facts of real images only when True).

    Used by notebook 09.
    """

    name: str
    images: Tensor
    labels: Tensor
    classes: list[str]
    source: str
    mean: tuple[float, ...] | None = field(default=None, repr=False)
    std: tuple[float, ...] | None = field(default=None, repr=False)
    real: bool = True

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise DataError(
                f"{self.name}: images must be uint8 (N, C, H, W), got {self.images.dtype} "
                f"{tuple(self.images.shape)}."
            )
        self._check_labels(len(self.images))

    def __repr__(self) -> str:
        shape = tuple(self.images.shape)
        return f"ImageSet({self.name!r}, images={shape} uint8, {len(self.classes)} classes)"

    def subset(self, indices: Indices) -> ImageSet:
        """The examples at `indices` (a new ImageSet; the source line is kept)."""
        idx = _as_index(indices, len(self))
        return replace(self, images=self.images[idx], labels=self.labels[idx])

    def split(self, val_size: int, seed: int = 0) -> tuple[ImageSet, ImageSet]:
        """A fixed (train, validation) split of `val_size` examples (an int, e.g. 5000); the
        validation part is class-balanced (`balanced_pick` with `seed`)."""
        if isinstance(val_size, float) and 0 < val_size < 1:
            raise ValueError(
                f"val_size is a number of examples, got the fraction {val_size}; for "
                f"{val_size:.0%} pass round({val_size} * len(ds)) = {round(val_size * len(self))}."
            )
        val_size = check_int(val_size, "val_size", minimum=1)
        val_idx = balanced_pick(self.labels, val_size, check_int(seed, "seed", minimum=0))
        keep = torch.ones(len(self), dtype=torch.bool)
        keep[val_idx] = False
        train = replace(self.subset(keep), name=f"{self.name} (train part)")
        return train, replace(self.subset(val_idx), name=f"{self.name} (validation part)")

    def float(self, normalize: bool = False) -> Tensor:
        """Images as float32 in [0, 1]; with `normalize`, standardised per channel (with the
        dataset's usual `mean`/`std`, or the set's own when it has none)."""
        x = self.images.float() / 255.0
        if not normalize:
            return x
        if self.mean is None or self.std is None:  # no usual statistics: the set's own
            return _normalize(x, x.mean(dim=(0, 2, 3)), x.std(dim=(0, 2, 3)).clamp_min(1e-6))
        return _normalize(x, self.mean, self.std)


@dataclass
class TextSet(_Labelled):
    """Labelled sentences: `sentences` list[str], `labels` int64 (N,); `real` is False for a
    generated stand-in."""

    sentences: list[str]
    labels: Tensor
    classes: list[str] = field(default_factory=lambda: ["negative", "positive"])
    source: str = ""
    name: str = "sentences"
    real: bool = True

    def __post_init__(self) -> None:
        self._check_labels(len(self.sentences))

    def __repr__(self) -> str:
        return f"TextSet({self.name!r}, {len(self)} sentences, classes={self.classes})"

    def subset(self, indices: Indices) -> TextSet:
        """The sentences at `indices` (a new TextSet; the source line is kept)."""
        idx = _as_index(indices, len(self))
        sentences = [self.sentences[i] for i in idx.tolist()]
        return replace(self, sentences=sentences, labels=self.labels[idx])


def balanced_pick(labels: Tensor, total: int, seed: int | None = None) -> Tensor:
    """`total` indices spread as evenly as possible over the classes, sorted: the first of
    each class in file order (seed=None: the fast-mode subsets), or a random choice fixed by
    `seed`. A class with too few gives all it has; the rest is filled in the same order."""
    n = len(labels)
    if not 0 <= total <= n:
        raise DataError(f"Cannot pick {total} examples from a set of {n}.")
    if seed is None:
        order = torch.arange(n)
    else:
        order = torch.randperm(n, generator=torch.Generator().manual_seed(int(seed)))
    classes = torch.unique(labels).tolist()
    quota = {c: total // len(classes) + (i < total % len(classes)) for i, c in enumerate(classes)}
    chosen = [order[labels[order] == c][: quota[c]] for c in classes]
    picked = torch.cat(chosen) if chosen else torch.empty(0, dtype=torch.int64)
    if len(picked) < total:
        taken = torch.zeros(n, dtype=torch.bool)
        taken[picked] = True
        picked = torch.cat([picked, order[~taken[order]][: total - len(picked)]])
    return torch.sort(picked).values


def normalize(x: Tensor, mean: Stats, std: Stats) -> Tensor:
    """Float images (N, C, H, W) in [0, 1] -> (x - mean) / std, per channel."""
    m, s = channel_stats(mean, std, x.shape[1])
    return (x - m.to(x.device)) / s.to(x.device)


def channel_stats(mean: Stats, std: Stats, channels: int) -> tuple[Tensor, Tensor]:
    """`mean` and `std` as float32 (1, C, 1, 1) tensors; one value stands for every channel.
    Any other count, or a std that is not positive, is refused with the values found."""
    m, s = (torch.as_tensor(v, dtype=torch.float32).flatten() for v in (mean, std))
    m, s = (v.expand(channels) if v.numel() == 1 else v for v in (m, s))
    if m.numel() != channels or s.numel() != channels:
        raise ValueError(
            f"mean and std need one value per channel ({channels}); got {m.numel()} and "
            f"{s.numel()}."
        )
    if (s <= 0).any():
        raise ValueError(f"std must be positive, got {s.tolist()}.")
    return m.view(1, channels, 1, 1), s.view(1, channels, 1, 1)


_normalize = normalize  # for ImageSet.float, whose argument `normalize` hides the function


def _as_index(indices: Indices, size: int) -> Tensor:
    """Integer positions, or a True/False mask of length `size`, as int64 positions; float
    positions (which would be truncated) and a mask of another length are refused."""
    array = np.asarray(indices.cpu() if isinstance(indices, Tensor) else indices)
    if array.dtype == bool:
        if array.shape != (size,):
            raise ValueError(
                f"a True/False mask must have one entry per example ({size}); got shape "
                f"{array.shape}."
            )
        array = np.flatnonzero(array)
    elif array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(
            f"indices must be ints (positions) or a True/False mask; got {array.dtype}."
        )
    index = torch.as_tensor(array, dtype=torch.int64).reshape(-1)
    outside = index[(index >= size) | (index < -size)]
    if len(outside):
        raise ValueError(f"index {int(outside[0])} is outside this set of {size} examples.")
    return index
