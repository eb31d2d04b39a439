"""Refresh the README's screenshots in assets/ (the test suite writes nothing there).

Starts the app on a free port (``app.serving.app_server``), opens each view in headless Chromium
(Debian's /usr/bin/chromium, driven by Playwright), waits until the page has run its script and
its chart is drawn, and writes one PNG of the whole page per view and window size:

* ``explorer``: the default scene, its race played to the end (the player's Run to end);
* ``explorer-presenter``: the same in presenter mode, dark;
* ``lesson-<id>``: three lessons (``LESSON_SHOTS``), each played to its end, and
  ``lesson-<id>-presenter`` the same in presenter mode, dark;
* ``network``: the network page's plane, played to the end;
* ``sweep``: a learning-rate sweep of gradient descent, momentum and Adam on the quadratic;
* ``basins``: basins of attraction of the same three optimizers on Himmelblau (100 x 100 starts);

laid out in a 1280x720 window (``explorer.png``, the names README.md shows) and in a 1600x1000
one (``explorer-1600.png``). Streamlit scrolls its main area and sidebar inside the window, so for
the shot the window is made as tall as their content: the images are 1280 and 1600 pixels wide
and as tall as the page.

    python bench/screenshots.py [--out assets] [--only explorer sweep]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

from playwright.sync_api import sync_playwright

from app import lessons
from app.diagnostic_state import BasinState, SweepState
from app.serving import CHROMIUM, CHROMIUM_ARGS, ServerError, app_server
from app.state import AppState, OptimizerEntry

ROOT = Path(__file__).resolve().parent.parent
SIZES = ((1280, 720, ""), (1600, 1000, "-1600"))  # width, height, file-name suffix
TIMEOUT_MS = 120_000  # the first page imports torch; the basin map runs 30 000 starts
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'

_THREE = (
    OptimizerEntry.make("gd", lr=0.01),
    OptimizerEntry.make("momentum", lr=0.01),
    OptimizerEntry.make("adam", lr=0.05),
)
LESSON_SHOTS = ("himmelblau-basins", "lr-diverging", "saddle-escape")
# name -> (page path, link query, key of the chart to wait for)
VIEWS = {
    "explorer": ("", AppState().to_query(), "contour"),
    "explorer-presenter": (
        "",
        {**AppState().to_query(), "present": "1", "theme": "dark"},
        "contour",
    ),
    **{f"lesson-{key}": ("", lessons.get(key).query(), "contour") for key in LESSON_SHOTS},
    **{
        f"lesson-{key}-presenter": (
            "",
            {**lessons.get(key).query(), "present": "1", "theme": "dark"},
            "contour",
        )
        for key in LESSON_SHOTS
    },
    "network": ("network", {"v": "1"}, "plane"),
    "sweep": (
        "sweep",
        SweepState(
            AppState(landscape="quadratic", optimizers=_THREE),
            lr_low=1e-3,
            lr_high=1.0,
            count=100,
        ).to_query(),
        "sweep_chart",
    ),
    "basins": (
        "basins",
        BasinState(
            AppState(
                landscape="himmelblau",
                optimizers=(
                    OptimizerEntry.make("gd", lr=0.01),
                    OptimizerEntry.make("momentum", lr=0.002),
                    OptimizerEntry.make("adam", lr=0.1),
                ),
                steps=300,
            ),
            grid=100,
        ).to_query(),
        "basin_chart",
    ),
}


def next_paint(page) -> None:
    """Two animation frames: the browser has painted what Plotly laid out."""
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")


def whole_page(page, target: Path, width: int, height: int) -> None:
    """Screenshot of the whole page: the window made as tall as the main area's and the
    sidebar's content for the shot, then put back."""
    tall = page.evaluate(
        "() => Math.max(...['stMain', 'stSidebarContent'].map((id) =>"
        " document.querySelector(`[data-testid=${id}]`)?.scrollHeight ?? 0))"
    )
    page.set_viewport_size({"width": width, "height": max(int(tall), height)})
    page.wait_for_function(
        "() => { const m = document.querySelector('[data-testid=stMain]');"
        " return m.scrollHeight <= m.clientHeight + 1; }"
    )
    next_paint(page)
    page.wait_for_timeout(300)  # Plotly relayouts a resized chart after a debounce
    page.screenshot(path=str(target))
    page.set_viewport_size({"width": width, "height": height})


def shoot(base: str, browser, out: Path, names: list[str]) -> list[Path]:
    written = []
    for width, height, suffix in SIZES:
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
        # a first visit at the root: the very first session of a fresh server otherwise shows
        # Streamlit's pages-directory navigation
        page.goto(base)
        page.wait_for_selector(IDLE)
        for name in names:
            path, query, chart = VIEWS[name]
            page.goto(f"{base}/{path}?{urlencode(query, doseq=True)}")
            sel = f'.st-key-{chart}[data-stale="false"] .js-plotly-plot'
            page.wait_for_selector(IDLE)
            page.wait_for_function(
                f"() => {{ const el = document.querySelector({sel!r});"
                " return !!el && Array.isArray(el.calcdata) && el.calcdata.length > 0; }"
            )
            end = page.locator(f".st-key-{chart} .optiscape-player button.end")
            if end.count():  # a view with a player: the race played to its end
                end.click()
                scrub = f".st-key-{chart} .optiscape-player input.scrub"
                page.wait_for_function(
                    f"() => {{ const s = document.querySelector({scrub!r});"
                    " return s && s.value === s.max; }"
                )
                page.wait_for_timeout(300)  # the step reported: the tables follow
                page.wait_for_selector(IDLE)
                page.wait_for_function(
                    f"() => {{ const el = document.querySelector({sel!r});"
                    " return !!el && Array.isArray(el.calcdata) && el.calcdata.length > 0; }"
                )
            next_paint(page)
            if page.locator('[data-testid="stException"]').count() or errors:
                raise RuntimeError(f"{name} at {width}x{height} shows an error: {errors}")
            target = out / f"{name}{suffix}.png"
            whole_page(page, target, width, height)
            written.append(target)
            print(f"{target}  {width}x{height} window  {target.stat().st_size / 1e3:.0f} kB")
        context.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "assets", help="folder for the PNGs")
    parser.add_argument("--only", nargs="+", choices=list(VIEWS), default=list(VIEWS))
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing (apt-get install chromium)", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile() as log:
        try:
            with app_server(log) as base, sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    shoot(base, browser, args.out, args.only)
                finally:
                    browser.close()
        except ServerError as exc:
            print(exc, file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
