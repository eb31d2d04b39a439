"""Random directions in parameter space, normalised as in Li et al. 2018.

Li, Xu, Taylor, Studer & Goldstein 2018, "Visualizing the Loss Landscape of Neural Nets"
(NeurIPS), section 4 and their code (tomgoldstein/loss-landscape, ``net_plotter.py``):

- draw d ~ N(0, I) shaped like every parameter;
- "filter": for every filter / output unit i of a weight W (slice along dim 0),
  d_i <- d_i * ||W_i|| / (||d_i|| + 1e-10), so the direction has the scale of the weights filter
  by filter (this removes the scale invariance of ReLU networks from the picture);
- "layer": the same with the whole tensor as one slice; "none": the raw Gaussian;
- 1-D parameters (biases, batch-norm weights and biases): ``ignore="biasbn"`` zeroes them (the
  paper's choice); ``ignore="none"`` keeps them as the reference code does, ``d <- W`` (the
  per-element filter normalisation |d_i| = |W_i|, with the sign of W).
- optional Gram-Schmidt: d2 <- d2 - (d2.d1 / d1.d1) d1 after normalisation (then d2 is no longer
  exactly filter-normalised; random high-dimensional directions are nearly orthogonal anyway).
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
from torch import nn

from .params import Direction, ParamSpec, direction_to_flat, param_spec

NORMALIZATIONS = ("filter", "layer", "none")
IGNORES = ("biasbn", "none")


def normalize_direction(
    d: torch.Tensor, w: torch.Tensor, normalization: str = "filter", ignore: str = "biasbn"
) -> torch.Tensor:
    """Normalise one direction tensor ``d`` against the parameter ``w`` (see module docstring)."""
    if w.dim() <= 1:
        return torch.zeros_like(w) if ignore == "biasbn" else w.detach().clone()
    if normalization == "filter":
        dims = tuple(range(1, d.dim()))
        d_norm = torch.linalg.vector_norm(d, dim=dims, keepdim=True)
        w_norm = torch.linalg.vector_norm(w, dim=dims, keepdim=True)
        return d * w_norm / (d_norm + 1e-10)
    if normalization == "layer":
        return d * torch.linalg.vector_norm(w) / (torch.linalg.vector_norm(d) + 1e-10)
    return d.clone()


def random_directions(
    model: nn.Module,
    *,
    seed: int,
    normalization: str = "filter",
    ignore: str = "biasbn",
    orthogonalize: bool = False,
) -> tuple[Direction, Direction]:
    """Two random directions (d1, d2) shaped like ``model``'s named parameters.

    Gaussian entries from a ``torch.Generator`` seeded with ``seed`` (drawn on the CPU in float32,
    d1's tensors then d2's, in ``named_parameters()`` order, so results do not depend on the
    device), normalised per ``normalization`` / ``ignore`` (module docstring), optionally
    Gram-Schmidt orthogonalised. Detached, on the model's device and dtype. The model is not
    modified.
    """
    if normalization not in NORMALIZATIONS:
        raise ValueError(
            f"normalization must be one of {', '.join(NORMALIZATIONS)}, got {normalization!r}"
        )
    if ignore not in IGNORES:
        raise ValueError(f"ignore must be one of {', '.join(IGNORES)}, got {ignore!r}")
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    named = [(n, p.detach()) for n, p in model.named_parameters()]
    raw = [
        [torch.randn(p.shape, generator=gen, dtype=torch.float32) for _, p in named]
        for _ in range(2)
    ]
    out = []
    for draws in raw:
        d = OrderedDict()
        for (name, w), g in zip(named, draws, strict=True):
            g = g.to(w.device, w.dtype)
            d[name] = normalize_direction(g, w, normalization, ignore)
        out.append(d)
    d1, d2 = out
    if orthogonalize:
        d2 = orthogonalize_direction(d2, d1, param_spec(model))
    return d1, d2


def orthogonalize_direction(d2: Direction, d1: Direction, spec: ParamSpec) -> Direction:
    """Gram-Schmidt: d2 - (d2.d1 / d1.d1) d1, as a Direction."""
    f1, f2 = direction_to_flat(d1, spec), direction_to_flat(d2, spec)
    denom = torch.dot(f1, f1)
    if float(denom) > 0:
        f2 = f2 - torch.dot(f2, f1) / denom * f1
    return spec.unflatten(f2.clone())


def cosine(d1: Direction | torch.Tensor, d2: Direction | torch.Tensor, spec: ParamSpec) -> float:
    """Cosine of the angle between two directions."""
    a = d1 if isinstance(d1, torch.Tensor) else direction_to_flat(d1, spec)
    b = d2 if isinstance(d2, torch.Tensor) else direction_to_flat(d2, spec)
    den = float(torch.linalg.vector_norm(a) * torch.linalg.vector_norm(b))
    return float(torch.dot(a, b)) / den if den > 0 else float(np.nan)
