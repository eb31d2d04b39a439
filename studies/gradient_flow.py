"""Per-layer gradient norms through training: vanishing and exploding gradients made visible.

Back-propagation through a plain deep network gives layer l the gradient

    dL/dW_l = delta_l h_{l-1}^T,   delta_l = diag(act'(z_l)) W_{l+1}^T delta_{l+1},

a product of one Jacobian per layer above it. When each factor shrinks vectors (sigmoid,
act' <= 1/4, with Var W ~ 1/fan_in) the first layers' gradients vanish geometrically with depth;
when each stretches them (a large initialization scale) they explode (Hochreiter 1991; Bengio,
Simard & Frasconi 1994; Glorot & Bengio 2010; Pascanu, Mikolov & Bengio 2013, "On the difficulty
of training recurrent neural networks", which also proposes clipping the gradient norm).

``gradient_flow`` trains with ``studies.training.train`` (the one runner, all optimizers batched)
and records, at every ``record_every``-th step, the Euclidean norm of the mini-batch gradient
restricted to each linear/convolutional layer's weight and bias: an (R, L, T) array, the
layer x step heat map of each run. The gradient is the one the optimizer receives (weight decay
included), before any clipping.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from landscapes.network.data import Dataset
from landscapes.network.deep import linear_layers
from landscapes.network.evaluator import LossFn, intra_op_threads, private_copy
from landscapes.network.params import ParamSpec, as_flat, param_spec
from optimizers import SpecLike
from studies.training import TrainingResult, train


@dataclass(frozen=True)
class GradientFlow:
    """Per-layer gradient norms of R training runs.

    Attributes:
        training: the ``TrainingResult`` (paths, learning curves, divergence).
        layers: (L,) layer names in forward order (module names, "0" .. or "stem.0" ..).
        steps: (T,) the steps at which the gradient was taken (0, k, 2k, ... < ``steps``; the
            gradient at step t is taken at the parameters after t updates).
        norms: (R, L, T) Euclidean norms of each layer's gradient (weight and bias together).
    """

    training: TrainingResult
    layers: tuple[str, ...]
    steps: np.ndarray
    norms: np.ndarray

    def first_to_last(self) -> np.ndarray:
        """(R, T) ratio of the first layer's gradient norm to the last layer's (small values:
        vanishing gradients; large values: exploding towards the input)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.norms[:, 0] / self.norms[:, -1]


def _slices(spec: ParamSpec, layers: Sequence[tuple[str, tuple[str, ...]]]) -> list[list[slice]]:
    starts = np.concatenate([[0], np.cumsum(spec.numels)])
    where = {n: slice(int(starts[i]), int(starts[i + 1])) for i, n in enumerate(spec.names)}
    return [[where[p] for p in params] for _, params in layers]


def layer_norms(
    grad: torch.Tensor, spec: ParamSpec, layers: Sequence[tuple[str, tuple[str, ...]]]
) -> torch.Tensor:
    """(..., P) flat gradients -> (..., L) Euclidean norms of each layer's part."""
    parts = _slices(spec, layers)
    return torch.stack([torch.cat([grad[..., s] for s in sl], -1).norm(dim=-1) for sl in parts], -1)


def layer_gradient_norms(
    model: nn.Module,
    loss_fn: LossFn,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    *,
    params: object = None,
    batch_norm: str = "batch",
) -> np.ndarray:
    """(L,) per-layer gradient norms of ``loss_fn(model(inputs), targets)`` at ``params``
    (default: the model's own parameters), dropout off; batch norm on the statistics of
    ``inputs`` ("batch", as training) or the running statistics ("eval")."""
    spec = param_spec(model)
    module = private_copy(model, batch_norm)
    buffers = {n: b.detach() for n, b in module.named_buffers()}
    flat = as_flat(model if params is None else params, spec).clone().requires_grad_(True)
    x = torch.as_tensor(inputs).to(spec.device, spec.dtype)
    out = functional_call(module, (spec.unflatten(flat), buffers), (x,))
    (g,) = torch.autograd.grad(loss_fn(out, torch.as_tensor(targets).to(spec.device)), flat)
    return layer_norms(g.detach(), spec, linear_layers(model)).double().cpu().numpy()


def gradient_flow(
    model: nn.Module,
    loss_fn: LossFn,
    dataset: Dataset,
    specs: Sequence[SpecLike],
    *,
    steps: int = 100,
    batch_size: int | None = None,
    seed: int = 0,
    record_every: int = 1,
    weight_decay: float = 0.0,
) -> GradientFlow:
    """Train like ``studies.training.train`` (same arguments) and record per-layer gradient
    norms every ``record_every`` steps. Remedies are arguments: a ReLU/He-initialised, batch-norm
    or residual ``model`` (``landscapes.network.deep.build_deep_mlp``) or a spec with
    ``clip_norm`` (gradient clipping, Pascanu et al. 2013)."""
    spec = param_spec(model)
    layers = linear_layers(model)
    recorded: list[torch.Tensor] = []
    at: list[int] = []
    every = int(record_every) if int(record_every) == record_every and record_every >= 1 else 1

    def observe(t: int, params: torch.Tensor, grad: torch.Tensor) -> None:
        if t % every == 0:
            recorded.append(layer_norms(grad, spec, layers).double().cpu())
            at.append(t)

    with intra_op_threads(1):  # small kernels: one thread (see ``intra_op_threads``)
        result = train(
            model,
            loss_fn,
            dataset,
            specs,
            steps=steps,
            batch_size=batch_size,
            seed=seed,
            record_every=record_every,
            weight_decay=weight_decay,
            observe=observe,
        )
    r = len(result.labels)
    norms = (
        torch.stack(recorded, -1).numpy() if recorded else np.zeros((r, len(layers), 0))
    )  # (R, L, T)
    return GradientFlow(
        training=result,
        layers=tuple(name for name, _ in layers),
        steps=np.asarray(at, dtype=np.int64),
        norms=norms,
    )
