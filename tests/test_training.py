"""fit / evaluate / predict / History on a tiny problem that a small MLP learns in a second."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from helpers.checkpoints import CheckpointError, load_checkpoint
from helpers.loaders import DeviceLoader
from helpers.training import History, TrainingError, best_path, evaluate, fit, predict

CPU = torch.device("cpu")


pytestmark = pytest.mark.usefixtures("one_thread")


def blobs(n: int = 240, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Three Gaussian clouds in 2-D: (n, 2) float points and (n,) labels."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    centres = torch.tensor([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    return centres[y] + 0.6 * torch.randn(n, 2, generator=g), y


def mlp(hidden: int = 16, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, 3))


def loaders(batch_size: int = 32):
    x, y = blobs()
    xv, yv = blobs(90, seed=1)
    train = DeviceLoader(x, y, batch_size=batch_size, device=CPU, seed=0)
    val = DeviceLoader(xv, yv, batch_size=64, shuffle=False, device=CPU)
    return train, val


def strip_seconds(history: History) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in history.records]


def test_loss_decreases_and_history_is_complete():
    train, val = loaders()
    h = fit(mlp(), train, val, epochs=5, lr=1e-2, device=CPU, verbose=False)
    assert len(h) == 5 and h["epoch"] == [1, 2, 3, 4, 5]
    assert h["train_loss"][-1] < 0.5 * h["train_loss"][0]
    assert h["val_acc"][-1] > 0.9  # the blobs are well separated
    assert all(0 <= a <= 1 for a in h["train_acc"] + h["val_acc"])
    assert h["lr"] == [1e-2] * 5 and all(s > 0 for s in h["seconds"])
    best = max(range(5), key=lambda i: (h["val_acc"][i], -i)) + 1
    assert h.best_epoch == best and h.best["epoch"] == best and h.last["epoch"] == 5
    assert set(h.last) == {
        "epoch",
        "train_loss",
        "train_acc",
        "val_loss",
        "val_acc",
        "lr",
        "seconds",
    }


def test_initial_loss_is_near_ln_classes():
    """A sanity check the course teaches: an untrained 3-class model starts near ln 3."""
    _, val = loaders()
    model = nn.Sequential(nn.Linear(2, 3))
    nn.init.zeros_(model[0].weight)
    nn.init.zeros_(model[0].bias)
    assert evaluate(model, val, device=CPU)["loss"] == pytest.approx(math.log(3), rel=1e-6)


def test_same_seed_gives_identical_history():
    def run(seed: int, disturb: int) -> list[dict]:
        x, y = blobs()
        dl = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
        torch.manual_seed(0)  # the same initial weights; fit(seed=...) fixes shuffling and dropout
        model = nn.Sequential(nn.Linear(2, 16), nn.Dropout(0.2), nn.ReLU(), nn.Linear(16, 3))
        torch.rand(disturb)  # move the global random stream on: only fit's seed can undo this
        return strip_seconds(fit(model, dl, epochs=3, device=CPU, seed=seed, verbose=False))

    assert run(7, 1) == run(7, 5)
    assert run(7, 1) != run(8, 1)


def test_history_without_validation_uses_train_loss_and_round_trips():
    train, _ = loaders()
    h = fit(mlp(), train, epochs=3, lr=1e-2, device=CPU, verbose=False)
    assert h["val_loss"] == [None] * 3 and h["val_acc"] == [None] * 3
    assert h.best_epoch == 1 + min(range(3), key=lambda i: h["train_loss"][i])
    assert h[0]["epoch"] == 1 and h[-1] is h.last and [r["epoch"] for r in h] == [1, 2, 3]
    back = History.from_dict(h.to_dict())
    assert back.records == h.records
    text = repr(h)
    assert "best epoch" in text and text.count("\n") == 4  # header line, table header, 3 epochs
    with pytest.raises(KeyError, match="no column 'accuracy'"):
        h["accuracy"]


def test_float_targets_have_no_accuracy():
    x = torch.randn(64, 4)
    autoencoder = nn.Sequential(nn.Linear(4, 2), nn.Linear(2, 4))
    dl = DeviceLoader(x, x, batch_size=16, device=CPU)
    h = fit(autoencoder, dl, dl, epochs=2, loss_fn=F.mse_loss, device=CPU, verbose=False)
    assert h["train_acc"] == [None, None] and h["val_acc"] == [None, None]
    assert h.best_epoch == 1 + min(range(2), key=lambda i: h["val_loss"][i])


class SequenceTagger(nn.Module):
    """Token ids (N, T) -> logits (N, C, T), the layout cross_entropy wants."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(5, 5)
        with torch.no_grad():
            self.emb.weight.copy_(torch.eye(5) * 10)  # predicts the input token itself

    def forward(self, tokens):
        return self.emb(tokens).transpose(1, 2)


