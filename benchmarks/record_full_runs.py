"""Train a notebook's experiment in full mode and record it in `notebooks/results/NN_NAME.json`.

    COURSE_DATA_DIR=/path/to/data python benchmarks/record_full_runs.py 08            # all three
    COURSE_DATA_DIR=/path/to/data python benchmarks/record_full_runs.py 08 proposed

Each record holds its provenance (`device`, `torch`, `date`, `commit`, `command`, `wall_s`), the
per-epoch `history` and the `final` metrics the notebook's text quotes (accuracies as
fractions). The notebook plots the recorded run beside its live fast run and checks its claims
on the recorded numbers too. Commit the code first: a record made from uncommitted changes
names its commit with a "-dirty" suffix.

Runs that can be recorded:
- 04 plain_shallow / plain_deep / residual_deep: notebook 04's degradation experiment (a
  shallow plain network, a deep plain network and the deep one's residual twin), trained by
  the notebook's own training cell on all 50,000 real CIFAR-10 training images, one network
  at a time, each saved as soon as it finishes.
- 05 plain_lr0.05 / batchnorm_lr0.05 / ... / batchnorm_lr0.5: notebook 05's learning-rate
  sweep (the small CNN without normalisation and with BatchNorm, SGD at three learning rates),
  trained by the notebook's own training cell on 20,000 real CIFAR-10 training images and
  scored on the 10,000 test images, one network at a time, each saved as soon as it finishes.
- 06 regimes: notebook 06's four transfer regimes (frozen backbone, fine-tune layer3 + head,
  fine-tune all, from scratch) with 100 real Fashion-MNIST images per class, run by the
  notebook's own cells up to its results table; one file per regime (06_frozen, 06_top,
  06_all, 06_scratch), all from the same run (`wall_s` is the whole run's).
- 07 gru / bilstm / cnn: notebook 07's three sentence classifiers (GRU, bidirectional LSTM,
  1-D CNN) trained by the notebook's own training cell on every SST-2 training phrase but the
  2,000 held out for validation, one at a time, each saved as soon as it finishes; each record
  also holds the bag-of-words baseline's test accuracy from the same run.
- 08 baseline / proposed / ablation: notebook 08's three models, trained by the solution
  notebook's own code (its cells up to the training function are run here, hidden checks
  included), on 45,000 / 5,000 / 10,000 real CIFAR-10 images.
- 09 readers: notebook 09's two strip readers (the decoder without and with attention), run by
  the notebook's own cells in full mode (60,000 training strips of real MNIST digits, 20
  epochs) up to its results table; one file per reader (09_no_attention, 09_attention), both
  from the same run (`wall_s` is the whole run's).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

import jupytext
import matplotlib

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "notebooks" / "src"
ASSIGNMENT = SOURCES / "08_cifar10_assignment_solution.py"
TRANSFER = SOURCES / "06_transfer_learning.py"
ARCHITECTURES = SOURCES / "04_cnn_architectures.py"
NORMALISATION = SOURCES / "05_batchnorm_dropout.py"
RECURRENT = SOURCES / "07_rnn_lstm_gru.py"
READERS = SOURCES / "09_cnn_rnn_sequences.py"
RECORDABLE = {  # per notebook, its records in the order the notebook trains them
    "04": ("plain_shallow", "plain_deep", "residual_deep"),
    "05": (
        *("plain_lr0.05", "batchnorm_lr0.05"),
        *("plain_lr0.2", "batchnorm_lr0.2"),
        *("plain_lr0.5", "batchnorm_lr0.5"),
    ),
    "06": ("regimes",),
    "07": ("gru", "bilstm", "cnn"),
    "08": ("baseline", "proposed", "ablation"),
    "09": ("readers",),
}
# notebook 09's two decoders as the notebook names them -> the short name of their record
READER_NAMES = {"no attention": "no_attention", "attention": "attention"}
# notebook 06's regimes as the notebook names them -> the short name of their record
REGIMES = {
    "frozen backbone, new head": "frozen",
    "fine-tune layer3 + head": "top",
    "fine-tune all (backbone lr / 10)": "all",
    "from scratch": "scratch",
}
MODEL_CLASSES = {"baseline": "BaselineNet", "proposed": "ProposedNet", "ablation": "AblationNet"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", choices=sorted(RECORDABLE))
    parser.add_argument("names", nargs="*", help="which runs (default: all of the notebook's)")
    args = parser.parse_args(argv)
    names = args.names or list(RECORDABLE[args.notebook])
    unknown = sorted(set(names) - set(RECORDABLE[args.notebook]))
    if unknown:
        parser.error(f"notebook {args.notebook} records {', '.join(RECORDABLE[args.notebook])}")
    os.environ["COURSE_FAST"] = "0"
    os.environ.setdefault("COURSE_OFFLINE", "1")
    started = provenance(args.notebook, "")  # the commit and date the runs start from
    if args.notebook == "04":
        return record_plain_vs_residual(names, started)
    if args.notebook == "05":
        return record_learning_rate_sweep(names, started)
    if args.notebook == "06":
        return record_transfer_regimes(started)
    if args.notebook == "07":
        return record_sentence_classifiers(names, started)
    if args.notebook == "09":
        return record_sequence_readers(started)
    namespace = notebook_namespace(ASSIGNMENT, until="train_function")
    if not namespace["REAL_DATA"]:
        raise SystemExit("not the real CIFAR-10: set COURSE_DATA_DIR to a folder that holds it")
    from helpers.results import save_recorded_run

    for name in names:
        record = record_assignment_run(namespace, name, started)
        path = save_recorded_run(record)
        final = record["final"]
        print(
            f"{path.relative_to(ROOT)}: test {final['test_acc']:.2%}, "
            f"val {final['val_acc']:.2%}, {record['wall_s'] / 60:.1f} min",
            flush=True,
        )
    return 0


def record_transfer_regimes(started: dict) -> int:
    """Run notebook 06 up to its results table in full mode; one record per regime."""
    from helpers.results import save_recorded_run

    start = time.perf_counter()
    namespace = notebook_namespace(TRANSFER, until="results[name] = helpers.evaluate(")
    wall = time.perf_counter() - start
    if not namespace["test_set"].real:
        raise SystemExit("not the real Fashion-MNIST: set COURSE_DATA_DIR (see README)")
    for regime, (net, _, _, history) in namespace["regimes"].items():
        name = REGIMES[regime]
        record = {
            **started_record("06", name, started, wall, regime),
            "command": threads_prefix() + "python benchmarks/record_full_runs.py 06",
            "config": {"per_class": namespace["PER_CLASS"], "epochs": len(history)},
            "history": list(history),
            "final": {
                "test_acc": namespace["results"][regime],
                "val_acc": history.best["val_acc"],
                "best_epoch": history.best_epoch,
                "trainable": namespace["count_trainable"](net),
                "train_s": round(sum(r["seconds"] for r in history), 1),
            },
        }
        path = save_recorded_run(record)
        print(f"{path.name}: test {record['final']['test_acc']:.2%}", flush=True)
    print(f"whole run {wall / 60:.1f} min", flush=True)
    return 0


def record_plain_vs_residual(names: list[str], started: dict) -> int:
    """Notebook 04's three networks in full mode, by its own training cell, one at a time."""
    from helpers.results import save_recorded_run

    training = "histories[name] = helpers.fit("
    runs = one_at_a_time(ARCHITECTURES, training, "configs", names, real="train_set")
    for name, label, (n_layers, residual), namespace, wall in runs:
        history = namespace["histories"][label]
        record = {
            **started_record("04", name, started, wall, label),
            "config": {
                "layers": n_layers,
                "residual": residual,
                "train_images": namespace["n_train"],
                "epochs": namespace["epochs"],
                "params": namespace["count_params"](namespace["model"]),
            },
            "history": list(history),
            "final": {"train_loss": history.last["train_loss"]},
        }
        path = save_recorded_run(record)
        print(f"{path.name}: final training loss {record['final']['train_loss']:.3f}, "
              f"{record['wall_s'] / 60:.1f} min", flush=True)  # fmt: skip
    return 0


