"""A training run killed mid-epoch loses at most the epoch in progress, and resumes cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from helpers.checkpoints import TEMP_PREFIX, CheckpointError, load_checkpoint
from helpers.training import fit

sys.path.insert(0, str(Path(__file__).parent))
from _interrupt_worker import slow_loss, tiny_run  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
EPOCHS = 8


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _saved_epoch(path: Path) -> int:
    try:
        return load_checkpoint(path)["epoch"]
    except CheckpointError:  # not written yet
        return 0


def _records(history) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in history.records]


@pytest.mark.slow  # a fresh Python process has to import torch: a few seconds
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX only")
def test_sigkill_mid_epoch_then_resume(tmp_path):
    path = tmp_path / "run.pt"
    env = {**os.environ, "PYTHONPATH": str(REPO), "COURSE_PROGRESS": "0"}
    worker = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "tests" / "_interrupt_worker.py"),
            str(path),
            str(EPOCHS),
            "0.03",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120  # the child imports torch: slow on a busy machine
        while _saved_epoch(path) < 1:
            assert worker.poll() is None, worker.stdout.read().decode()
            assert time.monotonic() < deadline, "the worker never finished its first epoch"
            time.sleep(0.02)
        time.sleep(0.1)  # an epoch takes >= 10 steps * 0.03 s: we are inside a later one
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.stdout.close()
    assert worker.returncode == -signal.SIGKILL
    done = _saved_epoch(path)
    assert 1 <= done < EPOCHS, f"the worker was not killed mid-run (saved epoch {done})"

    model, train, val = tiny_run()
    history = fit(
        model,
        train,
        val,
        epochs=EPOCHS,
        loss_fn=slow_loss(0),
        checkpoint_path=path,
        resume=True,
        device="cpu",
        seed=0,
        verbose=False,
    )
    assert history["epoch"] == list(range(1, EPOCHS + 1))  # every epoch exactly once
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(TEMP_PREFIX)]
    assert leftovers == []
    for file in tmp_path.iterdir():  # every checkpoint present loads
        assert load_checkpoint(file)["epoch"] >= 1
    # and nothing was lost or repeated: the same numbers as a run that was never killed
    model, train, val = tiny_run()
    unbroken = fit(model, train, val, epochs=EPOCHS, device="cpu", seed=0, verbose=False)
    assert _records(history) == _records(unbroken)


def test_keyboard_interrupt_keeps_last_epoch_and_says_how_to_resume(tmp_path, capsys):
    path = tmp_path / "run.pt"
    calls = {"n": 0}

    def interrupting_loss(out, y):
        if torch.is_grad_enabled():
            calls["n"] += 1
            if calls["n"] == 10 + 4:  # epoch 2, step 4
                raise KeyboardInterrupt
        return torch.nn.functional.cross_entropy(out, y)

    model, train, val = tiny_run()
    with pytest.raises(KeyboardInterrupt):
        fit(
            model,
            train,
            val,
            epochs=3,
            loss_fn=interrupting_loss,
            checkpoint_path=path,
            device="cpu",
            verbose=False,
        )
    assert capsys.readouterr().out.strip().splitlines()[-1] == (
        f"interrupted in epoch 2; {path} holds epoch 1: resume with fit(..., resume=True) and "
        "the same checkpoint_path"
    )
    assert load_checkpoint(path)["epoch"] == 1
    model, train, val = tiny_run()
    history = fit(
        model, train, val, epochs=3, checkpoint_path=path, resume=True, device="cpu", verbose=False
    )
    assert history["epoch"] == [1, 2, 3]


def test_keyboard_interrupt_without_a_checkpoint_does_not_suggest_resuming(capsys):
    """Without checkpoint_path there is nothing to resume from: the message says so instead of
    suggesting resume=True, which fit would refuse."""

    def interrupting_loss(out, y):
        raise KeyboardInterrupt

    model, train, val = tiny_run()
    with pytest.raises(KeyboardInterrupt):
        fit(model, train, val, epochs=2, loss_fn=interrupting_loss, device="cpu", verbose=False)
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("interrupted in epoch 1; no checkpoint was written")
    assert "resume=True" not in last
