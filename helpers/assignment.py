"""What the notebook 08 assignment imports while it runs: a half-finished notebook runs top to
bottom and reports what is missing instead of stopping.

`attempt` runs a part that may still be a "not done yet" stub, `ready` skips a step whose
inputs are missing, and `Checklist` scores the assignment's claims, prints them and attaches
them to the cell's output for the grader. Building the student versions and grading
submissions is instructor tooling, outside the package: `python scripts/assignment.py` (or
`python -m helpers.assignment`, which runs it).
Used by notebook 08.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

NOT_DONE = "not done yet"
CHECKLIST_MIME = "application/vnd.cnn-rnn-course.checklist+json"
MISSING = (NotImplementedError, NameError)


# --- running a half-finished notebook -------------------------------------------------------


def attempt(part: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """Run `fn(*args, **kwargs)`; if a part it needs is not written yet, say so and return None.

    Only "missing" errors (NotImplementedError from a TODO stub, NameError from a name not
    defined yet) are caught; a failing check (AssertionError) or a bug still raises.
    """
    try:
        return fn(*args, **kwargs)
    except MISSING as err:
        print(f"{NOT_DONE}: {part} ({type(err).__name__}: {err})")
        return None


def ready(what: str, **needed: Any) -> bool:
    """True when every keyword value is not None; otherwise print what is skipped and why."""
    missing = [name for name, value in needed.items() if value is None]
    if missing:
        print(f"skipped: {what} (needs {', '.join(missing)}, which is {NOT_DONE})")
    return not missing


@dataclass
class Item:
    """One line of the checklist: a claim, its points, whether it holds and why."""

    claim: str
    points: int
    passed: bool
    detail: str


@dataclass
class Checklist:
    """The assignment checklist: run each check, print a table, emit it for the grader."""

    items: list[Item] = field(default_factory=list)

    def check(self, claim: str, fn: Callable[[], tuple[bool, str]], points: int = 1) -> bool:
        """Run `fn() -> (passed, detail)`; any exception counts as failed, with its message."""
        try:
            passed, detail = fn()
        except MISSING as err:
            passed, detail = False, f"{NOT_DONE} ({type(err).__name__}: {err})"
        except Exception as err:  # noqa: BLE001 - a grader reports every failure, never crashes
            passed, detail = (
                False,
                f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}",
            )
        self.items.append(Item(claim, points, bool(passed), str(detail)))
        return bool(passed)

    @property
    def score(self) -> int:
        return sum(i.points for i in self.items if i.passed)

    @property
    def total(self) -> int:
        return sum(i.points for i in self.items)

    @property
    def all_passed(self) -> bool:
        return all(i.passed for i in self.items)

    def table(self) -> str:
        return format_table(self.items, self.score, self.total)

    def to_json(self) -> dict[str, Any]:
        return {"items": [vars(i) for i in self.items], "score": self.score, "total": self.total}

    def show(self) -> None:
        """Print the table, and attach it as JSON to the cell's output for the grader."""
        print(self.table())
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:  # without IPython the printed table is all there is
            return
        if get_ipython() is not None:  # in a plain Python run, display() would print the dict
            display({CHECKLIST_MIME: self.to_json()}, raw=True)


def format_table(items: list[Item], score: int, total: int) -> str:
    """A plain-text table: one line per item, then the score."""
    width = max([len(i.claim) for i in items] + [5])
    lines = [f"{'check':<{width}}  result  points  detail", "-" * (width + 32)]
    for i in items:
        mark = "yes" if i.passed else "NO"
        got = i.points if i.passed else 0
        lines.append(f"{i.claim:<{width}}  {mark:<6}  {got}/{i.points:<4}  {i.detail}")
    lines.append("-" * (width + 32))
    lines.append(f"score: {score}/{total}")
    return "\n".join(lines)


if __name__ == "__main__":  # `python -m helpers.assignment build|grade ...`: the tools in scripts/
    import runpy
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "scripts" / "assignment.py"
    if not script.exists():
        sys.exit(f"{script} not found: build and grade from a clone of the course repository")
    sys.argv[0] = str(script)
    runpy.run_path(str(script), run_name="__main__")
