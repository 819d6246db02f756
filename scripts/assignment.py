"""Student versions of the notebooks, and a grader for any notebook, built on nbgrader.

    python scripts/assignment.py build all          # every notebooks/student/NN_name.ipynb
    python scripts/assignment.py build 00 08        # only those numbers
    python scripts/assignment.py grade SUBMISSION.ipynb [--timeout 300] [--no-execute]
    python scripts/assignment.py source all --course classroom  # nbgrader's source/ folder

One jupytext source (`notebooks/src/NN_name.py`) holds each notebook with nbgrader's markup:
answer cells with `### BEGIN SOLUTION` regions, check cells with `### BEGIN HIDDEN TESTS`,
points per check, locked cells. `build` runs nbgrader's own preprocessors on it (LockCells,
ClearSolutions, ClearHiddenTests, ClearOutput) and writes the student version, without outputs,
to `notebooks/student/`. A top-level answer keeps its `answer = None` line and gets the stub
`# your answer here`; an answer inside a function body gets a stub that raises "not done yet".

`grade` works out which notebook a submission is, puts back the locked cells and hidden tests
of the lecture source (by grade_id), runs it in fast mode with a per-cell timeout and scores
every graded cell as nbgrader's autograde does (an error scores 0, a number printed last is
partial credit). A submission that runs past the timeout or kills its kernel still gets its
table, with "did not finish" for what it never reached. Cells tagged `graded_from_outputs`
(08's accuracy goals) are scored from the outputs stored in the submission, i.e. the
student's own full run; the grader's fast re-run only shows that their code runs. Manually
graded answers (08's discussion) are printed with the task above them as the rubric.

`source` copies lecture versions into an nbgrader course folder (source/NN_name/NN_name.ipynb)
for nbgrader's own generate_assignment, autograde, generate_feedback and export; see
nbgrader_config.py and the README's "Teaching with the course".
"""

from __future__ import annotations

import argparse
import atexit
import copy
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jupytext
import nbformat
from nbgrader.preprocessors import ClearHiddenTests, ClearOutput, ClearSolutions, LockCells

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_notebooks import NOTEBOOKS, ROOT, clean, sources  # noqa: E402

from helpers.assignment import CHECKLIST_MIME  # noqa: E402

STUDENT = NOTEBOOKS / "student"
ANSWER_STUB = "# your answer here"
FUNCTION_STUB = (
    "# your answer here\n"
    'raise NotImplementedError("not done yet: replace this line with your code")'
)
FROM_OUTPUTS = "graded_from_outputs"  # cell tag: scored from the submission's stored outputs
KERNEL_STARTUP_S = 120
DEFAULT_TIMEOUT = 300


class SubmissionError(ValueError):
    """The file handed in cannot be graded (not a notebook, unknown, or graded cells missing)."""


class DidNotFinish(RuntimeError):
    """The notebook stopped early at cell `index`: a cell ran past the timeout or the kernel
    died (or never started)."""

    def __init__(self, reason: str, index: int):
        super().__init__(reason)
        self.index = index


# --- student versions ------------------------------------------------------------------------


class ClearSolutionsByPlace(ClearSolutions):
    """nbgrader's ClearSolutions with the stub chosen by where the solution sits: at the top
    level of a cell the `answer = None` line above stays and a comment replaces the solution;
    inside a function body (08's tasks) the stub raises "not done yet" when called."""

    def _replace_solution_region(self, cell: Any, language: str) -> bool:
        indented = any(
            self.begin_solution_delimeter in line and line[:1].isspace()
            for line in cell.source.splitlines()
        )
        self.code_stub = {language: FUNCTION_STUB if indented else ANSWER_STUB}
        return super()._replace_solution_region(cell, language)


