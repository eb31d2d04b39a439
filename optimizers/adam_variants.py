"""Later Adam variants, as pytorch-optimizer (4.1) implements them: AdaBelief, LAMB and Adan.

- AdaBelief divides by the spread of the gradient around its own average (the "belief" in the
  prediction m) instead of by its raw size: big steps where gradients agree, small where they
  scatter.
- LAMB rescales Adam's step of each parameter tensor to a fixed ratio of that tensor's norm (the
  trust ratio ||theta|| / ||update||); on a 2-D point the whole point is one tensor.
- Adan adds a momentum on gradient differences (a Nesterov estimate without a look-ahead
  gradient) and divides by the second moment of the corrected gradient.

Each follows the package's default code path (its ``foreach`` form where it has one).
"""

from __future__ import annotations

import torch

from .base import HParams, HyperParam, Optimizer, State, StepCost, as_bool, register, switch
from .first_order import (
    beta_param,
    lr_param,
    next_step,
    root_eps_param,
    step_counter,
    weight_decay_param,
)
from .ops import add_scaled, addcdiv, addcmul, lerp, row_norm


def _decay_switches(decouple: bool) -> tuple[HyperParam, ...]:
    return (
        HyperParam(
            "weight_decouple",
            decouple,
            kind="bool",
            description="shrink the weights directly (AdamW) instead of adding L2 to the gradient",
        ),
        HyperParam(
            "fixed_decay",
            False,
            kind="bool",
            description="decoupled decay by weight_decay per step, not lr * weight_decay",
        ),
    )


def _weight_decay(params: torch.Tensor, grad: torch.Tensor, hp: HParams):
    """The package's ``apply_weight_decay``: decoupled (theta (1 - wd lr), or 1 - wd with
    ``fixed_decay``) or coupled (g + wd theta)."""
    if hp.all_equal("weight_decay", 0.0):
        return params, grad
    wd = hp["weight_decay"]
    on = wd != 0
    decouple = as_bool(hp["weight_decouple"])
    factor = torch.where(as_bool(hp["fixed_decay"]), 1.0 - wd, 1.0 - wd * hp["lr"])
    params = torch.where(on & decouple, params * factor, params)
    grad = torch.where(on & ~decouple, add_scaled(grad, params, wd), grad)
    return params, grad


def _rectified(step: torch.Tensor, hp: HParams, degenerated: torch.Tensor):
    """The package's ``get_rectify_step_size``: (rt, n_sma) of RAdam's rectification; rt = 1
    (degenerated to SGD) or -1 (no step) below the threshold."""
    beta2 = hp["beta2"]
    n_sma_max = 2.0 / (1.0 - beta2) - 1.0
    beta2_t = beta2**step
    n_sma = n_sma_max - 2 * step * beta2_t / (1.0 - beta2_t)
    rt = (
        (1.0 - beta2_t)
        * (n_sma - 4)
        / (n_sma_max - 4)
        * (n_sma - 2)
        / n_sma
        * n_sma_max
        / (n_sma_max - 2)
    ).sqrt()
    above = n_sma >= hp["n_sma_threshold"]
    one = torch.ones_like(rt)
    return torch.where(above, rt, torch.where(degenerated, one, -one)), above


# --- AdaBelief --------------------------------------------------------------------------------


def _adabelief_init(params: torch.Tensor, hp: HParams) -> State:
    z = torch.zeros_like(params)
    return {"step": step_counter(params, hp), "exp_avg": z, "exp_avg_var": z, "max_exp_avg_var": z}


