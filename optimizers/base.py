"""Optimizer declarations: hyperparameter specs, the pure update-rule protocol and the registry.

An optimizer is a pair of pure functions written once for a *batch* of independent runs:

    init(params, hp) -> state
    update(params, loss, grad, state, hp, oracle) -> (new_params, new_state)

``params`` and ``grad`` are ``(R, D)`` tensors (R runs of a D-dimensional problem). ``hp`` maps each
hyperparameter name to an ``(R, 1)`` tensor (floats, or bools for switches) that broadcasts over D,
so runs with different learning rates, betas or switches share one computation. ``loss`` ``(R,)``
is the value at ``params``. ``state`` is a dict of tensors with the leading run axis;
``state["step"]`` counts updates (t = 1 on the first): a ``(1, 1)`` tensor, as every run of a
batch takes its t-th step together (L-BFGS, which skips finished runs, makes it ``(R, 1)``).
Hyperparameters every run shares are read as Python numbers (``HParams.value``). Every rule also writes
``state["effective_lr"]`` ``(R, D)``: the per-axis multiplier its step applied to its direction
(the learning rate itself for plain gradient descent), for display.
Second-order methods ask the ``oracle`` (supplied by the runner) for Hessians and extra function
evaluations; the oracle counts every evaluation per run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import torch

State = dict[str, torch.Tensor]


class HParams(dict[str, torch.Tensor]):
    """Hyperparameters as ``(R, 1)`` tensors by name, plus ``uniform``: the Python values shared by
    every run of the batch, which lets a rule skip work that no run needs (weight decay of 0
    everywhere, no run with AMSGrad). Skipping is exact: the result equals the ``where`` form."""

    def __init__(
        self, tensors: Mapping[str, torch.Tensor], uniform: Mapping[str, Any] | None = None
    ):
        super().__init__(tensors)
        self.uniform = dict(uniform or {})

    def with_tensor(self, name: str, value: torch.Tensor) -> HParams:
        """A copy with ``name`` replaced by a per-run tensor (no longer uniform)."""
        uniform = {k: v for k, v in self.uniform.items() if k != name}
        return HParams({**self, name: value}, uniform)

    def all_equal(self, name: str, value: Any) -> bool:
        """True when every run has ``name == value``."""
        return name in self.uniform and self.uniform[name] == value

    def value(self, name: str) -> float | torch.Tensor:
        """``name`` as a Python number when every run shares it, else its per-run tensor. A
        number is a scalar operand: no tensor to read per element, and what depends on it
        alone (Adam's bias corrections) is computed once instead of once per run, as
        torch.optim computes it, in Python floats."""
        if name in self.uniform and not isinstance(self.uniform[name], bool):
            return float(self.uniform[name])
        return self[name]


def divide(numerator: float | torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    """``numerator / denominator``, correctly rounded also when the numerator is a Python number
    (Python's ``number / tensor`` multiplies by the tensor's reciprocal: another rounding)."""
    if not isinstance(numerator, torch.Tensor):
        numerator = torch.tensor(numerator, dtype=denominator.dtype, device=denominator.device)
    return torch.div(numerator, denominator)


def switch(
    hp: HParams,
    flag: str,
    if_true: Callable[[], torch.Tensor],
    if_false: Callable[[], torch.Tensor],
) -> torch.Tensor:
    """Per-run choice on a boolean hyperparameter, computing only the branches some run needs."""
    if hp.all_equal(flag, True):
        return if_true()
    if hp.all_equal(flag, False):
        return if_false()
    return torch.where(as_bool(hp[flag]), if_true(), if_false())


class Oracle(Protocol):
    """What the runner supplies to update rules that need more than the gradient."""

    def value_and_grad(self, params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Loss ``(R,)`` and gradient ``(R, D)`` at ``params`` (counted as one of each per run)."""
        ...

    def value(self, params: torch.Tensor) -> torch.Tensor:
        """Loss at ``params`` shaped ``(R, ..., D)`` -> ``(R, ...)``; counts must be added by the caller."""
        ...

    def hessian(self, params: torch.Tensor) -> torch.Tensor:
        """Hessian ``(R, D, D)`` at ``params`` (counted as one per run)."""
        ...

    def count(self, kind: Literal["function", "gradient", "hessian"], n: torch.Tensor) -> None:
        """Add ``n`` (a scalar or an ``(R,)`` tensor) evaluations of ``kind`` to each run's tally."""
        ...


InitFn = Callable[[torch.Tensor, HParams], State]
UpdateFn = Callable[
    [torch.Tensor, torch.Tensor, torch.Tensor, State, HParams, Oracle], tuple[torch.Tensor, State]
]
CheckFn = Callable[[dict[str, float | bool]], None]
Stability = Literal["sgd", "adaptive", "newton", "quasi_newton", "sign", "averaged", "none"]
STABILITY_FAMILIES: tuple[str, ...] = (
    "sgd",
    "adaptive",
    "newton",
    "quasi_newton",
    "sign",
    "averaged",
    "none",
)


@dataclass(frozen=True)
class HyperParam:
    """A hyperparameter: default, the allowed interval, a suggested slider range and its scale.

    ``low``/``high`` bound the allowed values (``*_open`` makes that end exclusive); values outside
    raise ValueError naming the parameter and the interval. ``ui`` is the range a slider should
    offer, ``log`` whether a log scale suits it. ``kind`` is "float", "int" or "bool".
    """

    name: str
    default: float | bool
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    log: bool = False
    kind: Literal["float", "int", "bool"] = "float"
    ui: tuple[float, float] | None = None
    description: str = ""

    def interval(self) -> str:
        left = "(" if self.low_open else "["
        right = ")" if self.high_open else "]"
        return f"{left}{self.low:g}, {self.high:g}{right}"

    def validate(self, value: Any, owner: str) -> float | bool:
        """Check one value (a number or bool); return it normalised, or raise ValueError."""
        if self.kind == "bool":
            if isinstance(value, bool) or value in (0, 1):
                return bool(value)
            raise ValueError(
                f"{owner}: hyperparameter {self.name!r} must be true or false, got {value!r}"
            )
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"{owner}: hyperparameter {self.name!r} must be a number in {self.interval()}, "
                f"got {value!r}"
            ) from None
        below = v <= self.low if self.low_open else v < self.low
        above = v >= self.high if self.high_open else v > self.high
        if math.isnan(v) or below or above:
            raise ValueError(
                f"{owner}: hyperparameter {self.name!r} must be in {self.interval()}, got {value!r}"
            )
        if self.kind == "int":
            if v != int(v):
                raise ValueError(
                    f"{owner}: hyperparameter {self.name!r} must be an integer, got {value!r}"
                )
            return int(v)
        return v


