"""mypy finds no type errors in helpers/ (its settings: [tool.mypy] in pyproject.toml).

The first run on a machine takes about half a minute (mypy reads torch's types); later runs
reuse the cache in COURSE_CACHE_DIR and take seconds.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from helpers.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_finds_no_errors_in_helpers():
    cache = get_settings().cache_dir / "mypy"
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(cache)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"mypy found type errors:\n{done.stdout[-4000:]}{done.stderr}"
    assert "Success: no issues found" in done.stdout
