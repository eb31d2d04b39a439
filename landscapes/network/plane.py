"""A 2-D slice of a network's loss as a ``landscapes.Landscape``, so ``optimizers.simulate`` runs
on it unchanged ("optimize in the plane").

f(a, b) = L(c + a d1 + b d2) for plane coordinates (a, b): batched over points (..., 2) and
differentiable (gradients and Hessians by autograd through the network). It is a slice, not the
network's training problem: the gradient of f is the projection of the full gradient onto the
plane, so an optimizer moving in the plane can stall where the full network would move on.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from landscapes.base import Landscape

from .evaluator import LossFn, NetworkEvaluator
from .params import as_flat, flatten


def plane_landscape(
    model: nn.Module,
    loss_fn: LossFn,
    inputs: Any,
    targets: Any,
    center: Any,
    d1: Any,
    d2: Any,
    *,
    span: float,
    name: str = "network plane",
    batch_norm: str = "eval",
    key: str = "network_plane",
) -> Landscape:
    """The loss on the plane c + a d1 + b d2 as a Landscape over [-span, span]^2.

    ``center`` None means the model's parameters. Points are evaluated in the model's dtype and
    the values returned in the points' dtype (float64 from ``simulate``). The start is
    (-0.8 span, 0.8 span); no minima are known (``all_minima_known`` False).
    """
    if not (isinstance(span, int | float) and 0 < span < float("inf")):
        raise ValueError(f"span must be a finite number > 0, got {span!r}")
    ev = NetworkEvaluator(model, loss_fn, batch_norm=batch_norm)
    c = flatten(model)[0] if center is None else as_flat(center, ev.spec)
    basis = torch.stack([c, as_flat(d1, ev.spec), as_flat(d2, ev.spec)])
    x = torch.as_tensor(inputs).to(ev.spec.device, ev.spec.dtype)
    y = torch.as_tensor(targets).to(ev.spec.device)
    if x.shape[0] != y.shape[0] or y.shape[0] == 0:
        raise ValueError("inputs and targets must hold the same number (> 0) of samples")

    def fn(points: torch.Tensor) -> torch.Tensor:
        lead = points.shape[:-1]
        coords = points.reshape(-1, 2)
        flat = basis[0] + coords[:, :1].to(basis.dtype) * basis[1]
        flat = flat + coords[:, 1:].to(basis.dtype) * basis[2]
        if flat.shape[0] == 0:
            return points.new_zeros(lead)
        vals = ev.values(flat, x, y, differentiable=torch.is_grad_enabled())
        return vals.to(points.dtype).reshape(lead)

    s = float(span)
    return Landscape(
        key=key,
        name=name,
        group="teaching",
        fn=fn,
        domain=((-s, s), (-s, s)),
        start=(-0.8 * s, 0.8 * s),
        minima=(),
        formula=r"f(a, b) = L(\theta_c + a\,d_1 + b\,d_2)",
        notice=(
            "A 2-D slice of a network's loss: optimizers here only see the gradient projected "
            "onto the plane, so they can stall or converge where the full network would not."
        ),
        references=(
            "Li, Xu, Taylor, Studer & Goldstein 2018, 'Visualizing the Loss Landscape of "
            "Neural Nets', NeurIPS",
        ),
        all_minima_known=False,
    )
