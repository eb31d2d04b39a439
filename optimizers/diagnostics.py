"""Run statuses computed from the numbers: converged, trapped, diverged, oscillating, stalled, moving.

The classification looks at the last ``W + 1`` recorded points of each run (the tail):

1. diverged: the loss or the position became non-finite, or the run left the escape radius
   (the step at which that first happened is kept).
2. converged / trapped: every point of the last ``K = max(2, W // 5)`` lies within ``r`` of one
   known minimum (``r = rtol * domain diagonal``): converged for a global minimum, trapped for a
   local one. A run that has stopped moving at a point with zero gradient and a positive-definite
   Hessian that is not in the landscape's list is also trapped (or converged, if its loss equals
   the global minimum's value).
3. oscillating: along the dominant direction of the tail's updates (first principal axis), the
   steps change sign at least 80 % of the time and the loss is not decreasing; the period is
   2 W / (number of sign changes) steps. The curvature of the final Hessian along that direction
   (``axis_curvature``, d^T H d) explains it: a step size above 2 / curvature overshoots.
4. stalled: the run has (nearly) stopped far from any minimum: its displacement over the tail is
   below ``stol`` diagonals (vanishing gradient on a plateau, or a saddle: see ``detail``).
5. moving: anything else; it is still making progress.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STATUSES = ("converged", "trapped", "diverged", "oscillating", "stalled", "moving")


@dataclass
class Diagnosis:
    """Per-run statuses and their evidence; every array is shaped (S, N) unless noted.

    Attributes:
        status: status names (see STATUSES).
        minimum: index into the landscape's ``minima`` of the minimum reached (-1: none).
        distance: distance from the final point to the nearest known minimum (inf if none known).
        diverged_at: first step at which the run diverged (-1: never).
        period: oscillation period in steps (0 where not oscillating).
        direction: (S, N, 2) unit vector of the dominant direction of the final steps.
        detail: one sentence per run explaining the status.
        amplitude: half the spread of the tail's positions along ``direction`` (the swing of an
            oscillation; 0 for a settled run).
        axis_curvature: curvature d^T H d of the final point's Hessian along ``direction``.
        minimum_kind: "global" or "local" for the minimum reached, "" if none.
    """

    status: np.ndarray
    minimum: np.ndarray
    distance: np.ndarray
    diverged_at: np.ndarray
    period: np.ndarray
    direction: np.ndarray
    detail: np.ndarray
    amplitude: np.ndarray | None = None
    axis_curvature: np.ndarray | None = None
    minimum_kind: np.ndarray | None = None


def diagnose(
    landscape,
    positions: np.ndarray,
    losses: np.ndarray,
    grad_norms: np.ndarray,
    diverged_at: np.ndarray,
    final_hessians: np.ndarray,
    steps: int,
    *,
    rtol: float = 1e-2,
    stol: float = 1e-4,
    gtol: float = 1e-6,
) -> Diagnosis:
    """Classify runs from their tails: positions (S, N, W+1, 2), losses and gradient norms (S, N, W+1)."""
    shape = positions.shape[:2]
    diag = float(np.hypot(*(hi - lo for lo, hi in landscape.domain)))
    minima = list(getattr(landscape, "minima", ()))
    w = positions.shape[2] - 1
    status = np.full(shape, "moving", dtype=object)
    detail = np.full(shape, "still making progress", dtype=object)
    minimum = np.full(shape, -1, dtype=np.int64)
    distance = np.full(shape, np.inf)
    period = np.zeros(shape, dtype=np.int64)

    with np.errstate(invalid="ignore", over="ignore"):
        # oscillation along the dominant direction of the tail's steps
        updates = np.diff(positions, axis=2)  # (S, N, W, 2)
        u = np.nan_to_num(updates, nan=0.0, posinf=0.0, neginf=0.0)
        ux, uy = u[..., 0], u[..., 1]
        # principal axis of the 2x2 scatter matrix [[a, b], [b, c]]: angle atan2(2b, a - c) / 2
        a, b, c = (ux * ux).sum(-1), (ux * uy).sum(-1), (uy * uy).sum(-1)
        theta = 0.5 * np.arctan2(2 * b, a - c)
        direction = np.stack([np.cos(theta), np.sin(theta)], axis=-1)
        proj = ux * direction[..., None, 0] + uy * direction[..., None, 1]
        flips = ((proj[..., 1:] * proj[..., :-1]) < 0).sum(-1)
        flip_rate = flips / np.maximum(w - 1, 1)
        decreasing = losses[..., -1] < losses[..., 0] - 1e-9 * (1.0 + np.abs(losses[..., 0]))
        oscillating = (w >= 4) & (flip_rate >= 0.8) & ~decreasing
        path_len = np.sqrt(ux * ux + uy * uy).sum(-1)
        along = np.nan_to_num(
            positions[..., 0] * direction[..., None, 0]
            + positions[..., 1] * direction[..., None, 1]
        )
        amplitude = 0.5 * (along.max(-1) - along.min(-1)) if w >= 0 else np.zeros(shape)
        hd = np.einsum("snij,snj->sni", np.nan_to_num(final_hessians), direction)
        axis_curvature = np.einsum("sni,sni->sn", direction, hd)
        still = (path_len <= stol * diag) & (w >= 1)

    # stalled: stopped far from a minimum; the Hessian says saddle or plateau
    eig = np.linalg.eigvalsh(np.nan_to_num(final_hessians))
    status[still] = "stalled"
    detail[still] = "the steps have vanished far from any known minimum (flat region)"
    saddle = still & (eig[..., 0] < -1e-8 * np.maximum(1.0, np.abs(eig[..., -1])))
    detail[saddle] = "stopped near a saddle point (negative curvature along one axis)"
    unknown_min = still & (grad_norms[..., -1] <= gtol) & (eig[..., 0] > 0)
    status[unknown_min] = "trapped"
    detail[unknown_min] = "stopped in a local minimum that is not in the landscape's list"

    status[oscillating] = "oscillating"
    period[oscillating] = np.round(2 * w / np.maximum(flips[oscillating], 1)).astype(np.int64)
    for idx in zip(*np.nonzero(oscillating), strict=True):
        angle = np.degrees(np.arctan2(direction[idx][1], direction[idx][0])) % 180
        curv = axis_curvature[idx]
        why = (
            f"; the curvature along it is {curv:.3g}, so steps longer than 2/{curv:.3g} = "
            f"{2 / curv:.3g} overshoot"
            if curv > 0
            else ""
        )
        detail[idx] = (
            f"bouncing back and forth with period {period[idx]} steps along the "
            f"direction at {angle:.0f} degrees (swing ±{amplitude[idx]:.3g}), loss not "
            f"decreasing{why}"
        )

    if minima:
        pts = np.array([[m.x, m.y] for m in minima])
        k = max(2, w // 5)
        recent = positions[:, :, -k:]  # (S, N, k, 2)
        with np.errstate(over="ignore", invalid="ignore"):  # diverged runs: inf distances
            dist_all = np.linalg.norm(recent[:, :, :, None, :] - pts, axis=-1)  # (S, N, k, M)
        nearest = np.nan_to_num(dist_all[:, :, -1], nan=np.inf).argmin(-1)
        distance = np.take_along_axis(dist_all[:, :, -1], nearest[..., None], -1)[..., 0]
        distance = np.where(np.isfinite(distance), distance, np.inf)
        settled = (
            np.take_along_axis(dist_all, nearest[:, :, None, None], -1)[..., 0] <= rtol * diag
        ).all(-1)
        kinds = np.array([m.kind for m in minima])
        best = min((m.value for m in minima if m.kind == "global"), default=None)
        messages = np.array(
            [
                f"reached the global minimum at ({m.x:.4g}, {m.y:.4g})"
                if m.kind == "global"
                else f"trapped in the local minimum #{i} at ({m.x:.4g}, {m.y:.4g}), value "
                f"{m.value:.4g}"
                + (f" (the global minimum's is {best:.4g})" if best is not None else "")
                for i, m in enumerate(minima)
            ],
            dtype=object,
        )
        minimum[settled] = nearest[settled]
        status[settled] = np.where(kinds[nearest[settled]] == "global", "converged", "trapped")
        detail[settled] = messages[nearest[settled]]
        global_value = (
            min(m.value for m in minima if m.kind == "global")
            if (kinds == "global").any()
            else None
        )
        if global_value is not None:
            at_global = (
                (status == "trapped")
                & (minimum < 0)
                & (np.abs(losses[..., -1] - global_value) <= 1e-6 * (1 + abs(global_value)))
            )
            status[at_global] = "converged"
            detail[at_global] = "reached a point with the global minimum's value"

    div = diverged_at >= 0
    status[div] = "diverged"
    minimum[div] = -1
    minimum_kind = np.full(shape, "", dtype=object)
    for i, m in enumerate(minima):
        minimum_kind[minimum == i] = m.kind
    for idx in zip(*np.nonzero(div), strict=True):
        detail[idx] = f"diverged at step {diverged_at[idx]}: the loss or position blew up"
    return Diagnosis(
        status=status.astype(str),
        minimum=minimum,
        distance=distance,
        diverged_at=diverged_at,
        period=period,
        direction=direction,
        detail=detail.astype(str),
        amplitude=amplitude,
        axis_curvature=axis_curvature,
        minimum_kind=minimum_kind.astype(str),
    )
