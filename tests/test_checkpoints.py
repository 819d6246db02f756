"""Checkpoints: round trip, atomic writes, clear errors for damaged files and wrong models."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import torch
from torch import nn

from helpers.checkpoints import (
    TEMP_PREFIX,
    CheckpointError,
    load_checkpoint,
    load_state_dict_checked,
    save_checkpoint,
)


def _small_net(hidden: int = 4) -> nn.Module:
    return nn.Sequential(nn.Linear(3, hidden), nn.ReLU(), nn.Linear(hidden, 2))


def test_round_trip_keeps_tensors_and_plain_values(tmp_path):
    net = _small_net()
    state = {"model": net.state_dict(), "epoch": 3, "note": "hello", "scores": [0.5, 0.25]}
    path = save_checkpoint(tmp_path / "sub" / "c.pt", state)
    assert path == tmp_path / "sub" / "c.pt"
    back = load_checkpoint(path)
    assert back["epoch"] == 3 and back["note"] == "hello" and back["scores"] == [0.5, 0.25]
    for k, v in net.state_dict().items():
        assert torch.equal(back["model"][k], v)


def test_keyword_state_is_merged(tmp_path):
    save_checkpoint(tmp_path / "c.pt", {"a": 1}, b=torch.ones(2))
    back = load_checkpoint(tmp_path / "c.pt")
    assert back["a"] == 1 and torch.equal(back["b"], torch.ones(2))


def _leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(TEMP_PREFIX))


def test_crash_while_writing_keeps_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "c.pt"
    save_checkpoint(path, {"version": 1, "w": torch.arange(5)})
    real_save = torch.save

    def save_then_crash(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)  # bytes are on their way to the temp file...
        raise KeyboardInterrupt  # ...and the process is interrupted

    monkeypatch.setattr(torch, "save", save_then_crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, {"version": 2, "w": torch.zeros(5)})
    monkeypatch.undo()
    assert load_checkpoint(path)["version"] == 1
    assert _leftovers(tmp_path) == []
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]


def test_failed_rename_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "c.pt"
    save_checkpoint(path, {"version": 1})

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(CheckpointError, match="could not save the checkpoint .*c.pt .*disk full"):
        save_checkpoint(path, {"version": 2})
    monkeypatch.undo()
    assert load_checkpoint(path)["version"] == 1
    assert _leftovers(tmp_path) == []


def test_temp_files_of_a_killed_save_are_removed_by_the_next_save(tmp_path):
    path = tmp_path / "c.pt"
    stale = tmp_path / f"{TEMP_PREFIX}c.pt.abc123"
    stale.write_bytes(b"half a checkpoint")  # what a SIGKILL during a save leaves
    hours_ago = time.time() - 2 * 3600
    os.utime(stale, (hours_ago, hours_ago))
    fresh = tmp_path / f"{TEMP_PREFIX}c.pt.4242.abc"
    fresh.write_bytes(b"another process is writing this right now")
    other = tmp_path / f"{TEMP_PREFIX}other.pt.xyz"
    other.write_bytes(b"another file's temp")
    os.utime(other, (hours_ago, hours_ago))
    save_checkpoint(path, {"ok": True})
    assert not stale.exists() and other.exists() and fresh.exists()
    assert load_checkpoint(path) == {"ok": True}


def test_two_processes_saving_to_one_path_both_finish(tmp_path):
    """Each save has a temp file of its own; neither deletes the other's, the file stays whole."""
    script = (
        "import sys, torch\n"
        "from helpers.checkpoints import save_checkpoint\n"
        "for i in range(40):\n"
        "    save_checkpoint(sys.argv[1], {'i': i, 'w': torch.randn(20_000)})\n"
    )
    path = tmp_path / "shared.pt"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(path)], stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    assert load_checkpoint(path)["i"] == 39
    assert not list(tmp_path.glob(f"{TEMP_PREFIX}*"))


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at .*nothing.pt"):
        load_checkpoint(tmp_path / "nothing.pt")


