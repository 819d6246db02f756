"""fit under torchrun: 2 processes (gloo, CPU) compute what 1 process computes with the
doubled batch; a process that dies ends the job with a clear message and a checkpoint that
resumes; DeviceLoader's parts cover the set once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from helpers import distributed as ddp
from helpers.checkpoints import load_checkpoint, load_state_dict_checked
from helpers.loaders import DeviceLoader
from helpers.training import fit

sys.path.insert(0, str(Path(__file__).parent))
import _ddp_worker as worker  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
B = 16  # batch size per process; the single-process reference uses 2 * B
EPOCHS = 3
TORCHRUN_TIMEOUT_S = 420  # a hang fails the test instead of blocking the suite (quiet: ~15 s)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The single-process run: batch 2B, same seed and data; (weights, history records)."""
    model, history = worker.train(tmp_path_factory.mktemp("single"), 2 * B, EPOCHS)
    return model.state_dict(), history.records


def torchrun(out_dir: Path, epochs: int, *args: str) -> subprocess.CompletedProcess:
    """Run tests/_ddp_worker.py on 2 processes; a job that hangs is stopped and fails the test."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "COURSE_PROGRESS": "0",
        "OMP_NUM_THREADS": "1",  # one thread per process (torchrun would set it, with a warning)
    }
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    script = [str(REPO / "tests" / "_ddp_worker.py"), str(out_dir), str(B), str(epochs)]
    log = out_dir / f"torchrun{len(list(out_dir.glob('torchrun*.log')))}.log"
    with open(log, "w") as out:  # a file, not a pipe: nothing can block on reading it
        job = subprocess.Popen(
            [*launcher, "--nproc_per_node", "2", *script, *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            job.wait(timeout=TORCHRUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            job.terminate()  # SIGTERM: torchrun stops its workers (their own sessions) first
            try:
                job.wait(timeout=60)
            except subprocess.TimeoutExpired:
                job.kill()
                job.wait()
            pytest.fail(f"torchrun hung for {TORCHRUN_TIMEOUT_S} s:\n{log.read_text()}")
    output = log.read_text()
    return subprocess.CompletedProcess(job.args, job.returncode, output)  # stdout + stderr


def assert_same_run(result: dict, reference) -> None:
    """The same weights and history as the reference run (within float rounding)."""
    weights, records = reference
    for name, expected in weights.items():
        torch.testing.assert_close(result["model"][name], expected, atol=1e-5, rtol=1e-4)
    assert len(result["history"]) == len(records) == EPOCHS
    for got, want in zip(result["history"], records):
        assert got["epoch"] == want["epoch"] and got["lr"] == want["lr"]
        for column in ("train_loss", "train_acc", "val_loss", "val_acc"):
            assert got[column] == pytest.approx(want[column], abs=1e-5), (got["epoch"], column)


@pytest.mark.slow  # three Python processes import torch: 10-30 s
@pytest.mark.skipif(sys.platform == "win32", reason="torchrun's gloo jobs: tested on POSIX")
def test_two_processes_equal_one_process_with_the_double_batch(tmp_path, reference):
    # 2 epochs, then fresh objects resume to epoch 3: every process loads the checkpoint
    done = torchrun(tmp_path, 2, "--resume-to", str(EPOCHS))
    assert done.returncode == 0, done.stdout
    assert done.stdout.count("epoch 2/2") == 1, done.stdout  # only rank 0 prints
    assert done.stdout.count("resumed from") == 1 and "after epoch 2 of 3" in done.stdout
    assert_same_run(load_checkpoint(tmp_path / "result_rank0.pt"), reference)
    assert_same_run(load_checkpoint(tmp_path / "result_rank1.pt"), reference)  # all end equal
    # the checkpoint holds the bare model's keys (no "module." from DDP): loads anywhere
    load_state_dict_checked(worker.small_cnn(), load_checkpoint(tmp_path / "run.pt")["model"])


@pytest.mark.slow  # three Python processes import torch: 10-30 s
@pytest.mark.skipif(sys.platform == "win32", reason="torchrun's gloo jobs: tested on POSIX")
def test_a_killed_process_ends_the_job_and_the_checkpoint_resumes(tmp_path, reference):
    steps_per_epoch = worker.N_TRAIN // (2 * B)
    crashed = torchrun(tmp_path, EPOCHS, "--crash-at", str(steps_per_epoch + 3))  # epoch 2
    output = crashed.stdout
    assert crashed.returncode != 0, output
    assert "rank 1: simulated crash" in output
    root_cause = output.split("Root Cause")[-1]  # torchrun's summary of the failure
    assert "rank      : 1" in root_cause and "exitcode  : 1" in root_cause, output
    # rank 0 either saw the broken connection and said so, or torchrun stopped it first
    stopped = "rank      : 0" in output and "exitcode  : -15" in output  # SIGTERM
    assert "stopped in epoch 2 on rank 0: another process stopped" in output or stopped, output
    assert not list(tmp_path.glob("result_rank*.pt"))
    state = load_checkpoint(tmp_path / "run.pt")
    assert state["epoch"] == 1
    load_state_dict_checked(worker.small_cnn(), state["model"])

    # one process with the double batch continues the 2-process run exactly where it stopped
    model, history = worker.train(tmp_path, 2 * B, EPOCHS, resume=True)
    assert_same_run({"model": model.state_dict(), "history": history.records}, reference)


# ---------------------------------------------------------------- in one process, quick


def test_parts_cover_the_set_and_batch_k_is_the_double_batch_k():
    x = torch.arange(40).view(40, 1, 1, 1).expand(40, 1, 4, 4).to(torch.uint8).contiguous()
    y = torch.arange(40)

    def loader(batch_size):
        return DeviceLoader(x, y, batch_size, augment=True, crop_padding=1, device="cpu", seed=5)

    whole = [(bx, by) for bx, by in loader(8)]
    parts = [list(loader(4).shard(rank, 2)) for rank in (0, 1)]
    assert len(parts[0]) == len(parts[1]) == len(whole) == 5
    for k, (bx, by) in enumerate(whole):
        joined_y = torch.cat([parts[0][k][1], parts[1][k][1]])
        joined_x = torch.cat([parts[0][k][0], parts[1][k][0]])
        order = joined_y.argsort()
        assert torch.equal(joined_y[order], by.sort().values)
        assert torch.equal(joined_x[order], bx[by.argsort()])  # the same crops and flips


@pytest.mark.parametrize("pad", [True, False])
def test_parts_of_an_odd_set(pad):
    def loader():  # each process builds its own, with the same seed
        return DeviceLoader(torch.arange(11), torch.arange(11), 2, device="cpu", seed=2)

    parts = [torch.cat([bx for bx, _ in loader().shard(r, 3, pad=pad)]) for r in range(3)]
    sizes = [len(p) for p in parts]
    seen = torch.cat(parts).tolist()
    if pad:  # equal parts (12 places): one sample is repeated
        assert sizes == [4, 4, 4] and set(seen) == set(range(11)) and len(seen) == 12
    else:  # every sample exactly once
        assert sizes == [4, 4, 3] and sorted(seen) == list(range(11))
    assert "part 2 of 3" in repr(loader().shard(2, 3))
    with pytest.raises(ValueError, match="rank must be below"):
        loader().shard(3, 3)


@pytest.fixture
def one_process_group():
    """A gloo group of one process, so that fit's distributed path runs in this process."""
    store = dist.HashStore()
    dist.init_process_group("gloo", store=store, rank=0, world_size=1)
    yield
    dist.destroy_process_group()


