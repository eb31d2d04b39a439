"""The compute budget of one view: a server setting, and the message a page shows above it.

Every page estimates the work of the view it is asked for with the engine's cost model
(``optimizers.cost``, ``landscapes.network.cost``); above the budget it computes the largest
setting within it instead and says so. The budget is the environment variable
``OPTISCAPE_BUDGET_S`` (seconds, default 10: about 10 s of compute on a 2-core machine); a
bigger server raises it. It is read on every call, so a test can set it.
"""

from __future__ import annotations

import logging
import os

import streamlit as st

ENV = "OPTISCAPE_BUDGET_S"
DEFAULT_S = 10.0


def budget_seconds() -> float:
    """The budget in seconds: ``OPTISCAPE_BUDGET_S`` when it is a positive number, else 10."""
    raw = os.environ.get(ENV)
    if raw is None:
        return DEFAULT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0 or value != value or value == float("inf"):
        logging.getLogger(__name__).warning(
            "%s=%r is not a positive number; using %g s", ENV, raw, DEFAULT_S
        )
        return DEFAULT_S
    return value


def report(asked: str, estimate: float, shown: str, shown_estimate: float) -> None:
    """The page's message above the budget: what was asked (words built from parsed numbers,
    never the link's text) and its estimated time, the budget, and what is shown instead with
    its estimate."""
    st.warning(
        f"**Over the compute budget.** {asked} would take about {estimate:.0f} s on this server; "
        f"the budget is {budget_seconds():g} s a view. Showing {shown} instead (about "
        f"{shown_estimate:.1f} s). The link keeps the settings asked for: a server with a larger "
        f"budget ({ENV}) computes them.",
        icon=":material/timer:",
    )
