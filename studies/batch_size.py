"""Batch size and learning rate: gradient noise, the generalization gap, the linear scaling rule.

Gradient noise. With per-sample gradients g_i (i = 1..N) of the training loss at theta, their
mean G (the full-batch gradient) and their covariance trace

    tr Sigma = (1/N) sum_i ||g_i - G||^2,

the gradient of a mini-batch of B samples drawn uniformly without replacement (one epoch's
permutation, as ``studies.training`` draws them) is unbiased with

    E ||g_B - G||^2 = (tr Sigma / B) (N - B) / (N - 1)

(the variance of a sample mean under simple random sampling; Cochran, "Sampling Techniques",
1977, thm. 2.2): the noise falls as 1/B, to zero at B = N. McCandlish, Kaplan, Amodei et al.
2018 ("An empirical model of large-batch training") call B_simple = tr Sigma / ||G||^2 the
gradient noise scale: batches much smaller than it are noise-dominated.

Linear scaling rule (Goyal et al. 2017, "Accurate, large minibatch SGD: training ImageNet in 1
hour"): multiplying the batch size by k, multiply the learning rate by k, which keeps the
per-epoch progress of SGD roughly unchanged while eta / B (the noise temperature; Smith & Le
2018, "A Bayesian perspective on generalization and stochastic gradient descent") stays fixed.

``batch_size_study`` trains the same model for the same number of epochs at several batch
sizes (one ``studies.training.train`` call each: steps = epochs x ceil(N / B)) and reports the
final training and validation losses, their gap (validation - training) and the gradient noise
at the start and at the end of each run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad, vmap

from landscapes.network.data import Dataset
from landscapes.network.evaluator import LossFn, has_batch_norm, intra_op_threads, private_copy
from landscapes.network.params import as_flat, param_spec
from studies.training import TrainingResult, train


@dataclass(frozen=True)
class GradientNoise:
    """Per-sample gradient statistics at one parameter vector (N samples).

    Attributes:
        n: N; ``trace_covariance``: tr Sigma; ``mean_gradient_sq``: ||G||^2.
    """

    n: int
    trace_covariance: float
    mean_gradient_sq: float

    @property
    def noise_scale(self) -> float:
        """B_simple = tr Sigma / ||G||^2 (McCandlish et al. 2018)."""
        return self.trace_covariance / self.mean_gradient_sq if self.mean_gradient_sq else math.inf

    def minibatch_variance(self, batch_size: int | None) -> float:
        """E ||g_B - G||^2 for B samples without replacement (0 for the full batch)."""
        b = self.n if batch_size is None else min(int(batch_size), self.n)
        if b < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
        if self.n == 1:
            return 0.0
        return self.trace_covariance / b * (self.n - b) / (self.n - 1)


def per_sample_gradients(
    model: nn.Module,
    loss_fn: LossFn,
    inputs: Any,
    targets: Any,
    *,
    params: Any = None,
    chunk: int = 512,
) -> torch.Tensor:
    """(N, P) gradients of ``loss_fn`` on each sample alone at ``params`` (default: the model's
    parameters), eval mode (dropout off); models with batch norm are refused (a one-sample
    batch has no batch statistics)."""
    if has_batch_norm(model):
        raise ValueError(
            "per-sample gradients of a batch-norm network are undefined (each sample's "
            "gradient depends on the rest of its batch)"
        )
    spec = param_spec(model)
    module = private_copy(model, "eval")
    buffers = {n: b.detach() for n, b in module.named_buffers()}
    theta = as_flat(model if params is None else params, spec)
    x = torch.as_tensor(inputs).to(spec.device, spec.dtype)
    y = torch.as_tensor(targets).to(spec.device)

    def one(xi: torch.Tensor, yi: torch.Tensor) -> torch.Tensor:
        def loss(flat: torch.Tensor) -> torch.Tensor:
            out = functional_call(module, (spec.unflatten(flat), buffers), (xi[None],))
            return loss_fn(out, yi[None])

        return grad(loss)(theta)

    batched = vmap(one)
    return torch.cat([batched(x[i : i + chunk], y[i : i + chunk]) for i in range(0, len(y), chunk)])


def gradient_noise(
    model: nn.Module, loss_fn: LossFn, inputs: Any, targets: Any, *, params: Any = None
) -> GradientNoise:
    """Per-sample gradient statistics (``GradientNoise``) at ``params`` on (inputs, targets)."""
    g = per_sample_gradients(model, loss_fn, inputs, targets, params=params).double()
    mean = g.mean(0)
    trace = float((g - mean).square().sum(-1).mean())
    return GradientNoise(
        n=int(g.shape[0]), trace_covariance=trace, mean_gradient_sq=float(mean.square().sum())
    )


@dataclass(frozen=True)
class BatchSizeStudy:
    """K runs of the same number of epochs, one per batch size.

    Attributes:
        batch_sizes: (K,) (the full batch written as N); ``lrs`` (K,) the learning rates used.
        epochs; ``steps`` (K,) optimizer steps of each run.
        train_loss, val_loss: (K,) final full-data losses; ``gap`` = val_loss - train_loss.
        noise_start, noise_end: (K,) E||g_B - G||^2 at the initial and final parameters.
        noise_scale_start: B_simple at the initial parameters (the same for every run).
        runs: the K ``TrainingResult``s (their ``steps_recorded`` / steps per epoch is epochs).
    """

    batch_sizes: np.ndarray
    lrs: np.ndarray
    epochs: int
    steps: np.ndarray
    train_loss: np.ndarray
    val_loss: np.ndarray
    noise_start: np.ndarray
    noise_end: np.ndarray
    noise_scale_start: float
    runs: list[TrainingResult]

    @property
    def gap(self) -> np.ndarray:
        """(K,) generalization gap: final validation loss - final training loss."""
        return self.val_loss - self.train_loss

    def epochs_recorded(self, k: int) -> np.ndarray:
        """(T_k,) the recorded points of run k in epochs: recorded step / steps per epoch
        (0 .. ``epochs``), the common time axis of runs at different batch sizes."""
        return self.runs[k].steps_recorded * (self.epochs / float(self.steps[k]))

    def gap_curve(self, k: int) -> np.ndarray:
        """(T_k,) run k's generalization gap at each recorded point: validation loss - training
        loss (full data)."""
        run = self.runs[k]
        return run.val_loss[0] - run.train_loss[0]


def batch_size_study(
    model: nn.Module,
    loss_fn: LossFn,
    dataset: Dataset,
    batch_sizes: Sequence[int | None] = (8, 32, 128),
    *,
    epochs: int = 5,
    lr: float = 0.1,
    optimizer: str = "sgd",
    linear_scaling: bool = False,
    base_batch_size: int = 32,
    records_per_epoch: int = 4,
    seed: int = 0,
) -> BatchSizeStudy:
    """Train ``model`` (not modified) for ``epochs`` epochs at each batch size.

    Args:
        batch_sizes: mini-batch sizes (None: the full batch).
        lr: the learning rate; with ``linear_scaling`` the run at batch size B uses
            lr x B / ``base_batch_size`` (Goyal et al. 2017).
        optimizer: an optimizer name of the registry (its other hyperparameters default).
        records_per_epoch: recorded points per epoch of each run's learning curves.
        seed: the batch order's seed (the same for every run).
    """
    if int(epochs) != epochs or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    if not batch_sizes:
        raise ValueError("no batch sizes given")
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    n = dataset.n_train
    sizes = [n if b is None else min(int(b), n) for b in batch_sizes]
    if any(b < 1 for b in sizes):
        raise ValueError(f"batch sizes must be positive, got {list(batch_sizes)}")
    lrs = [lr * b / base_batch_size if linear_scaling else lr for b in sizes]
    x, y = dataset.x_train, dataset.y_train
    runs, noise_end, steps = [], [], []
    with intra_op_threads(1):  # small kernels: one thread (see ``intra_op_threads``)
        start = gradient_noise(model, loss_fn, x, y)
        for b, rate in zip(sizes, lrs, strict=True):
            per_epoch = math.ceil(n / b)
            total = int(epochs) * per_epoch
            every = max(1, per_epoch // max(1, int(records_per_epoch)))
            res = train(
                model,
                loss_fn,
                dataset,
                [(optimizer, {"lr": float(rate)})],
                steps=total,
                batch_size=b,
                seed=seed,
                record_every=every,
            )
            runs.append(res)
            steps.append(total)
            final = res.params[0, -1]
            if np.isfinite(final).all():
                end = gradient_noise(model, loss_fn, x, y, params=torch.as_tensor(final))
                noise_end.append(end.minibatch_variance(b))
            else:
                noise_end.append(math.nan)
    return BatchSizeStudy(
        batch_sizes=np.asarray(sizes, dtype=np.int64),
        lrs=np.asarray(lrs, dtype=np.float64),
        epochs=int(epochs),
        steps=np.asarray(steps, dtype=np.int64),
        train_loss=np.array([r.train_loss[0, -1] for r in runs]),
        val_loss=np.array([r.val_loss[0, -1] for r in runs]),
        noise_start=np.array([start.minibatch_variance(b) for b in sizes]),
        noise_end=np.asarray(noise_end, dtype=np.float64),
        noise_scale_start=start.noise_scale,
        runs=runs,
    )
