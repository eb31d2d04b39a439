"""Teaching diagnostics against theory and independent references.

Critical learning rates on a quadratic with known eigenvalues (gradient descent: 2/lambda_max;
heavy-ball momentum: (2+2 beta)/lambda_max), sweeps against single runs, basins of Himmelblau's
minima, the rate map against numpy's eigenvalues of the iteration matrix, the Hessian against
finite differences, and the diagnosis' explanations.
"""

from __future__ import annotations

import numpy as np
import pytest

import landscapes
import optimizers
from landscapes.teaching import quadratic_eigen
from studies import analysis

KAPPA, ANGLE, LMAX = 100.0, 30.0, 10.0


@pytest.fixture(scope="module")
def quad():
    return landscapes.get("quadratic", kappa=KAPPA, angle=ANGLE, lambda_max=LMAX)


@pytest.fixture(scope="module")
def theory():
    eig, _ = quadratic_eigen(KAPPA, ANGLE, LMAX)
    return analysis.quadratic_theory(eig)


def test_theory_values(theory):
    assert theory.gd_critical_lr == pytest.approx(2 / LMAX)
    assert theory.gd_optimal_lr == pytest.approx(2 / (LMAX + LMAX / KAPPA))
    # the optimal GD step contracts both eigen-directions equally, by (kappa - 1)/(kappa + 1)
    lam = np.array([LMAX / KAPPA, LMAX])
    assert np.abs(1 - theory.gd_optimal_lr * lam).max() == pytest.approx(theory.gd_optimal_rate)
    assert theory.momentum_critical_lr(0.5) == pytest.approx(3 / LMAX)
    rm = analysis.momentum_rate_map(
        lam, [theory.momentum_optimal_lr], [theory.momentum_optimal_beta]
    )
    assert rm.rate[0, 0] == pytest.approx(theory.momentum_optimal_rate, rel=1e-6)
    with pytest.raises(ValueError):
        analysis.quadratic_theory([1.0, -1.0])


def test_quadratic_eigenvalues_found(quad):
    eig = analysis.quadratic_eigenvalues(quad)
    np.testing.assert_allclose(eig, [LMAX / KAPPA, LMAX], rtol=1e-12)
    assert analysis.quadratic_eigenvalues(landscapes.get("rosenbrock")) is None


@pytest.mark.parametrize("factor", [0.97, 0.99])
def test_gd_converges_just_below_and_diverges_just_above(quad, theory, factor):
    c = theory.gd_critical_lr
    sweep = analysis.lr_sweep(quad, ["gd"], None, [factor * c, c / factor], 3000)
    start_loss = float(quad(np.array(quad.start)))
    assert not sweep.diverged[0, 0]
    assert sweep.final_loss[0, 0] < 1e-6 * start_loss
    assert sweep.diverged[0, 1]
    assert sweep.threshold[0] == pytest.approx(c / factor)


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9])
def test_momentum_bound(quad, theory, beta):
    c = float(theory.momentum_critical_lr(beta))
    sweep = analysis.lr_sweep(
        quad, [("momentum", {"momentum": beta})], None, [0.97 * c, 1.03 * c], 3000
    )
    assert not sweep.diverged[0, 0] and sweep.final_loss[0, 0] < 1e-6
    assert sweep.diverged[0, 1]


@pytest.mark.parametrize("beta", [0.3, 0.9])
def test_nesterov_bound(quad, theory, beta):
    """The engine's Nesterov momentum (torch.optim.SGD's form) against its stability bound
    (2 + 2 beta) / ((1 + 2 beta) lambda_max), below heavy-ball's (2 + 2 beta) / lambda_max."""
    c = float(theory.momentum_critical_lr(beta, nesterov=True))
    assert c < float(theory.momentum_critical_lr(beta))
    spec = ("nesterov", {"momentum": beta})
    sweep = analysis.lr_sweep(quad, [spec], None, [0.97 * c, 1.03 * c], 3000)
    assert not sweep.diverged[0, 0] and sweep.final_loss[0, 0] < 1e-6
    assert sweep.diverged[0, 1]


