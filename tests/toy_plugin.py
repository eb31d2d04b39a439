"""A plugin module for the app (``OPTISCAPE_PLUGINS=toy_plugin``): one toy optimizer and one toy
surface, registered through the engine's public API only. ``tests/test_plugins.py`` opens both in
the app; nothing under ``app/`` knows about them."""

from __future__ import annotations

import torch

import landscapes
import optimizers

OPTIMIZER = "sign_descent"
SURFACE = "toy_bowl"


def _init(params: torch.Tensor, hp: optimizers.base.HParams) -> dict[str, torch.Tensor]:
    return {"step": torch.zeros(1, 1, dtype=params.dtype, device=params.device)}


def _update(params, loss, grad, state, hp, oracle):
    """theta_t = theta_{t-1} - lr * sign(g_t); the runner records ``effective_lr``."""
    state = {"step": state["step"] + 1.0, "effective_lr": hp["lr"].expand_as(grad)}
    return params - hp["lr"] * torch.sign(grad), state


optimizers.register(
    optimizers.Optimizer(
        name=OPTIMIZER,
        title="Sign descent",
        init=_init,
        update=_update,
        elementwise=True,
        hyperparams=(
            optimizers.HyperParam(
                "lr", 0.05, low=0.0, log=True, ui=(1e-4, 1.0), description="step per coordinate"
            ),
        ),
        description="Step a fixed length against the sign of each gradient component.",
        maths=r"\theta_t = \theta_{t-1} - \eta\,\mathrm{sign}(\nabla f(\theta_{t-1}))",
        reference="Bernstein et al. 2018, 'signSGD: Compressed Optimisation for Non-Convex "
        "Problems', ICML",
    )
)


@landscapes.register(
    SURFACE,
    (landscapes.Parameter("a", 3.0, 0.5, 10.0, description="curvature along x (2a)"),),
)
def toy_bowl(a: float) -> landscapes.Landscape:
    """f(x, y) = a x^2 + y^2: one minimum at the origin."""

    def fn(p: torch.Tensor) -> torch.Tensor:
        return a * p[..., 0] ** 2 + p[..., 1] ** 2

    return landscapes.Landscape(
        key=SURFACE,
        name="Toy bowl",
        group="teaching",
        fn=fn,
        domain=((-2.0, 2.0), (-2.0, 2.0)),
        start=(1.5, 1.5),
        minima=(landscapes.Minimum(0.0, 0.0, 0.0),),
        formula=r"f(x, y) = a x^2 + y^2",
        notice="A bowl: every optimizer should reach the origin.",
    )
