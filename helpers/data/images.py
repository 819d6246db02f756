"""The image datasets: one spec per dataset in `IMAGE_DATASETS`, one loader for all of them.

`load_dataset`, `DATASET_NAMES`, `where_from` and the stand-ins all read the spec list, so a new
dataset is one new `ImageSpec`. Loading one split goes, top to bottom:
  `find_files` (each search root, each layout of the spec, in order)
  -> `_read` through the decoded-data cache (fast mode: a fixed class-balanced subset)
  -> an `ImageSet` and its announcement;
or, without files: a torchvision download (unless offline), else the spec's generated stand-in.
"""

from __future__ import annotations

import inspect
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from ..settings import get_settings
from . import readers, standins
from .cache import cached
from .sets import ImageSet, balanced_pick
from .sources import (
    DataError,
    announce,
    check_split,
    describe_size,
    download,
    download_root,
    permission_errors_explained,
    resolve_fast,
    search_roots,
    shown,
)

FAST_SIZES = {"train": 5_000, "test": 1_000}  # every image dataset's fast-mode subset

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck"]  # fmt: skip
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot"]  # fmt: skip


@dataclass
class Layout:
    """One way a dataset's files can lie: `folder` (relative to a search root, "" for the root
    itself, or an absolute system folder) holds `files[split]`, which `read` decodes."""

    folder: str | Path
    files: dict[str, list[str]]
    read: Callable[[list[Path], str], tuple[Tensor, Tensor]]


@dataclass(frozen=True)
class ImageSpec:
    """Everything the loader needs to know about one image dataset."""

    name: str  # "cifar10": the name `load_dataset` and `where_from` use
    title: str  # "CIFAR-10": the name printed
    classes: list[str]
    mean: tuple[float, ...]  # the usual normalisation, in [0, 1] units
    std: tuple[float, ...]
    sizes: dict[str, int]  # split -> size of the real split (and of a full-mode stand-in)
    layouts: tuple[Layout, ...]  # where the files may be, tried in this order
    torchvision: tuple[str, str]  # (dataset class, the folder its download creates)
    standin: Callable[[str, int, int], tuple[Tensor, Tensor]]  # (split, n, seed) -> arrays
    hint: str  # where the real files go, for the stand-in's announcement


DEBIAN_FASHION_MNIST = Layout(  # Debian's dataset-fashion-mnist package
    Path("/usr/share/datasets/fashion-mnist"), readers.IDX, readers.read_fashion_mnist
)
IMAGE_DATASETS = (
    ImageSpec(
        "cifar10", "CIFAR-10", CIFAR10_CLASSES, CIFAR10_MEAN, CIFAR10_STD,
        sizes={"train": 50_000, "test": 10_000},
        layouts=(
            Layout("cifar-10-batches-bin", readers.CIFAR_BIN, readers.read_cifar_bin),
            Layout("", {s: ["cifar-10-binary.tar.gz"] for s in readers.CIFAR_BIN},
                   readers.read_cifar_archive),
            Layout("cifar-10-batches-py", readers.CIFAR_PY, readers.read_cifar_pickles),
        ),
        torchvision=("CIFAR10", "cifar-10-batches-py"),
        standin=standins.cifar_like,
        hint="cifar-10-batches-bin/, cifar-10-binary.tar.gz or cifar-10-batches-py/",
    ),
    ImageSpec(
        "mnist", "MNIST", MNIST_CLASSES, (0.1307,), (0.3081,),
        sizes={"train": 60_000, "test": 10_000},
        layouts=(Layout("MNIST/raw", readers.IDX, readers.read_mnist),),
        torchvision=("MNIST", "MNIST"),
        standin=standins.mnist_like,
        hint="MNIST/raw/*-ubyte.gz (torchvision's layout)",
    ),
    ImageSpec(
        "fashion_mnist", "Fashion-MNIST", FASHION_MNIST_CLASSES, (0.2860,), (0.3530,),
        sizes={"train": 60_000, "test": 10_000},
        layouts=(
            Layout("FashionMNIST/raw", readers.IDX, readers.read_fashion_mnist),
            DEBIAN_FASHION_MNIST,
        ),
        torchvision=("FashionMNIST", "FashionMNIST"),
        standin=standins.fashion_like,
        hint="FashionMNIST/raw/*-ubyte.gz (or install Debian's dataset-fashion-mnist)",
    ),
)  # fmt: skip
DATASET_NAMES = tuple(spec.name for spec in IMAGE_DATASETS)


def load_cifar10(split: str = "train", fast: bool | None = None) -> ImageSet:
    """CIFAR-10 `split` ("train" or "test") as uint8 (N, 3, 32, 32); fast mode: a fixed
    class-balanced subset (5,000 train / 1,000 test)."""
    return load_dataset("cifar10", split, fast)


def load_mnist(split: str = "train", fast: bool | None = None) -> ImageSet:
    """MNIST `split` as uint8 (N, 1, 28, 28); fast mode: 5,000 train / 1,000 test."""
    return load_dataset("mnist", split, fast)


def load_fashion_mnist(split: str = "train", fast: bool | None = None) -> ImageSet:
    """Fashion-MNIST `split` as uint8 (N, 1, 28, 28); fast mode: 5,000 train / 1,000 test."""
    return load_dataset("fashion_mnist", split, fast)


