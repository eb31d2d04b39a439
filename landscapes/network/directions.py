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
- ``dir_type`` (their option of the same name): "weights" spans the parameters only, so batch
  norm's running statistics stay frozen at the model's values along the plane; "states" spans
  the whole state dict, as their code does: the directions also hold an entry for every
  floating-point buffer (running mean and variance), normalised like any 1-D tensor (zero with
  ``ignore="biasbn"``, so the statistics still do not move; d <- the buffer with
  ``ignore="none"``, so they move along the plane, e.g. running_var (1 + a + b) at (a, b)).
  ``loss_surface`` (batch_norm="eval") evaluates with the moved statistics; flat vectors
  (``direction_to_flat``) hold the parameters only.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
from torch import nn

from .params import Direction, ParamSpec, direction_to_flat, param_spec

NORMALIZATIONS = ("filter", "layer", "none")
IGNORES = ("biasbn", "none")
DIR_TYPES = ("weights", "states")


def state_buffers(model: nn.Module) -> list[tuple[str, torch.Tensor]]:
    """The model's floating-point buffers (batch norm's running mean and variance), in
    ``named_buffers()`` order: the entries a "states" direction adds to the parameters."""
    return [(n, b.detach()) for n, b in model.named_buffers() if b.is_floating_point()]


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
    dir_type: str = "weights",
) -> tuple[Direction, Direction]:
    """Two random directions (d1, d2) shaped like ``model``'s named parameters.

    Gaussian entries from a ``torch.Generator`` seeded with ``seed`` (drawn on the CPU in float32,
    d1's tensors then d2's, in ``named_parameters()`` order, so results do not depend on the
    device), normalised per ``normalization`` / ``ignore`` (module docstring), optionally
    Gram-Schmidt orthogonalised. Detached, on the model's device and dtype. The model is not
    modified. ``dir_type="states"`` adds the floating-point buffers after the parameters (drawn
    after them, so the parameters' entries do not change; module docstring).
    """
    if normalization not in NORMALIZATIONS:
        raise ValueError(
            f"normalization must be one of {', '.join(NORMALIZATIONS)}, got {normalization!r}"
        )
    if ignore not in IGNORES:
        raise ValueError(f"ignore must be one of {', '.join(IGNORES)}, got {ignore!r}")
    if dir_type not in DIR_TYPES:
        raise ValueError(f"dir_type must be one of {', '.join(DIR_TYPES)}, got {dir_type!r}")
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    named = [(n, p.detach()) for n, p in model.named_parameters()]
    raw = [
        [torch.randn(p.shape, generator=gen, dtype=torch.float32) for _, p in named]
        for _ in range(2)
    ]
    if dir_type == "states":  # drawn after the parameters' entries, which thus do not change
        bufs = state_buffers(model)
        for draws in raw:
            draws += [torch.randn(b.shape, generator=gen, dtype=torch.float32) for _, b in bufs]
        named += bufs
    out = []
    for draws in raw:
        d = OrderedDict()
        for (name, w), g in zip(named, draws, strict=True):
            g = g.to(w.device, w.dtype)
            d[name] = normalize_direction(g, w, normalization, ignore)
        out.append(d)
    d1, d2 = out
    if orthogonalize:
        extra = {n: d2[n] for n in d2 if n not in dict(model.named_parameters())}
        d2 = orthogonalize_direction(d2, d1, param_spec(model))
        d2.update(extra)  # the buffers' entries (if any) are left as drawn
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
