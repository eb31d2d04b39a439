"""The Adam family: Adam (AMSGrad, bias-correction switch), AdamW, NAdam, RAdam, Adamax.

All keep a first moment m (an exponential average of gradients, the "velocity") and a per-axis
scale from the second moment v; they differ in how m and v turn into a step. Each rule mirrors the
single-tensor loop of the torch.optim class of the same name. torch's ``betas=(b1, b2)`` is
accepted as it is (``Optimizer.from_torch_names``); the rules, labels and links call them
``beta1`` and ``beta2``.
"""

from __future__ import annotations

import torch

from .base import HParams, HyperParam, Optimizer, State, StepCost, as_bool, divide, register, switch
from .first_order import (
    beta_param,
    coupled_weight_decay,
    lr_param,
    next_step,
    root_eps_param,
    step_counter,
    weight_decay_param,
)


def _betas_eps() -> tuple[HyperParam, ...]:
    return (
        beta_param("beta1", 0.9, "decay of the first moment (momentum)", ui=(0.0, 0.999)),
        beta_param("beta2", 0.999, "decay of the second moment", ui=(0.5, 0.9999)),
        root_eps_param(1e-8, ui_high=1e-1),
    )


def _decoupled(default: bool) -> HyperParam:
    return HyperParam(
        "decoupled_weight_decay",
        default,
        kind="bool",
        description="shrink the weights directly (AdamW) instead of adding L2 to the gradient",
    )


def _moments_init(params: torch.Tensor, hp: HParams) -> State:
    z = torch.zeros_like(params)
    return {"step": step_counter(params, hp), "exp_avg": z, "exp_avg_sq": z, "max_exp_avg_sq": z}


def _weight_decay(params, grad, hp) -> tuple[torch.Tensor, torch.Tensor]:
    """Apply weight decay as torch does: decoupled (shrink params) or coupled (add to the gradient)."""
    if hp.all_equal("weight_decay", 0.0):
        return params, grad
    wd = hp["weight_decay"]
    decoupled = as_bool(hp["decoupled_weight_decay"])
    params = torch.where((wd != 0) & decoupled, params * (1 - hp["lr"] * wd), params)
    grad = torch.where(decoupled, grad, coupled_weight_decay(grad, params, hp))
    return params, grad


def _moments(state: State, grad: torch.Tensor, hp: HParams) -> tuple[torch.Tensor, torch.Tensor]:
    beta1, beta2 = hp.value("beta1"), hp.value("beta2")
    exp_avg = torch.lerp(state["exp_avg"], grad, 1 - beta1)
    exp_avg_sq = state["exp_avg_sq"] * beta2 + (1 - beta2) * grad * grad
    return exp_avg, exp_avg_sq


# --- Adam / AdamW ----------------------------------------------------------------------------


def _adam_update(params, loss, grad, state, hp, oracle):
    step = next_step(state)
    params, g = _weight_decay(params, grad, hp)
    exp_avg, exp_avg_sq = _moments(state, g, hp)
    one = torch.ones_like(step)
    bc1 = switch(hp, "bias_correction", lambda: 1.0 - hp.value("beta1") ** step, lambda: one)
    bc2 = switch(hp, "bias_correction", lambda: 1.0 - hp.value("beta2") ** step, lambda: one)
    step_size = divide(hp.value("lr"), bc1)
    max_sq = switch(
        hp,
        "amsgrad",
        lambda: torch.maximum(state["max_exp_avg_sq"], exp_avg_sq),
        lambda: state["max_exp_avg_sq"],
    )
    second = switch(hp, "amsgrad", lambda: max_sq, lambda: exp_avg_sq)
    denom = second.sqrt() / bc2.sqrt() + hp.value("eps")
    new_params = params + (-step_size) * exp_avg / denom
    return new_params, {
        "step": step,
        "exp_avg": exp_avg,
        "exp_avg_sq": exp_avg_sq,
        "max_exp_avg_sq": max_sq,
        "effective_lr": step_size / denom,
    }


_ADAM_MATHS = (
    r"m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\ v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,\ "
    r"\theta_t = \theta_{t-1} - \eta \frac{m_t/(1-\beta_1^t)}{\sqrt{v_t/(1-\beta_2^t)} + \epsilon}"
)