def build_student(src: Path) -> nbformat.NotebookNode:
    """The student version of the lecture source `src`, without outputs."""
    nb = lecture(src)
    # Cells tagged "solution" (the course's older convention) are solutions too.
    nb.cells = [c for c in nb.cells if "solution" not in c.metadata.get("tags", [])]
    resources: dict[str, Any] = {}
    steps = (LockCells(), ClearSolutionsByPlace(), ClearHiddenTests(), ClearOutput())
    for step in steps:
        nb, resources = step.preprocess(nb, resources)
    clean(nb)
    return nb


def student_path(src: Path) -> Path:
    """notebooks/student/NN_name.ipynb (08's lecture version is named ..._solution)."""
    return STUDENT / f"{src.stem.removesuffix('_solution')}.ipynb"


def lecture(src: Path) -> nbformat.NotebookNode:
    """The lecture (instructor) version: solutions and hidden tests in, as the source holds it."""
    nb = jupytext.read(src)
    clean(nb)
    return nb


def write_students(selected: list[str]) -> list[Path]:
    STUDENT.mkdir(exist_ok=True)
    written = []
    for src in sources([] if selected == ["all"] else selected):
        nbformat.write(build_student(src), student_path(src))
        written.append(student_path(src))
    return written


def write_course_sources(selected: list[str], course: Path) -> list[Path]:
    """nbgrader's source folder: course/source/NN_name/NN_name.ipynb, the lecture versions."""
    written = []
    for src in sources([] if selected == ["all"] else selected):
        target = course / "source" / src.stem / f"{src.stem}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(lecture(src), target)
        written.append(target)
    return written


# --- grading -----------------------------------------------------------------------------------


@dataclass
class Row:
    """One graded cell (or one item of 08's checklist): its points, whether it passed, why."""

    grade_id: str
    points: float
    earned: float
    message: str

    @property
    def passed(self) -> bool:
        return self.earned >= self.points


@dataclass
class Report:
    notebook: str
    rows: list[Row]
    restored: list[str] = field(default_factory=list)
    unfinished: str | None = None
    by_hand: list[str] = field(default_factory=list)  # manually graded answers, with rubric
    errors: list[str] = field(default_factory=list)  # ungraded cells that raised in the re-run

    @property
    def score(self) -> float:
        return sum(r.earned for r in self.rows)

    @property
    def total(self) -> float:
        return sum(r.points for r in self.rows)

    def text(self) -> str:
        lines = [f"notebook: {self.notebook}"]
        if self.restored:
            lines.append(
                f"restored {len(self.restored)} locked cell(s) the submission had changed: "
                + ", ".join(self.restored)
            )
        if self.unfinished:
            lines.append(f"did not finish: {self.unfinished}")
        lines.extend(f"cell error: {e}" for e in self.errors)
        width = max([len(r.grade_id) for r in self.rows] + [8])
        lines.append(f"{'grade_id':<{width}}  points  passed  message")
        for r in self.rows:
            mark = "yes" if r.passed else "NO"
            lines.append(
                f"{r.grade_id:<{width}}  {_num(r.earned)}/{_num(r.points):<4}  {mark:<6}  {r.message}"
            )
        if not self.rows:
            lines.append("(this notebook has no graded checks)")
        lines.extend(self.by_hand)
        lines.append(f"score: {_num(self.score)} / {_num(self.total)}")
        return "\n".join(lines)


