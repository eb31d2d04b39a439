"""Figure builders of the "Network landscape" page: pure functions from numpy data to Plotly figures.

Like the explorer's charts (whose palette, fonts and banded surface image they reuse), every function
takes data and returns a ``go.Figure`` or table rows; nothing is shown or computed here beyond
presentation (colour levels, dropping non-finite points, choosing animation frames).

The plane view follows the lessons in ``DESIGN.md``: the surface is a layout image (a contour
trace vanishes while Plotly animates), each path is drawn once, and the animation frames carry
only each run's current marker.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .player import frame_steps, player_spec
from .runtime import FramedFigure
from .style import FONT_SIZE, SMALL_FONT, colour, symbol
from .surface import ColourLevels, colour_bar_trace, grid_image, surface_png

if TYPE_CHECKING:  # plain data containers; importing them at runtime would pull in streamlit
    from ..network_compute import Curvature, Interpolation, PlaneView, Training

METRIC_TITLES = {
    "train": "training loss",
    "val": "validation loss",
    "acc": "validation accuracy",
}
SHORT_TITLES = {"train": "train loss", "val": "val. loss", "acc": "val. accuracy"}
PLANE_SIZE = 500  # pixels of the square plot area
HOVER_GRID = 26  # invisible hover points per axis on the plane (the surface value under the cursor)
CENTRE_STYLE = {"symbol": "x-thin-open", "size": 18, "color": "#000000", "line": {"width": 3}}
INIT_STYLE = {
    "symbol": "circle",
    "size": 13,
    "color": "#000000",
    "line": {"width": 2.5, "color": "#ffffff"},
}


def _fmt(value: float, digits: int = 4) -> str:
    if value is None or not math.isfinite(float(value)):
        return "—"
    return f"{float(value):.{digits}g}"


def _f32(a: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(a, dtype=np.float32)


def metric_levels(z: np.ndarray, metric: str) -> ColourLevels:
    """Colour levels of a surface: log of the loss above its minimum, linear for accuracy."""
    return ColourLevels.of(z, log=metric != "acc")


def axis_titles(plane: PlaneView) -> tuple[str, str]:
    """'PC1 (71.2 % of variance)' for a PCA plane, else the direction's name."""
    if plane.explained is not None:
        return tuple(
            f"PC{i + 1} ({100 * float(r):.1f} % of variance)" for i, r in enumerate(plane.explained)
        )
    if plane.kind == "hessian":
        return ("δ₁: top Hessian eigenvector", "δ₂: second eigenvector")
    return ("δ₁: random, filter-normalized", "δ₂: random, filter-normalized")


def _hover_text(plane: PlaneView, r: int, metric_name: str) -> list[str]:
    path = plane.paths[r]
    return [
        f"step {int(s)}<br>on the plane: {metric_name} = {_fmt(sv)}"
        f"<br>true iterate: {metric_name} = {_fmt(tv)}<br>off the plane by {_fmt(res, 3)}"
        for s, sv, tv, res in zip(
            path.steps, path.surface_value, path.true_value, path.residual, strict=True
        )
    ]


def _drawable(plane: PlaneView, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Finite points at most 1000 half-widths from the centre (farther is off any screen)."""
    far = 1000.0 * plane.span
    with np.errstate(invalid="ignore", over="ignore"):
        return np.isfinite(a) & np.isfinite(b) & (np.abs(a) <= far) & (np.abs(b) <= far)


def _legend_timeline(path: Any, total: int) -> list[list[Any]]:
    """A path's legend name as the shown point moves (``player.legend_timeline`` for a network's
    recorded points): "diverged at step k" from the first point at or after that step."""
    names: list[list[Any]] = [[0, path.label]]
    if path.diverged_at >= 0:
        at = int(np.searchsorted(np.asarray(path.steps), path.diverged_at))
        names.append([min(at, total), f"{path.label}: diverged at step {path.diverged_at}"])
    return names


def _marker_at(plane: PlaneView, r: int, k: int) -> dict[str, Any]:
    """Run ``r``'s marker at recorded index ``k`` (a null point when it is not drawable)."""
    path = plane.paths[r]
    k = min(k, len(path.steps) - 1)
    a, b = path.a[k : k + 1], path.b[k : k + 1]
    if not _drawable(plane, a, b)[0]:
        return {"x": [None], "y": [None]}
    return {"x": [round(float(a[0]), 6)], "y": [round(float(b[0]), 6)]}


