"""The rules added after torch.optim's classic set: batched runs equal single runs, evaluation
counts include their extra work, and their declarations are complete (notes, references, costs).
Their trajectories against the reference packages are in test_new_optimizer_references.py."""

from __future__ import annotations

import numpy as np
import pytest

import landscapes
import optimizers
from optimizers import cost

NEW = [
    "rprop",
    "asgd",
    "adafactor",
    "muon",
    "lion",
    "schedulefree_sgd",
    "schedulefree_adamw",
    "prodigy",
    "sam",
    "adabelief",
    "lamb",
    "sophiah",
    "adan",
]
# a second setting of each, with switches away from their defaults, to batch with the first
VARIANTS = {
    "rprop": {"lr": 0.05, "etaplus": 1.5},
    "asgd": {"lr": 2e-3, "lambd": 0.01, "t0": 20},
    "adafactor": {"lr": 0.1, "weight_decay": 0.1},
    "muon": {"lr": 0.05, "nesterov": False, "ns_steps": 3},
    "lion": {"lr": 0.02, "beta1": 0.8, "weight_decay": 0.1},
    "schedulefree_sgd": {"lr": 2e-3, "warmup_steps": 10},
    "schedulefree_adamw": {"lr": 0.05, "r": 1.0},
    "prodigy": {"lr": 0.5, "use_bias_correction": True},
    "sam": {"lr": 1e-3, "momentum": 0.9, "adaptive": True},
    "adabelief": {"lr": 0.02, "rectify": True},
    "lamb": {"lr": 0.02, "adam": True},
    "sophiah": {"lr": 0.05, "update_period": 3, "num_samples": 2, "seed": 3},
    "adan": {"lr": 0.02, "weight_decouple": True, "weight_decay": 0.05},
}
BASE = {
    "rprop": {"lr": 0.01},
    "asgd": {"lr": 1e-3},
    "adafactor": {"lr": 0.05},
    "muon": {"lr": 0.02},
    "lion": {"lr": 0.01},
    "schedulefree_sgd": {"lr": 1e-3},
    "schedulefree_adamw": {"lr": 0.02},
    "prodigy": {},
    "sam": {"lr": 1e-3},
    "adabelief": {"lr": 0.01},
    "lamb": {"lr": 0.01},
    "sophiah": {"lr": 0.05},
    "adan": {"lr": 0.01},
}
STARTS = [[0.0, 0.0], [-1.0, 4.0], [2.5, -3.0]]


def test_every_new_optimizer_is_registered():
    assert set(NEW) <= set(optimizers.available())


def test_batched_runs_equal_single_runs():
    """All new optimizers, two settings each, three starts: one batched ``simulate`` against one
    call per (setting, start). The rules take per-run hyperparameter tensors in the batch and
    Python numbers alone; the fused kernels (``optimizers.ops``) round both alike."""
    land = landscapes.get("himmelblau")
    specs = [(n, BASE[n]) for n in NEW] + [(n, VARIANTS[n]) for n in NEW]
    batched = optimizers.simulate(land, specs, starts=STARTS, steps=150)
    worst = {}
    for i, spec in enumerate(specs):
        for j, start in enumerate(STARTS):
            alone = optimizers.simulate(land, [spec], starts=[start], steps=150)
            worst[f"{spec} start {j}"] = float(
                np.abs(alone.positions[0, 0] - batched.positions[i, j]).max()
            )
            assert np.abs(alone.positions[0, 0, -1] - alone.positions[0, 0, 0]).max() > 1e-3
    bad = {k: v for k, v in worst.items() if v > 1e-12}
    assert not bad, bad


def test_sam_takes_two_gradients_per_step():
    land = landscapes.get("himmelblau")
    steps = 40
    r = optimizers.simulate(land, ["sam", "sgd"], starts=STARTS, steps=steps)
    assert (r.evaluations["gradient"][0] == 2 * steps).all()
    assert (r.evaluations["function"][0] == 2 * steps).all()
    assert (r.evaluations["gradient"][1] == steps).all()
    # the cost model counts the second gradient
    one = cost.simulate_seconds(land, ["sgd"], 10_000, 300, record="final")
    two = cost.simulate_seconds(land, ["sam"], 10_000, 300, record="final")
    assert two > one