def test_distributed_fit_in_a_group_of_one_equals_plain_fit(tmp_path, one_process_group, capsys):
    runs = []
    for distributed in (False, True):
        images, labels = worker.data()
        torch.manual_seed(0)
        model = worker.small_cnn()
        train = DeviceLoader(images[:64], labels[:64], 16, device="cpu", seed=1)
        val = DeviceLoader(images[64:96], labels[64:96], 16, shuffle=False, device="cpu")
        history = fit(
            model, train, val, epochs=2, device="cpu", distributed=distributed, verbose=False,
            checkpoint_path=tmp_path / f"{distributed}.pt",
        )  # fmt: skip
        runs.append((model.state_dict(), [r["val_loss"] for r in history]))
    (plain_w, plain_h), (dist_w, dist_h) = runs
    assert dist_h == pytest.approx(plain_h, abs=1e-6)
    for name in plain_w:
        torch.testing.assert_close(dist_w[name], plain_w[name], atol=1e-6, rtol=1e-5)


def test_a_distributed_sampler_gets_set_epoch(one_process_group):
    images, labels = worker.data()
    data = TensorDataset(images[:32].float() / 255, labels[:32])
    sampler = DistributedSampler(data, num_replicas=1, rank=0, seed=0)
    epochs_seen = []
    original = sampler.set_epoch
    sampler.set_epoch = lambda e: (epochs_seen.append(e), original(e))
    train = DataLoader(data, batch_size=8, sampler=sampler)
    fit(worker.small_cnn(), train, epochs=3, device="cpu", distributed=True, verbose=False)
    assert epochs_seen == [1, 2, 3]


def test_a_training_dataloader_without_a_distributed_sampler_is_refused(one_process_group):
    images, labels = worker.data()
    train = DataLoader(TensorDataset(images[:32].float(), labels[:32]), batch_size=8)
    with pytest.raises(TypeError, match="DistributedSampler"):
        fit(worker.small_cnn(), train, epochs=1, device="cpu", distributed=True, verbose=False)


def test_distributed_true_without_torchrun_says_how_to_launch(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert ddp.wanted(None) is False and ddp.wanted(False) is False
    with pytest.raises(RuntimeError, match="torchrun --standalone --nproc_per_node"):
        ddp.wanted(True)
    monkeypatch.setenv("WORLD_SIZE", "1")  # torchrun --nproc_per_node 1: only when asked
    assert ddp.wanted(None) is False and ddp.wanted(True) is True
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert ddp.wanted(None) is True and ddp.wanted(False) is False


def test_a_broken_connection_is_recognised_and_named_briefly():
    gloo = RuntimeError(
        "[/pytorch/third_party/gloo/gloo/transport/tcp/pair.cc:545] Read error "
        "[127.0.0.1]:38036: Connection reset by peer. This is typically caused by ..."
    )
    assert ddp.lost_contact(gloo)
    assert ddp.first_reason(gloo) == "Read error [127.0.0.1]:38036: Connection reset by peer"
    assert not ddp.lost_contact(RuntimeError("CUDA out of memory. Tried to allocate 2 GiB"))
