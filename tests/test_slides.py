"""Lecture mode: every notebook is a deck of 15-60 slides with predict-then-reveal questions,
`scripts/slides.py` turns the committed notebooks into self-contained reveal.js decks (no
network at view time), and README's lecture table is current.

Building all ten decks reads the committed notebooks and executes nothing (about 1-2 s per deck
on a quiet core; the `decks` fixture in conftest.py builds them once for this module and the
browser test, test_slides_browser.py).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest
from _slides import ROOT, slides

NOTEBOOKS = slides.notebooks([])
IDS = [p.stem[:2] for p in NOTEBOOKS]
EXTERNAL = re.compile(
    r"<script[^>]*\ssrc=|<link[^>]*\shref=[\"']?(https?:)?//|@import\s+url\(\s*[\"']?(https?:)?//",
    re.I,
)


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def questions(nb: nbformat.NotebookNode) -> list[str]:
    """The predict-then-reveal questions of `nb` laid out as slides require (else AssertionError):
    the question starts a slide, the next cell is the answer as a fragment, and the cell after
    it is a code fragment that checks the answer."""
    found = []
    cells = nb.cells
    for i, cell in enumerate(cells):
        if cell.cell_type != "markdown" or not cell.source.startswith("**Predict.**"):
            continue
        answer, check = cells[i + 1], cells[i + 2]
        where = f"question {cell.source[:60]!r}"
        assert slides.slide_type(cell) in slides.STARTS, f"{where} does not start a slide"
        assert answer.source.startswith("**Answer.**"), f"{where}: no answer right after it"
        assert slides.slide_type(answer) == "fragment", f"{where}: the answer is not a fragment"
        assert check.cell_type == "code" and slides.slide_type(check) == "fragment", where
        assert re.search(r"check_(equal|shape|close|true)\(", check.source), f"{where}: no check"
        assert not [o for o in check.get("outputs", []) if o.output_type == "error"], where
        found.append(cell.source)
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_each_notebook_is_a_deck_of_15_to_60_slides(path):
    n = slides.count_slides(read(path))
    assert 15 <= n <= 60, f"{path.name}: {n} slides"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_each_notebook_asks_three_predict_then_reveal_questions_checked_by_code(path):
    assert len(questions(read(path))) >= 3, path.name


def test_a_question_whose_answer_is_not_a_fragment_is_reported():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            "**Predict.** Shape?", metadata={"slideshow": {"slide_type": "slide"}}
        ),
        nbformat.v4.new_markdown_cell("**Answer.** (2, 3)"),
        nbformat.v4.new_code_cell("check_shape(x, (2, 3), 'x')"),
    ]
    with pytest.raises(AssertionError, match="the answer is not a fragment"):
        questions(nb)


def test_exercise_cells_and_nbgrader_cells_are_left_out_of_a_deck():
    def md(text, kind=None, **meta):
        if kind:
            meta["slideshow"] = {"slide_type": kind}
        return nbformat.v4.new_markdown_cell(text, metadata=meta)

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        md("# Title", "slide"),
        md("text", "subslide"),
        md("graded", "subslide", nbgrader={"grade": True}),
        md("## Exercises", "slide"),
        md("**Exercise 1**", "subslide"),
        md("## Summary", "slide"),
    ]
    assert slides.count_slides(nb) == 4  # title, text, Exercises, Summary
    assert [s[:2] for s in slides.sections(nb)] == [("", 2), ("Exercises", 1), ("Summary", 1)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_deck_is_self_contained_with_the_slides_and_figures_of_its_notebook(decks, path):
    html = decks[path.stem].read_text(encoding="utf-8")
    external = EXTERNAL.findall(html)
    assert not external, f"{path.name}: the deck loads a script or style sheet: {external[:3]}"
    assert "Reveal.initialize" in html and "window.MathJax" in html
    # One <section> per slide inside the horizontal ones: as many as the metadata says.
    leaves = len(re.findall(r"<section(?:(?!</section>).)*?</section>", html, re.S))
    assert leaves == slides.count_slides(read(path))
    figures = sum(
        "image/png" in o.get("data", {})
        for c in slides.for_deck(read(path)).cells
        if slides.slide_type(c) not in {"skip", "notes"}
        for o in c.get("outputs", [])
    )
    assert html.count("data:image/png;base64,") >= figures > 0


def test_slides_script_says_what_is_missing(monkeypatch, capsys):
    def not_installed(name):
        raise slides.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(slides.metadata, "distribution", not_installed)
    monkeypatch.setattr(sys, "argv", ["slides.py", "01"])
    assert slides.main() == 1
    err = capsys.readouterr().err
    assert "sphinx-revealjs is not installed" in err and "pip install -r requirements.txt" in err


def test_slides_script_rejects_an_unknown_number(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["slides.py", "77"])
    assert slides.main() == 1
    assert "no notebook matched" in capsys.readouterr().err


def test_readme_lecture_table_is_current_and_fits_75_minutes():
    text = (ROOT / "README.md").read_text()
    assert slides.readme_with_table(text) == text, "run `python scripts/slides.py --readme`"
    for path in NOTEBOOKS:
        plan = slides.lecture_plan(read(path))
        assert plan["minutes_with_skips"] <= slides.LECTURE_MINUTES, (path.name, plan)
