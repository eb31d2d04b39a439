"""Cached calls into the network engine (``landscapes.network``) for the "Network landscape" page.

The page sees only the frozen numpy containers below; the torch objects (data set, model, loss
function, the engine's training result) stay inside this module's private caches. Everything is
keyed by the fields of ``NetworkState`` that it depends on, so changing the plane does not
retrain, changing the metric does not recompute the directions, and revisiting a setting is a
cache hit:

- training: ``st.cache_resource`` (one entry holds every recorded parameter vector: read-only,
  shared, never copied);
- directions and projections: ``st.cache_resource`` (read-only numpy);
- surfaces: a ``SharedWork`` store of our own (bounded by bytes; identical requests wait for one
  computation), so the page can ask whether a grid is ready (and skip the coarse preview) and
  can pass a progress callback;

The engine work (training, directions, surfaces, path values, curvature, interpolation, the
runs in the plane) runs in the heavy pool (``app.shared_work.heavy``), off the sessions' threads.
- curvature and interpolation: ``st.cache_data``.

No maths happens here beyond bookkeeping: the engine computes, this module unpacks.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import streamlit as st

import optimizers
from optimizers.cost import largest_within

from .compute import Run, Surface, run_of
from .network_state import RESOLUTIONS, TWO_D, UPLOAD, NetworkState
from .network_training import Trained as _Trained
from .network_training import load_data
from .network_training import network_api as _network
from .network_training import trained as _trained
from .shared_work import SharedWork, heavy, heavy_with_progress

COARSE = 11  # the preview grid drawn while the full one is computed
REGION_GRID, REGION_FRAMES = 41, 80  # decision regions: grid per axis, recorded points shipped
AUTO_MARGIN = 1.25  # an automatic span is this many times the farthest projected point
RANDOM_SPAN = 1.0  # the automatic span of random and Hessian planes (Li et al. 2018 plot [-1, 1])
LANCZOS_ITERS = 30  # Hessian-vector products at most for the top-2 eigenvalues
TRACE_SAMPLES = 30  # Hutchinson probes (the standard error is shown next to the estimate)
SURFACE_BYTES = 16 * 2**20  # surfaces kept (41 x 41 float64 is 13 kB: some 1200 of them)
Progress = Callable[[float], None]

# --- containers the page and the figures see ------------------------------------------------------


@dataclass(frozen=True)
class Training:
    """What training recorded, per optimizer r and recorded step t (numpy, no parameters)."""

    labels: tuple[str, ...]
    names: tuple[str, ...]
    lrs: tuple[float, ...]
    steps: np.ndarray  # (T,) step numbers of the recorded points
    train_loss: np.ndarray  # (R, T)
    val_loss: np.ndarray
    train_acc: np.ndarray
    val_acc: np.ndarray
    best_val_step: np.ndarray  # (R,) the step with the lowest validation loss
    diverged_at: np.ndarray  # (R,) first step with a non-finite loss, -1 if none
    n_params: int
    n_train: int
    n_val: int


@dataclass(frozen=True)
class ProjectedPath:
    """One optimizer's recorded iterates seen on the plane."""

    label: str
    steps: np.ndarray  # (T,)
    a: np.ndarray  # (T,) coordinates on the plane
    b: np.ndarray
    residual: np.ndarray  # (T,) |theta_t - (c + a d1 + b d2)|
    surface_value: np.ndarray  # (T,) the metric at the projected point c + a d1 + b d2
    true_value: np.ndarray  # (T,) the metric at the iterate theta_t itself
    diverged_at: int


@dataclass(frozen=True)
class PlaneView:
    """The sampled plane ``z[j, i]`` at ``c + xs[i] d1 + ys[j] d2`` and the projected paths."""

    kind: str  # "pca", "random" or "hessian"
    metric: str  # "train", "val" or "acc"
    span: float
    xs: np.ndarray
    ys: np.ndarray
    z: np.ndarray
    paths: tuple[ProjectedPath, ...]
    explained: tuple[float, float] | None  # PCA: each axis's share of the trajectories' variance
    centre_label: str
    coarse: bool = False


