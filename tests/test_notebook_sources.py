"""Each notebook's jupytext source and its committed .ipynb hold the same cells, with outputs."""

from pathlib import Path

import jupytext
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SOURCES = sorted((NOTEBOOKS / "src").glob("[0-9][0-9]_*.py"))


def cells(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_notebook_matches_its_source(source: Path):
    notebook = NOTEBOOKS / f"{source.stem}.ipynb"
    assert notebook.exists(), (
        f"{notebook.name} is missing: run `python scripts/build_notebooks.py {source.name[:2]}`"
    )
    committed = nbformat.read(notebook, as_version=4)
    expected = jupytext.read(source)
    assert cells(committed) == cells(expected), (
        f"{notebook.name} differs from {source.name}: rebuild it with "
        f"`python scripts/build_notebooks.py {source.name[:2]}` and commit both"
    )


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_notebook_is_committed_executed(source: Path):
    nb = nbformat.read(NOTEBOOKS / f"{source.stem}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    unexecuted = [i for i, c in enumerate(code) if c.execution_count is None]
    assert not unexecuted, f"{source.stem}.ipynb: code cells {unexecuted} were never run"
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), "cells were not run once, top to bottom"


def test_every_notebook_has_a_source():
    orphans = [
        p.name
        for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")
        if not (NOTEBOOKS / "src" / f"{p.stem}.py").exists()
    ]
    assert not orphans, f"notebooks without a jupytext source: {orphans}"


def test_students_see_each_notebook_once():
    """JupyterLab opens a jupytext .py as a notebook too: none may sit beside the notebooks."""
    beside = sorted(p.name for p in NOTEBOOKS.glob("*.py"))
    assert not beside, f"move {beside} to notebooks/src/ (see jupytext.toml)"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_jupytext_pairs_notebook_and_source(source: Path):
    """jupytext.toml pairs each notebook with its source, so saving in JupyterLab updates both."""
    from jupytext.config import find_jupytext_configuration_file, load_jupytext_configuration_file
    from jupytext.formats import long_form_multiple_formats, short_form_one_format
    from jupytext.paired_paths import paired_paths

    config = load_jupytext_configuration_file(find_jupytext_configuration_file(str(NOTEBOOKS)))
    notebook = NOTEBOOKS / f"{source.stem}.ipynb"
    formats = long_form_multiple_formats(config.default_formats(str(notebook)))
    main_format = short_form_one_format(formats[0])
    paired = [Path(p) for p, _ in paired_paths(str(notebook), main_format, formats)]
    assert source.resolve() in [p.resolve() for p in paired]
