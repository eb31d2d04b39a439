"""The explorer's sidebar: the lesson picker, the landscape and its parameters, each optimizer's
editor, the start point, the run length and the view switches."""

from __future__ import annotations

import numpy as np
import streamlit as st

import optimizers
from app import compute, lessons
from app.explorer_widgets import (
    add_selected,
    custom_values,
    editor_keys,
    locked,
    on_landscape_change,
    on_lesson_pick,
    on_log_toggle,
    read_entry,
    remember_editor,
    remove_entry,
    visible,
    wkey,
)
from app.labels import unique_labels
from app.links.fields import bounds
from app.literal import show_problem
from app.slider_values import log_options
from app.state import MAX_OPTIMIZERS, RUN_FIELDS, OptimizerEntry
from app.surfaces import CUSTOM, landscape_for, landscape_parameters
from landscapes.formula import DEFAULT_DOMAIN, DEFAULT_FORMULA
from optimizers import Schedule
from optimizers.schedules import FIELD_RANGES as SCHEDULE_RANGES

INT_SCHEDULE_FIELDS = ("step_size", "t_max", "warmup")
# text versions of the figures' end-of-path symbols, to name each optimizer's marker in the sidebar
MARKER_TEXT = ("●", "■", "◆", "▲", "⬟", "⬢", "★", "✚")
STEPS_FIELD, SEED_FIELD = RUN_FIELDS[0], RUN_FIELDS[1]


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
            st.slider(
                "Steps", *bounds(STEPS_FIELD), key=STEPS_FIELD.widget, disabled=locked("steps")
            )
            low, high = bounds(SEED_FIELD)
            st.number_input(
                "Seed of the gradient noise",
                min_value=low,
                max_value=high,
                step=1,
                key=SEED_FIELD.widget,
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
            st.toggle("Averaged iterate (ASGD, schedule-free)", key="show_average", disabled=off)
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
