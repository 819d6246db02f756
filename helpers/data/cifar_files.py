"""Readers for the CIFAR-10 file formats: the binary version (folder or .tar.gz) and the
python pickles torchvision downloads (`cifar-10-batches-py`)."""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import tarfile
import zlib
from pathlib import Path

import numpy as np
import torch

from .errors import DataError

RECORD_BYTES = 1 + 3 * 32 * 32  # one label byte, then the R, G and B planes, row-major
BATCH_RECORDS = 10_000
OFFICIAL_PAGE = "https://www.cs.toronto.edu/~kriz/cifar.html"

BIN_TRAIN = [f"data_batch_{i}.bin" for i in range(1, 6)]
BIN_TEST = ["test_batch.bin"]
PY_TRAIN = [f"data_batch_{i}" for i in range(1, 6)]
PY_TEST = ["test_batch"]

# Published md5s of the full-size batch files (binary version: checked against the verified
# copy; python version: the values torchvision checks).
KNOWN_MD5 = {
    "data_batch_1.bin": "5dd7e06a14cb22eb9f671a540d1b7c25",
    "data_batch_2.bin": "5ea93a67294ea407fff1d09f752e9692",
    "data_batch_3.bin": "942cd6a4bcdd0dd3c604fbe906cb4421",
    "data_batch_4.bin": "ae636b3ba5c66a11e91e8cb52e771fcb",
    "data_batch_5.bin": "53f37980c15c3d472c316c40844f3f0d",
    "test_batch.bin": "803d5f7f4d78ea53de84dbe85f74fb6d",
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
}

_REDOWNLOAD = f"Delete it and download CIFAR-10 again ({OFFICIAL_PAGE})."


def _check_md5(data: bytes, member: str, origin: str) -> None:
    """Full-size batches must match the published checksum (smaller files are partial copies
    and are only checked for structure)."""
    expected = KNOWN_MD5.get(member)
    if expected is None:
        return
    actual = hashlib.md5(data).hexdigest()
    if actual != expected:
        raise DataError(
            f"{origin}: md5 {actual} differs from the published {expected} for {member}; the "
            f"file is damaged. {_REDOWNLOAD}"
        )


def decode_records(data: bytes, origin: str, member: str) -> tuple[np.ndarray, np.ndarray]:
    """Binary-version records -> (images uint8 (N, 3, 32, 32), labels uint8 (N,))."""
    if len(data) == 0 or len(data) % RECORD_BYTES:
        raise DataError(
            f"{origin} holds {len(data):,} bytes, not a whole number of {RECORD_BYTES:,}-byte "
            f"CIFAR-10 records (1 label byte + 3,072 pixel bytes): it is truncated or not the "
            f"CIFAR-10 binary version. {_REDOWNLOAD}"
        )
    if len(data) == BATCH_RECORDS * RECORD_BYTES:
        _check_md5(data, member, origin)
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, RECORD_BYTES)
    labels = records[:, 0]
    if labels.max() > 9:
        raise DataError(
            f"{origin} has a label byte {int(labels.max())} (CIFAR-10 labels are 0-9): it is not "
            f"the CIFAR-10 binary version. {_REDOWNLOAD}"
        )
    return records[:, 1:].reshape(-1, 3, 32, 32), labels


def _stack(parts: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, torch.Tensor]:
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    return {
        "images": torch.from_numpy(np.ascontiguousarray(images)),
        "labels": torch.from_numpy(labels.astype(np.int64)),
    }


def _batch_file(folder: Path, member: str, advice: str) -> Path:
    """`folder / member`, or a DataError saying the folder holds only part of CIFAR-10."""
    path = folder / member
    if not path.is_file():
        raise DataError(
            f"{path} is missing (the folder {folder} has only part of CIFAR-10). "
            f"{advice} download CIFAR-10 again ({OFFICIAL_PAGE})."
        )
    return path


def read_bin_folder(folder: Path, members: list[str]) -> dict[str, torch.Tensor]:
    """Read `members` from an extracted `cifar-10-batches-bin` folder."""
    parts = []
    for member in members:
        path = _batch_file(folder, member, "Copy the whole cifar-10-batches-bin folder, or")
        parts.append(decode_records(path.read_bytes(), str(path), member))
    return _stack(parts)


def read_bin_archive(archive: Path, members: list[str]) -> dict[str, torch.Tensor]:
    """Read `members` straight out of `cifar-10-binary.tar.gz` (nothing is extracted)."""
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for info in tar:
                base = info.name.rsplit("/", 1)[-1]
                if info.isfile() and base in members and base not in found:
                    f = tar.extractfile(info)
                    found[base] = f.read() if f is not None else b""
    except PermissionError:
        raise  # not damage: the loader names the folder to fix
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, OSError) as e:
        raise DataError(
            f"{archive} cannot be read as a .tar.gz archive ({type(e).__name__}: {e}); it is "
            f"truncated or damaged. {_REDOWNLOAD}"
        ) from e
    missing = [m for m in members if m not in found]
    if missing:
        raise DataError(
            f"{archive} does not contain {', '.join(missing)}: it is not the CIFAR-10 binary "
            f"version (cifar-10-binary.tar.gz). {_REDOWNLOAD}"
        )
    return _stack([decode_records(found[m], f"{archive}:{m}", m) for m in members])


class _ArraysOnly(pickle.Unpickler):
    """Unpickles what a CIFAR-10 python batch holds (dicts, lists, strings, numbers and numpy
    arrays) and refuses every other global, so a crafted file cannot run code when read."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # how protocol 2 stores bytes
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(
                f"it refers to {module}.{name}, which a CIFAR batch never does"
            )
        return super().find_class(module, name)


def read_py_folder(folder: Path, members: list[str]) -> dict[str, torch.Tensor]:
    """Read `members` from torchvision's `cifar-10-batches-py` folder (python pickles)."""
    parts = []
    for member in members:
        path = _batch_file(folder, member, "Delete the folder and")
        raw = path.read_bytes()
        try:
            entry = _ArraysOnly(io.BytesIO(raw), encoding="latin1").load()
            data = np.asarray(entry["data"], dtype=np.uint8)
            labels = np.asarray(entry.get("labels", entry.get("fine_labels")), dtype=np.int64)
            images = data.reshape(-1, 3, 32, 32)
        except Exception as e:
            raise DataError(
                f"{path} is not a readable CIFAR-10 python batch ({type(e).__name__}: {e}). "
                f"{_REDOWNLOAD}"
            ) from e
        if len(labels) != len(images) or (len(labels) and labels.max() > 9):
            raise DataError(f"{path} has labels that do not match its images. {_REDOWNLOAD}")
        if len(images) == BATCH_RECORDS:
            _check_md5(raw, member, str(path))
        parts.append((images, labels))
    return _stack(parts)