@dataclass(frozen=True)
class Curvature:
    """Curvature of the training loss at the plane's centre."""

    eigenvalues: np.ndarray  # top eigenvalues, largest first
    trace: float  # Hutchinson estimate of tr(H)
    trace_stderr: float
    critical_lr: float  # 2 / lambda_max (inf when lambda_max <= 0)


@dataclass(frozen=True)
class Interpolation:
    """Training loss on the segment from the initialization to each optimizer's final point."""

    labels: tuple[str, ...]
    alphas: np.ndarray  # (n,)
    losses: np.ndarray  # (R, n)


# --- keys ------------------------------------------------------------------------------------------

TrainKey = tuple  # data, model, seed, optimizers and training settings
PlaneKey = tuple  # plane kind, direction seed, ignore, orthogonalize, centre run, runs fitted


def train_key(state: NetworkState) -> TrainKey:
    return (
        f"{UPLOAD}:{state.upload}" if state.dataset == UPLOAD else state.dataset,
        state.noise if state.dataset in TWO_D else 0.0,
        state.samples if state.dataset in TWO_D else 0,
        state.model,
        state.widths if state.model == "mlp" else (),
        state.batch_norm,
        state.dropout,
        state.seed,
        state.optimizers,
        state.steps,
        state.batch_size,
        state.record_every,
        state.weight_decay,
    )


def plane_key(state: NetworkState) -> PlaneKey:
    random = state.plane == "random"
    centre = centre_run(state)
    return (
        state.plane,
        state.dir_seed if random else 0,
        state.ignore_bias if random else True,
        state.orthogonalize if random else False,
        centre,
        tuple(converged_runs(state)),
    )


# --- engine objects: the cached training (``app.network_training``) ---------------------------------


