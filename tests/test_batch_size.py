"""Gradient noise and the batch-size study (studies.batch_size), against mini-batch gradients
computed with plain ``loss.backward()``: every mini-batch enumerated, or many drawn."""

from __future__ import annotations

import copy
import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from landscapes.network import build_model, load_dataset
from landscapes.network.evaluator import intra_op_threads
from studies.batch_size import batch_size_study, gradient_noise, per_sample_gradients


def module_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    m = copy.deepcopy(model)
    m.zero_grad()
    F.cross_entropy(m(x), y).backward()
    return torch.cat([p.grad.reshape(-1) for p in m.parameters()])


@pytest.fixture(scope="module")
def moons():
    return load_dataset("moons", n_samples=600, seed=0)


def test_per_sample_gradients_are_one_sample_backward_passes(moons):
    model = build_model("mlp", moons, widths=(8, 4), dropout=0.3).eval()
    ours = per_sample_gradients(model, F.cross_entropy, moons.x_train[:5], moons.y_train[:5])
    for i in range(5):
        ref = module_gradient(model, moons.x_train[i : i + 1], moons.y_train[i : i + 1])
        torch.testing.assert_close(ours[i], ref, rtol=1e-5, atol=1e-7)


def test_minibatch_variance_is_exact_over_all_minibatches(moons):
    """N = 9 samples, B = 3: the mean of ||g_B - G||^2 over all 84 mini-batches equals
    tr Sigma / B (N - B) / (N - 1) (float64)."""
    model = build_model("mlp", moons, widths=(6,), seed=2).double()
    x, y = moons.x_train[:9].double(), moons.y_train[:9]
    full = module_gradient(model, x, y)
    sq = []
    for subset in itertools.combinations(range(9), 3):
        idx = list(subset)
        sq.append(float((module_gradient(model, x[idx], y[idx]) - full).square().sum()))
    noise = gradient_noise(model, F.cross_entropy, x, y)
    assert len(sq) == 84
    assert noise.minibatch_variance(3) == pytest.approx(np.mean(sq), rel=1e-9)
    assert noise.minibatch_variance(None) == 0.0
    assert noise.mean_gradient_sq == pytest.approx(float(full.square().sum()), rel=1e-9)


def test_noise_falls_as_one_over_batch_size(moons):
    """Drawn mini-batches (2000 per size, each gradient the mean of one-sample backward passes,
    which is the mini-batch gradient of a mean loss): the measured E||g_B - G||^2 agrees with
    the estimate within Monte-Carlo error, and B x noise stays roughly constant from B = 4 to
    B = 64."""
    model = build_model("mlp", moons, widths=(16,), seed=0)
    x, y = moons.x_train, moons.y_train
    with intra_op_threads(1):
        single = torch.stack(
            [module_gradient(model, x[i : i + 1], y[i : i + 1]) for i in range(len(y))]
        )
        full = module_gradient(model, x, y)
    torch.testing.assert_close(single.mean(0), full, rtol=1e-4, atol=1e-6)
    noise = gradient_noise(model, F.cross_entropy, x, y)
    gen = torch.Generator().manual_seed(0)
    measured = {}
    for b in (4, 16, 64):
        sq = [
            float((single[torch.randperm(len(y), generator=gen)[:b]].mean(0) - full).square().sum())
            for _ in range(2000)
        ]
        measured[b] = float(np.mean(sq))
        assert measured[b] == pytest.approx(noise.minibatch_variance(b), rel=0.1), b
    scaled = [b * measured[b] for b in (4, 16, 64)]
    assert max(scaled) / min(scaled) < 1.5
    assert measured[4] / measured[64] > 10


def test_study_runs_the_same_epochs_and_the_linear_scaling_rule(moons):
    """Same number of epochs at B = 8, 32, 128 with SGD (lr 0.1): without scaling the large
    batches fall behind (fewer steps of the same size); with lr x B/32 the final training losses
    come within 30 % of each other (Goyal et al. 2017)."""
    model = build_model("mlp", moons, widths=(64, 32), seed=0)
    plain = batch_size_study(model, F.cross_entropy, moons, (8, 32, 128), epochs=5, lr=0.1)
    n = moons.n_train
    assert plain.steps.tolist() == [5 * math.ceil(n / b) for b in (8, 32, 128)]
    assert plain.lrs.tolist() == [0.1, 0.1, 0.1]
    for k, run in enumerate(plain.runs):
        assert run.steps_recorded[-1] == plain.steps[k] and run.batch_size == (8, 32, 128)[k]
        assert plain.train_loss[k] == run.train_loss[0, -1]
    np.testing.assert_allclose(plain.gap, plain.val_loss - plain.train_loss)
    start = gradient_noise(model, F.cross_entropy, moons.x_train, moons.y_train)
    np.testing.assert_allclose(
        plain.noise_start, [start.minibatch_variance(b) for b in (8, 32, 128)], rtol=1e-12
    )
    assert plain.train_loss[2] > 1.3 * plain.train_loss[0]
    for k, b in enumerate((8, 32, 128)):  # the common time axis: epochs, 0 .. 5
        run = plain.runs[k]
        np.testing.assert_allclose(
            plain.epochs_recorded(k), run.steps_recorded / math.ceil(n / b), rtol=1e-12
        )
        assert plain.epochs_recorded(k)[-1] == pytest.approx(5.0)
        np.testing.assert_allclose(plain.gap_curve(k), run.val_loss[0] - run.train_loss[0])
        assert plain.gap_curve(k)[-1] == pytest.approx(plain.gap[k])
    scaled = batch_size_study(
        model, F.cross_entropy, moons, (8, 32, 128), epochs=5, lr=0.1, linear_scaling=True
    )
    np.testing.assert_allclose(scaled.lrs, [0.025, 0.1, 0.4])
    assert scaled.train_loss.max() / scaled.train_loss.min() < 1.3


def test_batch_norm_and_bad_arguments(moons):
    bn = build_model("mlp", moons, widths=(4,), batch_norm=True)
    with pytest.raises(ValueError, match="batch-norm"):
        gradient_noise(bn, F.cross_entropy, moons.x_train, moons.y_train)
    model = build_model("mlp", moons, widths=(4,))
    with pytest.raises(ValueError, match="epochs"):
        batch_size_study(model, F.cross_entropy, moons, (8,), epochs=0)
    with pytest.raises(ValueError, match="batch sizes"):
        batch_size_study(model, F.cross_entropy, moons, (0,))
