"""Cached calls into the deep-learning studies for the "Deep learning" page.

The page sees only the frozen numpy containers below; the torch objects (data set, model, loss
function, the studies' results) stay inside this module. Each view's computation is cached with
``st.cache_data`` keyed by the fields of ``DeepState`` it depends on: changing the view or the
settings of another view computes nothing, and revisiting a setting is a cache hit.

- gradients: ``studies.gradient_flow.gradient_flow`` on ``landscapes.network.deep.build_deep_mlp``
  (one SGD run, mini-batches of ``GRAD_BATCH``, per-layer gradient norms at ``GRAD_POINTS``
  recorded steps);
- eos: ``studies.edge_of_stability.edge_of_stability`` with the lesson's model and data
  (``eos_model``, 100 moons, ``one_hot_mse``), the sharpness every ``EOS_SHARPNESS_EVERY`` steps;
- batch: ``studies.batch_size.batch_size_study`` with the network page's MLP 64-32.

``plan`` estimates each view's seconds from the step counts (constants measured with
``bench/deep_views.py`` on the 2-core CPU, first call, rounded up) and shortens a view that
would not fit the budget (``app.budget``). No maths happens here beyond that bookkeeping.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import streamlit as st

from .deep_state import BASE_BATCH, DeepState

# the data of every view: the network page's default moons (450 training, 150 validation points)
DATA = {"name": "moons", "n_samples": 600, "noise": 0.2, "seed": 0}
WIDTH = 32  # hidden units of the deep MLP
GRAD_BATCH = 64
GRAD_POINTS = 100  # recorded steps of the gradients view (at most)
EOS_SAMPLES = 100  # training points of the edge-of-stability view (full batch)
EOS_SHARPNESS_EVERY = 10
BATCH_WIDTHS = (64, 32)

# seconds per unit of work on the 2-core CPU, first call (bench/deep_views.py, rounded up)
GRAD_LAYER_STEP_S = 4e-4  # one SGD step per linear layer (10 layers, 200 steps: about 0.7 s)
GRAD_FACTORS = {"residual": 6.0, "batch_norm": 2.5, "clip": 2.0}  # measured slow-downs
EOS_STEP_S = 6e-3  # a step of gradient descent with its share of the Lanczos sharpness
BATCH_STEP_S = 4e-3  # a mini-batch step of SGD with its recorded values
BATCH_RUN_S = 0.3  # per batch size: the per-sample gradients at its end


# --- containers the page and the figures see ------------------------------------------------------


@dataclass(frozen=True)
class GradientView:
    """Per-layer gradient norms of one SGD run through a deep MLP."""

    layers: tuple[str, ...]  # (L,) display names, input first: "1 (input)", ..., "10 (output)"
    grad_steps: np.ndarray  # (T,) the steps at which the gradient was taken
    norms: np.ndarray  # (L, T) Euclidean norm of each layer's gradient
    ratio: np.ndarray  # (T,) first layer's norm / last layer's
    loss_steps: np.ndarray  # (T + 1,) recorded steps of the learning curves
    train_loss: np.ndarray  # (T + 1,)
    val_loss: np.ndarray
    val_acc: np.ndarray
    diverged_at: int  # first step with a non-finite loss, -1 if none
    n_params: int


@dataclass(frozen=True)
class EosView:
    """Full-batch gradient descent with its sharpness (edge of stability)."""

    lr: float
    threshold: float  # 2 / eta
    steps: np.ndarray  # (T,) 0 .. n
    train_loss: np.ndarray  # (T,)
    sharpness_steps: np.ndarray  # (K,)
    sharpness: np.ndarray  # (K,) lambda_max; NaN where the parameters were not finite
    reached_at: int | None  # first measured step with lambda_max >= 0.9 x 2/eta
    diverged_at: int
    n_train: int


@dataclass(frozen=True)
class BatchRun:
    """One batch size's run: learning curves in epochs."""

    batch_size: int
    lr: float
    steps: int
    epochs: np.ndarray  # (T_k,) recorded points in epochs
    train_loss: np.ndarray  # (T_k,)
    val_loss: np.ndarray
    gap: np.ndarray  # (T_k,) validation - training loss
    diverged_at: int


