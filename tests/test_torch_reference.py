"""The batched update rules against torch.optim, step for step, in float64.

Every configuration runs in one batched ``simulate`` call with several starts; each run is then
replayed the usual way (torch.optim on one 2-element tensor, one step at a time) and the two
trajectories must agree to 1e-9 over 300 steps (where the dynamics amplify rounding: over the
steps where it stays bounded, then in where and when the run ends).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from trajectories import assert_same_run

import optimizers
from landscapes.base import Landscape, Minimum
from optimizers import Schedule

STEPS = 300
TOL = 1e-9


@pytest.fixture(autouse=True)
def float64_torch():
    """torch.optim keeps scalar state (step counts, NAdam's mu product) in the default dtype:
    float64 throughout makes the reference a float64 computation."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def _surface(key, fn, domain, minima):
    return Landscape(
        key=key, name=key, group="classic", fn=fn, domain=domain, start=(0.0, 0.0), minima=minima
    )


ROSENBROCK = _surface(
    "rosenbrock",
    lambda p: (1 - p[..., 0]) ** 2 + 100 * (p[..., 1] - p[..., 0] ** 2) ** 2,
    ((-2.0, 2.0), (-1.0, 3.0)),
    (Minimum(1.0, 1.0, 0.0),),
)
HIMMELBLAU = _surface(
    "himmelblau",
    lambda p: (p[..., 0] ** 2 + p[..., 1] - 11) ** 2 + (p[..., 0] + p[..., 1] ** 2 - 7) ** 2,
    ((-5.0, 5.0), (-5.0, 5.0)),
    (Minimum(3.0, 2.0, 0.0),),
)
_C, _S = math.cos(0.5), math.sin(0.5)
QUADRATIC = _surface(
    "quadratic",
    lambda p: (
        0.5
        * (
            10.0 * (_C * p[..., 0] + _S * p[..., 1]) ** 2
            + 0.5 * (-_S * p[..., 0] + _C * p[..., 1]) ** 2
        )
    ),
    ((-3.0, 3.0), (-3.0, 3.0)),
    (Minimum(0.0, 0.0, 0.0),),
)

SURFACES = {
    "rosenbrock": (ROSENBROCK, [[-1.5, 2.0], [0.5, -0.5]]),
    "himmelblau": (HIMMELBLAU, [[0.0, 0.0], [-1.0, 4.0]]),
    "quadratic": (QUADRATIC, [[2.0, -2.5], [-1.0, 1.5]]),
}

# (our spec, hyperparameters) for each surface's scale of learning rates; a small scale for
# Rosenbrock, whose curvature is 1000x Himmelblau's.
CONFIGS = [
    ("gd", {"lr": 3e-4}),
    ("sgd", {"lr": 3e-4, "weight_decay": 0.01}),  # no noise: torch's defaults
    ("momentum", {"lr": 2e-4, "momentum": 0.9}),
    ("momentum", {"lr": 2e-4, "momentum": 0.8, "dampening": 0.3}),
    ("nesterov", {"lr": 2e-4, "momentum": 0.9}),
    ("adagrad", {"lr": 0.1}),
    (
        "adagrad",
        {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1, "weight_decay": 0.1},
    ),
    ("rmsprop", {"lr": 1e-3}),
    ("rmsprop", {"lr": 1e-3, "centered": True, "momentum": 0.5, "weight_decay": 0.01}),
    ("adadelta", {"lr": 1.0}),
    ("adadelta", {"lr": 0.5, "rho": 0.95, "weight_decay": 0.01}),
    ("adam", {"lr": 0.01}),
    ("adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1}),
    (
        "adam",
        {
            "lr": 0.01,
            "beta1": 0.8,
            "beta2": 0.99,
            "decoupled_weight_decay": True,
            "weight_decay": 0.1,
        },
    ),
    ("adamw", {"lr": 0.01}),
    ("nadam", {"lr": 0.01}),
    ("nadam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("radam", {"lr": 0.01}),
    ("radam", {"lr": 0.01, "weight_decay": 0.05}),
    ("adamax", {"lr": 0.01}),
    ("adamax", {"lr": 0.02, "beta1": 0.8, "weight_decay": 0.01}),
    ("lbfgs", {"lr": 0.5, "tolerance_grad": 0.0, "tolerance_change": 0.0}),
    ("lbfgs", {"lr": 0.3, "history_size": 3}),
]

# Runs whose dynamics amplify rounding: a difference of one ulp (libm's pow against a vectorised
# one, the order of a sum, another CPU's kernels) grows past 1e-9 within 300 steps, so ours and
# torch.optim agree to 1e-9 there only while they round alike. Each is compared step for step
# over its first `horizon` steps, then by where it ends (within `end_tol`) and when it settles.
# Measured by moving the start by 1 to 5 ulps (the test checks the other runs stay insensitive):
# - fixed-step L-BFGS down Rosenbrock's curved valley from (-1.5, 2), both configurations: 1e-13
#   at step 25, past 1e-12 from step 27 to 37, past 1e-9 from step 40 to 55, up to 5e-6, then both
#   land on (1, 1). With history_size 3 torch's tolerance_change (1e-9) stops the run ~5e-6 short
#   of the minimum, at a point the rounding chooses: the ends agree within 1e-5.
# - Adadelta at lr 1 from (-1.5, 2): 1e-16 to step 134, then past 1e-9 within 8 steps and 2e-3 to
#   5e-3 at step 300, still crawling along the valley: the ends agree within 0.05.
SENSITIVE = {
    ("lbfgs", 0.5, "rosenbrock", 0): (25, 1e-5),  # (horizon, end_tol)
    ("lbfgs", 0.3, "rosenbrock", 0): (25, 1e-5),
    ("adadelta", 1.0, "rosenbrock", 0): (120, 0.05),
}
# How far one ulp at the start may carry in a run compared to TOL over all its steps: past this,
# the comparison depends on the two computations rounding alike, and the run belongs in SENSITIVE.
INSENSITIVE = TOL / 100

_LR_SCALE = {"rosenbrock": 1.0, "himmelblau": 3.0, "quadratic": 10.0}
_FIRST_ORDER_SCALED = {"gd", "sgd", "momentum", "nesterov"}


def _scaled(name: str, hp: dict, surface: str) -> dict:
    hp = dict(hp)
    if name in _FIRST_ORDER_SCALED:
        hp["lr"] *= _LR_SCALE[surface]
    return hp


def torch_optimizer(name: str, hp: dict, param: torch.Tensor) -> torch.optim.Optimizer:
    """The torch.optim object equivalent to one of our specs (all values given explicitly)."""
    spec = optimizers.get(name).resolve(hp)
    betas = (spec.get("beta1"), spec.get("beta2"))
    if name in ("gd", "sgd", "momentum", "nesterov"):
        return torch.optim.SGD(
            [param],
            lr=spec["lr"],
            momentum=spec["momentum"],
            dampening=spec["dampening"],
            weight_decay=spec["weight_decay"],
            nesterov=spec["nesterov"],
            foreach=False,
        )
    if name == "adagrad":
        return torch.optim.Adagrad(
            [param],
            lr=spec["lr"],
            lr_decay=spec["lr_decay"],
            weight_decay=spec["weight_decay"],
            eps=spec["eps"],
            initial_accumulator_value=spec["initial_accumulator_value"],
            foreach=False,
        )
    if name == "rmsprop":
        return torch.optim.RMSprop(
            [param],
            lr=spec["lr"],
            alpha=spec["alpha"],
            eps=spec["eps"],
            weight_decay=spec["weight_decay"],
            momentum=spec["momentum"],
            centered=spec["centered"],
            foreach=False,
        )
    if name == "adadelta":
        return torch.optim.Adadelta(
            [param],
            lr=spec["lr"],
            rho=spec["rho"],
            eps=spec["eps"],
            weight_decay=spec["weight_decay"],
            foreach=False,
        )
    if name in ("adam", "adamw"):
        cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
        extra = (
            {} if name == "adamw" else {"decoupled_weight_decay": spec["decoupled_weight_decay"]}
        )
        return cls(
            [param],
            lr=spec["lr"],
            betas=betas,
            eps=spec["eps"],
            weight_decay=spec["weight_decay"],
            amsgrad=spec["amsgrad"],
            foreach=False,
            **extra,
        )
    if name == "nadam":
        return torch.optim.NAdam(
            [param],
            lr=spec["lr"],
            betas=betas,
            eps=spec["eps"],
            weight_decay=spec["weight_decay"],
            momentum_decay=spec["momentum_decay"],
            decoupled_weight_decay=spec["decoupled_weight_decay"],
            foreach=False,
        )
    if name == "radam":
        return torch.optim.RAdam(
            [param],
            lr=spec["lr"],
            betas=betas,
            eps=spec["eps"],
            weight_decay=spec["weight_decay"],
            decoupled_weight_decay=spec["decoupled_weight_decay"],
            foreach=False,
        )
    if name == "adamax":
        return torch.optim.Adamax(
            [param],
            lr=spec["lr"],
            betas=betas,
            eps=spec["eps"],
            weight_decay=spec["weight_decay"],
            foreach=False,
        )
    if name == "lbfgs":
        return torch.optim.LBFGS(
            [param],
            lr=spec["lr"],
            max_iter=1,
            history_size=spec["history_size"],
            tolerance_grad=spec["tolerance_grad"],
            tolerance_change=spec["tolerance_change"],
        )
    raise KeyError(name)


def torch_trajectory(fn, name, hp, start, steps=STEPS, *, schedule=None, clip_norm=0.0):
    """Positions (steps+1, 2) of the plain torch.optim loop."""
    x = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = torch_optimizer(name, hp, x)
    sched = schedule(opt) if schedule else None
    path = [x.detach().clone()]

    def closure():
        opt.zero_grad()
        loss = fn(x)
        loss.backward()
        if clip_norm:
            torch.nn.utils.clip_grad_norm_([x], clip_norm)
        return loss

    for _ in range(steps):
        opt.step(closure) if name == "lbfgs" else (closure(), opt.step())
        if sched:
            sched.step()
        path.append(x.detach().clone())
    return torch.stack(path).numpy()


@pytest.mark.parametrize("surface", list(SURFACES))
def test_batched_rules_match_torch_optim(surface):
    land, starts = SURFACES[surface]
    specs = [(n, _scaled(n, hp, surface)) for n, hp in CONFIGS]
    result = optimizers.simulate(land, specs, starts=starts, steps=STEPS, device="cpu")
    # the same runs from starts one ulp away: how much rounding each run's dynamics amplify
    nudged = np.nextafter(np.asarray(starts, dtype=np.float64), np.inf)
    twin = optimizers.simulate(land, specs, starts=nudged, steps=STEPS, device="cpu").positions
    spread = np.abs(twin - result.positions).max(-1)  # (spec, start, step)
    worst = {}
    for i, (name, hp) in enumerate(specs):
        for j, start in enumerate(starts):
            ref = torch_trajectory(land.fn, name, hp, start)
            assert np.isfinite(ref).all(), f"reference run {name} {hp} diverged on {surface}"
            ours = result.positions[i, j]
            sensitive = SENSITIVE.get((name, hp["lr"], surface, j))
            if sensitive:
                horizon, end_tol = sensitive
                assert spread[i, j, : horizon + 1].max() <= INSENSITIVE, (name, hp, "horizon")
                assert_same_run(
                    ours, ref, horizon=horizon, tol=TOL, end_tol=end_tol, what=f"{name} {hp}"
                )
                continue
            assert spread[i, j].max() <= INSENSITIVE, (
                f"{name} {hp} from start {j} amplifies rounding ({spread[i, j].max():.1e} from one"
                " ulp): list it in SENSITIVE with the horizon where the spread stays small"
            )
            worst[f"{name} {hp} start {j}"] = float(np.abs(ours - ref).max())
            # the run actually moved: a frozen trajectory would agree trivially at step 0 only
            assert np.abs(ref[-1] - ref[0]).max() > 1e-3
    bad = {k: v for k, v in worst.items() if not v <= TOL}
    assert not bad, f"deviation from torch.optim above {TOL}: {bad}"


def test_default_hyperparameters_are_torch_defaults():
    for name, cls, skip in [
        ("adam", torch.optim.Adam, ()),
        ("adamw", torch.optim.AdamW, ()),
        ("nadam", torch.optim.NAdam, ()),
        ("radam", torch.optim.RAdam, ()),
        ("adamax", torch.optim.Adamax, ()),
        ("adagrad", torch.optim.Adagrad, ()),
        ("rmsprop", torch.optim.RMSprop, ()),
        ("adadelta", torch.optim.Adadelta, ()),
        ("sgd", torch.optim.SGD, ()),
        ("lbfgs", torch.optim.LBFGS, ("history_size",)),
    ]:
        torch_defaults = cls([torch.zeros(2, requires_grad=True)]).defaults
        ours = optimizers.get(name).defaults
        for key, value in ours.items():
            if key in skip:
                continue
            if key in ("beta1", "beta2"):
                assert value == torch_defaults["betas"][int(key[-1]) - 1], (name, key)
            elif key in torch_defaults:
                assert value == torch_defaults[key], (name, key, value, torch_defaults[key])


SCHEDULES = [
    (
        Schedule("step", step_size=40, gamma=0.5),
        lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=40, gamma=0.5),
    ),
    (
        Schedule("exponential", gamma=0.99),
        lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.99),
    ),
    (
        Schedule("cosine", t_max=150, eta_min=1e-3),
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=150, eta_min=1e-3),
    ),
    (
        Schedule("warmup", warmup=30, start_factor=0.1),
        lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=30),
    ),
]


