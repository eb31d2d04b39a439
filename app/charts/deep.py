"""Figure builders of the "Deep learning" page: pure functions from numpy data to Plotly figures.

Each view is one figure that plays on one timeline (``app.charts.player``'s spec, played in the
browser by ``app.plotly_view``): the learning curves are path traces drawn up to the shown step,
a marker on each rides the frames, and the gradients view's heat map (layer x step) carries a
cursor column (``layout.meta.cursor``) at the shown step. Nothing is computed here beyond
presentation: log colour levels, dropping non-finite values, aligning runs of different batch
sizes on one axis of epochs, choosing frames.
"""

from __future__ import annotations

import base64
import io
import math
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image
from plotly.colors import sequential

from .player import MAX_FRAMES, frame_steps, player_spec
from .runtime import FramedFigure
from .style import FONT_SIZE, SMALL_FONT, colour, legend_above, symbol

if TYPE_CHECKING:  # plain data containers; importing them at runtime would pull in streamlit
    from ..deep_compute import BatchView, EosView, GradientView

HEIGHT = 400  # pixels: the chart and the player's bar fit a 720-pixel screen under the title
TITLE_FONT = {"size": SMALL_FONT}
THRESHOLD_COLOUR = "#D55E00"
# the heat map's colour range in decades of the gradient norm: the same colours mean the same
# norms from one network to the next (a network whose norms leave it widens it)
NORM_DECADES = (-10, 4)
CURSOR = {"color": "#000000", "width": 2.5, "dash": "dot"}
_AXIS = {
    "ticks": "outside",
    "tickfont": {"size": SMALL_FONT},
    "title_font": TITLE_FONT,
    "showline": True,
    "linecolor": "#444444",
    "mirror": True,
    "zeroline": False,
}


def _f32(a: Any) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(a, dtype=np.float32)


def _finite(a: Any) -> np.ndarray:
    out = np.asarray(a, dtype=np.float64).copy()
    out[~np.isfinite(out)] = np.nan
    return out


def _positive_log10(a: Any) -> np.ndarray:
    a = _finite(a)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a > 0, np.log10(np.where(a > 0, a, 1.0)), np.nan)


def _power_text(exponent: int) -> str:
    sup = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
    return "1" if exponent == 0 else f"10{str(exponent).translate(sup)}"


def _layout(fig: FramedFigure, top: int, uirevision: str) -> None:
    fig.update_layout(
        height=HEIGHT,
        margin={"l": 80, "r": 20, "t": top, "b": 60},
        font={"size": FONT_SIZE},
        plot_bgcolor="#ffffff",
        hovermode="closest",
        hoverlabel={"font": {"size": SMALL_FONT}},
        legend=legend_above(),
        uirevision=uirevision,
    )


def _panel_title(text: str, x: float, y: float = 1.0) -> dict[str, Any]:
    return {
        "text": text,
        "xref": "paper",
        "yref": "paper",
        "x": x,
        "y": y,
        "xanchor": "left",
        "yanchor": "bottom",
        "showarrow": False,
        "font": {"size": SMALL_FONT},
    }


def _marker_frames(
    total: int, step: int, points: list[tuple[int, np.ndarray, np.ndarray]]
) -> list[dict[str, Any]]:
    """Frames at most ``MAX_FRAMES`` steps: each places trace ``index``'s marker at
    (xs[k], ys[k]) (nothing where that value is not finite)."""
    frames = []
    for k in frame_steps(total, step, MAX_FRAMES) if total > 0 else []:
        data = []
        for _, xs, ys in points:
            x, y = float(xs[k]), float(ys[k])
            ok = math.isfinite(x) and math.isfinite(y)
            data.append({"x": [x] if ok else [], "y": [y] if ok else []})
        frames.append({"name": str(k), "data": data, "traces": [i for i, _, _ in points]})
    return frames


def _marker(x: float, y: float, i: int, name: str, xaxis: str = "x", yaxis: str = "y") -> dict:
    ok = math.isfinite(x) and math.isfinite(y)
    return {
        "type": "scatter",
        "x": [x] if ok else [],
        "y": [y] if ok else [],
        "mode": "markers",
        "marker": {
            "symbol": symbol(i),
            "size": 14,
            "color": colour(i),
            "line": {"width": 2, "color": "#000000"},
        },
        "name": name,
        "showlegend": False,
        "hoverinfo": "skip",
        "xaxis": xaxis,
        "yaxis": yaxis,
    }


