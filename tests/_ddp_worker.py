"""Train a small CNN with `helpers.fit`, alone or as one of several torchrun processes.

    python tests/_ddp_worker.py OUT_DIR BATCH_SIZE EPOCHS [--resume-to EPOCHS] [--crash-at STEP]
    torchrun --standalone --nproc_per_node 2 tests/_ddp_worker.py OUT_DIR BATCH_SIZE EPOCHS ...

fit writes the checkpoint OUT_DIR/run.pt; at the end every process writes
OUT_DIR/result_rank{R}.pt (its final weights and history). --resume-to E: then build
everything anew and continue to epoch E with fit(..., resume=True), as a relaunch would.
--crash-at STEP: rank 1 exits abruptly (os._exit(1), like a process the system killed) at its
STEP-th training step, counted over all epochs. tests/test_distributed.py runs `train`
in-process for the single-process reference.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from helpers.checkpoints import save_checkpoint
from helpers.loaders import DeviceLoader
from helpers.training import fit

N_TRAIN, N_VAL = 256, 101  # 101: the two validation parts differ in size (51 and 50)


def data() -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 images (N, 1, 12, 12) of 4 classes: a bright square in one of four corners."""
    g = torch.Generator().manual_seed(0)
    n = N_TRAIN + N_VAL
    labels = torch.arange(n) % 4
    images = torch.randint(0, 90, (n, 1, 12, 12), generator=g)
    for k in range(4):
        r, c = divmod(k, 2)
        images[labels == k, :, 6 * r : 6 * r + 5, 6 * c : 6 * c + 5] += 150
    return images.to(torch.uint8), labels


def small_cnn() -> nn.Module:
    """No BatchNorm: with it, B samples per process would not compute what 2B in one do."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),  # (N, 8, 12, 12)
        nn.ReLU(),
        nn.MaxPool2d(2),  # (N, 8, 6, 6)
        nn.Conv2d(8, 16, 3, padding=1),  # (N, 16, 6, 6)
        nn.ReLU(),
        nn.MaxPool2d(2),  # (N, 16, 3, 3)
        nn.Flatten(),  # (N, 144)
        nn.Linear(144, 4),  # (N, 4)
    )


def train(
    out_dir: Path, batch_size: int, epochs: int, resume: bool = False, crash_at: int | None = None
):
    """fit the small CNN (checkpoint out_dir/run.pt); returns (model, history)."""
    images, labels = data()
    cpu = torch.device("cpu")
    train_loader = DeviceLoader(
        images[:N_TRAIN], labels[:N_TRAIN], batch_size, augment=True, crop_padding=2,
        mean=[0.4], std=[0.3], device=cpu, seed=3,
    )  # fmt: skip
    val_loader = DeviceLoader(
        images[N_TRAIN:], labels[N_TRAIN:], 16, shuffle=False, mean=[0.4], std=[0.3], device=cpu
    )
    model = small_cnn()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    steps = 0

    def loss_fn(out, y):
        nonlocal steps
        if torch.is_grad_enabled():
            steps += 1
            if crash_at is not None and steps == crash_at and os.environ.get("RANK") == "1":
                print(f"rank 1: simulated crash at training step {steps}", flush=True)
                os._exit(1)
        return F.cross_entropy(out, y)

    history = fit(
        model,
        train_loader,
        val_loader,
        epochs=epochs,
        optimizer=optimizer,
        scheduler=scheduler,
        loss_fn=loss_fn,
        device=cpu,
        checkpoint_path=out_dir / "run.pt",
        resume=resume,
        progress=False,
    )
    return model, history


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("batch_size", type=int)
    parser.add_argument("epochs", type=int)
    parser.add_argument("--resume-to", type=int)
    parser.add_argument("--crash-at", type=int)
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.crash_at is not None:  # the test's own process group: a short timeout
        import torch.distributed as dist

        dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=20))
    model, history = train(args.out_dir, args.batch_size, args.epochs, crash_at=args.crash_at)
    if args.resume_to is not None:  # a new model, optimizer and loader: all from the checkpoint
        model, history = train(args.out_dir, args.batch_size, args.resume_to, resume=True)
    rank = os.environ.get("RANK", "0")
    save_checkpoint(
        args.out_dir / f"result_rank{rank}.pt", model=model.state_dict(), history=history.records
    )


if __name__ == "__main__":
    sys.exit(main())
