"""Rules that average iterates: ASGD (Polyak-Ruppert averaging) and schedule-free SGD and AdamW.

Both keep a second point beside the one where the gradient is taken. ASGD's average ``ax`` is
reported only (the path is plain gradient descent with a decaying step). Schedule-free methods
take the gradient at ``y``, an interpolation between a plain SGD/Adam sequence ``z`` and the
running average ``x`` of the ``z``, so the averaging acts like momentum and replaces the
learning-rate schedule. The path drawn is ``y`` (the parameters in the package's train mode);
``x`` (what ``optimizer.eval()`` switches the parameters to) is recorded as the average.
"""

from __future__ import annotations

import torch

from .base import HParams, HyperParam, Optimizer, State, StepCost, divide, register
from .first_order import (
    beta_param,
    coupled_weight_decay,
    lr_param,
    next_step,
    root_eps_param,
    step_counter,
    weight_decay_param,
)
from .ops import add_scaled, addcmul, lerp

# --- ASGD ------------------------------------------------------------------------------------


def _asgd_init(params: torch.Tensor, hp: HParams) -> State:
    ones = torch.ones(params.shape[0], 1, dtype=params.dtype, device=params.device)
    return {
        "step": step_counter(params, hp),
        "eta": ones * hp["lr"][:, :1],
        "mu": ones,
        "ax": torch.zeros_like(params),
    }


def _asgd_update(params, loss, grad, state, hp, oracle):
    step = next_step(state)
    eta, mu = state["eta"], state["mu"]
    lr, lambd = hp.value("lr"), hp.value("lambd")
    g = coupled_weight_decay(grad, params, hp)
    new_params = params * (1.0 - lambd * eta)
    new_params = new_params - eta * g
    ax = torch.where(mu == 1.0, new_params, state["ax"] + (new_params - state["ax"]) * mu)
    new_eta = divide(lr, (1.0 + lambd * lr * step) ** hp.value("alpha"))
    new_mu = 1.0 / torch.clamp(step - hp.value("t0"), min=1.0)
    return new_params, {
        "step": step,
        "eta": new_eta.expand_as(eta) if new_eta.shape != eta.shape else new_eta,
        "mu": new_mu.expand_as(mu),
        "ax": ax,
        "effective_lr": eta.expand_as(params),
    }


register(
    Optimizer(
        name="asgd",
        stability="sgd",
        title="ASGD",
        init=_asgd_init,
        update=_asgd_update,
        hyperparams=(
            lr_param(1e-2),
            HyperParam(
                "lambd",
                1e-4,
                low=0.0,
                log=True,
                ui=(1e-6, 1.0),
                description="decay term: eta_t = lr / (1 + lambd lr t)^alpha; also shrinks the "
                "weights by 1 - lambd eta",
            ),
            HyperParam(
                "alpha",
                0.75,
                low=0.0,
                ui=(0.0, 1.0),
                description="power of the step-size decay",
            ),
            HyperParam(
                "t0",
                1e6,
                low=0.0,
                ui=(0.0, 1e6),
                description="step at which averaging starts",
            ),
            weight_decay_param(),
        ),
        description="Gradient descent with a slowly decaying step that also keeps the running "
        "average of its iterates (from step t0): the average is far less noisy than the path "
        "when gradients are noisy.",
        maths=r"\theta_t = \theta_{t-1}(1-\lambda\eta_{t-1}) - \eta_{t-1} g_t,\ "
        r"\eta_t = \frac{\eta_0}{(1+\lambda\eta_0 t)^\alpha},\ "
        r"\bar\theta_t = \bar\theta_{t-1} + \mu_{t-1}(\theta_t - \bar\theta_{t-1}),\ "
        r"\mu_t = 1/\max(1, t - t_0)",
        reference="Polyak & Juditsky 1992, 'Acceleration of stochastic approximation by averaging', "
        "SIAM J. Control Optim. 30(4)",
        torch_name="ASGD",
        network_lr=0.1,
        cost=StepCost(14, 3.0),
        average_key="ax",
    )
)

# --- schedule-free ---------------------------------------------------------------------------


def _schedule_free_init(params: torch.Tensor, hp: HParams) -> State:
    column = torch.zeros(params.shape[0], 1, dtype=params.dtype, device=params.device)
    return {
        "step": step_counter(params, hp),
        "z": params.clone(),
        "x": params.clone(),
        "exp_avg_sq": torch.zeros_like(params),
        "weight_sum": column,
        "lr_max": column - 1.0,
    }


def _average_weight(step: torch.Tensor, state: State, hp: HParams):
    """(lr with warmup, c_{k+1}, weight_sum, lr_max): the package's step-size bookkeeping."""
    warmup = hp["warmup_steps"]
    sched = torch.where(step - 1.0 < warmup, step / warmup, 1.0)
    lr = hp["lr"] * sched
    lr_max = torch.maximum(lr, state["lr_max"])
    weight = step ** hp.value("r") * lr_max ** hp.value("weight_lr_power")
    weight_sum = state["weight_sum"] + weight
    ckp1 = torch.where(weight_sum == 0.0, 0.0, weight / weight_sum)
    return lr, ckp1, weight_sum, lr_max


def _schedule_free_step(y, z, g, lr, ckp1, beta1):
    """y <- lerp(y, z, c) + lr (beta1 (1 - c) - 1) g, z <- z - lr g; and x, the average."""
    y = lerp(y, z, ckp1)
    y = add_scaled(y, g, lr * (beta1 * (1.0 - ckp1) - 1.0))
    z = add_scaled(z, g, -lr)
    x = lerp(y, z, 1.0 - 1.0 / beta1)
    return y, z, x


