"""Warm-up: the lessons and the default views are computed in the background when the server
starts, so that the first student of a class finds them ready.

``start()`` is called by the app's router on every page run; the first call of the process
starts one daemon thread and returns at once (the first request is not delayed); later calls do
nothing. The thread computes, through the pages' own cached engine calls (so what it computes is
what the pages then find), the explorer's default scene and every explorer lesson (surface, runs
and figures: a few seconds of CPU); with ``all``, also the default sweep and basin maps, every
network lesson and the network page's default view, the search page's default searches and
the deep-learning page's three default views, its lessons (about a minute of CPU on 2 cores), each only where it fits the compute budget, as the page
would.

    OPTISCAPE_WARMUP=1     the explorer's scenes: what ``optiscape`` and ``optiscape serve`` set
                           unless it is set
    OPTISCAPE_WARMUP=all   every page's default views too: for a server that starts well before
                           its class (measured on 2 cores: a class arriving while the heavy pages
                           warm up waits several times longer, bench/classroom.py)
    OPTISCAPE_WARMUP=0     off: the default elsewhere (``streamlit run``, the test suite's AppTest)

A failure is logged and ends the warm-up; the pages then compute their views themselves.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when the warm-up runs: starting it costs the first request nothing
    from app.deep_state import DeepState
    from app.lessons import Lesson
    from app.network_state import NetworkState
    from app.state import AppState

ENV = "OPTISCAPE_WARMUP"

_started = threading.Lock()
_thread: threading.Thread | None = None
_log = logging.getLogger(__name__)


def level() -> str:
    """What the server warms up: "off", "explorer" (``OPTISCAPE_WARMUP=1``) or "all"."""
    value = os.environ.get(ENV, "0").strip().lower()
    if value == "all":
        return "all"
    return "explorer" if value in ("1", "true", "yes", "on") else "off"


def enabled() -> bool:
    """Whether the server warms up (``OPTISCAPE_WARMUP`` 1 or all; off when unset)."""
    return level() != "off"


def start(force: bool = False) -> bool:
    """Start the warm-up thread once per process where it is ``enabled()`` (or ``force``);
    returns whether this call started it."""
    global _thread
    if not (force or enabled()) or not _started.acquire(blocking=False):
        return False
    _thread = threading.Thread(target=_run, name="optiscape-warmup", daemon=True)
    _thread.start()
    return True


def wait(timeout: float | None = None) -> None:
    """Block until the warm-up thread (if one was started) has finished (tests, benchmarks)."""
    if _thread is not None:
        _thread.join(timeout)


def steps(every_page: bool | None = None) -> list[tuple[str, Callable[[], None]]]:
    """What the warm-up computes, in order: (what, function); cheap and likely views first.
    ``every_page`` (default: ``level() == "all"``) adds the other pages' default views."""
    from app import lessons
    from app.deep_state import DeepState
    from app.network_state import NetworkState

    out: list[tuple[str, Callable[[], None]]] = [
        ("the explorer's default scene", _explorer_default)
    ]
    for lesson in lessons.EXPLORER_LESSONS:
        out.append((f"lesson {lesson.id}", lambda lesson=lesson: _explorer_lesson(lesson)))
    if not (level() == "all" if every_page is None else every_page):
        return out
    out += [("the default sweep", _sweep), ("the default basin maps", _basins)]
    for lesson in lessons.LESSONS:
        if isinstance(lesson.state, NetworkState):
            out.append((f"lesson {lesson.id}", lambda s=lesson.state: _network(s)))
    out += [("the network page's default view", lambda: _network(NetworkState()))]
    out += [("the search page's default searches", _search)]
    for lesson in lessons.LESSONS:  # each is its view's default: the page's three default views
        if isinstance(lesson.state, DeepState):
            out.append((f"lesson {lesson.id}", lambda s=lesson.state: _deep(s)))
    return out


def _run() -> None:
    for what, compute in steps():
        try:
            compute()
        except Exception:  # a background thread has nobody to raise to
            _log.exception("warm-up: computing %s failed; the warm-up stops", what)
            return
    _log.info("warm-up done")


# --- the views, computed as their pages compute them ------------------------------------------------


def _explorer(state: AppState) -> None:
    from app import budget, compute
    from app.charts.contour import contour_figure
    from app.charts.explorer import curves_figure

    surface = compute.surface(state.landscape, state.engine_params())
    params, entries = state.engine_params(), state.optimizers
    steps = state.steps
    if compute.runs_seconds(state.landscape, params, entries, steps) > budget.budget_seconds():
        steps = compute.runs_steps(state.landscape, params, entries, steps, budget.budget_seconds())
    runs = compute.runs(state.landscape, params, entries, state.start_point(), steps, state.seed)
    runs = compute.in_scene(runs, state)
    log_colour = state.log_colour if state.log_colour is not None else surface.log_scale
    k = min(state.shown_step(), steps)
    contour_figure(surface, runs, k, log_colour=log_colour, arrows=state.show_arrows)
    if state.show_curves and runs:
        curves_figure(runs, k)


def _explorer_default() -> None:
    from app.state import AppState

    _explorer(AppState())


def _explorer_lesson(lesson: Lesson) -> None:
    from app import explorer_link

    state, _ = explorer_link.from_query(lesson.query(play=True))  # as its link opens it
    _explorer(state)


def _sweep() -> None:
    from app import budget, diagnostic_compute
    from app.diagnostic_state import SweepState

    state = SweepState()
    scene = state.scene
    args = (scene.landscape, scene.engine_params(), scene.optimizers)
    if diagnostic_compute.sweep_seconds(*args, state.count, scene.steps) > budget.budget_seconds():
        return
    diagnostic_compute.sweep(
        *args,
        scene.start_point(),
        scene.steps,
        scene.seed,
        state.lr_low,
        state.lr_high,
        state.count,
        state.objective,
    )


def _basins() -> None:
    from app import budget, diagnostic_compute
    from app.diagnostic_state import BasinState

    state = BasinState()
    scene = state.scene
    args = (scene.landscape, scene.engine_params(), scene.optimizers)
    if diagnostic_compute.basins_seconds(*args, state.grid, scene.steps) > budget.budget_seconds():
        return
    for entry in scene.optimizers:
        diagnostic_compute.basin_map(
            scene.landscape, scene.engine_params(), entry, state.grid, scene.steps, scene.seed
        )


def _network(asked: NetworkState) -> None:
    from app import budget
    from app import network_compute as compute

    plan = compute.plan(asked, budget.budget_seconds())
    if not plan.fits:
        return
    state = plan.state
    training = compute.training(state)
    if (training.diverged_at >= 0).all():
        return
    compute.plane_view(state)
    compute.interpolation(compute.train_key(state))
    if plan.curvature:
        compute.curvature(compute.train_key(state), compute.centre_run(state))


def _deep(asked: DeepState) -> None:
    from app import budget
    from app import deep_compute as compute

    plan = compute.plan(asked, budget.budget_seconds())
    if plan.fits:
        {"gradients": compute.gradients_of, "eos": compute.eos_of, "batch": compute.batch_of}[
            plan.state.view
        ](plan.state)


def _search() -> None:
    from app import budget
    from app import search_compute as compute
    from app.search_state import SearchState
    from app.state import AppState

    # a session that opens the page first, and one that comes from the explorer's default scene
    for asked in dict.fromkeys([SearchState(), SearchState.from_scene(AppState())]):
        asked.check()
        state, res = compute.setting(asked, compute.resolution_for(asked), budget.budget_seconds())
        compute.dense(state.map_key(), res)
        compute.searches(state)
