"""Edge of stability: full-batch gradient descent drives the sharpness up to 2 / eta and holds it.

Cohen, Kaur, Li, Kolter & Talwalkar 2021, "Gradient descent on neural networks typically occurs
at the edge of stability" (ICLR). On the quadratic model around theta, gradient descent with
step eta is stable only along directions of curvature below 2 / eta. Training a network with
full-batch gradient descent, the sharpness lambda_max = largest eigenvalue of the training-loss
Hessian first grows ("progressive sharpening"), reaches 2 / eta, and then hovers just above it,
while the training loss keeps decreasing over long times but not monotonically (short spikes):
the classical descent-lemma picture (eta < 2 / lambda_max) no longer applies.

``edge_of_stability`` trains with the engine's runner (``studies.training.train`` with the "gd"
rule, full batch) and measures lambda_max every ``sharpness_every`` steps by batched Lanczos on
Hessian-vector products (``landscapes.network.sharpness``). The paper's setting is MSE loss on a
subset of the data; ``one_hot_mse`` is that loss and ``subset`` the subset.

>>> from landscapes.network import load_dataset
>>> data = subset(load_dataset("moons", n_samples=400), 100)
>>> model = eos_model(data)
>>> result = edge_of_stability(model, one_hot_mse, data, lr=0.2, steps=50, sharpness_every=25)
>>> result.sharpness.shape
(3,)
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from landscapes.network.data import Dataset
from landscapes.network.evaluator import LossFn, has_batch_norm, intra_op_threads
from landscapes.network.sharpness import sharpness as batched_sharpness
from studies.training import TrainingResult, train


def one_hot_mse(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Squared error against one-hot targets, 1/2 mean_n sum_c (o_nc - [y_n = c])^2 (the loss
    of Cohen et al. 2021's MSE experiments)."""
    onehot = F.one_hot(targets, outputs.shape[-1]).to(outputs.dtype)
    return 0.5 * (outputs - onehot).square().sum(-1).mean()


def subset(dataset: Dataset, n_train: int) -> Dataset:
    """The same data set with only its first ``n_train`` training samples (validation kept)."""
    if int(n_train) != n_train or not 1 <= n_train <= dataset.n_train:
        raise ValueError(f"n_train must be an integer in [1, {dataset.n_train}], got {n_train!r}")
    n = int(n_train)
    return dataclasses.replace(dataset, x_train=dataset.x_train[:n], y_train=dataset.y_train[:n])


def eos_model(dataset: Dataset, *, width: int = 32, depth: int = 3, seed: int = 0) -> nn.Module:
    """The lesson's network: a tanh MLP of ``depth`` linear layers (PyTorch's default init,
    drawn from ``seed``; the global RNG is not touched)."""
    if int(depth) != depth or depth < 2:
        raise ValueError(f"depth must be an integer >= 2, got {depth!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        fan_in = math.prod(dataset.input_shape)
        layers: list[nn.Module] = [nn.Flatten()]
        for _ in range(int(depth) - 1):
            layers += [nn.Linear(fan_in, int(width)), nn.Tanh()]
            fan_in = int(width)
        layers.append(nn.Linear(fan_in, dataset.n_classes))
        return nn.Sequential(*layers)


@dataclass(frozen=True)
class EdgeOfStability:
    """One full-batch gradient-descent run with its sharpness.

    Attributes:
        lr: the step eta; ``threshold`` = 2 / eta.
        steps: (T,) 0 .. n_steps; ``train_loss`` (T,) the full training loss at each step.
        sharpness_steps: (K,) the steps where lambda_max was measured; ``sharpness`` (K,).
        training: the underlying ``TrainingResult`` (parameters at every step).
    """

    lr: float
    steps: np.ndarray
    train_loss: np.ndarray
    sharpness_steps: np.ndarray
    sharpness: np.ndarray
    training: TrainingResult

    @property
    def threshold(self) -> float:
        """2 / eta, the stability limit of gradient descent on a quadratic."""
        return 2.0 / self.lr

    def first_reached(self, fraction: float = 0.9) -> int | None:
        """The first measured step whose sharpness is >= fraction x 2/eta (None if never)."""
        hit = np.flatnonzero(self.sharpness >= fraction * self.threshold)
        return int(self.sharpness_steps[hit[0]]) if hit.size else None


def edge_of_stability(
    model: nn.Module,
    loss_fn: LossFn,
    dataset: Dataset,
    *,
    lr: float = 0.3,
    steps: int = 600,
    sharpness_every: int = 10,
    lanczos_iters: int = 20,
    seed: int = 0,
) -> EdgeOfStability:
    """Full-batch gradient descent from ``model``'s parameters (not modified) with step ``lr``;
    the training loss at every step and lambda_max every ``sharpness_every`` steps (and at the
    last step), by ``lanczos_iters`` batched Lanczos steps on the full training set.

    The defaults with ``eos_model`` on ``subset(load_dataset("moons", n_samples=400), 100)``
    and ``one_hot_mse`` are the lesson's tested setting (2/eta = 6.67 is reached near step
    150, then held within 10 %)."""
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    if int(sharpness_every) != sharpness_every or sharpness_every < 1:
        raise ValueError(f"sharpness_every must be a positive integer, got {sharpness_every!r}")
    if has_batch_norm(model):
        raise ValueError("the edge-of-stability study takes models without batch norm")
    with intra_op_threads(1):  # small kernels: one thread (see ``intra_op_threads``)
        result = train(model, loss_fn, dataset, [("gd", {"lr": float(lr)})], steps=steps)
        at = sorted(set(range(0, int(steps) + 1, int(sharpness_every))) | {int(steps)})
        centers = result.params[0, at]
        finite = np.isfinite(centers).all(-1)
        values = np.full(len(at), np.nan)
        if finite.any():
            values[finite] = batched_sharpness(
                model,
                loss_fn,
                dataset.x_train,
                dataset.y_train,
                centers[finite],
                iters=lanczos_iters,
                seed=seed,
            )
    return EdgeOfStability(
        lr=float(lr),
        steps=result.steps_recorded,
        train_loss=result.train_loss[0],
        sharpness_steps=np.asarray(at, dtype=np.int64),
        sharpness=values,
        training=result,
    )
