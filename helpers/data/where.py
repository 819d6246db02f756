"""`where_from()`: which source each dataset would come from, without reading or downloading."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from ..settings import get_settings
from .images import IMAGE_DATASETS, ImageSpec, find_files
from .sources import DataError, data_dir, find, matching_files, permission_errors_explained
from .text import CORPORA, SHAKESPEARE_PATH

_DOWNLOAD = "no files: a download will be tried, else the stand-in"


def where_from() -> dict[str, str]:
    """Dataset name -> the file or folder it would be read from, or what happens instead."""
    checks: dict[str, Callable[[], str]] = {s.name: partial(_image, s) for s in IMAGE_DATASETS}
    checks["shakespeare"] = partial(_text, SHAKESPEARE_PATH, downloadable=True)
    for name, corpus in CORPORA.items():
        checks[f"sentiment ({name})"] = partial(_text, f"text/{corpus.folder}", False)
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
    if found is not None:
        paths = found[1]
        return str(paths[0] if len(paths) == 1 else paths[0].parent)
    offline = get_settings().offline
    return (
        "no files and offline: the generated stand-in (not the real data)" if offline else _DOWNLOAD
    )


def _text(relative: str, downloadable: bool) -> str:
    path = find(relative)
    if path is not None:
        return str(path)
    if downloadable and not get_settings().offline:
        return _DOWNLOAD
    return "no files: the generated stand-in (not the real data)"


def _weights() -> str:
    from ..models import PRETRAINED_FOLDER  # models imports this package

    folder = data_dir() / PRETRAINED_FOLDER
    found = [p.name for p in matching_files(folder, "resnet*-*.th")]
    return f"{folder}: {', '.join(found)}" if found else f"missing (put them in {folder})"