def record_learning_rate_sweep(names: list[str], started: dict) -> int:
    """Notebook 05's six sweep runs in full mode, by its own training cell, one at a time."""
    from helpers import predict
    from helpers.results import save_recorded_run

    runs = one_at_a_time(NORMALISATION, "for norm, lr in SWEEP:", "SWEEP", names, real="train_set")
    for name, (norm, lr), _, namespace, wall in runs:
        history, model = namespace["sweep"][(norm, lr)], namespace["models"][(norm, lr)]
        predicted, _ = predict(model, namespace["test_loader"], device=namespace["device"])
        record = {
            **started_record("05", name, started, wall, f"{norm}, lr={lr}"),
            "config": {
                "norm": norm,
                "lr": lr,
                "train_images": namespace["N_TRAIN"],
                "test_images": namespace["N_VAL"],
                "epochs": namespace["EPOCHS"],
                "batch_size": namespace["bn_train"].batch_size,
                "width": namespace["WIDTH"],
            },
            "history": [] if history is None else list(history),
            "final": {  # a diverged run (loss NaN or inf) has no final loss or accuracy
                "diverged": history is None,
                "train_loss": None if history is None else history.last["train_loss"],
                "test_acc": None if history is None else history.last["val_acc"],
                "top_class_share": predicted.bincount(minlength=10).max().item() / len(predicted),
            },
        }
        path = save_recorded_run(record)
        print(f"{path.name}: final training loss {record['final']['train_loss']}, "
              f"{wall / 60:.1f} min", flush=True)  # fmt: skip
    return 0


