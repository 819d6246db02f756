"""Checks of the arguments a student passes to the public helpers: each failure says what was
passed and what is expected, before any work is done."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any


def check_count(name: str, value: Any, minimum: int = 1) -> int:
    """`value` as an int >= `minimum` (numpy and one-element torch ints count); a float, a
    bool or a string is refused, never rounded."""
    number = None if isinstance(value, bool) else _as_int(value)
    if number is None:
        raise ValueError(
            f"{name} must be a whole number (an int) >= {minimum}, got {_shown(value)}."
        )
    if number < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {number}.")
    return number


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """`value` if it is one of `choices`; otherwise an error listing them."""
    if not isinstance(value, str) or value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name}={_shown(value)} is not known; use one of {listed}.")
    return value


def check_flag(name: str, value: Any, allow_none: bool = False) -> bool | None:
    """`value` if it is True or False (or None when allowed); "no" or 0 are refused."""
    if value is None and allow_none:
        return None
    if not isinstance(value, bool):
        expected = "True, False or None" if allow_none else "True or False"
        raise ValueError(f"{name} must be {expected}, got {_shown(value)}.")
    return value


def _as_int(value: Any) -> int | None:
    try:
        return operator.index(value)
    except TypeError:
        return None


def _shown(value: Any) -> str:
    text = repr(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"{text} ({type(value).__name__})"
