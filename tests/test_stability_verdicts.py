"""Issue 14, item 4: the curvature panel's verdicts are true.

Each statement ``analysis.stability_verdict`` makes is checked against the maths: the spectral
radius of the linear iteration a method runs on a quadratic (built here from the update rule,
not from the formula under test), the engine's own runs on quadratics, and the report's cases
(a converged Newton on Rosenbrock, a converged Adam on Himmelblau, Newton on a custom formula).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import landscapes
import optimizers
from landscapes.formula import custom_landscape
from studies import analysis

BETAS = (0.1, 0.5, 0.9, 0.99)
LAMBDAS = (0.5, 10.0, 400.0)
TIMEOUT = 120  # the first run imports torch


def spectral_radius(m: np.ndarray) -> float:
    return float(np.abs(np.linalg.eigvals(m)).max())


def sgd_matrix(lr: float, lam: float, beta: float, nesterov: bool, dampening: float = 0.0):
    """The linear map torch.optim.SGD's update applies to (x, b) on f = lam x^2 / 2, built by
    applying one update to each basis state: b <- beta b + (1 - tau) g, x <- x - lr d with
    d = g + beta b (Nesterov) or b (heavy ball), g = lam x."""

    def step(x: float, b: float) -> tuple[float, float]:
        g = lam * x
        if beta == 0:
            return x - lr * g, 0.0
        b = beta * b + (1.0 - dampening) * g
        d = g + beta * b if nesterov else b
        return x - lr * d, b

    cols = [step(1.0, 0.0), step(0.0, 1.0)]
    return np.array(cols).T


def assert_crosses_one_at(critical: float, lam: float, beta: float, nesterov: bool, tau=0.0):
    below = sgd_matrix(critical * (1 - 1e-6), lam, beta, nesterov, tau)
    above = sgd_matrix(critical * (1 + 1e-6), lam, beta, nesterov, tau)
    assert spectral_radius(below) < 1.0 < spectral_radius(above)


def sgd_verdict(name: str, lr: float, lam: float, **hp) -> analysis.StabilityVerdict:
    return analysis.stability_verdict(name, {"lr": lr, **hp}, [lam / 10, lam], effective_lr=None)


# --- gradient descent, heavy ball, Nesterov: the iteration matrix ---------------------------


@pytest.mark.parametrize("lam", LAMBDAS)
def test_gradient_descent_limit_is_two_over_lambda_max(lam):
    v = sgd_verdict("gd", 0.1, lam)
    assert v.critical == pytest.approx(2.0 / lam) and v.rule == "lr < 2/λ_max"
    assert_crosses_one_at(v.critical, lam, 0.0, False)
    for lr in (0.3 * v.critical, 0.7 * v.critical, 1.3 * v.critical):
        w = sgd_verdict("gd", lr, lam)
        rho = spectral_radius(sgd_matrix(lr, lam, 0.0, False))
        assert w.rate == pytest.approx(rho)
        assert w.overshoots == (rho > 1) and ("overshoots" in w.text) == (rho > 1)
        # it swings across the steep axis exactly where the iteration's eigenvalue is negative
        assert ("swinging across" in w.text) == (not w.overshoots and 1 - lr * lam < 0)


@pytest.mark.parametrize("beta", BETAS)
@pytest.mark.parametrize("lam", LAMBDAS)
def test_heavy_ball_limit_is_two_plus_two_beta_over_lambda_max(beta, lam):
    v = sgd_verdict("momentum", 0.01, lam, momentum=beta)
    assert v.critical == pytest.approx((2 + 2 * beta) / lam)
    assert v.method.startswith("heavy-ball") and "(2+2β)/λ_max" in v.rule
    assert_crosses_one_at(v.critical, lam, beta, False)
    for lr in (0.5 * v.critical, 1.2 * v.critical):
        w = sgd_verdict("momentum", lr, lam, momentum=beta)
        rho = spectral_radius(sgd_matrix(lr, lam, beta, False))
        assert w.rate == pytest.approx(rho) and w.overshoots == (rho > 1)


@pytest.mark.parametrize("beta", (0.5, 0.9))
def test_dampening_scales_the_heavy_ball_limit(beta):
    v = sgd_verdict("momentum", 0.01, 10.0, momentum=beta, dampening=0.5)
    assert v.critical == pytest.approx((2 + 2 * beta) / (0.5 * 10.0))
    assert_crosses_one_at(v.critical, 10.0, beta, False, tau=0.5)


@pytest.mark.parametrize("beta", BETAS)
@pytest.mark.parametrize("lam", LAMBDAS)
def test_nesterov_limit_is_two_plus_two_beta_over_one_plus_two_beta(beta, lam):
    """torch's Nesterov on lam x^2/2: z^2 - (1+beta)(1-a) z + beta (1-a) = 0 (a = lr lam); the
    Jury conditions p(1) = a > 0 and p(-1) = 1 + (1+2 beta)(1-a) > 0 give a < (2+2b)/(1+2b)."""
    v = sgd_verdict("nesterov", 0.01, lam, momentum=beta)
    assert v.critical == pytest.approx((2 + 2 * beta) / ((1 + 2 * beta) * lam))
    assert v.method.startswith("Nesterov") and "(1+2β)" in v.rule
    assert_crosses_one_at(v.critical, lam, beta, True)
    for lr in (0.5 * v.critical, 1.2 * v.critical):
        w = sgd_verdict("nesterov", lr, lam, momentum=beta)
        rho = spectral_radius(sgd_matrix(lr, lam, beta, True))
        assert w.rate == pytest.approx(rho) and w.overshoots == (rho > 1)


def test_weight_decay_adds_to_the_curvature():
    v = sgd_verdict("gd", 0.01, 10.0, weight_decay=2.0)
    assert v.critical == pytest.approx(2.0 / 12.0)


@pytest.mark.parametrize(
    ("name", "hp"),
    [("gd", {}), ("momentum", {"momentum": 0.5}), ("momentum", {"momentum": 0.9}),
     ("nesterov", {"momentum": 0.5}), ("nesterov", {"momentum": 0.9})],
)  # fmt: skip
def test_the_engine_runs_converge_below_the_stated_limit_and_grow_above(name, hp):
    quad = landscapes.get("quadratic", kappa=1.0, angle=0.0, lambda_max=10.0)
    crit = analysis.stability_verdict(name, hp, [10.0, 10.0]).critical
    lrs = np.array([0.97 * crit, 1.03 * crit])
    r = optimizers.simulate(quad, [(name, {**hp, "lr": lrs})], steps=500)
    start = r.losses[0, 0, 0]
    assert r.final_losses[0, 0] < 1e-3 * start
    grew = (r.diagnosis.diverged_at[1, 0] >= 0) or r.final_losses[1, 0] > 1e3 * start
    assert grew


# --- adaptive methods: no lambda_max limit ------------------------------------------------------


@pytest.mark.parametrize("name", ["adagrad", "rmsprop", "adadelta", "adam", "adamw", "nadam",
                                  "radam", "adamax"])  # fmt: skip
def test_adaptive_methods_get_no_lambda_max_verdict(name):
    v = analysis.stability_verdict(name, {}, [1.0, 1e4], effective_lr=[5.0, 7.0])
    assert math.isnan(v.critical) and not v.overshoots and v.step == 7.0
    assert "no critical step from λ_max" in v.text


def test_adam_converges_far_above_two_over_lambda_max():
    """Why adaptive methods get no lambda_max verdict: Adam with lr lambda_max = 3 and 10 (GD
    diverges above 2) converges on the quadratic."""
    quad = landscapes.get("quadratic", kappa=10.0, angle=0.3, lambda_max=10.0)
    r = optimizers.simulate(quad, [("adam", {"lr": np.array([0.3, 1.0])})], steps=2000)
    assert (r.status[:, 0] == "converged").all()
    assert (np.linalg.norm(r.final_positions[:, 0], axis=-1) < 1e-5).all()


def test_a_converged_adam_on_himmelblau_is_never_told_it_overshoots():
    """The report's case: at every step of the run, no verdict says it overshoots."""
    land = landscapes.get("himmelblau")
    r = optimizers.simulate(land, [("adam", {"lr": 0.05})], steps=500)
    assert r.status[0, 0] == "converged"
    curv = analysis.curvature_at(land, r.positions[0, 0, :-1])
    for k in range(r.steps):
        v = analysis.stability_verdict(
            "adam", {"lr": 0.05}, curv.eigenvalues[k], status="converged",
            effective_lr=r.effective_lr[0, 0, k],
        )  # fmt: skip
        assert not v.overshoots and "overshoot" not in v.text


