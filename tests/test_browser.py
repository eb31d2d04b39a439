"""The explorer page in a real browser: Streamlit serves it, headless Chromium (Playwright) drives it.

What AppTest cannot see is checked here: the page renders without an exception (and a
screenshot of it, in a temporary folder, has content), a shared link restores its widgets and
draws the engine's trajectories up to the step it shows, the player's Step button moves the
markers by one step, Play moves the one scrubber and never draws a path beyond the step shown,
Reset returns to step 0, a click on the contour sets the start point, and the surface image
stays during playback. The
module starts its own server on a free port; one page of the default scene is shared by the tests
that use it, in file order. Without Playwright or Debian's Chromium (/usr/bin/chromium) the tests
are skipped, except under CI (the CI environment variable set), where that is a failure.
"""

from __future__ import annotations

import math
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import numpy as np
import pytest

import optimizers
from app import explorer_link
from app.state import AppState, OptimizerEntry

VIEWPORT = {"width": 1400, "height": 1000}
TIMEOUT_MS = 30_000  # any one wait in the page (the first page load imports torch and runs 4 runs)

# The explorer's charts (app.plotly_view) stay in the page across reruns and are updated in place;
# a container is marked data-stale="true" while the script that may replace it runs.
CONTOUR = '.st-key-contour[data-stale="false"] .js-plotly-plot'
PLAYER = ".st-key-contour .optiscape-player"  # the contour's player (app.plotly_view)
SCRUBBER = f"{PLAYER} input.scrub"
PLAYER_BUTTONS = {  # label: the player button's class
    "Reset": "reset",
    "Play": "play",
    "Pause": "play",
    "Step": "step1",
    "Step ×10": "step10",
    "Run to end": "end",
}
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'

# Decodes a trace array as Plotly holds it: a plain array, a typed array, or the {dtype, bdata}
# spec in which Python's plotly sends numpy arrays (base64, little-endian).
JS_DECODE = """
const decode = (v) => {
  if (v === undefined || v === null) return null;
  if (Array.isArray(v)) return v;
  if (ArrayBuffer.isView(v)) return Array.from(v);
  if (typeof v === "object" && typeof v.bdata === "string") {
    const bin = atob(v.bdata);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const types = {f4: Float32Array, f8: Float64Array, i1: Int8Array, u1: Uint8Array,
                   i2: Int16Array, u2: Uint16Array, i4: Int32Array, u4: Uint32Array};
    return Array.from(new types[v.dtype.replace(/^[<>|=]/, "")](bytes.buffer));
  }
  return v;
};
"""
# Uncaught errors, readable from the page itself (so a wait can stop at the first one).
JS_RECORD_ERRORS = (
    "window.__errors = [];"
    " window.addEventListener('error', (e) => window.__errors.push(String(e.message)));"
)
# [{name, mode, legendgroup, x, y}] of the contour chart's traces, arrays decoded.
JS_TRACES = (
    "(el) => {"
    + JS_DECODE
    + "return el.data.map((t) => ({name: t.name, mode: t.mode, legendgroup: t.legendgroup ?? null,"
    " x: decode(t.x), y: decode(t.y)})); }"
)
# The current-position markers, one per run: single-point "markers" traces of a run's legend
# group, as [[x, y], ...] in run order (null where a run has no drawable point).
JS_MARKERS = """(el) => el.data
  .filter((t) => /^run\\d+$/.test(t.legendgroup || "") && t.mode === "markers")
  .map((t) => [t.x[0] ?? null, t.y[0] ?? null])"""


# --- environment and fixtures --------------------------------------------------------------------


@pytest.fixture(scope="module")
def open_page(browser, server):
    """``open_page(query)`` opens the app with that query (a dict, or None) in a new browser
    context and waits until the page has run its script and drawn its charts and table. The
    pages stay open until the module ends."""
    contexts = []

    def _open(query: dict[str, str | list[str]] | None = None):
        context = browser.new_context(viewport=VIEWPORT)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.page_errors = errors
        page.add_init_script(JS_RECORD_ERRORS)
        page.goto(f"{server}/" + (f"?{urlencode(query, doseq=True)}" if query else ""))
        wait_idle(page)
        page.wait_for_selector(".st-key-contour table.optiscape-table")
        return page

    yield _open
    for context in contexts:
        context.close()


