"""Loss surfaces on a plane, loss along a line, and the loss at arbitrary parameter vectors.

The surface of Li et al. 2018 (section 4): f(a, b) = L(theta + a d1 + b d2) on the grid
a_i = b_i = linspace(-span, span, r), r odd so that the centre point is theta itself.
``Z[j, i] = f(a_i, b_j)`` (rows follow b, columns follow a, as ``Landscape.grid``).

All points are evaluated in batches by ``NetworkEvaluator`` (hand-batched kernels for sequential
models, ``torch.func.vmap`` over ``functional_call`` otherwise) on a private copy of the model:
the user's model (parameters, buffers, requires_grad flags, train/eval mode) is never modified.
With ``executor=`` (any ``concurrent.futures.Executor``) the points are cut into blocks
evaluated by its workers and put back in order (``landscapes.network.executors``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from typing import Any

import numpy as np
import torch
from torch import nn

from .directions import state_buffers
from .evaluator import LossFn, NetworkEvaluator
from .executors import check_executor, check_pieces, evaluate_on
from .params import as_flat, flatten

VectorLike = Any  # (P,) tensor / array, a Direction (name -> tensor) or an nn.Module


def grid_axis(span: float, resolution: int) -> np.ndarray:
    """``linspace(-span, span, resolution)`` with the middle entry exactly 0 (resolution odd)."""
    check_grid(span, resolution)
    axis = np.linspace(-float(span), float(span), int(resolution))
    axis[int(resolution) // 2] = 0.0
    return axis


def check_grid(span: float, resolution: int) -> None:
    if isinstance(resolution, bool) or int(resolution) != resolution or resolution < 1:
        raise ValueError(f"resolution must be a positive odd integer, got {resolution!r}")
    if int(resolution) % 2 == 0:
        raise ValueError(
            f"resolution must be odd so that the grid's centre is the model itself, "
            f"got {resolution!r}"
        )
    if not (isinstance(span, int | float) and math.isfinite(span) and span > 0):
        raise ValueError(f"span must be a finite number > 0, got {span!r}")


def _check_wd(weight_decay: float) -> float:
    if not (math.isfinite(float(weight_decay)) and weight_decay >= 0):
        raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
    return float(weight_decay)


def _data(inputs: Any, targets: Any) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.as_tensor(inputs)
    y = torch.as_tensor(targets)
    if x.shape[0] != y.shape[0] or y.shape[0] == 0:
        raise ValueError(
            f"inputs and targets must hold the same number (> 0) of samples, "
            f"got {x.shape[0]} and {y.shape[0]}"
        )
    return x, y


def plane_squared_norms(basis: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """||c + a d1 + b d2||^2 for ``coords`` (M, 2) from the 3x3 Gram matrix of the basis."""
    g = (basis.double() @ basis.double().T).to(coords.device)
    w = torch.cat([torch.ones_like(coords[:, :1]), coords], dim=1).double()
    return ((w @ g) * w).sum(-1)


def _buffer_basis(
    model: nn.Module, directions: Sequence[VectorLike], ev: NetworkEvaluator
) -> dict[str, torch.Tensor] | None:
    """name -> (3, *shape): each floating-point buffer and its entries in d1, d2, for the
    buffers that a "states" direction moves (None when no direction moves any)."""
    out = {}
    for name, buf in state_buffers(model):
        entries = []
        for d in directions:
            e = d.get(name) if isinstance(d, Mapping) else None
            entries.append(
                torch.zeros_like(buf) if e is None else torch.as_tensor(e).detach().to(buf)
            )
        if any(bool(e.ne(0).any()) for e in entries):
            stack = torch.stack([buf.to(ev.spec.device, ev.spec.dtype), *entries])
            out[name] = stack.to(ev.spec.device, ev.spec.dtype)
    return out or None


def loss_surface(
    model: nn.Module,
    loss_fn: LossFn,
    inputs: Any,
    targets: Any,
    directions: Sequence[VectorLike],
    *,
    span: float = 1.0,
    resolution: int = 51,
    center: VectorLike | None = None,
    metric: str = "loss",
    weight_decay: float = 0.0,
    batch_size: int | None = None,
    progress: Callable[[float], None] | None = None,
    batch_norm: str = "eval",
    executor: Executor | None = None,
    pieces: int | None = None,
) -> np.ndarray:
    """Z ``(resolution, resolution)``, ``Z[j, i] = metric(center + a_i d1 + b_j d2)``.

    Args:
        model: the network; its parameters are the default centre. Never modified.
        loss_fn: ``loss_fn(outputs, targets)`` averaging over samples (e.g. F.cross_entropy).
        inputs, targets: the evaluation data (all of it is used at every point).
        directions: (d1, d2), each a Direction (``random_directions``), a flat ``(P,)`` vector
            or a module.
        span: the grid covers [-span, span]^2 in units of the directions.
        resolution: points per axis; must be odd (ValueError otherwise): the centre is exact.
        center: the plane's origin (default: the model's parameters).
        metric: "loss" or "accuracy".
        weight_decay: adds (wd / 2) ||theta'||^2 to the loss (every parameter, biases included).
        batch_size: data chunk size (None: all samples at once); the value is the exact
            size-weighted mean of chunk means (with batch_norm="batch" the statistics are
            per chunk).
        progress: called with the finished fraction in (0, 1] after every chunk of points.
        batch_norm: "eval" (running statistics) or "batch" (statistics of the data). In "eval"
            the running statistics stay at the model's values unless the directions hold
            entries for them (``random_directions(..., dir_type="states")``, Li et al.'s
            option): then they move with the parameters, buffer + a e1 + b e2 (a running
            variance that turns negative gives NaN there, as in their code).
        executor: None (evaluate here, the default) or any ``concurrent.futures.Executor``
            (a Dask ``Client.get_executor()``, Ray's, a process or thread pool): the r^2 grid
            points, in row-major order, are cut into ``pieces`` contiguous blocks, each
            evaluated by one task from picklable data (the model, the plane's basis
            (theta, d1, d2) as a (3, P) tensor, the data, the loss function), and the blocks'
            values are put back in order: the same surface up to floating-point rounding
            (see ``landscapes.network.executors``). ``progress`` is then called per finished
            block.
        pieces: how many blocks (default 4 per worker of the executor); ignored without one.
    """
    check_grid(span, resolution)
    wd = _check_wd(weight_decay)
    executor = check_executor(executor)
    pieces = check_pieces(pieces)
    if len(directions) != 2:
        raise ValueError(f"directions must be a pair (d1, d2), got {len(directions)} items")
    x, y = _data(inputs, targets)
    ev = NetworkEvaluator(model, loss_fn, batch_norm=batch_norm)
    theta = flatten(model)[0] if center is None else as_flat(center, ev.spec)
    basis = torch.stack([theta, *(as_flat(d, ev.spec) for d in directions)])
    if basis.ndim != 2:
        raise ValueError("center and directions must be single parameter vectors")
    axis = grid_axis(span, resolution)
    bb, aa = np.meshgrid(axis, axis, indexing="ij")
    coords = torch.as_tensor(np.stack([aa.ravel(), bb.ravel()], 1), dtype=ev.spec.dtype)
    moving = _buffer_basis(model, directions, ev) if batch_norm == "eval" else None
    if executor is None:
        values = ev.plane_values(
            basis,
            coords,
            x,
            y,
            metric=metric,
            batch_size=batch_size,
            progress=progress,
            buffer_basis=moving,
        )
    else:
        values = evaluate_on(
            executor,
            ev,
            coords,
            x,
            y,
            metric=metric,
            batch_size=batch_size,
            batch_norm=batch_norm,
            basis=basis,
            buffer_basis=moving,
            pieces=pieces,
            progress=progress,
        )
    z = values.double()
    if wd > 0 and metric == "loss":
        z = z + 0.5 * wd * plane_squared_norms(basis, coords)
    return z.cpu().numpy().reshape(resolution, resolution)


def interpolate(
    model: nn.Module,
    loss_fn: LossFn,
    inputs: Any,
    targets: Any,
    theta_a: VectorLike,
    theta_b: VectorLike,
    *,
    resolution: int = 51,
    extend: float = 0.25,
    metric: str = "loss",
    batch_norm: str = "eval",
    executor: Executor | None = None,
    pieces: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(alphas, values) along theta_a + alpha (theta_b - theta_a), alpha in [-extend, 1+extend].

    The 1-D linear interpolation of Goodfellow, Vinyals & Saxe 2015 ("Qualitatively
    characterizing neural network optimization problems"). The alphas are equally spaced with
    alpha = 0 and alpha = 1 exactly on the grid: step 1/k, k = round((resolution - 1) /
    (1 + 2 extend)), so the ends reach about ``extend`` beyond each model.

    ``executor`` and ``pieces``: as in ``loss_surface`` (the alphas are cut into blocks).
    """
    executor = check_executor(executor)
    pieces = check_pieces(pieces)
    if isinstance(resolution, bool) or int(resolution) != resolution or resolution < 2:
        raise ValueError(f"resolution must be an integer >= 2, got {resolution!r}")
    if not (math.isfinite(extend) and extend >= 0):
        raise ValueError(f"extend must be a finite number >= 0, got {extend!r}")
    x, y = _data(inputs, targets)
    ev = NetworkEvaluator(model, loss_fn, batch_norm=batch_norm)
    a, b = as_flat(theta_a, ev.spec), as_flat(theta_b, ev.spec)
    resolution = int(resolution)
    inner = max(1, min(resolution - 1, round((resolution - 1) / (1 + 2 * extend))))
    left = (resolution - 1 - inner) // 2
    alphas = (np.arange(resolution) - left) / inner
    basis = torch.stack([a, b - a, torch.zeros_like(a)])
    coords = torch.zeros(len(alphas), 2, dtype=ev.spec.dtype)
    coords[:, 0] = torch.as_tensor(alphas, dtype=ev.spec.dtype)
    if executor is None:
        values = ev.plane_values(basis, coords, x, y, metric=metric)
    else:
        values = evaluate_on(
            executor,
            ev,
            coords,
            x,
            y,
            metric=metric,
            batch_size=None,
            batch_norm=batch_norm,
            basis=basis,
            pieces=pieces,
        )
    return alphas, values.double().cpu().numpy()


def loss_at(
    model: nn.Module,
    loss_fn: LossFn,
    inputs: Any,
    targets: Any,
    flat_points: Any,
    *,
    metric: str = "loss",
    batch_size: int | None = None,
    batch_norm: str = "eval",
    weight_decay: float = 0.0,
    progress: Callable[[float], None] | None = None,
    executor: Executor | None = None,
    pieces: int | None = None,
) -> np.ndarray:
    """True loss (or accuracy) at parameter vectors ``flat_points`` ``(..., P)`` -> ``(...)``.

    ``executor`` and ``pieces``: as in ``loss_surface`` (the vectors, flattened to (M, P), are
    cut into blocks; each task receives its own rows).
    """
    wd = _check_wd(weight_decay)
    executor = check_executor(executor)
    pieces = check_pieces(pieces)
    x, y = _data(inputs, targets)
    ev = NetworkEvaluator(model, loss_fn, batch_norm=batch_norm)
    pts = as_flat(flat_points, ev.spec)
    lead = pts.shape[:-1]
    flat = pts.reshape(-1, ev.spec.size)
    if executor is None:
        values = ev.values(flat, x, y, metric=metric, batch_size=batch_size, progress=progress)
    else:
        values = evaluate_on(
            executor,
            ev,
            flat,
            x,
            y,
            metric=metric,
            batch_size=batch_size,
            batch_norm=batch_norm,
            pieces=pieces,
            progress=progress,
        )
    values = values.double()
    if wd > 0 and metric == "loss":
        values = values + 0.5 * wd * flat.double().square().sum(-1)
    return values.cpu().numpy().reshape(lead)


def as_vector(x: VectorLike, model: nn.Module) -> np.ndarray:
    """Any parameter-vector form (tensor, array, Direction, module) -> float64 ``(P,)`` array."""
    from .params import param_spec

    spec = param_spec(model)
    if isinstance(x, (Mapping, nn.Module)):
        return as_flat(x, spec).double().cpu().numpy()
    return np.asarray(torch.as_tensor(x).detach().cpu(), dtype=np.float64)
