"""Network surfaces, interpolation, loss_at and curvature spread over a
``concurrent.futures.Executor`` (a local Dask cluster, a process pool, a thread pool) equal the
single-process results: the reference is the same call without an executor (itself checked
against per-point loops in test_network_engine.py) and, for a few grid points, a direct forward
pass. Tolerances are float32/float64 rounding: a piece of the grid runs the same kernels on
fewer rows, which may round differently in the last bits."""

from __future__ import annotations

import copy
import itertools
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import landscapes.network as nw
from landscapes.network import executors


def dask_or_skip():
    """``distributed`` is in the test extra: missing under CI is a broken set-up."""
    try:
        import distributed
    except ImportError as exc:  # pragma: no cover - depends on the installation
        if os.environ.get("CI"):
            pytest.fail(f"the test extra installs distributed: {exc}", pytrace=False)
        pytest.skip(f"distributed is not installed: {exc}")
    return distributed


@pytest.fixture(scope="module")
def dask_client():
    distributed = dask_or_skip()
    import dask

    # without Dask's MALLOC_TRIM_THRESHOLD_=65536 torch's temporaries do not page-fault afresh
    # (docs/networks.md); the results do not depend on it
    trim = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"
    with (
        dask.config.set({trim: None}),
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def process_pool():
    with ProcessPoolExecutor(
        2,
        mp_context=multiprocessing.get_context("spawn"),  # fork after OpenMP is unsafe
        initializer=torch.set_num_threads,
        initargs=(1,),
    ) as pool:
        yield pool


@pytest.fixture(scope="module")
def thread_pool():
    with ThreadPoolExecutor(2) as pool:
        yield pool


@pytest.fixture(params=["dask", "processes", "threads"])
def executor(request):
    if request.param == "dask":
        return request.getfixturevalue("dask_client").get_executor()
    return request.getfixturevalue(
        {"processes": "process_pool", "threads": "thread_pool"}[request.param]
    )


@pytest.fixture(scope="module")
def moons():
    return nw.load_dataset("moons", n_samples=240, seed=0)


def direct_loss(model: nn.Module, flat: torch.Tensor, x, y) -> float:
    """Loss of a copy of ``model`` holding ``flat``, in eval mode: one plain forward pass."""
    net = nw.with_params(model, flat).eval()
    with torch.no_grad():
        return float(F.cross_entropy(net(torch.as_tensor(x)), torch.as_tensor(y)))


def snapshot(model: nn.Module):
    return copy.deepcopy(model.state_dict()), model.training


def test_mlp_surface_equals_single_process(executor, moons):
    model = nw.build_model("mlp", moons, widths=(16, 8), seed=1)
    before = snapshot(model)
    d1, d2 = nw.random_directions(model, seed=2)
    args = (model, F.cross_entropy, moons.x_train, moons.y_train, (d1, d2))
    ref = nw.loss_surface(*args, span=0.8, resolution=15)
    seen: list[float] = []
    z = nw.loss_surface(
        *args, span=0.8, resolution=15, executor=executor, pieces=5, progress=seen.append
    )
    np.testing.assert_allclose(z, ref, rtol=1e-5, atol=1e-6)
    # the corner (a, b) = (-span, span) against a plain forward pass
    theta = nw.flatten(model)[0]
    flat = theta - 0.8 * nw.direction_to_flat(d1, model) + 0.8 * nw.direction_to_flat(d2, model)
    assert z[-1, 0] == pytest.approx(direct_loss(model, flat, moons.x_train, moons.y_train), 1e-5)
    # progress: once per finished piece, growing, ending at 1
    assert len(seen) == 5
    assert seen == sorted(seen) and seen[-1] == 1.0 and seen[0] > 0
    state, training = before
    assert model.training == training
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k])


