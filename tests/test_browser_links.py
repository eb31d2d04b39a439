"""Hostile links in a real browser: every page shows what the link said as literal text, with no
live link, no image and no request to the link's hosts (a tracking pixel on a shared class link
would make every student's browser ask for it). Uses the shared server and Chromium fixtures."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import pytest

TIMEOUT_MS = 60_000
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
HOSTS = ("evil.example", "tracker.example")
LINK = "[Log in again](https://evil.example/login)"
PIXEL = "![t](https://tracker.example/pixel.png)"
HTML = "<img src=https://tracker.example/p.png onerror=alert(1)>"
LINKS = {  # path: query of values the report found reaching the page
    "/": {"v": "1", "ls": PIXEL, "o": LINK, "steps": HTML, "theme": "https://evil.example/x"},
    "/?custom": {
        "v": "1",
        "ls": "custom",
        "fx": "x**2 + y**2 # ![t](https://tracker.example/p.png) [sign in](https://evil.example)",
    },
    "/sweep": {"v": "1", "obj": LINK, "nlr": PIXEL},
    "/basins": {"v": "1", "grid": PIXEL, "o": HTML},
    "/network": {"v": "1", "data": LINK, "noise": "-0", "w": PIXEL},
    "/search": {"v": "1", "opt": PIXEL, "s": LINK},
}
SHOWN = {  # a part of each page's literal message
    "/": "tracker.example",
    "/?custom": "a formula has no comments",
    "/sweep": "evil.example",
    "/basins": "tracker.example",
    "/network": "evil.example",
    "/search": "tracker.example",
}


@pytest.mark.parametrize("path", LINKS)
def test_a_hostile_link_is_shown_as_text_and_loads_nothing(browser, server, path):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    requested: list[str] = []
    context.on("request", lambda r: requested.append(urlsplit(r.url).hostname or ""))
    errors: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{server}{path.split('?')[0]}?{urlencode(LINKS[path])}")
        page.wait_for_selector('[data-testid="stText"]', timeout=TIMEOUT_MS)
        page.wait_for_selector(IDLE, timeout=TIMEOUT_MS)
        for host in HOSTS:
            assert page.locator(f'a[href*="{host}"], img[src*="{host}"]').count() == 0
        assert not set(requested) & set(HOSTS), set(requested)
        texts = " ".join(page.locator('[data-testid="stText"]').all_inner_texts())
        assert SHOWN[path] in texts  # what the link said is named, as text
        assert page.locator('[data-testid="stException"]').count() == 0
        assert not errors
    finally:
        context.close()
