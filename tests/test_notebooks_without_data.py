"""Every notebook also runs where there is no data folder and no network (a student's laptop
offline): the data layer then serves its announced stand-ins, and no self-check may fail."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("standin-cache")  # shared: stand-ins are generated once


@pytest.mark.slow
@pytest.mark.notebooks
@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.stem)
def test_notebook_runs_offline_without_data(path, tmp_path, cache_dir, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))  # an empty data folder
    monkeypatch.setenv("COURSE_CACHE_DIR", str(cache_dir))
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    monkeypatch.setenv("COURSE_FAST", "1")
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    announcements = "".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
    )
    if "load_" in "".join(c.source for c in nb.cells if c.cell_type == "code"):
        assert "NOT the real" in announcements or "/usr/share/datasets" in announcements, (
            f"{path.name} loaded data without announcing a stand-in"
        )
