"""Faults on the training side, each ending in one clear message (issue 15).

Weights files that are not weights (random bytes, pickled code that must never run), a full or
read-only checkpoint folder, resuming with another optimizer, a model whose output does not
fit the labels, a device this machine lacks, arguments of the wrong kind or range, and a loss
that explodes without becoming NaN.
"""

from __future__ import annotations

import errno
import os
import pickle
import random
import tempfile

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset

from helpers import devices
from helpers.checkpoints import TEMP_PREFIX, CheckpointError, load_checkpoint
from helpers.devices import resolve_device, seed_everything
from helpers.loaders import DeviceLoader
from helpers.settings import SettingsError, read_settings
from helpers.training import TrainingError, best_path, evaluate, fit, predict

CPU = torch.device("cpu")


pytestmark = pytest.mark.usefixtures("one_thread")


def blobs(n: int = 96, classes: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """`classes` Gaussian clouds in 2-D: (n, 2) float points and (n,) int64 labels."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % classes
    angle = 2 * torch.pi * y / classes
    centres = torch.stack([angle.cos(), angle.sin()], 1) * 2
    return centres + 0.5 * torch.randn(n, 2, generator=g), y


def loader(classes: int = 3, batch_size: int = 32) -> DeviceLoader:
    return DeviceLoader(*blobs(classes=classes), batch_size=batch_size, device=CPU, seed=0)


def mlp(outputs: int = 3, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, outputs))


class CountingLoader:
    """Wraps a loader and counts the batches taken from it."""

    def __init__(self, inner) -> None:
        self.inner, self.batches = inner, 0

    def __iter__(self):
        for batch in self.inner:
            self.batches += 1
            yield batch

    def __len__(self) -> int:
        return len(self.inner)


def _no_unsafe_advice(message: str) -> None:
    assert "weights_only=False" not in message and "will likely succeed" not in message
    assert "\x1b" not in message, "no terminal colour codes"


# ---------------------------------------------------------------- files that are not weights


@pytest.mark.parametrize("content", ["random", "empty", "zip"])
def test_a_file_of_random_bytes_is_not_a_weights_file(tmp_path, content):
    path = tmp_path / "weights.pt"
    data = {
        "random": random.Random(0).randbytes(4096),
        "empty": b"",
        "zip": b"PK\x03\x04" + bytes(100),  # looks like torch's zip format, is not
    }[content]
    path.write_bytes(data)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert f"{path} is not a weights file" in message and "download it again" in message
    _no_unsafe_advice(message)


class _Payload:
    """Unpickling this runs a shell command that creates a marker file."""

    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _write_payload(path, marker, how: str) -> None:
    if how == "torch.save":
        torch.save({"model": _Payload(marker)}, path)
    else:
        protocol = int(how.split()[-1])
        path.write_bytes(pickle.dumps({"model": _Payload(marker)}, protocol=protocol))


@pytest.mark.parametrize(
    "how",
    ["torch.save", "pickle protocol 2", "pickle protocol 4"],
    ids=["torch-save", "pickle-2", "pickle-4"],
)
def test_pickled_code_is_refused_and_never_runs(tmp_path, how):
    path, marker = tmp_path / "evil.pt", tmp_path / "marker"
    _write_payload(path, marker, how)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert not marker.exists(), "the payload ran"
    message = str(info.value)
    assert f"{path} is not a weights file" in message
    _no_unsafe_advice(message)
    if how != "pickle protocol 4":  # protocol 4 is refused at its first opcode, before the code
        assert "posix.system" in message and "nothing in it was run" in message


@pytest.mark.parametrize("resume", [True, False])
def test_fit_never_runs_code_from_a_checkpoint_path(tmp_path, resume):
    """Resuming from (or being asked to overwrite) a file of pickled code runs none of it."""
    path, marker = tmp_path / "run.pt", tmp_path / "marker"
    _write_payload(path, marker, "torch.save")
    error = CheckpointError if resume else TrainingError
    with pytest.raises(error, match="run.pt"):
        fit(mlp(), loader(), epochs=1, checkpoint_path=path, resume=resume, device=CPU)
    assert not marker.exists(), "the payload ran"


def test_restore_best_never_runs_code_from_the_best_weights_file(tmp_path):
    path, marker = tmp_path / "run.pt", tmp_path / "marker"
    fit(mlp(), loader(), epochs=1, checkpoint_path=path, device=CPU, verbose=False)
    _write_payload(best_path(path), marker, "torch.save")
    with pytest.raises(CheckpointError, match="run.best.pt is not a weights file"):
        fit(
            mlp(),
            loader(),
            epochs=2,
            checkpoint_path=path,
            resume=True,
            restore_best=True,
            device=CPU,
            verbose=False,
        )
    assert not marker.exists(), "the payload ran"


# ---------------------------------------------------------------- full or read-only folders


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (errno.EACCES, "you have no permission to write there"),
        (errno.EROFS, "the file system is read-only"),
        (errno.ENOSPC, "the disk is full"),
    ],
    ids=["no-permission", "read-only-fs", "disk-full"],
)
def test_an_unwritable_checkpoint_folder_stops_fit_before_the_first_epoch(
    tmp_path, monkeypatch, fault, reason
):
    """Simulated, so that it also runs as root (where chmod does not stop writes): a read-only
    folder refuses to create the file; a full disk accepts it and fails when it is flushed."""
    folder = tmp_path / "runs"
    folder.mkdir()

    def refuse(*args, **kwargs):
        raise OSError(fault, os.strerror(fault))

    if fault == errno.ENOSPC:
        monkeypatch.setattr(os, "fsync", refuse)
    else:
        monkeypatch.setattr(tempfile, "mkstemp", refuse)
    train = CountingLoader(loader())
    with pytest.raises(CheckpointError) as info:
        fit(mlp(), train, epochs=2, checkpoint_path=folder / "run.pt", device=CPU)
    message = str(info.value)
    assert f"cannot write checkpoints in {folder}: {reason}" in message
    assert "Free some space" in message and "checkpoint_path=None" in message
    assert train.batches == 0, "no epoch was spent"
    assert list(folder.iterdir()) == [], "the probe file was removed"


def test_a_disk_that_fills_during_training_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    """torch reports a full disk as '[enforce fail at inline_container.cc:672]'; fit says so
    plainly, the last complete checkpoint stays, and resuming later continues from it."""
    path = tmp_path / "run.pt"
    real_save, calls = torch.save, []

    def save_until_the_disk_is_full(obj, f, *args, **kwargs):
        calls.append(1)
        if len(calls) > 2:  # epoch 1 wrote the best weights and the checkpoint
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704")
        real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", save_until_the_disk_is_full)
    with pytest.raises(CheckpointError) as info:
        fit(mlp(), loader(), epochs=3, checkpoint_path=path, device=CPU, verbose=False)
    message = str(info.value)
    assert message.startswith(f"could not save the checkpoint {tmp_path}")
    assert "MiB free" in message and "resume=True" in message
    monkeypatch.undo()
    assert load_checkpoint(path)["epoch"] == 1
    assert not list(tmp_path.glob(f"{TEMP_PREFIX}*")), "no temporary file is left"
    h = fit(mlp(), loader(), epochs=3, checkpoint_path=path, resume=True, device=CPU)
    assert h["epoch"] == [1, 2, 3]


# ---------------------------------------------------------------- resuming with other settings


def _sgd(model):
    return torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)


def _adam(model):
    return torch.optim.Adam(model.parameters(), lr=1e-3)


@pytest.mark.parametrize(("saved", "now"), [(_sgd, _adam), (_adam, _sgd)], ids=["sgd", "adam"])
def test_resume_with_another_optimizer_type_says_so(tmp_path, saved, now):
    path = tmp_path / "run.pt"
    model = mlp()
    fit(model, loader(), epochs=1, optimizer=saved(model), checkpoint_path=path, device=CPU)
    model = mlp()
    with pytest.raises(CheckpointError) as info:
        fit(
            model,
            loader(),
            epochs=2,
            optimizer=now(model),
            checkpoint_path=path,
            resume=True,
            device=CPU,
        )
    was, uses = type(saved(model)).__name__, type(now(model)).__name__
    assert f"the checkpoint was saved with {was}, this run uses {uses}" in str(info.value)
    assert "overwrite=True" in str(info.value)


def test_resume_with_other_parameter_groups_says_so(tmp_path):
    path = tmp_path / "run.pt"
    model = mlp()
    fit(model, loader(), epochs=1, optimizer=_sgd(model), checkpoint_path=path, device=CPU)
    model = mlp()
    groups = [{"params": model[0].parameters()}, {"params": model[2].parameters(), "lr": 0.01}]
    with pytest.raises(CheckpointError, match="does not fit the saved one .*parameter groups"):
        fit(
            model,
            loader(),
            epochs=2,
            optimizer=torch.optim.SGD(groups, lr=0.05, momentum=0.9),
            checkpoint_path=path,
            resume=True,
            device=CPU,
        )


def test_resume_with_another_scheduler_type_says_so(tmp_path):
    path = tmp_path / "run.pt"
    model = mlp()
    opt = _sgd(model)
    step = torch.optim.lr_scheduler.StepLR(opt, step_size=1)
    fit(model, loader(), epochs=1, optimizer=opt, scheduler=step, checkpoint_path=path, device=CPU)
    model = mlp()
    opt = _sgd(model)
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=2)
    with pytest.raises(CheckpointError, match="saved with StepLR, this run uses CosineAnnealingLR"):
        fit(
            model,
            loader(),
            epochs=2,
            optimizer=opt,
            scheduler=cosine,
            checkpoint_path=path,
            resume=True,
            device=CPU,
        )


# ---------------------------------------------------------------- outputs that do not fit labels


@pytest.mark.parametrize(
    ("model", "classes", "expected"),
    [
        (
            nn.Sequential(nn.Linear(2, 10), nn.Unflatten(1, (10, 1))),
            10,
            "does not fit the labels: output (32, 10, 1), labels (32,)",
        ),
        (
            nn.Linear(2, 5),
            10,
            "labels go from 0 to 9, but the model gives 5 class scores per sample "
            "(output (32, 5), labels (32,))",
        ),
        (
            nn.Sequential(nn.Linear(2, 1), nn.Flatten(0)),  # (N, 1) -> (N,): no class dim
            3,
            "does not fit the labels: output (32,), labels (32,)",
        ),
    ],
    ids=["extra-dimension", "too-few-classes", "squeezed"],
)
@pytest.mark.parametrize("where", ["fit", "evaluate"])
def test_output_that_does_not_fit_the_labels_names_both_shapes(model, classes, expected, where):
    data = loader(classes=classes)
    with pytest.raises(TrainingError) as info:
        if where == "fit":
            fit(model, data, epochs=1, device=CPU, verbose=False)
        else:
            evaluate(model, data, device=CPU)
    assert expected in str(info.value)


def test_labels_of_the_wrong_dtype_are_named():
    x, y = blobs()
    data = DeviceLoader(x, y.int(), batch_size=32, device=CPU)
    with pytest.raises(TrainingError, match=r"labels are torch.int32, .*labels.long\(\)"):
        fit(mlp(), data, epochs=1, device=CPU, verbose=False)


class _ReturnsTuple(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.GRU(2, 3, batch_first=True)

    def forward(self, x):
        return self.rnn(x.unsqueeze(1))  # (output, h): a tuple


def test_a_model_that_returns_a_tuple_is_named():
    with pytest.raises(TrainingError, match="the model returned a tuple, not a tensor"):
        fit(_ReturnsTuple(), loader(), epochs=1, device=CPU, verbose=False)


def test_an_empty_loader_is_named():
    with pytest.raises(TrainingError, match="the loader gave no batches"):
        fit(mlp(), [], epochs=1, device=CPU, verbose=False)


# ---------------------------------------------------------------- devices this machine lacks


def _no_cuda(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def _no_mps(monkeypatch) -> None:
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


@pytest.mark.parametrize(
    ("device", "expected"),
    [
        ("cuda", "device='cuda': there is no CUDA device on this machine"),
        ("cuda:0", "device='cuda:0': there is no CUDA device on this machine"),
        ("mps", "device='mps': Apple's MPS is not available on this machine"),
        ("gpu", "device='gpu' is not a device name"),
    ],
    ids=["cuda", "cuda-0", "mps", "gpu"],
)
@pytest.mark.parametrize("where", ["DeviceLoader", "fit", "evaluate", "predict"])
def test_a_device_this_machine_lacks_is_named(monkeypatch, device, expected, where):
    _no_cuda(monkeypatch)
    _no_mps(monkeypatch)
    x, y = blobs()
    with pytest.raises(ValueError) as info:
        if where == "DeviceLoader":
            DeviceLoader(x, y, device=device)
        elif where == "fit":
            fit(mlp(), loader(), epochs=1, device=device, verbose=False)
        elif where == "evaluate":
            evaluate(mlp(), loader(), device=device)
        else:
            predict(mlp(), loader(), device=device)
    message = str(info.value)
    assert expected in message and "device='cpu'" in message


def test_a_cuda_index_beyond_the_gpus_is_named(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ValueError, match="'cuda:3': this machine has 1 CUDA device"):
        resolve_device("cuda:3")


def test_a_device_of_the_wrong_kind_is_named():
    with pytest.raises(TypeError, match=r"device must be a name .* got 3.5 \(float\)"):
        resolve_device(3.5)
    assert resolve_device("cpu") == CPU and resolve_device(None) == devices.best_device()


# ---------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    ("kwargs", "error", "expected"),
    [
        ({"epochs": 2.5}, TypeError, r"epochs must be a whole number \(an int\) >= 0, got 2.5"),
        ({"epochs": True}, TypeError, "epochs must be a whole number .* got True"),
        ({"epochs": "3"}, TypeError, r"epochs must be a whole number .* got '3' \(str\)"),
        ({"lr": 0}, ValueError, "lr must be a finite number greater than 0, got 0"),
        ({"lr": -0.1}, ValueError, "lr must be .* greater than 0, got -0.1"),
        ({"lr": float("nan")}, ValueError, "lr must be a finite number .* got nan"),
        ({"lr": float("inf")}, ValueError, "lr must be a finite number .* got inf"),
        ({"lr": "1e-3"}, TypeError, r"lr must be a number, got '1e-3' \(str\)"),
        ({"grad_clip": 0.0}, ValueError, "grad_clip must be .* greater than 0, got 0.0"),
        ({"seed": -1}, ValueError, r"seed must be between 0 and 2\*\*32 - 1 .* got -1"),
        ({"seed": 2**32}, ValueError, "seed must be between 0 and .* got 4294967296"),
        ({"seed": 1.5}, TypeError, "seed must be a whole number .* got 1.5"),
        ({"optimizer": torch.optim.Adam}, TypeError, "got the class Adam"),
        ({"resume": True}, ValueError, "resume=True needs checkpoint_path"),
    ],
    ids=[
        "epochs-float",
        "epochs-bool",
        "epochs-str",
        "lr-zero",
        "lr-negative",
        "lr-nan",
        "lr-inf",
        "lr-str",
        "grad-clip-zero",
        "seed-negative",
        "seed-too-large",
        "seed-float",
        "optimizer-class",
        "resume-without-path",
    ],
)
def test_fit_refuses_bad_arguments_saying_what_it_got(kwargs, error, expected):
    model = mlp()
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(error, match=expected):
        fit(model, loader(), **{"epochs": 1, "device": CPU, **kwargs})
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters())), "nothing trained"


def test_lr_together_with_an_optimizer_is_refused_not_ignored():
    model = mlp()
    with pytest.raises(ValueError, match=r"both lr=0\.5 and an optimizer: .* would be ignored"):
        fit(model, loader(), epochs=1, optimizer=_adam(model), lr=0.5, device=CPU)


def test_an_optimizer_of_another_model_is_refused():
    model, other = mlp(), mlp()
    with pytest.raises(ValueError, match="updates none of this model's parameters"):
        fit(model, loader(), epochs=1, optimizer=_adam(other), device=CPU)


@pytest.mark.parametrize(
    ("train", "expected"),
    [
        (blobs()[0], r"a tensor of shape \(96, 2\)"),
        (blobs(), "a tuple of tensors"),
        (TensorDataset(*blobs()), "a TensorDataset"),
    ],
    ids=["tensor", "pair", "dataset"],
)
def test_data_that_is_not_a_loader_is_refused(train, expected):
    with pytest.raises(TypeError, match=f"train must give batches .*; got {expected}"):
        fit(mlp(), train, epochs=1, device=CPU)


def test_a_model_that_is_not_a_module_is_refused():
    with pytest.raises(TypeError, match="model must be a network .* got function"):
        fit(lambda x: x, loader(), epochs=1, device=CPU)


@pytest.mark.parametrize(
    ("kwargs", "error", "expected"),
    [
        ({"batch_size": 2.5}, TypeError, "batch_size must be a whole number .* got 2.5"),
        ({"batch_size": True}, TypeError, "batch_size must be a whole number .* got True"),
        ({"batch_size": -4}, ValueError, "batch_size must be an int >= 1, got -4"),
        ({"crop_padding": 1.5}, TypeError, "crop_padding must be a whole number .* got 1.5"),
        ({"seed": -1}, ValueError, "seed must be between 0 and .* got -1"),
        ({"seed": 0.5}, TypeError, "seed must be a whole number .* got 0.5"),
    ],
    ids=[
        "batch-size-float",
        "batch-size-bool",
        "batch-size-negative",
        "crop-padding-float",
        "seed-negative",
        "seed-float",
    ],
)
def test_device_loader_refuses_bad_arguments_saying_what_it_got(kwargs, error, expected):
    with pytest.raises(error, match=expected):
        DeviceLoader(*blobs(), device=CPU, **kwargs)


@pytest.mark.parametrize(
    ("seed", "error"),
    [(-1, ValueError), (2**32, ValueError), (1.5, TypeError), (True, TypeError)],
    ids=["negative", "too-large", "float", "bool"],
)
def test_seed_everything_refuses_seeds_numpy_cannot_take(seed, error):
    with pytest.raises(error, match=f"seed must be .* got {seed}"):
        seed_everything(seed)
    assert seed_everything(2**32 - 1) == 2**32 - 1


def test_course_seed_above_the_seed_range_is_refused():
    with pytest.raises(SettingsError, match="COURSE_SEED=4294967296 is too large"):
        read_settings({"COURSE_SEED": str(2**32)})


# ---------------------------------------------------------------- losses that explode


def _exploding_after(calls: int, factor: float = 1e6):
    """cross_entropy, multiplied by `factor` from call `calls` on: large but finite."""
    seen = {"n": 0}

    def loss_fn(out, y):
        seen["n"] += 1
        scale = factor if seen["n"] >= calls else 1.0
        return F.cross_entropy(out, y) * scale

    return loss_fn


def test_a_loss_that_explodes_without_nan_stops_training(tmp_path):
    path = tmp_path / "run.pt"  # 96 / 32 -> 3 steps per epoch
    with pytest.raises(TrainingError) as info:
        fit(
            mlp(),
            loader(),
            epochs=3,
            loss_fn=_exploding_after(3 + 2),
            checkpoint_path=path,
            device=CPU,
            verbose=False,
        )
    message = str(info.value)
    assert "the training loss exploded to" in message and "epoch 2, step 2" in message
    assert "10,000 times its start" in message and "lower learning rate" in message
    assert load_checkpoint(path)["epoch"] == 1, "the last good checkpoint is kept"


def test_a_real_divergence_is_stopped_before_it_overflows():
    """Linear regression with far too large a step: the loss grows geometrically."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 4, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 3.0, 0.5])
    data = DeviceLoader(x, y.unsqueeze(1), batch_size=16, device=CPU, seed=0)
    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    with pytest.raises(TrainingError, match="exploded to .* times its start"):
        fit(
            model,
            data,
            epochs=50,
            optimizer=torch.optim.SGD(model.parameters(), lr=3.0),
            loss_fn=F.mse_loss,
            device=CPU,
            verbose=False,
        )


def test_a_large_but_steady_loss_is_not_taken_for_an_explosion():
    """The bar is relative: a regression whose loss starts at about 1e6 trains on."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 4, generator=g)
    y = 1000 * (x @ torch.tensor([1.0, -2.0, 3.0, 0.5]))
    data = DeviceLoader(x, y.unsqueeze(1), batch_size=16, device=CPU, seed=0)
    torch.manual_seed(0)
    h = fit(nn.Linear(4, 1), data, epochs=3, lr=1e-2, loss_fn=F.mse_loss, device=CPU)
    assert h["train_loss"][0] > 1e6 and len(h) == 3
