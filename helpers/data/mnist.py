"""MNIST and Fashion-MNIST: torchvision's raw layout, Debian's dataset package, a download,
or a stand-in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from . import standins
from .errors import DataError
from .idx import MNIST_MD5, find_idx, read_idx
from .images import ImageDatasetSpec, load_image_dataset
from .sets import ImageSet

MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_MNIST_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
_STEMS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _idx_finder(subfolder: str | None, known_md5: dict[str, str] | None):
    """Look for the idx pair of a split in root/subfolder (or root itself)."""

    def find(root: Path, split: str):
        folder = root / subfolder if subfolder else root
        if not folder.is_dir():
            return None
        stems = _STEMS[split]
        paths = [find_idx(folder, s) for s in stems]
        if all(p is None for p in paths):
            return None
        for stem, path in zip(stems, paths):
            if path is None:
                raise DataError(
                    f"{folder / (stem + '.gz')} is missing ({folder} has only part of the "
                    f"dataset). Copy the complete folder, or delete it and download again."
                )

        def read() -> dict[str, torch.Tensor]:
            images = read_idx(paths[0], 3, known_md5)
            labels = read_idx(paths[1], 1, known_md5)
            if len(images) != len(labels):
                raise DataError(
                    f"{paths[0]} holds {len(images):,} images but {paths[1]} holds "
                    f"{len(labels):,} labels; one of them is damaged or they do not belong "
                    f"together."
                )
            if len(labels) and labels.max() > 9:
                raise DataError(f"{paths[1]} has a label {int(labels.max())} outside 0-9.")
            return {
                "images": torch.from_numpy(images[:, None].copy()),
                "labels": torch.from_numpy(labels.astype(np.int64)),
            }

        return list(paths), read

    return find


def _debian_fashion_mnist(root: Path, split: str):
    """Debian's dataset-fashion-mnist package: the four .gz files in one system folder."""
    return _idx_finder(None, None)(DEBIAN_FASHION_MNIST, split)


def _torchvision_download(cls_name: str, folder: str):
    def download(staging: Path, split: str) -> Path:
        import torchvision.datasets as tvd

        getattr(tvd, cls_name)(str(staging), train=split == "train", download=True)
        return staging / folder

    return download


MNIST_SPEC = ImageDatasetSpec(
    name="mnist",
    title="MNIST",
    classes=tuple(MNIST_CLASSES),
    mean=(0.1307,),
    std=(0.3081,),
    fast_sizes={"train": 5_000, "test": 1_000},
    full_sizes={"train": 60_000, "test": 10_000},
    finders=(_idx_finder("MNIST/raw", MNIST_MD5),),
    download=_torchvision_download("MNIST", "MNIST"),
    standin=standins.mnist_like,
    layouts="MNIST/raw/*-ubyte.gz (torchvision's layout)",
)

FASHION_SPEC = ImageDatasetSpec(
    name="fashion_mnist",
    title="Fashion-MNIST",
    classes=tuple(FASHION_MNIST_CLASSES),
    mean=(0.2860,),
    std=(0.3530,),
    fast_sizes={"train": 5_000, "test": 1_000},
    full_sizes={"train": 60_000, "test": 10_000},
    finders=(_idx_finder("FashionMNIST/raw", None), _debian_fashion_mnist),
    download=_torchvision_download("FashionMNIST", "FashionMNIST"),
    standin=standins.fashion_like,
    layouts="FashionMNIST/raw/*-ubyte.gz (or install Debian's dataset-fashion-mnist)",
)


def load_mnist(split: str = "train", fast: bool | None = None) -> ImageSet:
    """MNIST `split` as uint8 (N, 1, 28, 28); fast mode: 5,000 train / 1,000 test."""
    return load_image_dataset(MNIST_SPEC, split, fast)


def load_fashion_mnist(split: str = "train", fast: bool | None = None) -> ImageSet:
    """Fashion-MNIST `split` as uint8 (N, 1, 28, 28); fast mode: 5,000 train / 1,000 test."""
    return load_image_dataset(FASHION_SPEC, split, fast)
