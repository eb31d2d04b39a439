"""The explorer's other charts: the 3-D view and the loss and gradient-norm curves."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .runtime import (
    FIGURES,
    RUN_PIECES,
    RawFigure,
    finite_f32,
    register_cache,
    steps_array,
    template_layout,
    typed_array,
)
from .style import (
    END_SYMBOLS_3D,
    FONT_SIZE,
    POINT_STYLE,
    SMALL_FONT,
    colour,
    domain_diagonal,
    fmt,
    legend_above,
    plot_area,
    slot,
)
from .surface import SURFACE3D_FLOOR, ColourLevels, levels_for, subsample

if TYPE_CHECKING:  # plain data containers; importing them at runtime would pull in streamlit
    from ..compute import Run, Surface


def _min_pool(z: np.ndarray, ii: np.ndarray, jj: np.ndarray) -> np.ndarray:
    """``z`` at the nodes (jj, ii), each the minimum over its neighbourhood of half the sampling
    step (NaN ignored): a valley narrower than the coarse mesh stays a continuous valley instead
    of a comb of spikes, and the paths, drawn at their true loss, stay above the surface."""
    out = z
    for axis, picked in ((1, ii), (0, jj)):
        half = int(np.max(np.diff(picked), initial=1)) // 2
        if half == 0:
            continue
        n = out.shape[axis]
        pad = [(0, 0), (0, 0)]
        pad[axis] = (half, half)
        padded = np.pad(out, pad, constant_values=np.nan)
        pooled = out
        for offset in range(2 * half + 1):
            window = [slice(None), slice(None)]
            window[axis] = slice(offset, offset + n)
            pooled = np.fmin(pooled, padded[tuple(window)])
        out = pooled
    return out[np.ix_(jj, ii)]


def surface3d_figure(
    surface: Surface, runs: Sequence[Run], step: int, *, log_colour: bool, max_grid: int = 81
) -> RawFigure:
    """The surface in 3-D (at most ``max_grid`` x ``max_grid`` samples, float32) with the paths.

    The height is the colour value: f on a linear scale, or log10(f - min + floor) with the tick
    labels in real f values when ``log_colour`` (a log height shows the valley floors where the
    optimizers are). The paths run a little above the surface (so the coarse mesh does not hide
    them) and only where they are finite and over the domain; each run's position at ``step`` is
    a marker. Colours and bands are those of ``contour_figure``; the 2-D legend names the runs.

    Remembered: the same call again returns the same figure dict (in a new ``RawFigure``); the
    surface's trace and the layout are kept per (surface, ``log_colour``, ``max_grid``), each
    run's line per run.
    """
    key = ("surface3d", int(step), bool(log_colour), int(max_grid))
    return RawFigure(
        FIGURES.get(
            (surface, *runs), key, lambda: _surface3d(surface, runs, step, log_colour, max_grid)
        )
    )


@dataclass(frozen=True)
class _Surface3dBase:
    """What the 3-D view draws of a surface alone."""

    levels: ColourLevels
    lift: float  # how far the paths and markers run above their true height
    below: list[dict[str, Any]]  # the mesh, the minima and saddles
    layout: dict[str, Any]


@register_cache
@functools.lru_cache(maxsize=32)
def _surface3d_base(surface: Surface, log_colour: bool, max_grid: int) -> _Surface3dBase:
    (x0, x1), (y0, y1) = surface.domain
    levels = levels_for(surface, log_colour, floor=SURFACE3D_FLOOR)
    ii = subsample(surface.xs.size, max_grid)
    jj = subsample(surface.ys.size, max_grid)
    height = levels.value(_min_pool(np.asarray(surface.z, dtype=np.float64), ii, jj))
    span = levels.vmax - levels.vmin
    lift = 0.015 * span
    band = span / levels.bands
    below: list[dict[str, Any]] = [
        {
            "type": "surface",
            "x": typed_array(surface.xs[ii].astype(np.float32)),
            "y": typed_array(surface.ys[jj].astype(np.float32)),
            "z": typed_array(finite_f32(height)),
            "cmin": levels.vmin,
            "cmax": levels.vmax,
            "colorscale": levels.colorscale(),
            "showscale": False,
            "contours": {
                "z": {
                    "show": True,
                    "start": levels.vmin + band,
                    "end": levels.vmax,
                    "size": band,
                    "color": "rgba(60, 60, 60, 0.35)",
                    "width": 1,
                }
            },
            "lighting": {"ambient": 0.85, "diffuse": 0.35, "specular": 0.05},
            "opacity": 0.8,  # the paths stay visible at the bottom of narrow valleys
            "hoverinfo": "skip",
            "name": "surface",
        }
    ]
    for kind in ("global", "local", "saddle"):
        chosen = [p for p in surface.points if p.kind == kind]
        if chosen:
            style = POINT_STYLE[kind]
            below.append(
                {
                    "type": "scatter3d",
                    "x": [p.x for p in chosen],
                    "y": [p.y for p in chosen],
                    "z": [float(levels.value(p.value)) + lift for p in chosen],
                    "mode": "markers",
                    "marker": {
                        "symbol": "diamond-open" if kind != "saddle" else "x",
                        "size": 8,
                        "color": "#000000",
                    },
                    "name": style["name"],
                    "hovertemplate": f"{style['name']}<extra></extra>",
                }
            )
    tickvals, ticktext = levels.ticks()
    if len(tickvals) > 3:  # the z labels stack on a short axis: at most 3, the lowest and highest
        keep = np.unique(np.linspace(0, len(tickvals) - 1, 3).round().astype(int))
        tickvals, ticktext = [tickvals[i] for i in keep], [ticktext[i] for i in keep]

    def axis(title: str, **more: Any) -> dict[str, Any]:
        return {
            "tickfont": {"size": SMALL_FONT},
            "title": {"font": {"size": FONT_SIZE}, "text": title},
            "backgroundcolor": "#ffffff",
            **more,
        }

    width, depth = plot_area(surface.domain, 100)
    layout = template_layout(
        height=520,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        font={"size": FONT_SIZE},
        showlegend=False,
        uirevision=f"{surface.key}:{surface.domain}:{log_colour}",
        hoverlabel={"font": {"size": SMALL_FONT}},
        scene={
            # x and y without numbers (the contour beside has them): at the near corner the
            # two axes' labels would overlap
            "xaxis": axis("x", range=[x0, x1], showticklabels=False),
            "yaxis": axis("y", range=[y0, y1], showticklabels=False),
            "zaxis": axis(
                "f (log)" if log_colour else "f",
                range=[levels.vmin, levels.vmax + 2 * lift],
                tickvals=tickvals,
                ticktext=ticktext,
            ),
            "domain": {"x": [0.1, 1.0], "y": [0.0, 1.0]},  # room on the left for the z labels
            "aspectmode": "manual",
            "aspectratio": {"x": width / 100, "y": depth / 100, "z": 0.6},
            # from the front right, far enough that the axis titles and the z labels stay
            # inside the plot, low enough that the z axis reads upright
            "camera": {"eye": {"x": 1.6, "y": -1.6, "z": 1.35}},
        },
    )
    return _Surface3dBase(levels, lift, below, layout)


@dataclass(frozen=True)
class _Line3d:
    """A run's path over a surface in the 3-D view: typed arrays of the points drawn, and each
    step's position, height and whether it is drawn (for the marker)."""

    xyz: np.ndarray  # (n, 3) float32: the points drawn, in step order
    positions: np.ndarray
    heights: np.ndarray
    inside: np.ndarray


