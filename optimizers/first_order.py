"""First-order update rules: gradient descent, SGD with (Nesterov) momentum, Adagrad, RMSprop, Adadelta.

Each rule reproduces the single-tensor loop of the torch.optim class of the same name, operation
for operation, but for a batch of runs whose hyperparameters are ``(R, 1)`` tensors.
"""

from __future__ import annotations

import math

import torch

from .base import HParams, HyperParam, Optimizer, Oracle, State, StepCost, divide, register, switch
from .ops import add_scaled

INF = math.inf


def lr_param(default: float) -> HyperParam:
    return HyperParam(
        "lr", default, low=0.0, log=True, ui=(1e-5, 10.0), description="learning rate"
    )


def beta_param(
    name: str,
    default: float,
    description: str,
    ui: tuple[float, float] = (0.0, 0.9999),
    **bounds: bool,
) -> HyperParam:
    """A decay rate in [0, 1) (``bounds`` may open the low end or close the high one)."""
    bounds = {"high_open": True, **bounds}
    return HyperParam(name, default, low=0.0, high=1.0, ui=ui, description=description, **bounds)


def root_eps_param(default: float, ui_high: float = 1e-2) -> HyperParam:
    """The ``eps`` an adaptive method adds to the root of its second moment."""
    return HyperParam(
        "eps", default, low=0.0, log=True, ui=(1e-12, ui_high), description="added to the root"
    )


def weight_decay_param(default: float = 0.0) -> HyperParam:
    return HyperParam(
        "weight_decay", default, low=0.0, ui=(0.0, 1.0), description="L2 penalty coefficient"
    )


def coupled_weight_decay(grad: torch.Tensor, params: torch.Tensor, hp: HParams) -> torch.Tensor:
    """g + wd * p where wd != 0 (as torch: skipped when wd == 0, so inf/NaN params stay out)."""
    if hp.all_equal("weight_decay", 0.0):
        return grad
    wd = hp["weight_decay"]
    return torch.where(wd != 0.0, add_scaled(grad, params, hp.value("weight_decay")), grad)


def next_step(state: State) -> torch.Tensor:
    return state["step"] + 1.0


def step_counter(params: torch.Tensor, hp: HParams) -> torch.Tensor:
    """The update count shared by the batch, 0: a (1, 1) tensor (see ``optimizers.base``)."""
    return torch.zeros(1, 1, dtype=params.dtype, device=params.device)


# --- SGD family ------------------------------------------------------------------------------


def _sgd_init(params: torch.Tensor, hp: HParams) -> State:
    return {"step": step_counter(params, hp), "momentum_buffer": torch.zeros_like(params)}


def _sgd_update(
    params: torch.Tensor,
    loss: torch.Tensor,
    grad: torch.Tensor,
    state: State,
    hp: HParams,
    oracle: Oracle,
) -> tuple[torch.Tensor, State]:
    step = next_step(state)
    lr, momentum, dampening = hp.value("lr"), hp.value("momentum"), hp.value("dampening")
    g = coupled_weight_decay(grad, params, hp)
    buf = state["momentum_buffer"]
    effective_lr = hp["lr"].expand_as(g)
    if hp.all_equal("momentum", 0.0):  # plain gradient descent in every run
        new_params = add_scaled(params, g, -lr)
        return new_params, {"step": step, "momentum_buffer": buf, "effective_lr": effective_lr}
    # torch starts the buffer at the first gradient (not at (1 - dampening) g)
    buf = torch.where(step == 1.0, g, add_scaled(buf * momentum, g, 1.0 - dampening))
    direction = switch(hp, "nesterov", lambda: add_scaled(g, buf, momentum), lambda: buf)
    if "momentum" not in hp.uniform:  # some runs have momentum, others not
        has_momentum = momentum != 0
        direction = torch.where(has_momentum, direction, g)
        buf = torch.where(has_momentum, buf, torch.zeros_like(buf))
    new_params = add_scaled(params, direction, -lr)
    return new_params, {"step": step, "momentum_buffer": buf, "effective_lr": effective_lr}


