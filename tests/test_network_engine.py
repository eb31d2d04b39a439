"""The network engine (landscapes.network) against independent references: hand-computed
filter normalisation, per-point functional_call loops, dense Hessians from torch.func.hessian,
torch.optim training loops, and exact planar geometry."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

import landscapes.network as nw
import optimizers
from studies import training

# --- helpers ---------------------------------------------------------------------------------


def snapshot(model: nn.Module):
    return (
        {k: v.detach().clone() for k, v in model.state_dict().items()},
        {n: p.requires_grad for n, p in model.named_parameters()},
        [m.training for m in model.modules()],
    )


def assert_unchanged(model: nn.Module, snap) -> None:
    state, flags, modes = snap
    now = model.state_dict()
    assert now.keys() == state.keys()
    for k, v in state.items():
        assert torch.equal(now[k], v), k
    assert {n: p.requires_grad for n, p in model.named_parameters()} == flags
    assert [m.training for m in model.modules()] == modes
    assert all(p.grad is None for p in model.parameters())


def direct_loss(model, loss_fn, x, y, flat, metric="loss"):
    """One functional_call per point, in eval mode on a copy: the reference."""
    ref = copy.deepcopy(model).eval()
    spec = nw.param_spec(model)
    buffers = dict(ref.named_buffers())
    with torch.no_grad():
        out = functional_call(ref, (spec.unflatten(flat), buffers), (x,))
        if metric == "accuracy":
            return float((out.argmax(-1) == y).double().mean())
        return float(loss_fn(out, y))


class TwoPath(nn.Module):
    """Not an nn.Sequential: evaluated through the vmap(functional_call) fallback."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(2, 6)
        self.b = nn.Linear(2, 6)
        self.out = nn.Linear(6, 2)

    def forward(self, x):
        return self.out(torch.tanh(self.a(x)) * torch.sigmoid(self.b(x)))


@pytest.fixture(scope="module")
def moons():
    return nw.load_dataset("moons", n_samples=120, seed=1)


@pytest.fixture(scope="module")
def digits():
    return nw.load_dataset("digits")


# --- data and models ---------------------------------------------------------------------------


def test_datasets_sizes_split_and_reproducibility(digits):
    assert digits.n_train + digits.n_val == 1797
    assert digits.n_val == math.ceil(0.25 * 1797)
    assert digits.input_shape == (1, 8, 8) and digits.n_classes == 10
    assert digits.x_train.dtype == torch.float32 and digits.y_train.dtype == torch.int64
    assert float(digits.x_train.min()) >= 0.0 and float(digits.x_train.max()) <= 1.0
    # stratified: every class keeps its share in the validation split (within one sample)
    all_y = torch.cat([digits.y_train, digits.y_val])
    for c in range(10):
        expected = 0.25 * int((all_y == c).sum())
        assert abs(int((digits.y_val == c).sum()) - expected) <= 1
    for name in ("moons", "spirals"):
        a = nw.load_dataset(name, n_samples=200, noise=0.1, seed=3)
        b = nw.load_dataset(name, n_samples=200, noise=0.1, seed=3)
        c = nw.load_dataset(name, n_samples=200, noise=0.1, seed=4)
        assert a.n_train == 150 and a.n_val == 50 and a.input_shape == (2,)
        assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_val, b.y_val)
        assert not torch.equal(a.x_train, c.x_train)
        assert sorted(torch.bincount(a.y_train).tolist()) == [75, 75]
    with pytest.raises(ValueError, match="unknown dataset"):
        nw.load_dataset("mnist")


def test_build_model_deterministic(digits):
    a = nw.build_model("mlp", digits, seed=5)
    b = nw.build_model("mlp", digits, seed=5)
    c = nw.build_model("mlp", digits, seed=6)
    ta, tb, tc = (nw.flatten(m)[0] for m in (a, b, c))
    assert torch.equal(ta, tb) and not torch.equal(ta, tc)
    assert ta.numel() == 64 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10
    cnn = nw.build_model("cnn", digits, batch_norm=True, dropout=0.1)
    assert cnn(digits.x_val[:3]).shape == (3, 10)
    with pytest.raises(ValueError, match="image inputs"):
        nw.build_model("cnn", nw.load_dataset("moons"))


