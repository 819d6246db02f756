"""Build the notebooks from their jupytext sources and execute them top to bottom.

    python scripts/build_notebooks.py              # every notebooks/src/NN_*.py
    python scripts/build_notebooks.py 01 03        # only those numbers
    python scripts/build_notebooks.py --no-execute # sources -> .ipynb without outputs
    python scripts/build_notebooks.py 05 --allow-standins  # without the real data: not committable

Each `notebooks/src/NN_name.py` (jupytext percent format) is the source of
`notebooks/NN_name.ipynb`; the sources live apart so that JupyterLab lists each notebook once.
Execution runs in fast mode unless COURSE_FAST is already set, so the committed outputs are
the ones CI compares. The run time of each notebook is printed.

Committed notebooks show real results only: a run whose outputs announce a generated stand-in,
show a failed download or print a path of this machine is not written (`problems` says why),
unless `--allow-standins` is given, for contributors without the data; such a notebook must not
be committed (tests/test_committed_outputs.py fails on it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

from helpers.strict import kernel_environment

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SOURCES = NOTEBOOKS / "src"  # jupytext sources; see jupytext.toml for the pairing
TIMINGS = NOTEBOOKS / "timings.json"  # fast-mode seconds per notebook, read by course_map.py
# What a committed output must never show: a stand-in, a failed download, a machine's own path.
FORBIDDEN = {
    "a generated stand-in": re.compile(r"generated stand-in|NOT the real", re.I),
    "a failed download": re.compile(r"download failed|URLError|Name or service not known"),
    "a path of the building machine": re.compile(
        r"(?<![\w<>.~])(/home/|/root/|/work/|/Users/|/tmp/|/private/|[A-Za-z]:\\Users\\)"
    ),
}
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def sources(selected: list[str]) -> list[Path]:
    found = sorted(p for p in SOURCES.glob("[0-9][0-9]_*.py"))
    if selected:
        found = [p for p in found if any(p.name.startswith(s) for s in selected)]
    return found


def notebook_of(src: Path) -> Path:
    """The .ipynb built from the jupytext source `src`."""
    return NOTEBOOKS / f"{src.stem}.ipynb"


def clean(nb: nbformat.NotebookNode) -> None:
    """Drop metadata that changes on every run, so diffs show only real changes."""
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = KERNELSPEC
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i:03d}"  # stable ids: a rebuild changes only what really changed
        cell.metadata.pop("execution", None)
        cell.metadata.pop("ExecuteTime", None)


def problems(nb: nbformat.NotebookNode) -> list[str]:
    """Why these outputs may not be committed: one line per offending cell and kind."""
    found = []
    for index, cell in enumerate(nb.cells):
        text = "\n".join(_output_texts(cell))
        for kind, pattern in FORBIDDEN.items():
            match = pattern.search(text)
            if match:
                found.append(f"cell {index}: shows {kind} ({_around(text, match)!r})")
    return found


def _output_texts(cell: nbformat.NotebookNode) -> list[str]:
    texts = []
    for output in cell.get("outputs", []):
        texts.append(str(output.get("text", "")))
        texts.append("\n".join(output.get("traceback", [])))
        for mime, value in output.get("data", {}).items():
            if mime.startswith("text/"):
                texts.append(value if isinstance(value, str) else "".join(value))
    return texts


def _around(text: str, match: re.Match, width: int = 40) -> str:
    return text[max(0, match.start() - width) : match.end() + width]


def run(nb: nbformat.NotebookNode, timeout: int) -> float:
    """Execute `nb` in place, top to bottom, from the notebooks folder; the seconds it took."""
    start = time.perf_counter()
    os.environ.update(kernel_environment())  # the kernel: strict when COURSE_STRICT_WARNINGS=1
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute()
    return time.perf_counter() - start


def build(src: Path, execute: bool, timeout: int, allow_standins: bool = False) -> float:
    nb = jupytext.read(src)
    clean(nb)
    seconds = 0.0
    if execute:
        seconds = run(nb, timeout)
        clean(nb)
        found = problems(nb)
        if found and not allow_standins:
            raise SystemExit(
                f"{notebook_of(src).name} not written: its outputs are not real results.\n  "
                + "\n  ".join(found)
                + "\nSet COURSE_DATA_DIR to the real data (see README), or pass --allow-standins"
                " and do not commit the notebook."
            )
    nbformat.write(nb, notebook_of(src))
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("numbers", nargs="*", help="notebook number prefixes, e.g. 01 08")
    parser.add_argument("--no-execute", action="store_true")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    parser.add_argument(
        "--allow-standins", action="store_true", help="write even outputs not from real data"
    )
    args = parser.parse_args()
    os.environ.setdefault("COURSE_FAST", "1")
    os.environ.setdefault("COURSE_STRICT_WARNINGS", "1")
    os.environ.setdefault("COURSE_PROGRESS", "0")
    todo = sources(args.numbers)
    if not todo:
        print("no notebook sources matched", file=sys.stderr)
        return 1
    for src in todo:
        seconds = build(src, not args.no_execute, args.timeout, args.allow_standins)
        print(f"{notebook_of(src).name}: {seconds:.1f} s")
        if seconds and os.environ["COURSE_FAST"] == "1":
            record_time(notebook_of(src).name, seconds)
    return 0


def record_time(name: str, seconds: float) -> None:
    times = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    times[name] = round(seconds, 1)
    TIMINGS.write_text(json.dumps(dict(sorted(times.items())), indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
