"""Figures of what the network predicts: decision regions (small multiples, one per run, following
the plane's player), the confusion matrix, misclassified images and first-layer filters.

Pure functions from the numpy containers of ``app.network_predictions`` to Plotly figures.

The decision regions travel as uint8 codes, one (ny, nx) image per run and recorded point: for two
classes the probability of class 1 in percent (0..100), for more classes the class index, and
``DIVERGED`` where a run has no finite network. The frames (named by the recorded point, as the
plane's) swap each run's image; ``layout.meta.follow`` asks ``app.plotly_view``'s client to show
the frame of the plane player's shown point, so the regions move with the paths.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .runtime import FramedFigure, typed_array
from .style import FONT_SIZE, SMALL_FONT, colour

if TYPE_CHECKING:
    from ..network_predictions import DigitsView, Regions

DIVERGED = 255
GREY = "#b0b0b0"
# two classes, as TensorFlow Playground: blue for class 0, orange for class 1; light regions, dark points
REGION_COLOURS = ("#5b9bd5", "#f7f7f7", "#f4a259")
POINT_COLOURS = ("#08306b", "#a63603")
# more classes: light region colours and dark point colours, one pair per class
MANY_REGIONS = (
    "#a6cee3", "#fdbf6f", "#b2df8a", "#fb9a99", "#cab2d6", "#ffff99", "#8dd3c7", "#bebada",
    "#fccde5", "#d9d9d9", "#ccebc5", "#ffed6f", "#80b1d3", "#fdb462", "#b3de69", "#bc80bd",
    "#e5d8bd", "#decbe4", "#fed9a6", "#f2f2f2",
)  # fmt: skip
MANY_POINTS = (
    "#1f78b4", "#ff7f00", "#33a02c", "#e31a1c", "#6a3d9a", "#b15928", "#1b9e77", "#7570b3",
    "#e7298a", "#525252", "#66a61e", "#e6ab02", "#386cb0", "#d95f02", "#4d9221", "#762a83",
    "#8c510a", "#5e3c99", "#b35806", "#000000",
)  # fmt: skip
PANEL = 260  # pixels of one panel's square plot area (the browser fits it to the column)


def region_codes(regions: Regions) -> np.ndarray:
    """(F, R, ny, nx) uint8 codes of ``regions.values`` (see the module docstring)."""
    v = np.asarray(regions.values, dtype=np.float64)
    finite = np.isfinite(v)
    scaled = np.round(v * 100.0) if regions.n_classes == 2 else v
    return np.where(finite, np.clip(np.nan_to_num(scaled), 0, 254), DIVERGED).astype(np.uint8)


def _colourscale(n_classes: int) -> tuple[list[list[Any]], float]:
    """The regions' colour scale and its zmax (codes above the classes' range are grey)."""
    if n_classes == 2:
        blue, white, orange = REGION_COLOURS
        return [[0.0, blue], [0.5 / 2.55, white], [1.0 / 2.55, orange], [1.01 / 2.55, GREY],
                [1.0, GREY]], 255.0  # fmt: skip
    scale: list[list[Any]] = []
    top = n_classes  # the grey band: any code >= n_classes (DIVERGED clipped to zmax)
    for c in range(n_classes + 1):
        col = MANY_REGIONS[c % len(MANY_REGIONS)] if c < n_classes else GREY
        scale += [[max(c - 0.5, 0) / top, col], [min(c + 0.5, top) / top, col]]
    return scale, float(top)


def regions_figure(
    regions: Regions, labels: Sequence[str], diverged: Sequence[int]
) -> FramedFigure:
    """Small multiples: each run's decision regions (its label, in its colour, above) with the
    training points on top; frames per recorded point, followed from the plane's player."""
    n = len(labels)
    cols = 1 if n == 1 else 2
    rows = math.ceil(n / cols)
    titles = [
        f"<b>{label}</b>" + (f"<br>diverged at step {at}" if at >= 0 else "")
        for label, at in zip(labels, diverged, strict=True)
    ]
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=titles,
        horizontal_spacing=0.05,
        vertical_spacing=0.12 if rows > 1 else 0.0,
    )
    codes = region_codes(regions)
    scale, zmax = _colourscale(regions.n_classes)
    xs, ys = np.asarray(regions.xs, np.float32), np.asarray(regions.ys, np.float32)
    heat = []
    for r in range(n):
        row, col = r // cols + 1, r % cols + 1
        heat.append(len(fig.data))
        fig.add_trace(
            go.Heatmap(
                x=xs, y=ys, z=codes[0, r], zmin=0, zmax=zmax, colorscale=scale,
                showscale=False, hoverinfo="skip",
                zsmooth="best" if regions.n_classes == 2 else False,
            ),
            row=row,
            col=col,
        )  # fmt: skip
        for c in range(regions.n_classes):
            at = np.asarray(regions.classes) == c
            dark = POINT_COLOURS if regions.n_classes == 2 else MANY_POINTS
            fig.add_trace(
                go.Scatter(
                    x=regions.points[at, 0],
                    y=regions.points[at, 1],
                    mode="markers",
                    marker={
                        "size": 5,
                        "color": dark[c % len(dark)],
                        "line": {"width": 0.5, "color": "#ffffff"},
                    },
                    name=f"class {regions.class_names[c]}",
                    legendgroup=f"class{c}",
                    showlegend=r == 0,
                    hovertemplate=f"class {regions.class_names[c]}<br>(%{{x:.2f}}, %{{y:.2f}})"
                    "<extra></extra>",
                ),
                row=row,
                col=col,
            )
    frames = [
        {
            "name": str(k),
            "data": [{"z": typed_array(codes[f, r])} for r in range(n)],
            "traces": heat,
        }
        for f, k in enumerate(regions.frames)
    ]
    fig = FramedFigure(
        fig,
        raw_frames=frames,
        raw_layout={
            "meta": {
                "follow": {"traces": heat},
                # the column's width (a panel no smaller than 110 px): beside the plane at
                # 1280 px, two panels side by side get about 135 px each
                "fit": {"below": 0, "min_plot": rows * 110, "width_only": True},
            }
        },
    )
    for r, annotation in enumerate(fig.layout.annotations):
        annotation.font = {"size": SMALL_FONT, "color": colour(r)}
    top = 70 if any(at >= 0 for at in diverged) else 50
    fig.update_layout(
        width=cols * PANEL + (cols - 1) * 20 + 60,
        height=rows * (PANEL + top) + 60,
        margin={"l": 50, "r": 10, "t": top, "b": 60},  # left: room for the plane's colour bar
        font={"size": FONT_SIZE},
        plot_bgcolor="#ffffff",
        legend={"orientation": "h", "x": 0, "y": -0.02, "yanchor": "top",
                "font": {"size": SMALL_FONT}},
    )  # fmt: skip
    fig.update_xaxes(showticklabels=False, ticks="", range=[float(xs[0]), float(xs[-1])],
                     showgrid=False, zeroline=False, constrain="domain")  # fmt: skip
    for r in range(n):
        suffix = "" if r == 0 else str(r + 1)
        fig.update_layout({f"yaxis{suffix}": {"scaleanchor": f"x{suffix}", "scaleratio": 1}})
    fig.update_yaxes(showticklabels=False, ticks="", range=[float(ys[0]), float(ys[-1])],
                     showgrid=False, zeroline=False, constrain="domain")  # fmt: skip
    return fig


