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
from dataclasses import replace
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit, urlunsplit

import numpy as np
import streamlit as st

import optimizers
from app import budget, compute, curvature_panel, exports, lessons, presenter
from app.charts.contour import contour_figure, player_steps, prepare_contour, with_moving_traces
from app.charts.explorer import curves_figure, surface3d_figure
from app.labels import lowest_free, unique_labels
from app.literal import show_link_messages, show_problem
from app.page_links import sync_url
from app.plotly_view import clicked_point, plotly_view, stepped
from app.slider_values import likely_entries, log_options
from app.state import (
    CUSTOM,
    MAX_OPTIMIZERS,
    SCHEDULE_FIELDS,
    STEPS_RANGE,
    AppState,
    OptimizerEntry,
    landscape_for,
    landscape_parameters,
)
from landscapes.formula import DEFAULT_DOMAIN, DEFAULT_FORMULA, FormulaError, check_domain, parse
from optimizers import Schedule
from optimizers.schedules import FIELD_RANGES as SCHEDULE_RANGES

T = TypeVar("T")
INT_SCHEDULE_FIELDS = ("step_size", "t_max", "warmup")
# text versions of the figures' end-of-path symbols, to name each optimizer's marker in the sidebar
MARKER_TEXT = ("●", "■", "◆", "▲", "⬟", "⬢", "★", "✚")
# the chart on the first screen of a 1280 x 720 projector: less of Streamlit's space above the page
CHART_FIRST_CSS = (
    "<style>[data-testid='stMainBlockContainer'] { padding-top: 3.6rem; }"
    " [data-testid='stMain'] h2 { padding-top: 0; padding-bottom: 0.2rem; }</style>"
)
SERVER_TIME_HELP = "Time the server spent on this page: engine runs not cached yet, figures, table."


def engine_call(what: str, fn: Callable[..., T], *args: Any) -> T:
    """Call the engine; on any error show it as a message (never a traceback) and stop the run."""
    try:
        return fn(*args)
    except Exception as exc:  # any engine failure becomes a message
        show_problem(f"Could not {what}.", str(exc))
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
    ss.formula = state.formula
    (ss.dom_x0, ss.dom_x1), (ss.dom_y0, ss.dom_y1) = state.domain
    for name, value in state.landscape_params:
        ss[f"lp_{state.landscape}_{name}"] = value
    ss.entry_ids = []
    ss.entry_slots = {}
    for entry, slot in zip(state.optimizers, state.run_slots(), strict=True):
        add_entry(entry, slot)
    ss.use_default_start = state.start is None
    ss.start_x, ss.start_y = state.start_point()
    ss.steps = state.steps
    ss.seed = state.seed
    ss.k = min(state.shown_step(), ss.steps)
    ss.log_colour = state.log_colour
    ss.show_3d, ss.show_curves, ss.show_arrows = state.show_3d, state.show_curves, state.show_arrows
    ss.show_curvature = state.show_curvature
    ss.lesson = state.lesson
    ss.presentation = {
        "hide": state.hide,
        "lock": state.lock,
        "present": state.present,
        "theme": state.theme,
        "play": state.play,
    }


def add_entry(entry: OptimizerEntry, slot: int | None = None) -> None:
    """Add an optimizer's widgets; its colour slot is ``slot``, else the lowest one free (a run
    keeps its colour and marker when others are added or removed)."""
    ss = st.session_state
    eid = next(ss.entry_counter)
    if slot is None:
        slot = lowest_free([ss.entry_slots[e] for e in ss.entry_ids])
    ss.entry_slots = {**ss.entry_slots, eid: slot}
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
        show_problem(
            f"{opt.title}: these settings are not valid; using its defaults.", str(exc), error=False
        )
        return OptimizerEntry.make(name)


