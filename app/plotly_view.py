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
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import plotly
import plotly.io as pio
import streamlit as st

from app import shared_work

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

// --- the player: one timeline for a figure whose layout.meta.player describes it --------------
// The figure holds every run's whole path and the animated traces of some steps (its frames,
// named by step). The player owns the shown step k: it draws each path up to k, shows the frame
// of the last frame step <= k, names each run in the legend as it stands at k, shows the events
// (spec.events: the diagnosis's words at their place) whose step the markers have reached, moves the
// scrubber, tells the page's other charts (a cursor on the loss curves) and reports k to the
// server when it stops (report), so that the tables and the link follow.

const TYPED = {f4: Float32Array, f8: Float64Array, i1: Int8Array, u1: Uint8Array,
               i2: Int16Array, u2: Uint16Array, i4: Int32Array, u4: Uint32Array};

function decodeArray(v) {
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return v;
  if (v && typeof v === "object" && typeof v.bdata === "string") {
    const bin = atob(v.bdata);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new TYPED[v.dtype.replace(/^[<>|=]/, "")](bytes.buffer);
  }
  return [];
}

const BAR_CSS = `
.optiscape-player { display: flex; flex-wrap: wrap; align-items: center; gap: 0.4rem;
  margin: 0 0 0.4rem 0; font-size: 1.05rem; }
.optiscape-player button, .optiscape-player select { font: inherit; color: inherit;
  background: transparent; border: 1px solid rgba(128, 128, 128, 0.6); border-radius: 0.5rem;
  padding: 0.3rem 0.75rem; cursor: pointer; line-height: 1.3; }
.optiscape-player button:hover:not(:disabled) { border-color: #ff4b4b; color: #ff4b4b; }
.optiscape-player button.play { font-weight: 600; min-width: 6.2rem; }
.optiscape-player button:disabled, .optiscape-player input:disabled { opacity: 0.45; cursor: default; }
.optiscape-player input[type=range] { flex: 1 1 8rem; min-width: 5rem; accent-color: #ff4b4b; }
.optiscape-player .step { min-width: 7.5rem; font-variant-numeric: tabular-nums; }
`;

const TABLE_CSS = `
table.optiscape-table { width: 100%; border-collapse: collapse; table-layout: fixed;
  margin: 0.5rem 0 0.25rem 0; font-size: 1rem; line-height: 1.35;
  font-variant-numeric: tabular-nums; }
table.optiscape-table th, table.optiscape-table td { border: 1px solid rgba(128, 128, 128, 0.35);
  padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
table.optiscape-table th { font-weight: 600; background: rgba(128, 128, 128, 0.12); }
table.optiscape-table td:first-child { border-left: 0.4rem solid var(--run); font-weight: 600; }
`;

function addStyle(id, css) {
  if (document.getElementById(id)) return;
  const style = document.createElement("style");
  style.id = id;
  style.textContent = css;
  document.head.appendChild(style);
}

function statusTable(parent, spec) {
  // the status table under the chart (spec: charts.status.status_table): the rows of the last
  // of spec.steps at or before the shown step; every cell is text (textContent, never HTML)
  let table = parent.querySelector("table.optiscape-table");
  if (!spec || !spec.colours.length) {
    if (table) table.remove();
    return () => {};
  }
  addStyle("optiscape-table-css", TABLE_CSS);
  if (!table) {
    table = document.createElement("table");
    table.className = "optiscape-table";
    parent.appendChild(table);
  }
  table.textContent = "";
  const sum = spec.widths.reduce((a, b) => a + b, 0);
  const cols = document.createElement("colgroup");
  for (const w of spec.widths) {
    const col = document.createElement("col");
    col.style.width = `${(100 * w) / sum}%`;
    cols.appendChild(col);
  }
  table.appendChild(cols);
  const head = table.createTHead().insertRow();
  for (const name of spec.columns) {
    const th = document.createElement("th");
    th.textContent = name;
    head.appendChild(th);
  }
  const body = table.createTBody();
  const cells = spec.colours.map((c) => {
    const row = body.insertRow();
    row.style.setProperty("--run", c);
    return spec.columns.map(() => row.insertCell());
  });
  let shown = -1;
  return (k) => {
    let i = 0;
    while (i + 1 < spec.steps.length && spec.steps[i + 1] <= k) i++;
    if (i === shown) return;
    shown = i;
    spec.rows[i].forEach((row, r) => row.forEach((text, c) => { cells[r][c].textContent = text; }));
    table.dataset.step = String(spec.steps[i]);
  };
}

