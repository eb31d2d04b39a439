"""The layout of ``app/charts/``: no module reaches into another's private names (``from .x import
_name`` or ``x._name``); what two modules share is public in one of them (DESIGN.md)."""

from __future__ import annotations

import ast
from pathlib import Path

CHARTS = Path(__file__).resolve().parents[1] / "app" / "charts"


def private_crossings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found, modules = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"{path.name}:{node.lineno}: import of {alias.name}")
                modules.add(alias.asname or alias.name)  # a module when imported from a package
        elif isinstance(node, ast.Import):
            modules.update(alias.asname or alias.name.split(".")[0] for alias in node.names)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            found.append(f"{path.name}:{node.lineno}: {node.value.id}.{node.attr}")
    return found


def test_no_chart_module_uses_another_modules_private_names() -> None:
    modules = sorted(CHARTS.glob("*.py"))
    assert len(modules) >= 10  # the package itself, not an empty folder
    assert [found for path in modules for found in private_crossings(path)] == []


def test_the_check_sees_a_private_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from .surface import _nice_ticks\nfrom . import style\nstyle._x\n")
    assert private_crossings(sample) == [
        "sample.py:1: import of _nice_ticks",
        "sample.py:3: style._x",
    ]
