"""Cached calls into the engine's predictions (``landscapes.network.predictions``) for the network
page's decision-region and image views (issue 18, items 3 and 5).

The page sees only the frozen numpy containers below. The engine computes; this module picks
the recorded points and unpacks:

- ``decision_regions``: each run's decision regions at the recorded points the plane's player
  shows (``frame_indices``), all evaluated at once (``decision_grid`` batched over runs x
  points), for the browser to switch as the player moves;
- ``digits_view``: at one recorded point of one run, the validation confusion matrix, the
  misclassified images (most confident mistakes first) and the first layer's filters.

Both are ``st.cache_resource`` (memory only, shared by sessions: a class opens one link at once).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st

from .charts.player import frame_steps
from .network_compute import REGION_FRAMES, REGION_GRID, TrainKey
from .network_training import engine_objects

MAX_ERRORS = 24  # misclassified images shown
MAX_FILTERS = 16  # first-layer filters (or MLP units) shown


@dataclass(frozen=True)
class Regions:
    """Decision regions at recorded points ``frames`` (indices into the recorded steps).

    ``values`` (F, R, ny, nx) float32 at ``(xs[i], ys[j])`` -> ``[..., j, i]``: for two classes
    the probability of class 1; for more, the predicted class; NaN where a run has diverged.
    ``points`` (N, 2) and ``classes`` (N,): the training samples."""

    xs: np.ndarray
    ys: np.ndarray
    frames: tuple[int, ...]
    values: np.ndarray
    n_classes: int
    class_names: tuple[str, ...]
    points: np.ndarray
    classes: np.ndarray
    feature_names: tuple[str, str]


def frame_indices(n_recorded: int) -> tuple[int, ...]:
    """The recorded points the plane's player makes frames of (``charts.network.plane_figure``
    with its ``REGION_FRAMES`` frames): the regions are shipped for exactly these."""
    return tuple(frame_steps(max(n_recorded - 1, 0), 0, REGION_FRAMES))


def is_two_d(key: TrainKey) -> bool:
    """Whether the training's data has 2-D inputs (decision regions can be drawn)."""
    return tuple(engine_objects(key)[1].input_shape) == (2,)


def _ro(a: Any) -> np.ndarray:
    out = np.array(a)
    out.flags.writeable = False
    return out


@st.cache_resource(show_spinner=False, max_entries=8)
def decision_regions(key: TrainKey, frames: tuple[int, ...]) -> Regions:
    """Every run's decision regions at the recorded points ``frames`` (one batched call)."""
    from landscapes.network import predictions

    model, data, params = engine_objects(key)
    grid = predictions.decision_grid(
        model, params[:, list(frames)], data, resolution=REGION_GRID
    )  # (R, F, ny, nx[, C])
    if data.n_classes == 2:
        values = grid.probabilities[..., 1]
    else:
        finite = np.isfinite(grid.probabilities).all(-1)
        values = np.where(finite, grid.classes, np.nan)
    names = data.class_names or tuple(str(c) for c in range(data.n_classes))
    features = tuple(data.feature_names or ("x1", "x2"))
    return Regions(
        xs=_ro(grid.xs),
        ys=_ro(grid.ys),
        frames=tuple(frames),
        values=_ro(np.asarray(values, dtype=np.float32).swapaxes(0, 1)),
        n_classes=int(data.n_classes),
        class_names=tuple(names),
        points=_ro(data.x_train.numpy().astype(np.float32)),
        classes=_ro(data.y_train.numpy()),
        feature_names=(features[0], features[1]),
    )


@dataclass(frozen=True)
class DigitsView:
    """One run at one recorded point on the validation images: ``confusion`` (C, C) counts of
    true class i predicted as j; the first ``MAX_ERRORS`` mistakes (``images`` (M, h, w),
    ``true``, ``predicted``, ``confidence``) of ``n_wrong``; ``filters`` (K, kh, kw), the first
    layer's kernels (CNN) or weight rows as images (MLP), ``conv`` saying which."""

    confusion: np.ndarray
    n_wrong: int
    n_val: int
    images: np.ndarray
    true: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray
    filters: np.ndarray
    conv: bool


@st.cache_resource(show_spinner=False, max_entries=32)
def digits_view(key: TrainKey, run: int, index: int) -> DigitsView:
    """Run ``run`` at recorded point ``index``: the engine's confusion matrix, misclassified
    samples and first-layer filters (batch norm with each set's own statistics, as the recorded
    accuracies)."""
    from landscapes.network import predictions

    model, data, params = engine_objects(key)
    theta = params[run, index]
    confusion = predictions.confusion_matrix(model, theta, data.x_val, data.y_val, data.n_classes)
    wrong = predictions.misclassified(model, theta, data.x_val, data.y_val)
    shape = tuple(data.input_shape)
    filters = predictions.first_layer_filters(model, theta, shape)
    conv = filters.ndim == 4 and shape != filters.shape[1:]
    images = data.x_val[wrong.indices[:MAX_ERRORS]].numpy().reshape(-1, *shape[-2:])
    return DigitsView(
        confusion=_ro(confusion),
        n_wrong=len(wrong.indices),
        n_val=int(data.n_val),
        images=_ro(images.astype(np.float32)),
        true=_ro(wrong.true[:MAX_ERRORS]),
        predicted=_ro(wrong.predicted[:MAX_ERRORS]),
        confidence=_ro(wrong.confidence[:MAX_ERRORS]),
        filters=_ro(filters[:MAX_FILTERS].reshape(-1, *filters.shape[-2:]).astype(np.float32)),
        conv=bool(conv),
    )