@pytest.mark.parametrize("schedule,make", SCHEDULES, ids=[s.kind for s, _ in SCHEDULES])
def test_schedules_match_torch_schedulers(schedule, make):
    specs = [
        ("momentum", {"lr": 0.01, "schedule": schedule}),
        ("adam", {"lr": 0.05, "schedule": schedule}),
    ]
    result = optimizers.simulate(HIMMELBLAU, specs, starts=[[0.0, 0.0]], steps=STEPS)
    for i, (name, hp) in enumerate(specs):
        hp = {k: v for k, v in hp.items() if k != "schedule"}
        ref = torch_trajectory(HIMMELBLAU.fn, name, hp, [0.0, 0.0], schedule=make)
        assert np.abs(result.positions[i, 0] - ref).max() <= TOL


def test_gradient_clipping_matches_clip_grad_norm():
    specs = [("gd", {"lr": 1e-3, "clip_norm": 5.0}), ("adam", {"lr": 0.01, "clip_norm": 1.0})]
    result = optimizers.simulate(ROSENBROCK, specs, starts=[[-1.5, 2.0]], steps=STEPS)
    for i, (name, hp) in enumerate(specs):
        plain = {k: v for k, v in hp.items() if k != "clip_norm"}
        ref = torch_trajectory(ROSENBROCK.fn, name, plain, [-1.5, 2.0], clip_norm=hp["clip_norm"])
        assert np.abs(result.positions[i, 0] - ref).max() <= TOL
    # clipping changed the run: without it gradient descent at lr 1e-3 takes a huge first step
    free = optimizers.simulate(ROSENBROCK, [("gd", {"lr": 1e-3})], starts=[[-1.5, 2.0]], steps=1)
    assert np.linalg.norm(free.updates[0, 0, 0]) > 10 * np.linalg.norm(result.updates[0, 0, 0])


