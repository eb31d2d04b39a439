"""Learning-rate schedules: lr_t = lr * factor(t) for step t = 0, 1, 2, ...

Each schedule is the closed form of the torch.optim.lr_scheduler class named beside it (with
``scheduler.step()`` called after every optimizer step), so trajectories match torch's:

- constant:     factor = 1
- step:         factor = gamma ** floor(t / step_size)                       (StepLR)
- exponential:  factor = gamma ** t                                          (ExponentialLR)
- cosine:       factor = eta + (1 - eta) (1 + cos(pi t / t_max)) / 2,
                eta = eta_min / lr; for t > t_max the cosine continues        (CosineAnnealingLR)
- warmup:       factor = s + (1 - s) min(t, warmup) / warmup                 (LinearLR, end 1)
- warmup_cosine: linear warm-up over ``warmup`` steps, then cosine decay to eta_min over the rest
                (Loshchilov & Hutter 2017, "SGDR"; Goyal et al. 2017 for warm-up)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

ScheduleKind = Literal["constant", "step", "exponential", "cosine", "warmup", "warmup_cosine"]
SCHEDULES: tuple[str, ...] = (
    "constant",
    "step",
    "exponential",
    "cosine",
    "warmup",
    "warmup_cosine",
)

# the closed range of each numeric field: checked by Schedule, offered by the app's inputs
FIELD_RANGES: dict[str, tuple[float, float]] = {
    "step_size": (1, 1_000_000),
    "gamma": (1e-6, 1.0),
    "t_max": (0, 1_000_000),
    "eta_min": (0.0, 1e6),
    "warmup": (0, 1_000_000),
    "start_factor": (1e-6, 1.0),
}


@dataclass(frozen=True)
class Schedule:
    """A learning-rate schedule; ``factors(lr, steps)`` gives the multiplier for every step.

    Attributes:
        kind: one of SCHEDULES.
        step_size: steps between decays ("step").
        gamma: decay factor per ``step_size`` ("step") or per step ("exponential").
        t_max: half-period of the cosine in steps ("cosine"); 0 means the run's length.
        eta_min: the cosine's floor, an absolute learning rate (as in torch).
        warmup: warm-up length in steps ("warmup", "warmup_cosine").
        start_factor: the warm-up's first factor.
    """

    kind: ScheduleKind = "constant"
    step_size: int = 100
    gamma: float = 0.5
    t_max: int = 0
    eta_min: float = 0.0
    warmup: int = 20
    start_factor: float = 1.0 / 3.0

    def __post_init__(self) -> None:
        if self.kind not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {self.kind!r}")
        for name, (low, high) in FIELD_RANGES.items():
            value = getattr(self, name)
            if not (math.isfinite(value) and low <= value <= high):
                raise ValueError(f"schedule {name} must be in [{low:g}, {high:g}], got {value:.6g}")

    def used_fields(self) -> tuple[str, ...]:
        """The fields this kind of schedule reads."""
        return _USES[self.kind]

    def canonical(self) -> Schedule:
        """The same schedule with the fields its kind does not use reset to their defaults, so
        that equal schedules compare equal."""
        return Schedule(self.kind, **{name: getattr(self, name) for name in self.used_fields()})

    def factors(self, lr: float, steps: int) -> np.ndarray:
        """Multipliers of ``lr`` for steps 0 .. steps-1, shape (steps,), float64."""
        t = np.arange(steps, dtype=np.float64)
        eta = self.eta_min / lr if lr > 0 else 0.0
        if self.kind == "constant":
            return np.ones(steps)
        if self.kind == "step":
            return self.gamma ** np.floor(t / self.step_size)
        if self.kind == "exponential":
            return self.gamma**t
        if self.kind == "cosine":
            t_max = self.t_max or steps
            return eta + (1.0 - eta) * (1.0 + np.cos(np.pi * t / t_max)) / 2.0
        warm = _linear_warmup(t, self.warmup, self.start_factor)
        if self.kind == "warmup":
            return warm
        span = max(steps - self.warmup, 1)
        after = np.clip(t - self.warmup, 0.0, None)
        cosine = eta + (1.0 - eta) * (1.0 + np.cos(np.pi * after / span)) / 2.0
        return np.where(t < self.warmup, warm, cosine)


_USES: dict[str, tuple[str, ...]] = {
    "constant": (),
    "step": ("step_size", "gamma"),
    "exponential": ("gamma",),
    "cosine": ("t_max", "eta_min"),
    "warmup": ("warmup", "start_factor"),
    "warmup_cosine": ("warmup", "start_factor", "eta_min"),
}


def _linear_warmup(t: np.ndarray, warmup: int, start: float) -> np.ndarray:
    if warmup == 0:
        return np.ones_like(t)
    return start + (1.0 - start) * np.minimum(t, warmup) / warmup


def as_schedule(value: Schedule | str | dict | None) -> Schedule:
    """Accept a Schedule, a kind name, a dict of Schedule fields, or None (constant)."""
    if value is None:
        return Schedule()
    if isinstance(value, Schedule):
        return value
    if isinstance(value, str):
        return Schedule(kind=value)  # type: ignore[arg-type]
    if isinstance(value, dict):
        try:
            return Schedule(**value)
        except TypeError as exc:
            raise ValueError(f"bad schedule {value!r}: {exc}") from None
    raise ValueError(f"schedule must be a name, a dict or a Schedule, got {type(value).__name__}")
