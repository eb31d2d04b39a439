"""Figure builders: what the browser receives (frames, sizes, arrows, click grid, tables, axes).

Runs come from the real engine through ``app.compute`` (its ``st.cache_data`` wrappers work
outside a Streamlit session), so these tests see the containers the page draws.
"""

from __future__ import annotations

import base64
import dataclasses
import gc
import io
import json
import logging
import math
import weakref

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import plotly.tools
import pytest
from PIL import Image

from app import compute, lessons
from app.benchmark_scene import BENCHMARK_OPTIMIZERS
from app.charts import contour as contour_chart
from app.charts import explorer, runtime, style
from app.charts import paths as paths_chart
from app.charts import player as player_chart
from app.charts import status as status_chart
from app.charts import surface as surface_chart
from app.state import OptimizerEntry
from app.surfaces import landscape_for

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
def contour(surface, runs) -> runtime.RawFigure:
    return contour_chart.contour_figure(surface, runs, STEPS, log_colour=True)


@pytest.fixture(scope="module")
def contour_go(contour) -> go.Figure:
    """The contour figure validated into Plotly's objects, to read its traces and layout."""
    return contour.validated()


def strict_json(fig: go.Figure) -> dict:
    """The figure's JSON as Streamlit sends it, parsed; NaN or Infinity tokens fail."""

    def reject(token: str) -> None:
        raise AssertionError(f"{token} in the figure JSON")

    return json.loads(fig.to_json(), parse_constant=reject)


def trace_index(fig: go.Figure, name: str) -> int:
    matches = [i for i, t in enumerate(fig.data) if t.name == name]
    assert len(matches) == 1, (name, matches)
    return matches[0]


def decode(spec) -> np.ndarray:
    """A trace array as the browser gets it: Plotly's base64 typed-array spec, or a list."""
    if isinstance(spec, dict):
        return np.frombuffer(base64.b64decode(spec["bdata"]), dtype=np.dtype(spec["dtype"]))
    return np.asarray(spec, dtype=np.float64)


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
    sent = fig.to_dict()
    for f in sent.get("frames", []):
        assert sorted(f["traces"]) == list(range(len(sent["data"])))  # every trace is listed
        pairs = [(i, d) for i, d in zip(f["traces"], f["data"], strict=True) if d]
        frames.append(
            go.Frame(name=f["name"], traces=[i for i, _ in pairs], data=[d for _, d in pairs])
        )
    return frames


def test_frames_are_few_and_carry_only_the_moving_traces(contour, contour_go, runs) -> None:
    frames = frames_of(contour)
    assert 2 <= len(frames) <= player_chart.MAX_FRAMES
    steps = [int(f.name) for f in frames]
    assert steps == sorted(set(steps)) and steps[0] == 0 and steps[-1] == STEPS
    moving = set(frames[0].traces)
    static = {
        trace_index(contour_go, contour_chart.CLICK_GRID_NAME),
        *(i for i, t in enumerate(contour_go.data) if t.mode == "lines" and points(t.x) > 100),
    }
    assert len(static) == 1 + len(runs)  # the click grid and every full path stay out of frames
    assert not moving & static
    # a run's trail and step arrow, three slots per run for the shared arrows, six for the boxes
    budget = max(paths_chart.TAIL + 4, 6 * len(runs))
    sizes = []
    for frame in frames:
        assert set(frame.traces) == moving
        assert len(frame.data) == len(frame.traces)
        assert all(points(d.x) <= budget for d in frame.data)
        sizes.append(sum(points(d.x) for d in frame.data))
    assert max(sizes) <= len(runs) * (paths_chart.TAIL + 4 + 3 * 2 + 6 + 1)  # no path grows


def test_frame_count_follows_max_frames_and_keeps_the_shown_step(surface, runs) -> None:
    fig = contour_chart.contour_figure(surface, runs, 123, log_colour=False, max_frames=30)
    names = [f.name for f in frames_of(fig)]
    assert len(names) <= 30 and {"0", "123", str(STEPS)} <= set(names)
    player = fig.to_dict()["layout"]["meta"]["player"]
    assert player["step"] == 123 and player["total"] == STEPS


def test_frame_steps() -> None:
    assert player_chart.frame_steps(10, 4, 120) == list(range(11))
    chosen = player_chart.frame_steps(500, 333, 120)
    assert len(chosen) <= 120 and chosen == sorted(set(chosen))
    assert {0, 333, 500} <= set(chosen)


