"""Sharpness-aware minimization (pytorch-optimizer's ``SAM``) around a base optimizer.

Each step takes two gradients: the gradient g at theta sets an ascent step to the worst point of
a small ball, ``e = rho g / ||g||`` (ASAM, ``adaptive``: ``e = rho theta^2 g / ||theta g||``); the
gradient there is handed to the base rule, which moves theta (not the perturbed point). Minima
where the loss rises fast within rho (sharp ones) push the run out; it settles where the loss
stays low around it (wide ones). As in the package, the norm is taken in float32 (its global
gradient norm is a float32 tensor) and the perturbation scaled by it in float64.
"""

from __future__ import annotations

import torch

from .base import HParams, HyperParam, Optimizer, State, StepCost, get, register

SAM_PARAMS = (
    HyperParam(
        "rho",
        0.05,
        low=0.0,
        ui=(0.0, 1.0),
        description="radius of the neighbourhood whose worst point the gradient is taken at",
    ),
    HyperParam(
        "adaptive",
        False,
        kind="bool",
        description="ASAM: scale the neighbourhood by |theta| per coordinate (scale-invariant)",
    ),
    HyperParam(
        "perturb_eps",
        1e-12,
        low=0.0,
        log=True,
        ui=(1e-16, 1e-6),
        description="added to the gradient norm",
    ),
)


def perturbation(params: torch.Tensor, grad: torch.Tensor, hp: HParams) -> torch.Tensor:
    """The ascent step e of SAM (or ASAM where ``adaptive``), computed as the package does."""
    adaptive = hp["adaptive"]
    weighted = torch.where(adaptive, grad * params.abs(), grad)
    norm = torch.linalg.vector_norm(weighted, dim=-1, keepdim=True)
    norm32 = norm.float().square().sqrt() + hp["perturb_eps"].float()
    scale = (norm32.reciprocal() * hp["rho"].float()).to(params.dtype)
    direction = torch.where(adaptive, params.pow(2) * grad, grad * 1.0)
    return direction * scale


def sharpness_aware(base_name: str) -> tuple:
    """(init, update) of SAM around the registered rule ``base_name``."""
    base = get(base_name)

    def init(params: torch.Tensor, hp: HParams) -> State:
        return base.init(params, hp)

    def update(params, loss, grad, state, hp, oracle):
        e = perturbation(params, grad, hp)
        _, sharp_grad = oracle.value_and_grad(params + e)
        return base.update(params, loss, sharp_grad, state, hp, oracle)

    return init, update


def register_sam(
    name: str, title: str, base_name: str, description: str, reference_code: str
) -> Optimizer:
    """Register SAM around ``base_name``: its hyperparameters are the base's plus rho,
    adaptive and perturb_eps."""
    base = get(base_name)
    init, update = sharpness_aware(base_name)
    return register(
        Optimizer(
            name=name,
            stability=base.stability,
            title=title,
            init=init,
            update=update,
            # the base's own noise default (sgd's) stays out: SAM's gradients are exact
            hyperparams=(*(h for h in base.hyperparams if h.name != "noise"), *SAM_PARAMS),
            description=description,
            maths=r"e_t = \rho\, g_t / \lVert g_t \rVert,\ \tilde g_t = \nabla f(\theta_{t-1} + "
            r"e_t),\ \theta_t = \text{base step with } \tilde g_t",
            reference="Foret et al. 2021, 'Sharpness-aware minimization for efficiently improving "
            "generalization', ICLR; ASAM: Kwon et al. 2021, ICML (reference: pytorch-optimizer's "
            "SAM)",
            reference_code=reference_code,
            needs=frozenset({"gradient"}),
            cost=StepCost(base.cost.ops + 12, base.cost.per_run + 3.0, gradients=1),
            velocity_key=base.velocity_key,
            second_moment_key=base.second_moment_key,
            check=base.check,
            fixed=base.fixed,
        )
    )


register_sam(
    "sam",
    "SAM (SGD)",
    "sgd",
    "SGD on the gradient taken at the worst point within rho: two gradients a step; pushed out "
    "of sharp minima, it settles in wide ones (which tend to generalise better).",
    "pytorch_optimizer.SAM around torch.optim.SGD (pytorch-optimizer 4.1.0)",
)

__all__ = ["SAM_PARAMS", "perturbation", "register_sam", "sharpness_aware"]
