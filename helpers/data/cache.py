"""A cache of decoded arrays in the (writable) cache directory, keyed by the source files.

The cache only saves time: when it cannot be written (a full disk, a read-only folder) the
data is served from memory after one printed note, and loading goes on.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from ..checkpoints import save_checkpoint
from ..settings import get_settings
from .sources import shown

CACHE_FORMAT = 1  # bump when the decoded layout changes

_warned_folders: set[Path] = set()  # cache folders whose failed write was already reported


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
    """Write `obj` atomically (per-process temp file + rename, as `save_checkpoint` does, which
    also removes the stale temp files of killed writes). False, after one printed note per
    cache folder, when the write fails: a full disk or a read-only folder is not an error."""
    try:
        save_checkpoint(path, obj)
        return True
    except (OSError, RuntimeError) as e:  # torch reports a full disk as a RuntimeError
        _note_write_failed(path.parent, e)
        return False


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
            _remove(path)
    arrays = build()
    save_atomic(arrays, path)
    return arrays, False


def _note_write_failed(folder: Path, error: Exception) -> None:
    """Print one line (once per folder and process) saying the cache is skipped, and why."""
    if folder in _warned_folders:
        return
    _warned_folders.add(folder)
    text = str(error).strip()
    reason = text.splitlines()[0][:160] if text else type(error).__name__
    print(
        f"Note: the decoded-data cache cannot be written in {shown(folder)} ({reason}); the "
        "data is served from memory and decoded again next time. Free disk space there, or "
        "set COURSE_CACHE_DIR to a writable folder.",
        file=sys.stderr,
        flush=True,
    )


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:  # a read-only cache: the file is simply not trusted
        pass
