"""The resolution order shared by the image datasets: files in the data directory ->
a bounded torchvision download (unless offline) -> a generated stand-in, announced in one line."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from ..settings import get_settings
from .cache import cached
from .errors import DataError
from .sets import ImageSet
from .sources import (
    announce,
    bounded_network,
    describe_size,
    download_root,
    earlier_failure,
    first_per_class,
    permission_errors_explained,
    remember_failure,
    resolve_fast,
    search_roots,
    shown,
)

Arrays = dict[str, torch.Tensor]
# A finder looks in one folder: None if the dataset is not there, else (files, reader).
Found = tuple[list[Path], Callable[[], Arrays]] | None
Finder = Callable[[Path, str], Found]


@dataclass(frozen=True)
class ImageDatasetSpec:
    """Everything the generic loader needs to know about one image dataset."""

    name: str  # "cifar10"
    title: str  # "CIFAR-10"
    classes: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    fast_sizes: dict[str, int]  # split -> size of the fast subset
    full_sizes: dict[str, int]  # split -> size of the real split
    finders: tuple[Finder, ...]
    download: Callable[[Path, str], Path]  # (staging dir, split) -> folder to move into place
    standin: Callable[[str, int, int], tuple[torch.Tensor, torch.Tensor]]
    layouts: str  # for the "how to get the real data" hint


def check_split(split: str) -> str:
    if split not in ("train", "test"):
        raise DataError(f"split={split!r} is not known; use 'train' or 'test'.")
    return split


def find_files(spec: ImageDatasetSpec, split: str) -> Found:
    for root in search_roots():
        for finder in spec.finders:
            found = finder(root, split)
            if found is not None:
                return found
    return None


def _download(spec: ImageDatasetSpec, split: str) -> str | None:
    """Fetch the dataset through torchvision into the download folder; None on success, else
    the reason it failed. Files appear in their final place only once complete."""
    earlier = earlier_failure(spec.name)
    if earlier is not None:
        return f"{earlier} (earlier in this session; not retried)"
    root = download_root()
    staging = Path(tempfile.mkdtemp(dir=root, prefix=f".download-{spec.name}-"))
    try:
        with bounded_network():
            folder = spec.download(staging, split)
        target = root / folder.relative_to(staging)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            folder.replace(target)
        return None
    except Exception as e:  # any network or server failure falls through to the stand-in
        text = f"{type(e).__name__}: {e}".replace("\n", " ")
        return remember_failure(spec.name, text[:160])
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _decoded(
    spec: ImageDatasetSpec, split: str, fast: bool, files: list[Path], reader
) -> tuple[torch.Tensor, torch.Tensor, int, bool]:
    """(images, labels, size of the whole split, from the cache?). Fast mode caches its own
    small subset too, so a notebook reads a few MB instead of the whole decoded split."""
    full_name = f"{spec.name}-{split}"
    if not fast:
        arrays, hit = cached(full_name, files, reader)
        return arrays["images"], arrays["labels"], len(arrays["labels"]), hit

    def subset() -> Arrays:
        arrays = cached(full_name, files, reader)[0]
        labels, total = arrays["labels"], len(arrays["labels"])
        keep = torch.arange(total)
        if spec.fast_sizes[split] < total:
            keep = first_per_class(labels, spec.fast_sizes[split], len(spec.classes))
        return {
            "images": arrays["images"][keep].contiguous(),
            "labels": labels[keep],
            "total": torch.tensor(total),
        }

    size = spec.fast_sizes[split]
    arrays, hit = cached(f"{full_name}-fast{size}", files, subset)
    return arrays["images"], arrays["labels"], int(arrays["total"]), hit


def _from_files(
    spec: ImageDatasetSpec, split: str, fast: bool, files: list[Path], reader
) -> ImageSet:
    images, labels, total, hit = _decoded(spec, split, fast, files, reader)
    where = files[0] if len(files) == 1 else files[0].parent
    line = (
        f"{spec.title} {split}: {describe_size(len(labels), total, 'images', fast)} from {shown(where)}"
        f"{' (decoded cache)' if hit else ''}"
    )
    return ImageSet(
        spec.title,
        images.contiguous(),
        labels,
        list(spec.classes),
        announce(line),
        spec.mean,
        spec.std,
    )


def _standin(spec: ImageDatasetSpec, split: str, fast: bool, reason: str) -> ImageSet:
    n = spec.fast_sizes[split] if fast else spec.full_sizes[split]
    seed = get_settings().seed

    def generate() -> Arrays:
        images, labels = spec.standin(split, n, seed)
        return {"images": images, "labels": labels}

    # keyed by the generator's own source file, so a change to it regenerates
    generator_file = Path(sys.modules[spec.standin.__module__].__file__)
    arrays, _ = cached(f"{spec.name}-standin-{split}", [generator_file], generate, f"{n}|{seed}")
    images, labels = arrays["images"], arrays["labels"]
    line = (
        f"{spec.title} {split}: {n:,} generated stand-in images, NOT the real {spec.title} "
        f"({reason}). To use the real data, set COURSE_DATA_DIR to a folder holding "
        f"{spec.layouts}, or go online with COURSE_OFFLINE=0."
    )
    return ImageSet(
        f"{spec.title} stand-in",
        images,
        labels,
        list(spec.classes),
        announce(line),
        spec.mean,
        spec.std,
        real=False,
    )


@permission_errors_explained()
def load_image_dataset(spec: ImageDatasetSpec, split: str, fast: bool | None) -> ImageSet:
    """Resolve, read (through the decoded cache), subset in fast mode, and announce."""
    check_split(split)
    fast = resolve_fast(fast)
    found = find_files(spec, split)
    if found is None:
        if get_settings().offline:
            return _standin(spec, split, fast, "offline mode and no files in the data directory")
        failure = _download(spec, split)
        if failure is not None:
            return _standin(
                spec, split, fast, f"not in the data directory; download failed: {failure}"
            )
        found = find_files(spec, split)
        if found is None:
            raise DataError(
                f"{spec.title} was downloaded into {download_root()} but cannot be found there."
            )
    return _from_files(spec, split, fast, *found)
