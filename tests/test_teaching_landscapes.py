"""Tests of the teaching surfaces: their minima and saddles, the quadratic's exact Hessian, and that
each surface really shows its lesson (written with plain torch loops, no optimizer package)."""

from __future__ import annotations

import math

import pytest
import torch

import landscapes
from landscapes import teaching
from landscapes.registry import parameters

KEYS = landscapes.available(group="teaching")
EXPECTED = {
    "saddle",
    "saddle_bounded",
    "monkey_saddle",
    "quadratic",
    "ravine",
    "plateau",
    "cliff",
    "trap",
    "bumpy_bowl",
    "sharp_wide",
}
UNBOUNDED = {"saddle", "monkey_saddle"}  # the only surfaces allowed to list no minimum
DEGENERATE = {"monkey_saddle"}  # saddles whose Hessian vanishes
F64 = torch.float64


def variants(key: str) -> list[dict[str, float]]:
    """Parameter sets to test: the defaults, every parameter at its low end, and at its high end."""
    specs = parameters(key)
    if not specs:
        return [{}]
    return [{}, {p.name: p.low for p in specs}, {p.name: p.high for p in specs}]


CASES = [pytest.param(k, v, id=f"{k}-{i}") for k in KEYS for i, v in enumerate(variants(k))]


def claims_all_minima(key: str, params: dict[str, float]) -> bool:
    land = landscapes.get(key, **params)
    return land.all_minima_known and bool(land.minima)


COMPLETE = [c for c in CASES if claims_all_minima(*c.values)]  # minima lists said to be complete


def point(x: float, y: float, dtype: torch.dtype = F64) -> torch.Tensor:
    return torch.tensor([x, y], dtype=dtype)


def grid_points(land: landscapes.Landscape, n: int = 201, scale: float = 1.0) -> torch.Tensor:
    """An n x n grid over the domain (scaled about its centre), shaped (n, n, 2)."""
    (x0, x1), (y0, y1) = land.domain
    cx, cy, hx, hy = (x0 + x1) / 2, (y0 + y1) / 2, scale * (x1 - x0) / 2, scale * (y1 - y0) / 2
    xs = torch.linspace(cx - hx, cx + hx, n, dtype=F64)
    ys = torch.linspace(cy - hy, cy + hy, n, dtype=F64)
    return torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)


def descend(land, start, lr, steps, *, momentum=0.0, clip=math.inf) -> torch.Tensor:
    """Gradient descent, heavy ball when momentum > 0, gradient norm clipped to ``clip``.

    ``start`` is (n, 2) or (2,); ``lr``, ``momentum`` and ``clip`` are numbers or (n, 1) columns,
    so several runs go in one batch. Returns the path, shaped (steps + 1, *start.shape).
    """
    p, v, path = start.clone(), torch.zeros_like(start), [start.clone()]
    for _ in range(steps):
        g = land.value_and_grad(p)[1]
        g = g * (clip / g.norm(dim=-1, keepdim=True)).clamp(max=1.0)
        v = momentum * v + g
        p = p - lr * v
        path.append(p)
    return torch.stack(path)


def column(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=F64)[:, None]


def adam(land, start, lr, steps, b1=0.9, b2=0.999, eps=1e-8) -> torch.Tensor:
    """Adam with torch.optim's default betas and eps; returns the end point."""
    p, m, s = start.clone(), torch.zeros_like(start), torch.zeros_like(start)
    for t in range(1, steps + 1):
        g = land.value_and_grad(p)[1]
        m, s = b1 * m + (1 - b1) * g, b2 * s + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1**t)) / ((s / (1 - b2**t)).sqrt() + eps)
    return p


def armijo_descent(land, starts: torch.Tensor, steps: int) -> torch.Tensor:
    """Batched gradient descent with a per-point backtracking (Armijo) step length."""
    p, t = starts.clone(), torch.full(starts.shape[:-1], 0.1, dtype=F64)
    for _ in range(steps):
        f, g = land.value_and_grad(p)
        q = p - t[..., None] * g
        ok = land(q) <= f - 0.5 * t * (g * g).sum(-1)
        p = torch.where(ok[..., None], q, p)
        t = torch.where(ok, t * 1.5, t * 0.5)
    return p


def gnorm(land, pts: torch.Tensor) -> torch.Tensor:
    return land.value_and_grad(pts)[1].norm(dim=-1)


# -- metadata ----------------------------------------------------------------------------------


