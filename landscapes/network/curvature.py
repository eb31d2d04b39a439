"""Curvature of the loss at a point: Hessian eigenpairs (Lanczos), trace (Hutchinson), 2/lambda.

Everything uses Hessian-vector products Hv = d/dt grad L(theta + t v) |_{t=0}, computed by
forward-over-reverse differentiation with ``torch.func.jvp(torch.func.grad(L))`` (Pearlmutter
1994, "Fast exact multiplication by the Hessian"); the dense P x P Hessian is never formed.

- ``hessian_eigenpairs``: the k largest *algebraic* eigenvalues (the sharpest upward curvatures;
  the top one is the sharpness lambda_max) by the Lanczos iteration with full
  re-orthogonalisation (Lanczos 1950; Golub & Van Loan, "Matrix Computations", 4th ed., 10.1),
  stopped when the Ritz residuals |beta_m y_m| fall below tol * max(1, |lambda|).
  Near a minimum the largest eigenvalues are also the largest in magnitude.
- ``hessian_trace``: Hutchinson's estimator tr H = E[z^T H z], z Rademacher (Hutchinson 1990),
  with its standard error std / sqrt(samples).
- ``critical_learning_rate``: gradient descent on a quadratic with top curvature lambda_max
  diverges for lr > 2 / lambda_max (Cohen et al. 2021, "Gradient descent on neural networks
  typically occurs at the edge of stability").
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad, jvp, vmap

from .evaluator import LossFn, private_copy
from .executors import (
    check_executor,
    check_pieces,
    executor_workers,
    receive,
    run_pieces,
    shipped,
    split_rows,
)
from .params import Direction, ParamSpec, as_flat, flatten, param_spec

# torch's forward-mode AD levels are process-wide, not per thread: two threads inside
# ``torch.func.jvp`` at once fail ("Trying to access a forward AD level with an invalid
# index"). Products from threads of one process (a ThreadPoolExecutor, concurrent app sessions)
# therefore run one at a time; processes and Dask workers run theirs in parallel.
FORWARD_AD_LOCK = threading.Lock()


class _Objective:
    """L(theta) on fixed data for flat theta, with gradient and Hessian-vector products."""

    def __init__(
        self,
        model: nn.Module,
        loss_fn: LossFn,
        inputs: Any,
        targets: Any,
        center: Any = None,
        batch_norm: str = "eval",
    ):
        self.spec: ParamSpec = param_spec(model)
        self.module = private_copy(model, batch_norm)
        self.buffers = {n: b.detach() for n, b in self.module.named_buffers()}
        self.loss_fn = loss_fn
        self.x = torch.as_tensor(inputs).to(self.spec.device, self.spec.dtype)
        self.y = torch.as_tensor(targets).to(self.spec.device)
        if self.x.shape[0] != self.y.shape[0] or self.y.shape[0] == 0:
            raise ValueError("inputs and targets must hold the same number (> 0) of samples")
        self.theta = flatten(model)[0] if center is None else as_flat(center, self.spec)

    def loss(self, flat: torch.Tensor) -> torch.Tensor:
        params = self.spec.unflatten(flat)
        out = functional_call(self.module, (params, self.buffers), (self.x,))
        return self.loss_fn(out, self.y)

    def hvp(self, v: torch.Tensor) -> torch.Tensor:
        with FORWARD_AD_LOCK:
            return jvp(grad(self.loss), (self.theta,), (v,))[1]

    def quadratic_forms(self, z: torch.Tensor, chunk: int) -> torch.Tensor:
        """z_s^T H z_s for the rows of ``z`` (S, P), ``chunk`` rows per vmap: (S,) float64."""
        batched = vmap(self.hvp)
        quads = []
        for lo in range(0, z.shape[0], chunk):
            part = z[lo : lo + chunk]
            quads.append((batched(part) * part).sum(-1).double())
        return torch.cat(quads)


@dataclass(frozen=True)
class CurvatureJob:
    """What a worker needs to rebuild ``_Objective`` (data only, no closures)."""

    model: nn.Module
    loss_fn: LossFn
    x: torch.Tensor
    y: torch.Tensor
    theta: torch.Tensor
    batch_norm: str
    chunk: int = 25


def _job(obj: _Objective, batch_norm: str, lo: int = 0, hi: int | None = None, chunk: int = 25):
    return CurvatureJob(
        obj.module,
        obj.loss_fn,
        obj.x[lo:hi].clone(),
        obj.y[lo:hi].clone(),
        obj.theta,
        batch_norm,
        chunk,
    )


def _objective(job: CurvatureJob) -> _Objective:
    return _Objective(job.model, job.loss_fn, job.x, job.y, job.theta, job.batch_norm)


def hvp_task(shipment, v: torch.Tensor) -> torch.Tensor:
    """Worker task: H_shard v on the job's data (its shard)."""
    obj = receive(shipment, _objective)
    return obj.hvp(v.to(obj.spec.device, obj.spec.dtype)).cpu()


