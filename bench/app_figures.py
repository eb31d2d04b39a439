"""Explorer page figures against the usual cumulative-frames animation, side by side.

The default scene: Rosenbrock from (-1.5, 2), 500 steps, six optimizers (gd, momentum and
nesterov at lr 1e-3, adam 0.1, rmsprop 0.01, newton 0.5), every view on (2-D contour with arrows
and the player, 3-D surface, curves). For each figure: the build time (median of ``--repeat``),
the time and size of ``fig.to_json()`` (what Streamlit sends: ``st.plotly_chart`` runs
``fig.to_dict()`` then ``plotly.io.to_json(..., validate=False)``, timed too), and the size with
Plotly's plain ``json`` engine. The baseline is ``figures.naive_cumulative_figure``: a contour
trace and one ``go.Frame`` per step carrying every run's whole path so far, as tutorials do; it
is measured with every step as a frame and with 120 frames (our frame budget).

    python bench/app_figures.py [--repeat 5] [--naive-repeat 3]

Runs are computed once through ``app.compute`` (its cache wrappers work outside Streamlit);
only figure building and serialisation are timed. Prints a table and the ratios naive / ours.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from collections.abc import Callable

import plotly
import plotly.graph_objects as go
import plotly.io as pio

from app import compute, figures
from app.state import BENCHMARK_OPTIMIZERS

logging.getLogger("streamlit").setLevel(logging.ERROR)  # "no runtime" notes of st.cache_data

START = (-1.5, 2.0)
STEPS = 500


def median_time(build: Callable[[], go.Figure], repeat: int) -> tuple[float, go.Figure]:
    times, fig = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        fig = build()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), fig


def measure(name: str, build: Callable[[], go.Figure], repeat: int) -> dict:
    build_s, fig = median_time(build, repeat)
    t0 = time.perf_counter()
    text = fig.to_json()
    json_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pio.to_json(fig.to_dict(), validate=False)  # st.plotly_chart's path
    streamlit_s = time.perf_counter() - t0
    plain = len(pio.to_json(fig, engine="json"))
    return {
        "name": name,
        "build": build_s,
        "json_s": json_s,
        "st_s": streamlit_s,
        "bytes": len(text),
        "plain": plain,
        "frames": len(fig.to_dict().get("frames", [])),
    }


def row(m: dict) -> str:
    return (
        f"{m['name']:<28} {m['frames']:>6} {m['build'] * 1e3:>9.0f} {m['json_s'] * 1e3:>9.0f} "
        f"{m['st_s'] * 1e3:>10.0f} {m['bytes'] / 1e3:>11.1f} {m['plain'] / 1e3:>11.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--naive-repeat", type=int, default=3)
    args = parser.parse_args()

    surface = compute.surface("rosenbrock")
    runs = compute.runs("rosenbrock", (), BENCHMARK_OPTIMIZERS, START, STEPS, 0)
    log = surface.log_scale
    print(f"scene: {surface.name}, {len(runs)} optimizers x {STEPS} steps, start {START}")
    print(f"plotly {plotly.__version__}, JSON engine {pio.json.config.default_engine!r}\n")

    ours = [
        measure(
            "contour (ours)",
            lambda: figures.contour_figure(surface, runs, STEPS, log_colour=log),
            args.repeat,
        ),
        measure(
            "3-D surface (ours)",
            lambda: figures.surface3d_figure(surface, runs, STEPS, log_colour=log),
            args.repeat,
        ),
        measure("curves (ours)", lambda: figures.curves_figure(runs, STEPS), args.repeat),
    ]
    naive_all = measure(
        f"naive cumulative, {STEPS + 1} fr",
        lambda: figures.naive_cumulative_figure(surface, runs),
        args.naive_repeat,
    )
    naive_120 = measure(
        "naive cumulative, 120 fr",
        lambda: figures.naive_cumulative_figure(surface, runs, max_frames=120),
        args.naive_repeat,
    )

    header = (
        f"{'figure':<28} {'frames':>6} {'build ms':>9} {'json ms':>9} {'st ms':>10} "
        f"{'to_json kB':>11} {'json-eng kB':>11}"
    )
    print(header)
    print("-" * len(header))
    for m in [*ours, naive_all, naive_120]:
        print(row(m))
    page = {key: sum(m[key] for m in ours) for key in ("build", "json_s", "st_s", "bytes", "plain")}
    print("-" * len(header))
    print(row({"name": "page total (ours)", "frames": ours[0]["frames"], **page}))
    print(f"\npage JSON (contour + 3-D + curves): {page['bytes'] / 1e6:.3f} MB (budget 1.5 MB)")

    contour = ours[0]
    print("\nratios naive / ours (contour figure, the animated one):")
    for naive in (naive_all, naive_120):
        print(
            f"  {naive['name']:<28} bytes x{naive['bytes'] / contour['bytes']:.1f}   "
            f"build x{naive['build'] / contour['build']:.1f}   "
            f"to_json x{naive['json_s'] / contour['json_s']:.1f}   "
            f"Streamlit serialisation x{naive['st_s'] / contour['st_s']:.1f}"
        )
    print("ratios naive / our whole page (contour + 3-D + curves):")
    for naive in (naive_all, naive_120):
        total = naive["build"] + naive["st_s"]
        print(
            f"  {naive['name']:<28} bytes x{naive['bytes'] / page['bytes']:.1f}   "
            f"build + Streamlit serialisation x{total / (page['build'] + page['st_s']):.1f}"
        )


if __name__ == "__main__":
    main()