# --- directions ------------------------------------------------------------------------------


def tiny_model() -> nn.Module:
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[1.0, 2.0, 2.0], [0.0, 3.0, 4.0]]))
        model[0].bias.copy_(torch.tensor([0.5, -1.0]))
        model[2].weight.copy_(torch.tensor([[6.0, 8.0]]))
        model[2].bias.copy_(torch.tensor([2.0]))
    return model


def test_filter_normalization_by_hand():
    model = tiny_model()
    snap = snapshot(model)
    d1, d2 = nw.random_directions(model, seed=7)
    gen = torch.Generator().manual_seed(7)
    shapes = [(2, 3), (2,), (1, 2), (1,)]
    draws = [[torch.randn(s, generator=gen) for s in shapes] for _ in range(2)]
    # filter norms of the weights by hand: rows (1,2,2) -> 3, (0,3,4) -> 5, (6,8) -> 10
    row_norms = {"0.weight": [3.0, 5.0], "2.weight": [10.0]}
    for d, raw in zip((d1, d2), draws, strict=True):
        for name, g in zip(["0.weight", "0.bias", "2.weight", "2.bias"], raw, strict=True):
            if name.endswith("bias"):
                assert torch.equal(d[name], torch.zeros_like(g))  # ignore="biasbn"
                continue
            for i, w_norm in enumerate(row_norms[name]):
                g_norm = math.sqrt(sum(float(v) ** 2 for v in g[i]))
                expected = [float(v) * w_norm / (g_norm + 1e-10) for v in g[i]]
                assert d[name][i].tolist() == pytest.approx(expected, rel=1e-6)
                assert float(d[name][i].norm()) == pytest.approx(w_norm, rel=1e-6)
    # layer normalization: the whole tensor has the weight's norm; ignore="none": d = w for 1-D
    l1, _ = nw.random_directions(model, seed=7, normalization="layer", ignore="none")
    assert float(l1["0.weight"].norm()) == pytest.approx(math.sqrt(9 + 25), rel=1e-6)
    assert torch.equal(l1["0.bias"], model[0].bias.detach())
    # reproducible, seed-dependent, orthogonalisation
    again, _ = nw.random_directions(model, seed=7)
    other, _ = nw.random_directions(model, seed=8)
    assert all(torch.equal(again[k], d1[k]) for k in d1)
    assert not torch.equal(other["0.weight"], d1["0.weight"])
    o1, o2 = nw.random_directions(model, seed=7, orthogonalize=True)
    spec = nw.param_spec(model)
    f1, f2 = nw.direction_to_flat(o1, spec), nw.direction_to_flat(o2, spec)
    assert abs(float(f1 @ f2)) < 1e-5 * float(f1.norm() * f2.norm())
    assert all(not v.requires_grad for v in d1.values())
    assert_unchanged(model, snap)
    with pytest.raises(ValueError, match="normalization"):
        nw.random_directions(model, seed=0, normalization="model")


# --- surfaces --------------------------------------------------------------------------------


def test_surface_centre_is_the_model_loss(moons):
    model = nw.build_model("mlp", moons, widths=(16, 8), seed=2)
    d = nw.random_directions(model, seed=0)
    z = nw.loss_surface(model, F.cross_entropy, moons.x_train, moons.y_train, d, resolution=7)
    with torch.no_grad():
        expected = float(F.cross_entropy(model(moons.x_train), moons.y_train))
    assert z.shape == (7, 7)
    assert z[3, 3] == pytest.approx(expected, rel=1e-6)
    assert nw.grid_axis(1.0, 7)[3] == 0.0


