"""The public surface of `helpers` agrees with itself: the lazy exports, the TYPE_CHECKING
imports that IDEs and mypy read, the modules, CONTRIBUTING's API list, and the "Used by
notebooks ..." line in each export's docstring (derived from the notebook sources)."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from collections import defaultdict
from pathlib import Path

import pytest

import helpers

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "notebooks" / "src").glob("[0-9][0-9]_*.py"))
# Modules being rewritten under issue 16 (item 2): their docstrings get the line then.
NO_USED_BY_YET: set[str] = set()
USED_BY = re.compile(r"Used by notebooks? (\d\d(?:, \d\d)*)\.")


def test_every_export_exists_in_its_module_and_resolves_lazily():
    for name, module in helpers._EXPORTS.items():
        assert hasattr(importlib.import_module(f"helpers.{module}"), name), (name, module)
        assert getattr(helpers, name) is getattr(importlib.import_module(f"helpers.{module}"), name)
    with pytest.raises(AttributeError):
        helpers.no_such_helper  # noqa: B018


def test_type_checking_imports_are_the_exports():
    """IDEs and mypy see exactly the names `import helpers` gives, from the same modules."""
    tree = ast.parse(inspect.getsource(helpers))
    block = next(
        n for n in tree.body if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.dump(n.test)
    )
    seen = {
        alias.name: node.module
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert seen == helpers._EXPORTS
    assert sorted(helpers.__all__) == sorted(helpers._EXPORTS)


def test_contributing_lists_every_export_under_its_module():
    bullets = _api_bullets()
    assert set(bullets) >= set(helpers._EXPORTS.values()), "a module without its bullet"
    for name, module in helpers._EXPORTS.items():
        spans = re.findall(r"`([^`]*)`", bullets[module])
        assert any(re.search(rf"\b{name}\b", span) for span in spans), (
            f"CONTRIBUTING: `{name}` belongs in the bullet of `{module}`"
        )


def test_contributing_names_only_what_its_modules_have():
    """Every `function(...)` a bullet shows exists in that module (renamed or removed ones
    must leave the list)."""
    for module, text in _api_bullets().items():
        namespace = importlib.import_module(f"helpers.{module}")
        for name in re.findall(r"`([A-Za-z_]\w*)\(", text):
            exists = hasattr(namespace, name) or name in helpers._EXPORTS  # or a cross-reference
            assert exists, f"CONTRIBUTING names {module}.{name}, which is gone"


def test_each_docstring_names_the_notebooks_that_use_it():
    used = notebook_uses()
    wrong = []
    for name, module in helpers._EXPORTS.items():
        obj = getattr(helpers, name)
        if module in NO_USED_BY_YET or not (inspect.isclass(obj) or callable(obj)):
            continue
        found = USED_BY.search(inspect.getdoc(obj) or "")
        listed = found.group(1).split(", ") if found else []
        if listed != sorted(used.get(name, ())):
            wrong.append(
                f"{name}: docstring says {listed}, notebooks/src uses it in {sorted(used.get(name, ()))}"
            )
    assert not wrong, "update the 'Used by notebooks ...' lines:\n" + "\n".join(wrong)


def notebook_uses() -> dict[str, set[str]]:
    """Export name -> numbers of the notebooks whose source uses it (`helpers.name` or
    `from helpers import name`)."""
    used: dict[str, set[str]] = defaultdict(set)
    for source in SOURCES:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if node.value.id == "helpers":
                    used[node.attr].add(source.name[:2])
            elif isinstance(node, ast.ImportFrom) and node.module == "helpers":
                for alias in node.names:
                    used[alias.name].add(source.name[:2])
    return used


def test_notebook_uses_finds_attribute_and_from_imports():
    used = notebook_uses()
    assert "01" in used["print_banner"] and "00" in used["check_close"]  # from helpers import


def _api_bullets() -> dict[str, str]:
    """CONTRIBUTING's API section: module -> the text of its bullet."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    section = text.split("## helpers (public API", 1)[1].split("\n## ", 1)[0]
    return {
        m.group(1): m.group(2)
        for m in re.finditer(r"^- `(\w+)`: (.*?)(?=^- |\Z)", section, re.M | re.S)
    }