def _check_nesterov(hp: dict) -> None:
    if hp["nesterov"] and (hp["momentum"] <= 0 or hp["dampening"] != 0):
        raise ValueError("nesterov: Nesterov momentum requires momentum > 0 and dampening = 0")


def _sgd_params(lr: float, momentum: float, nesterov: bool) -> tuple[HyperParam, ...]:
    return (
        lr_param(lr),
        HyperParam(
            "momentum",
            momentum,
            low=0.0,
            high=1.0,
            high_open=True,
            ui=(0.0, 0.999),
            description="heavy-ball coefficient beta (0: none)",
        ),
        HyperParam(
            "dampening",
            0.0,
            low=0.0,
            high=1.0,
            ui=(0.0, 1.0),
            description="scales the gradient added to the momentum buffer by 1 - dampening",
        ),
        weight_decay_param(),
        HyperParam("nesterov", nesterov, kind="bool", description="Nesterov's look-ahead form"),
    )


_SGD_MATHS = (
    r"b_t = \mu b_{t-1} + (1-\tau) g_t,\quad "
    r"\theta_{t} = \theta_{t-1} - \eta\,(g_t + \mu b_t \text{ if Nesterov else } b_t)"
)

register(
    Optimizer(
        name="gd",
        stability="sgd",
        network_lr=0.1,
        title="Gradient descent",
        init=_sgd_init,
        update=_sgd_update,
        elementwise=True,
        hyperparams=(lr_param(1e-3), weight_decay_param()),
        description="Plain gradient descent: step against the gradient, nothing else.",
        maths=r"\theta_t = \theta_{t-1} - \eta \nabla f(\theta_{t-1})",
        reference="Cauchy 1847, 'Méthode générale pour la résolution des systèmes d'équations simultanées'",
        torch_name="SGD",
        cost=StepCost(2, 1.0),
        fixed=(("momentum", 0.0), ("dampening", 0.0), ("nesterov", False)),
    )
)
register(
    Optimizer(
        name="sgd",
        stability="sgd",
        title="SGD",
        init=_sgd_init,
        update=_sgd_update,
        elementwise=True,
        hyperparams=_sgd_params(1e-3, 0.0, False),
        description="Stochastic gradient descent, torch.optim.SGD: on a 2-D surface there are no "
        "mini-batches, so set noise for stochastic gradients.",
        maths=r"\theta_t = \theta_{t-1} - \eta\,(\nabla f(\theta_{t-1}) + \sigma \xi_t),\ \xi_t \sim N(0, I)",
        reference="Robbins & Monro 1951, 'A stochastic approximation method', Ann. Math. Stat. 22(3)",
        torch_name="SGD",
        cost=StepCost(2, 1.0),
        velocity_key="momentum_buffer",
        check=_check_nesterov,
        network_lr=0.1,
        surface_settings=(("noise", 1.0),),
    )
)
register(
    Optimizer(
        name="momentum",
        stability="sgd",
        network_lr=0.05,
        title="Momentum",
        init=_sgd_init,
        update=_sgd_update,
        elementwise=True,
        hyperparams=_sgd_params(1e-3, 0.9, False),
        description="Heavy ball: a velocity that accumulates gradients, damping zig-zags in ravines.",
        maths=_SGD_MATHS,
        reference="Polyak 1964, 'Some methods of speeding up the convergence of iteration methods'",
        torch_name="SGD",
        cost=StepCost(4, 1.0),
        velocity_key="momentum_buffer",
        check=_check_nesterov,
    )
)
register(
    Optimizer(
        name="nesterov",
        stability="sgd",
        network_lr=0.05,
        title="Nesterov",
        init=_sgd_init,
        update=_sgd_update,
        elementwise=True,
        hyperparams=_sgd_params(1e-3, 0.9, True),
        description="Nesterov momentum: the gradient correction looks ahead along the velocity.",
        maths=_SGD_MATHS,
        reference="Nesterov 1983; Sutskever et al. 2013, 'On the importance of initialization and "
        "momentum in deep learning', ICML",
        torch_name="SGD",
        cost=StepCost(5, 1.0),
        velocity_key="momentum_buffer",
        check=_check_nesterov,
    )
)

