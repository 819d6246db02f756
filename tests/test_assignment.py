"""Student versions and the grader (scripts/assignment.py), and what notebook 08 imports while
it runs (helpers.assignment): the committed student versions are fresh nbgrader builds of their
lecture sources without solutions; the grader scores lecture versions fully and student
versions partly, and grades endless, crashing and malformed submissions with a table or one
clear line. None of these tests executes a course notebook: the ones that start a kernel grade
a three-cell notebook."""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

from helpers import assignment as H

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("assignment", ROOT / "scripts" / "assignment.py")
A = importlib.util.module_from_spec(_spec)
sys.modules["assignment"] = A  # its dataclasses look their module up there
_spec.loader.exec_module(A)

SOURCES = A.sources([])
GRADED = [src for src in SOURCES if '"grade": true' in src.read_text(encoding="utf-8")]
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def _view(nb) -> list[tuple[str, str, dict]]:
    return [(c.cell_type, c.source.strip(), c.metadata.get("nbgrader", {})) for c in nb.cells]


@functools.cache
def _student(src: Path) -> nbformat.NotebookNode:
    """A fresh build of the student version (built once per test run; do not modify it)."""
    return A.build_student(src)


def _grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _lecture_notebook(src: Path) -> Path:
    return A.NOTEBOOKS / f"{src.stem}.ipynb"


# --- student versions ------------------------------------------------------------------------


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_committed_student_version_is_a_fresh_build(src: Path):
    path = A.student_path(src)
    assert path.exists(), f"run `python scripts/assignment.py build {src.name[:2]}`"
    committed = nbformat.read(path, as_version=4)
    assert _view(committed) == _view(_student(src)), (
        f"{path.name} differs from a fresh build of {src.name}: "
        f"run `python scripts/assignment.py build {src.name[:2]}` and commit it"
    )
    assert not any(c.get("outputs") for c in committed.cells), "student versions have no outputs"


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_student_version_holds_no_solution(src: Path):
    student = _student(src)
    text = "\n".join(c.source for c in student.cells)
    assert not [m for m in MARKERS if m in text]
    assert not [c for c in student.cells if "solution" in c.metadata.get("tags", [])]
    released = {_grade_id(c): c.source for c in student.cells if _grade_id(c)}
    for cell in jupytext.read(src).cells:
        if "\n### BEGIN SOLUTION" in cell.source:  # a top-level answer: `x = None` stays
            kept = cell.source.split("### BEGIN SOLUTION")[0].strip()
            stub = re.sub(r"\n\s*\n", "\n", released[_grade_id(cell)])  # blank lines aside
            assert stub == f"{kept}\n{A.ANSWER_STUB}"


def test_student_08_has_no_model_name_and_its_tasks_say_not_done_yet():
    src = next(s for s in SOURCES if s.name.startswith("08"))
    student = _student(src)
    text = "\n".join(c.source for c in student.cells)
    assert "ShortcutNet" not in text, "the solution's model name must not leak"
    assert A.student_path(src).name == "08_cifar10_assignment.ipynb"
    tasks = [c for c in student.cells if c.metadata.get("nbgrader", {}).get("solution")]
    in_functions = [c for c in tasks if "raise NotImplementedError" in c.source]
    assert len(in_functions) == 4, "BaselineNet, ProposedNet, make_optimizer, discussion"
    assert all(H.NOT_DONE in c.source for c in in_functions)


