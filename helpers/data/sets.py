"""The containers every loader returns: `ImageSet` (images) and `TextSet` (sentences)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from ..arguments import check_int
from .errors import DataError


def _as_index(indices: Sequence[int] | torch.Tensor | np.ndarray, size: int) -> torch.Tensor:
    """Integer positions, or a True/False mask of length `size`, as int64 positions; float
    positions (which would be truncated) and a mask of another length are refused."""
    array = np.asarray(indices.cpu() if isinstance(indices, torch.Tensor) else indices)
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


def balanced_pick(labels: torch.Tensor, total: int, seed: int) -> torch.Tensor:
    """`total` indices spread as evenly as possible over the classes, chosen with `seed`.

    A class with too few examples gives all it has; the shortfall is filled at random from the
    rest, so exactly `total` distinct indices come back (sorted).
    """
    n = len(labels)
    if not 0 <= total <= n:
        raise DataError(f"Cannot pick {total} examples from a set of {n}.")
    gen = torch.Generator().manual_seed(int(seed))
    order = torch.randperm(n, generator=gen)
    classes = torch.unique(labels).tolist()
    quota = {c: total // len(classes) + (i < total % len(classes)) for i, c in enumerate(classes)}
    chosen: list[torch.Tensor] = []
    for c in classes:
        members = order[labels[order] == c]
        chosen.append(members[: quota[c]])
    picked = torch.cat(chosen) if chosen else torch.empty(0, dtype=torch.int64)
    if len(picked) < total:
        taken = torch.zeros(n, dtype=torch.bool)
        taken[picked] = True
        rest = order[~taken[order]]
        picked = torch.cat([picked, rest[: total - len(picked)]])
    return torch.sort(picked).values


@dataclass
class ImageSet:
    """Images with labels: `images` uint8 (N, C, H, W), `labels` int64 (N,).

    `source` is the one line announcing where the images came from; `mean`/`std` are the
    per-channel statistics (in [0, 1] units) usually used to normalise this dataset; `real` is
    False for a generated stand-in (a notebook asserts facts of real images only when True).
    """

    name: str
    images: torch.Tensor
    labels: torch.Tensor
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
        if self.labels.dtype != torch.int64 or self.labels.shape != (len(self.images),):
            raise DataError(
                f"{self.name}: labels must be int64 ({len(self.images)},), got "
                f"{self.labels.dtype} {tuple(self.labels.shape)}."
            )

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        return (
            f"ImageSet({self.name!r}, images={tuple(self.images.shape)} uint8, "
            f"{len(self.classes)} classes)"
        )

    def subset(self, indices: Sequence[int] | torch.Tensor | np.ndarray) -> ImageSet:
        """The examples at `indices` (a new ImageSet; the source line is kept)."""
        idx = _as_index(indices, len(self))
        return replace(self, images=self.images[idx], labels=self.labels[idx])

    def split(self, val_size: int, seed: int = 0) -> tuple[ImageSet, ImageSet]:
        """A fixed (train, validation) split of `val_size` examples (an int, e.g. 5000); the
        validation part is class-balanced."""
        if isinstance(val_size, float) and 0 < val_size < 1:
            raise ValueError(
                f"val_size is a number of examples, got the fraction {val_size}; for "
                f"{val_size:.0%} pass round({val_size} * len(ds)) = {round(val_size * len(self))}."
            )
        val_size = check_int(val_size, "val_size", minimum=1)
        val_idx = balanced_pick(self.labels, val_size, check_int(seed, "seed", minimum=0))
        keep = torch.ones(len(self), dtype=torch.bool)
        keep[val_idx] = False
        train = self.subset(torch.nonzero(keep).flatten())
        val = self.subset(val_idx)
        return replace(train, name=f"{self.name} (train part)"), replace(
            val, name=f"{self.name} (validation part)"
        )

    def class_counts(self) -> dict[str, int]:
        """How many examples each class has."""
        counts = torch.bincount(self.labels, minlength=len(self.classes)).tolist()
        return dict(zip(self.classes, counts))

    def float(self, normalize: bool = False) -> torch.Tensor:
        """Images as float32 in [0, 1]; with `normalize`, standardised per channel
        (with this dataset's usual `mean`/`std`, or the set's own when it has none)."""
        x = self.images.float() / 255.0
        if not normalize:
            return x
        if self.mean is not None and self.std is not None:
            mean = torch.tensor(self.mean).view(1, -1, 1, 1)
            std = torch.tensor(self.std).view(1, -1, 1, 1)
        else:
            mean = x.mean(dim=(0, 2, 3), keepdim=True)
            std = x.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6)
        return (x - mean) / std


@dataclass
class TextSet:
    """Labelled sentences: `sentences` list[str], `labels` int64 (N,); `real` is False for a
    generated stand-in."""

    sentences: list[str]
    labels: torch.Tensor
    classes: list[str] = field(default_factory=lambda: ["negative", "positive"])
    source: str = ""
    name: str = "sentences"
    real: bool = True

    def __post_init__(self) -> None:
        if self.labels.dtype != torch.int64 or self.labels.shape != (len(self.sentences),):
            raise DataError(
                f"{self.name}: labels must be int64 ({len(self.sentences)},), got "
                f"{self.labels.dtype} {tuple(self.labels.shape)}."
            )

    def __len__(self) -> int:
        return len(self.sentences)

    def __repr__(self) -> str:
        return f"TextSet({self.name!r}, {len(self)} sentences, classes={self.classes})"

    def subset(self, indices: Sequence[int] | torch.Tensor | np.ndarray) -> TextSet:
        """The sentences at `indices` (a new TextSet; the source line is kept)."""
        idx = _as_index(indices, len(self))
        return replace(
            self,
            sentences=[self.sentences[i] for i in idx.tolist()],
            labels=self.labels[idx],
        )

    def class_counts(self) -> dict[str, int]:
        """How many sentences each class has."""
        counts = torch.bincount(self.labels, minlength=len(self.classes)).tolist()
        return dict(zip(self.classes, counts))
