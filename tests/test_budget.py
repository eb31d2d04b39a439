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
from app import budget, diagnostic_compute, network_compute
from app.diagnostic_state import BasinState
from app.network_state import NetworkState
from landscapes.network import cost as ncost
from optimizers import cost
from tests.apptest_helpers import chart_figures, open_page

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