def test_the_player_holds_every_path_whole_for_the_browser_to_cut(surface, runs, contour) -> None:
    """The player (app.plotly_view) draws path trace i up to the shown step: the trace holds
    one point per step, the run's position where drawable, a gap where not."""
    sent = contour.to_dict()
    player = sent["layout"]["meta"]["player"]
    assert player["total"] == STEPS and [ms for _, ms in player["speeds"]] == [
        ms for _, ms in player_chart.SPEEDS
    ]
    assert len(player["paths"]) == len(runs)
    for index, run in zip(player["paths"], runs, strict=True):
        trace = sent["data"][index]
        x = decode(trace["x"])
        y = decode(trace["y"])
        assert len(x) == len(run.positions) == STEPS + 1
        finite = np.isfinite(run.positions).all(axis=1)
        np.testing.assert_allclose(x[finite], run.positions[finite, 0], rtol=1e-6)
        np.testing.assert_allclose(y[finite], run.positions[finite, 1], rtol=1e-6)
    assert "updatemenus" not in sent["layout"] and "sliders" not in sent["layout"]


def test_the_legend_tells_a_run_s_state_only_once_the_step_gets_there(surface, diverging) -> None:
    gd, adam = diverging
    assert gd.diverged_at > 0
    names = player_chart.legend_timeline(gd, STEPS)
    assert player_chart.name_at(names, gd.diverged_at - 1) == gd.label
    assert (
        player_chart.name_at(names, gd.diverged_at)
        == f"{gd.label}: diverged at step {gd.diverged_at}"
    )
    names = player_chart.legend_timeline(adam, STEPS)
    assert player_chart.name_at(names, STEPS - 1) == adam.label
    assert player_chart.name_at(names, STEPS) == f"{adam.label}: {adam.status}"
    fig = contour_chart.contour_figure(surface, diverging, 0, log_colour=True).to_dict()
    shown = [t["name"] for t in fig["data"] if t.get("legendrank") in (1, 2)]
    assert shown == [gd.label, adam.label]  # at step 0 nothing is told


def test_initial_data_shows_the_requested_step(surface, runs) -> None:
    k = 200
    raw = contour_chart.contour_figure(surface, runs, k, log_colour=True)
    fig = raw.validated()
    frame = next(f for f in frames_of(raw) if f.name == str(k))
    for index, data in zip(frame.traces, frame.data, strict=True):
        assert list(fig.data[index].x) == list(data.x)
    markers = [fig.data[i] for i in frame.traces if fig.data[i].text is not None]
    assert len(markers) == len(runs)
    for run, trace in zip(runs, markers, strict=True):
        assert trace.x[-1] == pytest.approx(run.positions[k, 0], abs=1e-4)
        assert trace.y[-1] == pytest.approx(run.positions[k, 1], abs=1e-4)
        assert f"step {k}" in trace.text[-1] and "effective lr" in trace.text[-1]


# --- surface, size, encoding ---------------------------------------------------------------------


def test_surface_is_a_banded_layout_image_light_at_the_minimum(contour_go, surface) -> None:
    assert not [t for t in contour_go.data if t.type in ("contour", "heatmap")]
    image = contour_go.layout.images[0]
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
        explorer.surface3d_figure(surface, runs, STEPS, log_colour=True),
        explorer.curves_figure(runs, STEPS),
    ]
    sizes = [len(fig.to_json()) for fig in page]
    assert sum(sizes) < 1.5e6, sizes
    for fig in page:
        text = fig.to_json()
        assert '"bdata"' in text  # big arrays travel base64-encoded
        strict_json(fig)


# --- arrows --------------------------------------------------------------------------------------


def arrow_factor_from_legend(fig: go.Figure) -> float:
    names = [t.name for t in fig.data if t.name and t.name.startswith("actual step")]
    assert len(names) == 1
    return float(names[0].rsplit("×", 1)[1])


def test_update_arrow_is_the_step_times_the_stated_factor(surface, runs) -> None:
    k = 100
    fig = contour_chart.contour_figure(surface, runs, k, log_colour=True).validated()
    factor = arrow_factor_from_legend(fig)
    assert factor == paths_chart.arrow_factor(runs, k, surface.domain)
    diag = math.hypot(*(hi - lo for lo, hi in surface.domain))
    lengths = []
    for run in runs:
        trace = fig.data[
            trace_index(fig, f"{run.label}: last {paths_chart.TAIL} steps and actual step")
        ]
        assert trace.marker.size[-1] > 0 and trace.marker.symbol == "arrow"  # a head at the tip
        (ox, tx), (oy, ty) = trace.x[-2:], trace.y[-2:]
        expected = (run.positions[k + 1] - run.positions[k]) * factor
        if np.hypot(*expected) < paths_chart.MIN_ARROW * diag:  # a converged run: no arrow drawn
            assert ox is None and tx is None
            continue
        drawn = np.array([tx - ox, ty - oy])
        np.testing.assert_allclose(drawn, expected, atol=1e-4)
        np.testing.assert_allclose([ox, oy], run.positions[k], atol=1e-4)
        np.testing.assert_allclose(trace.x[paths_chart.TAIL], run.positions[k, 0], atol=1e-4)
        lengths.append(np.hypot(*drawn))
    gradient = fig.data[trace_index(fig, "gradient step −lr·∇f")]
    for i, run in enumerate(runs):
        tail, tip = 3 * i, 3 * i + 1
        if gradient.x[tip] is not None:
            drawn = np.array(
                [gradient.x[tip] - gradient.x[tail], gradient.y[tip] - gradient.y[tail]]
            )
            shown = -run.lr * run.gradients[k] * factor
            if np.hypot(*shown) <= paths_chart.ARROW_CAP * diag:
                np.testing.assert_allclose(drawn, shown, atol=1e-4)
            lengths.append(np.hypot(*drawn))
    assert 0.08 * diag < max(lengths) < 0.13 * diag  # one common factor: the longest ~12 %


