"""The notebook 08 tooling: the student notebook is a fresh nbgrader build of the solution,
the in-notebook helpers report missing work without stopping, and the grader grades complete,
incomplete and malformed submissions with clear messages."""

from __future__ import annotations

import json
from pathlib import Path

import jupytext
import nbformat
import pytest

from helpers import assignment as A

SOLUTION_NB = A.SOLUTION_SOURCE.with_suffix(".ipynb")


def _view(nb) -> list[tuple[str, str, dict]]:
    return [(c.cell_type, c.source.strip(), c.metadata.get("nbgrader", {})) for c in nb.cells]


# --- the student notebook ------------------------------------------------------------------


def test_committed_student_notebook_is_a_fresh_build():
    assert A.STUDENT_NOTEBOOK.exists(), "run `python -m helpers.assignment build`"
    committed = nbformat.read(A.STUDENT_NOTEBOOK, as_version=4)
    assert _view(committed) == _view(A.build_student()), (
        f"{A.STUDENT_NOTEBOOK.name} differs from a fresh build of {A.SOLUTION_SOURCE.name}: "
        "run `python -m helpers.assignment build` and commit it"
    )


def test_student_notebook_hides_solutions_and_hidden_tests():
    student = A.build_student()
    text = "\n".join(c.source for c in student.cells)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text
    stubs = [c for c in student.cells if "raise NotImplementedError" in c.source]
    tasks = [c for c in student.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert stubs and len(stubs) == len(tasks), "every task cell gets the 'not done yet' stub"
    assert all(A.NOT_DONE in c.source for c in stubs)
    assert "ShortcutNet" not in text, "the solution's model name must not leak"


def test_student_notebook_keeps_every_other_cell_unchanged():
    solution, student = jupytext.read(A.SOLUTION_SOURCE), A.build_student()
    assert len(solution.cells) == len(student.cells)
    for sol, stu in zip(solution.cells, student.cells):
        meta = sol.metadata.get("nbgrader", {})
        if not meta.get("solution") and "HIDDEN TESTS" not in sol.source:
            assert sol.source == stu.source


def test_committed_student_notebook_ran_without_errors():
    nb = nbformat.read(A.STUDENT_NOTEBOOK, as_version=4)
    assert not A._cell_errors(nb)
    outputs = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert f"{A.NOT_DONE}: Task 1" in outputs, "the baseline check says it is not done yet"


# --- in-notebook helpers ---------------------------------------------------------------------


def test_attempt_reports_missing_work_and_returns_none(capsys):
    def todo():
        raise NotImplementedError("not done yet: replace this line")

    assert A.attempt("Task 9", todo) is None
    assert "not done yet: Task 9" in capsys.readouterr().out
    assert A.attempt("a name", lambda: undefined_name) is None  # noqa: F821 - on purpose
    assert A.attempt("sum", sum, [1, 2]) == 3


def test_attempt_lets_failed_checks_raise():
    def wrong():
        raise AssertionError("shape of output: check failed")

    with pytest.raises(AssertionError, match="check failed"):
        A.attempt("Task 1", wrong)


def test_ready_names_what_is_missing(capsys):
    assert A.ready("plot", a=1, b=2)
    assert not A.ready("plot", a=1, model=None)
    assert "skipped: plot (needs model" in capsys.readouterr().out


def test_checklist_scores_and_never_raises():
    c = A.Checklist()
    c.check("holds", lambda: (True, "fine"), points=2)
    c.check("fails", lambda: (False, "nope"))
    c.check("crashes", lambda: 1 / 0)
    c.check("todo", lambda: (_ for _ in ()).throw(NotImplementedError("x")))
    assert (c.score, c.total, c.all_passed) == (2, 5, False)
    assert "ZeroDivisionError" in c.items[2].detail
    assert A.NOT_DONE in c.items[3].detail
    table = c.table()
    assert "score: 2/5" in table and "holds" in table
    assert json.loads(json.dumps(c.to_json()))["score"] == 2


# --- the grader ------------------------------------------------------------------------------


def test_grade_complete_submission_from_its_outputs():
    report = A.grade(SOLUTION_NB, run=False)
    assert report.total >= 6 and report.score == report.total, report.text()
    assert not report.errors and not report.restored


def test_grade_incomplete_submission_reports_what_is_missing():
    report = A.grade(A.STUDENT_NOTEBOOK, run=False)
    assert 0 <= report.score < report.total
    failed = [i for i in report.items if not i.passed]
    assert any(A.NOT_DONE in i.detail for i in failed), report.text()
    assert "score:" in report.text()


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


def test_grade_missing_cell_names_it(tmp_path: Path):
    nb = nbformat.read(A.STUDENT_NOTEBOOK, as_version=4)
    nb.cells = [c for c in nb.cells if A._grade_id(c) != "discussion"]
    path = tmp_path / "submission.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(A.SubmissionError, match="missing cell.*'discussion'"):
        A.grade(path, run=False)


def test_grade_restores_edited_check_cells(tmp_path: Path):
    nb = nbformat.read(SOLUTION_NB, as_version=4)
    for cell in nb.cells:
        if A._grade_id(cell) == "check_baseline":
            cell.source = "baseline_ok = True  # trust me"
    path = tmp_path / "submission.ipynb"
    nbformat.write(nb, path)
    assert A.grade(path, run=False).restored == ["check_baseline"]
    A.restore_locked_cells(nb, A.build_student())
    mine = next(c for c in nb.cells if A._grade_id(c) == "check_baseline")
    assert "BEGIN HIDDEN TESTS" in mine.source, "graded with the instructor's hidden tests"
    assert "trust me" not in mine.source


def test_grade_without_checklist_output_says_why(tmp_path: Path):
    nb = nbformat.read(A.STUDENT_NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    path = tmp_path / "submission.ipynb"
    nbformat.write(nb, path)
    report = A.grade(path, run=False)
    assert report.score == 0 and "checklist cell ran" in report.text()


@pytest.mark.slow
def test_grade_executes_the_student_notebook(tmp_path: Path):
    path = tmp_path / "submission.ipynb"
    path.write_bytes(A.STUDENT_NOTEBOOK.read_bytes())
    report = A.grade(path, run=True, timeout=300)
    assert report.score < report.total and not report.restored
    assert any(e.startswith("check_baseline: AssertionError") for e in report.errors), report.text()
    assert any(A.NOT_DONE in i.detail for i in report.items)


# --- a submission that never finishes -------------------------------------------------------


def _graded_cell(source: str, grade_id: str, solution: bool) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {
        "grade_id": grade_id,
        "solution": solution,
        "locked": not solution,
        "grade": False,
        "schema_version": 3,
    }
    return cell


TINY_CHECKLIST = (
    "from helpers.assignment import Checklist\n"
    "checklist = Checklist()\n"
    'checklist.check("the work cell ran", lambda: (done, "done"))\n'
    'checklist.check("it ran twice", lambda: (done, "done"), points=2)\n'
    "checklist.show()"
)


@pytest.fixture
def tiny_assignment(tmp_path, monkeypatch):
    """A two-cell assignment (the student's cell, then the checklist) in place of notebook 08,
    so the grader starts a real kernel on a notebook that runs in moments;
    `submit(source)` writes a submission whose student cell holds `source`."""

    def notebook(work: str) -> nbformat.NotebookNode:
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = dict(A.KERNELSPEC)
        nb.cells = [
            _graded_cell(work, "work", solution=True),
            _graded_cell(TINY_CHECKLIST, A.CHECKLIST_CELL, solution=False),
        ]
        return nb

    monkeypatch.setattr(A, "build_student", lambda source=None: notebook("done = None"))
    monkeypatch.setattr(A, "instructor_notebook", lambda source=None: notebook("done = True"))

    def submit(work: str) -> Path:
        path = tmp_path / "submission.ipynb"
        nbformat.write(notebook(work), path)
        return path

    return submit


def test_grade_endless_loop_prints_the_table_with_did_not_finish(tiny_assignment, capfd):
    path = tiny_assignment("while True:\n    pass")
    assert A.main(["grade", str(path), "--timeout", "2"]) == 0
    out, err = capfd.readouterr()
    assert "did not finish: cell 'work' (cell 0) ran longer than the timeout of 2 s" in out
    assert "the work cell ran" in out and "it ran twice" in out, "every check is listed"
    assert out.count("did not finish") == 3 and "score: 0/3" in out
    assert "Traceback" not in out + err and "CellTimeoutError" not in out + err
    assert "KeyboardInterrupt" not in out, "stopping the kernel is not the student's error"


def test_grade_dead_kernel_prints_the_table_with_did_not_finish(tiny_assignment, capfd):
    path = tiny_assignment("import os\nos._exit(1)")
    assert A.main(["grade", str(path), "--timeout", "300"]) == 0
    out, err = capfd.readouterr()
    assert "did not finish: the kernel died while running cell 'work' (cell 0)" in out
    assert out.count("did not finish") == 3 and "score: 0/3" in out
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
