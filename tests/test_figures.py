"""Figure builders: what the browser receives (frames, sizes, arrows, click grid, tables, axes).

Runs come from the real engine through ``app.compute`` (its ``st.cache_data`` wrappers work
outside a Streamlit session), so these tests see the containers the page draws.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import math

import numpy as np
import plotly.graph_objects as go
import pytest
from PIL import Image

from app import compute, figures
from app.state import BENCHMARK_OPTIMIZERS, OptimizerEntry

logging.getLogger("streamlit").setLevel(logging.ERROR)  # "no runtime" notes of st.cache_data

STEPS = 500
START = (-1.5, 2.0)


def make_runs(key: str, entries, start=START, steps: int = STEPS) -> list[compute.Run]:
    return compute.runs(key, (), tuple(entries), start, steps, 0)


@pytest.fixture(scope="module")
def surface() -> compute.Surface:
    return compute.surface("rosenbrock")


@pytest.fixture(scope="module")
def runs() -> list[compute.Run]:
    return make_runs("rosenbrock", BENCHMARK_OPTIMIZERS)


@pytest.fixture(scope="module")
def diverging() -> list[compute.Run]:
    return make_runs(
        "rosenbrock", (OptimizerEntry.make("gd", lr=0.05), OptimizerEntry.make("adam", lr=0.1))
    )


@pytest.fixture(scope="module")
def contour(surface, runs) -> go.Figure:
    return figures.contour_figure(surface, runs, STEPS, log_colour=True)


def strict_json(fig: go.Figure) -> dict:
    """The figure's JSON as Streamlit sends it, parsed; NaN or Infinity tokens fail."""

    def reject(token: str) -> None:
        raise AssertionError(f"{token} in the figure JSON")

    return json.loads(fig.to_json(), parse_constant=reject)


def trace_index(fig: go.Figure, name: str) -> int:
    matches = [i for i, t in enumerate(fig.data) if t.name == name]
    assert len(matches) == 1, (name, matches)
    return matches[0]


def points(xs) -> int:
    return 0 if xs is None else len(xs)


# --- animation -----------------------------------------------------------------------------------


def sent_layout(fig: go.Figure) -> go.Layout:
    """The layout as the browser receives it (the player's controls are added when serialised)."""
    return go.Layout(fig.to_dict()["layout"])


def frames_of(fig: go.Figure) -> list[go.Frame]:
    """The animation frames as Plotly objects, with only the traces they change: a frame lists
    every trace (so that plotly.js keeps the static ones clickable after an animation), the
    static ones with empty data."""
    frames = []
    for f in fig.to_dict().get("frames", []):
        assert sorted(f["traces"]) == list(range(len(fig.data)))  # every trace is listed
        pairs = [(i, d) for i, d in zip(f["traces"], f["data"], strict=True) if d]
        frames.append(
            go.Frame(name=f["name"], traces=[i for i, _ in pairs], data=[d for _, d in pairs])
        )
    return frames


def test_frames_are_few_and_carry_only_the_moving_traces(contour, runs) -> None:
    frames = frames_of(contour)
    assert 2 <= len(frames) <= 120
    steps = [int(f.name) for f in frames]
    assert steps == sorted(set(steps)) and steps[0] == 0 and steps[-1] == STEPS
    moving = set(frames[0].traces)
    static = {
        trace_index(contour, figures.CLICK_GRID_NAME),
        *(i for i, t in enumerate(contour.data) if t.mode == "lines" and points(t.x) > 100),
    }
    assert len(static) == 1 + len(runs)  # the click grid and every full path stay out of frames
    assert not moving & static
    # a run's trail and step arrow, or three slots per run for the shared arrows
    budget = max(figures.TAIL + 4, 3 * len(runs))
    sizes = []
    for frame in frames:
        assert set(frame.traces) == moving
        assert len(frame.data) == len(frame.traces)
        assert all(points(d.x) <= budget for d in frame.data)
        sizes.append(sum(points(d.x) for d in frame.data))
    assert max(sizes) <= len(runs) * (figures.TAIL + 4 + 3 * 2 + 1)  # no path grows with steps