def confusion_figure(view: DigitsView, class_names: Sequence[str]) -> go.Figure:
    """The confusion matrix: rows the true class, columns the predicted one, counts written in
    each cell; the colour saturates at twice the largest off-diagonal count, so the mistakes
    show (the diagonal, the correct answers, is the darkest)."""
    counts = np.asarray(view.confusion)
    off = counts[~np.eye(len(counts), dtype=bool)]
    zmax = max(2 * int(off.max()) if off.size else 1, 1)
    names = [str(c) for c in class_names]
    fig = go.Figure(
        go.Heatmap(
            z=counts,
            x=names,
            y=names,
            zmin=0,
            zmax=zmax,
            colorscale="Blues",
            showscale=False,
            text=counts,
            texttemplate="%{text}",
            textfont={"size": SMALL_FONT},
            hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>",
        )
    )
    fig.update_layout(
        width=430,
        height=450,
        margin={"l": 70, "r": 10, "t": 10, "b": 70},
        font={"size": FONT_SIZE},
    )
    ticks = {
        "type": "category",
        "tickfont": {"size": SMALL_FONT},
        "title_font": {"size": FONT_SIZE},
    }
    fig.update_xaxes(title_text="predicted", side="bottom", **ticks)
    fig.update_yaxes(title_text="true", autorange="reversed", scaleanchor="x", **ticks)
    return fig


def image_grid(
    images: np.ndarray,
    titles: Sequence[str],
    *,
    cols: int,
    diverging: bool = False,
    panel: int = 80,
) -> go.Figure:
    """Small images in a grid with a title each: grey ink on white (digits), or a red-blue
    scale centred on 0 (weights)."""
    n = len(images)
    if n == 0:
        return go.Figure()
    rows = math.ceil(n / cols)
    fig = make_subplots(
        rows=rows, cols=cols, subplot_titles=list(titles), horizontal_spacing=0.02,
        vertical_spacing=0.3 / rows,
    )  # fmt: skip
    for i, image in enumerate(images):
        img = np.asarray(image, dtype=np.float32)
        extent = float(np.abs(img).max()) or 1.0
        style = (
            {"colorscale": "RdBu", "zmid": 0.0, "zmin": -extent, "zmax": extent}
            if diverging
            else {"colorscale": "Greys", "zmin": 0.0, "zmax": 1.0}
        )
        fig.add_trace(
            go.Heatmap(z=img, showscale=False, hoverinfo="skip", **style),
            row=i // cols + 1,
            col=i % cols + 1,
        )
    for annotation in fig.layout.annotations:
        annotation.font = {"size": SMALL_FONT, "color": "#222222"}
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", constrain="domain")
    for i in range(n):
        suffix = "" if i == 0 else str(i + 1)
        fig.update_layout({f"yaxis{suffix}": {"scaleanchor": f"x{suffix}", "scaleratio": 1}})
    fig.update_layout(
        width=cols * (panel + 12),
        height=rows * (panel + 34) + 10,
        margin={"l": 4, "r": 4, "t": 30, "b": 4},
        font={"size": FONT_SIZE},
        plot_bgcolor="#ffffff",
    )
    return fig


def mistakes_figure(view: DigitsView, class_names: Sequence[str]) -> go.Figure:
    """The misclassified validation images, most confident mistakes first, titled true → predicted."""
    titles = [
        f"{class_names[t]}→{class_names[p]}" for t, p in zip(view.true, view.predicted, strict=True)
    ]
    return image_grid(view.images, titles, cols=6)


def filters_figure(view: DigitsView) -> go.Figure:
    """The first layer's filters (or an MLP's first-layer weights), blue positive, red negative."""
    name = "filter" if view.conv else "unit"
    titles = [f"{name} {i + 1}" for i in range(len(view.filters))]
    return image_grid(view.filters, titles, cols=8, diverging=True, panel=84)