def _adabelief_update(params, loss, grad, state, hp, oracle):
    step = next_step(state)
    beta1, beta2, eps = hp.value("beta1"), hp.value("beta2"), hp.value("eps")
    bias_correction1 = 1.0 - hp["beta1"] ** step
    bias_correction2_sq = (1.0 - hp["beta2"] ** step).sqrt()
    params, g = _weight_decay(params, grad, hp)
    exp_avg = lerp(state["exp_avg"], g, 1.0 - beta1)
    residual = g - exp_avg
    exp_avg_var = addcmul(state["exp_avg_var"] * beta2, residual, residual, 1.0 - beta2) + eps
    max_var = switch(
        hp,
        "ams_bound",
        lambda: torch.maximum(state["max_exp_avg_var"], exp_avg_var),
        lambda: state["max_exp_avg_var"],
    )
    root = switch(hp, "ams_bound", lambda: max_var, lambda: exp_avg_var).sqrt()
    plain_denom = root / bias_correction2_sq + eps
    plain_size = hp["lr"] / bias_correction1
    plain = addcdiv(params, exp_avg, plain_denom, -plain_size)
    if hp.all_equal("rectify", False):
        new_params, effective = plain, plain_size / plain_denom
    else:
        rt, above = _rectified(step, hp, as_bool(hp["degenerated_to_sgd"]))
        size = hp["lr"] * rt / bias_correction1
        denom = root + eps
        rect = torch.where(
            above,
            addcdiv(params, exp_avg, denom, -size),
            torch.where(size > 0, add_scaled(params, exp_avg, -size), params),
        )
        rectify = as_bool(hp["rectify"])
        new_params = torch.where(rectify, rect, plain)
        effective = torch.where(
            rectify,
            torch.where(above, size / denom, size.clamp(min=0).expand_as(denom)),
            plain_size / plain_denom,
        )
    return new_params, {
        "step": step,
        "exp_avg": exp_avg,
        "exp_avg_var": exp_avg_var,
        "max_exp_avg_var": max_var,
        "effective_lr": effective,
    }


register(
    Optimizer(
        name="adabelief",
        stability="adaptive",
        title="AdaBelief",
        init=_adabelief_init,
        update=_adabelief_update,
        hyperparams=(
            lr_param(1e-3),
            beta_param("beta1", 0.9, "decay of the first moment"),
            beta_param("beta2", 0.999, "decay of the gradient's variance around m"),
            weight_decay_param(),
            *_decay_switches(True),
            HyperParam(
                "rectify", False, kind="bool", description="RAdam's rectified adaptive step"
            ),
            HyperParam(
                "n_sma_threshold",
                5,
                low=0,
                kind="int",
                ui=(0, 20),
                description="rectification starts once the moving-average length passes this",
            ),
            HyperParam(
                "degenerated_to_sgd",
                True,
                kind="bool",
                description="before rectification: momentum SGD steps (else none)",
            ),
            HyperParam(
                "ams_bound",
                False,
                kind="bool",
                description="divide by the running maximum of the variance (AMSGrad)",
            ),
            HyperParam(
                "eps",
                1e-16,
                low=0.0,
                log=True,
                ui=(1e-20, 1e-4),
                description="added to the variance and to its root",
            ),
        ),
        description="Adam dividing by how far gradients scatter around their average instead of "
        "by their size: long steps where gradients agree (flat, steady slopes), short where they "
        "disagree.",
        maths=r"m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\ s_t = \beta_2 s_{t-1} + (1-\beta_2)"
        r"(g_t - m_t)^2 + \epsilon,\ \theta_t = \theta_{t-1} - \frac{\eta}{1-\beta_1^t} "
        r"\frac{m_t}{\sqrt{s_t/(1-\beta_2^t)} + \epsilon}",
        reference="Zhuang et al. 2020, 'AdaBelief optimizer: adapting stepsizes by the belief in "
        "observed gradients', NeurIPS (reference: pytorch-optimizer's AdaBelief)",
        reference_code="pytorch_optimizer.AdaBelief (pytorch-optimizer 4.1.0)",
        network_lr=0.01,
        cost=StepCost(22, 4.0),
        velocity_key="exp_avg",
        second_moment_key="exp_avg_var",
    )
)

# --- LAMB ------------------------------------------------------------------------------------

LAMB_CLAMP = 10.0  # the package's bound on the weight norm in the trust ratio


def _lamb_init(params: torch.Tensor, hp: HParams) -> State:
    z = torch.zeros_like(params)
    return {"step": step_counter(params, hp), "exp_avg": z, "exp_avg_sq": z}