def test_frame_count_follows_max_frames_and_keeps_the_shown_step(surface, runs) -> None:
    fig = figures.contour_figure(surface, runs, 123, log_colour=False, max_frames=30)
    names = [f.name for f in frames_of(fig)]
    assert len(names) <= 30 and {"0", "123", str(STEPS)} <= set(names)
    slider = sent_layout(fig).sliders[0]
    assert [s.label for s in slider.steps] == names
    assert names[slider.active] == "123"
    assert [list(s.args[0]) for s in slider.steps] == [[n] for n in names]


def test_frame_steps() -> None:
    assert figures.frame_steps(10, 4, 120) == list(range(11))
    chosen = figures.frame_steps(500, 333, 120)
    assert len(chosen) <= 120 and chosen == sorted(set(chosen))
    assert {0, 333, 500} <= set(chosen)


def test_player_buttons_animate_the_frames_without_redraw(contour) -> None:
    labels = [b.label for menu in sent_layout(contour).updatemenus for b in menu.buttons]
    assert any("Play" in label for label in labels)
    assert any("Pause" in label for label in labels)
    assert any("Reset" in label for label in labels)
    speeds = {label: ms for label, ms in figures.SPEEDS}
    assert set(speeds) <= set(labels)
    for menu in sent_layout(contour).updatemenus:
        for button in menu.buttons:
            assert button.method == "animate"
            frames, options = button.args
            assert options["frame"]["redraw"] is False
            assert options["transition"]["duration"] == 0
            if button.label in speeds:
                assert options["frame"]["duration"] == speeds[button.label]
            if "Reset" in button.label:
                assert list(frames) == ["0"] and options["mode"] == "immediate"


def test_initial_data_shows_the_requested_step(surface, runs) -> None:
    k = 200
    fig = figures.contour_figure(surface, runs, k, log_colour=True)
    frame = next(f for f in frames_of(fig) if f.name == str(k))
    for index, data in zip(frame.traces, frame.data, strict=True):
        assert list(fig.data[index].x) == list(data.x)
    markers = [fig.data[i] for i in frame.traces if fig.data[i].text is not None]
    assert len(markers) == len(runs)
    for run, trace in zip(runs, markers, strict=True):
        assert trace.x[-1] == pytest.approx(run.positions[k, 0], abs=1e-4)
        assert trace.y[-1] == pytest.approx(run.positions[k, 1], abs=1e-4)
        assert f"step {k}" in trace.text[-1] and "effective lr" in trace.text[-1]


# --- surface, size, encoding ---------------------------------------------------------------------


def test_surface_is_a_banded_layout_image_light_at_the_minimum(contour, surface) -> None:
    assert not [t for t in contour.data if t.type in ("contour", "heatmap")]
    image = contour.layout.images[0]
    assert image.xref == "x" and image.yref == "y"
    assert image.sizing == "stretch" and image.layer == "below"
    (x0, x1), (y0, y1) = surface.domain
    assert (image.x, image.y, image.sizex, image.sizey) == (x0, y1, x1 - x0, y1 - y0)
    prefix = "data:image/png;base64,"
    assert image.source.startswith(prefix)
    png = Image.open(io.BytesIO(base64.b64decode(image.source[len(prefix) :]))).convert("L")
    w, h = png.size
    pixels = np.asarray(png, dtype=float)

    def near(x: float, y: float) -> np.ndarray:
        i, j = int((y1 - y) / (y1 - y0) * (h - 1)), int((x - x0) / (x1 - x0) * (w - 1))
        return pixels[max(i - 3, 0) : i + 4, max(j - 3, 0) : j + 4]

    assert near(1.0, 1.0).max() > near(-1.9, -0.9).max() + 50  # light minimum, dark high corner
    assert len(np.unique(pixels)) >= 10  # bands, not a flat fill


def test_default_page_is_small_base64_and_free_of_nan(surface, runs, contour) -> None:
    page = [
        contour,
        figures.surface3d_figure(surface, runs, STEPS, log_colour=True),
        figures.curves_figure(runs, STEPS),
    ]
    sizes = [len(fig.to_json()) for fig in page]
    assert sum(sizes) < 1.5e6, sizes
    for fig in page:
        text = fig.to_json()
        assert '"bdata"' in text  # big arrays travel base64-encoded
        strict_json(fig)