def test_nesterov_rate_map_equals_the_iteration_and_the_engine(quad, theory):
    lam = np.array([LMAX / KAPPA, LMAX])
    lrs, betas = np.geomspace(1e-3, 0.3, 19), np.linspace(0, 0.99, 13)
    rm = analysis.momentum_rate_map(lam, lrs, betas, nesterov=True)
    assert rm.nesterov and rm.rate.shape == (13, 19)
    for b, beta in enumerate(betas):
        for j, lr in enumerate(lrs):
            mats = [np.array([[1 - lr * v * (1 + beta), -lr * beta**2], [v, beta]]) for v in lam]
            r = max(np.abs(np.linalg.eigvals(m)).max() for m in mats)
            assert rm.rate[b, j] == pytest.approx(r, rel=1e-9, abs=1e-12)
    # a run's error shrinks by the map's rate per step (measured over steps 200 to 400)
    lr, beta = 0.05, 0.6
    rate = analysis.momentum_rate_map(lam, [lr], [beta], nesterov=True).rate[0, 0]
    run = optimizers.simulate(quad, [("nesterov", {"lr": lr, "momentum": beta})], steps=400)
    err = np.linalg.norm(run.positions[0, 0], axis=-1)
    assert (err[400] / err[200]) ** (1 / 200) == pytest.approx(rate, rel=2e-3)


def test_threshold_on_a_fine_grid_brackets_theory(quad, theory):
    lrs = np.geomspace(0.05, 1.0, 151)  # 2 % apart
    sweep = analysis.lr_sweep(quad, ["gd", ("momentum", {"momentum": 0.8})], None, lrs, 2000)
    for i, c in enumerate([theory.gd_critical_lr, float(theory.momentum_critical_lr(0.8))]):
        assert c < sweep.threshold[i] <= 1.05 * c
        assert sweep.last_stable[i] <= c
        assert not sweep.diverged[i][lrs < c].any()
        assert sweep.diverged[i][lrs > 1.05 * c].all()


def test_sweep_equals_single_runs():
    land = landscapes.get("rosenbrock")
    specs = ["gd", ("momentum", {"momentum": 0.8}), "adam", "rmsprop", "nesterov"]
    lrs = np.geomspace(1e-4, 0.5, 9)
    sweep = analysis.lr_sweep(land, specs, (-1.5, 2.0), lrs, 150, seed=3)
    for i, spec in enumerate(specs):
        name, hp = (spec, {}) if isinstance(spec, str) else spec
        for j in (0, 4, 8):
            one = optimizers.simulate(
                land, [(name, {**hp, "lr": lrs[j]})], [(-1.5, 2.0)], steps=150, seed=3
            )
            a, b = sweep.final_position[i, j], one.final_positions[0, 0]
            if np.isfinite(b).all():
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
                assert sweep.final_loss[i, j] == pytest.approx(one.final_losses[0, 0], rel=1e-12)
            assert sweep.diverged_at[i, j] == one.diagnosis.diverged_at[0, 0]
            assert sweep.status[i, j] == one.status[0, 0]


def test_steps_to_converge_matches_a_direct_loop(quad):
    sweep = analysis.lr_sweep(quad, ["gd"], None, [0.05, 0.1, 0.19], 1500, tol=1e-3)
    a = landscapes.teaching.quadratic_matrix(KAPPA, ANGLE, LMAX)
    radius = 1e-3 * quad.diagonal
    for j, lr in enumerate(sweep.lrs):
        x = np.array(quad.start, dtype=np.float64)
        path = [x]
        for _ in range(1500):
            x = x - lr * (a @ x)
            path.append(x)
        dist = np.linalg.norm(np.array(path), axis=1)
        far = np.nonzero(dist > radius)[0]
        expected = far[-1] + 1 if far.size else 0
        assert sweep.steps_to_converge[0, j] == expected


def test_best_lr_and_auto_tune(quad):
    lrs = np.geomspace(1e-3, 0.3, 40)
    tuned = analysis.auto_tune(
        quad, ["gd", "adam"], None, 300, lrs=lrs, objective="final_loss", seed=2
    )
    sweep = tuned.sweep
    for i in range(2):
        ok = ~sweep.diverged[i]
        assert tuned.lrs[i] == sweep.best_lr[i]
        assert (
            sweep.final_loss[i, sweep.best_index[i]]
            <= sweep.final_loss[i][ok].min() * (1 + 1e-9) + 1e-12
        )
    assert "final loss after 300 steps" in tuned.description and "seed 2" in tuned.description
    steps = analysis.lr_sweep(quad, ["gd"], None, lrs, 300, objective="steps")
    s = steps.steps_to_converge[0]
    assert s[steps.best_index[0]] == s[s >= 0].min()


