"""A cache of decoded arrays in the cache directory, keyed by the files they were read from.
It only saves time: when it cannot be written (a full disk, a read-only folder) the data is
served from memory after one printed note, and loading goes on."""

from __future__ import annotations

import contextlib
import hashlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from ..checkpoints import atomic_write
from ..settings import get_settings
from .sources import shown

CACHE_FORMAT = 1  # bump when the decoded layout changes

Arrays = dict[str, torch.Tensor]


def cached(
    name: str, sources: Sequence[Path], build: Callable[[], Arrays], extra: str = ""
) -> tuple[Arrays, bool]:
    """(arrays, was it cached?): the cached result of `build()`, or `build()` stored anew.
    A cache file that cannot be read is rebuilt, never trusted (read with weights_only=True)."""
    path = cache_path(name, sources, extra)
    if path.is_file():
        try:
            return torch.load(path, map_location="cpu", weights_only=True), True
        except Exception:  # damaged: removed (where the cache is writable) and rebuilt
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
    arrays = build()
    try:
        atomic_write(path, lambda f: torch.save(arrays, f))
    except (OSError, RuntimeError) as e:  # torch reports a full disk as a RuntimeError
        _note_write_failed(path.parent, e)
    return arrays, False


def cache_path(name: str, sources: Sequence[Path], extra: str = "") -> Path:
    """The cache file of `name`: its key changes when any source file's path, size or
    modification time does, or `extra`."""
    key = hashlib.sha1(f"v{CACHE_FORMAT}|{extra}".encode())
    for path in sources:
        st = path.stat()
        key.update(f"|{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
    return get_settings().cache_dir / "decoded" / f"{name}-{key.hexdigest()[:20]}.pt"


_warned_folders: set[Path] = set()  # cache folders whose failed write was already reported


def _note_write_failed(folder: Path, error: Exception) -> None:
    """Print one line (once per folder and process) saying the cache is skipped, and why."""
    if folder in _warned_folders:
        return
    _warned_folders.add(folder)
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:160]
    print(
        f"Note: the decoded-data cache cannot be written in {shown(folder)} ({reason}); the "
        "data is served from memory and decoded again next time. Free disk space there, or "
        "set COURSE_CACHE_DIR to a writable folder.",
        file=sys.stderr,
        flush=True,
    )
