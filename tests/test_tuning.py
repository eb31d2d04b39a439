"""The hyperparameter-search engine: reproducible searchers that find good settings, a dense map
that equals single runs, and clear errors for bad settings."""

from __future__ import annotations

import math

import numpy as np
import pytest

import landscapes
import optimizers
from studies import tuning

# Adam on Rosenbrock from (-1.5, 2), 100 steps: no run diverges, the good region is a band.
PROBLEM = tuning.Problem("rosenbrock", (), "adam", (), None, 100, 0)
SPACE = tuning.SearchSpace((1e-3, 1.0), "beta1", (0.0, 0.99))
SMALL = 12  # budget of the reproducibility runs: past the 10 start-up trials of TPE and GP


@pytest.fixture(scope="module")
def dense() -> tuning.DenseObjective:
    return tuning.dense_objective(PROBLEM, SPACE, resolution=41)


@pytest.fixture(scope="module")
def searches() -> dict[str, tuning.SearchResult]:
    return tuning.run_searches(PROBLEM, SPACE, tuning.SEARCHERS, budget=50, seed=0)


def test_dense_objective_equals_single_runs(dense):
    """Sampled grid points, each run alone through simulate, scored by hand. (A lone run takes
    other code paths than a batched one; its last-bit differences grow over 100 steps.)"""
    land = landscapes.get("rosenbrock")
    rng = np.random.default_rng(1)
    for i, j in rng.integers(0, 41, size=(6, 2)):
        lr, b1 = float(dense.lrs[i]), float(dense.params[j])
        r = optimizers.simulate(land, [("adam", {"lr": lr, "beta1": b1})], steps=100)
        loss = float(r.final_losses[0, 0])
        assert dense.losses[j, i] == pytest.approx(loss, rel=1e-6)
        assert dense.values[j, i] == pytest.approx(math.log10(max(loss, 1e-12)), abs=1e-6)
    # 5 % of the way through the 1681 sorted scores is exactly the 85th (rank 84)
    assert dense.percentile(5) == np.sort(dense.values.ravel())[84]
    # the axes: log-spaced learning rates, evenly spaced beta1, ends exactly at the range
    assert dense.lrs[0] == 1e-3 and dense.lrs[-1] == 1.0
    np.testing.assert_allclose(np.diff(np.log10(dense.lrs)), 3 / 40)
    np.testing.assert_allclose(dense.params, np.linspace(0.0, 0.99, 41))


def test_diverged_runs_score_the_stated_penalty():
    """Momentum with a large learning rate diverges on Rosenbrock: it scores log10(f(x0)) + 1."""
    problem = tuning.Problem("rosenbrock", (), "momentum", (), None, 50, 0)
    space = tuning.SearchSpace((1e-4, 1.0), "momentum", (0.0, 0.9))
    d = tuning.dense_objective(problem, space, resolution=5)
    f0 = (1 + 1.5) ** 2 + 100 * (2 - 1.5**2) ** 2  # Rosenbrock at the start (-1.5, 2)
    assert d.diverged[:, -1].all()  # lr = 1 diverges for every momentum
    np.testing.assert_allclose(d.values[d.diverged], math.log10(f0) + 1)
    assert np.all(d.values <= math.log10(f0) + 1)
    assert "diverges scores 2.1" in problem.objective_text()


@pytest.mark.parametrize("searcher", tuning.SEARCHERS)
def test_each_searcher_is_reproducible(searcher):
    a = tuning.run_search(PROBLEM, SPACE, searcher, budget=SMALL, seed=3)
    b = tuning.run_search(PROBLEM, SPACE, searcher, budget=SMALL, seed=3)
    np.testing.assert_array_equal(a.params, b.params)
    np.testing.assert_array_equal(a.values, b.values)
    c = tuning.run_search(PROBLEM, SPACE, searcher, budget=SMALL, seed=4)
    assert not np.array_equal(a.params, c.params)  # the seed matters
    # every trial inside the box
    assert np.all((a.params[:, 0] >= 1e-3) & (a.params[:, 0] <= 1.0))
    assert np.all((a.params[:, 1] >= 0.0) & (a.params[:, 1] <= 0.99))


def test_running_together_gives_the_same_trials_as_alone(searches):
    for key in ("tpe", "gp", "cmaes"):
        alone = tuning.run_search(PROBLEM, SPACE, key, budget=50, seed=0)
        np.testing.assert_array_equal(alone.params, searches[key].params)
        np.testing.assert_array_equal(alone.values, searches[key].values)


@pytest.mark.parametrize("searcher", tuning.SEARCHERS)
def test_every_searcher_lands_in_the_top_5_percent_of_the_dense_map(searches, dense, searcher):
    r = searches[searcher]
    top5 = np.percentile(dense.values, 5)
    assert r.best_value <= top5, (searcher, r.best_value, top5)


