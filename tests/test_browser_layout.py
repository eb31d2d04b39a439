"""The explorer as a projector shows it: at 1280×720 and at 1600×1000, in the normal and the
presenter view, a new scene and a lesson, the player and the whole contour plot are on the first
screen, without scrolling. Uses the shared server and Chromium fixtures."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from app import lessons
from app.state import AppState

TIMEOUT_MS = 60_000
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
PLOT = '.st-key-contour[data-stale="false"] .js-plotly-plot .nsewdrag'  # the plot area
PLAYER = ".st-key-contour .optiscape-player"
VIEWS = {
    "new scene": AppState().to_query(),
    "presenter": {**AppState().to_query(), "present": "1", "theme": "dark"},
    "lesson": lessons.get("himmelblau-basins").query(),
}


@pytest.mark.parametrize("size", [(1280, 720), (1600, 1000)])
@pytest.mark.parametrize("view", VIEWS)
def test_the_chart_is_on_the_first_screen(browser, server, view, size):
    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        page.goto(f"{server}/?{urlencode(VIEWS[view], doseq=True)}")
        page.wait_for_selector(PLOT, timeout=TIMEOUT_MS)
        page.wait_for_selector(IDLE, timeout=TIMEOUT_MS)
        page.wait_for_function(  # drawn at its final size (the browser fits it to the window)
            "(sel) => { const el = document.querySelector(sel);"
            " return el && el.getBoundingClientRect().height > 0; }",
            arg=PLOT,
        )
        plot = page.locator(PLOT).first.bounding_box()
        bar = page.locator(PLAYER).bounding_box()
        assert bar["y"] >= 0 and bar["y"] + bar["height"] <= plot["y"]
        assert plot["y"] + plot["height"] <= height, (plot, height)
        assert plot["x"] + plot["width"] <= width
        assert plot["height"] >= 300  # still a chart a lecture hall can read
        # the player's buttons show their whole labels (no "Run to e…")
        for button in page.locator(f"{PLAYER} button").all():
            assert button.evaluate("(b) => b.scrollWidth <= b.clientWidth + 1"), button.inner_text()
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        context.close()
