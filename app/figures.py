"""Figure builders: pure functions from the engine's numpy results to Plotly figures.

Like ``plotly.express``, every function takes data and returns a figure (or rows for a table)
that the caller hands to ``st.plotly_chart``; nothing is shown here and nothing is optimised
here. The only arithmetic is presentation: colour levels, hiding non-finite points, one display
factor for the step arrows, choosing which steps become frames.

Lessons of Plotly 7.1 / Streamlit 1.67 that shape this module (see ``DESIGN.md``):

* the explorer's figures are written as plain dicts (``RawFigure``), never as Plotly's validated
  objects: ``go.Scatter`` / ``go.Frame`` validation, ``make_subplots``, ``update_layout`` and the
  deep copies of ``to_dict`` cost tens of milliseconds per figure, the dicts well under one.
  Plotly's validators still check every dict, in the tests (``RawFigure.validated``);
* what does not change between reruns is remembered: a surface's static traces and layout
  (surfaces are compared by identity), each run's drawing data (runs are remembered by
  identity, see ``_ByIdentity``), and whole figures for an unchanged scene;
* the surface is a layout *image* (a banded PNG), not a contour trace: a contour or heatmap trace
  vanishes while Plotly animates other traces of the same axes (plotly.js issues 4491, 4596);
* animation frames carry only what moves (each run's marker, a short tail and the three step
  arrows) as short Python lists, never the path so far, which would grow as steps²; at most
  ``max_frames`` frames. Large arrays (paths, grids) are float32 typed arrays (base64, as
  Plotly's own ``to_dict`` writes numpy arrays); the tiny per-frame arrays are rounded lists;
* clicks on a layout image return nothing: an invisible grid of points (``CLICK_GRID_NAME``)
  makes ``on_select`` report where the user clicked (see the hover note below for why it comes
  first among the traces).
"""

from __future__ import annotations

import base64
import functools
import io
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from _plotly_utils.utils import to_typed_array_spec
from PIL import Image

import optimizers

if TYPE_CHECKING:  # plain data containers; importing them at runtime would pull in streamlit
    from .compute import Point, Run, Surface

T = TypeVar("T")

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision
# deficiency. Ordered for a light grey surface: yellow (weak on white) and black (weak on dark
# grey) come last.
OKABE_ITO = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow
)
# Current-position symbols, so runs differ in shape as well as colour (projectors, grey prints).
END_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "pentagon", "hexagon", "star", "cross")
# The same idea in 3-D, where Plotly knows fewer symbols.
END_SYMBOLS_3D = (
    "circle",
    "square",
    "diamond",
    "cross",
    "x",
    "circle-open",
    "square-open",
    "diamond-open",
)
FONT_SIZE = 18  # readable from the back of a lecture room
SMALL_FONT = 16  # ticks, legend, slider labels: the smallest text drawn
PLOT_SIZE = 480  # pixels along the longer side of the 2-D plot area: on a 720 px projector
# frames of the contour's player: each names every trace, and the browser re-reads them all at every
# update of the chart (a change of learning rate): 60 instead of 120 cut that update from about
# 1.2 s to 0.8 s in headless Chromium (bench/app_browser.py); the tail of 10 steps bridges the gap
MAX_FRAMES = 60
CLICK_GRID_NAME = "click grid"  # name and legendgroup of the invisible grid that catches clicks
# pixels between the click grid's points (23 x 23 on a 540 px plot): a click starts a run at
# most 12 px from where it landed. Every point is an SVG node the browser rebuilds at each update:
# at 18 px (31 x 31) the contour took about 950 ms to redraw after a change in headless
# Chromium, at 24 px about 770 ms (bench/app_browser.py)
CLICK_GRID_SPACING = 24
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
ARROW_FRACTION = 0.12  # the longest arrow at the shown step, as a fraction of the domain diagonal
MIN_ARROW = 0.002  # arrows shorter than this fraction of the diagonal are not drawn
MAX_ARROW_FACTOR = 1000.0  # arrows still shorter than MIN_ARROW then are not drawn
FAR = 1000.0  # points farther than this many domain diagonals are not drawn
ARROW_CAP = 0.35  # in other frames (same factor) arrows longer than this fraction are shortened
TAIL = 10  # steps of recent path drawn thick under each moving marker
SPEEDS = (("0.5×", 200), ("1×", 100), ("2×", 50), ("4×", 25))  # label, milliseconds per frame
ARROW_GREY = "#4d4d4d"  # the gradient and momentum arrows; their heads take the run colour
BOX_FRACTION = 0.05  # the largest per-axis box at the shown step: half-side / domain diagonal
BOX_LABEL = "per-axis effective lr (box half-sides){factor}"
ARROW_KINDS = (
    # key, legend name, dash, width
    ("gradient", "gradient step −lr·∇f{factor}", "dash", 2.0),
    ("velocity", "momentum step −lr·v{factor}", "dot", 2.5),
    ("update", "actual step x<sub>k+1</sub>−x<sub>k</sub>{factor}", "solid", 3.5),
)
POINT_STYLE = {
    "global": {"symbol": "star", "size": 18, "name": "global minimum", "color": "#FFC20A"},
    "local": {"symbol": "star-open", "size": 18, "name": "local minimum", "color": "#000000"},
    "saddle": {"symbol": "x-thin-open", "size": 16, "name": "saddle point", "color": "#000000"},
}
_KEEP_OPACITY = {"marker": {"opacity": 1}}  # a click selection must not fade the other markers
# Hover note. Plotly's "closest" hover gives a point under the cursor the distance
# max(d - r, 1 - 3 / r), r its marker radius (at least 3 px): the larger the marker, the larger
# its floor. The click grid's radius (CLICK_GRID_SPACING / 2) is at least every hoverable
# marker's, and it comes first (a later trace wins ties), so markers and minima answer the hover
# over them and the grid answers everywhere else; with half the spacing as its radius, at most one
# grid point is that close to the cursor, so a click lands on the nearest one.


# --- small helpers --------------------------------------------------------------------------------


class FramedFigure(go.Figure):
    """A figure whose animation frames stay plain dicts.

    Plotly validates every frame into objects (``go.Frame``, ``go.Scatter``): for a hundred frames
    that is most of the figure's build time, and Streamlit's ``to_dict`` then deep-copies them
    all. The frames here are built from validated pieces already, so ``to_dict`` (what
    ``st.plotly_chart`` and ``to_json`` serialise) appends them as they are; ``raw_layout``
    (the player's buttons and its slider of one step per frame) likewise.
    """

    def __init__(
        self,
        *args: Any,
        raw_frames: Sequence[dict[str, Any]] = (),
        raw_layout: dict[str, Any] | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self._raw_frames = list(raw_frames)
        self._raw_layout = dict(raw_layout or {})

    @property
    def raw_frames(self) -> list[dict[str, Any]]:
        return self._raw_frames

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["layout"].update(self._raw_layout)
        if self._raw_frames:
            out["frames"] = self._raw_frames
        return out

    def to_plotly_json(self) -> dict[str, Any]:
        return self.to_dict()


class RawFigure(go.Figure):
    """A complete figure kept as a plain dict (``{"data": [...], "layout": {...}, "frames":
    [...]}``) that Streamlit and ``plotly.io`` take as a ``go.Figure``.

    Plotly's validated objects (``go.Scatter``, ``go.Frame``, ``update_layout``,
    ``make_subplots``) and the deep copies of their ``to_dict`` are most of a figure's build
    time. ``st.plotly_chart`` (through ``plotly.tools.return_figure_from_figure_or_data``) and
    every ``plotly.io`` function (``to_json``, ``to_html``, ``write_html``, ``show``) read a
    figure through ``to_dict()`` only, which here returns the dict as it is: a shallow copy of
    its top level, never a deep copy (treat what is inside as read-only: the builders share it
    with their caches). Big arrays are typed-array specs (``{"dtype": "f4", "bdata": ...}``),
    as Plotly's own ``to_dict`` writes numpy arrays.

    Nothing is validated on the way. ``validated()`` builds the equivalent ``go.Figure`` and
    raises on any invalid property: the tests call it on every builder's output. Plotly's
    object API (``.data``, ``.layout``, ``update_layout``, ``add_trace``...) still works: its
    first use builds the validated objects inside this figure (at ``go.Figure``'s cost, and
    raising on an invalid property), which from then on is an ordinary ``go.Figure`` whose
    ``to_dict`` reflects the changes; the shared dict is never changed.
    """

    def __init__(self, figure: dict[str, Any]) -> None:
        # go.Figure.__init__ is not called here on purpose: it would validate the whole dict
        self._figure = figure
        self._state = "raw"  # "raw", "building" (go.Figure.__init__ running), "validated"

    @property
    def figure(self) -> dict[str, Any]:
        """The figure dict as built (read-only by convention; without later object-API edits)."""
        return self._figure

    @property
    def is_raw(self) -> bool:
        """True until Plotly's object API was used on this figure."""
        return self._state == "raw"

    def to_dict(self) -> dict[str, Any]:
        if self._state == "raw":
            return dict(self._figure)
        return super().to_dict()

    def to_plotly_json(self) -> dict[str, Any]:
        return self.to_dict()

    def validated(self) -> go.Figure:
        """The same figure as a new validated ``go.Figure`` (typed arrays decoded to numpy
        arrays, so the validators check them too); raises ``ValueError`` on any invalid
        property."""
        return go.Figure(_decode_arrays(self.to_dict()))

    def __getattr__(self, name: str) -> Any:
        # Reached only for attributes this object lacks: on the first use of Plotly's object
        # API, the internals that go.Figure.__init__ sets (_data_objs, _layout_obj, ...).
        state = self.__dict__.get("_state")
        if state != "raw" or name.startswith("__") or name not in _figure_internals():
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        with _BUILDING:
            if self._state == "raw":
                self._state = "building"
                try:
                    go.Figure.__init__(self, _decode_arrays(self._figure))
                except BaseException:
                    self._state = "raw"
                    raise
                self._state = "validated"
        return getattr(self, name)

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.__class__, (self.to_dict(),))

    def __repr__(self) -> str:
        if self._state != "raw":
            return super().__repr__()
        fig = self._figure
        return f"RawFigure({len(fig.get('data', []))} traces, {len(fig.get('frames', []))} frames)"