@pytest.mark.parametrize("kind", ["mlp", "twopath", "cnn_bn"])
def test_surface_equals_per_point_loop(kind, moons, digits):
    if kind == "cnn_bn":
        data = digits
        model = nw.build_model("cnn", digits, batch_norm=True, dropout=0.2, seed=1)
        with torch.no_grad():  # non-trivial running statistics
            for m in model.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.running_mean.uniform_(-0.5, 0.5)
                    m.running_var.uniform_(0.5, 2.0)
        x, y = data.x_val[:60], data.y_val[:60]
    else:
        torch.manual_seed(0)
        model = nw.build_model("mlp", moons, widths=(8, 8)) if kind == "mlp" else TwoPath()
        x, y = moons.x_train, moons.y_train
    snap = snapshot(model)
    theta, spec = nw.flatten(model)
    d1, d2 = nw.random_directions(model, seed=3, ignore="none")
    f1, f2 = nw.direction_to_flat(d1, spec), nw.direction_to_flat(d2, spec)
    span, res = 0.8, 5
    for metric in ("loss", "accuracy"):
        fractions: list[float] = []
        z = nw.loss_surface(
            model,
            nn.CrossEntropyLoss(),
            x,
            y,
            (d1, d2),
            span=span,
            resolution=res,
            metric=metric,
            progress=fractions.append,
        )
        assert fractions[-1] == 1.0 and fractions == sorted(fractions)
        axis = np.linspace(-span, span, res)
        for j, b in enumerate(axis):
            for i, a in enumerate(axis):
                flat = theta + float(a) * f1 + float(b) * f2
                ref = direct_loss(model, F.cross_entropy, x, y, flat, metric)
                assert z[j, i] == pytest.approx(ref, rel=2e-5, abs=2e-6), (metric, i, j)
    # loss_at on arbitrary points, with weight decay
    pts = theta + 0.3 * torch.randn(4, spec.size, generator=torch.Generator().manual_seed(0))
    got = nw.loss_at(model, F.cross_entropy, x, y, pts, weight_decay=0.1)
    for k in range(4):
        ref = direct_loss(model, F.cross_entropy, x, y, pts[k]) + 0.05 * float(pts[k] @ pts[k])
        assert got[k] == pytest.approx(ref, rel=2e-5)
    assert_unchanged(model, snap)


def test_surface_weight_decay_and_data_chunks(moons):
    model = nw.build_model("mlp", moons, widths=(8,), seed=4)
    theta, spec = nw.flatten(model)
    d = nw.random_directions(model, seed=1)
    args = (model, F.cross_entropy, moons.x_train, moons.y_train, d)
    z0 = nw.loss_surface(*args, resolution=3)
    z1 = nw.loss_surface(*args, resolution=3, weight_decay=0.2)
    zc = nw.loss_surface(*args, resolution=3, batch_size=7)
    f1, f2 = (nw.direction_to_flat(v, spec).double() for v in d)
    axis = np.linspace(-1, 1, 3)
    for j, b in enumerate(axis):
        for i, a in enumerate(axis):
            p = theta.double() + a * f1 + b * f2
            assert z1[j, i] - z0[j, i] == pytest.approx(0.1 * float(p @ p), rel=1e-6)
    np.testing.assert_allclose(zc, z0, rtol=1e-5)


@pytest.mark.parametrize("resolution", [50, 0, 2, -3, 5.5])
def test_resolution_must_be_odd(resolution, moons):
    model = nw.build_model("mlp", moons, widths=(4,))
    d = nw.random_directions(model, seed=0)
    with pytest.raises(ValueError, match="resolution"):
        nw.loss_surface(
            model, F.cross_entropy, moons.x_train, moons.y_train, d, resolution=resolution
        )
    with pytest.raises(ValueError, match="span"):
        nw.loss_surface(model, F.cross_entropy, moons.x_train, moons.y_train, d, span=float("nan"))


