"""Data-parallel training speed: notebook 08's proposed model on CIFAR-10, 1 vs 2 processes.

    python benchmarks/ddp_cifar.py                  # this CPU: 1 process x 2 threads, then
                                                    # 2 processes x 1 thread (gloo)
    python benchmarks/ddp_cifar.py --fast           # fast-mode model and data: a quick look
    torchrun --standalone --nproc_per_node 4 benchmarks/ddp_cifar.py   # 4 GPUs (NCCL)

Without torchrun the script launches itself under torchrun once per row and prints a table.
Under torchrun it is one row: `helpers.fit` (which sees WORLD_SIZE and trains with
DistributedDataParallel) trains the solution notebook's `ProposedNet` with the notebook's
recipe (SGD with Nesterov momentum, label smoothing 0.1, augmentation on the device,
bfloat16 where `helpers.bf16_pays`) on the first `--images` CIFAR-10 training images, for two
epochs; the second epoch is timed (the first warms up). The global batch stays `--batch`:
each of P processes takes `--batch / P` images per step, so every row does the same training.

The model is the notebook's own code: its `proposed_model` cell is run here. The data is the
real CIFAR-10 when COURSE_DATA_DIR holds it (see README), otherwise the generated stand-in
(as fast as the real thing, and the table says which). Run it with nothing else on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from record_full_runs import ASSIGNMENT, ROOT, cpu_model, notebook_code  # noqa: E402

CPU_ROWS = ((1, 2), (2, 1))  # (processes, threads per process) on a 2-core CPU
RESULT = "ddp_cifar result: "  # rank 0's line the launcher reads back


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="fast-mode model width and data")
    parser.add_argument("--images", type=int, default=2048, help="training images per epoch")
    parser.add_argument("--batch", type=int, default=256, help="global batch (all processes)")
    parser.add_argument("--device", default=None, help="default: the best one here")
    args = parser.parse_args(argv)
    os.environ["COURSE_FAST"] = "1" if args.fast else "0"
    os.environ.setdefault("COURSE_OFFLINE", "1")
    if "LOCAL_RANK" in os.environ:  # started by torchrun: one measurement
        return measure(args)
    return compare_on_cpu(argv if argv is not None else sys.argv[1:])


def compare_on_cpu(argv: list[str]) -> int:
    """Launch one torchrun job per row of CPU_ROWS; print their images/s as a table."""
    print(f"{cpu_model()}, {os.cpu_count()} cores, torch {torch.__version__}", flush=True)
    rows = []
    for processes, threads in CPU_ROWS:
        command = [
            sys.executable, "-m", "torch.distributed.run", "--standalone",
            "--nproc_per_node", str(processes), str(Path(__file__).resolve()),
            *argv, "--device", "cpu",
        ]  # fmt: skip
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "COURSE_PROGRESS": "0"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT)]
        if done.returncode != 0 or not lines:
            print(done.stdout[-3000:], done.stderr[-3000:], sep="\n", file=sys.stderr)
            raise SystemExit(f"the run with {processes} process(es) failed")
        rows.append(json.loads(lines[-1][len(RESULT) :]))
    first = rows[0]
    print(f"data: {first['data']}; {first['images']:,} images per epoch, global batch "
          f"{first['batch']}, bfloat16 {first['bf16']}\n")  # fmt: skip
    print("| processes | threads each | batch per process | images/s | speed-up |")
    print("|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['processes']} | {row['threads']} | {row['batch'] // row['processes']} | "
            f"{row['images_per_s']:,.0f} | {row['images_per_s'] / first['images_per_s']:.2f}x |"
        )
    print(
        "\nOn a machine with N GPUs: "
        "torchrun --standalone --nproc_per_node N benchmarks/ddp_cifar.py"
    )
    return 0


def proposed_net() -> type[nn.Module]:
    """The solution notebook's ProposedNet, defined by running its `proposed_model` cell."""
    import helpers

    namespace = {"torch": torch, "nn": nn, "pick": helpers.pick}
    cell = notebook_code(ASSIGNMENT, "proposed_model")[-1]  # the class, as the notebook has it
    exec(compile(cell, str(ASSIGNMENT), "exec"), namespace)  # noqa: S102 - our own notebook
    return namespace["ProposedNet"]


def measure(args) -> int:
    """One torchrun process: train two epochs with helpers.fit; rank 0 prints images/s."""
    import helpers

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if args.batch % world:
        raise SystemExit(f"--batch {args.batch} does not split into {world} equal parts")
    device = helpers.best_device() if args.device is None else torch.device(args.device)
    bf16 = helpers.bf16_pays(device)
    train = helpers.load_cifar10("train")
    images, labels = train.images[: args.images], train.labels[: args.images]
    loader = helpers.DeviceLoader(
        images, labels, args.batch // world, augment=True, mean=train.mean, std=train.std,
        device=device, seed=0,
    )  # fmt: skip
    helpers.seed_everything(0)
    model = proposed_net()()
    optimizer = torch.optim.SGD(
        model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4
    )
    start = time.perf_counter()
    history = helpers.fit(
        model,
        loader,
        epochs=2,
        optimizer=optimizer,
        loss_fn=lambda out, y: F.cross_entropy(out, y, label_smoothing=0.1),
        amp=bf16,
        channels_last=bf16,
        device=device,
        progress=False,
    )
    if helpers.is_main():
        row = {
            "processes": world,
            "threads": torch.get_num_threads(),
            "device": str(device),
            "images": args.images,
            "batch": args.batch,
            "bf16": bf16,
            "data": train.source,
            "images_per_s": round(args.images / history[-1]["seconds"], 1),
            "wall_s": round(time.perf_counter() - start, 1),
        }
        print(RESULT + json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