def plane_figure(
    plane: PlaneView,
    *,
    max_frames: int = 80,
    plot_size: int = PLANE_SIZE,
) -> go.Figure:
    """The 2-D slice with every optimizer's projected path, its final point, the init and the centre.

    The surface ``plane.z`` (``z[j, i]`` at ``(xs[i], ys[j])``) is a banded image; an invisible
    grid of points gives its value under the cursor. Each path is a line through its recorded
    points, whose hover gives the step, the surface value at the projected point, the true value
    of the iterate and the projection residual ``|theta - (c + a d1 + b d2)|``. A path leaving
    the plot (divergence) leaves it: points are never clipped, only non-finite ones dropped. The
    Play button moves one marker per run through the recorded steps (at most ``max_frames``).
    """
    span = plane.span
    metric_name = METRIC_TITLES[plane.metric]
    levels = metric_levels(plane.z, plane.metric)
    title = SHORT_TITLES[plane.metric] + (" (log)" if levels.log else "")
    traces: list[go.Scatter] = [colour_bar_trace(levels, 0.0, 0.0, title)]
    ii = np.unique(
        np.linspace(0, plane.xs.size - 1, min(HOVER_GRID, plane.xs.size)).round().astype(int)
    )
    gx, gy = np.meshgrid(plane.xs[ii], plane.ys[ii])
    traces.append(
        go.Scatter(
            x=_f32(gx.ravel()),
            y=_f32(gy.ravel()),
            customdata=_f32(np.asarray(plane.z)[np.ix_(ii, ii)].ravel()),
            mode="markers",
            marker={"size": plot_size / HOVER_GRID, "opacity": 0, "color": "#000000"},
            name="surface",
            showlegend=False,
            hovertemplate=f"(%{{x:.3g}}, %{{y:.3g}})  {metric_name} = %{{customdata:.4g}}<extra></extra>",
        )
    )
    total = max((len(p.steps) - 1 for p in plane.paths), default=0)
    path_traces, legend = [], []  # the player draws each path up to the shown recorded point
    for r, path in enumerate(plane.paths):
        keep = _drawable(plane, path.a, path.b)
        text = np.array(_hover_text(plane, r, metric_name), dtype=object)
        path_traces.append(len(traces))
        legend.append([len(traces), _legend_timeline(path, total)])
        traces.append(
            go.Scatter(
                x=_f32(np.where(keep, path.a, np.nan)),
                y=_f32(np.where(keep, path.b, np.nan)),
                text=text.tolist(),
                mode="lines+markers",
                line={"color": colour(r), "width": 2.5},
                marker={"size": 4, "color": colour(r)},
                name=path.label,
                legendgroup=f"run{r}",
                legendrank=r + 1,
                hovertemplate=f"<b>{path.label}</b><br>%{{text}}<extra></extra>",
            )
        )
    if plane.paths and _drawable(plane, plane.paths[0].a[:1], plane.paths[0].b[:1])[0]:
        traces.append(
            go.Scatter(
                x=[float(plane.paths[0].a[0])],
                y=[float(plane.paths[0].b[0])],
                mode="markers",
                marker=INIT_STYLE,
                name="initialization (shared)",
                legendrank=800,
                hovertemplate="initialization θ₀ (every optimizer starts here)<extra></extra>",
            )
        )
    traces.append(
        go.Scatter(
            x=[0.0],
            y=[0.0],
            mode="markers",
            marker=CENTRE_STYLE,
            name=f"centre: {plane.centre_label}",
            legendrank=801,
            hovertemplate=f"centre of the plane: {plane.centre_label}<extra></extra>",
        )
    )
    moving_from = len(traces)
    for r, path in enumerate(plane.paths):
        traces.append(
            go.Scatter(
                **_marker_at(plane, r, 0),
                mode="markers",
                marker={
                    "symbol": symbol(r),
                    "size": 17,
                    "color": colour(r),
                    "line": {"width": 2.5, "color": "#000000"},
                },
                name=f"{path.label}: playing",
                legendgroup=f"run{r}",
                showlegend=False,
                hoverinfo="skip",
            )
        )
    moving = list(range(moving_from, len(traces)))
    chosen = frame_steps(total, 0, max_frames) if plane.paths and total > 0 else []
    frames = [
        {
            "name": str(k),
            "data": [_marker_at(plane, r, k) for r in range(len(plane.paths))],
            "traces": moving,
        }
        for k in chosen
    ]
    recorded = plane.paths[0].steps if plane.paths else np.zeros(1)
    # the player's steps are recorded points: each is labelled with its training step
    labels = [int(s) for s in recorded[: total + 1]]
    player = player_spec(total, 0, path_traces, legend, labels=labels)
    # the browser fits the plot to the window and to its column (app.plotly_view)
    meta: dict[str, Any] = {"fit": {"below": 70, "min_plot": 300}}
    if frames:
        meta["player"] = player
    fig = FramedFigure(data=traces, raw_frames=frames, raw_layout={"meta": meta})
    legend_top = 70
    n_entries = len(plane.paths) + 2
    bottom = legend_top + 28 * n_entries + 20
    x_title, y_title = axis_titles(plane)
    fig.update_layout(
        width=plot_size + 90 + 140,
        height=plot_size + 16 + bottom,
        margin={"l": 90, "r": 140, "t": 16, "b": bottom, "pad": 0},
        font={"size": FONT_SIZE},
        plot_bgcolor="#ffffff",
        hovermode="closest",
        hoverlabel={"font": {"size": SMALL_FONT}},
        uirevision=f"plane:{plane.kind}:{span}",
        legend={
            "orientation": "v",
            "x": 0.0,
            "xanchor": "left",
            "y": -legend_top / plot_size,
            "yanchor": "top",
            "font": {"size": SMALL_FONT},
            "itemsizing": "constant",
            "traceorder": "normal",
        },
        images=[
            grid_image(
                plane.xs,
                plane.ys,
                surface_png(plane.xs, plane.ys, plane.z, levels, plot_size * 2, plot_size * 2),
            )
        ],
    )
    axis = {
        "constrain": "domain",
        "showgrid": False,
        "zeroline": False,
        "ticks": "outside",
        "tickfont": {"size": SMALL_FONT},
        "title_font": {"size": SMALL_FONT},
        "showline": True,
        "linecolor": "#444444",
        "mirror": True,
    }
    lo, hi = float(plane.xs[0]), float(plane.xs[-1])
    fig.update_xaxes(title_text=x_title, range=[lo, hi], autorange=False, **axis)
    fig.update_yaxes(
        title_text=y_title,
        range=[float(plane.ys[0]), float(plane.ys[-1])],
        autorange=False,
        scaleanchor="x",
        scaleratio=1,
        **axis,
    )
    return fig