def test_no_arrows_when_switched_off(surface, runs) -> None:
    fig = contour_chart.contour_figure(surface, runs, 50, log_colour=True, arrows=False)
    shown = fig.validated()
    assert not [t for t in shown.data if t.name and "step" in t.name and "−" in t.name]
    assert len(frames_of(fig)[0].traces) == 2 * len(runs)  # each run's trail and marker


# --- divergence, clicks ----------------------------------------------------------------------


def test_diverging_run_leaves_the_plot_without_nan(surface, diverging) -> None:
    gd = diverging[0]
    assert gd.diverged_at >= 0
    raw = contour_chart.contour_figure(surface, diverging, STEPS, log_colour=True)
    strict_json(raw)
    fig = raw.validated()
    (x0, x1), (y0, y1) = surface.domain
    assert tuple(fig.layout.xaxis.range) == (x0, x1) and tuple(fig.layout.yaxis.range) == (y0, y1)
    path = next(t for t in fig.data if t.mode == "lines" and t.name == gd.label)
    x, y = np.asarray(path.x), np.asarray(path.y)
    assert len(x) == STEPS + 1  # one point per step; beyond drawing (inf, NaN, far): a gap
    drawn = np.isfinite(x) & np.isfinite(y)
    assert drawn[: gd.diverged_at].all() and not drawn[-1]
    x, y = x[drawn], y[drawn]
    assert ((x < x0) | (x > x1) | (y < y0) | (y > y1)).any()  # never clipped to the plot
    told = f"{gd.label}{contour_chart.LEGEND_SEP}diverged at step {gd.diverged_at}"
    assert any(t.name == told for t in fig.data)
    last = frames_of(raw)[-1]
    marker = next(
        d for i, d in zip(last.traces, last.data, strict=True) if fig.data[i].name == gd.label
    )
    assert all(x is None for x in marker.x)  # nothing to mark once the run has blown up


def test_click_grid_covers_the_domain_invisibly(contour_go, surface) -> None:
    index = trace_index(contour_go, contour_chart.CLICK_GRID_NAME)
    grid = contour_go.data[index]
    hoverable = [i for i, t in enumerate(contour_go.data) if t.hoverinfo != "skip" and i != index]
    assert index < min(hoverable)  # markers and minima win hover ties (a later trace wins)
    assert grid.legendgroup == contour_chart.CLICK_GRID_NAME and grid.showlegend is False
    assert grid.marker.opacity == 0 and grid.hoverinfo != "skip"
    (x0, x1), (y0, y1) = surface.domain
    # neighbouring points about the spacing apart on screen (they sit on surface grid nodes, so
    # a gap may be one node wider): a click lands within about half of it
    plot_w, plot_h = style.plot_area(surface.domain, style.PLOT_SIZE)
    for values, nodes, (lo, hi), px in (
        (grid.x, surface.xs, (x0, x1), plot_w),
        (grid.y, surface.ys, (y0, y1), plot_h),
    ):
        gaps = np.diff(np.unique(values)) * px / (hi - lo)
        assert gaps.max() <= contour_chart.CLICK_GRID_SPACING + 1.01 * px / (nodes.size - 1)
    assert np.min(grid.x) == pytest.approx(x0) and np.max(grid.x) == pytest.approx(x1)
    assert np.min(grid.y) == pytest.approx(y0) and np.max(grid.y) == pytest.approx(y1)


def test_layout_fixes_scale_and_keeps_zoom(contour_go) -> None:
    layout = contour_go.layout
    assert layout.yaxis.scaleanchor == "x" and layout.yaxis.scaleratio == 1
    assert layout.uirevision
    assert layout.width and layout.height
    assert layout.font.size >= 16 and layout.legend.font.size >= 16


# --- 3-D, curves, table ----------------------------------------------------------------------


