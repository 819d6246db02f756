"""Tooling for the notebook 08 assignment: build the student notebook, grade a submission.

    python -m helpers.assignment build                 # solution source -> student notebook
    python -m helpers.assignment build --no-execute    # the same, without running it
    python -m helpers.assignment grade SUBMISSION.ipynb [--no-execute] [--timeout 900]

A submission that runs past --timeout (seconds per cell) or kills its kernel still gets its
score table: the checks it never reached say "did not finish", above it one line says why.

The solution notebook (`notebooks/src/08_cifar10_assignment_solution.py`) is the only source.
The student notebook is generated from it with nbgrader's `ClearSolutions` (solution regions
become a stub that raises "not done yet") and `ClearHiddenTests` (hidden checks removed).
Inside the notebook, `attempt`, `ready` and `Checklist` let a half-finished notebook run top
to bottom, reporting what is missing instead of stopping.
"""

from __future__ import annotations

import argparse
import ast
import atexit
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SOLUTION_SOURCE = NOTEBOOKS / "src" / "08_cifar10_assignment_solution.py"
STUDENT_NOTEBOOK = NOTEBOOKS / "08_cifar10_assignment_student.ipynb"
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}

NOT_DONE = "not done yet"
CODE_STUB = (
    "# YOUR CODE HERE (then re-run this cell and the check below it)\n"
    'raise NotImplementedError("not done yet: replace this line with your code")'
)
TEXT_STUB = "YOUR ANSWER HERE"
CHECKLIST_MIME = "application/vnd.cnn-rnn-course.checklist+json"
CHECKLIST_CELL = "checklist"
MISSING = (NotImplementedError, NameError)
KERNEL_STARTUP_S = 120  # seconds a kernel may take to start (at least the cell timeout)


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
            from IPython.display import display

            display({CHECKLIST_MIME: self.to_json()}, raw=True)
        except ImportError:  # outside IPython the printed table is all there is
            pass


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


# --- building the student notebook ------------------------------------------------------------


def _clean(nb: Any) -> None:
    """Drop metadata that changes run to run (the same rule as scripts/build_notebooks.py)."""
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("ExecuteTime", None)


def build_student(source: Path = SOLUTION_SOURCE) -> Any:
    """The student notebook, without outputs, built from the solution source with nbgrader."""
    import jupytext
    from nbgrader.preprocessors import ClearHiddenTests, ClearOutput, ClearSolutions

    nb = jupytext.read(source)
    _clean(nb)
    resources: dict[str, Any] = {}
    steps = (
        ClearSolutions(code_stub={"python": CODE_STUB}, text_stub=TEXT_STUB),
        ClearHiddenTests(),
        ClearOutput(),
    )
    for step in steps:
        nb, resources = step.preprocess(nb, resources)
    nb.metadata.pop("celltoolbar", None)
    return nb


@contextmanager
def _env(**values: str) -> Iterator[None]:
    """Set environment variables (inherited by kernels started inside) for a block."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class DidNotFinish(RuntimeError):
    """The notebook stopped early: a cell ran past the timeout or the kernel died."""


def execute(
    nb: Any, timeout: int, allow_errors: bool, cwd: Path = NOTEBOOKS, strict: bool = False
) -> float:
    """Run `nb` in place in fast mode with a fresh kernel; returns the seconds it took.

    strict: deprecated torch/torchvision calls become errors (as when the course is built).
    A cell running longer than `timeout` seconds, or a kernel that dies, stops the run with
    `DidNotFinish` naming the cell (the kernel is shut down)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    timeout = _positive_seconds(timeout)
    running: list[int] = []
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(cwd)}},
        startup_timeout=max(KERNEL_STARTUP_S, timeout),
        on_cell_start=lambda cell, cell_index: running.append(cell_index),
    )
    start = time.perf_counter()
    try:
        with _env(COURSE_FAST="1", COURSE_STRICT_WARNINGS="1" if strict else "0"):
            client.execute(stderr=subprocess.DEVNULL)  # the kernel's own log, not the student's
    except CellTimeoutError:
        where = _cell_name(nb, running[-1] if running else None)
        raise DidNotFinish(
            f"{where} ran longer than the timeout of {timeout} s per cell (an endless loop, or "
            "too much work for fast mode); the kernel was stopped there."
        ) from None
    except DeadKernelError:
        where = _cell_name(nb, running[-1] if running else None)
        raise DidNotFinish(
            f"the kernel died while running {where} (os._exit, a crash in native code, or out of "
            "memory)."
        ) from None
    except RuntimeError as e:  # jupyter_client: the kernel never answered
        if running:
            raise
        atexit.unregister(client._cleanup_kernel)  # nbclient would fail again at exit
        raise DidNotFinish(
            f"the kernel did not start ({str(e).splitlines()[0]}): the machine is too busy, "
            "or Jupyter is broken (python -m helpers doctor)."
        ) from None
    _clean(nb)
    return time.perf_counter() - start