@pytest.mark.parametrize("period,expected", [(10, 4), (3, 14), (1, 40)])
def test_sophia_counts_its_hessian_estimates(period, expected):
    """One Hessian(-vector product) per run at steps 1, 1 + k, 1 + 2k, ... of 40."""
    land = landscapes.get("himmelblau")
    r = optimizers.simulate(land, [("sophiah", {"update_period": period})], starts=STARTS, steps=40)
    assert (r.evaluations["hessian"] == expected).all()
    assert (r.evaluations["gradient"] == 40).all()


def test_sophia_counts_hessians_per_run_in_a_mixed_batch():
    land = landscapes.get("himmelblau")
    specs = [("sophiah", {"update_period": 10}), ("sophiah", {"update_period": 3})]
    r = optimizers.simulate(land, specs, starts=STARTS, steps=40)
    assert (r.evaluations["hessian"][0] == 4).all() and (r.evaluations["hessian"][1] == 14).all()


def test_hutchinson_estimates_the_hessian_diagonal():
    """The mean of u * (H u) over many probes is diag(H) (E[u u^T] = I), for both probe laws."""
    import torch

    from optimizers.base import HParams
    from optimizers.sophia import hutchinson

    h = torch.tensor([[[3.0, 1.0], [1.0, -2.0]]], dtype=torch.float64)

    class Fixed:
        def hessian(self, params):
            return h.expand(params.shape[0], 2, 2)

        def count(self, kind, n):
            pass

    for rademacher in (False, True):
        samples = 64
        hp = HParams(
            {
                "seed": torch.tensor([[1.0]]),
                "num_samples": torch.tensor([[float(samples)]]),
                "rademacher": torch.tensor([[rademacher]]),
            }
        )
        est = torch.stack(
            [hutchinson(torch.zeros(1, 2, dtype=torch.float64), t, hp, Fixed()) for t in range(50)]
        ).mean(0)
        np.testing.assert_allclose(est[0].numpy(), [3.0, -2.0], atol=0.15)


def test_every_new_optimizer_has_a_note_a_reference_and_a_cost():
    for name in NEW:
        opt = optimizers.get(name)
        assert opt.description and opt.maths and opt.reference, name
        assert opt.cost.ops > 0 and opt.cost.per_run > 0, name
        assert opt.stability != "none", name
        for h in opt.hyperparams:
            assert h.description, (name, h.name)


def test_lion_steps_have_the_same_length_on_every_axis():
    """sign(c) is +-1 per axis: each step moves every coordinate by exactly lr."""
    land = landscapes.get("rosenbrock")
    r = optimizers.simulate(land, [("lion", {"lr": 0.01})], starts=[[-1.5, 2.0]], steps=50)
    np.testing.assert_allclose(np.abs(r.updates[0, 0]), 0.01, rtol=1e-12)


def test_muon_on_a_point_is_normalised_momentum():
    """A 1 x 2 matrix orthogonalised is normalised: every Muon step on a 2-D surface has the same
    length lr * s (s from the Newton-Schulz polynomial, to bfloat16 accuracy), in the direction of
    the Nesterov momentum."""
    land = landscapes.get("rosenbrock")
    lr = 0.01
    r = optimizers.simulate(
        land, [("muon", {"lr": lr, "weight_decay": 0.0})], starts=[[-1.5, 2.0]], steps=60
    )
    lengths = np.linalg.norm(r.updates[0, 0], axis=-1) / lr
    a, b, c = optimizers.muon.NS_COEFFICIENTS
    s = 1.0
    for _ in range(5):
        s = a * s + b * s**3 + c * s**5
    assert s == pytest.approx(0.6964, abs=1e-4)
    # bfloat16 (8 bits of mantissa) through five steps of the polynomial: a few percent
    np.testing.assert_allclose(lengths, s, rtol=0.04)
    assert lengths.std() > 0  # (the rounding differs from step to step)
    # the direction: the Nesterov momentum, recomputed from the recorded gradients
    g = r.gradients[0, 0, :-1]
    buf = np.zeros(2)
    for t in range(60):
        buf = buf + (g[t] - buf) * (1 - 0.95)
        direction = g[t] + (buf - g[t]) * 0.95
        cos = -r.updates[0, 0, t] @ direction / np.linalg.norm(r.updates[0, 0, t])
        assert cos / np.linalg.norm(direction) > 0.99