# --- vanishing and exploding gradients -------------------------------------------------------------


def heat_png(z: np.ndarray, lo: float, hi: float, cell: tuple[int, int] = (24, 6)) -> str:
    """``z[l, t]`` (row 0: the input layer) as a PNG ``data:`` URI in the Viridis colour scale
    from ``lo`` to ``hi``, each cell ``cell`` = (rows, columns) pixels, the last layer at the
    top; non-finite cells are light grey."""
    stops = np.array([_rgb(c) for c in sequential.Viridis], dtype=float)  # (S, 3)
    with np.errstate(invalid="ignore"):
        u = np.clip((np.asarray(z, dtype=float) - lo) / (hi - lo), 0.0, 1.0)
    where = np.linspace(0.0, 1.0, len(stops))
    levels = np.linspace(0.0, 1.0, 255)
    palette = np.stack([np.interp(levels, where, stops[:, c]) for c in range(3)], -1)
    palette = np.concatenate([palette, [[235.0, 235.0, 235.0]]]).round().astype(np.uint8)
    index = np.where(np.isfinite(u), np.round(np.nan_to_num(u) * 254), 255).astype(np.uint8)
    index = np.repeat(np.repeat(index[::-1], cell[0], 0), cell[1], 1)  # top row: the last layer
    image = Image.fromarray(index, mode="P")
    image.putpalette(palette.ravel().tolist())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def gradients_figure(view: GradientView) -> FramedFigure:
    """Left: the layer x step heat map of log10 gradient norms (input layer at the bottom), a
    dotted cursor at the shown step; right: training and validation loss up to the shown step.

    The heat map is a layout image (a heatmap trace vanishes while Plotly animates the figure's
    other traces, plotly.js issues 4491 and 4596), with an invisible point on every cell for
    its hover and an invisible one that draws the colour bar."""
    z = _positive_log10(view.norms)
    finite = z[np.isfinite(z)]
    lo, hi = NORM_DECADES  # one colour scale for every network, widened only to fit the data
    if finite.size:
        lo, hi = min(lo, math.floor(finite.min())), max(hi, math.ceil(finite.max()))
    ticks = list(range(lo, hi + 1, 2 if hi - lo <= 16 else math.ceil((hi - lo) / 8)))
    n_layers = len(view.layers)
    total = len(view.loss_steps) - 1
    steps = np.asarray(view.loss_steps, dtype=np.float64)
    grad_steps = np.asarray(view.grad_steps, dtype=np.float64)
    half = (grad_steps[1] - grad_steps[0]) / 2 if len(grad_steps) > 1 else 0.5
    x0, x1 = float(grad_steps[0] - half), float(grad_steps[-1] + half)
    right = max(x1, float(steps[-1]))  # the cursor at the last step stays in view
    cells_x, cells_y = np.meshgrid(grad_steps, np.arange(1, n_layers + 1))
    traces: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "x": _f32(cells_x.ravel()),
            "y": _f32(cells_y.ravel()),
            "customdata": _f32(_finite(view.norms).ravel()),
            "mode": "markers",
            "marker": {"size": 10, "opacity": 0, "color": "#000000"},
            "name": "gradient norm",
            "showlegend": False,
            "hovertemplate": "step %{x}, layer %{y}<br>‖∇‖ = %{customdata:.3g}<extra></extra>",
        },
        {
            "type": "scatter",
            "x": [x0],
            "y": [1],
            "mode": "markers",
            "marker": {
                "color": [lo],
                "cmin": lo,
                "cmax": hi,
                "colorscale": "Viridis",
                "showscale": True,
                "opacity": 0,
                "size": 1,
                "colorbar": {
                    "title": {"text": "‖∇‖", "font": TITLE_FONT},
                    "tickvals": ticks,
                    "ticktext": [_power_text(t) for t in ticks],
                    "tickfont": {"size": SMALL_FONT},
                    "x": 0.555,
                    "xanchor": "left",
                    "thickness": 16,
                    "len": 1.0,
                },
            },
            "showlegend": False,
            "hoverinfo": "skip",
        },
    ]
    path_traces = []
    for i, (name, values, dash) in enumerate(
        (("training loss", view.train_loss, "solid"), ("validation loss", view.val_loss, "dot"))
    ):
        path_traces.append(len(traces))
        traces.append(
            {
                "type": "scatter",
                "x": _f32(steps),
                "y": _f32(_finite(values)),
                "mode": "lines",
                "line": {"color": colour(i), "width": 3, "dash": dash},
                "name": name,
                "xaxis": "x2",
                "yaxis": "y2",
                "hovertemplate": f"step %{{x}}: {name} %{{y:.4g}}<extra></extra>",
            }
        )
    marker_at = len(traces)
    train = _finite(view.train_loss)
    traces.append(_marker(float(steps[-1]), float(train[-1]), 0, "now", "x2", "y2"))
    labels = [int(s) for s in view.loss_steps]
    frames = _marker_frames(total, total, [(marker_at, steps, train)])
    meta: dict[str, Any] = {"cursor": {"shape": 0, "xs": labels}}
    if frames:
        meta["player"] = player_spec(total, total, path_traces, [], labels=labels)
    fig = FramedFigure(data=traces, raw_frames=frames, raw_layout={"meta": meta})
    _layout(fig, 60, "gradients")
    both = np.concatenate([train, _finite(view.val_loss)])
    both = both[np.isfinite(both) & (both > 0)]
    loss_lo, loss_hi = (float(both.min()), float(both.max())) if both.size else (0.5, 1.0)
    loss_axis: dict[str, Any] = {"range": [0.0, loss_hi * 1.05]}
    if loss_hi > 100 * loss_lo:  # an exploding loss: decades, so the start and the end both show
        decades = math.log10(loss_hi / loss_lo)
        loss_axis = {
            "type": "log",
            "range": _log_span(both),
            "dtick": max(1, math.ceil(decades / 5)),
            "exponentformat": "power",
        }
    fig.update_layout(
        xaxis={
            **_AXIS,
            "domain": [0.0, 0.55],
            "title": {"text": "step"},
            "showgrid": False,
            "range": [x0, right],
        },
        yaxis={
            **_AXIS,
            "title": {"text": "layer"},
            "showgrid": False,
            "tickvals": list(range(1, n_layers + 1)),
            "ticktext": [name.split(" ")[0] for name in view.layers],
            "range": [0.5, n_layers + 0.5],
        },
        xaxis2={
            **_AXIS,
            "domain": [0.72, 1.0],
            "anchor": "y2",
            "title": {"text": "step"},
            "range": _span(steps),
        },
        yaxis2={
            **_AXIS,
            "anchor": "x2",
            "title": {"text": "loss"},
            **loss_axis,
        },
        annotations=[
            _panel_title("gradient norm per layer (1: input)", 0.0),
            _panel_title("loss (cross-entropy)", 0.72),
        ],
        shapes=[
            {
                "type": "line",
                "x0": float(steps[-1]),
                "x1": float(steps[-1]),
                "xref": "x",
                "y0": 0,
                "y1": 1,
                "yref": "y domain",
                "line": CURSOR,
            }
        ],
        legend={**legend_above(), "x": 0.72},
        images=[
            {
                "source": heat_png(z, lo, hi),
                "xref": "x",
                "yref": "y",
                "x": x0,
                "y": n_layers + 0.5,
                "sizex": x1 - x0,
                "sizey": float(n_layers),
                "xanchor": "left",
                "yanchor": "top",
                "sizing": "stretch",
                "layer": "below",
            }
        ],
    )
    return fig


