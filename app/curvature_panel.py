"""The explorer's curvature and stability panel: "why does it oscillate?" with a visible answer.

At step ``k`` of each run: the Hessian's eigenvalues and eigenvectors (a table, and trace dicts
drawing the axes on the contour), the local condition number, and the engine's stability verdict
for the run's own method (``studies.analysis.stability_verdict``, by the family the optimizer
declares): 2/lambda_max for gradient descent, (2 + 2 beta)/lambda_max for heavy-ball momentum,
(2 + 2 beta)/((1 + 2 beta) lambda_max) for Nesterov's, 0 < lr < 2 for Newton, none for the
adaptive and quasi-Newton methods. This module only renders those statements. On a quadratic surface, a learning-rate x momentum map
of the convergence rate of heavy-ball momentum, or Nesterov's when the optimizer a click sets is
a Nesterov run, with the settings of that family marked; a click on the map picks a setting.

Wiring in ``app/views/explorer.py`` (three calls):

1. at the top of ``render()``, before the sidebar draws its widgets::

       pick = curvature_panel.take_pick()
       if pick is not None:   # a click on the rate map in the previous run
           eid = ss.entry_ids[pick.index]
           ss[wkey(eid, "lr")] = pick.lr
           if pick.momentum is not None:
               ss[wkey(eid, "momentum")] = pick.momentum

2. on the contour figure, the eigen-axes (a copy of the figure dict: it is shared with caches)::

       extra = curvature_panel.curvature_traces(surface, runs, player_steps(fig), state)
       fig = with_moving_traces(fig, extra)  # they move with the player

3. below the status table: ``curvature_panel.curvature_panel(surface, runs, k, state)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import streamlit as st

import optimizers
from studies.analysis import StabilityVerdict, stability_verdict

from . import diagnostic_compute
from .charts import diagnostics as diagnostic_charts
from .charts.style import colour, slot
from .compute import Run, Surface
from .diagnostic_state import custom_values
from .plotly_view import clicked, plotly_view
from .state import AppState

PICK_KEY = "curvature_pick"  # session key of a click on the rate map, until take_pick reads it
MAP_KEY = "curvature_rate_map"  # the rate map chart's widget key
TARGET_KEY = "curvature_target"  # which optimizer a click sets
AXIS_FRACTION = 0.08  # eigen-axis segments span this fraction of the domain diagonal


@dataclass(frozen=True)
class RatePick:
    """A setting picked on the rate map: optimizer ``index`` of the scene, its lr and momentum
    (None for gradient descent, which has no momentum)."""

    index: int
    lr: float
    momentum: float | None


def _points(runs: Sequence[Run], steps: Sequence[int]) -> np.ndarray:
    """Each run's position at each of ``steps``: (len(steps) * len(runs), 2), step-major."""
    return np.array(
        [r.positions[min(k, len(r.positions) - 1)] for k in steps for r in runs], dtype=np.float64
    ).reshape(-1, 2)


def _curvature(surface: Surface, runs: Sequence[Run], steps: Sequence[int], state: AppState):
    pts = _points(runs, steps)
    safe = tuple(
        (float(x), float(y)) if np.isfinite([x, y]).all() else (float("nan"), float("nan"))
        for x, y in pts
    )
    finite = [p for p in safe if np.isfinite(p).all()]
    if not finite:
        return pts, None
    curv = diagnostic_compute.curvature(state.landscape, state.engine_params(), safe)
    return pts, curv


def _beta(state: AppState, i: int) -> float:
    """The momentum of optimizer i when it runs SGD's rule (heavy-ball or Nesterov), else 0."""
    if i >= len(state.optimizers):
        return 0.0
    e = state.optimizers[i]
    return float(e.values.get("momentum", 0.0)) if optimizers.get(e.name).has_momentum else 0.0


def _nesterov(state: AppState, i: int) -> bool:
    """Whether optimizer i runs Nesterov momentum."""
    return i < len(state.optimizers) and bool(state.optimizers[i].values.get("nesterov"))


def _verdict(
    state: AppState, i: int, run: Run, k: int, eigenvalues: np.ndarray
) -> StabilityVerdict:
    """The engine's stability statement for run i at step k (its method, its status)."""
    entry = state.optimizers[i] if i < len(state.optimizers) else None
    values = entry.values if entry is not None else {}
    factor = 1.0
    if entry is not None and "lr" in values:
        factor = float(entry.schedule.factors(float(values["lr"]), k + 1)[k])
    row = run.effective_lr[min(k, len(run.effective_lr) - 1)] if len(run.effective_lr) else None
    return stability_verdict(
        run.name, values, eigenvalues, status=run.status, effective_lr=row, lr_factor=factor
    )


def curvature_traces(
    surface: Surface, runs: Sequence[Run], steps: Sequence[int], state: AppState
) -> dict[int, list[dict]]:
    """Plotly trace dicts of each run's Hessian eigen-axes at each of ``steps`` (the contour
    player's: ``contour.player_steps``), two per run at every step, for ``with_moving_traces``;
    {} when there is nothing to draw."""
    if not runs or not steps:
        return {}
    pts, curv = _curvature(surface, runs, list(steps), state)
    if curv is None:
        return {}
    (x0, x1), (y0, y1) = surface.domain
    length = AXIS_FRACTION * float(np.hypot(x1 - x0, y1 - y0))
    labels = [r.label for r in runs]
    colours = [colour(slot(r, i)) for i, r in enumerate(runs)]
    n = len(runs)
    return {
        int(k): diagnostic_charts.eigen_axes_traces(
            pts[j * n : (j + 1) * n],
            curv.eigenvalues[j * n : (j + 1) * n],
            curv.eigenvectors[j * n : (j + 1) * n],
            labels,
            length,
            colours,
        )
        for j, k in enumerate(steps)
    }


