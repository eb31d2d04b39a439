"""Exports of the explorer's view: files for slides, lecture halls without a network, and analysis.

Everything here serialises arrays the app already has (the sampled ``Surface``, the ``Run``s and
the figure); nothing is recomputed. Every file carries the settings that made it: the view's
``v=1`` link (query string) and, for the data files, the state's fields.

- ``html_bytes``: the animated contour figure as one standalone HTML file with plotly.js inline
  (no ``<script src=...>``; it plays offline, with the figure's own Play / Pause and slider).
- ``gif_bytes``: the race as an animated GIF drawn with Pillow (the surface as a banded image,
  every path so far as a polyline, each run's current position as a marker); no browser needed.
- ``trajectories_csv`` / ``trajectories_json``: positions, losses, gradient norms and statuses.
- ``surface_npz``: the surface grid with its domain and settings.

MP4 is not offered: no well-kept video encoder (imageio-ffmpeg, PyAV, OpenCV) is installed. PNG
of any chart: the camera button of Plotly's toolbar on the chart.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import numpy as np
import plotly.io as pio
from PIL import Image, ImageDraw, ImageFont

from .charts.player import legend_timeline, name_at
from .charts.style import END_SYMBOLS, OKABE_ITO, slot
from .charts.surface import ColourLevels
from .state import AppState

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from .compute import Run, Surface

GIF_SIZE = 480  # pixels along the longer side of the plot
GIF_FRAMES = 90
GIF_MS = 70  # per frame; the last frame holds 1.5 s
GIF_BANDS = 14
GIF_LIGHT = np.array([252, 252, 252], dtype=np.float64)
GIF_DARK = np.array([128, 138, 154], dtype=np.float64)
CSV_FIELDS = ("run", "label", "optimizer", "step", "x", "y", "loss", "grad_norm", "status")


def link_query(state: AppState) -> str:
    """The view's link as a query string (``v=1&ls=...``): open it at the app's root."""
    return urlencode(state.to_query(), doseq=True)


def settings(state: AppState) -> dict[str, Any]:
    """The state's fields as JSON-ready values, and the link that reproduces the view."""
    return {
        "link": "?" + link_query(state),
        "landscape": state.landscape,
        "landscape_params": dict(state.landscape_params),
        "formula": state.formula if state.landscape == "custom" else None,
        "domain": [list(pair) for pair in state.domain] if state.landscape == "custom" else None,
        "start": list(state.start_point()),
        "steps": state.steps,
        "seed": state.seed,
        "optimizers": [
            {
                "name": e.name,
                "hyperparams": dict(e.values),
                "schedule": e.schedule.kind,
            }
            for e in state.optimizers
        ],
    }


# -- HTML --------------------------------------------------------------------------------------------


def html_bytes(fig: go.Figure, title: str = "optiscape") -> bytes:
    """A standalone HTML page of ``fig`` that plays offline: plotly.js is embedded, not linked."""
    text = pio.to_html(
        fig,
        include_plotlyjs=True,
        full_html=True,
        auto_play=False,
        include_mathjax=False,
        config={"displaylogo": False},
    )
    text = text.replace("<head>", f"<head><title>{_html_escape(title)}</title>", 1)
    return text.encode("utf-8")


def _html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# -- GIF ---------------------------------------------------------------------------------------------


def _surface_image(surface: Surface, log_colour: bool, width: int, height: int) -> Image.Image:
    """The surface as banded greys: low values light, high values darker (like the explorer)."""
    z = np.asarray(surface.z, dtype=np.float64)
    finite = np.isfinite(z)
    if not finite.any():
        return Image.new("RGB", (width, height), tuple(int(c) for c in GIF_DARK))
    levels = ColourLevels.of(z, log_colour)  # the explorer's colour rule (log floor included)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.clip((levels.value(z) - levels.vmin) / (levels.vmax - levels.vmin), 0, 1)
    t = np.where(finite, t, 1.0)
    image = Image.fromarray(np.flipud(t).astype(np.float32), "F")  # row 0: the largest y
    t = np.asarray(image.resize((width, height), Image.Resampling.BILINEAR))
    band = np.minimum(np.floor(t * GIF_BANDS), GIF_BANDS - 1).astype(int)
    edge = np.zeros(band.shape, dtype=bool)  # band edges one shade darker: reads like contours
    edge[1:, :] |= band[1:, :] != band[:-1, :]
    edge[:, 1:] |= band[:, 1:] != band[:, :-1]
    shade = np.minimum(band + edge, GIF_BANDS - 1)
    return Image.fromarray(_band_colours()[shade].astype(np.uint8), "RGB")