def test_sequence_accuracy_counts_tokens_and_skips_ignore_index():
    tokens = torch.tensor([[0, 1, 2, 3], [4, 4, 1, 0]])
    targets = tokens.clone()
    targets[0, 0] = 3  # one wrong token
    targets[1, 2:] = -100  # two padding positions, not counted
    dl = DeviceLoader(tokens, targets, batch_size=2, shuffle=False, device=CPU)
    res = evaluate(SequenceTagger(), dl, device=CPU)
    assert res["acc"] == pytest.approx(5 / 6)


def _nan_after(calls: int):
    """cross_entropy that returns NaN from the `calls`-th training call on."""
    seen = {"n": 0}

    def loss_fn(out, y):
        if torch.is_grad_enabled():
            seen["n"] += 1
            if seen["n"] >= calls:
                return F.cross_entropy(out, y) * float("nan")
        return F.cross_entropy(out, y)

    return loss_fn


def test_nan_loss_stops_with_epoch_and_step_and_keeps_last_checkpoint(tmp_path):
    train, val = loaders()  # 240 / 32 -> 8 steps per epoch
    path = tmp_path / "run.pt"
    with pytest.raises(TrainingError) as info:
        fit(
            mlp(),
            train,
            val,
            epochs=4,
            loss_fn=_nan_after(8 + 3),
            checkpoint_path=path,
            device=CPU,
            verbose=False,
        )
    msg = str(info.value)
    assert "epoch 2, step 3" in msg and "learning rate" in msg and "grad_clip" in msg
    assert load_checkpoint(path)["epoch"] == 1


def test_resume_adds_exactly_the_missing_epochs_and_matches_an_unbroken_run(tmp_path):
    path = tmp_path / "run.pt"
    first = fit(
        mlp(), loaders()[0], loaders()[1], epochs=2, checkpoint_path=path, device=CPU, verbose=False
    )
    assert path.exists() and best_path(path).exists()
    assert load_checkpoint(path)["epoch"] == 2
    # a fresh process would rebuild model and loaders: do the same here
    resumed = fit(
        mlp(seed=123),
        loaders()[0],
        loaders()[1],
        epochs=4,
        checkpoint_path=path,
        resume=True,
        device=CPU,
        verbose=False,
    )
    assert resumed["epoch"] == [1, 2, 3, 4]
    assert strip_seconds(resumed)[:2] == strip_seconds(first)
    unbroken = fit(mlp(), loaders()[0], loaders()[1], epochs=4, device=CPU, verbose=False)
    assert strip_seconds(resumed) == strip_seconds(unbroken)


def test_resume_when_already_done_returns_history_unchanged(tmp_path):
    path = tmp_path / "run.pt"
    model = mlp()
    done = fit(model, loaders()[0], epochs=2, checkpoint_path=path, device=CPU, verbose=False)
    other = mlp(seed=5)
    again = fit(
        other, loaders()[0], epochs=2, checkpoint_path=path, resume=True, device=CPU, verbose=False
    )
    assert again.records == done.records
    assert all(
        torch.equal(a, b) for a, b in zip(model.state_dict().values(), other.state_dict().values())
    )


