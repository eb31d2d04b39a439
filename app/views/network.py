"""The "Network landscape" page: several optimizers train one small network from the same
initialization, and the loss surface on a plane through parameter space shows their paths.

The view is one ``NetworkState``: read from the URL when the page opens (or from this session's
last view of the page), built from the widgets on every run and written back to the URL. The
engine (``landscapes.network``) computes through ``app.network_compute``'s caches; the figures
come from ``app.charts.network`` and, for "optimize in the plane", from the explorer's own
``app.charts.contour.contour_figure``.
"""

from __future__ import annotations

import time

import numpy as np
import streamlit as st

import optimizers
from app import budget, network_panels, network_upload
from app import network_compute as compute
from app.charts import network as nfig
from app.charts.contour import contour_figure
from app.engine_call import engine_call
from app.links import fields
from app.literal import quoted, show_link_messages, show_problem
from app.network_state import (
    DATASETS,
    FIELDS,
    MAX_LAYERS,
    MAX_OPTIMIZERS,
    METRICS,
    PLANES,
    RESOLUTIONS,
    SAMPLES_RANGE,
    SPAN_RANGE,
    TWO_D,
    UPLOAD,
    WIDTH_RANGE,
    NetOptimizer,
    NetworkState,
    first_order,
)
from app.page_links import share_link, sync_url
from app.plotly_view import CHART_CONFIG, plotly_view

MARKER_TEXT = ("●", "■", "◆", "▲")  # the plane figure's end-of-path symbols, to name each run
UI_MAX_STEPS = 1000
LR_CHOICES = sorted({m * 10.0**e for e in range(-4, 3) for m in (1, 2, 5)} - {200.0, 500.0})
BATCH_CHOICES = (0, 16, 32, 64, 128, 256, 512)
WD_CHOICES = (0.0, 1e-5, 1e-4, 1e-3, 1e-2, 0.1)
DATA_TITLES = {
    "moons": "moons (2-D points)",
    "spirals": "spirals (2-D points)",
    "circles": "circles (2-D points)",
    "xor": "XOR (2-D points)",
    "digits": "digits (8×8 images)",
    UPLOAD: "your own data (CSV upload)",
}
PLANE_TITLES = {
    "pca": "PCA of the trajectories",
    "random": "random, filter-normalized",
    "hessian": "top Hessian eigenvectors",
}
METRIC_TITLES = {"train": "training loss", "val": "validation loss", "acc": "validation accuracy"}
PATH_NOTE = (
    "**Paths are projections.** Each recorded iterate θₜ is drawn at its projection "
    "c + α δ₁ + β δ₂ on the plane; the network there is not the network the optimizer had. "
    "The *residual* |θₜ − projection| shows how far the iterate is off the plane, and the table "
    "below gives the surface value at the projected point next to the true value of the iterate."
)
DIRECTIONS_NOTE = (
    "The picture depends on the directions: a PCA plane is fitted to these trajectories (its axes "
    "say how much of their variance they hold); random filter-normalized directions (Li et al. "
    "2018) differ with their seed, so two seeds show two different slices of the same network; "
    "Hessian directions show the sharpest curvature at the centre."
)
BN_NOTE = (
    "Batch norm: training normalizes each mini-batch with its own statistics and no running "
    "statistics are kept, so every surface, curve and true value normalizes with the statistics "
    "of the data it is evaluated on (the whole training or validation set). Dropout is off in "
    "every evaluation."
)
NO_BN_NOTE = "Dropout (if any) is active in training and off in every evaluation."


# --- state <-> widgets -----------------------------------------------------------------------------


def lr_key(name: str) -> str:
    return f"net_lr_{name}"


def load_widgets(state: NetworkState) -> None:
    """Put a state's values into the widgets' session-state keys."""
    ss = st.session_state
    fields.load_widgets(state, FIELDS)  # every value bound to a widget of its own
    ss.net_widths = "-".join(str(w) for w in state.widths)
    ss.net_widths_valid = state.widths
    ss.net_opts = [o.name for o in state.optimizers]
    for o in state.optimizers:
        ss[lr_key(o.name)] = o.lr
    ss.net_auto_span = state.span is None
    ss.net_span = state.span if state.span is not None else 1.0


