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
   steps change sign at least 80 % of the time, the loss is not decreasing and the swing is
   more than rounding (``ROUNDING_SWING`` domain diagonals); the period is
   2 W / (number of sign changes) steps. The curvature of the final Hessian along that direction
   (``axis_curvature``, d^T H d) explains it: a gradient-descent step above 2 / curvature
   overshoots (other methods have their own limits: ``analysis.stability_verdict``).
4. stalled: the run has (nearly) stopped far from any minimum: its displacement over the tail is
   below ``stol`` diagonals (vanishing gradient on a plateau, or a saddle: see ``detail``); or
   each of the last ``K`` points lies within ``r`` of one of the landscape's saddles (it creeps
   too slowly to leave it within the window).
5. moving: anything else; it is still making progress.

Each status but "moving" is also an event, written on the chart at a place and a step
(``event_step``, ``event_position``, in a few words: ``Diagnosis.label``): divergence at
``diverged_at``, at the last finite point inside the domain before it; a minimum (or a listed saddle)
reached from the step after which the run stays within ``r`` of it (written at the final point); a stall from the
step after which the run moves less than ``stol`` diagonals in all (written at the stall); an
oscillation from the first step from which the steps along ``direction`` change sign at least 80 %
of the time (written at that step's position), "along the steep axis" where ``direction`` is the
final Hessian's direction of largest curvature. With only the tail given (no ``path``), the steps
are found within the tail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

STATUSES = ("converged", "trapped", "diverged", "oscillating", "stalled", "moving")
ROUNDING_SWING = 1e-12  # domain diagonals: swings below this are rounding, never "oscillating"
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
# the events in a few words (Diagnosis.label; R_AT_MINIMUM and R_DIVERGED are built there)
_LABELS = {
    R_FLAT: "stalled on a plateau",
    R_SADDLE: "stalled at the saddle",
    R_UNLISTED: "trapped in a local minimum",
    R_GLOBAL_VALUE: "reached the global minimum",
    R_UNKNOWN_MINIMUM: "reached a minimum",
    R_OSCILLATING: "oscillating",
}


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
        event_step: step from which the status holds (see the module's notes; -1: none, "moving").
        event_position: (S, N, 2) where to write the event (NaN where there is none).
        steep_axis: the oscillation's ``direction`` is the final Hessian's steepest direction.
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
    event_step: np.ndarray | None = field(default=None, repr=False)
    event_position: np.ndarray | None = field(default=None, repr=False)
    steep_axis: np.ndarray | None = field(default=None, repr=False)

    @cached_property
    def label(self) -> np.ndarray:
        """The event in a few words per run (see ``event_step``), "" for a run still moving:
        "diverged at step k", "reached the global minimum", "trapped in a local minimum",
        "reached a minimum", "stalled at the saddle", "stalled on a plateau", "oscillating"
        (along the steep axis where it is known to be)."""
        out = np.full(self.status.shape, "", dtype=object)
        for code, text in _LABELS.items():
            out[self.reason == code] = text
        at_min = self.reason == R_AT_MINIMUM
        out[at_min & (self.minimum_kind == "global")] = "reached the global minimum"
        out[at_min & (self.minimum_kind == "local")] = "trapped in a local minimum"
        if self.steep_axis is not None:
            out[(self.reason == R_OSCILLATING) & self.steep_axis] = (
                "oscillating along the steep axis"
            )
        for idx in zip(*np.nonzero(self.reason == R_DIVERGED), strict=True):
            out[idx] = f"diverged at step {self.diverged_at[idx]}"
        return out.astype(str)

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
    path: np.ndarray | None = None,
) -> Diagnosis:
    """Classify runs from their tails: positions (S, N, W+1, 2), losses and gradient norms (S, N, W+1).

    ``path``: the whole paths (S, N, steps + 1, 2), where recorded: the events' steps are then
    found over the whole run (without it, within the tail)."""
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
        path_len = np.sqrt(uxx + uyy).sum(-1)
        along = px * cos[..., None] + py * sin[..., None]
        amplitude = 0.5 * (along.max(-1) - along.min(-1))
        amplitude[~np.isfinite(amplitude)] = np.inf  # a run that blew up swings without bound
        # a swing of a few ulps at a fixed point (a fused multiply-add rounding one way, then the
        # other) is rounding, not an oscillation anyone could see
        visible = amplitude > ROUNDING_SWING * diag
        oscillating = (w >= 4) & (flip_rate >= 0.8) & ~decreasing & visible
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

    # stalled at a listed saddle: each of the last k points lies within r of it (it may still
    # creep towards it, or away along the escape direction, too slowly to leave in the window)
    saddles = list(getattr(landscape, "saddles", ()))
    k = max(2, w // 5)
    at_saddle = np.full(shape, -1, dtype=np.int64)
    with np.errstate(over="ignore", invalid="ignore"):
        for j, sd in enumerate(saddles):
            near = (np.hypot(px[..., -k:] - sd.x, py[..., -k:] - sd.y) <= rtol * diag).all(-1)
            at_saddle[near & (at_saddle < 0)] = j
    code[at_saddle >= 0], reason[at_saddle >= 0] = STALLED, R_SADDLE

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
    steep = (
        (eig[..., -1] > 0)
        & (axis_curvature >= 0.9 * eig[..., -1])
        & (eig[..., -1] >= 2 * np.abs(eig[..., 0]))
    )
    centres = np.where(
        (reason == R_AT_MINIMUM)[..., None],
        np.stack([[m.x, m.y] for m in minima] + [[np.nan, np.nan]])[minimum] if minima else np.nan,
        positions[..., -1, :],
    )
    saddle_xy = np.array([[sd.x, sd.y] for sd in saddles] + [[np.nan, np.nan]])[at_saddle]
    at_saddle[reason != R_SADDLE] = -1
    centres = np.where((at_saddle >= 0)[..., None], saddle_xy, centres)
    event_step, event_position = _events(
        landscape.domain,
        positions if path is None else path,
        steps - w if path is None else 0,
        reason,
        diverged_at,
        direction,
        centres,
        at_saddle >= 0,
        rtol * diag,
        stol * diag,
    )
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
        event_step=event_step,
        event_position=event_position,
        steep_axis=steep,
    )


def _last_true(mask: np.ndarray) -> np.ndarray:
    """Index of the last True along the last axis (-1 where none)."""
    n = mask.shape[-1]
    return np.where(mask.any(-1), n - 1 - np.flip(mask, -1).argmax(-1), -1)


def _first_true(mask: np.ndarray) -> np.ndarray:
    """Index of the first True along the last axis (-1 where none)."""
    return np.where(mask.any(-1), mask.argmax(-1), -1)


def _events(
    domain,
    path: np.ndarray,
    offset: int,
    reason: np.ndarray,
    diverged_at: np.ndarray,
    direction: np.ndarray,
    centres: np.ndarray,
    at_saddle: np.ndarray,
    radius: float,
    still: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The step at which each run's status becomes true and where to write it (see the module's
    notes); ``path`` (S, N, L, 2) holds steps ``offset`` to ``offset + L - 1``."""
    shape, n = reason.shape, path.shape[2]
    step = np.full(shape, -1, dtype=np.int64)
    where = np.full((*shape, 2), np.nan)
    if n == 0:
        return step, where
    idx = np.arange(n)
    (x0, x1), (y0, y1) = domain
    with np.errstate(invalid="ignore", over="ignore"):
        px, py = path[..., 0], path[..., 1]
        inside = (px >= x0) & (px <= x1) & (py >= y0) & (py <= y1)  # NaN compares false

        def at(index: np.ndarray) -> np.ndarray:
            ok = index >= 0
            out = np.take_along_axis(path, np.maximum(index, 0)[..., None, None], 2)[..., 0, :]
            return np.where(ok[..., None], out, np.nan)

        # diverged: the last finite point inside the domain before the step where it blew up
        div = reason == R_DIVERGED
        before = idx < (diverged_at - offset)[..., None]
        last = _last_true(inside & before)
        last = np.where(last >= 0, last, _last_true(np.isfinite(path).all(-1) & before))
        step[div], where[div] = diverged_at[div], at(last)[div]

        # at a minimum: from the step after the last point farther than ``radius`` from it
        settled = at_saddle | np.isin(
            reason, (R_AT_MINIMUM, R_UNLISTED, R_GLOBAL_VALUE, R_UNKNOWN_MINIMUM)
        )
        near = np.hypot(px - centres[..., 0, None], py - centres[..., 1, None]) <= radius
        step[settled] = (offset + _last_true(~near) + 1)[settled]
        where[settled] = path[..., -1, :][settled]

        # stalled: from the first step after which the path is shorter than ``still`` in all
        stalled = np.isin(reason, (R_FLAT, R_SADDLE)) & ~at_saddle
        seg = np.hypot(np.diff(px, axis=-1), np.diff(py, axis=-1))
        seg[~np.isfinite(seg)] = np.inf
        rest = np.flip(np.cumsum(np.flip(seg, -1), -1), -1)  # path length from each step on
        rest = np.concatenate([rest, np.zeros((*shape, 1))], -1)
        first = _first_true(rest <= still)
        step[stalled], where[stalled] = (offset + first)[stalled], at(first)[stalled]

        # oscillating: from the first step whose later steps along ``direction`` flip sign at
        # least 80 % of the time
        osc = reason == R_OSCILLATING
        if osc.any() and n >= 3:
            proj = (
                np.diff(px, axis=-1) * direction[..., 0, None]
                + np.diff(py, axis=-1) * direction[..., 1, None]
            )
            flips = (proj[..., 1:] * proj[..., :-1]) < 0  # (S, N, L - 2)
            count = np.flip(np.cumsum(np.flip(flips, -1), -1), -1)
            rate = count / np.arange(flips.shape[-1], 0, -1)
            first = _first_true(rate >= 0.8)
            first = np.where(first >= 0, first + 1, -1)
            step[osc], where[osc] = (offset + first)[osc], at(first)[osc]
    return step, where
