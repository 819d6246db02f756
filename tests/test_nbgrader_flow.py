"""The classroom flow with nbgrader's own commands and the repository's nbgrader_config.py:
generate_assignment turns a course notebook into its committed student version; on a class of
three (a complete, a half-done and a malformed submission) autograde scores the class,
generate_feedback writes each student's report and export writes the grade CSV.

The class hands in a three-cell notebook in the course's exercise markup (tests/fixtures), so
the flow costs six nbgrader commands, not two fast-mode runs of a whole notebook."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
TINY = ROOT / "tests" / "fixtures" / "99_tiny.py"


def _graded_sources() -> list[Path]:
    found = sorted((NOTEBOOKS / "src").glob("[0-9][0-9]_*.py"))
    return [p for p in found if '"grade": true' in p.read_text(encoding="utf-8")]


def _cheapest(sources: list[Path]) -> Path:
    timings = json.loads((NOTEBOOKS / "timings.json").read_text())
    return min(sources, key=lambda p: timings.get(f"{p.stem}.ipynb", float("inf")))


def _nbgrader(*args: str, course: Path, check: bool = True) -> subprocess.CompletedProcess:
    """Run one nbgrader command from the repository root, where nbgrader_config.py is."""
    command = ["nbgrader", *args, f"--CourseDirectory.root={course}"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if check:
        assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done


def _answered(
    release: Path, lecture: nbformat.NotebookNode, how_many: int
) -> nbformat.NotebookNode:
    """The released notebook with its first `how_many` answer cells filled in from the lecture."""
    nb = nbformat.read(release, as_version=4)
    solutions = {
        c.metadata["nbgrader"]["grade_id"]: c.source
        for c in lecture.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }
    answers = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    for cell in answers[:how_many]:
        cell.source = solutions[cell.metadata["nbgrader"]["grade_id"]]
    return nb


@pytest.mark.slow
@pytest.mark.notebooks
def test_generate_assignment_gives_the_committed_student_version(tmp_path: Path):
    sources = _graded_sources()
    assert sources, "no notebook has graded exercises"
    name, course = _cheapest(sources).stem, tmp_path / "classroom"
    subprocess.run(
        [sys.executable, "scripts/assignment.py", "source", name[:2], "--course", str(course)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    _nbgrader("generate_assignment", name, course=course)
    release = course / "release" / name / f"{name}.ipynb"
    student = nbformat.read(NOTEBOOKS / "student" / f"{name}.ipynb", as_version=4)
    released = nbformat.read(release, as_version=4)
    assert [c.source for c in released.cells] == [c.source for c in student.cells], (
        "nbgrader's release differs from notebooks/student/: is nbgrader_config.py loaded?"
    )


@pytest.mark.slow
@pytest.mark.notebooks
def test_nbgrader_classroom_flow_grades_a_class_of_three(tmp_path: Path):
    name, course = TINY.stem, tmp_path / "classroom"
    lecture = jupytext.read(TINY)
    (course / "source" / name).mkdir(parents=True)
    nbformat.write(lecture, course / "source" / name / f"{name}.ipynb")
    _nbgrader("generate_assignment", name, course=course)
    release = course / "release" / name / f"{name}.ipynb"

    answers = sum(1 for c in lecture.cells if c.metadata.get("nbgrader", {}).get("solution"))
    class_ = {
        "complete": _answered(release, lecture, answers),
        "half": _answered(release, lecture, answers // 2),
        "malformed": None,
    }
    for student_id, nb in class_.items():
        folder = course / "submitted" / student_id / name
        folder.mkdir(parents=True)
        if nb is None:
            (folder / f"{name}.ipynb").write_text("{ this is not a notebook", encoding="utf-8")
        else:
            nbformat.write(nb, folder / f"{name}.ipynb")
    students = tmp_path / "students.csv"
    students.write_text("id,last_name,first_name\n" + "".join(f"{s},{s},A\n" for s in class_))
    _nbgrader("db", "student", "import", str(students), course=course)

    graded = _nbgrader("autograde", name, course=course, check=False)
    assert "malformed" in graded.stdout + graded.stderr, "the malformed submission is named"
    _nbgrader("generate_feedback", name, course=course)
    for student_id in ("complete", "half"):
        assert (course / "feedback" / student_id / name / f"{name}.html").exists()
    grades = tmp_path / "grades.csv"
    _nbgrader("export", f"--to={grades}", course=course)

    rows = {r["student_id"]: r for r in csv.DictReader(grades.open())}
    score = {s: float(rows[s]["score"]) for s in class_}
    top = float(rows["complete"]["max_score"])
    assert top >= 3 and score["complete"] == top, rows["complete"]
    assert 0 < score["half"] < top, rows["half"]
    assert score["malformed"] == 0, rows["malformed"]
