"""The explorer's view: one frozen value (``AppState``) and its optimizers (``OptimizerEntry``).

The view is written into the URL by ``AppState.to_query`` and read back by
``app.explorer_link.from_query``. Query schema ``v=1`` (every field optional; a missing one
takes its frozen v=1 default, ``app.links.v1``)::

    v=1
    ls=rosenbrock                  landscape key ("custom": your own formula, below)
    fx=x**2+y**2                   the formula f(x, y) when ls=custom (see landscapes.formula)
    dom=-3,3,-3,3                  its domain x0,x1,y0,y1 when ls=custom
    lp=b:10                        landscape parameters, name:value pairs joined by ","
    o=adam,lr=0.05,beta1=0.8       one optimizer per "o" (repeat it), name then name=value
    o=gd,lr=0.002,schedule=cosine  (schedule fields: step_size, gamma, t_max, eta_min, warmup,
                                   start_factor)
    o=adam,lr=0.1,c=2              c: the run's colour slot (colour and marker); links that name
                                   none colour by position. Written on every entry when the
                                   slots are not the positions (a run was removed); an entry
                                   without one takes the lowest free slot
    start=-1.5,2                   start point (default: the landscape's)
    steps=500  seed=0  k=120       run length, noise seed, the step shown
    log=1  view3d=1  curves=1  arrows=1  curv=1  avg=1     display switches (curv: curvature
                                   panel; avg: the averaged iterate of ASGD and schedule-free)
    lesson=lr-diverging            the lesson shown with the view (see app.lessons)
    hide=optimizers,steps          controls a student does not see (CONTROLS)
    lock=landscape                 controls a student sees but cannot change
    present=1  theme=dark          presenter mode: large type, thick lines, colour-blind-safe
    play=1                         the race plays once when the link is opened

Decoding never raises: a value that does not parse, or is out of range, adds a warning naming it
and falls back to its default; the rest of the link still applies.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from types import SimpleNamespace
from typing import Any

import landscapes
import optimizers
from landscapes.formula import DEFAULT_DOMAIN, DEFAULT_FORMULA
from optimizers import Schedule

from .labels import run_label, unique_labels
from .links import v1
from .links.fields import Choice, Field, Flag, Integer, encode
from .links.surface import encode_landscape_params, encode_start
from .query import SCHEMA_VERSION, flag_text, number_text
from .surfaces import CUSTOM, landscape_for

STEPS_RANGE = (1, 2000)  # steps of a run: the link's bounds and the Steps slider's
SEED_RANGE = (0, 2**31 - 1)
MAX_OPTIMIZERS = 8
SCHEDULE_FIELDS = tuple(f.name for f in fields(Schedule) if f.name != "kind")
# controls a link can hide or lock (hide=..., lock=...), in the order the link builder lists them
CONTROLS: dict[str, str] = {
    "landscape": "Landscape and its parameters",
    "optimizers": "Optimizers and their settings",
    "start": "Start point",
    "steps": "Steps and noise seed",
    "view": "View switches",
    "playback": "Step buttons and slider",
    "lessons": "Lesson picker",
    "share": "Share, link builder and export",
}
THEMES = ("light", "dark")

# the explorer's plain link values, in the order a link writes them; the widgets bound to them
# have the same session-state keys as their attributes
RUN_FIELDS: tuple[Field, ...] = (
    Field("steps", "steps", Integer(*STEPS_RANGE), widget="steps"),
    Field("seed", "seed", Integer(*SEED_RANGE), widget="seed"),
    Field("k", "step", Integer(0, STEPS_RANGE[1])),
)
VIEW_FIELDS: tuple[Field, ...] = (
    Field("log", "log_colour", Flag()),
    Field("view3d", "show_3d", Flag(), widget="show_3d"),
    Field("curves", "show_curves", Flag(), widget="show_curves"),
    Field("arrows", "show_arrows", Flag(), widget="show_arrows"),
    Field("curv", "show_curvature", Flag(), widget="show_curvature"),
    Field("avg", "show_average", Flag(), widget="show_average"),
)
PRESENTER_FIELDS: tuple[Field, ...] = (
    Field("present", "present", Flag()),
    Field("play", "play", Flag()),
    Field("theme", "theme", Choice(THEMES), fallback="using light"),
)
# what a v=1 link means for the plain values it leaves out (``app.links.v1``)
V1_REFERENCE = SimpleNamespace(
    **v1.STATE, log_colour=None, present=False, play=False, show_average=False
)


@dataclass(frozen=True)
class OptimizerEntry:
    """One optimizer of the scene: its name, the hyperparameters set, and a schedule.

    ``hyperparams`` holds only the values that differ from the optimizer's defaults, as sorted
    ``(name, value)`` pairs, so equal settings compare (and cache) equal.
    """

    name: str
    hyperparams: tuple[tuple[str, float | bool], ...] = ()
    schedule: Schedule = field(default_factory=Schedule)

    @classmethod
    def make(
        cls, name: str, schedule: Schedule | None = None, **hyperparams: Any
    ) -> OptimizerEntry:
        """Validated entry; raises ValueError for an unknown name or a bad value."""
        opt = optimizers.get(name)
        values = opt.resolve(hyperparams)
        defaults = opt.defaults
        changed = tuple(
            sorted((k, v) for k, v in values.items() if k in defaults and v != defaults[k])
        )
        return cls(name, changed, (schedule or Schedule()).canonical())

    @property
    def values(self) -> dict[str, float | bool]:
        """Every settable hyperparameter's value (defaults filled in)."""
        return {**optimizers.get(self.name).defaults, **dict(self.hyperparams)}

    def spec(self) -> tuple[str, dict[str, Any]]:
        """The ``(name, hyperparameters)`` pair ``optimizers.simulate`` takes."""
        return self.name, {**dict(self.hyperparams), "schedule": self.schedule}

    @property
    def label(self) -> str:
        """Display name: the title, the learning rate and every setting that differs from the
        optimizer's defaults, e.g. "Momentum lr=0.01 clip=1" (see ``app.labels``). Two equal
        entries have equal labels; ``AppState.labels`` numbers the copies."""
        return run_label(self.name, dict(self.hyperparams), self.schedule)