# --- edge of stability -----------------------------------------------------------------------------


def _span(values: Any, pad: float = 0.03, zero: bool = False) -> list[float]:
    """An axis range holding every finite value (and 0 with ``zero``), padded by ``pad`` of its
    width: fixed, so that the axes stay put while the player draws the curves."""
    v = _finite(np.ravel(values))
    v = v[np.isfinite(v)]
    lo, hi = (float(v.min()), float(v.max())) if v.size else (0.0, 1.0)
    if zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    width = hi - lo or abs(hi) or 1.0
    return [lo - pad * width, hi + pad * width]


def _log_span(values: Any, pad: float = 0.05) -> list[float]:
    """A log axis's fixed range (in decades) holding every finite positive value."""
    v = _finite(np.ravel(values))
    v = v[np.isfinite(v) & (v > 0)]
    if not v.size:
        return [-1.0, 1.0]
    lo, hi = math.log10(float(v.min())), math.log10(float(v.max()))
    width = hi - lo or 1.0
    return [lo - pad * width, hi + pad * width]


def _log_ticks(values: np.ndarray) -> dict[str, Any]:
    """Ticks of a log axis at 1, 2 and 5 times each power of ten within ``values``' range,
    written in full ("0.05", not Plotly's bare "5")."""
    v = values[np.isfinite(values) & (values > 0)]
    if not v.size:
        return {}
    lo, hi = float(v.min()), float(v.max())
    ticks = [
        m * 10.0**k
        for k in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
        for m in (1, 2, 5)
        if lo / 1.05 <= m * 10.0**k <= hi * 1.05
    ]
    return {"tickvals": ticks, "ticktext": [f"{t:g}" for t in ticks]} if ticks else {}


