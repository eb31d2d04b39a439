"""Comparing two computations of one run where the dynamics amplify rounding.

Two implementations of the same rule (ours against a direct loop or torch.optim, a batched run
against a lone one) agree to the last bits only if they run the same operations in the same
order. Otherwise they differ by an ulp here and there (an FMA, the order of a sum, libm's pow
against a vectorised one, another CPU's kernels), and a chaotic stretch (Rosenbrock's curved
valley, a line search near its threshold) multiplies that difference by a few each step. So:
compare step for step over the horizon where the difference stays bounded, then compare what is
robust: where the run ends (the minimum it reaches) and when it gets there, within a margin.
"""

from __future__ import annotations

import numpy as np


def settled_at(path: np.ndarray, tol: float) -> int:
    """The first step from which the path stays within ``tol`` (max norm) of its last point."""
    far = np.nonzero(np.abs(path - path[-1]).max(-1) > tol)[0]
    return int(far[-1]) + 1 if far.size else 0


def assert_same_run(
    ours: np.ndarray,
    ref: np.ndarray,
    *,
    horizon: int,
    tol: float,
    end_tol: float = 1e-8,
    settle_tol: float = 1e-6,
    margin: int = 2,
    what: str = "",
) -> None:
    """``ours`` and ``ref`` (positions, ``(steps + 1, 2)``) agree within ``tol`` (absolute and
    relative) at every step up to ``horizon``; they end within ``end_tol`` of each other; and
    where the reference settles (stays within ``settle_tol`` of its end) before the last step,
    ours settles within ``margin`` steps of it, else ours is still moving at the end too."""
    assert ours.shape == ref.shape, what
    assert horizon < len(ref) - 1, f"{what}: the horizon must leave steps to compare outcomes"
    np.testing.assert_allclose(
        ours[: horizon + 1],
        ref[: horizon + 1],
        rtol=tol,
        atol=tol,
        err_msg=f"{what} (step for step)",
    )
    np.testing.assert_allclose(ours[-1], ref[-1], rtol=0, atol=end_tol, err_msg=f"{what} (end)")
    a, b = settled_at(ours, settle_tol), settled_at(ref, settle_tol)
    last = len(ref) - 1
    if b < last:
        assert abs(a - b) <= margin, f"{what}: settles at step {a}, the reference at step {b}"
    else:
        assert a == last, f"{what}: settles at step {a}, the reference is still moving"