def write_student(run: bool = True, timeout: int = 600, target: Path = STUDENT_NOTEBOOK) -> float:
    """Build the student notebook, optionally execute it, and write it; returns run seconds."""
    import nbformat

    nb = build_student()
    seconds = execute(nb, timeout, allow_errors=False, strict=True) if run else 0.0
    nbformat.write(nb, target)
    return seconds


# --- grading a submission --------------------------------------------------------------------


class SubmissionError(ValueError):
    """The file handed in cannot be graded (not a notebook, or cells are missing)."""


@dataclass
class GradeReport:
    items: list[Item]
    score: int
    total: int
    restored: list[str]
    errors: list[str]
    seconds: float
    unfinished: str | None = None  # why the notebook stopped early, if it did

    def text(self) -> str:
        lines = []
        if self.unfinished:
            lines.append(f"did not finish: {self.unfinished}")
        if self.restored:
            lines.append(
                f"restored {len(self.restored)} locked cell(s) to the released version: "
                + ", ".join(self.restored)
            )
        lines.extend(f"cell error: {e}" for e in self.errors)
        lines.append(format_table(self.items, self.score, self.total))
        return "\n".join(lines)


def _grade_id(cell: Any) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _is_locked(cell: Any) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return (
        bool(meta)
        and not meta.get("solution", False)
        and (meta.get("locked", False) or meta.get("grade", False))
    )


def read_submission(path: Path) -> Any:
    """Read and validate a notebook file; raise SubmissionError with a plain reason."""
    import nbformat

    path = Path(path)
    if not path.is_file():
        raise SubmissionError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
        raw = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SubmissionError(f"{path}: not a notebook (the file is not JSON: {err})") from None
    if not isinstance(raw, dict) or "cells" not in raw:
        raise SubmissionError(f"{path}: not a notebook (JSON without a 'cells' list)")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # noqa: BLE001 - nbformat raises several error types
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise SubmissionError(f"{path}: not a valid notebook ({first})") from None
    return nb


def instructor_notebook(source: Path = SOLUTION_SOURCE) -> Any:
    """The solution notebook with its hidden tests, as nbgrader's autograde would use it."""
    import jupytext

    nb = jupytext.read(source)
    _clean(nb)
    return nb


def restore_locked_cells(nb: Any, released: Any, instructor: Any | None = None) -> list[str]:
    """Give every locked cell (checks, training, checklist) the instructor's source, hidden
    tests included, as nbgrader's autograde does; return the ids of cells the student had
    changed. Raise SubmissionError if a graded cell is missing."""
    instructor = instructor_notebook() if instructor is None else instructor
    by_id = {_grade_id(c): c for c in nb.cells if _grade_id(c)}
    original = {_grade_id(c): c.source for c in instructor.cells if _grade_id(c)}
    wanted = [c for c in released.cells if _grade_id(c)]
    missing = [_grade_id(c) for c in wanted if _grade_id(c) not in by_id]
    if missing:
        raise SubmissionError(
            "the submission is missing cell(s) "
            + ", ".join(repr(m) for m in missing)
            + ": start again from the released student notebook and keep its cells"
        )
    restored = []
    for cell in wanted:
        gid = _grade_id(cell)
        if _is_locked(cell):
            mine = by_id[gid]
            if mine.source not in (cell.source, original[gid]):
                restored.append(gid)
            mine.source = original[gid]
    return restored


def _cell_name(nb: Any, index: int | None) -> str:
    if index is None:
        return "the first cell"
    gid = _grade_id(nb.cells[index])
    return f"cell {gid!r} (cell {index})" if gid else f"cell {index}"