def test_resume_into_another_architecture_raises_checkpoint_error(tmp_path):
    path = tmp_path / "run.pt"
    fit(mlp(hidden=16), loaders()[0], epochs=1, checkpoint_path=path, device=CPU, verbose=False)
    with pytest.raises(CheckpointError, match=r"0.weight: checkpoint \(16, 2\) vs model \(8, 2\)"):
        fit(
            mlp(hidden=8),
            loaders()[0],
            epochs=2,
            checkpoint_path=path,
            resume=True,
            device=CPU,
            verbose=False,
        )


def test_restore_best_loads_the_best_epoch_weights(tmp_path):
    train, val = loaders()
    model = mlp()
    # a high learning rate makes the later epochs bounce, so "best" is not always "last"
    h = fit(
        model,
        train,
        val,
        epochs=6,
        lr=0.3,
        optimizer=None,
        checkpoint_path=tmp_path / "r.pt",
        restore_best=True,
        device=CPU,
        verbose=False,
    )
    assert evaluate(model, val, device=CPU)["acc"] == pytest.approx(h.best["val_acc"])
    saved = load_checkpoint(best_path(tmp_path / "r.pt"))
    assert saved["epoch"] == h.best_epoch
    assert all(torch.equal(saved["model"][k], v) for k, v in model.state_dict().items())


def test_scheduler_function_and_recorded_learning_rate():
    train, _ = loaders()
    h = fit(
        mlp(),
        train,
        epochs=3,
        lr=0.1,
        device=CPU,
        verbose=False,
        scheduler=lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5),
    )
    assert h["lr"] == pytest.approx([0.1, 0.05, 0.025])


def test_verbose_prints_one_line_per_epoch(capsys):
    train, val = loaders()
    fit(mlp(), train, val, epochs=2, device=CPU, progress=False)
    lines = capsys.readouterr().out.strip().splitlines()
    assert (
        len(lines) == 2 and lines[0].startswith("epoch 1/2 | train loss") and "val loss" in lines[1]
    )


def test_progress_bar_on_and_off(course_env, capsys):
    from helpers.training import _progress_wanted

    course_env(COURSE_PROGRESS="0")
    assert _progress_wanted(None) is False and _progress_wanted(True) is True
    course_env(COURSE_PROGRESS="1")
    assert _progress_wanted(None) is True
    course_env(COURSE_PROGRESS=None)
    assert _progress_wanted(None) is False  # under pytest
    fit(mlp(), loaders()[0], epochs=1, device=CPU, progress=True, verbose=False)
    assert "epoch 1/1" in capsys.readouterr().err  # tqdm writes to stderr


def test_evaluate_values_and_mode_restored():
    x, y = blobs(50)
    model = mlp()
    dl = DataLoader(TensorDataset(x, y), batch_size=16)
    with torch.no_grad():
        out = model(x)
    for training in (True, False):
        model.train(training)
        res = evaluate(model, dl, device=CPU)
        assert model.training is training
        assert res["loss"] == pytest.approx(F.cross_entropy(out, y).item(), rel=1e-5)
        assert res["acc"] == pytest.approx((out.argmax(1) == y).float().mean().item())


def test_predict_shapes_and_values():
    x, y = blobs(50)
    model = mlp()
    model.train()
    preds, labels = predict(model, DataLoader(TensorDataset(x, y), batch_size=16), device=CPU)
    assert preds.shape == (50,) and labels.shape == (50,)
    assert preds.dtype == torch.long and labels.dtype == torch.long and preds.device.type == "cpu"
    with torch.no_grad():
        assert torch.equal(preds, model(x).argmax(1))
    assert torch.equal(labels, y) and model.training


def test_bad_epochs_rejected():
    with pytest.raises(ValueError, match="epochs"):
        fit(mlp(), loaders()[0], epochs=-1, device=CPU)


def _tiny_convnet() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 2),
    )