def take_pick() -> RatePick | None:
    """The setting clicked on the rate map in the previous run, once (then forgotten)."""
    return st.session_state.pop(PICK_KEY, None)


def _on_map_click() -> None:
    ss = st.session_state
    custom = custom_values(clicked(MAP_KEY) or {})
    target = ss.get(TARGET_KEY)
    if len(custom) >= 2 and target is not None:
        index, name = target
        momentum = None if name == "gd" else float(custom[1])
        ss[PICK_KEY] = RatePick(int(index), float(custom[0]), momentum)


def curvature_panel(
    surface: Surface, runs: Sequence[Run], k: int, state: AppState
) -> RatePick | None:
    """Draw the panel for step ``k``; return the rate-map setting clicked (if any; it is also
    kept for ``take_pick`` so the page can apply it before its widgets are drawn next run)."""
    st.subheader("Curvature and stability")
    if not runs:
        return None
    pts, curv = _curvature(surface, runs, [k], state)
    if curv is None:
        st.info("Every run has left the surface: no curvature to show.")
        return None
    verdicts = [_verdict(state, i, r, k, curv.eigenvalues[i]) for i, r in enumerate(runs)]
    rows = diagnostic_charts.curvature_rows([r.label for r in runs], pts, curv, verdicts)
    st.dataframe(
        rows,
        hide_index=True,
        placeholder="—",  # a missing value reads as a dash, not "None"
        width="stretch",
        column_config={
            n: st.column_config.TextColumn(width="small")
            for n in ("λ_min", "λ_max", "Condition", "Critical step", "Current step")
        },
    )
    st.caption(
        f"At step {k}: the Hessian's eigenvalues λ are the curvatures along its eigenvectors (the "
        "axes drawn on the contour: steep solid, flat dotted); the condition number λ_max/λ_min "
        "says how much slower the flat axis is. Each run is held to the stability limit of its own "
        "method on this point's quadratic model: lr < 2/λ_max for gradient descent, "
        "(2+2β)/λ_max for heavy-ball momentum β, (2+2β)/((1+2β)λ_max) for Nesterov's; Newton "
        "divides by the curvature (stable for 0 < lr < 2 where the Hessian is positive definite); "
        "adaptive and quasi-Newton methods rescale each axis as they go, so no λ_max limit "
        "applies to them. A converged run is never said to overshoot."
    )
    for r in runs:
        if r.status in ("oscillating", "trapped", "diverged"):
            st.markdown(f"**{r.label}** — {r.status}: {r.detail}.")

    theory = diagnostic_compute.quadratic_theory(state.landscape, state.engine_params())
    if theory is None:
        return None
    lo, hi = theory.gd_critical_lr / 100.0, theory.gd_critical_lr * 2.5
    targets = [
        (i, e.name)
        for i, e in enumerate(state.optimizers[: len(runs)])
        if optimizers.get(e.name).uses_sgd_rule  # SGD's rule: the rate maps are theirs
    ]
    if targets:
        labels = {t: runs[t[0]].label for t in targets}
        target = st.selectbox(
            "A click on the map sets", targets, key=TARGET_KEY, format_func=labels.get
        )
    else:
        target = None
    # the map of the optimizer a click sets: Nesterov's when it is a Nesterov run
    on_nesterov = target is not None and _nesterov(state, target[0])
    rate_map = diagnostic_compute.rate_map(
        state.landscape, state.engine_params(), lo, hi, nesterov=on_nesterov
    )
    current = [
        (runs[i].label, float(runs[i].lr), _beta(state, i))
        for i, _ in targets
        if np.isfinite(runs[i].lr) and _nesterov(state, i) == on_nesterov
    ]
    family = "Nesterov" if on_nesterov else "Heavy-ball"
    best = (
        "its best setting is marked on the map"
        if on_nesterov
        else f"best: lr {theory.momentum_optimal_lr:.3g}, β {theory.momentum_optimal_beta:.3f} "
        f"(rate {theory.momentum_optimal_rate:.3f})"
    )
    st.markdown(
        f"**{family} momentum on this quadratic** (λ = {theory.lambda_min:.3g}, "
        f"{theory.lambda_max:.3g}): convergence rate per step over learning rate and momentum β; "
        f"{best}, against {theory.gd_optimal_rate:.3f} for gradient descent at its best step."
    )
    fig = diagnostic_charts.rate_map_figure(rate_map, current=current, theory=theory)
    plotly_view(
        fig,
        MAP_KEY,
        on_click=_on_map_click if targets else None,
    )
    bound = "(2+2β)/((1+2β)λ_max)" if on_nesterov else "(2+2β)/λ_max"
    st.caption(
        "Colour: the factor by which the error shrinks per step (smaller is faster); grey: "
        "diverges; inside the dotted white line the iterate oscillates (complex or negative "
        f"eigenvalues of the iteration matrix); red: lr = {bound}. Pick a Nesterov run above to "
        "see Nesterov's map, a heavy-ball one for heavy-ball's."
    )
    return st.session_state.get(PICK_KEY)
