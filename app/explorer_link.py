"""Reading an explorer link: ``from_query`` decodes a query into an ``AppState`` (the inverse of
``AppState.to_query``); the schema is in ``app.state``'s docstring.

This sits above both the state and the lessons (a link may name a lesson, which is checked
against ``app.lessons``), so that ``app.lessons`` can build its views from ``app.state`` without a
cycle. Plain values are decoded by their ``Field`` declarations (``app.links.fields``); the
optimizers, the custom formula and the presentation have their own small readers here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import optimizers
from landscapes.formula import FormulaError, check_domain, custom_landscape
from optimizers import Schedule

from .labels import lowest_free
from .lessons import BY_ID
from .links import v1
from .links.fields import decode
from .links.surface import decode_landscape_params, decode_start
from .literal import quoted
from .query import QueryReader, finite_float, int_in
from .state import (
    CONTROLS,
    MAX_OPTIMIZERS,
    PRESENTER_FIELDS,
    RUN_FIELDS,
    SCHEDULE_FIELDS,
    V1_REFERENCE,
    VIEW_FIELDS,
    AppState,
    OptimizerEntry,
    num_box,
)
from .surfaces import CUSTOM, known_landscape

EXPLORER_PAGE = "views/explorer.py"


def from_query(query: Mapping[str, str | Sequence[str]]) -> tuple[AppState, list[str]]:
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
        updates["landscape_params"] = decode_landscape_params(land_key, lp, warn)
    if land_key == CUSTOM:
        updates.update(_decode_custom(get.one("fx"), get.one("dom"), warn))

    entries = get.all("o")
    if entries:
        decoded, wanted = [], []
        for raw in entries[:MAX_OPTIMIZERS]:
            text, slot = _split_slot(raw, warn)
            if e := decode_entry(text, warn):
                decoded.append(e)
                wanted.append(slot)
        if len(entries) > MAX_OPTIMIZERS:
            warn.append(f"only the first {MAX_OPTIMIZERS} optimizers of the link are used")
        if decoded:
            updates["optimizers"] = tuple(decoded)
            updates["slots"] = _fill_slots(wanted, warn)
    if land_key != CUSTOM:
        filled = v1.fill_params(land_key, updates.get("landscape_params", ()))
        if filled:
            updates["landscape_params"] = filled

    start = get.one("start")
    if start is not None:
        engine_params = replace(state, **updates).engine_params()
        updates["start"] = decode_start(start, land_key, engine_params, warn)
    updates.update(decode(get, RUN_FIELDS + VIEW_FIELDS, V1_REFERENCE, warn))
    updates.update(_decode_presentation(get, warn))
    if updates.get("play") and "step" not in updates:  # a race that plays starts at 0
        updates["step"] = 0
    if start is None:
        shown = replace(state, **updates)
        v1_start = v1.start_to_read(
            shown.landscape, shown.landscape_params, tuple(shown.surface().start)
        )
        if v1_start is not None:
            updates["start"] = v1_start
    result = replace(state, **updates)
    if result.step is not None and result.step > result.steps:
        warn.append(f"k={result.step} is past the last step {result.steps}; showing the last")
        result = replace(result, step=None)
    return result, warn


def v1_base() -> AppState:
    """The state an empty ``v=1`` link means: the frozen default scene."""
    warn: list[str] = []
    frozen = v1.STATE
    entries = tuple(e for raw in frozen["optimizers"] if (e := decode_entry(raw, warn)))
    return AppState(
        landscape=frozen["landscape"],
        optimizers=entries,
        steps=frozen["steps"],
        seed=frozen["seed"],
        step=frozen["step"],
        show_3d=frozen["show_3d"],
        show_curves=frozen["show_curves"],
        show_arrows=frozen["show_arrows"],
        show_curvature=frozen["show_curvature"],
        formula=frozen["formula"],
        domain=frozen["domain"],
        theme=frozen["theme"],
    )


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


def decode_entry(raw: str, warn: list[str]) -> OptimizerEntry | None:
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
    for key, value in v1.entry_defaults(name).items():
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
        k: v for k, v in v1.SCHEDULE_DEFAULTS.items() if k in SCHEDULE_FIELDS and kind != "constant"
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
    out: dict[str, Any] = {}
    lesson = get.one("lesson")
    if lesson is not None:
        if lesson in BY_ID and BY_ID[lesson].page == EXPLORER_PAGE:
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
    out.update(decode(get, PRESENTER_FIELDS, V1_REFERENCE, warn))
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
            warn.append(f"dom: {exc}; using {num_box(v1.STATE['domain'])}")
    if fx is None:
        warn.append(f"ls=custom without fx=...; using the default formula {v1.STATE['formula']}")
        return out
    try:
        out["formula"] = custom_landscape(fx, domain=out.get("domain", v1.STATE["domain"])).params[
            0
        ][1]
    except FormulaError as exc:
        warn.append(f"fx: {exc}. Using the default formula {v1.STATE['formula']}")
    return out