def plane3d_figure(plane: PlaneView) -> go.Figure:
    """The slice as a 3-D surface, each path drawn at the surface's value at its projected points
    (lifted a little so the mesh does not hide it); off-grid and non-finite points are dropped."""
    levels = metric_levels(plane.z, plane.metric)
    height = levels.value(plane.z)
    span = levels.vmax - levels.vmin
    lift = 0.01 * span
    traces: list[Any] = [
        go.Surface(
            x=_f32(plane.xs),
            y=_f32(plane.ys),
            z=_f32(height),
            cmin=levels.vmin,
            cmax=levels.vmax,
            colorscale=levels.colorscale(),
            showscale=False,
            opacity=0.85,
            hoverinfo="skip",
            name="surface",
        )
    ]
    lo, hi = float(plane.xs[0]), float(plane.xs[-1])
    for r, path in enumerate(plane.paths):
        with np.errstate(invalid="ignore"):
            inside = (
                _drawable(plane, path.a, path.b)
                & (path.a >= lo)
                & (path.a <= hi)
                & (path.b >= lo)
                & (path.b <= hi)
                & np.isfinite(path.surface_value)
            )
        zs = levels.value(path.surface_value) + lift
        traces.append(
            go.Scatter3d(
                x=_f32(path.a[inside]),
                y=_f32(path.b[inside]),
                z=_f32(zs[inside]),
                mode="lines",
                line={"color": colour(r), "width": 6},
                name=path.label,
                hoverinfo="skip",
            )
        )
    tickvals, ticktext = levels.ticks()
    axis = {"tickfont": {"size": SMALL_FONT - 2}, "backgroundcolor": "#ffffff"}
    fig = go.Figure(data=traces)
    fig.update_layout(
        height=520,
        margin={"l": 0, "r": 0, "t": 10, "b": 0},
        font={"size": FONT_SIZE},
        showlegend=False,
        uirevision=f"plane3d:{plane.kind}",
        scene={
            "xaxis": {**axis, "title": {"text": "α"}, "range": [lo, hi]},
            "yaxis": {**axis, "title": {"text": "β"}, "range": [lo, hi]},
            "zaxis": {
                **axis,
                "title": {"text": METRIC_TITLES[plane.metric]},
                "tickvals": tickvals,
                "ticktext": ticktext,
            },
            "aspectmode": "manual",
            "aspectratio": {"x": 1, "y": 1, "z": 0.6},
            "camera": {"eye": {"x": 0.9, "y": -1.4, "z": 1.3}},
        },
    )
    return fig


