"""The "Deep learning" page: what happens inside real networks as they train, in three views.

- gradients: a deep MLP (2 to 12 layers) and the norm of each layer's gradient through training,
  a layer x step heat map beside the loss, with the remedies one click away;
- eos: full-batch gradient descent, its sharpness lambda_max next to 2/eta (edge of stability);
- batch: the same epochs at several batch sizes, the generalization gap and the gradient noise.

The view is one ``DeepState``: read from the URL when the page opens (or from this session's
last view of the page), built from the widgets on every run and written back to the URL. The
studies compute through ``app.deep_compute``'s caches; the figures come from
``app.charts.deep`` and play in the browser on one timeline (``app.plotly_view``).
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import streamlit as st

from app import budget
from app import deep_compute as compute
from app.charts import deep as dfig
from app.deep_state import (
    BASE_BATCH,
    BATCH_RANGE,
    DEPTH_RANGE,
    EOS_STEPS_RANGE,
    EPOCHS_RANGE,
    FIELDS,
    GRAD_STEPS_RANGE,
    MAX_BATCHES,
    REMEDIES,
    VIEW_FIELDS,
    DeepState,
)
from app.engine_call import engine_call
from app.links import fields
from app.literal import show_link_messages
from app.page_links import share_link, sync_url
from app.plotly_view import plotly_view

CHART_KEY = "deep_chart"  # every view's figure is drawn in this one chart
VIEW_TITLES = {
    "gradients": "Vanishing and exploding gradients",
    "eos": "Edge of stability",
    "batch": "Batch size and learning rate",
}
ACT_TITLES = {"sigmoid": "sigmoid", "tanh": "tanh", "relu": "ReLU"}
INIT_TITLES = {"default": "PyTorch default", "xavier": "Xavier (Glorot)", "he": "He (Kaiming)"}
SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)
CLIPS = (0.0, 0.1, 0.5, 1.0, 2.0, 5.0)
GRAD_LRS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
EOS_LRS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.8, 1.0)
BATCH_LRS = (0.01, 0.03, 0.05, 0.1, 0.2, 0.3)
BATCH_CHOICES = (4, 8, 16, 32, 64, 128, 256, 512)
REMEDY_BUTTONS = (  # the two problems, then the four remedies
    ("vanishing", "Vanishing"),
    ("exploding", "Exploding"),
    ("relu_he", "ReLU + He"),
    ("batch_norm", "Batch norm"),
    ("residual", "Residual"),
    ("clipping", "Clip at 1"),
)
REMEDY_HELP = {
    "vanishing": "The problem: 10 sigmoid layers, PyTorch's default init, no remedy",
    "exploding": "The other problem: ReLU with He init × 2, no remedy; SGD diverges at once",
    "relu_he": "ReLU activations with He initialization (He et al. 2015)",
    "batch_norm": "Batch norm before every hidden activation (Ioffe & Szegedy 2015)",
    "residual": "Skip connections around the hidden layers (He et al. 2016)",
    "clipping": "Clip the gradient's norm at 1 before each step (Pascanu et al. 2013)",
}
WIDGET = {f.attr: f.widget for f in FIELDS if f.widget}
# the chart on the first screen of a 1280 x 720 projector: less of Streamlit's space above the page
CHART_FIRST_CSS = (
    "<style>[data-testid='stMainBlockContainer'] { padding-top: 3.6rem; }"
    " [data-testid='stMain'] h2 { padding-top: 0; padding-bottom: 0.2rem; }</style>"
)


# --- state <-> widgets -----------------------------------------------------------------------------


def view_fields(view: str) -> list[fields.Field]:
    """The fields bound to the widgets of ``view``'s controls."""
    return [f for f in FIELDS if f.attr in VIEW_FIELDS[view] and f.widget]


def load_widgets(state: DeepState, view: str | None = None) -> None:
    """Put a state's values into the widgets' session-state keys: every widget's, or only those
    of ``view``'s controls (a view that was not drawn on the last run: Streamlit forgets, or
    keeps stale, the values of widgets it did not draw)."""
    ss = st.session_state
    fields.load_widgets(state, FIELDS if view is None else view_fields(view))
    if view in (None, "batch"):
        ss.deep_bs = list(state.batch_sizes)