def _last_measured(steps: np.ndarray, at: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(T,) at each step the last measured value at or before it (NaN before the first)."""
    idx = np.searchsorted(at, steps, side="right") - 1
    out = np.full(len(steps), np.nan)
    ok = idx >= 0
    out[ok] = values[idx[ok]]
    return out


def eos_figure(view: EosView) -> FramedFigure:
    """Top: the sharpness lambda_max through training next to 2/eta; bottom: the training loss
    (log scale); both drawn up to the shown step."""
    steps = np.asarray(view.steps, dtype=np.float64)
    total = len(steps) - 1
    at = np.asarray(view.sharpness_steps, dtype=np.int64)
    measured = np.full(len(steps), np.nan)  # the sharpness on the step axis, NaN between
    measured[at] = _finite(view.sharpness)
    loss = _finite(view.train_loss)
    loss_shown = np.where(loss > 0, loss, np.nan)
    traces: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "x": [float(steps[0]), float(steps[-1])],
            "y": [view.threshold, view.threshold],
            "mode": "lines",
            "line": {"color": THRESHOLD_COLOUR, "width": 3, "dash": "dash"},
            "name": f"2/η = {view.threshold:.3g}",
            "hovertemplate": f"2/η = {view.threshold:.4g}<extra></extra>",
        },
        {
            "type": "scatter",
            "x": _f32(steps),
            "y": _f32(measured),
            "mode": "lines+markers",
            "connectgaps": True,
            "line": {"color": colour(0), "width": 3},
            "marker": {"size": 5, "color": colour(0)},
            "name": "sharpness λ_max",
            "hovertemplate": "step %{x}: λ_max = %{y:.4g}<extra></extra>",
        },
        {
            "type": "scatter",
            "x": _f32(steps),
            "y": _f32(loss_shown),
            "mode": "lines",
            "line": {"color": colour(2), "width": 2.5},
            "name": "training loss",
            "xaxis": "x2",
            "yaxis": "y2",
            "hovertemplate": "step %{x}: loss %{y:.4g}<extra></extra>",
        },
    ]
    held = _last_measured(steps, at, _finite(view.sharpness))
    traces.append(_marker(float(steps[-1]), float(held[-1]), 0, "now"))
    traces.append(_marker(float(steps[-1]), float(loss_shown[-1]), 2, "now", "x2", "y2"))
    frames = _marker_frames(total, total, [(3, steps, held), (4, steps, loss_shown)])
    meta: dict[str, Any] = {}
    if frames:
        meta["player"] = player_spec(total, total, [1, 2], [])
    fig = FramedFigure(data=traces, raw_frames=frames, raw_layout={"meta": meta})
    _layout(fig, 50, "eos")
    sharp = _finite(view.sharpness)
    top = max(view.threshold, float(np.nanmax(sharp)) if np.isfinite(sharp).any() else 0.0)
    fig.update_layout(
        xaxis={
            **_AXIS,
            "domain": [0.0, 1.0],
            "anchor": "y",
            "showticklabels": False,
            "range": _span(steps),
        },
        yaxis={
            **_AXIS,
            "domain": [0.45, 1.0],
            "title": {"text": "λ_max"},
            "range": [0.0, min(top, 10 * view.threshold) * 1.12],
        },
        xaxis2={
            **_AXIS,
            "domain": [0.0, 1.0],
            "anchor": "y2",
            "matches": "x",
            "title": {"text": "step"},
        },
        yaxis2={
            **_AXIS,
            "domain": [0.0, 0.36],
            "title": {"text": "loss"},
            "type": "log",
            "range": _log_span(loss_shown),
            **_log_ticks(loss_shown),
        },
    )
    return fig


# --- batch size and learning rate ------------------------------------------------------------------


def epoch_grid(view: BatchView) -> np.ndarray:
    """Every recorded point of every run, in epochs, sorted and without repeats: the common
    time axis the player walks."""
    every = np.concatenate([np.round(r.epochs, 9) for r in view.runs])
    return np.unique(every)


def _on_grid(grid: np.ndarray, epochs: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = np.full(len(grid), np.nan)
    out[np.searchsorted(grid, np.round(epochs, 9))] = _finite(values)
    return out


def batch_label(run: Any) -> str:
    return f"B = {run.batch_size}, lr {run.lr:g}"


def batch_figure(view: BatchView) -> FramedFigure:
    """Top: training (solid) and validation (dotted) loss of each batch size against epochs;
    bottom: the generalization gap (validation - training); all drawn up to the shown epoch."""
    grid = epoch_grid(view)
    total = len(grid) - 1
    traces: list[dict[str, Any]] = []
    paths, moving = [], []
    for i, run in enumerate(view.runs):
        label = batch_label(run)
        for values, dash, axes, what, legend in (
            (run.train_loss, "solid", ("x", "y"), "training loss", True),
            (run.val_loss, "dot", ("x", "y"), "validation loss", False),
            (run.gap, "solid", ("x2", "y2"), "gap", False),
        ):
            paths.append(len(traces))
            traces.append(
                {
                    "type": "scatter",
                    "x": _f32(grid),
                    "y": _f32(_on_grid(grid, run.epochs, values)),
                    "mode": "lines",
                    "connectgaps": True,
                    "line": {
                        "color": colour(i),
                        "width": 3 if dash == "solid" else 2.5,
                        "dash": dash,
                    },
                    "name": label,
                    "legendgroup": f"b{i}",
                    "showlegend": legend,
                    "xaxis": axes[0],
                    "yaxis": axes[1],
                    "hovertemplate": f"{label}<br>epoch %{{x:.2f}}: {what} %{{y:.4g}}"
                    "<extra></extra>",
                }
            )
    points = []
    for i, run in enumerate(view.runs):
        held = _last_measured(grid, np.round(run.epochs, 9), _finite(run.train_loss))
        points.append((len(traces), grid, held))
        traces.append(_marker(float(grid[-1]), float(held[-1]), i, f"{batch_label(run)} now"))
        moving.append(len(traces) - 1)
    frames = _marker_frames(total, total, points)
    meta: dict[str, Any] = {}
    if frames:
        labels = [f"{e:.2f}" for e in grid]
        spec = player_spec(total, total, paths, [], labels=labels)  # type: ignore[arg-type]
        meta["player"] = {**spec, "unit": "epoch"}
    fig = FramedFigure(data=traces, raw_frames=frames, raw_layout={"meta": meta})
    _layout(fig, 50, "batch")
    fig.update_layout(
        xaxis={
            **_AXIS,
            "domain": [0.0, 1.0],
            "anchor": "y",
            "showticklabels": False,
            "range": _span(grid),
        },
        yaxis={
            **_AXIS,
            "domain": [0.42, 1.0],
            "title": {"text": "loss"},
            "range": _span(
                np.concatenate([np.r_[r.train_loss, r.val_loss] for r in view.runs]), zero=True
            ),
        },
        xaxis2={
            **_AXIS,
            "domain": [0.0, 1.0],
            "anchor": "y2",
            "matches": "x",
            "title": {"text": "epoch"},
        },
        yaxis2={
            **_AXIS,
            "domain": [0.0, 0.33],
            "title": {"text": "gap"},
            "range": _span(np.concatenate([r.gap for r in view.runs]), pad=0.08, zero=True),
        },
        annotations=[
            _panel_title("solid: training loss, dotted: validation loss", 0.0, 1.0),
            _panel_title("generalization gap: validation − training loss", 0.0, 0.34),
        ],
    )
    return fig


def batch_rows(view: BatchView) -> list[dict[str, Any]]:
    """The batch-size table: one row per batch size, the final values and the gradient noise."""
    rows = []
    for k, run in enumerate(view.runs):
        rows.append(
            {
                "Batch size": run.batch_size,
                "Learning rate": run.lr,
                "Steps": run.steps,
                "Training loss": _number(run.train_loss[-1]),
                "Validation loss": _number(run.val_loss[-1]),
                "Gap": _number(run.gap[-1]),
                "Gradient noise at start": _number(view.noise_start[k]),
                "Gradient noise at end": _number(view.noise_end[k]),
            }
        )
    return rows


def _number(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None
