"""The image loaders read every real file layout exactly, cache decodes, download (CIFAR-10's
binary archive, MNIST through torchvision; from a loopback server), stay off the network
offline, and report bad files."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import socket
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers.data import DataError, load_cifar10, load_dataset, load_fashion_mnist, load_mnist
from helpers.data import images as image_module
from helpers.data.sources import shown

CIFAR_PER_BATCH = 20  # tiny batches: 2 images of each class


@pytest.fixture
def env(course_env, tmp_path, monkeypatch):
    """A fresh data directory and cache, offline and in full mode unless a test says else."""
    data = tmp_path / "data"
    data.mkdir()
    course_env(
        COURSE_DATA_DIR=str(data),
        COURSE_CACHE_DIR=str(tmp_path / "cache"),
        COURSE_OFFLINE="1",
        COURSE_FAST="0",
    )
    monkeypatch.setattr(image_module.DEBIAN_FASHION_MNIST, "folder", tmp_path / "no-debian-package")
    return data


# ------------------------------------------------------------ writers of the real formats


def fake_images(n: int, channels: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, channels, size, size), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    rng.shuffle(labels)
    return images, labels


def cifar_batches(seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    return {n: fake_images(CIFAR_PER_BATCH, 3, 32, seed + i) for i, n in enumerate(names)}


def bin_bytes(images: np.ndarray, labels: np.ndarray) -> bytes:
    """Official binary version: per record 1 label byte then 3,072 bytes (R, G, B planes)."""
    return np.concatenate([labels[:, None], images.reshape(len(images), -1)], axis=1).tobytes()


def write_bin_folder(root: Path, batches) -> Path:
    folder = root / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    for name, (images, labels) in batches.items():
        (folder / f"{name}.bin").write_bytes(bin_bytes(images, labels))
    return folder


def tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def write_bin_archive(root: Path, batches) -> Path:
    members = {
        f"cifar-10-batches-bin/{name}.bin": bin_bytes(*arrays) for name, arrays in batches.items()
    }
    members["cifar-10-batches-bin/batches.meta.txt"] = b"airplane\nautomobile\n"
    path = root / "cifar-10-binary.tar.gz"
    path.write_bytes(tar_gz(members))
    return path


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    return header + array.astype(np.uint8).tobytes()


def mnist_files(seed: int = 0) -> dict[str, bytes]:
    """The four gzip'd idx files of an MNIST-like set (30 train, 20 test images)."""
    train_x, train_y = fake_images(30, 1, 28, seed)
    test_x, test_y = fake_images(20, 1, 28, seed + 1)
    plain = {
        "train-images-idx3-ubyte": idx_bytes(train_x[:, 0]),
        "train-labels-idx1-ubyte": idx_bytes(train_y),
        "t10k-images-idx3-ubyte": idx_bytes(test_x[:, 0]),
        "t10k-labels-idx1-ubyte": idx_bytes(test_y),
    }
    return {f"{name}.gz": gzip.compress(data) for name, data in plain.items()}


def write_files(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def expected_split(batches, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    images = np.concatenate([batches[n][0] for n in names])
    labels = np.concatenate([batches[n][1] for n in names])
    return torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64))


# ------------------------------------------------------------ reading every layout exactly


@pytest.mark.parametrize("layout", ["bin_folder", "bin_archive", "bin_tar"])
@pytest.mark.parametrize("split", ["train", "test"])
def test_cifar_layouts_read_back_exactly(env, layout, split):
    batches = cifar_batches()
    if layout == "bin_folder":
        where = write_bin_folder(env, batches)
    elif layout == "bin_archive":
        where = write_bin_archive(env, batches)
    else:  # the archive as it is after gunzip
        archive = write_bin_archive(env, batches)
        where = archive.with_suffix("")
        where.write_bytes(gzip.decompress(archive.read_bytes()))
        archive.unlink()
    ds = load_cifar10(split)
    images, labels = expected_split(batches, split)
    assert ds.images.dtype == torch.uint8 and ds.labels.dtype == torch.int64
    assert torch.equal(ds.images, images) and torch.equal(ds.labels, labels)
    assert ds.classes[0] == "airplane" and ds.classes[9] == "truck"
    assert shown(where) in ds.source and "stand-in" not in ds.source and ds.real


