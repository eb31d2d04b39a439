"""The hyperparameter-search page: grid, random, Bayesian and evolutionary searchers at work.

One problem (an optimizer on a surface from a start, N steps), one 2-D space (learning rate and
a second hyperparameter), one budget and seed: every searcher is run on it and drawn on the same
map of the objective, computed densely underneath. The view lives in the URL (``SearchState``);
without a link the page opens on the explorer's scene (``st.session_state.scene``).
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

import numpy as np
import streamlit as st

import landscapes
import optimizers
from app import budget
from app import network_state as net
from app import search_compute as compute
from app.charts import search as search_charts
from app.engine_call import engine_call
from app.links import fields
from app.literal import quoted, show_link_messages, show_problem
from app.page_links import sync_url
from app.plotly_view import plotly_view
from app.search_state import (
    MAX_BATCH,
    MAX_BUDGET,
    MAX_STEPS,
    NET_DATASETS,
    NETWORK_FIELDS,
    RUN_FIELDS,
    SearchState,
    default_range,
)
from app.slider_values import log_options
from app.state import AppState
from studies import tuning

COLUMNS = 3

VERDICT = (
    "**A search tuned on one surface is no verdict on an optimizer.** The best setting found "
    "here is best for this surface, this start and this number of steps; move the start, change "
    "the surface or the step budget and the good region moves, shrinks or disappears. A real "
    "network's loss surface has millions of dimensions, noise, and a validation set that the "
    "training loss does not see. What carries over is how the searchers behave: which ones "
    "learn from their trials, which spread out, which get stuck."
)


NETWORK_VERDICT = (
    "**A search on one small network is no verdict on an optimizer either.** The best setting "
    "found here is best for this data set, this initialization, these mini-batches and this "
    "number of steps; a longer training, another seed or a wider network moves the good region. "
    "What carries over is how the searchers behave."
)


def network_link(state: SearchState, best: dict[str, float], param: str) -> None:
    """A link to the network page training this network with the best learning rate, or why
    there is none."""
    try:
        target = state.network_state(best)
    except ValueError as exc:
        st.caption(f"No link to the network page: {exc}.")
        return
    st.page_link(
        "views/network.py",
        label="Train it on the network page",
        icon=":material/open_in_new:",
        query_params=target.to_query(),
    )
    st.caption(
        f"The network page keeps one learning rate per optimizer: it trains with lr = "
        f"{best['lr']:.3g}, but {param} stays at its default there."
    )


WIDGET_KEYS = (
    "s_landscape",
    "s_lp",
    "s_start_x",
    "s_start_y",
    "s_steps",
    "s_data",
    "s_samples",
    "s_noise",
    "s_widths",
    "s_net_steps",
    "s_minibatch",
)


# --- state <-> widgets ---------------------------------------------------------------------------


def opening_state() -> tuple[SearchState, list[str]]:
    """The link's state; else this page's last view in this session if the explorer's scene
    has not changed since; else the explorer's scene as a problem; else the defaults."""
    if st.query_params:
        return SearchState.from_query(st.query_params)
    scene = st.session_state.get("scene")
    last = st.session_state.get("s_last_view")
    if last is not None and last[0] == scene:
        return last[1], []
    if isinstance(scene, AppState):
        try:
            state = SearchState.from_scene(scene)
            state.check()
            return state, []
        except ValueError as exc:
            return SearchState(), [f"the explorer's scene cannot be searched ({exc})"]
    return SearchState(), []


def load_widgets(state: SearchState) -> None:
    """Put a state's values into the widgets' session-state keys."""
    ss = st.session_state
    space = state.space()
    start = state.start or tuple(
        landscapes.get(state.landscape, **dict(state.landscape_params)).start
    )
    ss.s_landscape = state.landscape
    ss.s_lp = state.landscape_params
    ss.s_optimizer = state.optimizer
    ss.s_start_x, ss.s_start_y = float(start[0]), float(start[1])
    fields.load_widgets(state, RUN_FIELDS + NETWORK_FIELDS)  # the plain values bound to widgets
    ss.s_param = space.param
    ss.s_lr_low, ss.s_lr_high = (float(v) for v in state.lr_range)
    ss.s_p_low, ss.s_p_high = (float(v) for v in space.param_range)
    ss.s_searchers = list(state.searchers)
    ss.s_kind = state.kind
    ss.s_data = state.dataset
    ss.s_widths = "-".join(str(w) for w in state.widths)


