"""The batched runner: many optimizers x many starts x many hyperparameter values in one computation.

``simulate`` expands the specs (a hyperparameter given as a 1-D array sweeps it), groups the runs
that share an update rule, and advances every run one step at a time with a single function and
gradient evaluation for all of them per step. Results come back as numpy arrays with a leading
``(n_specs, n_starts)`` shape; statuses are computed from the numbers (see ``diagnostics``).

The step itself (schedules, gradient noise, clipping, the update rules) is ``RunBatch.step``:
``simulate`` drives it on 2-D surfaces, ``studies.training.train`` on network parameters.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import torch

from . import base
from .base import Spec
from .device import resolve_device
from .diagnostics import Diagnosis, diagnose
from .schedules import Schedule, as_schedule

SpecLike = str | Spec | tuple[str, Mapping[str, Any]]
Record = Literal["full", "path", "final"]
KINDS = ("function", "gradient", "hessian")
PROBES = ("velocity", "second_moment", "effective_lr", "average")


@dataclass(frozen=True)
class ResolvedSpec:
    """One concrete run configuration after sweep expansion: every hyperparameter has a value."""

    name: str
    hyperparams: Mapping[str, float | bool]
    schedule: Schedule
    label: str


@dataclass
class SimulationResult:
    """Everything recorded by ``simulate``; arrays are numpy, indexed [spec, start, step, ...].

    Shapes (S specs after sweep expansion, N starts, T steps, D = 2 for surfaces):

    - ``positions`` (S, N, T+1, D), ``losses`` (S, N, T+1), ``grad_norms`` (S, N, T+1):
      recorded for ``record`` "full" and "path"; None for "final".
    - ``gradients`` (S, N, T+1, D): the true gradient at each position ("full" only).
    - ``updates`` (S, N, T, D): x_{k+1} - x_k; ``velocity``, ``second_moment`` and
      ``effective_lr`` (S, N, T, D): the optimizer's state after the update that made step k
      (NaN where the optimizer has no such quantity) ("full" only).
    - ``average`` (S, N, T, D): the averaged iterate after step k of the rules that keep one
      (``Optimizer.average_key``: ASGD, schedule-free), NaN for the others ("full" only).
    - ``final_positions`` (S, N, D), ``final_losses`` (S, N): always.
    - ``evaluations``: {"function", "gradient", "hessian"} -> (S, N) counts actually used by the
      optimizer (line-search trials included), for a fair first- versus second-order comparison.
    - ``diagnosis``: statuses and their details (see ``optimizers.diagnostics.Diagnosis``).
    - ``settled_at`` (S, N): with ``simulate(settle=s)``, the first step after which every update
      is shorter than ``s`` domain diagonals (-1: the last update was still longer); else None.
    """

    specs: list[ResolvedSpec]
    starts: np.ndarray
    steps: int
    final_positions: np.ndarray
    final_losses: np.ndarray
    evaluations: dict[str, np.ndarray]
    diagnosis: Diagnosis
    device: str
    positions: np.ndarray | None = None
    losses: np.ndarray | None = None
    grad_norms: np.ndarray | None = None
    gradients: np.ndarray | None = None
    updates: np.ndarray | None = None
    velocity: np.ndarray | None = None
    second_moment: np.ndarray | None = None
    effective_lr: np.ndarray | None = None
    average: np.ndarray | None = None
    settled_at: np.ndarray | None = None

    @property
    def status(self) -> np.ndarray:
        """(S, N) array of status names: converged, trapped, diverged, oscillating, stalled, moving."""
        return self.diagnosis.status


# --- spec expansion ---------------------------------------------------------------------------


def spec_parts(spec: SpecLike) -> tuple[str, dict[str, Any], str]:
    """A spec's (name, hyperparameters, label); raises ValueError for what is not a spec."""
    if isinstance(spec, Spec):
        return spec.name, dict(spec.hyperparams), spec.label
    if isinstance(spec, str):
        return spec, {}, ""
    try:
        name, hp = spec
    except (TypeError, ValueError):
        raise ValueError(
            f"a spec is a name, a (name, hyperparameters) pair or a Spec; got {spec!r}"
        ) from None
    return str(name), dict(hp or {}), ""


