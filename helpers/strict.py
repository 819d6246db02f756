"""Strict warnings for the test suite and the notebook build: deprecated torch/torchvision usage
becomes an error, so the course never teaches an API on its way out.

Students never meet this: `print_banner()` only prints. The set-ups switch it on when
`COURSE_STRICT_WARNINGS=1` (the root conftest.py and scripts/build_notebooks.py set it): in
their own process with `strict_warnings()`, and in every notebook kernel they start through
`kernel_environment()`, which makes IPython run `kernel_startup.py` before the first cell.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from .settings import get_settings

KERNEL_STARTUP = Path(__file__).with_name("kernel_startup.py")
MODULES = ("__main__", "torch", "torchvision", "helpers")  # __main__: the notebook's own code


def strict_warnings() -> None:
    """Make deprecated torch/torchvision usage an error in this process."""
    for category in (DeprecationWarning, FutureWarning):
        for module in MODULES:
            warnings.filterwarnings("error", category=category, module=rf"{module}(\..*)?$")


def strict_warnings_if_set() -> None:
    """`strict_warnings()` when the setting `COURSE_STRICT_WARNINGS` is on."""
    if get_settings().strict_warnings:
        strict_warnings()


def kernel_environment() -> dict[str, str]:
    """Environment variables for a notebook kernel: IPython runs PYTHONSTARTUP before the first
    cell, and `kernel_startup.py` calls `strict_warnings_if_set()` there."""
    return {"PYTHONSTARTUP": str(KERNEL_STARTUP)}