def on_landscape_change() -> None:
    ss = st.session_state
    ss.s_lp = ()
    start = landscapes.get(ss.s_landscape).start
    ss.s_start_x, ss.s_start_y = float(start[0]), float(start[1])


def on_optimizer_change() -> None:
    ss = st.session_state
    space = tuning.SearchSpace.default_for(ss.s_optimizer)
    ss.s_param = space.param
    ss.s_p_low, ss.s_p_high = (float(v) for v in space.param_range)


def on_param_change() -> None:
    ss = st.session_state
    low, high = default_range(ss.s_optimizer, ss.s_param)
    ss.s_p_low, ss.s_p_high = float(low), float(high)


def parse_widths(text: str) -> tuple[int, ...]:
    """Hidden widths typed as "16-16" (or "16, 16"); ValueError with a clear message if bad."""
    parts = [p for p in str(text).replace(",", "-").replace(" ", "-").split("-") if p]
    low, high = net.WIDTH_RANGE
    try:
        widths = tuple(int(p) for p in parts)
    except ValueError:
        widths = ()
    if not 1 <= len(widths) <= net.MAX_LAYERS or not all(low <= w <= high for w in widths):
        raise ValueError(
            f"hidden widths {quoted(text)} must be 1 to {net.MAX_LAYERS} integers in [{low}, {high}] "
            "joined by '-', e.g. 16-16"
        )
    return widths


def widget_state() -> SearchState:
    """The state the widgets describe (not yet checked); ValueError for unreadable widths."""
    ss = st.session_state
    land = landscapes.get(ss.s_landscape, **dict(ss.s_lp))
    start = (float(ss.s_start_x), float(ss.s_start_y))
    p_range = (float(ss.s_p_low), float(ss.s_p_high))
    return SearchState(
        landscape=ss.s_landscape,
        landscape_params=tuple(ss.s_lp),
        optimizer=ss.s_optimizer,
        start=None if np.allclose(start, land.start, rtol=0, atol=1e-12) else start,
        param=ss.s_param,
        lr_range=(float(ss.s_lr_low), float(ss.s_lr_high)),
        param_range=p_range,
        searchers=tuple(ss.s_searchers),
        kind=ss.s_kind,
        dataset=ss.s_data,
        widths=parse_widths(ss.s_widths) if ss.s_kind == "network" else SearchState().widths,
        **fields.read_widgets(RUN_FIELDS + NETWORK_FIELDS),
    )