# --- Newton -------------------------------------------------------------------------------


def test_newton_on_a_quadratic_multiplies_the_error_by_one_minus_lr():
    """Damped Newton on a positive-definite quadratic: e_{k+1} = (1 - lr) e_k whatever lambda_max,
    so it converges iff 0 < lr < 2 (in one step at lr = 1)."""
    quad = landscapes.get("quadratic", kappa=100.0, angle=0.3, lambda_max=100.0)
    lrs = np.array([0.5, 1.0, 1.5, 1.9, 2.2])
    r = optimizers.simulate(quad, [("newton", {"lr": lrs})], steps=6)
    e = np.linalg.norm(r.positions[:, 0], axis=-1)  # the minimum is the origin
    lam = analysis.curvature_at(quad, (0.0, 0.0)).eigenvalues
    for i, lr in enumerate(lrs):
        v = analysis.stability_verdict("newton", {"lr": lr}, lam)
        assert v.critical == 2.0 and v.rate == pytest.approx(abs(1 - lr))
        if lr == 1.0:
            assert e[i, 1] < 1e-12 * e[i, 0]
        else:
            assert e[i, 1] / e[i, 0] == pytest.approx(abs(1 - lr), rel=1e-9)
        assert v.overshoots == (lr >= 2) and ("overshoots" in v.text) == (lr >= 2)
    assert r.status[-1, 0] != "converged"