def _adam_params(lr: float, weight_decay: float, decoupled: bool) -> tuple[HyperParam, ...]:
    return (
        lr_param(lr),
        *_betas_eps(),
        weight_decay_param(weight_decay),
        HyperParam(
            "amsgrad",
            False,
            kind="bool",
            description="use the running maximum of v (Reddi et al. 2018)",
        ),
        _decoupled(decoupled),
        HyperParam(
            "bias_correction",
            True,
            kind="bool",
            description="divide m and v by 1 - beta^t (off: the early steps are tiny)",
        ),
    )


register(
    Optimizer(
        name="adam",
        stability="adaptive",
        network_lr=0.01,
        title="Adam",
        init=_moments_init,
        update=_adam_update,
        elementwise=True,
        hyperparams=_adam_params(1e-3, 0.0, False),
        description="Momentum on the gradient, divided per axis by the RMS of recent gradients.",
        maths=_ADAM_MATHS,
        reference="Kingma & Ba 2015, 'Adam: a method for stochastic optimization', ICLR; AMSGrad: "
        "Reddi, Kale & Kumar 2018, 'On the convergence of Adam and beyond', ICLR",
        torch_name="Adam",
        cost=StepCost(12, 2.5),
        velocity_key="exp_avg",
        second_moment_key="exp_avg_sq",
    )
)
register(
    Optimizer(
        name="adamw",
        stability="adaptive",
        network_lr=0.01,
        title="AdamW",
        init=_moments_init,
        update=_adam_update,
        elementwise=True,
        hyperparams=_adam_params(1e-3, 1e-2, True),
        description="Adam with decoupled weight decay: the weights shrink by lr * wd every step.",
        maths=r"\theta \leftarrow \theta (1 - \eta\lambda),\ \text{then Adam's step}",
        reference="Loshchilov & Hutter 2019, 'Decoupled weight decay regularization', ICLR",
        torch_name="AdamW",
        cost=StepCost(16, 3.5),
        velocity_key="exp_avg",
        second_moment_key="exp_avg_sq",
    )
)

# --- NAdam -----------------------------------------------------------------------------------


def _nadam_init(params: torch.Tensor, hp: HParams) -> State:
    return {**_moments_init(params, hp), "mu_product": torch.ones_like(step_counter(params, hp))}


def _nadam_update(params, loss, grad, state, hp, oracle):
    step = next_step(state)
    lr, beta1, decay = hp.value("lr"), hp.value("beta1"), hp.value("momentum_decay")
    bc2 = 1.0 - hp.value("beta2") ** step
    params, g = _weight_decay(params, grad, hp)
    mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * decay)))
    mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1.0) * decay)))
    mu_product = state["mu_product"] * mu
    exp_avg, exp_avg_sq = _moments(state, g, hp)
    denom = (exp_avg_sq / bc2).sqrt() + hp.value("eps")
    mu_product_next = mu_product * mu_next
    new_params = params + (-lr * (1.0 - mu) / (1.0 - mu_product)) * g / denom
    new_params = new_params + ((-lr * mu_next) / (1.0 - mu_product_next)) * exp_avg / denom
    return new_params, {
        "step": step,
        "exp_avg": exp_avg,
        "exp_avg_sq": exp_avg_sq,
        "max_exp_avg_sq": state["max_exp_avg_sq"],
        "mu_product": mu_product,
        "effective_lr": lr * mu_next / (1.0 - mu_product_next) / denom,
    }


register(
    Optimizer(
        name="nadam",
        stability="adaptive",
        network_lr=0.01,
        title="NAdam",
        init=_nadam_init,
        update=_nadam_update,
        elementwise=True,
        hyperparams=(
            lr_param(2e-3),
            *_betas_eps(),
            weight_decay_param(),
            HyperParam(
                "momentum_decay",
                4e-3,
                low=0.0,
                ui=(0.0, 0.1),
                description="warms the momentum schedule mu_t up over the first steps",
            ),
            _decoupled(False),
        ),
        description="Adam with Nesterov's look-ahead applied to the first moment.",
        maths=r"\theta_t = \theta_{t-1} - \eta\Big(\frac{(1-\mu_t) g_t}{1-\prod_{i\le t}\mu_i} + "
        r"\frac{\mu_{t+1} m_t}{1-\prod_{i\le t+1}\mu_i}\Big) / (\sqrt{\hat v_t} + \epsilon)",
        reference="Dozat 2016, 'Incorporating Nesterov momentum into Adam', ICLR workshop",
        torch_name="NAdam",
        cost=StepCost(23, 2.0),
        velocity_key="exp_avg",
        second_moment_key="exp_avg_sq",
    )
)

