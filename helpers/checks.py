"""Self-checks for notebooks: each raises an AssertionError that says, in plain words,
what was expected, what was found, where they differ, and what to try."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NoReturn

import numpy as np
import torch

ArrayLike = torch.Tensor | np.ndarray | float | int | Sequence


def check_shape(
    x: ArrayLike, expected: Sequence[int], name: str = "tensor", hint: str = ""
) -> None:
    """Check that `x` has shape `expected`; use -1 (or None) for "any size" in a dimension.

    Used by notebooks 00, 01, 02, 03, 04, 06, 07, 08, 09.
    """
    if not isinstance(expected, (tuple, list, torch.Size)):
        raise TypeError(f"expected must be a shape such as (64, 3, 32, 32), got {expected!r}.")
    _check_name(name)
    found = tuple(x) if isinstance(x, torch.Size) else tuple(_as_tensor(x, name).shape)
    want = tuple(expected)
    ok = len(found) == len(want) and all(w in (-1, None) or w == f for w, f in zip(want, found))
    if not ok:
        if len(found) != len(want):
            detail = f"{len(found)} dimensions instead of {len(want)}"
        else:
            bad = [i for i, (w, f) in enumerate(zip(want, found)) if w not in (-1, None) and w != f]
            detail = ", ".join(f"dim {i}: {found[i]} instead of {want[i]}" for i in bad)
        _fail(
            f"shape of {name}",
            str(want),
            str(found),
            detail,
            hint or "print the shape after every layer to see where it changes.",
        )


def check_close(
    actual: ArrayLike,
    expected: ArrayLike,
    name: str = "result",
    rtol: float = 1e-5,
    atol: float = 1e-6,
    hint: str = "",
) -> None:
    """Check that two tensors/arrays/numbers agree elementwise within `rtol` and `atol`.

    Used by notebooks 00, 01, 02, 04, 05, 06, 07, 08, 09.
    """
    _check_name(name)
    a, e = _as_tensor(actual, name), _as_tensor(expected, f"expected {name}")
    if a.shape != e.shape:
        _fail(
            f"{name}",
            f"shape {tuple(e.shape)}",
            f"shape {tuple(a.shape)}",
            "the shapes differ, so the values cannot be compared",
            hint or "check the sizes your code produces before the values.",
        )
    a64, e64 = a.double(), e.double()
    bad_nan = torch.isnan(a64) != torch.isnan(e64)
    if bad_nan.any():
        idx = tuple(torch.nonzero(bad_nan)[0].tolist())
        _fail(
            name,
            f"{e64[idx].item()} at index {idx}",
            f"{a64[idx].item()}",
            f"{int(bad_nan.sum())} NaN value(s) where the other side has a number",
            hint or "a NaN usually comes from 0/0, log(0) or an overflow.",
        )
    diff = (a64 - e64).abs().nan_to_num(0.0)
    tol = atol + rtol * e64.abs().nan_to_num(0.0)
    bad = diff > tol
    if bad.any():
        flat = int(torch.argmax(torch.where(bad, diff, torch.zeros_like(diff))))
        idx = tuple(int(i) for i in np.unravel_index(flat, tuple(a64.shape))) if a64.dim() else ()
        _fail(
            name,
            f"{e64[idx].item():.6g} at index {idx}",
            f"{a64[idx].item():.6g}",
            f"{int(bad.sum())} of {bad.numel()} values differ; largest difference "
            f"{diff.max().item():.3g} (allowed {atol:g} + {rtol:g}*|expected|)",
            hint or "work out the entry shown above by hand and compare.",
        )


def check_equal(actual: object, expected: object, name: str = "value", hint: str = "") -> None:
    """Check exact equality of numbers, strings, tuples, lists or integer tensors.

    Used by notebooks 00, 01, 02, 03, 04, 05, 06, 07, 08, 09.
    """
    _check_name(name)
    if isinstance(actual, (torch.Tensor, np.ndarray)) or isinstance(
        expected, (torch.Tensor, np.ndarray)
    ):
        a, e = _as_tensor(actual, name), _as_tensor(expected, f"expected {name}")
        if a.shape != e.shape:
            _fail(
                name,
                f"shape {tuple(e.shape)}",
                f"shape {tuple(a.shape)}",
                "the shapes differ",
                hint,
            )
        ne = a != e
        if ne.any():
            idx = tuple(torch.nonzero(ne)[0].tolist())
            _fail(
                name,
                f"{e[idx].item()} at index {idx}",
                f"{a[idx].item()}",
                f"{int(ne.sum())} of {ne.numel()} entries differ",
                hint,
            )
        return
    if actual != expected:
        detail = ""
        if (
            isinstance(actual, Sequence)
            and isinstance(expected, Sequence)
            and not isinstance(actual, str)
        ):
            if len(actual) != len(expected):
                detail = f"length {len(actual)} instead of {len(expected)}"
            else:
                i = next((i for i, (x, y) in enumerate(zip(actual, expected)) if x != y), None)
                if i is None:  # same items in different containers, e.g. (1, 2) and [1, 2]
                    detail = (
                        f"same items, but a {type(actual).__name__} "
                        f"instead of a {type(expected).__name__}"
                    )
                else:
                    detail = (
                        f"first difference at position {i}: "
                        f"{actual[i]!r} instead of {expected[i]!r}"
                    )
        _fail(name, repr(expected), repr(actual), detail, hint)


def check_true(condition: bool, claim: str, found: str = "", hint: str = "") -> None:
    """Check a claim the notebook makes, e.g. `check_true(loss < 0.1, "the loss falls below 0.1")`.

    Used by notebooks 00, 01, 02, 03, 04, 05, 06, 07, 08, 09.
    """
    if not isinstance(claim, str):
        raise TypeError(
            f"check_true(condition, claim): the claim is a sentence, got {claim!r:.40}."
        )
    if condition is None or isinstance(condition, (str, list, tuple, dict, set, Iterator)):
        raise TypeError(
            f"check_true({claim!r}) needs one True/False value, got a "
            f"{type(condition).__name__}: compare first, e.g. all(...) or x > 0."
        )
    if isinstance(condition, (torch.Tensor, np.ndarray)) and _as_tensor(condition).numel() != 1:
        raise TypeError(
            f"check_true({claim!r}) needs one True/False value, not an array of shape "
            f"{tuple(condition.shape)}: reduce it first, e.g. with `.all()` or `.any()`."
        )
    if not bool(condition):
        _fail(claim, "the claim holds", found or "it does not", "", hint)


def verdict(
    answer: object,
    expected: object,
    hint: str,
    rtol: float | None = None,
) -> bool | None:
    """Say whether an exercise answer is right, without stopping the notebook or revealing it.

    `expected` is the right value, or a function `answer -> bool` for answers with more than one
    right form. Numbers are compared within `rtol` when it is given. Prints one line: "not
    attempted yet" while `answer` is None, "right", or "not right yet" with the hint. Returns
    True, False, or None (not attempted), so a grader can use the same comparison.

    Used by notebooks 00, 01, 02, 03, 04, 05, 06, 07, 08, 09.
    """
    if answer is None:
        print("Not attempted yet: replace None in the cell above, run it, then run this cell.")
        return None
    try:
        right = _is_right(answer, expected, rtol)
    except Exception as err:  # a wrong type or shape: say so, never stop the notebook
        print(f"Not right yet ({type(err).__name__}: {err}). Hint: {hint}")
        return False
    print("Right!" if right else f"Not right yet. Hint: {hint}")
    return right


def _is_right(answer: object, expected: object, rtol: float | None) -> bool:
    if callable(expected):
        return bool(expected(answer))
    if isinstance(answer, (torch.Tensor, np.ndarray)) or isinstance(
        expected, (torch.Tensor, np.ndarray)
    ):
        a, e = _as_tensor(answer).double(), _as_tensor(expected).double()
        if a.shape != e.shape:
            raise ValueError(f"shape {tuple(a.shape)} instead of {tuple(e.shape)}")
        return bool(torch.allclose(a, e, rtol=rtol or 0.0, atol=0.0))
    if rtol is not None:
        return abs(float(answer) - float(expected)) <= rtol * abs(float(expected))  # type: ignore[arg-type]
    return bool(answer == expected)


def _fail(what: str, expected: str, found: str, detail: str = "", hint: str = "") -> NoReturn:
    lines = [f"{what}: check failed.", f"  expected: {expected}", f"  found:    {found}"]
    if detail:
        lines.append(f"  where:    {detail}")
    if hint:
        lines.append(f"  hint:     {hint}")
    raise AssertionError("\n".join(lines))


def _as_tensor(x: ArrayLike | object, name: str = "value") -> torch.Tensor:
    """A tensor, array, number or (nested) sequence of numbers as a CPU tensor; anything else
    (None, a string, a ragged list) fails the check with what was found."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu()
    try:
        array = np.asarray(x)
    except ValueError:  # a ragged nested list
        array = np.asarray(None)
    if array.dtype.kind not in "biufc":  # bool, int, unsigned, float, complex
        shown = repr(x) if len(repr(x)) <= 60 else repr(x)[:57] + "..."
        _fail(
            name,
            "a tensor, an array or numbers",
            f"{shown} ({type(x).__name__})",
            hint="did the cell that computes it run, and does it return the result?",
        )
    return torch.as_tensor(array)


def _check_name(name: object) -> None:
    """The `name` of a check is words; a number there is a tolerance passed by position."""
    if not isinstance(name, str):
        raise TypeError(
            f"name must be a few words naming the value, got {name!r}; pass tolerances by "
            "keyword, e.g. rtol=1e-3."
        )
