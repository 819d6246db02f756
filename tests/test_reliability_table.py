"""docs/reliability.md lists the bad inputs and faults the suite covers; each row names its test.

The table is only worth reading if it is true: every row must point at a test that exists, no
two rows may claim the same test, and the table must keep at least the 40 rows it promises.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "docs" / "reliability.md"
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::(\w+)(?:\[[^\]]*\])?`")


def test_table_has_at_least_40_rows_each_with_one_test():
    rows = table_rows(TABLE.read_text(encoding="utf-8"))
    assert len(rows) >= 40, f"docs/reliability.md has {len(rows)} rows, it promises at least 40"
    for fault, seen, test in rows:
        assert fault and seen, f"a row without its fault or what the user sees: {test}"
        assert TEST_REF.fullmatch(test), (
            f"row {fault!r}: expected `tests/file.py::test_name`, got {test!r}"
        )


def test_every_row_names_a_test_that_exists_and_no_test_is_claimed_twice():
    refs = [
        TEST_REF.fullmatch(test) for _, _, test in table_rows(TABLE.read_text(encoding="utf-8"))
    ]
    missing = [m.group(0) for m in refs if m and m.group(2) not in defined_tests(ROOT / m.group(1))]
    assert not missing, f"docs/reliability.md names tests that do not exist: {missing}"
    claimed = [m.group(0) for m in refs if m]
    twice = sorted({ref for ref in claimed if claimed.count(ref) > 1})
    assert not twice, f"each row needs its own test; claimed more than once: {twice}"


def test_table_parser_reads_rows_and_skips_header_and_separator():
    text = (
        "| Fault | What you see | Test |\n|---|---|---|\n"
        "| a bad thing | one message | `tests/test_x.py::test_y` |\n"
    )
    assert table_rows(text) == [("a bad thing", "one message", "`tests/test_x.py::test_y`")]


def table_rows(markdown: str) -> list[tuple[str, str, str]]:
    """The body rows (fault, what the user sees, test) of every 3-column table in `markdown`."""
    rows = []
    for line in markdown.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.lstrip().startswith("|") or len(cells) != 3:
            continue
        if set("".join(cells)) <= set("-: ") or cells[2].lower() == "test":
            continue  # the separator or the header
        rows.append((cells[0], cells[1], cells[2]))
    return rows


def defined_tests(path: Path) -> set[str]:
    """Names of the test functions defined in `path` (module level or in classes)."""
    if not path.exists():
        return set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    }