def _line3d(surface: Surface, run: Run, base: _Surface3dBase, log_colour: bool) -> _Line3d:
    def build() -> _Line3d:
        (x0, x1), (y0, y1) = surface.domain
        tol = 1e-9 * domain_diagonal(surface.domain)
        pos = np.asarray(run.positions, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            inside = (
                np.isfinite(pos).all(axis=1)
                & np.isfinite(run.losses)
                & (pos[:, 0] >= x0 - tol)
                & (pos[:, 0] <= x1 + tol)
                & (pos[:, 1] >= y0 - tol)
                & (pos[:, 1] <= y1 + tol)
            )
        zs = base.levels.value(run.losses) + base.lift
        with np.errstate(over="ignore"):  # beyond float32: inf, not drawn
            xyz = np.stack([pos[inside, 0], pos[inside, 1], zs[inside]], axis=1).astype(np.float32)
        return _Line3d(xyz, pos, zs, inside)

    return RUN_PIECES.get((run, surface), ("line3d", log_colour), build)


def _surface3d(
    surface: Surface, runs: Sequence[Run], step: int, log_colour: bool, max_grid: int
) -> dict[str, Any]:
    base = _surface3d_base(surface, log_colour, max_grid)
    traces = list(base.below)
    for i, run in enumerate(runs):
        line = _line3d(surface, run, base, log_colour)
        k = min(max(int(step), 0), len(line.positions) - 1)
        drawn = line.xyz[: int(line.inside[: k + 1].sum())]  # the path up to the shown step
        traces.append(
            {
                "type": "scatter3d",
                "x": typed_array(drawn[:, 0]),
                "y": typed_array(drawn[:, 1]),
                "z": typed_array(finite_f32(drawn[:, 2])),
                "mode": "lines",
                "line": {"color": colour(slot(run, i)), "width": 5},
                "name": run.label,
                "hoverinfo": "skip",
            }
        )
        if line.inside[k]:
            loss = fmt(float(run.losses[k]), 4)
            traces.append(
                {
                    "type": "scatter3d",
                    "x": [float(line.positions[k, 0])],
                    "y": [float(line.positions[k, 1])],
                    "z": [float(line.heights[k])],
                    "mode": "markers",
                    "marker": {
                        "symbol": END_SYMBOLS_3D[slot(run, i) % len(END_SYMBOLS_3D)],
                        "size": 8,
                        "color": colour(slot(run, i)),
                        "line": {"color": "#ffffff", "width": 1},
                    },
                    "name": f"{run.label}, step {k}",
                    "hovertemplate": f"{run.label}<br>step {k}<br>f = {loss}<extra></extra>",
                }
            )
    return {"data": traces, "layout": base.layout}


@dataclass(frozen=True)
class _Panel:
    log: bool
    range: tuple[float, float]  # in axis units (log10 for a log axis)
    below: float  # where a zero is drawn on a log axis: under the range, so it leaves the plot


DIVERGED_DECADES = 6.0  # how far above the other runs a diverging run's climb is still shown


def _panel(values: Sequence[np.ndarray], runs: Sequence[Run], allow_log: bool) -> _Panel:
    """Axis of one curves panel. The range is set by the runs that did not diverge; a diverged
    run's finite values raise the top by at most ``DIVERGED_DECADES`` decades above them (a
    linear axis: 3 times their spread), so its climb is seen for a while and then leaves the plot
    at the top instead of squashing the others (a blow-up to 1e300 does not set the range). A log
    axis spans at most 16 decades and at least one, so it always has labelled ticks."""
    every = [v[np.isfinite(v)] for v in values]
    refs = [v[:1] if run.diverged_at >= 0 else v for v, run in zip(values, runs, strict=True)]
    ref = np.concatenate([r[np.isfinite(r)] for r in refs] + [np.empty(0)])
    climb = np.concatenate(
        [e for e, run in zip(every, runs, strict=True) if run.diverged_at >= 0] + [np.empty(0)]
    )
    allv = np.concatenate([*every, np.empty(0)])
    if ref.size == 0:
        ref = allv
    if ref.size == 0:
        return _Panel(allow_log, (-1.0, 1.0) if allow_log else (0.0, 1.0), 0.01)
    if allow_log and (allv >= 0).all():
        positive = allv[allv > 0]
        ref_positive = ref[ref > 0]
        top_value = (
            ref_positive.max() if ref_positive.size else positive.max() if positive.size else 1.0
        )
        top = math.log10(float(top_value))
        if climb.size and climb.max() > top_value:
            top = min(math.log10(float(climb.max())), top + DIVERGED_DECADES)
        top += 0.3
        low = math.log10(float(positive.min())) - 0.3 if positive.size else top - 4
        bottom = min(max(low, top - 16), top - 1)
        return _Panel(True, (bottom, top), 10.0 ** (bottom - 1))
    lo, hi = float(ref.min()), float(ref.max())
    if climb.size:
        spread = max(hi - lo, abs(hi), 1e-12)
        hi = max(hi, min(float(climb.max()), hi + 3 * spread))
        lo = min(lo, max(float(climb.min()), lo - 3 * spread))
    pad = 0.05 * (hi - lo) if hi > lo else 1.0
    return _Panel(False, (lo - pad, hi + pad), 0.0)


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _power_text(v: float) -> str:
    """A round positive number as axis text: "0.01", "1", "100", "2×10⁻⁵", "10⁶"."""
    e = math.floor(math.log10(v) + 1e-9)
    if -2 <= e <= 3:
        return f"{v:g}"
    m = round(v / 10.0**e)
    power = "10" + str(e).translate(_SUPERSCRIPT)
    return power if m == 1 else f"{m}×{power}"


def _decade_ticks(axis: _Panel) -> dict[str, Any]:
    """Log axis: labelled ticks at whole decades (every few when there are many), or at 1, 2 and
    5 times them on a short axis; never the minor 2 ... 9 labels of each decade."""
    if not axis.log:
        return {}
    lo, hi = axis.range
    decades = list(range(math.ceil(lo), math.floor(hi) + 1))
    if len(decades) >= 2:
        every = max(1, math.ceil((hi - lo) / 6))
        vals = [10.0**d for d in decades if d % every == 0]
    else:
        vals = [
            m * 10.0**d
            for d in range(math.floor(lo), math.ceil(hi) + 1)
            for m in (1, 2, 5)
            if lo <= math.log10(m * 10.0**d) <= hi
        ]
    return {"tickmode": "array", "tickvals": vals, "ticktext": [_power_text(v) for v in vals]}


SUBPLOT_SPACING = 0.06  # between the two curves panels, a fraction of the figure's height
_PANEL_HEIGHT = (1 - SUBPLOT_SPACING) / 2


def curves_figure(runs: Sequence[Run], step: int) -> RawFigure:
    """Loss and gradient norm against the step, one line per run, a dotted line at ``step``.

    Both panels share the step axis. The loss is on a log axis when no loss is negative (zeros
    are drawn below the range, so the line leaves the plot downwards), else on a linear axis, and
    the axis title says which. The gradient norm is always on a log axis. Non-finite values are
    dropped; a run that diverged gets an ✕ "diverged at step k" at the top of the loss panel.

    Remembered: the same call again returns the same figure dict (in a new ``RawFigure``); each
    run's lines are kept per run and axis kind.
    """
    return RawFigure(FIGURES.get(tuple(runs), ("curves", int(step)), lambda: _curves(runs, step)))


def _curve(run: Run, row: int, values: np.ndarray, axis: _Panel) -> tuple[Any, Any]:
    """Typed arrays (steps, values) of a run's line in panel ``row``: finite values only; on a
    log axis, values <= 0 drawn at ``axis.below``."""

    def build() -> tuple[Any, Any]:
        shown = values.copy()
        if axis.log:
            shown[shown <= 0] = axis.below
        shown = finite_f32(shown)
        keep = np.isfinite(shown)
        return typed_array(steps_array(np.flatnonzero(keep))), typed_array(shown[keep])

    return RUN_PIECES.get((run,), ("curve", row, axis.log, axis.below), build)


def _curves(runs: Sequence[Run], step: int) -> dict[str, Any]:
    losses = [np.asarray(r.losses, dtype=np.float64) for r in runs]
    norms = [np.asarray(r.grad_norms, dtype=np.float64) for r in runs]
    loss_axis = _panel(losses, runs, allow_log=True)
    norm_axis = _panel(norms, runs, allow_log=True)
    total = max((len(r.losses) - 1 for r in runs), default=1)
    traces: list[dict[str, Any]] = []
    for row, series, axis in ((1, losses, loss_axis), (2, norms, norm_axis)):
        what = "f" if row == 1 else "|∇f|"
        for i, (run, values) in enumerate(zip(runs, series, strict=True)):
            x, y = _curve(run, row, values, axis)
            traces.append(
                {
                    "type": "scatter",
                    "x": x,
                    "y": y,
                    "mode": "lines",
                    "line": {"color": colour(slot(run, i)), "width": 2.5},
                    "name": run.label,
                    "legendgroup": f"run{i}",
                    "showlegend": row == 1,
                    "hovertemplate": f"{run.label}<br>step %{{x}}<br>{what} = %{{y:.4g}}"
                    "<extra></extra>",
                    "xaxis": "x" if row == 1 else "x2",
                    "yaxis": "y" if row == 1 else "y2",
                }
            )
    marks: list[dict[str, Any]] = []  # a dashed line down the loss panel at each divergence
    for i, run in enumerate(runs):
        if run.diverged_at >= 0:
            marks.append(
                {
                    "type": "line",
                    "x0": run.diverged_at,
                    "x1": run.diverged_at,
                    "xref": "x",
                    "y0": 0,
                    "y1": 1,
                    "yref": "y domain",
                    "line": {"color": colour(slot(run, i)), "width": 1.5, "dash": "dash"},
                }
            )
            top = loss_axis.range[1]
            traces.append(
                {
                    "type": "scatter",
                    "x": [run.diverged_at],
                    "y": [10.0**top if loss_axis.log else top],
                    "mode": "markers+text",
                    "marker": {
                        "symbol": "x",
                        "size": 14,
                        "color": colour(slot(run, i)),
                        "line": {"width": 1, "color": colour(slot(run, i))},
                    },
                    "text": [f"diverged at step {run.diverged_at}"],
                    "textposition": "bottom right",
                    "textfont": {"color": colour(slot(run, i)), "size": SMALL_FONT},
                    "cliponaxis": False,
                    "legendgroup": f"run{i}",
                    "showlegend": False,
                    "name": f"{run.label} diverged",
                    "hovertemplate": f"{run.label}: diverged at step {run.diverged_at}"
                    "<extra></extra>",
                    "xaxis": "x",
                    "yaxis": "y",
                }
            )
    tick = {
        "tickfont": {"size": SMALL_FONT},
        "showgrid": True,
        "gridcolor": "#e6e6e6",
    }
    title_font = {"size": FONT_SIZE}
    step_axis = {**tick, "range": [0, total], "zeroline": False}
    loss_title = "loss f (log scale)" if loss_axis.log else "loss f (linear: f takes values ≤ 0)"
    # two rows sharing the step axis, as make_subplots(rows=2, shared_xaxes=True) writes them
    layout = template_layout(
        xaxis={
            **step_axis,
            "anchor": "y",
            "domain": [0.0, 1.0],
            "matches": "x2",
            "showticklabels": False,
            "title": {"font": title_font},
        },
        yaxis={
            **tick,
            "anchor": "x",
            "domain": [1 - _PANEL_HEIGHT, 1.0],
            "type": "log" if loss_axis.log else "linear",
            "range": list(loss_axis.range),
            "title": {"text": loss_title, "font": title_font},
            "exponentformat": "power",
            **_decade_ticks(loss_axis),
        },
        xaxis2={
            **step_axis,
            "anchor": "y2",
            "domain": [0.0, 1.0],
            "title": {"text": "step", "font": title_font},
        },
        yaxis2={
            **tick,
            "anchor": "x2",
            "domain": [0.0, _PANEL_HEIGHT],
            "type": "log",
            "range": list(norm_axis.range),
            "title": {"text": "|∇f| (log scale)", "font": title_font},
            "exponentformat": "power",
            **_decade_ticks(norm_axis),
        },
        shapes=[
            {
                "type": "line",
                "x0": step,
                "x1": step,
                "xref": "x",
                "y0": 0,
                "y1": 1,
                "yref": "paper",
                "line": {"color": "#333333", "width": 1.5, "dash": "dot"},
            },
            *marks,
        ],
        height=600,
        margin={"l": 90, "r": 20, "t": 80, "b": 60},
        font={"size": FONT_SIZE},
        plot_bgcolor="#ffffff",
        hovermode="x unified",
        hoverlabel={"font": {"size": SMALL_FONT}},
        legend=legend_above(),  # the plot keeps the width of a half-page column
        uirevision="curves",
        meta={"cursor": {"shape": 0}},  # the dotted line follows the contour's player
    )
    return {"data": traces, "layout": layout}
