"""A cost model of the network engine: seconds a training, a surface or a curvature will take.

The unit of work is the multiply-accumulate (MAC) of one sample's forward pass through the
model's linear and convolutional layers (``forward_macs``); a training step of R runs on a batch
of B samples does R * B forward and backward passes (about 3 forward's work), a surface point is
one forward pass over the metric's data, a Hessian-vector product about 4 forward passes. The
constants are seconds per unit on a 2-core CPU in float32, calibrated with
``bench/cost_model.py`` (predicted against measured) and rounded up: the model errs high, by
some 1.1-2x for convolutional models under load. On small MLPs the fixed costs of a step and of a Lanczos
iteration dominate; they vary most with the machine's load and are kept low enough that the
network page's default view fits the default budget (measured some 3 s on a quiet machine).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

# --- calibrated constants (seconds; 2-core CPU, float32; see bench/cost_model.py) ----------------
FORWARD_MAC_S = 2e-10  # one sample-MAC of a batched forward pass (surfaces, recorded values)
TRAIN_MAC_S = 5.5e-9  # one sample-MAC of a training step: forward, backward and the update
TRAIN_STEP_S = 0.015  # a training step's fixed work (batch, oracle, update rules), any size
PARAM_STEP_S = 100e-9  # per run and parameter per step: the update rule on the flat vector
HVP_MAC_S = 8e-9  # one sample-MAC of a Hessian-vector product (Hutchinson's batched probes)
HVP_S = 4e-3  # a Hessian-vector product's fixed work (Hutchinson)
LANCZOS_MAC_S = 2.5e-8  # one sample-MAC of a Lanczos iteration (one product, reorthogonalized)
LANCZOS_ITER_S = 0.1  # a Lanczos iteration's fixed work
POINT_S = 100e-6  # a parameter vector's fixed work in a batched evaluation


def forward_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of one sample's forward pass through the ``Linear`` and ``Conv2d``
    layers of ``model`` (a forward pass of one zero sample with hooks; the model is not
    changed, batch-norm statistics are not touched)."""
    total = 0

    def count(module: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Linear):
            total += module.in_features * module.out_features
        elif isinstance(module, nn.Conv2d):
            kernel = math.prod(module.kernel_size) * module.in_channels // module.groups
            total += kernel * output[0].numel()

    hooks = [
        m.register_forward_hook(count)
        for m in model.modules()
        if isinstance(m, (nn.Linear, nn.Conv2d))
    ]
    training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros((1, *input_shape), dtype=next(model.parameters()).dtype))
    finally:
        model.train(training)
        for h in hooks:
            h.remove()
    return max(int(total), 1)


def evaluation_seconds(macs: int, points: int, samples: int) -> float:
    """Estimated seconds of evaluating the metric at ``points`` parameter vectors on ``samples``
    samples (``loss_surface``, ``loss_at``, ``interpolate``, the recorded values of ``train``)."""
    points, samples = max(int(points), 0), max(int(samples), 0)
    return points * (POINT_S + samples * macs * FORWARD_MAC_S)


def training_seconds(
    macs: int,
    n_params: int,
    *,
    runs: int,
    steps: int,
    batch: int,
    n_train: int,
    n_val: int,
    record_every: int = 1,
) -> float:
    """Estimated seconds of ``train`` with ``runs`` optimizer runs for ``steps`` steps on batches
    of ``batch`` samples (the training set's size for full batch): the steps, then the training
    and validation metrics at every recorded point."""
    runs, steps = max(int(runs), 0), max(int(steps), 0)
    per_step = TRAIN_STEP_S + runs * (batch * macs * TRAIN_MAC_S + n_params * PARAM_STEP_S)
    recorded = steps // max(int(record_every), 1) + 2
    return steps * per_step + evaluation_seconds(macs, runs * recorded, n_train + n_val)


def hvp_seconds(macs: int, samples: int, count: int) -> float:
    """Estimated seconds of ``count`` Hessian-vector products of the loss on ``samples``
    samples, batched as Hutchinson's trace (``hessian_trace``) does them."""
    return max(int(count), 0) * (HVP_S + samples * macs * HVP_MAC_S)


def lanczos_seconds(macs: int, samples: int, iters: int) -> float:
    """Estimated seconds of ``iters`` Lanczos iterations on the loss over ``samples`` samples
    (``hessian_eigenpairs``, ``hessian_directions``; assumes no early stop on the tolerance)."""
    return max(int(iters), 0) * (LANCZOS_ITER_S + samples * macs * LANCZOS_MAC_S)


__all__ = [
    "evaluation_seconds",
    "forward_macs",
    "hvp_seconds",
    "lanczos_seconds",
    "training_seconds",
]
