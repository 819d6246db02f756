"""Which device to run on, seeding, determinism and a one-line environment report."""

from __future__ import annotations

import os
import platform
import random

import numpy as np
import torch

from .arguments import check_flag, check_seed
from .settings import get_settings


def best_device() -> torch.device:
    """The fastest device here: CUDA, then Apple's MPS, then the CPU.

    Used by notebooks 00, 04, 05, 06, 07, 08, 09.
    """
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def resolve_device(device: torch.device | str | None = None) -> torch.device:
    """`device` as a `torch.device` (None: `best_device()`), refused with a clear message when
    it is not a device name or this machine does not have it (e.g. "cuda" without a GPU)."""
    if device is None:
        return best_device()
    if isinstance(device, bool) or not isinstance(device, (str, torch.device, int)):
        raise TypeError(
            f"device must be a name such as 'cpu' or 'cuda', a torch.device or None, "
            f"got {device!r} ({type(device).__name__})."
        )
    try:
        found = torch.device(device)
    except RuntimeError:
        raise ValueError(
            f"device={device!r} is not a device name; use device='cpu', 'cuda', 'cuda:1' or "
            f"'mps', or device=None for the best one here ({best_device()})."
        ) from None
    _check_present(found, device)
    return found


def bf16_pays(device: torch.device | str | None = None) -> bool:
    """Whether bfloat16 autocast with channels_last speeds up training of a small CNN here.

    True on GPUs that compute bfloat16 natively (NVIDIA from Ampere on; a T4 or V100 only
    emulates it), and on CPUs with AMX matrix units (there a training step of notebook 08's
    CNNs ran 2.3-2.9x faster than in float32: `benchmarks/cpu_bf16_speed.py`). False
    elsewhere: without AMX the CPU's bfloat16 path was not measured to be faster.

    Used by notebook 08.
    """
    device = resolve_device(device)
    if device.type == "cuda":
        return autocast_dtype(device) == torch.bfloat16
    amx = getattr(torch.cpu, "_is_amx_tile_supported", None)
    return device.type == "cpu" and amx is not None and bool(amx())


def autocast_dtype(device: torch.device) -> torch.dtype:
    """The dtype of mixed precision on `device`, as fit and the doctor use it: bfloat16, except
    float16 on GPUs that only emulate bfloat16 (before Ampere, e.g. the T4 or V100)."""
    if device.type == "cuda" and not torch.cuda.is_bf16_supported(including_emulation=False):
        return torch.float16  # needs a GradScaler: fit makes one
    return torch.bfloat16  # CPU autocast only knows bfloat16


def seed_everything(seed: int | None = None) -> int:
    """Seed Python, NumPy and PyTorch (all devices); returns the seed used.

    Without an argument the course seed (`COURSE_SEED`, default 0) is used. A seed is a whole
    number from 0 to 2**32 - 1.

    Used by notebooks 00, 01, 02, 03, 04, 05, 06, 07, 08, 09.
    """
    seed = get_settings().seed if seed is None else check_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return seed


def set_deterministic(on: bool = True) -> None:
    """Ask PyTorch for bit-identical results run to run (slower on a GPU); False restores
    PyTorch's defaults (the cuBLAS workspace setting stays: cuBLAS read it when it started).

    On: deterministic algorithms (warning, not failing, where an op has none), cuDNN's
    deterministic kernels without its benchmark autotuner, and a fixed cuBLAS workspace.

    Explained (not called) in notebook 04.
    """
    on = bool(check_flag(on, "on"))
    if on:  # cuBLAS reads this when it starts; PyTorch's docs ask for it with determinism
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(on, warn_only=on)
    torch.backends.cudnn.deterministic = on
    torch.backends.cudnn.benchmark = False  # PyTorch's default; on, it picks kernels by speed


def device_name(device: torch.device | str | None = None) -> str:
    """A human name for `device`: the GPU's model, or the CPU's architecture.

    Used by notebook 04.
    """
    device = resolve_device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU ({platform.machine()}, {torch.get_num_threads()} threads)"


def environment_report() -> dict[str, str]:
    """Versions and hardware, for a banner or a bug report."""
    import torchvision

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "device": device_name(),
        "cuda": torch.version.cuda or "none",
        "threads": str(torch.get_num_threads()),
    }


def banner() -> str:
    """One line for the top of every notebook: mode, device, versions, data directory."""
    s = get_settings()
    env = environment_report()
    how = "auto" if s.fast_source == "auto" else "COURSE_FAST"
    offline = ", offline" if s.offline else ""
    # never the machine's own path: the banner is part of every committed notebook
    data = "COURSE_DATA_DIR" if s.data_dir_source == "env" else "data/"
    return (
        f"mode={s.mode} ({how}{offline}) | device={env['device']} | "
        f"torch {env['torch']}, torchvision {env['torchvision']}, python {env['python']} | "
        f"data={data} | seed={s.seed}"
    )


def print_banner() -> None:
    """Print `banner()`; the first code cell of every notebook calls this. Changes nothing.

    Used by notebooks 00, 01, 02, 03, 04, 05, 06, 07, 08, 09.
    """
    print(banner())


# ---------------------------------------------------------------- private helpers


def _check_present(device: torch.device, asked: object) -> None:
    """Raise a ValueError when this machine lacks `device` (a CUDA or MPS device)."""
    fallback = f"use device='cpu', or device=None for the best one here ({best_device()})"
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={asked!r}: there is no CUDA device on this machine "
                f"(torch.cuda.is_available() is False); {fallback}. On Colab, pick a GPU under "
                "Runtime > Change runtime type."
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise ValueError(
                f"device={asked!r}: this machine has {count} CUDA device(s), "
                f"cuda:0 to cuda:{count - 1}; pick one of those, or {fallback}."
            )
    if device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(
                f"device={asked!r}: Apple's MPS is not available on this machine (it needs a "
                f"Mac with Apple silicon); {fallback}."
            )
