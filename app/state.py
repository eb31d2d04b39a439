"""The state of a view: one frozen value, encoded in and decoded from the URL's query string.

Query schema ``v=1`` (every field optional; a missing one takes its default)::

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
    log=1  view3d=1  curves=1  arrows=1  curv=1     display switches (curv: curvature panel)
    lesson=lr-diverging            the lesson shown with the view (see app.lessons)
    hide=optimizers,steps          controls a student does not see (CONTROLS)
    lock=landscape                 controls a student sees but cannot change
    present=1  theme=dark          presenter mode: large type, thick lines, colour-blind-safe
    play=1                         the race plays once when the link is opened

Decoding never raises: a value that does not parse, or is out of range, adds a warning naming it
and falls back to its default; the rest of the link still applies.

Links stay valid: a ``v=1`` link means what it meant when it was made. A value the link leaves out
takes its *v=1* default from the frozen tables at the end of this module (``V1_*``: the default
scene, every optimizer's hyperparameters, every landscape's parameters and start, the schedule
fields, the custom formula), not the engine's current default; and ``to_query`` leaves out only
values equal to those frozen defaults. If a default changes in the engine, old links keep their
trajectories and new links write the new value explicitly. A new optimizer, hyperparameter or
landscape gets its entry in the tables when it is added (a test checks they cover the registry).
One limit: the quadratic's start follows its parameters (its rotation); it is frozen at its
default parameters only, and with others a link without ``start=`` uses the current rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import landscapes
import optimizers
from landscapes.formula import (
    DEFAULT_DOMAIN,
    DEFAULT_FORMULA,
    FormulaError,
    check_domain,
    custom_landscape,
)
from optimizers import Schedule

from .labels import lowest_free, run_label, unique_labels
from .link_defaults import ADDED_OPTIMIZER_DEFAULTS, ADDED_STARTS
from .literal import quoted
from .query import SCHEMA_VERSION, QueryReader, finite_float, flag_text, int_in, number_text

STEPS_RANGE = (1, 2000)  # steps of a run: the link's bounds and the Steps slider's
MAX_OPTIMIZERS = 8
SCHEDULE_FIELDS = tuple(f.name for f in fields(Schedule) if f.name != "kind")
CUSTOM = "custom"  # the landscape key of the user's own formula
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


def landscape_for(key: str, params: tuple[tuple[str, Any], ...] = ()) -> landscapes.Landscape:
    """The engine landscape for a key and its parameters; for ``CUSTOM`` the parameters are
    ``(("dom", ((x0, x1), (y0, y1))), ("fx", text))`` (see ``AppState.engine_params``)."""
    if key == CUSTOM:
        values = dict(params)
        return custom_landscape(
            str(values.get("fx", DEFAULT_FORMULA)), domain=values.get("dom", DEFAULT_DOMAIN)
        )
    return landscapes.get(key, **dict(params))


def landscape_parameters(key: str) -> tuple[landscapes.Parameter, ...]:
    """The tunable parameters of a landscape key (none for the custom formula)."""
    return () if key == CUSTOM else landscapes.parameters(key)


def known_landscape(key: str) -> bool:
    return key == CUSTOM or key in landscapes.available()


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
    """Everything that defines a view; ``to_query`` / ``from_query`` round-trip it exactly."""

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
        """Query parameters for this state; defaults are left out to keep links short."""
        q: dict[str, str | list[str]] = {"v": SCHEMA_VERSION, "ls": self.landscape}
        params = _v1_params_to_write(self.landscape, self.landscape_params)
        if params:
            q["lp"] = ",".join(f"{k}:{number_text(v)}" for k, v in params)
        if self.landscape == CUSTOM:
            q["fx"] = self.formula
            if self.domain != V1_STATE["domain"]:
                q["dom"] = _num_box(self.domain)
        q["o"] = [_encode_entry(e) for e in self.optimizers]
        if self.slots:  # colours that are not by position: every entry names its slot
            q["o"] = [f"{o},c={c}" for o, c in zip(q["o"], self.slots, strict=True)]
        start = self.start if self.start is not None else _v1_start_to_write(self)
        if start is not None:
            q["start"] = f"{number_text(start[0])},{number_text(start[1])}"
        default = _V1Defaults
        for key, attr in (("steps", "steps"), ("seed", "seed"), ("k", "step")):
            value = getattr(self, attr)
            if value != getattr(default, attr):
                q[key] = str(value)
        if self.log_colour is not None:
            q["log"] = flag_text(self.log_colour)
        for key, attr in (
            ("view3d", "show_3d"),
            ("curves", "show_curves"),
            ("arrows", "show_arrows"),
            ("curv", "show_curvature"),
        ):
            if getattr(self, attr) != getattr(default, attr):
                q[key] = flag_text(getattr(self, attr))
        if self.lesson is not None:
            q["lesson"] = self.lesson
        for key in ("hide", "lock"):
            if getattr(self, key):
                q[key] = ",".join(getattr(self, key))
        if self.present:
            q["present"] = "1"
        if self.theme != default.theme:
            q["theme"] = self.theme
        if self.play:
            q["play"] = "1"
        return q

    @classmethod
    def from_query(cls, query: Mapping[str, str | Sequence[str]]) -> tuple[AppState, list[str]]:
        """Decode a query; returns the state and one warning per value that could not be used."""
        warn: list[str] = []
        get = QueryReader(query, warn)
        get.check_version()
        state = v1_base()
        updates: dict[str, Any] = {}

        key = get.one("ls")
        if key is not None:
            if known_landscape(key):
                updates["landscape"] = key
            else:
                warn.append(f"landscape {quoted(key)} is unknown; showing {state.landscape!r}")
        land_key = updates.get("landscape", state.landscape)
        lp = get.one("lp")
        if lp:
            updates["landscape_params"] = _decode_landscape_params(land_key, lp, warn)
        if land_key == CUSTOM:
            updates.update(_decode_custom(get.one("fx"), get.one("dom"), warn))

        entries = get.all("o")
        if entries:
            decoded, wanted = [], []
            for raw in entries[:MAX_OPTIMIZERS]:
                text, slot = _split_slot(raw, warn)
                if e := _decode_entry(text, warn):
                    decoded.append(e)
                    wanted.append(slot)
            if len(entries) > MAX_OPTIMIZERS:
                warn.append(f"only the first {MAX_OPTIMIZERS} optimizers of the link are used")
            if decoded:
                updates["optimizers"] = tuple(decoded)
                updates["slots"] = _fill_slots(wanted, warn)
        if land_key != CUSTOM:
            filled = _v1_fill_params(land_key, updates.get("landscape_params", ()))
            if filled:
                updates["landscape_params"] = filled

        start = get.one("start")
        if start is not None:
            engine_params = replace(state, **updates).engine_params()
            updates["start"] = _decode_start(start, land_key, engine_params, warn)
        for qkey, attr, low, high in (
            ("steps", "steps", *STEPS_RANGE),
            ("seed", "seed", 0, 2**31 - 1),
            ("k", "step", 0, STEPS_RANGE[1]),
        ):
            raw = get.one(qkey)
            if raw is not None:
                value = int_in(raw, low, high)
                if value is None:
                    warn.append(
                        f"{qkey}={quoted(raw)} must be an integer in [{low}, {high}]; using the default"
                    )
                else:
                    updates[attr] = value
        for qkey, attr in (
            ("log", "log_colour"),
            ("view3d", "show_3d"),
            ("curves", "show_curves"),
            ("arrows", "show_arrows"),
            ("curv", "show_curvature"),
        ):
            raw = get.one(qkey)
            if raw is not None:
                if raw in ("0", "1"):
                    updates[attr] = raw == "1"
                else:
                    warn.append(f"{qkey}={quoted(raw)} must be 0 or 1; using the default")
        updates.update(_decode_presentation(get, warn))
        if updates.get("play") and "step" not in updates:  # a race that plays starts at 0
            updates["step"] = 0
        if start is None:
            v1_start = _v1_start_to_read(replace(state, **updates))
            if v1_start is not None:
                updates["start"] = v1_start
        result = replace(state, **updates)
        if result.step is not None and result.step > result.steps:
            warn.append(f"k={result.step} is past the last step {result.steps}; showing the last")
            result = replace(result, step=None)
        return result, warn


# The default scene widened to six optimizers: the workload of the app's benchmarks and of the
# figure tests (Adam's learning rate is the fourth entry's).
BENCHMARK_OPTIMIZERS: tuple[OptimizerEntry, ...] = (
    *DEFAULT_OPTIMIZERS[:2],
    OptimizerEntry.make("nesterov"),
    DEFAULT_OPTIMIZERS[2],
    OptimizerEntry.make("rmsprop"),
    DEFAULT_OPTIMIZERS[3],
)
BENCHMARK_STATE = AppState(  # every view on, at the last step: the heaviest page of the scene
    optimizers=BENCHMARK_OPTIMIZERS, step=None, show_3d=True, show_arrows=True, show_curvature=True
)


# --- helpers -------------------------------------------------------------------------------------


def _encode_entry(entry: OptimizerEntry) -> str:
    """``name,key=value,...`` with the values that differ from the frozen v=1 defaults."""
    parts = [entry.name]
    frozen = V1_OPTIMIZER_DEFAULTS.get(entry.name, {})
    current = dict(entry.hyperparams)
    for k, v in sorted(entry.values.items()):
        if (k in frozen and v != frozen[k]) or (k not in frozen and k in current):
            parts.append(f"{k}={flag_text(v) if isinstance(v, bool) else number_text(v)}")
    sched = entry.schedule
    if sched.kind != "constant":
        parts.append(f"schedule={sched.kind}")
        for name in SCHEDULE_FIELDS:
            value = getattr(sched, name)
            if value != V1_SCHEDULE_DEFAULTS.get(name, getattr(Schedule(kind=sched.kind), name)):
                parts.append(f"{name}={number_text(value)}")
    return ",".join(parts)


def _split_slot(raw: str, warn: list[str]) -> tuple[str, int | None]:
    """An ``o=`` entry without its ``c=`` part (the colour slot), and that slot (None: none,
    or one that is not an integer in [0, MAX_OPTIMIZERS))."""
    parts = raw.split(",")
    slot = None
    kept = [parts[0]]
    for pair in parts[1:]:
        key, sep, text = pair.partition("=")
        if key.strip() != "c" or not sep:
            kept.append(pair)
            continue
        slot = int_in(text, 0, MAX_OPTIMIZERS - 1)
        if slot is None:
            warn.append(
                f"{parts[0].strip()}: c={quoted(text)} must be an integer in "
                f"[0, {MAX_OPTIMIZERS - 1}]; colour by position"
            )
    return ",".join(kept), slot


def _fill_slots(wanted: Sequence[int | None], warn: list[str]) -> tuple[int, ...]:
    """Colour slots of a link's optimizers: the slot an entry names (a repeated one is dropped
    with a warning), the lowest free slot for an entry that names none. A link that names no
    slot colours by position, as links did before slots."""
    taken: list[int] = []
    for slot in wanted:
        if slot is not None and slot in taken:
            warn.append(f"colour slot c={slot} is given twice; the second run takes a free one")
        elif slot is not None:
            taken.append(slot)
    out: list[int] = []
    named = set()
    for slot in wanted:
        if slot is not None and slot not in named:
            named.add(slot)
            out.append(slot)
        else:
            free = lowest_free([*taken, *out])
            out.append(free)
    return tuple(out)


def _decode_entry(raw: str, warn: list[str]) -> OptimizerEntry | None:
    name, *pairs = raw.split(",")
    name = name.strip()
    if name not in optimizers.available():
        warn.append(f"optimizer {quoted(name)} is unknown; it is left out")
        return None
    opt = optimizers.get(name)
    specs = {h.name: h for h in opt.all_hyperparams()}
    hp: dict[str, Any] = {}
    sched: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep:
            warn.append(f"{name}: {quoted(pair)} is not name=value; ignored")
        elif key == "schedule" or key in SCHEDULE_FIELDS:
            sched[key] = text
        elif key not in specs:
            warn.append(f"{name}: unknown hyperparameter {quoted(key)}; ignored")
        else:
            h = specs[key]
            value: Any = (
                text == "1" if h.kind == "bool" and text in ("0", "1") else finite_float(text)
            )
            try:
                hp[key] = h.validate(value, name) if value is not None else h.validate(text, name)
            except ValueError as exc:
                warn.append(f"{exc}; using the default {h.default}")
    current = opt.defaults
    for key, value in V1_OPTIMIZER_DEFAULTS.get(name, {}).items():
        if key not in hp and key in current and current[key] != value:
            hp[key] = value  # the link meant the v=1 default
    try:
        entry = OptimizerEntry.make(name, _decode_schedule(name, sched, warn), **hp)
    except ValueError as exc:  # a combination that is invalid (Nesterov without momentum)
        warn.append(f"{exc}; using {name}'s defaults")
        entry = OptimizerEntry.make(name)
    return entry


def _decode_schedule(name: str, raw: dict[str, str], warn: list[str]) -> Schedule:
    kind = raw.pop("schedule", "constant")
    if kind not in optimizers.SCHEDULES:
        warn.append(f"{name}: schedule {quoted(kind)} is unknown; using a constant learning rate")
        return Schedule()
    values: dict[str, Any] = {
        k: v for k, v in V1_SCHEDULE_DEFAULTS.items() if k in SCHEDULE_FIELDS and kind != "constant"
    }
    for key, text in raw.items():
        number = finite_float(text)
        if number is None:
            warn.append(f"{name}: schedule {key}={quoted(text)} is not a number; using the default")
            continue
        values[key] = int(number) if key in ("step_size", "t_max", "warmup") else number
    try:
        return Schedule(kind=kind, **values)
    except ValueError as exc:
        warn.append(f"{name}: {exc}; using the schedule's defaults")
        return Schedule(kind=kind)


def _decode_presentation(get: QueryReader, warn: list[str]) -> dict[str, Any]:
    """The lesson, hidden and locked controls, presenter mode and theme of a link."""
    from .lessons import BY_ID  # lessons are built from AppState: imported when first needed

    out: dict[str, Any] = {}
    lesson = get.one("lesson")
    if lesson is not None:
        if lesson in BY_ID and BY_ID[lesson].page == "views/explorer.py":
            out["lesson"] = lesson
        else:
            warn.append(f"lesson {quoted(lesson)} is unknown; no lesson shown")
    for key in ("hide", "lock"):
        raw = get.one(key)
        if raw is None:
            continue
        names = [n.strip() for n in raw.split(",") if n.strip()]
        unknown = [n for n in names if n not in CONTROLS]
        if unknown:
            warn.append(
                f"{key}: {', '.join(map(quoted, unknown))} not a control "
                f"({', '.join(CONTROLS)}); ignored"
            )
        out[key] = tuple(n for n in CONTROLS if n in names)
    for key in ("present", "play"):
        raw = get.one(key)
        if raw is not None:
            if raw in ("0", "1"):
                out[key] = raw == "1"
            else:
                warn.append(f"{key}={quoted(raw)} must be 0 or 1; using the default")
    raw = get.one("theme")
    if raw is not None:
        if raw in THEMES:
            out["theme"] = raw
        else:
            warn.append(f"theme={quoted(raw)} must be one of {', '.join(THEMES)}; using light")
    return out


def _decode_custom(fx: str | None, dom: str | None, warn: list[str]) -> dict[str, Any]:
    """The formula and domain of a custom landscape; a bad one warns and takes the default."""
    out: dict[str, Any] = {}
    if dom is not None:
        parts = [finite_float(p) for p in dom.split(",")]
        try:
            if len(parts) != 4 or any(p is None for p in parts):
                raise FormulaError(f"it must be four numbers x0,x1,y0,y1, got {quoted(dom)}")
            out["domain"] = check_domain(((parts[0], parts[1]), (parts[2], parts[3])))
        except FormulaError as exc:
            warn.append(f"dom: {exc}; using {_num_box(V1_STATE['domain'])}")
    if fx is None:
        warn.append(f"ls=custom without fx=...; using the default formula {V1_STATE['formula']}")
        return out
    try:
        out["formula"] = custom_landscape(fx, domain=out.get("domain", V1_STATE["domain"])).params[
            0
        ][1]
    except FormulaError as exc:
        warn.append(f"fx: {exc}. Using the default formula {V1_STATE['formula']}")
    return out


def _num_box(box: tuple[tuple[float, float], tuple[float, float]]) -> str:
    return ",".join(number_text(v) for pair in box for v in pair)


def _decode_landscape_params(key: str, raw: str, warn: list[str]) -> tuple[tuple[str, float], ...]:
    specs = {p.name: p for p in landscape_parameters(key)}
    out: dict[str, float] = {}
    for pair in raw.split(","):
        name, sep, text = pair.partition(":")
        if not sep or name not in specs:
            warn.append(
                f"landscape parameter {quoted(pair)} is not one of {', '.join(specs) or 'none'}; ignored"
            )
            continue
        try:
            out[name] = specs[name].validate(text)
        except ValueError as exc:
            warn.append(f"{exc}; using the default {specs[name].default:g}")
    return tuple(sorted(out.items()))


def _decode_start(
    raw: str, key: str, params: tuple[tuple[str, Any], ...], warn: list[str]
) -> tuple[float, float] | None:
    parts = raw.split(",")
    values = [finite_float(p) for p in parts] if len(parts) == 2 else [None]
    if any(v is None for v in values):
        warn.append(f"start={quoted(raw)} must be two numbers x,y; using the landscape's start")
        return None
    (x0, x1), (y0, y1) = landscape_for(key, params).domain
    x, y = values
    if not (x0 <= x <= x1 and y0 <= y <= y1):
        warn.append(
            f"start=({x:g}, {y:g}) is outside the plot [{x0:g}, {x1:g}] x [{y0:g}, {y1:g}]; "
            "using the landscape's start"
        )
        return None
    return (x, y)


# --- frozen v=1 defaults: what a v=1 link means for every value it leaves out --------------------
# Do not edit these when an engine default changes: they are the meaning of existing links.

V1_STATE: dict[str, Any] = {
    "landscape": "rosenbrock",
    "optimizers": ("gd,lr=0.001", "momentum,lr=0.001", "adam,lr=0.1", "newton,lr=0.5"),
    "steps": 500,
    "seed": 0,
    "step": None,
    "show_3d": True,
    "show_curves": True,
    "show_arrows": True,
    "show_curvature": True,
    "formula": "x**4 - 2*x**2 + y**2 + 0.3*x",
    "domain": ((-3.0, 3.0), (-3.0, 3.0)),
    "theme": "light",
}
V1_OPTIMIZER_DEFAULTS: dict[str, dict[str, float | bool]] = {
    "gd": {"lr": 0.001, "weight_decay": 0.0, "noise": 0.0, "clip_norm": 0.0, "clip_value": 0.0},
    "sgd": {
        "lr": 0.001,
        "momentum": 0.0,
        "dampening": 0.0,
        "weight_decay": 0.0,
        "nesterov": False,
        "noise": 1.0,
        "clip_norm": 0.0,
        "clip_value": 0.0,
    },
    "momentum": {
        "lr": 0.001,
        "momentum": 0.9,
        "dampening": 0.0,
        "weight_decay": 0.0,
        "nesterov": False,
        "noise": 0.0,
        "clip_norm": 0.0,
        "clip_value": 0.0,
    },
    "nesterov": {
        "lr": 0.001,
        "momentum": 0.9,
        "dampening": 0.0,
        "weight_decay": 0.0,
        "nesterov": True,
        "noise": 0.0,
        "clip_norm": 0.0,
        "clip_value": 0.0,
    },
    "adagrad": {
        "lr": 0.01,
        "lr_decay": 0.0,
        "weight_decay": 0.0,
        "initial_accumulator_value": 0.0,
        "eps": 1e-10,
        "noise": 0.0,
        "clip_norm": 0.0,
        "clip_value": 0.0,
    },
    "rmsprop": {
        "lr": 0.01,
        "alpha": 0.99,
        "eps": 1e-08,
        "weight_decay": 0.0,
        "momentum": 0.0,
        "centered": False,
        "noise": 0.0,
        "clip_norm": 0.0,
        "clip_value": 0.0,
    },
    "adadelta": {
        "lr": 1.0,
        "rho": 0.9,
        "eps": 1e-06,
        "weight_decay": 0.0,
        "noise": 0.0,
        "clip_norm": 0.0,
        "clip_value": 0.0,
    },
    "adam": {
        "lr": 0.001,
        "beta1": 0.9,
        "beta2": 0.999,
        "eps": 1e-08,
        "weight_decay": 0.0,
        "amsgrad": False,
        "decoupled_weight_decay": False,
        "bias_correction": True,
        "noise": 0.0,
        "clip_norm": 0.0,
        "clip_value": 0.0,
    },
    "adamw": {
        "lr": 0.001,
        "beta1": 0.9,
        "beta2": 0.999,
        "eps": 1e-08,
        "weight_decay": 0.01,
        "amsgrad": False,
        "decoupled_weight_decay": True,
        "bias_correction": True,
        "noise": 0.0,
        "clip_norm": 0.0,
        "clip_value": 0.0,
    },
    "nadam": {
        "lr": 0.002,
        "beta1": 0.9,
        "beta2": 0.999,
        "eps": 1e-08,
        "weight_decay": 0.0,
        "momentum_decay": 0.004,
        "decoupled_weight_decay": False,
        "noise": 0.0,
        "clip_norm": 0.0,
        "clip_value": 0.0,
    },
    "radam": {
        "lr": 0.001,
        "beta1": 0.9,
        "beta2": 0.999,
        "eps": 1e-08,
        "weight_decay": 0.0,
        "decoupled_weight_decay": False,
        "noise": 0.0,
        "clip_norm": 0.0,
        "clip_value": 0.0,
    },
    "adamax": {
        "lr": 0.002,
        "beta1": 0.9,
        "beta2": 0.999,
        "eps": 1e-08,
        "weight_decay": 0.0,
        "noise": 0.0,
        "clip_norm": 0.0,
        "clip_value": 0.0,
    },
    "newton": {
        "lr": 1.0,
        "damping": 0.0001,
        "saddle_free": True,
        "line_search": False,
        "c1": 0.0001,
        "backtrack": 0.5,
        "max_ls": 20,
        "noise": 0.0,
        "clip_norm": 0.0,
        "clip_value": 0.0,
    },
    "bfgs": {
        "lr": 1.0,
        "line_search": False,
        "c1": 0.0001,
        "backtrack": 0.5,
        "max_ls": 20,
        "noise": 0.0,
        "clip_norm": 0.0,
        "clip_value": 0.0,
    },
    "lbfgs": {
        "lr": 1.0,
        "history_size": 10,
        "tolerance_grad": 1e-07,
        "tolerance_change": 1e-09,
        "line_search": False,
        "c1": 0.0001,
        "backtrack": 0.5,
        "max_ls": 20,
        "noise": 0.0,
        "clip_norm": 0.0,
        "clip_value": 0.0,
    },
}
V1_OPTIMIZER_DEFAULTS.update(ADDED_OPTIMIZER_DEFAULTS)
V1_LANDSCAPE_PARAMS: dict[str, dict[str, float]] = {
    "rosenbrock": {"a": 1.0, "b": 100.0},
    "rastrigin": {"A": 10.0},
    "quadratic": {"kappa": 100.0, "angle": 30.0, "lambda_max": 10.0},
    "ravine": {"steepness": 10.0},
    "plateau": {"width": 0.5},
    "cliff": {"steepness": 200.0},
    "bumpy_bowl": {"amplitude": 0.25},
}
# landscapes whose default start was a function of their parameters in v=1
V1_START_FOLLOWS_PARAMS = frozenset({"quadratic"})
# default start of each landscape (at its default parameters)
V1_STARTS: dict[str, tuple[float, float]] = {
    "rosenbrock": (-1.5, 2.0),
    "sphere": (-4.0, 3.0),
    "booth": (-7.0, 7.0),
    "matyas": (8.0, 5.0),
    "beale": (-1.0, 1.5),
    "mccormick": (-1.0, 3.0),
    "himmelblau": (-0.3, 0.0),
    "three_hump_camel": (2.0, -1.5),
    "six_hump_camel": (-1.0, -0.5),
    "goldstein_price": (1.5, 1.5),
    "styblinski_tang": (0.5, 1.0),
    "branin": (2.0, 13.0),
    "rastrigin": (3.4, -2.6),
    "ackley": (2.6, 3.4),
    "levi13": (-2.5, 4.3),
    "griewank": (7.0, -6.0),
    "schaffer2": (3.0, -1.0),
    "easom": (1.0, 5.5),
    "cross_in_tray": (-6.0, 3.0),
    "holder_table": (3.0, 4.0),
    "eggholder": (-300.0, 200.0),
    "bukin6": (-7.0, 2.0),
    "saddle": (1.5, 0.001),
    "saddle_bounded": (1.5, 0.001),
    "monkey_saddle": (1.5, 0.0001),
    "quadratic": (-0.46698729810778056, 1.8088457268119897),
    "ravine": (-3.5, 1.5),
    "plateau": (2.0, 1.1),
    "cliff": (-2.0, 1.0),
    "trap": (-2.5, 2.5),
    "bumpy_bowl": (2.5, 2.0),
}
V1_STARTS.update(ADDED_STARTS)
V1_SCHEDULE_DEFAULTS: dict[str, float] = {
    "step_size": 100,
    "gamma": 0.5,
    "t_max": 0,
    "eta_min": 0.0,
    "warmup": 20,
    "start_factor": 0.3333333333333333,
}


class _V1Defaults:
    """The frozen v=1 values of the state's plain fields, read like an AppState."""

    steps = V1_STATE["steps"]
    seed = V1_STATE["seed"]
    step = V1_STATE["step"]
    show_3d = V1_STATE["show_3d"]
    show_curves = V1_STATE["show_curves"]
    show_arrows = V1_STATE["show_arrows"]
    show_curvature = V1_STATE["show_curvature"]
    theme = V1_STATE["theme"]


