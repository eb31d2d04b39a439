"""The rules added after torch.optim's classic set against their reference implementations,
step for step in float64: torch.optim (Rprop, ASGD, Adafactor, Muon), lion-pytorch, schedulefree,
prodigyopt and pytorch-optimizer (SAM, AdaBelief, LAMB, SophiaH, Adan).

Every configuration runs in one batched ``simulate`` call from several starts on three surfaces;
each run is replayed with the reference package on one 2-element tensor (Muon: a 1 x 2 matrix)
and the two paths must agree within 1e-8 over 200 steps. The reference packages are test
dependencies only (the ``test`` extra); the engine never imports them.
"""

from __future__ import annotations

import contextlib
from unittest import mock

import numpy as np
import pytest
import torch
from test_torch_reference import HIMMELBLAU, QUADRATIC, ROSENBROCK

import optimizers

STEPS = 200
TOL = 1e-8

SURFACES = {
    "rosenbrock": (ROSENBROCK, [[-1.5, 2.0], [0.5, -0.5], [1.3, 0.4]]),
    "himmelblau": (HIMMELBLAU, [[0.0, 0.0], [-1.0, 4.0], [2.5, -3.0]]),
    "quadratic": (QUADRATIC, [[2.0, -2.5], [-1.0, 1.5], [0.3, 2.2]]),
}