@pytest.fixture(scope="module")
def default_page(open_page):
    """One page of the default scene, shared by the tests below (a page load costs seconds).
    The first test sees it untouched; the others read the scene from the page's URL."""
    return open_page()


# --- helpers ---------------------------------------------------------------------------------------


def wait_idle(page) -> None:
    """Wait until the script has run and the contour chart is drawn with its traces."""
    page.wait_for_selector(IDLE)
    page.wait_for_function(
        f"() => {{ const el = document.querySelector({CONTOUR!r});"
        " return !!el && Array.isArray(el.data) && el.data.length > 0; }"
    )


def contour(page):
    return page.locator(CONTOUR)


def traces(page) -> list[dict]:
    return contour(page).evaluate(JS_TRACES)


def markers(page) -> np.ndarray:
    return np.array(contour(page).evaluate(JS_MARKERS), dtype=float)


def step_shown(page) -> int:
    return int(page.locator(SCRUBBER).input_value())


def engine_positions(state: AppState) -> np.ndarray:
    """(runs, steps + 1, 2) positions the engine computes for ``state``."""
    result = optimizers.simulate(
        state.surface(),
        [e.spec() for e in state.optimizers],
        [state.start_point()],
        steps=state.steps,
        seed=state.seed,
    )
    return np.asarray(result.positions)[:, 0]


def marker_tolerance(state: AppState) -> float:
    """Markers are rounded to 1/100000 of the domain diagonal (``app.charts.style.domain_decimals``): allow that."""
    (x0, x1), (y0, y1) = state.surface().domain
    return 1e-5 * math.hypot(x1 - x0, y1 - y0)


def wait_markers_at(page, expected: np.ndarray, atol: float) -> None:
    """Wait until the current-position marker of every run is at ``expected`` (runs x 2)."""
    page.wait_for_function(
        "([sel, expected, atol]) => {"
        " const el = document.querySelector(sel); if (!el || !el.data) return false;"
        f" const got = ({JS_MARKERS})(el);"
        " return got.length === expected.length && got.every((p, i) =>"
        "   Math.abs(p[0] - expected[i][0]) <= atol + 1e-5 * Math.abs(expected[i][0]) &&"
        "   Math.abs(p[1] - expected[i][1]) <= atol + 1e-5 * Math.abs(expected[i][1])); }",
        arg=[CONTOUR, expected.tolist(), atol],
    )


def click_button(page, label: str) -> None:
    """A button of the contour's player."""
    page.locator(f"{PLAYER} button.{PLAYER_BUTTONS[label]}").click()


def wait_step_shown(page, k: int) -> None:
    page.wait_for_function(
        "([sel, k]) => document.querySelector(sel)?.value === String(k)", arg=[SCRUBBER, k]
    )


# In one tick of the page: the scrubber's step and the number of points each path draws.
JS_SHOWN = """([sel, scrub]) => {
  const el = document.querySelector(sel);
  const paths = el.layout.meta.player.paths.map((i) => el.data[i].x.length);
  return [Number(document.querySelector(scrub).value), paths];
}"""


def click_empty_spot(page) -> np.ndarray:
    """Click the contour where nothing is drawn; returns the (x, y) of the click-grid point there
    (the point a click reports)."""
    state = page_state(page)
    expected = engine_positions(state)
    grid = next(t for t in traces(page) if t["name"] == "click grid")
    points = np.column_stack([grid["x"], grid["y"]]).astype(float)
    minima = [(m.x, m.y) for m in state.surface().minima]
    # the grid point farthest from every path, minimum and the start, inside the axes
    taken = np.concatenate(
        [expected.reshape(-1, 2), np.reshape(minima, (-1, 2)), [state.start_point()]]
    )
    taken = taken[np.isfinite(taken).all(axis=1)]
    (x0, x1), (y0, y1) = state.surface().domain
    inner = (points[:, 0] > x0) & (points[:, 0] < x1) & (points[:, 1] > y0) & (points[:, 1] < y1)
    gaps = np.linalg.norm(points[:, None] - taken[None], axis=2).min(axis=1)
    target = points[np.flatnonzero(inner)[np.argmax(gaps[inner])]]
    if state.start == tuple(target):  # already there: the next farthest point
        gaps[np.flatnonzero(inner)[np.argmax(gaps[inner])]] = -1
        target = points[np.flatnonzero(inner)[np.argmax(gaps[inner])]]

    plot = contour(page).locator(".nsewdrag").first  # the plot area
    plot.scroll_into_view_if_needed()
    box = plot.bounding_box()
    px = box["x"] + (target[0] - x0) / (x1 - x0) * box["width"]
    py = box["y"] + (y1 - target[1]) / (y1 - y0) * box["height"]
    page.mouse.move(px, py)
    page.mouse.click(px, py)
    return target