def test_results_are_consistent(searches):
    for key, r in searches.items():
        n = 49 if key == "grid" else 50
        assert r.values.shape == (n,) and r.params.shape == (n, 2)
        np.testing.assert_array_equal(r.best_so_far, np.minimum.accumulate(r.values))
        assert r.best_value == r.values.min() == r.best_so_far[-1]
        lr, b1 = r.best_params["lr"], r.best_params["beta1"]
        assert (lr, b1) == tuple(r.params[r.best_index])
        # the values are the objective of the trials' own settings
        scores, _, _ = PROBLEM.evaluate(SPACE, r.params[:3, 0], r.params[:3, 1])
        np.testing.assert_allclose(scores, r.values[:3], rtol=0, atol=1e-12)
        assert r.description == tuning.SEARCHER_INFO[key].description
        best, improved = np.inf, []  # the improvements, by a plain loop
        for i, v in enumerate(r.values):
            if v < best:
                best, improved = v, [*improved, i]
        assert r.improvements.tolist() == improved


def test_grid_search_visits_the_grid(searches):
    g = searches["grid"]
    assert tuning.grid_shape(50) == (7, 7) and tuning.grid_shape(30) == (6, 5)
    lrs = np.unique(g.params[:, 0])
    np.testing.assert_allclose(lrs, np.geomspace(1e-3, 1.0, 7))
    np.testing.assert_allclose(np.unique(g.params[:, 1]), np.linspace(0, 0.99, 7))
    assert len({tuple(p) for p in g.params}) == 49


def test_batches_follow_the_algorithms(searches):
    """Grid and random in one batch; CMA-ES: one start-up trial, then generations of 6;
    NSGA-II: generations of 6; TPE and GP sequential after 10 start-up trials."""
    assert set(searches["grid"].batch) == {0} and set(searches["random"].batch) == {0}
    cma = np.bincount(searches["cmaes"].batch)
    assert cma[0] == 1 and set(cma[1:-1]) == {6}
    assert list(np.bincount(searches["nsga2"].batch)) == [6] * 8 + [2]
    for key in ("tpe", "gp"):
        counts = np.bincount(searches[key].batch)
        assert counts[0] == 10 and set(counts[1:]) == {1}


def test_batched_tpe_spreads_its_batch():
    r = tuning.run_search(PROBLEM, SPACE, "tpe", budget=20, seed=0, batch=5)
    counts = np.bincount(r.batch)
    assert counts[0] == 10 and list(counts[1:]) == [5, 5]
    assert len({tuple(p) for p in r.params}) == 20


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: tuning.run_search(PROBLEM, SPACE, "tpe", budget=0), "budget must be between 1"),
        (lambda: tuning.run_search(PROBLEM, SPACE, "tpe", budget=-3), "budget must be between 1"),
        (lambda: tuning.run_search(PROBLEM, SPACE, "tpe", budget=2.5), "budget must be an integer"),
        (lambda: tuning.run_search(PROBLEM, SPACE, "hill", budget=5), "unknown searcher 'hill'"),
        (lambda: tuning.SearchSpace((0.1, 0.1), "beta1", (0.0, 0.9)), "range .* is empty"),
        (lambda: tuning.SearchSpace((1e-3, 1.0), "beta1", (0.9, 0.1)), "range .* is empty"),
        (lambda: tuning.SearchSpace((0.0, 1.0)), "log-scale range must be positive"),
        (lambda: tuning.SearchSpace((1e-3, math.inf)), "must be finite"),
        (lambda: tuning.Problem(optimizer="adamm"), "unknown optimizer 'adamm'"),
        (lambda: tuning.Problem(landscape="nowhere"), "unknown landscape 'nowhere'"),
        (lambda: tuning.Problem(steps=0), "steps must be a positive integer"),
        (lambda: tuning.Problem(start=(50.0, 0.0)), "outside the domain"),
        (
            lambda: tuning.dense_objective(PROBLEM, tuning.SearchSpace(param="momentum")),
            "unknown hyperparameter 'momentum' for adam",
        ),
        (
            lambda: tuning.run_search(
                tuning.Problem(optimizer="gd"), tuning.SearchSpace(), "grid", 4
            ),
            "unknown hyperparameter 'beta1' for gd",
        ),
        (
            lambda: tuning.dense_objective(
                PROBLEM, tuning.SearchSpace((1e-3, 1.0), "beta1", (0.0, 1.5))
            ),
            "beta1.* must be in",
        ),
        (lambda: tuning.dense_objective(PROBLEM, SPACE, resolution=1), "resolution must be"),
    ],
)
def test_bad_settings_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_default_spaces():
    assert tuning.SearchSpace.default_for("momentum").param == "momentum"
    assert tuning.SearchSpace.default_for("adam").param == "beta1"
    assert tuning.SearchSpace.default_for("adam").param_range == (0.0, 0.99)
    newton = tuning.SearchSpace.default_for("newton")
    assert newton.param == "damping" and newton.param_log
    assert "lr" not in tuning.searchable("rmsprop") and "alpha" in tuning.searchable("rmsprop")
    # Nesterov needs momentum > 0 and no dampening: the default space starts above 0
    assert "dampening" not in tuning.searchable("nesterov")
    nesterov = tuning.SearchSpace.default_for("nesterov")
    assert nesterov.param_range == (0.01, 0.99)
    nesterov.check("nesterov")
    for name in optimizers.available():  # every optimizer's default space is valid
        tuning.SearchSpace.default_for(name).check(name)


