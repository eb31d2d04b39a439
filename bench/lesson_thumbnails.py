"""The Lessons page's pictures: each lesson's chart as the app draws it, a small PNG per lesson.

Starts the app on a free port, opens every lesson's link in headless Chromium (Debian's
/usr/bin/chromium, driven by Playwright) at a fixed window size, waits until the page has run
and drawn its chart, screenshots the chart element (the explorer's contour, the network page's
plane) and writes it, scaled to ``--width`` pixels and reduced to a palette, to
``assets/lessons/<lesson-id>.png``. Prints each file with its size.

    python -m bench.lesson_thumbnails [--width 480] [--only lr-diverging ...]

Not run by the test suite (the suite checks that every lesson has its file); run it again when
a lesson or the charts' look changes, and commit the pictures.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time

from PIL import Image
from playwright.sync_api import sync_playwright

from app import lessons
from app.page_links import page_link
from app.serving import CHROMIUM, CHROMIUM_ARGS, app_server

VIEWPORT = {"width": 1400, "height": 1000}
TIMEOUT_MS = 180_000  # a network lesson trains its network on the first load
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
CHART = {  # plotly_view keys
    "views/explorer.py": "contour",
    "views/network.py": "plane",
    "views/deep.py": "deep_chart",
}


PICTURE = {"decision-regions": "regions"}  # a lesson whose picture is another chart of its page


def chart_selector(lesson: lessons.Lesson) -> str:
    return f'.st-key-{PICTURE.get(lesson.id, CHART[lesson.page])}[data-stale="false"]'


def shoot(page, base: str, lesson: lessons.Lesson) -> bytes:
    """The lesson's chart element as a PNG, once the script has finished and Plotly has drawn."""
    page.goto(page_link(base, lesson.url_path, lesson.query()))
    selector = chart_selector(lesson)
    page.wait_for_selector(IDLE)
    page.wait_for_function(
        f"() => {{ const el = document.querySelector({selector + ' .js-plotly-plot'!r});"
        " return !!el && Array.isArray(el.data) && el.data.length > 0"
        " && !!el.querySelector('.main-svg'); }"
    )
    page.wait_for_selector(IDLE)
    # a lesson opens at step 0: its picture is the race run to its end
    player = f".st-key-{CHART[lesson.page]} .optiscape-player"  # stale or not while it reruns
    page.locator(f"{player} button.end").click()
    page.wait_for_function(
        f"() => {{ const s = document.querySelector({player + ' input.scrub'!r});"
        " return !!s && s.value === s.max; }"
    )
    page.wait_for_selector(IDLE)
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.add_style_tag(content=".modebar-container { display: none !important; }")  # no toolbar
    page.mouse.move(0, 0)
    element = page.locator(f"{selector} .js-plotly-plot")
    element.scroll_into_view_if_needed()
    return element.screenshot()


def small_png(png: bytes, width: int) -> bytes:
    """``png`` scaled to ``width`` pixels wide, as an optimized 256-colour PNG."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    height = round(image.height * width / image.width)
    image = image.resize((width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.quantize(256, method=Image.Quantize.FASTOCTREE).save(out, "PNG", optimize=True)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--width", type=int, default=480, help="width of each picture in px")
    parser.add_argument("--only", nargs="*", default=None, help="lesson ids (default: all)")
    args = parser.parse_args(argv)
    chosen = [x for x in lessons.LESSONS if args.only is None or x.id in args.only]
    lessons.THUMBNAILS.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryFile() as log,
        app_server(log, timeout=120) as base,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport=VIEWPORT).new_page()
            page.set_default_timeout(TIMEOUT_MS)
            for lesson in chosen:
                started = time.perf_counter()
                data = small_png(shoot(page, base + "/", lesson), args.width)
                lesson.thumbnail.write_bytes(data)
                print(
                    f"assets/lessons/{lesson.thumbnail.name}: {len(data) / 1024:.0f} KiB "
                    f"({time.perf_counter() - started:.1f} s)",
                    flush=True,
                )
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