_BUILDING = threading.RLock()  # one RawFigure at a time turns into validated objects


@functools.lru_cache(maxsize=1)
def _figure_internals() -> frozenset[str]:
    """The attributes ``go.Figure.__init__`` sets (what the object API reads)."""
    return frozenset(vars(go.Figure()))


_TYPED_NAMES = {
    "int8": "i1",
    "uint8": "u1",
    "int16": "i2",
    "uint16": "u2",
    "int32": "i4",
    "uint32": "u4",
    "float32": "f4",
    "float64": "f8",
}


def typed_array(a: np.ndarray) -> dict[str, str] | list[Any]:
    """A numpy array as Plotly's typed-array spec, exactly as a validated figure's ``to_dict``
    writes it (``_plotly_utils.utils.to_typed_array_spec``): base64 of the raw little-endian
    values, with the shape for 2-D arrays; an empty array is an empty list."""
    a = np.ascontiguousarray(a)
    if a.size == 0:
        return []
    name = _TYPED_NAMES.get(str(a.dtype))
    if name is None:  # e.g. int64: Plotly's own rules (downcast to the smallest integer type)
        return to_typed_array_spec(a)
    spec = {"dtype": name, "bdata": base64.b64encode(a.data).decode("ascii")}
    if a.ndim > 1:
        spec["shape"] = str(a.shape)[1:-1]
    return spec


def _decode_arrays(value: Any) -> Any:
    """A copy of a figure dict with every typed-array spec back as a numpy array."""
    if isinstance(value, dict):
        if "bdata" in value and "dtype" in value:
            out = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
            shape = value.get("shape")
            return out.reshape([int(n) for n in shape.split(",")]) if shape else out
        return {key: _decode_arrays(v) for key, v in value.items()}
    if isinstance(value, list | tuple):
        return [_decode_arrays(v) for v in value]
    return value


@functools.lru_cache(maxsize=4)
def _template_of(name: str | None) -> dict[str, Any] | None:
    return go.Figure().to_dict()["layout"].get("template")


def template_layout(**items: Any) -> dict[str, Any]:
    """A layout dict with the default template, which a validated ``go.Figure`` adds itself."""
    template = _template_of(pio.templates.default)
    return {"template": template, **items} if template else items


