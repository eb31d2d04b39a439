"""Server-side script run time of the explorer page, with warm caches (Streamlit's AppTest).

The scene is the default one widened to six optimizers x 500 steps on Rosenbrock, all views on,
with Adam's editor open (as it is while its controls are moved; a closed editor draws no widgets).
After a warm-up run it times reruns after (a) moving Adam's learning rate to the next value on
its slider and (b) to a far value on it: after drawing a scene, the page computes every value of
every learning-rate slider in the background (``compute.prefetch``; the bench waits for it
before the next change, and reports how long it took after each first visit); (c) changing
Adam's beta1, which must compute its runs (the shown one and its slider's); (d) changing the
landscape of the default scene to one not seen yet, and (e) back to one seen before; (f) a
rerun with nothing changed; and compares with (g) a far lr change when every run is recomputed
(caches cleared), the cost of not caching per optimizer.

    python bench/app_server.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

from app import compute
from app.benchmark_scene import BENCHMARK_STATE

APP = str(Path(__file__).resolve().parent.parent / "app" / "main.py")
SCENE = BENCHMARK_STATE.to_query()
# values on the learning-rate slider's grid (8 per decade): neighbours in turn, and far jumps
NEAR = [0.075, 0.0562, 0.0422, 0.0316, 0.0237, 0.0178, 0.0133, 0.01]
FAR = [0.001, 0.316, 0.00237, 0.75, 0.00562, 0.178, 0.000133, 0.422]
BETA1 = [0.8, 0.85, 0.7, 0.95, 0.6, 0.75, 0.5, 0.88]  # Adam's beta1: each a new run
FIRST_VISITS = ["himmelblau", "beale", "booth", "three_hump_camel", "matyas", "sphere"]


def timed_run(at: AppTest) -> float:
    """Seconds the page's own script took (it reports them in its last caption); AppTest's
    wall time, which adds its own work on the element tree, is kept in ``harness``. The
    background prefetch the page starts (``compute.prefetch``) is then waited for, as a
    student's next move comes later than it takes; its time is kept in ``background``."""
    t = time.perf_counter()
    at.run()
    harness.append(time.perf_counter() - t)
    assert not at.exception, [e.message for e in at.exception]
    caption = next(c.value for c in at.caption if c.value.startswith("Page computed in"))
    t = time.perf_counter()
    compute.wait_for_prefetch()
    background.append(time.perf_counter() - t)
    return float(caption.split()[3]) / 1000


harness: list[float] = []
background: list[float] = []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    at = AppTest.from_file(APP, default_timeout=300)
    for key, value in SCENE.items():
        at.query_params[key] = value
    first = timed_run(at)
    # Adam's editor open, as it is in the browser while its controls are moved: an open editor
    # draws its widgets, a closed one does not
    at.session_state["opt3_editor_open"] = True
    timed_run(at)  # settle widget state

    nothing = [timed_run(at) for _ in range(args.repeat)]

    def change_lr(values: list[float]) -> list[float]:
        times = []
        for value in values[: args.repeat]:
            at.select_slider(key="opt3_lr").set_value(value)  # Adam's learning rate
            times.append(timed_run(at))
            contour = json.loads(at.get("bidi_component")[0].proto.bytes)  # Adam's label there
            table = contour["layout"]["meta"]["player"]["table"]
            assert f"lr={value:g}" in table["rows"][0][3][0], "the change did not apply"
        return times

    def change_beta1(values: list[float]) -> list[float]:
        times = []
        for value in values[: args.repeat]:
            at.number_input(key="opt3_beta1").set_value(value)
            times.append(timed_run(at))
            assert at.number_input(key="opt3_beta1").value == value, "the change did not apply"
        return times

    first_visits, revisits, prefetches = [], [], []  # from the default scene: its lrs
    for key in FIRST_VISITS[: args.repeat]:
        at.selectbox(key="landscape").set_value(key)
        first_visits.append(timed_run(at))
        prefetches.append(background[-1])
        at.selectbox(key="landscape").set_value("rosenbrock")
        revisits.append(timed_run(at))
    near = change_lr(NEAR)
    far = change_lr(FAR)
    beta1 = change_beta1(BETA1)
    uncached = []
    for value in reversed(FAR[: args.repeat]):
        st.cache_data.clear()
        st.cache_resource.clear()
        at.select_slider(key="opt3_lr").set_value(value)
        uncached.append(timed_run(at))

    def show(name: str, values: list[float]) -> float:
        median = statistics.median(values)
        print(
            f"{name:44s} median {median * 1000:7.1f} ms   (runs: {', '.join(f'{v * 1000:.0f}' for v in values)})"
        )
        return median

    print("explorer page, 6 optimizers x 500 steps on Rosenbrock, contour + 3-D + curves + table")
    print(f"first run (imports, cold caches): {first * 1000:.0f} ms")
    rerun = show("rerun, nothing changed", nothing)
    near_med = show("Adam's lr to the next slider value (ready)", near)
    far_med = show("Adam's lr to a far slider value (ready)", far)
    computed = show("Adam's beta1 changed (its runs computed)", beta1)
    land_med = show("landscape changed, first visit", first_visits)
    show("landscape changed back (seen before)", revisits)
    show("... then, in the background: every slider's runs", prefetches)
    cold = show("far lr change, all runs recomputed", uncached)
    print(
        f"(AppTest's wall time per run, with its own element-tree work: median "
        f"{statistics.median(harness) * 1000:.0f} ms)"
    )
    print(
        f"per-optimizer caching saves {cold / computed:.1f}x on a change that computes one "
        f"optimizer's runs; targets: lr change <= 150 ms (next value {near_med * 1000:.0f}, far "
        f"value {far_med * 1000:.0f}; beta1 changed {computed * 1000:.0f}), landscape <= 500 "
        f"ms (first visits: median {land_med * 1000:.0f}, max {max(first_visits) * 1000:.0f}); "
        f"figure building and page overhead alone: {rerun * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
