"""CIFAR ResNets: sizes from the paper, option-A shortcuts, loading checkpoints and their errors."""

from __future__ import annotations

import socket

import pytest
import torch

from helpers.data import DataError
from helpers.models import (
    CifarResNet,
    ZeroPadShortcut,
    cifar_resnet,
    load_pretrained_cifar_resnet,
    load_torchvision_model,
)


@pytest.mark.parametrize(
    "depth,millions", [(20, 0.27), (32, 0.46), (44, 0.66), (56, 0.85), (110, 1.7)]
)
def test_parameter_counts_match_the_paper(depth, millions):
    """He et al. 2016, Table 6: 0.27M, 0.46M, 0.66M, 0.85M, 1.7M parameters."""
    count = sum(p.numel() for p in cifar_resnet(depth).parameters())
    digits = 1 if millions >= 1 else 2
    assert round(count / 1e6, digits) == millions, count


def test_forward_shapes_and_depth_rule():
    model = cifar_resnet(20).eval()
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) + 1 == 20, "6n+2 weighted layers: 6n+1 convs and the linear layer"
    with pytest.raises(ValueError, match="6n\\+2"):
        CifarResNet(21)


def test_zero_padding_shortcut_keeps_the_input_and_adds_zero_channels():
    x = torch.randn(2, 16, 8, 8)
    y = ZeroPadShortcut(stride=2, extra_channels=16)(x)  # (2, 32, 4, 4)
    assert y.shape == (2, 32, 4, 4)
    assert torch.equal(y[:, 8:24], x[:, :, ::2, ::2])
    assert y[:, :8].abs().sum() == 0 and y[:, 24:].abs().sum() == 0
    assert not list(ZeroPadShortcut(2, 16).parameters())


def test_preprocess_uses_the_imagenet_statistics():
    model = cifar_resnet(20)
    images = torch.full((1, 3, 32, 32), 255, dtype=torch.uint8)
    x = model.preprocess(images)
    expected = (1 - torch.tensor(model.input_mean)) / torch.tensor(model.input_std)
    assert torch.allclose(x[0, :, 0, 0], expected)


@pytest.fixture
def weights_dir(tmp_path, course_env):
    folder = tmp_path / "data" / "pretrained" / "resnet_cifar10"
    folder.mkdir(parents=True)
    course_env(COURSE_DATA_DIR=str(tmp_path / "data"), COURSE_OFFLINE="1")
    return folder


def save_like_the_published_checkpoints(model: torch.nn.Module, path) -> None:
    """DataParallel keys ('module.' prefix), no BatchNorm step counters, a best_prec1 entry."""
    state = {
        f"module.{k}": v
        for k, v in model.state_dict().items()
        if not k.endswith("num_batches_tracked")
    }
    torch.save({"best_prec1": 90.0, "state_dict": state}, path)


def test_load_pretrained_reads_the_checkpoint_format(weights_dir):
    torch.manual_seed(0)
    source = cifar_resnet(20)
    for m in source.modules():  # non-trivial running statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    save_like_the_published_checkpoints(source, weights_dir / "resnet20-0123abcd.th")
    model = load_pretrained_cifar_resnet(20)
    assert not model.training
    x = torch.randn(4, 3, 32, 32)
    with torch.inference_mode():
        assert torch.allclose(model(x), source.eval()(x), atol=1e-6)


def test_checkpoint_of_another_depth_is_reported(weights_dir):
    save_like_the_published_checkpoints(cifar_resnet(32), weights_dir / "resnet20-0123abcd.th")
    with pytest.raises(DataError, match=r"resnet20-0123abcd\.th does not fit a ResNet-20") as e:
        load_pretrained_cifar_resnet(20)
    assert "layer1.3" in str(e.value), "the unexpected keys are listed"


def test_missing_and_damaged_weights_are_reported(weights_dir):
    with pytest.raises(DataError, match=r"No weights for ResNet-44 .*pretrained/resnet_cifar10"):
        load_pretrained_cifar_resnet(44)
    (weights_dir / "resnet44-deadbeef.th").write_bytes(b"truncated")
    with pytest.raises(DataError, match=r"resnet44-deadbeef\.th cannot be read"):
        load_pretrained_cifar_resnet(44)


