"""The status table: each run's state at the shown step, one row per run.

It plays with the contour (``layout.meta.player.table``): ``status_table`` gives the rows at each
of the player's steps, and ``app.plotly_view``'s player writes the rows of the shown step under
the chart, during playback too. Before the end of the race a row tells the loss at the step and
"running" (or "diverged at step k" once the step reaches k); at the end it tells the diagnosis:
the status, the minimum reached, the distance to it, the evaluations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .paths import update_index
from .style import colour, minimum_label, number_text, slot

if TYPE_CHECKING:  # plain data containers; importing them at runtime would pull in streamlit
    from ..compute import Point, Run

STATUS_COLUMNS = (
    "Optimizer",
    "Loss",
    "Distance to minimum",
    "Status",
    "Detail",
    "f / ∇f / H evals",
    "Effective lr (x, y)",
)
RUNNING = "running"  # the status of a run before the end of the race
NOTHING = "—"
# relative widths of the columns (the table takes the page's width; a cell's text wraps)
STATUS_WIDTHS = {
    "Optimizer": 1.6,
    "Loss": 1.0,
    "Distance to minimum": 1.0,
    "Status": 1.5,
    "Detail": 1.6,
    "f / ∇f / H evals": 1.0,
    "Effective lr (x, y)": 1.2,
}


def _effective_lr(run: Run, step: int) -> str:
    if not len(run.effective_lr):
        return NOTHING
    elr = np.asarray(run.effective_lr[update_index(run, step)], dtype=np.float64)
    if not np.isfinite(elr).any():
        return NOTHING
    return f"({number_text(elr[0])}, {number_text(elr[1])})"


def status_rows(
    runs: Sequence[Run], step: int, points: Sequence[Point], total: int
) -> list[dict[str, Any]]:
    """One row per run at ``step`` of a race of ``total`` steps, with the columns of
    ``STATUS_COLUMNS``.

    ``points`` are the surface's marked points (``Surface.points``): they name the minimum a run
    reached. Every cell is text: numbers with 4 significant digits (3 for the learning rates),
    "—" where there is nothing to show, "∞" for an infinite value. A run that diverged at step
    k reads "diverged at step k" from step k on. Before the end (``step < total``) the loss is the
    one at ``step`` and the status "running"; the distance, the detail and the evaluations are
    the whole run's, shown at the end. The effective learning rate is the one of the update shown
    at ``step``.
    """
    step = min(max(int(step), 0), total)
    end = step >= total
    rows = []
    for run in runs:
        diverged = f"diverged at step {run.diverged_at}" if 0 <= run.diverged_at <= step else None
        if end:
            status = (
                f"{run.status}: {minimum_label(points, run.minimum)}"
                if run.minimum >= 0
                else run.status or NOTHING
            )
            ev = run.evaluations
            evals = " / ".join(str(int(ev.get(k, 0))) for k in ("function", "gradient", "hessian"))
        else:
            status, evals = RUNNING, NOTHING
        loss = run.losses[min(step, len(run.losses) - 1)]
        values = (
            run.label,
            diverged or number_text(loss, 4),
            diverged or (number_text(run.distance, 4) if end else NOTHING),
            diverged or status,
            (run.detail or NOTHING) if end else NOTHING,
            evals,
            _effective_lr(run, step),
        )
        rows.append(dict(zip(STATUS_COLUMNS, values, strict=True)))
    return rows


def status_table(
    runs: Sequence[Run], steps: Sequence[int], points: Sequence[Point], total: int
) -> dict[str, Any]:
    """The status table as the player plays it (``layout.meta.player.table``): its columns,
    their relative widths, each run's colour, and the rows (lists of cells) at each of ``steps``
    (the player's steps, increasing): the player shows the rows of the last one at or before
    the shown step."""
    return {
        "columns": list(STATUS_COLUMNS),
        "widths": [STATUS_WIDTHS[c] for c in STATUS_COLUMNS],
        "colours": [colour(slot(run, i)) for i, run in enumerate(runs)],
        "steps": [int(s) for s in steps],
        "rows": [
            [list(row.values()) for row in status_rows(runs, s, points, total)] for s in steps
        ],
    }