def test_interpolate_endpoints(moons):
    model = nw.build_model("mlp", moons, widths=(8,), seed=0)
    theta, spec = nw.flatten(model)
    other = theta + 0.5 * torch.randn(spec.size, generator=torch.Generator().manual_seed(2))
    alphas, losses = nw.interpolate(
        model, F.cross_entropy, moons.x_val, moons.y_val, theta, other, resolution=51
    )
    i0, i1 = int(np.argmin(np.abs(alphas))), int(np.argmin(np.abs(alphas - 1)))
    assert alphas[i0] == pytest.approx(0.0, abs=1e-12) and alphas[i1] == pytest.approx(1.0)
    assert losses[i0] == pytest.approx(
        direct_loss(model, F.cross_entropy, moons.x_val, moons.y_val, theta), rel=1e-5
    )
    assert losses[i1] == pytest.approx(
        direct_loss(model, F.cross_entropy, moons.x_val, moons.y_val, other), rel=1e-5
    )


# --- curvature -------------------------------------------------------------------------------


def dense_hessian(model, x, y):
    theta, spec = nw.flatten(model)
    buffers = dict(model.named_buffers())

    def loss(flat):
        return F.cross_entropy(functional_call(model, (spec.unflatten(flat), buffers), (x,)), y)

    return torch.func.hessian(loss)(theta)


def test_hessian_eigenpairs_match_dense(moons):
    model = nw.build_model("mlp", moons, widths=(6,), seed=0).double()
    x, y = moons.x_train.double(), moons.y_train
    snap = snapshot(model)
    h = dense_hessian(model, x, y)
    evals, evecs = torch.linalg.eigh(h)
    vals, vecs = nw.hessian_eigenpairs(model, F.cross_entropy, x, y, k=2, iters=200, tol=1e-10)
    np.testing.assert_allclose(vals, evals.flip(0)[:2].numpy(), rtol=1e-7)
    spec = nw.param_spec(model)
    for k in range(2):
        v = nw.direction_to_flat(vecs[k], spec)
        assert abs(float(v @ evecs[:, -1 - k])) == pytest.approx(1.0, abs=1e-6)
    d1, _d2 = nw.hessian_directions(model, F.cross_entropy, x, y, iters=200)
    assert abs(float(nw.direction_to_flat(d1, spec) @ evecs[:, -1])) == pytest.approx(1.0, abs=1e-6)
    trace, se = nw.hessian_trace(model, F.cross_entropy, x, y, samples=400, seed=1)
    true_trace = float(torch.trace(h))
    assert se > 0 and abs(trace - true_trace) < 4 * se
    assert abs(trace - true_trace) < 0.2 * abs(true_trace)
    assert nw.critical_learning_rate(vals[0]) == pytest.approx(2 / vals[0])
    assert nw.critical_learning_rate(-1.0) == math.inf
    assert_unchanged(model, snap)


# --- training --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "hp", "torch_cls", "torch_hp"),
    [
        ("sgd", {"lr": 0.1, "momentum": 0.9}, torch.optim.SGD, {"lr": 0.1, "momentum": 0.9}),
        ("adam", {"lr": 0.01}, torch.optim.Adam, {"lr": 0.01}),
    ],
)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_train_equals_torch_optim(name, hp, torch_cls, torch_hp, dtype, moons):
    model = nw.build_model("mlp", moons, widths=(8, 8), seed=3).to(dtype)
    snap = snapshot(model)
    steps, bs = 25, 32
    result = training.train(
        model, F.cross_entropy, moons, [(name, hp), "gd"], steps=steps, batch_size=bs, seed=5
    )
    ref = copy.deepcopy(model)
    opt = torch_cls(ref.parameters(), **torch_hp)
    x, y = moons.x_train.to(dtype), moons.y_train
    batches = training.minibatch_indices(len(y), bs, steps, 5)
    tol = 1e-10 if dtype == torch.float64 else 2e-5
    for t in range(steps):
        np.testing.assert_allclose(
            result.params[0, t], nw.flatten(ref)[0].float().numpy(), rtol=tol, atol=tol
        )
        opt.zero_grad()
        F.cross_entropy(ref(x[batches[t]]), y[batches[t]]).backward()
        opt.step()
    np.testing.assert_allclose(
        result.params[0, -1], nw.flatten(ref)[0].float().numpy(), rtol=tol, atol=tol
    )
    assert result.params.shape == (2, steps + 1, nw.param_spec(model).size)
    assert result.params.dtype == np.float32
    np.testing.assert_array_equal(result.steps_recorded, np.arange(steps + 1))
    assert_unchanged(model, snap)