# --- RAdam -----------------------------------------------------------------------------------


def _radam_update(params, loss, grad, state, hp, oracle):
    step = next_step(state)
    lr, beta2 = hp.value("lr"), hp.value("beta2")
    params, g = _weight_decay(params, grad, hp)
    exp_avg, exp_avg_sq = _moments(state, g, hp)
    bc1 = 1.0 - hp.value("beta1") ** step
    bc2 = 1.0 - beta2**step
    corrected_avg = exp_avg / bc1
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2.0 * step * (beta2**step) / bc2
    rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)).sqrt()
    adaptive = bc2.sqrt() / (exp_avg_sq.sqrt() + hp.value("eps"))
    rectified = rho_t > 5.0
    update = torch.where(rectified, corrected_avg * lr * adaptive * rect, corrected_avg * lr)
    new_params = params + (-1.0) * update
    effective = torch.where(rectified, lr * adaptive * rect, hp["lr"].expand_as(adaptive)) / bc1
    return new_params, {
        "step": step,
        "exp_avg": exp_avg,
        "exp_avg_sq": exp_avg_sq,
        "max_exp_avg_sq": state["max_exp_avg_sq"],
        "effective_lr": effective,
    }


register(
    Optimizer(
        name="radam",
        stability="adaptive",
        network_lr=0.01,
        title="RAdam",
        init=_moments_init,
        update=_radam_update,
        elementwise=True,
        hyperparams=(lr_param(1e-3), *_betas_eps(), weight_decay_param(), _decoupled(False)),
        description="Adam whose adaptive step is switched on only once the variance of v is tractable "
        "(momentum SGD for the first steps).",
        maths=r"\rho_t = \rho_\infty - \frac{2t\beta_2^t}{1-\beta_2^t};\ \rho_t > 5:\ "
        r"\theta_t = \theta_{t-1} - \eta r_t \hat m_t / (\sqrt{\hat v_t}+\epsilon),\ "
        r"\text{else } \theta_t = \theta_{t-1} - \eta \hat m_t",
        reference="Liu et al. 2020, 'On the variance of the adaptive learning rate and beyond', ICLR",
        torch_name="RAdam",
        cost=StepCost(27, 2.0),
        velocity_key="exp_avg",
        second_moment_key="exp_avg_sq",
    )
)

# --- Adamax ----------------------------------------------------------------------------------


def _adamax_init(params: torch.Tensor, hp: HParams) -> State:
    z = torch.zeros_like(params)
    return {"step": step_counter(params, hp), "exp_avg": z, "exp_inf": z}


def _adamax_update(params, loss, grad, state, hp, oracle):
    step = next_step(state)
    g = coupled_weight_decay(grad, params, hp)
    beta1 = hp.value("beta1")
    exp_avg = torch.lerp(state["exp_avg"], g, 1 - beta1)
    exp_inf = torch.maximum(state["exp_inf"] * hp.value("beta2"), g.abs() + hp.value("eps"))
    clr = divide(hp.value("lr"), 1.0 - beta1**step)
    new_params = params + (-clr) * exp_avg / exp_inf
    return new_params, {
        "step": step,
        "exp_avg": exp_avg,
        "exp_inf": exp_inf,
        "effective_lr": clr / exp_inf,
    }


register(
    Optimizer(
        name="adamax",
        stability="adaptive",
        network_lr=0.02,
        title="Adamax",
        init=_adamax_init,
        update=_adamax_update,
        elementwise=True,
        hyperparams=(lr_param(2e-3), *_betas_eps(), weight_decay_param()),
        description="Adam with the infinity norm: divide by a decaying maximum of |g| instead of an RMS.",
        maths=r"u_t = \max(\beta_2 u_{t-1}, |g_t| + \epsilon),\ "
        r"\theta_t = \theta_{t-1} - \frac{\eta}{1-\beta_1^t} m_t / u_t",
        reference="Kingma & Ba 2015, 'Adam: a method for stochastic optimization', ICLR, section 7.1",
        torch_name="Adamax",
        cost=StepCost(17, 1.5),
        velocity_key="exp_avg",
        second_moment_key="exp_inf",
    )
)
