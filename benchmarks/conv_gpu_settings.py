"""How cuDNN autotuning, determinism, TF32, channels_last and mixed precision change CNN speed.

    python benchmarks/conv_gpu_settings.py                     # ResNet-50 training steps
    python benchmarks/conv_gpu_settings.py --mode inference    # forward passes only
    python benchmarks/conv_gpu_settings.py --model resnet18 --batch-size 128 --image-size 224

Times one training step (forward, backward, SGD update) or one forward pass of a torchvision
model (random weights, random images: speed does not depend on the values) under each setting,
with `torch.utils.benchmark.Timer`, and prints a markdown table: milliseconds per iteration,
images per second, speed-up over the default, peak GPU memory, the largest logit difference
from float32 on a fixed batch, and whether two identical training steps gave bit-identical
gradients. Made for a CUDA GPU (e.g. an H100); on a CPU it runs the settings that apply there
(no cuDNN, no float16) at a smaller size and says so.
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import warnings
from dataclasses import dataclass

import torch
import torchvision
from torch import nn
from torch.utils import benchmark

os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS, if asked
# Deterministic mode warns (once is enough) about ops without a deterministic CUDA kernel.
warnings.filterwarnings("once", message=".*does not have a deterministic implementation.*")


@dataclass(frozen=True)
class Setting:
    name: str
    channels_last: bool = False
    dtype: torch.dtype | None = None  # autocast dtype; None = float32
    cudnn_benchmark: bool = False
    deterministic: bool = False
    tf32: bool = True  # cudnn.allow_tf32: PyTorch's default for convolutions (Ampere and newer)
    cuda_only: bool = False


SETTINGS = [
    Setting("fp32, NCHW (default)"),
    Setting("fp32, TF32 off", tf32=False, cuda_only=True),
    Setting("fp32, cudnn.benchmark", cudnn_benchmark=True, cuda_only=True),
    Setting("fp32, deterministic", deterministic=True, cuda_only=True),
    Setting("fp32, channels_last", channels_last=True),
    Setting("fp32, channels_last + benchmark", channels_last=True, cudnn_benchmark=True,
            cuda_only=True),
    Setting("fp16 autocast, NCHW + benchmark", dtype=torch.float16, cudnn_benchmark=True,
            cuda_only=True),
    Setting("fp16 autocast, channels_last + benchmark", channels_last=True, dtype=torch.float16,
            cudnn_benchmark=True, cuda_only=True),
    Setting("bf16 autocast, NCHW", dtype=torch.bfloat16),
    Setting("bf16 autocast, channels_last", channels_last=True, dtype=torch.bfloat16),
    Setting("bf16 autocast, channels_last + benchmark", channels_last=True, dtype=torch.bfloat16,
            cudnn_benchmark=True, cuda_only=True),
    Setting("bf16 autocast, channels_last, deterministic", channels_last=True,
            dtype=torch.bfloat16, deterministic=True, cuda_only=True),
]  # fmt: skip


def apply(setting: Setting) -> None:
    """Switch the global backend flags to `setting`."""
    torch.backends.cudnn.benchmark = setting.cudnn_benchmark
    torch.backends.cudnn.deterministic = setting.deterministic
    torch.use_deterministic_algorithms(setting.deterministic, warn_only=True)
    torch.backends.cudnn.allow_tf32 = setting.tf32  # convolutions only; matmuls untouched


def restore_defaults() -> None:
    apply(Setting("default"))


class Runner:
    """One model, one batch, one optimizer; runs steps under a given setting."""

    def __init__(self, model_name: str, batch: int, size: int, device: torch.device):
        torch.manual_seed(0)
        self.device = device
        self.model = getattr(torchvision.models, model_name)(weights=None).to(device)
        self.images = torch.randn(batch, 3, size, size, device=device)
        self.labels = torch.randint(0, 1000, (batch,), device=device)
        self.initial_state = copy.deepcopy(self.model.state_dict())
        self.first_conv = next(m for m in self.model.modules() if isinstance(m, nn.Conv2d))

    def prepare(self, setting: Setting) -> None:
        """Reset weights and optimizer to the same starting point, then apply `setting`."""
        self.model.load_state_dict(self.initial_state)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=1e-3, momentum=0.9)
        apply(setting)
        fmt = torch.channels_last if setting.channels_last else torch.contiguous_format
        self.model.to(memory_format=fmt)
        self.inputs = self.images.to(memory_format=fmt)
        self.setting = setting
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=setting.dtype == torch.float16)

    def _autocast(self):
        return torch.autocast(
            self.device.type, dtype=self.setting.dtype, enabled=self.setting.dtype is not None
        )

    def forward(self) -> torch.Tensor:
        self.model.eval()
        with torch.no_grad(), self._autocast():
            return self.model(self.inputs)

    def train_step(self) -> None:
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        with self._autocast():
            loss = nn.functional.cross_entropy(self.model(self.inputs), self.labels)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()

    def gradient_is_repeatable(self) -> bool:
        """Two backward passes from the same weights and batch: bit-identical gradients?"""
        grads = []
        self.model.train()
        for _ in range(2):
            self.model.zero_grad(set_to_none=True)
            with self._autocast():
                loss = nn.functional.cross_entropy(self.model(self.inputs), self.labels)
            loss.backward()
            grads.append(self.first_conv.weight.grad.detach().clone())
        self.model.zero_grad(set_to_none=True)
        return torch.equal(grads[0], grads[1])


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(runner: Runner, setting: Setting, mode: str, min_run_time: float) -> dict:
    runner.prepare(setting)
    step = runner.train_step if mode == "train" else runner.forward
    for _ in range(3):  # warm-up: cuDNN autotuning happens on the first call of each shape
        step()
    sync(runner.device)
    if runner.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(runner.device)
    timer = benchmark.Timer(stmt="step()", globals={"step": step})
    ms = timer.blocked_autorange(min_run_time=min_run_time).median * 1e3
    peak = (
        torch.cuda.max_memory_allocated(runner.device) / 2**30
        if runner.device.type == "cuda"
        else None
    )
    return {"ms": ms, "peak_gib": peak, "repeatable": runner.gradient_is_repeatable()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cuda = torch.cuda.is_available()
    parser.add_argument("--model", default="resnet50" if cuda else "resnet18")
    parser.add_argument("--batch-size", type=int, default=128 if cuda else 8)
    parser.add_argument("--image-size", type=int, default=224 if cuda else 64)
    parser.add_argument("--mode", choices=["train", "inference"], default="train")
    parser.add_argument("--min-run-time", type=float, default=2.0 if cuda else 0.5,
                        help="seconds of timed repetitions per setting")  # fmt: skip
    args = parser.parse_args()

    device = torch.device("cuda" if cuda else "cpu")
    if cuda:
        name = torch.cuda.get_device_name(device)
        cudnn = torch.backends.cudnn.version()
    else:
        name, cudnn = f"CPU ({platform.machine()}, {torch.get_num_threads()} threads)", "none"
    print(
        f"device: {name} | torch {torch.__version__} | CUDA build {torch.version.cuda} | cuDNN {cudnn}"
    )
    print(
        f"model: {args.model}, {args.mode}, batch {args.batch_size}, "
        f"{args.image_size}x{args.image_size}, median of repeated runs "
        f"(torch.utils.benchmark, >= {args.min_run_time} s each)\n"
    )
    runner = Runner(args.model, args.batch_size, args.image_size, device)
    settings = [s for s in SETTINGS if cuda or not s.cuda_only]

    reference = None
    rows = []
    for setting in settings:
        result = measure(runner, setting, args.mode, args.min_run_time)
        runner.prepare(setting)  # back to the initial weights, for a fair comparison
        logits = runner.forward().float()
        reference = logits if reference is None else reference
        result["max_diff"] = (logits - reference).abs().max().item()
        rows.append((setting, result))
    restore_defaults()

    base = rows[0][1]["ms"]
    print("| setting | ms / iteration | images / s | speed-up | peak GPU memory | "
          "max abs logit diff vs first row | repeatable gradients |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|:---:|")
    for setting, r in rows:
        memory = f"{r['peak_gib']:.2f} GiB" if r["peak_gib"] is not None else "n/a"
        print(
            f"| {setting.name} | {r['ms']:.1f} | {args.batch_size / r['ms'] * 1e3:,.0f} | "
            f"{base / r['ms']:.2f}x | {memory} | {r['max_diff']:.2e} | "
            f"{'yes' if r['repeatable'] else 'no'} |"
        )
    if not cuda:
        skipped = [s.name for s in SETTINGS if s.cuda_only]
        print(
            f"\nNo CUDA GPU: skipped {len(skipped)} CUDA-only settings (cuDNN flags, TF32, fp16)."
        )


if __name__ == "__main__":
    main()