def _sweep_length(name: str, hp: Mapping[str, Any]) -> int:
    lengths = {k: len(v) for k, v in hp.items() if k != "schedule" and np.ndim(v) == 1}
    if any(np.ndim(v) > 1 for k, v in hp.items() if k != "schedule"):
        raise ValueError(f"{name}: a swept hyperparameter must be a 1-D array")
    sizes = set(lengths.values())
    if len(sizes) > 1:
        raise ValueError(f"{name}: swept hyperparameters must have equal lengths, got {lengths}")
    if 0 in sizes:
        raise ValueError(f"{name}: a swept hyperparameter is empty")
    return sizes.pop() if sizes else 0


def _default_label(opt: base.Optimizer, values: Mapping[str, Any], given: Iterable[str]) -> str:
    shown = [k for k in given if k != "schedule"]
    if not shown:
        return opt.title
    parts = ", ".join(
        f"{k}={values[k]:g}" if not isinstance(values[k], bool) else f"{k}={values[k]}"
        for k in shown
    )
    return f"{opt.title} {parts}"


def expand_specs(specs: Sequence[SpecLike]) -> list[ResolvedSpec]:
    """Validate specs and expand sweeps: a 1-D array of K values gives K consecutive specs."""
    out: list[ResolvedSpec] = []
    for spec in specs:
        name, hp, label = spec_parts(spec)
        opt = base.get(name)
        hp = opt.from_torch_names(hp)
        schedule = as_schedule(hp.pop("schedule", None))
        k = _sweep_length(name, hp)
        rows = (
            [hp]
            if k == 0
            else [
                {key: (np.asarray(v)[i].item() if np.ndim(v) == 1 else v) for key, v in hp.items()}
                for i in range(k)
            ]
        )
        for row in rows:
            values = opt.resolve(row)
            out.append(
                ResolvedSpec(name, values, schedule, label or _default_label(opt, values, row))
            )
    return out


# --- the objective and its evaluations -------------------------------------------------------


