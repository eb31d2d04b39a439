"""The explorer's widgets and its state: ``load_widgets`` puts an ``AppState`` into the widgets'
session-state keys, ``current_state`` reads the state they describe, and the callbacks change
them before a rerun. The plain link values (steps, seed, view switches) are bound through their
``Field`` declarations (``app.state.RUN_FIELDS``, ``VIEW_FIELDS``)."""

from __future__ import annotations

import functools
import itertools
from dataclasses import replace

import streamlit as st

import optimizers
from app import lessons
from app.labels import lowest_free
from app.links import fields
from app.literal import show_problem
from app.plotly_view import clicked_point, stepped
from app.state import RUN_FIELDS, SCHEDULE_FIELDS, VIEW_FIELDS, AppState, OptimizerEntry
from app.surfaces import landscape_parameters
from landscapes.formula import DEFAULT_DOMAIN, DEFAULT_FORMULA, FormulaError, check_domain, parse
from optimizers import Schedule

BOUND_FIELDS = tuple(f for f in RUN_FIELDS + VIEW_FIELDS if f.widget is not None)


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
    fields.load_widgets(state, BOUND_FIELDS)  # steps, seed and the view switches
    ss.k = min(state.shown_step(), ss.steps)
    ss.log_colour = state.log_colour
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
    checked, problem = checked_formula(formula)
    if problem is not None:
        errors.append(
            (f"This formula cannot be used; showing the default {DEFAULT_FORMULA}.", problem)
        )
    return checked, domain, errors


@functools.lru_cache(maxsize=256)
def checked_formula(text: str) -> tuple[str, str | None]:
    """(the formula's canonical text, None), or (the default formula, the parser's message):
    remembered, as every rerun of the page checks the same text twice."""
    try:
        return parse(text).text, None
    except FormulaError as exc:
        return DEFAULT_FORMULA, str(exc)


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
    bound = fields.read_widgets(BOUND_FIELDS)  # steps, seed and the view switches
    steps = bound["steps"]
    # the last step computed: fewer than asked above the compute budget (``render``)
    end = min(steps, int(ss.get("steps_computed", steps)))
    return AppState(
        landscape=key,
        landscape_params=tuple(sorted(params)),
        optimizers=tuple(read_entry(eid) for eid in ss.entry_ids),
        slots=tuple(ss.entry_slots[eid] for eid in ss.entry_ids),
        start=None if ss.use_default_start else (float(ss.start_x), float(ss.start_y)),
        step=None if ss.k >= end else int(ss.k),
        log_colour=ss.log_colour,
        **bound,
        formula=formula,
        domain=domain,
        lesson=ss.get("lesson"),
        **ss.get("presentation", {}),
    )


def visible(control: str) -> bool:
    """Whether a control group is drawn (a link can hide it: ``hide=...``)."""
    return control not in st.session_state.get("presentation", {}).get("hide", ())


def locked(control: str) -> bool:
    """Whether a control group is drawn disabled (``lock=...``)."""
    return control in st.session_state.get("presentation", {}).get("lock", ())


def player_controls() -> str:
    """How the contour's player shows its controls: "hidden", "locked" or "show" (a link's
    hide= and lock= of "playback")."""
    if not visible("playback"):
        return "hidden"
    return "locked" if locked("playback") else "show"


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
