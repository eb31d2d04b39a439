"""Events written on the chart: the diagnosis gives each run's event (a few words), the step from
which it holds and the place to write it; the contour draws it there, hidden until the shown step
reaches it, and lists it in the player's spec."""

from __future__ import annotations

import logging

import numpy as np
import pytest

import optimizers
from app import compute, lessons
from app.charts.contour import contour_figure
from app.charts.style import colour, slot
from app.state import OptimizerEntry
from app.surfaces import landscape_for

logging.getLogger("streamlit").setLevel(logging.ERROR)  # "no runtime" notes of st.cache_data


def one_run(key: str, spec, start, steps: int, params=()) -> tuple:
    land = landscape_for(key, params)
    result = optimizers.simulate(land, [spec], [start], steps=steps)
    return land, result, result.diagnosis


def test_a_diverging_run_says_where_and_when() -> None:
    land, result, d = one_run(
        "rosenbrock", OptimizerEntry.make("gd", lr=0.05).spec(), (-1.5, 2.0), 200
    )
    k = int(d.diverged_at[0, 0])
    assert d.status[0, 0] == "diverged" and k > 0
    assert d.label[0, 0] == f"diverged at step {k}"
    assert d.event_step[0, 0] == k
    where = d.event_position[0, 0]
    (x0, x1), (y0, y1) = land.domain
    assert np.isfinite(where).all() and x0 <= where[0] <= x1 and y0 <= where[1] <= y1
    # the last such point of the path before the blow-up
    path = result.positions[0, 0, :k]
    inside = np.isfinite(path).all(-1) & (path[:, 0] >= x0) & (path[:, 0] <= x1)
    inside &= (path[:, 1] >= y0) & (path[:, 1] <= y1)
    np.testing.assert_array_equal(where, path[np.nonzero(inside)[0][-1]])


def test_a_run_trapped_in_a_local_minimum_says_so_from_its_settling_step() -> None:
    state = lessons.get("momentum-bumps").state
    land = landscape_for(state.landscape, state.landscape_params)
    result = optimizers.simulate(
        land, [state.optimizers[0].spec()], [state.start or land.start], steps=state.steps
    )
    d = result.diagnosis
    assert d.status[0, 0] == "trapped" and d.minimum_kind[0, 0] == "local"
    assert d.label[0, 0] == "trapped in a local minimum"
    k = int(d.event_step[0, 0])
    m = land.minima[d.minimum[0, 0]]
    r = 1e-2 * np.hypot(*(hi - lo for lo, hi in land.domain))
    dist = np.hypot(*(result.positions[0, 0] - (m.x, m.y)).T)
    assert (dist[k:] <= r).all() and (k == 0 or dist[k - 1] > r)  # settled from step k on
    np.testing.assert_array_equal(d.event_position[0, 0], result.positions[0, 0, -1])


def test_the_saddle_lessons_gradient_descent_stalls_at_the_saddle() -> None:
    state = lessons.get("saddle-escape").state
    land = landscape_for(state.landscape, state.landscape_params)
    result = optimizers.simulate(
        land, [e.spec() for e in state.optimizers], [state.start], steps=state.steps
    )
    d = result.diagnosis
    assert d.status[0, 0] == "stalled" and d.label[0, 0] == "stalled at the saddle"
    assert "saddle" in d.detail[0, 0]
    k = int(d.event_step[0, 0])
    assert 0 < k < state.steps
    sd = land.saddles[0]
    assert np.hypot(*(d.event_position[0, 0] - (sd.x, sd.y))) < 0.1
    assert d.label[2, 0] != "stalled at the saddle"  # Adam leaves it


def test_an_oscillation_along_the_steep_axis_is_named() -> None:
    # curvatures 10 and 2: lr 0.2 flips the steep coordinate forever, the flat one converges
    spec = OptimizerEntry.make("gd", lr=0.2).spec()
    _, _, d = one_run("quadratic", spec, (1.0, 1.0), 100, (("kappa", 5.0),))
    assert d.status[0, 0] == "oscillating"
    assert d.label[0, 0] == "oscillating along the steep axis"
    assert 0 < d.event_step[0, 0] < 100 and np.isfinite(d.event_position[0, 0]).all()


def test_a_run_still_moving_has_no_event() -> None:
    _, _, d = one_run("quadratic", OptimizerEntry.make("gd", lr=0.005).spec(), (2.0, 2.0), 50)
    assert d.status[0, 0] == "moving"
    assert d.label[0, 0] == "" and d.event_step[0, 0] == -1


@pytest.fixture(scope="module")
def scene() -> tuple[compute.Surface, list[compute.Run]]:
    entries = (OptimizerEntry.make("gd", lr=0.05), OptimizerEntry.make("adam", lr=0.1))
    return compute.surface("rosenbrock"), compute.runs(
        "rosenbrock", (), entries, (-1.5, 2.0), 200, 0
    )


@pytest.mark.parametrize("step", [0, 200])
def test_the_contour_writes_the_events_from_their_step(scene, step) -> None:
    surface, runs = scene
    fig = contour_figure(surface, runs, step, log_colour=True).figure
    spec = fig["layout"]["meta"]["player"]
    gd = runs[0]
    assert gd.event == f"diverged at step {gd.diverged_at}" and gd.event_step == gd.diverged_at
    listed = {e["text"]: e for e in spec["events"]}
    assert listed[gd.event]["step"] == gd.diverged_at
    for event in spec["events"]:
        trace = fig["data"][event["trace"]]
        assert trace["mode"] == "markers+text" and event["text"] in trace["text"][0]
        assert trace["visible"] is (event["step"] <= step)
        assert trace["showlegend"] is False
        assert trace["textfont"]["color"] == trace["marker"]["color"]
        frames_touch = {
            t for f in fig["frames"] for t, d in zip(f["traces"], f["data"], strict=True) if d
        }
        assert event["trace"] not in frames_touch  # the player, not the frames, shows it
    trace = fig["data"][listed[gd.event]["trace"]]
    assert trace["x"] == [gd.event_at[0]] and trace["y"] == [gd.event_at[1]]
    assert trace["textfont"]["color"] == colour(slot(gd, 0))


def test_events_at_one_place_share_one_text() -> None:
    """Three runs trapped side by side in Rastrigin's lesson: each has its marker, and the words
    are written once per place, so they never pile up into an unreadable smear."""
    from app.charts import contour as contour_chart

    state = lessons.get("rastrigin-traps").view()
    surface = compute.surface(state.landscape, state.landscape_params)
    runs = compute.runs(
        state.landscape,
        state.landscape_params,
        state.optimizers,
        state.start_point(),
        state.steps,
        state.seed,
    )
    fig = contour_chart.contour_figure(surface, runs, state.steps, log_colour=False).figure
    events = [fig["data"][e["trace"]] for e in fig["layout"]["meta"]["player"]["events"]]
    assert len(events) == sum(1 for r in runs if r.event and r.event_at is not None) >= 2
    texts = [(t["x"][0], t["y"][0]) for t in events if t["text"][0]]
    assert 1 <= len(texts) < len(events)  # the lesson's runs are trapped side by side
    near = contour_chart.EVENT_SPACING * 10 * 2**0.5  # the domain is 10 wide
    for a in range(len(texts)):
        for b in range(a):
            assert np.hypot(texts[a][0] - texts[b][0], texts[a][1] - texts[b][1]) > near
