"""The cost model (``optimizers.cost``, ``landscapes.network.cost``) and the pages' budget: a
view estimated above ``OPTISCAPE_BUDGET_S`` shows the budget message and computes the largest
setting within the budget. No wall-clock limits here: the bench script compares the estimates
with measured times (``bench/cost_model.py``)."""

from __future__ import annotations

import base64

import numpy as np
import pytest

import landscapes
import optimizers
from app import budget, compute, diagnostic_compute, explorer_link, network_compute, search_compute
from app.diagnostic_state import COUNT_BOUNDS, BasinState, SweepState
from app.network_state import NetworkState
from app.search_state import SearchState
from app.state import AppState
from landscapes.network import cost as ncost
from optimizers import cost
from tests.apptest_helpers import chart_figures, new_app, open_page, written_query

ROSENBROCK = landscapes.get("rosenbrock")
ACKLEY = landscapes.get("ackley")  # no closed-form derivatives: autograd
EIGHT = ["newton", "bfgs", "lbfgs", "adam", "nadam", "radam", "adamw", "rmsprop"]
BASINS_LINK = {
    "v": "1",
    "grid": "200",
    "steps": "5000",
    "o": ["newton", "bfgs", "lbfgs", "adam", "nadam", "radam", "adamw", "rmsprop"],
}
NETWORK_LINK = {
    "v": "1",
    "data": "digits",
    "model": "cnn",
    "steps": "2000",
    "bs": "0",
    "rec": "1",
    "res": "51",
    "plane": "hessian",
    "n": "2000",
    "o": ["adam", "nadam", "radam", "rmsprop"],
}


# --- the estimator ---------------------------------------------------------------------------------


@pytest.mark.parametrize("land", [ROSENBROCK, ACKLEY])
def test_an_estimate_grows_with_steps_runs_and_optimizers(land):
    base = cost.simulate_seconds(land, ["adam"], 1, 100)
    assert 0 < base < cost.simulate_seconds(land, ["adam"], 1, 200)
    assert base < cost.simulate_seconds(land, ["adam"], 50, 100)
    assert base < cost.simulate_seconds(land, ["adam", "gd"], 1, 100)
    assert cost.basins_seconds(land, EIGHT, 20, 100) < cost.basins_seconds(land, EIGHT, 21, 100)
    assert cost.basins_seconds(land, EIGHT[:3], 20, 100) < cost.basins_seconds(land, EIGHT, 20, 100)
    assert cost.sweep_seconds(land, ["adam"], 10, 100) < cost.sweep_seconds(land, ["adam"], 11, 100)


def test_newton_costs_more_per_step_than_adam_and_a_line_search_adds_to_it():
    for starts in (1, 1000):
        newton = cost.simulate_seconds(ROSENBROCK, ["newton"], starts, 100)
        assert newton > cost.simulate_seconds(ROSENBROCK, ["adam"], starts, 100)
        searching = cost.simulate_seconds(
            ROSENBROCK, [("newton", {"line_search": True})], starts, 100
        )
        assert searching > newton
    # without a closed-form Hessian Newton pays autograd's
    assert cost.simulate_seconds(ACKLEY, ["newton"], 1000, 100) > cost.simulate_seconds(
        ROSENBROCK, ["newton"], 1000, 100
    )


def test_every_optimizer_declares_its_cost():
    for name in optimizers.available():
        c = optimizers.get(name).cost
        assert c.ops > 0 and c.per_run > 0
        assert bool(c.hessians) == ("hessian" in optimizers.get(name).needs)


def test_largest_within_is_the_largest_setting_that_fits():
    def estimate(g: int) -> float:
        return cost.basins_seconds(ROSENBROCK, EIGHT, g, 500)

    grid = cost.largest_within(estimate, 10.0, 10, 200)
    assert grid is not None and 10 <= grid < 200
    assert estimate(grid) <= 10.0 < estimate(grid + 1)  # one more row would not fit
    assert cost.largest_within(estimate, 1e6, 10, 200) == 200
    assert cost.largest_within(estimate, 1e-6, 10, 200) is None


def test_the_network_estimates_grow_with_the_work():
    kw = {"runs": 4, "batch": 1347, "n_train": 1347, "n_val": 450}
    t = ncost.training_seconds(23680, 1898, steps=100, **kw)
    assert t < ncost.training_seconds(23680, 1898, steps=101, **kw)
    assert t < ncost.training_seconds(47360, 1898, steps=100, **kw)
    assert ncost.evaluation_seconds(100, 21**2, 500) < ncost.evaluation_seconds(100, 31**2, 500)
    assert ncost.lanczos_seconds(100, 500, 30) < ncost.lanczos_seconds(100, 500, 100)


