"""`fit`, `evaluate` and `predict`: the training loop every notebook shares.

Read `fit` from top to bottom: it is the loop from the lectures (forward, loss, backward,
step) plus the plumbing a real run needs: a history of every epoch, checkpoints you can resume
from (`Checkpointer`), a guard against NaN or exploding losses, checks that turn common
mistakes (a model whose output does not fit the labels, a device this machine lacks, a
checkpoint folder it cannot write) into one clear message, and on a GPU mixed precision and
channels_last.

Launched with `torchrun --nproc_per_node N script.py`, the same `fit` trains on N processes
(one per GPU) with DistributedDataParallel: each process reads its own part of the data, the
gradients are averaged over all of them, and only rank 0 prints and saves. The few lines that
do this are marked `ddp.` below; `helpers/distributed.py` explains each step.

Accuracy convention: it is computed when the targets are integer class labels and the class
dimension of the outputs is dim 1, the layout `F.cross_entropy` expects: outputs (N, C) with
targets (N,), or outputs (N, C, T) with targets (N, T) for sequences. Targets equal to the
loss's `ignore_index` (cross_entropy's default -100, or the one given to
nn.CrossEntropyLoss(ignore_index=...) or functools.partial(F.cross_entropy, ignore_index=...))
are left out. Otherwise (float targets, as in an autoencoder) the accuracy is None.
"""

from __future__ import annotations

import functools
import math
import operator
import os
import random
import re
import sys
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import distributed as ddp
from .arguments import check_flag, check_int, check_model, check_positive
from .checkpoints import (
    CheckpointError,
    check_writable,
    load_checkpoint,
    load_state_dict_checked,
    save_checkpoint,
)
from .devices import autocast_dtype, resolve_device, seed_everything
from .loaders import DeviceLoader
from .settings import get_settings

__all__ = ["History", "TrainingError", "Checkpointer", "fit", "evaluate", "predict", "best_path"]

COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds")
DEFAULT_LR = 1e-3  # the learning rate of fit's default optimizer, Adam
EXPLODED = 1e4  # a training loss this many times above its start has diverged
IGNORE_INDEX = -100  # the target value F.cross_entropy leaves out unless told another

