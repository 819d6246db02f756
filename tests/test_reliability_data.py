"""Faults around the data layer end in one clear message, or in none when only the cache is
hit: a full cache disk, killed cache writes, unreadable folders and files, and arguments a
student gets wrong (each says what it got and what it expects)."""

from __future__ import annotations

import errno
import gzip
import io
import os
import shutil
import socket
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers.checkpoints import TEMP_PREFIX
from helpers.data import (
    DataError,
    ImageSet,
    load_cifar10,
    load_dataset,
    load_mnist,
    load_photo,
    load_sentiment,
    load_shakespeare,
    sources,
    where_from,
)
from helpers.models import load_pretrained_cifar_resnet

PER_BATCH = 20  # tiny CIFAR-10 batches: 2 images of each class
BATCHES = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]


@pytest.fixture
def env(course_env, tmp_path, monkeypatch):
    """A fresh data directory (holding a tiny CIFAR-10 binary folder) and cache, offline,
    full mode."""
    data = tmp_path / "data"
    folder = data / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in BATCHES:
        labels = np.arange(PER_BATCH, dtype=np.uint8)[:, None] % 10
        pixels = rng.integers(0, 256, (PER_BATCH, 3 * 32 * 32), dtype=np.uint8)
        (folder / name).write_bytes(np.concatenate([labels, pixels], axis=1).tobytes())
    course_env(
        COURSE_DATA_DIR=str(data),
        COURSE_CACHE_DIR=str(tmp_path / "cache"),
        COURSE_OFFLINE="1",
        COURSE_FAST="0",
    )
    yield data


def deny(monkeypatch, locked: Path) -> None:
    """Act as if this user had no permission on `locked` (a folder or a file): what is inside
    cannot be looked up, and it cannot be listed, opened or written into. The tests run as
    root, where chmod does not stop reads, so the refusal is simulated at the os level."""
    locked = locked.absolute()

    def inside(path) -> bool:
        return not isinstance(path, int) and locked in Path(os.fsdecode(path)).absolute().parents

    def on_or_inside(path) -> bool:
        return inside(path) or (
            not isinstance(path, int) and Path(os.fsdecode(path)).absolute() == locked
        )

    def wrap(real, blocked):
        def fake(path=".", *args, **kwargs):
            if blocked(path):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fsdecode(path))
            return real(path, *args, **kwargs)

        return fake

    monkeypatch.setattr(os, "stat", wrap(os.stat, inside))
    monkeypatch.setattr(os, "listdir", wrap(os.listdir, on_or_inside))
    monkeypatch.setattr(os, "scandir", wrap(os.scandir, on_or_inside))
    monkeypatch.setattr(os, "mkdir", wrap(os.mkdir, inside))
    monkeypatch.setattr(io, "open", wrap(io.open, on_or_inside))
    monkeypatch.setattr("builtins.open", wrap(open, on_or_inside))


# ------------------------------------------------------------ the decoded-data cache


@pytest.mark.parametrize(
    "failure",
    [
        RuntimeError(
            "[enforce fail at inline_container.cc:672] . PytorchStreamWriter failed writing "
            "file data/0: file write failed"
        ),
        OSError(errno.ENOSPC, "No space left on device"),
    ],
    ids=["torch-enforce-fail", "ENOSPC"],
)
def test_full_cache_disk_warns_once_and_serves_from_memory(env, monkeypatch, capsys, failure):
    expected = load_cifar10("test", fast=False).images  # read before the disk is "full"
    for old in (env.parent / "cache" / "decoded").iterdir():
        old.unlink()

    def full_disk(*args, **kwargs):
        raise failure

    monkeypatch.setattr(torch, "save", full_disk)
    capsys.readouterr()
    test = load_cifar10("test", fast=True)  # each load tries to write its cache file
    train = load_cifar10("train", fast=True)
    assert torch.equal(test.images, expected), "the data itself is served as usual"
    assert len(train) == 5 * PER_BATCH and "decoded cache" not in train.source
    notes = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(notes) == 1, notes
    assert "<cache>/decoded" in notes[0] and "served from memory" in notes[0]
    assert not list((env.parent / "cache" / "decoded").iterdir()), "no temp file left behind"