def _bright_or_dark(n: int = 64):
    """Images whose class is whether they are bright: a conv net learns it in a few steps."""
    g = torch.Generator().manual_seed(0)
    y = torch.arange(n) % 2
    x = (torch.rand(n, 3, 8, 8, generator=g) * 128 + 127 * y.view(n, 1, 1, 1)).to(torch.uint8)
    return DeviceLoader(
        x, y, batch_size=16, augment=True, mean=[0.5] * 3, std=[0.25] * 3, device=CPU
    )


def test_mixed_precision_and_channels_last_paths_run_on_cpu():
    """The CUDA code paths (autocast, channels_last) exercised on the CPU with bfloat16."""
    model = _tiny_convnet()
    h = fit(
        model,
        _bright_or_dark(),
        epochs=4,
        lr=0.05,
        amp=True,
        channels_last=True,
        device=CPU,
        verbose=False,
    )
    assert all(math.isfinite(v) for v in h["train_loss"])
    assert h["train_loss"][-1] < h["train_loss"][0]
    assert model[0].weight.is_contiguous(memory_format=torch.channels_last)


def test_float16_grad_scaler_state_is_checkpointed_and_resumed(tmp_path, monkeypatch):
    """float16 autocast needs a GradScaler (CUDA GPUs without bfloat16); forced here on CPU."""
    import helpers.training as training

    monkeypatch.setattr(training, "_amp_dtype", lambda device, amp: torch.float16)
    path = tmp_path / "fp16.pt"
    fit(
        _tiny_convnet(),
        _bright_or_dark(),
        epochs=1,
        device=CPU,
        grad_clip=1.0,
        checkpoint_path=path,
        verbose=False,
    )
    scaler_state = load_checkpoint(path)["scaler"]
    assert scaler_state is not None and scaler_state["scale"] > 0
    h = fit(
        _tiny_convnet(),
        _bright_or_dark(),
        epochs=2,
        device=CPU,
        grad_clip=1.0,
        checkpoint_path=path,
        resume=True,
        verbose=False,
    )
    assert h["epoch"] == [1, 2] and all(math.isfinite(v) for v in h["train_loss"])


def test_resume_says_where_it_starts(tmp_path, capsys):
    path = tmp_path / "run.pt"
    fit(mlp(), loaders()[0], epochs=1, checkpoint_path=path, resume=True, device=CPU)
    assert capsys.readouterr().out.startswith(f"no checkpoint at {path} yet: starting at epoch 1")
    fit(mlp(), loaders()[0], epochs=2, checkpoint_path=path, resume=True, device=CPU)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"resumed from {path} after epoch 1 of 2" and out[1].startswith("epoch 2/2")


class _DtypeRecorder(nn.Module):
    """A linear classifier that remembers the dtype its layer computed in."""

    def __init__(self) -> None:
        super().__init__()
        self.linear, self.seen = nn.Linear(2, 3), set()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.linear(x)
        self.seen.add(out.dtype)
        return out


@pytest.mark.parametrize("amp, dtype", [(True, torch.bfloat16), (False, torch.float32)])
def test_evaluate_and_predict_compute_like_fit(amp, dtype):
    """A model trained and selected in bfloat16 is scored in bfloat16 too (amp=True), so the
    kept epoch's validation accuracy is reproduced, not re-measured in another precision."""
    train, val = loaders()
    model = _DtypeRecorder()
    fit(model, train, val, epochs=1, lr=0.1, amp=amp, device=CPU, verbose=False)
    assert model.seen == {dtype}
    model.seen.clear()
    evaluate(model, val, device=CPU, amp=amp)
    assert model.seen == {dtype}
    model.seen.clear()
    predict(model, val, device=CPU, amp=amp)
    assert model.seen == {dtype}