function playerBar(parent) {
  let bar = parent.querySelector("div.optiscape-player");
  if (bar) return bar;
  addStyle("optiscape-player-css", BAR_CSS);
  bar = document.createElement("div");
  bar.className = "optiscape-player";
  bar.innerHTML =
    '<button type="button" class="reset" title="Back to step 0">↺ Reset</button>' +
    '<button type="button" class="play">▶ Play</button>' +
    '<button type="button" class="step1" title="One step">Step</button>' +
    '<button type="button" class="step10" title="Ten steps">Step ×10</button>' +
    '<button type="button" class="end" title="The last step">Run to end</button>' +
    '<select class="speed" title="Speed"></select>' +
    '<input type="range" class="scrub" min="0" max="0" step="1" value="0" aria-label="Step shown">' +
    '<span class="step"></span>';
  parent.insertBefore(bar, parent.firstChild);
  return bar;
}

function preparePlayer(fig) {
  // the whole paths, kept by the player; Plotly is first handed each path up to the shown step
  const spec = fig.layout.meta.player;
  const paths = spec.paths.map((i) => ({x: decodeArray(fig.data[i].x), y: decodeArray(fig.data[i].y)}));
  const k = Math.min(Math.max(spec.step, 0), spec.total);
  spec.paths.forEach((index, i) => {
    fig.data[index].x = paths[i].x.slice(0, k + 1);
    fig.data[index].y = paths[i].y.slice(0, k + 1);
  });
  return paths;
}

function attachPlayer(Plotly, div, fig, paths, report) {
  const spec = fig.layout.meta.player;
  const total = spec.total;
  const bar = playerBar(div.parentElement);
  bar.style.display = spec.controls === "hidden" ? "none" : "";
  const frames = (fig.frames || []).map((f) => ({step: Number(f.name), frame: f}))
    .sort((a, b) => a.step - b.step);
  const names = spec.legend || [];
  const events = spec.events || [];  // [{trace, step, text}]: shown once the step reaches step
  const showTable = statusTable(div.parentElement, spec.table);
  const state = {k: Math.min(Math.max(spec.step, 0), total), playing: false, timer: null,
                 ms: spec.frame_ms, shownNames: names.map(([, n]) => n[0][1]),
                 shownEvents: events.map((e) => fig.data[e.trace].visible !== false)};
  if (div.__player && div.__player.timer) clearTimeout(div.__player.timer);
  div.__player = state;

  const el = (name) => bar.querySelector(`.${name}`);
  const speed = el("speed");
  speed.innerHTML = spec.speeds.map(([label, ms]) =>
    `<option value="${Number(ms)}"${ms === state.ms ? " selected" : ""}>${label}</option>`).join("");
  const scrub = el("scrub");
  scrub.max = String(total);
  const locked = spec.controls === "locked";
  for (const b of bar.querySelectorAll("button, input, select")) b.disabled = locked;

  function frameAt(k) {  // the last frame at or before step k
    let lo = 0, hi = frames.length - 1, best = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (frames[mid].step <= k) { best = mid; lo = mid + 1; } else hi = mid - 1;
    }
    return frames[best];
  }
  function nameAt(list, k) {
    let out = list[0][1];
    for (const [first, name] of list) if (first <= k) out = name;
    return out;
  }
  function draw(k) {
    const f = frameAt(k);
    const shown = f ? f.step : k;  // paths end where the markers are
    const data = f ? [...f.frame.data] : [];
    const traces = f ? [...f.frame.traces] : [];
    for (let i = 0; i < paths.length; i++) {
      data.push({x: paths[i].x.slice(0, shown + 1), y: paths[i].y.slice(0, shown + 1)});
      traces.push(spec.paths[i]);
    }
    Plotly.animate(div, {data, traces}, {frame: {duration: 0, redraw: false},
                                         transition: {duration: 0}, mode: "immediate"});
    names.forEach(([index, list], j) => {
      const name = nameAt(list, k);
      if (name !== state.shownNames[j]) {
        state.shownNames[j] = name;
        Plotly.restyle(div, {name: [name]}, [index]);
      }
    });
    const changed = [], visible = [];
    events.forEach((e, j) => {
      const on = e.step <= shown;  // with the markers: written once the run gets there
      if (on !== state.shownEvents[j]) {
        state.shownEvents[j] = on;
        changed.push(e.trace);
        visible.push(on);
      }
    });
    if (changed.length) Plotly.restyle(div, {visible}, changed);
    showTable(k);
    scrub.value = String(k);
    const label = spec.labels ? (s) => spec.labels[Math.min(s, spec.labels.length - 1)] : (s) => s;
    el("step").textContent = `${spec.unit || "step"} ${label(k)} / ${label(total)}`;
    el("play").textContent = state.playing ? "❚❚ Pause" : "▶ Play";
    window.__optiscapeStep = k;  // for a follower drawn after this
    window.dispatchEvent(new CustomEvent("optiscape:step", {detail: {step: k}}));
  }
  function show(k, tell) {
    state.k = Math.min(Math.max(Math.round(k), 0), total);
    draw(state.k);
    if (tell) report(state.k);
  }
  function stop(tell) {
    if (state.timer) clearTimeout(state.timer);
    state.timer = null;
    state.playing = false;
    show(state.k, tell);
  }
  function tick() {
    const next = frames.find((f) => f.step > state.k);
    if (!next || !state.playing) { stop(true); return; }
    show(next.step, false);
    state.timer = setTimeout(tick, state.ms);
  }
  function play() {
    if (state.k >= total) state.k = 0;  // Play at the end starts the race again
    state.playing = true;
    show(state.k, false);
    state.timer = setTimeout(tick, state.ms);
  }
  el("play").onclick = () => (state.playing ? stop(true) : play());
  el("reset").onclick = () => { if (state.playing) stop(false); show(0, true); };
  el("step1").onclick = () => { if (state.playing) stop(false); show(state.k + 1, true); };
  el("step10").onclick = () => { if (state.playing) stop(false); show(state.k + 10, true); };
  el("end").onclick = () => { if (state.playing) stop(false); show(total, true); };
  speed.onchange = () => { state.ms = Number(speed.value); };
  scrub.oninput = () => { if (state.playing) stop(false); show(Number(scrub.value), false); };
  scrub.onchange = () => show(Number(scrub.value), true);
  show(state.k, false);
  if (spec.autoplay && !div.__autoplayed) { div.__autoplayed = true; play(); }
}

