"""Teaching surfaces: small 2-D functions, each built so that one optimization effect is visible.

Every surface shows one difficulty met when training networks (Goodfellow, Bengio & Courville 2016,
ch. 4.3 and 8.2): a saddle point, a degenerate saddle, ill-conditioning, a curved ravine, a plateau,
a cliff, a local-minimum trap and a bumpy bowl. Its default start and parameters are chosen so that
the effect shows with torch.optim's default settings and learning rates of 1e-3 to 1e-1 within a
few hundred steps; ``notice`` says in one line what to look for.

The functions use torch operations only, on points shaped ``(..., 2)``, so they run on any device
and dtype and are twice differentiable. Minima of parametrised surfaces are computed when the
surface is built (closed form, or a 1-D bisection: no scipy at run time); the trap's stationary
points were refined once with ``scipy.optimize.minimize`` / ``root`` and are stored to 12 digits.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
import torch

from .base import Landscape, Minimum, Parameter, Saddle, SurfaceFn, closed_form, closed_form_hessian
from .registry import register

GOODFELLOW = (
    'Goodfellow, Bengio & Courville (2016), "Deep Learning", MIT Press, '
    "ch. 4.3 (Hessian, condition number) and 8.2 (challenges in neural network optimization)"
)
GOH = 'Goh (2017), "Why Momentum Really Works", Distill'
DAUPHIN = (
    'Dauphin et al. (2014), "Identifying and attacking the saddle point problem in '
    'high-dimensional non-convex optimization", NeurIPS'
)
PASCANU = (
    'Pascanu, Mikolov & Bengio (2013), "On the difficulty of training recurrent neural networks", '
    "ICML (cliffs, gradient clipping)"
)
NOCEDAL = 'Nocedal & Wright (2006), "Numerical Optimization", 2nd ed., Springer, ch. 3'
KINGMA = 'Kingma & Ba (2015), "Adam: A Method for Stochastic Optimization", ICLR'
ANANDKUMAR = (
    'Anandkumar & Ge (2016), "Efficient approaches for escaping higher order saddle points in '
    'non-convex optimization", COLT'
)


def _landscape(key: str, name: str, fn: SurfaceFn, **fields) -> Landscape:
    """A teaching Landscape (the registry adds its parameter specs and values)."""
    return Landscape(key=key, name=name, group="teaching", fn=fn, **fields)


def _at(fn: SurfaceFn, x: float, y: float) -> float:
    """``fn`` at one point, in float64."""
    return float(fn(torch.tensor([x, y], dtype=torch.float64)))


def _bisect(g: Callable[[float], float], lo: float, hi: float) -> float:
    """The root of ``g`` in ``[lo, hi]``, where ``g`` changes sign, to double precision."""
    g_lo = g(lo)
    while True:
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            return mid
        g_mid = g(mid)
        if (g_mid > 0) == (g_lo > 0):
            lo, g_lo = mid, g_mid
        else:
            hi = mid


# -- saddles ---------------------------------------------------------------------------------------


@register("saddle")
def saddle() -> Landscape:
    """The textbook saddle f = x^2 - y^2 (Goodfellow et al. 2016, fig. 4.5; Dauphin et al. 2014).

    The Hessian diag(2, -2) is indefinite: the x axis is the stable manifold, the y axis the escape
    direction. Unbounded below, so it has no minimum. Started at (1.5, 1e-3), gradient descent runs
    to the saddle, stalls there while the tiny y offset grows by (1 + 2 lr) a step, then escapes.
    """

    def fn(p: torch.Tensor) -> torch.Tensor:
        return p[..., 0] ** 2 - p[..., 1] ** 2

    def grad(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return x * x - y * y, 2.0 * x, -2.0 * y

    def hess(x: torch.Tensor, y: torch.Tensor) -> tuple:
        return 2.0, 0.0, -2.0

    return _landscape(
        "saddle",
        "Saddle point",
        fn,
        domain=((-2.0, 2.0), (-2.0, 2.0)),
        start=(1.5, 1e-3),
        minima=(),
        saddles=(Saddle(0.0, 0.0, 0.0, "Hessian diag(2, -2)"),),
        formula=r"f(x, y) = x^2 - y^2",
        notice="Gradient descent rushes to the saddle, stalls where the gradient vanishes, "
        "then slides off along y.",
        references=(GOODFELLOW, DAUPHIN),
        all_minima_known=True,
        gradient=closed_form(grad),
        second_derivatives=closed_form_hessian(hess),
    )


@register("saddle_bounded")
def saddle_bounded() -> Landscape:
    """A saddle with quartic walls: f = x^2 - y^2 + y^4/4 (Dauphin et al. 2014).

    Saddle at the origin (Hessian diag(2, -2)); the y^4 wall makes two global minima at
    (0, +-sqrt 2) with value -1, so a run that escapes the saddle has somewhere to go.
    """

    def fn(p: torch.Tensor) -> torch.Tensor:
        y = p[..., 1]
        return p[..., 0] ** 2 - y**2 + 0.25 * y**4

    def grad(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        y2 = y * y
        return x * x - y2 + 0.25 * (y2 * y2), 2.0 * x, y * (y2 - 2.0)

    r2 = math.sqrt(2.0)

    def hess(x: torch.Tensor, y: torch.Tensor) -> tuple:
        return 2.0, 0.0, 3.0 * y * y - 2.0

    return _landscape(
        "saddle_bounded",
        "Saddle between two minima",
        fn,
        domain=((-2.0, 2.0), (-2.0, 2.0)),
        start=(1.5, 1e-3),
        minima=(Minimum(0.0, r2, -1.0), Minimum(0.0, -r2, -1.0)),
        saddles=(Saddle(0.0, 0.0, 0.0, "Hessian diag(2, -2)"),),
        formula=r"f(x, y) = x^2 - y^2 + \tfrac14 y^4",
        notice="The run stalls at the saddle for many steps before it picks one of the two minima.",
        references=(GOODFELLOW, DAUPHIN),
        all_minima_known=True,
        gradient=closed_form(grad),
        second_derivatives=closed_form_hessian(hess),
    )


@register("monkey_saddle")
def monkey_saddle() -> Landscape:
    """The monkey saddle f = x^3 - 3 x y^2 (Anandkumar & Ge 2016; Goodfellow et al. 2016, 4.3.1).

    At the origin gradient and Hessian both vanish: a degenerate saddle that the second-derivative
    test cannot classify. There are three descending valleys (angles 60, 180, 300 degrees); the
    function is unbounded below. Near the origin the gradient is quadratic in the distance, so
    gradient descent approaches it only like 1/t (not geometrically as at an ordinary saddle).
    """

    def fn(p: torch.Tensor) -> torch.Tensor:
        x, y = p[..., 0], p[..., 1]
        return x**3 - 3.0 * x * y**2

    def grad(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return x * x * x - 3.0 * x * (y * y), 3.0 * (x * x - y * y), -6.0 * x * y

    def hess(x: torch.Tensor, y: torch.Tensor) -> tuple:
        return 6.0 * x, -6.0 * y, -6.0 * x

    return _landscape(
        "monkey_saddle",
        "Monkey saddle",
        fn,
        domain=((-2.0, 2.0), (-2.0, 2.0)),
        start=(1.5, 1e-4),
        minima=(),
        saddles=(Saddle(0.0, 0.0, 0.0, "degenerate: gradient and Hessian are both zero"),),
        formula=r"f(x, y) = x^3 - 3 x y^2",
        notice="With a flat Hessian at the centre, gradient descent creeps in far more slowly "
        "than at an ordinary saddle before it leaves down one of three valleys.",
        references=(ANANDKUMAR, GOODFELLOW),
        all_minima_known=True,
        gradient=closed_form(grad),
        second_derivatives=closed_form_hessian(hess),
    )


# -- ill-conditioning ------------------------------------------------------------------------------


def quadratic_eigen(
    kappa: float, angle: float, lambda_max: float = 10.0
) -> tuple[np.ndarray, np.ndarray]:
    """Exact eigen-decomposition of the ``quadratic`` surface's Hessian A, like numpy.linalg.eigh.

    Returns ``(eigenvalues, eigenvectors)``: eigenvalues ``[lambda_max / kappa, lambda_max]`` in
    ascending order, and unit eigenvectors as the columns of a 2x2 array,
    ``[-sin t, cos t]`` (flat direction) and ``[cos t, sin t]`` (steep direction), t = ``angle`` in
    degrees. Gradient descent on the surface converges for lr < 2 / lambda_max and diverges above.
    """
    t = math.radians(angle)
    c, s = math.cos(t), math.sin(t)
    return np.array([lambda_max / kappa, lambda_max]), np.array([[-s, c], [c, s]])


def quadratic_matrix(kappa: float, angle: float, lambda_max: float = 10.0) -> np.ndarray:
    """The Hessian A = R(angle) diag(lambda_max, lambda_max / kappa) R(angle)^T of ``quadratic``."""
    w, v = quadratic_eigen(kappa, angle, lambda_max)
    return (v * w) @ v.T


QUADRATIC_SPECS = (
    Parameter("kappa", 100.0, 1.0, 1000.0, log=True, description="condition number"),
    Parameter("angle", 30.0, 0.0, 90.0, description="rotation of the steep axis, degrees"),
    Parameter(
        "lambda_max", 10.0, 0.1, 100.0, log=True, description="largest curvature (2/lr critical)"
    ),
)


@register("quadratic", parameters=QUADRATIC_SPECS)
def quadratic(*, kappa: float, angle: float, lambda_max: float) -> Landscape:
    """The ill-conditioned quadratic f = 1/2 p^T A p, A = R diag(lambda_max, lambda_max/kappa) R^T.

    Gradient descent converges for lr < 2/lambda_max (0.2 at defaults) at a rate set by the
    condition number kappa: it zigzags across the steep axis while crawling along the flat one
    (Goodfellow et al. 2016, 4.3.1 and 8.2.1; Nocedal & Wright 2006, thm 3.3; Goh 2017). The
    eigen-decomposition is exact: see :func:`quadratic_eigen`. The start is (0.5, 1.8) in the
    (steep, flat) eigenbasis, so it is the same scene at every angle.
    """
    (_, l_max), v = quadratic_eigen(kappa, angle, lambda_max)
    a = quadratic_matrix(kappa, angle, lambda_max)
    a11, a12, a22 = (float(a[0, 0]), float(a[0, 1]), float(a[1, 1]))

    def fn(p: torch.Tensor) -> torch.Tensor:
        x, y = p[..., 0], p[..., 1]
        return 0.5 * (a11 * x**2 + 2.0 * a12 * x * y + a22 * y**2)

    def grad(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        gx, gy = a11 * x + a12 * y, a12 * x + a22 * y
        return 0.5 * (x * gx + y * gy), gx, gy

    start = 0.5 * v[:, 1] + 1.8 * v[:, 0]

    def hess(x: torch.Tensor, y: torch.Tensor) -> tuple:
        return a11, a12, a22

    return _landscape(
        "quadratic",
        "Ill-conditioned quadratic",
        fn,
        domain=((-2.0, 2.0), (-2.0, 2.0)),
        start=(float(start[0]), float(start[1])),
        minima=(Minimum(0.0, 0.0, 0.0),),
        formula=r"f(p) = \tfrac12 p^\top A p,\quad A = R_\theta \operatorname{diag}"
        r"(\lambda_{\max}, \lambda_{\max}/\kappa) R_\theta^\top",
        notice=f"Gradient descent zigzags across the steep axis and crawls along the flat one; "
        f"it diverges for lr > 2/lambda_max = {2.0 / l_max:.3g}.",
        references=(GOODFELLOW, NOCEDAL, GOH),
        log_scale=True,
        all_minima_known=True,
        gradient=closed_form(grad),
        second_derivatives=closed_form_hessian(hess),
    )


RAVINE_SPECS = (
    Parameter("steepness", 10.0, 1.0, 100.0, log=True, description="curvature of the walls"),
)
RAVINE_BEND, RAVINE_FLOOR = 0.8, 0.1  # floor y = 0.8 sin x; floor curvature 0.1


@register("ravine", parameters=RAVINE_SPECS)
def ravine(*, steepness: float) -> Landscape:
    """A long, narrow, curved ravine: f = s/2 (y - b sin x)^2 + e/2 x^2, b = 0.8, e = 0.1.

    The floor y = b sin x sinks gently towards its only stationary point, the minimum at the
    origin. There the Hessian is s (-b, 1)(-b, 1)^T + diag(e, 0): curvatures near s (1 + b^2)
    across the ravine and e / (1 + b^2) along it, condition number about 270 at s = 10. Gradient
    descent (stable for lr < 2 / (s (1 + b^2)), 0.12 at s = 10) bounces between the walls and
    crawls along the floor; momentum builds up speed along it (Goodfellow et al. 2016, 8.2.1 and
    8.3.2; Goh 2017).
    """
    s, b, e = steepness, RAVINE_BEND, RAVINE_FLOOR

    def fn(p: torch.Tensor) -> torch.Tensor:
        x, y = p[..., 0], p[..., 1]
        return 0.5 * s * (y - b * torch.sin(x)) ** 2 + 0.5 * e * x**2

    def grad(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        r = y - b * torch.sin(x)
        return 0.5 * s * (r * r) + 0.5 * e * (x * x), e * x - (s * b) * r * torch.cos(x), s * r

    def hess(x: torch.Tensor, y: torch.Tensor) -> tuple:
        sin, cos = torch.sin(x), torch.cos(x)
        r = y - b * sin
        return e + s * b * (b * cos * cos + r * sin), -s * b * cos, s

    return _landscape(
        "ravine",
        "Curved ravine",
        fn,
        domain=((-4.0, 4.0), (-3.0, 3.0)),
        start=(-3.5, 1.5),
        minima=(Minimum(0.0, 0.0, 0.0),),
        formula=r"f(x, y) = \tfrac{s}{2}\,(y - 0.8 \sin x)^2 + 0.05\, x^2",
        notice="Gradient descent bounces from wall to wall and crawls along the gently sloping "
        "floor; momentum picks up speed along it.",
        references=(GOODFELLOW, GOH),
        log_scale=True,
        all_minima_known=True,
        gradient=closed_form(grad),
        second_derivatives=closed_form_hessian(hess),
    )


# -- flat and steep regions ------------------------------------------------------------------------

PLATEAU_SPECS = (Parameter("width", 0.5, 0.25, 1.5, log=True, description="radius of the well"),)


@register("plateau", parameters=PLATEAU_SPECS)
def plateau(*, width: float) -> Landscape:
    """A flat plateau around one well: f = 1 - exp(-(x^2 + y^2) / (2 w^2)).

    The gradient decays like exp(-r^2 / 2w^2) away from the well: at the default start (r = 2.3,
    w = 0.5) it is about 2e-4 of its largest value. Gradient descent crawls; Adam divides by the
    gradient's running size and moves about lr per step anyway (Goodfellow et al. 2016, 8.2.3;
    Kingma & Ba 2015). The only stationary point is the minimum at the origin.
    """
    c = 0.5 / width**2

    def fn(p: torch.Tensor) -> torch.Tensor:
        return 1.0 - torch.exp(-c * (p[..., 0] ** 2 + p[..., 1] ** 2))

    def grad(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        well = torch.exp(-c * (x * x + y * y))
        return 1.0 - well, (2.0 * c) * x * well, (2.0 * c) * y * well

    def hess(x: torch.Tensor, y: torch.Tensor) -> tuple:
        well = (2.0 * c) * torch.exp(-c * (x * x + y * y))
        return (
            well * (1.0 - 2.0 * c * x * x),
            -2.0 * c * x * y * well,
            well * (1.0 - 2.0 * c * y * y),
        )

    return _landscape(
        "plateau",
        "Plateau",
        fn,
        domain=((-3.0, 3.0), (-3.0, 3.0)),
        start=(2.0, 1.1),
        minima=(Minimum(0.0, 0.0, 0.0),),
        formula=r"f(x, y) = 1 - \exp\!\big(-(x^2 + y^2) / 2w^2\big)",
        notice="On the plateau the gradient is almost zero: gradient descent barely moves, "
        "while Adam's normalised steps cross it.",
        references=(GOODFELLOW, DAUPHIN, KINGMA),
        all_minima_known=True,
        gradient=closed_form(grad),
        second_derivatives=closed_form_hessian(hess),
    )


CLIFF_SPECS = (
    Parameter("steepness", 200.0, 10.0, 1000.0, log=True, description="sharpness of the cliff"),
)
CLIFF_SLOPE, CLIFF_ROUND, CLIFF_HEIGHT, CLIFF_AT, CLIFF_Y = 0.5, 0.02, 2.0, 1.5, 0.2


@register("cliff", parameters=CLIFF_SPECS)
def cliff(*, steepness: float) -> Landscape:
    """A gentle slope running into a cliff: f = s (sqrt(d^2 + u^2) - d) + H sigmoid(k u) + q y^2.

    u = x - c. The floor falls with slope s = 0.5 (rounded over d = 0.02) towards a wall of height
    H = 2 at x = c = 1.5, whose steepest gradient H k / 4 (100 at k = 200) is about 200 times the
    floor's. The single minimum sits at the foot of the wall, where the floor's slope balances the
    wall's (found by bisection). Gradient descent walks towards it in steps of lr s; when lr s k is
    large (10 at lr = 0.1 and the default k; 3 at lr = 0.03 is still safe), a step lands high on
    the wall and the run is thrown far back, as at the cliffs of recurrent networks' losses.
    Clipping the gradient norm bounds the jump (Pascanu, Mikolov & Bengio 2013; Goodfellow et al.
    2016, 8.2.4).
    """
    k, s, d, h, c, q = steepness, CLIFF_SLOPE, CLIFF_ROUND, CLIFF_HEIGHT, CLIFF_AT, CLIFF_Y

    def fn(p: torch.Tensor) -> torch.Tensor:
        u = p[..., 0] - c
        floor = s * (torch.sqrt(d * d + u**2) - d)
        return floor + h * torch.sigmoid(k * u) + q * p[..., 1] ** 2

    def dfdu(u: float) -> float:
        e = math.exp(-k * abs(u))
        return s * u / math.sqrt(d * d + u * u) + h * k * e / (1.0 + e) ** 2

    x_min = c + _bisect(dfdu, -10.0, 0.0)
    return _landscape(
        "cliff",
        "Cliff",
        fn,
        domain=((-3.0, 3.0), (-2.0, 2.0)),
        start=(-2.0, 1.0),
        minima=(Minimum(x_min, 0.0, _at(fn, x_min, 0.0)),),
        formula=r"f(x, y) = \tfrac12\big(\sqrt{0.02^2 + (x - 1.5)^2} - 0.02\big)"
        r" + 2\,\sigma\big(k (x - 1.5)\big) + 0.2\, y^2",
        notice="A step that lands on the cliff is thrown far back by the huge gradient; "
        "gradient clipping keeps the run on course.",
        references=(PASCANU, GOODFELLOW),
        log_scale=True,
        all_minima_known=True,
    )


# -- many minima -----------------------------------------------------------------------------------

TRAP_BOWL = 0.05
TRAP_WELLS = ((-1.0, 1.0, 0.5, 0.5), (1.0, -0.8, 2.0, 0.8))  # centre x, centre y, depth, width


@register("trap")
def trap() -> Landscape:
    """A local-minimum trap: a weak bowl and two Gaussian wells, a shallow one and a deep one.

    f = 0.05 (x^2 + y^2) - sum_i d_i exp(-|p - m_i|^2 / (2 w_i^2)), shallow well d = 0.5, w = 0.5
    at (-1, 1), deep well d = 2, w = 0.8 at (1, -0.8). The stationary points (two minima, one saddle
    between them, nothing else in the domain) were found from a grid of starts and refined with
    scipy.optimize (gradient below 1e-15). From (-2.5, 2.5) gradient descent stops in the shallow
    well at every stable learning rate; heavy-ball momentum (0.9) from lr 0.05 and Adam from lr 0.15
    carry over the barrier into the deep one (Goodfellow et al. 2016, 8.2.2 and 8.3.2).
    """

    fn, grad, hess = _gaussian_wells(TRAP_BOWL, TRAP_WELLS)

    return _landscape(
        "trap",
        "Local-minimum trap",
        fn,
        domain=((-3.0, 3.0), (-3.0, 3.0)),
        start=(-2.5, 2.5),
        minima=(
            Minimum(0.968954160323, -0.77516323062, -1.92054454937, "global"),
            Minimum(-0.936956332351, 0.938464341648, -0.414429689348, "local"),
        ),
        saddles=(Saddle(-0.401617545328, 0.449435219292, -0.242383108223, "the pass between"),),
        formula=r"f(x, y) = 0.05\,(x^2 + y^2) - 0.5\, e^{-2((x + 1)^2 + (y - 1)^2)}"
        r" - 2\, e^{-((x - 1)^2 + (y + 0.8)^2)/1.28}",
        notice="Gradient descent settles in the first, shallow well; momentum or a larger "
        "Adam step carries the run over the pass into the deep one.",
        references=(GOODFELLOW,),
        all_minima_known=True,
        gradient=closed_form(grad),
        second_derivatives=closed_form_hessian(hess),
    )


BUMPY_SPECS = (Parameter("amplitude", 0.25, 0.0, 1.0, description="height of the ripples"),)


@register("bumpy_bowl", parameters=BUMPY_SPECS)
def bumpy_bowl(*, amplitude: float) -> Landscape:
    """A bowl with ripples: f = (x^2 + y^2)/2 + a (2 - cos 2 pi x - cos 2 pi y).

    A gentle Rastrigin-like function (Rastrigin 1974). Both terms are >= 0 and vanish only at the
    origin, so the origin is the global minimum for every a. f is a sum h(x) + h(y) with
    h(t) = t^2/2 + a (1 - cos 2 pi t), so its local minima are the pairs of local minima of h,
    found by bisection on h' when the surface is built: 9 at the default a = 0.25. Gradient descent
    stops in the first ripple; momentum rolls over them (Goodfellow et al. 2016, 8.2.2).
    """
    a, w = amplitude, 2.0 * math.pi

    def fn(p: torch.Tensor) -> torch.Tensor:
        x, y = p[..., 0], p[..., 1]
        return 0.5 * (x**2 + y**2) + a * (2.0 - torch.cos(w * x) - torch.cos(w * y))

    def grad(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        f = 0.5 * (x * x + y * y) + a * (2.0 - torch.cos(w * x) - torch.cos(w * y))
        return f, x + (a * w) * torch.sin(w * x), y + (a * w) * torch.sin(w * y)

    def dh(t: float) -> float:
        return t + a * w * math.sin(w * t)

    # h' is odd; its sign changes from - to + on (0, 3] are the positive local minima of h
    ts = itertools.pairwise(3.0 * i / 3000 for i in range(1, 3001))
    pos = [_bisect(dh, t0, t1) for t0, t1 in ts if dh(t0) < 0.0 <= dh(t1)]
    ts1 = [0.0, *pos, *(-t for t in pos)]
    minima = sorted(
        (
            Minimum(x, y, _at(fn, x, y), "global" if x == y == 0.0 else "local")
            for x in ts1
            for y in ts1
        ),
        key=lambda m: (m.value, m.x, m.y),
    )

    def hess(x: torch.Tensor, y: torch.Tensor) -> tuple:
        return 1.0 + a * w * w * torch.cos(w * x), 0.0, 1.0 + a * w * w * torch.cos(w * y)

    return _landscape(
        "bumpy_bowl",
        "Bumpy bowl",
        fn,
        domain=((-3.0, 3.0), (-3.0, 3.0)),
        start=(2.5, 2.0),
        minima=tuple(minima),
        formula=r"f(x, y) = \tfrac12 (x^2 + y^2) + a\,(2 - \cos 2\pi x - \cos 2\pi y)",
        notice="Gradient descent stops in the first ripple it meets; momentum rolls over the "
        "small bumps down to the centre.",
        references=(GOODFELLOW, 'Rastrigin (1974), "Systems of extremal control", Nauka'),
        all_minima_known=True,
        gradient=closed_form(grad),
        second_derivatives=closed_form_hessian(hess),
    )


# -- a sharp and a wide minimum ----------------------------------------------------------------

SHARP_WIDE_BOWL = 0.05
# centre x, centre y, depth, width: the wide well, then the sharp dip on its slope
SHARP_WIDE_WELLS = ((0.0, 0.0, 1.0, 1.0), (-1.2, 0.9, 0.6, 0.12))
FORET = (
    'Foret et al. (2021), "Sharpness-aware minimization for efficiently improving '
    'generalization", ICLR'
)
KESKAR = (
    'Keskar et al. (2017), "On large-batch training for deep learning: generalization gap and '
    'sharp minima", ICLR'
)


def _gaussian_wells(bowl: float, wells: tuple[tuple[float, float, float, float], ...]):
    """f = bowl (x^2 + y^2) - sum_i d_i exp(-|p - m_i|^2 / (2 w_i^2)), its closed-form gradient
    and Hessian (the trap's algebra, for any wells)."""

    def fn(p: torch.Tensor) -> torch.Tensor:
        x, y = p[..., 0], p[..., 1]
        out = bowl * (x**2 + y**2)
        for mx, my, depth, width in wells:
            out = out - depth * torch.exp(-((x - mx) ** 2 + (y - my) ** 2) / (2.0 * width**2))
        return out

    def grad(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        f, gx, gy = bowl * (x * x + y * y), (2.0 * bowl) * x, (2.0 * bowl) * y
        for mx, my, depth, width in wells:
            dx, dy = x - mx, y - my
            well = depth * torch.exp(-(dx * dx + dy * dy) / (2.0 * width**2.0))
            f, gx, gy = f - well, gx + well * dx / width**2.0, gy + well * dy / width**2.0
        return f, gx, gy

    def hess(x: torch.Tensor, y: torch.Tensor) -> tuple:
        hxx = hyy = 2.0 * bowl
        hxy = 0.0
        for mx, my, depth, width in wells:
            dx, dy, w2 = x - mx, y - my, width**2.0
            well = depth * torch.exp(-(dx * dx + dy * dy) / (2.0 * w2)) / w2
            hxx = hxx + well * (1.0 - dx * dx / w2)
            hxy = hxy - well * dx * dy / w2
            hyy = hyy + well * (1.0 - dy * dy / w2)
        return hxx, hxy, hyy

    return fn, grad, hess


@register("sharp_wide")
def sharp_wide() -> Landscape:
    """A wide minimum and a sharp, shallower one on its slope.

    f = 0.05 (x^2 + y^2) - exp(-(x^2 + y^2) / 2) - 0.6 exp(-|p - (-1.2, 0.9)|^2 / (2 * 0.12^2)).
    The wide well's minimum is the origin, f = -1, curvature 1.1 on both axes (global); the
    narrow dip's minimum is at (-1.1876, 0.8907), f = -0.8171, curvatures 40.3 and 41.8 (37 times
    sharper; local); one saddle lies on the dip's rim. These three are the only stationary points
    in the domain (found from a 121 x 121 grid of starts and refined with scipy.optimize.root;
    gradient below 1e-15). From (-1.1, 1.1), on the dip's rim, gradient descent, momentum and
    Adam settle in the sharp dip; SAM with a radius rho larger than the dip's width 0.12 takes its
    gradient outside the dip, does not see it, and slides down to the wide minimum (Foret et al.
    2021). Sharp minima and generalization: Keskar et al. 2017.
    """
    fn, grad, hess = _gaussian_wells(SHARP_WIDE_BOWL, SHARP_WIDE_WELLS)
    return _landscape(
        "sharp_wide",
        "Sharp and wide minima",
        fn,
        domain=((-3.0, 3.0), (-3.0, 3.0)),
        start=(-1.1, 1.1),
        minima=(
            Minimum(0.0, 0.0, -1.0, "global"),
            Minimum(-1.18757608327, 0.890682062454, -0.817077770903, "local"),
        ),
        saddles=(Saddle(-0.971634354598, 0.728725765949, -0.439955247096, "the rim of the dip"),),
        formula=r"f(x, y) = 0.05\,(x^2 + y^2) - e^{-(x^2 + y^2)/2}"
        r" - 0.6\, e^{-((x + 1.2)^2 + (y - 0.9)^2)/0.0288}",
        notice="Plain descent, momentum and Adam fall into the narrow dip; SAM, whose gradient is "
        "taken a radius rho away, passes it by and settles in the wide bowl.",
        references=(FORET, KESKAR),
        all_minima_known=True,
        gradient=closed_form(grad),
        second_derivatives=closed_form_hessian(hess),
    )