def grade(
    path: Path, run: bool = True, timeout: int = DEFAULT_TIMEOUT, src: Path | None = None
) -> Report:
    """Grade the notebook at `path` against its lecture source (found from its title, file name
    or graded cells unless `src` is given). With `run=False` the stored outputs are graded as they are
    (only sound for a notebook the instructor executed)."""
    timeout = _positive_seconds(timeout)
    nb = read_submission(Path(path))
    src = src or identify(nb, Path(path))
    instructor = lecture(src)
    handed_in = copy.deepcopy(nb)
    restored = restore_locked_cells(nb, instructor, build_student(src))
    unfinished, stopped_at = None, len(nb.cells)
    if run:
        try:
            execute(nb, timeout, cwd=Path(path).resolve().parent)
        except DidNotFinish as stop:
            unfinished, stopped_at = str(stop), stop.index
    rows, by_hand = [], []
    for index, cell in enumerate(nb.cells):
        meta = _nbgrader(cell)
        if not meta.get("grade"):
            continue
        if meta.get("solution"):
            by_hand.append(_by_hand(handed_in, instructor, meta))
        elif FROM_OUTPUTS in cell.metadata.get("tags", []):
            rows.extend(_rows(_cell(handed_in, meta["grade_id"]), meta, stored=True))
            if index >= stopped_at:
                rows[-1].message += " (the grader's re-run did not reach it)"
        elif index >= stopped_at:
            rows.extend(Row(gid, pts, 0, "did not finish") for gid, pts in _planned(cell, meta))
        else:
            rows.extend(_rows(cell, meta, stored=False))
    errors = [
        f"{_cell_name(nb, i)}: {_error(c)}"
        for i, c in enumerate(nb.cells[:stopped_at])
        if not _nbgrader(c).get("grade") and _error(c)
    ]
    return Report(src.stem, rows, restored, unfinished, by_hand, errors)


def read_submission(path: Path) -> nbformat.NotebookNode:
    """Read and validate a notebook file; raise SubmissionError with a plain reason."""
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


def identify(nb: nbformat.NotebookNode, path: Path) -> Path:
    """The lecture source a submission was made from: the one with its title, else its
    number at the start of the file name, else the most grade_ids in common."""
    ids = {_grade_id(c) for c in nb.cells} - {None}
    title = _title("\n".join(c.source for c in nb.cells if c.cell_type == "markdown"))

    def evidence(src: Path) -> tuple[bool, bool, int]:
        text = src.read_text(encoding="utf-8")
        lecture_title = re.search(r"^# # (.+)$", text, re.M)  # a jupytext markdown heading
        same_title = lecture_title is not None and title == lecture_title.group(1).strip()
        grade_ids = set(re.findall(r'"grade_id":\s*"([^"]+)"', text))
        return same_title, path.name[:3] == src.name[:3], len(ids & grade_ids)

    found = {src: evidence(src) for src in sources([])}
    best = max(found, key=found.__getitem__, default=None)
    if best is None or not any(found[best]):
        raise SubmissionError(
            f"{path}: cannot tell which notebook this is (no title, graded cells or file name "
            "of a course notebook): name it after the notebook, e.g. 01_convolution_math.ipynb"
        )
    return best


def restore_locked_cells(
    nb: nbformat.NotebookNode, instructor: nbformat.NotebookNode, released: nbformat.NotebookNode
) -> list[str]:
    """Give every locked or graded cell the lecture source, hidden tests included, as
    nbgrader's autograde does; return the ids of the cells the student had changed. Raise
    SubmissionError when a graded or locked cell is missing."""
    mine = {_grade_id(c): c for c in nb.cells if _grade_id(c)}
    wanted = [c for c in instructor.cells if _grade_id(c)]
    missing = [_grade_id(c) for c in wanted if _grade_id(c) not in mine]
    if missing:
        raise SubmissionError(
            "the submission is missing cell(s) "
            + ", ".join(repr(m) for m in missing)
            + ": start again from the released student version and keep its cells"
        )
    released_source = {_grade_id(c): c.source for c in released.cells if _grade_id(c)}
    restored = []
    for cell in wanted:
        meta = _nbgrader(cell)
        if meta.get("solution") or not (meta.get("locked") or meta.get("grade")):
            continue
        gid = _grade_id(cell)
        if mine[gid].source not in (cell.source, released_source.get(gid)):
            restored.append(gid)
        mine[gid].source = cell.source
        mine[gid].metadata = copy.deepcopy(cell.metadata)
    return restored