def _band_colours() -> np.ndarray:
    t = np.linspace(0.0, 1.0, GIF_BANDS)[:, None]
    return np.rint(GIF_LIGHT + (GIF_DARK - GIF_LIGHT) * t)


def _palette(colours: Sequence[tuple[int, int, int]]) -> Image.Image:
    """A fixed GIF palette: the surface's bands, white, black and the run colours (no dithering,
    no per-frame palettes: frames differ only where the paths move, and compress well)."""
    entries = [tuple(int(c) for c in row) for row in _band_colours()]
    entries += [(255, 255, 255), (0, 0, 0), *colours]
    flat = [c for rgb in entries for c in rgb]
    image = Image.new("P", (1, 1))
    image.putpalette(flat + flat[-3:] * (256 - len(entries)))
    return image


def _pixels(points: np.ndarray, domain, width: int, height: int) -> np.ndarray:
    """Pixel coordinates of (n, 2) points; NaN rows stay NaN, far points are clamped."""
    (x0, x1), (y0, y1) = domain
    with np.errstate(invalid="ignore", over="ignore"):
        px = (points[:, 0] - x0) / (x1 - x0) * (width - 1)
        py = (y1 - points[:, 1]) / (y1 - y0) * (height - 1)
        out = np.stack([px, py], axis=1)
        out[~np.isfinite(out).all(axis=1)] = np.nan
        limit = 4.0 * max(width, height)
        return np.clip(out, -limit, limit)


def _polylines(pix: np.ndarray) -> list[list[tuple[float, float]]]:
    """Split a path at its non-finite points into drawable pieces."""
    pieces: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    for x, y in pix.tolist():
        if math.isnan(x) or math.isnan(y):
            if len(current) > 1:
                pieces.append(current)
            current = []
        else:
            current.append((x, y))
    if len(current) > 1:
        pieces.append(current)
    return pieces


def _marker(draw: ImageDraw.ImageDraw, x: float, y: float, r: float, i: int, colour) -> None:
    symbol = END_SYMBOLS[i % len(END_SYMBOLS)]
    box = (x - r, y - r, x + r, y + r)
    outline = (255, 255, 255)
    if symbol == "square":
        draw.rectangle(box, fill=colour, outline=outline)
    elif symbol == "diamond":
        draw.polygon([(x, y - r), (x + r, y), (x, y + r), (x - r, y)], fill=colour, outline=outline)
    elif symbol == "triangle-up":
        draw.polygon([(x, y - r), (x + r, y + r), (x - r, y + r)], fill=colour, outline=outline)
    else:
        draw.ellipse(box, fill=colour, outline=outline)


def gif_steps(total: int, frames: int = GIF_FRAMES) -> list[int]:
    """The steps drawn, evenly spread over 0..total (every step when there are few)."""
    if total + 1 <= frames:
        return list(range(total + 1))
    return sorted(set(np.round(np.linspace(0, total, frames)).astype(int).tolist()))