@pytest.fixture(autouse=True)
def float64_torch():
    """Reference packages keep scalar state in the default dtype: float64 throughout."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def _betas(spec: dict, *names: str) -> tuple[float, ...]:
    return tuple(spec[n] for n in names)


def reference(name: str, spec: dict, x: torch.Tensor):
    """The reference optimizer for one of our resolved specs (every value given explicitly)."""
    if name == "rprop":
        return torch.optim.Rprop(
            [x],
            lr=spec["lr"],
            etas=_betas(spec, "etaminus", "etaplus"),
            step_sizes=_betas(spec, "step_size_min", "step_size_max"),
            foreach=False,
        )
    if name == "asgd":
        return torch.optim.ASGD(
            [x],
            lr=spec["lr"],
            lambd=spec["lambd"],
            alpha=spec["alpha"],
            t0=spec["t0"],
            weight_decay=spec["weight_decay"],
            foreach=False,
        )
    if name == "adafactor":
        return torch.optim.Adafactor(
            [x],
            lr=spec["lr"],
            beta2_decay=spec["beta2_decay"],
            eps=(spec["eps1"], spec["eps2"]),
            d=spec["d"],
            weight_decay=spec["weight_decay"],
            foreach=False,
        )
    if name == "muon":
        return torch.optim.Muon(
            [x],
            lr=spec["lr"],
            weight_decay=spec["weight_decay"],
            momentum=spec["momentum"],
            nesterov=spec["nesterov"],
            eps=spec["eps"],
            ns_steps=int(spec["ns_steps"]),
        )
    if name == "lion":
        from lion_pytorch import Lion

        return Lion(
            [x],
            lr=spec["lr"],
            betas=_betas(spec, "beta1", "beta2"),
            weight_decay=spec["weight_decay"],
        )
    if name in ("schedulefree_sgd", "schedulefree_adamw"):
        import schedulefree

        common = {
            "lr": spec["lr"],
            "weight_decay": spec["weight_decay"],
            "warmup_steps": int(spec["warmup_steps"]),
            "r": spec["r"],
            "weight_lr_power": spec["weight_lr_power"],
        }
        if name == "schedulefree_sgd":
            opt = schedulefree.SGDScheduleFree([x], momentum=spec["momentum"], **common)
        else:
            opt = schedulefree.AdamWScheduleFree(
                [x], betas=_betas(spec, "beta1", "beta2"), eps=spec["eps"], **common
            )
        opt.train()
        return opt
    if name == "prodigy":
        from prodigyopt import Prodigy

        return Prodigy(
            [x],
            lr=spec["lr"],
            betas=_betas(spec, "beta1", "beta2"),
            beta3=None if spec["beta3"] == -1.0 else spec["beta3"],
            eps=spec["eps"],
            weight_decay=spec["weight_decay"],
            decouple=spec["decouple"],
            use_bias_correction=spec["use_bias_correction"],
            safeguard_warmup=spec["safeguard_warmup"],
            d0=spec["d0"],
            d_coef=spec["d_coef"],
            growth_rate=spec["growth_rate"] or float("inf"),
        )
    return _pytorch_optimizer_reference(name, spec, x)


def _pytorch_optimizer_reference(name: str, spec: dict, x: torch.Tensor):
    import pytorch_optimizer as po

    decay = {"weight_decay": spec["weight_decay"]}
    if name == "sam":
        return po.SAM(
            [x],
            torch.optim.SGD,
            rho=spec["rho"],
            adaptive=spec["adaptive"],
            perturb_eps=spec["perturb_eps"],
            lr=spec["lr"],
            momentum=spec["momentum"],
            dampening=spec["dampening"],
            nesterov=spec["nesterov"],
            **decay,
        )
    if name == "adabelief":
        return po.AdaBelief(
            [x],
            lr=spec["lr"],
            betas=_betas(spec, "beta1", "beta2"),
            weight_decouple=spec["weight_decouple"],
            fixed_decay=spec["fixed_decay"],
            rectify=spec["rectify"],
            n_sma_threshold=int(spec["n_sma_threshold"]),
            degenerated_to_sgd=spec["degenerated_to_sgd"],
            ams_bound=spec["ams_bound"],
            eps=spec["eps"],
            **decay,
        )
    if name == "lamb":
        return po.Lamb(
            [x],
            lr=spec["lr"],
            betas=_betas(spec, "beta1", "beta2"),
            weight_decouple=spec["weight_decouple"],
            fixed_decay=spec["fixed_decay"],
            grad_averaging=spec["grad_averaging"],
            adam=spec["adam"],
            eps=spec["eps"],
            **decay,
        )
    if name == "adan":
        return po.Adan(
            [x],
            lr=spec["lr"],
            betas=_betas(spec, "beta1", "beta2", "beta3"),
            weight_decouple=spec["weight_decouple"],
            eps=spec["eps"],
            **decay,
        )
    if name == "sophiah":
        return po.SophiaH(
            [x],
            lr=spec["lr"],
            betas=_betas(spec, "beta1", "beta2"),
            weight_decouple=spec["weight_decouple"],
            fixed_decay=spec["fixed_decay"],
            p=spec["p"],
            update_period=int(spec["update_period"]),
            num_samples=int(spec["num_samples"]),
            hessian_distribution="rademacher" if spec["rademacher"] else "gaussian",
            eps=spec["eps"],
            **decay,
        )
    raise KeyError(name)


@contextlib.contextmanager
def engine_probes(spec: dict, step: list[int]):
    """Hand SophiaH's Hutchinson estimator the engine's probe vectors: its ``randn_like`` (or
    ``randint_like``, for Rademacher probes) returns the i-th probe of the current step."""
    from optimizers.sophia import probe

    sample = [0]
    distribution = "rademacher" if spec["rademacher"] else "gaussian"

    def next_probe(p):
        u = probe(int(spec["seed"]), step[0], sample[0], p.numel(), distribution, p.dtype)
        sample[0] += 1
        return u.reshape(p.shape)

    def randint_like(p, low, high):
        assert (low, high) == (0, 2)
        return (next_probe(p) + 1.0) / 2.0  # the package maps it back to +-1 exactly

    with (
        mock.patch.object(torch, "randn_like", next_probe),
        mock.patch.object(torch, "randint_like", randint_like),
    ):
        yield sample


def reference_path(fn, name: str, spec: dict, start, steps: int = STEPS) -> np.ndarray:
    """Positions (steps + 1, 2) of the reference loop (Muon: on the point as a 1 x 2 matrix)."""
    x = torch.tensor([start] if name == "muon" else start, requires_grad=True)
    opt = reference(name, spec, x)
    path = [x.detach().reshape(2).clone()]

    def closure():
        opt.zero_grad()
        loss = fn(x.reshape(2))
        loss.backward()
        return loss

    step = [0]
    probes = engine_probes(spec, step) if name == "sophiah" else contextlib.nullcontext([0])
    with probes as sample:
        for t in range(1, steps + 1):
            step[0], sample[0] = t, 0
            if name == "sam":
                closure()
                opt.step(closure)
            else:
                opt.zero_grad()
                fn(x.reshape(2)).backward(create_graph=name == "sophiah")
                opt.step()
            path.append(x.detach().reshape(2).clone())
    return torch.stack(path).numpy()


# (name, hyperparameters): defaults and a variant with the options switched, at learning rates
# that move on all three surfaces without leaving them
CONFIGS = [
    ("rprop", {"lr": 0.01}),
    ("rprop", {"lr": 0.05, "etaminus": 0.3, "etaplus": 1.5, "step_size_max": 0.5}),
    ("asgd", {"lr": 1e-3}),
    ("asgd", {"lr": 2e-3, "lambd": 0.01, "alpha": 0.5, "t0": 50, "weight_decay": 0.01}),
    ("adafactor", {"lr": 0.05}),
    ("adafactor", {"lr": 0.1, "beta2_decay": -0.5, "eps2": 0.05, "d": 2.0, "weight_decay": 0.1}),
    ("muon", {"lr": 0.02}),
    ("muon", {"lr": 0.05, "momentum": 0.8, "nesterov": False, "weight_decay": 0.0}),
    ("lion", {"lr": 0.01}),
    ("lion", {"lr": 0.02, "beta1": 0.8, "beta2": 0.9, "weight_decay": 0.1}),
    ("schedulefree_sgd", {"lr": 1e-3}),
    ("schedulefree_sgd", {"lr": 5e-4, "momentum": 0.8, "warmup_steps": 20, "weight_decay": 0.01}),
    ("schedulefree_adamw", {"lr": 0.02}),
    (
        "schedulefree_adamw",
        {"lr": 0.05, "beta1": 0.8, "warmup_steps": 30, "r": 1.0, "weight_decay": 0.1},
    ),
    ("prodigy", {"lr": 1.0}),
    (
        "prodigy",
        {
            "lr": 0.5,
            "beta3": 0.9,
            "weight_decay": 0.01,
            "use_bias_correction": True,
            "safeguard_warmup": True,
            "d0": 1e-4,
            "growth_rate": 1.05,
        },
    ),
    ("prodigy", {"lr": 1.0, "weight_decay": 0.05, "decouple": False, "d_coef": 0.5}),
    ("sam", {"lr": 3e-4}),
    ("sam", {"lr": 2e-4, "momentum": 0.9, "rho": 0.1, "adaptive": True, "weight_decay": 0.01}),
    ("adabelief", {"lr": 0.01}),
    ("adabelief", {"lr": 0.02, "weight_decay": 0.1, "ams_bound": True}),
    ("adabelief", {"lr": 1e-3, "rectify": True, "weight_decay": 0.01, "weight_decouple": False}),
    (
        "adabelief",
        {
            "lr": 0.01,
            "rectify": True,
            "degenerated_to_sgd": False,
            "fixed_decay": True,
            "weight_decay": 0.01,
        },
    ),
    ("lamb", {"lr": 0.01}),
    ("lamb", {"lr": 0.02, "weight_decay": 0.1, "grad_averaging": False}),
    ("lamb", {"lr": 0.02, "weight_decay": 0.05, "weight_decouple": False, "adam": True}),
    ("adan", {"lr": 0.01}),
    ("adan", {"lr": 0.02, "beta1": 0.9, "weight_decay": 0.05}),
    ("adan", {"lr": 0.02, "weight_decay": 0.05, "weight_decouple": True}),
    ("sophiah", {"lr": 0.05}),
    (
        "sophiah",
        {
            "lr": 0.05,
            "p": 0.05,
            "update_period": 3,
            "num_samples": 2,
            "seed": 7,
            "weight_decay": 0.01,
        },
    ),
    (
        "sophiah",
        {
            "lr": 0.05,
            "p": 0.1,
            "update_period": 1,
            "rademacher": True,
            "weight_decouple": False,
            "weight_decay": 0.01,
        },
    ),
]
_LR_SCALE = {"rosenbrock": 1.0, "himmelblau": 3.0, "quadratic": 10.0}
_GRADIENT_SCALED = {"asgd", "schedulefree_sgd", "sam"}  # steps proportional to the gradient


def _scaled(name: str, hp: dict, surface: str) -> dict:
    hp = dict(hp)
    if name in _GRADIENT_SCALED:
        hp["lr"] *= _LR_SCALE[surface]
    return hp


def deviations(names: set[str], surface: str) -> dict[str, float]:
    """Largest deviation from the reference of every configuration of ``names`` on a surface."""
    land, starts = SURFACES[surface]
    specs = [(n, _scaled(n, hp, surface)) for n, hp in CONFIGS if n in names]
    result = optimizers.simulate(land, specs, starts=starts, steps=STEPS, device="cpu")
    worst = {}
    for i, (name, hp) in enumerate(specs):
        spec = optimizers.get(name).resolve(hp)
        for j, start in enumerate(starts):
            ref = reference_path(land.fn, name, spec, start)
            assert np.isfinite(ref).all(), f"reference {name} {hp} diverged on {surface}"
            # the run moved: a frozen path would agree trivially
            assert np.abs(ref[-1] - ref[0]).max() > 1e-3, (name, hp, surface, j)
            worst[f"{name} {hp} start {j}"] = float(np.abs(result.positions[i, j] - ref).max())
    return worst


TORCH_RULES = {"rprop", "asgd", "adafactor", "muon"}
PACKAGE_RULES = {"lion", "schedulefree_sgd", "schedulefree_adamw", "prodigy"}
PYTORCH_OPTIMIZER_RULES = {"sam", "adabelief", "lamb", "adan", "sophiah"}
FAMILIES = {
    "torch": TORCH_RULES,
    "packages": PACKAGE_RULES,
    "pytorch_optimizer": PYTORCH_OPTIMIZER_RULES,
}


@pytest.mark.parametrize("surface", list(SURFACES))
@pytest.mark.parametrize("family", list(FAMILIES))
def test_new_rules_match_their_references(surface, family):
    names = FAMILIES[family]
    worst = deviations(names, surface)
    bad = {k: v for k, v in worst.items() if not v <= TOL}
    assert not bad, f"deviation from the reference above {TOL}: {bad}"


def reference_average(fn, name: str, spec: dict, start, steps: int = 60) -> np.ndarray:
    """The averaged iterate (steps, 2) after each reference step: ASGD's ``ax``; schedule-free's
    x, the point ``optimizer.eval()`` moves the parameters to (computed as eval() does, without
    switching modes, which would round the train-mode point on the way back)."""
    x = torch.tensor(start, requires_grad=True)
    opt = reference(name, spec, x)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        fn(x).backward()
        opt.step()
        state = opt.state[x]
        if name == "asgd":
            out.append(state["ax"].clone())
        else:
            beta1 = spec["momentum"] if name == "schedulefree_sgd" else spec["beta1"]
            out.append(x.detach().lerp(state["z"], 1 - 1 / beta1))
    return torch.stack(out).numpy()


@pytest.mark.parametrize(
    "name,hp",
    [
        ("asgd", {"lr": 2e-3, "t0": 20}),
        ("schedulefree_sgd", {"lr": 2e-3}),
        ("schedulefree_adamw", {"lr": 0.05, "warmup_steps": 10}),
    ],
)
def test_recorded_average_is_the_reference_average(name, hp):
    start = [-1.0, 4.0]
    result = optimizers.simulate(HIMMELBLAU, [(name, hp)], starts=[start], steps=60)
    ref = reference_average(HIMMELBLAU.fn, name, optimizers.get(name).resolve(hp), start)
    np.testing.assert_allclose(result.average[0, 0], ref, rtol=0, atol=TOL)
    # the average is not the path (it lags behind it)
    assert np.abs(result.average[0, 0] - result.positions[0, 0, 1:]).max() > 1e-3
    # rules without an average record NaN
    plain = optimizers.simulate(HIMMELBLAU, ["adam"], starts=[start], steps=3)
    assert np.isnan(plain.average).all()


def _reference_defaults(name: str) -> dict:
    """The reference constructor's defaults, under our names."""
    x = [torch.zeros(2, requires_grad=True)]
    if name == "muon":
        x = [torch.zeros(1, 2, requires_grad=True)]
    classes = {
        "rprop": lambda: torch.optim.Rprop(x),
        "asgd": lambda: torch.optim.ASGD(x),
        "adafactor": lambda: torch.optim.Adafactor(x),
        "muon": lambda: torch.optim.Muon(x),
    }
    if name in classes:
        d = dict(classes[name]().defaults)
    elif name == "lion":
        from lion_pytorch import Lion

        d = dict(Lion(x).defaults)
    elif name == "prodigy":
        from prodigyopt import Prodigy

        d = dict(Prodigy(x).defaults)
        d["beta3"] = -1.0 if d["beta3"] is None else d["beta3"]  # None: sqrt(beta2)
        d["growth_rate"] = 0.0 if d["growth_rate"] == float("inf") else d["growth_rate"]
    elif name == "schedulefree_sgd":
        from schedulefree import SGDScheduleFree

        d = dict(SGDScheduleFree(x).defaults)
    elif name == "schedulefree_adamw":
        from schedulefree import AdamWScheduleFree

        d = dict(AdamWScheduleFree(x).defaults)
    else:
        raise KeyError(name)
    tuples = {
        "betas": ("beta1", "beta2"),
        "etas": ("etaminus", "etaplus"),
        "step_sizes": ("step_size_min", "step_size_max"),
        "eps": ("eps1", "eps2") if name == "adafactor" else None,
    }
    for key, names in tuples.items():
        if names and key in d:
            for n, v in zip(names, d.pop(key), strict=True):
                d[n] = v
    return d


REFERENCE_DEFAULT_EXCEPTIONS = {
    # torch's None: the dtype's machine epsilon, which is ours in float64
    ("adafactor", "eps1"): float(torch.finfo(torch.float64).eps),
}


@pytest.mark.parametrize("name", sorted(TORCH_RULES | PACKAGE_RULES))
def test_defaults_are_the_references(name):
    ref = _reference_defaults(name)
    ours = optimizers.get(name).defaults
    compared = 0
    for key, value in ours.items():
        if key not in ref:
            continue
        expected = ref[key]
        if expected is None:
            expected = REFERENCE_DEFAULT_EXCEPTIONS[(name, key)]
        assert value == expected, (name, key, value, expected)
        compared += 1
    assert compared >= 2, (name, sorted(ref))
