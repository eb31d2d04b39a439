"""Planes from optimisation trajectories (PCA) and projection of parameter vectors onto a plane.

PCA plane (Li et al. 2018, section 7): with the centre c = the final point of one run, stack the
displacements theta_t - c of every recorded point of the selected runs into a matrix D (M x P);
the plane is spanned by the two leading right singular vectors of D (an uncentred PCA, so the
plane passes through c; ``centered=True`` subtracts the mean displacement first, as
scikit-learn's PCA in the paper's code does). ``explained_variance_ratio`` is s_k^2 / sum s^2.

Projection: the least-squares coordinates (a, b) minimise ||p - c - a d1 - b d2||, i.e. solve
the 2x2 normal equations G [a, b]^T = [d1.(p-c), d2.(p-c)] with G the Gram matrix of (d1, d2)
(d1 and d2 need not be orthogonal); the residual is the norm of what is left. ``plane_points``
maps coordinates back to parameter vectors c + a d1 + b d2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .evaluator import intra_op_threads


@dataclass(frozen=True)
class PcaPlane:
    """A plane through ``center`` spanned by unit vectors ``d1``, ``d2`` (all (P,) float64)."""

    d1: np.ndarray
    d2: np.ndarray
    center: np.ndarray
    explained_variance_ratio: np.ndarray
    runs: tuple[int, ...] = ()
    center_run: int = 0
    center_step: int = -1

    @property
    def directions(self) -> tuple[np.ndarray, np.ndarray]:
        return self.d1, self.d2


def _vec(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def project(
    points: Any, center: Any, d1: Any, d2: Any, *, relative: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares plane coordinates of ``points`` ``(..., P)``: (a, b, residual), each ``(...)``.

    ``residual`` = ||p - c - a d1 - b d2||; with ``relative`` it is divided by ||p - c||
    (0 where p = c). Raises ValueError if d1 and d2 are (nearly) parallel.
    """
    p, c, u, v = _vec(points), _vec(center), _vec(d1), _vec(d2)
    if not (p.shape[-1] == c.shape[-1] == u.shape[-1] == v.shape[-1]):
        raise ValueError("points, center and directions must share the last dimension P")
    basis = np.stack([u, v])  # (2, P)
    gram = basis @ basis.T
    if abs(np.linalg.det(gram)) <= 1e-12 * max(gram[0, 0] * gram[1, 1], 1e-300):
        raise ValueError("d1 and d2 are parallel (or zero): they do not span a plane")
    delta = p - c
    rhs = delta @ basis.T  # (..., 2)
    coords = np.linalg.solve(gram, rhs.reshape(-1, 2).T).T.reshape(rhs.shape)
    rest = delta - coords @ basis
    residual = np.linalg.norm(rest, axis=-1)
    if relative:
        norm = np.linalg.norm(delta, axis=-1)
        residual = np.divide(residual, norm, out=np.zeros_like(residual), where=norm > 0)
    return coords[..., 0], coords[..., 1], residual


def plane_points(center: Any, d1: Any, d2: Any, a: Any, b: Any) -> np.ndarray:
    """The parameter vectors c + a d1 + b d2 at plane coordinates (a, b): ``(..., P)`` float64.

    ``a`` and ``b`` broadcast against each other (e.g. the ``(R, T)`` coordinates from
    ``project``); ``center``, ``d1``, ``d2`` are ``(P,)``. Where a coordinate is not finite (a
    diverged run) the whole row is NaN, without a warning. With the coordinates from ``project``
    these are the feet of the perpendiculars: the points whose loss the surface shows under each
    projected iterate (compare with the iterate's own loss to see what the projection hides).
    """
    c, u, v = _vec(center), _vec(d1), _vec(d2)
    if not (c.ndim == u.ndim == v.ndim == 1 and c.shape == u.shape == v.shape):
        raise ValueError("center, d1 and d2 must be vectors of the same length P")
    aa, bb = np.broadcast_arrays(_vec(a), _vec(b))
    ok = np.isfinite(aa) & np.isfinite(bb)
    a0, b0 = np.where(ok, aa, 0.0)[..., None], np.where(ok, bb, 0.0)[..., None]
    out = c + a0 * u + b0 * v
    out[~ok] = np.nan
    return out


def pca_directions(
    result: Any,
    *,
    runs: Any = None,
    center_run: int = 0,
    center_step: int = -1,
    centered: bool = False,
) -> PcaPlane:
    """The PCA plane of the selected runs' trajectories about one run's point (module docstring).

    Args:
        result: a ``studies.training.TrainingResult`` (or anything with its ``params``,
            an (R, T, P) array of trajectories).
        runs: indices of the runs to include (default all); runs with non-finite parameters
            (diverged) are skipped.
        center_run, center_step: the centre is ``result.params[center_run, center_step]``
            (an index into the recorded steps; -1 = the final point).
        centered: subtract the mean displacement before the SVD (the paper code's PCA).
    """
    r = result.params.shape[0]
    if not -r <= center_run < r:
        raise ValueError(f"center_run must index one of the {r} runs, got {center_run}")
    t = result.params.shape[1]
    if not -t <= center_step < t:
        raise ValueError(f"center_step must index one of the {t} recorded steps, got {center_step}")
    chosen = list(range(r)) if runs is None else [int(i) for i in np.atleast_1d(runs)]
    if not chosen or any(not -r <= i < r for i in chosen):
        raise ValueError(f"runs must be indices of the {r} runs, got {runs!r}")
    center = result.params[center_run, center_step].astype(np.float64)
    if not np.isfinite(center).all():
        raise ValueError("the chosen centre has non-finite parameters (a diverged run)")
    pts = result.params[chosen].astype(np.float64).reshape(-1, center.shape[0])
    pts = pts[np.isfinite(pts).all(-1)]
    delta = pts - center
    if centered:
        delta = delta - delta.mean(0)
    # the SVD of the small M x M Gram matrix: M (points) << P (parameters); torch's BLAS, so
    # the product shares the thread pool of the rest of the engine
    dt = torch.from_numpy(delta)
    gram = dt @ dt.T
    # LAPACK's eigh on a few hundred rows is faster on one thread (``intra_op_threads``); large
    # Gram matrices keep torch's thread count
    small = gram.shape[0] <= 2048
    with intra_op_threads(1 if small else torch.get_num_threads()):
        vals_t, vecs_t = torch.linalg.eigh(gram)
    vals = np.clip(vals_t.numpy()[::-1], 0.0, None)
    vecs = vecs_t.flip(1)
    total = vals.sum()
    if len(vals) < 2 or vals[1] <= 1e-24 * max(total, 1e-300):
        raise ValueError("the trajectories do not span two dimensions (too few distinct points)")
    dirs = []
    for k in range(2):
        d = (dt.T @ vecs[:, k]).numpy()
        dirs.append(d / np.linalg.norm(d))
    ratio = vals[:2] / total
    return PcaPlane(
        d1=dirs[0],
        d2=dirs[1],
        center=center,
        explained_variance_ratio=ratio,
        runs=tuple(chosen),
        center_run=int(center_run),
        center_step=int(center_step),
    )
