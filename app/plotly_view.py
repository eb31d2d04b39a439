"""A Plotly chart that stays on the page across reruns (the explorer's, the sweep, basins and
network pages' charts).

``st.plotly_chart`` makes every changed figure a new element (its spec is part of the element's
identity), so the browser tears the old chart down and draws the new one from nothing: the 3-D
view's WebGL context and shaders are rebuilt, the zoom and the 3-D camera are lost (Streamlit
issue 5107). This component keeps one chart per key and hands each new figure to
``Plotly.react``, which updates the chart in place; ``layout.uirevision`` then keeps the user's
zoom, pan and camera while the figure changes under them.

The figure travels as the bytes of its JSON (``{"data", "layout", "frames", "config"}``), the
same JSON ``st.plotly_chart`` sends. Plotly itself comes from the page when Streamlit has loaded
it already, else from the plotly package's own ``plotly.min.js``, which this module copies into
the app's static folder (``server.enableStaticServing``, which ``optiscape`` turns on).

A click on the chart is reported as a trigger ``click`` holding the point's ``x``, ``y`` and
``customdata``; ``clicked(key)`` and ``clicked_point(key)`` read it in the ``on_click``
callback.
"""

from __future__ import annotations

import filecmp
import logging
import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import plotly
import plotly.io as pio
import streamlit as st

STATIC_DIR = Path(__file__).resolve().parent / "static"
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
# the app's own palette and fonts for a figure that sets none: Streamlit's look on a light or a
# dark page alike (the text colour is the page's, read by the component; the grid is a grey that
# shows on both)
CHART_CONFIG = {"displaylogo": False}  # Plotly's config for every chart: no logo in the modebar
GRID = "rgba(128, 128, 128, 0.25)"
_AXIS = {"gridcolor": GRID, "zerolinecolor": GRID, "linecolor": GRID}
APP_TEMPLATE = {
    "layout": {
        "font": {"family": '"Source Sans", "Source Sans Pro", sans-serif'},
        "paper_bgcolor": "rgba(0, 0, 0, 0)",
        "plot_bgcolor": "rgba(0, 0, 0, 0)",
        "xaxis": _AXIS,
        "yaxis": _AXIS,
        "scene": {
            axis: {**_AXIS, "backgroundcolor": "rgba(0, 0, 0, 0)", "showbackground": False}
            for axis in ("xaxis", "yaxis", "zaxis")
        },
        "hoverlabel": {"font": {"family": '"Source Sans", "Source Sans Pro", sans-serif'}},
        # the player's buttons keep their light face, so their text stays dark on a dark page
        "updatemenudefaults": {"font": {"color": "#000000"}},
    }
}

JS = r"""
const SOURCE = "./app/static/plotly.min.js";

function loadPlotly() {
  // one Plotly for every chart of the page, chosen once: the page's (Streamlit's own charts may
  // have loaded it) or ours; a chart must be updated by the instance that drew it
  if (!window.__optiscapePlotly) {
    window.__optiscapePlotly = window.Plotly
      ? Promise.resolve(window.Plotly)
      : fetch(SOURCE)  // served as text/plain (nosniff): run the fetched text inline
          .then((r) => { if (!r.ok) throw new Error(`${SOURCE}: HTTP ${r.status}`); return r.text(); })
          .then((text) => {
            const script = document.createElement("script");
            script.text = text;
            document.head.appendChild(script);
            if (!window.Plotly) throw new Error("plotly.min.js did not define Plotly");
            return window.Plotly;
          });
    window.__optiscapePlotly.catch(() => { window.__optiscapePlotly = null; });
  }
  return window.__optiscapePlotly;
}

function text(data) {
  if (typeof data === "string") return data;
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return new TextDecoder().decode(data);
  return JSON.stringify(data);
}

export default function ({ parentElement, data, setTriggerValue }) {
  let div = parentElement.querySelector("div.optiscape-plot");
  if (!div) {
    div = document.createElement("div");
    div.className = "optiscape-plot";
    parentElement.appendChild(div);
  }
  const spec = text(data);
  if (div.__spec === spec) return;  // a rerun that changed nothing here
  div.__spec = spec;
  const fig = JSON.parse(spec);
  const layout = fig.layout || {};
  div.style.minHeight = layout.height ? `${layout.height}px` : "";  // no jump while Plotly loads
  const font = (layout.font = layout.font || {});
  if (!font.color) font.color = getComputedStyle(parentElement).color;
  loadPlotly()
    .then((Plotly) => {
      if (div.__spec !== spec) return;  // a newer figure arrived while Plotly loaded
      const config = {responsive: true, ...fig.config};  // a chart without a width follows the page's
      return Plotly.react(div, {data: fig.data, layout, frames: fig.frames || [], config})
        .then(() => {
          if (div.__clicks) return;
          div.__clicks = true;
          div.on("plotly_click", (event) => {
            const p = event.points && event.points[0];
            if (p && typeof p.x === "number" && typeof p.y === "number") {
              const click = {x: p.x, y: p.y};
              const custom = p.customdata;
              if (custom !== undefined && custom !== null) {
                click.customdata = ArrayBuffer.isView(custom) ? Array.from(custom) : custom;
              }
              setTriggerValue("click", click);
            }
          });
        });
    })
    .catch((err) => {
      div.textContent = `The chart could not be drawn (${err.message}). Start the app with ` +
        "`optiscape`, or set server.enableStaticServing = true.";
    });
}
"""


