"""Where data comes from: the data directory, bounded downloads with hash checks, the cache of
decoded arrays, and the one-line announcement every loader prints."""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import os
import socket
import sys
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import torch

from ..arguments import check_flag
from ..checkpoints import atomic_write
from ..settings import REPO_ROOT, Settings, get_settings

DEFAULT_DATA_DIR = REPO_ROOT / "data"
NETWORK_TIMEOUT_S = 5.0  # every socket a download opens gives up after this long
CACHE_FORMAT = 2  # bump when the decoded layout changes

Arrays = tuple[torch.Tensor, torch.Tensor]  # (images, labels)
T = TypeVar("T")


class DataError(RuntimeError):
    """A dataset, photo, text or weights file is missing, unreadable or not what it claims.

    Used by notebook 06.
    """


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


def search_roots() -> list[Path]:
    """Folders searched for dataset files: the data directory, then the download fallback."""
    roots = [data_dir()]
    fallback = get_settings().cache_dir / "downloads"
    if fallback.is_dir() and fallback.resolve() != roots[0].resolve():
        roots.append(fallback)
    return roots


def find(relative: str | Path) -> Path | None:
    """`relative` (a file or folder) in the first search root that has it, else None."""
    return next((root / relative for root in search_roots() if (root / relative).exists()), None)


def matching_files(folder: Path, pattern: str) -> list[Path]:
    """Files in `folder` whose name matches `pattern`, sorted; unlike `Path.glob`, an unreadable
    folder raises PermissionError instead of looking empty."""
    if not folder.is_dir():
        return []
    return sorted(folder / name for name in os.listdir(folder) if fnmatch.fnmatch(name, pattern))


def find_or_download(
    title: str, find: Callable[[], T | None], fetch: Callable[[Path], object]
) -> tuple[T | None, str]:
    """(what `find()` found, "") from the data directory or after a download; (None, why not)
    when offline or the download failed."""
    found = find()
    if found is not None:
        return found, ""
    if get_settings().offline:
        return None, "offline mode and no files in the data directory"
    failure = download(title, fetch)
    if failure is not None:
        return None, f"not in the data directory; download failed: {failure}"
    found = find()
    if found is None:
        raise DataError(f"{title} was downloaded into {download_root()} but is not there.")
    return found, ""


def download(what: str, fetch: Callable[[Path], object]) -> str | None:
    """Run `fetch(download folder)` with bounded sockets: None when it worked, else why not.
    A failure is remembered for the session, so a machine without network waits once."""
    settings = get_settings()
    if what in _failed and _failed[what][0] is settings:
        return f"{_failed[what][1]} (earlier in this session; not retried)"
    folder = download_root()
    try:
        with bounded_network():
            fetch(folder)
        return None
    except Exception as e:  # any network, server or checksum failure: the caller falls back
        _failed[what] = (settings, f"{type(e).__name__}: {e}".replace("\n", " ")[:160])
        return _failed[what][1]


def fetch_url(url: str, target: Path, algorithm: str, digest: str) -> None:
    """Download `url` and write it to `target` (atomically) if its hash is the published one."""
    with urllib.request.urlopen(url) as response:
        data = response.read()
    check_hash(data, algorithm, digest, url, "Nothing was written.")
    atomic_write(target, data)


def check_hash(data: bytes, algorithm: str, expected: str, where: object, advice: str) -> None:
    """Refuse `data` whose md5 / sha256 differs from the published `expected` one."""
    actual = hashlib.new(algorithm, data).hexdigest()
    if actual != expected:
        raise DataError(
            f"{where}: {algorithm} {actual} differs from the published {expected}; the file is "
            f"damaged. {advice}"
        )


@contextlib.contextmanager
def bounded_network() -> Iterator[None]:
    """Every socket opened inside gives up after NETWORK_TIMEOUT_S seconds."""
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(NETWORK_TIMEOUT_S)
    try:
        yield
    finally:
        socket.setdefaulttimeout(old)


def download_root() -> Path:
    """Where downloads go: the data directory when writable, else a folder in the cache."""
    path = data_dir()
    with contextlib.suppress(OSError):
        path.mkdir(parents=True, exist_ok=True)
        if os.access(path, os.W_OK):
            return path
    fallback = get_settings().cache_dir / "downloads"
    try:
        fallback.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(
            f"Nowhere to download to: the data directory {path} is not writable and the "
            f"download folder {fallback} cannot be created ({e.strerror or e}). Make one of "
            "them writable, or set COURSE_CACHE_DIR to a writable folder."
        ) from None
    return fallback


