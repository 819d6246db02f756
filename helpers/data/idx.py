"""Reader for the idx format of MNIST and Fashion-MNIST (gzip-compressed or plain)."""

from __future__ import annotations

import gzip
import hashlib
import zlib
from pathlib import Path

import numpy as np

from .errors import DataError

# md5 of the *uncompressed* MNIST files (published; the .gz files differ between mirrors).
MNIST_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
FULL_COUNTS = {"train": 60_000, "t10k": 10_000}


def find_idx(folder: Path, stem: str) -> Path | None:
    """`stem` (plain) or `stem.gz` in `folder`, whichever exists (plain first)."""
    for name in (stem, f"{stem}.gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def read_idx(path: Path, ndim: int, known_md5: dict[str, str] | None = None) -> np.ndarray:
    """An idx file of unsigned bytes with `ndim` dimensions -> a uint8 array."""
    redo = "Delete it and download the dataset again (or fix COURSE_DATA_DIR)."
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                raw = f.read()
        else:
            raw = path.read_bytes()
    except PermissionError:
        raise  # not damage: the loader names the folder to fix
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(
            f"{path} cannot be decompressed ({type(e).__name__}: {e}); it is truncated or "
            f"damaged. {redo}"
        ) from e
    header = 4 + 4 * ndim
    if len(raw) < header or raw[:2] != b"\0\0" or raw[2] != 0x08 or raw[3] != ndim:
        found = raw[:4].hex() if len(raw) >= 4 else "nothing"
        raise DataError(
            f"{path} does not start with the idx magic number 0x0000080{ndim} (found {found}): "
            f"it is not an idx file of unsigned bytes with {ndim} dimension(s). {redo}"
        )
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    expected = int(np.prod(dims))
    if len(raw) - header != expected:
        raise DataError(
            f"{path} should hold {expected:,} values after its header ({' x '.join(map(str, dims))}) "
            f"but holds {len(raw) - header:,}: it is truncated or damaged. {redo}"
        )
    stem = path.name.removesuffix(".gz")
    full = FULL_COUNTS.get(stem.split("-")[0])
    if known_md5 and stem in known_md5 and dims[0] == full:
        actual = hashlib.md5(raw).hexdigest()
        if actual != known_md5[stem]:
            raise DataError(
                f"{path}: md5 {actual} of its contents differs from the published "
                f"{known_md5[stem]}; the file is damaged. {redo}"
            )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)
