"""The course map in README.md and the notebooks' set-up cells, generated from one place.

    python scripts/course_map.py          # rewrite README's course map and every set-up cell
    python scripts/course_map.py --check  # exit 1 if either is out of date

The repository URL is declared once, in pyproject.toml's [project.urls]; the Colab badges and
the Colab install line in each notebook's first code cell are made from it. Run times come
from notebooks/timings.json, written by build_notebooks.py in fast mode. The recorded
full-scale runs table in the README's Benchmarks section is made from notebooks/results/*.json
(written by benchmarks/record_full_runs.py).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
README = ROOT / "README.md"
START, END = "<!-- course-map:start -->", "<!-- course-map:end -->"
RESULTS_START, RESULTS_END = "<!-- recorded-runs:start -->", "<!-- recorded-runs:end -->"

SETUP_CELL = """\
# Set-up: on Google Colab this first installs the course; everywhere it prints the settings.
import sys

if "google.colab" in sys.modules:
    import subprocess

    COURSE = "{requirement}"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", COURSE], check=True)

import helpers

helpers.print_banner()"""


def _pyproject_value(key: str) -> str:
    # A regex, not tomllib, so the script also runs on Python 3.10.
    match = re.search(rf'^{key}\s*=\s*"([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M)
    if match is None:
        raise SystemExit(f"pyproject.toml declares no {key}")
    return match.group(1)


def repository_url() -> str:
    return _pyproject_value("Repository").rstrip("/")


def setup_cell() -> str:
    requirement = f"{_pyproject_value('name')}[colab] @ git+{repository_url()}"
    return SETUP_CELL.format(requirement=requirement)


def notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def title_and_goals(nb: nbformat.NotebookNode) -> tuple[str, list[str]]:
    title, goals, in_goals = "", [], False
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if not title and line.startswith("# "):
                title = line[2:].strip()
            elif line.startswith("#"):
                in_goals = line.lstrip("#").strip().lower() == "learning goals"
            elif in_goals and re.match(r"\s*[-*]\s+", line):
                goals.append(re.sub(r"\s*[-*]\s+", "", line, count=1).strip())
            elif in_goals and goals and line.strip():  # a bullet wrapped onto the next line
                goals[-1] += " " + line.strip()
    return title, goals


def course_map() -> str:
    url = repository_url().replace("https://github.com/", "")
    times = (
        json.loads((NOTEBOOKS / "timings.json").read_text())
        if (NOTEBOOKS / "timings.json").exists()
        else {}
    )
    rows = [
        "| notebook | learning goals | fast mode (2-core CPU) | Colab: lecture, exercises |",
        "|---|---|---|---|",
    ]
    for path in notebooks():
        title, goals = title_and_goals(nbformat.read(path, as_version=4))
        seconds = times.get(path.name)
        time = f"{seconds:.0f} s" if seconds is not None else "not measured"
        badges = [_colab_badge(url, f"notebooks/{path.name}", "lecture")]
        student = student_version(path)
        if student.exists():
            badges.append(_colab_badge(url, student.relative_to(ROOT).as_posix(), "exercises"))
        link = f"[{title or path.stem}](notebooks/{path.name})"
        goal_list = "<br>".join(f"• {g}" for g in goals)
        rows.append(f"| {link} | {goal_list} | {time} | {'<br>'.join(badges)} |")
    return "\n".join(rows)


def student_version(path: Path) -> Path:
    """notebooks/student/NN_name.ipynb, written by scripts/assignment.py (08 drops _solution)."""
    return NOTEBOOKS / "student" / f"{path.stem.removesuffix('_solution')}.ipynb"


def _colab_badge(url: str, path: str, label: str) -> str:
    return (
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        f"(https://colab.research.google.com/github/{url}/blob/main/{path}) {label}"
    )


def recorded_runs() -> str:
    """One row per notebooks/results/*.json: what ran, where, how well, how long."""
    rows = [
        "| run | model | device | torch | epochs (best) | final train loss | val acc | test acc "
        "| wall time | training s to 85 % val | date | commit |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for path in sorted((NOTEBOOKS / "results").glob("[0-9][0-9]_*.json")):
        r = json.loads(path.read_text())
        final = r["final"]
        to85 = final.get("train_s_to_85_val")
        to85_text = "not reached" if to85 is None else f"{to85:.0f}"
        best = final.get("best_epoch")
        rows.append(
            f"| [{path.stem}](notebooks/results/{path.name}) | {r.get('model', r['name'])} "
            f"| {r['device']} | {r['torch']} | {len(r['history'])}{f' ({best})' if best else ''} "
            f"| {r['history'][-1]['train_loss']:.3f} | {_percent(final.get('val_acc'))} "
            f"| {_percent(final.get('test_acc'))} | {r['wall_s'] / 60:.1f} min "
            f"| {'-' if final.get('val_acc') is None else to85_text} | {r['date']} "
            f"| {r['commit'][:10]}{'-dirty' if r['commit'].endswith('-dirty') else ''} |"
        )
    return "\n".join(rows)


def _percent(fraction: float | None) -> str:
    return "-" if fraction is None else f"{fraction:.2%}"


def _replace_block(text: str, start: str, end: str, body: str, heading: str) -> str:
    block = f"{start}\n{body}\n{end}"
    if start in text and end in text:
        return re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    return text.rstrip() + f"\n\n## {heading}\n\n" + block + "\n"


def readme_with_map(text: str) -> str:
    text = _replace_block(text, START, END, course_map(), "Course map")
    return _replace_block(
        text, RESULTS_START, RESULTS_END, recorded_runs(), "Recorded full-scale runs"
    )


def first_code_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode | None:
    return next((c for c in nb.cells if c.cell_type == "code"), None)


def stale_setup_cells() -> list[str]:
    want = setup_cell()
    stale = []
    for path in notebooks():
        cell = first_code_cell(nbformat.read(path, as_version=4))
        if cell is None or cell.source.strip() != want:
            stale.append(path.name)
    return stale


def write_setup_cells() -> None:
    """Put the current set-up cell first in every notebook (and in its jupytext source)."""
    want = setup_cell()
    for path in notebooks():
        nb = nbformat.read(path, as_version=4)
        cell = first_code_cell(nb)
        if cell is not None and cell.source.strip() != want:
            cell.source = want
            nbformat.write(nb, path)
            source = NOTEBOOKS / "src" / f"{path.stem}.py"
            if source.exists():  # replace the text only, keeping the source's own layout
                old = first_code_cell(jupytext.read(source)).source
                source.write_text(source.read_text().replace(old, want, 1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report drift, change nothing")
    args = parser.parse_args()
    text = README.read_text()
    if args.check:
        problems = []
        if readme_with_map(text) != text:
            problems.append("README.md's course map or recorded-runs table is out of date")
        problems += [
            f"{name}: first code cell is not the set-up cell" for name in stale_setup_cells()
        ]
        for p in problems:
            print(p, file=sys.stderr)
        if problems:
            print("fix: python scripts/course_map.py", file=sys.stderr)
        return 1 if problems else 0
    write_setup_cells()
    README.write_text(readme_with_map(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