def test_a_converged_newton_on_rosenbrock_is_never_told_it_overshoots():
    """The report's case: Newton at (1, 1) on Rosenbrock (lambda_max about 1002, so 2/lambda_max
    is 0.002 against its lr of 1) is stable by Newton's own rule, at every step."""
    land = landscapes.get("rosenbrock")
    r = optimizers.simulate(land, [("newton", {})], steps=100)
    assert r.status[0, 0] == "converged"
    np.testing.assert_allclose(r.final_positions[0, 0], [1.0, 1.0], atol=1e-9)
    curv = analysis.curvature_at(land, r.positions[0, 0])
    assert curv.eigenvalues[-1, -1] > 1000
    for k in range(r.steps + 1):
        v = analysis.stability_verdict(
            "newton", {}, curv.eigenvalues[k], status="converged",
            effective_lr=r.effective_lr[0, 0, min(k, r.steps - 1)],
        )  # fmt: skip
        assert not v.overshoots and "overshoot" not in v.text
    assert v.text.startswith("stable") and v.rate == 0.0


@pytest.mark.parametrize("saddle_free", [True, False])
def test_newton_at_negative_curvature_goes_downhill_where_pure_newton_goes_to_the_saddle(
    saddle_free,
):
    land = custom_landscape("x**2 - y**2")
    p = np.array([0.5, 0.3])
    curv = analysis.curvature_at(land, p)
    v = analysis.stability_verdict(
        "newton", {"saddle_free": saddle_free}, curv.eigenvalues[None][0]
    )
    assert "toward the saddle" in v.text and "downhill" in v.text and not v.overshoots
    # pure Newton, p - H^-1 g, lands on the saddle (0, 0)
    g = np.array([2 * p[0], -2 * p[1]])
    np.testing.assert_allclose(p - np.linalg.solve(curv.hessian, g), [0.0, 0.0], atol=1e-12)
    # the engine's step goes downhill and away from the saddle along y
    r = optimizers.simulate(land, [("newton", {"saddle_free": saddle_free})], [p], steps=1)
    assert r.losses[0, 0, 1] < r.losses[0, 0, 0]
    assert abs(r.positions[0, 0, 1, 1]) > abs(p[1])


# --- quasi-Newton and line searches --------------------------------------------------------


def test_quasi_newton_converges_far_above_two_over_lambda_max():
    """Why BFGS and L-BFGS get no lambda_max verdict: with step length 1 on a quadratic whose
    lambda_max is 100 (GD's limit 0.02) they converge."""
    quad = landscapes.get("quadratic", kappa=10.0, angle=0.3, lambda_max=100.0)
    r = optimizers.simulate(quad, [("bfgs", {"lr": 1.0}), ("lbfgs", {"lr": 1.0})], steps=50)
    assert (r.status[:, 0] == "converged").all()
    for name in ("bfgs", "lbfgs"):
        v = analysis.stability_verdict(name, {}, [10.0, 100.0], status="moving")
        assert math.isnan(v.critical) and not v.overshoots and "no λ_max bound" in v.text


@pytest.mark.parametrize("name", ["newton", "bfgs", "lbfgs"])
def test_with_a_line_search_every_step_decreases_the_loss(name):
    """The Armijo statement: each accepted step satisfies f(x + t d) <= f(x) + c1 t g.d < f(x)."""
    land = landscapes.get("rosenbrock")
    r = optimizers.simulate(land, [(name, {"line_search": True})], steps=100)
    assert (np.diff(r.losses[0, 0]) <= 0).all()
    v = analysis.stability_verdict(name, {"line_search": True}, [0.4, 1000.0])
    assert "Armijo" in v.text and not v.overshoots and math.isnan(v.critical)


# --- every method: a converged run never overshoots; every optimizer declares a family ----------