def record_sentence_classifiers(names: list[str], started: dict) -> int:
    """Notebook 07's three sequence classifiers on the whole SST-2 training split, by its own
    training cell, one at a time; each record also holds the bag-of-words baseline's accuracy."""
    from helpers.results import save_recorded_run

    runs = one_at_a_time(RECURRENT, "histories, accuracies = {", "models", names, real="test_set")
    for name, label, model, namespace, wall in runs:
        history = namespace["histories"][label]
        record = {
            **started_record("07", name, started, wall, label),
            "config": {
                "train_sentences": len(namespace["train_set"]),
                "val_sentences": len(namespace["val_set"]),
                "test_sentences": len(namespace["test_set"]),
                "epochs": namespace["epochs"],
                "embed_dim": namespace["embed_dim"],
                "hidden": namespace["hidden"],
                "params": namespace["n_params"](model),
            },
            "history": list(history),
            "final": {
                "test_acc": namespace["accuracies"][label],
                "val_acc": history.best["val_acc"],
                "best_epoch": history.best_epoch,
                "bow_test_acc": namespace["bow_acc"],
            },
        }
        path = save_recorded_run(record)
        print(f"{path.name}: test {record['final']['test_acc']:.2%} (bag-of-words "
              f"{namespace['bow_acc']:.2%}), {wall / 60:.1f} min", flush=True)  # fmt: skip
    return 0


def record_sequence_readers(started: dict) -> int:
    """Run notebook 09 up to its results table in full mode; one record per reader."""
    from helpers.results import save_recorded_run

    start = time.perf_counter()
    namespace = notebook_namespace(READERS, until="table[name] = {")
    wall = time.perf_counter() - start
    if not namespace["real"]:
        raise SystemExit("not the real MNIST: set COURSE_DATA_DIR to a folder that holds it")
    for label, model in namespace["models"].items():
        losses = namespace["curves"][label]
        record = {
            **started_record("09", READER_NAMES[label], started, wall, label),
            "command": threads_prefix() + "python benchmarks/record_full_runs.py 09",
            "config": {
                "train_strips": namespace["n_train"],
                "test_strips": namespace["n_test"],
                "epochs": namespace["epochs"],
                **namespace["size"],
                "params": sum(p.numel() for p in model.parameters()),
            },
            "history": [{"epoch": i, "train_loss": v} for i, v in enumerate(losses, 1)],
            "final": {
                **{key.replace(" ", "_"): v for key, v in namespace["table"][label].items()},
                "beam_more_probable": namespace["better"][label],
                "beam_strips": namespace["n_beam"],
            },
        }
        path = save_recorded_run(record)
        final = record["final"]
        print(f"{path.name}: whole sequence {final['whole_sequence']:.2%}, per digit "
              f"{final['per_digit']:.2%}", flush=True)  # fmt: skip
    print(f"whole run {wall / 60:.1f} min", flush=True)
    return 0


def started_record(notebook: str, name: str, started: dict, wall: float, model: str) -> dict:
    """The provenance of a run that started with `started` (its commit and date), its wall
    time and the model's name: the first entries of its record."""
    record = provenance(notebook, name, commit=started["commit"])
    return {**record, "date": started["date"], "wall_s": round(wall, 1), "model": model}


