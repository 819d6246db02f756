"""Training on several processes at once (data parallelism) with PyTorch's own tools.

Launch a script from a terminal with `torchrun`, e.g. on a machine with 4 GPUs:

    torchrun --standalone --nproc_per_node 4 train.py

torchrun starts 4 copies of `train.py` and tells each its place in environment variables:
RANK (0..3), LOCAL_RANK (its GPU on this machine) and WORLD_SIZE (4). When `fit` sees
WORLD_SIZE > 1 (or is called with `distributed=True`) it uses the functions below:

1. `setup`: join the process group (NCCL between GPUs, gloo between CPU processes), one GPU
   per process.
2. `shard`: give each process its own part of the training set, so that one epoch still
   visits every sample once.
3. `wrap`: wrap the model in `DistributedDataParallel` (DDP). During every backward pass DDP
   averages the gradients of all processes (an all-reduce, bucket by bucket while the backward
   pass is still running), so every copy of the model takes the same step and the copies stay
   identical.
4. `all_reduce_sums`: add up the loss and accuracy counts of all processes, so the history
   shows the metrics of the whole set, not of one shard.
5. `is_main` / `barrier`: only rank 0 prints, shows progress and writes checkpoints; the
   others wait for it.

BatchNorm: each process normalises with the statistics of its own batch (B samples, not
B x WORLD_SIZE), and DDP copies rank 0's running statistics to the others at every forward
pass. That is PyTorch's default and fine for batches of 32 or more per process. For small
per-process batches on GPUs, convert the model before `fit`:
`model = nn.SyncBatchNorm.convert_sync_batchnorm(model)` (SyncBatchNorm needs CUDA; it
computes the statistics over all processes, at the cost of one more all-reduce per layer).

Each function below is a few lines around `torch.distributed` and DDP, which do all the
communication.
"""

from __future__ import annotations

import atexit
import os
import re
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler

__all__ = [
    "launched_by_torchrun",
    "wanted",
    "setup",
    "local_device",
    "is_active",
    "rank",
    "world_size",
    "is_main",
    "barrier",
    "wrap",
    "shard",
    "set_epoch",
    "same_loader_state",
    "all_reduce_sums",
    "broadcast_buffers",
    "lost_contact",
    "first_reason",
]


def launched_by_torchrun() -> bool:
    """True in a process that torchrun started together with at least one other."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def wanted(distributed: bool | None) -> bool:
    """`fit(distributed=...)`: None = yes when launched by torchrun with several processes,
    True = yes (also for one process; an error when not launched by torchrun), False = no
    (each process trains alone)."""
    if distributed is None:
        return launched_by_torchrun()
    if distributed and "WORLD_SIZE" not in os.environ and not is_active():
        raise RuntimeError(
            "distributed=True, but this process was not started by torchrun (WORLD_SIZE is not "
            "set). Launch the script from a terminal with "
            "`torchrun --standalone --nproc_per_node 2 script.py`, or leave distributed=None."
        )
    return bool(distributed)


def local_device(device: torch.device) -> torch.device:
    """Under torchrun, "cuda" (no index) means this process's own GPU, cuda:LOCAL_RANK."""
    local = os.environ.get("LOCAL_RANK")
    if device.type != "cuda" or device.index is not None or local is None:
        return device
    if int(local) >= torch.cuda.device_count():
        raise RuntimeError(
            f"torchrun started process {local} on this machine, but it has only "
            f"{torch.cuda.device_count()} GPU(s): start at most one process per GPU "
            "(--nproc_per_node), or train on the CPU with device='cpu'."
        )
    torch.cuda.set_device(int(local))  # from now on "cuda" means this GPU in this process
    return torch.device("cuda", int(local))


def setup(device: torch.device) -> torch.device:
    """Join the process group (unless the script already did) and return this process's
    device: NCCL for GPUs, gloo for CPUs."""
    device = local_device(device)
    if device.type not in ("cuda", "cpu"):
        raise RuntimeError(
            f"distributed training runs on CUDA GPUs or on CPUs, not on {device.type}: "
            "pass device='cpu' or launch on a machine with NVIDIA GPUs."
        )
    if not is_active():
        # torchrun's environment variables say where rank 0 listens and how many join.
        # To choose another backend or timeout, call dist.init_process_group before fit.
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        atexit.register(_leave)
    return device


