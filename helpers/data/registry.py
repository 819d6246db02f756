"""`load_dataset(name, split)`: one entry point for the image datasets, by name."""

from __future__ import annotations

from collections.abc import Callable

from .cifar import load_cifar10
from .errors import DataError
from .mnist import load_fashion_mnist, load_mnist
from .sets import ImageSet

_LOADERS: dict[str, Callable[..., ImageSet]] = {
    "cifar10": load_cifar10,
    "mnist": load_mnist,
    "fashion_mnist": load_fashion_mnist,
}
DATASET_NAMES = tuple(_LOADERS)


def load_dataset(name: str, split: str = "train", fast: bool | None = None) -> ImageSet:
    """The image dataset called `name` ("cifar10", "mnist" or "fashion_mnist")."""
    if not isinstance(name, str):
        raise DataError(
            f"The dataset name must be a string such as 'cifar10', got {name!r}; the known names "
            f"are: {', '.join(DATASET_NAMES)}."
        )
    key = name.strip().lower().replace("-", "_")
    loader = _LOADERS.get(key) or _LOADERS.get(key.replace("_", ""))
    if loader is None:
        raise DataError(
            f"Unknown dataset {name!r}; the known names are: {', '.join(DATASET_NAMES)}."
        )
    return loader(split, fast=fast)
