"""Test-suite wide set-up: fast mode, strict deprecation warnings."""

import os

os.environ.setdefault("COURSE_FAST", "1")
os.environ.setdefault("COURSE_STRICT_WARNINGS", "1")