def test_interpolation_and_loss_at_equal_single_process(executor, moons):
    model = nw.build_model("mlp", moons, widths=(16,), seed=3)
    other = nw.build_model("mlp", moons, widths=(16,), seed=4)
    args = (model, F.cross_entropy, moons.x_train, moons.y_train)
    alphas, ref = nw.interpolate(*args, model, other, resolution=13)
    alphas_x, values = nw.interpolate(*args, model, other, resolution=13, executor=executor)
    np.testing.assert_array_equal(alphas_x, alphas)
    np.testing.assert_allclose(values, ref, rtol=1e-5, atol=1e-6)
    gen = torch.Generator().manual_seed(0)
    points = nw.flatten(model)[0] + 0.1 * torch.randn(
        3, 4, nw.param_spec(model).size, generator=gen
    )
    ref = nw.loss_at(*args, points, batch_size=50, weight_decay=1e-3)
    out = nw.loss_at(*args, points, batch_size=50, weight_decay=1e-3, executor=executor, pieces=3)
    assert out.shape == (3, 4)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
    assert out[1, 2] == pytest.approx(
        direct_loss(model, points[1, 2], moons.x_train, moons.y_train)
        + 0.5e-3 * float(points[1, 2].double().square().sum()),
        rel=1e-5,
    )


def test_batch_norm_states_directions_on_dask(dask_client, moons):
    """Running statistics that move along a "states" plane travel to the workers too."""
    model = nw.build_model("mlp", moons, widths=(12,), batch_norm=True, seed=5)
    with torch.no_grad():  # running statistics away from their initial (0, 1)
        model.train()
        for _ in range(3):
            model(moons.x_train)
    model.eval()
    d1, d2 = nw.random_directions(model, seed=6, dir_type="states", ignore="none")
    args = (model, F.cross_entropy, moons.x_train, moons.y_train, (d1, d2))
    ref = nw.loss_surface(*args, span=0.5, resolution=9)
    z = nw.loss_surface(*args, span=0.5, resolution=9, executor=dask_client.get_executor())
    np.testing.assert_allclose(z, ref, rtol=1e-5, atol=1e-6)
    # and the statistics do move: a "weights" plane gives another surface
    fixed = nw.loss_surface(
        model, F.cross_entropy, moons.x_train, moons.y_train,
        nw.random_directions(model, seed=6, ignore="none"), span=0.5, resolution=9,
    )  # fmt: skip
    assert np.abs(fixed - ref).max() > 1e-3


def test_small_resnet_surface_on_dask(dask_client):
    """A non-sequential model (vmap path) with batch norm, both batch-norm modes."""
    model = nw.small_resnet(3, 4, widths=(2, 4, 4), seed=0)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(12, 3, 16, 16, generator=gen)
    y = torch.randint(0, 4, (12,), generator=gen)
    d1, d2 = nw.random_directions(model, seed=7)
    for mode in ("eval", "batch"):
        args = (model, F.cross_entropy, x, y, (d1, d2))
        ref = nw.loss_surface(*args, resolution=5, batch_norm=mode)
        z = nw.loss_surface(
            *args, resolution=5, batch_norm=mode, executor=dask_client.get_executor()
        )
        np.testing.assert_allclose(z, ref, rtol=1e-5, atol=1e-6)
    assert z[2, 2] != pytest.approx(ref[0, 0])  # not a flat surface


def test_curvature_equals_single_process(executor, moons):
    model = nw.build_model("mlp", moons, widths=(10,), seed=8).double()
    x = moons.x_train.double()
    args = (model, F.cross_entropy, x, moons.y_train)
    vals, vecs = nw.hessian_eigenpairs(*args, k=2, iters=40)
    vals_x, vecs_x = nw.hessian_eigenpairs(*args, k=2, iters=40, executor=executor, pieces=3)
    np.testing.assert_allclose(vals_x, vals, rtol=1e-8)
    for v, w in zip(vecs, vecs_x, strict=True):
        cos = torch.dot(nw.direction_to_flat(v), nw.direction_to_flat(w))
        assert abs(float(cos)) == pytest.approx(1.0, abs=1e-8)
    trace, err = nw.hessian_trace(*args, samples=30, seed=3, chunk=7)
    trace_x, err_x = nw.hessian_trace(*args, samples=30, seed=3, chunk=7, executor=executor)
    assert trace_x == pytest.approx(trace, rel=1e-10)
    assert err_x == pytest.approx(err, rel=1e-8)
    # independent check of the sharded product: the dense Hessian's top eigenvalue
    theta, spec = nw.flatten(model)
    dense = torch.func.hessian(
        lambda t: F.cross_entropy(
            torch.func.functional_call(model, spec.unflatten(t), (x,)), moons.y_train
        )
    )(theta)
    assert vals_x[0] == pytest.approx(float(torch.linalg.eigvalsh(dense)[-1]), rel=1e-6)