class _ByIdentity:
    """A small least-recently-used cache keyed by the identity of objects plus a hashable key.

    ``Run`` is a frozen dataclass of numpy arrays and a dict: not hashable, and two equal runs
    need not be the same object; ``compute`` hands out one shared object per cached run. An
    entry keeps its objects alive, so no other object can take their ``id`` while the entry
    exists, and a hit checks identity (``is``) as well."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._store: OrderedDict[Hashable, tuple[tuple[Any, ...], Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, objects: tuple[Any, ...], key: Hashable, build: Callable[[], T]) -> T:
        """The value for (``objects`` by identity, ``key``), built by ``build()`` on a miss."""
        full = (tuple(map(id, objects)), key)
        with self._lock:
            hit = self._store.get(full)
            if hit is not None and all(a is b for a, b in zip(hit[0], objects, strict=True)):
                self._store.move_to_end(full)
                return hit[1]
        value = build()
        with self._lock:
            self._store[full] = (objects, value)
            self._store.move_to_end(full)
            while len(self._store) > self._size:
                self._store.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._store.clear()


_RUN_PIECES = _ByIdentity(512)  # per-run drawing data: tracks, 3-D lines, curves
_FIGURES = _ByIdentity(12)  # figure dicts of a scene: a rerun where nothing changed


def clear_caches() -> None:
    """Forget every remembered figure and piece (the benchmark's cold runs)."""
    _RUN_PIECES.clear()
    _FIGURES.clear()
    for cached in (_surface_image, _contour_base, _surface3d_base, _template_of):
        cached.cache_clear()


def plot_area(
    domain: tuple[tuple[float, float], tuple[float, float]], size: int = PLOT_SIZE
) -> tuple[int, int]:
    """Pixel width and height of a plot area with equal x and y scales; the longer side is ``size``.

    The shorter side is at least ``size / 3``: a very elongated domain is shown with a margin
    around it rather than as a thin strip.
    """
    (x0, x1), (y0, y1) = domain
    aspect = (x1 - x0) / (y1 - y0)
    if aspect >= 1:
        return size, max(round(size / aspect), size // 3)
    return max(round(size * aspect), size // 3), size


def colour(i: int) -> str:
    """The ``i``-th colour of the (cycled) Okabe-Ito palette."""
    return OKABE_ITO[i % len(OKABE_ITO)]


def symbol(i: int) -> str:
    """The ``i``-th run's marker symbol."""
    return END_SYMBOLS[i % len(END_SYMBOLS)]


def slot(run: Run, i: int) -> int:
    """The colour slot of ``run``, the ``i``-th run of a figure: its own (``Run.slot``, kept
    when other runs are added or removed), else its position."""
    return i if run.slot is None else run.slot


def number_text(value: float | None, digits: int = 3) -> str:
    """Short text for a number: ``digits`` significant digits; "—" for a missing value (None or
    nan), "∞" / "−∞" for an infinite one; never "None", "nan" or "Infinity"."""
    if value is None:
        return "—"
    value = float(value)
    if math.isnan(value):
        return "—"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    text = f"{value:.{digits}g}"
    return "0" if text == "-0" else text


def position_text(x: float, y: float, digits: int = 3) -> str:
    """A point as "(1.00, -0.944)": ``digits`` significant digits, trailing zeros kept so the
    two coordinates read alike; "—" for a coordinate that is missing, "∞" for an infinite one."""

    def one(v: float) -> str:
        v = float(v)
        if not math.isfinite(v):
            return number_text(v)
        text = f"{v:#.{digits}g}".rstrip(".")
        return text[1:] if text.startswith("-") and float(text) == 0 else text

    return f"({one(x)}, {one(y)})"


def _fmt(value: float, digits: int = 3) -> str:
    """Short text for a number: ``digits`` significant digits, '—' when not finite."""
    if value is None or not math.isfinite(value):
        return "—"
    return number_text(value, digits)


def _pair(v: np.ndarray) -> str:
    return f"({_fmt(float(v[0]))}, {_fmt(float(v[1]))})"


def _finite_f32(a: np.ndarray) -> np.ndarray:
    """float32 copy of ``a`` (values beyond float32 become inf, and are then dropped as non-finite)."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.asarray(a, dtype=np.float32)
    return out


def _finite_rows(a: np.ndarray) -> np.ndarray:
    """Mask of the rows of an (n, d) or values of an (n,) float32 array that are finite."""
    ok = np.isfinite(a)
    return ok.all(axis=1) if ok.ndim == 2 else ok


def _steps_array(steps: np.ndarray) -> np.ndarray:
    """Step numbers in the smallest integer type that holds them (compact base64 in the JSON)."""
    return steps.astype(np.int16 if steps.size == 0 or steps.max() < 2**15 else np.int32)


def _diag(domain: tuple[tuple[float, float], tuple[float, float]]) -> float:
    (x0, x1), (y0, y1) = domain
    return math.hypot(x1 - x0, y1 - y0)


def _decimals(domain: tuple[tuple[float, float], tuple[float, float]]) -> int:
    """Decimals that resolve 1/100000 of the domain diagonal (far below a pixel)."""
    return max(0, 5 - math.floor(math.log10(_diag(domain))))


def _rounded(values: np.ndarray, decimals: int) -> list[float]:
    """A short list of plain floats (compact JSON; tiny lists build faster than numpy arrays)."""
    return np.round(np.asarray(values, dtype=np.float64), decimals).tolist()


def minima_points(points: Sequence[Point]) -> list[Point]:
    """The known minima (global and local), in order: ``Run.minimum`` indexes this list."""
    return [p for p in points if p.kind in ("global", "local")]


def minimum_label(points: Sequence[Point], index: int) -> str:
    """E.g. "global (1.00, 1.00)" or "local (-0.944, 0.944)"; "—" for -1 or an unknown index."""
    minima = minima_points(points)
    if not 0 <= index < len(minima):
        return "—"
    p = minima[index]
    return f"{p.kind} {position_text(p.x, p.y)}"


# --- colour levels --------------------------------------------------------------------------------


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


def _levels_for(surface: Surface, log_colour: bool, floor: float = 1e-6) -> ColourLevels:
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


@functools.lru_cache(maxsize=32)
def _surface_image(surface: Surface, log_colour: bool, width: int, height: int) -> str:
    """``surface_png`` of a surface, remembered: the page redraws the same surface on every
    rerun (surfaces compare by identity, and the page keeps one object per landscape)."""
    levels = _levels_for(surface, log_colour)
    return surface_png(surface.xs, surface.ys, surface.z, levels, width, height)


def _colour_bar(levels: ColourLevels, x: float, y: float, title: str) -> dict[str, Any]:
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


def _colour_bar_trace(levels: ColourLevels, x: float, y: float, title: str) -> go.Scatter:
    """``_colour_bar`` as a validated ``go.Scatter`` (for figures built with graph objects)."""
    return go.Scatter(_colour_bar(levels, x, y, title))


# --- the 2-D view ---------------------------------------------------------------------------------


def _points_traces(points: Sequence[Point]) -> list[dict[str, Any]]:
    traces = []
    for rank, kind in enumerate(("global", "local", "saddle")):
        chosen = [p for p in points if p.kind == kind]
        if not chosen:
            continue
        style = POINT_STYLE[kind]
        traces.append(
            {
                "type": "scatter",
                "x": [p.x for p in chosen],
                "y": [p.y for p in chosen],
                "customdata": [p.value for p in chosen],
                "mode": "markers",
                "name": style["name"],
                "legendrank": 900 + rank,
                "marker": {
                    "symbol": style["symbol"],
                    "size": style["size"],
                    "color": style["color"],
                    "line": {"width": 2, "color": "#000000"},
                },
                "unselected": _KEEP_OPACITY,
                "hovertemplate": f"{style['name']}<br>(%{{x:.4g}}, %{{y:.4g}})<br>"
                "f = %{customdata:.5g}<extra></extra>",
            }
        )
    return traces


def _update_index(run: Run, step: int) -> int:
    """The update drawn at ``step``: update ``step`` (x_step -> x_step+1), the last one at T."""
    return min(step, len(run.updates) - 1)


def arrow_vectors(run: Run, step: int) -> dict[str, np.ndarray]:
    """The run's three step vectors at ``step``, in data units, before the display factor.

    ``gradient``: -lr * grad f(x_j); ``velocity``: -lr * v_j (momentum-like optimizers only);
    ``update``: x_{j+1} - x_j; with j = min(step, T - 1), so the last step shows the last update.
    Vectors that are not finite or zero are left out. The arrows start at ``positions[j]``.
    """
    if len(run.updates) == 0:
        return {}
    j = _update_index(run, step)
    return {kind: v[j] for kind, v in all_arrow_vectors(run).items() if not np.isnan(v[j, 0])}


def all_arrow_vectors(run: Run) -> dict[str, np.ndarray]:
    """``arrow_vectors`` of every update index j = 0 .. T-1 at once: kind -> (T, 2) array with
    NaN rows where ``arrow_vectors`` leaves that kind out."""
    if len(run.updates) == 0:
        return {}
    candidates = {"update": np.diff(run.positions, axis=0)}
    if math.isfinite(run.lr):
        candidates["gradient"] = -run.lr * run.gradients[:-1]
        candidates["velocity"] = -run.lr * run.velocity
    origin_ok = np.isfinite(run.positions[:-1]).all(-1)
    out = {}
    for kind, vec in candidates.items():
        vec = np.asarray(vec, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            keep = origin_ok & np.isfinite(vec).all(-1) & (vec != 0).any(-1)
        out[kind] = np.where(keep[:, None], vec, np.nan)
    return out


def _inside(xy: np.ndarray, domain: tuple[tuple[float, float], tuple[float, float]]) -> bool:
    (x0, x1), (y0, y1) = domain
    return bool(x0 <= xy[0] <= x1 and y0 <= xy[1] <= y1)


def arrow_factor(
    runs: Sequence[Run], step: int, domain: tuple[tuple[float, float], tuple[float, float]]
) -> float:
    """One display factor for every arrow: the longest arrow at ``step`` that starts inside the
    domain becomes about ``ARROW_FRACTION`` of the domain diagonal (a run far outside, about to
    diverge, does not shrink everyone's arrows to nothing). Rounded to two significant digits,
    at most ``MAX_ARROW_FACTOR`` (steps of converged runs are noise, not worth a magnifier);
    1 if there is no such arrow."""
    return _arrow_factor(runs, [all_arrow_vectors(run) for run in runs], step, domain)


def _arrow_factor(
    runs: Sequence[Run],
    vectors: Sequence[dict[str, np.ndarray]],
    step: int,
    domain: tuple[tuple[float, float], tuple[float, float]],
) -> float:
    """``arrow_factor`` with each run's ``all_arrow_vectors`` given (``vectors``)."""
    lengths = []
    for run, per_kind in zip(runs, vectors, strict=True):
        if not len(run.updates):
            continue
        j = _update_index(run, step)
        if not _inside(run.positions[j], domain):
            continue
        lengths += [float(np.hypot(*v[j])) for v in per_kind.values() if not np.isnan(v[j, 0])]
    longest = max(lengths, default=0.0)
    if not longest > 0 or not math.isfinite(longest):
        return 1.0
    return min(float(f"{ARROW_FRACTION * _diag(domain) / longest:.2g}"), MAX_ARROW_FACTOR)


@dataclass(frozen=True)
class _View:
    """What the animated traces of one figure share: the arrows' factor and cap, the rounding,
    and the drawable region (points farther than ``FAR`` diagonals from the domain's centre are
    off any screen and beyond what a browser can draw, so they are left out like NaN)."""

    factor: float
    cap: float
    decimals: int
    centre: tuple[float, float]
    far: float
    box_factor: float = 0.0  # effective lr -> box half-side (0: no boxes)

    @classmethod
    def of(
        cls,
        domain: tuple[tuple[float, float], tuple[float, float]],
        factor: float,
        box_factor: float = 0.0,
    ) -> _View:
        (x0, x1), (y0, y1) = domain
        diag = _diag(domain)
        centre = ((x0 + x1) / 2, (y0 + y1) / 2)
        return cls(factor, ARROW_CAP * diag, _decimals(domain), centre, FAR * diag, box_factor)

    def drawable(self, xy: np.ndarray) -> np.ndarray:
        """Mask of the rows of an (n, 2) array that are finite and not too far to draw."""
        xy = np.asarray(xy, dtype=np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            return (np.abs(xy - self.centre) <= self.far).all(axis=-1)


@dataclass(frozen=True)
class _Track:
    """One run's drawing data in one view geometry (rounding and drawable region), computed once
    per run and read by every frame of every figure that draws the run."""

    rounded: np.ndarray  # (T+1, 2) positions rounded to the view's decimals
    drawable: np.ndarray  # (T+1,) bool
    last_hidden: np.ndarray  # (T+1,) the last step <= k that is not drawable, -1 if none
    vectors: dict[str, np.ndarray]  # all_arrow_vectors(run)
    path: tuple[Any, Any]  # the whole path, one point per step, NaN where not drawable (x, y)
    now: dict[int, dict[str, Any]] = field(default_factory=dict)  # marker data per step, lazily


def _track(run: Run, view: _View) -> _Track:
    def build() -> _Track:
        drawable = view.drawable(run.positions)
        steps = np.arange(len(drawable))
        path = _finite_f32(run.positions)
        path[~(_finite_rows(path) & drawable)] = np.nan
        return _Track(
            rounded=np.round(np.asarray(run.positions, dtype=np.float64), view.decimals),
            drawable=drawable,
            last_hidden=np.maximum.accumulate(np.where(drawable, -1, steps)),
            vectors=all_arrow_vectors(run),
            path=(typed_array(path[:, 0]), typed_array(path[:, 1])),
        )

    return _RUN_PIECES.get((run,), ("track", view.decimals, view.centre, view.far), build)


def _marker_text(run: Run, step: int) -> str:
    k = min(step, len(run.losses) - 1)
    lines = [
        f"step {k}   f = {_fmt(float(run.losses[k]), 4)}",
        f"|∇f| = {_fmt(float(run.grad_norms[k]))}",
    ]
    if len(run.effective_lr):
        j = _update_index(run, k)
        lines.append(f"effective lr (x, y) = {_pair(run.effective_lr[j])}")
    return "<br>".join(lines)


def _now(run: Run, track: _Track, step: int) -> dict[str, Any]:
    """The run's current position at ``step`` (one point, with the hover text), or a null point
    (an empty array would make Plotly's animation keep the previous frame's point);
    remembered in ``track``."""
    k = min(step, len(track.drawable) - 1)
    now = track.now.get(step)
    if now is None:
        if track.drawable[k]:
            x, y = track.rounded[k].tolist()
            now = {"x": [x], "y": [y], "text": [_marker_text(run, k)]}
        else:
            now = {"x": [None], "y": [None], "text": [""]}
        track.now[step] = now
    return now


def _lists(values: np.ndarray) -> list[list[float | None]]:
    """The rows of a 2-D float array as lists, NaN as None (null in the JSON)."""
    out = values.astype(object)
    out[np.isnan(values)] = None
    return out.tolist()


def _arrow_slots(
    run: Run, track: _Track, steps: np.ndarray, view: _View
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per kind, the (x, y) of the arrow drawn at each of ``steps``, as (len(steps), 2) arrays
    of rounded (origin, tip), NaN where there is no arrow.

    At step k: update j = min(k, T - 1) (``arrow_vectors``), from ``positions[j]`` if that is
    drawable; the vector times the view's factor, left out under ``MIN_ARROW`` of the diagonal
    (a head with no direction), shortened to the view's cap when longer."""
    if len(run.updates) == 0:
        return {}
    js = np.minimum(steps, len(run.updates) - 1)
    origin = np.asarray(run.positions, dtype=np.float64)[js]
    origin_ok = track.drawable[js]
    shortest = MIN_ARROW * view.cap / ARROW_CAP  # under a pixel
    out = {}
    for kind, vectors in track.vectors.items():
        vec = vectors[js]
        shown = vec * view.factor
        length = np.hypot(shown[:, 0], shown[:, 1])
        with np.errstate(invalid="ignore"):
            ok = origin_ok & ~np.isnan(vec[:, 0]) & ~(length < shortest)
            long = ok & (length > view.cap)
        shown[long] = shown[long] * (view.cap / length[long])[:, None]
        tip = origin + shown
        xs = np.round(np.stack([origin[:, 0], tip[:, 0]], axis=1), view.decimals)
        ys = np.round(np.stack([origin[:, 1], tip[:, 1]], axis=1), view.decimals)
        xs[~ok] = np.nan
        ys[~ok] = np.nan
        out[kind] = xs, ys
    return out


def adaptive(run: Run) -> bool:
    """Whether the run's optimizer scales each axis by its own second-moment estimate (Adagrad,
    RMSprop, the Adam family): the runs that get per-axis boxes."""
    return optimizers.get(run.name).second_moment_key is not None


def box_factor(
    runs: Sequence[Run], step: int, domain: tuple[tuple[float, float], tuple[float, float]]
) -> float:
    """One display factor for the per-axis boxes: the largest effective learning rate of an
    adaptive run at ``step`` becomes a half-side of ``BOX_FRACTION`` of the domain diagonal
    (two significant digits); 0 when no adaptive run has one."""
    largest = 0.0
    for run in runs:
        if adaptive(run) and len(run.effective_lr):
            row = np.abs(run.effective_lr[_update_index(run, step)])
            if np.isfinite(row).all():
                largest = max(largest, float(row.max()))
    if not largest > 0:
        return 0.0
    return float(f"{BOX_FRACTION * _diag(domain) / largest:.2g}")


def _box_slots(
    run: Run, track: _Track, steps: np.ndarray, view: _View
) -> tuple[np.ndarray, np.ndarray] | None:
    """The box drawn at each of ``steps`` around the run's position: (len(steps), 5) x and y of
    its closed outline, half-sides ``view.box_factor`` times the per-axis effective learning
    rate of update j = min(k, T - 1) (capped at the arrows' cap); NaN where not drawn. None for
    a run that gets no box."""
    if view.box_factor <= 0 or not len(run.effective_lr) or not adaptive(run):
        return None
    k = np.minimum(steps, len(track.drawable) - 1)
    centre = track.rounded[k]  # (n, 2)
    half = np.abs(run.effective_lr[np.minimum(steps, len(run.effective_lr) - 1)]) * view.box_factor
    with np.errstate(invalid="ignore"):
        ok = track.drawable[k] & np.isfinite(half).all(-1)
    half = np.minimum(np.nan_to_num(half), view.cap)
    sx, sy = np.array([-1, 1, 1, -1, -1]), np.array([-1, -1, 1, 1, -1])
    xs = np.round(centre[:, :1] + sx * half[:, :1], view.decimals)
    ys = np.round(centre[:, 1:] + sy * half[:, 1:], view.decimals)
    xs[~ok] = np.nan
    ys[~ok] = np.nan
    return xs, ys


_TAIL_OFFSETS = np.arange(-TAIL, 1)


def _moving(
    runs: Sequence[Run], tracks: Sequence[_Track], steps: Sequence[int], view: _View, arrows: bool
) -> list[list[dict[str, Any]]]:
    """For each of ``steps``, the data of every animated trace, in the order the traces are
    added: the two shared arrow traces and the shared trace of per-axis boxes (if ``arrows``),
    each run's trail (and actual-step arrow), each run's current position.

    An arrow trace has three slots per run (origin, tip, gap; null where the run has no such
    arrow). A trail has fixed slots (so the per-point marker sizes can be static): the last
    ``TAIL`` + 1 drawable positions up to the current one, oldest first, null-padded in front;
    then, if ``arrows``, a gap and the actual-step arrow (origin, tip)."""
    ks = np.asarray(steps, dtype=int)
    n = len(ks)
    gap = np.full((n, 1), np.nan)
    shared: dict[str, list[np.ndarray]] = {"gradient": [], "velocity": [], "box": []}
    trails = []
    for run, track in zip(runs, tracks, strict=True):
        k = np.minimum(ks, len(track.drawable) - 1)[:, None]
        index = k + _TAIL_OFFSETS  # (n, TAIL + 1), oldest first
        shown = (index >= 0) & (index > track.last_hidden[k]) & track.drawable[k]
        rows = track.rounded[np.maximum(index, 0)]  # (n, TAIL + 1, 2)
        tail_x = np.where(shown, rows[..., 0], np.nan)
        tail_y = np.where(shown, rows[..., 1], np.nan)
        if arrows:
            slots = _arrow_slots(run, track, ks, view)
            none = np.full((n, 2), np.nan)
            for kind in ("gradient", "velocity"):
                x, y = slots.get(kind, (none, none))
                shared[kind] += [np.hstack([x, gap]), np.hstack([y, gap])]
            box = _box_slots(run, track, ks, view)
            if box is not None:  # only the runs with boxes take slots in the box trace
                shared["box"] += [np.hstack([box[0], gap]), np.hstack([box[1], gap])]
            x, y = slots.get("update", (none, none))
            tail_x = np.hstack([tail_x, gap, x])
            tail_y = np.hstack([tail_y, gap, y])
        trails.append((_lists(tail_x), _lists(tail_y)))
    arrow_data = []
    if arrows:
        for blocks in shared.values():
            x = np.hstack(blocks[0::2]) if blocks else np.empty((n, 0))
            y = np.hstack(blocks[1::2]) if blocks else np.empty((n, 0))
            arrow_data.append((_lists(x), _lists(y)))
    columns = [[{"x": x, "y": y} for x, y in zip(*xy, strict=True)] for xy in arrow_data + trails]
    for run, track in zip(runs, tracks, strict=True):
        known = track.now
        columns.append([known.get(k) or _now(run, track, k) for k in ks.tolist()])
    return [list(data) for data in zip(*columns, strict=True)] if columns else [[] for _ in ks]


def frame_steps(total: int, step: int, max_frames: int) -> list[int]:
    """Steps that become animation frames: evenly spread over 0..total, with 0, ``total`` and
    ``step`` always included, at most ``max_frames`` (at least 2) of them, in increasing order."""
    max_frames = max(int(max_frames), 2)
    step = min(max(step, 0), total)
    if total + 1 <= max_frames:
        return list(range(total + 1))
    chosen = set(np.round(np.linspace(0, total, max_frames)).astype(int).tolist())
    if step not in chosen:
        inner = sorted(chosen - {0, total}, key=lambda s: abs(s - step))
        chosen.discard(inner[0])
        chosen.add(step)
    return sorted(chosen)


def contour_figure(
    surface: Surface,
    runs: Sequence[Run],
    step: int,
    *,
    log_colour: bool,
    arrows: bool = True,
    max_frames: int = MAX_FRAMES,
    plot_size: int = PLOT_SIZE,
    axis_titles: tuple[str, str] = ("x", "y"),
) -> RawFigure:
    """The 2-D view: the surface as a banded image, every run's path, and an animated player.

    Bottom to top: the surface (a layout image, so it stays during animation), known minima and
    saddles, each run's full path as a thin line, the start, and the animated traces: if
    ``arrows``, the three step vectors of ``arrow_vectors`` from each run's position, all scaled
    by one factor (``arrow_factor``, named in the legend): the plain gradient step dashed and the
    momentum step dotted, both grey with a head in the run's colour, the actual step solid in the
    run's colour; then each run's last ``TAIL`` steps as a thick line ending in its current
    marker, whose hover gives the step, loss, gradient norm and per-axis effective learning rate.
    Under all of them, an invisible grid of points named ``CLICK_GRID_NAME`` that makes a click
    anywhere report its (x, y) (its ``legendgroup`` is ``CLICK_GRID_NAME`` too, which Streamlit's
    selection reports); a click on a marker, a minimum or the start reports that point instead.

    The data shows ``step``. At most ``max_frames`` frames (named by their step number) carry only
    the animated traces; Play / Pause / Reset and speed buttons and a step slider drive them in
    the browser. Axes are fixed to the surface's domain with equal scales; non-finite points are
    dropped, positions are never clipped, so a diverging run visibly leaves the plot. Arrows of
    other frames use the same factor; the few longer than ``ARROW_CAP`` of the diagonal are
    shortened to it (at ``step`` no arrow is longer than about ``ARROW_FRACTION``).
    ``plot_size`` is the longer side of the plot area in pixels; the figure has a fixed size.
    ``axis_titles`` name the two axes (e.g. ("α", "β") on a plane through a network's weights).

    Remembered: the same call again returns the same figure dict (in a new ``RawFigure``); the
    surface's part is kept per (surface, ``log_colour``, ``plot_size``, ``axis_titles``) and
    each run's drawing data per run.
    """
    axis_titles = (str(axis_titles[0]), str(axis_titles[1]))
    key = (
        "contour",
        int(step),
        bool(log_colour),
        bool(arrows),
        int(max_frames),
        int(plot_size),
        axis_titles,
    )
    return RawFigure(
        _FIGURES.get(
            (surface, *runs),
            key,
            lambda: _contour(
                surface, runs, step, log_colour, arrows, max_frames, plot_size, axis_titles
            ),
        )
    )


@dataclass(frozen=True)
class _ContourBase:
    """What the 2-D view draws of a surface alone (every run and step shares it)."""

    plot_w: int
    plot_h: int
    below: list[dict[str, Any]]  # the colour bar, the click grid, the minima and saddles
    image: dict[str, Any]
    xaxis: dict[str, Any]
    yaxis: dict[str, Any]


@functools.lru_cache(maxsize=32)
def _contour_base(
    surface: Surface, log_colour: bool, plot_size: int, axis_titles: tuple[str, str] = ("x", "y")
) -> _ContourBase:
    (x0, x1), (y0, y1) = surface.domain
    levels = _levels_for(surface, log_colour)
    plot_w, plot_h = plot_area(surface.domain, plot_size)
    title = "f (log scale)" if log_colour else "f"
    below = [_colour_bar(levels, (x0 + x1) / 2, (y0 + y1) / 2, title)]
    # The click grid comes before every hoverable trace: in "closest" hover a later trace wins a
    # tie, so a marker, minimum or start under the cursor shows its own hover (and a click on it
    # still reports its (x, y)); everywhere else the grid answers.
    below.append(_click_grid(surface, plot_w, plot_h))
    below += _points_traces(surface.points)
    image = grid_image(
        surface.xs, surface.ys, _surface_image(surface, log_colour, plot_w * 2, plot_h * 2)
    )
    axis = {
        "constrain": "domain",
        "showgrid": False,
        "zeroline": False,
        "ticks": "outside",
        "tickfont": {"size": SMALL_FONT},
        "showline": True,
        "linecolor": "#444444",
        "mirror": True,
    }
    title_font = {"size": FONT_SIZE}
    xaxis = {
        **axis,
        "title": {"text": axis_titles[0], "font": title_font},
        "range": [x0, x1],
        "autorange": False,
    }
    yaxis = {
        **axis,
        "title": {"text": axis_titles[1], "font": title_font},
        "range": [y0, y1],
        "autorange": False,
        "scaleanchor": "x",
        "scaleratio": 1,
    }
    return _ContourBase(plot_w, plot_h, below, image, xaxis, yaxis)


_BACKGROUND = ThreadPoolExecutor(max_workers=1, thread_name_prefix="optiscape-figures")


def prepare_contour(
    surface: Surface,
    log_colour: bool,
    plot_size: int = PLOT_SIZE,
    axis_titles: tuple[str, str] = ("x", "y"),
) -> Future:
    """Start building the surface's part of ``contour_figure`` (its image, colour bar and click
    grid) in a background thread, for a page with other work to do first (the runs): numpy and
    the PNG encoder release the GIL, so the two overlap. Wait on the future before
    ``contour_figure`` (with the same arguments), which then finds that part built."""
    titles = (str(axis_titles[0]), str(axis_titles[1]))
    return _BACKGROUND.submit(_contour_base, surface, log_colour, plot_size, titles)


def _contour(
    surface: Surface,
    runs: Sequence[Run],
    step: int,
    log_colour: bool,
    arrows: bool,
    max_frames: int,
    plot_size: int,
    axis_titles: tuple[str, str],
) -> dict[str, Any]:
    total = max((len(r.positions) - 1 for r in runs), default=0)
    step = min(max(int(step), 0), total)
    base = _contour_base(surface, log_colour, plot_size, axis_titles)
    plot_w, plot_h = base.plot_w, base.plot_h
    geometry = _View.of(surface.domain, 1.0)  # the factor does not change the tracks
    tracks = [_track(run, geometry) for run in runs]
    factor = (
        _arrow_factor(runs, [t.vectors for t in tracks], step, surface.domain) if arrows else 1.0
    )
    boxes = box_factor(runs, step, surface.domain) if arrows else 0.0
    view = _View.of(surface.domain, factor, boxes)

    traces: list[dict[str, Any]] = list(base.below)
    paths = []  # the path traces' indices: the player draws each up to the shown step
    for i, (run, track) in enumerate(zip(runs, tracks, strict=True)):
        paths.append(len(traces))
        traces.append(
            {
                "type": "scatter",
                "x": track.path[0],
                "y": track.path[1],
                "mode": "lines",
                "line": {"color": colour(slot(run, i)), "width": 2},
                "name": run.label,
                "legendgroup": f"run{i}",
                "showlegend": False,
                # no hover: a path point under the cursor would win Plotly's "closest" hover over
                # the current marker (the numbers) and over the click grid (start here)
                "hoverinfo": "skip",
            }
        )
    starts = [r.positions[0] for r in runs if np.isfinite(r.positions[0]).all()]
    starts = np.unique(np.array(starts).reshape(-1, 2), axis=0)
    if len(starts):
        traces.append(
            {
                "type": "scatter",
                "x": typed_array(starts[:, 0]),
                "y": typed_array(starts[:, 1]),
                "mode": "markers",
                "name": "start",
                "legendrank": 800,
                "marker": {
                    "symbol": "circle",
                    "size": 14,
                    "color": "#000000",
                    "line": {"width": 2.5, "color": "#ffffff"},
                },
                "unselected": _KEEP_OPACITY,
                "hovertemplate": "start (%{x:.4g}, %{y:.4g})<extra></extra>",
            }
        )

    steps = frame_steps(total, step, max_frames) if runs else []
    shown = _moving(runs, tracks, steps if step in steps else [*steps, step], view, arrows)
    now = shown[steps.index(step) if step in steps else -1]
    first_moving = len(traces)
    if arrows:
        for j, (kind, label, dash, width) in enumerate(ARROW_KINDS[:2]):
            # one grey trace for every run's arrows of this kind, heads in the run colours
            traces.append(
                {
                    "type": "scatter",
                    **now[j],
                    "mode": "lines+markers",
                    "line": {"color": ARROW_GREY, "width": width, "dash": dash},
                    "marker": {
                        "symbol": "arrow",
                        "angleref": "previous",
                        "size": [0, 13, 0] * len(runs),
                        "color": [colour(slot(r, i)) for i, r in enumerate(runs) for _ in range(3)],
                    },
                    "unselected": _KEEP_OPACITY,
                    "legendgroup": kind,
                    "showlegend": False,
                    "hoverinfo": "skip",
                    "name": label.format(factor=""),
                }
            )
        boxed = [i for i, r in enumerate(runs) if boxes > 0 and len(r.effective_lr) and adaptive(r)]
        traces.append(
            {
                "type": "scatter",
                **now[2],
                "mode": "lines",
                "line": {"color": ARROW_GREY, "width": 1.5},
                "legendgroup": "box",
                "showlegend": False,
                "hoverinfo": "skip",
                "name": BOX_LABEL.format(factor=""),
                "meta": [runs[i].label for i in boxed],  # whose boxes, in slot order
            }
        )
    offset = 3 if arrows else 0
    for i, run in enumerate(runs):  # the trail and the actual step (see _trail), in run colour
        traces.append(
            {
                "type": "scatter",
                **now[offset + i],
                "mode": "lines+markers" if arrows else "lines",
                "line": {"color": colour(slot(run, i)), "width": 3.5},
                "marker": {
                    "symbol": "arrow",
                    "angleref": "previous",
                    "size": [0] * (TAIL + 3) + [13],
                    "color": colour(slot(run, i)),
                },
                "unselected": _KEEP_OPACITY,
                "legendgroup": f"run{i}",
                "showlegend": False,
                "hoverinfo": "skip",
                "name": f"{run.label}: last {TAIL} steps" + (" and actual step" if arrows else ""),
            }
        )
    offset += len(runs)
    for i, run in enumerate(runs):  # the current position, with the numbers in its hover
        traces.append(
            {
                "type": "scatter",
                **now[offset + i],
                "mode": "markers",
                "marker": {
                    "symbol": symbol(slot(run, i)),
                    "size": 16,
                    "color": colour(slot(run, i)),
                    "line": {"width": 2, "color": "#ffffff"},
                },
                "unselected": _KEEP_OPACITY,
                "name": run.label,
                "legendgroup": f"run{i}",
                "showlegend": False,
                "hovertemplate": f"<b>{run.label}</b><br>%{{text}}<extra></extra>",
            }
        )
    moving = list(range(first_moving, len(traces)))
    legend_names = []  # per legend entry: its index and [first step, name] as the step moves
    for i, run in enumerate(runs):  # legend entries: the run's colour and symbol, always listed
        names = legend_timeline(run, total)
        legend_names.append([len(traces), names])
        traces.append(
            {
                "type": "scatter",
                "x": [None],
                "y": [None],
                "mode": "lines+markers",
                "line": {"color": colour(slot(run, i)), "width": 4},
                "marker": {
                    "symbol": symbol(slot(run, i)),
                    "size": 14,
                    "color": colour(slot(run, i)),
                },
                "name": name_at(names, step),
                "legendgroup": f"run{i}",
                "legendrank": i + 1,
                "hoverinfo": "skip",
            }
        )
    events = []  # what the diagnosis says, written at its place once the shown step reaches it
    for i, run in enumerate(runs):
        trace = _event_trace(run, i, total, step, surface.domain, plot_w)
        if trace is not None:
            events.append({"trace": len(traces), "step": int(run.event_step), "text": run.event})
            traces.append(trace)
    if arrows and runs:
        for j, (kind, label, dash, width) in enumerate(ARROW_KINDS):  # legend entries of the arrows
            traces.append(
                {
                    "type": "scatter",
                    "x": [None],
                    "y": [None],
                    "mode": "lines",
                    "line": {"color": ARROW_GREY, "width": width, "dash": dash},
                    "name": label.format(factor=f" ×{factor:g}"),
                    "legendgroup": kind,
                    "legendrank": 600 + j,
                    "hoverinfo": "skip",
                }
            )
        if boxes > 0:
            traces.append(
                {
                    "type": "scatter",
                    "x": [None],
                    "y": [None],
                    "mode": "lines",
                    "line": {"color": ARROW_GREY, "width": 1.5},
                    "name": BOX_LABEL.format(factor=f" ×{boxes:g}"),
                    "legendgroup": "box",
                    "legendrank": 600 + len(ARROW_KINDS),
                    "hoverinfo": "skip",
                }
            )

    # every trace is named in every frame ({} for the static ones): after an animation plotly.js
    # otherwise loses the static traces' nodes, and the next click on the chart throws instead
    # of reaching Streamlit (so "click to start here" would stop working after Play)
    static = list(range(first_moving)) + list(range(first_moving + len(moving), len(traces)))
    empty, order = [{}] * len(static), static + moving
    frames = [
        {"name": str(k), "data": empty + data, "traces": order}
        for k, data in zip(steps, shown, strict=False)
    ]
    names = [t["name"] for t in traces if t.get("showlegend") is not False]
    room = plot_w  # Plotly puts as many entries in a row as fit in the plot area's width
    widest = max((45 + 7.8 * len(re.sub("<[^>]+>", "", n)) for n in names), default=0)
    columns = 2 if 2 * widest <= room else 1
    legend_top = 70  # px below the plot area: under the x-axis title
    legend_height = 26 * math.ceil(len(names) / columns) + 10
    bottom = legend_top + legend_height + 10
    layout = template_layout(
        width=plot_w + 90 + 140,
        height=plot_h + 16 + bottom,
        margin={"l": 90, "r": 140, "t": 16, "b": bottom, "pad": 0},
        font={"size": FONT_SIZE},
        plot_bgcolor="#ffffff",
        uirevision=f"{surface.key}:{surface.domain}",
        hovermode="closest",
        hoverlabel={"font": {"size": SMALL_FONT}},
        legend={
            "orientation": "h",
            "x": 0.0,
            "xanchor": "left",
            "y": -legend_top / plot_h,
            "yanchor": "top",
            "font": {"size": SMALL_FONT},
            "entrywidth": room // columns - 50,  # the text; Plotly adds the symbol (~45 px)
            "entrywidthmode": "pixels",
            "itemsizing": "constant",
            "traceorder": "normal",
            "maxheight": legend_height + 20,  # pixels: never a scrolled, clipped legend
        },
        images=[base.image],
        xaxis=base.xaxis,
        yaxis=base.yaxis,
    )
    figure: dict[str, Any] = {"data": traces, "layout": layout}
    # the browser makes the figure smaller to fit the window (app.plotly_view): the plot and the
    # x axis's ticks and title (70 px below it) on the first screen, the legend may follow
    layout["meta"] = {"fit": {"below": 70, "min_plot": 320}}
    if frames:
        layout["meta"]["player"] = {
            "total": total,
            "step": step,
            "paths": paths,
            "legend": legend_names,
            "events": events,
            "frame_ms": SPEEDS[1][1],
            "speeds": [[label, ms] for label, ms in SPEEDS],
        }
        figure["frames"] = frames
    return figure


def _event_trace(
    run: Run,
    i: int,
    total: int,
    step: int,
    domain: tuple[tuple[float, float], tuple[float, float]],
    plot_w: int,
) -> dict[str, Any] | None:
    """The run's event (``Run.event``, from the diagnosis) as a small marker at ``event_at`` with
    its words beside it, in the run's colour, visible from ``event_step`` on (the player shows it
    as the step moves); None where there is no event or no drawable place.

    The words go beside the point, right of it where they fit in the plot's ``plot_w`` pixels,
    else left of it, else centred; above it in the plot's lower half, below it in the upper half,
    so they stay in the plot and away from the legend below it."""
    if not run.event or run.event_at is None or not 0 <= run.event_step <= total:
        return None
    (x0, x1), (y0, y1) = domain
    x, y = run.event_at
    inside = x0 <= x <= x1 and y0 <= y <= y1
    # the words' width in data units (about 0.55 em a character) in the smallest plot the browser
    # fits the figure to (meta.fit.min_plot, 320 px): on the side where they fit even there
    width = (len(run.event) + 1) * 0.55 * SMALL_FONT / min(max(plot_w, 1), 320) * (x1 - x0)
    if x + width <= x1:
        side = "right"
    elif x - width >= x0:
        side = "left"
    else:
        side = "center"
    level = "bottom" if y > (y0 + y1) / 2 else "top"
    pad = " " if side == "right" else ""  # a small offset from the marker
    text = f"{pad}{run.event}{' ' if side == 'left' else ''}"
    return {
        "type": "scatter",
        "x": [x],
        "y": [y],
        "mode": "markers+text",
        "text": [text],
        "textposition": f"{level} {side}",
        "textfont": {
            "color": colour(slot(run, i)),
            "size": SMALL_FONT,
            "shadow": "0px 0px 3px #ffffff",
        },
        "marker": {
            "symbol": "x-thin",
            "size": 10,
            "color": colour(slot(run, i)),
            "line": {"width": 2.5, "color": colour(slot(run, i))},
        },
        # the words may pass the axes' edge only from a point inside the plot
        "cliponaxis": not inside,
        "unselected": _KEEP_OPACITY,
        "visible": run.event_step <= step,
        "name": f"{run.label}: {run.event}",
        "legendgroup": f"run{i}",
        "showlegend": False,
        "hoverinfo": "skip",
    }


def legend_timeline(run: Run, total: int) -> list[list[Any]]:
    """A run's legend name as the shown step moves: ``[[first step, name], ...]``. Its label
    until the step where something happens: "diverged at step k" from step k on, and its final
    status (converged, trapped, oscillating, …) once the step reaches the end ``total``; so the
    legend never tells the end of the race before the race gets there."""
    names: list[list[Any]] = [[0, run.label]]
    if run.diverged_at >= 0:
        names.append([int(run.diverged_at), f"{run.label}: diverged at step {run.diverged_at}"])
    elif total > 0:
        names.append([total, f"{run.label}: {run.status}"])
    return names


def name_at(names: Sequence[Sequence[Any]], step: int) -> str:
    """The name of a ``legend_timeline`` at ``step``."""
    return str([name for first, name in names if first <= step][-1])


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


def with_static_traces(fig: RawFigure, traces: Sequence[dict[str, Any]]) -> RawFigure:
    """``fig`` with ``traces`` drawn on top, still (a new figure; the shared dict is not
    changed). Every frame names the new traces too, with no data, as it names the others (see
    ``contour_figure``)."""
    if not traces:
        return fig
    base = fig.figure
    first = len(base["data"])
    added = list(range(first, first + len(traces)))
    frames = [
        {**f, "data": [*f["data"], *({} for _ in traces)], "traces": [*f["traces"], *added]}
        for f in base.get("frames", [])
    ]
    out = {**base, "data": [*base["data"], *traces]}
    if frames:
        out["frames"] = frames
    return RawFigure(out)


def _click_grid(surface: Surface, plot_w: int, plot_h: int) -> dict[str, Any]:
    """Invisible points every ``CLICK_GRID_SPACING`` pixels (at surface grid nodes, f in the
    hover) that make a click report where it landed."""
    ii = _subsample(surface.xs.size, round(plot_w / CLICK_GRID_SPACING) + 1)
    jj = _subsample(surface.ys.size, round(plot_h / CLICK_GRID_SPACING) + 1)
    gx, gy = np.meshgrid(surface.xs[ii], surface.ys[jj])
    gz = np.asarray(surface.z)[np.ix_(jj, ii)]
    decimals = _decimals(surface.domain)
    return {
        "type": "scatter",
        # rounded float64, not float32: a click reports clean numbers (0, 2.6) for the URL
        "x": typed_array(np.round(gx.ravel(), decimals)),
        "y": typed_array(np.round(gy.ravel(), decimals)),
        "customdata": typed_array(gz.ravel().astype(np.float32)),
        "mode": "markers",
        # radius half the spacing: see the hover note at the top
        "marker": {"size": CLICK_GRID_SPACING, "opacity": 0, "color": "#000000"},
        "selected": {"marker": {"opacity": 0}},
        "unselected": {"marker": {"opacity": 0}},
        "name": CLICK_GRID_NAME,
        "legendgroup": CLICK_GRID_NAME,
        "showlegend": False,
        "hovertemplate": "(%{x:.3g}, %{y:.3g})  f = %{customdata:.3g}<br>"
        "click: start here<extra></extra>",
    }


# --- the 3-D view ---------------------------------------------------------------------------------


def _subsample(n: int, most: int) -> np.ndarray:
    return np.unique(np.linspace(0, n - 1, min(n, most)).round().astype(int))


def _min_pool(z: np.ndarray, ii: np.ndarray, jj: np.ndarray) -> np.ndarray:
    """``z`` at the nodes (jj, ii), each the minimum over its neighbourhood of half the sampling
    step (NaN ignored): a valley narrower than the coarse mesh stays a continuous valley instead
    of a comb of spikes, and the paths, drawn at their true loss, stay above the surface."""
    out = z
    for axis, picked in ((1, ii), (0, jj)):
        half = int(np.max(np.diff(picked), initial=1)) // 2
        if half == 0:
            continue
        n = out.shape[axis]
        pad = [(0, 0), (0, 0)]
        pad[axis] = (half, half)
        padded = np.pad(out, pad, constant_values=np.nan)
        pooled = out
        for offset in range(2 * half + 1):
            window = [slice(None), slice(None)]
            window[axis] = slice(offset, offset + n)
            pooled = np.fmin(pooled, padded[tuple(window)])
        out = pooled
    return out[np.ix_(jj, ii)]


def surface3d_figure(
    surface: Surface, runs: Sequence[Run], step: int, *, log_colour: bool, max_grid: int = 81
) -> RawFigure:
    """The surface in 3-D (at most ``max_grid`` x ``max_grid`` samples, float32) with the paths.

    The height is the colour value: f on a linear scale, or log10(f - min + floor) with the tick
    labels in real f values when ``log_colour`` (a log height shows the valley floors where the
    optimizers are). The paths run a little above the surface (so the coarse mesh does not hide
    them) and only where they are finite and over the domain; each run's position at ``step`` is
    a marker. Colours and bands are those of ``contour_figure``; the 2-D legend names the runs.

    Remembered: the same call again returns the same figure dict (in a new ``RawFigure``); the
    surface's trace and the layout are kept per (surface, ``log_colour``, ``max_grid``), each
    run's line per run.
    """
    key = ("surface3d", int(step), bool(log_colour), int(max_grid))
    return RawFigure(
        _FIGURES.get(
            (surface, *runs), key, lambda: _surface3d(surface, runs, step, log_colour, max_grid)
        )
    )


@dataclass(frozen=True)
class _Surface3dBase:
    """What the 3-D view draws of a surface alone."""

    levels: ColourLevels
    lift: float  # how far the paths and markers run above their true height
    below: list[dict[str, Any]]  # the mesh, the minima and saddles
    layout: dict[str, Any]


@functools.lru_cache(maxsize=32)
def _surface3d_base(surface: Surface, log_colour: bool, max_grid: int) -> _Surface3dBase:
    (x0, x1), (y0, y1) = surface.domain
    levels = _levels_for(surface, log_colour, floor=SURFACE3D_FLOOR)
    ii = _subsample(surface.xs.size, max_grid)
    jj = _subsample(surface.ys.size, max_grid)
    height = levels.value(_min_pool(np.asarray(surface.z, dtype=np.float64), ii, jj))
    span = levels.vmax - levels.vmin
    lift = 0.015 * span
    band = span / levels.bands
    below: list[dict[str, Any]] = [
        {
            "type": "surface",
            "x": typed_array(surface.xs[ii].astype(np.float32)),
            "y": typed_array(surface.ys[jj].astype(np.float32)),
            "z": typed_array(_finite_f32(height)),
            "cmin": levels.vmin,
            "cmax": levels.vmax,
            "colorscale": levels.colorscale(),
            "showscale": False,
            "contours": {
                "z": {
                    "show": True,
                    "start": levels.vmin + band,
                    "end": levels.vmax,
                    "size": band,
                    "color": "rgba(60, 60, 60, 0.35)",
                    "width": 1,
                }
            },
            "lighting": {"ambient": 0.85, "diffuse": 0.35, "specular": 0.05},
            "opacity": 0.8,  # the paths stay visible at the bottom of narrow valleys
            "hoverinfo": "skip",
            "name": "surface",
        }
    ]
    for kind in ("global", "local", "saddle"):
        chosen = [p for p in surface.points if p.kind == kind]
        if chosen:
            style = POINT_STYLE[kind]
            below.append(
                {
                    "type": "scatter3d",
                    "x": [p.x for p in chosen],
                    "y": [p.y for p in chosen],
                    "z": [float(levels.value(p.value)) + lift for p in chosen],
                    "mode": "markers",
                    "marker": {
                        "symbol": "diamond-open" if kind != "saddle" else "x",
                        "size": 8,
                        "color": "#000000",
                    },
                    "name": style["name"],
                    "hovertemplate": f"{style['name']}<extra></extra>",
                }
            )
    tickvals, ticktext = levels.ticks()
    if len(tickvals) > 3:  # the z labels stack on a short axis: at most 3, the lowest and highest
        keep = np.unique(np.linspace(0, len(tickvals) - 1, 3).round().astype(int))
        tickvals, ticktext = [tickvals[i] for i in keep], [ticktext[i] for i in keep]

    def axis(title: str, **more: Any) -> dict[str, Any]:
        return {
            "tickfont": {"size": SMALL_FONT},
            "title": {"font": {"size": FONT_SIZE}, "text": title},
            "backgroundcolor": "#ffffff",
            **more,
        }

    width, depth = plot_area(surface.domain, 100)
    layout = template_layout(
        height=520,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        font={"size": FONT_SIZE},
        showlegend=False,
        uirevision=f"{surface.key}:{surface.domain}:{log_colour}",
        hoverlabel={"font": {"size": SMALL_FONT}},
        scene={
            "xaxis": axis("x", range=[x0, x1], nticks=4),
            "yaxis": axis("y", range=[y0, y1], nticks=4),
            "zaxis": axis(
                "f (log)" if log_colour else "f",
                range=[levels.vmin, levels.vmax + 2 * lift],
                tickvals=tickvals,
                ticktext=ticktext,
            ),
            "aspectmode": "manual",
            "aspectratio": {"x": width / 100, "y": depth / 100, "z": 0.6},
            # far enough that the axis titles and the z labels stay inside the plot
            "camera": {"eye": {"x": 0.85, "y": -1.65, "z": 1.9}},
        },
    )
    return _Surface3dBase(levels, lift, below, layout)


@dataclass(frozen=True)
class _Line3d:
    """A run's path over a surface in the 3-D view: typed arrays of the points drawn, and each
    step's position, height and whether it is drawn (for the marker)."""

    xyz: tuple[Any, Any, Any]
    positions: np.ndarray
    heights: np.ndarray
    inside: np.ndarray


def _line3d(surface: Surface, run: Run, base: _Surface3dBase, log_colour: bool) -> _Line3d:
    def build() -> _Line3d:
        (x0, x1), (y0, y1) = surface.domain
        tol = 1e-9 * _diag(surface.domain)
        pos = np.asarray(run.positions, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            inside = (
                np.isfinite(pos).all(axis=1)
                & np.isfinite(run.losses)
                & (pos[:, 0] >= x0 - tol)
                & (pos[:, 0] <= x1 + tol)
                & (pos[:, 1] >= y0 - tol)
                & (pos[:, 1] <= y1 + tol)
            )
        zs = base.levels.value(run.losses) + base.lift
        xyz = (
            typed_array(pos[inside, 0].astype(np.float32)),
            typed_array(pos[inside, 1].astype(np.float32)),
            typed_array(_finite_f32(zs[inside])),
        )
        return _Line3d(xyz, pos, zs, inside)

    return _RUN_PIECES.get((run, surface), ("line3d", log_colour), build)


def _surface3d(
    surface: Surface, runs: Sequence[Run], step: int, log_colour: bool, max_grid: int
) -> dict[str, Any]:
    base = _surface3d_base(surface, log_colour, max_grid)
    traces = list(base.below)
    for i, run in enumerate(runs):
        line = _line3d(surface, run, base, log_colour)
        traces.append(
            {
                "type": "scatter3d",
                "x": line.xyz[0],
                "y": line.xyz[1],
                "z": line.xyz[2],
                "mode": "lines",
                "line": {"color": colour(slot(run, i)), "width": 5},
                "name": run.label,
                "hoverinfo": "skip",
            }
        )
        k = min(max(int(step), 0), len(line.positions) - 1)
        if line.inside[k]:
            loss = _fmt(float(run.losses[k]), 4)
            traces.append(
                {
                    "type": "scatter3d",
                    "x": [float(line.positions[k, 0])],
                    "y": [float(line.positions[k, 1])],
                    "z": [float(line.heights[k])],
                    "mode": "markers",
                    "marker": {
                        "symbol": END_SYMBOLS_3D[slot(run, i) % len(END_SYMBOLS_3D)],
                        "size": 8,
                        "color": colour(slot(run, i)),
                        "line": {"color": "#ffffff", "width": 1},
                    },
                    "name": f"{run.label}, step {k}",
                    "hovertemplate": f"{run.label}<br>step {k}<br>f = {loss}<extra></extra>",
                }
            )
    return {"data": traces, "layout": base.layout}


# --- curves ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Panel:
    log: bool
    range: tuple[float, float]  # in axis units (log10 for a log axis)
    below: float  # where a zero is drawn on a log axis: under the range, so it leaves the plot


DIVERGED_DECADES = 6.0  # how far above the other runs a diverging run's climb is still shown


def _panel(values: Sequence[np.ndarray], runs: Sequence[Run], allow_log: bool) -> _Panel:
    """Axis of one curves panel. The range is set by the runs that did not diverge; a diverged
    run's finite values raise the top by at most ``DIVERGED_DECADES`` decades above them (a
    linear axis: 3 times their spread), so its climb is seen for a while and then leaves the plot
    at the top instead of squashing the others (a blow-up to 1e300 does not set the range). A log
    axis spans at most 16 decades and at least one, so it always has labelled ticks."""
    every = [v[np.isfinite(v)] for v in values]
    refs = [v[:1] if run.diverged_at >= 0 else v for v, run in zip(values, runs, strict=True)]
    ref = np.concatenate([r[np.isfinite(r)] for r in refs] + [np.empty(0)])
    climb = np.concatenate(
        [e for e, run in zip(every, runs, strict=True) if run.diverged_at >= 0] + [np.empty(0)]
    )
    allv = np.concatenate([*every, np.empty(0)])
    if ref.size == 0:
        ref = allv
    if ref.size == 0:
        return _Panel(allow_log, (-1.0, 1.0) if allow_log else (0.0, 1.0), 0.01)
    if allow_log and (allv >= 0).all():
        positive = allv[allv > 0]
        ref_positive = ref[ref > 0]
        top_value = (
            ref_positive.max() if ref_positive.size else positive.max() if positive.size else 1.0
        )
        top = math.log10(float(top_value))
        if climb.size and climb.max() > top_value:
            top = min(math.log10(float(climb.max())), top + DIVERGED_DECADES)
        top += 0.3
        low = math.log10(float(positive.min())) - 0.3 if positive.size else top - 4
        bottom = min(max(low, top - 16), top - 1)
        return _Panel(True, (bottom, top), 10.0 ** (bottom - 1))
    lo, hi = float(ref.min()), float(ref.max())
    if climb.size:
        spread = max(hi - lo, abs(hi), 1e-12)
        hi = max(hi, min(float(climb.max()), hi + 3 * spread))
        lo = min(lo, max(float(climb.min()), lo - 3 * spread))
    pad = 0.05 * (hi - lo) if hi > lo else 1.0
    return _Panel(False, (lo - pad, hi + pad), 0.0)


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _power_text(v: float) -> str:
    """A round positive number as axis text: "0.01", "1", "100", "2×10⁻⁵", "10⁶"."""
    e = math.floor(math.log10(v) + 1e-9)
    if -2 <= e <= 3:
        return f"{v:g}"
    m = round(v / 10.0**e)
    power = "10" + str(e).translate(_SUPERSCRIPT)
    return power if m == 1 else f"{m}×{power}"


def _decade_ticks(axis: _Panel) -> dict[str, Any]:
    """Log axis: labelled ticks at whole decades (every few when there are many), or at 1, 2 and
    5 times them on a short axis; never the minor 2 ... 9 labels of each decade."""
    if not axis.log:
        return {}
    lo, hi = axis.range
    decades = list(range(math.ceil(lo), math.floor(hi) + 1))
    if len(decades) >= 2:
        every = max(1, math.ceil((hi - lo) / 6))
        vals = [10.0**d for d in decades if d % every == 0]
    else:
        vals = [
            m * 10.0**d
            for d in range(math.floor(lo), math.ceil(hi) + 1)
            for m in (1, 2, 5)
            if lo <= math.log10(m * 10.0**d) <= hi
        ]
    return {"tickmode": "array", "tickvals": vals, "ticktext": [_power_text(v) for v in vals]}


SUBPLOT_SPACING = 0.06  # between the two curves panels, a fraction of the figure's height
_PANEL_HEIGHT = (1 - SUBPLOT_SPACING) / 2


def curves_figure(runs: Sequence[Run], step: int) -> RawFigure:
    """Loss and gradient norm against the step, one line per run, a dotted line at ``step``.

    Both panels share the step axis. The loss is on a log axis when no loss is negative (zeros
    are drawn below the range, so the line leaves the plot downwards), else on a linear axis, and
    the axis title says which. The gradient norm is always on a log axis. Non-finite values are
    dropped; a run that diverged gets an ✕ "diverged at step k" at the top of the loss panel.

    Remembered: the same call again returns the same figure dict (in a new ``RawFigure``); each
    run's lines are kept per run and axis kind.
    """
    return RawFigure(_FIGURES.get(tuple(runs), ("curves", int(step)), lambda: _curves(runs, step)))


def _curve(run: Run, row: int, values: np.ndarray, axis: _Panel) -> tuple[Any, Any]:
    """Typed arrays (steps, values) of a run's line in panel ``row``: finite values only; on a
    log axis, values <= 0 drawn at ``axis.below``."""

    def build() -> tuple[Any, Any]:
        shown = values.copy()
        if axis.log:
            shown[shown <= 0] = axis.below
        shown = _finite_f32(shown)
        keep = np.isfinite(shown)
        return typed_array(_steps_array(np.flatnonzero(keep))), typed_array(shown[keep])

    return _RUN_PIECES.get((run,), ("curve", row, axis.log, axis.below), build)


def _curves(runs: Sequence[Run], step: int) -> dict[str, Any]:
    losses = [np.asarray(r.losses, dtype=np.float64) for r in runs]
    norms = [np.asarray(r.grad_norms, dtype=np.float64) for r in runs]
    loss_axis = _panel(losses, runs, allow_log=True)
    norm_axis = _panel(norms, runs, allow_log=True)
    total = max((len(r.losses) - 1 for r in runs), default=1)
    traces: list[dict[str, Any]] = []
    for row, series, axis in ((1, losses, loss_axis), (2, norms, norm_axis)):
        what = "f" if row == 1 else "|∇f|"
        for i, (run, values) in enumerate(zip(runs, series, strict=True)):
            x, y = _curve(run, row, values, axis)
            traces.append(
                {
                    "type": "scatter",
                    "x": x,
                    "y": y,
                    "mode": "lines",
                    "line": {"color": colour(slot(run, i)), "width": 2.5},
                    "name": run.label,
                    "legendgroup": f"run{i}",
                    "showlegend": row == 1,
                    "hovertemplate": f"{run.label}<br>step %{{x}}<br>{what} = %{{y:.4g}}"
                    "<extra></extra>",
                    "xaxis": "x" if row == 1 else "x2",
                    "yaxis": "y" if row == 1 else "y2",
                }
            )
    marks: list[dict[str, Any]] = []  # a dashed line down the loss panel at each divergence
    for i, run in enumerate(runs):
        if run.diverged_at >= 0:
            marks.append(
                {
                    "type": "line",
                    "x0": run.diverged_at,
                    "x1": run.diverged_at,
                    "xref": "x",
                    "y0": 0,
                    "y1": 1,
                    "yref": "y domain",
                    "line": {"color": colour(slot(run, i)), "width": 1.5, "dash": "dash"},
                }
            )
            top = loss_axis.range[1]
            traces.append(
                {
                    "type": "scatter",
                    "x": [run.diverged_at],
                    "y": [10.0**top if loss_axis.log else top],
                    "mode": "markers+text",
                    "marker": {
                        "symbol": "x",
                        "size": 14,
                        "color": colour(slot(run, i)),
                        "line": {"width": 1, "color": colour(slot(run, i))},
                    },
                    "text": [f"diverged at step {run.diverged_at}"],
                    "textposition": "bottom right",
                    "textfont": {"color": colour(slot(run, i)), "size": SMALL_FONT},
                    "cliponaxis": False,
                    "legendgroup": f"run{i}",
                    "showlegend": False,
                    "name": f"{run.label} diverged",
                    "hovertemplate": f"{run.label}: diverged at step {run.diverged_at}"
                    "<extra></extra>",
                    "xaxis": "x",
                    "yaxis": "y",
                }
            )
    tick = {
        "tickfont": {"size": SMALL_FONT},
        "showgrid": True,
        "gridcolor": "#e6e6e6",
    }
    title_font = {"size": FONT_SIZE}
    step_axis = {**tick, "range": [0, total], "zeroline": False}
    loss_title = "loss f (log scale)" if loss_axis.log else "loss f (linear: f takes values ≤ 0)"
    # two rows sharing the step axis, as make_subplots(rows=2, shared_xaxes=True) writes them
    layout = template_layout(
        xaxis={
            **step_axis,
            "anchor": "y",
            "domain": [0.0, 1.0],
            "matches": "x2",
            "showticklabels": False,
            "title": {"font": title_font},
        },
        yaxis={
            **tick,
            "anchor": "x",
            "domain": [1 - _PANEL_HEIGHT, 1.0],
            "type": "log" if loss_axis.log else "linear",
            "range": list(loss_axis.range),
            "title": {"text": loss_title, "font": title_font},
            "exponentformat": "power",
            **_decade_ticks(loss_axis),
        },
        xaxis2={
            **step_axis,
            "anchor": "y2",
            "domain": [0.0, 1.0],
            "title": {"text": "step", "font": title_font},
        },
        yaxis2={
            **tick,
            "anchor": "x2",
            "domain": [0.0, _PANEL_HEIGHT],
            "type": "log",
            "range": list(norm_axis.range),
            "title": {"text": "|∇f| (log scale)", "font": title_font},
            "exponentformat": "power",
            **_decade_ticks(norm_axis),
        },
        shapes=[
            {
                "type": "line",
                "x0": step,
                "x1": step,
                "xref": "x",
                "y0": 0,
                "y1": 1,
                "yref": "paper",
                "line": {"color": "#333333", "width": 1.5, "dash": "dot"},
            },
            *marks,
        ],
        height=560,
        margin={"l": 90, "r": 20, "t": 20, "b": 60},
        font={"size": FONT_SIZE},
        plot_bgcolor="#ffffff",
        hovermode="x unified",
        hoverlabel={"font": {"size": SMALL_FONT}},
        legend={"font": {"size": SMALL_FONT}, "itemsizing": "constant"},
        uirevision="curves",
        meta={"cursor": {"shape": 0}},  # the dotted line follows the contour's player
    )
    return {"data": traces, "layout": layout}


# --- status table ---------------------------------------------------------------------------------

STATUS_COLUMNS = (
    "Optimizer",
    "Final loss",
    "Distance to minimum",
    "Status",
    "Detail",
    "f / ∇f / H evals",
    "Effective lr (x, y)",
)
# widths for ``st.column_config`` (pixels): the table fits the page at 1280 and 1600 px without
# losing its right-hand columns; a longer text is cut with an ellipsis (its tooltip has it whole)
STATUS_WIDTHS = {
    "Optimizer": 150,
    "Final loss": 90,
    "Distance to minimum": 90,
    "Status": 150,
    "Detail": 140,
    "f / ∇f / H evals": 95,
    "Effective lr (x, y)": 110,
}


def status_rows(runs: Sequence[Run], step: int, points: Sequence[Point]) -> list[dict[str, Any]]:
    """One row per run for ``st.dataframe``, with the columns of ``STATUS_COLUMNS``.

    ``points`` are the surface's marked points (``Surface.points``): they name the minimum a run
    reached (the status names it). Every cell is text: numbers with 4 significant digits (3 for the learning rates),
    "—" where there is nothing to show, "∞" for an infinite value, and "diverged at step k" for
    the final loss and the distance of a run that diverged. The evaluations are counted as
    "f / ∇f / H"; the effective learning rate is the one of the update shown at ``step``.
    """
    rows = []
    for run in runs:
        diverged = f"diverged at step {run.diverged_at}" if run.diverged_at >= 0 else None
        if len(run.effective_lr):
            elr = run.effective_lr[_update_index(run, step)]
            lr_text = (
                "—"
                if not np.isfinite(np.asarray(elr, dtype=np.float64)).any()
                else f"({number_text(elr[0])}, {number_text(elr[1])})"
            )
        else:
            lr_text = "—"
        ev = run.evaluations
        evals = " / ".join(str(int(ev.get(k, 0))) for k in ("function", "gradient", "hessian"))
        values = (
            run.label,
            diverged or number_text(run.losses[-1], 4),
            diverged or number_text(run.distance, 4),
            diverged
            or (
                f"{run.status}: {minimum_label(points, run.minimum)}"
                if run.minimum >= 0
                else run.status or "—"
            ),
            run.detail or "—",
            evals,
            lr_text,
        )
        rows.append(dict(zip(STATUS_COLUMNS, values, strict=True)))
    return rows


# --- the usual way, for comparison ----------------------------------------------------------------


def naive_cumulative_figure(
    surface: Surface, runs: Sequence[Run], max_frames: int | None = None
) -> go.Figure:
    """The common recipe, kept for the benchmark: a contour trace and one ``go.Frame`` per step in
    which every run's whole path so far is redrawn (O(steps²) data; the contour also vanishes
    while it plays). Do not use it in the app."""
    total = max((len(r.positions) - 1 for r in runs), default=0)
    steps = range(total + 1) if max_frames is None else frame_steps(total, total, max_frames)
    fig = go.Figure(
        go.Contour(x=surface.xs, y=surface.ys, z=surface.z, colorscale="Viridis", ncontours=30)
    )
    for run in runs:
        fig.add_trace(
            go.Scatter(
                x=run.positions[:1, 0], y=run.positions[:1, 1], mode="lines+markers", name=run.label
            )
        )
    fig.frames = [
        go.Frame(
            data=[
                go.Scatter(x=run.positions[: k + 1, 0], y=run.positions[: k + 1, 1]) for run in runs
            ],
            traces=list(range(1, len(runs) + 1)),
            name=str(k),
        )
        for k in steps
    ]
    fig.update_layout(
        updatemenus=[
            {
                "type": "buttons",
                "buttons": [
                    {
                        "label": "Play",
                        "method": "animate",
                        "args": [None, {"frame": {"duration": 50}}],
                    }
                ],
            }
        ]
    )
    return fig