def execute(nb: nbformat.NotebookNode, timeout: int, cwd: Path = NOTEBOOKS) -> None:
    """Run `nb` in place in fast mode with a fresh kernel, errors kept in the outputs. A cell
    running longer than `timeout` seconds, or a kernel that dies or never starts, raises
    DidNotFinish naming the cell."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    timeout = _positive_seconds(timeout)
    running: list[int] = []
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(cwd)}},
        startup_timeout=max(KERNEL_STARTUP_S, timeout),
        on_cell_start=lambda cell, cell_index: running.append(cell_index),
    )
    with _env(COURSE_FAST="1", COURSE_STRICT_WARNINGS="0", COURSE_PROGRESS="0"):
        try:
            client.execute(stderr=subprocess.DEVNULL)  # the kernel's own log, not the student's
        except (CellTimeoutError, DeadKernelError) as err:
            index = running[-1] if running else 0
            where = _cell_name(nb, index)
            why = (
                f"{where} ran longer than the timeout of {timeout} s per cell (an endless loop, "
                "or too much work for fast mode); the kernel was stopped there."
                if isinstance(err, CellTimeoutError)
                else f"the kernel died while running {where} (os._exit, a crash in native code, "
                "or out of memory)."
            )
            raise DidNotFinish(why, index) from None
        except RuntimeError as err:  # jupyter_client: the kernel never answered
            if running:
                raise
            atexit.unregister(client._cleanup_kernel)  # nbclient would fail again at exit
            raise DidNotFinish(
                f"the kernel did not start ({str(err).splitlines()[0]}): the machine is too "
                "busy, or Jupyter is broken (python -m helpers doctor).",
                0,
            ) from None


# --- command line --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python scripts/assignment.py", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write notebooks/student/NN_name.ipynb")
    b.add_argument("numbers", nargs="+", help="notebook numbers (00 08) or all")
    s = sub.add_parser("source", help="copy lecture versions into an nbgrader course folder")
    s.add_argument("numbers", nargs="+", help="notebook numbers (00 08) or all")
    s.add_argument("--course", type=Path, default=ROOT / "classroom", help="the course folder")
    g = sub.add_parser("grade", help="grade a submitted notebook and print the score table")
    g.add_argument("submission", type=Path)
    g.add_argument("--no-execute", action="store_true", help="grade the stored outputs")
    g.add_argument(
        "--timeout", type=_timeout_argument, default=DEFAULT_TIMEOUT, help="seconds per cell"
    )
    args = parser.parse_args(argv)
    if args.command in ("build", "source"):
        if not sources([] if args.numbers == ["all"] else args.numbers):
            print(f"no notebook sources match {' '.join(args.numbers)}", file=sys.stderr)
            return 1
        if args.command == "build":
            written = write_students(args.numbers)
        else:
            written = write_course_sources(args.numbers, args.course)
        for path in written:
            print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: written")
        return 0
    try:
        report = grade(args.submission, run=not args.no_execute, timeout=args.timeout)
    except SubmissionError as err:
        print(f"cannot grade: {err}", file=sys.stderr)
        return 2
    print(report.text())
    return 0


# --- private helpers ---------------------------------------------------------------------------


def _nbgrader(cell: Any) -> dict[str, Any]:
    return dict(cell.get("metadata", {}).get("nbgrader", {}))


def _grade_id(cell: Any) -> str | None:
    return _nbgrader(cell).get("grade_id")


def _cell(nb: nbformat.NotebookNode, grade_id: str) -> Any:
    return next(c for c in nb.cells if _grade_id(c) == grade_id)


def _title(markdown: str) -> str | None:
    """The first `# Title` line of some markdown."""
    match = re.search(r"^# (.+)$", markdown, re.M)
    return match.group(1).strip() if match else None


def _rows(cell: Any, meta: dict[str, Any], stored: bool) -> list[Row]:
    """The rows of one executed grade cell: its checklist's items if it emitted one, else one
    row scored by nbgrader's own rule (error: 0, a number shown last: partial credit)."""
    from nbgrader.utils import determine_grade

    gid, points = meta["grade_id"], float(meta.get("points", 0))
    checklist = _checklist(cell)
    note = "from the submission's own run: " if stored else ""
    if checklist is not None and not _error(cell):
        return [
            Row(f"{gid}: {i['claim']}", i["points"], i["points"] * i["passed"], note + i["detail"])
            for i in checklist["items"]
        ]
    if not cell.get("outputs") and cell.get("execution_count") is None:
        why = "no stored output: run the notebook to the end before handing it in"
        return [
            Row(gid, pts, 0, why if stored else "did not run") for gid, pts in _planned(cell, meta)
        ]
    earned, _ = determine_grade(nbformat.from_dict(cell))
    earned = float(earned or 0)
    message = _verdict(cell) or _error(cell) or ("ok" if earned else "stderr output")
    return [Row(gid, points, earned, note + message)]