@dataclass(frozen=True)
class BatchView:
    """The same epochs at several batch sizes (``studies.batch_size.BatchSizeStudy``)."""

    runs: tuple[BatchRun, ...]
    epochs: int
    n_train: int
    noise_start: np.ndarray  # (K,) E||g_B - G||^2 at the initialization
    noise_end: np.ndarray  # (K,) at each run's final parameters
    noise_scale: float  # B_simple = tr Sigma / ||G||^2 at the initialization


# --- engine objects -------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def _dataset(n_train: int | None = None) -> Any:
    import landscapes.network as network  # lazily: the other pages never pay for it

    data = network.load_dataset(
        DATA["name"], n_samples=DATA["n_samples"], noise=DATA["noise"], seed=DATA["seed"]
    )
    if n_train is None:
        return data
    from studies.edge_of_stability import subset

    return subset(data, n_train)


def n_train() -> int:
    """Training points of the gradients and batch views."""
    return int(_dataset().n_train)


def record_every(steps: int) -> int:
    """The gradients view records every k-th step: at most ``GRAD_POINTS`` points."""
    return max(1, math.ceil(steps / GRAD_POINTS))


def _layer_names(count: int) -> tuple[str, ...]:
    return tuple(
        f"{i + 1} (input)" if i == 0 else f"{i + 1} (output)" if i == count - 1 else str(i + 1)
        for i in range(count)
    )


@st.cache_data(show_spinner=False, max_entries=16)
def gradients(
    depth: int,
    activation: str,
    init: str,
    init_scale: float,
    batch_norm: bool,
    residual: bool,
    clip: float,
    lr: float,
    steps: int,
) -> GradientView:
    """The gradients view of these settings (see the module docstring)."""
    import torch.nn.functional as F

    from landscapes.network.deep import build_deep_mlp
    from studies.gradient_flow import gradient_flow

    data = _dataset()
    model = build_deep_mlp(
        data,
        depth=depth,
        width=WIDTH,
        activation=activation,
        init=init,
        init_scale=init_scale,
        batch_norm=batch_norm,
        residual=residual,
        seed=0,
    )
    hp: dict[str, float] = {"lr": float(lr)}
    if clip > 0:
        hp["clip_norm"] = float(clip)
    flow = gradient_flow(
        model,
        F.cross_entropy,
        data,
        [("sgd", hp)],
        steps=steps,
        batch_size=GRAD_BATCH,
        record_every=record_every(steps),
    )
    result = flow.training
    return GradientView(
        layers=_layer_names(len(flow.layers)),
        grad_steps=flow.steps,
        norms=flow.norms[0],
        ratio=flow.first_to_last()[0],
        loss_steps=result.steps_recorded,
        train_loss=result.train_loss[0],
        val_loss=result.val_loss[0],
        val_acc=result.val_acc[0],
        diverged_at=int(result.diverged_at[0]),
        n_params=int(result.params.shape[-1]),
    )


def gradients_of(state: DeepState) -> GradientView:
    return gradients(
        state.depth,
        state.activation,
        state.init,
        state.init_scale,
        state.batch_norm,
        state.residual,
        state.clip,
        state.grad_lr,
        state.grad_steps,
    )


@st.cache_data(show_spinner=False, max_entries=16)
def eos(lr: float, steps: int) -> EosView:
    """The edge-of-stability view of step ``lr`` and ``steps`` steps."""
    from studies.edge_of_stability import edge_of_stability, eos_model, one_hot_mse

    data = _dataset(EOS_SAMPLES)
    result = edge_of_stability(
        eos_model(data),
        one_hot_mse,
        data,
        lr=lr,
        steps=steps,
        sharpness_every=EOS_SHARPNESS_EVERY,
    )
    return EosView(
        lr=result.lr,
        threshold=result.threshold,
        steps=result.steps,
        train_loss=result.train_loss,
        sharpness_steps=result.sharpness_steps,
        sharpness=result.sharpness,
        reached_at=result.first_reached(0.9),
        diverged_at=int(result.training.diverged_at[0]),
        n_train=int(data.n_train),
    )


def eos_of(state: DeepState) -> EosView:
    return eos(state.eos_lr, state.eos_steps)