def quadratic_forms_task(shipment, z: torch.Tensor) -> torch.Tensor:
    """Worker task: z_s^T H z_s for the rows of ``z``."""
    obj = receive(shipment, _objective)
    job: CurvatureJob = receive(shipment)
    return obj.quadratic_forms(z.to(obj.spec.device, obj.spec.dtype), job.chunk).cpu()


def lanczos(
    matvec: Callable[[torch.Tensor], torch.Tensor],
    size: int,
    *,
    k: int,
    iters: int,
    tol: float,
    seed: int,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str = "cpu",
) -> tuple[np.ndarray, torch.Tensor]:
    """Top-k algebraic eigenpairs of a symmetric operator: values (k,) descending, vectors (k, P)."""
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    q = torch.randn(size, generator=gen, dtype=torch.float64).to(device)
    q = q / torch.linalg.vector_norm(q)
    basis = [q]
    alphas: list[float] = []
    betas: list[float] = []
    m = min(int(iters), size)
    for j in range(m):
        w = matvec(basis[j].to(dtype)).to(torch.float64)
        a = float(torch.dot(w, basis[j]))
        alphas.append(a)
        qmat = torch.stack(basis)
        for _ in range(2):  # full re-orthogonalisation, twice is enough (Kahan)
            w = w - qmat.T @ (qmat @ w)
        b = float(torch.linalg.vector_norm(w))
        done = j + 1 >= m
        if j + 1 >= k and (j % 5 == 4 or done or b < 1e-12):
            t = np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1)
            vals, vecs = np.linalg.eigh(t)
            top = np.argsort(vals)[::-1][:k]
            resid = np.abs(b * vecs[-1, top])
            if np.all(resid <= tol * np.maximum(1.0, np.abs(vals[top]))) or done:
                break
        if b < 1e-12:  # invariant subspace found: the Ritz values are exact
            break
        betas.append(b)
        basis.append(w / b)
    n = len(alphas)
    t = np.diag(alphas) + np.diag(betas[: n - 1], 1) + np.diag(betas[: n - 1], -1)
    vals, vecs = np.linalg.eigh(t)
    top = np.argsort(vals)[::-1][: min(k, n)]
    qmat = torch.stack(basis[:n])
    ritz = torch.as_tensor(vecs[:, top].T.copy(), dtype=torch.float64, device=qmat.device) @ qmat
    return vals[top], ritz


def hessian_eigenpairs(
    model: nn.Module,
    loss_fn: LossFn,
    inputs: Any,
    targets: Any,
    *,
    k: int = 2,
    iters: int = 100,
    tol: float = 1e-6,
    seed: int = 0,
    center: Any = None,
    batch_norm: str = "eval",
    executor: Executor | None = None,
    pieces: int | None = None,
) -> tuple[np.ndarray, list[Direction]]:
    """The k largest algebraic Hessian eigenvalues (descending) and unit eigenvectors.

    Lanczos on Hessian-vector products at ``center`` (default: the model's parameters) with at
    most ``iters`` products. Eigenvectors are Directions (name -> tensor), unit-norm as flat
    vectors. The model is not modified.

    With an ``executor`` (any ``concurrent.futures.Executor``) every product is data-parallel:
    the N samples are cut into ``pieces`` contiguous shards (default: one per worker) of n_s
    samples, and for a loss that averages over samples L = sum_s (n_s / N) L_s, so
    H v = sum_s (n_s / N) H_s v: each worker returns H_s v for its shard and they are summed
    here. The Lanczos iteration itself stays here; each product is one round trip (each task
    carries its shard, unpickled once per worker). Equal to the single-process result up to
    rounding. Needs ``batch_norm="eval"`` (with "batch" the statistics of a shard differ from
    those of all the data, and the Hessian does not split).
    """
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if int(iters) != iters or iters < k:
        raise ValueError(f"iters must be an integer >= k, got {iters!r}")
    executor = check_executor(executor)
    pieces = check_pieces(pieces)
    obj = _Objective(model, loss_fn, inputs, targets, center, batch_norm)
    with ExitStack() as stack:
        matvec = obj.hvp
        if executor is not None:
            if batch_norm != "eval":
                raise ValueError(
                    'an executor splits the data into shards, which needs batch_norm="eval": '
                    "with batch statistics the Hessian of all the data is not the mean of "
                    "the shards' Hessians"
                )
            n = int(obj.y.shape[0])
            shards = split_rows(n, pieces or executor_workers(executor))
            shipments = [
                stack.enter_context(shipped(_job(obj, batch_norm, lo, hi), executor))
                for lo, hi in shards
            ]
            weights = [(hi - lo) / n for lo, hi in shards]

            def matvec(v: torch.Tensor) -> torch.Tensor:
                v = v.detach().cpu()
                parts = run_pieces(executor, hvp_task, shipments, [v] * len(shipments))
                total = sum(w * p.double() for w, p in zip(weights, parts, strict=True))
                return total.to(obj.spec.device, obj.spec.dtype)

        vals, vecs = lanczos(
            matvec,
            obj.spec.size,
            k=int(k),
            iters=int(iters),
            tol=float(tol),
            seed=seed,
            dtype=obj.spec.dtype,
            device=obj.spec.device,
        )
    dirs = [obj.spec.unflatten(v.to(obj.spec.dtype).clone()) for v in vecs]
    return np.asarray(vals, dtype=np.float64), dirs