@permission_errors_explained()
def load_dataset(name: str, split: str = "train", fast: bool | None = None) -> ImageSet:
    """The image dataset called `name` (see DATASET_NAMES; "CIFAR-10" and "fashion-mnist" work
    too), read from its files, downloaded, or generated as a stand-in, and announced."""
    spec = image_spec(name)
    check_split(split)
    fast = resolve_fast(fast)
    found = find_files(spec, split)
    if found is None and get_settings().offline:
        return _standin(spec, split, fast, "offline mode and no files in the data directory")
    if found is None:
        failure = download(spec.name, lambda root: _download(spec, split, root))
        if failure is not None:
            reason = f"not in the data directory; download failed: {failure}"
            return _standin(spec, split, fast, reason)
        found = find_files(spec, split)
        if found is None:
            raise DataError(f"{spec.title} was downloaded into {download_root()} but is not there.")
    layout, paths = found
    keep = FAST_SIZES[split] if fast else None
    name = f"{spec.name}-{split}" + (f"-fast{keep}" if fast else "")
    arrays, hit = cached(name, paths, lambda: _read(layout, paths, split, keep))
    total = int(arrays.get("total", len(arrays["labels"])))
    size = describe_size(len(arrays["labels"]), total, "images", fast)
    where = shown(paths[0] if len(paths) == 1 else paths[0].parent)
    line = f"{spec.title} {split}: {size} from {where}{' (decoded cache)' if hit else ''}"
    return ImageSet(
        spec.title, arrays["images"], arrays["labels"], list(spec.classes), announce(line),
        spec.mean, spec.std,
    )  # fmt: skip


def image_spec(name: str) -> ImageSpec:
    """The spec of dataset `name`, or a DataError listing the known names."""
    key = name.strip().lower().replace("-", "_") if isinstance(name, str) else ""
    for spec in IMAGE_DATASETS:
        if spec.name in (key, key.replace("_", "")):
            return spec
    if isinstance(name, str):
        problem = f"Unknown dataset {name!r}"
    else:
        problem = f"The dataset name must be a string such as 'cifar10', got {name!r}"
    raise DataError(f"{problem}; the known names are: {', '.join(DATASET_NAMES)}.")


def find_files(spec: ImageSpec, split: str) -> tuple[Layout, list[Path]] | None:
    """The first layout of `spec` found in a search root, with the files of `split`; None when
    there is none. A folder holding only some of the files is an error naming a missing one."""
    for root in search_roots():
        for layout in spec.layouts:
            folder = root / layout.folder
            paths = {name: _existing(folder / name) for name in layout.files[split]}
            found = [path for path in paths.values() if path is not None]
            if not found:
                continue
            if len(found) < len(paths):
                missing = next(name for name, path in paths.items() if path is None)
                raise DataError(
                    f"{folder / missing} is missing ({folder} has only part of {spec.title}). "
                    f"Copy the complete folder, or delete it and download {spec.title} again."
                )
            return layout, found
    return None


def _existing(path: Path) -> Path | None:
    """`path` if it is a file; a `.gz` may also lie there uncompressed (tried first)."""
    for candidate in (path.with_suffix(""), path) if path.suffix == ".gz" else (path,):
        if candidate.is_file():
            return candidate
    return None


def _read(layout: Layout, paths: list[Path], split: str, keep: int | None) -> dict[str, Tensor]:
    """Decode the files; with `keep`, only a fixed class-balanced subset of that size (the first
    examples of each class), and the size of the whole split."""
    images, labels = layout.read(paths, split)
    if keep is None:
        return {"images": images, "labels": labels}
    index = balanced_pick(labels, keep) if keep < len(labels) else torch.arange(len(labels))
    return {
        "images": images[index].contiguous(),
        "labels": labels[index],
        "total": torch.tensor(len(labels)),
    }


def _download(spec: ImageSpec, split: str, root: Path) -> None:
    """Download through torchvision into a staging folder in `root`, then move the result into
    place, so that the files appear only once complete."""
    import torchvision.datasets

    staging = Path(tempfile.mkdtemp(dir=root, prefix=f".download-{spec.name}-"))
    try:
        dataset_class, folder = spec.torchvision
        getattr(torchvision.datasets, dataset_class)(
            str(staging), train=split == "train", download=True
        )
        if not (root / folder).exists():
            (staging / folder).replace(root / folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _standin(spec: ImageSpec, split: str, fast: bool, reason: str) -> ImageSet:
    """The spec's generated stand-in, cached (keyed by the generator's own source file, so a
    change to it regenerates) and announced as NOT the real data."""
    n = FAST_SIZES[split] if fast else spec.sizes[split]
    seed = get_settings().seed

    def generate() -> dict[str, Tensor]:
        images, labels = spec.standin(split, n, seed)
        return {"images": images, "labels": labels}

    source = Path(inspect.getfile(spec.standin))
    arrays, _ = cached(f"{spec.name}-standin-{split}", [source], generate, f"{n}|{seed}")
    line = (
        f"{spec.title} {split}: {n:,} generated stand-in images, NOT the real {spec.title} "
        f"({reason}). To use the real data, set COURSE_DATA_DIR to a folder holding "
        f"{spec.hint}, or go online with COURSE_OFFLINE=0."
    )
    return ImageSet(
        f"{spec.title} stand-in", arrays["images"], arrays["labels"], list(spec.classes),
        announce(line), spec.mean, spec.std, real=False,
    )  # fmt: skip
