"""The basins-of-attraction page: where each start point of a grid ends, per optimizer.

Every optimizer of the scene runs from every point of a grid x grid start grid (one batched
engine call per optimizer, with a progress bar); each start is coloured by the known minimum its
run reaches, or diverged, or not converged, panels side by side over the surface's contour.
A click on a start (or the form below) opens the explorer from there. The view lives in the URL
(``app.diagnostic_state.BasinState``).
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from app import budget, compute, diagnostic_compute
from app.charts import diagnostics as diagnostic_charts
from app.diagnostic_state import BASIN_FIELDS, GRID_BOUNDS, BasinState, custom_values, with_start
from app.links import fields
from app.literal import show_problem
from app.page_links import open_diagnostic_page
from app.plotly_view import clicked, plotly_view
from app.state import STEPS_RANGE


def load(state: BasinState) -> None:
    ss = st.session_state
    ss.bs_scene = state.scene
    ss.bs_landscape = state.scene.landscape
    fields.load_widgets(state, BASIN_FIELDS)
    ss.bs_steps = state.scene.steps
    x, y = state.scene.start_point()
    ss.bs_x, ss.bs_y = float(x), float(y)


def on_landscape() -> None:
    ss = st.session_state
    ss.bs_scene = replace(ss.bs_scene, landscape=ss.bs_landscape, landscape_params=(), start=None)
    ss.bs_x, ss.bs_y = (float(v) for v in ss.bs_scene.start_point())


def on_pick() -> None:
    """A click on a start point of any panel: open the explorer from there."""
    custom = custom_values(clicked("basin_chart") or {})
    if len(custom) >= 2:
        scene = st.session_state.bs_state.scene
        st.session_state.goto = with_start(scene, float(custom[0]), float(custom[1])).to_query()


def send_start() -> None:
    ss = st.session_state
    ss.goto = with_start(ss.bs_state.scene, float(ss.bs_x), float(ss.bs_y)).to_query()


def current() -> BasinState:
    ss = st.session_state
    scene = replace(ss.bs_scene, steps=int(ss.bs_steps), step=None)
    return BasinState(scene, **fields.read_widgets(BASIN_FIELDS))


def controls() -> None:
    cat = compute.catalog()
    with st.sidebar:
        st.subheader("Basins")
        keys = sorted(cat, key=lambda k: (cat[k][0] != "classic", list(cat).index(k)))
        if st.session_state.bs_landscape not in keys:  # the custom formula, from the explorer
            keys.append(st.session_state.bs_landscape)
        st.selectbox(
            "Landscape",
            keys,
            key="bs_landscape",
            on_change=on_landscape,
            format_func=lambda k: f"{cat[k][0]} · {cat[k][1]}" if k in cat else k,
        )
        (grid,) = BASIN_FIELDS
        st.slider(
            "Start points per axis",
            *fields.bounds(grid),
            key=grid.widget,
            help="grid x grid runs per optimizer; 200 is 40 000 runs each",
        )
        st.slider("Steps", *STEPS_RANGE, key="bs_steps")
        st.caption("The optimizers and their settings come from the explorer's scene.")


def render() -> None:
    state = open_diagnostic_page("bs", BasinState, load, controls, current)
    scene = state.scene

    st.header("Basins of attraction")
    surface = compute.surface(scene.landscape, scene.engine_params())
    if not scene.optimizers:
        st.warning("No optimizer in the scene: add one in the explorer.")
        return
    args = (scene.landscape, scene.engine_params(), scene.optimizers)
    grid, steps = state.grid, scene.steps
    asked = diagnostic_compute.basins_seconds(*args, grid, steps)
    if asked > budget.budget_seconds():
        grid, steps = diagnostic_compute.basins_setting(
            *args, grid, steps, budget.budget_seconds(), GRID_BOUNDS[0]
        )
        budget.report(
            f"{state.grid} x {state.grid} start points x {len(scene.optimizers)} optimizers x "
            f"{scene.steps} steps",
            asked,
            f"{grid} x {grid} start points" + (f", {steps} steps" if steps != scene.steps else ""),
            diagnostic_compute.basins_seconds(*args, grid, steps),
        )
    st.caption(
        f"{surface.name}: {grid} x {grid} start points x "
        f"{len(scene.optimizers)} optimizers x {steps} steps. Each start is coloured by the "
        "known minimum its run reaches. Hover for start, end and steps; click a start to open "
        "the explorer from there."
    )
    maps = []
    bar = st.progress(0.0, text="Running the optimizers from every start…")
    try:
        labels = scene.labels()
        for i, entry in enumerate(scene.optimizers):
            bar.progress(
                i / len(scene.optimizers),
                text=f"Running {labels[i]} ({i + 1}/{len(scene.optimizers)})…",
            )
            maps.append(
                diagnostic_compute.basin_map(
                    scene.landscape,
                    scene.engine_params(),
                    entry,
                    grid,
                    steps,
                    scene.seed,
                )
            )
    except Exception as exc:  # any engine failure becomes a message
        bar.empty()
        show_problem("Could not compute the basins.", str(exc))
        return
    bar.empty()
    if not len(maps[0].minima):
        st.info("This surface lists no minima: every start is 'not converged' or 'diverged'.")
    plotly_view(
        lambda: diagnostic_charts.basins_figure(surface, maps),
        "basin_chart",
        view=("basins", state, grid, steps),  # what the chart is drawn from
        on_click=on_pick,
    )
    st.dataframe(
        diagnostic_charts.basin_rows(maps),
        hide_index=True,
        placeholder="—",  # a missing value reads as a dash, not "None"
        width="stretch",
        column_config={
            n: st.column_config.NumberColumn(format="%.1f %%")
            for n in diagnostic_charts.basin_rows(maps)[0]
            if n != "Optimizer"
        },
    )
    st.caption(
        "Not converged: still moving, oscillating or stalled after the last step, or stopped in a "
        "minimum the surface does not list. Steps: when the run settled (every later step shorter "
        "than 0.01 % of the domain's diagonal) or diverged."
    )
    with st.form("bs_send"):
        st.write("Open the explorer from a start point")
        (x0, x1), (y0, y1) = surface.domain
        left, right = st.columns(2)
        left.number_input(
            "start x", min_value=float(x0), max_value=float(x1), key="bs_x", format="%.4g"
        )
        right.number_input(
            "start y", min_value=float(y0), max_value=float(y1), key="bs_y", format="%.4g"
        )
        st.form_submit_button("Open in the explorer", on_click=send_start)


render()