def v1_base() -> AppState:
    """The state an empty ``v=1`` link means: the frozen default scene."""
    warn: list[str] = []
    entries = tuple(e for raw in V1_STATE["optimizers"] if (e := _decode_entry(raw, warn)))
    return AppState(
        landscape=V1_STATE["landscape"],
        optimizers=entries,
        steps=V1_STATE["steps"],
        seed=V1_STATE["seed"],
        step=V1_STATE["step"],
        show_3d=V1_STATE["show_3d"],
        show_curves=V1_STATE["show_curves"],
        show_arrows=V1_STATE["show_arrows"],
        show_curvature=V1_STATE["show_curvature"],
        formula=V1_STATE["formula"],
        domain=V1_STATE["domain"],
        theme=V1_STATE["theme"],
    )


def _full_params(key: str, params: tuple[tuple[str, float], ...]) -> dict[str, float]:
    return {**{p.name: p.default for p in landscape_parameters(key)}, **dict(params)}


def _v1_params_to_write(
    key: str, params: tuple[tuple[str, float], ...]
) -> tuple[tuple[str, float], ...]:
    """The landscape parameters a link must name: those that differ from the v=1 defaults."""
    if key not in V1_LANDSCAPE_PARAMS:
        return params
    frozen = V1_LANDSCAPE_PARAMS[key]
    full = _full_params(key, params)
    given = dict(params)
    return tuple(
        sorted(
            (k, v)
            for k, v in full.items()
            if (k in frozen and v != frozen[k]) or (k not in frozen and k in given)
        )
    )