def _leave() -> None:
    if is_active():
        dist.destroy_process_group()


def is_active() -> bool:
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    """This process's number, 0..world_size()-1 (0 when not distributed)."""
    return dist.get_rank() if is_active() else 0


def world_size() -> int:
    """How many processes train together (1 when not distributed)."""
    return dist.get_world_size() if is_active() else 1


def is_main() -> bool:
    """True in the process that prints and saves: rank 0, or the only process."""
    return rank() == 0


def barrier() -> None:
    """Wait until every process has got here (e.g. until rank 0 has saved a checkpoint)."""
    if is_active():
        dist.barrier()


def wrap(model: nn.Module, device: torch.device) -> DistributedDataParallel:
    """The model wrapped in DDP: same forward, gradients averaged over all processes.

    Wrapping copies rank 0's weights and buffers to every process, so all start equal.
    """
    gpu = [device.index] if device.type == "cuda" else None  # None: CPU processes
    return DistributedDataParallel(model, device_ids=gpu)


def shard(loader: Any, training: bool) -> Any:
    """This process's part of `loader`.

    A `DeviceLoader` is split with `DeviceLoader.shard` (training shards padded to equal
    length, so every process takes the same number of steps). A `DataLoader` must already
    have a `DistributedSampler` when it is the training set. A validation loader that is not
    split is scored whole by every process: the summed counts still give its mean.
    """
    from .loaders import DeviceLoader

    if isinstance(loader, DeviceLoader):
        return loader.shard(rank(), world_size(), pad=training)
    if not training:
        return loader
    if isinstance(loader, DataLoader) and isinstance(loader.sampler, DistributedSampler):
        return loader
    raise TypeError(
        "in distributed training every process must read its own part of the training set, "
        f"but fit cannot split a {type(loader).__name__}. Use a DeviceLoader (fit splits it), "
        "or DataLoader(dataset, batch_size=..., sampler=DistributedSampler(dataset))."
    )


def set_epoch(loader: Any, epoch: int) -> None:
    """Tell a DataLoader's DistributedSampler which epoch starts: every process then shuffles
    with the same seed + epoch and takes its own part of one permutation. (A sharded
    DeviceLoader needs nothing: all processes draw from generators in the same state.)"""
    sampler = getattr(loader, "sampler", None)
    if isinstance(sampler, DistributedSampler):
        sampler.set_epoch(epoch)


def same_loader_state(loader: Any) -> None:
    """Give every process rank 0's random state of `loader` (a DeviceLoader), so that all of
    them draw the same permutation each epoch even if a script iterated it on one rank only."""
    if not hasattr(loader, "load_state_dict"):
        return
    state = [loader.state_dict()]
    dist.broadcast_object_list(state, src=0)
    loader.load_state_dict(state[0])


def all_reduce_sums(values: list[float], device: torch.device) -> list[float]:
    """Each value summed over all processes (e.g. [loss sum, samples, correct, labelled])."""
    totals = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(totals, op=dist.ReduceOp.SUM)
    return totals.tolist()


def broadcast_buffers(model: nn.Module) -> None:
    """Copy rank 0's buffers (BatchNorm running statistics) to every process, so that all of
    them evaluate and keep the model rank 0 saves. (The weights are equal already.)"""
    for buffer in model.buffers():
        dist.broadcast(buffer, src=0)


LOST = ("connection reset", "connection closed", "broken pipe", "timed out", "timeout")


def lost_contact(exc: BaseException) -> bool:
    """Whether `exc` means another process stopped answering (it crashed, was killed, ran
    out of memory or hangs): NCCL raises DistError, gloo a RuntimeError saying so."""
    text = str(exc).lower()
    return isinstance(exc, dist.DistError) or ("gloo" in text and any(s in text for s in LOST))


def first_reason(exc: BaseException) -> str:
    """The first sentence of a communication error, without gloo's source-file prefix."""
    line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    line = re.sub(r"^\[[^\]]*\.(cc|cpp|h):\d+\]\s*", "", line)  # "[.../pair.cc:545] "
    return line.split(". ")[0][:200]
