"""Figure builders: pure functions from numpy data to Plotly figures (they never show anything).

Like ``plotly.express``, every function returns a ``go.Figure`` that the caller may change further
and hands to ``st.plotly_chart``. The only arithmetic here is presentation (a log colour scale,
hiding non-finite points), never the optimisation itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

if TYPE_CHECKING:  # plain data containers; importing them at runtime would pull in streamlit
    from .compute import Point, Race, Surface

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
# End-of-path symbols, so runs differ in shape as well as colour (projectors, grey-scale prints).
END_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "pentagon", "hexagon", "star", "cross")
# Low values light, high values darker: coloured paths stand out everywhere on it.
SURFACE_COLORSCALE = [[0.0, "#ffffff"], [0.5, "#d4d4d4"], [1.0, "#8c8c8c"]]
FONT_SIZE = 18  # readable from the back of a lecture room
PLOT_SIZE = 560  # pixels along the longer side of the plot area: fits a 1280 x 800 projector
# room for the axis labels (left, bottom), the colour bar (right) and the legend (bottom)
MARGIN = {"l": 70, "r": 150, "t": 10, "b": 130}
POINT_STYLE = {
    "global": {"symbol": "star", "size": 22, "name": "global minimum"},
    "local": {"symbol": "star-open", "size": 18, "name": "local minimum"},
    "saddle": {"symbol": "x-thin-open", "size": 16, "name": "saddle point"},
}


def plot_area(
    domain: tuple[tuple[float, float], tuple[float, float]], size: int = 640
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


def colour(i: int) -> str:
    """The ``i``-th colour of the (cycled) Okabe-Ito palette."""
    return OKABE_ITO[i % len(OKABE_ITO)]


def log_colour_values(z: np.ndarray) -> tuple[np.ndarray, float]:
    """``log10(z - min + floor)`` for a log colour scale; returns the values and ``floor``.

    ``floor`` is a millionth of the value range, so that an exact zero at the minimum does not
    stretch the colour scale down to ``log10(1e-12)``.
    """
    finite = z[np.isfinite(z)]
    if finite.size == 0:
        return np.full_like(z, np.nan), 1.0
    low, high = float(finite.min()), float(finite.max())
    floor = max((high - low) * 1e-6, 1e-12)
    with np.errstate(invalid="ignore"):
        return np.log10(z - low + floor), floor


def surface_figure(
    xs: np.ndarray,
    ys: np.ndarray,
    z: np.ndarray,
    *,
    domain: tuple[tuple[float, float], tuple[float, float]] | None = None,
    points: Sequence[Point] = (),
    log_colour: bool = False,
    plot_size: int = PLOT_SIZE,
) -> go.Figure:
    """A filled contour of ``z[j, i] = f(xs[i], ys[j])`` with the marked minima and saddles.

    Axes are fixed to ``domain`` (default: the grid's extent) with equal scales, so that a run
    that leaves the domain does not rescale the view and gradients look perpendicular to contours.
    The figure's width and height follow the domain's aspect ratio (the longer side of the plot
    area is ``plot_size`` pixels), so the colour bar sits next to the plot: show it with
    ``st.plotly_chart(fig, width="content")``.
    """
    z = np.asarray(z)
    shown = z
    colorbar: dict = {"title": {"text": "f(x, y)"}}
    if log_colour:
        shown, _ = log_colour_values(z)
        finite = shown[np.isfinite(shown)]
        decades = (
            np.arange(np.floor(finite.min()), np.ceil(finite.max()) + 1) if finite.size else []
        )
        colorbar = {
            "title": {"text": "f − min"},
            "tickvals": decades,
            "ticktext": [f"{10.0**d:g}" for d in decades],
        }
    fig = go.Figure(
        go.Contour(
            x=xs,
            y=ys,
            z=shown.astype(np.float32),
            customdata=z.astype(np.float32),
            colorscale=SURFACE_COLORSCALE,
            ncontours=28,
            contours={"coloring": "heatmap", "showlines": True},
            line={"width": 0.6, "color": "rgba(60, 60, 60, 0.45)"},
            colorbar={**colorbar, "thickness": 18, "len": 0.85},
            hovertemplate="x = %{x:.4g}<br>y = %{y:.4g}<br>f = %{customdata:.5g}<extra></extra>",
            name="surface",
            showlegend=False,
        )
    )
    for kind in ("global", "local", "saddle"):
        chosen = [p for p in points if p.kind == kind]
        if not chosen:
            continue
        style = POINT_STYLE[kind]
        fig.add_trace(
            go.Scatter(
                x=[p.x for p in chosen],
                y=[p.y for p in chosen],
                customdata=[p.value for p in chosen],
                mode="markers",
                name=style["name"],
                legendrank=1000 + list(POINT_STYLE).index(kind),
                marker={
                    "symbol": style["symbol"],
                    "size": style["size"],
                    "color": "#ffffff" if kind == "global" else "#000000",
                    "line": {"width": 1.5, "color": "#000000"},
                },
                hovertemplate=f"{style['name']}<br>(%{{x:.4g}}, %{{y:.4g}})<br>"
                "f = %{customdata:.5g}<extra></extra>",
            )
        )
    if domain is None:
        domain = ((float(xs[0]), float(xs[-1])), (float(ys[0]), float(ys[-1])))
    (x0, x1), (y0, y1) = domain
    plot_w, plot_h = plot_area(domain, plot_size)
    fig.update_layout(
        width=plot_w + MARGIN["l"] + MARGIN["r"],
        height=plot_h + MARGIN["t"] + MARGIN["b"],
        margin=MARGIN,
        font={"size": FONT_SIZE},
        plot_bgcolor="#ffffff",
        legend={
            "orientation": "h",
            "yanchor": "top",
            "y": -70 / plot_h,
            "xanchor": "left",
            "x": 0.0,
            "font": {"size": FONT_SIZE},
            "itemsizing": "constant",
        },
        hoverlabel={"font": {"size": FONT_SIZE - 2}},
    )
    axis = {
        "constrain": "domain",
        "showgrid": False,
        "zeroline": False,
        "ticks": "outside",
        "tickfont": {"size": FONT_SIZE - 2},
        "title_font": {"size": FONT_SIZE},
    }
    fig.update_xaxes(title_text="x", range=[x0, x1], **axis)
    fig.update_yaxes(title_text="y", range=[y0, y1], scaleanchor="x", scaleratio=1, **axis)
    return fig


def add_paths(
    fig: go.Figure, paths: Sequence[np.ndarray], labels: Sequence[str], *, width: float = 3.5
) -> go.Figure:
    """Draw each ``(steps + 1, 2)`` path on ``fig`` (in place; also returned), with start and end.

    Layers, bottom to top: a white halo under every path (so each reads on any part of the
    surface), the coloured lines, the common start point, then each run's last point with its own
    symbol, so that a run that barely moved is not hidden under the others. Non-finite points (a
    diverged run) become gaps. The legend lists the runs (line and end symbol) first.
    """
    clean = [np.where(np.isfinite(p), p, np.nan) for p in paths]
    for path in clean:
        fig.add_trace(
            go.Scatter(
                x=path[:, 0],
                y=path[:, 1],
                mode="lines",
                line={"color": "rgba(255, 255, 255, 0.8)", "width": width + 3},
                showlegend=False,
                hoverinfo="skip",
            )
        )
    for i, (path, label) in enumerate(zip(clean, labels, strict=True)):
        fig.add_trace(
            go.Scatter(
                x=path[:, 0],
                y=path[:, 1],
                customdata=np.arange(len(path)),
                mode="lines",
                name=label,
                legendgroup=label,
                showlegend=False,
                line={"color": colour(i), "width": width},
                hovertemplate=f"{label}<br>step %{{customdata}}<br>"
                "(%{x:.4g}, %{y:.4g})<extra></extra>",
            )
        )
    if clean and len(clean[0]):
        x0, y0 = clean[0][0]
        fig.add_trace(
            go.Scatter(
                x=[x0],
                y=[y0],
                mode="markers",
                name="start",
                legendrank=900,
                marker={
                    "symbol": "circle",
                    "size": 16,
                    "color": "#000000",
                    "line": {"width": 2.5, "color": "#ffffff"},
                },
                hovertemplate="start<br>(%{x:.4g}, %{y:.4g})<extra></extra>",
            )
        )
    for i, (path, label) in enumerate(zip(clean, labels, strict=True)):
        finite = np.flatnonzero(np.isfinite(path).all(axis=1))
        last = path[finite[-1]] if finite.size else np.array([np.nan, np.nan])
        step = int(finite[-1]) if finite.size else 0
        # one point drawn as line + marker: the legend entry shows both the colour and the symbol
        fig.add_trace(
            go.Scatter(
                x=[last[0]],
                y=[last[1]],
                mode="lines+markers",
                name=label,
                legendgroup=label,
                legendrank=i + 1,
                line={"color": colour(i), "width": width},
                marker={
                    "symbol": END_SYMBOLS[i % len(END_SYMBOLS)],
                    "size": 15,
                    "color": colour(i),
                    "line": {"width": 2, "color": "#ffffff"},
                },
                hovertemplate=f"{label}: last point, step {step}<br>"
                "(%{x:.4g}, %{y:.4g})<extra></extra>",
            )
        )
    return fig


def race_figure(
    surface: Surface, race: Race | None = None, *, log_colour: bool = False
) -> go.Figure:
    """The landscape's contour, its known minima and saddles, and every optimizer's path."""
    fig = surface_figure(
        surface.xs,
        surface.ys,
        surface.z,
        domain=surface.domain,
        points=surface.points,
        log_colour=log_colour,
    )
    if race is not None:
        add_paths(fig, race.paths, race.labels)
    return fig
