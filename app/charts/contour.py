"""The 2-D view of the explorer (also the network page's "optimize in the plane"): the surface as a
banded image, the known minima, every run's path with its player, the events along the paths,
and the invisible click grid."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .paths import (
    ARROW_KINDS,
    BOX_LABEL,
    TAIL,
    PathView,
    adaptive,
    arrow_factor_of,
    box_factor,
    moving_data,
    run_track,
)
from .player import MAX_FRAMES, frame_steps, legend_timeline, name_at, player_spec
from .runtime import (
    FIGURES,
    RawFigure,
    finite_f32,
    finite_rows,
    register_cache,
    template_layout,
    typed_array,
)
from .status import status_table
from .style import (
    FONT_SIZE,
    PLOT_SIZE,
    POINT_STYLE,
    SMALL_FONT,
    colour,
    domain_decimals,
    domain_diagonal,
    plot_area,
    slot,
    symbol,
)
from .surface import colour_bar, grid_image, levels_for, subsample, surface_image

if TYPE_CHECKING:  # plain data containers; importing them at runtime would pull in streamlit
    from ..compute import Point, Run, Surface

CLICK_GRID_NAME = "click grid"  # name and legendgroup of the invisible grid that catches clicks
# pixels between the click grid's points (23 x 23 on a 540 px plot): a click starts a run at
# most 12 px from where it landed. Every point is an SVG node the browser rebuilds at each update:
# at 18 px (31 x 31) the contour took about 950 ms to redraw after a change in headless
# Chromium, at 24 px about 770 ms (bench/app_browser.py)
CLICK_GRID_SPACING = 24
# the figure's margins (pixels): tick labels and title of y on the left; x's below; the colour
# bar and then the legend on the right, as wide as its widest line of text
LEFT, BOTTOM, COLOUR_BAR_ROOM = 80, 70, 110
LEGEND_SYMBOL, CHAR_WIDTH = 52, 7.2  # a legend entry's symbol, and a character of its text
LEGEND_LINE, LEGEND_GAP = 22, 8  # a line of legend text; the gap between two entries
EVENT_SPACING = 0.12  # events closer than this fraction of the diagonal share one text
LEGEND_SEP = "<br>"  # a run's state (converged, diverged at step k) on a line under its label
ARROW_GREY = "#4d4d4d"  # the gradient and momentum arrows; their heads take the run colour
_KEEP_OPACITY = {"marker": {"opacity": 1}}  # a click selection must not fade the other markers
# Hover note. Plotly's "closest" hover gives a point under the cursor the distance
# max(d - r, 1 - 3 / r), r its marker radius (at least 3 px): the larger the marker, the larger
# its floor. The click grid's radius (CLICK_GRID_SPACING / 2) is at least every hoverable
# marker's, and it comes first (a later trace wins ties), so markers and minima answer the hover
# over them and the grid answers everywhere else; with half the spacing as its radius, at most one
# grid point is that close to the cursor, so a click lands on the nearest one.


def _points_traces(points: Sequence[Point]) -> list[dict[str, Any]]:
    traces = []
    for rank, kind in enumerate(("global", "local", "saddle")):
        chosen = [p for p in points if p.kind == kind]
        if not chosen:
            continue
        style = POINT_STYLE[kind]
        traces.append(
            {
                "type": "scatter",
                "x": [p.x for p in chosen],
                "y": [p.y for p in chosen],
                "customdata": [p.value for p in chosen],
                "mode": "markers",
                "name": style["name"],
                "legendrank": 900 + rank,
                "marker": {
                    "symbol": style["symbol"],
                    "size": style["size"],
                    "color": style["color"],
                    "line": {"width": 2, "color": "#000000"},
                },
                "unselected": _KEEP_OPACITY,
                "hovertemplate": f"{style['name']}<br>(%{{x:.4g}}, %{{y:.4g}})<br>"
                "f = %{customdata:.5g}<extra></extra>",
            }
        )
    return traces


def contour_figure(
    surface: Surface,
    runs: Sequence[Run],
    step: int,
    *,
    log_colour: bool,
    arrows: bool = True,
    max_frames: int = MAX_FRAMES,
    plot_size: int = PLOT_SIZE,
    axis_titles: tuple[str, str] = ("x", "y"),
    average: bool = False,
) -> RawFigure:
    """The 2-D view: the surface as a banded image, every run's path, and an animated player.

    Bottom to top: the surface (a layout image, so it stays during animation), known minima and
    saddles, each run's full path as a thin line, the start, and the animated traces: if
    ``arrows``, the three step vectors of ``arrow_vectors`` from each run's position, all scaled
    by one factor (``arrow_factor``, named in the legend): the plain gradient step dashed and the
    momentum step dotted, both grey with a head in the run's colour, the actual step solid in the
    run's colour; then each run's last ``TAIL`` steps as a thick line ending in its current
    marker, whose hover gives the step, loss, gradient norm and per-axis effective learning rate.
    Under all of them, an invisible grid of points named ``CLICK_GRID_NAME`` that makes a click
    anywhere report its (x, y) (its ``legendgroup`` is ``CLICK_GRID_NAME`` too, which Streamlit's
    selection reports); a click on a marker, a minimum or the start reports that point instead.

    The data shows ``step``. At most ``max_frames`` frames (named by their step number) carry only
    the animated traces; Play / Pause / Reset and speed buttons and a step slider drive them in
    the browser. Axes are fixed to the surface's domain with equal scales; non-finite points are
    dropped, positions are never clipped, so a diverging run visibly leaves the plot. Arrows of
    other frames use the same factor; the few longer than ``ARROW_CAP`` of the diagonal are
    shortened to it (at ``step`` no arrow is longer than about ``ARROW_FRACTION``).
    ``plot_size`` is the longer side of the plot area in pixels; the figure has a fixed size.
    ``axis_titles`` name the two axes (e.g. ("α", "β") on a plane through a network's weights).
    ``average``: also each run's averaged iterate (``Run.average``: ASGD, schedule-free), a thin
    dashed path in the run's colour from the start, drawn up to the shown step like the paths,
    with its own legend entry.

    Remembered: the same call again returns the same figure dict (in a new ``RawFigure``); the
    surface's part is kept per (surface, ``log_colour``, ``plot_size``, ``axis_titles``) and
    each run's drawing data per run.
    """
    axis_titles = (str(axis_titles[0]), str(axis_titles[1]))
    key = (
        "contour",
        int(step),
        bool(log_colour),
        bool(arrows),
        int(max_frames),
        int(plot_size),
        axis_titles,
        bool(average),
    )
    return RawFigure(
        FIGURES.get(
            (surface, *runs),
            key,
            lambda: _contour(
                surface,
                runs,
                step,
                log_colour,
                arrows,
                max_frames,
                plot_size,
                axis_titles,
                average,
            ),
        )
    )


@dataclass(frozen=True)
class _ContourBase:
    """What the 2-D view draws of a surface alone (every run and step shares it)."""

    plot_w: int
    plot_h: int
    below: list[dict[str, Any]]  # the colour bar, the click grid, the minima and saddles
    image: dict[str, Any]
    xaxis: dict[str, Any]
    yaxis: dict[str, Any]


@register_cache
@functools.lru_cache(maxsize=32)
def _contour_base(
    surface: Surface, log_colour: bool, plot_size: int, axis_titles: tuple[str, str] = ("x", "y")
) -> _ContourBase:
    (x0, x1), (y0, y1) = surface.domain
    levels = levels_for(surface, log_colour)
    plot_w, plot_h = plot_area(surface.domain, plot_size)
    title = "f (log scale)" if log_colour else "f"
    below = [colour_bar(levels, (x0 + x1) / 2, (y0 + y1) / 2, title)]
    # The click grid comes before every hoverable trace: in "closest" hover a later trace wins a
    # tie, so a marker, minimum or start under the cursor shows its own hover (and a click on it
    # still reports its (x, y)); everywhere else the grid answers.
    below.append(_click_grid(surface, plot_w, plot_h))
    below += _points_traces(surface.points)
    image = grid_image(
        surface.xs, surface.ys, surface_image(surface, log_colour, plot_w * 2, plot_h * 2)
    )
    axis = {
        "constrain": "domain",
        "showgrid": False,
        "zeroline": False,
        "ticks": "outside",
        "tickfont": {"size": SMALL_FONT},
        "showline": True,
        "linecolor": "#444444",
        "mirror": True,
    }
    title_font = {"size": FONT_SIZE}
    xaxis = {
        **axis,
        "title": {"text": axis_titles[0], "font": title_font},
        "range": [x0, x1],
        "autorange": False,
    }
    yaxis = {
        **axis,
        "title": {"text": axis_titles[1], "font": title_font},
        "range": [y0, y1],
        "autorange": False,
        "scaleanchor": "x",
        "scaleratio": 1,
    }
    return _ContourBase(plot_w, plot_h, below, image, xaxis, yaxis)


_BACKGROUND = ThreadPoolExecutor(max_workers=1, thread_name_prefix="optiscape-figures")


def prepare_contour(
    surface: Surface,
    log_colour: bool,
    plot_size: int = PLOT_SIZE,
    axis_titles: tuple[str, str] = ("x", "y"),
) -> Future:
    """Start building the surface's part of ``contour_figure`` (its image, colour bar and click
    grid) in a background thread, for a page with other work to do first (the runs): numpy and
    the PNG encoder release the GIL, so the two overlap. Wait on the future before
    ``contour_figure`` (with the same arguments), which then finds that part built."""
    titles = (str(axis_titles[0]), str(axis_titles[1]))
    return _BACKGROUND.submit(_contour_base, surface, log_colour, plot_size, titles)


def _contour(
    surface: Surface,
    runs: Sequence[Run],
    step: int,
    log_colour: bool,
    arrows: bool,
    max_frames: int,
    plot_size: int,
    axis_titles: tuple[str, str],
    average: bool = False,
) -> dict[str, Any]:
    total = max((len(r.positions) - 1 for r in runs), default=0)
    step = min(max(int(step), 0), total)
    base = _contour_base(surface, log_colour, plot_size, axis_titles)
    plot_w, plot_h = base.plot_w, base.plot_h
    geometry = PathView.of(surface.domain, 1.0)  # the factor does not change the tracks
    tracks = [run_track(run, geometry) for run in runs]
    factor = (
        arrow_factor_of(runs, [t.vectors for t in tracks], step, surface.domain) if arrows else 1.0
    )
    boxes = box_factor(runs, step, surface.domain) if arrows else 0.0
    view = PathView.of(surface.domain, factor, boxes)

    traces: list[dict[str, Any]] = list(base.below)
    paths = []  # the path traces' indices: the player draws each up to the shown step
    for i, (run, track) in enumerate(zip(runs, tracks, strict=True)):
        paths.append(len(traces))
        traces.append(
            {
                "type": "scatter",
                "x": track.path[0],
                "y": track.path[1],
                "mode": "lines",
                "line": {"color": colour(slot(run, i)), "width": 2},
                "name": run.label,
                "legendgroup": f"run{i}",
                "showlegend": False,
                # no hover: a path point under the cursor would win Plotly's "closest" hover over
                # the current marker (the numbers) and over the click grid (start here)
                "hoverinfo": "skip",
            }
        )
    if average:
        for i, run in enumerate(runs):
            if run.average is not None:
                paths.append(len(traces))
                traces.append(_average_trace(run, i, k_rows=len(run.positions)))
    starts = [r.positions[0] for r in runs if np.isfinite(r.positions[0]).all()]
    starts = np.unique(np.array(starts).reshape(-1, 2), axis=0)
    if len(starts):
        traces.append(
            {
                "type": "scatter",
                "x": typed_array(starts[:, 0]),
                "y": typed_array(starts[:, 1]),
                "mode": "markers",
                "name": "start",
                "legendrank": 800,
                "marker": {
                    "symbol": "circle",
                    "size": 14,
                    "color": "#000000",
                    "line": {"width": 2.5, "color": "#ffffff"},
                },
                "unselected": _KEEP_OPACITY,
                "hovertemplate": "start (%{x:.4g}, %{y:.4g})<extra></extra>",
            }
        )

    steps = frame_steps(total, step, max_frames) if runs else []
    shown = moving_data(runs, tracks, steps if step in steps else [*steps, step], view, arrows)
    now = shown[steps.index(step) if step in steps else -1]
    first_moving = len(traces)
    if arrows:
        for j, (kind, label, dash, width) in enumerate(ARROW_KINDS[:2]):
            # one grey trace for every run's arrows of this kind, heads in the run colours
            traces.append(
                {
                    "type": "scatter",
                    **now[j],
                    "mode": "lines+markers",
                    "line": {"color": ARROW_GREY, "width": width, "dash": dash},
                    "marker": {
                        "symbol": "arrow",
                        "angleref": "previous",
                        "size": [0, 13, 0] * len(runs),
                        "color": [colour(slot(r, i)) for i, r in enumerate(runs) for _ in range(3)],
                    },
                    "unselected": _KEEP_OPACITY,
                    "legendgroup": kind,
                    "showlegend": False,
                    "hoverinfo": "skip",
                    "name": label.format(factor=""),
                }
            )
        boxed = [i for i, r in enumerate(runs) if boxes > 0 and len(r.effective_lr) and adaptive(r)]
        traces.append(
            {
                "type": "scatter",
                **now[2],
                "mode": "lines",
                "line": {"color": ARROW_GREY, "width": 1.5},
                "legendgroup": "box",
                "showlegend": False,
                "hoverinfo": "skip",
                "name": BOX_LABEL.format(factor=""),
                "meta": [runs[i].label for i in boxed],  # whose boxes, in slot order
            }
        )
    offset = 3 if arrows else 0
    for i, run in enumerate(runs):  # the trail and the actual step (see _trail), in run colour
        traces.append(
            {
                "type": "scatter",
                **now[offset + i],
                "mode": "lines+markers" if arrows else "lines",
                "line": {"color": colour(slot(run, i)), "width": 3.5},
                "marker": {
                    "symbol": "arrow",
                    "angleref": "previous",
                    "size": [0] * (TAIL + 3) + [13],
                    "color": colour(slot(run, i)),
                },
                "unselected": _KEEP_OPACITY,
                "legendgroup": f"run{i}",
                "showlegend": False,
                "hoverinfo": "skip",
                "name": f"{run.label}: last {TAIL} steps" + (" and actual step" if arrows else ""),
            }
        )
    offset += len(runs)
    for i, run in enumerate(runs):  # the current position, with the numbers in its hover
        traces.append(
            {
                "type": "scatter",
                **now[offset + i],
                "mode": "markers",
                "marker": {
                    "symbol": symbol(slot(run, i)),
                    "size": 16,
                    "color": colour(slot(run, i)),
                    "line": {"width": 2, "color": "#ffffff"},
                },
                "unselected": _KEEP_OPACITY,
                "name": run.label,
                "legendgroup": f"run{i}",
                "showlegend": False,
                "hovertemplate": f"<b>{run.label}</b><br>%{{text}}<extra></extra>",
            }
        )
    moving = list(range(first_moving, len(traces)))
    legend_names = []  # per legend entry: its index and [first step, name] as the step moves
    for i, run in enumerate(runs):  # legend entries: the run's colour and symbol, always listed
        names = legend_timeline(run, total, sep=LEGEND_SEP)
        legend_names.append([len(traces), names])
        traces.append(
            {
                "type": "scatter",
                "x": [None],
                "y": [None],
                "mode": "lines+markers",
                "line": {"color": colour(slot(run, i)), "width": 4},
                "marker": {
                    "symbol": symbol(slot(run, i)),
                    "size": 14,
                    "color": colour(slot(run, i)),
                },
                "name": name_at(names, step),
                "legendgroup": f"run{i}",
                "legendrank": i + 1,
                "hoverinfo": "skip",
            }
        )
    events = []  # what the diagnosis says, written at its place once the shown step reaches it
    written: list[tuple[float, float]] = []  # where words are written: one text per place
    near = EVENT_SPACING * domain_diagonal(surface.domain)
    for i, run in enumerate(runs):
        words = run.event_at is not None and all(math.dist(run.event_at, p) > near for p in written)
        trace = _event_trace(run, i, total, step, surface.domain, plot_w, words)
        if trace is not None:
            if words:
                written.append(run.event_at)
            events.append({"trace": len(traces), "step": int(run.event_step), "text": run.event})
            traces.append(trace)
    if arrows and runs:
        for j, (kind, label, dash, width) in enumerate(ARROW_KINDS):  # legend entries of the arrows
            traces.append(
                {
                    "type": "scatter",
                    "x": [None],
                    "y": [None],
                    "mode": "lines",
                    "line": {"color": ARROW_GREY, "width": width, "dash": dash},
                    "name": label.format(factor=f" ×{factor:g}"),
                    "legendgroup": kind,
                    "legendrank": 600 + j,
                    "hoverinfo": "skip",
                }
            )
        if boxes > 0:
            traces.append(
                {
                    "type": "scatter",
                    "x": [None],
                    "y": [None],
                    "mode": "lines",
                    "line": {"color": ARROW_GREY, "width": 1.5},
                    "name": BOX_LABEL.format(factor=f" ×{boxes:g}"),
                    "legendgroup": "box",
                    "legendrank": 600 + len(ARROW_KINDS),
                    "hoverinfo": "skip",
                }
            )

    # every trace is named in every frame ({} for the static ones): after an animation plotly.js
    # otherwise loses the static traces' nodes, and the next click on the chart throws instead
    # of reaching Streamlit (so "click to start here" would stop working after Play)
    static = list(range(first_moving)) + list(range(first_moving + len(moving), len(traces)))
    empty, order = [{}] * len(static), static + moving
    frames = [
        {"name": str(k), "data": empty + data, "traces": order}
        for k, data in zip(steps, shown, strict=False)
    ]
    # the legend beside the plot, right of the colour bar: the widest name it will show
    names = [t["name"] for t in traces if t.get("showlegend") is not False]
    names += [name for _, timeline in legend_names for _, name in timeline]
    lines = [line for n in names for line in re.sub("<(?!br)[^>]+>", "", n).split("<br>")]
    legend_w = LEGEND_SYMBOL + round(CHAR_WIDTH * max((len(line) for line in lines), default=0))
    right = COLOUR_BAR_ROOM + legend_w
    entries = [t["name"] for t in traces if t.get("showlegend") is not False]
    legend_h = sum(LEGEND_LINE * (1 + n.count("<br>")) + LEGEND_GAP for n in entries)
    legend_h += sum(
        LEGEND_LINE * max(name.count("<br>") for _, name in timeline)
        for _, timeline in legend_names
    )
    layout = template_layout(
        width=plot_w + LEFT + right,
        height=max(plot_h + 16 + BOTTOM, legend_h + 16),
        margin={"l": LEFT, "r": right, "t": 16, "b": BOTTOM, "pad": 0},
        font={"size": FONT_SIZE},
        plot_bgcolor="#ffffff",
        uirevision=f"{surface.key}:{surface.domain}",
        hovermode="closest",
        hoverlabel={"font": {"size": SMALL_FONT}},
        legend={  # pinned to the figure's top right corner: it stays there when the figure is
            # made smaller to fit the window (app.plotly_view)
            "orientation": "v",
            "xref": "container",
            "x": 1.0,
            "xanchor": "right",
            "yref": "container",
            "y": 1.0,
            "yanchor": "top",
            "font": {"size": SMALL_FONT},
            "itemsizing": "constant",
            "traceorder": "normal",
            "tracegroupgap": 4,
            # pixels: never a scrolled, clipped legend (the figure is at least this tall)
            "maxheight": legend_h,
        },
        images=[base.image],
        xaxis=base.xaxis,
        yaxis=base.yaxis,
    )
    figure: dict[str, Any] = {"data": traces, "layout": layout}
    # the browser makes the figure smaller to fit the window and the page's width
    # (app.plotly_view): the plot, the x axis's ticks and title below it, and the legend beside
    layout["meta"] = {"fit": {"below": BOTTOM, "min_plot": 320}}
    if frames:
        table = status_table(runs, steps, surface.points, total)
        layout["meta"]["player"] = player_spec(
            total, step, paths, legend_names, events, table=table
        )
        figure["frames"] = frames
    return figure


def _average_trace(run: Run, i: int, k_rows: int) -> dict[str, Any]:
    """The run's averaged iterate as a path indexed by step like its positions: the start, then
    the average after each update (non-finite points left as gaps)."""
    points = np.concatenate([run.positions[:1], run.average])[:k_rows]
    path = finite_f32(points)
    path[~finite_rows(path)] = np.nan
    return {
        "type": "scatter",
        "x": typed_array(path[:, 0]),
        "y": typed_array(path[:, 1]),
        "mode": "lines",
        "line": {"color": colour(slot(run, i)), "width": 1.2, "dash": "dash"},
        "name": f"{run.label}: average",
        "legendgroup": f"average{i}",  # shown and hidden apart from the run's path
        "legendrank": 100 + i,
        "hoverinfo": "skip",
    }


def _event_trace(
    run: Run,
    i: int,
    total: int,
    step: int,
    domain: tuple[tuple[float, float], tuple[float, float]],
    plot_w: int,
    words: bool = True,
) -> dict[str, Any] | None:
    """The run's event (``Run.event``, from the diagnosis) as a small marker at ``event_at`` with
    its words beside it (unless not ``words``: another run's are written there already; the
    legend tells each run's state), in the run's colour, visible from ``event_step`` on (the
    player shows it as the step moves); None where there is no event or no drawable place.

    The words go beside the point, right of it where they fit in the plot's ``plot_w`` pixels,
    else left of it, else centred; above it in the plot's lower half, below it in the upper half,
    so they stay in the plot and away from the legend below it."""
    if not run.event or run.event_at is None or not 0 <= run.event_step <= total:
        return None
    (x0, x1), (y0, y1) = domain
    x, y = run.event_at
    inside = x0 <= x <= x1 and y0 <= y <= y1
    # the words' width in data units (about 0.55 em a character) in the smallest plot the browser
    # fits the figure to (meta.fit.min_plot, 320 px): on the side where they fit even there
    width = (len(run.event) + 1) * 0.55 * SMALL_FONT / min(max(plot_w, 1), 320) * (x1 - x0)
    if x + width <= x1:
        side = "right"
    elif x - width >= x0:
        side = "left"
    else:
        side = "center"
    level = "bottom" if y > (y0 + y1) / 2 else "top"
    pad = " " if side == "right" else ""  # a small offset from the marker
    text = f"{pad}{run.event}{' ' if side == 'left' else ''}"
    return {
        "type": "scatter",
        "x": [x],
        "y": [y],
        "mode": "markers+text",
        "text": [text if words else ""],
        "textposition": f"{level} {side}",
        "textfont": {
            "color": colour(slot(run, i)),
            "size": SMALL_FONT,
            "shadow": "0px 0px 3px #ffffff",
        },
        "marker": {
            "symbol": "x-thin",
            "size": 10,
            "color": colour(slot(run, i)),
            "line": {"width": 2.5, "color": colour(slot(run, i))},
        },
        # the words may pass the axes' edge only from a point inside the plot
        "cliponaxis": not inside,
        "unselected": _KEEP_OPACITY,
        "visible": run.event_step <= step,
        "name": f"{run.label}: {run.event}",
        "legendgroup": f"run{i}",
        "showlegend": False,
        "hoverinfo": "skip",
    }


def player_steps(fig: RawFigure) -> list[int]:
    """The steps of ``fig``'s player: the step its data shows and its frames' steps, increasing
    ([] for a figure without a player)."""
    player = (fig.figure["layout"].get("meta") or {}).get("player")
    if player is None:
        return []
    return sorted({int(player["step"]), *(int(f["name"]) for f in fig.figure.get("frames", []))})


def with_moving_traces(
    fig: RawFigure, traces_at: Mapping[int, Sequence[dict[str, Any]]]
) -> RawFigure:
    """``fig`` with traces that belong to the shown step, on top (a new figure; the shared dict is
    not changed): ``traces_at`` maps each of ``player_steps(fig)`` to its traces, as many at
    every step; the data gets those of the shown step, each frame those of its step, so that
    the player moves them with the markers."""
    step = (fig.figure["layout"].get("meta") or {}).get("player", {}).get("step")
    if not traces_at or step not in traces_at:
        return fig
    base = fig.figure
    first = len(base["data"])
    added = list(range(first, first + len(traces_at[step])))
    out = {**base, "data": [*base["data"], *traces_at[step]]}
    if base.get("frames"):
        out["frames"] = [
            {
                **f,
                "data": [*f["data"], *traces_at[int(f["name"])]],
                "traces": [*f["traces"], *added],
            }
            for f in base["frames"]
        ]
    return RawFigure(out)


def _click_grid(surface: Surface, plot_w: int, plot_h: int) -> dict[str, Any]:
    """Invisible points every ``CLICK_GRID_SPACING`` pixels (at surface grid nodes, f in the
    hover) that make a click report where it landed."""
    ii = subsample(surface.xs.size, round(plot_w / CLICK_GRID_SPACING) + 1)
    jj = subsample(surface.ys.size, round(plot_h / CLICK_GRID_SPACING) + 1)
    gx, gy = np.meshgrid(surface.xs[ii], surface.ys[jj])
    gz = np.asarray(surface.z)[np.ix_(jj, ii)]
    decimals = domain_decimals(surface.domain)
    return {
        "type": "scatter",
        # rounded float64, not float32: a click reports clean numbers (0, 2.6) for the URL
        "x": typed_array(np.round(gx.ravel(), decimals)),
        "y": typed_array(np.round(gy.ravel(), decimals)),
        "customdata": typed_array(gz.ravel().astype(np.float32)),
        "mode": "markers",
        # radius half the spacing: see the hover note at the top
        "marker": {"size": CLICK_GRID_SPACING, "opacity": 0, "color": "#000000"},
        "selected": {"marker": {"opacity": 0}},
        "unselected": {"marker": {"opacity": 0}},
        "name": CLICK_GRID_NAME,
        "legendgroup": CLICK_GRID_NAME,
        "showlegend": False,
        "hovertemplate": "(%{x:.3g}, %{y:.3g})  f = %{customdata:.3g}<br>"
        "click: start here<extra></extra>",
    }
