"""Run labels: short names that tell the runs of one scene apart.

A label is the optimizer's title, its learning rate, then every other setting that differs from
the optimizer's defaults, in the order the optimizer declares them, and the schedule when it is
not constant (with the schedule's fields that differ from that kind's defaults)::

    Gradient descent lr=0.02 noise=0.1
    Momentum lr=0.01 clip=1
    SGD lr=0.05 noise=2 cosine
    Adam lr=0.1 amsgrad step(step_size=50)

Two runs with identical settings still get the same text; ``unique_labels`` then numbers the
second and later ones ("Adam lr=0.1 #2"), so no two runs of a scene share a label.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import optimizers
from optimizers import Schedule

# shorter names for long hyperparameter names; the others are shown as declared, "_" as "-"
SHORT_NAMES: dict[str, str] = {
    "weight_decay": "wd",
    "clip_norm": "clip",
    "clip_value": "clipval",
    "initial_accumulator_value": "acc0",
    "decoupled_weight_decay": "decoupled-wd",
    "bias_correction": "bias-correction",
}


def short_name(name: str) -> str:
    """The name a label gives hyperparameter or schedule field ``name``."""
    return SHORT_NAMES.get(name, name.replace("_", "-"))


def setting_text(name: str, value: float | bool) -> str:
    """One setting as a label shows it: ``lr=0.02``; a switch as its name, or ``no-<name>``."""
    if isinstance(value, bool):
        return short_name(name) if value else f"no-{short_name(name)}"
    return f"{short_name(name)}={value:g}"


def schedule_text(schedule: Schedule) -> str:
    """The schedule in a label: "" when constant, else its kind and the fields it uses that
    differ from that kind's defaults, e.g. "cosine" or "step(gamma=0.1)"."""
    if schedule.kind == "constant":
        return ""
    default = Schedule(kind=schedule.kind)
    changed = [
        setting_text(name, getattr(schedule, name))
        for name in schedule.used_fields()
        if getattr(schedule, name) != getattr(default, name)
    ]
    return f"{schedule.kind}({','.join(changed)})" if changed else schedule.kind


def run_label(
    name: str, changed: Mapping[str, float | bool], schedule: Schedule | None = None
) -> str:
    """The label of optimizer ``name`` with the hyperparameters ``changed`` from its defaults
    (values equal to a default are left out; the learning rate is always shown)."""
    opt = optimizers.get(name)
    values = {**opt.defaults, **changed}
    parts = [opt.title]
    if "lr" in values:
        parts.append(setting_text("lr", values["lr"]))
    for h in opt.all_hyperparams():
        if h.name != "lr" and h.name in changed and changed[h.name] != opt.defaults.get(h.name):
            parts.append(setting_text(h.name, changed[h.name]))
    sched = schedule_text(schedule) if schedule is not None else ""
    if sched:
        parts.append(sched)
    return " ".join(parts)


def unique_labels(labels: Iterable[str]) -> list[str]:
    """``labels`` with the second and later copies of a repeated label numbered: "X", "X #2"."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return out


def lowest_free(taken: Sequence[int]) -> int:
    """The smallest slot (0, 1, 2, ...) not in ``taken``: the colour a new run gets."""
    used = set(taken)
    return next(i for i in range(len(used) + 1) if i not in used)