@pytest.mark.parametrize("name", optimizers.available())
def test_a_converged_run_is_never_told_it_overshoots(name):
    for lam in ([1.0, 1e4], [-5.0, 3.0], [1e-9, 1.0]):
        for lr in (1e-3, 1.0, 50.0):
            v = analysis.stability_verdict(
                name, {"lr": lr}, lam, status="converged", effective_lr=[lr, lr]
            )
            assert not v.overshoots and "it overshoots" not in v.text


def test_every_registered_optimizer_declares_a_stability_family():
    families = {n: optimizers.get(n).stability for n in optimizers.available()}
    assert all(f != "none" for f in families.values()), families
    assert {n for n, f in families.items() if f == "sgd"} == {
        "gd",
        "sgd",
        "momentum",
        "nesterov",
        "asgd",
        "sam",
    }
    assert {n for n, f in families.items() if f == "sign"} == {"rprop", "lion", "muon"}
    assert {n for n, f in families.items() if f == "newton"} == {"newton"}
    assert {n for n, f in families.items() if f == "quasi_newton"} == {"bfgs", "lbfgs"}


def test_no_curvature_no_verdict():
    v = analysis.stability_verdict("gd", {"lr": 0.1}, [np.nan, np.nan])
    assert "left the surface" in v.text and not v.overshoots
    v = analysis.stability_verdict("gd", {"lr": 0.1}, [-2.0, -1.0])
    assert math.isinf(v.critical) and "nothing to overshoot" in v.text


# --- an unknown surface: a minimum, not a trap --------------------------------------------


def test_a_minimum_of_a_custom_formula_is_reached_not_a_trap():
    land = custom_landscape("x**2 + 3*y**2")
    assert not land.all_minima_known and land.minima == ()
    r = optimizers.simulate(land, [("newton", {}), ("gd", {"lr": 0.1})], steps=200)
    np.testing.assert_allclose(r.final_positions[:, 0], 0.0, atol=1e-8)
    # the maths: zero gradient and a positive-definite Hessian there
    assert (analysis.curvature_at(land, r.final_positions[:, 0]).eigenvalues > 0).all()
    assert (r.status[:, 0] == "converged").all()
    for detail in r.diagnosis.detail[:, 0]:
        assert "reached a minimum" in detail and "not known to be the global" in detail
        assert "trapped" not in detail and "not in the landscape's list" not in detail
    assert (r.diagnosis.minimum[:, 0] == -1).all()


def test_a_known_surface_keeps_its_trap():
    trap = landscapes.get("trap")
    r = optimizers.simulate(trap, [("gd", {"lr": 0.01})], steps=1500)
    assert r.status[0, 0] == "trapped" and r.diagnosis.minimum_kind[0, 0] == "local"


# --- the panel renders the engine's statements ----------------------------------------------


def panel_script():
    import streamlit as st

    from app import compute, curvature_panel
    from app.state import AppState, OptimizerEntry

    state = AppState(
        landscape="rosenbrock",
        optimizers=(OptimizerEntry.make("newton"), OptimizerEntry.make("gd", lr=1e-3)),
        steps=100,
    )
    surface = compute.surface(state.landscape, state.landscape_params)
    runs = compute.runs(
        state.landscape, state.landscape_params, state.optimizers, state.start_point(), 100, 0
    )
    st.session_state.statuses = [r.status for r in runs]
    curvature_panel.curvature_panel(surface, runs, 100, state)


def test_the_panel_shows_newtons_own_rule_for_a_converged_newton():
    at = AppTest.from_function(panel_script, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.session_state.statuses[0] == "converged"
    table = at.dataframe[0].value
    newton, gd = table.iloc[0], table.iloc[1]
    assert "overshoot" not in newton["Verdict"] and newton["Verdict"].startswith("stable")
    assert newton["Critical step"] == "2" and newton["Method"] == "damped Newton"
    assert gd["Stable if"] == "lr < 2/λ_max"
    assert float(gd["Critical step"]) == pytest.approx(2.0 / float(table["λ_max"].iloc[1]), 1e-3)


def test_the_oscillation_detail_names_gradient_descents_limit():
    """The status detail's 2/curvature is gradient descent's limit (the iteration 1 - lr c has
    modulus 1 at lr = 2/c), and says so."""
    quad = landscapes.get("quadratic", kappa=1.0, angle=0.0, lambda_max=10.0)
    r = optimizers.simulate(quad, [("gd", {"lr": 0.2})], steps=200)
    assert r.status[0, 0] == "oscillating"
    assert "gradient-descent steps longer than 2/10 = 0.2 overshoot" in r.diagnosis.detail[0, 0]
    assert spectral_radius(sgd_matrix(0.2, 10.0, 0.0, False)) == pytest.approx(1.0)