def test_train_records_curves_and_rejects_dense(moons, digits):
    model = nw.build_model("mlp", moons, widths=(8,), seed=0)
    res = training.train(
        model,
        F.cross_entropy,
        moons,
        [("sgd", {"lr": 0.5}), ("sgd", {"lr": 1e4}), ("lbfgs", {"lr": 0.5})],
        steps=20,
        record_every=6,
    )
    np.testing.assert_array_equal(res.steps_recorded, [0, 6, 12, 18, 20])
    for r in range(3):
        for t in (0, 4):
            if not np.isfinite(res.params[r, t]).all():
                continue
            ref = direct_loss(
                model, F.cross_entropy, moons.x_val, moons.y_val, torch.from_numpy(res.params[r, t])
            )
            assert res.val_loss[r, t] == pytest.approx(ref, rel=1e-5)
    assert res.train_loss[0, -1] < res.train_loss[0, 0]
    assert res.train_loss[2, -1] < res.train_loss[2, 0]
    assert res.diverged.tolist() == [False, True, False]
    assert res.best_val_step[0] in res.steps_recorded
    np.testing.assert_array_equal(res.theta0, nw.flatten(model)[0].double().numpy())
    for bad in ("newton", "bfgs"):
        with pytest.raises(ValueError, match="dense"):
            training.train(model, F.cross_entropy, moons, [bad], steps=2)
    # batch norm + dropout: deterministic from the seed, model untouched
    cnn = nw.build_model("cnn", digits, batch_norm=True, dropout=0.3, seed=0)
    snap = snapshot(cnn)
    small = nw.Dataset(
        "digits",
        digits.x_train[:64],
        digits.y_train[:64],
        digits.x_val[:32],
        digits.y_val[:32],
        10,
        (1, 8, 8),
    )
    a = training.train(cnn, F.cross_entropy, small, ["adam"], steps=4, batch_size=16, seed=2)
    b = training.train(cnn, F.cross_entropy, small, ["adam"], steps=4, batch_size=16, seed=2)
    np.testing.assert_array_equal(a.params, b.params)
    assert a.batch_norm == "batch" and np.isfinite(a.train_loss).all()
    assert_unchanged(cnn, snap)


# --- PCA planes and projection -----------------------------------------------------------------


def fake_result(params: np.ndarray) -> training.TrainingResult:
    r, t, p = params.shape
    zeros = np.zeros((r, t))
    return training.TrainingResult(
        labels=[f"run{i}" for i in range(r)],
        specs=[],
        steps_recorded=np.arange(t),
        params=params.astype(np.float32),
        train_loss=zeros,
        val_loss=zeros,
        train_acc=zeros,
        val_acc=zeros,
        best_val_step=np.zeros(r, dtype=int),
        diverged=np.zeros(r, dtype=bool),
        diverged_at=np.full(r, -1),
        param_names=("w",),
        param_shapes=((p,),),
        theta0=params[0, 0].astype(np.float64),
    )


def test_pca_plane_contains_planar_trajectory():
    rng = np.random.default_rng(0)
    p = 300
    c, e1, e2 = rng.standard_normal((3, p))
    e2 = e2 + 0.5 * e1  # not orthogonal
    t = np.linspace(0, 1, 40)
    runs = []
    for k in range(3):
        u = (1 - t) * (2 + k) * np.cos(5 * t + k)
        v = (1 - t) * (1 + k) * np.sin(3 * t)
        runs.append(c + u[:, None] * e1 + v[:, None] * e2)
    runs[0][-1] = c  # run 0 ends at the centre
    result = fake_result(np.stack(runs))
    plane = nw.pca_directions(result, center_run=0)
    np.testing.assert_allclose(plane.center, c.astype(np.float32), rtol=1e-6)
    assert plane.explained_variance_ratio.sum() == pytest.approx(1.0, abs=1e-6)
    a, _b, resid = nw.project(result.params, plane.center, plane.d1, plane.d2, relative=True)
    assert a.shape == (3, 40) and resid.max() < 1e-5
    assert float(plane.d1 @ plane.d2) == pytest.approx(0.0, abs=1e-10)


