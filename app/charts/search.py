"""Figure builders of the hyperparameter-search page: pure functions from numpy results to figures.

Axes: the learning rate is drawn on a log scale as log10(lr) coordinates with decade ticks
labelled in lr (so a layout image can sit exactly under the animated trials); a log-scale second
hyperparameter likewise. The dense objective is drawn in the explorer's grey bands (lighter is
better), the trials in each searcher's colour, numbered in the order they were asked.

The animation keeps the map as a layout image (a heatmap would vanish while Plotly animates the
traces above it, plotly.js issues 4491 and 4596) and each frame only resends the trials so far:
at most ``budget`` small points per searcher per frame.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from studies.tuning import DenseObjective, SearchResult

from .style import colour, fmt
from .surface import ColourLevels, surface_png

FONT = 14
TITLE_FONT = 16
PANEL_HEIGHT = 380
BEST_COLOUR = "#000000"
PAD = 0.04  # axis margin beyond the searched box, so edge trials show
TOP_PAD = 0.1  # above the box: room for the numbers of the top row
# curves that coincide (shared start-up trials) stay distinguishable by their dashes
DASHES = ("solid", "dot", "dash", "longdash", "dashdot", "longdashdot")
FRAME_MS = 250  # one trial per quarter second when playing
PLAYER_GAP = 76  # px between the plots' bottom and the player, below the axis titles


def _coords(values: np.ndarray, log: bool) -> np.ndarray:
    """Plot coordinates of hyperparameter values: log10 on a log axis."""
    values = np.asarray(values, dtype=np.float64)
    return np.log10(values) if log else values


def _axis(low: float, high: float, log: bool, title: str, top: float = PAD) -> dict[str, Any]:
    """An axis over [low, high] (values); on a log axis, ticks at decades labelled in values."""
    axis: dict[str, Any] = {
        "title": {"text": title, "font": {"size": FONT}},
        "tickfont": {"size": FONT - 2},
        "showgrid": False,
        "zeroline": False,
    }
    if log:
        a, b = math.log10(low), math.log10(high)
        decades = list(range(math.ceil(a - 1e-9), math.floor(b + 1e-9) + 1))
        if len(decades) > 6:
            decades = decades[:: math.ceil(len(decades) / 6)]
        axis["tickvals"] = decades
        axis["ticktext"] = [f"{10.0**d:g}" for d in decades]
        axis["range"] = [a - PAD * (b - a), b + top * (b - a)]
    else:
        axis["range"] = [low - PAD * (high - low), high + top * (high - low)]
    return axis


def levels(dense: DenseObjective) -> ColourLevels:
    """Colour levels of the dense map (linear in the score, which is already a log)."""
    return ColourLevels.of(dense.values, log=False)


def _heatmap(dense: DenseObjective, param_log: bool, show_scale: bool) -> dict[str, Any]:
    lv = levels(dense)
    tickvals, ticktext = lv.ticks()
    return {
        "type": "heatmap",
        "x": _coords(dense.lrs, True).astype(np.float32),
        "y": _coords(dense.params, param_log).astype(np.float32),
        "z": dense.values.astype(np.float32),
        "customdata": np.stack(
            [np.broadcast_to(dense.lrs, dense.values.shape), dense.losses], axis=-1
        ).astype(np.float32),
        "zmin": lv.vmin,
        "zmax": lv.vmax,
        "colorscale": lv.colorscale(),
        "showscale": show_scale,
        "colorbar": {
            "title": {"text": "score", "side": "right"},
            "tickvals": tickvals,
            "ticktext": ticktext,
            "thickness": 12,
        },
        "hovertemplate": f"lr=%{{customdata[0]:.3g}}<br>{dense.param}=%{{y:.3g}}"
        "<br>score=%{z:.3g}<br>final loss=%{customdata[1]:.3g}<extra>dense map</extra>",
        "name": "objective",
    }


def _trial_traces(
    result: SearchResult, k: int, colour_: str, param_log: bool, numbers: bool
) -> list[dict[str, Any]]:
    """The first ``k`` trials: numbered markers (x for diverged runs), the best-so-far chain
    (trials that improved on all before them, joined by a line) and the best as a star."""
    k = max(0, min(k, result.values.size))
    p = result.params[:k]
    x = _coords(p[:, 0], True) if k else np.zeros(0)
    y = _coords(p[:, 1], param_log) if k else np.zeros(0)
    order = np.arange(1, k + 1)
    names = result.names
    text = [str(i) for i in order] if numbers else None
    diverged = result.diverged[:k]
    trials: dict[str, Any] = {
        "type": "scatter",
        "x": np.round(x, 5).tolist(),
        "y": np.round(y, 5).tolist(),
        "mode": "markers+text" if numbers else "markers",
        "text": text,
        "textposition": "top center",
        "textfont": {"size": 10, "color": colour_},
        "marker": {
            "color": colour_,
            "size": 8,
            "symbol": ["x" if d else "circle" for d in diverged],
            "line": {"width": 0.5, "color": "white"},
        },
        "customdata": np.stack(
            [order, p[:, 0] if k else [], p[:, 1] if k else [], result.values[:k]], axis=-1
        )
        .round(6)
        .tolist()
        if k
        else [],
        "hovertemplate": f"trial %{{customdata[0]:.0f}}<br>lr=%{{customdata[1]:.3g}}"
        f"<br>{names[1]}=%{{customdata[2]:.3g}}<br>score=%{{customdata[3]:.3g}}<extra></extra>",
        "name": "trials",
        "showlegend": False,
    }
    rec = result.improvements
    rec = rec[rec < k]
    chain: dict[str, Any] = {
        "type": "scatter",
        "x": np.round(x[rec], 5).tolist(),
        "y": np.round(y[rec], 5).tolist(),
        "mode": "lines+markers",
        "line": {"color": BEST_COLOUR, "width": 1.5, "dash": "dot"},
        "marker": {
            "size": 12,
            "color": "rgba(0,0,0,0)",
            "line": {"width": 2, "color": BEST_COLOUR},
        },
        "hoverinfo": "skip",
        "name": "best so far",
        "showlegend": False,
    }
    best = int(np.argmin(result.values[:k])) if k else None
    star: dict[str, Any] = {
        "type": "scatter",
        "x": [round(float(x[best]), 5)] if best is not None else [],
        "y": [round(float(y[best]), 5)] if best is not None else [],
        "mode": "markers",
        "marker": {
            "symbol": "star",
            "size": 18,
            "color": "#F0E442",
            "line": {"width": 1.5, "color": BEST_COLOUR},
        },
        "hoverinfo": "skip",
        "name": "best",
        "showlegend": False,
    }
    return [trials, chain, star]


def trial_map_figure(
    dense: DenseObjective, result: SearchResult, index: int, param_log: bool
) -> go.Figure:
    """One searcher's panel: the dense objective underneath, every trial numbered in order,
    the chain of best-so-far improvements dotted and the best trial starred."""
    col = colour(index)
    fig = go.Figure()
    fig.add_trace(_heatmap(dense, param_log, show_scale=False))
    for trace in _trial_traces(result, result.values.size, col, param_log, numbers=True):
        fig.add_trace(trace)
    title = (
        f"<b>{result.title}</b><br><span style='font-size:{FONT - 1}px'>best {fmt(result.best_value)}"
        f" at trial {result.best_index + 1} of {result.values.size}</span>"
    )
    fig.update_layout(
        title={"text": title, "font": {"size": TITLE_FONT, "color": col}, "x": 0.02},
        height=PANEL_HEIGHT,
        margin={"l": 50, "r": 8, "t": 64, "b": 46},
        xaxis=_axis(dense.lrs[0], dense.lrs[-1], True, "learning rate (log scale)"),
        yaxis=_axis(dense.params[0], dense.params[-1], param_log, dense.param, TOP_PAD),
        plot_bgcolor="white",
    )
    return fig


def best_so_far_figure(
    results: Sequence[SearchResult], dense: DenseObjective | None = None
) -> go.Figure:
    """Best score so far against trial number, one step curve per searcher; the dense map's
    best and its top-5 % threshold as reference lines."""
    fig = go.Figure()
    for i, r in enumerate(results):
        n = r.best_so_far.size
        fig.add_trace(
            go.Scatter(
                x=np.arange(1, n + 1),
                y=r.best_so_far.astype(np.float32),
                mode="lines",
                line={"color": colour(i), "width": 3, "shape": "hv", "dash": DASHES[i % 6]},
                name=r.title,
                hovertemplate="trial %{x}: best %{y:.3g}<extra>" + r.title + "</extra>",
            )
        )
    if dense is not None:
        for y, text, dash in (
            (dense.best[2], "best of the dense map", "dash"),
            (dense.percentile(5), "top 5 %", "dot"),
        ):
            fig.add_hline(
                y=y,
                line={"color": "#555", "dash": dash, "width": 1.5},
                annotation_text=text,
                annotation_position="top right",
                annotation_font_size=FONT - 2,
            )
    fig.update_layout(
        height=420,
        margin={"l": 60, "r": 20, "t": 30, "b": 50},
        xaxis={"title": {"text": "trial number"}, "rangemode": "tozero"},
        yaxis={"title": {"text": "best score so far (lower is better)"}},
        legend={"orientation": "h", "y": -0.2, "font": {"size": FONT - 1}},
        font={"size": FONT},
        plot_bgcolor="white",
    )
    fig.update_xaxes(showgrid=True, gridcolor="#eee")
    fig.update_yaxes(showgrid=True, gridcolor="#eee")
    return fig


def animation_figure(
    dense: DenseObjective, results: Sequence[SearchResult], param_log: bool, cols: int = 3
) -> go.Figure:
    """Every searcher's trials appearing one per frame, side by side on the same map."""
    n = len(results)
    cols = max(1, min(cols, n))
    rows = math.ceil(n / cols)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[r.title for r in results],
        horizontal_spacing=0.06,
        vertical_spacing=0.12 if rows > 1 else 0.0,
    )
    lv = levels(dense)
    xs = _coords(dense.lrs, True)
    ys = _coords(dense.params, param_log)
    png = surface_png(xs, ys, dense.values, lv, 240, 240)
    xaxis = _axis(dense.lrs[0], dense.lrs[-1], True, "learning rate")
    yaxis = _axis(dense.params[0], dense.params[-1], param_log, dense.param, TOP_PAD)
    images = []
    for i, r in enumerate(results):
        row, col = divmod(i, cols)
        for trace in _trial_traces(r, 1, colour(i), param_log, numbers=True):
            fig.add_trace(trace, row=row + 1, col=col + 1)
        suffix = "" if i == 0 else str(i + 1)
        images.append(
            {
                "source": png,
                "xref": f"x{suffix}",
                "yref": f"y{suffix}",
                "x": float(xs[0]),
                "y": float(ys[-1]),
                "sizex": float(xs[-1] - xs[0]),
                "sizey": float(ys[-1] - ys[0]),
                "sizing": "stretch",
                "layer": "below",
            }
        )
        fig.update_xaxes(
            xaxis | {"title": {"text": "learning rate" if row == rows - 1 else ""}},
            row=row + 1,
            col=col + 1,
        )
        fig.update_yaxes(
            yaxis | {"title": {"text": dense.param if col == 0 else ""}}, row=row + 1, col=col + 1
        )
    total = max((r.values.size for r in results), default=0)
    frames = []
    for k in range(1, total + 1):
        data = [t for i, r in enumerate(results) for t in _frame_data(r, k, i, param_log)]
        frames.append({"name": str(k), "data": data})
    fig.frames = [go.Frame(f) for f in frames]
    steps = [
        {
            "method": "animate",
            "label": str(k),
            "args": [[str(k)], {"mode": "immediate", "frame": {"duration": 0, "redraw": False}}],
        }
        for k in range(1, total + 1)
    ]
    player_y = -PLAYER_GAP / (330 * rows - 10)  # in paper units: the plots are 330 * rows - 10 px
    fig.update_layout(
        images=images,
        height=330 * rows + 190,
        margin={"l": 60, "r": 20, "t": 40, "b": 160},
        plot_bgcolor="white",
        font={"size": FONT - 1},
        updatemenus=[
            {
                "type": "buttons",
                "direction": "left",
                "x": 0.0,
                "y": player_y,
                "xanchor": "left",
                "yanchor": "top",
                "showactive": False,
                "buttons": [
                    {
                        "label": "▶ Play",
                        "method": "animate",
                        "args": [
                            None,
                            {
                                "frame": {"duration": FRAME_MS, "redraw": False},
                                "transition": {"duration": 0},
                                "fromcurrent": True,
                                "mode": "immediate",
                            },
                        ],
                    },
                    {
                        "label": "❚❚ Pause",
                        "method": "animate",
                        "args": [
                            [None],
                            {"frame": {"duration": 0, "redraw": False}, "mode": "immediate"},
                        ],
                    },
                ],
            }
        ],
        sliders=[
            {
                "active": 0,
                "x": 0.18,
                "len": 0.82,
                "y": player_y,
                "yanchor": "top",
                "currentvalue": {"prefix": "trials shown: ", "font": {"size": FONT}},
                "pad": {"t": 10},
                "steps": steps,
            }
        ],
    )
    return fig


def _frame_data(result: SearchResult, k: int, index: int, param_log: bool) -> list[dict[str, Any]]:
    """The three trial traces of one panel after ``k`` trials, only the fields that change."""
    out = []
    for t in _trial_traces(result, k, colour(index), param_log, numbers=True):
        item = {"type": "scatter", "x": t["x"], "y": t["y"]}
        if t["name"] == "trials":
            item["text"] = t["text"]
            item["customdata"] = t["customdata"]
            item["marker"] = t["marker"]
        out.append(item)
    return out
