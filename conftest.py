"""Test-suite wide set-up: fast mode, strict deprecation warnings, no progress bars."""

import os

os.environ.setdefault("COURSE_FAST", "1")
os.environ.setdefault("COURSE_STRICT_WARNINGS", "1")
os.environ.setdefault("COURSE_PROGRESS", "0")
