"""Style shared by every chart: the colour-blind-safe palette, marker symbols, font and plot
sizes, and the short texts of numbers and points."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # plain data containers; importing them at runtime would pull in streamlit
    from ..compute import Point, Run

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision
# deficiency. Ordered for a light grey surface: yellow (weak on white) and black (weak on dark
# grey) come last.
OKABE_ITO = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow
)
# Current-position symbols, so runs differ in shape as well as colour (projectors, grey prints).
END_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "pentagon", "hexagon", "star", "cross")
# The same idea in 3-D, where Plotly knows fewer symbols.
END_SYMBOLS_3D = (
    "circle",
    "square",
    "diamond",
    "cross",
    "x",
    "circle-open",
    "square-open",
    "diamond-open",
)
FONT_SIZE = 18  # readable from the back of a lecture room
SMALL_FONT = 16  # ticks, legend, slider labels: the smallest text drawn
PLOT_SIZE = 480  # pixels along the longer side of the 2-D plot area: on a 720 px projector
POINT_STYLE = {
    "global": {"symbol": "star", "size": 18, "name": "global minimum", "color": "#FFC20A"},
    "local": {"symbol": "star-open", "size": 18, "name": "local minimum", "color": "#000000"},
    "saddle": {"symbol": "x-thin-open", "size": 16, "name": "saddle point", "color": "#000000"},
}


def plot_area(
    domain: tuple[tuple[float, float], tuple[float, float]], size: int = PLOT_SIZE
) -> tuple[int, int]:
    """Pixel width and height of a plot area with equal x and y scales; the longer side is ``size``.

    The shorter side is at least ``size / 3``: a very elongated domain is shown with a margin
    around it rather than as a thin strip.
    """
    (x0, x1), (y0, y1) = domain
    aspect = (x1 - x0) / (y1 - y0)
    if aspect >= 1:
        return size, max(round(size / aspect), size // 3)
    return max(round(size * aspect), size // 3), size


def legend_above() -> dict[str, Any]:
    """A horizontal legend at the figure's top left, above the plot: a plot in a narrow column
    keeps its width."""
    return {
        "font": {"size": SMALL_FONT},
        "itemsizing": "constant",
        "orientation": "h",
        "x": 0.0,
        "xanchor": "left",
        "yref": "container",
        "y": 1.0,
        "yanchor": "top",
    }


def colour(i: int) -> str:
    """The ``i``-th colour of the (cycled) Okabe-Ito palette."""
    return OKABE_ITO[i % len(OKABE_ITO)]


def symbol(i: int) -> str:
    """The ``i``-th run's marker symbol."""
    return END_SYMBOLS[i % len(END_SYMBOLS)]


def slot(run: Run, i: int) -> int:
    """The colour slot of ``run``, the ``i``-th run of a figure: its own (``Run.slot``, kept
    when other runs are added or removed), else its position."""
    return i if run.slot is None else run.slot


def number_text(value: float | None, digits: int = 3) -> str:
    """Short text for a number: ``digits`` significant digits; "—" for a missing value (None or
    nan), "∞" / "−∞" for an infinite one; never "None", "nan" or "Infinity"."""
    if value is None:
        return "—"
    value = float(value)
    if math.isnan(value):
        return "—"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    text = f"{value:.{digits}g}"
    return "0" if text == "-0" else text


def position_text(x: float, y: float, digits: int = 3) -> str:
    """A point as "(1.00, -0.944)": ``digits`` significant digits, trailing zeros kept so the
    two coordinates read alike; "—" for a coordinate that is missing, "∞" for an infinite one."""

    def one(v: float) -> str:
        v = float(v)
        if not math.isfinite(v):
            return number_text(v)
        text = f"{v:#.{digits}g}".rstrip(".")
        return text[1:] if text.startswith("-") and float(text) == 0 else text

    return f"({one(x)}, {one(y)})"


def fmt(value: float, digits: int = 3) -> str:
    """Short text for a number: ``digits`` significant digits, '—' when not finite."""
    if value is None or not math.isfinite(value):
        return "—"
    return number_text(value, digits)


def pair_text(v: np.ndarray) -> str:
    return f"({fmt(float(v[0]))}, {fmt(float(v[1]))})"


def domain_diagonal(domain: tuple[tuple[float, float], tuple[float, float]]) -> float:
    (x0, x1), (y0, y1) = domain
    return math.hypot(x1 - x0, y1 - y0)


def domain_decimals(domain: tuple[tuple[float, float], tuple[float, float]]) -> int:
    """Decimals that resolve 1/100000 of the domain diagonal (far below a pixel)."""
    return max(0, 5 - math.floor(math.log10(domain_diagonal(domain))))


def minima_points(points: Sequence[Point]) -> list[Point]:
    """The known minima (global and local), in order: ``Run.minimum`` indexes this list."""
    return [p for p in points if p.kind in ("global", "local")]


def minimum_label(points: Sequence[Point], index: int) -> str:
    """E.g. "global (1.00, 1.00)" or "local (-0.944, 0.944)"; "—" for -1 or an unknown index."""
    minima = minima_points(points)
    if not 0 <= index < len(minima):
        return "—"
    p = minima[index]
    return f"{p.kind} {position_text(p.x, p.y)}"