def test_all_teaching_surfaces_registered():
    assert set(KEYS) == EXPECTED


@pytest.mark.parametrize("key", KEYS)
def test_metadata(key):
    land = landscapes.get(key)
    (x0, x1), (y0, y1) = land.domain
    assert land.key == key and land.group == "teaching"
    assert land.name and land.formula and land.references
    assert land.notice and "\n" not in land.notice
    assert land.parameters == parameters(key)
    assert land.params == tuple(sorted((p.name, p.default) for p in land.parameters))
    assert x0 < land.start[0] < x1 and y0 < land.start[1] < y1
    assert gnorm(land, point(*land.start)) > 1e-12, "the start must not be a stationary point"
    for m in land.minima:
        assert x0 < m.x < x1 and y0 < m.y < y1


@pytest.mark.parametrize("key", KEYS)
def test_get_validates_parameters(key):
    with pytest.raises(ValueError):
        landscapes.get(key, no_such_parameter=1.0)
    for spec in parameters(key):
        with pytest.raises(ValueError):
            landscapes.get(key, **{spec.name: spec.high + abs(spec.high) + 1.0})
        with pytest.raises(ValueError):
            landscapes.get(key, **{spec.name: spec.low - abs(spec.low) - 1.0})
        assert landscapes.get(key, **{spec.name: spec.default}) == landscapes.get(key)
        assert landscapes.get(key, **{spec.name: spec.high}) != landscapes.get(key)


# -- minima and saddles ------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "params"), CASES)
def test_minima_are_minima(key, params):
    land = landscapes.get(key, **params)
    assert (land.minima == ()) == (key in UNBOUNDED)
    for m in land.minima:
        p = point(m.x, m.y)
        value, grad = land.value_and_grad(p)
        assert float(value) == pytest.approx(m.value, rel=1e-9, abs=1e-9)
        assert float(grad.norm()) < 1e-10, m
        assert float(torch.linalg.eigvalsh(land.hessian(p)).min()) > 0.0, m
    if land.minima:
        best = land.global_minimum.value
        for m in land.minima:
            if m.kind == "global":
                assert m.value == pytest.approx(best, abs=1e-9)
            else:
                assert m.value > best + 1e-6


@pytest.mark.parametrize(("key", "params"), CASES)
def test_saddles_are_saddles(key, params):
    land = landscapes.get(key, **params)
    for s in land.saddles:
        p = point(s.x, s.y)
        value, grad = land.value_and_grad(p)
        assert float(value) == pytest.approx(s.value, rel=1e-9, abs=1e-9)
        assert float(grad.norm()) < 1e-10, s
        eig = torch.linalg.eigvalsh(land.hessian(p))
        if key in DEGENERATE:
            assert float(eig.abs().max()) < 1e-9
        else:
            assert float(eig[0]) < 0.0 < float(eig[1]), s
        # either way: points just around it lie both below and above it
        angles = torch.linspace(0.0, 2 * math.pi, 73, dtype=F64)[:-1]
        ring = p + 1e-3 * torch.stack([angles.cos(), angles.sin()], dim=-1)
        around = land(ring)
        assert float(around.min()) < s.value < float(around.max())


@pytest.mark.parametrize(("key", "params"), CASES)
def test_grid_finds_nothing_below_the_global_minimum(key, params):
    land = landscapes.get(key, **params)
    z = land(grid_points(land, 201))
    if key in UNBOUNDED:
        far = land(grid_points(land, 51, scale=10.0))
        assert float(far.min()) < float(z.min()) - 100.0, "unbounded surfaces must fall away"
        return
    assert float(z.min()) >= land.global_minimum.value - 1e-9


@pytest.mark.parametrize(("key", "params"), COMPLETE)
def test_descent_from_everywhere_ends_in_listed_minima(key, params):
    """Where all_minima_known, every converged descent from a grid of starts is a listed minimum."""
    land = landscapes.get(key, **params)
    ends = armijo_descent(land, grid_points(land, 13).reshape(-1, 2), 400)
    (x0, x1), (y0, y1) = land.domain
    inside = (ends[:, 0] > x0) & (ends[:, 0] < x1) & (ends[:, 1] > y0) & (ends[:, 1] < y1)
    converged = inside & (gnorm(land, ends) < 1e-7)
    convex = torch.linalg.eigvalsh(land.hessian(ends))[:, 0] > 1e-3
    found = ends[converged & convex]
    assert len(found) > 0
    listed = torch.tensor([m.point for m in land.minima], dtype=F64)
    assert float(torch.cdist(found, listed).min(dim=1).values.max()) < 1e-4