LossFn = Callable[[Tensor, Tensor], Tensor]


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. the loss became NaN, infinite or exploded).

    Used by notebook 05.
    """


# ---------------------------------------------------------------- the loop


def fit(
    model: nn.Module,
    train: Iterable,
    val: Iterable | None = None,
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer | None = None,
    lr: float | None = None,
    loss_fn: LossFn = F.cross_entropy,
    scheduler: Any = None,
    device: torch.device | str | None = None,
    checkpoint_path: str | os.PathLike | None = None,
    resume: bool = False,
    overwrite: bool = False,
    amp: bool | None = None,
    channels_last: bool | None = None,
    grad_clip: float | None = None,
    progress: bool | None = None,
    seed: int | None = None,
    restore_best: bool = False,
    verbose: bool = True,
    distributed: bool | None = None,
) -> History:
    """Train `model` for `epochs` epochs on `train` (batches of (x, y)); returns the `History`.

    optimizer: default Adam(lr), lr default 1e-3 (lr= with your own optimizer is refused: set
    the rate when you build it). scheduler: stepped once per epoch (ReduceLROnPlateau gets the
    validation loss) and built on fit's optimizer; may also be a function optimizer -> scheduler
    (needed with the default Adam, which you do not hold). checkpoint_path: after every
    epoch the full state is saved there (atomically) and the best epoch's weights next to it
    (run.pt -> run.best.pt); resume=True continues from it. A path that already holds a run is
    never replaced silently: pass resume=True, overwrite=True or another path. seed: when
    given, everything is seeded first, a DeviceLoader's order and augmentation too (the
    model's initial weights were drawn when it was built: seed before building it).
    amp / channels_last: None = on for CUDA. progress: None = `COURSE_PROGRESS` (a bar in a
    notebook or terminal). verbose: one line per epoch. restore_best: end with the best
    epoch's weights instead of the last.

    distributed: None = on when the script was launched by `torchrun` with several processes
    (WORLD_SIZE > 1), True = on (an error otherwise), False = off. When on, the model is
    wrapped in DistributedDataParallel (gradients averaged over all processes), each process
    trains on its own part of `train` (a DeviceLoader is split here; a DataLoader needs a
    DistributedSampler, whose `set_epoch` is called every epoch), the history holds the
    metrics of all parts together, and only rank 0 prints, shows progress and writes the
    checkpoint, which every process loads on resume=True. BatchNorm stays per process (see
    `helpers.distributed`). Every process returns the same history and the same model.

    Before the first epoch the arguments are checked (epochs a whole number >= 0, lr and
    grad_clip > 0, a device this machine has, an optimizer of this model's parameters, a loss
    function and a scheduler of that optimizer) and the checkpoint folder is probed for writing;
    each fault stops with one message.

    Used by notebooks 00, 02, 03, 04, 05, 06, 07, 08.
    """
    flags = dict(resume=resume, overwrite=overwrite, restore_best=restore_best, verbose=verbose)
    _check_fit_arguments(
        model, train, val, optimizer, loss_fn, epochs, lr, grad_clip, checkpoint_path, flags
    )
    if seed is not None:
        _seed(seed, train)
    distributed = ddp.wanted(distributed)
    device = ddp.setup(resolve_device(device)) if distributed else resolve_device(device)
    main = not distributed or ddp.is_main()  # only the main process prints and saves
    verbose = verbose and main
    how = _How.choose(device, loss_fn, amp, channels_last, distributed)
    how.place(model)
    optimizer = optimizer or torch.optim.Adam(
        model.parameters(), lr=DEFAULT_LR if lr is None else lr
    )
    scheduler = _make_scheduler(scheduler, optimizer)
    scaler = torch.amp.GradScaler(device.type) if how.amp_dtype == torch.float16 else None
    state = {"model": model, "optimizer": optimizer, "scheduler": scheduler, "scaler": scaler}
    ckpt = Checkpointer(checkpoint_path, overwrite=overwrite or resume, main=main)
    history = ckpt.resume(state, train, epochs, verbose) if resume else History()
    best = ckpt.best_weights() if restore_best and len(history) else None
    # net: the model that trains, wrapped in DistributedDataParallel when distributed
    net, train, val = _distribute(model, train, val, device) if distributed else (model, train, val)
    bar = _progress_bar(_progress_wanted(progress) and main, train, epochs - len(history))
    epoch = len(history) + 1
    try:
        for epoch in range(len(history) + 1, epochs + 1):
            t0, lr_now = time.perf_counter(), optimizer.param_groups[0]["lr"]
            if bar is not None:
                bar.set_description(f"epoch {epoch}/{epochs}")
            ddp.set_epoch(train, epoch)  # a DistributedSampler reshuffles; other loaders: no-op
            start = history[0]["train_loss"] if history else None
            trained = _train_epoch(net, train, how, optimizer, scaler, grad_clip, epoch, start, bar)
            if distributed:
                ddp.broadcast_buffers(model)  # every process keeps rank 0's BatchNorm statistics
            scored = _evaluate(model, val, how) if val is not None else {}
            _step_scheduler(scheduler, scored.get("loss"), trained["loss"])
            history.add(epoch, trained, scored, lr_now, time.perf_counter() - t0)
            if restore_best and history.best_epoch == epoch:
                best = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            ckpt.save(state, history, train, distributed)
            if verbose:
                _print(_epoch_line(history[-1], epochs), bar)
    except KeyboardInterrupt:
        if main:
            _print(_interrupted(epoch, ckpt.path), bar)
        raise
    except RuntimeError as exc:
        if distributed and ddp.lost_contact(exc):
            raise TrainingError(_lost_process(exc, epoch, ckpt.path)) from exc
        raise
    finally:
        if bar is not None:
            bar.close()
    if best is not None:
        model.load_state_dict(best)
    return history


def _train_epoch(
    model: nn.Module,
    loader: Iterable,
    how: _How,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler | None,
    grad_clip: float | None,
    epoch: int,
    loss_start: float | None,
    bar: Any,
) -> dict:
    """One epoch of training: forward, loss, backward, step for every batch; mean loss and acc.

    loss_start: the first epoch's mean training loss (None in the first epoch: there, the
    first batch's loss is used); a loss far above it stops training (see `_check_loss`).
    """
    model.train()
    tally = _Tally(how)
    for step, batch in enumerate(loader, start=1):
        x, y = how.batch(*_pair(batch))
        out, loss = how.forward(model, x, y, check=step == 1)
        loss_value = loss.item()  # waits for the GPU once per step: needed to stop at a NaN
        loss_start = loss_value if loss_start is None else loss_start
        _check_loss(loss_value, loss_start, epoch, step)
        optimizer.zero_grad(set_to_none=True)
        _backward_and_step(loss, model, optimizer, scaler, grad_clip)
        tally.add(out, y, loss_value, bar)
    return tally.result()


def evaluate(
    model: nn.Module,
    loader: Iterable,
    loss_fn: LossFn = F.cross_entropy,
    device: torch.device | str | None = None,
    amp: bool | None = None,
) -> dict:
    """Mean loss and accuracy (None when it does not apply) over `loader`, in eval mode.

    amp: mixed precision as in `fit` (None = on for CUDA), so that a model is scored with the
    same arithmetic it was trained and selected with. The model's train/eval mode is restored.

    Used by notebooks 05, 06, 07, 08.
    """
    check_model(model)
    _check_loader(loader, "loader")
    _check_loss_fn(loss_fn)
    device = resolve_device(device)
    model.to(device)
    return _evaluate(model, loader, _How.choose(device, loss_fn, amp))


@torch.no_grad()
def _evaluate(model: nn.Module, loader: Iterable, how: _How) -> dict:
    """The mean loss and accuracy over `loader`, in eval mode; the model's mode is restored."""
    was_training = model.training
    model.eval()
    try:
        tally = _Tally(how)
        for step, batch in enumerate(loader, start=1):
            x, y = how.batch(*_pair(batch))
            out, loss = how.forward(model, x, y, check=step == 1)
            tally.add(out, y, loss.item(), None)
        return tally.result()
    finally:
        model.train(was_training)