def sidebar() -> None:
    ss = st.session_state
    with st.sidebar:
        st.subheader("Problem")
        st.radio(
            "Problem",
            ["surface", "network"],
            key="s_kind",
            format_func=lambda k: {"surface": "2-D surface", "network": "Small network"}[k],
            horizontal=True,
            label_visibility="collapsed",
        )
        network = ss.s_kind == "network"
        if network:
            names = net.first_order()
            if ss.s_optimizer not in names:
                ss.s_optimizer = "adam"
                on_optimizer_change()
        else:
            names = optimizers.available()
            keys = landscapes.available()
            st.selectbox(
                "Surface",
                keys,
                key="s_landscape",
                format_func=lambda k: landscapes.get(k).name,
                on_change=on_landscape_change,
            )
            land = landscapes.get(ss.s_landscape, **dict(ss.s_lp))
            if ss.s_lp:
                st.caption("Surface parameters: " + ", ".join(f"{k} = {v:g}" for k, v in ss.s_lp))
        st.selectbox(
            "Optimizer to tune",
            names,
            key="s_optimizer",
            format_func=lambda n: optimizers.get(n).title,
            on_change=on_optimizer_change,
        )
        if network:
            st.selectbox("Data set", list(NET_DATASETS), key="s_data")
            c1, c2 = st.columns(2)
            c1.number_input(
                "Samples",
                min_value=net.SAMPLES_RANGE[0],
                max_value=net.SAMPLES_RANGE[1],
                step=50,
                key="s_samples",
                disabled=ss.s_data == "digits",
            )
            c2.number_input(
                "Noise",
                min_value=net.NOISE_RANGE[0],
                max_value=net.NOISE_RANGE[1],
                step=0.05,
                key="s_noise",
                disabled=ss.s_data == "digits",
            )
            st.text_input("Hidden widths", key="s_widths", help="e.g. 16-16: two hidden layers")
            c1, c2 = st.columns(2)
            c1.number_input(
                "Training steps",
                min_value=net.STEPS_RANGE[0],
                max_value=net.STEPS_RANGE[1],
                step=50,
                key="s_net_steps",
            )
            c2.number_input(
                "Batch size",
                min_value=net.BATCH_RANGE[0],
                max_value=net.BATCH_RANGE[1],
                step=16,
                key="s_minibatch",
                help="0: the full training set every step",
            )
        else:
            (x0, x1), (y0, y1) = land.domain
            c1, c2 = st.columns(2)
            c1.number_input(
                "Start x", min_value=float(x0), max_value=float(x1), key="s_start_x", format="%.4g"
            )
            c2.number_input(
                "Start y", min_value=float(y0), max_value=float(y1), key="s_start_y", format="%.4g"
            )
            st.number_input(
                "Steps per run", min_value=1, max_value=MAX_STEPS, step=50, key="s_steps"
            )

        st.subheader("Search space")
        options = log_options(1e-6, 10.0, (ss.s_lr_low, ss.s_lr_high), per_decade=4, digits=2)
        for key, label in (("s_lr_low", "Learning rate from"), ("s_lr_high", "Learning rate to")):
            st.select_slider(label, options=options, key=key, format_func=lambda v: f"{v:g}")
        names = tuning.searchable(ss.s_optimizer)
        if ss.s_param not in names:
            ss.s_param = tuning.default_param(ss.s_optimizer)
        st.selectbox("Second hyperparameter", names, key="s_param", on_change=on_param_change)
        c1, c2 = st.columns(2)
        c1.number_input(f"{ss.s_param} from", key="s_p_low", format="%.4g", step=0.01)
        c2.number_input(f"{ss.s_param} to", key="s_p_high", format="%.4g", step=0.01)

        st.subheader("Search")
        st.number_input(
            "Budget (trials per searcher)", min_value=1, max_value=MAX_BUDGET, key="s_budget"
        )
        st.number_input("Seed", min_value=0, max_value=2**31 - 1, key="s_seed")
        st.multiselect(
            "Searchers",
            list(tuning.SEARCHERS),
            key="s_searchers",
            format_func=lambda s: tuning.SEARCHER_INFO[s].title,
        )
        with st.expander("Advanced"):
            st.number_input(
                "Bayesian batch size",
                min_value=1,
                max_value=MAX_BATCH,
                key="s_batch",
                help="Trials TPE and the GP sampler propose before seeing their results "
                "(after their 10 random start-up trials). 1 is the sequential algorithm.",
            )


# --- page ------------------------------------------------------------------------------------------


def summary_rows(
    results: dict[str, tuning.SearchResult], dense: tuning.DenseObjective
) -> list[dict]:
    top5 = dense.percentile(5)
    rows = []
    for r in results.values():
        best = r.best_params
        rows.append(
            {
                "Searcher": r.title,
                "Best score": r.best_value,
                "Found at trial": r.best_index + 1,
                "Trials": int(r.values.size),
                "lr": best["lr"],
                r.names[1]: best[r.names[1]],
                "In the map's top 5 %": bool(r.best_value <= top5),
                "Diverged trials": int(r.diverged.sum()),
            }
        )
    return rows


