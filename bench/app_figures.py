"""Explorer page figures: build time (cold, one run changed, step changed, unchanged), the JSON
Streamlit sends, and the usual cumulative-frames animation, side by side.

The scene is ``app.benchmark_scene.BENCHMARK_STATE``: Rosenbrock from (-1.5, 2), 500 steps, six
optimizers (gd, momentum and nesterov at lr 1e-3, adam 0.1, rmsprop 0.01, newton 0.5), every
view on (2-D contour with arrows and the player, 3-D surface, curves). For each figure, the
median of ``--repeat`` builds of:

* cold: every cache of ``app.charts`` emptied first (``app.charts.runtime.clear_caches``; the
  surface PNG included);
* 1 run new: one run is a new object (what a learning-rate change hands over: five runs the
  page drew before, one just computed), same step;
* step: a new step with the same runs (the step slider);
* same: the same call again (a rerun where nothing in the scene changed);

then the time of ``fig.to_json()`` and of what ``st.plotly_chart`` runs (``fig.to_dict()``, then
``plotly.io.to_json(..., validate=False)``), and the JSON size. The baseline is
``naive_cumulative_figure`` (``bench/naive_frames.py``): a contour trace and one ``go.Frame`` per
step carrying every run's whole path so far, as tutorials do (the script checks that its frames
grow: one point per path in the first, every step's in the last); it is measured with every step
as a frame and with 120 frames (our frame budget). ``--reference FILE`` also times an
``app/figures.py`` from before the charts moved to ``app/charts/`` (one module with
``contour_figure``, ``surface3d_figure``, ``curves_figure``) on the same machine in the same run.

    python bench/app_figures.py [--repeat 7] [--naive-repeat 3] [--reference old_figures.py]

Runs are computed once through ``app.compute`` (its cache wrappers work outside Streamlit);
only figure building and serialisation are timed. The machine's load shows in every number:
compare the columns of one run, not runs on different days.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import logging
import statistics
import sys
import time
from collections.abc import Callable
from types import ModuleType, SimpleNamespace
from typing import Any

import plotly
import plotly.io as pio
from naive_frames import frame_points, naive_cumulative_figure  # bench/naive_frames.py

from app import compute
from app.benchmark_scene import BENCHMARK_STATE
from app.charts import contour, explorer, runtime

logging.getLogger("streamlit").setLevel(logging.ERROR)  # "no runtime" notes of st.cache_data


# this tree's builders, as the one module (``app/figures.py``) that a reference version is
OURS = SimpleNamespace(
    contour_figure=contour.contour_figure,
    surface3d_figure=explorer.surface3d_figure,
    curves_figure=explorer.curves_figure,
    clear_caches=runtime.clear_caches,
)


def median_ms(build: Callable[[int], Any], repeat: int, before: Callable[[], None]) -> float:
    times = []
    for i in range(repeat):
        before()
        t0 = time.perf_counter()
        build(i)
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def serialise(fig: Any) -> dict[str, float]:
    t0 = time.perf_counter()
    text = fig.to_json()
    json_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pio.to_json(fig.to_dict(), validate=False)  # st.plotly_chart's path
    st_s = time.perf_counter() - t0
    frames = len(fig.to_dict().get("frames", []))
    return {"json": json_s * 1e3, "st": st_s * 1e3, "kB": len(text) / 1e3, "frames": frames}


def nothing() -> None:
    pass


def measure(
    module: Any, name: str, view: str, surface: Any, runs: list, repeat: int
) -> dict[str, Any]:
    """Times of one builder of ``module`` (``view``: contour, surface3d or curves)."""
    steps = len(runs[0].losses) - 1
    log = surface.log_scale

    def build(step: int, chosen: list) -> Any:
        if view == "contour":
            return module.contour_figure(surface, chosen, step, log_colour=log)
        if view == "surface3d":
            return module.surface3d_figure(surface, chosen, step, log_colour=log)
        return module.curves_figure(chosen, step)

    clear = getattr(module, "clear_caches", None) or (lambda: module._surface_image.cache_clear())
    row: dict[str, Any] = {"name": name}
    row["cold"] = median_ms(lambda i: build(steps, runs), repeat, clear)
    build(steps, runs)

    def one_new(i: int) -> Any:  # a learning-rate change: one new run object, the rest drawn
        fresh = dataclasses.replace(runs[i % len(runs)])
        return build(steps, [fresh if r is runs[i % len(runs)] else r for r in runs])

    row["new run"] = median_ms(one_new, repeat, nothing)
    row["step"] = median_ms(lambda i: build(steps - 1 - i, runs), repeat, nothing)
    build(steps, runs)
    row["same"] = median_ms(lambda i: build(steps, runs), repeat, nothing)
    row.update(serialise(build(steps, runs)))
    return row


def load(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location("app._reference_figures", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


HEADER = (
    f"{'figure':<30} {'frames':>6} {'cold ms':>8} {'1 new ms':>9} {'step ms':>8} "
    f"{'same ms':>8} {'json ms':>8} {'st ms':>7} {'JSON kB':>8}"
)


def line(m: dict[str, Any]) -> str:
    def ms(key: str) -> str:
        value = m.get(key)
        return "-" if value is None else f"{value:.2f}" if value < 10 else f"{value:.0f}"

    return (
        f"{m['name']:<30} {m['frames']:>6} {ms('cold'):>8} {ms('new run'):>9} {ms('step'):>8} "
        f"{ms('same'):>8} {ms('json'):>8} {ms('st'):>7} {m['kB']:>8.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--naive-repeat", type=int, default=3)
    parser.add_argument(
        "--reference", help="an app/figures.py of an earlier commit to time alongside"
    )
    args = parser.parse_args()

    s = BENCHMARK_STATE
    surface = compute.surface(s.landscape, s.landscape_params)
    runs = compute.runs(
        s.landscape, s.landscape_params, s.optimizers, s.start_point(), s.steps, s.seed
    )
    print(
        f"scene: {surface.name}, {len(runs)} optimizers x {s.steps} steps, start {s.start_point()}"
    )
    print(f"plotly {plotly.__version__}, JSON engine {pio.json.config.default_engine!r}\n")

    versions: list[tuple[str, Any]] = [("ours", OURS)]
    if args.reference:
        versions.append(("reference", load(args.reference)))
    pages = {}
    print(HEADER)
    print("-" * len(HEADER))
    for label, module in versions:
        rows = [
            measure(module, f"{view} ({label})", view, surface, runs, args.repeat)
            for view in ("contour", "surface3d", "curves")
        ]
        for m in rows:
            print(line(m))
        total = {
            key: sum(m[key] for m in rows)
            for key in ("cold", "new run", "step", "same", "json", "st", "kB")
        }
        pages[label] = {"name": f"page total ({label})", "frames": rows[0]["frames"], **total}
        print(line(pages[label]))
        print("-" * len(HEADER))

    naive = []
    for name, max_frames in ((f"naive cumulative, {s.steps + 1} fr", None), ("naive, 120 fr", 120)):
        build_ms = median_ms(
            lambda i, mf=max_frames: naive_cumulative_figure(surface, runs, mf),
            args.naive_repeat,
            nothing,
        )
        fig = naive_cumulative_figure(surface, runs, max_frames)
        first, last = frame_points(fig)
        assert first == 1 and last == s.steps + 1, (first, last)  # the frames grow with the step
        naive.append({"name": name, "cold": build_ms, **serialise(fig)})
        print(line(naive[-1]))

    ours = pages["ours"]
    print(f"\npage JSON (contour + 3-D + curves): {ours['kB'] / 1e3:.3f} MB (budget 1.5 MB)")
    if "reference" in pages:
        ref = pages["reference"]
        print("\nratios reference / ours, whole page (build):")
        for key in ("cold", "new run", "step", "same"):
            print(f"  {key:<8} x{ref[key] / max(ours[key], 1e-6):.1f}")
    print("\nratios naive / our whole page (a fresh page: cold build + Streamlit serialisation):")
    for m in naive:
        total = m["cold"] + m["st"]
        print(
            f"  {m['name']:<30} bytes x{m['kB'] / ours['kB']:.1f}   "
            f"build + serialisation x{total / (ours['cold'] + ours['st']):.1f}"
        )


if __name__ == "__main__":
    main()