def wait_start_set(page, target: np.ndarray) -> None:
    """Wait until the URL's start point is ``target``; stop at the page's first uncaught error."""
    page.wait_for_function(
        "(target) => {"
        " if (window.__errors.length > 0) return true;"
        " const start = new URLSearchParams(location.search).get('start');"
        " if (!start) return false;"
        " const [x, y] = start.split(',').map(Number);"
        " return Math.abs(x - target[0]) < 1e-9 && Math.abs(y - target[1]) < 1e-9; }",
        arg=target.tolist(),
    )
    errors = page.evaluate("() => window.__errors")
    assert errors == [], f"the click raised in the page: {errors}"


def play_until_moved(page) -> None:
    """Click the player's Play button and wait until the markers moved (a frame drew)."""
    before = markers(page)
    click_button(page, "Play")
    page.wait_for_function(
        "([sel, before]) => {"
        " const el = document.querySelector(sel);"
        f" const got = ({JS_MARKERS})(el);"
        " return got.some((p, i) => p[0] !== before[i][0] || p[1] !== before[i][1]); }",
        arg=[CONTOUR, before.tolist()],
    )


def next_paint(page) -> None:
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")


def screenshot_whole_page(page, path: Path) -> None:
    """A screenshot of the whole page. Streamlit scrolls its main area and the sidebar inside
    the window (Playwright's full_page sees one window's height), so the window is made as tall
    as their content for the shot, then put back."""
    height = page.evaluate(
        "() => Math.max(...['stMain', 'stSidebarContent'].map((id) =>"
        " document.querySelector(`[data-testid=${id}]`)?.scrollHeight ?? 0))"
    )
    page.set_viewport_size({"width": VIEWPORT["width"], "height": max(height, VIEWPORT["height"])})
    page.wait_for_function(
        "() => { const m = document.querySelector('[data-testid=stMain]');"
        " return m.scrollHeight <= m.clientHeight + 1; }"
    )
    next_paint(page)
    page.screenshot(path=str(path))
    page.set_viewport_size(VIEWPORT)
    next_paint(page)


def query_state(url: str) -> tuple[AppState, list[str]]:
    return explorer_link.from_query(parse_qs(urlsplit(url).query, keep_blank_values=True))


def page_state(page) -> AppState:
    """The state the page wrote into its address bar."""
    state, warnings = query_state(page.url)
    assert warnings == [], warnings
    return state


# --- tests -----------------------------------------------------------------------------------------


def test_default_scene_renders(default_page, tmp_path):
    """First in the module: the shared page is still the untouched default scene. (Its
    screenshot goes to a temporary folder; `python bench/screenshots.py` refreshes assets/.)"""
    page = default_page
    assert page.locator(".js-plotly-plot").count() == 2  # contour and curves (3-D: one click)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator(".st-key-contour table.optiscape-table").is_visible()  # the status table
    assert contour(page).locator(".imagelayer image").count() == 1  # the surface
    assert page.page_errors == []
    state, warnings = query_state(page.url)
    assert warnings == [] and state == AppState()
    shot = tmp_path / "explorer.png"
    screenshot_whole_page(page, shot)
    assert shot.stat().st_size > 10_000