def current_state() -> NetworkState:
    """The state the widgets describe."""
    ss = st.session_state
    entries = tuple(
        NetOptimizer.make(name, float(ss.get(lr_key(name), optimizers.get(name).start_lr)))
        for name in ss.net_opts
    )
    bound = fields.read_widgets(FIELDS)
    return NetworkState(
        **{
            **bound,
            "model": bound["model"] if bound["dataset"] == "digits" else "mlp",
            "centre": min(bound["centre"], max(len(entries) - 1, 0)),
        },
        widths=ss.net_widths_valid,
        optimizers=entries,
        span=None if ss.net_auto_span else float(ss.net_span),
    )


# --- widgets ---------------------------------------------------------------------------------------


def parse_widths(text: str) -> tuple[int, ...] | None:
    """'64-32' -> (64, 32); None unless 1 to MAX_LAYERS integers in WIDTH_RANGE."""
    parts = [p.strip() for p in text.replace(",", "-").split("-")]
    if not 1 <= len(parts) <= MAX_LAYERS or not all(p.isdigit() for p in parts):
        return None
    widths = tuple(int(p) for p in parts)
    return widths if all(WIDTH_RANGE[0] <= w <= WIDTH_RANGE[1] for w in widths) else None


def on_widths() -> None:
    ss = st.session_state
    widths = parse_widths(ss.net_widths)
    if widths is None:
        ss.net_widths_error = (
            f"Hidden widths {quoted(ss.net_widths)}: give 1 to {MAX_LAYERS} whole numbers in "
            f"[{WIDTH_RANGE[0]}, {WIDTH_RANGE[1]}] joined by '-', e.g. 64-32. "
            f"Keeping {'-'.join(map(str, ss.net_widths_valid))}."
        )
    else:
        ss.net_widths_valid = widths


def lr_options(value: float) -> list[float]:
    return sorted(set(LR_CHOICES) | {float(value)})


def sidebar() -> None:
    ss = st.session_state
    for f in FIELDS:  # keep the values of widgets this run does not draw (noise for digits)
        if f.widget is not None and f.widget in ss:
            ss[f.widget] = ss[f.widget]
    with st.sidebar:
        st.subheader("Data and model")
        st.selectbox("Data set", DATASETS, key="net_data", format_func=DATA_TITLES.get)
        if ss.net_data == UPLOAD:
            network_upload.sidebar_widgets()
        if ss.net_data in TWO_D:
            left, right = st.columns(2)
            left.slider("Noise", 0.0, 1.0, step=0.05, key="net_noise")
            right.number_input(
                "Samples", SAMPLES_RANGE[0], SAMPLES_RANGE[1], step=100, key="net_samples"
            )
        elif ss.net_data == "digits":
            st.radio(
                "Model",
                ("mlp", "cnn"),
                key="net_model",
                horizontal=True,
                format_func=lambda m: {"mlp": "MLP", "cnn": "CNN (conv 8-16)"}[m],
            )
        if ss.net_data != "digits" or ss.net_model == "mlp":
            st.text_input(
                "Hidden widths",
                key="net_widths",
                on_change=on_widths,
                help=f"1 to {MAX_LAYERS} layer widths joined by '-', e.g. 64-32",
            )
        left, right = st.columns(2)
        left.checkbox("Batch norm", key="net_bn")
        right.slider("Dropout", 0.0, 0.8, step=0.05, key="net_dropout")
        st.number_input("Seed (init, split, batches)", 0, 2**31 - 1, step=1, key="net_seed")

        st.subheader("Optimizers")
        names = first_order()
        titles = {n: optimizers.get(n).title for n in names}
        st.multiselect(
            "Race (same initialization, same mini-batches)",
            names,
            key="net_opts",
            max_selections=MAX_OPTIMIZERS,
            format_func=titles.get,
        )
        for i, name in enumerate(ss.net_opts):
            key = lr_key(name)
            if key not in ss:
                ss[key] = optimizers.get(name).start_lr  # one that trains these networks
            st.select_slider(
                f"{MARKER_TEXT[i % len(MARKER_TEXT)]} {titles[name]} learning rate",
                options=lr_options(ss[key]),
                key=key,
                format_func=lambda v: f"{v:g}",
            )

        st.subheader("Training")
        st.slider("Steps", 10, max(UI_MAX_STEPS, int(ss.net_steps)), key="net_steps")
        left, right = st.columns(2)
        bs_options = sorted(set(BATCH_CHOICES) | {int(ss.net_bs)})
        left.select_slider(
            "Batch size",
            bs_options,
            key="net_bs",
            format_func=lambda b: "full" if b == 0 else str(b),
        )
        right.number_input("Record every k steps", 1, 100, step=1, key="net_rec")
        st.select_slider(
            "Weight decay",
            sorted(set(WD_CHOICES) | {float(ss.net_wd)}),
            key="net_wd",
            format_func=lambda v: f"{v:g}",
        )

        st.subheader("Plane")
        st.radio("Directions", PLANES, key="net_plane", format_func=PLANE_TITLES.get)
        if ss.net_plane == "random":
            st.number_input("Direction seed", 0, 2**31 - 1, step=1, key="net_dseed")
            left, right = st.columns(2)
            left.toggle("Ignore biases and BN", key="net_ignore")
            right.toggle("Orthogonalize", key="net_orth")
        labels = [NetOptimizer.make(n, ss[lr_key(n)]).label for n in ss.net_opts]
        if labels:
            ss.net_centre = min(int(ss.net_centre), len(labels) - 1)
            st.selectbox(
                "Centre: final point of",
                range(len(labels)),
                key="net_centre",
                format_func=lambda i: labels[i],
            )
        left, right = st.columns([1, 1], vertical_alignment="bottom")
        left.checkbox(
            "Auto span",
            key="net_auto_span",
            help="Fit the span to the projected paths (PCA) or ±1 (random and Hessian directions)",
        )
        right.number_input(
            "Span ±",
            SPAN_RANGE[0],
            SPAN_RANGE[1],
            key="net_span",
            format="%.3g",
            disabled=ss.net_auto_span,
        )
        st.select_slider("Grid", RESOLUTIONS, key="net_res", format_func=lambda r: f"{r}×{r}")
        st.radio("Surface shows", METRICS, key="net_metric", format_func=METRIC_TITLES.get)

        st.subheader("View")
        st.toggle("3-D surface", key="net_3d")
        st.toggle("Optimize in the plane", key="net_popt")


