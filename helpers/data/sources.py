"""Where data comes from: the data directory, bounded downloads, fast subsets, the announcement."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from ..settings import REPO_ROOT, get_settings
from .errors import DataError

DEFAULT_DATA_DIR = REPO_ROOT / "data"
NETWORK_TIMEOUT_S = 5.0


def shown(path: str | os.PathLike) -> str:
    """`path` as a notebook prints it: `<data>/...` inside the data directory, `<cache>/...`
    inside the cache directory, `~/...` inside the home folder; never the machine's own path."""
    path = Path(path).expanduser().absolute()
    settings = get_settings()
    for alias, root in (
        ("<data>", settings.data_dir),
        ("<cache>", settings.cache_dir),
        ("<course>", REPO_ROOT),
        ("~", Path.home()),
    ):
        root = Path(root).expanduser().absolute()
        if path == root or root in path.parents:
            return str(Path(alias) / path.relative_to(root)).replace(os.sep, "/")
    return str(path)


def announce(line: str) -> str:
    """Print the one-line source announcement and return it."""
    print(line, flush=True)
    return line


def data_dir() -> Path:
    """The data directory; a user-chosen one (COURSE_DATA_DIR) that does not exist is an error."""
    path = get_settings().data_dir
    if path.exists() and not path.is_dir():
        raise DataError(
            f"The data directory {path} is a file, not a folder. Point COURSE_DATA_DIR at the "
            "folder that holds the datasets."
        )
    if not path.exists() and path.resolve() != DEFAULT_DATA_DIR.resolve():
        raise DataError(
            f"The data directory {path} (from COURSE_DATA_DIR) does not exist. Create it, point "
            f"COURSE_DATA_DIR at the folder that holds the datasets, or unset it to use "
            f"{DEFAULT_DATA_DIR}."
        )
    return path


def download_root() -> Path:
    """Where downloads go: the data directory when writable, else a folder in the cache."""
    path = data_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
        if os.access(path, os.W_OK):
            return path
    except OSError:
        pass
    fallback = get_settings().cache_dir / "downloads"
    fallback.mkdir(parents=True, exist_ok=True)
    return fallback


def search_roots() -> list[Path]:
    """Folders searched for dataset files: the data directory, then the download fallback."""
    roots = [data_dir()]
    fallback = get_settings().cache_dir / "downloads"
    if fallback.is_dir() and fallback.resolve() != roots[0].resolve():
        roots.append(fallback)
    return roots


_failed: dict[str, tuple[object, str]] = {}


def earlier_failure(what: str) -> str | None:
    """Why downloading `what` failed earlier in this process (with the same settings), so a
    machine without network pays for the timeout once, not in every call."""
    settings, reason = _failed.get(what, (None, ""))
    return reason if settings is get_settings() else None


def remember_failure(what: str, reason: str) -> str:
    _failed[what] = (get_settings(), reason)
    return reason


@contextmanager
def bounded_network(timeout: float = NETWORK_TIMEOUT_S) -> Iterator[None]:
    """Every socket opened inside gives up after `timeout` seconds; restored afterwards."""
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        yield
    finally:
        socket.setdefaulttimeout(old)


def first_per_class(labels: torch.Tensor, total: int, n_classes: int) -> torch.Tensor:
    """A fixed class-balanced subset: the first `total // n_classes` examples of each class
    in file order (the same indices every run), returned sorted."""
    per_class = total // n_classes
    parts = [torch.nonzero(labels == c).flatten()[:per_class] for c in range(n_classes)]
    return torch.sort(torch.cat(parts)).values


def resolve_fast(fast: bool | None) -> bool:
    """`fast=None` means the course setting."""
    return get_settings().fast if fast is None else bool(fast)


def describe_size(kept: int, total: int, noun: str, fast: bool, how: str = "class-balanced") -> str:
    """'2,000 of 50,000 images (fast mode, class-balanced)' or '50,000 images'."""
    if fast and kept < total:
        return f"{kept:,} of {total:,} {noun} (fast mode, {how})"
    return f"{total:,} {noun}"
