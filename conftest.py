"""Test-suite wide set-up, loaded whatever paths pytest is given (e.g. only one notebook): fast
mode, strict deprecation warnings, no progress bars; how the work spreads over CPUs with
pytest-xdist; the `notebooks` marker on every nbval cell.

Strict warnings: in this process pytest's `filterwarnings` (pyproject.toml) make deprecated
torch/torchvision usage an error; in the notebook kernels the tests start (nbval, nbclient),
`helpers.strict` does, when the setting COURSE_STRICT_WARNINGS is on.
"""

import os
from pathlib import Path

import pytest

os.environ.setdefault("COURSE_FAST", "1")
os.environ.setdefault("COURSE_STRICT_WARNINGS", "1")
os.environ.setdefault("COURSE_PROGRESS", "0")

from helpers.strict import kernel_environment  # noqa: E402  (after the settings above)

os.environ.update(kernel_environment())

# Student versions have no outputs to compare: nbval runs the lecture versions only, and
# tests/test_assignment.py checks that each student version is a fresh build of its source.
collect_ignore = ["notebooks/student"]


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto` (pyproject's default): one worker per CPU this process may use, at most 4.
    Notebooks spend much of their time in single-threaded Python, so two one-thread workers
    finish sooner than one two-thread run."""
    return max(1, min(4, len(os.sched_getaffinity(0))))


def pytest_configure(config: pytest.Config) -> None:
    """In an xdist worker, torch and every notebook kernel the worker starts (they inherit the
    environment) use one thread: OpenMP threads of two workers on the same cores would spin
    waiting for each other."""
    if hasattr(config, "workerinput"):
        os.environ["OMP_NUM_THREADS"] = "1"
        import torch

        torch.set_num_threads(1)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every nbval cell of a committed notebook, so `-m "not notebooks"` skips them, and
    give each item its xdist group (`--dist loadgroup`): a group runs on one worker."""
    for item in items:
        path = Path(str(item.fspath))
        if path.suffix == ".ipynb":
            item.add_marker(pytest.mark.notebooks)
        group = _xdist_group(path)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))


# test modules whose tests are independent runs that any worker may take (the rest of a module
# stays on one worker, with its module fixtures), and modules that share a session fixture
SPREAD = {"test_notebooks_without_data.py"}
SAME_GROUP = {"test_slides_browser.py": "test_slides.py"}  # both open the decks built once


def _xdist_group(path: Path) -> str | None:
    """A notebook's cells share one kernel; a test module shares its fixtures."""
    if path.name in SPREAD:
        return None
    return SAME_GROUP.get(path.name, path.name)