# --- page ------------------------------------------------------------------------------------------


def opening_state() -> tuple[NetworkState, list[str]]:
    if st.query_params:
        return NetworkState.from_query(st.query_params)
    return st.session_state.get("net_scene", NetworkState()), []


def describe(state: NetworkState, training: compute.Training) -> str:
    model = (
        "CNN (conv 8-16)"
        if state.model == "cnn"
        else "MLP " + "-".join(str(w) for w in state.widths)
    )
    extras = [
        x
        for x, on in (
            ("batch norm", state.batch_norm),
            (f"dropout {state.dropout:g}", state.dropout > 0),
        )
        if on
    ]
    batch = "full batch" if state.batch_size == 0 else f"batches of {state.batch_size}"
    return (
        f"**{DATA_TITLES[state.dataset]}** ({training.n_train} training, {training.n_val} validation samples), "
        f"{model}{', ' + ', '.join(extras) if extras else ''}: {training.n_params:,} parameters. "
        f"{state.steps} steps, {batch}, weight decay {state.weight_decay:g}, seed {state.seed}."
    )


def show_plane(state: NetworkState, follow_stop: bool = False) -> compute.PlaneView:
    """The plane figure: a coarse preview first when the full grid is not cached, then the grid."""
    slot = st.empty()
    if not compute.surface_ready(state):
        preview = f"Sampling a coarse {compute.COARSE}×{compute.COARSE} preview…"
        with slot, st.spinner(preview):
            coarse = engine_call(
                "sample the plane", compute.plane_view, state, resolution=compute.COARSE
            )
        slot.plotly_chart(nfig.plane_figure(coarse), width="content", config=CHART_CONFIG)
        n = state.resolution
        bar = st.progress(0.0, text=f"Sampling the {n}×{n} plane…")
        plane = engine_call(
            "sample the plane",
            compute.plane_view,
            state,
            progress=lambda f: bar.progress(
                float(min(max(f, 0.0), 1.0)), text=f"Sampling the {n}×{n} plane… {100 * f:.0f} %"
            ),
        )
        bar.empty()
    else:
        plane = engine_call("sample the plane", compute.plane_view, state)
    with slot:
        on_step = network_panels.remember_step if follow_stop else None
        plotly_view(
            lambda: nfig.plane_figure(plane),
            network_panels.PLANE_KEY,
            view=("network", state),
            private=state.dataset == UPLOAD,
            width="content",
            on_step=on_step,
        )
    return plane


def divergence_messages(training: compute.Training) -> None:
    for label, at in zip(training.labels, training.diverged_at, strict=True):
        if at >= 0:
            st.error(
                f"**{label} diverged at step {at}**: its loss became infinite or NaN (the learning "
                "rate is too large for this network). Its curves and path stop at the last finite "
                "point, and the plane is fitted to the optimizers that did not diverge."
            )


