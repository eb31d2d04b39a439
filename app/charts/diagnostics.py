"""Figure builders of the diagnostic pages: pure functions from engine results to Plotly figures.

Like ``plotly.express``, each takes data and returns a figure (or table rows); nothing is shown
or computed here beyond presentation (colours, log-scale floors, hiding non-finite points).
Clicks: Streamlit reports clicks on scatter points only, so each clickable figure carries its
points (the sweep's curves) or an invisible grid of points (basin maps, the rate map) whose
``customdata`` holds what a click means.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .runtime import RawFigure, template_layout, typed_array
from .style import OKABE_ITO, number_text, position_text
from .surface import ColourLevels

if TYPE_CHECKING:
    from studies.analysis import (
        BasinResult,
        Curvature,
        QuadraticTheory,
        RateMap,
        StabilityVerdict,
        SweepResult,
    )

    from ..compute import Surface

LOSS_FLOOR = 1e-16  # final losses (above the minimum) below this are drawn at this value
DIVERGED_COLOUR = "#222222"
NOT_CONVERGED_COLOUR = "#d9d9d9"
# colours of minima in basin maps: distinct from the greys above
MINIMA_COLOURS = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#7f3c8d",
    "#11a579",
    "#3969ac",
)
CLICK_POINTS = 40  # at most this many clickable points per axis of a map
FONT = {"size": 15}


def colour(i: int) -> str:
    return OKABE_ITO[i % len(OKABE_ITO)]


def _finite(a: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(a), a, np.nan)


# --- learning-rate sweep -------------------------------------------------------------------------


def _vline(fig: go.Figure, x: float, c: str, dash: str, name: str, group: str) -> None:
    """A vertical line through both rows, named by a legend entry (annotations on log axes are
    misplaced by Plotly's add_vline, so the legend carries the text)."""
    for row in (1, 2):
        fig.add_vline(x=x, line={"color": c, "dash": dash, "width": 1.5}, row=row, col=1)
    fig.add_trace(
        go.Scatter(
            x=[None],
            y=[None],
            mode="lines",
            line={"color": c, "dash": dash, "width": 1.5},
            name=name,
            legendgroup=group,
            hoverinfo="skip",
        ),
        row=1,
        col=1,
    )


def sweep_figure(
    sweep: SweepResult,
    *,
    minimum_value: float | None = None,
    theory: QuadraticTheory | None = None,
    betas: Sequence[float | None] = (),
) -> go.Figure:
    """Final loss (log y) and steps to converge against the learning rate (log x), one curve
    per optimizer; each optimizer's divergence threshold (dashed vertical line) and best lr (a
    star); for quadratics the theory: 2/lambda_max, the optimal 2/(lambda_min+lambda_max) and,
    for heavy-ball momentum ``betas[i]``, (2+2 beta)/lambda_max (dotted).

    Every point carries ``customdata`` = [optimizer index, lr]: a click on it picks that lr.
    The loss drawn is ``final loss - minimum_value`` (the known global minimum), floored at
    ``LOSS_FLOOR`` so that exact convergence stays on the log axis; diverged runs are gaps.
    """
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        row_heights=[0.6, 0.4],
        subplot_titles=("Final loss above the minimum", "Steps to converge"),
    )
    lrs = sweep.lrs
    shift = 0.0 if minimum_value is None else float(minimum_value)
    for i, label in enumerate(sweep.labels):
        c = colour(i)
        loss = _finite(sweep.final_loss[i] - shift)
        loss = np.where(sweep.diverged[i], np.nan, np.maximum(loss, LOSS_FLOOR))
        steps = np.where(sweep.steps_to_converge[i] >= 0, sweep.steps_to_converge[i], np.nan)
        custom = np.stack([np.full(lrs.size, i, dtype=np.float64), lrs], axis=-1)
        status = np.asarray(sweep.status[i], dtype=object)
        fig.add_trace(
            go.Scatter(
                x=lrs,
                y=loss,
                mode="lines+markers",
                name=label,
                legendgroup=f"opt{i}",
                line={"color": c, "width": 2},
                marker={"size": 5, "color": c},
                customdata=custom.tolist(),
                text=status,
                hovertemplate=f"{label}<br>lr %{{x:.4g}}<br>final loss %{{y:.3g}}<br>%{{text}}"
                "<extra>click: open in the explorer</extra>",
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=lrs,
                y=steps,
                mode="lines+markers",
                name=label,
                legendgroup=f"opt{i}",
                showlegend=False,
                line={"color": c, "width": 2},
                marker={"size": 5, "color": c},
                customdata=custom.tolist(),
                hovertemplate=f"{label}<br>lr %{{x:.4g}}<br>converged in %{{y}} steps"
                "<extra>click: open in the explorer</extra>",
            ),
            row=2,
            col=1,
        )
        b = int(sweep.best_index[i])
        if b >= 0 and np.isfinite(loss[b]):
            fig.add_trace(
                go.Scatter(
                    x=[lrs[b]],
                    y=[loss[b]],
                    mode="markers",
                    name=f"best lr {lrs[b]:.3g}",
                    legendgroup=f"opt{i}",
                    showlegend=False,
                    marker={
                        "symbol": "star",
                        "size": 16,
                        "color": c,
                        "line": {"color": "black", "width": 1},
                    },
                    customdata=[[i, float(lrs[b])]],
                    hovertemplate=f"{label}: best lr %{{x:.4g}} ({sweep.objective_text})"
                    "<extra>click: open in the explorer</extra>",
                ),
                row=1,
                col=1,
            )
        if np.isfinite(sweep.threshold[i]):
            _vline(
                fig,
                float(sweep.threshold[i]),
                c,
                "dash",
                f"{label} diverges from {sweep.threshold[i]:.3g}",
                f"opt{i}",
            )
    if theory is not None:
        lines = [
            (theory.gd_critical_lr, "2/λ_max", "#444444", "dot"),
            (theory.gd_optimal_lr, "2/(λ_min+λ_max)", "#888888", "dot"),
        ]
        for beta in sorted({b for b in betas if b}):
            lines.append(
                (
                    float(theory.momentum_critical_lr(beta)),
                    f"(2+2β)/λ_max, β={beta:g}",
                    "#444444",
                    "dashdot",
                )
            )
        for x, text, c, dash in lines:
            if lrs[0] <= x <= lrs[-1]:
                _vline(fig, x, c, dash, f"theory: {text} = {x:.3g}", "theory")
    fig.update_xaxes(type="log", title_text="learning rate", row=2, col=1)
    fig.update_xaxes(type="log", row=1, col=1)
    fig.update_yaxes(type="log", title_text="loss − f*", exponentformat="power", row=1, col=1)
    fig.update_yaxes(title_text="steps", rangemode="tozero", row=2, col=1)
    fig.update_layout(
        height=680,
        margin={"l": 70, "r": 20, "t": 40, "b": 50},
        font=FONT,
        hovermode="closest",
        legend={"orientation": "h", "y": -0.14},
        clickmode="event+select",
    )
    return fig