def test_forward_macs_counts_linear_and_convolution_layers():
    import landscapes.network as nw

    data = nw.load_dataset("digits")
    mlp = nw.build_model("mlp", data, widths=(32,))
    assert ncost.forward_macs(mlp, data.input_shape) == 64 * 32 + 32 * 10
    cnn = nw.build_model("cnn", data)
    # conv 1->8 on 8x8, conv 8->16 on 4x4 (3x3 kernels), linear 16*2*2 -> 10
    assert ncost.forward_macs(cnn, data.input_shape) == 9 * 8 * 64 + 9 * 8 * 16 * 16 + 64 * 10


def test_the_budget_is_a_server_setting(monkeypatch):
    monkeypatch.delenv(budget.ENV, raising=False)
    assert budget.budget_seconds() == 10.0
    monkeypatch.setenv(budget.ENV, "60")
    assert budget.budget_seconds() == 60.0
    monkeypatch.setenv(budget.ENV, "soon")
    assert budget.budget_seconds() == 10.0


# --- the pages ---------------------------------------------------------------------------------------


def axis_length(values) -> int:
    """Length of a figure's axis array: a list, or Plotly's typed-array encoding."""
    if isinstance(values, dict):
        return len(base64.b64decode(values["bdata"])) // np.dtype(values["dtype"]).itemsize
    return len(values)


def budget_warnings(at) -> list[str]:
    return [w.value for w in at.warning if "Over the compute budget" in w.value]


def test_the_costly_basins_link_computes_a_coarser_grid(monkeypatch):
    monkeypatch.setenv(budget.ENV, "3")
    at = open_page("views/basins.py", BASINS_LINK)
    (message,) = budget_warnings(at)
    state = BasinState.from_query(BASINS_LINK)[0]
    scene = state.scene
    args = (scene.landscape, scene.engine_params(), scene.optimizers)
    steps = at.slider(key="bs_steps").value  # the page's steps (the slider keeps at most 2000)
    grid, _ = diagnostic_compute.basins_setting(*args, 200, steps, 3.0, 10)
    assert grid < 200 and f"Showing {grid} x {grid} start points" in message
    assert "200 x 200 start points x 8 optimizers" in message
    (fig,) = chart_figures(at)
    heat = [t for t in fig["data"] if t.get("type") == "heatmap"]
    assert len(heat) == 8 and {axis_length(t["x"]) for t in heat} == {grid}
    assert at.slider(key="bs_grid").value == 200  # the link keeps what was asked


def test_the_costly_network_link_is_capped_or_refused_with_the_budget_message(monkeypatch):
    monkeypatch.setenv(budget.ENV, "10")
    asked = NetworkState.from_query(NETWORK_LINK)[0]
    plan = network_compute.plan(asked, 10.0)
    assert plan.asked > 10.0 and plan.changes
    at = open_page("views/network.py", NETWORK_LINK)
    (message,) = budget_warnings(at)
    assert "4 optimizers x 2000 steps on digits (cnn)" in message
    if plan.fits:
        assert plan.shown <= 10.0 and plan.state.steps < 2000
        assert f"{plan.state.steps} training steps" in message
        assert any(f"{plan.state.steps} steps, full batch" in m.value for m in at.markdown)
    assert at.slider(key="net_steps").value == 2000  # the link keeps what was asked


def test_the_default_network_view_fits_the_default_budget():
    assert network_compute.plan(NetworkState(), 10.0).changes == ()


# an explorer link far over a small budget: eight optimizers, Newton and BFGS among them, on a
# surface whose gradient and Hessian are autograd's
EXPLORER_LINK = {"v": "1", "ls": "ackley", "steps": "2000", "o": EIGHT}
SMALL_BUDGET = "2"


def test_the_costly_explorer_link_runs_fewer_steps(monkeypatch):

    monkeypatch.setenv(budget.ENV, SMALL_BUDGET)
    state = explorer_link.from_query(EXPLORER_LINK)[0]
    args = (state.landscape, state.engine_params(), state.optimizers)
    assert compute.runs_seconds(*args, 2000) > float(SMALL_BUDGET)
    steps = compute.runs_steps(*args, 2000, float(SMALL_BUDGET))
    assert 1 <= steps < 2000
    assert compute.runs_seconds(*args, steps) <= float(SMALL_BUDGET)
    at = new_app()
    for key, value in EXPLORER_LINK.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    (message,) = budget_warnings(at)
    assert "8 optimizers x 2000 steps" in message and f"Showing {steps} steps" in message
    # the computed runs have the capped steps; the slider and the link keep the asked ones
    assert at.session_state["steps_computed"] == steps
    player = chart_figures(at)[0]["layout"]["meta"]["player"]
    assert player["total"] == steps  # the player's timeline ends at the last step computed
    assert any(c.value.startswith(f"{steps} steps from") for c in at.caption)
    assert at.slider(key="steps").value == 2000
    written = written_query(at)
    assert written["steps"] in ("2000", ["2000"]) and "step" not in written
    compute.wait_for_prefetch()