def curvature_panel(state: NetworkState, training: compute.Training) -> None:
    st.subheader("Curvature at the centre")
    curv = engine_call(
        "compute the Hessian",
        compute.curvature,
        compute.train_key(state),
        compute.centre_run(state),
    )
    cols = st.columns(4)
    cols[0].metric("λ_max (top Hessian eigenvalue)", f"{curv.eigenvalues[0]:.4g}")
    if len(curv.eigenvalues) > 1:
        cols[1].metric("λ₂", f"{curv.eigenvalues[1]:.4g}")
    cols[2].metric(
        "tr(H) (Hutchinson)",
        f"{curv.trace:.4g}",
        help=f"± {curv.trace_stderr:.2g} (standard error)",
    )
    cols[3].metric("2 / λ_max", f"{curv.critical_lr:.4g}")
    st.dataframe(
        nfig.curvature_rows(curv, training.labels, training.lrs),
        hide_index=True,
        placeholder="—",  # a missing value reads as a dash, not "None"
        width="stretch",
        column_config={
            "Learning rate": st.column_config.NumberColumn(format="%.4g"),
            "2 / λ_max": st.column_config.NumberColumn(format="%.4g"),
        },
    )
    st.caption(
        "Gradient descent on a quadratic with top curvature λ_max is stable only for lr < 2/λ_max "
        "(Cohen et al. 2021, *Gradient descent on neural networks typically occurs at the edge of "
        "stability*). Momentum and adaptive methods follow other limits: the verdict is for plain GD."
    )


def plane_optimization(state: NetworkState) -> None:
    st.subheader("Optimize in the plane")
    st.caption(
        "The slice becomes a 2-D landscape, L(α, β) = training loss at c + α δ₁ + β δ₂, and the "
        "explorer's optimizers run on it with full-batch gradients and no added noise (so SGD "
        "moves like gradient descent here) from the projection of the initialization. This is "
        "a different, 2-parameter problem: compare it with the projected paths above."
    )
    surface = engine_call("build the plane landscape", compute.plane_surface, state)
    start, runs = engine_call("run the optimizers in the plane", compute.plane_runs, state)
    st.caption(f"Start: (α, β) = ({start[0]:.3g}, {start[1]:.3g}); {state.steps} steps.")
    plotly_view(
        lambda: contour_figure(
            surface, runs, state.steps, log_colour=True, arrows=False, axis_titles=("α", "β")
        ),
        "plane_opt",
        view=("network", state),
        private=state.dataset == UPLOAD,
        width="content",
    )