def test_basins_of_himmelblau_contain_their_neighbours():
    land = landscapes.get("himmelblau")
    grid = (41, 41)  # 0.25 apart on [-5, 5]^2
    result = analysis.basins(
        land, [("gd", {"lr": 0.01}), ("momentum", {"lr": 0.002, "momentum": 0.9})], grid, 400
    )
    assert result.label.shape == (2, 41, 41)
    for m_index, m in enumerate(land.minima):
        i = np.searchsorted(result.xs, m.x)  # the four grid points around the minimum
        j = np.searchsorted(result.ys, m.y)
        for o in range(2):
            assert (result.label[o, j - 1 : j + 1, i - 1 : i + 1] == m_index).all()
            ends = result.end[o, j - 1 : j + 1, i - 1 : i + 1]
            np.testing.assert_allclose(ends - [m.x, m.y], 0.0, atol=1e-3)
    assert (result.steps[result.label >= 0] >= 0).all()


def test_basins_label_divergence_and_steps_match_runner():
    land = landscapes.get("quadratic")
    res = analysis.basins(land, [("gd", {"lr": 0.25})], (5, 5), 200)
    centre = np.zeros((5, 5), dtype=bool)
    centre[2, 2] = True  # the start at the minimum never moves
    assert (res.label[0][~centre] == analysis.DIVERGED).all() and res.label[0, 2, 2] == 0
    sim = optimizers.simulate(
        land, [("gd", {"lr": 0.25})], analysis.start_grid(land.domain, (5, 5))[2], steps=200
    )
    div = sim.diagnosis.diverged_at[0]
    np.testing.assert_array_equal(res.steps.ravel()[div >= 0], div[div >= 0])
    assert res.steps[0, 2, 2] == 0  # settled from the start


def test_settled_at_is_the_same_in_every_record_mode():
    land = landscapes.get("himmelblau")
    starts = np.random.default_rng(0).uniform(-4, 4, (30, 2))
    specs = ["adam", ("gd", {"lr": 0.01}), ("momentum", {"lr": 0.004})]
    out = [
        optimizers.simulate(land, specs, starts, steps=200, record=r, settle=1e-4).settled_at
        for r in ("final", "path", "full")
    ]
    np.testing.assert_array_equal(out[0], out[1])
    np.testing.assert_array_equal(out[0], out[2])
    path = optimizers.simulate(land, specs, starts, steps=200, record="path")
    step = np.linalg.norm(np.diff(path.positions, axis=2), axis=-1)
    long = step > 1e-4 * land.diagonal
    for s in range(3):
        for n in range(30):
            idx = np.nonzero(long[s, n])[0]
            expected = 0 if idx.size == 0 else idx[-1] + 1
            assert out[0][s, n] == (-1 if expected == 200 else expected)


def numeric_radius(lam: np.ndarray, lr: float, beta: float) -> tuple[float, bool]:
    worst, osc = -1.0, False
    for v in lam:
        m = np.array([[1 + beta - lr * v, -beta], [1.0, 0.0]])
        z = np.linalg.eigvals(m)
        r = np.abs(z).max()
        if r >= worst:
            dom = z[np.argmax(np.abs(z))]
            worst, osc = r, bool(abs(z[0].imag) > 1e-12 or dom.real < 0)
    return worst, osc


def test_rate_map_equals_numpy_eigenvalues():
    rng = np.random.default_rng(1)
    lam = np.array([0.3, 2.0, 7.0])
    lrs = np.geomspace(1e-3, 1.0, 23)
    betas = np.linspace(0, 0.99, 17)
    rm = analysis.momentum_rate_map(lam, lrs, betas)
    assert rm.rate.shape == (17, 23)
    for b in range(17):
        for j in range(23):
            r, osc = numeric_radius(lam, lrs[j], betas[b])
            assert rm.rate[b, j] == pytest.approx(r, rel=1e-9, abs=1e-12)
            if r >= 1:
                assert rm.regime[b, j] == analysis.DIVERGES
            elif abs(r - rm.rate[b, j]) < 1e-9 and rm.regime[b, j] != analysis.DIVERGES:
                assert (rm.regime[b, j] == analysis.OSCILLATES) == osc or np.isclose(
                    (1 + betas[b] - lrs[j] * lam) ** 2, 4 * betas[b]
                ).any()
    lam2 = rng.uniform(0.1, 10, 2)
    rm2 = analysis.momentum_rate_map(lam2, [0.05], [0.0])
    assert rm2.rate[0, 0] == pytest.approx(np.abs(1 - 0.05 * lam2).max())