def render() -> None:
    started = time.perf_counter()
    ss = st.session_state
    if "s_landscape" not in ss:  # a new session, or back from another page
        state, warnings = opening_state()
        load_widgets(state)
        ss.s_link_warnings = warnings
        ss.pop("s_written_query", None)
    # keep the hidden problem kind's widgets: Streamlit drops the state of widgets not drawn
    for key in WIDGET_KEYS:
        if key in ss:
            ss[key] = ss[key]

    st.title("Hyperparameter search")
    st.caption(
        "Grid, random, Bayesian (TPE, Gaussian process) and evolutionary (CMA-ES, NSGA-II) "
        "searchers from Optuna tune one optimizer on one surface or one small network, with the "
        "same budget and seed."
    )
    show_link_messages(ss.pop("s_link_warnings", []))

    sidebar()
    try:
        state = widget_state()
        state.check()
    except ValueError as exc:
        show_problem("These settings cannot be searched.", str(exc))
        st.stop()
    if not state.searchers:
        st.warning("No searcher selected: choose at least one in the sidebar.")
        st.stop()
    sync_url(state.to_query(), "s_written_query")
    ss.s_last_view = (ss.get("scene"), state)
    space = state.space()

    st.info(engine_call("state the objective", compute.objective_text, state))
    network = state.kind == "network"
    n = len(state.searchers)
    steps = state.net_steps if network else state.steps
    res = compute.resolution_for(state)
    asked = state
    state, res = compute.setting(asked, res, budget.budget_seconds())
    if state != asked or res != compute.resolution_for(asked):
        shown = [f"{state.budget} trials per searcher"] if state.budget != asked.budget else []
        shown += [f"a {res} x {res} map"] if res != compute.resolution_for(asked) else []
        budget.report(
            f"{n} searchers x {asked.budget} trials x {steps} steps",
            compute.seconds(asked, compute.resolution_for(asked)) or 0.0,
            ", ".join(shown),
            compute.seconds(state, res) or 0.0,
        )
    with st.spinner(f"Running {n} searchers × {state.budget} trials × {steps} steps…"):
        dense = engine_call("compute the dense map", compute.dense, state.map_key(), res)
        results = engine_call("run the searches", compute.searches, state)
    ordered = [results[s] for s in state.searchers]
    view = ("search", state, res)  # what the charts are drawn from

    st.subheader("Every trial on the map")
    coarse = (
        f" The map is coarser than for surfaces ({res} × {res}, not {compute.RESOLUTION} × "
        f"{compute.RESOLUTION}): each point is a whole training run; all {res * res} are one "
        "batched training."
        if network
        else ""
    )
    st.caption(
        f"Underneath: the score of every setting on a {res} × {res} grid (lighter is better), "
        f"computed in one batched run.{coarse} Dots: the trials, numbered in the order the searcher asked for them "
        "(× a diverged run); dotted ring chain: each new best so far; star: the best trial. "
        "With one seed, random search, TPE and the GP sampler share their first 10 (random) "
        "trials: watch where the model-based ones part from random search."
    )
    for first in range(0, n, COLUMNS):
        cols = st.columns(COLUMNS)
        for offset, col in enumerate(cols):
            i = first + offset
            if i >= n:
                break
            r = ordered[i]
            with col:
                plotly_view(
                    lambda r=r, i=i: search_charts.trial_map_figure(dense, r, i, space.param_log),
                    f"map_{r.searcher}",
                    view=view,
                )
                best = r.best_params
                st.caption(
                    f"Best: lr = {best['lr']:.3g}, {r.names[1]} = {best[r.names[1]]:.3g}. "
                    f"{r.batching}"
                )
                if network:
                    network_link(state, best, r.names[1])
                else:
                    target = state.explorer_state(best)
                    st.page_link(
                        "views/explorer.py",
                        label="Apply best to the explorer",
                        icon=":material/open_in_new:",
                        query_params=target.to_query(),
                    )

    st.subheader("Best so far")
    plotly_view(lambda: search_charts.best_so_far_figure(ordered, dense), "best_so_far", view=view)
    st.dataframe(
        summary_rows(results, dense),
        hide_index=True,
        placeholder="—",  # a missing value reads as a dash, not "None"
        column_config={
            k: st.column_config.NumberColumn(format="%.3g")
            for k in ("Best score", "lr", space.param)
        },
    )

    st.subheader("Watch the searches")
    st.caption(
        "Press Play: the trials appear one by one, in the order each searcher asked for them."
    )
    plotly_view(
        lambda: search_charts.animation_figure(dense, ordered, space.param_log),
        "animation",
        view=view,
    )

    st.subheader("What the searchers do")
    for key in state.searchers:
        info = tuning.SEARCHER_INFO[key]
        with st.expander(info.title):
            st.write(info.description)
            st.caption(f"Batching here: {tuning.batching_text(key, state.batch)}")
            st.caption(f"Reference: {info.reference}")
    st.markdown(NETWORK_VERDICT if network else VERDICT)

    with st.expander("Share this search"):
        st.caption("Opening this link reruns the same search: same trials, same maps.")
        st.code("?" + urlencode(asked.to_query()), language=None)
    elapsed = (time.perf_counter() - started) * 1000
    st.caption(f"Page computed in {elapsed:.0f} ms (searches are cached per setting).")


render()