def test_cifar_archive_is_not_extracted_into_the_data_dir(env):
    write_bin_archive(env, cifar_batches())
    load_cifar10("test")
    assert sorted(p.name for p in env.iterdir()) == ["cifar-10-binary.tar.gz"]


@pytest.mark.parametrize("compressed", [True, False])
def test_mnist_idx_read_back_exactly(env, compressed):
    files = mnist_files()
    if not compressed:
        files = {k.removesuffix(".gz"): gzip.decompress(v) for k, v in files.items()}
    write_files(env / "MNIST" / "raw", files)
    ds = load_mnist("test")
    raw = {k.removesuffix(".gz"): v for k, v in mnist_files().items()}
    images = np.frombuffer(gzip.decompress(raw["t10k-images-idx3-ubyte"])[16:], np.uint8)
    labels = np.frombuffer(gzip.decompress(raw["t10k-labels-idx1-ubyte"])[8:], np.uint8)
    assert ds.images.shape == (20, 1, 28, 28) and ds.images.dtype == torch.uint8
    assert torch.equal(ds.images.flatten(), torch.from_numpy(images.copy()))
    assert torch.equal(ds.labels, torch.from_numpy(labels.astype(np.int64)))


def test_fashion_mnist_reads_torchvision_layout_and_debian_package(env, tmp_path, monkeypatch):
    debian = write_files(tmp_path / "debian", mnist_files(seed=5))
    monkeypatch.setattr(image_module.DEBIAN_FASHION_MNIST, "folder", debian)
    ds = load_fashion_mnist("train")
    assert len(ds) == 30 and str(debian) in ds.source and ds.classes[-1] == "Ankle boot"
    write_files(env / "FashionMNIST" / "raw", mnist_files(seed=9))  # the data dir comes first
    ds2 = load_fashion_mnist("train")
    assert shown(env / "FashionMNIST" / "raw") in ds2.source
    assert not torch.equal(ds.images, ds2.images)


def test_fast_mode_takes_a_fixed_class_balanced_subset(course_env, env, monkeypatch):
    write_bin_archive(env, cifar_batches())
    monkeypatch.setitem(image_module.FAST_SIZES, "train", 50)
    course_env(COURSE_FAST="1")
    first, second = load_cifar10("train"), load_cifar10("train")
    assert len(first) == 50 and torch.bincount(first.labels).tolist() == [5] * 10
    assert torch.equal(first.images, second.images)
    assert "50 of 100 images (fast mode, class-balanced)" in first.source
    assert len(load_cifar10("train", fast=False)) == 100


def test_decoded_cache_is_used_and_survives_damage(env, tmp_path):
    write_bin_archive(env, cifar_batches())
    cold = load_cifar10("test")
    assert "decoded cache" not in cold.source
    cached_files = list((tmp_path / "cache" / "decoded").glob("cifar10-test-*.pt"))
    assert len(cached_files) == 1
    warm = load_cifar10("test")
    assert "decoded cache" in warm.source and torch.equal(warm.images, cold.images)
    cached_files[0].write_bytes(b"not a tensor file")  # a damaged cache is rebuilt
    again = load_cifar10("test")
    assert torch.equal(again.images, cold.images) and "decoded cache" not in again.source
    assert not list((tmp_path / "cache" / "decoded").glob("*.tmp"))


def test_cache_is_invalidated_when_the_source_changes(env):
    write_bin_archive(env, cifar_batches(seed=0))
    first = load_cifar10("test")
    write_bin_archive(env, cifar_batches(seed=100))
    second = load_cifar10("test")
    assert "decoded cache" not in second.source
    assert not torch.equal(first.images, second.images)


def test_load_dataset_dispatches_and_rejects_unknown_names(env):
    write_files(env / "MNIST" / "raw", mnist_files())
    assert load_dataset("mnist", "test").name == "MNIST"
    with pytest.raises(DataError, match="cifar10, mnist, fashion_mnist"):
        load_dataset("imagenet")


# ------------------------------------------------------------ bad input -> DataError naming the file


def test_missing_data_dir_is_reported(course_env, env, tmp_path, monkeypatch):
    course_env(COURSE_DATA_DIR=str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match="nowhere.*does not exist"):
        load_cifar10()