def test_a_finished_run_is_never_replaced_silently(tmp_path):
    path = tmp_path / "run.pt"
    first = fit(mlp(), *loaders(), epochs=2, checkpoint_path=path, device=CPU, verbose=False)
    before = path.read_bytes(), best_path(path).read_bytes()
    with pytest.raises(TrainingError) as err:
        fit(mlp(seed=1), *loaders(), epochs=2, checkpoint_path=path, device=CPU, verbose=False)
    message = str(err.value)
    assert f"a run of 2 epoch(s), best epoch {first.best_epoch} with val_acc" in message
    assert "resume=True" in message and "overwrite=True" in message and "another" in message
    assert (path.read_bytes(), best_path(path).read_bytes()) == before, "nothing was touched"
    fit(
        mlp(seed=1),
        *loaders(),
        epochs=1,
        checkpoint_path=path,
        overwrite=True,
        device=CPU,
        verbose=False,
    )
    assert len(History.from_dict(load_checkpoint(path)["history"])) == 1


def test_fit_reads_on_one_screen():
    """fit's body (after its docstring) stays within 60 lines: the loop, not the plumbing."""
    import ast
    import inspect

    import helpers.training as training

    tree = ast.parse(inspect.getsource(training))
    fit_def = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "fit")
    body_lines = fit_def.end_lineno - fit_def.body[1].lineno + 1  # body[0] is the docstring
    assert body_lines <= 60, f"fit's body has {body_lines} lines; move plumbing into helpers"


def _loader_order(seed: int | None) -> list[list[int]]:
    """The sample order fit(seed=...) trains on: two epochs over a loader of the indices."""
    seen: list[list[int]] = []

    class Recorder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.zeros(1, 3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if self.training:
                seen.append(x[:, 0].long().tolist())
            return x[:, :1] * self.w

    index = torch.arange(40, dtype=torch.float32).unsqueeze(1)  # (40, 1): sample i holds i
    train = DeviceLoader(index, torch.arange(40) % 3, batch_size=8, device=CPU, seed=0)
    fit(Recorder(), train, epochs=2, device=CPU, seed=seed, verbose=False)
    return seen


def test_fit_seed_fixes_the_device_loader_order():
    """fit(seed=1) and fit(seed=2) shuffle differently; each repeats itself, also on a loader
    that was iterated before; seed=None keeps the loader's own stream going."""
    one, two = _loader_order(1), _loader_order(2)
    assert one != two
    assert _loader_order(1) == one and _loader_order(2) == two
    assert sorted(sum(one[:5], [])) == list(range(40))  # an epoch still visits every sample once
    loader = DeviceLoader(torch.zeros(40, 1), torch.zeros(40).long(), batch_size=40, device=CPU)
    first = next(iter(loader))[0]
    loader.manual_seed(loader.seed)
    assert torch.equal(next(iter(loader))[0], first)


def test_fit_with_seed_0_keeps_the_loader_order_of_a_new_loader():
    """The course seed 0 gives the order a fresh DeviceLoader (seed 0) has: the committed
    notebooks, which call fit(seed=0) on new loaders, keep their numbers."""
    assert _loader_order(0) == _loader_order(None)


def test_sequence_accuracy_skips_the_loss_own_ignore_index():
    """A padding value given to the loss (nn.CrossEntropyLoss(ignore_index=0) or a partial of
    F.cross_entropy) is left out of the accuracy too, not only -100."""
    from functools import partial

    tokens = torch.tensor([[1, 2, 3, 4], [4, 4, 1, 2]])
    targets = tokens.clone()
    targets[0, 0] = 3  # one wrong token
    targets[1, 2:] = 0  # two padding positions (the model would get them wrong)
    dl = DeviceLoader(tokens, targets, batch_size=2, shuffle=False, device=CPU)
    for loss_fn in (nn.CrossEntropyLoss(ignore_index=0), partial(F.cross_entropy, ignore_index=0)):
        assert evaluate(SequenceTagger(), dl, loss_fn, device=CPU)["acc"] == pytest.approx(5 / 6)
    assert evaluate(SequenceTagger(), dl, device=CPU)["acc"] == pytest.approx(5 / 8)


def test_a_scheduler_must_step_the_optimizer_fit_trains_with():
    train, val = loaders()
    model = mlp()
    other = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="another optimizer than the one fit trains with"):
        fit(model, train, epochs=1, scheduler=torch.optim.lr_scheduler.StepLR(other, 1), device=CPU)
    with pytest.raises(TypeError, match="got the class StepLR"):
        fit(model, train, epochs=1, scheduler=torch.optim.lr_scheduler.StepLR, device=CPU)
    with pytest.raises(TypeError, match="scheduler must be a scheduler"):
        fit(model, train, epochs=1, scheduler=0.1, device=CPU)
    # the two accepted forms: a function of fit's optimizer, or one built on the optimizer given
    h = fit(model, train, epochs=2, scheduler=lambda opt: torch.optim.lr_scheduler.StepLR(opt, 1, 0.1),
            device=CPU, verbose=False)  # fmt: skip
    assert h["lr"] == pytest.approx([1e-3, 1e-4])
    h = fit(model, train, epochs=2, optimizer=other, device=CPU, verbose=False,
            scheduler=torch.optim.lr_scheduler.StepLR(other, 1, 0.5))  # fmt: skip
    assert h["lr"] == pytest.approx([0.1, 0.05])


