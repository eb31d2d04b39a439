"""Train one network with several optimizers at once, with the engine's batched update rules.

All R runs start from the model's current parameters theta0 and see the same sequence of
mini-batches (and the same dropout masks and gradient noise: common random numbers), so they
differ only in the optimizer. The runs are one computation: parameters are an (R, P) tensor,
the forward pass evaluates the R networks together (hand-batched kernels for nn.Sequential
models, ``torch.func.vmap`` over ``functional_call`` otherwise) and one backward pass gives the
R gradients; the updates are the runner's (``optimizers.RunBatch``, the step ``simulate`` takes:
schedules, gradient noise and clipping included).

Modes: training runs in training mode (dropout active, one seeded mask per step shared by all
runs; batch norm normalises with the statistics of the current mini-batch, per run). Running
statistics are not tracked: the trajectory is a path in parameter space only. Recorded losses
and accuracies are full-data, dropout off, with batch norm on the evaluated data's statistics
(``TrainingResult.batch_norm`` = "batch"; "eval" for models without batch norm, where the two
agree); pass that value to ``loss_surface`` for consistent surfaces.

Second-order methods with dense (R, P, P) Hessians or inverse-Hessian estimates (newton, bfgs)
are rejected; L-BFGS works (its state is (R, m, P)) and its line search evaluates the loss on
the current mini-batch. Muon orthogonalises each 2-D weight matrix and trains the other
parameters with AdamW, as torch's documentation advises (``optimizers.muon.for_network``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad_and_value, vmap

import optimizers
from landscapes.network.data import Dataset
from landscapes.network.evaluator import LossFn, NetworkEvaluator, has_batch_norm, private_copy
from landscapes.network.params import flatten
from optimizers import Evaluations, ResolvedSpec, RunBatch, SpecLike, expand_specs
from optimizers.muon import for_network

DENSE = ("newton", "bfgs")


@dataclass(frozen=True)
class TrainingResult:
    """Trajectories and learning curves of R runs (numpy arrays; T recorded steps).

    Attributes:
        labels: run labels (R,), as ``simulate`` makes them.
        specs: the resolved optimizer configurations.
        steps_recorded: (T,) step numbers (0 = the initial point, the last = ``steps``).
        params: (R, T, P) float32 flattened parameters at the recorded steps.
        train_loss, val_loss, train_acc, val_acc: (R, T) full-data values (dropout off).
        best_val_step: (R,) the recorded step with the lowest validation loss.
        diverged: (R,) True when the loss or parameters became non-finite or the loss exceeded
            1e6 x the initial loss; ``diverged_at`` (R,) the first such step, -1 if none.
        param_names, param_shapes: how to unflatten a (P,) vector (``named_parameters`` order).
        theta0: (P,) the common initial parameters.
        batch_norm: the mode the recorded values used ("batch" or "eval"); pass it on to
            ``loss_surface``/``loss_at``.
        batch_size: mini-batch size (None: full batch); seed: data-order/noise seed.
    """

    labels: list[str]
    specs: list[ResolvedSpec]
    steps_recorded: np.ndarray
    params: np.ndarray
    train_loss: np.ndarray
    val_loss: np.ndarray
    train_acc: np.ndarray
    val_acc: np.ndarray
    best_val_step: np.ndarray
    diverged: np.ndarray
    diverged_at: np.ndarray
    param_names: tuple[str, ...]
    param_shapes: tuple[tuple[int, ...], ...]
    theta0: np.ndarray
    batch_norm: str = "eval"
    batch_size: int | None = None
    seed: int = 0

    @property
    def final_params(self) -> np.ndarray:
        """(R, P) parameters after the last step."""
        return self.params[:, -1]


def minibatch_indices(
    n: int, batch_size: int | None, steps: int, seed: int
) -> list[torch.Tensor | None]:
    """The sample indices of every step: None for full batch, else consecutive slices of one
    random permutation per epoch (``torch.randperm`` with a generator seeded by ``seed``), the
    last, shorter slice of an epoch included."""
    if batch_size is None or batch_size >= n:
        return [None] * steps
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    out: list[torch.Tensor | None] = []
    while len(out) < steps:
        perm = torch.randperm(n, generator=gen)
        out.extend(perm[i : i + batch_size] for i in range(0, n, batch_size))
    return out[:steps]


def _unavailable(what: str):
    def fail(params: torch.Tensor):
        raise ValueError(what)

    return fail


def _check(resolved: list[ResolvedSpec]) -> None:
    for s in resolved:
        opt = optimizers.get(s.name)
        if s.name in DENSE or "hessian" in opt.needs:
            raise ValueError(
                f"optimizer {s.name!r} needs Hessians (or keeps a dense P x P inverse-Hessian "
                f"estimate per run): not feasible for networks with thousands of "
                f"parameters; use lbfgs or a first-order method"
            )
        if "gradient" in opt.needs:
            raise ValueError(
                f"optimizer {s.name!r} evaluates gradients at other points than the iterate "
                f"(SAM's perturbed point): not supported by network training"
            )


def train(
    model: nn.Module,
    loss_fn: LossFn,
    dataset: Dataset,
    specs: Sequence[SpecLike],
    *,
    steps: int = 200,
    batch_size: int | None = None,
    seed: int = 0,
    record_every: int = 1,
    weight_decay: float = 0.0,
    muon_adamw: Mapping[str, Any] | None = None,
    observe: Callable[[int, torch.Tensor, torch.Tensor], None] | None = None,
) -> TrainingResult:
    """Train copies of ``model`` with every optimizer spec, batched; the model is not modified.

    Args:
        model: the network; its current parameters are the common start theta0.
        loss_fn: ``loss_fn(outputs, targets)``, a mean over samples.
        dataset: training and validation data (``load_dataset``).
        specs: as ``optimizers.simulate``: names, (name, hyperparameters) pairs or Specs;
            a 1-D array sweeps a hyperparameter; "schedule", "noise", "clip_norm",
            "clip_value" work as in ``simulate`` (no artificial gradient noise unless "noise"
            asks for it: the mini-batches are real).
        steps: optimizer steps.
        batch_size: mini-batch size (None: full batch).
        seed: seed of the batch order, dropout masks and gradient noise.
        record_every: record every k-th step (the last step is always recorded).
        weight_decay: adds (wd/2)||theta||^2 to the training objective (not to the recorded
            losses); independent of the optimizers' own weight_decay.
        muon_adamw: AdamW's hyperparameters for the parameters Muon runs do not orthogonalise
            (all but the 2-D weight matrices; ``optimizers.muon.for_network``); default
            torch's AdamW defaults.
        observe: called as ``observe(t, params, grad)`` at every step t before the update, with
            the (R, P) parameters and mini-batch gradients (weight decay included, before
            clipping) in the caller's run order (``studies.gradient_flow`` records layer norms).
    """
    if int(steps) != steps or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    if int(record_every) != record_every or record_every < 1:
        raise ValueError(f"record_every must be a positive integer, got {record_every!r}")
    if batch_size is not None and (int(batch_size) != batch_size or batch_size < 1):
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
    if not (math.isfinite(weight_decay) and weight_decay >= 0):
        raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
    steps, wd = int(steps), float(weight_decay)
    resolved = expand_specs(specs)
    if not resolved:
        raise ValueError("no optimizer specs given")
    _check(resolved)

    theta0, spec = flatten(model)
    dtype, device = spec.dtype, spec.device
    x = dataset.x_train.to(device, dtype)
    y = dataset.y_train.to(device)
    n = int(y.shape[0])
    bn = has_batch_norm(model)
    mode = "batch" if bn else "eval"
    evaluator = NetworkEvaluator(model, loss_fn, batch_norm=mode)
    plan = evaluator.plan
    train_module = private_copy(model, "batch", training=True)
    buffers = {k: v for k, v in train_module.named_buffers()}
    step_seed = int(seed) * 1_000_003 + 17

    def batch_losses(flat: torch.Tensor, xb: torch.Tensor, yb: torch.Tensor, t: int):
        """(M,) training losses of M parameter vectors on one batch (dropout mask of step t)."""
        gen = torch.Generator(device="cpu").manual_seed(step_seed + t)
        if plan is not None:
            out = plan.forward(spec.unflatten(flat), xb, buffers, batch_stats=True, dropout=gen)
            return evaluator._reduce(out, yb, "loss")

        def one(p):
            return loss_fn(functional_call(train_module, (spec.unflatten(p), buffers), (xb,)), yb)

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(step_seed + t)
            return vmap(one, randomness="same")(flat)

    def value_and_grad(flat, xb, yb, t):
        if plan is not None:
            p = flat.detach().requires_grad_(True)
            with torch.enable_grad():
                losses = batch_losses(p, xb, yb, t)
                objective = losses + 0.5 * wd * p.square().sum(-1) if wd > 0 else losses
                (g,) = torch.autograd.grad(objective.sum(), p)
            return losses.detach(), g

        def one(p):
            out = functional_call(train_module, (spec.unflatten(p), buffers), (xb,))
            loss = loss_fn(out, yb)
            obj = loss + 0.5 * wd * p.square().sum() if wd > 0 else loss
            return obj, loss

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(step_seed + t)
            g, (_, losses) = vmap(grad_and_value(one, has_aux=True), randomness="same")(flat)
        return losses.detach(), g.detach()

    r = len(resolved)
    rules = {"muon": for_network(spec.shapes, muon_adamw)}
    batch = RunBatch(
        resolved, 1, steps, dtype=dtype, device=device, fixed_points=False, rules=rules
    )
    params = batch.start(theta0.to(dtype)[None])
    noise_gen = torch.Generator(device="cpu").manual_seed(int(seed) + 1)
    batches = minibatch_indices(n, batch_size, steps, seed)
    record = sorted(set(range(0, steps + 1, int(record_every))) | {steps})
    recorded = [params.clone()] if 0 in record else []
    diverged_at = torch.full((r,), -1, dtype=torch.long)
    first_loss = None
    no_gradients = _unavailable("this optimizer needs extra gradient evaluations: not supported")
    no_hessians = _unavailable("dense Hessians are not available for networks")

    for t in range(steps):
        idx = batches[t]
        xb, yb = (x, y) if idx is None else (x[idx], y[idx])
        losses, grad = value_and_grad(params, xb, yb, t)
        if observe is not None:
            caller_order = np.argsort(batch.order)
            observe(t, params[caller_order], grad[caller_order])
        if first_loss is None:
            first_loss = losses.abs().clamp_min(1e-12)
        bad = (
            ~torch.isfinite(losses) | (losses > 1e6 * first_loss) | ~torch.isfinite(params).all(-1)
        )
        diverged_at = torch.where((diverged_at < 0) & bad.cpu(), t, diverged_at)

        def value(p: torch.Tensor, xb=xb, yb=yb, t=t) -> torch.Tensor:
            """Losses on this step's mini-batch (line searches): (R, ..., P) -> (R, ...)."""
            lead = p.shape[:-1]
            return batch_losses(p.reshape(-1, p.shape[-1]), xb, yb, t).reshape(lead)

        noise = None
        if batch.noisy:  # one draw per step, shared by every run (common random numbers)
            noise = torch.randn(spec.size, generator=noise_gen, dtype=dtype).to(device)[None]
        with torch.no_grad():
            evaluations = Evaluations(value, no_gradients, no_hessians)
            params = batch.step(t, params, losses, grad, evaluations, noise).detach()
        if t + 1 in record:
            recorded.append(params.clone())
    final_bad = ~torch.isfinite(params).all(-1).cpu()
    diverged_at = torch.where((diverged_at < 0) & final_bad, steps, diverged_at)

    # back to the caller's order (runs sharing an update rule were grouped)
    inverse = torch.as_tensor(np.argsort(batch.order))
    traj = torch.stack(recorded, 1)[inverse]  # (R, T, P)
    diverged_at = diverged_at[inverse]
    t_count = traj.shape[1]
    flat = traj.reshape(-1, spec.size)
    with torch.no_grad():
        tr = evaluator.values(flat, x, y, metric="both").reshape(r, t_count, 2)
        va = evaluator.values(
            flat, dataset.x_val.to(device, dtype), dataset.y_val.to(device), metric="both"
        ).reshape(r, t_count, 2)
    tr, va = tr.double().cpu().numpy(), va.double().cpu().numpy()
    val_loss = va[..., 0]
    steps_arr = np.asarray(record, dtype=np.int64)
    filled = np.where(np.isfinite(val_loss), val_loss, np.inf)
    best = steps_arr[np.argmin(filled, axis=1)]
    return TrainingResult(
        labels=[s.label for s in resolved],
        specs=resolved,
        steps_recorded=steps_arr,
        params=traj.to(torch.float32).cpu().numpy(),
        train_loss=tr[..., 0],
        val_loss=val_loss,
        train_acc=tr[..., 1],
        val_acc=va[..., 1],
        best_val_step=best,
        diverged=(diverged_at >= 0).numpy(),
        diverged_at=diverged_at.numpy(),
        param_names=spec.names,
        param_shapes=spec.shapes,
        theta0=theta0.double().cpu().numpy(),
        batch_norm=mode,
        batch_size=None if batch_size is None else int(batch_size),
        seed=int(seed),
    )
