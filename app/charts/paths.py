"""Each run's path in the 2-D view: its track, the moving marker with its tail, the step arrows
(gradient, momentum, actual step) and the boxes of per-axis effective learning rates, as the
animated data of every frame."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

import optimizers

from .runtime import RUN_PIECES, finite_f32, finite_rows, typed_array
from .style import domain_decimals, domain_diagonal, fmt, pair_text

if TYPE_CHECKING:  # plain data containers; importing them at runtime would pull in streamlit
    from ..compute import Run

ARROW_FRACTION = 0.12  # the longest arrow at the shown step, as a fraction of the domain diagonal
MIN_ARROW = 0.002  # arrows shorter than this fraction of the diagonal are not drawn
MAX_ARROW_FACTOR = 1000.0  # arrows still shorter than MIN_ARROW then are not drawn
FAR = 1000.0  # points farther than this many domain diagonals are not drawn
ARROW_CAP = 0.35  # in other frames (same factor) arrows longer than this fraction are shortened
TAIL = 10  # steps of recent path drawn thick under each moving marker
BOX_FRACTION = 0.05  # the largest per-axis box at the shown step: half-side / domain diagonal
BOX_LABEL = "per-axis effective lr (box half-sides){factor}"
ARROW_KINDS = (
    # key, legend name, dash, width
    ("gradient", "gradient step −lr·∇f{factor}", "dash", 2.0),
    ("velocity", "momentum step −lr·v{factor}", "dot", 2.5),
    ("update", "actual step x<sub>k+1</sub>−x<sub>k</sub>{factor}", "solid", 3.5),
)


def update_index(run: Run, step: int) -> int:
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
    j = update_index(run, step)
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
    return arrow_factor_of(runs, [all_arrow_vectors(run) for run in runs], step, domain)


def arrow_factor_of(
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
        j = update_index(run, step)
        if not _inside(run.positions[j], domain):
            continue
        lengths += [float(np.hypot(*v[j])) for v in per_kind.values() if not np.isnan(v[j, 0])]
    longest = max(lengths, default=0.0)
    if not longest > 0 or not math.isfinite(longest):
        return 1.0
    return min(float(f"{ARROW_FRACTION * domain_diagonal(domain) / longest:.2g}"), MAX_ARROW_FACTOR)


@dataclass(frozen=True)
class PathView:
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
    ) -> PathView:
        (x0, x1), (y0, y1) = domain
        diag = domain_diagonal(domain)
        centre = ((x0 + x1) / 2, (y0 + y1) / 2)
        return cls(
            factor, ARROW_CAP * diag, domain_decimals(domain), centre, FAR * diag, box_factor
        )

    def drawable(self, xy: np.ndarray) -> np.ndarray:
        """Mask of the rows of an (n, 2) array that are finite and not too far to draw."""
        xy = np.asarray(xy, dtype=np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            return (np.abs(xy - self.centre) <= self.far).all(axis=-1)


@dataclass(frozen=True)
class Track:
    """One run's drawing data in one view geometry (rounding and drawable region), computed once
    per run and read by every frame of every figure that draws the run."""

    rounded: np.ndarray  # (T+1, 2) positions rounded to the view's decimals
    drawable: np.ndarray  # (T+1,) bool
    last_hidden: np.ndarray  # (T+1,) the last step <= k that is not drawable, -1 if none
    vectors: dict[str, np.ndarray]  # all_arrow_vectors(run)
    path: tuple[Any, Any]  # the whole path, one point per step, NaN where not drawable (x, y)
    now: dict[int, dict[str, Any]] = field(default_factory=dict)  # marker data per step, lazily


def run_track(run: Run, view: PathView) -> Track:
    def build() -> Track:
        drawable = view.drawable(run.positions)
        steps = np.arange(len(drawable))
        path = finite_f32(run.positions)
        path[~(finite_rows(path) & drawable)] = np.nan
        return Track(
            rounded=np.round(np.asarray(run.positions, dtype=np.float64), view.decimals),
            drawable=drawable,
            last_hidden=np.maximum.accumulate(np.where(drawable, -1, steps)),
            vectors=all_arrow_vectors(run),
            path=(typed_array(path[:, 0]), typed_array(path[:, 1])),
        )

    return RUN_PIECES.get((run,), ("track", view.decimals, view.centre, view.far), build)


def _marker_text(run: Run, step: int) -> str:
    k = min(step, len(run.losses) - 1)
    lines = [
        f"step {k}   f = {fmt(float(run.losses[k]), 4)}",
        f"|∇f| = {fmt(float(run.grad_norms[k]))}",
    ]
    if len(run.effective_lr):
        j = update_index(run, k)
        lines.append(f"effective lr (x, y) = {pair_text(run.effective_lr[j])}")
    return "<br>".join(lines)


def _now(run: Run, track: Track, step: int) -> dict[str, Any]:
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
    run: Run, track: Track, steps: np.ndarray, view: PathView
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
            row = np.abs(run.effective_lr[update_index(run, step)])
            if np.isfinite(row).all():
                largest = max(largest, float(row.max()))
    if not largest > 0:
        return 0.0
    return float(f"{BOX_FRACTION * domain_diagonal(domain) / largest:.2g}")


def _box_slots(
    run: Run, track: Track, steps: np.ndarray, view: PathView
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


def moving_data(
    runs: Sequence[Run], tracks: Sequence[Track], steps: Sequence[int], view: PathView, arrows: bool
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
