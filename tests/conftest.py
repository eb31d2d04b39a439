"""Fixtures shared by the test modules: the suite leaves the repository as it found it; the
modules that drive the app in a browser get a Streamlit server and a headless Chromium, one of
each per module."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.serving import CHROMIUM, CHROMIUM_ARGS, ServerError, app_server

ROOT = Path(__file__).resolve().parent.parent


def repository_files() -> dict[str, tuple[int, int]] | None:
    """(size, mtime in ns) of every file git tracks and every untracked file it does not ignore;
    None outside a git checkout."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    files = {}
    for name in listed.decode().split("\0"):
        if name and (path := ROOT / name).is_file():
            stat = path.stat()
            files[name] = (stat.st_size, stat.st_mtime_ns)
    return files


@pytest.fixture(scope="session", autouse=True)
def repository_untouched() -> Iterator[None]:
    """Tests write into tmp_path, never into the repository: a run leaves a fresh clone clean
    (screenshots for the README come from bench/screenshots.py). Ignored paths (caches, the
    venv, app/static/) are not looked at."""
    before = repository_files()
    yield
    after = repository_files()
    if before is None or after is None:
        return
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, (
        f"files in the repository were written, created or deleted during the test run: {changed}"
        " (a test should write under tmp_path; or were they edited meanwhile?)"
    )


@pytest.fixture(autouse=True)
def no_warmup(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's warm-up (``app.warmup``) stays off in the tests unless a test asks for it,
    even after a test ran the ``optiscape`` command (which switches it on)."""
    monkeypatch.setenv("OPTISCAPE_WARMUP", "0")


def browser_unavailable(reason: str) -> None:
    """Skip locally; under CI a missing browser is a broken set-up, not a reason to skip."""
    if os.environ.get("CI"):
        pytest.fail(f"browser tests must run under CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of the app, served by a Streamlit process of this module's own."""
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    with open(log_path, "w+b") as log:
        try:
            with app_server(log) as base:
                yield base
        except ServerError as exc:
            pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, driven by Playwright."""
    if not Path(CHROMIUM).exists():
        browser_unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        browser_unavailable("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
