"""The state of a view: one frozen value, encoded in and decoded from the URL's query string.

Query schema ``v=1`` (every field optional; a missing one takes its default)::

    v=1
    ls=rosenbrock                  landscape key
    lp=b:10                        landscape parameters, name:value pairs joined by ","
    o=adam,lr=0.05,beta1=0.8       one optimizer per "o" (repeat it), name then name=value
    o=gd,lr=0.002,schedule=cosine  (schedule fields: step_size, gamma, t_max, eta_min, warmup,
                                   start_factor)
    start=-1.5,2                   start point (default: the landscape's)
    steps=500  seed=0  k=120       run length, noise seed, the step shown
    log=1  view3d=1  curves=1  arrows=1     display switches

Decoding never raises: a value that does not parse, or is out of range, adds a warning naming it
and falls back to its default; the rest of the link still applies.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import landscapes
import optimizers
from optimizers import Schedule

SCHEMA_VERSION = "1"
MAX_STEPS = 5000
MAX_OPTIMIZERS = 8
SCHEDULE_FIELDS = tuple(f.name for f in fields(Schedule) if f.name != "kind")


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
        """Display name: the title and the learning rate, e.g. "Adam lr=0.05"."""
        title = optimizers.get(self.name).title
        lr = self.values.get("lr")
        text = f"{title} lr={lr:g}" if lr is not None else title
        if self.schedule.kind != "constant":
            text += f" ({self.schedule.kind})"
        return text


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
    step: int | None = None  # the step shown; None: the last
    log_colour: bool | None = None  # None: the landscape's own choice
    show_3d: bool = True
    show_curves: bool = True
    show_arrows: bool = True

    # -- derived ------------------------------------------------------------------------------
    def surface(self) -> landscapes.Landscape:
        return landscapes.get(self.landscape, **dict(self.landscape_params))

    def start_point(self) -> tuple[float, float]:
        return self.start if self.start is not None else tuple(self.surface().start)

    def shown_step(self) -> int:
        return self.steps if self.step is None else min(self.step, self.steps)

    # -- encoding -----------------------------------------------------------------------------
    def to_query(self) -> dict[str, str | list[str]]:
        """Query parameters for this state; defaults are left out to keep links short."""
        q: dict[str, str | list[str]] = {"v": SCHEMA_VERSION, "ls": self.landscape}
        if self.landscape_params:
            q["lp"] = ",".join(f"{k}:{_num(v)}" for k, v in self.landscape_params)
        q["o"] = [_encode_entry(e) for e in self.optimizers]
        if self.start is not None:
            q["start"] = f"{_num(self.start[0])},{_num(self.start[1])}"
        default = AppState()
        for key, attr in (("steps", "steps"), ("seed", "seed"), ("k", "step")):
            value = getattr(self, attr)
            if value != getattr(default, attr):
                q[key] = str(value)
        if self.log_colour is not None:
            q["log"] = _flag(self.log_colour)
        for key, attr in (
            ("view3d", "show_3d"),
            ("curves", "show_curves"),
            ("arrows", "show_arrows"),
        ):
            if getattr(self, attr) != getattr(default, attr):
                q[key] = _flag(getattr(self, attr))
        return q

    @classmethod
    def from_query(cls, query: Mapping[str, str | Sequence[str]]) -> tuple[AppState, list[str]]:
        """Decode a query; returns the state and one warning per value that could not be used."""
        warn: list[str] = []
        get = _Reader(query, warn)
        version = get.one("v")
        if version is not None and version != SCHEMA_VERSION:
            warn.append(
                f"link version v={version} is not known (this app reads v=1); reading it as v=1"
            )
        state = cls()
        updates: dict[str, Any] = {}

        key = get.one("ls")
        if key is not None:
            if key in landscapes.available():
                updates["landscape"] = key
            else:
                warn.append(f"landscape {key!r} is unknown; showing {state.landscape!r}")
        land_key = updates.get("landscape", state.landscape)
        lp = get.one("lp")
        if lp:
            updates["landscape_params"] = _decode_landscape_params(land_key, lp, warn)

        entries = get.all("o")
        if entries:
            decoded = [e for raw in entries[:MAX_OPTIMIZERS] if (e := _decode_entry(raw, warn))]
            if len(entries) > MAX_OPTIMIZERS:
                warn.append(f"only the first {MAX_OPTIMIZERS} optimizers of the link are used")
            if decoded:
                updates["optimizers"] = tuple(decoded)

        start = get.one("start")
        if start is not None:
            updates["start"] = _decode_start(
                start, land_key, dict(updates.get("landscape_params", ())), warn
            )
        for qkey, attr, low, high in (
            ("steps", "steps", 1, MAX_STEPS),
            ("seed", "seed", 0, 2**31 - 1),
            ("k", "step", 0, MAX_STEPS),
        ):
            raw = get.one(qkey)
            if raw is not None:
                value = _int_in(raw, low, high)
                if value is None:
                    warn.append(
                        f"{qkey}={raw!r} must be an integer in [{low}, {high}]; using the default"
                    )
                else:
                    updates[attr] = value
        for qkey, attr in (
            ("log", "log_colour"),
            ("view3d", "show_3d"),
            ("curves", "show_curves"),
            ("arrows", "show_arrows"),
        ):
            raw = get.one(qkey)
            if raw is not None:
                if raw in ("0", "1"):
                    updates[attr] = raw == "1"
                else:
                    warn.append(f"{qkey}={raw!r} must be 0 or 1; using the default")
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
BENCHMARK_STATE = AppState(optimizers=BENCHMARK_OPTIMIZERS)


# --- helpers -------------------------------------------------------------------------------------


class _Reader:
    """Reads single or repeated values from a query mapping (Streamlit's or a plain dict)."""

    def __init__(self, query: Mapping[str, str | Sequence[str]], warn: list[str]):
        self.query, self.warn = query, warn

    def all(self, key: str) -> list[str]:
        getter = getattr(self.query, "get_all", None)
        if getter is not None:
            return [str(v) for v in getter(key)]
        value = self.query.get(key)
        if value is None:
            return []
        return [value] if isinstance(value, str) else [str(v) for v in value]

    def one(self, key: str) -> str | None:
        values = self.all(key)
        if len(values) > 1:
            self.warn.append(f"{key} is given {len(values)} times; using the first")
        return values[0] if values else None


def _num(x: float) -> str:
    """Shortest text that reads back as the same float (repr), without a trailing '.0'."""
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _int_in(text: str, low: int, high: int) -> int | None:
    try:
        value = int(text)
    except ValueError:
        return None
    return value if low <= value <= high else None


def _encode_entry(entry: OptimizerEntry) -> str:
    parts = [entry.name]
    for k, v in entry.hyperparams:
        parts.append(f"{k}={_flag(v) if isinstance(v, bool) else _num(v)}")
    sched = entry.schedule
    if sched.kind != "constant":
        parts.append(f"schedule={sched.kind}")
        default = Schedule(kind=sched.kind)
        for name in SCHEDULE_FIELDS:
            value = getattr(sched, name)
            if value != getattr(default, name):
                parts.append(f"{name}={_num(value)}")
    return ",".join(parts)


def _decode_entry(raw: str, warn: list[str]) -> OptimizerEntry | None:
    name, *pairs = raw.split(",")
    name = name.strip()
    if name not in optimizers.available():
        warn.append(f"optimizer {name!r} is unknown; it is left out")
        return None
    opt = optimizers.get(name)
    specs = {h.name: h for h in opt.all_hyperparams()}
    hp: dict[str, Any] = {}
    sched: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep:
            warn.append(f"{name}: {pair!r} is not name=value; ignored")
        elif key == "schedule" or key in SCHEDULE_FIELDS:
            sched[key] = text
        elif key not in specs:
            warn.append(f"{name}: unknown hyperparameter {key!r}; ignored")
        else:
            h = specs[key]
            value: Any = text == "1" if h.kind == "bool" and text in ("0", "1") else _float(text)
            try:
                hp[key] = h.validate(value, name) if value is not None else h.validate(text, name)
            except ValueError as exc:
                warn.append(f"{exc}; using the default {h.default}")
    try:
        entry = OptimizerEntry.make(name, _decode_schedule(name, sched, warn), **hp)
    except ValueError as exc:  # a combination that is invalid (Nesterov without momentum)
        warn.append(f"{exc}; using {name}'s defaults")
        entry = OptimizerEntry.make(name)
    return entry


def _decode_schedule(name: str, raw: dict[str, str], warn: list[str]) -> Schedule:
    kind = raw.pop("schedule", "constant")
    if kind not in optimizers.SCHEDULES:
        warn.append(f"{name}: schedule {kind!r} is unknown; using a constant learning rate")
        return Schedule()
    values: dict[str, Any] = {}
    for key, text in raw.items():
        number = _float(text)
        if number is None:
            warn.append(f"{name}: schedule {key}={text!r} is not a number; using the default")
            continue
        values[key] = int(number) if key in ("step_size", "t_max", "warmup") else number
    try:
        return Schedule(kind=kind, **values)
    except ValueError as exc:
        warn.append(f"{name}: {exc}; using the schedule's defaults")
        return Schedule(kind=kind)


def _decode_landscape_params(key: str, raw: str, warn: list[str]) -> tuple[tuple[str, float], ...]:
    specs = {p.name: p for p in landscapes.parameters(key)}
    out: dict[str, float] = {}
    for pair in raw.split(","):
        name, sep, text = pair.partition(":")
        if not sep or name not in specs:
            warn.append(
                f"landscape parameter {pair!r} is not one of {', '.join(specs) or 'none'}; ignored"
            )
            continue
        try:
            out[name] = specs[name].validate(text)
        except ValueError as exc:
            warn.append(f"{exc}; using the default {specs[name].default:g}")
    return tuple(sorted(out.items()))


def _decode_start(
    raw: str, key: str, params: dict[str, float], warn: list[str]
) -> tuple[float, float] | None:
    parts = raw.split(",")
    values = [_float(p) for p in parts] if len(parts) == 2 else [None]
    if any(v is None for v in values):
        warn.append(f"start={raw!r} must be two numbers x,y; using the landscape's start")
        return None
    (x0, x1), (y0, y1) = landscapes.get(key, **params).domain
    x, y = values
    if not (x0 <= x <= x1 and y0 <= y <= y1):
        warn.append(
            f"start=({x:g}, {y:g}) is outside the plot [{x0:g}, {x1:g}] x [{y0:g}, {y1:g}]; "
            "using the landscape's start"
        )
        return None
    return (x, y)
