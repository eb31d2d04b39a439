"""Fused tensor operations written the way the reference implementations write them.

``torch.add(p, u, alpha=s)``, ``torch.addcmul(p, a, b, value=s)`` and ``torch.addcdiv(p, a, b,
value=s)`` round differently from ``p + s * u`` (the CPU kernels fuse the multiply and the add),
and over a few hundred steps of a sensitive run (a sign update, a trust ratio, a curved valley)
one rounding apart grows past any tolerance. A rule that mirrors a reference's
``p.add_(u, alpha=-lr)`` calls these helpers: with a Python number (every run of the batch shares
it) they call the same kernel as the reference; with a per-run ``(R, 1)`` tensor, which those
kernels do not take as a scalar, they call the fused form that rounds alike (checked bit for bit
in tests/test_new_optimizer_references.py).
"""

from __future__ import annotations

import torch


def add_scaled(p: torch.Tensor, u: torch.Tensor, s: float | torch.Tensor) -> torch.Tensor:
    """``p + s * u`` as ``torch.add(p, u, alpha=s)`` rounds it."""
    if isinstance(s, torch.Tensor):
        return torch.addcmul(p, u, s)
    return torch.add(p, u, alpha=s)


def addcdiv(
    p: torch.Tensor, a: torch.Tensor, b: torch.Tensor, s: float | torch.Tensor
) -> torch.Tensor:
    """``p + s * a / b`` as ``torch.addcdiv(p, a, b, value=s)`` rounds it."""
    if isinstance(s, torch.Tensor):
        return torch.addcdiv(p, s * a, b)
    return torch.addcdiv(p, a, b, value=s)


def addcmul(
    p: torch.Tensor, a: torch.Tensor, b: torch.Tensor, s: float | torch.Tensor
) -> torch.Tensor:
    """``p + s * a * b`` as ``torch.addcmul(p, a, b, value=s)`` rounds it."""
    if isinstance(s, torch.Tensor):
        return torch.addcmul(p, s * a, b)
    return torch.addcmul(p, a, b, value=s)


def lerp(a: torch.Tensor, b: torch.Tensor, w: float | torch.Tensor) -> torch.Tensor:
    """``a + w (b - a)`` as ``torch.lerp`` (which takes a number or a tensor weight)."""
    return torch.lerp(a, b, w)


def row_norm(x: torch.Tensor) -> torch.Tensor:
    """The Euclidean norm of each run's row, ``(R, D) -> (R, 1)``."""
    return torch.linalg.vector_norm(x, dim=-1, keepdim=True)


__all__ = ["add_scaled", "addcdiv", "addcmul", "lerp", "row_norm"]