@pytest.mark.parametrize("keep", [0.5, 0.1, 0.0])
def test_truncated_file_raises_checkpoint_error_naming_it(tmp_path, keep):
    path = tmp_path / "c.pt"
    save_checkpoint(path, {"w": torch.randn(100, 100)})
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message and "damaged" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_garbage_file_raises_checkpoint_error(tmp_path):
    path = tmp_path / "notes.pt"
    path.write_text("these are not weights")
    with pytest.raises(CheckpointError, match="notes.pt is not a weights file"):
        load_checkpoint(path)


def test_non_dict_checkpoint_is_rejected(tmp_path):
    path = tmp_path / "t.pt"
    torch.save(torch.ones(3), path)
    with pytest.raises(CheckpointError, match="holds a Tensor, not a dict"):
        load_checkpoint(path)


def test_pickled_code_is_refused(tmp_path):
    """weights_only=True: a checkpoint cannot smuggle in arbitrary objects."""
    path = tmp_path / "evil.pt"
    torch.save({"model": _small_net()}, path)  # a whole module, not a state dict
    with pytest.raises(CheckpointError, match="evil.pt is not a weights file") as info:
        load_checkpoint(path)
    message = str(info.value)
    assert "torch.nn.modules.container.Sequential" in message and "state_dict()" in message
    assert "\x1b" not in message and "weights_only=False" not in message


def test_matching_state_dict_loads():
    src, dst = _small_net(), _small_net()
    load_state_dict_checked(dst, src.state_dict())
    assert all(
        torch.equal(a, b) for a, b in zip(src.state_dict().values(), dst.state_dict().values())
    )


def test_mismatch_lists_missing_unexpected_and_shapes():
    src = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2), nn.Linear(2, 2))
    dst = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    sd = src.state_dict()
    del sd["0.bias"]
    with pytest.raises(CheckpointError) as info:
        load_state_dict_checked(dst, sd)
    msg = str(info.value)
    assert "missing keys (1, " in msg and ": 0.bias" in msg
    assert "unexpected keys (2, " in msg and ": 3.weight, 3.bias" in msg
    assert "strip_prefix" not in msg  # no misleading hint: '3.' is not a wrapper prefix
    assert "0.weight: checkpoint (8, 3) vs model (4, 3)" in msg
    assert "2.weight: checkpoint (2, 8) vs model (2, 4)" in msg
    assert "another architecture" in msg
    # nothing was loaded
    assert dst[0].weight.shape == (4, 3)


def test_prefix_stripping_and_hint():
    src, dst = _small_net(), _small_net()
    wrapped = {f"module.{k}": v for k, v in src.state_dict().items()}
    with pytest.raises(CheckpointError, match="strip_prefix='module.'"):
        load_state_dict_checked(dst, wrapped)
    load_state_dict_checked(dst, wrapped, strip_prefix="module.")
    assert torch.equal(dst[0].weight, src[0].weight)


def test_save_checkpoint_with_its_arguments_swapped_says_which_comes_first(tmp_path):
    model = torch.nn.Linear(2, 2)
    with pytest.raises(TypeError, match="the file name comes first"):
        save_checkpoint(model.state_dict(), tmp_path / "run.pt")
    with pytest.raises(TypeError, match=r"state must be a dict such as \{'model'"):
        save_checkpoint(tmp_path / "run.pt", model)
    assert not (tmp_path / "run.pt").exists()


def test_a_whole_checkpoint_passed_as_weights_names_the_entry(tmp_path):
    model = torch.nn.Linear(2, 2)
    save_checkpoint(tmp_path / "run.pt", model=model.state_dict(), classes=["a", "b"])
    with pytest.raises(CheckpointError, match=r"pass checkpoint\['model'\]"):
        load_state_dict_checked(model, load_checkpoint(tmp_path / "run.pt"))
