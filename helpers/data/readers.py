"""Readers of the image file formats: CIFAR-10's binary version (a folder or the .tar.gz) and
the idx files of MNIST and Fashion-MNIST (gzip-compressed or plain). Each gives (images uint8
(N, C, H, W), labels int64 (N,)) for the files of one split. Full-size CIFAR-10 and MNIST files
must have their published md5 (Fashion-MNIST has none here: its files are checked for structure
only, as are smaller files such as the tests' partial copies).
torchvision's idx reader is not used: it cannot read the .gz files Debian ships, and it stops a
damaged file with a bare assert or a reshape error instead of a message naming the file."""

from __future__ import annotations

import gzip
import tarfile
import zlib
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .sources import DataError, check_hash

CIFAR_RECORD = 1 + 3 * 32 * 32  # one label byte, then the R, G and B planes, row-major
CIFAR_BATCH = 10_000  # records in a full-size batch file
CIFAR_BIN = {"train": [f"data_batch_{i}.bin" for i in range(1, 6)], "test": ["test_batch.bin"]}
IDX = {  # split -> (images, labels) files; the same names for MNIST and Fashion-MNIST
    "train": ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"],
    "test": ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"],
}
IDX_FULL = {"train": 60_000, "t10k": 10_000}  # entries of the full-size idx files

# Published md5s of the full-size files (CIFAR-10 binary version: checked against the verified
# copy; MNIST: of the *uncompressed* files).
CIFAR_MD5 = {
    "data_batch_1.bin": "5dd7e06a14cb22eb9f671a540d1b7c25",
    "data_batch_2.bin": "5ea93a67294ea407fff1d09f752e9692",
    "data_batch_3.bin": "942cd6a4bcdd0dd3c604fbe906cb4421",
    "data_batch_4.bin": "ae636b3ba5c66a11e91e8cb52e771fcb",
    "data_batch_5.bin": "53f37980c15c3d472c316c40844f3f0d",
    "test_batch.bin": "803d5f7f4d78ea53de84dbe85f74fb6d",
}
MNIST_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}

_CIFAR_AGAIN = (
    "Delete it and download CIFAR-10 again (https://www.cs.toronto.edu/~kriz/cifar.html)."
)
_IDX_AGAIN = "Delete it and download the dataset again (or fix COURSE_DATA_DIR)."
_DAMAGED = (OSError, EOFError, zlib.error, tarfile.TarError)  # a truncated or damaged file


def read_cifar_bin(paths: list[Path], split: str) -> tuple[Tensor, Tensor]:
    """Batch files of the binary version (`cifar-10-batches-bin/*.bin`)."""
    return _stack([_records(p.read_bytes(), str(p), p.name) for p in paths])


def read_cifar_archive(paths: list[Path], split: str) -> tuple[Tensor, Tensor]:
    """The split's batches straight out of `cifar-10-binary.tar.gz` (or the same archive
    uncompressed); nothing is extracted."""
    archive, members, found = paths[0], CIFAR_BIN[split], {}
    try:
        with tarfile.open(archive, "r:*") as tar:  # gzip-compressed, or not
            for info in tar:
                base = info.name.rsplit("/", 1)[-1]
                if info.isfile() and base in members and base not in found:
                    f = tar.extractfile(info)
                    found[base] = f.read() if f is not None else b""
    except PermissionError:
        raise  # not damage: the loader names the folder to fix
    except _DAMAGED as e:
        raise DataError(
            f"{archive} cannot be read as a .tar.gz archive ({type(e).__name__}: {e}); it is "
            f"truncated or damaged. {_CIFAR_AGAIN}"
        ) from e
    missing = [m for m in members if m not in found]
    if missing:
        raise DataError(
            f"{archive} does not contain {', '.join(missing)}: it is not the CIFAR-10 binary "
            f"version (cifar-10-binary.tar.gz). {_CIFAR_AGAIN}"
        )
    return _stack([_records(found[m], f"{archive}:{m}", m) for m in members])


def read_idx(paths: list[Path], split: str, md5: dict | None = None) -> tuple[Tensor, Tensor]:
    """An idx images file (N, H, W) and its labels file (N,); full-size files are checked
    against `md5` (MNIST's; Fashion-MNIST has the same file names, other contents)."""
    images, labels = _idx(paths[0], 3, md5 or {}), _idx(paths[1], 1, md5 or {})
    if len(images) != len(labels):
        raise DataError(
            f"{paths[0]} holds {len(images):,} images but {paths[1]} holds {len(labels):,} "
            "labels; one of them is damaged or they do not belong together."
        )
    if len(labels) and labels.max() > 9:
        raise DataError(f"{paths[1]} has a label {int(labels.max())} outside 0-9.")
    return torch.from_numpy(images[:, None].copy()), torch.from_numpy(labels.astype(np.int64))


def _records(data: bytes, origin: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Binary-version records -> (images uint8 (N, 3, 32, 32), labels uint8 (N,))."""
    if len(data) == 0 or len(data) % CIFAR_RECORD:
        raise DataError(
            f"{origin} holds {len(data):,} bytes, not a whole number of {CIFAR_RECORD:,}-byte "
            f"CIFAR-10 records (1 label byte + 3,072 pixel bytes): it is truncated or not the "
            f"CIFAR-10 binary version. {_CIFAR_AGAIN}"
        )
    if len(data) == CIFAR_BATCH * CIFAR_RECORD and name in CIFAR_MD5:
        check_hash(data, "md5", CIFAR_MD5[name], origin, _CIFAR_AGAIN)
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, CIFAR_RECORD)
    if records[:, 0].max() > 9:
        raise DataError(
            f"{origin} has a label byte {int(records[:, 0].max())} (CIFAR-10 labels are 0-9): it "
            f"is not the CIFAR-10 binary version. {_CIFAR_AGAIN}"
        )
    return records[:, 1:].reshape(-1, 3, 32, 32), records[:, 0]


def _stack(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[Tensor, Tensor]:
    images = np.ascontiguousarray(np.concatenate([p[0] for p in parts]))
    labels = np.concatenate([p[1] for p in parts]).astype(np.int64)
    return torch.from_numpy(images), torch.from_numpy(labels)


def _idx(path: Path, ndim: int, md5: dict[str, str]) -> np.ndarray:
    """An idx file of unsigned bytes with `ndim` dimensions -> a uint8 array."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except PermissionError:
        raise  # not damage: the loader names the folder to fix
    except _DAMAGED as e:
        raise DataError(
            f"{path} cannot be decompressed ({type(e).__name__}: {e}); it is truncated or "
            f"damaged. {_IDX_AGAIN}"
        ) from e
    header = 4 + 4 * ndim
    if len(raw) < header or raw[:3] != b"\0\0\x08" or raw[3] != ndim:
        found = raw[:4].hex() if len(raw) >= 4 else "nothing"
        raise DataError(
            f"{path} does not start with the idx magic number 0x0000080{ndim} (found {found}): "
            f"it is not an idx file of unsigned bytes with {ndim} dimension(s). {_IDX_AGAIN}"
        )
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    if len(raw) - header != int(np.prod(dims)):
        raise DataError(
            f"{path} should hold {int(np.prod(dims)):,} values after its header "
            f"({' x '.join(map(str, dims))}) but holds {len(raw) - header:,}: it is truncated "
            f"or damaged. {_IDX_AGAIN}"
        )
    stem = path.name.removesuffix(".gz")
    if stem in md5 and dims[0] == IDX_FULL[stem.split("-")[0]]:
        check_hash(raw, "md5", md5[stem], path, _IDX_AGAIN)
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)