def test_uniform_batches_take_the_same_path_as_mixed_ones():
    """A rule skips work no run needs when a batch shares a switch (no momentum anywhere, no
    AMSGrad); alone, each configuration must give the trajectory the mixed batch gives."""
    land, starts = SURFACES["himmelblau"]
    specs = [(n, _scaled(n, hp, "himmelblau")) for n, hp in CONFIGS]
    mixed = optimizers.simulate(land, specs, starts=starts, steps=100)
    for i, spec in enumerate(specs):
        alone = optimizers.simulate(land, [spec], starts=starts, steps=100)
        # to the last bit but for torch's vectorised pow: with betas that differ between runs
        # the bias corrections are per-run tensors, and pow may round an element differently
        # depending on its place in the batch (shared betas are Python numbers: exact)
        np.testing.assert_allclose(
            alone.positions[0], mixed.positions[i], rtol=0, atol=1e-13, err_msg=str(spec)
        )


# torch.optim's own names and defaults, given to both sides exactly as written: nothing of ours
# (our defaults, our beta1/beta2 spelling) on the torch side. Only the learning rate of the slow
# defaults is raised where 300 steps would barely move.
TORCH_NAMED = [
    ("sgd", torch.optim.SGD, {}),
    ("sgd", torch.optim.SGD, {"lr": 0.003}),  # the example: no gradient noise
    ("sgd", torch.optim.SGD, {"lr": 0.003, "momentum": 0.9, "nesterov": True}),
    ("adagrad", torch.optim.Adagrad, {}),
    ("rmsprop", torch.optim.RMSprop, {}),
    ("adadelta", torch.optim.Adadelta, {}),
    ("adam", torch.optim.Adam, {}),
    ("adam", torch.optim.Adam, {"lr": 0.01, "betas": (0.8, 0.95)}),
    ("adam", torch.optim.Adam, {"lr": 0.01, "betas": [0.5, 0.9], "amsgrad": True}),
    ("adamw", torch.optim.AdamW, {}),
    ("adamw", torch.optim.AdamW, {"lr": 0.01, "betas": (0.85, 0.99), "weight_decay": 0.1}),
    ("nadam", torch.optim.NAdam, {}),
    ("nadam", torch.optim.NAdam, {"lr": 0.01, "betas": (0.8, 0.95)}),
    ("radam", torch.optim.RAdam, {}),
    ("radam", torch.optim.RAdam, {"lr": 0.01, "betas": (0.8, 0.95)}),
    ("adamax", torch.optim.Adamax, {}),
    ("adamax", torch.optim.Adamax, {"lr": 0.01, "betas": (0.8, 0.95)}),
]