def test_surface3d_is_light_and_finite(surface, diverging) -> None:
    raw = explorer.surface3d_figure(surface, diverging, STEPS, log_colour=True)
    fig = raw.validated()
    mesh = next(t for t in fig.data if t.type == "surface")
    assert np.asarray(mesh.z).dtype == np.float32
    assert max(np.asarray(mesh.z).shape) <= 81
    for trace in fig.data:
        if trace.type == "scatter3d":
            assert np.isfinite(np.asarray(trace.z, dtype=float)).all()
    strict_json(raw)
    scene = fig.layout.scene  # few labels, no overlap; room for the titles
    assert 2 <= len(scene.zaxis.tickvals) <= 3 and len(set(scene.zaxis.ticktext)) == len(
        scene.zaxis.tickvals
    )
    # x and y without numbers: they overlapped at the near corner (the contour has them)
    assert scene.xaxis.showticklabels is False and scene.yaxis.showticklabels is False
    assert scene.domain.x[0] >= 0.05  # room on the left for the z labels
    assert min(fig.layout.margin.l, fig.layout.margin.r, fig.layout.margin.b) >= 10


def test_curves_use_log_axes_for_positive_losses(runs, diverging) -> None:
    fig = explorer.curves_figure(runs, 123).validated()
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis2.type == "log"
    assert "log" in fig.layout.yaxis.title.text
    assert [s.x0 for s in fig.layout.shapes] == [123]
    raw = explorer.curves_figure(diverging, STEPS)
    strict_json(raw)
    fig = raw.validated()
    texts = [t.text[0] for t in fig.data if t.text is not None]
    assert f"diverged at step {diverging[0].diverged_at}" in texts


def test_a_lone_diverging_run_climbs_in_view_with_numbered_axes() -> None:
    state = lessons.get("lr-diverging").state
    start = state.start or landscape_for(state.landscape, state.landscape_params).start
    runs = compute.runs(
        state.landscape, state.landscape_params, state.optimizers, start, state.steps, state.seed
    )
    (run,) = runs
    assert run.diverged_at > 0
    raw = explorer.curves_figure(runs, 0)
    strict_json(raw)
    fig = raw.validated()
    lo, hi = fig.layout.yaxis.range
    losses = np.asarray(run.losses, dtype=float)
    finite = losses[np.isfinite(losses)]
    assert hi - lo <= 16 and hi < 300  # not blown up by the last finite values
    # the climb is in view: the loss rises at least 3 decades inside the plot before leaving it
    in_view = finite[np.log10(finite) <= hi]
    assert np.log10(in_view.max()) - np.log10(finite[0]) >= 3
    for axis in (fig.layout.yaxis, fig.layout.yaxis2):
        vals = list(axis.tickvals)
        assert len(vals) >= 2
        assert len(set(axis.ticktext)) == len(vals)
        digits = {t.split("×")[0].replace("10", "").strip("0.⁻⁰¹²³⁴⁵⁶⁷⁸⁹") for t in axis.ticktext}
        assert digits <= {"", "1", "2", "5"}, axis.ticktext  # decades or 1-2-5: no 3 ... 9
    ticks_in_view = [v for v in fig.layout.yaxis.tickvals if lo <= np.log10(v) <= hi]
    assert len(ticks_in_view) >= 2
    mark = [s for s in fig.layout.shapes if s.x0 == run.diverged_at]
    assert mark and mark[0].yref == "y domain"


def test_curves_use_a_linear_axis_when_the_loss_goes_negative() -> None:
    runs = make_runs("trap", (OptimizerEntry.make("adam", lr=0.05),), start=(-2.5, 2.5), steps=150)
    assert np.nanmin(runs[0].losses) < 0
    fig = explorer.curves_figure(runs, 150).validated()
    assert fig.layout.yaxis.type == "linear" and "linear" in fig.layout.yaxis.title.text
    assert fig.layout.yaxis2.type == "log"


def test_status_rows_at_the_end_tell_the_diagnosis(surface, runs, diverging) -> None:
    rows = status_chart.status_rows(runs + diverging[:1], STEPS, surface.points, STEPS)
    assert [list(r) for r in rows] == [list(status_chart.STATUS_COLUMNS)] * len(rows)
    by_label = {r["Optimizer"]: r for r in rows}
    newton = by_label[runs[-1].label]
    assert newton["Status"] == "converged: global (1.00, 1.00)"
    assert newton["f / ∇f / H evals"].endswith(f" / {STEPS}")
    assert newton["Loss"] == style.number_text(runs[-1].losses[-1], 4)
    gd = rows[-1]
    k = diverging[0].diverged_at
    assert gd["Status"] == gd["Loss"] == gd["Distance to minimum"] == f"diverged at step {k}"
    adam = by_label[runs[3].label]
    ev = runs[3].evaluations
    assert adam["f / ∇f / H evals"] == f"{ev.get('function', 0)} / {ev['gradient']} / 0"
    assert set(status_chart.STATUS_WIDTHS) == set(status_chart.STATUS_COLUMNS)
    for row in rows:  # every cell is readable text: no None, nan or Infinity
        for value in row.values():
            assert isinstance(value, str) and value
            assert not any(bad in value for bad in ("None", "nan", "inf", "Infinity"))