@pytest.mark.parametrize("loss_fn", [nn.CrossEntropyLoss, "cross_entropy"])
def test_a_loss_class_or_name_is_refused_before_training(loss_fn):
    train, _ = loaders()
    with pytest.raises(TypeError, match="loss_fn must be a loss function"):
        fit(mlp(), train, epochs=1, loss_fn=loss_fn, device=CPU)
    with pytest.raises(TypeError, match="loss_fn must be a loss function"):
        evaluate(mlp(), train, loss_fn, device=CPU)


def test_float64_inputs_get_one_message_saying_how_to_convert_them():
    x, y = blobs()
    train = DeviceLoader(x.double(), y, batch_size=32, device=CPU)  # as from a NumPy array
    with pytest.raises(
        TrainingError, match=r"inputs \(32, 2\) torch.float64: .*x.to\(torch.float32\)"
    ):
        fit(mlp(), train, epochs=1, device=CPU, verbose=False)


def test_float_class_labels_are_refused_with_the_conversion_to_use():
    x, y = blobs()
    train = DeviceLoader(x, y.float(), batch_size=32, device=CPU)
    with pytest.raises(TrainingError, match=r"labels are torch.float32.*labels.long\(\)"):
        fit(mlp(), train, epochs=1, device=CPU, verbose=False)


def test_evaluate_and_predict_check_what_they_are_given():
    x, y = blobs()
    with pytest.raises(TypeError, match="must give batches"):
        evaluate(mlp(), (x, y), device=CPU)
    with pytest.raises(TypeError, match="must give batches"):
        predict(mlp(), TensorDataset(x, y), device=CPU)
    with pytest.raises(TypeError, match="model must be a network"):
        evaluate("mlp", DeviceLoader(x, y, device=CPU), device=CPU)
    with pytest.raises(TrainingError, match="gave no batches"):
        predict(mlp(), [], device=CPU)

    class Pair(nn.Module):  # returns (output, state) as nn.LSTM does
        def forward(self, x):
            return x, None

    with pytest.raises(TrainingError, match="not a tensor"):
        predict(Pair(), DeviceLoader(x, y, device=CPU), device=CPU)


def test_a_history_built_from_partial_records_has_every_column():
    h = History([{"epoch": 1, "val_acc": 0.5}, {"epoch": 2, "val_acc": 0.7, "extra": 1}])
    assert set(h[0]) == set(h[1]) == {"epoch", "train_loss", "train_acc", "val_loss", "val_acc",
                                      "lr", "seconds"}  # fmt: skip
    assert h.best_epoch == 2 and "best epoch 2" in repr(h)


def test_a_layer_that_does_not_fit_the_input_is_named_with_the_fix():
    x, y = blobs()
    train = DeviceLoader(x, y, batch_size=32, device=CPU)
    wrong_width = nn.Sequential(nn.Linear(5, 3))  # the points have 2 features, not 5
    with pytest.raises(
        TrainingError, match=r"expects 5 input features but gets 2: .*nn.Linear\(2,"
    ):
        fit(wrong_width, train, epochs=1, device=CPU, verbose=False)
    images = DeviceLoader(
        torch.zeros(8, 1, 8, 8, dtype=torch.uint8), torch.zeros(8).long(), device=CPU
    )
    with pytest.raises(TrainingError, match="in_channels must be the images' channels"):
        evaluate(nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten()), images, device=CPU)