def test_a_shared_link_restores_widgets_and_trajectories(open_page):
    state = AppState(
        landscape="himmelblau",
        optimizers=(OptimizerEntry.make("adam", lr=0.2), OptimizerEntry.make("gd", lr=0.01)),
        start=(-1.0, 2.5),
        steps=300,
        step=30,
    )
    page = open_page(state.to_query())
    assert page.locator('[data-testid="stException"]').count() == 0

    # the widgets
    landscape = page.locator(".st-key-landscape input[role=combobox]")
    assert "Himmelblau" in landscape.input_value()
    labels = page.locator('[data-testid="stSidebar"] [data-testid="stExpander"] summary')
    texts = [t.strip() for t in labels.all_inner_texts()]
    assert len(texts) == 2
    assert texts[0].endswith("Adam lr=0.2"), texts
    assert texts[1].endswith("Gradient descent lr=0.01"), texts
    assert step_shown(page) == 30
    assert page.locator(".st-key-start_x input").input_value() == "-1"
    assert page.locator(".st-key-start_y input").input_value() == "2.5"

    # the trajectories drawn: each run's path up to the step shown (30), and no further, equals
    # the engine's, to float32 precision
    expected = engine_positions(state)
    drawn = traces(page)
    for i, entry in enumerate(state.optimizers):
        path = [t for t in drawn if t["name"] == entry.label and t["mode"] == "lines"]
        assert len(path) == 1, [t["name"] for t in drawn]
        got = np.column_stack([path[0]["x"], path[0]["y"]]).astype(float)
        assert got.shape == (31, 2)
        np.testing.assert_allclose(got, expected[i][:31], rtol=1e-5, atol=1e-7)
    # the markers show step 30
    np.testing.assert_allclose(
        markers(page), expected[:, 30], rtol=1e-5, atol=marker_tolerance(state)
    )

    # the address bar still holds the same state
    written, warnings = query_state(page.url)
    assert warnings == []
    assert written == state


def test_step_advances_by_one(default_page):
    page = default_page
    click_button(page, "Reset")
    wait_step_shown(page, 0)
    wait_idle(page)
    state = page_state(page)
    expected = engine_positions(state)
    tol = marker_tolerance(state)

    click_button(page, "Step")
    wait_step_shown(page, 1)
    wait_markers_at(page, expected[:, 1], tol)
    np.testing.assert_allclose(markers(page), expected[:, 1], rtol=1e-5, atol=tol)
    wait_idle(page)
    assert page_state(page).step == 1


def test_a_click_on_the_contour_sets_the_start(default_page):
    page = default_page
    target = click_empty_spot(page)
    wait_start_set(page, target)
    wait_idle(page)
    np.testing.assert_allclose(page_state(page).start, target, atol=1e-9)
    assert float(page.locator(".st-key-start_x input").input_value()) == pytest.approx(
        target[0], abs=1e-3
    )
    assert float(page.locator(".st-key-start_y input").input_value()) == pytest.approx(
        target[1], abs=1e-3
    )
    assert page.locator('[data-testid="stException"]').count() == 0


JS_TABLE_STEP = """() => Number(document.querySelector(
  '.st-key-contour table.optiscape-table').dataset.step)"""


def test_play_moves_the_markers_and_keeps_the_surface(default_page):
    page = default_page
    click_button(page, "Step")  # so that Reset changes the step shown and redraws the chart
    click_button(page, "Reset")
    wait_step_shown(page, 0)
    state = page_state(page)
    expected = engine_positions(state)
    wait_markers_at(page, expected[:, 0], marker_tolerance(state))
    wait_idle(page)
    errors_before = len(page.page_errors)

    play_until_moved(page)
    # mid-animation: the surface (a layout image) is still drawn, the one scrubber moves, and no
    # path is drawn beyond the step it shows
    assert contour(page).locator(".imagelayer image").count() == 1
    assert contour(page).evaluate("(el) => el.layout.images.length") == 1
    assert np.isfinite(markers(page)).all()
    seen, table_steps = [], []
    for _ in range(5):
        k, lengths = page.evaluate(JS_SHOWN, [CONTOUR, SCRUBBER])
        assert all(n <= k + 1 for n in lengths), (k, lengths)
        seen.append(k)
        table_steps.append(page.evaluate(JS_TABLE_STEP))
        next_paint(page)
        page.wait_for_timeout(150)
    assert seen[-1] > seen[0] > 0  # Play moves the scrubber
    assert table_steps[-1] > table_steps[0]  # and the status table with it
    click_button(page, "Pause")
    paused = step_shown(page)
    page.wait_for_function(  # the step it paused on reaches the server and the link
        "(k) => new URLSearchParams(location.search).get('k') === String(k)", arg=paused
    )
    wait_idle(page)  # the rerun that follows marks the chart stale until it is done
    assert contour(page).locator(".imagelayer image").count() == 1
    k, lengths = page.evaluate(JS_SHOWN, [CONTOUR, SCRUBBER])
    assert k == paused and all(n <= k + 1 for n in lengths)
    click_button(page, "Reset")
    wait_step_shown(page, 0)
    wait_markers_at(page, expected[:, 0], marker_tolerance(state))
    assert page.page_errors[errors_before:] == [], page.page_errors


