"""CIFAR-10: the binary version (folder or archive), torchvision's python layout, a download,
or a stand-in."""

from __future__ import annotations

from pathlib import Path

from . import cifar_files, standins
from .images import Found, ImageDatasetSpec, load_image_dataset
from .sets import ImageSet

CIFAR10_CLASSES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)


def _bin_folder(root: Path, split: str) -> Found:
    folder = root / "cifar-10-batches-bin"
    if not folder.is_dir():
        return None
    members = cifar_files.BIN_TRAIN if split == "train" else cifar_files.BIN_TEST
    files = [folder / m for m in members]
    return files, lambda: cifar_files.read_bin_folder(folder, members)


def _bin_archive(root: Path, split: str) -> Found:
    archive = root / "cifar-10-binary.tar.gz"
    if not archive.is_file():
        return None
    members = cifar_files.BIN_TRAIN if split == "train" else cifar_files.BIN_TEST
    return [archive], lambda: cifar_files.read_bin_archive(archive, members)


def _py_folder(root: Path, split: str) -> Found:
    folder = root / "cifar-10-batches-py"
    if not folder.is_dir():
        return None
    members = cifar_files.PY_TRAIN if split == "train" else cifar_files.PY_TEST
    files = [folder / m for m in members]
    return files, lambda: cifar_files.read_py_folder(folder, members)


def _download(staging: Path, split: str) -> Path:
    from torchvision.datasets import CIFAR10

    CIFAR10(str(staging), train=split == "train", download=True)
    return staging / "cifar-10-batches-py"


def _missing_safe(finder):
    """cache_key stats every file: report a missing one as a DataError from the reader."""

    def find(root: Path, split: str) -> Found:
        found = finder(root, split)
        if found is None:
            return None
        files, reader = found
        if not all(f.is_file() for f in files):
            reader()  # raises a DataError naming the missing file
        return found

    return find


SPEC = ImageDatasetSpec(
    name="cifar10",
    title="CIFAR-10",
    classes=tuple(CIFAR10_CLASSES),
    mean=CIFAR10_MEAN,
    std=CIFAR10_STD,
    fast_sizes={"train": 5_000, "test": 1_000},
    full_sizes={"train": 50_000, "test": 10_000},
    finders=(_missing_safe(_bin_folder), _bin_archive, _missing_safe(_py_folder)),
    download=_download,
    standin=standins.cifar_like,
    layouts="cifar-10-batches-bin/, cifar-10-binary.tar.gz or cifar-10-batches-py/",
)


def load_cifar10(split: str = "train", fast: bool | None = None) -> ImageSet:
    """CIFAR-10 `split` ("train" or "test") as uint8 (N, 3, 32, 32); fast mode: a fixed
    class-balanced subset (5,000 train / 1,000 test)."""
    return load_image_dataset(SPEC, split, fast)
