"""Deep MLPs (landscapes.network.deep) and per-layer gradient norms (studies.gradient_flow).

References: a hand-written forward pass, PyTorch's own ``loss.backward()`` on the module, the
training module's recorded parameters, and the lesson's claims (vanishing gradients in a
10-layer sigmoid MLP, each remedy, clipping against exploding gradients).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from landscapes.network import hessian_eigenpairs, load_dataset, loss_surface, random_directions
from landscapes.network.deep import MAX_DEPTH, ResidualMLP, build_deep_mlp, linear_layers
from studies.gradient_flow import gradient_flow, layer_gradient_norms


@pytest.fixture(scope="module")
def moons():
    return load_dataset("moons", n_samples=240, seed=0)


def torch_layer_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """Per-Linear-layer gradient norms by PyTorch's module backward (train mode, no dropout)."""
    m = copy.deepcopy(model).train()
    m.zero_grad()
    F.cross_entropy(m(x), y).backward()
    out = []
    for mod in m.modules():
        if isinstance(mod, nn.Linear):
            out.append(math.sqrt(sum(float(p.grad.square().sum()) for p in mod.parameters())))
    return np.array(out)


def test_structure_depth_and_activation(moons):
    m = build_deep_mlp(moons, depth=7, width=9, activation="tanh", batch_norm=True)
    linears = [mod for mod in m.modules() if isinstance(mod, nn.Linear)]
    assert len(linears) == 7
    assert [lin.out_features for lin in linears] == [9] * 6 + [2]
    assert sum(isinstance(mod, nn.Tanh) for mod in m.modules()) == 6
    assert sum(isinstance(mod, nn.BatchNorm1d) for mod in m.modules()) == 6
    r = build_deep_mlp(moons, depth=7, width=9, activation="relu", batch_norm=True, residual=True)
    assert sum(isinstance(mod, nn.ReLU) for mod in r.modules()) == 6
    assert sum(isinstance(mod, nn.BatchNorm1d) for mod in r.modules()) == 6
    assert len(linear_layers(r)) == 7
    assert len(linear_layers(m)) == 7
    r = build_deep_mlp(moons, depth=MAX_DEPTH, residual=True)
    assert isinstance(r, ResidualMLP) and len(r.blocks) == MAX_DEPTH - 2


def test_residual_forward_matches_hand_computation(moons):
    m = build_deep_mlp(moons, depth=4, width=5, activation="sigmoid", residual=True, seed=3)
    x = moons.x_train[:7]
    lin = [mod for mod in m.modules() if isinstance(mod, nn.Linear)]

    def dense(layer, h):
        return h @ layer.weight.detach().T + layer.bias.detach()

    h = dense(lin[0], x)
    for layer in lin[1:3]:
        h = h + dense(layer, torch.sigmoid(h))
    with torch.no_grad():
        torch.testing.assert_close(m(x), dense(lin[3], torch.sigmoid(h)))


@pytest.mark.parametrize("init, scale", [("he", 1.0), ("xavier", 0.5), ("default", 2.0)])
def test_initialization_variance(moons, init, scale):
    m = build_deep_mlp(moons, depth=3, width=400, init=init, init_scale=scale, seed=1)
    w = [mod for mod in m.modules() if isinstance(mod, nn.Linear)][1].weight.detach()
    fan_out, fan_in = w.shape
    expected = {"he": 2 / fan_in, "xavier": 2 / (fan_in + fan_out), "default": 1 / (3 * fan_in)}
    # 160 000 draws: the sample variance is within a few percent of the law's
    assert float(w.var()) == pytest.approx(scale**2 * expected[init], rel=0.03)