def hessian_directions(
    model: nn.Module,
    loss_fn: LossFn,
    inputs: Any,
    targets: Any,
    *,
    iters: int = 100,
    tol: float = 1e-6,
    seed: int = 0,
    center: Any = None,
    batch_norm: str = "eval",
    executor: Executor | None = None,
    pieces: int | None = None,
) -> tuple[Direction, Direction]:
    """The plane of the two sharpest directions: the top-2 (algebraic) unit eigenvectors
    (``executor``, ``pieces``: as in ``hessian_eigenpairs``)."""
    _, vecs = hessian_eigenpairs(
        model,
        loss_fn,
        inputs,
        targets,
        k=2,
        iters=iters,
        tol=tol,
        seed=seed,
        center=center,
        batch_norm=batch_norm,
        executor=executor,
        pieces=pieces,
    )
    if len(vecs) < 2:
        raise ValueError("the model has fewer than two parameters")
    return vecs[0], vecs[1]


def hessian_trace(
    model: nn.Module,
    loss_fn: LossFn,
    inputs: Any,
    targets: Any,
    *,
    samples: int = 100,
    seed: int = 0,
    center: Any = None,
    batch_norm: str = "eval",
    chunk: int = 25,
    executor: Executor | None = None,
    pieces: int | None = None,
) -> tuple[float, float]:
    """Hutchinson's estimate of tr H = E[z^T H z] (z Rademacher) and its standard error.

    The probe vectors z_1..z_S are drawn here from ``seed``; with an ``executor`` (any
    ``concurrent.futures.Executor``) they are cut into ``pieces`` blocks (default 4 per worker),
    each worker computes z_s^T H z_s on all the data for its block (``chunk`` at a time), and
    the mean and standard error are taken here: the single-process estimate up to rounding.
    """
    if int(samples) != samples or samples < 2:
        raise ValueError(f"samples must be an integer >= 2, got {samples!r}")
    executor = check_executor(executor)
    pieces = check_pieces(pieces)
    obj = _Objective(model, loss_fn, inputs, targets, center, batch_norm)
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    z = torch.randint(0, 2, (int(samples), obj.spec.size), generator=gen) * 2.0 - 1.0
    z = z.to(obj.spec.device, obj.spec.dtype)
    if executor is None:
        q = obj.quadratic_forms(z, chunk).cpu().numpy()
    else:
        blocks = split_rows(z.shape[0], pieces or 4 * executor_workers(executor))
        with shipped(_job(obj, batch_norm, chunk=chunk), executor) as shipment:
            parts = run_pieces(
                executor,
                quadratic_forms_task,
                shipment,
                [z[lo:hi].cpu().clone() for lo, hi in blocks],
            )
        q = torch.cat(parts).numpy()
    return float(q.mean()), float(q.std(ddof=1) / math.sqrt(len(q)))


def critical_learning_rate(lambda_max: float) -> float:
    """2 / lambda_max: the largest stable gradient-descent step on the local quadratic model
    (inf when lambda_max <= 0)."""
    lam = float(lambda_max)
    return 2.0 / lam if lam > 0 else math.inf
