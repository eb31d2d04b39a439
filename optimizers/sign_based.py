"""Sign-based rules: Rprop and Lion. Both move each coordinate by a step whose length does not
depend on the gradient's size, only on signs: Rprop by a per-coordinate step length that grows
while the gradient keeps its sign and shrinks when it flips; Lion by lr per coordinate, in the
direction of the sign of an interpolated momentum.
"""

from __future__ import annotations

import torch

from .base import HParams, HyperParam, Optimizer, State, StepCost, register
from .first_order import beta_param, lr_param, next_step, step_counter, weight_decay_param
from .ops import add_scaled

# --- Rprop -----------------------------------------------------------------------------------


def _rprop_init(params: torch.Tensor, hp: HParams) -> State:
    return {
        "step": step_counter(params, hp),
        "prev": torch.zeros_like(params),
        "step_size": torch.zeros_like(params) + hp["lr"],
    }


def _rprop_update(params, loss, grad, state, hp, oracle):
    step = next_step(state)
    etaminus, etaplus = hp.value("etaminus"), hp.value("etaplus")
    agree = torch.sign(grad * state["prev"])
    one = torch.ones_like(agree)  # (two Python numbers in torch.where would make float32)
    factor = torch.where(agree > 0, etaplus, torch.where(agree < 0, etaminus, one))
    step_size = torch.clamp(state["step_size"] * factor, hp["step_size_min"], hp["step_size_max"])
    g = torch.where(agree < 0, 0.0, grad)  # after a sign change: no step, forget the sign
    new_params = params - torch.sign(g) * step_size
    return new_params, {"step": step, "prev": g, "step_size": step_size, "effective_lr": step_size}


def _check_etas(hp: dict) -> None:
    if not 0.0 < hp["etaminus"] < 1.0 < hp["etaplus"]:
        raise ValueError("rprop: the step factors must satisfy 0 < etaminus < 1 < etaplus")
    if hp["step_size_min"] > hp["step_size_max"]:
        raise ValueError("rprop: step_size_min must not exceed step_size_max")


register(
    Optimizer(
        name="rprop",
        stability="sign",
        title="Rprop",
        init=_rprop_init,
        update=_rprop_update,
        elementwise=True,
        hyperparams=(
            lr_param(1e-2),
            HyperParam(
                "etaminus",
                0.5,
                low=0.0,
                high=1.0,
                low_open=True,
                high_open=True,
                ui=(0.1, 0.9),
                description="step-length factor after a sign change (torch's etas[0])",
            ),
            HyperParam(
                "etaplus",
                1.2,
                low=1.0,
                low_open=True,
                ui=(1.01, 2.0),
                description="step-length factor while the sign holds (torch's etas[1])",
            ),
            HyperParam(
                "step_size_min",
                1e-6,
                low=0.0,
                log=True,
                ui=(1e-9, 1e-2),
                description="smallest step length (torch's step_sizes[0])",
            ),
            HyperParam(
                "step_size_max",
                50.0,
                low=0.0,
                low_open=True,
                log=True,
                ui=(1e-2, 100.0),
                description="largest step length (torch's step_sizes[1])",
            ),
        ),
        description="Each axis has its own step length: x1.2 while the gradient keeps its sign, "
        "x0.5 and no step when it flips; only signs matter, never the gradient's size. "
        "Helps on badly scaled full-batch problems; fails with noisy gradients.",
        maths=r"s_t = \mathrm{clip}(s_{t-1}\cdot\{\eta^+ \text{ if } g_t g_{t-1}>0;\ "
        r"\eta^- \text{ if } <0;\ 1\},\ s_{\min}, s_{\max}),\ "
        r"\theta_t = \theta_{t-1} - s_t \operatorname{sign}(g_t)\ (g_t := 0 \text{ after a flip})",
        reference="Riedmiller & Braun 1993, 'A direct adaptive method for faster backpropagation "
        "learning: the RPROP algorithm', IEEE ICNN",
        torch_name="Rprop",
        cost=StepCost(10, 3.0),
        check=_check_etas,
    )
)

# --- Lion ------------------------------------------------------------------------------------


def _lion_init(params: torch.Tensor, hp: HParams) -> State:
    return {"step": step_counter(params, hp), "exp_avg": torch.zeros_like(params)}


def _lion_update(params, loss, grad, state, hp, oracle):
    step = next_step(state)
    lr, beta1, beta2 = hp.value("lr"), hp.value("beta1"), hp.value("beta2")
    if not hp.all_equal("weight_decay", 0.0):
        params = params * (1.0 - hp["lr"] * hp["weight_decay"])
    exp_avg = state["exp_avg"]
    update = torch.sgn(add_scaled(exp_avg * beta1, grad, 1.0 - beta1))
    new_params = add_scaled(params, update, -lr)
    exp_avg = add_scaled(exp_avg * beta2, grad, 1.0 - beta2)
    return new_params, {
        "step": step,
        "exp_avg": exp_avg,
        "effective_lr": hp["lr"].expand_as(params),
    }


def _lion_betas() -> tuple[HyperParam, ...]:
    return (
        beta_param(
            "beta1",
            0.9,
            "weight of the momentum in the step's sign (lion-pytorch's betas[0])",
            ui=(0.0, 0.999),
            high_open=False,
        ),
        beta_param(
            "beta2",
            0.99,
            "decay of the momentum itself (betas[1])",
            ui=(0.5, 0.9999),
            high_open=False,
        ),
    )


register(
    Optimizer(
        name="lion",
        stability="sign",
        title="Lion",
        init=_lion_init,
        update=_lion_update,
        elementwise=True,
        hyperparams=(lr_param(1e-4), *_lion_betas(), weight_decay_param()),
        description="Steps by exactly lr along each axis, in the sign of a blend of momentum and "
        "gradient: step length set by lr alone, robust to gradient scale; needs a 3-10x smaller "
        "lr than Adam.",
        maths=r"c_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\ "
        r"\theta_t = \theta_{t-1}(1-\eta\lambda) - \eta \operatorname{sign}(c_t),\ "
        r"m_t = \beta_2 m_{t-1} + (1-\beta_2) g_t",
        reference="Chen et al. 2023, 'Symbolic discovery of optimization algorithms', NeurIPS "
        "(reference: lion-pytorch)",
        reference_code="lion_pytorch.Lion (lion-pytorch 0.2.5)",
        network_lr=0.003,
        cost=StepCost(8, 2.0),
        velocity_key="exp_avg",
    )
)
