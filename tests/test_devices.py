"""Device choice, seeding, determinism and the banner."""

import random
import warnings

import numpy as np
import pytest
import torch

from helpers import devices


def test_best_device_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert devices.best_device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert devices.best_device().type == "mps"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert devices.best_device().type == "cpu"


def test_seed_everything_repeats_every_generator():
    def draw():
        return random.random(), float(np.random.rand()), torch.rand(3).tolist()

    devices.seed_everything(123)
    first = draw()
    devices.seed_everything(123)
    assert draw() == first
    devices.seed_everything(124)
    assert draw() != first


def test_seed_everything_defaults_to_the_course_seed(course_env):
    course_env(COURSE_SEED="9")
    assert devices.seed_everything() == 9


def test_deterministic_switch_round_trips():
    devices.set_deterministic(True)
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    devices.set_deterministic(False)
    assert not torch.are_deterministic_algorithms_enabled()


def test_banner_is_one_line_with_mode_device_versions_and_data_dir():
    line = devices.banner()
    assert "\n" not in line
    for part in ("mode=", "device=", "torch ", "torchvision ", "data=", "seed="):
        assert part in line
    report = devices.environment_report()
    assert report["torch"] == torch.__version__


def test_torchvision_compiled_ops_load():
    """A CPU-only torch beside a CUDA torchvision fails here ('torchvision::nms does not exist')."""
    from torchvision.ops import nms

    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0], [50.0, 50.0, 60.0, 60.0]])
    keep = nms(boxes, torch.tensor([0.9, 0.8, 0.7]), iou_threshold=0.5)
    assert keep.tolist() == [0, 2]


def test_strict_warnings_turn_torch_deprecations_into_errors():
    from helpers.strict import strict_warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        strict_warnings()
        with pytest.raises(FutureWarning):
            warnings.warn_explicit("old API", FutureWarning, "x.py", 1, module="torch.cuda.amp")
        warnings.warn_explicit("unrelated", FutureWarning, "y.py", 1, module="somewhere_else")


def test_bf16_pays_on_native_bf16_gpus_and_on_amx_cpus_only(monkeypatch):
    # a GPU that computes bfloat16 natively (Ampere on) pays; one that only emulates it (T4) not
    monkeypatch.setattr(devices, "resolve_device", lambda device: torch.device(device))
    for native, expected in ((True, True), (False, False)):
        monkeypatch.setattr(  # emulation counts only when asked for, as in torch
            torch.cuda,
            "is_bf16_supported",
            lambda including_emulation=True, n=native: n or including_emulation,
        )
        assert devices.bf16_pays("cuda") is expected
    assert devices.bf16_pays("mps") is False
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True, raising=False)
    assert devices.bf16_pays("cpu") is True
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    assert devices.bf16_pays("cpu") is False
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported", raising=False)
    assert devices.bf16_pays("cpu") is False


def test_set_deterministic_false_restores_pytorchs_defaults():
    devices.set_deterministic(True)
    devices.set_deterministic(False)
    assert not torch.are_deterministic_algorithms_enabled()
    assert not torch.is_deterministic_algorithms_warn_only_enabled()
    assert not torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark


def test_print_banner_prints_and_changes_nothing(capsys, course_env):
    course_env(COURSE_STRICT_WARNINGS="1")
    before = list(warnings.filters)
    devices.print_banner()
    assert warnings.filters == before
    assert capsys.readouterr().out.strip() == devices.banner()


def test_set_deterministic_refuses_a_word_for_on():
    with pytest.raises(TypeError, match="on must be True or False"):
        devices.set_deterministic("yes")