def test_stale_cache_temp_files_are_removed_fresh_ones_kept(env):
    source = env / "cifar-10-batches-bin" / "test_batch.bin"
    target = sources.cache_path("cifar10-test", [source])
    target.parent.mkdir(parents=True)
    stale = target.parent / f"{TEMP_PREFIX}{target.name}.4242.killed"  # a killed write's
    fresh = target.parent / f"{TEMP_PREFIX}{target.name}.4243.writing"  # another process's
    stale.write_bytes(bytes(1 << 20))
    fresh.write_bytes(bytes(1 << 10))
    two_hours_ago = time.time() - 2 * 3600
    os.utime(stale, (two_hours_ago, two_hours_ago))
    load_cifar10("test")
    assert target.is_file(), "the cache was written"
    assert not stale.exists(), "a temp file older than an hour is removed on the next write"
    assert fresh.exists(), "a fresh temp file may belong to a write in progress"


# ------------------------------------------------------------ unreadable folders and files


def test_unreadable_data_folder_names_it_and_says_what_to_do(env, monkeypatch):
    (env / "pretrained" / "resnet_cifar10").mkdir(parents=True)
    deny(monkeypatch, env)
    loaders = {
        "cifar10": lambda: load_cifar10("test"),
        "mnist": lambda: load_mnist("test"),
        "sentiment": lambda: load_sentiment("sst2"),
        "shakespeare": load_shakespeare,
        "pretrained": lambda: load_pretrained_cifar_resnet(20),
    }
    for name, loader in loaders.items():
        with pytest.raises(DataError) as caught:
            loader()
        message = str(caught.value)
        assert "Permission denied" in message and f"chmod -R u+rwX {env}" in message, name
        assert "COURSE_DATA_DIR" in message, name
        assert caught.value.__cause__ is None and caught.value.__suppress_context__, name


@pytest.mark.parametrize("layout", ["bin folder", "tar.gz archive", "mnist gz"])
def test_unreadable_data_files_are_not_called_damaged(env, monkeypatch, layout):
    folder = env / "cifar-10-batches-bin"
    if layout == "bin folder":
        unreadable, loader = folder / "test_batch.bin", lambda: load_cifar10("test")
    elif layout == "tar.gz archive":
        unreadable, loader = env / "cifar-10-binary.tar.gz", lambda: load_cifar10("test")
        with tarfile.open(unreadable, "w:gz") as tar:
            tar.add(folder, arcname=folder.name)
        shutil.rmtree(folder)
    else:
        raw = env / "MNIST" / "raw"
        raw.mkdir(parents=True)
        for stem, header in (
            ("t10k-images-idx3-ubyte", b"\0\0\x08\x03" + bytes(12)),
            ("t10k-labels-idx1-ubyte", b"\0\0\x08\x01" + bytes(4)),
        ):
            (raw / f"{stem}.gz").write_bytes(gzip.compress(header))
        unreadable, loader = raw / "t10k-images-idx3-ubyte.gz", lambda: load_mnist("test")
    deny(monkeypatch, unreadable)
    with pytest.raises(DataError, match=rf"Permission denied for .*{unreadable.name}") as caught:
        loader()
    assert "damaged" not in str(caught.value) and "truncated" not in str(caught.value)


def test_unreadable_weights_folder_is_not_reported_as_missing_weights(env, monkeypatch):
    folder = env / "pretrained" / "resnet_cifar10"
    folder.mkdir(parents=True)
    (folder / "resnet20-0123abcd.th").write_bytes(b"x")
    deny(monkeypatch, folder)  # Path.glob would see an empty folder
    with pytest.raises(DataError, match=r"Permission denied for .*resnet_cifar10"):
        load_pretrained_cifar_resnet(20)


def test_where_from_reports_an_unreadable_folder_as_a_problem(env, monkeypatch):
    deny(monkeypatch, env)
    report = where_from()
    assert report["cifar10"].startswith("problem: Permission denied")
    assert report["pretrained CIFAR ResNets"].startswith("problem: Permission denied")