def gif_bytes(
    surface: Surface,
    runs: Sequence[Run],
    *,
    log_colour: bool,
    frames: int = GIF_FRAMES,
    size: int = GIF_SIZE,
) -> bytes:
    """The race as an animated GIF: one frame per step of ``gif_steps`` (at most ``frames``),
    ``size`` pixels along the longer side of the plot, a step counter and a legend below."""
    (x0, x1), (y0, y1) = surface.domain
    aspect = (y1 - y0) / (x1 - x0)
    width, height = (
        (size, max(int(size * aspect), 60))
        if aspect <= 1
        else (
            max(int(size / aspect), 60),
            size,
        )
    )
    legend_h = 18 * max(len(runs), 1) + 26
    background = Image.new("RGB", (width, height + legend_h), (255, 255, 255))
    background.paste(_surface_image(surface, log_colour, width, height), (0, 0))
    font = ImageFont.load_default()
    base_draw = ImageDraw.Draw(background)
    slots = [slot(run, i) for i, run in enumerate(runs)]  # the figures' colours and markers
    colours = [_rgb(OKABE_ITO[s % len(OKABE_ITO)]) for s in slots]
    palette = _palette(colours)
    for i in range(len(runs)):
        _marker(base_draw, 10, height + 22 + 18 * i, 5, slots[i], colours[i])
    paths = [
        _pixels(np.asarray(r.positions, dtype=np.float64), surface.domain, width, height)
        for r in runs
    ]
    total = max((len(r.positions) - 1 for r in runs), default=0)
    # the legend tells each run's state as the chart's does: once the race gets there
    names = [legend_timeline(run, total) for run in runs]
    images = []
    for k in gif_steps(total, frames):
        frame = background.copy()
        draw = ImageDraw.Draw(frame)
        for i, timeline in enumerate(names):
            y = height + 22 + 18 * i
            draw.text((22, y - 6), name_at(timeline, k), fill=(0, 0, 0), font=font)
        for i, pix in enumerate(paths):
            upto = pix[: min(k, len(pix) - 1) + 1]
            for piece in _polylines(upto):
                draw.line(piece, fill=colours[i], width=3, joint="curve")
            last = upto[-1]
            if (
                np.isfinite(last).all()
                and -10 <= last[0] <= width + 10
                and -10 <= last[1] <= height + 10
            ):
                _marker(draw, float(last[0]), float(last[1]), 6, slots[i], colours[i])
        draw.rectangle((0, height, width, height + 16), fill=(255, 255, 255))
        draw.text((6, height + 3), f"step {k} of {total}", fill=(0, 0, 0), font=font)
        images.append(frame.quantize(palette=palette, dither=Image.Dither.NONE))
    durations = [GIF_MS] * (len(images) - 1) + [1500]
    out = io.BytesIO()
    images[0].save(
        out,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=durations,
        loop=0,
        optimize=True,
        disposal=1,
    )
    return out.getvalue()


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16))


# -- trajectories ------------------------------------------------------------------------------------


def trajectories_csv(state: AppState, runs: Sequence[Run]) -> str:
    """One row per run and step: run index, label, optimizer, step, x, y, loss, gradient norm and
    the run's final status. Comment lines (``#``) first hold the link and settings (read with
    ``pandas.read_csv(..., comment="#")``). Numbers are written with ``repr`` (exact round trip);
    non-finite ones as ``nan`` / ``inf``."""
    out = io.StringIO()
    out.write(f"# optiscape trajectories; open the view: {settings(state)['link']}\n")
    out.write(f"# settings: {json.dumps(settings(state))}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for i, run in enumerate(runs):
        for k in range(len(run.positions)):
            x, y = run.positions[k]
            writer.writerow(
                [
                    i,
                    run.label,
                    run.name,
                    k,
                    repr(float(x)),
                    repr(float(y)),
                    repr(float(run.losses[k])),
                    repr(float(run.grad_norms[k])),
                    run.status,
                ]
            )
    return out.getvalue()


def _finite_list(values: np.ndarray) -> list[float | None]:
    """Floats, with NaN and infinities as null (JSON has no non-finite numbers)."""
    return [v if math.isfinite(v) else None for v in np.asarray(values, dtype=np.float64).tolist()]


def trajectories_json(state: AppState, runs: Sequence[Run]) -> str:
    """The runs as standard JSON (non-finite numbers as null), with the settings and the link."""
    doc = {
        "app": "optiscape",
        "kind": "trajectories",
        "settings": settings(state),
        "runs": [
            {
                "label": run.label,
                "optimizer": run.name,
                "status": run.status,
                "detail": run.detail,
                "diverged_at": run.diverged_at,
                "evaluations": run.evaluations,
                "x": _finite_list(run.positions[:, 0]),
                "y": _finite_list(run.positions[:, 1]),
                "loss": _finite_list(run.losses),
                "grad_norm": _finite_list(run.grad_norms),
            }
            for run in runs
        ],
    }
    return json.dumps(doc, allow_nan=False)


def surface_npz(state: AppState, surface: Surface) -> bytes:
    """The sampled surface: ``xs``, ``ys``, ``z`` (``z[j, i] = f(xs[i], ys[j])``), ``domain``
    and ``settings`` (JSON text: the link and the state's fields)."""
    out = io.BytesIO()
    np.savez_compressed(
        out,
        xs=np.asarray(surface.xs),
        ys=np.asarray(surface.ys),
        z=np.asarray(surface.z),
        domain=np.asarray(surface.domain, dtype=np.float64),
        settings=np.array(json.dumps({**settings(state), "surface": surface.name})),
    )
    return out.getvalue()
