"""`where_from()`: which source each dataset would come from, without reading or downloading."""

from __future__ import annotations

from pathlib import Path

from ..settings import get_settings
from .cifar import SPEC as CIFAR_SPEC
from .errors import DataError
from .images import ImageDatasetSpec, find_files
from .mnist import FASHION_SPEC, MNIST_SPEC
from .sources import data_dir, matching_files, permission_errors_explained, search_roots
from .text import CORPUS_FOLDERS, SHAKESPEARE_PATH

_NO_FILES = "no files: a download will be tried, else the stand-in"
_OFFLINE = "no files and offline: the generated stand-in (not the real data)"


def _fallback() -> str:
    return _OFFLINE if get_settings().offline else _NO_FILES


def _image(spec: ImageDatasetSpec) -> str:
    found = find_files(spec, "train")
    if found is None:
        return _fallback()
    files = found[0]
    return str(files[0] if len(files) == 1 else files[0].parent)


def _text(relative: Path, online: bool) -> str:
    for root in search_roots():
        if (root / relative).exists():
            return str(root / relative)
    if online and not get_settings().offline:
        return _NO_FILES
    return "no files: the generated stand-in (not the real data)"


def _weights() -> str:
    folder = data_dir() / "pretrained" / "resnet_cifar10"
    found = [p.name for p in matching_files(folder, "resnet*-*.th")]
    return f"{folder}: {', '.join(found)}" if found else f"missing (put them in {folder})"


def where_from() -> dict[str, str]:
    """Dataset name -> the file or folder it would be read from, or what happens instead."""
    checks = {
        "cifar10": lambda: _image(CIFAR_SPEC),
        "mnist": lambda: _image(MNIST_SPEC),
        "fashion_mnist": lambda: _image(FASHION_SPEC),
        "shakespeare": lambda: _text(SHAKESPEARE_PATH, online=True),
        **{
            f"sentiment ({name})": (lambda f=folder: _text(Path("text") / f, online=False))
            for name, folder in CORPUS_FOLDERS.items()
        },
        "pretrained CIFAR ResNets": _weights,
    }
    report = {}
    for name, check in checks.items():
        try:
            with permission_errors_explained():
                report[name] = check()
        except DataError as e:
            report[name] = f"problem: {e}"
    return report
