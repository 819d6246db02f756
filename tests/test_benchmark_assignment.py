"""`benchmarks/assignment_full_run.py` reads its models and training cell out of notebook 08, so
a renamed cell or variable there would break it silently: run it in fast mode and check the
table it prints, and the helpers behind its airbench comparison."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import helpers

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "assignment_full_run.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("assignment_full_run", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow  # about a minute: notebook 08's baseline trained by the benchmark script
def test_fast_run_of_one_model_prints_its_row(tmp_path):
    env = {**os.environ, "COURSE_FAST": "1", "COURSE_CACHE_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--only", "baseline"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=240,
    )
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| model | params |"), result.stdout + result.stderr
    assert len(rows) == 2 and rows[1].startswith("| BaselineNet | 62,006 | "), rows
    assert "epochs 3" in result.stdout
    assert "goals NOT met" in result.stdout  # fast mode trains far too little for 75 %
    assert result.returncode == 1


def test_seconds_to_an_accuracy_sums_epoch_times_until_it_is_reached():
    script = _load_script()
    history = helpers.History()
    for epoch, (acc, seconds) in enumerate([(0.5, 2.0), (0.93, 3.0), (0.95, 4.0), (0.96, 5.0)]):
        history.append({"epoch": epoch + 1, "val_acc": acc, "seconds": seconds})
    assert script.seconds_to(history, 0.94) == 9.0
    assert script.seconds_to(history, 0.5) == 2.0
    assert script.seconds_to(history, 0.99) is None


def test_airbench_files_hold_the_same_images_as_uint8_nhwc(tmp_path):
    script = _load_script()
    images = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8)
    labels = torch.arange(6) % 10
    data = helpers.ImageSet("toy", images, labels, [f"c{i}" for i in range(10)], source="test")
    script.write_airbench_data(tmp_path / "cifar10", data, data)
    for split in ("train", "test"):
        record = torch.load(tmp_path / "cifar10" / f"{split}.pt", weights_only=True)
        assert record["images"].dtype == torch.uint8
        assert torch.equal(record["images"].permute(0, 3, 1, 2), images)  # stored (N, 32, 32, 3)
        assert torch.equal(record["labels"], labels)
        assert record["classes"] == data.classes
