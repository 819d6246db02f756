"""A cache of decoded arrays in the (writable) cache directory, keyed by the source files."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from ..settings import get_settings

CACHE_FORMAT = 1  # bump when the decoded layout changes


def cache_key(sources: Sequence[Path], extra: str = "") -> str:
    """A key that changes when any source file's path, size or modification time does."""
    h = hashlib.sha1(f"v{CACHE_FORMAT}|{extra}".encode())
    for path in sources:
        st = path.stat()
        h.update(f"|{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:20]


def cache_path(name: str, key: str) -> Path:
    return get_settings().cache_dir / "decoded" / f"{name}-{key}.pt"


def save_atomic(obj: dict[str, torch.Tensor], path: Path) -> bool:
    """Write `obj` with torch.save via a temporary file + os.replace; False if not writable."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
        os.replace(tmp, path)
        return True
    except OSError:
        return False
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def cached(
    name: str,
    sources: Sequence[Path],
    build: Callable[[], dict[str, torch.Tensor]],
    extra: str = "",
) -> tuple[dict[str, torch.Tensor], bool]:
    """Return (arrays, was_cached): the cached decode of `sources`, or `build()` stored anew.

    A cache file that cannot be read is ignored and rewritten.
    """
    path = cache_path(name, cache_key(sources, extra))
    if path.is_file():
        try:
            return torch.load(path, map_location="cpu", weights_only=True), True
        except Exception:  # a damaged cache file is rebuilt, never trusted
            path.unlink(missing_ok=True)
    arrays = build()
    save_atomic(arrays, path)
    return arrays, False
