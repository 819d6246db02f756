"""The image datasets, one `ImageSpec` each in `IMAGE_DATASETS` (read by the loaders,
`DATASET_NAMES`, `where_from` and the stand-ins), and the photos bundled with scikit-image.
A split is read by the first layout `find_files` finds (through the decoded-data cache, which
holds the whole split; fast mode then keeps a fixed class-balanced subset); without files it is
downloaded by the spec's `download` (unless offline), else generated as the spec's stand-in;
announced in one line."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..arguments import check_flag
from ..settings import get_settings
from . import readers, standins
from . import sources as src
from .sets import ImageSet, balanced_pick
from .sources import DataError, announce, permission_errors_explained
from .text import SENTIMENT_CORPORA, SHAKESPEARE_PATH

FAST_SIZES = {"train": 5_000, "test": 1_000}  # every image dataset's fast-mode subset

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck"]  # fmt: skip
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
CIFAR10_ARCHIVE = "cifar-10-binary.tar.gz"  # the official binary version, read from the tar
CIFAR10_URL = f"https://www.cs.toronto.edu/~kriz/{CIFAR10_ARCHIVE}"
CIFAR10_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"  # published; 170,052,171 bytes
MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot"]  # fmt: skip
# Photos inside the scikit-image package (skimage/data/*), so they load offline.
PHOTO_NAMES = ("astronaut", "camera", "cat", "chelsea", "coffee", "coins", "moon", "page", "text",
               "brick", "grass", "gravel", "rocket", "horse", "clock", "checkerboard",
               "colorwheel", "immunohistochemistry", "hubble_deep_field")  # fmt: skip
LUMA = (0.2125, 0.7154, 0.0721)  # the ITU-R 709 weights scikit-image's rgb2gray uses


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
    sizes: dict[str, int]  # split -> size of a full-mode stand-in (that of the real split)
    layouts: tuple[Layout, ...]  # where the files may be, tried in this order
    download: Callable[[Path], None]  # (download folder) -> None: the files appear complete
    # (a lambda in the table below, so that it reads the URL and hash when it runs)
    standin: Callable[[str, int, int], tuple[Tensor, Tensor]]  # (split, n, seed) -> arrays
    hint: str  # where the real files go, for the stand-in's announcement


MNIST_SIZES = {"train": 60_000, "test": 10_000}
# Debian's dataset-fashion-mnist package. An absolute folder: `root / folder` is this folder
# whatever the search root, so find_files finds it from the first root on.
DEBIAN_FASHION_MNIST = Layout(
    Path("/usr/share/datasets/fashion-mnist"), readers.IDX, readers.read_idx
)
IMAGE_DATASETS = (
    ImageSpec(
        "cifar10", "CIFAR-10", CIFAR10_CLASSES, CIFAR10_MEAN, CIFAR10_STD,
        sizes={"train": 50_000, "test": 10_000},
        layouts=(
            Layout("cifar-10-batches-bin", readers.CIFAR_BIN, readers.read_cifar_bin),
            Layout("", {s: [CIFAR10_ARCHIVE] for s in readers.CIFAR_BIN},
                   readers.read_cifar_archive),
        ),
        download=lambda root: src.fetch_url(CIFAR10_URL, root / CIFAR10_ARCHIVE, "md5", CIFAR10_MD5),
        standin=standins.cifar_like,
        hint=f"cifar-10-batches-bin/ or {CIFAR10_ARCHIVE}",
    ),
    ImageSpec(
        "mnist", "MNIST", MNIST_CLASSES, (0.1307,), (0.3081,), MNIST_SIZES,
        layouts=(Layout("MNIST/raw", readers.IDX, partial(readers.read_idx, md5=readers.MNIST_MD5)),),
        download=lambda root: _torchvision("MNIST", root),
        standin=standins.mnist_like,
        hint="MNIST/raw/*-ubyte.gz (torchvision's layout)",
    ),
    ImageSpec(
        "fashion_mnist", "Fashion-MNIST", FASHION_MNIST_CLASSES, (0.2860,), (0.3530,), MNIST_SIZES,
        layouts=(Layout("FashionMNIST/raw", readers.IDX, readers.read_idx), DEBIAN_FASHION_MNIST),
        download=lambda root: _torchvision("FashionMNIST", root),
        standin=standins.fashion_like,
        hint="FashionMNIST/raw/*-ubyte.gz (or install Debian's dataset-fashion-mnist)",
    ),
)  # fmt: skip
DATASET_NAMES = tuple(spec.name for spec in IMAGE_DATASETS)


def load_cifar10(split: str = "train", fast: bool | None = None) -> ImageSet:
    """CIFAR-10 `split` ("train" or "test") as uint8 (N, 3, 32, 32); fast mode: a fixed
    class-balanced subset (5,000 train / 1,000 test).

    Used by notebooks 04, 05, 06, 08.
    """
    return load_dataset("cifar10", split, fast)


def load_mnist(split: str = "train", fast: bool | None = None) -> ImageSet:
    """MNIST `split` as uint8 (N, 1, 28, 28); fast mode: 5,000 train / 1,000 test.

    Used by notebooks 00, 03, 09.
    """
    return load_dataset("mnist", split, fast)


def load_fashion_mnist(split: str = "train", fast: bool | None = None) -> ImageSet:
    """Fashion-MNIST `split` as uint8 (N, 1, 28, 28); fast mode: 5,000 train / 1,000 test.

    Used by notebook 06.
    """
    return load_dataset("fashion_mnist", split, fast)


@permission_errors_explained()
def load_dataset(name: str, split: str = "train", fast: bool | None = None) -> ImageSet:
    """The image dataset called `name` (see DATASET_NAMES; "CIFAR-10" and "fashion-mnist" work
    too), read from its files, downloaded, or generated as a stand-in, and announced.

    Used by notebook 02.
    """
    spec = image_spec(name)
    src.check_split(split)
    fast = src.resolve_fast(fast)
    found, reason = src.find_or_download(spec.title, lambda: find_files(spec, split), spec.download)
    if found is None:
        return _standin(spec, split, fast, reason)
    layout, paths = found
    (images, labels), hit = src.cached(
        f"{spec.name}-{split}", paths, partial(layout.read, paths, split)
    )
    total = len(labels)
    if fast and FAST_SIZES[split] < total:  # the first examples of each class, always the same
        keep = balanced_pick(labels, FAST_SIZES[split])
        images, labels = images[keep], labels[keep]
    size = src.describe_size(len(labels), total, "images", fast)
    where = src.shown(paths[0] if len(paths) == 1 else paths[0].parent)
    line = f"{spec.title} {split}: {size} from {where}{' (decoded cache)' if hit else ''}"
    return ImageSet(
        spec.title, images, labels, list(spec.classes), announce(line), spec.mean, spec.std
    )


def load_photo(name: str, gray: bool = False) -> torch.Tensor:
    """Photo `name` (see PHOTO_NAMES) as float32 (C, H, W) in [0, 1]; `gray` -> (1, H, W).

    Used by notebooks 02, 03, 06.
    """
    if not isinstance(name, str) or name not in PHOTO_NAMES:
        raise DataError(f"Unknown photo {name!r}; the known names are: {', '.join(PHOTO_NAMES)}.")
    gray = bool(check_flag(gray, "gray"))
    try:
        import skimage.data
    except ImportError as e:
        raise DataError(
            "The photos come with scikit-image; install it: pip install scikit-image"
        ) from e
    try:
        array = np.asarray(getattr(skimage.data, name)())
    except Exception as e:
        raise DataError(
            f"scikit-image could not load its bundled photo {name!r} ({type(e).__name__}: {e}); "
            "reinstall or upgrade scikit-image (pip install -U scikit-image)."
        ) from e
    x = torch.from_numpy(array.astype(np.float32) / (1.0 if array.dtype == bool else 255.0))
    x = x[None] if x.ndim == 2 else x.permute(2, 0, 1)[:3]  # (C, H, W), alpha dropped
    if gray and x.shape[0] == 3:
        x = torch.tensordot(torch.tensor(LUMA), x, dims=1)[None]  # (1, H, W)
    x = x.contiguous()
    kind = "gray" if x.shape[0] == 1 else "colour"
    where = f"bundled with scikit-image (skimage.data.{name})"
    announce(f"Photo {name!r}: {x.shape[1]}x{x.shape[2]} {kind}, {where}")
    return x


def where_from() -> dict[str, str]:
    """Dataset name -> the file or folder it would be read from, or what happens instead;
    nothing is read or downloaded."""
    checks: dict[str, Callable[[], str]] = {
        s.name: partial(_where, partial(_image_path, s), True) for s in IMAGE_DATASETS
    }
    checks["shakespeare"] = partial(_where, partial(src.find, SHAKESPEARE_PATH), True)
    for corpus in SENTIMENT_CORPORA:
        checks[f"sentiment ({corpus})"] = partial(
            _where, partial(src.find, f"text/{corpus}"), False
        )
    checks["pretrained CIFAR ResNets"] = _where_weights
    report = {}
    for name, check in checks.items():
        try:
            with permission_errors_explained():
                report[name] = check()
        except DataError as e:
            report[name] = f"problem: {e}"
    return report


def image_spec(name: str) -> ImageSpec:
    """The spec of dataset `name`, or a DataError listing the known names."""
    key = name.strip().lower().replace("-", "").replace("_", "") if isinstance(name, str) else ""
    spec = next((s for s in IMAGE_DATASETS if s.name.replace("_", "") == key), None)
    if spec is not None:
        return spec
    if isinstance(name, str):
        problem = f"Unknown dataset {name!r}"
    else:
        problem = f"The dataset name must be a string such as 'cifar10', got {name!r}"
    raise DataError(f"{problem}; the known names are: {', '.join(DATASET_NAMES)}.")


def find_files(spec: ImageSpec, split: str) -> tuple[Layout, list[Path]] | None:
    """The first layout of `spec` found in a search root, with the files of `split`; None when
    there is none. A folder holding only some of the files is an error naming a missing one."""
    for root in src.search_roots():
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
    candidates = (path.with_suffix(""), path) if path.suffix == ".gz" else (path,)
    return next((candidate for candidate in candidates if candidate.is_file()), None)


def _torchvision(folder: str, root: Path) -> None:
    """Download torchvision's dataset `folder` (its class name, and the folder it creates) into a
    staging folder in `root`, then move it into place, so the files appear only once complete.
    The download fetches both splits; only the smaller test split is then decoded."""
    import torchvision.datasets

    staging = Path(tempfile.mkdtemp(dir=root, prefix=f".download-{folder}-"))
    try:
        getattr(torchvision.datasets, folder)(str(staging), train=False, download=True)
        if not (root / folder).exists():
            (staging / folder).replace(root / folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _standin(spec: ImageSpec, split: str, fast: bool, reason: str) -> ImageSet:
    """The spec's generated stand-in, cached (keyed by standins.py, so a change to it
    regenerates) and announced as NOT the real data."""
    n, seed = FAST_SIZES[split] if fast else spec.sizes[split], get_settings().seed
    generate = partial(spec.standin, split, n, seed)
    (images, labels), _ = src.cached(
        f"{spec.name}-standin-{split}", [Path(standins.__file__)], generate, f"{n}|{seed}"
    )
    line = (
        f"{spec.title} {split}: {n:,} generated stand-in images, NOT the real {spec.title} "
        f"({reason}). To use the real data, set COURSE_DATA_DIR to a folder holding "
        f"{spec.hint}, or go online with COURSE_OFFLINE=0."
    )
    return ImageSet(
        f"{spec.title} stand-in", images, labels, list(spec.classes),
        announce(line), spec.mean, spec.std, real=False,
    )  # fmt: skip


def _where(locate: Callable[[], Path | None], downloadable: bool) -> str:
    """The file or folder `locate` finds, else what the loader will do instead."""
    path = locate()
    if path is not None:
        return str(path)
    if downloadable and not get_settings().offline:
        return "no files: a download will be tried, else the stand-in"
    return "no files: the generated stand-in (not the real data)"


def _image_path(spec: ImageSpec) -> Path | None:
    """The training split's file (an archive) or folder (several files), if found."""
    found = find_files(spec, "train")
    if found is None:
        return None
    paths = found[1]
    return paths[0] if len(paths) == 1 else paths[0].parent


def _where_weights() -> str:
    from ..models import PRETRAINED_FOLDER  # models imports this package

    folder = src.data_dir() / PRETRAINED_FOLDER
    found = [p.name for p in src.matching_files(folder, "resnet*-*.th")]
    return f"{folder}: {', '.join(found)}" if found else f"missing (put them in {folder})"
