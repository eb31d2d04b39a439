"""The diagnosis's events on the explorer's contour, in a browser: a diverging run's "diverged at
step k" is hidden at step 0 and written once the player has run to the end."""

from __future__ import annotations

from urllib.parse import urlencode

from app.state import AppState, OptimizerEntry

TIMEOUT_MS = 60_000  # the first page load imports torch and computes the runs
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
CONTOUR = '.st-key-contour[data-stale="false"] .js-plotly-plot'
PLAYER = ".st-key-contour .optiscape-player"

# [{text, visible}] of the events the player's spec lists
JS_EVENTS = """(el) => (el.layout.meta.player.events || []).map((e) => ({
  text: e.text, step: e.step, visible: el.data[e.trace].visible !== false}))"""


def test_a_divergence_is_written_once_the_player_reaches_it(browser, server) -> None:
    state = AppState(
        landscape="rosenbrock",
        optimizers=(OptimizerEntry.make("gd", lr=0.05),),
        start=(-1.5, 2.0),
        steps=200,
    )
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{server}/?{urlencode(state.to_query(), doseq=True)}")
        page.wait_for_selector(IDLE)
        page.wait_for_function(
            f"() => {{ const el = document.querySelector({CONTOUR!r});"
            " return !!el && el.layout && el.layout.meta && el.layout.meta.player; }"
        )
        chart = page.locator(CONTOUR)
        events = chart.evaluate(JS_EVENTS)
        diverged = [e for e in events if e["text"].startswith("diverged at step ")]
        assert len(diverged) == 1, events
        assert diverged[0]["step"] > 0 and not diverged[0]["visible"]  # hidden at step 0
        page.locator(f"{PLAYER} button.end").click()
        page.wait_for_function(
            f"() => document.querySelector({PLAYER + ' input.scrub'!r}).value === '200'"
        )
        page.wait_for_function(
            f"() => {{ const el = document.querySelector({CONTOUR!r});"
            # the chart is marked stale (not found) while the rerun after Run to end runs
            " return !!el && el.layout.meta.player.events.every("
            "(e) => el.data[e.trace].visible !== false); }"
        )
        page.wait_for_selector(IDLE)
        text = diverged[0]["text"]
        assert page.locator(f"{CONTOUR} .textpoint text", has_text=text).count() == 1
        # back to step 0: hidden again
        page.locator(f"{PLAYER} input.scrub").fill("0")
        page.wait_for_function(
            f"() => {{ const el = document.querySelector({CONTOUR!r});"
            " return !!el && el.layout.meta.player.events.every("
            "(e) => el.data[e.trace].visible === false); }"
        )
        assert not errors, errors
    finally:
        context.close()