def test_unbounded_surface_uses_the_raw_loss():
    """The saddle has no global minimum: the objective is the final loss itself."""
    problem = tuning.Problem("saddle_bounded", (), "adam", (), None, 20, 0)
    assert problem.minimum_value() is not None
    saddle = tuning.Problem("saddle", (), "adam", (), None, 20, 0)
    assert saddle.minimum_value() is None
    scores, losses, diverged = saddle.evaluate(SPACE, np.array([0.01]), np.array([0.9]))
    assert not diverged[0] and scores[0] == pytest.approx(losses[0])
    assert "no global minimum is known" in saddle.objective_text()


# --- the network problem ---------------------------------------------------------------------------

# a tiny network problem: moons, 120 samples, one hidden layer of 8, 20 full-batch steps of Adam
NET = tuning.NetworkProblem("moons", 120, 0.2, (8,), "adam", (), 20, None, 0)
NET_SPACE = tuning.SearchSpace((1e-3, 1.0), "beta1", (0.0, 0.99))


def test_network_batch_equals_single_trials():
    lrs = np.array([1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0])
    betas = np.array([0.0, 0.5, 0.9, 0.95, 0.3, 0.8, 0.99])
    scores, losses, diverged = NET.evaluate(NET_SPACE, lrs, betas)
    assert scores.shape == losses.shape == diverged.shape == (7,)
    for k in range(7):
        s, loss, bad = NET.evaluate(NET_SPACE, lrs[k : k + 1], betas[k : k + 1])
        assert s[0] == pytest.approx(scores[k], abs=1e-6)
        assert loss[0] == pytest.approx(losses[k], rel=1e-6)
        assert bad[0] == diverged[k]
    # the objective is log10 of the validation loss; training improves on the start
    ok = ~diverged
    np.testing.assert_allclose(scores[ok], np.log10(losses[ok]))
    assert scores.min() < math.log10(NET.start_loss())


def test_network_start_loss_is_an_independent_forward_pass():
    import copy

    import torch
    import torch.nn.functional as F

    data, model, start = NET.setup()
    with torch.no_grad():  # a copy: the cached model stays as it is
        reference = float(F.cross_entropy(copy.deepcopy(model).eval()(data.x_val), data.y_val))
    assert start == pytest.approx(reference, rel=1e-5)


def test_network_diverging_lr_scores_the_stated_penalty():
    problem = tuning.NetworkProblem("moons", 120, 0.2, (8,), "sgd", (), 20, None, 0)
    space = tuning.SearchSpace((1e-3, 1e4), "momentum", (0.0, 0.99))
    scores, _, diverged = problem.evaluate(space, np.array([1e4, 0.05]), np.array([0.9, 0.0]))
    penalty = math.log10(problem.start_loss()) + 1.0
    assert problem.penalty() == pytest.approx(penalty)
    assert diverged.tolist() == [True, False]
    assert scores[0] == pytest.approx(penalty)
    assert scores[1] < penalty
    assert f"{penalty:.3g}" in problem.objective_text()


@pytest.mark.parametrize("searcher", ["random", "tpe", "cmaes", "nsga2"])
def test_network_searchers_are_reproducible(searcher):
    a = tuning.run_search(NET, NET_SPACE, searcher, budget=8, seed=2)
    b = tuning.run_search(NET, NET_SPACE, searcher, budget=8, seed=2)
    assert a.values.size == 8
    np.testing.assert_array_equal(a.params, b.params)
    np.testing.assert_array_equal(a.values, b.values)
    # the trials' scores are those of the problem, evaluated again
    scores, _, _ = NET.evaluate(NET_SPACE, a.params[:, 0], a.params[:, 1])
    np.testing.assert_allclose(a.values, scores, atol=1e-6)


def test_network_dense_map_is_one_coarse_batch():
    dense = tuning.dense_objective(NET, NET_SPACE, resolution=5)
    assert dense.values.shape == (5, 5)
    lr, beta, value = dense.best
    single, _, _ = NET.evaluate(NET_SPACE, np.array([lr]), np.array([beta]))
    assert single[0] == pytest.approx(value, abs=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dataset": "mnist"}, "unknown data set"),
        ({"n_samples": 5}, "n_samples"),
        ({"n_samples": 10**6}, "n_samples"),
        ({"noise": float("nan")}, "noise"),
        ({"noise": -1.0}, "noise"),
        ({"widths": ()}, "hidden layers"),
        ({"widths": (8, 0)}, "hidden width"),
        ({"widths": (1000,)}, "hidden width"),
        ({"steps": 0}, "steps"),
        ({"steps": 2.5}, "steps"),
        ({"batch_size": 0}, "batch_size"),
        ({"optimizer": "newton"}, "not available for networks"),
        ({"optimizer": "nope"}, "nope"),
    ],
)
def test_bad_network_settings_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tuning.NetworkProblem(**kwargs)