def axis_ranges(page) -> list[list[float]]:
    return contour(page).evaluate(
        "(el) => [el._fullLayout.xaxis.range.slice(), el._fullLayout.yaxis.range.slice()]"
    )


def test_a_zoom_survives_a_rerun(default_page):
    """The contour is updated in place (Plotly.react) and keeps the user's zoom through a rerun
    that changes its figure; Reset axes gives the whole domain back."""
    page = default_page
    wait_idle(page)
    full = axis_ranges(page)
    k = step_shown(page)
    contour(page).hover()
    contour(page).locator('.modebar-btn[data-title="Zoom in"]').click()
    page.wait_for_function(
        "([sel, x]) => document.querySelector(sel)._fullLayout.xaxis.range[0] !== x[0]",
        arg=[CONTOUR, full[0]],
    )
    zoomed = axis_ranges(page)
    assert zoomed[0][1] - zoomed[0][0] < 0.75 * (full[0][1] - full[0][0])

    click_button(page, "Step" if k < page_state(page).steps else "Reset")
    page.wait_for_function(
        "(k) => new URLSearchParams(location.search).get('k') !== String(k)", arg=k
    )
    state = page_state(page)
    wait_markers_at(page, engine_positions(state)[:, state.shown_step()], marker_tolerance(state))
    wait_idle(page)
    np.testing.assert_allclose(axis_ranges(page), zoomed)

    contour(page).hover()
    contour(page).locator('.modebar-btn[data-title="Reset axes"]').click()
    page.wait_for_function(
        "([sel, x]) => document.querySelector(sel)._fullLayout.xaxis.range[0] === x[0]",
        arg=[CONTOUR, full[0]],
    )
    np.testing.assert_allclose(axis_ranges(page), full)


def test_a_click_after_play_still_sets_the_start(default_page):
    """After the player ran, a click on the contour still sets the start."""
    page = default_page
    play_until_moved(page)
    click_button(page, "Pause")
    wait_idle(page)
    page.evaluate("() => { window.__errors = []; }")
    target = click_empty_spot(page)
    wait_start_set(page, target)
    wait_idle(page)
    np.testing.assert_allclose(page_state(page).start, target, atol=1e-9)


def test_without_plotly_js_the_charts_say_why(browser, server):
    """When plotly.min.js cannot be loaded (static serving off), each chart says so and how to
    fix it; the rest of the page still works."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.route("**/app/static/plotly.min.js", lambda route: route.fulfill(status=404))
        page.goto(server)
        page.wait_for_selector(IDLE)
        page.wait_for_selector('[data-testid="stExpander"]')  # the rest of the page
        message = page.locator(".st-key-contour .optiscape-plot")
        message.filter(has_text="could not be drawn").wait_for()
        assert "enableStaticServing" in message.inner_text()
        assert page.locator(".js-plotly-plot").count() == 0
        assert page.locator('[data-testid="stException"]').count() == 0
        assert errors == []
    finally:
        context.close()


def test_an_open_editor_stays_open_when_its_learning_rate_moves(default_page):
    """An optimizer's editor draws its widgets only while open; its label shows the learning
    rate, and moving the rate relabels it without closing it."""
    page = default_page
    editors = page.locator('[data-testid="stSidebar"] [data-testid="stExpander"]')
    editor = editors.filter(has=page.locator("summary", has_text="Adam lr=")).first
    assert editor.locator("input[type=range]").count() == 0  # closed: no widgets drawn
    editor.locator("summary").click()
    slider = editor.locator("input[type=range]").first
    slider.wait_for()
    label = editor.locator("summary").inner_text()
    slider.focus()
    page.keyboard.press("ArrowRight")
    relabelled = editors.filter(has=page.locator("summary", has_text="Adam lr=")).first
    page.wait_for_function(
        "([sel, old]) => Array.from(document.querySelectorAll(sel)).some((s) =>"
        " /Adam lr=/.test(s.innerText) && s.innerText !== old)",
        arg=['[data-testid="stSidebar"] [data-testid="stExpander"] summary', label],
    )
    wait_idle(page)
    assert relabelled.locator("details").evaluate("(d) => d.open")
    assert relabelled.locator("input[type=range]").count() >= 1
    relabelled.locator("summary").click()  # closed again for the tests after this one
    page.wait_for_function(
        "(sel) => !Array.from(document.querySelectorAll(sel)).some((d) => d.open)",
        arg='[data-testid="stSidebar"] [data-testid="stExpander"] details',
    )
    wait_idle(page)
