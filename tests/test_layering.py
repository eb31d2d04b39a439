"""Imports point one way: app -> studies -> optimizers, landscapes.

``landscapes`` (surfaces, networks, pure functions) and ``optimizers`` (update rules and the
runner, which takes any object shaped like ``optimizers.Objective``) import nothing from each
other; ``studies`` (sweeps, basins, stability theory, tuning, network training) imports both;
the engine never imports ``app`` nor the UI libraries. Read from the source with ``ast``, every
import counts: at the top, inside a function, or under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ("landscapes", "optimizers", "studies")
UI = ("app", "streamlit", "plotly")
# package -> the top-level names it must not import
FORBIDDEN = {
    "landscapes": ("optimizers", "studies", *UI),
    "optimizers": ("landscapes", "studies", *UI),
    "studies": UI,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in a file, relative ones resolved."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            out.append((node.lineno, name))
    return out


def violations(package: str) -> list[str]:
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, name in imported(path):
            if name.split(".")[0] in FORBIDDEN[package]:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    return bad


@pytest.mark.parametrize("package", ENGINE)
def test_engine_imports_point_one_way(package):
    assert violations(package) == []


def test_the_checker_sees_every_kind_of_import(tmp_path, monkeypatch):
    """The parser finds relative, nested and TYPE_CHECKING imports (a checker that saw none
    would pass everything)."""
    pkg = tmp_path / "landscapes" / "sub"
    pkg.mkdir(parents=True)
    (pkg / "mod.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "import numpy\n"
        "from ...optimizers import runner\n"
        "def f():\n"
        "    import studies.training\n"
        "if TYPE_CHECKING:\n"
        "    from app.state import AppState\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert [v.split(" imports ")[1] for v in violations("landscapes")] == [
        "optimizers",
        "studies.training",
        "app.state",
    ]


def test_the_studies_package_is_installed():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"studies*"' in text