def test_truncated_cifar_record(env):
    folder = write_bin_folder(env, cifar_batches())
    data = (folder / "test_batch.bin").read_bytes()
    (folder / "test_batch.bin").write_bytes(data[:-100])
    with pytest.raises(DataError, match=r"test_batch\.bin.*not a whole number"):
        load_cifar10("test")


def test_truncated_cifar_archive(env):
    path = write_bin_archive(env, cifar_batches())
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DataError, match="cifar-10-binary.tar.gz"):
        load_cifar10("train")


def test_cifar_archive_without_the_batches(env):
    (env / "cifar-10-binary.tar.gz").write_bytes(tar_gz({"readme.txt": b"hello"}))
    with pytest.raises(DataError, match=r"cifar-10-binary\.tar\.gz does not contain test_batch"):
        load_cifar10("test")


def test_missing_cifar_batch(env):
    folder = write_bin_folder(env, cifar_batches())
    (folder / "data_batch_3.bin").unlink()
    with pytest.raises(DataError, match=r"data_batch_3\.bin is missing"):
        load_cifar10("train")


def test_full_size_cifar_batch_with_wrong_md5(env):
    folder = env / "cifar-10-batches-bin"
    folder.mkdir()
    (folder / "test_batch.bin").write_bytes(bytes(10_000 * 3073))  # right size, wrong content
    with pytest.raises(DataError, match=r"test_batch\.bin: md5 .* differs from the published"):
        load_cifar10("test")


def test_bad_gzip(env):
    files = mnist_files()
    files["t10k-images-idx3-ubyte.gz"] = files["t10k-images-idx3-ubyte.gz"][:100]
    write_files(env / "MNIST" / "raw", files)
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte\.gz cannot be decompressed"):
        load_mnist("test")


def test_wrong_idx_magic_number(env):
    files = mnist_files()
    files["t10k-labels-idx1-ubyte.gz"] = gzip.compress(b"\x00\x00\x08\x03" + bytes(20))
    write_files(env / "MNIST" / "raw", files)
    with pytest.raises(
        DataError, match=r"t10k-labels-idx1-ubyte\.gz does not start with the idx magic"
    ):
        load_mnist("test")


def test_truncated_idx_payload(env):
    files = mnist_files()
    plain = gzip.decompress(files["t10k-images-idx3-ubyte.gz"])
    files["t10k-images-idx3-ubyte.gz"] = gzip.compress(plain[:-28])
    write_files(env / "MNIST" / "raw", files)
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte\.gz should hold"):
        load_mnist("test")


def test_full_size_mnist_file_with_wrong_md5(env):
    files = mnist_files()
    files["t10k-labels-idx1-ubyte.gz"] = gzip.compress(idx_bytes(np.zeros(10_000, np.uint8)))
    write_files(env / "MNIST" / "raw", files)
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz: md5 .* differs"):
        load_mnist("test")


def test_incomplete_mnist_folder(env):
    files = mnist_files()
    del files["train-labels-idx1-ubyte.gz"]
    write_files(env / "MNIST" / "raw", files)
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte\.gz is missing"):
        load_mnist("train")


def test_unknown_split(env):
    with pytest.raises(DataError, match="split='validation'"):
        load_cifar10("validation")


# ------------------------------------------------------------ network: offline and a loopback download