def current_state(scene: DeepState) -> DeepState:
    """The state the drawn widgets describe: the shown view's controls, the rest from ``scene``
    (the page's last state)."""
    ss = st.session_state
    shown = [f for f in FIELDS if f.widget == "deep_view"] + view_fields(ss.deep_view)
    values = fields.read_widgets(shown)
    if ss.deep_view == "batch":
        values["batch_sizes"] = tuple(sorted(int(b) for b in ss.deep_bs))
    return replace(scene, **values)


def view_key(state: DeepState) -> tuple:
    """What the shown view's figure depends on: its chart's bytes are built once for every
    session that shows it (``plotly_view``'s shared work)."""
    return (state.view, *(getattr(state, attr) for attr in VIEW_FIELDS[state.view]))


def apply_remedy(remedy: str) -> None:
    """A remedy button's callback: set the widgets of the values it changes."""
    for attr, value in REMEDIES[remedy].items():
        st.session_state[WIDGET[attr]] = value


# --- widgets ---------------------------------------------------------------------------------------


def choices(options: tuple[float, ...], value: float) -> list[float]:
    return sorted(set(options) | {float(value)})


def gradients_sidebar() -> None:
    ss = st.session_state
    st.subheader("Network")
    st.slider("Depth (linear layers)", *DEPTH_RANGE, key="deep_depth")
    st.radio(
        "Activation", tuple(ACT_TITLES), key="deep_act", horizontal=True, format_func=ACT_TITLES.get
    )
    st.radio("Initialization", tuple(INIT_TITLES), key="deep_init", format_func=INIT_TITLES.get)
    st.select_slider(
        "Initialization scale",
        choices(SCALES, ss.deep_scale),
        key="deep_scale",
        format_func=lambda v: f"×{v:g}",
    )
    left, right = st.columns(2)
    left.checkbox("Batch norm", key="deep_bn")
    right.checkbox("Residual", key="deep_res")
    st.subheader("Training (SGD, batches of 64)")
    st.select_slider(
        "Clip gradient norm at",
        choices(CLIPS, ss.deep_clip),
        key="deep_clip",
        format_func=lambda v: "off" if v == 0 else f"{v:g}",
    )
    st.select_slider(
        "Learning rate",
        choices(GRAD_LRS, ss.deep_glr),
        key="deep_glr",
        format_func=lambda v: f"{v:g}",
    )
    st.slider("Steps", *GRAD_STEPS_RANGE, key="deep_gsteps")


def eos_sidebar() -> None:
    ss = st.session_state
    st.subheader("Full-batch gradient descent")
    st.select_slider(
        "Learning rate η",
        choices(EOS_LRS, ss.deep_lr),
        key="deep_lr",
        format_func=lambda v: f"{v:g}",
    )
    st.slider("Steps", *EOS_STEPS_RANGE, key="deep_esteps")
    st.caption(
        f"A tanh MLP 2-32-32-2 on {compute.EOS_SAMPLES} moons, squared-error loss (as Cohen et "
        f"al. 2021), λ_max by Lanczos every {compute.EOS_SHARPNESS_EVERY} steps."
    )


def batch_sidebar() -> None:
    ss = st.session_state
    st.subheader("SGD at several batch sizes")
    st.multiselect(
        f"Batch sizes (up to {MAX_BATCHES})",
        sorted(set(BATCH_CHOICES) | set(ss.deep_bs)),
        key="deep_bs",
        max_selections=MAX_BATCHES,
        help=f"Each in [{BATCH_RANGE[0]}, {BATCH_RANGE[1]}]; one larger than the training set "
        "is the full batch.",
    )
    st.select_slider(
        "Learning rate",
        choices(BATCH_LRS, ss.deep_blr),
        key="deep_blr",
        format_func=lambda v: f"{v:g}",
    )
    st.toggle(
        "Linear scaling rule",
        key="deep_lsr",
        help=f"lr × B / {BASE_BATCH}: the learning rate above is the one at batch size "
        f"{BASE_BATCH} (Goyal et al. 2017)",
    )
    st.slider("Epochs", *EPOCHS_RANGE, key="deep_epochs")


# --- views -----------------------------------------------------------------------------------------


def _number_text(value: float, spec: str = ".3g") -> str:
    return format(float(value), spec) if np.isfinite(value) else "—"


