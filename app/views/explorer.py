"""The explorer page: pick a surface and several optimizers, run them, and watch them step by step.

The page state is one ``AppState``: read from the URL when the page opens (or, when another page
led here without a link, from the last scene of this session), built from the widgets on every
run (``app.explorer_widgets``, drawn by ``app.explorer_sidebar``), and written back to the URL, so
the address bar always holds a link that reproduces the view. The scene is also kept in
``st.session_state.scene`` for the other pages.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any

import streamlit as st

from app import budget, compute, curvature_panel, explorer_link, lessons, presenter
from app.charts.contour import contour_figure, player_steps, prepare_contour, with_moving_traces
from app.charts.explorer import curves_figure, surface3d_figure
from app.engine_call import engine_call
from app.explorer_sidebar import sidebar
from app.explorer_widgets import (
    close_lesson,
    current_state,
    load_widgets,
    on_step,
    player_controls,
    start_from_click,
    visible,
    wkey,
)
from app.export_buttons import export_buttons
from app.literal import show_link_messages
from app.page_links import share_link, sync_url
from app.plotly_view import plotly_view
from app.slider_values import likely_entries
from app.state import AppState
from app.surfaces import CUSTOM

# the chart on the first screen of a 1280 x 720 projector: less of Streamlit's space above the page
CHART_FIRST_CSS = (
    "<style>[data-testid='stMainBlockContainer'] { padding-top: 3.6rem; }"
    " [data-testid='stMain'] h2 { padding-top: 0; padding-bottom: 0.2rem; }</style>"
)

SERVER_TIME_HELP = "Time the server spent on this page: engine runs not cached yet, figures, table."


def lesson_panel(lesson_id: str) -> None:
    """The open lesson's title, explanation and what to notice."""
    lesson = lessons.get(lesson_id)
    with st.container(border=True):  # short: the chart below must stay on the first screen
        title, why, close = st.columns([4, 1, 1.3], vertical_alignment="center")
        title.subheader(f"Lesson: {lesson.title}")
        with why.popover("Why?", width="stretch", help="The explanation"):
            st.markdown(lesson.explanation)
        if visible("lessons"):
            close.button("Close lesson", on_click=close_lesson, width="stretch")
        st.markdown(f"**What to notice:** {lesson.notice}")


# --- page ------------------------------------------------------------------------------------------


def opening_state() -> tuple[AppState, list[str]]:
    """The state the page opens on: the link's, else this session's last scene, else the default."""
    if st.query_params:
        return explorer_link.from_query(st.query_params)
    return st.session_state.get("scene", AppState()), []


def chart(
    build: Callable[[], Any], key: str, state: AppState, view: Hashable, **options: Any
) -> None:
    """One of the page's charts (``plotly_view``), restyled in presenter mode. ``build`` makes
    the figure; ``view`` (the scene and what else the figure is drawn from) keys its bytes,
    shared with every session that shows the same view."""
    present = state.present
    plotly_view(
        (lambda: presenter.restyle(build(), state.theme)) if present else build,
        key,
        view=view,
        app_theme=not present,
        **options,
    )