def _lamb_update(params, loss, grad, state, hp, oracle):
    step = next_step(state)
    beta1, beta2, eps = hp.value("beta1"), hp.value("beta2"), hp.value("eps")
    step_size = hp["lr"] / (1.0 - hp["beta1"] ** step)
    if hp.all_equal("grad_averaging", True):
        beta3 = 1.0 - beta1
    elif hp.all_equal("grad_averaging", False):
        beta3 = 1.0
    else:
        beta3 = torch.where(as_bool(hp["grad_averaging"]), 1.0 - hp["beta1"], 1.0)
    decouple = as_bool(hp["weight_decouple"])
    if not hp.all_equal("weight_decay", 0.0):
        wd = hp["weight_decay"]
        factor = torch.where(as_bool(hp["fixed_decay"]), 1.0 - wd, 1.0 - wd * hp["lr"])
        params = torch.where((wd != 0) & decouple, params * factor, params)
    exp_avg = add_scaled(state["exp_avg"] * beta1, grad, beta3)
    exp_avg_sq = addcmul(state["exp_avg_sq"] * beta2, grad, grad, 1.0 - beta2)
    update = (exp_avg_sq.sqrt() + eps).reciprocal() * exp_avg
    if not hp.all_equal("weight_decay", 0.0):
        wd = hp["weight_decay"]
        coupled = add_scaled(update, params, hp.value("weight_decay"))
        update = torch.where((wd > 0) & ~decouple, coupled, update)
    weight_norm = row_norm(params).clamp(max=LAMB_CLAMP)
    update_norm = row_norm(update)
    trust = torch.where(
        (weight_norm != 0) & (update_norm != 0), weight_norm / (update_norm + eps), 1.0
    )
    trust = torch.where(as_bool(hp["adam"]), 1.0, trust)
    new_params = add_scaled(params, update * trust, -step_size)
    return new_params, {
        "step": step,
        "exp_avg": exp_avg,
        "exp_avg_sq": exp_avg_sq,
        "effective_lr": step_size * trust / (exp_avg_sq.sqrt() + eps),
    }


register(
    Optimizer(
        name="lamb",
        stability="adaptive",
        title="LAMB",
        init=_lamb_init,
        update=_lamb_update,
        hyperparams=(
            lr_param(1e-3),
            beta_param("beta1", 0.9, "decay of the first moment"),
            beta_param("beta2", 0.999, "decay of the second moment"),
            weight_decay_param(),
            *_decay_switches(True),
            HyperParam(
                "grad_averaging",
                True,
                kind="bool",
                description="scale the new gradient in m by 1 - beta1",
            ),
            HyperParam(
                "adam",
                False,
                kind="bool",
                description="trust ratio 1: plain Adam (without bias correction of v)",
            ),
            root_eps_param(1e-6),
        ),
        description="Adam's direction rescaled so that each step is lr times the weights' norm "
        "(the trust ratio): large-batch training; on a 2-D point, steps shrink near the origin.",
        maths=r"u_t = \frac{m_t}{\sqrt{v_t}+\epsilon},\ "
        r"\theta_t = \theta_{t-1} - \frac{\eta}{1-\beta_1^t} \frac{\min(\lVert\theta\rVert, 10)}"
        r"{\lVert u_t\rVert + \epsilon} u_t",
        reference="You et al. 2020, 'Large batch optimization for deep learning: training BERT in "
        "76 minutes', ICLR (reference: pytorch-optimizer's Lamb)",
        reference_code="pytorch_optimizer.Lamb (pytorch-optimizer 4.1.0; without pre_norm and rectify)",
        network_lr=0.01,
        cost=StepCost(30, 6.0),
        velocity_key="exp_avg",
        second_moment_key="exp_avg_sq",
    )
)

# --- Adan ------------------------------------------------------------------------------------


def _adan_init(params: torch.Tensor, hp: HParams) -> State:
    z = torch.zeros_like(params)
    return {
        "step": step_counter(params, hp),
        "exp_avg": z,
        "exp_avg_sq": z,
        "exp_avg_diff": z,
        "previous_grad": z,
    }