def test_project_non_orthogonal_least_squares():
    rng = np.random.default_rng(1)
    p = 50
    c, d1, d2 = rng.standard_normal((3, p))
    d2 = d2 + 2 * d1
    q, _ = np.linalg.qr(np.stack([d1, d2], 1), mode="complete")
    noise = 0.3 * q[:, 2]  # orthogonal to the plane
    a, b = np.array([0.5, -2.0]), np.array([1.5, 0.25])
    pts = c + a[:, None] * d1 + b[:, None] * d2 + noise
    ga, gb, res = nw.project(pts, c, d1, d2)
    np.testing.assert_allclose(ga, a, atol=1e-10)
    np.testing.assert_allclose(gb, b, atol=1e-10)
    np.testing.assert_allclose(res, 0.3, atol=1e-10)
    with pytest.raises(ValueError, match="parallel"):
        nw.project(pts, c, d1, 2 * d1)


def test_plane_points_are_the_feet_of_the_projection():
    rng = np.random.default_rng(2)
    p = 40
    c, d1, d2 = rng.standard_normal((3, p))
    pts = rng.standard_normal((3, 5, p))  # (R, T, P), off the plane
    a, b, res = nw.project(pts, c, d1, d2)
    a[1, 2] = np.nan  # a diverged point
    feet = nw.plane_points(c, d1, d2, a, b)
    assert feet.shape == (3, 5, p)
    for r in range(3):
        for t in range(5):
            if (r, t) == (1, 2):
                assert np.isnan(feet[r, t]).all()
                continue
            np.testing.assert_allclose(feet[r, t], c + a[r, t] * d1 + b[r, t] * d2, atol=1e-12)
            # the foot is the nearest point of the plane: what is left is the residual
            assert np.linalg.norm(pts[r, t] - feet[r, t]) == pytest.approx(res[r, t], rel=1e-9)
            # and it projects onto itself with no residual
            fa, fb, fres = nw.project(feet[r, t], c, d1, d2)
            assert (fa, fb) == (pytest.approx(a[r, t]), pytest.approx(b[r, t]))
            assert fres == pytest.approx(0.0, abs=1e-9)
    # scalars broadcast; torch tensors are accepted
    one = nw.plane_points(torch.as_tensor(c), d1, d2, 0.5, -1.0)
    np.testing.assert_allclose(one, c + 0.5 * d1 - d2, atol=1e-12)
    with pytest.raises(ValueError, match="same length"):
        nw.plane_points(c, d1[:-1], d2, a, b)


