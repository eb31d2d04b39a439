"""The figure runtime: figures as plain dicts, typed arrays, the caches of figures and pieces.

Like ``plotly.express``, every chart builder of ``app.charts`` takes data and returns a figure
(or rows for a table) that the caller hands to ``st.plotly_chart``; nothing is shown there and
nothing is optimised there. The only arithmetic is presentation: colour levels, hiding
non-finite points, one display factor for the step arrows, choosing which steps become frames.

Lessons of Plotly 7.1 / Streamlit 1.67 that shape the charts (see ``DESIGN.md``):

* the explorer's figures are written as plain dicts (``RawFigure``), never as Plotly's validated
  objects: ``go.Scatter`` / ``go.Frame`` validation, ``make_subplots``, ``update_layout`` and the
  deep copies of ``to_dict`` cost tens of milliseconds per figure, the dicts well under one.
  Plotly's validators still check every dict, in the tests (``RawFigure.validated``);
* what does not change between reruns is remembered: a surface's static traces and layout
  (surfaces are compared by identity), each run's drawing data (runs are remembered by
  identity, see ``_ByIdentity``), and whole figures for an unchanged scene;
* the surface is a layout *image* (a banded PNG, ``app.charts.surface``), not a contour trace: a
  contour or heatmap trace vanishes while Plotly animates other traces of the same axes
  (plotly.js issues 4491, 4596);
* animation frames carry only what moves (each run's marker, a short tail and the three step
  arrows, ``app.charts.paths``) as short Python lists, never the path so far, which would grow
  as steps²; at most ``max_frames`` frames. Large arrays (paths, grids) are float32 typed arrays
  (base64, as Plotly's own ``to_dict`` writes numpy arrays); the tiny per-frame arrays are
  rounded lists;
* clicks on a layout image return nothing: an invisible grid of points
  (``app.charts.contour.CLICK_GRID_NAME``) makes ``on_select`` report where the user clicked.
"""

from __future__ import annotations

import base64
import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from _plotly_utils.utils import to_typed_array_spec

T = TypeVar("T")


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


RUN_PIECES = _ByIdentity(512)  # per-run drawing data: tracks, 3-D lines, curves
FIGURES = _ByIdentity(12)  # figure dicts of a scene: a rerun where nothing changed


_CACHES: list[Any] = [_template_of]  # the lru caches that clear_caches empties


def register_cache(cached: T) -> T:
    """Mark a ``functools.lru_cache`` function (a decorator above ``lru_cache``) to be emptied by
    ``clear_caches``: the chart modules' caches of surfaces and base figures."""
    _CACHES.append(cached)
    return cached


def clear_caches() -> None:
    """Forget every remembered figure and piece (the benchmark's cold runs)."""
    RUN_PIECES.clear()
    FIGURES.clear()
    for cached in _CACHES:
        cached.cache_clear()


def finite_f32(a: np.ndarray) -> np.ndarray:
    """float32 copy of ``a`` (values beyond float32 become inf, and are then dropped as non-finite)."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.asarray(a, dtype=np.float32)
    return out


def finite_rows(a: np.ndarray) -> np.ndarray:
    """Mask of the rows of an (n, d) or values of an (n,) float32 array that are finite."""
    ok = np.isfinite(a)
    return ok.all(axis=1) if ok.ndim == 2 else ok


def steps_array(steps: np.ndarray) -> np.ndarray:
    """Step numbers in the smallest integer type that holds them (compact base64 in the JSON)."""
    return steps.astype(np.int16 if steps.size == 0 or steps.max() < 2**15 else np.int32)