def test_a_frozen_model_a_loader_without_labels_and_word_flags_are_refused():
    train, _ = loaders()
    frozen = mlp()
    frozen.requires_grad_(False)
    with pytest.raises(ValueError, match="no parameter of the model requires a gradient"):
        fit(frozen, train, epochs=1, device=CPU)
    x, _ = blobs()
    with pytest.raises(TrainingError, match=r"pair \(inputs, targets\).*TensorDataset\(x, y\)"):
        fit(mlp(), DataLoader(TensorDataset(x), batch_size=32), epochs=1, device=CPU)
    for flag in ("resume", "verbose", "amp", "progress"):
        with pytest.raises(TypeError, match=f"{flag} must be True"):
            fit(mlp(), train, epochs=1, device=CPU, **{flag: "no"})


def test_a_folder_is_refused_as_checkpoint_path(tmp_path):
    train, _ = loaders()
    with pytest.raises(TrainingError, match="is a folder; give a file in it"):
        fit(mlp(), train, epochs=1, device=CPU, checkpoint_path=tmp_path)
    with pytest.raises(TrainingError, match="is a folder"):
        fit(mlp(), train, epochs=1, device=CPU, checkpoint_path=f"{tmp_path}/new/")
    assert list(tmp_path.iterdir()) == []


def test_predict_refuses_one_output_per_sample_and_history_a_whole_record():
    x, y = blobs()
    with pytest.raises(TrainingError, match=r"argmax over class scores.*\(model\(x\) > 0\)"):
        predict(nn.Linear(2, 1), DeviceLoader(x, y, device=CPU), device=CPU)
    with pytest.raises(TypeError, match=r"History\(record\['history'\]\)"):
        History({"name": "run", "history": []})


def test_mixed_precision_uses_float16_where_the_gpu_only_emulates_bfloat16(monkeypatch):
    from helpers.training import _amp_dtype

    cuda = torch.device("cuda")
    for native, expected in ((True, torch.bfloat16), (False, torch.float16)):
        monkeypatch.setattr(  # a T4: bfloat16 tensors work (emulated), the hardware lacks it
            torch.cuda,
            "is_bf16_supported",
            lambda including_emulation=True, n=native: n or including_emulation,
        )
        assert _amp_dtype(cuda, None) is expected
    assert _amp_dtype(CPU, None) is None and _amp_dtype(CPU, True) is torch.bfloat16


def test_the_hints_name_the_layer_that_does_not_fit_and_odd_ignore_index_is_tolerated():
    images = DeviceLoader(
        torch.zeros(8, 3, 8, 8, dtype=torch.uint8), torch.zeros(8).long(), device=CPU
    )
    middle = nn.Sequential(nn.Conv2d(3, 32, 3), nn.Conv2d(16, 8, 3), nn.Flatten())
    with pytest.raises(
        TrainingError, match="expects 16 input channels but gets 32: .*the layer before"
    ):
        evaluate(middle, images, device=CPU)

    class MaskedCE(nn.Module):
        ignore_index = None  # a custom loss's own attribute

        def forward(self, out, y):
            return F.cross_entropy(out, y)

    train, _ = loaders()
    assert len(fit(mlp(), train, epochs=1, loss_fn=MaskedCE(), device=CPU, verbose=False)) == 1
    assert History({"records": [{"epoch": 1}]}).best_epoch is None  # History.to_dict()'s form


def test_numpy_booleans_are_flags_too():
    """np.bool_ (e.g. from a comparison of NumPy values) is accepted as True/False."""
    import numpy as np

    train, _ = loaders()
    h = fit(mlp(), train, epochs=1, device=CPU, verbose=np.False_, amp=np.False_)
    assert len(h) == 1
