"""Muon (torch.optim.Muon's rule): momentum, then the update matrix orthogonalised by a quintic
Newton-Schulz iteration in bfloat16, as torch computes it.

On a 2-D surface the point is one 1 x 2 matrix. A 1 x 2 matrix has a single singular value, and
orthogonalising it means normalising it: Muon there is normalized-gradient descent with Nesterov
momentum. Each step has length ``lr * s``, where ``s`` is what five Newton-Schulz steps make of a
singular value 1: s = 0.696 with torch's coefficients (the polynomial a s + b s^3 + c s^5 maps 1
to 0.70, 1.11, 0.72, ...), moved by up to ~3 % by the bfloat16 arithmetic, in the direction of
the momentum; torch's shape adjustment
``sqrt(max(1, rows/cols))`` is 1 for a 1 x 2 matrix. Near a minimum the fixed step length makes
it circle or zig-zag at a distance about lr instead of converging: the schedule does the rest.
For a network, ``for_network`` makes the rule torch's documentation advises: Muon on every 2-D
weight matrix, AdamW on the other parameters (biases, batch norm, and conv weights, which
torch's Muon rejects).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from . import base
from .base import HParams, HyperParam, Optimizer, State, StepCost, register
from .first_order import lr_param, next_step, step_counter, weight_decay_param
from .ops import add_scaled, lerp

NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)  # torch.optim's (Keller Jordan's) quintic


def newton_schulz_matrices(update: torch.Tensor, steps: int, eps: float) -> torch.Tensor:
    """torch's ``_zeropower_via_newtonschulz`` for a batch of A x B matrices ``(R, A, B)``, in
    bfloat16 as torch computes it (the same operations, batched): a tall matrix is transposed,
    X = G / ||G||_F, then X <- a X + (b M + c M^2) X with M = X X^T, ``steps`` times, and
    transposed back."""
    a, b, c = NS_COEFFICIENTS
    tall = update.shape[-2] > update.shape[-1]
    x = update.bfloat16()
    if tall:
        x = x.mT
    x = x / torch.linalg.vector_norm(x, dim=(-2, -1), keepdim=True).clamp(min=eps)
    for _ in range(steps):
        gram = x @ x.mT
        gram_update = torch.baddbmm(gram, gram, gram, beta=b, alpha=c)
        x = torch.baddbmm(x, gram_update, x, beta=a)
    return x.mT if tall else x


def newton_schulz(update: torch.Tensor, steps: int, eps: float) -> torch.Tensor:
    """``newton_schulz_matrices`` for a batch of 1 x D matrices given as ``(R, D)``."""
    return newton_schulz_matrices(update[:, None, :], steps, eps)[:, 0, :]


def _orthogonalised(direction: torch.Tensor, hp: HParams, ns=newton_schulz) -> torch.Tensor:
    """Newton-Schulz (``ns``) of every run's direction with its own ``ns_steps`` and ``eps``."""
    if "ns_steps" in hp.uniform and "eps" in hp.uniform:
        return ns(direction, int(hp.uniform["ns_steps"]), float(hp.uniform["eps"]))
    out = torch.empty_like(direction, dtype=torch.bfloat16)
    pairs = torch.cat([hp["ns_steps"], hp["eps"]], dim=1)
    for steps, eps in torch.unique(pairs, dim=0).tolist():
        rows = (pairs == torch.tensor([steps, eps], dtype=pairs.dtype, device=pairs.device)).all(1)
        out[rows] = ns(direction[rows], int(steps), eps)
    return out


def _muon_init(params: torch.Tensor, hp: HParams) -> State:
    return {"step": step_counter(params, hp), "momentum_buffer": torch.zeros_like(params)}