def test_unwritable_download_folder_is_one_message(course_env, env, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a download was tried although there is nowhere to put it")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(sources.os, "access", lambda path, mode: False)  # data dir read-only
    cache = tmp_path / "cache"
    cache.write_text("a file where the cache folder should be")
    course_env(COURSE_OFFLINE="0")
    with pytest.raises(DataError, match=r"Nowhere to download to: .*COURSE_CACHE_DIR"):
        load_mnist("test")
    cache.unlink()
    deny(monkeypatch, cache)
    with pytest.raises(DataError, match=r"Permission denied for .*cache.*COURSE_CACHE_DIR"):
        load_mnist("test")


def test_data_dir_that_is_a_file_is_one_message(course_env, env, tmp_path, monkeypatch):
    afile = tmp_path / "data.txt"
    afile.write_text("not a folder")
    course_env(COURSE_DATA_DIR=str(afile))
    for loader in (load_cifar10, load_shakespeare, lambda: load_sentiment("sst2")):
        with pytest.raises(DataError, match=r"data\.txt is a file, not a folder"):
            loader()


# ------------------------------------------------------------ arguments


@pytest.mark.parametrize("bad", ["no", 0, 1, "False"])
def test_fast_must_be_true_false_or_none(env, bad):
    with pytest.raises(TypeError, match=r"fast must be True, False or None, got .*"):
        load_cifar10("test", fast=bad)
    with pytest.raises(TypeError, match=r"fast must be True, False or None"):
        load_sentiment("sst2", fast=bad)


def test_dataset_name_that_is_not_a_string(env):
    with pytest.raises(DataError, match=r"got None; the known names are: cifar10, mnist"):
        load_dataset(None)


def test_photo_gray_must_be_a_bool():
    with pytest.raises(TypeError, match=r"gray must be True or False, got 'yes' \(str\)"):
        load_photo("camera", gray="yes")


def _toy_set(n_per_class: int = 10) -> ImageSet:
    labels = torch.arange(3).repeat_interleave(n_per_class)
    images = torch.arange(len(labels), dtype=torch.uint8).view(-1, 1, 1, 1).expand(-1, 1, 2, 2)
    return ImageSet("toy", images.contiguous(), labels, ["a", "b", "c"], "toy")


@pytest.mark.parametrize(
    "val_size, message",
    [
        (0.2, r"the fraction 0.2; for 20% pass round\(0.2 \* len\(ds\)\) = 6"),
        (6.0, r"val_size must be a whole number \(an int\) >= 1, got 6.0 \(float\)"),
        (True, r"val_size must be a whole number \(an int\) >= 1, got True \(bool\)"),
        (0, r"val_size must be an int >= 1, got 0"),
    ],
)
def test_split_sizes_are_counts(val_size, message):
    with pytest.raises((TypeError, ValueError), match=message):
        _toy_set().split(val_size)
    with pytest.raises(ValueError, match=r"seed must be an int >= 0, got -1"):
        _toy_set().split(6, seed=-1)


def test_subset_takes_positions_or_a_mask_never_truncated_floats():
    ds = _toy_set()
    picked = ds.subset(ds.labels == 2)  # a mask picks those examples, not positions 0 and 1
    assert picked.labels.tolist() == [2] * 10
    with pytest.raises(ValueError, match=r"indices must be ints .* got float64"):
        ds.subset([0.5, 1.5])
    with pytest.raises(ValueError, match=r"index 30 is outside this set of 30 examples"):
        ds.subset([0, 30])
    with pytest.raises(ValueError, match=r"one entry per example \(30\); got shape \(3,\)"):
        ds.subset(torch.tensor([True, False, True]))


def test_download_from_a_server_that_never_answers_gives_up(course_env, env, monkeypatch, capsys):
    from helpers.data import text as text_module

    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/input.txt"
        monkeypatch.setattr(text_module, "SHAKESPEARE_URL", url)
        monkeypatch.setattr(sources, "NETWORK_TIMEOUT_S", 0.5)
        course_env(COURSE_OFFLINE="0")
        started = time.perf_counter()
        text = load_shakespeare(fast=True)
    assert time.perf_counter() - started < 30
    line = capsys.readouterr().out
    assert "download failed" in line and "timed out" in line and "NOT the real text" in line
    assert len(text) == 200_000, "the stand-in play is served instead"
