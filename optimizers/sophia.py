"""Sophia with Hutchinson Hessian estimates (pytorch-optimizer's ``SophiaH``).

Every ``update_period`` steps (from the first) the rule estimates the Hessian's diagonal with
Hutchinson's estimator, ``h = u * (H u)`` for a random vector u (E[u u^T] = I), averages it into
an exponential moving average, and steps along momentum divided by that curvature, clipped to
``p`` per coordinate: a Newton-like step where the curvature is positive and known, a
sign-like step of length lr p where it is not (negative or tiny curvature, far from a minimum).

The probe vectors are common random numbers: the k-th estimate of every run of a batch uses the
same u, drawn from a generator seeded with ``seed`` and k, so a batched run equals a single one.
H u comes from the oracle's Hessian (2-D surfaces have it cheaply); each estimate is counted as
one Hessian evaluation per run.
"""

from __future__ import annotations

import torch

from .base import HParams, HyperParam, Optimizer, State, StepCost, as_bool, register
from .first_order import beta_param, lr_param, next_step, step_counter, weight_decay_param
from .ops import add_scaled, lerp


def probe(seed: int, t: int, i: int, d: int, distribution: str, dtype, device=None) -> torch.Tensor:
    """The i-th Hutchinson probe vector ``(1, d)`` of step t: Gaussian or Rademacher, drawn on
    the CPU from a generator seeded with (seed, t, i), in ``dtype``."""
    gen = torch.Generator(device="cpu").manual_seed(int(seed) * 1_000_003 + int(t) * 64 + int(i))
    if distribution == "rademacher":
        u = torch.randint(0, 2, (1, d), generator=gen).to(dtype) * 2.0 - 1.0
    else:
        u = torch.randn((1, d), generator=gen, dtype=dtype)
    return u.to(device)


def _sophia_init(params: torch.Tensor, hp: HParams) -> State:
    z = torch.zeros_like(params)
    return {"step": step_counter(params, hp), "momentum": z, "hessian_moment": z}


def hutchinson(params: torch.Tensor, t: int, hp: HParams, oracle) -> torch.Tensor:
    """The estimate of diag(H) at ``params`` for step t: the mean over each run's
    ``num_samples`` probes u of u * (H u), H the oracle's Hessian (counted once per run). Runs
    that share (seed, num_samples, distribution) share their probes."""
    h = oracle.hessian(params)  # (R, D, D)
    keys = torch.cat(
        [hp["seed"], hp["num_samples"], hp["rademacher"].to(hp["seed"].dtype)], dim=1
    ).expand(params.shape[0], -1)
    estimate = torch.zeros_like(params)
    for seed, n, rademacher in torch.unique(keys, dim=0).tolist():
        rows = (
            keys == torch.tensor([seed, n, rademacher], dtype=keys.dtype, device=keys.device)
        ).all(1)
        distribution = "rademacher" if rademacher else "gaussian"
        part = torch.zeros_like(params[rows])
        for i in range(int(n)):
            u = probe(int(seed), t, i, params.shape[-1], distribution, params.dtype, params.device)
            hu = (h[rows] @ u[0][:, None])[..., 0]  # (R', D)
            part = torch.addcmul(part, hu, u.expand_as(hu), value=1.0 / int(n))
        estimate[rows] = part
    return estimate


