"""Offline reveal.js decks from the executed notebooks, for presenting in class.

    python scripts/slides.py            # every notebook -> slides/NN_name.slides.html
    python scripts/slides.py 01 07      # only those numbers
    python scripts/slides.py --readme   # rewrite the README's lecture table (slides, minutes)

Each deck is nbconvert's slides export of the committed notebook (its outputs, figures
embedded; nothing is executed), laid out by the cells' `slideshow.slide_type` metadata, which
the jupytext sources set. A deck works with no network: reveal.js and its notes plugin come from
the installed `sphinx-revealjs` package and MathJax from `sphinx-mathjax-offline`, and both are
inlined into the HTML. In a deck, the cells of the Exercises section other than its heading, and
any cell with nbgrader metadata, are skipped: exercises are done at home, not presented.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from importlib import metadata
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SOURCES = NOTEBOOKS / "src"
DECKS = ROOT / "slides"
TEMPLATE = Path(__file__).resolve().parent / "slides_template" / "deck.html.j2"
README = ROOT / "README.md"
TABLE_START, TABLE_END = "<!-- lecture-table:start -->", "<!-- lecture-table:end -->"
MINUTES_PER_SLIDE = 1.5  # a slide with a figure, a check or a question: 1-2 minutes in class
LECTURE_MINUTES = 75
OPTIONAL_TAG = "lecture-optional"  # on a section heading: skipped when the lecture is 75 minutes
STARTS = {"slide", "subslide"}
FIGURE_CODE_LINES = 6  # a figure cell with more code shows only its figure in a deck
HIDE_INPUT = "deck-hide-input"
MATHJAX_CONFIG = (
    "window.MathJax = {tex: {inlineMath: [['$', '$'], ['\\\\(', '\\\\)']],"
    " displayMath: [['$$', '$$'], ['\\\\[', '\\\\]']], processEscapes: true},"
    " svg: {fontCache: 'global'}};"
)


class MissingAssets(RuntimeError):
    """reveal.js or MathJax is not installed: the deck cannot be made self-contained."""


def notebooks(selected: list[str]) -> list[Path]:
    """The executed notebooks built from the sources (one deck each), optionally by number."""
    found = [NOTEBOOKS / f"{src.stem}.ipynb" for src in sorted(SOURCES.glob("[0-9][0-9]_*.py"))]
    if selected:
        found = [p for p in found if any(p.name.startswith(s) for s in selected)]
    return found


def slide_type(cell) -> str:
    return cell.metadata.get("slideshow", {}).get("slide_type", "-")


def heading(cell) -> str:
    """'## Title' -> 'Title' for a markdown cell starting with a level-2 heading, else ''."""
    if cell.cell_type != "markdown":
        return ""
    match = re.match(r"##\s+(.+)", cell.source.lstrip())
    return match.group(1).strip() if match else ""


def has_figure(cell) -> bool:
    return any("image/png" in out.get("data", {}) for out in cell.get("outputs", []))


def for_deck(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of `nb` as presented: Exercises cells after the heading and nbgrader cells skipped,
    and a figure whose code is longer than a few lines shown without its code, so that it fits
    on its 1280x720 slide (the code stays in the notebook and in the live slides)."""
    nb = copy.deepcopy(nb)
    in_exercises = False
    for cell in nb.cells:
        title = heading(cell)
        if title:
            in_exercises = title == "Exercises"
            continue
        if in_exercises or "nbgrader" in cell.metadata:
            cell.metadata.setdefault("slideshow", {})["slide_type"] = "skip"
        elif has_figure(cell) and len(cell.source.splitlines()) > FIGURE_CODE_LINES:
            cell.metadata.setdefault("tags", []).append(HIDE_INPUT)
    return nb


def count_slides(nb: nbformat.NotebookNode) -> int:
    """How many slides reveal.js shows for `nb` (horizontal and vertical, as `getTotalSlides`)."""
    shown = [c for c in for_deck(nb).cells if slide_type(c) not in {"skip", "notes"}]
    if not shown:
        return 0
    return 1 + sum(slide_type(c) in STARTS for c in shown[1:])


def sections(nb: nbformat.NotebookNode) -> list[tuple[str, int, bool]]:
    """(heading, slides, optional) per level-2 section as presented; the title part is ''."""
    found: list[list] = [["", 0, False]]
    first = True
    for cell in for_deck(nb).cells:
        kind = slide_type(cell)
        if kind in {"skip", "notes"}:
            continue
        if heading(cell):
            found.append([heading(cell), 0, OPTIONAL_TAG in cell.metadata.get("tags", [])])
        if first or kind in STARTS:
            found[-1][1] += 1
        first = False
    return [tuple(s) for s in found if s[1]]


