"""Time to the first CIFAR-10 batch from each source, printed as a markdown table.

    COURSE_DATA_DIR=/path/with/cifar-10-binary.tar.gz python benchmarks/data_first_batch.py

Sources: the archive decoded cold (an empty cache), the decoded cache warm, and the
stand-in (offline, empty data directory), generated cold and then read from the cache. "First batch" = the loader's call plus
one normalised float batch of 256 images. Each row is the median of `--repeats` runs.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

from helpers import settings
from helpers.data import load_cifar10


def first_batch_seconds(fast: bool) -> tuple[float, str]:
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        ds = load_cifar10("train", fast=fast)
    x = ds.subset(range(256)).float(normalize=True)  # (256, 3, 32, 32)
    assert x.shape == (256, 3, 32, 32) and torch.isfinite(x).all()
    return time.perf_counter() - start, ds.source


def configure(data_dir: Path, cache_dir: Path, offline: bool) -> None:
    os.environ.update(
        COURSE_DATA_DIR=str(data_dir), COURSE_CACHE_DIR=str(cache_dir),
        COURSE_OFFLINE="1" if offline else "0",
    )  # fmt: skip
    settings.reload_settings()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    data_dir = settings.get_settings().data_dir
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "empty").mkdir()
        for fast in (True, False):
            mode = "fast" if fast else "full"
            cold, warm, standin, standin_warm = [], [], [], []
            for r in range(args.repeats):
                configure(data_dir, tmp / f"cache-{mode}-{r}", offline=True)
                seconds, source = first_batch_seconds(fast)
                if "stand-in" in source:
                    raise SystemExit(f"No CIFAR-10 in {data_dir}; set COURSE_DATA_DIR. ({source})")
                cold.append(seconds)
                seconds, source = first_batch_seconds(fast)
                assert "decoded cache" in source
                warm.append(seconds)
                configure(tmp / "empty", tmp / f"cache-standin-{mode}-{r}", offline=True)
                standin.append(first_batch_seconds(fast)[0])
                standin_warm.append(first_batch_seconds(fast)[0])
            where = source.split(" from ")[-1].removesuffix(" (decoded cache)")
            n = "5,000" if fast else "50,000"
            rows += [
                (f"archive, cold (decode + cache write): {Path(where).name}", mode, n, cold),
                ("decoded cache, warm", mode, n, warm),
                ("stand-in, generated (cold)", mode, n, standin),
                ("stand-in, from the cache (warm)", mode, n, standin_warm),
            ]
    print(f"CIFAR-10 train, time to first batch of 256 (median of {args.repeats}), "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")  # fmt: skip
    print("| source | mode | images | seconds |")
    print("|---|---|---:|---:|")
    for source, mode, n, times in rows:
        print(f"| {source} | {mode} | {n} | {statistics.median(times):.2f} |")


if __name__ == "__main__":
    main()