@contextlib.contextmanager
def permission_errors_explained() -> Iterator[None]:
    """A PermissionError inside (an unreadable data folder, file or download folder) becomes
    one DataError naming the folder and what to do, instead of a traceback."""
    try:
        yield
    except PermissionError as e:
        if e.filename is None:
            raise DataError(
                f"Permission denied ({e}). Check the permissions of COURSE_DATA_DIR."
            ) from None
        path = Path(os.fsdecode(e.filename))
        settings = get_settings()
        roots = ((settings.data_dir, "COURSE_DATA_DIR"), (settings.cache_dir, "COURSE_CACHE_DIR"))
        found = [(r, name) for root, name in roots if (r := _within(path, root)) is not None]
        folder, variable = (found or [(path.parent, "COURSE_DATA_DIR")])[0]
        raise DataError(
            f"Permission denied for {path}: the course cannot read (or write) it, or the folder "
            f"{folder} it is in. Give your user access (e.g. chmod -R u+rwX {folder}), or set "
            f"{variable} to a folder you own."
        ) from None


def cached(
    name: str, sources: Sequence[Path], build: Callable[[], Arrays], extra: str = ""
) -> tuple[Arrays, bool]:
    """((images, labels), was it cached?): the cached result of `build()`, or `build()` stored
    anew. A damaged cache file is rebuilt, never trusted (read with weights_only=True); a cache
    that cannot be written only costs time: the data is served from memory after a one-line
    note."""
    path = cache_path(name, sources, extra)
    if path.is_file():
        try:
            images, labels = torch.load(path, map_location="cpu", weights_only=True)
            return (images, labels), True
        except Exception:  # damaged: removed (where the cache is writable) and rebuilt
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
    arrays = build()
    try:
        atomic_write(path, lambda f: torch.save(arrays, f))
    except (OSError, RuntimeError) as e:  # torch reports a full disk as a RuntimeError
        if path.parent not in _warned_folders:  # one note per folder and process
            _warned_folders.add(path.parent)
            reason = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
            print(
                f"Note: the decoded-data cache cannot be written in {shown(path.parent)} "
                f"({reason}); the data is served from memory and decoded again next time. Free "
                "disk space there, or set COURSE_CACHE_DIR to a writable folder.",
                file=sys.stderr,
                flush=True,
            )
    return arrays, False


def cache_path(name: str, sources: Sequence[Path], extra: str = "") -> Path:
    """The cache file of `name`, keyed by each source file's path, size and modification time,
    and `extra`."""
    key = hashlib.sha1(f"v{CACHE_FORMAT}|{extra}".encode())
    for path in sources:
        st = path.stat()
        key.update(f"|{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
    return get_settings().cache_dir / "decoded" / f"{name}-{key.hexdigest()[:20]}.pt"


def check_split(split: str) -> None:
    if split not in ("train", "test"):
        raise DataError(f"split={split!r} is not known; use 'train' or 'test'.")


def resolve_fast(fast: bool | None) -> bool:
    """`fast=None` means the course setting; otherwise True or False ("no" or 0 are refused)."""
    fast = check_flag(fast, "fast", allow_none=True)
    return get_settings().fast if fast is None else fast


def describe_size(kept: int, total: int, noun: str, fast: bool, how: str = "class-balanced") -> str:
    """'2,000 of 50,000 images (fast mode, class-balanced)' or '50,000 images'."""
    if fast and kept < total:
        return f"{kept:,} of {total:,} {noun} (fast mode, {how})"
    return f"{total:,} {noun}"


def shown(path: str | os.PathLike) -> str:
    """`path` as a notebook prints it: `<data>/...` inside the data directory, `<cache>/...`
    inside the cache directory, `~/...` inside the home folder; never the machine's own path."""
    path = Path(path).expanduser().absolute()
    settings = get_settings()
    roots = {"<data>": settings.data_dir, "<cache>": settings.cache_dir, "<course>": REPO_ROOT}
    for alias, root in (*roots.items(), ("~", Path.home())):
        if (absolute := _within(path, root)) is not None:
            return str(Path(alias) / path.relative_to(absolute)).replace(os.sep, "/")
    return str(path)


def announce(line: str) -> str:
    """Print the one-line source announcement and return it."""
    print(line, flush=True)
    return line


_failed: dict[str, tuple[Settings, str]] = {}  # what -> (the settings then, why it failed)
_warned_folders: set[Path] = set()  # cache folders whose failed write was already reported


def _within(path: Path, root: str | os.PathLike) -> Path | None:
    """`root` made absolute, when `path` is that folder or inside it; else None."""
    path, root = Path(path).absolute(), Path(root).expanduser().absolute()
    return root if path == root or root in path.parents else None
