"""`where_from()`: which source each dataset would come from, without reading or downloading."""

from __future__ import annotations

from collections.abc import Callable

from ..settings import get_settings
from .images import IMAGE_DATASETS, ImageSpec, find_files
from .sources import DataError, data_dir, find, matching_files, permission_errors_explained
from .text import CORPORA, SHAKESPEARE_PATH


def where_from() -> dict[str, str]:
    """Dataset name -> the file or folder it would be read from, or what happens instead."""
    checks: dict[str, Callable[[], str]] = {}
    for spec in IMAGE_DATASETS:
        checks[spec.name] = lambda spec=spec: _image(spec)
    checks["shakespeare"] = lambda: _text(SHAKESPEARE_PATH, downloadable=True)
    for name, corpus in CORPORA.items():
        checks[f"sentiment ({name})"] = lambda c=corpus: _text(f"text/{c.folder}", False)
    checks["pretrained CIFAR ResNets"] = _weights
    report = {}
    for name, check in checks.items():
        try:
            with permission_errors_explained():
                report[name] = check()
        except DataError as e:
            report[name] = f"problem: {e}"
    return report


def _image(spec: ImageSpec) -> str:
    found = find_files(spec, "train")
    if found is None:
        if get_settings().offline:
            return "no files and offline: the generated stand-in (not the real data)"
        return "no files: a download will be tried, else the stand-in"
    paths = found[1]
    return str(paths[0] if len(paths) == 1 else paths[0].parent)


def _text(relative: str, downloadable: bool) -> str:
    path = find(relative)
    if path is not None:
        return str(path)
    if downloadable and not get_settings().offline:
        return "no files: a download will be tried, else the stand-in"
    return "no files: the generated stand-in (not the real data)"


def _weights() -> str:
    from ..models import PRETRAINED_FOLDER  # models imports this package

    folder = data_dir() / PRETRAINED_FOLDER
    found = [p.name for p in matching_files(folder, "resnet*-*.th")]
    return f"{folder}: {', '.join(found)}" if found else f"missing (put them in {folder})"