# -- the quadratic's exact Hessian -------------------------------------------------------------


@pytest.mark.parametrize(
    ("kappa", "angle", "lambda_max"),
    [(100.0, 30.0, 10.0), (1.0, 0.0, 1.0), (1000.0, 90.0, 0.1), (7.5, 63.0, 42.0)],
)
def test_quadratic_hessian_is_exact(kappa, angle, lambda_max):
    land = landscapes.get("quadratic", kappa=kappa, angle=angle, lambda_max=lambda_max)
    a = torch.as_tensor(teaching.quadratic_matrix(kappa, angle, lambda_max))
    pts = 4.0 * torch.rand(10, 2, dtype=F64, generator=torch.Generator().manual_seed(0)) - 2.0
    hess = land.hessian(pts)
    torch.testing.assert_close(hess, a.expand(10, 2, 2), rtol=1e-12, atol=1e-12)
    values, vectors = teaching.quadratic_eigen(kappa, angle, lambda_max)
    torch.testing.assert_close(
        torch.as_tensor(values), torch.tensor([lambda_max / kappa, lambda_max], dtype=F64)
    )
    got_values, got_vectors = torch.linalg.eigh(hess[0])
    torch.testing.assert_close(got_values, torch.as_tensor(values), rtol=1e-12, atol=1e-12)
    assert float(got_values[1] / got_values[0]) == pytest.approx(kappa, rel=1e-10)
    steep = torch.tensor([math.cos(math.radians(angle)), math.sin(math.radians(angle))], dtype=F64)
    torch.testing.assert_close(torch.as_tensor(vectors[:, 1]), steep)
    if kappa > 1.0:  # eigenvectors are defined (up to sign) only for distinct eigenvalues
        overlap = (got_vectors.T @ torch.as_tensor(vectors)).abs()
        torch.testing.assert_close(overlap, torch.eye(2, dtype=F64), rtol=0, atol=1e-10)
    # the value is 1/2 p^T A p
    torch.testing.assert_close(land(pts), 0.5 * torch.einsum("ni,ij,nj->n", pts, a, pts))


def test_quadratic_critical_learning_rate():
    land = landscapes.get("quadratic")
    start = point(*land.start)
    lam_max = float(teaching.quadratic_eigen(100.0, 30.0, 10.0)[0][1])
    converged = descend(land, start, 0.1, 1000)[-1]
    assert float(land(converged)) < 1e-8
    diverged = descend(land, start, 2.1 / lam_max, 300)[-1]
    assert float(land(diverged)) > 1e3 * float(land(start))


# -- the lessons -------------------------------------------------------------------------------


def test_saddle_gradient_descent_stalls_then_escapes():
    land = landscapes.get("saddle")
    path = descend(land, point(*land.start), 0.03, 150)
    assert float(path.norm(dim=-1).min()) < 0.1  # reaches the saddle ...
    assert abs(float(path[-1, 1])) > 2.0  # ... and leaves it along y
    bounded = landscapes.get("saddle_bounded")
    end = descend(bounded, point(*bounded.start), 0.03, 1000)[-1]
    assert float(bounded(end)) == pytest.approx(-1.0, abs=1e-9)


def test_monkey_saddle_slow_approach_and_exit_down_a_valley():
    land = landscapes.get("monkey_saddle")
    path = descend(land, point(*land.start), 0.1, 300)
    r = path.norm(dim=-1)
    leave = int((path.abs() > 2.0).any(dim=-1).nonzero()[0])
    assert float(r[:leave].min()) < 0.1
    assert int((r[:leave] < 0.3).sum()) >= 60  # lingers near the flat centre
    exit_angle = math.degrees(math.atan2(float(path[leave, 1]), float(path[leave, 0])))
    assert exit_angle == pytest.approx(60.0, abs=10.0)  # down the valley at 60 degrees


def test_ravine_is_ill_conditioned_and_momentum_helps():
    land = landscapes.get("ravine")
    eig = torch.linalg.eigvalsh(land.hessian(point(*land.global_minimum.point)))
    assert float(eig[1] / eig[0]) > 100.0
    start, target = point(*land.start), point(*land.global_minimum.point)
    plain, heavy = descend(land, start.expand(2, 2), 0.03, 300, momentum=column(0.0, 0.9))[-1]
    assert float((heavy - target).norm()) < 0.01 < float((plain - target).norm())