def render() -> None:
    started = time.perf_counter()
    ss = st.session_state
    if "net_data" not in ss:  # a new session, or back from another page
        state, warnings = opening_state()
        load_widgets(state)
        ss.net_link_warnings = warnings
        ss.pop("net_written_query", None)
    st.title("Network landscape")
    show_link_messages(ss.pop("net_link_warnings", []))
    sidebar()
    if message := ss.pop("net_widths_error", None):
        show_problem("These hidden widths cannot be used.", message, error=False)
    state, upload_note = network_upload.resolve(current_state())
    if not network_upload.show_problems(state) and upload_note:
        st.info(upload_note, icon=":material/upload_file:")
    ss.net_scene = state
    sync_url(state.to_query(), "net_written_query")

    if not state.optimizers:
        st.warning("No optimizer selected: pick one to four in the sidebar.")
        return
    asked = state
    plan = engine_call("estimate the work", compute.plan, state, budget.budget_seconds())
    if plan.changes or not plan.fits:
        what = (
            f"{len(state.optimizers)} optimizers x {state.steps} steps on {state.dataset} "
            f"({state.model}), a {state.resolution}×{state.resolution} {state.plane} plane"
        )
        if not plan.fits:
            st.warning(
                f"**Over the compute budget.** {what} would take about {plan.asked:.0f} s on this "
                f"server, and even the smallest setting about {plan.shown:.0f} s; the budget is "
                f"{budget.budget_seconds():g} s a view. Choose a smaller model, fewer optimizers "
                f"or mini-batches; a server with a larger budget ({budget.ENV}) computes it.",
                icon=":material/timer:",
            )
            st.stop()
        budget.report(what, plan.asked, ", ".join(plan.changes), plan.shown)
    state = plan.state
    n = len(state.optimizers)
    with st.spinner(f"Training {n} optimizer{'s' * (n > 1)} for {state.steps} steps…"):
        training = engine_call("train the network", compute.training, state)
    st.markdown(describe(state, training))
    if state.dataset == UPLOAD:
        st.caption(network_upload.describe(ss.get(network_upload.SESSION_KEY)))
    divergence_messages(training)
    if (training.diverged_at >= 0).all():
        st.error(
            "Every optimizer diverged: there is no trained network to centre a plane on. "
            "Lower the learning rates in the sidebar."
        )
        plotly_view(
            lambda: nfig.training_curves_figure(training),
            "curves",
            view=("network", state),
            private=state.dataset == UPLOAD,
        )
        return
    st.info(PATH_NOTE)

    regions = network_panels.has_regions(state)
    left, right = st.columns([1.4, 1] if regions else [2.6, 1])
    with left:
        plane = show_plane(state, follow_stop=state.dataset == "digits")
    with right:
        if regions:
            network_panels.regions_view(state, training)
        if plane.explained is not None:
            ev = plane.explained
            st.markdown(
                f"**PCA plane**: PC1 holds {100 * ev[0]:.1f} % and PC2 {100 * ev[1]:.1f} % of the "
                f"variance of the recorded iterates ({100 * (ev[0] + ev[1]):.1f} % together)."
            )
        finite = [p.residual[np.isfinite(p.residual)] for p in plane.paths]
        worst = max((float(r.max()) for r in finite if r.size), default=float("nan"))
        st.markdown(
            f"Largest residual of a drawn iterate: **{worst:.3g}** (the plane spans "
            f"±{plane.span:.3g} in each direction)."
        )
        st.caption(DIRECTIONS_NOTE)
        st.caption(BN_NOTE if state.batch_norm else NO_BN_NOTE)
        st.caption(
            "The surface is the data loss (or accuracy) only: the weight-decay term is not in it."
        )

    if state.show_3d:
        plotly_view(
            lambda: nfig.plane3d_figure(plane),
            "plane3d",
            view=("network", state),
            private=state.dataset == UPLOAD,
        )
    if state.dataset == "digits":
        network_panels.digits_views(state, training)

    left, right = st.columns(2)
    with left:
        st.subheader("Learning curves")
        plotly_view(
            lambda: nfig.training_curves_figure(training),
            "curves",
            view=("network", state),
            private=state.dataset == UPLOAD,
        )
        st.caption(
            "Solid: training set, dashed: validation set (dropout off, full data). ★ marks each "
            "optimizer's lowest validation loss: the step early stopping would keep."
        )
    with right:
        st.subheader("From the initialization to each solution")
        interp = engine_call("interpolate", compute.interpolation, compute.train_key(state))
        plotly_view(
            lambda: nfig.interpolation_figure(interp),
            "interp",
            view=("network", state),
            private=state.dataset == UPLOAD,
        )
        st.caption(
            "Training loss on the straight line θ(α) = θ₀ + α (θ_final − θ₀) (Goodfellow et al. "
            "2015, *Qualitatively characterizing neural network optimization problems*): a "
            "monotone decrease up to α = 1 means no barrier along that line."
        )

    with st.expander("Surface value vs. true value along the paths", expanded=False):
        every = max(1, len(training.steps) // 20)
        metric = METRIC_TITLES[state.metric]
        st.dataframe(
            nfig.path_rows(plane, every),
            hide_index=True,
            placeholder="—",  # a missing value reads as a dash, not "None"
            width="stretch",
            column_config={
                name: st.column_config.NumberColumn(format="%.4g")
                for name in (
                    f"{metric} on the plane",
                    f"{metric} of the iterate",
                    "Difference",
                    "Residual |θ − projection|",
                    "α",
                    "β",
                )
            },
        )

    if plan.curvature:
        curvature_panel(state, training)
    else:
        st.subheader("Curvature at the centre")
        st.caption("Not computed: over the compute budget (see above).")

    if state.plane_opt:
        plane_optimization(state)

    with st.expander("Share this view"):
        if state.dataset == UPLOAD:
            st.caption(
                "This view used uploaded data (a CSV), which a link cannot carry: opened "
                "elsewhere, the link shows a built-in data set with a note until the same CSV "
                "is uploaded there. The other settings apply."
            )
        else:
            st.caption("Opening this link reproduces the same training, plane and figures.")
        st.code(share_link(asked.to_query()), language=None)
    elapsed = (time.perf_counter() - started) * 1000
    st.caption(f"Page computed in {elapsed:.0f} ms.")


render()