def test_seed_is_deterministic_and_global_rng_untouched(moons):
    torch.manual_seed(5)
    before = torch.rand(1)
    torch.manual_seed(5)
    a = build_deep_mlp(moons, seed=2)
    after = torch.rand(1)
    b = build_deep_mlp(moons, seed=2)
    assert torch.equal(before, after)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"depth": 1}, "depth"),
        ({"depth": MAX_DEPTH + 1}, "depth"),
        ({"activation": "gelu"}, "activation"),
        ({"init": "lecun"}, "init"),
        ({"init_scale": 0.0}, "init_scale"),
        ({"width": 0}, "width"),
    ],
)
def test_bad_arguments(moons, kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_deep_mlp(moons, **kwargs)


def test_planes_and_curvature_accept_deep_models(moons):
    """The residual (vmap) and sequential (batched kernels) forms work with the surface and the
    Lanczos code; the plane's centre is the model's own loss."""
    for residual in (False, True):
        m = build_deep_mlp(moons, depth=5, width=8, activation="tanh", residual=residual)
        dirs = random_directions(m, seed=0)
        z = loss_surface(m, F.cross_entropy, moons.x_train, moons.y_train, dirs, resolution=5)
        with torch.no_grad():
            centre = float(F.cross_entropy(m.eval()(moons.x_train), moons.y_train))
        assert z[2, 2] == pytest.approx(centre, rel=1e-5)
        vals, _ = hessian_eigenpairs(m, F.cross_entropy, moons.x_train, moons.y_train, k=1)
        assert np.isfinite(vals[0])


@pytest.mark.parametrize("kw", [{}, {"batch_norm": True}, {"residual": True, "batch_norm": True}])
def test_layer_gradient_norms_match_module_backward(moons, kw):
    m = build_deep_mlp(moons, depth=6, width=10, **kw)
    ours = layer_gradient_norms(m, F.cross_entropy, moons.x_train, moons.y_train)
    ref = torch_layer_norms(m, moons.x_train, moons.y_train)
    np.testing.assert_allclose(ours, ref, rtol=1e-4)


def test_recorded_norms_are_the_gradients_at_the_recorded_parameters(moons):
    """Full batch: the norms recorded at step t are those of the gradient at the parameters the
    training recorded at t, for every run, in the caller's order (runs of one rule are grouped
    inside the runner)."""
    m = build_deep_mlp(moons, depth=5, width=8, activation="tanh")
    specs = [("adam", {"lr": 0.01}), ("sgd", {"lr": 0.5}), ("adam", {"lr": 0.003})]
    flow = gradient_flow(m, F.cross_entropy, moons, specs, steps=12, record_every=4)
    assert flow.steps.tolist() == [0, 4, 8]
    assert flow.training.steps_recorded.tolist() == [0, 4, 8, 12]
    assert flow.norms.shape == (3, 5, 3)
    for r in range(3):
        for k in range(3):
            ref = torch_layer_norms(
                _with(m, flow.training.params[r, k]), moons.x_train, moons.y_train
            )
            np.testing.assert_allclose(flow.norms[r, :, k], ref, rtol=2e-3)
    assert not np.allclose(flow.norms[0, :, 2], flow.norms[1, :, 2])


def _with(model: nn.Module, flat: np.ndarray) -> nn.Module:
    from landscapes.network import with_params

    return with_params(model, torch.as_tensor(flat))


def test_ten_layer_sigmoid_gradients_vanish_and_each_remedy_restores_them(moons):
    """Lesson claim: a 10-layer sigmoid MLP at standard initialization (PyTorch's default and
    Xavier) has a first-layer gradient at least 100x smaller than its last layer's, through
    training; ReLU with He init, batch norm and residual connections each raise the ratio by
    at least 100x."""
    sgd = [("sgd", {"lr": 0.1})]

    def median_ratio(**kw) -> float:
        m = build_deep_mlp(moons, depth=10, width=32, seed=0, **kw)
        flow = gradient_flow(
            m, F.cross_entropy, moons, sgd, steps=40, batch_size=64, record_every=4
        )
        return float(np.median(flow.first_to_last()[0]))

    plain = median_ratio(activation="sigmoid")
    xavier = median_ratio(activation="sigmoid", init="xavier")
    assert plain < 1e-2 and xavier < 1e-2
    for remedy in (
        {"activation": "relu", "init": "he"},
        {"activation": "sigmoid", "batch_norm": True},
        {"activation": "sigmoid", "residual": True},
    ):
        assert median_ratio(**remedy) > 100 * max(plain, xavier), remedy


def test_gradient_clipping_keeps_an_exploding_network_finite(moons):
    """ReLU + He init x 2 over 10 layers: activations and gradients grow ~2^9; plain SGD
    diverges (non-finite loss) while the same SGD with clip_norm=1 stays finite and learns."""
    m = build_deep_mlp(moons, depth=10, width=32, activation="relu", init="he", init_scale=2.0)
    specs = [("sgd", {"lr": 0.1}), ("sgd", {"lr": 0.1, "clip_norm": 1.0})]
    flow = gradient_flow(m, F.cross_entropy, moons, specs, steps=60, batch_size=64, record_every=5)
    tr = flow.training
    assert flow.norms[:, -1, 0].min() > 100  # exploding at the start
    assert tr.diverged[0] and not np.isfinite(tr.train_loss[0, -1])
    assert not tr.diverged[1] and np.isfinite(tr.train_loss[1]).all()
    assert tr.train_loss[1, -1] < 0.1 * tr.train_loss[1, 0]


def test_a_trained_residual_batch_norm_network_fits_the_plane_code(moons):
    """Training records losses with batch statistics ("batch"); the plane's centre in that mode
    is the recorded final loss, and Lanczos runs on it."""
    from landscapes.network import with_params

    m = build_deep_mlp(moons, depth=6, width=8, batch_norm=True, residual=True)
    res = gradient_flow(m, F.cross_entropy, moons, [("adam", {"lr": 0.01})], steps=10).training
    assert res.batch_norm == "batch"
    trained = with_params(m, torch.as_tensor(res.params[0, -1]))
    dirs = random_directions(trained, seed=0)
    z = loss_surface(
        trained,
        F.cross_entropy,
        moons.x_train,
        moons.y_train,
        dirs,
        resolution=5,
        batch_norm="batch",
    )
    assert z[2, 2] == pytest.approx(res.train_loss[0, -1], rel=1e-5)
    vals, _ = hessian_eigenpairs(
        trained, F.cross_entropy, moons.x_train, moons.y_train, k=1, batch_norm="batch"
    )
    assert np.isfinite(vals[0]) and vals[0] > 0
