"""Sharpness lambda_max (the largest Hessian eigenvalue) at many parameter vectors at once.

The edge-of-stability study needs lambda_max(theta_t) at tens of points along a training path.
``curvature.hessian_eigenpairs`` runs one Lanczos iteration per point; for the small networks of
a lesson its cost is Python and dispatch overhead, not arithmetic. ``sharpness`` runs K Lanczos
iterations side by side: each step is one batched Hessian-vector product
``vmap(v -> jvp(grad L, theta_k, v))`` over the K points (Pearlmutter 1994) and the
re-orthogonalisation is a batched matrix product.

Lanczos (Lanczos 1950; Golub & Van Loan, "Matrix Computations", 4th ed., 10.1): from a random
unit q_1, w = H q_j - beta_{j-1} q_{j-1}, alpha_j = q_j^T w, beta_j = ||w - alpha_j q_j|| (with
full re-orthogonalisation against q_1..q_j); the largest eigenvalue of the tridiagonal matrix
T_m = tridiag(beta, alpha, beta) (a Ritz value) converges to lambda_max from below, fastest when
lambda_max is well separated. Here lambda_max is the largest *algebraic* eigenvalue, the
sharpness of Cohen et al. 2021 ("Gradient descent on neural networks typically occurs at the
edge of stability", ICLR): gradient descent with step eta is unstable along directions with
curvature above 2 / eta.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad, jvp, vmap

from .evaluator import LossFn, private_copy
from .params import as_flat, param_spec


def sharpness(
    model: nn.Module,
    loss_fn: LossFn,
    inputs: Any,
    targets: Any,
    centers: Any,
    *,
    iters: int = 20,
    seed: int = 0,
    batch_norm: str = "eval",
    chunk: int = 64,
) -> np.ndarray:
    """(K,) top Hessian eigenvalue of ``loss_fn(model_theta(inputs), targets)`` at each of the K
    rows of ``centers`` (a (K, P) array or tensor of flat parameters; a (P,) vector gives K = 1).

    ``iters`` Lanczos steps per point (at most P), all points together in chunks of ``chunk``;
    ``batch_norm`` as ``NetworkEvaluator``. The model is not modified.
    """
    if int(iters) != iters or iters < 1:
        raise ValueError(f"iters must be a positive integer, got {iters!r}")
    spec = param_spec(model)
    module = private_copy(model, batch_norm)
    buffers = {n: b.detach() for n, b in module.named_buffers()}
    x = torch.as_tensor(inputs).to(spec.device, spec.dtype)
    y = torch.as_tensor(targets).to(spec.device)
    thetas = as_flat(centers, spec, batched=True)

    def loss(flat: torch.Tensor) -> torch.Tensor:
        return loss_fn(functional_call(module, (spec.unflatten(flat), buffers), (x,)), y)

    def hvp(theta: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return jvp(grad(loss), (theta,), (v,))[1]

    batched_hvp = vmap(hvp)
    out = [
        _lanczos_top(batched_hvp, thetas[lo : lo + chunk], min(int(iters), spec.size), seed)
        for lo in range(0, thetas.shape[0], int(chunk))
    ]
    return np.concatenate(out)


def _lanczos_top(hvp, thetas: torch.Tensor, m: int, seed: int) -> np.ndarray:
    k, p = thetas.shape
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    q = torch.randn(p, generator=gen, dtype=torch.float64).to(thetas.device)
    q = (q / q.norm()).expand(k, p).clone()
    basis = torch.zeros(k, m, p, dtype=torch.float64, device=thetas.device)
    alphas = np.zeros((k, m))
    betas = np.zeros((k, max(m - 1, 0)))
    sizes = np.full(k, m)  # Krylov dimension reached by each point
    for j in range(m):
        basis[:, j] = q
        w = hvp(thetas, q.to(thetas.dtype)).to(torch.float64)
        alphas[:, j] = (w * q).sum(-1).cpu().numpy()
        done = basis[:, : j + 1]
        for _ in range(2):  # full re-orthogonalisation, twice (Kahan)
            w = w - torch.einsum("kjp,kj->kp", done, torch.einsum("kjp,kp->kj", done, w))
        b = w.norm(dim=-1)
        if j + 1 == m:
            break
        closed = (b < 1e-10).cpu().numpy()
        sizes = np.where(closed & (sizes == m), j + 1, sizes)  # invariant subspace: exact
        if bool((sizes < m).all()):
            break
        betas[:, j] = b.cpu().numpy()
        q = torch.where(b[:, None] > 1e-10, w / b.clamp_min(1e-30)[:, None], torch.zeros_like(w))
    tops = np.empty(k)
    for i in range(k):
        n = int(sizes[i])
        t = np.diag(alphas[i, :n])
        if n > 1:
            t += np.diag(betas[i, : n - 1], 1) + np.diag(betas[i, : n - 1], -1)
        tops[i] = np.linalg.eigvalsh(t)[-1]
    return tops