def test_chunks_on_worker_threads_match_one_thread(digits, monkeypatch):
    """The chunks of a surface spread over worker threads (one intra-op thread each) give the
    values of the single-threaded loop, in order, and leave torch's thread count as it was."""
    from landscapes.network import evaluator as ev_mod

    model = nw.build_model("mlp", digits, widths=(16, 8), seed=3).eval()
    theta, spec = nw.flatten(model)
    d1, d2 = nw.random_directions(model, seed=5)
    basis = torch.stack([theta, nw.as_flat(d1, spec), nw.as_flat(d2, spec)])
    g = torch.linspace(-1, 1, 7)
    coords = torch.stack(torch.meshgrid(g, g, indexing="xy"), -1).reshape(-1, 2)
    x, y = digits.x_val[:100], digits.y_val[:100]
    ev = nw.NetworkEvaluator(model, F.cross_entropy)
    threads = torch.get_num_threads()
    monkeypatch.setattr(ev_mod, "cpu_workers", lambda device, n: 1)
    serial = ev.plane_values(basis, coords, x, y, chunk=4)
    serial_both = ev.values(basis[0] + coords[:, :1] * basis[1], x, y, metric="both", chunk=4)
    monkeypatch.setattr(ev_mod, "cpu_workers", lambda device, n: min(3, n))
    fractions: list[float] = []
    par = ev.plane_values(basis, coords, x, y, chunk=4, progress=fractions.append)
    par_both = ev.values(basis[0] + coords[:, :1] * basis[1], x, y, metric="both", chunk=4)
    assert torch.get_num_threads() == threads
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) == 13
    torch.testing.assert_close(par, serial, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(par_both, serial_both, rtol=1e-6, atol=1e-7)
    for k in (0, 20, 48):
        flat = basis[0] + coords[k, 0] * basis[1] + coords[k, 1] * basis[2]
        assert float(par[k]) == pytest.approx(direct_loss(model, F.cross_entropy, x, y, flat), 2e-5)
    # a model without a batched plan (functional_call swaps the module's parameters) stays on
    # the caller's thread and is still right chunk by chunk
    torch.manual_seed(0)
    two = TwoPath()
    t_theta, t_spec = nw.flatten(two)
    t_basis = torch.stack([t_theta, torch.randn(t_spec.size), torch.randn(t_spec.size)])
    mx, my = digits.x_val[:40, 0, 0, :2], digits.y_val[:40] % 2
    got = nw.NetworkEvaluator(two, F.cross_entropy).plane_values(t_basis, coords, mx, my, chunk=4)
    for k in (0, 20, 48):
        flat = t_basis[0] + coords[k, 0] * t_basis[1] + coords[k, 1] * t_basis[2]
        assert float(got[k]) == pytest.approx(direct_loss(two, F.cross_entropy, mx, my, flat), 2e-5)


def test_batch_statistics_surface_equals_per_point_loop(digits):
    """batch_norm="batch": every point normalises with its own batch statistics, as the module
    does in training mode (checked against one train-mode call per point on a copy)."""
    model = nw.build_model("cnn", digits, batch_norm=True, seed=4)
    theta, spec = nw.flatten(model)
    d1, d2 = nw.random_directions(model, seed=1, ignore="none")
    f1, f2 = nw.direction_to_flat(d1, spec), nw.direction_to_flat(d2, spec)
    x, y = digits.x_val[:80], digits.y_val[:80]
    z = nw.loss_surface(
        model, F.cross_entropy, x, y, (d1, d2), span=0.6, resolution=3, batch_norm="batch"
    )
    ref_model = copy.deepcopy(model).train()
    axis = np.linspace(-0.6, 0.6, 3)
    for j, b in enumerate(axis):
        for i, a in enumerate(axis):
            flat = theta + float(a) * f1 + float(b) * f2
            with torch.no_grad():
                out = functional_call(
                    ref_model, (spec.unflatten(flat), dict(ref_model.named_buffers())), (x,)
                )
            assert z[j, i] == pytest.approx(float(F.cross_entropy(out, y)), rel=2e-5)


class Wrapped(nn.Module):
    """A module around a Sequential: no batched plan, evaluated through vmap(functional_call)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x)


@pytest.mark.parametrize("path", ["plan", "vmap"])
def test_states_directions_move_running_statistics(path, digits):
    """dir_type="states" (Li et al.): the running mean and variance move along the plane,
    buffer + a e1 + b e2; with "weights" they stay at the model's values."""
    cnn = nw.build_model("cnn", digits, batch_norm=True, seed=2)
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():  # non-trivial running statistics
        for m in cnn.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5, generator=gen)
                m.running_var.uniform_(0.5, 2.0, generator=gen)
    model = cnn if path == "plan" else Wrapped(cnn)
    snap = snapshot(model)
    theta, spec = nw.flatten(model)
    s1, s2 = nw.random_directions(model, seed=4, ignore="none", dir_type="states")
    w1, w2 = nw.random_directions(model, seed=4, ignore="none")
    bufs = {n: b for n, b in model.named_buffers() if b.is_floating_point()}
    assert len(bufs) == 4 and set(w1) == set(spec.names) and set(s1) == set(w1) | set(bufs)
    for name in spec.names:  # the parameters' entries are those of the "weights" directions
        assert torch.equal(s1[name], w1[name]) and torch.equal(s2[name], w2[name])
    for name, b in bufs.items():  # 1-D entries with ignore="none": the buffer itself
        assert torch.equal(s1[name], b) and torch.equal(s2[name], b)
    zb1, _ = nw.random_directions(model, seed=4, dir_type="states")  # ignore="biasbn"
    assert all(torch.equal(zb1[n], torch.zeros_like(b)) for n, b in bufs.items())

    x, y = digits.x_val[:50], digits.y_val[:50]
    span, res = 0.3, 3
    kw = {"span": span, "resolution": res}
    z_states = nw.loss_surface(model, F.cross_entropy, x, y, (s1, s2), **kw)
    z_weights = nw.loss_surface(model, F.cross_entropy, x, y, (w1, w2), **kw)
    f1, f2 = nw.direction_to_flat(s1, spec), nw.direction_to_flat(s2, spec)
    ref = copy.deepcopy(model).eval()
    axis = np.linspace(-span, span, res)
    for j, b in enumerate(axis):
        for i, a in enumerate(axis):
            flat = theta + float(a) * f1 + float(b) * f2
            moved = {n: v + float(a) * s1[n] + float(b) * s2[n] for n, v in bufs.items()}
            with torch.no_grad():
                out_m = functional_call(ref, (spec.unflatten(flat), moved), (x,))
                out_f = functional_call(ref, (spec.unflatten(flat), bufs), (x,))
            lm, lf = float(F.cross_entropy(out_m, y)), float(F.cross_entropy(out_f, y))
            assert z_states[j, i] == pytest.approx(lm, rel=2e-5), (i, j)
            assert z_weights[j, i] == pytest.approx(lf, rel=2e-5), (i, j)
            if abs(a + b) > 0.5:  # the statistics scaled by 1 + a + b: the surfaces differ
                assert abs(lm - lf) > 5e-5 * lf, (i, j)  # beyond the tolerance above
    assert z_states[1, 1] == z_weights[1, 1]
    assert_unchanged(model, snap)


