"""Fixtures shared by the test modules that drive the app in a browser: a Streamlit server and a
headless Chromium, one of each per module."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.serving import CHROMIUM, CHROMIUM_ARGS, ServerError, app_server


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
