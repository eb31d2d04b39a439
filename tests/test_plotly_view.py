"""The explorer's chart component (app.plotly_view): what it sends, its styling, its clicks."""

from __future__ import annotations

import base64
import json

import numpy as np
import plotly.graph_objects as go
import pytest

from app import plotly_view
from app.charts.runtime import RawFigure
from app.diagnostic_state import custom_values


def figure() -> RawFigure:
    xs = np.linspace(-1.0, 1.0, 5)
    return RawFigure(
        {
            "data": [{"type": "scatter", "x": xs, "y": xs**2, "name": "path"}],
            "layout": {"uirevision": "scene", "template": {"layout": {"font": {"size": 9}}}},
            "frames": [{"name": "0", "data": [{"x": [0.5], "y": [0.25]}], "traces": [0]}],
        }
    )


def test_the_figure_travels_as_its_json_with_the_config():
    fig = figure()
    sent = json.loads(plotly_view.figure_bytes(fig, {"displaylogo": False}))
    assert sent["config"] == {"displaylogo": False}
    assert sent["layout"] == fig.figure["layout"] and sent["frames"] == fig.figure["frames"]
    np.testing.assert_array_equal(sent["data"][0]["y"], fig.figure["data"][0]["y"])
    # a validated go.Figure: its numpy arrays travel as Plotly's typed-array specs, as they do
    # through st.plotly_chart
    xs = np.linspace(0.0, 1.0, 7)
    sent = json.loads(plotly_view.figure_bytes(go.Figure(go.Scatter(x=xs, y=xs))))
    x = sent["data"][0]["x"]
    assert sent["config"] == {} and sent["data"][0]["type"] == "scatter"
    np.testing.assert_array_equal(np.frombuffer(base64.b64decode(x["bdata"]), dtype=x["dtype"]), xs)


def test_the_app_style_replaces_the_template_and_leaves_the_figure_alone():
    fig = figure()
    layout_before = json.dumps(fig.figure["layout"], sort_keys=True)
    styled = plotly_view.app_styled(fig)
    assert styled["layout"]["template"] is plotly_view.APP_TEMPLATE
    assert styled["layout"]["uirevision"] == "scene"
    assert styled["data"] is fig.figure["data"]  # shared, not copied
    assert json.dumps(fig.figure["layout"], sort_keys=True) == layout_before
    # the template is one Plotly accepts
    go.layout.Template(plotly_view.APP_TEMPLATE)


def test_plotly_js_is_installed_into_the_static_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(plotly_view, "STATIC_DIR", tmp_path / "static")
    target = plotly_view.install_plotly_js()
    assert target.read_bytes() == plotly_view.PLOTLY_JS.read_bytes()
    target.write_text("stale")  # another version's copy is replaced
    assert plotly_view.install_plotly_js().read_bytes() == plotly_view.PLOTLY_JS.read_bytes()
    # a folder that cannot be written: no copy, no exception (the app still starts)
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setattr(plotly_view, "STATIC_DIR", blocked / "static")
    assert plotly_view.install_plotly_js() is None


@pytest.mark.parametrize(
    ("state", "point"),
    [
        ({"click": {"x": 0.5, "y": -2}}, (0.5, -2.0)),
        ({"click": None}, None),
        ({"click": {"x": "0.5", "y": 1}}, None),
        ({"click": {"x": float("nan"), "y": 1.0}}, None),
        ({"click": [1, 2]}, None),
        ({}, None),
        (None, None),
    ],
)
def test_a_click_is_read_only_when_it_is_a_finite_point(state, point, monkeypatch):
    monkeypatch.setattr(plotly_view.st, "session_state", {"chart": state})
    assert plotly_view.clicked_point("chart") == point


def test_a_click_carries_the_points_customdata(monkeypatch):
    click = {"x": 0.1, "y": 0.2, "customdata": {"0": 0.5, "1": 0.9}}  # a typed-array row
    monkeypatch.setattr(plotly_view.st, "session_state", {"map": {"click": click}, "bad": 3})
    assert plotly_view.clicked("map") == click
    assert custom_values(plotly_view.clicked("map")) == [0.5, 0.9]
    assert plotly_view.clicked("bad") is None and plotly_view.clicked("absent") is None