def training_curves_figure(training: Training) -> go.Figure:
    """Loss (top, log axis) and accuracy (bottom) against the step: training solid, validation
    dashed, one colour per optimizer; a star marks each run's best validation loss (the step
    early stopping would keep). Non-finite values (a diverged run) are dropped and the run's
    legend entry says where it diverged."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.07)
    steps = np.asarray(training.steps)
    for r, label in enumerate(training.labels):
        diverged = (
            f" (diverged at step {training.diverged_at[r]})" if training.diverged_at[r] >= 0 else ""
        )
        for row, (train, val) in enumerate(
            (
                (training.train_loss[r], training.val_loss[r]),
                (training.train_acc[r], training.val_acc[r]),
            ),
            start=1,
        ):
            for values, dash, what in ((train, "solid", "train"), (val, "dash", "validation")):
                values = _f32(values)
                if row == 1:
                    with np.errstate(invalid="ignore"):
                        values = np.where(values > 0, values, np.nan)
                keep = np.isfinite(values)
                fig.add_trace(
                    go.Scatter(
                        x=steps[keep],
                        y=values[keep],
                        mode="lines",
                        line={"color": colour(r), "width": 2.5, "dash": dash},
                        name=f"{label}{diverged}" if what == "train" else f"{label} (validation)",
                        legendgroup=f"run{r}",
                        showlegend=row == 1 and what == "train",
                        hovertemplate=f"{label}<br>step %{{x}}<br>{what} "
                        + ("loss" if row == 1 else "accuracy")
                        + " = %{y:.4g}<extra></extra>",
                    ),
                    row=row,
                    col=1,
                )
        best = int(training.best_val_step[r])
        idx = np.flatnonzero(steps == best)
        if idx.size and np.isfinite(training.val_loss[r][idx[0]]):
            fig.add_trace(
                go.Scatter(
                    x=[best],
                    y=[float(training.val_loss[r][idx[0]])],
                    mode="markers",
                    marker={
                        "symbol": "star",
                        "size": 16,
                        "color": colour(r),
                        "line": {"width": 1.5, "color": "#000000"},
                    },
                    name=f"{label}: best validation loss (early stopping)",
                    legendgroup=f"run{r}",
                    showlegend=False,
                    hovertemplate=f"{label}<br>best validation loss at step {best}<br>"
                    "= %{y:.4g}<extra></extra>",
                ),
                row=1,
                col=1,
            )
    tick = {
        "tickfont": {"size": SMALL_FONT},
        "title_font": {"size": SMALL_FONT},
        "gridcolor": "#e6e6e6",
    }
    fig.update_yaxes(
        type="log",
        title_text="loss (log scale)",
        exponentformat="power",
        range=_loss_range(training),
        row=1,
        col=1,
        **tick,
    )
    fig.update_yaxes(title_text="accuracy", range=[0, 1.02], row=2, col=1, **tick)
    fig.update_xaxes(range=[0, float(steps[-1]) if steps.size else 1.0], **tick)
    fig.update_xaxes(title_text="step", row=2, col=1)
    fig.update_layout(
        height=600,
        margin={"l": 80, "r": 20, "t": 90, "b": 60},
        font={"size": FONT_SIZE},
        plot_bgcolor="#ffffff",
        hovermode="closest",
        hoverlabel={"font": {"size": SMALL_FONT}},
        legend={
            "font": {"size": SMALL_FONT},
            "orientation": "h",
            "y": 1.02,
            "yanchor": "bottom",
            "x": 0,
        },
        uirevision="net-curves",
    )
    return fig


def _loss_range(training: Training) -> list[float] | None:
    """log10 range of the loss panel, set by the runs that did not diverge (as the explorer's
    curves do): a diverging run leaves the plot instead of squashing the others."""
    ok = np.asarray(training.diverged_at) < 0
    if not ok.any():
        return None
    values = np.concatenate([training.train_loss[ok].ravel(), training.val_loss[ok].ravel()])
    values = values[np.isfinite(values) & (values > 0)]
    if values.size == 0:
        return None
    return [math.log10(float(values.min())) - 0.15, math.log10(float(values.max())) + 0.15]


def interpolation_figure(interp: Interpolation) -> go.Figure:
    """Training loss along the straight line theta(alpha) = (1 - alpha) theta0 + alpha theta_r from
    the shared initialization (alpha = 0) to each optimizer's final point (alpha = 1)
    (Goodfellow et al. 2015); non-finite values are dropped."""
    fig = go.Figure()
    for r, label in enumerate(interp.labels):
        values = _f32(interp.losses[r])
        with np.errstate(invalid="ignore"):
            keep = np.isfinite(values) & (values > 0)
        fig.add_trace(
            go.Scatter(
                x=_f32(interp.alphas)[keep],
                y=values[keep],
                mode="lines",
                line={"color": colour(r), "width": 2.5},
                name=label,
                hovertemplate=f"{label}<br>α = %{{x:.3g}}<br>loss = %{{y:.4g}}<extra></extra>",
            )
        )
    tick = {
        "tickfont": {"size": SMALL_FONT},
        "title_font": {"size": SMALL_FONT},
        "gridcolor": "#e6e6e6",
    }
    fig.update_xaxes(title_text="α  (0: initialization θ₀, 1: final θ)", **tick)
    fig.update_yaxes(
        type="log", title_text="training loss (log scale)", exponentformat="power", **tick
    )
    fig.update_layout(
        height=420,
        margin={"l": 80, "r": 20, "t": 20, "b": 60},
        font={"size": FONT_SIZE},
        plot_bgcolor="#ffffff",
        legend={"font": {"size": SMALL_FONT}},
        uirevision="net-interp",
    )
    return fig


def path_rows(plane: PlaneView, every: int = 1) -> list[dict[str, Any]]:
    """One row per recorded point (every ``every``-th, and the last) of every run: the surface value
    at the projected point, the true value at the iterate, their difference and the residual."""
    metric = METRIC_TITLES[plane.metric]
    rows = []
    for path in plane.paths:
        n = len(path.steps)
        picked = sorted(set(range(0, n, max(int(every), 1))) | ({n - 1} if n else set()))
        for k in picked:
            sv, tv = float(path.surface_value[k]), float(path.true_value[k])
            rows.append(
                {
                    "Optimizer": path.label,
                    "Step": int(path.steps[k]),
                    f"{metric} on the plane": _number(sv),
                    f"{metric} of the iterate": _number(tv),
                    "Difference": _number(sv - tv),
                    "Residual |θ − projection|": _number(float(path.residual[k])),
                    "α": _number(float(path.a[k])),
                    "β": _number(float(path.b[k])),
                }
            )
    return rows


def curvature_rows(
    curv: Curvature, labels: Sequence[str], lrs: Sequence[float]
) -> list[dict[str, Any]]:
    """Each optimizer's learning rate next to 2 / lambda_max, the largest step size for which plain
    gradient descent is stable on the local quadratic model (Cohen et al. 2021, "Edge of
    Stability"); the verdict applies to plain GD only."""
    limit = curv.critical_lr
    rows = []
    for label, lr in zip(labels, lrs, strict=True):
        if not math.isfinite(limit):
            verdict = "— (no positive curvature found)"
        elif lr > limit:
            verdict = f"unstable for plain GD (lr is {lr / limit:.3g} × 2/λ_max)"
        else:
            verdict = f"stable for plain GD (lr is {lr / limit:.3g} × 2/λ_max)"
        rows.append(
            {
                "Optimizer": label,
                "Learning rate": lr,
                "2 / λ_max": _number(limit),
                "Plain GD at this lr": verdict,
            }
        )
    return rows


def _number(value: float) -> float | None:
    return value if math.isfinite(value) else None