def _np(x: Any) -> np.ndarray:
    """A read-only numpy copy (cached values are shared between sessions)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    out = np.array(x)
    out.flags.writeable = False
    return out


def training(state: NetworkState) -> Training:
    """Train every optimizer of ``state`` (cached) and return the curves."""
    t = _trained(train_key(state))
    r = t.result
    return Training(
        labels=tuple(o.label for o in t.optimizers),
        names=tuple(o.name for o in t.optimizers),
        lrs=tuple(o.lr for o in t.optimizers),
        steps=_np(r.steps_recorded).astype(int),
        train_loss=_np(r.train_loss),
        val_loss=_np(r.val_loss),
        train_acc=_np(r.train_acc),
        val_acc=_np(r.val_acc),
        best_val_step=_np(r.best_val_step).astype(int),
        diverged_at=_np(r.diverged_at).astype(int),
        n_params=int(r.params.shape[-1]),
        n_train=int(t.dataset.y_train.shape[0]),
        n_val=int(t.dataset.y_val.shape[0]),
    )


def converged_runs(state: NetworkState) -> list[int]:
    """Indices of the runs that did not diverge (the engine's ``diverged_at`` is -1)."""
    r = _trained(train_key(state)).result
    return [i for i, at in enumerate(np.asarray(r.diverged_at)) if at < 0]


def centre_run(state: NetworkState) -> int:
    """The run whose final point is the plane's centre: the state's, or the first run that did
    not diverge when that one did. ValueError when every run diverged."""
    ok = converged_runs(state)
    wanted = state.centre_run()
    if wanted in ok:
        return wanted
    if not ok:
        raise ValueError(
            "every optimizer diverged, so there is no trained network to centre the plane on; "
            "lower the learning rates"
        )
    return ok[0]


def _data(t: _Trained, metric: str) -> tuple[Any, Any]:
    """The samples a metric is measured on: training data for "train", else validation."""
    d = t.dataset
    return (d.x_train, d.y_train) if metric == "train" else (d.x_val, d.y_val)


@dataclass(frozen=True)
class _Plane:
    centre: np.ndarray
    d1: np.ndarray
    d2: np.ndarray
    explained: tuple[float, float] | None
    a: np.ndarray  # (R, T)
    b: np.ndarray
    residual: np.ndarray


@st.cache_resource(show_spinner=False, max_entries=16)
def _plane(tkey: TrainKey, pkey: PlaneKey) -> _Plane:
    kind, dseed, ignore_bias, orth, centre, fitted = pkey
    t = _trained(tkey)
    net = _network()
    r = t.result
    explained = None
    if kind == "pca":
        # diverged runs are left out: their huge last finite points would set the plane
        pca = net.pca_directions(r, runs=list(fitted), center_run=centre, center_step=-1)
        c, d1, d2 = pca.center, pca.d1, pca.d2
        evr = np.asarray(pca.explained_variance_ratio)
        explained = (float(evr[0]), float(evr[1]))
    else:
        c = np.asarray(r.params[centre, -1], dtype=np.float64)
        # random directions are filter-normalized against the weights of the model at the centre
        model = net.with_params(t.model, c)
        if kind == "random":
            d1, d2 = net.random_directions(
                model,
                seed=dseed,
                normalization="filter",
                ignore="biasbn" if ignore_bias else "none",
                orthogonalize=orth,
            )
        else:
            d1, d2 = heavy(
                net.hessian_directions,
                t.model,
                t.loss_fn,
                t.dataset.x_train,
                t.dataset.y_train,
                center=c,
                batch_norm=r.batch_norm,
            )
        spec = net.param_spec(model)
        d1, d2 = (net.direction_to_flat(d, spec).double().numpy() for d in (d1, d2))
    a, b, res = heavy(net.project, r.params, c, d1, d2)
    # private arrays stay writable: torch warns when it is handed read-only numpy memory
    return _Plane(*(np.asarray(v, dtype=np.float64) for v in (c, d1, d2)), explained, a, b, res)


def plane_span(state: NetworkState) -> float:
    """The plane's half-width: the state's, or (auto) the farthest projected point of the runs
    that did not diverge times ``AUTO_MARGIN`` for a PCA plane, ``RANDOM_SPAN`` for the others
    (a diverging run's path then leaves the plot, as it should)."""
    if state.span is not None:
        return float(state.span)
    if state.plane != "pca":
        return RANDOM_SPAN
    p = _plane(train_key(state), plane_key(state))
    fitted = converged_runs(state)
    coords = np.abs(np.concatenate([p.a[fitted].ravel(), p.b[fitted].ravel()]))
    coords = coords[np.isfinite(coords)]
    far = float(coords.max()) if coords.size else 0.0
    return float(f"{max(far * AUTO_MARGIN, 1e-3):.2g}")


# --- surfaces ---------------------------------------------------------------------------------------


@st.cache_resource
def _surface_store() -> SharedWork:
    """Surfaces shared by every session; identical requests wait for one computation."""
    return SharedWork(SURFACE_BYTES, name="network-surfaces")


def _surface_key(state: NetworkState, resolution: int, metric: str) -> tuple:
    return (train_key(state), plane_key(state), plane_span(state), resolution, metric)


def surface_ready(state: NetworkState, resolution: int | None = None) -> bool:
    """Whether the surface of ``state`` (at ``resolution``, default the state's) is computed."""
    return _surface_key(state, resolution or state.resolution, state.metric) in _surface_store()


def _surface(
    state: NetworkState, resolution: int, metric: str, progress: Progress | None = None
) -> np.ndarray:
    return _surface_store().get(
        _surface_key(state, resolution, metric),
        lambda: _compute_surface(state, resolution, metric, progress),
        private=state.dataset == UPLOAD,  # an upload's surfaces stay in this process
    )


def _compute_surface(
    state: NetworkState, resolution: int, metric: str, progress: Progress | None
) -> np.ndarray:
    t = _trained(train_key(state))
    p = _plane(train_key(state), plane_key(state))
    inputs, targets = _data(t, metric)
    z = heavy_with_progress(
        _network().loss_surface,
        progress,
        t.model,
        t.loss_fn,
        inputs,
        targets,
        (p.d1, p.d2),
        span=plane_span(state),
        resolution=resolution,
        center=p.centre,
        metric="accuracy" if metric == "acc" else "loss",
        batch_norm=t.result.batch_norm,
    )
    return _np(z)


@st.cache_resource(show_spinner=False, max_entries=32)
def _path_values(tkey: TrainKey, pkey: PlaneKey, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """(metric at each projected point c + a d1 + b d2, metric at each iterate), both (R, T)."""
    t = _trained(tkey)
    p = _plane(tkey, pkey)
    inputs, targets = _data(t, metric)
    kind = "accuracy" if metric == "acc" else "loss"
    on_plane = _network().plane_points(p.centre, p.d1, p.d2, p.a, p.b)
    surf = heavy(_values, t, inputs, targets, on_plane, kind)
    true = heavy(_values, t, inputs, targets, t.result.params, kind)
    return _np(surf.reshape(p.a.shape)), _np(true.reshape(p.a.shape))


def _values(t: _Trained, inputs: Any, targets: Any, flat: np.ndarray, metric: str) -> np.ndarray:
    """The engine's ``loss_at`` at the rows of ``flat`` (..., P); NaN where a row is not finite."""
    rows = np.asarray(flat).reshape(-1, flat.shape[-1])
    ok = np.isfinite(rows).all(axis=1)
    out = np.full(rows.shape[0], np.nan)
    if ok.any():
        out[ok] = _network().loss_at(
            t.model,
            t.loss_fn,
            inputs,
            targets,
            rows[ok],
            metric=metric,
            batch_norm=t.result.batch_norm,
        )
    return out


def plane_view(
    state: NetworkState, *, resolution: int | None = None, progress: Progress | None = None
) -> PlaneView:
    """The plane of ``state`` sampled on a ``resolution`` grid (default the state's), the paths
    projected on it and, per recorded point, the surface and true values and the residual."""
    res = resolution or state.resolution
    tkey, pkey = train_key(state), plane_key(state)
    p = _plane(tkey, pkey)
    span = plane_span(state)
    z = _surface(state, res, state.metric, progress)
    surf, true = _path_values(tkey, pkey, state.metric)
    info = training(state)
    paths = tuple(
        ProjectedPath(
            label=info.labels[i],
            steps=info.steps,
            a=_np(p.a[i]),
            b=_np(p.b[i]),
            residual=_np(p.residual[i]),
            surface_value=surf[i],
            true_value=true[i],
            diverged_at=int(info.diverged_at[i]),
        )
        for i in range(len(info.labels))
    )
    grid = np.linspace(-span, span, res)
    return PlaneView(
        kind=state.plane,
        metric=state.metric,
        span=span,
        xs=grid,
        ys=grid,
        z=z,
        paths=paths,
        explained=p.explained,
        centre_label=f"final point of {info.labels[pkey[4]]}",
        coarse=res < state.resolution,
    )


# --- curvature and interpolation -----------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=32)
def curvature(tkey: TrainKey, centre: int) -> Curvature:
    """Top-2 Hessian eigenvalues (Lanczos, relative tolerance 1e-4), the Hutchinson trace and 2 / lambda_max of the
    training loss at run ``centre``'s final point (in the heavy pool)."""
    return heavy(_curvature, _trained(tkey), centre)


def _curvature(t: _Trained, centre: int) -> Curvature:
    net = _network()
    r = t.result
    c = np.asarray(r.params[centre, -1], dtype=np.float64)
    x, y = t.dataset.x_train, t.dataset.y_train
    kwargs = {"center": c, "batch_norm": r.batch_norm}
    values, _ = net.hessian_eigenpairs(
        t.model, t.loss_fn, x, y, k=2, iters=LANCZOS_ITERS, tol=1e-4, **kwargs
    )
    estimate, stderr = net.hessian_trace(t.model, t.loss_fn, x, y, samples=TRACE_SAMPLES, **kwargs)
    values = np.asarray(values, dtype=np.float64)
    return Curvature(
        eigenvalues=values,
        trace=float(estimate),
        trace_stderr=float(stderr),
        critical_lr=float(net.critical_learning_rate(float(values[0]))),
    )


@st.cache_data(show_spinner=False, max_entries=32)
def interpolation(tkey: TrainKey, resolution: int = 61) -> Interpolation:
    """Training loss on theta0 + alpha (theta_r - theta0), alpha in [-0.25, 1.25] (the engine's
    default extension), for each optimizer's final point theta_r (NaN for a diverged run); in
    the heavy pool."""
    return heavy(_interpolation, _trained(tkey), resolution)


def _interpolation(t: _Trained, resolution: int) -> Interpolation:
    net = _network()
    r = t.result
    alphas = np.linspace(-0.25, 1.25, resolution)
    curves = []
    for i in range(r.params.shape[0]):
        final = r.params[i, -1]
        if r.diverged_at[i] >= 0 or not np.isfinite(final).all():  # nothing to interpolate to
            curves.append(np.full(resolution, np.nan))
            continue
        alphas, losses = net.interpolate(
            t.model,
            t.loss_fn,
            t.dataset.x_train,
            t.dataset.y_train,
            r.theta0,
            final,
            resolution=resolution,
            batch_norm=r.batch_norm,
        )
        curves.append(np.asarray(losses, dtype=np.float64))
    return Interpolation(
        labels=tuple(
            o.label + (" (diverged: not drawn)" if r.diverged_at[i] >= 0 else "")
            for i, o in enumerate(t.optimizers)
        ),
        alphas=np.asarray(alphas, dtype=np.float64),
        losses=np.stack(curves),
    )


# --- optimize in the plane ------------------------------------------------------------------------


@st.cache_resource(show_spinner=False, max_entries=8)
def plane_surface(state: NetworkState) -> Surface:
    """The plane of ``state`` (training loss) as an explorer ``Surface``, so ``app.charts``
    draws it like any 2-D landscape. One shared object per state (figures remember by identity)."""
    span = plane_span(state)
    z = _surface(state, state.resolution, "train")
    grid = np.linspace(-span, span, state.resolution)
    centre = training(state).labels[centre_run(state)]
    return Surface(
        key="network-plane",
        name=f"{state.dataset} {state.model}: {state.plane} plane",
        group="network",
        notice=f"The training loss on the plane through the final point of {centre}.",
        formula=r"L(c + \alpha\,\delta_1 + \beta\,\delta_2)",
        domain=((-span, span), (-span, span)),
        start=(0.0, 0.0),
        log_scale=True,
        xs=grid,
        ys=grid,
        z=z,
        points=(),
    )


@st.cache_resource(show_spinner=False, max_entries=8)
def plane_runs(state: NetworkState) -> tuple[tuple[float, float], list[Run]]:
    """Every optimizer of ``state`` run by ``optimizers.simulate`` on the 2-D slice (the
    engine's ``plane_landscape``: the training loss at c + a d1 + b d2, full batch), from the
    projection of the shared initialization when it lies inside the plot, else from the
    landscape's default start. Returns (start, runs) in the explorer's ``Run`` form."""
    tkey, pkey = train_key(state), plane_key(state)
    t = _trained(tkey)
    p = _plane(tkey, pkey)
    span = plane_span(state)
    land = _network().plane_landscape(
        t.model,
        t.loss_fn,
        t.dataset.x_train,
        t.dataset.y_train,
        p.centre,
        p.d1,
        p.d2,
        span=span,
        name="network plane",
        batch_norm=t.result.batch_norm,
    )
    start = (float(p.a[0, 0]), float(p.b[0, 0]))
    if not all(np.isfinite(start)) or max(abs(start[0]), abs(start[1])) > span:
        start = tuple(float(v) for v in land.start)
    result = heavy(
        optimizers.simulate, land, [o.spec() for o in state.optimizers], [start], steps=state.steps
    )
    runs = [
        run_of(result, i, entry.label, entry.name, entry.lr)
        for i, entry in enumerate(state.optimizers)
    ]
    return start, runs


# --- cost: what a view asks for against the budget (``app.budget``) -------------------------------

INTERPOLATION_POINTS = 61  # ``interpolation``'s default resolution


@st.cache_resource(show_spinner=False, max_entries=32)
def _sizes(data: str, noise: float, samples: int, model: str, widths: tuple[int, ...]) -> tuple:
    """(forward MACs per sample, parameters, training samples, validation samples) of a model
    on a data set, from the engine (``landscapes.network.cost.forward_macs``)."""
    net = _network()
    from landscapes.network import cost

    dataset = load_data(data, noise, samples, 0)
    module = net.build_model(model, dataset, widths=widths or (64, 32), seed=0)
    macs = cost.forward_macs(module, dataset.input_shape)
    n_params = sum(p.numel() for p in module.parameters())
    return macs, n_params, int(dataset.y_train.shape[0]), int(dataset.y_val.shape[0])


def view_seconds(state: NetworkState, curvature: bool = True) -> dict[str, float]:
    """Estimated seconds of each part of the page for ``state`` (``landscapes.network.cost``):
    training, plane directions, surface (and its coarse preview), path values, interpolation,
    curvature panel, optimization in the plane; "total" sums them."""
    from landscapes.network import cost

    key = train_key(state)
    macs, n_params, n_train, n_val = _sizes(key[0], key[1], key[2], key[3], key[4])
    runs = len(state.optimizers)
    batch = min(state.batch_size or n_train, n_train)
    metric_n = n_train if state.metric == "train" else n_val
    recorded = state.steps // state.record_every + 2
    hessian_iters = inspect.signature(_network().hessian_directions).parameters["iters"].default
    parts = {
        "training": cost.training_seconds(
            macs,
            n_params,
            runs=runs,
            steps=state.steps,
            batch=batch,
            n_train=n_train,
            n_val=n_val,
            record_every=state.record_every,
        ),
        "plane": cost.lanczos_seconds(macs, n_train, hessian_iters)
        if state.plane == "hessian"
        else 0.0,
        "surface": cost.evaluation_seconds(macs, state.resolution**2 + COARSE**2, metric_n),
        "paths": cost.evaluation_seconds(macs, 2 * runs * recorded, metric_n),
        "interpolation": cost.evaluation_seconds(macs, runs * INTERPOLATION_POINTS, n_train),
        "regions": cost.evaluation_seconds(
            macs, runs * min(recorded, REGION_FRAMES), REGION_GRID**2
        )
        if state.dataset in (*TWO_D, UPLOAD)
        else 0.0,
        "curvature": cost.lanczos_seconds(macs, n_train, LANCZOS_ITERS)
        + cost.hvp_seconds(macs, n_train, TRACE_SAMPLES)
        if curvature
        else 0.0,
        "plane_opt": state.steps * runs * 2 * cost.evaluation_seconds(macs, 1, n_train) * 3
        + cost.evaluation_seconds(macs, state.resolution**2, n_train)
        if state.plane_opt
        else 0.0,
    }
    parts["total"] = sum(parts.values())
    return parts


@dataclass(frozen=True)
class Plan:
    """What the page computes for an asked state: ``state`` (the asked one when it fits the
    budget), whether the curvature panel is computed, the estimates, the changes in words, and
    ``fits``: False when even the smallest setting is over the budget (the page refuses)."""

    state: NetworkState
    curvature: bool
    asked: float
    shown: float
    changes: tuple[str, ...]
    fits: bool = True


def plan(state: NetworkState, budget: float) -> Plan:
    """The largest view within ``budget`` seconds: the asked one if it fits; else, in turn, no
    curvature panel, a PCA plane instead of the Hessian one and no optimization in the plane
    where each alone takes over a quarter of the budget, the finest grid whose surface takes at
    most a third of it, then the most steps that fit (the steps dominate: training and the
    values along the paths)."""
    asked = view_seconds(state)["total"]
    if asked <= budget:
        return Plan(state, True, asked, asked, ())
    parts = view_seconds(state)
    shown, curvature, changes = state, True, []
    if parts["curvature"] > budget / 4:
        curvature = False
        changes.append("no curvature panel")
    if parts["plane"] > budget / 4:
        shown = replace(shown, plane="pca")
        changes.append("a PCA plane instead of the Hessian one")
    if parts["plane_opt"] > budget / 4:
        shown = replace(shown, plane_opt=False)
        changes.append("no optimization in the plane")
    fine = [r for r in RESOLUTIONS if r <= state.resolution]
    res = next(
        (
            r
            for r in reversed(fine)
            if view_seconds(replace(shown, resolution=r))["surface"] <= budget / 3
        ),
        min(RESOLUTIONS),
    )
    if res != state.resolution:
        shown = replace(shown, resolution=res)
        changes.append(f"a {res}×{res} grid")

    def total(steps: int) -> float:
        return view_seconds(replace(shown, steps=steps), curvature)["total"]

    steps = largest_within(total, budget, 1, state.steps)
    fits = steps is not None
    steps = steps or 1
    if steps != state.steps:
        shown = replace(shown, steps=steps)
        changes.append(f"{steps} training steps")
    return Plan(shown, curvature, asked, total(steps), tuple(changes), fits)
