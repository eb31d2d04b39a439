"""Classic 2-D test functions of global optimization, with verified minima and saddle points.

Each surface is registered under its key (group ``"classic"``) by a factory that returns a
:class:`~landscapes.base.Landscape`. The torch functions use torch operations only, so they run on
any device and dtype and are differentiable twice wherever the mathematics allows; where it does
not (the tip of Ackley's cone, Bukin N.6's ridge, the kinks of ``abs``) the formulation keeps
gradients finite: ``_safe_sqrt`` and ``_abs`` have derivative 0 at 0 (a subgradient).

Every stored location and value was refined numerically in float64 (Newton's method from the
published location, to about 12 significant digits; values are the function's value at the
refined point) or is a closed form. Published tables are mostly rounded correctly, but not always:

* McCormick: the usual ``f(-0.54719, -1.54719) = -1.9133`` is off in the last digit; the minimum
  is exactly ``(1/2 - π/3, -1/2 - π/3)`` with value ``-√3/2 - π/3 = -1.913222955``.
* Eggholder: ``y = 404.2319`` should read 404.2318 (404.231805...); -959.6407 is right.
* Styblinski-Tang: the per-dimension value -39.16599 (sfu.ca) is wrong, it is -39.16616570
  (the 2-D minimum is -78.33233141).
* Himmelblau: tables truncate ``(-2.805118, 3.131313)`` and ``(3.584428, -1.848127)`` to
  ...3.131312 and ...-1.848126; the local maximum 181.617 is 181.6165215.
* Levi N.13: the minimum value is exactly 0; the 1.35e-31 printed by some tables is the
  floating-point residue of sin²(3π).
* Cross-in-tray (-2.06261), Hölder table (-19.2085), six-hump camel (-1.0316) and Branin
  (0.397887 = 5/(4π)) are correctly rounded to the digits usually given.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from .base import (
    Bounds,
    Landscape,
    Minimum,
    Parameter,
    Saddle,
    SurfaceFn,
    ValueGradFn,
    closed_form,
    closed_form_hessian,
)
from .registry import register

PI = math.pi
SQRT3 = math.sqrt(3.0)

JAMIL_YANG = (
    "M. Jamil and X.-S. Yang (2013), A literature survey of benchmark functions for global "
    "optimization problems, Int. J. Mathematical Modelling and Numerical Optimisation 4(2):150-194"
)
SFU = (
    "S. Surjanovic and D. Bingham, Virtual Library of Simulation Experiments: Test Functions and "
    "Datasets, https://www.sfu.ca/~ssurjano"
)
MOLGA = "M. Molga and C. Smutnicki (2005), Test functions for optimization needs"
DIXON_SZEGO = (
    "L. C. W. Dixon and G. P. Szegő (1978), The global optimization problem: an introduction, "
    "in Towards Global Optimisation 2, North-Holland, 1-15"
)
MISHRA = (
    "S. K. Mishra (2006), Some new test functions for global optimization and performance of "
    "repulsive particle swarm method, MPRA Paper 2718"
)


# -- helpers --------------------------------------------------------------------------------------
def _xy(p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return p[..., 0], p[..., 1]


def _safe_sqrt(s: torch.Tensor) -> torch.Tensor:
    """``sqrt(s)`` for ``s >= 0`` whose derivatives at 0 are 0 instead of inf/NaN (a subgradient)."""
    positive = s > 0
    root = torch.sqrt(torch.where(positive, s, torch.ones_like(s)))
    return torch.where(positive, root, torch.zeros_like(s))


def _abs(t: torch.Tensor) -> torch.Tensor:
    """``|t|`` with derivative 0 at 0, as ``torch.abs``; written ``t sign(t)`` because the double
    backward of ``torch.abs`` imports torch's compiler stack on first use (a second or two)."""
    return t * torch.sign(t)


def _pm(cls, x: float, y: float, value: float, **kw) -> tuple:
    """The point-symmetric pair ``±(x, y)`` of minima or saddles."""
    return cls(x, y, value, **kw), cls(-x, -y, value, **kw)


def _corners(cls, x: float, y: float, value: float, **kw) -> tuple:
    """The four mirror images ``(±x, ±y)``."""
    return tuple(cls(sx * x, sy * y, value, **kw) for sx in (1, -1) for sy in (1, -1))


def _axes(cls, t: float, value: float, **kw) -> tuple:
    """The four points ``(±t, 0)`` and ``(0, ±t)``."""
    return tuple(cls(*xy, value, **kw) for xy in ((t, 0.0), (-t, 0.0), (0.0, t), (0.0, -t)))


def _classic(
    key: str,
    name: str,
    fn: Callable[[torch.Tensor], torch.Tensor],
    *,
    domain: Bounds,
    start: tuple[float, float],
    minima: tuple[Minimum, ...],
    formula: str,
    notice: str,
    references: tuple[str, ...],
    saddles: tuple[Saddle, ...] = (),
    log_scale: bool = False,
    all_minima_known: bool = False,
    gradient: ValueGradFn | None = None,
    second_derivatives: SurfaceFn | None = None,
) -> Landscape:
    """Assemble a classic landscape (the registry adds its parameter specs and values)."""
    return Landscape(
        key=key,
        name=name,
        group="classic",
        fn=fn,
        domain=domain,
        start=start,
        minima=minima,
        saddles=saddles,
        formula=formula,
        notice=notice,
        references=references,
        log_scale=log_scale,
        all_minima_known=all_minima_known,
        gradient=gradient,
        second_derivatives=second_derivatives,
    )


# -- valleys and bowls ----------------------------------------------------------------------------
ROSENBROCK_PARAMS = (
    Parameter("a", 1.0, 0.1, 3.0, description="position of the minimum (a, a²)"),
    Parameter("b", 100.0, 1.0, 1000.0, log=True, description="steepness of the valley walls"),
)


