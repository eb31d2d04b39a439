"""The batched runner: batching, sweeps, second-order rules against direct loops, noise, records."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from trajectories import assert_same_run

import landscapes
import optimizers
from landscapes.base import Landscape, Minimum

STARTS = np.array([[-1.5, 2.0], [0.5, -0.5], [1.5, 1.0], [-0.5, 0.3]])


def quadratic(l1: float = 10.0, l2: float = 1.0, angle: float = 0.3) -> Landscape:
    """f = 1/2 p^T A p with eigenvalues l1, l2 along axes rotated by ``angle`` (independent of the registry)."""
    c, s = math.cos(angle), math.sin(angle)
    return Landscape(
        key="q",
        name="q",
        group="teaching",
        fn=lambda p: (
            0.5
            * (
                l1 * (c * p[..., 0] + s * p[..., 1]) ** 2
                + l2 * (-s * p[..., 0] + c * p[..., 1]) ** 2
            )
        ),
        domain=((-3.0, 3.0), (-3.0, 3.0)),
        start=(2.0, -1.0),
        minima=(Minimum(0.0, 0.0, 0.0),),
    )


# A batch may run other kernels (another reduction order, vectorised against scalar code) than a
# lone run, so the two agree only up to how far the dynamics carry a last-bit difference. Measured
# with the start moved by one ulp, over these 120 steps on Rosenbrock: momentum, Adam, RMSprop and
# Nesterov move by 1e-14 at most (compared at 1e-12 to the end); Newton by 2e-13 in its first steps
# (the Hessian's condition number is ~2500 there), then it lands exactly on (1, 1) (1e-10); L-BFGS
# is chaotic: past 1e-14 from step 14, 4e-8 at the end, where torch's tolerance_change stops it
# ~2e-5 short of the minimum. (horizon, tolerance) of the step-for-step comparison; past it the
# runs must end within 1e-6 of each other and settle within 2 steps of each other.
BATCH_STEPS = 120
BATCH_COMPARISON = {"newton": (BATCH_STEPS, 1e-10), "lbfgs": (12, 1e-12)}


def test_batched_runs_equal_single_runs():
    land = landscapes.get("rosenbrock")
    specs = [
        ("momentum", {"lr": 2e-4}),
        ("adam", {"lr": 0.02}),
        ("rmsprop", {"lr": 1e-3}),
        ("newton", {}),
        ("lbfgs", {"lr": 0.5}),
        ("nesterov", {"lr": 1e-4}),
    ]
    batched = optimizers.simulate(land, specs, STARTS, steps=BATCH_STEPS)
    assert batched.positions.shape == (len(specs), len(STARTS), BATCH_STEPS + 1, 2)
    for i, spec in enumerate(specs):
        horizon, tol = BATCH_COMPARISON.get(spec[0], (BATCH_STEPS, 1e-12))
        for j, start in enumerate(STARTS):
            single = optimizers.simulate(land, [spec], [start], steps=BATCH_STEPS)
            ours, ref = batched.positions[i, j], single.positions[0, 0]
            if horizon < BATCH_STEPS:
                assert_same_run(ours, ref, horizon=horizon, tol=tol, end_tol=1e-6, what=spec[0])
            else:
                np.testing.assert_allclose(ours, ref, rtol=0, atol=tol, err_msg=spec[0])
            assert batched.status[i, j] == single.status[0, 0]


def test_sweep_expands_to_one_spec_per_value():
    land = landscapes.get("himmelblau")
    lrs = np.geomspace(1e-3, 1e-1, 5)
    result = optimizers.simulate(
        land, [("adam", {"lr": lrs}), "gd"], [[0.0, 0.0], [1.0, -1.0]], steps=50
    )
    assert len(result.specs) == 6 and result.positions.shape[:2] == (6, 2)
    assert [s.hyperparams["lr"] for s in result.specs[:5]] == pytest.approx(list(lrs))
    assert "lr=0.001" in result.specs[0].label
    for k, lr in enumerate(lrs):
        alone = optimizers.simulate(
            land, [("adam", {"lr": float(lr)})], [[0.0, 0.0], [1.0, -1.0]], steps=50
        )
        # a batch of six runs against one: other kernels may round the last bit differently
        # (torch's vectorised pow, say, by an element's place in the batch); Adam on Himmelblau
        # does not amplify it (a start one ulp off moves these 50 steps by 9e-16 at most)
        np.testing.assert_allclose(result.positions[k], alone.positions[0], rtol=0, atol=1e-13)
    with pytest.raises(ValueError, match="equal lengths"):
        optimizers.simulate(land, [("adam", {"lr": [0.1, 0.2], "beta1": [0.9, 0.8, 0.7]})], steps=1)


# --- second-order rules against plain single-run loops ----------------------------------------


def direct_newton(fn, start, steps, lr=1.0, damping=1e-4, saddle_free=True):
    x = torch.tensor(start, dtype=torch.float64)
    path = [x.numpy().copy()]
    for _ in range(steps):
        g = torch.autograd.functional.jacobian(fn, x)
        h = torch.autograd.functional.hessian(fn, x).numpy()
        w, v = np.linalg.eigh(0.5 * (h + h.T))
        w = np.maximum(np.abs(w) if saddle_free else w, damping)
        x = x - lr * torch.from_numpy(v @ ((v.T @ g.numpy()) / w))
        path.append(x.numpy().copy())
    return np.array(path)


def direct_bfgs(fn, start, steps, lr=1.0, line_search=False, c1=1e-4, shrink=0.5, max_ls=20):
    """Nocedal & Wright algorithm 6.1, written the textbook way for one run."""

    def fg(x):
        t = torch.tensor(x, requires_grad=True)
        y = fn(t)
        y.backward()
        return y.item(), t.grad.numpy().copy()

    x = np.array(start, dtype=np.float64)
    h = np.eye(2)
    path, f_evals = [x.copy()], 0
    f, g = fg(x)
    s_prev = g_prev = None
    for k in range(steps):
        if k > 0:
            s, y = s_prev, g - g_prev
            ys = y @ s
            if ys > 1e-10:
                if k == 1:
                    h = (ys / (y @ y)) * np.eye(2)
                rho = 1.0 / ys
                left = np.eye(2) - rho * np.outer(s, y)
                h = left @ h @ left.T + rho * np.outer(s, s)
        d = -h @ g
        if d @ g >= 0:
            h, d = np.eye(2), -g
        t = min(1.0, 1.0 / np.abs(g).sum()) * lr if k == 0 else lr
        if line_search:
            for trial in range(max_ls):
                f_evals += 1
                if (
                    fn(torch.tensor(x + t * d)).item() <= f + c1 * t * (g @ d)
                    or trial == max_ls - 1
                ):
                    break
                t *= shrink
        s_prev, g_prev = t * d, g
        x = x + t * d
        f, g = fg(x)
        path.append(x.copy())
    return np.array(path), f_evals


@pytest.mark.parametrize(
    "key,start",
    [("rosenbrock", (-1.5, 2.0)), ("himmelblau", (0.0, 0.0)), ("saddle_bounded", (0.5, 0.01))],
)
def test_newton_matches_direct_loop(key, start):
    land = landscapes.get(key)
    for hp in ({}, {"lr": 0.5, "saddle_free": False, "damping": 1e-2}):
        ours = optimizers.simulate(land, [("newton", hp)], [start], steps=60)
        ref = direct_newton(land.fn, start, 60, **{k: v for k, v in hp.items()})
        np.testing.assert_allclose(ours.positions[0, 0], ref, rtol=0, atol=1e-9)


def test_newton_solves_a_quadratic_in_one_step_and_escapes_saddles():
    q = quadratic()
    result = optimizers.simulate(q, ["newton"], [[2.0, -1.0]], steps=1)
    np.testing.assert_allclose(result.positions[0, 0, 1], [0.0, 0.0], atol=1e-12)
    saddle = landscapes.get("saddle")
    start = [0.5, 0.01]
    free = optimizers.simulate(saddle, [("newton", {"saddle_free": True})], [start], steps=5)
    # the saddle-free step goes downhill along -y^2 instead of jumping onto the saddle
    assert free.losses[0, 0, -1] < free.losses[0, 0, 0] - 1e-3
    assert abs(free.positions[0, 0, -1, 1]) > 0.1


# BFGS against the direct loop: step for step over the first HORIZON steps, then the outcome. The
# two compute gradients differently (closed form against autograd), so they differ by an ulp from
# the first steps; down Rosenbrock's curved valley that difference grows ~2x a step (1e-15 at step
# 8, 1e-11 at step 20, 1e-6 at step 35 on the machine where it was measured, more or less on
# another CPU), then shrinks again as both runs land on the minimum.
BFGS_HORIZON = 20
BFGS_STEPS = 100  # every run below has settled well before (the slowest at step ~90)


@pytest.mark.parametrize("line_search", [False, True])
@pytest.mark.parametrize(
    "key,start", [("rosenbrock", (-1.5, 2.0)), ("himmelblau", (0.5, 0.5)), ("beale", (1.0, 1.0))]
)
def test_bfgs_matches_direct_loop(key, start, line_search):
    land = landscapes.get(key)
    spec = ("bfgs", {"line_search": line_search})
    ours = optimizers.simulate(land, [spec], [start], steps=BFGS_STEPS)
    ref, f_evals = direct_bfgs(land.fn, start, BFGS_STEPS, line_search=line_search)
    assert_same_run(ours.positions[0, 0], ref, horizon=BFGS_HORIZON, tol=1e-9, what=key)
    # the line search's trials: exactly the loop's over the horizon; over the whole run, within
    # a few (a trial the Armijo test takes or rejects by a hair near the end of the chaos)
    short = optimizers.simulate(land, [spec], [start], steps=BFGS_HORIZON)
    _, short_evals = direct_bfgs(land.fn, start, BFGS_HORIZON, line_search=line_search)
    assert short.evaluations["function"][0, 0] == BFGS_HORIZON + short_evals
    assert abs(ours.evaluations["function"][0, 0] - (BFGS_STEPS + f_evals)) <= 3


def test_line_search_makes_bfgs_converge_on_rosenbrock():
    land = landscapes.get("rosenbrock")
    result = optimizers.simulate(
        land,
        [("bfgs", {"line_search": True}), ("lbfgs", {"line_search": True})],
        [[-1.5, 2.0]],
        steps=100,
    )
    assert (result.status == "converged").all()
    assert np.abs(result.final_positions - 1.0).max() < 1e-5
    # every accepted step decreased the loss (Armijo)
    assert (np.diff(result.losses[:, 0], axis=-1) <= 1e-15).all()


# --- evaluation counts, records, optimizer state ----------------------------------------------


def test_evaluation_counts_are_fair():
    land = landscapes.get("himmelblau")
    result = optimizers.simulate(
        land, ["adam", "newton", ("bfgs", {"line_search": True})], [[0.0, 0.0]], steps=30
    )
    ev = result.evaluations
    assert ev["function"][0, 0] == 30 and ev["gradient"][0, 0] == 30 and ev["hessian"][0, 0] == 0
    assert ev["hessian"][1, 0] == 30
    assert ev["function"][2, 0] > 30 and ev["gradient"][2, 0] == 30


def test_record_final_gives_the_same_end_as_full():
    land = landscapes.get("himmelblau")
    specs = ["gd", "momentum", ("adam", {"lr": 0.1})]
    starts = np.random.default_rng(1).uniform(-4, 4, (25, 2))
    full = optimizers.simulate(land, specs, starts, steps=200)
    final = optimizers.simulate(land, specs, starts, steps=200, record="final")
    assert final.positions is None and final.updates is None
    np.testing.assert_array_equal(full.final_positions, final.final_positions)
    np.testing.assert_array_equal(full.final_positions, full.positions[:, :, -1])
    np.testing.assert_array_equal(full.status, final.status)


def test_velocity_and_effective_lr_explain_the_update():
    land = landscapes.get("himmelblau")
    result = optimizers.simulate(
        land, [("momentum", {"lr": 0.005}), ("adam", {"lr": 0.05}), "gd"], [[0.0, 0.0]], steps=40
    )
    upd, vel, eff = result.updates[:, 0], result.velocity[:, 0], result.effective_lr[:, 0]
    np.testing.assert_allclose(upd[0], -0.005 * vel[0], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(upd[1], -eff[1] * vel[1], rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(upd[2], -eff[2] * result.gradients[2, 0, :-1], rtol=1e-12)
    assert np.isnan(vel[2]).all()  # gradient descent has no velocity
    assert np.isfinite(result.second_moment[1]).all() and np.isnan(result.second_moment[0]).all()
    # Adam's per-axis rates differ between axes: that is what makes it not momentum
    assert not np.allclose(eff[1, :, 0], eff[1, :, 1])


# --- noise ------------------------------------------------------------------------------------


def test_noise_is_seeded_and_common_to_all_specs():
    land = landscapes.get("himmelblau")
    specs = [
        ("sgd", {"lr": 0.01, "noise": 2.0}),
        ("sgd", {"lr": 0.01, "noise": 2.0}),
        ("gd", {"lr": 0.01}),
    ]
    a = optimizers.simulate(land, specs, [[0.0, 0.0]], steps=100, seed=3)
    b = optimizers.simulate(land, specs, [[0.0, 0.0]], steps=100, seed=3)
    c = optimizers.simulate(land, specs, [[0.0, 0.0]], steps=100, seed=4)
    np.testing.assert_array_equal(a.positions, b.positions)
    np.testing.assert_array_equal(a.positions[0], a.positions[1])
    assert np.abs(a.positions[0] - c.positions[0]).max() > 1e-3
    assert np.abs(a.positions[0] - a.positions[2]).max() > 1e-3


def test_noise_has_the_stated_variance():
    """On a flat surface gradient descent with noise is a random walk: x_T - x_0 ~ N(0, T (lr sigma)^2)."""
    flat = Landscape(
        key="flat",
        name="flat",
        group="teaching",
        fn=lambda p: 0.0 * p[..., 0],
        domain=((-1.0, 1.0), (-1.0, 1.0)),
        start=(0.0, 0.0),
        minima=(),
    )
    lr, sigma, steps = 0.01, 0.5, 100
    starts = np.zeros((4000, 2))
    result = optimizers.simulate(
        flat, [("sgd", {"lr": lr, "noise": sigma})], starts, steps=steps, record="final"
    )
    disp = result.final_positions[0]
    expected = math.sqrt(steps) * lr * sigma
    assert disp.std() == pytest.approx(expected, rel=0.05)
    assert abs(disp.mean()) < 4 * expected / math.sqrt(disp.size)


# --- statuses ---------------------------------------------------------------------------------


def test_statuses_on_a_quadratic_follow_the_critical_learning_rate():
    q = quadratic(l1=10.0, l2=1.0)
    crit = 2.0 / 10.0
    lrs = [0.5 * crit, 0.999 * crit, crit, 1.05 * crit]
    result = optimizers.simulate(q, [("gd", {"lr": np.array(lrs)})], [[2.0, -1.0]], steps=400)
    status = result.status[:, 0].tolist()
    assert status[0] == "converged"
    assert status[2] == "oscillating"
    assert result.diagnosis.period[2, 0] == 2
    # it oscillates along the stiff eigenvector (angle 0.3 rad)
    direction = result.diagnosis.direction[2, 0]
    assert abs(abs(direction @ np.array([math.cos(0.3), math.sin(0.3)])) - 1.0) < 1e-6
    assert status[3] == "diverged"
    k = result.diagnosis.diverged_at[3, 0]
    assert 0 < k < 400 and np.isfinite(result.losses[3, 0, k - 1])
    # just below the critical rate it is still on its way, oscillating but shrinking
    assert status[1] in ("moving", "converged")


def test_trapped_stalled_and_diverged_are_detected():
    trap = landscapes.get("trap")
    result = optimizers.simulate(trap, [("gd", {"lr": 0.01})], steps=1500)
    assert result.status[0, 0] == "trapped"
    assert trap.minima[result.diagnosis.minimum[0, 0]].kind == "local"

    plateau = landscapes.get("plateau")
    result = optimizers.simulate(plateau, [("gd", {"lr": 1e-3})], steps=300)
    assert result.status[0, 0] == "stalled"

    saddle = landscapes.get("saddle_bounded")
    on_ridge = [[s.x + 0.8, s.y] for s in saddle.saddles][:1]
    result = optimizers.simulate(saddle, [("gd", {"lr": 0.05})], on_ridge, steps=400)
    assert result.status[0, 0] == "stalled" and "saddle" in result.diagnosis.detail[0, 0]

    rosen = landscapes.get("rosenbrock")
    result = optimizers.simulate(rosen, [("gd", {"lr": 0.05})], steps=50)
    assert result.status[0, 0] == "diverged"
    assert (
        not np.isfinite(result.final_losses[0, 0]) or abs(result.final_positions[0, 0]).max() > 100
    )


def test_nan_and_inf_never_crash():
    land = landscapes.get("rosenbrock")
    specs = [
        (name, {"lr": 1e6})
        for name in ("gd", "adam", "rmsprop", "adagrad", "bfgs", "lbfgs", "nadam")
    ]
    specs.append(("newton", {}))
    result = optimizers.simulate(land, specs, [[-1.5, 2.0]], steps=100)
    assert result.status.shape == (len(specs), 1)
    assert set(result.status[:-1, 0]) <= {
        "diverged",
        "moving",
        "oscillating",
        "stalled",
        "converged",
    }
    assert (result.status[:3, 0] == "diverged").all()
    nan_land = Landscape(
        key="nan",
        name="nan",
        group="teaching",
        fn=lambda p: torch.where(p[..., 0] > 0.5, float("nan"), p[..., 0] ** 2 + p[..., 1] ** 2),
        domain=((-1.0, 1.0), (-1.0, 1.0)),
        start=(0.0, 0.0),
        minima=(Minimum(0.0, 0.0, 0.0),),
    )
    result = optimizers.simulate(nan_land, ["gd", "newton"], [[0.9, 0.0], [0.2, 0.1]], steps=20)
    assert (result.status[:, 0] == "diverged").all() and (
        result.diagnosis.diverged_at[:, 0] == 0
    ).all()
    assert result.status[1, 1] == "converged"


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec,match",
    [
        (("adam", {"lr": -0.1}), r"'lr' must be in \[0, inf\]"),
        (("adam", {"beta1": 1.0}), r"'beta1' must be in \[0, 1\)"),
        (("rmsprop", {"alpha": 1.5}), "'alpha'"),
        (("momentum", {"momentum": -0.5}), "'momentum'"),
        (("adam", {"lr": float("nan")}), "'lr'"),
        (("adam", {"lr": "fast"}), "'lr' must be a number"),
        (("adam", {"momentum": 0.9}), "unknown hyperparameter 'momentum'"),
        (("adamm", {}), "unknown optimizer 'adamm'"),
        (("nesterov", {"momentum": 0.0}), "Nesterov"),
        (("lbfgs", {"history_size": 2.5}), "integer"),
    ],
)
def test_bad_hyperparameters_raise_value_errors(spec, match):
    with pytest.raises(ValueError, match=match):
        optimizers.simulate(landscapes.get("sphere"), [spec], steps=1)


def test_bad_runner_arguments():
    land = landscapes.get("sphere")
    with pytest.raises(ValueError, match="starts"):
        optimizers.simulate(land, ["gd"], [[1.0, 2.0, 3.0]], steps=1)
    with pytest.raises(ValueError, match="finite"):
        optimizers.simulate(land, ["gd"], [[float("nan"), 0.0]], steps=1)
    with pytest.raises(ValueError, match="steps"):
        optimizers.simulate(land, ["gd"], steps=-1)
    with pytest.raises(ValueError, match="schedule"):
        optimizers.simulate(land, [("gd", {"schedule": "sometimes"})], steps=1)


def test_device_selection(monkeypatch):
    monkeypatch.setenv("OPTISCAPE_DEVICE", "cpu")
    assert optimizers.default_device().type == "cpu"
    result = optimizers.simulate(landscapes.get("sphere"), ["gd"], steps=2)
    assert result.device == "cpu"
    monkeypatch.setenv("OPTISCAPE_DEVICE", "tpu-please")
    with pytest.raises(ValueError, match="device"):
        optimizers.default_device()
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            optimizers.resolve_device("cuda")


def test_schedule_factors():
    S = optimizers.Schedule
    cos = S("cosine", t_max=100, eta_min=0.01).factors(0.1, 101)
    assert cos[0] == 1.0 and cos[100] == pytest.approx(0.1)  # eta_min / lr
    warm = S("warmup", warmup=10, start_factor=0.1).factors(1.0, 20)
    assert warm[0] == pytest.approx(0.1) and warm[10:] == pytest.approx(np.ones(10))
    wc = S("warmup_cosine", warmup=10).factors(1.0, 110)
    assert wc.argmax() == 10 and wc[-1] < 0.01
    assert S("step", step_size=5, gamma=0.5).factors(1.0, 11)[[0, 4, 5, 10]] == pytest.approx(
        [1, 1, 0.5, 0.25]
    )
    with pytest.raises(ValueError, match="gamma"):
        S("exponential", gamma=1.5)


def test_a_fixed_point_is_reused_exactly(monkeypatch):
    """Newton (a stationary rule) stops recomputing once every run in its batch stays put; the
    result, state records and evaluation counts equal the step-by-step computation bitwise."""
    land = landscapes.get("rosenbrock")
    specs = [("newton", {"lr": lr}) for lr in (1.0, 0.5)] + [("adam", {"lr": 0.05})]
    fast = optimizers.simulate(land, specs, [(-1.5, 2.0), (0.5, 0.5)], steps=120)
    newton = optimizers.get("newton")
    assert newton.stationary
    monkeypatch.setitem(
        optimizers.base._REGISTRY, "newton", dataclasses.replace(newton, stationary=False)
    )
    slow = optimizers.simulate(land, specs, [(-1.5, 2.0), (0.5, 0.5)], steps=120)
    # the shortcut was taken: the runs sat at the minimum long before the end
    assert (np.diff(slow.positions[:2], axis=2)[:, :, -20:] == 0).all()
    for name in ("positions", "losses", "grad_norms", "effective_lr", "updates"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name), err_msg=name)
    for kind in ("function", "gradient", "hessian"):
        np.testing.assert_array_equal(fast.evaluations[kind], slow.evaluations[kind])
    assert list(fast.status.ravel()) == list(slow.status.ravel())


def test_inference_mode_changes_no_number(monkeypatch):
    """With closed-form derivatives the step loop runs in torch's inference mode: the same
    operations, so the same bits as with autograd's bookkeeping on."""
    import contextlib

    from optimizers import runner

    land = landscapes.get("beale")
    specs = ["gd", ("momentum", {"lr": 0.002}), "adam", ("newton", {"lr": 0.5})]
    fast = optimizers.simulate(land, specs, [(-1.0, 1.5), (1.0, 1.0)], steps=60, seed=3)
    modes = []
    monkeypatch.setattr(
        runner.torch, "inference_mode", lambda mode: modes.append(mode) or contextlib.nullcontext()
    )
    plain = optimizers.simulate(land, specs, [(-1.0, 1.5), (1.0, 1.0)], steps=60, seed=3)
    assert modes == [True]  # beale has both closed forms
    for name in ("positions", "losses", "grad_norms", "gradients", "velocity", "effective_lr"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(plain, name), err_msg=name)


def test_a_formula_without_closed_forms_keeps_autograd(monkeypatch):
    """Your own formula has no closed-form derivatives: its runs need autograd (Newton's
    Hessian by double backward), so the loop stays out of inference mode."""
    from landscapes.formula import custom_landscape
    from optimizers import runner

    modes = []
    real = runner.torch.inference_mode
    monkeypatch.setattr(
        runner.torch, "inference_mode", lambda mode: modes.append(mode) or real(mode)
    )
    land = custom_landscape("x^2 + 3*y^2 + x*y")
    result = optimizers.simulate(land, ["gd", "newton"], [(1.0, 1.0)], steps=5)
    assert modes == [False]
    np.testing.assert_allclose(result.final_positions[1, 0], [0.0, 0.0], atol=1e-12)