def plain_torch_run(fn, cls, kwargs, start, steps=STEPS) -> np.ndarray:
    """Positions (steps+1, 2) of ``cls([x], **kwargs)``: torch's defaults for the rest."""
    x = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = cls([x], foreach=False, **kwargs)
    path = [x.detach().clone()]
    for _ in range(steps):
        opt.zero_grad()
        fn(x).backward()
        opt.step()
        path.append(x.detach().clone())
    return torch.stack(path).numpy()


@pytest.mark.parametrize(
    "name,cls,kwargs", TORCH_NAMED, ids=[f"{n}-{sorted(k)}" for n, _, k in TORCH_NAMED]
)
def test_torch_names_and_defaults_behave_as_torch(name, cls, kwargs):
    land = HIMMELBLAU
    start = [0.0, 0.0]
    ours = optimizers.simulate(land, [(name, kwargs)], starts=[start], steps=STEPS).positions
    ref = plain_torch_run(land.fn, cls, kwargs, start)
    assert np.abs(ref[-1] - ref[0]).max() > 1e-3  # it moved
    assert np.abs(ours[0, 0] - ref).max() <= TOL


def test_sgd_adds_no_noise_unless_asked():
    start = [[0.0, 0.0]]
    plain = optimizers.simulate(HIMMELBLAU, [("sgd", {"lr": 0.003})], starts=start, steps=50)
    again = optimizers.simulate(
        HIMMELBLAU, [("sgd", {"lr": 0.003})], starts=start, steps=50, seed=9
    )
    np.testing.assert_array_equal(plain.positions, again.positions)  # the seed plays no part
    noisy = optimizers.simulate(
        HIMMELBLAU, [("sgd", {"lr": 0.003, "noise": 1.0})], starts=start, steps=50
    )
    assert np.abs(noisy.positions - plain.positions).max() > 1e-3