def test_torchvision_model_offline_fails_fast_without_network(weights_dir, monkeypatch, tmp_path):
    def refuse(*args, **kwargs):
        raise AssertionError("a socket was opened in offline mode")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    old_hub = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "hub"))
    try:
        with pytest.raises(DataError, match="Offline mode and no weights for resnet18"):
            load_torchvision_model("resnet18")
        with pytest.raises(DataError, match="Unknown torchvision model"):
            load_torchvision_model("resnet19")
    finally:
        torch.hub.set_dir(old_hub)


def test_torchvision_model_loads_offline_from_the_weights_cache(weights_dir, tmp_path):
    import torchvision

    weights = torchvision.models.ResNet18_Weights.DEFAULT
    old_hub = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "hub"))
    try:
        cached = tmp_path / "hub" / "checkpoints" / weights.url.rsplit("/", 1)[-1]
        cached.parent.mkdir(parents=True)
        torch.manual_seed(0)
        reference = torchvision.models.resnet18()
        torch.save(reference.state_dict(), cached)
        model, transforms = load_torchvision_model("resnet18")
        assert not model.training
        x = transforms(torch.randint(0, 256, (3, 300, 260), dtype=torch.uint8))  # (3, 224, 224)
        assert x.shape == (3, 224, 224)
        with torch.inference_mode():
            assert torch.allclose(model(x[None]), reference.eval()(x[None]), atol=1e-5)
    finally:
        torch.hub.set_dir(old_hub)


@pytest.mark.parametrize("bad", [21, 20.0, "20", True, None, 110])
def test_depth_is_checked_before_looking_for_files(weights_dir, bad):
    with pytest.raises(ValueError, match=r"depth must be one of 20, 32, 44, 56 \(an int\), got"):
        load_pretrained_cifar_resnet(bad)


def test_missing_weights_are_downloaded_verified_from_a_loopback_server(
    weights_dir, tmp_path, monkeypatch, serve_folder, course_env
):
    """Online (e.g. on Colab) a missing weights file is fetched from its release, checked
    against the published sha256 and written atomically; a wrong file is refused."""
    import hashlib

    from helpers import models
    from helpers.data import sources

    served = tmp_path / "served"
    served.mkdir()
    torch.manual_seed(1)
    save_like_the_published_checkpoints(cifar_resnet(20), served / "resnet20-0123abcd.th")
    payload = (served / "resnet20-0123abcd.th").read_bytes()
    digest = hashlib.sha256(payload).hexdigest()
    monkeypatch.setattr(models, "PRETRAINED_URL", serve_folder(served))
    monkeypatch.setitem(models.PRETRAINED_SHA256, 20, "0123abcd" + digest[8:])
    course_env(COURSE_OFFLINE="0")
    with pytest.raises(
        DataError, match=r"download failed \(DataError: .*sha256 \w+ differs from the published"
    ):
        load_pretrained_cifar_resnet(20)  # the name matches, the checksum does not
    assert not list(weights_dir.iterdir()), "a refused file is never written"
    monkeypatch.setitem(models.PRETRAINED_SHA256, 20, digest)
    (served / f"resnet20-{digest[:8]}.th").write_bytes(payload)
    assert models._find_weights(20) is None
    sources._failed.clear()  # the failure above is remembered for the session
    model = load_pretrained_cifar_resnet(20)
    written = list(weights_dir.iterdir())
    assert [p.name for p in written] == [f"resnet20-{digest[:8]}.th"]
    assert written[0].read_bytes() == payload
    assert not model.training


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"depth": 20.0}, r"depth must be a whole number \(an int\) >= 1, got 20\.0 \(float\)"),
        ({"depth": "20"}, r"depth must be a whole number \(an int\) >= 1, got '20' \(str\)"),
        ({"num_classes": 0}, r"num_classes must be an int >= 1, got 0"),
        ({"num_classes": True}, r"num_classes must be a whole number .* got True \(bool\)"),
        ({"depth": 21}, r"depth must be 6n\+2 .* got 21"),
    ],
)
def test_cifar_resnet_arguments_are_checked(kwargs, message):
    with pytest.raises((TypeError, ValueError), match=message):
        cifar_resnet(**kwargs)


def test_preprocess_refuses_float_images_it_would_divide_by_255_twice():
    model = cifar_resnet(20)
    with pytest.raises(TypeError, match="preprocess takes uint8 images"):
        model.preprocess(torch.rand(2, 3, 32, 32))
    assert model.preprocess(torch.zeros(2, 3, 32, 32, dtype=torch.uint8)).dtype == torch.float32