def _v1_fill_params(
    key: str, params: tuple[tuple[str, float], ...]
) -> tuple[tuple[str, float], ...]:
    """``params`` plus the v=1 defaults of the parameters a link left out, where the current
    default differs (empty when nothing needs adding)."""
    given = dict(params)
    current = {p.name: p.default for p in landscape_parameters(key)}
    extra = {
        k: v
        for k, v in V1_LANDSCAPE_PARAMS.get(key, {}).items()
        if k not in given and k in current and current[k] != v
    }
    return tuple(sorted({**given, **extra}.items())) if extra else ()


def _at_v1_params(state: AppState) -> bool:
    """Whether the v=1 start applies: always, except for a landscape whose start followed its
    parameters in v=1 (then only at the v=1 parameters)."""
    if state.landscape not in V1_START_FOLLOWS_PARAMS:
        return True
    frozen = V1_LANDSCAPE_PARAMS.get(state.landscape, {})
    full = _full_params(state.landscape, state.landscape_params)
    return all(full.get(k) == v for k, v in frozen.items())


def _v1_start_to_read(state: AppState) -> tuple[float, float] | None:
    """The v=1 start of a link without ``start=``, where it differs from the current one."""
    if state.landscape not in V1_STARTS or not _at_v1_params(state):
        return None
    frozen = V1_STARTS[state.landscape]
    return frozen if tuple(state.surface().start) != frozen else None


def _v1_start_to_write(state: AppState) -> tuple[float, float] | None:
    """A default start that a v=1 link must still name (the current start is not v=1's)."""
    if state.landscape not in V1_STARTS or not _at_v1_params(state):
        return None
    current = tuple(float(v) for v in state.surface().start)
    return current if current != V1_STARTS[state.landscape] else None
