"""Training speed of notebook 08's models on the CPU: float32 vs bfloat16 autocast, with and
without channels_last. `helpers.bf16_pays` turns bfloat16 on for CPUs with AMX from this table.

    python benchmarks/cpu_bf16_speed.py            # both models, batch 256
    python benchmarks/cpu_bf16_speed.py --steps 8

Each row: the median over `--steps` training steps (forward, backward, SGD step) on random
CIFAR-shaped batches, after two warm-up steps. The models are the solution notebook's own
(full-mode sizes). Run it with nothing else on the machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from record_full_runs import ASSIGNMENT, cpu_model, notebook_namespace  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch", type=int, default=256)
    args = parser.parse_args(argv)
    os.environ["COURSE_FAST"] = "0"
    os.environ.setdefault("COURSE_OFFLINE", "1")
    ns = notebook_namespace(ASSIGNMENT, until="proposed_model")
    amx = getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
    print(
        f"{cpu_model()}, {torch.get_num_threads()} threads, AMX: {amx}, torch {torch.__version__}"
    )
    print("\n| model | bfloat16 | channels_last | ms per batch | images/s | speed-up |")
    print("|---|---|---|---:|---:|---:|")
    for name in ("BaselineNet", "ProposedNet"):
        base = None
        for bf16, channels_last in ((False, False), (False, True), (True, False), (True, True)):
            seconds = step_time(ns[name], bf16, channels_last, args.batch, args.steps)
            base = base or seconds
            print(
                f"| {name} | {bf16} | {channels_last} | {1000 * seconds:.0f} | "
                f"{args.batch / seconds:,.0f} | {base / seconds:.2f}x |",
                flush=True,
            )
    return 0


def step_time(model_cls, bf16: bool, channels_last: bool, batch: int, steps: int) -> float:
    """Median seconds of one training step of a fresh `model_cls()`."""
    torch.manual_seed(0)
    model = model_cls()
    x, y = torch.randn(batch, 3, 32, 32), torch.randint(0, 10, (batch,))
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    times = []
    for _ in range(steps + 2):
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - start)
    return statistics.median(times[2:])


if __name__ == "__main__":
    sys.exit(main())
