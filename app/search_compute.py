"""Cached calls into the tuning engine for the search page; results are numpy-only containers.

Arguments are plain values (a ``SearchState`` is a frozen dataclass of tuples and numbers, which
Streamlit hashes), so the same settings are computed once per server, in the heavy pool
(``app.shared_work.heavy``), and the one result is shared by every session
(``st.cache_resource``: read it, never change it). No maths happens here.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from optimizers import cost
from studies import tuning

from .search_state import SearchState
from .shared_work import heavy, replica_shared
from .surfaces import landscape_for

RESOLUTION = 41  # dense-map samples per axis: 1681 runs in one batched call
MIN_RESOLUTION = 11  # the coarsest dense map shown above the compute budget
NETWORK_RESOLUTION = 15  # network problems: 225 trainings in one batched call


def resolution_for(state: SearchState) -> int:
    """The dense map's samples per axis: coarser for network problems (each is a training)."""
    return NETWORK_RESOLUTION if state.kind == "network" else RESOLUTION


@st.cache_resource(show_spinner=False, max_entries=32)
@replica_shared("search_compute.dense")
def dense(state: SearchState, resolution: int = RESOLUTION) -> tuning.DenseObjective:
    """The objective on a ``resolution`` x ``resolution`` grid of the space (one batched run,
    in the heavy pool). One object shared by every session: read-only."""
    return heavy(tuning.dense_objective, state.problem(), state.space(), resolution)


@st.cache_resource(show_spinner=False, max_entries=32)
@replica_shared("search_compute.searches")
def searches(state: SearchState) -> dict[str, tuning.SearchResult]:
    """Every searcher of ``state`` with its budget and seed, run in lockstep (in the heavy
    pool). One object shared by every session: read-only."""
    return heavy(
        tuning.run_searches,
        state.problem(),
        state.space(),
        state.searchers,
        state.budget,
        state.seed,
        state.batch,
    )


@st.cache_data(show_spinner=False)
def objective_text(state: SearchState) -> str:
    """The objective in words."""
    return state.problem().objective_text()


# --- cost: what a view asks for against the budget (``app.budget``) -------------------------------


def seconds(state: SearchState, resolution: int) -> float | None:
    """Estimated seconds of ``dense`` at ``resolution`` and ``searches`` of a surface problem
    (``optimizers.cost.search_seconds``); None for a network problem (not estimated: its sizes
    are bounded by the page's own limits)."""
    if state.kind == "network":
        return None
    return cost.search_seconds(
        landscape_for(state.landscape, state.landscape_params),
        state.optimizer,
        state.steps,
        resolution=resolution,
        searchers=state.searchers,
        budget=state.budget,
        batch=state.batch,
    )


def setting(state: SearchState, resolution: int, budget: float) -> tuple[SearchState, int]:
    """(state, resolution) to compute within ``budget`` seconds: the asked ones when they fit
    (or are not estimated); else the most trials per searcher that fit; else one trial and the
    finest dense map that fits (down to ``MIN_RESOLUTION``)."""
    asked = seconds(state, resolution)
    if asked is None or asked <= budget:
        return state, resolution
    trials = cost.largest_within(
        lambda n: seconds(replace(state, budget=n), resolution), budget, 1, state.budget
    )
    if trials is not None:
        return replace(state, budget=trials), resolution
    one = replace(state, budget=1)
    finest = cost.largest_within(lambda r: seconds(one, r), budget, MIN_RESOLUTION, resolution)
    return one, finest or MIN_RESOLUTION
