"""The diagnostic pages (learning-rate sweep, basins of attraction) and the curvature panel.

AppTest: each page runs, opens on the explorer's scene without a link, restores a non-default
link, warns on a malformed one and sends its choice to the explorer. Pure parts: the URL states
round-trip, figure builders produce valid figures. Browser (Playwright + Debian chromium): each
page draws its chart, and a click on it opens the explorer with the clicked value (the
screenshots go to a temporary folder; `python bench/screenshots.py` refreshes assets/).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import apptest_helpers
import numpy as np
import pytest
from apptest_helpers import chart_figures, message_text, query_of, run_page
from streamlit.testing.v1 import AppTest

import landscapes
from app import compute, explorer_link
from app.charts import diagnostics as diagnostic_charts
from app.diagnostic_state import BasinState, SweepState, custom_values, with_lr, with_start
from app.state import AppState, OptimizerEntry
from studies import analysis

ROOT = Path(__file__).resolve().parent.parent

SCENE = AppState(
    landscape="quadratic",
    optimizers=(OptimizerEntry.make("gd", lr=0.01), OptimizerEntry.make("momentum", lr=0.01)),
    steps=120,
)
SWEEP_LINK = SweepState(SCENE, lr_low=1e-3, lr_high=0.5, count=20, objective="steps").to_query()
BASIN_SCENE = AppState(
    landscape="himmelblau",
    optimizers=(OptimizerEntry.make("gd", lr=0.01), OptimizerEntry.make("adam", lr=0.1)),
    steps=150,
)
BASIN_LINK = BasinState(BASIN_SCENE, grid=12).to_query()


# --- pure parts --------------------------------------------------------------------------------


def test_states_round_trip_and_warn():
    # the pages' links leave out the explorer's view switches and step shown: what they carry
    # of the scene (surface, optimizers, start, steps, seed) reads back the same
    state = SweepState(SCENE, 2e-4, 0.3, 150, "steps")
    back, warnings = SweepState.from_query(state.to_query())
    assert warnings == [] and back.to_query() == state.to_query()
    assert (back.lr_low, back.lr_high, back.count, back.objective) == (2e-4, 0.3, 150, "steps")
    assert back.scene.optimizers == SCENE.optimizers and back.scene.steps == SCENE.steps
    basin = BasinState(BASIN_SCENE, 37)
    back, warnings = BasinState.from_query(basin.to_query())
    assert warnings == [] and back.to_query() == basin.to_query() and back.grid == 37
    assert back.scene.optimizers == BASIN_SCENE.optimizers
    bad, warnings = SweepState.from_query(
        {**SCENE.to_query(), "lrlo": "nan", "lrhi": "1e9", "nlr": "5", "obj": "x"}
    )
    assert bad == SweepState(explorer_link.from_query(SCENE.to_query())[0])
    assert {w.split("=")[0] for w in warnings} == {"lrlo", "lrhi", "nlr", "obj"}
    swapped, warnings = SweepState.from_query({"lrlo": "0.5", "lrhi": "0.1"})
    assert (swapped.lr_low, swapped.lr_high) == (1e-4, 1.0) and "below" in warnings[0]
    _, warnings = BasinState.from_query({"grid": "1000"})
    assert "grid" in warnings[0]


def test_scene_helpers_and_click_payloads():
    s = with_lr(SCENE, 1, 0.05, momentum=0.5)
    assert s.optimizers[1].values["lr"] == 0.05 and s.optimizers[1].values["momentum"] == 0.5
    assert s.optimizers[0] == SCENE.optimizers[0]
    assert with_start(SCENE, 1.0, -0.5).start == (1.0, -0.5)
    assert custom_values({"customdata": {"1": 0.2, "0": 1}}) == [1.0, 0.2]
    assert custom_values({"customdata": [3, 4.5]}) == [3.0, 4.5]
    assert custom_values({"customdata": "1,2"}) == [] and custom_values({}) == []
    assert custom_values({"customdata": [float("nan"), 1]}) == []


def test_figures_are_valid_and_carry_their_clicks():
    quad = landscapes.get("quadratic")
    sweep = analysis.lr_sweep(quad, ["gd", "momentum"], None, analysis.log_lrs(0.01, 1, 12), 50)
    theory = analysis.quadratic_theory(analysis.quadratic_eigenvalues(quad))
    fig = diagnostic_charts.sweep_figure(sweep, minimum_value=0.0, theory=theory, betas=[None, 0.9])
    curves = [t for t in fig.data if t.mode == "lines+markers"]
    assert len(curves) == 4  # loss and steps for each optimizer
    assert [row[1] for row in curves[0].customdata] == pytest.approx(sweep.lrs.tolist())
    names = " ".join(t.name for t in fig.data)
    assert "2/λ_max = 0.2" in names and "(2+2β)/λ_max, β=0.9 = 0.38" in names
    assert "diverges from" in names
    land = landscapes.get("himmelblau")
    maps = [analysis.basins(land, [s], (9, 9), 20) for s in ("adam", "gd")]
    fig = diagnostic_charts.basins_figure(compute.surface("himmelblau"), maps)
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    assert len(heatmaps) == 2
    label = maps[0].label[0]
    np.testing.assert_array_equal(heatmaps[0].z, np.where(label >= 0, label, 4 + (label == -2)))
    rm = analysis.momentum_rate_map(
        [1.0, 10.0], analysis.log_lrs(0.01, 0.5, 30), np.linspace(0, 0.9, 10)
    )
    fig = diagnostic_charts.rate_map_figure(rm, current=[("Momentum", 0.05, 0.9)], theory=theory)
    pick = next(t for t in fig.data if t.name == "pick")
    assert len(pick.customdata[0]) == 2


# --- AppTest: the sweep page -------------------------------------------------------------------


def test_sweep_page_opens_on_the_explorers_scene():
    at = run_page("views/sweep.py", scene=SCENE)
    assert not at.warning
    assert at.selectbox(key="sw_landscape").value == "quadratic"
    assert len(chart_figures(at)) == 1
    table = at.dataframe[0].value
    assert list(table["Optimizer"]) == ["Gradient descent", "Momentum"]
    q = query_of(at)
    assert q["ls"] == ["quadratic"] and q["v"] == ["1"]
    assert any("λ_max = 10" in i.value for i in at.info)  # the quadratic's theory


def test_sweep_link_restores_and_the_url_keeps_it():
    at = run_page("views/sweep.py", SWEEP_LINK)
    assert not at.warning
    assert at.slider(key="sw_count").value == 20
    assert at.number_input(key="sw_lr_high").value == 0.5
    assert at.radio(key="sw_objective").value == "steps"
    assert SweepState.from_query(query_of(at))[0] == SweepState.from_query(SWEEP_LINK)[0]
    gd = at.dataframe[0].value.iloc[0]
    # gradient descent on this quadratic diverges just above 2/lambda_max = 0.2
    assert 0.2 < gd["Diverges from lr"] < 0.2 * (0.5 / 1e-3) ** (1 / 19) * 1.001


def test_sweep_malformed_link_warns_and_falls_back():
    at = run_page("views/sweep.py", {**SWEEP_LINK, "nlr": "many", "obj": "speed"})
    text = message_text(at)
    assert "nlr='many'" in text and "obj='speed'" in text
    assert at.slider(key="sw_count").value == SweepState.count
    assert at.selectbox(key="sw_landscape").value == "quadratic"  # the rest applies


def test_auto_tune_applies_to_the_explorer():
    at = run_page("views/sweep.py", SWEEP_LINK)
    at.button(key="sw_tune").click().run()
    assert not at.exception
    assert "not a verdict on the optimizer" in message_text(at)
    assert any("Objective: fewest steps to converge" in m.value for m in at.markdown)
    tuned = at.dataframe[1].value["Tuned lr"].tolist()
    at.button(key="sw_apply").click().run()
    assert not at.exception, [e.message for e in at.exception]
    state, warnings = explorer_link.from_query(query_of(at))
    assert warnings == [] and state.landscape == "quadratic"
    assert [e.values["lr"] for e in state.optimizers] == pytest.approx(tuned)


# --- AppTest: the basins page ------------------------------------------------------------------


def test_basins_page_runs_and_restores_its_link():
    at = run_page("views/basins.py", BASIN_LINK)
    assert not at.warning
    assert at.slider(key="bs_grid").value == 12
    assert len(chart_figures(at)) == 1
    rows = at.dataframe[0].value
    assert list(rows["Optimizer"]) == ["Gradient descent lr=0.01", "Adam lr=0.1"]
    assert BasinState.from_query(query_of(at))[0] == BasinState.from_query(BASIN_LINK)[0]


def test_basins_page_opens_on_the_scene_and_warns_on_bad_links():
    at = run_page("views/basins.py", scene=BASIN_SCENE)
    assert at.selectbox(key="bs_landscape").value == "himmelblau"
    at = run_page("views/basins.py", {**BASIN_LINK, "grid": "7"})
    assert "grid='7'" in message_text(at)
    assert at.slider(key="bs_grid").value == BasinState.grid


def test_basins_sends_a_start_to_the_explorer():
    at = run_page("views/basins.py", BASIN_LINK)
    at.number_input(key="bs_x").set_value(1.5)
    at.number_input(key="bs_y").set_value(-2.0)
    at.get("form_submit_button")[0].click().run()
    assert not at.exception, [e.message for e in at.exception]
    state, _ = explorer_link.from_query(query_of(at))
    assert state.start == (1.5, -2.0) and state.landscape == "himmelblau"


# --- AppTest: the curvature panel --------------------------------------------------------------


def panel_script():
    import streamlit as st

    from app import compute, curvature_panel
    from app.state import AppState, OptimizerEntry

    key = st.session_state.get("key", "quadratic")
    lrs = (0.19, 0.05) if key == "quadratic" else (1e-4, 1e-4)
    state = AppState(
        landscape=key,
        optimizers=(
            OptimizerEntry.make("gd", lr=lrs[0]),
            OptimizerEntry.make("momentum", lr=lrs[1]),
        ),
        steps=60,
    )
    surface = compute.surface(state.landscape, state.landscape_params)
    runs = compute.runs(
        state.landscape, state.landscape_params, state.optimizers, state.start_point(), 60, 0
    )
    curvature_panel.curvature_panel(surface, runs, 10, state)
    st.session_state.traces = curvature_panel.curvature_traces(surface, runs, [0, 10, 60], state)
    st.session_state.positions = [r.positions for r in runs]


def test_curvature_panel_renders_on_the_quadratic_and_elsewhere():
    at = AppTest.from_function(panel_script, default_timeout=apptest_helpers.TIMEOUT)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    table = at.dataframe[0].value
    assert table["λ_max"].tolist() == ["10", "10"]
    assert table["Critical step"].tolist() == ["0.2", "0.38"]  # 2/10, (2+1.8)/10
    assert table["Current step"].tolist() == ["0.19", "0.05"]
    assert table["Condition"].tolist() == ["100", "100"]
    assert len(chart_figures(at)) == 1  # the rate map: the surface is quadratic
    traces = at.session_state.traces
    assert sorted(traces) == [0, 10, 60]
    for step, drawn in traces.items():  # two axes per run, through its position at that step
        assert len(drawn) == 4
        for i, positions in enumerate(at.session_state.positions):
            for axis in drawn[2 * i : 2 * i + 2]:
                assert (axis["x"][1], axis["y"][1]) == tuple(positions[step])
    at = AppTest.from_function(panel_script, default_timeout=apptest_helpers.TIMEOUT)
    at.session_state["key"] = "rosenbrock"
    at.run()
    assert not at.exception
    assert len(chart_figures(at)) == 0 and len(at.dataframe[0].value) == 2


# --- browser -----------------------------------------------------------------------------------

IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
TIMEOUT_MS = 90_000
JS_POINT = """([sel, trace, index]) => { const el = document.querySelector(sel);
  const t = el._fullData[trace]; const L = el._fullLayout;
  const xa = L[t.xaxis.replace('x', 'xaxis')], ya = L[t.yaxis.replace('y', 'yaxis')];
  const cd = el.calcdata[trace][index]; const r = el.getBoundingClientRect();
  return [r.left + xa._offset + xa.c2p(cd.x), r.top + ya._offset + ya.c2p(cd.y)]; }"""


@pytest.fixture(scope="module")
def page(server, browser):
    p = browser.new_page(viewport={"width": 1400, "height": 1000})
    p.set_default_timeout(TIMEOUT_MS)
    p.base = server
    # a first visit at the root: the very first session of a fresh server otherwise shows
    # Streamlit's pages-directory navigation
    p.goto(server)
    p.wait_for_selector(IDLE)
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    p.page_errors = errors
    yield p
    p.close()


def open_chart(page, path: str, query: dict, key: str) -> str:
    page.goto(f"{page.base}/{path}?{urlencode(query, doseq=True)}")
    sel = f'.st-key-{key}[data-stale="false"] .js-plotly-plot'
    page.wait_for_selector(IDLE)
    page.wait_for_function(
        f"() => {{ const el = document.querySelector({sel!r});"
        " return !!el && Array.isArray(el.calcdata) && el.calcdata.length > 0; }"
    )
    return sel


def click_trace_point(page, sel: str, trace: int, index: int) -> None:
    xy = page.evaluate(JS_POINT, [sel, trace, index])
    page.mouse.move(*xy)
    page.mouse.click(*xy)


def explorer_state(page) -> AppState:
    page.wait_for_function("() => !location.pathname.match(/sweep|basins/)")
    page.wait_for_selector(IDLE)
    return explorer_link.from_query(parse_qs(urlsplit(page.url).query))[0]


def screenshot(page, path: Path) -> None:
    height = page.evaluate(
        "() => document.querySelector('[data-testid=stMain]')?.scrollHeight ?? 1000"
    )
    page.set_viewport_size({"width": 1400, "height": max(int(height), 1000)})
    page.wait_for_timeout(300)  # let Plotly relayout to the new size before the shot
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000
    page.set_viewport_size({"width": 1400, "height": 1000})


def test_browser_sweep_chart_is_drawn_and_a_click_opens_the_explorer(page, tmp_path):
    query = SweepState(
        AppState(
            landscape="quadratic",
            optimizers=(
                OptimizerEntry.make("gd", lr=0.01),
                OptimizerEntry.make("momentum", lr=0.01),
                OptimizerEntry.make("adam", lr=0.05),
            ),
        ),
        lr_low=1e-3,
        lr_high=1.0,
        count=100,
    ).to_query()
    sel = open_chart(page, "sweep", query, "sweep_chart")
    names = page.locator(sel).evaluate("(el) => el.data.map((t) => t.name)")
    for name in ("Gradient descent", "Momentum", "Adam", "theory: 2/λ_max = 0.2"):
        assert name in names
    screenshot(page, tmp_path / "sweep.png")
    lr = page.locator(sel).evaluate("(el) => el.calcdata[0][40].x")
    click_trace_point(page, sel, 0, 40)
    state = explorer_state(page)
    assert state.landscape == "quadratic"
    assert state.optimizers[0].values["lr"] == pytest.approx(lr, rel=1e-12)
    assert state.optimizers[1].values["lr"] == 0.01
    assert not page.page_errors


def test_browser_basin_map_is_drawn_and_a_start_opens_the_explorer(page, tmp_path):
    query = BasinState(
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
    ).to_query()
    sel = open_chart(page, "basins", query, "basin_chart")
    types = page.locator(sel).evaluate("(el) => el.data.map((t) => t.type || 'scatter')")
    assert types.count("heatmap") == 3 and types.count("contour") == 3
    screenshot(page, tmp_path / "basins.png")
    trace = page.locator(sel).evaluate("(el) => el.data.findIndex((t) => t.name === 'starts')")
    start = page.locator(sel).evaluate(
        f"(el) => [el.calcdata[{trace}][500].x, el.calcdata[{trace}][500].y]"
    )
    click_trace_point(page, sel, trace, 500)
    state = explorer_state(page)
    assert state.landscape == "himmelblau"
    assert state.start == pytest.approx(tuple(start), abs=1e-5)
    assert not page.page_errors
