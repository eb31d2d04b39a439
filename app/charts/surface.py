"""The surface image: colour levels (``ColourLevels``) and their ticks, the banded PNG of a
surface (``surface_png``) laid under the traces (``grid_image``), and its colour bar."""

from __future__ import annotations

import base64
import functools
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from .runtime import register_cache
from .style import SMALL_FONT, minima_points, number_text

if TYPE_CHECKING:  # plain data containers; importing them at runtime would pull in streamlit
    from ..compute import Surface

SURFACE_BANDS = 14  # colour levels of the surface: reads like a contour map
# Low values light, high values darker, so coloured paths stand out everywhere on the surface.
# A sequential blue-grey ramp, perceptually uniform: the anchors are equal steps in CIELAB
# (lightness 98 -> 58, a cool tint growing from b* = -1 to -14); the bands are interpolated
# between them. Its darkest band keeps the Okabe-Ito run colours (black included) legible.
SURFACE_RAMP = (
    (246, 250, 251),
    (214, 222, 229),
    (182, 195, 207),
    (150, 168, 185),
    (119, 142, 163),
)
SURFACE_LIGHT = SURFACE_RAMP[0]
SURFACE_DARK = SURFACE_RAMP[-1]
CONTOUR_SHADE = 0.62  # contour lines (band edges): the band's colour times this, on a projector
# The 3-D view's log floor (fraction of the value range): coarser than the 2-D view's 1e-6, so
# a narrow valley between mesh nodes does not become a comb of spikes.
SURFACE3D_FLOOR = 1e-4


@dataclass(frozen=True)
class ColourLevels:
    """How surface values become colour bands (``SURFACE_BANDS`` equal steps of ``value(z)``).

    Linear: ``value(z) = z``. Log: ``value(z) = log10(z - zmin + floor)`` with ``floor`` a
    millionth of the value range, so an exact zero at the minimum does not stretch the scale.
    """

    log: bool
    zmin: float
    floor: float
    vmin: float
    vmax: float
    bands: int = SURFACE_BANDS

    @classmethod
    def of(
        cls, z: np.ndarray, log: bool, lowest: float = math.inf, floor: float = 1e-6
    ) -> ColourLevels:
        """Levels for the values ``z``; ``lowest`` (e.g. a known minimum's value) may lower zmin;
        ``floor`` is the log scale's floor as a fraction of the value range."""
        finite = np.asarray(z, dtype=np.float64)
        finite = finite[np.isfinite(finite)]
        if finite.size == 0:
            return cls(log, 0.0, 1.0, 0.0, 1.0)
        zmin = min(float(finite.min()), lowest)
        zmax = float(finite.max())
        span = zmax - zmin
        if not log:
            return cls(False, zmin, 0.0, zmin, zmax if span > 0 else zmin + 1.0)
        floor = max(span * floor, 1e-12)
        vmin, vmax = math.log10(floor), math.log10(span + floor)
        return cls(True, zmin, floor, vmin, vmax if vmax > vmin else vmin + 1.0)

    def value(self, z: np.ndarray | float) -> np.ndarray:
        """Where ``z`` lies on the colour axis (log10 of ``z - zmin + floor`` for a log scale)."""
        z = np.asarray(z, dtype=np.float64)
        if not self.log:
            return z
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.log10(np.maximum(z - self.zmin, 0.0) + self.floor)

    def band_colours(self) -> list[tuple[int, int, int]]:
        """The bands' colours, light (low f) to dark: ``SURFACE_RAMP`` sampled at equal steps."""
        ramp = np.array(SURFACE_RAMP, float)
        at = np.linspace(0.0, len(ramp) - 1.0, self.bands)
        rgb = np.stack([np.interp(at, np.arange(len(ramp)), ramp[:, c]) for c in range(3)], 1)
        return [tuple(int(c) for c in np.rint(row)) for row in rgb]

    def colorscale(self) -> list[list[Any]]:
        """A stepped Plotly colour scale with one flat step per band."""
        out: list[list[Any]] = []
        for b, rgb in enumerate(self.band_colours()):
            css = f"rgb{rgb}"
            out += [[b / self.bands, css], [(b + 1) / self.bands, css]]
        return out

    def ticks(self) -> tuple[list[float], list[str]]:
        """Colour-axis positions (strictly increasing) and their labels in real f values (no two
        alike). Linear: "nice" steps (1, 2, 2.5 or 5 times a power of ten). Log: the minimum, then
        whole decades above it (every other one when there are many; with 2 and 5 between them
        when there are few). The decades are labelled as f values ("0.01") when the minimum is 0
        or its value keeps them distinct and short, else as offsets above it ("+1e-05")."""
        if not self.log:
            vals = _nice_ticks(self.vmin, self.vmax)
            return vals, _distinct_labels(vals)
        offsets = [10.0**d for d in range(math.ceil(self.vmin + 0.5), math.floor(self.vmax) + 1)]
        if len(offsets) > 7:
            offsets = offsets[len(offsets) % 2 == 0 :: 2]
        elif len(offsets) < 3:
            low, high = 10.0 ** (self.vmin + 0.3), 10.0**self.vmax - self.floor
            mag = 10.0 ** math.floor(self.vmin)
            offsets = [
                m * mag * 10.0**e
                for e in range(math.ceil(self.vmax - self.vmin) + 2)
                for m in (1, 2, 5)
                if low <= m * mag * 10.0**e <= high
            ]
        vals = [self.vmin]
        kept: list[float] = []
        for off in offsets:
            v = float(self.value(self.zmin + off))
            if vals[-1] < v <= self.vmax + 1e-9:
                vals.append(v)
                kept.append(off)
        bottom = number_text(self.zmin, 4)
        if len(vals) < 2:  # a range narrower than the floor: its two ends
            return [self.vmin, self.vmax], _distinct_labels(
                [self.zmin, self.zmin + 10.0**self.vmax - self.floor]
            )
        if self.zmin == 0:
            texts = [bottom] + [_decade(o) for o in kept]
        else:
            as_f = [number_text(self.zmin + o) for o in kept]
            texts = [bottom, *as_f]
            if len(set(texts)) < len(texts) or any(
                float(t) != self.zmin + o and _sig(self.zmin + o) > 3
                for t, o in zip(as_f, kept, strict=True)
            ):
                texts = [bottom] + ["+" + _decade(o) for o in kept]
        return vals, texts


