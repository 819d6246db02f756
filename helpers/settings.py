"""The course's switches, read once from environment variables.

| variable               | values                     | default                               |
|------------------------|----------------------------|---------------------------------------|
| COURSE_FAST            | auto, 1, 0                 | auto: fast without a CUDA/MPS GPU     |
| COURSE_OFFLINE         | 0, 1                       | 0: downloads are tried (bounded)      |
| COURSE_DATA_DIR        | a folder                   | <repo>/data                           |
| COURSE_CACHE_DIR       | a writable folder          | <repo>/.cache                         |
| COURSE_SEED            | an integer, 0 to 2**32 - 1 | 0                                     |
| COURSE_PROGRESS        | auto, 1, 0                 | auto: a bar in a notebook or terminal |
|                        |                            | (none under CI, tests and builds)     |
| COURSE_STRICT_WARNINGS | 0, 1                       | 0 (1 in the test suite and the build: |
|                        |                            | see `helpers/strict.py`)              |

This is the one module that reads environment variables (torchrun's RANK, LOCAL_RANK and
WORLD_SIZE are read in `helpers/distributed.py`, where they are explained).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from .arguments import MAX_SEED

T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SettingsError(ValueError):
    """An environment variable holds a value the course does not understand."""


@dataclass(frozen=True)
class Settings:
    fast: bool
    offline: bool
    data_dir: Path
    cache_dir: Path
    seed: int
    fast_source: str  # "auto" or "env": how `fast` was decided
    progress: bool | None = None  # None: decided by `fit` (a bar in a notebook or terminal)
    strict_warnings: bool = False  # deprecation warnings become errors in notebook kernels
    data_dir_source: str = "default"  # "env" when COURSE_DATA_DIR chose the folder

    @property
    def mode(self) -> str:
        return "fast" if self.fast else "full"


def _bool(name: str, value: str, allow_auto: bool = False) -> bool | None:
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    if allow_auto and v in {"", "auto"}:
        return None
    allowed = "auto, 1, 0" if allow_auto else "1, 0 (or true/false, yes/no, on/off)"
    raise SettingsError(f"{name}={value!r} is not understood; allowed values: {allowed}.")


def _progress(env: Mapping[str, str], strict: bool) -> bool | None:
    """COURSE_PROGRESS; when unset (or auto): off under CI, tests and builds, else None."""
    forced = _bool("COURSE_PROGRESS", env.get("COURSE_PROGRESS", "auto"), allow_auto=True)
    if forced is not None:
        return forced
    automated = ("PYTEST_CURRENT_TEST", "CI", "NBVAL", "GITHUB_ACTIONS")
    return False if strict or any(env.get(v) for v in automated) else None


def _gpu_available() -> bool:
    import torch

    return torch.cuda.is_available() or (
        getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    )


def read_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build `Settings` from `environ` (default: `os.environ`), validating every value."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    fast = _bool("COURSE_FAST", env.get("COURSE_FAST", "auto"), allow_auto=True)
    fast_source = "env"
    if fast is None:
        fast, fast_source = not _gpu_available(), "auto"
    offline = _bool("COURSE_OFFLINE", env.get("COURSE_OFFLINE", "0"))
    seed_text = env.get("COURSE_SEED", "0")
    try:
        seed = int(seed_text)
    except ValueError:
        raise SettingsError(
            f"COURSE_SEED={seed_text!r} is not understood; allowed values: an integer such as 0."
        ) from None
    if seed < 0:
        raise SettingsError(f"COURSE_SEED={seed} is negative; allowed values: an integer >= 0.")
    if seed > MAX_SEED:
        raise SettingsError(
            f"COURSE_SEED={seed} is too large; allowed values: an integer from 0 to {MAX_SEED}."
        )
    data_dir = Path(env.get("COURSE_DATA_DIR") or REPO_ROOT / "data").expanduser()
    cache_dir = Path(env.get("COURSE_CACHE_DIR") or REPO_ROOT / ".cache").expanduser()
    strict = bool(_bool("COURSE_STRICT_WARNINGS", env.get("COURSE_STRICT_WARNINGS", "0")))
    return Settings(
        fast=bool(fast),
        offline=bool(offline),
        data_dir=data_dir,
        cache_dir=cache_dir,
        seed=seed,
        fast_source=fast_source,
        progress=_progress(env, strict),
        strict_warnings=strict,
        data_dir_source="env" if env.get("COURSE_DATA_DIR") else "default",
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once and then remembered.

    Used by notebooks 00, 02, 03, 06, 07, 08, 09.
    """
    return read_settings()


def reload_settings() -> Settings:
    """Forget the remembered settings and read the environment again (tests use this)."""
    get_settings.cache_clear()
    return get_settings()


def pick(fast: T, full: T) -> T:
    """Return `fast` in fast mode and `full` otherwise: `epochs = pick(2, 30)`.

    Used by notebooks 00, 01, 02, 03, 04, 05, 06, 07, 08, 09.
    """
    return fast if get_settings().fast else full
