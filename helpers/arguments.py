"""Checks of the arguments users pass to the helpers.

Each check returns the value when it is fine and otherwise raises a TypeError (wrong kind of
value) or a ValueError (right kind, wrong range or an unknown name) that names the argument,
what it got and what it expects, before any work is done with it.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np
from torch import nn

MAX_SEED = 2**32 - 1  # the largest seed NumPy accepts


def check_int(value: Any, name: str, minimum: int | None = None) -> int:
    """A whole number, at least `minimum`: an int, a NumPy int or a one-element integer
    tensor; a bool, a float such as 2.5 or 6.0 and a string are refused, never rounded."""
    number = None if isinstance(value, bool) else _as_int(value)
    at_least = "" if minimum is None else f" >= {minimum}"
    if number is None:
        raise TypeError(f"{name} must be a whole number (an int){at_least}, got {_shown(value)}.")
    if minimum is not None and number < minimum:
        raise ValueError(f"{name} must be an int{at_least}, got {number}.")
    return number


def check_positive(value: Any, name: str) -> float:
    """A finite number greater than 0, such as a learning rate."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {_shown(value)}.")
    number = float(value)
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"{name} must be a finite number greater than 0, got {value}.")
    return number


def check_seed(value: Any, name: str = "seed") -> int:
    """A seed: a whole number from 0 to 2**32 - 1."""
    seed = check_int(value, name)
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"{name} must be between 0 and 2**32 - 1 = {MAX_SEED}, got {seed}.")
    return seed


def check_flag(value: Any, name: str, allow_none: bool = False) -> bool | None:
    """True or False (NumPy's too; or None when allowed); "no", 0 or 1 are refused, never
    interpreted."""
    if value is None and allow_none:
        return None
    if not isinstance(value, (bool, np.bool_)):
        expected = "True, False or None" if allow_none else "True or False"
        raise TypeError(f"{name} must be {expected}, got {_shown(value)}.")
    return bool(value)


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """One of the names in `choices`; otherwise an error that lists them."""
    if not isinstance(value, str) or value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name}={_shown(value)} is not known; use one of {listed}.")
    return value


def check_model(value: Any, name: str = "model") -> nn.Module:
    """A network (an nn.Module), not its class, its state dict or anything else."""
    if not isinstance(value, nn.Module):
        raise TypeError(f"{name} must be a network (an nn.Module), got {type(value).__name__}.")
    return value


def _as_int(value: Any) -> int | None:
    """`value` as an int when it is an integer of any kind (int, NumPy, 0-d tensor), else None."""
    try:
        return operator.index(value)
    except TypeError:
        return None


def _shown(value: Any) -> str:
    """`value` for a message: its repr (shortened) and its type."""
    text = repr(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"{text} ({type(value).__name__})"