def test_naive_cumulative_frames_grow_with_the_step(surface, runs) -> None:
    fig = figures.naive_cumulative_figure(surface, runs[:2], max_frames=20)
    assert isinstance(fig.frames[0], go.Frame) and fig.data[0].type == "contour"
    first, last = fig.frames[0], fig.frames[-1]
    assert points(first.data[0].x) == 1 and points(last.data[0].x) == STEPS + 1


# --- arrows --------------------------------------------------------------------------------------


def arrow_factor_from_legend(fig: go.Figure) -> float:
    names = [t.name for t in fig.data if t.name and t.name.startswith("actual step")]
    assert len(names) == 1
    return float(names[0].rsplit("×", 1)[1])


def test_update_arrow_is_the_step_times_the_stated_factor(surface, runs) -> None:
    k = 100
    fig = figures.contour_figure(surface, runs, k, log_colour=True)
    factor = arrow_factor_from_legend(fig)
    assert factor == figures.arrow_factor(runs, k, surface.domain)
    diag = math.hypot(*(hi - lo for lo, hi in surface.domain))
    lengths = []
    for run in runs:
        trace = fig.data[
            trace_index(fig, f"{run.label}: last {figures.TAIL} steps and actual step")
        ]
        assert trace.marker.size[-1] > 0 and trace.marker.symbol == "arrow"  # a head at the tip
        (ox, tx), (oy, ty) = trace.x[-2:], trace.y[-2:]
        expected = (run.positions[k + 1] - run.positions[k]) * factor
        if np.hypot(*expected) < figures.MIN_ARROW * diag:  # a converged run: no arrow drawn
            assert ox is None and tx is None
            continue
        drawn = np.array([tx - ox, ty - oy])
        np.testing.assert_allclose(drawn, expected, atol=1e-4)
        np.testing.assert_allclose([ox, oy], run.positions[k], atol=1e-4)
        np.testing.assert_allclose(trace.x[figures.TAIL], run.positions[k, 0], atol=1e-4)
        lengths.append(np.hypot(*drawn))
    gradient = fig.data[trace_index(fig, "gradient step −lr·∇f")]
    for i, run in enumerate(runs):
        tail, tip = 3 * i, 3 * i + 1
        if gradient.x[tip] is not None:
            drawn = np.array(
                [gradient.x[tip] - gradient.x[tail], gradient.y[tip] - gradient.y[tail]]
            )
            shown = -run.lr * run.gradients[k] * factor
            if np.hypot(*shown) <= figures.ARROW_CAP * diag:
                np.testing.assert_allclose(drawn, shown, atol=1e-4)
            lengths.append(np.hypot(*drawn))
    assert 0.08 * diag < max(lengths) < 0.13 * diag  # one common factor: the longest ~12 %


def test_no_arrows_when_switched_off(surface, runs) -> None:
    fig = figures.contour_figure(surface, runs, 50, log_colour=True, arrows=False)
    assert not [t for t in fig.data if t.name and "step" in t.name and "−" in t.name]
    assert len(frames_of(fig)[0].traces) == 2 * len(runs)  # each run's trail and marker


# --- divergence, clicks ----------------------------------------------------------------------


def test_diverging_run_leaves_the_plot_without_nan(surface, diverging) -> None:
    gd = diverging[0]
    assert gd.diverged_at >= 0
    fig = figures.contour_figure(surface, diverging, STEPS, log_colour=True)
    strict_json(fig)
    (x0, x1), (y0, y1) = surface.domain
    assert tuple(fig.layout.xaxis.range) == (x0, x1) and tuple(fig.layout.yaxis.range) == (y0, y1)
    path = next(t for t in fig.data if t.mode == "lines" and t.name == gd.label)
    x, y = np.asarray(path.x), np.asarray(path.y)
    assert np.isfinite(x).all() and np.isfinite(y).all()
    assert ((x < x0) | (x > x1) | (y < y0) | (y > y1)).any()  # never clipped to the plot
    assert any(t.name == f"{gd.label} (diverged at step {gd.diverged_at})" for t in fig.data)
    last = frames_of(fig)[-1]
    marker = next(
        d for i, d in zip(last.traces, last.data, strict=True) if fig.data[i].name == gd.label
    )
    assert all(x is None for x in marker.x)  # nothing to mark once the run has blown up