def _schedule_free_sgd_update(params, loss, grad, state, hp, oracle):
    step = next_step(state)
    lr, ckp1, weight_sum, lr_max = _average_weight(step, state, hp)
    g = coupled_weight_decay(grad, params, hp)
    y, z, x = _schedule_free_step(params, state["z"], g, lr, ckp1, hp.value("momentum"))
    return y, {
        **state,
        "step": step,
        "z": z,
        "x": x,
        "weight_sum": weight_sum,
        "lr_max": lr_max,
        "effective_lr": (lr * (1.0 - hp.value("momentum") * (1.0 - ckp1))).expand_as(params),
    }


def _schedule_free_adamw_update(params, loss, grad, state, hp, oracle):
    step = next_step(state)
    beta2 = hp.value("beta2")
    lr, ckp1, weight_sum, lr_max = _average_weight(step, state, hp)
    bias_correction2 = 1.0 - beta2**step
    exp_avg_sq = addcmul(state["exp_avg_sq"] * beta2, grad, grad, 1.0 - beta2)
    denom = (exp_avg_sq / bias_correction2).sqrt() + hp.value("eps")
    g = grad / denom
    if not hp.all_equal("weight_decay", 0.0):
        g = torch.where(hp["weight_decay"] != 0.0, g + hp["weight_decay"] * params, g)
    y, z, x = _schedule_free_step(params, state["z"], g, lr, ckp1, hp.value("beta1"))
    return y, {
        "step": step,
        "z": z,
        "x": x,
        "exp_avg_sq": exp_avg_sq,
        "weight_sum": weight_sum,
        "lr_max": lr_max,
        "effective_lr": lr * (1.0 - hp.value("beta1") * (1.0 - ckp1)) / denom,
    }


def _schedule_free_params() -> tuple[HyperParam, ...]:
    return (
        HyperParam(
            "warmup_steps",
            0,
            low=0,
            kind="int",
            ui=(0, 200),
            description="linear learning-rate warmup over this many steps",
        ),
        HyperParam(
            "r",
            0.0,
            low=0.0,
            ui=(0.0, 2.0),
            description="polynomial weighting of the average: weight (k+1)^r",
        ),
        HyperParam(
            "weight_lr_power",
            2.0,
            low=0.0,
            ui=(0.0, 4.0),
            description="weights in the average are lr_max^power (matters during warmup)",
        ),
    )


_SF_MATHS = (
    r"y_t = (1-\beta) z_t + \beta x_t,\ z_{t+1} = z_t - \gamma \nabla f(y_t),\ "
    r"x_{t+1} = (1-c_{t+1}) x_t + c_{t+1} z_{t+1},\ c_{t+1} = \frac{\gamma_{\max}^2}"
    r"{\sum_{i\le t+1}\gamma_{\max,i}^2}"
)
_SF_REFERENCE = (
    "Defazio et al. 2024, 'The road less scheduled', NeurIPS (reference: the schedulefree package)"
)

register(
    Optimizer(
        name="schedulefree_sgd",
        stability="averaged",
        title="Schedule-free SGD",
        init=_schedule_free_init,
        update=_schedule_free_sgd_update,
        hyperparams=(
            lr_param(1.0),
            HyperParam(
                "momentum",
                0.9,
                low=0.0,
                high=1.0,
                low_open=True,
                high_open=True,
                ui=(0.1, 0.99),
                description="interpolation beta between the SGD sequence z and its average x",
            ),
            weight_decay_param(),
            *_schedule_free_params(),
        ),
        description="SGD whose gradient is taken between the plain iterate and their running "
        "average: no learning-rate schedule needed, the average (drawn too) converges on its own.",
        maths=_SF_MATHS,
        reference=_SF_REFERENCE,
        reference_code="schedulefree.SGDScheduleFree (schedulefree 1.4.1; the path is train mode's y, eval mode's x is recorded as the average)",
        network_lr=0.5,
        cost=StepCost(25, 4.0),
        average_key="x",
    )
)
register(
    Optimizer(
        name="schedulefree_adamw",
        stability="adaptive",
        title="Schedule-free AdamW",
        init=_schedule_free_init,
        update=_schedule_free_adamw_update,
        hyperparams=(
            lr_param(2.5e-3),
            beta_param(
                "beta1",
                0.9,
                "interpolation between z and its average x (the momentum's role)",
                ui=(0.1, 0.99),
                low_open=True,
            ),
            beta_param("beta2", 0.999, "decay of the second moment", ui=(0.5, 0.9999)),
            root_eps_param(1e-8, ui_high=1e-1),
            weight_decay_param(),
            *_schedule_free_params(),
        ),
        description="Adam's per-axis scaling with schedule-free averaging instead of momentum "
        "and schedule: reaches the minimum with a constant lr, the average (drawn too) settles.",
        maths=_SF_MATHS + r",\ \text{with } \nabla f \text{ divided by } \sqrt{\hat v_t}+\epsilon",
        reference=_SF_REFERENCE,
        reference_code="schedulefree.AdamWScheduleFree (schedulefree 1.4.1; the path is train mode's y, eval mode's x is recorded as the average)",
        network_lr=0.01,
        cost=StepCost(30, 5.0),
        second_moment_key="exp_avg_sq",
        average_key="x",
    )
)