def _planned(cell: Any, meta: dict[str, Any]) -> list[tuple[str, float]]:
    """(row id, points) of a grade cell that did not run: one row per `checklist.check("claim",
    fn, points)` in a checklist cell, else one row for the cell."""
    found = re.findall(r'\.check\(\s*"([^"]+)"[^\n]*?(?:points=(\d+))?\)\s*$', cell.source, re.M)
    gid = meta["grade_id"]
    if found:
        return [(f"{gid}: {claim}", float(points or 1)) for claim, points in found]
    return [(gid, float(meta.get("points", 0)))]


def _checklist(cell: Any) -> dict[str, Any] | None:
    for out in cell.get("outputs", []):
        value = out.get("data", {}).get(CHECKLIST_MIME)
        if value is not None:
            return json.loads(value) if isinstance(value, str) else dict(value)
    return None


def _verdict(cell: Any) -> str:
    """What the check itself said last: helpers.verdict's line (Right! / Not right yet ... /
    Not attempted yet) or 08's "not done yet: ..." from `attempt`."""
    text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stdout")
    said = ("Right!", "Not right", "Not att", "not done yet")
    lines = [ln for ln in text.splitlines() if ln.startswith(said)]
    return lines[-1][:160] if lines else ""


def _error(cell: Any) -> str:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            first = (out.get("evalue") or "").splitlines()
            return f"{out.get('ename')}: {first[0][:160] if first else ''}".rstrip(": ")
    return ""


def _by_hand(
    handed_in: nbformat.NotebookNode, instructor: nbformat.NotebookNode, meta: dict[str, Any]
) -> str:
    """A manually graded answer for the instructor: the task (rubric) and what was handed in."""
    gid, points = meta["grade_id"], _num(float(meta.get("points", 0)))
    index = next(i for i, c in enumerate(instructor.cells) if _grade_id(c) == gid)
    task = next(
        (c.source for c in reversed(instructor.cells[:index]) if c.cell_type == "markdown"), ""
    )
    where = next(i for i, c in enumerate(handed_in.cells) if _grade_id(c) == gid)
    shown = [_shown_text(c) for c in handed_in.cells[where : where + 2]]  # it, or the cell after
    answer = next((t for t in shown if t.strip()), "(no stored output: the answer was not run)")
    bar = "-" * 72
    return (
        f"{bar}\nby hand, not in the score: {gid} ({points} points)\n"
        f"rubric (the task):\n{task}\nthe submission's answer:\n{answer.strip()}\n{bar}"
    )


def _shown_text(cell: Any) -> str:
    texts = []
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        texts.append(data.get("text/markdown") or data.get("text/plain") or out.get("text", ""))
    return "\n".join(t if isinstance(t, str) else "".join(t) for t in texts)


def _cell_name(nb: nbformat.NotebookNode, index: int) -> str:
    gid = _grade_id(nb.cells[index]) if index < len(nb.cells) else None
    return f"cell {gid!r} (cell {index})" if gid else f"cell {index}"


def _num(value: float) -> str:
    return f"{value:g}"


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


if __name__ == "__main__":
    sys.exit(main())