@pytest.mark.parametrize("key", ["rosenbrock", "himmelblau", "six_hump_camel", "quadratic"])
def test_curvature_equals_finite_differences(key):
    land = landscapes.get(key)
    (x0, x1), (y0, y1) = land.domain
    pts = np.random.default_rng(4).uniform([x0, y0], [x1, y1], (5, 2)) * 0.8

    def f(p):
        return float(land(np.asarray(p, dtype=np.float64)))

    h = 1e-4
    curv = analysis.curvature_at(land, pts)
    for n, p in enumerate(pts):
        fd = np.zeros((2, 2))
        for a in range(2):
            for b in range(2):
                ea, eb = np.eye(2)[a] * h, np.eye(2)[b] * h
                fd[a, b] = (f(p + ea + eb) - f(p + ea - eb) - f(p - ea + eb) + f(p - ea - eb)) / (
                    4 * h * h
                )
        np.testing.assert_allclose(
            curv.hessian[n], fd, rtol=1e-5, atol=1e-4 * (1 + np.abs(fd).max())
        )
        w = np.linalg.eigvalsh(fd)
        np.testing.assert_allclose(
            curv.eigenvalues[n], w, rtol=1e-4, atol=1e-4 * (1 + np.abs(w).max())
        )
        v = curv.eigenvectors[n]
        np.testing.assert_allclose(
            curv.hessian[n] @ v, v * curv.eigenvalues[n], atol=1e-8 * (1 + np.abs(w).max())
        )
    single = analysis.curvature_at(land, pts[0])
    # one point against a batch of five: the same maths, kernels free to round the last bit apart
    scale = 1e-13 * (1 + np.abs(curv.eigenvalues[0]).max())
    np.testing.assert_allclose(single.eigenvalues, curv.eigenvalues[0], rtol=0, atol=scale)


def test_curvature_of_the_quadratic_is_exact(quad):
    c = analysis.curvature_at(quad, (0.3, -0.2))
    w, v = quadratic_eigen(KAPPA, ANGLE, LMAX)
    np.testing.assert_allclose(c.eigenvalues, w, rtol=1e-12)
    assert c.condition == pytest.approx(KAPPA)
    assert c.critical_lr == pytest.approx(2 / LMAX)
    np.testing.assert_allclose(np.abs(c.eigenvectors.T @ v), np.eye(2), atol=1e-12)
    assert analysis.critical_step(10.0, 0.9) == pytest.approx(0.38)
    assert np.isinf(analysis.critical_step(-1.0))


def test_diagnosis_explains_oscillation_and_traps():
    sphere_like = landscapes.get("quadratic", kappa=1.0, angle=0.0, lambda_max=10.0)
    r = optimizers.simulate(sphere_like, [("gd", {"lr": 0.2})], steps=200)
    d = r.diagnosis
    assert r.status[0, 0] == "oscillating"
    assert d.period[0, 0] == 2
    assert d.axis_curvature[0, 0] == pytest.approx(10.0)
    start = np.array(sphere_like.start)
    assert abs(d.direction[0, 0] @ start) == pytest.approx(np.linalg.norm(start), rel=1e-9)
    assert d.amplitude[0, 0] == pytest.approx(np.linalg.norm(start), rel=1e-9)
    assert "2/10 = 0.2" in d.detail[0, 0]
    trap = optimizers.simulate(landscapes.get("trap"), [("momentum", {"lr": 0.01})], steps=500)
    assert trap.status[0, 0] == "trapped"
    assert trap.diagnosis.minimum_kind[0, 0] == "local"
    assert (
        "#1" in trap.diagnosis.detail[0, 0] and "global minimum's is" in trap.diagnosis.detail[0, 0]
    )


def test_bad_inputs_raise(quad):
    with pytest.raises(ValueError):
        analysis.lr_sweep(quad, ["gd"], None, [0.0, 0.1], 10)
    with pytest.raises(ValueError):
        analysis.lr_sweep(quad, ["gd"], None, [0.1], 10, objective="speed")
    with pytest.raises(ValueError):
        analysis.log_lrs(1.0, 0.1, 10)
    with pytest.raises(ValueError):
        analysis.basins(quad, ["gd"], (201, 201), 10)