# Rosenbrock from (-1.5, 2): gradient descent zig-zags and crawls, momentum gets most of the way,
# Adam's per-axis steps follow the valley, Newton is there in a few steps.
DEFAULT_OPTIMIZERS: tuple[OptimizerEntry, ...] = (
    OptimizerEntry.make("gd", lr=0.001),
    OptimizerEntry.make("momentum", lr=0.001),
    OptimizerEntry.make("adam", lr=0.1),
    OptimizerEntry.make("newton", lr=0.5),
)


@dataclass(frozen=True)
class AppState:
    """Everything that defines a view; ``to_query`` and ``app.explorer_link.from_query`` round-trip
    it exactly."""

    landscape: str = "rosenbrock"
    landscape_params: tuple[tuple[str, float], ...] = ()
    optimizers: tuple[OptimizerEntry, ...] = DEFAULT_OPTIMIZERS
    start: tuple[float, float] | None = None
    steps: int = 500
    seed: int = 0
    step: int | None = 0  # the step shown; None: the last (a new scene opens at 0)
    log_colour: bool | None = None  # None: the landscape's own choice
    # a calm default: paths, markers, the start and the minima; the rest one click away
    show_3d: bool = False
    show_curves: bool = True
    show_arrows: bool = False
    show_curvature: bool = False
    show_average: bool = False  # the averaged iterate's path (ASGD, schedule-free)
    formula: str = DEFAULT_FORMULA  # f(x, y) when landscape == "custom"
    domain: tuple[tuple[float, float], tuple[float, float]] = DEFAULT_DOMAIN  # custom only
    lesson: str | None = None  # the lesson shown with the view
    hide: tuple[str, ...] = ()  # controls not shown (keys of CONTROLS)
    lock: tuple[str, ...] = ()  # controls shown but disabled
    present: bool = False  # presenter mode
    theme: str = "light"  # presenter theme: "light" or "dark"
    play: bool = False  # the race plays once when the link is opened
    # each optimizer's colour slot (its colour and marker in every figure), parallel to
    # ``optimizers``; () means by position. Slots that are the positions, or that do not fit the
    # optimizers (another length, a repeat, out of range), are stored as ().
    slots: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        slots = tuple(int(s) for s in self.slots)
        fits = (
            len(slots) == len(self.optimizers)
            and len(set(slots)) == len(slots)
            and all(0 <= s < MAX_OPTIMIZERS for s in slots)
        )
        if not fits or slots == tuple(range(len(slots))):
            slots = ()
        object.__setattr__(self, "slots", slots)

    # -- derived ------------------------------------------------------------------------------
    def engine_params(self) -> tuple[tuple[str, Any], ...]:
        """The parameters ``landscape_for`` (and ``app.compute``) takes with ``landscape``."""
        if self.landscape == CUSTOM:
            return (("dom", self.domain), ("fx", self.formula))
        return self.landscape_params

    def surface(self) -> landscapes.Landscape:
        return landscape_for(self.landscape, self.engine_params())

    def start_point(self) -> tuple[float, float]:
        return self.start if self.start is not None else tuple(self.surface().start)

    def shown_step(self) -> int:
        return self.steps if self.step is None else min(self.step, self.steps)

    def run_slots(self) -> tuple[int, ...]:
        """Each optimizer's colour slot: ``slots``, or the positions when it is empty."""
        return self.slots or tuple(range(len(self.optimizers)))

    def labels(self) -> tuple[str, ...]:
        """Each optimizer's label, no two alike (a repeated one is numbered: "... #2")."""
        return tuple(unique_labels(e.label for e in self.optimizers))

    # -- encoding -----------------------------------------------------------------------------
    def to_query(self) -> dict[str, str | list[str]]:
        """Query parameters for this state; values equal to the frozen v=1 defaults are left
        out to keep links short (``app.explorer_link.from_query`` reads it back)."""
        q: dict[str, str | list[str]] = {"v": SCHEMA_VERSION, "ls": self.landscape}
        params = v1.params_to_write(self.landscape, self.landscape_params)
        if params:
            q["lp"] = encode_landscape_params(params)
        if self.landscape == CUSTOM:
            q["fx"] = self.formula
            if self.domain != v1.STATE["domain"]:
                q["dom"] = num_box(self.domain)
        q["o"] = [encode_entry(e) for e in self.optimizers]
        if self.slots:  # colours that are not by position: every entry names its slot
            q["o"] = [f"{o},c={c}" for o, c in zip(q["o"], self.slots, strict=True)]
        start = self.start
        if start is None:
            start = v1.start_to_write(self.landscape, self.landscape_params, self.surface().start)
        if start is not None:
            q["start"] = encode_start(start)
        q.update(encode(self, RUN_FIELDS + VIEW_FIELDS, V1_REFERENCE))
        if self.lesson is not None:
            q["lesson"] = self.lesson
        for key in ("hide", "lock"):
            if getattr(self, key):
                q[key] = ",".join(getattr(self, key))
        q.update(encode(self, PRESENTER_FIELDS, V1_REFERENCE))
        return q


def encode_entry(entry: OptimizerEntry) -> str:
    """``name,key=value,...`` with the values that differ from the frozen v=1 defaults (for an
    optimizer added after v=1: all of them, ``app.links.v1.values_to_write``)."""
    parts = [entry.name]
    for k, v in sorted(v1.values_to_write(entry.name, entry.values).items()):
        parts.append(f"{k}={flag_text(v) if isinstance(v, bool) else number_text(v)}")
    sched = entry.schedule
    if sched.kind != "constant":
        parts.append(f"schedule={sched.kind}")
        for name in SCHEDULE_FIELDS:
            value = getattr(sched, name)
            if value != v1.SCHEDULE_DEFAULTS.get(name, getattr(Schedule(kind=sched.kind), name)):
                parts.append(f"{name}={number_text(value)}")
    return ",".join(parts)


def num_box(box: tuple[tuple[float, float], tuple[float, float]]) -> str:
    """A domain as ``x0,x1,y0,y1``."""
    return ",".join(number_text(v) for pair in box for v in pair)
