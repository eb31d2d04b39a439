"""The `Landscape` dataclass: a batched, differentiable 2-D surface with its teaching metadata.

A landscape is a frozen value. Its identity is ``(key, params)``: two landscapes built with the same
key and parameters compare and hash equal, so they can key caches. The function itself is a torch
callable on points shaped ``(..., 2)`` returning values shaped ``(...)``; it is differentiable
twice (gradients and Hessians come from autograd).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch

Bounds = tuple[tuple[float, float], tuple[float, float]]
SurfaceFn = Callable[[torch.Tensor], torch.Tensor]
ValueGradFn = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
Number = torch.Tensor | float


@dataclass(frozen=True)
class Minimum:
    """A known minimum: location, value and kind ("global" or "local").

    ``smooth`` is False where the function is not differentiable at the point (the tip of
    Ackley's cone, Bukin N.6's ridge): there the zero-gradient test of the suite does not apply
    and ``note`` says why.
    """

    x: float
    y: float
    value: float
    kind: Literal["global", "local"] = "global"
    smooth: bool = True
    note: str = ""

    @property
    def point(self) -> tuple[float, float]:
        return (self.x, self.y)


@dataclass(frozen=True)
class Saddle:
    """A known saddle point (or other non-minimum stationary point) and its value."""

    x: float
    y: float
    value: float
    note: str = ""

    @property
    def point(self) -> tuple[float, float]:
        return (self.x, self.y)


@dataclass(frozen=True)
class Parameter:
    """A tunable parameter of a surface: default value, allowed range, and whether a log slider suits it."""

    name: str
    default: float
    low: float
    high: float
    log: bool = False
    integer: bool = False
    description: str = ""

    def validate(self, value: float) -> float:
        """Return ``value`` as a float, or raise ValueError naming the parameter and its range."""
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"parameter {self.name!r} must be a number in [{self.low}, {self.high}], got {value!r}"
            ) from None
        if not math.isfinite(v) or not (self.low <= v <= self.high):
            raise ValueError(
                f"parameter {self.name!r} must be in [{self.low}, {self.high}], got {value!r}"
            )
        if self.integer and v != int(v):
            raise ValueError(f"parameter {self.name!r} must be an integer, got {value!r}")
        return v


@dataclass(frozen=True)
class Landscape:
    """A 2-D surface f: R^2 -> R with everything the app needs to draw and explain it.

    Call it on points shaped ``(..., 2)`` (a tensor, an array or a pair) to get values ``(...)``.

    Attributes:
        key: registry key, e.g. ``"rosenbrock"``.
        name: display name.
        group: ``"classic"`` (optimization test functions) or ``"teaching"`` (built to show one effect).
        fn: the batched torch function (not part of equality).
        domain: ``((xmin, xmax), (ymin, ymax))``, the plotting and search box.
        start: default start point, chosen so that the default scene teaches something.
        minima: known minima (every global one, and the notable local ones).
        saddles: known saddle points.
        parameters: tunable parameters (specs); ``params`` holds the values in use.
        params: the parameter values of this instance, as sorted ``(name, value)`` pairs.
        formula: the function in LaTeX.
        notice: one line for the student: what to look for on this surface.
        references: where the function and its minima come from.
        log_scale: whether a log colour scale shows the surface better (steep walls, flat floor).
        all_minima_known: True when ``minima`` lists every local minimum in the domain, so a run
            stopped elsewhere cannot be in an unlisted minimum.
        gradient: the value and gradient in closed form (see :func:`closed_form`), or None for
            autograd. The runner evaluates it at every step: for a batch of 2-D points it is
            several times faster than a backward pass. Tests check it against autograd.
        second_derivatives: the Hessian in closed form (see :func:`closed_form_hessian`), or
            None for autograd's double backward (what Newton's method pays for at every step).
    """

    key: str
    name: str
    group: Literal["classic", "teaching"]
    fn: SurfaceFn = field(compare=False, repr=False)
    domain: Bounds
    start: tuple[float, float]
    minima: tuple[Minimum, ...]
    saddles: tuple[Saddle, ...] = ()
    parameters: tuple[Parameter, ...] = ()
    params: tuple[tuple[str, float], ...] = ()
    formula: str = field(default="", compare=False)
    notice: str = field(default="", compare=False)
    references: tuple[str, ...] = field(default=(), compare=False)
    log_scale: bool = field(default=False, compare=False)
    all_minima_known: bool = field(default=False, compare=False)
    gradient: ValueGradFn | None = field(default=None, compare=False, repr=False)
    second_derivatives: SurfaceFn | None = field(default=None, compare=False, repr=False)

    # -- evaluation -------------------------------------------------------------------------
    def __call__(self, points: torch.Tensor | np.ndarray | tuple | list) -> torch.Tensor:
        """Evaluate at ``points`` shaped ``(..., 2)``; non-tensors become float64 tensors."""
        if not isinstance(points, torch.Tensor):
            points = torch.as_tensor(np.asarray(points, dtype=np.float64))
        if points.shape[-1] != 2:
            raise ValueError(f"points must have shape (..., 2), got {tuple(points.shape)}")
        return self.fn(points)

    def value_and_grad(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Values ``(...)`` and gradients ``(..., 2)`` at ``points``, detached (closed form when
        the landscape has one, else autograd)."""
        if self.gradient is not None:
            with torch.no_grad():
                return self.gradient(points)
        return value_and_grad(self.fn, points)

    def hessian(self, points: torch.Tensor) -> torch.Tensor:
        """Hessians ``(..., 2, 2)`` at ``points`` (row j is the derivative of the gradient by x_j)."""
        if self.second_derivatives is not None:
            with torch.no_grad():
                return self.second_derivatives(points)
        return hessian(self.fn, points)

    def grid(
        self,
        resolution: int = 201,
        *,
        dtype: torch.dtype = torch.float64,
        device: str | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sample the domain: returns ``xs (r,)``, ``ys (r,)`` and ``Z (r, r)`` with ``Z[j, i] = f(xs[i], ys[j])``."""
        (x0, x1), (y0, y1) = self.domain
        xs = torch.linspace(x0, x1, resolution, dtype=dtype, device=device)
        ys = torch.linspace(y0, y1, resolution, dtype=dtype, device=device)
        yy, xx = torch.meshgrid(ys, xs, indexing="ij")
        with torch.no_grad():
            z = self.fn(torch.stack([xx, yy], dim=-1))
        return xs.cpu().numpy(), ys.cpu().numpy(), z.cpu().numpy()

    # -- metadata helpers -------------------------------------------------------------------
    @property
    def param_dict(self) -> dict[str, float]:
        return dict(self.params)

    @property
    def global_minimum(self) -> Minimum:
        """The first listed global minimum (all global minima share its value)."""
        return next(m for m in self.minima if m.kind == "global")

    @property
    def diagonal(self) -> float:
        """Length of the domain's diagonal: the natural length scale for tolerances."""
        (x0, x1), (y0, y1) = self.domain
        return math.hypot(x1 - x0, y1 - y0)


def value_and_grad(fn: SurfaceFn, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """f and its gradient at ``points`` shaped ``(..., D)`` by autograd; ``points`` is not modified."""
    x = points.detach().requires_grad_(True)
    with torch.enable_grad():
        y = fn(x)
        (g,) = torch.autograd.grad(y.sum(), x)
    return y.detach(), g


def closed_form(
    fxy: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
) -> ValueGradFn:
    """A value-and-gradient function on points ``(..., 2)`` from ``(x, y) -> (f, df/dx, df/dy)``."""

    def value_and_gradient(points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f, gx, gy = fxy(points[..., 0], points[..., 1])
        return f, torch.stack((gx, gy), dim=-1)

    return value_and_gradient


def closed_form_hessian(
    hxy: Callable[[torch.Tensor, torch.Tensor], tuple[Number, Number, Number]],
) -> SurfaceFn:
    """A Hessian function on points ``(..., 2)`` -> ``(..., 2, 2)`` from
    ``(x, y) -> (f_xx, f_xy, f_yy)`` (constants may be plain numbers)."""

    def second_derivatives(points: torch.Tensor) -> torch.Tensor:
        x = points[..., 0]
        hxx, hxy_, hyy = (
            v if isinstance(v, torch.Tensor) else torch.full_like(x, v)
            for v in hxy(x, points[..., 1])
        )
        return torch.stack((torch.stack((hxx, hxy_), -1), torch.stack((hxy_, hyy), -1)), -2)

    return second_derivatives


def hessian(fn: SurfaceFn, points: torch.Tensor) -> torch.Tensor:
    """Hessians ``(..., D, D)`` of a batched function by double backward, one row per coordinate."""
    x = points.detach().requires_grad_(True)
    d = x.shape[-1]
    with torch.enable_grad():
        (g,) = torch.autograd.grad(fn(x).sum(), x, create_graph=True)
        if not g.requires_grad:  # the gradient is constant: a linear function
            return torch.zeros(*x.shape, d, dtype=x.dtype, device=x.device)
        rows = []
        for j in range(d):
            (r,) = torch.autograd.grad(
                g[..., j].sum(), x, retain_graph=j < d - 1, allow_unused=True
            )
            rows.append(torch.zeros_like(x) if r is None else r)
    return torch.stack(rows, dim=-2).detach()


def bind_params(
    parameters: tuple[Parameter, ...], given: Mapping[str, float], key: str
) -> dict[str, float]:
    """Validate ``given`` against ``parameters`` and fill defaults; unknown names raise ValueError."""
    known = {p.name: p for p in parameters}
    unknown = sorted(set(given) - set(known))
    if unknown:
        allowed = ", ".join(known) or "none"
        raise ValueError(f"landscape {key!r} has no parameter {unknown[0]!r} (allowed: {allowed})")
    return {name: p.validate(given.get(name, p.default)) for name, p in known.items()}
