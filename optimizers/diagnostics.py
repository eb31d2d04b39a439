"""Run statuses computed from the numbers: converged, trapped, diverged, oscillating, stalled, moving.

The classification looks at the last ``W + 1`` recorded points of each run (the tail):

1. diverged: the loss or the position became non-finite, or the run left the escape radius
   (the step at which that first happened is kept).
2. converged / trapped: every point of the last ``K = max(2, W // 5)`` lies within ``r`` of one
   known minimum (``r = rtol * domain diagonal``): converged for a global minimum, trapped for a
   local one. A run that has stopped moving at a point with zero gradient and a positive-definite
   Hessian that is not in the landscape's list has reached a minimum: where the landscape names
   its global minimum, it is converged if its loss equals the global minimum's value and trapped
   if it is above; where no global minimum is known (a custom formula), it is converged to a
   minimum that is not known to be the global one (never "trapped": nothing says it is a trap).
3. oscillating: along the dominant direction of the tail's updates (first principal axis), the
   steps change sign at least 80 % of the time and the loss is not decreasing; the period is
   2 W / (number of sign changes) steps. The curvature of the final Hessian along that direction
   (``axis_curvature``, d^T H d) explains it: a gradient-descent step above 2 / curvature
   overshoots (other methods have their own limits: ``analysis.stability_verdict``).
4. stalled: the run has (nearly) stopped far from any minimum: its displacement over the tail is
   below ``stol`` diagonals (vanishing gradient on a plateau, or a saddle: see ``detail``).
5. moving: anything else; it is still making progress.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

STATUSES = ("converged", "trapped", "diverged", "oscillating", "stalled", "moving")
CONVERGED, TRAPPED, DIVERGED, OSCILLATING, STALLED, MOVING = range(len(STATUSES))

# why a run has its status: each reason has one sentence (built on demand, see Diagnosis.detail)
_FIXED_REASONS = (
    "still making progress",
    "the steps have vanished far from any known minimum (flat region)",
    "stopped near a saddle point (negative curvature along one axis)",
    "stopped in a local minimum that is not in the landscape's list",
    "reached a point with the global minimum's value",
    "reached a minimum (zero gradient, positive-definite Hessian); this surface's minima are not "
    "known, so it is not known to be the global one",
)
R_MOVING, R_FLAT, R_SADDLE, R_UNLISTED, R_GLOBAL_VALUE, R_UNKNOWN_MINIMUM = range(
    len(_FIXED_REASONS)
)
R_OSCILLATING, R_AT_MINIMUM, R_DIVERGED = 6, 7, 8


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
        amplitude: half the spread of the tail's positions along ``direction`` (the swing of an
            oscillation; 0 for a settled run).
        axis_curvature: curvature d^T H d of the final point's Hessian along ``direction``.
        minimum_kind: "global" or "local" for the minimum reached, "" if none.
        reason: why each run has its status (an ``R_*`` code); ``detail`` puts it in words.
        minima_text: one sentence per known minimum, for runs that reached it.
    """

    status: np.ndarray
    minimum: np.ndarray
    distance: np.ndarray
    diverged_at: np.ndarray
    period: np.ndarray
    direction: np.ndarray
    amplitude: np.ndarray
    axis_curvature: np.ndarray
    minimum_kind: np.ndarray
    reason: np.ndarray = field(repr=False)
    minima_text: tuple[str, ...] = field(default=(), repr=False)

    @cached_property
    def detail(self) -> np.ndarray:
        """One sentence per run explaining its status (built on first use: a basin map of
        40000 runs never asks for it)."""
        out = np.empty(self.status.shape, dtype=object)
        for code, text in enumerate(_FIXED_REASONS):
            out[self.reason == code] = text
        at_min = self.reason == R_AT_MINIMUM
        if at_min.any():
            out[at_min] = np.asarray(self.minima_text, dtype=object)[self.minimum[at_min]]
        for idx in zip(*np.nonzero(self.reason == R_OSCILLATING), strict=True):
            out[idx] = _oscillation_text(
                self.direction[idx], self.period[idx], self.amplitude[idx], self.axis_curvature[idx]
            )
        for idx in zip(*np.nonzero(self.reason == R_DIVERGED), strict=True):
            out[idx] = f"diverged at step {self.diverged_at[idx]}: the loss or position blew up"
        return out.astype(str)


def _oscillation_text(direction: np.ndarray, period: int, amplitude: float, curv: float) -> str:
    angle = np.degrees(np.arctan2(direction[1], direction[0])) % 180
    why = (
        f"; the curvature along it is {curv:.3g}, so gradient-descent steps longer than "
        f"2/{curv:.3g} = {2 / curv:.3g} overshoot"
        if curv > 0
        else ""
    )
    return (
        f"bouncing back and forth with period {period} steps along the direction at "
        f"{angle:.0f} degrees (swing ±{amplitude:.3g}), loss not decreasing{why}"
    )


