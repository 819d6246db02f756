"""CIFAR-10 ResNets (He et al. 2016, section 4.2) with real pretrained weights, and
torchvision's ImageNet models through its weights API. Loading only: the notebooks teach the
blocks themselves."""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .arguments import check_int
from .data.sets import normalize
from .data.sources import (
    DataError,
    bounded_network,
    data_dir,
    download,
    fetch_url,
    matching_files,
    permission_errors_explained,
    search_roots,
    shown,
)
from .devices import resolve_device
from .settings import get_settings

PRETRAINED_FOLDER = "pretrained/resnet_cifar10"
PRETRAINED_SOURCE = "https://github.com/akamaster/pytorch_resnet_cifar10 (BSD-2)"
PRETRAINED_URL = "https://github.com/akamaster/pytorch_resnet_cifar10/raw/master/pretrained_models/"
PRETRAINED_SHA256 = {  # the published files; each file name carries the first 8 hex digits
    20: "12fca82f0bebc4135bf1f32f6e3710e61d5108578464b84fd6d7f5c1b04036c8",
    32: "d509ac1820d7f25398913559d7e81a13229b1e7adc5648e3bfa5e22dc137f850",
    44: "014dd6541728a1c700b1642ab640e211dc6eb8ed507d70697458dc8f8a0ae2e4",
    56: "4bfd97631478d6b638d2764fd2baff3edb1d7d82252d54439343b6596b9b5367",
}
# The checkpoints were trained on inputs scaled to [0, 1] and normalised with ImageNet's stats.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ZeroPadShortcut(nn.Module):
    """Option-A shortcut: subsample by `stride`, then pad the new channels with zeros (no
    parameters)."""

    def __init__(self, stride: int, extra_channels: int) -> None:
        super().__init__()
        self.stride = stride
        self.extra = extra_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]  # (N, C, H/s, W/s)
        half = self.extra // 2
        return F.pad(x, (0, 0, 0, 0, half, self.extra - half))  # (N, C + extra, H/s, W/s)


class BasicBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN, plus the shortcut, then ReLU."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        if stride != 1 or in_planes != planes:
            self.shortcut: nn.Module = ZeroPadShortcut(stride, planes - in_planes)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """The CIFAR ResNet of depth 6n+2: a 3x3 conv, three stages of n blocks (16, 32, 64
    channels; 32x32, 16x16, 8x8), global average pooling and a linear layer."""

    input_mean = IMAGENET_MEAN
    input_std = IMAGENET_STD

    def __init__(self, depth: int = 20, num_classes: int = 10) -> None:
        super().__init__()
        depth = check_int(depth, "depth", minimum=1)
        num_classes = check_int(num_classes, "num_classes", minimum=1)
        if depth < 8 or (depth - 2) % 6:
            raise ValueError(f"depth must be 6n+2 with n >= 1 (20, 32, 44, 56, 110), got {depth}.")
        n = (depth - 2) // 6
        self.depth = depth
        self.conv1 = nn.Conv2d(3, 16, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = self._stage(16, 16, n, stride=1)
        self.layer2 = self._stage(16, 32, n, stride=2)
        self.layer3 = self._stage(32, 64, n, stride=2)
        self.linear = nn.Linear(64, num_classes)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight)

    @staticmethod
    def _stage(in_planes: int, planes: int, blocks: int, stride: int) -> nn.Sequential:
        layers = [BasicBlock(in_planes, planes, stride)]
        layers += [BasicBlock(planes, planes) for _ in range(blocks - 1)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))  # (N, 16, 32, 32)
        x = self.layer3(self.layer2(self.layer1(x)))  # (N, 64, 8, 8)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)  # (N, 64)
        return self.linear(x)  # (N, classes)

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 images (N, 3, H, W) -> the float input this model expects (/255, normalised)."""
        if images.dtype != torch.uint8:  # floats would be divided by 255 a second time
            raise TypeError(
                f"preprocess takes uint8 images (0-255), got {images.dtype}; for floats in "
                "[0, 1] use helpers.normalize(x, model.input_mean, model.input_std)."
            )
        return normalize(images.float() / 255.0, self.input_mean, self.input_std)


def cifar_resnet(depth: int = 20, num_classes: int = 10) -> CifarResNet:
    """A freshly initialised CIFAR ResNet of `depth` (20, 32, 44, 56, 110, ...).

    Used by notebook 06.
    """
    return CifarResNet(depth, num_classes)


@permission_errors_explained()
def load_pretrained_cifar_resnet(
    depth: int = 20, device: torch.device | str | None = None
) -> CifarResNet:
    """The CIFAR-10 ResNet of `depth` (20, 32, 44 or 56) with its real trained weights, in
    eval mode, read from <data_dir>/pretrained/resnet_cifar10/resnet{depth}-*.th. When the file
    is missing and the course is online, it is downloaded from its public release (bounded in
    time, checked against its published sha256, written atomically).

    Used by notebook 06.
    """
    from .checkpoints import load_state_dict_checked

    if isinstance(depth, bool) or not isinstance(depth, int) or depth not in PRETRAINED_SHA256:
        raise ValueError(
            f"depth must be one of {', '.join(map(str, PRETRAINED_SHA256))} (an int), got "
            f"{depth!r}; cifar_resnet(depth) builds an untrained ResNet of any 6n + 2 depth."
        )
    path = _find_weights(depth) or _download_weights(depth)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except PermissionError:
        raise  # not damage: explained as a permission problem
    except Exception as e:
        raise DataError(
            f"{path} cannot be read as a PyTorch checkpoint ({type(e).__name__}: {e}); it is "
            f"damaged or not a weights file. Delete it and download it again."
        ) from e
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise DataError(f"{path} holds no state_dict; it is not a CIFAR ResNet checkpoint.")
    model = CifarResNet(depth)
    prefix = "module." if any(k.startswith("module.") for k in state) else ""
    for key, value in model.state_dict().items():  # older saves lack BatchNorm's step counter
        if key.endswith("num_batches_tracked") and prefix + key not in state:
            state[prefix + key] = torch.zeros_like(value)
    try:
        load_state_dict_checked(model, state, strip_prefix="module.")
    except Exception as e:
        raise DataError(f"{path} does not fit a ResNet-{depth}:\n{e}") from e
    return model.to(resolve_device(device) if device is not None else "cpu").eval()


def _find_weights(depth: int) -> Path | None:
    for root in search_roots():
        folder = root / PRETRAINED_FOLDER
        matches = matching_files(folder, f"resnet{depth}-*.th")
        if matches:
            return matches[0]
    return None


def _download_weights(depth: int) -> Path:
    """Fetch the published weights of ResNet-`depth`, or say in one error why that failed."""
    folder = data_dir() / PRETRAINED_FOLDER
    how = f"Download them from {PRETRAINED_SOURCE} and put them in <COURSE_DATA_DIR>/{PRETRAINED_FOLDER}/."
    if get_settings().offline:
        raise DataError(f"No weights for ResNet-{depth} in {shown(folder)} (offline mode). {how}")
    name = f"resnet{depth}-{PRETRAINED_SHA256[depth][:8]}.th"

    def fetch(root: Path) -> None:
        target = root / PRETRAINED_FOLDER / name
        fetch_url(PRETRAINED_URL + name, target, "sha256", PRETRAINED_SHA256[depth])

    reason = download(name, fetch)
    path = _find_weights(depth)
    if path is None:
        raise DataError(
            f"No weights for ResNet-{depth} in {shown(folder)}; download failed ({reason}). {how}"
        )
    return path


def load_torchvision_model(name: str = "resnet18") -> tuple[nn.Module, nn.Module]:
    """(model in eval mode with its default ImageNet weights, the matching preprocessing).

    Uses torchvision's weights API; a weights file already in torch's cache loads offline,
    otherwise the download is bounded and any failure raises DataError quickly.

    Used by notebook 06.
    """
    import torchvision

    try:
        weights = torchvision.models.get_model_weights(name).DEFAULT
    except (ValueError, KeyError) as e:
        known = ", ".join(sorted(torchvision.models.list_models(torchvision.models))[:12])
        raise DataError(f"Unknown torchvision model {name!r}; e.g. {known}, ...") from e
    hub_dir = torch.hub.get_dir()
    cached_file = f"{hub_dir}/checkpoints/{weights.url.rsplit('/', 1)[-1]}"
    if get_settings().offline and not os.path.isfile(cached_file):
        raise DataError(
            f"Offline mode and no weights for {name} at {shown(cached_file)}. Go online "
            f"(COURSE_OFFLINE=0), or copy {weights.url} to that path."
        )
    try:
        with bounded_network():
            model = torchvision.models.get_model(name, weights=weights)
    except Exception as e:
        raise DataError(
            f"Could not get the weights for {name} ({type(e).__name__}: {e}). Go online, or "
            f"copy {weights.url} to {shown(cached_file)}."
        ) from e
    return model.eval(), weights.transforms()