@torch.no_grad()
def predict(
    model: nn.Module,
    loader: Iterable,
    device: torch.device | str | None = None,
    amp: bool | None = None,
) -> tuple[Tensor, Tensor]:
    """Predicted classes (argmax over dim 1) and true labels for every sample, as CPU LongTensors.

    amp: mixed precision as in `evaluate` (None = on for CUDA).

    Used by notebooks 05, 08.
    """
    check_model(model)
    _check_loader(loader, "loader")
    device = resolve_device(device)
    how = _How.choose(device, F.cross_entropy, amp)
    model.to(device)
    was_training = model.training
    model.eval()
    preds, labels = [], []
    try:
        for step, batch in enumerate(loader, start=1):
            x, y = _pair(batch)
            x = how.to_device(x)
            with how.autocast():
                out = _run(model, x) if step == 1 else model(x)
            _check_is_tensor(out)
            if out.dim() < 2 or out.shape[1] < 2:
                raise TrainingError(
                    f"predict takes the argmax over class scores (N, C) with C >= 2; the model "
                    f"gives {tuple(out.shape)}. With one output per sample (a binary "
                    "classifier) take (model(x) > 0).long() instead."
                )
            preds.append(out.argmax(1).cpu())
            labels.append(torch.as_tensor(y).cpu())
    finally:
        model.train(was_training)
    if not preds:
        raise TrainingError("the loader gave no batches: is the data set empty?")
    return torch.cat(preds).long(), torch.cat(labels).long()


# ---------------------------------------------------------------- checkpoints


def best_path(checkpoint_path: str | os.PathLike) -> Path:
    """Where `fit` keeps the best epoch's weights: run.pt -> run.best.pt."""
    p = Path(checkpoint_path)
    return p.with_name(f"{p.stem}.best{p.suffix}")


class Checkpointer:
    """fit's checkpoints: the full state after every epoch at `path` (model, optimizer,
    scheduler, scaler, history, random states, the loader's order), the best epoch's weights
    beside it (`best_path`). path=None: no checkpoints, every method does nothing.

    A file already at `path` is never replaced silently: that needs overwrite=True (or
    resuming). The folder is probed for writing at once, so a full or read-only disk stops
    the run before its first epoch, not after it. Only the main process writes.
    """

    def __init__(self, path: str | os.PathLike | None, overwrite: bool, main: bool) -> None:
        self.path = Path(path) if path is not None else None
        self.main = main
        if self.path is None:
            return
        if self.path.is_dir() or str(path).endswith(("/", os.sep)):
            raise TrainingError(
                f"checkpoint_path {path} is a folder; give a file in it, e.g. "
                f"{self.path / 'run.pt'}."
            )
        if self.path.exists() and not overwrite:
            raise TrainingError(_existing_run(self.path))
        if main:
            check_writable(self.path.parent)

    def resume(self, state: dict[str, Any], train: Iterable, epochs: int, verbose: bool) -> History:
        """Load the last checkpoint into `state`'s objects and `train`; the history so far."""
        if self.path is None or not self.path.exists():
            if verbose:
                print(f"no checkpoint at {self.path} yet: starting at epoch 1")
            return History()
        history = _resume(self.path, state, train)
        if verbose:
            print(f"resumed from {self.path} after epoch {len(history)} of {epochs}")
        return history

    def best_weights(self) -> dict[str, Tensor] | None:
        """The best epoch's weights saved so far, if any."""
        if self.path is None or not best_path(self.path).exists():
            return None
        return load_checkpoint(best_path(self.path))["model"]

    def save(self, state: dict[str, Any], history: History, train: Any, distributed: bool) -> None:
        """After an epoch: the best weights (if this epoch is the best so far), then the full
        state. In this order an interruption between the two saves never leaves a "last"
        checkpoint whose history names a best epoch that is not on disk."""
        if self.path is None:
            return
        if self.main:
            full = _full_state(state, history, train)
            if history.best_epoch == len(history):
                save_checkpoint(best_path(self.path), model=full["model"], epoch=len(history))
            save_checkpoint(self.path, full)
        if distributed:
            ddp.barrier()  # the others wait until rank 0 has saved