@st.cache_data(show_spinner=False, max_entries=16)
def batch(sizes: tuple[int, ...], lr: float, linear_scaling: bool, epochs: int) -> BatchView:
    """The batch-size view: ``epochs`` epochs of SGD at each batch size of ``sizes``."""
    import torch.nn.functional as F

    import landscapes.network as network
    from studies.batch_size import batch_size_study

    data = _dataset()
    model = network.build_model("mlp", data, widths=BATCH_WIDTHS, seed=0)
    study = batch_size_study(
        model,
        F.cross_entropy,
        data,
        sizes,
        epochs=epochs,
        lr=lr,
        linear_scaling=linear_scaling,
        base_batch_size=BASE_BATCH,
    )
    runs = tuple(
        BatchRun(
            batch_size=int(study.batch_sizes[k]),
            lr=float(study.lrs[k]),
            steps=int(study.steps[k]),
            epochs=study.epochs_recorded(k),
            train_loss=study.runs[k].train_loss[0],
            val_loss=study.runs[k].val_loss[0],
            gap=study.gap_curve(k),
            diverged_at=int(study.runs[k].diverged_at[0]),
        )
        for k in range(len(sizes))
    )
    return BatchView(
        runs=runs,
        epochs=study.epochs,
        n_train=int(data.n_train),
        noise_start=study.noise_start,
        noise_end=study.noise_end,
        noise_scale=float(study.noise_scale_start),
    )


def batch_of(state: DeepState) -> BatchView:
    return batch(state.batch_sizes, state.batch_lr, state.linear_scaling, state.epochs)


# --- the budget -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What the page computes for a view within ``budget`` seconds."""

    state: DeepState  # the state computed (the asked one, or a shorter one)
    asked: float  # estimated seconds of the asked view
    shown: float  # estimated seconds of the computed one
    changes: tuple[str, ...]  # what was shortened, in words ("200 steps instead of 1000")

    @property
    def fits(self) -> bool:
        return not self.changes


def _gradient_step_s(state: DeepState) -> float:
    factor = 1.0
    factor *= GRAD_FACTORS["residual"] if state.residual else 1.0
    factor *= GRAD_FACTORS["batch_norm"] if state.batch_norm else 1.0
    factor *= GRAD_FACTORS["clip"] if state.clip > 0 else 1.0
    return GRAD_LAYER_STEP_S * state.depth * factor


def _batch_steps(state: DeepState, epochs: int) -> int:
    n = n_train()
    return sum(epochs * math.ceil(n / min(b, n)) for b in state.batch_sizes)


def _batch_seconds(state: DeepState, epochs: int) -> float:
    return _batch_steps(state, epochs) * BATCH_STEP_S + BATCH_RUN_S * len(state.batch_sizes)


def _fewer_steps(state: DeepState, field: str, per_step: float, least: int, budget: float) -> Plan:
    """``state`` with its step count ``field`` (``per_step`` seconds each) cut to fit ``budget``,
    never below ``least``."""
    asked_steps = getattr(state, field)
    asked = per_step * asked_steps
    steps = max(least, min(asked_steps, int(budget / per_step)))
    if steps == asked_steps:
        return Plan(state, asked, asked, ())
    change = f"{steps} steps instead of {asked_steps}"
    return Plan(replace(state, **{field: steps}), asked, per_step * steps, (change,))


def plan(state: DeepState, budget: float) -> Plan:
    """The view of ``state`` shortened to fit ``budget`` seconds: fewer steps (gradients, edge
    of stability) or epochs (batch size), never below the smallest the link allows."""
    if state.view == "gradients":
        return _fewer_steps(state, "grad_steps", _gradient_step_s(state), 10, budget)
    if state.view == "eos":
        return _fewer_steps(state, "eos_steps", EOS_STEP_S, 20, budget)
    asked = _batch_seconds(state, state.epochs)
    epochs = state.epochs
    while epochs > 1 and _batch_seconds(state, epochs) > budget:
        epochs -= 1
    if epochs == state.epochs:
        return Plan(state, asked, asked, ())
    change = f"{epochs} epochs instead of {state.epochs}"
    shown = _batch_seconds(state, epochs)
    return Plan(replace(state, epochs=epochs), asked, shown, (change,))
