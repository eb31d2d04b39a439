"""Adafactor (torch.optim.Adafactor's rule) on a parameter vector.

Adafactor factors the second-moment matrix of a weight matrix into row and column sums; a 2-D
point (or a network's flat parameter vector) is a vector, for which torch keeps the full
per-coordinate second moment, as here. What stays distinctive is the relative step: the step
length is ``max(eps2, RMS(theta)) * min(lr, 1/sqrt(t))``, and the update is clipped to RMS <= d.
"""

from __future__ import annotations

import math

import torch

from .base import HParams, HyperParam, Optimizer, State, StepCost, register
from .first_order import lr_param, next_step, step_counter, weight_decay_param
from .ops import lerp, row_norm


def _adafactor_init(params: torch.Tensor, hp: HParams) -> State:
    return {"step": step_counter(params, hp), "variance": torch.zeros_like(params)}


def _adafactor_update(params, loss, grad, state, hp, oracle):
    step = next_step(state)
    lr = hp["lr"]
    root_d = math.sqrt(params.shape[-1])
    one_minus_beta2 = step ** hp.value("beta2_decay")
    rho = torch.minimum(lr, 1.0 / step**0.5)
    alpha = torch.clamp(row_norm(params) / root_d, min=hp["eps2"]) * rho
    if not hp.all_equal("weight_decay", 0.0):
        params = torch.where(
            hp["weight_decay"] != 0, params * (1.0 - lr * hp["weight_decay"]), params
        )
    variance = lerp(state["variance"], grad * grad, one_minus_beta2)
    eps1 = hp.value("eps1")
    scale = torch.clamp(variance, min=eps1 * eps1).rsqrt()
    update = scale * grad
    denom = torch.clamp(row_norm(update) / (root_d * hp["d"]), min=1.0)
    step_size = alpha / denom
    new_params = params + (-step_size) * update
    return new_params, {
        "step": step,
        "variance": variance,
        "effective_lr": step_size * scale,
    }


register(
    Optimizer(
        name="adafactor",
        stability="adaptive",
        title="Adafactor",
        init=_adafactor_init,
        update=_adafactor_update,
        hyperparams=(
            lr_param(1e-2),
            HyperParam(
                "beta2_decay",
                -0.8,
                high=0.0,
                ui=(-1.0, 0.0),
                description="the second moment's weight on the new gradient is t^beta2_decay",
            ),
            HyperParam(
                "eps1",
                float(torch.finfo(torch.float64).eps),
                low=0.0,
                low_open=True,
                log=True,
                ui=(1e-30, 1e-3),
                description="floor of the root of the second moment (torch's eps[0]; its default "
                "None is the dtype's machine epsilon, 2.2e-16 in float64)",
            ),
            HyperParam(
                "eps2",
                1e-3,
                low=0.0,
                log=True,
                ui=(1e-6, 1.0),
                description="floor of the parameters' RMS in the relative step (torch's eps[1])",
            ),
            HyperParam(
                "d",
                1.0,
                low=1.0,
                ui=(1.0, 10.0),
                description="clipping threshold: the update's RMS is at most d",
            ),
            weight_decay_param(),
        ),
        description="Adam without momentum whose step is relative to the parameters' size "
        "(RMS(theta) x min(lr, 1/sqrt t)) and clipped: memory-light for large matrices; near the "
        "origin the floor eps2 sets the step.",
        maths=r"v_t = (1-t^{c}) v_{t-1} + t^{c} g_t^2,\ u_t = g_t/\sqrt{\max(v_t, \epsilon_1^2)},\ "
        r"\theta_t = \theta_{t-1} - \frac{\max(\epsilon_2, \mathrm{RMS}(\theta_{t-1}))"
        r"\min(\eta, t^{-1/2})}{\max(1, \mathrm{RMS}(u_t)/d)} u_t",
        reference="Shazeer & Stern 2018, 'Adafactor: adaptive learning rates with sublinear "
        "memory cost', ICML",
        torch_name="Adafactor",
        cost=StepCost(20, 5.0),
        second_moment_key="variance",
    )
)
