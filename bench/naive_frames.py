"""The usual way to animate optimizer paths, kept as the baseline of ``bench/app_figures.py``:
a contour trace and one ``go.Frame`` per step in which every run's whole path so far is redrawn.
The app never uses it (its charts are in ``app/charts/``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import plotly.graph_objects as go

from app.charts.player import frame_steps

if TYPE_CHECKING:
    from app.compute import Run, Surface


def frame_points(fig: go.Figure) -> tuple[int, int]:
    """Points of the first run's path in the first and in the last frame: the cumulative frames
    grow with the step (one point at step 0, every step's at the end)."""
    first, last = fig.frames[0], fig.frames[-1]
    return len(first.data[0].x), len(last.data[0].x)


def naive_cumulative_figure(
    surface: Surface, runs: Sequence[Run], max_frames: int | None = None
) -> go.Figure:
    """The common recipe, kept for the benchmark: a contour trace and one ``go.Frame`` per step in
    which every run's whole path so far is redrawn (O(steps²) data; the contour also vanishes
    while it plays). Do not use it in the app."""
    total = max((len(r.positions) - 1 for r in runs), default=0)
    steps = range(total + 1) if max_frames is None else frame_steps(total, total, max_frames)
    fig = go.Figure(
        go.Contour(x=surface.xs, y=surface.ys, z=surface.z, colorscale="Viridis", ncontours=30)
    )
    for run in runs:
        fig.add_trace(
            go.Scatter(
                x=run.positions[:1, 0], y=run.positions[:1, 1], mode="lines+markers", name=run.label
            )
        )
    fig.frames = [
        go.Frame(
            data=[
                go.Scatter(x=run.positions[: k + 1, 0], y=run.positions[: k + 1, 1]) for run in runs
            ],
            traces=list(range(1, len(runs) + 1)),
            name=str(k),
        )
        for k in steps
    ]
    fig.update_layout(
        updatemenus=[
            {
                "type": "buttons",
                "buttons": [
                    {
                        "label": "Play",
                        "method": "animate",
                        "args": [None, {"frame": {"duration": 50}}],
                    }
                ],
            }
        ]
    )
    return fig