def custom_values() -> tuple[
    str, tuple[tuple[float, float], tuple[float, float]], list[tuple[str, str]]
]:
    """The custom formula and domain the widgets hold, checked: a bad one is replaced by the
    default, and (what was replaced, the parser's message) returned."""
    ss = st.session_state
    errors = []
    formula, domain = ss.get("formula", DEFAULT_FORMULA), DEFAULT_DOMAIN
    try:
        (dx0, dx1), (dy0, dy1) = DEFAULT_DOMAIN
        domain = check_domain(
            (
                (ss.get("dom_x0", dx0), ss.get("dom_x1", dx1)),
                (ss.get("dom_y0", dy0), ss.get("dom_y1", dy1)),
            )
        )
    except FormulaError as exc:
        errors.append((f"This domain cannot be used; using {DEFAULT_DOMAIN}.", str(exc)))
    try:
        formula = parse(formula).text
    except FormulaError as exc:
        errors.append(
            (f"This formula cannot be used; showing the default {DEFAULT_FORMULA}.", str(exc))
        )
        formula = DEFAULT_FORMULA
    return formula, domain, errors


def current_state() -> AppState:
    """The state the widgets describe."""
    ss = st.session_state
    key = ss.landscape
    formula, domain, _ = custom_values()
    params = []
    for p in landscape_parameters(key):
        value = ss.get(f"lp_{key}_{p.name}", p.default)
        if value != p.default:
            params.append((p.name, float(value)))
    steps = int(ss.steps)
    # the last step computed: fewer than asked above the compute budget (``render``)
    end = min(steps, int(ss.get("steps_computed", steps)))
    return AppState(
        landscape=key,
        landscape_params=tuple(sorted(params)),
        optimizers=tuple(read_entry(eid) for eid in ss.entry_ids),
        slots=tuple(ss.entry_slots[eid] for eid in ss.entry_ids),
        start=None if ss.use_default_start else (float(ss.start_x), float(ss.start_y)),
        steps=steps,
        seed=int(ss.seed),
        step=None if ss.k >= end else int(ss.k),
        log_colour=ss.log_colour,
        show_3d=ss.show_3d,
        show_curves=ss.show_curves,
        show_arrows=ss.show_arrows,
        show_curvature=ss.show_curvature,
        formula=formula,
        domain=domain,
        lesson=ss.get("lesson"),
        **ss.get("presentation", {}),
    )


def share_link(state: AppState) -> str:
    scheme, netloc, path, _, _ = urlsplit(st.context.url or "")
    return urlunsplit((scheme, netloc, path, urlencode(state.to_query(), doseq=True), ""))


# --- callbacks (run before the script, so they may set widget values) ----------------------------


def on_landscape_change() -> None:
    st.session_state.use_default_start = True
    st.session_state.log_colour = None
    st.session_state.k = 0  # a new scene opens at step 0, with Play as the next action


def on_lesson_pick() -> None:
    """Open the picked lesson's view (keeping the link's hidden and locked controls)."""
    ss = st.session_state
    picked = ss.lesson_pick
    if not picked:
        ss.lesson = None
        return
    keep = ss.get("presentation", {})
    view = lessons.get(picked).view()
    load_widgets(replace(view, **keep) if keep else view)


def close_lesson() -> None:
    st.session_state.lesson = None


def on_log_toggle() -> None:
    st.session_state.log_colour = st.session_state.log_toggle


def remove_entry(eid: int) -> None:
    st.session_state.entry_ids = [e for e in st.session_state.entry_ids if e != eid]


def add_selected() -> None:
    name = st.session_state.new_optimizer
    # the optimizer's suggested settings on a surface (SGD's gradient noise), set explicitly
    add_entry(OptimizerEntry.make(name, **dict(optimizers.get(name).surface_settings)))


def start_from_click() -> None:
    """A click on the contour's invisible grid sets the start point."""
    if not visible("start") or locked("start"):
        return
    point = clicked_point("contour")
    if point is not None:
        st.session_state.use_default_start = False
        st.session_state.start_x, st.session_state.start_y = point


def on_step() -> None:
    """The contour's player stopped on a step (Pause, Step, Reset, Run to end, the scrubber):
    the tables, the curvature and the link follow it."""
    step = stepped("contour")
    if step is not None:
        st.session_state.k = int(min(max(step, 0), st.session_state.steps))


# --- widgets ---------------------------------------------------------------------------------------