@register("rosenbrock", parameters=ROSENBROCK_PARAMS)
def rosenbrock(a: float = 1.0, b: float = 100.0) -> Landscape:
    """Rosenbrock's banana valley: f = (a - x)² + b (y - x²)², one minimum at (a, a²), value 0.

    Rosenbrock (1960), The Computer Journal 3(3):175-184. The gradient vanishes only at the minimum.
    """

    def fn(p: torch.Tensor) -> torch.Tensor:
        x, y = _xy(p)
        return (a - x) ** 2 + b * (y - x**2) ** 2

    def grad(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        u, r = a - x, y - x * x
        # the products grouped as autograd groups them: the same bits, step for step
        return u * u + b * (r * r), -2.0 * u - 4.0 * (b * r) * x, 2.0 * (b * r)

    def hess(x: torch.Tensor, y: torch.Tensor) -> tuple:
        return 2.0 - 4.0 * b * y + 12.0 * b * x * x, -4.0 * b * x, 2.0 * b

    return _classic(
        "rosenbrock",
        "Rosenbrock",
        fn,
        domain=((-2.0, max(2.0, a + 1.0)), (-1.0, max(3.0, a * a + 1.0))),
        start=(-1.5, 2.0),
        minima=(Minimum(a, a * a, 0.0),),
        formula=r"f(x, y) = (a - x)^2 + b\,(y - x^2)^2",
        notice="The curved valley is easy to fall into but nearly flat along its floor: "
        "watch descent zig-zag across it and crawl towards (a, a²).",
        references=(
            "H. H. Rosenbrock (1960), An automatic method for finding the greatest or least value "
            "of a function, The Computer Journal 3(3):175-184",
            SFU,
        ),
        log_scale=True,
        all_minima_known=True,
        gradient=closed_form(grad),
        second_derivatives=closed_form_hessian(hess),
    )


@register("sphere")
def sphere() -> Landscape:
    """Sphere (De Jong's F1): f = x² + y², minimum (0, 0), value 0. De Jong (1975); Jamil & Yang."""

    def fn(p: torch.Tensor) -> torch.Tensor:
        x, y = _xy(p)
        return x**2 + y**2

    def grad(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return x * x + y * y, 2.0 * x, 2.0 * y

    def hess(x: torch.Tensor, y: torch.Tensor) -> tuple:
        return 2.0, 0.0, 2.0

    return _classic(
        "sphere",
        "Sphere",
        fn,
        domain=((-5.12, 5.12), (-5.12, 5.12)),
        start=(-4.0, 3.0),
        minima=(Minimum(0.0, 0.0, 0.0),),
        formula=r"f(x, y) = x^2 + y^2",
        notice="The easiest surface: round contours, so every gradient points straight at the "
        "minimum.",
        references=(
            "K. A. De Jong (1975), An analysis of the behavior of a class of genetic adaptive "
            "systems, PhD thesis, University of Michigan",
            JAMIL_YANG,
        ),
        all_minima_known=True,
        gradient=closed_form(grad),
        second_derivatives=closed_form_hessian(hess),
    )


@register("booth")
def booth() -> Landscape:
    """Booth: f = (x + 2y - 7)² + (2x + y - 5)², minimum (1, 3), value 0 (Hessian eigenvalues 2, 18).

    Jamil & Yang (2013); Surjanovic & Bingham.
    """

    def fn(p: torch.Tensor) -> torch.Tensor:
        x, y = _xy(p)
        return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2

    def grad(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        u, v = x + 2.0 * y - 7.0, 2.0 * x + y - 5.0
        return u * u + v * v, 2.0 * u + 4.0 * v, 4.0 * u + 2.0 * v

    def hess(x: torch.Tensor, y: torch.Tensor) -> tuple:
        return 10.0, 8.0, 10.0

    return _classic(
        "booth",
        "Booth",
        fn,
        domain=((-10.0, 10.0), (-10.0, 10.0)),
        start=(-7.0, 7.0),
        minima=(Minimum(1.0, 3.0, 0.0),),
        formula=r"f(x, y) = (x + 2y - 7)^2 + (2x + y - 5)^2",
        notice="A tilted quadratic bowl with condition number 9: gradient descent zig-zags across "
        "the narrow direction.",
        references=(JAMIL_YANG, SFU),
        all_minima_known=True,
        gradient=closed_form(grad),
        second_derivatives=closed_form_hessian(hess),
    )


@register("matyas")
def matyas() -> Landscape:
    """Matyas: f = 0.26 (x² + y²) - 0.48 xy, minimum (0, 0), value 0 (Hessian eigenvalues 0.04, 1).

    Jamil & Yang (2013); Surjanovic & Bingham.
    """

    def fn(p: torch.Tensor) -> torch.Tensor:
        x, y = _xy(p)
        return 0.26 * (x**2 + y**2) - 0.48 * x * y

    def grad(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return 0.26 * (x * x + y * y) - 0.48 * x * y, 0.52 * x - 0.48 * y, 0.52 * y - 0.48 * x

    def hess(x: torch.Tensor, y: torch.Tensor) -> tuple:
        return 0.52, -0.48, 0.52

    return _classic(
        "matyas",
        "Matyas",
        fn,
        domain=((-10.0, 10.0), (-10.0, 10.0)),
        start=(8.0, 5.0),
        minima=(Minimum(0.0, 0.0, 0.0),),
        formula=r"f(x, y) = 0.26\,(x^2 + y^2) - 0.48\,xy",
        notice="A nearly flat diagonal valley (condition number 25): the last stretch along the "
        "valley floor is slow.",
        references=(JAMIL_YANG, SFU),
        all_minima_known=True,
        gradient=closed_form(grad),
        second_derivatives=closed_form_hessian(hess),
    )


@register("beale")
def beale() -> Landscape:
    """Beale: f = (1.5 - x + xy)² + (2.25 - x + xy²)² + (2.625 - x + xy³)², minimum (3, 0.5), 0.

    Beale (1958), Princeton tech. report 25. f is constant (14.203125) on the line y = 1, which
    holds a saddle at (0, 1); a second saddle sits at (0.1005, -2.6445).
    """

    def fn(p: torch.Tensor) -> torch.Tensor:
        x, y = _xy(p)
        return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2

    def grad(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        y2 = y * y
        y3 = y2 * y
        u1, u2, u3 = 1.5 - x + x * y, 2.25 - x + x * y2, 2.625 - x + x * y3
        f = u1 * u1 + u2 * u2 + u3 * u3
        gx = 2.0 * (u1 * (y - 1.0) + u2 * (y2 - 1.0) + u3 * (y3 - 1.0))
        gy = 2.0 * x * (u1 + 2.0 * y * u2 + 3.0 * y2 * u3)
        return f, gx, gy

    def hess(x: torch.Tensor, y: torch.Tensor) -> tuple:
        y2 = y * y
        y3 = y2 * y
        u1, u2, u3 = 1.5 - x + x * y, 2.25 - x + x * y2, 2.625 - x + x * y3
        d1, d2, d3 = y - 1.0, y2 - 1.0, y3 - 1.0  # derivatives of u1, u2, u3 by x
        e1, e2, e3 = x, 2.0 * x * y, 3.0 * x * y2  # ... and by y
        hxx = 2.0 * (d1 * d1 + d2 * d2 + d3 * d3)
        hxy = 2.0 * (d1 * e1 + u1 + d2 * e2 + 2.0 * y * u2 + d3 * e3 + 3.0 * y2 * u3)
        hyy = 2.0 * (e1 * e1 + e2 * e2 + e3 * e3 + 2.0 * x * u2 + 6.0 * x * y * u3)
        return hxx, hxy, hyy

    return _classic(
        "beale",
        "Beale",
        fn,
        domain=((-4.5, 4.5), (-4.5, 4.5)),
        start=(-1.0, 1.5),
        minima=(Minimum(3.0, 0.5, 0.0),),
        saddles=(
            Saddle(0.0, 1.0, 14.203125),
            Saddle(0.100537937324158, -2.64451358502312, 9.86451228475556),
        ),
        formula=r"f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2",
        notice="Sharp ridges and a flat plateau around y = 1 (a saddle sits at (0, 1)): big steps "
        "overshoot, small gradients stall.",
        references=(
            "E. M. L. Beale (1958), On an iterative method for finding a local minimum of a "
            "function of more than one variable, Tech. Rep. 25, Statistical Techniques Research "
            "Group, Princeton University",
            SFU,
        ),
        log_scale=True,
        all_minima_known=True,
        gradient=closed_form(grad),
        second_derivatives=closed_form_hessian(hess),
    )


@register("mccormick")
def mccormick() -> Landscape:
    """McCormick: f = sin(x + y) + (x - y)² - 1.5x + 2.5y + 1 on [-1.5, 4] x [-3, 4].

    Stationary points lie on x - y = 1 with cos(x + y) = -1/2: global minimum at
    (1/2 - π/3, -1/2 - π/3), value -√3/2 - π/3 = -1.913222955 (often misprinted -1.9133), a local
    minimum at (1/2 + 2π/3, -1/2 + 2π/3) and a saddle at (1/2 + π/3, -1/2 + π/3).
    Jamil & Yang (2013); Surjanovic & Bingham.
    """

    def fn(p: torch.Tensor) -> torch.Tensor:
        x, y = _xy(p)
        return torch.sin(x + y) + (x - y) ** 2 - 1.5 * x + 2.5 * y + 1

    def grad(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        s, d = x + y, x - y
        c = torch.cos(s)
        f = torch.sin(s) + d * d - 1.5 * x + 2.5 * y + 1.0
        return f, c + 2.0 * d - 1.5, c - 2.0 * d + 2.5

    def hess(x: torch.Tensor, y: torch.Tensor) -> tuple:
        sn = torch.sin(x + y)
        return 2.0 - sn, -2.0 - sn, 2.0 - sn

    return _classic(
        "mccormick",
        "McCormick",
        fn,
        domain=((-1.5, 4.0), (-3.0, 4.0)),
        start=(-1.0, 3.0),
        minima=(
            Minimum(0.5 - PI / 3, -0.5 - PI / 3, -SQRT3 / 2 - PI / 3),
            Minimum(0.5 + 2 * PI / 3, -0.5 + 2 * PI / 3, -SQRT3 / 2 + 2 * PI / 3, kind="local"),
        ),
        saddles=(Saddle(0.5 + PI / 3, -0.5 + PI / 3, SQRT3 / 2 + PI / 3),),
        formula=r"f(x, y) = \sin(x + y) + (x - y)^2 - 1.5x + 2.5y + 1",
        notice="A global and a local minimum on the line x − y = 1, separated by a saddle: the "
        "side you start on decides.",
        references=(JAMIL_YANG, SFU),
        all_minima_known=True,
        gradient=closed_form(grad),
        second_derivatives=closed_form_hessian(hess),
    )


# -- several basins -------------------------------------------------------------------------------
@register("himmelblau")
def himmelblau() -> Landscape:
    """Himmelblau: f = (x² + y - 11)² + (x + y² - 7)², four global minima of value 0.

    Himmelblau (1972), Applied Nonlinear Programming. Besides the four minima it has one local
    maximum (-0.2708446, -0.9230386), value 181.6165215, and four saddles.
    """

    def fn(p: torch.Tensor) -> torch.Tensor:
        x, y = _xy(p)
        return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2

    def grad(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        u, v = x * x + y - 11.0, x + y * y - 7.0
        return u * u + v * v, 4.0 * x * u + 2.0 * v, 2.0 * u + 4.0 * y * v

    def hess(x: torch.Tensor, y: torch.Tensor) -> tuple:
        return (
            4.0 * (x * x + y - 11.0) + 8.0 * x * x + 2.0,
            4.0 * (x + y),
            4.0 * (x + y * y - 7.0) + 8.0 * y * y + 2.0,
        )

    return _classic(
        "himmelblau",
        "Himmelblau",
        fn,
        domain=((-5.0, 5.0), (-5.0, 5.0)),
        start=(-0.3, 0.0),
        minima=(
            Minimum(3.0, 2.0, 0.0),
            Minimum(-2.80511808695274, 3.13131251825057, 0.0),
            Minimum(-3.77931025337775, -3.28318599128617, 0.0),
            Minimum(3.58442834033049, -1.8481265269644, 0.0),
        ),
        saddles=(
            Saddle(-0.270844590667348, -0.923038556479981, 181.616521522583, note="local maximum"),
            Saddle(3.38515418360702, 0.0738518798377493, 13.3119262704056),
            Saddle(0.0866775045553963, 2.88425470117478, 67.7191500875261),
            Saddle(-3.07302575076439, -0.0813530442879675, 104.015162917558),
            Saddle(-0.12796134673068, -1.95371498024458, 178.337239201927),
        ),
        formula=r"f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2",
        notice="Four equally good minima: which one a run reaches depends on the start and the "
        "optimizer, not on quality.",
        references=(
            "D. M. Himmelblau (1972), Applied Nonlinear Programming, McGraw-Hill",
            SFU,
        ),
        log_scale=True,
        all_minima_known=True,
        gradient=closed_form(grad),
        second_derivatives=closed_form_hessian(hess),
    )


@register("three_hump_camel")
def three_hump_camel() -> Landscape:
    """Three-hump camel: f = 2x² - 1.05x⁴ + x⁶/6 + xy + y², global (0, 0), value 0.

    Two local minima ±(1.747552, -0.873776), value 0.2986384, behind two saddles.
    Jamil & Yang (2013); Surjanovic & Bingham.
    """

    def fn(p: torch.Tensor) -> torch.Tensor:
        x, y = _xy(p)
        return 2 * x**2 - 1.05 * x**4 + x**6 / 6 + x * y + y**2

    def grad(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x2 = x * x
        f = x2 * (2.0 - 1.05 * x2 + x2 * x2 / 6.0) + x * y + y * y
        return f, x * (4.0 - 4.2 * x2 + x2 * x2) + y, x + 2.0 * y

    def hess(x: torch.Tensor, y: torch.Tensor) -> tuple:
        x2 = x * x
        return 4.0 - 12.6 * x2 + 5.0 * x2 * x2, 1.0, 2.0

    return _classic(
        "three_hump_camel",
        "Three-hump camel",
        fn,
        domain=((-3.0, 3.0), (-3.0, 3.0)),
        start=(2.0, -1.5),
        minima=(
            Minimum(0.0, 0.0, 0.0),
            *_pm(Minimum, 1.74755234583029, -0.873776172915144, 0.298638442236861, kind="local"),
        ),
        saddles=_pm(Saddle, 1.07054229182366, -0.53527114591183, 0.87736155776314),
        formula=r"f(x, y) = 2x^2 - 1.05x^4 + \frac{x^6}{6} + xy + y^2",
        notice="Two shallow side basins catch descent started on the flanks; only the middle one "
        "holds the global minimum.",
        references=(JAMIL_YANG, SFU),
        log_scale=True,
        all_minima_known=True,
        gradient=closed_form(grad),
        second_derivatives=closed_form_hessian(hess),
    )


@register("six_hump_camel")
def six_hump_camel() -> Landscape:
    """Six-hump camel: f = (4 - 2.1x² + x⁴/3)x² + xy + (-4 + 4y²)y².

    Global minima ±(0.0898420, -0.7126564), value -1.031628453; local minima ±(1.703607, -0.796084),
    value -0.2154638, and ±(1.607105, 0.568651), value 2.104250; a saddle at the origin.
    Dixon & Szegő (1978); Molga & Smutnicki (2005).
    """

    def fn(p: torch.Tensor) -> torch.Tensor:
        x, y = _xy(p)
        return (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2

    def grad(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x2, y2 = x * x, y * y
        f = (4.0 - 2.1 * x2 + x2 * x2 / 3.0) * x2 + x * y + (-4.0 + 4.0 * y2) * y2
        return f, x * (8.0 - 8.4 * x2 + 2.0 * x2 * x2) + y, x + y * (16.0 * y2 - 8.0)

    def hess(x: torch.Tensor, y: torch.Tensor) -> tuple:
        x2 = x * x
        return 8.0 - 25.2 * x2 + 10.0 * x2 * x2, 1.0, 48.0 * y * y - 8.0

    return _classic(
        "six_hump_camel",
        "Six-hump camel",
        fn,
        domain=((-2.0, 2.0), (-1.0, 1.0)),
        start=(-1.0, -0.5),
        minima=(
            *_pm(Minimum, 0.0898420131003181, -0.71265640302074, -1.03162845348988),
            *_pm(Minimum, 1.70360671496998, -0.796083568672625, -0.215463824383717, kind="local"),
            *_pm(Minimum, 1.6071047529202, 0.568651454884131, 2.10425031031126, kind="local"),
        ),
        saddles=(
            Saddle(0.0, 0.0, 0.0),
            *_pm(Saddle, 1.10920533680479, -0.76826809250954, 0.543718600978185),
            *_pm(Saddle, 1.63806798418978, 0.228674069044394, 2.22935719753071),
            *_pm(Saddle, 1.29607026716711, 0.605084388038658, 2.22947081802986),
            *_pm(
                Saddle, 1.23022987651665, 0.162334584458995, 2.49629535102358, note="local maximum"
            ),
        ),
        formula=r"f(x, y) = \left(4 - 2.1x^2 + \frac{x^4}{3}\right)x^2 + xy + (-4 + 4y^2)\,y^2",
        notice="Two mirror-image global minima, four local ones and a saddle at the origin: the "
        "start decides the outcome.",
        references=(DIXON_SZEGO, MOLGA, SFU),
        all_minima_known=True,
        gradient=closed_form(grad),
        second_derivatives=closed_form_hessian(hess),
    )


@register("goldstein_price")
def goldstein_price() -> Landscape:
    """Goldstein-Price: a product of two quartic factors, global minimum (0, -1), value 3.

    Goldstein & Price (1971), Math. Comp. 25(115):569-574. Local minima (-0.6, -0.4) value 30,
    (1.8, 0.2) value 84 and (1.2, 0.8) value 840; four saddles and a maximum (0.8, 0.2).
    """

    def fn(p: torch.Tensor) -> torch.Tensor:
        x, y = _xy(p)
        a = 1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2)
        b = 30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2)
        return a * b

    def parts(x: torch.Tensor, y: torch.Tensor) -> tuple:
        """f = P Q with P = 1 + s² A, Q = 30 + w² B (s = x + y + 1, w = 2x - 3y), and the
        first derivatives of A (A_x = A_y) and B."""
        s, w = x + y + 1.0, 2.0 * x - 3.0 * y
        a = 19.0 - 14.0 * x + 3.0 * x * x - 14.0 * y + 6.0 * x * y + 3.0 * y * y
        b = 18.0 - 32.0 * x + 12.0 * x * x + 48.0 * y - 36.0 * x * y + 27.0 * y * y
        a1 = -14.0 + 6.0 * x + 6.0 * y
        bx, by = -32.0 + 24.0 * x - 36.0 * y, 48.0 - 36.0 * x + 54.0 * y
        return s, w, a, b, a1, bx, by, 1.0 + s * s * a, 30.0 + w * w * b

    def grad(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        s, w, a, b, a1, bx, by, pp, qq = parts(x, y)
        p1 = 2.0 * s * a + s * s * a1  # P_x = P_y
        qx, qy = 4.0 * w * b + w * w * bx, -6.0 * w * b + w * w * by
        return pp * qq, p1 * qq + pp * qx, p1 * qq + pp * qy

    def hess(x: torch.Tensor, y: torch.Tensor) -> tuple:
        s, w, a, b, a1, bx, by, pp, qq = parts(x, y)
        p1 = 2.0 * s * a + s * s * a1
        p2 = 2.0 * a + 4.0 * s * a1 + 6.0 * s * s  # P_xx = P_xy = P_yy
        qx, qy = 4.0 * w * b + w * w * bx, -6.0 * w * b + w * w * by
        qxx = 8.0 * b + 8.0 * w * bx + 24.0 * w * w
        qxy = -12.0 * b + 4.0 * w * by - 6.0 * w * bx - 36.0 * w * w
        qyy = 18.0 * b - 12.0 * w * by + 54.0 * w * w
        return (
            p2 * qq + 2.0 * p1 * qx + pp * qxx,
            p2 * qq + p1 * qy + p1 * qx + pp * qxy,
            p2 * qq + 2.0 * p1 * qy + pp * qyy,
        )

    return _classic(
        "goldstein_price",
        "Goldstein-Price",
        fn,
        domain=((-2.0, 2.0), (-2.0, 2.0)),
        start=(1.5, 1.5),
        minima=(
            Minimum(0.0, -1.0, 3.0),
            Minimum(-0.6, -0.4, 30.0, kind="local"),
            Minimum(1.8, 0.2, 84.0, kind="local"),
            Minimum(1.2, 0.8, 840.0, kind="local"),
        ),
        saddles=(
            Saddle(-0.4, -0.6, 35.0),
            Saddle(1.2, -0.2, 99.0),
            Saddle(1.4, 0.6, 980.0),
            Saddle(0.6, 0.4, 990.0),
            Saddle(0.8, 0.2, 1155.0, note="local maximum"),
        ),
        formula=r"f(x, y) = \left[1 + (x + y + 1)^2 (19 - 14x + 3x^2 - 14y + 6xy + 3y^2)\right]"
        r"\left[30 + (2x - 3y)^2 (18 - 32x + 12x^2 + 48y - 36xy + 27y^2)\right]",
        notice="Values span six orders of magnitude (use the log scale): local minima at 30, 84 "
        "and 840 surround the global one at 3.",
        references=(
            "A. A. Goldstein and J. F. Price (1971), On descent from local minima, Mathematics of "
            "Computation 25(115):569-574",
            DIXON_SZEGO,
            SFU,
        ),
        log_scale=True,
        all_minima_known=True,
        gradient=closed_form(grad),
        second_derivatives=closed_form_hessian(hess),
    )


@register("styblinski_tang")
def styblinski_tang() -> Landscape:
    """Styblinski-Tang: f = ½ Σ (t⁴ - 16t² + 5t) over t in (x, y); separable, four minima.

    Styblinski & Tang (1990), Neural Networks 3(4):467-483. Global (-2.903534, -2.903534), value
    -78.33233141 (2 x -39.16616570; sfu.ca's -39.16599 per dimension is wrong); local minima
    with 2.746803 in one or both coordinates.
    """

    def fn(p: torch.Tensor) -> torch.Tensor:
        x, y = _xy(p)
        return 0.5 * ((x**4 - 16 * x**2 + 5 * x) + (y**4 - 16 * y**2 + 5 * y))

    def grad(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x2, y2 = x * x, y * y
        f = 0.5 * ((x2 * x2 - 16.0 * x2 + 5.0 * x) + (y2 * y2 - 16.0 * y2 + 5.0 * y))
        return f, 2.0 * x2 * x - 16.0 * x + 2.5, 2.0 * y2 * y - 16.0 * y + 2.5

    def hess(x: torch.Tensor, y: torch.Tensor) -> tuple:
        return 6.0 * x * x - 16.0, 0.0, 6.0 * y * y - 16.0

    lo, hi, top = -2.90353402777118, 2.74680277099084, 0.15673125678034  # 1-D stationary points
    return _classic(
        "styblinski_tang",
        "Styblinski-Tang",
        fn,
        domain=((-5.0, 5.0), (-5.0, 5.0)),
        start=(0.5, 1.0),
        minima=(
            Minimum(lo, lo, -78.3323314075428),
            Minimum(hi, lo, -64.1956123590554, kind="local"),
            Minimum(lo, hi, -64.1956123590554, kind="local"),
            Minimum(hi, hi, -50.0588933105679, kind="local"),
        ),
        saddles=(
            Saddle(top, lo, -38.9705533447161),
            Saddle(lo, top, -38.9705533447161),
            Saddle(top, hi, -24.8338342962286),
            Saddle(hi, top, -24.8338342962286),
            Saddle(top, top, 0.391224718110716, note="local maximum"),
        ),
        formula=r"f(x, y) = \tfrac12 \sum_{t \in \{x, y\}} \left(t^4 - 16t^2 + 5t\right)",
        notice="Four basins of different depth: the one downhill from the start is often not the "
        "deepest.",
        references=(
            "M. A. Styblinski and T.-S. Tang (1990), Experiments in nonconvex optimization: "
            "stochastic approximation with function smoothing and simulated annealing, Neural "
            "Networks 3(4):467-483",
            SFU,
        ),
        all_minima_known=True,
        gradient=closed_form(grad),
        second_derivatives=closed_form_hessian(hess),
    )


@register("branin")
def branin() -> Landscape:
    """Branin (Branin-Hoo): f = (y - 5.1x²/(4π²) + 5x/π - 6)² + 10(1 - 1/(8π)) cos x + 10.

    Branin (1972), IBM J. Res. Dev. 16(5):504-522. Three global minima where cos x = -1 and the
    square vanishes: (-π, 12.275), (π, 2.275), (3π, 2.475), value 5/(4π) = 0.3978873577; saddles
    at (0, 6) and (2π, 1.1).
    """
    b, c, t = 5.1 / (4 * PI**2), 5 / PI, 1 / (8 * PI)

    def fn(p: torch.Tensor) -> torch.Tensor:
        x, y = _xy(p)
        return (y - b * x**2 + c * x - 6) ** 2 + 10 * (1 - t) * torch.cos(x) + 10

    def grad(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        u = y - b * x * x + c * x - 6.0
        f = u * u + 10.0 * (1.0 - t) * torch.cos(x) + 10.0
        return f, 2.0 * u * (c - 2.0 * b * x) - 10.0 * (1.0 - t) * torch.sin(x), 2.0 * u

    def hess(x: torch.Tensor, y: torch.Tensor) -> tuple:
        u, du = y - b * x * x + c * x - 6.0, c - 2.0 * b * x
        return 2.0 * du * du - 4.0 * b * u - 10.0 * (1.0 - t) * torch.cos(x), 2.0 * du, 2.0

    low, high = 10 * t, 20 - 10 * t
    return _classic(
        "branin",
        "Branin",
        fn,
        domain=((-5.0, 10.0), (0.0, 15.0)),
        start=(2.0, 13.0),
        minima=(
            Minimum(-PI, 12.275, low),
            Minimum(PI, 2.275, low),
            Minimum(3 * PI, 2.475, low),
        ),
        saddles=(Saddle(0.0, 6.0, high), Saddle(2 * PI, 1.1, high)),
        formula=r"f(x, y) = \left(y - \frac{5.1}{4\pi^2}x^2 + \frac{5}{\pi}x - 6\right)^2 "
        r"+ 10\left(1 - \frac{1}{8\pi}\right)\cos x + 10",
        notice="Three equally deep minima along one curved valley, in basins of different shape "
        "and width.",
        references=(
            "F. H. Branin (1972), Widely convergent method for finding multiple solutions of "
            "simultaneous nonlinear equations, IBM J. Research and Development 16(5):504-522",
            DIXON_SZEGO,
            SFU,
        ),
        log_scale=True,
        all_minima_known=True,
        gradient=closed_form(grad),
        second_derivatives=closed_form_hessian(hess),
    )


# -- many local minima ----------------------------------------------------------------------------
RASTRIGIN_PARAMS = (
    Parameter(
        "A",
        10.0,
        0.0,
        20.0,
        description="depth of the ripples (below 0.2332 a bowl without local minima)",
    ),
)


def _rastrigin_first_ring(A: float) -> float | None:
    """The 1-D local minimum of t² - A cos(2πt) next to t = 1, or None when A is too small.

    It is the largest zero of h'(t) = 2t + 2πA sin(2πt) below 1 where h' changes sign from - to +
    (h'(1) = 2 > 0); found by scanning [1/2, 1] and bisecting.
    """

    def slope(t: float) -> float:
        return 2 * t + 2 * PI * A * math.sin(2 * PI * t)

    grid = [0.5 + i / 2000 for i in range(1001)]
    negative = [t for t in grid if slope(t) < 0]
    if not negative:
        return None
    lo = negative[-1]
    hi = min(t for t in grid if t > lo)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if slope(mid) < 0 else (lo, mid)
    return 0.5 * (lo + hi)


@register("rastrigin", parameters=RASTRIGIN_PARAMS)
def rastrigin(A: float = 10.0) -> Landscape:
    """Rastrigin: f = 2A + Σ (t² - A cos 2πt) over t in (x, y); global (0, 0), value 0.

    Rastrigin (1974); Mühlenbein, Schomisch & Born (1991). Local minima sit near every integer
    point; the four nearest, (±t₁, 0) and (0, ±t₁) with t₁ = 0.9949586 for A = 10 (value
    0.9949591), are listed. Below A = 0.2332 there are no local minima at all.
    """

    def fn(p: torch.Tensor) -> torch.Tensor:
        x, y = _xy(p)
        return 2 * A + x**2 - A * torch.cos(2 * PI * x) + y**2 - A * torch.cos(2 * PI * y)

    def grad(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        ax, ay = 2.0 * PI * x, 2.0 * PI * y
        f = 2.0 * A + x * x - A * torch.cos(ax) + y * y - A * torch.cos(ay)
        return f, 2.0 * x + 2.0 * PI * A * torch.sin(ax), 2.0 * y + 2.0 * PI * A * torch.sin(ay)

    def hess(x: torch.Tensor, y: torch.Tensor) -> tuple:
        k = 4.0 * PI * PI * A
        return 2.0 + k * torch.cos(2.0 * PI * x), 0.0, 2.0 + k * torch.cos(2.0 * PI * y)

    t1 = _rastrigin_first_ring(A)
    ring = (
        ()
        if t1 is None
        else _axes(Minimum, t1, A + t1**2 - A * math.cos(2 * PI * t1), kind="local")
    )
    return _classic(
        "rastrigin",
        "Rastrigin",
        fn,
        domain=((-5.12, 5.12), (-5.12, 5.12)),
        start=(3.4, -2.6),
        minima=(Minimum(0.0, 0.0, 0.0), *ring),
        formula=r"f(x, y) = 2A + \sum_{t \in \{x, y\}} \left(t^2 - A\cos(2\pi t)\right)",
        notice="A bowl covered by a regular egg-crate of local minima: A sets their depth, and "
        "local methods stop in the nearest dimple.",
        references=(
            "L. A. Rastrigin (1974), Systems of Extremal Control, Nauka, Moscow",
            "H. Mühlenbein, D. Schomisch and J. Born (1991), The parallel genetic algorithm as "
            "function optimizer, Parallel Computing 17(6-7):619-632",
            SFU,
        ),
        all_minima_known=t1 is None,
        gradient=closed_form(grad),
        second_derivatives=closed_form_hessian(hess),
    )


@register("ackley")
def ackley() -> Landscape:
    """Ackley: f = -20 exp(-0.2 √(½(x² + y²))) - exp(½(cos 2πx + cos 2πy)) + e + 20.

    Ackley (1987), A Connectionist Machine for Genetic Hillclimbing. Global (0, 0), value 0, at
    the tip of a cone (not differentiable there); the nearest local minima (±0.9521665, 0),
    (0, ±0.9521665) have value 2.579928.
    """

    def fn(p: torch.Tensor) -> torch.Tensor:
        x, y = _xy(p)
        r = _safe_sqrt(0.5 * (x**2 + y**2))
        ripple = 0.5 * (torch.cos(2 * PI * x) + torch.cos(2 * PI * y))
        return -20 * torch.exp(-0.2 * r) - torch.exp(ripple) + math.e + 20

    return _classic(
        "ackley",
        "Ackley",
        fn,
        domain=((-5.0, 5.0), (-5.0, 5.0)),
        start=(2.6, 3.4),
        minima=(
            Minimum(
                0.0,
                0.0,
                0.0,
                smooth=False,
                note="tip of a cone: √(x² + y²) is not differentiable at the origin (the "
                "surface uses the subgradient 0 there)",
            ),
            *_axes(Minimum, 0.952166545950172, 2.57992755702987, kind="local"),
        ),
        formula=r"f(x, y) = -20\exp\left(-0.2\sqrt{0.5(x^2 + y^2)}\right) "
        r"- \exp\left(0.5(\cos 2\pi x + \cos 2\pi y)\right) + e + 20",
        notice="A nearly flat outer plateau with small ripples and a sharp funnel whose tip is "
        "the global minimum.",
        references=(
            "D. H. Ackley (1987), A Connectionist Machine for Genetic Hillclimbing, Kluwer",
            SFU,
        ),
    )


@register("levi13")
def levi13() -> Landscape:
    """Lévi N.13: f = sin²3πx + (x - 1)²(1 + sin²3πy) + (y - 1)²(1 + sin²2πy), min (1, 1), 0.

    Surjanovic & Bingham ("Levy function N. 13"); usual box [-10, 10]², shown on [-4, 6]² so the
    ripples are resolved. The minimum value is exactly 0 (tables printing 1.35e-31 show rounding
    residue).
    """

    def fn(p: torch.Tensor) -> torch.Tensor:
        x, y = _xy(p)
        return (
            torch.sin(3 * PI * x) ** 2
            + (x - 1) ** 2 * (1 + torch.sin(3 * PI * y) ** 2)
            + (y - 1) ** 2 * (1 + torch.sin(2 * PI * y) ** 2)
        )

    def grad(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        s3x, s3y, s2y = torch.sin(3.0 * PI * x), torch.sin(3.0 * PI * y), torch.sin(2.0 * PI * y)
        dx, dy = x - 1.0, y - 1.0
        wx, wy = 1.0 + s3y * s3y, 1.0 + s2y * s2y
        f = s3x * s3x + dx * dx * wx + dy * dy * wy
        gx = 3.0 * PI * torch.sin(6.0 * PI * x) + 2.0 * dx * wx
        gy = (
            3.0 * PI * dx * dx * torch.sin(6.0 * PI * y)
            + 2.0 * dy * wy
            + 2.0 * PI * dy * dy * torch.sin(4.0 * PI * y)
        )
        return f, gx, gy

    def hess(x: torch.Tensor, y: torch.Tensor) -> tuple:
        s3y, s2y = torch.sin(3.0 * PI * y), torch.sin(2.0 * PI * y)
        dx, dy = x - 1.0, y - 1.0
        hxx = 18.0 * PI * PI * torch.cos(6.0 * PI * x) + 2.0 * (1.0 + s3y * s3y)
        hxy = 6.0 * PI * dx * torch.sin(6.0 * PI * y)
        hyy = (
            18.0 * PI * PI * dx * dx * torch.cos(6.0 * PI * y)
            + 2.0 * (1.0 + s2y * s2y)
            + 8.0 * PI * dy * torch.sin(4.0 * PI * y)
            + 8.0 * PI * PI * dy * dy * torch.cos(4.0 * PI * y)
        )
        return hxx, hxy, hyy

    return _classic(
        "levi13",
        "Lévi N.13",
        fn,
        domain=((-4.0, 6.0), (-4.0, 6.0)),
        start=(-2.5, 4.3),
        minima=(Minimum(1.0, 1.0, 0.0),),
        formula=r"f(x, y) = \sin^2 3\pi x + (x - 1)^2\left(1 + \sin^2 3\pi y\right) "
        r"+ (y - 1)^2\left(1 + \sin^2 2\pi y\right)",
        notice="Ripples laid over a bowl around (1, 1): small steps get trapped in the ripples.",
        references=(SFU, "Wikipedia, Test functions for optimization"),
        gradient=closed_form(grad),
        second_derivatives=closed_form_hessian(hess),
    )


@register("griewank")
def griewank() -> Landscape:
    """Griewank: f = 1 + (x² + y²)/4000 - cos x cos(y/√2), global (0, 0), value 0.

    Griewank (1981), J. Optim. Theory Appl. 34(1):11-39. Usual box [-600, 600]², shown on
    [-10, 10]²; the lowest local minima (±3.140023, ±4.438444) have value 0.007396040.
    """
    root2 = math.sqrt(2.0)

    def fn(p: torch.Tensor) -> torch.Tensor:
        x, y = _xy(p)
        return 1 + (x**2 + y**2) / 4000 - torch.cos(x) * torch.cos(y / root2)

    def grad(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        v = y / root2
        cx, sx, cv, sv = torch.cos(x), torch.sin(x), torch.cos(v), torch.sin(v)
        f = 1.0 + (x * x + y * y) / 4000.0 - cx * cv
        return f, x / 2000.0 + sx * cv, y / 2000.0 + cx * sv / root2

    def hess(x: torch.Tensor, y: torch.Tensor) -> tuple:
        v = y / root2
        cx, sx, cv, sv = torch.cos(x), torch.sin(x), torch.cos(v), torch.sin(v)
        return 1.0 / 2000.0 + cx * cv, -sx * sv / root2, 1.0 / 2000.0 + cx * cv / 2.0

    return _classic(
        "griewank",
        "Griewank",
        fn,
        domain=((-10.0, 10.0), (-10.0, 10.0)),
        start=(7.0, -6.0),
        minima=(
            Minimum(0.0, 0.0, 0.0),
            *_corners(
                Minimum, 3.14002263389554, 4.43844448092071, 0.00739604033411512, kind="local"
            ),
        ),
        formula=r"f(x, y) = 1 + \frac{x^2 + y^2}{4000} - \cos x \cos\frac{y}{\sqrt 2}",
        notice="Close up it is a grid of nearly equal dimples; only far out does the gentle bowl "
        "(x² + y²)/4000 take over.",
        references=(
            "A. O. Griewank (1981), Generalized descent for global optimization, J. Optimization "
            "Theory and Applications 34(1):11-39",
            SFU,
        ),
        gradient=closed_form(grad),
        second_derivatives=closed_form_hessian(hess),
    )


@register("schaffer2")
def schaffer2() -> Landscape:
    """Schaffer N.2: f = ½ + (sin²(x² - y²) - ½) / (1 + 0.001(x² + y²))², global (0, 0), value 0.

    Jamil & Yang (2013); Mishra (2006). Usual box [-100, 100]², shown on [-4, 4]² so the ridges are
    resolved. Local minima at the vertices of the valleys x² - y² = kπ; the nearest,
    (±1.772313, 0) and (0, ±1.772313) (close to ±√π), have value 0.003126603.
    """

    def fn(p: torch.Tensor) -> torch.Tensor:
        x, y = _xy(p)
        return 0.5 + (torch.sin(x**2 - y**2) ** 2 - 0.5) / (1 + 0.001 * (x**2 + y**2)) ** 2

    def parts(x: torch.Tensor, y: torch.Tensor) -> tuple:
        """f = 1/2 + N / D² with N = sin²(x² - y²) - 1/2, D = 1 + (x² + y²)/1000; N's first
        derivatives and sin, cos of 2(x² - y²)."""
        q = x * x - y * y
        sq = torch.sin(q)
        s2, c2 = torch.sin(2.0 * q), torch.cos(2.0 * q)
        n, d = sq * sq - 0.5, 1.0 + 0.001 * (x * x + y * y)
        return n, d, 2.0 * x * s2, -2.0 * y * s2, s2, c2

    def grad(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        n, d, nx, ny, _, _ = parts(x, y)
        d2 = d * d
        f = 0.5 + n / d2
        return f, nx / d2 - 0.004 * x * n / (d2 * d), ny / d2 - 0.004 * y * n / (d2 * d)

    def hess(x: torch.Tensor, y: torch.Tensor) -> tuple:
        n, d, nx, ny, s2, c2 = parts(x, y)
        d2 = d * d
        d3, d4 = d2 * d, d2 * d2
        dx, dy = 0.002 * x, 0.002 * y
        nxx = 2.0 * s2 + 8.0 * x * x * c2
        nyy = -2.0 * s2 + 8.0 * y * y * c2
        nxy = -8.0 * x * y * c2
        return (
            nxx / d2 - 4.0 * nx * dx / d3 + 6.0 * n * dx * dx / d4 - 0.004 * n / d3,
            nxy / d2 - 2.0 * nx * dy / d3 - 2.0 * ny * dx / d3 + 6.0 * n * dx * dy / d4,
            nyy / d2 - 4.0 * ny * dy / d3 + 6.0 * n * dy * dy / d4 - 0.004 * n / d3,
        )

    return _classic(
        "schaffer2",
        "Schaffer N.2",
        fn,
        domain=((-4.0, 4.0), (-4.0, 4.0)),
        start=(3.0, -1.0),
        minima=(
            Minimum(0.0, 0.0, 0.0),
            *_axes(Minimum, 1.77231323963464, 0.00312660313386315, kind="local"),
        ),
        formula=r"f(x, y) = 0.5 + \frac{\sin^2(x^2 - y^2) - 0.5}{\left(1 + 0.001(x^2 + y^2)\right)^2}",
        notice="Valleys along the hyperbolas x² − y² = kπ: descent slides along them to their "
        "vertices, and only the diagonals lead to the centre.",
        references=(JAMIL_YANG, MISHRA, SFU),
        gradient=closed_form(grad),
        second_derivatives=closed_form_hessian(hess),
    )


# -- needles, creases and cliffs ------------------------------------------------------------------
@register("easom")
def easom() -> Landscape:
    """Easom: f = -cos x cos y exp(-(x - π)² - (y - π)²), global (π, π), value -1.

    Easom (1990), M.Eng. thesis, University of Louisville. Usual box [-100, 100]², shown on
    [-5, 11]²; elsewhere the surface is flat to machine precision.
    """

    def fn(p: torch.Tensor) -> torch.Tensor:
        x, y = _xy(p)
        return -torch.cos(x) * torch.cos(y) * torch.exp(-((x - PI) ** 2) - (y - PI) ** 2)

    def grad(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        dx, dy = x - PI, y - PI
        cx, sx, cy, sy = torch.cos(x), torch.sin(x), torch.cos(y), torch.sin(y)
        e = torch.exp(-dx * dx - dy * dy)
        return -cx * cy * e, cy * e * (sx + 2.0 * dx * cx), cx * e * (sy + 2.0 * dy * cy)

    def hess(x: torch.Tensor, y: torch.Tensor) -> tuple:
        dx, dy = x - PI, y - PI
        cx, sx, cy, sy = torch.cos(x), torch.sin(x), torch.cos(y), torch.sin(y)
        e = torch.exp(-dx * dx - dy * dy)
        return (
            cy * e * (3.0 * cx - 4.0 * dx * sx - 4.0 * dx * dx * cx),
            -e * (sx + 2.0 * dx * cx) * (sy + 2.0 * dy * cy),
            cx * e * (3.0 * cy - 4.0 * dy * sy - 4.0 * dy * dy * cy),
        )

    return _classic(
        "easom",
        "Easom",
        fn,
        domain=((-5.0, 11.0), (-5.0, 11.0)),
        start=(1.0, 5.5),
        minima=(Minimum(PI, PI, -1.0),),
        formula=r"f(x, y) = -\cos x \cos y \exp\left(-(x - \pi)^2 - (y - \pi)^2\right)",
        notice="A flat plateau with one narrow hole at (π, π): away from it the gradient is "
        "essentially zero.",
        references=(
            "E. E. Easom (1990), A survey of global optimization techniques, M.Eng. thesis, "
            "University of Louisville",
            SFU,
        ),
        gradient=closed_form(grad),
        second_derivatives=closed_form_hessian(hess),
    )


@register("cross_in_tray")
def cross_in_tray() -> Landscape:
    """Cross-in-tray: f = -10⁻⁴ (|sin x sin y exp|100 - √(x² + y²)/π|| + 1)^0.1.

    Mishra (2006); Jamil & Yang (2013). Four global minima (±1.349407, ±1.349407), value
    -2.062611871; the minima are smooth, the creases (|·| kinks) run along x = kπ and y = kπ.
    The inner exponential reaches e¹⁰⁰, beyond float32's range: below float64 the power is
    evaluated in log space.
    """

    def fn(p: torch.Tensor) -> torch.Tensor:
        x, y = _xy(p)
        s = _abs(torch.sin(x) * torch.sin(y))
        u = _abs(100 - _safe_sqrt(x**2 + y**2) / PI)
        if torch.finfo(p.dtype).max > 1e50:  # e^100 fits: the formula as written
            return -1e-4 * (s * torch.exp(u) + 1) ** 0.1
        # log(1 + s e^u) = softplus(log s + u), with -1000 standing for log 0 (-inf gives NaNs)
        log_s = torch.where(s > 0, torch.log(torch.where(s > 0, s, 1.0)), -1000.0)
        return -1e-4 * torch.exp(0.1 * F.softplus(log_s + u, threshold=50.0))

    return _classic(
        "cross_in_tray",
        "Cross-in-tray",
        fn,
        domain=((-10.0, 10.0), (-10.0, 10.0)),
        start=(-6.0, 3.0),
        minima=_corners(Minimum, 1.34940661715391, 1.34940661715391, -2.06261187082274),
        formula=r"f(x, y) = -0.0001\left(\left|\sin x \sin y "
        r"\exp\left|100 - \frac{\sqrt{x^2 + y^2}}{\pi}\right|\right| + 1\right)^{0.1}",
        notice="Sharp creases along x = kπ and y = kπ cut the surface into tiles; the four global "
        "minima hug the cross at the centre.",
        references=(MISHRA, JAMIL_YANG, SFU),
    )


@register("holder_table")
def holder_table() -> Landscape:
    """Hölder table: f = -|sin x cos y exp|1 - √(x² + y²)/π||, four global minima.

    Mishra (2006); Surjanovic & Bingham. Minima (±8.055023, ±9.664590), value -19.20850257
    (tables: -19.2085); smooth there, with creases where sin x or cos y vanish.
    """

    def fn(p: torch.Tensor) -> torch.Tensor:
        x, y = _xy(p)
        r = _safe_sqrt(x**2 + y**2)
        return -_abs(torch.sin(x) * torch.cos(y) * torch.exp(_abs(1 - r / PI)))

    return _classic(
        "holder_table",
        "Hölder table",
        fn,
        domain=((-10.0, 10.0), (-10.0, 10.0)),
        start=(3.0, 4.0),
        minima=_corners(Minimum, 8.05502347573656, 9.66459001924127, -19.2085025678867),
        formula=r"f(x, y) = -\left|\sin x \cos y \exp\left|1 - \frac{\sqrt{x^2 + y^2}}{\pi}\right|\right|",
        notice="The four deepest holes sit in the corners of the table, behind many creased local "
        "dips.",
        references=(MISHRA, SFU),
    )


@register("eggholder")
def eggholder() -> Landscape:
    """Eggholder: f = -(y + 47) sin√|x/2 + y + 47| - x sin√|x - (y + 47)| on [-512, 512]².

    Whitley et al. (1996); Jamil & Yang (2013). The global minimum lies on the boundary,
    (512, 404.2318051), value -959.6406627 (tables print y = 404.2319); the best interior minimum
    (482.3533, 432.8790), value -956.9182, is almost as low.
    """

    def fn(p: torch.Tensor) -> torch.Tensor:
        x, y = _xy(p)
        return -(y + 47) * torch.sin(_safe_sqrt(_abs(x / 2 + y + 47))) - x * torch.sin(
            _safe_sqrt(_abs(x - (y + 47)))
        )

    return _classic(
        "eggholder",
        "Eggholder",
        fn,
        domain=((-512.0, 512.0), (-512.0, 512.0)),
        start=(-300.0, 200.0),
        minima=(
            Minimum(
                512.0,
                404.231805113758,
                -959.640662720851,
                note="on the edge x = 512 of the search box: a constrained minimum, where the "
                "gradient is not 0",
            ),
            Minimum(482.353310464788, 432.878998945483, -956.918231624666, kind="local"),
            Minimum(-465.694151545136, 385.71669978348, -894.5789003906, kind="local"),
        ),
        formula=r"f(x, y) = -(y + 47)\sin\sqrt{\left|\frac{x}{2} + y + 47\right|} "
        r"- x \sin\sqrt{\left|x - (y + 47)\right|}",
        notice="Deeply rugged: the global minimum lies on the edge x = 512, and an interior "
        "minimum nearby is almost as low.",
        references=(
            "D. Whitley, S. Rana, J. Dzubera and K. E. Mathias (1996), Evaluating evolutionary "
            "algorithms, Artificial Intelligence 85(1-2):245-276",
            JAMIL_YANG,
            SFU,
        ),
    )


@register("bukin6")
def bukin6() -> Landscape:
    """Bukin N.6: f = 100 √|y - 0.01x²| + 0.01 |x + 10|, global (-10, 1), value 0.

    Bukin (1997); Jamil & Yang (2013). The floor of the valley y = x²/100 is a kink with infinite
    slope; along it f = 0.01|x + 10| falls to the only local minimum, which is also non-smooth.
    """

    def fn(p: torch.Tensor) -> torch.Tensor:
        x, y = _xy(p)
        return 100 * _safe_sqrt(_abs(y - 0.01 * x**2)) + 0.01 * _abs(x + 10)

    return _classic(
        "bukin6",
        "Bukin N.6",
        fn,
        domain=((-15.0, -5.0), (-3.0, 3.0)),
        start=(-7.0, 2.0),
        minima=(
            Minimum(
                -10.0,
                1.0,
                0.0,
                smooth=False,
                note="on the ridge y = x²/100, where √|y - x²/100| has infinite slope, and at the "
                "corner of |x + 10|: no gradient exists",
            ),
        ),
        formula=r"f(x, y) = 100\sqrt{\left|y - 0.01x^2\right|} + 0.01\left|x + 10\right|",
        notice="A curved knife-edge valley y = x²/100 with a non-smooth floor: gradient methods "
        "bounce across it instead of following it.",
        references=(
            "A. D. Bukin (1997), New minimization strategy for non-smooth functions, Budker "
            "Institute of Nuclear Physics preprint BUDKER-INP-1997-79",
            JAMIL_YANG,
            SFU,
        ),
        all_minima_known=True,
    )