def test_the_optimizers_page_names_every_new_optimizers_reference_implementation():
    from pathlib import Path

    page = (Path(__file__).parent.parent / "docs" / "optimizers.md").read_text()
    for name in NEW:
        section = page.split(f"\n## {name}\n")[1].split("\n## ")[0]
        line = next(row for row in section.splitlines() if row.startswith("- Reference impl"))
        opt = optimizers.get(name)
        assert (opt.torch_name or opt.reference_code.split(" (")[0]) in line, name


def test_sign_and_schedule_free_stability_verdicts():
    from studies import analysis

    for name in ("rprop", "lion", "muon"):
        v = analysis.stability_verdict(name, {"lr": 0.5}, [1.0, 1e4], effective_lr=[0.5, 0.5])
        assert v.method.startswith("sign-based") and not v.overshoots
        assert "does not depend on the gradient's size" in v.text
    # schedule-free SGD: gradient descent with the step the gradient enters with
    stable = analysis.stability_verdict(
        "schedulefree_sgd", {"lr": 1.0}, [1.0, 10.0], effective_lr=[0.15, 0.15]
    )
    assert stable.critical == pytest.approx(0.2) and not stable.overshoots
    unstable = analysis.stability_verdict(
        "schedulefree_sgd", {"lr": 1.0}, [1.0, 10.0], effective_lr=[0.25, 0.25]
    )
    assert unstable.overshoots and unstable.method.startswith("schedule-free")
    # the recorded multiplier is lr (1 - beta (1 - c_t)): lr at the first step, then towards
    # lr (1 - beta)
    land = landscapes.get("himmelblau")
    r = optimizers.simulate(land, [("schedulefree_sgd", {"lr": 0.01})], steps=200)
    eff = r.effective_lr[0, 0, :, 0]
    assert eff[0] == pytest.approx(0.01) and eff[-1] == pytest.approx(0.01 * (1 - 0.9 * 199 / 200))


def test_every_new_optimizer_is_selectable_on_every_page():
    """The explorer offers each one to add; a scene of all thirteen runs in the explorer, the
    learning-rate sweep and the basins, each run named in the link the page writes; the
    search page offers each one for a surface problem."""
    from apptest_helpers import message_text, query_of, run_explorer, run_page

    from app.diagnostic_state import BasinState, SweepState
    from app.state import AppState, OptimizerEntry

    titles = {optimizers.get(name).title for name in NEW}
    explorer = run_explorer()
    assert titles <= set(explorer.selectbox(key="new_optimizer").options)
    scene = AppState(
        landscape="himmelblau",
        optimizers=tuple(OptimizerEntry.make(name) for name in NEW[:6]),
        steps=20,
    )
    rest = AppState(
        landscape="himmelblau",
        optimizers=tuple(OptimizerEntry.make(name) for name in NEW[6:]),
        steps=20,
    )
    for state in (scene, rest):
        names = [e.name for e in state.optimizers]
        for page, query in (
            ("views/explorer.py", state.to_query()),
            ("views/sweep.py", SweepState(state, count=10).to_query()),
            ("views/basins.py", BasinState(state, grid=10).to_query()),
        ):
            at = run_page(page, query)
            assert "unknown" not in message_text(at), (page, message_text(at))
            written = [o.split(",")[0] for o in query_of(at)["o"]]
            assert written == names, (page, written)
    search = run_page("views/search.py", {})
    assert titles <= set(search.selectbox(key="s_optimizer").options)