def test_stub_depends_on_where_the_solution_is():
    cell = nbformat.v4.new_code_cell(
        "x = None\n### BEGIN SOLUTION\nx = 3\n### END SOLUTION\n\n"
        "def f():\n    ### BEGIN SOLUTION\n    return 3\n    ### END SOLUTION"
    )
    cell.metadata["nbgrader"] = {"grade": False, "grade_id": "a", "solution": True}
    top = nbformat.v4.new_code_cell("y = None\n### BEGIN SOLUTION\ny = 4\n### END SOLUTION")
    top.metadata["nbgrader"] = {"grade": False, "grade_id": "b", "solution": True}
    nb = nbformat.v4.new_notebook(cells=[cell, top])
    nb.metadata["kernelspec"] = {"language": "python", "name": "python3"}
    nb, _ = A.ClearSolutionsByPlace().preprocess(nb, {})
    assert "raise NotImplementedError" in nb.cells[0].source  # a function body must raise
    compile(nb.cells[0].source, "cell", "exec")
    assert nb.cells[1].source == f"y = None\n{A.ANSWER_STUB}"


@pytest.mark.parametrize("src", GRADED, ids=lambda p: p.stem)
def test_exercises_follow_the_markup(src: Path):
    lecture = jupytext.read(src)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in lecture.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids)), "grade_ids are unique in a notebook"
    answers = {m.group(1) for i in ids if (m := re.fullmatch(r"ex(\d+)_answer", i))}
    checks = {m.group(1) for i in ids if (m := re.fullmatch(r"ex(\d+)_check", i))}
    assert len(answers) >= 3 and answers == checks, "every exK_answer has its exK_check"


# --- grading ---------------------------------------------------------------------------------


@pytest.mark.parametrize("src", GRADED, ids=lambda p: p.stem)
def test_grading_a_lecture_version_gives_full_marks(src: Path):
    report = A.grade(_lecture_notebook(src), run=False)
    assert report.notebook == src.stem
    assert report.total > 0 and report.score == report.total, report.text()
    assert report.text().endswith(f"score: {report.total:g} / {report.total:g}")


def test_grading_08_scores_sanity_checks_accuracy_and_shows_the_discussion():
    src = next(s for s in GRADED if s.name.startswith("08"))
    report = A.grade(_lecture_notebook(src), run=False)
    ids = [r.grade_id for r in report.rows]
    assert {"check_initial_loss", "check_overfit"} <= set(ids), "the sanity checks carry points"
    accuracy = [r for r in report.rows if r.grade_id.startswith("accuracy:")]
    assert len(accuracy) == 2 and all("from" not in r.message or r.passed for r in accuracy)
    assert "checklist: trained on the released training split only" in ids
    text = report.text()
    assert "by hand, not in the score: discussion (3 points)" in text
    assert "is the better model" in text, "the student's discussion is printed"


def test_grading_a_student_version_without_outputs_scores_nothing(tmp_path: Path):
    src = GRADED[0]
    path = tmp_path / "handed_in.ipynb"
    nbformat.write(_student(src), path)
    report = A.grade(path, run=False)
    assert report.notebook == src.stem, "found from its grade_ids, whatever the file is called"
    assert report.score == 0 < report.total, report.text()


def test_grading_restores_edited_check_cells(tmp_path: Path):
    src = GRADED[0]
    nb = nbformat.read(_lecture_notebook(src), as_version=4)
    check = next(
        c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ex1_check"
    )
    check.source = "ok_1 = True  # trust me"
    path = tmp_path / "submission.ipynb"
    nbformat.write(nb, path)
    assert A.grade(path, run=False).restored == ["ex1_check"]
    A.restore_locked_cells(nb, A.lecture(src), A.build_student(src))
    assert "BEGIN HIDDEN TESTS" in check.source and "trust me" not in check.source


def test_grade_not_json_is_a_clear_error(tmp_path: Path, capsys):
    bad = tmp_path / "submission.ipynb"
    bad.write_text("this is not a notebook {", encoding="utf-8")
    with pytest.raises(A.SubmissionError, match="not JSON"):
        A.grade(bad, run=False)
    assert A.main(["grade", str(bad), "--no-execute"]) == 2
    assert "cannot grade" in capsys.readouterr().err