def _sig(v: float) -> int:
    """Significant digits ``v`` needs (at most 12)."""
    return next(d for d in range(1, 13) if float(f"{v:.{d}g}") == float(f"{v:.12g}"))


def _decade(d: float) -> str:
    """A round positive number (a power of ten, or 2 or 5 times one) as short text."""
    e = math.floor(math.log10(d) + 1e-9)
    return f"{d:g}" if -3 <= e <= 4 else f"{d:.0e}".replace("e-0", "e-").replace("e+0", "e")


def _distinct_labels(vals: Sequence[float]) -> list[str]:
    """``number_text`` of each value with the fewest significant digits (3 or more) that print no
    two alike."""
    for digits in range(3, 13):
        texts = [number_text(v, digits) for v in vals]
        if len(set(texts)) == len(texts):
            return texts
    return texts


def _nice_ticks(low: float, high: float, count: int = 7) -> list[float]:
    """Strictly increasing multiples of a "nice" step (1, 2, 2.5, 5 x 10^k) inside [low, high],
    about ``count`` of them; tiny, huge and zero-crossing ranges included."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low] if math.isfinite(low) else []
    raw = high / max(count - 1, 1) - low / max(count - 1, 1)  # no overflow near 1e308
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(low / step)
    out: list[float] = []
    for k in range(first, math.floor(high / step) + 1):
        v = float(f"{k * step:.12g}")  # 0.1 * 3 -> 0.3, not 0.30000000000000004
        if low - 1e-9 * step <= v <= high + 1e-9 * step and (not out or v > out[-1]):
            out.append(v)
    return out


def levels_for(surface: Surface, log_colour: bool, floor: float = 1e-6) -> ColourLevels:
    lowest = min((p.value for p in minima_points(surface.points)), default=math.inf)
    return ColourLevels.of(surface.z, log_colour, lowest, floor)


def surface_png(
    xs: np.ndarray, ys: np.ndarray, z: np.ndarray, levels: ColourLevels, width: int, height: int
) -> str:
    """A banded PNG of ``z[j, i] = f(xs[i], ys[j])`` as a ``data:`` URI, ``width`` x ``height`` px.

    The colour-axis values are interpolated bilinearly to the pixel centres, cut into bands, and
    the band edges drawn as dark contour lines (``CONTOUR_SHADE``), so the image reads like a filled
    contour map. Pixels
    whose value is not finite take the darkest band's colour. Row 0 of the image is the top (the
    largest y).
    """
    with np.errstate(invalid="ignore"):  # band units: 0 .. bands at vmin .. vmax
        u = (levels.value(z) - levels.vmin) * (levels.bands / (levels.vmax - levels.vmin))
    u = u.astype(np.float32)
    px = xs[0] + (np.arange(width) + 0.5) / width * (xs[-1] - xs[0])
    py = ys[-1] - (np.arange(height) + 0.5) / height * (ys[-1] - ys[0])  # top row first
    fi = np.interp(px, xs, np.arange(xs.size))
    fj = np.interp(py, ys, np.arange(ys.size))
    i0 = np.minimum(fi.astype(int), xs.size - 2)
    j0 = np.minimum(fj.astype(int), ys.size - 2)
    wi = (fi - i0).astype(np.float32)[None, :]
    wj = (fj - j0).astype(np.float32)[:, None]
    rows = u[:, i0] * (1 - wi) + u[:, i0 + 1] * wi  # bilinear, one axis at a time
    img = rows[j0] * (1 - wj) + rows[j0 + 1] * wj
    with np.errstate(invalid="ignore"):
        band = np.floor(img)
    band = np.where(np.isfinite(band), np.clip(band, 0, levels.bands - 1), levels.bands - 1)
    band = band.astype(np.uint8)
    edge = np.zeros(band.shape, dtype=bool)
    edge[:, 1:] |= band[:, 1:] != band[:, :-1]
    edge[1:, :] |= band[1:, :] != band[:-1, :]
    index = band + levels.bands * edge.astype(np.uint8)  # edge pixels use the darker palette half
    colours = np.array(levels.band_colours(), dtype=float)
    palette = np.concatenate([colours, colours * CONTOUR_SHADE]).round().astype(np.uint8)
    image = Image.fromarray(index, mode="P")
    image.putpalette(palette.ravel().tolist())
    buffer = io.BytesIO()
    image.save(
        buffer, format="PNG"
    )  # default zlib level: 1/4 the time of optimize=True, +15 % size
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


@register_cache
@functools.lru_cache(maxsize=32)
def surface_image(surface: Surface, log_colour: bool, width: int, height: int) -> str:
    """``surface_png`` of a surface, remembered: the page redraws the same surface on every
    rerun (surfaces compare by identity, and the page keeps one object per landscape)."""
    levels = levels_for(surface, log_colour)
    return surface_png(surface.xs, surface.ys, surface.z, levels, width, height)


def colour_bar(levels: ColourLevels, x: float, y: float, title: str) -> dict[str, Any]:
    """One invisible point whose colour scale draws the surface's colour bar (a trace dict)."""
    tickvals, ticktext = levels.ticks()
    return {
        "type": "scatter",
        "x": [x],
        "y": [y],
        "mode": "markers",
        "marker": {
            "color": [levels.vmin],
            "cmin": levels.vmin,
            "cmax": levels.vmax,
            "colorscale": levels.colorscale(),
            "showscale": True,
            "opacity": 0,
            "size": 1,
            "colorbar": {
                "title": {"text": title, "side": "top", "font": {"size": SMALL_FONT}},
                "tickvals": tickvals,
                "ticktext": ticktext,
                "tickfont": {"size": SMALL_FONT},
                "thickness": 16,
                "len": 0.9,
                "x": 1.02,
                "xanchor": "left",
                "y": 0.0,
                "yanchor": "bottom",
                "outlinewidth": 0,
            },
        },
        "hoverinfo": "skip",
        "showlegend": False,
        "name": "colour bar",
    }


def colour_bar_trace(levels: ColourLevels, x: float, y: float, title: str) -> go.Scatter:
    """``colour_bar`` as a validated ``go.Scatter`` (for figures built with graph objects)."""
    return go.Scatter(colour_bar(levels, x, y, title))


def grid_image(xs: np.ndarray, ys: np.ndarray, source: str) -> dict[str, Any]:
    """A layout image (a PNG data URL, first row at the top) stretched over the grid's extent,
    below the traces: a surface that stays visible while Plotly animates the traces."""
    return {
        "source": source,
        "xref": "x",
        "yref": "y",
        "x": float(xs[0]),
        "y": float(ys[-1]),
        "sizex": float(xs[-1] - xs[0]),
        "sizey": float(ys[-1] - ys[0]),
        "xanchor": "left",
        "yanchor": "top",
        "sizing": "stretch",
        "layer": "below",
    }


def subsample(n: int, most: int) -> np.ndarray:
    return np.unique(np.linspace(0, n - 1, min(n, most)).round().astype(int))
