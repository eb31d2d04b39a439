"""Closed-form gradients and Hessians (``Landscape.gradient``, ``Landscape.second_derivatives``)
against autograd on the same function."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import landscapes
from landscapes.base import hessian, value_and_grad
from optimizers import simulate

WITH_CLOSED_FORM = [k for k in landscapes.available() if landscapes.get(k).gradient is not None]
WITH_HESSIAN = [
    k for k in landscapes.available() if landscapes.get(k).second_derivatives is not None
]
# parameter values at both ends of their ranges, so that no term hides behind a default
EXTREMES = {
    "rosenbrock": [{"a": 0.1, "b": 1.0}, {"a": 3.0, "b": 1000.0}],
    "quadratic": [
        {"kappa": 1.0, "angle": 0.0},
        {"kappa": 1000.0, "angle": 73.0, "lambda_max": 0.3},
    ],
    "ravine": [{"steepness": 100.0}],
    "plateau": [{"width": 0.25}, {"width": 1.5}],
    "bumpy_bowl": [{"amplitude": 0.0}, {"amplitude": 1.0}],
}


def test_the_common_teaching_surfaces_have_closed_forms():
    for key in ("rosenbrock", "himmelblau", "beale", "quadratic", "ravine", "saddle", "trap"):
        assert key in WITH_CLOSED_FORM and key in WITH_HESSIAN


def random_points(land, dtype, n=500):
    (x0, x1), (y0, y1) = land.domain
    rng = np.random.default_rng(len(land.key))
    return torch.tensor(rng.uniform([x0, y0], [x1, y1], size=(n, 2)), dtype=dtype)


@pytest.mark.parametrize("key", WITH_HESSIAN)
def test_closed_form_hessian_equals_double_backward(key):
    for params in [{}, *EXTREMES.get(key, [])]:
        land = landscapes.get(key, **params)
        p = random_points(land, torch.float64)
        h, h_ref = land.hessian(p), hessian(land.fn, p)
        assert h.shape == h_ref.shape == (500, 2, 2)
        scale = h_ref.abs().max().item() + 1.0
        assert (h - h_ref).abs().max().item() <= 1e-12 * scale, (key, params)


@pytest.mark.parametrize("key", WITH_CLOSED_FORM)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_closed_form_equals_autograd(key, dtype):
    for params in [{}, *EXTREMES.get(key, [])]:
        land = landscapes.get(key, **params)
        p = random_points(land, dtype)
        f, g = land.gradient(p)
        f_ref, g_ref = value_and_grad(land.fn, p)
        assert f.shape == f_ref.shape and g.shape == g_ref.shape and g.dtype == dtype
        tol = 1e-12 if dtype == torch.float64 else 2e-5
        scale_f = f_ref.abs().max().item() + 1.0
        scale_g = g_ref.abs().max().item() + 1.0
        assert (f - f_ref).abs().max().item() <= tol * scale_f, (key, params)
        assert (g - g_ref).abs().max().item() <= tol * scale_g, (key, params)


def test_simulate_uses_the_closed_form_and_matches_autograd():
    land = landscapes.get("himmelblau")
    calls = []

    def counting(points):
        calls.append(points.shape)
        return land.gradient(points)

    specs = [("adam", {"lr": 0.05}), ("momentum", {"lr": 0.005, "momentum": 0.9})]
    starts = [(-0.3, 0.0), (4.0, 4.0)]
    closed = simulate(dataclasses.replace(land, gradient=counting), specs, starts, steps=120)
    assert len(calls) == 121  # one per step, and the final point
    autograd = simulate(dataclasses.replace(land, gradient=None), specs, starts, steps=120)
    np.testing.assert_allclose(closed.positions, autograd.positions, rtol=0, atol=1e-10)
    np.testing.assert_allclose(closed.gradients, autograd.gradients, rtol=0, atol=1e-9)
    assert (closed.status == autograd.status).all()


def test_newton_with_closed_forms_matches_autograd():
    land = landscapes.get("beale")
    specs = [("newton", {"lr": 0.5}), ("newton", {"line_search": True})]
    starts = [(-1.0, 1.5), (2.0, -1.0)]
    plain = dataclasses.replace(land, gradient=None, second_derivatives=None)
    closed = simulate(land, specs, starts, steps=60)
    autograd = simulate(plain, specs, starts, steps=60)
    # Closed forms and autograd round differently. The line-search run from (-1, 1.5) wanders off
    # to x = -115 and on the way multiplies the difference by ~1.5 a step up to step 30 (relative
    # 1e-12 at step 10, 1e-8 at step 30; the same path from a start one ulp off: 3e-9), then by
    # less than one as it runs out along y = 1: step for step over 12 steps (2e-12 there), then
    # 100x above the peak; and the same statuses
    np.testing.assert_allclose(
        closed.positions[:, :, :13], autograd.positions[:, :, :13], rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(closed.positions, autograd.positions, rtol=1e-6, atol=1e-9)
    assert (closed.status == autograd.status).all()
    assert (closed.evaluations["hessian"] == autograd.evaluations["hessian"]).all()
