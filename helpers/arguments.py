"""Checks of the arguments users pass to the helpers.

Each check returns the value when it is fine and otherwise raises a TypeError (wrong kind of
value) or a ValueError (right kind, wrong range) that names the argument, what it got and what
it expects, before any work is done with it.
"""

from __future__ import annotations

import math
import numbers

MAX_SEED = 2**32 - 1  # the largest seed NumPy accepts


def check_int(value: object, name: str, minimum: int | None = None) -> int:
    """A whole number (not a bool, not 2.5), at least `minimum`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be a whole number (an int), got {value!r} ({type(value).__name__})."
        )
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}.")
    return int(value)


def check_positive(value: object, name: str) -> float:
    """A finite number greater than 0, such as a learning rate."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__}).")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number greater than 0, got {value}.")
    return float(value)


def check_seed(value: object, name: str = "seed") -> int:
    """A seed: a whole number from 0 to 2**32 - 1."""
    seed = check_int(value, name)
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"{name} must be between 0 and 2**32 - 1 = {MAX_SEED}, got {seed}.")
    return seed
