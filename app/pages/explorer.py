"""The explorer page: pick a surface and several optimizers, run them, and watch them step by step.

The page state is one ``AppState``: read from the URL when the page opens (or, when another page
led here without a link, from the last scene of this session), built from the widgets on every
run, and written back to the URL, so the address bar always holds a link that reproduces the view.
The scene is also kept in ``st.session_state.scene`` for the other pages.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit, urlunsplit

import numpy as np
import streamlit as st

import landscapes
import optimizers
from app import compute, figures
from app.state import MAX_OPTIMIZERS, SCHEDULE_FIELDS, AppState, OptimizerEntry
from optimizers import Schedule

T = TypeVar("T")
UI_MAX_STEPS = 2000
STEPS_PER_DECADE = 8  # values per decade on log-scale sliders
INT_SCHEDULE_FIELDS = ("step_size", "t_max", "warmup")
# text versions of the figures' end-of-path symbols, to name each optimizer's marker in the sidebar
MARKER_TEXT = ("●", "■", "◆", "▲", "⬟", "⬢", "★", "✚")
CHART_CONFIG = {"displaylogo": False}
SERVER_TIME_HELP = "Time the server spent on this page: engine runs not cached yet, figures, table."


def engine_call(what: str, fn: Callable[..., T], *args: Any) -> T:
    """Call the engine; on any error show it as a message (never a traceback) and stop the run."""
    try:
        return fn(*args)
    except Exception as exc:  # any engine failure becomes a message
        st.error(f"Could not {what}: {exc}")
        st.stop()
        raise  # unreachable: st.stop() ends the script run


# --- state <-> widgets ---------------------------------------------------------------------------


def wkey(eid: int, name: str) -> str:
    """Session-state key of a widget of optimizer entry ``eid``."""
    return f"opt{eid}_{name}"


def load_widgets(state: AppState) -> None:
    """Put a state's values into the widgets' session-state keys (a session's first run)."""
    ss = st.session_state
    ss.entry_counter = itertools.count()
    ss.landscape = state.landscape
    for name, value in state.landscape_params:
        ss[f"lp_{state.landscape}_{name}"] = value
    ss.entry_ids = []
    for entry in state.optimizers:
        add_entry(entry)
    ss.use_default_start = state.start is None
    ss.start_x, ss.start_y = state.start_point()
    ss.steps = min(state.steps, UI_MAX_STEPS)
    ss.seed = state.seed
    ss.k = min(state.shown_step(), ss.steps)
    ss.log_colour = state.log_colour
    ss.show_3d, ss.show_curves, ss.show_arrows = state.show_3d, state.show_curves, state.show_arrows


def add_entry(entry: OptimizerEntry) -> None:
    ss = st.session_state
    eid = next(ss.entry_counter)
    ss.entry_ids = [*ss.entry_ids, eid]
    ss[wkey(eid, "name")] = entry.name
    for name, value in entry.values.items():
        ss[wkey(eid, name)] = value
    ss[wkey(eid, "schedule")] = entry.schedule.kind
    for name in SCHEDULE_FIELDS:
        ss[wkey(eid, f"s_{name}")] = getattr(entry.schedule, name)


def read_entry(eid: int) -> OptimizerEntry:
    """The entry that optimizer ``eid``'s widgets describe; an invalid combination is reported
    and replaced by the optimizer's defaults."""
    ss = st.session_state
    name = ss[wkey(eid, "name")]
    opt = optimizers.get(name)
    hp = {h.name: ss.get(wkey(eid, h.name), h.default) for h in opt.all_hyperparams()}
    default = Schedule()
    fields = {n: ss.get(wkey(eid, f"s_{n}"), getattr(default, n)) for n in SCHEDULE_FIELDS}
    try:
        return OptimizerEntry.make(
            name, schedule=Schedule(ss[wkey(eid, "schedule")], **fields), **hp
        )
    except ValueError as exc:
        st.warning(f"{opt.title}: {exc}. Using its defaults.")
        return OptimizerEntry.make(name)


def current_state() -> AppState:
    """The state the widgets describe."""
    ss = st.session_state
    key = ss.landscape
    params = []
    for p in landscapes.parameters(key):
        value = ss.get(f"lp_{key}_{p.name}", p.default)
        if value != p.default:
            params.append((p.name, float(value)))
    steps = int(ss.steps)
    return AppState(
        landscape=key,
        landscape_params=tuple(sorted(params)),
        optimizers=tuple(read_entry(eid) for eid in ss.entry_ids),
        start=None if ss.use_default_start else (float(ss.start_x), float(ss.start_y)),
        steps=steps,
        seed=int(ss.seed),
        step=None if ss.k >= steps else int(ss.k),
        log_colour=ss.log_colour,
        show_3d=ss.show_3d,
        show_curves=ss.show_curves,
        show_arrows=ss.show_arrows,
    )


def sync_url(state: AppState) -> None:
    """Write the state into the address bar when it changed."""
    query = state.to_query()
    if st.session_state.get("written_query") != query:
        st.query_params.from_dict(query)
        st.session_state.written_query = query


def share_link(state: AppState) -> str:
    scheme, netloc, path, _, _ = urlsplit(st.context.url or "")
    return urlunsplit((scheme, netloc, path, urlencode(state.to_query(), doseq=True), ""))


# --- callbacks (run before the script, so they may set widget values) ----------------------------


def on_landscape_change() -> None:
    st.session_state.use_default_start = True
    st.session_state.log_colour = None
    st.session_state.k = st.session_state.steps


def on_log_toggle() -> None:
    st.session_state.log_colour = st.session_state.log_toggle


def remove_entry(eid: int) -> None:
    st.session_state.entry_ids = [e for e in st.session_state.entry_ids if e != eid]


def add_selected() -> None:
    add_entry(OptimizerEntry.make(st.session_state.new_optimizer))


def start_from_click() -> None:
    """A click on the contour's invisible grid sets the start point."""
    event = st.session_state.get("contour") or {}
    points = event.get("selection", {}).get("points", [])
    if points:
        st.session_state.use_default_start = False
        st.session_state.start_x = float(points[0]["x"])
        st.session_state.start_y = float(points[0]["y"])


def move_step(delta: int | None) -> None:
    """Step and Step x10 (delta > 0), Reset (a large negative delta) or Run to end (None)."""
    ss = st.session_state
    ss.k = ss.steps if delta is None else int(np.clip(ss.k + delta, 0, ss.steps))


# --- widgets ---------------------------------------------------------------------------------------


def log_options(low: float, high: float, value: float) -> list[float]:
    """Values for a log-scale slider: a few per decade between low and high, plus the current."""
    exps = np.arange(
        np.floor(np.log10(low) * STEPS_PER_DECADE), np.ceil(np.log10(high) * STEPS_PER_DECADE) + 1
    )
    grid = {float(f"{10 ** (e / STEPS_PER_DECADE):.3g}") for e in exps}
    return sorted(grid | {float(value)})


def hyperparam_widget(eid: int, h: optimizers.HyperParam) -> None:
    key = wkey(eid, h.name)
    value = st.session_state.get(key, h.default)
    st.session_state[key] = value
    lo, hi = h.ui or (h.low, h.high)
    if h.kind == "bool":
        st.checkbox(h.name, key=key, help=h.description)
    elif h.kind == "int":
        st.number_input(
            h.name,
            min_value=int(min(lo, value)),
            max_value=int(max(hi, value)),
            step=1,
            key=key,
            help=h.description,
        )
    elif h.log and value > 0:
        options = log_options(min(lo, value), max(hi, value), value)
        st.select_slider(
            h.name, options=options, key=key, format_func=lambda v: f"{v:g}", help=h.description
        )
    else:
        top = max(hi, value) if not h.high_open else min(max(hi, value), h.high - 1e-6)
        st.number_input(
            h.name,
            min_value=float(min(max(lo, h.low), value)),
            max_value=float(top),
            key=key,
            format="%.4g",
            help=h.description,
        )


def schedule_widgets(eid: int) -> None:
    ss = st.session_state
    kind = st.selectbox("Learning-rate schedule", optimizers.SCHEDULES, key=wkey(eid, "schedule"))
    for name in Schedule(kind).used_fields():
        key = wkey(eid, f"s_{name}")
        ss[key] = ss.get(key, getattr(Schedule(), name))
        if name in INT_SCHEDULE_FIELDS:
            st.number_input(
                name,
                min_value=1 if name == "step_size" else 0,
                max_value=UI_MAX_STEPS,
                step=1,
                key=key,
            )
        elif name == "eta_min":
            st.number_input(name, min_value=0.0, format="%.4g", key=key)
        else:  # gamma, start_factor
            st.number_input(name, min_value=0.01, max_value=1.0, format="%.4g", key=key)


def optimizer_editor(eid: int, index: int) -> None:
    entry = read_entry(eid)
    opt = optimizers.get(entry.name)
    # keyed: the label changes with the learning rate, and must not reopen a new, closed expander
    with st.expander(
        f"{MARKER_TEXT[index % len(MARKER_TEXT)]} {entry.label}", key=wkey(eid, "editor")
    ):
        st.caption(opt.description)
        st.latex(opt.maths)
        st.caption(f"Reference: {opt.reference}")
        for h in opt.all_hyperparams():
            hyperparam_widget(eid, h)
        schedule_widgets(eid)
        st.button("Remove", key=wkey(eid, "remove"), on_click=remove_entry, args=(eid,))


def sidebar() -> None:
    ss = st.session_state
    cat = compute.catalog()
    with st.sidebar:
        keys = sorted(cat, key=lambda k: (cat[k][0] != "classic", list(cat).index(k)))
        st.selectbox(
            "Landscape",
            keys,
            key="landscape",
            on_change=on_landscape_change,
            format_func=lambda k: f"{cat[k][0]} · {cat[k][1]}",
        )
        for p in landscapes.parameters(ss.landscape):
            key = f"lp_{ss.landscape}_{p.name}"
            ss[key] = ss.get(key, p.default)
            st.slider(
                p.name, min_value=float(p.low), max_value=float(p.high), key=key, help=p.description
            )

        st.subheader("Optimizers")
        for i, eid in enumerate(ss.entry_ids):
            optimizer_editor(eid, i)
        if len(ss.entry_ids) < MAX_OPTIMIZERS:
            titles = {n: optimizers.get(n).title for n in optimizers.available()}
            left, right = st.columns([3, 1], vertical_alignment="bottom")
            left.selectbox(
                "Add an optimizer", list(titles), key="new_optimizer", format_func=titles.get
            )
            right.button("Add", on_click=add_selected)

        st.subheader("Run")
        st.checkbox("Start at the landscape's default point", key="use_default_start")
        land = landscapes.get(ss.landscape)
        if ss.use_default_start:
            ss.start_x, ss.start_y = land.start
        (x0, x1), (y0, y1) = land.domain
        ss.start_x = float(np.clip(ss.start_x, x0, x1))
        ss.start_y = float(np.clip(ss.start_y, y0, y1))
        for column, axis, (low, high) in zip(st.columns(2), "xy", land.domain, strict=True):
            column.number_input(
                f"start {axis}",
                min_value=float(low),
                max_value=float(high),
                key=f"start_{axis}",
                format="%.4g",
                disabled=ss.use_default_start,
            )
        st.caption("Or click on the contour to start there.")
        st.slider("Steps", 10, UI_MAX_STEPS, key="steps")
        st.number_input(
            "Seed of the gradient noise", min_value=0, max_value=2**31 - 1, step=1, key="seed"
        )

        st.subheader("View")
        ss.log_toggle = ss.log_colour if ss.log_colour is not None else land.log_scale
        st.toggle("Log colour scale", key="log_toggle", on_change=on_log_toggle)
        st.toggle("3-D surface", key="show_3d")
        st.toggle("Loss and gradient-norm curves", key="show_curves")
        st.toggle("Arrows: gradient, velocity and step", key="show_arrows")
        st.caption(f"Engine device: **{compute.device_name()}** (torch)")


def step_controls(steps: int) -> None:
    ss = st.session_state
    ss.k = int(min(ss.k, steps))
    cols = st.columns([1.1, 1, 1.3, 1.5, 5], vertical_alignment="bottom")
    cols[0].button("Reset", on_click=move_step, args=(-UI_MAX_STEPS,), width="stretch")
    cols[1].button("Step", on_click=move_step, args=(1,), width="stretch")
    cols[2].button("Step ×10", on_click=move_step, args=(10,), width="stretch")
    cols[3].button("Run to end", on_click=move_step, args=(None,), width="stretch")
    cols[4].slider("Step shown", 0, steps, key="k")


# --- page ------------------------------------------------------------------------------------------


def opening_state() -> tuple[AppState, list[str]]:
    """The state the page opens on: the link's, else this session's last scene, else the default."""
    if st.query_params:
        return AppState.from_query(st.query_params)
    return st.session_state.get("scene", AppState()), []


def render() -> None:
    started = time.perf_counter()
    ss = st.session_state
    # a new session, or back from another page (Streamlit drops the state of widgets not drawn)
    if "entry_ids" not in ss or "landscape" not in ss:
        state, warnings = opening_state()
        load_widgets(state)
        ss.link_warnings = warnings
        ss.pop("written_query", None)
    for message in ss.pop("link_warnings", []):
        st.warning(f"Link: {message}")

    sidebar()
    state = current_state()
    ss.scene = state
    sync_url(state)

    surface = engine_call(
        "sample the surface", compute.surface, state.landscape, state.landscape_params
    )
    start = state.start_point()
    runs = engine_call(
        "run the optimizers",
        compute.runs,
        state.landscape,
        state.landscape_params,
        state.optimizers,
        start,
        state.steps,
        state.seed,
    )
    log_colour = state.log_colour if state.log_colour is not None else surface.log_scale

    st.header(surface.name)
    st.info(surface.notice)
    if not runs:
        st.warning("No optimizer selected: add one in the sidebar.")
    step_controls(state.steps)
    k = int(ss.k)

    fig = figures.contour_figure(surface, runs, k, log_colour=log_colour, arrows=state.show_arrows)
    st.plotly_chart(
        fig,
        key="contour",
        on_select=start_from_click,
        selection_mode="points",
        width="content",
        config=CHART_CONFIG,
    )
    shown = [
        name
        for name, on in (("surface3d", state.show_3d), ("curves", state.show_curves and bool(runs)))
        if on
    ]
    for column, name in zip(st.columns(len(shown)) if shown else [], shown, strict=True):
        with column:
            if name == "surface3d":
                fig = figures.surface3d_figure(surface, runs, k, log_colour=log_colour)
            else:
                fig = figures.curves_figure(runs, k)
            st.plotly_chart(fig, key=name, config=CHART_CONFIG)
    if runs:
        st.dataframe(
            figures.status_rows(runs, k, surface.points),
            hide_index=True,
            width="stretch",
            column_config={
                name: st.column_config.NumberColumn(format="%.4g")
                for name in (
                    "Final loss",
                    "Distance to minimum",
                    "Effective lr x",
                    "Effective lr y",
                )
            },
        )

    with st.expander("Share this view"):
        st.caption("Opening this link reproduces the same scene and the same trajectories.")
        st.code(share_link(state), language=None)
    st.caption(
        f"{state.steps} steps from ({start[0]:.4g}, {start[1]:.4g}), seed {state.seed}. "
        f"Surface: ${surface.formula}$"
    )
    elapsed = (time.perf_counter() - started) * 1000
    st.caption(
        f"Page computed in {elapsed:.0f} ms on {compute.device_name()}.", help=SERVER_TIME_HELP
    )


render()
