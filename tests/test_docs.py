"""The documentation says what the code does: every python block of README.md and docs/ runs as
written, the generated reference pages match the registries, links between pages resolve, and
the package docstrings' examples print what they claim."""

from __future__ import annotations

import doctest
import importlib.util
import re
import unicodedata
from pathlib import Path

import pytest

import landscapes
import optimizers
import studies

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted(DOCS.glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)
README_MAX_LINES = 200


def code_blocks(language: str) -> list[tuple[str, str]]:
    """(``file:line``, source) of every fenced block in ``language`` across the pages."""
    blocks = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            if match.group(1) == language:
                line = text.count("\n", 0, match.start()) + 1
                blocks.append((f"{page.relative_to(ROOT)}:{line}", match.group(2)))
    return blocks


PYTHON_BLOCKS = code_blocks("python")


def load_reference():
    """docs/reference.py, the generator of the optimizers and surfaces pages (not a package)."""
    spec = importlib.util.spec_from_file_location("docs_reference", DOCS / "reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- the python blocks ------------------------------------------------------------------------------


def test_the_pages_have_python_blocks():
    where = {name.split(":")[0] for name, _ in PYTHON_BLOCKS}
    assert {"README.md", "docs/api.md", "docs/diagnostics.md", "docs/search.md"} <= where
    assert {"docs/networks.md", "docs/explorer.md"} <= where


@pytest.mark.parametrize(("where", "source"), PYTHON_BLOCKS, ids=[w for w, _ in PYTHON_BLOCKS])
def test_python_block_runs_as_written_and_prints(where, source, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # a block that writes a file writes it here
    exec(compile(source, where, "exec"), {"__name__": "__docs__"})  # a fresh namespace each
    printed = capsys.readouterr().out
    assert printed.strip(), f"{where} prints nothing: a reader cannot see what it shows"


# -- README -----------------------------------------------------------------------------------------


def test_the_readme_is_short():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES


def test_the_readme_holds_the_commands_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    bash = "\n".join(source for where, source in code_blocks("bash") if where.startswith("README"))
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    assert ci.startswith("python3 -m venv .venv") and "python -m pytest" in ci
    assert ci in bash.splitlines()
    start = "python3 -m venv .venv && . .venv/bin/activate && pip install -c constraints.txt -e . && optiscape"
    assert start in bash.splitlines()
    assert "optiscape --port" in readme
    assert re.search(r"!\[[^]]*\]\(assets/[\w-]+\.png\)", readme)


# -- links between pages ----------------------------------------------------------------------------


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = heading.strip().lower()
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LN")
    return kept.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {slug(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.M)}


def test_slug_follows_githubs_rule():
    assert slug("From Python: `landscapes.network`") == "from-python-landscapesnetwork"
    assert slug("Learning-rate sweep (`/sweep`) and basins (`/basins`)") == (
        "learning-rate-sweep-sweep-and-basins-basins"
    )


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_at_files_and_headings_that_exist(page):
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # an absolute URL
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        missing_heading = file.suffix == ".md" and anchor and anchor not in anchors(file)
        if not file.exists() or missing_heading:
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)} links to what does not exist: {broken}"


REPO_PATH = re.compile(
    r"`((?:app|landscapes|optimizers|tests|bench|docs|assets|\.ci|\.streamlit)/[\w./-]*)`"
)


def test_file_names_in_backquotes_are_found():
    text = "see `tests/test_runner.py`, `app/state.py` and `python docs/reference.py`"
    assert REPO_PATH.findall(text) == ["tests/test_runner.py", "app/state.py"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_files_a_page_names_exist(page):
    named = set(REPO_PATH.findall(page.read_text(encoding="utf-8")))
    made_on_start = {"app/static/"}  # plotly.js copied there when the app starts (git ignores it)
    missing = sorted(p for p in named - made_on_start if not (ROOT / p).exists())
    assert not missing, f"{page.relative_to(ROOT)} names files that do not exist: {missing}"


# -- the generated reference pages ------------------------------------------------------------------


def test_the_generated_pages_match_the_registries():
    stale = load_reference().stale_pages()
    assert not stale, f"{stale} out of date: run python docs/reference.py and commit the result"


def test_every_registered_optimizer_is_listed_with_its_paper():
    page = (DOCS / "optimizers.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (\S+)$", page, flags=re.M)
    assert headings == optimizers.available()
    for name in optimizers.available():
        opt = optimizers.get(name)
        section = page.split(f"\n## {name}\n", 1)[1].split("\n## ", 1)[0]
        assert f"Paper: {opt.reference}" in section, name
        assert opt.maths in section, name
        for h in opt.hyperparams:
            assert f"`{h.name}=" in section, (name, h.name)


def test_every_registered_surface_is_listed_with_its_references():
    page = (DOCS / "surfaces.md").read_text(encoding="utf-8")
    headings = re.findall(r"^### (\S+)$", page, flags=re.M)
    assert sorted(headings) == sorted(landscapes.available())
    for key in landscapes.available():
        surface = landscapes.get(key)
        section = page.split(f"\n### {key}\n", 1)[1].split("\n### ", 1)[0]
        assert surface.name in section and surface.formula in section, key
        for reference in surface.references:
            assert reference in section, (key, reference)
        assert len(re.findall(r"minim(?:um|a) \(f = ", section)) == len(
            {m.kind for m in surface.minima}
        ), key


# -- package docstrings -----------------------------------------------------------------------------


@pytest.mark.parametrize("module", [landscapes, optimizers, studies], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, raise_on_error=False)
    assert result.attempted > 0 and result.failed == 0