# --- optimize in the plane -----------------------------------------------------------------------


def test_plane_landscape_gradient_and_simulate(moons):
    model = nw.build_model("mlp", moons, widths=(8,), seed=0).double()
    snap = snapshot(model)
    d1, d2 = nw.random_directions(model, seed=0)
    x, y = moons.x_train.double(), moons.y_train
    land = nw.plane_landscape(model, F.cross_entropy, x, y, None, d1, d2, span=1.0)
    assert (
        land.domain == ((-1.0, 1.0), (-1.0, 1.0))
        and land.minima == ()
        and not land.all_minima_known
    )
    pt = torch.tensor([[0.3, -0.2]], dtype=torch.float64)
    value, grad = land.value_and_grad(pt)
    eps = 1e-6
    for k in range(2):
        e = torch.zeros(1, 2, dtype=torch.float64)
        e[0, k] = eps
        fd = (land(pt + e) - land(pt - e)) / (2 * eps)
        assert float(grad[0, k]) == pytest.approx(float(fd[0]), rel=1e-6, abs=1e-9)
    theta, spec = nw.flatten(model)
    flat = theta + 0.3 * nw.direction_to_flat(d1, spec) - 0.2 * nw.direction_to_flat(d2, spec)
    assert float(value[0]) == pytest.approx(
        direct_loss(model, F.cross_entropy, x, y, flat), rel=1e-10
    )
    sim = optimizers.simulate(land, ["adam", ("sgd", {"lr": 0.2})], steps=15)
    assert sim.positions.shape == (2, 1, 16, 2) and np.isfinite(sim.losses).all()
    assert (sim.final_losses < sim.losses[:, :, 0]).all()
    assert_unchanged(model, snap)


def test_docstring_example():
    import doctest

    result = doctest.testmod(nw, raise_on_error=False)
    assert result.attempted > 0 and result.failed == 0