def _muon_update(params, loss, grad, state, hp, oracle):
    step = next_step(state)
    lr, momentum = hp.value("lr"), hp.value("momentum")
    buf = lerp(state["momentum_buffer"], grad, 1.0 - momentum)
    nesterov = hp["nesterov"]
    if hp.all_equal("nesterov", True):
        direction = lerp(grad, buf, momentum)
    elif hp.all_equal("nesterov", False):
        direction = buf
    else:
        direction = torch.where(nesterov, lerp(grad, buf, momentum), buf)
    ortho = _orthogonalised(direction, hp).to(params.dtype)
    # torch's adjustment sqrt(max(1, rows / cols)) is 1 for a 1 x D matrix (D >= 1)
    decayed = params * (1.0 - hp["lr"] * hp["weight_decay"])
    new_params = add_scaled(decayed, ortho, -lr)
    shown = ortho.abs() / direction.abs().clamp(min=1e-300)
    return new_params, {
        "step": step,
        "momentum_buffer": buf,
        "effective_lr": hp["lr"] * shown,
    }


def _check_ns_steps(hp: dict) -> None:
    if int(hp["ns_steps"]) != hp["ns_steps"]:
        raise ValueError("muon: ns_steps must be an integer")


MUON = register(
    Optimizer(
        name="muon",
        stability="sign",
        title="Muon",
        init=_muon_init,
        update=_muon_update,
        hyperparams=(
            lr_param(1e-3),
            weight_decay_param(0.1),
            HyperParam(
                "momentum",
                0.95,
                low=0.0,
                high=1.0,
                high_open=True,
                ui=(0.0, 0.999),
                description="momentum of the update matrix",
            ),
            HyperParam("nesterov", True, kind="bool", description="Nesterov's look-ahead form"),
            HyperParam(
                "eps",
                1e-7,
                low=0.0,
                log=True,
                ui=(1e-12, 1e-3),
                description="floor of the norm the update is divided by",
            ),
            HyperParam(
                "ns_steps",
                5,
                low=0,
                high=99,
                kind="int",
                ui=(0, 10),
                description="Newton-Schulz iterations (each maps a singular value s to "
                "a s + b s^3 + c s^5)",
            ),
        ),
        description="Momentum whose update matrix is orthogonalised (all singular values ~1); on "
        "a 2-D point (a 1x2 matrix) that is normalized-gradient descent with momentum: every step "
        "about lr long.",
        maths=r"B_t = \mu B_{t-1} + (1-\mu) g_t,\ O_t = \mathrm{NS}_5(g_t + \mu (B_t - g_t)),\ "
        r"\theta_t = \theta_{t-1}(1-\eta\lambda) - \eta O_t;\ \text{for } 1\times 2:\ "
        r"O_t \approx s\, \tilde B_t / \lVert \tilde B_t \rVert",
        reference="Jordan et al. 2024, 'Muon: an optimizer for hidden layers in neural networks' "
        "(kellerjordan.github.io/posts/muon); Liu et al. 2025, 'Muon is scalable for LLM "
        "training', arXiv:2502.16982",
        torch_name="Muon",
        network_lr=0.02,
        cost=StepCost(35, 6.0),
        velocity_key="momentum_buffer",
        check=_check_ns_steps,
    )
)