def _sophia_update(params, loss, grad, state, hp, oracle):
    step = next_step(state)
    t = int(step.max().item())
    beta1, beta2 = hp.value("beta1"), hp.value("beta2")
    period = hp["update_period"]
    due = torch.remainder(step - 1.0, period) == 0  # (R, 1): runs that estimate now
    hessian_moment = state["hessian_moment"]
    if bool(due.any()):
        estimate = hutchinson(params, t, hp, oracle)
        if not bool(due.all()):  # the Hessian was computed for every run: count only these
            oracle.count("hessian", due[:, 0].to(params.dtype) - 1.0)
        hessian_moment = torch.where(
            due, lerp(hessian_moment, estimate, 1.0 - beta2), hessian_moment
        )
    g = grad
    if not hp.all_equal("weight_decay", 0.0):
        wd = hp["weight_decay"]
        decouple = as_bool(hp["weight_decouple"])
        factor = torch.where(as_bool(hp["fixed_decay"]), 1.0 - wd, 1.0 - wd * hp["lr"])
        g = torch.where((wd != 0) & ~decouple, grad + wd * params, grad)
        params = torch.where((wd != 0) & decouple, params * factor, params)
    momentum = lerp(state["momentum"], g, 1.0 - beta1)
    ratio = momentum / hessian_moment.clamp(min=hp.value("eps"))
    bound = hp["p"]
    update = torch.minimum(torch.maximum(ratio, -bound), bound)
    new_params = add_scaled(params, update, -hp.value("lr"))
    return new_params, {
        "step": step,
        "momentum": momentum,
        "hessian_moment": hessian_moment,
        "effective_lr": hp["lr"] * (update / momentum).nan_to_num(0.0).abs(),
    }


register(
    Optimizer(
        name="sophiah",
        stability="adaptive",
        title="Sophia-H",
        init=_sophia_init,
        update=_sophia_update,
        hyperparams=(
            lr_param(6e-2),
            beta_param("beta1", 0.96, "decay of the gradient momentum", ui=(0.0, 0.999)),
            beta_param("beta2", 0.99, "decay of the Hessian-diagonal estimate", ui=(0.5, 0.9999)),
            weight_decay_param(),
            HyperParam(
                "weight_decouple",
                True,
                kind="bool",
                description="shrink the weights directly (AdamW) instead of L2 in the gradient",
            ),
            HyperParam(
                "fixed_decay",
                False,
                kind="bool",
                description="decoupled decay by weight_decay per step, not lr * weight_decay",
            ),
            HyperParam(
                "p",
                1e-2,
                low=0.0,
                log=True,
                ui=(1e-4, 10.0),
                description="clip of each coordinate of momentum / curvature (step <= lr p)",
            ),
            HyperParam(
                "update_period",
                10,
                low=1,
                kind="int",
                ui=(1, 50),
                description="steps between Hessian estimates (one at the first step)",
            ),
            HyperParam(
                "num_samples",
                1,
                low=1,
                high=64,
                kind="int",
                ui=(1, 8),
                description="probe vectors averaged per estimate",
            ),
            HyperParam(
                "rademacher",
                False,
                kind="bool",
                description="Rademacher (+-1) probes instead of Gaussian "
                "(the package's hessian_distribution)",
            ),
            HyperParam(
                "eps",
                1e-12,
                low=0.0,
                log=True,
                ui=(1e-16, 1e-4),
                description="floor of the curvature estimate",
            ),
            HyperParam(
                "seed",
                0,
                low=0,
                kind="int",
                ui=(0, 100),
                description="seed of the probe vectors (common to every run of a batch)",
            ),
        ),
        description="Momentum divided by a running estimate of the Hessian's diagonal, clipped "
        "per axis: Newton-like steps where the curvature is positive, bounded sign-like steps "
        "where it is not; one Hessian-vector product every update_period steps.",
        maths=r"\hat h = u \odot (H u),\ h_t = eta_2 h_{t-k} + (1-eta_2)\hat h \ "
        r"(	ext{every } k 	ext{ steps}),\ m_t = eta_1 m_{t-1} + (1-eta_1) g_t,\ "
        r"	heta_t = 	heta_{t-1} - \eta\, \mathrm{clip}(m_t / \max(h_t, \epsilon), -p, p)",
        reference="Liu et al. 2024, 'Sophia: a scalable stochastic second-order optimizer for "
        "language model pre-training', ICLR (reference: pytorch-optimizer's SophiaH)",
        needs=frozenset({"hessian"}),
        reference_code="pytorch_optimizer.SophiaH (pytorch-optimizer 4.1.0; its Hutchinson probes are the engine's seeded ones, each estimate counted as one Hessian)",
        cost=StepCost(30, 5.0, hessians=1),
        velocity_key="momentum",
        second_moment_key="hessian_moment",
    )
)

__all__ = ["hutchinson", "probe"]
