"""Flat parameter vectors: a model's named parameters as one (P,) vector and back.

Everything in the network engine works on flat vectors theta in R^P (P = number of parameters,
concatenated in ``named_parameters()`` order, each tensor flattened row-major). A ``Direction`` is
an ordered dict name -> tensor shaped like the parameter (the form of Li et al.'s code);
``direction_to_flat`` and ``unflatten`` convert between the two.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

Direction = OrderedDict  # OrderedDict[str, torch.Tensor], shaped like the model's parameters


@dataclass(frozen=True)
class ParamSpec:
    """Names, shapes, dtype and device of a model's parameters: how to unflatten a vector."""

    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    dtype: torch.dtype
    device: torch.device

    @property
    def numels(self) -> tuple[int, ...]:
        return tuple(math.prod(s) for s in self.shapes)

    @property
    def size(self) -> int:
        """P, the total number of parameters."""
        return sum(self.numels)

    def unflatten(self, flat: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        """``(..., P)`` -> name -> ``(..., *shape)`` views (leading batch dimensions kept)."""
        lead = flat.shape[:-1]
        parts = torch.split(flat, self.numels, dim=-1)
        return OrderedDict(
            (n, p.reshape(*lead, *s))
            for n, p, s in zip(self.names, parts, self.shapes, strict=True)
        )


def param_spec(model: nn.Module) -> ParamSpec:
    """The ``ParamSpec`` of ``model`` (all named parameters, trainable or not)."""
    named = list(model.named_parameters())
    if not named:
        raise ValueError("the model has no parameters")
    first = named[0][1]
    return ParamSpec(
        names=tuple(n for n, _ in named),
        shapes=tuple(tuple(p.shape) for _, p in named),
        dtype=first.dtype,
        device=first.device,
    )


def flatten(model: nn.Module) -> tuple[torch.Tensor, ParamSpec]:
    """theta ``(P,)`` (a detached copy of the parameters) and the spec to unflatten it."""
    spec = param_spec(model)
    with torch.no_grad():
        theta = torch.cat([p.detach().reshape(-1) for p in model.parameters()]).clone()
    return theta, spec


def _as_spec(spec: ParamSpec | nn.Module) -> ParamSpec:
    return spec if isinstance(spec, ParamSpec) else param_spec(spec)


def unflatten(
    flat: torch.Tensor | np.ndarray, spec: ParamSpec | nn.Module
) -> OrderedDict[str, torch.Tensor]:
    """Name -> tensor dict (a ``Direction``) from a flat ``(P,)`` (or ``(..., P)``) vector;
    ``spec`` is a ``ParamSpec`` or the model itself."""
    spec = _as_spec(spec)
    return spec.unflatten(as_flat(flat, spec))


def direction_to_flat(
    direction: Mapping[str, torch.Tensor], spec: ParamSpec | nn.Module | None = None
) -> torch.Tensor:
    """Concatenate a name -> tensor mapping into a ``(P,)`` tensor, in the spec's (or the
    model's) parameter order; with no spec, in the mapping's own order."""
    if spec is None:
        return torch.cat([torch.as_tensor(t).detach().reshape(-1) for t in direction.values()])
    spec = _as_spec(spec)
    missing = [n for n in spec.names if n not in direction]
    if missing:
        raise ValueError(f"direction has no entry for parameter {missing[0]!r}")
    parts = []
    for name, shape in zip(spec.names, spec.shapes, strict=True):
        t = torch.as_tensor(direction[name])
        if tuple(t.shape) != shape:
            raise ValueError(f"direction {name!r} has shape {tuple(t.shape)}, expected {shape}")
        parts.append(t.detach().reshape(-1).to(spec.device, spec.dtype))
    return torch.cat(parts)


def as_flat(x: object, spec: ParamSpec, *, batched: bool = False) -> torch.Tensor:
    """A parameter vector given as a tensor/array ``(..., P)``, a Direction or a module -> tensor.

    The result is detached, in the spec's dtype and device. With ``batched`` a 1-D input gains a
    leading axis of length 1.
    """
    if isinstance(x, nn.Module):
        flat = flatten(x)[0].to(spec.device, spec.dtype)
    elif isinstance(x, Mapping):
        flat = direction_to_flat(x, spec)
    else:
        flat = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
        flat = flat.detach().to(spec.device, spec.dtype)
    if flat.shape[-1:] != (spec.size,):
        raise ValueError(
            f"parameter vectors must have last dimension P = {spec.size}, got {tuple(flat.shape)}"
        )
    if batched and flat.ndim == 1:
        flat = flat[None]
    return flat


def with_params(model: nn.Module, flat: object) -> nn.Module:
    """A deep copy of ``model`` holding the parameter vector ``flat`` (the model is untouched)."""
    import copy

    spec = param_spec(model)
    values = spec.unflatten(as_flat(flat, spec))
    out = copy.deepcopy(model)
    with torch.no_grad():
        for name, p in out.named_parameters():
            p.copy_(values[name])
    return out