def hyperparam_widget(eid: int, h: optimizers.HyperParam, disabled: bool = False) -> None:
    key = wkey(eid, h.name)
    value = st.session_state.get(key, h.default)
    st.session_state[key] = value
    lo, hi = h.ui or (h.low, h.high)
    if h.kind == "bool":
        st.checkbox(h.name, key=key, help=h.description, disabled=disabled)
    elif h.kind == "int":
        st.number_input(
            h.name,
            min_value=int(min(lo, value)),
            max_value=int(max(hi, value)),
            step=1,
            key=key,
            disabled=disabled,
            help=h.description,
        )
    elif h.log and value > 0:
        options = log_options(min(lo, value), max(hi, value), (value,))
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
            disabled=disabled,
            format="%.4g",
            help=h.description,
        )


def schedule_widgets(eid: int, disabled: bool = False) -> None:
    ss = st.session_state
    kind = st.selectbox(
        "Learning-rate schedule",
        optimizers.SCHEDULES,
        key=wkey(eid, "schedule"),
        disabled=disabled,
    )
    for name in Schedule(kind).used_fields():
        key = wkey(eid, f"s_{name}")
        ss[key] = ss.get(key, getattr(Schedule(), name))
        low, high = SCHEDULE_RANGES[name]
        if name in INT_SCHEDULE_FIELDS:
            st.number_input(
                name, min_value=int(low), max_value=int(high), step=1, key=key, disabled=disabled
            )
        else:  # gamma, eta_min, start_factor
            st.number_input(
                name, min_value=low, max_value=high, format="%.4g", key=key, disabled=disabled
            )


def editor_keys(eid: int) -> list[str]:
    """The session-state keys of optimizer ``eid``'s editor widgets."""
    opt = optimizers.get(st.session_state[wkey(eid, "name")])
    return [
        *(wkey(eid, h.name) for h in opt.all_hyperparams()),
        wkey(eid, "schedule"),
        *(wkey(eid, f"s_{name}") for name in SCHEDULE_FIELDS),
    ]


def remember_editor(eid: int) -> None:
    """An editor opened or closed: remember it for the editor drawn next."""
    ss = st.session_state
    ss[wkey(eid, "editor_open")] = bool(ss[wkey(eid, "editor")])


def optimizer_editor(eid: int, entry: OptimizerEntry, label: str, disabled: bool = False) -> None:
    """An optimizer's editor. Only an open one draws its widgets (some 40 ms per rerun for six
    closed ones); a closed one keeps their values, which Streamlit drops for widgets not drawn."""
    ss = st.session_state
    opt = optimizers.get(entry.name)
    # the label (part of the expander's identity) changes with the learning rate: the open state
    # is kept under a key of its own and given as the new expander's initial state
    editor = st.expander(
        f"{MARKER_TEXT[ss.entry_slots[eid] % len(MARKER_TEXT)]} {label}",
        expanded=ss.get(wkey(eid, "editor_open"), False),
        key=wkey(eid, "editor"),
        on_change=remember_editor,
        args=(eid,),
    )
    if not editor.open:
        for key in editor_keys(eid):
            if key in ss:
                ss[key] = ss[key]
        return
    with editor:
        st.caption(opt.description)
        st.latex(opt.maths)
        st.caption(f"Reference: {opt.reference}")
        for h in opt.all_hyperparams():
            hyperparam_widget(eid, h, disabled)
        schedule_widgets(eid, disabled)
        if not disabled:
            st.button("Remove", key=wkey(eid, "remove"), on_click=remove_entry, args=(eid,))


def visible(control: str) -> bool:
    """Whether a control group is drawn (a link can hide it: ``hide=...``)."""
    return control not in st.session_state.get("presentation", {}).get("hide", ())


def locked(control: str) -> bool:
    """Whether a control group is drawn disabled (``lock=...``)."""
    return control in st.session_state.get("presentation", {}).get("lock", ())


def lesson_picker() -> None:
    ids = [""] + [x.id for x in lessons.EXPLORER_LESSONS]
    st.session_state.lesson_pick = st.session_state.get("lesson") or ""
    st.selectbox(
        "Lesson",
        ids,
        key="lesson_pick",
        on_change=on_lesson_pick,
        format_func=lambda i: lessons.get(i).title if i else "None: free exploration",
        disabled=locked("lessons"),
        help="Ready views with an explanation; all of them are on the Lessons page.",
    )