def render() -> None:
    started = time.perf_counter()
    ss = st.session_state
    # a new session, back from another page (Streamlit drops the state of widgets not drawn), or
    # sent here with a view by another page (the Lessons page sets explorer_reload)
    if "entry_ids" not in ss or "landscape" not in ss or ss.pop("explorer_reload", False):
        state, warnings = opening_state()
        load_widgets(state)
        ss.link_warnings = warnings
        ss.pop("written_query", None)
    show_link_messages(ss.pop("link_warnings", []))
    pick = curvature_panel.take_pick()
    if pick is not None and pick.index < len(ss.entry_ids):  # a click on the rate map
        eid = ss.entry_ids[pick.index]
        ss[wkey(eid, "lr")] = pick.lr
        if pick.momentum is not None:
            ss[wkey(eid, "momentum")] = pick.momentum

    sidebar()
    state = current_state()
    ss.scene = state
    sync_url(state.to_query(), "written_query")

    surface = engine_call(
        "sample the surface", compute.surface, state.landscape, state.engine_params()
    )
    start = state.start_point()
    log_colour = state.log_colour if state.log_colour is not None else surface.log_scale
    # the surface's image is drawn while the runs compute (a new surface: some 35 ms)
    contour_base = prepare_contour(surface, log_colour)
    # above the compute budget: the most steps within it (the link and the slider keep the asked)
    limit = budget.budget_seconds()
    asked = compute.runs_seconds(
        state.landscape, state.engine_params(), state.optimizers, state.steps
    )
    steps = state.steps
    if asked > limit:
        steps = compute.runs_steps(
            state.landscape, state.engine_params(), state.optimizers, state.steps, limit
        )
    ss.steps_computed = steps
    runs = engine_call(
        "run the optimizers",
        compute.runs,
        state.landscape,
        state.engine_params(),
        state.optimizers,
        start,
        steps,
        state.seed,
    )
    runs = compute.in_scene(runs, state)  # labels no two alike, colours that stay with a run
    contour_base.exception()  # waited for; a failure is raised again by contour_figure

    if state.present:
        st.html(presenter.page_css(state.theme))
    if state.lesson is not None:
        lesson_panel(state.lesson)
    st.html(CHART_FIRST_CSS)
    if state.lesson is None:
        st.header(surface.name)
        st.caption(surface.notice)
    elif not state.present:  # the lesson's title heads the page; the surface in one line
        st.caption(f"**{surface.name}**: {surface.notice}")
    if steps < state.steps:
        n = len(state.optimizers)
        budget.report(
            f"{n} optimizer{'s' if n != 1 else ''} x {state.steps} steps",
            asked,
            f"{steps} steps",
            compute.runs_seconds(state.landscape, state.engine_params(), state.optimizers, steps),
        )
    if state.landscape == CUSTOM:  # maths typeset from the checked syntax tree, never the text
        st.latex(f"f(x, y) = {surface.formula}")
    if not runs:
        st.warning("No optimizer selected: add one in the sidebar.")
    ss.k = k = int(min(ss.k, steps))

    contour = contour_figure(
        surface,
        runs,
        k,
        log_colour=log_colour,
        arrows=state.show_arrows,
        average=state.show_average,
    )
    # what the charts are drawn from: the scene, and the steps computed and shown
    view = ("explorer", state, steps, k)

    def contour_chart() -> Any:
        if not state.show_curvature:
            return contour
        axes = curvature_panel.curvature_traces(surface, runs, player_steps(contour), state)
        return with_moving_traces(contour, axes)  # the Hessian axes move with the player

    chart(
        contour_chart,
        "contour",
        state,
        view,
        on_click=start_from_click,
        on_step=on_step,
        controls=player_controls(),
        autoplay=state.play,
        width="content",
    )
    shown = [
        name
        for name, on in (("surface3d", state.show_3d), ("curves", state.show_curves and bool(runs)))
        if on
    ]
    # the 3-D view is filled in last: drawing it in software WebGL takes the browser a second or
    # more, and the charts sent before it are drawn first
    slot3d = None
    for column, name in zip(st.columns(len(shown)) if shown else [], shown, strict=True):
        with column:
            if name == "surface3d":
                slot3d = st.empty()
            else:
                chart(lambda: curves_figure(runs, k), name, state, view)
    if state.show_curvature and runs:
        curvature_panel.curvature_panel(surface, runs, k, state)

    if visible("share"):
        with st.expander("Share this view"):
            st.caption("Opening this link reproduces the same scene and the same trajectories.")
            st.code(share_link(state.to_query()), language=None)
        with st.expander("Link builder: what students see"):
            st.caption(
                "Choose the controls a student sees, hides or cannot change, and presenter mode; "
                "the link opens this view that way."
            )
            st.code(
                share_link(presenter.link_builder(state, key="explorer_builder").to_query()),
                language=None,
            )
        with st.expander("Export"):
            export_buttons(state, surface, runs, contour, log_colour)
    st.caption(
        f"{steps} steps from ({start[0]:.4g}, {start[1]:.4g}), seed {state.seed}. "
        f"Surface: ${surface.formula}$"
    )
    if slot3d is not None:
        with slot3d:
            chart(
                lambda: surface3d_figure(surface, runs, k, log_colour=log_colour),
                "surface3d",
                state,
                view,
            )
    elapsed = (time.perf_counter() - started) * 1000
    # after the page: the runs a learning-rate slider can move to, computed in the background,
    # as many of the likeliest as the compute budget allows
    likely = compute.prefetch_within(
        state.landscape, state.engine_params(), likely_entries(state.optimizers), steps, limit
    )
    compute.prefetch(state.landscape, state.engine_params(), likely, start, steps, state.seed)
    st.caption(
        f"Page computed in {elapsed:.0f} ms on {compute.device_name()}.", help=SERVER_TIME_HELP
    )


render()
