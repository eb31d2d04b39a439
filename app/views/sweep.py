"""The learning-rate sweep page: final loss and steps to converge against the learning rate.

For the scene's surface, start and optimizers, every optimizer runs at every learning rate of a
log grid in one batched engine call. The chart marks each optimizer's divergence threshold and
best learning rate, and for quadratic surfaces the theory (2/lambda_max, the optimal step,
heavy-ball momentum's bound). A click on a point opens the explorer with that learning rate; the
auto-tune action applies the best learning rates there. The view lives in the URL
(``app.diagnostic_state.SweepState``).
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

import optimizers
from app import budget, compute, diagnostic_compute
from app.charts import diagnostics as diagnostic_charts
from app.diagnostic_state import (
    COUNT_BOUNDS,
    OBJECTIVES,
    SWEEP_FIELDS,
    SweepState,
    custom_values,
    with_lr,
    with_lrs,
)
from app.links import fields
from app.literal import show_problem
from app.page_links import open_diagnostic_page
from app.plotly_view import clicked, plotly_view
from app.state import STEPS_RANGE

OBJECTIVE_NAMES = {"final_loss": "final loss after the run", "steps": "steps to converge"}


def load(state: SweepState) -> None:
    ss = st.session_state
    ss.sw_scene = state.scene
    ss.sw_landscape = state.scene.landscape
    fields.load_widgets(state, SWEEP_FIELDS)  # lr range, count, objective
    ss.sw_steps = state.scene.steps


def on_landscape() -> None:
    ss = st.session_state
    ss.sw_scene = replace(ss.sw_scene, landscape=ss.sw_landscape, landscape_params=(), start=None)


def on_pick() -> None:
    """A click on a sweep point: open the explorer with that optimizer's learning rate."""
    custom = custom_values(clicked("sweep_chart") or {})
    if len(custom) >= 2:
        scene = st.session_state.sw_state.scene
        index = int(custom[0])
        if 0 <= index < len(scene.optimizers):
            st.session_state.goto = with_lr(scene, index, float(custom[1])).to_query()


def apply_tuned(lrs: list[float]) -> None:
    st.session_state.goto = with_lrs(st.session_state.sw_state.scene, lrs).to_query()


def current() -> SweepState:
    ss = st.session_state
    own = fields.read_widgets(SWEEP_FIELDS)
    low, high = own.pop("lr_low"), own.pop("lr_high")
    if low >= high:
        st.warning(
            f"The lowest learning rate {low:g} must be below the highest {high:g}; using both defaults."
        )
        low, high = SweepState.lr_low, SweepState.lr_high
    scene = replace(ss.sw_scene, steps=int(ss.sw_steps), step=None)
    return SweepState(scene, low, high, **own)


def controls() -> None:
    cat = compute.catalog()
    with st.sidebar:
        st.subheader("Sweep")
        keys = sorted(cat, key=lambda k: (cat[k][0] != "classic", list(cat).index(k)))
        if st.session_state.sw_landscape not in keys:  # the custom formula, from the explorer
            keys.append(st.session_state.sw_landscape)
        st.selectbox(
            "Landscape",
            keys,
            key="sw_landscape",
            on_change=on_landscape,
            format_func=lambda k: f"{cat[k][0]} · {cat[k][1]}" if k in cat else k,
        )
        low, high, count, _ = SWEEP_FIELDS
        for column, label, f in zip(
            st.columns(2), ("lowest lr", "highest lr"), (low, high), strict=True
        ):
            column.number_input(label, *fields.bounds(f), key=f.widget, format="%.2e")
        st.slider("Learning rates (log grid)", *fields.bounds(count), key=count.widget)
        st.slider("Steps", *STEPS_RANGE, key="sw_steps")
        st.radio(
            "Best learning rate by",
            OBJECTIVES,
            key="sw_objective",
            format_func=OBJECTIVE_NAMES.get,
        )
        st.caption("The optimizers and their other settings come from the explorer's scene.")