def test_the_explorer_prefetch_stays_within_the_budget():
    from app.slider_values import likely_entries

    state = explorer_link.from_query(EXPLORER_LINK)[0]
    args = (state.landscape, state.engine_params())
    likely = likely_entries(state.optimizers)
    assert compute.runs_seconds(*args, likely, 2000) > 2.0
    kept = compute.prefetch_within(*args, likely, 2000, 2.0)
    assert kept == list(likely[: len(kept)]) and len(kept) < len(likely)
    assert compute.runs_seconds(*args, kept, 2000) <= 2.0
    # the likeliest first: each optimizer's nearest learning rates before the farther ones
    assert [e.name for e in likely[: len(state.optimizers)]] == [
        e.name for e in state.optimizers if "lr" in e.values
    ]
    assert compute.prefetch_within(*args, likely, 2000, 1e-9) == []


SWEEP_LINK = {"v": "1", "ls": "ackley", "steps": "2000", "nlr": "60", "o": EIGHT}


def test_the_costly_sweep_link_runs_fewer_steps_or_learning_rates(monkeypatch):
    from tests.test_diagnostic_pages import run_page

    monkeypatch.setenv(budget.ENV, SMALL_BUDGET)
    state = SweepState.from_query(SWEEP_LINK)[0]
    assert state.count == 60 and state.scene.steps == 2000
    args = (state.scene.landscape, state.scene.engine_params(), state.scene.optimizers)
    count, steps = diagnostic_compute.sweep_setting(
        *args, 60, 2000, float(SMALL_BUDGET), COUNT_BOUNDS[0]
    )
    assert (count, steps) != (60, 2000)
    assert diagnostic_compute.sweep_seconds(*args, count, steps) <= float(SMALL_BUDGET) or (
        count == COUNT_BOUNDS[0]
    )
    at = run_page("views/sweep.py", SWEEP_LINK)
    (message,) = budget_warnings(at)
    assert "8 optimizers x 60 learning rates x 2000 steps" in message
    assert any(f"{steps} steps, seed" in c.value for c in at.caption)
    assert any(f"at {count} learning rates" in c.value for c in at.caption)
    assert at.slider(key="sw_count").value == 60 and at.slider(key="sw_steps").value == 2000


def test_a_sweep_is_cut_to_fewer_learning_rates_when_fewer_steps_do_not_fit():
    land = ("ackley", (), tuple(explorer_link.from_query({"o": EIGHT})[0].optimizers))
    least, full = (diagnostic_compute.sweep_seconds(*land, c, 100) for c in (5, 60))
    limit = (least + full) / 2  # 100 steps fit only with fewer learning rates
    count, steps = diagnostic_compute.sweep_setting(*land, 60, 2000, limit, 5)
    assert steps == diagnostic_compute.SWEEP_MIN_STEPS and 5 <= count < 60
    assert diagnostic_compute.sweep_seconds(*land, count, steps) <= limit
    # below even that: the fewest learning rates and fewer steps
    count, steps = diagnostic_compute.sweep_setting(*land, 60, 2000, least / 2, 5)
    assert count == 5 and 1 <= steps < 100


SEARCH_LINK = {"v": "1", "ls": "ackley", "opt": "adam", "steps": "2000", "n": "100"}


def test_the_costly_search_link_runs_fewer_trials(monkeypatch):
    monkeypatch.setenv(budget.ENV, "20")
    asked = SearchState.from_query(SEARCH_LINK)[0]
    assert asked.budget == 100 and asked.steps == 2000
    res = search_compute.resolution_for(asked)
    assert search_compute.seconds(asked, res) > 20.0
    shown, shown_res = search_compute.setting(asked, res, 20.0)
    assert shown.budget < 100 or shown_res < res
    at = open_page("views/search.py", SEARCH_LINK)
    (message,) = budget_warnings(at)
    assert f"{len(asked.searchers)} searchers x 100 trials x 2000 steps" in message
    if shown.budget < 100:
        assert f"Showing {shown.budget} trials per searcher" in message
    assert at.number_input(key="s_budget").value == 100  # the widget keeps what was asked
    assert written_query(at).get("n") in ("100", ["100"])


@pytest.mark.parametrize(
    "page",
    ["views/explorer.py", "views/sweep.py", "views/basins.py", "views/search.py", "views/deep.py"],
)
def test_the_default_views_fit_the_default_budget(monkeypatch, page):
    monkeypatch.delenv(budget.ENV, raising=False)
    at = open_page(page)
    assert budget_warnings(at) == []


def test_the_default_views_are_estimated_within_the_default_budget():
    scene = AppState()
    args = (scene.landscape, scene.engine_params(), scene.optimizers)
    assert compute.runs_seconds(*args, scene.steps) <= budget.DEFAULT_S
    sweep = SweepState(scene)
    assert diagnostic_compute.sweep_seconds(*args, sweep.count, scene.steps) <= budget.DEFAULT_S
    basins = BasinState(scene)
    assert diagnostic_compute.basins_seconds(*args, basins.grid, scene.steps) <= budget.DEFAULT_S
    search = SearchState()
    assert search_compute.seconds(search, search_compute.RESOLUTION) <= budget.DEFAULT_S
