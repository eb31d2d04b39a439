"""The explorer as a projector shows it: at 1280×720 and at 1600×1000, in the normal and the
presenter view, a new scene and a lesson, the player and the whole contour plot are on the first
screen, without scrolling. Uses the shared server and Chromium fixtures."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from app import explorer_link, lessons
from app.state import AppState

TIMEOUT_MS = 60_000
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
PLOT = '.st-key-contour[data-stale="false"] .js-plotly-plot .nsewdrag'  # the plot area
PLAYER = ".st-key-contour .optiscape-player"
VIEWS = {
    "new scene": AppState().to_query(),
    "presenter": {**AppState().to_query(), "present": "1", "theme": "dark"},
    "lesson": lessons.get("himmelblau-basins").query(),
    "presenter lesson": {
        **lessons.get("himmelblau-basins").query(),
        "present": "1",
        "theme": "dark",
    },
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


TEXT_VIEWS = {
    **VIEWS,
    "lesson, diverging": lessons.get("lr-diverging").query(),
    "lesson, saddle": lessons.get("saddle-escape").query(),
    "curvature and arrows": {**AppState().to_query(), "curv": "1", "arrows": "1", "k": "40"},
}
BAD_WORDS = r"\b(None|nan|NaN|Infinity|undefined)\b"


@pytest.mark.parametrize("view", TEXT_VIEWS)
def test_the_legend_and_the_table_are_beside_and_under_the_chart_and_say_no_none(
    browser, server, view
):
    """At 1280×720 the legend is beside the plot and whole on the first screen; the status
    table is under the chart, with a row per run; and no text on the page reads None, nan,
    Infinity or undefined, played to the end or not."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        page.goto(f"{server}/?{urlencode(TEXT_VIEWS[view], doseq=True)}")
        page.wait_for_selector(PLOT, timeout=TIMEOUT_MS)
        page.wait_for_selector(IDLE, timeout=TIMEOUT_MS)
        plot = page.locator(PLOT).first.bounding_box()
        legend = page.locator(".st-key-contour .legend").first.bounding_box()
        assert legend["x"] >= plot["x"] + plot["width"]  # beside, not under
        assert legend["x"] + legend["width"] <= 1280 and legend["y"] + legend["height"] <= 720
        rows = page.locator(".st-key-contour table.optiscape-table tbody tr")
        runs = len(explorer_link.from_query(TEXT_VIEWS[view])[0].optimizers)
        assert rows.count() == runs
        for played in (False, True):
            if played:
                page.locator(f"{PLAYER} button.end").click()
                page.wait_for_function(
                    "() => document.querySelector('.st-key-contour table.optiscape-table')"
                    ".querySelector('tbody td:nth-child(4)').textContent !== 'running'"
                )
            text = page.locator("[data-testid='stMain']").inner_text()
            bad = page.evaluate(
                "([text, pattern]) => text.match(new RegExp(pattern, 'g'))", [text, BAD_WORDS]
            )
            assert bad is None, (played, bad)
    finally:
        context.close()