# --- Adagrad ---------------------------------------------------------------------------------


def _adagrad_init(params: torch.Tensor, hp: HParams) -> State:
    return {
        "step": step_counter(params, hp),
        "sum": torch.zeros_like(params) + hp["initial_accumulator_value"],
    }


def _adagrad_update(params, loss, grad, state, hp, oracle):
    step = next_step(state)
    g = coupled_weight_decay(grad, params, hp)
    clr = divide(hp.value("lr"), 1.0 + (step - 1.0) * hp.value("lr_decay"))
    acc = state["sum"] + g * g
    std = acc.sqrt() + hp.value("eps")
    new_params = params + (-clr) * g / std
    return new_params, {"step": step, "sum": acc, "effective_lr": clr / std}


register(
    Optimizer(
        name="adagrad",
        stability="adaptive",
        network_lr=0.05,
        title="Adagrad",
        init=_adagrad_init,
        update=_adagrad_update,
        elementwise=True,
        hyperparams=(
            lr_param(1e-2),
            HyperParam(
                "lr_decay", 0.0, low=0.0, ui=(0.0, 0.1), description="lr / (1 + (t-1) lr_decay)"
            ),
            weight_decay_param(),
            HyperParam(
                "initial_accumulator_value",
                0.0,
                low=0.0,
                ui=(0.0, 1.0),
                description="starting value of the sum of squared gradients",
            ),
            root_eps_param(1e-10),
        ),
        description="Per-axis steps shrink with the sum of all past squared gradients.",
        maths=r"G_t = G_{t-1} + g_t^2,\quad \theta_t = \theta_{t-1} - \eta\, g_t / (\sqrt{G_t} + \epsilon)",
        reference="Duchi, Hazan & Singer 2011, 'Adaptive subgradient methods for online learning and "
        "stochastic optimization', JMLR 12",
        torch_name="Adagrad",
        cost=StepCost(6, 3.0),
        second_moment_key="sum",
    )
)

# --- RMSprop ---------------------------------------------------------------------------------


def _rmsprop_init(params: torch.Tensor, hp: HParams) -> State:
    z = torch.zeros_like(params)
    return {"step": step_counter(params, hp), "square_avg": z, "grad_avg": z, "momentum_buffer": z}


def _rmsprop_update(params, loss, grad, state, hp, oracle):
    step = next_step(state)
    lr, alpha, momentum = hp.value("lr"), hp.value("alpha"), hp.value("momentum")
    g = coupled_weight_decay(grad, params, hp)
    square_avg = state["square_avg"] * alpha + (1 - alpha) * g * g
    grad_avg = switch(
        hp,
        "centered",
        lambda: torch.lerp(state["grad_avg"], g, 1 - alpha),
        lambda: state["grad_avg"],
    )
    variance = switch(
        hp, "centered", lambda: square_avg + (-1 * grad_avg) * grad_avg, lambda: square_avg
    )
    avg = variance.sqrt() + hp.value("eps")
    buf = state["momentum_buffer"]
    if hp.all_equal("momentum", 0.0):
        new_params = params + (-lr) * g / avg
    elif "momentum" in hp.uniform:  # the same momentum (> 0) in every run
        buf = buf * momentum + g / avg
        new_params = params + (-lr) * buf
    else:
        has_momentum = momentum > 0
        buf = torch.where(has_momentum, buf * momentum + g / avg, buf)
        new_params = torch.where(has_momentum, params + (-lr) * buf, params + (-lr) * g / avg)
    return new_params, {
        "step": step,
        "square_avg": square_avg,
        "grad_avg": grad_avg,
        "momentum_buffer": buf,
        "effective_lr": divide(lr, avg),
    }