def sidebar() -> None:
    ss = st.session_state
    cat = compute.catalog()
    formula, domain, errors = custom_values()
    with st.sidebar:
        if visible("lessons"):
            lesson_picker()
        if visible("landscape"):
            keys = sorted(cat, key=lambda k: (cat[k][0] != "classic", list(cat).index(k)))
            names = {**cat, CUSTOM: ("custom", "Your formula")}
            st.selectbox(
                "Landscape",
                [*keys, CUSTOM],
                key="landscape",
                on_change=on_landscape_change,
                format_func=lambda k: f"{names[k][0]} · {names[k][1]}",
                disabled=locked("landscape"),
            )
            if ss.landscape == CUSTOM:
                custom_inputs(errors, disabled=locked("landscape"))
            for p in landscape_parameters(ss.landscape):
                key = f"lp_{ss.landscape}_{p.name}"
                ss[key] = ss.get(key, p.default)
                st.slider(
                    p.name,
                    min_value=float(p.low),
                    max_value=float(p.high),
                    key=key,
                    help=p.description,
                    disabled=locked("landscape"),
                )
        elif ss.landscape == CUSTOM:
            for heading, detail in errors:
                show_problem(heading, detail)

        if visible("optimizers"):
            st.subheader("Optimizers")
            entries = [read_entry(eid) for eid in ss.entry_ids]
            labels = unique_labels(e.label for e in entries)
            for eid, entry, label in zip(ss.entry_ids, entries, labels, strict=True):
                optimizer_editor(eid, entry, label, disabled=locked("optimizers"))
            if len(ss.entry_ids) < MAX_OPTIMIZERS and not locked("optimizers"):
                titles = {n: optimizers.get(n).title for n in optimizers.available()}
                left, right = st.columns([3, 1], vertical_alignment="bottom")
                left.selectbox(
                    "Add an optimizer", list(titles), key="new_optimizer", format_func=titles.get
                )
                right.button("Add", on_click=add_selected)

        land = landscape_for(
            ss.landscape,
            (("dom", domain), ("fx", formula)) if ss.landscape == CUSTOM else (),
        )
        if ss.use_default_start:
            ss.start_x, ss.start_y = land.start
        (x0, x1), (y0, y1) = land.domain
        ss.start_x = float(np.clip(ss.start_x, x0, x1))
        ss.start_y = float(np.clip(ss.start_y, y0, y1))
        if visible("start") or visible("steps"):
            st.subheader("Run")
        if visible("start"):
            st.checkbox(
                "Start at the landscape's default point",
                key="use_default_start",
                disabled=locked("start"),
            )
            for column, axis, (low, high) in zip(st.columns(2), "xy", land.domain, strict=True):
                column.number_input(
                    f"start {axis}",
                    min_value=float(low),
                    max_value=float(high),
                    key=f"start_{axis}",
                    format="%.4g",
                    disabled=ss.use_default_start or locked("start"),
                )
            if not locked("start"):
                st.caption("Or click on the contour to start there.")
        if visible("steps"):
            st.slider("Steps", *STEPS_RANGE, key="steps", disabled=locked("steps"))
            st.number_input(
                "Seed of the gradient noise",
                min_value=0,
                max_value=2**31 - 1,
                step=1,
                key="seed",
                disabled=locked("steps"),
            )

        if visible("view"):
            st.subheader("View")
            ss.log_toggle = ss.log_colour if ss.log_colour is not None else land.log_scale
            off = locked("view")
            st.toggle("Log colour scale", key="log_toggle", on_change=on_log_toggle, disabled=off)
            st.toggle("3-D surface", key="show_3d", disabled=off)
            st.toggle("Loss and gradient-norm curves", key="show_curves", disabled=off)
            st.toggle("Arrows: gradient, velocity and step", key="show_arrows", disabled=off)
            st.toggle("Curvature: Hessian axes and stability", key="show_curvature", disabled=off)
        st.caption(f"Engine device: **{compute.device_name()}** (torch)")


