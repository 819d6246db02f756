"""README's course map, the notebooks' set-up cells and their Colab branch."""

import importlib.util
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("course_map", ROOT / "scripts" / "course_map.py")
course_map = importlib.util.module_from_spec(spec)
spec.loader.exec_module(course_map)


def test_readme_course_map_matches_the_notebooks():
    text = course_map.README.read_text()
    assert course_map.readme_with_map(text) == text, (
        "README.md's course map disagrees with the notebooks: run `python scripts/course_map.py`"
    )


def test_every_notebook_starts_with_the_set_up_cell():
    assert course_map.stale_setup_cells() == [], "run `python scripts/course_map.py`"


def test_course_map_has_one_row_per_notebook_with_lecture_and_exercises_badges():
    rows = [r for r in course_map.course_map().splitlines()[2:]]
    assert len(rows) == len(course_map.notebooks())
    url = course_map.repository_url().replace("https://github.com/", "")
    for row, path in zip(rows, course_map.notebooks()):
        assert f"colab.research.google.com/github/{url}/blob/main/notebooks/{path.name}" in row
        student = course_map.student_version(path).relative_to(ROOT).as_posix()
        assert f"colab.research.google.com/github/{url}/blob/main/{student}) exercises" in row


def run_setup_cell(monkeypatch, on_colab: bool) -> list[list[str]]:
    calls: list[list[str]] = []
    monkeypatch.setattr(subprocess, "run", lambda cmd, check: calls.append(cmd))
    if on_colab:
        monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    exec(course_map.setup_cell(), {})
    return calls


def test_set_up_cell_installs_the_course_on_colab(monkeypatch, capsys):
    calls = run_setup_cell(monkeypatch, on_colab=True)
    assert len(calls) == 1
    cmd = calls[0]
    assert cmd[:4] == [sys.executable, "-m", "pip", "install"]
    assert cmd[-1].endswith(f"[colab] @ git+{course_map.repository_url()}")
    assert "mode=" in capsys.readouterr().out


def test_set_up_cell_installs_nothing_elsewhere(monkeypatch, capsys):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert run_setup_cell(monkeypatch, on_colab=False) == []
    assert "mode=" in capsys.readouterr().out


@pytest.mark.parametrize("path", course_map.notebooks(), ids=lambda p: p.name)
def test_every_notebook_follows_the_template(path):
    nb = nbformat.read(path, as_version=4)
    headings = [
        line.lstrip("#").strip().lower()
        for c in nb.cells
        if c.cell_type == "markdown"
        for line in c.source.splitlines()
        if line.startswith("## ")
    ]
    for required in (
        "learning goals",
        "you should already know",
        "exercises",
        "summary",
        "further reading",
    ):
        assert any(h.startswith(required) for h in headings), (
            f"{path.name} has no '## {required}' section"
        )
    title, goals = course_map.title_and_goals(nb)
    assert title and goals, (
        f"{path.name} needs a '# Title' and bullet points under '## Learning goals'"
    )
