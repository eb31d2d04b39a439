"""The contour's player: which steps become frames, the legend names as the shown step moves, and
the spec (``layout.meta.player``) that ``app.plotly_view``'s client-side player reads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # plain data containers; importing them at runtime would pull in streamlit
    from ..compute import Run

# frames of the contour's player: each names every trace, and the browser re-reads them all at every
# update of the chart (a change of learning rate): 60 instead of 120 cut that update from about
# 1.2 s to 0.8 s in headless Chromium (bench/app_browser.py); the tail of 10 steps bridges the gap
MAX_FRAMES = 60
SPEEDS = (("0.5×", 200), ("1×", 100), ("2×", 50), ("4×", 25))  # label, milliseconds per frame


def frame_steps(total: int, step: int, max_frames: int) -> list[int]:
    """Steps that become animation frames: evenly spread over 0..total, with 0, ``total`` and
    ``step`` always included, at most ``max_frames`` (at least 2) of them, in increasing order."""
    max_frames = max(int(max_frames), 2)
    step = min(max(step, 0), total)
    if total + 1 <= max_frames:
        return list(range(total + 1))
    chosen = set(np.round(np.linspace(0, total, max_frames)).astype(int).tolist())
    if step not in chosen:
        inner = sorted(chosen - {0, total}, key=lambda s: abs(s - step))
        chosen.discard(inner[0])
        chosen.add(step)
    return sorted(chosen)


def legend_timeline(run: Run, total: int, sep: str = ": ") -> list[list[Any]]:
    """A run's legend name as the shown step moves: ``[[first step, name], ...]``. Its label
    until the step where something happens: "diverged at step k" from step k on, and its final
    status (converged, trapped, oscillating, …) once the step reaches the end ``total``; so the
    legend never tells the end of the race before the race gets there. ``sep`` joins the label
    and the state (``"<br>"``: on a line of its own)."""
    names: list[list[Any]] = [[0, run.label]]
    if run.diverged_at >= 0:
        names.append([int(run.diverged_at), f"{run.label}{sep}diverged at step {run.diverged_at}"])
    elif total > 0:
        names.append([total, f"{run.label}{sep}{run.status}"])
    return names


def name_at(names: Sequence[Sequence[Any]], step: int) -> str:
    """The name of a ``legend_timeline`` at ``step``."""
    return str([name for first, name in names if first <= step][-1])


def player_spec(
    total: int,
    step: int,
    paths: list[int],
    legend: list[Any],
    events: list[Any] | None = None,
    labels: list[int] | None = None,
    table: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The player's spec (``layout.meta.player``) that ``app.plotly_view``'s client-side player
    reads: the last step ``total``, the shown ``step``, the indices of the path traces it draws
    up to the shown step, each run's ``legend_timeline``, the events, the speeds, and, where the
    player's steps are recorded points rather than steps (a network's), the step each one
    shows (``labels``; the spec may add ``unit``, the word before them, default "step");
    ``table``: the status table it writes under the chart at the shown
    step (``charts.status.status_table``)."""
    spec = {
        "total": total,
        "step": step,
        "paths": paths,
        "legend": legend,
        "events": events or [],
        "frame_ms": SPEEDS[1][1],
        "speeds": [[label, ms] for label, ms in SPEEDS],
    }
    if labels is not None:
        spec["labels"] = labels
    if table is not None:
        spec["table"] = table
    return spec