def test_click_grid_covers_the_domain_invisibly(contour, surface) -> None:
    index = trace_index(contour, figures.CLICK_GRID_NAME)
    grid = contour.data[index]
    hoverable = [i for i, t in enumerate(contour.data) if t.hoverinfo != "skip" and i != index]
    assert index < min(hoverable)  # markers and minima win hover ties (a later trace wins)
    assert grid.legendgroup == figures.CLICK_GRID_NAME and grid.showlegend is False
    assert grid.marker.opacity == 0 and grid.hoverinfo != "skip"
    (x0, x1), (y0, y1) = surface.domain
    assert len(grid.x) >= 900
    assert np.min(grid.x) == pytest.approx(x0) and np.max(grid.x) == pytest.approx(x1)
    assert np.min(grid.y) == pytest.approx(y0) and np.max(grid.y) == pytest.approx(y1)


def test_layout_fixes_scale_and_keeps_zoom(contour, surface) -> None:
    assert contour.layout.yaxis.scaleanchor == "x" and contour.layout.yaxis.scaleratio == 1
    assert contour.layout.uirevision
    assert contour.layout.width and contour.layout.height
    assert contour.layout.font.size >= 16 and contour.layout.legend.font.size >= 16


# --- 3-D, curves, table ----------------------------------------------------------------------


def test_surface3d_is_light_and_finite(surface, diverging) -> None:
    fig = figures.surface3d_figure(surface, diverging, STEPS, log_colour=True)
    mesh = next(t for t in fig.data if t.type == "surface")
    assert np.asarray(mesh.z).dtype == np.float32
    assert max(np.asarray(mesh.z).shape) <= 81
    for trace in fig.data:
        if trace.type == "scatter3d":
            assert np.isfinite(np.asarray(trace.z, dtype=float)).all()
    strict_json(fig)


def test_curves_use_log_axes_for_positive_losses(runs, diverging) -> None:
    fig = figures.curves_figure(runs, 123)
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis2.type == "log"
    assert "log" in fig.layout.yaxis.title.text
    assert [s.x0 for s in fig.layout.shapes] == [123]
    fig = figures.curves_figure(diverging, STEPS)
    strict_json(fig)
    texts = [t.text[0] for t in fig.data if t.text is not None]
    assert f"diverged at step {diverging[0].diverged_at}" in texts


def test_curves_use_a_linear_axis_when_the_loss_goes_negative() -> None:
    runs = make_runs("trap", (OptimizerEntry.make("adam", lr=0.05),), start=(-2.5, 2.5), steps=150)
    assert np.nanmin(runs[0].losses) < 0
    fig = figures.curves_figure(runs, 150)
    assert fig.layout.yaxis.type == "linear" and "linear" in fig.layout.yaxis.title.text
    assert fig.layout.yaxis2.type == "log"


def test_status_rows(surface, runs, diverging) -> None:
    rows = figures.status_rows(runs + diverging[:1], 40, surface.points)
    assert [list(r) for r in rows] == [list(figures.STATUS_COLUMNS)] * len(rows)
    by_label = {r["Optimizer"]: r for r in rows}
    newton = by_label[runs[-1].label]
    assert newton["Minimum"] == "global (1, 1)" and newton["Hessian evals"] == STEPS
    gd = rows[-1]
    assert gd["Status"] == f"diverged at step {diverging[0].diverged_at}"
    assert gd["Final loss"] is None and gd["Distance to minimum"] is None
    adam = by_label[runs[3].label]
    assert adam["Effective lr x"] == pytest.approx(runs[3].effective_lr[40, 0])
    assert adam["Effective lr y"] == pytest.approx(runs[3].effective_lr[40, 1])
    assert adam["f evals"] == runs[3].evaluations["function"]