def test_betas_and_beta1_beta2_are_the_same_setting():
    land = HIMMELBLAU
    a = optimizers.simulate(land, [("nadam", {"lr": 0.01, "betas": (0.7, 0.9)})], steps=60)
    b = optimizers.simulate(land, [("nadam", {"lr": 0.01, "beta1": 0.7, "beta2": 0.9})], steps=60)
    np.testing.assert_array_equal(a.positions, b.positions)
    assert optimizers.get("adam").resolve({"betas": (0.7, 0.9)})["beta2"] == 0.9


def test_a_sweep_of_betas_pairs():
    pairs = np.array([[0.8, 0.9], [0.9, 0.999]])
    swept = optimizers.simulate(HIMMELBLAU, [("adam", {"lr": 0.05, "betas": pairs})], steps=40)
    assert len(swept.specs) == 2
    for i, (b1, b2) in enumerate(pairs):
        one = optimizers.simulate(
            HIMMELBLAU, [("adam", {"lr": 0.05, "beta1": b1, "beta2": b2})], steps=40
        )
        np.testing.assert_allclose(swept.positions[i], one.positions[0], rtol=0, atol=1e-13)


@pytest.mark.parametrize(
    "spec,needle",
    [
        (("adam", {"betas": (0.8, 0.9), "beta1": 0.8}), "not both"),
        (("adamw", {"betas": (0.8, 0.9), "beta2": 0.9}), "not both"),
        (("adam", {"betas": 0.9}), "must be a pair"),
        (("adam", {"betas": (0.8, 0.9, 0.99)}), "must be a pair"),
        (("adam", {"betas": ("a", "b")}), "must be a pair"),
        (("adam", {"betas": (0.8, 1.5)}), "'beta2' must be in"),
        (("sgd", {"betas": (0.8, 0.9)}), "unknown hyperparameter 'betas'"),
    ],
)
def test_bad_betas_are_clear_errors(spec, needle):
    with pytest.raises(ValueError, match=needle):
        optimizers.simulate(HIMMELBLAU, [spec], steps=1)
    name, hp = spec
    with pytest.raises(ValueError, match=needle):
        optimizers.get(name).resolve(hp)
