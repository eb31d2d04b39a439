"""The averaged iterate (``SimulationResult.average``: ASGD's average, schedule-free's x) drawn
in the explorer's contour behind the ``avg`` switch of the link."""

from __future__ import annotations

import numpy as np
import pytest

import landscapes
import optimizers
from app import compute, explorer_link
from app.charts import contour as contour_chart
from app.state import AppState, OptimizerEntry

STEPS = 60
START = (-1.5, 2.0)


@pytest.fixture(scope="module")
def scene():
    entries = (
        OptimizerEntry.make("schedulefree_sgd", lr=0.001),
        OptimizerEntry.make("adam", lr=0.1),
    )
    runs = compute.runs("rosenbrock", (), entries, START, STEPS, 0)
    return compute.surface("rosenbrock"), runs


def decoded(values) -> np.ndarray:
    if isinstance(values, dict):  # a typed array: base64 of little-endian floats
        import base64

        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
    return np.asarray(values, dtype=float)


def average_traces(fig) -> list[dict]:
    return [t for t in fig.figure["data"] if str(t.get("name", "")).endswith(": average")]


def test_the_switch_draws_schedule_free_s_average_and_nothing_for_adam(scene):
    surface, runs = scene
    off = contour_chart.contour_figure(surface, runs, 30, log_colour=True)
    assert average_traces(off) == []
    fig = contour_chart.contour_figure(surface, runs, 30, log_colour=True, average=True)
    (trace,) = average_traces(fig)
    assert trace["name"] == f"{runs[0].label}: average"
    assert trace["line"]["dash"] == "dash" and trace.get("showlegend") is not False
    path = next(t for t in fig.figure["data"] if t.get("name") == runs[0].label)
    assert trace["line"]["color"] == path["line"]["color"]
    # the points are the engine's averaged iterate (schedule-free's x), from the start
    direct = optimizers.simulate(
        landscapes.get("rosenbrock"), [("schedulefree_sgd", {"lr": 0.001})], START, STEPS
    ).average[0, 0]
    want = np.concatenate([[START], direct])
    np.testing.assert_allclose(decoded(trace["x"]), want[:, 0], rtol=1e-6)
    np.testing.assert_allclose(decoded(trace["y"]), want[:, 1], rtol=1e-6)
    assert np.isfinite(want).all()
    assert not np.allclose(want, runs[0].positions)  # not the iterate itself
    # the player draws it up to the shown step like the paths
    index = fig.figure["data"].index(trace)
    assert index in fig.figure["layout"]["meta"]["player"]["paths"]


def test_the_link_round_trips_the_switch():
    on = AppState(show_average=True)
    query = on.to_query()
    assert query["avg"] == "1"
    assert explorer_link.from_query(query) == (on, [])
    assert "avg" not in AppState().to_query()  # off by default: not written
    assert explorer_link.from_query(AppState().to_query())[0].show_average is False