function fitToScreen(layout, top, width) {
  // the contour on the first screen: a figure with layout.meta.fit and a fixed size is made
  // smaller, its plot area keeping its proportions, until the plot and its axis labels end
  // above the bottom of the window and the figure fits the page's ``width`` (never below
  // meta.fit.min_plot pixels of plot height; meta.fit.width_only: the width only); its margins (the legend beside it) keep their size
  const fit = layout.meta.fit;
  const room = fit.width_only ? Infinity : window.innerHeight - top - layout.margin.t - fit.below;
  const plotH = layout.height - layout.margin.t - layout.margin.b;
  const plotW = layout.width - layout.margin.l - layout.margin.r;
  const roomW = width - (layout.width - plotW);
  const scale = Math.max(Math.min(room / plotH, roomW / plotW, 1), fit.min_plot / plotH);
  if (scale >= 0.999) return layout;
  const legend = layout.legend && layout.legend.maxheight > 1 ? layout.legend.maxheight : 0;
  const height = Math.max(Math.round(layout.height - plotH * (1 - scale)),
                          layout.margin.t + legend + 4);  // the legend beside it, whole
  const out = {...layout, height, width: Math.round(layout.width - plotW * (1 - scale))};
  if (layout.legend && layout.legend.yref !== "container" && typeof layout.legend.y === "number") {
    out.legend = {...layout.legend, y: layout.legend.y / scale};  // same pixels below the plot
  }
  return out;
}

function attachCursor(Plotly, div, fig) {
  // meta.cursor.xs (optional): the x of each of the player's steps (a network's recorded points)
  const {shape, xs} = fig.layout.meta.cursor;
  if (div.__cursor) window.removeEventListener("optiscape:step", div.__cursor);
  div.__cursor = (event) => {
    const k = event.detail.step;
    const x = xs && xs.length ? xs[Math.min(k, xs.length - 1)] : k;
    Plotly.relayout(div, {[`shapes[${shape}].x0`]: x, [`shapes[${shape}].x1`]: x});
  };
  window.addEventListener("optiscape:step", div.__cursor);
}

function attachFollower(Plotly, div, fig) {
  // a figure with layout.meta.follow (no player of its own) shows, at the player's step k, its
  // frame of the last step <= k (frames named by step): the regions move with the plane's paths
  const steps = (fig.frames || []).map((f) => Number(f.name)).sort((a, b) => a - b);
  let shown = null;
  const follow = (k) => {
    let best = steps.length ? steps[0] : null;
    for (const s of steps) if (s <= k) best = s;
    if (best === null || best === shown) return;
    shown = best;
    Plotly.animate(div, [String(best)], {frame: {duration: 0, redraw: true},
                                         transition: {duration: 0}, mode: "immediate"});
  };
  if (div.__follow) window.removeEventListener("optiscape:step", div.__follow);
  div.__follow = (event) => follow(event.detail.step);
  window.addEventListener("optiscape:step", div.__follow);
  if (typeof window.__optiscapeStep === "number") follow(window.__optiscapeStep);
}