def test_status_rows_before_the_end_tell_the_state_at_the_step(surface, runs, diverging) -> None:
    """At step 40 of 500 nothing of the end is told: the loss at step 40, "running", or
    "diverged at step k" once the step has reached k, and not before."""
    gd = diverging[0]
    k = gd.diverged_at
    assert 0 < k < STEPS
    rows = status_chart.status_rows(runs, 40, surface.points, STEPS)
    for run, row in zip(runs, rows, strict=True):
        assert row["Loss"] == style.number_text(run.losses[40], 4)
        assert row["Status"] == status_chart.RUNNING
        assert row["Detail"] == row["Distance to minimum"] == row["f / ∇f / H evals"] == "—"
    adam = rows[3]
    lr = runs[3].effective_lr[40]
    assert adam["Effective lr (x, y)"] == f"({lr[0]:.3g}, {lr[1]:.3g})"
    before = status_chart.status_rows([gd], k - 1, surface.points, STEPS)[0]
    assert before["Status"] == status_chart.RUNNING
    assert before["Loss"] == style.number_text(gd.losses[k - 1], 4)
    at = status_chart.status_rows([gd], k, surface.points, STEPS)[0]
    assert at["Status"] == at["Loss"] == f"diverged at step {k}"


def test_the_contour_player_carries_the_status_table_of_each_of_its_steps(surface, runs) -> None:
    fig = contour_chart.contour_figure(surface, runs, 120, log_colour=True)
    table = fig.figure["layout"]["meta"]["player"]["table"]
    steps = contour_chart.player_steps(fig)
    assert table["steps"] == steps and 120 in steps and steps[-1] == STEPS
    assert table["columns"] == list(status_chart.STATUS_COLUMNS)
    assert table["colours"] == [style.colour(i) for i in range(len(runs))]
    for step, rows in zip(steps, table["rows"], strict=True):
        expected = status_chart.status_rows(runs, step, surface.points, STEPS)
        assert rows == [list(r.values()) for r in expected]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "—"),
        (math.nan, "—"),
        (math.inf, "∞"),
        (-math.inf, "−∞"),
        (-0.0, "0"),
        (0.012345, "0.0123"),
        (123456.0, "1.23e+05"),
    ],
)
def test_number_text(value, text) -> None:
    assert style.number_text(value) == text


def test_position_text() -> None:
    assert style.position_text(1.0, 1.0) == "(1.00, 1.00)"
    assert style.position_text(-0.9441, -0.0) == "(-0.944, 0.00)"
    assert style.position_text(math.nan, math.inf) == "(—, ∞)"


# --- raw figures: what is sent is what Plotly validates --------------------------------------------


def without_frame_types(sent: dict, validated: dict) -> dict:
    """``validated`` with the ``type`` Plotly fills into frame data removed where the sent frame
    data has none (a frame's ``{}`` for a static trace becomes ``{"type": "scatter"}``)."""
    for raw, checked in zip(sent.get("frames", []), validated.get("frames", []), strict=True):
        for d_raw, d_checked in zip(raw["data"], checked["data"], strict=True):
            if "type" not in d_raw:
                d_checked.pop("type", None)
    return validated