@dataclass(frozen=True)
class StepCost:
    """What one update of a rule costs, in the units the cost model (``optimizers.cost``)
    calibrates on the machine; declared with the rule, so the model knows every optimizer.

    Attributes:
        ops: small tensor operations per update. Each costs a launch overhead whatever the
            number of runs: what a race of a few single runs pays (a unit is ``cost.OP_S``).
        per_run: work per run and update relative to one unit of elementwise work on a run's
            ``(D,)`` row (``cost.RUN_S``): what a basin map's 40 000 runs pay. Newton's batched
            2 x 2 eigendecomposition and BFGS's matrix products count here.
        hessians: Hessians the oracle computes per update (their cost is the landscape's:
            closed form or autograd).
        gradients: gradients the rule evaluates per update besides the runner's one (SAM's
            gradient at the perturbed point), each costing what the runner's gradient costs.
        line_search: the rule has the optional backtracking line search: with it on, every
            update evaluates ``max_ls`` trial points per run.
    """

    ops: float = 10.0
    per_run: float = 1.0
    hessians: int = 0
    gradients: int = 0
    line_search: bool = False


@dataclass(frozen=True)
class Optimizer:
    """A registered optimizer: its update rule and everything needed to present it.

    Attributes:
        name: registry key (torch.optim's lower-case class name where torch has the algorithm).
        title: display name.
        init, update: the pure functions (see the module docstring). Optimizers that share them
            (sgd, momentum, nesterov) differ only in defaults and run in one batch.
        hyperparams: the algorithm's own hyperparameters, in torch.optim's order and defaults.
        description: one line on what it does.
        maths: the update rule in LaTeX.
        reference: the paper.
        torch_name: the torch.optim class reproducing it (None if torch lacks it).
        reference_code: where torch lacks it, the reference implementation its trajectories are
            tested against (package, class and version), e.g. ``lion_pytorch.Lion
            (lion-pytorch 0.2.5)``; test dependencies only, never imported by the engine.
        needs: extra oracle calls the rule makes: subset of {"hessian", "function", "gradient"}.
        velocity_key: the state entry holding the momentum / first-moment estimate (gradient
            units), drawn as the velocity arrow; None if the rule has none.
        second_moment_key: the state entry holding the second-moment estimate, if any.
        average_key: the state entry holding an averaged iterate (a point, not a gradient:
            ASGD's Polyak average, schedule-free's x), recorded as ``SimulationResult.average``
            so it can be drawn beside the path; None if the rule keeps none.
        check: optional cross-parameter validation (e.g. Nesterov needs momentum > 0).
        fixed: values the update rule reads but this optimizer does not expose (gradient descent
            is SGD with momentum fixed at 0).
        stationary: the new point depends on (params, loss, gradient, hyperparameters) only,
            never on the state the rule carries (which it only reports). Then a step that leaves
            every run of a batch exactly where it was repeats forever (without noise or a
            schedule), and the runner reuses it instead of recomputing it: the same numbers,
            without Newton's Hessian at every step after convergence.
        elementwise: every hyperparameter acts coordinate by coordinate, so the rule is the same
            with ``(R, D)`` hyperparameter tensors as with ``(R, 1)``. The 2-D runner hands it
            ``(R, 2)`` tensors: torch multiplies equal shapes several times faster than it
            broadcasts ``(R, 1)`` over a last axis of 2.
        cost: the work of one update, for the cost model (``optimizers.cost``).
        stability: the family whose stability theory on a local quadratic applies (the curvature
            panel's verdict, ``studies.analysis.stability_verdict``): "sgd" (gradient descent,
            heavy-ball or Nesterov momentum by its ``momentum`` and ``nesterov`` values),
            "adaptive" (per-coordinate steps lr / (sqrt(v) + eps)), "newton" (a damped step on
            the Newton direction), "quasi_newton" (BFGS, L-BFGS), "sign" (steps whose length
            does not depend on the gradient's size: Rprop, Lion, Muon on a point), "averaged"
            (schedule-free: the gradient enters the step with the multiplier recorded as
            ``effective_lr``, judged as gradient descent with that step) or "none" (no verdict).
        network_lr: a learning rate that trains the small networks of ``landscapes.network``
            in a few hundred full-batch steps: where a network view starts it (None: its
            default ``lr``).
        surface_settings: values a 2-D surface view starts it with where they differ from its
            defaults (which are torch.optim's): SGD gets gradient noise of std 1, which stands
            for the mini-batches a 2-D surface does not have. Never applied by the engine.
    """

    name: str
    title: str
    init: InitFn
    update: UpdateFn
    hyperparams: tuple[HyperParam, ...]
    description: str
    maths: str
    reference: str
    torch_name: str | None = None
    reference_code: str | None = None
    needs: frozenset[str] = frozenset()
    velocity_key: str | None = None
    second_moment_key: str | None = None
    average_key: str | None = None
    check: CheckFn | None = None
    stationary: bool = False
    elementwise: bool = False
    fixed: tuple[tuple[str, float | bool], ...] = ()
    cost: StepCost = StepCost()
    stability: Stability = "none"
    network_lr: float | None = None
    surface_settings: tuple[tuple[str, float | bool], ...] = ()

    @property
    def uses_sgd_rule(self) -> bool:
        """Gradient descent, heavy-ball or Nesterov momentum (torch.optim.SGD's rule, the
        "sgd" stability family): the learning-rate x momentum theory applies to it."""
        return self.stability == "sgd"

    @property
    def has_momentum(self) -> bool:
        """SGD's rule with a settable ``momentum`` (gradient descent fixes it at 0)."""
        return self.uses_sgd_rule and any(h.name == "momentum" for h in self.hyperparams)

    @property
    def start_lr(self) -> float:
        """The learning rate a network view starts it with (``network_lr``, else ``lr``'s
        default)."""
        return float(self.network_lr if self.network_lr is not None else self.defaults["lr"])

    def all_hyperparams(self) -> tuple[HyperParam, ...]:
        """Its own hyperparameters, then the common ones (noise, clipping) it does not redefine."""
        own = {h.name for h in self.hyperparams}
        return (*self.hyperparams, *(h for h in COMMON_HYPERPARAMS if h.name not in own))

    @property
    def defaults(self) -> dict[str, float | bool]:
        """Default of every settable hyperparameter, common ones included."""
        return {h.name: h.default for h in self.all_hyperparams()}

    def from_torch_names(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """``given`` with torch.optim's ``betas=(b1, b2)`` turned into ``beta1``/``beta2`` (the
        names the rules and links use), for an optimizer that declares both; a ``(K, 2)`` array
        of pairs becomes two 1-D arrays (a sweep). ValueError when both spellings are given or
        ``betas`` is not a pair; left as is (an unknown name for ``resolve``) elsewhere."""
        out = dict(given)
        own = {h.name for h in self.hyperparams}
        if "betas" not in out or not {"beta1", "beta2"} <= own:
            return out
        both = sorted({"beta1", "beta2"} & set(out))
        if both:
            raise ValueError(
                f"{self.name}: give betas=(beta1, beta2) or beta1/beta2, not both "
                f"(got betas and {both[0]})"
            )
        betas = out.pop("betas")
        try:
            pairs = np.asarray(betas, dtype=np.float64)
        except (TypeError, ValueError):
            pairs = np.zeros(0)
        if pairs.ndim not in (1, 2) or pairs.shape[-1:] != (2,):
            raise ValueError(
                f"{self.name}: betas must be a pair (beta1, beta2) (or a (K, 2) array of pairs "
                f"to sweep), got {betas!r}"
            )
        if pairs.ndim == 1:
            out["beta1"], out["beta2"] = pairs[0].item(), pairs[1].item()
        else:
            out["beta1"], out["beta2"] = pairs[:, 0], pairs[:, 1]
        return out

    def resolve(self, given: Mapping[str, Any]) -> dict[str, float | bool]:
        """Validate ``given`` scalar values and complete them with defaults and fixed values.
        torch.optim's ``betas=(b1, b2)`` is accepted for ``beta1``/``beta2``.

        Raises ValueError naming the parameter and its allowed range for a bad value or an
        unknown name.
        """
        given = self.from_torch_names(given)
        specs = {h.name: h for h in self.all_hyperparams()}
        unknown = sorted(set(given) - set(specs))
        if unknown:
            raise ValueError(
                f"{self.name}: unknown hyperparameter {unknown[0]!r}; allowed: {', '.join(specs)}"
            )
        values = {n: h.validate(given.get(n, h.default), self.name) for n, h in specs.items()}
        if self.check is not None:
            self.check(values)
        return {**values, **dict(self.fixed)}


# Hyperparameters that every optimizer accepts; the runner applies them around the update rule.
COMMON_HYPERPARAMS: tuple[HyperParam, ...] = (
    HyperParam(
        "noise",
        0.0,
        low=0.0,
        ui=(0.0, 10.0),
        description="std of Gaussian noise added to the gradient (stochastic gradients)",
    ),
    HyperParam(
        "clip_norm",
        0.0,
        low=0.0,
        ui=(0.0, 100.0),
        description="clip the gradient to this norm (0: off), as torch.nn.utils.clip_grad_norm_",
    ),
    HyperParam(
        "clip_value",
        0.0,
        low=0.0,
        ui=(0.0, 100.0),
        description="clamp each gradient component to [-v, v] (0: off)",
    ),
)

_REGISTRY: dict[str, Optimizer] = {}


def register(opt: Optimizer) -> Optimizer:
    if opt.stability not in STABILITY_FAMILIES:
        raise ValueError(
            f"optimizer {opt.name!r}: stability must be one of {', '.join(STABILITY_FAMILIES)}, "
            f"got {opt.stability!r}"
        )
    if opt.name in _REGISTRY:
        raise ValueError(f"optimizer {opt.name!r} registered twice")
    # the suggested settings must be valid ones (ValueError naming the value otherwise)
    opt.resolve(dict(opt.surface_settings))
    if opt.network_lr is not None:
        opt.resolve({"lr": opt.network_lr})
    _REGISTRY[opt.name] = opt
    return opt


def available() -> list[str]:
    """Names of all registered optimizers, in registration order."""
    return list(_REGISTRY)


def get(name: str) -> Optimizer:
    """The optimizer registered as ``name``; ValueError listing the names if unknown."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; available: {', '.join(_REGISTRY)}") from None


@dataclass(frozen=True)
class Spec:
    """One optimizer configuration: a name and its hyperparameters (missing ones take defaults)."""

    name: str
    hyperparams: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""


def as_bool(x: torch.Tensor) -> torch.Tensor:
    """A hyperparameter tensor read as a switch."""
    return x if x.dtype == torch.bool else x != 0