export default function ({ parentElement, data, setTriggerValue, setStateValue }) {
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
  const meta = layout.meta || {};
  div.style.minHeight = layout.height ? `${layout.height}px` : "";  // no jump while Plotly loads
  const font = (layout.font = layout.font || {});
  if (!font.color) font.color = getComputedStyle(parentElement).color;
  const player = meta.player ? preparePlayer(fig) : null;
  if (meta.fit && layout.height && layout.width) {
    const main = parentElement.closest("[data-testid='stMain']");
    const top = parentElement.getBoundingClientRect().top + (main ? main.scrollTop : 0) +
      (player && meta.player.controls !== "hidden" ? 52 : 0);  // the player's bar comes first
    const block = parentElement.closest("[data-testid='stVerticalBlock']") || parentElement;
    Object.assign(layout, fitToScreen(layout, top, block.clientWidth || layout.width));
    div.style.minHeight = `${layout.height}px`;
  }
  loadPlotly()
    .then((Plotly) => {
      if (div.__spec !== spec) return;  // a newer figure arrived while Plotly loaded
      const config = {responsive: true, ...fig.config};  // a chart without a width follows the page's
      return Plotly.react(div, {data: fig.data, layout, frames: fig.frames || [], config})
        .then(() => {
          if (player) {
            attachPlayer(Plotly, div, fig, player, (k) => {
              if (meta.player.report) setStateValue("step", k);
            });
          } else {  // a figure without a player after one with: no bar, no table
            const bar = parentElement.querySelector("div.optiscape-player");
            if (bar) bar.style.display = "none";
            statusTable(parentElement, null);
          }
          if (meta.cursor) attachCursor(Plotly, div, fig);
          if (meta.follow) attachFollower(Plotly, div, fig);
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


def chart_bytes(
    fig: Any,
    *,
    app_theme: bool = True,
    report: bool = False,
    controls: str = "show",
    autoplay: bool = False,
) -> bytes:
    """The bytes ``plotly_view`` sends for ``fig``: its JSON with the app's template (where
    ``app_theme``), ``CHART_CONFIG``, and, for a figure with a player, the player's options."""
    out = app_styled(fig) if app_theme else dict(fig if isinstance(fig, dict) else fig.to_dict())
    layout = out.get("layout", {})
    player = (layout.get("meta") or {}).get("player")
    if player is not None:  # a copy: the figure dict is shared with the figure caches
        player = {**player, "report": report, "controls": controls}
        player["autoplay"] = autoplay
        out["layout"] = {**layout, "meta": {**layout["meta"], "player": player}}
    return figure_bytes(out, CHART_CONFIG)


def plotly_view(
    fig: Any,
    key: str,
    *,
    view: Hashable | None = None,
    app_theme: bool = True,
    on_click: Callable[[], None] | None = None,
    on_step: Callable[[], None] | None = None,
    controls: str = "show",
    autoplay: bool = False,
    width: str | int = "stretch",
    private: bool = False,
) -> None:
    """Draw ``fig`` (a ``go.Figure`` or figure dict, or a function of no arguments that builds
    one) in the chart kept under ``key``.

    ``view``: the canonical state of what the chart shows (a page's frozen state and whatever
    else the figure is built from). With it, the chart's bytes are shared work
    (``app.shared_work``): built once for every session that shows the same view, the
    figure itself built only then (pass a function); ``private``: the bytes stay in this
    process, never written for the server's other replicas (a view of uploaded data). Plotly's
    config is ``CHART_CONFIG``.
    ``app_theme``: give it the app's template (a presenter-restyled figure brings its own).
    ``on_click``: called on a click on the chart, before the rerun; ``clicked_point(key)``.

    A figure with a player (``layout.meta.player``, the contour's) is played in the browser
    above the chart: ``on_step`` is called when the player stops on a step (``stepped(key)``
    reads it); ``controls`` is "show", "locked" (drawn, disabled) or "hidden"; ``autoplay``
    plays it once when the chart is first drawn."""
    options = {
        "app_theme": app_theme,
        "report": on_step is not None,
        "controls": controls,
        "autoplay": autoplay,
    }

    def build() -> bytes:
        return chart_bytes(fig() if callable(fig) else fig, **options)

    if view is None:
        spec = build()
    else:
        spec = shared_work.shared(("chart", key, view, tuple(options.items())), build, private)
    _component(
        key=key,
        data=spec,
        width=width,
        on_click_change=on_click or (lambda: None),
        on_step_change=on_step or (lambda: None),
    )


def stepped(key: str) -> int | None:
    """The step the player of the chart under ``key`` last stopped on, or None; read it in the
    ``on_step`` callback."""
    state = st.session_state.get(key)
    step = state.get("step") if hasattr(state, "get") else getattr(state, "step", None)
    return int(step) if isinstance(step, int | float) and math.isfinite(step) else None


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