def custom_inputs(errors: list[tuple[str, str]], disabled: bool = False) -> None:
    """The formula and domain inputs of the custom landscape, with the parser's messages."""
    ss = st.session_state
    (x0, x1), (y0, y1) = DEFAULT_DOMAIN
    defaults = {"formula": DEFAULT_FORMULA, "dom_x0": x0, "dom_x1": x1, "dom_y0": y0, "dom_y1": y1}
    for key, value in defaults.items():
        ss[key] = ss.get(key, value)
    st.text_input(
        "f(x, y) =",
        key="formula",
        max_chars=300,
        disabled=disabled,
        help="Numbers, x, y, pi, e, + - * / ** (or ^), parentheses, sin cos tan exp log sqrt "
        "tanh abs sinh cosh atan, min(a, b), max(a, b). Parsed, never executed.",
    )
    for names in (("dom_x0", "dom_x1"), ("dom_y0", "dom_y1")):  # one row per axis
        for column, name in zip(st.columns(2), names, strict=True):
            label = f"{name[-2]} from" if name.endswith("0") else f"{name[-2]} to"
            column.number_input(label, key=name, format="%.4g", disabled=disabled)
    for heading, detail in errors:
        show_problem(heading, detail)


def player_controls() -> str:
    """How the contour's player shows its controls: "hidden", "locked" or "show" (a link's
    hide= and lock= of "playback")."""
    if not visible("playback"):
        return "hidden"
    return "locked" if locked("playback") else "show"


def export_buttons(
    state: AppState,
    surface: compute.Surface,
    runs: list[compute.Run],
    contour: Any,
    log_colour: bool,
) -> None:
    """Download buttons; each file is made only when its button is clicked (deferred data)."""
    name = f"optiscape-{state.landscape}"
    st.caption(
        "Every file carries the link that reproduces this view. PNG of any chart: the camera "
        "button of the chart's toolbar. No MP4: no video encoder is installed."
    )
    files = [
        (
            "Animated figure (HTML, plays offline)",
            f"{name}.html",
            "text/html",
            lambda: exports.html_bytes(contour, title=f"optiscape: {surface.name}"),
        ),
        (
            "Race (animated GIF)",
            f"{name}.gif",
            "image/gif",
            lambda: exports.gif_bytes(surface, runs, log_colour=log_colour),
        ),
        (
            "Trajectories (CSV)",
            f"{name}-trajectories.csv",
            "text/csv",
            lambda: exports.trajectories_csv(state, runs),
        ),
        (
            "Trajectories (JSON)",
            f"{name}-trajectories.json",
            "application/json",
            lambda: exports.trajectories_json(state, runs),
        ),
        (
            "Surface grid (NPZ)",
            f"{name}-surface.npz",
            "application/octet-stream",
            lambda: exports.surface_npz(state, surface),
        ),
    ]
    columns = st.columns(len(files))
    for column, (label, file_name, mime, make) in zip(columns, files, strict=True):
        column.download_button(
            label,
            data=make,
            file_name=file_name,
            mime=mime,
            on_click="ignore",
            disabled=not runs and file_name.endswith(("gif", "csv", "json")),
            key=f"export_{file_name}",
            width="stretch",
        )


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
        return AppState.from_query(st.query_params)
    return st.session_state.get("scene", AppState()), []


def chart(fig: Any, key: str, state: AppState, **options: Any) -> None:
    """One of the page's charts (``plotly_view``), restyled in presenter mode."""
    present = state.present
    plotly_view(
        presenter.restyle(fig, state.theme) if present else fig,
        key,
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

    fig = contour = contour_figure(
        surface, runs, k, log_colour=log_colour, arrows=state.show_arrows
    )
    if state.show_curvature:
        axes = curvature_panel.curvature_traces(surface, runs, player_steps(fig), state)
        fig = with_moving_traces(fig, axes)  # the Hessian axes move with the player
    chart(
        fig,
        "contour",
        state,
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
                chart(curves_figure(runs, k), name, state)
    if state.show_curvature and runs:
        curvature_panel.curvature_panel(surface, runs, k, state)

    if visible("share"):
        with st.expander("Share this view"):
            st.caption("Opening this link reproduces the same scene and the same trajectories.")
            st.code(share_link(state), language=None)
        with st.expander("Link builder: what students see"):
            st.caption(
                "Choose the controls a student sees, hides or cannot change, and presenter mode; "
                "the link opens this view that way."
            )
            st.code(
                share_link(presenter.link_builder(state, key="explorer_builder")), language=None
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
                surface3d_figure(surface, runs, k, log_colour=log_colour),
                "surface3d",
                state,
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
