"""Test-suite wide set-up: fast mode, strict deprecation warnings, no progress bars."""

import os

os.environ.setdefault("COURSE_FAST", "1")
os.environ.setdefault("COURSE_STRICT_WARNINGS", "1")
os.environ.setdefault("COURSE_PROGRESS", "0")

# Student versions have no outputs to compare: nbval runs the lecture versions only, and
# tests/test_assignment.py checks that each student version is a fresh build of its source.
collect_ignore = ["notebooks/student"]