def sweep_rows(sweep: SweepResult) -> list[dict[str, Any]]:
    """One table row per optimizer: best lr, its loss and steps, the divergence threshold."""
    rows = []
    for i, label in enumerate(sweep.labels):
        b = int(sweep.best_index[i])
        rows.append(
            {
                "Optimizer": label,
                "Best lr": float(sweep.lrs[b]) if b >= 0 else None,
                "Final loss at best": float(sweep.final_loss[i, b]) if b >= 0 else None,
                "Steps to converge": int(sweep.steps_to_converge[i, b])
                if b >= 0 and sweep.steps_to_converge[i, b] >= 0
                else None,
                "Diverges from lr": float(sweep.threshold[i])
                if np.isfinite(sweep.threshold[i])
                else None,
                "Largest stable lr": float(sweep.last_stable[i])
                if np.isfinite(sweep.last_stable[i])
                else None,
            }
        )
    return rows


# --- basins of attraction ------------------------------------------------------------------------


def basin_categories(minima: np.ndarray, kinds: Sequence[str]) -> list[tuple[str, str]]:
    """(name, colour) of each basin label: the minima (label 0..M-1), then diverged and not
    converged (labels -1 and -2 are drawn as codes M and M + 1)."""
    cats = [
        (
            f"{kind} minimum ({x:.3g}, {y:.3g})",
            MINIMA_COLOURS[i % len(MINIMA_COLOURS)],
        )
        for i, ((x, y), kind) in enumerate(zip(minima, kinds, strict=True))
    ]
    return [*cats, ("diverged", DIVERGED_COLOUR), ("not converged", NOT_CONVERGED_COLOUR)]


