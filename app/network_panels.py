"""The network page's prediction views (issue 18): decision regions beside the plane for 2-D data
(item 3), and, on the digits, the confusion matrix, the misclassified images and the first
layer's filters at the shown step (item 5).

One timeline: the plane's player owns the shown recorded point.

- The decision regions follow it in the browser: the figure carries every run's regions at the
  recorded points that are the plane's animation frames, and the client shows the one of the
  player's point (``layout.meta.follow`` in ``app.plotly_view``), while playing too.
- The digits views follow it when the player stops: the player reports the point
  (``on_step``), the page reruns and computes the views there (a few milliseconds, cached).
"""

from __future__ import annotations

import streamlit as st

from . import network_compute as compute
from . import network_predictions as predict
from .charts import network_predictions as pfig
from .engine_call import engine_call
from .network_state import UPLOAD, NetworkState
from .plotly_view import CHART_CONFIG, plotly_view, stepped

SHOWN_KEY = "net_shown"  # (state, recorded point) where the plane's player last stopped
PLANE_KEY = "plane"  # the plane chart's key on the page
RUN_KEY = "net_digits_run"  # which optimizer's network the digits views show


def remember_step() -> None:
    """The plane player's callback: keep the recorded point it stopped on."""
    k = stepped(PLANE_KEY)
    if k is not None:
        st.session_state[SHOWN_KEY] = (st.session_state.get("net_shown_for"), k)


def shown_index(state: NetworkState, training: compute.Training) -> int:
    """The recorded point the plane shows: where its player last stopped on this view, else 0 (a
    plane drawn anew, for any change of the view, opens at the initialization)."""
    key = state
    st.session_state.net_shown_for = key
    saved = st.session_state.get(SHOWN_KEY)
    if not saved or saved[0] != key:
        return 0
    return min(max(int(saved[1]), 0), len(training.steps) - 1)


def has_regions(state: NetworkState) -> bool:
    """Whether this view's data has 2-D inputs (the decision regions can be drawn)."""
    return bool(engine_call("load the data", predict.is_two_d, compute.train_key(state)))


def regions_view(state: NetworkState, training: compute.Training) -> None:
    """Each optimizer's decision regions at the plane's shown step, with the training points."""
    st.subheader("Decision regions")
    frames = predict.frame_indices(len(training.steps))
    with st.spinner("Classifying the plane of inputs at every recorded step…"):
        regions = engine_call(
            "compute the decision regions",
            predict.decision_regions,
            compute.train_key(state),
            frames,
        )
    diverged = [int(d) for d in training.diverged_at]
    # the chart's bytes are shared by the sessions that show this view, but never an upload's
    # (its figure holds the uploaded points, and shared work may go to the replicas' folder)
    plotly_view(
        lambda: pfig.regions_figure(regions, training.labels, diverged),
        "regions",
        view=None if state.dataset == UPLOAD else ("network-regions", state),
        width="content",
    )
    two = regions.n_classes == 2
    st.caption(
        (
            "What each network predicts for every point of the input plane, at the step the "
            "plane's player shows (press Play above: the regions move with the paths). "
            "Orange: class 1, blue: class 0, white: undecided (50 %); the shade is the "
            "predicted probability. Dots: the training samples."
            if two
            else "What each network predicts for every point of the input plane, at the step "
            "the plane's player shows; one colour per class, dots: the training samples."
        )
        + " Grey: the run has diverged (no finite network)."
    )


def digits_views(state: NetworkState, training: compute.Training) -> None:
    """At the shown step, one optimizer's confusion matrix, mistakes and first-layer filters."""
    k = shown_index(state, training)
    step = int(training.steps[k])
    st.subheader(f"What the network gets wrong, at step {step}")
    ss = st.session_state
    if ss.get(RUN_KEY, 0) >= len(training.labels):
        ss[RUN_KEY] = 0
    run = (
        st.radio(
            "Network of",
            range(len(training.labels)),
            key=RUN_KEY,
            horizontal=True,
            format_func=lambda r: training.labels[r],
        )
        if len(training.labels) > 1
        else 0
    )
    view = engine_call(
        "classify the validation images",
        predict.digits_view,
        compute.train_key(state),
        int(run),
        k,
    )
    names = [str(c) for c in range(len(view.confusion))]
    correct = view.n_val - view.n_wrong
    st.markdown(
        f"Validation accuracy at step {step}: **{correct} of {view.n_val}** images "
        f"({100 * correct / max(view.n_val, 1):.1f} %). Stop the plane's player on another "
        "step to see the network there."
    )
    left, right = st.columns([1, 1.25])
    with left:
        st.markdown("**Confusion matrix** (validation images)")
        st.plotly_chart(pfig.confusion_figure(view, names), config=CHART_CONFIG, width="content")
    with right:
        shown = len(view.images)
        st.markdown(
            f"**Misclassified**: {view.n_wrong} images"
            + (f", the {shown} most confident mistakes" if view.n_wrong > shown else "")
            + " (true → predicted)"
        )
        if shown:
            st.plotly_chart(pfig.mistakes_figure(view, names), config=CHART_CONFIG, width="content")
    if view.conv:
        st.markdown(f"**First convolution's {len(view.filters)} filters** (3×3; blue +, red −)")
    else:
        st.markdown(
            f"**First layer's weights of {len(view.filters)} hidden units**, each as an 8×8 image "
            "(what the unit looks for; blue +, red −)"
        )
    st.plotly_chart(pfig.filters_figure(view), config=CHART_CONFIG, width="content")