def test_hessian_directions_pass_the_executor_on(thread_pool, moons):
    model = nw.build_model("mlp", moons, widths=(6,), seed=9).double()
    args = (model, F.cross_entropy, moons.x_train.double(), moons.y_train)
    ref = nw.hessian_directions(*args, iters=30)
    out = nw.hessian_directions(*args, iters=30, executor=thread_pool, pieces=4)
    for v, w in zip(ref, out, strict=True):
        cos = torch.dot(nw.direction_to_flat(v), nw.direction_to_flat(w))
        assert abs(float(cos)) == pytest.approx(1.0, abs=1e-8)


def test_bad_executor_arguments_say_what_is_wrong(dask_client, process_pool, moons):
    model = nw.build_model("mlp", moons, widths=(4,), seed=0)
    d1, d2 = nw.random_directions(model, seed=0)
    args = (model, F.cross_entropy, moons.x_train, moons.y_train, (d1, d2))
    with pytest.raises(TypeError, match=r"concurrent\.futures\.Executor.*got builtins\.str"):
        nw.loss_surface(*args, resolution=3, executor="dask")
    with pytest.raises(TypeError, match=r"a Dask Client: pass client\.get_executor\(\)"):
        nw.loss_surface(*args, resolution=3, executor=dask_client)
    with pytest.raises(TypeError, match="Executor"):
        nw.hessian_trace(*args[:4], samples=4, executor=4)
    with pytest.raises(TypeError, match="Executor"):
        nw.interpolate(*args[:4], model, d1, executor=object())
    with pytest.raises(ValueError, match="pieces must be a positive integer"):
        nw.loss_surface(*args, resolution=3, executor=process_pool, pieces=0)
    with pytest.raises(ValueError, match="metric must be one of"):
        nw.loss_surface(*args, resolution=3, executor=process_pool, metric="los")

    def closure_loss(out, target):
        return F.cross_entropy(out, target)

    with pytest.raises(TypeError, match=r"picklable.*not a lambda or a closure"):
        nw.loss_surface(model, closure_loss, *args[2:], resolution=3, executor=process_pool)
    with pytest.raises(ValueError, match='batch_norm="eval"'):
        nw.hessian_eigenpairs(*args[:4], batch_norm="batch", executor=process_pool)


def test_a_failing_task_is_raised_here(thread_pool, moons):
    model = nw.build_model("mlp", moons, widths=(4,), seed=0)
    d1, d2 = nw.random_directions(model, seed=0)

    def bad_loss(out, target):
        raise RuntimeError("boom in a worker")

    with pytest.raises(RuntimeError, match="boom in a worker"):
        nw.loss_surface(
            model, bad_loss, moons.x_train, moons.y_train, (d1, d2), resolution=5,
            executor=thread_pool,
        )  # fmt: skip


def test_split_rows_cover_in_order():
    for m in (1, 7, 100):
        for k in (1, 3, 8, 200):
            ranges = executors.split_rows(m, k)
            assert ranges[0][0] == 0 and ranges[-1][1] == m
            assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
            sizes = [hi - lo for lo, hi in ranges]
            assert len(ranges) == min(k, m) and max(sizes) - min(sizes) <= 1


def test_without_an_executor_the_engine_path_is_unchanged(moons, monkeypatch):
    model = nw.build_model("mlp", moons, widths=(8,), seed=0)
    d1, d2 = nw.random_directions(model, seed=0)

    def unexpected(*args, **kwargs):
        raise AssertionError("the executor path ran without an executor")

    monkeypatch.setattr(nw.surface, "evaluate_on", unexpected)
    z = nw.loss_surface(model, F.cross_entropy, moons.x_train, moons.y_train, (d1, d2),
                        resolution=5)  # fmt: skip
    assert z.shape == (5, 5)


def test_curvature_from_concurrent_threads(moons):
    """torch's forward-mode AD levels are process-wide: Hessian-vector products from several
    threads at once (concurrent app sessions, a thread pool) used to fail; now each thread
    gets the answer it would get alone."""
    model = nw.build_model("mlp", moons, widths=(8,), seed=2)
    args = (model, F.cross_entropy, moons.x_train, moons.y_train)
    alone = nw.hessian_trace(*args, samples=20, seed=1)
    with ThreadPoolExecutor(3) as pool:
        together = list(pool.map(lambda _: nw.hessian_trace(*args, samples=20, seed=1), range(6)))
    assert together == [alone] * 6