def gradients_view(state: DeepState) -> None:
    cols = st.columns(len(REMEDY_BUTTONS))
    for col, (remedy, label) in zip(cols, REMEDY_BUTTONS, strict=True):
        col.button(
            label,
            key=f"deep_remedy_{remedy}",
            on_click=apply_remedy,
            args=(remedy,),
            help=REMEDY_HELP[remedy],
            width="stretch",
        )
    with st.spinner(f"Training the {state.depth}-layer network for {state.grad_steps} steps…"):
        view = engine_call("train the deep network", compute.gradients_of, state)
    plotly_view(lambda: dfig.gradients_figure(view), CHART_KEY, view=view_key(state))
    if view.diverged_at >= 0:  # under the chart: the heat map shows the explosion first
        st.error(
            f"**Training diverged at step {view.diverged_at}**: the loss became infinite or NaN "
            "(exploding gradients, or a learning rate too large); the heat map is grey from "
            "there on. Lower the initialization scale or the learning rate, or clip the gradients."
        )
    cols = st.columns(4)
    cols[0].metric("First ÷ last layer, step 0", _number_text(view.ratio[0], ".2g"))
    cols[1].metric("First ÷ last layer, end", _number_text(view.ratio[-1], ".2g"))
    cols[2].metric("Training loss, end", _number_text(view.train_loss[-1]))
    accuracy = _number_text(100 * view.val_acc[-1], ".0f")
    cols[3].metric("Validation accuracy, end", f"{accuracy} %" if accuracy != "—" else "—")
    extras = [x for x, on in (("batch norm", state.batch_norm), ("residual", state.residual)) if on]
    clip = f", gradient norm clipped at {state.clip:g}" if state.clip > 0 else ""
    st.markdown(
        f"**{state.depth}-layer MLP** (width {compute.WIDTH}, {ACT_TITLES[state.activation]}, "
        f"{INIT_TITLES[state.init]} init × {state.init_scale:g}"
        f"{', ' + ', '.join(extras) if extras else ''}) on two moons "
        f"({compute.n_train()} training points): {view.n_params:,} parameters. SGD, learning "
        f"rate {state.grad_lr:g}, batches of {compute.GRAD_BATCH}, {state.grad_steps} "
        f"steps{clip}."
    )
    st.caption(
        "Back-propagation multiplies the gradient by one Jacobian per layer on its way to the "
        "input. With the sigmoid (slope at most 1/4) and weights of variance about 1/fan-in each "
        "factor shrinks it, so the first layers hardly learn (Glorot & Bengio 2010); with a large "
        "initialization scale each factor stretches it and the gradients explode. ReLU with He "
        "initialization keeps the scale (He et al. 2015), batch norm re-centres each layer (Ioffe "
        "& Szegedy 2015), residual connections give the gradient an identity path (He et al. "
        "2016). Clipping bounds the step when gradients explode (Pascanu et al. 2013); it cannot "
        "lift vanishing ones. The heat map shows the gradient before clipping."
    )


def eos_view(state: DeepState) -> None:
    with st.spinner(f"Gradient descent for {state.eos_steps} steps and its sharpness…"):
        view = engine_call("run the edge-of-stability study", compute.eos_of, state)
    sharp = view.sharpness[np.isfinite(view.sharpness)]
    cols = st.columns(4)
    cols[0].metric("2 / η", f"{view.threshold:.3g}")
    cols[1].metric(
        "λ_max first ≥ 0.9 × 2/η",
        "never" if view.reached_at is None else f"step {view.reached_at}",
    )
    cols[2].metric("Largest λ_max", f"{sharp.max():.3g}" if sharp.size else "—")
    cols[3].metric("Training loss, end", _number_text(view.train_loss[-1]))
    plotly_view(lambda: dfig.eos_figure(view), CHART_KEY, view=view_key(state))
    if view.diverged_at >= 0:
        st.error(
            f"**Gradient descent diverged at step {view.diverged_at}**: this η is too large "
            "even for the initial curvature. Choose a smaller learning rate."
        )
    st.caption(
        "On a quadratic, gradient descent with step η is stable only where the curvature is below "
        "2/η. Training a network with full-batch gradient descent, the sharpness λ_max (the top "
        "Hessian eigenvalue, here by Lanczos on Hessian-vector products) first grows "
        "(progressive sharpening) until it reaches 2/η, then hovers there: the loss keeps "
        "falling over long times, but not monotonically (Cohen et al. 2021, *Gradient descent "
        "on neural networks typically occurs at the edge of stability*). A smaller η sets the "
        "line higher: sharpening then takes longer to reach it."
    )