def for_network(
    shapes: Sequence[tuple[int, ...]], adamw: Mapping[str, Any] | None = None
) -> Optimizer:
    """Muon for a network whose flat ``(R, P)`` parameters concatenate tensors of ``shapes``
    (row-major, in order), as torch's documentation advises: ``torch.optim.Muon`` on every 2-D
    weight matrix W (A x B), ``torch.optim.AdamW`` on the other parameters (biases, batch norm,
    conv weights: torch's Muon rejects tensors that are not 2-D).

    Per matrix: B_t = mu B_{t-1} + (1-mu) G_t, O_t = NS(G_t + mu (B_t - G_t)) (Nesterov) or
    NS(B_t), W_t = W_{t-1} (1 - eta lambda) - eta sqrt(max(1, A/B)) O_t, with the Newton-Schulz
    iteration batched over runs. AdamW takes torch's defaults (lr 1e-3, betas (0.9, 0.999),
    eps 1e-8, weight_decay 0.01) unless ``adamw`` gives others; a learning-rate schedule scales
    both learning rates by the same factor.
    """
    adam_opt = base.get("adamw")
    adam_values = adam_opt.resolve(dict(adamw or {}))
    offsets, matrices, others = 0, [], []
    for shape in shapes:
        size = math.prod(shape)
        (matrices if len(shape) == 2 else others).append((offsets, size, tuple(shape)))
        offsets += size
    other_index = torch.cat(
        [torch.arange(lo, lo + size) for lo, size, _ in others]
        or [torch.zeros(0, dtype=torch.long)]
    )

    def adam_hp(params: torch.Tensor) -> HParams:
        r = params.shape[0]
        tensors = {
            k: torch.full(
                (r, 1),
                v,
                dtype=torch.bool if isinstance(v, bool) else params.dtype,
                device=params.device,
            )
            for k, v in adam_values.items()
        }
        return HParams(tensors, adam_values)

    def init(params: torch.Tensor, hp: HParams) -> State:
        index = other_index.to(params.device)
        adam_state = adam_opt.init(params[:, index], adam_hp(params))
        state = _muon_init(params, hp)
        state["lr0"] = hp["lr"].clone()
        state.update({f"adamw.{k}": v for k, v in adam_state.items()})
        return state

    def update(params, loss, grad, state, hp, oracle):
        step = next_step(state)
        lr, momentum = hp.value("lr"), hp.value("momentum")
        new_params = params.clone()
        buf = state["momentum_buffer"].clone()
        effective = torch.zeros_like(params)
        for lo, size, (rows, cols) in matrices:
            sl = slice(lo, lo + size)
            g = grad[:, sl]
            b = lerp(state["momentum_buffer"][:, sl], g, 1.0 - momentum)
            if hp.all_equal("nesterov", True):
                direction = lerp(g, b, momentum)
            elif hp.all_equal("nesterov", False):
                direction = b
            else:
                direction = torch.where(hp["nesterov"], lerp(g, b, momentum), b)
            ortho = (
                _orthogonalised(direction.reshape(-1, rows, cols), hp, newton_schulz_matrices)
                .reshape(direction.shape)
                .to(params.dtype)
            )
            scale = math.sqrt(max(1.0, rows / cols))
            decayed = params[:, sl] * (1.0 - hp["lr"] * hp["weight_decay"])
            new_params[:, sl] = add_scaled(decayed, ortho, -lr * scale)
            buf[:, sl] = b
            effective[:, sl] = hp["lr"] * scale * ortho.abs() / direction.abs().clamp(min=1e-300)
        if others:
            index = other_index.to(params.device)
            ahp = adam_hp(params)
            if "lr" not in hp.uniform:  # scheduled or swept: AdamW's lr follows Muon's factor
                lr0 = state["lr0"]
                factor = torch.where(lr0 == 0, torch.ones_like(lr0), hp["lr"] / lr0)
                ahp = ahp.with_tensor("lr", ahp["lr"] * factor)
            adam_state = {k[6:]: v for k, v in state.items() if k.startswith("adamw.")}
            new_other, adam_state = adam_opt.update(
                params[:, index], loss, grad[:, index], adam_state, ahp, oracle
            )
            new_params[:, index] = new_other
            buf[:, index] = adam_state["exp_avg"]
            effective[:, index] = adam_state["effective_lr"].expand(-1, index.numel())
        new_state = {"step": step, "momentum_buffer": buf, "effective_lr": effective}
        new_state["lr0"] = state["lr0"]
        if others:
            new_state.update({f"adamw.{k}": v for k, v in adam_state.items()})
        return new_params, new_state

    return dataclasses.replace(MUON, init=init, update=update)


__all__ = ["NS_COEFFICIENTS", "for_network", "newton_schulz", "newton_schulz_matrices"]
