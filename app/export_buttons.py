"""The explorer's export buttons: each file is made only when its button is clicked."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app import compute, exports
from app.state import AppState


def export_buttons(
    state: AppState,
    surface: compute.Surface,
    runs: list[compute.Run],
    contour: Any,
    log_colour: bool,
) -> None:
    """Download buttons; each file is made only when its button is clicked (deferred data)."""
    name = f"optiscape-{state.landscape}"
    st.caption(
        "Every file carries the link that reproduces this view. PNG of any chart: the camera "
        "button of the chart's toolbar. No MP4: no video encoder is installed."
    )
    files = [
        (
            "Animated figure (HTML, plays offline)",
            f"{name}.html",
            "text/html",
            lambda: exports.html_bytes(contour, title=f"optiscape: {surface.name}"),
        ),
        (
            "Race (animated GIF)",
            f"{name}.gif",
            "image/gif",
            lambda: exports.gif_bytes(surface, runs, log_colour=log_colour),
        ),
        (
            "Trajectories (CSV)",
            f"{name}-trajectories.csv",
            "text/csv",
            lambda: exports.trajectories_csv(state, runs),
        ),
        (
            "Trajectories (JSON)",
            f"{name}-trajectories.json",
            "application/json",
            lambda: exports.trajectories_json(state, runs),
        ),
        (
            "Surface grid (NPZ)",
            f"{name}-surface.npz",
            "application/octet-stream",
            lambda: exports.surface_npz(state, surface),
        ),
    ]
    columns = st.columns(len(files))
    for column, (label, file_name, mime, make) in zip(columns, files, strict=True):
        column.download_button(
            label,
            data=make,
            file_name=file_name,
            mime=mime,
            on_click="ignore",
            disabled=not runs and file_name.endswith(("gif", "csv", "json")),
            key=f"export_{file_name}",
            width="stretch",
        )
