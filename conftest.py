"""Test-suite wide set-up: fast mode, strict deprecation warnings, no progress bars.

Strict warnings: in this process pytest's `filterwarnings` (pyproject.toml) make deprecated
torch/torchvision usage an error; in the notebook kernels the tests start (nbval, nbclient),
`helpers.strict` does, when the setting COURSE_STRICT_WARNINGS is on.
"""

import os

os.environ.setdefault("COURSE_FAST", "1")
os.environ.setdefault("COURSE_STRICT_WARNINGS", "1")
os.environ.setdefault("COURSE_PROGRESS", "0")

from helpers.strict import kernel_environment  # noqa: E402  (after the settings above)

os.environ.update(kernel_environment())

# Student versions have no outputs to compare: nbval runs the lecture versions only, and
# tests/test_assignment.py checks that each student version is a fresh build of its source.
collect_ignore = ["notebooks/student"]