def builders(surface, runs) -> dict:
    return {
        "contour": lambda: contour_chart.contour_figure(surface, runs, STEPS // 3, log_colour=True),
        "contour, linear, no arrows": lambda: contour_chart.contour_figure(
            surface, runs, STEPS, log_colour=False, arrows=False, max_frames=30
        ),
        "3-D": lambda: explorer.surface3d_figure(surface, runs, STEPS // 3, log_colour=True),
        "3-D, linear": lambda: explorer.surface3d_figure(surface, runs, STEPS, log_colour=False),
        "curves": lambda: explorer.curves_figure(runs, STEPS // 3),
    }


@pytest.mark.parametrize("scene", ["benchmark", "diverging", "no runs"])
def test_every_figure_validates_and_sends_what_plotly_would(
    scene, surface, runs, diverging
) -> None:
    chosen = {"benchmark": runs, "diverging": diverging, "no runs": []}[scene]
    for name, build in builders(surface, chosen).items():
        raw = build()
        assert isinstance(raw, runtime.RawFigure) and isinstance(raw, go.Figure)
        validated = raw.validated()  # raises on any property Plotly does not know
        assert isinstance(validated, go.Figure) and not isinstance(validated, runtime.RawFigure)
        sent = strict_json(raw)
        checked = json.loads(validated.to_json())
        assert sent == without_frame_types(sent, checked), name
        assert len(validated.data) == len(sent["data"]), name
        assert validated.data or (name == "curves" and not chosen)  # no runs: no curves


def test_validated_rejects_an_invalid_property() -> None:
    bad = runtime.RawFigure({"data": [{"type": "scatter", "x": [1], "colour": "red"}]})
    with pytest.raises(ValueError, match="colour"):
        bad.validated()
    bad = runtime.RawFigure({"data": [], "layout": {"xaxis": {"range": [0, 1], "tick": 3}}})
    with pytest.raises(ValueError, match="tick"):
        bad.validated()


def test_streamlit_and_plotly_io_take_a_raw_figure(contour) -> None:
    # st.plotly_chart: return_figure_from_figure_or_data(fig, validate_figure=True), then
    # plotly.io.to_json(that, validate=False)
    as_streamlit = plotly.tools.return_figure_from_figure_or_data(contour, validate_figure=True)
    text = pio.to_json(as_streamlit, validate=False)
    assert text == contour.to_json() == pio.to_json(contour, validate=False)
    sent = contour.to_dict()
    sent["layout"] = {}  # a copy of the top level: the figure itself is untouched
    assert contour.to_dict()["layout"]["images"]
    html = io.StringIO()
    contour.write_html(html, include_plotlyjs=False, full_html=False)
    assert contour_chart.CLICK_GRID_NAME in html.getvalue() and '"frames"' not in html.getvalue()
    assert "Plotly.addFrames" in html.getvalue()  # the animation frames are exported too
    assert contour.is_raw  # none of this built Plotly's objects


def test_plotly_object_api_still_works_without_touching_the_shared_dict(surface, runs) -> None:
    fig = contour_chart.contour_figure(surface, runs, 60, log_colour=True, arrows=False)
    before = fig.to_json()
    fig.update_xaxes(title_text="α")  # the network page's plane view does this
    assert not fig.is_raw and fig.layout.xaxis.title.text == "α"
    assert json.loads(fig.to_json())["layout"]["xaxis"]["title"]["text"] == "α"
    assert fig.validated().layout.xaxis.title.text == "α"
    again = contour_chart.contour_figure(surface, runs, 60, log_colour=True, arrows=False)
    assert again.is_raw and again.to_json() == before  # the remembered dict is unchanged
    named = contour_chart.contour_figure(surface, runs, 60, log_colour=True, axis_titles=("α", "β"))
    layout = named.validated().layout
    assert (layout.xaxis.title.text, layout.yaxis.title.text) == ("α", "β")
    with pytest.raises(AttributeError):
        fig.no_such_attribute  # noqa: B018


def test_big_arrays_are_typed_and_decode_to_the_engine_values(contour, runs) -> None:
    sent = contour.to_dict()
    paths = [t for t in sent["data"] if t.get("mode") == "lines" and isinstance(t["x"], dict)]
    assert len(paths) == len(runs)
    for run, trace in zip(runs, paths, strict=True):
        assert trace["x"]["dtype"] == "f4" and "bdata" in trace["x"]
        x = np.frombuffer(base64.b64decode(trace["x"]["bdata"]), dtype=np.float32)
        np.testing.assert_array_equal(x, run.positions[:, 0].astype(np.float32))


def test_frames_match_a_direct_computation_at_every_step(surface, runs) -> None:
    """Every frame's trail, marker and arrows against the positions and gradients directly.

    At the last step the runs barely move, so the factor is large and the arrows of the early
    frames are shortened to the cap."""
    raw = contour_chart.contour_figure(surface, runs, STEPS, log_colour=True)
    fig = raw.validated()
    factor = arrow_factor_from_legend(fig)
    diag = math.hypot(*(hi - lo for lo, hi in surface.domain))
    names = [t.name for t in fig.data]
    capped = 0

    def check_arrow(origin, tip, expected_origin, vector) -> None:
        nonlocal capped
        shown = vector * factor
        length = np.hypot(*shown)
        if length < paths_chart.MIN_ARROW * diag:
            assert origin == (None, None) and tip == (None, None)
            return
        capped += length > paths_chart.ARROW_CAP * diag
        expected = shown * min(1.0, paths_chart.ARROW_CAP * diag / length)
        np.testing.assert_allclose(origin, expected_origin, atol=1e-4)
        np.testing.assert_allclose(np.subtract(tip, origin), expected, atol=2e-4)

    for frame in frames_of(raw):
        k = int(frame.name)
        data = dict(zip(frame.traces, frame.data, strict=True))
        gradient = data[names.index("gradient step −lr·∇f")]
        for i, run in enumerate(runs):
            trail = data[names.index(f"{run.label}: last {paths_chart.TAIL} steps and actual step")]
            marker = next(d for n, d in data.items() if names[n] == run.label and d.text)
            n_tail = paths_chart.TAIL + 1
            tail = list(zip(trail.x[:n_tail], trail.y[:n_tail], strict=True))
            first = max(0, k - paths_chart.TAIL)
            drawn = tail[-(k - first + 1) :]
            np.testing.assert_allclose(drawn, run.positions[first : k + 1], atol=1e-4)
            assert all(x is None for x, _ in tail[: -(k - first + 1)])
            np.testing.assert_allclose([marker.x[0], marker.y[0]], run.positions[k], atol=1e-4)
            assert f"step {k} " in marker.text[0]
            j = min(k, STEPS - 1)
            (ox, tx), (oy, ty) = trail.x[-2:], trail.y[-2:]
            check_arrow(
                (ox, oy), (tx, ty), run.positions[j], run.positions[j + 1] - run.positions[j]
            )
            xs, ys = gradient.x[3 * i : 3 * i + 3], gradient.y[3 * i : 3 * i + 3]
            assert xs[2] is None and ys[2] is None  # the gap between runs
            vector = -run.lr * run.gradients[j]
            check_arrow((xs[0], ys[0]), (xs[1], ys[1]), run.positions[j], vector)
    assert capped > 10  # the cap was exercised


# --- caching ---------------------------------------------------------------------------------------


def test_an_unchanged_scene_returns_the_remembered_figure(surface, runs) -> None:
    first = contour_chart.contour_figure(surface, runs, 77, log_colour=True)
    assert contour_chart.contour_figure(surface, runs, 77, log_colour=True).figure is first.figure
    assert explorer.surface3d_figure(surface, runs, 77, log_colour=True).figure is (
        explorer.surface3d_figure(surface, runs, 77, log_colour=True).figure
    )
    assert explorer.curves_figure(runs, 77).figure is explorer.curves_figure(runs, 77).figure
    other = contour_chart.contour_figure(surface, runs, 78, log_colour=True)
    assert other is not first and other.to_json() != first.to_json()
    # the surface's traces and each run's full path are shared, not rebuilt
    assert other.figure["data"][1] is first.figure["data"][1]  # the click grid
    paths = [i for i, t in enumerate(first.figure["data"]) if t.get("hoverinfo") == "skip"]
    assert any(other.figure["data"][i]["x"] is first.figure["data"][i]["x"] for i in paths)


def test_runs_are_remembered_by_identity_and_kept_alive(surface, runs) -> None:
    twin = dataclasses.replace(runs[0], label="a twin run")  # equal arrays, another object
    fig = contour_chart.contour_figure(surface, [twin], 40, log_colour=True)
    assert any(t["name"] == "a twin run" for t in fig.to_dict()["data"])  # no stale hit
    three_d = explorer.surface3d_figure(surface, [twin], 40, log_colour=True)
    assert any(t["name"] == "a twin run" for t in three_d.to_dict()["data"])
    curves = explorer.curves_figure([twin], 40)
    assert any(t["name"] == "a twin run" for t in curves.to_dict()["data"])
    # the cache holds the run itself: its id cannot be reused by another run while remembered
    alive = weakref.ref(twin)
    del twin, fig, three_d, curves
    gc.collect()
    assert alive() is not None
    runtime.clear_caches()
    gc.collect()
    assert alive() is None


def test_adaptive_runs_get_per_axis_boxes_of_their_effective_learning_rates(surface) -> None:
    """The box around an adaptive run's marker has half-sides proportional to its per-axis
    effective learning rate at the shown step (one factor for every box, named in the legend);
    gradient descent, whose step is the same on both axes, gets none."""
    entries = (OptimizerEntry.make("adam", lr=0.1), OptimizerEntry.make("gd", lr=1e-3))
    runs = compute.runs(surface.key, (), entries, surface.start, 60, 0)
    fig = contour_chart.contour_figure(surface, runs, 30, log_colour=False).figure
    box = next(t for t in fig["data"] if t.get("legendgroup") == "box" and t["x"] != [None])
    assert box["meta"] == [runs[0].label]  # Adam only
    x, y = np.array(box["x"][:5], dtype=float), np.array(box["y"][:5], dtype=float)
    half = np.array([np.ptp(x), np.ptp(y)]) / 2
    eff = np.abs(runs[0].effective_lr[30])
    assert half[0] / half[1] == pytest.approx(eff[0] / eff[1], rel=0.02)
    centre = ((x.min() + x.max()) / 2, (y.min() + y.max()) / 2)
    assert centre == pytest.approx(tuple(runs[0].positions[30]), abs=1e-3)
    factor = paths_chart.box_factor(runs, 30, surface.domain)
    assert half.max() == pytest.approx(factor * eff.max(), rel=0.02)
    legend = [t["name"] for t in fig["data"] if t.get("legendgroup") == "box" and t["x"] == [None]]
    assert legend == [paths_chart.BOX_LABEL.format(factor=f" ×{factor:g}")]


def test_prepare_contour_builds_the_part_contour_figure_uses():
    """The page starts the surface's part of the contour in a background thread before its
    runs; contour_figure then finds it built (a cache hit) and draws the same figure."""
    surface = compute.surface("griewank")
    runs = compute.runs("griewank", (), (OptimizerEntry.make("gd"),), (7.0, -6.0), 30, 0)
    runtime.clear_caches()
    contour_chart.prepare_contour(surface, True).result()
    before = contour_chart._contour_base.cache_info()
    fig = contour_chart.contour_figure(surface, runs, 10, log_colour=True, arrows=True)
    after = contour_chart._contour_base.cache_info()
    assert after.hits == before.hits + 1 and after.misses == before.misses
    runtime.clear_caches()
    plain = contour_chart.contour_figure(surface, runs, 10, log_colour=True, arrows=True)
    assert json.dumps(fig.figure, default=str) == json.dumps(plain.figure, default=str)


# --- colour-bar ticks: distinct, round, increasing ---------------------------------------------

TICK_RANGES = [
    (0.0423, 0.0424),  # a network plane's loss: 0.0424, 0.0424, 0.0423 before
    (0.01187, 0.0125),  # the cliff: 0.012, 0.0119 before
    (0.0, 1.0),
    (0.0, 2.5e3),
    (-3.0, 2.0),  # crossing zero
    (-1e-9, 1e-9),
    (1e-15, 3e-15),  # tiny values
    (1e6, 1e6 + 1),  # a tiny range far from zero
    (0.0, 1e12),  # huge
    (-1e300, 1e300),
    (3.0, 3.0004),
    (0.5, 1e5),
]


@pytest.mark.parametrize(("low", "high"), TICK_RANGES)
@pytest.mark.parametrize("log", [False, True])
def test_colour_bar_ticks_are_distinct_and_increasing(low, high, log) -> None:
    z = np.linspace(low, high, 101)
    levels = surface_chart.ColourLevels.of(z, log=log)
    vals, texts = levels.ticks()
    assert len(vals) == len(texts) >= 2
    assert (np.diff(vals) > 0).all()
    assert len(set(texts)) == len(texts), texts
    assert all(levels.vmin - 1e-9 <= v <= levels.vmax + 1e-9 for v in vals)
    assert not any(bad in t for t in texts for bad in ("nan", "inf", "None"))
    if log:  # round: the minimum, then decades or 1-2-5 steps above it (or their short f values)
        for t in texts[1:]:
            digits = t.lstrip("+-").split("e")[0].replace(".", "").strip("0")
            assert len(digits) <= 3 and (not t.startswith("+") or digits in "125"), texts


@pytest.mark.parametrize(("low", "high"), TICK_RANGES)
def test_nice_ticks(low, high) -> None:
    ticks = surface_chart._nice_ticks(low, high)
    assert 3 <= len(ticks) <= 12
    assert (np.diff(ticks) > 0).all()
    assert all(low - 1e-9 * (high - low) <= t <= high + 1e-9 * (high - low) for t in ticks)
    steps = np.diff(ticks) / 10.0 ** np.floor(np.log10(np.diff(ticks) * (1 + 1e-9)))
    assert set(np.round(steps, 6)) <= {1.0, 2.0, 2.5, 5.0}


def _lightness(rgb) -> float:
    """CIELAB L* of an sRGB colour."""
    c = np.asarray(rgb, float) / 255
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    y = float(lin @ [0.2126, 0.7152, 0.0722])
    return 116 * y ** (1 / 3) - 16 if y > 0.008856 else 903.3 * y


def test_surface_colour_map_is_sequential_and_perceptually_even() -> None:
    levels = surface_chart.ColourLevels.of(np.linspace(0, 1, 10), log=False)
    lightness = np.array([_lightness(c) for c in levels.band_colours()])
    steps = -np.diff(lightness)
    assert (steps > 0).all()  # light (low f) to dark, every band a step darker
    assert steps.max() < 1.3 * steps.min()  # even steps in perceived lightness
    assert lightness[0] > 95 and 50 < lightness[-1] < 65  # the darkest band is still light enough
    for run_colour in style.OKABE_ITO[:-1]:  # the paths (not yellow) stand out from every band
        rgb = [int(run_colour[i : i + 2], 16) for i in (1, 3, 5)]
        assert min(abs(_lightness(rgb) - v) for v in lightness[:3]) > 15
    # contour lines: band edges clearly darker than the bands
    assert (
        lightness[0] - _lightness(np.array(levels.band_colours()[0]) * surface_chart.CONTOUR_SHADE)
        > 15
    )


def test_moving_traces_follow_the_player(surface, runs) -> None:
    """Traces that belong to a step (the Hessian axes) are in the data at the shown step and in
    each frame at that frame's step, on top of the figure's own traces."""
    fig = contour_chart.contour_figure(surface, runs, 60, log_colour=True)
    steps = contour_chart.player_steps(fig)
    marks = {
        k: [{"type": "scatter", "x": [float(k)], "y": [0.0], "name": f"at {k}"}] for k in steps
    }
    out = contour_chart.with_moving_traces(fig, marks).figure
    n = len(fig.figure["data"])
    assert out["data"][:n] == fig.figure["data"] and out["data"][n]["name"] == "at 60"
    for frame in out["frames"]:
        assert frame["traces"][-1] == n and frame["data"][-1]["x"] == [float(frame["name"])]
    assert len(fig.figure["data"]) == n  # the shared figure is unchanged
