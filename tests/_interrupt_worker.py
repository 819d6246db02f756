"""Train a tiny model slowly with checkpoints, so that tests/test_interrupt.py can kill it.

Usage: python tests/_interrupt_worker.py CHECKPOINT_PATH EPOCHS SECONDS_PER_STEP
The model, data and loaders are those of `tiny_run()`, which the test reuses in-process.
"""

from __future__ import annotations

import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

from helpers.loaders import DeviceLoader
from helpers.training import fit


def tiny_run():
    """(model, train loader, val loader), the same on every call."""
    g = torch.Generator().manual_seed(0)
    y = torch.arange(120) % 3
    x = torch.tensor([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])[y] + 0.6 * torch.randn(
        120, 2, generator=g
    )
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Dropout(0.1), nn.ReLU(), nn.Linear(8, 3))
    cpu = torch.device("cpu")
    train = DeviceLoader(x, y, batch_size=12, device=cpu, seed=0)  # 10 steps per epoch
    val = DeviceLoader(x[:60], y[:60], batch_size=60, shuffle=False, device=cpu)
    return model, train, val


def slow_loss(delay: float):
    def loss_fn(out, y):
        if torch.is_grad_enabled():
            time.sleep(delay)
        return F.cross_entropy(out, y)

    return loss_fn


if __name__ == "__main__":
    torch.set_num_threads(1)
    path, epochs, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    model, train, val = tiny_run()
    fit(
        model,
        train,
        val,
        epochs=epochs,
        loss_fn=slow_loss(delay),
        checkpoint_path=path,
        resume=True,
        device="cpu",
        seed=0,
        progress=False,
    )
