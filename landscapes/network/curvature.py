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
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad, jvp, vmap

from .evaluator import LossFn, private_copy
from .params import Direction, ParamSpec, as_flat, flatten, param_spec


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
        return jvp(grad(self.loss), (self.theta,), (v,))[1]


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
) -> tuple[np.ndarray, list[Direction]]:
    """The k largest algebraic Hessian eigenvalues (descending) and unit eigenvectors.

    Lanczos on Hessian-vector products at ``center`` (default: the model's parameters) with at
    most ``iters`` products. Eigenvectors are Directions (name -> tensor), unit-norm as flat
    vectors. The model is not modified.
    """
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if int(iters) != iters or iters < k:
        raise ValueError(f"iters must be an integer >= k, got {iters!r}")
    obj = _Objective(model, loss_fn, inputs, targets, center, batch_norm)
    vals, vecs = lanczos(
        obj.hvp,
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
) -> tuple[Direction, Direction]:
    """The plane of the two sharpest directions: the top-2 (algebraic) unit eigenvectors."""
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
) -> tuple[float, float]:
    """Hutchinson's estimate of tr H = E[z^T H z] (z Rademacher) and its standard error."""
    if int(samples) != samples or samples < 2:
        raise ValueError(f"samples must be an integer >= 2, got {samples!r}")
    obj = _Objective(model, loss_fn, inputs, targets, center, batch_norm)
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    z = torch.randint(0, 2, (int(samples), obj.spec.size), generator=gen) * 2.0 - 1.0
    z = z.to(obj.spec.device, obj.spec.dtype)
    batched = vmap(obj.hvp)
    quads = []
    for lo in range(0, z.shape[0], chunk):
        part = z[lo : lo + chunk]
        quads.append((batched(part) * part).sum(-1).double())
    q = torch.cat(quads).cpu().numpy()
    return float(q.mean()), float(q.std(ddof=1) / math.sqrt(len(q)))


def critical_learning_rate(lambda_max: float) -> float:
    """2 / lambda_max: the largest stable gradient-descent step on the local quadratic model
    (inf when lambda_max <= 0)."""
    lam = float(lambda_max)
    return 2.0 / lam if lam > 0 else math.inf