register(
    Optimizer(
        name="rmsprop",
        stability="adaptive",
        network_lr=0.01,
        title="RMSprop",
        init=_rmsprop_init,
        update=_rmsprop_update,
        elementwise=True,
        hyperparams=(
            lr_param(1e-2),
            HyperParam(
                "alpha",
                0.99,
                low=0.0,
                high=1.0,
                high_open=True,
                ui=(0.5, 0.999),
                description="decay of the squared-gradient average",
            ),
            root_eps_param(1e-8),
            weight_decay_param(),
            HyperParam(
                "momentum",
                0.0,
                low=0.0,
                high=1.0,
                high_open=True,
                ui=(0.0, 0.999),
                description="momentum on the normalised step (0: none)",
            ),
            HyperParam(
                "centered",
                False,
                kind="bool",
                description="divide by the variance estimate instead of the raw second moment",
            ),
        ),
        description="Per-axis steps divided by a running RMS of recent gradients; "
        "optionally centered and with momentum.",
        maths=r"v_t = \alpha v_{t-1} + (1-\alpha) g_t^2,\quad "
        r"\theta_t = \theta_{t-1} - \eta\, g_t / (\sqrt{v_t} + \epsilon)",
        reference="Hinton, Srivastava & Swersky 2012, Neural Networks for Machine Learning, lecture 6e; "
        "centered form: Graves 2013, 'Generating sequences with recurrent neural networks'",
        torch_name="RMSprop",
        cost=StepCost(6, 1.5),
        velocity_key="momentum_buffer",
        second_moment_key="square_avg",
    )
)

# --- Adadelta --------------------------------------------------------------------------------


def _adadelta_init(params: torch.Tensor, hp: HParams) -> State:
    z = torch.zeros_like(params)
    return {"step": step_counter(params, hp), "square_avg": z, "acc_delta": z}


def _adadelta_update(params, loss, grad, state, hp, oracle):
    step = next_step(state)
    rho, eps, lr = hp.value("rho"), hp.value("eps"), hp.value("lr")
    g = coupled_weight_decay(grad, params, hp)
    square_avg = state["square_avg"] * rho + (1 - rho) * g * g
    ratio = (state["acc_delta"] + eps).sqrt() / (square_avg + eps).sqrt()
    delta = ratio * g
    acc_delta = state["acc_delta"] * rho + (1 - rho) * delta * delta
    new_params = params + (-lr) * delta
    return new_params, {
        "step": step,
        "square_avg": square_avg,
        "acc_delta": acc_delta,
        "effective_lr": lr * ratio,
    }


register(
    Optimizer(
        name="adadelta",
        stability="adaptive",
        network_lr=1.0,
        title="Adadelta",
        init=_adadelta_init,
        update=_adadelta_update,
        elementwise=True,
        hyperparams=(
            lr_param(1.0),
            HyperParam(
                "rho",
                0.9,
                low=0.0,
                high=1.0,
                ui=(0.5, 0.999),
                description="decay of both running averages",
            ),
            HyperParam(
                "eps",
                1e-6,
                low=0.0,
                log=True,
                ui=(1e-10, 1e-1),
                description="added inside both roots; sets the first steps' size",
            ),
            weight_decay_param(),
        ),
        description="Steps sized by the ratio of running RMS of past updates to that of gradients: "
        "units match, no global learning rate needed.",
        maths=r"\Delta_t = \frac{\sqrt{u_{t-1}+\epsilon}}{\sqrt{v_t+\epsilon}} g_t,\quad "
        r"u_t = \rho u_{t-1} + (1-\rho)\Delta_t^2,\quad \theta_t = \theta_{t-1} - \eta \Delta_t",
        reference="Zeiler 2012, 'ADADELTA: an adaptive learning rate method', arXiv:1212.5701",
        torch_name="Adadelta",
        cost=StepCost(6, 1.5),
        second_moment_key="square_avg",
    )
)

__all__ = [
    "INF",
    "coupled_weight_decay",
    "lr_param",
    "next_step",
    "step_counter",
    "weight_decay_param",
]