def one_at_a_time(source: Path, training: str, loop: str, names: list[str], real: str):
    """Run `source`'s code cells before its training cell (the first holding `training`), then
    the training cell once per entry of the dict (or list) `loop` it iterates over, with that
    cut to the one entry. After each: (record name, entry key, entry value, globals, wall
    seconds); a list's entry is its own key and value. Record names follow the loop's order
    (RECORDABLE); entries not in `names` are skipped. Stops before training unless the data set
    called `real` is the real one."""
    *setup, cell = notebook_code(source, until=training)
    namespace: dict = {"__name__": "__main__"}
    for code in setup:
        exec(compile(code, str(source), "exec"), namespace)  # noqa: S102 - our own notebook
    if not namespace[real].real:
        raise SystemExit(f"{real} is a stand-in: set COURSE_DATA_DIR to the real data (README)")
    entries = namespace[loop]
    pairs = list(entries.items()) if isinstance(entries, dict) else [(e, e) for e in entries]
    notebook = source.name[:2]
    for name, (key, value) in zip(RECORDABLE[notebook], pairs):
        if name not in names:
            continue
        namespace[loop] = {key: value} if isinstance(entries, dict) else [key]
        start = time.perf_counter()
        exec(compile(cell, str(source), "exec"), namespace)  # noqa: S102 - our own notebook
        yield name, key, value, namespace, time.perf_counter() - start


def notebook_namespace(source: Path, until: str) -> dict:
    """Run the notebook's code cells up to the cell `until` (an nbgrader id, or a line of code
    the cell holds); its globals."""
    namespace: dict = {"__name__": "__main__"}
    for code in notebook_code(source, until):
        exec(compile(code, str(source), "exec"), namespace)  # noqa: S102 - our own notebook
    return namespace


def notebook_code(source: Path, until: str) -> list[str]:
    """The code cells of `source` up to (and including) the cell `until`: the one with that
    nbgrader id, or the first one whose code contains it."""
    cells = []
    for cell in jupytext.read(source).cells:
        if cell.cell_type != "code":
            continue
        cells.append(cell.source)
        if cell.metadata.get("nbgrader", {}).get("grade_id") == until or until in cell.source:
            return cells
    raise SystemExit(f"no cell {until!r} in {source.name}")


def record_assignment_run(namespace: dict, name: str, started: dict) -> dict:
    """Train one of notebook 08's models with its `train_and_evaluate`; the record to save."""
    proposed = namespace["proposed_name"]()
    label = {"baseline": "BaselineNet", "proposed": proposed}.get(name)
    start = time.perf_counter()
    run = namespace["train_and_evaluate"](
        namespace[MODEL_CLASSES[name]], label or f"{proposed} without BatchNorm"
    )
    wall = time.perf_counter() - start
    params = sum(p.numel() for p in run.model.parameters())
    return {
        **started_record("08", name, started, wall, run.name),
        "config": run.config,
        "history": list(run.history),
        "final": {
            "test_acc": run.test_acc,
            "val_acc": run.val_acc,
            "best_epoch": run.history.best_epoch,
            "params": params,
            "train_s": round(run.seconds, 1),
            "train_s_to_85_val": seconds_to(run.history, 0.85),
        },
    }


def provenance(notebook: str, name: str, commit: str | None = None) -> dict:
    """Who, where and when: the fields every recorded run carries (`commit`: the one the
    runs started from; by default HEAD now)."""
    import torch

    from helpers.devices import device_name

    threads = torch.get_num_threads()
    cpu = f"{cpu_model()}, {threads} thread{'s' if threads > 1 else ''}"
    return {
        "notebook": notebook,
        "name": name,
        "device": device_name() if torch.cuda.is_available() else cpu,
        "torch": torch.__version__,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit or git_commit(),
        "command": threads_prefix()
        + "python benchmarks/record_full_runs.py "
        + shlex.join([notebook, name]),
    }


def threads_prefix() -> str:
    """`OMP_NUM_THREADS=N ` when the run was limited to N threads, so the command repeats it."""
    threads = os.environ.get("OMP_NUM_THREADS")
    return f"OMP_NUM_THREADS={shlex.quote(threads)} " if threads else ""


def seconds_to(history, accuracy: float) -> float | None:
    """Training seconds until validation accuracy first reached `accuracy` (None: never)."""
    total = 0.0
    for record in history:
        total += record["seconds"]
        if record["val_acc"] is not None and record["val_acc"] >= accuracy:
            return round(total, 1)
    return None


def cpu_model() -> str:
    """The CPU's model name (Linux), else its architecture."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def git_commit() -> str:
    """HEAD's hash, with "-dirty" when the code a record depends on differs from it."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    code = ["helpers", "benchmarks", "pyproject.toml", str(SOURCES.relative_to(ROOT))]
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", *code)
    return git("rev-parse", "HEAD") + ("-dirty" if dirty else "")


if __name__ == "__main__":
    sys.exit(main())