def _minima_text(minima: list) -> tuple[str, ...]:
    best = min((m.value for m in minima if m.kind == "global"), default=None)
    return tuple(
        f"reached the global minimum at ({m.x:.4g}, {m.y:.4g})"
        if m.kind == "global"
        else f"trapped in the local minimum #{i} at ({m.x:.4g}, {m.y:.4g}), value {m.value:.4g}"
        + (f" (the global minimum's is {best:.4g})" if best is not None else "")
        for i, m in enumerate(minima)
    )


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
    code = np.full(shape, MOVING, dtype=np.int8)
    reason = np.full(shape, R_MOVING, dtype=np.int8)
    minimum = np.full(shape, -1, dtype=np.int64)
    distance = np.full(shape, np.inf)
    period = np.zeros(shape, dtype=np.int64)
    px, py = (np.ascontiguousarray(positions[..., i]) for i in (0, 1))  # (S, N, W+1)

    with np.errstate(invalid="ignore", over="ignore"):
        # oscillation along the dominant direction of the tail's steps (non-finite steps: 0)
        ux, uy = np.diff(px, axis=-1), np.diff(py, axis=-1)  # (S, N, W)
        for u in (ux, uy):
            u[~np.isfinite(u)] = 0.0
        # principal axis of the 2x2 scatter matrix [[a, b], [b, c]]: angle atan2(2b, a - c) / 2
        uxx, uyy = ux * ux, uy * uy
        a, b, c = uxx.sum(-1), (ux * uy).sum(-1), uyy.sum(-1)
        theta = 0.5 * np.arctan2(2 * b, a - c)
        cos, sin = np.cos(theta), np.sin(theta)
        direction = np.stack([cos, sin], axis=-1)
        proj = ux * cos[..., None] + uy * sin[..., None]
        flips = ((proj[..., 1:] * proj[..., :-1]) < 0).sum(-1)
        flip_rate = flips / np.maximum(w - 1, 1)
        decreasing = losses[..., -1] < losses[..., 0] - 1e-9 * (1.0 + np.abs(losses[..., 0]))
        oscillating = (w >= 4) & (flip_rate >= 0.8) & ~decreasing
        path_len = np.sqrt(uxx + uyy).sum(-1)
        along = px * cos[..., None] + py * sin[..., None]
        amplitude = 0.5 * (along.max(-1) - along.min(-1))
        amplitude[~np.isfinite(amplitude)] = np.inf  # a run that blew up swings without bound
        h = np.nan_to_num(final_hessians)
        axis_curvature = cos * (h[..., 0, 0] * cos + h[..., 0, 1] * sin) + sin * (
            h[..., 1, 0] * cos + h[..., 1, 1] * sin
        )
        still = (path_len <= stol * diag) & (w >= 1)

    # stalled: stopped far from a minimum; the Hessian says saddle or plateau
    eig = np.linalg.eigvalsh(h)
    code[still], reason[still] = STALLED, R_FLAT
    reason[still & (eig[..., 0] < -1e-8 * np.maximum(1.0, np.abs(eig[..., -1])))] = R_SADDLE
    unlisted = still & (grad_norms[..., -1] <= gtol) & (eig[..., 0] > 0)
    if any(m.kind == "global" for m in minima):  # below: converged where at the global value
        code[unlisted], reason[unlisted] = TRAPPED, R_UNLISTED
    else:  # no global minimum known: a minimum, not known to be a trap
        code[unlisted], reason[unlisted] = CONVERGED, R_UNKNOWN_MINIMUM

    code[oscillating], reason[oscillating] = OSCILLATING, R_OSCILLATING
    period[oscillating] = np.round(2 * w / np.maximum(flips[oscillating], 1)).astype(np.int64)

    if minima:
        mx = np.array([m.x for m in minima])
        my = np.array([m.y for m in minima])
        k = max(2, w // 5)
        with np.errstate(over="ignore", invalid="ignore"):  # diverged runs: inf distances
            last = np.hypot(px[..., -1, None] - mx, py[..., -1, None] - my)  # (S, N, M)
            nearest = np.nan_to_num(last, nan=np.inf).argmin(-1)
            distance = np.take_along_axis(last, nearest[..., None], -1)[..., 0]
            distance[~np.isfinite(distance)] = np.inf
            # settled: each of the last k points lies within rtol diagonals of that minimum
            dx = px[..., -k:] - mx[nearest][..., None]
            dy = py[..., -k:] - my[nearest][..., None]
            settled = (dx * dx + dy * dy <= (rtol * diag) ** 2).all(-1)
        is_global = np.array([m.kind == "global" for m in minima])
        minimum[settled] = nearest[settled]
        code[settled] = np.where(is_global[nearest[settled]], CONVERGED, TRAPPED)
        reason[settled] = R_AT_MINIMUM
        if is_global.any():
            global_value = min(m.value for m in minima if m.kind == "global")
            at_global = (
                (code == TRAPPED)
                & (minimum < 0)
                & (np.abs(losses[..., -1] - global_value) <= 1e-6 * (1 + abs(global_value)))
            )
            code[at_global], reason[at_global] = CONVERGED, R_GLOBAL_VALUE

    div = diverged_at >= 0
    code[div], reason[div] = DIVERGED, R_DIVERGED
    minimum[div] = -1
    kinds = np.array([m.kind for m in minima] + [""])
    return Diagnosis(
        status=np.array(STATUSES)[code],
        minimum=minimum,
        distance=distance,
        diverged_at=diverged_at,
        period=period,
        direction=direction,
        amplitude=amplitude,
        axis_curvature=axis_curvature,
        minimum_kind=kinds[minimum],
        reason=reason,
        minima_text=_minima_text(minima),
    )
