"""optiscape: pick a loss surface and some optimizers, and see where each one goes.

Run with ``optiscape`` or ``streamlit run app/main.py``. This page is the skeleton of the explorer:
one landscape, several optimizers with the engine's default hyperparameters, their paths over the
contour and a table of where each run ended.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from app import compute, figures

T = TypeVar("T")
DEFAULT_LANDSCAPE = "rosenbrock"


def engine_call(what: str, fn: Callable[..., T], *args: Any) -> T:
    """Call the engine; on any error show it as a message (never a traceback) and stop the run."""
    try:
        return fn(*args)
    except Exception as exc:
        st.error(f"Could not {what}: {exc}")
        st.stop()
        raise  # unreachable: st.stop() ends the script run


def landscape_ui(catalog: dict[str, tuple[str, str]]) -> str:
    """The landscape select box, labelled "group / name"; returns the chosen key."""
    keys = list(catalog)
    index = keys.index(DEFAULT_LANDSCAPE) if DEFAULT_LANDSCAPE in keys else 0
    return st.selectbox(
        "Landscape",
        keys,
        index=index,
        format_func=lambda key: f"{catalog[key][0]} / {catalog[key][1]}",
        key="landscape",
    )


def optimizers_ui(titles: dict[str, str]) -> list[str]:
    """The optimizer multiselect (default: those of DEFAULT_OPTIMIZERS that exist)."""
    return st.multiselect(
        "Optimizers",
        list(titles),
        default=[name for name in compute.DEFAULT_OPTIMIZERS if name in titles],
        format_func=lambda name: titles[name],
        key="optimizers",
        help="Each runs with its default hyperparameters (torch.optim's, where torch has it).",
    )


def steps_ui() -> int:
    """The number of optimisation steps."""
    return st.slider("Steps", min_value=10, max_value=1000, value=300, step=10, key="steps")


def log_colour_ui(surface: compute.Surface) -> bool:
    """Log colour scale switch; its default is the landscape's own suggestion."""
    return st.toggle(
        "Log colour scale",
        value=surface.log_scale,
        key=f"log_colour_{surface.key}",
        help="Colour by log10(f − min): shows the floor of surfaces with steep walls.",
    )


def status_table(race: compute.Race) -> None:
    """One row per optimizer: label, final loss, status and the diagnosis' explanation."""
    st.dataframe(
        {
            "Optimizer": list(race.labels),
            "Final loss": [float(v) for v in race.final_losses],
            "Status": list(race.statuses),
            "Detail": list(race.details),
        },
        hide_index=True,
        width="stretch",
        column_config={
            "Final loss": st.column_config.NumberColumn(format="%.4g"),
            "Detail": st.column_config.TextColumn(width="large"),
        },
    )


def page() -> None:
    st.set_page_config(page_title="optiscape", layout="wide")
    catalog = engine_call("list the landscapes", compute.catalog)
    titles = engine_call("list the optimizers", compute.optimizer_titles)

    with st.sidebar:
        st.title("optiscape")
        key = landscape_ui(catalog)
        chosen = optimizers_ui(titles)
        steps = steps_ui()
    surface = engine_call(f"sample landscape {key!r}", compute.surface, key)
    with st.sidebar:
        log_colour = log_colour_ui(surface)
        st.divider()
        device = engine_call("find the compute device", compute.device_name)
        st.caption(f"Engine device: **{device}** (torch)")

    st.subheader(surface.name)
    st.info(surface.notice or "No notes for this surface yet.")

    race = None
    if chosen:
        race = engine_call(
            f"run {', '.join(chosen)} on {surface.name}", compute.race, key, tuple(chosen), steps
        )
    fig = figures.race_figure(surface, race, log_colour=log_colour)
    st.plotly_chart(fig, width="content", config={"displaylogo": False})

    if race is None:
        st.warning("Pick at least one optimizer in the sidebar to see its path.")
        return
    x0, y0 = surface.start
    st.caption(
        f"{steps} steps from ({x0:.4g}, {y0:.4g}), each optimizer with its default "
        "hyperparameters. Hover over a path to read its steps."
    )
    status_table(race)


page()
