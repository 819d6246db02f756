"""Committed notebooks show real results: no stand-in, no failed download, no machine path; and
the build script refuses to write a notebook whose run shows one."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import helpers
from helpers.data.sources import shown

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SCRIPT = ROOT / "scripts" / "build_notebooks.py"


def _build_module():
    spec = importlib.util.spec_from_file_location("build_notebooks", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _build_module()


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_shows_only_real_results(notebook: Path):
    found = build.problems(nbformat.read(notebook, as_version=4))
    assert not found, f"{notebook.name}: rebuild it from the real data\n" + "\n".join(found)


def _notebook_printing(text: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(...)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    nb.cells = [cell]
    return nb


@pytest.mark.parametrize(
    "text, kind",
    [
        ("CIFAR-10 train: 5,000 generated stand-in images, NOT the real CIFAR-10", "stand-in"),
        ("download failed: URLError: <urlopen error>", "failed download"),
        ("from /work/shared/data/cifar-10-binary.tar.gz", "path"),
        ("weights at /home/ana/.cache/torch/hub/checkpoints/x.pth", "path"),
        ("/root/.pyenv/versions/3.11/lib/python3.11/site-packages/torch/nn/conv.py:5", "path"),
        (r"C:\Users\ana\course\data", "path"),
    ],
)
def test_problems_names_each_kind(text: str, kind: str):
    found = build.problems(_notebook_printing(text))
    assert len(found) == 1 and kind in found[0] and "cell 0" in found[0], found


@pytest.mark.parametrize(
    "text",
    [
        "CIFAR-10 test: 1,000 of 10,000 images from <data>/cifar-10-binary.tar.gz",
        "Fashion-MNIST test: 1,000 images from /usr/share/datasets/fashion-mnist",
        "no weights at ~/.cache/torch/hub/checkpoints/resnet18.pth; 3/4 of the loss",
    ],
)
def test_real_results_pass(text: str):
    assert build.problems(_notebook_printing(text)) == []


def test_shown_hides_the_machine_paths(tmp_path, course_env):
    data, cache = tmp_path / "data", tmp_path / "cache"
    course_env(COURSE_DATA_DIR=str(data), COURSE_CACHE_DIR=str(cache))
    assert shown(data / "cifar-10-binary.tar.gz") == "<data>/cifar-10-binary.tar.gz"
    assert shown(cache / "x" / "y.pt") == "<cache>/x/y.pt"
    assert shown(Path.home() / ".cache" / "w.pth") == "~/.cache/w.pth"
    assert shown("/usr/share/datasets/fashion-mnist") == "/usr/share/datasets/fashion-mnist"
    assert str(tmp_path) not in helpers.banner()


def test_build_refuses_a_run_on_a_stand_in(tmp_path):
    """A notebook whose run prints a stand-in announcement is not written, unless allowed."""
    notebooks = tmp_path / "notebooks"
    (notebooks / "src").mkdir(parents=True)
    source = notebooks / "src" / "99_probe.py"
    built = notebooks / "99_probe.ipynb"
    source.write_text('# %%\nprint("MNIST train: 5 generated stand-in images, NOT the real")\n')
    env = {**os.environ, "COURSE_FAST": "1"}
    script = tmp_path / "build_notebooks.py"
    script.write_text(SCRIPT.read_text().replace('ROOT / "notebooks"', f"Path({str(notebooks)!r})"))
    refused = subprocess.run(
        [sys.executable, str(script), "99"], capture_output=True, text=True, env=env, timeout=120
    )
    assert refused.returncode != 0
    assert "99_probe.ipynb not written" in refused.stderr and "stand-in" in refused.stderr
    assert not built.exists()
    allowed = subprocess.run(
        [sys.executable, str(script), "99", "--allow-standins"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert allowed.returncode == 0, allowed.stderr
    assert built.exists()