@pytest.fixture
def no_sockets(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a socket was opened although COURSE_OFFLINE=1")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_offline_opens_no_socket(env, no_sockets):
    from helpers.data import load_sentiment, load_shakespeare

    for loader in (load_cifar10, load_mnist, load_fashion_mnist):
        assert "NOT the real" in loader("test", fast=True).source
    assert isinstance(load_shakespeare(fast=True), str)
    assert "stand-in" in load_sentiment("sst2", "test", fast=True).source


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def loopback_server(tmp_path):
    """An HTTP server on 127.0.0.1 (random port) serving the folder it returns."""
    root = tmp_path / "served"
    root.mkdir()
    handler = lambda *a, **k: _QuietHandler(*a, directory=str(root), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_cifar_download_of_the_binary_archive(course_env, env, loopback_server, monkeypatch):
    served, url = loopback_server
    batches = cifar_batches(seed=3)
    archive = write_bin_archive(served, batches).read_bytes()
    monkeypatch.setattr(image_module, "CIFAR10_URL", url + "cifar-10-binary.tar.gz")
    monkeypatch.setattr(image_module, "CIFAR10_MD5", md5(archive))
    course_env(COURSE_OFFLINE="0")
    ds = load_cifar10("test")
    images, labels = expected_split(batches, "test")
    assert torch.equal(ds.images, images) and torch.equal(ds.labels, labels)
    assert shown(env / "cifar-10-binary.tar.gz") in ds.source and ds.real
    assert sorted(p.name for p in env.iterdir()) == ["cifar-10-binary.tar.gz"]  # nothing else
    assert (env / "cifar-10-binary.tar.gz").read_bytes() == archive
    (env / "cifar-10-binary.tar.gz").unlink()
    monkeypatch.setattr(image_module, "CIFAR10_MD5", "0" * 32)  # a wrong archive is refused
    refused = load_cifar10("test")
    assert "download failed: DataError" in refused.source and not refused.real
    assert not list(env.iterdir()), "nothing is written when the md5 differs"


def test_mnist_download_through_torchvision(course_env, env, loopback_server, monkeypatch):
    from torchvision.datasets import MNIST

    served, url = loopback_server
    files = write_files(served, mnist_files(seed=7))
    monkeypatch.setattr(MNIST, "mirrors", [url])
    resources = [(name, md5((files / name).read_bytes())) for name in sorted(mnist_files())]
    monkeypatch.setattr(MNIST, "resources", resources)
    course_env(COURSE_OFFLINE="0")
    ds = load_mnist("train")
    assert len(ds) == 30 and shown(env / "MNIST" / "raw") in ds.source
    assert load_mnist("train").images.equal(ds.images)


def test_failed_download_falls_through_to_the_stand_in(course_env, env, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(image_module, "CIFAR10_URL", f"http://127.0.0.1:{port}/cifar.tar.gz")
    course_env(COURSE_OFFLINE="0")
    before = socket.getdefaulttimeout()
    ds = load_cifar10("test", fast=True)
    assert "download failed" in ds.source and "NOT the real CIFAR-10" in ds.source
    assert not list(env.iterdir())  # nothing half-written
    assert socket.getdefaulttimeout() == before, "the download's socket timeout is restored"
    again = load_cifar10("train", fast=True)  # a failed network is not retried every call
    assert "not retried" in again.source and "NOT the real CIFAR-10" in again.source


def test_where_from_reports_sources_without_reading(env, no_sockets):
    from helpers.data import where_from

    report = where_from()
    assert "stand-in" in report["cifar10"] and "stand-in" in report["shakespeare"]
    archive = write_bin_archive(env, cifar_batches())
    (env / "MNIST" / "raw").mkdir(parents=True)
    (env / "MNIST" / "raw" / "train-images-idx3-ubyte.gz").write_bytes(b"")
    report = where_from()
    assert report["cifar10"] == str(archive)
    assert report["mnist"].startswith("problem:") and "train-labels" in report["mnist"]
    assert "decoded" not in str(list(env.iterdir()))


def test_download_goes_to_the_cache_when_the_data_dir_is_read_only(
    course_env, env, tmp_path, loopback_server, monkeypatch
):
    from torchvision.datasets import MNIST

    from helpers.data import sources

    served, url = loopback_server
    files = write_files(served, mnist_files(seed=2))
    monkeypatch.setattr(MNIST, "mirrors", [url])
    resources = [(name, md5((files / name).read_bytes())) for name in sorted(mnist_files())]
    monkeypatch.setattr(MNIST, "resources", resources)
    real_access = sources.os.access
    monkeypatch.setattr(
        sources.os, "access", lambda p, mode: False if Path(p) == env else real_access(p, mode)
    )
    course_env(COURSE_OFFLINE="0")
    ds = load_mnist("test")
    fallback = tmp_path / "cache" / "downloads" / "MNIST" / "raw"
    assert shown(fallback) in ds.source and not list(env.iterdir())
    course_env(COURSE_OFFLINE="1")  # found there next time, without the network
    assert torch.equal(load_mnist("test").images, ds.images)