def _planned(nb: Any) -> list[tuple[str, int]]:
    """(claim, points) of every `checklist.check("claim", fn, points)` in the checklist cell,
    read from its source (for a notebook that never reached it)."""
    cell = next((c for c in nb.cells if _grade_id(c) == CHECKLIST_CELL), None)
    try:
        tree = ast.parse(cell.source) if cell is not None else None
    except SyntaxError:
        tree = None
    planned = []
    for node in ast.walk(tree) if tree is not None else []:
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "check"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            points = node.args[2] if len(node.args) > 2 else None
            points = next((k.value for k in node.keywords if k.arg == "points"), points)
            value = points.value if isinstance(points, ast.Constant) else 1
            planned.append((node.args[0].value, value if isinstance(value, int) else 1))
    return planned or [("the checklist cell ran", 1)]


def _positive_seconds(value: Any) -> int:
    """A per-cell timeout: a whole number of seconds >= 1 (nbclient waits forever on -1)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"timeout must be a whole number of seconds >= 1, got {value!r}.")
    return value


def _timeout_argument(text: str) -> int:
    """argparse type of --timeout: refuses 0, negative numbers and non-numbers."""
    try:
        return _positive_seconds(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a whole number of seconds >= 1 (per cell), got {text!r}"
        ) from None


def _cell_errors(nb: Any) -> list[str]:
    found = []
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                where = _grade_id(cell) or f"cell {index}"
                found.append(f"{where}: {out.get('ename')}: {out.get('evalue', '')[:200]}")
    return found


def _checklist_output(nb: Any) -> dict[str, Any] | None:
    for cell in nb.cells:
        if _grade_id(cell) == CHECKLIST_CELL:
            for out in cell.get("outputs", []):
                data = out.get("data", {})
                if CHECKLIST_MIME in data:
                    value = data[CHECKLIST_MIME]
                    return json.loads(value) if isinstance(value, str) else dict(value)
    return None


def grade(path: Path, run: bool = True, timeout: int = 900) -> GradeReport:
    """Grade a submitted notebook: restore locked cells, run it in fast mode, read its checklist.

    The score is the checklist's. Hidden tests put back into the check cells may fail in an
    incomplete submission: they are listed in `errors` for the instructor, not counted twice.

    With `run=False` the outputs stored in the file are graded as they are (quick, but only
    sound for a notebook you executed yourself).
    """
    timeout = _positive_seconds(timeout)
    nb = read_submission(Path(path))
    restored = restore_locked_cells(nb, build_student())
    try:
        seconds = (
            execute(nb, timeout, allow_errors=True, cwd=Path(path).resolve().parent) if run else 0.0
        )
    except DidNotFinish as stopped:
        items = [Item(claim, points, False, "did not finish") for claim, points in _planned(nb)]
        total = sum(i.points for i in items)
        errors = [e for e in _cell_errors(nb) if "KeyboardInterrupt" not in e]  # our own stop
        return GradeReport(items, 0, total, restored, errors, 0.0, str(stopped))
    errors = _cell_errors(nb)
    found = _checklist_output(nb)
    if found is None:
        why = errors[0] if errors else "its output is missing (was the notebook run to the end?)"
        items = [Item("the checklist cell ran", 1, False, why)]
        return GradeReport(items, 0, 1, restored, errors, seconds)
    items = [Item(**i) for i in found["items"]]
    score = sum(i.points for i in items if i.passed)
    total = sum(i.points for i in items)
    return GradeReport(items, score, total, restored, errors, seconds)


# --- command line ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.assignment", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write the student notebook from the solution source")
    b.add_argument("--no-execute", action="store_true", help="write it without running it")
    g = sub.add_parser("grade", help="grade a submitted notebook and print the checklist")
    g.add_argument("submission", type=Path)
    g.add_argument("--no-execute", action="store_true", help="grade the stored outputs")
    g.add_argument("--timeout", type=_timeout_argument, default=900, help="seconds per cell (>= 1)")
    args = parser.parse_args(argv)
    if args.command == "build":
        seconds = write_student(run=not args.no_execute)
        print(f"{STUDENT_NOTEBOOK.name}: written ({seconds:.1f} s to run)")
        return 0
    try:
        report = grade(args.submission, run=not args.no_execute, timeout=args.timeout)
    except SubmissionError as err:
        print(f"cannot grade: {err}", file=sys.stderr)
        return 2
    print(report.text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
