"""Images per second: DeviceLoader (crop + flip + normalise on the device) vs a torchvision
DataLoader with PIL transforms, one full epoch of CIFAR-shaped uint8 images each.

    python benchmarks/loader_throughput.py            # 50,000 images, batch 512
    python benchmarks/loader_throughput.py --n 5000   # a quick look

Random pixels are fine: neither loader looks at the content. Prints a markdown table and the
machine it ran on.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from helpers.loaders import DeviceLoader

MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


class PilImages(Dataset):
    """What torchvision's CIFAR10 does per item: numpy HWC -> PIL image -> transforms."""

    def __init__(self, images_hwc: np.ndarray, labels: np.ndarray, transform) -> None:
        self.images, self.labels, self.transform = images_hwc, labels, transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        return self.transform(Image.fromarray(self.images[i])), int(self.labels[i])


def one_epoch(loader, device: torch.device) -> float:
    """Seconds for one pass, with every batch on `device` (as training would need it)."""
    start = time.perf_counter()
    n = 0
    for x, y in loader:
        x = x.to(device, non_blocking=True)
        n += len(y)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return n / (time.perf_counter() - start)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    args = parser.parse_args()

    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (args.n, 3, 32, 32), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, 10, (args.n,), generator=g)
    augment = transforms.Compose(
        [
            transforms.RandomCrop(32, padding=4),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize(MEAN, STD),
        ]
    )
    dataset = PilImages(images.permute(0, 2, 3, 1).numpy(), labels.numpy(), augment)

    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    rows: list[tuple[str, float]] = []
    threads = torch.get_num_threads()
    for device in devices:
        loader = DeviceLoader(
            images,
            labels,
            batch_size=args.batch_size,
            augment=True,
            mean=MEAN,
            std=STD,
            device=device,
            seed=0,
        )
        if device.type == "cuda":  # warm-up: CUDA context and kernels
            one_epoch(
                DeviceLoader(
                    images[:4096],
                    labels[:4096],
                    batch_size=args.batch_size,
                    augment=True,
                    mean=MEAN,
                    std=STD,
                    device=device,
                ),
                device,
            )
        for n_threads in sorted({threads, 1}, reverse=True) if device.type == "cpu" else [threads]:
            torch.set_num_threads(n_threads)
            rate = one_epoch(loader, device)
            torch.set_num_threads(threads)
            where = f"{device.type}, {n_threads} torch thread{'s' if n_threads > 1 else ''}"
            rows.append((f"DeviceLoader ({where}): crop+flip+normalise on the device", rate))
    target = devices[-1]
    dataloader_rates = []
    for workers in args.workers:
        loader = DataLoader(
            dataset,
            batch_size=args.batch_size,
            shuffle=True,
            num_workers=workers,
            pin_memory=target.type == "cuda",
        )
        rate = one_epoch(loader, target)
        dataloader_rates.append(rate)
        rows.append(
            (f"DataLoader + PIL RandomCrop/Flip/ToTensor/Normalize, num_workers={workers}", rate)
        )

    best_dataloader = max(dataloader_rates)
    print(f"{args.n:,} CIFAR-shaped uint8 images, batch {args.batch_size}, one epoch each\n")
    print("| setting | images/s | speed-up vs the faster DataLoader |")
    print("|---|---:|---:|")
    for name, rate in rows:
        print(f"| {name} | {rate:,.0f} | {rate / best_dataloader:.1f}x |")
    gpu = f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"\nmachine: {cpu_model()}, {os.cpu_count()} cores{gpu}; torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; load average at the end {load:.1f}"
    )


if __name__ == "__main__":
    main()