def install_plotly_js() -> Path | None:
    """Copy the plotly package's ``plotly.min.js`` into the app's static folder (once per
    version) and return its path there; None where the folder cannot be written (an install
    without write access: the charts then use the page's Plotly, or say what is missing)."""
    target = STATIC_DIR / PLOTLY_JS.name
    try:
        if not target.exists() or not filecmp.cmp(PLOTLY_JS, target, shallow=True):
            STATIC_DIR.mkdir(exist_ok=True)
            shutil.copyfile(PLOTLY_JS, target)
    except OSError as exc:
        logging.getLogger(__name__).warning("plotly.min.js not installed in %s: %s", target, exc)
        return None
    return target


install_plotly_js()
_component = st.components.v2.component("optiscape.plotly_view", js=JS, isolate_styles=False)


def app_styled(fig: Any) -> dict[str, Any]:
    """``fig`` as a dict whose template is the app's (``APP_TEMPLATE``); data, frames and the
    rest of the layout are shared with ``fig``, not copied."""
    out = dict(fig.to_dict())
    out["layout"] = {**out.get("layout", {}), "template": APP_TEMPLATE}
    return out


def figure_bytes(fig: Any, config: dict[str, Any] | None = None) -> bytes:
    """The JSON the component draws: ``fig``'s data, layout and frames, and the Plotly config."""
    out = dict(fig if isinstance(fig, dict) else fig.to_dict())
    out["config"] = config or {}
    return pio.json.to_json_plotly(out).encode()


def plotly_view(
    fig: Any,
    key: str,
    *,
    app_theme: bool = True,
    on_click: Callable[[], None] | None = None,
    width: str | int = "stretch",
) -> None:
    """Draw ``fig`` (a ``go.Figure`` or figure dict) in the chart kept under ``key``.

    Plotly's config is ``CHART_CONFIG``. ``app_theme``: give it the app's template (a
    presenter-restyled figure brings its own). ``on_click``: called on a click on the chart,
    before the rerun; ``clicked_point(key)``."""
    spec = figure_bytes(app_styled(fig) if app_theme else fig, CHART_CONFIG)
    _component(key=key, data=spec, width=width, on_click_change=on_click or (lambda: None))


def clicked(key: str) -> dict[str, Any] | None:
    """The last click on the chart under ``key`` (``x``, ``y`` in data coordinates, and the
    point's ``customdata`` when it has one), or None; read it in the ``on_click`` callback."""
    state = st.session_state.get(key)
    click = state.get("click") if hasattr(state, "get") else getattr(state, "click", None)
    return click if isinstance(click, dict) else None


def clicked_point(key: str) -> tuple[float, float] | None:
    """The finite (x, y) of the last click on the chart under ``key``, or None."""
    click = clicked(key)
    if click is None:
        return None
    point = click.get("x"), click.get("y")
    if all(isinstance(v, int | float) and math.isfinite(v) for v in point):
        return float(point[0]), float(point[1])
    return None
