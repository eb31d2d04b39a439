"""Sharpness by batched Lanczos (landscapes.network.sharpness) and the edge-of-stability study.

References: the dense Hessian's largest eigenvalue (torch.autograd.functional.hessian +
numpy's eigvalsh), a plain gradient-descent loop, and the lesson's claim (Cohen et al. 2021).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from landscapes.network import flatten, load_dataset
from landscapes.network.sharpness import sharpness
from studies.edge_of_stability import edge_of_stability, eos_model, one_hot_mse, subset


@pytest.fixture(scope="module")
def moons100():
    return subset(load_dataset("moons", n_samples=400), 100)


def dense_lambda_max(model: nn.Module, x, y, flat: torch.Tensor) -> float:
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for _, p in model.named_parameters()]

    def loss(theta: torch.Tensor) -> torch.Tensor:
        parts, i = {}, 0
        for n, s in zip(names, shapes, strict=True):
            k = int(np.prod(s))
            parts[n] = theta[i : i + k].reshape(s)
            i += k
        return one_hot_mse(torch.func.functional_call(model, parts, (x,)), y)

    h = torch.autograd.functional.hessian(loss, flat)
    return float(np.linalg.eigvalsh(h.numpy())[-1])


def test_one_hot_mse_by_hand():
    out = torch.tensor([[0.2, 0.9], [1.5, -1.0]])
    y = torch.tensor([1, 0])
    expected = 0.5 * ((0.2**2 + 0.1**2) + (0.5**2 + 1.0**2)) / 2
    assert float(one_hot_mse(out, y)) == pytest.approx(expected)


def test_sharpness_matches_dense_hessian_exactly_on_a_tiny_network(moons100):
    """P = 22 parameters and P Lanczos steps: the Krylov space is the whole space, so the top
    Ritz value is lambda_max of the dense Hessian (float64), at several points."""
    data = subset(moons100, 40)
    model = eos_model(data, width=4, depth=2, seed=1).double()
    x, y = data.x_train.double(), data.y_train
    theta, spec = flatten(model)
    gen = torch.Generator().manual_seed(0)
    centers = theta + 0.5 * torch.randn(3, spec.size, generator=gen, dtype=torch.float64)
    ours = sharpness(model, one_hot_mse, x, y, centers, iters=spec.size)
    ref = [dense_lambda_max(model, x, y, c) for c in centers]
    np.testing.assert_allclose(ours, ref, rtol=1e-8)


def test_twenty_lanczos_steps_find_lambda_max_of_a_larger_network(moons100):
    model = eos_model(moons100, width=12, depth=3, seed=2).double()
    x, y = moons100.x_train.double(), moons100.y_train
    theta, spec = flatten(model)
    assert spec.size > 200
    ours = sharpness(model, one_hot_mse, x, y, theta, iters=20)
    assert ours[0] == pytest.approx(dense_lambda_max(model, x, y, theta), rel=1e-3)


def test_losses_are_those_of_plain_gradient_descent(moons100):
    model = eos_model(moons100, seed=0)
    res = edge_of_stability(model, one_hot_mse, moons100, lr=0.3, steps=40, sharpness_every=20)
    ref = copy.deepcopy(model)
    losses = []
    for _ in range(41):
        ref.zero_grad()
        loss = one_hot_mse(ref(moons100.x_train), moons100.y_train)
        losses.append(float(loss.detach()))
        loss.backward()
        with torch.no_grad():
            for p in ref.parameters():
                p -= 0.3 * p.grad
    np.testing.assert_allclose(res.train_loss, losses, rtol=1e-4)
    assert res.sharpness_steps.tolist() == [0, 20, 40]
    assert res.sharpness.shape == (3,)


def test_sharpness_rises_to_two_over_eta_and_hovers_while_the_loss_falls(moons100):
    """Lesson claim (Cohen et al. 2021): full-batch GD on a tanh MLP with MSE loss; the
    sharpness starts well below 2/eta, rises to within 10 % of it, then (second half of the
    rest of the run) stays within 10 % of 2/eta while the training loss keeps decreasing
    overall, but not monotonically."""
    model = eos_model(moons100, seed=0)
    res = edge_of_stability(model, one_hot_mse, moons100, lr=0.3, steps=600, sharpness_every=10)
    two_over_eta = res.threshold
    assert res.sharpness[0] < 0.7 * two_over_eta  # progressive sharpening is needed
    k = res.first_reached(0.9)
    assert k is not None
    late = res.sharpness[res.sharpness_steps >= (k + 600) / 2]
    assert late.size >= 10
    assert np.all(np.abs(late / two_over_eta - 1) <= 0.1)
    loss_after = res.train_loss[k:]
    assert loss_after[-1] < 0.7 * loss_after[0]
    assert int((np.diff(loss_after) > 0).sum()) >= 5


def test_rejects_bad_arguments(moons100):
    model = eos_model(moons100)
    with pytest.raises(ValueError, match="lr"):
        edge_of_stability(model, one_hot_mse, moons100, lr=0.0)
    with pytest.raises(ValueError, match="sharpness_every"):
        edge_of_stability(model, one_hot_mse, moons100, sharpness_every=0)
    with pytest.raises(ValueError, match="n_train"):
        subset(moons100, 1000)