def test_grade_json_that_is_not_a_notebook(tmp_path: Path):
    bad = tmp_path / "submission.ipynb"
    bad.write_text(json.dumps({"hello": 1}), encoding="utf-8")
    with pytest.raises(A.SubmissionError, match="not a notebook"):
        A.grade(bad, run=False)


def test_grade_missing_file(tmp_path: Path):
    with pytest.raises(A.SubmissionError, match="no such file"):
        A.grade(tmp_path / "nothing.ipynb", run=False)


def test_grade_a_notebook_it_cannot_place(tmp_path: Path):
    path = tmp_path / "homework.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]), path)
    with pytest.raises(A.SubmissionError, match="cannot tell which notebook"):
        A.grade(path, run=False)


def test_grade_missing_cell_names_it(tmp_path: Path):
    src = GRADED[0]
    nb = A.build_student(src)
    nb.cells = [
        c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "ex2_check"
    ]
    path = tmp_path / "submission.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(A.SubmissionError, match="missing cell.*'ex2_check'"):
        A.grade(path, run=False)


# --- grading by running: a three-cell notebook ------------------------------------------------

# a three-cell notebook in the course's exercise markup (answer cell, graded check cells)
TINY_SOURCE = (ROOT / "tests" / "fixtures" / "99_tiny.py").read_text(encoding="utf-8")


@pytest.fixture
def tiny(tmp_path: Path):
    """`tiny(answer_cell)` writes a submission of a three-cell notebook whose answer cell holds
    `answer_cell` (None: the released stub) and returns (its path, its lecture source)."""
    src = tmp_path / "src" / "99_tiny.py"
    src.parent.mkdir()
    src.write_text(TINY_SOURCE, encoding="utf-8")

    def submit(answer_cell: str | None) -> tuple[Path, Path]:
        nb = A.build_student(src)
        if answer_cell is not None:
            nb.cells[0].source = answer_cell
        path = tmp_path / "99_tiny.ipynb"
        nbformat.write(nb, path)
        return path, src

    return submit


def test_grade_runs_a_submission_and_scores_each_check(tiny):
    path, src = tiny("answer = 41")
    report = A.grade(path, timeout=60, src=src)
    assert [(r.grade_id, r.earned, r.points) for r in report.rows] == [
        ("ex1_check", 0, 2),
        ("ex2_check", 1, 1),
    ]
    assert report.rows[0].message == "Not right yet. Hint: six times seven", report.text()
    assert report.text().endswith("score: 1 / 3")


def test_grade_endless_loop_prints_the_table_with_did_not_finish(tiny, capfd, monkeypatch):
    path, src = tiny("while True:\n    pass")
    monkeypatch.setattr(A, "identify", lambda nb, path: src)
    assert A.main(["grade", str(path), "--timeout", "2"]) == 0
    out, err = capfd.readouterr()
    assert "did not finish: cell 'ex1_answer' (cell 0) ran longer than the timeout of 2 s" in out
    assert out.count("did not finish") == 3 and "score: 0 / 3" in out, out
    assert "Traceback" not in out + err and "CellTimeoutError" not in out + err


def test_grade_dead_kernel_prints_the_table_with_did_not_finish(tiny, capfd, monkeypatch):
    path, src = tiny("import os\nos._exit(1)")
    monkeypatch.setattr(A, "identify", lambda nb, path: src)
    assert A.main(["grade", str(path), "--timeout", "60"]) == 0
    out, err = capfd.readouterr()
    assert "did not finish: the kernel died while running cell 'ex1_answer' (cell 0)" in out
    assert out.count("did not finish") == 3 and "score: 0 / 3" in out, out
    assert "Traceback" not in out + err and "DeadKernelError" not in out + err