def _codes(label: np.ndarray, m: int) -> np.ndarray:
    return np.where(label >= 0, label, np.where(label == -1, m, m + 1)).astype(np.float32)


def _discrete_scale(colours: Sequence[str]) -> list[list[Any]]:
    n = len(colours)
    scale = []
    for i, c in enumerate(colours):
        scale += [[i / n, c], [(i + 1) / n, c]]
    return scale


def _contour_z(surface: Surface) -> np.ndarray:
    """The surface's values on its colour axis: the explorer's rule (``ColourLevels``)."""
    z = surface.z.astype(np.float64)
    return ColourLevels.of(z, surface.log_scale).value(z).astype(np.float32)


def basins_figure(surface: Surface, maps: Sequence[BasinResult], *, columns: int = 3) -> go.Figure:
    """One panel per optimizer, side by side: each start point coloured by the minimum its run
    reaches (or diverged / not converged), the surface's contour lines on top, the known minima
    marked. Hover gives start, end, status and steps. Each panel carries an invisible grid of at
    most ``CLICK_POINTS`` per axis whose ``customdata`` is the start [x, y] (click: send it)."""
    n = max(len(maps), 1)
    cols = min(columns, n)
    rows = -(-n // cols)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[m.labels[0] for m in maps] or [""],
        horizontal_spacing=0.04,
        vertical_spacing=0.1 / rows,
    )
    first = maps[0] if maps else None
    cats = basin_categories(first.minima, first.minima_kind) if first else []
    m_count = len(cats) - 2
    scale = _discrete_scale([c for _, c in cats]) if cats else None
    czs = _contour_z(surface)
    for k, bm in enumerate(maps):
        r, c = k // cols + 1, k % cols + 1
        xs, ys = bm.xs, bm.ys
        codes = _codes(bm.label[0], m_count)
        status = bm.status[0]
        custom = np.stack(
            [
                bm.end[0, ..., 0],
                bm.end[0, ..., 1],
                bm.steps[0].astype(np.float64),
                codes,
            ],
            axis=-1,
        ).astype(np.float32)
        fig.add_trace(
            go.Heatmap(
                x=xs.astype(np.float32),
                y=ys.astype(np.float32),
                z=codes,
                zmin=-0.5,
                zmax=len(cats) - 0.5,
                colorscale=scale,
                showscale=False,
                customdata=custom,
                hovertemplate="start (%{x:.3g}, %{y:.3g})<br>end (%{customdata[0]:.3g}, "
                "%{customdata[1]:.3g})<br>steps %{customdata[2]:.0f}<extra></extra>",
                name=bm.labels[0],
            ),
            row=r,
            col=c,
        )
        fig.add_trace(
            go.Contour(
                x=surface.xs.astype(np.float32),
                y=surface.ys.astype(np.float32),
                z=czs,
                contours={"coloring": "lines", "showlabels": False},
                line={"width": 0.8, "color": "rgba(255,255,255,0.75)"},
                ncontours=14,
                showscale=False,
                hoverinfo="skip",
                name="surface",
                showlegend=False,
            ),
            row=r,
            col=c,
        )
        if len(bm.minima):
            fig.add_trace(
                go.Scatter(
                    x=bm.minima[:, 0],
                    y=bm.minima[:, 1],
                    mode="markers",
                    marker={
                        "symbol": "x",
                        "size": 10,
                        "color": "white",
                        "line": {"color": "black", "width": 1.5},
                    },
                    name="known minima",
                    showlegend=k == 0,
                    hovertemplate="minimum (%{x:.3g}, %{y:.3g})<extra></extra>",
                ),
                row=r,
                col=c,
            )
        stride_x = max(1, -(-xs.size // CLICK_POINTS))
        stride_y = max(1, -(-ys.size // CLICK_POINTS))
        gx, gy = np.meshgrid(xs[::stride_x], ys[::stride_y])
        sub = custom[::stride_y, ::stride_x]
        sub_status = status[::stride_y, ::stride_x]
        fig.add_trace(
            go.Scatter(
                x=gx.ravel().astype(np.float32),
                y=gy.ravel().astype(np.float32),
                mode="markers",
                marker={"size": 8, "opacity": 0},
                customdata=np.stack(
                    [
                        gx.ravel(),
                        gy.ravel(),
                        sub[..., 0].ravel(),
                        sub[..., 1].ravel(),
                        sub[..., 2].ravel(),
                    ],
                    axis=-1,
                )
                .astype(np.float32)
                .tolist(),
                text=sub_status.ravel(),
                hovertemplate="start (%{customdata[0]:.3g}, %{customdata[1]:.3g})<br>end "
                "(%{customdata[2]:.3g}, %{customdata[3]:.3g})<br>%{text}, steps "
                "%{customdata[4]:.0f}<extra>click: open in the explorer</extra>",
                name="starts",
                legendgroup="starts",
                showlegend=False,
                selected={"marker": {"opacity": 0}},
                unselected={"marker": {"opacity": 0}},
            ),
            row=r,
            col=c,
        )
        fig.update_xaxes(range=[xs[0], xs[-1]], constrain="domain", row=r, col=c)
        fig.update_yaxes(
            range=[ys[0], ys[-1]],
            scaleanchor=f"x{'' if k == 0 else k + 1}",
            constrain="domain",
            row=r,
            col=c,
        )
    for name, c in cats:  # legend entries for the colours
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                marker={"symbol": "square", "size": 14, "color": c},
                name=name,
                hoverinfo="skip",
            )
        )
    fig.update_layout(
        height=400 * rows + 120,
        margin={"l": 40, "r": 20, "t": 110, "b": 40},
        font=FONT,
        hovermode="closest",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.06, "x": 0, "font": {"size": 13}},
        plot_bgcolor="white",
        clickmode="event+select",
    )
    return fig


def basin_rows(maps: Sequence[BasinResult]) -> list[dict[str, Any]]:
    """Share of starts per outcome and optimizer, in percent."""
    if not maps:
        return []
    cats = basin_categories(maps[0].minima, maps[0].minima_kind)
    m = len(cats) - 2
    rows = []
    for bm in maps:
        codes = _codes(bm.label[0], m)
        row: dict[str, Any] = {"Optimizer": bm.labels[0]}
        for code, (name, _) in enumerate(cats):
            row[name] = float(100.0 * (codes == code).mean())
        rows.append(row)
    return rows


# --- curvature and stability ---------------------------------------------------------------------


def eigen_axes_traces(
    points: np.ndarray,
    eigenvalues: np.ndarray,
    eigenvectors: np.ndarray,
    names: Sequence[str],
    length: float,
    colours: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Plotly trace dicts drawing, at each point (N, 2), its Hessian's two eigenvector axes
    (``eigenvalues`` (N, 2) ascending, ``eigenvectors`` (N, 2, 2) as columns) as
    segments of ``length``: the steep axis (largest eigenvalue) solid, the flat one dotted, in the
    run's colour (``colours``, else by position); hover names the eigenvalue. Two traces per
    point, always (no data where the point or its curvature is not finite), so that the traces
    of every step of a player line up. Append them to a 2-D figure's data."""
    traces: list[dict[str, Any]] = []
    half = 0.5 * length
    for i, name in enumerate(names):
        p = points[i]
        finite = np.isfinite(p).all() and np.isfinite(eigenvalues[i]).all()
        for j, (dash, axis) in enumerate((("dot", "flat"), ("solid", "steep"))):
            xs: list[float | None] = [None]
            ys: list[float | None] = [None]
            lam = math.nan
            if finite:
                v = eigenvectors[i][:, j]
                lam = float(eigenvalues[i][j])
                a, b = p - half * v, p + half * v
                xs = [float(a[0]), float(p[0]), float(b[0])]
                ys = [float(a[1]), float(p[1]), float(b[1])]
            traces.append(
                {
                    "type": "scatter",
                    "x": xs,
                    "y": ys,
                    "mode": "lines",
                    "line": {
                        "color": colours[i] if colours is not None else colour(i),
                        "width": 3,
                        "dash": dash,
                    },
                    "name": f"{name}: {axis} axis λ={lam:.3g}",
                    "legendgroup": "curvature",
                    "showlegend": False,
                    "hovertemplate": f"{name}<br>{axis} axis, curvature λ = {lam:.4g}<extra></extra>",
                }
            )
    return traces


def curvature_rows(
    names: Sequence[str],
    points: np.ndarray,
    curvature: Curvature,
    verdicts: Sequence[StabilityVerdict],
) -> list[dict[str, Any]]:
    """A table row per run: point, eigenvalues and eigenvectors, condition number, and the
    engine's stability verdict for the run's own method (``analysis.stability_verdict``): its
    rule, critical step, current step and statement. Every cell is text (``number_text``): "—"
    where there is no value (no critical step applies), "∞" for an infinite condition number."""
    rows = []
    for i, name in enumerate(names):
        w, v, verdict = curvature.eigenvalues[i], curvature.eigenvectors[i], verdicts[i]
        rows.append(
            {
                "Run": name,
                "Point": position_text(points[i][0], points[i][1]),
                "λ_min": number_text(w[0], 4),
                "λ_max": number_text(w[-1], 4),
                "Flat axis": _axis_text(v[:, 0]),
                "Steep axis": _axis_text(v[:, 1]),
                "Condition": number_text(curvature.condition[i], 4),
                "Method": verdict.method or "—",
                "Stable if": verdict.rule or "—",
                "Critical step": number_text(verdict.critical, 4),
                "Current step": number_text(verdict.step, 4),
                "Verdict": verdict.text or "—",
            }
        )
    return rows


def _axis_text(v: np.ndarray) -> str:
    """An eigenvector as "(0.71, -0.71)"; "—" where it is not known."""
    if not np.isfinite(v).all():
        return "—"
    return f"({float(v[0]):.2f}, {float(v[1]):.2f})".replace("-0.00", "0.00")


REGIME_COLOURS = ("#1b9e77", "#e6ab02", "#333333")


def rate_map_figure(
    rate_map: RateMap,
    *,
    current: Sequence[tuple[str, float, float]] = (),
    theory: QuadraticTheory | None = None,
) -> RawFigure:
    """Heavy-ball (or Nesterov, ``rate_map.nesterov``) convergence rate over learning rate (log x)
    and momentum beta (y): colour is the rate (the error shrinks by it per step; darker is
    faster), diverging settings in dark grey, the oscillating region outlined; the stability bound
    (2+2 beta)/lambda_max (over 1+2 beta for Nesterov) and the optimum (if ``theory``; for
    Nesterov the best setting on the grid), and each ``current`` (name, lr, beta) as a marker. An
    invisible grid carries ``customdata`` = [lr, beta]: a click picks that setting. Built as a
    plain dict (``RawFigure``): the explorer redraws it at every rerun on a quadratic."""
    lrs, betas, rate = rate_map.lrs, rate_map.betas, rate_map.rate
    names = np.array(["converges", "oscillates", "diverges"], dtype=object)
    xy = {"x": lrs.tolist(), "y": betas.tolist()}
    data: list[dict[str, Any]] = [
        {
            "type": "heatmap",
            **xy,
            "z": typed_array(np.where(rate < 1, rate, np.nan).astype(np.float32)),
            "zmin": 0,
            "zmax": 1,
            "colorscale": "Viridis",
            "colorbar": {"title": {"text": "rate"}, "len": 0.8},
            "text": names[rate_map.regime].tolist(),
            "hovertemplate": "lr %{x:.3g}, β %{y:.2f}<br>rate %{z:.3f}, %{text}<extra></extra>",
            "name": "rate",
        },
        {
            "type": "heatmap",
            **xy,
            "z": typed_array(np.where(rate >= 1, 1.0, np.nan).astype(np.float32)),
            "colorscale": [[0, "#444444"], [1, "#444444"]],
            "showscale": False,
            "hovertemplate": "lr %{x:.3g}, β %{y:.2f}<br>diverges<extra></extra>",
            "name": "diverges",
        },
        {
            "type": "contour",
            **xy,
            "z": typed_array((rate_map.regime == 1).astype(np.float32)),
            "contours": {"start": 0.5, "end": 0.5, "size": 1, "coloring": "lines"},
            "line": {"color": "white", "width": 2, "dash": "dot"},
            "showscale": False,
            "hoverinfo": "skip",
            "name": "oscillation boundary",
        },
    ]
    if theory is not None:
        nesterov = rate_map.nesterov
        bound = theory.momentum_critical_lr(betas, nesterov=nesterov)
        keep = (bound >= lrs[0]) & (bound <= lrs[-1])
        data.append(
            {
                "type": "scatter",
                "x": bound[keep].tolist(),
                "y": betas[keep].tolist(),
                "mode": "lines",
                "line": {"color": "red", "width": 2},
                "name": "lr = (2+2β)/((1+2β)λ_max)" if nesterov else "lr = (2+2β)/λ_max",
                "hoverinfo": "skip",
            }
        )
        if nesterov:  # no closed form drawn: the best setting on this grid
            b, j = np.unravel_index(np.argmin(rate), rate.shape)
            best = (float(lrs[j]), float(betas[b]), float(rate[b, j]), "best on this grid")
        else:
            best = (
                theory.momentum_optimal_lr,
                theory.momentum_optimal_beta,
                theory.momentum_optimal_rate,
                "optimum",
            )
        data.append(
            {
                "type": "scatter",
                "x": [best[0]],
                "y": [best[1]],
                "mode": "markers",
                "marker": {"symbol": "diamond", "size": 12, "color": "white", "line": {"width": 2}},
                "name": f"{best[3]} (rate {best[2]:.3f})",
                "hovertemplate": f"{best[3]}: lr %{{x:.3g}}, β %{{y:.3f}}<extra></extra>",
            }
        )
    sx = max(1, -(-lrs.size // CLICK_POINTS))
    sy = max(1, -(-betas.size // CLICK_POINTS))
    gl, gb = np.meshgrid(lrs[::sx], betas[::sy])
    data.append(
        {
            "type": "scatter",
            "x": gl.ravel().tolist(),
            "y": gb.ravel().tolist(),
            "mode": "markers",
            "marker": {"size": 9, "opacity": 0},
            "customdata": np.stack([gl.ravel(), gb.ravel()], axis=-1).tolist(),
            "hovertemplate": "lr %{x:.3g}, β %{y:.2f}<extra>click: use this setting</extra>",
            "name": "pick",
            "showlegend": False,
            "selected": {"marker": {"opacity": 0}},
            "unselected": {"marker": {"opacity": 0}},
        }
    )
    for i, (name, lr, beta) in enumerate(current):
        data.append(
            {
                "type": "scatter",
                "x": [lr],
                "y": [beta],
                "mode": "markers",
                "marker": {"symbol": "star", "size": 16, "color": colour(i), "line": {"width": 1}},
                "name": f"{name} (now)",
                "hovertemplate": f"{name}: lr %{{x:.3g}}, β %{{y:.2f}}<extra></extra>",
            }
        )
    layout = template_layout(
        xaxis={
            "type": "log",
            "title": {"text": "learning rate"},
            "range": np.log10([lrs[0], lrs[-1]]).tolist(),
        },
        yaxis={"title": {"text": "momentum β"}, "range": [float(betas[0]), float(betas[-1])]},
        height=420,
        margin={"l": 60, "r": 20, "t": 30, "b": 50},
        font=FONT,
        hovermode="closest",
        legend={"orientation": "h", "y": -0.25},
        clickmode="event+select",
    )
    return RawFigure({"data": data, "layout": layout})
