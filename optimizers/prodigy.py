"""Prodigy (prodigyopt's ``Prodigy``): Adam whose learning rate is multiplied by an estimate d
of the distance from the start to the solution, learnt on the way (D-Adaptation's idea).

d only grows: ``d_hat = sum_k lambda_k <g_k, x_0 - x_k> / ||s_k||_1`` (weighted by d and the
step sizes) and ``d = max(d, d_hat)``; with lr = 1 the step is then about d / sqrt(v). Every
quantity the package keeps per parameter group (d, d_max, the numerator) is per run here.
"""

from __future__ import annotations

import torch

from .base import HParams, HyperParam, Optimizer, State, StepCost, register
from .first_order import beta_param, lr_param, next_step, step_counter, weight_decay_param
from .ops import addcmul


def _prodigy_init(params: torch.Tensor, hp: HParams) -> State:
    z = torch.zeros_like(params)
    column = torch.zeros(params.shape[0], 1, dtype=params.dtype, device=params.device)
    d0 = column + hp["d0"]
    return {
        "step": step_counter(params, hp),
        "k": column,
        "p0": params.clone(),
        "s": z,
        "exp_avg": z,
        "exp_avg_sq": z,
        "d": d0,
        "d_max": d0,
        "d_numerator": column,
    }


def _prodigy_update(params, loss, grad, state, hp, oracle):
    step = next_step(state)
    lr, eps = hp["lr"], hp["eps"]
    beta1, beta2 = hp.value("beta1"), hp.value("beta2")
    beta3 = torch.where(hp["beta3"] < 0, hp["beta2"].sqrt(), hp["beta3"])
    d, d_max, d0, k = state["d"], state["d_max"], hp["d0"], state["k"]
    bias_correction = torch.where(
        hp["use_bias_correction"] != 0,
        (1 - hp["beta2"] ** (k + 1)) ** 0.5 / (1 - hp["beta1"] ** (k + 1)),
        1.0,
    )
    dlr = d * lr * bias_correction
    decay, decouple = hp["weight_decay"], hp["decouple"] != 0
    g = torch.where((decay != 0) & ~decouple, grad + decay * params, grad)
    d_numerator = state["d_numerator"] * beta3
    delta_numerator = (d / d0) * dlr * (g * (state["p0"] - params)).sum(-1, keepdim=True)
    exp_avg = state["exp_avg"] * beta1 + (d * (1 - hp["beta1"])) * g
    exp_avg_sq = addcmul(state["exp_avg_sq"] * beta2, g, g, d * d * (1 - hp["beta2"]))
    warm = torch.where(hp["safeguard_warmup"] != 0, (d / d0) * d, (d / d0) * dlr)
    s = state["s"] * beta3 + warm * g
    d_denom = s.abs().sum(-1, keepdim=True)
    numerator = d_numerator + delta_numerator
    d_hat = hp["d_coef"] * numerator / d_denom
    new_d = torch.where(d == d0, torch.maximum(d, d_hat), d)
    new_d_max = torch.maximum(d_max, d_hat)
    growth = torch.where(hp["growth_rate"] == 0, torch.inf, hp["growth_rate"])
    new_d = torch.minimum(new_d_max, new_d * growth)
    denom = exp_avg_sq.sqrt() + new_d * eps
    new_params = torch.where(decouple & (decay != 0), params + params * (-decay * dlr), params)
    new_params = new_params + (-dlr) * (exp_avg / denom)
    # the package returns before the update (and keeps its d) while sum |s| is 0
    idle = d_denom == 0
    return torch.where(idle, params, new_params), {
        "step": step,
        "k": torch.where(idle, k, k + 1),
        "p0": state["p0"],
        "s": s,
        "exp_avg": exp_avg,
        "exp_avg_sq": exp_avg_sq,
        "d": torch.where(idle, d, new_d),
        "d_max": torch.where(idle, d_max, new_d_max),
        "d_numerator": torch.where(idle, state["d_numerator"], numerator),
        "effective_lr": (dlr / denom).expand_as(params),
    }


def _check_sentinels(hp: dict) -> None:
    if hp["beta3"] != -1.0 and not 0.0 <= hp["beta3"] < 1.0:
        raise ValueError("prodigy: beta3 must be in [0, 1), or -1 for sqrt(beta2)")
    if hp["growth_rate"] != 0.0 and hp["growth_rate"] < 1.0:
        raise ValueError("prodigy: growth_rate must be >= 1, or 0 for unrestricted")


register(
    Optimizer(
        name="prodigy",
        stability="adaptive",
        title="Prodigy",
        init=_prodigy_init,
        update=_prodigy_update,
        hyperparams=(
            lr_param(1.0),
            beta_param("beta1", 0.9, "decay of the first moment", ui=(0.0, 0.999)),
            beta_param("beta2", 0.999, "decay of the second moment", ui=(0.5, 0.9999)),
            HyperParam(
                "beta3",
                -1.0,
                low=-1.0,
                high=1.0,
                high_open=True,
                ui=(0.0, 0.9999),
                description="decay of the d estimate's sums (-1: sqrt(beta2), the package's None)",
            ),
            HyperParam(
                "eps",
                1e-8,
                low=0.0,
                low_open=True,
                log=True,
                ui=(1e-12, 1e-2),
                description="added to the root (times d)",
            ),
            weight_decay_param(),
            HyperParam(
                "decouple",
                True,
                kind="bool",
                description="AdamW-style weight decay instead of L2 in the gradient",
            ),
            HyperParam(
                "use_bias_correction",
                False,
                kind="bool",
                description="Adam's bias corrections in the step",
            ),
            HyperParam(
                "safeguard_warmup",
                False,
                kind="bool",
                description="leave lr out of the d estimate's denominator (for warmup schedules)",
            ),
            HyperParam(
                "d0",
                1e-6,
                low=0.0,
                low_open=True,
                log=True,
                ui=(1e-9, 1.0),
                description="initial estimate of the distance to the solution",
            ),
            HyperParam(
                "d_coef",
                1.0,
                low=0.0,
                low_open=True,
                ui=(0.1, 10.0),
                description="multiplies the d estimate (the preferred knob)",
            ),
            HyperParam(
                "growth_rate",
                0.0,
                low=0.0,
                ui=(1.0, 2.0),
                description="d grows by at most this factor per step (0: unrestricted, the "
                "package's inf)",
            ),
        ),
        description="Adam with lr = 1 whose step is scaled by a learnt estimate d of the distance "
        "to the solution: no learning rate to tune; d starts tiny (d0) and grows within a few "
        "dozen steps.",
        maths=r"\hat d_t = \frac{\sum_k \lambda_k \langle g_k, x_0 - x_k\rangle}{\lVert s_t "
        r"\rVert_1},\ d_t = \max(d_{t-1}, \hat d_t),\ m_t = \beta_1 m_{t-1} + d_t(1-\beta_1) g_t,"
        r"\ v_t = \beta_2 v_{t-1} + d_t^2 (1-\beta_2) g_t^2,\ "
        r"\theta_t = \theta_{t-1} - d_t \eta\, m_t / (\sqrt{v_t} + d_t \epsilon)",
        reference="Mishchenko & Defazio 2024, 'Prodigy: an expeditiously adaptive parameter-free "
        "learner', ICML (reference: prodigyopt)",
        reference_code="prodigyopt.Prodigy (prodigyopt 1.1.2; beta3=-1 stands for its None, growth_rate=0 for its inf)",
        cost=StepCost(45, 8.0),
        velocity_key="exp_avg",
        second_moment_key="exp_avg_sq",
        check=_check_sentinels,
    )
)
