"""Cached calls into the tuning engine for the search page; results are numpy-only containers.

Arguments are plain values (a ``SearchState`` is a frozen dataclass of tuples and numbers, which
Streamlit hashes), so the same settings are computed once per server. No maths happens here.
"""

from __future__ import annotations

import streamlit as st

from optimizers import tuning

from .search_state import SearchState

RESOLUTION = 41  # dense-map samples per axis: 1681 runs in one batched call
NETWORK_RESOLUTION = 15  # network problems: 225 trainings in one batched call


def resolution_for(state: SearchState) -> int:
    """The dense map's samples per axis: coarser for network problems (each is a training)."""
    return NETWORK_RESOLUTION if state.kind == "network" else RESOLUTION


@st.cache_data(show_spinner=False, max_entries=32)
def dense(state: SearchState, resolution: int = RESOLUTION) -> tuning.DenseObjective:
    """The objective on a ``resolution`` x ``resolution`` grid of the space (one batched run)."""
    return tuning.dense_objective(state.problem(), state.space(), resolution)


@st.cache_data(show_spinner=False, max_entries=32)
def searches(state: SearchState) -> dict[str, tuning.SearchResult]:
    """Every searcher of ``state`` with its budget and seed, run in lockstep."""
    return tuning.run_searches(
        state.problem(), state.space(), state.searchers, state.budget, state.seed, state.batch
    )


@st.cache_data(show_spinner=False)
def objective_text(state: SearchState) -> str:
    """The objective in words."""
    return state.problem().objective_text()