def _adan_update(params, loss, grad, state, hp, oracle):
    step = next_step(state)
    beta1, beta2, beta3 = hp.value("beta1"), hp.value("beta2"), hp.value("beta3")
    lr = hp["lr"]
    step_size = lr / (1.0 - hp["beta1"] ** step)
    diff_step_size = lr * hp["beta2"] / (1.0 - hp["beta2"] ** step)
    bias_correction3_sq = (1.0 - hp["beta3"] ** step).sqrt()
    # the package starts the previous gradient at -g_1: no difference at the first step
    previous = torch.where(step == 1.0, -grad, state["previous_grad"])
    grad_diff = previous + grad
    exp_avg = lerp(state["exp_avg"], grad, 1.0 - beta1)
    exp_avg_diff = lerp(state["exp_avg_diff"], grad_diff, 1.0 - beta2)
    corrected = grad_diff * beta2 + grad
    exp_avg_sq = addcmul(state["exp_avg_sq"] * beta3, corrected, corrected, 1.0 - beta3)
    denom = exp_avg_sq.sqrt() / bias_correction3_sq + hp.value("eps")
    wd = hp["weight_decay"]
    decouple = as_bool(hp["weight_decouple"])
    decaying = not hp.all_equal("weight_decay", 0.0)
    if decaying:
        params = torch.where((wd != 0) & decouple, params * (1.0 - lr * wd), params)
    new_params = addcdiv(params, exp_avg, denom, -step_size)
    new_params = addcdiv(new_params, exp_avg_diff, denom, -diff_step_size)
    if decaying:
        new_params = torch.where((wd != 0) & ~decouple, new_params / (1.0 + lr * wd), new_params)
    return new_params, {
        "step": step,
        "exp_avg": exp_avg,
        "exp_avg_sq": exp_avg_sq,
        "exp_avg_diff": exp_avg_diff,
        "previous_grad": -grad,
        "effective_lr": step_size / denom,
    }


register(
    Optimizer(
        name="adan",
        stability="adaptive",
        title="Adan",
        init=_adan_init,
        update=_adan_update,
        hyperparams=(
            lr_param(1e-3),
            beta_param("beta1", 0.98, "decay of the gradient average (the package's betas[0])"),
            beta_param("beta2", 0.92, "decay of the gradient-difference average (betas[1])"),
            beta_param("beta3", 0.99, "decay of the corrected gradient's second moment (betas[2])"),
            weight_decay_param(),
            HyperParam(
                "weight_decouple",
                False,
                kind="bool",
                description="shrink the weights by 1 - lr wd (else divide by 1 + lr wd "
                "after the step: the paper's proximal form)",
            ),
            root_eps_param(1e-8),
        ),
        description="Adam plus a momentum on gradient differences: it anticipates where the "
        "gradient is heading (Nesterov-like) without a second gradient; fast on long valleys.",
        maths=r"m_t = (1-\beta_1) m_{t-1} + \beta_1 g_t,\ d_t = (1-\beta_2) d_{t-1} + \beta_2 "
        r"(g_t - g_{t-1}),\ n_t = (1-\beta_3) n_{t-1} + \beta_3 (g_t + (1-\beta_2)(g_t - "
        r"g_{t-1}))^2,\ \theta_t = \theta_{t-1} - \eta\,(\hat m_t + (1-\beta_2)\hat d_t) / "
        r"(\sqrt{\hat n_t} + \epsilon)\ \text{(the paper's }\beta\text{s are 1 minus the package's)}",
        reference="Xie et al. 2024, 'Adan: adaptive Nesterov momentum algorithm for faster "
        "optimizing deep models', IEEE TPAMI (reference: pytorch-optimizer's Adan)",
        reference_code="pytorch_optimizer.Adan (pytorch-optimizer 4.1.0; without max_grad_norm: use clip_norm)",
        network_lr=0.01,
        cost=StepCost(35, 6.0),
        velocity_key="exp_avg",
        second_moment_key="exp_avg_sq",
    )
)