@pytest.mark.parametrize("bad", ["-1", "0", "abc", "2.5"])
def test_grade_timeout_must_be_a_positive_number_of_seconds(tmp_path, capsys, bad):
    with pytest.raises(SystemExit) as stopped:
        A.main(["grade", str(tmp_path / "submission.ipynb"), "--timeout", bad])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert (
        f"argument --timeout: must be a whole number of seconds >= 1 (per cell), got '{bad}'" in err
    )
    with pytest.raises(ValueError, match=r"timeout must be a whole number of seconds >= 1, got -1"):
        A.grade(tmp_path / "submission.ipynb", timeout=-1)


def test_build_refuses_an_unknown_number(capsys):
    assert A.main(["build", "77"]) == 1
    assert "no notebook sources match 77" in capsys.readouterr().err


# --- what notebook 08 imports while it runs -------------------------------------------------


def test_notebook_time_import_pulls_in_no_grading_tools():
    import subprocess

    code = "import helpers.assignment, sys; print(sorted({'nbgrader', 'nbclient', 'jupytext'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_attempt_reports_missing_work_and_returns_none(capsys):
    def todo():
        raise NotImplementedError("not done yet: replace this line")

    assert H.attempt("Task 9", todo) is None
    assert "not done yet: Task 9" in capsys.readouterr().out
    assert H.attempt("a name", lambda: undefined_name) is None  # noqa: F821 - on purpose
    assert H.attempt("sum", sum, [1, 2]) == 3


def test_attempt_lets_failed_checks_raise():
    def wrong():
        raise AssertionError("shape of output: check failed")

    with pytest.raises(AssertionError, match="check failed"):
        H.attempt("Task 1", wrong)


def test_ready_names_what_is_missing(capsys):
    assert H.ready("plot", a=1, b=2)
    assert not H.ready("plot", a=1, model=None)
    assert "skipped: plot (needs model" in capsys.readouterr().out


def test_checklist_scores_and_never_raises():
    c = H.Checklist()
    c.check("holds", lambda: (True, "fine"), points=2)
    c.check("fails", lambda: (False, "nope"))
    c.check("crashes", lambda: 1 / 0)
    c.check("todo", lambda: (_ for _ in ()).throw(NotImplementedError("x")))
    assert (c.score, c.total, c.all_passed) == (2, 5, False)
    assert "ZeroDivisionError" in c.items[2].detail
    assert H.NOT_DONE in c.items[3].detail
    table = c.table()
    assert "score: 2/5" in table and "holds" in table
    assert json.loads(json.dumps(c.to_json()))["score"] == 2


def test_checklist_outside_a_notebook_prints_only_the_table(capsys):
    """In a plain Python run (no IPython kernel) show() prints the table, not the grader's
    JSON as a raw dict."""
    c = H.Checklist()
    c.check("holds", lambda: (True, "fine"))
    c.show()
    out = capsys.readouterr().out
    assert out.strip() == c.table() and H.CHECKLIST_MIME not in out


def test_08_point_table_matches_the_graded_cells():
    src = next(s for s in GRADED if s.name.startswith("08"))
    cells = jupytext.read(src).cells
    points = {
        meta["grade_id"]: (meta["points"], meta["solution"])
        for c in cells
        if (meta := c.metadata.get("nbgrader", {})).get("grade")
    }
    table = next(c.source for c in cells if "## How this assignment is graded" in c.source)
    rows = [line.split("|")[1:-1] for line in table.splitlines() if line.startswith("| ")]
    listed = {}
    for _part, cell, pts, _how in rows[1:-1]:
        ids = re.findall(r"`(\w+)`", cell)
        assert sum(points[i][0] for i in ids) == int(pts), f"{ids}: {pts} points in the table"
        listed.update(dict.fromkeys(ids))
    assert listed.keys() == points.keys(), "every graded cell has a row"
    total, how = rows[-1][2], rows[-1][3]
    all_points = sum(p for p, _ in points.values())
    by_hand = sum(p for p, solution in points.values() if solution)
    assert total.strip(" *") == str(all_points)
    assert how.strip() == f"{all_points - by_hand} automatically, {by_hand} by hand"