def render() -> None:
    state = open_diagnostic_page("sw", SweepState, load, controls, current)
    ss = st.session_state
    scene = state.scene

    st.header("Learning-rate sweep")
    surface = compute.surface(scene.landscape, scene.engine_params())
    if not scene.optimizers:
        st.warning("No optimizer in the scene: add one in the explorer.")
        return
    start = scene.start_point()
    count, steps = state.count, scene.steps
    cost_args = (scene.landscape, scene.engine_params(), scene.optimizers)
    asked = diagnostic_compute.sweep_seconds(*cost_args, count, steps)
    if asked > budget.budget_seconds():
        count, steps = diagnostic_compute.sweep_setting(
            *cost_args, count, steps, budget.budget_seconds(), COUNT_BOUNDS[0]
        )
        shown = [f"{count} learning rates"] if count != state.count else []
        shown += [f"{steps} steps"] if steps != scene.steps else []
        budget.report(
            f"{len(scene.optimizers)} optimizers x {state.count} learning rates x "
            f"{scene.steps} steps",
            asked,
            ", ".join(shown),
            diagnostic_compute.sweep_seconds(*cost_args, count, steps),
        )
    st.caption(
        f"{surface.name} from ({start[0]:.4g}, {start[1]:.4g}), {steps} steps, seed "
        f"{scene.seed}: every optimizer at {count} learning rates in "
        f"[{state.lr_low:.3g}, {state.lr_high:.3g}], one batched run. Click a point to open "
        "the explorer with that learning rate."
    )
    args = (
        scene.landscape,
        scene.engine_params(),
        scene.optimizers,
        start,
        steps,
        scene.seed,
        state.lr_low,
        state.lr_high,
        count,
        state.objective,
    )
    try:
        with st.spinner(f"Running {len(scene.optimizers) * count} runs…"):
            sweep = diagnostic_compute.sweep(*args)
            theory = diagnostic_compute.quadratic_theory(scene.landscape, scene.engine_params())
    except Exception as exc:  # any engine failure becomes a message
        show_problem("Could not run the sweep.", str(exc))
        return
    land = scene.surface()
    minima = [m.value for m in land.minima if m.kind == "global"]
    betas = [  # the heavy-ball runs' momentum (Polyak's, not Nesterov's)
        e.values.get("momentum")
        if optimizers.get(e.name).has_momentum and not e.values.get("nesterov")
        else None
        for e in scene.optimizers
    ]
    plotly_view(
        lambda: diagnostic_charts.sweep_figure(
            sweep, minimum_value=min(minima) if minima else None, theory=theory, betas=betas
        ),
        "sweep_chart",
        view=("sweep", state, count, steps),  # what the chart is drawn from
        on_click=on_pick,
    )
    if theory is not None:
        st.info(
            f"Quadratic surface: λ_min = {theory.lambda_min:.4g}, λ_max = {theory.lambda_max:.4g} "
            f"(condition number {theory.condition:.4g}). Gradient descent diverges for "
            f"lr > 2/λ_max = {theory.gd_critical_lr:.4g}; its best constant step is "
            f"2/(λ_min+λ_max) = {theory.gd_optimal_lr:.4g}. Heavy-ball momentum β is stable for "
            f"lr < (2+2β)/λ_max."
        )
    st.dataframe(
        diagnostic_charts.sweep_rows(sweep),
        hide_index=True,
        placeholder="—",  # a missing value reads as a dash, not "None"
        width="stretch",
        column_config={
            name: st.column_config.NumberColumn(format="%.4g")
            for name in ("Best lr", "Final loss at best", "Diverges from lr", "Largest stable lr")
        },
    )
    st.caption(
        f"Best: {sweep.objective_text}. Diverged: the loss or position blew up, or the run ended above its starting loss. Steps to converge: "
        "the first step from which the run stays within 0.1 % of the domain's diagonal of the "
        "minimum it reaches."
    )

    st.subheader("Auto-tune")
    st.caption(
        f"Picks each optimizer's learning rate from the same {count}-value grid, by "
        f"{sweep.objective_text}, from this start with seed {scene.seed}."
    )
    if st.button("Auto-tune the learning rates", key="sw_tune"):
        ss.sw_tuned = True
    if ss.get("sw_tuned"):
        tuned = diagnostic_compute.tune(*args)
        st.warning(
            "Tuned on one surface is not a verdict on the optimizer: another surface, start or "
            "number of steps can change the ranking."
        )
        st.write(tuned.description)
        st.dataframe(
            [
                {
                    "Optimizer": label,
                    "Tuned lr": None if lr != lr else float(lr),
                    "Final loss": None if v != v else float(v),
                    "Steps to converge": int(s) if s >= 0 else None,
                }
                for label, lr, v, s in zip(
                    sweep.labels, tuned.lrs, tuned.values, tuned.steps_to_converge, strict=True
                )
            ],
            hide_index=True,
            placeholder="—",  # a missing value reads as a dash, not "None"
            column_config={
                n: st.column_config.NumberColumn(format="%.4g") for n in ("Tuned lr", "Final loss")
            },
        )
        st.button(
            "Apply the tuned learning rates in the explorer",
            key="sw_apply",
            on_click=apply_tuned,
            args=([float(x) for x in tuned.lrs],),
        )


render()