def batch_view(state: DeepState) -> None:
    if not state.batch_sizes:
        st.warning("No batch size selected: pick one to four in the sidebar.")
        return
    n = len(state.batch_sizes)
    with st.spinner(f"Training at {n} batch size{'s' * (n > 1)} for {state.epochs} epochs…"):
        view = engine_call("run the batch-size study", compute.batch_of, state)
    plotly_view(lambda: dfig.batch_figure(view), CHART_KEY, view=view_key(state))
    for run in view.runs:
        if run.diverged_at >= 0:
            st.error(
                f"**Batch size {run.batch_size} (lr {run.lr:g}) diverged at step "
                f"{run.diverged_at}**: its learning rate is too large."
            )
    st.dataframe(
        dfig.batch_rows(view),
        hide_index=True,
        placeholder="—",
        width="stretch",
        column_config={
            name: st.column_config.NumberColumn(format="%.3g")
            for name in (
                "Learning rate",
                "Training loss",
                "Validation loss",
                "Gap",
                "Gradient noise at start",
                "Gradient noise at end",
            )
        },
    )
    scaling = (
        f"With the linear scaling rule each run's learning rate is {state.batch_lr:g} × B / "
        f"{BASE_BATCH} (Goyal et al. 2017): the runs make the same progress per epoch."
        if state.linear_scaling
        else "Every run uses the same learning rate: a larger batch takes fewer steps per epoch "
        "and falls behind. Turn on the linear scaling rule in the sidebar to compare."
    )
    st.caption(
        f"{state.epochs} epochs of SGD on two moons ({view.n_train} training points), MLP "
        f"64-32. Gradient noise is E‖g_B − ∇L‖², the mean squared distance of a mini-batch "
        f"gradient from the full gradient: it falls as 1/B, to 0 for the full batch. The "
        f"gradient noise scale at the start is B_simple = tr Σ / ‖∇L‖² = "
        f"{view.noise_scale:.3g} (McCandlish et al. 2018): batches much smaller than it are "
        f"dominated by noise. {scaling} The gap is the validation loss minus the training loss."
    )


# --- page ------------------------------------------------------------------------------------------


def opening_state() -> tuple[DeepState, list[str]]:
    if st.query_params:
        return DeepState.from_query(st.query_params)
    return st.session_state.get("deep_scene", DeepState()), []


def render() -> None:
    started = time.perf_counter()
    ss = st.session_state
    if "deep_view" not in ss or "deep_scene" not in ss:  # a new session, or from another page
        state, warnings = opening_state()
        load_widgets(state)
        ss.deep_scene = state
        ss.deep_link_warnings = warnings
        ss.pop("deep_written_query", None)
    elif ss.get("deep_drawn_view") != ss.deep_view:  # another view: its controls from the scene
        scene = replace(ss.deep_scene, view=ss.deep_view)
        load_widgets(scene, scene.view)
    st.html(CHART_FIRST_CSS)
    st.header("Deep learning")
    show_link_messages(ss.pop("deep_link_warnings", []))
    st.radio(
        "View",
        tuple(VIEW_TITLES),
        key="deep_view",
        horizontal=True,
        format_func=VIEW_TITLES.get,
        label_visibility="collapsed",
    )
    with st.sidebar:
        {"gradients": gradients_sidebar, "eos": eos_sidebar, "batch": batch_sidebar}[ss.deep_view]()
    state = current_state(ss.deep_scene)
    ss.deep_scene = state
    ss.deep_drawn_view = state.view
    sync_url(state.to_query(), "deep_written_query")

    asked = state
    plan = engine_call("estimate the work", compute.plan, state, budget.budget_seconds())
    if not plan.fits:
        budget.report(
            VIEW_TITLES[state.view].lower(), plan.asked, ", ".join(plan.changes), plan.shown
        )
    state = plan.state
    {"gradients": gradients_view, "eos": eos_view, "batch": batch_view}[state.view](state)

    with st.expander("Share this view"):
        st.caption("Opening this link reproduces the same training and figures.")
        st.code(share_link(asked.to_query()), language=None)
    st.caption(f"Page computed in {(time.perf_counter() - started) * 1000:.0f} ms.")


render()
