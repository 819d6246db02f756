"""scripts/slides.py loaded as the module `slides`, for the lecture-mode tests."""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_SPEC = importlib.util.spec_from_file_location("slides", ROOT / "scripts" / "slides.py")
slides = importlib.util.module_from_spec(_SPEC)
sys.modules["slides"] = slides
_SPEC.loader.exec_module(slides)