class Objective(Protocol):
    """What ``simulate`` needs of a surface; ``landscapes.Landscape`` is one.

    ``fn`` maps points ``(..., 2)`` to values ``(...)``; ``value_and_grad`` and ``hessian`` give
    values with gradients ``(..., 2)`` and Hessians ``(..., 2, 2)`` at points (autograd or closed
    forms). Optional attributes: ``gradient`` and ``second_derivatives`` (closed forms the runner
    calls directly, and then runs in inference mode), ``saddles`` and ``all_minima_known`` (read
    by the diagnostics). ``minima`` holds objects with ``x``, ``y``, ``value`` and ``kind``
    ("global" or "local").
    """

    fn: Callable[[torch.Tensor], torch.Tensor]
    domain: tuple[tuple[float, float], tuple[float, float]]
    start: tuple[float, float]
    minima: Sequence[Any]

    def value_and_grad(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...

    def hessian(self, points: torch.Tensor) -> torch.Tensor: ...


@dataclass(frozen=True)
class Evaluations:
    """The objective as update rules may query it besides the gradient the runner hands them
    (line searches, Hessians): ``value`` maps parameters ``(R, ..., D)`` to losses ``(R, ...)``,
    ``value_and_grad`` gives ``(R,)`` losses and ``(R, D)`` gradients, ``hessian`` ``(R, D, D)``.
    A function that is not available raises ValueError saying why."""

    value: Callable[[torch.Tensor], torch.Tensor]
    value_and_grad: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
    hessian: Callable[[torch.Tensor], torch.Tensor]


def derivatives(landscape: Objective) -> tuple[Callable, Callable]:
    """``points -> (values, gradients)`` and ``points -> Hessians`` for a landscape: its closed
    forms where it declares them (``gradient``, ``second_derivatives``), else its own
    ``value_and_grad`` and ``hessian`` (autograd on ``fn``)."""
    grad_fn = getattr(landscape, "gradient", None) or landscape.value_and_grad
    hessian_fn = getattr(landscape, "second_derivatives", None) or landscape.hessian
    return grad_fn, hessian_fn


class _Oracle:
    """Evaluations for a slice of the runs (the ``Oracle`` of ``optimizers.base``), with
    per-run tallies."""

    def __init__(self, counts: dict[str, torch.Tensor]):
        self.evaluations: Evaluations | None = None  # set by RunBatch.step
        self.counts = counts
        self.log: list[tuple[str, torch.Tensor | float]] | None = None  # counts while logging

    def value_and_grad(self, params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.count("function", 1)
        self.count("gradient", 1)
        return self.evaluations.value_and_grad(params)

    def value(self, params: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.evaluations.value(params)

    def hessian(self, params: torch.Tensor) -> torch.Tensor:
        self.count("hessian", 1)
        return self.evaluations.hessian(params)

    def count(self, kind: str, n: torch.Tensor | float) -> None:
        self.counts[kind] += n
        if self.log is not None:
            self.log.append((kind, n))


# --- the batch of runs and its step ------------------------------------------------------------


@dataclass
class _Group:
    """Runs that share an update rule: a contiguous slice of the flat run axis."""

    opt: base.Optimizer
    spec_index: list[int]
    lo: int
    hi: int
    hp: base.HParams
    lr_factors: torch.Tensor  # (T, S_g): the schedule of each spec
    shows: dict[str, tuple[str | None, torch.Tensor]]  # probe -> (state key, runs that have it)
    state: dict[str, torch.Tensor] = field(default_factory=dict)
    history: dict[str, list[torch.Tensor]] = field(default_factory=dict)  # probe -> per step

    def recorded(self, kind: str, steps: int) -> torch.Tensor:
        """(R_g, T, D) history of a probe; NaN in the runs whose optimizer has no such state."""
        key, shown = self.shows[kind]
        history = self.history.get(kind)
        nan = torch.full(
            (self.hi - self.lo, steps, 2),
            float("nan"),
            dtype=self.hp["lr"].dtype,
            device=self.hp["lr"].device,
        )
        if key is None or not history:
            return nan
        return torch.where(shown[:, :, None], torch.stack(history, dim=1), nan)

    def __post_init__(self) -> None:
        # decided once, so that the step loop does no work for features no run uses
        self.scheduled = bool((self.lr_factors != 1).any())
        self.noisy = bool((self.hp["noise"] > 0).any())
        self.clipped = bool(((self.hp["clip_norm"] > 0) | (self.hp["clip_value"] > 0)).any())
        # a stationary rule without noise or schedule, once every run stays put, stays put
        self.may_fix = self.opt.stationary and not self.noisy and not self.scheduled
        # set when it does: the evaluations each repeated step counts (as the real one did)
        self.fixed_counts: dict[str, torch.Tensor] | None = None


def _rule_groups(
    specs: Sequence[ResolvedSpec], n: int, steps: int, dtype, device, width: int = 1
) -> list[_Group]:
    """The runs of ``specs`` (each repeated for ``n`` starts) grouped by update rule, with their
    hyperparameters as ``(R, 1)`` tensors over the run axis. For ``elementwise`` rules the
    tensors are ``(R, width)`` instead (``simulate`` passes the problem's dimension)."""
    by_rule: dict[tuple, list[int]] = {}
    for i, s in enumerate(specs):
        opt = base.get(s.name)
        by_rule.setdefault((opt.init, opt.update), []).append(i)
    groups, lo = [], 0
    for idx in by_rule.values():
        opt = base.get(specs[idx[0]].name)
        keys = specs[idx[0]].hyperparams.keys()
        tensors, uniform = {}, {}
        for key in keys:
            vals = [specs[i].hyperparams[key] for i in idx]
            kind = torch.bool if isinstance(vals[0], bool) else dtype
            tensors[key] = torch.tensor(vals, dtype=kind, device=device).repeat_interleave(n)[
                :, None
            ]
            if all(v == vals[0] for v in vals):
                uniform[key] = vals[0]
        if opt.elementwise and width > 1:
            tensors = {k: t.expand(-1, width).contiguous() for k, t in tensors.items()}
        hp = base.HParams(tensors, uniform)
        factors = np.stack(
            [specs[i].schedule.factors(float(specs[i].hyperparams["lr"]), steps) for i in idx],
            axis=1,
        )  # (T, S_g)
        lr_factors = torch.as_tensor(factors, dtype=dtype, device=device)
        hi = lo + len(idx) * n
        opts = [base.get(specs[i].name) for i in idx]
        shows = {}
        for kind, attr in (
            ("velocity", "velocity_key"),
            ("second_moment", "second_moment_key"),
            ("effective_lr", None),
            ("average", "average_key"),
        ):
            keys = [getattr(o, attr) if attr else "effective_lr" for o in opts]
            has = torch.tensor([k is not None for k in keys], device=device)
            shows[kind] = (next((k for k in keys if k), None), has.repeat_interleave(n)[:, None])
        groups.append(_Group(opt, idx, lo, hi, hp, lr_factors, shows))
        lo = hi
    return groups


def clip_gradient(grad: torch.Tensor, hp: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Clip by norm (as torch.nn.utils.clip_grad_norm_), then by value, in runs where enabled."""
    clip = hp["clip_norm"]
    if bool((clip > 0).any()):
        norm = torch.linalg.vector_norm(grad, dim=-1, keepdim=True)
        coef = torch.clamp(clip / (norm + 1e-6), max=1.0)
        grad = torch.where(clip > 0, grad * coef, grad)
    cv = hp["clip_value"]
    if bool((cv > 0).any()):
        grad = torch.where(cv > 0, torch.maximum(torch.minimum(grad, cv), -cv), grad)
    return grad


class RunBatch:
    """Every run of ``specs`` (each from ``n`` starts) advanced together, one update per step:
    the engine's one update loop. ``simulate`` drives it on 2-D surfaces and
    ``studies.training.train`` on network parameters; each supplies the loss and gradient at
    every step (mini-batches are the caller's business).

    A step applies, per run: the schedule's factor to the learning rate, Gaussian gradient noise
    (``noise`` times the step's common random numbers, the same for every spec), clipping (by
    norm, then by value), then the optimizer's update rule. Runs that share an update rule are
    one group (a contiguous slice of the run axis, whose ``order`` maps positions to specs).

    Args:
        specs: resolved specs (``expand_specs``).
        n: runs per spec (start points).
        steps: the number of steps the schedules are laid out for.
        dtype, device: of the parameters and hyperparameter tensors.
        width: the problem's dimension D, for ``elementwise`` rules' ``(R, D)`` hyperparameters
            (1: ``(R, 1)`` tensors that broadcast; what a network's large D wants).
        fixed_points: a stationary rule (Newton) whose step left every run of its group where it
            was repeats that step without computing it (exact only when the gradient depends on
            the parameters alone: not with mini-batches).
        record_state: keep the optimizer state's probes (velocity, second moment, effective lr)
            of every step (``state_history``).
        rules: optimizers by name whose update rule replaces the registered one's for this
            batch (network training gives Muon the parameter shapes: ``muon.for_network``).
    """

    def __init__(
        self,
        specs: Sequence[ResolvedSpec],
        n: int,
        steps: int,
        *,
        dtype: torch.dtype,
        device: torch.device | str,
        width: int = 1,
        fixed_points: bool = True,
        record_state: bool = False,
        rules: Mapping[str, base.Optimizer] | None = None,
    ):
        self.n = n
        self.groups = _rule_groups(specs, n, steps, dtype, device, width=width)
        for g in self.groups:
            if rules and g.opt.name in rules:
                g.opt = rules[g.opt.name]
        self.order = [i for g in self.groups for i in g.spec_index]  # spec at each position
        self.size = len(specs) * n
        self.noisy = any(g.noisy for g in self.groups)
        self.fixed_points = fixed_points
        self.record_state = record_state
        self.counts = {k: torch.zeros(self.size, dtype=dtype, device=device) for k in KINDS}
        self._oracles = [
            _Oracle({k: c[g.lo : g.hi] for k, c in self.counts.items()}) for g in self.groups
        ]

    def start(self, points: torch.Tensor) -> torch.Tensor:
        """The ``(R, D)`` parameters of every run from the ``(n, D)`` start points (each spec
        from every start), with every group's optimizer state initialised."""
        params = points.repeat(self.size // self.n, 1)
        for g in self.groups:
            g.state = g.opt.init(params[g.lo : g.hi], g.hp)
        return params

    def step(
        self,
        t: int,
        params: torch.Tensor,
        loss: torch.Tensor,
        grad: torch.Tensor,
        evaluations: Evaluations,
        noise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The parameters after update ``t`` (0-based) of every run, from the loss ``(R,)`` and
        gradient ``(R, D)`` at ``params``. ``noise``: the step's ``(n, D)`` standard normal
        draws, one row per start (needed when ``noisy``)."""
        n = self.n
        new_parts = []
        for g, oracle in zip(self.groups, self._oracles, strict=True):
            sl = slice(g.lo, g.hi)
            hp = g.hp
            if g.scheduled:
                factor = g.lr_factors[t].repeat_interleave(n)[:, None]
                hp = g.hp.with_tensor("lr", g.hp["lr"] * factor)
            if g.fixed_counts is not None:  # at a fixed point: this step repeats the last one
                new_parts.append(params[sl])
                for kind, n_evals in g.fixed_counts.items():
                    oracle.counts[kind] += n_evals
            else:
                gr = grad[sl]
                if g.noisy:
                    gr = gr + hp["noise"] * noise.repeat(len(g.spec_index), 1)
                if g.clipped:
                    gr = clip_gradient(gr, hp)
                oracle.evaluations = evaluations
                may_fix = g.may_fix and self.fixed_points
                oracle.log = [] if may_fix else None  # the evaluations this step counts
                new, g.state = g.opt.update(params[sl], loss[sl], gr, g.state, hp, oracle)
                new_parts.append(new)
                if oracle.log is not None and torch.equal(new, params[sl]):
                    g.fixed_counts = {}
                    for kind, n_evals in oracle.log:
                        g.fixed_counts[kind] = g.fixed_counts.get(kind, 0.0) + n_evals
            if self.record_state:  # references only: the rules build new state tensors
                for kind, (key, _) in g.shows.items():
                    if key is not None:
                        g.history.setdefault(kind, []).append(g.state[key])
        return torch.cat(new_parts) if len(new_parts) > 1 else new_parts[0]

    def state_history(self, kind: str, steps: int) -> torch.Tensor:
        """``(R, T, D)`` history of a probe ("velocity", "second_moment", "effective_lr") in
        run-axis order; NaN where a run's optimizer has no such state (``record_state``)."""
        return torch.cat([g.recorded(kind, steps) for g in self.groups])


def _square_norm(v: torch.Tensor) -> torch.Tensor:
    """Sum of squares over the last axis, v[..., 0]^2 + v[..., 1]^2 + ...: the same numbers as
    ``v.square().sum(-1)`` (same additions in the same order) at a fraction of its cost for a
    last axis of 2, where torch's reduction kernel dominates the step (basin maps)."""
    out = v[..., 0] * v[..., 0]
    for i in range(1, v.shape[-1]):
        out = out + v[..., i] * v[..., i]
    return out


def simulate(
    landscape: Objective,
    specs: Sequence[SpecLike],
    starts: Any = None,
    steps: int = 200,
    *,
    seed: int = 0,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float64,
    record: Record = "full",
    escape: float = 100.0,
    window: int = 50,
    settle: float | None = None,
) -> SimulationResult:
    """Run every spec from every start for ``steps`` steps, all runs batched.

    Args:
        landscape: the surface to minimise: a ``landscapes.Landscape``, or any ``Objective``.
        specs: a list of optimizer names, ``(name, hyperparameters)`` pairs or ``Spec`` objects.
            Missing hyperparameters take the optimizer's defaults (torch.optim's where torch has
            the algorithm; no gradient noise unless ``noise`` is given; torch's
            ``betas=(b1, b2)`` is accepted). ``"schedule"`` takes a ``Schedule``, a schedule name or a dict. A
            hyperparameter given as a 1-D array of K values sweeps it: the spec becomes K
            consecutive specs (all swept arrays of one spec have the same length).
        starts: start points, an (N, 2) array or one pair; default the landscape's start.
        steps: number of update steps T (>= 0).
        seed: seed of the gradient noise. The noise added at step t to start n is the same for
            every spec (common random numbers), so optimizers are compared on equal terms.
        device: "cpu", "cuda", "mps" or None for ``default_device()``.
        dtype: float64 by default.
        record: "full" (paths, gradients, updates and optimizer state at every step), "path"
            (positions, losses, gradient norms) or "final" (final points and statuses only: the
            memory-light mode for basin maps).
        escape: a run has diverged once its loss or position is not finite or it is farther than
            ``escape`` domain diagonals from the domain's centre. Positions are never clipped.
        window: number of final steps the status classification looks at.
        settle: if given, also return ``settled_at``: the step after which every update was
            shorter than ``settle`` domain diagonals (cheap in every record mode; for basin maps).

    Raises:
        ValueError: unknown optimizer or hyperparameter, value out of range, bad shapes.
    """
    if int(steps) != steps or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    steps = int(steps)
    if record not in ("full", "path", "final"):
        raise ValueError(f"record must be 'full', 'path' or 'final', got {record!r}")
    dev = resolve_device(device, dtype)
    resolved = expand_specs(specs)
    if not resolved:
        raise ValueError("no optimizer specs given")
    start_arr = np.asarray(landscape.start if starts is None else starts, dtype=np.float64)
    if start_arr.ndim == 1:
        start_arr = start_arr[None]
    if start_arr.ndim != 2 or start_arr.shape[1] != 2 or start_arr.shape[0] == 0:
        raise ValueError(f"starts must have shape (n, 2), got {start_arr.shape}")
    if not np.isfinite(start_arr).all():
        raise ValueError("start points must be finite")
    s_count, n = len(resolved), start_arr.shape[0]
    total = s_count * n
    fn = landscape.fn
    grad_fn, hessian_fn = derivatives(landscape)
    # with closed-form derivatives nothing needs autograd: inference mode skips its bookkeeping
    # on every one of the step loop's small operations (15-20 % of a 500-step run)
    closed = all(
        getattr(landscape, a, None) is not None for a in ("gradient", "second_derivatives")
    )
    with torch.inference_mode(closed):
        batch = RunBatch(
            resolved,
            n,
            steps,
            dtype=dtype,
            device=dev,
            width=start_arr.shape[1],
            record_state=record == "full",
        )
        order = batch.order  # spec index at each position of the run axis
        params = batch.start(torch.as_tensor(start_arr, dtype=dtype, device=dev))
        counts = batch.counts
        evaluations = Evaluations(fn, grad_fn, hessian_fn)

        noise = None
        if batch.noisy and steps > 0:
            gen = torch.Generator(device="cpu").manual_seed(int(seed))
            noise = torch.randn((steps, n, 2), generator=gen, dtype=dtype).to(dev)

        (x0, x1), (y0, y1) = landscape.domain
        centre = ((x0 + x1) / 2, (y0 + y1) / 2)
        radius = escape * float(np.hypot(x1 - x0, y1 - y0))
        diverged_at = torch.full((total,), -1, dtype=torch.long, device=dev)
        track_settle = settle is not None and record == "final"
        settle_sq = (float(settle) * float(np.hypot(x1 - x0, y1 - y0))) ** 2 if settle else 0.0
        last_moved = torch.zeros(total, dtype=torch.long, device=dev) if track_settle else None

        def escaped(x: torch.Tensor, loss: torch.Tensor) -> torch.Tensor:
            """Diverged: loss not finite or farther than the escape radius (NaN positions included,
            as NaN compares false)."""
            dx, dy = x[..., 0] - centre[0], x[..., 1] - centre[1]
            return ~((dx * dx + dy * dy <= radius**2) & torch.isfinite(loss))

        full, keep_path = record == "full", record in ("full", "path")
        tail_len = max(1, min(window, steps)) + 1
        # with the path kept, divergence and gradient norms are found afterwards, in one pass
        pos_hist: list[torch.Tensor] | deque = [] if keep_path else deque(maxlen=tail_len)
        loss_hist: list[torch.Tensor] | deque = [] if keep_path else deque(maxlen=tail_len)
        grad_hist: list[torch.Tensor] | deque = [] if keep_path else deque(maxlen=tail_len)

        first_kept = 0 if keep_path else steps + 1 - tail_len

        def observe(t: int, x: torch.Tensor, loss: torch.Tensor, grad: torch.Tensor) -> None:
            if not keep_path:
                bad = escaped(x, loss)
                diverged_at.masked_fill_(bad & (diverged_at < 0), t)
                if t < first_kept:
                    return
            pos_hist.append(x)
            loss_hist.append(loss)
            grad_hist.append(grad)

        for t in range(steps):
            loss, grad = grad_fn(params)
            observe(t, params, loss, grad)
            new_params = batch.step(
                t, params, loss, grad, evaluations, None if noise is None else noise[t]
            )
            if track_settle:  # final mode keeps no path: remember the last long update as we go
                moved = _square_norm(new_params - params) > settle_sq
                last_moved.masked_fill_(moved, t + 1)
            params = new_params

        loss, grad = grad_fn(params)
        observe(steps, params, loss, grad)
        for k in ("function", "gradient"):  # one of each per step (the final point is not counted)
            counts[k] += steps

        # back to the caller's spec order: position p of the run axis holds spec order[p]
        inverse = np.argsort(order)

        def per_run(x: torch.Tensor) -> np.ndarray:
            """(R, ...) tensor -> (S, N, ...) array in the caller's spec order."""
            a = x.detach().cpu().numpy().reshape(s_count, n, *x.shape[1:])
            return a if order == sorted(order) else a[inverse]

        def to_numpy(hist: Sequence[torch.Tensor]) -> np.ndarray:
            return per_run(torch.stack(list(hist), dim=1))  # (R, T', ...)

        pos_t, loss_t = torch.stack(list(pos_hist), 1), torch.stack(list(loss_hist), 1)
        gnorm_t = torch.linalg.vector_norm(torch.stack(list(grad_hist), 1), dim=-1)
        if keep_path:
            bad = escaped(pos_t, loss_t)
            diverged_at = torch.where(bad.any(1), bad.int().argmax(1), -1)
        tail_pos = per_run(pos_t[:, -tail_len:])
        tail_loss = per_run(loss_t[:, -tail_len:])
        tail_gnorm = per_run(gnorm_t[:, -tail_len:])
        final_h = per_run(hessian_fn(torch.nan_to_num(params, nan=0.0, posinf=0.0, neginf=0.0)))
        diagnosis = diagnose(
            landscape,
            tail_pos,
            tail_loss,
            tail_gnorm,
            per_run(diverged_at),
            final_h,
            steps,
            path=per_run(pos_t) if keep_path else None,
        )
        result = SimulationResult(
            specs=resolved,
            starts=start_arr,
            steps=steps,
            final_positions=per_run(params),
            final_losses=per_run(loss),
            evaluations={k: per_run(c).round().astype(np.int64) for k, c in counts.items()},
            diagnosis=diagnosis,
            device=str(dev),
        )
        if keep_path:
            result.positions = per_run(pos_t)
            result.losses = per_run(loss_t)
            result.grad_norms = per_run(gnorm_t)
        if settle is not None:
            if track_settle:
                settled = last_moved
            else:
                moved = _square_norm(pos_t[:, 1:] - pos_t[:, :-1]) > settle_sq  # (R, T)
                last = steps - torch.flip(moved, (1,)).int().argmax(1)
                settled = torch.where(moved.any(1), last, 0)
            result.settled_at = per_run(
                torch.where(settled >= steps, -1, settled) if steps else settled
            )
        if full:
            result.gradients = to_numpy(grad_hist)
            result.updates = np.diff(result.positions, axis=2)
            for kind in PROBES:
                setattr(result, kind, per_run(batch.state_history(kind, steps)))
        return result
