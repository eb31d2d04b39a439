"""Presenter mode and the link builder: what a lecture-hall projector and a student's link show.

``restyle`` takes a finished figure (from ``app.charts``) and returns a copy for a projector:
larger type, lines twice as thick, bigger markers, and a light or dark theme. Run colours stay
Okabe & Ito's colour-blind-safe palette (``app.charts.style.OKABE_ITO``); on the dark theme its black
becomes white where it is drawn on the dark background (the curves; not over the light surface). The figure's traces and frames are not rebuilt (frames
carry only positions), so playback in the browser works as before. Nothing here computes.

``link_builder`` draws the widgets a teacher uses to choose which controls a student sees
(``hide``), sees but cannot change (``lock``), and presenter mode; it returns the state to link.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from dataclasses import replace
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from .charts.runtime import RawFigure
from .state import CONTROLS, THEMES, AppState

FONT_SCALE = 1.2  # every font size in the figure, and its pixel size and margins with them
MIN_FONT = 20  # the figure's base font in presenter mode
LINE_SCALE = 2.0  # line widths
MARKER_SCALE = 1.4  # marker sizes
DEFAULT_LINE = 2.0  # Plotly's default scatter line width, doubled when a trace sets none
THEME_COLOURS = {
    "light": {"paper": "#ffffff", "plot": "#ffffff", "text": "#000000", "grid": "#d0d0d0"},
    "dark": {"paper": "#0e1117", "plot": "#0e1117", "text": "#f5f5f5", "grid": "#4a4a4a"},
}
_SWAP_DARK = {"#000000": "#ffffff", "black": "#ffffff"}  # black runs become white on dark

_CACHE: OrderedDict[tuple[int, str], tuple[Any, Any]] = OrderedDict()
_CACHE_SIZE = 32


def restyle(fig: go.Figure, theme: str = "light") -> RawFigure:
    """A presenter copy of ``fig``: fonts x1.2 (at least 20 px) and the figure's pixel size and
    margins with them (so the larger text still fits), lines x2, markers x1.4, the
    theme's background and text colours, black traces white on the dark theme. ``fig`` itself is
    not changed; the same figure object gives the same restyled object (so Streamlit does not
    redraw the chart and stop its animation on every rerun)."""
    if theme not in THEMES:
        raise ValueError(f"theme must be one of {', '.join(THEMES)}, got {theme!r}")
    # a RawFigure's builders hand out new wrappers around one shared dict: key on the dict
    source_obj = fig.figure if isinstance(fig, RawFigure) else fig
    key = (id(source_obj), theme)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is source_obj:
        _CACHE.move_to_end(key)
        return hit[1]
    source = fig.to_dict()
    out = {k: v for k, v in source.items() if k not in ("data", "layout")}
    data = source.get("data", [])
    # black runs turn white on the dark background, but not over the light surface image or a
    # 3-D surface, where black stays the visible choice
    swap = (
        theme == "dark"
        and not source.get("layout", {}).get("images")
        and not any(t.get("type") == "surface" for t in data)
    )
    text = THEME_COLOURS[theme]["text"]
    out["data"] = [_trace(t, swap, text) for t in data]
    out["layout"] = _layout(copy.deepcopy(source.get("layout", {})), theme)
    result = RawFigure(out)
    _CACHE[key] = (source_obj, result)  # holding it keeps its id from being reused
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return result


def _trace(trace: dict[str, Any], swap: bool, text: str) -> dict[str, Any]:
    t = dict(trace)
    kind = t.get("type", "scatter")
    if "line" in t or kind in ("scatter", "scatter3d", "scattergl"):
        line = dict(t.get("line") or {})
        width = line.get("width", DEFAULT_LINE)
        if isinstance(width, int | float):
            line["width"] = width * LINE_SCALE
        if swap and isinstance(line.get("color"), str):
            line["color"] = _SWAP_DARK.get(line["color"].lower(), line["color"])
        t["line"] = line
    if isinstance(t.get("marker"), dict):
        marker = dict(t["marker"])
        size = marker.get("size")
        if isinstance(size, int | float):
            marker["size"] = size * MARKER_SCALE
        elif isinstance(size, list):
            marker["size"] = [s * MARKER_SCALE if isinstance(s, int | float) else s for s in size]
        if swap and isinstance(marker.get("color"), str):
            marker["color"] = _SWAP_DARK.get(marker["color"].lower(), marker["color"])
        if isinstance(marker.get("colorbar"), dict):  # its labels sit on the page background
            bar = copy.deepcopy(marker["colorbar"])
            bar.setdefault("tickfont", {})["color"] = text
            if isinstance(bar.get("title"), dict):
                bar["title"].setdefault("font", {})["color"] = text
            marker["colorbar"] = bar
        t["marker"] = marker
    return t


def _scale_fonts(node: Any, seen: set[int] | None = None) -> None:
    """Multiply every ``font.size`` (and ``tickfont`` / ``titlefont`` sizes) in place, each font
    dict once (figure builders share one dict between several axes)."""
    seen = set() if seen is None else seen
    if isinstance(node, dict):
        for key, value in node.items():
            font = key.endswith("font") and isinstance(value, dict) and id(value) not in seen
            if font and isinstance(value.get("size"), int | float):
                seen.add(id(value))
                value["size"] = round(value["size"] * FONT_SCALE, 1)
            _scale_fonts(value, seen)
    elif isinstance(node, list):
        for item in node:
            _scale_fonts(item, seen)


def _scale(value: Any) -> Any:
    return round(value * FONT_SCALE) if isinstance(value, int | float) else value


def _scale_pixels(layout: dict[str, Any]) -> None:
    """Scale what is measured in pixels (size, margins, legend entries, paddings) with the fonts;
    positions in paper fractions then keep their places."""
    for key in ("width", "height"):
        layout[key] = _scale(layout.get(key))
    for key in ("margin",):
        if isinstance(layout.get(key), dict):
            layout[key] = {k: _scale(v) for k, v in layout[key].items()}
    legend = layout.get("legend")
    if isinstance(legend, dict):
        for key in ("entrywidth", "maxheight"):
            if key in legend and legend.get("entrywidthmode", "pixels") == "pixels":
                legend[key] = _scale(legend[key])
    for item in [*(layout.get("updatemenus") or []), *(layout.get("sliders") or [])]:
        if isinstance(item.get("pad"), dict):
            item["pad"] = {k: _scale(v) for k, v in item["pad"].items()}


def _layout(layout: dict[str, Any], theme: str) -> dict[str, Any]:
    colours = THEME_COLOURS[theme]
    _scale_fonts(layout)
    _scale_pixels(layout)
    font = layout.setdefault("font", {})
    font["size"] = max(font.get("size", 0) or 0, MIN_FONT)
    font["color"] = colours["text"]
    layout["template"] = "plotly_dark" if theme == "dark" else "plotly_white"
    layout["paper_bgcolor"] = colours["paper"]
    layout["plot_bgcolor"] = colours["plot"]
    for name, axis in list(layout.items()):
        if (name.startswith(("xaxis", "yaxis"))) and isinstance(axis, dict):
            axis.setdefault("gridcolor", colours["grid"])
            axis["linecolor"] = colours["text"]
            axis["linewidth"] = 2
            if not layout.get("images"):  # no surface image to keep aligned: room for labels
                axis["automargin"] = True
    if isinstance(layout.get("legend"), dict):
        layout["legend"].pop("bgcolor", None)
    for menu in layout.get("updatemenus") or []:  # the player's buttons keep their light face
        menu.setdefault("font", {})["color"] = "#000000"
    for slider in layout.get("sliders") or []:
        slider.setdefault("font", {})["color"] = colours["text"]
        slider.setdefault("currentvalue", {}).setdefault("font", {})["color"] = colours["text"]
    for scene in [v for k, v in layout.items() if k.startswith("scene") and isinstance(v, dict)]:
        for axis_name in ("xaxis", "yaxis", "zaxis"):
            axis = scene.setdefault(axis_name, {})
            axis["color"] = colours["text"]
            axis.setdefault("gridcolor", colours["grid"])
    return layout


def page_css(theme: str) -> str:
    """CSS for the page around the figures in presenter mode: larger type; dark background."""
    dark = THEME_COLOURS["dark"]
    main, side = "[data-testid='stMain']", "[data-testid='stSidebar']"
    css = (
        f"{main} [data-testid='stMarkdownContainer'] p {{ font-size: 1.2rem; }}"
        f" {main} .optiscape-player {{ font-size: 1.25rem; }}"
    )
    if theme == "dark":
        text = dark["text"]
        css += (
            f" {main}, [data-testid='stHeader'] {{ background: {dark['paper']}; }}"
            f" {main} [data-testid='stMarkdownContainer'], {main} h1, {main} h2, {main} h3,"
            f" {main} h4, {main} label, {main} [data-testid='stCaptionContainer'],"
            f" {main} [data-testid='stExpander'] summary {{ color: {text}; }}"
            # info and warning boxes dark too, in their own hue, with the page's text
            f" {main} [data-testid='stAlertContainer'] {{ background: #1d2c44; }}"
            f" {main} [data-testid='stAlert'] [data-testid='stMarkdownContainer']"
            f" {{ color: {text}; }}"
            f" {main} button {{ background: #262a33; border-color: #8a8f99; }}"
            f" {main} .optiscape-player, {main} .optiscape-player button,"
            f" {main} .optiscape-player select {{ color: {text}; }}"
            f" {main} .optiscape-player select {{ background: #262a33; }}"
            # the status table under the contour (app.plotly_view): the page's text
            f" {main} table.optiscape-table {{ color: {text}; }}"
            # switches: an unchecked track shows against the dark page (a checked one is red)
            f" [data-testid='stCheckbox'] label:not([data-selected='true']) > div:first-of-type"
            f" {{ background: #5a606c; }}"
            # the sidebar's buttons and every help icon: the page's text on a dark face
            f" {side} button {{ background: #262a33; border-color: #8a8f99; color: {text}; }}"
            f" [data-testid='stTooltipIcon'] button {{ background: transparent; color: {text}; }}"
            f" {main} button [data-testid='stMarkdownContainer'] {{ color: {text}; }}"
            # the sidebar too: a light strip beside a dark page glares on a projector
            f" {side} {{ background: #1b1f27; }}"
            f" {side} [data-testid='stMarkdownContainer'], {side} label, {side} h1, {side} h2,"
            f" {side} h3, {side} [data-testid='stCaptionContainer'], {side} a span,"
            f" {side} [data-testid='stExpander'] summary {{ color: {text}; }}"
            f" {side} [data-testid='stExpander'] {{ background: #232833; }}"
        )
    return f"<style>{css}</style>"


def link_builder(base: AppState, key: str) -> AppState:
    """Widgets for what students see; returns ``base`` with the chosen hide / lock / presenter
    settings (the caller shows the link)."""
    labels = dict(CONTROLS)
    hide = st.multiselect(
        "Hide these controls",
        list(CONTROLS),
        default=list(base.hide),
        format_func=labels.get,
        key=f"{key}_hide",
    )
    lock = st.multiselect(
        "Show but lock these controls",
        [c for c in CONTROLS if c not in hide],
        default=[c for c in base.lock if c not in hide],
        format_func=labels.get,
        key=f"{key}_lock",
    )
    left, right = st.columns(2)
    present = left.toggle(
        "Presenter mode",
        value=base.present,
        key=f"{key}_present",
        help="Larger type, thicker lines, colour-blind-safe colours.",
    )
    theme = right.radio(
        "Theme", THEMES, index=THEMES.index(base.theme), horizontal=True, key=f"{key}_theme"
    )
    play = st.toggle(
        "Play the race on opening",
        value=base.play,
        key=f"{key}_play",
        help="The link opens the view at step 0 and plays it once.",
    )
    return replace(
        base,
        hide=tuple(hide),
        lock=tuple(lock),
        present=present,
        theme=theme,
        play=play,
        step=0 if play else base.step,
    )