def lecture_plan(nb: nbformat.NotebookNode) -> dict:
    """Slides, suggested minutes, and the optional sections to skip for a 75-minute lecture."""
    parts = sections(nb)
    slides = sum(n for _, n, _ in parts)
    optional = [(name, n) for name, n, opt in parts if opt]
    short = slides - sum(n for _, n in optional)
    skip = [name for name, _ in optional] if minutes(slides) > LECTURE_MINUTES else []
    return {
        "slides": slides,
        "minutes": minutes(slides),
        "skip": skip,
        "minutes_with_skips": minutes(short if skip else slides),
    }


def minutes(slides: int) -> int:
    return round(slides * MINUTES_PER_SLIDE)


def table() -> str:
    """The README's lecture table, one row per notebook, from the committed notebooks."""
    rows = [
        "| Notebook | Slides | Suggested time | Skip for a 75-minute lecture |",
        "|---|---|---|---|",
    ]
    for path in notebooks([]):
        plan = lecture_plan(nbformat.read(path, as_version=4))
        skip = "; ".join(plan["skip"]) or "nothing"
        if plan["skip"]:
            skip += f" (then {plan['minutes_with_skips']} min)"
        rows.append(f"| {path.stem} | {plan['slides']} | {plan['minutes']} min | {skip} |")
    return "\n".join(rows)


def readme_with_table(text: str) -> str:
    """`text` (the README) with the lecture table between its markers replaced by `table()`."""
    if TABLE_START not in text or TABLE_END not in text:
        raise ValueError(f"README.md lacks the markers {TABLE_START} and {TABLE_END}")
    head, rest = text.split(TABLE_START, 1)
    return f"{head}{TABLE_START}\n{table()}\n{TABLE_END}{rest.split(TABLE_END, 1)[1]}"


def _package_file(distribution: str, what: str, relative: str) -> str:
    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        raise MissingAssets(
            f"the package {distribution} is not installed; it provides {what} for offline "
            "decks: pip install -r requirements.txt"
        ) from None
    path = Path(str(dist.locate_file(relative)))
    if not path.is_file():
        raise MissingAssets(f"{distribution} has no {relative}; reinstall it")
    return path.read_text(encoding="utf-8")


def _script(text: str) -> str:
    """JavaScript safe to inline in a <script> element."""
    return text.replace("</script", "<\\/script")


def offline_assets() -> dict[str, str]:
    """reveal.js, its notes plugin and MathJax, read from the installed packages."""

    def reveal(relative: str) -> str:
        path = "sphinx_revealjs/_static/revealjs/" + relative
        return _package_file("sphinx-revealjs", "reveal.js", path)

    mathjax = "sphinx-mathjax-offline/static/mathjax/tex-svg-full.js"
    return {
        "reveal_css": reveal("dist/reveal.css"),
        # The theme imports a web font from beside itself; the system font is used instead.
        "theme_css": re.sub(r"@import url\([^)]*\);", "", reveal("dist/theme/white.css")),
        "reveal_js": _script(reveal("dist/reveal.js")),
        "notes_js": _script(reveal("plugin/notes/notes.js")),
        "mathjax_config": MATHJAX_CONFIG,
        "mathjax_js": _script(_package_file("sphinx-mathjax-offline", "MathJax", mathjax)),
    }


def build(path: Path, assets: dict[str, str], folder: Path = DECKS) -> Path:
    """Write folder/NN_name.slides.html for the executed notebook `path`; returns its path."""
    from nbconvert import SlidesExporter
    from traitlets.config import Config

    if not path.exists():
        raise FileNotFoundError(f"{path.name} is not built: python scripts/build_notebooks.py")
    nb = for_deck(nbformat.read(path, as_version=4))
    hide = Config({"TagRemovePreprocessor": {"enabled": True, "remove_input_tags": [HIDE_INPUT]}})
    exporter = SlidesExporter(
        config=hide, extra_template_paths=[str(TEMPLATE.parent)], template_file=TEMPLATE.name
    )
    # The template gets placeholders, filled in afterwards: nbconvert parses the whole page
    # with BeautifulSoup, which would take seconds over the 2.5 MB of inlined JavaScript.
    holders = {name: f"/*course-asset:{name}*/" for name in assets}
    html, _ = exporter.from_notebook_node(
        nb, resources={"offline": holders, "metadata": {"name": path.stem}}
    )
    for name, holder in holders.items():
        html = html.replace(holder, assets[name], 1)
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{path.stem}.slides.html"
    out.write_text(html, encoding="utf-8")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("numbers", nargs="*", help="notebook number prefixes, e.g. 01 08")
    parser.add_argument("--readme", action="store_true", help="rewrite README's lecture table")
    args = parser.parse_args()
    if args.readme:
        README.write_text(readme_with_table(README.read_text()))
        print(table())
        return 0
    todo = notebooks(args.numbers)
    if not todo:
        print("no notebook matched", file=sys.stderr)
        return 1
    try:
        assets = offline_assets()
        for path in todo:
            out = build(path, assets)
            slides = count_slides(nbformat.read(path, as_version=4))
            print(f"{out.relative_to(ROOT)}: {slides} slides")
    except (MissingAssets, FileNotFoundError) as err:
        print(f"slides.py: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