class History:
    """One record (a dict with the keys in `COLUMNS`) per finished epoch.

    `history["val_acc"]` is that column as a list; `history.best` is the best epoch's record
    (by validation accuracy, else validation loss, else training loss).

    Used by notebooks 04, 05, 06, 07, 08.
    """

    def __init__(self, records: Iterable[dict] | None = None) -> None:
        if isinstance(records, dict) and "records" in records:  # History.to_dict()'s form
            records = records["records"]
        if isinstance(records, (dict, str)):
            raise TypeError(
                f"History takes a list of per-epoch records (dicts), got a {type(records).__name__}"
                "; from a recorded run pass its list: History(record['history'])."
            )
        self.records: list[dict] = []
        for record in records or []:
            self.append(record)

    def append(self, record: dict) -> None:
        """Add one epoch's record; a column it lacks is None."""
        self.records.append({k: record.get(k) for k in COLUMNS})

    def add(self, epoch: int, train: dict, val: dict, lr: float, seconds: float) -> None:
        """One epoch's record from `fit`'s training and validation results."""
        self.append(
            {
                "epoch": epoch,
                "train_loss": train["loss"],
                "train_acc": train["acc"],
                "val_loss": val.get("loss"),
                "val_acc": val.get("acc"),
                "lr": lr,
                "seconds": seconds,
            }
        )

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self):
        return iter(self.records)

    @overload
    def __getitem__(self, key: int) -> dict: ...
    @overload
    def __getitem__(self, key: str) -> list: ...
    def __getitem__(self, key: str | int) -> list | dict:
        """`history["val_acc"]`: that column as a list; `history[-1]`: one epoch's record."""
        if isinstance(key, int):
            return self.records[key]
        if key not in COLUMNS:
            raise KeyError(f"no column {key!r}; the columns are {', '.join(COLUMNS)}")
        return [r[key] for r in self.records]

    def _criterion(self) -> tuple[str, bool] | None:
        """The column that decides the best epoch, and whether higher is better."""
        for column, higher in (("val_acc", True), ("val_loss", False), ("train_loss", False)):
            if any(v is not None for v in self[column]):
                return column, higher
        return None

    @property
    def best_epoch(self) -> int | None:
        crit = self._criterion() if self.records else None
        if crit is None:
            return None
        column, higher = crit
        scored = [(r[column], r["epoch"]) for r in self.records if r[column] is not None]
        key = (lambda t: (t[0], -t[1])) if higher else (lambda t: (-t[0], -t[1]))
        return max(scored, key=key)[1]  # ties: the earliest epoch

    @property
    def best(self) -> dict | None:
        epoch = self.best_epoch
        return next((r for r in self.records if r["epoch"] == epoch), None)

    @property
    def last(self) -> dict | None:
        return self.records[-1] if self.records else None

    def to_dict(self) -> dict:
        return {"records": [dict(r) for r in self.records]}

    @classmethod
    def from_dict(cls, data: dict) -> History:
        return cls(data["records"])

    def table(self) -> str:
        """A small text table, one line per epoch; the best epoch is marked with *."""
        head = f"{'epoch':>5}  {'train loss':>10} {'train acc':>9}  {'val loss':>8} {'val acc':>7}  {'lr':>8} {'s':>6}"
        lines = [head]
        best = self.best_epoch

        def num(v: float | None, width: int, pct: bool = False) -> str:
            if v is None:
                return f"{'-':>{width}}"
            return f"{100 * v:>{width - 1}.1f}%" if pct else f"{v:>{width}.4f}"

        for r in self.records:
            mark = "*" if r["epoch"] == best else " "
            lr = f"{r['lr']:>8.2e}" if r["lr"] is not None else f"{'-':>8}"
            lines.append(
                f"{r['epoch']:>4}{mark}  {num(r['train_loss'], 10)} {num(r['train_acc'], 9, True)}  "
                f"{num(r['val_loss'], 8)} {num(r['val_acc'], 7, True)}  {lr} {r['seconds'] or 0:>6.1f}"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        if not self.records:
            return "History(no epochs yet)"
        return f"History({len(self)} epochs, best epoch {self.best_epoch})\n{self.table()}"


# ---------------------------------------------------------------- how a batch is run


@dataclass(frozen=True)
class _How:
    """How fit, evaluate and predict run a batch: on which device, in which precision and
    memory layout, with which loss, and whether counts are summed over processes."""

    device: torch.device
    loss_fn: LossFn
    amp_dtype: torch.dtype | None  # None: full precision (float32)
    channels_last: bool
    distributed: bool = False
    ignore_index: int = IGNORE_INDEX  # targets with this value count in neither loss nor accuracy

    @staticmethod
    def choose(
        device: torch.device,
        loss_fn: LossFn,
        amp: bool | None = None,
        channels_last: bool | None = None,
        distributed: bool = False,
    ) -> _How:
        """The one place that decides mixed precision and channels_last: None = on for CUDA."""
        amp = check_flag(amp, "amp", allow_none=True)
        channels_last = check_flag(channels_last, "channels_last", allow_none=True)
        cl = device.type == "cuda" if channels_last is None else channels_last
        amp_dtype = _amp_dtype(device, amp)
        return _How(device, loss_fn, amp_dtype, cl, distributed, _ignore_index(loss_fn))

    def place(self, model: nn.Module) -> None:
        """Move the model to the device, its weights in channels_last memory when chosen."""
        model.to(self.device)
        if self.channels_last:
            model.to(memory_format=torch.channels_last)

    def autocast(self) -> AbstractContextManager:
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def to_device(self, x: Tensor) -> Tensor:
        x = x.to(self.device, non_blocking=True)
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def batch(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """A batch (inputs, targets) on the device, the inputs in the chosen memory layout."""
        return self.to_device(x), y.to(self.device, non_blocking=True)

    def forward(self, model: nn.Module, x: Tensor, y: Tensor, check: bool) -> tuple[Tensor, Tensor]:
        """The model's output and the loss for one batch on the device. check: see that the
        output fits the labels (done on the first batch of a pass)."""
        with self.autocast():
            out = _run(model, x) if check else model(x)
            if check:  # a clear message instead of torch's IndexError
                _check_output_fits_labels(out, y, self.loss_fn, self.ignore_index)
            return out, self.loss_fn(out, y)


def _amp_dtype(device: torch.device, amp: bool | None) -> torch.dtype | None:
    """The dtype of mixed precision (bfloat16 where the GPU computes it natively, from Ampere
    on), or None for float32. Older GPUs such as the T4 only emulate bfloat16: float16 there."""
    if not (device.type == "cuda" if amp is None else amp):
        return None
    return autocast_dtype(device)


class _Tally:
    """Running sums of a pass (loss, samples, correct, labelled); the counts stay on the device
    until the end, so counting costs no wait for the GPU."""

    def __init__(self, how: _How) -> None:
        self.how = how
        self.loss_sum, self.samples = 0.0, 0
        self.hits = torch.zeros(2, dtype=torch.long, device=how.device)  # correct, labelled

    def add(self, out: Tensor, y: Tensor, loss_value: float, bar: Any) -> None:
        """Count one batch: its outputs, its targets (on the device) and its mean loss."""
        self.loss_sum += loss_value * len(y)
        self.samples += len(y)
        batch_hits = _correct_and_count(out.detach(), y, self.how.ignore_index)
        if batch_hits is not None:
            self.hits += torch.stack(batch_hits)
        if bar is not None:
            bar.update(1)
            acc = _accuracy(self.hits)
            shown = "-" if acc is None else f"{100 * acc:.1f}%"
            bar.set_postfix(loss=f"{self.loss_sum / self.samples:.4f}", acc=shown, refresh=False)

    def result(self) -> dict:
        """{"loss": mean loss, "acc": accuracy or None}; in distributed training over every
        process's part."""
        totals = [self.loss_sum, self.samples, *self.hits.tolist()]  # one read-back, at the end
        if self.how.distributed:
            totals = ddp.all_reduce_sums(totals, self.how.device)
        loss_sum, samples, correct, counted = totals
        if samples == 0:
            raise TrainingError("the loader gave no batches: is the data set empty?")
        return {"loss": loss_sum / samples, "acc": correct / counted if counted else None}


# ---------------------------------------------------------------- small pieces of the loop


def _seed(seed: int, train: Iterable) -> None:
    """fit(seed=...): seed Python, NumPy and torch, and restart a DeviceLoader's order from it."""
    seed_everything(seed)
    if isinstance(train, DeviceLoader):
        train.manual_seed(seed)


def _progress_wanted(progress: bool | None) -> bool:
    """progress=None: the setting COURSE_PROGRESS; when that is auto, on in an interactive
    notebook or terminal."""
    progress = check_flag(progress, "progress", allow_none=True)
    if progress is None:
        progress = get_settings().progress
    if progress is not None:
        return bool(progress)
    shell = sys.modules.get("IPython") and getattr(sys.modules["IPython"], "get_ipython", None)
    if shell and type(shell()).__name__ == "ZMQInteractiveShell":
        return True
    return sys.stderr.isatty()


def _progress_bar(enabled: bool, train: Iterable, epochs_left: int) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    steps = _length(train)
    total = steps * max(epochs_left, 0) if steps else None
    return tqdm(total=total, initial=0, unit="batch", dynamic_ncols=True, leave=True)


def _distribute(
    model: nn.Module, train: Iterable, val: Iterable | None, device: torch.device
) -> tuple[nn.Module, Iterable, Iterable | None]:
    """For distributed training: the model in DDP, and this process's parts of the data."""
    train = ddp.shard(train, training=True)
    ddp.same_loader_state(train)  # every process starts from rank 0's random order
    val = ddp.shard(val, training=False) if val is not None else None
    return ddp.wrap(model, device), train, val


def _full_state(state: dict[str, Any], history: History, train: Any) -> dict[str, Any]:
    """Everything a resumed run needs, as plain values a weights_only load accepts."""
    optimizer, scheduler, scaler = state["optimizer"], state["scheduler"], state["scaler"]
    return {
        "model": state["model"].state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "optimizer_type": type(optimizer).__name__,
        "scheduler_type": type(scheduler).__name__ if scheduler is not None else None,
        "scaler": scaler.state_dict() if scaler is not None else None,
        "history": history.to_dict(),
        "epoch": len(history),
        "rng": _rng_state(),
        "loader": train.state_dict() if hasattr(train, "state_dict") else None,
    }


def _resume(ckpt: Path, objects: dict[str, Any], train: Any) -> History:
    """Load the last checkpoint into model, optimizer, ...; returns the history so far."""
    model, optimizer = objects["model"], objects["optimizer"]
    scheduler, scaler = objects["scheduler"], objects["scaler"]
    state = load_checkpoint(ckpt)
    if "model" not in state or "history" not in state:
        raise CheckpointError(
            f"{ckpt} is not a checkpoint written by fit (no 'model'/'history' entries); "
            "pass another checkpoint_path or resume=False."
        )
    load_state_dict_checked(model, state["model"])
    _check_same_type(ckpt, "optimizer", state.get("optimizer_type"), optimizer)
    try:
        optimizer.load_state_dict(state["optimizer"])
    except ValueError as exc:  # another number or size of parameter groups
        raise CheckpointError(
            f"cannot resume from {ckpt}: this optimizer does not fit the saved one ({exc}). "
            "Build it as in the saved run (the same parameter groups), or start a new run with "
            "overwrite=True or another checkpoint_path."
        ) from None
    if scheduler is not None and state.get("scheduler") is not None:
        _check_same_type(ckpt, "scheduler", state.get("scheduler_type"), scheduler)
        scheduler.load_state_dict(state["scheduler"])
    if scaler is not None and state.get("scaler") is not None:
        scaler.load_state_dict(state["scaler"])
    if state.get("rng") is not None:
        _set_rng_state(state["rng"])
    if state.get("loader") is not None and hasattr(train, "load_state_dict"):
        train.load_state_dict(state["loader"])
    return History.from_dict(state["history"])


def _correct_and_count(out: Tensor, y: Tensor, ignore_index: int) -> tuple[Tensor, Tensor] | None:
    """Correct predictions (a tensor, not read back from the GPU) and labelled targets (those
    not equal to `ignore_index`) in a batch, or None when accuracy does not apply."""
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        return None
    if out.dim() != y.dim() + 1 or out.shape[0] != y.shape[0] or out.shape[2:] != y.shape[1:]:
        return None
    labelled = y != ignore_index
    correct = (out.argmax(1) == y) & labelled
    return correct.sum(), labelled.sum()


def _accuracy(hits: Tensor) -> float | None:
    correct, counted = hits.tolist()  # for the progress bar: a read-back from the device
    return correct / counted if counted else None


def _backward_and_step(
    loss: Tensor,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler | None,
    grad_clip: float | None,
) -> None:
    if scaler is not None:  # float16 needs loss scaling so small gradients do not vanish
        scaler.scale(loss).backward()
        if grad_clip is not None:
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        scaler.step(optimizer)
        scaler.update()
    else:
        loss.backward()
        if grad_clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()


def _make_scheduler(scheduler: Any, optimizer: torch.optim.Optimizer) -> Any:
    """The scheduler of fit's `optimizer`: the one given, or the one a function optimizer ->
    scheduler makes (handy with the default Adam). A scheduler class, anything without `step`,
    or a scheduler of another optimizer (whose steps would leave this run's rate unchanged) is
    refused."""
    if scheduler is None:
        return None
    made = scheduler
    if not isinstance(scheduler, type) and not hasattr(scheduler, "step") and callable(scheduler):
        made = scheduler(optimizer)
    if isinstance(made, type) or not hasattr(made, "step"):
        got = f"the class {made.__name__}" if isinstance(made, type) else f"{made!r}"
        raise TypeError(
            "scheduler must be a scheduler of fit's optimizer, e.g. "
            "torch.optim.lr_scheduler.StepLR(optimizer, step_size=10), or a function that makes "
            f"one from it, e.g. lambda opt: StepLR(opt, step_size=10); got {got}."
        )
    if getattr(made, "optimizer", optimizer) is not optimizer:
        raise ValueError(
            "the scheduler was built on another optimizer than the one fit trains with, so its "
            "steps would not change this run's learning rate. Without optimizer=..., fit trains "
            "with its own Adam: pass your optimizer too (fit(..., optimizer=opt, "
            "scheduler=sched)), or give a function: scheduler=lambda opt: StepLR(opt, 10)."
        )
    return made


def _step_scheduler(scheduler: Any, val_loss: float | None, train_loss: float) -> None:
    if scheduler is None:
        return
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step(train_loss if val_loss is None else val_loss)
    else:
        scheduler.step()


def _rng_state() -> dict:
    """Python, NumPy and torch random states, as plain values a weights_only load accepts."""
    name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)  # a tuple
    state = {
        "python": random.getstate(),
        "numpy": [name, torch.from_numpy(np.asarray(keys, dtype=np.int64)), pos, has_gauss, cached],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _epoch_line(r: dict, epochs: int) -> str:
    def part(name: str, loss: float | None, acc: float | None) -> str:
        if loss is None:
            return ""
        return f" | {name} loss {loss:.4f}" + ("" if acc is None else f" acc {100 * acc:.1f}%")

    return (
        f"epoch {r['epoch']}/{epochs}"
        + part("train", r["train_loss"], r["train_acc"])
        + part("val", r["val_loss"], r["val_acc"])
        + f" | {r['seconds']:.1f} s"
    )


def _print(line: str, bar: Any) -> None:
    if bar is not None:
        bar.write(line)
    else:
        print(line, flush=True)


def _length(loader: Any) -> int | None:
    try:
        return len(loader)
    except TypeError:
        return None


def _existing_run(ckpt: Path) -> str:
    """Why fit will not start a new run on `ckpt`: what is there, and the three choices."""
    try:
        found = History.from_dict(load_checkpoint(ckpt)["history"])
        best = found.best or {}
        column = next(
            (c for c in ("val_acc", "val_loss", "train_loss") if best.get(c) is not None), None
        )
        what = f"a run of {len(found)} epoch(s)" + (
            f", best epoch {found.best_epoch} with {column} {best[column]:.4g}" if column else ""
        )
    except Exception:  # not readable as a run: still never overwritten silently
        what = "a file that is not a readable run"
    return (
        f"{ckpt} already holds {what}. To continue it pass resume=True; to replace it and its "
        f"best weights pass overwrite=True; or choose another checkpoint_path."
    )


def _interrupted(epoch: int, ckpt: Path | None) -> str:
    """What to say when the user stops fit (Ctrl-C, or the notebook's stop button)."""
    if ckpt is None:
        return (
            f"interrupted in epoch {epoch}; no checkpoint was written (pass checkpoint_path=... "
            "to be able to resume a run)"
        )
    if epoch == 1:
        return f"interrupted in epoch 1, before the first checkpoint was written to {ckpt}"
    return (
        f"interrupted in epoch {epoch}; {ckpt} holds epoch {epoch - 1}: resume with "
        "fit(..., resume=True) and the same checkpoint_path"
    )


def _lost_process(exc: Exception, epoch: int, ckpt: Path | None) -> str:
    """What to say when another process stopped (crashed, killed, out of memory) mid-run."""
    saved = (
        f"The checkpoint {ckpt} holds the last finished epoch; launch the same torchrun "
        "command with fit(..., resume=True) to continue from it."
        if ckpt is not None
        else "No checkpoint was written (pass checkpoint_path=... to be able to resume)."
    )
    return (
        f"distributed training stopped in epoch {epoch} on rank {ddp.rank()}: another process "
        f"stopped answering ({ddp.first_reason(exc)}). torchrun's summary below names the "
        f"process that failed first. {saved}"
    )


# ---------------------------------------------------------------- checks that fit makes


def _check_fit_arguments(
    model: Any,
    train: Any,
    val: Any,
    optimizer: Any,
    loss_fn: Any,
    epochs: Any,
    lr: Any,
    grad_clip: Any,
    checkpoint_path: Any,
    flags: dict[str, Any],
) -> None:
    """Refuse arguments fit cannot use, each with what it got and what it expects."""
    check_model(model)
    for name, value in flags.items():
        check_flag(value, name)
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError(
            "no parameter of the model requires a gradient (all frozen?), so there is nothing "
            "to train: unfreeze the part to train, e.g. for p in model.fc.parameters(): "
            "p.requires_grad = True."
        )
    _check_loader(train, "train")
    if val is not None:
        _check_loader(val, "val")
    _check_loss_fn(loss_fn)
    check_int(epochs, "epochs", minimum=0)
    if lr is not None:
        check_positive(lr, "lr")
    if grad_clip is not None:
        check_positive(grad_clip, "grad_clip")
    if optimizer is not None:
        _check_optimizer(optimizer, model)
    if optimizer is not None and lr is not None:
        raise ValueError(
            f"fit got both lr={lr} and an optimizer: lr only sets the default Adam's rate, so it "
            "would be ignored. Set the rate where you build the optimizer, e.g. "
            "torch.optim.SGD(model.parameters(), lr=0.1), and leave lr out."
        )
    if flags["resume"] and checkpoint_path is None:
        raise ValueError("resume=True needs checkpoint_path=..., the file of the run to continue.")


def _check_loss_fn(loss_fn: Any) -> None:
    """A loss function or loss object; not the class (nn.CrossEntropyLoss without brackets)."""
    if isinstance(loss_fn, type) or not callable(loss_fn):
        got = f"the class {loss_fn.__name__}" if isinstance(loss_fn, type) else repr(loss_fn)
        raise TypeError(
            "loss_fn must be a loss function such as F.cross_entropy, or a loss object such as "
            f"nn.CrossEntropyLoss() (with the brackets); got {got}."
        )


def _check_loader(loader: Any, name: str) -> None:
    """A loader gives (x, y) batches; a tensor, a pair of tensors or a Dataset is not one."""
    if isinstance(loader, Tensor):
        what = f"a tensor of shape {tuple(loader.shape)}"
    elif isinstance(loader, (tuple, list)) and loader and isinstance(loader[0], Tensor):
        what = f"a {type(loader).__name__} of tensors (a data set, not batches)"
    elif not isinstance(loader, Iterable):
        what = f"a {type(loader).__name__}"
    else:
        return
    raise TypeError(
        f"{name} must give batches (x, y), such as DeviceLoader(images, labels, batch_size=64) "
        f"or DataLoader(dataset, batch_size=64); got {what}."
    )


def _check_optimizer(optimizer: Any, model: nn.Module) -> None:
    """An optimizer object (not the class) that updates at least some of `model`'s parameters."""
    if not isinstance(optimizer, torch.optim.Optimizer):
        got = f"the class {optimizer.__name__}" if isinstance(optimizer, type) else repr(optimizer)
        raise TypeError(
            f"optimizer must be an optimizer built on the model's parameters, such as "
            f"torch.optim.SGD(model.parameters(), lr=0.1); got {got}."
        )
    own = {id(p) for p in model.parameters()}
    if not any(id(p) in own for group in optimizer.param_groups for p in group["params"]):
        raise ValueError(
            "the optimizer updates none of this model's parameters: it was built for another "
            "model (or an earlier copy of this one). Build it after the model, from "
            "model.parameters()."
        )


def _check_output_fits_labels(out: Any, y: Tensor, loss_fn: Callable, ignore_index: int) -> None:
    """For a classification loss: the output is (N, C) for labels (N,) (or (N, C, T) for
    labels (N, T)), the labels are int64 and each is a class 0..C-1 (or `ignore_index`)."""
    _check_is_tensor(out)
    loss = getattr(loss_fn, "func", loss_fn)  # functools.partial(F.cross_entropy, ...)
    is_class_loss = loss in (F.cross_entropy, F.nll_loss)
    if not (is_class_loss or isinstance(loss, (nn.CrossEntropyLoss, nn.NLLLoss))):
        return
    shapes = f"output {tuple(out.shape)}, labels {tuple(y.shape)}"
    if y.is_floating_point() and y.shape == out.shape:  # class probabilities, not labels
        return
    if y.dtype not in (torch.int64, torch.uint8):
        raise TrainingError(
            f"the labels are {y.dtype}, but the loss needs int64 class labels ({shapes}): "
            "convert them with labels.long()."
        )
    if out.dim() != y.dim() + 1 or out.shape[0] != y.shape[0] or out.shape[2:] != y.shape[1:]:
        raise TrainingError(
            f"the model's output does not fit the labels: {shapes}. Labels (N,) need class "
            "scores (N, C), one row per sample (sequences: labels (N, T), output (N, C, T)). "
            "Check the model's last layers: a missing nn.Flatten(), an extra dimension to "
            "squeeze, or a reshape that mixes samples."
        )
    labels = y.long()
    labels = labels[labels != ignore_index]
    classes = out.shape[1]
    if labels.numel() and (labels.min() < 0 or labels.max() >= classes):
        low, high = labels.min().item(), labels.max().item()  # one read-back, on the first batch
        raise TrainingError(
            f"the labels go from {low} to {high}, but the model gives {classes} class scores "
            f"per sample ({shapes}). Give its last layer one output per class (e.g. "
            f"nn.Linear(..., {max(high + 1, classes)})), or check the labels."
        )


def _check_is_tensor(out: Any) -> None:
    if not isinstance(out, Tensor):
        raise TrainingError(
            f"the model returned a {type(out).__name__}, not a tensor: forward must return the "
            "outputs the loss compares with the labels, e.g. class scores (N, C). (An nn.LSTM "
            "returns (output, (h, c)): keep the part you need.)"
        )


def _run(model: nn.Module, x: Tensor) -> Any:
    """model(x) on a pass's first batch; when it fails (a layer that does not fit the input's
    shape or dtype), one message naming the input and what usually causes it."""
    try:
        return model(x)
    except torch.OutOfMemoryError:
        raise  # not the model's shape: torch's own message says what to do
    except RuntimeError as exc:
        if "out of memory" in str(exc).lower():  # CPU and MPS say it in a plain RuntimeError
            raise
        raise TrainingError(_model_failed(model, x, exc)) from exc


def _model_failed(model: nn.Module, x: Tensor, exc: Exception) -> str:
    """Why the model failed on input `x`, with the fix for the usual causes."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    weight = next((p for p in model.parameters() if p.is_floating_point()), None)
    shapes = re.search(r"\((\d+)x(\d+) and (\d+)x(\d+)\)", first)
    channels = re.search(r"to have (\d+) channels, but got (\d+) channels", first)
    if "mat1 and mat2" in first and shapes:
        got, wanted = shapes.group(2), shapes.group(3)
        hint = (
            f"A Linear layer expects {wanted} input features but gets {got}: build it as "
            f"nn.Linear({got}, ...) (the size of what reaches it after Flatten), or check the "
            "layers before it."
        )
    elif channels:
        wanted, got = channels.group(1), channels.group(2)
        where = "the images'" if x.dim() == 4 and int(got) == x.shape[1] else "the layer before's"
        hint = (
            f"A convolution expects {wanted} input channels but gets {got}: its in_channels "
            f"must be {where} channels ({got})."
        )
    elif weight is not None and x.is_floating_point() and x.dtype != weight.dtype:
        hint = (
            f"Convert the inputs to the weights' dtype: x.to({weight.dtype}) (NumPy's is float64)."
        )
    elif x.dtype == torch.uint8 and x.dim() == 4:
        hint = "uint8 images go in as floats: x.float() / 255 (DeviceLoader does that)."
    else:
        hint = "Run one batch by hand and print the shape after each layer to see where."
    return f"the model failed on inputs {tuple(x.shape)} {x.dtype}: {first}. {hint}"


def _ignore_index(loss_fn: Any) -> int:
    """The target value `loss_fn` leaves out: the ignore_index of an nn.CrossEntropyLoss or a
    functools.partial(F.cross_entropy, ignore_index=...), else cross_entropy's default."""
    if isinstance(loss_fn, functools.partial):
        value = loss_fn.keywords.get("ignore_index", IGNORE_INDEX)
    else:
        value = getattr(loss_fn, "ignore_index", IGNORE_INDEX)
    try:
        return operator.index(value)
    except TypeError:  # a custom loss's own attribute, e.g. None: nothing is ignored
        return IGNORE_INDEX


def _pair(batch: Any) -> tuple[Tensor, Tensor]:
    """A batch as (inputs, targets); a loader that gives anything else is named."""
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch[0], batch[1]
    size = f" of {len(batch)}" if isinstance(batch, (tuple, list)) else ""
    raise TrainingError(
        f"each batch must be a pair (inputs, targets); the loader gave a "
        f"{type(batch).__name__}{size}. Give it the targets too: TensorDataset(x, y) or "
        "DeviceLoader(x, labels)."
    )


def _check_loss(loss_value: float, start: float, epoch: int, step: int) -> None:
    """Stop when the training loss is NaN or infinite, or more than EXPLODED times above its
    start (at least EXPLODED): in both cases training has diverged."""
    advice = (
        "Try a lower learning rate, check that the inputs are normalised (no NaN or huge "
        "values), or clip gradients with fit(..., grad_clip=1.0). The last good checkpoint "
        "(if any) is unchanged."
    )
    if not math.isfinite(loss_value):
        raise TrainingError(
            f"the training loss became {loss_value} in epoch {epoch}, step {step}. {advice}"
        )
    if loss_value > EXPLODED * max(start, 1.0):  # at least 1.0: a start near 0 is no yardstick
        raise TrainingError(
            f"the training loss exploded to {loss_value:.3g} in epoch {epoch}, step {step}, more "
            f"than {EXPLODED:,.0f} times its start ({start:.3g}): training has diverged. {advice}"
        )


def _check_same_type(ckpt: Path, role: str, saved: str | None, current: Any) -> None:
    """Resuming needs the optimizer (scheduler) type the checkpoint was saved with."""
    now = type(current).__name__
    if saved is not None and saved != now:
        raise CheckpointError(
            f"cannot resume from {ckpt}: the checkpoint was saved with {saved}, this run uses "
            f"{now}. Resume with the same {role} type ({saved}), or start a new run with "
            "overwrite=True or another checkpoint_path."
        )