def test_plateau_gradient_vanishes_at_the_start():
    land = landscapes.get("plateau")
    start = point(*land.start)
    g_max = float(gnorm(land, grid_points(land, 301)).max())
    assert float(gnorm(land, start)) < 1e-3 * g_max
    target = point(*land.global_minimum.point)
    assert float((start - target).norm()) > 1.0
    crawl = descend(land, start, 0.1, 200)[-1]
    assert float((crawl - start).norm()) < 0.01  # plain gradient descent barely moves
    assert float((adam(land, start, 0.05, 200) - target).norm()) < 0.05  # Adam crosses


def test_cliff_gradient_explodes_and_clipping_helps():
    land = landscapes.get("cliff")
    g = gnorm(land, grid_points(land, 301))
    assert float(g.max()) > 100.0 * float(g.median())
    start, target = point(*land.start), point(*land.global_minimum.point)
    path = descend(land, start.expand(2, 2), 0.1, 300, clip=column(math.inf, 1.0))
    jumps = (path[1:] - path[:-1]).norm(dim=-1).max(dim=0).values
    assert float(jumps[0]) > 2.0  # plain gradient descent is thrown off the cliff
    assert float(jumps[1]) <= 0.1 + 1e-12  # clipped to lr * 1
    assert float((path[-1, 1] - target).norm()) < 0.1


def test_trap_holds_gradient_descent_but_not_momentum():
    land = landscapes.get("trap")
    local = next(m for m in land.minima if m.kind == "local")
    start = point(*land.start)
    lrs, momenta = column(0.02, 0.05, 0.1, 0.1), column(0.0, 0.0, 0.0, 0.9)
    ends = descend(land, start.expand(4, 2), lrs, 600, momentum=momenta)[-1]
    dist_local = (ends - point(*local.point)).norm(dim=-1)
    assert float(dist_local[:3].max()) < 1e-3  # plain gradient descent, lr 0.02 to 0.1
    assert float((ends[3] - point(*land.global_minimum.point)).norm()) < 1e-3  # momentum


def test_bumpy_bowl_has_many_local_minima():
    land = landscapes.get("bumpy_bowl")
    ends = descend(land, grid_points(land, 15).reshape(-1, 2), 0.05, 400)[-1]
    distinct = torch.unique(torch.round(ends, decimals=3), dim=0)
    assert len(distinct) >= 5
    assert len(land.minima) >= 5
    start = point(*land.start)
    lrs, momenta = column(0.01, 0.03, 0.1, 0.01, 0.03, 0.1), column(0, 0, 0, 0.9, 0.9, 0.9)
    f_end = land(descend(land, start.expand(6, 2), lrs, 500, momentum=momenta)[-1])
    plain, heavy = f_end[:3], f_end[3:]
    assert float(plain.min()) > 0.5  # plain gradient descent is stuck in a ripple
    assert bool((heavy < plain).all())  # momentum rolls further down


# -- batching, dtypes, gradients ---------------------------------------------------------------


@pytest.mark.parametrize(("key", "params"), CASES)
def test_gradients_finite_on_the_domain(key, params):
    land = landscapes.get(key, **params)
    pts = grid_points(land, 101)
    for dtype in (F64, torch.float32):
        value, grad = land.value_and_grad(pts.to(dtype))
        assert value.dtype == dtype and grad.dtype == dtype
        assert bool(torch.isfinite(value).all()) and bool(torch.isfinite(grad).all())
    assert bool(torch.isfinite(land.hessian(pts[::10, ::10])).all())


@pytest.mark.parametrize("key", KEYS)
def test_batched_shapes_and_float32(key):
    land = landscapes.get(key)
    pts = grid_points(land, 12)[:3, :4]  # (3, 4, 2)
    full = land(pts)
    assert full.shape == (3, 4)
    assert land(pts[0]).shape == (4,)
    assert land(pts[0, 0]).shape == ()
    torch.testing.assert_close(land(pts[1]), full[1])
    assert float(land([0.25, -0.5])) == pytest.approx(float(land(point(0.25, -0.5))))
    single = land(pts.to(torch.float32))
    assert single.dtype == torch.float32
    torch.testing.assert_close(single.double(), full, rtol=1e-4, atol=1e-4)
